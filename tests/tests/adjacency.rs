//! The adjacency in RAM against the engine and the model.
//!
//! - Snapshots taken mid-stream keep answering as of their moment from
//!   their pinned adjacency, while later commits change the current one.
//! - A store whose adjacency does not fit its budget (from the start, or
//!   once commits grow it) reads from the engine and answers the same.
//! - Commits made while the adjacency is being built are not lost: the
//!   build replays them.
//! - Concurrent writers and readers: every edge a live or snapshot read
//!   from RAM returns is committed in the engine of the same view.
//!
//! The model-based tests (`graph_model.rs`) pair stores with the adjacency
//! in RAM and stores reading from the engine over random operations,
//! reopens included; the crash tests reopen stores, which rebuilds it.

use std::sync::atomic::{AtomicBool, Ordering};

use graph_core::{Direction, NodeId, Properties, PropertyValue};
use graph_storage::{AdjacencyStatus, EdgeValue, GraphStore, MemoryBackend, StoreOptions};
use proptest::prelude::*;
use tests::graph_model::{GOp, GraphModel, NODE_SPACE, apply_store, graph_op, observe_adjacency};
use tests::graph_suite::MustSome;
use tests::{Harness, Must, RocksHarness, open_store};

/// Every adjacency query over the nodes the operations name.
fn queries() -> Vec<GOp> {
    let mut q = vec![GOp::AllEdges];
    for dir in [Direction::Outgoing, Direction::Incoming, Direction::Both] {
        q.push(GOp::Degrees(dir));
        for n in 0..NODE_SPACE + 1 {
            for ty in [None, Some("X".to_owned()), Some("Z".to_owned())] {
                q.push(GOp::Edges(n, dir, ty.clone()));
                q.push(GOp::Degree(n, dir, ty));
            }
        }
    }
    q
}

fn check_snapshots(ops: &[GOp], pins: &[bool]) -> Result<(), TestCaseError> {
    let store = open_store(MemoryBackend::new());
    let ready = matches!(store.adjacency_status(), AdjacencyStatus::Ready { .. });
    prop_assert!(ready, "the store's adjacency is not in RAM");
    let mut model = GraphModel::default();
    let mut held = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        if matches!(op, GOp::Reopen) {
            continue;
        }
        let want = model.apply(op);
        let (got, _) = apply_store(&store, op);
        prop_assert_eq!(got, want, "step {}: {:?}", step, op);
        if pins.get(step).copied().unwrap_or(false) {
            let snap = store.snapshot().must("snapshot");
            prop_assert!(
                snap.adjacency().is_some(),
                "a snapshot of a ready store pins RAM"
            );
            held.push((step, snap, model.clone()));
        }
        // Every snapshot held still answers as of its moment.
        for (taken, snap, then) in &mut held {
            for q in queries() {
                let got = observe_adjacency(snap, &q);
                let want = Some(then.apply(&q));
                prop_assert_eq!(
                    got,
                    want,
                    "snapshot of step {} at step {}: {:?}",
                    taken,
                    step,
                    q
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(tests::model_test_config(48, 2))]
    /// Snapshots taken mid-stream keep their moment: each is compared with
    /// the model as it was then, after every later operation.
    #[test]
    fn snapshots_keep_the_adjacency_of_their_moment(
        ops in proptest::collection::vec(graph_op(), 1..50),
        pins in proptest::collection::vec(proptest::bool::weighted(0.2), 50),
    ) {
        check_snapshots(&ops, &pins)?;
    }
}

fn edges_of(
    store: &GraphStore<impl graph_core::StorageBackend>,
) -> Vec<graph_core::codec::SymbolId> {
    let mut types = Vec::new();
    store
        .reader()
        .for_each_edge(|e| types.push(e.edge_type))
        .must("walk");
    types
}

/// All adjacency answers of `a` and `b` agree, over nodes `0..nodes`.
fn same_answers(
    a: &GraphStore<impl graph_core::StorageBackend>,
    b: &GraphStore<impl graph_core::StorageBackend>,
    nodes: u64,
) {
    let (ra, rb) = (a.reader(), b.reader());
    for dir in [Direction::Outgoing, Direction::Incoming, Direction::Both] {
        assert_eq!(
            observe_adjacency(&ra, &GOp::Degrees(dir)),
            observe_adjacency(&rb, &GOp::Degrees(dir))
        );
        for n in 0..nodes {
            for ty in [None, Some("R".to_owned()), Some("S".to_owned())] {
                let q = GOp::Edges(n, dir, ty);
                assert_eq!(
                    observe_adjacency(&ra, &q),
                    observe_adjacency(&rb, &q),
                    "{q:?}"
                );
            }
        }
    }
    assert_eq!(
        observe_adjacency(&ra, &GOp::AllEdges),
        observe_adjacency(&rb, &GOp::AllEdges)
    );
    assert_eq!(edges_of(a).len(), edges_of(b).len());
}

/// A small graph with hubs, two types, self-loops and parallel edges.
fn populate(store: &GraphStore<impl graph_core::StorageBackend>, nodes: u64, edges: u64) {
    let mut b = store.batch();
    for _ in 0..nodes {
        b.create_node(&["N"], Properties::new()).must("node");
    }
    b.commit().must("nodes");
    let mut b = store.batch();
    for i in 0..edges {
        let src = NodeId((i * i) % nodes.min(7) + i % 3);
        let dst = NodeId((i * 7919) % nodes);
        let ty = if i % 5 == 0 { "S" } else { "R" };
        let props = Properties::from([("w", PropertyValue::Int(i as i64))]);
        b.create_edge(src, dst, ty, props).must("edge");
    }
    b.commit().must("edges");
}

/// A budget too small from the start: the store reads from the engine and
/// answers as one with its adjacency in RAM.
#[test]
fn a_store_over_its_budget_reads_from_the_engine_alike() {
    let mut h = RocksHarness::default();
    let backend = h.create();
    let options = StoreOptions::default().adjacency_budget(1);
    let small = GraphStore::open_with(backend, options).must("open");
    populate(&small, 300, 2_000);
    let small = h.reopen_store(small);
    let small = {
        let backend = small.into_backend();
        GraphStore::open_with(backend, StoreOptions::default().adjacency_budget(1)).must("open")
    };
    match small.wait_for_adjacency() {
        AdjacencyStatus::DoesNotFit { needed, budget, .. } => {
            assert!(needed > budget, "{needed} {budget}");
        }
        other => panic!("expected DoesNotFit, got {other:?}"),
    }
    assert!(small.adjacency().is_none());
    let ram = open_store(MemoryBackend::new());
    populate(&ram, 300, 2_000);
    assert!(ram.adjacency().is_some());
    same_answers(&small, &ram, 300);
    drop(small);
}

/// A budget the empty store fits but its graph outgrows: the adjacency is
/// dropped when a commit takes it over the budget, and reads go on from
/// the engine, answering the same.
#[test]
fn outgrowing_the_budget_falls_back_to_the_engine() {
    let options = StoreOptions::default().adjacency_budget(64 << 10);
    let store = GraphStore::open_with(MemoryBackend::new(), options).must("open");
    assert!(matches!(
        store.wait_for_adjacency(),
        AdjacencyStatus::Ready { .. }
    ));
    populate(&store, 100, 50);
    assert!(matches!(
        store.adjacency_status(),
        AdjacencyStatus::Ready { .. }
    ));
    let reference = open_store(MemoryBackend::new());
    populate(&reference, 100, 50);
    same_answers(&store, &reference, 100);
    populate(&store, 100, 5_000);
    populate(&reference, 100, 5_000);
    match store.adjacency_status() {
        AdjacencyStatus::DoesNotFit { needed, budget, .. } => assert!(needed > budget),
        other => panic!("expected DoesNotFit, got {other:?}"),
    }
    assert!(reference.adjacency().is_some());
    same_answers(&store, &reference, 200);
}

/// Commits racing the build of a large adjacency: the build replays
/// them, so once it is ready the adjacency holds exactly the entries of
/// `indices`. Run a few times: the build must be under way when the
/// commits start for the replay to matter (reported on stderr).
#[test]
fn commits_during_the_build_are_not_lost() {
    let mut raced = 0;
    for round in 0..3u64 {
        let store = tests::open_store_with(MemoryBackend::new(), false);
        populate(&store, 4_000, 150_000);
        let backend = store.into_backend();
        let store = GraphStore::open_with(backend, StoreOptions::default()).must("open");
        if matches!(store.adjacency_status(), AdjacencyStatus::Building { .. }) {
            raced += 1;
        }
        for i in 0..300u64 {
            let e = store
                .create_edge(NodeId(i % 7), NodeId(i + round), "S", Properties::new())
                .must("edge");
            if i % 3 == 0 {
                store.delete_edge(e).must("delete");
            }
            if i % 60 == 0 {
                store.detach_delete_node(NodeId(3_999 - i)).must("detach");
            }
        }
        assert!(matches!(
            store.wait_for_adjacency(),
            AdjacencyStatus::Ready { .. }
        ));
        same_answers_engine(&store, 4_000);
    }
    eprintln!("rounds whose commits raced the build: {raced} of 3");
}

/// The adjacency in RAM of `store` against the engine's `indices` of the
/// same store: every node's lists, read both ways.
fn same_answers_engine(store: &GraphStore<MemoryBackend>, nodes: u64) {
    use graph_core::codec::{AdjacencyKey, index_tag};
    use graph_core::{ColumnFamily, ReadView, ScanDirection, StorageBackend};
    let adj = store.adjacency().must_some();
    let snap = store.backend().snapshot();
    for (tag, dir) in [
        (index_tag::OUT, Direction::Outgoing),
        (index_tag::IN, Direction::Incoming),
    ] {
        let mut engine: Vec<(u64, u64, u64)> = Vec::new();
        snap.scan_prefix(
            ColumnFamily::Indices,
            &[tag],
            ScanDirection::Forward,
            &mut |k, _| {
                let a = AdjacencyKey::decode(k)?;
                engine.push((a.node.0, a.other.0, a.edge.0));
                Ok(std::ops::ControlFlow::Continue(()))
            },
        )
        .must("scan");
        let mut ram = Vec::new();
        for n in 0..nodes {
            for e in adj.edges(NodeId(n), dir, None) {
                let other = if dir == Direction::Outgoing {
                    e.dst
                } else {
                    e.src
                };
                ram.push((n, other.0, e.id.0));
            }
        }
        engine.sort();
        ram.sort();
        assert_eq!(ram, engine, "{dir:?}");
    }
}

/// Writers and readers at once: every edge a read from RAM returns (live
/// or on a snapshot) has its record in the engine view of the same reader,
/// and a snapshot's degrees equal its own records.
#[test]
fn reads_from_ram_only_return_committed_edges() {
    let store = open_store(MemoryBackend::new());
    populate(&store, 200, 500);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let e = store
                    .create_edge(
                        NodeId(i % 200),
                        NodeId(i * 31 % 200),
                        "R",
                        Properties::new(),
                    )
                    .must("edge");
                if i % 2 == 1 {
                    store.delete_edge(e).must("delete");
                }
                i += 1;
            }
        });
        for round in 0..300u64 {
            let snap = store.snapshot().must("snapshot");
            let node = NodeId(round % 200);
            for e in snap.edges(node, Direction::Both, None).must("edges") {
                assert!(
                    snap.get_edge(e.id).must("get").is_some(),
                    "{e:?} not in its snapshot"
                );
            }
            let total: u64 = snap
                .degrees(Direction::Outgoing)
                .must("degrees")
                .iter()
                .sum();
            assert_eq!(total, snap.edge_count().must("count"), "round {round}");
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(store.verify().must("verify").is_clean());
}

/// Every edge's projected value equals what its record holds.
fn values_match_records(store: &GraphStore<MemoryBackend>, name: &str) {
    let adj = store.adjacency().must_some();
    let values = adj.edge_values(name).must_some();
    let mut numbers = Vec::new();
    for e in store.reader().iter_edges() {
        let e = e.must("edge");
        let want = EdgeValue::of_property(e.properties.get(name));
        assert_eq!(values.get(e.id), want, "edge {}", e.id.0);
        if let EdgeValue::Number(n) = want {
            numbers.push((e.id, n));
        }
    }
    assert_eq!(values.numbers().collect::<Vec<_>>(), numbers);
}

/// A projected edge property follows every kind of commit that changes
/// edges, a version pinned before keeps its values, and a projection is
/// refused where it cannot be held.
#[test]
fn projected_edge_values_follow_commits() {
    use graph_core::EdgeId;
    let store = open_store(MemoryBackend::new());
    populate(&store, 50, 300);
    store.project_edge_property("w").must("project");
    values_match_records(&store, "w");
    let pinned = store.adjacency().must_some();
    store
        .set_edge_property(EdgeId(0), "w", PropertyValue::Float(2.5))
        .must("set");
    store
        .set_edge_property(EdgeId(1), "w", PropertyValue::from("x"))
        .must("set");
    store.remove_edge_property(EdgeId(2), "w").must("remove");
    store.delete_edge(EdgeId(3)).must("delete");
    store.detach_delete_node(NodeId(1)).must("detach");
    let mut b = store.batch();
    b.create_edge(
        NodeId(5),
        NodeId(6),
        "R",
        Properties::from([("w", PropertyValue::Int(-4))]),
    )
    .must("edge");
    b.create_edge(NodeId(5), NodeId(7), "R", Properties::new())
        .must("edge");
    b.commit().must("batch");
    values_match_records(&store, "w");
    let old = pinned.edge_values("w").must_some();
    assert_eq!(old.get(EdgeId(0)), EdgeValue::Number(0.0));
    assert_eq!(old.get(EdgeId(1)), EdgeValue::Number(1.0));
    assert_eq!(old.get(EdgeId(3)), EdgeValue::Number(3.0));
    drop(pinned);
    assert!(store.drop_edge_projection("w"));
    assert!(store.adjacency().must_some().edge_values("w").is_none());

    let off = GraphStore::open_with(
        MemoryBackend::new(),
        StoreOptions::default().adjacency(false),
    )
    .must("open");
    let refused = off.project_edge_property("w").err().map(|e| e.kind());
    assert_eq!(
        refused,
        Some(graph_core::ErrorKind::InvalidArgument),
        "no adjacency"
    );

    let tight = GraphStore::open_with(
        MemoryBackend::new(),
        StoreOptions::default().adjacency_budget(40 << 10),
    )
    .must("open");
    tight.wait_for_adjacency();
    populate(&tight, 10, 20);
    let refused = tight.project_edge_property("w").err().map(|e| e.kind());
    assert_eq!(
        refused,
        Some(graph_core::ErrorKind::InvalidArgument),
        "over the budget"
    );
    assert!(matches!(
        tight.adjacency_status(),
        AdjacencyStatus::Ready { .. }
    ));
}
