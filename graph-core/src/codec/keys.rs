//! Key layouts of all four column families.
//!
//! Every multi-byte integer in a key is big-endian, so byte order equals
//! numeric order. See docs/FORMAT.md for the byte-by-byte description.

use crate::{ColumnFamily, EdgeId, Error, NodeId, PropertyValue, Result};

use super::memcmp;

/// The interned id of a label or edge type (see [`meta::symbol_by_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymbolId(pub u32);

/// The id of a declared property index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexId(pub u32);

/// The key of a node record in `nodes`: the 8-byte big-endian id.
pub fn node_key(id: NodeId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// The key of an edge record in `edges`: the 8-byte big-endian id.
pub fn edge_key(id: EdgeId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// Reads a big-endian `u64` that must fill `bytes` exactly.
pub(crate) fn be_u64(cf: ColumnFamily, key: &[u8], bytes: &[u8]) -> Result<u64> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| {
        Error::corruption(cf, key, format!("expected 8 bytes, found {}", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(arr))
}

fn be_u32(cf: ColumnFamily, key: &[u8], bytes: &[u8]) -> Result<u32> {
    let arr: [u8; 4] = bytes.try_into().map_err(|_| {
        Error::corruption(cf, key, format!("expected 4 bytes, found {}", bytes.len()))
    })?;
    Ok(u32::from_be_bytes(arr))
}

/// Decodes a key of `nodes`.
///
/// # Errors
/// A corruption error unless the key is exactly 8 bytes.
pub fn decode_node_key(key: &[u8]) -> Result<NodeId> {
    be_u64(ColumnFamily::Nodes, key, key).map(NodeId)
}

/// Decodes a key of `edges`.
///
/// # Errors
/// A corruption error unless the key is exactly 8 bytes.
pub fn decode_edge_key(key: &[u8]) -> Result<EdgeId> {
    be_u64(ColumnFamily::Edges, key, key).map(EdgeId)
}

/// Key-space tags of the `indices` column family (the first key byte).
pub mod index_tag {
    /// Outgoing adjacency: `01 | src | type | dst | edge`.
    pub const OUT: u8 = 0x01;
    /// Incoming adjacency: `02 | dst | type | src | edge`.
    pub const IN: u8 = 0x02;
    /// Label index: `03 | label | node`.
    pub const LABEL: u8 = 0x03;
    /// Property index: `04 | index | memcomparable value | node`.
    pub const PROPERTY: u8 = 0x04;
}

/// The length of an adjacency key.
pub const ADJACENCY_KEY_LEN: usize = 29;
/// The length of a label-index key.
pub const LABEL_KEY_LEN: usize = 13;

/// The direction an adjacency entry is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdjacencyDir {
    /// Filed under the source node.
    Out,
    /// Filed under the target node.
    In,
}

impl AdjacencyDir {
    const fn tag(self) -> u8 {
        match self {
            AdjacencyDir::Out => index_tag::OUT,
            AdjacencyDir::In => index_tag::IN,
        }
    }
}

/// An adjacency entry in `indices`, filed under `node`; the value is empty.
///
/// For [`AdjacencyDir::Out`], `node` is the source and `other` the target;
/// for [`AdjacencyDir::In`] the reverse. Keys of one node are contiguous
/// and ordered by (type, other node, edge), so the edges of a node, or of a
/// node and a type, are one prefix scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdjacencyKey {
    /// Which side the entry is filed under.
    pub dir: AdjacencyDir,
    /// The node the entry is filed under.
    pub node: NodeId,
    /// The edge type.
    pub edge_type: SymbolId,
    /// The node at the other end.
    pub other: NodeId,
    /// The edge.
    pub edge: EdgeId,
}

impl AdjacencyKey {
    /// The entry filed under the source of an edge.
    pub fn outgoing(src: NodeId, edge_type: SymbolId, dst: NodeId, edge: EdgeId) -> Self {
        AdjacencyKey {
            dir: AdjacencyDir::Out,
            node: src,
            edge_type,
            other: dst,
            edge,
        }
    }

    /// The entry filed under the target of an edge.
    pub fn incoming(dst: NodeId, edge_type: SymbolId, src: NodeId, edge: EdgeId) -> Self {
        AdjacencyKey {
            dir: AdjacencyDir::In,
            node: dst,
            edge_type,
            other: src,
            edge,
        }
    }

    /// The 29-byte key.
    pub fn encode(&self) -> [u8; ADJACENCY_KEY_LEN] {
        let mut k = [0u8; ADJACENCY_KEY_LEN];
        k[0] = self.dir.tag();
        k[1..9].copy_from_slice(&self.node.0.to_be_bytes());
        k[9..13].copy_from_slice(&self.edge_type.0.to_be_bytes());
        k[13..21].copy_from_slice(&self.other.0.to_be_bytes());
        k[21..29].copy_from_slice(&self.edge.0.to_be_bytes());
        k
    }

    /// Decodes an adjacency key.
    ///
    /// # Errors
    /// A corruption error unless `key` is 29 bytes with an adjacency tag.
    pub fn decode(key: &[u8]) -> Result<Self> {
        let cf = ColumnFamily::Indices;
        if key.len() != ADJACENCY_KEY_LEN {
            return Err(Error::corruption(cf, key, "adjacency key must be 29 bytes"));
        }
        let dir = match key[0] {
            index_tag::OUT => AdjacencyDir::Out,
            index_tag::IN => AdjacencyDir::In,
            t => {
                return Err(Error::corruption(
                    cf,
                    key,
                    format!("tag {t:#04x} is not adjacency"),
                ));
            }
        };
        Ok(AdjacencyKey {
            dir,
            node: NodeId(be_u64(cf, key, &key[1..9])?),
            edge_type: SymbolId(be_u32(cf, key, &key[9..13])?),
            other: NodeId(be_u64(cf, key, &key[13..21])?),
            edge: EdgeId(be_u64(cf, key, &key[21..29])?),
        })
    }

    /// The prefix of every entry filed under `node` in `dir` (9 bytes).
    pub fn node_prefix(dir: AdjacencyDir, node: NodeId) -> [u8; 9] {
        let mut k = [0u8; 9];
        k[0] = dir.tag();
        k[1..9].copy_from_slice(&node.0.to_be_bytes());
        k
    }

    /// The prefix of every entry filed under `node` in `dir` with
    /// `edge_type` (13 bytes).
    pub fn type_prefix(dir: AdjacencyDir, node: NodeId, edge_type: SymbolId) -> [u8; 13] {
        let mut k = [0u8; 13];
        k[..9].copy_from_slice(&Self::node_prefix(dir, node));
        k[9..13].copy_from_slice(&edge_type.0.to_be_bytes());
        k
    }
}

/// The label-index entry of `node` under `label`: `03 | label | node`.
pub fn label_key(label: SymbolId, node: NodeId) -> [u8; LABEL_KEY_LEN] {
    let mut k = [0u8; LABEL_KEY_LEN];
    k[..5].copy_from_slice(&label_prefix(label));
    k[5..13].copy_from_slice(&node.0.to_be_bytes());
    k
}

/// The prefix of every label-index entry of `label` (5 bytes).
pub fn label_prefix(label: SymbolId) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = index_tag::LABEL;
    k[1..5].copy_from_slice(&label.0.to_be_bytes());
    k
}

/// Decodes a label-index key into (label, node).
///
/// # Errors
/// A corruption error unless `key` is a 13-byte label key.
pub fn decode_label_key(key: &[u8]) -> Result<(SymbolId, NodeId)> {
    let cf = ColumnFamily::Indices;
    if key.len() != LABEL_KEY_LEN || key[0] != index_tag::LABEL {
        return Err(Error::corruption(cf, key, "not a 13-byte label-index key"));
    }
    Ok((
        SymbolId(be_u32(cf, key, &key[1..5])?),
        NodeId(be_u64(cf, key, &key[5..13])?),
    ))
}

/// The prefix of every entry of property index `index` (5 bytes).
pub fn property_index_prefix(index: IndexId) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = index_tag::PROPERTY;
    k[1..5].copy_from_slice(&index.0.to_be_bytes());
    k
}

/// Appends the prefix of every entry of `index` with value `value`:
/// `04 | index | memcomparable(value)`.
pub fn property_value_prefix(index: IndexId, value: &PropertyValue, out: &mut Vec<u8>) {
    out.extend_from_slice(&property_index_prefix(index));
    memcmp::encode_value(value, out);
}

/// Appends the property-index entry of `node`:
/// `04 | index | memcomparable(value) | node`.
pub fn property_index_key(index: IndexId, value: &PropertyValue, node: NodeId, out: &mut Vec<u8>) {
    property_value_prefix(index, value, out);
    out.extend_from_slice(&node.0.to_be_bytes());
}

/// The node id at the end of a property-index key.
///
/// # Errors
/// A corruption error when the key is too short to hold one.
pub fn property_index_node(key: &[u8]) -> Result<NodeId> {
    let cf = ColumnFamily::Indices;
    if key.len() < 5 + 1 + 8 || key[0] != index_tag::PROPERTY {
        return Err(Error::corruption(cf, key, "not a property-index key"));
    }
    be_u64(cf, key, &key[key.len() - 8..]).map(NodeId)
}

/// Keys of the `default` (metadata) column family.
pub mod meta {
    use super::{IndexId, SymbolId, be_u32};
    use crate::{ColumnFamily, Error, Result};

    /// Tag of scalar metadata keys (`01 | ascii name`).
    pub const TAG_SCALAR: u8 = 0x01;
    /// Tag of the symbol dictionary by name (`02 | utf-8 name` -> id).
    pub const TAG_SYMBOL_BY_NAME: u8 = 0x02;
    /// Tag of the symbol dictionary by id (`03 | id` -> utf-8 name).
    pub const TAG_SYMBOL_BY_ID: u8 = 0x03;
    /// Tag of the index catalog (`04 | index id` -> definition).
    pub const TAG_INDEX: u8 = 0x04;
    /// Tag of the external-id mapping (`05 | space | 00 | external id` ->
    /// node id), kept by imports so later files can refer to earlier nodes.
    pub const TAG_EXTERNAL_ID: u8 = 0x05;
    /// Tag reserved for the state a replicated store keeps beside its graph
    /// (`06 | ...`, written by graph-raft through
    /// `GraphStore::apply_with_state`; its keys are laid out in graph-raft's
    /// codec). The graph layer never reads it.
    pub const TAG_REPLICATION: u8 = 0x06;

    /// The on-disk format version (value: `u32` big-endian).
    pub const FORMAT_VERSION: &[u8] = b"\x01format_version";
    /// The next node id to allocate (value: `u64` big-endian).
    pub const NEXT_NODE_ID: &[u8] = b"\x01next_node_id";
    /// The next edge id to allocate.
    pub const NEXT_EDGE_ID: &[u8] = b"\x01next_edge_id";
    /// The next symbol id to allocate (value: `u32` big-endian).
    pub const NEXT_SYMBOL_ID: &[u8] = b"\x01next_symbol_id";
    /// The next index id to allocate (value: `u32` big-endian).
    pub const NEXT_INDEX_ID: &[u8] = b"\x01next_index_id";
    /// The number of nodes (value: `u64` big-endian).
    pub const NODE_COUNT: &[u8] = b"\x01node_count";
    /// The number of edges (value: `u64` big-endian).
    pub const EDGE_COUNT: &[u8] = b"\x01edge_count";
    /// The library that created the store (value: UTF-8, e.g.
    /// `graph-storage 0.1.0`). Written once, when the store is created
    /// (format 2 and later).
    pub const CREATED_BY: &[u8] = b"\x01created_by";

    /// The external-id mapping entry of `external` in id space `space`
    /// (value: the node id, `u64` big-endian).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `space` contains a NUL byte (the
    /// separator); `external` may hold any bytes.
    pub fn external_id(space: &str, external: &str) -> Result<Vec<u8>> {
        let mut k = external_id_space_prefix(space)?;
        k.extend_from_slice(external.as_bytes());
        Ok(k)
    }

    /// The prefix of every external-id entry of `space`.
    ///
    /// # Errors
    /// As [`external_id`].
    pub fn external_id_space_prefix(space: &str) -> Result<Vec<u8>> {
        if space.as_bytes().contains(&0) {
            return Err(Error::invalid(format!(
                "id space {space:?} must not contain a NUL byte"
            )));
        }
        let mut k = Vec::with_capacity(2 + space.len());
        k.push(TAG_EXTERNAL_ID);
        k.extend_from_slice(space.as_bytes());
        k.push(0);
        Ok(k)
    }

    /// Splits an external-id entry key into its space and external id.
    ///
    /// # Errors
    /// A corruption error unless `key` is an external-id key with UTF-8
    /// parts.
    pub fn decode_external_id_key(key: &[u8]) -> Result<(&str, &str)> {
        let bad = |why: &str| Error::corruption(ColumnFamily::Default, key, why.to_owned());
        let rest = match key.split_first() {
            Some((&TAG_EXTERNAL_ID, rest)) => rest,
            _ => return Err(bad("not an external-id key")),
        };
        let sep = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| bad("external-id key without a separator"))?;
        let space =
            std::str::from_utf8(&rest[..sep]).map_err(|_| bad("external-id space is not UTF-8"))?;
        let external =
            std::str::from_utf8(&rest[sep + 1..]).map_err(|_| bad("external id is not UTF-8"))?;
        Ok((space, external))
    }

    /// The dictionary entry mapping a label or edge-type name to its id.
    pub fn symbol_by_name(name: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + name.len());
        k.push(TAG_SYMBOL_BY_NAME);
        k.extend_from_slice(name.as_bytes());
        k
    }

    /// The dictionary entry mapping a symbol id back to its name.
    pub fn symbol_by_id(id: SymbolId) -> [u8; 5] {
        let mut k = [TAG_SYMBOL_BY_ID; 5];
        k[1..].copy_from_slice(&id.0.to_be_bytes());
        k
    }

    /// The catalog entry of a property index.
    pub fn index_def(id: IndexId) -> [u8; 5] {
        let mut k = [TAG_INDEX; 5];
        k[1..].copy_from_slice(&id.0.to_be_bytes());
        k
    }

    /// Decodes the id in a catalog key.
    ///
    /// # Errors
    /// A corruption error unless `key` is a 5-byte catalog key.
    pub fn decode_index_def_key(key: &[u8]) -> Result<IndexId> {
        match key.split_first() {
            Some((&TAG_INDEX, id)) => be_u32(ColumnFamily::Default, key, id).map(IndexId),
            _ => Err(Error::corruption(
                ColumnFamily::Default,
                key,
                "not an index-catalog key",
            )),
        }
    }

    /// Decodes the id in a by-id dictionary key.
    ///
    /// # Errors
    /// A corruption error unless `key` is a 5-byte by-id dictionary key.
    pub fn decode_symbol_by_id_key(key: &[u8]) -> Result<SymbolId> {
        match key.split_first() {
            Some((&TAG_SYMBOL_BY_ID, id)) => be_u32(ColumnFamily::Default, key, id).map(SymbolId),
            _ => Err(Error::corruption(
                ColumnFamily::Default,
                key,
                "not a symbol-dictionary key",
            )),
        }
    }
}

/// Encodes a `u64` metadata value (counters, id leases): 8 bytes,
/// big-endian.
pub fn encode_u64_value(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// Encodes a `u32` metadata value (symbol and index ids, the format
/// version): 4 bytes, big-endian.
pub fn encode_u32_value(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// Decodes a `u64` counter value.
///
/// # Errors
/// A corruption error unless `value` is exactly 8 bytes.
pub fn decode_u64_value(cf: ColumnFamily, key: &[u8], value: &[u8]) -> Result<u64> {
    be_u64(cf, key, value)
}

/// Decodes a `u32` value (symbol and index ids, the format version).
///
/// # Errors
/// A corruption error unless `value` is exactly 4 bytes.
pub fn decode_u32_value(cf: ColumnFamily, key: &[u8], value: &[u8]) -> Result<u32> {
    be_u32(cf, key, value)
}
