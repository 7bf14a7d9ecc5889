//! The Raft types of a replicated graph store: what a log entry carries
//! ([`Command`]), what applying it answers ([`Response`]), and the
//! placeholder ids that let one command create nodes and connect them.

use graph_core::{EdgeId, Error, ErrorKind, NodeId};
use serde::{Deserialize, Serialize};

pub use crate::codec::Command;

/// A member's id in the cluster.
pub type MemberId = u64;

openraft::declare_raft_types!(
    /// The openraft type configuration of graph-raft: commands are
    /// [`Command`]s, node ids `u64`, members are addressed by
    /// [`openraft::BasicNode`] (`host:port` of their HTTP endpoint),
    /// snapshots are files streamed in chunks.
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = MemberId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle of a member.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log id (term, leader, index).
pub type LogId = openraft::LogId<MemberId>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A vote.
pub type Vote = openraft::Vote<MemberId>;
/// Membership as stored with its log id.
pub type StoredMembership = openraft::StoredMembership<MemberId, openraft::BasicNode>;
/// Openraft's storage error.
pub type StorageError = openraft::StorageError<MemberId>;

/// The top bit of an id marks a placeholder in a [`Command::Apply`]:
/// `PLACEHOLDER | k` names the `k`-th node (or edge) the command creates
/// with a placeholder, and the state machine replaces it with a real id
/// when it applies the entry (the same id on every replica). Real ids
/// never have this bit set.
pub const PLACEHOLDER: u64 = 1 << 63;

/// A placeholder node id (see [`PLACEHOLDER`]).
pub fn placeholder_node(k: u64) -> NodeId {
    NodeId(PLACEHOLDER | k)
}

/// A placeholder edge id (see [`PLACEHOLDER`]).
pub fn placeholder_edge(k: u64) -> EdgeId {
    EdgeId(PLACEHOLDER | k)
}

/// What applying one committed entry answered; the same on every replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// A blank or membership entry, or an index command that succeeded.
    Done,
    /// A [`Command::Apply`] applied: the real ids of the nodes and edges
    /// it created, in the order of their creating mutations.
    Applied {
        /// Ids of created nodes.
        nodes: Vec<u64>,
        /// Ids of created edges.
        edges: Vec<u64>,
    },
    /// The command failed on every replica and changed nothing.
    Failed {
        /// [`ErrorKind::name`] of the failure.
        kind: String,
        /// The failure's message.
        message: String,
    },
}

impl Response {
    /// The response of a failed command.
    pub fn failed(e: &Error) -> Response {
        Response::Failed {
            kind: e.kind().name().to_owned(),
            message: e.to_string(),
        }
    }

    /// `Err(Error::Rejected)` for a failed command, else `Ok(self)`.
    ///
    /// # Errors
    /// [`Error::Rejected`] with the failure's kind.
    pub fn into_result(self) -> Result<Response, Error> {
        match self {
            Response::Failed { kind, message } => Err(Error::Rejected {
                kind: ErrorKind::from_name(&kind).unwrap_or(ErrorKind::Backend),
                message,
            }),
            ok => Ok(ok),
        }
    }
}
