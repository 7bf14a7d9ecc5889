//! Model-based property tests of the raw trait: random sequences of puts,
//! deletes, range deletes, multi-family batches, snapshot reads, scans in
//! both directions and reopens, compared with a `BTreeMap` per family.
//!
//! Cases: 256 for memory and 64 for RocksDB by default; `PROPTEST_CASES`
//! raises both (RocksDB gets a quarter of it, at least 64).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use tests::raw_model::{check_raw, raw_op};
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
    fn memory_matches_model(ops in proptest::collection::vec(raw_op(), 1..60)) {
        check_raw(&mut MemoryHarness, &ops);
    }
}

proptest! {
    #![proptest_config(config(cases(64, 4)))]
    #[test]
    fn rocksdb_matches_model(ops in proptest::collection::vec(raw_op(), 1..60)) {
        check_raw(&mut RocksHarness::default(), &ops);
    }
}
