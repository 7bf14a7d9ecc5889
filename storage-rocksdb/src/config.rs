//! Tuning of the RocksDB backend, with documented defaults.

/// Block compression of SST files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4: fast, the design's choice.
    #[default]
    Lz4,
}

/// Options of a [`RocksDbBackend`](crate::RocksDbBackend).
///
/// Every column family gets the write buffer and compression below (set on
/// each family's own options, so they really apply to the data families).
/// `nodes` and `edges` get whole-key bloom filters for point lookups;
/// `indices` gets a prefix extractor (tag plus the fixed-width id after it:
/// 9 bytes for adjacency, 5 for label and property indexes) with prefix
/// bloom filters in SST files, for prefix scans. All
/// families share one LRU block cache that also holds index and filter
/// blocks, so memory stays bounded by the cache size plus write buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct RocksDbConfig {
    /// Memtable size per column family. Default 64 MiB.
    pub write_buffer_size: usize,
    /// Memtables per column family before writes stall. Default 4.
    pub max_write_buffer_number: i32,
    /// SST block compression. Default LZ4.
    pub compression: Compression,
    /// Size of the block cache shared by all families. Default 256 MiB.
    pub block_cache_bytes: usize,
    /// Bloom filter bits per key. Default 10 (about 1% false positives).
    pub bloom_bits_per_key: f64,
    /// Background flush and compaction threads. Default 2 (the cores of the
    /// reference machine).
    pub background_jobs: i32,
    /// Create the store when the directory does not exist or is empty.
    /// Default true.
    pub create_if_missing: bool,
}

impl Default for RocksDbConfig {
    fn default() -> Self {
        RocksDbConfig {
            write_buffer_size: 64 << 20,
            max_write_buffer_number: 4,
            compression: Compression::Lz4,
            block_cache_bytes: 256 << 20,
            bloom_bits_per_key: 10.0,
            background_jobs: 2,
            create_if_missing: true,
        }
    }
}
