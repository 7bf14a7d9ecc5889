//! Model-based property tests of the raw trait: random sequences of puts,
//! deletes, range deletes, multi-family batches, snapshot reads, scans in
//! both directions and reopens, compared with a `BTreeMap` per family.
//!
//! Also: sorting a batch by key, as the graph layer does before every
//! write, never changes what the batch does.
//!
//! Cases: 256 for memory and 64 each for RocksDB and fjall by default;
//! `PROPTEST_CASES` raises all three (the on-disk backends get a quarter
//! of it, at least 64).

use proptest::prelude::*;
use tests::raw_model::{batch_item, check_raw, check_sorted_batch, raw_op};
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

proptest! {
    #![proptest_config(tests::model_test_config(512, 1))]
    #[test]
    fn sorting_a_batch_keeps_its_effect(
        before in proptest::collection::vec(batch_item(), 0..20),
        items in proptest::collection::vec(batch_item(), 0..40),
        ranges in any::<bool>(),
    ) {
        // Half the cases without delete-ranges, so that most batches are
        // actually sorted.
        let items: Vec<_> = if ranges {
            items
        } else {
            items
                .into_iter()
                .filter(|i| !matches!(i, tests::raw_model::BatchItem::DeleteRange(..)))
                .collect()
        };
        check_sorted_batch(&before, &items);
    }
}
