//! Queries, over the live store or over a snapshot.

use std::ops::{Bound, ControlFlow};
use std::sync::{Arc, PoisonError, RwLock};

use graph_core::codec::{self, AdjacencyDir, AdjacencyKey, SymbolId, meta};
use graph_core::{
    ColumnFamily, Direction, Edge, EdgeId, Error, KeyRange, Node, NodeId, NodeView, PropertyValue,
    ReadView, Result, ScanDirection, prefix_end,
};

use crate::adjacency::{self, Adjacency, EdgeEntry, EdgeTypeId, Entry, IN, OUT, RamSource};
use crate::catalog::{Catalog, Symbols};

/// One edge as seen from a node's adjacency, read without decoding the edge
/// record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EdgeRef {
    /// The edge.
    pub id: EdgeId,
    /// Its source.
    pub src: NodeId,
    /// Its target.
    pub dst: NodeId,
    /// Its type.
    pub edge_type: Arc<str>,
}

/// A declared property index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexInfo {
    /// The indexed label.
    pub label: String,
    /// The indexed property key.
    pub property: String,
}

/// Read queries over one view of a store: the live state
/// ([`GraphStore::reader`](crate::GraphStore::reader)) or a consistent
/// snapshot ([`GraphStore::snapshot`](crate::GraphStore::snapshot)).
///
/// Every query on a snapshot reader sees the same frozen state, so several
/// queries combine consistently; queries on the live reader each see the
/// state of their own moment.
pub struct GraphReader<'s, V: ReadView> {
    view: V,
    symbols: &'s RwLock<Symbols>,
    catalog: Arc<Catalog>,
    /// The adjacency in RAM this reader answers adjacency reads from when
    /// it is there (the engine's `indices` otherwise).
    ram: RamSource<'s>,
}

impl<'s, V: ReadView> GraphReader<'s, V> {
    pub(crate) fn new(
        view: V,
        symbols: &'s RwLock<Symbols>,
        catalog: Arc<Catalog>,
        ram: RamSource<'s>,
    ) -> Self {
        GraphReader {
            view,
            symbols,
            catalog,
            ram,
        }
    }

    /// The adjacency in RAM as this reader sees it, pinned: for a snapshot
    /// reader the version of its snapshot, for the live reader the current
    /// one once it holds every commit made before this call (waiting for
    /// the adjacency's thread to apply them, typically microseconds to
    /// milliseconds). `None` when the store holds no adjacency in RAM
    /// (turned off, not built yet, or too large for its budget: see
    /// [`GraphStore::adjacency_status`](crate::GraphStore::adjacency_status)).
    pub fn adjacency(&self) -> Option<Adjacency<'s>> {
        self.ram.pin().map(|g| Adjacency::new(g, self.symbols))
    }

    /// Runs `f` on the lists of `node` in `dir` from the adjacency in RAM
    /// (the outgoing list, empty unless `dir` asks for it, and the incoming
    /// one likewise; only entries of `edge_type` if given), or
    /// returns `None` when the reader has no adjacency in RAM or the type
    /// is not published in memory yet (the engine answers then).
    fn with_lists<R>(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
        f: impl FnOnce(&[Entry], &[Entry]) -> R,
    ) -> Option<R> {
        let ty = match edge_type {
            Some(name) => Some(self.symbols().id(name)?.0),
            None => None,
        };
        self.ram.with(|g| {
            let pick = |d: usize| {
                let list = g.list(d, node.0);
                match ty {
                    Some(t) => adjacency::of_type(list, t),
                    None => list,
                }
            };
            match dir {
                Direction::Outgoing => f(pick(OUT), &[]),
                Direction::Incoming => f(&[], pick(IN)),
                Direction::Both => f(pick(OUT), pick(IN)),
            }
        })
    }

    /// The underlying byte-level view.
    pub fn view(&self) -> &V {
        &self.view
    }

    fn symbols(&self) -> std::sync::RwLockReadGuard<'s, Symbols> {
        self.symbols.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of a label or edge type: from the in-memory dictionary, or,
    /// for a symbol committed but not yet published there, from the
    /// dictionary in this view. `None` if the view has no such symbol.
    fn symbol_id(&self, name: &str) -> Result<Option<SymbolId>> {
        if let Some(id) = self.symbols().id(name) {
            return Ok(Some(id));
        }
        let key = meta::symbol_by_name(name);
        match self.view.get(ColumnFamily::Default, &key)? {
            Some(v) => Ok(Some(SymbolId(codec::decode_u32_value(
                ColumnFamily::Default,
                &key,
                &v,
            )?))),
            None => Ok(None),
        }
    }

    /// The name of a symbol met in `key`, as [`symbol_id`](Self::symbol_id)
    /// resolves ids.
    fn symbol_name(&self, id: SymbolId, key: &[u8]) -> Result<Arc<str>> {
        if let Some(name) = self.symbols().name(id) {
            return Ok(Arc::clone(name));
        }
        let dict_key = meta::symbol_by_id(id);
        match self.view.get(ColumnFamily::Default, &dict_key)? {
            Some(v) => std::str::from_utf8(&v).map(Arc::from).map_err(|_| {
                Error::corruption(ColumnFamily::Default, &dict_key, "symbol name is not UTF-8")
            }),
            None => Err(Error::corruption(
                ColumnFamily::Indices,
                key,
                format!("unknown symbol id {}", id.0),
            )),
        }
    }

    /// The node with this id, or `None`.
    ///
    /// # Errors
    /// A corruption error if its record cannot be decoded; an engine error.
    pub fn get_node(&self, id: NodeId) -> Result<Option<Node>> {
        self.record(
            ColumnFamily::Nodes,
            &codec::node_key(id),
            codec::decode_node,
        )
    }

    /// The record at `key` in `cf`, decoded straight from the engine's
    /// memory (no copy of its bytes first), or `None`.
    fn record<T>(
        &self,
        cf: ColumnFamily,
        key: &[u8],
        decode: impl Fn(&[u8], &[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut record = None;
        self.view.get_with(cf, key, &mut |v| {
            record = v.map(|v| decode(key, v)).transpose()?;
            Ok(())
        })?;
        Ok(record)
    }

    /// The nodes with these ids, in order (`None` for a missing one), read
    /// with one batched lookup of the backend (RocksDB's `multi_get`).
    ///
    /// # Errors
    /// A corruption error if a record cannot be decoded; an engine error.
    pub fn get_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Node>>> {
        let keys: Vec<[u8; 8]> = ids.iter().map(|id| codec::node_key(*id)).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let mut out = Vec::with_capacity(ids.len());
        self.view
            .multi_get_with(ColumnFamily::Nodes, &refs, &mut |i, v| {
                out.push(v.map(|v| codec::decode_node(&keys[i], v)).transpose()?);
                Ok(())
            })?;
        Ok(out)
    }

    /// Reads the node with this id in place and returns what `f` makes of
    /// it, or `None` if there is no such node: no owned [`Node`] is built,
    /// labels, keys and string values are borrowed from the engine's
    /// memory (see [`NodeView`]). For a query that looks at a few
    /// properties of many nodes this is the fast path; [`get_node`]
    /// returns the same node, owned.
    ///
    /// `f` runs while the backend holds the record (RocksDB's pinned
    /// slice, the memory backend's read lock): it must not call the store
    /// (on the memory backend a nested read can deadlock with a writer
    /// waiting for the lock). Copy out what you need and call it after.
    ///
    /// # Errors
    /// Those of [`get_node`] for the same id: a corruption error if the
    /// record does not decode (then `f` is not called); an engine error.
    ///
    /// [`get_node`]: Self::get_node
    pub fn with_node<R>(&self, id: NodeId, f: impl FnOnce(NodeView<'_>) -> R) -> Result<Option<R>> {
        let key = codec::node_key(id);
        let mut f = Some(f);
        let mut out = None;
        self.view.get_with(ColumnFamily::Nodes, &key, &mut |v| {
            if let (Some(v), Some(f)) = (v, f.take()) {
                out = Some(f(codec::decode_node_view(&key, v)?));
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Reads the nodes with these ids in place, in order, with one batched
    /// lookup of the backend: `f` gets each id's index in `ids` and its
    /// node, or `None` for a missing one. As [`with_node`](Self::with_node)
    /// for many nodes, and [`get_nodes`](Self::get_nodes) without building
    /// owned nodes.
    ///
    /// # Errors
    /// Those of [`get_nodes`](Self::get_nodes) for the same ids; `f` has
    /// been called for the nodes before the first record that does not
    /// decode. `f` must not call the store, as for
    /// [`with_node`](Self::with_node).
    pub fn with_nodes(
        &self,
        ids: &[NodeId],
        mut f: impl FnMut(usize, Option<NodeView<'_>>),
    ) -> Result<()> {
        let keys: Vec<[u8; 8]> = ids.iter().map(|id| codec::node_key(*id)).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        self.view
            .multi_get_with(ColumnFamily::Nodes, &refs, &mut |i, v| {
                let node = v
                    .map(|v| codec::decode_node_view(&keys[i], v))
                    .transpose()?;
                f(i, node);
                Ok(())
            })
    }

    /// The edge with this id, or `None`.
    ///
    /// # Errors
    /// A corruption error if its record cannot be decoded; an engine error.
    pub fn get_edge(&self, id: EdgeId) -> Result<Option<Edge>> {
        self.record(
            ColumnFamily::Edges,
            &codec::edge_key(id),
            codec::decode_edge,
        )
    }

    /// Whether a node with this id exists (no decoding).
    ///
    /// # Errors
    /// An engine error.
    pub fn contains_node(&self, id: NodeId) -> Result<bool> {
        let mut found = false;
        self.view
            .get_with(ColumnFamily::Nodes, &codec::node_key(id), &mut |v| {
                found = v.is_some();
                Ok(())
            })?;
        Ok(found)
    }

    /// Visits the adjacency keys of `node` in `dir`, optionally of one type.
    fn visit_adjacency(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
        mut f: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let ty = match edge_type {
            Some(name) => match self.symbol_id(name)? {
                Some(id) => Some(id),
                None => return Ok(()),
            },
            None => None,
        };
        let dirs: &[AdjacencyDir] = match dir {
            Direction::Outgoing => &[AdjacencyDir::Out],
            Direction::Incoming => &[AdjacencyDir::In],
            Direction::Both => &[AdjacencyDir::Out, AdjacencyDir::In],
        };
        for &d in dirs {
            let mut visit = |k: &[u8], _: &[u8]| {
                f(k)?;
                Ok(ControlFlow::Continue(()))
            };
            match ty {
                Some(t) => self.view.scan_prefix(
                    ColumnFamily::Indices,
                    &AdjacencyKey::type_prefix(d, node, t),
                    ScanDirection::Forward,
                    &mut visit,
                )?,
                None => self.view.scan_prefix(
                    ColumnFamily::Indices,
                    &AdjacencyKey::node_prefix(d, node),
                    ScanDirection::Forward,
                    &mut visit,
                )?,
            }
        }
        Ok(())
    }

    /// The edges of `node` in `dir`, optionally only those of `edge_type`,
    /// answered from the adjacency index alone. Outgoing edges come first,
    /// each direction ordered by (type id, other node, edge id); with
    /// [`Direction::Both`] a self-loop appears twice. An unknown node has
    /// no edges.
    ///
    /// # Errors
    /// A corruption error for a malformed adjacency key or an unknown type
    /// id; an engine error.
    pub fn edges(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
    ) -> Result<Vec<EdgeRef>> {
        let mut refs = EdgeRefs::new(self);
        let from_ram = self.with_lists(node, dir, edge_type, |a, b| {
            let mut out = Vec::with_capacity(a.len() + b.len());
            for e in a {
                out.push(refs.of_entry(node, AdjacencyDir::Out, e)?);
            }
            for e in b {
                out.push(refs.of_entry(node, AdjacencyDir::In, e)?);
            }
            Ok(out)
        });
        if let Some(out) = from_ram {
            return out;
        }
        let mut out = Vec::new();
        self.visit_adjacency(node, dir, edge_type, |k| {
            out.push(refs.decode(k)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The nodes at the other end of `node`'s edges, in the order of
    /// [`edges`](Self::edges), once per edge.
    ///
    /// # Errors
    /// As [`edges`](Self::edges).
    pub fn neighbors(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
    ) -> Result<Vec<NodeId>> {
        let from_ram = self.with_lists(node, dir, edge_type, |a, b| {
            let mut out = Vec::with_capacity(a.len() + b.len());
            out.extend(a.iter().chain(b).map(|e| NodeId(u64::from(e.other))));
            out
        });
        if let Some(out) = from_ram {
            return Ok(out);
        }
        let mut out = Vec::new();
        self.visit_adjacency(node, dir, edge_type, |k| {
            out.push(AdjacencyKey::decode(k)?.other);
            Ok(())
        })?;
        Ok(out)
    }

    /// How many edges `node` has in `dir` (a self-loop counts once each
    /// way, so twice with [`Direction::Both`]). Counts adjacency keys
    /// without decoding anything.
    ///
    /// # Errors
    /// An engine error.
    pub fn degree(&self, node: NodeId, dir: Direction, edge_type: Option<&str>) -> Result<u64> {
        if let Some(n) = self.with_lists(node, dir, edge_type, |a, b| (a.len() + b.len()) as u64) {
            return Ok(n);
        }
        let mut n = 0u64;
        self.visit_adjacency(node, dir, edge_type, |_| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// Every node carrying `label`, ascending by id.
    ///
    /// # Errors
    /// A corruption error for a malformed index key; an engine error.
    pub fn nodes_with_label(&self, label: &str) -> Result<Vec<NodeId>> {
        let Some(sym) = self.symbol_id(label)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        self.view.scan_prefix(
            ColumnFamily::Indices,
            &codec::label_prefix(sym),
            ScanDirection::Forward,
            &mut |k, _| {
                out.push(codec::decode_label_key(k)?.1);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(out)
    }

    fn index_id(&self, label: &str, property: &str) -> Result<codec::IndexId> {
        self.catalog
            .find(label, property)
            .ok_or_else(|| Error::IndexNotFound {
                label: label.to_owned(),
                property: property.to_owned(),
            })
    }

    /// Nodes with `label` whose `property` equals `value`, ascending by id,
    /// answered by the property index on (label, property).
    ///
    /// # Errors
    /// [`Error::IndexNotFound`] if no such index is declared; an engine
    /// error.
    pub fn find_nodes(
        &self,
        label: &str,
        property: &str,
        value: &PropertyValue,
    ) -> Result<Vec<NodeId>> {
        let index = self.index_id(label, property)?;
        let mut prefix = Vec::with_capacity(32);
        codec::property_value_prefix(index, value, &mut prefix);
        self.collect_index(KeyRange {
            start: &prefix,
            end: prefix_end(&prefix).as_deref(),
        })
    }

    /// Nodes with `label` whose `property` lies between the bounds, in
    /// value order (ties by id). Values order first by type, then by value
    /// (see [`codec::memcmp`]), so a range between two integers returns
    /// only integers.
    ///
    /// # Errors
    /// [`Error::IndexNotFound`] if no such index is declared; an engine
    /// error.
    pub fn find_nodes_in_range(
        &self,
        label: &str,
        property: &str,
        lower: Bound<&PropertyValue>,
        upper: Bound<&PropertyValue>,
    ) -> Result<Vec<NodeId>> {
        let index = self.index_id(label, property)?;
        let index_prefix = codec::property_index_prefix(index);
        let value_prefix = |v: &PropertyValue| {
            let mut p = Vec::with_capacity(32);
            codec::property_value_prefix(index, v, &mut p);
            p
        };
        let start = match lower {
            Bound::Included(v) => value_prefix(v),
            Bound::Excluded(v) => prefix_end(&value_prefix(v)).unwrap_or_default(),
            Bound::Unbounded => index_prefix.to_vec(),
        };
        let end = match upper {
            Bound::Included(v) => prefix_end(&value_prefix(v)),
            Bound::Excluded(v) => Some(value_prefix(v)),
            Bound::Unbounded => prefix_end(&index_prefix),
        };
        if start.is_empty() {
            return Ok(Vec::new());
        }
        self.collect_index(KeyRange {
            start: &start,
            end: end.as_deref(),
        })
    }

    fn collect_index(&self, range: KeyRange<'_>) -> Result<Vec<NodeId>> {
        let mut out = Vec::new();
        self.view.scan(
            ColumnFamily::Indices,
            range,
            ScanDirection::Forward,
            &mut |k, _| {
                out.push(codec::property_index_node(k)?);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(out)
    }

    /// The declared property indexes, sorted.
    pub fn indexes(&self) -> Vec<IndexInfo> {
        let mut out: Vec<IndexInfo> = self
            .catalog
            .by_id
            .values()
            .map(|d| IndexInfo {
                label: d.label.clone(),
                property: d.property.clone(),
            })
            .collect();
        out.sort();
        out
    }

    fn counter(&self, key: &[u8]) -> Result<u64> {
        match self.view.get(ColumnFamily::Default, key)? {
            Some(v) => codec::decode_u64_value(ColumnFamily::Default, key, &v),
            None => Ok(0),
        }
    }

    /// The number of nodes, kept in metadata (no scan).
    ///
    /// # Errors
    /// A corruption error for a malformed counter; an engine error.
    pub fn node_count(&self) -> Result<u64> {
        self.counter(meta::NODE_COUNT)
    }

    /// The number of edges, kept in metadata (no scan).
    ///
    /// # Errors
    /// As [`node_count`](Self::node_count).
    pub fn edge_count(&self) -> Result<u64> {
        self.counter(meta::EDGE_COUNT)
    }

    /// The node that `external` in id space `space` was mapped to by an
    /// import ([`Mutation::MapExternalId`](crate::Mutation::MapExternalId)),
    /// if that node still exists.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a space holding a NUL byte;
    /// corruption of the entry; engine errors.
    pub fn external_id(&self, space: &str, external: &str) -> Result<Option<NodeId>> {
        let key = meta::external_id(space, external)?;
        let Some(v) = self.view.get(ColumnFamily::Default, &key)? else {
            return Ok(None);
        };
        let node = NodeId(codec::decode_u64_value(ColumnFamily::Default, &key, &v)?);
        Ok(self.contains_node(node)?.then_some(node))
    }

    /// How many external-id mapping entries the store holds (all spaces,
    /// including entries of deleted nodes): a scan of the mapping.
    ///
    /// # Errors
    /// Engine errors.
    pub fn external_id_count(&self) -> Result<u64> {
        self.view
            .count_prefix(ColumnFamily::Default, &[meta::TAG_EXTERNAL_ID])
    }

    /// How many nodes carry each label, sorted by name (a scan of the
    /// label index).
    ///
    /// # Errors
    /// Corruption of an index key or the dictionary; engine errors.
    pub fn label_counts(&self) -> Result<Vec<(Arc<str>, u64)>> {
        let mut by_id: Vec<(SymbolId, u64, Vec<u8>)> = Vec::new();
        self.view.scan_prefix(
            ColumnFamily::Indices,
            &[codec::index_tag::LABEL],
            ScanDirection::Forward,
            &mut |k, _| {
                let (sym, _) = codec::decode_label_key(k)?;
                match by_id.last_mut() {
                    Some((last, n, _)) if *last == sym => *n += 1,
                    _ => by_id.push((sym, 1, k.to_vec())),
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        let mut out = by_id
            .into_iter()
            .map(|(sym, n, key)| Ok((self.symbol_name(sym, &key)?, n)))
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// How many edges have each type, sorted by name (a scan of the
    /// outgoing adjacency entries).
    ///
    /// # Errors
    /// Corruption of an adjacency key or the dictionary; engine errors.
    pub fn edge_type_counts(&self) -> Result<Vec<(Arc<str>, u64)>> {
        let mut by_id: std::collections::BTreeMap<SymbolId, (u64, Vec<u8>)> =
            std::collections::BTreeMap::new();
        self.view.scan_prefix(
            ColumnFamily::Indices,
            &[codec::index_tag::OUT],
            ScanDirection::Forward,
            &mut |k, _| {
                let a = AdjacencyKey::decode(k)?;
                by_id
                    .entry(a.edge_type)
                    .or_insert_with(|| (0, k.to_vec()))
                    .0 += 1;
                Ok(ControlFlow::Continue(()))
            },
        )?;
        let mut out = by_id
            .into_iter()
            .map(|(sym, (n, key))| Ok((self.symbol_name(sym, &key)?, n)))
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// The store's format version (see
    /// [`codec::FORMAT_VERSION`](graph_core::codec::FORMAT_VERSION)).
    ///
    /// # Errors
    /// Corruption of the entry; engine errors.
    pub fn format_version(&self) -> Result<u32> {
        match self.view.get(ColumnFamily::Default, meta::FORMAT_VERSION)? {
            Some(v) => codec::decode_u32_value(ColumnFamily::Default, meta::FORMAT_VERSION, &v),
            None => Ok(0),
        }
    }

    /// The library that created the store (recorded since format 2), e.g.
    /// `graph-storage 0.1.0`.
    ///
    /// # Errors
    /// Corruption (not UTF-8); engine errors.
    pub fn created_by(&self) -> Result<Option<String>> {
        match self.view.get(ColumnFamily::Default, meta::CREATED_BY)? {
            Some(v) => String::from_utf8(v).map(Some).map_err(|_| {
                Error::corruption(ColumnFamily::Default, meta::CREATED_BY, "not UTF-8")
            }),
            None => Ok(None),
        }
    }

    /// Every node id, ascending (a full scan of `nodes`, keys only).
    ///
    /// # Errors
    /// A corruption error for a malformed key; an engine error.
    pub fn node_ids(&self) -> Result<Vec<NodeId>> {
        let mut out = Vec::new();
        self.view.scan(
            ColumnFamily::Nodes,
            KeyRange::all(),
            ScanDirection::Forward,
            &mut |k, _| {
                out.push(codec::decode_node_key(k)?);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(out)
    }

    /// Every edge id, ascending (a full scan of `edges`, keys only).
    ///
    /// # Errors
    /// A corruption error for a malformed key; an engine error.
    pub fn edge_ids(&self) -> Result<Vec<EdgeId>> {
        let mut out = Vec::new();
        self.view.scan(
            ColumnFamily::Edges,
            KeyRange::all(),
            ScanDirection::Forward,
            &mut |k, _| {
                out.push(codec::decode_edge_key(k)?);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(out)
    }
}

/// Whole-graph reads: every node's degree, every edge, without one call
/// per node. Served from the adjacency in RAM when the reader has it (see
/// [`GraphReader::adjacency`]), otherwise by one sequential scan of the
/// adjacency entries of `indices`; the answers are the same.
impl<'s, V: ReadView> GraphReader<'s, V> {
    /// One past the largest node id of the store (0 when it has no node),
    /// read with one seek: the length of [`degrees`](Self::degrees).
    ///
    /// # Errors
    /// Corruption of the last node key; engine errors.
    pub fn node_id_bound(&self) -> Result<u64> {
        let last = self.view.collect_range(
            ColumnFamily::Nodes,
            KeyRange::all(),
            ScanDirection::Reverse,
            Some(1),
        )?;
        match last.first() {
            Some((k, _)) => Ok(codec::decode_node_key(k)?.0.saturating_add(1)),
            None => Ok(0),
        }
    }

    /// The degree in `dir` of every node, indexed by node id: entry `i` is
    /// [`degree`](Self::degree)`(i, dir, None)` (0 for an id without a
    /// node), and the vector is [`node_id_bound`](Self::node_id_bound)
    /// long.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when node ids are too sparse for an array
    /// by id (the largest id above 64 times the node count plus 2^24: ids
    /// skip at most 65,536 at a reopen, so only chosen ids get there);
    /// corruption of an adjacency key; engine errors.
    pub fn degrees(&self, dir: Direction) -> Result<Vec<u64>> {
        let bound = self.node_id_bound()?;
        let limit = self
            .node_count()?
            .saturating_mul(64)
            .saturating_add(1 << 24);
        let len = usize::try_from(bound)
            .ok()
            .filter(|_| bound <= limit)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "node ids reach {bound}, too sparse for degrees by id; ask degree() per node"
                ))
            })?;
        let mut out = vec![0u64; len];
        if let Some(adj) = self.adjacency() {
            for (slot, d) in out.iter_mut().zip(adj.degrees(dir)) {
                *slot = u64::from(d);
            }
            return Ok(out);
        }
        let tags: &[u8] = match dir {
            Direction::Outgoing => &[codec::index_tag::OUT],
            Direction::Incoming => &[codec::index_tag::IN],
            Direction::Both => &[codec::index_tag::OUT, codec::index_tag::IN],
        };
        for tag in tags {
            self.view.scan_prefix(
                ColumnFamily::Indices,
                &[*tag],
                ScanDirection::Forward,
                &mut |k, _| {
                    let node = AdjacencyKey::decode(k)?.node.0;
                    if let Some(slot) = usize::try_from(node).ok().and_then(|i| out.get_mut(i)) {
                        *slot += 1;
                    }
                    Ok(ControlFlow::Continue(()))
                },
            )?;
        }
        Ok(out)
    }

    /// Calls `f` for every edge once, by source id and then in the order
    /// of [`edges`](Self::edges); nothing is decoded but adjacency (the
    /// type is an id: see [`edge_type_name`](Self::edge_type_name)).
    ///
    /// # Errors
    /// Corruption of an adjacency key (read from the engine); engine
    /// errors. `f` has seen the edges before the failure.
    pub fn for_each_edge(&self, mut f: impl FnMut(EdgeEntry)) -> Result<()> {
        if let Some(adj) = self.adjacency() {
            adj.for_each_edge(f);
            return Ok(());
        }
        self.view.scan_prefix(
            ColumnFamily::Indices,
            &[codec::index_tag::OUT],
            ScanDirection::Forward,
            &mut |k, _| {
                let a = AdjacencyKey::decode(k)?;
                f(EdgeEntry {
                    id: a.edge,
                    src: a.node,
                    dst: a.other,
                    edge_type: a.edge_type,
                });
                Ok(ControlFlow::Continue(()))
            },
        )
    }

    /// Folds every edge, on all the machine's cores when the adjacency is
    /// in RAM (see [`Adjacency::fold_edges`]; one accumulator per thread,
    /// returned in no particular order), on this thread otherwise (one
    /// accumulator).
    ///
    /// # Errors
    /// As [`for_each_edge`](Self::for_each_edge).
    pub fn fold_edges<A: Send>(
        &self,
        init: impl Fn() -> A + Sync,
        fold: impl Fn(&mut A, EdgeEntry) + Sync,
    ) -> Result<Vec<A>> {
        if let Some(adj) = self.adjacency() {
            return Ok(adj.fold_edges(init, fold));
        }
        let mut acc = init();
        self.for_each_edge(|e| fold(&mut acc, e))?;
        Ok(vec![acc])
    }

    /// The id of edge type (or label) `name`, if the store has named it.
    ///
    /// # Errors
    /// Corruption of the dictionary; engine errors.
    pub fn edge_type_id(&self, name: &str) -> Result<Option<EdgeTypeId>> {
        self.symbol_id(name)
    }

    /// The name of edge type `id`, as [`EdgeEntry::edge_type`] holds it.
    ///
    /// # Errors
    /// Corruption when the store has no symbol `id`; engine errors.
    pub fn edge_type_name(&self, id: EdgeTypeId) -> Result<Arc<str>> {
        self.symbol_name(id, &meta::symbol_by_id(id))
    }
}

/// Decodes adjacency keys into [`EdgeRef`]s, resolving each type id to its
/// name once.
struct EdgeRefs<'r, 's, V: ReadView> {
    reader: &'r GraphReader<'s, V>,
    names: Vec<(SymbolId, Arc<str>)>,
}

impl<'r, 's, V: ReadView> EdgeRefs<'r, 's, V> {
    fn new(reader: &'r GraphReader<'s, V>) -> Self {
        EdgeRefs {
            reader,
            names: Vec::new(),
        }
    }

    fn decode(&mut self, key: &[u8]) -> Result<EdgeRef> {
        let a = AdjacencyKey::decode(key)?;
        let name = self.name(a.edge_type, key)?;
        let (src, dst) = match a.dir {
            AdjacencyDir::Out => (a.node, a.other),
            AdjacencyDir::In => (a.other, a.node),
        };
        Ok(EdgeRef {
            id: a.edge,
            src,
            dst,
            edge_type: name,
        })
    }

    /// The edge of entry `e`, filed under `node` in `dir`, of the adjacency
    /// in RAM.
    fn of_entry(&mut self, node: NodeId, dir: AdjacencyDir, e: &Entry) -> Result<EdgeRef> {
        let other = NodeId(u64::from(e.other));
        let key = AdjacencyKey {
            dir,
            node,
            edge_type: SymbolId(e.ty),
            other,
            edge: EdgeId(e.edge),
        };
        let name = self.name(key.edge_type, &key.encode())?;
        let (src, dst) = match dir {
            AdjacencyDir::Out => (node, other),
            AdjacencyDir::In => (other, node),
        };
        Ok(EdgeRef {
            id: key.edge,
            src,
            dst,
            edge_type: name,
        })
    }

    /// The name of type `id`, met in adjacency key `key`.
    fn name(&mut self, id: SymbolId, key: &[u8]) -> Result<Arc<str>> {
        if let Some((_, name)) = self.names.iter().find(|(known, _)| *known == id) {
            return Ok(Arc::clone(name));
        }
        let name = self.reader.symbol_name(id, key)?;
        self.names.push((id, Arc::clone(&name)));
        Ok(name)
    }
}

/// How many entries a [`Chunks`] cursor reads per seek.
const CHUNK: usize = 1024;

/// The entries of one key range, read in chunks of [`CHUNK`] over a view
/// and decoded by `decode` during the scan, straight from the engine's
/// memory (no copy of an entry's key or value): memory stays bounded
/// whatever the range holds, and on a snapshot the chunks together see one
/// consistent state. A decoding error is yielded in its place and the
/// cursor goes on; an engine error ends it.
struct Chunks<'v, V: ReadView, T, F> {
    view: &'v V,
    cf: ColumnFamily,
    /// Where the next chunk starts; `None` once the range is exhausted.
    next: Option<Vec<u8>>,
    end: Option<Vec<u8>>,
    decode: F,
    buf: std::vec::IntoIter<Result<T>>,
}

impl<'v, V, T, F> Chunks<'v, V, T, F>
where
    V: ReadView,
    F: FnMut(&[u8], &[u8]) -> Result<T>,
{
    fn new(view: &'v V, cf: ColumnFamily, start: Vec<u8>, end: Option<Vec<u8>>, decode: F) -> Self {
        Chunks {
            view,
            cf,
            next: Some(start),
            end,
            decode,
            buf: Vec::new().into_iter(),
        }
    }

    fn prefix(view: &'v V, cf: ColumnFamily, prefix: &[u8], decode: F) -> Self {
        Self::new(view, cf, prefix.to_vec(), prefix_end(prefix), decode)
    }
}

impl<V, T, F> Iterator for Chunks<'_, V, T, F>
where
    V: ReadView,
    F: FnMut(&[u8], &[u8]) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.buf.next() {
            return Some(item);
        }
        let start = self.next.take()?;
        let range = KeyRange {
            start: &start,
            end: self.end.as_deref(),
        };
        let mut items = Vec::with_capacity(CHUNK);
        let mut last = None;
        let decode = &mut self.decode;
        let scanned = self
            .view
            .scan(self.cf, range, ScanDirection::Forward, &mut |k, v| {
                items.push(decode(k, v));
                Ok(if items.len() == CHUNK {
                    last = Some(k.to_vec());
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            });
        if let Err(e) = scanned {
            return Some(Err(e));
        }
        // The smallest key after the last one read.
        self.next = last.map(|mut k| {
            k.push(0);
            k
        });
        self.buf = items.into_iter();
        self.buf.next()
    }
}

/// Streaming reads: cursors over the view in bounded memory, for callers
/// that walk a whole store or may stop early. On a snapshot reader they see
/// one consistent state; on the live reader each chunk of entries sees the
/// state of its own moment.
impl<'s, V: ReadView> GraphReader<'s, V> {
    /// Every node id, ascending.
    pub fn iter_node_ids(&self) -> impl Iterator<Item = Result<NodeId>> + '_ {
        Chunks::new(&self.view, ColumnFamily::Nodes, Vec::new(), None, |k, _| {
            codec::decode_node_key(k)
        })
    }

    /// Every node, ascending by id.
    pub fn iter_nodes(&self) -> impl Iterator<Item = Result<Node>> + '_ {
        Chunks::new(&self.view, ColumnFamily::Nodes, Vec::new(), None, |k, v| {
            codec::decode_node(k, v)
        })
    }

    /// Every edge id, ascending.
    pub fn iter_edge_ids(&self) -> impl Iterator<Item = Result<EdgeId>> + '_ {
        Chunks::new(&self.view, ColumnFamily::Edges, Vec::new(), None, |k, _| {
            codec::decode_edge_key(k)
        })
    }

    /// Every edge, ascending by id.
    pub fn iter_edges(&self) -> impl Iterator<Item = Result<Edge>> + '_ {
        Chunks::new(&self.view, ColumnFamily::Edges, Vec::new(), None, |k, v| {
            codec::decode_edge(k, v)
        })
    }

    /// The nodes carrying `label`, ascending by id (none for an unknown
    /// label).
    ///
    /// # Errors
    /// Resolving the label may fail with an engine or corruption error;
    /// each item may fail the same way.
    pub fn iter_nodes_with_label(
        &self,
        label: &str,
    ) -> Result<impl Iterator<Item = Result<NodeId>> + '_> {
        let prefix = self.symbol_id(label)?.map(codec::label_prefix);
        Ok(prefix.into_iter().flat_map(|p| {
            Chunks::prefix(&self.view, ColumnFamily::Indices, &p, |k, _| {
                Ok(codec::decode_label_key(k)?.1)
            })
        }))
    }

    /// The edges of `node` in `dir`, optionally of one type, in the order of
    /// [`edges`](Self::edges), read from the adjacency index in chunks.
    ///
    /// # Errors
    /// Resolving the type may fail with an engine or corruption error; each
    /// item may fail with a corruption error for a malformed adjacency key
    /// or an unknown type id.
    pub fn iter_edges_of(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
    ) -> Result<impl Iterator<Item = Result<EdgeRef>> + '_> {
        if let Some(edges) = self.iter_edges_in_ram(node, dir, edge_type) {
            return Ok(Box::new(edges) as Box<dyn Iterator<Item = Result<EdgeRef>> + '_>);
        }
        // An unknown type has no edges: both directions stay empty.
        let (ty, known) = match edge_type {
            Some(name) => match self.symbol_id(name)? {
                Some(id) => (Some(id), true),
                None => (None, false),
            },
            None => (None, true),
        };
        let prefix = |d: AdjacencyDir| match ty {
            Some(t) => AdjacencyKey::type_prefix(d, node, t).to_vec(),
            None => AdjacencyKey::node_prefix(d, node).to_vec(),
        };
        let scan = |d: AdjacencyDir, wanted: bool| {
            (known && wanted).then(|| {
                let mut refs = EdgeRefs::new(self);
                Chunks::prefix(
                    &self.view,
                    ColumnFamily::Indices,
                    &prefix(d),
                    move |k, _| refs.decode(k),
                )
            })
        };
        let out = scan(
            AdjacencyDir::Out,
            matches!(dir, Direction::Outgoing | Direction::Both),
        );
        let inc = scan(
            AdjacencyDir::In,
            matches!(dir, Direction::Incoming | Direction::Both),
        );
        Ok(Box::new(
            out.into_iter().flatten().chain(inc.into_iter().flatten()),
        ))
    }

    /// [`iter_edges_of`](Self::iter_edges_of) from the adjacency in RAM,
    /// pinned for the iterator's life, if this reader has one.
    fn iter_edges_in_ram(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<&str>,
    ) -> Option<impl Iterator<Item = Result<EdgeRef>> + '_> {
        let graph = self.ram.try_pin()?;
        let ty = match edge_type {
            Some(name) => Some(self.symbols().id(name)?.0),
            None => None,
        };
        // Where each direction's wanted entries lie in the node's list.
        let range = |d: usize| {
            let list = graph.list(d, node.0);
            match ty {
                Some(t) => {
                    let start = list.partition_point(|e| e.ty < t);
                    (start, list.partition_point(|e| e.ty <= t))
                }
                None => (0, list.len()),
            }
        };
        let (out, inc) = match dir {
            Direction::Outgoing => (range(OUT), (0, 0)),
            Direction::Incoming => ((0, 0), range(IN)),
            Direction::Both => (range(OUT), range(IN)),
        };
        let mut refs = EdgeRefs::new(self);
        let items = (out.0..out.1)
            .map(|i| (OUT, i))
            .chain((inc.0..inc.1).map(|i| (IN, i)));
        Some(items.filter_map(move |(d, i)| {
            let e = *graph.list(d, node.0).get(i)?;
            let dir = if d == OUT {
                AdjacencyDir::Out
            } else {
                AdjacencyDir::In
            };
            Some(refs.of_entry(node, dir, &e))
        }))
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use graph_core::{Durability, Properties, StorageBackend};
    use storage_memory::MemoryBackend;

    use super::*;
    use crate::GraphStore;

    fn check<V: ReadView>(r: &GraphReader<'_, V>, ids: &[NodeId], hub: NodeId) -> Result<()> {
        let all: Vec<NodeId> = r.iter_node_ids().collect::<Result<_>>()?;
        assert_eq!(all, r.node_ids()?);
        assert_eq!(all.len(), ids.len());
        let nodes: Vec<Node> = r.iter_nodes().collect::<Result<_>>()?;
        for (n, id) in nodes.iter().zip(&all) {
            assert_eq!(Some(n), r.get_node(*id)?.as_ref());
        }
        for label in ["A", "B", "missing"] {
            let streamed: Vec<NodeId> = r.iter_nodes_with_label(label)?.collect::<Result<_>>()?;
            assert_eq!(streamed, r.nodes_with_label(label)?);
        }
        for dir in [Direction::Outgoing, Direction::Incoming, Direction::Both] {
            for ty in [None, Some("T"), Some("missing")] {
                let streamed: Vec<EdgeRef> =
                    r.iter_edges_of(hub, dir, ty)?.collect::<Result<_>>()?;
                assert_eq!(streamed, r.edges(hub, dir, ty)?, "{dir:?} {ty:?}");
            }
        }
        assert_eq!(r.iter_edge_ids().count(), r.edge_ids()?.len());
        Ok(())
    }

    /// Streaming reads cross chunk boundaries without losing, repeating or
    /// reordering anything, on the live reader and on a snapshot, and
    /// yield a damaged record in its place without stopping.
    #[test]
    fn cursors_match_the_collecting_reads_across_chunks() -> Result<()> {
        let store = GraphStore::open(MemoryBackend::new())?;
        let mut b = store.batch();
        let ids: Vec<NodeId> = (0..2 * CHUNK + 500)
            .map(|i| b.create_node(&[["A", "B"][i % 3 / 2]], Properties::new()))
            .collect::<Result<_>>()?;
        b.commit()?;
        let hub = ids[7];
        let mut b = store.batch();
        for (i, other) in ids.iter().enumerate().take(CHUNK + 300) {
            let ty = ["T", "U"][i % 2];
            b.create_edge(hub, *other, ty, Properties::new())?;
            if i % 3 == 0 {
                b.create_edge(*other, hub, ty, Properties::new())?;
            }
        }
        b.commit()?;
        check(&store.reader(), &ids, hub)?;
        check(&store.snapshot()?, &ids, hub)?;

        // A damaged record in the second chunk: an error in its place,
        // every other node still read.
        let bad = ids[CHUNK + 10];
        store.backend().put(
            ColumnFamily::Nodes,
            &codec::node_key(bad),
            b"\xFFbad",
            Durability::Strict,
        )?;
        let items: Vec<Result<Node>> = store.reader().iter_nodes().collect();
        assert_eq!(items.len(), ids.len());
        for (item, id) in items.iter().zip(&ids) {
            match item {
                Ok(n) => assert_eq!(n.id, *id),
                Err(e) => {
                    assert_eq!(*id, bad);
                    assert_eq!(e.kind(), graph_core::ErrorKind::Corruption);
                }
            }
        }
        assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
        Ok(())
    }
}
