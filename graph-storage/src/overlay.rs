//! A transaction's bytes: its own writes laid over a read view
//! ([`Pending`], [`TxView`]), what it read of the view beneath
//! ([`ReadSet`]), and the check, at commit, that none of that changed.
//!
//! Validation is by value: a point read records the value it saw (or its
//! absence), a scan records the key range it covered and a digest of the
//! pairs it saw there. At commit, under the writer lock, each is read
//! again from the committed state (with the writes of the commits ahead
//! of it in the same group laid over it); any difference is a conflict.
//! Equal values mean the transaction's reads, hence its decisions, are
//! those it would make at the commit point: the commit is serializable.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::ops::{Bound, ControlFlow};
use std::sync::{Mutex, PoisonError};

use graph_core::codec::meta;
use graph_core::{
    BatchOp, ColumnFamily, Error, KeyRange, ReadView, Result, ScanDirection, Visitor, WriteBatch,
};

/// A pending key and its value (`None`: a pending deletion).
type PendingEntry<'p> = (&'p [u8], Option<&'p [u8]>);

/// A transaction's writes so far: the last value (or deletion) per key of
/// each family.
#[derive(Debug, Default, Clone)]
pub(crate) struct Pending {
    families: [BTreeMap<Vec<u8>, Option<Vec<u8>>>; 4],
}

impl Pending {
    /// The pending value of `key`: `Some(None)` for a pending deletion,
    /// `None` when the transaction has not written the key.
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Option<Option<&[u8]>> {
        self.families[cf.index()].get(key).map(|v| v.as_deref())
    }

    /// Whether `key` has a pending write (or deletion).
    pub(crate) fn contains(&self, cf: ColumnFamily, key: &[u8]) -> bool {
        self.families[cf.index()].contains_key(key)
    }

    /// Sets `key` to `value`, over whatever is pending there.
    pub(crate) fn put(&mut self, cf: ColumnFamily, key: &[u8], value: &[u8]) {
        self.families[cf.index()].insert(key.to_vec(), Some(value.to_vec()));
    }

    /// Whether nothing is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.families.iter().all(BTreeMap::is_empty)
    }

    /// Lays `batch` over the pending writes (its operations in order, the
    /// later winning).
    ///
    /// # Errors
    /// Invalid argument for a range deletion, which no transaction writes;
    /// nothing is laid over then.
    pub(crate) fn absorb(&mut self, batch: &WriteBatch) -> Result<()> {
        if batch
            .iter()
            .any(|op| matches!(op, BatchOp::DeleteRange { .. }))
        {
            return Err(Error::invalid("a transaction cannot hold a range deletion"));
        }
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    self.families[cf.index()].insert(key.to_vec(), Some(value.to_vec()));
                }
                BatchOp::Delete { cf, key } => {
                    self.families[cf.index()].insert(key.to_vec(), None);
                }
                BatchOp::DeleteRange { .. } => {}
            }
        }
        Ok(())
    }

    /// Lays `other` over the pending writes (its entries winning).
    pub(crate) fn absorb_pending(&mut self, other: Pending) {
        for (mine, theirs) in self.families.iter_mut().zip(other.families) {
            if mine.is_empty() {
                *mine = theirs;
            } else {
                mine.extend(theirs);
            }
        }
    }

    /// The pending writes as one write batch, sorted by family and key.
    pub(crate) fn to_batch(&self) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for cf in ColumnFamily::ALL {
            for (key, value) in &self.families[cf.index()] {
                match value {
                    Some(v) => batch.put(cf, key, v),
                    None => batch.delete(cf, key),
                }
            }
        }
        batch
    }

    /// The pending entries of `cf` within `range`, in `direction` order.
    fn range<'p>(
        &'p self,
        cf: ColumnFamily,
        range: &KeyRange<'_>,
        direction: ScanDirection,
    ) -> Box<dyn Iterator<Item = PendingEntry<'p>> + 'p> {
        let map = &self.families[cf.index()];
        if range.end.is_some_and(|end| end <= range.start) {
            return Box::new(std::iter::empty());
        }
        let bounds = (
            Bound::Included(range.start),
            range.end.map_or(Bound::Unbounded, Bound::Excluded),
        );
        let iter = map
            .range::<[u8], _>(bounds)
            .map(|(k, v)| (k.as_slice(), v.as_deref()));
        match direction {
            ScanDirection::Forward => Box::new(iter),
            ScanDirection::Reverse => Box::new(iter.rev()),
        }
    }
}

/// A key range a transaction scanned in the view beneath its writes, and
/// what it saw there.
#[derive(Debug, Clone)]
struct RangeRead {
    cf: ColumnFamily,
    /// First key covered (inclusive).
    start: Vec<u8>,
    /// First key past the range (exclusive), `None` for no bound.
    end: Option<Vec<u8>>,
    /// How many pairs the range held.
    pairs: u64,
    /// A digest of those pairs, in key order.
    digest: u64,
}

/// What a transaction read from the state it began on.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReadSet {
    /// Point reads, per family: the value seen first (`None`: the key was
    /// missing). Later reads of the same key are answered from here.
    keys: [HashMap<Vec<u8>, Option<Vec<u8>>>; 4],
    ranges: Vec<RangeRead>,
}

/// A digest of a sequence of pairs (SipHash over lengths and bytes).
struct Digest {
    hasher: DefaultHasher,
    pairs: u64,
}

impl Digest {
    fn new() -> Self {
        Digest {
            hasher: DefaultHasher::new(),
            pairs: 0,
        }
    }

    fn add(&mut self, key: &[u8], value: &[u8]) {
        self.hasher.write_usize(key.len());
        self.hasher.write(key);
        self.hasher.write_usize(value.len());
        self.hasher.write(value);
        self.pairs += 1;
    }
}

/// The key right after `key` in byte order (`key` followed by a zero).
fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

impl ReadSet {
    /// How many reads were recorded (point reads and scanned ranges).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.iter().map(HashMap::len).sum::<usize>() + self.ranges.len()
    }

    fn record_key(&mut self, cf: ColumnFamily, key: &[u8], value: Option<&[u8]>) {
        if let Entry::Vacant(slot) = self.keys[cf.index()].entry(key.to_vec()) {
            slot.insert(value.map(<[u8]>::to_vec));
        }
    }

    /// The value a point read of `key` saw, if one was recorded.
    fn seen(&self, cf: ColumnFamily, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.keys[cf.index()].get(key).cloned()
    }

    /// Checks that every read would see today what it saw then in
    /// `current` (the committed state, with the writes of the commits
    /// ahead in the same group laid over it).
    ///
    /// # Errors
    /// [`Error::Conflict`] naming the first read that changed; the
    /// engine's read errors.
    pub(crate) fn validate(&self, current: &impl ReadView) -> Result<()> {
        for (cf, key, seen) in ColumnFamily::ALL
            .into_iter()
            .flat_map(|cf| self.keys[cf.index()].iter().map(move |(k, v)| (cf, k, v)))
        {
            if current.get(cf, key)? != *seen {
                return Err(Error::Conflict(format!(
                    "key {key:02x?} of family {cf} changed since the transaction began"
                )));
            }
        }
        for r in &self.ranges {
            let mut digest = Digest::new();
            let range = KeyRange {
                start: &r.start,
                end: r.end.as_deref(),
            };
            current.scan(r.cf, range, ScanDirection::Forward, &mut |k, v| {
                digest.add(k, v);
                Ok(ControlFlow::Continue(()))
            })?;
            if digest.pairs != r.pairs || digest.hasher.finish() != r.digest {
                return Err(Error::Conflict(format!(
                    "keys from {:02x?} of family {} changed since the transaction began",
                    r.start, r.cf
                )));
            }
        }
        Ok(())
    }
}

/// A transaction's view of the store: its snapshot with its own writes
/// laid over it. Every read of the snapshot through it is recorded, to be
/// checked when the transaction commits. Readers get it inside a
/// [`GraphReader`](crate::GraphReader) from
/// [`Transaction::read`](crate::Transaction::read).
pub struct TxView<'t, V: ReadView> {
    base: &'t V,
    pending: &'t Pending,
    /// Where reads of `base` are recorded (`None`: not recorded, as when a
    /// commit validates or applies a transaction).
    reads: Option<&'t Mutex<ReadSet>>,
}

impl<'t, V: ReadView> TxView<'t, V> {
    pub(crate) fn new(
        base: &'t V,
        pending: &'t Pending,
        reads: Option<&'t Mutex<ReadSet>>,
    ) -> Self {
        TxView {
            base,
            pending,
            reads,
        }
    }

    fn record(&self, f: impl FnOnce(&mut ReadSet)) {
        if let Some(reads) = self.reads {
            f(&mut reads.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }
}

impl<V: ReadView> ReadView for TxView<'_, V> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(pending) = self.pending.get(cf, key) {
            // The counts the transaction wrote are the snapshot's counts
            // plus its own changes: reading one depends on the snapshot's.
            if self.reads.is_some()
                && cf == ColumnFamily::Default
                && (key == meta::NODE_COUNT || key == meta::EDGE_COUNT)
            {
                let base = self.base.get(cf, key)?;
                self.record(|r| r.record_key(cf, key, base.as_deref()));
            }
            return Ok(pending.map(<[u8]>::to_vec));
        }
        if let Some(reads) = self.reads
            && let Some(seen) = reads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .seen(cf, key)
        {
            return Ok(seen);
        }
        let value = self.base.get(cf, key)?;
        self.record(|r| r.record_key(cf, key, value.as_deref()));
        Ok(value)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        let forward = direction == ScanDirection::Forward;
        // Whether `a` comes before `b` in the scan's order.
        let before = |a: &[u8], b: &[u8]| if forward { a < b } else { a > b };
        let mut pending = self.pending.range(cf, &range, direction).peekable();
        let mut digest = Digest::new();
        // The furthest key the scan has dealt with: every pair of the base
        // up to it is in the digest, and none after it.
        let mut reached: Option<Vec<u8>> = None;
        let mut stopped = false;
        let result = self.base.scan(cf, range, direction, &mut |k, v| {
            while let Some(&(pk, pv)) = pending.peek() {
                if !before(pk, k) {
                    break;
                }
                pending.next();
                reached = Some(pk.to_vec());
                if let Some(pv) = pv
                    && visit(pk, pv)?.is_break()
                {
                    stopped = true;
                    return Ok(ControlFlow::Break(()));
                }
            }
            digest.add(k, v);
            reached = Some(k.to_vec());
            let shown = match pending.peek() {
                Some(&(pk, pv)) if pk == k => {
                    pending.next();
                    pv
                }
                _ => Some(v),
            };
            let flow = match shown {
                Some(value) => visit(k, value)?,
                None => ControlFlow::Continue(()),
            };
            stopped = flow.is_break();
            Ok(flow)
        });
        if result.is_ok() && !stopped {
            for (pk, pv) in pending {
                if let Some(pv) = pv
                    && visit(pk, pv)?.is_break()
                {
                    stopped = true;
                    reached = Some(pk.to_vec());
                    break;
                }
            }
        }
        if self.reads.is_some() {
            // The part of the range the scan covered: all of it, or up to
            // the key it stopped at (or failed after).
            let covered = if stopped || result.is_err() {
                reached
            } else {
                None
            };
            let (start, end) = match (covered, forward) {
                (None, _) => (range.start.to_vec(), range.end.map(<[u8]>::to_vec)),
                (Some(k), true) => (range.start.to_vec(), Some(successor(&k))),
                (Some(k), false) => (k, range.end.map(<[u8]>::to_vec)),
            };
            let read = RangeRead {
                cf,
                start,
                end,
                pairs: digest.pairs,
                digest: digest.hasher.finish(),
            };
            self.record(|r| r.ranges.push(read));
        }
        result
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use std::ops::ControlFlow;
    use std::sync::Mutex;

    use graph_core::{
        ColumnFamily, ErrorKind, KeyRange, ReadView, Result, ScanDirection, StorageBackend,
        WriteBatch,
    };
    use storage_memory::MemoryBackend;

    use super::{Pending, ReadSet, TxView};

    const CF: ColumnFamily = ColumnFamily::Nodes;

    fn backend(keys: &[&[u8]]) -> Result<MemoryBackend> {
        let b = MemoryBackend::new();
        let mut batch = WriteBatch::new();
        for k in keys {
            batch.put(CF, k, b"base");
        }
        b.write(&batch, graph_core::Durability::Strict)?;
        Ok(b)
    }

    fn scan_all(
        view: &impl ReadView,
        direction: ScanDirection,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        view.collect_range(CF, KeyRange::all(), direction, Some(limit))
    }

    /// The overlay shows pending puts and hides pending deletions, in key
    /// order both ways, and a write to the base outside what a scan
    /// covered does not conflict while one inside does.
    #[test]
    fn scans_merge_pending_writes_and_record_what_they_covered() -> Result<()> {
        let base = backend(&[b"a", b"c", b"e", b"g"])?;
        let mut pending = Pending::default();
        let mut w = WriteBatch::new();
        w.put(CF, b"b", b"mine");
        w.delete(CF, b"c");
        w.put(CF, b"e", b"mine");
        w.put(CF, b"h", b"mine");
        pending.absorb(&w)?;
        let reads = Mutex::new(ReadSet::default());
        let view = TxView::new(&base, &pending, Some(&reads));
        let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<(String, String)> {
            v.into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    )
                })
                .collect()
        };
        let all = keys(scan_all(&view, ScanDirection::Forward, usize::MAX)?);
        let want: Vec<(String, String)> = [
            ("a", "base"),
            ("b", "mine"),
            ("e", "mine"),
            ("g", "base"),
            ("h", "mine"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(all, want);
        let mut back = keys(scan_all(&view, ScanDirection::Reverse, usize::MAX)?);
        back.reverse();
        assert_eq!(back, want);
        // A forward scan stopped after two pairs covers up to "b".
        let reads2 = Mutex::new(ReadSet::default());
        let view2 = TxView::new(&base, &pending, Some(&reads2));
        assert_eq!(scan_all(&view2, ScanDirection::Forward, 2)?.len(), 2);
        let changed = |key: &[u8]| -> Result<MemoryBackend> {
            let b = backend(&[b"a", b"c", b"e", b"g"])?;
            let mut w = WriteBatch::new();
            w.put(CF, key, b"other");
            b.write(&w, graph_core::Durability::Strict)?;
            Ok(b)
        };
        let partial = reads2.into_inner().unwrap_or_default();
        partial.validate(&base)?;
        partial.validate(&changed(b"d")?)?;
        let e = partial.validate(&changed(b"a")?).err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Conflict));
        let e = partial.validate(&changed(b"b")?).err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Conflict));
        let whole = reads.into_inner().unwrap_or_default();
        for key in [b"0", b"d", b"z"] {
            let e = whole.validate(&changed(key)?).err();
            assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Conflict), "{key:?}");
        }
        Ok(())
    }

    /// A point read records what it saw, absence included; reads of
    /// pending keys are the transaction's own and record nothing.
    #[test]
    fn point_reads_record_the_base_only() -> Result<()> {
        let base = backend(&[b"a"])?;
        let mut pending = Pending::default();
        let mut w = WriteBatch::new();
        w.put(CF, b"p", b"mine");
        pending.absorb(&w)?;
        let reads = Mutex::new(ReadSet::default());
        let view = TxView::new(&base, &pending, Some(&reads));
        assert_eq!(view.get(CF, b"a")?, Some(b"base".to_vec()));
        assert_eq!(view.get(CF, b"m")?, None);
        assert_eq!(view.get(CF, b"p")?, Some(b"mine".to_vec()));
        let mut visited = 0;
        view.scan(CF, KeyRange::all(), ScanDirection::Forward, &mut |_, _| {
            visited += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        assert_eq!(visited, 2);
        let reads = reads.into_inner().unwrap_or_default();
        assert_eq!(reads.len(), 3);
        let mut w = WriteBatch::new();
        w.put(CF, b"m", b"now");
        base.write(&w, graph_core::Durability::Strict)?;
        let e = reads.validate(&base).err();
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Conflict));
        Ok(())
    }
}
