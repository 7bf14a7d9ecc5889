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
use std::sync::{Arc, Mutex};
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
    /// Writers committing batches concurrently (threads for the single
    /// store, whose group commit merges them; tasks for the replicated one,
    /// whose leader appends them to the log together).
    #[arg(long, default_value_t = 1)]
    clients: usize,
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

/// The batches of `0..n`, in order.
fn batches(n: u64, size: u64) -> Vec<std::ops::Range<u64>> {
    let size = size.max(1);
    (0..n.div_ceil(size))
        .map(|b| b * size..((b + 1) * size).min(n))
        .collect()
}

/// Runs `commit` on every batch of `0..n` from `args.clients` threads;
/// returns the results in batch order.
fn threaded<T: Send>(
    n: u64,
    args: &Args,
    commit: impl Fn(std::ops::Range<u64>) -> BoxResult<Vec<T>> + Sync,
) -> BoxResult<Vec<Vec<T>>> {
    let all = batches(n, args.batch_size);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Vec<T>>>> = Mutex::new((0..all.len()).map(|_| None).collect());
    std::thread::scope(|scope| -> BoxResult {
        let workers: Vec<_> = (0..args.clients.max(1))
            .map(|_| {
                scope.spawn(|| -> BoxResult {
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(range) = all.get(b) else {
                            return Ok(());
                        };
                        let result = commit(range.clone())?;
                        out.lock().map_err(|_| "poisoned")?[b] = Some(result);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "a writer thread panicked")??;
        }
        Ok(())
    })?;
    out.into_inner()
        .map_err(|_| "poisoned")?
        .into_iter()
        .map(|r| r.ok_or_else(|| "a batch was not committed".into()))
        .collect()
}

/// Runs `commit` on every batch of `0..n` from `args.clients` tasks;
/// returns the results in batch order.
async fn tasks<T, F, Fut>(
    n: u64,
    args: &Args,
    store: &ReplicatedStore<RocksDbBackend>,
    w: Arc<Workload>,
    commit: F,
) -> BoxResult<Vec<Vec<T>>>
where
    T: Send + 'static,
    F: Fn(ReplicatedStore<RocksDbBackend>, Arc<Workload>, std::ops::Range<u64>) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: std::future::Future<Output = BoxResult<Vec<T>>> + Send,
{
    let all = Arc::new(batches(n, args.batch_size));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let out: Arc<Mutex<Vec<Option<Vec<T>>>>> =
        Arc::new(Mutex::new((0..all.len()).map(|_| None).collect()));
    let commit = Arc::new(commit);
    let mut handles = Vec::new();
    for _ in 0..args.clients.max(1) {
        let (all, next, out, commit, store, w) = (
            Arc::clone(&all),
            Arc::clone(&next),
            Arc::clone(&out),
            Arc::clone(&commit),
            store.clone(),
            Arc::clone(&w),
        );
        handles.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(range) = all.get(b).cloned() else {
                    return Ok::<(), Box<dyn std::error::Error + Send + Sync>>(());
                };
                let result = commit(store.clone(), Arc::clone(&w), range).await?;
                out.lock().map_err(|_| "poisoned")?[b] = Some(result);
            }
        }));
    }
    for h in handles {
        h.await??;
    }
    let out = std::mem::take(&mut *out.lock().map_err(|_| "poisoned")?);
    out.into_iter()
        .map(|r| r.ok_or_else(|| "a batch was not committed".into()))
        .collect()
}

fn single(w: &Workload, args: &Args, dir: &Path) -> BoxResult<Figures> {
    let store = GraphStore::open_with(
        RocksDbBackend::open(dir)?,
        StoreOptions::default().durability(Durability::Strict),
    )?;
    let t = Instant::now();
    let ids: Vec<NodeId> = threaded(w.nodes, args, |range| {
        let mut batch = store.batch();
        let mut ids = Vec::new();
        for i in range {
            let s = w.node(i);
            ids.push(batch.create_node(&[s.label()], s.properties())?);
        }
        batch.commit()?;
        Ok(ids)
    })?
    .into_iter()
    .flatten()
    .collect();
    let node_time = t.elapsed();
    let t = Instant::now();
    threaded(w.edges, args, |range| {
        let mut batch = store.batch();
        for i in range {
            let s = w.edge(i);
            batch.create_edge(
                ids[s.src as usize],
                ids[s.dst as usize],
                s.edge_type(),
                s.properties(),
            )?;
        }
        batch.commit()?;
        Ok(Vec::<()>::new())
    })?;
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
        if let Some(l) = members[&1].store.leader()
            && members[&l].store.read(ReadMode::Linearizable).await.is_ok()
        {
            break;
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
    let w1 = Arc::new(w.clone());
    let ids: Vec<NodeId> = tasks(
        w.nodes,
        args,
        &store,
        Arc::clone(&w1),
        |store, w, range| async move {
            let mut batch = store.batch();
            for i in range {
                let s = w.node(i);
                batch.create_node(&[s.label()], s.properties());
            }
            Ok(batch.commit().await?.0)
        },
    )
    .await?
    .into_iter()
    .flatten()
    .collect();
    let node_time = t.elapsed();
    let t = Instant::now();
    let ids = Arc::new(ids);
    tasks(
        w.edges,
        args,
        &store,
        Arc::clone(&w1),
        move |store, w, range| {
            let ids = Arc::clone(&ids);
            async move {
                let mut batch = store.batch();
                for i in range {
                    let s = w.edge(i);
                    batch.create_edge(
                        ids[s.src as usize],
                        ids[s.dst as usize],
                        s.edge_type(),
                        s.properties(),
                    );
                }
                batch.commit().await?;
                Ok(Vec::<()>::new())
            }
        },
    )
    .await?;
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
    // Every member holds the graph before the figures count (openraft's
    // metrics are published asynchronously: poll the stores).
    let expected = w.nodes + args.latency_commits as u64;
    for m in members.values() {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let count = m.store.read(ReadMode::Local).await?.node_count()?;
            if count == expected {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "member {} holds {count} nodes, expected {expected}",
                    m.store.id()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
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
        "{} nodes, {} edges, batches of {}, {} writer(s), RocksDB Strict, medians of {} run(s), load {:.2}",
        args.nodes,
        args.edges,
        args.batch_size,
        args.clients.max(1),
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
            "nodes": args.nodes, "edges": args.edges, "batch_size": args.batch_size, "clients": args.clients,
            "repeat": args.repeat, "load_average": load_before,
            "machine": format!("{:?}", sys::machine()),
            "single": fig(&s), "replicated": fig(&r),
        });
        std::fs::write(path, serde_json::to_string_pretty(&value)?)?;
    }
    Ok(())
}
