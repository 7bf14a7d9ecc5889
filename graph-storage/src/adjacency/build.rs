//! Building a [`Graph`] from the adjacency entries of `indices`: one
//! sequential scan per direction, the two directions on two threads.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use graph_core::codec::{AdjacencyKey, index_tag};
use graph_core::{ColumnFamily, Error, ReadView, Result, ScanDirection, StorageBackend};

use super::graph::{Graph, IN, OUT, SLOT_BYTES};
use super::page::{Entry, Lists, PAGE_NODES, PAGE_SHIFT};

/// Why a build stopped before its end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The adjacency needs more than the budget.
    TooLarge {
        /// Bytes held when the build stopped (a lower bound of the need).
        held: u64,
    },
    /// A node id is 2^32 or above: such stores are not held in RAM.
    IdTooLarge(u64),
    /// The store is closing.
    Cancelled,
    /// The scan failed (an engine error, or a malformed adjacency key).
    Failed(Error),
}

/// Shared by the two scans of one build.
pub(crate) struct Limits<'a> {
    /// Bytes the build may hold.
    pub(crate) budget: u64,
    /// Bytes held so far by both scans.
    pub(crate) held: AtomicUsize,
    /// Set when the store closes.
    pub(crate) cancel: &'a AtomicBool,
}

/// How many keys a scan reads between two looks at the budget and at the
/// cancel flag.
const CHECK_EVERY: u32 = 1 << 16;

/// Builds the adjacency of `backend`: the outgoing and the incoming
/// entries of `indices`, each scanned in key order, on a snapshot of its
/// own, on a thread of its own.
///
/// The two snapshots may be of different moments: the caller replays every
/// commit since before the first of them (see `cache.rs`), which brings
/// both directions to the same state.
///
/// # Errors
/// A [`Stop`] saying why the build ended early.
pub(crate) fn build<B: StorageBackend>(backend: &B, limits: &Limits<'_>) -> Result<Graph, Stop> {
    let (out, inc) = std::thread::scope(|s| {
        let inc = s.spawn(|| scan(&backend.snapshot(), IN, limits));
        let out = scan(&backend.snapshot(), OUT, limits);
        (out, inc.join())
    });
    let inc = match inc {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    Ok(Graph::from_pages(out?, inc?))
}

/// The pages of direction `dir` that hold entries, each with its index,
/// ascending, from one scan of its prefix. Pages between them cost a
/// pointer each (the tree shares one empty page among them): those count
/// toward the budget too, so a damaged key naming a huge node id stops
/// the build instead of asking for gigabytes of page slots.
fn scan(
    view: &impl ReadView,
    dir: usize,
    limits: &Limits<'_>,
) -> Result<Vec<(usize, Lists)>, Stop> {
    let tag = if dir == OUT {
        index_tag::OUT
    } else {
        index_tag::IN
    };
    let mut pages: Vec<(usize, Lists)> = Vec::new();
    // The page being filled: its index, entries and list lengths.
    let mut current: usize = 0;
    let mut buf: Vec<Entry> = Vec::new();
    let mut lengths = [0u32; PAGE_NODES];
    let mut stop: Option<Stop> = None;
    let mut since_check = 0u32;
    // Bytes of the finished pages and of the slots up to `current`.
    let finish = |pages: &mut Vec<(usize, Lists)>,
                  page: usize,
                  buf: &mut Vec<Entry>,
                  lengths: &mut [u32; PAGE_NODES]| {
        if buf.is_empty() {
            return 0;
        }
        let lists = Lists::from_parts(buf.clone(), lengths);
        let bytes = lists.bytes();
        pages.push((page, lists));
        buf.clear();
        *lengths = [0; PAGE_NODES];
        bytes
    };
    let over = |held: usize| -> Option<Stop> {
        (held as u64 > limits.budget).then_some(Stop::TooLarge { held: held as u64 })
    };
    let scanned = view.scan_prefix(
        ColumnFamily::Indices,
        &[tag],
        ScanDirection::Forward,
        &mut |k, _| {
            let key = AdjacencyKey::decode(k)?;
            let (node, other) = (key.node.0, key.other.0);
            let (Ok(node32), Ok(other32)) = (u32::try_from(node), u32::try_from(other)) else {
                stop = Some(Stop::IdTooLarge(node.max(other)));
                return Ok(ControlFlow::Break(()));
            };
            let page = (node32 >> PAGE_SHIFT) as usize;
            if page != current {
                let bytes = finish(&mut pages, current, &mut buf, &mut lengths);
                let slots = page.saturating_sub(current) * SLOT_BYTES;
                let held = limits.held.fetch_add(bytes + slots, Ordering::Relaxed) + bytes + slots;
                current = page;
                if let Some(s) = over(held) {
                    stop = Some(s);
                    return Ok(ControlFlow::Break(()));
                }
            }
            buf.push(Entry {
                ty: key.edge_type.0,
                other: other32,
                edge: key.edge.0,
            });
            lengths[node32 as usize & (PAGE_NODES - 1)] += 1;
            since_check += 1;
            if since_check == CHECK_EVERY {
                since_check = 0;
                if limits.cancel.load(Ordering::Relaxed) {
                    stop = Some(Stop::Cancelled);
                    return Ok(ControlFlow::Break(()));
                }
                let held = limits.held.load(Ordering::Relaxed) + buf.len() * size_of::<Entry>();
                if let Some(s) = over(held) {
                    stop = Some(s);
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    );
    if let Err(e) = scanned {
        return Err(Stop::Failed(e));
    }
    if let Some(stop) = stop {
        return Err(stop);
    }
    let bytes = finish(&mut pages, current, &mut buf, &mut lengths);
    let held = limits.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if let Some(s) = over(held) {
        return Err(s);
    }
    Ok(pages)
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use graph_core::codec::{AdjacencyKey, SymbolId};
    use graph_core::{Durability, EdgeId, NodeId, WriteBatch};
    use storage_memory::MemoryBackend;

    use super::*;

    fn put(b: &mut WriteBatch, key: AdjacencyKey) {
        b.put(ColumnFamily::Indices, &key.encode(), &[]);
    }

    /// Entries on several pages and both directions come back as stored;
    /// the budget and ids of 2^32 stop the build.
    #[test]
    fn builds_what_indices_holds() -> Result<()> {
        let backend = MemoryBackend::new();
        let mut b = WriteBatch::new();
        let edges = [(0u64, 1u64, 7u64), (0, 70, 8), (130, 0, 9), (130, 130, 10)];
        for &(s, d, e) in &edges {
            put(
                &mut b,
                AdjacencyKey::outgoing(NodeId(s), SymbolId(2), NodeId(d), EdgeId(e)),
            );
            put(
                &mut b,
                AdjacencyKey::incoming(NodeId(d), SymbolId(2), NodeId(s), EdgeId(e)),
            );
        }
        // Something else in indices: a label entry.
        b.put(
            ColumnFamily::Indices,
            &graph_core::codec::label_key(SymbolId(1), NodeId(3)),
            &[],
        );
        backend.write(&b, Durability::Strict)?;
        let cancel = AtomicBool::new(false);
        let limits = Limits {
            budget: u64::MAX,
            held: AtomicUsize::new(0),
            cancel: &cancel,
        };
        let g = match build(&backend, &limits) {
            Ok(g) => g,
            Err(stop) => return Err(Error::invalid(format!("{stop:?}"))),
        };
        assert_eq!(g.entries(OUT), 4);
        assert_eq!(g.entries(IN), 4);
        let e = |other, edge| Entry { ty: 2, other, edge };
        assert_eq!(g.list(OUT, 0), [e(1, 7), e(70, 8)]);
        assert_eq!(g.list(IN, 0), [e(130, 9)]);
        assert_eq!(g.list(OUT, 130), [e(0, 9), e(130, 10)]);
        assert_eq!(g.list(IN, 130), [e(130, 10)]);
        assert_eq!(g.list(IN, 70), [e(0, 8)]);
        assert!(g.list(OUT, 3).is_empty());

        let small = Limits {
            budget: 10,
            held: AtomicUsize::new(0),
            cancel: &cancel,
        };
        assert!(matches!(
            build(&backend, &small),
            Err(Stop::TooLarge { .. })
        ));

        // A node id just below 2^32 (a damaged key, say): its page slots
        // count toward the budget, so the build stops instead of asking
        // for gigabytes.
        let mut b = WriteBatch::new();
        let huge = NodeId(u64::from(u32::MAX) - 1);
        put(
            &mut b,
            AdjacencyKey::outgoing(huge, SymbolId(2), NodeId(0), EdgeId(1)),
        );
        backend.write(&b, Durability::Strict)?;
        let limits = Limits {
            budget: 64 << 20,
            held: AtomicUsize::new(0),
            cancel: &cancel,
        };
        assert!(matches!(
            build(&backend, &limits),
            Err(Stop::TooLarge { .. })
        ));

        let mut b = WriteBatch::new();
        put(
            &mut b,
            AdjacencyKey::outgoing(NodeId(1 << 32), SymbolId(2), NodeId(0), EdgeId(1)),
        );
        backend.write(&b, Durability::Strict)?;
        let limits = Limits {
            budget: u64::MAX,
            held: AtomicUsize::new(0),
            cancel: &cancel,
        };
        assert!(matches!(build(&backend, &limits), Err(Stop::IdTooLarge(_))));
        Ok(())
    }
}
