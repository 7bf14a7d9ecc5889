//! Bulk creation of a whole new store: the contract between the graph
//! layer's bulk loader (which encodes and sorts) and a backend (which
//! writes the sorted entries in its fastest way, e.g. RocksDB SST files).

use crate::{ColumnFamily, Result};

/// A consumer of the complete contents of a new store.
///
/// The bulk loader calls [`put`](BulkSink::put) with every entry of the
/// store, then [`commit`](BulkSink::commit) once. Within each column family
/// keys arrive in strictly ascending byte order; puts to different families
/// may interleave. Nothing is visible to any reader before `commit`
/// returns; after a successful `commit` everything is, durably (synced).
///
/// # All or nothing
/// An implementation must leave no trace of a sink that is dropped without
/// `commit`, that fails, or whose process is killed at any moment: the
/// target is then either absent (or as empty as before) or complete. That
/// is what makes a bulk load safe to interrupt.
pub trait BulkSink {
    /// The backend holding the loaded store, returned by `commit`.
    type Backend;

    /// Adds one entry.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `key`
    /// is not above the previous key of `cf`; I/O errors from spilling or
    /// writing. After an error the sink must only be dropped.
    fn put(&mut self, cf: ColumnFamily, key: &[u8], value: &[u8]) -> Result<()>;

    /// Makes the whole store visible and durable at once, and returns it
    /// open.
    ///
    /// # Errors
    /// I/O errors; nothing is visible then.
    fn commit(self) -> Result<Self::Backend>;
}
