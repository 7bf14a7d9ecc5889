//! Checkpoints, backups and restores, manual compaction and statistics of
//! the RocksDB backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use graph_core::{
    ColumnFamily, Durability, ErrorKind, KeyRange, ReadView, ScanDirection, StorageBackend,
    WriteBatch,
};
use storage_rocksdb::{RocksDbBackend, RocksDbConfig};

type Dump = Vec<(ColumnFamily, Vec<u8>, Vec<u8>)>;

#[track_caller]
fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

fn tempdir() -> tempfile::TempDir {
    ok(tempfile::tempdir(), "creating a temporary directory")
}

fn open(path: &Path) -> RocksDbBackend {
    ok(
        RocksDbBackend::open(path),
        &format!("opening {}", path.display()),
    )
}

/// Every pair of every column family, in order.
fn dump(view: &impl ReadView) -> Dump {
    let mut out = Vec::new();
    for cf in ColumnFamily::ALL {
        let pairs = ok(
            view.collect_range(cf, KeyRange::all(), ScanDirection::Forward, None),
            "scanning",
        );
        out.extend(pairs.into_iter().map(|(k, v)| (cf, k, v)));
    }
    out
}

/// The files below `dir` and their contents, to show a directory unchanged.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in ok(std::fs::read_dir(&d), "listing") {
            let path = ok(entry, "listing").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push((path.clone(), ok(std::fs::read(&path), "reading")));
            }
        }
    }
    out.sort();
    out
}

fn key(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

/// Writes keys `range` into all four families, one batch per `batch` keys,
/// with values that depend on `round` so that rounds overwrite each other.
fn fill(backend: &RocksDbBackend, range: std::ops::Range<u64>, round: u32, batch: usize) {
    let keys: Vec<u64> = range.collect();
    for chunk in keys.chunks(batch) {
        let mut b = WriteBatch::new();
        for &i in chunk {
            for cf in ColumnFamily::ALL {
                let value = format!("{cf}:{i}:{round}:{}", "x".repeat((i % 40) as usize));
                b.put(cf, &key(i), value.as_bytes());
            }
        }
        ok(backend.write(&b, Durability::Background), "writing");
    }
}

#[test]
fn checkpoint_while_writing_opens_with_a_consistent_prefix() {
    let dir = tempdir();
    // Small memtables: flushes run while the writer writes.
    let config = RocksDbConfig {
        write_buffer_size: 256 << 10,
        ..RocksDbConfig::default()
    };
    let backend = Arc::new(ok(
        RocksDbBackend::open_with(dir.path().join("db"), &config),
        "opening",
    ));
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (backend, acked, stop) = (Arc::clone(&backend), Arc::clone(&acked), Arc::clone(&stop));
        thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Batch i: key i in every family, all or nothing.
                let mut b = WriteBatch::new();
                for cf in ColumnFamily::ALL {
                    let value = format!("{cf}:{i}:{}", "v".repeat(100));
                    b.put(cf, &key(i), value.as_bytes());
                }
                ok(backend.write(&b, Durability::Background), "writing");
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < 2_000 {
        assert!(Instant::now() < deadline, "the writer made no progress");
        thread::sleep(Duration::from_millis(5));
    }
    let mut taken = Vec::new();
    for n in 0..3 {
        let cp = dir.path().join(format!("checkpoints/cp{n}"));
        let before = acked.load(Ordering::SeqCst);
        ok(backend.checkpoint(&cp), "taking a checkpoint");
        let after = acked.load(Ordering::SeqCst);
        taken.push((cp, before, after));
        thread::sleep(Duration::from_millis(20));
    }
    // An existing directory is refused and left alone.
    let existing = &taken[0].0;
    let files = tree(existing);
    let err = backend.checkpoint(existing).err();
    assert_eq!(
        err.as_ref().map(|e| e.kind()),
        Some(ErrorKind::InvalidArgument),
        "{err:?}"
    );
    assert!(
        err.is_some_and(|e| e.to_string().contains("already exists")),
        "the error names the problem"
    );
    assert_eq!(tree(existing), files);

    stop.store(true, Ordering::Relaxed);
    ok(writer.join().map_err(|_| "panicked"), "the writer");
    let total = acked.load(Ordering::SeqCst);

    for (cp, before, after) in taken {
        let copy = open(&cp);
        let mut per_cf = Vec::new();
        for cf in ColumnFamily::ALL {
            let pairs = ok(
                copy.collect_range(cf, KeyRange::all(), ScanDirection::Forward, None),
                "scanning the checkpoint",
            );
            // Keys 0..n, each with the value batch i wrote.
            for (i, (k, v)) in pairs.iter().enumerate() {
                assert_eq!(k.as_slice(), key(i as u64), "{cf} in {}", cp.display());
                assert_eq!(v, format!("{cf}:{i}:{}", "v".repeat(100)).as_bytes());
            }
            per_cf.push(pairs.len() as u64);
        }
        let n = per_cf[0];
        assert!(
            per_cf.iter().all(|&c| c == n),
            "every batch whole in every family: {per_cf:?}"
        );
        // The writer counts a batch only after `write` returns, so the
        // batch in flight when `after` is read may already be in the
        // checkpoint: at most one beyond the count.
        assert!(
            before <= n && n <= after + 1,
            "the checkpoint holds {n} batches; {before} were acknowledged before it, {after} \
             after (and at most one more in flight)"
        );
        assert!(n < total, "the writer went on after the checkpoint");
        eprintln!(
            "{}: {n} batches ({before} acknowledged before, {after} after, {total} in all)",
            cp.display()
        );
        ok(copy.close(), "closing the checkpoint");
    }
    let backend = ok(
        Arc::try_unwrap(backend).map_err(|_| "shared"),
        "the backend",
    );
    ok(backend.close(), "closing");
}

#[test]
fn backup_then_restore_gives_identical_contents() {
    let dir = tempdir();
    let backups = dir.path().join("backups");
    let backend = open(&dir.path().join("db"));
    fill(&backend, 0..3_000, 0, 100);
    ok(backend.flush(), "flushing");
    fill(&backend, 1_000..2_000, 1, 100);
    // Left in the memtables and the WAL: the backup flushes them.
    ok(
        backend.delete(ColumnFamily::Edges, &key(5), Durability::Strict),
        "deleting",
    );
    ok(
        backend.delete_range(
            ColumnFamily::Indices,
            &key(100),
            &key(200),
            Durability::Strict,
        ),
        "deleting a range",
    );
    let first = dump(&backend);
    assert!(first.len() > 10_000);

    let info1 = ok(backend.backup(&backups), "backing up");
    assert!(info1.file_count > 0 && info1.size_bytes > 0, "{info1:?}");
    assert!(
        info1.timestamp > 1_600_000_000,
        "seconds since the epoch: {info1:?}"
    );

    fill(&backend, 2_500..4_000, 2, 100);
    ok(
        backend.delete(ColumnFamily::Nodes, &key(7), Durability::Strict),
        "deleting",
    );
    let second = dump(&backend);
    assert_ne!(first, second);
    let info2 = ok(backend.backup(&backups), "backing up again");
    assert!(info2.id > info1.id, "{info1:?} then {info2:?}");

    let listed = ok(RocksDbBackend::list_backups(&backups), "listing");
    assert_eq!(listed, vec![info1.clone(), info2.clone()]);

    // The latest, into a directory that does not exist yet.
    let latest = dir.path().join("restored/latest");
    ok(
        RocksDbBackend::restore(&backups, &latest, None),
        "restoring the latest",
    );
    let restored = open(&latest);
    assert!(
        dump(&restored) == second,
        "the latest backup restores byte for byte"
    );
    ok(restored.close(), "closing");

    // An older one, by id, into an empty directory.
    let older = dir.path().join("restored/older");
    ok(std::fs::create_dir_all(&older), "creating");
    ok(
        RocksDbBackend::restore(&backups, &older, Some(info1.id)),
        "restoring the first backup",
    );
    let restored = open(&older);
    assert!(
        dump(&restored) == first,
        "the first backup restores byte for byte"
    );
    ok(restored.close(), "closing");

    // An id that is not there.
    let missing = dir.path().join("restored/missing");
    let err = RocksDbBackend::restore(&backups, &missing, Some(info2.id + 10)).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    assert!(
        !missing.exists(),
        "nothing is created for a refused restore"
    );

    // The source store is unaffected by all of it.
    assert!(dump(&backend) == second);
    ok(backend.close(), "closing");
}

#[test]
fn restore_refuses_a_non_empty_directory_and_leaves_it_unchanged() {
    let dir = tempdir();
    let backups = dir.path().join("backups");
    let db = dir.path().join("db");
    let backend = open(&db);
    fill(&backend, 0..500, 0, 50);
    ok(backend.backup(&backups), "backing up");
    fill(&backend, 500..600, 1, 50);
    let contents = dump(&backend);
    ok(backend.close(), "closing");

    // A directory with a stray file.
    let other = dir.path().join("other");
    ok(std::fs::create_dir_all(other.join("sub")), "creating");
    ok(
        std::fs::write(other.join("keep.txt"), b"precious"),
        "writing",
    );
    ok(std::fs::write(other.join("sub/x"), b"also"), "writing");
    let before = tree(&other);
    let err = RocksDbBackend::restore(&backups, &other, None).err();
    assert_eq!(
        err.as_ref().map(|e| e.kind()),
        Some(ErrorKind::InvalidArgument),
        "{err:?}"
    );
    assert!(err.is_some_and(|e| e.to_string().contains("not empty")));
    assert_eq!(tree(&other), before);

    // The closed store itself: refused, and it still opens with its data.
    let before = tree(&db);
    let err = RocksDbBackend::restore(&backups, &db, None).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    assert_eq!(tree(&db), before);
    let backend = open(&db);
    assert!(dump(&backend) == contents);
    ok(backend.close(), "closing");

    // A file where the directory should be.
    let file = dir.path().join("file");
    ok(std::fs::write(&file, b"data"), "writing");
    let err = RocksDbBackend::restore(&backups, &file, None).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    assert_eq!(ok(std::fs::read(&file), "reading"), b"data");
}

#[test]
fn backup_directories_are_checked() {
    let dir = tempdir();
    let backend = open(&dir.path().join("db"));
    fill(&backend, 0..100, 0, 50);

    // Not a backup directory: refused for backup, listing and restore.
    let foreign = dir.path().join("foreign");
    ok(std::fs::create_dir_all(&foreign), "creating");
    ok(
        std::fs::write(foreign.join("notes.txt"), b"mine"),
        "writing",
    );
    let before = tree(&foreign);
    let err = backend.backup(&foreign).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    let err = RocksDbBackend::list_backups(&foreign).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    let err = RocksDbBackend::restore(&foreign, &dir.path().join("r1"), None).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    assert_eq!(tree(&foreign), before);

    // Missing: an error for listing; an empty directory lists nothing and
    // has nothing to restore.
    let err = RocksDbBackend::list_backups(&dir.path().join("nowhere")).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    let empty = dir.path().join("empty");
    ok(std::fs::create_dir_all(&empty), "creating");
    assert_eq!(ok(RocksDbBackend::list_backups(&empty), "listing"), vec![]);
    let err = RocksDbBackend::restore(&empty, &dir.path().join("r2"), None).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));

    // An empty directory takes a first backup.
    let info = ok(backend.backup(&empty), "backing up into an empty directory");
    assert_eq!(
        ok(RocksDbBackend::list_backups(&empty), "listing"),
        vec![info]
    );
    ok(backend.close(), "closing");
}

#[test]
fn stats_report_keys_and_bytes_after_writes_and_flush() {
    let dir = tempdir();
    let backend = open(&dir.path().join("db"));
    let empty = ok(backend.stats(), "stats");
    assert_eq!(
        empty.iter().map(|s| s.cf).collect::<Vec<_>>(),
        ColumnFamily::ALL.to_vec()
    );
    assert!(
        empty
            .iter()
            .all(|s| s.estimated_keys == 0 && s.sst_files() == 0),
        "{empty:?}"
    );

    fill(&backend, 0..2_000, 0, 200);
    let unflushed = ok(backend.stats(), "stats");
    for s in &unflushed {
        assert!(s.memtable_bytes > 0, "{s:?}");
        assert!(s.estimated_keys > 0, "{s:?}");
    }
    ok(backend.flush(), "flushing");
    let flushed = ok(backend.stats(), "stats");
    for s in &flushed {
        // 2,000 distinct keys; the estimate is exact without overwrites.
        assert!((1_000..=4_000).contains(&s.estimated_keys), "{s:?}");
        assert!(
            s.live_sst_bytes > 0 && s.total_sst_bytes >= s.live_sst_bytes,
            "{s:?}"
        );
        assert!(s.estimated_live_data_bytes > 0, "{s:?}");
        assert!(s.sst_files() >= 1, "{s:?}");
        // Level compaction with RocksDB's default 7 levels.
        assert_eq!(s.sst_files_per_level.len(), 7, "{s:?}");
    }
    let store = ok(backend.store_stats(), "store stats");
    assert_eq!(store.block_cache_capacity_bytes, 256 << 20);
    let sst: u64 = flushed.iter().map(|s| s.live_sst_bytes).sum();
    assert!(store.disk_bytes > sst, "{store:?}, SST files {sst}");
    assert!(store.wal_bytes <= store.disk_bytes);
    ok(backend.close(), "closing");
}

#[test]
fn compact_leaves_contents_identical() {
    let dir = tempdir();
    let db = dir.path().join("db");
    let backend = open(&db);
    // Overlapping level-0 files with overwrites and deletions: three files
    // in all with the flush below, under RocksDB's level-0 compaction
    // trigger (4), so no background compaction shrinks them before the
    // figures "before" are taken (with four rounds it could, under load).
    for round in 0..2 {
        let start = u64::from(round) * 300;
        fill(&backend, start..start + 1_000, round, 100);
        ok(backend.flush(), "flushing");
    }
    for i in (0..1_500).step_by(7) {
        ok(
            backend.delete(ColumnFamily::Nodes, &key(i), Durability::Background),
            "deleting",
        );
    }
    ok(
        backend.delete_range(
            ColumnFamily::Edges,
            &key(200),
            &key(900),
            Durability::Background,
        ),
        "deleting a range",
    );
    ok(backend.flush(), "flushing");
    fill(&backend, 1_900..2_100, 9, 100); // left in the memtables
    let before = dump(&backend);
    let stats_before = ok(backend.stats(), "stats");

    ok(backend.compact(), "compacting");
    assert!(
        dump(&backend) == before,
        "compaction changes no key or value"
    );
    let stats_after = ok(backend.stats(), "stats");
    for (b, a) in stats_before.iter().zip(&stats_after) {
        assert_eq!(a.sst_files_per_level[0], 0, "level 0 compacted away: {a:?}");
        assert!(
            a.sst_files() >= 1 && a.memtable_bytes < b.memtable_bytes.max(1),
            "{b:?} -> {a:?}"
        );
    }
    let nodes = |s: &[storage_rocksdb::CfStats]| s[ColumnFamily::Nodes.index()].live_sst_bytes;
    assert!(
        nodes(&stats_after) < nodes(&stats_before),
        "overwritten and deleted entries are dropped"
    );
    ok(backend.close(), "closing");
    let backend = open(&db);
    assert!(dump(&backend) == before, "and so after reopening");
    ok(backend.close(), "closing");
}
