//! The conformance suite of the raw [`StorageBackend`] contract, written
//! once; [`raw_conformance!`](crate::raw_conformance) instantiates it for a
//! backend. Each case states a contract of the trait's documentation.

use std::ops::ControlFlow;

use graph_core::{
    ColumnFamily as Cf, Durability, Error, KeyRange, ReadView, ScanDirection, StorageBackend,
    WriteBatch,
};

use crate::raw_model::{BatchItem, RawOp, ScanSpec, check_raw};
use crate::{Harness, Must};

const S: Durability = Durability::Strict;

fn keys(view: &impl ReadView, cf: Cf, range: KeyRange<'_>, dir: ScanDirection) -> Vec<Vec<u8>> {
    view.collect_range(cf, range, dir, None)
        .must("scan")
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// Keys order lexicographically by unsigned bytes, shorter prefixes first.
pub fn byte_order<H: Harness>(h: &mut H) {
    let b = h.create();
    let sorted: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x00, 0xFF],
        vec![0x01],
        vec![0x7F, 0xFF],
        vec![0x80],
        vec![0xFF],
        vec![0xFF, 0x00],
        vec![0xFF, 0xFF, 0xFF],
    ];
    for k in sorted.iter().rev() {
        b.put(Cf::Nodes, k, b"v", S).must("put");
    }
    assert_eq!(
        keys(&b, Cf::Nodes, KeyRange::all(), ScanDirection::Forward),
        sorted
    );
    let mut rev = sorted.clone();
    rev.reverse();
    assert_eq!(
        keys(&b, Cf::Nodes, KeyRange::all(), ScanDirection::Reverse),
        rev
    );
}

/// Put replaces, delete of a missing key succeeds, get of a missing key is
/// `None`, empty keys and values are allowed.
pub fn put_get_delete<H: Harness>(h: &mut H) {
    check_raw(
        h,
        &[
            RawOp::Get(Cf::Nodes, b"a".to_vec()),
            RawOp::Put(Cf::Nodes, b"a".to_vec(), b"1".to_vec()),
            RawOp::Put(Cf::Nodes, b"a".to_vec(), b"2".to_vec()),
            RawOp::Get(Cf::Nodes, b"a".to_vec()),
            RawOp::Delete(Cf::Nodes, b"missing".to_vec()),
            RawOp::Put(Cf::Nodes, vec![], vec![]),
            RawOp::Get(Cf::Nodes, vec![]),
            RawOp::Delete(Cf::Nodes, b"a".to_vec()),
            RawOp::Get(Cf::Nodes, b"a".to_vec()),
            RawOp::MultiGet(Cf::Nodes, vec![vec![], b"a".to_vec(), vec![]]),
        ],
    );
}

/// Column families are separate key spaces.
pub fn families_are_isolated<H: Harness>(h: &mut H) {
    let b = h.create();
    for (i, cf) in Cf::ALL.iter().enumerate() {
        b.put(*cf, b"k", &[i as u8], S).must("put");
    }
    for (i, cf) in Cf::ALL.iter().enumerate() {
        assert_eq!(b.get(*cf, b"k").must("get"), Some(vec![i as u8]), "{cf}");
    }
    b.delete(Cf::Edges, b"k", S).must("delete");
    assert_eq!(b.get(Cf::Edges, b"k").must("get"), None);
    assert_eq!(b.get(Cf::Indices, b"k").must("get"), Some(vec![3]));
}

/// A batch applies in order across families: later operations on the same
/// key win; delete-range with `end <= start` deletes nothing.
pub fn batch_order_and_ranges<H: Harness>(h: &mut H) {
    use BatchItem as I;
    check_raw(
        h,
        &[
            RawOp::Batch(vec![
                I::Put(Cf::Nodes, b"a".to_vec(), b"1".to_vec()),
                I::Delete(Cf::Nodes, b"a".to_vec()),
                I::Delete(Cf::Edges, b"b".to_vec()),
                I::Put(Cf::Edges, b"b".to_vec(), b"2".to_vec()),
                I::Put(Cf::Indices, b"c1".to_vec(), vec![]),
                I::Put(Cf::Indices, b"c2".to_vec(), vec![]),
                I::Put(Cf::Indices, b"c3".to_vec(), vec![]),
                I::DeleteRange(Cf::Indices, b"c3".to_vec(), b"c1".to_vec()),
                I::DeleteRange(Cf::Indices, b"c2".to_vec(), b"c2".to_vec()),
            ]),
            RawOp::Get(Cf::Nodes, b"a".to_vec()),
            RawOp::Get(Cf::Edges, b"b".to_vec()),
            RawOp::Scan(ScanSpec {
                cf: Cf::Indices,
                start: vec![],
                end: None,
                reverse: false,
                limit: None,
            }),
            RawOp::DeleteRange(Cf::Indices, b"c1".to_vec(), b"c3".to_vec()),
            RawOp::Scan(ScanSpec {
                cf: Cf::Indices,
                start: vec![],
                end: None,
                reverse: true,
                limit: None,
            }),
            RawOp::Batch(vec![]),
        ],
    );
}

/// Scans stay inside their range in both directions; empty and inverted
/// ranges visit nothing; prefix scans cover exactly the prefix, including
/// the empty and the all-`0xFF` prefix.
pub fn scans_respect_bounds<H: Harness>(h: &mut H) {
    let mut ops: Vec<RawOp> = [
        &b""[..],
        b"a",
        b"ab",
        b"abc",
        b"ac",
        b"b",
        b"\xff",
        b"\xff\xff",
        b"\xff\xff\x00",
    ]
    .iter()
    .map(|k| RawOp::Put(Cf::Indices, k.to_vec(), k.to_vec()))
    .collect();
    let ranges: &[(&[u8], Option<&[u8]>)] = &[
        (b"a", Some(b"b")),
        (b"ab", Some(b"ac")),
        (b"b", Some(b"a")),
        (b"ab", Some(b"ab")),
        (b"", None),
        (b"\xff", None),
        (b"zz", None),
    ];
    for (start, end) in ranges {
        for reverse in [false, true] {
            for limit in [None, Some(1)] {
                ops.push(RawOp::Scan(ScanSpec {
                    cf: Cf::Indices,
                    start: start.to_vec(),
                    end: end.map(<[u8]>::to_vec),
                    reverse,
                    limit,
                }));
            }
        }
    }
    for prefix in [&b""[..], b"a", b"ab", b"\xff", b"\xff\xff", b"q"] {
        for reverse in [false, true] {
            ops.push(RawOp::ScanPrefix {
                cf: Cf::Indices,
                prefix: prefix.to_vec(),
                reverse,
                limit: None,
            });
        }
    }
    check_raw(h, &ops);
}

/// Scans of keys shaped like the `indices` layout (which the RocksDB
/// backend serves with prefix bloom filters) return exactly what a
/// total-order scan would, also across prefixes.
pub fn index_shaped_prefix_scans<H: Harness>(h: &mut H) {
    let mut ops = Vec::new();
    for node in [1u64, 2, 3, 256] {
        for tag in [1u8, 2] {
            for other in [0u64, 9] {
                let mut k = vec![tag];
                k.extend_from_slice(&node.to_be_bytes());
                k.extend_from_slice(&7u32.to_be_bytes());
                k.extend_from_slice(&other.to_be_bytes());
                ops.push(RawOp::Put(Cf::Indices, k, vec![]));
            }
        }
    }
    ops.push(RawOp::Flush);
    for node in [0u64, 1, 2, 3, 4, 255, 256] {
        let mut p = vec![1u8];
        p.extend_from_slice(&node.to_be_bytes());
        for reverse in [false, true] {
            ops.push(RawOp::ScanPrefix {
                cf: Cf::Indices,
                prefix: p.clone(),
                reverse,
                limit: None,
            });
            ops.push(RawOp::ScanPrefix {
                cf: Cf::Indices,
                prefix: p[..5].to_vec(),
                reverse,
                limit: None,
            });
        }
        let mut end = vec![2u8];
        end.extend_from_slice(&node.to_be_bytes());
        ops.push(RawOp::Scan(ScanSpec {
            cf: Cf::Indices,
            start: p,
            end: Some(end),
            reverse: false,
            limit: None,
        }));
    }
    check_raw(h, &ops);
}

/// A snapshot sees everything written before it and nothing after: puts,
/// deletes and range deletes alike.
pub fn snapshots_are_frozen<H: Harness>(h: &mut H) {
    let b = h.create();
    b.put(Cf::Nodes, b"a", b"1", S).must("put");
    b.put(Cf::Edges, b"x", b"1", S).must("put");
    let snap = b.snapshot();
    let mut wb = WriteBatch::new();
    wb.put(Cf::Nodes, b"a", b"2");
    wb.put(Cf::Nodes, b"b", b"2");
    wb.delete(Cf::Edges, b"x");
    wb.delete_range(Cf::Nodes, b"a", b"a\0");
    b.write(&wb, S).must("write");
    assert_eq!(snap.get(Cf::Nodes, b"a").must("get"), Some(b"1".to_vec()));
    assert_eq!(snap.get(Cf::Nodes, b"b").must("get"), None);
    assert_eq!(snap.get(Cf::Edges, b"x").must("get"), Some(b"1".to_vec()));
    assert_eq!(
        keys(&snap, Cf::Nodes, KeyRange::all(), ScanDirection::Forward),
        vec![b"a".to_vec()]
    );
    assert_eq!(b.get(Cf::Nodes, b"a").must("get"), None);
    assert_eq!(
        keys(&b, Cf::Nodes, KeyRange::all(), ScanDirection::Reverse),
        vec![b"b".to_vec()]
    );
}

/// A visitor's break stops the scan; its error is returned unchanged.
pub fn visitor_controls_the_scan<H: Harness>(h: &mut H) {
    let b = h.create();
    for i in 0u8..10 {
        b.put(Cf::Nodes, &[i], &[i], S).must("put");
    }
    let mut seen = 0;
    b.scan(
        Cf::Nodes,
        KeyRange::all(),
        ScanDirection::Forward,
        &mut |_, _| {
            seen += 1;
            Ok(if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        },
    )
    .must("scan");
    assert_eq!(seen, 3);
    let r = b.scan(
        Cf::Nodes,
        KeyRange::all(),
        ScanDirection::Reverse,
        &mut |k, _| Err(Error::corruption(Cf::Nodes, k, "visitor says no")),
    );
    match r {
        Err(Error::Corruption { key, .. }) => assert_eq!(key, vec![9]),
        other => panic!("expected the visitor's error, got {other:?}"),
    }
    assert_eq!(b.count_prefix(Cf::Nodes, &[]).must("count"), 10);
}

/// Large values round-trip; flush and sync keep everything readable, and
/// so does a reopen.
pub fn large_values_flush_and_reopen<H: Harness>(h: &mut H) {
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let b = h.create();
    b.put(Cf::Edges, b"big", &big, S).must("put");
    b.put(Cf::Default, b"meta", b"m", Durability::Background)
        .must("put");
    b.flush().must("flush");
    b.sync().must("sync");
    let b = h.reopen(b);
    assert_eq!(b.get(Cf::Edges, b"big").must("get"), Some(big));
    assert_eq!(b.get(Cf::Default, b"meta").must("get"), Some(b"m".to_vec()));
}

/// Instantiates the raw conformance suite for a harness type.
#[macro_export]
macro_rules! raw_conformance {
    ($module:ident, $harness:ty) => {
        mod $module {
            use $crate::raw_suite as s;
            fn h() -> $harness {
                <$harness>::default()
            }
            #[test]
            fn byte_order() {
                s::byte_order(&mut h());
            }
            #[test]
            fn put_get_delete() {
                s::put_get_delete(&mut h());
            }
            #[test]
            fn families_are_isolated() {
                s::families_are_isolated(&mut h());
            }
            #[test]
            fn batch_order_and_ranges() {
                s::batch_order_and_ranges(&mut h());
            }
            #[test]
            fn scans_respect_bounds() {
                s::scans_respect_bounds(&mut h());
            }
            #[test]
            fn index_shaped_prefix_scans() {
                s::index_shaped_prefix_scans(&mut h());
            }
            #[test]
            fn snapshots_are_frozen() {
                s::snapshots_are_frozen(&mut h());
            }
            #[test]
            fn visitor_controls_the_scan() {
                s::visitor_controls_the_scan(&mut h());
            }
            #[test]
            fn large_values_flush_and_reopen() {
                s::large_values_flush_and_reopen(&mut h());
            }
        }
    };
}
