//! The headline ingestion harness: ingests the deterministic synthetic graph
//! of `bench::workload` through the public graph API on every backend,
//! measures the raw baselines in the same run, prints one table and a target
//! check, and writes the figures as JSON. See BENCHMARKS.md.
//!
//! Every configuration runs in a child process (this binary re-executed
//! with `--child`), so each peak-resident-memory figure (`VmHWM`) belongs to
//! one configuration alone.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bench::raw::{RawEncoder, RawEngine, RawFjall, RawRocksDb};
use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, Workload};
use bench::{BoxResult, fixture, reads, sys};
use clap::{Parser, ValueEnum};
use graph_core::{Durability, EdgeId, NodeId, StorageBackend, WriteBatch};
use graph_storage::{
    Clock, FjallBackend, FjallConfig, GraphBatch, GraphStore, MemoryBackend, RocksDbBackend,
    RocksDbConfig, StoreOptions, SystemClock,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize, Deserialize)]
enum Config {
    /// The workload's bytes written straight into the memory backend.
    RawMemory,
    /// Like `raw-memory`, each batch sorted by column family and key first
    /// (as the graph layer sorts its batches).
    RawMemorySorted,
    /// The graph API on the memory backend.
    Memory,
    /// Like `memory`, with the adjacency in RAM off (what its upkeep costs
    /// ingestion).
    MemoryNoRam,
    /// The workload's bytes in plain RocksDB write batches, no sync.
    RawRocksdbBackground,
    /// The graph API on RocksDB, `Durability::Background`.
    RocksdbBackground,
    /// Like `rocksdb-background`, with the adjacency in RAM off.
    RocksdbBackgroundNoRam,
    /// Like `raw-rocksdb-background`, but each batch's operations sorted by
    /// column family and key before writing (an experiment: the same
    /// bytes, inserted into the memtables in key order).
    RawRocksdbSorted,
    /// The workload's bytes in plain RocksDB write batches, synced.
    RawRocksdbStrict,
    /// The graph API on RocksDB, `Durability::Strict`.
    RocksdbStrict,
    /// Single `create_node` calls under Strict: one writer, then several
    /// concurrent writers; and the same with raw synced RocksDB writes.
    SingleStrict,
    /// The workload's bytes in plain fjall write batches (the backend's
    /// stored keys: prefix byte and key), `PersistMode::Buffer`.
    RawFjallBackground,
    /// Like `raw-fjall-background`, each batch sorted by column family and
    /// key first (what the fjall backend does with every batch).
    RawFjallSorted,
    /// The graph API on fjall, `Durability::Background`.
    FjallBackground,
    /// The workload's bytes in plain fjall write batches, `SyncAll`.
    RawFjallStrict,
    /// The graph API on fjall, `Durability::Strict`.
    FjallStrict,
    /// The bulk loader into a new RocksDB store: records straight to SST
    /// writers, index and adjacency entries through the external sort,
    /// SST files ingested at once; then the store is reopened and read
    /// with a cached and an uncached working set.
    BulkRocksdb,
}

impl Config {
    fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(|| format!("{self:?}"), |v| v.get_name().to_owned())
    }
}

const ALL_CONFIGS: &str = "raw-memory,memory,raw-rocksdb-background,rocksdb-background,\
raw-rocksdb-strict,rocksdb-strict,raw-rocksdb-sorted,raw-fjall-background,raw-fjall-sorted,\
fjall-background,raw-fjall-strict,fjall-strict,single-strict";

/// Ingests a synthetic property graph through the public graph API on each
/// backend and durability mode, with raw baselines measured in the same
/// run; prints a table and a target check and writes JSON.
#[derive(Parser, Debug, Clone)]
#[command(name = "ingest", version)]
struct Args {
    /// Nodes to ingest (one label of 10, four properties each).
    #[arg(long, default_value_t = 1_000_000)]
    nodes: u64,
    /// Edges to ingest (5 types, Zipf sources, uniform targets, one
    /// property each).
    #[arg(long, default_value_t = 5_000_000)]
    edges: u64,
    /// Nodes or edges per batch (one `GraphBatch` commit, or one raw write
    /// batch).
    #[arg(long, default_value_t = 10_000)]
    batch_size: u64,
    /// Threads building and committing graph batches concurrently (the raw
    /// baselines always use one thread).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seed of the synthetic graph.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Exponent of the Zipf distribution of edge sources.
    #[arg(long, default_value_t = DEFAULT_ZIPF_EXPONENT)]
    zipf: f64,
    /// Configurations to run, comma-separated, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = ALL_CONFIGS)]
    configs: Vec<Config>,
    /// Runs of every configuration (round-robin); the table shows medians.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Random point lookups per pass of the reads measured after
    /// ingestion (traversals start from a tenth as many nodes, 2-hop
    /// expansions from a hundredth; see `bench::reads`); 0 skips the reads.
    #[arg(long, default_value_t = 200_000)]
    lookups: u64,
    /// `create_node` calls per thread and round in the single-strict
    /// configuration.
    #[arg(long, default_value_t = 2_000)]
    single_creates: u64,
    /// Concurrent writers in the single-strict configuration.
    #[arg(long, default_value_t = 4)]
    single_threads: usize,
    /// Rounds of the single-strict configuration; each round measures one
    /// writer, then the concurrent writers (graph, then raw), so a drift
    /// in fsync latency hits both; the medians are reported.
    #[arg(long, default_value_t = 3)]
    single_rounds: usize,
    /// MiB of sort buffers of the bulk loader (bulk-rocksdb).
    #[arg(long, default_value_t = 256)]
    bulk_memory_mib: usize,
    /// Directory in which stores are created (and removed afterwards);
    /// default: the system's temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "ingest-results.json")]
    json: PathBuf,
    /// Internal: run one configuration in this process and print its
    /// metrics as one JSON line.
    #[arg(long, hide = true)]
    child: Option<Config>,
}

/// Named figures of one run.
type Metrics = BTreeMap<String, f64>;

fn main() -> BoxResult<()> {
    let args = Args::parse();
    if args.batch_size == 0 || args.threads == 0 || args.single_threads == 0 {
        return Err("--batch-size, --threads and --single-threads must be at least 1".into());
    }
    match args.child {
        Some(config) => {
            let metrics = run_child(config, &args)?;
            println!("{}", serde_json::to_string(&metrics)?);
            Ok(())
        }
        None => run_parent(&args),
    }
}

// ---------------------------------------------------------------------------
// Child: one configuration.

fn run_child(config: Config, args: &Args) -> BoxResult<Metrics> {
    let w = Workload::new(args.nodes, args.edges, args.seed, args.zipf)?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("ingest-")
        .tempdir_in(&parent)?;
    let mut m = Metrics::new();
    if let Some(load) = sys::load_average() {
        m.insert("load_start".into(), load);
    }
    match config {
        Config::Memory | Config::MemoryNoRam => {
            let options = StoreOptions::default().adjacency(config == Config::Memory);
            let store = GraphStore::open_with(MemoryBackend::new(), options)?;
            let ids = graph_run(&store, &w, args, &mut m)?;
            graph_reads(&store, &ids, args, &mut m, false)?;
        }
        Config::RocksdbBackground | Config::RocksdbStrict | Config::RocksdbBackgroundNoRam => {
            let options = StoreOptions::default()
                .durability(durability_of(config))
                .adjacency(config != Config::RocksdbBackgroundNoRam);
            let open = |cache: Option<usize>| -> BoxResult<GraphStore<RocksDbBackend>> {
                let mut c = RocksDbConfig::default();
                if let Some(bytes) = cache {
                    c.block_cache_bytes = bytes;
                }
                let backend = RocksDbBackend::open_with(dir.path(), &c)?;
                Ok(GraphStore::open_with(backend, options.clone())?)
            };
            durable_graph_run(open, dir.path(), &w, args, &mut m)?;
        }
        Config::FjallBackground | Config::FjallStrict => {
            let options = StoreOptions::default().durability(durability_of(config));
            let open = |cache: Option<usize>| -> BoxResult<GraphStore<FjallBackend>> {
                let mut c = FjallConfig::default();
                if let Some(bytes) = cache {
                    c.cache_bytes = bytes as u64;
                }
                let backend = FjallBackend::open_with(dir.path(), &c)?;
                Ok(GraphStore::open_with(backend, options.clone())?)
            };
            durable_graph_run(open, dir.path(), &w, args, &mut m)?;
        }
        Config::RawMemory | Config::RawMemorySorted => {
            let backend = MemoryBackend::new();
            let sorted = config == Config::RawMemorySorted;
            raw_run(&w, args, &mut m, sorted, |b| {
                Ok(backend.write(b, Durability::Background)?)
            })?;
        }
        Config::RawRocksdbBackground | Config::RawRocksdbStrict | Config::RawRocksdbSorted => {
            let db = RawRocksDb::open(dir.path(), &RocksDbConfig::default())?;
            durable_raw_run(&db, config, dir.path(), &w, args, &mut m)?;
        }
        Config::RawFjallBackground | Config::RawFjallStrict | Config::RawFjallSorted => {
            let db = RawFjall::open(dir.path(), &FjallConfig::default())?;
            durable_raw_run(&db, config, dir.path(), &w, args, &mut m)?;
        }
        Config::SingleStrict => single_run(&w, args, dir.path(), &mut m)?,
        Config::BulkRocksdb => bulk_run(&w, args, dir.path(), &mut m)?,
    }
    if let Some(rss) = sys::peak_rss_bytes() {
        m.insert("peak_rss_bytes".into(), rss as f64);
    }
    if let Some(cpu) = sys::process_cpu_secs() {
        m.insert("cpu_secs".into(), cpu);
    }
    if let Some(load) = sys::load_average() {
        m.insert("load_end".into(), load);
    }
    Ok(m)
}

/// The durability a graph configuration runs with.
fn durability_of(config: Config) -> Durability {
    match config {
        Config::RocksdbStrict | Config::FjallStrict => Durability::Strict,
        _ => Durability::Background,
    }
}

/// The block cache of the uncached reads: 8 MiB, a small fraction of any
/// store the harness builds at its default sizes (the operating system's
/// page cache still holds the files).
const UNCACHED_BLOCK_CACHE: usize = 8 << 20;

/// [`graph_run`] on an on-disk store opened by `open` (with the default
/// block cache, or the given size), then its sizes: as ingested, and after
/// a flush and close; then reads, after reopening with the default block
/// cache and again with [`UNCACHED_BLOCK_CACHE`].
fn durable_graph_run<B: StorageBackend>(
    open: impl Fn(Option<usize>) -> BoxResult<GraphStore<B>>,
    dir: &Path,
    w: &Workload,
    args: &Args,
    m: &mut Metrics,
) -> BoxResult<()> {
    let store = open(None)?;
    let ids = graph_run(&store, w, args, m)?;
    disk_sizes(dir, m, || Ok(store.flush()?))?;
    drop(store);
    closed_sizes(dir, m)?;
    let store = open(None)?;
    graph_reads(&store, &ids, args, m, false)?;
    drop(store);
    let store = open(Some(UNCACHED_BLOCK_CACHE))?;
    graph_reads(&store, &ids, args, m, true)
}

/// [`raw_run`] on a raw engine (synced for the `-strict` configurations,
/// sorted batches for `-sorted`), then its sizes as [`durable_graph_run`].
fn durable_raw_run<E: RawEngine>(
    db: &E,
    config: Config,
    dir: &Path,
    w: &Workload,
    args: &Args,
    m: &mut Metrics,
) -> BoxResult<()> {
    let sync = matches!(config, Config::RawRocksdbStrict | Config::RawFjallStrict);
    let sorted = matches!(config, Config::RawRocksdbSorted | Config::RawFjallSorted);
    raw_run(w, args, m, sorted, |b| db.write(b, sync))?;
    disk_sizes(dir, m, || db.flush())?;
    closed_sizes(dir, m)
}

/// The directory's file sizes and allocated bytes once the store is
/// flushed (and, for graph stores, closed).
fn closed_sizes(dir: &Path, m: &mut Metrics) -> BoxResult<()> {
    m.insert("disk_bytes_flushed".into(), sys::dir_size(dir)? as f64);
    m.insert(
        "disk_bytes_allocated".into(),
        sys::dir_allocated(dir)? as f64,
    );
    Ok(())
}

/// Records the directory size as ingested (WAL plus SST files), then runs
/// `flush` (memtables to SST files).
fn disk_sizes(dir: &Path, m: &mut Metrics, flush: impl FnOnce() -> BoxResult<()>) -> BoxResult<()> {
    m.insert("disk_bytes".into(), sys::dir_size(dir)? as f64);
    flush()
}

fn progress(len: u64, message: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:28} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        pb.set_style(style);
    }
    pb.set_message(message.to_owned());
    pb
}

fn per_sec(count: u64, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64().max(1e-9)
}

/// Runs `work(range)` for every batch-sized range of `0..total` on
/// `threads` threads, each taking the next range as it finishes one;
/// returns the results in range order.
fn parallel_batches<T: Send>(
    total: u64,
    batch: u64,
    threads: usize,
    work: impl Fn(Range<u64>) -> BoxResult<T> + Sync,
) -> BoxResult<Vec<T>> {
    let chunks = total.div_ceil(batch);
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::with_capacity(chunks as usize));
    std::thread::scope(|s| -> BoxResult<()> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> BoxResult<()> {
                    loop {
                        let c = next.fetch_add(1, Ordering::Relaxed);
                        if c >= chunks {
                            return Ok(());
                        }
                        let start = c * batch;
                        let out = work(start..(start + batch).min(total))?;
                        results
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((c, out));
                    }
                })
            })
            .collect();
        for h in workers {
            h.join().map_err(|_| "a worker thread panicked")??;
        }
        Ok(())
    })?;
    let mut results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    results.sort_unstable_by_key(|(c, _)| *c);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

/// The ids the store gave the workload's nodes and edges, in item order.
struct Ids {
    nodes: Vec<NodeId>,
    edges: Vec<EdgeId>,
}

/// Ingests the workload through the public API.
fn graph_run<B: StorageBackend>(
    store: &GraphStore<B>,
    w: &Workload,
    args: &Args,
    m: &mut Metrics,
) -> BoxResult<Ids> {
    let pb = progress(w.nodes + w.edges, "graph: nodes");
    // Time spent in `commit` (summed over threads): sorting, waiting for
    // and holding the writer lock, the engine's write.
    let committing = AtomicU64::new(0);
    let commit = |batch: GraphBatch<'_, B>| -> BoxResult<()> {
        let t = Instant::now();
        batch.commit()?;
        committing.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(())
    };
    let t = Instant::now();
    let batches = parallel_batches(w.nodes, args.batch_size, args.threads, |range| {
        let len = range.end - range.start;
        let mut batch = store.batch();
        let mut ids = Vec::with_capacity(len as usize);
        for i in range {
            let s = w.node(i);
            ids.push(batch.create_node(&[s.label()], s.properties())?);
        }
        commit(batch)?;
        pb.inc(len);
        Ok(ids)
    })?;
    let node_commit = committing.swap(0, Ordering::Relaxed);
    let node_time = t.elapsed();
    let ids: Vec<NodeId> = batches.into_iter().flatten().collect();
    // A fresh store hands out ids 0, 1, 2, ... in item order when one
    // thread ingests: endpoints are then the items' indexes, as in the raw
    // loader, rather than lookups in an 8-byte-per-node table that misses
    // the cache twice per edge (about 0.15 us an edge, the harness's cost,
    // not the store's).
    let identity = ids.iter().enumerate().all(|(i, id)| id.0 == i as u64);
    let node = |index: u64| {
        if identity {
            NodeId(index)
        } else {
            ids[index as usize]
        }
    };

    pb.set_message("graph: edges");
    let t = Instant::now();
    let edge_batches = parallel_batches(w.edges, args.batch_size, args.threads, |range| {
        let len = range.end - range.start;
        let mut batch = store.batch();
        let mut edge_ids = Vec::with_capacity(len as usize);
        for i in range {
            let s = w.edge(i);
            edge_ids.push(batch.create_edge(
                node(s.src),
                node(s.dst),
                s.edge_type(),
                s.properties(),
            )?);
        }
        commit(batch)?;
        pb.inc(len);
        Ok(edge_ids)
    })?;
    let edge_time = t.elapsed();
    let edge_commit = committing.load(Ordering::Relaxed);
    pb.finish_and_clear();

    let (nodes, edges) = (store.node_count()?, store.edge_count()?);
    if nodes != w.nodes || edges != w.edges {
        return Err(format!(
            "store holds {nodes} nodes and {edges} edges, expected {} and {}",
            w.nodes, w.edges
        )
        .into());
    }
    m.insert("node_secs".into(), node_time.as_secs_f64());
    m.insert("edge_secs".into(), edge_time.as_secs_f64());
    m.insert("node_commit_secs".into(), node_commit as f64 / 1e9);
    m.insert("edge_commit_secs".into(), edge_commit as f64 / 1e9);
    m.insert("nodes_per_s".into(), per_sec(w.nodes, node_time));
    m.insert("edges_per_s".into(), per_sec(w.edges, edge_time));
    if let Some(rss) = sys::current_rss_bytes() {
        m.insert("rss_after_ingest_bytes".into(), rss as f64);
    }
    Ok(Ids {
        nodes: ids,
        edges: edge_batches.into_iter().flatten().collect(),
    })
}

/// The reads of [`reads::READS`] (creating their index first), or with
/// `uncached` those of [`reads::UNCACHED_READS`]; nothing with
/// `--lookups 0`.
fn graph_reads<B: StorageBackend>(
    store: &GraphStore<B>,
    ids: &Ids,
    args: &Args,
    m: &mut Metrics,
    uncached: bool,
) -> BoxResult<()> {
    if args.lookups == 0 {
        return Ok(());
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(if uncached {
        "reads (small block cache)"
    } else {
        "reads"
    });
    pb.enable_steady_tick(Duration::from_millis(200));
    if !uncached {
        reads::create_index(store, m)?;
    }
    let input = reads::ReadInputs {
        nodes: &ids.nodes,
        edges: &ids.edges,
        lookups: args.lookups,
        seed: args.seed,
    };
    let result = reads::measure(store, &input, uncached, m);
    pb.finish_and_clear();
    result
}

/// The bulk loader into a new RocksDB store, then reads after reopening:
/// cached (the default block cache, warmed) and uncached (an 8 MiB cache, a
/// fresh sample), point lookups and 1-hop out-expansions.
fn bulk_run(w: &Workload, args: &Args, dir: &Path, m: &mut Metrics) -> BoxResult<()> {
    use graph_storage::RocksDbBackend;
    use graph_storage::bulk::{BulkLoader, BulkOptions};
    let path = dir.join("store");
    let pb = progress(w.nodes + w.edges, "bulk: nodes");
    let t = Instant::now();
    let sink = RocksDbBackend::bulk_create(&path, &RocksDbConfig::default())?;
    let opts = BulkOptions::new(dir).memory_budget(args.bulk_memory_mib << 20);
    let mut loader = BulkLoader::new(sink, opts)?;
    for i in 0..w.nodes {
        let s = w.node(i);
        loader.add_node(&[s.label()], &s.properties())?;
        if i % 65_536 == 0 {
            pb.set_position(i);
        }
    }
    let node_time = t.elapsed();
    pb.set_message("bulk: edges");
    let t = Instant::now();
    for i in 0..w.edges {
        let s = w.edge(i);
        loader.add_edge(NodeId(s.src), NodeId(s.dst), s.edge_type(), &s.properties())?;
        if i % 65_536 == 0 {
            pb.set_position(w.nodes + i);
        }
    }
    let edge_time = t.elapsed();
    pb.set_message("bulk: sort, SST, ingest");
    let t = Instant::now();
    let (backend, summary) = loader.finish(&mut |_| {})?;
    let finish_time = t.elapsed();
    pb.finish_and_clear();
    drop(backend);
    let total = node_time + edge_time + finish_time;
    m.insert("node_secs".into(), node_time.as_secs_f64());
    m.insert("edge_secs".into(), (edge_time + finish_time).as_secs_f64());
    m.insert(
        "bulk_read_secs".into(),
        (node_time + edge_time).as_secs_f64(),
    );
    m.insert("bulk_finish_secs".into(), finish_time.as_secs_f64());
    m.insert("bulk_commit_secs".into(), summary.commit_seconds);
    m.insert("bulk_total_secs".into(), total.as_secs_f64());
    m.insert("bulk_spilled_bytes".into(), summary.spilled_bytes as f64);
    // Nodes/s over the node phase; edges/s over the edge phase plus the
    // sort, SST writing and ingestion that follow (mostly adjacency).
    m.insert("nodes_per_s".into(), per_sec(w.nodes, node_time));
    m.insert(
        "edges_per_s".into(),
        per_sec(w.edges, edge_time + finish_time),
    );
    m.insert("bulk_items_per_s".into(), per_sec(w.nodes + w.edges, total));
    if let Some(rss) = sys::current_rss_bytes() {
        m.insert("rss_after_ingest_bytes".into(), rss as f64);
    }
    m.insert("disk_bytes".into(), sys::dir_size(&path)? as f64);
    m.insert("disk_bytes_flushed".into(), sys::dir_size(&path)? as f64);

    let store = GraphStore::open(RocksDbBackend::open(&path)?)?;
    if store.node_count()? != w.nodes || store.edge_count()? != w.edges {
        return Err("the bulk-loaded store does not hold the workload".into());
    }
    let ids = Ids {
        nodes: store.reader().node_ids()?,
        edges: store.reader().edge_ids()?,
    };
    graph_reads(&store, &ids, args, m, false)?;
    drop(store);
    let small = RocksDbConfig {
        block_cache_bytes: UNCACHED_BLOCK_CACHE,
        ..RocksDbConfig::default()
    };
    let store = GraphStore::open(RocksDbBackend::open_with(&path, &small)?)?;
    graph_reads(&store, &ids, args, m, true)
}

/// Times of one raw phase.
#[derive(Debug, Default)]
struct RawPhase {
    prepare: Duration,
    write: Duration,
    wall: Duration,
    pairs: u64,
    bytes: u64,
}

/// Writes the workload's bytes with `write`, one batch at a time on one
/// thread; encoding (`prepare`, with the sorting when `sorted`) and writing
/// are timed apart.
fn raw_run(
    w: &Workload,
    args: &Args,
    m: &mut Metrics,
    sorted: bool,
    write: impl Fn(&WriteBatch) -> BoxResult<()>,
) -> BoxResult<()> {
    // What generating the items alone costs (included in every end-to-end
    // figure, graph and raw alike).
    let t = Instant::now();
    for i in 0..w.nodes {
        black_box(w.node(i));
    }
    let gen_nodes = t.elapsed();
    let t = Instant::now();
    for i in 0..w.edges {
        black_box(w.edge(i));
    }
    let gen_edges = t.elapsed();

    let pb = progress(w.nodes + w.edges, "raw: nodes");
    let mut enc = RawEncoder::new(SystemClock.now());
    let phase = |total: u64,
                 encode: &mut dyn FnMut(Range<u64>, &mut WriteBatch) -> BoxResult<()>|
     -> BoxResult<RawPhase> {
        let mut p = RawPhase::default();
        let mut wb = WriteBatch::new();
        let wall = Instant::now();
        let mut start = 0;
        while start < total {
            let end = (start + args.batch_size).min(total);
            wb.clear();
            let t0 = Instant::now();
            encode(start..end, &mut wb)?;
            if sorted {
                // As the graph layer sorts its batches.
                wb.sort_by_key();
            }
            let t1 = Instant::now();
            write(&wb)?;
            p.prepare += t1 - t0;
            p.write += t1.elapsed();
            p.pairs += wb.len() as u64;
            p.bytes += wb.data_size() as u64;
            pb.inc(end - start);
            start = end;
        }
        p.wall = wall.elapsed();
        Ok(p)
    };
    let nodes = phase(w.nodes, &mut |r, wb| Ok(enc.nodes(w, r, wb)?))?;
    pb.set_message("raw: edges");
    let edges = phase(w.edges, &mut |r, wb| Ok(enc.edges(w, r, wb)?))?;
    pb.finish_and_clear();

    for (name, count, p, generate) in [
        ("node", w.nodes, &nodes, gen_nodes),
        ("edge", w.edges, &edges, gen_edges),
    ] {
        m.insert(format!("{name}s_per_s"), per_sec(count, p.wall));
        m.insert(format!("{name}s_per_s_write_only"), per_sec(count, p.write));
        m.insert(format!("{name}_secs"), p.wall.as_secs_f64());
        m.insert(format!("{name}_write_secs"), p.write.as_secs_f64());
        m.insert(format!("{name}_prepare_secs"), p.prepare.as_secs_f64());
        m.insert(format!("{name}_generate_secs"), generate.as_secs_f64());
        m.insert(format!("{name}_kv_pairs"), p.pairs as f64);
        m.insert(format!("{name}_kv_bytes"), p.bytes as f64);
    }
    Ok(())
}

/// Runs `per_thread(t)` on `threads` threads started together; returns
/// the wall time until the last one finished.
fn timed_threads(
    threads: usize,
    per_thread: impl Fn(usize) -> BoxResult<()> + Sync,
) -> BoxResult<Duration> {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| -> BoxResult<Duration> {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, per_thread) = (&barrier, &per_thread);
                s.spawn(move || -> BoxResult<()> {
                    barrier.wait();
                    per_thread(t)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in workers {
            h.join().map_err(|_| "a writer thread panicked")??;
        }
        Ok(start.elapsed())
    })
}

/// Single `create_node` calls under Strict (one fsync each): one writer,
/// then `--single-threads` concurrent writers; and the same bytes as raw
/// synced RocksDB writes, to show what the engine's group commit allows.
/// Rounds interleave the four measurements; medians are reported.
fn single_run(w: &Workload, args: &Args, dir: &Path, m: &mut Metrics) -> BoxResult<()> {
    let per = args.single_creates;
    let k = args.single_threads;
    let store = fixture::rocksdb_store(&dir.join("graph"), Durability::Strict)?;
    let raw_dir = dir.join("raw");
    std::fs::create_dir_all(&raw_dir)?;
    let db = RawRocksDb::open(&raw_dir, &RocksDbConfig::default())?;
    let create = |range: Range<u64>| -> BoxResult<()> {
        for i in range {
            let s = w.node(i);
            store.create_node(&[s.label()], s.properties())?;
        }
        Ok(())
    };
    let raw_create = |range: Range<u64>| -> BoxResult<()> {
        let mut enc = RawEncoder::new(SystemClock.now());
        let mut wb = WriteBatch::new();
        for i in range {
            wb.clear();
            enc.nodes(w, i..i + 1, &mut wb)?;
            db.write(&wb, true)?;
        }
        Ok(())
    };
    // Warm-up: the first id lease, the label symbols, the WAL files.
    create(0..50)?;
    raw_create(0..50)?;
    let mut rates: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut next = 1_000u64;
    let mut ranges = |n: usize| -> Vec<Range<u64>> {
        (0..n)
            .map(|_| {
                next += per;
                next - per..next
            })
            .collect()
    };
    let total = per * k as u64;
    for _ in 0..args.single_rounds.max(1) {
        let r = ranges(1);
        let one = timed_threads(1, |t| create(r[t].clone()))?;
        let r = ranges(k);
        let many = timed_threads(k, |t| create(r[t].clone()))?;
        let r = ranges(1);
        let raw_one = timed_threads(1, |t| raw_create(r[t].clone()))?;
        let r = ranges(k);
        let raw_many = timed_threads(k, |t| raw_create(r[t].clone()))?;
        for (name, v) in [
            ("single_1_per_s", per_sec(per, one)),
            ("single_k_per_s", per_sec(total, many)),
            (
                "single_scaling",
                one.as_secs_f64() * k as f64 / many.as_secs_f64().max(1e-9),
            ),
            ("raw_single_1_per_s", per_sec(per, raw_one)),
            ("raw_single_k_per_s", per_sec(total, raw_many)),
            (
                "raw_single_scaling",
                raw_one.as_secs_f64() * k as f64 / raw_many.as_secs_f64().max(1e-9),
            ),
        ] {
            rates.entry(name).or_default().push(v);
        }
    }
    for (name, v) in rates {
        m.insert(name.to_owned(), median(v));
    }
    m.insert("single_k".into(), k as f64);
    Ok(())
}

// ---------------------------------------------------------------------------
// Parent: run the children, aggregate, report.

/// One child's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunReport {
    config: Config,
    run: usize,
    wall_secs: f64,
    metrics: Metrics,
}

/// One target and how the measured figure compares.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TargetCheck {
    target: String,
    required: f64,
    measured: Option<f64>,
    met: Option<bool>,
    /// `(required - measured) / required` when missed, else 0.
    shortfall: Option<f64>,
}

fn child_args(args: &Args, config: Config) -> Vec<String> {
    let mut v = vec![
        "--child".to_owned(),
        config.name(),
        format!("--nodes={}", args.nodes),
        format!("--edges={}", args.edges),
        format!("--batch-size={}", args.batch_size),
        format!("--threads={}", args.threads),
        format!("--seed={}", args.seed),
        format!("--zipf={}", args.zipf),
        format!("--lookups={}", args.lookups),
        format!("--single-creates={}", args.single_creates),
        format!("--single-threads={}", args.single_threads),
        format!("--single-rounds={}", args.single_rounds),
        format!("--bulk-memory-mib={}", args.bulk_memory_mib),
    ];
    if let Some(dir) = &args.dir {
        v.push(format!("--dir={}", dir.display()));
    }
    v
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run_parent(args: &Args) -> BoxResult<()> {
    let exe = std::env::current_exe()?;
    let machine = sys::machine();
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    // Uncommitted changes to the code under test, when run inside the repo.
    let dirty = git(&[
        "status",
        "--porcelain",
        "--",
        ":/graph-core",
        ":/graph-storage",
        ":/storage-memory",
        ":/storage-rocksdb",
    ])
    .map(|s| !s.is_empty());
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    eprintln!(
        "ingest: {} nodes, {} edges, batch {}, threads {}, seed {}, commit {}{}",
        args.nodes,
        args.edges,
        args.batch_size,
        args.threads,
        args.seed,
        commit.as_deref().unwrap_or("?"),
        if dirty == Some(true) { " (dirty)" } else { "" },
    );
    let mut runs = Vec::new();
    let total = args.repeat * args.configs.len();
    for run in 0..args.repeat {
        for &config in &args.configs {
            eprintln!("[{}/{total}] {} ...", runs.len() + 1, config.name());
            let t = Instant::now();
            let out = Command::new(&exe)
                .args(child_args(args, config))
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()?;
            if !out.status.success() {
                return Err(format!("{} failed: {}", config.name(), out.status).into());
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let line = stdout.lines().last().ok_or("a child printed nothing")?;
            let metrics: Metrics = serde_json::from_str(line)?;
            let wall_secs = t.elapsed().as_secs_f64();
            eprintln!(
                "[{}/{total}] {} done in {wall_secs:.1}s",
                runs.len() + 1,
                config.name()
            );
            runs.push(RunReport {
                config,
                run,
                wall_secs,
                metrics,
            });
        }
    }

    let mut medians: BTreeMap<Config, Metrics> = BTreeMap::new();
    for &config in &args.configs {
        let mut by_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in runs.iter().filter(|r| r.config == config) {
            for (k, v) in &r.metrics {
                by_metric.entry(k.clone()).or_default().push(*v);
            }
        }
        medians.insert(
            config,
            by_metric.into_iter().map(|(k, v)| (k, median(v))).collect(),
        );
    }
    let get = |c: Config, k: &str| medians.get(&c).and_then(|m| m.get(k)).copied();

    print_table(args, &medians, commit.as_deref(), dirty);
    let loads: Vec<f64> = runs
        .iter()
        .flat_map(|r| [r.metrics.get("load_start"), r.metrics.get("load_end")])
        .flatten()
        .copied()
        .collect();
    if let (Some(lo), Some(hi)) = (
        loads.iter().copied().reduce(f64::min),
        loads.iter().copied().reduce(f64::max),
    ) {
        println!(
            "Load average (1 min) at the start and end of the children: {lo:.2} to {hi:.2} \
             on {} CPUs (above 1 means another process competed for the cores).",
            machine.cpus
        );
        println!();
    }
    let targets = check_targets(&get);
    print_targets(&targets);

    let json = serde_json::json!({
        "commit": commit,
        "code_under_test_dirty": dirty,
        "command": command,
        "machine": machine,
        "params": {
            "nodes": args.nodes,
            "edges": args.edges,
            "batch_size": args.batch_size,
            "threads": args.threads,
            "seed": args.seed,
            "zipf_exponent": args.zipf,
            "repeat": args.repeat,
            "lookups": args.lookups,
            "single_creates": args.single_creates,
            "single_threads": args.single_threads,
            "single_rounds": args.single_rounds,
        },
        "medians": medians.iter().map(|(c, m)| (c.name(), m.clone())).collect::<BTreeMap<_, _>>(),
        "targets": targets,
        "runs": runs,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)? + "\n")?;
    eprintln!("results written to {}", args.json.display());
    Ok(())
}

/// `1234567.8` as `1,234,568`.
fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

fn mib(v: f64) -> String {
    format!("{:.0}", v / (1024.0 * 1024.0))
}

fn print_table(
    args: &Args,
    medians: &BTreeMap<Config, Metrics>,
    commit: Option<&str>,
    dirty: Option<bool>,
) {
    let get = |c: Config, k: &str| medians.get(&c).and_then(|m| m.get(k)).copied();
    println!(
        "graph-storage ingestion: {} nodes, {} edges, batch {}, {} thread(s), seed {}, commit {}{}; medians of {} run(s)",
        thousands(args.nodes as f64),
        thousands(args.edges as f64),
        thousands(args.batch_size as f64),
        args.threads,
        args.seed,
        commit.unwrap_or("?"),
        if dirty == Some(true) { " (dirty)" } else { "" },
        args.repeat,
    );
    println!();
    println!(
        "| {:<40} | {:>11} | {:>11} | {:>8} | {:>8} | {:>11} | {:>9} | {:>9} | {:>8} |",
        "configuration",
        "nodes/s",
        "edges/s",
        "n vs raw",
        "e vs raw",
        "get_node/s",
        "disk MiB",
        "du MiB",
        "RSS MiB"
    );
    println!(
        "|{:-<42}|{:->13}|{:->13}|{:->10}|{:->10}|{:->13}|{:->11}|{:->11}|{:->10}|",
        "", "", "", "", "", "", "", "", ""
    );
    let raw_of = |c: Config| match c {
        Config::Memory | Config::MemoryNoRam => Some(Config::RawMemory),
        Config::RocksdbBackground | Config::RocksdbBackgroundNoRam => {
            Some(Config::RawRocksdbBackground)
        }
        Config::RocksdbStrict => Some(Config::RawRocksdbStrict),
        Config::FjallBackground => Some(Config::RawFjallBackground),
        Config::FjallStrict => Some(Config::RawFjallStrict),
        _ => None,
    };
    for (&config, m) in medians {
        if config == Config::SingleStrict {
            continue;
        }
        let f = |k: &str| m.get(k).copied();
        let is_raw = matches!(
            config,
            Config::RawMemory
                | Config::RawMemorySorted
                | Config::RawRocksdbBackground
                | Config::RawRocksdbStrict
                | Config::RawRocksdbSorted
                | Config::RawFjallBackground
                | Config::RawFjallStrict
                | Config::RawFjallSorted
        );
        let rows: Vec<(String, &str, &str)> = if is_raw {
            vec![
                (
                    format!("{} (write only)", config.name()),
                    "nodes_per_s_write_only",
                    "edges_per_s_write_only",
                ),
                (
                    format!("{} (end to end)", config.name()),
                    "nodes_per_s",
                    "edges_per_s",
                ),
            ]
        } else {
            vec![(config.name(), "nodes_per_s", "edges_per_s")]
        };
        for (i, (label, nk, ek)) in rows.iter().enumerate() {
            let ratio = |k: &str, rk: &str| {
                let raw = raw_of(config).and_then(|r| get(r, rk));
                match (f(k), raw) {
                    (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                    _ => "-".into(),
                }
            };
            let first = i == 0;
            println!(
                "| {:<40} | {:>11} | {:>11} | {:>8} | {:>8} | {:>11} | {:>9} | {:>9} | {:>8} |",
                label,
                opt(f(nk), thousands),
                opt(f(ek), thousands),
                ratio(nk, "nodes_per_s_write_only"),
                ratio(ek, "edges_per_s_write_only"),
                opt(f("get_node").filter(|_| first), thousands),
                opt(f("disk_bytes").filter(|_| first), mib),
                opt(
                    f("disk_bytes_allocated")
                        .or_else(|| f("disk_bytes_flushed"))
                        .filter(|_| first),
                    mib
                ),
                opt(f("peak_rss_bytes").filter(|_| first), mib),
            );
        }
    }
    println!();
    println!(
        "n/e vs raw: graph-layer throughput / raw write-only throughput of the same bytes and options. \
         disk MiB: file sizes right after ingestion; du MiB: blocks allocated after a flush and close \
         (fjall preallocates its journal files)."
    );
    print_reads(medians);
    if medians.contains_key(&Config::SingleStrict) {
        let s = |k: &str| get(Config::SingleStrict, k);
        println!(
            "single create_node, Strict: 1 writer {}/s, {} writers {}/s ({}x); \
             raw synced RocksDB writes: 1 writer {}/s, {} writers {}/s ({}x)",
            opt(s("single_1_per_s"), thousands),
            args.single_threads,
            opt(s("single_k_per_s"), thousands),
            opt(s("single_scaling"), |v| format!("{v:.2}")),
            opt(s("raw_single_1_per_s"), thousands),
            args.single_threads,
            opt(s("raw_single_k_per_s"), thousands),
            opt(s("raw_single_scaling"), |v| format!("{v:.2}")),
        );
    }
    for c in [
        Config::RawMemory,
        Config::RawRocksdbBackground,
        Config::RawRocksdbStrict,
    ] {
        if let (Some(gn), Some(ge), Some(pn), Some(pe)) = (
            get(c, "node_generate_secs"),
            get(c, "edge_generate_secs"),
            get(c, "node_prepare_secs"),
            get(c, "edge_prepare_secs"),
        ) {
            println!(
                "{}: generating the items takes {:.2}s (nodes) + {:.2}s (edges); generating and encoding them {:.2}s + {:.2}s",
                c.name(),
                gn,
                ge,
                pn,
                pe
            );
            break;
        }
    }
    println!();
}

/// Reads after ingestion, one table per configuration: each read of
/// [`reads::READS`] through the graph API beside the backend's raw read of
/// the same keys, and their ratio (the median of the rounds' paired ratios, see
/// `bench::reads`); then those of [`reads::UNCACHED_READS`]
/// with the small block cache.
fn print_reads(medians: &BTreeMap<Config, Metrics>) {
    for (config, m) in medians {
        if !m.contains_key("get_node") {
            continue;
        }
        println!(
            "| {:<46} | {:>9} | {:>13} | {:>13} | {:>5} |",
            format!("reads on {}", config.name()),
            "unit",
            "graph",
            "raw",
            "ratio"
        );
        println!(
            "|{:-<48}|{:->11}|{:->15}|{:->15}|{:->7}|",
            "", "", "", "", ""
        );
        let rows = reads::READS
            .iter()
            .map(|r| (r.name.to_owned(), r.what.to_owned(), r.unit))
            .chain(reads::UNCACHED_READS.iter().filter_map(|name| {
                let r = reads::READS.iter().find(|r| r.name == *name)?;
                Some((
                    format!("{name}_uncached"),
                    format!("{}, small cache", r.what),
                    r.unit,
                ))
            }));
        for (name, what, unit) in rows {
            let (g, r) = (
                m.get(&name).copied(),
                m.get(&format!("{name}_raw")).copied(),
            );
            if g.is_none() {
                continue;
            }
            println!(
                "| {:<46} | {:>9} | {:>13} | {:>13} | {:>5} |",
                what,
                unit,
                opt(g, thousands),
                opt(r, thousands),
                match (m.get(&format!("{name}_ratio")), g, r) {
                    (Some(q), _, _) => format!("{q:.2}"),
                    (None, Some(g), Some(r)) if r > 0.0 => format!("{:.2}", g / r),
                    _ => "-".into(),
                }
            );
        }
        if let Some(secs) = m.get("index_build_secs") {
            println!(
                "(index on ({}, {}) built over the ingested store in {secs:.2}s)",
                reads::INDEXED.0,
                reads::INDEXED.1
            );
        }
        println!();
    }
}

fn check_targets(get: &dyn Fn(Config, &str) -> Option<f64>) -> Vec<TargetCheck> {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let bg = |k: &str| get(Config::RocksdbBackground, k);
    let strict = |k: &str| get(Config::RocksdbStrict, k);
    let raw = |k: &str| get(Config::RawRocksdbBackground, k);
    let sorted = |k: &str| get(Config::RawRocksdbSorted, k);
    // The median of the rounds' paired ratios (`bench::reads`), or the
    // ratio of the medians from results written before it existed.
    let read =
        |k: &str| bg(&format!("{k}_ratio")).or_else(|| ratio(bg(k), bg(&format!("{k}_raw"))));
    let bulk = |k: &str| get(Config::BulkRocksdb, k);
    let list: Vec<(&str, f64, Option<f64>)> = vec![
        ("Bulk load: nodes/s", 1_500_000.0, bulk("nodes_per_s")),
        ("Bulk load: edges/s", 500_000.0, bulk("edges_per_s")),
        (
            "Bulk load / RocksDB Background batches: nodes",
            3.0,
            ratio(bulk("nodes_per_s"), bg("nodes_per_s")),
        ),
        (
            "Bulk load / RocksDB Background batches: edges",
            3.0,
            ratio(bulk("edges_per_s"), bg("edges_per_s")),
        ),
        (
            "RocksDB Background: nodes/s",
            1_000_000.0,
            bg("nodes_per_s"),
        ),
        ("RocksDB Background: edges/s", 600_000.0, bg("edges_per_s")),
        (
            "RocksDB Background / raw write batches: nodes",
            0.85,
            ratio(bg("nodes_per_s"), raw("nodes_per_s_write_only")),
        ),
        (
            "RocksDB Background / raw write batches: edges",
            0.85,
            ratio(bg("edges_per_s"), raw("edges_per_s_write_only")),
        ),
        (
            "RocksDB Background / raw sorted, end to end: nodes",
            0.85,
            ratio(bg("nodes_per_s"), sorted("nodes_per_s")),
        ),
        (
            "RocksDB Background / raw sorted, end to end: edges",
            0.85,
            ratio(bg("edges_per_s"), sorted("edges_per_s")),
        ),
        ("RocksDB get_node / raw get (cached)", 0.9, read("get_node")),
        (
            "RocksDB get_nodes / raw multi_get (cached)",
            0.9,
            read("get_nodes_100"),
        ),
        (
            "RocksDB with_node (in place) / raw get (cached)",
            0.9,
            read("with_node"),
        ),
        (
            "RocksDB with_nodes (in place) / raw multi_get (cached)",
            0.9,
            read("with_nodes_100"),
        ),
        (
            "RocksDB neighbors / raw prefix scan (cached)",
            0.7,
            read("neighbors_out"),
        ),
        (
            "RocksDB neighbors / raw prefix scan (small cache)",
            0.7,
            read("neighbors_out_uncached"),
        ),
        (
            "Memory backend / its raw path, end to end: nodes",
            0.85,
            ratio(
                get(Config::Memory, "nodes_per_s"),
                get(Config::RawMemory, "nodes_per_s"),
            ),
        ),
        (
            "Memory backend / its raw path, end to end: edges",
            0.85,
            ratio(
                get(Config::Memory, "edges_per_s"),
                get(Config::RawMemory, "edges_per_s"),
            ),
        ),
        (
            "RocksDB Strict (batched) / Background: nodes",
            0.85,
            ratio(strict("nodes_per_s"), bg("nodes_per_s")),
        ),
        (
            "RocksDB Strict (batched) / Background: edges",
            0.85,
            ratio(strict("edges_per_s"), bg("edges_per_s")),
        ),
        (
            "Strict single creates: N writers / 1 writer",
            3.0,
            get(Config::SingleStrict, "single_scaling"),
        ),
        (
            "RocksDB get_node lookups/s (cached)",
            1_000_000.0,
            bg("get_node"),
        ),
        (
            "Memory backend: nodes/s",
            3_000_000.0,
            get(Config::Memory, "nodes_per_s"),
        ),
    ];
    list.into_iter()
        .map(|(target, required, measured)| {
            let met = measured.map(|v| v >= required);
            TargetCheck {
                target: target.to_owned(),
                required,
                measured,
                met,
                shortfall: measured.map(|v| ((required - v) / required).max(0.0)),
            }
        })
        .collect()
}

fn print_targets(targets: &[TargetCheck]) {
    let show = |v: f64| {
        if v < 100.0 {
            format!("{v:.2}")
        } else {
            thousands(v)
        }
    };
    println!(
        "| {:<46} | {:>12} | {:>11} | {:<22} |",
        "target", "required", "measured", "result"
    );
    println!("|{:-<48}|{:->14}|{:->13}|{:-<24}|", "", "", "", "");
    for t in targets {
        let result = match (t.met, t.shortfall) {
            (Some(true), _) => "met".to_owned(),
            (Some(false), Some(s)) => format!("MISSED by {:.0}%", s * 100.0),
            _ => "not measured".to_owned(),
        };
        println!(
            "| {:<46} | {:>12} | {:>11} | {:<22} |",
            t.target,
            format!(">= {}", show(t.required)),
            opt(t.measured, show),
            result
        );
    }
    println!();
    println!("Missing a target is reported, not a failure.");
}
