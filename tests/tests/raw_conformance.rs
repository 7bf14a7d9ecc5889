//! The raw `StorageBackend` contract, checked on every backend.

tests::raw_conformance!(memory, tests::MemoryHarness);
tests::raw_conformance!(rocksdb, tests::RocksHarness);
tests::raw_conformance!(fjall, tests::FjallHarness);
