//! Process crashes: a child process (`crash_child`) writes to a RocksDB
//! or a fjall store (each test runs for both) and prints each
//! acknowledgement; the test SIGKILLs it at a random
//! moment, reopens the store and checks what survived.
//!
//! * Strict and Background durability: the recovered store equals, byte
//!   for byte (id leases aside, see `is_lease_key`), the state after the
//!   last acknowledged step or after the one in flight: every
//!   acknowledged mutation is there, nothing beyond the in-flight one, no
//!   hole. The expected states come from replaying the same seeded stream
//!   on a memory store with the same clock. `verify()` is clean.
//! * Kills while a store is being created leave a store that opens.
//! * Repeated kills on one directory, many of them while the store is
//!   opening and recovering, lose no acknowledged node, resurrect no
//!   acknowledged deletion, and end with a clean `verify()` and a full
//!   checksum-verified scan.
//!
//! `GRAPH_STORAGE_CRASH_CYCLES` sets the number of kills per test (default
//! 100); `GRAPH_STORAGE_SEED` replays a run.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_core::codec::meta;
use graph_core::{Durability, NodeId};
use graph_storage::{
    FjallBackend, GraphStore, ManualClock, MemoryBackend, RocksDbBackend, StoreOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::crash::{ChildRun, Ended, OrFail};
use tests::workload::{Dump, Workload, base_seed, env_u64, line_diff};
use tests::{DiskBackend, Must};

const EXE: &str = env!("CARGO_BIN_EXE_crash_child");
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

fn cycles() -> u64 {
    env_u64("GRAPH_STORAGE_CRASH_CYCLES", 100)
}

/// Starts `crash_child` on backend `B` with `args`.
fn spawn<B: DiskBackend>(args: &[&str]) -> ChildRun {
    let flag = format!("--backend={}", B::NAME);
    let mut all = vec![flag.as_str()];
    all.extend_from_slice(args);
    ChildRun::spawn(EXE, &all)
}

fn open_disk<B: DiskBackend>(dir: &Path) -> GraphStore<B> {
    let backend = B::open_dir(dir).must("reopening after the kill");
    GraphStore::open_with(
        backend,
        StoreOptions::default().durability(Durability::Strict),
    )
    .must("opening the graph after the kill")
}

/// The states after `n` and `n + 1` steps of the stream `seed`, replayed
/// on a memory store with the child's clock.
fn expected_states(seed: u64, n: usize) -> (Dump, Dump) {
    let options = StoreOptions::default().clock(Arc::new(ManualClock::new(1_000, 1)));
    let store = GraphStore::open_with(MemoryBackend::new(), options).must("memory store");
    let mut w = Workload::new(seed);
    for i in 0..n {
        w.step(&store).must(&format!("replaying step {i}"));
    }
    let after_n = Dump::of(store.backend()).must("dump");
    w.step(&store).must("replaying the in-flight step");
    let after_next = Dump::of(store.backend()).must("dump");
    (after_n, after_next)
}

/// The acknowledged steps, checked to be 0, 1, 2, ... in order.
fn acked_steps(ended: &Ended) -> usize {
    let acks = ended.with("ack");
    for (i, a) in acks.iter().enumerate() {
        assert_eq!(*a, i.to_string(), "acks out of order: {:?}", ended.lines);
    }
    acks.len()
}

#[derive(Debug, Default)]
struct Tally {
    cycles: u64,
    before_open: u64,
    acked: u64,
    in_flight_recovered: u64,
}

/// One kill cycle of the stream test on a fresh directory.
fn stream_cycle<B: DiskBackend>(
    dir: &Path,
    seed: u64,
    durability: &str,
    rng: &mut StdRng,
    tally: &mut Tally,
) {
    let dir_s = dir.to_string_lossy().into_owned();
    let seed_s = seed.to_string();
    let mut child = spawn::<B>(&["stream", &dir_s, &seed_s, durability, "100000"]);
    if rng.gen_range(0..10) == 0 {
        // Kill early: while the process starts or the store is created.
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..40_000)));
    } else {
        let target = format!("ack {}", rng.gen_range(0..200));
        child.wait_for(LINE_TIMEOUT, |l| l == target || l == "done");
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..2_000)));
    }
    let ended = child.kill();
    ended.assert_no_error(&format!("seed {seed}"));
    let acked = acked_steps(&ended);
    tally.cycles += 1;
    tally.acked += acked as u64;
    if !ended.has("opened") {
        tally.before_open += 1;
    }

    let store = open_disk::<B>(dir);
    let report = store.verify().must("verify");
    assert!(report.is_clean(), "seed {seed}, {acked} acked: {report}");
    let got = Dump::of(store.backend()).must("full scan of the recovered store");
    drop(store);

    let (after, in_flight) = expected_states(seed, acked);
    let (got_c, after_c, in_flight_c) = (got.canonical(), after.canonical(), in_flight.canonical());
    if got_c == in_flight_c && got_c != after_c {
        tally.in_flight_recovered += 1;
    } else {
        assert!(
            got_c == after_c,
            "seed {seed}: the recovered store is not the state after the {acked} acknowledged \
             steps (nor after the in-flight one); recovered vs expected:\n{}\nrecovered vs in-flight:\n{}",
            line_diff(&got_c, &after_c),
            line_diff(&got_c, &in_flight_c)
        );
    }
    for key in [meta::NEXT_NODE_ID, meta::NEXT_EDGE_ID] {
        let lease = got.meta(key);
        assert!(
            lease == after.meta(key) || lease == in_flight.meta(key),
            "seed {seed}: id lease {key:?} is {lease:?}"
        );
    }
}

fn stream_test<B: DiskBackend>(durability: &str) {
    let seed = base_seed(&format!("crash_kill {} {durability}", B::NAME));
    let mut rng = StdRng::seed_from_u64(seed);
    let root = tests::test_dir();
    let started = Instant::now();
    let mut tally = Tally::default();
    for cycle in 0..cycles() {
        let dir = root.path().join(format!("db{cycle}"));
        stream_cycle::<B>(
            &dir,
            seed.wrapping_add(cycle),
            durability,
            &mut rng,
            &mut tally,
        );
        std::fs::remove_dir_all(&dir).ok();
    }
    eprintln!(
        "crash_kill {} {durability}: {tally:?} in {:.1?}",
        B::NAME,
        started.elapsed()
    );
    assert!(
        tally.acked > tally.cycles,
        "the children acknowledged too little"
    );
}

/// Strict: SIGKILL at random moments; every acknowledged step survives,
/// at most the in-flight one beyond it, no hole.
#[test]
fn strict_kill_recovers_exactly_the_acknowledged_prefix() {
    stream_test::<RocksDbBackend>("strict");
}

/// As above, on fjall (the journal fsynced with `SyncAll` per commit).
#[test]
fn fjall_strict_kill_recovers_exactly_the_acknowledged_prefix() {
    stream_test::<FjallBackend>("strict");
}

/// Background: the WAL is in OS buffers, which a process crash does not
/// lose: the same guarantee as Strict, batches all-or-nothing.
#[test]
fn background_kill_loses_nothing_acknowledged() {
    stream_test::<RocksDbBackend>("background");
}

/// As above, on fjall: each Background commit hands its journal entry to
/// the operating system before it is acknowledged.
#[test]
fn fjall_background_kill_loses_nothing_acknowledged() {
    stream_test::<FjallBackend>("background");
}

/// Kills while the child creates a new store (before it prints `opened`)
/// leave a directory that opens as a valid store.
#[test]
fn kills_while_creating_a_store_leave_it_openable() {
    creation_kills::<RocksDbBackend>();
}

/// As above, on fjall (its creation and our marker, see storage-fjall).
#[test]
fn fjall_kills_while_creating_a_store_leave_it_openable() {
    creation_kills::<FjallBackend>();
}

fn creation_kills<B: DiskBackend>() {
    let seed = base_seed(&format!("crash_kill creation {}", B::NAME));
    let mut rng = StdRng::seed_from_u64(seed);
    let root = tests::test_dir();
    // How long the child takes to create and open a store.
    let t0 = Instant::now();
    let probe = root.path().join("probe");
    let mut child = spawn::<B>(&["stream", &probe.to_string_lossy(), "1", "strict", "0"]);
    assert!(child.wait_for(LINE_TIMEOUT, |l| l == "opened"));
    let open_us = t0.elapsed().as_micros() as u64;
    child.kill().assert_no_error("probe");
    let n = cycles().div_ceil(2);
    let mut before_open = 0;
    for cycle in 0..n {
        let dir = root.path().join(format!("c{cycle}"));
        let dir_s = dir.to_string_lossy().into_owned();
        let child = spawn::<B>(&["stream", &dir_s, "7", "strict", "3"]);
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..=open_us + 2_000)));
        let ended = child.kill();
        ended.assert_no_error("creation");
        if !ended.has("opened") {
            before_open += 1;
        }
        let store = open_disk::<B>(&dir);
        assert!(store.verify().must("verify").is_clean());
        Dump::of(store.backend()).must("full scan");
        drop(store);
        std::fs::remove_dir_all(&dir).ok();
    }
    eprintln!(
        "crash_kill creation {}: {n} kills within {open_us} us of start, {before_open} before the \
         store was open",
        B::NAME
    );
}

/// What the parent knows of the churn children's nodes.
#[derive(Debug, Default)]
struct NodeBook {
    live: BTreeSet<u64>,
    dead: BTreeSet<u64>,
    /// Created or deleted by a step that was in flight when its child died.
    unsure: BTreeSet<u64>,
}

impl NodeBook {
    fn parse(list: &str) -> Vec<u64> {
        list.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().must("node id"))
            .collect()
    }

    /// Applies one child's lines.
    fn record(&mut self, ended: &Ended) {
        let mut pending: Option<(String, Vec<u64>, Vec<u64>)> = None;
        for line in &ended.lines {
            if let Some(rest) = line.strip_prefix("begin ") {
                let mut parts = rest.split(' ');
                let step = parts.next().or_fail("step").to_owned();
                let created =
                    Self::parse(parts.next().or_fail("create").trim_start_matches("create="));
                let deleted =
                    Self::parse(parts.next().or_fail("delete").trim_start_matches("delete="));
                pending = Some((step, created, deleted));
            } else if let Some(step) = line.strip_prefix("ack ") {
                let (begun, created, deleted) = pending.take().or_fail("ack without begin");
                assert_eq!(begun, step, "ack of another step");
                for id in created {
                    self.unsure.remove(&id);
                    self.live.insert(id);
                }
                for id in deleted {
                    self.live.remove(&id);
                    self.unsure.remove(&id);
                    self.dead.insert(id);
                }
            }
        }
        if let Some((_, created, deleted)) = pending {
            for id in created.into_iter().chain(deleted) {
                self.live.remove(&id);
                self.unsure.insert(id);
            }
        }
    }

    /// Compares with the store's nodes and settles the unsure ones.
    fn check(&mut self, present: &BTreeSet<u64>) {
        let lost: Vec<_> = self.live.difference(present).collect();
        assert!(lost.is_empty(), "acknowledged nodes lost: {lost:?}");
        let back: Vec<_> = self.dead.intersection(present).collect();
        assert!(back.is_empty(), "acknowledged deletions undone: {back:?}");
        let unknown: Vec<_> = present
            .iter()
            .filter(|id| !self.live.contains(id) && !self.unsure.contains(id))
            .collect();
        assert!(unknown.is_empty(), "nodes nobody created: {unknown:?}");
        for id in std::mem::take(&mut self.unsure) {
            if present.contains(&id) {
                self.live.insert(id);
            } else {
                self.dead.insert(id);
            }
        }
    }
}

/// Repeated SIGKILLs on one directory, many during open and recovery (the
/// previous child crashed too), checked every tenth cycle and at the end:
/// acknowledged nodes present, acknowledged deletions absent, `verify()`
/// clean, every key of every family readable (checksums verified).
#[test]
fn repeated_kills_on_one_directory_including_during_recovery() {
    repeated_kills::<RocksDbBackend>();
}

/// As above, on fjall.
#[test]
fn fjall_repeated_kills_on_one_directory_including_during_recovery() {
    repeated_kills::<FjallBackend>();
}

fn repeated_kills<B: DiskBackend>() {
    let seed = base_seed(&format!("crash_kill repeated {}", B::NAME));
    let mut rng = StdRng::seed_from_u64(seed);
    let root = tests::test_dir();
    let dir = root.path().join("db");
    let dir_s = dir.to_string_lossy().into_owned();
    let started = Instant::now();
    let mut book = NodeBook::default();
    let (mut before_open, mut checks, mut acks) = (0u64, 0u64, 0usize);
    let n = cycles();
    for cycle in 0..n {
        let child_seed = seed.wrapping_add(cycle).to_string();
        let mut child = spawn::<B>(&["churn", &dir_s, &child_seed, "100000"]);
        if rng.gen_bool(0.4) {
            // Very short: the child is starting, opening or recovering.
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..30_000)));
        } else {
            let target = format!("ack {}", rng.gen_range(0..25));
            child.wait_for(LINE_TIMEOUT, |l| l == target || l == "done");
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..3_000)));
        }
        let ended = child.kill();
        ended.assert_no_error(&format!("cycle {cycle}"));
        if !ended.has("opened") {
            before_open += 1;
        }
        acks += ended.with("ack").len();
        book.record(&ended);
        if cycle % 10 == 9 || cycle + 1 == n {
            checks += 1;
            let store = open_disk::<B>(&dir);
            let report = store.verify().must("verify");
            assert!(report.is_clean(), "cycle {cycle}: {report}");
            Dump::of(store.backend()).must("checksum-verified full scan");
            let present: BTreeSet<u64> = store
                .reader()
                .node_ids()
                .must("node ids")
                .into_iter()
                .map(|NodeId(id)| id)
                .collect();
            book.check(&present);
        }
    }
    eprintln!(
        "crash_kill repeated {}: {n} kills ({before_open} before the store was open), {acks} acked \
         batches, {checks} checks, {} live nodes, in {:.1?}",
        B::NAME,
        book.live.len(),
        started.elapsed()
    );
    assert!(
        before_open > 0,
        "no kill landed while the store was opening"
    );
}

/// The expected states above come from replaying the stream on another
/// store; that replay must be exact, down to how labels and edge types are
/// numbered (two stores given the same operations and clocks hold the same
/// bytes).
#[test]
fn the_stream_replays_byte_for_byte() {
    let seed = base_seed("crash_kill replay");
    let run = || {
        let options = StoreOptions::default().clock(Arc::new(ManualClock::new(1_000, 1)));
        let store = GraphStore::open_with(MemoryBackend::new(), options).must("memory store");
        let mut w = Workload::new(seed);
        for i in 0..300 {
            w.step(&store).must(&format!("step {i}"));
        }
        Dump::of(store.backend()).must("dump")
    };
    let (a, b) = (run(), run());
    assert!(
        a == b,
        "seed {seed}: two replays differ:\n{}",
        line_diff(
            &a.entries
                .iter()
                .map(|e| format!("{e:02x?}"))
                .collect::<Vec<_>>(),
            &b.entries
                .iter()
                .map(|e| format!("{e:02x?}"))
                .collect::<Vec<_>>()
        )
    );
}

/// Transactions killed mid-commit: a child runs read-modify-write
/// transactions on two threads (a transfer between two accounts, their
/// `moves` counters, a receipt node and its edge) and is killed at a
/// random moment, again and again on one directory. After every kill each
/// transaction is whole or absent: the balances sum to the opening total,
/// the `moves` to twice the receipts, every receipt has its edge; every
/// acknowledged transaction is there, none that never began; `verify()`
/// is clean.
#[test]
fn transactions_killed_mid_commit_are_whole_or_absent() {
    transactions_killed::<RocksDbBackend>();
}

/// As above, on fjall.
#[test]
fn fjall_transactions_killed_mid_commit_are_whole_or_absent() {
    transactions_killed::<FjallBackend>();
}

fn transactions_killed<B: DiskBackend>() {
    let seed = base_seed(&format!("crash_kill transactions {}", B::NAME));
    let mut rng = StdRng::seed_from_u64(seed);
    let root = tests::test_dir();
    let dir = root.path().join("db");
    let dir_s = dir.to_string_lossy().into_owned();
    let started = Instant::now();
    let (mut begun, mut acked) = (BTreeSet::new(), BTreeSet::new());
    let n = (cycles() / 5).max(4);
    let mut receipts = 0;
    for cycle in 0..n {
        let child_seed = seed.wrapping_add(cycle).to_string();
        let mut child = spawn::<B>(&["transfers", &dir_s, &child_seed, "100000"]);
        let target = rng.gen_range(0..40);
        let seen = std::cell::Cell::new(0);
        child.wait_for(LINE_TIMEOUT, |l| {
            if l.starts_with("ack ") {
                seen.set(seen.get() + 1);
            }
            seen.get() > target || l == "done"
        });
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..2_000)));
        let ended = child.kill();
        ended.assert_no_error(&format!("cycle {cycle}"));
        begun.extend(ended.with("begin").into_iter().map(str::to_owned));
        acked.extend(ended.with("ack").into_iter().map(str::to_owned));

        let store = open_disk::<B>(&dir);
        let report = store.verify().must("verify");
        assert!(report.is_clean(), "cycle {cycle}: {report}");
        let r = store.reader();
        let accounts = r.nodes_with_label("Account").must("accounts");
        if accounts.is_empty() {
            assert!(acked.is_empty(), "cycle {cycle}: accounts lost");
            continue;
        }
        assert_eq!(accounts.len(), 8, "cycle {cycle}: accounts");
        let int = |node: &graph_core::Node, key: &str| match node.properties.get(key) {
            Some(graph_core::PropertyValue::Int(v)) => *v,
            other => panic!("cycle {cycle}: {key} is {other:?}"),
        };
        let (mut balance, mut moves) = (0, 0);
        for id in &accounts {
            let node = r.get_node(*id).must("account").or_fail("account vanished");
            balance += int(&node, "balance");
            moves += int(&node, "moves");
        }
        assert_eq!(balance, 8_000, "cycle {cycle}: money made or lost");
        let mut steps = BTreeSet::new();
        let ids = r.nodes_with_label("Receipt").must("receipts");
        for id in &ids {
            let node = r.get_node(*id).must("receipt").or_fail("receipt vanished");
            let step = match node.properties.get("step") {
                Some(graph_core::PropertyValue::String(s)) => s.to_string(),
                other => panic!("cycle {cycle}: receipt step is {other:?}"),
            };
            assert_eq!(
                r.degree(*id, graph_core::Direction::Outgoing, Some("FROM"))
                    .must("degree"),
                1,
                "cycle {cycle}: receipt {step} without its edge"
            );
            assert!(begun.contains(&step), "cycle {cycle}: {step} never began");
            assert!(steps.insert(step), "cycle {cycle}: a receipt twice");
        }
        assert_eq!(
            moves,
            2 * ids.len() as i64,
            "cycle {cycle}: a torn transaction"
        );
        let lost: Vec<_> = acked.difference(&steps).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: acknowledged transactions lost: {lost:?}"
        );
        receipts = ids.len();
    }
    eprintln!(
        "crash_kill transactions {}: {n} kills, {} acknowledged, {receipts} committed, in {:.1?}",
        B::NAME,
        acked.len(),
        started.elapsed()
    );
    assert!(receipts > 0, "no transaction ever committed");
}
