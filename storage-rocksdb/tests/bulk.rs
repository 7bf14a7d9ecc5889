//! Bulk creation of a new store through `RocksDbBulkSink`: what it writes
//! (byte for byte the contents a write batch gives, in bottom-level SST
//! files built with each family's options), what it refuses, and that an
//! unfinished load never shows: dropped, stale or complete-but-unrenamed
//! staging directories are removed or finished.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use graph_core::{
    BulkSink, ColumnFamily, Durability, ErrorKind, KeyRange, ReadView, ScanDirection,
    StorageBackend, WriteBatch, prefix_end,
};
use storage_rocksdb::{BULK_COMPLETE_MARKER, RocksDbBackend, RocksDbBulkSink, RocksDbConfig};

/// A small roll size, so every family gets several SST files.
const SMALL_FILES: u64 = 4 << 10;

/// RocksDB's default number of levels (the options do not change it): the
/// bottom level is 6.
const BOTTOM_LEVEL: usize = 6;

type Entry = (ColumnFamily, Vec<u8>, Vec<u8>);

#[track_caller]
fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

#[track_caller]
fn err_kind<T>(r: graph_core::Result<T>, what: &str) -> (ErrorKind, String) {
    match r {
        Ok(_) => panic!("{what}: succeeded"),
        Err(e) => (e.kind(), e.to_string()),
    }
}

fn tempdir() -> tempfile::TempDir {
    ok(tempfile::tempdir(), "creating a temporary directory")
}

fn config() -> RocksDbConfig {
    RocksDbConfig {
        block_cache_bytes: 8 << 20,
        ..RocksDbConfig::default()
    }
}

fn no_create() -> RocksDbConfig {
    RocksDbConfig {
        create_if_missing: false,
        ..config()
    }
}

/// splitmix64: deterministic pseudo-random numbers without a seed file.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn value(seed: u64, max: u64) -> Vec<u8> {
    let len = mix(seed) % (max + 1);
    (0..len)
        .map(|i| (mix(seed ^ (i << 32)) % 251) as u8)
        .collect()
}

/// The sorted entries of each family: metadata-like keys in `default`,
/// node and edge records (some empty values), and index keys of every tag
/// with long shared prefixes (many keys per extractor prefix, keys shorter
/// than a prefix) and empty values.
fn families() -> [Vec<(Vec<u8>, Vec<u8>)>; 4] {
    let mut default: Vec<(Vec<u8>, Vec<u8>)> = (0..1_500u64)
        .map(|i| (format!("meta/{i:06}").into_bytes(), value(i, 60)))
        .collect();
    default.insert(0, (Vec::new(), b"the empty key".to_vec()));
    let nodes = (0..3_000u64)
        .map(|i| ((i * 3 + 1).to_be_bytes().to_vec(), value(i ^ 0xa, 160)))
        .collect();
    let edges = (0..2_000u64)
        .map(|i| ((i * 2).to_be_bytes().to_vec(), value(i ^ 0xb, 90)))
        .collect();
    let mut indices = Vec::new();
    indices.push((vec![0x01], Vec::new()));
    for tag in [0x01u8, 0x02] {
        for node in 0..30u64 {
            for edge in 0..40u64 {
                let mut k = vec![tag];
                k.extend_from_slice(&node.to_be_bytes());
                k.extend_from_slice(&7u32.to_be_bytes());
                k.extend_from_slice(&(node * 1_000 + 1).to_be_bytes());
                k.extend_from_slice(&edge.to_be_bytes());
                indices.push((k, Vec::new()));
            }
        }
    }
    for tag in [0x03u8, 0x04] {
        for id in 0..4u32 {
            for node in 0..600u64 {
                let mut k = vec![tag];
                k.extend_from_slice(&id.to_be_bytes());
                if tag == 0x04 {
                    k.extend_from_slice(&[0x20, (node % 7) as u8]);
                }
                k.extend_from_slice(&node.to_be_bytes());
                indices.push((k, Vec::new()));
            }
        }
    }
    indices.sort();
    indices.dedup();
    [default, nodes, edges, indices]
}

/// The entries in a put order that interleaves the families
/// pseudo-randomly (each family's own order kept).
fn interleaved() -> Vec<Entry> {
    let fams = families();
    let mut next = [0usize; 4];
    let total: usize = fams.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    let mut r = 0u64;
    while out.len() < total {
        r += 1;
        let cf = ColumnFamily::ALL[(mix(r) % 4) as usize];
        let i = cf.index();
        if let Some((k, v)) = fams[i].get(next[i]) {
            out.push((cf, k.clone(), v.clone()));
            next[i] += 1;
        }
    }
    out
}

/// Every pair of every family, in order.
fn dump(view: &impl ReadView) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    ColumnFamily::ALL
        .iter()
        .map(|cf| {
            ok(
                view.collect_range(*cf, KeyRange::all(), ScanDirection::Forward, None),
                "scanning",
            )
        })
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = ok(std::fs::read_dir(dir), "listing")
        .map(|e| ok(e, "listing").file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Bulk-loads `entries` into a new store at `path` and closes it.
fn bulk_load(path: &Path, entries: &[Entry], file_bytes: u64) {
    let mut sink = ok(
        RocksDbBulkSink::create(path, &config(), file_bytes),
        "bulk_create",
    );
    for (cf, k, v) in entries {
        ok(sink.put(*cf, k, v), "put");
    }
    let backend = ok(sink.commit(), "commit");
    ok(backend.close(), "closing");
}

/// The same entries through one normal write batch, flushed to SST files
/// and, with `compact`, compacted into the bottom level.
fn batch_load(path: &Path, entries: &[Entry], compact: bool) {
    let backend = ok(RocksDbBackend::open_with(path, &config()), "opening");
    let mut batch = WriteBatch::new();
    for (cf, k, v) in entries {
        batch.put(*cf, k, v);
    }
    ok(backend.write(&batch, Durability::Strict), "writing");
    ok(backend.flush(), "flushing");
    if compact {
        ok(backend.compact(), "compacting");
    }
    ok(backend.close(), "closing");
}

fn read_only(path: &Path) -> rocksdb::DB {
    let (opts, cfs) = storage_rocksdb::rocksdb_options(&config(), false);
    ok(
        rocksdb::DB::open_cf_descriptors_read_only(&opts, path, cfs, false),
        "opening read-only",
    )
}

/// The SST files of each family: (level, path).
fn sst_files(path: &Path) -> Vec<Vec<(usize, PathBuf)>> {
    let db = read_only(path);
    let live = ok(db.live_files(), "live files");
    ColumnFamily::ALL
        .iter()
        .map(|cf| {
            live.iter()
                .filter(|f| f.column_family_name == cf.name())
                .map(|f| (f.level as usize, path.join(f.name.trim_start_matches('/'))))
                .collect()
        })
        .collect()
}

#[test]
fn a_bulk_load_reads_back_byte_for_byte_like_a_write_batch() {
    let dir = tempdir();
    let bulk = dir.path().join("bulk");
    let batched = dir.path().join("batched");
    let entries = interleaved();
    bulk_load(&bulk, &entries, SMALL_FILES);
    batch_load(&batched, &entries, false);
    // Nothing of the load is left: no staging directory, no marker, no
    // ingest directory.
    assert_eq!(names(dir.path()), ["batched", "bulk"]);
    let inside = names(&bulk);
    assert!(
        !inside
            .iter()
            .any(|n| n == BULK_COMPLETE_MARKER || n == "ingest"),
        "{inside:?}"
    );

    let b = ok(RocksDbBackend::open_with(&bulk, &no_create()), "reopening");
    let w = ok(RocksDbBackend::open_with(&batched, &no_create()), "opening");
    let expected: Vec<_> = families().into_iter().collect();
    let got = dump(&b);
    for (i, cf) in ColumnFamily::ALL.iter().enumerate() {
        assert_eq!(got[i].len(), expected[i].len(), "{cf}: entry count");
        assert!(got[i] == expected[i], "{cf}: contents differ");
    }
    assert!(
        got == dump(&w),
        "the bulk store differs from the batched one"
    );
    // Point reads, multi-gets, reverse scans and prefix scans (with the
    // prefix bloom filters) agree too.
    for (cf, k, v) in entries.iter().step_by(7) {
        assert_eq!(ok(b.get(*cf, k), "get").as_deref(), Some(v.as_slice()));
    }
    let keys: Vec<&[u8]> = expected[1].iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        ok(b.multi_get(ColumnFamily::Nodes, &keys), "multi_get"),
        ok(w.multi_get(ColumnFamily::Nodes, &keys), "multi_get")
    );
    assert_eq!(ok(b.get(ColumnFamily::Nodes, &[0; 8]), "get"), None);
    for cf in ColumnFamily::ALL {
        let rev = |v: &RocksDbBackend| {
            ok(
                v.collect_range(cf, KeyRange::all(), ScanDirection::Reverse, None),
                "reverse scan",
            )
        };
        assert!(rev(&b) == rev(&w), "{cf}: reverse scans differ");
    }
    let mut prefixes: Vec<Vec<u8>> = expected[3]
        .iter()
        .filter(|(k, _)| k.len() >= 9)
        .map(|(k, _)| k[..if k[0] <= 2 { 9 } else { 5 }].to_vec())
        .collect();
    prefixes.dedup();
    assert!(prefixes.len() > 50);
    for p in prefixes
        .iter()
        .chain([&vec![0x01, 0, 0], &vec![0x03, 0, 0, 0, 9]])
    {
        let end = prefix_end(p);
        let range = || KeyRange {
            start: p,
            end: end.as_deref(),
        };
        let scan = |v: &RocksDbBackend| {
            ok(
                v.collect_range(ColumnFamily::Indices, range(), ScanDirection::Forward, None),
                "prefix scan",
            )
        };
        let want: Vec<_> = expected[3]
            .iter()
            .filter(|(k, _)| k.starts_with(p))
            .cloned()
            .collect();
        assert!(scan(&b) == want, "prefix {p:02x?}");
        assert!(scan(&w) == want, "prefix {p:02x?} (batched)");
    }
}

#[test]
fn bulk_files_land_in_the_bottom_level_several_per_family() {
    let dir = tempdir();
    let bulk = dir.path().join("bulk");
    bulk_load(&bulk, &interleaved(), SMALL_FILES);
    let files = sst_files(&bulk);
    let db = read_only(&bulk);
    for cf in ColumnFamily::ALL {
        let these = &files[cf.index()];
        assert!(these.len() >= 2, "{cf}: {} SST file(s)", these.len());
        assert!(
            these.iter().all(|(level, _)| *level == BOTTOM_LEVEL),
            "{cf}: {these:?}"
        );
        let handle = db.cf_handle(cf.name()).unwrap_or_else(|| panic!("{cf}"));
        let at = |level: usize| {
            ok(
                db.property_value_cf(&handle, &format!("rocksdb.num-files-at-level{level}")),
                "property",
            )
        };
        assert_eq!(at(0).as_deref(), Some("0"), "{cf}: files at level 0");
        assert_eq!(
            at(BOTTOM_LEVEL),
            Some(these.len().to_string()),
            "{cf}: files at the bottom level"
        );
    }
    eprintln!(
        "SST files per family: {:?}",
        files.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

fn varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
    }
    v
}

/// The table properties of an SST file (block-based format), read from
/// its properties block: the metaindex entry `rocksdb.properties` (stored
/// whole: restart interval 1) gives the block's offset and size; the block
/// holds prefix-compressed entries `shared, non-shared, value length, key
/// delta, value`, then the restart array and its length.
fn table_properties(sst: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let name = b"rocksdb.properties";
    let at = sst
        .windows(name.len())
        .rposition(|w| w == name)
        .filter(|at| sst[at - 3] == 0 && sst[at - 2] as usize == name.len())
        .unwrap_or_else(|| panic!("no properties block"));
    let mut pos = at + name.len();
    let offset = varint(sst, &mut pos) as usize;
    let size = varint(sst, &mut pos) as usize;
    let block = &sst[offset..offset + size];
    let restarts = u32::from_le_bytes(block[size - 4..].try_into().unwrap_or([0; 4])) as usize;
    let entries = &block[..size - 4 - 4 * restarts];
    let mut out = BTreeMap::new();
    let (mut pos, mut key) = (0, Vec::new());
    while pos < entries.len() {
        let shared = varint(entries, &mut pos) as usize;
        let delta = varint(entries, &mut pos) as usize;
        let len = varint(entries, &mut pos) as usize;
        key.truncate(shared);
        key.extend_from_slice(&entries[pos..pos + delta]);
        pos += delta;
        out.insert(
            String::from_utf8_lossy(&key).into_owned(),
            entries[pos..pos + len].to_vec(),
        );
        pos += len;
    }
    out
}

#[test]
fn bulk_files_are_built_with_each_familys_own_options() {
    let dir = tempdir();
    let bulk = dir.path().join("bulk");
    let batched = dir.path().join("batched");
    let entries = interleaved();
    bulk_load(&bulk, &entries, SMALL_FILES);
    // Bulk files are bottom-level files: the reference is a store
    // compacted into its bottom level (ZSTD, format 3).
    batch_load(&batched, &entries, true);
    let bulk_files = sst_files(&bulk);
    let flushed = sst_files(&batched);
    // The properties that follow from the options (the others are sizes,
    // counts, times, identities, sequence numbers and the column family;
    // `rocksdb.compression` lists the compression types the blocks of the
    // file ended up using, none when every block was incompressible; the
    // configured type is in `rocksdb.compression_options`).
    let from_options = [
        "rocksdb.block.based.table.decoupled.partitioned.filters",
        "rocksdb.block.based.table.index.type",
        "rocksdb.block.based.table.prefix.filtering",
        "rocksdb.block.based.table.whole.key.filtering",
        "rocksdb.comparator",
        "rocksdb.compression_options",
        "rocksdb.data.block.restart.interval",
        "rocksdb.filter.policy",
        "rocksdb.fixed.key.length",
        "rocksdb.format.version",
        "rocksdb.index.block.restart.interval",
        "rocksdb.index.key.is.user.key",
        "rocksdb.index.value.is.delta.encoded",
        "rocksdb.merge.operator",
        "rocksdb.prefix.extractor.name",
        "rocksdb.property.collectors",
    ];
    let mut differing = BTreeSet::new();
    for cf in ColumnFamily::ALL {
        let reference = ok(std::fs::read(&flushed[cf.index()][0].1), "reading an SST");
        let want = table_properties(&reference);
        for p in from_options {
            assert!(want.contains_key(p), "{cf}: flushed SST without {p}");
        }
        for (_, file) in &bulk_files[cf.index()] {
            let got = table_properties(&ok(std::fs::read(file), "reading an SST"));
            for p in from_options {
                assert_eq!(got.get(p), want.get(p), "{cf}: {p} of {}", file.display());
            }
            differing.extend(
                want.keys()
                    .chain(got.keys())
                    .filter(|k| got.get(*k) != want.get(*k))
                    .cloned(),
            );
        }
        let show = |p| want.get(p).map(|v| String::from_utf8_lossy(v).into_owned());
        eprintln!(
            "{cf}: compression options {:?}, filter {:?}, prefix extractor {:?}",
            show("rocksdb.compression_options"),
            show("rocksdb.filter.policy"),
            show("rocksdb.prefix.extractor.name")
        );
    }
    eprintln!("properties that differ between bulk and flushed files: {differing:?}");
    // Format 3: bottom-level files, bulk files among them, are ZSTD.
    for cf in ColumnFamily::ALL {
        for (_, file) in &bulk_files[cf.index()] {
            let got = table_properties(&ok(std::fs::read(file), "reading an SST"));
            let options = got
                .get("rocksdb.compression_options")
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            assert!(options.contains("level=1;"), "{cf}: {options}");
            let used = got
                .get("rocksdb.compression")
                .map(|v| String::from_utf8_lossy(v).into_owned());
            assert_eq!(used.as_deref(), Some("ZSTD"), "{cf}: {}", file.display());
        }
    }
    let indices = table_properties(&ok(std::fs::read(&bulk_files[3][0].1), "reading an SST"));
    assert_eq!(
        indices
            .get("rocksdb.prefix.extractor.name")
            .map(Vec::as_slice),
        Some(&b"graph-storage.indices.v1"[..])
    );
}

#[test]
fn keys_out_of_order_are_invalid_arguments_and_change_nothing() {
    let dir = tempdir();
    let target = dir.path().join("db");
    let mut sink = ok(
        RocksDbBackend::bulk_create(&target, &config()),
        "bulk_create",
    );
    ok(sink.put(ColumnFamily::Nodes, b"k2", b"two"), "put");
    for (key, what) in [(&b"k1"[..], "a smaller key"), (b"k2", "the same key")] {
        let (kind, msg) = err_kind(sink.put(ColumnFamily::Nodes, key, b"x"), what);
        assert_eq!(kind, ErrorKind::InvalidArgument, "{what}: {msg}");
        assert!(msg.contains("nodes"), "{msg}");
    }
    // Another family has its own order; the refused entries left nothing.
    ok(sink.put(ColumnFamily::Edges, b"k1", b""), "put");
    ok(sink.put(ColumnFamily::Nodes, b"k3", b"three"), "put");
    let backend = ok(sink.commit(), "commit");
    let got = dump(&backend);
    assert_eq!(
        got[1],
        [
            (b"k2".to_vec(), b"two".to_vec()),
            (b"k3".to_vec(), b"three".to_vec())
        ]
    );
    assert_eq!(got[2], [(b"k1".to_vec(), Vec::new())]);
    assert!(got[0].is_empty() && got[3].is_empty());
    drop(backend);
}

#[test]
fn a_non_empty_target_is_refused_untouched() {
    let dir = tempdir();
    let junk = dir.path().join("junk");
    ok(std::fs::create_dir(&junk), "mkdir");
    ok(std::fs::write(junk.join("notes.txt"), b"mine"), "writing");
    let store = dir.path().join("store");
    batch_load(
        &store,
        &[(ColumnFamily::Nodes, b"k".to_vec(), b"v".to_vec())],
        false,
    );
    let file = dir.path().join("file");
    ok(std::fs::write(&file, b"a file"), "writing");
    let before_store = names(&store);
    for target in [&junk, &store, &file] {
        let (kind, msg) = err_kind(
            RocksDbBackend::bulk_create(target, &config()),
            &target.display().to_string(),
        );
        assert_eq!(kind, ErrorKind::InvalidArgument, "{msg}");
        assert!(
            msg.contains(&target.display().to_string())
                && msg.contains(
                    "bulk loading needs a new store; use the batched import for an existing one"
                ),
            "{msg}"
        );
    }
    assert_eq!(names(dir.path()), ["file", "junk", "store"]);
    assert_eq!(names(&junk), ["notes.txt"]);
    assert_eq!(
        ok(std::fs::read(junk.join("notes.txt")), "reading"),
        b"mine"
    );
    assert_eq!(names(&store), before_store);
    let backend = ok(RocksDbBackend::open_with(&store, &no_create()), "opening");
    assert_eq!(
        ok(backend.get(ColumnFamily::Nodes, b"k"), "get").as_deref(),
        Some(&b"v"[..])
    );
    drop(backend);
    let (kind, _) = err_kind(
        RocksDbBulkSink::create(dir.path().join("new"), &config(), 0),
        "a zero file size",
    );
    assert_eq!(kind, ErrorKind::InvalidArgument);
}

#[test]
fn dropping_a_sink_without_commit_leaves_nothing() {
    let dir = tempdir();
    let entries = interleaved();
    // A missing target stays missing; an empty directory stays empty.
    let missing = dir.path().join("missing");
    let empty = dir.path().join("empty");
    ok(std::fs::create_dir(&empty), "mkdir");
    for target in [&missing, &empty] {
        let mut sink = ok(
            RocksDbBulkSink::create(target, &config(), SMALL_FILES),
            "bulk_create",
        );
        let staging = ok(RocksDbBulkSink::staging_dir(target), "staging dir");
        assert!(staging.join("ingest").is_dir());
        for (cf, k, v) in &entries {
            ok(sink.put(*cf, k, v), "put");
        }
        drop(sink);
        assert!(!staging.exists(), "{} left behind", staging.display());
    }
    // And so does a sink dropped after refusing a key.
    let mut sink = ok(
        RocksDbBackend::bulk_create(&missing, &config()),
        "bulk_create",
    );
    ok(sink.put(ColumnFamily::Default, b"b", b""), "put");
    assert!(sink.put(ColumnFamily::Default, b"a", b"").is_err());
    drop(sink);
    assert_eq!(names(dir.path()), ["empty"]);
    assert!(names(&empty).is_empty());
}

#[test]
fn an_empty_load_makes_an_empty_store() {
    let dir = tempdir();
    let target = dir.path().join("db");
    let sink = ok(
        RocksDbBackend::bulk_create(&target, &config()),
        "bulk_create",
    );
    let backend = ok(sink.commit(), "commit");
    assert!(dump(&backend).iter().all(Vec::is_empty));
    drop(backend);
    assert_eq!(names(dir.path()), ["db"]);
}

/// A staging directory as a crash would leave it: a database (with data)
/// and SST files in `ingest/`, optionally with the completion marker.
fn fake_staging(target: &Path, marker: bool) -> PathBuf {
    let staging = ok(RocksDbBulkSink::staging_dir(target), "staging dir");
    batch_load(
        &staging,
        &[
            (ColumnFamily::Nodes, b"n1".to_vec(), b"staged".to_vec()),
            (ColumnFamily::Indices, b"i1".to_vec(), Vec::new()),
        ],
        false,
    );
    if !marker {
        ok(std::fs::create_dir(staging.join("ingest")), "mkdir");
        ok(
            std::fs::write(staging.join("ingest/nodes-000001.sst"), b"half an SST"),
            "writing",
        );
    } else {
        ok(
            std::fs::write(staging.join(BULK_COMPLETE_MARKER), b"done"),
            "writing",
        );
    }
    staging
}

#[test]
fn a_stale_staging_dir_without_the_marker_is_removed_on_open() {
    let dir = tempdir();
    let target = dir.path().join("db");
    // Not created: the open finds no store, and the staging is gone.
    let staging = fake_staging(&target, false);
    let (kind, msg) = err_kind(RocksDbBackend::open_with(&target, &no_create()), "open");
    assert_eq!(kind, ErrorKind::InvalidArgument, "{msg}");
    assert!(!staging.exists());
    assert!(names(dir.path()).is_empty());
    // Created: an empty store.
    let staging = fake_staging(&target, false);
    let backend = ok(RocksDbBackend::open_with(&target, &config()), "open");
    assert!(dump(&backend).iter().all(Vec::is_empty));
    drop(backend);
    assert!(!staging.exists());
    assert_eq!(names(dir.path()), ["db"]);
    // bulk_create clears one too, and loads.
    let target = dir.path().join("db2");
    let staging = fake_staging(&target, false);
    let mut sink = ok(
        RocksDbBackend::bulk_create(&target, &config()),
        "bulk_create",
    );
    ok(sink.put(ColumnFamily::Edges, b"e", b"fresh"), "put");
    let backend = ok(sink.commit(), "commit");
    let got = dump(&backend);
    assert_eq!(got[2], [(b"e".to_vec(), b"fresh".to_vec())]);
    assert!(got[1].is_empty(), "the stale load leaked into the new one");
    drop(backend);
    assert!(!staging.exists());
}

#[test]
fn a_staging_dir_with_the_marker_is_completed_on_open() {
    let dir = tempdir();
    let staged = |b: &RocksDbBackend| {
        ok(b.get(ColumnFamily::Nodes, b"n1"), "get").as_deref() == Some(&b"staged"[..])
    };
    // Missing target, and an empty directory as target.
    let missing = dir.path().join("missing");
    let empty = dir.path().join("empty");
    ok(std::fs::create_dir(&empty), "mkdir");
    for target in [&missing, &empty] {
        let staging = fake_staging(target, true);
        let backend = ok(RocksDbBackend::open_with(target, &no_create()), "open");
        assert!(staged(&backend));
        drop(backend);
        assert!(!staging.exists());
        assert!(!target.join(BULK_COMPLETE_MARKER).exists());
    }
    // bulk_create completes it as well, and then refuses the target.
    let third = dir.path().join("third");
    let staging = fake_staging(&third, true);
    let (kind, _) = err_kind(
        RocksDbBackend::bulk_create(&third, &config()),
        "bulk_create",
    );
    assert_eq!(kind, ErrorKind::InvalidArgument);
    assert!(!staging.exists());
    // A marker left inside the store (a crash right after the rename) is
    // removed by the next open.
    ok(
        std::fs::write(third.join(BULK_COMPLETE_MARKER), b"done"),
        "writing",
    );
    let backend = ok(RocksDbBackend::open_with(&third, &no_create()), "open");
    assert!(staged(&backend));
    drop(backend);
    assert!(!third.join(BULK_COMPLETE_MARKER).exists());
    // A target that is something else by now keeps its contents, and the
    // complete staging directory is left alone.
    let staging = fake_staging(&missing, true);
    let backend = ok(RocksDbBackend::open_with(&missing, &no_create()), "open");
    drop(backend);
    assert!(staging.join(BULK_COMPLETE_MARKER).exists());
    ok(std::fs::remove_dir_all(&staging), "cleanup");
    assert_eq!(names(dir.path()), ["empty", "missing", "third"]);
}

#[test]
fn a_running_load_is_left_alone() {
    let dir = tempdir();
    let target = dir.path().join("db");
    let mut sink = ok(
        RocksDbBulkSink::create(&target, &config(), SMALL_FILES),
        "bulk_create",
    );
    let entries = interleaved();
    for (cf, k, v) in &entries[..entries.len() / 2] {
        ok(sink.put(*cf, k, v), "put");
    }
    let staging = ok(RocksDbBulkSink::staging_dir(&target), "staging dir");
    // An open of the target does not take the running load for a stale
    // one, and neither says "no store" nor creates one (the load will):
    // locked, with or without creation; a second load is refused too.
    for config in [no_create(), config()] {
        let (kind, msg) = err_kind(RocksDbBackend::open_with(&target, &config), "open");
        assert_eq!(kind, ErrorKind::Locked, "{msg}");
        assert!(msg.contains("bulk load"), "{msg}");
    }
    assert!(!target.exists());
    let (kind, msg) = err_kind(
        RocksDbBackend::bulk_create(&target, &config()),
        "second load",
    );
    assert_eq!(kind, ErrorKind::Locked, "{msg}");
    assert!(staging.join("ingest").is_dir());
    for (cf, k, v) in &entries[entries.len() / 2..] {
        ok(sink.put(*cf, k, v), "put");
    }
    let backend = ok(sink.commit(), "commit");
    let expected: Vec<_> = families().into_iter().collect();
    assert!(dump(&backend) == expected);
    drop(backend);
    assert_eq!(names(dir.path()), ["db"]);
}

/// Opens of a target while loads of it start, run and finish never break a
/// load: an open between the creation of the staging directory and the
/// moment its database holds RocksDB's lock used to take it for an
/// abandoned load and remove it under the loader, or finish its complete
/// staging database under it. Each round loads a new target while another
/// thread opens it in a loop; the load's own open of the published store
/// waits for that thread to close it.
#[test]
fn opens_racing_a_starting_load_never_break_it() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const ROUNDS: usize = 60;
    let dir = tempdir();
    let target = |i: usize| dir.path().join(format!("db{i}"));
    let round = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let failures = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                let path = target(round.load(Ordering::Acquire));
                // Any outcome but a panic: no store yet, the store, or
                // locked by the loader's own open.
                drop(RocksDbBackend::open_with(&path, &no_create()));
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        });
        let mut failures = Vec::new();
        for i in 0..ROUNDS {
            round.store(i, Ordering::Release);
            let load = RocksDbBackend::bulk_create(target(i), &config()).and_then(|mut sink| {
                sink.put(ColumnFamily::Nodes, b"n", b"v")?;
                sink.commit()
            });
            match load {
                Ok(backend) => {
                    let got = ok(backend.get(ColumnFamily::Nodes, b"n"), "get");
                    assert_eq!(got.as_deref(), Some(&b"v"[..]), "round {i}");
                }
                Err(e) => failures.push(format!("round {i}: {e}")),
            }
        }
        done.store(true, Ordering::Release);
        failures
    });
    assert!(failures.is_empty(), "loads broken by opens: {failures:#?}");
    let mut want: Vec<String> = (0..ROUNDS).map(|i| format!("db{i}")).collect();
    want.sort();
    assert_eq!(names(dir.path()), want, "left beside the stores");
}

/// The load lock file a killed loader leaves (unlocked: the kernel
/// released its lock) is removed by the next open, with or without a
/// staging directory beside it, and does not stop a new load; while some
/// process holds it, opens leave the staging directory alone and loads are
/// refused as locked.
#[test]
fn a_load_lock_is_honoured_while_held_and_removed_when_stale() {
    let dir = tempdir();
    let target = dir.path().join("db");
    let staging = ok(RocksDbBulkSink::staging_dir(&target), "staging dir");
    let lock = PathBuf::from(format!("{}.lock", staging.display()));
    // Alone, then beside a stale staging directory.
    for with_staging in [false, true] {
        if with_staging {
            fake_staging(&target, false);
        }
        ok(std::fs::write(&lock, b""), "writing");
        let (kind, msg) = err_kind(RocksDbBackend::open_with(&target, &no_create()), "open");
        assert_eq!(kind, ErrorKind::InvalidArgument, "{msg}");
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }
    // Held by someone else: nothing is touched, and a load is refused.
    fake_staging(&target, false);
    let held = ok(std::fs::File::create(&lock), "creating");
    ok(held.try_lock(), "locking");
    let (kind, msg) = err_kind(RocksDbBackend::open_with(&target, &no_create()), "open");
    assert_eq!(kind, ErrorKind::Locked, "{msg}");
    assert!(staging.join("ingest").is_dir() && lock.exists());
    let (kind, msg) = err_kind(RocksDbBackend::bulk_create(&target, &config()), "a load");
    assert_eq!(kind, ErrorKind::Locked, "{msg}");
    assert!(staging.join("ingest").is_dir());
    // Released with its file left behind: the next load cleans up and runs.
    drop(held);
    ok(std::fs::write(&lock, b""), "writing");
    let mut sink = ok(
        RocksDbBackend::bulk_create(&target, &config()),
        "bulk_create",
    );
    ok(sink.put(ColumnFamily::Nodes, b"n", b"fresh"), "put");
    let backend = ok(sink.commit(), "commit");
    let got = dump(&backend);
    assert_eq!(got[1], [(b"n".to_vec(), b"fresh".to_vec())]);
    drop(backend);
    assert_eq!(names(dir.path()), ["db"]);
}
