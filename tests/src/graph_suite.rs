//! The conformance suite of the graph API, written once;
//! [`graph_conformance!`](crate::graph_conformance) instantiates it for a
//! backend.

use std::ops::Bound;

use graph_core::codec;
use graph_core::{ColumnFamily as Cf, Durability, ErrorKind, ReadView, StorageBackend};
use graph_storage::{
    CompactString, Direction, EdgeId, GraphStore, NodeId, Problem, Properties, PropertyValue as V,
    Timestamp,
};

use crate::graph_model::{GOp, check_graph};
use crate::{Harness, Must};

fn props(pairs: &[(&str, V)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn kind<T: std::fmt::Debug>(r: graph_core::Result<T>) -> ErrorKind {
    match r {
        Err(e) => e.kind(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Nodes round-trip with sorted, deduplicated labels and deterministic
/// time stamps; updates bump `updated_at` only.
pub fn node_lifecycle<H: Harness>(h: &mut H) {
    let s = h.store();
    let id = s
        .create_node(&["B", "A", "B"], props(&[("x", V::Int(1))]))
        .must("create");
    let n = s.get_node(id).must("get").must_some();
    assert_eq!(n.labels, vec!["A", "B"]);
    assert_eq!(n.properties, props(&[("x", V::Int(1))]));
    assert_eq!(n.created_at, n.updated_at);
    s.set_node_property(id, "y", V::from("z")).must("set");
    s.remove_node_property(id, "x").must("remove");
    s.add_label(id, "C").must("add label");
    s.remove_label(id, "A").must("remove label");
    let m = s.get_node(id).must("get").must_some();
    assert_eq!(m.labels, vec!["B", "C"]);
    assert_eq!(m.properties, props(&[("y", V::from("z"))]));
    assert_eq!(m.created_at, n.created_at);
    assert!(m.updated_at > n.updated_at);
    assert_eq!(s.nodes_with_label("A").must("label"), vec![]);
    assert_eq!(s.nodes_with_label("C").must("label"), vec![id]);
    s.delete_node(id).must("delete");
    assert_eq!(s.get_node(id).must("get"), None);
    assert_eq!(s.node_count().must("count"), 0);
    assert!(s.verify().must("verify").is_clean());
}

/// Nodes read in place (`with_node`, `with_nodes`) are the nodes
/// `get_node` returns, for records of scalar properties (read in place)
/// and of nested ones (decoded); missing ids give `None` and `f` is not
/// called for them.
pub fn nodes_read_in_place<H: Harness>(h: &mut H) {
    let s = h.store();
    let flat = s
        .create_node(
            &["Person", "Admin"],
            props(&[
                ("name", V::from("Ada")),
                ("age", V::Int(36)),
                ("score", V::Float(-0.5)),
                ("active", V::Bool(true)),
                ("blob", V::Bytes(vec![0, 255])),
                ("seen", V::DateTime(Timestamp(7))),
                ("none", V::Null),
            ]),
        )
        .must("create");
    let nested = s
        .create_node(
            &["Doc"],
            props(&[
                ("tags", V::List(vec![V::from("a"), V::Int(1)])),
                ("embedding", V::Vector(vec![0.5, -1.0])),
                ("title", V::from("t")),
            ]),
        )
        .must("create");
    let bare = s.create_node(&[], Properties::new()).must("create");
    for id in [flat, nested, bare] {
        let n = s.get_node(id).must("get").must_some();
        let viewed = s.with_node(id, |v| {
            assert_eq!(v.id(), id);
            assert!(v.labels().eq(n.labels.iter().map(CompactString::as_str)));
            assert_eq!(v.property_count(), n.properties.len());
            for (k, value) in &n.properties {
                assert_eq!(v.property(k), Some(value.into()), "{k}");
                assert!(v.property(k).is_some_and(|p| p == *value), "{k}");
            }
            assert_eq!(v.property("zzz"), None);
            assert_eq!(v.property(""), None);
            assert!(
                v.properties()
                    .map(|(k, _)| k)
                    .eq(n.properties.keys().map(CompactString::as_str))
            );
            assert_eq!(
                (v.created_at(), v.updated_at()),
                (n.created_at, n.updated_at)
            );
            v.to_node()
        });
        assert_eq!(viewed.must("with_node"), Some(n));
    }
    let name = s.with_node(flat, |v| match v.property("name") {
        Some(graph_storage::ValueView::String(s)) => s.to_owned(),
        other => panic!("name: {other:?}"),
    });
    assert_eq!(name.must("with_node"), Some("Ada".to_owned()));
    assert!(
        s.with_node(flat, |v| v.has_label("Admin"))
            .must("with_node")
            == Some(true)
    );
    let mut called = false;
    assert_eq!(
        s.with_node(NodeId(999), |_| called = true)
            .must("with_node"),
        None
    );
    assert!(!called, "f was called for a missing node");

    let ids = [nested, NodeId(999), flat, bare, flat];
    let mut seen = Vec::new();
    s.with_nodes(&ids, |i, v| seen.push((i, v.map(|v| v.to_node()))))
        .must("with_nodes");
    let expected: Vec<_> = s
        .get_nodes(&ids)
        .must("get_nodes")
        .into_iter()
        .enumerate()
        .collect();
    assert_eq!(seen, expected);
    s.with_nodes(&[], |_, _| panic!("called for no ids"))
        .must("with_nodes");

    s.backend()
        .put(
            Cf::Nodes,
            &codec::node_key(bare),
            &[1, 0xFF, 0xFF],
            Durability::Strict,
        )
        .must("put");
    assert_eq!(kind(s.with_node(bare, |_| ())), ErrorKind::Corruption);
    assert_eq!(
        kind(s.with_nodes(&[flat, bare], |_, _| ())),
        ErrorKind::Corruption
    );
}

/// Missing ids give not-found errors and change nothing.
pub fn missing_ids_are_not_found<H: Harness>(h: &mut H) {
    let s = h.store();
    let a = s.create_node(&["A"], Properties::new()).must("create");
    let cases: Vec<(&str, ErrorKind, graph_core::Result<()>)> = vec![
        (
            "set prop",
            ErrorKind::NodeNotFound,
            s.set_node_property(NodeId(99), "k", V::Null),
        ),
        (
            "remove prop",
            ErrorKind::NodeNotFound,
            s.remove_node_property(NodeId(99), "k"),
        ),
        (
            "add label",
            ErrorKind::NodeNotFound,
            s.add_label(NodeId(99), "L"),
        ),
        (
            "delete node",
            ErrorKind::NodeNotFound,
            s.delete_node(NodeId(99)),
        ),
        (
            "detach delete",
            ErrorKind::NodeNotFound,
            s.detach_delete_node(NodeId(99)),
        ),
        (
            "edge from missing",
            ErrorKind::NodeNotFound,
            s.create_edge(NodeId(99), a, "T", Properties::new())
                .map(|_| ()),
        ),
        (
            "edge to missing",
            ErrorKind::NodeNotFound,
            s.create_edge(a, NodeId(99), "T", Properties::new())
                .map(|_| ()),
        ),
        (
            "set edge prop",
            ErrorKind::EdgeNotFound,
            s.set_edge_property(EdgeId(5), "k", V::Null),
        ),
        (
            "delete edge",
            ErrorKind::EdgeNotFound,
            s.delete_edge(EdgeId(5)),
        ),
        (
            "drop index",
            ErrorKind::IndexNotFound,
            s.drop_index("A", "k"),
        ),
        (
            "find",
            ErrorKind::IndexNotFound,
            s.find_nodes("A", "k", &V::Null).map(|_| ()),
        ),
    ];
    for (what, want, got) in cases {
        assert_eq!(kind(got), want, "{what}");
    }
    assert_eq!((s.node_count().must("n"), s.edge_count().must("e")), (1, 0));
    assert_eq!(s.degree(a, Direction::Both, None).must("degree"), 0);
    assert!(s.verify().must("verify").is_clean());
}

/// Empty labels, types and property keys are invalid and change nothing.
pub fn bad_input_is_rejected<H: Harness>(h: &mut H) {
    let s = h.store();
    let a = s.create_node(&["A"], Properties::new()).must("create");
    let mut deep = V::Null;
    for _ in 0..40 {
        deep = V::List(vec![deep]);
    }
    let cases: Vec<(&str, graph_core::Result<()>)> = vec![
        (
            "empty label",
            s.create_node(&[""], Properties::new()).map(|_| ()),
        ),
        (
            "empty key",
            s.create_node(&["A"], props(&[("", V::Null)])).map(|_| ()),
        ),
        (
            "too deep",
            s.create_node(&["A"], props(&[("d", deep.clone())]))
                .map(|_| ()),
        ),
        (
            "empty type",
            s.create_edge(a, a, "", Properties::new()).map(|_| ()),
        ),
        ("set empty key", s.set_node_property(a, "", V::Null)),
        ("add empty label", s.add_label(a, "")),
        ("index empty label", s.create_index("", "k")),
        ("index empty key", s.create_index("A", "")),
    ];
    for (what, got) in cases {
        assert_eq!(kind(got), ErrorKind::InvalidArgument, "{what}");
    }
    assert_eq!((s.node_count().must("n"), s.edge_count().must("e")), (1, 0));
    assert_eq!(s.get_node(a).must("get").must_some().labels, vec!["A"]);
    assert!(s.verify().must("verify").is_clean());
}

/// Adjacency in both directions, type filters, degrees, self-loops and
/// parallel edges; deletes keep both ends consistent.
pub fn adjacency<H: Harness>(h: &mut H) {
    let s = h.store();
    let [a, b, c] = [0, 1, 2].map(|_| s.create_node(&["N"], Properties::new()).must("create"));
    let ab = s.create_edge(a, b, "X", Properties::new()).must("edge");
    let ab2 = s
        .create_edge(a, b, "X", Properties::new())
        .must("parallel edge");
    let ac = s
        .create_edge(a, c, "Y", props(&[("w", V::Float(0.5))]))
        .must("edge");
    let aa = s
        .create_edge(a, a, "Y", Properties::new())
        .must("self-loop");
    assert_eq!(
        s.neighbors(a, Direction::Outgoing, Some("X")).must("n"),
        vec![b, b]
    );
    assert_eq!(s.degree(a, Direction::Outgoing, None).must("d"), 4);
    assert_eq!(s.degree(a, Direction::Incoming, None).must("d"), 1);
    assert_eq!(s.degree(a, Direction::Both, None).must("d"), 5);
    assert_eq!(s.degree(a, Direction::Both, Some("Y")).must("d"), 3);
    assert_eq!(s.degree(a, Direction::Both, Some("nope")).must("d"), 0);
    assert_eq!(
        s.neighbors(b, Direction::Incoming, None).must("n"),
        vec![a, a]
    );
    let out: Vec<EdgeId> = s
        .edges(a, Direction::Outgoing, None)
        .must("e")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut sorted = out.clone();
    sorted.sort();
    assert_eq!(sorted, vec![ab, ab2, ac, aa]);
    let e = s.get_edge(ac).must("get").must_some();
    assert_eq!((e.src, e.dst, e.edge_type.as_str()), (a, c, "Y"));
    assert_eq!(e.properties, props(&[("w", V::Float(0.5))]));
    assert_eq!(kind(s.delete_node(a)), ErrorKind::Constraint);
    s.delete_edge(ab).must("delete edge");
    assert_eq!(s.degree(b, Direction::Incoming, None).must("d"), 1);
    s.detach_delete_node(a).must("detach delete");
    for n in [b, c] {
        assert_eq!(s.degree(n, Direction::Both, None).must("d"), 0);
    }
    assert_eq!((s.node_count().must("n"), s.edge_count().must("e")), (2, 0));
    assert!(s.verify().must("verify").is_clean());
}

/// Property indexes: built over existing data, kept current by updates,
/// equality and range lookups in value order, dropped with their entries.
pub fn property_indexes<H: Harness>(h: &mut H) {
    let s = h.store();
    let ages = [30i64, -5, 7, 30, i64::MIN, 0];
    let ids: Vec<NodeId> = ages
        .iter()
        .map(|a| {
            s.create_node(&["P"], props(&[("age", V::Int(*a))]))
                .must("create")
        })
        .collect();
    let other = s
        .create_node(&["Q"], props(&[("age", V::Int(30))]))
        .must("create");
    s.create_index("P", "age").must("index");
    assert_eq!(kind(s.create_index("P", "age")), ErrorKind::Constraint);
    assert_eq!(
        s.find_nodes("P", "age", &V::Int(30)).must("find"),
        vec![ids[0], ids[3]]
    );
    let range = s
        .find_nodes_in_range(
            "P",
            "age",
            Bound::Included(&V::Int(-5)),
            Bound::Excluded(&V::Int(30)),
        )
        .must("range");
    assert_eq!(range, vec![ids[1], ids[5], ids[2]]);
    let all = s
        .find_nodes_in_range("P", "age", Bound::Unbounded, Bound::Unbounded)
        .must("all");
    assert_eq!(all, vec![ids[4], ids[1], ids[5], ids[2], ids[0], ids[3]]);
    s.set_node_property(ids[0], "age", V::Int(8)).must("update");
    s.remove_label(ids[3], "P").must("unlabel");
    s.add_label(other, "P").must("label");
    s.create_node(&["P"], props(&[("age", V::Int(30))]))
        .must("create after index");
    assert_eq!(s.find_nodes("P", "age", &V::Int(30)).must("find").len(), 2);
    assert_eq!(
        s.find_nodes("P", "age", &V::Int(8)).must("find"),
        vec![ids[0]]
    );
    assert_eq!(
        s.find_nodes("P", "age", &V::Float(30.0)).must("find"),
        vec![]
    );
    assert!(s.verify().must("verify").is_clean());
    assert_eq!(s.indexes().len(), 1);
    s.drop_index("P", "age").must("drop");
    assert_eq!(
        kind(s.find_nodes("P", "age", &V::Int(8))),
        ErrorKind::IndexNotFound
    );
    assert!(s.verify().must("verify").is_clean());
    assert_eq!(
        s.backend()
            .count_prefix(Cf::Indices, &[codec::index_tag::PROPERTY])
            .must("count"),
        0
    );
}

/// Indexed strings and floats order by bytes and by total order.
pub fn index_value_order<H: Harness>(h: &mut H) {
    let s = h.store();
    s.create_index("T", "v").must("index");
    let values = [
        V::from("b"),
        V::from("a\0"),
        V::from("a"),
        V::from(""),
        V::Float(-0.0),
        V::Float(-1.5),
        V::Float(2.0),
    ];
    let ids: Vec<NodeId> = values
        .iter()
        .map(|v| {
            s.create_node(&["T"], props(&[("v", v.clone())]))
                .must("create")
        })
        .collect();
    let strings = s
        .find_nodes_in_range(
            "T",
            "v",
            Bound::Included(&V::from("")),
            Bound::Included(&V::from("b")),
        )
        .must("strings");
    assert_eq!(strings, vec![ids[3], ids[2], ids[1], ids[0]]);
    let floats = s
        .find_nodes_in_range(
            "T",
            "v",
            Bound::Excluded(&V::Float(f64::NEG_INFINITY)),
            Bound::Unbounded,
        )
        .must("floats");
    assert_eq!(&floats[..3], &[ids[5], ids[4], ids[6]]);
}

/// A batch is all-or-nothing and later mutations see earlier ones.
pub fn batches_are_atomic<H: Harness>(h: &mut H) {
    let s = h.store();
    let mut b = s.batch();
    let a = b.create_node(&["A"], Properties::new()).must("reserve");
    let c = b.create_node(&["A"], Properties::new()).must("reserve");
    b.create_edge(a, c, "X", Properties::new()).must("reserve");
    b.set_node_property(c, "k", V::Int(1));
    b.commit().must("batch");
    assert_eq!(s.degree(a, Direction::Outgoing, None).must("d"), 1);
    let mut bad = s.batch();
    let d = bad.create_node(&["A"], Properties::new()).must("reserve");
    bad.create_edge(d, NodeId(999), "X", Properties::new())
        .must("reserve");
    assert_eq!(kind(bad.commit()), ErrorKind::NodeNotFound);
    assert_eq!(s.get_node(d).must("get"), None);
    assert_eq!((s.node_count().must("n"), s.edge_count().must("e")), (2, 1));
    let e = s.create_node(&["A"], Properties::new()).must("create");
    assert!(e > d, "ids are never reused, even after a failed batch");
    assert!(s.verify().must("verify").is_clean());
}

/// Ids keep growing across deletes and reopens; counts, labels, indexes
/// and adjacency survive a reopen unchanged.
pub fn reopen_keeps_everything<H: Harness>(h: &mut H) {
    let s = h.store();
    s.create_index("A", "k").must("index");
    let a = s
        .create_node(&["A"], props(&[("k", V::Int(1))]))
        .must("create");
    let b = s.create_node(&["A"], Properties::new()).must("create");
    let e = s.create_edge(a, b, "X", Properties::new()).must("edge");
    assert_eq!(kind(s.delete_node(b)), ErrorKind::Constraint);
    s.detach_delete_node(b).must("delete");
    let before = (
        s.get_node(a).must("get"),
        s.get_edge(e).must("get"),
        s.node_count().must("n"),
    );
    let s = h.reopen_store(s);
    assert_eq!(
        (
            s.get_node(a).must("get"),
            s.get_edge(e).must("get"),
            s.node_count().must("n")
        ),
        before
    );
    assert_eq!(s.find_nodes("A", "k", &V::Int(1)).must("find"), vec![a]);
    let c = s.create_node(&["A"], Properties::new()).must("create");
    let f = s.create_edge(a, c, "X", Properties::new()).must("edge");
    assert!(
        c.0 > b.0 && f.0 > e.0,
        "ids must not be reused: {c:?} {f:?}"
    );
    assert!(s.verify().must("verify").is_clean());
}

/// Garbage in a record is a corruption error on read and a problem in
/// `verify`, never a panic; dangling and missing entries are reported.
pub fn corruption_is_reported<H: Harness>(h: &mut H) {
    let s = h.store();
    let a = s.create_node(&["A"], Properties::new()).must("create");
    let b = s.create_node(&["A"], Properties::new()).must("create");
    let e = s.create_edge(a, b, "X", Properties::new()).must("edge");
    let be = s.backend();
    be.put(
        Cf::Nodes,
        &codec::node_key(b),
        &[1, 0xFF, 0xFF],
        Durability::Strict,
    )
    .must("put");
    assert_eq!(kind(s.get_node(b)), ErrorKind::Corruption);
    let report = s.verify().must("verify");
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Undecodable { .. })),
        "{report}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::DanglingEdge { .. })),
        "{report}"
    );
    be.delete(Cf::Nodes, &codec::node_key(b), Durability::Strict)
        .must("delete");
    let sym = |name: &str| {
        let v = be
            .get(Cf::Default, &codec::meta::symbol_by_name(name))
            .must("get")
            .must_some();
        codec::SymbolId(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    };
    let out = codec::AdjacencyKey::outgoing(a, sym("X"), b, e).encode();
    be.delete(Cf::Indices, &out, Durability::Strict)
        .must("delete");
    let report = s.verify().must("verify");
    assert!(
        report
            .problems
            .contains(&Problem::MissingIndexEntry { key: out.to_vec() }),
        "{report}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::ExtraIndexEntry { .. })),
        "{report}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::WrongCount { what: "nodes", .. })),
        "{report}"
    );
}

/// A backend holding foreign data, or a newer format, is refused.
pub fn foreign_or_newer_data_is_refused<H: Harness>(h: &mut H) {
    let b = h.create();
    b.put(Cf::Nodes, b"x", b"y", Durability::Strict).must("put");
    assert_eq!(
        kind(GraphStore::open(b).map(|_| ())),
        ErrorKind::IncompatibleFormat
    );
    let b = h.create();
    b.put(
        Cf::Default,
        codec::meta::FORMAT_VERSION,
        &99u32.to_be_bytes(),
        Durability::Strict,
    )
    .must("put");
    assert_eq!(
        kind(GraphStore::open(b).map(|_| ())),
        ErrorKind::IncompatibleFormat
    );
}

/// Time stamps come from the injected clock.
pub fn time_stamps_come_from_the_clock<H: Harness>(h: &mut H) {
    let s = h.store();
    let a = s.create_node(&["A"], Properties::new()).must("create");
    let t0 = s.get_node(a).must("get").must_some().created_at;
    assert!(t0 >= Timestamp(1_000) && t0 < Timestamp(1_100), "{t0:?}");
    s.set_node_property(a, "k", V::Null).must("set");
    assert_eq!(
        s.get_node(a).must("get").must_some().updated_at,
        Timestamp(t0.0 + 1)
    );
}

/// Concurrent committers are grouped into shared writes, yet each commit
/// stays all-or-nothing: failing requests leave nothing behind, the others
/// all land, and derived data stays consistent.
pub fn concurrent_commits_are_each_atomic<H: Harness>(h: &mut H) {
    let s = h.store();
    let hub = s.create_node(&["Hub"], Properties::new()).must("hub");
    let threads = 4;
    let per_thread = 60;
    let successes: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let s = &s;
                scope.spawn(move || {
                    let mut ok = 0u64;
                    for i in 0..per_thread {
                        let mut b = s.batch();
                        let n = b
                            .create_node(&["T"], props(&[("i", V::Int(i))]))
                            .must("reserve");
                        b.create_edge(n, hub, "TO", Properties::new())
                            .must("reserve");
                        if (i + t) % 5 == 0 {
                            // Doomed: the second edge points nowhere.
                            b.create_edge(n, NodeId(u64::MAX - 1), "TO", Properties::new())
                                .must("reserve");
                            assert_eq!(kind(b.commit()), ErrorKind::NodeNotFound);
                        } else {
                            b.commit().must("commit");
                            ok += 1;
                        }
                        if i % 7 == 0 {
                            s.set_node_property(hub, "last", V::Int(i))
                                .must("update hub");
                        }
                    }
                    ok
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("writer panicked")))
            .sum()
    });
    assert_eq!(s.node_count().must("n"), successes + 1);
    assert_eq!(s.edge_count().must("e"), successes);
    assert_eq!(
        s.degree(hub, Direction::Incoming, None).must("d"),
        successes
    );
    assert_eq!(
        s.nodes_with_label("T").must("label").len() as u64,
        successes
    );
    let report = s.verify().must("verify");
    assert!(report.is_clean(), "{report}");
}

/// `apply` replays creations with their own ids: an id in use is refused,
/// a claimed id is never handed out later (also after a reopen); a batch
/// refuses creations pushed with their own ids.
pub fn explicit_ids_are_checked_and_claimed<H: Harness>(h: &mut H) {
    use graph_storage::Mutation;
    let s = h.store();
    let a = s.create_node(&["A"], Properties::new()).must("create");
    let taken = Mutation::CreateNode {
        id: a,
        labels: vec!["B".into()],
        properties: Properties::new(),
    };
    assert_eq!(kind(s.apply([taken])), ErrorKind::InvalidArgument);
    assert_eq!(s.get_node(a).must("get").must_some().labels, vec!["A"]);
    let far = NodeId(1_000_000);
    s.apply([
        Mutation::CreateNode {
            id: far,
            labels: vec!["B".into()],
            properties: Properties::new(),
        },
        Mutation::CreateEdge {
            id: EdgeId(77),
            src: a,
            dst: far,
            edge_type: "X".into(),
            properties: Properties::new(),
        },
    ])
    .must("apply");
    assert!(s.create_node(&[], Properties::new()).must("create") > far);
    let s = h.reopen_store(s);
    assert!(s.create_node(&[], Properties::new()).must("create") > far);
    assert!(s.create_edge(a, far, "X", Properties::new()).must("edge") > EdgeId(77));
    let mut b = s.batch();
    b.push(Mutation::CreateNode {
        id: NodeId(5),
        labels: vec![],
        properties: Properties::new(),
    });
    assert_eq!(kind(b.commit()), ErrorKind::InvalidArgument);
    assert!(s.verify().must("verify").is_clean());
}

/// A fixed sequence through the model: deletes, batches and reopen.
pub fn scripted_model_run<H: Harness + Default>(_: &mut H) {
    use GOp::*;
    let ops = vec![
        CreateNode(vec!["A".into()], vec![("k".into(), V::Int(1))]),
        CreateNode(vec!["B".into(), "A".into()], vec![]),
        CreateIndex("A".into(), "k".into()),
        CreateEdge(0, 1, "X".into(), vec![]),
        CreateEdge(1, 1, "Y".into(), vec![]),
        DeleteNode(1, false),
        Batch(vec![
            CreateNode(vec![], vec![]),
            CreateEdge(2, 0, "X".into(), vec![]),
            DeleteNode(9, true),
        ]),
        Reopen,
        Find("A".into(), "k".into(), V::Int(1)),
        DeleteNode(1, true),
        Edges(0, graph_core::Direction::Both, None),
        Counts,
        Verify,
    ];
    check_graph(H::default(), &ops);
}

/// `Option` in tests.
pub trait MustSome<T> {
    /// The value, or a panic.
    fn must_some(self) -> T;
}

impl<T> MustSome<T> for Option<T> {
    #[track_caller]
    fn must_some(self) -> T {
        match self {
            Some(v) => v,
            None => panic!("expected a value, found None"),
        }
    }
}

/// Instantiates the graph conformance suite for a harness type.
#[macro_export]
macro_rules! graph_conformance {
    ($module:ident, $harness:ty) => {
        mod $module {
            use $crate::graph_suite as s;
            fn h() -> $harness {
                <$harness>::default()
            }
            #[test]
            fn node_lifecycle() {
                s::node_lifecycle(&mut h());
            }
            #[test]
            fn nodes_read_in_place() {
                s::nodes_read_in_place(&mut h());
            }
            #[test]
            fn missing_ids_are_not_found() {
                s::missing_ids_are_not_found(&mut h());
            }
            #[test]
            fn bad_input_is_rejected() {
                s::bad_input_is_rejected(&mut h());
            }
            #[test]
            fn adjacency() {
                s::adjacency(&mut h());
            }
            #[test]
            fn property_indexes() {
                s::property_indexes(&mut h());
            }
            #[test]
            fn index_value_order() {
                s::index_value_order(&mut h());
            }
            #[test]
            fn batches_are_atomic() {
                s::batches_are_atomic(&mut h());
            }
            #[test]
            fn reopen_keeps_everything() {
                s::reopen_keeps_everything(&mut h());
            }
            #[test]
            fn corruption_is_reported() {
                s::corruption_is_reported(&mut h());
            }
            #[test]
            fn foreign_or_newer_data_is_refused() {
                s::foreign_or_newer_data_is_refused(&mut h());
            }
            #[test]
            fn time_stamps_come_from_the_clock() {
                s::time_stamps_come_from_the_clock(&mut h());
            }
            #[test]
            fn concurrent_commits_are_each_atomic() {
                s::concurrent_commits_are_each_atomic(&mut h());
            }
            #[test]
            fn explicit_ids_are_checked_and_claimed() {
                s::explicit_ids_are_checked_and_claimed(&mut h());
            }
            #[test]
            fn scripted_model_run() {
                s::scripted_model_run(&mut h());
            }
        }
    };
}
