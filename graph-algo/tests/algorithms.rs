//! graph-algo's algorithms against plain reference implementations over
//! generated graphs (parallel edges, self-loops, deleted nodes, dangling
//! nodes), and against known answers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use graph_algo::{
    PageRankOptions, Topology, bfs, no_progress, pagerank, triangles, weakly_connected_components,
};
use graph_storage::{Direction, GraphStore, MemoryBackend, NodeId, Properties, PropertyValue};
use proptest::prelude::*;

/// A stored graph and its live nodes and (source, target, weight) edges.
type Built = (
    GraphStore<MemoryBackend>,
    Vec<NodeId>,
    Vec<(NodeId, NodeId, f64)>,
);

/// A store holding `edges` over `nodes` nodes (some then deleted), and the
/// live graph as plain lists: node ids, and (source, target, weight).
fn build(nodes: usize, edges: &[(usize, usize, u8)], deleted: &[usize]) -> Built {
    let store = GraphStore::open(MemoryBackend::new()).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<NodeId> = (0..nodes)
        .map(|_| {
            store
                .create_node(&["N"], Properties::new())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut list = Vec::new();
    for &(a, b, w) in edges {
        let (a, b) = (ids[a % nodes], ids[b % nodes]);
        let props = Properties::from([("w", PropertyValue::Float(f64::from(w) + 0.5))]);
        store
            .create_edge(a, b, "E", props)
            .unwrap_or_else(|e| panic!("{e}"));
        list.push((a, b, f64::from(w) + 0.5));
    }
    let gone: BTreeSet<NodeId> = deleted.iter().map(|d| ids[d % nodes]).collect();
    for &d in &gone {
        store
            .detach_delete_node(d)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let live: Vec<NodeId> = ids.into_iter().filter(|i| !gone.contains(i)).collect();
    list.retain(|(a, b, _)| !gone.contains(a) && !gone.contains(b));
    (store, live, list)
}

/// PageRank by the textbook power iteration over the edge list.
fn reference_pagerank(
    nodes: &[NodeId],
    edges: &[(NodeId, NodeId, f64)],
    d: f64,
    weighted: bool,
) -> BTreeMap<NodeId, f64> {
    let n = nodes.len() as f64;
    let mut x: BTreeMap<NodeId, f64> = nodes.iter().map(|&v| (v, 1.0 / n)).collect();
    let mut out: BTreeMap<NodeId, f64> = nodes.iter().map(|&v| (v, 0.0)).collect();
    for &(a, _, w) in edges {
        *out.entry(a).or_default() += if weighted { w } else { 1.0 };
    }
    for _ in 0..2_000 {
        let dangling: f64 = nodes.iter().filter(|v| out[v] == 0.0).map(|v| x[v]).sum();
        let mut next: BTreeMap<NodeId, f64> = nodes
            .iter()
            .map(|&v| (v, (1.0 - d) / n + d * dangling / n))
            .collect();
        for &(a, b, w) in edges {
            let part = if weighted { w } else { 1.0 } / out[&a];
            *next.entry(b).or_default() += d * x[&a] * part;
        }
        x = next;
    }
    x
}

fn bfs_reference(
    edges: &[(NodeId, NodeId, f64)],
    source: NodeId,
    max: Option<u32>,
) -> BTreeMap<NodeId, u32> {
    let mut dist = BTreeMap::from([(source, 0u32)]);
    let mut queue = VecDeque::from([source]);
    while let Some(v) = queue.pop_front() {
        let dv = dist[&v];
        if max.is_some_and(|m| dv >= m) {
            continue;
        }
        for &(a, b, _) in edges {
            if a == v && !dist.contains_key(&b) {
                dist.insert(b, dv + 1);
                queue.push_back(b);
            }
        }
    }
    dist
}

fn triangles_reference(
    nodes: &[NodeId],
    edges: &[(NodeId, NodeId, f64)],
) -> (u64, BTreeMap<NodeId, u64>) {
    let mut adj: BTreeMap<NodeId, BTreeSet<NodeId>> =
        nodes.iter().map(|&v| (v, BTreeSet::new())).collect();
    for &(a, b, _) in edges {
        if a != b {
            adj.entry(a).or_default().insert(b);
            adj.entry(b).or_default().insert(a);
        }
    }
    let mut per: BTreeMap<NodeId, u64> = nodes.iter().map(|&v| (v, 0)).collect();
    let mut total = 0;
    for (i, &a) in nodes.iter().enumerate() {
        for (j, &b) in nodes.iter().enumerate().skip(i + 1) {
            if !adj[&a].contains(&b) {
                continue;
            }
            for &c in nodes.iter().skip(j + 1) {
                if adj[&a].contains(&c) && adj[&b].contains(&c) {
                    total += 1;
                    for v in [a, b, c] {
                        *per.entry(v).or_default() += 1;
                    }
                }
            }
        }
    }
    (total, per)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn algorithms_match_references(
        nodes in 1usize..30,
        edges in proptest::collection::vec((0usize..30, 0usize..30, 0u8..5), 0..90),
        deleted in proptest::collection::vec(0usize..30, 0..3),
        weighted in any::<bool>(),
    ) {
        let (store, live, list) = build(nodes, &edges, &deleted);
        let t = Topology::of(&store, weighted.then_some("w")).unwrap_or_else(|e| panic!("{e}"));
        let opts = PageRankOptions::default();
        let pr = pagerank(&t, &opts, &mut no_progress).unwrap_or_else(|e| panic!("{e}"));
        prop_assert!(pr.converged);
        let want = reference_pagerank(&live, &list, opts.damping, weighted);
        for (&v, &r) in &want {
            prop_assert!((pr.rank(v) - r).abs() < 1e-9, "{:?}: {} against {}", v, pr.rank(v), r);
        }
        // Undirected: every edge both ways.
        let both_ways: Vec<_> = list.iter().flat_map(|&(a, b, w)| [(a, b, w), (b, a, w)]).collect();
        let undirected = opts.undirected(true);
        let pr = pagerank(&t, &undirected, &mut no_progress).unwrap_or_else(|e| panic!("{e}"));
        let want = reference_pagerank(&live, &both_ways, opts.damping, weighted);
        for (&v, &r) in &want {
            prop_assert!((pr.rank(v) - r).abs() < 1e-9, "undirected {:?}: {} against {}", v, pr.rank(v), r);
        }

        let wcc = weakly_connected_components(&t, &mut no_progress);
        // Two nodes share a component exactly when an undirected path joins them.
        for &a in live.iter().take(5) {
            let mut undirected = list.clone();
            undirected.extend(list.iter().map(|&(x, y, w)| (y, x, w)));
            let reach = bfs_reference(&undirected, a, None);
            for &b in &live {
                prop_assert_eq!(wcc.of(a) == wcc.of(b), reach.contains_key(&b));
            }
        }
        prop_assert!(wcc.of(a_missing()).is_none());

        for &s in live.iter().take(3) {
            for max in [None, Some(1), Some(2)] {
                let got = bfs(&t, s, Direction::Outgoing, max, &mut no_progress).unwrap_or_else(|e| panic!("{e}"));
                let want = bfs_reference(&list, s, max);
                prop_assert_eq!(got.reached, want.len() - 1);
                for &v in &live {
                    prop_assert_eq!(got.to(v), want.get(&v).map(|d| f64::from(*d)));
                }
                if let Some(far) = want.iter().max_by_key(|(_, d)| **d).map(|(v, _)| *v) {
                    let path = got.path(far).unwrap_or_default();
                    prop_assert_eq!(path.first(), Some(&s));
                    prop_assert_eq!(path.len() as u32, want[&far] + 1);
                }
            }
        }

        let tri = triangles(&t, &mut no_progress);
        let (total, per) = triangles_reference(&live, &list);
        prop_assert_eq!(tri.total, total);
        for (&v, &c) in &per {
            prop_assert_eq!(tri.per_node[v.0 as usize], c);
        }
    }
}

fn a_missing() -> NodeId {
    NodeId(1 << 40)
}

/// Known answers: a directed 3-cycle ranks every node 1/3; a star's hub
/// gets everything the leaves give; a triangle with a tail has one
/// triangle and transitivity 3/5.
#[test]
fn known_answers() -> Result<(), Box<dyn std::error::Error>> {
    let (store, ids, _) = build(3, &[(0, 1, 1), (1, 2, 1), (2, 0, 1)], &[]);
    let t = Topology::of(&store, None)?;
    let pr = pagerank(&t, &PageRankOptions::default(), &mut no_progress)?;
    for id in &ids {
        assert!((pr.rank(*id) - 1.0 / 3.0).abs() < 1e-12);
    }

    let (store, ids, _) = build(4, &[(0, 1, 1), (1, 2, 1), (2, 0, 1), (2, 3, 1)], &[]);
    let t = Topology::of(&store, None)?;
    let tri = triangles(&t, &mut no_progress);
    assert_eq!(tri.total, 1);
    // Degrees 2, 2, 3, 1: triples 1 + 1 + 3 = 5.
    assert!((tri.transitivity - 3.0 / 5.0).abs() < 1e-12);
    assert!((tri.clustering(ids[2]) - 1.0 / 3.0).abs() < 1e-12);
    assert!((tri.average_clustering - (1.0 + 1.0 + 1.0 / 3.0) / 4.0).abs() < 1e-12);

    // Errors: an unknown start, a bad damping factor, a negative weight.
    assert!(matches!(
        bfs(&t, NodeId(999), Direction::Outgoing, None, &mut no_progress),
        Err(graph_algo::AlgoError::UnknownNode(_))
    ));
    assert!(matches!(
        pagerank(
            &t,
            &PageRankOptions::default().damping(1.5),
            &mut no_progress
        ),
        Err(graph_algo::AlgoError::InvalidArgument(_))
    ));
    let (store, ids, _) = build(2, &[(0, 1, 1)], &[]);
    store.set_edge_property(graph_storage::EdgeId(0), "w", PropertyValue::Float(-1.0))?;
    let t = Topology::of(&store, Some("w"))?;
    assert!(matches!(
        graph_algo::shortest_paths(&t, ids[0], Direction::Outgoing, &mut no_progress),
        Err(graph_algo::AlgoError::BadWeight { .. })
    ));
    store.set_edge_property(graph_storage::EdgeId(0), "w", PropertyValue::from("heavy"))?;
    assert!(matches!(
        Topology::of(&store, Some("w")),
        Err(graph_algo::AlgoError::NotANumber { .. })
    ));
    Ok(())
}
