//! # storage-memory: the reference backend
//!
//! [`MemoryBackend`] implements [`StorageBackend`] on one ordered map per
//! column family. It is the oracle the other backends are held to, so it
//! prefers obviously-correct over clever:
//!
//! * All four maps live in one [`Tables`] value behind one lock, so a batch
//!   is applied to all column families under a single write lock: atomic by
//!   construction, since applying an operation cannot fail.
//! * A snapshot is an [`Arc`] of the tables. Writers copy the tables on
//!   write ([`Arc::make_mut`]) only while a snapshot or a scan still holds
//!   the old version; the cost of that copy is proportional to the store's
//!   size, so keep snapshots short-lived on large stores.
//! * Scans run on such a frozen version, without holding the lock, so a
//!   visitor may call back into the backend without deadlocking.
//!
//! Nothing is persisted: both [`Durability`] modes behave alike, and
//! [`flush`](StorageBackend::flush) and [`sync`](StorageBackend::sync) do
//! nothing. Dropping the backend drops the data.
//!
//! ```
//! use graph_core::{ColumnFamily, Durability, ReadView, StorageBackend};
//! use storage_memory::MemoryBackend;
//!
//! let backend = MemoryBackend::new();
//! backend.put(ColumnFamily::Nodes, b"k", b"v", Durability::Strict)?;
//! assert_eq!(backend.get(ColumnFamily::Nodes, b"k")?, Some(b"v".to_vec()));
//! # Ok::<(), graph_core::Error>(())
//! ```

#![deny(
    clippy::big_endian_bytes,
    clippy::little_endian_bytes,
    clippy::host_endian_bytes
)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock};

use graph_core::{
    BatchOp, BulkSink, ColumnFamily, Durability, KeyRange, MultiValueVisitor, ReadView, Result,
    ScanDirection, StorageBackend, ValueVisitor, Visitor, WriteBatch,
};

type Table = BTreeMap<Box<[u8]>, Box<[u8]>>;

/// The four ordered maps of one version of the store.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    maps: [Table; 4],
}

impl Tables {
    fn table(&self, cf: ColumnFamily) -> &Table {
        &self.maps[cf.index()]
    }

    fn apply(&mut self, batch: &WriteBatch) {
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    self.maps[cf.index()].insert(key.into(), value.into());
                }
                BatchOp::Delete { cf, key } => {
                    self.maps[cf.index()].remove(key);
                }
                BatchOp::DeleteRange { cf, start, end } => {
                    if start < end {
                        let table = &mut self.maps[cf.index()];
                        let mut tail = table.split_off(start);
                        let mut kept = tail.split_off(end);
                        table.append(&mut kept);
                    }
                }
            }
        }
    }

    /// The number of keys in `cf`.
    pub fn len(&self, cf: ColumnFamily) -> usize {
        self.table(cf).len()
    }

    /// Whether all four column families are empty.
    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(BTreeMap::is_empty)
    }
}

impl ReadView for Tables {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.table(cf).get(key).map(|v| v.to_vec()))
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        f(self.table(cf).get(key).map(|v| &**v))
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
        let end = range.end.map_or(Bound::Unbounded, Bound::Excluded);
        let iter = self
            .table(cf)
            .range::<[u8], _>((Bound::Included(range.start), end));
        match direction {
            ScanDirection::Forward => visit_all(iter, visit),
            ScanDirection::Reverse => visit_all(iter.rev(), visit),
        }
    }
}

/// Feeds pairs to the visitor until it breaks or fails.
fn visit_all<'t>(
    pairs: impl Iterator<Item = (&'t Box<[u8]>, &'t Box<[u8]>)>,
    visit: &mut Visitor<'_>,
) -> Result<()> {
    for (k, v) in pairs {
        if visit(k, v)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// The in-memory reference backend. Cheap to create; `Send + Sync`.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: RwLock<Arc<Tables>>,
}

/// The memory backend's [`BulkSink`] (see [`MemoryBackend::bulk_sink`]).
#[derive(Debug)]
pub struct MemoryBulkSink {
    tables: Tables,
}

impl BulkSink for MemoryBulkSink {
    type Backend = MemoryBackend;

    fn put(&mut self, cf: ColumnFamily, key: &[u8], value: &[u8]) -> Result<()> {
        let table = &mut self.tables.maps[cf.index()];
        if let Some((last, _)) = table.last_key_value()
            && **last >= *key
        {
            return Err(graph_core::Error::invalid(format!(
                "bulk keys of {cf} must ascend: {key:02x?} after {last:02x?}"
            )));
        }
        table.insert(key.into(), value.into());
        Ok(())
    }

    fn commit(self) -> Result<MemoryBackend> {
        Ok(MemoryBackend {
            state: RwLock::new(Arc::new(self.tables)),
        })
    }
}

/// A frozen version of a [`MemoryBackend`]: cheap to clone and to keep.
#[derive(Debug, Clone)]
pub struct MemorySnapshot(Arc<Tables>);

impl MemorySnapshot {
    /// The frozen tables.
    pub fn tables(&self) -> &Tables {
        &self.0
    }
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink that bulk-creates a new store ([`BulkSink`]): entries are
    /// collected and become a store at [`commit`](BulkSink::commit), all at
    /// once; a sink dropped before that leaves nothing.
    pub fn bulk_sink() -> MemoryBulkSink {
        MemoryBulkSink {
            tables: Tables::default(),
        }
    }

    /// The current version of the tables (what a snapshot holds).
    fn current(&self) -> MemorySnapshot {
        MemorySnapshot(Arc::clone(
            &self.state.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl ReadView for MemorySnapshot {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(cf, key)
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        self.0.get_with(cf, key, f)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        self.0.scan(cf, range, direction, visit)
    }
}

impl ReadView for MemoryBackend {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let guard = self.state.read().unwrap_or_else(PoisonError::into_inner);
        guard.get(cf, key)
    }

    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        let guard = self.state.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter().map(|k| guard.get(cf, k)).collect()
    }

    /// Calls `f` under the read lock, with the value borrowed from the map.
    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        let guard = self.state.read().unwrap_or_else(PoisonError::into_inner);
        guard.get_with(cf, key, f)
    }

    /// Calls `f` under one read lock, with values borrowed from the map.
    fn multi_get_with(
        &self,
        cf: ColumnFamily,
        keys: &[&[u8]],
        f: &mut MultiValueVisitor<'_>,
    ) -> Result<()> {
        let guard = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let table = guard.table(cf);
        for (i, k) in keys.iter().enumerate() {
            f(i, table.get(*k).map(|v| &**v))?;
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
        self.current().scan(cf, range, direction, visit)
    }
}

impl StorageBackend for MemoryBackend {
    type Snapshot<'a> = MemorySnapshot;

    fn snapshot(&self) -> MemorySnapshot {
        self.current()
    }

    fn write(&self, batch: &WriteBatch, _durability: Durability) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        Arc::make_mut(&mut guard).apply(batch);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_is_frozen_and_writer_copies_on_write() -> Result<()> {
        let b = MemoryBackend::new();
        b.put(ColumnFamily::Nodes, b"a", b"1", Durability::Strict)?;
        let snap = b.snapshot();
        b.put(ColumnFamily::Nodes, b"a", b"2", Durability::Strict)?;
        b.delete_range(ColumnFamily::Nodes, b"a", b"b", Durability::Strict)?;
        assert_eq!(snap.get(ColumnFamily::Nodes, b"a")?, Some(b"1".to_vec()));
        assert_eq!(b.get(ColumnFamily::Nodes, b"a")?, None);
        Ok(())
    }

    #[test]
    fn inverted_delete_range_deletes_nothing() -> Result<()> {
        let b = MemoryBackend::new();
        b.put(ColumnFamily::Edges, b"m", b"1", Durability::Strict)?;
        b.delete_range(ColumnFamily::Edges, b"z", b"a", Durability::Strict)?;
        assert_eq!(b.get(ColumnFamily::Edges, b"m")?, Some(b"1".to_vec()));
        Ok(())
    }
}
