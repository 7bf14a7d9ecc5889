//! Tuning of the fjall backend, with documented defaults.

use std::time::Duration;

/// Options of a [`FjallBackend`](crate::FjallBackend).
///
/// Every keyspace gets the memtable size below and fjall's defaults for
/// the rest: LZ4-compressed blocks, bloom filters for point reads, leveled
/// compaction. All keyspaces share one block cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FjallConfig {
    /// Memtable size per keyspace before it is sealed and flushed.
    /// Default 64 MiB, as RocksDB's write buffers.
    pub memtable_bytes: u64,
    /// Size of the block cache shared by all keyspaces. Default 256 MiB.
    pub cache_bytes: u64,
    /// Flush and compaction threads. Default 2 (the cores of the
    /// reference machine).
    pub worker_threads: usize,
    /// How often a background thread fsyncs the journal when
    /// [`Durability::Background`](graph_core::Durability::Background)
    /// writes were made since the last fsync. This bounds what a power
    /// loss can take: the writes acknowledged within about one interval
    /// (plus the fsync's own duration) before it. `None` leaves the
    /// journal to the operating system's write-back, as RocksDB's
    /// Background mode does. Default 100 ms.
    pub background_sync_interval: Option<Duration>,
    /// Create the store when the directory does not exist or is empty.
    /// Default true.
    pub create_if_missing: bool,
}

impl Default for FjallConfig {
    fn default() -> Self {
        FjallConfig {
            memtable_bytes: 64 << 20,
            cache_bytes: 256 << 20,
            worker_threads: 2,
            background_sync_interval: Some(Duration::from_millis(100)),
            create_if_missing: true,
        }
    }
}
