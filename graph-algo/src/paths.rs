//! Breadth-first search (and k-hop reach), and single-source shortest
//! paths: by hops, or by a numeric edge weight (Dijkstra).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

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
    /// on a shortest path.
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
/// reached. Extra memory: 24 bytes per node id plus the queue.
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
    t.node(source)?;
    let bound = t.node_bound();
    let mut out = Distances::new(source, bound);
    let adj = t.adjacency();
    out.distance[source.0 as usize] = 0.0;
    let mut queue = VecDeque::from([(source, 0u32)]);
    let total = t.node_count() as u64;
    while let Some((v, depth)) = queue.pop_front() {
        if max_depth.is_some_and(|m| depth >= m) {
            continue;
        }
        for e in adj.edges(v, dir, None) {
            let w = if e.src == v { e.dst } else { e.src };
            let Some(slot) = out.distance.get_mut(w.0 as usize) else {
                continue;
            };
            if slot.is_infinite() {
                *slot = f64::from(depth + 1);
                out.via[w.0 as usize] = Some(e.id);
                out.previous[w.0 as usize] = Some(v);
                out.reached += 1;
                queue.push_back((w, depth + 1));
                if out.reached.is_multiple_of(1 << 18) {
                    progress(Progress::of("bfs", "nodes", out.reached as u64, total));
                }
            }
        }
    }
    progress(Progress::of("bfs", "nodes", out.reached as u64, total));
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
