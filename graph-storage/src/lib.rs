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

mod batch;
mod catalog;
mod clock;
mod commit;
mod ids;
mod known;
mod mutation;
mod prepare;
mod read;
mod store;
mod txn;
mod verify;

pub use batch::GraphBatch;
pub use clock::{Clock, ManualClock, SystemClock};
pub use graph_core::{
    ColumnFamily, Constraint, Direction, Durability, Edge, EdgeId, Error, ErrorKind, Node, NodeId,
    Properties, PropertyValue, ReadView, Result, StorageBackend, Timestamp,
};
pub use ids::ID_BLOCK;
pub use mutation::Mutation;
pub use read::{EdgeRef, GraphReader, IndexInfo};
pub use store::{GraphStore, StoreOptions};
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
