//! Database and column-family options, and the checks made before opening.

use std::path::Path;

use graph_core::codec::index_tag;
use graph_core::{ColumnFamily, Error, KeyRange, Result};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, DBRecoveryMode, Options,
    SliceTransform,
};

use crate::config::{Compression, RocksDbConfig};
use crate::map_error;

/// The length of the extractor prefix of an `indices` key with this first
/// byte: tag plus the id that follows it.
fn prefix_len(tag: u8) -> Option<usize> {
    match tag {
        index_tag::OUT | index_tag::IN => Some(9),
        index_tag::LABEL | index_tag::PROPERTY => Some(5),
        _ => None,
    }
}

fn in_domain(key: &[u8]) -> bool {
    key.first()
        .and_then(|t| prefix_len(*t))
        .is_some_and(|n| key.len() >= n)
}

fn extract_prefix(key: &[u8]) -> &[u8] {
    match key.first().and_then(|t| prefix_len(*t)) {
        Some(n) if key.len() >= n => &key[..n],
        _ => key,
    }
}

/// Whether every key of `range` shares one extractor prefix, so a prefix
/// seek returns the same keys as a total-order seek.
pub(crate) fn within_one_prefix(range: &KeyRange<'_>) -> bool {
    if !in_domain(range.start) {
        return false;
    }
    let prefix = extract_prefix(range.start);
    match (range.end, graph_core::prefix_end(prefix)) {
        (Some(end), Some(limit)) => end <= limit.as_slice(),
        _ => false,
    }
}

/// Refuses paths that must not be touched; says whether to create a store.
pub(crate) fn check_directory(path: &Path, create_if_missing: bool) -> Result<bool> {
    let names = |p: &Path| -> Result<Vec<String>> {
        std::fs::read_dir(p)?
            .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
            .collect()
    };
    let exists = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{} is not a directory",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e.into()),
    };
    let entries = if exists { names(path)? } else { Vec::new() };
    let no_store = || Error::invalid(format!("no graph store at {}", path.display()));
    // A crash while RocksDB creates a database leaves its first files
    // (LOCK, LOG, IDENTITY, a manifest) before CURRENT names the manifest:
    // no data can be there yet, so creating again is safe.
    if entries.iter().all(|n| is_creation_artifact(n)) {
        if !create_if_missing {
            return Err(no_store());
        }
        return Ok(true);
    }
    if !entries.iter().any(|n| n == "CURRENT") {
        return Err(Error::invalid(format!(
            "{} is neither empty nor a RocksDB database; refusing to write into it",
            path.display()
        )));
    }
    let mut found = rocksdb::DB::list_cf(&Options::default(), path).map_err(map_error)?;
    found.sort();
    let mut wanted: Vec<String> = ColumnFamily::ALL
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    wanted.sort();
    if found == wanted {
        return Ok(false);
    }
    // A crash after CURRENT is written but before every column family is
    // created leaves some of the graph store's families, all empty: finish
    // creating it. A database with any other family, or with data, is not
    // ours to change.
    if found.iter().all(|f| wanted.contains(f)) {
        match partial_contents(path, &found)? {
            Partial::Empty if create_if_missing => return Ok(true),
            Partial::Empty => return Err(no_store()),
            Partial::GraphStore => {
                // Data with a format version but families missing: the
                // manifest lost records (damaged, or files deleted by hand).
                let missing: Vec<&String> = wanted.iter().filter(|w| !found.contains(w)).collect();
                return Err(Error::StorageCorruption {
                    message: format!(
                        "the graph store at {} lacks column families {missing:?}: its MANIFEST \
                         is damaged or files are missing",
                        path.display()
                    ),
                });
            }
            // Some of our data families but not all: a damaged graph store
            // whose manifest no longer reaches the format version.
            Partial::Other if found.len() > 1 => {
                return Err(Error::StorageCorruption {
                    message: format!(
                        "{} holds the graph store's column families {found:?} but not all of \
                         them: its MANIFEST is damaged or files are missing",
                        path.display()
                    ),
                });
            }
            Partial::Other => {}
        }
    }
    Err(Error::IncompatibleFormat {
        found: format!("a RocksDB database with column families {found:?}"),
        supported: format!("a graph store with column families {wanted:?}"),
    })
}

/// What a database with only some of the graph store's column families
/// holds.
enum Partial {
    /// Nothing: its creation was interrupted.
    Empty,
    /// A graph store's format version: a damaged graph store.
    GraphStore,
    /// Other data: not ours.
    Other,
}

/// Whether `name` is a file RocksDB writes while creating a database,
/// before `CURRENT` exists (see `check_directory`).
fn is_creation_artifact(name: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let options = |s: &str| s.strip_prefix("OPTIONS-").is_some_and(number);
    matches!(name, "LOCK" | "LOG" | "IDENTITY")
        || name.starts_with("LOG.old.")
        || name.strip_prefix("MANIFEST-").is_some_and(number)
        || options(name)
        || name
            .strip_suffix(".dbtmp")
            .is_some_and(|s| number(s) || options(s))
}

/// Reads (without writing: a read-only open) what the database at `path`,
/// whose column families are `families`, holds.
fn partial_contents(path: &Path, families: &[String]) -> Result<Partial> {
    let db = rocksdb::DB::open_cf_for_read_only(&Options::default(), path, families, false)
        .map_err(map_error)?;
    if db
        .get(graph_core::codec::meta::FORMAT_VERSION)
        .map_err(map_error)?
        .is_some()
    {
        return Ok(Partial::GraphStore);
    }
    for name in families {
        let cf = db
            .cf_handle(name)
            .ok_or_else(|| Error::Backend(format!("column family {name} is not open")))?;
        let mut it = db.raw_iterator_cf(cf);
        it.seek_to_first();
        if it.valid() {
            return Ok(Partial::Other);
        }
        it.status().map_err(map_error)?;
    }
    Ok(Partial::Empty)
}

/// One of the store's RocksDB option choices reversed: a non-default
/// option put back to RocksDB's default, all of them
/// ([`Ablation::Plain`]), or an option the store dropped after measuring
/// it added back ([`Ablation::MemtablePrefixBloom`]): what the benchmarks
/// measure to show what each choice earns (`bench`'s `rocksdb_options`
/// binary, BENCHMARKS.md "RocksDB options"). Stores are always opened with
/// the full set ([`rocksdb_options`](crate::rocksdb_options)); a variant
/// without the prefix extractor cannot open a store made with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ablation {
    /// Every option at RocksDB's default except the column families, the
    /// write buffers (size and number) and the compression (LZ4, ZSTD at
    /// the bottom level), so the same bytes land in files of the same kind.
    Plain,
    /// A memtable prefix bloom filter in `indices` (10% of the write
    /// buffer), which the store does not set.
    MemtablePrefixBloom,
    /// No atomic flush: column families flush independently.
    AtomicFlush,
    /// No paranoid checks (RocksDB's default is on; this turns it off).
    ParanoidChecks,
    /// No bloom filters at all in the table files.
    Bloom,
    /// No prefix extractor in `indices` (so no prefix blooms, and every
    /// seek is a total-order seek).
    PrefixExtractor,
    /// A full index and filter per table file instead of partitioned
    /// ones.
    PartitionedIndex,
    /// Universal compaction instead of levelled compaction.
    UniversalCompaction,
}

impl Ablation {
    /// Every variant, in a stable order.
    pub const ALL: [Ablation; 8] = [
        Ablation::Plain,
        Ablation::MemtablePrefixBloom,
        Ablation::AtomicFlush,
        Ablation::ParanoidChecks,
        Ablation::Bloom,
        Ablation::PrefixExtractor,
        Ablation::PartitionedIndex,
        Ablation::UniversalCompaction,
    ];

    /// A short name, as the benchmarks print it.
    pub fn name(self) -> &'static str {
        match self {
            Ablation::Plain => "plain",
            Ablation::MemtablePrefixBloom => "memtable-prefix-bloom",
            Ablation::AtomicFlush => "no-atomic-flush",
            Ablation::ParanoidChecks => "no-paranoid-checks",
            Ablation::Bloom => "no-bloom",
            Ablation::PrefixExtractor => "no-prefix-extractor",
            Ablation::PartitionedIndex => "no-partitioned-index",
            Ablation::UniversalCompaction => "universal-compaction",
        }
    }
}

/// RocksDB's name for a [`Compression`].
fn compression_type(c: Compression) -> DBCompressionType {
    match c {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    }
}

fn table_options(
    config: &RocksDbConfig,
    cache: &Cache,
    cf: ColumnFamily,
    without: Option<Ablation>,
) -> BlockBasedOptions {
    let mut t = BlockBasedOptions::default();
    t.set_block_cache(cache);
    if without == Some(Ablation::Plain) {
        return t;
    }
    t.set_cache_index_and_filter_blocks(true);
    t.set_cache_index_and_filter_blocks_with_high_priority(true);
    t.set_pin_l0_filter_and_index_blocks_in_cache(true);
    if without != Some(Ablation::Bloom) {
        t.set_bloom_filter(config.bloom_bits_per_key, false);
    }
    // Partitioned index and filters: a lookup reads one small partition
    // (4 KiB) of a file's index and filter, not the whole of them, so
    // files of hundreds of MiB (bulk loads, bottom-level compactions) stay
    // cheap to read with a block cache much smaller than the store; only
    // the small top-level index of each file is pinned.
    if without != Some(Ablation::PartitionedIndex) {
        t.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
        t.set_partition_filters(true);
        t.set_metadata_block_size(4096);
        t.set_pin_top_level_index_and_filter(true);
    }
    // Table format 5 (RocksDB 6.6 and later): readable by the RocksDB
    // tools and bindings of older releases (Debian's ldb, rocksdict), which
    // refuse the newer default; docs/FORMAT.md.
    t.set_format_version(5);
    t.set_block_size(config.block_size);
    // Index keys are only ever scanned by prefix, never looked up whole.
    t.set_whole_key_filtering(cf != ColumnFamily::Indices);
    t
}

/// The options of column family `cf`: those [`build`] gives the family, and
/// the ones the bulk loader's SST writers use, so its files are exactly
/// what the family itself would write.
pub(crate) fn cf_options(config: &RocksDbConfig, cache: &Cache, cf: ColumnFamily) -> Options {
    cf_options_without(config, cache, cf, None)
}

fn cf_options_without(
    config: &RocksDbConfig,
    cache: &Cache,
    cf: ColumnFamily,
    without: Option<Ablation>,
) -> Options {
    let mut o = Options::default();
    o.set_write_buffer_size(config.write_buffer_size);
    o.set_max_write_buffer_number(config.max_write_buffer_number);
    o.set_compression_type(compression_type(config.compression));
    o.set_bottommost_compression_type(compression_type(config.bottommost_compression));
    if config.compression == Compression::Zstd {
        // (window bits, level, strategy, max dictionary bytes)
        o.set_compression_options(-14, config.zstd_level, 0, 0);
    }
    if config.bottommost_compression == Compression::Zstd {
        o.set_bottommost_compression_options(-14, config.zstd_level, 0, 0, true);
    }
    o.set_block_based_table_factory(&table_options(config, cache, cf, without));
    if without == Some(Ablation::Plain) {
        return o;
    }
    if without == Some(Ablation::UniversalCompaction) {
        o.set_compaction_style(rocksdb::DBCompactionStyle::Universal);
    } else {
        o.set_level_compaction_dynamic_level_bytes(true);
    }
    if cf == ColumnFamily::Indices && without != Some(Ablation::PrefixExtractor) {
        o.set_prefix_extractor(SliceTransform::create(
            "graph-storage.indices.v1",
            extract_prefix,
            Some(in_domain),
        ));
        // No memtable prefix bloom filter: measured, it cost 22% of edge
        // ingestion and gained no read (BENCHMARKS.md, "RocksDB options");
        // the ablation adds it back for comparison.
        if without == Some(Ablation::MemtablePrefixBloom) {
            o.set_memtable_prefix_bloom_ratio(0.1);
        }
    }
    o
}

/// The database options and the four column-family descriptors.
pub(crate) fn build(
    config: &RocksDbConfig,
    create: bool,
    without: Option<Ablation>,
) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let cache = Cache::new_lru_cache(config.block_cache_bytes);
    let mut db = Options::default();
    db.create_if_missing(create);
    db.create_missing_column_families(create);
    let cfs = ColumnFamily::ALL
        .iter()
        .map(|cf| {
            let o = cf_options_without(config, &cache, *cf, without);
            ColumnFamilyDescriptor::new(cf.name(), o)
        })
        .collect();
    if without == Some(Ablation::Plain) {
        return (db, cfs);
    }
    db.set_paranoid_checks(without != Some(Ablation::ParanoidChecks));
    db.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    // Record live WALs in the manifest and check them on recovery: a
    // manifest that lost its last flush records (a damaged file) then
    // names a WAL that is gone, and opening fails with a corruption error
    // instead of silently rolling back some column families.
    db.set_track_and_verify_wals_in_manifest(true);
    db.set_atomic_flush(without != Some(Ablation::AtomicFlush));
    db.set_max_background_jobs(config.background_jobs);
    db.set_bytes_per_sync(1 << 20);
    // Start writing the WAL back every MiB (sync_file_range, without
    // waiting), so a synced write (a Strict commit, an id lease during
    // Background ingestion) waits for the last MiB at most rather than
    // for everything written since the previous sync.
    db.set_wal_bytes_per_sync(1 << 20);
    db.set_keep_log_file_num(4);
    (db, cfs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_artifacts_are_recognised() {
        for name in [
            "LOCK",
            "LOG",
            "LOG.old.1700000000",
            "IDENTITY",
            "MANIFEST-000001",
            "000001.dbtmp",
            "OPTIONS-000005",
            "OPTIONS-000005.dbtmp",
        ] {
            assert!(is_creation_artifact(name), "{name}");
        }
        for name in [
            "CURRENT",
            "000004.log",
            "000009.sst",
            "notes.txt",
            "MANIFEST-",
            "x.dbtmp",
        ] {
            assert!(!is_creation_artifact(name), "{name}");
        }
    }

    #[test]
    fn prefixes_follow_the_tag() {
        let adj = [1u8; 29];
        assert_eq!(extract_prefix(&adj).len(), 9);
        let label = [3u8, 0, 0, 0, 1, 9, 9];
        assert_eq!(extract_prefix(&label), &label[..5]);
        assert!(!in_domain(&[1, 2, 3]));
        assert!(!in_domain(&[9; 20]));
        assert!(!in_domain(&[]));
    }

    #[test]
    fn one_prefix_ranges() {
        let p = [1u8, 0, 0, 0, 0, 0, 0, 0, 7];
        let end = graph_core::prefix_end(&p);
        assert!(within_one_prefix(&KeyRange {
            start: &p,
            end: end.as_deref()
        }));
        assert!(!within_one_prefix(&KeyRange {
            start: &p,
            end: None
        }));
        assert!(!within_one_prefix(&KeyRange {
            start: &p[..4],
            end: end.as_deref()
        }));
        let beyond = [1u8, 0, 0, 0, 0, 0, 0, 0, 9];
        assert!(!within_one_prefix(&KeyRange {
            start: &p,
            end: Some(&beyond)
        }));
    }
}
