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

fn write_run(mut arena: Arena, path: &Path) -> Result<u64> {
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

/// The external sorter.
pub(crate) struct Sorter {
    budget: usize,
    dir: PathBuf,
    name: &'static str,
    arena: Arena,
    runs: Vec<PathBuf>,
    spilled_bytes: u64,
    worker: Option<(SyncSender<Spill>, JoinHandle<Result<u64>>)>,
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
        let arena = std::mem::take(&mut self.arena);
        let path = self
            .dir
            .join(format!("{}-{}.run", self.name, self.runs.len()));
        self.runs.push(path.clone());
        if self.worker.is_none() {
            let (tx, rx): (SyncSender<Spill>, Receiver<Spill>) = sync_channel(0);
            let handle = std::thread::Builder::new()
                .name("bulk-sort".into())
                .spawn(move || {
                    let mut bytes = 0;
                    for (arena, path) in rx {
                        bytes += write_run(arena, &path)?;
                    }
                    Ok(bytes)
                })
                .map_err(|e| Error::Io {
                    message: format!("cannot start the sort thread: {e}"),
                })?;
            self.worker = Some((tx, handle));
        }
        let sent = match &self.worker {
            Some((tx, _)) => tx.send((arena, path)).is_ok(),
            None => false,
        };
        if !sent {
            // The worker stopped: it failed; its error is in join.
            return self.join().and(Err(Error::Io {
                message: "the sort thread stopped".into(),
            }));
        }
        Ok(())
    }

    fn join(&mut self) -> Result<()> {
        if let Some((tx, handle)) = self.worker.take() {
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
            .key
            .cmp(&self.key)
            .then_with(|| other.source.cmp(&self.source))
    }
}

/// The k-way merge of a [`Sorter`]'s runs.
pub(crate) struct Merge {
    sources: Vec<Source>,
    heap: BinaryHeap<Head>,
    pending: Option<(Vec<u8>, Vec<u8>)>,
    done: bool,
}

impl Merge {
    fn refill(&mut self, i: usize) -> Result<()> {
        let (mut key, mut value) = (Vec::new(), Vec::new());
        let got = match &mut self.sources[i] {
            Source::Run { reader, path } => spill::read_entry(reader, &mut key, &mut value)
                .map_err(|e| io_error("cannot read sort run", path, &e))?,
            Source::Memory { arena, next } => match arena.slots.get(*next) {
                Some(s) => {
                    key.extend_from_slice(arena.key(s));
                    value.extend_from_slice(arena.value(s));
                    *next += 1;
                    true
                }
                None => false,
            },
        };
        if got {
            self.heap.push(Head {
                key,
                value,
                source: i,
            });
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        self.refill(head.source)?;
        Ok(Some((head.key, head.value)))
    }
}

impl Iterator for Merge {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.pop() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => {
                    self.done = true;
                    return self.pending.take().map(Ok);
                }
                Ok(Some(entry)) => match self.pending.take() {
                    // A later entry with the same key replaces the earlier.
                    Some(prev) if prev.0 == entry.0 => self.pending = Some(entry),
                    Some(prev) => {
                        self.pending = Some(entry);
                        return Some(Ok(prev));
                    }
                    None => self.pending = Some(entry),
                },
            }
        }
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
        let mut want = std::collections::BTreeMap::new();
        {
            let mut s = Sorter::new(1 << 17, &dir, "t");
            let mut x: u64 = 7;
            for i in 0..60_000u64 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let key = (x % 5_000).to_string().into_bytes();
                let value = i.to_string().into_bytes();
                s.push(&key, &value)?;
                want.insert(key, value);
            }
            s.push(b"", b"empty")?;
            want.insert(Vec::new(), b"empty".to_vec());
            assert!(s.spilled_runs() > 2);
            let got: Vec<(Vec<u8>, Vec<u8>)> = s.finish()?.0.collect::<Result<_>>()?;
            let want: Vec<(Vec<u8>, Vec<u8>)> = want.into_iter().collect();
            assert_eq!(got, want);
        }
        let left = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(left, 0, "run files left behind");
        Ok(())
    }
}
