//! Backends that misbehave on purpose, wrapped around a real one.
//!
//! * [`PowerLossBackend`] keeps a durable image beside the live state, as a
//!   disk does beside the OS page cache: `Strict` writes (and
//!   [`sync`](StorageBackend::sync), [`flush`](StorageBackend::flush)) reach
//!   the durable image at once, `Background` writes wait in a volatile
//!   queue. [`PowerLossBackend::power_cut`] rebuilds what a machine would
//!   find after losing power: the durable image plus a random prefix of the
//!   queue (a write-ahead log loses a suffix of unsynced records, never a
//!   record in the middle; each batch is one record).
//! * [`FailingBackend`] fails the Nth call (get, scan, write, sync, ... and
//!   reads of its snapshots), once or from then on, with
//!   [`Error::Io`], like SQLite's and redb's fault-injection loops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use graph_core::{
    ColumnFamily, Durability, Error, KeyRange, ReadView, Result, ScanDirection, StorageBackend,
    Visitor, WriteBatch,
};
use rand::Rng;
use storage_memory::MemoryBackend;

use crate::workload::Dump;

/// What happens to the write during which the power fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOutcome {
    /// The write never reached the OS: it is lost.
    Lost,
    /// The write reached the OS buffers but was not synced.
    Buffered,
    /// The write and everything before it reached the disk (the fsync
    /// finished, the acknowledgement did not).
    Synced,
}

#[derive(Debug, Default)]
struct PowerState {
    /// Writes that reached the OS but not the disk, oldest first.
    pending: Vec<WriteBatch>,
    writes: u64,
    cut_at: Option<(u64, CutOutcome)>,
    dead: bool,
}

/// A memory backend with a durable/volatile split (see the module docs).
#[derive(Debug, Default)]
pub struct PowerLossBackend {
    live: MemoryBackend,
    durable: MemoryBackend,
    state: Mutex<PowerState>,
}

fn power_off() -> Error {
    Error::Io {
        message: "simulated power loss: the machine is off".into(),
    }
}

impl PowerLossBackend {
    /// An empty backend with nothing durable.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, PowerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loses power during the `n`th write from now (1 = the next one), with
    /// `outcome` for that write; it and every later call fail with
    /// [`Error::Io`].
    pub fn cut_during_write(&self, n: u64, outcome: CutOutcome) {
        let mut s = self.lock();
        let at = s.writes + n;
        s.cut_at = Some((at, outcome));
    }

    /// The number of writes not yet durable.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    fn make_durable(&self, s: &mut PowerState) -> Result<()> {
        for b in s.pending.drain(..) {
            self.durable.write(&b, Durability::Strict)?;
        }
        Ok(())
    }

    /// Turns the power off (every later call fails) and returns what the
    /// disk holds when it comes back: the durable image plus the first `k`
    /// pending writes, `k` drawn uniformly from `0..=pending`. Also returns
    /// `k` and the number that were pending.
    ///
    /// # Errors
    /// Never in practice (memory backends cannot fail).
    pub fn power_cut(&self, rng: &mut impl Rng) -> Result<(MemoryBackend, usize, usize)> {
        let mut s = self.lock();
        s.dead = true;
        let total = s.pending.len();
        let keep = rng.gen_range(0..=total);
        let image = Dump::of(&self.durable)?.to_memory()?;
        for b in &s.pending[..keep] {
            image.write(b, Durability::Strict)?;
        }
        Ok((image, keep, total))
    }
}

impl ReadView for PowerLossBackend {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.lock().dead {
            return Err(power_off());
        }
        self.live.get(cf, key)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        if self.lock().dead {
            return Err(power_off());
        }
        self.live.scan(cf, range, direction, visit)
    }
}

impl StorageBackend for PowerLossBackend {
    type Snapshot<'a> = <MemoryBackend as StorageBackend>::Snapshot<'a>;

    fn snapshot(&self) -> Self::Snapshot<'_> {
        self.live.snapshot()
    }

    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        let mut s = self.lock();
        if s.dead {
            return Err(power_off());
        }
        s.writes += 1;
        if let Some((at, outcome)) = s.cut_at
            && at == s.writes
        {
            s.dead = true;
            match outcome {
                CutOutcome::Lost => {}
                CutOutcome::Buffered => s.pending.push(batch.clone()),
                CutOutcome::Synced => {
                    s.pending.push(batch.clone());
                    self.make_durable(&mut s)?;
                }
            }
            return Err(power_off());
        }
        self.live.write(batch, durability)?;
        s.pending.push(batch.clone());
        if durability == Durability::Strict {
            // An fsync of a log makes every earlier record durable too.
            self.make_durable(&mut s)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let mut s = self.lock();
        if s.dead {
            return Err(power_off());
        }
        self.make_durable(&mut s)
    }

    fn sync(&self) -> Result<()> {
        let mut s = self.lock();
        if s.dead {
            return Err(power_off());
        }
        self.make_durable(&mut s)
    }
}

/// When [`FailingBackend`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Only the Nth call fails; later calls succeed.
    Once,
    /// The Nth call and every later one fail.
    Forever,
}

/// A backend that fails its Nth call (see the module docs).
///
/// Every call of [`ReadView`] and [`StorageBackend`] counts once (a
/// `put` counts as its `write`), and so does every read of a snapshot.
#[derive(Debug)]
pub struct FailingBackend<B> {
    inner: B,
    fail_at: u64,
    mode: FaultMode,
    calls: AtomicU64,
    injected: AtomicU64,
}

impl<B: StorageBackend> FailingBackend<B> {
    /// Wraps `inner`, failing call number `fail_at` (1-based) in `mode`;
    /// `fail_at = 0` never fails.
    pub fn new(inner: B, fail_at: u64, mode: FaultMode) -> Self {
        FailingBackend {
            inner,
            fail_at,
            mode,
            calls: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Stops injecting faults.
    pub fn disarm(&mut self) {
        self.fail_at = 0;
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Unwraps the backend.
    pub fn into_inner(self) -> B {
        self.inner
    }

    fn check(&self, what: &str) -> Result<()> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let fail = self.fail_at != 0
            && match self.mode {
                FaultMode::Once => n == self.fail_at,
                FaultMode::Forever => n >= self.fail_at,
            };
        if fail {
            self.injected.fetch_add(1, Ordering::Relaxed);
            return Err(Error::Io {
                message: format!("injected fault at call {n} ({what})"),
            });
        }
        Ok(())
    }
}

impl<B: StorageBackend> ReadView for FailingBackend<B> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check("get")?;
        self.inner.get(cf, key)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        self.check("scan")?;
        self.inner.scan(cf, range, direction, visit)
    }

    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        self.check("multi_get")?;
        self.inner.multi_get(cf, keys)
    }
}

/// A snapshot of a [`FailingBackend`]; its reads count as calls too.
pub struct FailingSnapshot<'a, B: StorageBackend + 'a> {
    inner: B::Snapshot<'a>,
    parent: &'a FailingBackend<B>,
}

impl<'a, B: StorageBackend + 'a> ReadView for FailingSnapshot<'a, B> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.parent.check("snapshot get")?;
        self.inner.get(cf, key)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        self.parent.check("snapshot scan")?;
        self.inner.scan(cf, range, direction, visit)
    }
}

impl<B: StorageBackend> StorageBackend for FailingBackend<B> {
    type Snapshot<'a>
        = FailingSnapshot<'a, B>
    where
        Self: 'a;

    fn snapshot(&self) -> FailingSnapshot<'_, B> {
        FailingSnapshot {
            inner: self.inner.snapshot(),
            parent: self,
        }
    }

    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        self.check("write")?;
        self.inner.write(batch, durability)
    }

    fn flush(&self) -> Result<()> {
        self.check("flush")?;
        self.inner.flush()
    }

    fn sync(&self) -> Result<()> {
        self.check("sync")?;
        self.inner.sync()
    }
}

/// A backend shared through an [`Arc`], so a test keeps a handle on the
/// data while a store owns the backend (and after a failed open dropped
/// it).
#[derive(Debug)]
pub struct Shared<B>(pub Arc<B>);

impl<B: StorageBackend> ReadView for Shared<B> {
    fn get(&self, cf: ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(cf, key)
    }

    fn scan(
        &self,
        cf: ColumnFamily,
        range: KeyRange<'_>,
        direction: ScanDirection,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        self.0.scan(cf, range, direction, visit)
    }

    fn multi_get(&self, cf: ColumnFamily, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        self.0.multi_get(cf, keys)
    }
}

impl<B: StorageBackend> StorageBackend for Shared<B> {
    type Snapshot<'a>
        = B::Snapshot<'a>
    where
        Self: 'a;

    fn snapshot(&self) -> B::Snapshot<'_> {
        self.0.snapshot()
    }

    fn write(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        self.0.write(batch, durability)
    }

    fn flush(&self) -> Result<()> {
        self.0.flush()
    }

    fn sync(&self) -> Result<()> {
        self.0.sync()
    }
}
