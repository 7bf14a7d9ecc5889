//! The store's lock across processes, for RocksDB and fjall: while a
//! `crash_child` holds a store open, opening it here fails with [`ErrorKind::Locked`] (through the
//! backend and through `graph_storage::open` / `open_fjall`) and changes nothing; once
//! the holder is SIGKILLed, the lock is gone, the store opens, every node
//! the holder acknowledged is there and `verify()` is clean. A holder that
//! exits normally releases the lock too.

use std::time::{Duration, Instant};

use graph_core::{ErrorKind, NodeId, PropertyValue};
use graph_storage::{FjallBackend, GraphStore, RocksDbBackend};
use tests::crash::ChildRun;
use tests::workload::env_u64;
use tests::{DiskBackend, Must};

const EXE: &str = env!("CARGO_BIN_EXE_crash_child");
const TIMEOUT: Duration = Duration::from_secs(60);

fn locked<T>(r: graph_core::Result<T>, what: &str) {
    match r {
        Ok(_) => panic!("{what}: opened a store another process holds"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Locked, "{what}: {e}"),
    }
}

fn holder<B: DiskBackend>(dir: &str, nodes: u64) -> (ChildRun, Vec<u64>) {
    let flag = format!("--backend={}", B::NAME);
    let mut child = ChildRun::spawn(EXE, &[&flag, "hold", dir, &nodes.to_string()]);
    assert!(
        child.wait_for(TIMEOUT, |l| l == "holding"),
        "the holder exited: {:?}",
        child.seen()
    );
    let acked = child
        .seen()
        .iter()
        .filter_map(|l| l.strip_prefix("ack ")?.parse().ok())
        .collect();
    (child, acked)
}

fn check_acked<B: DiskBackend>(dir: &std::path::Path, acked: &[u64]) {
    let backend = B::open_dir(dir).must("open after the holder is gone");
    let store = GraphStore::open(backend).must("open the graph after the holder is gone");
    for (i, id) in acked.iter().enumerate() {
        let node = store.get_node(NodeId(*id)).must("read");
        let node = node.unwrap_or_else(|| panic!("acknowledged node {id} lost"));
        assert_eq!(
            node.properties.get("i"),
            Some(&PropertyValue::Int((i % 20) as i64))
        );
    }
    assert!(store.verify().must("verify").is_clean());
}

#[test]
fn a_live_store_is_locked_and_a_killed_holder_releases_it() {
    lock_cycles::<RocksDbBackend>(|dir| {
        locked(graph_storage::open(dir), "graph_storage::open");
    });
}

/// As above, on fjall: the lock is our marker's advisory lock (and
/// fjall's own lock file behind it).
#[test]
fn fjall_a_live_store_is_locked_and_a_killed_holder_releases_it() {
    lock_cycles::<FjallBackend>(|dir| {
        locked(graph_storage::open_fjall(dir), "graph_storage::open_fjall");
    });
}

fn lock_cycles<B: DiskBackend>(open_graph: impl Fn(&std::path::Path)) {
    let started = Instant::now();
    let root = tests::test_dir();
    let dir = root.path().join("db");
    let dir_s = dir.to_string_lossy().into_owned();
    let cycles = env_u64("GRAPH_STORAGE_CRASH_CYCLES", 100)
        .div_ceil(20)
        .max(3);
    let mut all_acked = Vec::new();
    for cycle in 0..cycles {
        let (child, acked) = holder::<B>(&dir_s, 20);
        assert_eq!(acked.len(), 20);
        all_acked.extend(acked);
        locked(B::open_dir(&dir), B::NAME);
        open_graph(&dir);
        let ended = if cycle % 2 == 0 {
            child.kill()
        } else {
            // A normal exit (stdin closed) releases the lock as well.
            child.wait(TIMEOUT)
        };
        ended.assert_no_error("holder");
        check_acked::<B>(&dir, &all_acked);
    }
    eprintln!(
        "locking {}: {cycles} holders ({} killed), {} acknowledged nodes checked, in {:.1?}",
        B::NAME,
        cycles.div_ceil(2),
        all_acked.len(),
        started.elapsed()
    );
}
