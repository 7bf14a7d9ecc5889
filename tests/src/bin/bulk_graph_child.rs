//! The process the graph-level bulk-load kill test
//! (`tests/bulk_graph_kill.rs`) kills.
//!
//! `bulk_graph_child DIR SEED NODES EDGES` bulk-loads the deterministic
//! graph of [`build`] into a new RocksDB store at `DIR` through
//! `BulkLoader` (a 1 MiB sort budget, so sorted runs spill; SST files
//! rolled at 128 KiB), spilling beside `DIR`, and prints (flushed at once)
//! `started` once the loader exists, `finishing` before `finish` (merge,
//! SST writing, ingestion, rename), and `done` once the store is closed.
//! Any error prints `error ...` and exits with status 2.
//!
//! The test includes this file as a module to build the same graph into a
//! memory store and compare.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use graph_storage::bulk::{BulkLoader, BulkOptions};
use graph_storage::{BulkSink, ManualClock, NodeId, Properties, PropertyValue};

/// splitmix64.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The loader's options: a manual clock, an index, a small sort budget.
pub(crate) fn options(spill: &Path) -> BulkOptions {
    BulkOptions::new(spill)
        .clock(Arc::new(ManualClock::new(1_764_000_000_000_000, 3)))
        .memory_budget(1 << 20)
        .index("Person", "age")
}

/// Loads the graph of `seed`: `nodes` nodes (three labels, four
/// properties, an external id each), `edges` edges (three types, a
/// weight, skewed sources).
pub(crate) fn build<S: BulkSink>(
    loader: &mut BulkLoader<S>,
    seed: u64,
    nodes: u64,
    edges: u64,
) -> graph_storage::Result<()> {
    for i in 0..nodes {
        let r = mix(seed ^ i);
        let label = ["Person", "Company", "City"][(r % 3) as usize];
        let mut p = Properties::new();
        p.insert("name", PropertyValue::String(format!("n{i}").into()));
        p.insert("age", PropertyValue::Int((r >> 8) as i64 % 90));
        p.insert("score", PropertyValue::Float((r >> 16) as f64 / 1e9));
        p.insert("active", PropertyValue::Bool(r & 1 == 0));
        let id = loader.add_node(&[label], &p)?;
        loader.map_external_id("", &format!("x{i}"), id)?;
    }
    for i in 0..edges {
        let r = mix(seed ^ (i << 1) ^ 0x5eed);
        let u = (r % 1_000_000) as f64 / 1_000_000.0;
        let src = ((u * u * nodes as f64) as u64).min(nodes - 1);
        let dst = (r >> 20) % nodes;
        let mut p = Properties::new();
        p.insert("weight", PropertyValue::Float((r >> 40) as f64));
        loader.add_edge(
            NodeId(src),
            NodeId(dst),
            ["KNOWS", "OWNS", "LIKES"][(r % 3) as usize],
            &p,
        )?;
    }
    Ok(())
}

#[allow(dead_code)] // Used by the binary, not by the test including this file.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        // The parent is gone: stop, as if killed.
        std::process::exit(3);
    }
}

#[allow(dead_code)]
fn run(args: &[String]) -> Result<(), String> {
    let arg = |i: usize, what: &str| -> Result<String, String> {
        args.get(i)
            .cloned()
            .ok_or_else(|| format!("missing argument {what}"))
    };
    let dir = arg(1, "DIR")?;
    let num = |i: usize, what: &str| -> Result<u64, String> {
        arg(i, what)?
            .parse()
            .map_err(|_| format!("bad argument {what}"))
    };
    let (seed, nodes, edges) = (num(2, "SEED")?, num(3, "NODES")?, num(4, "EDGES")?);
    let path = Path::new(&dir);
    let spill = path.parent().unwrap_or(Path::new("."));
    let sink = storage_rocksdb::RocksDbBulkSink::create(
        path,
        &storage_rocksdb::RocksDbConfig::default(),
        128 << 10,
    )
    .map_err(|e| format!("bulk_create: {e}"))?;
    let mut loader = BulkLoader::new(sink, options(spill)).map_err(|e| format!("loader: {e}"))?;
    say("started");
    build(&mut loader, seed, nodes, edges).map_err(|e| format!("build: {e}"))?;
    say("finishing");
    let (backend, _) = loader
        .finish(&mut |_| {})
        .map_err(|e| format!("finish: {e}"))?;
    backend.close().map_err(|e| format!("close: {e}"))?;
    say("done");
    Ok(())
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error {e}"));
            ExitCode::from(2)
        }
    }
}
