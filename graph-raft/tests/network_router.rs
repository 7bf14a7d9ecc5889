//! Clusters on the in-process [`Router`]: replication, a lost leader, a
//! killed member, a cut link and a snapshot streamed in chunks, each
//! followed by the cluster converging once the network heals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_core::{Durability, Error, Mutation, NodeId, Properties};
use graph_raft::network::router::Router;
use graph_raft::{
    LogStore, MemberId, ReadMode, ReplicatedStore, StateMachine, default_config, placeholder_node,
};
use graph_storage::MemoryBackend;
use openraft::BasicNode;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Member = ReplicatedStore<MemoryBackend>;

/// How long a test waits for anything (an election, catching up).
const PATIENCE: Duration = Duration::from_secs(20);

/// Members on one router, with their snapshot directories.
struct Cluster {
    router: Router,
    members: BTreeMap<MemberId, Member>,
    config: Arc<openraft::Config>,
    dir: tempfile::TempDir,
}

impl Cluster {
    async fn new(config: Arc<openraft::Config>) -> Result<Cluster, Box<dyn std::error::Error>> {
        Ok(Cluster {
            router: Router::new(),
            members: BTreeMap::new(),
            config,
            dir: tempfile::tempdir()?,
        })
    }

    /// Starts member `id` and registers it on the router.
    async fn start(&mut self, id: MemberId) -> Result<Member, Box<dyn std::error::Error>> {
        let log = LogStore::open(MemoryBackend::new(), Durability::Strict)?;
        let state_machine = StateMachine::open(
            MemoryBackend::new(),
            self.dir.path().join(format!("member-{id}")),
            Durability::Strict,
        )?;
        let member = ReplicatedStore::start(
            id,
            Arc::clone(&self.config),
            log,
            state_machine,
            self.router.member(id),
        )
        .await?;
        self.router.register(id, member.raft().clone());
        self.members.insert(id, member.clone());
        Ok(member)
    }

    /// Starts members `ids` and makes them a cluster.
    async fn initialize(&mut self, ids: &[MemberId]) -> TestResult {
        let mut nodes = BTreeMap::new();
        for &id in ids {
            self.start(id).await?;
            nodes.insert(id, BasicNode::new(format!("member-{id}")));
        }
        self.member(ids[0])?.initialize(nodes).await?;
        Ok(())
    }

    fn member(&self, id: MemberId) -> Result<&Member, Box<dyn std::error::Error>> {
        self.members
            .get(&id)
            .ok_or_else(|| format!("no member {id}").into())
    }

    /// Waits until one of `among` leads, as it says itself, and returns it.
    async fn leader(&self, among: &[MemberId]) -> Result<MemberId, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            for &id in among {
                if self.member(id)?.leader() == Some(id) {
                    return Ok(id);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("no leader among {among:?} after {PATIENCE:?}").into())
    }

    /// Creates a node through whichever of `among` leads, retrying while
    /// leadership moves; returns its id.
    async fn create_node(&self, among: &[MemberId]) -> Result<NodeId, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let leader = self.member(self.leader(among).await?)?;
            let mutation = Mutation::CreateNode {
                id: placeholder_node(0),
                labels: vec!["Person".into()],
                properties: Properties::new(),
            };
            match leader.write(vec![mutation]).await {
                Ok((nodes, _)) => {
                    return Ok(nodes.first().copied().ok_or("no node id returned")?);
                }
                Err(Error::NotLeader { .. } | Error::Unavailable(_))
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits until every one of `ids` holds `node`. (Polls the stores:
    /// openraft's metrics, and so `applied_index`, may lag behind a write
    /// that has returned.)
    async fn converged(&self, ids: &[MemberId], node: NodeId) -> TestResult {
        let deadline = Instant::now() + PATIENCE;
        for &id in ids {
            let member = self.member(id)?;
            while member
                .read(ReadMode::Local)
                .await?
                .get_node(node)?
                .is_none()
            {
                if Instant::now() > deadline {
                    return Err(
                        format!("member {id} lacks node {node:?} after {PATIENCE:?}").into(),
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    async fn shutdown(self) -> TestResult {
        for member in self.members.values() {
            // A member may have been killed already.
            let _ = member.shutdown().await;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_leader_is_replaced_and_catches_up_after_heal() -> TestResult {
    let mut cluster = Cluster::new(default_config()?).await?;
    cluster.initialize(&[1, 2, 3]).await?;
    let first = cluster.create_node(&[1, 2, 3]).await?;
    cluster.converged(&[1, 2, 3], first).await?;

    let old = cluster.leader(&[1, 2, 3]).await?;
    let others: Vec<MemberId> = [1, 2, 3].into_iter().filter(|&id| id != old).collect();
    cluster.router.isolate(old);
    let second = cluster.create_node(&others).await?;
    cluster.converged(&others, second).await?;
    let stale = cluster.member(old)?.read(ReadMode::Local).await?;
    assert!(
        stale.get_node(second)?.is_none(),
        "an isolated member got a write"
    );

    cluster.router.heal();
    cluster.converged(&[1, 2, 3], second).await?;
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_follower_catches_up_when_it_returns() -> TestResult {
    let mut cluster = Cluster::new(default_config()?).await?;
    cluster.initialize(&[1, 2, 3]).await?;
    let leader = cluster.leader(&[1, 2, 3]).await?;
    let follower = if leader == 1 { 2 } else { 1 };

    let raft = cluster
        .router
        .unregister(follower)
        .ok_or("not registered")?;
    let node = cluster.create_node(&[1, 2, 3]).await?;
    let live: Vec<MemberId> = [1, 2, 3].into_iter().filter(|&id| id != follower).collect();
    cluster.converged(&live, node).await?;
    let dead = cluster.member(follower)?.read(ReadMode::Local).await?;
    assert!(
        dead.get_node(node)?.is_none(),
        "a killed member got a write"
    );

    cluster.router.register(follower, raft);
    cluster.converged(&[1, 2, 3], node).await?;
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_link_heals() -> TestResult {
    let mut cluster = Cluster::new(default_config()?).await?;
    cluster.initialize(&[1, 2, 3]).await?;
    let leader = cluster.leader(&[1, 2, 3]).await?;
    let follower = if leader == 1 { 2 } else { 1 };

    cluster.router.cut(follower, leader);
    // The majority still commits (leadership may move: the cut follower
    // hears no heartbeats and calls elections).
    let node = cluster.create_node(&[1, 2, 3]).await?;
    cluster.router.heal();
    cluster.converged(&[1, 2, 3], node).await?;
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_streams_to_a_new_learner_in_chunks() -> TestResult {
    let mut config = (*default_config()?).clone();
    // Keep no log behind a snapshot, and send snapshots in many chunks.
    config.max_in_snapshot_log_to_keep = 0;
    config.snapshot_max_chunk_size = 512;
    let mut cluster = Cluster::new(Arc::new(config.validate()?)).await?;
    cluster.initialize(&[1]).await?;
    let mut last = None;
    for _ in 0..40 {
        last = Some(cluster.create_node(&[1]).await?);
    }
    let node = last.ok_or("no write")?;

    let leader = cluster.member(1)?.clone();
    let metrics = leader
        .raft()
        .wait(Some(PATIENCE))
        .metrics(
            |m| m.last_applied.map(|l| l.index) == m.last_log_index,
            "applied",
        )
        .await?;
    let index = metrics.last_log_index.ok_or("empty log")?;
    leader.raft().trigger().snapshot().await?;
    leader
        .raft()
        .wait(Some(PATIENCE))
        .metrics(|m| m.snapshot.is_some_and(|s| s.index >= index), "snapshot")
        .await?;
    leader.raft().trigger().purge_log(index).await?;
    leader
        .raft()
        .wait(Some(PATIENCE))
        .metrics(|m| m.purged.is_some_and(|p| p.index >= index), "purged")
        .await?;

    // Member 2 can only get the graph from the snapshot: the log is gone.
    cluster.start(2).await?;
    leader.add_learner(2, "member-2", true).await?;
    cluster.converged(&[2], node).await?;
    let copy = cluster.member(2)?.read(ReadMode::Local).await?;
    let original = leader.read(ReadMode::Local).await?;
    assert_eq!(copy.node_count()?, original.node_count()?);
    cluster.shutdown().await
}
