//! Opening fjall stores: locks, foreign and half-made directories, limits
//! of the engine. A refused open must leave the directory byte for byte
//! as it was.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use graph_core::{ColumnFamily, Durability, ErrorKind, ReadView, StorageBackend, WriteBatch};
use graph_storage::{
    FjallBackend, FjallConfig, GraphStore, Properties, PropertyValue, RocksDbBackend,
};
use storage_fjall::{MARKER, MARKER_CONTENTS, MAX_KEY_LEN};
use tests::Must;

fn kind<T>(r: graph_core::Result<T>) -> ErrorKind {
    match r {
        Err(e) => e.kind(),
        Ok(_) => panic!("expected an error"),
    }
}

/// Every file under `dir` (recursively) with its contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).must("read dir") {
            let path = entry.must("entry").path();
            let name = path
                .strip_prefix(root)
                .must("relative")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(format!("{name}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(name, fs::read(&path).must("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn refused_untouched<T>(
    path: &Path,
    open: impl FnOnce() -> graph_core::Result<T>,
    want: ErrorKind,
) {
    let before = tree(path);
    assert_eq!(kind(open()), want, "{}", path.display());
    assert_eq!(tree(path), before, "a refused open must not write");
}

#[test]
fn second_opener_in_process_is_locked() {
    let dir = tests::test_dir();
    let path = dir.path().join("store");
    let first = FjallBackend::open(&path).must("first open");
    assert_eq!(kind(FjallBackend::open(&path)), ErrorKind::Locked);
    assert_eq!(kind(graph_storage::open_fjall(&path)), ErrorKind::Locked);
    drop(first);
    FjallBackend::open(&path).must("open after the holder closed");
}

#[test]
fn a_file_and_a_foreign_directory_are_refused_and_untouched() {
    let dir = tests::test_dir();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"precious").must("write");
    assert_eq!(kind(FjallBackend::open(&file)), ErrorKind::InvalidArgument);
    assert_eq!(fs::read(&file).must("read"), b"precious");
    let foreign = dir.path().join("foreign");
    fs::create_dir(&foreign).must("mkdir");
    fs::write(foreign.join("notes.txt"), b"mine").must("write");
    refused_untouched(
        &foreign,
        || FjallBackend::open(&foreign),
        ErrorKind::InvalidArgument,
    );
}

#[test]
fn a_fjall_database_that_is_not_a_graph_store_is_refused_and_untouched() {
    let dir = tests::test_dir();
    let path = dir.path().join("plain");
    {
        let db = fjall::Database::builder(&path)
            .open()
            .must("plain fjall db");
        let ks = db
            .keyspace("items", fjall::KeyspaceCreateOptions::default)
            .must("keyspace");
        ks.insert("k", "v").must("insert");
        db.persist(fjall::PersistMode::SyncAll).must("persist");
    }
    refused_untouched(
        &path,
        || FjallBackend::open(&path),
        ErrorKind::IncompatibleFormat,
    );
}

#[test]
fn stores_of_the_other_engine_are_refused_both_ways() {
    let dir = tests::test_dir();
    let rocks = dir.path().join("rocks");
    drop(graph_storage::open(&rocks).must("a RocksDB graph store"));
    refused_untouched(
        &rocks,
        || FjallBackend::open(&rocks),
        ErrorKind::IncompatibleFormat,
    );
    let fjall_dir = dir.path().join("fjall");
    drop(graph_storage::open_fjall(&fjall_dir).must("a fjall graph store"));
    refused_untouched(
        &fjall_dir,
        || RocksDbBackend::open(&fjall_dir),
        ErrorKind::InvalidArgument,
    );
}

#[test]
fn a_missing_store_is_not_created_when_asked_not_to() {
    let dir = tests::test_dir();
    let config = FjallConfig {
        create_if_missing: false,
        ..FjallConfig::default()
    };
    let path = dir.path().join("absent");
    assert_eq!(
        kind(FjallBackend::open_with(&path, &config)),
        ErrorKind::InvalidArgument
    );
    assert!(!path.exists());
    let zero = FjallConfig {
        worker_threads: 0,
        ..FjallConfig::default()
    };
    assert_eq!(
        kind(FjallBackend::open_with(&path, &zero)),
        ErrorKind::InvalidArgument
    );
    assert!(!path.exists());
}

/// What a creation killed before its marker was written leaves: an empty
/// marker and fjall's first files. The next open creates the store; an
/// unknown file beside them is not removed.
#[test]
fn an_interrupted_creation_is_finished_but_strangers_are_kept() {
    let dir = tests::test_dir();
    let path = dir.path().join("half");
    fs::create_dir_all(path.join("keyspaces")).must("mkdir");
    fs::write(path.join(MARKER), b"").must("empty marker");
    fs::write(path.join("lock"), b"").must("lock");
    fs::write(path.join("0.jnl"), b"").must("journal");
    let b = FjallBackend::open(&path).must("finishing the creation");
    b.put(ColumnFamily::Nodes, b"k", b"v", Durability::Strict)
        .must("put");
    drop(b);
    assert_eq!(
        fs::read(path.join(MARKER)).must("marker"),
        MARKER_CONTENTS.as_bytes()
    );
    let b = FjallBackend::open(&path).must("reopen");
    assert_eq!(
        b.get(ColumnFamily::Nodes, b"k").must("get"),
        Some(b"v".to_vec())
    );
    drop(b);

    let odd = dir.path().join("odd");
    fs::create_dir_all(&odd).must("mkdir");
    fs::write(odd.join(MARKER), b"").must("empty marker");
    fs::write(odd.join("data.bin"), b"not fjall's").must("stranger");
    refused_untouched(&odd, || FjallBackend::open(&odd), ErrorKind::Corruption);
}

/// A creation killed while fjall wrote its `version` file (found by
/// `crash_kill`, seed 1796215071289650013): an empty marker beside an
/// empty, a partial or a complete `version` file and fjall's other files.
/// Nothing was acknowledged, so the next open starts the store afresh.
#[test]
fn a_creation_interrupted_at_fjalls_version_file_is_finished() {
    let dir = tests::test_dir();
    // A complete version file, taken from a real store.
    let real = dir.path().join("real");
    drop(FjallBackend::open(&real).must("create"));
    let complete = fs::read(real.join("version")).must("version");
    assert!(complete.len() > 1);
    for (i, version) in [&[][..], &complete[..1], &complete[..]]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("half{i}"));
        fs::create_dir_all(path.join("keyspaces")).must("mkdir");
        fs::write(path.join(MARKER), b"").must("empty marker");
        fs::write(path.join("version"), version).must("version");
        fs::write(path.join("0.jnl"), b"").must("journal");
        let b = FjallBackend::open(&path).must("finishing the creation");
        b.put(ColumnFamily::Nodes, b"k", b"v", Durability::Strict)
            .must("put");
        drop(b);
        let b = FjallBackend::open(&path).must("reopen");
        assert_eq!(
            b.get(ColumnFamily::Nodes, b"k").must("get"),
            Some(b"v".to_vec())
        );
    }
}

#[test]
fn damaged_or_newer_markers_are_refused_and_untouched() {
    let dir = tests::test_dir();
    for (name, contents, want) in [
        (
            "newer",
            "graph-storage fjall store\nlayout 2\n",
            ErrorKind::IncompatibleFormat,
        ),
        (
            "garbled",
            "graph-storage fjall sto\x00e\n",
            ErrorKind::Corruption,
        ),
    ] {
        let path = dir.path().join(name);
        drop(FjallBackend::open(&path).must("create"));
        fs::write(path.join(MARKER), contents).must("rewrite marker");
        refused_untouched(&path, || FjallBackend::open(&path), want);
    }
    // A complete marker without fjall's files is not a store either.
    let path = dir.path().join("bare");
    fs::create_dir_all(&path).must("mkdir");
    fs::write(path.join(MARKER), MARKER_CONTENTS).must("marker");
    refused_untouched(&path, || FjallBackend::open(&path), ErrorKind::Corruption);
}

#[test]
fn a_store_with_a_foreign_keyspace_is_refused() {
    let dir = tests::test_dir();
    let path = dir.path().join("store");
    drop(FjallBackend::open(&path).must("create"));
    {
        // Behind the backend's back (and its marker's lock): fjall's own
        // lock file still keeps concurrent openers out.
        let db = fjall::Database::builder(&path).open().must("raw open");
        db.keyspace("extra", fjall::KeyspaceCreateOptions::default)
            .must("extra keyspace");
    }
    assert_eq!(
        kind(FjallBackend::open(&path)),
        ErrorKind::IncompatibleFormat
    );
}

/// lsm-tree keys are at most 65,535 bytes (and the backend adds one): a
/// longer key fails the whole batch with InvalidArgument, applying
/// nothing, and an index entry that would be too long fails the graph
/// write the same way.
#[test]
fn keys_beyond_the_engine_limit_fail_cleanly() {
    let dir = tests::test_dir();
    let path = dir.path().join("store");
    let b = FjallBackend::open(&path).must("open");
    let mut batch = WriteBatch::new();
    batch.put(ColumnFamily::Nodes, b"first", b"1");
    batch.put(
        ColumnFamily::Indices,
        &vec![7u8; MAX_KEY_LEN],
        b"longest allowed",
    );
    batch.put(
        ColumnFamily::Edges,
        &vec![7u8; MAX_KEY_LEN + 1],
        b"too long",
    );
    assert_eq!(
        kind(b.write(&batch, Durability::Strict)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(b.get(ColumnFamily::Nodes, b"first").must("get"), None);
    let mut ok = WriteBatch::new();
    ok.put(
        ColumnFamily::Indices,
        &vec![7u8; MAX_KEY_LEN],
        b"longest allowed",
    );
    b.write(&ok, Durability::Strict).must("the longest key");
    assert_eq!(b.count_prefix(ColumnFamily::Indices, &[7]).must("count"), 1);

    drop(b);

    let store =
        GraphStore::open(FjallBackend::open(dir.path().join("graph")).must("open")).must("graph");
    store.create_index("Doc", "text").must("index");
    let props = Properties::from([("text".to_owned(), PropertyValue::from("x".repeat(70_000)))]);
    let err = store.create_node(&["Doc"], props.clone()).err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidArgument));
    assert!(
        store.reader().node_ids().must("ids").is_empty(),
        "nothing applied"
    );
    // Without the index the same node is stored (values may be large).
    store
        .create_node(&["Page"], props)
        .must("an unindexed long string");
    assert!(store.verify().must("verify").is_clean());
}

/// lsm-tree 3.1 decodes a keyspace's version file without checking it
/// against the checksum in `current`, and sizes an allocation from a count
/// in it: one flipped byte aborted the process (RELIABILITY.md). The
/// backend checks first, so every flip of every byte of every current
/// version file is a Corruption error, and the store is untouched.
#[test]
fn every_damaged_byte_of_a_version_file_is_corruption_not_an_abort() {
    let dir = tests::test_dir();
    let path = dir.path().join("store");
    {
        let b = FjallBackend::open(&path).must("create");
        for i in 0..200u32 {
            b.put(
                ColumnFamily::Edges,
                &i.to_be_bytes(),
                b"e",
                Durability::Background,
            )
            .must("put");
        }
        b.flush().must("flush");
    }
    let mut checked = 0;
    for ks in fs::read_dir(path.join("keyspaces")).must("keyspaces") {
        let ks = ks.must("entry").path();
        let Ok(current) = fs::read(ks.join("current")) else {
            continue;
        };
        let id = u64::from_le_bytes(current[..8].try_into().must("id"));
        let version = ks.join(format!("v{id}"));
        let good = fs::read(&version).must("version file");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x5a;
            fs::write(&version, &bad).must("damage");
            assert_eq!(
                kind(FjallBackend::open(&path)),
                ErrorKind::Corruption,
                "byte {i} of {}",
                version.display()
            );
            checked += 1;
        }
        fs::write(&version, &good).must("repair");
    }
    assert!(checked > 100, "only {checked} bytes checked");
    let b = FjallBackend::open(&path).must("the repaired store opens");
    assert_eq!(b.count_prefix(ColumnFamily::Edges, &[]).must("count"), 200);
}
