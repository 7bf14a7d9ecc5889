//! Model-based property tests of the graph API: random sequences of
//! mutations (including ones that must fail), batches, index changes,
//! queries, reopens and integrity checks, applied to a plain model and to
//! stores; the memory and RocksDB stores run side by side and must agree
//! exactly with each other.
//!
//! Cases: 256 on memory alone, 64 for the memory/RocksDB pair by default;
//! `PROPTEST_CASES` raises both.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use tests::graph_model::{check_graph, check_graph_pair, graph_op};
use tests::{MemoryHarness, RocksHarness};

fn cases(default: u32, divisor: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(default, |n| (n / divisor).max(default))
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(cases(256, 1)))]
    #[test]
    fn memory_matches_model(ops in proptest::collection::vec(graph_op(), 1..80)) {
        check_graph(MemoryHarness, &ops);
    }
}

proptest! {
    #![proptest_config(config(cases(64, 4)))]
    #[test]
    fn memory_and_rocksdb_match_model_and_each_other(ops in proptest::collection::vec(graph_op(), 1..80)) {
        check_graph_pair(MemoryHarness, RocksHarness::default(), &ops);
    }
}
