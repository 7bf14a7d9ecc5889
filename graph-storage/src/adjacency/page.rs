//! One page of the adjacency in RAM: the sorted lists of [`PAGE_NODES`]
//! consecutive node ids, for one direction, packed into one vector.

use std::mem::size_of;

/// Node ids per page, as a shift.
pub(crate) const PAGE_SHIFT: u32 = 6;
/// Node ids per page.
pub(crate) const PAGE_NODES: usize = 1 << PAGE_SHIFT;

/// One adjacency entry of a node: the same three fields, in the same
/// order, as the rest of its adjacency key in `indices` (`type | other
/// node | edge`), so entries sort as the keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Entry {
    /// The edge type's symbol id.
    pub(crate) ty: u32,
    /// The node at the other end (node ids of a store held in RAM are
    /// below 2^32).
    pub(crate) other: u32,
    /// The edge id.
    pub(crate) edge: u64,
}

/// One change of an entry, as a commit's write batch makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The entry is written (present afterwards, whether it was before).
    Put,
    /// The entry is deleted (absent afterwards).
    Delete,
}

/// The lists of one direction of one page: node `slot`'s entries are
/// `entries[start[slot]..start[slot + 1]]`, sorted and without repeats.
/// The lists are stored in slot order with no gaps, so the page costs its
/// entries plus 260 bytes.
#[derive(Debug, Clone)]
pub(crate) struct Lists {
    start: [u32; PAGE_NODES + 1],
    entries: Vec<Entry>,
}

impl Default for Lists {
    fn default() -> Self {
        Lists {
            start: [0; PAGE_NODES + 1],
            entries: Vec::new(),
        }
    }
}

impl Lists {
    /// The bytes this page holds (its header and its entries' buffer).
    pub(crate) fn bytes(&self) -> usize {
        size_of::<Self>() + self.entries.capacity() * size_of::<Entry>()
    }

    /// How many entries the page holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The sorted list of node `slot` (`slot < PAGE_NODES`).
    pub(crate) fn list(&self, slot: usize) -> &[Entry] {
        let (a, b) = (self.start[slot] as usize, self.start[slot + 1] as usize);
        self.entries.get(a..b).unwrap_or_default()
    }

    /// Every entry of the page, lists in slot order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The list lengths of the page, in slot order.
    pub(crate) fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.start.windows(2).map(|w| (w[1] - w[0]) as usize)
    }

    /// A page made of `entries` (lists in slot order) and the number of
    /// entries of each slot.
    pub(crate) fn from_parts(entries: Vec<Entry>, lengths: &[u32; PAGE_NODES]) -> Self {
        let mut start = [0u32; PAGE_NODES + 1];
        for (i, n) in lengths.iter().enumerate() {
            start[i + 1] = start[i] + n;
        }
        Lists { start, entries }
    }

    /// Applies `changes`, sorted by (slot, entry) with each (slot, entry)
    /// at most once, and returns by how many entries the page grew (negative
    /// when it shrank). A put of a present entry and a delete of an absent
    /// one change nothing, as they change nothing in the engine.
    ///
    /// The page is rebuilt into a new vector of the exact size: the cost is
    /// the page's entries plus the changes.
    pub(crate) fn apply(&mut self, changes: &[(usize, Entry, Change)]) -> isize {
        let puts = changes.iter().filter(|c| c.2 == Change::Put).count();
        let mut out = Vec::with_capacity(self.entries.len() + puts);
        let mut start = [0u32; PAGE_NODES + 1];
        let mut rest = changes;
        for slot in 0..PAGE_NODES {
            let list = self.list(slot);
            let n = rest.partition_point(|c| c.0 == slot);
            let (mine, later) = rest.split_at(n);
            rest = later;
            if mine.is_empty() {
                out.extend_from_slice(list);
            } else {
                merge(list, mine, &mut out);
            }
            // A page holds at most its node count times the edges of a
            // store held in RAM: far below 2^32 entries by the budget.
            start[slot + 1] = u32::try_from(out.len()).unwrap_or(u32::MAX);
        }
        let before = self.entries.len();
        out.shrink_to_fit();
        self.entries = out;
        self.start = start;
        self.entries.len() as isize - before as isize
    }
}

/// Merges `list` (sorted, no repeats) with `changes` of one slot (sorted by
/// entry, each once) into `out`.
fn merge(list: &[Entry], changes: &[(usize, Entry, Change)], out: &mut Vec<Entry>) {
    let mut old = list.iter().copied().peekable();
    for &(_, e, change) in changes {
        while let Some(&x) = old.peek() {
            if x < e {
                out.push(x);
                old.next();
            } else {
                break;
            }
        }
        if old.peek() == Some(&e) {
            old.next();
        }
        if change == Change::Put {
            out.push(e);
        }
    }
    out.extend(old);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn entry() -> impl Strategy<Value = Entry> {
        // Few distinct values: puts hit present entries, deletes absent ones.
        (0u32..3, 0u32..4, 0u64..4).prop_map(|(ty, other, edge)| Entry { ty, other, edge })
    }

    fn change() -> impl Strategy<Value = (usize, Entry, Change)> {
        (
            prop_oneof![Just(0usize), Just(1), Just(PAGE_NODES - 1), 0..PAGE_NODES],
            entry(),
            prop_oneof![Just(Change::Put), Just(Change::Delete)],
        )
    }

    /// Changes as a commit hands them over: sorted, the last change of an
    /// entry winning.
    fn normalized(raw: &[(usize, Entry, Change)]) -> Vec<(usize, Entry, Change)> {
        let mut last = std::collections::BTreeMap::new();
        for &(slot, e, c) in raw {
            last.insert((slot, e), c);
        }
        last.into_iter().map(|((s, e), c)| (s, e, c)).collect()
    }

    proptest! {
        /// Applying rounds of changes keeps every list equal to a set of
        /// entries given the same changes, and the growth reported right.
        #[test]
        fn lists_follow_a_set_model(rounds in proptest::collection::vec(proptest::collection::vec(change(), 0..40), 1..6)) {
            let mut page = Lists::default();
            let mut model: Vec<BTreeSet<Entry>> = vec![BTreeSet::new(); PAGE_NODES];
            for raw in rounds {
                let changes = normalized(&raw);
                for &(slot, e, c) in &changes {
                    match c {
                        Change::Put => { model[slot].insert(e); }
                        Change::Delete => { model[slot].remove(&e); }
                    }
                }
                let before = page.len() as isize;
                let grew = page.apply(&changes);
                prop_assert_eq!(before + grew, page.len() as isize);
                for (slot, want) in model.iter().enumerate() {
                    let got: Vec<Entry> = page.list(slot).to_vec();
                    let want: Vec<Entry> = want.iter().copied().collect();
                    prop_assert_eq!(got, want, "slot {}", slot);
                }
                let total: usize = page.lengths().sum();
                prop_assert_eq!(total, page.len());
            }
        }
    }

    #[test]
    fn from_parts_splits_entries_by_length() {
        let e = |edge| Entry {
            ty: 0,
            other: 0,
            edge,
        };
        let mut lengths = [0u32; PAGE_NODES];
        lengths[1] = 2;
        lengths[PAGE_NODES - 1] = 1;
        let page = Lists::from_parts(vec![e(1), e(2), e(3)], &lengths);
        assert!(page.list(0).is_empty());
        assert_eq!(page.list(1), [e(1), e(2)]);
        assert_eq!(page.list(PAGE_NODES - 1), [e(3)]);
    }
}
