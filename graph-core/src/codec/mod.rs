//! Every byte layout of the store: keys, record values, metadata and the
//! order-preserving encoding of indexed values.
//!
//! Nothing outside this module knows how a key or value is laid out; the
//! layouts are specified in docs/FORMAT.md and pinned by golden-byte tests.
//! Changing any of them is a format change: bump [`FORMAT_VERSION`] or
//! [`RECORD_VERSION`] and write a migration.

mod fast;
#[allow(clippy::big_endian_bytes, reason = "the codec owns every byte layout")]
mod keys;
#[allow(clippy::big_endian_bytes, reason = "the codec owns every byte layout")]
pub mod memcmp;
#[allow(clippy::big_endian_bytes, reason = "the codec owns every byte layout")]
mod records;
#[allow(
    clippy::big_endian_bytes,
    clippy::little_endian_bytes,
    reason = "the codec owns every byte layout"
)]
pub mod spill;
pub mod value;
mod view;

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
    decode_node, decode_node_view, encode_edge, encode_edge_parts, encode_index_def, encode_node,
    encode_node_parts,
};
pub use view::{NodeLabels, NodeProperties, NodeView, ValueView};

/// The on-disk format version this build writes, stored under
/// [`meta::FORMAT_VERSION`].
///
/// History (docs/FORMAT.md, "Versions"):
/// * 1: the first format.
/// * 2: adds [`meta::CREATED_BY`] and the external-id mapping
///   ([`meta::TAG_EXTERNAL_ID`]). Every format-1 key and value is
///   unchanged, so a format-1 store is migrated in place by writing
///   `created_by` and the new version (see [`OLDEST_READABLE_FORMAT`]).
/// * 3: the RocksDB backend compresses the bottom level of its files
///   with ZSTD (bulk loads write all their files there). Every key and
///   value is unchanged; a build without ZSTD cannot read such files, and
///   the version says so before it tries. A format-2 store is migrated by
///   writing the new version: its LZ4 files are read as they are and
///   rewritten with ZSTD as compaction reaches the bottom level (at once
///   with `graphstore compact`).
pub const FORMAT_VERSION: u32 = 3;

/// The oldest format this build opens (migrating it to
/// [`FORMAT_VERSION`] on open); older and newer ones are refused with
/// [`Error::IncompatibleFormat`](crate::Error::IncompatibleFormat).
pub const OLDEST_READABLE_FORMAT: u32 = 1;
