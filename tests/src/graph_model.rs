//! The model of the graph API: plain maps, no indexes. The driver applies
//! the same operations to the model and to graph stores on any backends,
//! and compares every observation (error kinds included); stores are also
//! compared with each other exactly (time stamps and result order too).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use graph_core::codec::memcmp;
use graph_core::{
    CompactString, Direction, EdgeId, ErrorKind, NodeId, Properties, PropertyValue, StorageBackend,
};
use graph_storage::GraphStore;
use proptest::prelude::*;

use crate::Harness;

/// One operation of a graph sequence. Ids are small integers so that
/// operations often hit existing, deleted and never-created ids.
#[derive(Debug, Clone)]
pub enum GOp {
    /// Create a node.
    CreateNode(Vec<String>, Vec<(String, PropertyValue)>),
    /// Create an edge.
    CreateEdge(u64, u64, String, Vec<(String, PropertyValue)>),
    /// Set a node property.
    SetNodeProp(u64, String, PropertyValue),
    /// Remove a node property.
    RemoveNodeProp(u64, String),
    /// Add a label.
    AddLabel(u64, String),
    /// Remove a label.
    RemoveLabel(u64, String),
    /// Delete a node (detach or not).
    DeleteNode(u64, bool),
    /// Set an edge property.
    SetEdgeProp(u64, String, PropertyValue),
    /// Delete an edge.
    DeleteEdge(u64),
    /// Several mutations, atomically.
    Batch(Vec<GOp>),
    /// Declare an index.
    CreateIndex(String, String),
    /// Drop an index.
    DropIndex(String, String),
    /// Read a node.
    GetNode(u64),
    /// Read an edge.
    GetEdge(u64),
    /// List a node's edges.
    Edges(u64, Direction, Option<String>),
    /// A node's degree.
    Degree(u64, Direction, Option<String>),
    /// Nodes with a label.
    Label(String),
    /// Index equality lookup.
    Find(String, String, PropertyValue),
    /// Index range lookup.
    FindRange(String, String, Bound<PropertyValue>, Bound<PropertyValue>),
    /// Node and edge counts.
    Counts,
    /// Every edge, by the whole-graph walk (`for_each_edge`).
    AllEdges,
    /// The degree of every node by id (`degrees`).
    Degrees(Direction),
    /// Close and reopen the store.
    Reopen,
    /// Run the integrity check (must be clean).
    Verify,
    /// A transaction: its steps (mutations and queries, each observed
    /// inside it, seeing its own writes), then a commit (`true`) or an
    /// abort.
    Txn(Vec<GOp>, bool),
    /// A transaction that reads node `x`, runs its steps, then meets a
    /// plain write of property `w` of `x` (value `v`) before it commits:
    /// it must conflict when that write succeeded and it has mutations.
    TxnRaced(Vec<GOp>, u64, i64),
}

/// An observation, comparable between the model and a store.
#[derive(Debug, Clone, PartialEq)]
pub enum GObs {
    /// A mutation succeeded (with the id it created, if any).
    Done(Option<u64>),
    /// A node: labels and properties.
    Node(Option<(Vec<CompactString>, Properties)>),
    /// An edge: src, dst, type, properties.
    Edge(Option<(u64, u64, String, Properties)>),
    /// Edges as (id, src, dst, type), sorted.
    EdgeList(Vec<(u64, u64, u64, String)>),
    /// A number.
    Count(u64),
    /// Node ids, in the order returned.
    Ids(Vec<u64>),
    /// Two numbers.
    Pair(u64, u64),
    /// An error, by kind.
    Err(ErrorKind),
    /// A transaction's steps, then how its commit ended (`None`: it
    /// committed or was aborted as asked).
    Steps(Vec<GObs>, Option<ErrorKind>),
}

/// Whether `op` is a query (a read the model answers without change).
fn is_query(op: &GOp) -> bool {
    matches!(
        op,
        GOp::GetNode(_)
            | GOp::GetEdge(_)
            | GOp::Edges(..)
            | GOp::Degree(..)
            | GOp::Label(_)
            | GOp::Find(..)
            | GOp::FindRange(..)
            | GOp::Counts
            | GOp::AllEdges
            | GOp::Degrees(_)
    )
}

#[derive(Debug, Clone)]
struct MNode {
    labels: BTreeSet<String>,
    props: Properties,
}

#[derive(Debug, Clone)]
struct MEdge {
    src: u64,
    dst: u64,
    ty: String,
    props: Properties,
}

/// The model graph.
#[derive(Debug, Clone, Default)]
pub struct GraphModel {
    nodes: BTreeMap<u64, MNode>,
    edges: BTreeMap<u64, MEdge>,
    next_node: u64,
    next_edge: u64,
    indexes: BTreeSet<(String, String)>,
}

fn enc(v: &PropertyValue) -> Vec<u8> {
    let mut out = Vec::new();
    memcmp::encode_value(v, &mut out);
    out
}

fn check_key(k: &str) -> Result<(), ErrorKind> {
    if k.is_empty() {
        Err(ErrorKind::InvalidArgument)
    } else {
        Ok(())
    }
}

/// A mutation reduced to what the model needs, with ids resolved.
#[derive(Debug, Clone)]
enum MOp {
    CreateNode(u64, Vec<String>, Properties),
    CreateEdge(u64, u64, u64, String, Properties),
    Other(GOp),
}

impl GraphModel {
    /// Reserves ids for the creations in `op` (as the store does when a
    /// mutation or batch is built) and returns the resolved mutations.
    fn resolve(&mut self, op: &GOp) -> Vec<MOp> {
        match op {
            GOp::CreateNode(labels, props) => {
                self.next_node += 1;
                vec![MOp::CreateNode(
                    self.next_node - 1,
                    labels.clone(),
                    props.iter().cloned().collect(),
                )]
            }
            GOp::CreateEdge(s, d, ty, props) => {
                self.next_edge += 1;
                vec![MOp::CreateEdge(
                    self.next_edge - 1,
                    *s,
                    *d,
                    ty.clone(),
                    props.iter().cloned().collect(),
                )]
            }
            GOp::Batch(ops) => ops.iter().flat_map(|o| self.resolve(o)).collect(),
            other => vec![MOp::Other(other.clone())],
        }
    }

    fn node_mut(&mut self, id: u64) -> Result<&mut MNode, ErrorKind> {
        self.nodes.get_mut(&id).ok_or(ErrorKind::NodeNotFound)
    }

    fn incident(&self, id: u64) -> Vec<u64> {
        self.edges
            .iter()
            .filter(|(_, e)| e.src == id || e.dst == id)
            .map(|(k, _)| *k)
            .collect()
    }

    fn apply_one(&mut self, op: MOp) -> Result<(), ErrorKind> {
        match op {
            MOp::CreateNode(id, labels, props) => {
                for l in &labels {
                    check_key(l)?;
                }
                for k in props.keys() {
                    check_key(k)?;
                }
                self.nodes.insert(
                    id,
                    MNode {
                        labels: labels.into_iter().collect(),
                        props,
                    },
                );
            }
            MOp::CreateEdge(id, src, dst, ty, props) => {
                check_key(&ty)?;
                for k in props.keys() {
                    check_key(k)?;
                }
                for end in [src, dst] {
                    if !self.nodes.contains_key(&end) {
                        return Err(ErrorKind::NodeNotFound);
                    }
                }
                self.edges.insert(
                    id,
                    MEdge {
                        src,
                        dst,
                        ty,
                        props,
                    },
                );
            }
            MOp::Other(op) => match op {
                GOp::SetNodeProp(id, k, v) => {
                    check_key(&k)?;
                    self.node_mut(id)?.props.insert(k, v);
                }
                GOp::RemoveNodeProp(id, k) => {
                    self.node_mut(id)?.props.remove(&k);
                }
                GOp::AddLabel(id, l) => {
                    check_key(&l)?;
                    self.node_mut(id)?.labels.insert(l);
                }
                GOp::RemoveLabel(id, l) => {
                    self.node_mut(id)?.labels.remove(&l);
                }
                GOp::DeleteNode(id, detach) => {
                    self.node_mut(id)?;
                    let inc = self.incident(id);
                    if !inc.is_empty() && !detach {
                        return Err(ErrorKind::Constraint);
                    }
                    for e in inc {
                        self.edges.remove(&e);
                    }
                    self.nodes.remove(&id);
                }
                GOp::SetEdgeProp(id, k, v) => {
                    check_key(&k)?;
                    self.edges
                        .get_mut(&id)
                        .ok_or(ErrorKind::EdgeNotFound)?
                        .props
                        .insert(k, v);
                }
                GOp::DeleteEdge(id) => {
                    self.edges.remove(&id).ok_or(ErrorKind::EdgeNotFound)?;
                }
                other => panic!("not a mutation: {other:?}"),
            },
        }
        Ok(())
    }

    fn labelled(&self, label: &str) -> impl Iterator<Item = (&u64, &MNode)> {
        self.nodes
            .iter()
            .filter(move |(_, n)| n.labels.contains(label))
    }

    fn find(
        &self,
        label: &str,
        prop: &str,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u64>, ErrorKind> {
        if !self.indexes.contains(&(label.to_owned(), prop.to_owned())) {
            return Err(ErrorKind::IndexNotFound);
        }
        let mut hits: Vec<(Vec<u8>, u64)> = self
            .labelled(label)
            .filter_map(|(id, n)| n.props.get(prop).map(|v| (enc(v), *id)))
            .filter(|(e, _)| keep(e))
            .collect();
        hits.sort();
        Ok(hits.into_iter().map(|(_, id)| id).collect())
    }

    fn edge_list(
        &self,
        node: u64,
        dir: Direction,
        ty: &Option<String>,
    ) -> Vec<(u64, u64, u64, String)> {
        let mut out = Vec::new();
        for (id, e) in &self.edges {
            if ty.as_ref().is_some_and(|t| *t != e.ty) {
                continue;
            }
            let row = (*id, e.src, e.dst, e.ty.clone());
            if e.src == node && dir != Direction::Incoming {
                out.push(row.clone());
            }
            if e.dst == node && dir != Direction::Outgoing {
                out.push(row);
            }
        }
        out.sort();
        out
    }

    /// Runs a transaction's steps on a copy of the model: what each step
    /// observes, the copy after them, and whether a mutation succeeded.
    fn run_txn(&self, steps: &[GOp]) -> (Vec<GObs>, GraphModel, bool) {
        let mut inside = self.clone();
        let mut wrote = false;
        let obs = steps
            .iter()
            .map(|step| {
                let o = inside.apply(step);
                wrote |= !is_query(step) && matches!(o, GObs::Done(_));
                o
            })
            .collect();
        (obs, inside, wrote)
    }

    /// Applies one operation and returns what a store must observe.
    pub fn apply(&mut self, op: &GOp) -> GObs {
        let r: Result<GObs, ErrorKind> = match op {
            GOp::CreateNode(..)
            | GOp::CreateEdge(..)
            | GOp::Batch(_)
            | GOp::SetNodeProp(..)
            | GOp::RemoveNodeProp(..)
            | GOp::AddLabel(..)
            | GOp::RemoveLabel(..)
            | GOp::DeleteNode(..)
            | GOp::SetEdgeProp(..)
            | GOp::DeleteEdge(_) => {
                let created = match op {
                    GOp::CreateNode(..) => Some(self.next_node),
                    GOp::CreateEdge(..) => Some(self.next_edge),
                    _ => None,
                };
                let ops = self.resolve(op);
                let mut next = self.clone();
                let r = ops.into_iter().try_for_each(|m| next.apply_one(m));
                if r.is_ok() {
                    *self = next;
                }
                r.map(|()| GObs::Done(created))
            }
            GOp::Txn(steps, commit) => {
                let (obs, inside, _) = self.run_txn(steps);
                if *commit {
                    *self = inside;
                } else {
                    self.next_node = inside.next_node;
                    self.next_edge = inside.next_edge;
                }
                Ok(GObs::Steps(obs, None))
            }
            GOp::TxnRaced(steps, x, v) => {
                let mut all = vec![GOp::GetNode(*x)];
                all.extend(steps.iter().cloned());
                let (obs, inside, wrote) = self.run_txn(&all);
                let race = GOp::SetNodeProp(*x, "w".to_owned(), PropertyValue::Int(*v));
                let raced = matches!(self.apply(&race), GObs::Done(_));
                if !raced {
                    *self = inside;
                    return GObs::Steps(obs, None);
                }
                self.next_node = inside.next_node;
                self.next_edge = inside.next_edge;
                let end = wrote.then_some(ErrorKind::Conflict);
                Ok(GObs::Steps(obs, end))
            }
            GOp::CreateIndex(l, p) => check_key(l).and_then(|()| check_key(p)).and_then(|()| {
                if self.indexes.insert((l.clone(), p.clone())) {
                    Ok(GObs::Done(None))
                } else {
                    Err(ErrorKind::Constraint)
                }
            }),
            GOp::DropIndex(l, p) => {
                if self.indexes.remove(&(l.clone(), p.clone())) {
                    Ok(GObs::Done(None))
                } else {
                    Err(ErrorKind::IndexNotFound)
                }
            }
            GOp::GetNode(id) => Ok(GObs::Node(self.nodes.get(id).map(|n| {
                (
                    n.labels.iter().map(CompactString::from).collect(),
                    n.props.clone(),
                )
            }))),
            GOp::GetEdge(id) => Ok(GObs::Edge(
                self.edges
                    .get(id)
                    .map(|e| (e.src, e.dst, e.ty.clone(), e.props.clone())),
            )),
            GOp::Edges(n, dir, ty) => Ok(GObs::EdgeList(self.edge_list(*n, *dir, ty))),
            GOp::Degree(n, dir, ty) => Ok(GObs::Count(self.edge_list(*n, *dir, ty).len() as u64)),
            GOp::Label(l) => Ok(GObs::Ids(self.labelled(l).map(|(id, _)| *id).collect())),
            GOp::Find(l, p, v) => {
                let want = enc(v);
                self.find(l, p, |e| e == want.as_slice()).map(GObs::Ids)
            }
            GOp::FindRange(l, p, lo, hi) => {
                let (lo, hi) = (lo.as_ref().map(enc), hi.as_ref().map(enc));
                self.find(l, p, |e| {
                    let above = match &lo {
                        Bound::Included(b) => e >= b.as_slice(),
                        Bound::Excluded(b) => e > b.as_slice(),
                        Bound::Unbounded => true,
                    };
                    let below = match &hi {
                        Bound::Included(b) => e <= b.as_slice(),
                        Bound::Excluded(b) => e < b.as_slice(),
                        Bound::Unbounded => true,
                    };
                    above && below
                })
                .map(GObs::Ids)
            }
            GOp::Counts => Ok(GObs::Pair(self.nodes.len() as u64, self.edges.len() as u64)),
            GOp::AllEdges => Ok(GObs::EdgeList(
                self.edges
                    .iter()
                    .map(|(id, e)| (*id, e.src, e.dst, e.ty.clone()))
                    .collect(),
            )),
            GOp::Degrees(dir) => {
                let bound = self.nodes.keys().next_back().map_or(0, |n| n + 1);
                let mut d = vec![0u64; bound as usize];
                for e in self.edges.values() {
                    if *dir != Direction::Incoming {
                        d[e.src as usize] += 1;
                    }
                    if *dir != Direction::Outgoing {
                        d[e.dst as usize] += 1;
                    }
                }
                Ok(GObs::Ids(d))
            }
            GOp::Reopen => {
                // A reopen continues after the persisted id lease.
                self.next_node = self.next_node.next_multiple_of(graph_storage::ID_BLOCK);
                self.next_edge = self.next_edge.next_multiple_of(graph_storage::ID_BLOCK);
                Ok(GObs::Done(None))
            }
            GOp::Verify => Ok(GObs::Done(None)),
        };
        r.unwrap_or_else(GObs::Err)
    }

    /// The ids of live nodes, ascending.
    pub fn node_ids(&self) -> Vec<u64> {
        self.nodes.keys().copied().collect()
    }

    /// The ids of live edges, ascending.
    pub fn edge_ids(&self) -> Vec<u64> {
        self.edges.keys().copied().collect()
    }
}

fn to_mutations<B: StorageBackend>(
    op: &GOp,
    batch: &mut graph_storage::GraphBatch<'_, B>,
) -> graph_core::Result<()> {
    let props = |p: &[(String, PropertyValue)]| -> Properties { p.iter().cloned().collect() };
    match op {
        GOp::CreateNode(labels, p) => {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            batch.create_node(&labels, props(p))?;
        }
        GOp::CreateEdge(s, d, ty, p) => {
            batch.create_edge(NodeId(*s), NodeId(*d), ty, props(p))?;
        }
        GOp::SetNodeProp(id, k, v) => batch.set_node_property(NodeId(*id), k, v.clone()),
        GOp::RemoveNodeProp(id, k) => batch.remove_node_property(NodeId(*id), k),
        GOp::AddLabel(id, l) => batch.add_label(NodeId(*id), l),
        GOp::RemoveLabel(id, l) => batch.remove_label(NodeId(*id), l),
        GOp::DeleteNode(id, detach) => batch.delete_node(NodeId(*id), *detach),
        GOp::SetEdgeProp(id, k, v) => batch.set_edge_property(EdgeId(*id), k, v.clone()),
        GOp::DeleteEdge(id) => batch.delete_edge(EdgeId(*id)),
        GOp::Batch(ops) => {
            for o in ops {
                to_mutations(o, batch)?;
            }
        }
        other => panic!("not a mutation: {other:?}"),
    }
    Ok(())
}

fn done(r: graph_core::Result<()>) -> graph_core::Result<(GObs, String)> {
    r.map(|()| (GObs::Done(None), String::new()))
}

/// Applies `op` to a store. Returns the observation comparable with the
/// model and an exact rendering for comparing stores with each other.
pub fn apply_store<B: StorageBackend + 'static>(store: &GraphStore<B>, op: &GOp) -> (GObs, String) {
    let err = |e: graph_core::Error| (GObs::Err(e.kind()), format!("{:?}", e.kind()));
    let props = |p: &[(String, PropertyValue)]| -> Properties { p.iter().cloned().collect() };
    let r: Result<(GObs, String), graph_core::Error> = (|| match op {
        GOp::CreateNode(labels, p) => {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let id = store.create_node(&labels, props(p))?;
            Ok((GObs::Done(Some(id.0)), format!("{id:?}")))
        }
        GOp::CreateEdge(s, d, ty, p) => {
            let id = store.create_edge(NodeId(*s), NodeId(*d), ty, props(p))?;
            Ok((GObs::Done(Some(id.0)), format!("{id:?}")))
        }
        GOp::CreateIndex(l, p) => store
            .create_index(l, p)
            .map(|()| (GObs::Done(None), String::new())),
        GOp::DropIndex(l, p) => store
            .drop_index(l, p)
            .map(|()| (GObs::Done(None), String::new())),
        GOp::GetNode(id) => {
            let n = store.get_node(NodeId(*id))?;
            let viewed = store.with_node(NodeId(*id), |v| v.to_node())?;
            assert_eq!(viewed, n, "with_node and get_node differ");
            let full = format!("{n:?}");
            Ok((GObs::Node(n.map(|n| (n.labels, n.properties))), full))
        }
        GOp::GetEdge(id) => {
            let e = store.get_edge(EdgeId(*id))?;
            let full = format!("{e:?}");
            Ok((
                GObs::Edge(e.map(|e| (e.src.0, e.dst.0, e.edge_type, e.properties))),
                full,
            ))
        }
        GOp::Edges(n, dir, ty) => {
            let list = store.edges(NodeId(*n), *dir, ty.as_deref())?;
            let full = format!("{list:?}");
            let mut rows: Vec<_> = list
                .into_iter()
                .map(|e| (e.id.0, e.src.0, e.dst.0, e.edge_type.to_string()))
                .collect();
            rows.sort();
            Ok((GObs::EdgeList(rows), full))
        }
        GOp::Degree(n, dir, ty) => {
            let d = store.degree(NodeId(*n), *dir, ty.as_deref())?;
            let neighbors = store.neighbors(NodeId(*n), *dir, ty.as_deref())?;
            assert_eq!(neighbors.len() as u64, d, "neighbors and degree disagree");
            Ok((GObs::Count(d), format!("{neighbors:?}")))
        }
        GOp::Label(l) => {
            let ids: Vec<u64> = store
                .nodes_with_label(l)?
                .into_iter()
                .map(|n| n.0)
                .collect();
            Ok((GObs::Ids(ids.clone()), format!("{ids:?}")))
        }
        GOp::Find(l, p, v) => {
            let ids: Vec<u64> = store
                .find_nodes(l, p, v)?
                .into_iter()
                .map(|n| n.0)
                .collect();
            Ok((GObs::Ids(ids.clone()), format!("{ids:?}")))
        }
        GOp::FindRange(l, p, lo, hi) => {
            let ids: Vec<u64> = store
                .find_nodes_in_range(l, p, lo.as_ref(), hi.as_ref())?
                .into_iter()
                .map(|n| n.0)
                .collect();
            Ok((GObs::Ids(ids.clone()), format!("{ids:?}")))
        }
        GOp::Counts => {
            let (n, e) = (store.node_count()?, store.edge_count()?);
            Ok((GObs::Pair(n, e), String::new()))
        }
        GOp::AllEdges => {
            let reader = store.reader();
            let mut rows = Vec::new();
            reader.for_each_edge(|e| rows.push(e))?;
            let full = format!("{rows:?}");
            let mut folded: Vec<_> = reader
                .fold_edges(Vec::new, |acc, e| acc.push(e))?
                .into_iter()
                .flatten()
                .collect();
            folded.sort_by_key(|e| (e.src, e.edge_type, e.dst, e.id));
            assert_eq!(folded, rows, "fold_edges and for_each_edge differ");
            let mut out = Vec::new();
            for e in rows {
                let ty = reader.edge_type_name(e.edge_type)?;
                out.push((e.id.0, e.src.0, e.dst.0, ty.to_string()));
            }
            out.sort();
            Ok((GObs::EdgeList(out), full))
        }
        GOp::Degrees(dir) => {
            let d = store.reader().degrees(*dir)?;
            Ok((GObs::Ids(d.clone()), format!("{d:?}")))
        }
        GOp::Verify => {
            let report = store.verify()?;
            assert!(report.is_clean(), "verify: {report}");
            Ok((GObs::Done(None), String::new()))
        }
        GOp::Reopen => Ok((GObs::Done(None), String::new())),
        GOp::Txn(steps, commit) => {
            let mut tx = store.begin()?;
            let (obs, full) = txn_steps(&mut tx, steps);
            let end = if *commit {
                tx.commit().err().map(|e| e.kind())
            } else {
                tx.abort();
                None
            };
            Ok((GObs::Steps(obs, end), format!("{full}{end:?}")))
        }
        GOp::TxnRaced(steps, x, v) => {
            let mut tx = store.begin()?;
            let mut all = vec![GOp::GetNode(*x)];
            all.extend(steps.iter().cloned());
            let (obs, full) = txn_steps(&mut tx, &all);
            let _ = store.set_node_property(NodeId(*x), "w", PropertyValue::Int(*v));
            let end = tx.commit().err().map(|e| e.kind());
            Ok((GObs::Steps(obs, end), format!("{full}{end:?}")))
        }
        GOp::SetNodeProp(id, k, v) => done(store.set_node_property(NodeId(*id), k, v.clone())),
        GOp::RemoveNodeProp(id, k) => done(store.remove_node_property(NodeId(*id), k)),
        GOp::AddLabel(id, l) => done(store.add_label(NodeId(*id), l)),
        GOp::RemoveLabel(id, l) => done(store.remove_label(NodeId(*id), l)),
        GOp::DeleteNode(id, true) => done(store.detach_delete_node(NodeId(*id))),
        GOp::DeleteNode(id, false) => done(store.delete_node(NodeId(*id))),
        GOp::SetEdgeProp(id, k, v) => done(store.set_edge_property(EdgeId(*id), k, v.clone())),
        GOp::DeleteEdge(id) => done(store.delete_edge(EdgeId(*id))),
        mutation => {
            let mut batch = store.batch();
            to_mutations(mutation, &mut batch)?;
            batch.commit().map(|()| (GObs::Done(None), String::new()))
        }
    })();
    r.unwrap_or_else(err)
}

/// Runs `steps` in `tx`: mutations through its methods, queries through
/// its reader. Returns each step's observation and an exact rendering.
fn txn_steps<B: StorageBackend + 'static>(
    tx: &mut graph_storage::Transaction<'_, B>,
    steps: &[GOp],
) -> (Vec<GObs>, String) {
    let props = |p: &[(String, PropertyValue)]| -> Properties { p.iter().cloned().collect() };
    let mut obs = Vec::new();
    let mut full = String::new();
    for step in steps {
        let o = if is_query(step) {
            let reader = tx.read();
            match observe_adjacency(&reader, step) {
                Some(o) => o,
                None => observe_query(&reader, step),
            }
        } else {
            let r: graph_core::Result<Option<u64>> = match step {
                GOp::CreateNode(labels, p) => {
                    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                    tx.create_node(&labels, props(p)).map(|id| Some(id.0))
                }
                GOp::CreateEdge(s, d, ty, p) => tx
                    .create_edge(NodeId(*s), NodeId(*d), ty, props(p))
                    .map(|id| Some(id.0)),
                GOp::SetNodeProp(id, k, v) => tx
                    .set_node_property(NodeId(*id), k, v.clone())
                    .map(|()| None),
                GOp::RemoveNodeProp(id, k) => {
                    tx.remove_node_property(NodeId(*id), k).map(|()| None)
                }
                GOp::AddLabel(id, l) => tx.add_label(NodeId(*id), l).map(|()| None),
                GOp::RemoveLabel(id, l) => tx.remove_label(NodeId(*id), l).map(|()| None),
                GOp::DeleteNode(id, true) => tx.detach_delete_node(NodeId(*id)).map(|()| None),
                GOp::DeleteNode(id, false) => tx.delete_node(NodeId(*id)).map(|()| None),
                GOp::SetEdgeProp(id, k, v) => tx
                    .set_edge_property(EdgeId(*id), k, v.clone())
                    .map(|()| None),
                GOp::DeleteEdge(id) => tx.delete_edge(EdgeId(*id)).map(|()| None),
                other => panic!("not a transaction step: {other:?}"),
            };
            r.map_or_else(|e| GObs::Err(e.kind()), GObs::Done)
        };
        full.push_str(&format!("{o:?}\n"));
        obs.push(o);
    }
    (obs, full)
}

/// What `reader` answers to a query that is not an adjacency query
/// (`GetNode`, `GetEdge`, `Label`, `Find`, `FindRange`, `Counts`).
fn observe_query<V: graph_core::ReadView>(
    reader: &graph_storage::GraphReader<'_, V>,
    op: &GOp,
) -> GObs {
    let ids = |r: Vec<NodeId>| GObs::Ids(r.into_iter().map(|n| n.0).collect());
    let r: graph_core::Result<GObs> = (|| match op {
        GOp::GetNode(id) => Ok(GObs::Node(
            reader
                .get_node(NodeId(*id))?
                .map(|n| (n.labels, n.properties)),
        )),
        GOp::GetEdge(id) => Ok(GObs::Edge(
            reader
                .get_edge(EdgeId(*id))?
                .map(|e| (e.src.0, e.dst.0, e.edge_type, e.properties)),
        )),
        GOp::Label(l) => Ok(ids(reader.nodes_with_label(l)?)),
        GOp::Find(l, p, v) => Ok(ids(reader.find_nodes(l, p, v)?)),
        GOp::FindRange(l, p, lo, hi) => Ok(ids(reader.find_nodes_in_range(
            l,
            p,
            lo.as_ref(),
            hi.as_ref(),
        )?)),
        GOp::Counts => Ok(GObs::Pair(reader.node_count()?, reader.edge_count()?)),
        other => panic!("not a query: {other:?}"),
    })();
    r.unwrap_or_else(|e| GObs::Err(e.kind()))
}

/// What `reader` answers to an adjacency query (`Edges`, `Degree`,
/// `AllEdges`, `Degrees`), comparable with [`GraphModel::apply`] of the
/// same query; `None` for any other operation.
pub fn observe_adjacency<V: graph_core::ReadView>(
    reader: &graph_storage::GraphReader<'_, V>,
    op: &GOp,
) -> Option<GObs> {
    let r: graph_core::Result<GObs> = (|| match op {
        GOp::Edges(n, dir, ty) => {
            let mut rows: Vec<_> = reader
                .edges(NodeId(*n), *dir, ty.as_deref())?
                .into_iter()
                .map(|e| (e.id.0, e.src.0, e.dst.0, e.edge_type.to_string()))
                .collect();
            rows.sort();
            Ok(GObs::EdgeList(rows))
        }
        GOp::Degree(n, dir, ty) => {
            let d = reader.degree(NodeId(*n), *dir, ty.as_deref())?;
            let neighbors = reader.neighbors(NodeId(*n), *dir, ty.as_deref())?;
            let streamed = reader
                .iter_edges_of(NodeId(*n), *dir, ty.as_deref())?
                .count();
            assert_eq!(neighbors.len() as u64, d, "neighbors and degree disagree");
            assert_eq!(streamed as u64, d, "iter_edges_of and degree disagree");
            Ok(GObs::Count(d))
        }
        GOp::AllEdges => {
            let mut out = Vec::new();
            let mut rows = Vec::new();
            reader.for_each_edge(|e| rows.push(e))?;
            for e in rows {
                let ty = reader.edge_type_name(e.edge_type)?;
                out.push((e.id.0, e.src.0, e.dst.0, ty.to_string()));
            }
            out.sort();
            Ok(GObs::EdgeList(out))
        }
        GOp::Degrees(dir) => Ok(GObs::Ids(reader.degrees(*dir)?)),
        _ => Err(graph_core::Error::invalid("not an adjacency query")),
    })();
    match (op, r) {
        (GOp::Edges(..) | GOp::Degree(..) | GOp::AllEdges | GOp::Degrees(_), r) => {
            Some(r.unwrap_or_else(|e| GObs::Err(e.kind())))
        }
        _ => None,
    }
}

/// A store on one harness, reopened on [`GOp::Reopen`].
struct Side<H: Harness> {
    harness: H,
    store: Option<GraphStore<H::B>>,
}

impl<H: Harness> Drop for Side<H> {
    /// Closes the store before the harness removes its directory (fields
    /// drop in declaration order, which would drop the harness first).
    fn drop(&mut self) {
        drop(self.store.take());
    }
}

impl<H: Harness> Side<H> {
    fn new(mut harness: H) -> Self {
        let store = harness.store();
        Side {
            harness,
            store: Some(store),
        }
    }

    fn store(&self) -> &GraphStore<H::B> {
        match &self.store {
            Some(s) => s,
            None => panic!("store lost in a reopen"),
        }
    }

    fn apply(&mut self, op: &GOp) -> (GObs, String) {
        if let GOp::Reopen = op
            && let Some(store) = self.store.take()
        {
            self.store = Some(self.harness.reopen_store(store));
        }
        if self.harness.adjacency() {
            // Every commit applied: reads are served from RAM.
            let status = self.store().wait_for_adjacency();
            assert!(
                matches!(status, graph_storage::AdjacencyStatus::Ready { .. }),
                "{status}"
            );
        }
        apply_store(self.store(), op)
    }

    /// Every node and edge, rendered exactly, plus a clean verify.
    fn dump(&self) -> (Vec<u64>, Vec<u64>, String) {
        let store = self.store();
        let report = store.verify().unwrap_or_else(|e| panic!("verify: {e}"));
        assert!(report.is_clean(), "final verify: {report}");
        let r = store.reader();
        let nodes = r.node_ids().unwrap_or_else(|e| panic!("node ids: {e}"));
        let edges = r.edge_ids().unwrap_or_else(|e| panic!("edge ids: {e}"));
        let mut text = String::new();
        for n in &nodes {
            text.push_str(&format!("{:?}\n", store.get_node(*n)));
        }
        let mut viewed = Vec::new();
        store
            .with_nodes(&nodes, |_, v| viewed.push(v.map(|v| v.to_node())))
            .unwrap_or_else(|e| panic!("with_nodes: {e}"));
        let owned = store
            .get_nodes(&nodes)
            .unwrap_or_else(|e| panic!("get_nodes: {e}"));
        assert_eq!(viewed, owned, "with_nodes and get_nodes differ");
        for e in &edges {
            text.push_str(&format!("{:?}\n", store.get_edge(*e)));
        }
        (
            nodes.iter().map(|n| n.0).collect(),
            edges.iter().map(|e| e.0).collect(),
            text,
        )
    }
}

/// Runs `ops` on the model and on a store from `harness`; panics at the
/// first observation that differs. Ends with a clean `verify()` and the
/// same nodes and edges as the model.
pub fn check_graph<H: Harness>(harness: H, ops: &[GOp]) {
    let mut model = GraphModel::default();
    let mut side = Side::new(harness);
    for (step, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let (got, _) = side.apply(op);
        assert_eq!(got, want, "step {step}: {op:?}");
    }
    let (nodes, edges, _) = side.dump();
    assert_eq!(nodes, model.node_ids());
    assert_eq!(edges, model.edge_ids());
}

/// Runs `ops` on the model and on two stores side by side: each store must
/// match the model, and the two stores must match each other exactly (time
/// stamps, result order, final records).
pub fn check_graph_pair<H1: Harness, H2: Harness>(h1: H1, h2: H2, ops: &[GOp]) {
    let mut model = GraphModel::default();
    let (mut a, mut b) = (Side::new(h1), Side::new(h2));
    for (step, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let (got_a, full_a) = a.apply(op);
        let (got_b, full_b) = b.apply(op);
        assert_eq!(got_a, want, "step {step} (first store): {op:?}");
        assert_eq!(got_b, want, "step {step} (second store): {op:?}");
        assert_eq!(full_a, full_b, "step {step}, stores differ: {op:?}");
    }
    let (na, ea, ta) = a.dump();
    let (nb, eb, tb) = b.dump();
    assert_eq!(na, model.node_ids());
    assert_eq!(ea, model.edge_ids());
    assert_eq!((na, ea, ta), (nb, eb, tb));
}

/// Node ids the generated operations name (ids below it).
pub const NODE_SPACE: u64 = 8;
const EDGE_SPACE: u64 = 12;

fn label() -> impl Strategy<Value = String> {
    prop_oneof![6 => proptest::sample::select(vec!["A", "B", "C"]).prop_map(str::to_owned), 1 => Just(String::new())]
}

fn edge_type() -> impl Strategy<Value = String> {
    prop_oneof![6 => proptest::sample::select(vec!["X", "Y"]).prop_map(str::to_owned), 1 => Just(String::new())]
}

fn prop_key() -> impl Strategy<Value = String> {
    prop_oneof![8 => proptest::sample::select(vec!["k", "v"]).prop_map(str::to_owned), 1 => Just(String::new())]
}

/// Property values from small pools, so index lookups hit often; includes
/// the tricky ones (negative numbers, -0.0, embedded NUL, nesting).
pub fn value() -> impl Strategy<Value = PropertyValue> {
    use PropertyValue as V;
    prop_oneof![
        1 => Just(V::Null),
        1 => any::<bool>().prop_map(V::Bool),
        4 => (-2i64..=2).prop_map(V::Int),
        2 => proptest::sample::select(vec![-1.5, -0.0, 0.0, 2.5]).prop_map(V::Float),
        3 => proptest::sample::select(vec!["", "a", "a\0", "b"]).prop_map(|s| V::String(s.into())),
        1 => proptest::collection::vec(0u8..3, 0..3).prop_map(V::Bytes),
        1 => (-1i64..=1).prop_map(|t| V::DateTime(graph_core::Timestamp(t))),
        1 => proptest::collection::vec((-1i64..=1).prop_map(V::Int), 0..3).prop_map(V::List),
        1 => proptest::collection::vec(-1.0f32..1.0, 0..3).prop_map(V::Vector),
    ]
}

fn props() -> impl Strategy<Value = Vec<(String, PropertyValue)>> {
    proptest::collection::vec((prop_key(), value()), 0..3)
}

fn node() -> impl Strategy<Value = u64> {
    0..NODE_SPACE
}

fn edge() -> impl Strategy<Value = u64> {
    0..EDGE_SPACE
}

fn direction() -> impl Strategy<Value = Direction> {
    proptest::sample::select(vec![
        Direction::Outgoing,
        Direction::Incoming,
        Direction::Both,
    ])
}

fn bound() -> impl Strategy<Value = Bound<PropertyValue>> {
    prop_oneof![
        value().prop_map(Bound::Included),
        value().prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
}

fn mutation() -> impl Strategy<Value = GOp> {
    prop_oneof![
        5 => (proptest::collection::vec(label(), 0..3), props()).prop_map(|(l, p)| GOp::CreateNode(l, p)),
        5 => (node(), node(), edge_type(), props()).prop_map(|(s, d, t, p)| GOp::CreateEdge(s, d, t, p)),
        3 => (node(), prop_key(), value()).prop_map(|(n, k, v)| GOp::SetNodeProp(n, k, v)),
        1 => (node(), prop_key()).prop_map(|(n, k)| GOp::RemoveNodeProp(n, k)),
        2 => (node(), label()).prop_map(|(n, l)| GOp::AddLabel(n, l)),
        1 => (node(), label()).prop_map(|(n, l)| GOp::RemoveLabel(n, l)),
        2 => (node(), any::<bool>()).prop_map(|(n, d)| GOp::DeleteNode(n, d)),
        1 => (edge(), prop_key(), value()).prop_map(|(e, k, v)| GOp::SetEdgeProp(e, k, v)),
        1 => edge().prop_map(GOp::DeleteEdge),
    ]
}

fn query() -> impl Strategy<Value = GOp> {
    prop_oneof![
        2 => node().prop_map(GOp::GetNode),
        1 => edge().prop_map(GOp::GetEdge),
        1 => (node(), direction(), proptest::option::of(edge_type())).prop_map(|(n, d, t)| GOp::Edges(n, d, t)),
        1 => (node(), direction(), proptest::option::of(edge_type())).prop_map(|(n, d, t)| GOp::Degree(n, d, t)),
        1 => label().prop_map(GOp::Label),
        1 => (label(), prop_key(), value()).prop_map(|(l, p, v)| GOp::Find(l, p, v)),
        1 => Just(GOp::Counts),
        1 => Just(GOp::AllEdges),
    ]
}

/// A transaction's steps: mutations and queries mixed.
fn txn_steps_strategy() -> impl Strategy<Value = Vec<GOp>> {
    proptest::collection::vec(prop_oneof![3 => mutation(), 2 => query()], 0..6)
}

/// One graph operation: mutations, batches, transactions, index changes,
/// queries, reopens and integrity checks.
pub fn graph_op() -> impl Strategy<Value = GOp> {
    prop_oneof![
        20 => mutation(),
        3 => proptest::collection::vec(mutation(), 0..5).prop_map(GOp::Batch),
        3 => (txn_steps_strategy(), proptest::bool::weighted(0.8)).prop_map(|(s, c)| GOp::Txn(s, c)),
        1 => (txn_steps_strategy(), node(), -3i64..3).prop_map(|(s, x, v)| GOp::TxnRaced(s, x, v)),
        1 => (label(), prop_key()).prop_map(|(l, p)| GOp::CreateIndex(l, p)),
        1 => (label(), prop_key()).prop_map(|(l, p)| GOp::DropIndex(l, p)),
        2 => node().prop_map(GOp::GetNode),
        1 => edge().prop_map(GOp::GetEdge),
        2 => (node(), direction(), proptest::option::of(edge_type())).prop_map(|(n, d, t)| GOp::Edges(n, d, t)),
        1 => (node(), direction(), proptest::option::of(edge_type())).prop_map(|(n, d, t)| GOp::Degree(n, d, t)),
        1 => label().prop_map(GOp::Label),
        2 => (label(), prop_key(), value()).prop_map(|(l, p, v)| GOp::Find(l, p, v)),
        2 => (label(), prop_key(), bound(), bound()).prop_map(|(l, p, a, b)| GOp::FindRange(l, p, a, b)),
        1 => Just(GOp::Counts),
        1 => Just(GOp::AllEdges),
        1 => direction().prop_map(GOp::Degrees),
        1 => Just(GOp::Reopen),
        1 => Just(GOp::Verify),
    ]
}
