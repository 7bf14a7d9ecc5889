//! openraft's own storage test suite (`openraft::testing::Suite`) against
//! graph-raft's log store and state machine on every backend: the memory
//! backend, RocksDB and fjall.

use graph_core::{Durability, StorageBackend};
use graph_raft::{LogStore, StateMachine, StorageError, TypeConfig};
use graph_storage::{FjallBackend, MemoryBackend, RocksDbBackend};
use openraft::testing::{StoreBuilder, Suite};
use tempfile::TempDir;

/// Keeps the directory of one built pair alive; the stores it holds are
/// closed by openraft's suite before the guard is dropped.
struct Guard(#[allow(dead_code, reason = "held for its Drop")] TempDir);

/// Builds a log store and a state machine in a new temporary directory,
/// with backends made by `open`.
struct Builder<F>(F);

impl<B, F> StoreBuilder<TypeConfig, LogStore<B>, StateMachine<B>, Guard> for Builder<F>
where
    B: StorageBackend + 'static,
    F: Fn(&std::path::Path) -> graph_core::Result<B> + Send + Sync,
{
    async fn build(&self) -> Result<(Guard, LogStore<B>, StateMachine<B>), StorageError> {
        let io = |e: graph_core::Error| -> StorageError {
            openraft::StorageIOError::write(openraft::AnyError::new(&e)).into()
        };
        let dir = tempfile::tempdir().map_err(|e| io(e.into()))?;
        let log = LogStore::open(
            (self.0)(&dir.path().join("log")).map_err(io)?,
            Durability::Strict,
        )
        .map_err(io)?;
        let sm = StateMachine::open(
            (self.0)(&dir.path().join("graph")).map_err(io)?,
            dir.path().join("snapshots"),
            Durability::Strict,
        )
        .map_err(io)?;
        Ok((Guard(dir), log, sm))
    }
}

#[test]
fn suite_on_memory() -> Result<(), Box<StorageError>> {
    Ok(Suite::test_all(Builder(|_: &std::path::Path| {
        Ok(MemoryBackend::new())
    }))?)
}

#[test]
fn suite_on_rocksdb() -> Result<(), Box<StorageError>> {
    Ok(Suite::test_all(Builder(|p: &std::path::Path| {
        RocksDbBackend::open(p)
    }))?)
}

#[test]
fn suite_on_fjall() -> Result<(), Box<StorageError>> {
    Ok(Suite::test_all(Builder(|p: &std::path::Path| {
        FjallBackend::open(p)
    }))?)
}
