//! Writes the harness workload (`bench::workload::Workload`, the generator
//! and seed of `ingest`) as files every system of the peer comparison
//! (`bench/peers/run`) loads:
//!
//! * `nodes.csv`, `relationships.csv`: Neo4j admin-import CSV for
//!   `graphstore import` (`:ID`, `:LABEL`, typed property columns;
//!   `:START_ID`, `:END_ID`, `:TYPE`, `weight:double`);
//! * `peer_nodes.csv` (`id,label,name,age,score,active`) and
//!   `peer_edges.csv` (`src,dst,type,weight`): plain columns (Ladybug);
//! * `graph.nt`: N-Triples (Oxigraph): five triples a node (`rdf:type` the
//!   label, `name`, `age`, `score`, `active`) and one a edge (`src TYPE
//!   dst`). Plain triples cannot hold edge properties (`weight` is left
//!   out) nor parallel edges (the same source, type and target twice is
//!   one triple);
//! * `sample.txt`: a fixed sample of node ids chosen by the seed, one a line;
//! * `expected.json`: node and edge counts and the out-degree sum of the
//!   sample, computed from the generator, and the same for the graph as
//!   plain triples can hold it (distinct source, type, target).
//!
//! Node ids in every file are the workload's node indexes `0..nodes`.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, EDGE_TYPES, ItemRng, Workload};
use clap::Parser;
use rand::Rng;

/// Write the harness workload as CSV and N-Triples for the peer comparison.
#[derive(Debug, Parser)]
#[command(name = "workload_csv")]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 1_000_000)]
    nodes: u64,
    /// Number of edges.
    #[arg(long, default_value_t = 2_000_000)]
    edges: u64,
    /// The workload seed (the harness's default).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Size of the node sample of `sample.txt` and `expected.json`.
    #[arg(long, default_value_t = 1_000)]
    sample: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

const BASE: &str = "http://example.org/graph/";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
/// The stream of the sample draw (not used by the generator's streams).
const SAMPLE_STREAM: u64 = 0x7361_6d70; // "samp"

fn create(dir: &Path, name: &str) -> std::io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(dir.join(name))?,
    ))
}

/// `count` distinct node indexes drawn by the seed (all of them when the
/// graph is smaller), in the order drawn.
fn sample_ids(nodes: u64, count: u64, seed: u64) -> Vec<u64> {
    let count = count.min(nodes);
    let mut rng = ItemRng::new(seed, SAMPLE_STREAM, 0);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while (out.len() as u64) < count {
        let id = rng.gen_range(0..nodes);
        if seen.insert(id) {
            out.push(id);
        }
    }
    out
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let w = Workload::new(args.nodes, args.edges, args.seed, DEFAULT_ZIPF_EXPONENT)?;
    std::fs::create_dir_all(&args.out)?;
    let dir = args.out.as_path();

    let mut nodes = create(dir, "nodes.csv")?;
    let mut peer_nodes = create(dir, "peer_nodes.csv")?;
    let mut nt = create(dir, "graph.nt")?;
    writeln!(nodes, ":ID,:LABEL,name,age:int,score:double,active:boolean")?;
    writeln!(peer_nodes, "id,label,name,age,score,active")?;
    for i in 0..w.nodes {
        let n = w.node(i);
        let (label, name) = (n.label(), n.name());
        writeln!(
            nodes,
            "{i},{label},{name},{},{},{}",
            n.age, n.score, n.active
        )?;
        writeln!(
            peer_nodes,
            "{i},{label},{name},{},{},{}",
            n.age, n.score, n.active
        )?;
        let s = format!("<{BASE}n/{i}>");
        writeln!(nt, "{s} <{RDF_TYPE}> <{BASE}label/{label}> .")?;
        writeln!(nt, "{s} <{BASE}p/name> \"{name}\" .")?;
        writeln!(nt, "{s} <{BASE}p/age> \"{}\"^^<{XSD}integer> .", n.age)?;
        writeln!(nt, "{s} <{BASE}p/score> \"{:e}\"^^<{XSD}double> .", n.score)?;
        writeln!(
            nt,
            "{s} <{BASE}p/active> \"{}\"^^<{XSD}boolean> .",
            n.active
        )?;
    }
    nodes.flush()?;
    peer_nodes.flush()?;

    let sample = sample_ids(w.nodes, args.sample, args.seed);
    let in_sample: HashSet<u64> = sample.iter().copied().collect();
    let mut sample_out_degree_sum = 0u64;
    let mut sample_distinct_out_degree_sum = 0u64;
    let mut distinct: HashSet<(u64, u8, u64)> = HashSet::new();

    let mut rels = create(dir, "relationships.csv")?;
    let mut peer_edges = create(dir, "peer_edges.csv")?;
    writeln!(rels, ":START_ID,:END_ID,:TYPE,weight:double")?;
    writeln!(peer_edges, "src,dst,type,weight")?;
    for i in 0..w.edges {
        let e = w.edge(i);
        let ty = e.edge_type();
        writeln!(rels, "{},{},{ty},{}", e.src, e.dst, e.weight)?;
        writeln!(peer_edges, "{},{},{ty},{}", e.src, e.dst, e.weight)?;
        let sample_src = in_sample.contains(&e.src);
        if sample_src {
            sample_out_degree_sum += 1;
        }
        if distinct.insert((e.src, e.edge_type, e.dst)) {
            if sample_src {
                sample_distinct_out_degree_sum += 1;
            }
            writeln!(
                nt,
                "<{BASE}n/{}> <{BASE}rel/{ty}> <{BASE}n/{}> .",
                e.src, e.dst
            )?;
        }
    }
    rels.flush()?;
    peer_edges.flush()?;
    nt.flush()?;

    let mut s = create(dir, "sample.txt")?;
    for id in &sample {
        writeln!(s, "{id}")?;
    }
    s.flush()?;

    let expected = serde_json::json!({
        "seed": args.seed,
        "nodes": w.nodes,
        "edges": w.edges,
        "sample_size": sample.len(),
        "sample_out_degree_sum": sample_out_degree_sum,
        "distinct_edges": distinct.len(),
        "sample_distinct_out_degree_sum": sample_distinct_out_degree_sum,
        "triples": w.nodes * 5 + distinct.len() as u64,
        "edge_types": EDGE_TYPES,
    });
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_string_pretty(&expected)? + "\n",
    )?;
    eprintln!(
        "workload_csv: {} nodes, {} edges ({} distinct as triples), seed {}, in {:.1} s into {}",
        w.nodes,
        w.edges,
        distinct.len(),
        args.seed,
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workload_csv: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
