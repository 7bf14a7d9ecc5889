//! An import into a cluster: the check pass and the write pass of the
//! batched path, with the store on the other side of a [`Member`].
//!
//! The import first makes a linearizable read, which lands on the leader
//! (a follower hands it over); every later request goes to the leader.
//! The check pass looks saved external ids up there (`/api/external-id`),
//! and nothing is sent if a row is bad. The write pass gathers
//! `--batch-size` mutations (or [`MAX_BATCH_BYTES`] of JSON), with
//! placeholder ids
//! ([`graph_raft::placeholder_node`]) for the nodes and edges the batch
//! creates, and posts them to `/api/write`, which commits them as one
//! atomic Raft entry and answers the real ids.
//!
//! The importer holds on to the nodes it created (to map their external
//! ids, to connect edges, also in later batches): the sink hands out
//! handles, indexes into a table whose entry is the node's placeholder
//! while its batch is pending and its real id once the batch committed.
//! Nodes of earlier imports (`saved`) get handles too.
//!
//! Every batch carries a request id (the import's random 8 bytes and the
//! batch's number): a batch whose answer was lost (the connection broke,
//! the leader changed, the cluster was electing) is sent again with the
//! same id for up to [`RETRY_FOR`], and the cluster applies it once
//! (`graph_raft::ReplicatedStore::write_once`), so an import interrupted
//! by a leader change finishes with every row exactly once.
//!
//! Batches commit one by one, each visible to every reader once committed;
//! the import as a whole is not atomic. If the write pass fails, the
//! batches it committed are deleted again (as the local batched path
//! does), if the cluster can still be reached.

use std::cell::RefCell;
use std::time::Instant;

use graph_raft::{RequestId, placeholder_edge, placeholder_node};
use graph_storage::{EdgeId, Error, Mutation, NodeId, Properties};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use super::{
    Created, ImportOptions, ImportSummary, RowSink, SavedIds, check, check_inputs, finish_summary,
    total_bytes, write_rows,
};
use crate::error::{CliError, CliResult};
use crate::progress;
use crate::reads;
use crate::remote::Member;
use crate::wire::{
    self, ExternalId, ExternalIdAnswer, ExternalIdRequest, IndexRequest, Read, WriteAnswer,
    WriteBody,
};

/// Runs an import into the cluster `member` belongs to.
///
/// # Errors
/// The first bad row (unless skipping; nothing is sent then), unreadable
/// files, a cluster that cannot be reached or refuses a batch.
pub fn run(member: &Member, opts: &ImportOptions) -> CliResult<ImportSummary> {
    check_inputs(opts)?;
    let started = Instant::now();
    let mut summary = ImportSummary {
        input_bytes: total_bytes(&opts.inputs.iter().collect::<Vec<_>>()),
        mode: "remote".into(),
        ..ImportSummary::default()
    };
    // A linearizable read goes to the leader, and so does every request
    // after it.
    let stats: Value = member.call(
        wire::STATS,
        &Read {
            linearizable: true,
            query: (),
        },
        &|| format!("cannot reach the leader of the cluster at {}", member.url()),
    )?;
    let undecodable =
        |e: String| CliError::new(format!("undecodable stats from {}: {e}", member.target()));
    let indexes = reads::indexes_from_json(stats.get("indexes").unwrap_or(&Value::Null))
        .map_err(undecodable)?;
    for (label, property) in &opts.indexes {
        if !indexes
            .iter()
            .any(|i| &i.label == label && &i.property == property)
        {
            let _: Value = member.call(
                wire::INDEX_CREATE,
                &IndexRequest {
                    label: label.clone(),
                    property: property.clone(),
                },
                &|| format!("cannot create the index :{label}({property})"),
            )?;
        }
    }
    let saved = Lookups {
        member,
        // A store without saved ids answers every lookup with "none": ask
        // it nothing.
        none_saved: stats.get("external_ids").and_then(Value::as_u64) == Some(0),
        checked: std::cell::Cell::new(false),
        found: RefCell::default(),
        missing: RefCell::default(),
        failure: RefCell::default(),
    };
    let mut bad = check(&saved, opts).map_err(|e| saved.failure.take().unwrap_or(e))?;
    saved.checked.set(true);
    saved.missing.borrow_mut().clear();
    summary.check_seconds = started.elapsed().as_secs_f64();
    summary.bad_rows = bad.count;
    if bad.count > 0 {
        summary.bad_rows_report = Some(bad.report_path.display().to_string());
    }
    let write_start = Instant::now();
    let mut sink = Sink {
        member,
        saved: &saved,
        batch: WriteBody::new(),
        batch_size: opts.batch_size.max(1),
        slots: RefCell::default(),
        pending_nodes: Vec::new(),
        pending_edges: 0,
        saved_handles: RefCell::default(),
        created: Created::default(),
        batches: 0,
        failure: None,
        import_id: rand::random(),
        requests: std::cell::Cell::new(0),
        retries: std::cell::Cell::new(0),
    };
    let outcome = write_rows(&mut sink, opts, &mut bad, false, &mut summary).and_then(|()| {
        sink.commit()
            .map_err(|e| CliError::new(format!("cannot write the import: {e}")))
    });
    if let Err(e) = outcome {
        // The request's own line says best what failed.
        let e = sink
            .failure
            .take()
            .or_else(|| saved.failure.take())
            .unwrap_or(e);
        return Err(sink.roll_back(e));
    }
    summary.write_seconds = write_start.elapsed().as_secs_f64();
    summary.retried_requests = sink.retries.get();
    finish_summary(&mut summary, opts, started);
    Ok(summary)
}

/// Saved external ids, looked up on the leader, many per request (the
/// check pass reads rows ahead and asks for their ids together). Ids found
/// are remembered for the whole import; ids not found only until the next
/// look-ahead.
///
/// The check pass looks up every id the write pass can ask about: each
/// node id, and each relationship end (edge-list ends included) that is not
/// a node of this import, which the write pass finds in its own map. So
/// once the check pass is over ([`Lookups::checked`]), the ids found are
/// all the saved ids the import names, and the write pass asks nothing.
struct Lookups<'m> {
    member: &'m Member,
    /// The store had no saved ids when the import began: nothing to ask.
    none_saved: bool,
    /// The check pass is over: answer from `found` alone.
    checked: std::cell::Cell<bool>,
    found: RefCell<FxHashMap<(String, String), NodeId>>,
    /// Ids of the current look-ahead that name no node.
    missing: RefCell<FxHashSet<(String, String)>>,
    /// The failure of a request, kept whole ([`SavedIds`] answers graph
    /// errors, and the request's line is complete).
    failure: RefCell<Option<CliError>>,
}

/// How long a write request whose answer was lost is tried again (a
/// leader election takes about a second; a member restarting, longer).
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// External ids per `/api/external-id` request.
const LOOKUPS_PER_REQUEST: usize = 4096;

impl Lookups<'_> {
    /// Asks the leader for `ids`, remembering the answers.
    fn ask(&self, ids: &[(String, String)]) -> graph_storage::Result<()> {
        for chunk in ids.chunks(LOOKUPS_PER_REQUEST) {
            let request = ExternalIdRequest {
                ids: chunk
                    .iter()
                    .map(|(space, external)| ExternalId {
                        space: space.clone(),
                        external: external.clone(),
                    })
                    .collect(),
            };
            let answer: ExternalIdAnswer = self
                .member
                .call(wire::EXTERNAL_ID, &request, &|| {
                    format!("cannot look up {} saved external ids", chunk.len())
                })
                .map_err(|e| {
                    let graph = Error::Unavailable(e.message.clone());
                    *self.failure.borrow_mut() = Some(e);
                    graph
                })?;
            if answer.nodes.len() != chunk.len() {
                return Err(Error::Backend(format!(
                    "{} answered {} of {} external id look-ups",
                    self.member.target(),
                    answer.nodes.len(),
                    chunk.len()
                )));
            }
            let (mut found, mut missing) = (self.found.borrow_mut(), self.missing.borrow_mut());
            for (key, node) in chunk.iter().zip(answer.nodes) {
                match node {
                    Some(n) => {
                        found.insert(key.clone(), NodeId(n));
                    }
                    None => {
                        missing.insert(key.clone());
                    }
                }
            }
        }
        Ok(())
    }
}

impl SavedIds for Lookups<'_> {
    fn saved_id(&self, space: &str, external: &str) -> graph_storage::Result<Option<NodeId>> {
        if self.none_saved {
            return Ok(None);
        }
        let key = (space.to_owned(), external.to_owned());
        if !self.checked.get()
            && !self.found.borrow().contains_key(&key)
            && !self.missing.borrow().contains(&key)
        {
            self.ask(std::slice::from_ref(&key))?;
        }
        Ok(self.found.borrow().get(&key).copied())
    }

    fn prefetch(&self, ids: &[(&str, &str)]) -> graph_storage::Result<()> {
        if self.none_saved {
            return Ok(());
        }
        self.missing.borrow_mut().clear();
        let found = self.found.borrow();
        let mut unknown: FxHashSet<(String, String)> = FxHashSet::default();
        for &(space, external) in ids {
            let key = (space.to_owned(), external.to_owned());
            if !found.contains_key(&key) {
                unknown.insert(key);
            }
        }
        drop(found);
        let unknown: Vec<(String, String)> = unknown.into_iter().collect();
        self.ask(&unknown)
    }
}

/// What a node handle stands for.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A node that exists, by its real id.
    Real(NodeId),
    /// The `k`-th node the pending batch creates.
    Pending(u64),
}

/// The most JSON a batch of the write pass carries, whatever
/// `--batch-size` says: a batch is one Raft log entry, and openraft gives
/// each `append_entries` (up to `graph_raft::REPLICATION_BATCH_BYTES` of
/// entries) one heartbeat interval to reach a follower and be stored
/// there.
pub const MAX_BATCH_BYTES: usize = 1 << 20;

/// The write pass's [`RowSink`]: batches of mutations sent to the leader.
struct Sink<'m> {
    member: &'m Member,
    saved: &'m Lookups<'m>,
    /// The pending batch.
    batch: WriteBody,
    batch_size: usize,
    /// What each node handle (`NodeId(i)`: index `i`) stands for.
    slots: RefCell<Vec<Slot>>,
    /// The handle of each node the pending batch creates, in order.
    pending_nodes: Vec<usize>,
    /// Edges the pending batch creates.
    pending_edges: u64,
    /// The handle of each saved node handed out, by real id.
    saved_handles: RefCell<FxHashMap<NodeId, usize>>,
    /// What the committed batches created, to delete it if the pass fails.
    created: Created,
    /// Batches committed.
    batches: u64,
    /// The failure of a request, kept whole (the [`RowSink`] methods answer
    /// graph errors).
    failure: Option<CliError>,
    /// The first half of every request id of this import (random).
    import_id: [u8; 8],
    /// Write requests sent so far, the second half of the next id.
    requests: std::cell::Cell<u64>,
    /// Tries of write requests repeated after a failure that may have
    /// lost the answer.
    retries: std::cell::Cell<u64>,
}

impl Sink<'_> {
    /// The id a handle stands for in the pending batch.
    fn resolve(&self, handle: NodeId) -> graph_storage::Result<NodeId> {
        let slot = usize::try_from(handle.0)
            .ok()
            .and_then(|i| self.slots.borrow().get(i).copied());
        match slot {
            Some(Slot::Real(id)) => Ok(id),
            Some(Slot::Pending(k)) => Ok(placeholder_node(k)),
            None => Err(Error::invalid(format!(
                "node handle {} was never handed out",
                handle.0
            ))),
        }
    }

    /// A new handle for `slot`.
    fn handle(&self, slot: Slot) -> NodeId {
        let mut slots = self.slots.borrow_mut();
        slots.push(slot);
        NodeId((slots.len() - 1) as u64)
    }

    fn push(&mut self, m: Mutation) -> graph_storage::Result<()> {
        self.batch.push(&m).map_err(Error::invalid)?;
        if self.batch.len() >= self.batch_size || self.batch.size() >= MAX_BATCH_BYTES {
            self.commit()?;
        }
        Ok(())
    }

    /// Sends the pending batch; the nodes it created get their real ids.
    fn commit(&mut self) -> graph_storage::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let count = self.batch.len();
        let body = self.batch.take_once(&self.next_request());
        let answer = match self.send(body, count) {
            Ok(a) => a,
            Err(e) => {
                let message = e.message.clone();
                self.failure = Some(e);
                return Err(Error::Unavailable(message));
            }
        };
        if answer.nodes.len() != self.pending_nodes.len()
            || answer.edges.len() as u64 != self.pending_edges
        {
            let e = CliError::new(format!(
                "{} answered {} node and {} edge ids for a batch creating {} nodes and {} edges",
                self.member.target(),
                answer.nodes.len(),
                answer.edges.len(),
                self.pending_nodes.len(),
                self.pending_edges
            ));
            let message = e.message.clone();
            self.failure = Some(e);
            return Err(Error::Backend(message));
        }
        {
            let mut slots = self.slots.borrow_mut();
            for (&handle, &id) in self.pending_nodes.iter().zip(&answer.nodes) {
                if let Some(s) = slots.get_mut(handle) {
                    *s = Slot::Real(NodeId(id));
                }
            }
        }
        self.created
            .nodes
            .extend(answer.nodes.iter().map(|&n| NodeId(n)));
        self.created
            .edges
            .extend(answer.edges.iter().map(|&e| EdgeId(e)));
        self.pending_nodes.clear();
        self.pending_edges = 0;
        self.batches += 1;
        Ok(())
    }

    /// The id of the next write request: the import's id and the
    /// request's number.
    fn next_request(&self) -> RequestId {
        let n = self.requests.get();
        self.requests.set(n + 1);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.import_id);
        id[8..].copy_from_slice(&n.to_be_bytes());
        RequestId(id)
    }

    /// Posts one batch of `count` mutations to `/api/write`, carrying a
    /// request id: if the answer is lost (a connection broken, a leader
    /// change), it is sent again, with the same id, for up to
    /// [`RETRY_FOR`], and the cluster applies it once.
    fn send(&self, body: Vec<u8>, count: usize) -> CliResult<WriteAnswer> {
        let what = || {
            format!(
                "cannot write batch {} of the import ({count} mutations) to {}",
                self.batches + 1,
                self.member.target()
            )
        };
        if body.len() > wire::MAX_BODY_BYTES {
            return Err(CliError::new(format!(
                "{}: the batch is {} of JSON, over the {} a member accepts; lower --batch-size",
                what(),
                progress::bytes(body.len() as u64),
                progress::bytes(wire::MAX_BODY_BYTES as u64)
            )));
        }
        let answer = self
            .member
            .post_retrying(wire::WRITE, body, &what, RETRY_FOR, &mut |_| {
                self.retries.set(self.retries.get() + 1);
            })?;
        serde_json::from_value(answer)
            .map_err(|e| CliError::new(format!("{}: undecodable answer: {e}", what())))
    }

    /// Deletes what the committed batches created, after `e` stopped the
    /// pass; returns the line to report.
    fn roll_back(&self, e: CliError) -> CliError {
        if self.created.nodes.is_empty() && self.created.edges.is_empty() {
            return CliError::new(format!(
                "{}; nothing of the import was committed",
                e.message
            ));
        }
        let batches = self.batches;
        match self.delete_created() {
            Ok(()) => CliError::new(format!(
                "{}; the {batches} batches committed before were deleted again, the cluster's graph is as before",
                e.message
            )),
            Err(u) => CliError::new(format!(
                "{}; deleting the {batches} batches committed before failed too ({u}): the cluster holds part of the import (`graphstore verify` stays clean; delete the nodes the import's ids map to, or retry the import with --skip-bad-rows to add what is missing)",
                e.message
            )),
        }
    }

    /// Deletes what the committed batches created, in batches as large as
    /// the import's: edges first, then nodes (with any edges others gave
    /// them since).
    fn delete_created(&self) -> Result<(), String> {
        let undo = self
            .created
            .edges
            .iter()
            .map(|&id| Mutation::DeleteEdge { id })
            .chain(
                self.created
                    .nodes
                    .iter()
                    .map(|&id| Mutation::DeleteNode { id, detach: true }),
            );
        let mut body = WriteBody::new();
        for m in undo {
            body.push(&m)?;
            if body.len() >= self.batch_size || body.size() >= MAX_BATCH_BYTES {
                let count = body.len();
                self.send(body.take_once(&self.next_request()), count)
                    .map_err(|u| u.message)?;
            }
        }
        if !body.is_empty() {
            let count = body.len();
            self.send(body.take_once(&self.next_request()), count)
                .map_err(|u| u.message)?;
        }
        Ok(())
    }
}

impl RowSink for Sink<'_> {
    fn node(&mut self, labels: &[&str], properties: &Properties) -> graph_storage::Result<NodeId> {
        let k = self.pending_nodes.len() as u64;
        let handle = self.handle(Slot::Pending(k));
        self.pending_nodes.push(handle.0 as usize);
        self.push(Mutation::CreateNode {
            id: placeholder_node(k),
            labels: labels.iter().map(|l| (*l).into()).collect(),
            properties: properties.clone(),
        })?;
        Ok(handle)
    }

    fn map(&mut self, space: &str, external: &str, node: NodeId) -> graph_storage::Result<()> {
        let node = self.resolve(node)?;
        self.push(Mutation::MapExternalId {
            space: space.to_owned(),
            external: external.to_owned(),
            node,
        })
    }

    fn edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: &Properties,
    ) -> graph_storage::Result<()> {
        let (src, dst) = (self.resolve(src)?, self.resolve(dst)?);
        let id = placeholder_edge(self.pending_edges);
        self.pending_edges += 1;
        self.push(Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type: edge_type.to_owned(),
            properties: properties.clone(),
        })
    }

    fn saved(&self, space: &str, external: &str) -> graph_storage::Result<Option<NodeId>> {
        let Some(real) = self.saved.saved_id(space, external)? else {
            return Ok(None);
        };
        if let Some(&handle) = self.saved_handles.borrow().get(&real) {
            return Ok(Some(NodeId(handle as u64)));
        }
        let handle = self.handle(Slot::Real(real));
        self.saved_handles
            .borrow_mut()
            .insert(real, handle.0 as usize);
        Ok(Some(handle))
    }
}
