//! Tuning of the RocksDB backend, with documented defaults.

/// Block compression of SST files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4: fast, the design's choice for the levels that take writes.
    #[default]
    Lz4,
    /// ZSTD at level [`RocksDbConfig::zstd_level`]: about a third fewer
    /// bytes than LZ4 on a graph's records and index keys (BENCHMARKS.md,
    /// "Fewer bytes"), slower to compress; the default of the bottom level,
    /// which holds most of a store and is rewritten only by compaction.
    Zstd,
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
    /// SST block compression of every level but the bottom one (memtable
    /// flushes, the upper levels). Default LZ4.
    pub compression: Compression,
    /// SST block compression of the bottom level: where compaction
    /// settles the data and where bulk loads write their files, so most of
    /// a store's bytes. Default ZSTD.
    pub bottommost_compression: Compression,
    /// The ZSTD level (RocksDB's range, 1 to 19 and negative fast levels).
    /// Default 1: measured within 1% of level 3's bytes on the benchmark
    /// graph, and faster to write.
    pub zstd_level: i32,
    /// Uncompressed bytes of an SST data block. Default 16 KiB: larger
    /// blocks give the compressor more to work with (BENCHMARKS.md, "Fewer
    /// bytes"); a point read decompresses one block.
    pub block_size: usize,
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
            bottommost_compression: Compression::Zstd,
            zstd_level: 1,
            block_size: 16 << 10,
            block_cache_bytes: 256 << 20,
            bloom_bits_per_key: 10.0,
            background_jobs: 2,
            create_if_missing: true,
        }
    }
}
