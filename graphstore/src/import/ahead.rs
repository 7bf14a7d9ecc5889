//! Rows read ahead on a thread of their own.
//!
//! The import's writing thread is its critical path (BENCHMARKS.md,
//! "Peers"): reading and parsing the input (decompression, CSV, building
//! each row's strings and property map) is a third of its work. A
//! [`ReadAhead`] moves that to a reader thread, which fills batches of
//! rows while the writing thread writes the previous ones.
//!
//! Rows are not handed over for good: the writing thread reads each batch
//! in place and gives it back, and the reader thread empties it before it
//! fills it again. So every row is allocated and freed on the reader
//! thread. (Handing owned rows over, freed by the other thread, made the
//! import slower, not faster: glibc's allocator serves frees of another
//! thread's memory from its slow path.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::source::{Item, ItemReader, Loc, RowError};

/// One row as a reader returns it.
pub(crate) type Row = Result<(Item, Loc), RowError>;

/// Rows per batch: large enough that handing a batch over costs nothing
/// per row, small enough that the first rows arrive at once.
const BATCH_ROWS: usize = 1024;

/// Batches in flight: the reader fills up to this many ahead of the
/// writer.
const BATCHES: usize = 4;

/// A reader running on its own thread (see the module docs).
pub(crate) struct ReadAhead {
    full: Option<Receiver<Vec<Row>>>,
    empty: Option<SyncSender<Vec<Row>>>,
    position: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading `reader` on a new thread.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub(crate) fn start(mut reader: Box<dyn ItemReader + Send>) -> std::io::Result<ReadAhead> {
        // One more than the batches: room for the empty end marker.
        let (full_tx, full_rx) = sync_channel::<Vec<Row>>(BATCHES + 1);
        let (empty_tx, empty_rx) = sync_channel::<Vec<Row>>(BATCHES);
        for _ in 0..BATCHES {
            // Cannot fail: the channel has room for every batch.
            let _ = empty_tx.try_send(Vec::with_capacity(BATCH_ROWS));
        }
        let position = Arc::new(AtomicU64::new(0));
        let shared = Arc::clone(&position);
        let thread = std::thread::Builder::new()
            .name("import-read".into())
            .spawn(move || {
                // Ends at the end of the input, or when the writer stops
                // taking batches (its side of a channel is dropped).
                while let Ok(mut batch) = empty_rx.recv() {
                    batch.clear();
                    while batch.len() < BATCH_ROWS {
                        match reader.next_item() {
                            Some(row) => batch.push(row),
                            None => break,
                        }
                    }
                    shared.store(reader.position(), Ordering::Relaxed);
                    let ended = batch.len() < BATCH_ROWS;
                    let marked = batch.is_empty();
                    if full_tx.send(batch).is_err() {
                        break;
                    }
                    if ended {
                        if !marked {
                            // An empty batch says the input ended.
                            let _ = full_tx.send(Vec::new());
                        }
                        break;
                    }
                }
            })?;
        Ok(ReadAhead {
            full: Some(full_rx),
            empty: Some(empty_tx),
            position,
            thread: Some(thread),
        })
    }

    /// The next batch of rows (never empty), or `None` at the end of the
    /// input. Give it back with [`give_back`](Self::give_back) once read.
    pub(crate) fn next_batch(&mut self) -> Option<Vec<Row>> {
        let batch = self.full.as_ref()?.recv().ok()?;
        if batch.is_empty() {
            self.full = None;
            return None;
        }
        Some(batch)
    }

    /// Hands a read batch back to the reader thread, which frees its rows
    /// and fills it again.
    pub(crate) fn give_back(&mut self, batch: Vec<Row>) {
        if let Some(empty) = &self.empty {
            // The reader may have ended: the batch is then freed here.
            let _ = empty.send(batch);
        }
    }

    /// Bytes of input the reader thread has consumed.
    pub(crate) fn position(&self) -> u64 {
        self.position.load(Ordering::Relaxed)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Closing both channels ends the reader thread wherever it waits.
        self.full = None;
        self.empty = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_storage::Properties;

    /// Rows 0..n: nodes with ids "0", "1", ..., every seventh one a bad row.
    struct Counted {
        next: u64,
        n: u64,
    }

    impl ItemReader for Counted {
        fn next_item(&mut self) -> Option<Row> {
            if self.next == self.n {
                return None;
            }
            let i = self.next;
            self.next += 1;
            let loc = Loc {
                file: Arc::from("rows"),
                line: i + 1,
            };
            Some(if i % 7 == 6 {
                Err(RowError::bad(loc, 1, format!("row {i}")))
            } else {
                Ok((
                    Item::Node {
                        space: Arc::from(""),
                        id: Some(i.to_string()),
                        labels: vec!["L".into()],
                        properties: Properties::new(),
                    },
                    loc,
                ))
            })
        }

        fn position(&self) -> u64 {
            self.next * 10
        }
    }

    fn line(row: &Row) -> u64 {
        match row {
            Ok((_, loc)) => loc.line,
            Err(e) => e.loc.line,
        }
    }

    #[test]
    fn every_row_arrives_once_in_order_whatever_the_count() {
        for n in [0, 1, 2, 1023, 1024, 1025, 4096, 5000, 9999] {
            let mut r = ReadAhead::start(Box::new(Counted { next: 0, n }))
                .unwrap_or_else(|e| panic!("start: {e}"));
            let mut lines = Vec::new();
            while let Some(batch) = r.next_batch() {
                assert!(!batch.is_empty() && batch.len() <= BATCH_ROWS);
                lines.extend(batch.iter().map(line));
                for row in &batch {
                    if let Ok((Item::Node { id, .. }, loc)) = row {
                        assert_eq!(id.as_deref(), Some((loc.line - 1).to_string().as_str()));
                    }
                }
                r.give_back(batch);
            }
            assert_eq!(lines, (1..=n).collect::<Vec<_>>(), "n = {n}");
            assert_eq!(r.position(), n * 10);
            // The end stays the end.
            assert!(r.next_batch().is_none());
        }
    }

    #[test]
    fn a_writer_that_stops_early_ends_the_reader_thread() {
        // A reader with far more rows than the batches in flight: dropping
        // the read-ahead after one batch must not hang.
        let mut r = ReadAhead::start(Box::new(Counted {
            next: 0,
            n: u64::MAX,
        }))
        .unwrap_or_else(|e| panic!("start: {e}"));
        let first = r.next_batch().map(|b| b.len());
        assert_eq!(first, Some(BATCH_ROWS));
        drop(r);
        // Never giving a batch back ends it too.
        let mut r = ReadAhead::start(Box::new(Counted {
            next: 0,
            n: u64::MAX,
        }))
        .unwrap_or_else(|e| panic!("start: {e}"));
        let held: Vec<_> = std::iter::from_fn(|| r.next_batch())
            .take(BATCHES)
            .collect();
        assert_eq!(held.len(), BATCHES);
        drop(r);
    }
}
