//! Model-based property tests of the raw trait: random sequences of puts,
//! deletes, range deletes, multi-family batches, snapshot reads, scans in
//! both directions and reopens, compared with a `BTreeMap` per family.
//!
//! Cases: 256 for memory and 64 each for RocksDB and fjall by default;
//! `PROPTEST_CASES` raises all three (the on-disk backends get a quarter
//! of it, at least 64).

use proptest::prelude::*;
use tests::raw_model::{check_raw, raw_op};
use tests::{FjallHarness, MemoryHarness, RocksHarness};

proptest! {
    #![proptest_config(tests::model_test_config(256, 1))]
    #[test]
    fn memory_matches_model(ops in proptest::collection::vec(raw_op(), 1..60)) {
        check_raw(&mut MemoryHarness, &ops);
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(64, 4))]
    #[test]
    fn rocksdb_matches_model(ops in proptest::collection::vec(raw_op(), 1..60)) {
        check_raw(&mut RocksHarness::default(), &ops);
    }
}

proptest! {
    #![proptest_config(tests::model_test_config(64, 4))]
    #[test]
    fn fjall_matches_model(ops in proptest::collection::vec(raw_op(), 1..60)) {
        check_raw(&mut FjallHarness::default(), &ops);
    }
}
