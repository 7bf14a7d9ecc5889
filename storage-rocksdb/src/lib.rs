//! # storage-rocksdb: the durable backend
//!
//! [`RocksDbBackend`] implements [`StorageBackend`] on RocksDB, an embedded
//! LSM tree (write-ahead log, memtables, SST files, compaction), with the
//! four column families `default`, `nodes`, `edges` and `indices`.
//!
//! * [`Durability::Strict`] writes are synced (the WAL is fsynced before the
//!   write returns); [`Durability::Background`] writes go to the WAL in OS
//!   buffers. The WAL is never disabled, so a process crash loses nothing
//!   acknowledged in either mode.
//! * Scans set iterator bounds, so they never run past their range, and use
//!   prefix bloom filters only when the range lies inside one extractor
//!   prefix; otherwise they seek in total order.
//! * Snapshots are RocksDB snapshots.
//! * Engine errors are mapped in one place ([`map_error`]): corruption,
//!   I/O, a held lock and invalid arguments stay distinct.
//! * Maintenance of a live store: [`checkpoint`](RocksDbBackend::checkpoint),
//!   [`backup`](RocksDbBackend::backup) and
//!   [`restore`](RocksDbBackend::restore) with RocksDB's backup engine,
//!   full [`compact`](RocksDbBackend::compact)ion and size
//!   [`stats`](RocksDbBackend::stats).
//! * Bulk creation of a new store from sorted entries:
//!   [`bulk_create`](RocksDbBackend::bulk_create) returns a
//!   [`RocksDbBulkSink`] that writes SST files and ingests them, all or
//!   nothing even when the process is killed.
//!
//! Tuning lives in [`RocksDbConfig`]; see docs/FORMAT.md for the options of
//! each column family.
//!
//! ```
//! use graph_core::{ColumnFamily, Durability, ReadView, StorageBackend};
//! use storage_rocksdb::RocksDbBackend;
//!
//! let dir = tempfile::tempdir()?;
//! let backend = RocksDbBackend::open(dir.path())?;
//! backend.put(ColumnFamily::Nodes, b"k", b"v", Durability::Strict)?;
//! assert_eq!(backend.get(ColumnFamily::Nodes, b"k")?, Some(b"v".to_vec()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(
    clippy::big_endian_bytes,
    clippy::little_endian_bytes,
    clippy::host_endian_bytes
)]

mod bulk;
mod config;
mod error;
mod maintenance;
mod options;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use graph_core::{
    BatchOp, ColumnFamily, Durability, Error, KeyRange, MultiValueVisitor, ReadView, Result,
    ScanDirection, StorageBackend, ValueVisitor, Visitor, WriteBatch,
};
use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions, SnapshotWithThreadMode, WriteOptions};

pub use bulk::{BULK_COMPLETE_MARKER, DEFAULT_BULK_FILE_BYTES, RocksDbBulkSink};
pub use config::{Compression, RocksDbConfig};
pub use error::map_error;
pub use maintenance::{BackupInfo, CfStats, StoreStats};
pub use options::Ablation;

/// The database options and the four column-family descriptors (with their
/// per-family options) that [`RocksDbBackend::open_with`] uses for `config`,
/// for tools that open a database with the `rocksdb` crate directly and must
/// match the backend exactly, such as the raw baseline of the benchmarks.
///
/// `create` sets `create_if_missing` and `create_missing_column_families`.
/// The directory checks of `open_with` are not applied.
pub fn rocksdb_options(
    config: &RocksDbConfig,
    create: bool,
) -> (rocksdb::Options, Vec<rocksdb::ColumnFamilyDescriptor>) {
    options::build(config, create, None)
}

/// Like [`rocksdb_options`], with one option (or all of them) put back to
/// RocksDB's default: for measuring what each option earns, never for
/// opening a store (see [`Ablation`]).
pub fn rocksdb_options_without(
    config: &RocksDbConfig,
    create: bool,
    without: Ablation,
) -> (rocksdb::Options, Vec<rocksdb::ColumnFamilyDescriptor>) {
    options::build(config, create, Some(without))
}

/// A graph-store backend on a RocksDB directory. `Send + Sync`.
///
/// Holds the directory's lock until dropped; a second opener, in this
/// process or another, gets [`Error::Locked`]. Dropping it syncs the WAL
/// and closes the database cleanly.
pub struct RocksDbBackend {
    db: DB,
    path: PathBuf,
    /// Serializes [`backup`](Self::backup)s: one backup engine per
    /// directory at a time.
    backups: Mutex<()>,
}

impl std::fmt::Debug for RocksDbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbBackend")
            .field("path", &self.path)
            .finish()
    }
}

impl RocksDbBackend {
    /// Opens or creates the store at `path` with the default configuration.
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &RocksDbConfig::default())
    }

    /// Opens the store at `path`, creating it if the directory is missing
    /// or empty and `config.create_if_missing` is set.
    ///
    /// First finishes or removes what an interrupted bulk load
    /// ([`bulk_create`](Self::bulk_create)) left beside `path`: a complete
    /// load (its staging directory holds the completion marker) is moved
    /// onto `path` if `path` is missing or empty; an unfinished one is
    /// deleted, unless its loader is still running (it holds the load
    /// lock). While a load of a missing or empty `path` runs, `path` is
    /// the load's to create: the open fails with [`Error::Locked`].
    ///
    /// Refuses, changing nothing on disk: a path that is not a directory
    /// ([`Error::InvalidArgument`]), a non-empty directory that is not a
    /// RocksDB database ([`Error::InvalidArgument`]), and a RocksDB database
    /// whose column families are not exactly the graph store's
    /// ([`Error::IncompatibleFormat`]).
    ///
    /// # Errors
    /// The above; [`Error::Locked`] if another opener holds the store, or
    /// a bulk load is creating it; corruption or I/O errors from RocksDB's
    /// recovery or from finishing or removing an interrupted bulk load.
    pub fn open_with(path: impl AsRef<Path>, config: &RocksDbConfig) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        bulk::recover(&path)?;
        let create = options::check_directory(&path, config.create_if_missing)?;
        let (db_opts, cfs) = options::build(config, create, None);
        let db = DB::open_cf_descriptors(&db_opts, &path, cfs).map_err(map_error)?;
        Ok(RocksDbBackend {
            db,
            path,
            backups: Mutex::new(()),
        })
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes or removes what an interrupted bulk load of `path` left
    /// beside it, as [`open_with`](Self::open_with) does first, without
    /// opening anything: a complete load is moved onto `path` if `path` is
    /// missing or empty, an unfinished one deleted unless its loader still
    /// runs. For callers that decide what to do from whether a store
    /// exists at `path`: they see the store a complete load left.
    ///
    /// Returns whether a complete load was moved onto `path`.
    ///
    /// # Errors
    /// [`Error::Locked`] while a load of a missing or empty `path` runs (as
    /// for [`open_with`](Self::open_with)); I/O errors finishing or
    /// removing the load.
    pub fn finish_interrupted_bulk_load(path: impl AsRef<Path>) -> Result<bool> {
        bulk::recover(path.as_ref())
    }

    /// Syncs the WAL and closes the store, reporting any error (dropping
    /// does the same but cannot report).
    ///
    /// # Errors
    /// An I/O error from the final sync.
    pub fn close(self) -> Result<()> {
        self.db.flush_wal(true).map_err(map_error)
    }

    /// A RocksDB integer property of a column family, such as
    /// `rocksdb.estimate-num-keys` or `rocksdb.total-sst-files-size`.
    ///
    /// # Errors
    /// Engine errors.
    pub fn property(&self, cf: ColumnFamily, name: &str) -> Result<Option<u64>> {
        self.db
            .property_int_value_cf(self.handle(cf)?, name)
            .map_err(map_error)
    }

    fn handle(&self, cf: ColumnFamily) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(cf.name())
            .ok_or_else(|| Error::Backend(format!("column family {cf} is not open")))
    }
}

impl Drop for RocksDbBackend {
    fn drop(&mut self) {
        // Best effort: an error here cannot be reported; `close` reports it.
        let _ = self.db.flush_wal(true);
    }
}

/// Read options for a scan of `range` in `cf`: bounds always; prefix bloom
/// filters only for a forward scan inside one extractor prefix.
fn scan_options(cf: ColumnFamily, range: &KeyRange<'_>, direction: ScanDirection) -> ReadOptions {
    let mut ro = ReadOptions::default();
    if !range.start.is_empty() {
        ro.set_iterate_lower_bound(range.start.to_vec());
    }
    if let Some(end) = range.end {
        ro.set_iterate_upper_bound(end.to_vec());
    }
    let within_prefix = cf == ColumnFamily::Indices
        && direction == ScanDirection::Forward
        && options::within_one_prefix(range);
    ro.set_total_order_seek(!within_prefix);
    ro
}

fn run_scan(
    mut it: DBRawIteratorWithThreadMode<'_, DB>,
    direction: ScanDirection,
    visit: &mut Visitor<'_>,
) -> Result<()> {
    match direction {
        ScanDirection::Forward => it.seek_to_first(),
        ScanDirection::Reverse => it.seek_to_last(),
    }
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if visit(k, v)?.is_break() {
            return Ok(());
        }
        match direction {
            ScanDirection::Forward => it.next(),
            ScanDirection::Reverse => it.prev(),
        }
    }
    it.status().map_err(map_error)
}

impl ReadView for RocksDbBackend {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .db
            .get_pinned_cf(self.handle(cf)?, key)
            .map_err(map_error)?
            .map(|v| v.to_vec()))
    }

    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        self.db
            .batched_multi_get_cf(self.handle(cf)?, keys.iter().copied(), false)
            .into_iter()
            .map(|r| r.map(|v| v.map(|v| v.to_vec())).map_err(map_error))
            .collect()
    }

    /// Calls `f` with RocksDB's pinned slice: no copy of the value.
    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        let value = self
            .db
            .get_pinned_cf(self.handle(cf)?, key)
            .map_err(map_error)?;
        f(value.as_deref())
    }

    /// One batched `multi_get`; `f` gets the pinned slices.
    fn multi_get_with(
        &self,
        cf: ColumnFamily,
        keys: &[&[u8]],
        f: &mut MultiValueVisitor<'_>,
    ) -> Result<()> {
        let values = self
            .db
            .batched_multi_get_cf(self.handle(cf)?, keys.iter().copied(), false);
        for (i, value) in values.into_iter().enumerate() {
            f(i, value.map_err(map_error)?.as_deref())?;
        }
        Ok(())
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let ro = scan_options(cf, &range, direction);
        run_scan(
            self.db.raw_iterator_cf_opt(self.handle(cf)?, ro),
            direction,
            visit,
        )
    }
}

/// A consistent, frozen view of a [`RocksDbBackend`] (a RocksDB snapshot).
pub struct RocksDbSnapshot<'a> {
    backend: &'a RocksDbBackend,
    snapshot: SnapshotWithThreadMode<'a, DB>,
}

impl ReadView for RocksDbSnapshot<'_> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .snapshot
            .get_pinned_cf(self.backend.handle(cf)?, key)
            .map_err(map_error)?
            .map(|v| v.to_vec()))
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        let value = self
            .snapshot
            .get_pinned_cf(self.backend.handle(cf)?, key)
            .map_err(map_error)?;
        f(value.as_deref())
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let ro = scan_options(cf, &range, direction);
        let it = self
            .snapshot
            .raw_iterator_cf_opt(self.backend.handle(cf)?, ro);
        run_scan(it, direction, visit)
    }
}

impl StorageBackend for RocksDbBackend {
    type Snapshot<'a> = RocksDbSnapshot<'a>;

    fn snapshot(&self) -> RocksDbSnapshot<'_> {
        RocksDbSnapshot {
            backend: self,
            snapshot: self.db.snapshot(),
        }
    }

    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        let mut wb = rocksdb::WriteBatch::with_capacity_bytes(batch.data_size() + batch.len() * 16);
        let handles = [
            self.handle(ColumnFamily::Default)?,
            self.handle(ColumnFamily::Nodes)?,
            self.handle(ColumnFamily::Edges)?,
            self.handle(ColumnFamily::Indices)?,
        ];
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => wb.put_cf(handles[cf.index()], key, value),
                BatchOp::Delete { cf, key } => wb.delete_cf(handles[cf.index()], key),
                BatchOp::DeleteRange { cf, start, end } => {
                    if start < end {
                        wb.delete_range_cf(handles[cf.index()], start, end);
                    }
                }
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(durability == Durability::Strict);
        if wb.is_empty() && durability == Durability::Strict {
            return self.sync();
        }
        self.db.write_opt(wb, &wo).map_err(map_error)
    }

    fn flush(&self) -> Result<()> {
        let handles: Vec<_> = ColumnFamily::ALL
            .iter()
            .map(|cf| self.handle(*cf))
            .collect::<Result<_>>()?;
        self.db
            .flush_cfs_opt(&handles, &rocksdb::FlushOptions::default())
            .map_err(map_error)
    }

    fn sync(&self) -> Result<()> {
        self.db.flush_wal(true).map_err(map_error)
    }
}
