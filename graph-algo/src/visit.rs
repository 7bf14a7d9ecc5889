//! petgraph's visit traits for [`Topology`], so `petgraph::algo` and
//! `petgraph::visit` run on a stored graph unchanged: a directed graph
//! whose node ids are the store's, edge ids the store's, and edge weights
//! the topology's weights (`f64`, 1 when unweighted).

use fixedbitset::FixedBitSet;
use graph_storage::{Direction, EdgeId, NodeId};
use petgraph::Directed;
use petgraph::visit::{
    Data, EdgeCount, EdgeRef, GraphBase, GraphProp, IntoEdgeReferences, IntoEdges,
    IntoEdgesDirected, IntoNeighbors, IntoNeighborsDirected, IntoNodeIdentifiers, NodeCount,
    NodeIndexable, VisitMap, Visitable,
};

use crate::topology::{TopoEdge, Topology};

impl GraphBase for Topology<'_> {
    type NodeId = NodeId;
    type EdgeId = EdgeId;
}

impl Data for Topology<'_> {
    type NodeWeight = ();
    type EdgeWeight = f64;
}

impl GraphProp for Topology<'_> {
    type EdgeType = Directed;
}

impl NodeIndexable for Topology<'_> {
    fn node_bound(&self) -> usize {
        Topology::node_bound(self)
    }

    fn to_index(&self, a: NodeId) -> usize {
        a.0 as usize
    }

    fn from_index(&self, i: usize) -> NodeId {
        NodeId(i as u64)
    }
}

impl NodeCount for Topology<'_> {
    fn node_count(&self) -> usize {
        Topology::node_count(self)
    }
}

impl EdgeCount for Topology<'_> {
    fn edge_count(&self) -> usize {
        usize::try_from(Topology::edge_count(self)).unwrap_or(usize::MAX)
    }
}

/// The visit map of a [`Topology`]: a bit per node id.
#[derive(Debug, Clone)]
pub struct NodeMap(FixedBitSet);

impl NodeMap {
    fn index(&mut self, n: NodeId) -> usize {
        let i = n.0 as usize;
        if i >= self.0.len() {
            self.0.grow(i + 1);
        }
        i
    }
}

impl VisitMap<NodeId> for NodeMap {
    fn visit(&mut self, a: NodeId) -> bool {
        let i = self.index(a);
        !self.0.put(i)
    }

    fn is_visited(&self, a: &NodeId) -> bool {
        usize::try_from(a.0).is_ok_and(|i| self.0.contains(i))
    }

    fn unvisit(&mut self, a: NodeId) -> bool {
        let i = self.index(a);
        let was = self.0.contains(i);
        self.0.set(i, false);
        was
    }
}

impl Visitable for Topology<'_> {
    type Map = NodeMap;

    fn visit_map(&self) -> NodeMap {
        NodeMap(FixedBitSet::with_capacity(Topology::node_bound(self)))
    }

    fn reset_map(&self, map: &mut NodeMap) {
        map.0.clear();
        map.0.grow(Topology::node_bound(self));
    }
}

impl EdgeRef for TopoEdge {
    type NodeId = NodeId;
    type EdgeId = EdgeId;
    type Weight = f64;

    fn source(&self) -> NodeId {
        self.source
    }

    fn target(&self) -> NodeId {
        self.target
    }

    fn weight(&self) -> &f64 {
        &self.weight
    }

    fn id(&self) -> EdgeId {
        self.id
    }
}

fn direction(d: petgraph::Direction) -> Direction {
    match d {
        petgraph::Direction::Outgoing => Direction::Outgoing,
        petgraph::Direction::Incoming => Direction::Incoming,
    }
}

impl<'a> IntoNeighbors for &'a Topology<'_> {
    type Neighbors = graph_storage::Neighbors<'a>;

    fn neighbors(self, n: NodeId) -> Self::Neighbors {
        self.adjacency().neighbors(n, Direction::Outgoing)
    }
}

impl<'a> IntoNeighborsDirected for &'a Topology<'_> {
    type NeighborsDirected = graph_storage::Neighbors<'a>;

    fn neighbors_directed(self, n: NodeId, d: petgraph::Direction) -> Self::NeighborsDirected {
        self.adjacency().neighbors(n, direction(d))
    }
}

/// The node ids of a [`Topology`], ascending.
pub struct NodeIds<'a>(fixedbitset::Ones<'a>);

impl Iterator for NodeIds<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        self.0.next().map(|i| NodeId(i as u64))
    }
}

impl<'a> IntoNodeIdentifiers for &'a Topology<'_> {
    type NodeIdentifiers = NodeIds<'a>;

    fn node_identifiers(self) -> NodeIds<'a> {
        NodeIds(self.node_set().ones())
    }
}

/// Every edge of a [`Topology`], by source id.
pub struct EdgeRefs<'a, 's> {
    topology: &'a Topology<'s>,
    edges: graph_storage::AllEdges<'a>,
}

impl Iterator for EdgeRefs<'_, '_> {
    type Item = TopoEdge;

    fn next(&mut self) -> Option<TopoEdge> {
        self.edges.next().map(|e| TopoEdge {
            id: e.id,
            source: e.src,
            target: e.dst,
            weight: self.topology.weight(e.id),
        })
    }
}

impl<'a, 's> IntoEdgeReferences for &'a Topology<'s> {
    type EdgeRef = TopoEdge;
    type EdgeReferences = EdgeRefs<'a, 's>;

    fn edge_references(self) -> EdgeRefs<'a, 's> {
        EdgeRefs {
            topology: self,
            edges: self.adjacency().all_edges(),
        }
    }
}

impl<'a> IntoEdges for &'a Topology<'_> {
    type Edges = Box<dyn Iterator<Item = TopoEdge> + 'a>;

    fn edges(self, a: NodeId) -> Self::Edges {
        Box::new(Topology::edges(self, a, Direction::Outgoing))
    }
}

impl<'a> IntoEdgesDirected for &'a Topology<'_> {
    type EdgesDirected = Box<dyn Iterator<Item = TopoEdge> + 'a>;

    fn edges_directed(self, a: NodeId, dir: petgraph::Direction) -> Self::EdgesDirected {
        Box::new(Topology::edges(self, a, direction(dir)))
    }
}
