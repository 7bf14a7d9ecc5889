//! A transaction: mutations applied to in-memory copies of the records they
//! touch, turned into one atomic write batch at commit.
//!
//! Mutations change only node and edge records. Everything derived from
//! them (label index, property indexes, adjacency, counts, the symbol
//! dictionary) is computed at commit by comparing each touched record's
//! state before the transaction with its state after. Derived data is thus
//! correct by construction, whatever sequence of mutations produced the
//! final state.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use graph_core::codec::{self, AdjacencyDir, AdjacencyKey, SymbolId, meta};
use graph_core::{
    ColumnFamily, CompactString, Constraint, Edge, EdgeId, Error, Node, NodeId, ReadView, Result,
    ScanDirection, Timestamp, WriteBatch,
};

use crate::catalog::{Catalog, Symbols, allocate_symbol, symbol_entries};
use crate::implied::{edge_implied, node_implied};
use crate::known::KnownNodes;
use crate::mutation::Mutation;

/// A record's state before the transaction and now.
#[derive(Debug, Clone)]
struct Touched<T> {
    before: Option<T>,
    after: Option<T>,
}

/// Pending changes over a read view of the committed state.
pub(crate) struct Txn<'a, R: ReadView + ?Sized> {
    base: &'a R,
    known: &'a KnownNodes,
    /// Nodes found in the backend by this transaction's reads.
    confirmed: Vec<NodeId>,
    /// Whether creations carry caller-chosen ids that must be checked.
    explicit_ids: bool,
    nodes: BTreeMap<NodeId, Touched<Node>>,
    edges: BTreeMap<EdgeId, Touched<Edge>>,
    /// Edges created in this transaction, by endpoint.
    new_edges_by_node: BTreeMap<NodeId, Vec<EdgeId>>,
    /// External-id mapping entries written by this transaction.
    external_ids: BTreeMap<Vec<u8>, NodeId>,
}

/// The state of a transaction at a point, to roll back to.
pub(crate) struct Savepoint {
    nodes: BTreeMap<NodeId, Touched<Node>>,
    edges: BTreeMap<EdgeId, Touched<Edge>>,
    new_edges_by_node: BTreeMap<NodeId, Vec<EdgeId>>,
    external_ids: BTreeMap<Vec<u8>, NodeId>,
}

/// What a commit changes besides the batch: applied to the store's
/// in-memory state once the batch is written.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub(crate) node_delta: i64,
    pub(crate) edge_delta: i64,
    pub(crate) new_symbols: Vec<(Arc<str>, SymbolId)>,
    /// Nodes known to exist before the commit (read under the writer lock).
    pub(crate) confirmed: Vec<NodeId>,
    /// Nodes the commit creates.
    pub(crate) created: Vec<NodeId>,
    /// Nodes the commit deletes.
    pub(crate) deleted: Vec<NodeId>,
}

/// The committed counters the transaction builds on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    pub(crate) node_count: u64,
    pub(crate) edge_count: u64,
    pub(crate) next_symbol: u32,
}

pub(crate) fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

pub(crate) fn normalize_labels(mut labels: Vec<CompactString>) -> Result<Vec<CompactString>> {
    for l in &labels {
        validate_name("labels", l)?;
    }
    labels.sort_unstable();
    labels.dedup();
    Ok(labels)
}

impl<'a, R: ReadView + ?Sized> Txn<'a, R> {
    pub(crate) fn new(base: &'a R, known: &'a KnownNodes) -> Self {
        Txn {
            base,
            known,
            confirmed: Vec::new(),
            explicit_ids: false,
            nodes: BTreeMap::new(),
            edges: BTreeMap::new(),
            new_edges_by_node: BTreeMap::new(),
            external_ids: BTreeMap::new(),
        }
    }

    fn read_node(&self, id: NodeId) -> Result<Option<Node>> {
        let key = codec::node_key(id);
        match self.base.get(ColumnFamily::Nodes, &key)? {
            Some(bytes) => codec::decode_node(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn read_edge(&self, id: EdgeId) -> Result<Option<Edge>> {
        let key = codec::edge_key(id);
        match self.base.get(ColumnFamily::Edges, &key)? {
            Some(bytes) => codec::decode_edge(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Makes the following creations check that their ids are unused
    /// (for ids chosen by the caller rather than reserved from the store).
    pub(crate) fn set_explicit_ids(&mut self, explicit: bool) {
        self.explicit_ids = explicit;
    }

    /// How many records the transaction has touched.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len() + self.edges.len()
    }

    /// Remembers the current state, for [`rollback`](Self::rollback).
    pub(crate) fn savepoint(&self) -> Savepoint {
        Savepoint {
            nodes: self.nodes.clone(),
            edges: self.edges.clone(),
            new_edges_by_node: self.new_edges_by_node.clone(),
            external_ids: self.external_ids.clone(),
        }
    }

    /// Returns to the state of `save`, forgetting every change since.
    pub(crate) fn rollback(&mut self, save: Savepoint) {
        self.nodes = save.nodes;
        self.edges = save.edges;
        self.new_edges_by_node = save.new_edges_by_node;
        self.external_ids = save.external_ids;
    }

    /// Whether `id` exists in the transaction's current state.
    pub(crate) fn node_exists(&mut self, id: NodeId) -> Result<bool> {
        if let Some(t) = self.nodes.get(&id) {
            return Ok(t.after.is_some());
        }
        if self.known.contains(id.0) {
            return Ok(true);
        }
        let found = self
            .base
            .get(ColumnFamily::Nodes, &codec::node_key(id))?
            .is_some();
        if found {
            self.confirmed.push(id);
        }
        Ok(found)
    }

    fn node_mut(&mut self, id: NodeId) -> Result<&mut Node> {
        if !self.nodes.contains_key(&id) {
            let before = self.read_node(id)?;
            let after = before.clone();
            self.nodes.insert(id, Touched { before, after });
        }
        self.nodes
            .get_mut(&id)
            .and_then(|t| t.after.as_mut())
            .ok_or(Error::NodeNotFound(id))
    }

    fn edge_mut(&mut self, id: EdgeId) -> Result<&mut Edge> {
        if !self.edges.contains_key(&id) {
            let before = self.read_edge(id)?;
            let after = before.clone();
            self.edges.insert(id, Touched { before, after });
        }
        self.edges
            .get_mut(&id)
            .and_then(|t| t.after.as_mut())
            .ok_or(Error::EdgeNotFound(id))
    }

    /// The ids of every edge incident to `node` in the current state, each
    /// once (a self-loop too), ascending.
    pub(crate) fn edge_ids_of(&self, node: NodeId) -> Result<Vec<EdgeId>> {
        let mut ids = Vec::new();
        for dir in [AdjacencyDir::Out, AdjacencyDir::In] {
            let prefix = AdjacencyKey::node_prefix(dir, node);
            self.base.scan_prefix(
                ColumnFamily::Indices,
                &prefix,
                ScanDirection::Forward,
                &mut |k, _| {
                    ids.push(AdjacencyKey::decode(k)?.edge);
                    Ok(ControlFlow::Continue(()))
                },
            )?;
        }
        if let Some(new) = self.new_edges_by_node.get(&node) {
            ids.extend_from_slice(new);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| self.edges.get(id).is_none_or(|t| t.after.is_some()));
        Ok(ids)
    }

    /// Applies one mutation at time `now`. On error the transaction must be
    /// discarded: it may hold part of the mutation.
    pub(crate) fn apply(&mut self, m: Mutation, now: Timestamp) -> Result<()> {
        match m {
            Mutation::CreateNode {
                id,
                labels,
                properties,
            } => {
                let labels = normalize_labels(labels)?;
                codec::value::validate_properties(&properties)?;
                if self.nodes.contains_key(&id)
                    || (self.explicit_ids && self.read_node(id)?.is_some())
                {
                    return Err(Error::invalid(format!("node id {id} is already in use")));
                }
                let node = Node {
                    id,
                    labels,
                    properties,
                    created_at: now,
                    updated_at: now,
                };
                self.nodes.insert(
                    id,
                    Touched {
                        before: None,
                        after: Some(node),
                    },
                );
            }
            Mutation::SetNodeProperty { id, key, value } => {
                codec::value::validate_property(&key, &value)?;
                let n = self.node_mut(id)?;
                n.properties.insert(key, value);
                n.updated_at = now;
            }
            Mutation::RemoveNodeProperty { id, key } => {
                let n = self.node_mut(id)?;
                n.properties.remove(&key);
                n.updated_at = now;
            }
            Mutation::AddLabel { id, label } => {
                validate_name("labels", &label)?;
                let n = self.node_mut(id)?;
                if let Err(pos) = n.labels.binary_search_by(|l| l.as_str().cmp(&label)) {
                    n.labels.insert(pos, label.into());
                }
                n.updated_at = now;
            }
            Mutation::RemoveLabel { id, label } => {
                let n = self.node_mut(id)?;
                if let Ok(pos) = n.labels.binary_search_by(|l| l.as_str().cmp(&label)) {
                    n.labels.remove(pos);
                }
                n.updated_at = now;
            }
            Mutation::DeleteNode { id, detach } => {
                self.node_mut(id)?;
                let edges = self.edge_ids_of(id)?;
                if !edges.is_empty() && !detach {
                    return Err(Error::Constraint(Constraint::NodeHasEdges {
                        node: id,
                        edges: edges.len() as u64,
                    }));
                }
                for e in edges {
                    self.apply(Mutation::DeleteEdge { id: e }, now)?;
                }
                if let Some(t) = self.nodes.get_mut(&id) {
                    t.after = None;
                }
            }
            Mutation::CreateEdge {
                id,
                src,
                dst,
                edge_type,
                properties,
            } => {
                validate_name("edge types", &edge_type)?;
                codec::value::validate_properties(&properties)?;
                for end in [src, dst] {
                    if !self.node_exists(end)? {
                        return Err(Error::NodeNotFound(end));
                    }
                }
                if self.edges.contains_key(&id)
                    || (self.explicit_ids && self.read_edge(id)?.is_some())
                {
                    return Err(Error::invalid(format!("edge id {id} is already in use")));
                }
                let edge = Edge {
                    id,
                    src,
                    dst,
                    edge_type,
                    properties,
                    created_at: now,
                    updated_at: now,
                };
                self.edges.insert(
                    id,
                    Touched {
                        before: None,
                        after: Some(edge),
                    },
                );
                self.new_edges_by_node.entry(src).or_default().push(id);
                if dst != src {
                    self.new_edges_by_node.entry(dst).or_default().push(id);
                }
            }
            Mutation::SetEdgeProperty { id, key, value } => {
                codec::value::validate_property(&key, &value)?;
                let e = self.edge_mut(id)?;
                e.properties.insert(key, value);
                e.updated_at = now;
            }
            Mutation::RemoveEdgeProperty { id, key } => {
                let e = self.edge_mut(id)?;
                e.properties.remove(&key);
                e.updated_at = now;
            }
            Mutation::DeleteEdge { id } => {
                self.edge_mut(id)?;
                if let Some(t) = self.edges.get_mut(&id) {
                    t.after = None;
                }
            }
            Mutation::MapExternalId {
                space,
                external,
                node,
            } => {
                let key = meta::external_id(&space, &external)?;
                if !self.node_exists(node)? {
                    return Err(Error::NodeNotFound(node));
                }
                self.external_ids.insert(key, node);
            }
            // `Mutation` is non-exhaustive across crates: a variant added
            // to graph-core without an arm here is refused, not ignored.
            other => {
                return Err(Error::invalid(format!(
                    "this build of graph-storage cannot apply {other:?}"
                )));
            }
        }
        Ok(())
    }

    /// Turns the transaction into one write batch holding the records and
    /// everything derived from them, plus the in-memory effects to apply
    /// after a successful write.
    pub(crate) fn build(
        self,
        symbols: &Symbols,
        catalog: &Catalog,
        counters: &Counters,
    ) -> Result<(WriteBatch, Effects)> {
        let mut batch = WriteBatch::with_capacity(
            self.nodes.len() * 3 + self.edges.len() * 3 + 8,
            self.nodes.len() * 128 + self.edges.len() * 160,
        );
        let mut fx = Effects::default();
        let mut interner = Interner {
            symbols,
            new: Vec::new(),
            next: counters.next_symbol,
        };
        let mut scratch = Vec::with_capacity(256);

        for (id, t) in &self.nodes {
            if t.before.is_none() && t.after.is_none() {
                continue;
            }
            let key = codec::node_key(*id);
            match &t.after {
                Some(n) => {
                    scratch.clear();
                    codec::encode_node(n, &mut scratch)?;
                    batch.put(ColumnFamily::Nodes, &key, &scratch);
                }
                None => batch.delete(ColumnFamily::Nodes, &key),
            }
            match (&t.before, &t.after) {
                (None, Some(_)) => fx.created.push(*id),
                (Some(_), None) => fx.deleted.push(*id),
                _ => {}
            }
            fx.node_delta += i64::from(t.after.is_some()) - i64::from(t.before.is_some());
            diff_node_indexes(*id, t, &mut interner, catalog, &mut batch, &mut scratch)?;
        }

        for (id, t) in &self.edges {
            let key = codec::edge_key(*id);
            match (&t.before, &t.after) {
                (_, Some(e)) => {
                    scratch.clear();
                    codec::encode_edge(e, &mut scratch)?;
                    batch.put(ColumnFamily::Edges, &key, &scratch);
                    if t.before.is_none() {
                        let ty = interner.intern(&e.edge_type, &mut batch)?;
                        edge_implied(e.id, e.src, e.dst, ty, |cf, k, v| {
                            batch.put(cf, k, v);
                            Ok(())
                        })?;
                        fx.edge_delta += 1;
                    }
                }
                (Some(e), None) => {
                    batch.delete(ColumnFamily::Edges, &key);
                    let ty = interner.intern(&e.edge_type, &mut batch)?;
                    edge_implied(e.id, e.src, e.dst, ty, |cf, k, _| {
                        batch.delete(cf, k);
                        Ok(())
                    })?;
                    fx.edge_delta -= 1;
                }
                (None, None) => {}
            }
        }

        for (key, node) in &self.external_ids {
            batch.put(ColumnFamily::Default, key, &codec::encode_u64_value(node.0));
        }

        let put_u64 = |batch: &mut WriteBatch, key: &[u8], v: u64| {
            batch.put(ColumnFamily::Default, key, &codec::encode_u64_value(v));
        };
        if fx.node_delta != 0 {
            put_u64(
                &mut batch,
                meta::NODE_COUNT,
                apply_delta(counters.node_count, fx.node_delta)?,
            );
        }
        if fx.edge_delta != 0 {
            put_u64(
                &mut batch,
                meta::EDGE_COUNT,
                apply_delta(counters.edge_count, fx.edge_delta)?,
            );
        }
        if interner.next != counters.next_symbol {
            batch.put(
                ColumnFamily::Default,
                meta::NEXT_SYMBOL_ID,
                &codec::encode_u32_value(interner.next),
            );
        }
        fx.new_symbols = interner.new;
        fx.confirmed = self.confirmed;
        Ok((batch, fx))
    }
}

pub(crate) fn apply_delta(count: u64, delta: i64) -> Result<u64> {
    count.checked_add_signed(delta).ok_or_else(|| {
        Error::corruption(
            ColumnFamily::Default,
            b"",
            format!("count {count} would go below zero by {delta}"),
        )
    })
}

/// Resolves names to symbol ids, allocating new ids (and writing their
/// dictionary entries) for names never seen.
struct Interner<'s> {
    symbols: &'s Symbols,
    new: Vec<(Arc<str>, SymbolId)>,
    next: u32,
}

impl Interner<'_> {
    /// # Errors
    /// As [`allocate_symbol`] when the ids are exhausted.
    fn intern(&mut self, name: &str, batch: &mut WriteBatch) -> Result<SymbolId> {
        if let Some(id) = self.symbols.id(name) {
            return Ok(id);
        }
        if let Some((_, id)) = self.new.iter().find(|(n, _)| &**n == name) {
            return Ok(*id);
        }
        let id = allocate_symbol(&mut self.next)?;
        for (k, v) in symbol_entries(name, id) {
            batch.put(ColumnFamily::Default, &k, &v);
        }
        self.new.push((name.into(), id));
        Ok(id)
    }
}

/// Emits label-index and property-index changes between a node's state
/// before and after the transaction.
///
/// # Errors
/// As [`allocate_symbol`] for a new label when the ids are exhausted.
fn diff_node_indexes(
    id: NodeId,
    t: &Touched<Node>,
    interner: &mut Interner<'_>,
    catalog: &Catalog,
    batch: &mut WriteBatch,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    // The entries each state implies (all in `indices`, empty values), by
    // the one rule creations follow; what differs is written.
    let mut implied = |state: &Option<Node>| -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        if let Some(n) = state {
            node_implied(
                id,
                &n.labels,
                &n.properties,
                |name| interner.intern(name, batch),
                catalog,
                scratch,
                |_, k, _| {
                    keys.push(k.to_vec());
                    Ok(())
                },
            )?;
        }
        keys.sort_unstable();
        Ok(keys)
    };
    let before = implied(&t.before)?;
    let after = implied(&t.after)?;
    for k in &before {
        if after.binary_search(k).is_err() {
            batch.delete(ColumnFamily::Indices, k);
        }
    }
    for k in &after {
        if before.binary_search(k).is_err() {
            batch.put(ColumnFamily::Indices, k, &[]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod interner_tests {
    use super::*;

    /// The transaction path numbers symbols by the store's one rule: at
    /// the end of the ids it fails instead of wrapping to id 0 (which
    /// would have given a new label the id of an existing one).
    #[test]
    fn interning_past_the_last_id_fails() {
        let mut symbols = Symbols::default();
        symbols.insert("Old".into(), SymbolId(0));
        let mut interner = Interner {
            symbols: &symbols,
            new: Vec::new(),
            next: u32::MAX - 1,
        };
        let mut batch = WriteBatch::new();
        assert_eq!(interner.intern("Old", &mut batch).ok(), Some(SymbolId(0)));
        assert_eq!(
            interner.intern("New", &mut batch).ok(),
            Some(SymbolId(u32::MAX - 1))
        );
        assert_eq!(
            interner.intern("New", &mut batch).ok(),
            Some(SymbolId(u32::MAX - 1))
        );
        let e = interner.intern("Newer", &mut batch).err();
        assert!(
            e.is_some_and(|e| e.to_string().contains("symbol ids exhausted")),
            "the transaction path wrapped its symbol ids"
        );
    }
}
