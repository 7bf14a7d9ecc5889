//! Read benchmarks, each on the memory and the RocksDB backend holding the
//! same fixture (`bench::fixture::populate`: 10,000 workload nodes, 20,000
//! edges, four hubs; RocksDB flushed to SST files, so reads go through the
//! block cache): get node, get edge, outgoing and incoming neighbours at
//! degree 10 and 1,000, label scan, property-index equality and range
//! lookup. Run with `cargo bench -p bench --bench reads`.

use std::ops::Bound;
use std::time::Duration;

use bench::BoxResult;
use bench::fixture::{
    INDEXED_PROPERTY, ReadFixture, SCAN_LABEL, fjall_store, memory_store, populate, rocksdb_store,
};
use bench::workload::ItemRng;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use graph_core::{Direction, Durability, PropertyValue, StorageBackend};
use graph_storage::GraphStore;
use rand::Rng;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Random positions, drawn once, cycled through by the lookups.
fn sample(len: usize) -> Vec<usize> {
    let mut rng = ItemRng::new(7, 7, 7);
    (0..4096).map(|_| rng.gen_range(0..len.max(1))).collect()
}

/// What one read benchmark does on one store.
#[derive(Clone, Copy)]
enum Op {
    GetNode,
    GetEdge,
    Neighbors(Direction, usize),
    LabelScan,
    IndexEq,
    IndexRange,
}

fn bench_op<B: StorageBackend>(
    g: &mut Group<'_>,
    name: &str,
    store: &GraphStore<B>,
    f: &ReadFixture,
    op: Op,
) {
    match op {
        Op::GetNode => {
            let picks = sample(f.nodes.len());
            let mut k = 0;
            g.bench_function(name, |b| {
                b.iter(|| {
                    k = (k + 1) % picks.len();
                    store.get_node(f.nodes[picks[k]])
                });
            });
        }
        Op::GetEdge => {
            let picks = sample(f.edges.len());
            let mut k = 0;
            g.bench_function(name, |b| {
                b.iter(|| {
                    k = (k + 1) % picks.len();
                    store.get_edge(f.edges[picks[k]])
                });
            });
        }
        Op::Neighbors(dir, degree) => {
            let node = match (dir, degree) {
                (Direction::Outgoing, 10) => f.hub_out_10,
                (Direction::Outgoing, _) => f.hub_out_1000,
                (_, 10) => f.hub_in_10,
                _ => f.hub_in_1000,
            };
            g.bench_function(name, |b| b.iter(|| store.neighbors(node, dir, None)));
        }
        Op::LabelScan => {
            g.bench_function(name, |b| b.iter(|| store.nodes_with_label(SCAN_LABEL)));
        }
        Op::IndexEq => {
            let v = PropertyValue::Int(42);
            g.bench_function(name, |b| {
                b.iter(|| store.find_nodes(SCAN_LABEL, INDEXED_PROPERTY, &v))
            });
        }
        Op::IndexRange => {
            let (lo, hi) = (PropertyValue::Int(30), PropertyValue::Int(39));
            g.bench_function(name, |b| {
                b.iter(|| {
                    store.find_nodes_in_range(
                        SCAN_LABEL,
                        INDEXED_PROPERTY,
                        Bound::Included(&lo),
                        Bound::Included(&hi),
                    )
                })
            });
        }
    }
}

fn run(c: &mut Criterion) -> BoxResult<()> {
    let dir = tempfile::tempdir()?;
    let memory = memory_store()?;
    let mf = populate(&memory)?;
    let rocksdb = rocksdb_store(&dir.path().join("rocksdb"), Durability::Background)?;
    let rf = populate(&rocksdb)?;
    rocksdb.flush()?;
    let fjall = fjall_store(&dir.path().join("fjall"), Durability::Background)?;
    let ff = populate(&fjall)?;
    fjall.flush()?;
    // Results sizes, for the throughput of the scans (same on both stores).
    let persons = memory.nodes_with_label(SCAN_LABEL)?.len() as u64;
    let in_range = memory
        .find_nodes_in_range(
            SCAN_LABEL,
            INDEXED_PROPERTY,
            Bound::Included(&PropertyValue::Int(30)),
            Bound::Included(&PropertyValue::Int(39)),
        )?
        .len() as u64;
    let ops: [(&str, Op, u64); 9] = [
        ("get_node", Op::GetNode, 1),
        ("get_edge", Op::GetEdge, 1),
        (
            "neighbors_out_10",
            Op::Neighbors(Direction::Outgoing, 10),
            10,
        ),
        (
            "neighbors_out_1000",
            Op::Neighbors(Direction::Outgoing, 1000),
            1000,
        ),
        (
            "neighbors_in_10",
            Op::Neighbors(Direction::Incoming, 10),
            10,
        ),
        (
            "neighbors_in_1000",
            Op::Neighbors(Direction::Incoming, 1000),
            1000,
        ),
        ("label_scan", Op::LabelScan, persons),
        ("index_eq", Op::IndexEq, 1),
        ("index_range", Op::IndexRange, in_range),
    ];
    for (name, op, elements) in ops {
        let mut g = c.benchmark_group(name);
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .throughput(Throughput::Elements(elements));
        bench_op(&mut g, "memory", &memory, &mf, op);
        bench_op(&mut g, "rocksdb", &rocksdb, &rf, op);
        bench_op(&mut g, "fjall", &fjall, &ff, op);
        g.finish();
    }
    Ok(())
}

fn reads(c: &mut Criterion) {
    if let Err(e) = run(c) {
        panic!("read benchmarks failed: {e}");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    reads(&mut c);
    c.final_summary();
}
