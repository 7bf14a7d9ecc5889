//! External sort of (key, value) entries in bounded memory, for the bulk
//! loader: entries gather in an arena; a full arena is sorted and spilled
//! to a run file by a worker thread (so sorting overlaps with the caller's
//! encoding on the second core) while the caller fills the next one; the
//! runs and the last arena are then merged. Equal keys keep the entry added
//! last, as a write batch would.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use graph_core::codec::spill;
use graph_core::{Error, Result};

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        message: format!("{what} {}: {e}", path.display()),
    }
}

/// One entry of an arena: where its key and value are, and the key's
/// first eight bytes for fast comparison.
#[derive(Debug, Clone, Copy)]
struct Slot {
    prefix: u128,
    offset: usize,
    key_len: u32,
    value_len: u32,
}

/// Entries in insertion order, stored back to back.
#[derive(Debug, Default)]
struct Arena {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

impl Arena {
    fn key(&self, s: &Slot) -> &[u8] {
        &self.bytes[s.offset..s.offset + s.key_len as usize]
    }

    fn value(&self, s: &Slot) -> &[u8] {
        let start = s.offset + s.key_len as usize;
        &self.bytes[start..start + s.value_len as usize]
    }

    fn size(&self) -> usize {
        self.bytes.len() + self.slots.len() * std::mem::size_of::<Slot>()
    }

    /// Sorts by key, equal keys in insertion order (by offset, which grows
    /// with insertion).
    fn sort(&mut self) {
        let mut slots = std::mem::take(&mut self.slots);
        slots.sort_unstable_by(|a, b| {
            a.prefix.cmp(&b.prefix).then_with(|| {
                let (ka, kb) = (self.key(a), self.key(b));
                // Equal prefixes: the keys agree on their first bytes.
                let skip = spill::SORT_PREFIX_LEN.min(ka.len()).min(kb.len());
                ka[skip..].cmp(&kb[skip..]).then(a.offset.cmp(&b.offset))
            })
        });
        self.slots = slots;
    }
}

fn write_run(arena: &mut Arena, path: &Path) -> Result<u64> {
    arena.sort();
    let file = File::create(path).map_err(|e| io_error("cannot create sort run", path, &e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    for s in &arena.slots {
        spill::write_entry(&mut w, arena.key(s), arena.value(s))
            .map_err(|e| io_error("cannot write sort run", path, &e))?;
    }
    w.flush()
        .map_err(|e| io_error("cannot write sort run", path, &e))?;
    Ok(arena.bytes.len() as u64)
}

/// A full arena and the run file it goes to.
type Spill = (Arena, PathBuf);

/// The sort thread: full arenas go to it; each comes back emptied (its
/// memory kept) once its run is written, to be filled again.
struct Worker {
    tx: SyncSender<Spill>,
    emptied: Receiver<Arena>,
    handle: JoinHandle<Result<u64>>,
}

/// The external sorter.
pub(crate) struct Sorter {
    budget: usize,
    dir: PathBuf,
    name: &'static str,
    arena: Arena,
    runs: Vec<PathBuf>,
    spilled_bytes: u64,
    worker: Option<Worker>,
}

impl Sorter {
    /// A sorter holding at most about `budget` bytes in memory (two arenas
    /// of half that: one filling, one being spilled), spilling into `dir`
    /// (which must exist) as `<name>-<n>.run`.
    pub(crate) fn new(budget: usize, dir: &Path, name: &'static str) -> Self {
        Sorter {
            budget: (budget / 2).max(1 << 16),
            dir: dir.to_path_buf(),
            name,
            arena: Arena::default(),
            runs: Vec::new(),
            spilled_bytes: 0,
            worker: None,
        }
    }

    /// Adds an entry.
    ///
    /// # Errors
    /// I/O errors of an earlier spill; too long an entry.
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let too_long = || Error::invalid("bulk entry longer than 4 GiB");
        let slot = Slot {
            prefix: spill::sort_prefix(key),
            offset: self.arena.bytes.len(),
            key_len: u32::try_from(key.len()).map_err(|_| too_long())?,
            value_len: u32::try_from(value.len()).map_err(|_| too_long())?,
        };
        self.arena.bytes.extend_from_slice(key);
        self.arena.bytes.extend_from_slice(value);
        self.arena.slots.push(slot);
        if self.arena.size() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Runs spilled so far.
    pub(crate) fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> Result<()> {
        let path = self
            .dir
            .join(format!("{}-{}.run", self.name, self.runs.len()));
        self.runs.push(path.clone());
        if self.worker.is_none() {
            let (tx, rx): (SyncSender<Spill>, Receiver<Spill>) = sync_channel(0);
            let (back, emptied) = sync_channel::<Arena>(1);
            let handle = std::thread::Builder::new()
                .name("bulk-sort".into())
                .spawn(move || {
                    let mut bytes = 0;
                    for (mut arena, path) in rx {
                        bytes += write_run(&mut arena, &path)?;
                        arena.bytes.clear();
                        arena.slots.clear();
                        // Refused only once the sorter is gone.
                        let _ = back.try_send(arena);
                    }
                    Ok(bytes)
                })
                .map_err(|e| Error::Io {
                    message: format!("cannot start the sort thread: {e}"),
                })?;
            self.worker = Some(Worker {
                tx,
                emptied,
                handle,
            });
        }
        let arena = std::mem::take(&mut self.arena);
        let sent = match &self.worker {
            Some(w) => w.tx.send((arena, path)).is_ok(),
            None => false,
        };
        if !sent {
            // The worker stopped: it failed; its error is in join.
            return self.join().and(Err(Error::Io {
                message: "the sort thread stopped".into(),
            }));
        }
        // The worker took this arena only after it had finished the one
        // before, which is back by now (none after the first spill).
        if let Some(w) = &self.worker
            && let Ok(arena) = w.emptied.try_recv()
        {
            self.arena = arena;
        }
        Ok(())
    }

    fn join(&mut self) -> Result<()> {
        if let Some(Worker { tx, handle, .. }) = self.worker.take() {
            drop(tx);
            match handle.join() {
                Ok(r) => self.spilled_bytes += r?,
                Err(_) => {
                    return Err(Error::Io {
                        message: "the sort thread panicked".into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every entry in ascending key order, the last added of equal keys
    /// only, and the bytes spilled to run files. Run files are deleted as
    /// the merge is dropped.
    ///
    /// # Errors
    /// I/O errors of spilling or opening the runs.
    pub(crate) fn finish(mut self) -> Result<(Merge, u64)> {
        self.join()?;
        let spilled = self.spilled_bytes;
        let mut arena = std::mem::take(&mut self.arena);
        arena.sort();
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for path in std::mem::take(&mut self.runs) {
            let file =
                File::open(&path).map_err(|e| io_error("cannot open sort run", &path, &e))?;
            sources.push(Source::Run {
                reader: BufReader::with_capacity(1 << 20, file),
                path,
            });
        }
        sources.push(Source::Memory { arena, next: 0 });
        let mut merge = Merge {
            sources,
            heap: BinaryHeap::new(),
            pending: None,
            current: None,
            free: Vec::new(),
            done: false,
        };
        for i in 0..merge.sources.len() {
            merge.refill(i)?;
        }
        Ok((merge, spilled))
    }
}

impl Drop for Sorter {
    fn drop(&mut self) {
        let _ = self.join();
        for path in &self.runs {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum Source {
    Run {
        reader: BufReader<File>,
        path: PathBuf,
    },
    Memory {
        arena: Arena,
        next: usize,
    },
}

/// The head entry of one source; sources are numbered in insertion order,
/// so of equal keys the higher source holds the later entry.
struct Head {
    /// The key's first bytes as a number, compared first.
    prefix: u128,
    key: Vec<u8>,
    value: Vec<u8>,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed for the max-heap: smallest key first, then lowest source.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .prefix
            .cmp(&self.prefix)
            .then_with(|| {
                // Equal prefixes: the keys agree on their first bytes.
                let skip = spill::SORT_PREFIX_LEN
                    .min(self.key.len())
                    .min(other.key.len());
                other.key[skip..].cmp(&self.key[skip..])
            })
            .then_with(|| other.source.cmp(&self.source))
    }
}

/// The k-way merge of a [`Sorter`]'s runs. Entries are read into buffers
/// that are used again once the caller is done with an entry: the merge
/// allocates nothing per entry ([`next_entry`](Self::next_entry)).
pub(crate) struct Merge {
    sources: Vec<Source>,
    heap: BinaryHeap<Head>,
    /// The smallest entry popped, held back until an entry with another
    /// key shows it was the last of its key.
    pending: Option<Head>,
    /// The entry last returned by [`next_entry`](Self::next_entry).
    current: Option<Head>,
    /// Buffers of entries the caller is done with.
    free: Vec<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl Merge {
    fn recycle(&mut self, head: Head) {
        self.free.push((head.key, head.value));
    }

    fn refill(&mut self, i: usize) -> Result<()> {
        let (mut key, mut value) = self.free.pop().unwrap_or_default();
        let got = match &mut self.sources[i] {
            Source::Run { reader, path } => spill::read_entry(reader, &mut key, &mut value)
                .map_err(|e| io_error("cannot read sort run", path, &e))?,
            Source::Memory { arena, next } => match arena.slots.get(*next) {
                Some(s) => {
                    key.clear();
                    key.extend_from_slice(arena.key(s));
                    value.clear();
                    value.extend_from_slice(arena.value(s));
                    *next += 1;
                    true
                }
                None => false,
            },
        };
        if got {
            self.heap.push(Head {
                prefix: spill::sort_prefix(&key),
                key,
                value,
                source: i,
            });
        } else {
            self.free.push((key, value));
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Option<Head>> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        self.refill(head.source)?;
        Ok(Some(head))
    }

    /// The next entry in ascending key order (the last added of equal
    /// keys), borrowed until the next call; `None` at the end.
    ///
    /// # Errors
    /// I/O errors reading a run; the merge ends after one.
    pub(crate) fn next_entry(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        if let Some(done) = self.current.take() {
            self.recycle(done);
        }
        if self.done {
            return Ok(None);
        }
        loop {
            let popped = match self.pop() {
                Ok(p) => p,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            match (popped, self.pending.take()) {
                (None, pending) => {
                    self.done = true;
                    self.current = pending;
                    break;
                }
                (Some(entry), None) => self.pending = Some(entry),
                // A later entry with the same key replaces the earlier.
                (Some(entry), Some(prev)) if prev.key == entry.key => {
                    self.recycle(prev);
                    self.pending = Some(entry);
                }
                (Some(entry), Some(prev)) => {
                    self.pending = Some(entry);
                    self.current = Some(prev);
                    break;
                }
            }
        }
        Ok(self
            .current
            .as_ref()
            .map(|h| (h.key.as_slice(), h.value.as_slice())))
    }
}

impl Iterator for Merge {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    /// [`next_entry`](Merge::next_entry), copied out.
    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
            .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .transpose()
    }
}

impl Drop for Merge {
    fn drop(&mut self) {
        for s in &self.sources {
            if let Source::Run { path, .. } = s {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_across_runs_and_keeps_the_last_of_equal_keys() -> Result<()> {
        let dir =
            std::env::temp_dir().join(format!("graph-storage-sort-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| io_error("mkdir", &dir, &e))?;
        for lending in [false, true] {
            let mut want = std::collections::BTreeMap::new();
            let mut s = Sorter::new(1 << 17, &dir, "t");
            let mut x: u64 = 7;
            for i in 0..60_000u64 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                // Short keys, and longer ones sharing their first 16
                // bytes (ordered past the prefix compared first).
                let key = match i % 3 {
                    0 => format!("a-shared-prefix-{}", x % 5_000),
                    _ => (x % 5_000).to_string(),
                }
                .into_bytes();
                let value = i.to_string().into_bytes();
                s.push(&key, &value)?;
                want.insert(key, value);
            }
            s.push(b"", b"empty")?;
            want.insert(Vec::new(), b"empty".to_vec());
            assert!(s.spilled_runs() > 2);
            let (mut merge, spilled) = s.finish()?;
            assert!(spilled > 0);
            let got: Vec<(Vec<u8>, Vec<u8>)> = if lending {
                let mut got = Vec::new();
                while let Some((k, v)) = merge.next_entry()? {
                    got.push((k.to_vec(), v.to_vec()));
                }
                assert!(merge.next_entry()?.is_none());
                got
            } else {
                merge.by_ref().collect::<Result<_>>()?
            };
            drop(merge);
            let want: Vec<(Vec<u8>, Vec<u8>)> = want.into_iter().collect();
            assert_eq!(got, want);
        }
        let left = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(left, 0, "run files left behind");
        Ok(())
    }
}
