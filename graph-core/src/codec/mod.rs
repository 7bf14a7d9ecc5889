//! Every byte layout of the store: keys, record values, metadata and the
//! order-preserving encoding of indexed values.
//!
//! Nothing outside this module knows how a key or value is laid out; the
//! layouts are specified in docs/FORMAT.md and pinned by golden-byte tests.
//! Changing any of them is a format change: bump [`FORMAT_VERSION`] or
//! [`RECORD_VERSION`] and write a migration.

#[allow(clippy::big_endian_bytes, reason = "the codec owns every byte layout")]
mod keys;
#[allow(clippy::big_endian_bytes, reason = "the codec owns every byte layout")]
pub mod memcmp;
#[allow(clippy::big_endian_bytes, reason = "the codec owns every byte layout")]
mod records;
pub mod value;

#[cfg(test)]
mod golden;

pub use keys::{
    ADJACENCY_KEY_LEN, AdjacencyDir, AdjacencyKey, IndexId, LABEL_KEY_LEN, SymbolId,
    decode_edge_key, decode_label_key, decode_node_key, decode_u32_value, decode_u64_value,
    edge_key, encode_u32_value, encode_u64_value, index_tag, label_key, label_prefix, meta,
    node_key, property_index_key, property_index_node, property_index_prefix,
    property_value_prefix,
};
pub use records::{
    EdgeParts, IndexDef, MAX_RECORD_BYTES, RECORD_VERSION, decode_edge, decode_index_def,
    decode_node, encode_edge, encode_edge_parts, encode_index_def, encode_node, encode_node_parts,
};

/// The on-disk format version this build writes and reads, stored under
/// [`meta::FORMAT_VERSION`].
pub const FORMAT_VERSION: u32 = 1;
