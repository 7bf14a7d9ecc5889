//! Breadth-first search (and k-hop reach), and single-source shortest
//! paths: by hops, or by a numeric edge weight (Dijkstra).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use graph_storage::{Direction, EdgeId, NodeId};

use crate::error::{AlgoError, Result};
use crate::progress::Progress;
use crate::topology::Topology;

/// The distances from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Distances {
    /// The source.
    pub source: NodeId,
    /// The distance of every node id below the topology's node bound from
    /// the source (hops, or the sum of weights), `f64::INFINITY` for one
    /// not reached (or without a node).
    pub distance: Vec<f64>,
    /// For every node reached but the source: the edge it was reached by
    /// on a shortest path (weighted [`shortest_paths`] only; empty
    /// otherwise).
    pub via: Vec<Option<EdgeId>>,
    /// For every node reached but the source: the node before it on that
    /// path.
    pub previous: Vec<Option<NodeId>>,
    /// How many nodes were reached, the source not counted.
    pub reached: usize,
}

impl Distances {
    fn new(source: NodeId, bound: usize) -> Self {
        Distances {
            source,
            distance: vec![f64::INFINITY; bound],
            via: vec![None; bound],
            previous: vec![None; bound],
            reached: 0,
        }
    }

    /// The distance of `node`, if reached.
    pub fn to(&self, node: NodeId) -> Option<f64> {
        let d = *self.distance.get(usize::try_from(node.0).ok()?)?;
        d.is_finite().then_some(d)
    }

    /// A shortest path from the source to `node` (its nodes, source first),
    /// if `node` was reached.
    pub fn path(&self, node: NodeId) -> Option<Vec<NodeId>> {
        self.to(node)?;
        let mut path = vec![node];
        let mut at = node;
        while at != self.source {
            at = (*self.previous.get(at.0 as usize)?)?;
            path.push(at);
        }
        path.reverse();
        Some(path)
    }
}

/// Breadth-first search from `source` along edges in `dir`, at most
/// `max_depth` hops if given (k-hop reach): the hop distance of every node
/// reached, and the node before it on a shortest path (`via` stays empty:
/// the edge used is recorded by weighted [`shortest_paths`] only). Level
/// by level over the adjacency's lists. Extra memory: 8 bytes per node id
/// during the search, then the result (24 bytes per node id).
///
/// # Errors
/// [`AlgoError::UnknownNode`] when `source` does not exist.
pub fn bfs(
    t: &Topology<'_>,
    source: NodeId,
    dir: Direction,
    max_depth: Option<u32>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Distances> {
    const UNSEEN: u32 = u32::MAX;
    t.node(source)?;
    let bound = t.node_bound();
    let adj = t.adjacency();
    let mut depth_of = vec![UNSEEN; bound];
    let mut previous = vec![UNSEEN; bound];
    depth_of[source.0 as usize] = 0;
    let mut frontier: Vec<u32> = vec![source.0 as u32];
    let mut next: Vec<u32> = Vec::new();
    let mut depth = 0u32;
    let mut reached = 0usize;
    let total = t.node_count() as u64;
    while !frontier.is_empty() && max_depth.is_none_or(|m| depth < m) {
        for &v in &frontier {
            for w in adj.neighbors(NodeId(u64::from(v)), dir) {
                let wi = w.0 as usize;
                if let Some(slot) = depth_of.get_mut(wi)
                    && *slot == UNSEEN
                {
                    *slot = depth + 1;
                    previous[wi] = v;
                    next.push(w.0 as u32);
                }
            }
        }
        reached += next.len();
        depth += 1;
        std::mem::swap(&mut frontier, &mut next);
        next.clear();
        progress(Progress::of("bfs", "nodes", reached as u64, total));
    }
    let mut out = Distances {
        source,
        distance: depth_of
            .iter()
            .map(|&d| {
                if d == UNSEEN {
                    f64::INFINITY
                } else {
                    f64::from(d)
                }
            })
            .collect(),
        via: Vec::new(),
        previous: previous
            .iter()
            .map(|&p| (p != UNSEEN).then(|| NodeId(u64::from(p))))
            .collect(),
        reached,
    };
    // The source has no previous node, even when a cycle leads back to it.
    if let Some(p) = out.previous.get_mut(source.0 as usize) {
        *p = None;
    }
    Ok(out)
}

/// Shortest paths from `source` along edges in `dir`: by hops for an
/// unweighted topology ([`bfs`]), by the sum of edge weights for a
/// weighted one (Dijkstra's algorithm with a binary heap). Extra memory:
/// 24 bytes per node id plus the heap.
///
/// # Errors
/// [`AlgoError::UnknownNode`] when `source` does not exist;
/// [`AlgoError::BadWeight`] for a negative or non-finite weight met.
pub fn shortest_paths(
    t: &Topology<'_>,
    source: NodeId,
    dir: Direction,
    progress: &mut dyn FnMut(Progress),
) -> Result<Distances> {
    if t.weight_property().is_none() {
        return bfs(t, source, dir, None, progress);
    }
    t.node(source)?;
    let bound = t.node_bound();
    let mut out = Distances::new(source, bound);
    out.distance[source.0 as usize] = 0.0;
    let mut heap = BinaryHeap::from([Visit {
        distance: 0.0,
        node: source,
    }]);
    let mut settled = fixedbitset::FixedBitSet::with_capacity(bound);
    let total = t.node_count() as u64;
    let mut done = 0u64;
    while let Some(Visit { distance, node }) = heap.pop() {
        let v = node.0 as usize;
        if settled.contains(v) {
            continue;
        }
        settled.insert(v);
        done += 1;
        if done.is_multiple_of(1 << 18) {
            progress(Progress::of("shortest-path", "nodes", done, total));
        }
        for e in t.edges(node, dir) {
            if !(e.weight.is_finite() && e.weight >= 0.0) {
                return Err(AlgoError::BadWeight {
                    edge: e.id,
                    value: e.weight,
                    algorithm: "Dijkstra's shortest paths",
                });
            }
            let w = if e.source == node { e.target } else { e.source };
            let wi = w.0 as usize;
            let through = distance + e.weight;
            if let Some(slot) = out.distance.get_mut(wi)
                && through < *slot
            {
                if slot.is_infinite() {
                    out.reached += 1;
                }
                *slot = through;
                out.via[wi] = Some(e.id);
                out.previous[wi] = Some(node);
                heap.push(Visit {
                    distance: through,
                    node: w,
                });
            }
        }
    }
    progress(Progress::of("shortest-path", "nodes", done, total));
    Ok(out)
}

/// A node in Dijkstra's heap, the nearest first.
#[derive(Debug, Clone, Copy)]
struct Visit {
    distance: f64,
    node: NodeId,
}

impl PartialEq for Visit {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Visit {}

impl PartialOrd for Visit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Visit {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then_with(|| other.node.cmp(&self.node))
    }
}
