//! The model of the raw trait: one `BTreeMap` per column family, and a
//! driver that applies the same operations to a backend and to the model
//! and compares every observation.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use graph_core::{
    BatchOp, ColumnFamily, Durability, ErrorKind, KeyRange, ReadView, ScanDirection,
    StorageBackend, WriteBatch, prefix_end,
};
use proptest::prelude::*;

use crate::Harness;

/// A key or value.
pub type Bytes = Vec<u8>;

/// One operation of a raw sequence.
#[derive(Debug, Clone)]
pub enum RawOp {
    /// `put` as a one-operation batch.
    Put(ColumnFamily, Bytes, Bytes),
    /// `delete`.
    Delete(ColumnFamily, Bytes),
    /// `delete_range` of `[start, end)`.
    DeleteRange(ColumnFamily, Bytes, Bytes),
    /// A multi-family batch.
    Batch(Vec<BatchItem>),
    /// A point read.
    Get(ColumnFamily, Bytes),
    /// A multi-get.
    MultiGet(ColumnFamily, Vec<Bytes>),
    /// A range scan.
    Scan(ScanSpec),
    /// A prefix scan.
    ScanPrefix {
        /// Family.
        cf: ColumnFamily,
        /// Prefix.
        prefix: Bytes,
        /// Reverse order.
        reverse: bool,
        /// At most this many pairs.
        limit: Option<usize>,
    },
    /// Takes a snapshot (kept until the next reopen).
    TakeSnapshot,
    /// Reads a key from snapshot `n % live snapshots`.
    SnapshotGet(usize, ColumnFamily, Bytes),
    /// Scans snapshot `n % live snapshots`.
    SnapshotScan(usize, ScanSpec),
    /// Flush memtables.
    Flush,
    /// Close and reopen (drops snapshots).
    Reopen,
}

/// One operation inside a batch.
#[derive(Debug, Clone)]
pub enum BatchItem {
    /// Put.
    Put(ColumnFamily, Bytes, Bytes),
    /// Delete.
    Delete(ColumnFamily, Bytes),
    /// Delete range.
    DeleteRange(ColumnFamily, Bytes, Bytes),
}

/// A range scan.
#[derive(Debug, Clone)]
pub struct ScanSpec {
    /// Family.
    pub cf: ColumnFamily,
    /// Inclusive start.
    pub start: Bytes,
    /// Exclusive end.
    pub end: Option<Bytes>,
    /// Reverse order.
    pub reverse: bool,
    /// At most this many pairs.
    pub limit: Option<usize>,
}

/// What an operation returned, comparable across backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obs {
    /// A write or flush succeeded.
    Done,
    /// A point read.
    Value(Option<Bytes>),
    /// A multi-get.
    Values(Vec<Option<Bytes>>),
    /// A scan.
    Pairs(Vec<(Bytes, Bytes)>),
    /// An error, by kind.
    Err(ErrorKind),
}

type Maps = [BTreeMap<Bytes, Bytes>; 4];

/// The model: four ordered maps.
#[derive(Debug, Clone, Default)]
pub struct RawModel {
    maps: Maps,
}

fn delete_range(map: &mut BTreeMap<Bytes, Bytes>, start: &[u8], end: &[u8]) {
    if start < end {
        map.retain(|k, _| !(k.as_slice() >= start && k.as_slice() < end));
    }
}

fn scan_maps(maps: &Maps, s: &ScanSpec) -> Vec<(Bytes, Bytes)> {
    let map = &maps[s.cf.index()];
    let in_range =
        |k: &Bytes| k.as_slice() >= s.start.as_slice() && s.end.as_ref().is_none_or(|e| k < e);
    let mut out: Vec<_> = map
        .iter()
        .filter(|(k, _)| in_range(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if s.reverse {
        out.reverse();
    }
    if let Some(l) = s.limit {
        out.truncate(l);
    }
    out
}

impl RawModel {
    fn apply_item(&mut self, item: &BatchItem) {
        match item {
            BatchItem::Put(cf, k, v) => {
                self.maps[cf.index()].insert(k.clone(), v.clone());
            }
            BatchItem::Delete(cf, k) => {
                self.maps[cf.index()].remove(k);
            }
            BatchItem::DeleteRange(cf, s, e) => delete_range(&mut self.maps[cf.index()], s, e),
        }
    }
}

fn batch_of(items: &[BatchItem]) -> WriteBatch {
    let mut b = WriteBatch::new();
    for item in items {
        match item {
            BatchItem::Put(cf, k, v) => b.put(*cf, k, v),
            BatchItem::Delete(cf, k) => b.delete(*cf, k),
            BatchItem::DeleteRange(cf, s, e) => b.delete_range(*cf, s, e),
        }
    }
    b
}

/// Checks [`WriteBatch::sort_by_key`], which the graph layer applies to
/// every batch before writing it: a batch without delete-ranges comes out
/// in (family, key) order and, applied after `before`, leaves exactly the
/// state the unsorted batch leaves; a batch with one is left untouched.
pub fn check_sorted_batch(before: &[BatchItem], items: &[BatchItem]) {
    let batch = batch_of(items);
    let mut sorted = batch.clone();
    let has_range = items
        .iter()
        .any(|i| matches!(i, BatchItem::DeleteRange(..)));
    assert_eq!(sorted.sort_by_key(), !has_range, "{items:?}");
    let ops: Vec<BatchItem> = sorted
        .iter()
        .map(|op| match op {
            BatchOp::Put { cf, key, value } => BatchItem::Put(cf, key.to_vec(), value.to_vec()),
            BatchOp::Delete { cf, key } => BatchItem::Delete(cf, key.to_vec()),
            BatchOp::DeleteRange { cf, start, end } => {
                BatchItem::DeleteRange(cf, start.to_vec(), end.to_vec())
            }
        })
        .collect();
    assert_eq!(ops.len(), items.len());
    let key = |i: &BatchItem| match i {
        BatchItem::Put(cf, k, _) | BatchItem::Delete(cf, k) | BatchItem::DeleteRange(cf, k, _) => {
            (cf.index(), k.clone())
        }
    };
    if has_range {
        let same = ops
            .iter()
            .zip(items)
            .all(|(a, b)| format!("{a:?}") == format!("{b:?}"));
        assert!(same, "a batch with a delete-range was reordered");
    } else {
        assert!(
            ops.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "not in key order: {ops:?}"
        );
    }
    let mut want = RawModel::default();
    let mut got = RawModel::default();
    for item in before {
        want.apply_item(item);
        got.apply_item(item);
    }
    for item in items {
        want.apply_item(item);
    }
    for item in &ops {
        got.apply_item(item);
    }
    assert_eq!(
        got.maps, want.maps,
        "sorting changed the batch's effect: {items:?}"
    );
}

fn prefix_spec(cf: ColumnFamily, prefix: &[u8], reverse: bool, limit: Option<usize>) -> ScanSpec {
    ScanSpec {
        cf,
        start: prefix.to_vec(),
        end: prefix_end(prefix),
        reverse,
        limit,
    }
}

/// `get`, checked against `get_with` (which must see the same value).
fn observe_get(view: &impl ReadView, cf: ColumnFamily, key: &[u8]) -> Obs {
    let got = view.get(cf, key);
    let mut borrowed = None;
    let with = view.get_with(cf, key, &mut |v| {
        borrowed = Some(v.map(<[u8]>::to_vec));
        Ok(())
    });
    match (&got, with) {
        (Ok(v), Ok(())) => assert_eq!(borrowed.as_ref(), Some(v), "get_with disagrees with get"),
        (Err(_), Err(_)) => {}
        (g, w) => panic!("get gave {g:?}, get_with {w:?}"),
    }
    got.map_or_else(|e| Obs::Err(e.kind()), Obs::Value)
}

/// `multi_get`, checked against `multi_get_with` (same values, each index
/// once, in order).
fn observe_multi_get(view: &impl ReadView, cf: ColumnFamily, keys: &[&[u8]]) -> Obs {
    let got = view.multi_get(cf, keys);
    let mut borrowed = Vec::new();
    let with = view.multi_get_with(cf, keys, &mut |i, v| {
        borrowed.push((i, v.map(<[u8]>::to_vec)));
        Ok(())
    });
    match (&got, with) {
        (Ok(v), Ok(())) => {
            let want: Vec<_> = v.iter().cloned().enumerate().collect();
            assert_eq!(borrowed, want, "multi_get_with disagrees with multi_get");
        }
        (Err(_), Err(_)) => {}
        (g, w) => panic!("multi_get gave {g:?}, multi_get_with {w:?}"),
    }
    got.map_or_else(|e| Obs::Err(e.kind()), Obs::Values)
}

fn observe_scan(view: &impl ReadView, s: &ScanSpec) -> Obs {
    let range = KeyRange {
        start: &s.start,
        end: s.end.as_deref(),
    };
    let dir = if s.reverse {
        ScanDirection::Reverse
    } else {
        ScanDirection::Forward
    };
    match view.collect_range(s.cf, range, dir, s.limit) {
        Ok(p) => Obs::Pairs(p),
        Err(e) => Obs::Err(e.kind()),
    }
}

fn observe_prefix(
    view: &impl ReadView,
    cf: ColumnFamily,
    prefix: &[u8],
    reverse: bool,
    limit: Option<usize>,
) -> Obs {
    let dir = if reverse {
        ScanDirection::Reverse
    } else {
        ScanDirection::Forward
    };
    let mut out = Vec::new();
    let r = view.scan_prefix(cf, prefix, dir, &mut |k, v| {
        if limit.is_some_and(|l| out.len() >= l) {
            return Ok(ControlFlow::Break(()));
        }
        out.push((k.to_vec(), v.to_vec()));
        Ok(ControlFlow::Continue(()))
    });
    match r {
        Ok(()) => Obs::Pairs(out),
        Err(e) => Obs::Err(e.kind()),
    }
}

fn done(r: graph_core::Result<()>) -> Obs {
    match r {
        Ok(()) => Obs::Done,
        Err(e) => Obs::Err(e.kind()),
    }
}

/// Applies `ops` to a backend from `harness` and to the model, comparing
/// every observation; panics with the step and both observations on the
/// first difference. At the end, every family must equal the model's.
pub fn check_raw<H: Harness>(harness: &mut H, ops: &[RawOp]) {
    let mut backend = harness.create();
    let mut model = RawModel::default();
    let mut step = 0;
    while step < ops.len() {
        // One segment between reopens: snapshots borrow the backend.
        let mut snaps: Vec<(<H::B as StorageBackend>::Snapshot<'_>, Maps)> = Vec::new();
        let mut reopen = false;
        while step < ops.len() && !reopen {
            let op = &ops[step];
            let (got, want) = match op {
                RawOp::Reopen => {
                    reopen = true;
                    (Obs::Done, Obs::Done)
                }
                RawOp::Put(cf, k, v) => {
                    model.apply_item(&BatchItem::Put(*cf, k.clone(), v.clone()));
                    (
                        done(backend.put(*cf, k, v, Durability::Background)),
                        Obs::Done,
                    )
                }
                RawOp::Delete(cf, k) => {
                    model.apply_item(&BatchItem::Delete(*cf, k.clone()));
                    (
                        done(backend.delete(*cf, k, Durability::Background)),
                        Obs::Done,
                    )
                }
                RawOp::DeleteRange(cf, s, e) => {
                    model.apply_item(&BatchItem::DeleteRange(*cf, s.clone(), e.clone()));
                    (
                        done(backend.delete_range(*cf, s, e, Durability::Background)),
                        Obs::Done,
                    )
                }
                RawOp::Batch(items) => {
                    let b = batch_of(items);
                    for item in items {
                        model.apply_item(item);
                    }
                    (done(backend.write(&b, Durability::Strict)), Obs::Done)
                }
                RawOp::Get(cf, k) => (
                    observe_get(&backend, *cf, k),
                    Obs::Value(model.maps[cf.index()].get(k).cloned()),
                ),
                RawOp::MultiGet(cf, keys) => {
                    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                    (
                        observe_multi_get(&backend, *cf, &refs),
                        Obs::Values(
                            keys.iter()
                                .map(|k| model.maps[cf.index()].get(k).cloned())
                                .collect(),
                        ),
                    )
                }
                RawOp::Scan(s) => (
                    observe_scan(&backend, s),
                    Obs::Pairs(scan_maps(&model.maps, s)),
                ),
                RawOp::ScanPrefix {
                    cf,
                    prefix,
                    reverse,
                    limit,
                } => (
                    observe_prefix(&backend, *cf, prefix, *reverse, *limit),
                    Obs::Pairs(scan_maps(
                        &model.maps,
                        &prefix_spec(*cf, prefix, *reverse, *limit),
                    )),
                ),
                RawOp::TakeSnapshot => {
                    snaps.push((backend.snapshot(), model.maps.clone()));
                    (Obs::Done, Obs::Done)
                }
                RawOp::SnapshotGet(n, cf, k) => match snaps.get(n % snaps.len().max(1)) {
                    Some((snap, maps)) => (
                        observe_get(snap, *cf, k),
                        Obs::Value(maps[cf.index()].get(k).cloned()),
                    ),
                    None => (Obs::Done, Obs::Done),
                },
                RawOp::SnapshotScan(n, s) => match snaps.get(n % snaps.len().max(1)) {
                    Some((snap, maps)) => (observe_scan(snap, s), Obs::Pairs(scan_maps(maps, s))),
                    None => (Obs::Done, Obs::Done),
                },
                RawOp::Flush => (
                    done(backend.flush().and_then(|()| backend.sync())),
                    Obs::Done,
                ),
            };
            assert_eq!(got, want, "step {step}: {op:?}");
            step += 1;
        }
        drop(snaps);
        if reopen {
            backend = harness.reopen(backend);
        }
    }
    for cf in ColumnFamily::ALL {
        let all = ScanSpec {
            cf,
            start: vec![],
            end: None,
            reverse: false,
            limit: None,
        };
        assert_eq!(
            observe_scan(&backend, &all),
            Obs::Pairs(scan_maps(&model.maps, &all)),
            "final {cf}"
        );
    }
}

/// Keys from a few shared prefixes (one of each extractor shape of
/// `indices`, an all-`0xFF` one, the empty one) plus a short suffix from a
/// tiny alphabet: keys collide and share prefixes often.
pub fn key() -> impl Strategy<Value = Bytes> {
    let prefixes: Vec<Bytes> = vec![
        vec![],
        vec![1, 0, 0, 0, 0, 0, 0, 0, 1],
        vec![1, 0, 0, 0, 0, 0, 0, 0, 2],
        vec![2, 0, 0, 0, 0, 0, 0, 0, 1],
        vec![3, 0, 0, 0, 1],
        vec![4, 0, 0, 0, 1],
        vec![0xFF, 0xFF],
        vec![0],
    ];
    (
        proptest::sample::select(prefixes),
        proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 0x7F, 0xFF]), 0..3),
    )
        .prop_map(|(mut p, s)| {
            p.extend(s);
            p
        })
}

/// Small values, sometimes empty.
pub fn value() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..6)
}

/// Any of the four families, weighted towards `indices`.
pub fn cf() -> impl Strategy<Value = ColumnFamily> {
    prop_oneof![
        1 => Just(ColumnFamily::Default),
        1 => Just(ColumnFamily::Nodes),
        1 => Just(ColumnFamily::Edges),
        3 => Just(ColumnFamily::Indices),
    ]
}

fn scan_spec() -> impl Strategy<Value = ScanSpec> {
    (
        cf(),
        key(),
        proptest::option::weighted(0.8, key()),
        any::<bool>(),
        proptest::option::of(0usize..4),
    )
        .prop_map(|(cf, start, end, reverse, limit)| ScanSpec {
            cf,
            start,
            end,
            reverse,
            limit,
        })
}

/// One operation inside a batch: puts, deletes and delete-ranges of
/// colliding keys.
pub fn batch_item() -> impl Strategy<Value = BatchItem> {
    prop_oneof![
        4 => (cf(), key(), value()).prop_map(|(c, k, v)| BatchItem::Put(c, k, v)),
        2 => (cf(), key()).prop_map(|(c, k)| BatchItem::Delete(c, k)),
        1 => (cf(), key(), key()).prop_map(|(c, s, e)| BatchItem::DeleteRange(c, s, e)),
    ]
}

/// One raw operation.
pub fn raw_op() -> impl Strategy<Value = RawOp> {
    prop_oneof![
        6 => (cf(), key(), value()).prop_map(|(c, k, v)| RawOp::Put(c, k, v)),
        2 => (cf(), key()).prop_map(|(c, k)| RawOp::Delete(c, k)),
        1 => (cf(), key(), key()).prop_map(|(c, s, e)| RawOp::DeleteRange(c, s, e)),
        2 => proptest::collection::vec(batch_item(), 0..6).prop_map(RawOp::Batch),
        3 => (cf(), key()).prop_map(|(c, k)| RawOp::Get(c, k)),
        1 => (cf(), proptest::collection::vec(key(), 0..4)).prop_map(|(c, k)| RawOp::MultiGet(c, k)),
        3 => scan_spec().prop_map(RawOp::Scan),
        2 => (cf(), key(), any::<bool>(), proptest::option::of(0usize..4))
            .prop_map(|(cf, prefix, reverse, limit)| RawOp::ScanPrefix { cf, prefix, reverse, limit }),
        1 => Just(RawOp::TakeSnapshot),
        2 => (any::<usize>(), cf(), key()).prop_map(|(n, c, k)| RawOp::SnapshotGet(n, c, k)),
        2 => (any::<usize>(), scan_spec()).prop_map(|(n, s)| RawOp::SnapshotScan(n, s)),
        1 => Just(RawOp::Flush),
        1 => Just(RawOp::Reopen),
    ]
}
