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
    if entries.is_empty() {
        if !create_if_missing {
            return Err(Error::invalid(format!(
                "no graph store at {}",
                path.display()
            )));
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
    if found != wanted {
        return Err(Error::IncompatibleFormat {
            found: format!("a RocksDB database with column families {found:?}"),
            supported: format!("a graph store with column families {wanted:?}"),
        });
    }
    Ok(false)
}

fn table_options(config: &RocksDbConfig, cache: &Cache, cf: ColumnFamily) -> BlockBasedOptions {
    let mut t = BlockBasedOptions::default();
    t.set_block_cache(cache);
    t.set_cache_index_and_filter_blocks(true);
    t.set_pin_l0_filter_and_index_blocks_in_cache(true);
    t.set_bloom_filter(config.bloom_bits_per_key, false);
    // Index keys are only ever scanned by prefix, never looked up whole.
    t.set_whole_key_filtering(cf != ColumnFamily::Indices);
    t
}

fn cf_options(config: &RocksDbConfig, cache: &Cache, cf: ColumnFamily) -> Options {
    let mut o = Options::default();
    o.set_write_buffer_size(config.write_buffer_size);
    o.set_max_write_buffer_number(config.max_write_buffer_number);
    o.set_compression_type(match config.compression {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
    });
    o.set_level_compaction_dynamic_level_bytes(true);
    o.set_block_based_table_factory(&table_options(config, cache, cf));
    if cf == ColumnFamily::Indices {
        o.set_prefix_extractor(SliceTransform::create(
            "graph-storage.indices.v1",
            extract_prefix,
            Some(in_domain),
        ));
        o.set_memtable_prefix_bloom_ratio(0.1);
    }
    o
}

/// The database options and the four column-family descriptors.
pub(crate) fn build(
    config: &RocksDbConfig,
    create: bool,
) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let cache = Cache::new_lru_cache(config.block_cache_bytes);
    let mut db = Options::default();
    db.create_if_missing(create);
    db.create_missing_column_families(create);
    db.set_paranoid_checks(true);
    db.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    db.set_atomic_flush(true);
    db.set_max_background_jobs(config.background_jobs);
    db.set_bytes_per_sync(1 << 20);
    db.set_keep_log_file_num(4);
    let cfs = ColumnFamily::ALL
        .iter()
        .map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(config, &cache, *cf)))
        .collect();
    (db, cfs)
}

#[cfg(test)]
mod tests {
    use super::*;

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
