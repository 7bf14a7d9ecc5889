//! Fault injection, as SQLite and redb do it: a [`FailingBackend`] fails
//! the Nth backend call (get, scan, multi_get, write, sync, flush, reads
//! of snapshots) for N = 1, 2, 3, ... until the workload completes without
//! reaching the fault, once (only call N fails) and forever (every call
//! from N on fails).
//!
//! For every N: no panic; every failure is a typed [`ErrorKind::Io`]
//! carrying the injected message; after every step the data equals a
//! shadow store that applied exactly the steps that returned `Ok` (each
//! mutation and batch all-or-nothing, and the store's in-memory state still
//! right for the next step); reads that succeed return what the shadow
//! holds; once faults stop, the store reopened on the same data is equal to
//! the shadow and `verify()` is clean.

use std::sync::Arc;
use std::time::Instant;

use graph_core::{Durability, Error, ErrorKind, NodeId, ReadView, StorageBackend};
use graph_storage::{FjallBackend, GraphStore, MemoryBackend, RocksDbBackend, StoreOptions};
use tests::Must;
use tests::faults::{FailingBackend, FaultMode, Shared};
use tests::workload::{
    Dump, Replayer, StepClock, Workload, base_seed, canonical_fingerprint_of, data_fingerprint,
    env_u64, line_diff,
};

const STEPS: u64 = 80;

fn options(clock: &StepClock) -> StoreOptions {
    StoreOptions::default()
        .clock(Arc::new(clock.clone()))
        .durability(Durability::Strict)
}

fn assert_injected(e: &Error, context: &str) {
    assert_eq!(e.kind(), ErrorKind::Io, "{context}: {e}");
    assert!(
        e.to_string().contains("injected fault"),
        "{context}: not the injected fault: {e}"
    );
}

/// The faulty store's data equals the shadow's.
fn assert_same(inner: &impl ReadView, shadow: &GraphStore<MemoryBackend>, context: &str) {
    if data_fingerprint(inner).must("scan") == data_fingerprint(shadow.backend()).must("scan") {
        return;
    }
    if canonical_fingerprint_of(inner).must("scan")
        == canonical_fingerprint_of(shadow.backend()).must("scan")
    {
        return;
    }
    // Symbols may be numbered differently (a failed commit can leave a
    // dictionary entry behind): compare the graphs themselves.
    let (a, b) = (
        Dump::of(inner).must("dump").canonical(),
        Dump::of(shadow.backend()).must("dump").canonical(),
    );
    assert!(
        a == b,
        "{context}: data differs from the shadow:\n{}",
        line_diff(&a, &b)
    );
}

struct RunResult {
    calls: u64,
    injected: u64,
    failed_steps: u64,
}

fn run<B: StorageBackend + 'static>(
    inner: Arc<B>,
    fail_at: u64,
    mode: FaultMode,
    seed: u64,
) -> RunResult {
    let ctx = |what: &str| format!("{mode:?} fault at call {fail_at}, seed {seed}: {what}");
    let clock = StepClock::new(1_000);
    let shadow = GraphStore::open_with(MemoryBackend::new(), options(&clock)).must("shadow");
    let mut replayer = Replayer::new();
    let mut failed_steps = 0;
    let faulty = FailingBackend::new(Shared(Arc::clone(&inner)), fail_at, mode);
    // Faults injected and calls made by wrappers no longer in use.
    let (mut injected, mut calls) = (0, 0);
    let store = match GraphStore::open_with(faulty, options(&clock)) {
        Ok(s) => Some(s),
        Err(e) => {
            assert_injected(&e, &ctx("open"));
            injected += 1;
            calls += fail_at;
            let d = Dump::of(&*inner).must("dump");
            // Opening an empty store writes its format version and
            // `created_by` in one batch: all of it or nothing.
            assert!(
                d.entries.is_empty() || d.entries.len() == 2,
                "{}",
                ctx("a failed open wrote part of its initialization")
            );
            match mode {
                // The fault is over: opening again works.
                FaultMode::Once => Some(
                    GraphStore::open_with(
                        FailingBackend::new(Shared(Arc::clone(&inner)), 0, mode),
                        options(&clock),
                    )
                    .must("open after the fault"),
                ),
                FaultMode::Forever => None,
            }
        }
    };
    if let Some(store) = store {
        let mut w = Workload::new(seed).without_bulk();
        let mut probe = 0u64;
        for i in 0..STEPS {
            clock.set(10_000 + i as i64);
            match w.step(&store) {
                Ok(applied) => replayer
                    .replay(&shadow, &applied)
                    .must(&ctx(&format!("shadow replay of step {i}"))),
                Err(e) => {
                    assert_injected(&e, &ctx(&format!("step {i}")));
                    failed_steps += 1;
                }
            }
            assert_same(&*inner, &shadow, &ctx(&format!("after step {i}")));
            // Reads through the faulty store: right, or a typed error.
            probe = probe.wrapping_mul(31).wrapping_add(7) % 64;
            match store.get_node(NodeId(probe)) {
                Ok(n) => assert_eq!(n, shadow.get_node(NodeId(probe)).must("shadow read")),
                Err(e) => assert_injected(&e, &ctx("get_node")),
            }
            if i % 8 == 7 {
                match store.verify() {
                    Ok(r) => assert!(r.is_clean(), "{}: {r}", ctx("verify")),
                    Err(e) => assert_injected(&e, &ctx("verify")),
                }
            }
        }
        match store.sync() {
            Ok(()) => {}
            Err(e) => assert_injected(&e, &ctx("sync")),
        }
        calls += store.backend().calls();
        injected += store.backend().injected();
    }
    // Faults stop: the same data, reopened, is the shadow's and clean.
    let reopened = GraphStore::open_with(Shared(Arc::clone(&inner)), options(&clock))
        .must(&ctx("reopen without faults"));
    let report = reopened.verify().must("verify");
    assert!(
        report.is_clean(),
        "{}: {report}",
        ctx("verify after reopen")
    );
    assert_same(&*inner, &shadow, &ctx("after reopen"));
    RunResult {
        calls,
        injected,
        failed_steps,
    }
}

/// Sweeps N over the calls of the workload of `seed` (every `stride`th),
/// each run on a new backend from `make`.
fn sweep_one<B: StorageBackend + 'static>(
    mode: FaultMode,
    seed: u64,
    stride: u64,
    make: &mut impl FnMut() -> B,
) -> (u64, u64, u64) {
    let limit = env_u64("GRAPH_STORAGE_FAULT_LIMIT", 100_000);
    let (mut runs, mut failed_steps) = (0u64, 0u64);
    let mut n = 1;
    let calls = loop {
        let r = run(Arc::new(make()), n, mode, seed);
        runs += 1;
        failed_steps += r.failed_steps;
        if r.injected == 0 {
            // The workload finished before call N: every call was covered.
            break r.calls;
        }
        assert!(n < limit, "no end after {limit} fault positions");
        n += stride;
    };
    assert!(
        runs * stride > 50,
        "the workload made too few backend calls"
    );
    (runs, calls, failed_steps)
}

/// Sweeps several workloads (`GRAPH_STORAGE_FAULT_SEEDS`, default 4) on
/// the memory backend, and one each on RocksDB and fjall with every 5th
/// fault position.
fn sweep(mode: FaultMode) {
    let seed = base_seed(&format!("fault_injection {mode:?}"));
    let started = Instant::now();
    let seeds = env_u64("GRAPH_STORAGE_FAULT_SEEDS", 4);
    let (mut runs, mut failed) = (0, 0);
    for i in 0..seeds {
        let (r, calls, f) = sweep_one(mode, seed.wrapping_add(i), 1, &mut MemoryBackend::new);
        eprintln!(
            "fault_injection {mode:?}: workload {i}: {calls} calls, {r} runs, {f} failed steps"
        );
        runs += r;
        failed += f;
    }
    eprintln!(
        "fault_injection {mode:?}: {seeds} workloads on memory, {runs} runs, {failed} failed \
         steps, in {:.1?}",
        started.elapsed()
    );
    let started = Instant::now();
    let root = tests::test_dir();
    let mut n = 0;
    let mut rocks = || {
        n += 1;
        RocksDbBackend::open(root.path().join(format!("db{n}"))).must("open")
    };
    let (r, calls, f) = sweep_one(mode, seed, 5, &mut rocks);
    eprintln!(
        "fault_injection {mode:?}: RocksDB: {calls} calls, {r} runs (every 5th position), {f} \
         failed steps, in {:.1?}",
        started.elapsed()
    );
    let started = Instant::now();
    let mut fjall = || {
        n += 1;
        FjallBackend::open(root.path().join(format!("db{n}"))).must("open")
    };
    let (r, calls, f) = sweep_one(mode, seed, 5, &mut fjall);
    eprintln!(
        "fault_injection {mode:?}: fjall: {calls} calls, {r} runs (every 5th position), {f} \
         failed steps, in {:.1?}",
        started.elapsed()
    );
}

/// Call N fails once; the store carries on and the data stays right.
#[test]
fn every_single_failing_call_is_typed_and_all_or_nothing() {
    sweep(FaultMode::Once);
}

/// Every call from N on fails; nothing half-done, clean after reopen.
#[test]
fn every_failure_from_call_n_on_is_typed_and_all_or_nothing() {
    sweep(FaultMode::Forever);
}
