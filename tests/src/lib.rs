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
//!
//! Tests leave nothing behind: a store must be closed (dropped), and a
//! child process killed and waited for, before the temporary directory it
//! works in is removed. Removing the directory of an open RocksDB store
//! races with its background flushes and compactions and its close: files
//! created meanwhile make the removal fail (which `TempDir` ignores), and
//! the directory stays in the system's temporary directory holding an
//! SST, a MANIFEST and a CURRENT. Locals drop in reverse order of
//! declaration but struct fields in order of declaration, so the order is
//! easy to get wrong: [`InTempDir`] owns a directory and what works in it
//! and drops them in the right order, it and [`RocksHarness`] fail a test
//! whose store outlives its directory, and `scripts/test` runs the suite in
//! an empty `TMPDIR` and fails if anything is left in it.

pub mod crash;
pub mod faults;
pub mod graph_model;
pub mod graph_suite;
pub mod raw_model;
pub mod raw_suite;
pub mod workload;

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crash::OrFail;
use graph_core::StorageBackend;
use graph_storage::{GraphStore, ManualClock, StoreOptions};
use storage_fjall::FjallBackend;
use storage_memory::MemoryBackend;
use storage_rocksdb::RocksDbBackend;

/// Creates empty backends of one kind and reopens them.
pub trait Harness {
    /// The backend.
    type B: StorageBackend + 'static;

    /// A new, empty backend.
    fn create(&mut self) -> Self::B;

    /// Closes `backend` and opens the same data again.
    fn reopen(&mut self, backend: Self::B) -> Self::B;

    /// Whether stores of this harness hold their adjacency in RAM (the
    /// default; see [`EngineReads`]).
    fn adjacency(&self) -> bool {
        true
    }

    /// A graph store on a new backend, with a deterministic clock.
    fn store(&mut self) -> GraphStore<Self::B> {
        let backend = self.create();
        open_store_with(backend, self.adjacency())
    }

    /// Closes a store and opens the same data again (same clock origin is
    /// not needed: time stamps are stored).
    fn reopen_store(&mut self, store: GraphStore<Self::B>) -> GraphStore<Self::B> {
        let backend = self.reopen(store.into_backend());
        open_store_with(backend, self.adjacency())
    }
}

/// Opens a store with a manual clock and its adjacency in RAM (built
/// before this returns), panicking on failure (test helper).
pub fn open_store<B: StorageBackend + 'static>(backend: B) -> GraphStore<B> {
    open_store_with(backend, true)
}

/// [`open_store`], with the adjacency in RAM on or off. On, the build is
/// waited for, so adjacency reads are served from RAM from the first one.
pub fn open_store_with<B: StorageBackend + 'static>(backend: B, adjacency: bool) -> GraphStore<B> {
    let options = StoreOptions::default()
        .clock(Arc::new(ManualClock::new(1_000, 1)))
        .durability(graph_core::Durability::Background)
        .adjacency(adjacency);
    match GraphStore::open_with(backend, options) {
        Ok(s) => {
            s.wait_for_adjacency();
            s
        }
        Err(e) => panic!("opening the store: {e}"),
    }
}

/// A harness whose stores keep no adjacency in RAM: every adjacency read
/// goes to the engine, as on a store too large for its budget. Paired with
/// the same harness with the adjacency on, the model tests prove both
/// paths answer alike.
#[derive(Debug, Default)]
pub struct EngineReads<H>(pub H);

impl<H: Harness> Harness for EngineReads<H> {
    type B = H::B;

    fn adjacency(&self) -> bool {
        false
    }

    fn create(&mut self) -> Self::B {
        self.0.create()
    }

    fn reopen(&mut self, backend: Self::B) -> Self::B {
        self.0.reopen(backend)
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

/// A backend that lives in a directory: what the crash tests and the
/// on-disk harnesses need to open one by path.
pub trait DiskBackend: StorageBackend + Sized + 'static {
    /// The backend's name on a `crash_child` command line (`--backend=`).
    const NAME: &'static str;

    /// Opens (or creates) the store at `path` with default options.
    ///
    /// # Errors
    /// The backend's open errors.
    fn open_dir(path: &Path) -> graph_core::Result<Self>;

    /// The store's directory.
    fn dir(&self) -> &Path;
}

impl DiskBackend for RocksDbBackend {
    const NAME: &'static str = "rocksdb";

    fn open_dir(path: &Path) -> graph_core::Result<Self> {
        RocksDbBackend::open(path)
    }

    fn dir(&self) -> &Path {
        self.path()
    }
}

impl DiskBackend for FjallBackend {
    const NAME: &'static str = "fjall";

    fn open_dir(path: &Path) -> graph_core::Result<Self> {
        FjallBackend::open(path)
    }

    fn dir(&self) -> &Path {
        self.path()
    }
}

/// An on-disk backend in a temporary directory; each `create` uses a new
/// subdirectory.
///
/// Every backend (and store) it created must be dropped before it is: its
/// drop removes the directory, and fails the test if this process still
/// has a file open under it (see [`files_open_under`]).
#[derive(Debug)]
pub struct DiskHarness<B> {
    dir: TestDir,
    next: u32,
    backend: PhantomData<fn() -> B>,
}

/// RocksDB in a temporary directory.
pub type RocksHarness = DiskHarness<RocksDbBackend>;

/// fjall in a temporary directory.
pub type FjallHarness = DiskHarness<FjallBackend>;

impl<B> Default for DiskHarness<B> {
    fn default() -> Self {
        DiskHarness {
            dir: test_dir(),
            next: 0,
            backend: PhantomData,
        }
    }
}

impl<B: DiskBackend> DiskHarness<B> {
    /// A harness whose directory is a new one inside `parent` (rather
    /// than the system's temporary directory).
    pub fn new_in(parent: impl AsRef<Path>) -> Self {
        DiskHarness {
            dir: InTempDir::new_in(parent, |_| ()),
            next: 0,
            backend: PhantomData,
        }
    }

    /// The directory holding the stores.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn open(path: &Path) -> B {
        match B::open_dir(path) {
            Ok(b) => b,
            Err(e) => panic!("opening {} at {}: {e}", B::NAME, path.display()),
        }
    }
}

impl<B> Drop for DiskHarness<B> {
    /// Fails the test if a store it created is still open: that store
    /// would write into the directory while and after it is removed (its
    /// background work, its close), leaving files behind.
    ///
    /// A dropped fjall store's last handle may be released by one of its
    /// background threads a moment later: files still open are given up
    /// to two seconds to close before the test fails.
    fn drop(&mut self) {
        let mut open = files_open_under(self.dir.path());
        for _ in 0..200 {
            if open.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            open = files_open_under(self.dir.path());
        }
        if !open.is_empty() {
            still_open(
                "a harness dropped while a store it created is still open \
                 (drop stores and backends before their harness)",
                self.dir.path(),
                &open,
            );
        }
    }
}

impl<B: DiskBackend> Harness for DiskHarness<B> {
    type B = B;

    fn create(&mut self) -> B {
        self.next += 1;
        let path = self.dir.path().join(format!("db{}", self.next));
        Self::open(&path)
    }

    fn reopen(&mut self, backend: B) -> B {
        let path = backend.dir().to_path_buf();
        drop(backend);
        Self::open(&path)
    }
}

/// The files this process has open under `dir` (from `/proc/self/fd`: a
/// RocksDB store holds its LOCK, WAL and MANIFEST open until it is closed).
/// Always empty where `/proc` is unavailable.
pub fn files_open_under(dir: &Path) -> Vec<PathBuf> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut open: Vec<PathBuf> = fds
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.starts_with(&dir))
        .collect();
    open.sort();
    open.dedup();
    open
}

/// Reports files still open under a directory about to be removed.
fn still_open(what: &str, dir: &Path, open: &[PathBuf]) {
    leaves_something(format!(
        "{what}: {} file(s) still open under {}, whose store would write into it while and \
         after it is removed: {open:?}",
        open.len(),
        dir.display()
    ));
}

/// Fails the test with `message`, or only warns on stderr if the thread is
/// already panicking (a panic while unwinding would abort the whole test
/// binary).
fn leaves_something(message: String) {
    if std::thread::panicking() {
        eprintln!("warning: {message}");
    } else {
        panic!("{message}");
    }
}

/// A temporary directory and the value working in it (a store, a backend,
/// a child process), dropped in the right order: the value first (the
/// store closes, the child is killed and waited for), then the directory
/// is removed. Fails the test if this process still has a file open under
/// the directory at that point (a clone of the store kept elsewhere, say)
/// or if the directory cannot be removed (something wrote into it
/// meanwhile).
///
/// Derefs to the value.
#[derive(Debug)]
pub struct InTempDir<T> {
    // Both are `Some` until dropped; `Option` lets `drop` choose the order.
    value: Option<T>,
    dir: Option<tempfile::TempDir>,
}

impl<T> InTempDir<T> {
    /// Creates a temporary directory (in the system's temporary
    /// directory) and the value working in it.
    pub fn new(make: impl FnOnce(&Path) -> T) -> Self {
        Self::with_dir(tempfile::tempdir(), make)
    }

    /// As [`new`](Self::new), with the directory inside `parent`.
    pub fn new_in(parent: impl AsRef<Path>, make: impl FnOnce(&Path) -> T) -> Self {
        Self::with_dir(tempfile::tempdir_in(parent), make)
    }

    fn with_dir(dir: std::io::Result<tempfile::TempDir>, make: impl FnOnce(&Path) -> T) -> Self {
        let dir = dir.must("creating a temporary directory");
        let value = make(dir.path());
        InTempDir {
            value: Some(value),
            dir: Some(dir),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().or_fail("InTempDir after close").path()
    }
}

impl<T> Deref for InTempDir<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().or_fail("InTempDir after close")
    }
}

impl<T> DerefMut for InTempDir<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().or_fail("InTempDir after close")
    }
}

impl<T> Drop for InTempDir<T> {
    fn drop(&mut self) {
        drop(self.value.take());
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            let open = files_open_under(&path);
            if !open.is_empty() {
                still_open("InTempDir dropped", &path, &open);
            }
            if let Err(e) = dir.close() {
                let left: Vec<_> = std::fs::read_dir(&path)
                    .map(|d| d.filter_map(|e| Some(e.ok()?.file_name())).collect())
                    .unwrap_or_default();
                leaves_something(format!(
                    "removing the temporary directory {}: {e}; left behind: {left:?}",
                    path.display()
                ));
            }
        }
    }
}

/// A bare temporary directory for a test (an [`InTempDir`] holding
/// nothing): declare it before the stores and children working in it, so
/// they drop first; its drop fails the test if a store is still open in
/// it.
pub type TestDir = InTempDir<()>;

/// A new [`TestDir`].
pub fn test_dir() -> TestDir {
    InTempDir::new(|_| ())
}

/// The value of a joined thread, or its panic resumed in the caller.
pub trait MustJoin<T> {
    /// The thread's value; re-raises its panic.
    fn must_join(self) -> T;
}

impl<T> MustJoin<T> for std::thread::Result<T> {
    fn must_join(self) -> T {
        match self {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
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
