//! [`Topology`]: a stored graph's structure, frozen, as the algorithms and
//! petgraph see it.

use fixedbitset::FixedBitSet;
use graph_storage::{
    Adjacency, Direction, EdgeId, EdgeValue, EdgeValues, GraphReader, GraphStore, NodeId, ReadView,
    StorageBackend,
};

use crate::error::{AlgoError, Result};

/// The structure of a stored graph at one moment: its node ids and its
/// adjacency in RAM, and optionally a numeric edge property as weights.
///
/// Built from a snapshot (see [`Topology::of`]) or any reader
/// ([`Topology::new`]); it pins the adjacency version it was built from,
/// so it stays the same whatever is committed afterwards. Node ids are the
/// store's: petgraph's `NodeIndexable` maps an id to the index of the same
/// value, so maps indexed by node are as long as the largest id plus one
/// ([`node_bound`](Self::node_bound)). Edges are directed; parallel edges
/// and self-loops are kept, as stored.
#[derive(Debug, Clone)]
pub struct Topology<'s> {
    adj: Adjacency<'s>,
    nodes: FixedBitSet,
    node_count: usize,
    weights: Option<(String, EdgeValues)>,
}

impl<'s> Topology<'s> {
    /// The structure `reader` sees: its node ids (one scan of the nodes'
    /// keys) and its adjacency in RAM, unweighted (every edge weighs 1).
    ///
    /// # Errors
    /// [`AlgoError::NoAdjacency`] when the store holds no adjacency in RAM;
    /// engine and corruption errors reading the node ids.
    pub fn new<V: ReadView>(reader: &GraphReader<'s, V>) -> Result<Self> {
        let adj = reader
            .adjacency()
            .ok_or_else(|| AlgoError::NoAdjacency("not held".into()))?;
        let bound = reader.node_id_bound()?.max(adj.node_bound());
        let len = usize::try_from(bound)
            .map_err(|_| AlgoError::InvalidArgument(format!("node ids reach {bound}")))?;
        let mut nodes = FixedBitSet::with_capacity(len);
        let mut node_count = 0;
        for id in reader.iter_node_ids() {
            let id = id?;
            if let Ok(i) = usize::try_from(id.0)
                && i < len
            {
                nodes.insert(i);
                node_count += 1;
            }
        }
        Ok(Topology {
            adj,
            nodes,
            node_count,
            weights: None,
        })
    }

    /// The structure of `store` now, from a snapshot, weighted by the
    /// numeric edge property `weight` if given (projected into RAM first
    /// if it is not: see [`GraphStore::project_edge_property`]).
    ///
    /// # Errors
    /// As [`new`](Self::new) and [`weighted`](Self::weighted); the
    /// projection's errors.
    pub fn of<B: StorageBackend>(store: &'s GraphStore<B>, weight: Option<&str>) -> Result<Self> {
        if store.adjacency().is_none() {
            let status = store.wait_for_adjacency();
            if store.adjacency().is_none() {
                return Err(AlgoError::NoAdjacency(status.to_string()));
            }
        }
        if let Some(property) = weight
            && store
                .adjacency()
                .and_then(|a| a.edge_values(property))
                .is_none()
        {
            store.project_edge_property(property)?;
        }
        let snapshot = store.snapshot()?;
        let topology = Topology::new(&snapshot)?;
        match weight {
            Some(property) => topology.weighted(property),
            None => Ok(topology),
        }
    }

    /// This structure weighted by the numeric edge property `property`,
    /// which must be projected beside the adjacency
    /// ([`GraphStore::project_edge_property`]) and be a number on every
    /// edge (checked here, once).
    ///
    /// # Errors
    /// [`AlgoError::InvalidArgument`] when the property is not projected;
    /// [`AlgoError::UnknownProperty`] when no edge has it;
    /// [`AlgoError::MissingWeight`] or [`AlgoError::NotANumber`] for the
    /// first edge (by source id) without a numeric value.
    pub fn weighted(mut self, property: &str) -> Result<Self> {
        let values = self.adj.edge_values(property).ok_or_else(|| {
            AlgoError::InvalidArgument(format!(
                "the edge property {property:?} is not projected into RAM (GraphStore::project_edge_property)"
            ))
        })?;
        for e in self.adj.all_edges() {
            match values.get(e.id) {
                EdgeValue::Number(_) => {}
                EdgeValue::Absent => {
                    let anywhere = values.numbers().next().is_some()
                        || self
                            .adj
                            .all_edges()
                            .any(|e| values.get(e.id) == EdgeValue::NotANumber);
                    if !anywhere {
                        return Err(AlgoError::UnknownProperty(property.to_owned()));
                    }
                    return Err(AlgoError::MissingWeight {
                        edge: e.id,
                        property: property.to_owned(),
                    });
                }
                EdgeValue::NotANumber => {
                    return Err(AlgoError::NotANumber {
                        edge: e.id,
                        property: property.to_owned(),
                    });
                }
            }
        }
        self.weights = Some((property.to_owned(), values));
        Ok(self)
    }

    /// The adjacency underneath.
    pub fn adjacency(&self) -> &Adjacency<'s> {
        &self.adj
    }

    /// One past the largest node id: the length of maps by node.
    pub fn node_bound(&self) -> usize {
        self.nodes.len()
    }

    /// How many nodes the graph has.
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// How many edges the graph has.
    pub fn edge_count(&self) -> u64 {
        self.adj.edge_count()
    }

    /// Whether node `id` exists.
    pub fn contains(&self, id: NodeId) -> bool {
        usize::try_from(id.0).is_ok_and(|i| self.nodes.contains(i))
    }

    /// Node `id`, or [`AlgoError::UnknownNode`].
    ///
    /// # Errors
    /// [`AlgoError::UnknownNode`] when it does not exist.
    pub fn node(&self, id: NodeId) -> Result<NodeId> {
        if self.contains(id) {
            Ok(id)
        } else {
            Err(AlgoError::UnknownNode(id))
        }
    }

    /// The node ids, ascending.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.ones().map(|i| NodeId(i as u64))
    }

    /// The existing nodes as a bit set by id.
    pub fn node_set(&self) -> &FixedBitSet {
        &self.nodes
    }

    /// The name of the weight property, if weighted.
    pub fn weight_property(&self) -> Option<&str> {
        self.weights.as_ref().map(|(p, _)| p.as_str())
    }

    /// The weight of edge `id`: its property's number if weighted, 1
    /// otherwise.
    pub fn weight(&self, id: EdgeId) -> f64 {
        match &self.weights {
            Some((_, values)) => match values.get(id) {
                EdgeValue::Number(w) => w,
                _ => f64::NAN,
            },
            None => 1.0,
        }
    }

    /// The out-degree (or in-degree, or both) of every node id below
    /// [`node_bound`](Self::node_bound).
    pub fn degrees(&self, dir: Direction) -> Vec<u32> {
        let mut d = self.adj.degrees(dir);
        d.resize(self.node_bound(), 0);
        d
    }

    /// The edges of `node` in `dir`, with their weights.
    pub fn edges(&self, node: NodeId, dir: Direction) -> impl Iterator<Item = TopoEdge> + '_ {
        self.adj.edges(node, dir, None).map(move |e| TopoEdge {
            id: e.id,
            source: e.src,
            target: e.dst,
            weight: self.weight(e.id),
        })
    }
}

/// A compact copy of one direction's lists, for algorithms that sweep
/// them many times (PageRank): node `v`'s list is
/// `targets[offsets[v]..offsets[v + 1]]`, with its edges' weights beside
/// when asked for. 8 bytes per node id and 4 per entry (12 with weights).
pub(crate) struct Csr {
    pub(crate) offsets: Vec<u64>,
    pub(crate) targets: Vec<u32>,
    pub(crate) weights: Option<Vec<f64>>,
}

impl Topology<'_> {
    /// The lists of `dir` as a [`Csr`], weighted if `weights`.
    pub(crate) fn csr(&self, dir: Direction, weights: bool) -> Csr {
        let bound = self.node_bound();
        let edges = usize::try_from(self.edge_count()).unwrap_or(0);
        let per = if dir == Direction::Both { 2 } else { 1 };
        let mut offsets = Vec::with_capacity(bound + 1);
        let mut targets = Vec::with_capacity(edges * per);
        let mut w = weights.then(|| Vec::with_capacity(edges * per));
        offsets.push(0);
        for v in 0..bound {
            let node = NodeId(v as u64);
            match &mut w {
                Some(w) => {
                    for e in self.edges(node, dir) {
                        let other = if e.source == node { e.target } else { e.source };
                        targets.push(other.0 as u32);
                        w.push(e.weight);
                    }
                }
                None => targets.extend(self.adj.neighbors(node, dir).map(|n| n.0 as u32)),
            }
            offsets.push(targets.len() as u64);
        }
        Csr {
            offsets,
            targets,
            weights: w,
        }
    }
}

/// An edge of a [`Topology`], as petgraph's `EdgeRef`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopoEdge {
    /// The edge.
    pub id: EdgeId,
    /// Its source.
    pub source: NodeId,
    /// Its target.
    pub target: NodeId,
    /// Its weight (1 when the topology is unweighted).
    pub weight: f64,
}

/// Splits `0..n` into about as many ranges as the machine has cores, for
/// work spread over threads.
pub(crate) fn chunks(n: usize) -> Vec<std::ops::Range<usize>> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let size = n.div_ceil(threads.max(1)).max(4096);
    (0..n).step_by(size).map(|a| a..(a + size).min(n)).collect()
}
