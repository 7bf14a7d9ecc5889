//! Id allocation: monotonic, never reused, also across restarts and
//! crashes.
//!
//! Ids are handed out from an in-memory counter within a *lease*: a
//! high-water mark persisted (synced) in `default` before any id below it is
//! handed out. Reopening starts at the persisted mark, so an id is never
//! handed out twice, even if the batch that reserved it failed or was never
//! committed. Leases are aligned blocks of [`ID_BLOCK`] ids, so ingestion
//! pays one synced write per block; a restart skips the rest of the block.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use graph_core::codec;
use graph_core::{ColumnFamily, Durability, Error, Result, StorageBackend};

/// How many ids one lease covers.
pub const ID_BLOCK: u64 = 1 << 16;

/// One id sequence (nodes or edges).
#[derive(Debug)]
pub(crate) struct IdAllocator {
    next: AtomicU64,
    leased: AtomicU64,
    lock: Mutex<()>,
    key: &'static [u8],
}

impl IdAllocator {
    /// Continues after `persisted`, the mark read from `key`.
    pub(crate) fn new(key: &'static [u8], persisted: u64) -> Self {
        IdAllocator {
            next: AtomicU64::new(persisted),
            leased: AtomicU64::new(persisted),
            lock: Mutex::new(()),
            key,
        }
    }

    /// Hands out the next id, first persisting a new lease if needed.
    ///
    /// # Errors
    /// The backend's write error when a new lease cannot be persisted (the
    /// id is then not handed out); invalid argument when ids run out.
    pub(crate) fn allocate(&self, backend: &impl StorageBackend) -> Result<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lease(id, backend)?;
        Ok(id)
    }

    /// Marks an id chosen by the caller as used: it will never be handed
    /// out, also after a restart.
    ///
    /// # Errors
    /// As [`allocate`](Self::allocate).
    pub(crate) fn claim(&self, id: u64, backend: &impl StorageBackend) -> Result<()> {
        let after = id
            .checked_add(1)
            .ok_or_else(|| Error::invalid("ids exhausted"))?;
        self.next.fetch_max(after, Ordering::Relaxed);
        self.lease(id, backend)
    }

    /// Makes sure the persisted lease covers `id`.
    fn lease(&self, id: u64, backend: &impl StorageBackend) -> Result<()> {
        if id < self.leased.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if id < self.leased.load(Ordering::Acquire) {
            return Ok(());
        }
        let mark = (id / ID_BLOCK)
            .checked_add(1)
            .and_then(|b| b.checked_mul(ID_BLOCK))
            .ok_or_else(|| Error::invalid("ids exhausted"))?;
        backend.put(
            ColumnFamily::Default,
            self.key,
            &codec::encode_u64_value(mark),
            Durability::Strict,
        )?;
        self.leased.store(mark, Ordering::Release);
        Ok(())
    }
}
