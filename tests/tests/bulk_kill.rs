//! Bulk loads killed at random moments are all or nothing.
//!
//! A child process (`bulk_child`) bulk-creates a RocksDB store of a known,
//! deterministic content (200,000 entries over the four column families,
//! SST files rolled at 128 KiB, so each family has many) through
//! `RocksDbBulkSink`. Once it runs to completion: the store holds exactly
//! the content. Then it is SIGKILLed at seeded random moments, a fifth of
//! the kills each: anywhere in its run; while it puts entries (SST files
//! being written); anywhere in `commit` (ingestion, syncs, the marker, the
//! rename, the reopening); just after the completion marker appears in
//! the staging directory (the staging database closing, the rename); just
//! after the store appears at the target (the parent synced, the marker
//! removed, the store reopened). After each kill the target is opened with
//! `RocksDbBackend::open_with` (which finishes or removes an interrupted
//! load first): it must be missing or empty (no store) or hold exactly the
//! whole content, a kill before `commit` must leave no store, one after
//! `done` the whole store, and no staging directory may remain. Half the
//! cycles start from an existing empty target directory.
//!
//! `GRAPH_STORAGE_CRASH_CYCLES` scales the number of kills (30% of it:
//! 30 by default); `GRAPH_STORAGE_SEED` replays a run.

#[allow(dead_code)]
#[path = "../src/bin/bulk_child.rs"]
mod bulk_child;

use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use bulk_child::Content;
use graph_core::{ColumnFamily, ErrorKind, KeyRange, ReadView, ScanDirection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storage_rocksdb::{BULK_COMPLETE_MARKER, RocksDbBackend, RocksDbBulkSink, RocksDbConfig};
use tests::Must;
use tests::crash::{ChildRun, Ended};
use tests::workload::{base_seed, env_u64};

const EXE: &str = env!("CARGO_BIN_EXE_bulk_child");
const ENTRIES: u64 = 200_000;
const FILE_BYTES: u64 = 128 << 10;
const TIMEOUT: Duration = Duration::from_secs(60);

fn kills() -> u64 {
    (env_u64("GRAPH_STORAGE_CRASH_CYCLES", 100) * 3 / 10).max(1)
}

fn spawn(target: &Path, seed: u64) -> ChildRun {
    let target = target.to_string_lossy().into_owned();
    ChildRun::spawn(
        EXE,
        &[
            "load",
            &target,
            &seed.to_string(),
            &ENTRIES.to_string(),
            &FILE_BYTES.to_string(),
        ],
    )
}

/// Fails unless the store holds exactly `content`, every family in order.
fn check_complete(backend: &RocksDbBackend, content: &Content, context: &str) {
    for cf in ColumnFamily::ALL {
        let mut i = 0u64;
        backend
            .scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
                assert!(
                    i < content.count(cf),
                    "{context}: {cf} has more than {} entries",
                    content.count(cf)
                );
                let (ek, ev) = content.entry(cf, i);
                assert!(
                    k == ek.as_slice() && v == ev.as_slice(),
                    "{context}: {cf} entry {i} differs (key {k:02x?}, expected {ek:02x?})"
                );
                i += 1;
                Ok(ControlFlow::Continue(()))
            })
            .must("scanning the loaded store");
        assert_eq!(i, content.count(cf), "{context}: {cf} entry count");
    }
}

fn missing_or_empty(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut d) => d.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Polls the file system until `done` holds (the child keeps running).
fn wait_until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "the bulk load never got there");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Where the child was when it died.
fn phase(ended: &Ended) -> &'static str {
    if ended.has("done") {
        "after done"
    } else if ended.has("committing") {
        "commit"
    } else if ended.has("started") {
        "put"
    } else {
        "setup"
    }
}

#[derive(Debug, Default)]
struct Tally {
    kills: u64,
    setup: u64,
    put: u64,
    commit: u64,
    after_done: u64,
    complete: u64,
    absent: u64,
    staging_removed: u64,
    staging_completed: u64,
    marker_in_store: u64,
}

/// Opens the target after a kill and checks it is nothing or everything.
fn check_after_kill(target: &Path, content: &Content, ended: &Ended, tally: &mut Tally, ctx: &str) {
    let staging = RocksDbBulkSink::staging_dir(target).must("staging dir");
    if staging.exists() {
        if staging.join(BULK_COMPLETE_MARKER).exists() {
            tally.staging_completed += 1;
        } else {
            tally.staging_removed += 1;
        }
    }
    if target.join(BULK_COMPLETE_MARKER).exists() {
        tally.marker_in_store += 1;
    }
    let config = RocksDbConfig {
        create_if_missing: false,
        ..RocksDbConfig::default()
    };
    match RocksDbBackend::open_with(target, &config) {
        Ok(backend) => {
            assert!(
                ended.has("committing"),
                "{ctx}: a store appeared though the child was killed before commit"
            );
            check_complete(&backend, content, ctx);
            backend.close().must("closing");
            tally.complete += 1;
            assert!(
                !target.join(BULK_COMPLETE_MARKER).exists(),
                "{ctx}: the marker stayed in the store"
            );
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{ctx}: opening: {e}");
            assert!(
                !ended.has("done"),
                "{ctx}: the child reported done but there is no store: {e}"
            );
            assert!(
                missing_or_empty(target),
                "{ctx}: no store, but the target is not empty"
            );
            tally.absent += 1;
        }
    }
    assert!(
        !staging.exists(),
        "{ctx}: the staging directory {} remains after the open",
        staging.display()
    );
}

#[test]
fn bulk_loads_killed_at_random_moments_leave_nothing_or_everything() {
    let started = Instant::now();
    // Declared first, dropped last: every store is closed and every child
    // killed and waited for before the directory is removed.
    let root = tempfile::tempdir().must("creating a temporary directory");
    let seed = base_seed("bulk_loads_killed_at_random_moments_leave_nothing_or_everything");
    let content = Content::new(seed, ENTRIES);

    // One run to completion: the content, and the timing of the phases.
    let target = root.path().join("full/store");
    std::fs::create_dir_all(root.path().join("full")).must("mkdir");
    let t0 = Instant::now();
    let mut child = spawn(&target, seed);
    assert!(
        child.wait_for(TIMEOUT, |l| l == "started"),
        "{:?}",
        child.seen()
    );
    let t_started = t0.elapsed();
    assert!(
        child.wait_for(TIMEOUT, |l| l == "committing"),
        "{:?}",
        child.seen()
    );
    let t_commit = t0.elapsed();
    assert!(
        child.wait_for(TIMEOUT, |l| l == "done"),
        "{:?}",
        child.seen()
    );
    let t_done = t0.elapsed();
    let ended = child.wait(TIMEOUT);
    ended.assert_no_error("the uninterrupted load");
    let backend = RocksDbBackend::open(&target).must("opening the loaded store");
    check_complete(&backend, &content, "the uninterrupted load");
    drop(backend);
    let files = std::fs::read_dir(&target)
        .must("listing")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sst"))
        })
        .count();
    assert_eq!(
        std::fs::read_dir(root.path().join("full"))
            .must("listing")
            .count(),
        1,
        "the load left something beside the store"
    );
    std::fs::remove_dir_all(root.path().join("full")).must("cleanup");
    eprintln!(
        "uninterrupted load: started after {t_started:?}, committing after {t_commit:?}, done \
         after {t_done:?}; {files} SST files"
    );

    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let put = t_commit.saturating_sub(t_started);
    let commit = t_done.saturating_sub(t_commit);
    for i in 0..kills() {
        let parent = root.path().join(format!("c{i}"));
        std::fs::create_dir(&parent).must("mkdir");
        let target = parent.join("store");
        if i % 2 == 1 {
            std::fs::create_dir(&target).must("mkdir");
        }
        let mut child = spawn(&target, seed);
        let staging = RocksDbBulkSink::staging_dir(&target).must("staging dir");
        match i % 5 {
            0 => std::thread::sleep(t_done.mul_f64(rng.gen_range(0.0..1.1))),
            1 => {
                child.wait_for(TIMEOUT, |l| l == "started");
                std::thread::sleep(put.mul_f64(rng.gen_range(0.0..1.0)));
            }
            2 => {
                child.wait_for(TIMEOUT, |l| l == "committing");
                std::thread::sleep(commit.mul_f64(rng.gen_range(0.0..1.2)));
            }
            // The last steps of the protocol are short: watch for them.
            3 => {
                // The marker is written: the database closes, the rename
                // follows.
                wait_until(|| {
                    staging.join(BULK_COMPLETE_MARKER).exists() || target.join("CURRENT").exists()
                });
                std::thread::sleep(Duration::from_micros(rng.gen_range(0..2_000)));
            }
            _ => {
                // Renamed: the parent is synced, the marker removed, the
                // store opened.
                wait_until(|| target.join("CURRENT").exists());
                std::thread::sleep(Duration::from_micros(rng.gen_range(0..500)));
            }
        }
        let ended = child.kill();
        let ctx = format!("seed {seed}, kill {i} ({})", phase(&ended));
        ended.assert_no_error(&ctx);
        tally.kills += 1;
        match phase(&ended) {
            "setup" => tally.setup += 1,
            "put" => tally.put += 1,
            "commit" => tally.commit += 1,
            _ => tally.after_done += 1,
        }
        check_after_kill(&target, &content, &ended, &mut tally, &ctx);
        let left: Vec<_> = std::fs::read_dir(&parent)
            .must("listing")
            .map(|e| e.must("listing").file_name())
            .collect();
        assert!(
            left.iter().all(|n| n == "store"),
            "{ctx}: left beside the store: {left:?}"
        );
        std::fs::remove_dir_all(&parent).must("cleanup");
    }
    eprintln!("bulk kills: {tally:?}; {:?} in all", started.elapsed());
    assert!(tally.complete > 0 && tally.absent > 0, "{tally:?}");
}
