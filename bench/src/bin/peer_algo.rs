//! The algorithms part of the peer comparison (`bench/peers/run`): graph
//! algorithms on a graphstore store through graph-algo, on the adjacency
//! in RAM, each timed (median of `--runs`, the adjacency built first and
//! the topology taken once). Prints JSON with the answers; writes the
//! PageRank of every node (`pagerank.f64`, little-endian, by node id) and
//! the BFS hop count of every node (`bfs.u32`, `u32::MAX` when not
//! reached) into `--out`, which `compare.py` checks against python-igraph
//! and networkx before printing any time.
//!
//! Node ids: the bulk import numbers the workload's nodes in file order,
//! so store id i is external id i; a sample of ids is checked.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use graph_algo::{PageRankOptions, Topology, no_progress};
use graph_storage::{Direction, NodeId};

/// Run graph algorithms on a store, timed.
#[derive(Debug, Parser)]
#[command(name = "peer_algo")]
struct Args {
    /// The store directory.
    store: PathBuf,
    /// Where the per-node results go.
    #[arg(long)]
    out: PathBuf,
    /// The external id the search starts from.
    #[arg(long, default_value = "0")]
    start: String,
    /// Timed runs of each algorithm (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn timed<T>(runs: usize, mut f: impl FnMut() -> BoxResult<T>) -> BoxResult<(T, Vec<f64>)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        last = Some(f()?);
        times.push(t.elapsed().as_secs_f64());
    }
    Ok((last.ok_or("no run")?, times))
}

fn median(times: &[f64]) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
}

fn run(args: &Args) -> BoxResult<serde_json::Value> {
    std::fs::create_dir_all(&args.out)?;
    let t = Instant::now();
    let store = graph_storage::open(&args.store)?;
    store.wait_for_adjacency();
    let ready_s = t.elapsed().as_secs_f64();
    // Store ids are the external ids (checked on a sample).
    let nodes = store.node_count()?;
    for i in (0..nodes).step_by((nodes / 997).max(1) as usize) {
        let mapped = store.external_id("", &i.to_string())?;
        if mapped != Some(NodeId(i)) {
            return Err(format!("external id {i} is node {mapped:?}, not {i}").into());
        }
    }
    let start = store
        .external_id("", &args.start)?
        .ok_or_else(|| format!("no node {}", args.start))?;
    let t = Instant::now();
    let topology = Topology::of(&store, None)?;
    let topology_s = t.elapsed().as_secs_f64();
    let runs = args.runs;
    let mut out = serde_json::Map::new();
    let mut put = |name: &str, answer: serde_json::Value, times: Vec<f64>| {
        out.insert(
            name.to_owned(),
            serde_json::json!({"answer": answer, "times_s": times, "median_s": median(&times)}),
        );
    };

    let (pr, times) = timed(runs, || {
        Ok(graph_algo::pagerank(
            &topology,
            &PageRankOptions::default(),
            &mut no_progress,
        )?)
    })?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(args.out.join("pagerank.f64"))?);
    for r in &pr.ranks {
        f.write_all(&r.to_le_bytes())?;
    }
    f.flush()?;
    put(
        "pagerank",
        serde_json::json!({"iterations": pr.iterations, "delta": pr.delta, "sum": pr.ranks.iter().sum::<f64>()}),
        times,
    );

    let (wcc, times) = timed(runs, || {
        Ok(graph_algo::weakly_connected_components(
            &topology,
            &mut no_progress,
        ))
    })?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(args.out.join("wcc.u64"))?);
    for l in &wcc.labels {
        f.write_all(&l.to_le_bytes())?;
    }
    f.flush()?;
    put(
        "wcc",
        serde_json::json!({"components": wcc.count, "largest": wcc.largest}),
        times,
    );

    let (scc, times) = timed(runs, || {
        Ok(graph_algo::strongly_connected_components(
            &topology,
            &mut no_progress,
        ))
    })?;
    put(
        "scc",
        serde_json::json!({"components": scc.count, "largest": scc.largest}),
        times,
    );

    let (bfs, times) = timed(runs, || {
        Ok(graph_algo::bfs(
            &topology,
            start,
            Direction::Outgoing,
            None,
            &mut no_progress,
        )?)
    })?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(args.out.join("bfs.u32"))?);
    for d in &bfs.distance {
        let hops = if d.is_finite() { *d as u32 } else { u32::MAX };
        f.write_all(&hops.to_le_bytes())?;
    }
    f.flush()?;
    put("bfs", serde_json::json!({"reached": bfs.reached}), times);

    let (tri, times) = timed(runs, || {
        Ok(graph_algo::triangles(&topology, &mut no_progress))
    })?;
    put(
        "triangles",
        serde_json::json!({"triangles": tri.total, "transitivity": tri.transitivity}),
        times,
    );
    drop(topology);
    Ok(serde_json::json!({
        "nodes": nodes,
        "open_and_adjacency_s": ready_s,
        "topology_s": topology_s,
        "peak_rss_bytes": bench::sys::peak_rss_bytes(),
        "algorithms": out,
    }))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    bench::print_outcome("peer_algo", run(&args))
}
