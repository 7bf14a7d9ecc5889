//! The harness workload at a small size, loaded in bulk (into memory and
//! into RocksDB) and through the normal batches the harness uses: every
//! column family is identical byte for byte.

use std::sync::Arc;

use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, Workload};
use graph_storage::bulk::{BulkLoader, BulkOptions};
use graph_storage::{
    BulkSink, ColumnFamily, GraphStore, KeyRange, ManualClock, MemoryBackend, NodeId, ReadView,
    RocksDbBackend, RocksDbConfig, ScanDirection, StoreOptions,
};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(1_764_000_000_000_000, 11))
}

/// Every entry of every column family.
type Dump = Vec<Vec<(Vec<u8>, Vec<u8>)>>;

fn dump(view: &impl ReadView) -> BoxResult<Dump> {
    let mut out = Vec::new();
    for cf in ColumnFamily::ALL {
        out.push(view.collect_range(cf, KeyRange::all(), ScanDirection::Forward, None)?);
    }
    Ok(out)
}

fn bulk<S: BulkSink>(sink: S, w: &Workload, spill: &std::path::Path) -> BoxResult<S::Backend> {
    let opts = BulkOptions::new(spill)
        .clock(clock())
        .memory_budget(1 << 20)
        .index("Person", "age");
    let mut loader = BulkLoader::new(sink, opts)?;
    for i in 0..w.nodes {
        let s = w.node(i);
        loader.add_node(&[s.label()], &s.properties())?;
    }
    for i in 0..w.edges {
        let s = w.edge(i);
        loader.add_edge(NodeId(s.src), NodeId(s.dst), s.edge_type(), &s.properties())?;
    }
    Ok(loader.finish(&mut |_| {})?.0)
}

#[test]
fn the_harness_graph_loads_identically_in_bulk_and_in_batches() -> BoxResult<()> {
    let w = Workload::new(3_000, 15_000, DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT)?;
    let batched =
        GraphStore::open_with(MemoryBackend::new(), StoreOptions::default().clock(clock()))?;
    batched.create_index("Person", "age")?;
    let mut ids = Vec::new();
    for start in (0..w.nodes).step_by(1000) {
        let mut b = batched.batch();
        for i in start..(start + 1000).min(w.nodes) {
            let s = w.node(i);
            ids.push(b.create_node(&[s.label()], s.properties())?);
        }
        b.commit()?;
    }
    for start in (0..w.edges).step_by(1000) {
        let mut b = batched.batch();
        for i in start..(start + 1000).min(w.edges) {
            let s = w.edge(i);
            b.create_edge(
                ids[s.src as usize],
                ids[s.dst as usize],
                s.edge_type(),
                s.properties(),
            )?;
        }
        b.commit()?;
    }
    let want = dump(batched.backend())?;

    let dir = tempfile::tempdir()?;
    let memory = bulk(MemoryBackend::bulk_sink(), &w, dir.path())?;
    assert!(dump(&memory)? == want, "memory bulk load differs");
    let path = dir.path().join("store");
    let rocks = bulk(
        RocksDbBackend::bulk_create(&path, &RocksDbConfig::default())?,
        &w,
        dir.path(),
    )?;
    assert!(dump(&rocks)? == want, "RocksDB bulk load differs");
    let store = GraphStore::open(rocks)?;
    assert!(store.verify()?.is_clean());
    store.into_backend().close()?;
    Ok(())
}
