//! PageRank by power iteration, pulling over the incoming lists on all
//! cores.

use graph_storage::{Direction, NodeId};

use crate::error::{AlgoError, Result};
use crate::progress::Progress;
use crate::topology::{Topology, chunks};

/// How PageRank runs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PageRankOptions {
    /// The probability of following an edge rather than jumping to a
    /// random node (default 0.85).
    pub damping: f64,
    /// Iterations at most (default 1,000).
    pub max_iterations: u32,
    /// Iteration stops once the ranks change by less than this in all
    /// (the L1 norm of the change; default 1e-10, which puts the ranks
    /// within 6e-10 of the exact solution in all, each rank far closer).
    pub tolerance: f64,
    /// Whether edges are followed both ways, as in an undirected graph
    /// (default: no, along their direction).
    pub undirected: bool,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        PageRankOptions {
            damping: 0.85,
            max_iterations: 1_000,
            tolerance: 1e-10,
            undirected: false,
        }
    }
}

impl PageRankOptions {
    /// These options with another damping factor.
    pub fn damping(mut self, d: f64) -> Self {
        self.damping = d;
        self
    }

    /// These options with another iteration limit.
    pub fn max_iterations(mut self, n: u32) -> Self {
        self.max_iterations = n;
        self
    }

    /// These options with another tolerance.
    pub fn tolerance(mut self, t: f64) -> Self {
        self.tolerance = t;
        self
    }

    /// These options following edges both ways, or not.
    pub fn undirected(mut self, both_ways: bool) -> Self {
        self.undirected = both_ways;
        self
    }
}

/// PageRank's result.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRank {
    /// The rank of every node id below the topology's node bound (0 for
    /// an id without a node); the ranks of the nodes sum to 1.
    pub ranks: Vec<f64>,
    /// Iterations run.
    pub iterations: u32,
    /// The L1 norm of the last iteration's change.
    pub delta: f64,
    /// Whether `delta` fell below the tolerance.
    pub converged: bool,
}

impl PageRank {
    /// The rank of `node` (0 for an id without a node).
    pub fn rank(&self, node: NodeId) -> f64 {
        usize::try_from(node.0)
            .ok()
            .and_then(|i| self.ranks.get(i))
            .copied()
            .unwrap_or(0.0)
    }
}

/// PageRank of every node, as igraph's PRPACK and networkx compute it:
/// with probability `damping` a walker follows one of the current node's
/// out-edges (each edge, parallel ones and self-loops included, with
/// probability proportional to its weight when the topology is weighted;
/// any of its edges, either way, with [`PageRankOptions::undirected`]),
/// otherwise it jumps to a node chosen uniformly; from a node without
/// out-edges (dangling) it jumps to a node chosen uniformly.
///
/// Each iteration pulls every node's new rank over its incoming list, on
/// all cores, from a compact copy of the incoming lists made first. Extra
/// memory: that copy (8 bytes per node id and 4 per edge, 12 weighted;
/// twice the edges undirected) and six vectors of 8 bytes per node id.
///
/// # Errors
/// [`AlgoError::InvalidArgument`] for a damping factor outside [0, 1] or a
/// tolerance that is negative or not a number; [`AlgoError::BadWeight`]
/// for a negative or infinite weight.
pub fn pagerank(
    t: &Topology<'_>,
    options: &PageRankOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<PageRank> {
    let d = options.damping;
    if !(0.0..=1.0).contains(&d) {
        return Err(AlgoError::InvalidArgument(format!(
            "the damping factor must lie between 0 and 1, not {d}"
        )));
    }
    if options.tolerance.is_nan() || options.tolerance < 0.0 {
        return Err(AlgoError::InvalidArgument(format!(
            "the tolerance must be a number of at least 0, not {}",
            options.tolerance
        )));
    }
    let bound = t.node_bound();
    let n = t.node_count();
    if n == 0 {
        return Ok(PageRank {
            ranks: vec![0.0; bound],
            iterations: 0,
            delta: 0.0,
            converged: true,
        });
    }
    // Out-weight of each node: its out-degree, or the sum of its edges'
    // weights (both ways when undirected).
    let (out_dir, in_dir) = if options.undirected {
        (Direction::Both, Direction::Both)
    } else {
        (Direction::Outgoing, Direction::Incoming)
    };
    let mut out_weight = vec![0.0f64; bound];
    if t.weight_property().is_some() {
        for (i, w) in out_weight.iter_mut().enumerate() {
            for e in t.edges(NodeId(i as u64), out_dir) {
                if !(e.weight.is_finite() && e.weight >= 0.0) {
                    return Err(AlgoError::BadWeight {
                        edge: e.id,
                        value: e.weight,
                        algorithm: "PageRank",
                    });
                }
                *w += e.weight;
            }
        }
    } else {
        for (w, deg) in out_weight.iter_mut().zip(t.degrees(out_dir)) {
            *w = f64::from(deg);
        }
    }
    let nodes = t.node_set();
    // The lists pulled from, copied compactly: the sweeps below read them
    // many times, and a tight loop over a flat array keeps many memory
    // reads in flight.
    let csr = t.csr(in_dir, t.weight_property().is_some());
    let start = 1.0 / n as f64;
    let mut x: Vec<f64> = (0..bound)
        .map(|i| if nodes.contains(i) { start } else { 0.0 })
        .collect();
    // 1 / out-weight, 0 for a dangling node (and an id without a node).
    let inverse: Vec<f64> = out_weight
        .iter()
        .map(|&w| if w > 0.0 { 1.0 / w } else { 0.0 })
        .collect();
    // share[u]: what u gives each unit of out-weight; the dangling nodes'
    // rank, spread over all nodes.
    let mut share: Vec<f64> = x.iter().zip(&inverse).map(|(x, i)| x * i).collect();
    let mut dangling: f64 = (0..bound)
        .filter(|&i| nodes.contains(i) && inverse[i] == 0.0)
        .map(|i| x[i])
        .sum();
    let mut x_next = vec![0.0f64; bound];
    let mut share_next = vec![0.0f64; bound];
    let ranges = chunks(bound);
    let (mut iterations, mut delta) = (0u32, f64::INFINITY);
    let (csr, inverse) = (&csr, &inverse);
    while iterations < options.max_iterations && delta >= options.tolerance {
        let base = (1.0 - d) / n as f64 + d * dangling / n as f64;
        let (share_now, x_now) = (&share, &x);
        // Each thread: its range of nodes, their new ranks and shares, its
        // part of the change and of the dangling rank (one range: no thread).
        let sweep = |range: std::ops::Range<usize>, x_mine: &mut [f64], s_mine: &mut [f64]| {
            let (mut change, mut dangling) = (0.0, 0.0);
            for ((v, x_slot), s_slot) in range.zip(x_mine).zip(s_mine) {
                if !nodes.contains(v) {
                    continue;
                }
                let (a, b) = (csr.offsets[v] as usize, csr.offsets[v + 1] as usize);
                let from = &csr.targets[a..b];
                let pulled: f64 = match &csr.weights {
                    Some(w) => from
                        .iter()
                        .zip(&w[a..b])
                        .map(|(&u, &w)| share_now[u as usize] * w)
                        .sum(),
                    None => from.iter().map(|&u| share_now[u as usize]).sum(),
                };
                let new = base + d * pulled;
                change += (new - x_now[v]).abs();
                *x_slot = new;
                *s_slot = new * inverse[v];
                if inverse[v] == 0.0 {
                    dangling += new;
                }
            }
            (change, dangling)
        };
        let parts: Vec<(f64, f64)> = if ranges.len() <= 1 {
            vec![sweep(0..bound, &mut x_next, &mut share_next)]
        } else {
            std::thread::scope(|s| {
                let (mut xs, mut ss): (&mut [f64], &mut [f64]) = (&mut x_next, &mut share_next);
                let mut offset = 0;
                let mut handles = Vec::new();
                for r in &ranges {
                    let (x_mine, x_later) = xs.split_at_mut(r.end - offset);
                    let (s_mine, s_later) = ss.split_at_mut(r.end - offset);
                    (xs, ss) = (x_later, s_later);
                    offset = r.end;
                    let range = r.clone();
                    let sweep = &sweep;
                    handles.push(s.spawn(move || sweep(range, x_mine, s_mine)));
                }
                handles
                    .into_iter()
                    .map(|h| match h.join() {
                        Ok(c) => c,
                        Err(panic) => std::panic::resume_unwind(panic),
                    })
                    .collect()
            })
        };
        delta = parts.iter().map(|p| p.0).sum();
        dangling = parts.iter().map(|p| p.1).sum();
        std::mem::swap(&mut x, &mut x_next);
        std::mem::swap(&mut share, &mut share_next);
        iterations += 1;
        let mut p = Progress::of(
            "pagerank",
            "iterate",
            u64::from(iterations),
            u64::from(options.max_iterations),
        );
        p.value = delta;
        progress(p);
    }
    // Normalized, as igraph and networkx return them (exact arithmetic
    // keeps the sum at 1; floating point drifts by a few ulps).
    let sum: f64 = x.iter().sum();
    if sum > 0.0 {
        for r in &mut x {
            *r /= sum;
        }
    }
    Ok(PageRank {
        ranks: x,
        iterations,
        delta,
        converged: delta < options.tolerance,
    })
}
