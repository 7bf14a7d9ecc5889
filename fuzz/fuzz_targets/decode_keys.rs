//! Every key and metadata-value decoder from arbitrary bytes: never a
//! panic, refusals only with `ErrorKind::Corruption`, and a key that
//! decodes re-encodes to the same bytes.
#![no_main]

use graph_core::codec::{self, AdjacencyKey, meta};
use graph_core::{ColumnFamily, ErrorKind, Result};
use libfuzzer_sys::fuzz_target;

fn corruption_only<T>(r: Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corruption);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(a) = corruption_only(AdjacencyKey::decode(data)) {
        assert_eq!(a.encode().as_slice(), data);
    }
    if let Some((label, node)) = corruption_only(codec::decode_label_key(data)) {
        assert_eq!(codec::label_key(label, node).as_slice(), data);
    }
    if let Some(node) = corruption_only(codec::property_index_node(data)) {
        assert_eq!(&node.0.to_be_bytes()[..], &data[data.len() - 8..]);
    }
    corruption_only(codec::decode_node_key(data));
    corruption_only(codec::decode_edge_key(data));
    corruption_only(meta::decode_index_def_key(data));
    corruption_only(meta::decode_symbol_by_id_key(data));
    corruption_only(codec::decode_u64_value(ColumnFamily::Default, b"k", data));
    corruption_only(codec::decode_u32_value(ColumnFamily::Default, b"k", data));
});
