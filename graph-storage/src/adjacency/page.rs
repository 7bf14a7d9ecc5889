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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// The lists of one direction of one page, in one vector: node `slot`'s
/// list is `entries[slots[slot].start..][..slots[slot].len]`, sorted and
/// without repeats, in a region of the vector that has room for its list to
/// grow.
///
/// A region's room is not stored but derived from the length (so it costs
/// no bytes): exactly the length for a list as the build laid it out
/// (its bit in `exact` set), a step of [`room_for`] for one a commit has
/// moved. The derived room is never more than the region's real
/// size: a list shrunk by deletes derives less than it has. A commit
/// inserts into a list in place while it has room, and otherwise moves it
/// to a new region at the end of the vector (the next step of room),
/// leaving the old one dead; the page is compacted when dead entries reach
/// a quarter of the vector. So a change costs its own list, not its page, and a page holds its
/// entries, their room and 8 bytes per node.
#[derive(Debug, Clone)]
pub(crate) struct Lists {
    /// Where each slot's list starts, and its length (side by side: one
    /// cache line holds both).
    slots: [Slot; PAGE_NODES],
    /// Slots whose region is exactly as long as their list.
    exact: u64,
    /// Entries in regions no list uses any more (at least).
    dead: u32,
    /// The entries of every list, their room and dead regions.
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    start: u32,
    len: u32,
}

impl Default for Lists {
    fn default() -> Self {
        Lists {
            slots: [Slot::default(); PAGE_NODES],
            exact: u64::MAX,
            dead: 0,
            entries: Vec::new(),
        }
    }
}

/// The room of a moved list of `len` entries: the smallest of 2, 4, 6, 8,
/// 10, 12, 14, 16, 20, 24, 28, 32, 40, ... (four steps an octave from 8 on)
/// not below `len`. Every length in (previous step, step] has the same
/// room, so the room derived from a list's length never exceeds its
/// region, and a region wastes at most one entry or a quarter of its list.
fn room_for(len: usize) -> usize {
    if len <= 8 {
        return (len.max(1) + 1) & !1;
    }
    // The top three bits of len - 1, rounded up.
    let shift = (usize::BITS - (len - 1).leading_zeros()).saturating_sub(3);
    (((len - 1) >> shift) + 1) << shift
}

impl Lists {
    /// The bytes this page holds (its header and its entries' buffer).
    pub(crate) fn bytes(&self) -> usize {
        size_of::<Self>() + self.entries.capacity() * size_of::<Entry>()
    }

    /// How many entries the page's lists hold.
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().map(|s| s.len as usize).sum()
    }

    /// The sorted list of node `slot` (`slot < PAGE_NODES`).
    #[inline]
    pub(crate) fn list(&self, slot: usize) -> &[Entry] {
        match self.slots.get(slot) {
            Some(&Slot { start, len }) => {
                let a = start as usize;
                self.entries.get(a..a + len as usize).unwrap_or_default()
            }
            None => &[],
        }
    }

    /// The list lengths of the page, in slot order.
    pub(crate) fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().map(|s| s.len as usize)
    }

    /// The room of slot `slot`'s region (see the type's documentation).
    fn room(&self, slot: usize) -> usize {
        let len = self.slots[slot].len as usize;
        if self.exact & (1 << slot) != 0 {
            len
        } else {
            room_for(len)
        }
    }

    /// A page made of `entries` (lists in slot order, each exactly as long
    /// as its list) and the number of entries of each slot.
    pub(crate) fn from_parts(entries: Vec<Entry>, lengths: &[u32; PAGE_NODES]) -> Self {
        let mut slots = [Slot::default(); PAGE_NODES];
        let mut at = 0u32;
        for (slot, &len) in slots.iter_mut().zip(lengths) {
            *slot = Slot { start: at, len };
            at += len;
        }
        Lists {
            slots,
            exact: u64::MAX,
            dead: 0,
            entries,
        }
    }

    /// Applies `changes`, sorted by (slot, entry) with each (slot, entry)
    /// at most once, and returns by how many entries the lists grew
    /// (negative when they shrank). A put of a present entry and a delete
    /// of an absent one change nothing, as they change nothing in the
    /// engine. `scratch` is a buffer the caller keeps between calls.
    pub(crate) fn apply(
        &mut self,
        changes: &[(usize, Entry, Change)],
        scratch: &mut Vec<Entry>,
    ) -> isize {
        let mut grew = 0isize;
        let mut rest = changes;
        while let Some(&(slot, _, _)) = rest.first() {
            let n = rest.partition_point(|c| c.0 == slot);
            let (mine, later) = rest.split_at(n);
            rest = later;
            grew += self.apply_slot(slot, mine, scratch);
        }
        if self.dead as usize > self.entries.len() / 4 + 64 {
            self.compact();
        }
        grew
    }

    /// Applies the changes of one slot; returns its growth.
    fn apply_slot(
        &mut self,
        slot: usize,
        changes: &[(usize, Entry, Change)],
        scratch: &mut Vec<Entry>,
    ) -> isize {
        let Slot { start, len } = self.slots[slot];
        let (a, old_len) = (start as usize, len as usize);
        // One change in a list with room: in place.
        if let [(_, e, change)] = changes {
            let list = self.list(slot);
            let found = list.binary_search(e);
            match (change, found) {
                (Change::Put, Ok(_)) | (Change::Delete, Err(_)) => return 0,
                (Change::Delete, Ok(i)) => {
                    self.entries.copy_within(a + i + 1..a + old_len, a + i);
                    self.slots[slot].len -= 1;
                    return -1;
                }
                (Change::Put, Err(i)) if old_len < self.room(slot) => {
                    self.entries.copy_within(a + i..a + old_len, a + i + 1);
                    if let Some(x) = self.entries.get_mut(a + i) {
                        *x = *e;
                    }
                    self.slots[slot].len += 1;
                    return 1;
                }
                (Change::Put, Err(_)) => {}
            }
        }
        scratch.clear();
        merge(self.list(slot), changes, scratch);
        let new_len = scratch.len();
        if new_len <= self.room(slot) {
            if let Some(region) = self.entries.get_mut(a..a + new_len) {
                region.copy_from_slice(scratch);
            }
        } else {
            // Moved to a new region at the end, with room to grow.
            self.dead = self.dead.saturating_add(self.room(slot) as u32);
            let at = self.entries.len();
            let room = room_for(new_len);
            if at + room > self.entries.capacity() {
                let grow = (at + room).max(at + at / 8) - at;
                self.entries.reserve_exact(grow);
            }
            self.entries.extend_from_slice(scratch);
            self.entries.resize(at + room, Entry::default());
            // Offsets stay below 2^32: the budget keeps a page far smaller.
            self.slots[slot].start = at as u32;
            self.exact &= !(1 << slot);
        }
        self.slots[slot].len = new_len as u32;
        new_len as isize - old_len as isize
    }

    /// Lays the lists out again in slot order, each in a region of its
    /// room (an empty list gets none), dropping dead regions.
    fn compact(&mut self) {
        let total: usize = (0..PAGE_NODES).map(|s| self.room(s)).sum();
        let mut out = Vec::with_capacity(total);
        for slot in 0..PAGE_NODES {
            let at = out.len();
            if self.slots[slot].len == 0 {
                self.exact |= 1 << slot;
            }
            let room = self.room(slot);
            out.extend_from_slice(self.list(slot));
            out.resize(at + room, Entry::default());
            self.slots[slot].start = at as u32;
        }
        self.entries = out;
        self.dead = 0;
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
        fn lists_follow_a_set_model(
            initial in proptest::collection::vec((0..PAGE_NODES, entry()), 0..60),
            rounds in proptest::collection::vec(proptest::collection::vec(change(), 0..40), 1..20),
        ) {
            // A page as the build lays it out, then commits.
            let mut model: Vec<BTreeSet<Entry>> = vec![BTreeSet::new(); PAGE_NODES];
            for (slot, e) in initial {
                model[slot].insert(e);
            }
            let mut lengths = [0u32; PAGE_NODES];
            for (slot, l) in model.iter().enumerate() {
                lengths[slot] = l.len() as u32;
            }
            let built: Vec<Entry> = model.iter().flatten().copied().collect();
            let mut page = Lists::from_parts(built, &lengths);
            for raw in rounds {
                let changes = normalized(&raw);
                for &(slot, e, c) in &changes {
                    match c {
                        Change::Put => { model[slot].insert(e); }
                        Change::Delete => { model[slot].remove(&e); }
                    }
                }
                let before = page.len() as isize;
                let grew = page.apply(&changes, &mut Vec::new());
                prop_assert_eq!(before + grew, page.len() as isize);
                for (slot, want) in model.iter().enumerate() {
                    let got: Vec<Entry> = page.list(slot).to_vec();
                    let want: Vec<Entry> = want.iter().copied().collect();
                    prop_assert_eq!(got, want, "slot {}", slot);
                }
                let total: usize = page.lengths().sum();
                prop_assert_eq!(total, page.len());
                // Regions never overlap: each list's room lies apart.
                let mut regions: Vec<(usize, usize)> = (0..PAGE_NODES)
                    .map(|s| (page.slots[s].start as usize, page.room(s)))
                    .filter(|r| r.1 > 0)
                    .collect();
                regions.sort_unstable();
                for w in regions.windows(2) {
                    prop_assert!(w[0].0 + w[0].1 <= w[1].0, "regions overlap: {:?}", w);
                }
                if let Some(last) = regions.last() {
                    prop_assert!(last.0 + last.1 <= page.entries.len());
                }
            }
        }
    }

    /// Rooms are steps: at least the length, at most a quarter above it
    /// (beyond the first), the same for every length of a step.
    #[test]
    fn rooms_are_stable_steps() {
        let mut previous = 0;
        for len in 0..5_000usize {
            let room = room_for(len);
            assert!(room >= len.max(2), "{len}: {room}");
            assert!(room <= (len + len / 4).max(len + 1).max(2), "{len}: {room}");
            assert!(room >= previous, "{len}");
            for within in len..=room {
                if within > previous {
                    assert_eq!(room_for(within), room, "{len} {within}");
                }
            }
            previous = room;
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
