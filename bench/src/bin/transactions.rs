//! Small read-modify-write transactions per second: graph-storage's
//! transactions against RocksDB's own `OptimisticTransactionDB` doing the
//! same reads and writes, in one run.
//!
//! Each transaction moves 1 from one account node to another: it reads
//! both node records, decodes them, changes a `balance` property and
//! writes both back. Systems:
//! * `optimistic`: `GraphStore::transaction` (retried on conflict);
//! * `exclusive`: `GraphStore::begin_exclusive` (one at a time);
//! * `raw`: an `OptimisticTransactionDB` opened with the store's exact
//!   options, the same node records under the same keys, read with
//!   `get_for_update`, decoded and encoded by the same codec, committed
//!   (retried on `Busy`/`TryAgain`).
//!
//! Contention: `cold` picks accounts among `--accounts` (conflicts rare),
//! `hot` among `--hot` (most transactions touch what another is
//! changing). Figures are medians of `--repeat` runs; compare the ratio
//! against `raw` within one run, never absolute figures across machines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bench::sys;
use clap::Parser;
use graph_core::codec;
use graph_core::{
    ColumnFamily, Durability, ErrorKind, NodeId, Properties, PropertyValue, ReadView,
};
use graph_storage::{GraphStore, RocksDbBackend, RocksDbConfig, StoreOptions, Transaction};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rocksdb::{
    ErrorKind as RocksErrorKind, OptimisticTransactionDB, OptimisticTransactionOptions,
    WriteOptions,
};
use serde_json::json;

type BoxResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Read-modify-write transactions per second: graph-storage (optimistic
/// and exclusive) against RocksDB's OptimisticTransactionDB.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Accounts for the uncontended (`cold`) runs.
    #[arg(long, default_value_t = 100_000)]
    accounts: u64,
    /// Accounts for the contended (`hot`) runs.
    #[arg(long, default_value_t = 4)]
    hot: u64,
    /// Transactions per thread per configuration.
    #[arg(long, default_value_t = 2_000)]
    txns: u64,
    /// Thread counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,8")]
    threads: Vec<usize>,
    /// Durabilities, comma-separated (`strict`, `background`).
    #[arg(long, value_delimiter = ',', default_value = "strict,background")]
    durability: Vec<String>,
    /// Systems to run, comma-separated (`raw`, `optimistic`, `exclusive`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "raw,optimistic,exclusive"
    )]
    systems: Vec<String>,
    /// Runs; the figures are medians.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Where the stores go (a temporary directory by default).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum System {
    Raw,
    Optimistic,
    Exclusive,
}

impl System {
    const ALL: [System; 3] = [System::Raw, System::Optimistic, System::Exclusive];

    fn name(self) -> &'static str {
        match self {
            System::Raw => "raw",
            System::Optimistic => "optimistic",
            System::Exclusive => "exclusive",
        }
    }
}

/// One configuration's outcome.
#[derive(Debug, Clone, Copy, Default)]
struct Outcome {
    txns_per_s: f64,
    /// Attempts that failed with a conflict, per committed transaction.
    retries_per_txn: f64,
}

fn balance_of(props: &Properties) -> BoxResult<i64> {
    match props.get("balance") {
        Some(PropertyValue::Int(v)) => Ok(*v),
        other => Err(format!("balance is {other:?}").into()),
    }
}

/// Two distinct accounts among `accounts` (at least 2).
fn pick(rng: &mut StdRng, accounts: u64) -> (NodeId, NodeId) {
    let a = rng.gen_range(0..accounts);
    let mut b = rng.gen_range(0..accounts - 1);
    if b >= a {
        b += 1;
    }
    (NodeId(a), NodeId(b))
}

/// Runs `txn` `per_thread` times on each of `threads` threads; returns
/// transactions per second and the retries counted by `txn`.
fn drive(
    threads: usize,
    per_thread: u64,
    accounts: u64,
    seed: u64,
    txn: impl Fn(NodeId, NodeId, &AtomicU64) -> BoxResult + Sync,
) -> BoxResult<Outcome> {
    let retries = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| -> BoxResult {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (txn, retries) = (&txn, &retries);
                s.spawn(move || -> BoxResult {
                    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t as u64));
                    for _ in 0..per_thread {
                        let (a, b) = pick(&mut rng, accounts);
                        txn(a, b, retries)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "a worker panicked")??;
        }
        Ok(())
    })?;
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let total = threads as u64 * per_thread;
    Ok(Outcome {
        txns_per_s: total as f64 / elapsed,
        retries_per_txn: retries.load(Ordering::Relaxed) as f64 / total as f64,
    })
}

/// The transfer in a graph-storage transaction.
fn transfer(
    tx: &mut Transaction<'_, RocksDbBackend>,
    a: NodeId,
    b: NodeId,
) -> graph_core::Result<()> {
    let read = |tx: &Transaction<'_, RocksDbBackend>, id: NodeId| -> graph_core::Result<i64> {
        let node = tx
            .read()
            .get_node(id)?
            .ok_or(graph_core::Error::NodeNotFound(id))?;
        balance_of(&node.properties).map_err(|e| graph_core::Error::invalid(e.to_string()))
    };
    let from = read(tx, a)?;
    if from < 1 {
        return Ok(());
    }
    let to = read(tx, b)?;
    tx.set_node_property(a, "balance", PropertyValue::Int(from - 1))?;
    tx.set_node_property(b, "balance", PropertyValue::Int(to + 1))
}

fn open_store(
    dir: &Path,
    durability: Durability,
    accounts: u64,
) -> BoxResult<GraphStore<RocksDbBackend>> {
    let store = GraphStore::open_with(
        RocksDbBackend::open(dir)?,
        StoreOptions::default()
            .durability(durability)
            .adjacency(false),
    )?;
    let mut batch = store.batch();
    for _ in 0..accounts {
        batch.create_node(
            &["Account"],
            Properties::from([("balance".to_owned(), PropertyValue::Int(1_000))]),
        )?;
    }
    batch.commit()?;
    Ok(store)
}

fn run_ours(
    system: System,
    dir: &Path,
    durability: Durability,
    accounts: u64,
    threads: usize,
    args: &Args,
    seed: u64,
) -> BoxResult<Outcome> {
    let store = open_store(dir, durability, accounts)?;
    drive(threads, args.txns, accounts, seed, |a, b, retries| {
        match system {
            System::Optimistic => {
                let mut first = true;
                store.transaction(|tx| {
                    if !first {
                        retries.fetch_add(1, Ordering::Relaxed);
                    }
                    first = false;
                    transfer(tx, a, b)
                })?;
            }
            _ => loop {
                let mut tx = store.begin_exclusive()?;
                transfer(&mut tx, a, b)?;
                match tx.commit() {
                    Err(e) if e.kind() == ErrorKind::Conflict => {
                        retries.fetch_add(1, Ordering::Relaxed);
                    }
                    other => break other?,
                }
            },
        }
        Ok(())
    })
}

fn run_raw(
    dir: &Path,
    durability: Durability,
    accounts: u64,
    threads: usize,
    args: &Args,
    seed: u64,
) -> BoxResult<Outcome> {
    let (opts, cfs) = storage_rocksdb::rocksdb_options(&RocksDbConfig::default(), true);
    let db: OptimisticTransactionDB =
        OptimisticTransactionDB::open_cf_descriptors(&opts, dir, cfs)?;
    let nodes = db
        .cf_handle(ColumnFamily::Nodes.name())
        .ok_or("no nodes family")?;
    {
        // The same records as the store's batch writes.
        let store_dir = dir.join("records");
        let store = open_store(&store_dir, Durability::Background, accounts)?;
        let reader = store.reader();
        let txn = db.transaction();
        for id in 0..accounts {
            let key = codec::node_key(NodeId(id));
            let value = reader
                .view()
                .get(ColumnFamily::Nodes, &key)?
                .ok_or("account record missing")?;
            txn.put_cf(&nodes, key, value)?;
        }
        txn.commit()?;
    }
    let mut wo = WriteOptions::default();
    wo.set_sync(durability == Durability::Strict);
    let topts = OptimisticTransactionOptions::default();
    drive(threads, args.txns, accounts, seed, |a, b, retries| {
        loop {
            let txn = db.transaction_opt(&wo, &topts);
            let (ka, kb) = (codec::node_key(a), codec::node_key(b));
            let va = txn.get_for_update_cf(&nodes, ka, true)?.ok_or("missing")?;
            let mut na = codec::decode_node(&ka, &va)?;
            let from = balance_of(&na.properties)?;
            if from < 1 {
                break;
            }
            let vb = txn.get_for_update_cf(&nodes, kb, true)?.ok_or("missing")?;
            let mut nb = codec::decode_node(&kb, &vb)?;
            let to = balance_of(&nb.properties)?;
            na.properties
                .insert("balance".to_owned(), PropertyValue::Int(from - 1));
            nb.properties
                .insert("balance".to_owned(), PropertyValue::Int(to + 1));
            let mut buf = Vec::new();
            codec::encode_node(&na, &mut buf)?;
            txn.put_cf(&nodes, ka, &buf)?;
            buf.clear();
            codec::encode_node(&nb, &mut buf)?;
            txn.put_cf(&nodes, kb, &buf)?;
            match txn.commit() {
                Ok(()) => break,
                Err(e) if matches!(e.kind(), RocksErrorKind::Busy | RocksErrorKind::TryAgain) => {
                    retries.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

type Key = (String, &'static str, usize, System);

fn main() -> BoxResult {
    let args = Args::parse();
    let scratch = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::tempdir_in(d)?
        }
        None => tempfile::tempdir()?,
    };
    let mut runs: BTreeMap<Key, Vec<Outcome>> = BTreeMap::new();
    let mut n = 0u64;
    for round in 0..args.repeat.max(1) {
        for d in &args.durability {
            let durability = match d.as_str() {
                "strict" => Durability::Strict,
                "background" => Durability::Background,
                other => {
                    return Err(
                        format!("--durability: unknown {other:?} (strict, background)").into(),
                    );
                }
            };
            for (contention, accounts) in [("cold", args.accounts), ("hot", args.hot.max(2))] {
                for &threads in &args.threads {
                    for system in System::ALL {
                        if !args.systems.iter().any(|s| s == system.name()) {
                            continue;
                        }
                        n += 1;
                        let dir = scratch.path().join(format!("run-{n}"));
                        let seed = 42 + round as u64;
                        let outcome = match system {
                            System::Raw => {
                                run_raw(&dir, durability, accounts, threads, &args, seed)?
                            }
                            _ => {
                                run_ours(system, &dir, durability, accounts, threads, &args, seed)?
                            }
                        };
                        std::fs::remove_dir_all(&dir)?;
                        eprintln!(
                            "round {round}: {d} {contention} {threads} thread(s) {}: {:.0} txn/s, {:.2} retries/txn",
                            system.name(),
                            outcome.txns_per_s,
                            outcome.retries_per_txn
                        );
                        runs.entry((d.clone(), contention, threads, system))
                            .or_default()
                            .push(outcome);
                    }
                }
            }
        }
    }
    let mut rows = Vec::new();
    println!(
        "{:<10} {:<5} {:>7} {:>12} {:>12} {:>12} {:>8} {:>8} {:>14}",
        "durability",
        "load",
        "threads",
        "raw txn/s",
        "optim. txn/s",
        "excl. txn/s",
        "opt/raw",
        "exc/raw",
        "retries o/e/r"
    );
    let keys: Vec<(String, &'static str, usize)> = {
        let mut k: Vec<_> = runs
            .keys()
            .map(|(d, c, t, _)| (d.clone(), *c, *t))
            .collect();
        k.dedup();
        k
    };
    for (d, c, t) in keys {
        let fig = |s: System| -> (f64, f64) {
            let list = runs.get(&(d.clone(), c, t, s)).cloned().unwrap_or_default();
            let mut tps: Vec<f64> = list.iter().map(|o| o.txns_per_s).collect();
            let mut rt: Vec<f64> = list.iter().map(|o| o.retries_per_txn).collect();
            (median(&mut tps), median(&mut rt))
        };
        let (raw, rr) = fig(System::Raw);
        let (opt, ro) = fig(System::Optimistic);
        let (exc, re) = fig(System::Exclusive);
        println!(
            "{:<10} {:<5} {:>7} {:>12.0} {:>12.0} {:>12.0} {:>8.2} {:>8.2} {:>14}",
            d,
            c,
            t,
            raw,
            opt,
            exc,
            opt / raw,
            exc / raw,
            format!("{ro:.2}/{re:.2}/{rr:.2}")
        );
        rows.push(json!({
            "durability": d, "contention": c, "threads": t,
            "raw_txns_per_s": raw, "optimistic_txns_per_s": opt, "exclusive_txns_per_s": exc,
            "optimistic_over_raw": opt / raw, "exclusive_over_raw": exc / raw,
            "retries_per_txn": {"optimistic": ro, "exclusive": re, "raw": rr},
        }));
    }
    if let Some(path) = &args.json {
        let out = json!({
            "bench": "transactions",
            "args": {
                "accounts": args.accounts, "hot": args.hot, "txns": args.txns,
                "threads": args.threads, "durability": args.durability, "repeat": args.repeat,
            },
            "machine": sys::machine(),
            "load_average": sys::load_average(),
            "rows": rows,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&out)?)?;
    }
    Ok(())
}
