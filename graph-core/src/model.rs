//! The property-graph model: ids, nodes, edges and property values.

use std::fmt;

use compact_str::CompactString;

/// The id of a node. Ids are allocated monotonically and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u64);

/// The id of an edge. Ids are allocated monotonically and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EdgeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for EdgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// A point in time: microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Microseconds since 1970-01-01T00:00:00Z.
    pub const fn micros(self) -> i64 {
        self.0
    }
}

pub use crate::properties::Properties;

/// A property value.
///
/// Each variant has a stable on-disk tag (see docs/FORMAT.md); new
/// variants get new tags, existing tags never change.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// The absence of a value, stored explicitly.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float. Indexes order floats by [`f64::total_cmp`], so
    /// `-0.0` and `0.0` are distinct index keys and NaN sorts last.
    Float(f64),
    /// A UTF-8 string (stored inline when 24 bytes or shorter).
    String(CompactString),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A UTC time with microsecond precision.
    DateTime(Timestamp),
    /// A list of values.
    List(Vec<PropertyValue>),
    /// A nested map.
    Map(Properties),
    /// A dense vector of 32-bit floats (an embedding).
    Vector(Vec<f32>),
}

impl PropertyValue {
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            PropertyValue::Null => "null",
            PropertyValue::Bool(_) => "bool",
            PropertyValue::Int(_) => "int",
            PropertyValue::Float(_) => "float",
            PropertyValue::String(_) => "string",
            PropertyValue::Bytes(_) => "bytes",
            PropertyValue::DateTime(_) => "datetime",
            PropertyValue::List(_) => "list",
            PropertyValue::Map(_) => "map",
            PropertyValue::Vector(_) => "vector",
        }
    }
}

macro_rules! impl_from {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for PropertyValue {
            fn from(v: $t) -> Self {
                PropertyValue::$v(v.into())
            }
        })*
    };
}

impl_from!(
    bool => Bool,
    i64 => Int,
    i32 => Int,
    f64 => Float,
    String => String,
    &str => String,
    CompactString => String,
    Vec<u8> => Bytes,
    Timestamp => DateTime,
    Vec<f32> => Vector,
);

/// A node as seen by users: id, labels, properties and time stamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's id.
    pub id: NodeId,
    /// Its labels, sorted and without duplicates (each stored inline when
    /// 24 bytes or shorter).
    pub labels: Vec<CompactString>,
    /// Its properties.
    pub properties: Properties,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl Node {
    /// Whether the node carries `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels
            .binary_search_by(|l| l.as_str().cmp(label))
            .is_ok()
    }
}

/// An edge as seen by users.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The edge's id.
    pub id: EdgeId,
    /// The source node.
    pub src: NodeId,
    /// The target node.
    pub dst: NodeId,
    /// The edge type (relationship type).
    pub edge_type: String,
    /// Its properties.
    pub properties: Properties,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// Which edges of a node to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Edges whose source is the node.
    Outgoing,
    /// Edges whose target is the node.
    Incoming,
    /// Both; a self-loop appears twice (once each way).
    Both,
}
