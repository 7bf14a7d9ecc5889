//! Weakly and strongly connected components.

use graph_storage::{Direction, NodeId};

use crate::progress::Progress;
use crate::topology::Topology;

/// A partition of the nodes into components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Components {
    /// The component of every node id below the topology's node bound,
    /// named by its smallest node id; [`Components::NONE`] for an id
    /// without a node.
    pub labels: Vec<u64>,
    /// How many components there are.
    pub count: usize,
    /// How many nodes the largest one holds.
    pub largest: usize,
}

impl Components {
    /// The label of an id without a node.
    pub const NONE: u64 = u64::MAX;

    /// The component of `node` (its smallest node id), if it exists.
    pub fn of(&self, node: NodeId) -> Option<NodeId> {
        let label = *self.labels.get(usize::try_from(node.0).ok()?)?;
        (label != Self::NONE).then_some(NodeId(label))
    }

    /// Labels as given, named by the smallest node id of each, counted.
    fn named(t: &Topology<'_>, mut root_of: impl FnMut(usize) -> usize) -> Self {
        let bound = t.node_bound();
        let mut smallest = vec![u64::MAX; bound];
        for v in t.node_set().ones() {
            let r = root_of(v);
            smallest[r] = smallest[r].min(v as u64);
        }
        let mut labels = vec![Self::NONE; bound];
        let mut sizes = vec![0usize; bound];
        let mut count = 0;
        for v in t.node_set().ones() {
            let label = smallest[root_of(v)];
            labels[v] = label;
            let size = &mut sizes[label as usize];
            if *size == 0 {
                count += 1;
            }
            *size += 1;
        }
        Components {
            labels,
            count,
            largest: sizes.into_iter().max().unwrap_or(0),
        }
    }
}

/// Weakly connected components: nodes joined by edges in either
/// direction. Union-find over every edge once (path halving, union by
/// size). Extra memory: 16 bytes per node id.
pub fn weakly_connected_components(
    t: &Topology<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Components {
    let bound = t.node_bound();
    let mut parent: Vec<usize> = (0..bound).collect();
    let mut size = vec![1u32; bound];
    fn find(parent: &mut [usize], mut v: usize) -> usize {
        while parent[v] != v {
            parent[v] = parent[parent[v]];
            v = parent[v];
        }
        v
    }
    let total = t.edge_count();
    let mut done = 0u64;
    for e in t.adjacency().all_edges() {
        let (a, b) = (e.src.0 as usize, e.dst.0 as usize);
        if a >= bound || b >= bound {
            continue;
        }
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            let (big, small) = if size[ra] >= size[rb] {
                (ra, rb)
            } else {
                (rb, ra)
            };
            parent[small] = big;
            size[big] += size[small];
        }
        done += 1;
        if done.is_multiple_of(1 << 20) {
            progress(Progress::of("wcc", "edges", done, total));
        }
    }
    progress(Progress::of("wcc", "edges", done, total));
    Components::named(t, |v| find(&mut parent, v))
}

/// Strongly connected components: nodes that reach each other along
/// edges. Tarjan's algorithm without recursion (an explicit stack), one
/// pass over the outgoing lists. Extra memory: about 24 bytes per node id
/// plus the search stack.
pub fn strongly_connected_components(
    t: &Topology<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Components {
    const UNSEEN: u32 = u32::MAX;
    let bound = t.node_bound();
    let adj = t.adjacency();
    let mut index = vec![UNSEEN; bound];
    let mut low = vec![0u32; bound];
    let mut on_stack = fixedbitset::FixedBitSet::with_capacity(bound);
    let mut comp = vec![usize::MAX; bound];
    let mut stack: Vec<usize> = Vec::new();
    // The search: (node, position in its out-list).
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut next_index = 0u32;
    let mut seen = 0u64;
    let total = t.node_count() as u64;
    for root in t.node_set().ones() {
        if index[root] != UNSEEN {
            continue;
        }
        calls.push((root, 0));
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            let list = adj.neighbors(NodeId(v as u64), Direction::Outgoing);
            if let Some(w) = list.clone().nth(*pos) {
                *pos += 1;
                let w = w.0 as usize;
                if w >= bound {
                    continue;
                }
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack.insert(w);
                    calls.push((w, 0));
                } else if on_stack.contains(w) {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack.set(w, false);
                    comp[w] = v;
                    seen += 1;
                    if w == v {
                        break;
                    }
                }
                if seen.is_multiple_of(1 << 16) || seen == total {
                    progress(Progress::of("scc", "nodes", seen, total));
                }
            }
        }
    }
    progress(Progress::of("scc", "nodes", seen, total));
    Components::named(t, |v| comp[v])
}
