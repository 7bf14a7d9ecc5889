//! `GraphStore::repair`: derived entries, counts and id counters damaged
//! through the raw backend are rebuilt from the records, on every backend.

use std::collections::BTreeMap;

use graph_core::codec::{self, AdjacencyKey, index_tag, meta};
use graph_core::{
    ColumnFamily as Cf, Durability, KeyRange, ReadView, ScanDirection, StorageBackend, WriteBatch,
};
use graph_storage::{
    Direction, Edge, EdgeId, EdgeRef, GraphStore, Node, NodeId, Problem, Properties,
    PropertyValue as V, RepairReport,
};
use tests::graph_suite::MustSome;
use tests::{FjallHarness, Harness, MemoryHarness, Must, RocksHarness};

const LABELS: [&str; 3] = ["Person", "City", "Tag"];

fn props(pairs: &[(&str, V)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A graph with labels, two property indexes (one declared before the
/// nodes, one after), self-loops, parallel edges and some history
/// (deletions, label and property changes).
fn build<B: StorageBackend>(s: &GraphStore<B>) {
    s.create_index("Person", "age").must("index");
    let mut nodes = Vec::new();
    for i in 0..40i64 {
        let labels: &[&str] = match i % 4 {
            0 => &["Person"],
            1 => &["City"],
            2 => &["Person", "Tag"],
            _ => &[],
        };
        let p = props(&[
            ("age", V::Int(20 + i % 7)),
            ("name", V::from(format!("n{}", i % 5).as_str())),
        ]);
        nodes.push(s.create_node(labels, p).must("node"));
    }
    s.create_index("City", "name").must("index");
    for w in nodes.windows(2) {
        s.create_edge(w[0], w[1], "KNOWS", Properties::new())
            .must("edge");
    }
    for &n in nodes.iter().step_by(5) {
        s.create_edge(n, n, "SELF", props(&[("w", V::Int(1))]))
            .must("loop");
    }
    for _ in 0..3 {
        s.create_edge(nodes[3], nodes[8], "KNOWS", Properties::new())
            .must("parallel");
    }
    s.create_edge(nodes[8], nodes[3], "LIKES", Properties::new())
        .must("back");
    s.detach_delete_node(nodes[10]).must("detach");
    s.remove_label(nodes[4], "Person").must("remove label");
    s.add_label(nodes[7], "City").must("add label");
    s.set_node_property(nodes[12], "age", V::Int(99))
        .must("set");
    s.remove_node_property(nodes[16], "age").must("remove");
}

/// Everything a user can read of the graph.
#[derive(Debug, PartialEq)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    adjacency: BTreeMap<(NodeId, u8), Vec<EdgeRef>>,
    neighbours: BTreeMap<NodeId, Vec<NodeId>>,
    degrees: BTreeMap<NodeId, u64>,
    labels: BTreeMap<&'static str, Vec<NodeId>>,
    finds: BTreeMap<String, Vec<NodeId>>,
    counts: (u64, u64),
}

fn graph<B: StorageBackend>(s: &GraphStore<B>) -> Graph {
    let r = s.reader();
    let nodes: Vec<Node> = r
        .node_ids()
        .must("ids")
        .into_iter()
        .map(|id| s.get_node(id).must("node").must_some())
        .collect();
    let edges = r
        .edge_ids()
        .must("ids")
        .into_iter()
        .map(|id| s.get_edge(id).must("edge").must_some())
        .collect();
    let mut adjacency = BTreeMap::new();
    let mut neighbours = BTreeMap::new();
    let mut degrees = BTreeMap::new();
    for n in &nodes {
        for (i, dir) in [Direction::Outgoing, Direction::Incoming, Direction::Both]
            .into_iter()
            .enumerate()
        {
            adjacency.insert((n.id, i as u8), s.edges(n.id, dir, None).must("edges"));
        }
        neighbours.insert(
            n.id,
            s.neighbors(n.id, Direction::Both, Some("KNOWS"))
                .must("neighbours"),
        );
        degrees.insert(n.id, s.degree(n.id, Direction::Both, None).must("degree"));
    }
    let labels = LABELS
        .into_iter()
        .map(|l| (l, s.nodes_with_label(l).must("label")))
        .collect();
    let mut finds = BTreeMap::new();
    for a in 18..28 {
        let v = V::Int(a);
        finds.insert(
            format!("age={a}"),
            s.find_nodes("Person", "age", &v).must("find"),
        );
    }
    finds.insert(
        "age=99".into(),
        s.find_nodes("Person", "age", &V::Int(99)).must("find"),
    );
    for i in 0..6 {
        let v = V::from(format!("n{i}").as_str());
        finds.insert(
            format!("name=n{i}"),
            s.find_nodes("City", "name", &v).must("find"),
        );
    }
    Graph {
        nodes,
        edges,
        adjacency,
        neighbours,
        degrees,
        labels,
        finds,
        counts: (s.node_count().must("count"), s.edge_count().must("count")),
    }
}

fn index_keys(view: &impl ReadView) -> Vec<Vec<u8>> {
    view.collect_range(Cf::Indices, KeyRange::all(), ScanDirection::Forward, None)
        .must("scan")
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// The bytes of a `u64` counter as stored.
fn u64_value(v: u64) -> Vec<u8> {
    codec::encode_u64_value(v).to_vec()
}

/// Replaces the trailing node id of a label or property-index key.
fn with_node(key: &[u8], node: u64) -> Vec<u8> {
    let mut k = key[..key.len() - 8].to_vec();
    k.extend_from_slice(&u64_value(node));
    k
}

/// What `damage` did, to compare with the repair report.
#[derive(Debug, Default)]
struct Damage {
    deleted: [u64; 3],
    bogus: [u64; 4],
}

fn kind_of(key: &[u8]) -> usize {
    match key[0] {
        index_tag::OUT | index_tag::IN => 0,
        index_tag::LABEL => 1,
        _ => 2,
    }
}

/// Deletes every third index entry of each kind (adjacency of self-loops
/// and parallel edges among them), adds entries of records that do not
/// exist and a garbage key, puts a value on a valid entry, and corrupts
/// the counts and lowers the id counters, all in one raw write.
fn damage<B: StorageBackend>(s: &GraphStore<B>, counters: bool) -> Damage {
    let keys = index_keys(s.backend());
    let mut d = Damage::default();
    let mut b = WriteBatch::new();
    let mut seen = [0usize; 3];
    let mut value_put = false;
    for k in &keys {
        let kind = kind_of(k);
        seen[kind] += 1;
        if seen[kind] % 3 == 0 {
            b.delete(Cf::Indices, k);
            d.deleted[kind] += 1;
        } else if !value_put {
            b.put(Cf::Indices, k, b"junk");
            value_put = true;
        }
    }
    // Entries no record calls for: one of each kind, and garbage.
    let adj = keys.iter().find(|k| kind_of(k) == 0).must_some();
    let a = AdjacencyKey::decode(adj).must("decode");
    let bogus_adj = AdjacencyKey::outgoing(a.node, a.edge_type, a.other, EdgeId(777_777));
    b.put(Cf::Indices, &bogus_adj.encode(), &[]);
    let label = keys.iter().find(|k| kind_of(k) == 1).must_some();
    b.put(Cf::Indices, &with_node(label, 888_888), &[]);
    let property = keys.iter().find(|k| kind_of(k) == 2).must_some();
    b.put(Cf::Indices, &with_node(property, 999_999), &[]);
    b.put(Cf::Indices, &[0x09, 1, 2, 3], &[]);
    d.bogus = [1, 1, 1, 1];
    // Counts: one wrong, one undecodable (only while the store is open:
    // opening reads them).
    b.put(Cf::Default, meta::NODE_COUNT, &u64_value(3));
    if counters {
        b.put(Cf::Default, meta::EDGE_COUNT, &[1, 2, 3]);
    }
    // Id counters below ids in use.
    b.put(Cf::Default, meta::NEXT_NODE_ID, &u64_value(1));
    b.put(Cf::Default, meta::NEXT_EDGE_ID, &u64_value(0));
    b.put(
        Cf::Default,
        meta::NEXT_INDEX_ID,
        &codec::encode_u32_value(0),
    );
    s.backend().write(&b, Durability::Strict).must("damage");
    d
}

fn has(report: &graph_storage::VerifyReport, f: impl Fn(&Problem) -> bool) -> bool {
    report.problems.iter().any(f)
}

fn check_repaired(report: &RepairReport, d: &Damage) {
    assert!(report.is_clean(), "{report}");
    assert!(report.unfixed.is_empty(), "{report}");
    assert_eq!(
        [
            report.added.adjacency,
            report.added.label,
            report.added.property
        ],
        d.deleted,
        "{report}"
    );
    assert_eq!(report.added.other, 0);
    assert_eq!(
        [
            report.removed.adjacency,
            report.removed.label,
            report.removed.property,
            report.removed.other
        ],
        d.bogus,
        "{report}"
    );
    assert_eq!(report.values_cleared, 1, "{report}");
    let whats = |fixes: &[graph_storage::CounterFix]| -> Vec<&str> {
        fixes.iter().map(|c| c.what).collect()
    };
    assert!(whats(&report.counts).contains(&"nodes"), "{report}");
    for what in ["node", "edge", "index"] {
        assert!(
            whats(&report.id_counters).contains(&what),
            "{what}: {report}"
        );
    }
}

/// Damage, verify sees it, repair, verify is clean and the graph is the
/// original; new ids do not collide; a second repair changes nothing.
fn repair_rebuilds_derived_data<H: Harness>(mut h: H) {
    let s = h.store();
    build(&s);
    assert!(s.verify().must("verify").is_clean());
    let original = graph(&s);
    let original_keys = index_keys(s.backend());

    let d = damage(&s, true);
    let report = s.verify().must("verify");
    assert!(
        has(&report, |p| matches!(p, Problem::MissingIndexEntry { .. })),
        "{report}"
    );
    assert!(
        has(&report, |p| matches!(p, Problem::ExtraIndexEntry { .. })),
        "{report}"
    );
    assert!(
        has(&report, |p| matches!(
            p,
            Problem::WrongCount { what: "nodes", .. }
        )),
        "{report}"
    );
    assert!(
        has(
            &report,
            |p| matches!(p, Problem::Undecodable { cf: Cf::Default, key, .. } if key == meta::EDGE_COUNT)
        ),
        "{report}"
    );
    for what in ["node", "edge", "index"] {
        assert!(
            has(
                &report,
                |p| matches!(p, Problem::IdCounterBehind { what: w, .. } if *w == what)
            ),
            "{what}: {report}"
        );
    }
    assert!(
        has(&report, |p| matches!(
            p,
            Problem::Undecodable {
                cf: Cf::Indices,
                ..
            }
        )),
        "the value on an index key: {report}"
    );

    let repaired = s.repair().must("repair");
    eprintln!("{repaired}");
    check_repaired(&repaired, &d);
    assert_eq!(repaired.counts.len(), 2, "{repaired}");
    assert!(s.verify().must("verify").is_clean());
    assert_eq!(index_keys(s.backend()), original_keys);
    assert_eq!(graph(&s), original);

    // Repair again: nothing left to do.
    let again = s.repair().must("repair again");
    assert!(!again.changed(), "{again}");
    assert!(again.is_clean());

    // New ids are above every id in use, and old records stay untouched.
    let max_node = original.nodes.iter().map(|n| n.id).max().must_some();
    let max_edge = original.edges.iter().map(|e| e.id).max().must_some();
    let n = s
        .create_node(&["Person"], props(&[("age", V::Int(21))]))
        .must("new node");
    let e = s
        .create_edge(n, max_node, "KNOWS", Properties::new())
        .must("new edge");
    assert!(n > max_node && e > max_edge, "{n:?} {e:?}");
    for old in &original.nodes {
        assert_eq!(s.get_node(old.id).must("get").as_ref(), Some(old));
    }
    for old in &original.edges {
        assert_eq!(s.get_edge(old.id).must("get").as_ref(), Some(old));
    }
    assert_eq!(s.node_count().must("count"), original.counts.0 + 1);
    assert_eq!(s.edge_count().must("count"), original.counts.1 + 1);
    assert!(s.verify().must("verify").is_clean());

    // And after reopening, from the repaired counters.
    let s = h.reopen_store(s);
    let m = s.create_node(&["City"], Properties::new()).must("node");
    let f = s.create_edge(m, n, "KNOWS", Properties::new()).must("edge");
    assert!(m > n && f > e, "{m:?} {f:?}");
    assert!(s.verify().must("verify").is_clean());
    let indexes_before = s.indexes().len();
    s.create_index("Tag", "name")
        .must("a new index gets a new id");
    assert_eq!(s.indexes().len(), indexes_before + 1);
    assert!(s.verify().must("verify").is_clean());
}

/// A store reopened with its id counters damaged starts its allocators
/// below ids in use: repair must raise them in memory as well.
fn repair_after_reopening_with_low_counters<H: Harness>(mut h: H) {
    let s = h.store();
    build(&s);
    let original = graph(&s);
    let d = damage(&s, false);
    let s = h.reopen_store(s);
    let report = s.verify().must("verify");
    assert!(!report.is_clean());

    let repaired = s.repair().must("repair");
    check_repaired(&repaired, &d);
    assert_eq!(graph(&s), original);

    let max_node = original.nodes.iter().map(|n| n.id).max().must_some();
    let max_edge = original.edges.iter().map(|e| e.id).max().must_some();
    for _ in 0..5 {
        let n = s.create_node(&["Tag"], Properties::new()).must("node");
        let e = s.create_edge(n, n, "SELF", Properties::new()).must("edge");
        assert!(n > max_node && e > max_edge, "{n:?} {e:?}");
    }
    s.create_index("Tag", "w").must("index");
    for old in &original.nodes {
        assert_eq!(s.get_node(old.id).must("get").as_ref(), Some(old));
    }
    assert!(s.verify().must("verify").is_clean());
    let s = h.reopen_store(s);
    assert!(s.verify().must("verify").is_clean());
    let n = s.create_node(&[], Properties::new()).must("node");
    assert!(n.0 > max_node.0 + 5, "{n:?}");
}

/// What the records cannot tell is reported and left alone: an
/// undecodable edge keeps its adjacency entries, a dangling edge is
/// listed; everything else is still repaired.
fn repair_reports_what_it_cannot_fix<H: Harness>(mut h: H) {
    let s = h.store();
    let a = s.create_node(&["Person"], Properties::new()).must("node");
    let b = s.create_node(&["Person"], Properties::new()).must("node");
    let c = s.create_node(&["Person"], Properties::new()).must("node");
    let broken = s.create_edge(a, b, "KNOWS", Properties::new()).must("edge");
    let dangling = s.create_edge(b, c, "KNOWS", Properties::new()).must("edge");
    let be = s.backend();
    let adjacency_of = |e: EdgeId| -> Vec<Vec<u8>> {
        index_keys(be)
            .into_iter()
            .filter(|k| AdjacencyKey::decode(k).is_ok_and(|a| a.edge == e))
            .collect()
    };
    let broken_entries = adjacency_of(broken);
    assert_eq!(broken_entries.len(), 2);
    let mut batch = WriteBatch::new();
    batch.put(Cf::Edges, &codec::edge_key(broken), &[1, 0xFF, 0xFF]);
    // Node c's record vanishes, its label entry stays: `dangling` dangles.
    batch.delete(Cf::Nodes, &codec::node_key(c));
    // And some derived damage repair can fix.
    let label_a = index_keys(be)
        .into_iter()
        .find(|k| codec::decode_label_key(k).is_ok_and(|(_, n)| n == a))
        .must_some();
    batch.delete(Cf::Indices, &label_a);
    be.write(&batch, Durability::Strict).must("damage");

    let report = s.repair().must("repair");
    assert!(!report.is_clean(), "{report}");
    assert_eq!(report.added.label, 1, "{report}");
    // c's label entry is removed; the broken edge's two entries are kept.
    assert_eq!(report.removed.label, 1, "{report}");
    assert_eq!(report.removed.adjacency, 0, "{report}");
    assert_eq!(adjacency_of(broken), broken_entries);
    let unfixed = &report.unfixed;
    assert!(
        unfixed
            .iter()
            .any(|p| matches!(p, Problem::Undecodable { cf: Cf::Edges, .. })),
        "{report}"
    );
    assert!(
        unfixed
            .iter()
            .any(|p| matches!(p, Problem::DanglingEdge { edge, missing } if *edge == dangling && *missing == c)),
        "{report}"
    );
    assert_eq!(
        unfixed
            .iter()
            .filter(|p| matches!(p, Problem::ExtraIndexEntry { .. }))
            .count(),
        2,
        "the kept entries are listed: {report}"
    );
    // What remains is exactly what was not fixed.
    assert_eq!(report.after.problems.len(), unfixed.len(), "{report}");
    assert_eq!(s.nodes_with_label("Person").must("label"), vec![a, b]);
    assert_eq!(s.node_count().must("count"), 2);
}

/// A clean store: repair writes nothing and keeps ids monotonic.
fn repair_of_a_clean_store_changes_nothing<H: Harness>(mut h: H) {
    let s = h.store();
    build(&s);
    let before = graph(&s);
    let keys = index_keys(s.backend());
    let report = s.repair().must("repair");
    assert!(!report.changed(), "{report}");
    assert!(report.is_clean() && report.unfixed.is_empty());
    assert_eq!(report.nodes, before.counts.0);
    assert_eq!(report.edges, before.counts.1);
    assert_eq!(graph(&s), before);
    assert_eq!(index_keys(s.backend()), keys);
    let empty = h.store();
    let report = empty.repair().must("repair an empty store");
    assert!(!report.changed() && report.is_clean(), "{report}");
}

macro_rules! per_backend {
    ($module:ident, $harness:ty) => {
        mod $module {
            use super::*;

            #[test]
            fn repair_rebuilds_derived_data() {
                super::repair_rebuilds_derived_data(<$harness>::default());
            }

            #[test]
            fn repair_after_reopening_with_low_counters() {
                super::repair_after_reopening_with_low_counters(<$harness>::default());
            }

            #[test]
            fn repair_reports_what_it_cannot_fix() {
                super::repair_reports_what_it_cannot_fix(<$harness>::default());
            }

            #[test]
            fn repair_of_a_clean_store_changes_nothing() {
                super::repair_of_a_clean_store_changes_nothing(<$harness>::default());
            }
        }
    };
}

per_backend!(memory, MemoryHarness);
per_backend!(rocksdb, RocksHarness);
per_backend!(fjall, FjallHarness);
