//! Replicated ingestion against single-node ingestion, in one run.
//!
//! The same workload graph (`bench::workload`) is written twice, both on
//! RocksDB with `Strict` durability:
//! * `single`: one `GraphStore`, batches through `GraphBatch`;
//! * `replicated`: three `graph-raft` members in this process, talking
//!   HTTP over loopback (each its own port), batches through the leader's
//!   `ReplicatedStore::batch` (committed = fsynced in the logs of a
//!   majority, then applied).
//!
//! Then the latency of one-node commits, one at a time, for both. Figures
//! are medians over `--repeat` runs of the whole thing; compare the ratio
//! (replicated / single) within one run, never absolute figures across
//! machines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bench::sys;
use bench::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, Workload};
use clap::Parser;
use graph_core::{Durability, NodeId};
use graph_raft::network::http::{HttpNetwork, raft_routes, serve};
use graph_raft::{LogStore, MemberId, ReadMode, ReplicatedStore, StateMachine};
use graph_storage::{GraphStore, RocksDbBackend, StoreOptions};
use serde_json::json;

type BoxResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Replicated (3 members, HTTP on loopback) vs single-node ingestion on
/// RocksDB, Strict durability.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Nodes to write.
    #[arg(long, default_value_t = 100_000)]
    nodes: u64,
    /// Edges to write.
    #[arg(long, default_value_t = 200_000)]
    edges: u64,
    /// Mutations per commit.
    #[arg(long, default_value_t = 1_000)]
    batch_size: u64,
    /// One-node commits timed for the latency figures.
    #[arg(long, default_value_t = 300)]
    latency_commits: usize,
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

/// One configuration's figures.
#[derive(Debug, Clone, Default)]
struct Figures {
    nodes_per_s: f64,
    edges_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn percentiles(mut us: Vec<f64>) -> (f64, f64, f64) {
    us.sort_by(f64::total_cmp);
    let at = |q: f64| {
        us.get(((us.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    (at(0.5), at(0.99), us.last().copied().unwrap_or(0.0))
}

fn single(w: &Workload, args: &Args, dir: &Path) -> BoxResult<Figures> {
    let store = GraphStore::open_with(
        RocksDbBackend::open(dir)?,
        StoreOptions::default().durability(Durability::Strict),
    )?;
    let t = Instant::now();
    let mut ids: Vec<NodeId> = Vec::with_capacity(w.nodes as usize);
    for start in (0..w.nodes).step_by(args.batch_size.max(1) as usize) {
        let mut batch = store.batch();
        for i in start..(start + args.batch_size).min(w.nodes) {
            let s = w.node(i);
            ids.push(batch.create_node(&[s.label()], s.properties())?);
        }
        batch.commit()?;
    }
    let node_time = t.elapsed();
    let t = Instant::now();
    for start in (0..w.edges).step_by(args.batch_size.max(1) as usize) {
        let mut batch = store.batch();
        for i in start..(start + args.batch_size).min(w.edges) {
            let s = w.edge(i);
            batch.create_edge(
                ids[s.src as usize],
                ids[s.dst as usize],
                s.edge_type(),
                s.properties(),
            )?;
        }
        batch.commit()?;
    }
    let edge_time = t.elapsed();
    let mut lat = Vec::with_capacity(args.latency_commits);
    for i in 0..args.latency_commits {
        let s = w.node(i as u64);
        let t = Instant::now();
        store.create_node(&[s.label()], s.properties())?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (p50_us, p99_us, max_us) = percentiles(lat);
    Ok(Figures {
        nodes_per_s: per_sec(w.nodes, node_time),
        edges_per_s: per_sec(w.edges, edge_time),
        p50_us,
        p99_us,
        max_us,
    })
}

/// A member and its HTTP server.
struct Member {
    store: ReplicatedStore<RocksDbBackend>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_members(dir: &Path) -> BoxResult<BTreeMap<MemberId, Member>> {
    let mut listeners = BTreeMap::new();
    for id in 1..=3u64 {
        listeners.insert(id, tokio::net::TcpListener::bind("127.0.0.1:0").await?);
    }
    let mut nodes = BTreeMap::new();
    for (id, l) in &listeners {
        nodes.insert(*id, openraft::BasicNode::new(l.local_addr()?.to_string()));
    }
    let mut members = BTreeMap::new();
    for (id, listener) in listeners {
        let d = dir.join(format!("member-{id}"));
        std::fs::create_dir_all(&d)?;
        let log = LogStore::open(RocksDbBackend::open(d.join("log"))?, Durability::Strict)?;
        let sm = StateMachine::open(
            RocksDbBackend::open(d.join("graph"))?,
            d.join("snapshots"),
            Durability::Strict,
        )?;
        let store = ReplicatedStore::start(
            id,
            graph_raft::default_config()?,
            log,
            sm,
            HttpNetwork::new()?,
        )
        .await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = raft_routes(store.raft().clone());
        let server = tokio::spawn(serve(listener, app, async move {
            let _ = stopped.await;
        }));
        members.insert(
            id,
            Member {
                store,
                stop,
                server,
            },
        );
    }
    members[&1].store.initialize(nodes).await?;
    // Wait for a leader that can serve a linearizable read.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(l) = members[&1].store.leader() {
            if members[&l].store.read(ReadMode::Linearizable).await.is_ok() {
                break;
            }
        }
        if Instant::now() > deadline {
            return Err("no leader after 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(members)
}

async fn replicated(w: &Workload, args: &Args, dir: &Path) -> BoxResult<Figures> {
    let members = start_members(dir).await?;
    let leader = members[&1].store.leader().ok_or("no leader")?;
    let store = members[&leader].store.clone();
    let t = Instant::now();
    let mut ids: Vec<NodeId> = Vec::with_capacity(w.nodes as usize);
    for start in (0..w.nodes).step_by(args.batch_size.max(1) as usize) {
        let mut batch = store.batch();
        for i in start..(start + args.batch_size).min(w.nodes) {
            let s = w.node(i);
            batch.create_node(&[s.label()], s.properties());
        }
        let (nodes, _) = batch.commit().await?;
        ids.extend(nodes);
    }
    let node_time = t.elapsed();
    let t = Instant::now();
    for start in (0..w.edges).step_by(args.batch_size.max(1) as usize) {
        let mut batch = store.batch();
        for i in start..(start + args.batch_size).min(w.edges) {
            let s = w.edge(i);
            batch.create_edge(
                ids[s.src as usize],
                ids[s.dst as usize],
                s.edge_type(),
                s.properties(),
            );
        }
        batch.commit().await?;
    }
    let edge_time = t.elapsed();
    let mut lat = Vec::with_capacity(args.latency_commits);
    for i in 0..args.latency_commits {
        let s = w.node(i as u64);
        let t = Instant::now();
        let mut batch = store.batch();
        batch.create_node(&[s.label()], s.properties());
        batch.commit().await?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (p50_us, p99_us, max_us) = percentiles(lat);
    // Every member holds the graph before the figures count.
    let last = store.applied_index().unwrap_or(0);
    for m in members.values() {
        m.store.wait_applied(last, Duration::from_secs(60)).await?;
        let count = m.store.read(ReadMode::Local).await?.node_count()?;
        let expected = w.nodes + args.latency_commits as u64;
        if count != expected {
            return Err(format!(
                "member {} holds {count} nodes, expected {expected}",
                m.store.id()
            )
            .into());
        }
    }
    for (_, m) in members {
        m.store.shutdown().await?;
        let _ = m.stop.send(());
        m.server.await??;
    }
    Ok(Figures {
        nodes_per_s: per_sec(w.nodes, node_time),
        edges_per_s: per_sec(w.edges, edge_time),
        p50_us,
        p99_us,
        max_us,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn medians(runs: &[Figures]) -> Figures {
    let m = |f: fn(&Figures) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    Figures {
        nodes_per_s: m(|f| f.nodes_per_s),
        edges_per_s: m(|f| f.edges_per_s),
        p50_us: m(|f| f.p50_us),
        p99_us: m(|f| f.p99_us),
        max_us: m(|f| f.max_us),
    }
}

fn main() -> BoxResult {
    let args = Args::parse();
    let w = Workload::new(args.nodes, args.edges, DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT)?;
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let load_before = sys::load_average();
    let (mut singles, mut replicas) = (Vec::new(), Vec::new());
    for run in 0..args.repeat.max(1) {
        let d = root.join(format!("run-{run}"));
        eprintln!("run {}: single", run + 1);
        singles.push(single(&w, &args, &d.join("single"))?);
        eprintln!("run {}: replicated (3 members, HTTP on loopback)", run + 1);
        replicas.push(runtime.block_on(replicated(&w, &args, &d.join("replicated")))?);
        std::fs::remove_dir_all(&d)?;
    }
    let (s, r) = (medians(&singles), medians(&replicas));
    println!(
        "{} nodes, {} edges, batches of {}, RocksDB Strict, medians of {} run(s), load {:.2}",
        args.nodes,
        args.edges,
        args.batch_size,
        args.repeat.max(1),
        load_before.unwrap_or(0.0)
    );
    println!("| configuration | nodes/s | edges/s | 1-node commit p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, f) in [("single node", &s), ("3 members, HTTP loopback", &r)] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} µs | {:.0} µs | {:.0} µs |",
            f.nodes_per_s, f.edges_per_s, f.p50_us, f.p99_us, f.max_us
        );
    }
    println!(
        "| replicated / single | {:.2} | {:.2} | {:.2} | {:.2} | |",
        r.nodes_per_s / s.nodes_per_s,
        r.edges_per_s / s.edges_per_s,
        r.p50_us / s.p50_us.max(1e-9),
        r.p99_us / s.p99_us.max(1e-9)
    );
    if let Some(path) = &args.json {
        let fig = |f: &Figures| {
            json!({"nodes_per_s": f.nodes_per_s, "edges_per_s": f.edges_per_s,
                   "commit_p50_us": f.p50_us, "commit_p99_us": f.p99_us, "commit_max_us": f.max_us})
        };
        let value = json!({
            "nodes": args.nodes, "edges": args.edges, "batch_size": args.batch_size,
            "repeat": args.repeat, "load_average": load_before,
            "machine": format!("{:?}", sys::machine()),
            "single": fig(&s), "replicated": fig(&r),
        });
        std::fs::write(path, serde_json::to_string_pretty(&value)?)?;
    }
    Ok(())
}
