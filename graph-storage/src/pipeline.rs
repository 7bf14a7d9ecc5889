//! The commit pipeline: everything a commit goes through, owned by one
//! [`CommitPipeline`] that the store holds: the backend, the queue for group
//! commit, the writer lock and the state only its holder touches, the id
//! allocators, the symbol dictionary and index catalog in memory, and the
//! one function that writes a commit ([`CommitPipeline::write`]).
//!
//! Every commit request enters a queue. When no committer is leading, the
//! caller becomes the leader: it takes the whole queue (its own request
//! and those that arrived while the previous group was writing) and
//! commits it under the writer lock; the others wait on a condition
//! variable and return as soon as their outcome is in their slot, without
//! taking the writer lock (so none waits behind the next group's fsync):
//! consecutive requests of the same kind go into one backend write, each
//! request still all-or-nothing on its own. One fsync thus serves many
//! `Strict` writers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use graph_core::codec::{self, SymbolId, meta};
use graph_core::{
    ColumnFamily, Durability, EdgeId, Error, NodeId, Precondition, Result, StorageBackend,
    WriteBatch,
};

use crate::adjacency::{AdjacencyCache, Graph, RamSource};
use crate::catalog::{Catalog, Symbols, allocate_symbol, symbol_entries};
use crate::clock::Clock;
use crate::ids::IdAllocator;
use crate::known::KnownNodes;
use crate::mutation::Mutation;
use crate::overlay::{Pending, ReadSet, TxView};
use crate::precondition;
use crate::prepare::{self, BatchPool, Prepared};
use crate::read::GraphReader;
use crate::txn::{Counters, Effects, Txn, apply_delta};

/// State only the (single) committing writer touches.
#[derive(Debug)]
pub(crate) struct WriterState {
    pub(crate) counters: Counters,
    pub(crate) known: KnownNodes,
    pub(crate) next_index_id: u32,
}

/// What a store's commits go through (see the module documentation).
pub(crate) struct CommitPipeline<B: StorageBackend> {
    /// Declared first, so it is dropped first: dropping it stops and joins
    /// its build thread, which holds the backend.
    adjacency: AdjacencyCache,
    backend: Arc<B>,
    durability: Durability,
    clock: Arc<dyn Clock>,
    writer: Mutex<WriterState>,
    queue: Mutex<Queue>,
    /// Signalled when a leader has committed its group.
    turn: Condvar,
    /// Write batches of creation-only commits, kept for reuse.
    batches: BatchPool,
    node_ids: IdAllocator,
    edge_ids: IdAllocator,
    symbols: RwLock<Symbols>,
    catalog: RwLock<Arc<Catalog>>,
    /// Held by an exclusive transaction from its beginning to its end.
    exclusive: Mutex<()>,
    /// Bumped before a catalog change is written and after it is
    /// published (odd in between), so a snapshot can be paired with the
    /// catalog in memory (`snapshot_with_catalog`).
    catalog_changes: AtomicU64,
}

/// What the store read from its metadata when it opened, to start the
/// pipeline with.
pub(crate) struct Opened {
    pub(crate) writer: WriterState,
    pub(crate) next_node_id: u64,
    pub(crate) next_edge_id: u64,
    pub(crate) symbols: Symbols,
    pub(crate) catalog: Catalog,
    /// Whether to hold the adjacency in RAM, and within how many bytes.
    pub(crate) adjacency: (bool, u64),
}

/// How many touched records one general-path write gathers at most.
const GROUP_LIMIT: usize = 50_000;

/// Commit requests waiting for a leader, and whether one is committing.
#[derive(Default)]
struct Queue {
    requests: Vec<Request>,
    leading: bool,
}

/// Ends a leader's turn when dropped (also if its commit panicked): the
/// next waiter with a request left in the queue leads.
struct Handoff<'p, B: StorageBackend>(&'p CommitPipeline<B>);

impl<B: StorageBackend> Drop for Handoff<'_, B> {
    fn drop(&mut self) {
        self.0
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .leading = false;
        self.0.turn.notify_all();
    }
}

/// One caller's commit waiting in the queue.
pub(crate) struct Request {
    work: Work,
    slot: Arc<Slot>,
}

enum Work {
    /// Any mutations, applied through a transaction under the lock.
    General(Vec<Mutation>),
    /// Mutations whose creations carry caller-chosen ids, which must be
    /// checked against the store, and entries written with them in the
    /// same batch if they all apply (replication state; may be empty).
    Explicit(Vec<Mutation>, WriteBatch),
    /// Creations encoded before the lock.
    Prepared(Prepared),
    /// A transaction's mutations, applied only if what it read is
    /// unchanged.
    Checked(Box<Checked>),
}

/// Transactions accepted into one write, in order.
struct CheckedRun {
    /// Their writes, each laid over those before.
    pending: Pending,
    /// The committed counts with their changes.
    counters: Counters,
    effects: Vec<Effects>,
    accepted: Vec<Arc<Slot>>,
}

impl CheckedRun {
    fn new(counters: Counters) -> Self {
        CheckedRun {
            pending: Pending::default(),
            counters,
            effects: Vec::new(),
            accepted: Vec::new(),
        }
    }

    /// Lays a validated transaction's own writes over the run's, with the
    /// counts rewritten from the run's; returns its effects.
    ///
    /// # Errors
    /// Corruption if a count would go below zero; invalid argument for a
    /// range deletion. The run is unchanged then.
    fn take_written(&mut self, w: Written) -> Result<Effects> {
        let nodes = apply_delta(self.counters.node_count, w.node_delta)?;
        let edges = apply_delta(self.counters.edge_count, w.edge_delta)?;
        // A count the transaction wrote holds its snapshot's value plus
        // its change (even when the change came back to zero).
        let wrote = |key: &[u8]| w.pending.contains(ColumnFamily::Default, key);
        let counts = [
            (
                meta::NODE_COUNT,
                w.node_delta != 0 || wrote(meta::NODE_COUNT),
                nodes,
            ),
            (
                meta::EDGE_COUNT,
                w.edge_delta != 0 || wrote(meta::EDGE_COUNT),
                edges,
            ),
        ];
        self.pending.absorb_pending(w.pending);
        for (key, rewrite, value) in counts {
            if rewrite {
                self.pending
                    .put(ColumnFamily::Default, key, &codec::encode_u64_value(value));
            }
        }
        self.counters.node_count = nodes;
        self.counters.edge_count = edges;
        Ok(Effects {
            node_delta: w.node_delta,
            edge_delta: w.edge_delta,
            created: w.created,
            deleted: w.deleted,
            ..Effects::default()
        })
    }
}

/// A transaction's or conditional write's commit request.
pub(crate) struct Checked {
    reads: ReadSet,
    /// Checked after the reads, on the state the write applies to.
    conditions: Vec<Precondition>,
    mutations: Vec<Mutation>,
    /// Whether creations carry caller-chosen ids, to be checked.
    explicit: bool,
    /// Entries written with the mutations if they apply (replication
    /// state).
    with: Option<WriteBatch>,
    written: Option<Written>,
}

/// A transaction's writes as it computed them over its snapshot: valid as
/// they are once its reads are found unchanged, every derived entry
/// having been computed from what it read, except the counts (rewritten
/// from the committed ones) and entries of an index catalog that changed
/// since (then the mutations are applied again instead).
pub(crate) struct Written {
    pub(crate) pending: Pending,
    /// The catalog the index entries were computed with.
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) node_delta: i64,
    pub(crate) edge_delta: i64,
    pub(crate) created: Vec<NodeId>,
    pub(crate) deleted: Vec<NodeId>,
}

/// A request on the general path.
struct GeneralRequest {
    mutations: Vec<Mutation>,
    explicit: bool,
    /// Entries written with the mutations if they all apply.
    with: Option<WriteBatch>,
    slot: Arc<Slot>,
}

/// Where a committer leaves a queued request's outcome.
#[derive(Default)]
struct Slot(Mutex<Option<Result<()>>>);

impl Slot {
    fn set(&self, r: Result<()>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
    }

    fn take(&self) -> Option<Result<()>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl<B: StorageBackend + 'static> CommitPipeline<B> {
    /// A pipeline over `backend`, starting from what the store read when it
    /// opened; the adjacency in RAM starts building now if it is on.
    pub(crate) fn new(
        backend: B,
        durability: Durability,
        clock: Arc<dyn Clock>,
        opened: Opened,
    ) -> Self {
        let backend = Arc::new(backend);
        let (on, budget) = opened.adjacency;
        let adjacency = if on {
            AdjacencyCache::start(
                &backend,
                budget,
                opened.next_node_id,
                opened.writer.counters.edge_count,
            )
        } else {
            AdjacencyCache::off(budget)
        };
        CommitPipeline {
            adjacency,
            backend,
            durability,
            clock,
            writer: Mutex::new(opened.writer),
            queue: Mutex::new(Queue::default()),
            turn: Condvar::new(),
            batches: BatchPool::default(),
            node_ids: IdAllocator::new(meta::NEXT_NODE_ID, opened.next_node_id),
            edge_ids: IdAllocator::new(meta::NEXT_EDGE_ID, opened.next_edge_id),
            symbols: RwLock::new(opened.symbols),
            catalog: RwLock::new(Arc::new(opened.catalog)),
            exclusive: Mutex::new(()),
            catalog_changes: AtomicU64::new(0),
        }
    }
}

impl<B: StorageBackend> CommitPipeline<B> {
    /// The backend.
    pub(crate) fn backend(&self) -> &B {
        &self.backend
    }

    /// Gives the backend back, once the adjacency's build thread (the only
    /// other holder of the backend) has stopped.
    pub(crate) fn into_backend(self) -> B {
        let CommitPipeline {
            adjacency, backend, ..
        } = self;
        drop(adjacency);
        match Arc::try_unwrap(backend) {
            Ok(backend) => backend,
            // The build thread was joined, and nothing else is lent the
            // `Arc`.
            Err(_) => unreachable!("the pipeline's backend is still shared"),
        }
    }

    /// The adjacency in RAM.
    pub(crate) fn adjacency(&self) -> &AdjacencyCache {
        &self.adjacency
    }

    /// A snapshot of the engine and the adjacency version of the same
    /// moment (none if the adjacency is not ready).
    pub(crate) fn snapshot(&self) -> (B::Snapshot<'_>, Option<Arc<Graph>>) {
        let _guard = self.adjacency.snapshot_guard();
        (self.backend.snapshot(), self.adjacency.pin_exact())
    }

    /// The durability of every commit.
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// The clock that stamps creations and updates.
    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Write batches kept for reuse by creation-only commits.
    pub(crate) fn batches(&self) -> &BatchPool {
        &self.batches
    }

    /// The in-memory symbol dictionary.
    pub(crate) fn symbols(&self) -> &RwLock<Symbols> {
        &self.symbols
    }

    /// The symbol dictionary, read-locked.
    pub(crate) fn read_symbols(&self) -> RwLockReadGuard<'_, Symbols> {
        self.symbols.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer lock: held by one committer at a time, it guards the
    /// state only commits touch.
    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, WriterState> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index catalog as of now.
    pub(crate) fn current_catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Writes a change of the index catalog (`batch`: the definition and
    /// the index entries added or removed), then publishes `catalog`. The
    /// caller holds the writer lock.
    pub(crate) fn write_catalog(&self, batch: &WriteBatch, catalog: Catalog) -> Result<()> {
        self.catalog_changes.fetch_add(1, Ordering::SeqCst);
        let written = self.write(batch, &[]);
        if written.is_ok() {
            *self.catalog.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
        }
        self.catalog_changes.fetch_add(1, Ordering::SeqCst);
        written
    }

    /// A snapshot of the engine and the index catalog it holds: the one in
    /// memory when no catalog change overlapped the snapshot, else the one
    /// read from the snapshot.
    ///
    /// # Errors
    /// Corruption if the snapshot's catalog must be read and does not
    /// decode.
    pub(crate) fn snapshot_with_catalog(&self) -> Result<(B::Snapshot<'_>, Arc<Catalog>)> {
        let before = self.catalog_changes.load(Ordering::SeqCst);
        let catalog = self.current_catalog();
        let snapshot = self.backend.snapshot();
        if before.is_multiple_of(2) && self.catalog_changes.load(Ordering::SeqCst) == before {
            return Ok((snapshot, catalog));
        }
        let catalog = Arc::new(Catalog::load(&snapshot)?);
        Ok((snapshot, catalog))
    }

    /// The node and edge id allocators.
    pub(crate) fn id_allocators(&self) -> (&IdAllocator, &IdAllocator) {
        (&self.node_ids, &self.edge_ids)
    }

    /// Reserves a new node id.
    pub(crate) fn reserve_node_id(&self) -> Result<NodeId> {
        self.node_ids.allocate(&*self.backend).map(NodeId)
    }

    /// Reserves a new edge id.
    pub(crate) fn reserve_edge_id(&self) -> Result<EdgeId> {
        self.edge_ids.allocate(&*self.backend).map(EdgeId)
    }

    /// Commits `mutations` atomically: all of them, or none when any fails
    /// (the error is the earliest failing mutation's).
    pub(crate) fn commit_mutations(&self, mutations: Vec<Mutation>) -> Result<()> {
        if mutations.is_empty() {
            return Ok(());
        }
        let work = if prepare::is_creation_only(&mutations) {
            Work::Prepared(self.prepare(mutations)?)
        } else {
            Work::General(mutations)
        };
        self.enqueue(work)
    }

    /// Commits creations encoded by a `GraphBatch` (sorted here, on the
    /// caller's thread, before the writer lock is taken).
    pub(crate) fn commit_encoded(&self, mut prepared: Prepared) -> Result<()> {
        prepared.batch.sort_by_key_in_parallel();
        self.enqueue(Work::Prepared(prepared))
    }

    /// The id of label or edge type `name`, interning it if it is new (a
    /// synced write of its dictionary entries).
    ///
    /// # Errors
    /// The backend's write error; invalid argument when symbol ids run out.
    pub(crate) fn symbol_id(&self, name: &str) -> Result<SymbolId> {
        let known = self
            .symbols
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .id(name);
        match known {
            Some(id) => Ok(id),
            None => self
                .intern(&[name])?
                .into_iter()
                .find(|(n, _)| &**n == name)
                .map(|(_, id)| id)
                .ok_or_else(|| Error::Backend(format!("symbol {name:?} was not interned"))),
        }
    }

    /// Commits a transaction's `mutations` if none of its `reads` changed
    /// (see `overlay.rs`).
    /// `written`, when given, is used as it is if the catalog is the same
    /// at commit; the mutations are applied again otherwise.
    pub(crate) fn commit_checked(
        &self,
        reads: ReadSet,
        mutations: Vec<Mutation>,
        written: Option<Written>,
    ) -> Result<()> {
        self.enqueue(Work::Checked(Box::new(Checked {
            reads,
            conditions: Vec::new(),
            mutations,
            explicit: false,
            with: None,
            written,
        })))
    }

    /// Commits `mutations` (and `with`) if every one of `conditions`
    /// holds on the state they apply to.
    pub(crate) fn commit_conditional(
        &self,
        conditions: Vec<Precondition>,
        mutations: Vec<Mutation>,
        explicit: bool,
        with: Option<WriteBatch>,
    ) -> Result<()> {
        self.enqueue(Work::Checked(Box::new(Checked {
            reads: ReadSet::default(),
            conditions,
            mutations,
            explicit,
            with,
            written: None,
        })))
    }

    /// The lock an exclusive transaction holds from beginning to end.
    pub(crate) fn lock_exclusive(&self) -> MutexGuard<'_, ()> {
        self.exclusive
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits mutations whose creation ids were chosen by the caller.
    pub(crate) fn commit_explicit(&self, mutations: Vec<Mutation>, with: WriteBatch) -> Result<()> {
        if mutations.is_empty() && with.is_empty() {
            return Ok(());
        }
        self.enqueue(Work::Explicit(mutations, with))
    }

    fn enqueue(&self, work: Work) -> Result<()> {
        let slot = Arc::new(Slot::default());
        let mut queue = self.queue_lock();
        queue.requests.push(Request {
            work,
            slot: Arc::clone(&slot),
        });
        loop {
            // A leader fills the slots of its group before its turn ends.
            if let Some(result) = slot.take() {
                return result;
            }
            if !queue.leading {
                break;
            }
            queue = self
                .turn
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        queue.leading = true;
        let group = std::mem::take(&mut queue.requests);
        drop(queue);
        let handoff = Handoff(self);
        {
            let mut writer = self.lock_writer();
            self.commit_group(&mut writer, group);
        }
        drop(handoff);
        slot.take()
            .unwrap_or_else(|| Err(Error::Backend("a queued commit was not processed".into())))
    }

    fn queue_lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes creation-only mutations outside the writer lock, interning
    /// their labels and edge types first.
    fn prepare(&self, mutations: Vec<Mutation>) -> Result<Prepared> {
        let names = prepare::names(&mutations);
        let mut resolved = prepare::Resolved::default();
        let mut missing = Vec::new();
        {
            let symbols = self.symbols.read().unwrap_or_else(PoisonError::into_inner);
            for name in &names {
                match symbols.id(name) {
                    Some(id) => {
                        resolved.insert(name, id);
                    }
                    None => missing.push(*name),
                }
            }
        }
        if !missing.is_empty() {
            for (name, id) in self.intern(&missing)? {
                resolved.insert(&name, id);
            }
        }
        let catalog = self.current_catalog();
        Ok(prepare::prepare(
            mutations,
            &resolved,
            catalog,
            || self.clock.now(),
            &self.batches,
        ))
    }

    /// Adds `names` to the symbol dictionary (one synced write of the
    /// entries of those not there yet) and returns the ids of all of them:
    /// names another committer interned since the caller looked are
    /// returned too, with their existing ids.
    fn intern(&self, names: &[&str]) -> Result<Vec<(Arc<str>, SymbolId)>> {
        let _writer = self.lock_writer();
        let (batch, new, mut out) = {
            let symbols = self.symbols.read().unwrap_or_else(PoisonError::into_inner);
            let mut batch = WriteBatch::new();
            let mut new = Vec::new();
            let mut next = symbols.next;
            let mut out = Vec::new();
            for name in names {
                if let Some(id) = symbols.id(name) {
                    out.push((Arc::from(*name), id));
                    continue;
                }
                let id = allocate_symbol(&mut next)?;
                for (k, v) in symbol_entries(name, id) {
                    batch.put(ColumnFamily::Default, &k, &v);
                }
                new.push((Arc::from(*name), id));
            }
            if new.is_empty() {
                return Ok(out);
            }
            batch.put(
                ColumnFamily::Default,
                meta::NEXT_SYMBOL_ID,
                &codec::encode_u32_value(next),
            );
            (batch, new, out)
        };
        self.write(&batch, &new)?;
        out.extend(new);
        Ok(out)
    }

    /// Writes `batch`, then publishes its `new` symbols in memory: the one
    /// write of every commit, index change and repair of the store (id
    /// leases and the dictionary entries of a creation-only commit's new
    /// symbols are written ahead, on their own). The caller holds the
    /// writer lock.
    ///
    /// The batch's adjacency changes are queued for the adjacency in RAM
    /// before this returns, so before the commit is acknowledged; a
    /// snapshot taken meanwhile waits for both (see `adjacency/cache.rs`).
    ///
    /// Publishing only after a successful write means no committer (in
    /// particular no creation-only commit encoding outside the writer lock)
    /// can use a symbol whose dictionary entry is not committed. Readers
    /// that meet a committed symbol before it is published resolve it from
    /// the dictionary in their view (see `GraphReader`).
    pub(crate) fn write(&self, batch: &WriteBatch, new: &[(Arc<str>, SymbolId)]) -> Result<()> {
        let changes = self.adjacency.changes_of(batch);
        if changes.is_some() {
            self.adjacency.make_room();
        }
        let _visible = changes.as_ref().map(|_| self.adjacency.commit_guard());
        self.backend.write(batch, self.durability)?;
        if !new.is_empty() {
            let mut symbols = self.symbols.write().unwrap_or_else(PoisonError::into_inner);
            for (name, id) in new {
                symbols.insert(Arc::clone(name), *id);
                symbols.next = symbols.next.max(id.0 + 1);
            }
        }
        // After the symbols: every type id in the adjacency has its name
        // published.
        if let Some(changes) = changes {
            self.adjacency.enqueue(changes);
        }
        Ok(())
    }

    /// Commits a group taken from the queue, in order, in runs of the same
    /// kind.
    fn commit_group(&self, writer: &mut WriterState, group: Vec<Request>) {
        let catalog = self.current_catalog();
        let mut general: Vec<GeneralRequest> = Vec::new();
        let mut prepared = Vec::new();
        let mut checked = Vec::new();
        for request in group {
            let mut work = request.work;
            if let Work::Prepared(p) = &mut work
                && !Arc::ptr_eq(&p.catalog, &catalog)
            {
                // An index was created or dropped since encoding.
                if let Err(e) = prepare::reindex(p, Arc::clone(&catalog), &self.batches) {
                    request.slot.set(Err(e));
                    continue;
                }
            }
            // Ends the runs of the other kinds, in the order they came.
            let kind = match &work {
                Work::General(_) | Work::Explicit(..) => 0,
                Work::Prepared(_) => 1,
                Work::Checked(_) => 2,
            };
            if kind != 0 && !general.is_empty() {
                self.commit_general(writer, std::mem::take(&mut general));
            }
            if kind != 1 && !prepared.is_empty() {
                self.commit_prepared(writer, std::mem::take(&mut prepared));
            }
            if kind != 2 && !checked.is_empty() {
                self.commit_checked_run(writer, std::mem::take(&mut checked));
            }
            let (mutations, explicit, with) = match work {
                Work::General(m) => (m, false, None),
                Work::Explicit(m, with) => (m, true, Some(with)),
                Work::Prepared(p) => {
                    prepared.push((p, request.slot));
                    continue;
                }
                Work::Checked(c) => {
                    checked.push((*c, request.slot));
                    continue;
                }
            };
            general.push(GeneralRequest {
                mutations,
                explicit,
                with,
                slot: request.slot,
            });
        }
        if !prepared.is_empty() {
            self.commit_prepared(writer, prepared);
        }
        if !general.is_empty() {
            self.commit_general(writer, general);
        }
        if !checked.is_empty() {
            self.commit_checked_run(writer, checked);
        }
    }

    /// A run of transactions: each checked against the committed state
    /// with the writes of those accepted before it laid over it, then
    /// applied there; the writes of all accepted written together (a
    /// transaction naming a new label or edge type ends the run, so the
    /// next ones find its symbols published).
    fn commit_checked_run(&self, writer: &mut WriterState, requests: Vec<(Checked, Arc<Slot>)>) {
        let catalog = self.current_catalog();
        // Empty: every existence check reads the view, which holds the
        // run's own creations and deletions.
        let known = KnownNodes::default();
        let mut run = CheckedRun::new(writer.counters);
        for (checked, slot) in requests {
            let Checked {
                reads,
                conditions,
                mutations,
                explicit,
                with,
                written,
            } = checked;
            let view = TxView::new(&*self.backend, &run.pending, None);
            let checked = reads.validate(&view).and_then(|()| {
                if conditions.is_empty() {
                    return Ok(());
                }
                let reader = GraphReader::new(
                    &view,
                    &self.symbols,
                    Arc::clone(&catalog),
                    RamSource::Pinned(None),
                );
                precondition::check(&reader, &conditions)
            });
            if let Err(e) = checked {
                slot.set(Err(e));
                continue;
            }
            if let Some(w) =
                written.filter(|w| Arc::ptr_eq(&w.catalog, &catalog) || w.catalog.same_as(&catalog))
            {
                match run.take_written(w) {
                    Ok(fx) => {
                        run.effects.push(fx);
                        run.accepted.push(slot);
                    }
                    Err(e) => slot.set(Err(e)),
                }
                continue;
            }
            let built = (|| {
                let mut txn = Txn::new(&view, &known);
                txn.set_explicit_ids(explicit);
                for m in mutations {
                    txn.apply(m, self.clock.now())?;
                }
                let symbols = self.read_symbols();
                let counters = Counters {
                    next_symbol: symbols.next,
                    ..run.counters
                };
                let (mut batch, fx) = txn.build(&symbols, &catalog, &counters)?;
                if let Some(with) = &with {
                    batch.extend_from(with);
                }
                Ok((batch, fx))
            })();
            let (batch, fx) = match built {
                Ok(b) => b,
                Err(e) => {
                    slot.set(Err(e));
                    continue;
                }
            };
            if let Err(e) = run.pending.absorb(&batch) {
                slot.set(Err(e));
                continue;
            }
            let c = &mut run.counters;
            c.node_count = c.node_count.saturating_add_signed(fx.node_delta);
            c.edge_count = c.edge_count.saturating_add_signed(fx.edge_delta);
            let new_symbols = !fx.new_symbols.is_empty();
            run.effects.push(fx);
            run.accepted.push(slot);
            if new_symbols {
                let full = std::mem::replace(&mut run, CheckedRun::new(writer.counters));
                self.write_checked_run(writer, full);
                run.counters = writer.counters;
            }
        }
        self.write_checked_run(writer, run);
    }

    /// Writes a run of accepted transactions and applies their effects in
    /// memory, in order; tells each its outcome.
    fn write_checked_run(&self, writer: &mut WriterState, run: CheckedRun) {
        if run.accepted.is_empty() {
            return;
        }
        let new_symbols: Vec<(Arc<str>, SymbolId)> = run
            .effects
            .iter()
            .flat_map(|fx| fx.new_symbols.iter().cloned())
            .collect();
        let result = if run.pending.is_empty() {
            Ok(())
        } else {
            self.write(&run.pending.to_batch(), &new_symbols)
        };
        if result.is_ok() {
            for fx in run.effects {
                for id in fx.confirmed.iter().chain(&fx.created) {
                    writer.known.insert(id.0);
                }
                for id in &fx.deleted {
                    writer.known.remove(id.0);
                }
            }
            writer.counters.node_count = run.counters.node_count;
            writer.counters.edge_count = run.counters.edge_count;
        }
        for slot in run.accepted {
            slot.set(result.clone());
        }
    }

    /// The general path: each request applied to one transaction, rolled
    /// back alone if it fails; the survivors written together.
    fn commit_general(&self, writer: &mut WriterState, requests: Vec<GeneralRequest>) {
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let single = requests.len() == 1;
            let mut txn = Txn::new(&*self.backend, &writer.known);
            let mut accepted: Vec<Arc<Slot>> = Vec::new();
            let mut with_accepted = WriteBatch::new();
            for request in requests.by_ref() {
                let GeneralRequest {
                    mutations,
                    explicit,
                    with,
                    slot,
                } = request;
                let save = (!single).then(|| txn.savepoint());
                txn.set_explicit_ids(explicit);
                let mut outcome = Ok(());
                for m in mutations {
                    if let Err(e) = txn.apply(m, self.clock.now()) {
                        outcome = Err(e);
                        break;
                    }
                }
                match outcome {
                    Ok(()) => {
                        if let Some(with) = with {
                            with_accepted.extend_from(&with);
                        }
                        accepted.push(slot);
                    }
                    Err(e) => {
                        if let Some(save) = save {
                            txn.rollback(save);
                        }
                        slot.set(Err(e));
                    }
                }
                if txn.len() > GROUP_LIMIT {
                    break;
                }
            }
            if accepted.is_empty() {
                // A lone failed request may have left part of itself in the
                // transaction, which is dropped here unwritten.
                continue;
            }
            let built = self.build_txn(writer.counters, txn);
            let result = built.and_then(|(mut batch, fx)| {
                batch.extend_from(&with_accepted);
                batch.sort_by_key();
                self.write_effects(writer, &batch, fx)
            });
            for slot in accepted {
                slot.set(result.clone());
            }
        }
    }

    fn build_txn(&self, mut counters: Counters, txn: Txn<'_, B>) -> Result<(WriteBatch, Effects)> {
        let catalog = self.current_catalog();
        let symbols = self.symbols.read().unwrap_or_else(PoisonError::into_inner);
        counters.next_symbol = symbols.next;
        txn.build(&symbols, &catalog, &counters)
    }

    /// Writes a built transaction and applies its effects in memory.
    fn write_effects(
        &self,
        writer: &mut WriterState,
        batch: &WriteBatch,
        fx: Effects,
    ) -> Result<()> {
        for id in &fx.confirmed {
            writer.known.insert(id.0);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.write(batch, &fx.new_symbols)?;
        for id in &fx.created {
            writer.known.insert(id.0);
        }
        for id in &fx.deleted {
            writer.known.remove(id.0);
        }
        let c = &mut writer.counters;
        c.node_count = c.node_count.saturating_add_signed(fx.node_delta);
        c.edge_count = c.edge_count.saturating_add_signed(fx.edge_delta);
        Ok(())
    }

    /// The creation-only path: check endpoints, then write every accepted
    /// request's encoded batch plus the counts in one backend write.
    fn commit_prepared(&self, writer: &mut WriterState, requests: Vec<(Prepared, Arc<Slot>)>) {
        let mut batch = WriteBatch::new();
        let mut accepted: Vec<Arc<Slot>> = Vec::new();
        // Nodes created by the requests accepted so far, in order; as a set
        // only once a request has endpoints to check against them (a group
        // of node creations never builds it).
        let mut created_order: Vec<NodeId> = Vec::new();
        let mut created: Option<HashSet<NodeId>> = None;
        let (mut nodes, mut edges) = (0u64, 0u64);
        for (p, slot) in requests {
            let checked = if p.endpoints.is_empty() {
                self.check_endpoints(writer, &p, &HashSet::new())
            } else {
                let set = created.get_or_insert_with(|| created_order.iter().copied().collect());
                self.check_endpoints(writer, &p, set)
            };
            match checked {
                Ok(()) => {
                    if batch.is_empty() {
                        batch = p.batch;
                    } else {
                        batch.extend_from(&p.batch);
                        self.batches.give(p.batch);
                    }
                    nodes += p.created.len() as u64;
                    edges += p.edges;
                    if let Some(set) = created.as_mut() {
                        set.extend(p.created.iter().copied());
                    }
                    created_order.extend(p.created);
                    accepted.push(slot);
                }
                Err(e) => {
                    self.batches.give(p.batch);
                    slot.set(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let c = writer.counters;
        if nodes > 0 {
            batch.put(
                ColumnFamily::Default,
                meta::NODE_COUNT,
                &codec::encode_u64_value(c.node_count + nodes),
            );
        }
        if edges > 0 {
            batch.put(
                ColumnFamily::Default,
                meta::EDGE_COUNT,
                &codec::encode_u64_value(c.edge_count + edges),
            );
        }
        let result = self.write(&batch, &[]);
        self.batches.give(batch);
        if result.is_ok() {
            for id in created_order {
                writer.known.insert(id.0);
            }
            writer.counters.node_count += nodes;
            writer.counters.edge_count += edges;
        }
        for slot in accepted {
            slot.set(result.clone());
        }
    }

    /// Checks, in mutation order, that every edge endpoint exists: created
    /// earlier in this group, known to exist, or found in the backend. The
    /// earliest failure wins, including a validation error found while
    /// encoding.
    fn check_endpoints(
        &self,
        writer: &mut WriterState,
        p: &Prepared,
        created: &HashSet<NodeId>,
    ) -> Result<()> {
        let limit = p.error.as_ref().map_or(usize::MAX, |(i, _)| *i);
        for &(i, node) in &p.endpoints {
            if i >= limit {
                break;
            }
            if created.contains(&node) || writer.known.contains(node.0) {
                continue;
            }
            if self
                .backend
                .get(ColumnFamily::Nodes, &codec::node_key(node))?
                .is_some()
            {
                writer.known.insert(node.0);
                continue;
            }
            return Err(Error::NodeNotFound(node));
        }
        match &p.error {
            Some((_, e)) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use crate::GraphStore;
    use storage_memory::MemoryBackend;

    /// A creation-only commit looks its labels up, then interns the missing
    /// ones; a label another committer interned in between must come back
    /// with its id too (it was dropped, and encoding failed with "symbol
    /// was not interned": found by tests/tests/concurrency.rs under load).
    #[test]
    fn intern_returns_names_interned_meanwhile() -> graph_core::Result<()> {
        let store = GraphStore::open(MemoryBackend::new())?;
        let first = store.pipeline.intern(&["P"])?;
        let both = store.pipeline.intern(&["P", "X"])?;
        let names: Vec<&str> = both.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, ["P", "X"]);
        assert_eq!(both[0].1, first[0].1);
        assert_ne!(both[1].1, first[0].1);
        Ok(())
    }
}
