//! [`StateMachine`]: a [`GraphStore`] as openraft's state machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::codec::{RequestId, decode_envelope, encode_envelope, state_key};
use graph_core::codec::{decode_u64_value, encode_u64_value};
use graph_core::{
    ColumnFamily, Durability, EdgeId, Error, ErrorKind, Mutation, NodeId, Precondition, ReadView,
    Result, StorageBackend, Timestamp,
};
use graph_storage::{Clock, GraphStore, StoreOptions};
use openraft::storage::RaftStateMachine;
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder, Snapshot,
    SnapshotMeta,
};

use crate::snapshot::{self, Meta};
use crate::types::{
    Command, Entry, LogId, PLACEHOLDER, Response, StorageError, StoredMembership, TypeConfig,
};

/// The clock of a replica's graph store: the time stamp of the entry being
/// applied, which the leader chose, so every replica writes the same
/// `created_at` and `updated_at`.
#[derive(Debug, Default)]
struct EntryClock(AtomicI64);

impl Clock for EntryClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Relaxed))
    }
}

/// The file name of the current snapshot in the snapshot directory.
const CURRENT: &str = "current.snap";
/// The file name a snapshot is received into.
const RECEIVING: &str = "receiving.snap";
/// The file name a received snapshot is copied to and checked in before
/// it becomes the current one.
const STAGED: &str = "staged.snap";

/// What the state machine, its snapshot builders and the
/// [`ReplicatedStore`](crate::ReplicatedStore) handle share.
pub(crate) struct Shared<B: StorageBackend> {
    backend: Arc<B>,
    store: RwLock<Arc<GraphStore<Arc<B>>>>,
    clock: Arc<EntryClock>,
    durability: Durability,
    snapshot_dir: PathBuf,
    next_node: AtomicU64,
    next_edge: AtomicU64,
    /// The smallest log index whose request record may still exist
    /// ([`state_key::REQUEST_OLDEST`]).
    request_oldest: AtomicU64,
    /// [`REQUEST_WINDOW`] (smaller in tests).
    request_window: u64,
    /// Serializes snapshot builds (one file being written at a time).
    building: Mutex<u64>,
}

impl<B: StorageBackend + 'static> Shared<B> {
    /// The graph store as it is now (replaced when a snapshot is
    /// installed).
    pub(crate) fn store(&self) -> Arc<GraphStore<Arc<B>>> {
        Arc::clone(&self.store.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn open_store(&self) -> Result<()> {
        let store = open_graph(&self.backend, &self.clock)?;
        self.next_node.store(
            read_u64(&store, state_key::NEXT_NODE_ID)?,
            Ordering::Relaxed,
        );
        self.next_edge.store(
            read_u64(&store, state_key::NEXT_EDGE_ID)?,
            Ordering::Relaxed,
        );
        self.request_oldest
            .store(request_oldest(&store)?, Ordering::Relaxed);
        *self.store.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(store);
        Ok(())
    }
}

fn open_graph<B: StorageBackend + 'static>(
    backend: &Arc<B>,
    clock: &Arc<EntryClock>,
) -> Result<GraphStore<Arc<B>>> {
    // Background: apply() syncs once per call under Strict.
    let clock: Arc<dyn Clock> = Arc::clone(clock) as Arc<dyn Clock>;
    GraphStore::open_with(
        Arc::clone(backend),
        StoreOptions::default()
            .durability(Durability::Background)
            .clock(clock),
    )
}

/// How many log entries back the state machine remembers a request id
/// ([`Command::ApplyOnce`]): a retry arriving within this many entries of
/// the first application is answered, not applied again. The records
/// (about 60 bytes each) are deleted as entries move out of the window,
/// so at most this many are kept.
pub const REQUEST_WINDOW: u64 = 100_000;

/// What the state machine recorded of a request it applied.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Recorded {
    /// The log index that applied it.
    index: u64,
    /// The answer it was given.
    response: Response,
}

/// Changes of replication state keys, written with an entry's effects:
/// `None` deletes the key.
type StateEdits = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// [`state_key::REQUEST_OLDEST`], or for a store written before requests
/// were recorded, the index after the last applied entry (no record is
/// older).
fn request_oldest<B: StorageBackend>(store: &GraphStore<B>) -> Result<u64> {
    if store.state(state_key::REQUEST_OLDEST)?.is_some() {
        return read_u64(store, state_key::REQUEST_OLDEST);
    }
    Ok(match store.state(state_key::LAST_APPLIED)? {
        Some(v) => decode_envelope::<Option<LogId>>(state_key::LAST_APPLIED, &v)?
            .map_or(0, |l| l.index + 1),
        None => 0,
    })
}

fn read_u64<B: StorageBackend>(store: &GraphStore<B>, key: &[u8]) -> Result<u64> {
    match store.state(key)? {
        Some(v) => decode_u64_value(ColumnFamily::Default, key, &v),
        None => Ok(0),
    }
}

/// A member's state machine: its [`GraphStore`], kept in `backend`, with
/// snapshot files in `snapshot_dir`.
///
/// Each committed entry is applied with
/// [`GraphStore::apply_with_state`]: its effects, the last applied log id,
/// the membership (for membership entries) and the state machine's id
/// counters go in one atomic batch, so a crash never separates an entry's
/// effects from the record that it was applied. Under `Strict` the store
/// is fsynced before `apply` returns; openraft re-applies from the log
/// whatever a power loss took back.
///
/// Ids: a created node or edge whose id is a placeholder
/// ([`PLACEHOLDER`]` | k`) gets the id `next + k`, where `next` is the
/// state machine's counter (in the same batch), and every reference to
/// the placeholder in the same command is rewritten. Ids are thus fixed
/// by the log, the same on every replica, whoever leads.
///
/// Cloning is cheap; clones share everything.
pub struct StateMachine<B: StorageBackend> {
    shared: Arc<Shared<B>>,
}

impl<B: StorageBackend> Clone for StateMachine<B> {
    fn clone(&self) -> Self {
        StateMachine {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<B: StorageBackend + 'static> StateMachine<B> {
    /// Opens the state machine in `backend` (a graph store, created if
    /// empty), with snapshot files in `snapshot_dir` (created if missing).
    /// A snapshot installation interrupted by a crash is finished first.
    ///
    /// # Errors
    /// As [`GraphStore::open_with`]; corruption if an interrupted
    /// installation's snapshot file is missing or damaged; I/O errors.
    pub fn open(
        backend: B,
        snapshot_dir: impl AsRef<Path>,
        durability: Durability,
    ) -> Result<Self> {
        let snapshot_dir = snapshot_dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&snapshot_dir)?;
        let backend = Arc::new(backend);
        if backend
            .get(ColumnFamily::Default, state_key::INSTALLING)?
            .is_some()
        {
            let current = snapshot_dir.join(CURRENT);
            if !current.exists() {
                return Err(Error::StorageCorruption {
                    message: format!(
                        "a snapshot installation was interrupted and its file {} is missing",
                        current.display()
                    ),
                });
            }
            snapshot::restore(&current, &*backend)?;
        }
        let clock = Arc::new(EntryClock::default());
        let store = open_graph(&backend, &clock)?;
        let shared = Shared {
            next_node: AtomicU64::new(read_u64(&store, state_key::NEXT_NODE_ID)?),
            next_edge: AtomicU64::new(read_u64(&store, state_key::NEXT_EDGE_ID)?),
            request_oldest: AtomicU64::new(request_oldest(&store)?),
            request_window: REQUEST_WINDOW,
            store: RwLock::new(Arc::new(store)),
            backend,
            clock,
            durability,
            snapshot_dir,
            building: Mutex::new(0),
        };
        Ok(StateMachine {
            shared: Arc::new(shared),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared<B>> {
        &self.shared
    }

    /// The graph store as it is now.
    pub fn store(&self) -> Arc<GraphStore<Arc<B>>> {
        self.shared.store()
    }

    fn applied(&self) -> Result<(Option<LogId>, StoredMembership)> {
        let store = self.shared.store();
        let applied = match store.state(state_key::LAST_APPLIED)? {
            Some(v) => decode_envelope::<Option<LogId>>(state_key::LAST_APPLIED, &v)?,
            None => None,
        };
        let membership = match store.state(state_key::MEMBERSHIP)? {
            Some(v) => decode_envelope(state_key::MEMBERSHIP, &v)?,
            None => StoredMembership::default(),
        };
        Ok((applied, membership))
    }

    /// Applies one entry; `Err` only for failures that are not the
    /// command's own (I/O, corruption): those stop the member.
    fn apply_one(&self, entry: Entry) -> Result<Response> {
        let store = self.shared.store();
        let index = entry.log_id.index;
        let applied = encode_envelope(&Some(entry.log_id))?;
        let mut state: StateEdits = vec![(state_key::LAST_APPLIED.to_vec(), Some(applied))];
        self.forget_requests(&store, index, &mut state)?;
        let command = match entry.payload {
            EntryPayload::Blank => None,
            EntryPayload::Membership(m) => {
                let stored = StoredMembership::new(Some(entry.log_id), m);
                state.push((
                    state_key::MEMBERSHIP.to_vec(),
                    Some(encode_envelope(&stored)?),
                ));
                None
            }
            EntryPayload::Normal(c) => Some(c),
        };
        let mut request = None;
        if let Some(Command::ApplyOnce { request: id, .. })
        | Some(Command::ApplyIf {
            request: Some(id), ..
        }) = &command
        {
            let key = state_key::request(id);
            if let Some(v) = store.state(&key)? {
                // Applied before: the first answer, and no effects.
                let recorded: Recorded = decode_envelope(&key, &v)?;
                write_state(&store, &state)?;
                return Ok(recorded.response);
            }
        }
        let outcome = match command {
            None => {
                write_state(&store, &state)?;
                return Ok(Response::Done);
            }
            Some(Command::Apply { at, mutations }) => {
                self.shared.clock.0.store(at, Ordering::Relaxed);
                self.apply_mutations(&store, Vec::new(), mutations, &mut state, None)
            }
            Some(Command::ApplyIf {
                request: None,
                at,
                preconditions,
                mutations,
            }) => {
                self.shared.clock.0.store(at, Ordering::Relaxed);
                self.apply_mutations(&store, preconditions, mutations, &mut state, None)
            }
            Some(Command::ApplyOnce {
                request: id,
                at,
                mutations,
            }) => {
                request = Some(id);
                self.shared.clock.0.store(at, Ordering::Relaxed);
                self.apply_mutations(&store, Vec::new(), mutations, &mut state, Some((id, index)))
            }
            Some(Command::ApplyIf {
                request: Some(id),
                at,
                preconditions,
                mutations,
            }) => {
                request = Some(id);
                self.shared.clock.0.store(at, Ordering::Relaxed);
                self.apply_mutations(
                    &store,
                    preconditions,
                    mutations,
                    &mut state,
                    Some((id, index)),
                )
            }
            Some(Command::CreateIndex { label, property }) => store
                .create_index(&label, &property)
                .map(|()| Response::Done),
            Some(Command::DropIndex { label, property }) => {
                store.drop_index(&label, &property).map(|()| Response::Done)
            }
        };
        match outcome {
            // Applied: the state went in the same batch as the effects.
            Ok(applied @ Response::Applied { .. }) => Ok(applied),
            Ok(other) => {
                write_state(&store, &state)?;
                Ok(other)
            }
            Err(e) if is_deterministic(&e) => {
                // The command failed the same way on every replica and
                // changed nothing: record that it was applied (and, for a
                // request, the failure as its answer), not the ids or the
                // success it would have recorded.
                let response = Response::failed(&e);
                state.retain(|(k, v)| {
                    v.is_none()
                        || k.as_slice() == state_key::LAST_APPLIED
                        || k.as_slice() == state_key::REQUEST_OLDEST
                });
                if let Some(id) = request {
                    record(&mut state, id, index, &response)?;
                }
                write_state(&store, &state)?;
                Ok(response)
            }
            Err(e) => Err(e),
        }
    }

    /// Adds to `state` the deletion of the request records that entry
    /// `index` moves out of [`REQUEST_WINDOW`], and the new oldest index.
    fn forget_requests(
        &self,
        store: &GraphStore<Arc<B>>,
        index: u64,
        state: &mut StateEdits,
    ) -> Result<()> {
        let Some(cutoff) = index.checked_sub(self.shared.request_window) else {
            return Ok(());
        };
        let oldest = self.shared.request_oldest.load(Ordering::Relaxed);
        if oldest > cutoff {
            return Ok(());
        }
        for i in oldest..=cutoff {
            let at = state_key::request_at(i);
            if let Some(id) = store.state(&at)? {
                let id: [u8; 16] = id.as_slice().try_into().map_err(|_| {
                    Error::corruption(
                        ColumnFamily::Default,
                        &at,
                        format!("a request id of {} bytes, not 16", id.len()),
                    )
                })?;
                state.push((state_key::request(&RequestId(id)), None));
                state.push((at, None));
            }
        }
        state.push((
            state_key::REQUEST_OLDEST.to_vec(),
            Some(encode_u64_value(cutoff + 1).to_vec()),
        ));
        // Every path from here writes `state` or stops the member (which
        // reads the stored value again when it starts).
        self.shared
            .request_oldest
            .store(cutoff + 1, Ordering::Relaxed);
        Ok(())
    }

    /// Resolves placeholder ids and applies `mutations` with `state` in one
    /// batch.
    /// With `request`, the request's record goes in the same batch.
    fn apply_mutations(
        &self,
        store: &GraphStore<Arc<B>>,
        mut preconditions: Vec<Precondition>,
        mut mutations: Vec<Mutation>,
        state: &mut StateEdits,
        request: Option<(RequestId, u64)>,
    ) -> Result<Response> {
        let base_node = self.shared.next_node.load(Ordering::Relaxed);
        let base_edge = self.shared.next_edge.load(Ordering::Relaxed);
        let (mut next_node, mut next_edge) = (base_node, base_edge);
        let (mut nodes, mut edges) = (Vec::new(), Vec::new());
        let node = |id: &mut NodeId| -> Result<()> {
            id.0 = resolve(id.0, base_node)?;
            Ok(())
        };
        for m in &mut mutations {
            match m {
                Mutation::CreateNode { id, .. } => {
                    node(id)?;
                    next_node = next_node.max(after(id.0)?);
                    nodes.push(id.0);
                }
                Mutation::CreateEdge { id, src, dst, .. } => {
                    id.0 = resolve(id.0, base_edge)?;
                    next_edge = next_edge.max(after(id.0)?);
                    edges.push(id.0);
                    node(src)?;
                    node(dst)?;
                }
                Mutation::SetNodeProperty { id, .. }
                | Mutation::RemoveNodeProperty { id, .. }
                | Mutation::AddLabel { id, .. }
                | Mutation::RemoveLabel { id, .. }
                | Mutation::DeleteNode { id, .. } => node(id)?,
                Mutation::MapExternalId { node: id, .. } => node(id)?,
                Mutation::SetEdgeProperty { id, .. }
                | Mutation::RemoveEdgeProperty { id, .. }
                | Mutation::DeleteEdge { id } => edge_ref(id, base_edge)?,
                _ => {
                    return Err(Error::invalid(
                        "a mutation this build of graph-raft does not know",
                    ));
                }
            }
        }
        for p in &mut preconditions {
            match p {
                Precondition::NodeExists { id, .. } | Precondition::NodeProperty { id, .. } => {
                    node(id)?;
                }
                Precondition::Degree { node: id, .. } => node(id)?,
                Precondition::EdgeExists { id, .. } | Precondition::EdgeProperty { id, .. } => {
                    edge_ref(id, base_edge)?;
                }
                _ => {
                    return Err(Error::invalid(
                        "a precondition this build of graph-raft does not know",
                    ));
                }
            }
        }
        if next_node != base_node {
            state.push((
                state_key::NEXT_NODE_ID.to_vec(),
                Some(encode_u64_value(next_node).to_vec()),
            ));
        }
        if next_edge != base_edge {
            state.push((
                state_key::NEXT_EDGE_ID.to_vec(),
                Some(encode_u64_value(next_edge).to_vec()),
            ));
        }
        let response = Response::Applied { nodes, edges };
        if let Some((id, index)) = request {
            record(state, id, index, &response)?;
        }
        write_state_with(store, preconditions, mutations, state)?;
        self.shared.next_node.store(next_node, Ordering::Relaxed);
        self.shared.next_edge.store(next_edge, Ordering::Relaxed);
        Ok(response)
    }

    fn sync_if_strict(&self) -> Result<()> {
        if self.shared.durability == Durability::Strict {
            self.shared.backend.sync()?;
        }
        Ok(())
    }
}

/// Writes `state` alone.
fn write_state<B: StorageBackend>(store: &GraphStore<B>, state: &StateEdits) -> Result<()> {
    write_state_with(store, Vec::new(), Vec::new(), state)
}

/// Applies `mutations` with `state` in one batch, if `preconditions` hold.
fn write_state_with<B: StorageBackend>(
    store: &GraphStore<B>,
    preconditions: Vec<Precondition>,
    mutations: Vec<Mutation>,
    state: &StateEdits,
) -> Result<()> {
    let refs: Vec<(&[u8], Option<&[u8]>)> = state
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_deref()))
        .collect();
    store.apply_with_state_if(preconditions, mutations, &refs)
}

/// Adds the records of request `id`, applied at `index` with `response`,
/// to `state`.
fn record(state: &mut StateEdits, id: RequestId, index: u64, response: &Response) -> Result<()> {
    let recorded = Recorded {
        index,
        response: response.clone(),
    };
    state.push((state_key::request(&id), Some(encode_envelope(&recorded)?)));
    state.push((state_key::request_at(index), Some(id.0.to_vec())));
    Ok(())
}

/// The real id of `id`: `base + k` for the placeholder `PLACEHOLDER | k`.
fn resolve(id: u64, base: u64) -> Result<u64> {
    if id & PLACEHOLDER == 0 {
        return Ok(id);
    }
    base.checked_add(id & !PLACEHOLDER)
        .filter(|real| real & PLACEHOLDER == 0)
        .ok_or_else(|| Error::invalid("ids exhausted"))
}

fn edge_ref(id: &mut EdgeId, base: u64) -> Result<()> {
    id.0 = resolve(id.0, base)?;
    Ok(())
}

fn after(id: u64) -> Result<u64> {
    id.checked_add(1)
        .ok_or_else(|| Error::invalid("ids exhausted"))
}

/// Whether an apply failure is the command's own (the same on every
/// replica) rather than the machine's (I/O, corruption, a lock).
fn is_deterministic(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::InvalidArgument
            | ErrorKind::NodeNotFound
            | ErrorKind::EdgeNotFound
            | ErrorKind::IndexNotFound
            | ErrorKind::Constraint
            | ErrorKind::PreconditionFailed
    )
}

fn sm_err(verb: ErrorVerb) -> impl FnOnce(Error) -> StorageError {
    move |e| crate::storage_io(ErrorSubject::StateMachine, verb, &e)
}

fn snapshot_err(verb: ErrorVerb) -> impl FnOnce(Error) -> StorageError {
    move |e| crate::storage_io(ErrorSubject::Snapshot(None), verb, &e)
}

/// Runs blocking engine work off the async runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Backend(format!("a state machine task failed: {e}")))?
}

/// Builds snapshots of a [`StateMachine`] (openraft runs it beside the
/// state machine: it works on a consistent engine snapshot).
pub struct SnapshotBuilder<B: StorageBackend> {
    sm: StateMachine<B>,
}

impl<B: StorageBackend + 'static> SnapshotBuilder<B> {
    fn build(&self) -> Result<Meta> {
        let shared = &self.sm.shared;
        let mut seq = shared
            .building
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *seq += 1;
        let view = shared.backend.snapshot();
        let applied = match view.get(ColumnFamily::Default, state_key::LAST_APPLIED)? {
            Some(v) => decode_envelope::<Option<LogId>>(state_key::LAST_APPLIED, &v)?,
            None => None,
        };
        let membership = match view.get(ColumnFamily::Default, state_key::MEMBERSHIP)? {
            Some(v) => decode_envelope(state_key::MEMBERSHIP, &v)?,
            None => StoredMembership::default(),
        };
        let id = match applied {
            Some(l) => format!(
                "{}-{}-{}-{}",
                l.leader_id.term, l.leader_id.node_id, l.index, *seq
            ),
            None => format!("empty-{}", *seq),
        };
        let meta = SnapshotMeta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id: id,
        };
        let building = shared.snapshot_dir.join("building.snap");
        snapshot::write(&view, &meta, &building)?;
        install_file(&building, &shared.snapshot_dir)?;
        Ok(meta)
    }
}

/// Makes `file` the current snapshot (an atomic rename, then an fsync of
/// the directory).
fn install_file(file: &Path, dir: &Path) -> Result<()> {
    std::fs::rename(file, dir.join(CURRENT))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

async fn open_current(dir: &Path, meta: Meta) -> Result<Snapshot<TypeConfig>> {
    let file = tokio::fs::File::open(dir.join(CURRENT)).await?;
    Ok(Snapshot {
        meta,
        snapshot: Box::new(file),
    })
}

impl<B: StorageBackend + 'static> RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder<B> {
    async fn build_snapshot(&mut self) -> std::result::Result<Snapshot<TypeConfig>, StorageError> {
        let builder = SnapshotBuilder {
            sm: self.sm.clone(),
        };
        let meta = blocking(move || builder.build())
            .await
            .map_err(snapshot_err(ErrorVerb::Write))?;
        open_current(&self.sm.shared.snapshot_dir, meta)
            .await
            .map_err(snapshot_err(ErrorVerb::Read))
    }
}

impl<B: StorageBackend + 'static> RaftStateMachine<TypeConfig> for StateMachine<B> {
    type SnapshotBuilder = SnapshotBuilder<B>;

    async fn applied_state(
        &mut self,
    ) -> std::result::Result<(Option<LogId>, StoredMembership), StorageError> {
        self.applied().map_err(sm_err(ErrorVerb::Read))
    }

    async fn apply<I>(&mut self, entries: I) -> std::result::Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let sm = self.clone();
        blocking(move || {
            let mut out = Vec::with_capacity(entries.len());
            for entry in entries {
                out.push(sm.apply_one(entry)?);
            }
            sm.sync_if_strict()?;
            Ok(out)
        })
        .await
        .map_err(sm_err(ErrorVerb::Write))
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { sm: self.clone() }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> std::result::Result<Box<tokio::fs::File>, StorageError> {
        let path = self.shared.snapshot_dir.join(RECEIVING);
        // Readable too: `install_snapshot` reads it back.
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .map_err(|e| snapshot_err(ErrorVerb::Write)(Error::from(e)))?;
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        mut snapshot: Box<tokio::fs::File>,
    ) -> std::result::Result<(), StorageError> {
        use tokio::io::{AsyncSeekExt, AsyncWriteExt};
        // The handle may be the file `begin_receiving_snapshot` made (the
        // network path) or any other snapshot file: copy it from its start
        // into a file of ours, fsynced, before anything is replaced.
        let dir = self.shared.snapshot_dir.clone();
        let staged = dir.join(STAGED);
        let copied = async {
            snapshot.flush().await?;
            snapshot.seek(std::io::SeekFrom::Start(0)).await?;
            let mut out = tokio::fs::File::create(&staged).await?;
            tokio::io::copy(&mut *snapshot, &mut out).await?;
            out.flush().await?;
            out.sync_all().await
        };
        copied
            .await
            .map_err(|e| snapshot_err(ErrorVerb::Write)(Error::from(e)))?;
        drop(snapshot);
        let shared = Arc::clone(&self.shared);
        let expected = meta.clone();
        blocking(move || {
            let received = shared.snapshot_dir.join(STAGED);
            let found = snapshot::check(&received)?;
            if found.snapshot_id != expected.snapshot_id
                || found.last_log_id != expected.last_log_id
            {
                return Err(Error::StorageCorruption {
                    message: format!(
                        "received snapshot {} does not match the announced {}",
                        found.snapshot_id, expected.snapshot_id
                    ),
                });
            }
            match std::fs::remove_file(shared.snapshot_dir.join(RECEIVING)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            install_file(&received, &shared.snapshot_dir)?;
            snapshot::restore(&shared.snapshot_dir.join(CURRENT), &*shared.backend)?;
            shared.open_store()
        })
        .await
        .map_err(snapshot_err(ErrorVerb::Write))
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> std::result::Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let dir = self.shared.snapshot_dir.clone();
        let current = dir.join(CURRENT);
        if !current.exists() {
            return Ok(None);
        }
        let meta = blocking(move || snapshot::read_meta(&current))
            .await
            .map_err(snapshot_err(ErrorVerb::Read))?;
        open_current(&dir, meta)
            .await
            .map(Some)
            .map_err(snapshot_err(ErrorVerb::Read))
    }
}

#[cfg(test)]
mod tests {
    use graph_core::{Properties, ScanDirection};

    use crate::codec::RequestId;
    use graph_storage::MemoryBackend;
    use openraft::CommittedLeaderId;

    use super::*;
    use crate::types::placeholder_node;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn entry(index: u64, command: Command) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(command),
        }
    }

    fn create(request: Option<RequestId>) -> Command {
        let mutations = vec![Mutation::CreateNode {
            id: placeholder_node(0),
            labels: vec!["N".into()],
            properties: Properties::new(),
        }];
        match request {
            Some(request) => Command::ApplyOnce {
                request,
                at: 1,
                mutations,
            },
            None => Command::Apply { at: 1, mutations },
        }
    }

    fn records(sm: &StateMachine<MemoryBackend>) -> Result<usize> {
        let store = sm.store();
        let view = store.backend();
        let mut n = 0;
        for prefix in [state_key::REQUEST, state_key::REQUEST_AT] {
            view.scan_prefix(
                ColumnFamily::Default,
                prefix,
                ScanDirection::Forward,
                &mut |_, _| {
                    n += 1;
                    Ok(std::ops::ControlFlow::Continue(()))
                },
            )?;
        }
        Ok(n)
    }

    /// A request applied twice is applied once and answered alike, a
    /// rejected one is rejected again alike, and records older than the
    /// window are deleted (so a retry after it is a new write).
    #[test]
    fn a_request_is_applied_once_within_the_window() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut sm = StateMachine::open(MemoryBackend::new(), dir.path(), Durability::Background)?;
        Arc::get_mut(&mut sm.shared).ok_or("shared")?.request_window = 5;
        let a = RequestId([1; 16]);
        let first = sm.apply_one(entry(1, create(Some(a))))?;
        let again = sm.apply_one(entry(2, create(Some(a))))?;
        assert_eq!(first, again);
        assert!(matches!(&first, Response::Applied { nodes, .. } if nodes.len() == 1));
        assert_eq!(sm.store().node_count()?, 1);
        // A rejected write: its retry is the same rejection, nothing done.
        let b = RequestId([2; 16]);
        let bad = Command::ApplyOnce {
            request: b,
            at: 1,
            mutations: vec![Mutation::DeleteNode {
                id: NodeId(999),
                detach: false,
            }],
        };
        let rejected = sm.apply_one(entry(3, bad.clone()))?;
        assert!(matches!(rejected, Response::Failed { .. }), "{rejected:?}");
        assert_eq!(sm.apply_one(entry(4, bad))?, rejected);
        assert_eq!(records(&sm)?, 4);
        // Plain writes move the window on: at index 6 the record of index
        // 1 goes, at index 8 that of index 3.
        for i in 5..=8 {
            sm.apply_one(entry(i, create(None)))?;
        }
        assert_eq!(records(&sm)?, 0);
        assert_eq!(read_u64(&*sm.store(), state_key::REQUEST_OLDEST)?, 4);
        // Forgotten: the same id now applies again.
        sm.apply_one(entry(9, create(Some(a))))?;
        assert_eq!(sm.store().node_count()?, 6);
        // The records and the oldest index are where a reopen finds them.
        drop(sm);
        Ok(())
    }
}
