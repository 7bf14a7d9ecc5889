//! Stores populated identically on every backend, for the Criterion
//! suites.

use std::path::Path;

use graph_core::{Durability, EdgeId, NodeId, Properties, PropertyValue, StorageBackend};
use graph_storage::{
    FjallBackend, FjallConfig, GraphStore, MemoryBackend, RocksDbBackend, RocksDbConfig,
    StoreOptions,
};

use crate::BoxResult;
use crate::workload::{DEFAULT_SEED, DEFAULT_ZIPF_EXPONENT, Workload};

/// Nodes of the read fixture (about a tenth carry each label).
pub const FIXTURE_NODES: u64 = 10_000;
/// Workload edges of the read fixture, besides the hubs' edges.
pub const FIXTURE_EDGES: u64 = 20_000;
/// The label of the label-scan and property-index benchmarks.
pub const SCAN_LABEL: &str = "Person";
/// The indexed property of the property-index benchmarks (ints 18..=90).
pub const INDEXED_PROPERTY: &str = "age";
/// The type of the hubs' edges.
pub const HUB_EDGE_TYPE: &str = "LINKS";

/// What the read benchmarks look up in a populated store.
#[derive(Debug, Clone)]
pub struct ReadFixture {
    /// Every workload node, by index.
    pub nodes: Vec<NodeId>,
    /// Every workload edge, by index.
    pub edges: Vec<EdgeId>,
    /// A node with exactly 10 outgoing edges.
    pub hub_out_10: NodeId,
    /// A node with exactly 1,000 outgoing edges.
    pub hub_out_1000: NodeId,
    /// A node with exactly 10 incoming edges.
    pub hub_in_10: NodeId,
    /// A node with exactly 1,000 incoming edges.
    pub hub_in_1000: NodeId,
}

/// A memory store.
///
/// # Errors
/// None in practice (opening initializes an empty backend).
pub fn memory_store() -> BoxResult<GraphStore<MemoryBackend>> {
    Ok(GraphStore::open(MemoryBackend::new())?)
}

/// A RocksDB store at `dir` with the default configuration and the given
/// durability.
///
/// # Errors
/// Open errors.
pub fn rocksdb_store(dir: &Path, durability: Durability) -> BoxResult<GraphStore<RocksDbBackend>> {
    durable_store(
        RocksDbBackend::open_with(dir, &RocksDbConfig::default())?,
        durability,
    )
}

/// A fjall store at `dir` with the default configuration (so a background
/// fsync of the journal every 100 ms after `Background` writes) and the
/// given durability.
///
/// # Errors
/// Open errors.
pub fn fjall_store(dir: &Path, durability: Durability) -> BoxResult<GraphStore<FjallBackend>> {
    durable_store(
        FjallBackend::open_with(dir, &FjallConfig::default())?,
        durability,
    )
}

fn durable_store<B: StorageBackend + 'static>(
    backend: B,
    durability: Durability,
) -> BoxResult<GraphStore<B>> {
    Ok(GraphStore::open_with(
        backend,
        StoreOptions::default().durability(durability),
    )?)
}

/// Fills `store` with the read fixture: an index on
/// (`Person`, `age`), [`FIXTURE_NODES`] workload nodes and
/// [`FIXTURE_EDGES`] workload edges (default seed), and four hub nodes with
/// 10 and 1,000 outgoing and incoming edges. Identical on every backend.
///
/// # Errors
/// Write errors.
pub fn populate<B: StorageBackend>(store: &GraphStore<B>) -> BoxResult<ReadFixture> {
    let w = Workload::new(
        FIXTURE_NODES,
        FIXTURE_EDGES,
        DEFAULT_SEED,
        DEFAULT_ZIPF_EXPONENT,
    )?;
    store.create_index(SCAN_LABEL, INDEXED_PROPERTY)?;
    let mut nodes = Vec::with_capacity(FIXTURE_NODES as usize);
    for chunk in (0..FIXTURE_NODES).collect::<Vec<_>>().chunks(1_000) {
        let mut b = store.batch();
        for &i in chunk {
            let s = w.node(i);
            nodes.push(b.create_node(&[s.label()], s.properties())?);
        }
        b.commit()?;
    }
    let mut edges = Vec::with_capacity(FIXTURE_EDGES as usize);
    for chunk in (0..FIXTURE_EDGES).collect::<Vec<_>>().chunks(5_000) {
        let mut b = store.batch();
        for &i in chunk {
            let s = w.edge(i);
            edges.push(b.create_edge(
                nodes[s.src as usize],
                nodes[s.dst as usize],
                s.edge_type(),
                s.properties(),
            )?);
        }
        b.commit()?;
    }
    let mut b = store.batch();
    let mut hub = |name: &str| {
        b.create_node(
            &["Hub"],
            Properties::from([("name".to_owned(), PropertyValue::from(name))]),
        )
    };
    let hubs = [hub("out10")?, hub("out1000")?, hub("in10")?, hub("in1000")?];
    let w8 = || Properties::from([("weight".to_owned(), PropertyValue::Float(0.5))]);
    for (k, node) in nodes.iter().take(1_000).enumerate() {
        if k < 10 {
            b.create_edge(hubs[0], *node, HUB_EDGE_TYPE, w8())?;
            b.create_edge(*node, hubs[2], HUB_EDGE_TYPE, w8())?;
        }
        b.create_edge(hubs[1], *node, HUB_EDGE_TYPE, w8())?;
        b.create_edge(*node, hubs[3], HUB_EDGE_TYPE, w8())?;
    }
    b.commit()?;
    Ok(ReadFixture {
        nodes,
        edges,
        hub_out_10: hubs[0],
        hub_out_1000: hubs[1],
        hub_in_10: hubs[2],
        hub_in_1000: hubs[3],
    })
}

#[cfg(test)]
mod tests {
    use graph_core::Direction;

    use super::*;

    #[test]
    fn fixture_has_the_promised_shape() -> BoxResult<()> {
        let store = memory_store()?;
        let f = populate(&store)?;
        assert_eq!(store.degree(f.hub_out_10, Direction::Outgoing, None)?, 10);
        assert_eq!(
            store.degree(f.hub_out_1000, Direction::Outgoing, None)?,
            1000
        );
        assert_eq!(store.degree(f.hub_in_10, Direction::Incoming, None)?, 10);
        assert_eq!(
            store.degree(f.hub_in_1000, Direction::Incoming, None)?,
            1000
        );
        assert_eq!(store.node_count()?, FIXTURE_NODES + 4);
        let persons = store.nodes_with_label(SCAN_LABEL)?.len();
        assert!((800..1200).contains(&persons), "{persons}");
        assert!(
            !store
                .find_nodes(SCAN_LABEL, INDEXED_PROPERTY, &PropertyValue::Int(42))?
                .is_empty()
        );
        Ok(())
    }
}
