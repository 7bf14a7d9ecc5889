//! Bulk loading: a whole new store from a stream of nodes and edges, at the
//! speed of sorted writes, in bounded memory, all or nothing.
//!
//! [`BulkLoader`] assigns ids (0, 1, 2, ... as a new store's batches would),
//! encodes every record and every derived entry exactly as the normal
//! creation path does (same codec calls, same symbol numbering in order of
//! first use, same time stamps from the clock, one reading per creation,
//! same counts, id leases and metadata), and hands them to a [`BulkSink`]:
//! node and edge records go straight through (their keys ascend with the
//! ids), index, adjacency and external-id entries go through an external
//! sort ([`sort`](crate::sort)) bounded by [`BulkOptions::memory_budget`].
//! The sink makes the store visible at once at the end
//! ([`BulkSink::commit`]): RocksDB writes SST files and ingests them into
//! the bottom level in a staging directory renamed into place; the memory
//! backend builds its maps. A load that fails, is dropped or killed leaves
//! no store.
//!
//! ```
//! # #[cfg(feature = "memory")] {
//! use graph_storage::bulk::{BulkLoader, BulkOptions};
//! use graph_storage::{GraphStore, MemoryBackend, Properties};
//!
//! let spill = std::env::temp_dir();
//! let mut loader = BulkLoader::new(MemoryBackend::bulk_sink(), BulkOptions::new(&spill))?;
//! let a = loader.add_node(&["Person"], &Properties::new())?;
//! let b = loader.add_node(&["Person"], &Properties::new())?;
//! loader.add_edge(a, b, "KNOWS", &Properties::new())?;
//! let (backend, summary) = loader.finish(&mut |_| {})?;
//! assert_eq!((summary.nodes, summary.edges), (2, 1));
//! let store = GraphStore::open(backend)?;
//! assert!(store.verify()?.is_clean());
//! # }
//! # Ok::<(), graph_storage::Error>(())
//! ```

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use graph_core::codec::{self, EdgeParts, IndexDef, IndexId, SymbolId, meta};
use graph_core::{
    BulkSink, ColumnFamily, CompactString, EdgeId, Error, NodeId, Properties, Result,
};

use crate::catalog::{Catalog, allocate_symbol, symbol_entries};
use crate::clock::{Clock, SystemClock};
use crate::ids::ID_BLOCK;
use crate::implied::{edge_entries, node_entries};
use crate::sort::Sorter;
use crate::store::LIBRARY_VERSION;
use crate::txn::{normalize_labels, validate_name};

/// How a bulk load runs.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Property indexes (label, property) declared before any data, in
    /// this order (as `create_index` calls on a new store would).
    pub indexes: Vec<(String, String)>,
    /// Bytes of sort buffers held in memory (default 256 MiB); beyond
    /// them, sorted runs are spilled to [`spill_dir`](Self::spill_dir).
    /// The loader's own memory stays near this bound whatever the input
    /// size; the sink's (RocksDB's SST writers) comes on top.
    pub memory_budget: usize,
    /// Where sorted runs are spilled (a directory the loader creates its
    /// own subdirectory `graph-storage-bulk-<pid>-<n>` in, removed at the
    /// end; those of killed loads are removed by the next load). Needs room
    /// for about the size of the index entries (some 75 bytes per edge).
    pub spill_dir: PathBuf,
    /// Where `created_at`/`updated_at` come from.
    pub clock: Arc<dyn Clock>,
}

impl BulkOptions {
    /// Default options spilling into `spill_dir`.
    pub fn new(spill_dir: &Path) -> Self {
        BulkOptions {
            indexes: Vec::new(),
            memory_budget: 256 << 20,
            spill_dir: spill_dir.to_path_buf(),
            clock: Arc::new(SystemClock),
        }
    }

    /// These options with an index on (`label`, `property`).
    pub fn index(mut self, label: &str, property: &str) -> Self {
        self.indexes.push((label.to_owned(), property.to_owned()));
        self
    }

    /// These options with another clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// These options with another memory budget.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }
}

/// The phases of a bulk load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkPhase {
    /// Nodes and edges are added (records written, index entries sorted
    /// into runs).
    Read,
    /// The sorted runs are merged and written to the sink.
    Write,
    /// The sink makes the store visible (RocksDB: ingestion and rename).
    Commit,
}

/// Progress reported by [`BulkLoader::finish`].
#[derive(Debug, Clone, Copy)]
pub struct BulkProgress {
    /// The phase.
    pub phase: BulkPhase,
    /// Derived entries written so far in this phase.
    pub entries: u64,
    /// Derived entries to write in all (index, adjacency, metadata).
    pub total: u64,
}

/// What a bulk load did.
#[derive(Debug, Clone, Default)]
pub struct BulkSummary {
    /// Nodes loaded.
    pub nodes: u64,
    /// Edges loaded.
    pub edges: u64,
    /// Entries written in all four column families.
    pub entries: u64,
    /// Sorted runs spilled to disk.
    pub spilled_runs: usize,
    /// Bytes spilled to disk.
    pub spilled_bytes: u64,
    /// Seconds merging sorted entries into the sink.
    pub write_seconds: f64,
    /// Seconds of the sink's commit.
    pub commit_seconds: f64,
}

/// Removes the spill directory when the load ends, however it ends.
struct SpillDir(PathBuf);

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The spill directory name prefix; the rest is `<pid>-<n>`.
const SPILL_PREFIX: &str = "graph-storage-bulk-";

/// Removes the spill directories of loads whose process is gone (killed
/// loads cannot clean up after themselves). Linux: a process is alive while
/// `/proc/<pid>` exists; elsewhere nothing is removed. Best effort.
fn remove_stale_spills(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SPILL_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The id of a label or edge type, numbered in order of first use as the
/// normal path numbers new symbols.
///
/// # Errors
/// As [`allocate_symbol`] when the ids are exhausted.
fn intern(
    symbols: &mut FxHashMap<String, SymbolId>,
    names: &mut Vec<String>,
    name: &str,
) -> Result<SymbolId> {
    if let Some(id) = symbols.get(name) {
        return Ok(*id);
    }
    // `names` holds every symbol numbered so far, ids 0 to len - 1.
    let mut next = u32::try_from(names.len()).unwrap_or(u32::MAX);
    let id = allocate_symbol(&mut next)?;
    symbols.insert(name.to_owned(), id);
    names.push(name.to_owned());
    Ok(id)
}

/// Where an entry of a new record goes: records straight to the sink
/// (their keys ascend with the ids), index and adjacency entries to the
/// sort.
fn route<S: BulkSink>(
    cf: ColumnFamily,
    key: &[u8],
    value: &[u8],
    sink: &mut S,
    indices: &mut Sorter,
    entries: &mut u64,
) -> Result<()> {
    if cf == ColumnFamily::Indices {
        indices.push(key, value)
    } else {
        *entries += 1;
        sink.put(cf, key, value)
    }
}

/// Loads a new store in bulk (see the module docs).
pub struct BulkLoader<S: BulkSink> {
    sink: S,
    clock: Arc<dyn Clock>,
    catalog: Catalog,
    index_defs: Vec<(IndexId, IndexDef)>,
    symbols: FxHashMap<String, SymbolId>,
    symbol_names: Vec<String>,
    next_node: u64,
    next_edge: u64,
    indices: Sorter,
    externals: Sorter,
    entries: u64,
    scratch: Vec<u8>,
    labels: Vec<CompactString>,
    // Declared last: dropped after the sorters, whose files it holds.
    _spill: SpillDir,
}

impl<S: BulkSink> BulkLoader<S> {
    /// A loader writing into `sink`.
    ///
    /// # Errors
    /// Invalid index names; I/O errors creating the spill directory.
    pub fn new(sink: S, opts: BulkOptions) -> Result<Self> {
        let mut catalog = Catalog::default();
        let mut index_defs = Vec::new();
        for (i, (label, property)) in opts.indexes.iter().enumerate() {
            validate_name("labels", label)?;
            validate_name("property keys", property)?;
            if catalog.find(label, property).is_some() {
                return Err(Error::Constraint(graph_core::Constraint::IndexExists {
                    label: label.clone(),
                    property: property.clone(),
                }));
            }
            let id = IndexId(u32::try_from(i).map_err(|_| Error::invalid("too many indexes"))?);
            let def = IndexDef {
                label: label.clone(),
                property: property.clone(),
            };
            catalog.insert(id, def.clone());
            index_defs.push((id, def));
        }
        remove_stale_spills(&opts.spill_dir);
        static LOADS: AtomicU64 = AtomicU64::new(0);
        let dir = opts.spill_dir.join(format!(
            "{SPILL_PREFIX}{}-{}",
            std::process::id(),
            LOADS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
            message: format!("cannot create the spill directory {}: {e}", dir.display()),
        })?;
        let budget = opts.memory_budget.max(1 << 20);
        Ok(BulkLoader {
            sink,
            clock: opts.clock,
            catalog,
            index_defs,
            symbols: FxHashMap::default(),
            symbol_names: Vec::new(),
            next_node: 0,
            next_edge: 0,
            // Index and adjacency entries outnumber external ids by far.
            indices: Sorter::new(budget / 8 * 7, &dir, "indices"),
            externals: Sorter::new(budget / 8, &dir, "external-ids"),
            entries: 0,
            scratch: Vec::with_capacity(256),
            labels: Vec::new(),
            _spill: SpillDir(dir),
        })
    }

    /// Adds a node and returns its id (the next one: 0, 1, 2, ...).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label or property key or too
    /// deep a value; sink and spill I/O errors (the load must then be
    /// dropped).
    pub fn add_node(&mut self, labels: &[&str], properties: &Properties) -> Result<NodeId> {
        self.labels.clear();
        self.labels
            .extend(labels.iter().map(|l| CompactString::new(l)));
        let labels = normalize_labels(std::mem::take(&mut self.labels))?;
        codec::value::validate_properties(properties)?;
        let id = NodeId(self.next_node);
        let now = self.clock.now();
        let (sink, indices, entries) = (&mut self.sink, &mut self.indices, &mut self.entries);
        let (symbols, names) = (&mut self.symbols, &mut self.symbol_names);
        node_entries(
            id,
            &labels,
            properties,
            now,
            |name| intern(symbols, names, name),
            &self.catalog,
            &mut self.scratch,
            |cf, k, v| route(cf, k, v, sink, indices, entries),
        )?;
        self.labels = labels;
        self.next_node += 1;
        Ok(id)
    }

    /// Adds an edge between two nodes added before and returns its id.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`] for an endpoint not added; invalid argument
    /// for an empty type or property key; sink and spill I/O errors.
    pub fn add_edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: &Properties,
    ) -> Result<EdgeId> {
        validate_name("edge types", edge_type)?;
        codec::value::validate_properties(properties)?;
        for end in [src, dst] {
            if end.0 >= self.next_node {
                return Err(Error::NodeNotFound(end));
            }
        }
        let ty = intern(&mut self.symbols, &mut self.symbol_names, edge_type)?;
        let id = EdgeId(self.next_edge);
        let now = self.clock.now();
        let edge = EdgeParts {
            id,
            src,
            dst,
            edge_type,
            properties,
            created_at: now,
            updated_at: now,
        };
        let (sink, indices, entries) = (&mut self.sink, &mut self.indices, &mut self.entries);
        edge_entries(edge, ty, &mut self.scratch, |cf, k, v| {
            route(cf, k, v, sink, indices, entries)
        })?;
        self.next_edge += 1;
        Ok(id)
    }

    /// Maps an external id to a node added before (see
    /// [`Mutation::MapExternalId`](crate::Mutation::MapExternalId)); a
    /// later mapping of the same external id replaces an earlier one.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; invalid argument for a space holding a NUL
    /// byte; spill I/O errors.
    pub fn map_external_id(&mut self, space: &str, external: &str, node: NodeId) -> Result<()> {
        if node.0 >= self.next_node {
            return Err(Error::NodeNotFound(node));
        }
        let key = meta::external_id(space, external)?;
        self.externals.push(&key, &codec::encode_u64_value(node.0))
    }

    /// Nodes added so far.
    pub fn nodes(&self) -> u64 {
        self.next_node
    }

    /// Edges added so far.
    pub fn edges(&self) -> u64 {
        self.next_edge
    }

    /// The metadata entries of the loaded store (`default`), as the normal
    /// path leaves them on a new store.
    fn metadata(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (
                meta::FORMAT_VERSION.to_vec(),
                codec::encode_u32_value(codec::FORMAT_VERSION).to_vec(),
            ),
            (
                meta::CREATED_BY.to_vec(),
                LIBRARY_VERSION.as_bytes().to_vec(),
            ),
        ];
        let lease = |next: u64| -> Result<Vec<u8>> {
            // The lease covering the last id handed out (ids.rs).
            let mark = ((next - 1) / ID_BLOCK)
                .checked_add(1)
                .and_then(|b| b.checked_mul(ID_BLOCK))
                .ok_or_else(|| Error::invalid("ids exhausted"))?;
            Ok(codec::encode_u64_value(mark).to_vec())
        };
        if self.next_node > 0 {
            out.push((meta::NEXT_NODE_ID.to_vec(), lease(self.next_node)?));
            out.push((
                meta::NODE_COUNT.to_vec(),
                codec::encode_u64_value(self.next_node).to_vec(),
            ));
        }
        if self.next_edge > 0 {
            out.push((meta::NEXT_EDGE_ID.to_vec(), lease(self.next_edge)?));
            out.push((
                meta::EDGE_COUNT.to_vec(),
                codec::encode_u64_value(self.next_edge).to_vec(),
            ));
        }
        if !self.symbol_names.is_empty() {
            let n = u32::try_from(self.symbol_names.len())
                .map_err(|_| Error::invalid("too many symbols"))?;
            out.push((
                meta::NEXT_SYMBOL_ID.to_vec(),
                codec::encode_u32_value(n).to_vec(),
            ));
        }
        for (i, name) in self.symbol_names.iter().enumerate() {
            let id = SymbolId(u32::try_from(i).map_err(|_| Error::invalid("too many symbols"))?);
            out.extend(symbol_entries(name, id));
        }
        if !self.index_defs.is_empty() {
            let n = u32::try_from(self.index_defs.len())
                .map_err(|_| Error::invalid("too many indexes"))?;
            out.push((
                meta::NEXT_INDEX_ID.to_vec(),
                codec::encode_u32_value(n).to_vec(),
            ));
        }
        for (id, def) in &self.index_defs {
            let mut v = Vec::new();
            codec::encode_index_def(def, &mut v)?;
            out.push((meta::index_def(*id).to_vec(), v));
        }
        Ok(out)
    }

    /// Writes the sorted entries and commits the sink: the store becomes
    /// visible, durably, at once. `progress` hears of the write and commit
    /// phases.
    ///
    /// # Errors
    /// Sort, sink and commit errors; the store is then not created.
    pub fn finish(
        mut self,
        progress: &mut dyn FnMut(&BulkProgress),
    ) -> Result<(S::Backend, BulkSummary)> {
        let mut summary = BulkSummary {
            nodes: self.next_node,
            edges: self.next_edge,
            ..BulkSummary::default()
        };
        let metadata = self.metadata()?;
        // External ids and metadata share `default`: merge them.
        for (k, v) in &metadata {
            self.externals.push(k, v)?;
        }
        let total = self.next_edge * 2 + self.next_node + metadata.len() as u64;
        let started = Instant::now();
        let indices =
            std::mem::replace(&mut self.indices, Sorter::new(0, &self._spill.0, "unused"));
        let externals = std::mem::replace(
            &mut self.externals,
            Sorter::new(0, &self._spill.0, "unused"),
        );
        summary.spilled_runs = indices.spilled_runs() + externals.spilled_runs();
        let mut written = 0u64;
        progress(&BulkProgress {
            phase: BulkPhase::Write,
            entries: 0,
            total,
        });
        for (cf, sorter) in [
            (ColumnFamily::Default, externals),
            (ColumnFamily::Indices, indices),
        ] {
            let (mut merge, spilled) = sorter.finish()?;
            summary.spilled_bytes += spilled;
            while let Some((k, v)) = merge.next_entry()? {
                self.sink.put(cf, k, v)?;
                written += 1;
                if written.is_multiple_of(1 << 20) {
                    progress(&BulkProgress {
                        phase: BulkPhase::Write,
                        entries: written,
                        total,
                    });
                }
            }
        }
        summary.entries = self.entries + written;
        summary.write_seconds = started.elapsed().as_secs_f64();
        progress(&BulkProgress {
            phase: BulkPhase::Commit,
            entries: written,
            total,
        });
        let started = Instant::now();
        let BulkLoader { sink, _spill, .. } = self;
        let backend = sink.commit()?;
        summary.commit_seconds = started.elapsed().as_secs_f64();
        drop(_spill);
        Ok((backend, summary))
    }
}
