//! The byte-level storage contract every backend implements.

use std::ops::ControlFlow;

use crate::{ColumnFamily, Result};

/// How durable a write is when it is acknowledged.
///
/// | mode | process crash | power loss |
/// |---|---|---|
/// | [`Strict`](Durability::Strict) | nothing acknowledged is lost | nothing acknowledged is lost |
/// | [`Background`](Durability::Background) | nothing acknowledged is lost | the last acknowledged writes may be lost; what survives is a prefix |
///
/// `Strict` costs one fsync per acknowledged write (or per batch); see
/// BENCHMARKS.md for measured figures. A backend that keeps nothing on disk
/// (the memory backend) treats both modes alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// The write is on stable storage (fsynced) before it is acknowledged.
    #[default]
    Strict,
    /// The write is in the operating system's buffers when acknowledged:
    /// it survives a crash of the process but not necessarily of the machine.
    Background,
}

/// The order in which a scan visits keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ScanDirection {
    /// Ascending lexicographic byte order.
    #[default]
    Forward,
    /// Descending lexicographic byte order.
    Reverse,
}

/// A half-open key range `[start, end)` in lexicographic byte order.
///
/// `end: None` means unbounded above. A range whose `end` is not greater
/// than its `start` is empty: scanning it visits nothing and is not an
/// error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange<'a> {
    /// The first key that may be visited (inclusive).
    pub start: &'a [u8],
    /// The first key past the range (exclusive), or `None` for no bound.
    pub end: Option<&'a [u8]>,
}

impl<'a> KeyRange<'a> {
    /// Every key of a column family.
    pub const fn all() -> Self {
        KeyRange {
            start: &[],
            end: None,
        }
    }

    /// Keys in `[start, end)`.
    pub const fn new(start: &'a [u8], end: &'a [u8]) -> Self {
        KeyRange {
            start,
            end: Some(end),
        }
    }

    /// Keys in `[start, ∞)`.
    pub const fn from(start: &'a [u8]) -> Self {
        KeyRange { start, end: None }
    }

    /// Whether the range can hold no key (`end <= start`).
    pub fn is_empty(&self) -> bool {
        matches!(self.end, Some(end) if end <= self.start)
    }

    /// Whether `key` lies inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start && self.end.is_none_or(|end| key < end)
    }
}

/// The smallest key greater than every key that starts with `prefix`, or
/// `None` when no such key exists (the prefix is empty or all `0xFF`).
///
/// `[prefix, prefix_end(prefix))` is exactly the set of keys with that
/// prefix.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.last_mut() {
        if *last < 0xFF {
            *last += 1;
            return Some(end);
        }
        end.pop();
    }
    None
}

/// A visitor called for each key-value pair of a scan, in scan order.
///
/// Return `Ok(ControlFlow::Break(()))` to stop early; an `Err` stops the
/// scan and is returned from it. The slices are valid only during the call.
pub type Visitor<'v> = dyn FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>> + 'v;

/// A function given one value borrowed from the engine (`None` for a
/// missing key) by [`ReadView::get_with`]; the slice is valid only during
/// the call.
pub type ValueVisitor<'v> = dyn FnMut(Option<&[u8]>) -> Result<()> + 'v;

/// A function given the position of a key and its value, borrowed as in
/// [`ValueVisitor`], by [`ReadView::multi_get_with`].
pub type MultiValueVisitor<'v> = dyn FnMut(usize, Option<&[u8]>) -> Result<()> + 'v;

/// Read access to a consistent or live view of the four column families.
///
/// Implemented by every backend (reads of the live state) and by its
/// snapshots (reads of a frozen state). Only [`get`](ReadView::get) and
/// [`scan`](ReadView::scan) are required; the rest have default bodies built
/// on them that a backend may override for speed.
pub trait ReadView {
    /// The value stored at `key` in `cf`, or `None`.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) or a corruption error when the
    /// engine cannot read the key; never an error for a missing key.
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Visits every pair of `cf` whose key lies in `range`, in `direction`
    /// order (lexicographic by bytes), until the visitor breaks.
    ///
    /// A scan never visits a key outside `range`, and an empty or inverted
    /// range visits nothing. A scan of a live backend sees a consistent
    /// state: a batch committed during the scan is seen whole or not at all.
    /// The visitor must not write to the same backend.
    ///
    /// # Errors
    /// An engine error while iterating, or the first error the visitor
    /// returns.
    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()>;

    /// The values at `keys`, in the same order; missing keys give `None`.
    ///
    /// # Errors
    /// As [`get`](ReadView::get).
    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|k| self.get(cf, k)).collect()
    }

    /// Calls `f` with the value stored at `key` (`None` when missing),
    /// borrowed from the engine without a copy where the engine allows it
    /// (RocksDB's pinned slices), so a caller can decode straight from the
    /// engine's memory. `f` must not write to the same backend.
    ///
    /// # Errors
    /// As [`get`](ReadView::get), or the error `f` returns.
    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        let value = self.get(cf, key)?;
        f(value.as_deref())
    }

    /// Calls `f(i, value)` for each of `keys`, in order, with the value of
    /// `keys[i]` borrowed as in [`get_with`](ReadView::get_with), read in
    /// one batched lookup where the engine has one (RocksDB's `multi_get`).
    /// `f` must not write to the same backend.
    ///
    /// # Errors
    /// As [`multi_get`](ReadView::multi_get), or the first error `f`
    /// returns.
    fn multi_get_with(
        &self,
        cf: ColumnFamily,
        keys: &[&[u8]],
        f: &mut MultiValueVisitor<'_>,
    ) -> Result<()> {
        for (i, value) in self.multi_get(cf, keys)?.into_iter().enumerate() {
            f(i, value.as_deref())?;
        }
        Ok(())
    }

    /// Visits every pair whose key starts with `prefix`.
    ///
    /// # Errors
    /// As [`scan`](ReadView::scan).
    fn scan_prefix(
        &self,
        cf: ColumnFamily,
        prefix: &[u8],
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        let end = prefix_end(prefix);
        let range = KeyRange {
            start: prefix,
            end: end.as_deref(),
        };
        self.scan(cf, range, direction, visit)
    }

    /// Collects up to `limit` pairs of `range` (all of them with `None`).
    ///
    /// # Errors
    /// As [`scan`](ReadView::scan).
    fn collect_range(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        limit: Option<usize>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        if limit == Some(0) {
            return Ok(out);
        }
        self.scan(cf, range, direction, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(if limit.is_some_and(|l| out.len() >= l) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })?;
        Ok(out)
    }

    /// How many keys start with `prefix`.
    ///
    /// # Errors
    /// As [`scan`](ReadView::scan).
    fn count_prefix(&self, cf: ColumnFamily, prefix: &[u8]) -> Result<u64> {
        let mut n = 0u64;
        self.scan_prefix(cf, prefix, ScanDirection::Forward, &mut |_, _| {
            n += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(n)
    }
}

impl<T: ReadView + ?Sized> ReadView for &T {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(cf, key)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        (**self).scan(cf, range, direction, visit)
    }

    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        (**self).multi_get(cf, keys)
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        (**self).get_with(cf, key, f)
    }

    fn multi_get_with(
        &self,
        cf: ColumnFamily,
        keys: &[&[u8]],
        f: &mut MultiValueVisitor<'_>,
    ) -> Result<()> {
        (**self).multi_get_with(cf, keys, f)
    }
}

impl<T: ReadView + ?Sized> ReadView for std::sync::Arc<T> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(cf, key)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        (**self).scan(cf, range, direction, visit)
    }

    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        (**self).multi_get(cf, keys)
    }

    fn get_with(&self, cf: ColumnFamily, key: &[u8], f: &mut ValueVisitor<'_>) -> Result<()> {
        (**self).get_with(cf, key, f)
    }

    fn multi_get_with(
        &self,
        cf: ColumnFamily,
        keys: &[&[u8]],
        f: &mut MultiValueVisitor<'_>,
    ) -> Result<()> {
        (**self).multi_get_with(cf, keys, f)
    }
}

/// A byte-level, ordered key-value store with four column families.
///
/// # Why byte-level
/// The graph layer (`graph-storage`) owns every encoding; a backend only
/// stores, orders and persists bytes. That keeps backends small enough to be
/// proven equivalent by property tests, and lets a new engine be added
/// without touching the graph model.
///
/// # Contract
/// * Keys are ordered lexicographically by unsigned bytes in every family.
/// * [`write`](StorageBackend::write) applies a whole [`WriteBatch`] or none
///   of it, across all column families, and the batch's operations take
///   effect in the order they were added.
/// * A [`snapshot`](StorageBackend::snapshot) never sees a write that is
///   acknowledged after it was taken, and always sees every write
///   acknowledged before.
/// * Once `write` returns `Ok`, every later read sees the write.
/// * Durability is per write, see [`Durability`].
///
/// Required: `snapshot`, `write`, `flush`, `sync` (and the two required
/// [`ReadView`] methods). `put`, `delete` and `delete_range` default to
/// one-operation batches.
pub trait StorageBackend: ReadView + Send + Sync {
    /// A frozen, consistent read view of the whole store.
    type Snapshot<'a>: ReadView + 'a
    where
        Self: 'a;

    /// Takes a consistent snapshot of all four column families.
    fn snapshot(&self) -> Self::Snapshot<'_>;

    /// Applies `batch` atomically, with the given durability.
    ///
    /// An empty batch is a no-op that succeeds (with `Strict`, it still
    /// syncs). Delete-range with `end <= start` deletes nothing.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the engine cannot write (disk
    /// full, read-only), in which case nothing of the batch is applied.
    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()>;

    /// Persists in-memory state to the engine's main files (for RocksDB,
    /// flushes memtables to SST files). Not needed for durability.
    ///
    /// # Errors
    /// An engine I/O error.
    fn flush(&self) -> Result<()>;

    /// Makes every acknowledged write durable against power loss (for
    /// RocksDB, fsyncs the write-ahead log).
    ///
    /// # Errors
    /// An engine I/O error.
    fn sync(&self) -> Result<()>;

    /// Stores `value` at `key`, replacing any previous value.
    ///
    /// # Errors
    /// As [`write`](StorageBackend::write).
    fn put(
        &self,
        cf: ColumnFamily,
        key: &[u8],
        value: &[u8],
        durability: Durability,
    ) -> Result<()> {
        let mut b = WriteBatch::new();
        b.put(cf, key, value);
        self.write(&b, durability)
    }

    /// Removes `key`; removing a missing key is not an error.
    ///
    /// # Errors
    /// As [`write`](StorageBackend::write).
    fn delete(&self, cf: ColumnFamily, key: &[u8], durability: Durability) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete(cf, key);
        self.write(&b, durability)
    }

    /// Removes every key in `[start, end)`.
    ///
    /// # Errors
    /// As [`write`](StorageBackend::write).
    fn delete_range(
        &self,
        cf: ColumnFamily,
        start: &[u8],
        end: &[u8],
        durability: Durability,
    ) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete_range(cf, start, end);
        self.write(&b, durability)
    }
}

/// A shared backend is a backend: several owners (for example a replicated
/// state machine that reopens its `GraphStore` after installing a snapshot,
/// and the readers of the store it replaced) can use one engine instance.
impl<T: StorageBackend + ?Sized> StorageBackend for std::sync::Arc<T> {
    type Snapshot<'a>
        = T::Snapshot<'a>
    where
        Self: 'a;

    fn snapshot(&self) -> Self::Snapshot<'_> {
        (**self).snapshot()
    }

    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        (**self).write(batch, durability)
    }

    fn flush(&self) -> Result<()> {
        (**self).flush()
    }

    fn sync(&self) -> Result<()> {
        (**self).sync()
    }
}

/// The kind of one batch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Put,
    Delete,
    DeleteRange,
}

#[derive(Debug, Clone, Copy)]
struct OpRecord {
    kind: OpKind,
    cf: ColumnFamily,
    /// Offsets into `WriteBatch::data`: key at `a..b`, value (or range end)
    /// at `b..c`.
    a: usize,
    b: usize,
    c: usize,
}

/// An ordered list of writes applied atomically by
/// [`StorageBackend::write`].
///
/// Keys and values are copied into one shared buffer, so building a batch
/// costs no allocation per operation once the buffer has grown.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    data: Vec<u8>,
    ops: Vec<OpRecord>,
}

/// Sorts `ops` by family, key and position (see
/// [`WriteBatch::sort_by_key`]), with `scratch`'s buffers.
///
/// The operations are first grouped by family (a stable counting pass);
/// then each family's group that is not in key order already (records
/// created with increasing ids are) is sorted: two sorted runs (two sorted
/// batches appended, as the graph layer's two encoding threads make) are
/// merged in linear time, anything else is sorted by compact entries.
fn sort_ops(ops: &mut [OpRecord], data: &[u8], scratch: &mut SortScratch) {
    let SortScratch { order, grouped } = scratch;
    let mut bounds = [0usize; ColumnFamily::ALL.len() + 1];
    for op in ops.iter() {
        bounds[op.cf.index() + 1] += 1;
    }
    for f in 0..ColumnFamily::ALL.len() {
        bounds[f + 1] += bounds[f];
    }
    grouped.clear();
    grouped.extend_from_slice(ops);
    let mut next = bounds;
    for op in ops.iter() {
        let slot = &mut next[op.cf.index()];
        grouped[*slot] = *op;
        *slot += 1;
    }
    for f in 0..ColumnFamily::ALL.len() {
        let range = bounds[f]..bounds[f + 1];
        sort_family(&grouped[range.clone()], &mut ops[range], data, order);
    }
    scratch.trim();
}

/// Writes `group` (operations of one family, in batch order) to `out` in
/// key order, equal keys in batch order.
fn sort_family(group: &[OpRecord], out: &mut [OpRecord], data: &[u8], order: &mut Vec<SortEntry>) {
    let key = |op: &OpRecord| &data[op.a..op.b];
    if group.is_sorted_by(|x, y| key(x) <= key(y)) {
        out.copy_from_slice(group);
        return;
    }
    // Compact entries: the key's first 32 bytes as two numbers (zero
    // padded, so their order agrees with the keys' whenever they differ:
    // record, label and adjacency keys fit whole) and the position, which
    // also keeps equal keys in batch order; whole keys are compared only
    // on a tie of the first 32 bytes.
    order.clear();
    order.extend(group.iter().enumerate().map(|(i, op)| {
        let k = key(op);
        let rest = k.get(16..).unwrap_or_default();
        (key_prefix(k), key_prefix(rest), i)
    }));
    let cmp = |x: &SortEntry, y: &SortEntry| {
        (x.0, x.1)
            .cmp(&(y.0, y.1))
            .then_with(|| key(&group[x.2]).cmp(key(&group[y.2])))
            .then(x.2.cmp(&y.2))
    };
    let second_run = order
        .windows(2)
        .position(|w| cmp(&w[0], &w[1]).is_gt())
        .map(|p| p + 1)
        .filter(|&mid| order[mid..].is_sorted_by(|x, y| cmp(x, y).is_lt()));
    let mut out = out.iter_mut();
    let mut emit = |i: usize| {
        if let Some(slot) = out.next() {
            *slot = group[i];
        }
    };
    match second_run {
        Some(mid) => {
            let (mut a, mut b) = (
                order[..mid].iter().peekable(),
                order[mid..].iter().peekable(),
            );
            while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                let next = if cmp(x, y).is_lt() {
                    a.next()
                } else {
                    b.next()
                };
                if let Some(&(_, _, i)) = next {
                    emit(i);
                }
            }
            for &(_, _, i) in a.chain(b) {
                emit(i);
            }
        }
        None => {
            order.sort_unstable_by(cmp);
            for &(_, _, i) in order.iter() {
                emit(i);
            }
        }
    }
}

/// Bytes 0..16 and 16..32 of an operation's key (see [`key_prefix`]) and
/// its position.
type SortEntry = (u128, u128, usize);

/// The buffers of [`WriteBatch::sort_by_key`], kept per thread.
#[derive(Default)]
struct SortScratch {
    /// One entry per operation of one family.
    order: Vec<SortEntry>,
    /// The operation records grouped by family.
    grouped: Vec<OpRecord>,
}

impl SortScratch {
    /// Operations' worth of buffers a thread keeps between sorts (about
    /// 6 MiB, twice for a thread that also lends buffers to a helper:
    /// enough for a batch of 20,000 edge creations); a larger sort frees
    /// its buffers when done.
    const KEEP: usize = 1 << 16;

    fn trim(&mut self) {
        if self.order.capacity().max(self.grouped.capacity()) > Self::KEEP {
            *self = SortScratch::default();
        }
    }
}

type ScratchCell = std::cell::RefCell<SortScratch>;

thread_local! {
    static SORT_SCRATCH: ScratchCell = ScratchCell::default();
    /// Lent to the helper thread of
    /// [`WriteBatch::sort_by_key_in_parallel`].
    static HELPER_SORT_SCRATCH: ScratchCell = ScratchCell::default();
}

/// Runs `f` with the sort buffers kept in `key` for this thread, or with
/// new ones if those are in use (or the thread is being torn down).
fn with_scratch(
    key: &'static std::thread::LocalKey<ScratchCell>,
    f: impl FnOnce(&mut SortScratch),
) {
    let mut f = Some(f);
    let _ = key.try_with(|cell| {
        if let Ok(mut scratch) = cell.try_borrow_mut()
            && let Some(f) = f.take()
        {
            f(&mut scratch);
        }
    });
    if let Some(f) = f {
        f(&mut SortScratch::default());
    }
}

/// Batches of at least this many operations are sorted on two threads by
/// [`WriteBatch::sort_by_key_in_parallel`]; below it, starting a thread
/// costs more than it saves.
pub(crate) const PARALLEL_SORT_MIN: usize = 8192;

/// The first 16 bytes of `key` as a big-endian number, zero padded: for
/// two keys whose numbers differ, the numbers are ordered as the keys.
fn key_prefix(key: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    let n = key.len().min(16);
    b[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(b)
}

/// One operation of a [`WriteBatch`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp<'a> {
    /// Store `value` at `key`.
    Put {
        /// The column family.
        cf: ColumnFamily,
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// Remove `key`.
    Delete {
        /// The column family.
        cf: ColumnFamily,
        /// The key.
        key: &'a [u8],
    },
    /// Remove every key in `[start, end)`.
    DeleteRange {
        /// The column family.
        cf: ColumnFamily,
        /// First key removed.
        start: &'a [u8],
        /// First key kept.
        end: &'a [u8],
    },
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `ops` operations and `bytes` bytes of
    /// keys and values.
    pub fn with_capacity(ops: usize, bytes: usize) -> Self {
        WriteBatch {
            data: Vec::with_capacity(bytes),
            ops: Vec::with_capacity(ops),
        }
    }

    fn push(&mut self, kind: OpKind, cf: ColumnFamily, first: &[u8], second: &[u8]) {
        let a = self.data.len();
        self.data.extend_from_slice(first);
        let b = self.data.len();
        self.data.extend_from_slice(second);
        let c = self.data.len();
        self.ops.push(OpRecord { kind, cf, a, b, c });
    }

    /// Makes room for at least `ops` more operations and `bytes` more bytes
    /// of keys and values.
    pub fn reserve(&mut self, ops: usize, bytes: usize) {
        self.ops.reserve(ops);
        self.data.reserve(bytes);
    }

    /// The bytes this batch holds allocated (for keys and values, and for
    /// operation records), used or not: what keeping it for reuse costs.
    pub fn allocated_bytes(&self) -> usize {
        self.data.capacity() + self.ops.capacity() * std::mem::size_of::<OpRecord>()
    }

    /// Adds a put of `value` at `key`.
    pub fn put(&mut self, cf: ColumnFamily, key: &[u8], value: &[u8]) {
        self.push(OpKind::Put, cf, key, value);
    }

    /// Adds a delete of `key`.
    pub fn delete(&mut self, cf: ColumnFamily, key: &[u8]) {
        self.push(OpKind::Delete, cf, key, &[]);
    }

    /// Adds a delete of every key in `[start, end)`; nothing when
    /// `end <= start`.
    pub fn delete_range(&mut self, cf: ColumnFamily, start: &[u8], end: &[u8]) {
        self.push(OpKind::DeleteRange, cf, start, end);
    }

    /// Appends every operation of `other`, after this batch's own.
    pub fn extend_from(&mut self, other: &WriteBatch) {
        let base = self.data.len();
        self.data.extend_from_slice(&other.data);
        self.ops.extend(other.ops.iter().map(|op| OpRecord {
            a: op.a + base,
            b: op.b + base,
            c: op.c + base,
            ..*op
        }));
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The bytes of keys and values held.
    pub fn data_size(&self) -> usize {
        self.data.len()
    }

    /// Removes every operation, keeping the allocated memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ops.clear();
    }

    /// Reorders the operations by column family, then key, when that cannot
    /// change what the batch does, and returns whether the batch is now in
    /// that order.
    ///
    /// Operations on one key keep their relative order (the last one still
    /// wins), and operations on different keys commute inside an atomic
    /// batch, so a batch of puts and deletes has the same effect sorted as
    /// unsorted. A batch holding a delete-range is left as it is (a range
    /// and the keys inside it do not commute) and `false` is returned.
    ///
    /// Why: engines insert a sorted batch much faster. RocksDB's memtable
    /// skip list starts each search from the previous insert's position, so
    /// keys in order avoid a cache miss per level; ordered maps touch the
    /// same nodes in turn. Only the small operation records move, not the
    /// key and value bytes.
    pub fn sort_by_key(&mut self) -> bool {
        if !self.sortable() {
            return false;
        }
        if self.is_sorted_by_key() {
            return true;
        }
        // Sort compact entries: family, the key's first 16 bytes (zero
        // padded, so their order agrees with the keys' whenever they
        // differ) and the position, which also keeps equal keys in batch
        // order; whole keys are compared only on a tie of the first 16
        // bytes. The entries and the reordered records live in buffers
        // kept per thread: a batch of 10,000 creations is about 30,000
        // operations, and allocating and freeing megabytes per commit
        // costs more than the sort (glibc consolidates its caches of small
        // blocks on every large free).
        with_scratch(&SORT_SCRATCH, |scratch| {
            sort_ops(&mut self.ops, &self.data, scratch);
        });
        true
    }

    /// [`sort_by_key`](Self::sort_by_key), with the work shared by two
    /// threads when the batch holds at least 8,192
    /// operations and the machine has two cores: each half is sorted on
    /// its own thread, then the two sorted halves are merged. The result is
    /// exactly that of `sort_by_key`.
    pub fn sort_by_key_in_parallel(&mut self) -> bool {
        let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        if self.ops.len() < PARALLEL_SORT_MIN || !two_cores {
            return self.sort_by_key();
        }
        if !self.sortable() {
            return false;
        }
        if self.is_sorted_by_key() {
            return true;
        }
        let mid = self.ops.len() / 2;
        let data = &self.data;
        let (first, second) = self.ops.split_at_mut(mid);
        // The helper thread is new each time; it borrows buffers kept by
        // this thread rather than allocating its own.
        with_scratch(&HELPER_SORT_SCRATCH, |helper_scratch| {
            std::thread::scope(|s| {
                let helper = s.spawn(|| sort_ops(second, data, helper_scratch));
                with_scratch(&SORT_SCRATCH, |scratch| sort_ops(first, data, scratch));
                if let Err(panic) = helper.join() {
                    std::panic::resume_unwind(panic);
                }
            });
        });
        // Two sorted runs: merged in linear time.
        with_scratch(&SORT_SCRATCH, |scratch| {
            sort_ops(&mut self.ops, &self.data, scratch);
        });
        true
    }

    /// Whether no operation is a delete-range (see
    /// [`sort_by_key`](Self::sort_by_key)).
    fn sortable(&self) -> bool {
        !self.ops.iter().any(|op| op.kind == OpKind::DeleteRange)
    }

    fn is_sorted_by_key(&self) -> bool {
        let data = &self.data;
        let key = |op: &OpRecord| (op.cf.index(), &data[op.a..op.b]);
        self.ops.is_sorted_by(|x, y| key(x) <= key(y))
    }

    /// The operations, in the order they were added (and are applied).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = BatchOp<'_>> + '_ {
        self.ops.iter().map(|op| {
            let first = &self.data[op.a..op.b];
            let second = &self.data[op.b..op.c];
            match op.kind {
                OpKind::Put => BatchOp::Put {
                    cf: op.cf,
                    key: first,
                    value: second,
                },
                OpKind::Delete => BatchOp::Delete {
                    cf: op.cf,
                    key: first,
                },
                OpKind::DeleteRange => BatchOp::DeleteRange {
                    cf: op.cf,
                    start: first,
                    end: second,
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(b: &WriteBatch) -> Vec<BatchOp<'_>> {
        b.iter().collect()
    }

    #[test]
    fn sort_by_key_orders_by_family_then_key_and_keeps_equal_keys_in_order() {
        let long_a = [b'c'; 20];
        let mut long_b = [b'c'; 20];
        long_b[19] = b'b';
        let mut b = WriteBatch::new();
        b.put(ColumnFamily::Indices, b"b", b"1");
        b.put(ColumnFamily::Nodes, b"z", b"2");
        b.put(ColumnFamily::Indices, b"a\0", b"3");
        b.delete(ColumnFamily::Indices, b"b");
        b.put(ColumnFamily::Indices, b"a", b"4");
        b.put(ColumnFamily::Indices, &long_a, b"5");
        b.put(ColumnFamily::Indices, &long_b, b"6");
        b.put(ColumnFamily::Indices, b"b", b"7");
        b.put(ColumnFamily::Default, b"", b"8");
        assert!(b.sort_by_key());
        let put = |cf, key, value| BatchOp::Put { cf, key, value };
        assert_eq!(
            ops(&b),
            vec![
                put(ColumnFamily::Default, &b""[..], &b"8"[..]),
                put(ColumnFamily::Nodes, b"z", b"2"),
                put(ColumnFamily::Indices, b"a", b"4"),
                put(ColumnFamily::Indices, b"a\0", b"3"),
                put(ColumnFamily::Indices, b"b", b"1"),
                BatchOp::Delete {
                    cf: ColumnFamily::Indices,
                    key: b"b"
                },
                put(ColumnFamily::Indices, b"b", b"7"),
                put(ColumnFamily::Indices, &long_b, b"6"),
                put(ColumnFamily::Indices, &long_a, b"5"),
            ]
        );
        // Sorting again changes nothing; appending keeps working.
        assert!(b.sort_by_key());
        b.put(ColumnFamily::Default, b"0", b"9");
        assert_eq!(b.len(), 10);
        assert!(b.sort_by_key());
        assert_eq!(ops(&b)[1], put(ColumnFamily::Default, &b"0"[..], &b"9"[..]));
    }

    /// Two sorted batches appended one to the other (merged, not sorted
    /// again) and other shapes give the same order as a plain stable sort.
    #[test]
    fn sort_by_key_merges_two_runs_and_sorts_the_rest_alike() {
        let keys = |seed: u64, n: usize| -> Vec<Vec<u8>> {
            let mut x = seed;
            (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let len = (x >> 60) as usize % 20;
                    (0..len).map(|i| ((x >> (i % 8 * 8)) as u8) % 3).collect()
                })
                .collect()
        };
        for (seed, shape) in (0..40u64).zip([0, 1, 2, 3].into_iter().cycle()) {
            let (ka, kb) = (keys(seed, 50), keys(seed + 100, 70));
            let mut b = WriteBatch::new();
            let mut want: Vec<(usize, Vec<u8>, usize)> = Vec::new();
            let mut push = |b: &mut WriteBatch, k: &[u8], cf: ColumnFamily| {
                let pos = want.len();
                b.put(cf, k, &pos.to_le_bytes());
                want.push((cf.index(), k.to_vec(), pos));
            };
            let cf = |i: usize| ColumnFamily::ALL[i % 4];
            if shape == 0 {
                // Two runs, each sorted.
                let mut a = ka.clone();
                a.sort();
                let mut c = kb.clone();
                c.sort();
                for k in &a {
                    push(&mut b, k, ColumnFamily::Indices);
                }
                for k in &c {
                    push(&mut b, k, ColumnFamily::Indices);
                }
            } else {
                for (i, k) in ka.iter().chain(&kb).enumerate() {
                    push(&mut b, k, cf(i * shape));
                }
            }
            want.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
            assert!(b.sort_by_key());
            let got: Vec<(usize, Vec<u8>, usize)> = b
                .iter()
                .map(|op| match op {
                    BatchOp::Put { cf, key, value } => (
                        cf.index(),
                        key.to_vec(),
                        usize::from_le_bytes(value.try_into().unwrap_or_default()),
                    ),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, want, "seed {seed} shape {shape}");
        }
    }

    /// Two threads sort exactly as one: same order of families, keys and
    /// operations on one key (many collide here), puts and deletes alike.
    #[test]
    fn sorting_in_parallel_equals_sorting_on_one_thread() {
        let mut x = 7u64;
        let mut b = WriteBatch::new();
        for i in 0..3 * PARALLEL_SORT_MIN {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let cf = ColumnFamily::ALL[(x >> 62) as usize];
            // Short keys collide often; long ones share 16- and 32-byte
            // prefixes.
            let len = [1, 2, 17, 29, 33, 40][(x >> 59) as usize % 6];
            let key: Vec<u8> = (0..len).map(|j| ((x >> (j % 8 * 4)) & 3) as u8).collect();
            if i % 5 == 0 {
                b.delete(cf, &key);
            } else {
                b.put(cf, &key, &i.to_le_bytes());
            }
        }
        let mut one = b.clone();
        assert!(one.sort_by_key());
        assert!(b.sort_by_key_in_parallel());
        assert_eq!(ops(&b), ops(&one));
        // Sorted already, and with a delete-range: as sort_by_key.
        assert!(b.sort_by_key_in_parallel());
        assert_eq!(ops(&b), ops(&one));
        b.delete_range(ColumnFamily::Nodes, b"a", b"b");
        b.put(ColumnFamily::Default, b"", b"");
        let copy = b.clone();
        assert!(!b.sort_by_key_in_parallel());
        assert_eq!(ops(&b), ops(&copy));
    }

    #[test]
    fn sort_by_key_leaves_a_batch_with_a_delete_range_alone() {
        let mut b = WriteBatch::new();
        b.put(ColumnFamily::Nodes, b"b", b"1");
        b.delete_range(ColumnFamily::Nodes, b"a", b"c");
        b.put(ColumnFamily::Nodes, b"a", b"2");
        let copy = b.clone();
        assert!(!b.sort_by_key());
        assert_eq!(ops(&b), ops(&copy));
    }

    #[test]
    fn key_prefix_orders_like_the_keys() {
        let keys: [&[u8]; 7] = [b"", b"\0", b"a", b"a\0", b"a\0\0", b"ab", &[0xFF; 17]];
        for x in keys {
            for y in keys {
                if key_prefix(x) != key_prefix(y) {
                    assert_eq!(key_prefix(x) < key_prefix(y), x < y, "{x:?} {y:?}");
                }
            }
        }
    }
}
