//! What decoding a record costs next to what it allocates: a workload
//! node's record decoded into an owned `Node` (and dropped), and read in
//! place (`NodeView`: the record validated, one property read), against
//! cloning the same `Node` (the same allocations and frees, no parsing)
//! and copying the record's bytes (what a raw `get` hands back); and the
//! same for a workload edge's record, decoded into an owned `Edge`. The gap
//! between decoding and cloning is the decoder's own work. Run with
//! `cargo bench -p bench --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use bench::BoxResult;
use bench::workload::Workload;
use criterion::Criterion;
use graph_core::{Edge, EdgeId, Node, NodeId, Timestamp, codec};

fn main() -> BoxResult<()> {
    let w = Workload::new(1, 0, 42, 1.0)?;
    let s = w.node(0);
    let node = Node {
        id: NodeId(123_456),
        labels: vec![s.label().into()],
        properties: s.properties(),
        created_at: Timestamp(1_764_000_000_000_000),
        updated_at: Timestamp(1_764_000_000_000_000),
    };
    let mut bytes = Vec::new();
    codec::encode_node(&node, &mut bytes)?;
    let key = codec::node_key(node.id);

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut g = c.benchmark_group("node_record");
    g.bench_function("decode_node", |b| {
        b.iter(|| codec::decode_node(black_box(&key), black_box(&bytes)).map(black_box))
    });
    g.bench_function("node_view_read_name", |b| {
        b.iter(|| {
            codec::decode_node_view(black_box(&key), black_box(&bytes))
                .map(|v| black_box(v.property("name").is_some()))
        })
    });
    g.bench_function("clone_node", |b| {
        b.iter(|| black_box(black_box(&node).clone()))
    });
    g.bench_function("copy_bytes", |b| {
        b.iter(|| black_box(black_box(&bytes).to_vec()))
    });
    g.finish();

    let e = w.edge(0);
    let edge = Edge {
        id: EdgeId(7_654_321),
        src: NodeId(123_456),
        dst: NodeId(654_321),
        edge_type: e.edge_type().to_owned(),
        properties: e.properties(),
        created_at: Timestamp(1_764_000_000_000_000),
        updated_at: Timestamp(1_764_000_000_000_000),
    };
    let mut bytes = Vec::new();
    codec::encode_edge(&edge, &mut bytes)?;
    let key = codec::edge_key(edge.id);
    let mut g = c.benchmark_group("edge_record");
    g.bench_function("decode_edge", |b| {
        b.iter(|| codec::decode_edge(black_box(&key), black_box(&bytes)).map(black_box))
    });
    g.bench_function("clone_edge", |b| {
        b.iter(|| black_box(black_box(&edge).clone()))
    });
    g.bench_function("copy_bytes", |b| {
        b.iter(|| black_box(black_box(&bytes).to_vec()))
    });
    g.finish();
    c.final_summary();
    Ok(())
}
