//! Three members on loopback HTTP (the real network stack, each member its
//! own port): writes through the leader are byte-identical on every
//! member; with the leader stopped, the other two elect a new one, lose no
//! acknowledged write and stay identical.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{BoxResult, dump};
use graph_core::{Durability, ErrorKind, Properties, PropertyValue};
use graph_raft::network::http::{HttpNetwork, raft_routes, serve};
use graph_raft::{LogStore, MemberId, ReadMode, ReplicatedStore, StateMachine};
use graph_storage::RocksDbBackend;

struct Member {
    store: ReplicatedStore<RocksDbBackend>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Member {
    async fn stop(self) -> BoxResult {
        self.store.shutdown().await?;
        let _ = self.stop.send(());
        self.server.await??;
        Ok(())
    }
}

/// Waits until every member's stores under `dir` are closed: openraft's
/// tasks drop them shortly after `shutdown` returns, and the directory
/// must not be removed before (a store still open while it goes can
/// recreate files in it, or make the removal fail and leave it behind:
/// seen once, a whole `member-*` tree left in the temporary directory).
async fn wait_closed(dir: &std::path::Path) -> BoxResult {
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in 1..=3u64 {
        for part in ["log", "graph"] {
            let path = dir.join(format!("member-{id}")).join(part);
            loop {
                match RocksDbBackend::open(&path) {
                    Ok(store) => {
                        store.close()?;
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::Locked && Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => return Err(format!("{}: {e}", path.display()).into()),
                }
            }
        }
    }
    Ok(())
}

async fn start(dir: &std::path::Path) -> BoxResult<BTreeMap<MemberId, Member>> {
    let mut listeners = BTreeMap::new();
    for id in 1..=3u64 {
        listeners.insert(id, tokio::net::TcpListener::bind("127.0.0.1:0").await?);
    }
    let mut nodes = BTreeMap::new();
    for (id, l) in &listeners {
        nodes.insert(*id, openraft::BasicNode::new(l.local_addr()?.to_string()));
    }
    let mut members = BTreeMap::new();
    for (id, listener) in listeners {
        let d = dir.join(format!("member-{id}"));
        std::fs::create_dir_all(&d)?;
        let log = LogStore::open(RocksDbBackend::open(d.join("log"))?, Durability::Strict)?;
        let sm = StateMachine::open(
            RocksDbBackend::open(d.join("graph"))?,
            d.join("snapshots"),
            Durability::Strict,
        )?;
        let store = ReplicatedStore::start(
            id,
            common::config(10_000, 1_000),
            log,
            sm,
            HttpNetwork::new()?,
        )
        .await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            raft_routes(store.raft().clone()),
            async move {
                let _ = stopped.await;
            },
        ));
        members.insert(
            id,
            Member {
                store,
                stop,
                server,
            },
        );
    }
    members[&1].store.initialize(nodes).await?;
    Ok(members)
}

/// The leader all `members` agree on, once it answers a linearizable read.
async fn leader(members: &BTreeMap<MemberId, Member>) -> BoxResult<MemberId> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen: Vec<Option<MemberId>> = members.values().map(|m| m.store.leader()).collect();
        if let Some(Some(l)) = seen.first()
            && seen.iter().all(|s| *s == Some(*l))
            && members.contains_key(l)
            && members[l].store.read(ReadMode::Linearizable).await.is_ok()
        {
            return Ok(*l);
        }
        if Instant::now() > deadline {
            return Err(format!("no agreed leader: {seen:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every member holds `nodes` nodes, then compares their bytes.
async fn identical(members: &BTreeMap<MemberId, Member>, nodes: u64) -> BoxResult {
    let deadline = Instant::now() + Duration::from_secs(20);
    for m in members.values() {
        while m.store.read(ReadMode::Local).await?.node_count()? != nodes {
            if Instant::now() > deadline {
                return Err(format!("member {} did not reach {nodes} nodes", m.store.id()).into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // A member that has all the nodes may not have applied the entries
    // after them yet (here the index creation): members apply the log at
    // their own pace, so compare until they agree. Replicas that applied
    // the same log differ only until the slower one catches up; a real
    // divergence never goes away and fails at the deadline.
    loop {
        let mut dumps = Vec::new();
        for m in members.values() {
            let store = m.store.read(ReadMode::Local).await?;
            assert!(
                store.verify()?.is_clean(),
                "member {} does not verify",
                m.store.id()
            );
            dumps.push((m.store.id(), dump(store.backend())?));
        }
        let differing = dumps[1..].iter().find(|(_, d)| *d != dumps[0].1);
        match differing {
            None => return Ok(()),
            Some((id, d)) if Instant::now() > deadline => {
                return Err(format!(
                    "member {id} differs from member {} ({} vs {} pairs)",
                    dumps[0].0,
                    d.len(),
                    dumps[0].1.len()
                )
                .into());
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn write(store: &ReplicatedStore<RocksDbBackend>, from: i64, count: i64) -> BoxResult {
    for i in from..from + count {
        let mut batch = store.batch();
        let a = batch.create_node(
            &["Person"],
            Properties::from([("i".to_string(), PropertyValue::Int(i))]),
        );
        let b = batch.create_node(&["City"], Properties::new());
        batch.create_edge(a, b, "LIVES_IN", Properties::new());
        batch.commit().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_on_loopback_http_hold_the_same_bytes_and_survive_their_leader() -> BoxResult {
    let dir = tempfile::tempdir()?;
    let mut members = start(dir.path()).await?;
    let first = leader(&members).await?;
    write(&members[&first].store, 0, 30).await?;
    members[&first].store.create_index("Person", "i").await?;
    identical(&members, 60).await?;

    // Stop the leader: process gone, port closed.
    let old = members.remove(&first).ok_or("no leader")?;
    old.stop().await?;
    let second = leader(&members).await?;
    assert_ne!(second, first);
    write(&members[&second].store, 100, 20).await?;
    let read = members[&second].store.read(ReadMode::Linearizable).await?;
    assert_eq!(read.node_count()?, 100);
    assert_eq!(
        read.find_nodes("Person", "i", &PropertyValue::Int(7))?
            .len(),
        1
    );
    drop(read);
    identical(&members, 100).await?;
    for (_, m) in members {
        m.stop().await?;
    }
    wait_closed(dir.path()).await?;
    dir.close()?;
    Ok(())
}
