//! Maintenance of a live store: checkpoints, backups and restores, manual
//! compaction and size statistics (the `graphstore` commands of the same
//! names).
//!
//! Checkpoints and backups are RocksDB's own: a checkpoint hard-links the
//! live SST files (copying them across file systems) into a new directory
//! after a flush, plus the WAL written since; a backup is an incremental
//! copy into a backup directory that keeps many backups and shares the
//! files they have in common. Both are taken while the store is in use and
//! hold a consistent state of all four column families (the families are
//! flushed atomically and the WAL is shared), and both open as an ordinary
//! store.

use std::collections::HashSet;
use std::path::Path;
use std::sync::PoisonError;

use graph_core::{ColumnFamily, Error, Result};
use rocksdb::backup::{BackupEngine, BackupEngineInfo, BackupEngineOptions, RestoreOptions};
use rocksdb::checkpoint::Checkpoint;
use rocksdb::properties;
use rocksdb::{BottommostLevelCompaction, CompactOptions, Env};

use crate::{RocksDbBackend, map_error};

/// One backup in a backup directory (see [`RocksDbBackend::backup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The backup's id: ids increase with every backup made into the
    /// directory and are never reused there.
    pub id: u32,
    /// When the backup was taken, in seconds since the Unix epoch.
    pub timestamp: i64,
    /// The bytes of the files the backup consists of. Backups share the
    /// files they have in common, so the sizes of several backups add up
    /// to more than the directory holds.
    pub size_bytes: u64,
    /// The number of files the backup consists of.
    pub file_count: u32,
}

impl From<BackupEngineInfo> for BackupInfo {
    fn from(i: BackupEngineInfo) -> Self {
        BackupInfo {
            id: i.backup_id,
            timestamp: i.timestamp,
            size_bytes: i.size,
            file_count: i.num_files,
        }
    }
}

/// Size figures of one column family, from RocksDB's properties (see
/// [`RocksDbBackend::stats`]). Estimates are RocksDB's: cheap, and exact
/// only for data without overwrites or deletions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfStats {
    /// The column family.
    pub cf: ColumnFamily,
    /// Estimated number of keys, memtables and SST files together
    /// (`rocksdb.estimate-num-keys`).
    pub estimated_keys: u64,
    /// Bytes of all SST files of the family, including those only kept
    /// for an open snapshot or iterator (`rocksdb.total-sst-files-size`).
    pub total_sst_bytes: u64,
    /// Bytes of the SST files of the current version
    /// (`rocksdb.live-sst-files-size`).
    pub live_sst_bytes: u64,
    /// Estimated bytes of live data in SST files, without overwritten or
    /// deleted entries (`rocksdb.estimate-live-data-size`).
    pub estimated_live_data_bytes: u64,
    /// Bytes of the family's memtables, active and immutable, not yet
    /// flushed (`rocksdb.cur-size-all-mem-tables`).
    pub memtable_bytes: u64,
    /// The number of SST files at each level, level 0 first
    /// (`rocksdb.num-files-at-level<N>`); as long as the family has levels.
    pub sst_files_per_level: Vec<u64>,
}

impl CfStats {
    /// The number of SST files at all levels.
    pub fn sst_files(&self) -> u64 {
        self.sst_files_per_level.iter().sum()
    }
}

/// Store-wide figures (see [`RocksDbBackend::store_stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// The capacity of the block cache the four families share
    /// (`rocksdb.block-cache-capacity`).
    pub block_cache_capacity_bytes: u64,
    /// The bytes of blocks in the block cache (`rocksdb.block-cache-usage`).
    pub block_cache_usage_bytes: u64,
    /// The bytes of blocks pinned in the block cache, such as index and
    /// filter blocks of level-0 files (`rocksdb.block-cache-pinned-usage`).
    pub block_cache_pinned_bytes: u64,
    /// The bytes of every file in the store's directory and below it: SST
    /// files, WAL, manifest, options and logs.
    pub disk_bytes: u64,
    /// The bytes of the write-ahead log files (`*.log`) in the directory.
    pub wal_bytes: u64,
}

/// The state of a directory a command is about to write into.
enum DirState {
    Missing,
    Empty,
    NonEmpty,
}

fn dir_state(path: &Path) -> Result<DirState> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            if std::fs::read_dir(path)?.next().is_some() {
                Ok(DirState::NonEmpty)
            } else {
                Ok(DirState::Empty)
            }
        }
        Ok(_) => Err(Error::invalid(format!(
            "{} exists and is not a directory",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DirState::Missing),
        Err(e) => Err(e.into()),
    }
}

/// Whether `path` holds a RocksDB backup directory (its `meta/` folder).
fn is_backup_dir(path: &Path) -> bool {
    path.join("meta").is_dir()
}

fn open_engine(backup_dir: &Path) -> Result<BackupEngine> {
    let options = BackupEngineOptions::new(backup_dir).map_err(map_error)?;
    let env = Env::new().map_err(map_error)?;
    BackupEngine::open(&options, &env).map_err(map_error)
}

/// Opens the backups of an existing backup directory, refusing anything
/// else (opening a backup engine creates its folders).
fn open_existing_engine(backup_dir: &Path) -> Result<BackupEngine> {
    match dir_state(backup_dir)? {
        DirState::Missing => Err(Error::invalid(format!(
            "no backup directory at {}",
            backup_dir.display()
        ))),
        _ if !is_backup_dir(backup_dir) => Err(Error::invalid(format!(
            "{} is not a backup directory (it has no meta/ folder)",
            backup_dir.display()
        ))),
        _ => open_engine(backup_dir),
    }
}

fn sorted_infos(engine: &BackupEngine) -> Vec<BackupInfo> {
    let mut infos: Vec<BackupInfo> = engine
        .get_backup_info()
        .into_iter()
        .map(BackupInfo::from)
        .collect();
    infos.sort_by_key(|i| i.id);
    infos
}

/// The bytes of every file below `path`, and of the `*.log` files directly
/// in it.
fn directory_sizes(path: &Path) -> Result<(u64, u64)> {
    let (mut total, mut wal) = (0u64, 0u64);
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Deleted since listed (obsolete files go at any time).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if meta.is_dir() {
                pending.push(entry.path());
                continue;
            }
            total += meta.len();
            if dir == path && entry.file_name().to_string_lossy().ends_with(".log") {
                wal += meta.len();
            }
        }
    }
    Ok((total, wal))
}

impl RocksDbBackend {
    /// Writes a checkpoint of the store into `dir`, a directory that must
    /// not exist yet (missing parent directories are created): a complete,
    /// consistent store that [`RocksDbBackend::open`] opens, holding every
    /// write acknowledged before this call and, of writes running
    /// concurrently, a prefix in commit order. Taken while the store is in
    /// use: the memtables are flushed first, then the SST files are
    /// hard-linked (copied when `dir` is on another file system) and the
    /// WAL written since is copied.
    ///
    /// The checkpoint shares its SST files with the store through hard
    /// links: it costs little space until compaction replaces them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `dir` exists (nothing is written
    /// then); I/O errors from the flush or the copy (RocksDB removes its
    /// partial checkpoint then).
    pub fn checkpoint(&self, dir: &Path) -> Result<()> {
        if std::fs::symlink_metadata(dir).is_ok() {
            return Err(Error::invalid(format!(
                "checkpoint directory {} already exists; a checkpoint needs a new directory",
                dir.display()
            )));
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        Checkpoint::new(&self.db)
            .and_then(|c| c.create_checkpoint(dir))
            .map_err(map_error)
    }

    /// Takes a new backup of the store into `backup_dir` with RocksDB's
    /// backup engine and returns it. The memtables are flushed first; the
    /// backup copies only the SST files earlier backups in the directory do
    /// not hold already. The new backup is then verified (every file
    /// present with its recorded size; checksums are checked on restore).
    ///
    /// `backup_dir` is created if missing; an existing one must be empty or
    /// a backup directory. Backups of this store into one directory are
    /// serialized; two stores or processes must not back up into the same
    /// directory at once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `backup_dir` is a file or a non-empty
    /// directory that is not a backup directory; I/O errors from the flush
    /// or the copy; [`Error::StorageCorruption`] if the new backup does not
    /// verify.
    pub fn backup(&self, backup_dir: &Path) -> Result<BackupInfo> {
        let _one_at_a_time = self.backups.lock().unwrap_or_else(PoisonError::into_inner);
        match dir_state(backup_dir)? {
            DirState::Missing => std::fs::create_dir_all(backup_dir)?,
            DirState::NonEmpty if !is_backup_dir(backup_dir) => {
                return Err(Error::invalid(format!(
                    "{} is neither empty nor a backup directory; refusing to write into it",
                    backup_dir.display()
                )));
            }
            DirState::Empty | DirState::NonEmpty => {}
        }
        let mut engine = open_engine(backup_dir)?;
        let before: HashSet<u32> = engine
            .get_backup_info()
            .iter()
            .map(|i| i.backup_id)
            .collect();
        engine
            .create_new_backup_flush(&self.db, true)
            .map_err(map_error)?;
        let info = sorted_infos(&engine)
            .into_iter()
            .rfind(|i| !before.contains(&i.id))
            .ok_or_else(|| {
                Error::Backend(format!(
                    "the backup engine listed no new backup in {}",
                    backup_dir.display()
                ))
            })?;
        engine.verify_backup(info.id).map_err(|e| {
            let message = format!("backup {} does not verify: {e}", info.id);
            match map_error(e) {
                // A missing or short file is damage to the backup.
                Error::Io { .. } => Error::StorageCorruption { message },
                other => other,
            }
        })?;
        Ok(info)
    }

    /// The backups in `backup_dir`, oldest (lowest id) first. An empty
    /// directory has none.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `backup_dir` is missing, a file, or a
    /// non-empty directory that is not a backup directory; I/O errors.
    pub fn list_backups(backup_dir: &Path) -> Result<Vec<BackupInfo>> {
        if let DirState::Empty = dir_state(backup_dir)? {
            return Ok(Vec::new());
        }
        Ok(sorted_infos(&open_existing_engine(backup_dir)?))
    }

    /// Restores backup `backup_id` (the latest when `None`) of
    /// `backup_dir` into `db_dir`, which must be missing or empty; the
    /// result opens with [`RocksDbBackend::open`]. The backup is verified
    /// first (every file present with its recorded size) and RocksDB checks
    /// each file's checksum as it copies it.
    ///
    /// Do not let anything else write into `db_dir` meanwhile: RocksDB
    /// clears the directory before restoring.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`], with `db_dir` left unchanged: `db_dir`
    /// is a file or a non-empty directory; `backup_dir` is not a backup
    /// directory, holds no backup, or not `backup_id`.
    /// [`Error::StorageCorruption`] if the backup does not verify or a
    /// file's checksum does not match; I/O errors from the copy. A `db_dir`
    /// this call created is removed again on failure.
    pub fn restore(backup_dir: &Path, db_dir: &Path, backup_id: Option<u32>) -> Result<()> {
        let created = match dir_state(db_dir)? {
            DirState::NonEmpty => {
                return Err(Error::invalid(format!(
                    "{} is not empty; restore needs a new or empty directory",
                    db_dir.display()
                )));
            }
            DirState::Empty => false,
            DirState::Missing => true,
        };
        let mut engine = open_existing_engine(backup_dir)?;
        let infos = sorted_infos(&engine);
        let ids: Vec<u32> = infos.iter().map(|i| i.id).collect();
        let id = match backup_id {
            Some(id) if ids.contains(&id) => id,
            Some(id) => {
                return Err(Error::invalid(format!(
                    "no backup {id} in {}; its backups are {ids:?}",
                    backup_dir.display()
                )));
            }
            None => *ids
                .last()
                .ok_or_else(|| Error::invalid(format!("no backup in {}", backup_dir.display())))?,
        };
        engine.verify_backup(id).map_err(|e| {
            let message = format!("backup {id} does not verify: {e}");
            match map_error(e) {
                Error::Io { .. } => Error::StorageCorruption { message },
                other => other,
            }
        })?;
        if created {
            std::fs::create_dir_all(db_dir)?;
        }
        let restored = engine
            .restore_from_backup(db_dir, db_dir, &RestoreOptions::default(), id)
            .map_err(map_error);
        if restored.is_err() && created {
            // Best effort: the original error is the one to report.
            let _ = std::fs::remove_dir_all(db_dir);
        }
        restored
    }

    /// Compacts the whole of every column family, the bottommost level
    /// included (RocksDB's `BottommostLevelCompaction::Force`), so that
    /// overwritten and deleted entries are dropped and each family ends up
    /// in as few, fully sorted files as its levels allow. Blocks until
    /// done; reads and writes go on meanwhile. The contents do not change.
    ///
    /// RocksDB's C API reports no status for a manual compaction: a
    /// failure shows as a new background error, which this returns.
    ///
    /// # Errors
    /// [`Error::Io`] if RocksDB recorded a background error during the
    /// compaction (see the store's `LOG`); engine errors reading its
    /// properties.
    pub fn compact(&self) -> Result<()> {
        let errors_before =
            self.int_property(ColumnFamily::Default, properties::BACKGROUND_ERRORS)?;
        let mut options = CompactOptions::default();
        options.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        for cf in ColumnFamily::ALL {
            self.db
                .compact_range_cf_opt(self.handle(cf)?, None::<&[u8]>, None::<&[u8]>, &options);
        }
        let errors_after =
            self.int_property(ColumnFamily::Default, properties::BACKGROUND_ERRORS)?;
        if errors_after > errors_before {
            return Err(Error::Io {
                message: format!(
                    "manual compaction of {} failed: {} new background error(s), see the LOG file",
                    self.path.display(),
                    errors_after - errors_before
                ),
            });
        }
        Ok(())
    }

    /// Size figures of each column family, in the order of
    /// [`ColumnFamily::ALL`].
    ///
    /// # Errors
    /// Engine errors reading the properties; [`Error::Backend`] if RocksDB
    /// does not report one of them.
    pub fn stats(&self) -> Result<Vec<CfStats>> {
        ColumnFamily::ALL
            .into_iter()
            .map(|cf| self.cf_stats(cf))
            .collect()
    }

    /// Store-wide figures: the shared block cache and the directory's size
    /// on disk (a walk of the directory).
    ///
    /// # Errors
    /// Engine errors reading the properties; I/O errors walking the
    /// directory.
    pub fn store_stats(&self) -> Result<StoreStats> {
        let cf = ColumnFamily::Default;
        let (disk_bytes, wal_bytes) = directory_sizes(&self.path)?;
        Ok(StoreStats {
            block_cache_capacity_bytes: self.int_property(cf, properties::BLOCK_CACHE_CAPACITY)?,
            block_cache_usage_bytes: self.int_property(cf, properties::BLOCK_CACHE_USAGE)?,
            block_cache_pinned_bytes: self
                .int_property(cf, properties::BLOCK_CACHE_PINNED_USAGE)?,
            disk_bytes,
            wal_bytes,
        })
    }

    fn cf_stats(&self, cf: ColumnFamily) -> Result<CfStats> {
        let handle = self.handle(cf)?;
        let mut sst_files_per_level = Vec::new();
        // RocksDB answers for levels below the family's `num_levels` only.
        for level in 0.. {
            let name = properties::num_files_at_level(level);
            let Some(text) = self
                .db
                .property_value_cf(handle, &name)
                .map_err(map_error)?
            else {
                break;
            };
            let files = text.trim().parse::<u64>().map_err(|e| {
                Error::Backend(format!("{name} of {cf} is {text:?}, not a number: {e}"))
            })?;
            sst_files_per_level.push(files);
        }
        Ok(CfStats {
            cf,
            estimated_keys: self.int_property(cf, properties::ESTIMATE_NUM_KEYS)?,
            total_sst_bytes: self.int_property(cf, properties::TOTAL_SST_FILES_SIZE)?,
            live_sst_bytes: self.int_property(cf, properties::LIVE_SST_FILES_SIZE)?,
            estimated_live_data_bytes: self
                .int_property(cf, properties::ESTIMATE_LIVE_DATA_SIZE)?,
            memtable_bytes: self.int_property(cf, properties::CUR_SIZE_ALL_MEM_TABLES)?,
            sst_files_per_level,
        })
    }

    fn int_property(&self, cf: ColumnFamily, name: &properties::PropName) -> Result<u64> {
        self.db
            .property_int_value_cf(self.handle(cf)?, name)
            .map_err(map_error)?
            .ok_or_else(|| Error::Backend(format!("RocksDB does not report {name} for {cf}")))
    }
}
