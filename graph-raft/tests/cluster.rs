//! Three members on the in-process router: writes through the leader reach
//! every member byte for byte; a killed leader loses no acknowledged write;
//! a restarted member catches up, through a snapshot when its log was
//! purged; a partitioned follower catches up after healing; a minority
//! cannot commit; a command that fails to apply fails everywhere alike.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{BoxResult, Cluster, config};
use graph_core::{Direction, ErrorKind, Mutation, NodeId, Properties, PropertyValue};
use graph_raft::{MemberId, ReadMode, ReplicatedStore};
use graph_storage::{MemoryBackend, RocksDbBackend};

/// `d` without the replication state (tag `06` of `default`): the graph.
fn graph_only(d: &common::Dump) -> common::Dump {
    d.iter()
        .filter(|(_, k, _)| k.first() != Some(&0x06))
        .cloned()
        .collect()
}

fn props(i: i64) -> Properties {
    Properties::from([
        (
            "name".to_string(),
            PropertyValue::String(format!("n{i}").into()),
        ),
        ("i".to_string(), PropertyValue::Int(i)),
    ])
}

/// Writes `count` batches of two connected nodes through `store`; returns
/// the ids the batches created.
async fn write_pairs<B: graph_core::StorageBackend + 'static>(
    store: &ReplicatedStore<B>,
    from: i64,
    count: i64,
) -> BoxResult<Vec<NodeId>> {
    let mut ids = Vec::new();
    for i in from..from + count {
        let mut batch = store.batch();
        let a = batch.create_node(&["Person"], props(i));
        let b = batch.create_node(&["Person", "Admin"], props(-i));
        batch.create_edge(a, b, "KNOWS", Properties::new());
        let (nodes, edges) = batch.commit().await?;
        assert_eq!((nodes.len(), edges.len()), (2, 1));
        ids.extend(nodes);
    }
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reach_every_member_byte_for_byte() -> BoxResult {
    let cluster = Cluster::start(3, config(10_000, 1_000), |_| Ok(MemoryBackend::new())).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let store = &cluster.members[&leader];
    store.create_index("Person", "i").await?;
    let ids = write_pairs(store, 0, 50).await?;
    // Every other kind of mutation, with real ids.
    store
        .write(vec![
            Mutation::SetNodeProperty {
                id: ids[0],
                key: "x".into(),
                value: PropertyValue::Float(1.5),
            },
            Mutation::AddLabel {
                id: ids[1],
                label: "New".into(),
            },
            Mutation::DeleteNode {
                id: ids[2],
                detach: true,
            },
            Mutation::MapExternalId {
                space: "csv".into(),
                external: "ann".into(),
                node: ids[3],
            },
        ])
        .await?;

    // A linearizable read on the leader sees everything acknowledged.
    let read = store.read(ReadMode::Linearizable).await?;
    assert_eq!(read.node_count()?, 99);
    assert_eq!(
        read.find_nodes("Person", "i", &PropertyValue::Int(7))?
            .len(),
        1
    );
    // Not on a follower.
    let follower: MemberId = (0..3).find(|&id| id != leader).unwrap_or(0);
    let err = cluster.members[&follower]
        .read(ReadMode::Linearizable)
        .await
        .err()
        .map(|e| e.kind());
    assert_eq!(err, Some(ErrorKind::NotLeader));
    // Nor a write.
    let err = write_pairs(&cluster.members[&follower], 0, 1).await.err();
    assert!(err.is_some_and(|e| e.to_string().contains("not the leader")));

    cluster.settle(leader).await?;
    let dump = cluster.assert_identical().await?;
    assert!(dump.len() > 400, "{} pairs", dump.len());
    // Local reads on a follower, once applied.
    let local = cluster.members[&follower].read(ReadMode::Local).await?;
    assert_eq!(local.node_count()?, 99);
    assert_eq!(
        local.neighbors(ids[4], Direction::Outgoing, Some("KNOWS"))?,
        vec![ids[5]]
    );
    cluster.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_command_fails_everywhere_and_changes_nothing() -> BoxResult {
    let cluster = Cluster::start(3, config(10_000, 1_000), |_| Ok(MemoryBackend::new())).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let store = &cluster.members[&leader];
    let ids = write_pairs(store, 0, 3).await?;
    let before = cluster.dump(leader).await?;

    // A node created, then an edge to a missing node: all or nothing.
    let mut batch = store.batch();
    let a = batch.create_node(&["Person"], props(100));
    batch.create_edge(a, NodeId(999_999), "KNOWS", Properties::new());
    let err = batch.commit().await.err();
    assert_eq!(
        err.as_ref().map(graph_core::Error::kind),
        Some(ErrorKind::NodeNotFound)
    );
    let err = store.create_index("Person", "").await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));

    cluster.settle(leader).await?;
    cluster.assert_identical().await?;
    // Only the replication state moved.
    let after = cluster.dump(leader).await?;
    assert_eq!(graph_only(&before), graph_only(&after));
    // The next command still works, and ids continue where they were.
    let more = write_pairs(store, 10, 1).await?;
    assert_eq!(more[0].0, ids[ids.len() - 1].0 + 1);
    cluster.settle(leader).await?;
    cluster.assert_identical().await?;
    cluster.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_follower_catches_up_and_a_minority_cannot_commit() -> BoxResult {
    let mut cluster =
        Cluster::start(3, config(10_000, 1_000), |_| Ok(MemoryBackend::new())).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let follower = (0..3).find(|&id| id != leader).unwrap_or(0);
    cluster.router.isolate(follower);
    write_pairs(&cluster.members[&leader], 0, 20).await?;
    let stale = cluster.members[&follower].read(ReadMode::Local).await?;
    assert!(stale.node_count()? < 40, "an isolated member got writes");
    cluster.router.heal();
    cluster.settle(leader).await?;
    cluster.assert_identical().await?;

    // The leader alone is a minority: its write cannot commit.
    cluster.router.isolate(leader);
    let lonely = cluster.members[&leader].clone();
    let attempt = tokio::time::timeout(Duration::from_secs(2), write_pairs(&lonely, 100, 1)).await;
    assert!(
        !matches!(attempt, Ok(Ok(_))),
        "a minority acknowledged a write"
    );
    // The majority elects a new leader and goes on.
    let rest: BTreeSet<MemberId> = (0..3).filter(|&id| id != leader).collect();
    let new_leader = cluster.leader_among(&rest, Duration::from_secs(10)).await?;
    write_pairs(&cluster.members[&new_leader], 200, 5).await?;
    cluster.router.heal();
    // The old leader steps down, drops its uncommitted entry, catches up.
    cluster.leader(Duration::from_secs(10)).await?;
    cluster.settle(new_leader).await?;
    let dump = cluster.assert_identical().await?;
    let read = cluster.members[&new_leader]
        .read(ReadMode::Linearizable)
        .await?;
    assert_eq!(read.node_count()?, 50);
    drop(dump);
    drop(read);
    // Not a member of the nodes counted above: the write the minority
    // tried is gone everywhere.
    let _ = cluster.kill(leader).await;
    cluster.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_loses_no_acknowledged_write_and_catches_up_by_snapshot() -> BoxResult {
    let mut cluster = Cluster::start(3, config(40, 0), |p| RocksDbBackend::open(p)).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;

    // A writer that keeps writing through whoever leads, recording what was
    // acknowledged.
    let members: Vec<ReplicatedStore<RocksDbBackend>> = cluster.members.values().cloned().collect();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(NodeId, i64)>::new()));
    let writer = {
        let acked = Arc::clone(&acked);
        tokio::spawn(async move {
            let mut i = 0i64;
            let mut errors = 0;
            while i < 150 && errors < 2_000 {
                let mut done = false;
                for member in &members {
                    let mut batch = member.batch();
                    batch.create_node(&["Person"], props(i));
                    if let Ok((nodes, _)) = batch.commit().await {
                        if let Ok(mut a) = acked.lock() {
                            a.push((nodes[0], i));
                        }
                        done = true;
                        break;
                    }
                }
                if done {
                    i += 1;
                } else {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            i
        })
    };
    // Kill the leader mid-stream: after 40 acknowledgements, within a
    // bounded wait (a writer that gave up or a cluster that stopped
    // committing fails the test here instead of hanging it).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = acked.lock().map(|a| a.len()).unwrap_or(0);
        if n >= 40 {
            break;
        }
        assert!(
            !writer.is_finished(),
            "the writer stopped after {n} acknowledgements, before the leader was killed"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "only {n} of 40 writes acknowledged within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.kill(leader).await?;
    let written = writer.await?;
    assert_eq!(written, 150, "the writer gave up");
    let new_leader = cluster.leader(Duration::from_secs(10)).await?;
    assert_ne!(new_leader, leader);

    // Everything acknowledged is there, with the values written.
    let read = cluster.members[&new_leader]
        .read(ReadMode::Linearizable)
        .await?;
    let acked: Vec<(NodeId, i64)> = acked.lock().map(|a| a.clone()).unwrap_or_default();
    assert_eq!(acked.len(), 150);
    for (id, i) in &acked {
        let node = read.get_node(*id)?;
        assert_eq!(
            node.and_then(|n| n.properties.get("i").cloned()),
            Some(PropertyValue::Int(*i)),
            "acknowledged node {id:?} lost"
        );
    }
    drop(read);

    // Purge the log behind a fresh snapshot, so the old leader must catch
    // up through the snapshot.
    let store = cluster.members[&new_leader].clone();
    store.raft().trigger().snapshot().await?;
    let last = store.applied_index().unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store
        .raft()
        .metrics()
        .borrow()
        .snapshot
        .map_or(0, |l| l.index)
        < last
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no snapshot was built"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.raft().trigger().purge_log(last).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store
        .raft()
        .metrics()
        .borrow()
        .purged
        .map_or(0, |l| l.index)
        < last
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the log was not purged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    cluster.start_member(leader).await?;
    cluster.settle(new_leader).await?;
    let snap = cluster
        .member_dir(leader)
        .join("snapshots")
        .join("current.snap");
    assert!(snap.exists(), "the old leader did not receive a snapshot");
    cluster.assert_identical().await?;
    // It serves reads, and the cluster still writes.
    write_pairs(&cluster.members[&new_leader], 1_000, 3).await?;
    cluster.settle(new_leader).await?;
    cluster.assert_identical().await?;
    cluster.stop().await
}

/// A write retried with its request id is applied once: on the same
/// leader, and on the next leader after the first one was killed (the
/// record of the request travels with the log); a rejected write's retry
/// is the same rejection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_retried_with_its_request_id_is_applied_once() -> BoxResult {
    use graph_raft::RequestId;

    let mut cluster = Cluster::start(3, config(10_000, 1_000), |p| RocksDbBackend::open(p)).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let store = cluster.members[&leader].clone();
    let id = RequestId(*b"import-1\0\0\0\0\0\0\0\x07");
    let write = |store: ReplicatedStore<RocksDbBackend>| async move {
        let mut batch = store.batch();
        let a = batch.create_node(&["Person"], props(1));
        let b = batch.create_node(&["Person"], props(2));
        batch.create_edge(a, b, "KNOWS", Properties::new());
        batch.commit_once(id).await
    };
    let first = write(store.clone()).await?;
    assert_eq!((first.0.len(), first.1.len()), (2, 1));
    assert_eq!(write(store.clone()).await?, first);
    // Another id is another write.
    let other = RequestId([9; 16]);
    let mut batch = store.batch();
    batch.create_node(&["Person"], props(3));
    batch.commit_once(other).await?;
    // A rejected write, retried: the same rejection, nothing applied.
    let bad = RequestId([8; 16]);
    let missing = vec![Mutation::DeleteNode {
        id: NodeId(1 << 40),
        detach: false,
    }];
    let e1 = store
        .write_once(bad, missing.clone())
        .await
        .err()
        .map(|e| e.to_string());
    let e2 = store
        .write_once(bad, missing)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(e1.is_some() && e1 == e2, "{e1:?} {e2:?}");

    // The leader dies; the client retries on the next one.
    drop(store);
    cluster.kill(leader).await?;
    let next = cluster.leader(Duration::from_secs(10)).await?;
    assert_ne!(next, leader);
    assert_eq!(write(cluster.members[&next].clone()).await?, first);
    let read = cluster.members[&next].read(ReadMode::Linearizable).await?;
    assert_eq!((read.node_count()?, read.edge_count()?), (3, 1));
    drop(read);
    cluster.start_member(leader).await?;
    cluster.settle(next).await?;
    cluster.assert_identical().await?;
    cluster.stop().await
}

/// Conditional writes make a read-modify-write over the cluster safe: two
/// clients each add 1 to one counter 15 times (read it linearizably, write
/// it on the condition that it is unchanged, retry when rejected), and it
/// ends at 30 on every member; "create the edge if the node has none"
/// creates one; a rejected write changes nothing anywhere; with a request
/// id, a conditional write's retry gets its first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_make_read_modify_write_safe() -> BoxResult {
    use graph_core::Precondition;

    let cluster = Cluster::start(3, config(10_000, 1_000), |p| RocksDbBackend::open(p)).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let store = cluster.members[&leader].clone();
    let (nodes, _) = store
        .write(vec![Mutation::CreateNode {
            id: graph_raft::placeholder_node(0),
            labels: vec!["Counter".into()],
            properties: Properties::from([("n".to_string(), PropertyValue::Int(0))]),
        }])
        .await?;
    let counter = nodes[0];
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut rejected = 0u32;
                for _ in 0..15 {
                    loop {
                        let read = store.read(ReadMode::Linearizable).await?;
                        let n = match read
                            .get_node(counter)?
                            .and_then(|n| n.properties.get("n").cloned())
                        {
                            Some(PropertyValue::Int(n)) => n,
                            other => return Err(format!("counter is {other:?}").into()),
                        };
                        drop(read);
                        let written = store
                            .write_if(
                                vec![Precondition::NodeProperty {
                                    id: counter,
                                    key: "n".into(),
                                    value: Some(PropertyValue::Int(n)),
                                }],
                                vec![Mutation::SetNodeProperty {
                                    id: counter,
                                    key: "n".into(),
                                    value: PropertyValue::Int(n + 1),
                                }],
                            )
                            .await;
                        match written {
                            Ok(_) => break,
                            Err(e) if e.kind() == ErrorKind::PreconditionFailed => rejected += 1,
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Ok::<u32, Box<dyn std::error::Error + Send + Sync>>(rejected)
            })
        })
        .collect();
    let mut rejected = 0;
    for c in clients {
        rejected += c.await??;
    }
    eprintln!("conditional increments: {rejected} rejected and retried");

    // Create the edge only if the counter has none of this type: twice.
    let no_edge = || {
        vec![Precondition::Degree {
            node: counter,
            direction: Direction::Outgoing,
            edge_type: Some("SELF".into()),
            count: 0,
        }]
    };
    let create = || {
        vec![Mutation::CreateEdge {
            id: graph_raft::placeholder_edge(0),
            src: counter,
            dst: counter,
            edge_type: "SELF".into(),
            properties: Properties::new(),
        }]
    };
    store.write_if(no_edge(), create()).await?;
    let before = cluster.dump(leader).await?;
    let second = store.write_if(no_edge(), create()).await.err();
    assert_eq!(
        second.as_ref().map(graph_core::Error::kind),
        Some(ErrorKind::PreconditionFailed),
        "{second:?}"
    );
    // With a request id, a retry gets the first answer, not a rejection
    // by its own effects; a rejected one is rejected alike.
    let id = graph_raft::RequestId([5; 16]);
    let bump = |from: i64| {
        (
            vec![Precondition::NodeProperty {
                id: counter,
                key: "n".into(),
                value: Some(PropertyValue::Int(from)),
            }],
            vec![Mutation::SetNodeProperty {
                id: counter,
                key: "n".into(),
                value: PropertyValue::Int(from + 1),
            }],
        )
    };
    let (p, m) = bump(30);
    let first = store.write_once_if(id, p.clone(), m.clone()).await?;
    assert_eq!(store.write_once_if(id, p, m).await?, first);
    let stale = graph_raft::RequestId([6; 16]);
    let (p, m) = bump(0);
    let e1 = store.write_once_if(stale, p.clone(), m.clone()).await.err();
    let e2 = store.write_once_if(stale, p, m).await.err();
    assert_eq!(
        e1.as_ref().map(graph_core::Error::kind),
        Some(ErrorKind::PreconditionFailed)
    );
    assert_eq!(e1.map(|e| e.to_string()), e2.map(|e| e.to_string()));
    let (p, m) = bump(31);
    store.write_if(p, m).await?;
    cluster.settle(leader).await?;
    cluster.assert_identical().await?;
    let after = cluster.dump(leader).await?;
    let changed: Vec<_> = graph_only(&after)
        .into_iter()
        .filter(|e| !graph_only(&before).contains(e))
        .collect();
    assert_eq!(
        changed.len(),
        1,
        "only the counter's record changed: {changed:?}"
    );
    for member in cluster.members.values() {
        let read = member.read(ReadMode::Local).await?;
        let n = read
            .get_node(counter)?
            .and_then(|n| n.properties.get("n").cloned());
        assert_eq!(n, Some(PropertyValue::Int(32)));
        assert_eq!(read.edge_count()?, 1);
    }
    drop(store);
    cluster.stop().await
}
