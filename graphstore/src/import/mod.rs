//! `graphstore import`: Neo4j admin-import CSV, JSON Lines and edge lists
//! into a store, all or nothing for bad input.
//!
//! A bad row (a cell of the wrong type, a duplicate id, a relationship
//! naming an unknown node, bad bytes) stops the import with file:line:column
//! and the reason, leaving the store as it was (with `--skip-bad-rows`, bad
//! rows are counted, written to a report and left out).
//!
//! Into an existing store (the batched path): two passes over the input.
//! The first parses and checks every row and writes nothing; the second
//! writes nodes, then relationships, in batches through the normal commit
//! path. If the second pass fails (a full disk, say), what it wrote is
//! deleted again before the error is reported.
//!
//! Into a new store (the bulk path): one pass, nodes then relationships,
//! checking each row as it goes into the bulk loader, whose store becomes
//! visible only at its commit: a bad row drops the load, and nothing was
//! created.
//!
//! Into a cluster (STORE is a member's URL; remote.rs): the same two
//! passes, the check pass looking saved ids up on the leader, the write
//! pass sending batches of mutations to the leader, each committed on
//! every member on its own (not all or nothing: other clients see each
//! batch once it commits). If the write pass fails, the batches it
//! committed are deleted again, as far as the cluster can still be reached.
//!
//! External ids map to store ids through a mapping saved in the store
//! (`MapExternalId`), so a later import can refer to nodes of an earlier
//! one. A node file naming an id that is already mapped is refused row by
//! row: importing the same node file twice is rejected as a whole (or
//! skipped row by row with `--skip-bad-rows`). Relationship files have no
//! ids: importing one again adds parallel edges. Edge-list ids are "get or
//! create": an id already mapped names the existing node.

mod ahead;
pub mod gml;
pub mod graphml;
pub mod literal;
pub mod nodelink;
pub mod pajek;
pub mod remote;
pub mod source;

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use graph_storage::bulk::{BulkLoader, BulkOptions, BulkPhase};
use graph_storage::{BulkSink, EdgeId, GraphStore, NodeId, Properties, StorageBackend};
use serde::Serialize;

use crate::error::{CliError, CliResult, Context};
use crate::progress::{self, Progress};
use ahead::{ReadAhead, Row};
use source::{
    CsvKind, CsvOptions, CsvReader, EdgeListOptions, EdgeListReader, Item, ItemReader, JsonlPart,
    JsonlReader, Loc, NodeRef, RowError,
};

/// One input of an import.
#[derive(Debug, Clone)]
pub enum Input {
    /// Neo4j CSV node files (header in the first), with labels added to
    /// every node.
    Nodes {
        /// The files.
        files: Vec<PathBuf>,
        /// Labels for every node of the files.
        labels: Vec<String>,
    },
    /// Neo4j CSV relationship files, with a default type.
    Relationships {
        /// The files.
        files: Vec<PathBuf>,
        /// The type of rows without a `:TYPE` cell.
        edge_type: Option<String>,
    },
    /// A JSON Lines file.
    Jsonl(PathBuf),
    /// An edge list.
    EdgeList(PathBuf),
    /// A GraphML file.
    Graphml(PathBuf),
    /// A node-link JSON file (networkx, D3).
    NodeLink(PathBuf),
    /// A GML file.
    Gml(PathBuf),
    /// A Pajek `.net` file.
    Pajek(PathBuf),
}

impl Input {
    /// Parses a `--nodes` value: `[Label[:Label...]=]file[,file...]`.
    pub fn nodes(spec: &str) -> Input {
        let (prefix, files) = split_spec(spec);
        Input::Nodes {
            files,
            labels: prefix
                .map(|p| {
                    p.split(':')
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Parses a `--relationships` value: `[TYPE=]file[,file...]`.
    pub fn relationships(spec: &str) -> Input {
        let (prefix, files) = split_spec(spec);
        Input::Relationships {
            files,
            edge_type: prefix.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }

    fn files(&self) -> Vec<&Path> {
        match self {
            Input::Nodes { files, .. } | Input::Relationships { files, .. } => {
                files.iter().map(PathBuf::as_path).collect()
            }
            Input::Jsonl(p)
            | Input::EdgeList(p)
            | Input::Graphml(p)
            | Input::NodeLink(p)
            | Input::Gml(p)
            | Input::Pajek(p) => {
                vec![p.as_path()]
            }
        }
    }

    /// Whether the input holds nodes (read in the node phase of the write).
    fn has_nodes(&self) -> bool {
        matches!(
            self,
            Input::Nodes { .. }
                | Input::Jsonl(_)
                | Input::Graphml(_)
                | Input::NodeLink(_)
                | Input::Gml(_)
                | Input::Pajek(_)
        )
    }

    /// Whether the input holds relationships.
    fn has_relationships(&self) -> bool {
        !matches!(self, Input::Nodes { .. })
    }
}

/// `PREFIX=a,b` -> (Some(PREFIX), [a, b]); a `=` inside a path is kept when
/// the part before it names an existing file.
fn split_spec(spec: &str) -> (Option<&str>, Vec<PathBuf>) {
    let (prefix, list) = match spec.split_once('=') {
        Some((p, rest)) if !Path::new(spec).exists() && !p.contains(['/', ',']) => (Some(p), rest),
        _ => (None, spec),
    };
    (
        prefix,
        list.split(',')
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The inputs, in command-line order.
    pub inputs: Vec<Input>,
    /// CSV options.
    pub csv: CsvOptions,
    /// Edge-list options.
    pub edge_list: EdgeListOptions,
    /// GraphML options.
    pub graphml: graphml::GraphmlOptions,
    /// Node-link JSON options (the label of its nodes, the type of its
    /// edges).
    pub node_link: graphml::GraphmlOptions,
    /// GML options (the label of its nodes, the type of its edges).
    pub gml: graphml::GraphmlOptions,
    /// Pajek options (the label of its nodes, the type of its edges).
    pub pajek: graphml::GraphmlOptions,
    /// Skip bad rows instead of stopping.
    pub skip_bad_rows: bool,
    /// Where skipped rows are reported.
    pub report: PathBuf,
    /// Rows per commit.
    pub batch_size: usize,
    /// No progress display.
    pub quiet: bool,
    /// Property indexes (label, property) to declare before loading.
    pub indexes: Vec<(String, String)>,
    /// Bulk loads: bytes of sort buffers in memory.
    pub memory_budget: usize,
    /// Bulk loads: where sorted runs are spilled (default: beside the
    /// store).
    pub spill_dir: Option<PathBuf>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    /// The write path: `bulk` or `batched`.
    pub mode: String,
    /// Nodes created.
    pub nodes: u64,
    /// Relationships created.
    pub relationships: u64,
    /// Bad rows skipped (with `--skip-bad-rows`).
    pub bad_rows: u64,
    /// The report of skipped rows, if any were skipped.
    pub bad_rows_report: Option<String>,
    /// Bytes of input.
    pub input_bytes: u64,
    /// Seconds checking the input (first pass).
    pub check_seconds: f64,
    /// Seconds writing (second pass, including the final sync and flush).
    pub write_seconds: f64,
    /// Seconds of `write_seconds` spent flushing the engine's memory to its
    /// files at the end of a batched import (bulk loads write files
    /// directly: 0).
    pub flush_seconds: f64,
    /// Seconds in all.
    pub seconds: f64,
    /// Nodes per second over the whole import.
    pub nodes_per_second: f64,
    /// Relationships per second over the whole import.
    pub relationships_per_second: f64,
    /// Peak resident memory of the process, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Bytes of sorted runs spilled to disk (bulk loads).
    pub spilled_bytes: u64,
    /// What the import decided about its input that the user should
    /// know (`file:line: what`): a header line of an edge list skipped.
    pub notes: Vec<String>,
    /// Edge-list edges dropped as repeats of an earlier pair of this
    /// import (`--undirected`).
    pub repeated_edges: u64,
    /// Remote imports: write requests sent again after a failure that may
    /// have lost their answer (each applied once, by its request id).
    pub retried_requests: u64,
}

fn reader(input: &Input, opts: &ImportOptions, part: JsonlPart) -> Box<dyn ItemReader + Send> {
    match input {
        Input::Nodes { files, labels } => Box::new(CsvReader::new(
            CsvKind::Nodes,
            files.clone(),
            labels.clone(),
            None,
            opts.csv.clone(),
        )),
        Input::Relationships { files, edge_type } => Box::new(CsvReader::new(
            CsvKind::Relationships,
            files.clone(),
            Vec::new(),
            edge_type.clone(),
            opts.csv.clone(),
        )),
        Input::Jsonl(p) => Box::new(JsonlReader::new(vec![p.clone()], part)),
        Input::EdgeList(p) => {
            Box::new(EdgeListReader::new(vec![p.clone()], opts.edge_list.clone()))
        }
        Input::Graphml(p) => Box::new(graphml::GraphmlReader::new(
            p.clone(),
            part,
            opts.graphml.clone(),
        )),
        Input::NodeLink(p) => Box::new(nodelink::NodeLinkReader::new(
            p.clone(),
            part,
            opts.node_link.clone(),
        )),
        Input::Gml(p) => Box::new(gml::GmlReader::new(p.clone(), part, opts.gml.clone())),
        Input::Pajek(p) => Box::new(pajek::PajekReader::new(p.clone(), part, opts.pajek.clone())),
    }
}

/// External ids seen, per id space.
#[derive(Default)]
struct IdSet(Spaces<FxHashSet<Box<str>>>);

impl IdSet {
    fn contains(&self, space: &str, id: &str) -> bool {
        self.0.get(space).is_some_and(|s| s.contains(id))
    }

    fn insert(&mut self, space: &Arc<str>, id: &str) -> bool {
        self.0.get_or_default(space).insert(Box::from(id))
    }
}

/// One value per id space; imports name few spaces, so a list is fastest.
struct Spaces<T>(Vec<(Arc<str>, T)>);

impl<T> Default for Spaces<T> {
    fn default() -> Self {
        Spaces(Vec::new())
    }
}

impl<T: Default> Spaces<T> {
    fn get(&self, space: &str) -> Option<&T> {
        self.0.iter().find(|(s, _)| &**s == space).map(|(_, t)| t)
    }

    fn get_or_default(&mut self, space: &Arc<str>) -> &mut T {
        let i = match self.0.iter().position(|(s, _)| s == space) {
            Some(i) => i,
            None => {
                self.0.push((Arc::clone(space), T::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

/// External id -> node, per id space, for the nodes of this import.
#[derive(Default)]
struct IdMap(Spaces<SpaceIds>);

/// The ids of one space: canonical decimal numbers (what most datasets
/// use) as integers, so a lookup touches one table slot and no string;
/// anything else as strings. Numbers below four times as many as the
/// space holds (ids numbered from 0 or 1, as most datasets number them,
/// gaps and all) index a dense table directly: one memory access a lookup,
/// and no more memory than a hash table's slots (8 bytes a slot, at least
/// a quarter of them used). Larger ones go to a hash table.
#[derive(Default)]
struct SpaceIds {
    /// `dense[n]` is node + 1 for number `n`, 0 for none.
    dense: Vec<u64>,
    /// Numbers in `dense`.
    in_dense: usize,
    numbers: FxHashMap<u64, NodeId>,
    names: FxHashMap<Box<str>, NodeId>,
}

/// Numbers below this always go to the dense table.
const DENSE_FLOOR: u64 = 1 << 16;

impl SpaceIds {
    fn number(&self, n: u64) -> Option<NodeId> {
        match usize::try_from(n).ok().and_then(|i| self.dense.get(i)) {
            Some(&slot) if slot != 0 => Some(NodeId(slot - 1)),
            _ => self.numbers.get(&n).copied(),
        }
    }

    fn insert_number(&mut self, n: u64, node: NodeId) {
        let limit = DENSE_FLOOR.max(4 * self.in_dense as u64 + 1024);
        let slot = node.0.checked_add(1);
        if let (Some(slot), Ok(i), true) = (slot, usize::try_from(n), n < limit) {
            if i >= self.dense.len() {
                self.dense.resize(i + 1, 0);
            }
            if self.dense[i] == 0 {
                self.in_dense += 1;
            }
            self.dense[i] = slot;
            // A number kept in the hash table before the table grew.
            self.numbers.remove(&n);
            return;
        }
        self.numbers.insert(n, node);
    }
}

/// `id` as a number if it is one written canonically (no sign, no leading
/// zero), so that the number stands for exactly one string.
fn canonical_number(id: &str) -> Option<u64> {
    let b = id.as_bytes();
    if b.is_empty() || b.len() > 20 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

impl IdMap {
    fn get(&self, space: &str, id: &str) -> Option<NodeId> {
        let ids = self.0.get(space)?;
        match canonical_number(id) {
            Some(n) => ids.number(n),
            None => ids.names.get(id).copied(),
        }
    }

    fn insert(&mut self, space: &Arc<str>, id: &str, node: NodeId) {
        let ids = self.0.get_or_default(space);
        match canonical_number(id) {
            Some(n) => ids.insert_number(n, node),
            None => {
                ids.names.insert(Box::from(id), node);
            }
        }
    }
}

/// Bad rows: stops the import, or (skipping) reports and remembers them.
struct BadRows {
    skip: bool,
    rows: HashSet<Loc>,
    count: u64,
    report_path: PathBuf,
    report: Option<BufWriter<File>>,
}

impl BadRows {
    fn new(opts: &ImportOptions) -> Self {
        BadRows {
            skip: opts.skip_bad_rows,
            rows: HashSet::new(),
            count: 0,
            report_path: opts.report.clone(),
            report: None,
        }
    }

    fn bad(&mut self, e: RowError) -> CliResult<()> {
        if e.fatal {
            return Err(CliError::new(format!(
                "{e} (nothing was imported; the file cannot be read past this point, so \
                 --skip-bad-rows cannot help: fix or replace the file)"
            )));
        }
        if !self.skip {
            return Err(CliError::new(format!(
                "{e} (nothing was imported; fix the row, or pass --skip-bad-rows to skip bad rows)"
            )));
        }
        if self.report.is_none() {
            let f = File::create(&self.report_path).ctx(|| {
                format!(
                    "cannot create the bad-rows report {}",
                    self.report_path.display()
                )
            })?;
            self.report = Some(BufWriter::new(f));
        }
        if let Some(w) = self.report.as_mut() {
            writeln!(w, "{e}").ctx(|| format!("cannot write {}", self.report_path.display()))?;
        }
        self.count += 1;
        self.rows.insert(e.loc);
        Ok(())
    }

    fn finish(&mut self) -> CliResult<()> {
        if let Some(w) = self.report.as_mut() {
            w.flush()
                .ctx(|| format!("cannot write {}", self.report_path.display()))?;
        }
        Ok(())
    }
}

/// What the store would refuse in an item (an empty label or relationship
/// type, an empty property key, a value nested too deeply), as a bad row
/// at its line. The check pass finds it, so that nothing is written; the
/// store would otherwise refuse the whole batch holding it, naming no line.
fn refused(item: &Item, loc: &Loc) -> Option<RowError> {
    let (labels, edge_type, properties) = match item {
        Item::Node {
            labels, properties, ..
        } => (labels.as_slice(), None, properties),
        Item::Edge {
            edge_type,
            properties,
            ..
        } => (&[][..], Some(edge_type.as_str()), properties),
    };
    let reason = if labels.iter().any(String::is_empty) {
        "an empty label".to_owned()
    } else if edge_type == Some("") {
        "an empty relationship type".to_owned()
    } else {
        match graph_storage::validate_properties(properties) {
            Ok(()) => return None,
            Err(graph_storage::Error::InvalidArgument(why)) => why,
            Err(e) => e.to_string(),
        }
    };
    Some(RowError::bad(loc.clone(), 0, reason))
}

fn ref_error(loc: &Loc, r: &NodeRef, what: &str) -> RowError {
    let space = if r.space.is_empty() {
        String::new()
    } else {
        format!(" in id space {}", r.space)
    };
    RowError {
        fatal: false,
        loc: loc.clone(),
        column: r.column,
        reason: format!(
            "{what} node {:?}{space} is not in this import nor imported before",
            r.id
        ),
    }
}

fn total_bytes(inputs: &[&Input]) -> u64 {
    inputs
        .iter()
        .flat_map(|i| i.files())
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

/// Where the check pass finds the external ids earlier imports saved.
trait SavedIds {
    /// The node `external` in `space` is mapped to, if it exists.
    fn saved_id(&self, space: &str, external: &str) -> graph_storage::Result<Option<NodeId>>;

    /// Looks up `(space, external)` ids ahead of the [`saved_id`] calls
    /// that follow, for a store where one look-up of many is much cheaper
    /// than many of one (over the network). By default, nothing.
    ///
    /// [`saved_id`]: SavedIds::saved_id
    fn prefetch(&self, _ids: &[(&str, &str)]) -> graph_storage::Result<()> {
        Ok(())
    }
}

/// Rows the check pass reads ahead, to look their ids up together.
const LOOKAHEAD: usize = 1024;

/// Looks up together the saved ids the rows of `ahead` may ask for: node
/// ids, and the ends of relationships not among this import's nodes.
fn prefetch(
    store: &dyn SavedIds,
    seen: &IdSet,
    ahead: &[Result<(Item, Loc), RowError>],
) -> CliResult<()> {
    let mut ids: Vec<(&str, &str)> = Vec::new();
    for (item, _) in ahead.iter().flatten() {
        match item {
            Item::Node {
                space,
                id: Some(id),
                ..
            } => ids.push((space, id)),
            Item::Node { .. } => {}
            Item::Edge { start, end, .. } => {
                for r in [start, end] {
                    if !seen.contains(&r.space, &r.id) {
                        ids.push((&r.space, &r.id));
                    }
                }
            }
        }
    }
    store
        .prefetch(&ids)
        .ctx(|| "cannot read the saved id mapping".to_owned())
}

impl<B: StorageBackend> SavedIds for GraphStore<B> {
    fn saved_id(&self, space: &str, external: &str) -> graph_storage::Result<Option<NodeId>> {
        self.external_id(space, external)
    }
}

/// Checks every row (first pass). Returns the bad rows to skip.
fn check(store: &dyn SavedIds, opts: &ImportOptions) -> CliResult<BadRows> {
    let mut bad = BadRows::new(opts);
    let all: Vec<&Input> = opts.inputs.iter().collect();
    let total = total_bytes(&all);
    let mut progress = Progress::new("check", total, opts.quiet);
    let mut seen = IdSet::default();
    let mut deferred: Vec<(Loc, NodeRef, &'static str)> = Vec::new();
    let known = |seen: &IdSet, r: &NodeRef| -> CliResult<bool> {
        if seen.contains(&r.space, &r.id) {
            return Ok(true);
        }
        Ok(store
            .saved_id(&r.space, &r.id)
            .ctx(|| "cannot read the saved id mapping".to_owned())?
            .is_some())
    };
    // Node inputs first, as the write pass does.
    let order: Vec<&Input> = opts
        .inputs
        .iter()
        .filter(|i| matches!(i, Input::Nodes { .. }))
        .chain(
            opts.inputs
                .iter()
                .filter(|i| !matches!(i, Input::Nodes { .. })),
        )
        .collect();
    let (mut rows, mut consumed) = (0u64, 0u64);
    let mut ahead: Vec<Result<(Item, Loc), RowError>> = Vec::with_capacity(LOOKAHEAD);
    for input in order {
        let mut r = reader(input, opts, JsonlPart::All);
        let is_edge_list = matches!(input, Input::EdgeList(_));
        // Files in which a relationship may name a node that comes later.
        let is_jsonl = matches!(
            input,
            Input::Jsonl(_)
                | Input::Graphml(_)
                | Input::NodeLink(_)
                | Input::Gml(_)
                | Input::Pajek(_)
        );
        loop {
            ahead.extend(std::iter::from_fn(|| r.next_item()).take(LOOKAHEAD));
            if ahead.is_empty() {
                break;
            }
            // Edge lists look nothing up in this pass (their ids are get or
            // create), but the write pass does: look their ends up too.
            prefetch(store, &seen, &ahead)?;
            for next in ahead.drain(..) {
                rows += 1;
                if rows % 4096 == 0 {
                    progress.update(rows, consumed + r.position());
                }
                let (item, loc) = match next {
                    Ok(x) => x,
                    Err(e) => {
                        bad.bad(e)?;
                        continue;
                    }
                };
                if let Some(e) = refused(&item, &loc) {
                    // A node left out leaves its relationships unresolved:
                    // they are bad rows too.
                    bad.bad(e)?;
                    continue;
                }
                match item {
                    Item::Node { space, id, .. } => {
                        let Some(id) = id else { continue };
                        if let Some(existing) = store
                            .saved_id(&space, &id)
                            .ctx(|| "cannot read the saved id mapping".to_owned())?
                        {
                            bad.bad(RowError {
                            fatal: false,
                            loc,
                            column: 0,
                            reason: format!(
                                "node id {id:?} was imported before (as node {}); importing the same nodes twice is refused",
                                existing.0
                            ),
                        })?;
                        } else if !seen.insert(&space, &id) {
                            bad.bad(RowError {
                                fatal: false,
                                loc,
                                column: 0,
                                reason: format!("duplicate node id {id:?}"),
                            })?;
                        }
                    }
                    Item::Edge { start, end, .. } => {
                        if is_edge_list {
                            seen.insert(&start.space, &start.id);
                            seen.insert(&end.space, &end.id);
                            continue;
                        }
                        let mut failed = None;
                        for (r, what) in [(&start, "start"), (&end, "end")] {
                            if !known(&seen, r)? {
                                if is_jsonl {
                                    deferred.push((loc.clone(), r.clone(), what));
                                } else if failed.is_none() {
                                    failed = Some(ref_error(&loc, r, what));
                                }
                            }
                        }
                        if let Some(e) = failed {
                            bad.bad(e)?;
                        }
                    }
                }
            }
        }
        consumed += r.position();
    }
    // JSON Lines may name nodes that come later in the file.
    let late: Vec<(&str, &str)> = deferred
        .iter()
        .filter(|(loc, r, _)| !bad.rows.contains(loc) && !seen.contains(&r.space, &r.id))
        .map(|(_, r, _)| (&*r.space, r.id.as_str()))
        .collect();
    store
        .prefetch(&late)
        .ctx(|| "cannot read the saved id mapping".to_owned())?;
    for (loc, r, what) in deferred {
        if !bad.rows.contains(&loc) && !known(&seen, &r)? {
            bad.bad(ref_error(&loc, &r, what))?;
        }
    }
    bad.finish()?;
    progress.finish();
    Ok(bad)
}

/// What the write pass created, to undo it if the pass fails.
#[derive(Default)]
struct Created {
    nodes: Vec<NodeId>,
    edges: Vec<EdgeId>,
}

/// Deletes what a failed write pass created.
fn roll_back<B: StorageBackend>(
    store: &GraphStore<B>,
    created: &Created,
) -> graph_storage::Result<()> {
    for chunk in created.edges.chunks(10_000) {
        let mut b = store.batch();
        for &e in chunk {
            b.delete_edge(e);
        }
        b.commit()?;
    }
    for chunk in created.nodes.chunks(10_000) {
        let mut b = store.batch();
        for &n in chunk {
            b.delete_node(n, true);
        }
        b.commit()?;
    }
    store.sync()
}

/// Where the write pass puts rows: committed batches into an existing
/// store, or a bulk loader building a new one.
trait RowSink {
    /// Creates a node.
    fn node(&mut self, labels: &[&str], properties: &Properties) -> graph_storage::Result<NodeId>;
    /// Maps an external id to a node created before.
    fn map(&mut self, space: &str, external: &str, node: NodeId) -> graph_storage::Result<()>;
    /// Creates an edge.
    fn edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: &Properties,
    ) -> graph_storage::Result<()>;
    /// The node an earlier import mapped this external id to.
    fn saved(&self, space: &str, external: &str) -> graph_storage::Result<Option<NodeId>>;
}

/// Batches committed through the normal path, remembered for a roll-back.
struct Batches<'s, B: StorageBackend> {
    store: &'s GraphStore<B>,
    batch: graph_storage::GraphBatch<'s, B>,
    pending: Created,
    created: Created,
    batch_size: usize,
}

impl<'s, B: StorageBackend> Batches<'s, B> {
    fn maybe_commit(&mut self) -> graph_storage::Result<()> {
        if self.batch.len() >= self.batch_size {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> graph_storage::Result<()> {
        let batch = std::mem::replace(&mut self.batch, self.store.batch());
        if !batch.is_empty() {
            batch.commit()?;
        }
        let pending = std::mem::take(&mut self.pending);
        self.created.nodes.extend(pending.nodes);
        self.created.edges.extend(pending.edges);
        Ok(())
    }
}

impl<B: StorageBackend> RowSink for Batches<'_, B> {
    fn node(&mut self, labels: &[&str], properties: &Properties) -> graph_storage::Result<NodeId> {
        let id = self.batch.create_node(labels, properties.clone())?;
        self.pending.nodes.push(id);
        self.maybe_commit()?;
        Ok(id)
    }

    fn map(&mut self, space: &str, external: &str, node: NodeId) -> graph_storage::Result<()> {
        self.batch.map_external_id(space, external, node);
        self.maybe_commit()
    }

    fn edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: &Properties,
    ) -> graph_storage::Result<()> {
        let id = self
            .batch
            .create_edge(src, dst, edge_type, properties.clone())?;
        self.pending.edges.push(id);
        self.maybe_commit()
    }

    fn saved(&self, space: &str, external: &str) -> graph_storage::Result<Option<NodeId>> {
        self.store.external_id(space, external)
    }
}

impl<S: BulkSink> RowSink for BulkLoader<S> {
    fn node(&mut self, labels: &[&str], properties: &Properties) -> graph_storage::Result<NodeId> {
        self.add_node(labels, properties)
    }

    fn map(&mut self, space: &str, external: &str, node: NodeId) -> graph_storage::Result<()> {
        self.map_external_id(space, external, node)
    }

    fn edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: &Properties,
    ) -> graph_storage::Result<()> {
        self.add_edge(src, dst, edge_type, properties).map(|_| ())
    }

    fn saved(&self, _space: &str, _external: &str) -> graph_storage::Result<Option<NodeId>> {
        // A bulk load creates a new store: nothing was imported before.
        Ok(None)
    }
}

/// Writes every good row (second pass) through the normal path.
fn write<B: StorageBackend>(
    store: &GraphStore<B>,
    opts: &ImportOptions,
    bad: &mut BadRows,
    summary: &mut ImportSummary,
) -> CliResult<()> {
    let mut w = Batches {
        store,
        batch: store.batch(),
        pending: Created::default(),
        created: Created::default(),
        batch_size: opts.batch_size.max(1),
    };
    let outcome = write_rows(&mut w, opts, bad, false, summary);
    let outcome = outcome.and_then(|()| {
        w.commit()
            .and_then(|()| store.sync())
            .ctx(|| "cannot commit the import".to_owned())
    });
    if let Err(e) = outcome {
        // Undo what was committed (the pending batch was never written).
        let undo = roll_back(store, &w.created);
        return Err(match undo {
            Ok(()) => CliError::new(format!(
                "{e}; the rows written so far were deleted again, the store is as before"
            )),
            Err(u) => CliError::new(format!(
                "{e}; deleting the rows written so far failed too ({u}): the store holds part of the import (run `graphstore verify`)"
            )),
        });
    }
    // The import is committed and durable. Write its memtables to the
    // engine's files too, so the next open of the store does not replay
    // the whole import from the write-ahead log (4.5 s at 1M/2M).
    let flush = Instant::now();
    store.flush().ctx(|| {
        "the import is committed and durable, but flushing it to the store's files failed; the next open replays it from the log".to_owned()
    })?;
    summary.flush_seconds = flush.elapsed().as_secs_f64();
    Ok(())
}

/// Writes every row not in `bad` into `w`. With `inline`, rows are also
/// checked here (bad rows stop the import or are skipped into `bad`), so no
/// separate check pass is needed: the bulk path may, since nothing it
/// writes is visible before its commit; without, a row failing here changed
/// since the check pass.
fn write_rows(
    w: &mut dyn RowSink,
    opts: &ImportOptions,
    bad: &mut BadRows,
    inline: bool,
    summary: &mut ImportSummary,
) -> CliResult<()> {
    let node_inputs: Vec<&Input> = opts.inputs.iter().filter(|i| i.has_nodes()).collect();
    let rel_inputs: Vec<&Input> = opts
        .inputs
        .iter()
        .filter(|i| i.has_relationships())
        .collect();
    let total = total_bytes(&node_inputs) + total_bytes(&rel_inputs);
    let mut pass = RowPass {
        progress: Progress::new("write", total, opts.quiet),
        rows: 0,
        consumed: 0,
    };
    let mut ids = IdMap::default();
    let commit_err = || "cannot write the import".to_owned();

    for input in &node_inputs {
        let r = reader(input, opts, JsonlPart::Nodes);
        pass.each_row(r, bad, inline, |bad, item, loc| {
            let Item::Node {
                space,
                id,
                labels,
                properties,
            } = item
            else {
                return Ok(());
            };
            if inline
                && let Some(id) = id
                && ids.get(space, id).is_some()
            {
                return bad.bad(RowError {
                    fatal: false,
                    loc: loc.clone(),
                    column: 0,
                    reason: format!("duplicate node id {id:?}"),
                });
            }
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let node = w.node(&labels, properties).ctx(commit_err)?;
            if let Some(id) = id {
                w.map(space, id, node).ctx(commit_err)?;
                ids.insert(space, id, node);
            }
            summary.nodes += 1;
            Ok(())
        })?;
    }

    // `--undirected`: the unordered pairs of edge-list edges written so far.
    let mut pairs: FxHashSet<(NodeId, NodeId)> = FxHashSet::default();
    for input in &rel_inputs {
        let r = reader(input, opts, JsonlPart::Relationships);
        let implicit = match input {
            Input::EdgeList(_) => Some(opts.edge_list.label.clone()),
            _ => None,
        };
        let undirected = implicit.is_some() && opts.edge_list.undirected;
        pass.each_row(r, bad, inline, |bad, item, loc| {
            let Item::Edge {
                start,
                end,
                edge_type,
                properties,
            } = item
            else {
                return Ok(());
            };
            let (src, dst) = (known(&ids, &*w, start)?, known(&ids, &*w, end)?);
            if implicit.is_none() && (src.is_none() || dst.is_none()) {
                let (r, what) = if src.is_none() {
                    (start, "start")
                } else {
                    (end, "end")
                };
                let e = ref_error(loc, r, what);
                if inline {
                    return bad.bad(e);
                }
                return Err(inconsistent(e));
            }
            let mut resolve = |r: &NodeRef, found: Option<NodeId>| -> CliResult<NodeId> {
                if let Some(n) = found {
                    return Ok(n);
                }
                // A self-loop to a new id: created by the first end.
                if let Some(n) = ids.get(&r.space, &r.id) {
                    return Ok(n);
                }
                // Only edge lists get here: their ids are get-or-create.
                let label = implicit.as_deref().unwrap_or("Node");
                let n = w.node(&[label], &Properties::new()).ctx(commit_err)?;
                w.map(&r.space, &r.id, n).ctx(commit_err)?;
                ids.insert(&r.space, &r.id, n);
                summary.nodes += 1;
                Ok(n)
            };
            let src = resolve(start, src)?;
            let dst = resolve(end, dst)?;
            if undirected && !pairs.insert((src.min(dst), src.max(dst))) {
                summary.repeated_edges += 1;
                return Ok(());
            }
            w.edge(src, dst, edge_type, properties).ctx(commit_err)?;
            summary.relationships += 1;
            Ok(())
        })?;
    }
    pass.progress.finish();
    Ok(())
}

/// The write pass's walk over its inputs: rows counted and progress
/// shown across all of them.
struct RowPass {
    progress: Progress,
    rows: u64,
    /// Input bytes of the inputs read before the current one.
    consumed: u64,
}

impl RowPass {
    /// Reads `r` ahead on a thread of its own ([`ReadAhead`]) and hands
    /// `write` every row not known bad ([`good_row`]), with `bad` to record
    /// rows it finds bad.
    ///
    /// # Errors
    /// The reader thread cannot be started; a bad row that stops the
    /// import; the first error of `write`.
    fn each_row(
        &mut self,
        r: Box<dyn ItemReader + Send>,
        bad: &mut BadRows,
        inline: bool,
        mut write: impl FnMut(&mut BadRows, &Item, &Loc) -> CliResult<()>,
    ) -> CliResult<()> {
        let mut r = read_ahead(r)?;
        while let Some(batch) = r.next_batch() {
            for next in &batch {
                self.rows += 1;
                if self.rows.is_multiple_of(4096) {
                    self.progress
                        .update(self.rows, self.consumed + r.position());
                }
                if let Some((item, loc)) = good_row(next, bad, inline)? {
                    write(bad, item, loc)?;
                }
            }
            r.give_back(batch);
        }
        self.consumed += r.position();
        Ok(())
    }
}

/// A row read in the write pass, or `None` to go on to the next: a row
/// already known bad, or (checking inline) one found bad now and skipped.
///
/// # Errors
/// A bad row that stops the import; without `inline`, a row that was good
/// in the check pass and is bad now.
fn good_row<'r>(
    next: &'r Row,
    bad: &mut BadRows,
    inline: bool,
) -> CliResult<Option<(&'r Item, &'r Loc)>> {
    match next {
        Err(e) if !e.fatal && bad.rows.contains(&e.loc) => Ok(None),
        Err(e) if inline => bad.bad(e.clone()).map(|()| None),
        Err(e) => Err(inconsistent(e.clone())),
        Ok((_, loc)) if bad.rows.contains(loc) => Ok(None),
        Ok((item, loc)) if inline => match refused(item, loc) {
            Some(e) => bad.bad(e).map(|()| None),
            None => Ok(Some((item, loc))),
        },
        Ok((item, loc)) => Ok(Some((item, loc))),
    }
}

/// Starts reading `r` ahead on a thread of its own ([`ReadAhead`]).
///
/// # Errors
/// The thread cannot be started.
fn read_ahead(r: Box<dyn ItemReader + Send>) -> CliResult<ReadAhead> {
    ReadAhead::start(r).map_err(|e| {
        CliError::new(format!(
            "cannot start the import's reader thread ({e}); check the process and thread limits (ulimit -u)"
        ))
    })
}

/// A row that changed between the check pass and the write pass.
fn inconsistent(e: RowError) -> CliError {
    CliError::new(format!(
        "{e} (the row changed between the check and the write: is another process writing the file?)"
    ))
}

/// The node an external id names: of this import, or of an earlier one.
fn known(ids: &IdMap, w: &dyn RowSink, r: &NodeRef) -> CliResult<Option<NodeId>> {
    if let Some(n) = ids.get(&r.space, &r.id) {
        return Ok(Some(n));
    }
    w.saved(&r.space, &r.id)
        .ctx(|| "cannot read the saved id mapping".to_owned())
}

fn check_inputs(opts: &ImportOptions) -> CliResult<()> {
    if opts.inputs.is_empty() {
        return Err(CliError::new(
            "nothing to import: pass --nodes, --relationships, --jsonl, --edge-list, --graphml, --node-link, --gml or --pajek files",
        ));
    }
    for input in &opts.inputs {
        for f in input.files() {
            if !f.is_file() {
                return Err(CliError::new(format!(
                    "input file {} does not exist or is not a file; check the path",
                    f.display()
                )));
            }
        }
    }
    Ok(())
}

fn finish_summary(summary: &mut ImportSummary, opts: &ImportOptions, started: Instant) {
    summary.notes = opts.edge_list.notes.take();
    let elapsed = started.elapsed();
    summary.seconds = elapsed.as_secs_f64();
    summary.nodes_per_second = progress::per_second(summary.nodes, elapsed);
    summary.relationships_per_second = progress::per_second(summary.relationships, elapsed);
    summary.peak_rss_bytes = progress::peak_rss_bytes();
}

/// Runs an import into a NEW store at `path` through the bulk loader
/// (sorted SST files ingested at once): all or nothing, also if the process
/// is killed. `path` must be missing or an empty directory.
///
/// # Errors
/// The first bad row (unless skipping), unreadable files, a `path` that
/// holds a store, load errors; no store is created then.
pub fn run_bulk(
    path: &Path,
    config: &graph_storage::RocksDbConfig,
    opts: &ImportOptions,
) -> CliResult<ImportSummary> {
    check_inputs(opts)?;
    let started = Instant::now();
    let mut summary = ImportSummary {
        input_bytes: total_bytes(&opts.inputs.iter().collect::<Vec<_>>()),
        mode: "bulk".into(),
        ..ImportSummary::default()
    };
    // One pass: rows are checked as they are written, since nothing the
    // loader writes is visible before its commit (a bad row drops it).
    let mut bad = BadRows::new(opts);
    let write_start = Instant::now();
    let what = || format!("cannot bulk-load {}", path.display());
    let sink = graph_storage::RocksDbBackend::bulk_create(path, config).ctx(what)?;
    let spill = opts.spill_dir.clone().unwrap_or_else(|| {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    let mut bulk_opts = BulkOptions::new(&spill).memory_budget(opts.memory_budget);
    for (label, property) in &opts.indexes {
        bulk_opts = bulk_opts.index(label, property);
    }
    let mut loader = BulkLoader::new(sink, bulk_opts).ctx(what)?;
    write_rows(&mut loader, opts, &mut bad, true, &mut summary)?;
    bad.finish()?;
    summary.bad_rows = bad.count;
    if bad.count > 0 {
        summary.bad_rows_report = Some(bad.report_path.display().to_string());
    }
    let mut phase: Option<(BulkPhase, Progress)> = None;
    let quiet = opts.quiet;
    let (backend, bulk) = loader
        .finish(&mut |p| {
            let same = phase.as_ref().is_some_and(|(ph, _)| *ph == p.phase);
            if !same {
                if let Some((_, old)) = phase.take() {
                    old.finish();
                }
                let name = match p.phase {
                    BulkPhase::Read => "read",
                    BulkPhase::Write => "sort+sst",
                    BulkPhase::Commit => "ingest",
                };
                phase = Some((p.phase, Progress::new(name, p.total, quiet)));
            }
            if let Some((_, bar)) = phase.as_mut() {
                bar.update(p.entries, p.entries);
            }
        })
        .ctx(what)?;
    if let Some((_, bar)) = phase.take() {
        bar.finish();
    }
    backend
        .close()
        .ctx(|| format!("cannot close {}", path.display()))?;
    summary.write_seconds = write_start.elapsed().as_secs_f64();
    summary.spilled_bytes = bulk.spilled_bytes;
    finish_summary(&mut summary, opts, started);
    Ok(summary)
}

/// Runs an import into `store`.
///
/// # Errors
/// The first bad row (unless skipping), unreadable files, store errors.
pub fn run<B: StorageBackend>(
    store: &GraphStore<B>,
    opts: &ImportOptions,
) -> CliResult<ImportSummary> {
    check_inputs(opts)?;
    let started = Instant::now();
    let mut summary = ImportSummary {
        input_bytes: total_bytes(&opts.inputs.iter().collect::<Vec<_>>()),
        mode: "batched".into(),
        ..ImportSummary::default()
    };
    for (label, property) in &opts.indexes {
        if !store
            .indexes()
            .iter()
            .any(|i| &i.label == label && &i.property == property)
        {
            store
                .create_index(label, property)
                .ctx(|| format!("cannot create the index :{label}({property})"))?;
        }
    }
    let mut bad = check(store, opts)?;
    summary.check_seconds = started.elapsed().as_secs_f64();
    summary.bad_rows = bad.count;
    if bad.count > 0 {
        summary.bad_rows_report = Some(bad.report_path.display().to_string());
    }
    let write_start = Instant::now();
    write(store, opts, &mut bad, &mut summary)?;
    summary.write_seconds = write_start.elapsed().as_secs_f64();
    finish_summary(&mut summary, opts, started);
    Ok(summary)
}

/// The summary for people.
pub fn describe(s: &ImportSummary) -> String {
    let mut out = format!(
        "imported {} nodes and {} relationships ({}) in {:.2} s ({} nodes/s, {} relationships/s; check {:.2} s, write {:.2} s), {} of input, peak memory {}",
        progress::count(s.nodes),
        progress::count(s.relationships),
        s.mode,
        s.seconds,
        progress::count_f(s.nodes_per_second),
        progress::count_f(s.relationships_per_second),
        s.check_seconds,
        s.write_seconds,
        progress::bytes(s.input_bytes),
        s.peak_rss_bytes
            .map_or_else(|| "unknown".into(), progress::bytes),
    );
    if s.repeated_edges > 0 {
        out.push_str(&format!(
            "\ndropped {} edges repeating a pair listed before (--undirected)",
            progress::count(s.repeated_edges)
        ));
    }
    if s.bad_rows > 0 {
        out.push_str(&format!(
            "\nskipped {} bad rows, listed in {}",
            progress::count(s.bad_rows),
            s.bad_rows_report.as_deref().unwrap_or("the report")
        ));
    }
    for note in &s.notes {
        out.push_str(&format!("\nnote: {note}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_other_ids_map_apart_and_exactly() {
        let mut m = IdMap::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from(""), Arc::from("S"));
        m.insert(&a, "7", NodeId(1));
        m.insert(&a, "07", NodeId(2));
        m.insert(&a, "x", NodeId(3));
        m.insert(&b, "7", NodeId(4));
        m.insert(&a, "18446744073709551615", NodeId(5));
        m.insert(&a, "18446744073709551616", NodeId(6));
        assert_eq!(m.get("", "7"), Some(NodeId(1)));
        assert_eq!(m.get("", "07"), Some(NodeId(2)));
        assert_eq!(m.get("", "x"), Some(NodeId(3)));
        assert_eq!(m.get("S", "7"), Some(NodeId(4)));
        assert_eq!(m.get("", "18446744073709551615"), Some(NodeId(5)));
        assert_eq!(m.get("", "18446744073709551616"), Some(NodeId(6)));
        assert_eq!(m.get("", "8"), None);
        assert_eq!(m.get("T", "7"), None);
        assert_eq!(canonical_number("0"), Some(0));
        assert_eq!(canonical_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(canonical_number("18446744073709551616"), None);
        assert_eq!(canonical_number("99999999999999999999"), None);
        assert_eq!(canonical_number("12a"), None);
        assert_eq!(canonical_number("-1"), None);
        assert_eq!(canonical_number("+1"), None);
        assert_eq!(canonical_number(""), None);
    }

    /// The dense table and the hash table hold numbers as one map: the
    /// same answers as a plain map for dense, sparse, huge and re-mapped
    /// numbers, in any order.
    #[test]
    fn dense_and_sparse_numbers_answer_as_one_map() {
        let space: Arc<str> = Arc::from("");
        let mut m = IdMap::default();
        let mut want = std::collections::BTreeMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = match i % 5 {
                0 | 1 => i,              // dense, ascending
                2 => x % 500_000,        // dense or sparse as the table grows
                3 => x % (1 << 40),      // sparse
                _ => u64::MAX - (x % 3), // at the top
            };
            let node = NodeId(x % 1_000_000);
            m.insert(&space, &n.to_string(), node);
            want.insert(n, node);
        }
        for (n, node) in &want {
            assert_eq!(m.get("", &n.to_string()), Some(*node), "{n}");
        }
        let ids =
            m.0.get("")
                .map(|s| (s.dense.len(), s.in_dense, s.numbers.len()));
        let (dense, in_dense, hashed) = ids.unwrap_or_default();
        assert_eq!(in_dense + hashed, want.len());
        assert!(
            in_dense > 80_000 && dense <= 4 * in_dense + 1024 + (1 << 16),
            "{dense} slots, {in_dense} dense, {hashed} hashed"
        );
        for n in [200_000u64, 600_000, 1 << 41, u64::MAX - 3] {
            if !want.contains_key(&n) {
                assert_eq!(m.get("", &n.to_string()), None, "{n}");
            }
        }
    }
}
