//! Graph bulk loads killed at random moments are all or nothing, at the
//! graph level: a child (`bulk_graph_child`) bulk-loads a deterministic
//! graph (labels, properties, a property index, external ids; a 1 MiB sort
//! budget, so sorted runs spill) into a new RocksDB store and is SIGKILLed
//! at seeded random moments: while nodes and edges are added (runs being
//! spilled), while the runs are merged into SST files, ingested and renamed
//! into place, and anywhere in between. After each kill the target either
//! holds no store, or opens as a graph store byte-identical to the same
//! graph bulk-loaded into memory, with `verify()` clean. The spill
//! directories of killed loads are removed by the next load.
//!
//! A fifth of the kills each: anywhere; while adding; (twice) while
//! finishing; just after the store appeared at the target.
//!
//! `GRAPH_STORAGE_CRASH_CYCLES` scales the number of kills (20% of it: 20
//! by default); `GRAPH_STORAGE_SEED` replays a run.

#[allow(dead_code)]
#[path = "../src/bin/bulk_graph_child.rs"]
mod bulk_graph_child;

use std::path::Path;
use std::time::{Duration, Instant};

use graph_storage::bulk::BulkLoader;
use graph_storage::{
    ColumnFamily, ErrorKind, GraphStore, KeyRange, MemoryBackend, ReadView, RocksDbBackend,
    RocksDbConfig, ScanDirection,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::Must;
use tests::crash::{ChildRun, Ended};
use tests::workload::{base_seed, env_u64};

const EXE: &str = env!("CARGO_BIN_EXE_bulk_graph_child");
const NODES: u64 = 20_000;
const EDGES: u64 = 60_000;
const TIMEOUT: Duration = Duration::from_secs(60);

type Dump = Vec<Vec<(Vec<u8>, Vec<u8>)>>;

fn dump(view: &impl ReadView) -> Dump {
    ColumnFamily::ALL
        .iter()
        .map(|&cf| {
            view.collect_range(cf, KeyRange::all(), ScanDirection::Forward, None)
                .must("scan")
        })
        .collect()
}

fn spawn(target: &Path, seed: u64) -> ChildRun {
    ChildRun::spawn(
        EXE,
        &[
            &target.to_string_lossy(),
            &seed.to_string(),
            &NODES.to_string(),
            &EDGES.to_string(),
        ],
    )
}

fn spill_dirs(parent: &Path) -> usize {
    std::fs::read_dir(parent)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("graph-storage-bulk-")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Opens the target after a kill: nothing, or exactly the graph.
fn check(target: &Path, want: &Dump, ended: &Ended, ctx: &str) -> bool {
    let config = RocksDbConfig {
        create_if_missing: false,
        ..RocksDbConfig::default()
    };
    match RocksDbBackend::open_with(target, &config) {
        Ok(backend) => {
            assert!(
                ended.has("finishing"),
                "{ctx}: a store appeared before finish"
            );
            let store = GraphStore::open(backend).must("opening the graph store");
            assert!(
                dump(store.backend()) == *want,
                "{ctx}: the store differs from the graph"
            );
            let report = store.verify().must("verify");
            assert!(report.is_clean(), "{ctx}: {report}");
            store.into_backend().close().must("close");
            true
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{ctx}: opening: {e}");
            assert!(!ended.has("done"), "{ctx}: done, but no store: {e}");
            false
        }
    }
}

#[test]
fn graph_bulk_loads_killed_at_random_moments_leave_nothing_or_the_whole_graph() {
    let started = Instant::now();
    // Declared first, dropped last.
    let root = tests::test_dir();
    let seed = base_seed("graph_bulk_loads_killed_at_random_moments");

    // The graph, bulk-loaded into memory.
    let want = {
        let mut loader = BulkLoader::new(
            MemoryBackend::bulk_sink(),
            bulk_graph_child::options(root.path()),
        )
        .must("loader");
        bulk_graph_child::build(&mut loader, seed, NODES, EDGES).must("build");
        let (backend, _) = loader.finish(&mut |_| {}).must("finish");
        dump(&backend)
    };

    // One uninterrupted run: the same bytes; the phase timings.
    let parent = root.path().join("full");
    std::fs::create_dir(&parent).must("mkdir");
    let target = parent.join("store");
    let t0 = Instant::now();
    let mut child = spawn(&target, seed);
    assert!(
        child.wait_for(TIMEOUT, |l| l == "started"),
        "{:?}",
        child.seen()
    );
    let t_started = t0.elapsed();
    assert!(
        child.wait_for(TIMEOUT, |l| l == "finishing"),
        "{:?}",
        child.seen()
    );
    let t_finish = t0.elapsed();
    assert!(
        child.wait_for(TIMEOUT, |l| l == "done"),
        "{:?}",
        child.seen()
    );
    let t_done = t0.elapsed();
    let ended = child.wait(TIMEOUT);
    ended.assert_no_error("the uninterrupted load");
    assert!(check(&target, &want, &ended, "the uninterrupted load"));
    assert_eq!(spill_dirs(&parent), 0, "the load left its spill directory");

    let mut rng = StdRng::seed_from_u64(seed);
    let kills = (env_u64("GRAPH_STORAGE_CRASH_CYCLES", 100) / 5).max(1);
    let (mut complete, mut absent) = (0, 0);
    let adding = t_finish.saturating_sub(t_started);
    let finishing = t_done.saturating_sub(t_finish);
    // All kills share one parent, so each load also removes the spill
    // directories of the loads killed before it.
    let parent = root.path().join("kills");
    std::fs::create_dir(&parent).must("mkdir");
    for i in 0..kills {
        let target = parent.join(format!("store{i}"));
        let mut child = spawn(&target, seed);
        match i % 5 {
            0 => std::thread::sleep(t_done.mul_f64(rng.gen_range(0.0..1.1))),
            1 => {
                child.wait_for(TIMEOUT, |l| l == "started");
                std::thread::sleep(adding.mul_f64(rng.gen_range(0.0..1.0)));
            }
            2 | 3 => {
                child.wait_for(TIMEOUT, |l| l == "finishing");
                std::thread::sleep(finishing.mul_f64(rng.gen_range(0.0..1.2)));
            }
            _ => {
                // Just after the store appeared at the target (the rename).
                let deadline = Instant::now() + TIMEOUT;
                while !target.join("CURRENT").exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        let ended = child.kill();
        ended.assert_no_error("a killed load");
        let ctx = format!("kill {i} (seed {seed})");
        if check(&target, &want, &ended, &ctx) {
            complete += 1;
        } else {
            absent += 1;
        }
    }
    assert!(absent > 0, "no kill landed before the store appeared");
    assert!(complete > 0, "no kill landed after the store appeared");
    // The last killed load's spill directory is removed by the next load.
    let mut loader = BulkLoader::new(
        MemoryBackend::bulk_sink(),
        bulk_graph_child::options(&parent),
    )
    .must("loader");
    assert_eq!(spill_dirs(&parent), 1, "stale spill directories remain");
    bulk_graph_child::build(&mut loader, seed, 10, 10).must("build");
    drop(loader.finish(&mut |_| {}).must("finish"));
    assert_eq!(spill_dirs(&parent), 0);
    eprintln!(
        "{kills} kills: {complete} complete, {absent} no store; uninterrupted: started {t_started:?}, \
         finishing {t_finish:?}, done {t_done:?}; {:?} in all",
        started.elapsed()
    );
}
