//! The one error type shared by every crate of the workspace.

use crate::{ColumnFamily, EdgeId, NodeId};

/// The result type of every fallible operation in graph-storage.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a graph store, whatever the backend.
///
/// Variants stay distinct so callers can react differently to corruption
/// (stop, restore a backup), I/O trouble (retry, free disk space), a bad
/// argument (fix the caller), a missing record, a constraint, a lock held
/// by another opener, or an on-disk format this build cannot read.
/// [`Error::kind`] gives a plain, comparable summary.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system or device error: the operation may succeed later
    /// (for example once disk space is freed).
    #[error("I/O error: {message}")]
    Io {
        /// What failed, as reported by the backend or the OS.
        message: String,
    },
    /// Stored bytes are not what the format says they must be.
    #[error("corruption in column family {cf}, key {key:02x?}: {reason}")]
    Corruption {
        /// The column family holding the bad bytes.
        cf: ColumnFamily,
        /// The key of the bad record (empty when not known).
        key: Vec<u8>,
        /// What was wrong.
        reason: String,
    },
    /// The engine reported corruption without naming a record (a bad SST
    /// block, a broken manifest).
    #[error("storage corruption: {message}")]
    StorageCorruption {
        /// The engine's description.
        message: String,
    },
    /// The caller passed something the store cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No node with this id exists.
    #[error("node {0} not found")]
    NodeNotFound(NodeId),
    /// No edge with this id exists.
    #[error("edge {0} not found")]
    EdgeNotFound(EdgeId),
    /// No property index is declared on this (label, property).
    #[error("no index on :{label}({property})")]
    IndexNotFound {
        /// The indexed label.
        label: String,
        /// The indexed property key.
        property: String,
    },
    /// The operation would break a rule of the graph model.
    #[error("constraint violation: {0}")]
    Constraint(Constraint),
    /// Another opener holds the store's lock.
    #[error("store is locked by another opener: {message}")]
    Locked {
        /// The engine's description, naming the lock file.
        message: String,
    },
    /// The store was written in a format this build does not read.
    #[error("incompatible on-disk format: found {found}, this build supports {supported}")]
    IncompatibleFormat {
        /// What the store says it is.
        found: String,
        /// What this build can read.
        supported: String,
    },
    /// Any other backend failure (busy, aborted, not supported).
    #[error("backend error: {0}")]
    Backend(String),
    /// A replicated write reached a member that is not the leader.
    #[error("not the leader{}", match (leader, address) {
        (Some(id), Some(addr)) => format!("; the leader is member {id} at {addr}"),
        (Some(id), None) => format!("; the leader is member {id}"),
        _ => "; no leader is known yet, retry shortly".to_string(),
    })]
    NotLeader {
        /// The leader this member knows of.
        leader: Option<u64>,
        /// The leader's address, when known.
        address: Option<String>,
    },
    /// Replication cannot make progress now (no quorum, a timeout, the
    /// member is shutting down): the operation may succeed later.
    #[error("replication unavailable: {0}")]
    Unavailable(String),
    /// A replicated command was committed but failed to apply: it failed
    /// the same way on every replica, and changed nothing on any of them.
    /// [`Error::kind`] is the kind of the failure.
    #[error("rejected by every replica: {message}")]
    Rejected {
        /// The kind of the failure.
        kind: ErrorKind,
        /// The failure, as the state machine reported it.
        message: String,
    },
    /// A transaction could not commit because something it read changed
    /// since it began (another commit wrote it): nothing of the
    /// transaction was written, and running it again from the start may
    /// succeed. `GraphStore::transaction` retries these itself.
    #[error("transaction conflict: {0}; nothing was written, run the transaction again")]
    Conflict(String),
    /// A conditional write's precondition did not hold when the write was
    /// applied: nothing of it was written.
    #[error("precondition failed: {0}; nothing was written")]
    PreconditionFailed(String),
}

/// A rule of the graph model that a mutation would have broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Constraint {
    /// A node still has edges; use a detach-delete to remove them too.
    #[error("node {node} still has {edges} edge(s); use a detach-delete")]
    NodeHasEdges {
        /// The node.
        node: NodeId,
        /// How many adjacency entries it has (a self-loop counts twice).
        edges: u64,
    },
    /// An index on this (label, property) already exists.
    #[error("an index on :{label}({property}) already exists")]
    IndexExists {
        /// The indexed label.
        label: String,
        /// The indexed property key.
        property: String,
    },
}

/// A comparable summary of an [`Error`], for tests and for callers that
/// branch on the kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::Corruption`] or [`Error::StorageCorruption`].
    Corruption,
    /// [`Error::InvalidArgument`].
    InvalidArgument,
    /// [`Error::NodeNotFound`].
    NodeNotFound,
    /// [`Error::EdgeNotFound`].
    EdgeNotFound,
    /// [`Error::IndexNotFound`].
    IndexNotFound,
    /// [`Error::Constraint`].
    Constraint,
    /// [`Error::Locked`].
    Locked,
    /// [`Error::IncompatibleFormat`].
    IncompatibleFormat,
    /// [`Error::Backend`].
    Backend,
    /// [`Error::NotLeader`].
    NotLeader,
    /// [`Error::Unavailable`].
    Unavailable,
    /// [`Error::Conflict`].
    Conflict,
    /// [`Error::PreconditionFailed`].
    PreconditionFailed,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::Io,
        ErrorKind::Corruption,
        ErrorKind::InvalidArgument,
        ErrorKind::NodeNotFound,
        ErrorKind::EdgeNotFound,
        ErrorKind::IndexNotFound,
        ErrorKind::Constraint,
        ErrorKind::Locked,
        ErrorKind::IncompatibleFormat,
        ErrorKind::Backend,
        ErrorKind::NotLeader,
        ErrorKind::Unavailable,
        ErrorKind::Conflict,
        ErrorKind::PreconditionFailed,
    ];

    /// A stable name (`snake_case`), for messages and wire formats.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Corruption => "corruption",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NodeNotFound => "node_not_found",
            ErrorKind::EdgeNotFound => "edge_not_found",
            ErrorKind::IndexNotFound => "index_not_found",
            ErrorKind::Constraint => "constraint",
            ErrorKind::Locked => "locked",
            ErrorKind::IncompatibleFormat => "incompatible_format",
            ErrorKind::Backend => "backend",
            ErrorKind::NotLeader => "not_leader",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PreconditionFailed => "precondition_failed",
        }
    }

    /// The kind named `name` by [`ErrorKind::name`].
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Corruption { .. } | Error::StorageCorruption { .. } => ErrorKind::Corruption,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::NodeNotFound(_) => ErrorKind::NodeNotFound,
            Error::EdgeNotFound(_) => ErrorKind::EdgeNotFound,
            Error::IndexNotFound { .. } => ErrorKind::IndexNotFound,
            Error::Constraint(_) => ErrorKind::Constraint,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::IncompatibleFormat { .. } => ErrorKind::IncompatibleFormat,
            Error::Backend(_) => ErrorKind::Backend,
            Error::NotLeader { .. } => ErrorKind::NotLeader,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::PreconditionFailed(_) => ErrorKind::PreconditionFailed,
            Error::Rejected { kind, .. } => *kind,
        }
    }

    /// A corruption error for a record in `cf` at `key`.
    pub fn corruption(cf: ColumnFamily, key: &[u8], reason: impl Into<String>) -> Self {
        Error::Corruption {
            cf,
            key: key.to_vec(),
            reason: reason.into(),
        }
    }

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io {
            message: e.to_string(),
        }
    }
}
