//! Bulk creation of a new store: SST files written directly, ingested into
//! a staging database beside the target, and published with one rename.
//!
//! # Layout of an unfinished load
//!
//! Everything of a load lives in one staging directory beside the target,
//! `<parent>/.<name>.bulk-staging` (same parent, so the final rename stays
//! on one file system):
//!
//! ```text
//! .<name>.bulk-staging/      the staging database (created, and kept open,
//!   CURRENT, MANIFEST-..      from `bulk_create` on: its LOCK marks a load
//!   LOCK, LOG, OPTIONS-..     in progress)
//!   ingest/                  the SST files being written, per family
//!     nodes-000001.sst ...    (moved into the database by the ingestion)
//!   BULK-COMPLETE            the completion marker, written last
//! .<name>.bulk-staging.lock  the load lock: an empty file, exclusively
//!                            locked (`flock`) by the loader from before
//!                            the staging directory exists until after the
//!                            store is published, or by a `recover`
//! ```
//!
//! # The load lock
//!
//! Every step that creates, finishes or removes a staging directory runs
//! under the load lock of its target, so an open of the target never
//! mistakes a load for an abandoned one: not in the moment between the
//! creation of the staging directory and its database taking RocksDB's
//! LOCK, and not between the staging database's close and the rename. The
//! lock is an advisory lock on a file beside the staging directory, taken
//! without waiting: a loader that cannot take it is refused
//! ([`Error::Locked`]); a [`recover`] that cannot take it leaves everything
//! alone (a load is running). The holder removes the file before it
//! releases the lock; a taker checks, once it holds the lock, that the
//! path still names the file it locked, and starts again otherwise. A
//! crashed holder's lock is released by the kernel; its file is removed by
//! the next `recover`. Opens of a store with nothing of a load beside it
//! touch no lock.
//!
//! # Protocol
//!
//! 1. `bulk_create` finishes or removes a stale staging directory of the
//!    same target (as [`recover`] does for every open), refuses a target
//!    that is neither missing nor an empty directory, creates the staging
//!    directory and opens the staging database in it (four families, the
//!    store's options).
//! 2. `put`s go, in chunks, to a writer thread that keeps one
//!    `SstFileWriter` per family open, built with that family's own options,
//!    and rolls to a new file past the file size: the files of a family are
//!    non-overlapping and ascending.
//! 3. `commit` finishes the writers, ingests each family's files with
//!    `move_files` (hard links; into an empty database they land in the
//!    bottom level), removes `ingest/`, fsyncs every file and the
//!    directory, writes and fsyncs the marker, closes the staging database,
//!    renames the staging directory onto the target (replacing an empty
//!    directory), fsyncs the parent, removes the marker from the store and
//!    opens it.
//!
//! A crash before the marker is durable leaves a staging directory without
//! it: [`recover`] deletes it (once it holds the load lock, and the staging
//! database is not locked either: a running load is left alone). A crash
//! after it leaves a complete database:
//! [`recover`] renames it onto the target if the target is still missing or
//! empty. A crash after the rename leaves the complete store, perhaps with
//! the marker, which [`recover`] removes (RocksDB would ignore it anyway).
//! So the target is always either as before (missing or empty) or complete.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use graph_core::{BulkSink, ColumnFamily, Error, Result};
use rocksdb::{Cache, DB, IngestExternalFileOptions, Options, SstFileWriter};

use crate::{RocksDbBackend, RocksDbConfig, map_error, options};

/// The size past which a bulk load starts a new SST file in a family:
/// 256 MiB.
pub const DEFAULT_BULK_FILE_BYTES: u64 = 256 << 20;

/// The name of the file whose presence in a staging directory says that
/// the staging database is complete and only needs to be renamed onto its
/// target.
pub const BULK_COMPLETE_MARKER: &str = "BULK-COMPLETE";

/// The subdirectory of the staging directory holding the SST files until
/// they are ingested.
const INGEST_DIR: &str = "ingest";

/// Bytes of keys and values buffered before they go to the writer thread.
const CHUNK_BYTES: usize = 4 << 20;

/// Chunks queued for the writer thread before `put` waits for it.
const QUEUED_CHUNKS: usize = 2;

const NOT_NEW: &str = "bulk loading needs a new store; use the batched import for an existing one";

/// A batch of entries for the writer thread: keys and values back to back
/// in `data`, described in order by `entries`.
#[derive(Default)]
struct Chunk {
    data: Vec<u8>,
    entries: Vec<(ColumnFamily, usize, usize)>,
}

enum Msg {
    Entries(Chunk),
    /// Finish every file and report them.
    Finish,
}

/// The finished SST files of each family (indexed by
/// [`ColumnFamily::index`]), in key order.
type Files = Vec<Vec<PathBuf>>;

/// The writer thread and its queue.
struct Writer {
    tx: SyncSender<Msg>,
    thread: JoinHandle<Result<Files>>,
}

/// A [`BulkSink`] that creates a new RocksDB store from SST files, all or
/// nothing.
///
/// Made by [`RocksDbBackend::bulk_create`] (or [`RocksDbBulkSink::create`]
/// with a chosen file size). Entries go to one `SstFileWriter` per column
/// family, on a writer thread (so compression and writing overlap with the
/// caller's encoding), built with that family's own options (compression,
/// block-based table with its bloom filter, the `indices` prefix
/// extractor), so the files are exactly what the family itself would
/// write; a family rolls to a new file when the current one passes the
/// file size. [`commit`](BulkSink::commit) ingests the files into a staging
/// database beside the target and renames it onto the target: nothing is
/// visible before, everything after, even if the process is killed at any
/// moment (the next [`RocksDbBackend::open_with`] of the target finishes or
/// removes an interrupted load). Dropping the sink without committing
/// removes everything it wrote.
///
/// # Resources
/// Open files during the load: the four SST files being written (one per
/// family) and the staging database's own (LOCK, LOG, WAL, MANIFEST).
/// Once open, the store keeps every SST file open (RocksDB's
/// `max_open_files` is unlimited by default): about one per
/// [`DEFAULT_BULK_FILE_BYTES`] of data. Disk: the SST files once (they are
/// hard-linked into the database, not copied). Memory: two queued chunks
/// of 4 MiB plus a block per writer.
///
/// Unix only: the publishing rename replaces an empty target directory.
pub struct RocksDbBulkSink {
    target: PathBuf,
    staging: PathBuf,
    config: RocksDbConfig,
    /// The staging database, open (and so locked) until `commit` closes it.
    db: Option<DB>,
    writer: Option<Writer>,
    chunk: Chunk,
    /// The last key put into each family.
    last: [Option<Vec<u8>>; 4],
    /// The error that stopped the writer; every later call returns it.
    failed: Option<Error>,
    /// The staging directory has become the target: nothing to remove.
    published: bool,
    /// The load lock, held until the sink is dropped (after the staging
    /// directory is published or removed).
    _lock: LoadLock,
}

impl std::fmt::Debug for RocksDbBulkSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbBulkSink")
            .field("target", &self.target)
            .field("staging", &self.staging)
            .finish()
    }
}

impl RocksDbBackend {
    /// Starts a bulk load of a new store at `path`, with SST files of
    /// [`DEFAULT_BULK_FILE_BYTES`]; see [`RocksDbBulkSink`].
    ///
    /// `path` must be missing or an empty directory. A stale staging
    /// directory of an interrupted load of the same target is finished (if
    /// complete: then `path` is no longer new and is refused) or removed
    /// first.
    ///
    /// # Errors
    /// As [`RocksDbBulkSink::create`].
    pub fn bulk_create(path: impl AsRef<Path>, config: &RocksDbConfig) -> Result<RocksDbBulkSink> {
        RocksDbBulkSink::create(path, config, DEFAULT_BULK_FILE_BYTES)
    }
}

impl RocksDbBulkSink {
    /// As [`RocksDbBackend::bulk_create`], rolling to a new SST file when
    /// the current one of a family passes `file_bytes` (small sizes are for
    /// tests).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `path` is neither missing nor an
    /// empty directory, has no final name component, or `file_bytes` is 0;
    /// [`Error::Locked`] if another load of the same target is running
    /// (after waiting up to a second for the load lock, which an open of
    /// the target holds for a moment when it finds a load's files);
    /// I/O and engine errors creating the staging directory and database.
    pub fn create(path: impl AsRef<Path>, config: &RocksDbConfig, file_bytes: u64) -> Result<Self> {
        let target = path.as_ref().to_path_buf();
        if file_bytes == 0 {
            return Err(Error::invalid("the bulk SST file size must be positive"));
        }
        if let Some(parent) = parent_of(&target) {
            fs::create_dir_all(&parent).map_err(|e| io_error("creating", &parent, &e))?;
        }
        let staging = Self::staging_dir(&target)?;
        let locked = || Error::Locked {
            message: format!(
                "a bulk load into {} is in progress (its staging directory {} is in use)",
                target.display(),
                staging.display()
            ),
        };
        let lock = LoadLock::take_soon(&staging)?.ok_or_else(locked)?;
        recover_locked(&target, &staging)?;
        if !missing_or_empty(&target)? {
            return Err(Error::invalid(format!(
                "{} is not empty: {NOT_NEW}",
                target.display()
            )));
        }
        match fs::create_dir(&staging) {
            Ok(()) => {}
            // A load that holds its staging database but not the load lock
            // (a binary from before the lock): still running.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(locked()),
            Err(e) => return Err(io_error("creating", &staging, &e)),
        }
        // From here on, dropping `sink` removes the staging directory.
        let mut sink = RocksDbBulkSink {
            target,
            staging,
            config: config.clone(),
            db: None,
            writer: None,
            chunk: Chunk::default(),
            last: Default::default(),
            failed: None,
            published: false,
            _lock: lock,
        };
        let ingest = sink.staging.join(INGEST_DIR);
        fs::create_dir(&ingest).map_err(|e| io_error("creating", &ingest, &e))?;
        let (db_opts, cfs) = options::build(config, true, None);
        sink.db = Some(DB::open_cf_descriptors(&db_opts, &sink.staging, cfs).map_err(map_error)?);
        let (tx, rx) = sync_channel(QUEUED_CHUNKS);
        let thread_config = config.clone();
        let thread = std::thread::Builder::new()
            .name("graph-storage-bulk-sst".into())
            .spawn(move || write_files(&ingest, &thread_config, file_bytes, &rx))
            .map_err(|e| Error::Io {
                message: format!("starting the bulk SST writer thread: {e}"),
            })?;
        sink.writer = Some(Writer { tx, thread });
        Ok(sink)
    }

    /// The staging directory a bulk load of `path` uses:
    /// `.<name>.bulk-staging` in `path`'s parent (with the parent's
    /// canonical path).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `path` has no final name component;
    /// I/O errors resolving the parent (it must exist).
    pub fn staging_dir(path: impl AsRef<Path>) -> Result<PathBuf> {
        let path = path.as_ref();
        let name = path.file_name().ok_or_else(|| {
            Error::invalid(format!(
                "{} names no directory to bulk-load into",
                path.display()
            ))
        })?;
        let parent = parent_of(path).unwrap_or_else(|| PathBuf::from("."));
        let parent = parent
            .canonicalize()
            .map_err(|e| io_error("resolving", &parent, &e))?;
        let mut staging = std::ffi::OsString::from(".");
        staging.push(name);
        staging.push(".bulk-staging");
        Ok(parent.join(staging))
    }

    /// The directory the store will be in.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Hands the buffered entries to the writer thread.
    fn send_chunk(&mut self) -> Result<()> {
        if self.chunk.entries.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.chunk);
        self.send(Msg::Entries(chunk))
    }

    fn send(&mut self, msg: Msg) -> Result<()> {
        let sent = match &self.writer {
            Some(w) => w.tx.send(msg).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread stopped: it failed, and says why when joined.
        let e = match self.stop_writer() {
            Err(e) => e,
            Ok(_) => Error::Backend("the bulk SST writer stopped early".into()),
        };
        Err(self.fail(e))
    }

    /// Waits for the writer thread to end and returns what it wrote.
    fn stop_writer(&mut self) -> Result<Files> {
        let Some(Writer { tx, thread }) = self.writer.take() else {
            return Err(Error::Backend("the bulk SST writer is gone".into()));
        };
        drop(tx);
        thread
            .join()
            .map_err(|_| Error::Backend("the bulk SST writer thread panicked".into()))?
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e.clone());
        e
    }

    /// Everything `commit` does; on an error, `Drop` removes what is left
    /// unless the store was already published.
    fn finish(&mut self) -> Result<RocksDbBackend> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.send_chunk()?;
        self.send(Msg::Finish)?;
        let files = match self.stop_writer() {
            Ok(f) => f,
            Err(e) => return Err(self.fail(e)),
        };
        let db = self
            .db
            .take()
            .ok_or_else(|| Error::Backend("the staging database is gone".into()))?;
        let mut ingest = IngestExternalFileOptions::default();
        // Hard links, not copies; the originals are unlinked on success.
        ingest.set_move_files(true);
        for cf in ColumnFamily::ALL {
            let family_files = files.get(cf.index()).map_or(&[][..], Vec::as_slice);
            if family_files.is_empty() {
                continue;
            }
            let handle = db
                .cf_handle(cf.name())
                .ok_or_else(|| Error::Backend(format!("column family {cf} is not open")))?;
            db.ingest_external_file_cf_opts(&handle, &ingest, family_files.to_vec())
                .map_err(map_error)?;
        }
        let ingest_dir = self.staging.join(INGEST_DIR);
        fs::remove_dir(&ingest_dir).map_err(|e| io_error("removing", &ingest_dir, &e))?;
        // Ingestion bypasses the memtables and the WAL (RocksDB syncs the
        // ingested files, its directory and the MANIFEST): nothing to
        // flush. Sync everything once more, then mark the database
        // complete while it is still open and locked, so no concurrent
        // `recover` can take it for an abandoned load.
        db.flush_wal(true).map_err(map_error)?;
        sync_files_in(&self.staging)?;
        write_marker(&self.staging)?;
        drop(db);
        sync_dir(&self.staging)?;
        publish(&self.staging, &self.target)?;
        self.published = true;
        open_published(&self.target, &self.config)
    }
}

impl BulkSink for RocksDbBulkSink {
    type Backend = RocksDbBackend;

    /// Adds one entry; see [`BulkSink::put`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `key` is not above the previous key of
    /// `cf` (the entry is refused, the sink is unchanged); I/O and engine
    /// errors from writing the SST files (then every later call fails
    /// too).
    fn put(&mut self, cf: ColumnFamily, key: &[u8], value: &[u8]) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let last = self
            .last
            .get_mut(cf.index())
            .ok_or_else(|| Error::Backend(format!("no column family {cf}")))?;
        match last {
            Some(prev) if key <= prev.as_slice() => {
                return Err(Error::invalid(format!(
                    "bulk load: key {key:02x?} of column family {cf} is not above the previous \
                     key {prev:02x?}; keys of each family must strictly ascend"
                )));
            }
            Some(prev) => {
                prev.clear();
                prev.extend_from_slice(key);
            }
            None => *last = Some(key.to_vec()),
        }
        self.chunk.data.extend_from_slice(key);
        self.chunk.data.extend_from_slice(value);
        self.chunk.entries.push((cf, key.len(), value.len()));
        if self.chunk.data.len() >= CHUNK_BYTES || self.chunk.entries.len() >= CHUNK_BYTES / 64 {
            self.send_chunk()?;
        }
        Ok(())
    }

    /// Ingests everything and publishes the store; see [`BulkSink::commit`]
    /// and the protocol in [`RocksDbBulkSink`].
    ///
    /// # Errors
    /// The error that stopped an earlier `put`; I/O and engine errors from
    /// finishing the files, ingesting them, syncing, renaming (also
    /// [`Error::InvalidArgument`] if the target stopped being empty
    /// meanwhile) and opening the store. Up to the rename nothing is
    /// visible and everything written is removed; an error opening the
    /// published store leaves the complete store in place.
    fn commit(mut self) -> Result<RocksDbBackend> {
        self.finish()
    }
}

impl Drop for RocksDbBulkSink {
    /// Removes an unpublished load: stops the writer (so nothing writes
    /// into the staging directory any more), closes the staging database
    /// and deletes the staging directory. Best effort: a failure leaves a
    /// staging directory without the marker, which the next open removes.
    fn drop(&mut self) {
        if let Some(Writer { tx, thread }) = self.writer.take() {
            drop(tx);
            let _ = thread.join();
        }
        drop(self.db.take());
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
            if let Some(parent) = self.staging.parent() {
                let _ = sync_dir(parent);
            }
        }
    }
}

/// The writer thread: one `SstFileWriter` per family, rolling files past
/// `file_bytes`. Ends with the finished files on [`Msg::Finish`], with an
/// error when the sink goes away first (its files are then abandoned) or a
/// write fails.
fn write_files(
    dir: &Path,
    config: &RocksDbConfig,
    file_bytes: u64,
    rx: &Receiver<Msg>,
) -> Result<Files> {
    // The writers borrow their options (`SstFileWriter<'a>`), so both live
    // here. The cache only completes the families' table options: writing
    // never fills it.
    let cache = Cache::new_lru_cache(config.block_cache_bytes);
    let opts: Vec<Options> = ColumnFamily::ALL
        .iter()
        .map(|cf| options::cf_options(config, &cache, *cf))
        .collect();
    let mut families: Vec<FamilyFiles<'_>> = ColumnFamily::ALL
        .iter()
        .zip(&opts)
        .map(|(cf, o)| FamilyFiles {
            cf: *cf,
            options: o,
            dir,
            file_bytes,
            writer: None,
            files: Vec::new(),
        })
        .collect();
    loop {
        match rx.recv() {
            Ok(Msg::Entries(chunk)) => {
                let mut at = 0;
                for (cf, key_len, value_len) in chunk.entries {
                    let key_end = at + key_len;
                    let end = key_end + value_len;
                    let (Some(key), Some(value)) =
                        (chunk.data.get(at..key_end), chunk.data.get(key_end..end))
                    else {
                        return Err(Error::Backend("a bulk chunk is inconsistent".into()));
                    };
                    families
                        .get_mut(cf.index())
                        .ok_or_else(|| Error::Backend(format!("no column family {cf}")))?
                        .put(key, value)?;
                    at = end;
                }
            }
            Ok(Msg::Finish) => {
                for f in &mut families {
                    f.finish()?;
                }
                return Ok(families.into_iter().map(|f| f.files).collect());
            }
            Err(_) => return Err(Error::Backend("the bulk load was abandoned".into())),
        }
    }
}

/// The SST files of one family.
struct FamilyFiles<'a> {
    cf: ColumnFamily,
    options: &'a Options,
    dir: &'a Path,
    file_bytes: u64,
    /// The file being written, if any.
    writer: Option<SstFileWriter<'a>>,
    /// Every file opened, in key order (the last one perhaps still open).
    files: Vec<PathBuf>,
}

impl FamilyFiles<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let writer = match &mut self.writer {
            Some(w) => w,
            None => {
                let path = self.dir.join(format!(
                    "{}-{:06}.sst",
                    self.cf.name(),
                    self.files.len() + 1
                ));
                let w = SstFileWriter::create(self.options);
                w.open(&path).map_err(map_error)?;
                self.files.push(path);
                self.writer.insert(w)
            }
        };
        writer.put(key, value).map_err(map_error)?;
        if writer.file_size() >= self.file_bytes {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        match self.writer.take() {
            Some(mut w) => w.finish().map_err(map_error),
            None => Ok(()),
        }
    }
}

/// Finishes or removes what an interrupted bulk load of `target` left:
/// called by [`RocksDbBackend::open_with`] before anything else, and by
/// [`RocksDbBulkSink::create`] (which holds the load lock already).
///
/// Does nothing when nothing of a load is beside `target`. While another
/// holds the load lock (a load is running), fails with [`Error::Locked`]
/// if `target` is missing or an empty directory (the load will create it)
/// and does nothing otherwise. Otherwise, under the lock:
///
/// * A staging directory with the marker: renamed onto `target` when
///   `target` is missing or an empty directory (otherwise left alone: the
///   target is something else now).
/// * One without the marker: deleted, unless its database is locked (a
///   load still running without the load lock).
/// * A marker inside `target` (a crash right after the rename): removed.
///
/// Returns whether a complete load was moved onto `target`.
pub(crate) fn recover(target: &Path) -> Result<bool> {
    if target.file_name().is_none() {
        return Ok(false);
    }
    let staging = match RocksDbBulkSink::staging_dir(target) {
        Ok(s) => s,
        // No parent directory: nothing can be staged there.
        Err(_) => return Ok(false),
    };
    let left = [
        staging.clone(),
        LoadLock::path(&staging),
        target.join(BULK_COMPLETE_MARKER),
    ];
    if !left.iter().any(|p| fs::symlink_metadata(p).is_ok()) {
        return Ok(false);
    }
    match LoadLock::try_take(&staging)? {
        Some(_lock) => recover_locked(target, &staging),
        // A load is running. Until it publishes, the target is its to
        // create: neither a new store there nor "no store" is the truth.
        None if missing_or_empty(target)? => Err(Error::Locked {
            message: format!(
                "a bulk load into {} is in progress; open the store once it ends",
                target.display()
            ),
        }),
        None => Ok(false),
    }
}

/// [`recover`], for a caller holding the load lock of `target`, whose
/// staging directory is `staging`.
fn recover_locked(target: &Path, staging: &Path) -> Result<bool> {
    let stray = target.join(BULK_COMPLETE_MARKER);
    if stray.is_file() && target.join("CURRENT").is_file() {
        fs::remove_file(&stray).map_err(|e| io_error("removing", &stray, &e))?;
        sync_dir(target)?;
    }
    match fs::symlink_metadata(staging) {
        Ok(m) if m.is_dir() => {}
        // Not ours (a file or link of that name): left alone.
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error("reading", staging, &e)),
    }
    if staging.join(BULK_COMPLETE_MARKER).is_file() {
        if missing_or_empty(target)? {
            publish(staging, target)?;
            return Ok(true);
        }
        return Ok(false);
    }
    // DestroyDB takes the database's LOCK first: it fails with a lock error
    // while a loader holds the staging database open, and deletes
    // RocksDB's files otherwise.
    if let Err(e) = DB::destroy(&Options::default(), staging) {
        let e = map_error(e);
        if e.kind() == graph_core::ErrorKind::Locked {
            return Ok(false);
        }
    }
    match fs::remove_dir_all(staging) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("removing", staging, &e)),
    }
    if let Some(parent) = staging.parent() {
        sync_dir(parent)?;
    }
    Ok(false)
}

/// The load lock of a target (see the module documentation): an
/// exclusive advisory lock on `<staging>.lock`, released and its file
/// removed when dropped.
struct LoadLock {
    path: PathBuf,
    /// Holds the lock while open.
    _file: File,
}

impl LoadLock {
    /// Attempts before a taker that keeps finding its file replaced gives
    /// up as if the lock were held.
    const ATTEMPTS: usize = 64;

    /// The lock file of the load whose staging directory is `staging`.
    fn path(staging: &Path) -> PathBuf {
        let mut name = staging.as_os_str().to_os_string();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// How long a new load waits for the lock: an open of the target that
    /// found the lock file may hold it for the moment it takes to look
    /// (it lets go within milliseconds); a load holds it throughout.
    const LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

    /// Takes the lock, waiting up to [`LOAD_WAIT`](Self::LOAD_WAIT) for a
    /// holder to let go: `None` if it is still held then.
    ///
    /// # Errors
    /// As [`try_take`](Self::try_take).
    fn take_soon(staging: &Path) -> Result<Option<LoadLock>> {
        let deadline = std::time::Instant::now() + Self::LOAD_WAIT;
        loop {
            if let Some(lock) = Self::try_take(staging)? {
                return Ok(Some(lock));
            }
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Takes the lock without waiting: `None` if another holds it.
    ///
    /// # Errors
    /// I/O errors creating, locking or reading the lock file.
    fn try_take(staging: &Path) -> Result<Option<LoadLock>> {
        let path = Self::path(staging);
        for _ in 0..Self::ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| io_error("creating", &path, &e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io_error("locking", &path, &e));
                }
            }
            // The previous holder may have removed the file between our
            // open and our lock: a lock on a removed file locks nothing.
            let held = file
                .metadata()
                .map_err(|e| io_error("reading", &path, &e))?;
            match fs::symlink_metadata(&path) {
                Ok(now) if same_file(&held, &now) => {
                    return Ok(Some(LoadLock { path, _file: file }));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("reading", &path, &e)),
            }
        }
        Ok(None)
    }
}

impl Drop for LoadLock {
    /// Removes the file while still holding the lock, then releases it
    /// (closing the file). Best effort: a file left behind is removed by
    /// the next [`recover`].
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether two metadata describe the same file.
#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Whether two metadata describe the same file (without inode numbers:
/// the same size and modification time).
#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

/// How long `commit` waits for another opener (a reader that opened the
/// published store first) to release it.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the store a load has just published, waiting up to
/// [`OPEN_PATIENCE`] while another opener holds it.
fn open_published(target: &Path, config: &RocksDbConfig) -> Result<RocksDbBackend> {
    let start = std::time::Instant::now();
    loop {
        match RocksDbBackend::open_with(target, config) {
            Err(e) if e.kind() == graph_core::ErrorKind::Locked => {
                if start.elapsed() < OPEN_PATIENCE {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                return Err(Error::Locked {
                    message: format!(
                        "the bulk load into {} is complete, but another opener has held the \
                         store for {}s; open it once that one closes it ({e})",
                        target.display(),
                        OPEN_PATIENCE.as_secs()
                    ),
                });
            }
            r => return r,
        }
    }
}

/// Renames the complete staging database onto `target`, makes the rename
/// durable and removes the marker from the store.
fn publish(staging: &Path, target: &Path) -> Result<()> {
    if let Err(e) = fs::rename(staging, target) {
        // A concurrent `recover` (another opener) may have renamed it
        // first: the store is complete all the same.
        let done_by_another = e.kind() == std::io::ErrorKind::NotFound
            && !staging.exists()
            && target.join("CURRENT").is_file();
        if !done_by_another {
            if e.kind() == std::io::ErrorKind::DirectoryNotEmpty {
                return Err(Error::invalid(format!(
                    "{} is not empty any more: {NOT_NEW}",
                    target.display()
                )));
            }
            return Err(Error::Io {
                message: format!(
                    "renaming {} onto {}: {e}",
                    staging.display(),
                    target.display()
                ),
            });
        }
    }
    if let Some(parent) = staging.parent() {
        sync_dir(parent)?;
    }
    let marker = target.join(BULK_COMPLETE_MARKER);
    match fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("removing", &marker, &e)),
    }
    sync_dir(target)
}

fn write_marker(staging: &Path) -> Result<()> {
    let path = staging.join(BULK_COMPLETE_MARKER);
    let mut f = File::create(&path).map_err(|e| io_error("creating", &path, &e))?;
    f.write_all(b"graph-storage bulk load complete; rename this directory onto its target\n")
        .and_then(|()| f.sync_all())
        .map_err(|e| io_error("writing", &path, &e))?;
    sync_dir(staging)
}

/// Fsyncs every regular file directly in `dir`, then `dir`.
fn sync_files_in(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("reading", dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("reading", dir, &e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| io_error("reading", &path, &e))?;
        if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_error("syncing", &path, &e))?;
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("syncing", dir, &e))
}

/// Whether `path` is missing or an empty directory.
fn missing_or_empty(path: &Path) -> Result<bool> {
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            let mut entries = fs::read_dir(path).map_err(|e| io_error("reading", path, &e))?;
            Ok(entries.next().is_none())
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_error("reading", path, &e)),
    }
}

/// The parent of `path`, `None` for a bare name (the current directory).
fn parent_of(path: &Path) -> Option<PathBuf> {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        message: format!("{what} {}: {e}", path.display()),
    }
}
