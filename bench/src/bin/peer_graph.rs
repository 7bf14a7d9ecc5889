//! The whole-graph part of the peer comparison (`bench/peers/run`) on a
//! graphstore store: four questions about the whole graph, answered
//! through the graph-storage library as a user writes them, each timed
//! (median of `--runs`, after the store is open and its adjacency built:
//! "cached"). Prints JSON with the answers, which `compare.py` checks
//! against Ladybug's before printing any time.
//!
//! The questions (the same as Ladybug's Cypher in compare.py):
//! 1. every edge: how many, and the sum of `weight`;
//! 2. the out-degree of every node (checked by their sum, sum of squares
//!    and maximum);
//! 3. the number of 2-hop paths `a -> b -> c` over the whole graph;
//! 4. breadth-first search over out-edges from one node: the number of
//!    nodes reached (the start not counted).
//!
//! Each question is answered two ways: with the whole-graph API
//! (`fold_edges`, `degrees`, the pinned `Adjacency`, the projected
//! `weight`) and with the per-node calls of the graph API (`iter_edges`,
//! `degree` and `neighbors` per node), both from the adjacency in RAM.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use graph_storage::{
    Adjacency, AdjacencyStatus, Direction, EdgeValue, GraphReader, NodeId, RocksDbBackend,
};

/// Answer whole-graph questions on a store, timed.
#[derive(Debug, Parser)]
#[command(name = "peer_graph")]
struct Args {
    /// The store directory.
    store: PathBuf,
    /// The external id (the CSV's `:ID`) the search starts from.
    #[arg(long, default_value = "0")]
    start: String,
    /// Timed runs of each question (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The edge property summed by question 1.
    #[arg(long, default_value = "weight")]
    weight: String,
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;
type Reader<'s> = GraphReader<'s, &'s RocksDbBackend>;

/// Runs `f` `runs` times; its answer (the same every time) and the times.
fn timed<T: PartialEq + std::fmt::Debug>(
    runs: usize,
    mut f: impl FnMut() -> BoxResult<T>,
) -> BoxResult<(T, Vec<f64>)> {
    let mut times = Vec::with_capacity(runs);
    let mut answer: Option<T> = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let a = f()?;
        times.push(t.elapsed().as_secs_f64());
        if let Some(prev) = &answer
            && *prev != a
        {
            return Err(format!("answers differ between runs: {prev:?} and {a:?}").into());
        }
        answer = Some(a);
    }
    let answer = answer.ok_or("no run")?;
    Ok((answer, times))
}

fn median(times: &[f64]) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
}

/// (edges, sum of weights); sums are compared with a relative tolerance.
#[derive(Debug, PartialEq)]
struct EdgeSum(u64, OrdF64);

#[derive(Debug)]
struct OrdF64(f64);

impl PartialEq for OrdF64 {
    fn eq(&self, other: &Self) -> bool {
        (self.0 - other.0).abs() <= 1e-9 * self.0.abs().max(other.0.abs()).max(1.0)
    }
}

fn weight_of(v: &graph_storage::PropertyValue) -> f64 {
    match v {
        graph_storage::PropertyValue::Float(f) => *f,
        graph_storage::PropertyValue::Int(i) => *i as f64,
        _ => 0.0,
    }
}

/// Question 1 from the projected weights: the edge count the adjacency
/// keeps, and a sequential scan of the column.
fn edges_column(adj: &Adjacency<'_>, weight: &str) -> BoxResult<EdgeSum> {
    let values = adj
        .edge_values(weight)
        .ok_or("the weight is not projected")?;
    let sum: f64 = values.numbers().map(|(_, w)| w).sum();
    Ok(EdgeSum(adj.edge_count(), OrdF64(sum)))
}

/// Question 1 with the projected weights and the parallel edge walk.
fn edges_projected(adj: &Adjacency<'_>, weight: &str) -> BoxResult<EdgeSum> {
    let values = adj
        .edge_values(weight)
        .ok_or("the weight is not projected")?;
    let parts = adj.fold_edges(
        || (0u64, 0.0f64),
        |acc, e| {
            acc.0 += 1;
            if let EdgeValue::Number(w) = values.get(e.id) {
                acc.1 += w;
            }
        },
    );
    let (n, sum) = parts.iter().fold((0, 0.0), |(n, s), (a, b)| (n + a, s + b));
    Ok(EdgeSum(n, OrdF64(sum)))
}

/// Question 1 by decoding every edge record (`iter_edges`).
fn edges_decoded(r: &Reader<'_>, weight: &str) -> BoxResult<EdgeSum> {
    let (mut n, mut sum) = (0u64, 0.0f64);
    for e in r.iter_edges() {
        let e = e?;
        n += 1;
        sum += e.properties.get(weight).map_or(0.0, weight_of);
    }
    Ok(EdgeSum(n, OrdF64(sum)))
}

/// Sum, sum of squares and maximum of the degrees.
#[derive(Debug, PartialEq, Eq)]
struct DegreeSums(u64, u64, u64);

fn sums(degrees: impl Iterator<Item = u64>) -> DegreeSums {
    degrees.fold(DegreeSums(0, 0, 0), |DegreeSums(s, q, m), d| {
        DegreeSums(s + d, q + d * d, m.max(d))
    })
}

/// Every node id of the store, ascending.
fn node_ids(r: &Reader<'_>) -> BoxResult<Vec<NodeId>> {
    Ok(r.node_ids()?)
}

fn bfs(
    start: NodeId,
    mut neighbors: impl FnMut(NodeId, &mut Vec<NodeId>) -> BoxResult<()>,
) -> BoxResult<u64> {
    let mut seen = vec![false; 0];
    let mark = |n: NodeId, seen: &mut Vec<bool>| -> bool {
        let i = n.0 as usize;
        if i >= seen.len() {
            seen.resize(i + 1, false);
        }
        !std::mem::replace(&mut seen[i], true)
    };
    mark(start, &mut seen);
    let mut queue = VecDeque::from([start]);
    let mut reached = 0u64;
    let mut buf = Vec::new();
    while let Some(n) = queue.pop_front() {
        buf.clear();
        neighbors(n, &mut buf)?;
        for &m in &buf {
            if mark(m, &mut seen) {
                reached += 1;
                queue.push_back(m);
            }
        }
    }
    Ok(reached)
}

fn run(args: &Args) -> BoxResult<serde_json::Value> {
    let rss_before = bench::sys::current_rss_bytes();
    let t = Instant::now();
    let store = graph_storage::open(&args.store)?;
    let open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let status = store.wait_for_adjacency();
    let adjacency_s = t.elapsed().as_secs_f64();
    let AdjacencyStatus::Ready { used, built_in, .. } = status else {
        return Err(format!("the adjacency is not in RAM: {status}").into());
    };
    let t = Instant::now();
    store.project_edge_property(&args.weight)?;
    let projection_s = t.elapsed().as_secs_f64();
    let projected_bytes = store
        .adjacency()
        .map_or(0, |a| a.bytes())
        .saturating_sub(used);
    let rss_ready = bench::sys::current_rss_bytes();
    let start = store
        .external_id("", &args.start)?
        .ok_or_else(|| format!("no node with id {}", args.start))?;
    let r = store.reader();
    let adj = r.adjacency().ok_or("the adjacency left RAM")?;
    let runs = args.runs;
    let mut out = serde_json::Map::new();
    let mut put = |name: &str, how: &str, answer: serde_json::Value, times: Vec<f64>| {
        out.insert(
            format!("{name}/{how}"),
            serde_json::json!({"answer": answer, "times_s": times, "median_s": median(&times)}),
        );
    };

    // 1. Every edge, count and sum of weight.
    let (a, t) = timed(runs, || edges_column(&adj, &args.weight))?;
    put("edges_weight", "api", serde_json::json!([a.0, (a.1).0]), t);
    let (c, t) = timed(runs, || edges_projected(&adj, &args.weight))?;
    if a != c {
        return Err(
            format!("question 1 differs between the column and the walk: {a:?} {c:?}").into(),
        );
    }
    put("edges_weight", "walk", serde_json::json!([c.0, (c.1).0]), t);
    let (b, t) = timed(1, || edges_decoded(&r, &args.weight))?;
    if a != b {
        return Err(format!("question 1 differs between the two ways: {a:?} {b:?}").into());
    }
    put(
        "edges_weight",
        "per_call",
        serde_json::json!([b.0, (b.1).0]),
        t,
    );

    // 2. The out-degree of every node.
    let (a, t) = timed(runs, || {
        Ok(sums(r.degrees(Direction::Outgoing)?.into_iter()))
    })?;
    put("out_degrees", "api", serde_json::json!([a.0, a.1, a.2]), t);
    let ids = node_ids(&r)?;
    let (b, t) = timed(runs, || {
        let mut d = Vec::with_capacity(ids.len());
        for &n in &ids {
            d.push(r.degree(n, Direction::Outgoing, None)?);
        }
        Ok(sums(d.into_iter()))
    })?;
    if a != b {
        return Err(format!("question 2 differs between the two ways: {a:?} {b:?}").into());
    }
    put(
        "out_degrees",
        "per_call",
        serde_json::json!([b.0, b.1, b.2]),
        t,
    );

    // 3. All 2-hop paths.
    let (a, t) = timed(runs, || {
        let out = adj.degrees(Direction::Outgoing);
        let parts = adj.fold_edges(
            || 0u64,
            |acc, e| *acc += u64::from(out.get(e.dst.0 as usize).copied().unwrap_or(0)),
        );
        Ok(parts.iter().sum::<u64>())
    })?;
    put("two_hop", "api", serde_json::json!(a), t);
    let (b, t) = timed(runs, || {
        let mut paths = 0u64;
        for &n in &ids {
            for m in r.neighbors(n, Direction::Outgoing, None)? {
                paths += r.degree(m, Direction::Outgoing, None)?;
            }
        }
        Ok(paths)
    })?;
    if a != b {
        return Err(format!("question 3 differs between the two ways: {a} {b}").into());
    }
    put("two_hop", "per_call", serde_json::json!(b), t);

    // 4. Breadth-first search from `start`.
    let (a, t) = timed(runs, || {
        bfs(start, |n, buf| {
            buf.extend(adj.neighbors(n, Direction::Outgoing));
            Ok(())
        })
    })?;
    put("bfs", "api", serde_json::json!(a), t);
    let (b, t) = timed(runs, || {
        bfs(start, |n, buf| {
            buf.extend(r.neighbors(n, Direction::Outgoing, None)?);
            Ok(())
        })
    })?;
    if a != b {
        return Err(format!("question 4 differs between the two ways: {a} {b}").into());
    }
    put("bfs", "per_call", serde_json::json!(b), t);

    // `neighbors` throughput on one thread: every node's out-neighbours.
    let (edges, t) = timed(runs, || {
        let mut n = 0u64;
        for &id in &ids {
            n += r.neighbors(id, Direction::Outgoing, None)?.len() as u64;
        }
        Ok(n)
    })?;
    let neighbors_rate = edges as f64 / median(&t);
    put("neighbors_all", "per_call", serde_json::json!(edges), t);
    let (pinned, t) = timed(runs, || {
        let mut n = 0u64;
        for &id in &ids {
            n += adj.neighbors(id, Direction::Outgoing).len() as u64;
        }
        Ok(n)
    })?;
    let pinned_rate = pinned as f64 / median(&t);
    put("neighbors_all", "api", serde_json::json!(pinned), t);
    drop(adj);

    Ok(serde_json::json!({
        "open_s": open_s,
        "adjacency_wait_s": adjacency_s,
        "adjacency_built_s": built_in.as_secs_f64(),
        "adjacency_bytes": used,
        "projection_s": projection_s,
        "projection_bytes": projected_bytes,
        "nodes": store.node_count()?,
        "edges": store.edge_count()?,
        "rss_before_open_bytes": rss_before,
        "rss_ready_bytes": rss_ready,
        "peak_rss_bytes": bench::sys::peak_rss_bytes(),
        "neighbors_edges_per_s": neighbors_rate,
        "adjacency_neighbors_edges_per_s": pinned_rate,
        "questions": out,
    }))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    bench::print_outcome("peer_graph", run(&args))
}
