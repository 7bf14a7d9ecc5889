//! The raw baselines: the very key and value bytes the graph layer writes
//! for the workload, built with `graph_core::codec` alone and written with
//! plain write batches.
//!
//! [`RawEncoder`] reproduces what one `GraphBatch` of the same nodes or
//! edges writes on a fresh store with one writer: node and edge records,
//! label-index keys, both adjacency keys of every edge, the symbol
//! dictionary entries of new labels and types, and the counters, in the
//! same order. Ids equal item indexes (what a fresh store hands out to one
//! writer). A unit test holds it to the graph layer, key for key.
//!
//! [`RawRocksDb`] opens RocksDB with exactly the options of the backend
//! ([`storage_rocksdb::rocksdb_options`]) and writes such batches with the
//! `rocksdb` crate, bypassing the graph layer and the backend trait.
//! [`RawFjall`] does the same with fjall: the backend's keyspaces and
//! options, and the bytes the backend stores (every key behind
//! [`storage_fjall::KEY_PREFIX`]), written with fjall's own write batches.
//! Both implement [`RawEngine`], which the harness drives.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Slice};
use graph_core::codec::{self, AdjacencyKey, SymbolId, meta};
use graph_core::{
    BatchOp, ColumnFamily, Edge, EdgeId, Node, NodeId, Result, Timestamp, WriteBatch,
};
use rocksdb::{DB, ReadOptions, WriteOptions};
use storage_fjall::{FjallConfig, KEY_PREFIX};
use storage_rocksdb::RocksDbConfig;

use crate::BoxResult;
use crate::workload::Workload;

/// Encodes workload items into write batches, byte for byte as the graph
/// layer would.
#[derive(Debug)]
pub struct RawEncoder {
    symbols: HashMap<&'static str, SymbolId>,
    next_symbol: u32,
    node_count: u64,
    edge_count: u64,
    now: Timestamp,
    scratch: Vec<u8>,
}

impl RawEncoder {
    /// An encoder for a fresh store; every record gets the time stamp
    /// `now` (the graph layer reads its clock; the encoded length is the
    /// same for any time of this century).
    pub fn new(now: Timestamp) -> Self {
        RawEncoder {
            symbols: HashMap::new(),
            next_symbol: 0,
            node_count: 0,
            edge_count: 0,
            now,
            scratch: Vec::with_capacity(256),
        }
    }

    fn intern(&mut self, name: &'static str, batch: &mut WriteBatch) -> SymbolId {
        if let Some(id) = self.symbols.get(name) {
            return *id;
        }
        let id = SymbolId(self.next_symbol);
        self.next_symbol += 1;
        batch.put(
            ColumnFamily::Default,
            &meta::symbol_by_name(name),
            &id.0.to_be_bytes(),
        );
        batch.put(
            ColumnFamily::Default,
            &meta::symbol_by_id(id),
            name.as_bytes(),
        );
        self.symbols.insert(name, id);
        id
    }

    /// Appends the writes of one batch creating nodes `range` (ids equal
    /// to indexes).
    ///
    /// # Errors
    /// Encoding errors (none for this workload).
    pub fn nodes(&mut self, w: &Workload, range: Range<u64>, batch: &mut WriteBatch) -> Result<()> {
        let first_symbol = self.next_symbol;
        for i in range {
            let s = w.node(i);
            let node = Node {
                id: NodeId(i),
                labels: vec![s.label().into()],
                properties: s.properties(),
                created_at: self.now,
                updated_at: self.now,
            };
            self.scratch.clear();
            codec::encode_node(&node, &mut self.scratch)?;
            batch.put(
                ColumnFamily::Nodes,
                &codec::node_key(node.id),
                &self.scratch,
            );
            let sym = self.intern(s.label(), batch);
            batch.put(ColumnFamily::Indices, &codec::label_key(sym, node.id), &[]);
            self.node_count += 1;
        }
        batch.put(
            ColumnFamily::Default,
            meta::NODE_COUNT,
            &self.node_count.to_be_bytes(),
        );
        self.put_next_symbol(first_symbol, batch);
        Ok(())
    }

    /// Appends the writes of one batch creating edges `range` (edge ids
    /// equal to indexes, endpoints equal to node indexes).
    ///
    /// # Errors
    /// Encoding errors (none for this workload).
    pub fn edges(&mut self, w: &Workload, range: Range<u64>, batch: &mut WriteBatch) -> Result<()> {
        let first_symbol = self.next_symbol;
        for i in range {
            let s = w.edge(i);
            let edge = Edge {
                id: EdgeId(i),
                src: NodeId(s.src),
                dst: NodeId(s.dst),
                edge_type: s.edge_type().to_owned(),
                properties: s.properties(),
                created_at: self.now,
                updated_at: self.now,
            };
            self.scratch.clear();
            codec::encode_edge(&edge, &mut self.scratch)?;
            batch.put(
                ColumnFamily::Edges,
                &codec::edge_key(edge.id),
                &self.scratch,
            );
            let ty = self.intern(s.edge_type(), batch);
            batch.put(
                ColumnFamily::Indices,
                &AdjacencyKey::outgoing(edge.src, ty, edge.dst, edge.id).encode(),
                &[],
            );
            batch.put(
                ColumnFamily::Indices,
                &AdjacencyKey::incoming(edge.dst, ty, edge.src, edge.id).encode(),
                &[],
            );
            self.edge_count += 1;
        }
        batch.put(
            ColumnFamily::Default,
            meta::EDGE_COUNT,
            &self.edge_count.to_be_bytes(),
        );
        self.put_next_symbol(first_symbol, batch);
        Ok(())
    }

    fn put_next_symbol(&self, first: u32, batch: &mut WriteBatch) {
        if self.next_symbol != first {
            batch.put(
                ColumnFamily::Default,
                meta::NEXT_SYMBOL_ID,
                &self.next_symbol.to_be_bytes(),
            );
        }
    }
}

/// A storage engine driven directly by a raw baseline, beneath the
/// backend trait: writes of encoded batches, and the reads the harness
/// holds the backends' reads against.
pub trait RawEngine {
    /// Writes `batch` as one engine write batch; `sync` fsyncs the log
    /// before returning (what `Durability::Strict` does).
    ///
    /// # Errors
    /// The engine's write errors, or an operation the baseline does not
    /// write (fjall: a delete-range).
    fn write(&self, batch: &WriteBatch, sync: bool) -> BoxResult<()>;

    /// The length of the value at `key` in `cf`, read without copying it
    /// out of the engine; `None` if absent.
    ///
    /// # Errors
    /// The engine's read errors.
    fn value_len(&self, cf: ColumnFamily, key: &[u8]) -> BoxResult<Option<usize>>;

    /// Visits every pair of `cf` whose key starts with `prefix` and returns
    /// how many there were (keys and values are read, not copied).
    ///
    /// # Errors
    /// The engine's read errors.
    fn count_prefix(&self, cf: ColumnFamily, prefix: &[u8]) -> BoxResult<u64>;

    /// Writes every memtable to table files and waits for it.
    ///
    /// # Errors
    /// The engine's flush errors.
    fn flush(&self) -> BoxResult<()>;
}

/// A RocksDB database opened with the `rocksdb` crate directly, with the
/// backend's exact database and column-family options.
pub struct RawRocksDb {
    db: DB,
}

impl std::fmt::Debug for RawRocksDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRocksDb")
            .field("path", &self.db.path())
            .finish()
    }
}

impl RawRocksDb {
    /// Creates (or opens) the database at `path` with the options
    /// `storage-rocksdb` uses for `config`.
    ///
    /// # Errors
    /// RocksDB's open errors.
    pub fn open(path: &Path, config: &RocksDbConfig) -> BoxResult<Self> {
        let (opts, cfs) = storage_rocksdb::rocksdb_options(config, true);
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(RawRocksDb { db })
    }

    /// Creates the database at `path` with the backend's options for
    /// `config` except `without` (see [`storage_rocksdb::Ablation`]).
    ///
    /// # Errors
    /// RocksDB's open errors.
    pub fn open_without(
        path: &Path,
        config: &RocksDbConfig,
        without: storage_rocksdb::Ablation,
    ) -> BoxResult<Self> {
        let (opts, cfs) = storage_rocksdb::rocksdb_options_without(config, true, without);
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(RawRocksDb { db })
    }

    fn handle(&self, cf: ColumnFamily) -> BoxResult<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(cf.name())
            .ok_or_else(|| format!("column family {cf} is not open").into())
    }

    /// The value at `key` in `cf`, or `None`.
    ///
    /// # Errors
    /// RocksDB's read errors.
    pub fn get(&self, cf: ColumnFamily, key: &[u8]) -> BoxResult<Option<Vec<u8>>> {
        Ok(self
            .db
            .get_pinned_cf(self.handle(cf)?, key)?
            .map(|v| v.to_vec()))
    }
}

impl RawEngine for RawRocksDb {
    fn write(&self, batch: &WriteBatch, sync: bool) -> BoxResult<()> {
        let handles = [
            self.handle(ColumnFamily::Default)?,
            self.handle(ColumnFamily::Nodes)?,
            self.handle(ColumnFamily::Edges)?,
            self.handle(ColumnFamily::Indices)?,
        ];
        let mut wb = rocksdb::WriteBatch::with_capacity_bytes(batch.data_size() + batch.len() * 16);
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => wb.put_cf(handles[cf.index()], key, value),
                BatchOp::Delete { cf, key } => wb.delete_cf(handles[cf.index()], key),
                BatchOp::DeleteRange { cf, start, end } => {
                    wb.delete_range_cf(handles[cf.index()], start, end);
                }
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(wb, &wo)?;
        Ok(())
    }

    fn value_len(&self, cf: ColumnFamily, key: &[u8]) -> BoxResult<Option<usize>> {
        Ok(self
            .db
            .get_pinned_cf(self.handle(cf)?, key)?
            .map(|v| v.len()))
    }

    /// Bounded to the prefix, with a prefix seek in `indices` (whose
    /// extractor covers an adjacency prefix), as the backend scans it.
    fn count_prefix(&self, cf: ColumnFamily, prefix: &[u8]) -> BoxResult<u64> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(prefix.to_vec());
        if let Some(end) = graph_core::prefix_end(prefix) {
            ro.set_iterate_upper_bound(end);
        }
        ro.set_total_order_seek(cf != ColumnFamily::Indices);
        let mut it = self.db.raw_iterator_cf_opt(self.handle(cf)?, ro);
        it.seek_to_first();
        let mut n = 0u64;
        while let (Some(_), Some(_)) = (it.key(), it.value()) {
            n += 1;
            it.next();
        }
        it.status()?;
        Ok(n)
    }

    fn flush(&self) -> BoxResult<()> {
        let handles: Vec<_> = ColumnFamily::ALL
            .iter()
            .map(|cf| self.handle(*cf))
            .collect::<BoxResult<_>>()?;
        self.db
            .flush_cfs_opt(&handles, &rocksdb::FlushOptions::default())?;
        Ok(())
    }
}

/// A fjall database opened with `fjall` directly, with the backend's
/// keyspaces and options ([`FjallConfig`]: cache size, worker threads,
/// memtable size), storing what the backend stores: each key behind
/// [`KEY_PREFIX`]. There is no background fsync thread: unsynced writes
/// are handed to the operating system ([`PersistMode::Buffer`]) and left
/// there, as RocksDB's unsynced WAL writes are.
pub struct RawFjall {
    db: Database,
    keyspaces: [Keyspace; 4],
    /// The stored form of the key being written or read.
    scratch: RefCell<Vec<u8>>,
}

impl std::fmt::Debug for RawFjall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawFjall").finish_non_exhaustive()
    }
}

impl RawFjall {
    /// Creates (or opens) the database at `path` with the keyspaces and
    /// options `storage-fjall` uses for `config`.
    ///
    /// # Errors
    /// fjall's open errors.
    pub fn open(path: &Path, config: &FjallConfig) -> BoxResult<Self> {
        let db = Database::builder(path)
            .cache_size(config.cache_bytes)
            .worker_threads(config.worker_threads)
            .open()?;
        let memtable = config.memtable_bytes;
        let open = |cf: ColumnFamily| {
            db.keyspace(cf.name(), || {
                KeyspaceCreateOptions::default().max_memtable_size(memtable)
            })
        };
        let keyspaces = [
            open(ColumnFamily::Default)?,
            open(ColumnFamily::Nodes)?,
            open(ColumnFamily::Edges)?,
            open(ColumnFamily::Indices)?,
        ];
        Ok(RawFjall {
            db,
            keyspaces,
            scratch: RefCell::new(Vec::with_capacity(64)),
        })
    }

    /// [`KEY_PREFIX`] then `key`, as the backend stores it.
    fn stored(&self, key: &[u8]) -> Slice {
        let mut s = self.scratch.borrow_mut();
        s.clear();
        s.push(KEY_PREFIX);
        s.extend_from_slice(key);
        Slice::from(s.as_slice())
    }
}

impl RawEngine for RawFjall {
    fn write(&self, batch: &WriteBatch, sync: bool) -> BoxResult<()> {
        let mode = if sync {
            PersistMode::SyncAll
        } else {
            PersistMode::Buffer
        };
        let mut fb = self.db.batch().durability(Some(mode));
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    fb.insert(&self.keyspaces[cf.index()], self.stored(key), value);
                }
                BatchOp::Delete { cf, key } => {
                    fb.remove(&self.keyspaces[cf.index()], self.stored(key));
                }
                BatchOp::DeleteRange { .. } => {
                    return Err("the raw fjall baseline writes no delete-range".into());
                }
            }
        }
        fb.commit()?;
        Ok(())
    }

    fn value_len(&self, cf: ColumnFamily, key: &[u8]) -> BoxResult<Option<usize>> {
        Ok(self.keyspaces[cf.index()]
            .get(self.stored(key))?
            .map(|v| v.len()))
    }

    fn count_prefix(&self, cf: ColumnFamily, prefix: &[u8]) -> BoxResult<u64> {
        let mut n = 0u64;
        for guard in self.keyspaces[cf.index()].prefix(self.stored(prefix)) {
            guard.into_inner()?;
            n += 1;
        }
        Ok(n)
    }

    fn flush(&self) -> BoxResult<()> {
        for ks in &self.keyspaces {
            ks.rotate_memtable_and_wait()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use graph_core::{KeyRange, ReadView, ScanDirection};
    use graph_storage::{GraphStore, MemoryBackend};
    use storage_memory::MemoryBackend as RawMemory;

    use super::*;
    use crate::BoxResult;

    fn dump(view: &impl ReadView) -> BoxResult<Vec<(ColumnFamily, Vec<u8>, usize)>> {
        let mut out = Vec::new();
        for cf in ColumnFamily::ALL {
            view.scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
                out.push((cf, k.to_vec(), v.len()));
                Ok(ControlFlow::Continue(()))
            })?;
        }
        Ok(out)
    }

    /// The raw encoder writes the same keys, and values of the same length,
    /// as the graph layer (time stamps aside).
    #[test]
    fn raw_bytes_match_the_graph_layer() -> BoxResult<()> {
        use graph_core::StorageBackend;
        let w = Workload::new(300, 900, 5, 1.0)?;
        let store = GraphStore::open(MemoryBackend::new())?;
        let raw = RawMemory::new();
        raw.put(
            ColumnFamily::Default,
            meta::FORMAT_VERSION,
            &codec::FORMAT_VERSION.to_be_bytes(),
            graph_core::Durability::Strict,
        )?;
        raw.put(
            ColumnFamily::Default,
            meta::CREATED_BY,
            graph_storage::LIBRARY_VERSION.as_bytes(),
            graph_core::Durability::Strict,
        )?;
        let mut enc = RawEncoder::new(Timestamp(1_764_000_000_000_000));
        for (start, end) in [(0, 100), (100, 300)] {
            let mut b = store.batch();
            for i in start..end {
                let s = w.node(i);
                b.create_node(&[s.label()], s.properties())?;
            }
            b.commit()?;
            let mut wb = WriteBatch::new();
            enc.nodes(&w, start..end, &mut wb)?;
            raw.write(&wb, graph_core::Durability::Strict)?;
        }
        for (start, end) in [(0, 400), (400, 900)] {
            let mut b = store.batch();
            for i in start..end {
                let s = w.edge(i);
                b.create_edge(NodeId(s.src), NodeId(s.dst), s.edge_type(), s.properties())?;
            }
            b.commit()?;
            let mut wb = WriteBatch::new();
            enc.edges(&w, start..end, &mut wb)?;
            raw.write(&wb, graph_core::Durability::Strict)?;
        }
        let mut graph = dump(store.backend())?;
        // The id leases are the graph layer's own bookkeeping.
        graph.retain(|(cf, k, _)| {
            !(*cf == ColumnFamily::Default
                && (k.as_slice() == meta::NEXT_NODE_ID || k.as_slice() == meta::NEXT_EDGE_ID))
        });
        assert_eq!(graph, dump(&raw)?);
        Ok(())
    }
}
