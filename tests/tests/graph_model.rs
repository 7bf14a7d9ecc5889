//! Model-based property tests of the graph API: random sequences of
//! mutations (including ones that must fail), batches, index changes,
//! queries, reopens and integrity checks, applied to a plain model and to
//! stores; the memory and RocksDB stores run side by side and must agree
//! exactly with each other.
//!
//! Every pair sets a store with its adjacency in RAM beside one reading
//! adjacency from the engine (`EngineReads`), so the two read paths are
//! held to each other and to the model: memory (engine reads) with RocksDB
//! (RAM), memory (RAM) with fjall (engine reads), and memory with memory.
//!
//! Cases: 256 on memory alone, 64 each for the pairs by default;
//! `PROPTEST_CASES` raises all of them.

use proptest::prelude::*;
use tests::graph_model::{check_graph, check_graph_pair, graph_op};
use tests::{EngineReads, FjallHarness, MemoryHarness, RocksHarness};

proptest! {
    #![proptest_config(tests::model_test_config(256, 1))]
    #[test]
    fn memory_matches_model(ops in proptest::collection::vec(graph_op(), 1..80)) {
        check_graph(MemoryHarness, &ops);
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(64, 4))]
    #[test]
    fn memory_and_rocksdb_match_model_and_each_other(ops in proptest::collection::vec(graph_op(), 1..80)) {
        check_graph_pair(EngineReads(MemoryHarness), RocksHarness::default(), &ops);
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(64, 4))]
    #[test]
    fn memory_and_fjall_match_model_and_each_other(ops in proptest::collection::vec(graph_op(), 1..80)) {
        check_graph_pair(MemoryHarness, EngineReads(FjallHarness::default()), &ops);
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(64, 1))]
    #[test]
    fn adjacency_in_ram_and_engine_reads_match_model_and_each_other(ops in proptest::collection::vec(graph_op(), 1..80)) {
        check_graph_pair(MemoryHarness, EngineReads(MemoryHarness), &ops);
    }
}
