//! Repair: derived data rebuilt from the node and edge records.
//!
//! [`GraphStore::repair`] runs the computation behind
//! [`GraphReader::verify`](crate::GraphReader::verify) (`verify::audit`)
//! under the writer lock and turns each problem it reports in derived data
//! into a fix: a missing index or adjacency entry is written, an entry no
//! record calls for is deleted, a value on an index key is cleared, a wrong
//! count is set to the number of records, an id counter behind an id in
//! use is raised. Records themselves are never changed: what only a record
//! could tell (an undecodable record, an edge whose endpoint is gone, a
//! damaged symbol dictionary) is reported, not guessed.

use std::collections::HashSet;
use std::fmt;

use graph_core::codec::{self, AdjacencyKey, index_tag, meta};
use graph_core::{
    ColumnFamily, Durability, EdgeId, Error, NodeId, Result, StorageBackend, WriteBatch,
};

use crate::ids::{ID_BLOCK, IdAllocator};
use crate::known::KnownNodes;
use crate::store::GraphStore;
use crate::verify::{Audit, AuditProgress, Problem, VerifyReport, audit};

/// Index and adjacency entries by kind (see [`RepairReport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryCounts {
    /// Adjacency entries, outgoing and incoming.
    pub adjacency: u64,
    /// Label-index entries.
    pub label: u64,
    /// Property-index entries.
    pub property: u64,
    /// Keys of no known kind (garbage in `indices`).
    pub other: u64,
}

impl EntryCounts {
    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.adjacency + self.label + self.property + self.other
    }

    fn count(&mut self, key: &[u8]) {
        match key.first() {
            Some(&index_tag::OUT | &index_tag::IN) => self.adjacency += 1,
            Some(&index_tag::LABEL) => self.label += 1,
            Some(&index_tag::PROPERTY) => self.property += 1,
            _ => self.other += 1,
        }
    }
}

/// A count or id counter of the metadata that [`GraphStore::repair`]
/// rewrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterFix {
    /// `"nodes"` or `"edges"` for a count; `"node"`, `"edge"`, `"index"`
    /// or `"symbol"` for the next-id counter of that kind.
    pub what: &'static str,
    /// The value found (a missing counter reads as 0), or `None` when it
    /// did not decode.
    pub stored: Option<u64>,
    /// The value written.
    pub repaired: u64,
}

/// What [`GraphStore::repair`] fixed, what it could not fix, and the
/// verification of the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Node records examined (undecodable ones included).
    pub nodes: u64,
    /// Edge records examined (undecodable ones included).
    pub edges: u64,
    /// Index and adjacency entries the records call for that were missing
    /// and were written.
    pub added: EntryCounts,
    /// Index and adjacency entries no record calls for that were deleted.
    pub removed: EntryCounts,
    /// Index and adjacency entries that held a value (the format has
    /// none) and were rewritten empty.
    pub values_cleared: u64,
    /// Node and edge counts set to the number of records.
    pub counts: Vec<CounterFix>,
    /// Id counters raised above every id in use (and above every id this
    /// store may have handed out).
    pub id_counters: Vec<CounterFix>,
    /// What repair cannot fix from the records, left as it was:
    /// undecodable records, edges whose endpoint is missing, problems of
    /// the symbol dictionary, and index entries of undecodable records
    /// (kept: they are the only trace left of what the record held).
    pub unfixed: Vec<Problem>,
    /// [`GraphReader::verify`](crate::GraphReader::verify) of the store
    /// after the repair, run before the writer lock was released: clean
    /// unless `unfixed` holds something.
    pub after: VerifyReport,
}

impl RepairReport {
    /// Whether repair wrote anything.
    pub fn changed(&self) -> bool {
        self.added.total() > 0
            || self.removed.total() > 0
            || self.values_cleared > 0
            || !self.counts.is_empty()
            || !self.id_counters.is_empty()
    }

    /// Whether the store verifies clean after the repair.
    pub fn is_clean(&self) -> bool {
        self.after.is_clean()
    }
}

impl fmt::Display for RepairReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds = |c: &EntryCounts| {
            format!(
                "{} ({} adjacency, {} label, {} property, {} other)",
                c.total(),
                c.adjacency,
                c.label,
                c.property,
                c.other
            )
        };
        writeln!(f, "{} nodes, {} edges examined", self.nodes, self.edges)?;
        writeln!(f, "entries added: {}", kinds(&self.added))?;
        writeln!(f, "entries removed: {}", kinds(&self.removed))?;
        writeln!(f, "values cleared: {}", self.values_cleared)?;
        for (title, fixes) in [("count", &self.counts), ("id counter", &self.id_counters)] {
            for c in fixes {
                let stored = c.stored.map_or("undecodable".to_owned(), |v| v.to_string());
                writeln!(f, "{title} {}: {stored} -> {}", c.what, c.repaired)?;
            }
        }
        if !self.unfixed.is_empty() {
            writeln!(f, "not fixed ({}):", self.unfixed.len())?;
            for p in &self.unfixed {
                writeln!(f, "  {p}")?;
            }
        }
        write!(f, "after repair: {}", self.after)
    }
}

/// The record an index or adjacency key belongs to, if it decodes.
enum Owner {
    Node(NodeId),
    Edge(EdgeId),
}

fn owner(key: &[u8]) -> Option<Owner> {
    match key.first()? {
        &index_tag::OUT | &index_tag::IN => {
            AdjacencyKey::decode(key).ok().map(|a| Owner::Edge(a.edge))
        }
        &index_tag::LABEL => codec::decode_label_key(key)
            .ok()
            .map(|(_, n)| Owner::Node(n)),
        &index_tag::PROPERTY => codec::property_index_node(key).ok().map(Owner::Node),
        _ => None,
    }
}

/// The lease mark that covers `id`: the block boundary above it.
fn block_above(id: u64) -> Result<u64> {
    (id / ID_BLOCK)
        .checked_add(1)
        .and_then(|b| b.checked_mul(ID_BLOCK))
        .ok_or_else(|| Error::invalid("ids exhausted"))
}

/// The fixes computed from an audit, before they are written.
struct Plan {
    batch: WriteBatch,
    report: RepairReport,
    /// The id leases the batch rewrites: (`"node"` or `"edge"`, mark).
    leases: Vec<(&'static str, u64)>,
}

impl<B: StorageBackend> GraphStore<B> {
    /// Rebuilds every derived entry from the node and edge records, holding
    /// the writer lock (commits wait; reads go on): adjacency, label-index
    /// and property-index entries are added or removed until they are
    /// exactly those [`verify`](Self::verify) expects, node and edge counts
    /// are set to the number of records, and id counters are raised above
    /// every id in use and every id this store may have handed out. All
    /// fixes are written in one atomic, synced batch; the in-memory
    /// counters (counts, next index and symbol ids, the id allocators) are
    /// reloaded from the result and the known-nodes bitmap is cleared.
    /// Then the store is verified, still under the lock, and the report
    /// returned.
    ///
    /// Id counters are id leases and, as every lease, may also be written
    /// on their own, synced, ahead of the batch: by the id allocator when
    /// repair makes it continue above the largest id in use (a store
    /// reopened with a counter damaged below it), and after the batch when
    /// an id allocation racing the repair (allocations do not take the
    /// writer lock) persisted a lease the batch then lowered.
    ///
    /// Records are never changed or deleted; what they alone could tell is
    /// listed in [`RepairReport::unfixed`]. Repair consumes one or two ids
    /// of each kind (it probes the id allocators). It reads the whole
    /// store and sorts the expected entries in bounded memory, as `verify`
    /// does ([`AUDIT_MEMORY`](crate::AUDIT_MEMORY)).
    ///
    /// # Errors
    /// Engine errors: the batch is written whole or not at all (an id
    /// lease may have been raised ahead of it, which is harmless);
    /// corruption of the index catalog (repair cannot know the indexes
    /// then).
    pub fn repair(&self) -> Result<RepairReport> {
        self.repair_with(|_| {})
    }

    /// [`repair`](Self::repair), calling `progress` as the audits go: the
    /// passes of the audit before the fixes, then those of the audit after
    /// them (see [`AuditProgress`]). `progress` runs while the writer lock
    /// is held and inside scans: it must not call the store.
    ///
    /// # Errors
    /// Those of [`repair`](Self::repair).
    pub fn repair_with(&self, mut progress: impl FnMut(AuditProgress)) -> Result<RepairReport> {
        let mut writer = self.pipeline.lock_writer();
        let found = audit(&self.backend().snapshot(), &mut progress)?;
        let plan = self.plan(&found, writer.next_index_id)?;
        if !plan.batch.is_empty() {
            self.pipeline.write(&plan.batch, &[])?;
            // Repairs are synced whatever the store's durability.
            self.backend().sync()?;
        }
        let mut report = plan.report;

        // In-memory state, reloaded from what is now stored (before
        // anything else can fail: commits build on it).
        writer.counters.node_count = found.report.nodes;
        writer.counters.edge_count = found.report.edges;
        // Node records were not changed, but damage may have removed some
        // behind the bitmap's back: forget what it knew.
        writer.known = KnownNodes::default();
        if let Some(fix) = report.id_counters.iter().find(|c| c.what == "index") {
            writer.next_index_id = u32::try_from(fix.repaired).unwrap_or(u32::MAX);
        }
        if let Some(fix) = report.id_counters.iter().find(|c| c.what == "symbol") {
            let mut symbols = self
                .pipeline
                .symbols()
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            symbols.next = symbols
                .next
                .max(u32::try_from(fix.repaired).unwrap_or(u32::MAX));
            writer.counters.next_symbol = symbols.next;
        }
        for (what, mark) in &plan.leases {
            let (allocator, key) = self.allocator(what);
            self.settle_lease(allocator, key, *mark)?;
        }

        report.after = audit(&self.backend().snapshot(), &mut progress)?.report;
        Ok(report)
    }

    fn allocator(&self, what: &str) -> (&IdAllocator, &'static [u8]) {
        if what == "node" {
            (self.pipeline.id_allocators().0, meta::NEXT_NODE_ID)
        } else {
            (self.pipeline.id_allocators().1, meta::NEXT_EDGE_ID)
        }
    }

    /// Turns the audit's problems into one write batch.
    fn plan(&self, found: &Audit, next_index_in_memory: u32) -> Result<Plan> {
        let problems = &found.report.problems;
        let mut report = RepairReport {
            nodes: found.report.nodes,
            edges: found.report.edges,
            ..RepairReport::default()
        };
        let mut batch = WriteBatch::new();

        // Records that do not decode: their entries are kept.
        let mut bad_nodes = HashSet::new();
        let mut bad_edges = HashSet::new();
        let mut extra = HashSet::new();
        for p in problems {
            match p {
                Problem::Undecodable {
                    cf: ColumnFamily::Nodes,
                    key,
                    ..
                } => {
                    if let Ok(id) = codec::decode_node_key(key) {
                        bad_nodes.insert(id);
                    }
                }
                Problem::Undecodable {
                    cf: ColumnFamily::Edges,
                    key,
                    ..
                } => {
                    if let Ok(id) = codec::decode_edge_key(key) {
                        bad_edges.insert(id);
                    }
                }
                Problem::ExtraIndexEntry { key } => {
                    extra.insert(key.as_slice());
                }
                _ => {}
            }
        }
        let kept = |key: &[u8]| match owner(key) {
            Some(Owner::Node(n)) => bad_nodes.contains(&n),
            Some(Owner::Edge(e)) => bad_edges.contains(&e),
            None => false,
        };
        let counters = [
            meta::NODE_COUNT,
            meta::EDGE_COUNT,
            meta::NEXT_NODE_ID,
            meta::NEXT_EDGE_ID,
            meta::NEXT_INDEX_ID,
            meta::NEXT_SYMBOL_ID,
        ];

        for p in problems {
            match p {
                Problem::MissingIndexEntry { key } => {
                    batch.put(ColumnFamily::Indices, key, &[]);
                    report.added.count(key);
                }
                Problem::ExtraIndexEntry { key } if kept(key) => report.unfixed.push(p.clone()),
                Problem::ExtraIndexEntry { key } => {
                    batch.delete(ColumnFamily::Indices, key);
                    report.removed.count(key);
                }
                Problem::Undecodable {
                    cf: ColumnFamily::Indices,
                    key,
                    ..
                } => {
                    if kept(key) {
                        report.unfixed.push(p.clone());
                    } else if !extra.contains(key.as_slice()) {
                        // An expected entry with a value: rewritten empty
                        // (an extra one is deleted above).
                        batch.put(ColumnFamily::Indices, key, &[]);
                        report.values_cleared += 1;
                    }
                }
                // Rewritten below.
                Problem::Undecodable {
                    cf: ColumnFamily::Default,
                    key,
                    ..
                } if counters.contains(&key.as_slice()) => {}
                Problem::WrongCount { .. } | Problem::IdCounterBehind { .. } => {}
                _ => report.unfixed.push(p.clone()),
            }
        }

        let put_u64 = |batch: &mut WriteBatch, key: &[u8], v: u64| {
            batch.put(ColumnFamily::Default, key, &codec::encode_u64_value(v));
        };
        for (what, key, stored, actual) in [
            (
                "nodes",
                meta::NODE_COUNT,
                found.node_count,
                found.report.nodes,
            ),
            (
                "edges",
                meta::EDGE_COUNT,
                found.edge_count,
                found.report.edges,
            ),
        ] {
            if stored != Some(actual) {
                put_u64(&mut batch, key, actual);
                report.counts.push(CounterFix {
                    what,
                    stored,
                    repaired: actual,
                });
            }
        }

        let mut leases = Vec::new();
        for (what, stored, max) in [
            ("node", found.next_node, found.max_node),
            ("edge", found.next_edge, found.max_edge),
        ] {
            let (allocator, key) = self.allocator(what);
            let damaged = problems.iter().any(|p| match p {
                Problem::IdCounterBehind { what: w, .. } => *w == what,
                Problem::Undecodable {
                    cf: ColumnFamily::Default,
                    key: k,
                    ..
                } => k.as_slice() == key,
                _ => false,
            });
            let mark = self.required_lease(allocator, max)?;
            // The allocator may have persisted a lease meanwhile (raising
            // a counter behind an id in use, or the first lease of a
            // store): only a counter still below the mark is rewritten.
            let now = self.stored_u64(key)?;
            let write = now.is_none_or(|n| n < mark);
            if write {
                put_u64(&mut batch, key, mark);
                leases.push((what, mark));
            }
            if write || damaged {
                report.id_counters.push(CounterFix {
                    what,
                    stored,
                    repaired: now.map_or(mark, |n| n.max(mark)),
                });
            }
        }

        let symbols_next = self.pipeline.read_symbols().next;
        for (what, key, stored, max, in_memory) in [
            (
                "index",
                meta::NEXT_INDEX_ID,
                found.next_index,
                found.max_index,
                next_index_in_memory,
            ),
            (
                "symbol",
                meta::NEXT_SYMBOL_ID,
                found.next_symbol,
                found.max_symbol,
                symbols_next,
            ),
        ] {
            let Some(required) = max.map_or(Some(0), |m| m.checked_add(1)) else {
                // A u32::MAX id in use: no counter can be above it.
                report.unfixed.extend(
                    problems
                        .iter()
                        .filter(
                            |p| matches!(p, Problem::IdCounterBehind { what: w, .. } if *w == what),
                        )
                        .cloned(),
                );
                continue;
            };
            let required = required.max(in_memory);
            if stored.is_none_or(|s| s < u64::from(required)) {
                batch.put(
                    ColumnFamily::Default,
                    key,
                    &codec::encode_u32_value(required),
                );
                report.id_counters.push(CounterFix {
                    what,
                    stored,
                    repaired: u64::from(required),
                });
            }
        }
        Ok(Plan {
            batch,
            report,
            leases,
        })
    }

    /// The lease mark the stored counter of `allocator` must reach: above
    /// `max_used` and above every id the allocator may have handed out.
    ///
    /// The allocator's own mark is private to it; allocating one id (a
    /// probe, never used) tells it: the mark in force is the block
    /// boundary above the probe. Claiming `max_used` first makes the
    /// allocator continue above it, for a store reopened with a counter
    /// damaged below ids in use.
    fn required_lease(&self, allocator: &IdAllocator, max_used: Option<u64>) -> Result<u64> {
        if let Some(max) = max_used {
            allocator.claim(max, self.backend())?;
        }
        block_above(allocator.allocate(self.backend())?)
    }

    /// A `u64` counter of `default` as stored now: `None` if it does not
    /// decode; a missing one reads as 0.
    fn stored_u64(&self, key: &[u8]) -> Result<Option<u64>> {
        Ok(match self.backend().get(ColumnFamily::Default, key)? {
            Some(v) => codec::decode_u64_value(ColumnFamily::Default, key, &v).ok(),
            None => Some(0),
        })
    }

    /// After the batch wrote `mark` to `key`: a lease persisted
    /// concurrently (by an id allocation, which does not take the writer
    /// lock) may have been overwritten by the lower `mark`. Probe again
    /// and rewrite the counter until it covers the allocator's mark.
    fn settle_lease(&self, allocator: &IdAllocator, key: &[u8], mut mark: u64) -> Result<()> {
        loop {
            let needed = block_above(allocator.allocate(self.backend())?)?;
            if needed <= mark {
                return Ok(());
            }
            self.backend().put(
                ColumnFamily::Default,
                key,
                &codec::encode_u64_value(needed),
                Durability::Strict,
            )?;
            mark = needed;
        }
    }
}
