//! A cluster of in-process members on the router, for the replication
//! tests: start, kill, restart, partition, and compare the members' bytes.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_core::{
    ColumnFamily, Durability, ErrorKind, KeyRange, ReadView, ScanDirection, StorageBackend,
};
use graph_raft::network::router::Router;
use graph_raft::{LogStore, MemberId, ReadMode, ReplicatedStore, StateMachine};
use openraft::BasicNode;

pub(crate) type BoxResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Opens a backend in a directory.
pub(crate) type Opener<B> = fn(&Path) -> graph_core::Result<B>;

/// Every pair of the four families of a store, in order.
pub(crate) type Dump = Vec<(ColumnFamily, Vec<u8>, Vec<u8>)>;

pub(crate) struct Cluster<B: StorageBackend + 'static> {
    pub(crate) router: Router,
    pub(crate) members: BTreeMap<MemberId, ReplicatedStore<B>>,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: Arc<openraft::Config>,
    open: Opener<B>,
}

impl<B: StorageBackend + 'static> Cluster<B> {
    /// Starts members `0..n` and makes them a cluster; waits for a leader.
    pub(crate) async fn start(
        n: u64,
        config: Arc<openraft::Config>,
        open: Opener<B>,
    ) -> BoxResult<Self> {
        let mut cluster = Cluster {
            router: Router::new(),
            members: BTreeMap::new(),
            dir: tempfile::tempdir()?,
            config,
            open,
        };
        for id in 0..n {
            cluster.start_member(id).await?;
        }
        let nodes: BTreeMap<MemberId, BasicNode> = (0..n)
            .map(|id| (id, BasicNode::new(format!("member-{id}"))))
            .collect();
        cluster.members[&0].initialize(nodes).await?;
        cluster.leader(Duration::from_secs(10)).await?;
        Ok(cluster)
    }

    pub(crate) fn member_dir(&self, id: MemberId) -> PathBuf {
        self.dir.path().join(format!("member-{id}"))
    }

    /// Opens member `id`'s stores (new or existing) and starts it.
    pub(crate) async fn start_member(&mut self, id: MemberId) -> BoxResult<()> {
        let dir = self.member_dir(id);
        std::fs::create_dir_all(&dir)?;
        // A killed member's stores close when its last task lets go: retry
        // while the directory is still locked.
        let deadline = Instant::now() + Duration::from_secs(10);
        let (log, sm) = loop {
            let opened = (|| -> graph_core::Result<_> {
                let log = LogStore::open((self.open)(&dir.join("log"))?, Durability::Strict)?;
                let sm = StateMachine::open(
                    (self.open)(&dir.join("graph"))?,
                    dir.join("snapshots"),
                    Durability::Strict,
                )?;
                Ok((log, sm))
            })();
            match opened {
                Ok(pair) => break pair,
                Err(e) if e.kind() == ErrorKind::Locked && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let store = ReplicatedStore::start(
            id,
            Arc::clone(&self.config),
            log,
            sm,
            self.router.member(id),
        )
        .await?;
        self.router.register(id, store.raft().clone());
        self.members.insert(id, store);
        Ok(())
    }

    /// Kills member `id`: unreachable at once, its Raft task stopped, its
    /// stores closed once every handle is gone.
    pub(crate) async fn kill(&mut self, id: MemberId) -> BoxResult<()> {
        self.router.unregister(id);
        if let Some(store) = self.members.remove(&id) {
            store.shutdown().await?;
        }
        Ok(())
    }

    /// The leader every live, connected member agrees on.
    pub(crate) async fn leader(&self, timeout: Duration) -> BoxResult<MemberId> {
        self.leader_among(&self.members.keys().copied().collect(), timeout)
            .await
    }

    /// The leader the members in `among` agree on (and that is one of them).
    pub(crate) async fn leader_among(
        &self,
        among: &BTreeSet<MemberId>,
        timeout: Duration,
    ) -> BoxResult<MemberId> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen: BTreeSet<Option<MemberId>> =
                among.iter().map(|id| self.members[id].leader()).collect();
            if let [Some(leader)] = seen.iter().copied().collect::<Vec<_>>()[..]
                && among.contains(&leader)
                && self.members[&leader]
                    .read(ReadMode::Linearizable)
                    .await
                    .is_ok()
            {
                return Ok(leader);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no agreed leader among {among:?} after {timeout:?}: {seen:?}"
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every live member has applied the whole log of `id`
    /// (the leader, with no write in flight). openraft's metrics are
    /// published asynchronously, so this polls until they agree.
    pub(crate) async fn settle(&self, id: MemberId) -> BoxResult<u64> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let last = self.members[&id].raft().metrics().borrow().last_log_index;
            let applied: BTreeSet<Option<u64>> =
                self.members.values().map(|m| m.applied_index()).collect();
            let applied_all: Vec<Option<u64>> = applied.iter().copied().collect();
            if let (Some(last), [Some(a)]) = (last, applied_all.as_slice())
                && *a == last
            {
                return Ok(last);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "members did not settle: log at {last:?}, applied {applied:?}"
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every pair of member `id`'s graph store.
    pub(crate) async fn dump(&self, id: MemberId) -> BoxResult<Dump> {
        let store = self.members[&id].read(ReadMode::Local).await?;
        dump(store.backend())
    }

    /// Checks that every live member holds the same bytes and verifies
    /// clean; returns the common dump.
    pub(crate) async fn assert_identical(&self) -> BoxResult<Dump> {
        let mut first: Option<(MemberId, Dump)> = None;
        for &id in self.members.keys() {
            let store = self.members[&id].read(ReadMode::Local).await?;
            let report = store.verify()?;
            assert!(
                report.is_clean(),
                "member {id} does not verify clean: {report:?}"
            );
            let d = dump(store.backend())?;
            match &first {
                None => first = Some((id, d)),
                Some((other, expected)) => {
                    if *expected != d {
                        let diff = expected
                            .iter()
                            .zip(&d)
                            .position(|(a, b)| a != b)
                            .unwrap_or(expected.len().min(d.len()));
                        panic!(
                            "member {id} differs from member {other}: {} vs {} pairs, first difference at {diff}: {:?} vs {:?}",
                            d.len(),
                            expected.len(),
                            d.get(diff),
                            expected.get(diff)
                        );
                    }
                }
            }
        }
        Ok(first.map(|(_, d)| d).unwrap_or_default())
    }

    /// Stops every member, so the stores close before the directory goes.
    pub(crate) async fn stop(mut self) -> BoxResult<()> {
        let ids: Vec<MemberId> = self.members.keys().copied().collect();
        for id in ids {
            self.kill(id).await?;
        }
        // Let the stopped tasks drop their stores.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }
}

pub(crate) fn dump(view: &impl ReadView) -> BoxResult<Dump> {
    let mut out = Vec::new();
    for cf in ColumnFamily::ALL {
        view.scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
            out.push((cf, k.to_vec(), v.to_vec()));
            Ok(ControlFlow::Continue(()))
        })?;
    }
    Ok(out)
}

/// A configuration for tests: fast elections, and snapshots every
/// `snapshot_every` entries with `keep` log entries behind them.
pub(crate) fn config(snapshot_every: u64, keep: u64) -> Arc<openraft::Config> {
    let config = openraft::Config {
        heartbeat_interval: 50,
        election_timeout_min: 200,
        election_timeout_max: 400,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(snapshot_every),
        max_in_snapshot_log_to_keep: keep,
        snapshot_max_chunk_size: 4096,
        ..Default::default()
    };
    match config.validate() {
        Ok(config) => Arc::new(config),
        Err(e) => panic!("an invalid test configuration: {e}"),
    }
}
