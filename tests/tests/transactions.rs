//! Read-write transactions under concurrency, on every backend: invariants
//! that only isolation keeps.
//!
//! - Transfers: threads move random amounts between account nodes (never
//!   below zero); the total never changes, checked from snapshots taken
//!   during the run and at the end.
//! - Counter: threads add 1 to one property `k` times each; it ends at
//!   threads × k (no lost update).
//! - Create if absent: threads race to create the edge of a pair only if
//!   it has none; each pair ends with exactly one.
//!
//! Optimistic transactions (with retries) and exclusive ones run side by
//! side. Seeded (`GRAPH_STORAGE_SEED`, printed); sizes scale with
//! `GRAPH_STORAGE_TX_OPS` (transactions per thread, default 150).

use std::sync::atomic::{AtomicBool, Ordering};

use graph_core::{Direction, Durability, ErrorKind, NodeId, Properties, PropertyValue};
use graph_storage::{
    FjallBackend, GraphStore, MemoryBackend, RocksDbBackend, StorageBackend, StoreOptions,
    Transaction,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::workload::{base_seed, env_u64};
use tests::{InTempDir, Must, MustJoin};

const THREADS: u64 = 4;
const ACCOUNTS: usize = 8;
const OPENING: i64 = 1_000;

fn ops() -> u64 {
    env_u64("GRAPH_STORAGE_TX_OPS", 150)
}

fn int(store_value: Option<&PropertyValue>) -> i64 {
    match store_value {
        Some(PropertyValue::Int(v)) => *v,
        other => panic!("expected an integer property, found {other:?}"),
    }
}

fn balance<B: StorageBackend>(tx: &Transaction<'_, B>, id: NodeId) -> graph_core::Result<i64> {
    let node = tx.read().get_node(id)?.must_exist(id);
    Ok(int(node.properties.get("balance")))
}

trait MustExist<T> {
    fn must_exist(self, id: NodeId) -> T;
}

impl<T> MustExist<T> for Option<T> {
    #[track_caller]
    fn must_exist(self, id: NodeId) -> T {
        match self {
            Some(v) => v,
            None => panic!("node {id} vanished"),
        }
    }
}

/// Runs `f` in an exclusive transaction, again while it conflicts (with
/// the optimistic transactions running beside it).
fn exclusively<B: StorageBackend + 'static>(
    store: &GraphStore<B>,
    mut f: impl FnMut(&mut Transaction<'_, B>) -> graph_core::Result<()>,
) -> graph_core::Result<()> {
    loop {
        let mut tx = store.begin_exclusive()?;
        f(&mut tx)?;
        match tx.commit() {
            Err(e) if e.kind() == ErrorKind::Conflict => continue,
            other => return other,
        }
    }
}

fn transfers<B: StorageBackend + 'static>(store: &GraphStore<B>, name: &str) {
    let seed = base_seed(&format!("transfers {name}"));
    let accounts: Vec<NodeId> = {
        let mut b = store.batch();
        let ids = (0..ACCOUNTS)
            .map(|_| {
                b.create_node(
                    &["Account"],
                    Properties::from([("balance".to_owned(), PropertyValue::Int(OPENING))]),
                )
                .must("create")
            })
            .collect();
        b.commit().must("commit accounts");
        ids
    };
    let total = OPENING * ACCOUNTS as i64;
    let sum = |reader: &graph_storage::GraphReader<'_, _>| -> i64 {
        accounts
            .iter()
            .map(|id| {
                let node = reader.get_node(*id).must("read").must_exist(*id);
                int(node.properties.get("balance"))
            })
            .sum()
    };
    let done = AtomicBool::new(false);
    let checks = std::thread::scope(|s| {
        let checker = s.spawn(|| {
            let mut checks = 0u64;
            while !done.load(Ordering::Relaxed) {
                let snap = store.snapshot().must("snapshot");
                assert_eq!(sum(&snap), total, "a snapshot saw money made or lost");
                checks += 1;
            }
            checks
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let accounts = &accounts;
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t));
                    for _ in 0..ops() {
                        let from = accounts[rng.gen_range(0..ACCOUNTS)];
                        let to = accounts[rng.gen_range(0..ACCOUNTS)];
                        let amount = rng.gen_range(1..=120);
                        let step = |tx: &mut Transaction<'_, B>| {
                            let a = balance(tx, from)?;
                            if a < amount || from == to {
                                return Ok(());
                            }
                            tx.set_node_property(from, "balance", PropertyValue::Int(a - amount))?;
                            let b = balance(tx, to)?;
                            tx.set_node_property(to, "balance", PropertyValue::Int(b + amount))
                        };
                        if t == 0 {
                            exclusively(store, step).must("exclusive transfer");
                        } else {
                            store.transaction(step).must("transfer");
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().must_join();
        }
        done.store(true, Ordering::Relaxed);
        checker.join().must_join()
    });
    let snap = store.snapshot().must("snapshot");
    assert_eq!(sum(&snap), total);
    for id in &accounts {
        let node = snap.get_node(*id).must("read").must_exist(*id);
        assert!(
            int(node.properties.get("balance")) >= 0,
            "{id} went below zero"
        );
    }
    assert!(store.verify().must("verify").is_clean());
    eprintln!("transfers {name}: {} snapshots checked", checks);
}

fn counter<B: StorageBackend + 'static>(store: &GraphStore<B>, name: &str) {
    let _ = base_seed(&format!("counter {name}"));
    let id = store
        .create_node(
            &["Counter"],
            Properties::from([("n".to_owned(), PropertyValue::Int(0))]),
        )
        .must("create");
    let k = ops();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for _ in 0..k {
                    let step = |tx: &mut Transaction<'_, B>| {
                        let n = int(tx.read().get_node(id)?.must_exist(id).properties.get("n"));
                        tx.set_node_property(id, "n", PropertyValue::Int(n + 1))
                    };
                    if t == 0 {
                        exclusively(store, step).must("exclusive increment");
                    } else {
                        store.transaction(step).must("increment");
                    }
                }
            });
        }
    });
    let node = store.get_node(id).must("read").must_exist(id);
    assert_eq!(
        int(node.properties.get("n")),
        (THREADS * k) as i64,
        "updates were lost"
    );
}

fn create_if_absent<B: StorageBackend + 'static>(store: &GraphStore<B>, name: &str) {
    let seed = base_seed(&format!("create if absent {name}"));
    let pairs: Vec<(NodeId, NodeId)> = (0..(ops() / 10).max(3))
        .map(|_| {
            let a = store.create_node(&["P"], Properties::new()).must("create");
            let b = store.create_node(&["P"], Properties::new()).must("create");
            (a, b)
        })
        .collect();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let pairs = &pairs;
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t));
                let mut order: Vec<usize> = (0..pairs.len()).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.gen_range(0..=i));
                }
                for i in order {
                    let (a, b) = pairs[i];
                    store
                        .transaction(|tx| {
                            if tx.read().degree(a, Direction::Outgoing, Some("KNOWS"))? == 0 {
                                tx.create_edge(a, b, "KNOWS", Properties::new())?;
                            }
                            Ok(())
                        })
                        .must("create if absent");
                }
            });
        }
    });
    for (a, b) in &pairs {
        let out = store
            .neighbors(*a, Direction::Outgoing, Some("KNOWS"))
            .must("neighbors");
        assert_eq!(out, [*b], "pair ({a}, {b}) must have exactly one edge");
    }
    assert_eq!(store.edge_count().must("count"), pairs.len() as u64);
    assert!(store.verify().must("verify").is_clean());
}

macro_rules! on_every_backend {
    ($name:ident, $check:ident, $durability:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn memory() {
                let store = GraphStore::open_with(
                    MemoryBackend::new(),
                    StoreOptions::default().durability($durability),
                )
                .must("open");
                $check(&store, "memory");
            }

            #[test]
            fn rocksdb() {
                let store = InTempDir::new(|dir| {
                    GraphStore::open_with(
                        RocksDbBackend::open(dir).must("open"),
                        StoreOptions::default().durability($durability),
                    )
                    .must("open")
                });
                $check(&store, "rocksdb");
            }

            #[test]
            fn fjall() {
                let store = InTempDir::new(|dir| {
                    GraphStore::open_with(
                        FjallBackend::open(dir).must("open"),
                        StoreOptions::default().durability($durability),
                    )
                    .must("open")
                });
                $check(&store, "fjall");
            }
        }
    };
}

on_every_backend!(transfers_keep_the_total, transfers, Durability::Background);
on_every_backend!(increments_are_never_lost, counter, Durability::Strict);
on_every_backend!(
    create_if_absent_creates_exactly_one,
    create_if_absent,
    Durability::Background
);
