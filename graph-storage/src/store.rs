//! [`GraphStore`]: the graph API over any [`StorageBackend`].

use std::ops::Bound;
use std::sync::Arc;

use graph_core::codec::{self, IndexDef, IndexId, meta};
use graph_core::{
    ColumnFamily, Constraint, Direction, Durability, Edge, EdgeId, Error, ErrorKind, KeyRange,
    Node, NodeId, NodeView, Precondition, Properties, PropertyValue, ReadView, Result,
    ScanDirection, StorageBackend, WriteBatch, prefix_end,
};

use crate::adjacency::{Adjacency, AdjacencyStatus, Column, EdgeValue, RamSource, default_budget};
use crate::batch::GraphBatch;
use crate::catalog::{Catalog, Symbols};
use crate::clock::{Clock, SystemClock};
use crate::known::KnownNodes;
use crate::mutation::Mutation;
use crate::pipeline::{CommitPipeline, Opened, WriterState};
use crate::read::{EdgeRef, GraphReader, IndexInfo};
use crate::transaction::{TRANSACTION_ATTEMPTS, Transaction};
use crate::txn::{Counters, validate_name};
use crate::verify::{AuditProgress, VerifyReport};

/// How a [`GraphStore`] writes, and what it holds in RAM.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The durability of every commit (default [`Durability::Strict`]).
    pub durability: Durability,
    /// Where `created_at` and `updated_at` come from (default
    /// [`SystemClock`]).
    pub clock: Arc<dyn Clock>,
    /// Whether the adjacency is held in RAM (default on; see
    /// [`GraphStore::adjacency_status`]).
    pub adjacency: bool,
    /// The most bytes the adjacency in RAM may hold (default a quarter of
    /// the machine's memory, 1 GiB where that cannot be read). A store
    /// whose adjacency needs more is read from the engine.
    pub adjacency_budget: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Strict,
            clock: Arc::new(SystemClock),
            adjacency: true,
            adjacency_budget: default_budget(),
        }
    }
}

impl StoreOptions {
    /// These options with another durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// These options with another clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// These options with the adjacency in RAM on or off.
    pub fn adjacency(mut self, on: bool) -> Self {
        self.adjacency = on;
        self
    }

    /// These options with another budget for the adjacency in RAM, in
    /// bytes.
    pub fn adjacency_budget(mut self, bytes: u64) -> Self {
        self.adjacency_budget = bytes;
        self
    }
}

/// A property graph stored in a [`StorageBackend`].
///
/// Every mutation is one atomic write batch holding the record, its
/// label-index and property-index entries, adjacency on both ends and the
/// updated counts. Commits are serialized by a writer lock; reads never
/// take it. `GraphStore` is `Send + Sync`: share it with an `Arc`.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use graph_storage::{Direction, GraphStore, MemoryBackend, Properties};
///
/// let store = GraphStore::open(MemoryBackend::new())?;
/// let ann = store.create_node(&["Person"], Properties::from([("name", "Ann".into())]))?;
/// let bob = store.create_node(&["Person"], Properties::new())?;
/// let knows = store.create_edge(ann, bob, "KNOWS", Properties::new())?;
/// assert_eq!(store.neighbors(ann, Direction::Outgoing, Some("KNOWS"))?, vec![bob]);
/// assert_eq!(store.get_edge(knows)?.map(|e| e.dst), Some(bob));
/// assert!(store.verify()?.is_clean());
/// # }
/// # Ok::<(), graph_storage::Error>(())
/// ```
pub struct GraphStore<B: StorageBackend> {
    pub(crate) pipeline: CommitPipeline<B>,
}

fn read_u64(view: &impl ReadView, key: &[u8]) -> Result<u64> {
    match view.get(ColumnFamily::Default, key)? {
        Some(v) => codec::decode_u64_value(ColumnFamily::Default, key, &v),
        None => Ok(0),
    }
}

fn read_u32(view: &impl ReadView, key: &[u8]) -> Result<u32> {
    match view.get(ColumnFamily::Default, key)? {
        Some(v) => codec::decode_u32_value(ColumnFamily::Default, key, &v),
        None => Ok(0),
    }
}

fn is_empty(view: &impl ReadView) -> Result<bool> {
    for cf in ColumnFamily::ALL {
        if !view
            .collect_range(cf, KeyRange::all(), ScanDirection::Forward, Some(1))?
            .is_empty()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Refuses a replication state key without its tag.
fn check_state_key(key: &[u8]) -> Result<()> {
    match key.first() {
        Some(&meta::TAG_REPLICATION) => Ok(()),
        _ => Err(Error::invalid(format!(
            "replication state key {key:?} must start with the replication tag 0x06"
        ))),
    }
}

/// The library and version that writes new stores, recorded under
/// [`meta::CREATED_BY`] when a store is created.
pub const LIBRARY_VERSION: &str = concat!("graph-storage ", env!("CARGO_PKG_VERSION"));

/// Checks the stored format version: initializes an empty backend at the
/// current format, migrates an older readable format in place, refuses a
/// newer or unknown one.
fn check_format(backend: &impl StorageBackend) -> Result<()> {
    let supported = || {
        format!(
            "graph-storage formats {} to {} ({LIBRARY_VERSION})",
            codec::OLDEST_READABLE_FORMAT,
            codec::FORMAT_VERSION
        )
    };
    let mut batch = WriteBatch::new();
    match backend.get(ColumnFamily::Default, meta::FORMAT_VERSION)? {
        Some(v) => {
            let found = codec::decode_u32_value(ColumnFamily::Default, meta::FORMAT_VERSION, &v)?;
            if found > codec::FORMAT_VERSION {
                return Err(Error::IncompatibleFormat {
                    found: format!(
                        "graph-storage format {found}, written by a newer library; open it with that library or newer"
                    ),
                    supported: supported(),
                });
            }
            if found < codec::OLDEST_READABLE_FORMAT {
                return Err(Error::IncompatibleFormat {
                    found: format!("graph-storage format {found}"),
                    supported: supported(),
                });
            }
            if found == codec::FORMAT_VERSION {
                return Ok(());
            }
            // Every key and value of formats 1 and 2 is unchanged, so a
            // migration writes what the newer formats add, with the new
            // version, in one synced batch: a crash leaves the old format
            // or the new one. Format 1 -> 2 adds `created_by` (unknown for
            // an old store) and the external-id mapping (empty). Format
            // 2 -> 3 adds nothing: format 3 is the RocksDB backend's ZSTD
            // bottom level, which compaction writes from then on.
            if found < 2 {
                batch.put(
                    ColumnFamily::Default,
                    meta::CREATED_BY,
                    format!("unknown (a format-{found} store, migrated by {LIBRARY_VERSION})")
                        .as_bytes(),
                );
            }
        }
        None if is_empty(backend)? => {
            batch.put(
                ColumnFamily::Default,
                meta::CREATED_BY,
                LIBRARY_VERSION.as_bytes(),
            );
        }
        None => {
            return Err(Error::IncompatibleFormat {
                found: "a non-empty store without a graph-storage format version".into(),
                supported: supported(),
            });
        }
    }
    batch.put(
        ColumnFamily::Default,
        meta::FORMAT_VERSION,
        &codec::encode_u32_value(codec::FORMAT_VERSION),
    );
    backend.write(&batch, Durability::Strict)
}

impl<B: StorageBackend + 'static> GraphStore<B> {
    /// Opens the graph in `backend` with default [`StoreOptions`],
    /// initializing an empty backend.
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    pub fn open(backend: B) -> Result<Self> {
        Self::open_with(backend, StoreOptions::default())
    }

    /// Opens the graph in `backend`. An empty backend is initialized with
    /// the current format version and [`LIBRARY_VERSION`] (a synced write);
    /// a store of an older format this build reads is migrated in place
    /// (one synced write; see [`codec::FORMAT_VERSION`]).
    ///
    /// With [`StoreOptions::adjacency`] on, the adjacency starts building
    /// in RAM on a thread of its own: `open_with` does not wait for it, and
    /// reads go to the engine until it is ready (see
    /// [`adjacency_status`](Self::adjacency_status)).
    ///
    /// # Errors
    /// [`Error::IncompatibleFormat`] if the backend holds data without a
    /// format version, or with a version this build does not read (a newer
    /// one, or one older than [`codec::OLDEST_READABLE_FORMAT`]);
    /// corruption if the metadata is malformed; engine errors.
    pub fn open_with(backend: B, options: StoreOptions) -> Result<Self> {
        check_format(&backend)?;
        let counters = Counters {
            node_count: read_u64(&backend, meta::NODE_COUNT)?,
            edge_count: read_u64(&backend, meta::EDGE_COUNT)?,
            next_symbol: read_u32(&backend, meta::NEXT_SYMBOL_ID)?,
        };
        let opened = Opened {
            symbols: Symbols::load(&backend, counters.next_symbol)?,
            catalog: Catalog::load(&backend)?,
            next_node_id: read_u64(&backend, meta::NEXT_NODE_ID)?,
            next_edge_id: read_u64(&backend, meta::NEXT_EDGE_ID)?,
            writer: WriterState {
                counters,
                known: KnownNodes::default(),
                next_index_id: read_u32(&backend, meta::NEXT_INDEX_ID)?,
            },
            adjacency: (options.adjacency, options.adjacency_budget),
        };
        Ok(GraphStore {
            pipeline: CommitPipeline::new(backend, options.durability, options.clock, opened),
        })
    }
}

impl<B: StorageBackend> GraphStore<B> {
    /// The backend.
    pub fn backend(&self) -> &B {
        self.pipeline.backend()
    }

    /// Gives the backend back (closing the store).
    pub fn into_backend(self) -> B {
        self.pipeline.into_backend()
    }

    /// The durability of this store's commits.
    pub fn durability(&self) -> Durability {
        self.pipeline.durability()
    }

    /// Applies mutations that carry their own ids, atomically, for example
    /// to replay on another store a log of what was committed here. Ids of
    /// created nodes and edges must not be in use (a created id that exists
    /// fails with [`Error::InvalidArgument`]); they are marked as used so the
    /// store never hands them out.
    ///
    /// # Errors
    /// The earliest failing mutation's error, or the backend's; nothing is
    /// written then.
    pub fn apply(&self, mutations: impl IntoIterator<Item = Mutation>) -> Result<()> {
        self.apply_with_state(mutations, &[])
    }

    /// [`apply`](Self::apply), writing `state` entries to the `default`
    /// family in the same atomic batch when every mutation applies
    /// (nothing is written otherwise): `Some(value)` puts the key, `None`
    /// deletes it. This is how a replicated state
    /// machine records the log position of an entry together with its
    /// effects. With no mutations, only `state` is written.
    ///
    /// State keys must carry the replication tag
    /// ([`meta::TAG_REPLICATION`]): the graph
    /// layer never reads them, and they cannot touch the graph's own
    /// metadata. Read them back with [`GraphStore::state`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a state key without the replication
    /// tag; otherwise as [`apply`](Self::apply).
    pub fn apply_with_state(
        &self,
        mutations: impl IntoIterator<Item = Mutation>,
        state: &[(&[u8], Option<&[u8]>)],
    ) -> Result<()> {
        self.apply_with_state_if(Vec::new(), mutations, state)
    }

    /// [`apply_with_state`](Self::apply_with_state) if every one of
    /// `preconditions` holds on the state the mutations apply to (checked
    /// under the writer lock, atomically with the write): how a replicated
    /// state machine applies a conditional write.
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] naming the first that does not hold
    /// (nothing is written, `state` included); otherwise as
    /// [`apply_with_state`](Self::apply_with_state).
    pub fn apply_with_state_if(
        &self,
        preconditions: Vec<Precondition>,
        mutations: impl IntoIterator<Item = Mutation>,
        state: &[(&[u8], Option<&[u8]>)],
    ) -> Result<()> {
        let mutations: Vec<Mutation> = mutations.into_iter().collect();
        let mut with = WriteBatch::new();
        for (key, value) in state {
            check_state_key(key)?;
            match value {
                Some(value) => with.put(ColumnFamily::Default, key, value),
                None => with.delete(ColumnFamily::Default, key),
            }
        }
        let (node_ids, edge_ids) = self.pipeline.id_allocators();
        for m in &mutations {
            match m {
                Mutation::CreateNode { id, .. } => node_ids.claim(id.0, self.backend())?,
                Mutation::CreateEdge { id, .. } => edge_ids.claim(id.0, self.backend())?,
                _ => {}
            }
        }
        if preconditions.is_empty() {
            self.pipeline.commit_explicit(mutations, with)
        } else {
            self.pipeline
                .commit_conditional(preconditions, mutations, true, Some(with))
        }
    }

    /// The value of a replication state key written by
    /// [`apply_with_state`](Self::apply_with_state), as committed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key without the replication tag;
    /// engine errors.
    pub fn state(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_state_key(key)?;
        self.backend().get(ColumnFamily::Default, key)
    }

    /// Starts a batch of mutations committed atomically by
    /// [`GraphBatch::commit`].
    pub fn batch(&self) -> GraphBatch<'_, B> {
        GraphBatch::new(&self.pipeline)
    }

    /// Creates a node and returns its id.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty label or property key or a
    /// too deeply nested value; the backend's write error.
    pub fn create_node(&self, labels: &[&str], properties: Properties) -> Result<NodeId> {
        let id = self.pipeline.reserve_node_id()?;
        self.pipeline.commit_mutations(vec![Mutation::CreateNode {
            id,
            labels: crate::batch::sorted_labels(labels),
            properties,
        }])?;
        Ok(id)
    }

    /// Sets one property of a node.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; invalid argument; write errors.
    pub fn set_node_property(&self, id: NodeId, key: &str, value: PropertyValue) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::SetNodeProperty {
                id,
                key: key.to_owned(),
                value,
            }])
    }

    /// Removes one property of a node (no-op when absent).
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; write errors.
    pub fn remove_node_property(&self, id: NodeId, key: &str) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::RemoveNodeProperty {
                id,
                key: key.to_owned(),
            }])
    }

    /// Adds a label to a node (no-op when present).
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; invalid argument for an empty label.
    pub fn add_label(&self, id: NodeId, label: &str) -> Result<()> {
        self.pipeline.commit_mutations(vec![Mutation::AddLabel {
            id,
            label: label.to_owned(),
        }])
    }

    /// Removes a label from a node (no-op when absent).
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; write errors.
    pub fn remove_label(&self, id: NodeId, label: &str) -> Result<()> {
        self.pipeline.commit_mutations(vec![Mutation::RemoveLabel {
            id,
            label: label.to_owned(),
        }])
    }

    /// Deletes a node that has no edges.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; [`Constraint::NodeHasEdges`] if it has
    /// edges (see [`detach_delete_node`](Self::detach_delete_node)).
    pub fn delete_node(&self, id: NodeId) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::DeleteNode { id, detach: false }])
    }

    /// Deletes a node and all its edges, atomically.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`]; write errors.
    pub fn detach_delete_node(&self, id: NodeId) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::DeleteNode { id, detach: true }])
    }

    /// Creates an edge from `src` to `dst` and returns its id.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`] if an endpoint does not exist (nothing is
    /// written); invalid argument for an empty type or property key.
    pub fn create_edge(
        &self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: Properties,
    ) -> Result<EdgeId> {
        let id = self.pipeline.reserve_edge_id()?;
        self.pipeline.commit_mutations(vec![Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type: edge_type.to_owned(),
            properties,
        }])?;
        Ok(id)
    }

    /// Sets one property of an edge.
    ///
    /// # Errors
    /// [`Error::EdgeNotFound`]; invalid argument; write errors.
    pub fn set_edge_property(&self, id: EdgeId, key: &str, value: PropertyValue) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::SetEdgeProperty {
                id,
                key: key.to_owned(),
                value,
            }])
    }

    /// Removes one property of an edge (no-op when absent).
    ///
    /// # Errors
    /// [`Error::EdgeNotFound`]; write errors.
    pub fn remove_edge_property(&self, id: EdgeId, key: &str) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::RemoveEdgeProperty {
                id,
                key: key.to_owned(),
            }])
    }

    /// Deletes an edge and its adjacency entries.
    ///
    /// # Errors
    /// [`Error::EdgeNotFound`]; write errors.
    pub fn delete_edge(&self, id: EdgeId) -> Result<()> {
        self.pipeline
            .commit_mutations(vec![Mutation::DeleteEdge { id }])
    }

    /// Declares a property index on (`label`, `property`) and builds it over
    /// the existing nodes, in one atomic commit.
    ///
    /// # Errors
    /// [`Constraint::IndexExists`] if declared already; invalid argument for
    /// empty names; corruption if an existing record does not decode.
    pub fn create_index(&self, label: &str, property: &str) -> Result<()> {
        validate_name("labels", label)?;
        validate_name("property keys", property)?;
        let mut writer = self.pipeline.lock_writer();
        let catalog = self.pipeline.current_catalog();
        if catalog.find(label, property).is_some() {
            return Err(Error::Constraint(Constraint::IndexExists {
                label: label.to_owned(),
                property: property.to_owned(),
            }));
        }
        let id = IndexId(writer.next_index_id);
        let next =
            id.0.checked_add(1)
                .ok_or_else(|| Error::invalid("index ids exhausted"))?;
        let def = IndexDef {
            label: label.to_owned(),
            property: property.to_owned(),
        };
        let mut batch = WriteBatch::new();
        let mut value = Vec::new();
        codec::encode_index_def(&def, &mut value)?;
        batch.put(ColumnFamily::Default, &meta::index_def(id), &value);
        batch.put(
            ColumnFamily::Default,
            meta::NEXT_INDEX_ID,
            &codec::encode_u32_value(next),
        );
        let reader = self.reader();
        let mut key = Vec::new();
        for node_id in reader.nodes_with_label(label)? {
            if let Some(v) = reader
                .get_node(node_id)?
                .and_then(|n| n.properties.get(property).cloned())
            {
                key.clear();
                codec::property_index_key(id, &v, node_id, &mut key);
                batch.put(ColumnFamily::Indices, &key, &[]);
            }
        }
        let mut updated = (*catalog).clone();
        updated.insert(id, def);
        self.pipeline.write_catalog(&batch, updated)?;
        writer.next_index_id = next;
        Ok(())
    }

    /// Drops the index on (`label`, `property`) and all its entries.
    ///
    /// # Errors
    /// [`Error::IndexNotFound`] if none is declared; write errors.
    pub fn drop_index(&self, label: &str, property: &str) -> Result<()> {
        let _writer = self.pipeline.lock_writer();
        let catalog = self.pipeline.current_catalog();
        let id = catalog
            .find(label, property)
            .ok_or_else(|| Error::IndexNotFound {
                label: label.to_owned(),
                property: property.to_owned(),
            })?;
        let prefix = codec::property_index_prefix(id);
        let mut batch = WriteBatch::new();
        batch.delete(ColumnFamily::Default, &meta::index_def(id));
        match prefix_end(&prefix) {
            Some(end) => batch.delete_range(ColumnFamily::Indices, &prefix, &end),
            None => return Err(Error::invalid("index prefix has no upper bound")),
        }
        let mut updated = (*catalog).clone();
        updated.remove(id);
        self.pipeline.write_catalog(&batch, updated)
    }

    /// Begins an optimistic read-write [`Transaction`]: it reads a
    /// snapshot of this moment with its own writes laid over it, and its
    /// commit fails with [`Error::Conflict`] if anything it read was
    /// changed by another commit meanwhile. Transactions run side by side;
    /// [`transaction`](Self::transaction) retries conflicts.
    ///
    /// # Errors
    /// Corruption if the snapshot's index catalog or counts do not decode.
    pub fn begin(&self) -> Result<Transaction<'_, B>> {
        Transaction::begin(&self.pipeline, None)
    }

    /// Begins an exclusive read-write [`Transaction`]: as
    /// [`begin`](Self::begin), but it first waits until no other exclusive
    /// transaction of this store is running, and holds that turn until it
    /// commits or is dropped. Exclusive transactions never conflict with
    /// each other, only with other writes committed meanwhile (batches,
    /// single mutations, optimistic transactions); they suit contended
    /// read-modify-writes. A thread holding an exclusive transaction must
    /// not begin another on the same store: it would wait for itself.
    ///
    /// # Errors
    /// As [`begin`](Self::begin).
    pub fn begin_exclusive(&self) -> Result<Transaction<'_, B>> {
        let turn = self.pipeline.lock_exclusive();
        Transaction::begin(&self.pipeline, Some(turn))
    }

    /// Runs `f` in a transaction and commits it. The first attempt is
    /// optimistic ([`begin`](Self::begin)); after an [`Error::Conflict`]
    /// it runs again on a fresh snapshot in the exclusive turn
    /// ([`begin_exclusive`](Self::begin_exclusive)), where retrying
    /// transactions cannot conflict with each other, up to
    /// [`TRANSACTION_ATTEMPTS`] attempts in all. So uncontended
    /// transactions run side by side and contended ones do not waste work
    /// failing each other. `f` may run several times and must have no
    /// effect outside the transaction, nor begin another transaction of
    /// this store (a retry holds the exclusive turn). An error `f` returns
    /// aborts the transaction and is returned as it is.
    ///
    /// # Errors
    /// The error of `f`; the conflict of the last attempt; as
    /// [`Transaction::commit`].
    pub fn transaction<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_, B>) -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 1;
        loop {
            // Optimistic first; after a conflict, in the exclusive turn,
            // where the transactions that retry do not conflict with each
            // other (only with optimistic ones committed meanwhile).
            let mut tx = if attempt == 1 {
                self.begin()?
            } else {
                self.begin_exclusive()?
            };
            let out = f(&mut tx)?;
            match tx.commit() {
                Ok(()) => return Ok(out),
                Err(e) if e.kind() == ErrorKind::Conflict && attempt < TRANSACTION_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A reader of the live state: each query sees the state of its own
    /// moment.
    pub fn reader(&self) -> GraphReader<'_, &B> {
        GraphReader::new(
            self.backend(),
            self.pipeline.symbols(),
            self.pipeline.current_catalog(),
            RamSource::Live(self.pipeline.adjacency()),
        )
    }

    /// A reader of a consistent snapshot: all its queries see the state at
    /// this call, whatever is committed afterwards. It pins the adjacency
    /// in RAM of the same moment when that is ready (a commit in progress
    /// is waited for, so both show the same commits).
    ///
    /// # Errors
    /// Corruption if the snapshot's index catalog does not decode.
    pub fn snapshot(&self) -> Result<GraphReader<'_, B::Snapshot<'_>>> {
        let (snap, graph) = self.pipeline.snapshot();
        let catalog = Catalog::load(&snap)?;
        Ok(GraphReader::new(
            snap,
            self.pipeline.symbols(),
            Arc::new(catalog),
            RamSource::Pinned(graph),
        ))
    }

    /// What the adjacency in RAM is doing: off, building, ready (with the
    /// bytes it holds), or not held (with the bytes it would need).
    pub fn adjacency_status(&self) -> AdjacencyStatus {
        self.pipeline.adjacency().status()
    }

    /// The bytes the adjacency in RAM of this store needs, estimated from
    /// its counts as the store does before building it: 32 bytes per edge
    /// (16 in each direction) and about 9 per node id.
    ///
    /// # Errors
    /// Corruption of the counters; engine errors.
    pub fn adjacency_estimate(&self) -> Result<u64> {
        let bound = read_u64(self.backend(), meta::NEXT_NODE_ID)?;
        Ok(crate::adjacency::estimate_bytes(bound, self.edge_count()?))
    }

    /// The budget of the adjacency in RAM
    /// ([`StoreOptions::adjacency_budget`]).
    pub fn adjacency_budget(&self) -> u64 {
        self.pipeline.adjacency().budget()
    }

    /// Waits until the adjacency in RAM is built (or its build ended
    /// otherwise), and returns its status then. Returns at once when no
    /// build is running.
    pub fn wait_for_adjacency(&self) -> AdjacencyStatus {
        self.pipeline.adjacency().wait()
    }

    /// The current adjacency in RAM, pinned (see [`Adjacency`]), or `None`
    /// when it is not ready.
    pub fn adjacency(&self) -> Option<Adjacency<'_>> {
        self.reader().adjacency()
    }

    /// Projects edge property `name` into RAM beside the adjacency: its
    /// value for every edge, as a number ([`EdgeValue`]), read through
    /// [`Adjacency::edge_values`] by weighted whole-graph work. Commits keep
    /// it up to date from then on; it counts toward the adjacency's budget
    /// and lasts until the store closes (project it again after opening).
    ///
    /// Waits for the adjacency to be built, then reads every edge record
    /// once, holding the writer lock (commits wait meanwhile).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty name, when the adjacency is
    /// not in RAM (off, or over its budget), or when the column would take
    /// it over the budget; corruption of an edge record; engine errors.
    pub fn project_edge_property(&self, name: &str) -> Result<()> {
        validate_name("property keys", name)?;
        self.wait_for_adjacency();
        let _writer = self.pipeline.lock_writer();
        self.pipeline.adjacency().add_column(|| {
            let mut column = Column::new(name);
            self.backend().scan(
                ColumnFamily::Edges,
                KeyRange::all(),
                ScanDirection::Forward,
                &mut |k, v| {
                    let edge = codec::decode_edge(k, v)?;
                    column.set(edge.id, EdgeValue::of_property(edge.properties.get(name)));
                    Ok(std::ops::ControlFlow::Continue(()))
                },
            )?;
            Ok(column)
        })
    }

    /// Drops the projection of edge property `name`; whether there was one.
    pub fn drop_edge_projection(&self, name: &str) -> bool {
        let _writer = self.pipeline.lock_writer();
        self.pipeline.adjacency().remove_column(name)
    }

    /// The node with this id, or `None` (see [`GraphReader::get_node`]).
    ///
    /// # Errors
    /// Corruption if the record does not decode; engine errors.
    pub fn get_node(&self, id: NodeId) -> Result<Option<Node>> {
        self.reader().get_node(id)
    }

    /// The nodes with these ids, in order, in one batched lookup (see
    /// [`GraphReader::get_nodes`]).
    ///
    /// # Errors
    /// Corruption if a record does not decode; engine errors.
    pub fn get_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Node>>> {
        self.reader().get_nodes(ids)
    }

    /// Reads the node with this id in place (see
    /// [`GraphReader::with_node`]): what `f` makes of it, or `None`.
    ///
    /// # Errors
    /// Corruption if the record does not decode; engine errors.
    pub fn with_node<R>(&self, id: NodeId, f: impl FnOnce(NodeView<'_>) -> R) -> Result<Option<R>> {
        self.reader().with_node(id, f)
    }

    /// Reads the nodes with these ids in place, in one batched lookup (see
    /// [`GraphReader::with_nodes`]).
    ///
    /// # Errors
    /// Corruption if a record does not decode; engine errors.
    pub fn with_nodes(
        &self,
        ids: &[NodeId],
        f: impl FnMut(usize, Option<NodeView<'_>>),
    ) -> Result<()> {
        self.reader().with_nodes(ids, f)
    }

    /// The edge with this id, or `None`.
    ///
    /// # Errors
    /// Corruption if the record does not decode; engine errors.
    pub fn get_edge(&self, id: EdgeId) -> Result<Option<Edge>> {
        self.reader().get_edge(id)
    }

    /// The edges of a node (see [`GraphReader::edges`]).
    ///
    /// # Errors
    /// Corruption of an adjacency key; engine errors.
    pub fn edges(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
    ) -> Result<Vec<EdgeRef>> {
        self.reader().edges(node, dir, edge_type)
    }

    /// The neighbours of a node (see [`GraphReader::neighbors`]).
    ///
    /// # Errors
    /// Corruption of an adjacency key; engine errors.
    pub fn neighbors(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
    ) -> Result<Vec<NodeId>> {
        self.reader().neighbors(node, dir, edge_type)
    }

    /// The degree of a node (see [`GraphReader::degree`]).
    ///
    /// # Errors
    /// Engine errors.
    pub fn degree(&self, node: NodeId, dir: Direction, edge_type: Option<&str>) -> Result<u64> {
        self.reader().degree(node, dir, edge_type)
    }

    /// Every node with `label`, ascending by id.
    ///
    /// # Errors
    /// Corruption of an index key; engine errors.
    pub fn nodes_with_label(&self, label: &str) -> Result<Vec<NodeId>> {
        self.reader().nodes_with_label(label)
    }

    /// Nodes with `label` whose `property` equals `value` (index lookup).
    ///
    /// # Errors
    /// [`Error::IndexNotFound`]; engine errors.
    pub fn find_nodes(
        &self,
        label: &str,
        property: &str,
        value: &PropertyValue,
    ) -> Result<Vec<NodeId>> {
        self.reader().find_nodes(label, property, value)
    }

    /// Nodes with `label` whose `property` lies in a range (index scan).
    ///
    /// # Errors
    /// [`Error::IndexNotFound`]; engine errors.
    pub fn find_nodes_in_range(
        &self,
        label: &str,
        property: &str,
        lower: Bound<&PropertyValue>,
        upper: Bound<&PropertyValue>,
    ) -> Result<Vec<NodeId>> {
        self.reader()
            .find_nodes_in_range(label, property, lower, upper)
    }

    /// The node an import mapped `external` (in id space `space`) to, if it
    /// still exists (see [`GraphReader::external_id`]).
    ///
    /// # Errors
    /// Invalid argument for a space holding a NUL byte; engine errors.
    pub fn external_id(&self, space: &str, external: &str) -> Result<Option<NodeId>> {
        self.reader().external_id(space, external)
    }

    /// The declared property indexes.
    pub fn indexes(&self) -> Vec<IndexInfo> {
        self.reader().indexes()
    }

    /// The number of nodes (kept in metadata, no scan).
    ///
    /// # Errors
    /// Corruption of the counter; engine errors.
    pub fn node_count(&self) -> Result<u64> {
        self.reader().node_count()
    }

    /// The number of edges (kept in metadata, no scan).
    ///
    /// # Errors
    /// Corruption of the counter; engine errors.
    pub fn edge_count(&self) -> Result<u64> {
        self.reader().edge_count()
    }

    /// Checks the integrity of the whole store on a snapshot (see
    /// [`GraphReader::verify`]).
    ///
    /// # Errors
    /// Engine errors; inconsistencies are in the report.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.snapshot()?.verify()
    }

    /// [`verify`](Self::verify), calling `progress` as the audit goes (see
    /// [`GraphReader::verify_with`]).
    ///
    /// # Errors
    /// Engine errors; inconsistencies are in the report.
    pub fn verify_with(&self, progress: impl FnMut(AuditProgress)) -> Result<VerifyReport> {
        self.snapshot()?.verify_with(progress)
    }

    /// Makes every acknowledged commit durable against power loss (useful
    /// after `Background` commits).
    ///
    /// # Errors
    /// Engine I/O errors.
    pub fn sync(&self) -> Result<()> {
        self.backend().sync()
    }

    /// Asks the backend to persist in-memory state to its main files.
    ///
    /// # Errors
    /// Engine I/O errors.
    pub fn flush(&self) -> Result<()> {
        self.backend().flush()
    }
}
