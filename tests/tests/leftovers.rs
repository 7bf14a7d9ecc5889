//! The suite leaves nothing in the temporary directory: the helpers that
//! make sure of it.
//!
//! Removing the directory of a store that is still open races with the
//! store's background flushes and compactions (after a reopen RocksDB
//! compacts the recovered files at once) and with its close: a file
//! RocksDB creates while the directory is being removed makes the final
//! `rmdir` fail, `TempDir` ignores the error, and the directory stays with
//! the new SST, MANIFEST and CURRENT. The conformance and model tests left
//! such a `.tmpXXXX/db1` behind for many RocksDB cases (`Side` dropped its
//! harness, which owns the directory, before its store).
//!
//! [`InTempDir`] drops the store (or kills and waits for the child) before
//! it removes the directory; it and [`RocksHarness`] fail a test in which a
//! store is still open when its directory goes, and `InTempDir` fails one
//! whose directory cannot be removed. The cases below that let a store
//! outlive its directory on purpose do it inside a [`test_dir`] that
//! outlives both, so nothing escapes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use graph_storage::{Properties, RocksDbBackend};
use tests::crash::ChildRun;
use tests::{Harness, InTempDir, Must, RocksHarness, files_open_under, test_dir};

const EXE: &str = env!("CARGO_BIN_EXE_crash_child");

fn panic_message(r: std::thread::Result<()>) -> String {
    match r {
        Ok(()) => panic!("expected a panic"),
        Err(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The guard closes its store before it removes the directory, so nothing
/// is recreated; while the store is open its files are seen as open.
#[test]
fn in_temp_dir_closes_its_store_first() {
    let store = InTempDir::new(|dir| graph_storage::open(dir.join("db")).must("open"));
    store
        .create_node(&["N"], Properties::new())
        .must("create node");
    let path = store.path().to_path_buf();
    let open = files_open_under(&path);
    assert!(
        open.iter().any(|f| f.ends_with("LOCK")),
        "an open store holds its LOCK open: {open:?}"
    );
    drop(store);
    assert!(!path.exists(), "{} is left behind", path.display());
}

/// A store kept alive elsewhere (a clone of its `Arc`) when its guard
/// goes fails the test rather than leak silently.
#[test]
fn in_temp_dir_fails_when_its_store_is_kept_elsewhere() {
    let outer = test_dir();
    let guard = InTempDir::new_in(outer.path(), |dir| {
        Arc::new(RocksDbBackend::open(dir).must("open"))
    });
    let kept = Arc::clone(&guard);
    let message = panic_message(catch_unwind(AssertUnwindSafe(move || drop(guard))));
    assert!(message.contains("still open under"), "{message}");
    drop(kept);
    // `outer` removes what the late close recreated.
}

/// `RocksHarness` fails a test whose store outlives it.
#[test]
fn rocks_harness_fails_when_a_store_outlives_it() {
    let outer = test_dir();
    let mut harness = RocksHarness::new_in(outer.path());
    let store = harness.store();
    store
        .create_node(&["N"], Properties::new())
        .must("create node");
    let message = panic_message(catch_unwind(AssertUnwindSafe(move || drop(harness))));
    assert!(message.contains("still open"), "{message}");
    drop(store);
    // `outer` removes what the late close recreated.
}

/// The harness passes when its stores are dropped first, and removes
/// every one of them.
#[test]
fn rocks_harness_removes_everything_when_stores_go_first() {
    let outer = test_dir();
    let mut harness = RocksHarness::new_in(outer.path());
    let path = harness.path().to_path_buf();
    let backend = harness.create();
    let backend = harness.reopen(backend);
    let store = harness.store();
    drop((backend, store));
    drop(harness);
    assert!(!path.exists());
    assert!(files_under(outer.path()).is_empty());
}

/// A child process working in the directory is killed and waited for
/// before the directory is removed; nothing reappears afterwards.
#[test]
fn in_temp_dir_kills_and_waits_for_its_child_first() {
    let child = InTempDir::new(|dir| {
        let db = dir.join("db");
        let mut child = ChildRun::spawn(EXE, &["hold", &db.to_string_lossy(), "3"]);
        assert!(
            child.wait_for(Duration::from_secs(60), |l| l == "holding"),
            "the holder exited: {:?}",
            child.seen()
        );
        child
    });
    let path = child.path().to_path_buf();
    drop(child);
    assert!(!path.exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(!path.exists(), "something recreated {}", path.display());
}
