//! The process the crash tests kill.
//!
//! It works on a RocksDB store, or on a fjall store when its first
//! argument is `--backend=fjall` (`--backend=rocksdb` is the default), and
//! prints one line per event to stdout,
//! flushed at once, so the parent knows exactly what was acknowledged when
//! it sends SIGKILL:
//!
//! * `stream DIR SEED strict|background STEPS`: opens a new store and runs
//!   the seeded [`Workload`] (single mutations, batches, index changes),
//!   printing `opened`, then `ack N` after step N returned `Ok`, then `done`.
//! * `churn DIR SEED STEPS`: opens (recovers) an existing store or creates
//!   one, and commits batches that create nodes and edges and detach-delete
//!   old nodes; before each commit it prints
//!   `begin N create=ID,ID.. delete=ID..`, after it `ack N`.
//! * `transfers DIR SEED STEPS`: opens (recovers) an existing store or
//!   creates one with 8 `Account` nodes (`balance` 1000, `moves` 0), then
//!   two threads each run `STEPS` transactions: move an amount between
//!   two accounts, add 1 to both `moves`, create a `Receipt` node (`step`)
//!   with a `FROM` edge to the first account. Before each commit a thread
//!   prints `begin SEED:T-I`, after it `ack SEED:T-I`.
//! * `hold DIR NODES`: opens the store, commits `NODES` nodes (`ack ID`
//!   each), prints `holding` and keeps the store (and its lock) open until
//!   stdin closes.
//! * `inspect DIR`: opens the store, reads every key of every column family
//!   and every record, runs `verify`, and prints what it found
//!   (`fingerprint`, `canonical`, `entries`, `verify`, or `open-error`,
//!   `read-error` with the error kind). It always exits 0 unless something
//!   panics or aborts.
//!
//! Any unexpected error prints `error ...` and exits with status 2.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use graph_core::{Durability, ErrorKind, NodeId, Properties, PropertyValue, Result};
use graph_storage::{FjallBackend, GraphStore, ManualClock, RocksDbBackend, StoreOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::DiskBackend;
use tests::workload::{Dump, Workload};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        // The parent is gone (its end of the pipe is closed, which a live
        // parent does only after killing us): nobody will kill or wait for
        // this process, so stop now, as if killed, rather than keep
        // writing into a directory that may be removed.
        std::process::exit(3);
    }
}

fn open<B: DiskBackend>(dir: &str, durability: Durability) -> Result<GraphStore<B>> {
    let options = StoreOptions::default()
        .clock(Arc::new(ManualClock::new(1_000, 1)))
        .durability(durability);
    GraphStore::open_with(B::open_dir(std::path::Path::new(dir))?, options)
}

fn arg<T: std::str::FromStr>(
    args: &[String],
    i: usize,
    what: &str,
) -> std::result::Result<T, String> {
    args.get(i)
        .ok_or_else(|| format!("missing argument {what}"))?
        .parse()
        .map_err(|_| format!("bad argument {what}: {:?}", args.get(i)))
}

fn stream<B: DiskBackend>(args: &[String]) -> std::result::Result<(), String> {
    let dir: String = arg(args, 2, "DIR")?;
    let seed: u64 = arg(args, 3, "SEED")?;
    let durability = match arg::<String>(args, 4, "DURABILITY")?.as_str() {
        "strict" => Durability::Strict,
        "background" => Durability::Background,
        other => return Err(format!("unknown durability {other}")),
    };
    let steps: u64 = arg(args, 5, "STEPS")?;
    let store = open::<B>(&dir, durability).map_err(|e| format!("open: {e}"))?;
    say("opened");
    let mut w = Workload::new(seed);
    for i in 0..steps {
        w.step(&store).map_err(|e| format!("step {i}: {e}"))?;
        say(&format!("ack {i}"));
    }
    say("done");
    Ok(())
}

fn join(ids: &[NodeId]) -> String {
    ids.iter()
        .map(|n| n.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn churn<B: DiskBackend>(args: &[String]) -> std::result::Result<(), String> {
    let dir: String = arg(args, 2, "DIR")?;
    let seed: u64 = arg(args, 3, "SEED")?;
    let steps: u64 = arg(args, 4, "STEPS")?;
    let store = open::<B>(&dir, Durability::Strict).map_err(|e| format!("open: {e}"))?;
    say("opened");
    if store.indexes().is_empty() {
        store
            .create_index("C", "seq")
            .map_err(|e| format!("index: {e}"))?;
    }
    let mut nodes = store
        .reader()
        .node_ids()
        .map_err(|e| format!("node ids: {e}"))?;
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..steps {
        let mut batch = store.batch();
        let mut created = Vec::new();
        for _ in 0..rng.gen_range(1..=3) {
            let label = if rng.gen_bool(0.8) {
                "C".to_owned()
            } else {
                format!("D{}", rng.gen_range(0..8))
            };
            let props = Properties::from([
                ("seq".to_owned(), PropertyValue::Int(i as i64)),
                ("seed".to_owned(), PropertyValue::Int(seed as i64)),
            ]);
            let id = batch
                .create_node(&[&label], props)
                .map_err(|e| format!("reserve: {e}"))?;
            created.push(id);
        }
        let mut pool: Vec<NodeId> = nodes.iter().chain(&created).copied().collect();
        for _ in 0..rng.gen_range(0..=3) {
            let s = pool[rng.gen_range(0..pool.len())];
            let d = pool[rng.gen_range(0..pool.len())];
            batch
                .create_edge(s, d, "E", Properties::new())
                .map_err(|e| format!("reserve: {e}"))?;
        }
        let mut deleted = Vec::new();
        if !nodes.is_empty() && rng.gen_bool(0.4) {
            let victim = nodes[rng.gen_range(0..nodes.len())];
            batch.delete_node(victim, true);
            deleted.push(victim);
        }
        say(&format!(
            "begin {i} create={} delete={}",
            join(&created),
            join(&deleted)
        ));
        batch.commit().map_err(|e| format!("commit {i}: {e}"))?;
        say(&format!("ack {i}"));
        pool.retain(|n| !deleted.contains(n));
        nodes = pool;
    }
    say("done");
    Ok(())
}

/// The accounts of a `transfers` store.
const ACCOUNTS: usize = 8;

fn int(node: &graph_core::Node, key: &str) -> Result<i64> {
    match node.properties.get(key) {
        Some(PropertyValue::Int(v)) => Ok(*v),
        other => Err(graph_core::Error::invalid(format!(
            "node {} has {key} = {other:?}",
            node.id
        ))),
    }
}

fn transfers<B: DiskBackend>(args: &[String]) -> std::result::Result<(), String> {
    let dir: String = arg(args, 2, "DIR")?;
    let seed: u64 = arg(args, 3, "SEED")?;
    let steps: u64 = arg(args, 4, "STEPS")?;
    let store = open::<B>(&dir, Durability::Strict).map_err(|e| format!("open: {e}"))?;
    say("opened");
    let mut accounts = store
        .nodes_with_label("Account")
        .map_err(|e| format!("accounts: {e}"))?;
    if accounts.is_empty() {
        let mut batch = store.batch();
        for _ in 0..ACCOUNTS {
            let props = Properties::from([
                ("balance".to_owned(), PropertyValue::Int(1_000)),
                ("moves".to_owned(), PropertyValue::Int(0)),
            ]);
            let id = batch
                .create_node(&["Account"], props)
                .map_err(|e| format!("reserve: {e}"))?;
            accounts.push(id);
        }
        batch.commit().map_err(|e| format!("accounts: {e}"))?;
        say("setup");
    }
    let accounts = &accounts;
    let store = &store;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u64)
            .map(|t| {
                s.spawn(move || -> std::result::Result<(), String> {
                    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t));
                    for i in 0..steps {
                        let from = accounts[rng.gen_range(0..accounts.len())];
                        let mut to = accounts[rng.gen_range(0..accounts.len())];
                        if to == from {
                            to = accounts[(accounts.iter().position(|a| *a == from).unwrap_or(0)
                                + 1)
                                % accounts.len()];
                        }
                        let want = rng.gen_range(1..=50);
                        let step = format!("{seed}:{t}-{i}");
                        say(&format!("begin {step}"));
                        store
                            .transaction(|tx| {
                                let a = tx
                                    .read()
                                    .get_node(from)?
                                    .ok_or(graph_core::Error::NodeNotFound(from))?;
                                let b = tx
                                    .read()
                                    .get_node(to)?
                                    .ok_or(graph_core::Error::NodeNotFound(to))?;
                                let amount = want.min(int(&a, "balance")?);
                                tx.set_node_property(
                                    from,
                                    "balance",
                                    PropertyValue::Int(int(&a, "balance")? - amount),
                                )?;
                                tx.set_node_property(
                                    to,
                                    "balance",
                                    PropertyValue::Int(int(&b, "balance")? + amount),
                                )?;
                                tx.set_node_property(
                                    from,
                                    "moves",
                                    PropertyValue::Int(int(&a, "moves")? + 1),
                                )?;
                                tx.set_node_property(
                                    to,
                                    "moves",
                                    PropertyValue::Int(int(&b, "moves")? + 1),
                                )?;
                                let receipt = tx.create_node(
                                    &["Receipt"],
                                    Properties::from([(
                                        "step".to_owned(),
                                        PropertyValue::String(step.as_str().into()),
                                    )]),
                                )?;
                                tx.create_edge(receipt, from, "FROM", Properties::new())?;
                                Ok(())
                            })
                            .map_err(|e| format!("transaction {step}: {e}"))?;
                        say(&format!("ack {step}"));
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "a worker panicked".to_owned())??;
        }
        Ok::<(), String>(())
    })?;
    say("done");
    Ok(())
}

fn hold<B: DiskBackend>(args: &[String]) -> std::result::Result<(), String> {
    let dir: String = arg(args, 2, "DIR")?;
    let n: u64 = arg(args, 3, "NODES")?;
    let store = open::<B>(&dir, Durability::Strict).map_err(|e| format!("open: {e}"))?;
    for i in 0..n {
        let props = Properties::from([("i".to_owned(), PropertyValue::Int(i as i64))]);
        let id = store
            .create_node(&["Held"], props)
            .map_err(|e| format!("create: {e}"))?;
        say(&format!("ack {}", id.0));
    }
    say("holding");
    // Keep the store open until the parent closes stdin (or kills us).
    let mut line = String::new();
    while std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_or(0, |n| n)
        > 0
    {
        line.clear();
    }
    say("released");
    Ok(())
}

fn kind_name(kind: ErrorKind) -> String {
    format!("{kind:?}")
}

fn inspect<B: DiskBackend>(args: &[String]) -> std::result::Result<(), String> {
    let dir: String = arg(args, 2, "DIR")?;
    let store = match open::<B>(&dir, Durability::Strict) {
        Ok(s) => s,
        Err(e) => {
            say(&format!(
                "open-error {} {}",
                kind_name(e.kind()),
                e.to_string().replace('\n', " ")
            ));
            return Ok(());
        }
    };
    let read_all = || -> Result<Dump> {
        let dump = Dump::of(store.backend())?;
        let reader = store.reader();
        for id in reader.node_ids()? {
            let _ = reader.get_node(id)?;
        }
        for id in reader.edge_ids()? {
            let _ = reader.get_edge(id)?;
        }
        Ok(dump)
    };
    match read_all() {
        Ok(dump) => {
            say(&format!("entries {}", dump.entries.len()));
            say(&format!("fingerprint {}", dump.fingerprint()));
            say(&format!("canonical {}", dump.canonical_fingerprint()));
        }
        Err(e) => {
            say(&format!(
                "read-error {} {}",
                kind_name(e.kind()),
                e.to_string().replace('\n', " ")
            ));
            return Ok(());
        }
    }
    match store.verify() {
        Ok(r) if r.is_clean() => say("verify clean"),
        Ok(r) => say(&format!("verify problems {}", r.problems.len())),
        Err(e) => say(&format!(
            "read-error {} {}",
            kind_name(e.kind()),
            e.to_string().replace('\n', " ")
        )),
    }
    Ok(())
}

fn run<B: DiskBackend>(args: &[String]) -> std::result::Result<(), String> {
    match args.get(1).map(String::as_str) {
        Some("stream") => stream::<B>(args),
        Some("churn") => churn::<B>(args),
        Some("transfers") => transfers::<B>(args),
        Some("hold") => hold::<B>(args),
        Some("inspect") => inspect::<B>(args),
        other => Err(format!("unknown mode {other:?}")),
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).and_then(|a| a.strip_prefix("--backend=")) {
        Some(name) => {
            let name = name.to_owned();
            args.remove(1);
            name
        }
        None => RocksDbBackend::NAME.to_owned(),
    };
    let r = match backend.as_str() {
        RocksDbBackend::NAME => run::<RocksDbBackend>(&args),
        FjallBackend::NAME => run::<FjallBackend>(&args),
        other => Err(format!("unknown backend {other:?}")),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error {e}"));
            ExitCode::from(2)
        }
    }
}
