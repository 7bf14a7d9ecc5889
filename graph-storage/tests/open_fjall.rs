//! `open_fjall` and `open_default` with the fjall feature: a graph written,
//! closed and reopened from disk, with nothing of RocksDB compiled in when
//! built with `--no-default-features --features fjall`.

#![cfg(feature = "fjall")]

use graph_storage::{Direction, Properties, PropertyValue};

#[test]
fn a_graph_survives_close_and_reopen() -> graph_storage::Result<()> {
    let dir = tempfile::tempdir().map_err(graph_storage::Error::from)?;
    let path = dir.path().join("store");
    let (a, b, e) = {
        let store = graph_storage::open_fjall(&path)?;
        let props = Properties::from([("name".to_owned(), PropertyValue::from("Ada"))]);
        let a = store.create_node(&["Person"], props)?;
        let b = store.create_node(&["Person"], Properties::new())?;
        let e = store.create_edge(a, b, "KNOWS", Properties::new())?;
        (a, b, e)
    };
    // With only `fjall` enabled the default backend is fjall, so this is
    // the same store from disk; with `rocksdb` also enabled it would be
    // RocksDB, which refuses a fjall directory.
    #[cfg(not(feature = "rocksdb"))]
    let store = graph_storage::open_default(&path)?;
    #[cfg(feature = "rocksdb")]
    let store = graph_storage::open_fjall(&path)?;
    let reader = store.reader();
    let node = reader
        .get_node(a)?
        .ok_or(graph_storage::Error::NodeNotFound(a))?;
    assert_eq!(
        node.properties.get("name"),
        Some(&PropertyValue::from("Ada"))
    );
    assert_eq!(reader.neighbors(a, Direction::Outgoing, None)?, vec![b]);
    assert!(reader.get_edge(e)?.is_some());
    assert!(store.verify()?.is_clean());
    drop(reader);
    drop(store);
    Ok(())
}
