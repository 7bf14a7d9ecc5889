//! Opening RocksDB stores: locks, foreign directories, reopen fidelity.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use graph_core::ErrorKind;
use graph_storage::{Direction, GraphStore, Properties, PropertyValue as V, RocksDbBackend};
use tests::Must;

fn kind<T>(r: graph_core::Result<T>) -> ErrorKind {
    match r {
        Err(e) => e.kind(),
        Ok(_) => panic!("expected an error"),
    }
}

/// Every file under `dir` with its size and contents' length, to prove a
/// refused open changed nothing.
fn snapshot_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).must("read dir") {
        let entry = entry.must("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().must("type").is_file() {
            out.insert(name, fs::read(entry.path()).must("read file"));
        }
    }
    out
}

#[test]
fn second_opener_in_process_is_locked() {
    let dir = tests::test_dir();
    let first = RocksDbBackend::open(dir.path()).must("first open");
    let second = RocksDbBackend::open(dir.path());
    assert_eq!(kind(second), ErrorKind::Locked);
    drop(first);
    RocksDbBackend::open(dir.path()).must("open after the holder closed");
}

#[test]
fn a_file_is_refused_and_untouched() {
    let dir = tests::test_dir();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"precious").must("write");
    assert_eq!(
        kind(RocksDbBackend::open(&file)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(fs::read(&file).must("read"), b"precious");
}

#[test]
fn a_foreign_directory_is_refused_and_untouched() {
    let dir = tests::test_dir();
    fs::write(dir.path().join("notes.txt"), b"mine").must("write");
    let before = snapshot_dir(dir.path());
    assert_eq!(
        kind(RocksDbBackend::open(dir.path())),
        ErrorKind::InvalidArgument
    );
    assert_eq!(snapshot_dir(dir.path()), before);
}

#[test]
fn a_foreign_rocksdb_is_refused_and_untouched() {
    let dir = tests::test_dir();
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let db = rocksdb::DB::open_cf(&opts, dir.path(), ["default", "other"]).must("foreign db");
        db.put(b"k", b"v").must("put");
    }
    let before = snapshot_dir(dir.path());
    assert_eq!(
        kind(RocksDbBackend::open(dir.path())),
        ErrorKind::IncompatibleFormat
    );
    assert_eq!(
        snapshot_dir(dir.path()),
        before,
        "a refused open must not write"
    );
}

#[test]
fn a_missing_store_is_not_created_when_asked_not_to() {
    let dir = tests::test_dir();
    let config = graph_storage::RocksDbConfig {
        create_if_missing: false,
        ..Default::default()
    };
    let path = dir.path().join("absent");
    assert_eq!(
        kind(RocksDbBackend::open_with(&path, &config)),
        ErrorKind::InvalidArgument
    );
    assert!(!path.exists());
}

/// Everything a user can observe of a graph, for comparing before and
/// after a reopen.
fn observe<B: graph_core::StorageBackend>(s: &GraphStore<B>) -> String {
    let r = s.reader();
    let mut out = format!(
        "{} nodes, {} edges, indexes {:?}\n",
        s.node_count().must("n"),
        s.edge_count().must("e"),
        s.indexes()
    );
    for id in r.node_ids().must("ids") {
        out += &format!("{:?}\n", s.get_node(id).must("node"));
        for dir in [Direction::Outgoing, Direction::Incoming] {
            out += &format!("  {dir:?} {:?}\n", s.edges(id, dir, None).must("edges"));
        }
    }
    for id in r.edge_ids().must("ids") {
        out += &format!("{:?}\n", s.get_edge(id).must("edge"));
    }
    for label in ["Person", "Company"] {
        out += &format!("{label}: {:?}\n", s.nodes_with_label(label).must("label"));
    }
    out += &format!(
        "age 30: {:?}\n",
        s.find_nodes("Person", "age", &V::Int(30)).must("find")
    );
    out
}

#[test]
fn reopen_returns_the_identical_graph() {
    let dir = tests::test_dir();
    let before = {
        let store = graph_storage::open(dir.path()).must("open");
        store.create_index("Person", "age").must("index");
        let mut batch = store.batch();
        let mut people = Vec::new();
        for i in 0..50i64 {
            let p = Properties::from([
                ("age".to_owned(), V::Int(20 + i % 15)),
                ("name".to_owned(), V::from(format!("p{i}"))),
            ]);
            people.push(batch.create_node(&["Person"], p).must("reserve"));
        }
        let acme = batch
            .create_node(&["Company"], Properties::new())
            .must("reserve");
        for (i, p) in people.iter().enumerate() {
            batch
                .create_edge(*p, acme, "WORKS_AT", Properties::new())
                .must("reserve");
            batch
                .create_edge(
                    *p,
                    people[(i * 7) % people.len()],
                    "KNOWS",
                    Properties::new(),
                )
                .must("reserve");
        }
        batch.commit().must("commit");
        store.detach_delete_node(people[3]).must("delete");
        store
            .set_node_property(people[4], "age", V::Int(30))
            .must("update");
        store.flush().must("flush");
        store
            .set_node_property(people[5], "age", V::Int(30))
            .must("update after flush");
        observe(&store)
    };
    let store = graph_storage::open(dir.path()).must("reopen");
    assert_eq!(observe(&store), before);
    assert!(store.verify().must("verify").is_clean());
}
