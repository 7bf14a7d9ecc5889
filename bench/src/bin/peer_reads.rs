//! Reads of the peer comparison (`bench/peers/run`) on a graphstore store,
//! through the graph-storage API in one process: opens the store, reads
//! the counts, then times point lookups by external id, 1-hop and 2-hop
//! out-expansions of every id of a sample file, twice: the first pass
//! after opening ("cold") and a second pass ("cached"). Prints JSON.
//!
//! Each operation starts from the user's id (the CSV's `:ID`), as the
//! peers' queries do: a lookup is the external-id mapping read plus
//! `get_node`; a 1-hop expansion is the mapping read plus `neighbors`
//! (outgoing); a 2-hop expansion adds `neighbors` of every 1-hop
//! neighbour and counts the paths.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use graph_storage::{Direction, GraphStore, NodeId, RocksDbBackend};

/// Time lookups and expansions of a sample of node ids on a store.
#[derive(Debug, Parser)]
#[command(name = "peer_reads")]
struct Args {
    /// The store directory.
    store: PathBuf,
    /// A file of external node ids, one a line.
    #[arg(long)]
    sample: PathBuf,
}

type Store = GraphStore<RocksDbBackend>;
type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn resolve(store: &Store, id: &str) -> BoxResult<NodeId> {
    store
        .external_id("", id)?
        .ok_or_else(|| format!("no node with id {id}").into())
}

/// One pass of one operation over the sample: per-call times in µs and
/// the rows returned in total.
fn pass(
    ids: &[String],
    mut op: impl FnMut(&str) -> BoxResult<u64>,
) -> BoxResult<serde_json::Value> {
    let mut times = Vec::with_capacity(ids.len());
    let mut rows = 0u64;
    let started = Instant::now();
    for id in ids {
        let t = Instant::now();
        rows += op(id)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let total = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(serde_json::json!({
        "calls": ids.len(),
        "rows": rows,
        "mean_us": total * 1e6 / ids.len().max(1) as f64,
        "p50_us": pick(0.5),
        "p99_us": pick(0.99),
    }))
}

fn lookup(store: &Store, id: &str) -> BoxResult<u64> {
    let node = resolve(store, id)?;
    let n = store
        .get_node(node)?
        .ok_or_else(|| format!("node {id} mapped but missing"))?;
    Ok(u64::from(!n.properties.is_empty()))
}

fn one_hop(store: &Store, id: &str) -> BoxResult<u64> {
    let node = resolve(store, id)?;
    Ok(store.neighbors(node, Direction::Outgoing, None)?.len() as u64)
}

fn two_hop(store: &Store, id: &str) -> BoxResult<u64> {
    let node = resolve(store, id)?;
    let mut paths = 0u64;
    for next in store.neighbors(node, Direction::Outgoing, None)? {
        paths += store.neighbors(next, Direction::Outgoing, None)?.len() as u64;
    }
    Ok(paths)
}

fn run(args: &Args) -> BoxResult<serde_json::Value> {
    let ids: Vec<String> = std::fs::read_to_string(&args.sample)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err("empty sample".into());
    }
    let t = Instant::now();
    let store = graph_storage::open(&args.store)?;
    let open_s = t.elapsed().as_secs_f64();
    let nodes = store.node_count()?;
    let edges = store.edge_count()?;
    let mut cold = serde_json::Map::new();
    let mut cached = serde_json::Map::new();
    for out in [&mut cold, &mut cached] {
        out.insert("lookup".into(), pass(&ids, |id| lookup(&store, id))?);
        out.insert("hop1".into(), pass(&ids, |id| one_hop(&store, id))?);
        out.insert("hop2".into(), pass(&ids, |id| two_hop(&store, id))?);
    }
    // Where a cached lookup's time goes: the external-id mapping read alone,
    // and `get_node`/`neighbors` by store id alone (a third pass).
    let mut split = serde_json::Map::new();
    let mut store_ids = std::collections::HashMap::new();
    for id in &ids {
        store_ids.insert(id.clone(), resolve(&store, id)?);
    }
    split.insert(
        "map_external_id".into(),
        pass(&ids, |id| {
            Ok(u64::from(store.external_id("", id)?.is_some()))
        })?,
    );
    split.insert(
        "get_node_by_store_id".into(),
        pass(&ids, |id| {
            Ok(u64::from(store.get_node(store_ids[id])?.is_some()))
        })?,
    );
    split.insert(
        "neighbors_by_store_id".into(),
        pass(&ids, |id| {
            Ok(store
                .neighbors(store_ids[id], Direction::Outgoing, None)?
                .len() as u64)
        })?,
    );
    let degree_sum = cold["hop1"]["rows"].clone();
    // The store's ids of the first few sample ids, for timing the CLI
    // (`graphstore get node`/`neighbors` take store ids).
    let cli_ids = ids
        .iter()
        .take(10)
        .map(|id| Ok(resolve(&store, id)?.0))
        .collect::<BoxResult<Vec<u64>>>()?;
    Ok(serde_json::json!({
        "open_s": open_s,
        "nodes": nodes,
        "edges": edges,
        "sample_out_degree_sum": degree_sum,
        "cold": cold,
        "cached": cached,
        "cli_ids": cli_ids,
        "cached_split": split,
        "peak_rss_bytes": bench::sys::peak_rss_bytes(),
    }))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    bench::print_outcome("peer_reads", run(&args))
}
