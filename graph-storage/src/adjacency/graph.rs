//! [`Graph`]: one version of the adjacency in RAM, pages of sorted lists
//! behind two levels of `Arc`s.
//!
//! A version is cloned in O(1) (an `Arc`) to pin it for a snapshot or a
//! whole-graph computation. A commit changes the current version through
//! `Arc::make_mut` at each level: what no pinned version shares is changed
//! in place, and what one shares is copied first (its root, the inner
//! nodes and the pages the commit touches), so a pinned version never sees
//! a later commit and an unpinned store copies nothing.

use std::mem::size_of;
use std::sync::Arc;

use graph_core::EdgeId;

use super::column::{Column, EdgeValue};
use super::page::{Change, Entry, Lists, PAGE_NODES, PAGE_SHIFT};

/// What a page slot costs, shared empty page or not: its pointer and its
/// share of an inner node.
pub(crate) const SLOT_BYTES: usize = size_of::<Arc<Lists>>() + size_of::<Inner>() / INNER_PAGES + 1;

/// Pages per inner node, as a shift.
const INNER_SHIFT: u32 = 10;
/// Pages per inner node.
const INNER_PAGES: usize = 1 << INNER_SHIFT;

/// The outgoing direction, as an index of [`Graph`]'s trees.
pub(crate) const OUT: usize = 0;
/// The incoming direction (see [`OUT`]).
pub(crate) const IN: usize = 1;

#[derive(Debug, Clone, Default)]
struct Inner {
    pages: Vec<Arc<Lists>>,
}

/// How many changes ahead [`Tree::apply`] reads their lists.
const TOUCH_AHEAD: usize = 64;

/// A change that would take the adjacency past its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

/// One change of one node's list, as decoded from a commit's write batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Op {
    /// [`OUT`] or [`IN`].
    pub(crate) dir: usize,
    /// The node the entry is filed under.
    pub(crate) node: u32,
    /// The entry.
    pub(crate) entry: Entry,
    /// Written or deleted.
    pub(crate) change: Change,
}

/// The lists of one direction: pages of [`PAGE_NODES`] node ids behind two
/// levels of `Arc`s.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    inners: Vec<Arc<Inner>>,
    /// Pages held, the last one possibly partly beyond the largest id.
    pages: usize,
    /// Entries held.
    entries: u64,
    /// Bytes held by this version's pages, pointers and headers (pages a
    /// pinned version shares are counted in each).
    bytes: usize,
    /// The page every page slot holds until a node of it gets an entry.
    empty: Arc<Lists>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            inners: Vec::new(),
            pages: 0,
            entries: 0,
            bytes: size_of::<Tree>(),
            empty: Arc::new(Lists::default()),
        }
    }
}

impl Tree {
    /// A tree of `pages` (each with its index, ascending); the pages
    /// between them are the shared empty one.
    fn from_pages(pages: Vec<(usize, Lists)>) -> Self {
        let mut t = Tree::default();
        for (index, page) in pages {
            while t.pages < index {
                let empty = Arc::clone(&t.empty);
                t.push_page(empty);
            }
            let n = page.len() as u64;
            t.entries += n;
            let page = if n == 0 {
                Arc::clone(&t.empty)
            } else {
                t.bytes += page.bytes();
                Arc::new(page)
            };
            t.push_page(page);
        }
        t
    }

    fn push_page(&mut self, page: Arc<Lists>) {
        if self.pages.is_multiple_of(INNER_PAGES) {
            self.inners.push(Arc::new(Inner {
                pages: Vec::with_capacity(INNER_PAGES),
            }));
            self.bytes += size_of::<Inner>() + INNER_PAGES * size_of::<Arc<Lists>>();
        }
        if let Some(inner) = self.inners.last_mut() {
            Arc::make_mut(inner).pages.push(page);
        }
        self.pages += 1;
    }

    /// Page `i`.
    #[inline]
    pub(crate) fn page(&self, i: usize) -> Option<&Lists> {
        self.inners
            .get(i >> INNER_SHIFT)?
            .pages
            .get(i & (INNER_PAGES - 1))
            .map(|p| &**p)
    }

    /// How many pages are held.
    pub(crate) fn page_count(&self) -> usize {
        self.pages
    }

    #[inline]
    fn list(&self, node: u64) -> &[Entry] {
        let Ok(p) = usize::try_from(node >> PAGE_SHIFT) else {
            return &[];
        };
        match self.page(p) {
            Some(page) => page.list(node as usize & (PAGE_NODES - 1)),
            None => &[],
        }
    }

    /// Applies `ops` of this direction, sorted by node and entry, the last
    /// change of an entry winning.
    ///
    /// # Errors
    /// [`TooLarge`] (and nothing is applied) when the page slots up to the
    /// largest node id would take more than `limit` bytes.
    fn apply(&mut self, ops: &[Op], limit: u64) -> Result<(), TooLarge> {
        if let Some(last) = ops.last() {
            let pages = (last.node >> PAGE_SHIFT) as usize + 1;
            let more = pages.saturating_sub(self.pages) * SLOT_BYTES;
            if (self.bytes + more) as u64 > limit {
                return Err(TooLarge);
            }
        }
        let mut changes: Vec<(usize, Entry, Change)> = Vec::new();
        let mut scratch: Vec<Entry> = Vec::new();
        let mut rest = ops;
        // How far ahead `touch` has read.
        let mut touched = 0usize;
        while let Some(first) = rest.first() {
            // Read ahead the lists of the next changes, in a run of
            // independent loads the processor overlaps, so the changes
            // below find them in cache (the pages are scattered in memory:
            // one by one, each costs a full memory latency).
            let done = ops.len() - rest.len();
            if touched <= done {
                touched = done + self.touch(&ops[done..], TOUCH_AHEAD);
            }
            let page = first.node >> PAGE_SHIFT;
            let n = rest.partition_point(|o| o.node >> PAGE_SHIFT == page);
            let (run, later) = rest.split_at(n);
            rest = later;
            changes.clear();
            for (i, o) in run.iter().enumerate() {
                // The last change of each entry.
                if run
                    .get(i + 1)
                    .is_some_and(|next| next.node == o.node && next.entry == o.entry)
                {
                    continue;
                }
                let slot = o.node as usize & (PAGE_NODES - 1);
                changes.push((slot, o.entry, o.change));
            }
            self.apply_page(page as usize, &changes, &mut scratch);
        }
        Ok(())
    }

    /// Reads the page header and list of the first `n` of `ops`; how many
    /// it read.
    fn touch(&self, ops: &[Op], n: usize) -> usize {
        let mut sum = 0u64;
        for o in ops.iter().take(n) {
            let list = self.list(u64::from(o.node));
            sum = sum.wrapping_add(list.first().map_or(0, |e| e.edge));
            sum = sum.wrapping_add(list.last().map_or(0, |e| e.edge));
        }
        std::hint::black_box(sum);
        ops.len().min(n)
    }

    fn apply_page(
        &mut self,
        page: usize,
        changes: &[(usize, Entry, Change)],
        scratch: &mut Vec<Entry>,
    ) {
        while self.pages <= page {
            let empty = Arc::clone(&self.empty);
            self.push_page(empty);
        }
        let Some(inner) = self.inners.get_mut(page >> INNER_SHIFT) else {
            return;
        };
        let Some(slot) = Arc::make_mut(inner).pages.get_mut(page & (INNER_PAGES - 1)) else {
            return;
        };
        let was_empty = Arc::ptr_eq(slot, &self.empty);
        let page = Arc::make_mut(slot);
        let before = if was_empty { 0 } else { page.bytes() };
        let grew = page.apply(changes, scratch);
        self.entries = self.entries.saturating_add_signed(grew as i64);
        let after = page.bytes();
        self.bytes = (self.bytes + after).saturating_sub(before);
    }
}

/// One version of the adjacency in RAM (see the module documentation).
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    /// The outgoing and the incoming lists.
    trees: [Tree; 2],
    /// Projected edge properties.
    columns: Vec<Column>,
}

/// The bytes an adjacency of `edges` edges over node ids below `bound`
/// holds at least once built: two entries per edge and the page slots.
pub(crate) fn estimate_bytes(bound: u64, edges: u64) -> u64 {
    let pages = bound.div_ceil(PAGE_NODES as u64);
    let entries = edges.saturating_mul(2 * size_of::<Entry>() as u64);
    let headers = pages.saturating_mul(2 * (size_of::<Lists>() + size_of::<Arc<Lists>>()) as u64);
    entries.saturating_add(headers)
}

impl Graph {
    /// A graph of the outgoing and incoming pages built from `indices`
    /// (each with its index, ascending).
    pub(crate) fn from_pages(out: Vec<(usize, Lists)>, inc: Vec<(usize, Lists)>) -> Self {
        Graph {
            trees: [Tree::from_pages(out), Tree::from_pages(inc)],
            columns: Vec::new(),
        }
    }

    /// The lists of direction `dir`.
    #[inline]
    pub(crate) fn tree(&self, dir: usize) -> &Tree {
        &self.trees[dir & 1]
    }

    /// One past the largest node id a page is held for.
    pub(crate) fn node_bound(&self) -> u64 {
        let pages = self.trees[OUT].pages.max(self.trees[IN].pages);
        (pages as u64) << PAGE_SHIFT
    }

    /// The sorted list of `node` in `dir` (empty for an id no page holds).
    #[inline]
    pub(crate) fn list(&self, dir: usize, node: u64) -> &[Entry] {
        self.tree(dir).list(node)
    }

    /// The entries of direction `dir` (equal in number to the edges for
    /// either direction, in a store whose adjacency is whole).
    pub(crate) fn entries(&self, dir: usize) -> u64 {
        self.tree(dir).entries
    }

    /// The bytes this version holds, its columns included.
    pub(crate) fn bytes(&self) -> usize {
        size_of::<Graph>()
            + self.trees[OUT].bytes
            + self.trees[IN].bytes
            + self.columns.iter().map(Column::bytes).sum::<usize>()
    }

    /// The projected edge properties, in the order they were added.
    pub(crate) fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column of edge property `name`, if projected.
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name() == name)
    }

    /// Adds (or replaces) a projected edge property.
    pub(crate) fn add_column(&mut self, column: Column) {
        self.columns.retain(|c| c.name() != column.name());
        self.columns.push(column);
    }

    /// Removes the projection of edge property `name`; whether there was one.
    pub(crate) fn remove_column(&mut self, name: &str) -> bool {
        let before = self.columns.len();
        self.columns.retain(|c| c.name() != name);
        self.columns.len() != before
    }

    /// Sets the values of edge `id`, one per column in order.
    pub(crate) fn set_edge_values(&mut self, id: EdgeId, values: &[EdgeValue]) {
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.set(id, *value);
        }
    }

    /// Applies `ops` in their order (the last change of an entry wins);
    /// `ops` is left sorted by direction, node and entry.
    ///
    /// # Errors
    /// [`TooLarge`] when the page slots the ops need would take the graph
    /// past `limit` bytes (checked before anything is allocated; the graph
    /// is then to be dropped).
    pub(crate) fn apply(&mut self, ops: &mut [Op], limit: u64) -> Result<(), TooLarge> {
        // Stable, and linear on the sorted runs a commit's batch holds
        // (its adjacency keys are sorted by direction, node and entry):
        // changes of one entry keep their order.
        let key = |o: &Op| (o.dir, o.node, o.entry);
        if !ops.is_sorted_by_key(key) {
            ops.sort_by_key(key);
        }
        let split = ops.partition_point(|o| o.dir == OUT);
        let (out_ops, in_ops) = ops.split_at(split);
        let [out, inc] = &mut self.trees;
        out.apply(out_ops, limit)?;
        inc.apply(in_ops, limit)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn op() -> impl Strategy<Value = Op> {
        (
            prop_oneof![Just(OUT), Just(IN)],
            // Several pages, and slots at page edges.
            prop_oneof![0u32..4, 60u32..70, 2_000u32..2_003, Just(70_000)],
            0u32..2,
            0u32..3,
            0u64..3,
            prop_oneof![Just(Change::Put), Just(Change::Delete)],
        )
            .prop_map(|(dir, node, ty, other, edge, change)| Op {
                dir,
                node,
                entry: Entry { ty, other, edge },
                change,
            })
    }

    type Model = BTreeSet<(usize, u32, Entry)>;

    fn check(g: &Graph, model: &Model) -> Result<(), TestCaseError> {
        for dir in [OUT, IN] {
            let want: Vec<(u32, Entry)> = model
                .iter()
                .filter(|(d, _, _)| *d == dir)
                .map(|(_, n, e)| (*n, *e))
                .collect();
            let mut got = Vec::new();
            let tree = g.tree(dir);
            for p in 0..tree.page_count() {
                let Some(page) = tree.page(p) else {
                    return Err(TestCaseError::fail(format!("page {p} missing")));
                };
                for slot in 0..PAGE_NODES {
                    let node = (p * PAGE_NODES + slot) as u32;
                    let list = page.list(slot);
                    prop_assert_eq!(list, g.list(dir, u64::from(node)));
                    got.extend(list.iter().map(|e| (node, *e)));
                }
            }
            prop_assert_eq!(g.entries(dir), want.len() as u64);
            prop_assert_eq!(got, want);
        }
        Ok(())
    }

    proptest! {
        /// Commits of random changes, with versions pinned in between:
        /// the current version follows a set of entries, and every pinned
        /// version still shows the state of its moment.
        #[test]
        fn versions_follow_a_set_model(commits in proptest::collection::vec(
            (proptest::collection::vec(op(), 0..30), any::<bool>()), 1..8)) {
            let mut g = Arc::new(Graph::default());
            let mut model = Model::new();
            let mut pinned: Vec<(Arc<Graph>, Model)> = Vec::new();
            for (mut ops, pin) in commits {
                for o in &ops {
                    match o.change {
                        Change::Put => { model.insert((o.dir, o.node, o.entry)); }
                        Change::Delete => { model.remove(&(o.dir, o.node, o.entry)); }
                    }
                }
                prop_assert!(Arc::make_mut(&mut g).apply(&mut ops, u64::MAX).is_ok());
                check(&g, &model)?;
                if pin {
                    pinned.push((Arc::clone(&g), model.clone()));
                }
            }
            for (version, state) in &pinned {
                check(version, state)?;
            }
            prop_assert_eq!(g.list(OUT, u64::MAX), &[]);
        }
    }

    #[test]
    fn bytes_follow_the_pages_held() {
        let mut g = Graph::default();
        let base = g.bytes();
        let e = Entry {
            ty: 1,
            other: 2,
            edge: 3,
        };
        let mut ops = vec![Op {
            dir: OUT,
            node: 5,
            entry: e,
            change: Change::Put,
        }];
        assert!(g.apply(&mut ops, u64::MAX).is_ok());
        assert!(g.bytes() > base);
        assert_eq!(g.list(OUT, 5), [e]);
        ops[0].change = Change::Delete;
        assert!(g.apply(&mut ops, u64::MAX).is_ok());
        // A node id whose page slots exceed the limit is refused.
        ops[0].node = u32::MAX;
        assert_eq!(g.apply(&mut ops, 1 << 20), Err(TooLarge));
        assert!(g.list(OUT, 5).is_empty());
        assert_eq!(g.entries(OUT), 0);
        assert!(estimate_bytes(1_000_000, 2_000_000) >= 64_000_000);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// What commits of 10,000 edges cost the adjacency alone (run by hand:
    /// `cargo test --release -p graph-storage --lib speed -- --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement, run by hand"]
    fn commits_of_ten_thousand_edges() {
        let nodes = 1_000_000u64;
        let mut g = Graph::default();
        let mut x = 42u64;
        let mut rand = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let started = std::time::Instant::now();
        let mut applying = std::time::Duration::ZERO;
        let mut edge = 0u64;
        for _ in 0..200 {
            let mut ops = Vec::with_capacity(20_000);
            for _ in 0..10_000 {
                // Skewed sources (a few hubs), uniform targets.
                let r = rand() % 1000;
                let src = if r < 300 {
                    rand() % 100
                } else {
                    rand() % nodes
                };
                let dst = rand() % nodes;
                let ty = (rand() % 5) as u32;
                for (dir, node, other) in [(OUT, src, dst), (IN, dst, src)] {
                    ops.push(Op {
                        dir,
                        node: node as u32,
                        entry: Entry {
                            ty,
                            other: other as u32,
                            edge,
                        },
                        change: Change::Put,
                    });
                }
                edge += 1;
            }
            // As a batch holds them: by direction, node and entry.
            ops.sort_by_key(|o| (o.dir, o.node, o.entry));
            let t = std::time::Instant::now();
            assert!(g.apply(&mut ops, u64::MAX).is_ok());
            applying += t.elapsed();
        }
        let took = started.elapsed();
        eprintln!(
            "2M edges in 200 commits: {:.2} s in all, {:.0} ns per edge applying, {} MiB",
            took.as_secs_f64(),
            applying.as_nanos() as f64 / edge as f64,
            g.bytes() >> 20
        );
        assert_eq!(g.entries(OUT), edge);
    }
}
