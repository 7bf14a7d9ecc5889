//! The four column families of a graph store.

use std::fmt;

/// A column family: a separately ordered key space inside one store.
///
/// A graph store has exactly these four. Every key lives in exactly one of
/// them, and a [`WriteBatch`](crate::WriteBatch) may span all four
/// atomically. Backends map each variant to a native key space (RocksDB
/// column families, one ordered map each in the memory backend).
#[doc(alias = "column family")]
#[doc(alias = "cf")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ColumnFamily {
    /// Metadata: format version, id counters, counts, the symbol dictionary
    /// and the index catalog.
    Default,
    /// Node records, keyed by the 8-byte big-endian node id.
    Nodes,
    /// Edge records, keyed by the 8-byte big-endian edge id.
    Edges,
    /// Adjacency in both directions, the label index and property indexes.
    Indices,
}

impl ColumnFamily {
    /// All column families, in a fixed order (the order of their indexes).
    pub const ALL: [ColumnFamily; 4] = [
        ColumnFamily::Default,
        ColumnFamily::Nodes,
        ColumnFamily::Edges,
        ColumnFamily::Indices,
    ];

    /// The stable on-disk name of this column family (RocksDB's name for it).
    pub const fn name(self) -> &'static str {
        match self {
            ColumnFamily::Default => "default",
            ColumnFamily::Nodes => "nodes",
            ColumnFamily::Edges => "edges",
            ColumnFamily::Indices => "indices",
        }
    }

    /// A dense index in `0..4`, for backends that keep one table per family.
    pub const fn index(self) -> usize {
        match self {
            ColumnFamily::Default => 0,
            ColumnFamily::Nodes => 1,
            ColumnFamily::Edges => 2,
            ColumnFamily::Indices => 3,
        }
    }
}

impl fmt::Display for ColumnFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
