//! The adjacency in RAM: every node's outgoing and incoming edges, held as
//! sorted lists beside the engine, so traversals and whole-graph work run
//! at memory speed while `indices` stays the truth on disk.
//!
//! It is derived data, built from `indices` when the store opens (on a
//! thread of its own; reads go to the engine until it is ready) and kept
//! equal to it by every commit (`cache.rs`). A snapshot pins the version
//! of its moment (`graph.rs`). When it does not fit its budget, or is
//! turned off, every read goes to the engine as before.

mod build;
mod cache;
mod column;
mod graph;
mod page;

use std::sync::{Arc, PoisonError, RwLock};

use graph_core::codec::SymbolId;
use graph_core::{Direction, EdgeId, NodeId};

use crate::catalog::Symbols;

pub use cache::AdjacencyStatus;
pub(crate) use cache::{AdjacencyCache, default_budget};
pub(crate) use column::Column;
pub use column::EdgeValue;
pub(crate) use graph::{Graph, IN, OUT, estimate_bytes};
pub(crate) use page::Entry;

/// An edge type's id: the symbol id the store numbered the type with.
/// Resolve names with [`Adjacency::edge_type_id`] and
/// [`Adjacency::edge_type_name`].
pub type EdgeTypeId = SymbolId;

/// One edge as the adjacency holds it: ids only, nothing decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EdgeEntry {
    /// The edge.
    pub id: EdgeId,
    /// Its source.
    pub src: NodeId,
    /// Its target.
    pub dst: NodeId,
    /// Its type.
    pub edge_type: EdgeTypeId,
}

/// The adjacency of a store held in RAM, frozen at one moment: a version
/// pinned by [`GraphReader::adjacency`](crate::GraphReader::adjacency).
///
/// Every call answers from memory, without the engine, locks or
/// allocation: the way to walk a graph at memory speed (a breadth-first
/// search, PageRank, degrees of every node). Commits after the moment it
/// was pinned do not change it; holding it makes the next commit copy the
/// pages it touches (once), so drop it when done.
///
/// Node ids are those of the store. Lists are in the order of
/// [`GraphReader::edges`](crate::GraphReader::edges): by (type id, other
/// node, edge id); with [`Direction::Both`] the outgoing edges come first
/// and a self-loop appears twice.
#[derive(Clone)]
pub struct Adjacency<'s> {
    graph: Arc<Graph>,
    symbols: &'s RwLock<Symbols>,
}

impl std::fmt::Debug for Adjacency<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adjacency")
            .field("node_bound", &self.node_bound())
            .field("edges", &self.edge_count())
            .finish()
    }
}

/// The neighbours of a node in one direction or both, from
/// [`Adjacency::neighbors`].
#[derive(Debug, Clone)]
pub struct Neighbors<'a> {
    first: std::slice::Iter<'a, Entry>,
    second: std::slice::Iter<'a, Entry>,
}

impl Iterator for Neighbors<'_> {
    type Item = NodeId;

    #[inline]
    fn next(&mut self) -> Option<NodeId> {
        self.first.next().or_else(|| self.second.next()).map(other)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.first.len() + self.second.len();
        (n, Some(n))
    }

    /// In constant time.
    fn nth(&mut self, n: usize) -> Option<NodeId> {
        let skip_first = self.first.len();
        if n < skip_first {
            return self.first.nth(n).map(other);
        }
        self.first = [].iter();
        self.second.nth(n - skip_first).map(other)
    }
}

impl ExactSizeIterator for Neighbors<'_> {}

#[inline]
fn other(e: &Entry) -> NodeId {
    NodeId(u64::from(e.other))
}

impl<'s> Adjacency<'s> {
    pub(crate) fn new(graph: Arc<Graph>, symbols: &'s RwLock<Symbols>) -> Self {
        Adjacency { graph, symbols }
    }

    /// One past the largest node id the adjacency has room for: every node
    /// with an edge has a smaller id (nodes above it have no edges).
    pub fn node_bound(&self) -> u64 {
        self.graph.node_bound()
    }

    /// The number of edges.
    pub fn edge_count(&self) -> u64 {
        self.graph.entries(OUT)
    }

    /// The bytes this version holds.
    pub fn bytes(&self) -> u64 {
        self.graph.bytes() as u64
    }

    /// The lists of `node` in `dir`: the outgoing one (empty unless `dir`
    /// asks for it), and the incoming one likewise.
    #[inline]
    fn lists(&self, node: NodeId, dir: Direction) -> (&[Entry], &[Entry]) {
        let g = &*self.graph;
        match dir {
            Direction::Outgoing => (g.list(OUT, node.0), &[]),
            Direction::Incoming => (&[], g.list(IN, node.0)),
            Direction::Both => (g.list(OUT, node.0), g.list(IN, node.0)),
        }
    }

    /// How many edges `node` has in `dir` (a self-loop counts once each
    /// way).
    #[inline]
    pub fn degree(&self, node: NodeId, dir: Direction) -> u64 {
        let (a, b) = self.lists(node, dir);
        (a.len() + b.len()) as u64
    }

    /// The nodes at the other end of `node`'s edges in `dir`, once per
    /// edge.
    #[inline]
    pub fn neighbors(&self, node: NodeId, dir: Direction) -> Neighbors<'_> {
        let (a, b) = self.lists(node, dir);
        Neighbors {
            first: a.iter(),
            second: b.iter(),
        }
    }

    /// The edges of `node` in `dir`, optionally of one type.
    #[inline]
    pub fn edges(
        &self,
        node: NodeId,
        dir: Direction,
        edge_type: Option<EdgeTypeId>,
    ) -> impl Iterator<Item = EdgeEntry> + '_ {
        let (a, b) = self.lists(node, dir);
        let (a, b) = match edge_type {
            Some(t) => (of_type(a, t.0), of_type(b, t.0)),
            None => (a, b),
        };
        let out = a.iter().map(move |e| EdgeEntry {
            id: EdgeId(e.edge),
            src: node,
            dst: other(e),
            edge_type: SymbolId(e.ty),
        });
        let inc = b.iter().map(move |e| EdgeEntry {
            id: EdgeId(e.edge),
            src: other(e),
            dst: node,
            edge_type: SymbolId(e.ty),
        });
        out.chain(inc)
    }

    /// The values of edge property `name` by edge id, if it is projected
    /// (see [`GraphStore::project_edge_property`](crate::GraphStore::project_edge_property)).
    pub fn edge_values(&self, name: &str) -> Option<EdgeValues> {
        let index = self.graph.columns().iter().position(|c| c.name() == name)?;
        Some(EdgeValues {
            graph: Arc::clone(&self.graph),
            index,
        })
    }

    /// The id of edge type `name`, if the store has named it.
    pub fn edge_type_id(&self, name: &str) -> Option<EdgeTypeId> {
        self.symbols
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .id(name)
    }

    /// The name of edge type `id`.
    pub fn edge_type_name(&self, id: EdgeTypeId) -> Option<Arc<str>> {
        self.symbols
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .name(id)
            .cloned()
    }

    /// The degree in `dir` of every node id below [`node_bound`](Self::node_bound),
    /// indexed by id.
    pub fn degrees(&self, dir: Direction) -> Vec<u32> {
        let g = &*self.graph;
        let mut out = vec![0u32; g.node_bound() as usize];
        let dirs: &[usize] = match dir {
            Direction::Outgoing => &[OUT],
            Direction::Incoming => &[IN],
            Direction::Both => &[OUT, IN],
        };
        for &d in dirs {
            let tree = g.tree(d);
            for p in 0..tree.page_count() {
                let Some(page) = tree.page(p) else { break };
                let first = p << page::PAGE_SHIFT;
                for (slot, n) in out.iter_mut().skip(first).zip(page.lengths()) {
                    *slot += n as u32;
                }
            }
        }
        out
    }

    /// Every edge, once each, by source id (then as [`edges`](Self::edges)
    /// orders them): [`for_each_edge`](Self::for_each_edge) as an
    /// iterator.
    pub fn all_edges(&self) -> AllEdges<'_> {
        AllEdges {
            graph: &self.graph,
            page: 0,
            slot: 0,
            pos: 0,
        }
    }

    /// Calls `f` for every edge, once each, by source id (then as
    /// [`edges`](Self::edges) orders them).
    pub fn for_each_edge(&self, mut f: impl FnMut(EdgeEntry)) {
        self.visit_pages(0..self.graph.tree(OUT).page_count(), &mut f);
    }

    fn visit_pages(&self, pages: std::ops::Range<usize>, f: &mut impl FnMut(EdgeEntry)) {
        let tree = self.graph.tree(OUT);
        for p in pages {
            let Some(lists) = tree.page(p) else { break };
            let first = (p as u64) << page::PAGE_SHIFT;
            for (slot, src) in (0..page::PAGE_NODES).zip(first..) {
                for e in lists.list(slot) {
                    f(EdgeEntry {
                        id: EdgeId(e.edge),
                        src: NodeId(src),
                        dst: other(e),
                        edge_type: SymbolId(e.ty),
                    });
                }
            }
        }
    }

    /// Folds every edge on all the machine's cores: each thread starts
    /// from `init()`, folds a share of the edges (whole pages of source
    /// ids) with `fold`, and its result is one item of the returned
    /// vector, in no particular order. Combine them as the fold needs.
    pub fn fold_edges<A: Send>(
        &self,
        init: impl Fn() -> A + Sync,
        fold: impl Fn(&mut A, EdgeEntry) + Sync,
    ) -> Vec<A> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pages = self.graph.tree(OUT).page_count();
        let chunk = pages.div_ceil(threads.max(1)).max(1);
        if threads <= 1 || pages <= chunk {
            let mut acc = init();
            self.visit_pages(0..pages, &mut |e| fold(&mut acc, e));
            return vec![acc];
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..pages)
                .step_by(chunk)
                .map(|start| {
                    let (init, fold) = (&init, &fold);
                    s.spawn(move || {
                        let mut acc = init();
                        self.visit_pages(start..(start + chunk).min(pages), &mut |e| {
                            fold(&mut acc, e)
                        });
                        acc
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join() {
                    Ok(acc) => acc,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }
}

/// Every edge of an [`Adjacency`], from [`Adjacency::all_edges`].
#[derive(Debug, Clone)]
pub struct AllEdges<'a> {
    graph: &'a Graph,
    page: usize,
    slot: usize,
    pos: usize,
}

impl Iterator for AllEdges<'_> {
    type Item = EdgeEntry;

    fn next(&mut self) -> Option<EdgeEntry> {
        let tree = self.graph.tree(OUT);
        loop {
            let lists = tree.page(self.page)?;
            let list = lists.list(self.slot);
            if let Some(e) = list.get(self.pos) {
                self.pos += 1;
                let src = ((self.page as u64) << page::PAGE_SHIFT) + self.slot as u64;
                return Some(EdgeEntry {
                    id: EdgeId(e.edge),
                    src: NodeId(src),
                    dst: other(e),
                    edge_type: SymbolId(e.ty),
                });
            }
            self.pos = 0;
            self.slot += 1;
            if self.slot == page::PAGE_NODES {
                self.slot = 0;
                self.page += 1;
            }
        }
    }
}

/// One edge property of every edge, projected beside the adjacency (see
/// [`Adjacency::edge_values`]); it holds the version of the adjacency it
/// came from.
#[derive(Clone)]
pub struct EdgeValues {
    graph: Arc<Graph>,
    index: usize,
}

impl std::fmt::Debug for EdgeValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeValues")
            .field("property", &self.column().map(Column::name))
            .finish()
    }
}

impl EdgeValues {
    fn column(&self) -> Option<&Column> {
        self.graph.columns().get(self.index)
    }

    /// The value of edge `id`.
    #[inline]
    pub fn get(&self, id: EdgeId) -> EdgeValue {
        self.column().map_or(EdgeValue::Absent, |c| c.get(id))
    }

    /// Every edge whose value is a number, by ascending id, with the
    /// number: a sequential scan of the column, the fastest way to
    /// aggregate the property over all edges.
    pub fn numbers(&self) -> impl Iterator<Item = (EdgeId, f64)> + '_ {
        self.column().into_iter().flat_map(Column::numbers)
    }
}

/// The entries of type `ty` in a sorted list.
pub(crate) fn of_type(list: &[Entry], ty: u32) -> &[Entry] {
    let a = list.partition_point(|e| e.ty < ty);
    let b = list.partition_point(|e| e.ty <= ty);
    list.get(a..b).unwrap_or_default()
}

/// Where a reader's adjacency reads come from.
pub(crate) enum RamSource<'s> {
    /// The live store's adjacency, whatever is current at each read.
    Live(&'s AdjacencyCache),
    /// A version pinned with a snapshot (none when it was not ready then).
    Pinned(Option<Arc<Graph>>),
}

impl RamSource<'_> {
    /// Runs `f` on the adjacency in RAM if there is one for this reader.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Graph) -> R) -> Option<R> {
        match self {
            RamSource::Live(cache) => cache.with_graph(f),
            RamSource::Pinned(Some(g)) => Some(f(g)),
            RamSource::Pinned(None) => None,
        }
    }

    /// The adjacency in RAM of this reader, pinned: for the live store,
    /// once it holds every commit made before the call (see
    /// `AdjacencyCache::pin`).
    pub(crate) fn pin(&self) -> Option<Arc<Graph>> {
        match self {
            RamSource::Live(cache) => cache.pin(),
            RamSource::Pinned(g) => g.clone(),
        }
    }

    /// As [`pin`](Self::pin), without waiting: `None` while the live
    /// store's adjacency has commits to apply.
    pub(crate) fn try_pin(&self) -> Option<Arc<Graph>> {
        match self {
            RamSource::Live(cache) => cache.try_pin(),
            RamSource::Pinned(g) => g.clone(),
        }
    }
}
