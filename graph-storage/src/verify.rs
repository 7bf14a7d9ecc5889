//! The integrity check: every derived entry must match the records.

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;

use graph_core::codec::{self, AdjacencyKey, SymbolId, meta};
use graph_core::{ColumnFamily, EdgeId, Error, KeyRange, NodeId, ReadView, Result, ScanDirection};

use crate::catalog::Catalog;
use crate::read::GraphReader;
use crate::sort::Sorter;

/// The memory [`GraphReader::verify`] and
/// [`GraphStore::repair`](crate::GraphStore::repair) sort the expected
/// index keys in before spilling sorted runs to disk: 512 MiB, about 8
/// million keys (a node's label and indexed properties, two adjacency keys
/// per edge).
pub const AUDIT_MEMORY: usize = 512 << 20;

/// One inconsistency found by [`GraphReader::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A record, key or counter that does not decode (or an index entry
    /// with a value, where the format has none).
    Undecodable {
        /// Where it is.
        cf: ColumnFamily,
        /// Its key.
        key: Vec<u8>,
        /// The decoder's complaint.
        reason: String,
    },
    /// An edge whose endpoint does not exist.
    DanglingEdge {
        /// The edge.
        edge: EdgeId,
        /// The missing endpoint.
        missing: NodeId,
    },
    /// An index or adjacency entry the records call for is absent.
    MissingIndexEntry {
        /// The absent key in `indices`.
        key: Vec<u8>,
    },
    /// An index or adjacency entry no record calls for.
    ExtraIndexEntry {
        /// The superfluous key in `indices`.
        key: Vec<u8>,
    },
    /// A stored count differs from the number of records.
    WrongCount {
        /// `"nodes"` or `"edges"`.
        what: &'static str,
        /// The stored count.
        stored: u64,
        /// The number of records.
        actual: u64,
    },
    /// An id counter is not above an id in use, so it could be reused.
    IdCounterBehind {
        /// `"node"`, `"edge"`, `"index"` or `"symbol"`.
        what: &'static str,
        /// The stored next id.
        next: u64,
        /// The largest id in use.
        max_used: u64,
    },
    /// A label or edge type without a consistent dictionary entry.
    BadSymbol {
        /// The name, or the id as text.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Undecodable { cf, key, reason } => write!(f, "{cf} key {key:02x?}: {reason}"),
            Problem::DanglingEdge { edge, missing } => {
                write!(f, "edge {edge} points to missing node {missing}")
            }
            Problem::MissingIndexEntry { key } => write!(f, "missing index entry {key:02x?}"),
            Problem::ExtraIndexEntry { key } => write!(f, "extra index entry {key:02x?}"),
            Problem::WrongCount {
                what,
                stored,
                actual,
            } => {
                write!(f, "{what} count is {stored} but {actual} records exist")
            }
            Problem::IdCounterBehind {
                what,
                next,
                max_used,
            } => {
                write!(
                    f,
                    "next {what} id {next} is not above the largest in use, {max_used}"
                )
            }
            Problem::BadSymbol { name, reason } => write!(f, "symbol {name:?}: {reason}"),
        }
    }
}

/// What [`GraphReader::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Node records checked.
    pub nodes: u64,
    /// Edge records checked.
    pub edges: u64,
    /// Entries of `indices` checked.
    pub index_entries: u64,
    /// Every inconsistency, in the order found.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} nodes, {} edges, {} index entries: ",
            self.nodes, self.edges, self.index_entries
        )?;
        if self.is_clean() {
            return f.write_str("clean");
        }
        writeln!(f, "{} problem(s)", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// The symbol dictionary as stored (not as cached).
struct StoredSymbols {
    by_name: HashMap<String, SymbolId>,
    /// The largest id of a by-id entry.
    max_id: Option<u32>,
}

impl StoredSymbols {
    fn load(view: &impl ReadView, problems: &mut Vec<Problem>) -> Result<Self> {
        let mut by_name = HashMap::new();
        let mut by_id = HashMap::new();
        view.scan_prefix(
            ColumnFamily::Default,
            &[meta::TAG_SYMBOL_BY_NAME],
            ScanDirection::Forward,
            &mut |k, v| {
                let name = String::from_utf8_lossy(&k[1..]).into_owned();
                match codec::decode_u32_value(ColumnFamily::Default, k, v) {
                    Ok(id) => {
                        by_name.insert(name, SymbolId(id));
                    }
                    Err(e) => problems.push(Problem::BadSymbol {
                        name,
                        reason: e.to_string(),
                    }),
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        view.scan_prefix(
            ColumnFamily::Default,
            &[meta::TAG_SYMBOL_BY_ID],
            ScanDirection::Forward,
            &mut |k, v| {
                match meta::decode_symbol_by_id_key(k) {
                    Ok(id) => {
                        by_id.insert(id, String::from_utf8_lossy(v).into_owned());
                    }
                    Err(e) => problems.push(Problem::BadSymbol {
                        name: format!("{k:02x?}"),
                        reason: e.to_string(),
                    }),
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        for (name, id) in &by_name {
            if by_id.get(id) != Some(name) {
                problems.push(Problem::BadSymbol {
                    name: name.clone(),
                    reason: format!("id {} does not map back to it", id.0),
                });
            }
        }
        if by_id.len() != by_name.len() {
            problems.push(Problem::BadSymbol {
                name: String::new(),
                reason: format!("{} names but {} ids", by_name.len(), by_id.len()),
            });
        }
        let max_id = by_id.keys().map(|id: &SymbolId| id.0).max();
        Ok(StoredSymbols { by_name, max_id })
    }

    fn id(&self, name: &str, problems: &mut Vec<Problem>) -> Option<SymbolId> {
        let id = self.by_name.get(name).copied();
        if id.is_none() {
            problems.push(Problem::BadSymbol {
                name: name.to_owned(),
                reason: "used but not in the dictionary".into(),
            });
        }
        id
    }
}

/// A pass of the whole-store audit behind `verify` and `repair`, in the
/// order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditPass {
    /// The edge records: decoded, their endpoints and adjacency entries
    /// noted.
    Edges,
    /// The node records: decoded, their label and property-index entries
    /// noted, edge endpoints checked.
    Nodes,
    /// The index family, merged with the entries the records call for.
    Indices,
}

impl AuditPass {
    /// A short name: `edges`, `nodes` or `indices`.
    pub fn name(self) -> &'static str {
        match self {
            AuditPass::Edges => "edges",
            AuditPass::Nodes => "nodes",
            AuditPass::Indices => "indices",
        }
    }
}

/// How far the audit behind [`GraphReader::verify_with`],
/// [`GraphStore::verify_with`](crate::GraphStore::verify_with) and
/// [`GraphStore::repair_with`](crate::GraphStore::repair_with) has come:
/// reported every [`AUDIT_PROGRESS_EVERY`] items of a pass and once at its
/// end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditProgress {
    /// The pass running.
    pub pass: AuditPass,
    /// Items (records, or index entries) the pass has read so far.
    pub done: u64,
    /// About how many it will read: the stored count of nodes or edges,
    /// the number of entries the records call for; `None` when unknown (a
    /// count that does not decode). Damage can make `done` exceed it.
    pub total: Option<u64>,
    /// Whether the pass is over (`done` is then its final count).
    pub finished: bool,
}

/// How often, in items read, the audit reports its progress.
pub const AUDIT_PROGRESS_EVERY: u64 = 1 << 16;

/// Reports the progress of one pass.
struct Pass<'p> {
    pass: AuditPass,
    done: u64,
    total: Option<u64>,
    report: &'p mut dyn FnMut(AuditProgress),
}

impl<'p> Pass<'p> {
    fn new(pass: AuditPass, total: Option<u64>, report: &'p mut dyn FnMut(AuditProgress)) -> Self {
        let mut p = Pass {
            pass,
            done: 0,
            total,
            report,
        };
        p.send(false);
        p
    }

    fn send(&mut self, finished: bool) {
        (self.report)(AuditProgress {
            pass: self.pass,
            done: self.done,
            total: self.total,
            finished,
        });
    }

    /// One more item read.
    fn tick(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(AUDIT_PROGRESS_EVERY) {
            self.send(false);
        }
    }

    fn finish(mut self) {
        self.send(true);
    }
}

impl<V: ReadView> GraphReader<'_, V> {
    /// Checks the whole store: every record decodes; every edge's endpoints
    /// exist; the label index, property indexes and adjacency hold exactly
    /// the entries the records call for; counts match; id counters are
    /// ahead of every id in use; the symbol dictionary is consistent.
    ///
    /// Run it on a snapshot ([`GraphStore::verify`](crate::GraphStore::verify)
    /// does) so concurrent writes do not show up as problems. The index
    /// keys the records call for are sorted in bounded memory
    /// ([`AUDIT_MEMORY`]; more is spilled to sorted runs in a temporary
    /// directory under [`std::env::temp_dir`], removed before it returns)
    /// and merged with a scan of the index family; edge endpoints are
    /// sorted the same way and met by the scan of the nodes, so the audit
    /// needs no memory in proportion to the graph.
    /// [`GraphStore::repair`](crate::GraphStore::repair) fixes what it finds
    /// in derived data.
    ///
    /// # Errors
    /// Only engine errors and an index catalog that does not decode;
    /// inconsistencies, an undecodable counter among them, are reported,
    /// not returned.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.verify_with(|_| {})
    }

    /// [`verify`](Self::verify), calling `progress` as each pass goes (see
    /// [`AuditProgress`]): for a progress display over a large store.
    /// `progress` runs inside the scans: it must not call the store.
    ///
    /// # Errors
    /// Those of [`verify`](Self::verify).
    pub fn verify_with(&self, mut progress: impl FnMut(AuditProgress)) -> Result<VerifyReport> {
        audit_within(self.view(), AUDIT_MEMORY, &mut progress).map(|a| a.report)
    }
}

/// A counter of `default` as stored: `Some(value)` (a missing counter reads
/// as 0), or `None` when its value does not decode.
pub(crate) type StoredCounter = Option<u64>;

/// What [`audit`] found besides the problems: the facts
/// [`GraphStore::repair`](crate::GraphStore::repair) computes its fixes
/// from, so that repair and verify agree by construction.
#[derive(Debug)]
pub(crate) struct Audit {
    /// The verify report: record and entry counts, every problem.
    pub(crate) report: VerifyReport,
    /// The largest id of a decodable node record.
    pub(crate) max_node: Option<u64>,
    /// The largest id of a decodable edge record.
    pub(crate) max_edge: Option<u64>,
    /// The largest declared property-index id.
    pub(crate) max_index: Option<u32>,
    /// The largest symbol id of the dictionary (by-id entries).
    pub(crate) max_symbol: Option<u32>,
    /// `node_count`, `edge_count` as stored.
    pub(crate) node_count: StoredCounter,
    /// See `node_count`.
    pub(crate) edge_count: StoredCounter,
    /// `next_node_id`, `next_edge_id`, `next_index_id`, `next_symbol_id`
    /// as stored.
    pub(crate) next_node: StoredCounter,
    /// See `next_node`.
    pub(crate) next_edge: StoredCounter,
    /// See `next_node`.
    pub(crate) next_index: StoredCounter,
    /// See `next_node`.
    pub(crate) next_symbol: StoredCounter,
}

/// Reads a counter of `default`, reporting one that does not decode.
fn read_counter(
    view: &impl ReadView,
    key: &[u8],
    width: usize,
    problems: &mut Vec<Problem>,
) -> Result<StoredCounter> {
    let Some(v) = view.get(ColumnFamily::Default, key)? else {
        return Ok(Some(0));
    };
    let decoded = if width == 8 {
        codec::decode_u64_value(ColumnFamily::Default, key, &v)
    } else {
        codec::decode_u32_value(ColumnFamily::Default, key, &v).map(u64::from)
    };
    match decoded {
        Ok(n) => Ok(Some(n)),
        Err(e) => {
            problems.push(undecodable(ColumnFamily::Default, key, &e));
            Ok(None)
        }
    }
}

/// The one computation behind [`GraphReader::verify`] and
/// [`GraphStore::repair`](crate::GraphStore::repair): the derived entries,
/// counts and counter bounds the records of `view` call for, compared with
/// what `view` holds.
///
/// # Errors
/// Engine errors; corruption of the index catalog.
pub(crate) fn audit(
    view: &impl ReadView,
    progress: &mut dyn FnMut(AuditProgress),
) -> Result<Audit> {
    audit_within(view, AUDIT_MEMORY, progress)
}

/// [`audit`] sorting the expected index keys in about `memory` bytes.
pub(crate) fn audit_within(
    view: &impl ReadView,
    memory: usize,
    progress: &mut dyn FnMut(AuditProgress),
) -> Result<Audit> {
    let mut report = VerifyReport::default();
    let problems = &mut report.problems;
    let symbols = StoredSymbols::load(view, problems)?;
    let catalog = Catalog::load(view)?;
    let spill = tempfile::Builder::new()
        .prefix("graph-storage-verify-")
        .tempdir()
        .map_err(|e| Error::Io {
            message: format!(
                "cannot create a directory for verify's sort runs in {}: {e} \
                 (set TMPDIR to a writable directory)",
                std::env::temp_dir().display()
            ),
        })?;
    // Two sorters share the budget: the index keys the records call for,
    // and each edge's endpoints (node id, edge id, role), which a scan of
    // the nodes in id order then meets in the same order.
    let mut expected = Sorter::new(memory / 2, spill.path(), "expected");
    let mut ends = Sorter::new(memory / 2, spill.path(), "endpoints");
    let mut key = Vec::new();
    let (mut max_node, mut max_edge) = (None, None);
    // The stored counts: the progress totals, checked at the end.
    let node_count = read_counter(view, meta::NODE_COUNT, 8, problems)?;
    let edge_count = read_counter(view, meta::EDGE_COUNT, 8, problems)?;
    let mut expected_entries = 0u64;

    let mut pass = Pass::new(AuditPass::Edges, edge_count, &mut *progress);
    view.scan(
        ColumnFamily::Edges,
        KeyRange::all(),
        ScanDirection::Forward,
        &mut |k, v| {
            report.edges += 1;
            pass.tick();
            let edge = match codec::decode_edge(k, v) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(undecodable(ColumnFamily::Edges, k, &e));
                    return Ok(ControlFlow::Continue(()));
                }
            };
            max_edge = max_edge.max(Some(edge.id.0));
            for (role, end) in [(0, edge.src), (1, edge.dst)] {
                key.clear();
                key.extend_from_slice(&codec::node_key(end));
                key.extend_from_slice(&codec::edge_key(edge.id));
                key.push(role);
                ends.push(&key, &[])?;
            }
            if let Some(ty) = symbols.id(&edge.edge_type, problems) {
                let out = AdjacencyKey::outgoing(edge.src, ty, edge.dst, edge.id);
                let inc = AdjacencyKey::incoming(edge.dst, ty, edge.src, edge.id);
                expected.push(&out.encode(), &[])?;
                expected.push(&inc.encode(), &[])?;
                expected_entries += 2;
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    pass.finish();

    // An endpoint is there when a node record of its id decodes: the
    // endpoints before each decodable node's id are dangling.
    let (mut ends, _) = ends.finish()?;
    let mut dangling = Vec::new();
    let mut next_end = ends.next().transpose()?.map(endpoint).transpose()?;
    let mut pass = Pass::new(AuditPass::Nodes, node_count, &mut *progress);
    view.scan(
        ColumnFamily::Nodes,
        KeyRange::all(),
        ScanDirection::Forward,
        &mut |k, v| {
            report.nodes += 1;
            pass.tick();
            // Read in place: only the entries are built, not the node.
            let node = match codec::decode_node_view(k, v) {
                Ok(n) => n,
                Err(e) => {
                    problems.push(undecodable(ColumnFamily::Nodes, k, &e));
                    return Ok(ControlFlow::Continue(()));
                }
            };
            let id = node.id();
            while let Some((end, edge)) = next_end.take_if(|(end, _)| *end <= id) {
                if end < id {
                    dangling.push((edge, end));
                }
                next_end = ends.next().transpose()?.map(endpoint).transpose()?;
            }
            max_node = max_node.max(Some(id.0));
            for label in node.labels() {
                if let Some(sym) = symbols.id(label, problems) {
                    expected.push(&codec::label_key(sym, id), &[])?;
                    expected_entries += 1;
                }
                for (property, index) in catalog.on_label(label) {
                    if let Some(value) = node.property(property) {
                        key.clear();
                        codec::property_index_key(*index, &value.to_value(), id, &mut key);
                        expected.push(&key, &[])?;
                        expected_entries += 1;
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    pass.finish();
    while let Some((end, edge)) = next_end {
        dangling.push((edge, end));
        next_end = ends.next().transpose()?.map(endpoint).transpose()?;
    }
    drop(ends);
    // In edge order, source before target, as the edges are listed.
    dangling.sort_unstable();
    problems.extend(
        dangling
            .into_iter()
            .map(|((edge, _), missing)| Problem::DanglingEdge { edge, missing }),
    );

    // Both sides in key order: a merge finds what is missing and extra.
    let (mut expected, _) = expected.finish()?;
    let mut next = expected.next().transpose()?;
    let mut pass = Pass::new(AuditPass::Indices, Some(expected_entries), &mut *progress);
    view.scan(
        ColumnFamily::Indices,
        KeyRange::all(),
        ScanDirection::Forward,
        &mut |k, v| {
            report.index_entries += 1;
            pass.tick();
            while let Some((missing, _)) = next.take_if(|(e, _)| e.as_slice() < k) {
                problems.push(Problem::MissingIndexEntry { key: missing });
                next = expected.next().transpose()?;
            }
            if next.take_if(|(e, _)| e.as_slice() == k).is_some() {
                next = expected.next().transpose()?;
            } else {
                problems.push(Problem::ExtraIndexEntry { key: k.to_vec() });
            }
            if !v.is_empty() {
                // Every index and adjacency value is empty (FORMAT.md):
                // anything else is damage the keys alone would hide.
                problems.push(Problem::Undecodable {
                    cf: ColumnFamily::Indices,
                    key: k.to_vec(),
                    reason: format!("index entry holds a {}-byte value", v.len()),
                });
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    while let Some((missing, _)) = next {
        problems.push(Problem::MissingIndexEntry { key: missing });
        next = expected.next().transpose()?;
    }
    pass.finish();
    drop(expected);
    spill.close().map_err(|e| Error::Io {
        message: format!("cannot remove verify's sort runs: {e}"),
    })?;

    for (what, stored, actual) in [
        ("nodes", node_count, report.nodes),
        ("edges", edge_count, report.edges),
    ] {
        if let Some(stored) = stored
            && stored != actual
        {
            problems.push(Problem::WrongCount {
                what,
                stored,
                actual,
            });
        }
    }
    let next_node = read_counter(view, meta::NEXT_NODE_ID, 8, problems)?;
    let next_edge = read_counter(view, meta::NEXT_EDGE_ID, 8, problems)?;
    let next_index = read_counter(view, meta::NEXT_INDEX_ID, 4, problems)?;
    let next_symbol = read_counter(view, meta::NEXT_SYMBOL_ID, 4, problems)?;
    let max_index = catalog.by_id.keys().next_back().map(|id| id.0);
    let max_symbol = symbols.max_id;
    for (what, next, max) in [
        ("node", next_node, max_node),
        ("edge", next_edge, max_edge),
        // The next create_index would reuse a declared index's id.
        ("index", next_index, max_index.map(u64::from)),
        // The next new label or edge type would reuse a symbol's id.
        ("symbol", next_symbol, max_symbol.map(u64::from)),
    ] {
        if let (Some(next), Some(max_used)) = (next, max)
            && next <= max_used
        {
            problems.push(Problem::IdCounterBehind {
                what,
                next,
                max_used,
            });
        }
    }
    Ok(Audit {
        report,
        max_node,
        max_edge,
        max_index,
        max_symbol,
        node_count,
        edge_count,
        next_node,
        next_edge,
        next_index,
        next_symbol,
    })
}

fn undecodable(cf: ColumnFamily, key: &[u8], e: &graph_core::Error) -> Problem {
    Problem::Undecodable {
        cf,
        key: key.to_vec(),
        reason: e.to_string(),
    }
}

/// An entry of the audit's endpoint sort: the node, and the edge with the
/// endpoint's role (0 source, 1 target) to order the problems by.
fn endpoint((key, _): (Vec<u8>, Vec<u8>)) -> Result<(NodeId, (EdgeId, u8))> {
    let ids = |at: usize| {
        key.get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
    };
    match (ids(0), ids(8), key.get(16), key.len()) {
        (Some(node), Some(edge), Some(&role), 17) => Ok((NodeId(node), (EdgeId(edge), role))),
        _ => Err(Error::Io {
            message: format!(
                "verify's sort of edge endpoints returned a {}-byte entry, not 17: \
                 its run files under {} were damaged while it ran",
                key.len(),
                std::env::temp_dir().display()
            ),
        }),
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use std::ops::ControlFlow;

    use graph_core::codec;
    use graph_core::{
        ColumnFamily, Durability, EdgeId, KeyRange, NodeId, Properties, PropertyValue as V,
        ReadView, Result, ScanDirection, StorageBackend,
    };
    use storage_memory::MemoryBackend;

    use super::{
        AUDIT_MEMORY, AUDIT_PROGRESS_EVERY, AuditPass, AuditProgress, Problem, audit_within,
    };
    use crate::GraphStore;

    /// The problems of an audit in a fixed order.
    fn problems(view: &impl ReadView, memory: usize) -> Result<Vec<String>> {
        let mut p: Vec<String> = audit_within(view, memory, &mut |_| {})?
            .report
            .problems
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        p.sort();
        Ok(p)
    }

    /// An audit whose expected keys spill to many sorted runs finds exactly
    /// what the in-memory one finds: nothing on a clean store, then the
    /// same missing and extra entries once some are deleted and added.
    #[test]
    fn an_audit_spilling_sorted_runs_finds_what_one_in_memory_finds() -> Result<()> {
        let s = GraphStore::open(MemoryBackend::new())?;
        s.create_index("P", "name")?;
        let mut b = s.batch();
        let mut ids = Vec::new();
        for i in 0..3_000i64 {
            let label = if i % 3 == 0 { "Q" } else { "P" };
            let props = Properties::from([
                ("name".to_owned(), V::from(format!("n{}", i % 97))),
                ("i".to_owned(), V::Int(i)),
            ]);
            ids.push(b.create_node(&[label], props)?);
        }
        b.commit()?;
        let mut b = s.batch();
        for i in 0..6_000usize {
            let (src, dst) = (ids[i % ids.len()], ids[(i * 7919) % ids.len()]);
            let ty = if i % 2 == 0 { "A" } else { "B" };
            b.create_edge(src, dst, ty, Properties::new())?;
        }
        b.commit()?;
        // 64 KiB arenas: the 17,000 expected keys make dozens of runs.
        let small = 1;
        assert_eq!(problems(s.backend(), small)?, Vec::<String>::new());
        assert_eq!(
            audit_within(s.backend(), small, &mut |_| {})?
                .report
                .index_entries,
            17_000
        );

        // Damage: the first three and the last entry deleted, one entry
        // added among the others and one after them all.
        let be = s.backend();
        let mut deleted = Vec::new();
        for (direction, n) in [(ScanDirection::Forward, 3), (ScanDirection::Reverse, 1)] {
            let mut taken = 0;
            be.scan(
                ColumnFamily::Indices,
                KeyRange::all(),
                direction,
                &mut |k, _| {
                    deleted.push(k.to_vec());
                    taken += 1;
                    Ok(if taken < n {
                        ControlFlow::Continue(())
                    } else {
                        ControlFlow::Break(())
                    })
                },
            )?;
        }
        for k in &deleted {
            be.delete(ColumnFamily::Indices, k, Durability::Strict)?;
        }
        let added = [
            codec::label_key(codec::SymbolId(1), NodeId(1_000_000)).to_vec(),
            vec![0xFF; 9],
        ];
        for k in &added {
            be.put(ColumnFamily::Indices, k, &[], Durability::Strict)?;
        }
        let spilled = problems(be, small)?;
        assert_eq!(spilled, problems(be, AUDIT_MEMORY)?);
        let mut expected: Vec<String> = deleted
            .into_iter()
            .map(|key| format!("{:?}", Problem::MissingIndexEntry { key }))
            .chain(
                added
                    .into_iter()
                    .map(|key| format!("{:?}", Problem::ExtraIndexEntry { key })),
            )
            .collect();
        expected.sort();
        assert_eq!(spilled, expected);
        Ok(())
    }

    /// Edges whose endpoint records are gone or do not decode are reported
    /// dangling, once per missing end (twice for a loop), in edge order,
    /// whether the endpoint sort spills runs or not.
    #[test]
    fn dangling_edges_are_found_by_the_sorted_endpoints() -> Result<()> {
        let s = GraphStore::open(MemoryBackend::new())?;
        let mut b = s.batch();
        let mut ids = Vec::new();
        for _ in 0..2_000 {
            ids.push(b.create_node(&["P"], Properties::new())?);
        }
        b.commit()?;
        let mut b = s.batch();
        let mut edges: Vec<(EdgeId, NodeId, NodeId)> = Vec::new();
        for i in 0..4_000usize {
            let src = ids[(i * 7_919) % ids.len()];
            // Every 50th edge a loop.
            let dst = if i % 50 == 0 { src } else { ids[i % ids.len()] };
            edges.push((b.create_edge(src, dst, "E", Properties::new())?, src, dst));
        }
        b.commit()?;
        // The first, a middle and the last node deleted; one overwritten
        // with bytes that do not decode.
        let be = s.backend();
        let gone = [ids[0], ids[1_000], ids[1_999], ids[50]];
        for id in &gone[..3] {
            be.delete(
                ColumnFamily::Nodes,
                &codec::node_key(*id),
                Durability::Strict,
            )?;
        }
        be.put(
            ColumnFamily::Nodes,
            &codec::node_key(gone[3]),
            &[1, 0xFF],
            Durability::Strict,
        )?;
        let expected: Vec<Problem> = edges
            .iter()
            .flat_map(|&(edge, src, dst)| [(edge, src), (edge, dst)])
            .filter(|(_, end)| gone.contains(end))
            .map(|(edge, missing)| Problem::DanglingEdge { edge, missing })
            .collect();
        assert!(expected.len() > 10, "{}", expected.len());
        // With 64 KiB arenas the 8,000 endpoint entries (17 bytes each)
        // are spilled to several runs.
        for memory in [1, AUDIT_MEMORY] {
            let found: Vec<Problem> = audit_within(be, memory, &mut |_| {})?
                .report
                .problems
                .into_iter()
                .filter(|p| matches!(p, Problem::DanglingEdge { .. }))
                .collect();
            assert_eq!(found, expected, "memory {memory}");
        }
        Ok(())
    }

    /// Progress comes pass by pass (edges, nodes, indices), each from 0 to
    /// its final count in steps of `AUDIT_PROGRESS_EVERY`, with the stored
    /// counts and the expected entries as totals.
    #[test]
    fn the_audit_reports_its_progress_pass_by_pass() -> Result<()> {
        let s = GraphStore::open(MemoryBackend::new())?;
        let nodes = AUDIT_PROGRESS_EVERY + 10;
        let mut b = s.batch();
        let mut ids = Vec::new();
        for _ in 0..nodes {
            ids.push(b.create_node(&["P"], Properties::new())?);
        }
        for w in ids.windows(2).take(100) {
            b.create_edge(w[0], w[1], "E", Properties::new())?;
        }
        b.commit()?;
        let mut seen = Vec::new();
        let report = s.verify_with(|p| seen.push(p))?;
        assert!(report.is_clean(), "{report}");
        let step = |pass, done, total, finished| AuditProgress {
            pass,
            done,
            total: Some(total),
            finished,
        };
        let entries = nodes + 200;
        let expected = vec![
            step(AuditPass::Edges, 0, 100, false),
            step(AuditPass::Edges, 100, 100, true),
            step(AuditPass::Nodes, 0, nodes, false),
            step(AuditPass::Nodes, AUDIT_PROGRESS_EVERY, nodes, false),
            step(AuditPass::Nodes, nodes, nodes, true),
            step(AuditPass::Indices, 0, entries, false),
            step(AuditPass::Indices, AUDIT_PROGRESS_EVERY, entries, false),
            step(AuditPass::Indices, entries, entries, true),
        ];
        assert_eq!(seen, expected);
        assert_eq!(report.index_entries, entries);
        // Repair reports both of its audits.
        let mut passes = Vec::new();
        s.repair_with(|p| {
            if p.finished {
                passes.push(p.pass.name());
            }
        })?;
        assert_eq!(passes, ["edges", "nodes", "indices"].repeat(2));
        Ok(())
    }
}
