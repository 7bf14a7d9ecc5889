//! [`AdjacencyCache`]: the adjacency in RAM of one store, its state, the
//! thread that builds it and the hooks a commit goes through.
//!
//! The invariant: once [`AdjacencyStatus::Ready`], the current [`Graph`]
//! holds exactly the adjacency entries (tags `01` and `02`) of `indices`
//! as of the last commit that returned. It is kept so by
//! [`CommitPipeline::write`](crate::pipeline::CommitPipeline::write), the
//! one write of every commit: it decodes the batch's adjacency entries
//! ([`AdjacencyCache::changes_of`]), writes the batch, then applies them
//! ([`AdjacencyCache::apply`]) before the commit is acknowledged, all while
//! holding the writer lock and [`AdjacencyCache::commit_guard`].
//!
//! While the build runs (on its own thread, after the store opened), every
//! commit's changes are also logged; the build scans snapshots taken after
//! the log started and replays the log over what it scanned. Replaying is
//! exact because a change says what an entry is afterwards (written or
//! deleted), so replaying changes a snapshot already holds leaves it as it
//! was.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
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
        pending: Vec<Op>,
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

/// Shared by the store and its build thread.
struct Shared {
    budget: u64,
    state: RwLock<State>,
    /// Set when the store closes: the build stops.
    cancel: AtomicBool,
    /// Whether no build is running, and its signal.
    idle: Mutex<bool>,
    idle_signal: Condvar,
}

impl Shared {
    fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_idle(&self) {
        *self.idle.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.idle_signal.notify_all();
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
    /// Commits hold it (for writing) from their engine write until the
    /// adjacency has their changes; a snapshot holds it (for reading)
    /// while it takes the engine's snapshot and pins the adjacency, so
    /// the two show the same commits.
    visibility: RwLock<()>,
    builder: Option<JoinHandle<()>>,
}

impl AdjacencyCache {
    /// A cache that stays off.
    pub(crate) fn off() -> Self {
        AdjacencyCache {
            shared: Arc::new(Shared {
                budget: 0,
                state: RwLock::new(State::Off),
                cancel: AtomicBool::new(false),
                idle: Mutex::new(true),
                idle_signal: Condvar::new(),
            }),
            visibility: RwLock::new(()),
            builder: None,
        }
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
            State::Building {
                pending: Vec::new(),
                needed,
            }
        };
        let building = matches!(initial, State::Building { .. });
        let shared = Arc::new(Shared {
            budget,
            state: RwLock::new(initial),
            cancel: AtomicBool::new(false),
            idle: Mutex::new(!building),
            idle_signal: Condvar::new(),
        });
        let builder = building.then(|| {
            let (backend, shared) = (Arc::clone(backend), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("graph-adjacency".into())
                .spawn(move || run_build(&*backend, &shared))
        });
        let builder = match builder {
            Some(Ok(handle)) => Some(handle),
            Some(Err(e)) => {
                *shared.state_mut() = State::Failed(format!("cannot start its thread: {e}"));
                shared.set_idle();
                None
            }
            None => None,
        };
        AdjacencyCache {
            shared,
            visibility: RwLock::new(()),
            builder,
        }
    }

    /// The status, for stats.
    pub(crate) fn status(&self) -> AdjacencyStatus {
        let budget = self.shared.budget;
        match &*self.shared.state() {
            State::Off => AdjacencyStatus::Off,
            State::Building { needed, .. } => AdjacencyStatus::Building {
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

    /// Waits until no build is running, and returns the status then.
    pub(crate) fn wait(&self) -> AdjacencyStatus {
        let mut idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while !*idle {
            idle = self
                .shared
                .idle_signal
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(idle);
        self.status()
    }

    /// Runs `f` on the current adjacency if it is ready (under the read
    /// lock: `f` must not commit).
    pub(crate) fn with_graph<R>(&self, f: impl FnOnce(&Graph) -> R) -> Option<R> {
        match &*self.shared.state() {
            State::Ready { graph, .. } => Some(f(graph)),
            _ => None,
        }
    }

    /// The current adjacency, pinned, if it is ready.
    pub(crate) fn pin(&self) -> Option<Arc<Graph>> {
        match &*self.shared.state() {
            State::Ready { graph, .. } => Some(Arc::clone(graph)),
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

    /// Held by a commit from its engine write until [`apply`](Self::apply).
    pub(crate) fn commit_guard(&self) -> RwLockWriteGuard<'_, ()> {
        self.visibility
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The adjacency changes of `batch`, or `None` when the cache does not
    /// follow commits (off, not fitting, failed).
    pub(crate) fn changes_of(&self, batch: &WriteBatch) -> Option<Changes> {
        let columns: Vec<Arc<str>> = match &*self.shared.state() {
            State::Ready { graph, .. } => graph.columns().iter().map(|c| c.name().into()).collect(),
            State::Building { .. } => Vec::new(),
            _ => return None,
        };
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

    /// Applies a written commit's changes (the caller holds the writer lock
    /// and [`commit_guard`](Self::commit_guard)).
    pub(crate) fn apply(&self, mut changes: Changes) {
        let budget = self.shared.budget;
        let mut state = self.shared.state_mut();
        if let Some(why) = &changes.unsupported {
            *state = match why {
                Unsupported::Id(id) => State::DoesNotFit {
                    needed: 0,
                    reason: format!(
                        "a commit wrote node id {id}, and only ids below 2^32 are held in RAM"
                    ),
                },
                Unsupported::RangeDelete => State::Failed(
                    "a range deletion over adjacency entries (reopen the store to rebuild)".into(),
                ),
            };
            self.shared.cancel.store(true, Ordering::Relaxed);
            return;
        }
        match &mut *state {
            State::Ready { graph, .. } => {
                let graph_mut = Arc::make_mut(graph);
                graph_mut.apply(&mut changes.ops);
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
                }
                let used = graph.bytes() as u64;
                if used > budget {
                    *state = State::DoesNotFit {
                        needed: used,
                        reason: "the adjacency grew beyond the budget".into(),
                    };
                }
            }
            State::Building { pending, .. } => {
                pending.append(&mut changes.ops);
                let held = (pending.len() * size_of::<Op>()) as u64;
                if held > budget {
                    *state = State::DoesNotFit {
                        needed: held,
                        reason: "commits during the build needed more than the budget".into(),
                    };
                    self.shared.cancel.store(true, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
}

impl AdjacencyCache {
    /// Adds a projected edge property to the adjacency, built by `build`
    /// (the caller holds the writer lock, so no commit changes edges
    /// meanwhile).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the adjacency is not in RAM or the
    /// column takes it over the budget; `build`'s errors.
    pub(crate) fn add_column(&self, build: impl FnOnce() -> Result<Column>) -> Result<()> {
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
        Arc::make_mut(graph).add_column(column);
        Ok(())
    }

    /// Removes a projected edge property; whether there was one.
    pub(crate) fn remove_column(&self, name: &str) -> bool {
        match &mut *self.shared.state_mut() {
            State::Ready { graph, .. } if graph.column(name).is_some() => {
                Arc::make_mut(graph).remove_column(name)
            }
            _ => false,
        }
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
    /// Stops the build and waits for its thread, so the store's backend
    /// is closed when the store is.
    fn drop(&mut self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        if let Some(handle) = self.builder.take() {
            // A panic of the build thread has been reported on stderr by
            // the runtime; the store closes all the same.
            let _ = handle.join();
        }
    }
}

/// The build thread's work: build, replay the commits logged meanwhile,
/// publish.
fn run_build<B: StorageBackend>(backend: &B, shared: &Shared) {
    let started = Instant::now();
    let limits = Limits {
        budget: shared.budget,
        held: AtomicUsize::new(0),
        cancel: &shared.cancel,
    };
    let built = build::build(backend, &limits);
    {
        let mut state = shared.state_mut();
        if let State::Building { pending, needed } = &mut *state {
            let needed = *needed;
            *state = match built {
                Ok(mut graph) => {
                    graph.apply(pending);
                    if graph.bytes() as u64 > shared.budget {
                        State::DoesNotFit {
                            needed: graph.bytes() as u64,
                            reason: "the adjacency needs more than the budget".into(),
                        }
                    } else {
                        State::Ready {
                            graph: Arc::new(graph),
                            built_in: started.elapsed(),
                        }
                    }
                }
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
        }
    }
    shared.set_idle();
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
