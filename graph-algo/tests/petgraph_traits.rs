//! petgraph's own algorithms on a stored graph (through `Topology`) and
//! on the same graph built as a `petgraph::Graph` give the same answers:
//! `dijkstra`, `bellman_ford`, `kosaraju_scc`, `tarjan_scc`, `toposort`,
//! `Bfs`, `Dfs`, `has_path_connecting`, over generated graphs with
//! parallel edges, self-loops, isolated and deleted nodes; and
//! graph-algo's own components and shortest paths against them
//! (`connected_components` needs compact node indices, which store ids
//! with holes are not).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use graph_algo::Topology;
use graph_algo::petgraph::algo::{
    bellman_ford, connected_components, dijkstra, has_path_connecting, kosaraju_scc, tarjan_scc,
    toposort,
};
use graph_algo::petgraph::graph::{DiGraph, NodeIndex};
use graph_algo::petgraph::visit::{Bfs, Dfs, EdgeRef, IntoEdgeReferences, Walker};
use graph_storage::{GraphStore, MemoryBackend, NodeId, Properties, PropertyValue};
use proptest::prelude::*;

/// A stored graph and the same as a petgraph `Graph` (node index i = the
/// i-th live node by id).
struct Pair {
    store: GraphStore<MemoryBackend>,
    graph: DiGraph<NodeId, f64>,
    index: HashMap<NodeId, NodeIndex>,
}

fn build(nodes: usize, edges: &[(usize, usize, u8)], deleted: &[usize]) -> Pair {
    let store = match GraphStore::open(MemoryBackend::new()) {
        Ok(s) => s,
        Err(e) => panic!("open: {e}"),
    };
    let mut ids = Vec::new();
    for _ in 0..nodes {
        match store.create_node(&["N"], Properties::new()) {
            Ok(id) => ids.push(id),
            Err(e) => panic!("node: {e}"),
        }
    }
    let mut kept = Vec::new();
    for &(a, b, w) in edges {
        let props = Properties::from([("w", PropertyValue::Int(i64::from(w)))]);
        match store.create_edge(ids[a % nodes], ids[b % nodes], "E", props) {
            Ok(_) => kept.push((a % nodes, b % nodes, f64::from(w))),
            Err(e) => panic!("edge: {e}"),
        }
    }
    let gone: BTreeSet<usize> = deleted.iter().map(|d| d % nodes).collect();
    for &d in &gone {
        if let Err(e) = store.detach_delete_node(ids[d]) {
            panic!("delete: {e}");
        }
    }
    let mut graph = DiGraph::new();
    let mut index = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if !gone.contains(&i) {
            index.insert(*id, graph.add_node(*id));
        }
    }
    for (a, b, w) in kept {
        if let (Some(&x), Some(&y)) = (index.get(&ids[a]), index.get(&ids[b])) {
            graph.add_edge(x, y, w);
        }
    }
    Pair {
        store,
        graph,
        index,
    }
}

fn sets(groups: Vec<Vec<NodeId>>) -> BTreeSet<BTreeSet<NodeId>> {
    groups
        .into_iter()
        .map(|g| g.into_iter().collect())
        .collect()
}

fn check(p: &Pair) -> Result<(), TestCaseError> {
    let t = match Topology::of(&p.store, Some("w")) {
        Ok(t) => t,
        Err(e) => return Err(TestCaseError::fail(format!("topology: {e}"))),
    };
    let g = &p.graph;
    let id = |i: NodeIndex| g[i];
    prop_assert_eq!(t.node_count(), g.node_count());
    prop_assert_eq!(t.edge_count(), g.edge_count() as u64);

    // Edge references: the same (source, target, weight) multiset.
    let mut mine: Vec<(NodeId, NodeId, u64)> = (&t)
        .edge_references()
        .map(|e| (e.source(), e.target(), e.weight().to_bits()))
        .collect();
    let mut theirs: Vec<(NodeId, NodeId, u64)> = g
        .edge_references()
        .map(|e| (id(e.source()), id(e.target()), e.weight().to_bits()))
        .collect();
    mine.sort();
    theirs.sort();
    prop_assert_eq!(mine, theirs);

    // Strongly connected components, both of petgraph's algorithms.
    let want = sets(
        kosaraju_scc(g)
            .into_iter()
            .map(|c| c.into_iter().map(id).collect())
            .collect(),
    );
    prop_assert_eq!(sets(kosaraju_scc(&t)), want.clone());
    prop_assert_eq!(sets(tarjan_scc(&t)), want.clone());
    // graph-algo's own.
    let scc = graph_algo::strongly_connected_components(&t, &mut graph_algo::no_progress);
    let mut by_label: BTreeMap<u64, BTreeSet<NodeId>> = BTreeMap::new();
    for n in t.nodes() {
        if let Some(c) = scc.of(n) {
            by_label.entry(c.0).or_default().insert(n);
        }
    }
    prop_assert_eq!(by_label.into_values().collect::<BTreeSet<_>>(), want);
    prop_assert_eq!(
        graph_algo::weakly_connected_components(&t, &mut graph_algo::no_progress).count,
        connected_components(g)
    );

    // Topological order: both fail on a cycle, or both give an order
    // respecting every edge.
    match (toposort(&t, None), toposort(g, None)) {
        (Ok(order), Ok(_)) => {
            let pos: HashMap<NodeId, usize> =
                order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
            prop_assert_eq!(pos.len(), g.node_count());
            for e in g.edge_references() {
                prop_assert!(pos[&id(e.source())] < pos[&id(e.target())]);
            }
        }
        (Err(_), Err(_)) => {}
        (a, b) => prop_assert!(false, "toposort differs: {:?} {:?}", a.is_ok(), b.is_ok()),
    }

    for (&start, &s) in p.index.iter().take(3) {
        // Shortest paths by weight: Dijkstra and Bellman-Ford.
        let mine: BTreeMap<NodeId, u64> = dijkstra(&t, start, None, |e| *e.weight())
            .into_iter()
            .map(|(n, d)| (n, d.to_bits()))
            .collect();
        let theirs: BTreeMap<NodeId, u64> = dijkstra(g, s, None, |e| *e.weight())
            .into_iter()
            .map(|(n, d)| (id(n), d.to_bits()))
            .collect();
        prop_assert_eq!(&mine, &theirs);
        let own = match graph_algo::shortest_paths(
            &t,
            start,
            graph_storage::Direction::Outgoing,
            &mut graph_algo::no_progress,
        ) {
            Ok(d) => d,
            Err(e) => return Err(TestCaseError::fail(format!("shortest paths: {e}"))),
        };
        for n in t.nodes() {
            prop_assert_eq!(
                own.to(n).map(f64::to_bits),
                mine.get(&n).copied(),
                "{:?}",
                n
            );
        }
        match (bellman_ford(&t, start), bellman_ford(g, s)) {
            (Ok(a), Ok(b)) => {
                for n in t.nodes() {
                    let i = n.0 as usize;
                    let j = p.index[&n].index();
                    prop_assert_eq!(a.distances[i].to_bits(), b.distances[j].to_bits());
                }
            }
            (a, b) => prop_assert!(
                false,
                "bellman_ford differs: {:?} {:?}",
                a.is_ok(),
                b.is_ok()
            ),
        }
        // Traversals reach the same nodes.
        let bfs: BTreeSet<NodeId> = Bfs::new(&t, start).iter(&t).collect();
        let bfs_g: BTreeSet<NodeId> = Bfs::new(g, s).iter(g).map(id).collect();
        prop_assert_eq!(&bfs, &bfs_g);
        let dfs: BTreeSet<NodeId> = Dfs::new(&t, start).iter(&t).collect();
        prop_assert_eq!(&dfs, &bfs_g);
        for (&other, &o) in p.index.iter().take(4) {
            prop_assert_eq!(
                has_path_connecting(&t, start, other, None),
                has_path_connecting(g, s, o, None)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn petgraph_answers_alike_on_the_store_and_on_its_graph(
        nodes in 1usize..40,
        edges in proptest::collection::vec((0usize..40, 0usize..40, 0u8..9), 0..120),
        deleted in proptest::collection::vec(0usize..40, 0..4),
    ) {
        let p = build(nodes, &edges, &deleted);
        check(&p)?;
    }
}

/// A DAG: toposort succeeds on both and respects every edge.
#[test]
fn a_dag_sorts_topologically() {
    let edges: Vec<(usize, usize, u8)> = (0..30)
        .flat_map(|i| [(i, i + 1, 1), (i, i + 3, 2)])
        .collect();
    let p = build(40, &edges, &[]);
    if let Err(e) = check(&p) {
        panic!("{e}");
    }
    let t = match Topology::of(&p.store, None) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    assert!(toposort(&t, None).is_ok());
}
