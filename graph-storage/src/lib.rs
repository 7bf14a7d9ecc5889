//! # graph-storage: durable, fast storage for property graphs
//!
//! [`GraphStore`] stores nodes (labels and properties), typed edges with
//! properties, adjacency in both directions, a label index and ordered
//! property indexes in any [`StorageBackend`]. Backends are chosen with
//! additive Cargo features:
//!
//! | feature | backend | re-exported as |
//! |---|---|---|
//! | `memory` (default) | ordered maps in memory, the reference | [`MemoryBackend`] |
//! | `rocksdb` | RocksDB: durable, larger than memory | `RocksDbBackend`, [`open`] |
//!
//! Every mutation is one atomic write batch; [`GraphBatch`] groups many.
//! Each commit is durable according to [`Durability`] (default `Strict`:
//! fsynced before acknowledged). [`GraphStore::verify`] checks that every
//! index and adjacency entry matches the records.
//!
//! See ARCHITECTURE.md for the design and docs/FORMAT.md for the bytes.

#![deny(
    clippy::big_endian_bytes,
    clippy::little_endian_bytes,
    clippy::host_endian_bytes
)]

mod batch;
pub mod bulk;
mod catalog;
mod clock;
mod commit;
mod ids;
mod known;
mod mutation;
mod prepare;
mod read;
mod repair;
mod sort;
mod store;
mod txn;
mod verify;

pub use batch::GraphBatch;
pub use clock::{Clock, ManualClock, SystemClock};
pub use graph_core::codec::{FORMAT_VERSION, OLDEST_READABLE_FORMAT};
pub use graph_core::{
    BulkSink, ColumnFamily, Constraint, Direction, Durability, Edge, EdgeId, Error, ErrorKind,
    KeyRange, Node, NodeId, Properties, PropertyValue, ReadView, Result, ScanDirection,
    StorageBackend, Timestamp, WriteBatch,
};
pub use ids::ID_BLOCK;
pub use mutation::Mutation;
pub use read::{EdgeRef, GraphReader, IndexInfo};
pub use repair::{CounterFix, EntryCounts, RepairReport};
pub use store::{GraphStore, LIBRARY_VERSION, StoreOptions};
pub use verify::{Problem, VerifyReport};

/// The in-memory reference backend (feature `memory`).
#[cfg(feature = "memory")]
pub use storage_memory::MemoryBackend;

/// The RocksDB backend and its configuration (feature `rocksdb`).
#[cfg(feature = "rocksdb")]
pub use storage_rocksdb::{Compression, RocksDbBackend, RocksDbConfig};

/// Opens (or creates) a RocksDB-backed graph store at `path` with default
/// options: Strict durability, the default [`RocksDbConfig`].
///
/// # Errors
/// [`Error::Locked`] if another opener holds the store;
/// [`Error::IncompatibleFormat`] for a foreign or newer store;
/// [`Error::InvalidArgument`] for a path that is a file or a non-empty
/// directory that is not a store; I/O and corruption errors from recovery.
#[cfg(feature = "rocksdb")]
pub fn open(path: impl AsRef<std::path::Path>) -> Result<GraphStore<RocksDbBackend>> {
    GraphStore::open(RocksDbBackend::open(path)?)
}

/// The backend chosen by the enabled features: RocksDB when the `rocksdb`
/// feature is on, otherwise the memory backend. Code written against
/// `GraphStore<DefaultBackend>` and [`open_default`] switches backends with
/// the feature flag alone.
#[cfg(feature = "rocksdb")]
pub type DefaultBackend = storage_rocksdb::RocksDbBackend;

/// The backend chosen by the enabled features (here: memory, since the
/// `rocksdb` feature is off).
#[cfg(all(feature = "memory", not(feature = "rocksdb")))]
pub type DefaultBackend = storage_memory::MemoryBackend;

/// Opens a store on [`DefaultBackend`]: with the `rocksdb` feature, the
/// RocksDB store at `path` (as [`open`]); without it, a new in-memory store
/// (`path` is not used, and nothing is persisted).
///
/// # Errors
/// As [`open`] with RocksDB; none in memory.
#[cfg(feature = "rocksdb")]
pub fn open_default(path: impl AsRef<std::path::Path>) -> Result<GraphStore<DefaultBackend>> {
    open(path)
}

/// Opens a store on [`DefaultBackend`]: with the `rocksdb` feature, the
/// RocksDB store at `path`; without it (as here), a new in-memory store
/// (`path` is not used, and nothing is persisted).
///
/// # Errors
/// None in memory; kept fallible so code compiles with either backend.
#[cfg(all(feature = "memory", not(feature = "rocksdb")))]
pub fn open_default(path: impl AsRef<std::path::Path>) -> Result<GraphStore<DefaultBackend>> {
    let _ = path.as_ref();
    GraphStore::open(storage_memory::MemoryBackend::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn stores_are_send_and_sync() {
        #[cfg(feature = "memory")]
        assert_send_sync::<GraphStore<MemoryBackend>>();
        #[cfg(feature = "rocksdb")]
        assert_send_sync::<GraphStore<RocksDbBackend>>();
        #[cfg(any(feature = "memory", feature = "rocksdb"))]
        assert_send_sync::<GraphBatch<'static, DefaultBackend>>();
    }
}
