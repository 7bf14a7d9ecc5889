//! The fixture stores of every format this build reads open, migrate when
//! older, and hold exactly the fixture graph: every record, every index and
//! adjacency entry, the counts; `verify()` is clean and the store takes new
//! writes. A change that breaks existing stores fails here.

#[path = "fixture/graph.rs"]
mod graph;

use std::path::{Path, PathBuf};

use graph_storage::{
    ColumnFamily, GraphStore, KeyRange, LIBRARY_VERSION, MemoryBackend, Properties, ReadView,
    RocksDbBackend, ScanDirection, StorageBackend,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a fixture into `dst`: opening writes to a store, and the
/// committed fixture must never change.
fn copy_fixture(name: &str, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(fixture(name))? {
        let entry = entry?;
        std::fs::copy(entry.path(), dst.join(entry.file_name()))?;
    }
    Ok(())
}

fn all(view: &impl ReadView, cf: ColumnFamily) -> graph_storage::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    view.collect_range(cf, KeyRange::all(), ScanDirection::Forward, None)
}

/// Checks the store at `dir` against the fixture graph built anew in
/// memory, then writes to it.
fn check_store(dir: &Path, expect_created_by: impl Fn(&str) -> bool) -> TestResult {
    let expected = GraphStore::open_with(MemoryBackend::new(), graph::options())?;
    graph::build(&expected)?;
    {
        let store = GraphStore::open_with(RocksDbBackend::open(dir)?, graph::options())?;
        let reader = store.snapshot()?;
        assert_eq!(reader.format_version()?, graph_storage::FORMAT_VERSION);
        let created_by = reader.created_by()?.unwrap_or_default();
        assert!(
            expect_created_by(&created_by),
            "created_by = {created_by:?}"
        );

        let want = expected.snapshot()?;
        let nodes: Vec<_> = reader.iter_nodes().collect::<graph_storage::Result<_>>()?;
        let want_nodes: Vec<_> = want.iter_nodes().collect::<graph_storage::Result<_>>()?;
        assert_eq!(nodes.len(), 39);
        assert_eq!(nodes, want_nodes);
        let edges: Vec<_> = reader.iter_edges().collect::<graph_storage::Result<_>>()?;
        let want_edges: Vec<_> = want.iter_edges().collect::<graph_storage::Result<_>>()?;
        assert_eq!(edges, want_edges);
        assert!(!edges.is_empty());
        // Every index, label and adjacency entry, byte for byte.
        assert_eq!(
            all(reader.view(), ColumnFamily::Indices)?,
            all(want.view(), ColumnFamily::Indices)?
        );
        assert_eq!(reader.node_count()?, want.node_count()?);
        assert_eq!(reader.edge_count()?, want.edge_count()?);
        assert_eq!(store.indexes(), expected.indexes());
        drop(reader);
        let report = store.verify()?;
        assert!(report.is_clean(), "{report}");
        // The store takes new writes, with ids above every old one.
        let max = nodes.iter().map(|n| n.id).max();
        let n = store.create_node(&["New"], Properties::new())?;
        assert!(Some(n) > max);
        store.create_edge(n, nodes[0].id, "NEW", Properties::new())?;
        assert!(store.verify()?.is_clean());
        store.into_backend().close()?;
    }
    // Reopens as the current format.
    let store = GraphStore::open(RocksDbBackend::open(dir)?)?;
    assert_eq!(
        store.reader().format_version()?,
        graph_storage::FORMAT_VERSION
    );
    assert!(store.verify()?.is_clean());
    store.into_backend().close()?;
    Ok(())
}

#[test]
fn format_1_store_is_migrated_and_reads_back() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    copy_fixture("format-1", &dir)?;
    check_store(&dir, |c| {
        c.starts_with("unknown (a format-1 store, migrated by graph-storage")
    })?;
    Ok(())
}

#[test]
fn format_2_store_is_migrated_and_reads_back() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    copy_fixture("format-2", &dir)?;
    check_store(&dir, |c| c.starts_with("graph-storage "))?;
    // Its LZ4 files, rewritten with ZSTD by a compaction before the
    // migration, read back the same.
    let dir = tmp.path().join("compacted");
    copy_fixture("format-2", &dir)?;
    let backend = RocksDbBackend::open(&dir)?;
    backend.compact()?;
    backend.close()?;
    check_store(&dir, |c| c.starts_with("graph-storage "))?;
    Ok(())
}

#[test]
fn format_3_store_reads_back() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    copy_fixture("format-3", &dir)?;
    check_store(&dir, |c| c.starts_with("graph-storage "))?;
    Ok(())
}

#[test]
fn a_newer_format_is_refused_untouched() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    copy_fixture("format-2", &dir)?;
    {
        let b = RocksDbBackend::open(&dir)?;
        b.put(
            ColumnFamily::Default,
            b"\x01format_version",
            &(graph_storage::FORMAT_VERSION + 1).to_be_bytes(),
            graph_storage::Durability::Strict,
        )?;
        b.close()?;
    }
    let b = RocksDbBackend::open(&dir)?;
    let err = GraphStore::open(b).err().map(|e| e.kind());
    assert_eq!(err, Some(graph_storage::ErrorKind::IncompatibleFormat));
    let b = RocksDbBackend::open(&dir)?;
    assert_eq!(
        b.get(ColumnFamily::Default, b"\x01format_version")?,
        Some((graph_storage::FORMAT_VERSION + 1).to_be_bytes().to_vec())
    );
    b.close()?;
    assert!(LIBRARY_VERSION.starts_with("graph-storage "));
    Ok(())
}
