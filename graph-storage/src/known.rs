//! A bitmap of node ids known to exist in the committed state, so that
//! creating an edge rarely needs to read its endpoints from the backend.
//!
//! Kept by the committing writer only (it lives under the writer lock):
//! an id is added once the commit that created it succeeded, or once a
//! read under the writer lock found it; it is removed once the commit that
//! deleted it succeeded. So "the bit is set" always implies "the node
//! exists", and a clear bit only means "ask the backend".

/// Ids at or above this are never tracked (they are always looked up), so
/// the bitmap stays below 128 MiB.
const MAX_TRACKED: u64 = 1 << 30;

/// Node ids known to exist.
#[derive(Debug, Default)]
pub(crate) struct KnownNodes {
    words: Vec<u64>,
}

impl KnownNodes {
    pub(crate) fn contains(&self, id: u64) -> bool {
        let word = (id / 64) as usize;
        id < MAX_TRACKED
            && self
                .words
                .get(word)
                .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    pub(crate) fn insert(&mut self, id: u64) {
        if id >= MAX_TRACKED {
            return;
        }
        let word = (id / 64) as usize;
        if word >= self.words.len() {
            self.words.resize((word + 1).next_power_of_two(), 0);
        }
        self.words[word] |= 1 << (id % 64);
    }

    pub(crate) fn remove(&mut self, id: u64) {
        if let Some(w) = self.words.get_mut((id / 64) as usize) {
            *w &= !(1 << (id % 64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let mut k = KnownNodes::default();
        for id in [0, 63, 64, 1_000_000, MAX_TRACKED - 1] {
            assert!(!k.contains(id));
            k.insert(id);
            assert!(k.contains(id), "{id}");
        }
        k.insert(MAX_TRACKED);
        assert!(!k.contains(MAX_TRACKED));
        k.remove(64);
        assert!(!k.contains(64) && k.contains(63));
        k.remove(u64::MAX);
    }
}
