//! Creates, links, queries and verifies a small graph.
//!
//! Run with `cargo run --release -p graph-storage --example quickstart`
//! (memory backend) or add `--features rocksdb -- /tmp/graph-demo` to store it
//! in RocksDB at that path: the code is the same, `open_default` picks the
//! backend from the features.

use std::ops::Bound;

use graph_storage::{Direction, GraphStore, Properties, PropertyValue, StorageBackend};

fn props(pairs: &[(&str, PropertyValue)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn demo<B: StorageBackend>(store: &GraphStore<B>) -> graph_storage::Result<()> {
    if store.node_count()? > 0 {
        println!(
            "reopened an existing graph: {} nodes, {} edges",
            store.node_count()?,
            store.edge_count()?
        );
        println!("verify: {}", store.verify()?);
        return Ok(());
    }
    store.create_index("Person", "age")?;
    let people = [("Ann", 34), ("Bob", 27), ("Cid", 41), ("Dee", 27)];
    let mut batch = store.batch();
    let ids = people
        .iter()
        .map(|(name, age)| {
            batch.create_node(
                &["Person"],
                props(&[("name", (*name).into()), ("age", (*age).into())]),
            )
        })
        .collect::<graph_storage::Result<Vec<_>>>()?;
    let acme = batch.create_node(&["Company"], props(&[("name", "Acme".into())]))?;
    for (i, &p) in ids.iter().enumerate() {
        batch.create_edge(
            p,
            acme,
            "WORKS_AT",
            props(&[("since", (2015 + i as i64).into())]),
        )?;
        batch.create_edge(p, ids[(i + 1) % ids.len()], "KNOWS", Properties::new())?;
    }
    batch.commit()?;

    println!(
        "nodes: {}, edges: {}",
        store.node_count()?,
        store.edge_count()?
    );
    let ann = ids[0];
    let friends = store.neighbors(ann, Direction::Outgoing, Some("KNOWS"))?;
    println!("Ann knows: {friends:?}");
    println!(
        "Acme's degree: {}",
        store.degree(acme, Direction::Incoming, None)?
    );
    let aged_27 = store.find_nodes("Person", "age", &PropertyValue::Int(27))?;
    println!("aged 27: {aged_27:?}");
    let thirties = store.find_nodes_in_range(
        "Person",
        "age",
        Bound::Included(&PropertyValue::Int(30)),
        Bound::Excluded(&PropertyValue::Int(40)),
    )?;
    println!("in their thirties: {thirties:?}");

    store.detach_delete_node(ids[3])?;
    println!(
        "after removing Dee: {} nodes, {} edges",
        store.node_count()?,
        store.edge_count()?
    );
    let report = store.verify()?;
    println!("verify: {report}");
    if !report.is_clean() {
        return Err(graph_storage::Error::invalid("the store is inconsistent"));
    }
    Ok(())
}

fn main() -> graph_storage::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "graph-demo".to_owned());
    let store = graph_storage::open_default(&path)?;
    println!(
        "store on {}",
        std::any::type_name::<graph_storage::DefaultBackend>()
    );
    demo(&store)
}
