//! `graphstore algo`: graph algorithms on a store (graph-algo, on the
//! adjacency in RAM), their results printed, and optionally written back
//! as a node property in one batch.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use graph_algo::{AlgoError, PageRankOptions, Progress as AlgoProgress, Topology};
use graph_storage::{Direction, Durability, NodeId, PropertyValue, StoreOptions};
use serde_json::{Value, json};

use crate::commands::{self, Store};
use crate::error::{CliError, CliResult, Context, shown};
use crate::progress::{self, Progress};

/// `algo`.
#[derive(Debug, Subcommand)]
pub enum AlgoCommand {
    /// PageRank of every node (dangling nodes handled as igraph and
    /// networkx do); the top nodes by rank.
    Pagerank(PageRankArgs),
    /// Weakly connected components; the largest ones.
    Wcc(CommonArgs),
    /// Strongly connected components; the largest ones.
    Scc(CommonArgs),
    /// Breadth-first search from a node (optionally at most K hops): the
    /// nodes reached, by distance.
    Bfs(BfsArgs),
    /// Shortest paths from a node, by hops or by a numeric edge property:
    /// the path to --target, or the nearest nodes.
    ShortestPath(PathArgs),
    /// Triangles, transitivity and clustering of the graph seen as
    /// undirected and simple; the nodes in most triangles.
    Triangles(CommonArgs),
}

/// What every algorithm takes.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The store directory.
    store: PathBuf,
    /// How many nodes (or components) to print.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    /// Store each node's result as this node property, in one batch (all
    /// or nothing).
    #[arg(long, value_name = "NAME")]
    write_property: Option<String>,
}

/// `algo pagerank`.
#[derive(Debug, Args)]
pub struct PageRankArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The damping factor.
    #[arg(long, default_value_t = 0.85)]
    damping: f64,
    /// Iterations at most.
    #[arg(long, default_value_t = 1_000)]
    iterations: u32,
    /// Stop when the ranks change by less than this in all (L1).
    #[arg(long, default_value_t = 1e-10)]
    tolerance: f64,
    /// A numeric edge property to weigh edges by.
    #[arg(long, value_name = "PROPERTY")]
    weight: Option<String>,
    /// Follow edges both ways, as in an undirected graph (co-occurrence and
    /// friendship graphs stored one way).
    #[arg(long)]
    undirected: bool,
}

/// Which edges to follow.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Follow {
    /// Outgoing edges.
    Out,
    /// Incoming edges.
    In,
    /// Both ways.
    Both,
}

impl Follow {
    fn direction(self) -> Direction {
        match self {
            Follow::Out => Direction::Outgoing,
            Follow::In => Direction::Incoming,
            Follow::Both => Direction::Both,
        }
    }
}

/// `algo bfs`.
#[derive(Debug, Args)]
pub struct BfsArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The node to start from (a store id, as `get node` takes).
    #[arg(long)]
    source: u64,
    /// Which edges to follow.
    #[arg(long, value_enum, default_value_t = Follow::Out)]
    direction: Follow,
    /// Hops at most (k-hop reach).
    #[arg(long, value_name = "K")]
    max_depth: Option<u32>,
}

/// `algo shortest-path`.
#[derive(Debug, Args)]
pub struct PathArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The node to start from (a store id).
    #[arg(long)]
    source: u64,
    /// The node to reach (a store id); without it, the nearest nodes.
    #[arg(long)]
    target: Option<u64>,
    /// Which edges to follow.
    #[arg(long, value_enum, default_value_t = Follow::Out)]
    direction: Follow,
    /// A numeric edge property to weigh edges by (not negative); without
    /// it, paths are counted in hops.
    #[arg(long, value_name = "PROPERTY")]
    weight: Option<String>,
}

/// Opens the store with its adjacency in RAM, built before this returns.
fn open(path: &std::path::Path, quiet: bool) -> CliResult<Store> {
    let store = commands::open_existing_with(
        path,
        StoreOptions::default()
            .durability(Durability::Strict)
            .adjacency(true),
    )?;
    let spinner = progress::spinner("building the adjacency in RAM", quiet);
    let status = store.wait_for_adjacency();
    spinner.finish_and_clear();
    if store.adjacency().is_none() {
        return Err(CliError::new(format!(
            "cannot run an algorithm on {}: its adjacency is {status}; raise the budget or free memory",
            shown(path)
        )));
    }
    Ok(store)
}

/// The topology of `store`, weighted by `weight` if given.
fn topology<'s>(
    store: &'s Store,
    weight: Option<&str>,
    path: &std::path::Path,
) -> CliResult<Topology<'s>> {
    Topology::of(store, weight).map_err(|e| algo_error(e, path))
}

/// One line for an algorithm's failure.
fn algo_error(e: AlgoError, path: &std::path::Path) -> CliError {
    match e {
        AlgoError::Storage(e) => {
            CliError::new(format!("cannot read the store at {}: {e}", shown(path)))
        }
        AlgoError::UnknownNode(n) => CliError::new(format!(
            "node {} does not exist in {} (ids are store ids, as `graphstore get node` takes)",
            n.0,
            shown(path)
        )),
        AlgoError::UnknownProperty(property) => CliError::new(format!(
            "no edge of {} has a property {property:?} to weigh it by (leave out --weight, or name a numeric edge property)",
            shown(path)
        )),
        AlgoError::MissingWeight { edge, property } => CliError::new(format!(
            "edge {} of {} has no property {property:?}: every edge needs a numeric weight (or leave out --weight)",
            edge.0,
            shown(path)
        )),
        other => CliError::new(format!("{other} ({})", shown(path))),
    }
}

/// A progress display fed by an algorithm's callback.
struct Display {
    quiet: bool,
    current: Option<(&'static str, Progress)>,
}

impl Display {
    fn new(quiet: bool) -> Self {
        Display {
            quiet,
            current: None,
        }
    }

    fn update(&mut self, p: AlgoProgress) {
        if self
            .current
            .as_ref()
            .is_none_or(|(step, _)| *step != p.step)
        {
            if let Some((_, old)) = self.current.take() {
                old.finish();
            }
            let unit = match p.step {
                "iterate" => "iterations",
                "edges" => "edges",
                _ => "nodes",
            };
            self.current = Some((
                p.step,
                Progress::counting(p.algorithm, p.total, unit, self.quiet),
            ));
        }
        if let Some((_, bar)) = self.current.as_mut() {
            bar.update(p.done, p.done);
        }
    }

    fn finish(mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish();
        }
    }
}

/// Runs `f` with a progress display fed by its callback (none when
/// `quiet`), and returns its result and the seconds it took.
fn run_shown<T>(quiet: bool, f: impl FnOnce(&mut dyn FnMut(AlgoProgress)) -> T) -> (T, f64) {
    let mut display = Display::new(quiet);
    let started = Instant::now();
    let out = f(&mut |p| display.update(p));
    let seconds = started.elapsed().as_secs_f64();
    display.finish();
    (out, seconds)
}

/// Each node's result as a property, written in one batch.
fn write_back(
    store: &Store,
    name: &str,
    values: impl Iterator<Item = (NodeId, PropertyValue)>,
    path: &std::path::Path,
) -> CliResult<u64> {
    let mut batch = store.batch();
    let mut n = 0u64;
    for (node, value) in values {
        batch.set_node_property(node, name, value);
        n += 1;
    }
    batch
        .commit()
        .ctx(|| format!("cannot write property {name:?} to {}", shown(path)))?;
    Ok(n)
}

/// A node as the output shows it: its id and its record, one line.
fn node_line(store: &Store, id: NodeId) -> String {
    match store.get_node(id) {
        Ok(Some(n)) => crate::reads::node_text(&n),
        _ => format!("n{}", id.0),
    }
}

fn node_json(store: &Store, id: NodeId) -> Value {
    match store.get_node(id) {
        Ok(Some(n)) => crate::reads::node_json(&n),
        _ => json!({"id": id.0}),
    }
}

/// Prints `summary` and the ranked `rows` (node, value), as text or JSON.
fn report(
    store: &Store,
    a: &CommonArgs,
    summary: Value,
    what: &str,
    rows: &[(NodeId, Value)],
    written: Option<u64>,
) {
    if a.json {
        let top: Vec<Value> = rows
            .iter()
            .map(|(id, v)| json!({"node": node_json(store, *id), "value": v}))
            .collect();
        let mut out = summary;
        if let Value::Object(m) = &mut out {
            m.insert("top".into(), Value::Array(top));
            if let (Some(n), Some(p)) = (written, &a.write_property) {
                m.insert("written".into(), json!({"property": p, "nodes": n}));
            }
        }
        crate::reads::print_json(&out);
        return;
    }
    if let Value::Object(m) = &summary {
        for (k, v) in m {
            println!("{k:<20} {v}");
        }
    }
    if !rows.is_empty() {
        println!("{what}:");
        for (id, v) in rows {
            println!("  {v:>14}  {}", node_line(store, *id));
        }
    }
    if let (Some(n), Some(p)) = (written, &a.write_property) {
        println!("wrote property {p:?} to {} nodes", progress::count(n));
    }
}

/// The `top` largest of `items` by `key`, ties by node id.
fn top_by<T: Copy>(
    items: impl Iterator<Item = (NodeId, T)>,
    top: usize,
    key: impl Fn(&T) -> f64,
) -> Vec<(NodeId, T)> {
    let mut all: Vec<(NodeId, T)> = items.collect();
    all.sort_by(|a, b| key(&b.1).total_cmp(&key(&a.1)).then(a.0.cmp(&b.0)));
    all.truncate(top);
    all
}

/// Runs `algo`.
///
/// # Errors
/// One line for a store that cannot be opened or read, a node that does
/// not exist, a weight property missing or not numeric, or an argument
/// out of range.
pub fn run(command: AlgoCommand, quiet: bool) -> CliResult<()> {
    match command {
        AlgoCommand::Pagerank(a) => pagerank(a, quiet),
        AlgoCommand::Wcc(a) => components(a, quiet, false),
        AlgoCommand::Scc(a) => components(a, quiet, true),
        AlgoCommand::Bfs(a) => bfs(a, quiet),
        AlgoCommand::ShortestPath(a) => shortest_path(a, quiet),
        AlgoCommand::Triangles(a) => triangles(a, quiet),
    }
}

fn pagerank(a: PageRankArgs, quiet: bool) -> CliResult<()> {
    let c = &a.common;
    let store = open(&c.store, quiet)?;
    let t = topology(&store, a.weight.as_deref(), &c.store)?;
    let options = PageRankOptions::default()
        .damping(a.damping)
        .max_iterations(a.iterations)
        .tolerance(a.tolerance)
        .undirected(a.undirected);
    let (pr, seconds) = run_shown(quiet || c.json, |p| graph_algo::pagerank(&t, &options, p));
    let pr = pr.map_err(|e| algo_error(e, &c.store))?;
    let written = match &c.write_property {
        Some(name) => Some(write_back(
            &store,
            name,
            t.nodes().map(|n| (n, PropertyValue::Float(pr.rank(n)))),
            &c.store,
        )?),
        None => None,
    };
    let rows: Vec<(NodeId, Value)> = top_by(t.nodes().map(|n| (n, pr.rank(n))), c.top, |r| *r)
        .into_iter()
        .map(|(n, r)| (n, json!(r)))
        .collect();
    let summary = json!({
        "algorithm": "pagerank",
        "nodes": t.node_count(),
        "edges": t.edge_count(),
        "damping": a.damping,
        "weight": a.weight,
        "undirected": a.undirected,
        "iterations": pr.iterations,
        "converged": pr.converged,
        "last_change": pr.delta,
        "seconds": seconds,
    });
    report(&store, c, summary, "highest ranks", &rows, written);
    drop(t);
    commands::close(store)
}

fn components(a: CommonArgs, quiet: bool, strong: bool) -> CliResult<()> {
    let store = open(&a.store, quiet)?;
    let t = topology(&store, None, &a.store)?;
    let (comps, seconds) = run_shown(quiet || a.json, |p| {
        if strong {
            graph_algo::strongly_connected_components(&t, p)
        } else {
            graph_algo::weakly_connected_components(&t, p)
        }
    });
    let written = match &a.write_property {
        Some(name) => Some(write_back(
            &store,
            name,
            t.nodes().filter_map(|n| {
                comps.of(n).map(|c| {
                    (
                        n,
                        PropertyValue::Int(i64::try_from(c.0).unwrap_or(i64::MAX)),
                    )
                })
            }),
            &a.store,
        )?),
        None => None,
    };
    let mut sizes = std::collections::HashMap::<u64, u64>::new();
    for n in t.nodes() {
        if let Some(c) = comps.of(n) {
            *sizes.entry(c.0).or_default() += 1;
        }
    }
    let rows: Vec<(NodeId, Value)> =
        top_by(sizes.into_iter().map(|(c, s)| (NodeId(c), s)), a.top, |s| {
            *s as f64
        })
        .into_iter()
        .map(|(n, s)| (n, json!(s)))
        .collect();
    let summary = json!({
        "algorithm": if strong { "scc" } else { "wcc" },
        "nodes": t.node_count(),
        "edges": t.edge_count(),
        "components": comps.count,
        "largest": comps.largest,
        "seconds": seconds,
    });
    report(
        &store,
        &a,
        summary,
        "largest components (nodes, and the component's smallest node)",
        &rows,
        written,
    );
    drop(t);
    commands::close(store)
}

/// The rows and summary of distances from a source: the reached nodes by
/// distance, the nearest first.
fn distance_rows(d: &graph_algo::Distances, top: usize) -> Vec<(NodeId, Value)> {
    let mut rows: Vec<(NodeId, f64)> = d
        .distance
        .iter()
        .enumerate()
        .filter(|(i, x)| x.is_finite() && *i as u64 != d.source.0)
        .map(|(i, x)| (NodeId(i as u64), *x))
        .collect();
    rows.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    rows.truncate(top);
    rows.into_iter().map(|(n, x)| (n, json!(x))).collect()
}

fn distances_written(
    store: &Store,
    a: &CommonArgs,
    d: &graph_algo::Distances,
    hops: bool,
) -> CliResult<Option<u64>> {
    let Some(name) = &a.write_property else {
        return Ok(None);
    };
    let values = d
        .distance
        .iter()
        .enumerate()
        .filter(|(_, x)| x.is_finite())
        .map(|(i, x)| {
            let v = if hops {
                PropertyValue::Int(*x as i64)
            } else {
                PropertyValue::Float(*x)
            };
            (NodeId(i as u64), v)
        });
    write_back(store, name, values, &a.store).map(Some)
}

fn bfs(a: BfsArgs, quiet: bool) -> CliResult<()> {
    let c = &a.common;
    let store = open(&c.store, quiet)?;
    let t = topology(&store, None, &c.store)?;
    let (d, seconds) = run_shown(quiet || c.json, |p| {
        graph_algo::bfs(
            &t,
            NodeId(a.source),
            a.direction.direction(),
            a.max_depth,
            p,
        )
    });
    let d = d.map_err(|e| algo_error(e, &c.store))?;
    let written = distances_written(&store, c, &d, true)?;
    let mut levels: Vec<u64> = Vec::new();
    for x in d.distance.iter().filter(|x| x.is_finite()) {
        let i = *x as usize;
        if levels.len() <= i {
            levels.resize(i + 1, 0);
        }
        levels[i] += 1;
    }
    let summary = json!({
        "algorithm": "bfs",
        "source": a.source,
        "reached": d.reached,
        "depth": levels.len().saturating_sub(1),
        "nodes_per_depth": levels,
        "seconds": seconds,
    });
    report(
        &store,
        c,
        summary,
        "nearest nodes (hops)",
        &distance_rows(&d, c.top),
        written,
    );
    drop(t);
    commands::close(store)
}

fn shortest_path(a: PathArgs, quiet: bool) -> CliResult<()> {
    let c = &a.common;
    let store = open(&c.store, quiet)?;
    let t = topology(&store, a.weight.as_deref(), &c.store)?;
    if let Some(target) = a.target {
        t.node(NodeId(target))
            .map_err(|e| algo_error(e, &c.store))?;
    }
    let (d, seconds) = run_shown(quiet || c.json, |p| {
        graph_algo::shortest_paths(&t, NodeId(a.source), a.direction.direction(), p)
    });
    let d = d.map_err(|e| algo_error(e, &c.store))?;
    let written = distances_written(&store, c, &d, a.weight.is_none())?;
    let mut summary = json!({
        "algorithm": "shortest-path",
        "source": a.source,
        "weight": a.weight,
        "reached": d.reached,
        "seconds": seconds,
    });
    let rows = match a.target {
        Some(target) => {
            let target = NodeId(target);
            let path = d.path(target);
            if let Value::Object(m) = &mut summary {
                m.insert("target".into(), json!(target.0));
                m.insert("distance".into(), json!(d.to(target)));
                m.insert(
                    "path".into(),
                    json!(
                        path.as_ref()
                            .map(|p| p.iter().map(|n| n.0).collect::<Vec<_>>())
                    ),
                );
            }
            match path {
                Some(p) => p
                    .into_iter()
                    .map(|n| (n, json!(d.to(n).unwrap_or(f64::INFINITY))))
                    .collect(),
                None => Vec::new(),
            }
        }
        None => distance_rows(&d, c.top),
    };
    let title = if a.target.is_some() {
        "the path (distance so far)"
    } else {
        "nearest nodes (distance)"
    };
    report(&store, c, summary, title, &rows, written);
    drop(t);
    commands::close(store)
}

fn triangles(a: CommonArgs, quiet: bool) -> CliResult<()> {
    let store = open(&a.store, quiet)?;
    let t = topology(&store, None, &a.store)?;
    let (tri, seconds) = run_shown(quiet || a.json, |p| graph_algo::triangles(&t, p));
    let written = match &a.write_property {
        Some(name) => Some(write_back(
            &store,
            name,
            t.nodes().map(|n| {
                let c = tri.per_node.get(n.0 as usize).copied().unwrap_or(0);
                (n, PropertyValue::Int(i64::try_from(c).unwrap_or(i64::MAX)))
            }),
            &a.store,
        )?),
        None => None,
    };
    let rows: Vec<(NodeId, Value)> = top_by(
        t.nodes()
            .map(|n| (n, tri.per_node.get(n.0 as usize).copied().unwrap_or(0))),
        a.top,
        |c| *c as f64,
    )
    .into_iter()
    .map(|(n, c)| (n, json!(c)))
    .collect();
    let summary = json!({
        "algorithm": "triangles",
        "nodes": t.node_count(),
        "triangles": tri.total,
        "transitivity": tri.transitivity,
        "average_clustering": tri.average_clustering,
        "seconds": seconds,
    });
    report(
        &store,
        &a,
        summary,
        "nodes in most triangles",
        &rows,
        written,
    );
    drop(t);
    commands::close(store)
}
