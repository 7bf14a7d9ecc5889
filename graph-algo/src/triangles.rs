//! Triangles and clustering coefficients of the graph seen as undirected
//! and simple (as igraph's `transitivity_*` and networkx's `triangles`
//! and `clustering` see a directed multigraph turned undirected): edge
//! directions, parallel edges and self-loops are ignored.

use graph_storage::{Direction, NodeId};

use crate::progress::Progress;
use crate::topology::{Topology, chunks};

/// Triangles and clustering of the graph seen as undirected and simple.
#[derive(Debug, Clone, PartialEq)]
pub struct Triangles {
    /// How many triangles the graph has.
    pub total: u64,
    /// The triangles of every node id below the topology's node bound.
    pub per_node: Vec<u64>,
    /// The degree of every node id in the undirected simple graph.
    pub degree: Vec<u32>,
    /// Global clustering (transitivity): 3 times the triangles over the
    /// connected triples (0 when there is none).
    pub transitivity: f64,
    /// The mean over all nodes of their local clustering, nodes of degree
    /// below 2 counting 0 (networkx's `average_clustering`).
    pub average_clustering: f64,
}

impl Triangles {
    /// The local clustering of `node`: its triangles over the pairs of its
    /// neighbours (0 for a degree below 2, or an id without a node).
    pub fn clustering(&self, node: NodeId) -> f64 {
        let i = node.0 as usize;
        match (self.per_node.get(i), self.degree.get(i)) {
            (Some(&t), Some(&d)) if d >= 2 => 2.0 * t as f64 / (f64::from(d) * f64::from(d - 1)),
            _ => 0.0,
        }
    }
}

/// Counts triangles by the forward algorithm: every node keeps only its
/// neighbours that rank above it (by degree, then id), and each triangle
/// is found once, as the intersection of two such lists, on all cores.
/// Extra memory: the undirected simple graph's forward lists (4 bytes an
/// edge), and 16 bytes per node id per core.
pub fn triangles(t: &Topology<'_>, progress: &mut dyn FnMut(Progress)) -> Triangles {
    let bound = t.node_bound();
    let adj = t.adjacency();
    let nodes = t.node_set();
    // The undirected simple neighbourhoods' sizes, then the forward lists.
    let mut degree = vec![0u32; bound];
    let mut scratch: Vec<u32> = Vec::new();
    let neighbourhood = |v: usize, scratch: &mut Vec<u32>| {
        scratch.clear();
        scratch.extend(
            adj.neighbors(NodeId(v as u64), Direction::Both)
                .map(|n| n.0 as u32)
                .filter(|&n| n as usize != v && (n as usize) < bound),
        );
        scratch.sort_unstable();
        scratch.dedup();
    };
    for v in nodes.ones() {
        neighbourhood(v, &mut scratch);
        degree[v] = scratch.len() as u32;
    }
    progress(Progress::of(
        "triangles",
        "degrees",
        bound as u64,
        bound as u64,
    ));
    let above = |a: usize, b: usize| (degree[a], a) < (degree[b], b);
    let mut offsets = vec![0usize; bound + 1];
    let mut forward: Vec<u32> = Vec::new();
    for v in 0..bound {
        if nodes.contains(v) {
            neighbourhood(v, &mut scratch);
            forward.extend(scratch.iter().filter(|&&n| above(v, n as usize)));
        }
        offsets[v + 1] = forward.len();
    }
    let list = |v: usize| &forward[offsets[v]..offsets[v + 1]];
    let ranges = chunks(bound);
    let parts: Vec<(u64, Vec<u64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = ranges
            .iter()
            .cloned()
            .map(|range| {
                s.spawn(move || {
                    let mut per_node = vec![0u64; bound];
                    let mut total = 0u64;
                    for v in range {
                        let lv = list(v);
                        for &u in lv {
                            let lu = list(u as usize);
                            // Sorted merge of the two forward lists.
                            let (mut i, mut j) = (0, 0);
                            while i < lv.len() && j < lu.len() {
                                match lv[i].cmp(&lu[j]) {
                                    std::cmp::Ordering::Less => i += 1,
                                    std::cmp::Ordering::Greater => j += 1,
                                    std::cmp::Ordering::Equal => {
                                        total += 1;
                                        per_node[v] += 1;
                                        per_node[u as usize] += 1;
                                        per_node[lv[i] as usize] += 1;
                                        i += 1;
                                        j += 1;
                                    }
                                }
                            }
                        }
                    }
                    (total, per_node)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(p) => p,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut total = 0;
    let mut per_node = vec![0u64; bound];
    for (t_part, p) in parts {
        total += t_part;
        for (a, b) in per_node.iter_mut().zip(p) {
            *a += b;
        }
    }
    progress(Progress::of(
        "triangles",
        "count",
        bound as u64,
        bound as u64,
    ));
    let triples: f64 = degree
        .iter()
        .map(|&d| f64::from(d) * (f64::from(d) - 1.0) / 2.0)
        .filter(|x| *x > 0.0)
        .sum();
    let transitivity = if triples > 0.0 {
        3.0 * total as f64 / triples
    } else {
        0.0
    };
    let mut result = Triangles {
        total,
        per_node,
        degree,
        transitivity,
        average_clustering: 0.0,
    };
    let n = t.node_count();
    if n > 0 {
        let sum: f64 = nodes
            .ones()
            .map(|v| result.clustering(NodeId(v as u64)))
            .sum();
        result.average_clustering = sum / n as f64;
    }
    result
}
