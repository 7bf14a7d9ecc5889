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
