//! Creation-only commits, encoded before the writer lock is taken.
//!
//! Ingestion is creations: new nodes and new edges. Their records, label
//! and property-index entries and adjacency entries depend only on the
//! mutations themselves, the symbol dictionary and the index catalog, so
//! they are encoded on the committing caller's thread, in parallel with
//! other callers and with the write in progress. Under the writer lock only
//! what depends on the committed state remains: that edge endpoints exist
//! (usually answered by the known-nodes bitmap) and the counts.
//!
//! Errors keep the order semantics of the general path: the error returned
//! is the one of the earliest mutation that fails, whether it failed
//! validation here or an endpoint check at commit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use graph_core::codec::{self, EdgeParts, SymbolId, index_tag, meta};
use graph_core::{
    BatchOp, ColumnFamily, CompactString, Error, NodeId, Properties, Result, Timestamp, WriteBatch,
};

use crate::catalog::Catalog;
use crate::implied::{edge_entries, index_entries, node_entries};
use crate::mutation::Mutation;
use crate::txn::validate_name;

/// A creation-only commit, encoded.
pub(crate) struct Prepared {
    /// Records and every derived entry, without counts.
    pub(crate) batch: WriteBatch,
    /// Edge endpoints that must exist at commit: (mutation index, node),
    /// excluding nodes created earlier in the same commit.
    pub(crate) endpoints: Vec<(usize, NodeId)>,
    /// Nodes created.
    pub(crate) created: Vec<NodeId>,
    /// Edges created.
    pub(crate) edges: u64,
    /// The earliest mutation that failed validation, if any; mutations
    /// after it were not encoded.
    pub(crate) error: Option<(usize, Error)>,
    /// The catalog the property-index entries were computed with (see
    /// [`reindex`] for when it changed before the commit).
    pub(crate) catalog: Arc<Catalog>,
}

/// Whether `mutations` can take the creation-only path.
pub(crate) fn is_creation_only(mutations: &[Mutation]) -> bool {
    mutations.iter().all(|m| {
        matches!(
            m,
            Mutation::CreateNode { .. }
                | Mutation::CreateEdge { .. }
                | Mutation::MapExternalId { .. }
        )
    })
}

/// Up to this many distinct names, name lookups during encoding compare
/// strings in a list instead of hashing them (a commit names a handful of
/// labels and types, once per creation).
const FEW_NAMES: usize = 16;

/// The distinct labels and edge types named by creations, in order of
/// first use: new symbols are numbered in this order, so two stores given
/// the same operations number them alike (a hash set's order would differ
/// from one set to the next).
pub(crate) fn names(mutations: &[Mutation]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    // Built once there are more than a few names.
    let mut seen: Option<HashSet<&str>> = None;
    for m in mutations {
        let (labels, edge_type): (&[CompactString], Option<&str>) = match m {
            Mutation::CreateNode { labels, .. } => (labels, None),
            Mutation::CreateEdge { edge_type, .. } => (&[], Some(edge_type)),
            _ => (&[], None),
        };
        for name in labels.iter().map(CompactString::as_str).chain(edge_type) {
            if name.is_empty() {
                continue;
            }
            let new = match seen.as_mut() {
                Some(set) => set.insert(name),
                None => !out.contains(&name),
            };
            if new {
                out.push(name);
                if seen.is_none() && out.len() > FEW_NAMES {
                    seen = Some(out.iter().copied().collect());
                }
            }
        }
    }
    out
}

/// The ids of the labels and edge types a commit names: a list while
/// there are few of them, a hash map beyond [`FEW_NAMES`].
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    list: Vec<(String, SymbolId)>,
    map: HashMap<String, SymbolId>,
}

impl Resolved {
    /// Records `name`'s id.
    pub(crate) fn insert(&mut self, name: &str, id: SymbolId) {
        if self.map.is_empty() && self.list.len() < FEW_NAMES {
            self.list.push((name.to_owned(), id));
        } else {
            self.map.extend(self.list.drain(..));
            self.map.insert(name.to_owned(), id);
        }
    }

    /// `name`'s id, if recorded.
    pub(crate) fn get(&self, name: &str) -> Option<SymbolId> {
        if self.map.is_empty() {
            self.list.iter().find(|(n, _)| n == name).map(|(_, id)| *id)
        } else {
            self.map.get(name).copied()
        }
    }
}

/// Write batches kept for reuse by creation-only commits: a commit
/// encodes into one taken from here and gives it back once written, so
/// ingesting in batches does not allocate and free megabytes per commit
/// (with glibc, every free of a large block also consolidates the caches
/// of small blocks: BENCHMARKS.md "Where the time goes").
#[derive(Debug, Default)]
pub(crate) struct BatchPool(Mutex<Vec<WriteBatch>>);

impl BatchPool {
    /// Batches kept at most.
    const KEEP: usize = 4;
    /// A batch holding more than this is dropped rather than kept.
    const MAX_BYTES: usize = 64 << 20;

    /// An empty batch, reused if one is kept.
    pub(crate) fn take(&self) -> WriteBatch {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Keeps `batch` (emptied) for a later commit, if it is not too big
    /// and the pool not full.
    pub(crate) fn give(&self, mut batch: WriteBatch) {
        if batch.allocated_bytes() > Self::MAX_BYTES {
            return;
        }
        batch.clear();
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < Self::KEEP {
            kept.push(batch);
        }
    }
}

/// Commits of at least this many mutations are encoded on two threads
/// (when the machine has two cores): each encodes and sorts one half, and
/// the two sorted runs are merged. Below it, a thread costs more than it
/// saves.
pub(crate) const PARALLEL_MIN: usize = 4096;

/// Encodes creation-only `mutations`. `symbols` must resolve every
/// non-empty label and edge type they name; `now` gives each creation's
/// time stamp, read once per creation in mutation order (before any
/// encoding, so a store's clock readings do not depend on how the work was
/// split). The mutations are freed here, on the caller's thread.
pub(crate) fn prepare(
    mutations: Vec<Mutation>,
    symbols: &Resolved,
    catalog: Arc<Catalog>,
    now: impl Fn() -> Timestamp,
    pool: &BatchPool,
) -> Prepared {
    let stamps = stamps(&mutations, now);
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let encoded = if mutations.len() >= PARALLEL_MIN && two_cores {
        let mid = mutations.len() / 2;
        let (a, b) = (pool.take(), pool.take());
        let (first, second) = std::thread::scope(|s| {
            let second =
                s.spawn(|| encode(&mutations[mid..], &stamps[mid..], mid, symbols, &catalog, b));
            let first = encode(&mutations[..mid], &stamps[..mid], 0, symbols, &catalog, a);
            (first, second.join())
        });
        match second {
            Ok(second) => first.then(second, pool),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    } else {
        encode(&mutations, &stamps, 0, symbols, &catalog, pool.take())
    };
    encoded.into_prepared(catalog)
}

/// One clock reading per creation, in mutation order (a placeholder for
/// the other mutations, which carry no time stamp).
fn stamps(mutations: &[Mutation], now: impl Fn() -> Timestamp) -> Vec<Timestamp> {
    mutations
        .iter()
        .map(|m| match m {
            Mutation::CreateNode { .. } | Mutation::CreateEdge { .. } => now(),
            _ => Timestamp(0),
        })
        .collect()
}

/// Encodes creations, one at a time, into a write batch, and keeps what
/// their commit must check: the edge endpoints not created before them,
/// the nodes created, and the first creation that failed validation.
///
/// Used by [`prepare`] for a commit's mutations and by `GraphBatch`, which
/// encodes each creation as it is added, so a batch holds encoded records
/// rather than owned mutations.
#[derive(Debug)]
pub(crate) struct Encoder {
    /// Records and every derived entry, in the order added (unsorted).
    pub(crate) batch: WriteBatch,
    /// As [`Prepared::endpoints`].
    pub(crate) endpoints: Vec<(usize, NodeId)>,
    /// Nodes created, in order.
    pub(crate) created: Vec<NodeId>,
    /// Edges created.
    pub(crate) edges: u64,
    /// The first mutation that failed, if any: nothing is encoded after it.
    pub(crate) error: Option<(usize, Error)>,
    scratch: Vec<u8>,
    /// `created` as a set, built at the first edge or mapping that needs
    /// it (node-only runs never build it).
    created_set: Option<HashSet<NodeId>>,
}

impl Encoder {
    /// An encoder writing into `batch` (empty).
    pub(crate) fn new(batch: WriteBatch) -> Self {
        Encoder {
            batch,
            endpoints: Vec::new(),
            created: Vec::new(),
            edges: 0,
            error: None,
            scratch: Vec::with_capacity(256),
            created_set: None,
        }
    }

    /// Records that mutation `i` failed with `error`, unless one before
    /// it did.
    pub(crate) fn fail(&mut self, i: usize, error: Error) {
        self.error.get_or_insert((i, error));
    }

    /// Whether a mutation failed (later ones need not be encoded).
    pub(crate) fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn created_here(&mut self, node: NodeId) -> bool {
        let created = &self.created;
        self.created_set
            .get_or_insert_with(|| created.iter().copied().collect())
            .contains(&node)
    }

    /// Encodes the creation of node `id` (mutation `i` is not needed: a
    /// node has no endpoints). `labels` are normalized and validated here.
    ///
    /// # Errors
    /// Invalid labels or properties; a name `symbol` cannot resolve. The
    /// batch may then hold part of the node: the caller records the error
    /// with [`fail`](Self::fail) and the commit fails.
    pub(crate) fn node<L: AsRef<str> + Ord + Clone>(
        &mut self,
        id: NodeId,
        labels: &[L],
        properties: &Properties,
        now: Timestamp,
        symbol: impl FnMut(&str) -> Result<SymbolId>,
        catalog: &Catalog,
    ) -> Result<()> {
        let sorted;
        let labels = if labels.is_sorted_by(|a, b| a < b) {
            labels
        } else {
            let mut v = labels.to_vec();
            v.sort_unstable();
            v.dedup();
            sorted = v;
            &sorted[..]
        };
        for l in labels {
            validate_name("labels", l.as_ref())?;
        }
        codec::value::validate_properties(properties)?;
        let batch = &mut self.batch;
        node_entries(
            id,
            labels,
            properties,
            now,
            symbol,
            catalog,
            &mut self.scratch,
            |cf, k, v| {
                batch.put(cf, k, v);
                Ok(())
            },
        )?;
        self.created.push(id);
        if let Some(set) = self.created_set.as_mut() {
            set.insert(id);
        }
        Ok(())
    }

    /// Encodes the creation of an edge, mutation `i`.
    ///
    /// # Errors
    /// As [`node`](Self::node).
    pub(crate) fn edge(
        &mut self,
        i: usize,
        edge: EdgeParts<'_>,
        symbol: impl FnOnce(&str) -> Result<SymbolId>,
    ) -> Result<()> {
        validate_name("edge types", edge.edge_type)?;
        codec::value::validate_properties(edge.properties)?;
        let ty = symbol(edge.edge_type)?;
        let batch = &mut self.batch;
        edge_entries(edge, ty, &mut self.scratch, |cf, k, v| {
            batch.put(cf, k, v);
            Ok(())
        })?;
        self.edges += 1;
        for end in [edge.src, edge.dst] {
            if !self.created_here(end) {
                self.endpoints.push((i, end));
            }
        }
        Ok(())
    }

    /// Encodes mutation `i`, mapping `external` in `space` to `node`.
    ///
    /// # Errors
    /// A space holding a NUL byte.
    pub(crate) fn map(
        &mut self,
        i: usize,
        space: &str,
        external: &str,
        node: NodeId,
    ) -> Result<()> {
        let key = meta::external_id(space, external)?;
        self.batch.put(
            ColumnFamily::Default,
            &key,
            &codec::encode_u64_value(node.0),
        );
        if !self.created_here(node) {
            self.endpoints.push((i, node));
        }
        Ok(())
    }

    /// This run followed by `next`, the run of the mutations right after
    /// it: nothing of `next` if this run failed; otherwise `next`'s
    /// entries merged in (equal keys keep this run's first), and its
    /// endpoints created by this run dropped. Both runs must be sorted.
    /// `next`'s batch goes back to `pool`.
    fn then(mut self, next: Encoder, pool: &BatchPool) -> Encoder {
        if self.error.is_some() {
            pool.give(next.batch);
            return self;
        }
        let mut endpoints = next.endpoints;
        if !endpoints.is_empty() && !self.created.is_empty() {
            let created: HashSet<NodeId> = self.created.iter().copied().collect();
            endpoints.retain(|(_, node)| !created.contains(node));
        }
        self.batch.extend_from(&next.batch);
        pool.give(next.batch);
        self.batch.sort_by_key();
        self.endpoints.extend(endpoints);
        self.created.extend(next.created);
        self.edges += next.edges;
        self.error = next.error;
        self
    }

    /// The encoded commit (its batch as encoded: sorting is the caller's).
    pub(crate) fn into_prepared(self, catalog: Arc<Catalog>) -> Prepared {
        Prepared {
            batch: self.batch,
            endpoints: self.endpoints,
            created: self.created,
            edges: self.edges,
            error: self.error,
            catalog,
        }
    }
}

/// Encodes `mutations` (the commit's mutations from index `offset` on)
/// with their time stamps into `batch` (empty), then sorts it by key
/// (engines insert sorted batches several times faster: BENCHMARKS.md,
/// "Sorted batches and reads against raw").
fn encode(
    mutations: &[Mutation],
    stamps: &[Timestamp],
    offset: usize,
    symbols: &Resolved,
    catalog: &Catalog,
    mut batch: WriteBatch,
) -> Encoder {
    batch.reserve(mutations.len() * 3, mutations.len() * 128);
    let mut e = Encoder::new(batch);
    let symbol = |name: &str| symbol(symbols, name);
    for (i, (m, &t)) in mutations.iter().zip(stamps).enumerate() {
        let i = offset + i;
        let outcome = match m {
            Mutation::CreateNode {
                id,
                labels,
                properties,
            } => e.node(*id, labels, properties, t, symbol, catalog),
            Mutation::CreateEdge {
                id,
                src,
                dst,
                edge_type,
                properties,
            } => {
                let edge = EdgeParts {
                    id: *id,
                    src: *src,
                    dst: *dst,
                    edge_type,
                    properties,
                    created_at: t,
                    updated_at: t,
                };
                e.edge(i, edge, symbol)
            }
            Mutation::MapExternalId {
                space,
                external,
                node,
            } => e.map(i, space, external, *node),
            other => Err(Error::invalid(format!("not a creation: {other:?}"))),
        };
        if let Err(err) = outcome {
            e.fail(i, err);
            break;
        }
    }
    e.batch.sort_by_key();
    e
}

fn symbol(symbols: &Resolved, name: &str) -> Result<SymbolId> {
    symbols
        .get(name)
        .ok_or_else(|| Error::Backend(format!("symbol {name:?} was not interned before encoding")))
}

/// The creations encoded in `batch` by an [`Encoder`], as mutations, in
/// the order they were encoded (the batch must not have been sorted): for
/// a `GraphBatch` that is given a mutation other than a creation, and so
/// takes the general path. Time stamps are not kept (the general path
/// reads the clock again).
///
/// # Errors
/// A record or mapping that does not decode (never expected: the batch
/// was encoded by this process).
pub(crate) fn creations_of(batch: &WriteBatch) -> Result<Vec<Mutation>> {
    let mut out = Vec::new();
    for op in batch.iter() {
        let BatchOp::Put { cf, key, value } = op else {
            continue;
        };
        out.push(match cf {
            ColumnFamily::Nodes => {
                let n = codec::decode_node(key, value)?;
                Mutation::CreateNode {
                    id: n.id,
                    labels: n.labels,
                    properties: n.properties,
                }
            }
            ColumnFamily::Edges => {
                let e = codec::decode_edge(key, value)?;
                Mutation::CreateEdge {
                    id: e.id,
                    src: e.src,
                    dst: e.dst,
                    edge_type: e.edge_type,
                    properties: e.properties,
                }
            }
            ColumnFamily::Default => {
                let (space, external) = meta::decode_external_id_key(key)?;
                Mutation::MapExternalId {
                    space: space.to_owned(),
                    external: external.to_owned(),
                    node: NodeId(codec::decode_u64_value(cf, key, value)?),
                }
            }
            ColumnFamily::Indices => continue,
        });
    }
    Ok(out)
}

/// Re-derives the property-index entries of a prepared commit under
/// `catalog`, when an index was created or dropped between the encoding
/// and the commit: the entries computed with the old catalog are left
/// out, and those of `catalog` are computed from the node records in the
/// batch (the records, label entries, adjacency entries and mappings do not
/// depend on the catalog). The batch comes back sorted.
///
/// # Errors
/// A node record of the batch that does not decode (never expected: the
/// batch was encoded by this process).
pub(crate) fn reindex(p: &mut Prepared, catalog: Arc<Catalog>, pool: &BatchPool) -> Result<()> {
    let mut out = pool.take();
    let mut scratch = Vec::new();
    for op in p.batch.iter() {
        match op {
            BatchOp::Put { cf, key, value } => {
                if cf == ColumnFamily::Indices && key.first() == Some(&index_tag::PROPERTY) {
                    continue;
                }
                out.put(cf, key, value);
                if cf == ColumnFamily::Nodes {
                    let node = codec::decode_node(key, value)?;
                    index_entries(
                        node.id,
                        &node.labels,
                        &node.properties,
                        &catalog,
                        &mut scratch,
                        |cf, k, v| {
                            out.put(cf, k, v);
                            Ok(())
                        },
                    )?;
                }
            }
            BatchOp::Delete { cf, key } => out.delete(cf, key),
            BatchOp::DeleteRange { cf, start, end } => out.delete_range(cf, start, end),
        }
    }
    out.sort_by_key();
    pool.give(std::mem::replace(&mut p.batch, out));
    p.catalog = catalog;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_core::{BatchOp, PropertyValue};

    fn node(id: u64, label: &str) -> Mutation {
        let mut properties = Properties::new();
        properties.insert("n", PropertyValue::Int(id as i64));
        Mutation::CreateNode {
            id: NodeId(id),
            labels: vec![label.into()],
            properties,
        }
    }

    fn edge(id: u64, src: u64, dst: u64, ty: &str) -> Mutation {
        Mutation::CreateEdge {
            id: graph_core::EdgeId(id),
            src: NodeId(src),
            dst: NodeId(dst),
            edge_type: ty.to_owned(),
            properties: Properties::new(),
        }
    }

    /// A commit big enough for two threads: nodes, then edges between
    /// nodes of both halves and nodes outside the commit, and mappings.
    fn commit(n: u64) -> Vec<Mutation> {
        let mut m: Vec<Mutation> = (0..n)
            .map(|i| node(i, ["A", "B"][i as usize % 2]))
            .collect();
        for i in 0..n {
            // Sources in the commit; targets in it or not (ids from 2n on).
            m.push(edge(i, (i * 7) % n, (i * 13) % (3 * n), "T"));
            if i % 100 == 0 {
                m.push(Mutation::MapExternalId {
                    space: "s".into(),
                    external: format!("x{i}"),
                    node: NodeId((i * 3) % (2 * n)),
                });
            }
            // An edge to a node created later in the commit (an endpoint
            // to check at commit), and one to it after its creation.
            if i == n / 8 {
                m.push(edge(2 * n + i, 0, 5 * n, "T"));
            }
            if i == n / 4 {
                m.push(node(5 * n, "A"));
            }
            if i == n - 1 {
                m.push(edge(3 * n, 5 * n, 1, "T"));
            }
        }
        m
    }

    fn symbols() -> Resolved {
        let mut r = Resolved::default();
        for (n, i) in [("A", 1), ("B", 2), ("T", 3)] {
            r.insert(n, SymbolId(i));
        }
        r
    }

    #[test]
    fn resolved_names_are_found_in_the_list_and_beyond_it() {
        let mut r = Resolved::default();
        let names: Vec<String> = (0..3 * FEW_NAMES as u32).map(|i| format!("n{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            r.insert(n, SymbolId(i as u32));
            for (j, m) in names.iter().enumerate().take(i + 1) {
                assert_eq!(r.get(m), Some(SymbolId(j as u32)));
            }
            assert_eq!(r.get("missing"), None);
        }
        // names() keeps the order of first use past the list too.
        let muts: Vec<Mutation> = names
            .iter()
            .chain(names.iter().rev())
            .enumerate()
            .map(|(i, n)| node(i as u64, n))
            .collect();
        let got = super::names(&muts);
        assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn ops(b: &WriteBatch) -> Vec<BatchOp<'_>> {
        b.iter().collect()
    }

    /// The two-thread encoding gives exactly what one thread gives: the
    /// same sorted entries, endpoints, creations, counts, error and clock
    /// readings.
    fn check_same_as_serial(mutations: Vec<Mutation>) {
        assert!(mutations.len() >= PARALLEL_MIN);
        let clock = |start: i64| {
            let next = std::sync::atomic::AtomicI64::new(start);
            move || Timestamp(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        };
        let catalog = Arc::new(Catalog::default());
        let now = clock(1_000);
        let stamps = stamps(&mutations, now);
        let serial = encode(
            &mutations,
            &stamps,
            0,
            &symbols(),
            &catalog,
            WriteBatch::new(),
        );
        let pool = BatchPool::default();
        let parallel = prepare(
            mutations,
            &symbols(),
            Arc::clone(&catalog),
            clock(1_000),
            &pool,
        );
        assert_eq!(ops(&parallel.batch), ops(&serial.batch));
        assert_eq!(parallel.endpoints, serial.endpoints);
        assert_eq!(parallel.created, serial.created);
        assert_eq!(parallel.edges, serial.edges);
        assert_eq!(
            format!("{:?}", parallel.error),
            format!("{:?}", serial.error)
        );
    }

    #[test]
    fn two_threads_encode_like_one() {
        check_same_as_serial(commit(3_000));
    }

    #[test]
    fn an_error_in_either_half_is_the_earliest_one() {
        // In the first half: nothing of the second half remains.
        let mut m = commit(3_000);
        m[10] = node(10, "");
        m[5_000] = edge(99_999, 1, 2, "");
        check_same_as_serial(m);
        // In the second half only.
        let mut m = commit(3_000);
        m[5_000] = edge(99_999, 1, 2, "");
        check_same_as_serial(m);
    }
}
