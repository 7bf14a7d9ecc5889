//! A deterministic, seeded stream of graph mutations for the reliability
//! tests, and the tools to compare stores byte for byte.
//!
//! [`Workload`] picks each step from its seed and from its own model of the
//! live nodes and edges (updated only when a step succeeds), so two runs
//! with the same seed on fresh stores issue identical operations and, with
//! equal [`ManualClock`](graph_storage::ManualClock)s, produce identical
//! bytes. The crash tests replay a child's stream on a
//! [`MemoryBackend`](storage_memory::MemoryBackend) store to get the
//! expected state after each acknowledged step.
//!
//! [`Replayer`] applies reported steps to another store with the same ids.
//!
//! Every step is valid against the model, so on a healthy store every step
//! succeeds; a failing step (an injected fault) leaves the model unchanged,
//! matching the store's all-or-nothing promise.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use graph_core::codec::meta;
use graph_core::{
    ColumnFamily, EdgeId, KeyRange, NodeId, Properties, PropertyValue, ReadView, Result,
    ScanDirection, StorageBackend, Timestamp, WriteBatch,
};
use graph_storage::{Clock, GraphStore};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storage_memory::MemoryBackend;

/// Labels the workload uses; `Person.age`, `City.name` and `Tag.w` may be
/// indexed.
pub const LABELS: [&str; 4] = ["Person", "City", "Tag", "Misc"];
/// Edge types the workload uses.
pub const EDGE_TYPES: [&str; 3] = ["KNOWS", "LIKES", "IN"];
/// The (label, property) pairs the workload indexes and unindexes.
pub const INDEXES: [(&str, &str); 3] = [("Person", "age"), ("City", "name"), ("Tag", "w")];
const PROPS: [&str; 5] = ["age", "name", "w", "note", "score"];

/// One mutation of a step, with the ids the store handed out.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A node was created.
    CreateNode {
        /// Its id.
        id: NodeId,
        /// Its labels.
        labels: Vec<String>,
        /// Its properties.
        properties: Properties,
    },
    /// An edge was created.
    CreateEdge {
        /// Its id.
        id: EdgeId,
        /// Its source.
        src: NodeId,
        /// Its target.
        dst: NodeId,
        /// Its type.
        edge_type: String,
        /// Its properties.
        properties: Properties,
    },
    /// A node property was set.
    SetNodeProperty {
        /// The node.
        id: NodeId,
        /// The key.
        key: String,
        /// The value.
        value: PropertyValue,
    },
    /// A node property was removed.
    RemoveNodeProperty {
        /// The node.
        id: NodeId,
        /// The key.
        key: String,
    },
    /// A label was added.
    AddLabel {
        /// The node.
        id: NodeId,
        /// The label.
        label: String,
    },
    /// A label was removed.
    RemoveLabel {
        /// The node.
        id: NodeId,
        /// The label.
        label: String,
    },
    /// A node was deleted (with its edges when `detach`).
    DeleteNode {
        /// The node.
        id: NodeId,
        /// Whether its edges went too.
        detach: bool,
    },
    /// An edge property was set.
    SetEdgeProperty {
        /// The edge.
        id: EdgeId,
        /// The key.
        key: String,
        /// The value.
        value: PropertyValue,
    },
    /// An edge was deleted.
    DeleteEdge {
        /// The edge.
        id: EdgeId,
    },
}

/// What one successful step changed, in a form another store can replay
/// with a [`Replayer`].
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Mutations committed atomically (one for the single-call API,
    /// several for a [`GraphBatch`](graph_storage::GraphBatch)).
    Ops(Vec<Op>),
    /// `create_index(label, property)`.
    CreateIndex(String, String),
    /// `drop_index(label, property)`.
    DropIndex(String, String),
}

/// Replays steps reported by [`Workload::step`] on another store that
/// started empty and is written only through this replayer, as one commit
/// each with the same ids.
///
/// The other store may have skipped ids (a reservation whose lease write
/// failed is never handed out again); the replayer knows which id its store
/// hands out next and reserves and drops ids until the reported ones come
/// up.
#[derive(Debug, Default)]
pub struct Replayer {
    next_node: u64,
    next_edge: u64,
}

impl Replayer {
    /// A replayer for a new, empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `applied` to `store`.
    ///
    /// # Errors
    /// Whatever the store returns; invalid argument when an id cannot be
    /// matched.
    pub fn replay<B: StorageBackend>(
        &mut self,
        store: &GraphStore<B>,
        applied: &Applied,
    ) -> Result<()> {
        let ops = match applied {
            Applied::Ops(ops) => ops,
            Applied::CreateIndex(l, p) => return store.create_index(l, p),
            Applied::DropIndex(l, p) => return store.drop_index(l, p),
        };
        let first_node = ops.iter().find_map(|o| match o {
            Op::CreateNode { id, .. } => Some(id.0),
            _ => None,
        });
        let first_edge = ops.iter().find_map(|o| match o {
            Op::CreateEdge { id, .. } => Some(id.0),
            _ => None,
        });
        let mismatch = |what: &str, want: u64, got: u64| {
            graph_core::Error::invalid(format!("replay: {what} id {got} instead of {want}"))
        };
        {
            let mut skip = store.batch();
            while first_node.is_some_and(|n| self.next_node < n) {
                skip.create_node(&[], Properties::new())?;
                self.next_node += 1;
            }
            while first_edge.is_some_and(|e| self.next_edge < e) {
                skip.create_edge(NodeId(0), NodeId(0), "skip", Properties::new())?;
                self.next_edge += 1;
            }
        }
        let mut b = store.batch();
        for op in ops {
            match op {
                Op::CreateNode {
                    id,
                    labels,
                    properties,
                } => {
                    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                    let got = b.create_node(&refs, properties.clone())?;
                    self.next_node = got.0 + 1;
                    if got != *id {
                        return Err(mismatch("node", id.0, got.0));
                    }
                }
                Op::CreateEdge {
                    id,
                    src,
                    dst,
                    edge_type,
                    properties,
                } => {
                    let got = b.create_edge(*src, *dst, edge_type, properties.clone())?;
                    self.next_edge = got.0 + 1;
                    if got != *id {
                        return Err(mismatch("edge", id.0, got.0));
                    }
                }
                Op::SetNodeProperty { id, key, value } => {
                    b.set_node_property(*id, key, value.clone());
                }
                Op::RemoveNodeProperty { id, key } => b.remove_node_property(*id, key),
                Op::AddLabel { id, label } => b.add_label(*id, label),
                Op::RemoveLabel { id, label } => b.remove_label(*id, label),
                Op::DeleteNode { id, detach } => b.delete_node(*id, *detach),
                Op::SetEdgeProperty { id, key, value } => {
                    b.set_edge_property(*id, key, value.clone());
                }
                Op::DeleteEdge { id } => b.delete_edge(*id),
            }
        }
        b.commit()
    }
}

/// The workload's view of the graph: what exists after the last
/// successful step.
#[derive(Debug, Clone, Default)]
struct Model {
    nodes: Vec<NodeId>,
    /// (edge, src, dst)
    edges: Vec<(EdgeId, NodeId, NodeId)>,
    indexes: BTreeSet<(String, String)>,
}

impl Model {
    fn remove_node(&mut self, id: NodeId) {
        self.nodes.retain(|n| *n != id);
        self.edges.retain(|(_, s, d)| *s != id && *d != id);
    }

    fn remove_edge(&mut self, id: EdgeId) {
        self.edges.retain(|(e, _, _)| *e != id);
    }

    fn degree(&self, id: NodeId) -> usize {
        self.edges
            .iter()
            .filter(|(_, s, d)| *s == id || *d == id)
            .count()
    }
}

/// A deterministic stream of graph mutations (see the module docs).
#[derive(Debug)]
pub struct Workload {
    rng: StdRng,
    model: Model,
    fresh_labels: u32,
    bulk: bool,
}

impl Workload {
    /// A stream determined by `seed`, starting from an empty graph.
    pub fn new(seed: u64) -> Self {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            model: Model::default(),
            fresh_labels: 0,
            bulk: true,
        }
    }

    /// The same stream with ordinary batches in place of the large ones,
    /// for tests whose cost grows with the size of the graph.
    pub fn without_bulk(mut self) -> Self {
        self.bulk = false;
        self
    }

    /// How many nodes the model holds.
    pub fn node_count(&self) -> usize {
        self.model.nodes.len()
    }

    fn value(&mut self, property: &str) -> PropertyValue {
        let r = &mut self.rng;
        match (property, r.gen_range(0..10)) {
            (_, 0) => PropertyValue::Null,
            ("age", _) => PropertyValue::Int(r.gen_range(0..90)),
            ("name", _) => PropertyValue::String(format!("n{}", r.gen_range(0..40)).into()),
            ("w", 1) => PropertyValue::Float(f64::from(r.gen_range(-50i32..50)) / 4.0),
            ("w", _) => PropertyValue::Bool(r.gen_bool(0.5)),
            (_, 1) => PropertyValue::List(vec![
                PropertyValue::Int(r.gen_range(0..5)),
                PropertyValue::String("x\0y".into()),
            ]),
            (_, 2) => PropertyValue::Bytes(vec![0, 255, r.gen_range(0..=255)]),
            _ => PropertyValue::String("s".repeat(r.gen_range(1..60)).into()),
        }
    }

    fn properties(&mut self) -> Properties {
        let n = self.rng.gen_range(0..4);
        let mut p = Properties::new();
        for _ in 0..n {
            let key = PROPS[self.rng.gen_range(0..PROPS.len())];
            let v = self.value(key);
            p.insert(key.to_owned(), v);
        }
        p
    }

    fn labels(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if self.rng.gen_range(0..40) == 0 {
            // A label never seen: exercises symbol interning under crashes.
            self.fresh_labels += 1;
            out.push(format!("Fresh{}", self.fresh_labels));
        }
        for _ in 0..self.rng.gen_range(0..3) {
            out.push(LABELS[self.rng.gen_range(0..LABELS.len())].to_owned());
        }
        out
    }

    fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[rng.gen_range(0..items.len())])
        }
    }

    /// Decides the next step, runs it on `store` and, on success, updates
    /// the model and reports what was applied.
    ///
    /// # Errors
    /// Whatever the store returns; the model is then unchanged.
    pub fn step<B: StorageBackend>(&mut self, store: &GraphStore<B>) -> Result<Applied> {
        let roll = self.rng.gen_range(0..100);
        let node = Self::pick(&mut self.rng, &self.model.nodes);
        let edge = Self::pick(&mut self.rng, &self.model.edges);
        match (roll, node, edge) {
            (0..=1, _, _) => self.index_step(store),
            (2..=3, _, _) if self.bulk => self.bulk_step(store),
            (2..=31, _, _) => self.batch_step(store),
            (32..=45, _, _) | (_, None, _) => {
                let labels = self.labels();
                let props = self.properties();
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                let id = store.create_node(&refs, props.clone())?;
                self.model.nodes.push(id);
                Ok(Applied::Ops(vec![Op::CreateNode {
                    id,
                    labels,
                    properties: props,
                }]))
            }
            (46..=57, Some(src), _) => {
                let dst = Self::pick(&mut self.rng, &self.model.nodes).unwrap_or(src);
                let ty = EDGE_TYPES[self.rng.gen_range(0..EDGE_TYPES.len())];
                let props = self.properties();
                let id = store.create_edge(src, dst, ty, props.clone())?;
                self.model.edges.push((id, src, dst));
                Ok(Applied::Ops(vec![Op::CreateEdge {
                    id,
                    src,
                    dst,
                    edge_type: ty.to_owned(),
                    properties: props,
                }]))
            }
            (58..=69, Some(id), _) => {
                let key = PROPS[self.rng.gen_range(0..PROPS.len())];
                let value = self.value(key);
                store.set_node_property(id, key, value.clone())?;
                Ok(Applied::Ops(vec![Op::SetNodeProperty {
                    id,
                    key: key.to_owned(),
                    value,
                }]))
            }
            (70..=73, Some(id), _) => {
                let key = PROPS[self.rng.gen_range(0..PROPS.len())];
                store.remove_node_property(id, key)?;
                Ok(Applied::Ops(vec![Op::RemoveNodeProperty {
                    id,
                    key: key.to_owned(),
                }]))
            }
            (74..=78, Some(id), _) => {
                let label = LABELS[self.rng.gen_range(0..LABELS.len())];
                let add = self.rng.gen_bool(0.6);
                let m = if add {
                    store.add_label(id, label)?;
                    Op::AddLabel {
                        id,
                        label: label.to_owned(),
                    }
                } else {
                    store.remove_label(id, label)?;
                    Op::RemoveLabel {
                        id,
                        label: label.to_owned(),
                    }
                };
                Ok(Applied::Ops(vec![m]))
            }
            (79..=84, _, Some((id, _, _))) => {
                let key = PROPS[self.rng.gen_range(0..PROPS.len())];
                let value = self.value(key);
                store.set_edge_property(id, key, value.clone())?;
                Ok(Applied::Ops(vec![Op::SetEdgeProperty {
                    id,
                    key: key.to_owned(),
                    value,
                }]))
            }
            (85..=91, _, Some((id, _, _))) => {
                store.delete_edge(id)?;
                self.model.remove_edge(id);
                Ok(Applied::Ops(vec![Op::DeleteEdge { id }]))
            }
            (_, Some(id), _) => {
                let detach = self.model.degree(id) > 0;
                if detach {
                    store.detach_delete_node(id)?;
                } else {
                    store.delete_node(id)?;
                }
                self.model.remove_node(id);
                Ok(Applied::Ops(vec![Op::DeleteNode { id, detach }]))
            }
        }
    }

    fn index_step<B: StorageBackend>(&mut self, store: &GraphStore<B>) -> Result<Applied> {
        let (label, property) = INDEXES[self.rng.gen_range(0..INDEXES.len())];
        let key = (label.to_owned(), property.to_owned());
        if self.model.indexes.contains(&key) {
            store.drop_index(label, property)?;
            self.model.indexes.remove(&key);
            Ok(Applied::DropIndex(key.0, key.1))
        } else {
            store.create_index(label, property)?;
            self.model.indexes.insert(key.clone());
            Ok(Applied::CreateIndex(key.0, key.1))
        }
    }

    /// A large batch, as ingestion writes: 50 to 300 new nodes, edges
    /// among them and a few to existing nodes. Its WAL record is tens of
    /// kilobytes, so kills and power cuts can land inside it.
    fn bulk_step<B: StorageBackend>(&mut self, store: &GraphStore<B>) -> Result<Applied> {
        let mut batch = store.batch();
        let mut applied = Vec::new();
        let mut next = self.model.clone();
        let mut new_nodes = Vec::new();
        for _ in 0..self.rng.gen_range(50..=300) {
            let labels = self.labels();
            let props = self.properties();
            let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            let id = batch.create_node(&refs, props.clone())?;
            new_nodes.push(id);
            applied.push(Op::CreateNode {
                id,
                labels,
                properties: props,
            });
        }
        let old = Self::pick(&mut self.rng, &next.nodes);
        for i in 0..new_nodes.len() {
            let src = new_nodes[i];
            let dst = match (i % 50, old) {
                (0, Some(o)) => o,
                _ => new_nodes[self.rng.gen_range(0..new_nodes.len())],
            };
            let ty = EDGE_TYPES[self.rng.gen_range(0..EDGE_TYPES.len())];
            let id = batch.create_edge(src, dst, ty, Properties::new())?;
            next.edges.push((id, src, dst));
            applied.push(Op::CreateEdge {
                id,
                src,
                dst,
                edge_type: ty.to_owned(),
                properties: Properties::new(),
            });
        }
        batch.commit()?;
        next.nodes.extend(new_nodes);
        self.model = next;
        Ok(Applied::Ops(applied))
    }

    fn batch_step<B: StorageBackend>(&mut self, store: &GraphStore<B>) -> Result<Applied> {
        let mut next = self.model.clone();
        let mut batch = store.batch();
        let mut applied = Vec::new();
        let n = self.rng.gen_range(2..=10);
        for _ in 0..n {
            let node = Self::pick(&mut self.rng, &next.nodes);
            let edge = Self::pick(&mut self.rng, &next.edges);
            match (self.rng.gen_range(0..10), node, edge) {
                (0..=2, _, _) | (_, None, _) => {
                    let labels = self.labels();
                    let props = self.properties();
                    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                    let id = batch.create_node(&refs, props.clone())?;
                    next.nodes.push(id);
                    applied.push(Op::CreateNode {
                        id,
                        labels,
                        properties: props,
                    });
                }
                (3..=5, Some(src), _) => {
                    let dst = Self::pick(&mut self.rng, &next.nodes).unwrap_or(src);
                    let ty = EDGE_TYPES[self.rng.gen_range(0..EDGE_TYPES.len())];
                    let props = self.properties();
                    let id = batch.create_edge(src, dst, ty, props.clone())?;
                    next.edges.push((id, src, dst));
                    applied.push(Op::CreateEdge {
                        id,
                        src,
                        dst,
                        edge_type: ty.to_owned(),
                        properties: props,
                    });
                }
                (6, Some(id), _) => {
                    let key = PROPS[self.rng.gen_range(0..PROPS.len())];
                    let value = self.value(key);
                    batch.set_node_property(id, key, value.clone());
                    applied.push(Op::SetNodeProperty {
                        id,
                        key: key.to_owned(),
                        value,
                    });
                }
                (7, _, Some((id, _, _))) => {
                    let key = PROPS[self.rng.gen_range(0..PROPS.len())];
                    let value = self.value(key);
                    batch.set_edge_property(id, key, value.clone());
                    applied.push(Op::SetEdgeProperty {
                        id,
                        key: key.to_owned(),
                        value,
                    });
                }
                (8, _, Some((id, _, _))) => {
                    batch.delete_edge(id);
                    next.remove_edge(id);
                    applied.push(Op::DeleteEdge { id });
                }
                (_, Some(id), _) => {
                    let label = LABELS[self.rng.gen_range(0..LABELS.len())];
                    match self.rng.gen_range(0..6) {
                        0 | 1 => {
                            let detach = next.degree(id) > 0;
                            batch.delete_node(id, detach);
                            next.remove_node(id);
                            applied.push(Op::DeleteNode { id, detach });
                        }
                        2 => {
                            batch.remove_label(id, label);
                            applied.push(Op::RemoveLabel {
                                id,
                                label: label.to_owned(),
                            });
                        }
                        3 => {
                            let key = PROPS[self.rng.gen_range(0..PROPS.len())];
                            batch.remove_node_property(id, key);
                            applied.push(Op::RemoveNodeProperty {
                                id,
                                key: key.to_owned(),
                            });
                        }
                        _ => {
                            batch.add_label(id, label);
                            applied.push(Op::AddLabel {
                                id,
                                label: label.to_owned(),
                            });
                        }
                    }
                }
            }
        }
        batch.commit()?;
        self.model = next;
        Ok(Applied::Ops(applied))
    }
}

/// Every pair of every column family, in order: the complete byte-level
/// state of a store.
#[derive(Clone, PartialEq, Eq)]
pub struct Dump {
    /// (family, key, value), ordered by family then key.
    pub entries: Vec<(ColumnFamily, Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Dump of {} entries:", self.entries.len())?;
        for (cf, k, v) in &self.entries {
            writeln!(f, "  {cf} {k:02x?} = {v:02x?}")?;
        }
        Ok(())
    }
}

/// Whether `key` in `cf` is an id lease (see `graph_storage::ID_BLOCK`): a
/// lease is written by its own synced write when an id is first reserved,
/// before the commit that uses it, so a crash can persist it alone.
pub fn is_lease_key(cf: ColumnFamily, key: &[u8]) -> bool {
    cf == ColumnFamily::Default && (key == meta::NEXT_NODE_ID || key == meta::NEXT_EDGE_ID)
}

impl Dump {
    /// Reads every pair of `view` (a full scan of each family: on RocksDB
    /// every block read is checksum-verified).
    ///
    /// # Errors
    /// The engine's read error.
    pub fn of(view: &impl ReadView) -> Result<Dump> {
        let mut entries = Vec::new();
        for cf in ColumnFamily::ALL {
            view.scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
                entries.push((cf, k.to_vec(), v.to_vec()));
                Ok(ControlFlow::Continue(()))
            })?;
        }
        Ok(Dump { entries })
    }

    /// The dump without the id leases (see [`is_lease_key`]).
    pub fn without_leases(&self) -> Dump {
        Dump {
            entries: self
                .entries
                .iter()
                .filter(|(cf, k, _)| !is_lease_key(*cf, k))
                .cloned()
                .collect(),
        }
    }

    /// The graph the dump holds, as sorted lines independent of how labels
    /// and edge types were numbered: every record's bytes, every index and
    /// adjacency entry with symbol ids replaced by their names, the counts,
    /// the index catalog. Left out: the symbol dictionary itself (its
    /// numbering; a dictionary entry may also be made durable ahead of the
    /// commit that first uses it) and the id leases (see [`is_lease_key`]);
    /// `verify()` checks both.
    pub fn canonical(&self) -> Vec<String> {
        use graph_core::codec::{self, AdjacencyDir, AdjacencyKey, SymbolId, index_tag};
        let names: std::collections::HashMap<SymbolId, String> = self
            .entries
            .iter()
            .filter(|(cf, _, _)| *cf == ColumnFamily::Default)
            .filter_map(|(_, k, v)| {
                let id = meta::decode_symbol_by_id_key(k).ok()?;
                Some((id, String::from_utf8_lossy(v).into_owned()))
            })
            .collect();
        let name = |id: SymbolId| {
            names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("#{}", id.0))
        };
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut out = Vec::with_capacity(self.entries.len());
        for (cf, k, v) in &self.entries {
            let line = match cf {
                ColumnFamily::Default => match k.first() {
                    Some(&meta::TAG_SYMBOL_BY_ID) | Some(&meta::TAG_SYMBOL_BY_NAME) => continue,
                    _ if is_lease_key(*cf, k) || k.as_slice() == meta::NEXT_SYMBOL_ID => continue,
                    _ => format!("meta {} = {}", hex(k), hex(v)),
                },
                ColumnFamily::Nodes => format!("node {} = {}", hex(k), hex(v)),
                ColumnFamily::Edges => format!("edge {} = {}", hex(k), hex(v)),
                ColumnFamily::Indices => match (k.first().copied(), v.is_empty()) {
                    (Some(index_tag::OUT | index_tag::IN), true) => match AdjacencyKey::decode(k) {
                        Ok(a) => format!(
                            "adj {} {} {} {} {}",
                            if a.dir == AdjacencyDir::Out {
                                "out"
                            } else {
                                "in"
                            },
                            a.node.0,
                            name(a.edge_type),
                            a.other.0,
                            a.edge.0
                        ),
                        Err(_) => format!("raw indices {} = {}", hex(k), hex(v)),
                    },
                    (Some(index_tag::LABEL), true) => match codec::decode_label_key(k) {
                        Ok((l, n)) => format!("label {} {}", name(l), n.0),
                        Err(_) => format!("raw indices {} = {}", hex(k), hex(v)),
                    },
                    _ => format!("index {} = {}", hex(k), hex(v)),
                },
            };
            out.push(line);
        }
        out.sort();
        out
    }

    /// How many lines [`canonical`](Self::canonical) has, without making
    /// them.
    pub fn canonical_len(&self) -> usize {
        self.entries
            .iter()
            .filter(|(cf, k, _)| {
                *cf != ColumnFamily::Default
                    || !(is_lease_key(*cf, k)
                        || k.as_slice() == meta::NEXT_SYMBOL_ID
                        || matches!(
                            k.first(),
                            Some(&meta::TAG_SYMBOL_BY_ID | &meta::TAG_SYMBOL_BY_NAME)
                        ))
            })
            .count()
    }

    /// A fingerprint of [`canonical`](Self::canonical).
    pub fn canonical_fingerprint(&self) -> u64 {
        fingerprint(self.canonical().iter().map(String::as_bytes))
    }

    /// The value of a `default` key, if present.
    pub fn meta(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(cf, k, _)| *cf == ColumnFamily::Default && k == key)
            .map(|(_, _, v)| v.as_slice())
    }

    /// A 64-bit FNV-1a fingerprint of the whole dump, stable across
    /// processes and builds.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(
            self.entries
                .iter()
                .flat_map(|(cf, k, v)| [cf.name().as_bytes(), k.as_slice(), v.as_slice()]),
        )
    }

    /// A new memory backend holding exactly these pairs.
    ///
    /// # Errors
    /// Never in practice (the memory backend cannot fail).
    pub fn to_memory(&self) -> Result<MemoryBackend> {
        let b = MemoryBackend::new();
        let mut batch = WriteBatch::new();
        for (cf, k, v) in &self.entries {
            batch.put(*cf, k, v);
        }
        b.write(&batch, graph_core::Durability::Strict)?;
        Ok(b)
    }
}

/// A fingerprint of every pair of `view` except the id leases (see
/// [`is_lease_key`]), computed while scanning, without copying the data:
/// a cheap first test of equality before comparing
/// [`Dump::canonical`]s.
///
/// # Errors
/// The engine's read error.
pub fn data_fingerprint(view: &impl ReadView) -> Result<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for cf in ColumnFamily::ALL {
        view.scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
            if !is_lease_key(cf, k) {
                for part in [&[cf.index() as u8][..], k, v] {
                    for b in (part.len() as u64).to_le_bytes().iter().chain(part) {
                        h ^= u64::from(*b);
                        h = h.wrapping_mul(0x0100_0000_01b3);
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        })?;
    }
    Ok(h)
}

/// A fingerprint of the graph `view` holds, equal for two stores exactly
/// when their [`Dump::canonical`] lines are equal (barring a 64-bit hash
/// collision): symbol ids in index keys are replaced by their names, the
/// dictionary and the id leases are left out. Computed while scanning, with
/// an order-independent sum of per-entry hashes, so it is cheap enough to
/// run after every step.
///
/// # Errors
/// The engine's read error.
pub fn canonical_fingerprint_of(view: &impl ReadView) -> Result<u64> {
    use graph_core::codec::{AdjacencyKey, SymbolId, index_tag};
    use std::collections::HashMap;
    let mut names: HashMap<SymbolId, Vec<u8>> = HashMap::new();
    view.scan_prefix(
        ColumnFamily::Default,
        &[meta::TAG_SYMBOL_BY_ID],
        ScanDirection::Forward,
        &mut |k, v| {
            if let Ok(id) = meta::decode_symbol_by_id_key(k) {
                names.insert(id, v.to_vec());
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    let unknown = |id: SymbolId| format!("#{}", id.0).into_bytes();
    let name = |id: SymbolId| -> std::borrow::Cow<'_, [u8]> {
        match names.get(&id) {
            Some(n) => std::borrow::Cow::Borrowed(n.as_slice()),
            None => std::borrow::Cow::Owned(unknown(id)),
        }
    };
    let mut sum: u64 = 0;
    for cf in ColumnFamily::ALL {
        view.scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
            let skip = cf == ColumnFamily::Default
                && (is_lease_key(cf, k)
                    || k == meta::NEXT_SYMBOL_ID
                    || matches!(
                        k.first(),
                        Some(&meta::TAG_SYMBOL_BY_ID | &meta::TAG_SYMBOL_BY_NAME)
                    ));
            if skip {
                return Ok(ControlFlow::Continue(()));
            }
            let cfb = [cf.index() as u8];
            let h = match (cf, k.first().copied(), v.is_empty()) {
                (ColumnFamily::Indices, Some(index_tag::OUT | index_tag::IN), true) => {
                    match AdjacencyKey::decode(k) {
                        Ok(a) => {
                            let ty = name(a.edge_type);
                            fingerprint([&cfb[..], &k[..9], &ty, &k[13..]].into_iter())
                        }
                        Err(_) => fingerprint([&cfb[..], k, v].into_iter()),
                    }
                }
                (ColumnFamily::Indices, Some(index_tag::LABEL), true) => {
                    match graph_core::codec::decode_label_key(k) {
                        Ok((l, _)) => {
                            let label = name(l);
                            fingerprint([&cfb[..], &k[..1], &label, &k[5..]].into_iter())
                        }
                        Err(_) => fingerprint([&cfb[..], k, v].into_iter()),
                    }
                }
                _ => fingerprint([&cfb[..], k, v].into_iter()),
            };
            sum = sum.wrapping_add(h);
            Ok(ControlFlow::Continue(()))
        })?;
    }
    Ok(sum)
}

/// FNV-1a over length-prefixed byte strings.
fn fingerprint<'a>(parts: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in (part.len() as u64).to_le_bytes().iter().chain(part) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Lines in one sorted list and not in the other (at most 20 of each), for
/// failure messages.
pub fn line_diff(got: &[String], want: &[String]) -> String {
    let (g, w): (BTreeSet<&String>, BTreeSet<&String>) =
        (got.iter().collect(), want.iter().collect());
    let mut out = String::new();
    for l in g.difference(&w).take(20) {
        out += &format!("  + {l}\n");
    }
    for l in w.difference(&g).take(20) {
        out += &format!("  - {l}\n");
    }
    out
}

/// A clock the test sets: every reading returns the value last set, so
/// two stores given the same step times hold identical records however
/// often each read the clock.
#[derive(Debug, Default, Clone)]
pub struct StepClock(Arc<AtomicI64>);

impl StepClock {
    /// A clock reading `t` until set otherwise.
    pub fn new(t: i64) -> Self {
        StepClock(Arc::new(AtomicI64::new(t)))
    }

    /// Makes every later reading return `t`.
    pub fn set(&self, t: i64) {
        self.0.store(t, Ordering::Relaxed);
    }
}

impl Clock for StepClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Relaxed))
    }
}

/// Reads a positive integer from the environment variable `name`, or
/// `default` when it is unset or not a number.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The base seed of a randomized test: `GRAPH_STORAGE_SEED` if set,
/// otherwise derived from the time; printed so a failure can be replayed.
pub fn base_seed(test: &str) -> u64 {
    let seed = std::env::var("GRAPH_STORAGE_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!("{test}: seed {seed} (set GRAPH_STORAGE_SEED={seed} to replay)");
    seed
}
