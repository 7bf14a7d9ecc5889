//! # Internal: the test harness of graph-storage
//!
//! Everything here serves the integration tests in `tests/tests/`: a
//! [`Harness`] per backend (create, reopen), the conformance suites written
//! once and instantiated for every backend ([`raw_suite`], [`graph_suite`]),
//! and the plain models the property tests compare against ([`raw_model`],
//! [`graph_model`]).
//!
//! The reliability tests (RELIABILITY.md) add a seeded mutation stream and
//! byte-level dumps ([`workload`]), misbehaving backends ([`faults`]) and
//! the driver of the `crash_child` binary that crash tests kill
//! ([`crash`]).

pub mod crash;
pub mod faults;
pub mod graph_model;
pub mod graph_suite;
pub mod raw_model;
pub mod raw_suite;
pub mod workload;

use std::path::PathBuf;
use std::sync::Arc;

use graph_core::StorageBackend;
use graph_storage::{GraphStore, ManualClock, StoreOptions};
use storage_memory::MemoryBackend;
use storage_rocksdb::RocksDbBackend;

/// Creates empty backends of one kind and reopens them.
pub trait Harness {
    /// The backend.
    type B: StorageBackend;

    /// A new, empty backend.
    fn create(&mut self) -> Self::B;

    /// Closes `backend` and opens the same data again.
    fn reopen(&mut self, backend: Self::B) -> Self::B;

    /// A graph store on a new backend, with a deterministic clock.
    fn store(&mut self) -> GraphStore<Self::B> {
        open_store(self.create())
    }

    /// Closes a store and opens the same data again (same clock origin is
    /// not needed: time stamps are stored).
    fn reopen_store(&mut self, store: GraphStore<Self::B>) -> GraphStore<Self::B> {
        let backend = self.reopen(store.into_backend());
        open_store(backend)
    }
}

/// Opens a store with a manual clock, panicking on failure (test helper).
pub fn open_store<B: StorageBackend>(backend: B) -> GraphStore<B> {
    let options = StoreOptions::default()
        .clock(Arc::new(ManualClock::new(1_000, 1)))
        .durability(graph_core::Durability::Background);
    match GraphStore::open_with(backend, options) {
        Ok(s) => s,
        Err(e) => panic!("opening the store: {e}"),
    }
}

/// The memory backend; reopening hands the same maps back.
#[derive(Debug, Default)]
pub struct MemoryHarness;

impl Harness for MemoryHarness {
    type B = MemoryBackend;

    fn create(&mut self) -> MemoryBackend {
        MemoryBackend::new()
    }

    fn reopen(&mut self, backend: MemoryBackend) -> MemoryBackend {
        backend
    }
}

/// RocksDB in a temporary directory; each `create` uses a new subdirectory.
#[derive(Debug)]
pub struct RocksHarness {
    dir: tempfile::TempDir,
    next: u32,
}

impl Default for RocksHarness {
    fn default() -> Self {
        match tempfile::tempdir() {
            Ok(dir) => RocksHarness { dir, next: 0 },
            Err(e) => panic!("creating a temporary directory: {e}"),
        }
    }
}

impl RocksHarness {
    fn open(path: &PathBuf) -> RocksDbBackend {
        match RocksDbBackend::open(path) {
            Ok(b) => b,
            Err(e) => panic!("opening RocksDB at {}: {e}", path.display()),
        }
    }
}

impl Harness for RocksHarness {
    type B = RocksDbBackend;

    fn create(&mut self) -> RocksDbBackend {
        self.next += 1;
        let path = self.dir.path().join(format!("db{}", self.next));
        Self::open(&path)
    }

    fn reopen(&mut self, backend: RocksDbBackend) -> RocksDbBackend {
        let path = backend.path().to_path_buf();
        drop(backend);
        Self::open(&path)
    }
}

/// Unwraps a result in a test, with the error's message.
pub trait Must<T> {
    /// The value, or a panic naming `what`.
    fn must(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// The proptest configuration of the model tests: `default` cases, or
/// `PROPTEST_CASES / divisor` when that is larger, with failures persisted
/// next to the test source in a committed `.regressions` file.
pub fn model_test_config(default: u32, divisor: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(default, |n| (n / divisor).max(default));
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
