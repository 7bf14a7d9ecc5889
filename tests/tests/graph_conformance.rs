//! The graph API, checked on every backend.

tests::graph_conformance!(memory, tests::MemoryHarness);
tests::graph_conformance!(rocksdb, tests::RocksHarness);
tests::graph_conformance!(fjall, tests::FjallHarness);
