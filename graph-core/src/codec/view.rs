//! Nodes read in place: [`NodeView`] borrows labels, keys and string values
//! from the record's bytes instead of building an owned [`Node`].
//!
//! A record of the common shape (the one this library writes for scalar
//! properties) is validated whole when the view is made, without
//! allocating, and its items are read again on demand. Any other record
//! (a list, map or vector property, a long varint) is decoded by serde
//! into an owned node the view wraps. Either way a view exists exactly
//! when [`decode_node`](super::decode_node) succeeds, and holds the same
//! node.

use std::fmt;

use crate::{CompactString, Node, NodeId, Properties, PropertyValue, Timestamp, properties};

use super::fast::{Layout, Props, Strs};

/// A property value borrowed from a record or from an owned value: the
/// shape of [`PropertyValue`] without its allocations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueView<'a> {
    /// [`PropertyValue::Null`].
    Null,
    /// [`PropertyValue::Bool`].
    Bool(bool),
    /// [`PropertyValue::Int`].
    Int(i64),
    /// [`PropertyValue::Float`].
    Float(f64),
    /// [`PropertyValue::String`].
    String(&'a str),
    /// [`PropertyValue::Bytes`].
    Bytes(&'a [u8]),
    /// [`PropertyValue::DateTime`].
    DateTime(Timestamp),
    /// [`PropertyValue::List`].
    List(&'a [PropertyValue]),
    /// [`PropertyValue::Map`].
    Map(&'a Properties),
    /// [`PropertyValue::Vector`].
    Vector(&'a [f32]),
}

impl ValueView<'_> {
    /// The value, owned.
    pub fn to_value(&self) -> PropertyValue {
        match *self {
            ValueView::Null => PropertyValue::Null,
            ValueView::Bool(b) => PropertyValue::Bool(b),
            ValueView::Int(i) => PropertyValue::Int(i),
            ValueView::Float(f) => PropertyValue::Float(f),
            ValueView::String(s) => PropertyValue::String(CompactString::new(s)),
            ValueView::Bytes(b) => PropertyValue::Bytes(b.to_vec()),
            ValueView::DateTime(t) => PropertyValue::DateTime(t),
            ValueView::List(l) => PropertyValue::List(l.to_vec()),
            ValueView::Map(m) => PropertyValue::Map(m.clone()),
            ValueView::Vector(v) => PropertyValue::Vector(v.to_vec()),
        }
    }

    /// A short name of the value's type, as [`PropertyValue::type_name`].
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueView::Null => "null",
            ValueView::Bool(_) => "bool",
            ValueView::Int(_) => "int",
            ValueView::Float(_) => "float",
            ValueView::String(_) => "string",
            ValueView::Bytes(_) => "bytes",
            ValueView::DateTime(_) => "datetime",
            ValueView::List(_) => "list",
            ValueView::Map(_) => "map",
            ValueView::Vector(_) => "vector",
        }
    }
}

impl<'a> From<&'a PropertyValue> for ValueView<'a> {
    fn from(v: &'a PropertyValue) -> Self {
        match v {
            PropertyValue::Null => ValueView::Null,
            PropertyValue::Bool(b) => ValueView::Bool(*b),
            PropertyValue::Int(i) => ValueView::Int(*i),
            PropertyValue::Float(f) => ValueView::Float(*f),
            PropertyValue::String(s) => ValueView::String(s),
            PropertyValue::Bytes(b) => ValueView::Bytes(b),
            PropertyValue::DateTime(t) => ValueView::DateTime(*t),
            PropertyValue::List(l) => ValueView::List(l),
            PropertyValue::Map(m) => ValueView::Map(m),
            PropertyValue::Vector(v) => ValueView::Vector(v),
        }
    }
}

impl PartialEq<PropertyValue> for ValueView<'_> {
    fn eq(&self, other: &PropertyValue) -> bool {
        *self == ValueView::from(other)
    }
}

/// A node read in place from its record, made by
/// [`decode_node_view`](super::decode_node_view): the same node
/// [`decode_node`](super::decode_node) returns, with its labels, property
/// keys and string and byte values borrowed from the record.
///
/// Making one validates the whole record, so reading it cannot fail.
#[derive(Clone)]
pub struct NodeView<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    /// A record of the common shape, validated.
    Record(Layout<'a>),
    /// Any other record, decoded by serde.
    Decoded(Node),
}

impl<'a> NodeView<'a> {
    pub(super) fn record(layout: Layout<'a>) -> Self {
        NodeView(Repr::Record(layout))
    }

    pub(super) fn decoded(node: Node) -> Self {
        NodeView(Repr::Decoded(node))
    }

    /// Whether the view reads the record in place (rather than a node
    /// serde decoded).
    #[cfg(test)]
    pub(super) fn is_in_place(&self) -> bool {
        matches!(self.0, Repr::Record(_))
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        match &self.0 {
            Repr::Record(l) => NodeId(l.id),
            Repr::Decoded(n) => n.id,
        }
    }

    /// When it was created.
    pub fn created_at(&self) -> Timestamp {
        match &self.0 {
            Repr::Record(l) => Timestamp(l.created_at),
            Repr::Decoded(n) => n.created_at,
        }
    }

    /// When it was last changed.
    pub fn updated_at(&self) -> Timestamp {
        match &self.0 {
            Repr::Record(l) => Timestamp(l.updated_at),
            Repr::Decoded(n) => n.updated_at,
        }
    }

    /// Its labels, sorted and without duplicates.
    pub fn labels(&self) -> NodeLabels<'_> {
        NodeLabels(match &self.0 {
            Repr::Record(l) => LabelsRepr::Record(l.labels.labels()),
            Repr::Decoded(n) => LabelsRepr::Decoded(n.labels.iter()),
        })
    }

    /// Whether the node carries `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels().any(|l| l == label)
    }

    /// Its properties, in key order.
    pub fn properties(&self) -> NodeProperties<'_> {
        NodeProperties(match &self.0 {
            Repr::Record(l) => PropsRepr::Record(l.properties.properties()),
            Repr::Decoded(n) => PropsRepr::Decoded(n.properties.iter()),
        })
    }

    /// The value of property `key`, or `None` if the node has none.
    pub fn property(&self, key: &str) -> Option<ValueView<'_>> {
        match &self.0 {
            Repr::Record(l) => l.properties.find(key),
            Repr::Decoded(n) => n.properties.get(key).map(ValueView::from),
        }
    }

    /// How many properties the node has.
    pub fn property_count(&self) -> usize {
        match &self.0 {
            Repr::Record(l) => l.properties.count,
            Repr::Decoded(n) => n.properties.len(),
        }
    }

    /// The node, owned.
    pub fn to_node(&self) -> Node {
        match &self.0 {
            Repr::Record(_) => Node {
                id: self.id(),
                labels: self.labels().map(CompactString::new).collect(),
                properties: self.properties().map(|(k, v)| (k, v.to_value())).collect(),
                created_at: self.created_at(),
                updated_at: self.updated_at(),
            },
            Repr::Decoded(n) => n.clone(),
        }
    }
}

impl fmt::Debug for NodeView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeView")
            .field("id", &self.id())
            .field("labels", &self.labels())
            .field("properties", &self.properties())
            .field("created_at", &self.created_at())
            .field("updated_at", &self.updated_at())
            .finish()
    }
}

/// The labels of a [`NodeView`], in order.
#[derive(Clone)]
pub struct NodeLabels<'a>(LabelsRepr<'a>);

#[derive(Clone)]
enum LabelsRepr<'a> {
    Record(Strs<'a>),
    Decoded(std::slice::Iter<'a, CompactString>),
}

impl<'a> Iterator for NodeLabels<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match &mut self.0 {
            LabelsRepr::Record(it) => it.next(),
            LabelsRepr::Decoded(it) => it.next().map(CompactString::as_str),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            LabelsRepr::Record(it) => it.size_hint(),
            LabelsRepr::Decoded(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for NodeLabels<'_> {}

impl fmt::Debug for NodeLabels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// The properties of a [`NodeView`], in key order.
#[derive(Clone)]
pub struct NodeProperties<'a>(PropsRepr<'a>);

#[derive(Clone)]
enum PropsRepr<'a> {
    Record(Props<'a>),
    Decoded(properties::Iter<'a>),
}

impl<'a> Iterator for NodeProperties<'a> {
    type Item = (&'a str, ValueView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            PropsRepr::Record(it) => it.next(),
            PropsRepr::Decoded(it) => it.next().map(|(k, v)| (k.as_str(), ValueView::from(v))),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            PropsRepr::Record(it) => it.size_hint(),
            PropsRepr::Decoded(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for NodeProperties<'_> {}

impl fmt::Debug for NodeProperties<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.clone()).finish()
    }
}
