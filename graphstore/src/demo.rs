//! `graphstore demo`: the store at work. Imports two real public graphs
//! shipped in the binary (data/README.md names their sources and licences)
//! through the real import path, loads a generated graph of about a million
//! nodes and five million edges with labels and properties, then runs
//! lookups, traversals and index queries, prints what it does and the rates
//! it reached, and verifies every store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use graph_storage::{Direction, Durability, NodeId, Properties, PropertyValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::commands::{Store, close, node_text, open_or_create};
use crate::error::{CliError, CliResult, Context, shown};
use crate::import::source::{CsvOptions, EdgeListHeader, EdgeListOptions, Notes};
use crate::import::{self, ImportOptions, Input};
use crate::progress::{self, Progress};

const LESMIS_NODES: &str = include_str!("../data/les-miserables/characters.csv");
const LESMIS_EDGES: &str = include_str!("../data/les-miserables/cooccurrences.csv");
const KARATE: &str = include_str!("../data/karate-club/karate.edges");

const LABELS: [&str; 10] = [
    "Person", "Company", "City", "Product", "Account", "Device", "Post", "Tag", "Event", "Place",
];
const EDGE_TYPES: [&str; 5] = ["KNOWS", "WORKS_AT", "LIKES", "OWNS", "VISITED"];

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the stores go (a new or empty directory; default: a temporary
    /// directory removed afterwards).
    dir: Option<PathBuf>,
    /// Nodes of the generated graph.
    #[arg(long, default_value_t = 1_000_000)]
    nodes: u64,
    /// Edges of the generated graph.
    #[arg(long, default_value_t = 5_000_000)]
    edges: u64,
    /// Seed of the generated graph.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Random lookups and traversals to time.
    #[arg(long, default_value_t = 100_000)]
    lookups: u64,
    /// Print the figures as JSON at the end.
    #[arg(long)]
    json: bool,
}

/// A temporary directory removed on drop (also on an error or a panic).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> CliResult<TempDir> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    for i in 0..1000u32 {
        let p = base.join(format!("graphstore-demo-{pid}-{i}"));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(TempDir(p)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(CliError::new(format!(
                    "cannot create a temporary directory in {}: {e} (pass a directory: graphstore demo DIR)",
                    shown(&base)
                )));
            }
        }
    }
    Err(CliError::new(
        "cannot find a free temporary directory name (pass a directory: graphstore demo DIR)",
    ))
}

fn write(path: &Path, text: &str) -> CliResult<()> {
    std::fs::write(path, text).ctx(|| format!("cannot write {}", shown(path)))
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn import_opts(inputs: Vec<Input>, report: PathBuf, quiet: bool) -> ImportOptions {
    ImportOptions {
        inputs,
        csv: CsvOptions {
            delimiter: b',',
            array_delimiter: ';',
        },
        edge_list: EdgeListOptions {
            space: Arc::from("member"),
            label: "Member".into(),
            edge_type: "FRIEND".into(),
            third_column: "weight".into(),
            fourth_column: "time".into(),
            header: EdgeListHeader::No,
            undirected: false,
            notes: Notes::default(),
        },
        graphml: import::graphml::GraphmlOptions {
            label: "Node".into(),
            edge_type: "EDGE".into(),
        },
        node_link: import::graphml::GraphmlOptions {
            label: "Node".into(),
            edge_type: "EDGE".into(),
        },
        gml: import::graphml::GraphmlOptions {
            label: "Node".into(),
            edge_type: "EDGE".into(),
        },
        pajek: import::graphml::GraphmlOptions {
            label: "Node".into(),
            edge_type: "EDGE".into(),
        },
        skip_bad_rows: false,
        report,
        batch_size: 10_000,
        quiet,
        indexes: Vec::new(),
        memory_budget: 256 << 20,
        spill_dir: None,
    }
}

fn verified(store: &Store, name: &str) -> CliResult<()> {
    let t = Instant::now();
    let report = store
        .verify()
        .ctx(|| format!("cannot verify the {name} store"))?;
    if !report.is_clean() {
        return Err(CliError::new(format!(
            "the {name} store does not verify: {report}"
        )));
    }
    println!("verify: clean ({:.2} s)", t.elapsed().as_secs_f64());
    Ok(())
}

fn real_graphs(dir: &Path, quiet: bool, figures: &mut Value) -> CliResult<()> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).ctx(|| format!("cannot create {}", shown(&data)))?;
    let (nodes, rels, karate) = (
        data.join("characters.csv"),
        data.join("cooccurrences.csv"),
        data.join("karate.edges"),
    );
    write(&nodes, LESMIS_NODES)?;
    write(&rels, LESMIS_EDGES)?;
    write(&karate, KARATE)?;

    step("Les Misérables: character co-occurrence (Knuth, Stanford GraphBase), Neo4j CSV");
    let path = dir.join("les-miserables");
    println!(
        "graphstore import {} --nodes characters.csv --relationships cooccurrences.csv",
        shown(&path)
    );
    let store = open_or_create(&path, Durability::Background)?;
    let summary = import::run(
        &store,
        &import_opts(
            vec![
                Input::nodes(&nodes.display().to_string()),
                Input::relationships(&rels.display().to_string()),
            ],
            dir.join("bad-rows.txt"),
            quiet,
        ),
    )?;
    println!("{}", import::describe(&summary));
    let read = || "cannot query the Les Misérables store".to_owned();
    let valjean = store
        .external_id("Character", "Valjean")
        .ctx(read)?
        .ok_or_else(|| CliError::new("Valjean is missing from the imported graph (a bug)"))?;
    let mut partners: Vec<(i64, String)> = Vec::new();
    for e in store
        .edges(valjean, Direction::Both, Some("APPEARS_WITH"))
        .ctx(read)?
    {
        let other = if e.src == valjean { e.dst } else { e.src };
        let weight = store
            .get_edge(e.id)
            .ctx(read)?
            .and_then(|e| match e.properties.get("weight") {
                Some(PropertyValue::Int(w)) => Some(*w),
                _ => None,
            })
            .unwrap_or(0);
        let name = match store
            .get_node(other)
            .ctx(read)?
            .and_then(|n| n.properties.get("name").cloned())
        {
            Some(PropertyValue::String(s)) => s.to_string(),
            _ => format!("n{}", other.0),
        };
        partners.push((weight, name));
    }
    partners.sort_by(|a, b| b.cmp(a));
    println!(
        "Valjean appears with {} characters; most often with: {}",
        partners.len(),
        partners
            .iter()
            .take(5)
            .map(|(w, n)| format!("{n} ({w} chapters)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    store.create_index("Character", "partners").ctx(read)?;
    let busiest = store
        .find_nodes_in_range(
            "Character",
            "partners",
            std::ops::Bound::Included(&PropertyValue::Int(20)),
            std::ops::Bound::Unbounded,
        )
        .ctx(read)?;
    println!(
        "index :Character(partners) >= 20: {} characters",
        busiest.len()
    );
    for id in busiest.iter().take(3) {
        if let Some(n) = store.get_node(*id).ctx(read)? {
            println!("  {}", node_text(&n));
        }
    }
    verified(&store, "Les Misérables")?;
    figures["les_miserables"] =
        json!({"nodes": summary.nodes, "relationships": summary.relationships});

    step("Les Misérables through GraphML (for Gephi, networkx, igraph) and back");
    let graphml = data.join("les-miserables.graphml");
    println!(
        "graphstore export {} --format graphml --out {}",
        shown(&path),
        shown(&graphml)
    );
    let exported = {
        let snapshot = store.snapshot().ctx(read)?;
        crate::export::run(
            &snapshot,
            crate::export::Format::Graphml,
            &graphml,
            ';',
            None,
            false,
            true,
        )?
    };
    println!("{}", crate::export::describe(&exported));
    close(store)?;
    central(&path, figures)?;
    let again = dir.join("les-miserables-graphml");
    println!(
        "graphstore import {} --graphml les-miserables.graphml",
        shown(&again)
    );
    let store = open_or_create(&again, Durability::Background)?;
    let back = import::run(
        &store,
        &import_opts(
            vec![Input::Graphml(graphml)],
            dir.join("bad-rows.txt"),
            quiet,
        ),
    )?;
    println!("{}", import::describe(&back));
    if (back.nodes, back.relationships) != (summary.nodes, summary.relationships) {
        return Err(CliError::new(format!(
            "the GraphML round trip changed the graph: {} nodes and {} relationships \
             imported, {} and {} exported (a bug)",
            back.nodes, back.relationships, summary.nodes, summary.relationships
        )));
    }
    let read = || "cannot query the GraphML copy".to_owned();
    let named = |id: u64| -> CliResult<Option<PropertyValue>> {
        Ok(store
            .external_id("", &format!("n{id}"))
            .ctx(read)?
            .and_then(|n| store.get_node(n).ok().flatten())
            .and_then(|n| n.properties.get("name").cloned()))
    };
    println!(
        "the same {} characters and {} co-occurrences; node n{} is {:?} again",
        back.nodes,
        back.relationships,
        valjean.0,
        named(valjean.0)?.map_or_else(String::new, |v| match v {
            PropertyValue::String(s) => s.to_string(),
            other => format!("{other:?}"),
        })
    );
    verified(&store, "GraphML copy")?;
    figures["les_miserables_graphml"] =
        json!({"nodes": back.nodes, "relationships": back.relationships});
    close(store)?;

    step("Zachary's karate club (1977), a plain edge list");
    let path = dir.join("karate-club");
    println!(
        "graphstore import {} --edge-list karate.edges",
        shown(&path)
    );
    let store = open_or_create(&path, Durability::Background)?;
    let summary = import::run(
        &store,
        &import_opts(
            vec![Input::EdgeList(karate)],
            dir.join("bad-rows.txt"),
            quiet,
        ),
    )?;
    println!("{}", import::describe(&summary));
    let read = || "cannot query the karate-club store".to_owned();
    let mut degrees: Vec<(u64, u32)> = Vec::new();
    for m in 1..=34u32 {
        if let Some(n) = store.external_id("member", &m.to_string()).ctx(read)? {
            degrees.push((store.degree(n, Direction::Both, None).ctx(read)?, m));
        }
    }
    degrees.sort_by(|a, b| b.cmp(a));
    println!(
        "best connected members (instructor 1 and administrator 34 in the paper): {}",
        degrees
            .iter()
            .take(3)
            .map(|(d, m)| format!("member {m} ({d} friends)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(one) = store.external_id("member", "1").ctx(read)? {
        let mut reach = std::collections::BTreeSet::new();
        for n in store.neighbors(one, Direction::Both, None).ctx(read)? {
            reach.insert(n);
            for m in store.neighbors(n, Direction::Both, None).ctx(read)? {
                reach.insert(m);
            }
        }
        reach.remove(&one);
        println!(
            "member 1 reaches {} of the other 33 members within two hops",
            reach.len()
        );
    }
    verified(&store, "karate-club")?;
    figures["karate_club"] =
        json!({"nodes": summary.nodes, "relationships": summary.relationships});
    close(store)
}

/// Who is central in Les Misérables: PageRank over the co-occurrences
/// taken both ways, on the store's adjacency in RAM.
fn central(path: &Path, figures: &mut Value) -> CliResult<()> {
    step("Who is central in Les Misérables: PageRank on the stored graph");
    println!(
        "graphstore algo pagerank {} --undirected --top 5",
        shown(path)
    );
    let store = crate::commands::open_existing_with(
        path,
        graph_storage::StoreOptions::default()
            .durability(Durability::Background)
            .adjacency(true),
    )?;
    let read = || "cannot run PageRank on the Les Misérables store".to_owned();
    let topology = graph_algo::Topology::of(&store, None)
        .map_err(|e| CliError::new(format!("{}: {e}", read())))?;
    let started = Instant::now();
    let ranks = graph_algo::pagerank(
        &topology,
        &graph_algo::PageRankOptions::default().undirected(true),
        &mut graph_algo::no_progress,
    )
    .map_err(|e| CliError::new(format!("{}: {e}", read())))?;
    let took = started.elapsed();
    let mut ranked: Vec<(f64, NodeId)> = topology.nodes().map(|n| (ranks.rank(n), n)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut top = Vec::new();
    for (rank, id) in ranked.iter().take(5) {
        let name = match store
            .get_node(*id)
            .ctx(read)?
            .and_then(|n| n.properties.get("name").cloned())
        {
            Some(PropertyValue::String(s)) => s.to_string(),
            _ => format!("n{}", id.0),
        };
        println!("  {rank:.4}  {name}");
        top.push(json!({"name": name, "rank": rank}));
    }
    println!(
        "{} iterations in {:.1} ms over {} nodes and {} edges",
        ranks.iterations,
        took.as_secs_f64() * 1e3,
        topology.node_count(),
        topology.edge_count()
    );
    figures["les_miserables_pagerank"] = json!({"top": top, "iterations": ranks.iterations});
    drop(topology);
    close(store)
}

/// A deterministic generated graph, as the benchmark workload: labels drawn
/// from ten, four properties, five edge types with a weight, sources skewed
/// (power law), targets uniform.
struct Generator {
    rng: StdRng,
    nodes: u64,
}

impl Generator {
    fn node(&mut self, i: u64) -> (&'static str, Properties) {
        let label = LABELS[usize::try_from(i % 10).unwrap_or(0)];
        let mut p = Properties::new();
        p.insert(
            "name",
            PropertyValue::String(format!("{label}-{i:08}").into()),
        );
        p.insert("age", PropertyValue::Int(self.rng.gen_range(18..90)));
        p.insert(
            "score",
            PropertyValue::Float(self.rng.r#gen::<f64>() * 100.0),
        );
        p.insert("active", PropertyValue::Bool(self.rng.gen_bool(0.7)));
        (label, p)
    }

    fn edge(&mut self) -> (u64, u64, &'static str, Properties) {
        let u: f64 = self.rng.r#gen();
        let n = self.nodes as f64;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "in [0, nodes)"
        )]
        let src = ((u * u * u * n) as u64).min(self.nodes - 1);
        let dst = self.rng.gen_range(0..self.nodes);
        let ty = EDGE_TYPES[self.rng.gen_range(0..EDGE_TYPES.len())];
        let mut p = Properties::new();
        p.insert("weight", PropertyValue::Float(self.rng.r#gen::<f64>()));
        (src, dst, ty, p)
    }
}

fn generated(dir: &Path, a: &DemoArgs, quiet: bool, figures: &mut Value) -> CliResult<()> {
    step(&format!(
        "a generated graph: {} nodes, {} edges, 10 labels, 4 properties a node, 5 edge types (seed {})",
        progress::count(a.nodes),
        progress::count(a.edges),
        a.seed
    ));
    if a.nodes == 0 {
        return Err(CliError::new("--nodes must be at least 1"));
    }
    let path = dir.join("generated");
    let store = open_or_create(&path, Durability::Background)?;
    let write_err = || format!("cannot write the generated graph into {}", shown(&path));
    store.create_index("Person", "age").ctx(write_err)?;
    let mut g = Generator {
        rng: StdRng::seed_from_u64(a.seed),
        nodes: a.nodes,
    };
    let batch_size = 10_000u64;

    let t = Instant::now();
    let mut ids: Vec<NodeId> = Vec::with_capacity(usize::try_from(a.nodes).unwrap_or(0));
    let mut p = Progress::new("nodes", a.nodes, quiet);
    let mut i = 0;
    while i < a.nodes {
        let mut b = store.batch();
        for j in i..(i + batch_size).min(a.nodes) {
            let (label, props) = g.node(j);
            ids.push(b.create_node(&[label], props).ctx(write_err)?);
        }
        b.commit().ctx(write_err)?;
        i = (i + batch_size).min(a.nodes);
        p.update(i, i);
    }
    p.finish();
    let node_secs = t.elapsed();
    let t = Instant::now();
    let mut p = Progress::new("edges", a.edges, quiet);
    let mut i = 0;
    while i < a.edges {
        let mut b = store.batch();
        for _ in i..(i + batch_size).min(a.edges) {
            let (s, d, ty, props) = g.edge();
            let (s, d) = (
                ids[usize::try_from(s).unwrap_or(0)],
                ids[usize::try_from(d).unwrap_or(0)],
            );
            b.create_edge(s, d, ty, props).ctx(write_err)?;
        }
        b.commit().ctx(write_err)?;
        i = (i + batch_size).min(a.edges);
        p.update(i, i);
    }
    p.finish();
    store.sync().ctx(write_err)?;
    let edge_secs = t.elapsed();
    let nodes_rate = progress::per_second(a.nodes, node_secs);
    let edges_rate = progress::per_second(a.edges, edge_secs);
    println!(
        "loaded {} nodes in {:.2} s ({} nodes/s) and {} edges in {:.2} s ({} edges/s), batches of 10,000, Background durability, one sync at the end",
        progress::count(a.nodes),
        node_secs.as_secs_f64(),
        progress::count_f(nodes_rate),
        progress::count(a.edges),
        edge_secs.as_secs_f64(),
        progress::count_f(edges_rate)
    );

    let read = || format!("cannot query {}", shown(&path));
    let mut rng = StdRng::seed_from_u64(a.seed ^ 0x5eed);
    let lookups = a.lookups.max(1);
    let pick = |rng: &mut StdRng| ids[rng.gen_range(0..ids.len())];
    let t = Instant::now();
    let mut found = 0u64;
    for _ in 0..lookups {
        found += u64::from(store.get_node(pick(&mut rng)).ctx(read)?.is_some());
    }
    let get_rate = progress::per_second(lookups, t.elapsed());
    println!(
        "get_node: {} random lookups, {} found, {} lookups/s",
        progress::count(lookups),
        progress::count(found),
        progress::count_f(get_rate)
    );

    let t = Instant::now();
    let mut traversed = 0u64;
    let hops = (lookups / 10).max(1);
    for _ in 0..hops {
        traversed += store
            .neighbors(pick(&mut rng), Direction::Outgoing, None)
            .ctx(read)?
            .len() as u64;
    }
    let one_hop = t.elapsed();
    println!(
        "neighbors (out, 1 hop): {} random nodes, {} edges traversed, {} expansions/s, {} edges/s",
        progress::count(hops),
        progress::count(traversed),
        progress::count_f(progress::per_second(hops, one_hop)),
        progress::count_f(progress::per_second(traversed, one_hop))
    );

    let t = Instant::now();
    let mut reached = 0u64;
    let two = (lookups / 100).max(1);
    for _ in 0..two {
        for n in store
            .neighbors(pick(&mut rng), Direction::Both, None)
            .ctx(read)?
        {
            reached += store.degree(n, Direction::Both, None).ctx(read)?;
        }
    }
    let two_hop = t.elapsed();
    println!(
        "2-hop expansions (both directions): {} random nodes, {} paths, {} expansions/s",
        progress::count(two),
        progress::count(reached),
        progress::count_f(progress::per_second(two, two_hop))
    );

    let t = Instant::now();
    let thirty = store
        .find_nodes("Person", "age", &PropertyValue::Int(30))
        .ctx(read)?;
    let range = store
        .find_nodes_in_range(
            "Person",
            "age",
            std::ops::Bound::Included(&PropertyValue::Int(30)),
            std::ops::Bound::Excluded(&PropertyValue::Int(40)),
        )
        .ctx(read)?;
    let idx = t.elapsed();
    println!(
        "index :Person(age): age = 30 -> {} people, 30 <= age < 40 -> {} people ({:.1} ms for both)",
        progress::count(thirty.len() as u64),
        progress::count(range.len() as u64),
        idx.as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let companies = store
        .reader()
        .iter_nodes_with_label("Company")
        .ctx(read)?
        .count();
    println!(
        "label scan :Company -> {} nodes in {:.1} ms",
        progress::count(companies as u64),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let disk = store
        .backend()
        .store_stats()
        .map(|s| s.disk_bytes)
        .unwrap_or(0);
    println!("on disk: {}", progress::bytes(disk));
    verified(&store, "generated")?;
    figures["generated"] = json!({
        "nodes": a.nodes,
        "edges": a.edges,
        "nodes_per_second": nodes_rate,
        "edges_per_second": edges_rate,
        "get_node_per_second": get_rate,
        "one_hop_edges_per_second": progress::per_second(traversed, one_hop),
        "disk_bytes": disk,
    });
    close(store)
}

/// Runs the demo.
///
/// # Errors
/// Any failure of the steps, as one line.
pub fn run(a: DemoArgs, quiet: bool) -> CliResult<()> {
    let started = Instant::now();
    let (_temp, dir) = match &a.dir {
        Some(d) => {
            if d.exists()
                && std::fs::read_dir(d)
                    .ctx(|| format!("cannot read {}", shown(d)))?
                    .next()
                    .is_some()
            {
                return Err(CliError::new(format!(
                    "{} is not empty: give a new or empty directory for the demo's stores",
                    shown(d)
                )));
            }
            std::fs::create_dir_all(d).ctx(|| format!("cannot create {}", shown(d)))?;
            (None, d.clone())
        }
        None => {
            let t = temp_dir()?;
            let d = t.0.clone();
            (Some(t), d)
        }
    };
    println!("graphstore demo: stores in {}", shown(&dir));
    let mut figures = json!({});
    real_graphs(&dir, quiet, &mut figures)?;
    generated(&dir, &a, quiet, &mut figures)?;
    figures["seconds"] = json!(started.elapsed().as_secs_f64());
    figures["peak_rss_bytes"] = json!(progress::peak_rss_bytes());
    println!(
        "\ndone in {:.1} s, peak memory {}{}",
        started.elapsed().as_secs_f64(),
        progress::peak_rss_bytes().map_or_else(|| "unknown".into(), progress::bytes),
        if a.dir.is_some() {
            format!(
                "; the stores stay in {} (try `graphstore stats {}/generated`)",
                shown(&dir),
                shown(&dir)
            )
        } else {
            "; the temporary stores were removed (pass a directory to keep them)".into()
        }
    );
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&figures).unwrap_or_default()
        );
    }
    Ok(())
}
