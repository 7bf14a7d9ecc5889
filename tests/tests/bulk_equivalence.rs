//! A graph loaded in bulk is identical, byte for byte in every column
//! family (records, label, property-index and adjacency entries, symbols,
//! counts, id leases, external ids, metadata), to the same graph loaded
//! through normal batches: property tests over random graphs with colliding
//! labels, keys and values, on the memory sink and on RocksDB's; and the
//! bulk store behaves as a store afterwards (verify, queries, new writes).
//!
//! Cases: 128 on memory, 24 on RocksDB by default; `PROPTEST_CASES` raises
//! both.

use std::sync::Arc;

use graph_storage::bulk::{BulkLoader, BulkOptions};
use graph_storage::{
    BulkSink, ColumnFamily, Direction, GraphStore, KeyRange, ManualClock, MemoryBackend, NodeId,
    Properties, PropertyValue as V, ReadView, ScanDirection, StorageBackend, StoreOptions,
};
use proptest::prelude::*;

/// One step of a load: nodes, edges between nodes created before, and
/// external-id mappings.
#[derive(Debug, Clone)]
enum Step {
    Node {
        labels: Vec<&'static str>,
        props: Vec<(&'static str, V)>,
    },
    /// Endpoints as indexes into the nodes created so far (modulo).
    Edge {
        src: usize,
        dst: usize,
        ty: &'static str,
        props: Vec<(&'static str, V)>,
    },
    Map {
        space: &'static str,
        external: String,
        node: usize,
    },
    /// Ends the current batch (normal path only).
    Commit,
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        Just(V::Null),
        any::<bool>().prop_map(V::Bool),
        (-3i64..3).prop_map(V::Int),
        any::<i64>().prop_map(V::Int),
        prop_oneof![Just(0.0), Just(-0.0), Just(1.5), Just(f64::INFINITY)].prop_map(V::Float),
        "[ab]{0,3}".prop_map(|s| V::String(s.into())),
        proptest::collection::vec(0u8..3, 0..3).prop_map(V::Bytes),
        proptest::collection::vec((-2i64..2).prop_map(V::Int), 0..3).prop_map(V::List),
    ]
}

fn props() -> impl Strategy<Value = Vec<(&'static str, V)>> {
    proptest::collection::vec(
        (prop::sample::select(vec!["k", "name", "w"]), value()),
        0..4,
    )
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            proptest::collection::vec(prop::sample::select(vec!["A", "B", "C", "AB"]), 0..3),
            props()
        )
            .prop_map(|(labels, props)| Step::Node { labels, props }),
        5 => (any::<usize>(), any::<usize>(), prop::sample::select(vec!["T", "U", "T2"]), props())
            .prop_map(|(src, dst, ty, props)| Step::Edge { src, dst, ty, props }),
        2 => (prop::sample::select(vec!["", "S", "S\u{e9}"]), "[xy]{0,2}", any::<usize>())
            .prop_map(|(space, external, node)| Step::Map { space, external, node }),
        1 => Just(Step::Commit),
    ]
}

fn to_props(p: &[(&'static str, V)]) -> Properties {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

const INDEXES: [(&str, &str); 3] = [("A", "k"), ("B", "name"), ("A", "w")];

fn options() -> StoreOptions {
    StoreOptions::default().clock(Arc::new(ManualClock::new(1_764_000_000_000_000, 7)))
}

/// The steps through normal batches on a memory store.
fn batched(steps: &[Step]) -> GraphStore<MemoryBackend> {
    let store = match GraphStore::open_with(MemoryBackend::new(), options()) {
        Ok(s) => s,
        Err(e) => panic!("open: {e}"),
    };
    for (l, p) in INDEXES {
        if let Err(e) = store.create_index(l, p) {
            panic!("create_index: {e}");
        }
    }
    let mut nodes: Vec<NodeId> = Vec::new();
    let mut batch = store.batch();
    for s in steps {
        match s {
            Step::Node { labels, props } => match batch.create_node(labels, to_props(props)) {
                Ok(id) => nodes.push(id),
                Err(e) => panic!("create_node: {e}"),
            },
            Step::Edge {
                src,
                dst,
                ty,
                props,
            } if !nodes.is_empty() => {
                let (s, d) = (nodes[src % nodes.len()], nodes[dst % nodes.len()]);
                if let Err(e) = batch.create_edge(s, d, ty, to_props(props)) {
                    panic!("create_edge: {e}");
                }
            }
            Step::Map {
                space,
                external,
                node,
            } if !nodes.is_empty() => {
                batch.map_external_id(space, external, nodes[node % nodes.len()]);
            }
            Step::Commit => {
                let done = std::mem::replace(&mut batch, store.batch());
                if let Err(e) = done.commit() {
                    panic!("commit: {e}");
                }
            }
            _ => {}
        }
    }
    if let Err(e) = batch.commit() {
        panic!("commit: {e}");
    }
    store
}

/// The same steps through a bulk loader into `sink`.
fn bulk<S: BulkSink>(
    sink: S,
    steps: &[Step],
    spill: &std::path::Path,
) -> graph_storage::Result<S::Backend> {
    let mut opts = BulkOptions::new(spill)
        .clock(Arc::new(ManualClock::new(1_764_000_000_000_000, 7)))
        .memory_budget(1 << 20);
    for (l, p) in INDEXES {
        opts = opts.index(l, p);
    }
    let mut loader = BulkLoader::new(sink, opts)?;
    let mut nodes: Vec<NodeId> = Vec::new();
    for s in steps {
        match s {
            Step::Node { labels, props } => nodes.push(loader.add_node(labels, &to_props(props))?),
            Step::Edge {
                src,
                dst,
                ty,
                props,
            } if !nodes.is_empty() => {
                let (s, d) = (nodes[src % nodes.len()], nodes[dst % nodes.len()]);
                loader.add_edge(s, d, ty, &to_props(props))?;
            }
            Step::Map {
                space,
                external,
                node,
            } if !nodes.is_empty() => {
                loader.map_external_id(space, external, nodes[node % nodes.len()])?;
            }
            _ => {}
        }
    }
    Ok(loader.finish(&mut |_| {})?.0)
}

type Dump = Vec<(ColumnFamily, Vec<(Vec<u8>, Vec<u8>)>)>;

fn dump(view: &impl ReadView) -> Dump {
    ColumnFamily::ALL
        .iter()
        .map(
            |&cf| match view.collect_range(cf, KeyRange::all(), ScanDirection::Forward, None) {
                Ok(entries) => (cf, entries),
                Err(e) => panic!("scan {cf}: {e}"),
            },
        )
        .collect()
}

/// The bulk store is a working store: it verifies, answers like the
/// batched one, and takes new writes with fresh ids.
fn works_like<B: StorageBackend + 'static>(
    bulk: B,
    batched: &GraphStore<MemoryBackend>,
) -> graph_storage::Result<()> {
    let store = GraphStore::open_with(bulk, options())?;
    let report = store.verify()?;
    assert!(report.is_clean(), "{report}");
    assert_eq!(store.node_count()?, batched.node_count()?);
    assert_eq!(store.edge_count()?, batched.edge_count()?);
    for id in batched.reader().node_ids()? {
        assert_eq!(
            store.neighbors(id, Direction::Both, None)?,
            batched.neighbors(id, Direction::Both, None)?
        );
    }
    assert_eq!(
        store.find_nodes("A", "k", &V::Int(0))?,
        batched.find_nodes("A", "k", &V::Int(0))?
    );
    assert_eq!(store.nodes_with_label("B")?, batched.nodes_with_label("B")?);
    let n = store.create_node(&["A", "New"], to_props(&[("k", V::Int(0))]))?;
    assert!(batched.reader().node_ids()?.iter().all(|&old| old < n));
    store.create_edge(n, n, "T", Properties::new())?;
    assert!(store.verify()?.is_clean());
    Ok(())
}

fn spill_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(128, 1))]
    #[test]
    fn bulk_into_memory_equals_batches(steps in proptest::collection::vec(step(), 0..120)) {
        let spill = spill_dir();
        let want = batched(&steps);
        let got = match bulk(MemoryBackend::bulk_sink(), &steps, spill.path()) {
            Ok(b) => b,
            Err(e) => panic!("bulk: {e}"),
        };
        prop_assert_eq!(dump(&got), dump(want.backend()));
        if let Err(e) = works_like(got, &want) {
            panic!("bulk store: {e}");
        }
        // The spill directory is left empty.
        prop_assert_eq!(std::fs::read_dir(spill.path()).map(|d| d.count()).unwrap_or(0), 0);
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(24, 5))]
    #[test]
    fn bulk_into_rocksdb_equals_batches(steps in proptest::collection::vec(step(), 0..150)) {
        let dir = tests::test_dir();
        let path = dir.path().join("bulk");
        let want = batched(&steps);
        let sink = match graph_storage::RocksDbBackend::bulk_create(&path, &graph_storage::RocksDbConfig::default()) {
            Ok(s) => s,
            Err(e) => panic!("bulk_create: {e}"),
        };
        let got = match bulk(sink, &steps, dir.path()) {
            Ok(b) => b,
            Err(e) => panic!("bulk: {e}"),
        };
        prop_assert_eq!(dump(&got), dump(want.backend()));
        if let Err(e) = works_like(got, &want) {
            panic!("bulk store: {e}");
        }
    }
}

#[test]
fn bulk_rejects_bad_input_like_the_normal_path() -> graph_storage::Result<()> {
    let spill = spill_dir();
    let mut loader = BulkLoader::new(MemoryBackend::bulk_sink(), BulkOptions::new(spill.path()))?;
    let a = loader.add_node(&["A"], &Properties::new())?;
    assert!(matches!(
        loader.add_node(&[""], &Properties::new()),
        Err(graph_storage::Error::InvalidArgument(_))
    ));
    assert!(matches!(
        loader.add_edge(a, NodeId(5), "T", &Properties::new()),
        Err(graph_storage::Error::NodeNotFound(NodeId(5)))
    ));
    assert!(loader.add_edge(a, a, "", &Properties::new()).is_err());
    assert!(loader.map_external_id("a\0b", "x", a).is_err());
    assert!(loader.map_external_id("", "x", NodeId(9)).is_err());
    // The loader still works after refused input, and a dropped loader
    // leaves nothing behind.
    loader.add_edge(a, a, "T", &Properties::new())?;
    drop(loader);
    assert_eq!(
        std::fs::read_dir(spill.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    Ok(())
}
