//! Concurrent writers and readers on both backends, for a bounded time
//! (`GRAPH_STORAGE_STRESS_SECS`, default 4 s per backend).
//!
//! Writers race on shared nodes: batches of nodes and edges, single edges,
//! detach-deletes, edge deletes, property and label changes, index
//! creation and removal. Their only allowed failures are the ones a race
//! explains (not found, constraint, no such index). Readers take
//! `store.snapshot()` and check it is consistent: every edge seen has both
//! endpoints and both adjacency entries, every adjacency entry has its
//! edge record, the counts equal the records, and now and then a full
//! `verify()` of the snapshot is clean. At the end the store verifies
//! clean.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use graph_core::{Direction, Durability, EdgeId, ErrorKind, NodeId, Properties, PropertyValue};
use graph_storage::{
    FjallBackend, GraphStore, MemoryBackend, RocksDbBackend, StorageBackend, StoreOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::workload::{base_seed, env_u64};
use tests::{InTempDir, Must, MustJoin};

const WRITERS: u64 = 3;
const READERS: u64 = 3;

fn raced(r: graph_core::Result<impl Sized>, what: &str) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::NodeNotFound
                        | ErrorKind::EdgeNotFound
                        | ErrorKind::Constraint
                        | ErrorKind::IndexNotFound
                ),
                "{what}: a race cannot explain {e}"
            );
            false
        }
    }
}

fn writer<B: StorageBackend>(
    store: &GraphStore<B>,
    seed: u64,
    deadline: Instant,
    max_node: &AtomicU64,
    max_edge: &AtomicU64,
) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut commits = 0;
    while Instant::now() < deadline {
        let hi_n = max_node.load(Ordering::Relaxed) + 1;
        let hi_e = max_edge.load(Ordering::Relaxed) + 1;
        let any_node = |rng: &mut StdRng| NodeId(rng.gen_range(0..hi_n));
        let ok = match rng.gen_range(0..20) {
            0..=5 => {
                let mut b = store.batch();
                let mut ids = Vec::new();
                for _ in 0..rng.gen_range(1..5) {
                    let props = Properties::from([(
                        "v".to_owned(),
                        PropertyValue::Int(rng.gen_range(0..9)),
                    )]);
                    let id = b.create_node(&["P"], props).must("reserve");
                    max_node.fetch_max(id.0, Ordering::Relaxed);
                    ids.push(id);
                }
                for _ in 0..rng.gen_range(0..5) {
                    let s = if rng.gen_bool(0.5) {
                        ids[0]
                    } else {
                        any_node(&mut rng)
                    };
                    let d = ids[rng.gen_range(0..ids.len())];
                    let e = b.create_edge(s, d, "R", Properties::new()).must("reserve");
                    max_edge.fetch_max(e.0, Ordering::Relaxed);
                }
                raced(b.commit(), "batch")
            }
            6..=8 => {
                let r = store.create_edge(
                    any_node(&mut rng),
                    any_node(&mut rng),
                    "S",
                    Properties::new(),
                );
                if let Ok(e) = &r {
                    max_edge.fetch_max(e.0, Ordering::Relaxed);
                }
                raced(r, "create_edge")
            }
            9..=11 => raced(
                store.detach_delete_node(any_node(&mut rng)),
                "detach_delete",
            ),
            12..=13 => raced(
                store.delete_edge(EdgeId(rng.gen_range(0..hi_e))),
                "delete_edge",
            ),
            14..=16 => raced(
                store.set_node_property(
                    any_node(&mut rng),
                    "v",
                    PropertyValue::Int(rng.gen_range(0..9)),
                ),
                "set_node_property",
            ),
            17..=18 => raced(store.add_label(any_node(&mut rng), "Q"), "add_label"),
            _ => {
                if rng.gen_bool(0.5) {
                    raced(store.create_index("P", "v"), "create_index")
                } else {
                    raced(store.drop_index("P", "v"), "drop_index")
                }
            }
        };
        commits += u64::from(ok);
    }
    commits
}

/// Checks one snapshot; returns the number of edges checked.
fn check_snapshot<B: StorageBackend>(store: &GraphStore<B>, rng: &mut StdRng, full: bool) -> u64 {
    let snap = store.snapshot().must("snapshot");
    let nodes = snap.node_ids().must("node ids");
    let edges = snap.edge_ids().must("edge ids");
    assert_eq!(
        snap.node_count().must("count"),
        nodes.len() as u64,
        "node count"
    );
    assert_eq!(
        snap.edge_count().must("count"),
        edges.len() as u64,
        "edge count"
    );
    let mut checked = 0;
    for _ in 0..edges.len().min(40) {
        let id = edges[rng.gen_range(0..edges.len())];
        let e = snap
            .get_edge(id)
            .must("edge")
            .unwrap_or_else(|| panic!("edge {id} vanished"));
        for end in [e.src, e.dst] {
            assert!(
                snap.get_node(end).must("node").is_some(),
                "edge {id} without endpoint {end}"
            );
        }
        let out = snap.edges(e.src, Direction::Outgoing, None).must("out");
        assert!(
            out.iter().any(|r| r.id == id && r.dst == e.dst),
            "edge {id} without its outgoing entry"
        );
        let inc = snap.edges(e.dst, Direction::Incoming, None).must("in");
        assert!(
            inc.iter().any(|r| r.id == id && r.src == e.src),
            "edge {id} without its incoming entry"
        );
        checked += 1;
    }
    for _ in 0..nodes.len().min(20) {
        let n = nodes[rng.gen_range(0..nodes.len())];
        for r in snap.edges(n, Direction::Both, None).must("edges") {
            assert!(
                snap.get_edge(r.id).must("edge").is_some(),
                "adjacency of node {n} names missing edge {}",
                r.id
            );
        }
    }
    if full {
        let report = snap.verify().must("verify");
        assert!(
            report.is_clean(),
            "a snapshot taken during writes: {report}"
        );
    }
    checked
}

fn stress<B: StorageBackend>(store: &GraphStore<B>, name: &str) {
    let secs = env_u64("GRAPH_STORAGE_STRESS_SECS", 4);
    let seed = base_seed(&format!("concurrency {name}"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let (max_node, max_edge) = (AtomicU64::new(0), AtomicU64::new(0));
    let writers_done = AtomicBool::new(false);
    let (commits, snapshots, edges_checked) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (max_node, max_edge) = (&max_node, &max_edge);
                s.spawn(move || writer(store, seed.wrapping_add(w), deadline, max_node, max_edge))
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let done = &writers_done;
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(100 + r));
                    let (mut snaps, mut edges) = (0u64, 0u64);
                    // Bounded: readers stop with the writers' deadline.
                    while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                        edges += check_snapshot(store, &mut rng, snaps % 25 == 24);
                        snaps += 1;
                    }
                    (snaps, edges)
                })
            })
            .collect();
        let commits: u64 = writers.into_iter().map(|h| h.join().must_join()).sum();
        writers_done.store(true, Ordering::Relaxed);
        let (snaps, edges) = readers
            .into_iter()
            .map(|h| h.join().must_join())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        (commits, snaps, edges)
    });
    let report = store.verify().must("verify");
    assert!(report.is_clean(), "{name} after the stress: {report}");
    eprintln!(
        "concurrency {name}: {commits} commits by {WRITERS} writers, {snapshots} snapshots \
         ({edges_checked} edges checked) by {READERS} readers, final {report}, in {:.1?}",
        started.elapsed()
    );
    assert!(commits > 0 && snapshots > 0, "{name}: nothing happened");
}

/// Joins a thread, re-raising its panic (with its own message).

#[test]
fn concurrent_writers_and_snapshot_readers_on_memory() {
    let store = GraphStore::open_with(
        MemoryBackend::new(),
        StoreOptions::default().durability(Durability::Background),
    )
    .must("open");
    stress(&store, "memory");
}

#[test]
fn concurrent_writers_and_snapshot_readers_on_rocksdb() {
    // The store closes before its directory is removed, also when the
    // stress fails.
    let store = InTempDir::new(|dir| {
        GraphStore::open_with(
            RocksDbBackend::open(dir).must("open"),
            StoreOptions::default().durability(Durability::Strict),
        )
        .must("open")
    });
    stress(&store, "rocksdb");
}

#[test]
fn concurrent_writers_and_snapshot_readers_on_fjall() {
    let store = InTempDir::new(|dir| {
        GraphStore::open_with(
            FjallBackend::open(dir).must("open"),
            StoreOptions::default().durability(Durability::Strict),
        )
        .must("open")
    });
    stress(&store, "fjall");
}
