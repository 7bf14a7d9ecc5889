//! The raw `StorageBackend` operations under the graph layer, on the
//! memory and the RocksDB backend (`Durability::Background`), so the cost
//! of the graph layer is visible next to `writes` and `reads`:
//!
//! * `raw_put`: one key-value pair (a node record's size);
//! * `raw_write_node`: one write batch holding what `create_node` writes
//!   (node record, label-index key, node count), without the graph layer;
//! * `raw_get`: a node record by key, not decoded (compare `get_node`);
//! * `raw_prefix_scan_10` / `_1000`: the adjacency prefix of a node with 10
//!   or 1,000 outgoing edges, keys visited, not decoded (compare
//!   `neighbors_out_10` / `_1000`).
//!
//! Stores hold the same fixture as `reads`. Run with
//! `cargo bench -p bench --bench raw`.

use std::ops::ControlFlow;
use std::time::Duration;

use bench::BoxResult;
use bench::fixture::{ReadFixture, fjall_store, memory_store, populate, rocksdb_store};
use bench::raw::RawEncoder;
use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, ItemRng, Workload};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use graph_core::codec::{self, AdjacencyDir, AdjacencyKey};
use graph_core::{
    ColumnFamily, Durability, NodeId, ReadView, ScanDirection, StorageBackend, Timestamp,
    WriteBatch,
};
use graph_storage::GraphStore;
use rand::Rng;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Ids far above the fixture's, so raw writes never overwrite it.
const FRESH_IDS: u64 = 1 << 40;

fn group<'a>(c: &'a mut Criterion, name: &str, elements: u64) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(elements));
    g
}

fn put<B: StorageBackend>(g: &mut Group<'_>, name: &str, backend: &B, value: &[u8]) {
    let mut id = FRESH_IDS;
    g.bench_function(name, |b| {
        b.iter(|| {
            id += 1;
            backend.put(
                ColumnFamily::Nodes,
                &codec::node_key(NodeId(id)),
                value,
                Durability::Background,
            )
        });
    });
}

fn write_node<B: StorageBackend>(
    g: &mut Group<'_>,
    name: &str,
    backend: &B,
    w: &Workload,
) -> BoxResult<()> {
    // Pre-encode a pool of single-node batches; the timing covers the write.
    let mut enc = RawEncoder::new(Timestamp(1_764_000_000_000_000));
    let mut pool = Vec::with_capacity(1024);
    for i in 0..1024 {
        let mut wb = WriteBatch::new();
        enc.nodes(w, FRESH_IDS * 2 + i..FRESH_IDS * 2 + i + 1, &mut wb)?;
        pool.push(wb);
    }
    let mut k = 0;
    g.bench_function(name, |b| {
        b.iter(|| {
            k = (k + 1) % pool.len();
            backend.write(&pool[k], Durability::Background)
        });
    });
    Ok(())
}

fn get<B: StorageBackend>(g: &mut Group<'_>, name: &str, backend: &B, f: &ReadFixture) {
    let mut rng = ItemRng::new(7, 7, 7);
    let keys: Vec<[u8; 8]> = (0..4096)
        .map(|_| codec::node_key(f.nodes[rng.gen_range(0..f.nodes.len())]))
        .collect();
    let mut k = 0;
    g.bench_function(name, |b| {
        b.iter(|| {
            k = (k + 1) % keys.len();
            backend.get(ColumnFamily::Nodes, &keys[k])
        });
    });
}

fn prefix_scan<B: StorageBackend>(g: &mut Group<'_>, name: &str, backend: &B, node: NodeId) {
    let prefix = AdjacencyKey::node_prefix(AdjacencyDir::Out, node);
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut n = 0u64;
            backend
                .scan_prefix(
                    ColumnFamily::Indices,
                    &prefix,
                    ScanDirection::Forward,
                    &mut |k, _| {
                        n += k.len() as u64;
                        Ok(ControlFlow::Continue(()))
                    },
                )
                .map(|()| n)
        });
    });
}

fn run(c: &mut Criterion) -> BoxResult<()> {
    let dir = tempfile::tempdir()?;
    let memory: GraphStore<_> = memory_store()?;
    let mf = populate(&memory)?;
    let rocksdb = rocksdb_store(&dir.path().join("rocksdb"), Durability::Background)?;
    let rf = populate(&rocksdb)?;
    rocksdb.flush()?;
    let fjall = fjall_store(&dir.path().join("fjall"), Durability::Background)?;
    let ff = populate(&fjall)?;
    fjall.flush()?;
    let w = Workload::new(1, 0, DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT)?;
    let value = memory
        .backend()
        .get(ColumnFamily::Nodes, &codec::node_key(mf.nodes[0]))?
        .ok_or("fixture node missing")?;

    let mut g = group(c, "raw_put", 1);
    put(&mut g, "memory", memory.backend(), &value);
    put(&mut g, "rocksdb", rocksdb.backend(), &value);
    put(&mut g, "fjall", fjall.backend(), &value);
    g.finish();

    let mut g = group(c, "raw_write_node", 1);
    write_node(&mut g, "memory", memory.backend(), &w)?;
    write_node(&mut g, "rocksdb", rocksdb.backend(), &w)?;
    write_node(&mut g, "fjall", fjall.backend(), &w)?;
    g.finish();

    let mut g = group(c, "raw_get", 1);
    get(&mut g, "memory", memory.backend(), &mf);
    get(&mut g, "rocksdb", rocksdb.backend(), &rf);
    get(&mut g, "fjall", fjall.backend(), &ff);
    g.finish();

    for (name, degree) in [("raw_prefix_scan_10", 10), ("raw_prefix_scan_1000", 1000)] {
        let mut g = group(c, name, degree);
        let (mn, rn, fnode) = if degree == 10 {
            (mf.hub_out_10, rf.hub_out_10, ff.hub_out_10)
        } else {
            (mf.hub_out_1000, rf.hub_out_1000, ff.hub_out_1000)
        };
        prefix_scan(&mut g, "memory", memory.backend(), mn);
        prefix_scan(&mut g, "rocksdb", rocksdb.backend(), rn);
        prefix_scan(&mut g, "fjall", fjall.backend(), fnode);
        g.finish();
    }
    Ok(())
}

fn raw(c: &mut Criterion) {
    if let Err(e) = run(c) {
        panic!("raw benchmarks failed: {e}");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    raw(&mut c);
    c.final_summary();
}
