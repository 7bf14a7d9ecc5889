//! [`LogStore`]: openraft's log storage on a [`StorageBackend`] of its own.

use std::fmt::Debug;
use std::ops::{Bound, ControlFlow, RangeBounds};
use std::sync::Arc;

use crate::codec::{decode_envelope, encode_envelope, log_key};
use graph_core::codec::{decode_u32_value, encode_u32_value};
use graph_core::{
    ColumnFamily, Durability, Error, KeyRange, ReadView, Result, ScanDirection, StorageBackend,
    WriteBatch,
};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, LogState, OptionalSend, RaftLogReader};

use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

/// The Raft log of one member: entries, the vote, the committed and the
/// last purged log id, in the `default` family of a backend used for
/// nothing else (its own directory), laid out as
/// [`log_key`] says (docs/FORMAT.md, "Replication").
///
/// Every write uses the log's [`Durability`]: with `Strict` (the default
/// of [`LogStore::open`]) an append, a truncation, a purge and a vote are
/// fsynced before openraft is told they are done, so an acknowledged
/// entry survives a power loss on a majority. Appends, truncations and
/// purges are single atomic batches, so the log never has a hole.
///
/// Cloning is cheap: clones share the backend (openraft reads entries
/// through a clone while the log is written).
pub struct LogStore<B> {
    backend: Arc<B>,
    durability: Durability,
}

impl<B> Clone for LogStore<B> {
    fn clone(&self) -> Self {
        LogStore {
            backend: Arc::clone(&self.backend),
            durability: self.durability,
        }
    }
}

impl<B: StorageBackend + 'static> LogStore<B> {
    /// Opens the log kept in `backend`, initializing an empty backend.
    ///
    /// # Errors
    /// [`Error::IncompatibleFormat`] if the backend holds anything but a
    /// log of the format this build reads (for example a graph store);
    /// engine errors.
    pub fn open(backend: B, durability: Durability) -> Result<Self> {
        match backend.get(ColumnFamily::Default, log_key::FORMAT)? {
            Some(v) => {
                let found = decode_u32_value(ColumnFamily::Default, log_key::FORMAT, &v)?;
                if found != log_key::LOG_FORMAT {
                    return Err(Error::IncompatibleFormat {
                        found: format!("Raft log format {found}"),
                        supported: format!("Raft log format {}", log_key::LOG_FORMAT),
                    });
                }
            }
            None => {
                let empty = ColumnFamily::ALL.into_iter().try_fold(true, |empty, cf| {
                    Ok::<_, Error>(
                        empty
                            && backend
                                .collect_range(
                                    cf,
                                    KeyRange::all(),
                                    ScanDirection::Forward,
                                    Some(1),
                                )?
                                .is_empty(),
                    )
                })?;
                if !empty {
                    return Err(Error::IncompatibleFormat {
                        found: "a non-empty store that is not a Raft log".into(),
                        supported: format!("Raft log format {}", log_key::LOG_FORMAT),
                    });
                }
                backend.put(
                    ColumnFamily::Default,
                    log_key::FORMAT,
                    &encode_u32_value(log_key::LOG_FORMAT),
                    Durability::Strict,
                )?;
            }
        }
        Ok(LogStore {
            backend: Arc::new(backend),
            durability,
        })
    }

    /// The backend holding the log.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn read_value<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.backend.get(ColumnFamily::Default, key)? {
            Some(v) => decode_envelope(key, &v).map(Some),
            None => Ok(None),
        }
    }

    fn last_entry_id(&self) -> Result<Option<LogId>> {
        let start = [log_key::TAG_ENTRY];
        let end = [log_key::TAG_ENTRY + 1];
        let last = self.backend.collect_range(
            ColumnFamily::Default,
            KeyRange {
                start: &start,
                end: Some(&end),
            },
            ScanDirection::Reverse,
            Some(1),
        )?;
        match last.first() {
            Some((k, v)) => {
                let entry: Entry = decode_envelope(k, v)?;
                Ok(Some(entry.log_id))
            }
            None => Ok(None),
        }
    }

    /// The entries whose index lies in `range`, in order, stopping after
    /// the first entry that brings the encoded bytes read to `budget`.
    fn entries(&self, range: impl RangeBounds<u64>, budget: usize) -> Result<Vec<Entry>> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => match i.checked_add(1) {
                Some(i) => i,
                None => return Ok(Vec::new()),
            },
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&i) => i.checked_add(1),
            Bound::Excluded(&i) => Some(i),
            Bound::Unbounded => None,
        };
        let start_key = log_key::entry(start);
        let end_key = match end {
            Some(e) => log_key::entry(e).to_vec(),
            None => vec![log_key::TAG_ENTRY + 1],
        };
        let mut out = Vec::new();
        let mut bytes = 0usize;
        self.backend.scan(
            ColumnFamily::Default,
            KeyRange {
                start: &start_key,
                end: Some(&end_key),
            },
            ScanDirection::Forward,
            &mut |k, v| {
                out.push(decode_envelope::<Entry>(k, v)?);
                bytes = bytes.saturating_add(v.len());
                Ok(if bytes >= budget {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            },
        )?;
        Ok(out)
    }
}

fn log_err(verb: ErrorVerb) -> impl FnOnce(Error) -> StorageError {
    move |e| crate::storage_io(ErrorSubject::Logs, verb, &e)
}

impl<B: StorageBackend + 'static> RaftLogReader<TypeConfig> for LogStore<B> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, StorageError> {
        self.entries(range, usize::MAX)
            .map_err(log_err(ErrorVerb::Read))
    }

    /// What the leader sends a follower in one `append_entries`: at most
    /// [`REPLICATION_BATCH_BYTES`] of entries (at least one). openraft
    /// 0.9 gives each `append_entries` the heartbeat interval as its
    /// timeout, so a request of hundreds of large entries (a catching-up
    /// follower after an import) would time out again and again and the
    /// cluster would elect leaders forever instead of committing.
    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> std::result::Result<Vec<Entry>, StorageError> {
        self.entries(start..end, REPLICATION_BATCH_BYTES)
            .map_err(log_err(ErrorVerb::Read))
    }
}

/// The most encoded log bytes one `append_entries` carries (a larger
/// single entry goes alone).
pub const REPLICATION_BATCH_BYTES: usize = 1 << 20;

impl<B: StorageBackend + 'static> RaftLogStorage<TypeConfig> for LogStore<B> {
    type LogReader = LogStore<B>;

    async fn get_log_state(&mut self) -> std::result::Result<LogState<TypeConfig>, StorageError> {
        let purged: Option<LogId> = self
            .read_value::<Option<LogId>>(log_key::PURGED)
            .map_err(log_err(ErrorVerb::Read))?
            .flatten();
        let last = self.last_entry_id().map_err(log_err(ErrorVerb::Read))?;
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last.or(purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> std::result::Result<(), StorageError> {
        let save = || -> Result<()> {
            self.backend.put(
                ColumnFamily::Default,
                log_key::VOTE,
                &encode_envelope(vote)?,
                self.durability,
            )
        };
        save().map_err(|e| crate::storage_io(ErrorSubject::Vote, ErrorVerb::Write, &e))
    }

    async fn read_vote(&mut self) -> std::result::Result<Option<Vote>, StorageError> {
        self.read_value(log_key::VOTE)
            .map_err(|e| crate::storage_io(ErrorSubject::Vote, ErrorVerb::Read, &e))
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId>,
    ) -> std::result::Result<(), StorageError> {
        // Not a correctness requirement (openraft re-learns the committed
        // index from the leader), so it is written without an fsync of its
        // own: the next synced write carries it.
        let save = || -> Result<()> {
            self.backend.put(
                ColumnFamily::Default,
                log_key::COMMITTED,
                &encode_envelope(&committed)?,
                Durability::Background,
            )
        };
        save().map_err(log_err(ErrorVerb::Write))
    }

    async fn read_committed(&mut self) -> std::result::Result<Option<LogId>, StorageError> {
        Ok(self
            .read_value::<Option<LogId>>(log_key::COMMITTED)
            .map_err(log_err(ErrorVerb::Read))?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> std::result::Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::new();
        for entry in entries {
            let value = encode_envelope(&entry).map_err(log_err(ErrorVerb::Write))?;
            batch.put(
                ColumnFamily::Default,
                &log_key::entry(entry.log_id.index),
                &value,
            );
        }
        // One atomic batch, fsynced under Strict before the callback.
        let result = self.backend.write(&batch, self.durability);
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(log_err(ErrorVerb::Write)(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> std::result::Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        batch.delete_range(
            ColumnFamily::Default,
            &log_key::entry(log_id.index),
            &[log_key::TAG_ENTRY + 1],
        );
        self.backend
            .write(&batch, self.durability)
            .map_err(log_err(ErrorVerb::Delete))
    }

    async fn purge(&mut self, log_id: LogId) -> std::result::Result<(), StorageError> {
        let purge = || -> Result<()> {
            let mut batch = WriteBatch::new();
            batch.put(
                ColumnFamily::Default,
                log_key::PURGED,
                &encode_envelope(&Some(log_id))?,
            );
            let end = match log_id.index.checked_add(1) {
                Some(next) => log_key::entry(next).to_vec(),
                None => vec![log_key::TAG_ENTRY + 1],
            };
            batch.delete_range(ColumnFamily::Default, &log_key::entry(0), &end);
            self.backend.write(&batch, self.durability)
        };
        purge().map_err(log_err(ErrorVerb::Delete))
    }
}
