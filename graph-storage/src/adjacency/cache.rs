//! [`AdjacencyCache`]: the adjacency in RAM of one store, its state, the
//! thread that builds it and applies commits to it, and the hooks a commit
//! goes through.
//!
//! Every commit goes through
//! [`CommitPipeline::write`](crate::pipeline::CommitPipeline::write), the
//! one write of the store, under the writer lock: it decodes the batch's
//! adjacency entries ([`AdjacencyCache::changes_of`]), writes the batch,
//! then queues the changes under the commit's sequence number
//! ([`AdjacencyCache::enqueue`]) before the commit is acknowledged. The
//! adjacency's own thread applies queued commits in order and records the
//! last one applied. The invariant: the adjacency answers a read only
//! when it holds every commit queued (applied == committed); otherwise the
//! engine answers. So a reader never sees from RAM an edge that is not
//! committed, nor misses one whose commit returned; and a commit pays for
//! decoding its changes, not for applying them (the other core does),
//! which keeps ingestion at the engine's pace. When commits stop, the
//! thread catches up within the time of applying what is queued, and reads
//! are served from RAM again. A snapshot pins the version holding exactly
//! its commits (it waits for the thread, briefly, with commits held back
//! by the visibility lock), or reads adjacency from its engine snapshot.
//!
//! The same thread first builds the adjacency from `indices` after the
//! store opens; commits meanwhile are queued, and replayed over what the
//! build scanned. Replaying is exact because a change says what an entry
//! is afterwards (written or deleted), so replaying a change the scan
//! already saw leaves the entry as it was.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use graph_core::codec::{self, AdjacencyKey, index_tag};
use graph_core::{BatchOp, ColumnFamily, EdgeId, Error, Result, StorageBackend, WriteBatch};

use super::build::{self, Limits, Stop};
use super::column::{Column, EdgeValue};
use super::graph::{Graph, IN, OUT, Op, estimate_bytes};
use super::page::{Change, Entry};

/// What the adjacency in RAM of a store is doing, from
/// [`GraphStore::adjacency_status`](crate::GraphStore::adjacency_status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdjacencyStatus {
    /// Turned off by [`StoreOptions::adjacency`](crate::StoreOptions::adjacency):
    /// adjacency reads go to the engine.
    Off,
    /// Being built from `indices` on a thread of its own (since the store
    /// opened); until it is ready, adjacency reads go to the engine.
    Building {
        /// Bytes the adjacency is estimated to need (from the counts).
        needed: u64,
        /// The budget.
        budget: u64,
    },
    /// Held in RAM: adjacency reads are served from it.
    Ready {
        /// Bytes it holds.
        used: u64,
        /// The budget.
        budget: u64,
        /// Outgoing entries held (one per edge).
        edges: u64,
        /// How long the build took.
        built_in: Duration,
    },
    /// Needs more than the budget, or the store has node ids of 2^32 and
    /// above: adjacency reads go to the engine.
    DoesNotFit {
        /// Bytes needed (at least), or 0 when ids are the reason.
        needed: u64,
        /// The budget.
        budget: u64,
        /// Why, in words.
        reason: String,
    },
    /// The build failed (an engine error or a malformed adjacency key,
    /// also reported by the reads and by `verify`): adjacency reads go to
    /// the engine.
    Failed(String),
}

impl std::fmt::Display for AdjacencyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        match self {
            AdjacencyStatus::Off => write!(f, "off"),
            AdjacencyStatus::Building { needed, budget } => write!(
                f,
                "building (about {:.1} MiB needed, budget {:.1} MiB)",
                mib(*needed),
                mib(*budget)
            ),
            AdjacencyStatus::Ready {
                used,
                budget,
                edges,
                built_in,
            } => write!(
                f,
                "in RAM: {:.1} MiB used of a {:.1} MiB budget, {edges} edges, built in {:.2} s",
                mib(*used),
                mib(*budget),
                built_in.as_secs_f64()
            ),
            AdjacencyStatus::DoesNotFit {
                needed,
                budget,
                reason,
            } => write!(
                f,
                "not in RAM: {reason} (needs {:.1} MiB, budget {:.1} MiB)",
                mib(*needed),
                mib(*budget)
            ),
            AdjacencyStatus::Failed(why) => write!(f, "not in RAM: the build failed: {why}"),
        }
    }
}

enum State {
    Off,
    Building {
        needed: u64,
    },
    Ready {
        graph: Arc<Graph>,
        built_in: Duration,
    },
    DoesNotFit {
        needed: u64,
        reason: String,
    },
    Failed(String),
}

impl State {
    /// Whether commits queue their changes (building or ready).
    fn follows_commits(&self) -> bool {
        matches!(self, State::Building { .. } | State::Ready { .. })
    }
}

/// Commits queued for the adjacency's thread.
#[derive(Default)]
struct Queue {
    /// Each commit's sequence number and changes, in commit order.
    items: Vec<(u64, Changes)>,
    /// Adjacency changes queued.
    ops: usize,
    /// The sequence number of the last commit queued.
    committed: u64,
}

/// At most this many changes wait in the queue: a commit finding more
/// waits for the adjacency's thread to take them (at about 32 bytes a
/// change, 64 MiB).
const QUEUE_LIMIT: usize = 1 << 21;

/// How long a snapshot waits for the adjacency's thread to apply the
/// commits before it; after that it reads adjacency from the engine.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(1);

/// Shared by the store and the adjacency's thread.
struct Shared {
    budget: u64,
    state: RwLock<State>,
    queue: Mutex<Queue>,
    /// Signals the thread: commits queued, or the store closing.
    work: Condvar,
    /// Signals waiters: commits applied, the build ended, the queue taken.
    progress: Condvar,
    /// The sequence number of the last commit the graph holds.
    applied: AtomicU64,
    /// The sequence number of the last commit queued (as in the queue).
    committed: AtomicU64,
    /// Set when the store closes: the thread stops.
    cancel: AtomicBool,
    /// Whether commits queue their changes (building or ready), read
    /// without the state's lock, which the thread holds while it applies.
    follows: AtomicBool,
    /// The names of the projected edge properties, in column order (read
    /// by commits without the state's lock).
    columns: Mutex<Vec<Arc<str>>>,
}

impl Shared {
    /// Replaces the state (under its write lock, held by the caller).
    fn set(&self, state: &mut State, next: State) {
        self.follows
            .store(next.follows_commits(), Ordering::Release);
        if !matches!(next, State::Ready { .. }) {
            self.columns
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        *state = next;
    }

    fn follows(&self) -> bool {
        self.follows.load(Ordering::Acquire)
    }

    fn column_names(&self) -> Vec<Arc<str>> {
        self.columns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every waiter (holding the queue's lock, so none misses it).
    fn signal_progress(&self) {
        let _q = self.queue();
        self.progress.notify_all();
    }

    /// Whether the graph holds every commit queued.
    fn caught_up(&self) -> bool {
        self.applied.load(Ordering::Acquire) == self.committed.load(Ordering::Acquire)
    }

    /// Waits until the graph holds commit `target` (or the adjacency left
    /// RAM), at most until `deadline`, and, with `build`, for the build to
    /// end first (without it, a build under way returns at once); whether
    /// it is ready and holds it.
    fn wait_for(&self, target: u64, deadline: Option<Instant>, build: bool) -> bool {
        let mut q = self.queue();
        loop {
            let (building, ready) = {
                let st = self.state();
                (
                    matches!(*st, State::Building { .. }),
                    matches!(*st, State::Ready { .. }),
                )
            };
            let holds = ready && self.applied.load(Ordering::Acquire) >= target;
            if holds || (!building && !ready) || (building && !build) {
                return holds;
            }
            q = match deadline {
                None => self
                    .progress
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    self.progress
                        .wait_timeout(q, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// The adjacency changes of one commit, decoded from its write batch
/// before it is written.
pub(crate) struct Changes {
    ops: Vec<Op>,
    /// The new values of the projected edge properties of each edge the
    /// batch writes or deletes, one per column in order.
    edge_values: Vec<(EdgeId, Vec<EdgeValue>)>,
    /// Set by a range deletion over edge records: the columns are dropped.
    drop_columns: bool,
    /// Set when the batch holds what the adjacency in RAM cannot follow.
    unsupported: Option<Unsupported>,
}

enum Unsupported {
    /// A node id of 2^32 or above.
    Id(u64),
    /// A range deletion over adjacency entries.
    RangeDelete,
}

/// The adjacency in RAM of one store (see the module documentation).
pub(crate) struct AdjacencyCache {
    shared: Arc<Shared>,
    /// Commits hold it (for writing) from their engine write until their
    /// changes are queued; a snapshot holds it (for reading) while it takes
    /// the engine's snapshot and pins the adjacency, so the two show the
    /// same commits.
    visibility: RwLock<()>,
    worker: Option<JoinHandle<()>>,
}

impl AdjacencyCache {
    fn new(budget: u64, state: State) -> Self {
        AdjacencyCache {
            shared: Arc::new(Shared {
                budget,
                follows: AtomicBool::new(state.follows_commits()),
                columns: Mutex::new(Vec::new()),
                state: RwLock::new(state),
                queue: Mutex::new(Queue::default()),
                work: Condvar::new(),
                progress: Condvar::new(),
                applied: AtomicU64::new(0),
                committed: AtomicU64::new(0),
                cancel: AtomicBool::new(false),
            }),
            visibility: RwLock::new(()),
            worker: None,
        }
    }

    /// A cache that stays off (`budget` is reported, not used).
    pub(crate) fn off(budget: u64) -> Self {
        Self::new(budget, State::Off)
    }

    /// Starts building the adjacency of `backend` within `budget` bytes on
    /// a thread of its own, unless the counts already say it cannot fit:
    /// `node_bound` is one past the largest node id ever handed out and
    /// `edges` the edge count.
    pub(crate) fn start<B: StorageBackend + 'static>(
        backend: &Arc<B>,
        budget: u64,
        node_bound: u64,
        edges: u64,
    ) -> Self {
        let needed = estimate_bytes(node_bound, edges);
        let initial = if node_bound > u64::from(u32::MAX) + 1 {
            State::DoesNotFit {
                needed: 0,
                reason: format!(
                    "node ids reach {}, and only ids below 2^32 are held in RAM",
                    node_bound - 1
                ),
            }
        } else if needed > budget {
            State::DoesNotFit {
                needed,
                reason: "the adjacency needs more than the budget".into(),
            }
        } else {
            State::Building { needed }
        };
        let building = matches!(initial, State::Building { .. });
        let mut cache = Self::new(budget, initial);
        if building {
            let (backend, shared) = (Arc::clone(backend), Arc::clone(&cache.shared));
            let spawned = std::thread::Builder::new()
                .name("graph-adjacency".into())
                .spawn(move || run(&*backend, &shared));
            match spawned {
                Ok(handle) => cache.worker = Some(handle),
                Err(e) => {
                    let shared = &cache.shared;
                    shared.set(
                        &mut shared.state_mut(),
                        State::Failed(format!("cannot start its thread: {e}")),
                    );
                }
            }
        }
        cache
    }

    /// The budget.
    pub(crate) fn budget(&self) -> u64 {
        self.shared.budget
    }

    /// The status, for stats.
    pub(crate) fn status(&self) -> AdjacencyStatus {
        let budget = self.shared.budget;
        match &*self.shared.state() {
            State::Off => AdjacencyStatus::Off,
            State::Building { needed } => AdjacencyStatus::Building {
                needed: *needed,
                budget,
            },
            State::Ready { graph, built_in } => AdjacencyStatus::Ready {
                used: graph.bytes() as u64,
                budget,
                edges: graph.entries(OUT),
                built_in: *built_in,
            },
            State::DoesNotFit { needed, reason } => AdjacencyStatus::DoesNotFit {
                needed: *needed,
                budget,
                reason: reason.clone(),
            },
            State::Failed(why) => AdjacencyStatus::Failed(why.clone()),
        }
    }

    /// Waits until the build is over and every commit made before this
    /// call is applied, and returns the status then.
    pub(crate) fn wait(&self) -> AdjacencyStatus {
        let target = self.shared.committed.load(Ordering::Acquire);
        self.shared.wait_for(target, None, true);
        self.status()
    }

    /// Runs `f` on the current adjacency if it is ready and holds every
    /// commit queued, without waiting: `None` while the thread applies or
    /// has commits to apply (the engine answers then). `f` runs under the
    /// read lock: it must not commit.
    pub(crate) fn with_graph<R>(&self, f: impl FnOnce(&Graph) -> R) -> Option<R> {
        let state = self.shared.state.try_read().ok()?;
        match &*state {
            State::Ready { graph, .. } if self.shared.caught_up() => Some(f(graph)),
            _ => None,
        }
    }

    /// The current adjacency, pinned, if it holds every commit queued,
    /// without waiting (see [`with_graph`](Self::with_graph)).
    pub(crate) fn try_pin(&self) -> Option<Arc<Graph>> {
        self.with_graph(|_| ())?;
        let state = self.shared.state.try_read().ok()?;
        match &*state {
            State::Ready { graph, .. } if self.shared.caught_up() => Some(Arc::clone(graph)),
            _ => None,
        }
    }

    /// The current adjacency, pinned, once it holds every commit made
    /// before this call (waiting for the thread to apply them, not for a
    /// build under way); `None` when it is not in RAM.
    pub(crate) fn pin(&self) -> Option<Arc<Graph>> {
        let target = self.shared.committed.load(Ordering::Acquire);
        if !self.shared.wait_for(target, None, false) {
            return None;
        }
        match &*self.shared.state() {
            State::Ready { graph, .. } => Some(Arc::clone(graph)),
            _ => None,
        }
    }

    /// The adjacency holding exactly the commits queued so far, pinned,
    /// for a snapshot: the caller holds [`snapshot_guard`](Self::snapshot_guard),
    /// so no commit is queued meanwhile. Waits at most [`SNAPSHOT_WAIT`]
    /// for the thread to apply them; `None` then, or when the adjacency is
    /// not in RAM.
    pub(crate) fn pin_exact(&self) -> Option<Arc<Graph>> {
        let target = self.shared.committed.load(Ordering::Acquire);
        if !self
            .shared
            .wait_for(target, Some(Instant::now() + SNAPSHOT_WAIT), false)
        {
            return None;
        }
        match &*self.shared.state() {
            State::Ready { graph, .. } if self.shared.applied.load(Ordering::Acquire) == target => {
                Some(Arc::clone(graph))
            }
            _ => None,
        }
    }

    /// Holds commits back while a snapshot takes the engine's snapshot and
    /// pins the adjacency.
    pub(crate) fn snapshot_guard(&self) -> RwLockReadGuard<'_, ()> {
        self.visibility
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Held by a commit from its engine write until [`enqueue`](Self::enqueue).
    pub(crate) fn commit_guard(&self) -> RwLockWriteGuard<'_, ()> {
        self.visibility
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The adjacency changes of `batch`, or `None` when the cache does not
    /// follow commits (off, not fitting, failed).
    pub(crate) fn changes_of(&self, batch: &WriteBatch) -> Option<Changes> {
        if !self.shared.follows() {
            return None;
        }
        let columns = self.shared.column_names();
        let mut changes = Changes {
            ops: Vec::new(),
            edge_values: Vec::new(),
            drop_columns: false,
            unsupported: None,
        };
        if !columns.is_empty() {
            changes.edge_values_of(batch, &columns);
        }
        for op in batch.iter() {
            let (key, change) = match op {
                BatchOp::Put {
                    cf: ColumnFamily::Indices,
                    key,
                    ..
                } => (key, Change::Put),
                BatchOp::Delete {
                    cf: ColumnFamily::Indices,
                    key,
                } => (key, Change::Delete),
                BatchOp::DeleteRange {
                    cf: ColumnFamily::Indices,
                    start,
                    end,
                } => {
                    // Keys from tag 01 up to tag 03 are adjacency entries.
                    if start < [index_tag::LABEL].as_slice() && end > [index_tag::OUT].as_slice() {
                        changes.unsupported = Some(Unsupported::RangeDelete);
                    }
                    continue;
                }
                _ => continue,
            };
            if !matches!(key.first(), Some(&(index_tag::OUT | index_tag::IN))) {
                continue;
            }
            // A malformed key is the engine's to refuse or store; it is no
            // adjacency entry the reads would decode either.
            let Ok(k) = AdjacencyKey::decode(key) else {
                continue;
            };
            let (Ok(node), Ok(other)) = (u32::try_from(k.node.0), u32::try_from(k.other.0)) else {
                changes.unsupported = Some(Unsupported::Id(k.node.0.max(k.other.0)));
                continue;
            };
            changes.ops.push(Op {
                dir: if key[0] == index_tag::OUT { OUT } else { IN },
                node,
                entry: Entry {
                    ty: k.edge_type.0,
                    other,
                    edge: k.edge.0,
                },
                change,
            });
        }
        Some(changes)
    }

    /// Waits, before a commit writes, while the queue is full (the thread
    /// is behind by [`QUEUE_LIMIT`] changes).
    pub(crate) fn make_room(&self) {
        let mut q = self.shared.queue();
        while q.ops >= QUEUE_LIMIT && self.shared.follows() {
            q = self
                .shared
                .progress
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Queues a written commit's changes for the adjacency's thread, under
    /// the next sequence number (the caller holds the writer lock and
    /// [`commit_guard`](Self::commit_guard)).
    pub(crate) fn enqueue(&self, changes: Changes) {
        if !self.shared.follows() {
            return;
        }
        let mut q = self.shared.queue();
        q.committed += 1;
        let seq = q.committed;
        q.ops += changes.ops.len();
        q.items.push((seq, changes));
        // While building, the queue is only replayed at the end: a queue
        // past the budget means the adjacency cannot be held.
        let building_over_budget = (q.ops * size_of::<Op>()) as u64 > self.shared.budget
            && self.shared.applied.load(Ordering::Acquire) == 0
            && matches!(
                self.shared.state.try_read().as_deref(),
                Ok(State::Building { .. })
            );
        self.shared.committed.store(seq, Ordering::Release);
        self.shared.work.notify_one();
        drop(q);
        if building_over_budget {
            let mut state = self.shared.state_mut();
            if let State::Building { .. } = *state {
                let next = State::DoesNotFit {
                    needed: self.shared.budget,
                    reason: "commits during the build needed more than the budget".into(),
                };
                self.shared.set(&mut state, next);
                self.shared.cancel.store(true, Ordering::Relaxed);
            }
            drop(state);
            self.shared.signal_progress();
        }
    }

    /// Adds a projected edge property to the adjacency, built by `build`
    /// (the caller holds the writer lock, so no commit changes edges
    /// meanwhile).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the adjacency is not in RAM or the
    /// column takes it over the budget; `build`'s errors.
    pub(crate) fn add_column(&self, build: impl FnOnce() -> Result<Column>) -> Result<()> {
        if self.pin().is_none() {
            self.wait();
        }
        if self.pin().is_none() {
            return Err(Error::invalid(format!(
                "edge properties are projected beside the adjacency in RAM, which is {}",
                self.status()
            )));
        }
        let column = build()?;
        let needed = column.bytes() as u64;
        let mut state = self.shared.state_mut();
        let State::Ready { graph, .. } = &mut *state else {
            return Err(Error::invalid(
                "the adjacency left RAM while the column was built",
            ));
        };
        let used = graph.bytes() as u64;
        if used.saturating_add(needed) > self.shared.budget {
            return Err(Error::invalid(format!(
                "the column needs {needed} bytes, and the adjacency in RAM holds {used} of a {} byte budget",
                self.shared.budget
            )));
        }
        let name: Arc<str> = column.name().into();
        Arc::make_mut(graph).add_column(column);
        let mut names = self
            .shared
            .columns
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        names.retain(|n| *n != name);
        names.push(name);
        Ok(())
    }

    /// Removes a projected edge property; whether there was one (the
    /// caller holds the writer lock).
    pub(crate) fn remove_column(&self, name: &str) -> bool {
        if self.pin().is_none() {
            return false;
        }
        let removed = match &mut *self.shared.state_mut() {
            State::Ready { graph, .. } if graph.column(name).is_some() => {
                Arc::make_mut(graph).remove_column(name)
            }
            _ => false,
        };
        self.shared
            .columns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|n| &**n != name);
        removed
    }
}

impl Changes {
    /// The projected values of every edge `batch` writes or deletes.
    fn edge_values_of(&mut self, batch: &WriteBatch, columns: &[Arc<str>]) {
        for op in batch.iter() {
            match op {
                BatchOp::Put {
                    cf: ColumnFamily::Edges,
                    key,
                    value,
                } => {
                    let Ok(id) = codec::decode_edge_key(key) else {
                        continue;
                    };
                    let values = match codec::decode_edge(key, value) {
                        Ok(edge) => columns
                            .iter()
                            .map(|c| EdgeValue::of_property(edge.properties.get(c)))
                            .collect(),
                        // The store wrote this record: it decodes. Were it
                        // not to, its value is no number.
                        Err(_) => vec![EdgeValue::NotANumber; columns.len()],
                    };
                    self.edge_values.push((id, values));
                }
                BatchOp::Delete {
                    cf: ColumnFamily::Edges,
                    key,
                } => {
                    if let Ok(id) = codec::decode_edge_key(key) {
                        self.edge_values
                            .push((id, vec![EdgeValue::Absent; columns.len()]));
                    }
                }
                BatchOp::DeleteRange {
                    cf: ColumnFamily::Edges,
                    ..
                } => self.drop_columns = true,
                _ => {}
            }
        }
    }
}

impl Drop for AdjacencyCache {
    /// Stops the thread and waits for it, so the store's backend is closed
    /// when the store is.
    fn drop(&mut self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        {
            let _q = self.shared.queue();
            self.shared.work.notify_all();
        }
        if let Some(handle) = self.worker.take() {
            // A panic of the thread has been reported on stderr by the
            // runtime; the store closes all the same.
            let _ = handle.join();
        }
    }
}

/// The adjacency's thread: build, then apply queued commits until the
/// store closes or the adjacency leaves RAM.
fn run<B: StorageBackend>(backend: &B, shared: &Shared) {
    let started = Instant::now();
    let limits = Limits {
        budget: shared.budget,
        held: AtomicUsize::new(0),
        cancel: &shared.cancel,
    };
    let built = build::build(backend, &limits);
    {
        let mut state = shared.state_mut();
        if let State::Building { needed } = *state {
            let next = match built {
                Ok(graph) => State::Ready {
                    graph: Arc::new(graph),
                    built_in: started.elapsed(),
                },
                Err(Stop::TooLarge { held }) => State::DoesNotFit {
                    needed: held.max(needed),
                    reason: "the adjacency needs more than the budget".into(),
                },
                Err(Stop::IdTooLarge(id)) => State::DoesNotFit {
                    needed: 0,
                    reason: format!(
                        "node id {id} is stored, and only ids below 2^32 are held in RAM"
                    ),
                },
                Err(Stop::Cancelled) => State::Off,
                Err(Stop::Failed(e)) => State::Failed(e.to_string()),
            };
            shared.set(&mut state, next);
        }
    }
    shared.signal_progress();
    // The commits queued during the build are applied by the first round.
    while apply_queued(shared) {}
    // Nothing more is applied: drop what is queued and wake every waiter.
    {
        let mut q = shared.queue();
        q.items.clear();
        q.ops = 0;
        shared.progress.notify_all();
    }
}

/// Waits for queued commits and applies them; whether to go on.
fn apply_queued(shared: &Shared) -> bool {
    let items = {
        let mut q = shared.queue();
        loop {
            if shared.cancel.load(Ordering::Relaxed) || !shared.follows() {
                return false;
            }
            if !q.items.is_empty() {
                break;
            }
            shared.progress.notify_all();
            q = shared.work.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
        q.ops = 0;
        shared.progress.notify_all();
        std::mem::take(&mut q.items)
    };
    let Some(&(last, _)) = items.last() else {
        return true;
    };
    let mut state = shared.state_mut();
    let State::Ready { graph, .. } = &mut *state else {
        return false;
    };
    let graph_mut = Arc::make_mut(graph);
    let mut ops: Vec<Op> = Vec::with_capacity(items.iter().map(|(_, c)| c.ops.len()).sum());
    let mut outcome = None;
    for (_, changes) in items {
        if let Some(why) = changes.unsupported {
            outcome = Some(match why {
                Unsupported::Id(id) => State::DoesNotFit {
                    needed: 0,
                    reason: format!(
                        "a commit wrote node id {id}, and only ids below 2^32 are held in RAM"
                    ),
                },
                Unsupported::RangeDelete => State::Failed(
                    "a range deletion over adjacency entries (reopen the store to rebuild)".into(),
                ),
            });
            break;
        }
        ops.extend(changes.ops);
        // Edge values are applied after the adjacency of the same commits;
        // they do not depend on it.
        for (id, values) in &changes.edge_values {
            graph_mut.set_edge_values(*id, values);
        }
        if changes.drop_columns {
            let names: Vec<String> = graph_mut
                .columns()
                .iter()
                .map(|c| c.name().to_owned())
                .collect();
            for name in names {
                graph_mut.remove_column(&name);
            }
            shared
                .columns
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }
    if outcome.is_none() {
        let applied = graph_mut.apply(&mut ops, shared.budget);
        let used = if applied.is_ok() {
            graph_mut.bytes() as u64
        } else {
            u64::MAX
        };
        if used > shared.budget {
            outcome = Some(State::DoesNotFit {
                needed: used.min(u64::MAX - 1),
                reason: if applied.is_ok() {
                    "the adjacency grew beyond the budget".into()
                } else {
                    "a commit wrote a node id whose page slots exceed the budget".into()
                },
            });
        }
    }
    let go_on = outcome.is_none();
    if let Some(next) = outcome {
        shared.set(&mut state, next);
    }
    shared.applied.store(last, Ordering::Release);
    drop(state);
    shared.signal_progress();
    go_on
}

/// The default budget: a quarter of the machine's memory (1 GiB where it
/// cannot be read).
pub(crate) fn default_budget() -> u64 {
    machine_memory().map_or(1 << 30, |m| m / 4)
}

/// The machine's memory in bytes, from `/proc/meminfo`.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}
