//! An in-process network for deterministic tests: every RPC is a call to
//! the target's [`Raft`] in the same process, and the test decides which
//! members are up and which links carry messages.
//!
//! One [`Router`] is shared by a whole cluster (clones share the same
//! table). Give each member's Raft the handle [`Router::member`] returns,
//! so that its RPCs know where they come from, then [`Router::register`]
//! the member once its Raft exists:
//!
//! ```ignore
//! let router = Router::new();
//! let raft = Raft::new(1, config, router.member(1), log_store, state_machine).await?;
//! router.register(1, raft.clone());
//! router.isolate(1); // member 1 neither sends nor receives
//! router.heal();     // every link is back
//! ```
//!
//! A failed route is [`RPCError::Unreachable`], as a refused connection
//! would be on a real network: openraft backs off and tries again later.
//! A reply is dropped (also `Unreachable`) when its link was cut while the
//! target handled the request, as a reply lost on the wire would be.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use crate::{MemberId, Raft, TypeConfig};

/// The result of one RPC as openraft's network returns it.
type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<MemberId, BasicNode, RaftError<MemberId, E>>>;

/// An in-process network: the registered members and the links between
/// them that are cut.
///
/// Clones share one table, so a test keeps a clone to kill members and
/// cut links while the members' Rafts use theirs. As a
/// [`RaftNetworkFactory`], a handle from [`Router::member`] knows which
/// member it sends for; a handle that does not (a plain clone) takes the
/// sender from the request's vote, which names the leader (for
/// `append_entries` and `install_snapshot`) or the candidate (for `vote`):
/// the sender of every RPC openraft makes.
#[derive(Clone, Default)]
pub struct Router {
    links: Arc<Mutex<Links>>,
    /// The member this handle sends for, if it was made by
    /// [`Router::member`].
    source: Option<MemberId>,
}

/// The shared state of a [`Router`].
#[derive(Default)]
struct Links {
    /// Members that can receive RPCs.
    members: BTreeMap<MemberId, Raft>,
    /// Members cut off from every other member.
    isolated: BTreeSet<MemberId>,
    /// Cut links, each as `(smaller id, larger id)`: both directions.
    cut: BTreeSet<(MemberId, MemberId)>,
}

impl Router {
    /// An empty network: no members, every link up.
    pub fn new() -> Router {
        Router::default()
    }

    /// The network of member `id`: the handle to give to that member's
    /// [`Raft::new`](openraft::Raft::new). It shares this router's table;
    /// its RPCs come from `id`, so they fail when `id` is isolated or
    /// its link to the target is cut.
    pub fn member(&self, id: MemberId) -> Router {
        Router {
            links: Arc::clone(&self.links),
            source: Some(id),
        }
    }

    /// Registers (or replaces) member `id`: RPCs to `id` now reach `raft`.
    pub fn register(&self, id: MemberId, raft: Raft) {
        self.lock().members.insert(id, raft);
    }

    /// Removes member `id`, as if its process was killed: RPCs to it (and
    /// from it, when the sender is known) fail with
    /// [`RPCError::Unreachable`] until it is registered again. Returns its
    /// Raft, if it was registered, so the caller can shut it down or
    /// register it again.
    pub fn unregister(&self, id: MemberId) -> Option<Raft> {
        self.lock().members.remove(&id)
    }

    /// The Raft registered as member `id`.
    pub fn raft(&self, id: MemberId) -> Option<Raft> {
        self.lock().members.get(&id).cloned()
    }

    /// Cuts every link to and from member `id` (including to members
    /// registered later), until [`Router::heal`].
    pub fn isolate(&self, id: MemberId) {
        self.lock().isolated.insert(id);
    }

    /// Cuts the link between `a` and `b`, in both directions, until
    /// [`Router::heal`].
    pub fn cut(&self, a: MemberId, b: MemberId) {
        self.lock().cut.insert(link(a, b));
    }

    /// Restores every link cut by [`Router::isolate`] and [`Router::cut`].
    /// Unregistered members stay unreachable.
    pub fn heal(&self) {
        let mut links = self.lock();
        links.isolated.clear();
        links.cut.clear();
    }

    /// The table. A panic while the lock was held cannot leave it
    /// inconsistent (every change is one insert or clear), so a poisoned
    /// lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links = self.lock();
        f.debug_struct("Router")
            .field("source", &self.source)
            .field("members", &links.members.keys().collect::<Vec<_>>())
            .field("isolated", &links.isolated)
            .field("cut", &links.cut)
            .finish()
    }
}

impl RaftNetworkFactory<TypeConfig> for Router {
    type Network = RouterClient;

    async fn new_client(&mut self, target: MemberId, _node: &BasicNode) -> RouterClient {
        RouterClient {
            router: self.clone(),
            target,
        }
    }
}

/// The client of one target member on a [`Router`]: what
/// [`Router::new_client`](RaftNetworkFactory::new_client) returns.
#[derive(Debug)]
pub struct RouterClient {
    /// The router, with the member this client sends for.
    router: Router,
    /// The member this client sends to.
    target: MemberId,
}

impl RouterClient {
    /// The Raft of the target, if the link from `source` to it is up.
    ///
    /// # Errors
    /// Why not, if either end is isolated or not registered, or their
    /// link is cut.
    fn route(&self, source: Option<MemberId>) -> Result<Raft, LinkDown> {
        let links = self.router.lock();
        links.check(source, self.target)?;
        links
            .members
            .get(&self.target)
            .cloned()
            .ok_or(LinkDown::NotRegistered(self.target))
    }

    /// Whether the reply from the target can still reach `source`.
    ///
    /// # Errors
    /// Why not, if the link went down while the target handled the
    /// request (or the target was unregistered).
    fn way_back(&self, source: Option<MemberId>) -> Result<(), LinkDown> {
        self.router.lock().check(source, self.target)
    }

    /// The member an RPC comes from: this client's, or else the one its
    /// vote names (see [`Router`]).
    fn source(&self, vote: &crate::Vote) -> Option<MemberId> {
        self.router.source.or_else(|| vote.leader_id().voted_for())
    }

    /// The target's error as openraft's network returns it.
    fn remote<E: std::error::Error + 'static>(
        &self,
        e: RaftError<MemberId, E>,
    ) -> RPCError<MemberId, BasicNode, RaftError<MemberId, E>> {
        RPCError::RemoteError(RemoteError::new(self.target, e))
    }
}

impl RaftNetwork<TypeConfig> for RouterClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<MemberId>> {
        let source = self.source(&rpc.vote);
        let raft = self.route(source).map_err(unreachable)?;
        let answer = raft.append_entries(rpc).await;
        self.way_back(source).map_err(unreachable)?;
        answer.map_err(|e| self.remote(e))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<MemberId>, InstallSnapshotError> {
        let source = self.source(&rpc.vote);
        let raft = self.route(source).map_err(unreachable)?;
        let answer = raft.install_snapshot(rpc).await;
        self.way_back(source).map_err(unreachable)?;
        answer.map_err(|e| self.remote(e))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<MemberId>,
        _option: RPCOption,
    ) -> RpcResult<VoteResponse<MemberId>> {
        let source = self.source(&rpc.vote);
        let raft = self.route(source).map_err(unreachable)?;
        let answer = raft.vote(rpc).await;
        self.way_back(source).map_err(unreachable)?;
        answer.map_err(|e| self.remote(e))
    }
}

impl Links {
    /// Whether a message from `source` (when known) to `target` can pass:
    /// neither end isolated, their link not cut, both registered.
    fn check(&self, source: Option<MemberId>, target: MemberId) -> Result<(), LinkDown> {
        if self.isolated.contains(&target) {
            return Err(LinkDown::Isolated(target));
        }
        if let Some(source) = source {
            if self.isolated.contains(&source) {
                return Err(LinkDown::Isolated(source));
            }
            if self.cut.contains(&link(source, target)) {
                return Err(LinkDown::Cut(source, target));
            }
        }
        if !self.members.contains_key(&target) {
            return Err(LinkDown::NotRegistered(target));
        }
        // A killed member sends nothing, even if its Raft still runs.
        if let Some(source) = source.filter(|s| !self.members.contains_key(s)) {
            return Err(LinkDown::NotRegistered(source));
        }
        Ok(())
    }
}

/// The key of the link between two members in [`Links::cut`].
fn link(a: MemberId, b: MemberId) -> (MemberId, MemberId) {
    (a.min(b), a.max(b))
}

/// Why a message cannot pass: the error inside [`Unreachable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkDown {
    /// The member is not registered (never was, or was killed).
    NotRegistered(MemberId),
    /// The member is isolated.
    Isolated(MemberId),
    /// The link from the first member to the second is cut.
    Cut(MemberId, MemberId),
}

impl fmt::Display for LinkDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkDown::NotRegistered(id) => write!(f, "member {id} is not registered on the router"),
            LinkDown::Isolated(id) => write!(f, "member {id} is isolated"),
            LinkDown::Cut(a, b) => write!(f, "the link from member {a} to member {b} is cut"),
        }
    }
}

impl std::error::Error for LinkDown {}

/// [`RPCError::Unreachable`] for a link that is down.
fn unreachable<E: std::error::Error + 'static>(
    why: LinkDown,
) -> RPCError<MemberId, BasicNode, RaftError<MemberId, E>> {
    RPCError::Unreachable(Unreachable::new(&why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_cut_both_ways_and_healed() {
        let mut links = Links::default();
        links.cut.insert(link(2, 1));
        // Registration is checked last: an unregistered target with a cut
        // link reports the cut.
        assert_eq!(links.check(Some(1), 2), Err(LinkDown::Cut(1, 2)));
        assert_eq!(links.check(Some(2), 1), Err(LinkDown::Cut(2, 1)));
        assert_eq!(links.check(Some(1), 3), Err(LinkDown::NotRegistered(3)));
        // Without a known sender only the target's side is checked.
        assert_eq!(links.check(None, 2), Err(LinkDown::NotRegistered(2)));
        links.isolated.insert(3);
        assert_eq!(links.check(Some(3), 1), Err(LinkDown::Isolated(3)));
        assert_eq!(links.check(Some(1), 3), Err(LinkDown::Isolated(3)));
        assert_eq!(links.check(None, 3), Err(LinkDown::Isolated(3)));
    }

    #[test]
    fn router_handles_share_one_table() {
        let router = Router::new();
        let member = router.member(1);
        member.cut(1, 2);
        member.isolate(3);
        assert!(router.lock().cut.contains(&(1, 2)));
        assert!(router.lock().isolated.contains(&3));
        router.heal();
        assert!(member.lock().cut.is_empty());
        assert!(member.lock().isolated.is_empty());
        assert!(router.unregister(1).is_none());
        assert!(router.raft(1).is_none());
    }

    #[tokio::test]
    async fn rpc_to_an_unknown_member_is_unreachable() {
        let router = Router::new();
        let mut client = router.member(1).new_client(2, &BasicNode::default()).await;
        let rpc = VoteRequest::new(crate::Vote::new(1, 1), None);
        let option = RPCOption::new(std::time::Duration::from_secs(1));
        let result = client.vote(rpc.clone(), option.clone()).await;
        assert!(
            matches!(result, Err(RPCError::Unreachable(_))),
            "{result:?}"
        );
        // A plain clone takes the sender from the vote: the candidate, 1.
        router.cut(1, 2);
        let mut client = router.clone().new_client(2, &BasicNode::default()).await;
        match client.vote(rpc, option).await {
            Err(RPCError::Unreachable(e)) => {
                assert!(e.to_string().contains("from member 1 to member 2"), "{e}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }
}
