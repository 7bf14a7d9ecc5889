//! What each of the store's RocksDB options earns on the workload: the
//! same key and value bytes (those the graph layer writes, sorted per batch
//! as it sorts them) written into RocksDB opened with the store's options,
//! with each non-default option put back to RocksDB's default in turn
//! (`storage_rocksdb::Ablation`), with RocksDB's plain options, and with the
//! sizes of `RocksDbConfig` changed (write buffers, background jobs, block
//! cache). For each variant: write-only nodes/s and edges/s, the flush that
//! follows, the disk used, random point reads and adjacency prefix scans
//! (after one warm-up pass). Variants run round-robin with `--repeat`, and
//! the table shows medians and each figure's ratio to the store's options.
//! See BENCHMARKS.md, "RocksDB options".

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bench::raw::{RawEncoder, RawEngine, RawRocksDb};
use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, ItemRng, Workload};
use bench::{BoxResult, sys};
use clap::Parser;
use graph_core::codec::{self, AdjacencyDir, AdjacencyKey};
use graph_core::{ColumnFamily, NodeId, Timestamp, WriteBatch};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;
use storage_rocksdb::{Ablation, RocksDbConfig};

/// Writes the workload's bytes into RocksDB under each variant of the
/// store's options and reads them back; prints a table of medians and
/// writes JSON.
#[derive(Parser, Debug)]
#[command(name = "rocksdb_options", version)]
struct Args {
    /// Nodes to write.
    #[arg(long, default_value_t = 1_000_000)]
    nodes: u64,
    /// Edges to write.
    #[arg(long, default_value_t = 2_000_000)]
    edges: u64,
    /// Nodes or edges per write batch.
    #[arg(long, default_value_t = 10_000)]
    batch_size: u64,
    /// Random point reads per variant (adjacency scans start from a tenth
    /// as many nodes).
    #[arg(long, default_value_t = 200_000)]
    lookups: u64,
    /// Variants to run, comma-separated (default: all; see --list).
    #[arg(long, value_delimiter = ',')]
    variants: Vec<String>,
    /// Print the variants and exit.
    #[arg(long)]
    list: bool,
    /// Rounds over all variants; the table shows medians.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Seed of the synthetic graph.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Directory in which databases are created (and removed); default:
    /// the system's temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "rocksdb-options.json")]
    json: PathBuf,
}

/// A change of `RocksDbConfig`'s sizes.
type Resize = fn(&mut RocksDbConfig);

/// How a variant differs from the store's options.
#[derive(Debug, Clone, Copy)]
enum Change {
    None,
    Without(Ablation),
    Config(Resize),
    /// A choice reversed on a resized configuration.
    Both(Ablation, Resize),
}

/// The variants: the store's options first (the reference of every ratio).
fn variants() -> Vec<(String, Change)> {
    let mut v: Vec<(String, Change)> = vec![("store".into(), Change::None)];
    v.extend(
        Ablation::ALL
            .iter()
            .map(|a| (a.name().to_owned(), Change::Without(*a))),
    );
    let configs: [(&str, Resize); 6] = [
        ("write-buffers-2", |c| c.max_write_buffer_number = 2),
        ("write-buffer-16MiB", |c| c.write_buffer_size = 16 << 20),
        ("background-jobs-1", |c| c.background_jobs = 1),
        ("background-jobs-4", |c| c.background_jobs = 4),
        ("block-cache-8MiB", |c| c.block_cache_bytes = 8 << 20),
        ("block-cache-1GiB", |c| c.block_cache_bytes = 1 << 30),
    ];
    v.extend(
        configs
            .into_iter()
            .map(|(n, f)| (n.to_owned(), Change::Config(f))),
    );
    // What the partitioned index does for a store much larger than its
    // cache (about 25 times here).
    v.push((
        "no-partitioned-index-8MiB-cache".into(),
        Change::Both(Ablation::PartitionedIndex, |c| {
            c.block_cache_bytes = 8 << 20;
        }),
    ));
    v
}

type Metrics = BTreeMap<String, f64>;

fn main() -> BoxResult<()> {
    let args = Args::parse();
    let all = variants();
    if args.list {
        for (name, _) in &all {
            println!("{name}");
        }
        return Ok(());
    }
    if args.batch_size == 0 || args.repeat == 0 {
        return Err("--batch-size and --repeat must be at least 1".into());
    }
    let chosen: Vec<(String, Change)> = if args.variants.is_empty() {
        all
    } else {
        args.variants
            .iter()
            .map(|name| {
                all.iter()
                    .find(|(n, _)| n == name)
                    .cloned()
                    .ok_or_else(|| format!("unknown variant {name:?}; --list shows them"))
            })
            .collect::<Result<_, _>>()?
    };
    let w = Workload::new(args.nodes, args.edges, args.seed, DEFAULT_ZIPF_EXPONENT)?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut runs: BTreeMap<String, Vec<Metrics>> = BTreeMap::new();
    let total = args.repeat * chosen.len();
    let mut done = 0;
    for _ in 0..args.repeat {
        for (name, change) in &chosen {
            done += 1;
            eprintln!("[{done}/{total}] {name}");
            let dir = tempfile::Builder::new()
                .prefix("rocksdb-options-")
                .tempdir_in(&parent)?;
            let m = run_variant(&w, &args, *change, &dir.path().join("db"))?;
            runs.entry(name.clone()).or_default().push(m);
        }
    }
    let medians: BTreeMap<String, Metrics> = runs
        .iter()
        .map(|(name, ms)| (name.clone(), medians(ms)))
        .collect();
    print_table(&args, &chosen, &medians);
    let json = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": sys::machine(),
        "params": {
            "nodes": args.nodes,
            "edges": args.edges,
            "batch_size": args.batch_size,
            "lookups": args.lookups,
            "repeat": args.repeat,
            "seed": args.seed,
        },
        "medians": medians,
        "runs": runs,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)? + "\n")?;
    eprintln!("results written to {}", args.json.display());
    Ok(())
}

fn medians(ms: &[Metrics]) -> Metrics {
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for m in ms {
        for (k, v) in m {
            by.entry(k).or_default().push(*v);
        }
    }
    by.into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            (k.to_owned(), v[v.len() / 2])
        })
        .collect()
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn run_variant(
    w: &Workload,
    args: &Args,
    change: Change,
    path: &std::path::Path,
) -> BoxResult<Metrics> {
    let mut config = RocksDbConfig::default();
    let db = match change {
        Change::None => RawRocksDb::open(path, &config)?,
        Change::Without(a) => RawRocksDb::open_without(path, &config, a)?,
        Change::Config(f) => {
            f(&mut config);
            RawRocksDb::open(path, &config)?
        }
        Change::Both(a, f) => {
            f(&mut config);
            RawRocksDb::open_without(path, &config, a)?
        }
    };
    let mut m = Metrics::new();
    if let Some(load) = sys::load_average() {
        m.insert("load_start".into(), load);
    }
    let pb = ProgressBar::with_draw_target(Some(w.nodes + w.edges), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:12} {wide_bar} {pos}/{len} ({per_sec})") {
        pb.set_style(style);
    }
    pb.set_message("nodes");
    let mut enc = RawEncoder::new(Timestamp(1_764_000_000_000_000));
    let mut wb = WriteBatch::new();
    let mut write_phase =
        |total: u64,
         encode: &mut dyn FnMut(std::ops::Range<u64>, &mut WriteBatch) -> BoxResult<()>|
         -> BoxResult<Duration> {
            let mut spent = Duration::ZERO;
            let mut start = 0;
            while start < total {
                let end = (start + args.batch_size).min(total);
                wb.clear();
                encode(start..end, &mut wb)?;
                wb.sort_by_key();
                let t = Instant::now();
                db.write(&wb, false)?;
                spent += t.elapsed();
                pb.inc(end - start);
                start = end;
            }
            Ok(spent)
        };
    let node_time = write_phase(w.nodes, &mut |r, b| Ok(enc.nodes(w, r, b)?))?;
    pb.set_message("edges");
    let edge_time = write_phase(w.edges, &mut |r, b| Ok(enc.edges(w, r, b)?))?;
    pb.set_message("flush");
    let t = Instant::now();
    db.flush()?;
    let flush_time = t.elapsed();
    pb.finish_and_clear();
    m.insert("nodes_per_s".into(), per_sec(w.nodes, node_time));
    m.insert("edges_per_s".into(), per_sec(w.edges, edge_time));
    m.insert("flush_secs".into(), flush_time.as_secs_f64());
    m.insert("disk_bytes".into(), sys::dir_size(path)? as f64);

    // Reads: random point reads of node records, then out-adjacency
    // prefix scans of random nodes; one warm-up pass of each first.
    let mut rng = ItemRng::new(args.seed, 0x6f70_7473, 0);
    let keys: Vec<[u8; 8]> = (0..args.lookups)
        .map(|_| codec::node_key(NodeId(rng.gen_range(0..w.nodes.max(1)))))
        .collect();
    let scans: Vec<[u8; 9]> = keys[..(keys.len() / 10).max(1).min(keys.len())]
        .iter()
        .map(|k| AdjacencyKey::node_prefix(AdjacencyDir::Out, NodeId(u64::from_be_bytes(*k))))
        .collect();
    if !keys.is_empty() {
        let gets = || -> BoxResult<u64> {
            let mut found = 0;
            for k in &keys {
                found += u64::from(black_box(db.value_len(ColumnFamily::Nodes, k)?).is_some());
            }
            Ok(found)
        };
        let scan = || -> BoxResult<u64> {
            let mut n = 0;
            for p in &scans {
                n += db.count_prefix(ColumnFamily::Indices, p)?;
            }
            Ok(n)
        };
        if gets()? != keys.len() as u64 {
            return Err("a point read missed a node the variant wrote".into());
        }
        let t = Instant::now();
        gets()?;
        m.insert("gets_per_s".into(), per_sec(keys.len() as u64, t.elapsed()));
        scan()?;
        let t = Instant::now();
        let edges = scan()?;
        m.insert("scan_edges_per_s".into(), per_sec(edges, t.elapsed()));
    }
    if let Some(load) = sys::load_average() {
        m.insert("load_end".into(), load);
    }
    Ok(m)
}

fn print_table(args: &Args, chosen: &[(String, Change)], medians: &BTreeMap<String, Metrics>) {
    println!(
        "RocksDB options on the workload's bytes: {} nodes, {} edges, batches of {} sorted by key, \
         write only, no sync; medians of {} round(s); ratios to the store's options",
        args.nodes, args.edges, args.batch_size, args.repeat
    );
    println!();
    println!(
        "| {:<26} | {:>16} | {:>16} | {:>9} | {:>14} | {:>16} | {:>19} |",
        "variant", "nodes/s", "edges/s", "flush s", "disk MiB", "gets/s", "scan edges/s"
    );
    println!(
        "|{:-<28}|{:->18}|{:->18}|{:->11}|{:->16}|{:->18}|{:->21}|",
        "", "", "", "", "", "", ""
    );
    let base = medians.get("store");
    for (name, _) in chosen {
        let Some(m) = medians.get(name) else { continue };
        let cell = |k: &str, scale: f64, digits: usize| {
            let Some(v) = m.get(k) else {
                return "-".to_owned();
            };
            let shown = format!("{:.*}", digits, v / scale);
            match base.and_then(|b| b.get(k)) {
                Some(b) if *b > 0.0 && name != "store" => format!("{shown} ({:.2})", v / b),
                _ => shown,
            }
        };
        println!(
            "| {:<26} | {:>16} | {:>16} | {:>9} | {:>14} | {:>16} | {:>19} |",
            name,
            cell("nodes_per_s", 1.0, 0),
            cell("edges_per_s", 1.0, 0),
            cell("flush_secs", 1.0, 2),
            cell("disk_bytes", (1u64 << 20) as f64, 0),
            cell("gets_per_s", 1.0, 0),
            cell("scan_edges_per_s", 1.0, 0),
        );
    }
    println!();
}
