//! Write benchmarks, each on the memory and the RocksDB backend with the
//! same data: single node insert, batched node insert, edge insert (record
//! plus adjacency on both ends), node and edge deletion.
//!
//! RocksDB runs with `Durability::Background` (no fsync), so the figures
//! show the CPU cost of the write path; single node insert also runs with
//! `Durability::Strict` (one fsync per commit). Run with
//! `cargo bench -p bench --bench writes`.

use std::time::{Duration, Instant};

use bench::BoxResult;
use bench::fixture::{fjall_store, memory_store, rocksdb_store};
use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, EdgeSpec, Workload};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput};
use graph_core::{Durability, NodeId, Properties, StorageBackend};
use graph_storage::GraphStore;

/// Nodes created before the edge benchmarks, as endpoints.
const ENDPOINTS: u64 = 10_000;
/// Nodes per commit in the batched insert.
const BATCH: u64 = 1_000;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// The next node's label and properties (generated outside the timing).
fn next_node(w: &Workload, i: &mut u64) -> (&'static str, Properties) {
    let s = w.node(*i);
    *i += 1;
    (s.label(), s.properties())
}

/// The next edge, between two of the endpoint nodes.
fn next_edge(w: &Workload, i: &mut u64, ends: &[NodeId]) -> (NodeId, NodeId, EdgeSpec) {
    let s = w.edge(*i);
    *i += 1;
    let n = ends.len().max(1);
    let end = |k: u64| ends.get(k as usize % n).copied().unwrap_or(NodeId(0));
    (end(s.src), end(s.dst), s)
}

/// One backend under test, with its own position in the workload.
struct Subject<B: StorageBackend> {
    name: &'static str,
    store: GraphStore<B>,
    w: Workload,
    next_node: u64,
    next_edge: u64,
    ends: Vec<NodeId>,
}

impl<B: StorageBackend> Subject<B> {
    fn new(name: &'static str, store: GraphStore<B>) -> BoxResult<Self> {
        Ok(Subject {
            name,
            store,
            w: Workload::new(ENDPOINTS, u64::MAX, DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT)?,
            next_node: 0,
            next_edge: 0,
            ends: Vec::new(),
        })
    }

    fn node(&mut self) -> (&'static str, Properties) {
        next_node(&self.w, &mut self.next_node)
    }

    fn edge(&mut self) -> (NodeId, NodeId, EdgeSpec) {
        next_edge(&self.w, &mut self.next_edge, &self.ends)
    }

    fn create_node(&mut self, g: &mut Group<'_>) {
        g.bench_function(self.name, |b| {
            b.iter_batched(
                || next_node(&self.w, &mut self.next_node),
                |(label, props)| self.store.create_node(&[label], props),
                BatchSize::SmallInput,
            );
        });
    }

    fn create_nodes_batch(&mut self, g: &mut Group<'_>) {
        g.bench_function(self.name, |b| {
            b.iter_batched(
                || {
                    (0..BATCH)
                        .map(|_| next_node(&self.w, &mut self.next_node))
                        .collect::<Vec<_>>()
                },
                |nodes| {
                    let mut batch = self.store.batch();
                    for (label, props) in nodes {
                        batch.create_node(&[label], props)?;
                    }
                    batch.commit()
                },
                BatchSize::PerIteration,
            );
        });
    }

    fn create_endpoints(&mut self) -> BoxResult<()> {
        let mut batch = self.store.batch();
        let mut ends = Vec::with_capacity(ENDPOINTS as usize);
        for i in 0..ENDPOINTS {
            let s = self.w.node(i);
            ends.push(batch.create_node(&[s.label()], s.properties())?);
        }
        batch.commit()?;
        self.ends = ends;
        Ok(())
    }

    fn create_edge(&mut self, g: &mut Group<'_>) {
        g.bench_function(self.name, |b| {
            b.iter_batched(
                || next_edge(&self.w, &mut self.next_edge, &self.ends),
                |(src, dst, s)| {
                    self.store
                        .create_edge(src, dst, s.edge_type(), s.properties())
                },
                BatchSize::SmallInput,
            );
        });
    }

    /// Creates `iters` nodes untimed, then times deleting them one by one.
    fn delete_node(&mut self, g: &mut Group<'_>) {
        g.bench_function(self.name, |b| {
            b.iter_custom(|iters| {
                let nodes: Vec<_> = (0..iters).map(|_| self.node()).collect();
                let mut batch = self.store.batch();
                let victims: Vec<NodeId> = nodes
                    .into_iter()
                    .filter_map(|(label, props)| batch.create_node(&[label], props).ok())
                    .collect();
                if batch.commit().is_err() {
                    panic!("cannot create the nodes to delete");
                }
                let t = Instant::now();
                for id in victims {
                    if self.store.delete_node(id).is_err() {
                        panic!("delete_node failed");
                    }
                }
                t.elapsed()
            });
        });
    }

    /// Creates `iters` edges untimed, then times deleting them one by one.
    fn delete_edge(&mut self, g: &mut Group<'_>) {
        g.bench_function(self.name, |b| {
            b.iter_custom(|iters| {
                let edges: Vec<_> = (0..iters).map(|_| self.edge()).collect();
                let mut batch = self.store.batch();
                let victims: Vec<_> = edges
                    .into_iter()
                    .filter_map(|(src, dst, s)| {
                        batch
                            .create_edge(src, dst, s.edge_type(), s.properties())
                            .ok()
                    })
                    .collect();
                if batch.commit().is_err() {
                    panic!("cannot create the edges to delete");
                }
                let t = Instant::now();
                for id in victims {
                    if self.store.delete_edge(id).is_err() {
                        panic!("delete_edge failed");
                    }
                }
                t.elapsed()
            });
        });
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn run(c: &mut Criterion) -> BoxResult<()> {
    let dir = tempfile::tempdir()?;
    let mut memory = Subject::new("memory", memory_store()?)?;
    let mut rocksdb = Subject::new(
        "rocksdb",
        rocksdb_store(&dir.path().join("background"), Durability::Background)?,
    )?;
    let mut strict = Subject::new(
        "rocksdb-strict",
        rocksdb_store(&dir.path().join("strict"), Durability::Strict)?,
    )?;
    let mut fjall = Subject::new(
        "fjall",
        fjall_store(&dir.path().join("fjall"), Durability::Background)?,
    )?;
    let mut fjall_strict = Subject::new(
        "fjall-strict",
        fjall_store(&dir.path().join("fjall-strict"), Durability::Strict)?,
    )?;

    let mut g = group(c, "create_node");
    memory.create_node(&mut g);
    rocksdb.create_node(&mut g);
    strict.create_node(&mut g);
    fjall.create_node(&mut g);
    fjall_strict.create_node(&mut g);
    g.finish();

    let mut g = group(c, "create_nodes_batch_1000");
    g.throughput(Throughput::Elements(BATCH));
    memory.create_nodes_batch(&mut g);
    rocksdb.create_nodes_batch(&mut g);
    fjall.create_nodes_batch(&mut g);
    g.finish();

    memory.create_endpoints()?;
    rocksdb.create_endpoints()?;
    fjall.create_endpoints()?;
    let mut g = group(c, "create_edge");
    memory.create_edge(&mut g);
    rocksdb.create_edge(&mut g);
    fjall.create_edge(&mut g);
    g.finish();

    let mut g = group(c, "delete_node");
    memory.delete_node(&mut g);
    rocksdb.delete_node(&mut g);
    fjall.delete_node(&mut g);
    g.finish();

    let mut g = group(c, "delete_edge");
    memory.delete_edge(&mut g);
    rocksdb.delete_edge(&mut g);
    fjall.delete_edge(&mut g);
    g.finish();
    Ok(())
}

fn writes(c: &mut Criterion) {
    if let Err(e) = run(c) {
        panic!("write benchmarks failed: {e}");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    writes(&mut c);
    c.final_summary();
}
