//! Reads through the graph API, each beside the backend's raw read of the
//! very same keys in the same run: point lookups, batched lookups,
//! adjacency traversals (out, in, both, one type), typed edge lists,
//! degrees, 2-hop expansions, label scans and property-index lookups.
//!
//! Every measurement runs one untimed warm-up pass of both sides (which
//! must agree on how many items they found: a graph read that misses what
//! the raw read finds is an error, not a figure), then [`ROUNDS`] timed
//! rounds of both, graph first in one round and raw first in the next, and
//! records the median rate of each side and the median of the rounds'
//! graph / raw ratios. The raw side is what a hand-written reader of the same store
//! would do: the backend's `get`, `multi_get` and prefix or range scans,
//! reading ids straight out of the key bytes, building no values.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::{Bound, ControlFlow};
use std::time::{Duration, Instant};

use graph_core::codec::{self, AdjacencyDir, AdjacencyKey, IndexId, SymbolId, meta};
use graph_core::{
    ColumnFamily, EdgeId, KeyRange, NodeId, PropertyValue, ReadView, ScanDirection, StorageBackend,
};
use graph_storage::{Direction, GraphStore, NodeView, ValueView};
use rand::Rng;

use crate::BoxResult;
use crate::workload::{EDGE_TYPES, ItemRng, LABELS};

/// Named figures of one run.
pub type Metrics = BTreeMap<String, f64>;

/// Timed rounds per measurement (after one warm-up pass).
pub const ROUNDS: usize = 5;

/// The label and property of the index the reads create for
/// `find_nodes`.
pub const INDEXED: (&str, &str) = (LABELS[0], "age");

/// One measured read: its metric name (`<name>` is the graph API's rate,
/// `<name>_raw` the raw read's), what is counted, and what the two sides
/// do.
pub struct ReadKind {
    /// Metric name.
    pub name: &'static str,
    /// What the rates count.
    pub unit: &'static str,
    /// The graph call and its raw counterpart.
    pub what: &'static str,
}

/// Every read measured, in print order.
pub const READS: &[ReadKind] = &[
    ReadKind {
        name: "get_node",
        unit: "lookups/s",
        what: "get_node vs get",
    },
    ReadKind {
        name: "get_nodes_100",
        unit: "lookups/s",
        what: "get_nodes of 100 vs multi_get",
    },
    ReadKind {
        name: "with_node",
        unit: "lookups/s",
        what: "with_node (read name) vs get",
    },
    ReadKind {
        name: "with_nodes_100",
        unit: "lookups/s",
        what: "with_nodes of 100 vs multi_get",
    },
    ReadKind {
        name: "get_edge",
        unit: "lookups/s",
        what: "get_edge vs get",
    },
    ReadKind {
        name: "neighbors_out",
        unit: "edges/s",
        what: "neighbors out vs prefix scan",
    },
    ReadKind {
        name: "neighbors_in",
        unit: "edges/s",
        what: "neighbors in vs prefix scan",
    },
    ReadKind {
        name: "neighbors_both",
        unit: "edges/s",
        what: "neighbors both vs two scans",
    },
    ReadKind {
        name: "neighbors_out_typed",
        unit: "edges/s",
        what: "neighbors out, one type vs scan",
    },
    ReadKind {
        name: "edges_both",
        unit: "edges/s",
        what: "edges (EdgeRef) both vs scans",
    },
    ReadKind {
        name: "iter_edges_out",
        unit: "edges/s",
        what: "iter_edges_of out vs scan",
    },
    ReadKind {
        name: "degree_both",
        unit: "edges/s",
        what: "degree both vs counting scans",
    },
    ReadKind {
        name: "expand_2hop",
        unit: "edges/s",
        what: "2-hop out expansion vs scans",
    },
    ReadKind {
        name: "nodes_with_label",
        unit: "nodes/s",
        what: "nodes_with_label vs prefix scan",
    },
    ReadKind {
        name: "find_nodes_eq",
        unit: "nodes/s",
        what: "find_nodes (age = v) vs scan",
    },
    ReadKind {
        name: "find_nodes_range",
        unit: "nodes/s",
        what: "find_nodes_in_range vs scan",
    },
];

/// The reads measured again with a small block cache (see
/// [`measure`]'s `uncached`).
pub const UNCACHED_READS: &[&str] = &[
    "get_node",
    "get_nodes_100",
    "with_node",
    "with_nodes_100",
    "neighbors_out",
    "expand_2hop",
];

/// What to read: the ids that exist, how many point lookups to make and
/// the seed of the random choices.
pub struct ReadInputs<'a> {
    /// Every node id of the store.
    pub nodes: &'a [NodeId],
    /// Every edge id of the store.
    pub edges: &'a [EdgeId],
    /// Point lookups per pass; traversals start from a tenth as many
    /// nodes, 2-hop expansions from a hundredth.
    pub lookups: u64,
    /// Seed of the random samples.
    pub seed: u64,
}

/// Times `graph` and `raw` (each returns how many items it read) over
/// [`ROUNDS`] rounds after a warm-up pass of each, and records their
/// median rates as `name` and `name_raw`, and as `name_ratio` the median
/// of the rounds' own ratios (graph rate / raw rate within one round).
///
/// The two sides run back to back and swap order every round, so neither
/// always runs first (on a warmer cache, or a quieter machine); the paired
/// ratio cancels a drift of the machine's speed that lasts longer than a
/// round, which the ratio of two medians taken from different rounds does
/// not.
fn compare(
    m: &mut Metrics,
    name: &str,
    mut graph: impl FnMut() -> BoxResult<u64>,
    mut raw: impl FnMut() -> BoxResult<u64>,
) -> BoxResult<()> {
    let (g, r) = (graph()?, raw()?);
    if g != r {
        return Err(format!("{name}: the graph read found {g} items, the raw read {r}").into());
    }
    let time = |f: &mut dyn FnMut() -> BoxResult<u64>| -> BoxResult<Duration> {
        let t = Instant::now();
        black_box(f()?);
        Ok(t.elapsed().max(Duration::from_nanos(1)))
    };
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (tg, tr) = if round % 2 == 0 {
            let tg = time(&mut graph)?;
            (tg, time(&mut raw)?)
        } else {
            let tr = time(&mut raw)?;
            (time(&mut graph)?, tr)
        };
        times[0].push(tg);
        times[1].push(tr);
        // Same items on both sides: the rate ratio is the inverse time ratio.
        ratios.push(tr.as_secs_f64() / tg.as_secs_f64());
    }
    for (key, mut ts) in [
        (name.to_owned(), times[0].clone()),
        (format!("{name}_raw"), times[1].clone()),
    ] {
        ts.sort_unstable();
        let median = ts[ts.len() / 2].as_secs_f64();
        m.insert(key, g as f64 / median);
    }
    ratios.sort_unstable_by(f64::total_cmp);
    m.insert(format!("{name}_ratio"), ratios[ratios.len() / 2]);
    m.insert(format!("{name}_items"), g as f64);
    Ok(())
}

fn count_scan<V: ReadView>(view: &V, prefix: &[u8]) -> BoxResult<u64> {
    let mut n = 0u64;
    view.scan_prefix(
        ColumnFamily::Indices,
        prefix,
        ScanDirection::Forward,
        &mut |_, _| {
            n += 1;
            Ok(ControlFlow::Continue(()))
        },
    )?;
    Ok(n)
}

/// The node at the far end of an adjacency key, read straight from its
/// bytes (tag, node, type, other, edge: the other node at 13..21).
fn raw_other(key: &[u8]) -> Option<u64> {
    key.get(13..21)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

/// Visits the other ends of `node`'s outgoing adjacency keys.
fn raw_out<V: ReadView>(view: &V, node: u64, mut f: impl FnMut(u64)) -> BoxResult<()> {
    view.scan_prefix(
        ColumnFamily::Indices,
        &AdjacencyKey::node_prefix(AdjacencyDir::Out, NodeId(node)),
        ScanDirection::Forward,
        &mut |k, _| {
            if let Some(o) = raw_other(k) {
                f(o);
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    Ok(())
}

/// A symbol's id as the raw reader finds it: the dictionary entry.
fn raw_symbol<V: ReadView>(view: &V, name: &str) -> BoxResult<SymbolId> {
    let key = meta::symbol_by_name(name);
    let v = view
        .get(ColumnFamily::Default, &key)?
        .ok_or_else(|| format!("symbol {name:?} is not in the dictionary"))?;
    Ok(SymbolId(codec::decode_u32_value(
        ColumnFamily::Default,
        &key,
        &v,
    )?))
}

/// The id of the store's one property index.
fn raw_index<V: ReadView>(view: &V) -> BoxResult<IndexId> {
    let mut found = None;
    view.scan_prefix(
        ColumnFamily::Default,
        &[meta::TAG_INDEX],
        ScanDirection::Forward,
        &mut |k, _| {
            found = Some(meta::decode_index_def_key(k)?);
            Ok(ControlFlow::Break(()))
        },
    )?;
    found.ok_or_else(|| "no property index".into())
}

fn sample<T: Copy>(from: &[T], n: u64, seed: u64, stream: u64) -> Vec<T> {
    if from.is_empty() {
        return Vec::new();
    }
    let mut rng = ItemRng::new(seed, stream, 0);
    (0..n).map(|_| from[rng.gen_range(0..from.len())]).collect()
}

/// Creates the index [`INDEXED`] (timed, as `index_build_secs`) so that
/// [`measure`] can time `find_nodes`.
///
/// # Errors
/// The store's errors.
pub fn create_index<B: StorageBackend>(store: &GraphStore<B>, m: &mut Metrics) -> BoxResult<()> {
    let t = Instant::now();
    store.create_index(INDEXED.0, INDEXED.1)?;
    m.insert("index_build_secs".into(), t.elapsed().as_secs_f64());
    Ok(())
}

/// Measures the reads of [`READS`] (all of them, or with `uncached` only
/// [`UNCACHED_READS`], their names suffixed `_uncached`). `find_nodes`
/// needs the index of [`create_index`].
///
/// # Errors
/// The store's errors, or a graph read that disagrees with the raw read.
pub fn measure<B: StorageBackend>(
    store: &GraphStore<B>,
    input: &ReadInputs<'_>,
    uncached: bool,
    m: &mut Metrics,
) -> BoxResult<()> {
    if input.nodes.is_empty() || input.lookups == 0 {
        return Ok(());
    }
    let suffix = if uncached { "_uncached" } else { "" };
    let stream = if uncached { 0x7563 } else { 0 };
    let name = |n: &str| format!("{n}{suffix}");
    let view = store.backend();
    let seed = input.seed;
    let lookups = sample(input.nodes, input.lookups, seed, 0x6c6f_6f6b ^ stream);
    let starts = &lookups[..(input.lookups / 10).max(1) as usize];
    let starts2 = &lookups[..(input.lookups / 100).max(1) as usize];
    let out = |id: NodeId| AdjacencyKey::node_prefix(AdjacencyDir::Out, id);
    let inc = |id: NodeId| AdjacencyKey::node_prefix(AdjacencyDir::In, id);
    let found = |v: Option<Vec<u8>>| u64::from(black_box(v).is_some());
    let len = |v: Vec<NodeId>| black_box(v).len() as u64;
    let node_keys = |chunk: &[NodeId]| -> Vec<[u8; 8]> {
        chunk.iter().map(|id| codec::node_key(*id)).collect()
    };

    compare(
        m,
        &name("get_node"),
        || {
            sum(&lookups, |id| {
                Ok(u64::from(black_box(store.get_node(id)?).is_some()))
            })
        },
        || {
            sum(&lookups, |id| {
                Ok(found(view.get(ColumnFamily::Nodes, &codec::node_key(id))?))
            })
        },
    )?;
    compare(
        m,
        &name("get_nodes_100"),
        || {
            sum_chunks(&lookups, |chunk| {
                Ok(black_box(store.get_nodes(chunk)?).iter().flatten().count() as u64)
            })
        },
        || {
            sum_chunks(&lookups, |chunk| {
                let keys = node_keys(chunk);
                let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                let values = view.multi_get(ColumnFamily::Nodes, &refs)?;
                Ok(black_box(values).iter().flatten().count() as u64)
            })
        },
    )?;
    // In place: the graph side reads one property, as a filter would.
    let has_name = |v: NodeView<'_>| matches!(v.property("name"), Some(ValueView::String(_)));
    compare(
        m,
        &name("with_node"),
        || {
            sum(&lookups, |id| {
                Ok(u64::from(
                    black_box(store.with_node(id, has_name)?) == Some(true),
                ))
            })
        },
        || {
            sum(&lookups, |id| {
                Ok(found(view.get(ColumnFamily::Nodes, &codec::node_key(id))?))
            })
        },
    )?;
    compare(
        m,
        &name("with_nodes_100"),
        || {
            sum_chunks(&lookups, |chunk| {
                let mut n = 0;
                store.with_nodes(chunk, |_, v| n += u64::from(v.is_some_and(has_name)))?;
                Ok(black_box(n))
            })
        },
        || {
            sum_chunks(&lookups, |chunk| {
                let keys = node_keys(chunk);
                let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                let values = view.multi_get(ColumnFamily::Nodes, &refs)?;
                Ok(black_box(values).iter().flatten().count() as u64)
            })
        },
    )?;
    compare(
        m,
        &name("neighbors_out"),
        || {
            sum(starts, |id| {
                Ok(len(store.neighbors(id, Direction::Outgoing, None)?))
            })
        },
        || sum(starts, |id| count_scan(view, &out(id))),
    )?;
    compare(
        m,
        &name("expand_2hop"),
        || {
            sum(starts2, |id| {
                let first = store.neighbors(id, Direction::Outgoing, None)?;
                let n = first.len() as u64;
                Ok(n + sum(&first, |v| {
                    Ok(len(store.neighbors(v, Direction::Outgoing, None)?))
                })?)
            })
        },
        || {
            let mut first = Vec::new();
            sum(starts2, |id| {
                first.clear();
                raw_out(view, id.0, |o| first.push(o))?;
                let mut n = first.len() as u64;
                for v in &first {
                    raw_out(view, *v, |o| {
                        black_box(o);
                        n += 1;
                    })?;
                }
                Ok(n)
            })
        },
    )?;
    if uncached {
        return Ok(());
    }

    let edges = sample(input.edges, input.lookups, seed, 0x6564_6765);
    compare(
        m,
        "get_edge",
        || {
            sum(&edges, |id| {
                Ok(u64::from(black_box(store.get_edge(id)?).is_some()))
            })
        },
        || {
            sum(&edges, |id| {
                Ok(found(view.get(ColumnFamily::Edges, &codec::edge_key(id))?))
            })
        },
    )?;
    compare(
        m,
        "neighbors_in",
        || {
            sum(starts, |id| {
                Ok(len(store.neighbors(id, Direction::Incoming, None)?))
            })
        },
        || sum(starts, |id| count_scan(view, &inc(id))),
    )?;
    let both = |id: NodeId| Ok(count_scan(view, &out(id))? + count_scan(view, &inc(id))?);
    compare(
        m,
        "neighbors_both",
        || {
            sum(starts, |id| {
                Ok(len(store.neighbors(id, Direction::Both, None)?))
            })
        },
        || sum(starts, both),
    )?;
    let ty = EDGE_TYPES[0];
    let ty_id = raw_symbol(view, ty)?;
    compare(
        m,
        "neighbors_out_typed",
        || {
            sum(starts, |id| {
                Ok(len(store.neighbors(id, Direction::Outgoing, Some(ty))?))
            })
        },
        || {
            sum(starts, |id| {
                count_scan(
                    view,
                    &AdjacencyKey::type_prefix(AdjacencyDir::Out, id, ty_id),
                )
            })
        },
    )?;
    compare(
        m,
        "edges_both",
        || {
            sum(starts, |id| {
                Ok(black_box(store.edges(id, Direction::Both, None)?).len() as u64)
            })
        },
        || sum(starts, both),
    )?;
    compare(
        m,
        "iter_edges_out",
        || {
            let reader = store.reader();
            sum(starts, |id| {
                let mut n = 0;
                for e in reader.iter_edges_of(id, Direction::Outgoing, None)? {
                    black_box(e?);
                    n += 1;
                }
                Ok(n)
            })
        },
        || sum(starts, |id| count_scan(view, &out(id))),
    )?;
    compare(
        m,
        "degree_both",
        || {
            sum(starts, |id| {
                Ok(black_box(store.degree(id, Direction::Both, None)?))
            })
        },
        || {
            sum(starts, |id| {
                Ok(view.count_prefix(ColumnFamily::Indices, &out(id))?
                    + view.count_prefix(ColumnFamily::Indices, &inc(id))?)
            })
        },
    )?;
    let label_ids = LABELS
        .iter()
        .map(|l| raw_symbol(view, l))
        .collect::<BoxResult<Vec<_>>>()?;
    compare(
        m,
        "nodes_with_label",
        || sum(&LABELS, |l| Ok(len(store.nodes_with_label(l)?))),
        || sum(&label_ids, |l| count_scan(view, &codec::label_prefix(l))),
    )?;

    let index = raw_index(view)?;
    let ages: Vec<i64> = (18..=90).collect();
    let ranges: Vec<i64> = ages.iter().copied().step_by(5).collect();
    let value_prefix = |v: i64| {
        let mut p = Vec::with_capacity(16);
        codec::property_value_prefix(index, &PropertyValue::Int(v), &mut p);
        p
    };
    let (label, property) = INDEXED;
    compare(
        m,
        "find_nodes_eq",
        || {
            sum(&ages, |a| {
                Ok(len(store.find_nodes(
                    label,
                    property,
                    &PropertyValue::Int(a),
                )?))
            })
        },
        || sum(&ages, |a| count_scan(view, &value_prefix(a))),
    )?;
    compare(
        m,
        "find_nodes_range",
        || {
            sum(&ranges, |a| {
                let (lo, hi) = (PropertyValue::Int(a), PropertyValue::Int(a + 5));
                let found = store.find_nodes_in_range(
                    label,
                    property,
                    Bound::Included(&lo),
                    Bound::Excluded(&hi),
                )?;
                Ok(len(found))
            })
        },
        || {
            sum(&ranges, |a| {
                let (start, end) = (value_prefix(a), value_prefix(a + 5));
                let mut n = 0;
                view.scan(
                    ColumnFamily::Indices,
                    KeyRange {
                        start: &start,
                        end: Some(&end),
                    },
                    ScanDirection::Forward,
                    &mut |_, _| {
                        n += 1;
                        Ok(ControlFlow::Continue(()))
                    },
                )?;
                Ok(n)
            })
        },
    )?;
    Ok(())
}

/// The sum of `f` over `items`.
fn sum<T: Copy>(items: &[T], mut f: impl FnMut(T) -> BoxResult<u64>) -> BoxResult<u64> {
    let mut n = 0;
    for item in items {
        n += f(*item)?;
    }
    Ok(n)
}

/// The sum of `f` over `items` in chunks of 100 (batched lookups).
fn sum_chunks<T>(items: &[T], mut f: impl FnMut(&[T]) -> BoxResult<u64>) -> BoxResult<u64> {
    let mut n = 0;
    for chunk in items.chunks(100) {
        n += f(chunk)?;
    }
    Ok(n)
}
