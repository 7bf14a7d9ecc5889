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

/// Pages per inner node, as a shift.
const INNER_SHIFT: u32 = 10;
/// Pages per inner node.
const INNER_PAGES: usize = 1 << INNER_SHIFT;

/// The two directions, as indexes of [`Page::dirs`].
pub(crate) const OUT: usize = 0;
/// Incoming lists (see [`OUT`]).
pub(crate) const IN: usize = 1;

/// The lists of [`PAGE_NODES`] node ids, both directions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    pub(crate) dirs: [Lists; 2],
}

impl Page {
    fn bytes(&self) -> usize {
        self.dirs[OUT].bytes() + self.dirs[IN].bytes()
    }

    fn is_empty(&self) -> bool {
        self.dirs[OUT].len() == 0 && self.dirs[IN].len() == 0
    }
}

#[derive(Debug, Clone, Default)]
struct Inner {
    pages: Vec<Arc<Page>>,
}

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

/// One version of the adjacency in RAM (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    inners: Vec<Arc<Inner>>,
    /// Pages held, the last one possibly partly beyond the largest id.
    pages: usize,
    /// Entries held in each direction.
    entries: [u64; 2],
    /// Bytes held by this version's pages, pointers and headers (pages a
    /// pinned version shares are counted in each).
    bytes: usize,
    /// The page every page slot holds until a node of it gets an entry.
    empty: Arc<Page>,
    /// Projected edge properties.
    columns: Vec<Column>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            inners: Vec::new(),
            pages: 0,
            entries: [0; 2],
            bytes: size_of::<Graph>(),
            empty: Arc::new(Page::default()),
            columns: Vec::new(),
        }
    }
}

/// The bytes an adjacency of `edges` edges over node ids below `bound`
/// holds at least once built: two entries per edge and the page slots.
pub(crate) fn estimate_bytes(bound: u64, edges: u64) -> u64 {
    let pages = bound.div_ceil(PAGE_NODES as u64);
    let entries = edges.saturating_mul(2 * size_of::<Entry>() as u64);
    let headers = pages.saturating_mul((size_of::<Page>() + size_of::<Arc<Page>>()) as u64);
    entries.saturating_add(headers)
}

impl Graph {
    /// A graph of the pages in `pages`, page `i` holding node ids
    /// `i * PAGE_NODES ..`; an empty page is stored as the shared empty one.
    pub(crate) fn from_pages(pages: impl IntoIterator<Item = Page>) -> Self {
        let mut g = Graph::default();
        for page in pages {
            g.entries[OUT] += g_len(&page, OUT);
            g.entries[IN] += g_len(&page, IN);
            let page = if page.is_empty() {
                Arc::clone(&g.empty)
            } else {
                g.bytes += page.bytes();
                Arc::new(page)
            };
            g.push_page(page);
        }
        g
    }

    fn push_page(&mut self, page: Arc<Page>) {
        if self.pages.is_multiple_of(INNER_PAGES) {
            self.inners.push(Arc::new(Inner {
                pages: Vec::with_capacity(INNER_PAGES),
            }));
            self.bytes += size_of::<Inner>() + INNER_PAGES * size_of::<Arc<Page>>();
        }
        if let Some(inner) = self.inners.last_mut() {
            Arc::make_mut(inner).pages.push(page);
        }
        self.pages += 1;
    }

    /// One past the largest node id a page is held for.
    pub(crate) fn node_bound(&self) -> u64 {
        (self.pages as u64) << PAGE_SHIFT
    }

    /// How many pages are held.
    pub(crate) fn page_count(&self) -> usize {
        self.pages
    }

    /// Page `i` (`i < page_count()`).
    pub(crate) fn page(&self, i: usize) -> Option<&Page> {
        self.inners
            .get(i >> INNER_SHIFT)?
            .pages
            .get(i & (INNER_PAGES - 1))
            .map(|p| &**p)
    }

    /// The sorted list of `node` in `dir` (empty for an id no page holds).
    pub(crate) fn list(&self, dir: usize, node: u64) -> &[Entry] {
        let Ok(p) = usize::try_from(node >> PAGE_SHIFT) else {
            return &[];
        };
        match self.page(p) {
            Some(page) => page.dirs[dir].list(node as usize & (PAGE_NODES - 1)),
            None => &[],
        }
    }

    /// The entries of direction `dir` (equal in number to the edges for
    /// either direction, in a store whose adjacency is whole).
    pub(crate) fn entries(&self, dir: usize) -> u64 {
        self.entries[dir]
    }

    /// The bytes this version holds, its columns included.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes + self.columns.iter().map(Column::bytes).sum::<usize>()
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

    /// Applies `ops` in their order (the last change of an entry wins) and
    /// returns nothing; `ops` is left sorted by page and list.
    pub(crate) fn apply(&mut self, ops: &mut [Op]) {
        // Stable: changes of one entry keep their order.
        ops.sort_by_key(|o| (o.node >> PAGE_SHIFT, o.dir, o.node, o.entry));
        let mut changes: Vec<(usize, Entry, Change)> = Vec::new();
        let mut rest = &ops[..];
        while let Some(first) = rest.first() {
            let (page, dir) = (first.node >> PAGE_SHIFT, first.dir);
            let n = rest.partition_point(|o| o.node >> PAGE_SHIFT == page && o.dir == dir);
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
            self.apply_page(page as usize, dir, &changes);
        }
    }

    fn apply_page(&mut self, page: usize, dir: usize, changes: &[(usize, Entry, Change)]) {
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
        let grew = page.dirs[dir].apply(changes);
        self.entries[dir] = self.entries[dir].saturating_add_signed(grew as i64);
        let after = page.bytes();
        self.bytes = (self.bytes + after).saturating_sub(before);
    }
}

fn g_len(page: &Page, dir: usize) -> u64 {
    page.dirs[dir].len() as u64
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
            for p in 0..g.page_count() {
                let Some(page) = g.page(p) else {
                    return Err(TestCaseError::fail(format!("page {p} missing")));
                };
                for slot in 0..PAGE_NODES {
                    let node = (p * PAGE_NODES + slot) as u32;
                    let list = page.dirs[dir].list(slot);
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
                Arc::make_mut(&mut g).apply(&mut ops);
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
        g.apply(&mut ops);
        assert!(g.bytes() > base);
        assert_eq!(g.list(OUT, 5), [e]);
        ops[0].change = Change::Delete;
        g.apply(&mut ops);
        assert!(g.list(OUT, 5).is_empty());
        assert_eq!(g.entries(OUT), 0);
        assert!(estimate_bytes(1_000_000, 2_000_000) >= 64_000_000);
    }
}
