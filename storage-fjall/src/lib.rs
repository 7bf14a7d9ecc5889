//! # storage-fjall: the pure-Rust durable backend
//!
//! [`FjallBackend`] implements [`StorageBackend`] on
//! [fjall](https://docs.rs/fjall), an LSM-tree engine written in safe
//! Rust: it builds in seconds, with no C++ toolchain and no libclang.
//!
//! * Each column family is one fjall keyspace of the same name
//!   (`default`, `nodes`, `edges`, `indices`). A [`WriteBatch`] is one
//!   fjall write batch across the four keyspaces: one journal entry, one
//!   sequence number, visible all at once.
//! * Every stored key is the caller's key behind one byte, [`KEY_PREFIX`]:
//!   lsm-tree refuses empty keys, which the trait allows. The prefix keeps
//!   the order; scans and gets add it, visitors never see it. Keys may
//!   therefore be at most [`MAX_KEY_LEN`] bytes (lsm-tree's 65,535 less
//!   the prefix); a batch with a longer key, or a value of 4 GiB or more,
//!   fails with [`Error::InvalidArgument`] and applies nothing.
//! * [`Durability::Strict`]: the journal is fsynced
//!   ([`fjall::PersistMode::SyncAll`]) before the write returns.
//!   [`Durability::Background`]: the journal is written to the operating
//!   system's buffers ([`fjall::PersistMode::Buffer`]) before the write
//!   returns, so a process crash loses nothing acknowledged; a background
//!   thread fsyncs it every
//!   [`background_sync_interval`](FjallConfig::background_sync_interval)
//!   (100 ms by default) when there were such writes, which bounds what a
//!   power loss can take. See RELIABILITY.md.
//! * fjall has no range tombstone in a batch: a delete-range becomes one
//!   tombstone per key present in the range, read under a lock that keeps
//!   every other writer out until the batch is committed, so it stays
//!   atomic and ordered with the batch's other operations. Batches
//!   without one run concurrently.
//! * Snapshots are fjall snapshots (one sequence number for all four
//!   keyspaces).
//! * The store's directory is fjall's plus a marker file of ours,
//!   [`MARKER`], held locked while the store is open: a second opener, in
//!   this process or another, gets [`Error::Locked`]. A directory that is
//!   neither empty nor such a store is refused and left untouched.
//! * Engine errors are mapped in one place ([`map_error`]).
//!
//! ```
//! use graph_core::{ColumnFamily, Durability, ReadView, StorageBackend};
//! use storage_fjall::FjallBackend;
//!
//! let dir = tempfile::tempdir()?;
//! let backend = FjallBackend::open(dir.path().join("store"))?;
//! backend.put(ColumnFamily::Nodes, b"k", b"v", Durability::Strict)?;
//! assert_eq!(backend.get(ColumnFamily::Nodes, b"k")?, Some(b"v".to_vec()));
//! backend.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod dir;
mod error;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use byteview::ByteView;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable, Slice};
use graph_core::{
    BatchOp, ColumnFamily, Durability, Error, KeyRange, ReadView, Result, ScanDirection,
    StorageBackend, ValueVisitor, Visitor, WriteBatch,
};

pub use config::FjallConfig;
pub use dir::{MARKER, MARKER_CONTENTS};
pub use error::map_error;

/// One write of a batch: the family's index, the key, and the value (`None`
/// for a delete).
type Write<'a> = (usize, &'a [u8], Option<&'a [u8]>);

/// The final effect of a batch on each (family index, key) it touches.
type Effects = BTreeMap<(usize, Vec<u8>), Option<Vec<u8>>>;

/// The byte in front of every key this backend stores.
pub const KEY_PREFIX: u8 = 0x00;

/// The longest key the backend accepts, in bytes.
pub const MAX_KEY_LEN: usize = u16::MAX as usize - 1;

/// The longest value the backend accepts, in bytes.
pub const MAX_VALUE_LEN: usize = u32::MAX as usize;

/// The stored form of `key`: [`KEY_PREFIX`] then the key.
fn stored(key: &[u8]) -> Slice {
    Slice::from(ByteView::fused(&[KEY_PREFIX], key))
}

/// The fjall bounds of a trait range, in stored keys.
fn stored_range(range: &KeyRange<'_>) -> (Bound<Slice>, Bound<Slice>) {
    let end = match range.end {
        Some(end) => Bound::Excluded(stored(end)),
        // Every stored key starts with KEY_PREFIX, so all of them are
        // below the next byte.
        None => Bound::Excluded(Slice::from(&[KEY_PREFIX + 1][..])),
    };
    (Bound::Included(stored(range.start)), end)
}

/// The caller's key inside a stored one.
fn user_key(stored: &[u8]) -> Result<&[u8]> {
    match stored.split_first() {
        Some((&KEY_PREFIX, rest)) => Ok(rest),
        _ => Err(Error::StorageCorruption {
            message: format!("fjall key {stored:02x?} lacks the graph store's key prefix"),
        }),
    }
}

fn run_scan(iter: fjall::Iter, direction: ScanDirection, visit: &mut Visitor<'_>) -> Result<()> {
    let mut step = |guard: fjall::Guard| -> Result<bool> {
        let (k, v) = guard.into_inner().map_err(map_error)?;
        Ok(visit(user_key(&k)?, &v)?.is_break())
    };
    match direction {
        ScanDirection::Forward => {
            for guard in iter {
                if step(guard)? {
                    break;
                }
            }
        }
        ScanDirection::Reverse => {
            for guard in iter.rev() {
                if step(guard)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The thread that fsyncs the journal behind Background writes.
struct Syncer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Syncer {
    fn start(db: Database, dirty: Arc<AtomicBool>, interval: Duration) -> Result<Syncer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fjall-sync".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if dirty.swap(false, Ordering::AcqRel)
                        && db.persist(PersistMode::SyncAll).is_err()
                    {
                        // fjall has poisoned the database: every later
                        // write and sync reports the failure.
                        return;
                    }
                }
            })?;
        Ok(Syncer { stop, thread })
    }

    fn stop(self) {
        drop(self.stop);
        // The thread only waits and fsyncs; it cannot panic.
        let _ = self.thread.join();
    }
}

/// A graph-store backend on a fjall database directory. `Send + Sync`.
///
/// Holds the directory's lock until dropped; a second opener, in this
/// process or another, gets [`Error::Locked`]. Dropping it stops the
/// background fsync thread, fsyncs the journal and closes the database
/// (waiting for fjall's flush and compaction threads).
pub struct FjallBackend {
    keyspaces: [Keyspace; 4],
    db: Database,
    path: PathBuf,
    /// Writers with a delete-range take it exclusively (they read, then
    /// write); all others share it.
    writers: RwLock<()>,
    /// Background writes made since the syncer's last fsync.
    dirty: Arc<AtomicBool>,
    syncer: Option<Syncer>,
    /// Our marker, locked: the lock is released when it is closed, after
    /// the database.
    _marker: std::fs::File,
}

impl std::fmt::Debug for FjallBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallBackend")
            .field("path", &self.path)
            .finish()
    }
}

impl FjallBackend {
    /// Opens or creates the store at `path` with the default configuration.
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &FjallConfig::default())
    }

    /// Opens the store at `path`, creating it if the directory is missing
    /// or empty and `config.create_if_missing` is set. A creation that was
    /// interrupted (the process killed) is finished.
    ///
    /// Refuses, changing nothing on disk: a path that is not a directory
    /// and a non-empty directory that is not a graph store
    /// ([`Error::InvalidArgument`]); a fjall database without our marker, a
    /// RocksDB database, a store of a newer layout, and a store with
    /// keyspaces other than the four ([`Error::IncompatibleFormat`]).
    ///
    /// # Errors
    /// The above; [`Error::InvalidArgument`] for `worker_threads == 0`;
    /// [`Error::Locked`] if another opener holds the store; corruption or
    /// I/O errors from fjall's recovery.
    pub fn open_with(path: impl AsRef<Path>, config: &FjallConfig) -> Result<Self> {
        if config.worker_threads == 0 {
            return Err(Error::invalid(
                "FjallConfig::worker_threads must be at least 1",
            ));
        }
        let path = path.as_ref().to_path_buf();
        let dir::Claim {
            mut marker,
            complete,
        } = dir::claim(&path, config.create_if_missing)?;
        dir::check_versions(&path)?;
        let db = Database::builder(&path)
            .cache_size(config.cache_bytes)
            .worker_threads(config.worker_threads)
            .open()
            .map_err(map_error)?;
        let mut names: Vec<String> = db
            .list_keyspace_names()
            .iter()
            .map(|n| AsRef::<str>::as_ref(n).to_owned())
            .collect();
        names.sort();
        if let Some(other) = names
            .iter()
            .find(|n| !ColumnFamily::ALL.iter().any(|cf| cf.name() == n.as_str()))
        {
            return Err(Error::IncompatibleFormat {
                found: format!("{}: a fjall keyspace named {other:?}", path.display()),
                supported: "the keyspaces default, nodes, edges, indices".to_owned(),
            });
        }
        if complete
            && let Some(cf) = ColumnFamily::ALL
                .iter()
                .find(|cf| !db.keyspace_exists(cf.name()))
        {
            return Err(Error::StorageCorruption {
                message: format!("{}: the keyspace {cf} is missing", path.display()),
            });
        }
        let memtable = config.memtable_bytes;
        let open = |cf: ColumnFamily| {
            db.keyspace(cf.name(), || {
                KeyspaceCreateOptions::default().max_memtable_size(memtable)
            })
            .map_err(map_error)
        };
        let keyspaces = [
            open(ColumnFamily::Default)?,
            open(ColumnFamily::Nodes)?,
            open(ColumnFamily::Edges)?,
            open(ColumnFamily::Indices)?,
        ];
        if !complete {
            db.persist(PersistMode::SyncAll).map_err(map_error)?;
            dir::complete(&mut marker, &path)?;
        }
        let dirty = Arc::new(AtomicBool::new(false));
        let syncer = match config.background_sync_interval {
            Some(interval) => Some(Syncer::start(db.clone(), dirty.clone(), interval)?),
            None => None,
        };
        Ok(FjallBackend {
            keyspaces,
            db,
            path,
            writers: RwLock::new(()),
            dirty,
            syncer,
            _marker: marker,
        })
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes the store occupies on disk (tables and journals).
    ///
    /// # Errors
    /// An I/O error while sizing the journals.
    pub fn disk_space(&self) -> Result<u64> {
        self.db.disk_space().map_err(map_error)
    }

    /// Fsyncs the journal and closes the store, reporting any error
    /// (dropping does the same but cannot report).
    ///
    /// # Errors
    /// An I/O error from the final fsync.
    pub fn close(mut self) -> Result<()> {
        if let Some(s) = self.syncer.take() {
            s.stop();
        }
        self.db.persist(PersistMode::SyncAll).map_err(map_error)
    }

    fn keyspace(&self, cf: ColumnFamily) -> &Keyspace {
        &self.keyspaces[cf.index()]
    }

    /// Refuses a batch the engine cannot store, before anything is applied.
    fn check(batch: &WriteBatch) -> Result<()> {
        let too_long = |what: &str, len: usize, max: usize| {
            Err(Error::invalid(format!(
                "a {what} of {len} bytes is longer than the fjall backend's limit of {max} bytes"
            )))
        };
        for op in batch.iter() {
            let (key, value) = match op {
                BatchOp::Put { key, value, .. } => (key, value),
                BatchOp::Delete { key, .. } => (key, &[][..]),
                BatchOp::DeleteRange { start, end, .. } => (start, end),
            };
            if key.len() > MAX_KEY_LEN {
                return too_long("key", key.len(), MAX_KEY_LEN);
            }
            if let BatchOp::DeleteRange { .. } = op {
                if value.len() > MAX_KEY_LEN {
                    return too_long("key", value.len(), MAX_KEY_LEN);
                }
            } else if value.len() > MAX_VALUE_LEN {
                return too_long("value", value.len(), MAX_VALUE_LEN);
            }
        }
        Ok(())
    }

    /// The last operation on each (family, key) of a batch without
    /// delete-ranges, sorted by family and key.
    fn last_writes(batch: &WriteBatch) -> Vec<Write<'_>> {
        let mut ops: Vec<Write<'_>> = batch
            .iter()
            .filter_map(|op| match op {
                BatchOp::Put { cf, key, value } => Some((cf.index(), key, Some(value))),
                BatchOp::Delete { cf, key } => Some((cf.index(), key, None)),
                BatchOp::DeleteRange { .. } => None,
            })
            .collect();
        // Stable: equal keys keep batch order, and the last one wins.
        ops.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut out: Vec<Write<'_>> = Vec::with_capacity(ops.len());
        for op in ops {
            match out.last_mut() {
                Some(last) if (last.0, last.1) == (op.0, op.1) => *last = op,
                _ => out.push(op),
            }
        }
        out
    }

    /// The final effect of a batch with delete-ranges on each key it
    /// touches, reading the keys a range removes from the live store.
    /// Called with the writers' lock held exclusively.
    fn effects(&self, batch: &WriteBatch) -> Result<Effects> {
        let mut effects = Effects::new();
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    effects.insert((cf.index(), key.to_vec()), Some(value.to_vec()));
                }
                BatchOp::Delete { cf, key } => {
                    effects.insert((cf.index(), key.to_vec()), None);
                }
                BatchOp::DeleteRange { cf, start, end } => {
                    if start >= end {
                        continue;
                    }
                    let i = cf.index();
                    let range = KeyRange::new(start, end);
                    for guard in self.keyspace(cf).range(stored_range(&range)) {
                        let k = guard.key().map_err(map_error)?;
                        effects.insert((i, user_key(&k)?.to_vec()), None);
                    }
                    let lo = (i, start.to_vec());
                    let hi = (i, end.to_vec());
                    for (_, v) in effects.range_mut(lo..hi) {
                        *v = None;
                    }
                }
            }
        }
        Ok(effects)
    }

    fn commit(&self, batch: fjall::OwnedWriteBatch, durability: Durability) -> Result<()> {
        if batch.is_empty() {
            // fjall commits nothing for an empty batch; Strict still syncs.
            return match durability {
                Durability::Strict => self.sync(),
                Durability::Background => Ok(()),
            };
        }
        batch.commit().map_err(map_error)?;
        if durability == Durability::Background {
            self.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }
}

impl Drop for FjallBackend {
    fn drop(&mut self) {
        if let Some(s) = self.syncer.take() {
            s.stop();
        }
        // Best effort: an error here cannot be reported; `close` reports it.
        let _ = self.db.persist(PersistMode::SyncAll);
    }
}

impl ReadView for FjallBackend {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .keyspace(cf)
            .get(stored(key))
            .map_err(map_error)?
            .map(|v| v.to_vec()))
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        let value = self.keyspace(cf).get(stored(key)).map_err(map_error)?;
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
        run_scan(
            self.keyspace(cf).range(stored_range(&range)),
            direction,
            visit,
        )
    }
}

/// A consistent, frozen view of a [`FjallBackend`] (a fjall snapshot: one
/// sequence number for all four keyspaces).
pub struct FjallSnapshot<'a> {
    backend: &'a FjallBackend,
    snapshot: fjall::Snapshot,
}

impl ReadView for FjallSnapshot<'_> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .snapshot
            .get(self.backend.keyspace(cf), stored(key))
            .map_err(map_error)?
            .map(|v| v.to_vec()))
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        let value = self
            .snapshot
            .get(self.backend.keyspace(cf), stored(key))
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
        let iter = self
            .snapshot
            .range(self.backend.keyspace(cf), stored_range(&range));
        run_scan(iter, direction, visit)
    }
}

impl StorageBackend for FjallBackend {
    type Snapshot<'a> = FjallSnapshot<'a>;

    fn snapshot(&self) -> FjallSnapshot<'_> {
        FjallSnapshot {
            backend: self,
            snapshot: self.db.snapshot(),
        }
    }

    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        Self::check(batch)?;
        let mode = match durability {
            Durability::Strict => PersistMode::SyncAll,
            Durability::Background => PersistMode::Buffer,
        };
        // Without a persist mode a committed batch may stay in fjall's
        // journal buffer inside this process: Buffer at least hands it to
        // the operating system, so a process crash cannot lose it.
        let mut fb = self.db.batch().durability(Some(mode));
        let has_range = batch
            .iter()
            .any(|op| matches!(op, BatchOp::DeleteRange { .. }));
        if has_range {
            let _exclusive = self.writers.write().unwrap_or_else(|p| p.into_inner());
            for ((cf, key), value) in self.effects(batch)? {
                let ks = &self.keyspaces[cf];
                match value {
                    Some(v) => fb.insert(ks, stored(&key), v),
                    None => fb.remove(ks, stored(&key)),
                }
            }
            self.commit(fb, durability)
        } else {
            let _shared = self.writers.read().unwrap_or_else(|p| p.into_inner());
            for (cf, key, value) in Self::last_writes(batch) {
                let ks = &self.keyspaces[cf];
                match value {
                    Some(v) => fb.insert(ks, stored(key), v),
                    None => fb.remove(ks, stored(key)),
                }
            }
            self.commit(fb, durability)
        }
    }

    /// Seals every keyspace's memtable and waits until fjall has written
    /// them to tables.
    fn flush(&self) -> Result<()> {
        for ks in &self.keyspaces {
            ks.rotate_memtable_and_wait().map_err(map_error)?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.db.persist(PersistMode::SyncAll).map_err(map_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored key layout, pinned (docs/FORMAT.md, "fjall").
    #[test]
    fn stored_keys_are_the_prefix_then_the_key() {
        assert_eq!(stored(b"").as_ref(), [0x00]);
        assert_eq!(stored(&[0x01, 0xff]).as_ref(), [0x00, 0x01, 0xff]);
        let long = vec![7u8; 40];
        let s = stored(&long);
        assert_eq!(s.len(), 41);
        assert_eq!(user_key(&s).ok(), Some(&long[..]));
        assert!(user_key(&[0x01, 0x02]).is_err());
        assert!(user_key(&[]).is_err());
    }
}
