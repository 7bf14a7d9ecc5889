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
//! | `rocksdb` | RocksDB: durable, larger than memory | `RocksDbBackend`, `open` |
//! | `fjall` | fjall: durable, larger than memory, pure Rust (no C++ build) | `FjallBackend`, `open_fjall` |
//!
//! [`DefaultBackend`] and [`open_default`] follow the features: RocksDB
//! when `rocksdb` is enabled, otherwise fjall when `fjall` is, otherwise
//! memory. So `--no-default-features --features fjall` gives a persistent
//! store that builds in seconds.
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

mod adjacency;
mod batch;
pub mod bulk;
mod catalog;
mod clock;
mod ids;
mod implied;
mod known;
mod mutation;
mod overlay;
mod pipeline;
mod precondition;
mod prepare;
mod read;
mod repair;
mod sort;
mod store;
mod transaction;
mod txn;
mod verify;

pub use adjacency::{
    Adjacency, AdjacencyStatus, AllEdges, EdgeEntry, EdgeTypeId, EdgeValue, EdgeValues, Neighbors,
};
pub use batch::GraphBatch;
pub use clock::{Clock, ManualClock, SystemClock};
pub use graph_core::codec::value::{validate_properties, validate_property};
pub use graph_core::codec::{FORMAT_VERSION, OLDEST_READABLE_FORMAT};
pub use graph_core::{
    BulkSink, ColumnFamily, CompactString, Constraint, Direction, Durability, Edge, EdgeId, Error,
    ErrorKind, KeyRange, Node, NodeId, NodeLabels, NodeProperties, NodeView, Precondition,
    Properties, PropertyValue, ReadView, Result, ScanDirection, StorageBackend, Timestamp,
    ValueView, WriteBatch,
};
pub use ids::ID_BLOCK;
pub use mutation::Mutation;
pub use overlay::TxView;
pub use read::{EdgeRef, GraphReader, IndexInfo};
pub use repair::{CounterFix, EntryCounts, RepairReport};
pub use store::{GraphStore, LIBRARY_VERSION, StoreOptions};
pub use transaction::{TRANSACTION_ATTEMPTS, Transaction};
pub use verify::{
    AUDIT_MEMORY, AUDIT_PROGRESS_EVERY, AuditPass, AuditProgress, Problem, VerifyReport,
};

/// The in-memory reference backend (feature `memory`).
#[cfg(feature = "memory")]
pub use storage_memory::MemoryBackend;

/// The RocksDB backend and its configuration (feature `rocksdb`).
#[cfg(feature = "rocksdb")]
pub use storage_rocksdb::{Compression, RocksDbBackend, RocksDbConfig};

/// The fjall backend and its configuration (feature `fjall`).
#[cfg(feature = "fjall")]
pub use storage_fjall::{FjallBackend, FjallConfig};

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

/// Opens (or creates) a fjall-backed graph store at `path` with default
/// options: Strict durability, the default [`FjallConfig`].
///
/// # Errors
/// As [`open`]: [`Error::Locked`], [`Error::IncompatibleFormat`] (a
/// foreign or newer store, a fjall database that is not a graph store, a
/// RocksDB store), [`Error::InvalidArgument`] (a file, a non-empty foreign
/// directory), I/O and corruption errors from recovery.
#[cfg(feature = "fjall")]
pub fn open_fjall(path: impl AsRef<std::path::Path>) -> Result<GraphStore<FjallBackend>> {
    GraphStore::open(FjallBackend::open(path)?)
}

/// The backend chosen by the enabled features: RocksDB when the `rocksdb`
/// feature is on, otherwise fjall when `fjall` is, otherwise the memory
/// backend. Code written against `GraphStore<DefaultBackend>` and
/// [`open_default`] switches backends with the feature flag alone.
#[cfg(feature = "rocksdb")]
pub type DefaultBackend = storage_rocksdb::RocksDbBackend;

/// The backend chosen by the enabled features (here: fjall, since
/// `fjall` is on and `rocksdb` is off).
#[cfg(all(feature = "fjall", not(feature = "rocksdb")))]
pub type DefaultBackend = storage_fjall::FjallBackend;

/// The backend chosen by the enabled features (here: memory, since
/// neither `rocksdb` nor `fjall` is on).
#[cfg(all(feature = "memory", not(feature = "rocksdb"), not(feature = "fjall")))]
pub type DefaultBackend = storage_memory::MemoryBackend;

/// Opens a store on [`DefaultBackend`] (here RocksDB, as [`open`]).
///
/// # Errors
/// As [`open`].
#[cfg(feature = "rocksdb")]
pub fn open_default(path: impl AsRef<std::path::Path>) -> Result<GraphStore<DefaultBackend>> {
    open(path)
}

/// Opens a store on [`DefaultBackend`] (here fjall, as [`open_fjall`]).
///
/// # Errors
/// As [`open_fjall`].
#[cfg(all(feature = "fjall", not(feature = "rocksdb")))]
pub fn open_default(path: impl AsRef<std::path::Path>) -> Result<GraphStore<DefaultBackend>> {
    open_fjall(path)
}

/// Opens a store on [`DefaultBackend`]: here a new in-memory store, since
/// neither `rocksdb` nor `fjall` is on (`path` is not used, and nothing is
/// persisted).
///
/// # Errors
/// None in memory; kept fallible so code compiles with any backend.
#[cfg(all(feature = "memory", not(feature = "rocksdb"), not(feature = "fjall")))]
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
        #[cfg(feature = "fjall")]
        assert_send_sync::<GraphStore<FjallBackend>>();
        #[cfg(any(feature = "memory", feature = "rocksdb", feature = "fjall"))]
        assert_send_sync::<GraphBatch<'static, DefaultBackend>>();
    }
}
