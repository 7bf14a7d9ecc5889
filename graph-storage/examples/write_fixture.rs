//! Writes the fixture store of the current format (see
//! `graph-storage/tests/fixture_store.rs`):
//! `cargo run --release -p graph-storage --features rocksdb --example write_fixture -- DIR`.
//! DIR must not exist. Commit the result only with a deliberate format
//! change (a new `FORMAT_VERSION`): fixtures of older formats stay as they are.

#[path = "../tests/fixture/graph.rs"]
mod graph;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args_os().nth(1) else {
        return Err("usage: write_fixture DIR".into());
    };
    let dir = std::path::PathBuf::from(dir);
    if dir.exists() {
        return Err(format!("{} exists; give a new directory", dir.display()).into());
    }
    let store = graph_storage::GraphStore::open_with(
        graph_storage::RocksDbBackend::open(&dir)?,
        graph::options(),
    )?;
    graph::build(&store)?;
    store.flush()?;
    // Compacted, so the fixture holds bottom-level files: ZSTD since
    // format 3, what a bulk load or a compacted store of the field holds.
    store.backend().compact()?;
    let report = store.verify()?;
    if !report.is_clean() {
        return Err(format!("fixture does not verify: {report}").into());
    }
    store.into_backend().close()?;
    println!("wrote {}", dir.display());
    Ok(())
}
