//! [`ReplicatedStore`]: the handle an application holds on one member.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::codec::{RequestId, encode_command};
use graph_core::{
    EdgeId, Error, Mutation, NodeId, Precondition, Properties, PropertyValue, Result,
    StorageBackend,
};
use graph_storage::{Clock, GraphStore, SystemClock};
use openraft::error::{ClientWriteError, Fatal, RaftError};
use openraft::{BasicNode, ChangeMembers, RaftNetworkFactory};

use crate::log_store::LogStore;
use crate::state_machine::{Shared, StateMachine};
use crate::types::{
    Command, MemberId, PLACEHOLDER, Raft, Response, TypeConfig, placeholder_edge, placeholder_node,
};

/// The largest encoded command a member proposes. One log entry is sent
/// to a follower in one request whose timeout is the heartbeat interval
/// (openraft 0.9), so an entry must be small enough to travel and be
/// fsynced well within it.
pub const MAX_COMMAND_BYTES: usize = 8 << 20;

/// How a read reaches the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Linearizable: this member must be the leader; it confirms its
    /// leadership with a quorum (openraft's read index) and waits until
    /// its state machine has applied everything committed before the read
    /// began. Sees every write acknowledged before the call.
    Linearizable,
    /// This member's state machine as it is: no network round trip, but
    /// possibly behind the leader (stale), and on a partitioned member
    /// arbitrarily so.
    Local,
}

/// The openraft configuration graph-raft uses unless told otherwise:
/// heartbeats every 250 ms (openraft 0.9 also uses it as the timeout of
/// each `append_entries`, which carries up to 1 MiB of entries), elections
/// after 1-2 s without one, a snapshot every 5,000 applied entries, 1,000
/// log entries kept behind a snapshot, snapshot chunks of 1 MiB.
///
/// # Errors
/// [`Error::InvalidArgument`] if openraft refuses the values.
pub fn default_config() -> Result<Arc<openraft::Config>> {
    let config = openraft::Config {
        cluster_name: "graph-raft".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1_000,
        election_timeout_max: 2_000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(5_000),
        max_in_snapshot_log_to_keep: 1_000,
        snapshot_max_chunk_size: 1 << 20,
        ..Default::default()
    };
    config
        .validate()
        .map(Arc::new)
        .map_err(|e| Error::invalid(format!("Raft configuration: {e}")))
}

/// One member of a replicated graph store.
///
/// Writes ([`write`](Self::write), [`batch`](Self::batch), index
/// changes) must be made on the leader; on another member they fail with
/// [`Error::NotLeader`] naming the leader. A write returns once its entry
/// is committed (durable on a majority) and applied here. Reads choose
/// their [`ReadMode`] explicitly.
pub struct ReplicatedStore<B: StorageBackend> {
    id: MemberId,
    raft: Raft,
    shared: Arc<Shared<B>>,
}

impl<B: StorageBackend> Clone for ReplicatedStore<B> {
    fn clone(&self) -> Self {
        ReplicatedStore {
            id: self.id,
            raft: self.raft.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<B: StorageBackend + 'static> ReplicatedStore<B> {
    /// Starts member `id` with its log, its state machine and a network.
    /// A member that was part of a cluster rejoins it; a new one waits to
    /// be [initialized](Self::initialize) or added by a leader.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if openraft fails to start (it reads the log
    /// and the state machine first; a damaged log stops it here).
    pub async fn start<N: RaftNetworkFactory<TypeConfig>>(
        id: MemberId,
        config: Arc<openraft::Config>,
        log: LogStore<B>,
        state_machine: StateMachine<B>,
        network: N,
    ) -> Result<Self> {
        let shared = Arc::clone(state_machine.shared());
        let raft = Raft::new(id, config, network, log, state_machine)
            .await
            .map_err(|e| Error::Unavailable(format!("member {id} cannot start: {e}")))?;
        Ok(ReplicatedStore { id, raft, shared })
    }

    /// This member's id.
    pub fn id(&self) -> MemberId {
        self.id
    }

    /// The openraft handle (metrics, waits, triggers).
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// Makes a new cluster of `members` (this one included). Call it on
    /// one member only, once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the member is already initialized or
    /// the set does not include it; [`Error::Unavailable`] if it stopped.
    pub async fn initialize(&self, members: BTreeMap<MemberId, BasicNode>) -> Result<()> {
        self.raft.initialize(members).await.map_err(|e| match e {
            RaftError::APIError(e) => Error::invalid(format!("cannot initialize: {e}")),
            RaftError::Fatal(f) => fatal(&f),
        })
    }

    /// The leader this member knows of.
    pub fn leader(&self) -> Option<MemberId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Proposes `command` and waits until it is committed and applied.
    async fn propose(&self, command: Command) -> Result<Response> {
        let size = encode_command(&command)?.len();
        if size > MAX_COMMAND_BYTES {
            return Err(Error::invalid(format!(
                "a replicated command of {size} bytes is larger than {MAX_COMMAND_BYTES}: split the batch"
            )));
        }
        let written = self.raft.client_write(command).await.map_err(write_error)?;
        written.data.into_result()
    }

    /// Applies `mutations` atomically on every member (all or none). Ids
    /// of created nodes and edges may be placeholders
    /// ([`placeholder_node`], [`placeholder_edge`]); the response gives
    /// the real ones. Time stamps are this leader's clock.
    ///
    /// # Errors
    /// [`Error::NotLeader`] on a follower; [`Error::Rejected`] if the
    /// mutations failed to apply (nothing changed anywhere; its
    /// [`kind`](Error::kind) is the failure's); [`Error::Unavailable`]
    /// when the member stopped.
    pub async fn write(&self, mutations: Vec<Mutation>) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
        let at = SystemClock.now().0;
        ids(self.propose(Command::Apply { at, mutations }).await?)
    }

    /// [`write`](Self::write), applied at most once for `request`: if a
    /// write with the same request id was applied within the last
    /// [`REQUEST_WINDOW`](crate::REQUEST_WINDOW) log entries, nothing is
    /// applied and its answer (the same ids, or the same rejection) is
    /// returned again. A client that lost the answer to a write (a
    /// timeout, a leader change, a broken connection) retries it with the
    /// same id, on any member, and the write happens once.
    ///
    /// # Errors
    /// As [`write`](Self::write); a retry of a rejected write is rejected
    /// again with the first message.
    pub async fn write_once(
        &self,
        request: RequestId,
        mutations: Vec<Mutation>,
    ) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
        let at = SystemClock.now().0;
        let command = Command::ApplyOnce {
            request,
            at,
            mutations,
        };
        ids(self.propose(command).await?)
    }

    /// [`write`](Self::write) if every one of `preconditions` holds on the
    /// state the mutations apply to: each replica's state machine checks
    /// them when it applies the entry, atomically with the mutations, so a
    /// read-modify-write over the network is safe (read, then write on the
    /// condition that what was read is unchanged; retry on failure).
    /// Preconditions name existing nodes and edges by their real ids.
    ///
    /// # Errors
    /// [`Error::Rejected`] of kind `PreconditionFailed` when one does not
    /// hold (nothing changed anywhere); otherwise as [`write`](Self::write).
    pub async fn write_if(
        &self,
        preconditions: Vec<Precondition>,
        mutations: Vec<Mutation>,
    ) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
        let at = SystemClock.now().0;
        let command = Command::ApplyIf {
            request: None,
            at,
            preconditions,
            mutations,
        };
        ids(self.propose(command).await?)
    }

    /// [`write_if`](Self::write_if), applied at most once for `request`
    /// (as [`write_once`](Self::write_once)): a client that lost the
    /// answer retries with the same id and gets the first answer, the
    /// ids if it was applied (where a plain retry would be rejected by
    /// its own effects: the value it expected is gone), or the same
    /// rejection.
    ///
    /// # Errors
    /// As [`write_if`](Self::write_if).
    pub async fn write_once_if(
        &self,
        request: RequestId,
        preconditions: Vec<Precondition>,
        mutations: Vec<Mutation>,
    ) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
        let at = SystemClock.now().0;
        let command = Command::ApplyIf {
            request: Some(request),
            at,
            preconditions,
            mutations,
        };
        ids(self.propose(command).await?)
    }

    /// A batch of mutations built with placeholder ids and committed by
    /// [`WriteBatch::commit`].
    pub fn batch(&self) -> WriteBatch<'_, B> {
        WriteBatch {
            store: self,
            mutations: Vec::new(),
            nodes: 0,
            edges: 0,
        }
    }

    /// Declares a property index on every member.
    ///
    /// # Errors
    /// As [`write`](Self::write); rejected with a constraint error if the
    /// index exists.
    pub async fn create_index(&self, label: &str, property: &str) -> Result<()> {
        self.propose(Command::CreateIndex {
            label: label.into(),
            property: property.into(),
        })
        .await
        .map(drop)
    }

    /// Drops a property index on every member.
    ///
    /// # Errors
    /// As [`write`](Self::write); rejected if there is no such index.
    pub async fn drop_index(&self, label: &str, property: &str) -> Result<()> {
        self.propose(Command::DropIndex {
            label: label.into(),
            property: property.into(),
        })
        .await
        .map(drop)
    }

    /// The graph store to read, as `mode` says. Keep the returned store
    /// only for the read at hand: it is replaced when a snapshot is
    /// installed.
    ///
    /// # Errors
    /// For [`ReadMode::Linearizable`]: [`Error::NotLeader`] on a follower
    /// (or a leader that lost its quorum's confirmation to a newer one),
    /// [`Error::Unavailable`] when the member stopped.
    pub async fn read(&self, mode: ReadMode) -> Result<Arc<GraphStore<Arc<B>>>> {
        if mode == ReadMode::Linearizable {
            self.raft.ensure_linearizable().await.map_err(|e| match e {
                RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f)) => {
                    Error::NotLeader {
                        leader: f.leader_id,
                        address: f.leader_node.map(|n| n.addr),
                    }
                }
                RaftError::APIError(e) => Error::Unavailable(e.to_string()),
                RaftError::Fatal(f) => fatal(&f),
            })?;
        }
        Ok(self.shared.store())
    }

    /// Adds a learner (a member that receives the log but does not vote),
    /// waiting until it has caught up when `wait` is set.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub async fn add_learner(&self, id: MemberId, address: &str, wait: bool) -> Result<()> {
        self.raft
            .add_learner(id, BasicNode::new(address), wait)
            .await
            .map(drop)
            .map_err(write_error)
    }

    /// Makes `voters` the voting members (learners among them are
    /// promoted; voters not in it are removed; a removed voter stays a
    /// learner when `keep_as_learners`).
    ///
    /// # Errors
    /// As [`write`](Self::write); [`Error::InvalidArgument`] for a voter
    /// that is not a member or learner yet.
    pub async fn change_membership(
        &self,
        voters: BTreeSet<MemberId>,
        keep_as_learners: bool,
    ) -> Result<()> {
        self.raft
            .change_membership(ChangeMembers::ReplaceAllVoters(voters), keep_as_learners)
            .await
            .map(drop)
            .map_err(write_error)
    }

    /// Waits until this member has applied the log up to `index`.
    ///
    /// # Errors
    /// [`Error::Unavailable`] after `timeout`, or when the member stopped.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<()> {
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "wait_applied")
            .await
            .map(drop)
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// The last log index this member applied, as openraft's metrics last
    /// published it: they are updated asynchronously, so right after a
    /// write returns they may still show an earlier index (use
    /// [`wait_applied`](Self::wait_applied) or a linearizable read to wait).
    pub fn applied_index(&self) -> Option<u64> {
        self.raft.metrics().borrow().last_applied.map(|l| l.index)
    }

    /// Stops this member (its Raft task; the stores close when the last
    /// handle is dropped).
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the Raft task had already failed.
    pub async fn shutdown(&self) -> Result<()> {
        self.raft.shutdown().await.map_err(|e| {
            Error::Unavailable(format!("member {} did not stop cleanly: {e}", self.id))
        })
    }
}

fn fatal(f: &Fatal<MemberId>) -> Error {
    Error::Unavailable(format!("the member stopped: {f}"))
}

fn write_error(e: RaftError<MemberId, ClientWriteError<MemberId, BasicNode>>) -> Error {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => Error::NotLeader {
            leader: f.leader_id,
            address: f.leader_node.map(|n| n.addr),
        },
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            Error::invalid(format!("membership change refused: {e}"))
        }
        RaftError::Fatal(f) => fatal(&f),
    }
}

/// Mutations committed together through [`ReplicatedStore::batch`]:
/// created nodes and edges get placeholder ids that later mutations of the
/// batch may use, and [`commit`](Self::commit) returns the real ids.
pub struct WriteBatch<'a, B: StorageBackend> {
    store: &'a ReplicatedStore<B>,
    mutations: Vec<Mutation>,
    nodes: u64,
    edges: u64,
}

impl<B: StorageBackend + 'static> WriteBatch<'_, B> {
    /// Creates a node; returns its placeholder id.
    pub fn create_node(&mut self, labels: &[&str], properties: Properties) -> NodeId {
        let id = placeholder_node(self.nodes);
        self.nodes += 1;
        self.mutations.push(Mutation::CreateNode {
            id,
            labels: labels.iter().map(|l| (*l).into()).collect(),
            properties,
        });
        id
    }

    /// Creates an edge between existing nodes or nodes of this batch;
    /// returns its placeholder id.
    pub fn create_edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: Properties,
    ) -> EdgeId {
        let id = placeholder_edge(self.edges);
        self.edges += 1;
        self.mutations.push(Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type: edge_type.into(),
            properties,
        });
        id
    }

    /// Sets a node property.
    pub fn set_node_property(&mut self, id: NodeId, key: &str, value: PropertyValue) {
        self.mutations.push(Mutation::SetNodeProperty {
            id,
            key: key.into(),
            value,
        });
    }

    /// Adds any other mutation (ids of nodes and edges may be this batch's
    /// placeholders).
    pub fn push(&mut self, mutation: Mutation) {
        self.mutations.push(mutation);
    }

    /// The number of mutations.
    pub fn len(&self) -> usize {
        self.mutations.len()
    }

    /// Whether the batch holds no mutation.
    pub fn is_empty(&self) -> bool {
        self.mutations.is_empty()
    }

    /// Commits the batch on every member; returns the real ids of the
    /// created nodes and edges, in creation order.
    ///
    /// # Errors
    /// As [`ReplicatedStore::write`].
    pub async fn commit(self) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
        debug_assert!(self.nodes < PLACEHOLDER && self.edges < PLACEHOLDER);
        self.store.write(self.mutations).await
    }

    /// Commits the batch at most once for `request`
    /// ([`ReplicatedStore::write_once`]).
    ///
    /// # Errors
    /// As [`ReplicatedStore::write_once`].
    pub async fn commit_once(self, request: RequestId) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
        debug_assert!(self.nodes < PLACEHOLDER && self.edges < PLACEHOLDER);
        self.store.write_once(request, self.mutations).await
    }
}

/// The ids of an applied write's answer.
fn ids(response: Response) -> Result<(Vec<NodeId>, Vec<EdgeId>)> {
    match response {
        Response::Applied { nodes, edges } => Ok((
            nodes.into_iter().map(NodeId).collect(),
            edges.into_iter().map(EdgeId).collect(),
        )),
        _ => Ok((Vec::new(), Vec::new())),
    }
}
