//! Read-write transactions: read, decide and write as one isolated,
//! atomic step ([`Transaction`], [`GraphStore::begin`],
//! [`GraphStore::transaction`]).
//!
//! A transaction reads a snapshot of the store taken when it began, with
//! its own writes laid over it; each write is applied at once to that
//! view (so it fails at the call when it cannot apply, and later reads
//! see it). What it read of the snapshot is recorded. `commit` hands the
//! mutations and the record to the commit pipeline, which, under the
//! writer lock, checks that every read would see the same today and then
//! applies the mutations to the committed state, all in one write batch
//! with the store's durability; a read that changed fails the commit
//! with [`Error::Conflict`](crate::Error::Conflict) and nothing is written. The isolation is
//! serializable (see ARCHITECTURE.md, "Transactions").

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use graph_core::codec::meta;
use graph_core::{EdgeId, NodeId, Properties, PropertyValue, ReadView, Result, StorageBackend};

use crate::adjacency::RamSource;
use crate::batch::sorted_labels;
use crate::catalog::{Catalog, Symbols};
use crate::known::KnownNodes;
use crate::mutation::Mutation;
use crate::overlay::{Pending, ReadSet, TxView};
use crate::pipeline::{CommitPipeline, Written};
use crate::read::GraphReader;
use crate::txn::{Counters, Txn};

/// How many times [`GraphStore::transaction`](crate::GraphStore::transaction)
/// runs a transaction that keeps failing with [`Error::Conflict`](crate::Error::Conflict) before
/// it returns the conflict.
pub const TRANSACTION_ATTEMPTS: u32 = 1_000;

/// The first id a transaction gives a label or edge type new to the store,
/// for its own reads until it commits: far above the ids a store hands
/// out (one per distinct name, counting from 0), so the two never meet.
const LOCAL_SYMBOLS: u32 = 0xF000_0000;

/// A read-write transaction on a [`GraphStore`](crate::GraphStore):
/// reads ([`read`](Self::read), seeing the transaction's own writes) and
/// writes (every mutation a [`GraphBatch`](crate::GraphBatch) offers),
/// committed as one serializable, atomic step, or dropped (aborted)
/// without a trace.
///
/// Begun with [`GraphStore::begin`](crate::GraphStore::begin) (optimistic:
/// transactions run side by side and a commit fails with
/// [`Error::Conflict`](crate::Error::Conflict) if something it read changed meanwhile) or
/// [`GraphStore::begin_exclusive`](crate::GraphStore::begin_exclusive)
/// (one exclusive transaction at a time; it conflicts only with writes
/// made outside the exclusive turn meanwhile). [`GraphStore::transaction`](crate::GraphStore::transaction)
/// runs a closure in a transaction and retries it on conflict.
///
/// `commit` and `abort` take the transaction by value: a transaction
/// cannot be used after either, which the compiler checks.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use graph_storage::{GraphStore, MemoryBackend, Properties, PropertyValue};
/// let store = GraphStore::open(MemoryBackend::new())?;
/// let counter = store.create_node(&["Counter"], Properties::new())?;
/// // Add 1, however many threads do the same at once: no update is lost.
/// store.transaction(|tx| {
///     let now = tx.read().get_node(counter)?.and_then(|n| n.properties.get("n").cloned());
///     let n = match now {
///         Some(PropertyValue::Int(n)) => n,
///         _ => 0,
///     };
///     tx.set_node_property(counter, "n", PropertyValue::Int(n + 1))
/// })?;
/// # }
/// # Ok::<(), graph_storage::Error>(())
/// ```
#[must_use = "a transaction does nothing until committed"]
pub struct Transaction<'s, B: StorageBackend + 's> {
    pipeline: &'s CommitPipeline<B>,
    snapshot: B::Snapshot<'s>,
    /// The index catalog of the snapshot.
    catalog: Arc<Catalog>,
    pending: Pending,
    reads: Mutex<ReadSet>,
    mutations: Vec<Mutation>,
    /// The snapshot's counts with the transaction's changes, once a
    /// mutation that changes them is applied (`counted`).
    counters: Counters,
    counted: bool,
    /// The changes of the counts, and the nodes created and deleted.
    node_delta: i64,
    edge_delta: i64,
    created: Vec<NodeId>,
    deleted: Vec<NodeId>,
    /// The store's symbols with those this transaction introduced, under
    /// ids of its own (from [`LOCAL_SYMBOLS`] up); `None` until it
    /// introduces one.
    local: Option<RwLock<Symbols>>,
    /// The next id of the transaction's own symbols.
    next_local: u32,
    /// Held by an exclusive transaction until it ends.
    _exclusive: Option<MutexGuard<'s, ()>>,
}

impl<'s, B: StorageBackend + 's> Transaction<'s, B> {
    pub(crate) fn begin(
        pipeline: &'s CommitPipeline<B>,
        exclusive: Option<MutexGuard<'s, ()>>,
    ) -> Result<Self> {
        let (snapshot, catalog) = pipeline.snapshot_with_catalog()?;
        let counters = Counters {
            node_count: 0,
            edge_count: 0,
            next_symbol: 0,
        };
        Ok(Transaction {
            pipeline,
            snapshot,
            catalog,
            pending: Pending::default(),
            reads: Mutex::new(ReadSet::default()),
            mutations: Vec::new(),
            counters,
            counted: false,
            node_delta: 0,
            edge_delta: 0,
            created: Vec::new(),
            deleted: Vec::new(),
            local: None,
            next_local: LOCAL_SYMBOLS,
            _exclusive: exclusive,
        })
    }

    /// A reader of the transaction's view: the store as it was when the
    /// transaction began, with the transaction's own writes. Every query
    /// [`GraphReader`] offers works on it; what it reads is checked at
    /// commit. Adjacency reads come from the engine's `indices` here, not
    /// from the adjacency in RAM (whose reads could not be checked).
    pub fn read(&self) -> GraphReader<'_, TxView<'_, B::Snapshot<'s>>> {
        GraphReader::new(
            TxView::new(&self.snapshot, &self.pending, Some(&self.reads)),
            self.local.as_ref().unwrap_or(self.pipeline.symbols()),
            Arc::clone(&self.catalog),
            RamSource::Pinned(None),
        )
    }

    /// How many mutations the transaction holds.
    pub fn len(&self) -> usize {
        self.mutations.len()
    }

    /// Whether the transaction holds no mutation (a commit then writes
    /// nothing and cannot conflict).
    pub fn is_empty(&self) -> bool {
        self.mutations.is_empty()
    }

    /// Applies `mutation` to the transaction's view now; it is written at
    /// commit. A label or edge type the store has never seen gets an id
    /// of the transaction's own for its reads, and its real one when the
    /// transaction commits (nothing is added to the store before).
    ///
    /// # Errors
    /// The mutation's own error (node or edge not found, a constraint,
    /// an invalid argument), leaving the transaction as it was before the
    /// call; the engine's read errors.
    pub fn apply(&mut self, mutation: Mutation) -> Result<()> {
        if !self.counted && changes_counts(&mutation) {
            self.counters.node_count = self.snapshot_count(meta::NODE_COUNT)?;
            self.counters.edge_count = self.snapshot_count(meta::EDGE_COUNT)?;
            self.counted = true;
        }
        let known = KnownNodes::default();
        let view = TxView::new(&self.snapshot, &self.pending, Some(&self.reads));
        let mut txn = Txn::new(&view, &known);
        txn.apply(mutation.clone(), self.pipeline.clock().now())?;
        let (batch, fx) = {
            let symbols = match &self.local {
                Some(local) => local.read().unwrap_or_else(PoisonError::into_inner),
                None => self.pipeline.read_symbols(),
            };
            let counters = Counters {
                next_symbol: self.next_local,
                ..self.counters
            };
            txn.build(&symbols, &self.catalog, &counters)?
        };
        self.pending.absorb(&batch)?;
        if !fx.new_symbols.is_empty() {
            let local = match &mut self.local {
                Some(local) => local,
                None => self
                    .local
                    .insert(RwLock::new(self.pipeline.read_symbols().clone())),
            };
            let local = local.get_mut().unwrap_or_else(PoisonError::into_inner);
            for (name, id) in fx.new_symbols {
                local.insert(name, id);
                self.next_local = self.next_local.max(id.0.saturating_add(1));
            }
        }
        let c = &mut self.counters;
        c.node_count = c.node_count.saturating_add_signed(fx.node_delta);
        c.edge_count = c.edge_count.saturating_add_signed(fx.edge_delta);
        self.node_delta += fx.node_delta;
        self.edge_delta += fx.edge_delta;
        self.created.extend(fx.created);
        self.deleted.extend(fx.deleted);
        self.mutations.push(mutation);
        Ok(())
    }

    /// A count as the snapshot holds it (not recorded: what the
    /// transaction writes there is rewritten from the committed count).
    fn snapshot_count(&self, key: &[u8]) -> Result<u64> {
        let cf = graph_core::ColumnFamily::Default;
        match self.snapshot.get(cf, key)? {
            Some(v) => graph_core::codec::decode_u64_value(cf, key, &v),
            None => Ok(0),
        }
    }

    /// Creates a node and returns its id (reserved now; unused if the
    /// transaction does not commit).
    ///
    /// # Errors
    /// As [`apply`](Self::apply); a backend write error if a new block of
    /// ids cannot be leased.
    pub fn create_node(&mut self, labels: &[&str], properties: Properties) -> Result<NodeId> {
        let id = self.pipeline.reserve_node_id()?;
        self.apply(Mutation::CreateNode {
            id,
            labels: sorted_labels(labels),
            properties,
        })?;
        Ok(id)
    }

    /// Creates an edge and returns its id (reserved now).
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound) for a missing endpoint; as
    /// [`create_node`](Self::create_node).
    pub fn create_edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: Properties,
    ) -> Result<EdgeId> {
        let id = self.pipeline.reserve_edge_id()?;
        self.apply(Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type: edge_type.to_owned(),
            properties,
        })?;
        Ok(id)
    }

    /// Sets one property of a node.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound); as [`apply`](Self::apply).
    pub fn set_node_property(&mut self, id: NodeId, key: &str, value: PropertyValue) -> Result<()> {
        self.apply(Mutation::SetNodeProperty {
            id,
            key: key.to_owned(),
            value,
        })
    }

    /// Removes one property of a node (nothing if it has none by that key).
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound); as [`apply`](Self::apply).
    pub fn remove_node_property(&mut self, id: NodeId, key: &str) -> Result<()> {
        self.apply(Mutation::RemoveNodeProperty {
            id,
            key: key.to_owned(),
        })
    }

    /// Adds a label to a node.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound); as [`apply`](Self::apply).
    pub fn add_label(&mut self, id: NodeId, label: &str) -> Result<()> {
        self.apply(Mutation::AddLabel {
            id,
            label: label.to_owned(),
        })
    }

    /// Removes a label from a node.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound); as [`apply`](Self::apply).
    pub fn remove_label(&mut self, id: NodeId, label: &str) -> Result<()> {
        self.apply(Mutation::RemoveLabel {
            id,
            label: label.to_owned(),
        })
    }

    /// Deletes a node that has no edges.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound); [`crate::Error::Constraint`] if it has edges.
    pub fn delete_node(&mut self, id: NodeId) -> Result<()> {
        self.apply(Mutation::DeleteNode { id, detach: false })
    }

    /// Deletes a node and every edge attached to it.
    ///
    /// # Errors
    /// [`Error::NodeNotFound`](crate::Error::NodeNotFound); as [`apply`](Self::apply).
    pub fn detach_delete_node(&mut self, id: NodeId) -> Result<()> {
        self.apply(Mutation::DeleteNode { id, detach: true })
    }

    /// Sets one property of an edge.
    ///
    /// # Errors
    /// [`crate::Error::EdgeNotFound`]; as [`apply`](Self::apply).
    pub fn set_edge_property(&mut self, id: EdgeId, key: &str, value: PropertyValue) -> Result<()> {
        self.apply(Mutation::SetEdgeProperty {
            id,
            key: key.to_owned(),
            value,
        })
    }

    /// Removes one property of an edge.
    ///
    /// # Errors
    /// [`crate::Error::EdgeNotFound`]; as [`apply`](Self::apply).
    pub fn remove_edge_property(&mut self, id: EdgeId, key: &str) -> Result<()> {
        self.apply(Mutation::RemoveEdgeProperty {
            id,
            key: key.to_owned(),
        })
    }

    /// Deletes an edge.
    ///
    /// # Errors
    /// [`crate::Error::EdgeNotFound`]; as [`apply`](Self::apply).
    pub fn delete_edge(&mut self, id: EdgeId) -> Result<()> {
        self.apply(Mutation::DeleteEdge { id })
    }

    /// Maps the external id `external` in `space` to `node`.
    ///
    /// # Errors
    /// As [`apply`](Self::apply).
    pub fn map_external_id(&mut self, space: &str, external: &str, node: NodeId) -> Result<()> {
        self.apply(Mutation::MapExternalId {
            space: space.to_owned(),
            external: external.to_owned(),
            node,
        })
    }

    /// Commits the transaction: if nothing it read has changed since it
    /// began, its mutations are applied to the committed state as one
    /// atomic write with the store's durability; otherwise nothing is
    /// written. A transaction without mutations commits without a check
    /// (its reads were one consistent snapshot).
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) when something the transaction read changed
    /// (run it again); a mutation's error if it no longer applies; the
    /// backend's write error. Nothing is written in every case.
    pub fn commit(self) -> Result<()> {
        if self.mutations.is_empty() {
            return Ok(());
        }
        let reads = self
            .reads
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        // Writes naming a symbol of the transaction's own hold its
        // temporary ids: those are applied again at commit.
        let written = self.local.is_none().then_some(Written {
            pending: self.pending,
            catalog: self.catalog,
            node_delta: self.node_delta,
            edge_delta: self.edge_delta,
            created: self.created,
            deleted: self.deleted,
        });
        self.pipeline.commit_checked(reads, self.mutations, written)
    }

    /// Ends the transaction without writing anything (as dropping it does).
    pub fn abort(self) {}
}

/// Whether `mutation` can change the node or edge count.
fn changes_counts(mutation: &Mutation) -> bool {
    matches!(
        mutation,
        Mutation::CreateNode { .. }
            | Mutation::CreateEdge { .. }
            | Mutation::DeleteNode { .. }
            | Mutation::DeleteEdge { .. }
    )
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use graph_core::{Direction, ErrorKind, Properties, PropertyValue as V, Result};
    use storage_memory::MemoryBackend;

    use crate::GraphStore;

    fn store() -> Result<GraphStore<MemoryBackend>> {
        GraphStore::open(MemoryBackend::new())
    }

    fn prop(store: &GraphStore<MemoryBackend>, id: graph_core::NodeId) -> Result<Option<V>> {
        Ok(store
            .get_node(id)?
            .and_then(|n| n.properties.get("n").cloned()))
    }

    /// A transaction's reads see its own writes (records, counts, labels
    /// and adjacency); nothing is visible outside until it commits, and
    /// an abort leaves no trace.
    #[test]
    fn reads_see_own_writes_and_nothing_leaks_before_commit() -> Result<()> {
        let s = store()?;
        let a = s.create_node(&["A"], Properties::new())?;
        let mut tx = s.begin()?;
        let b = tx.create_node(&["Brand new"], Properties::new())?;
        tx.create_edge(a, b, "T", Properties::new())?;
        tx.set_node_property(a, "n", V::Int(7))?;
        {
            let r = tx.read();
            assert_eq!(r.node_count()?, 2);
            assert_eq!(r.edge_count()?, 1);
            assert_eq!(r.neighbors(a, Direction::Outgoing, None)?, [b]);
            assert_eq!(r.nodes_with_label("Brand new")?, [b]);
            assert_eq!(
                r.get_node(a)?.and_then(|n| n.properties.get("n").cloned()),
                Some(V::Int(7))
            );
        }
        assert_eq!(s.node_count()?, 1);
        assert_eq!(prop(&s, a)?, None);
        tx.abort();
        assert_eq!(s.node_count()?, 1);
        assert_eq!(s.edge_count()?, 0);
        let mut tx = s.begin()?;
        let b = tx.create_node(&[], Properties::new())?;
        tx.create_edge(a, b, "T", Properties::new())?;
        tx.commit()?;
        assert_eq!(s.neighbors(a, Direction::Outgoing, None)?, [b]);
        assert!(s.verify()?.is_clean());
        Ok(())
    }

    /// Two transactions read the same value and both write: the second
    /// commit fails with a conflict and writes nothing; a transaction
    /// whose reads did not change commits over other writes.
    #[test]
    fn a_changed_read_fails_the_commit_with_a_conflict() -> Result<()> {
        let s = store()?;
        let x = s.create_node(&[], Properties::from([("n".to_owned(), V::Int(5))]))?;
        let y = s.create_node(&[], Properties::new())?;
        let mut t1 = s.begin()?;
        let mut t2 = s.begin()?;
        for t in [&mut t1, &mut t2] {
            let n = t
                .read()
                .get_node(x)?
                .map(|n| n.properties.get("n").cloned());
            assert_eq!(n, Some(Some(V::Int(5))));
            t.set_node_property(x, "n", V::Int(6))?;
        }
        t1.commit()?;
        let e = t2.commit().err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::Conflict));
        assert_eq!(prop(&s, x)?, Some(V::Int(6)));
        // A write to another node does not conflict with a read of x.
        let mut t3 = s.begin()?;
        let _ = t3.read().get_node(x)?;
        t3.set_node_property(x, "m", V::Int(1))?;
        s.set_node_property(y, "n", V::Int(1))?;
        t3.commit()?;
        // A plain write to what a transaction read does.
        let mut t4 = s.begin()?;
        let _ = t4.read().get_node(y)?;
        t4.set_node_property(x, "n", V::Int(9))?;
        s.set_node_property(y, "n", V::Int(2))?;
        assert_eq!(
            t4.commit().err().map(|e| e.kind()),
            Some(ErrorKind::Conflict)
        );
        assert_eq!(prop(&s, x)?, Some(V::Int(6)));
        Ok(())
    }

    /// A scan that saw no edge conflicts with an edge created meanwhile
    /// (a phantom); a read-only transaction always commits.
    #[test]
    fn phantoms_conflict_and_read_only_transactions_commit() -> Result<()> {
        let s = store()?;
        let a = s.create_node(&[], Properties::new())?;
        let b = s.create_node(&[], Properties::new())?;
        let mut tx = s.begin()?;
        assert_eq!(tx.read().degree(a, Direction::Outgoing, Some("T"))?, 0);
        tx.create_edge(a, b, "T", Properties::new())?;
        let reader = s.begin()?;
        assert_eq!(reader.read().node_count()?, 2);
        s.create_edge(a, b, "T", Properties::new())?;
        assert_eq!(
            tx.commit().err().map(|e| e.kind()),
            Some(ErrorKind::Conflict)
        );
        reader.commit()?;
        assert_eq!(s.edge_count()?, 1);
        Ok(())
    }

    /// A failing write returns its error at the call and leaves the
    /// transaction as it was; the transaction still commits the rest.
    #[test]
    fn a_failed_write_leaves_the_transaction_as_it_was() -> Result<()> {
        let s = store()?;
        let a = s.create_node(&[], Properties::new())?;
        let mut tx = s.begin()?;
        tx.set_node_property(a, "n", V::Int(1))?;
        let missing = graph_core::NodeId(999);
        let e = tx.set_node_property(missing, "n", V::Int(1)).err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::NodeNotFound));
        let e = tx.create_edge(a, missing, "T", Properties::new()).err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::NodeNotFound));
        assert_eq!(tx.len(), 1);
        tx.commit()?;
        assert_eq!(prop(&s, a)?, Some(V::Int(1)));
        assert_eq!(s.edge_count()?, 0);
        Ok(())
    }

    /// The closure form retries a conflicting transaction and returns
    /// the closure's value; the closure's own error aborts it.
    #[test]
    fn the_closure_form_retries_conflicts() -> Result<()> {
        let s = store()?;
        let x = s.create_node(&[], Properties::from([("n".to_owned(), V::Int(0))]))?;
        let mut runs = 0;
        let out = s.transaction(|tx| {
            runs += 1;
            let n = match tx
                .read()
                .get_node(x)?
                .and_then(|n| n.properties.get("n").cloned())
            {
                Some(V::Int(n)) => n,
                _ => 0,
            };
            if runs == 1 {
                // Another writer changes what this run read.
                s.set_node_property(x, "n", V::Int(10))?;
            }
            tx.set_node_property(x, "n", V::Int(n + 1))?;
            Ok(n + 1)
        })?;
        assert_eq!((runs, out), (2, 11));
        assert_eq!(prop(&s, x)?, Some(V::Int(11)));
        let e = s
            .transaction(|tx| {
                tx.set_node_property(x, "n", V::Int(0))?;
                Err::<(), _>(graph_core::Error::invalid("changed my mind"))
            })
            .err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
        assert_eq!(prop(&s, x)?, Some(V::Int(11)));
        Ok(())
    }

    /// A label or type new to the store is the transaction's own until it
    /// commits: an abort leaves the dictionary as it was; reading that a
    /// type has no edges, then creating the first, commits; another
    /// commit bringing the type in between conflicts.
    #[test]
    fn new_names_stay_in_the_transaction_until_it_commits() -> Result<()> {
        let s = store()?;
        let a = s.create_node(&[], Properties::new())?;
        let mut tx = s.begin()?;
        tx.add_label(a, "Fresh")?;
        assert_eq!(tx.read().nodes_with_label("Fresh")?, [a]);
        tx.abort();
        assert!(s.reader().label_counts()?.is_empty());
        let mut tx = s.begin()?;
        assert_eq!(tx.read().degree(a, Direction::Outgoing, Some("NEW"))?, 0);
        tx.create_edge(a, a, "NEW", Properties::new())?;
        assert_eq!(tx.read().degree(a, Direction::Outgoing, Some("NEW"))?, 1);
        tx.commit()?;
        assert_eq!(s.degree(a, Direction::Outgoing, Some("NEW"))?, 1);
        let mut tx = s.begin()?;
        assert_eq!(tx.read().nodes_with_label("Later")?, []);
        tx.add_label(a, "Later")?;
        let b = s.create_node(&["Later"], Properties::new())?;
        assert_eq!(
            tx.commit().err().map(|e| e.kind()),
            Some(ErrorKind::Conflict)
        );
        assert_eq!(s.nodes_with_label("Later")?, [b]);
        assert!(s.verify()?.is_clean());
        Ok(())
    }

    /// Deleting a node in a transaction, then creating and deleting edges,
    /// leaves counts and indexes right (the store verifies clean).
    #[test]
    fn deletions_and_creations_in_one_transaction_verify_clean() -> Result<()> {
        let s = store()?;
        s.create_index("P", "n")?;
        let a = s.create_node(&["P"], Properties::from([("n".to_owned(), V::Int(1))]))?;
        let b = s.create_node(&["P"], Properties::new())?;
        let e = s.create_edge(a, b, "T", Properties::new())?;
        let mut tx = s.begin()?;
        let c = tx.create_node(&["P"], Properties::from([("n".to_owned(), V::Int(1))]))?;
        let f = tx.create_edge(c, b, "T", Properties::new())?;
        tx.delete_edge(f)?;
        tx.detach_delete_node(a)?;
        assert_eq!(tx.read().find_nodes("P", "n", &V::Int(1))?, [c]);
        assert_eq!(tx.read().get_edge(e)?, None);
        tx.commit()?;
        assert_eq!(s.find_nodes("P", "n", &V::Int(1))?, [c]);
        assert_eq!((s.node_count()?, s.edge_count()?), (2, 0));
        assert!(s.verify()?.is_clean());
        Ok(())
    }
}
