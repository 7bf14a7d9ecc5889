//! The mutations a store applies, alone or grouped in a batch. Defined
//! here, beside the model, so the codec can encode them (a replicated log
//! carries them); `graph-storage` applies them.

use crate::{CompactString, EdgeId, NodeId, Properties, PropertyValue};

/// One change to the graph. Applied alone by the `GraphStore` methods, many
/// at once by `graph_storage::GraphBatch`, or as a recorded list with
/// explicit ids by `GraphStore::apply` (graph-storage) (to
/// replay a log on another store).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Mutation {
    /// Create a node.
    CreateNode {
        /// Its id: reserved from the store, or, with
        /// `GraphStore::apply` (graph-storage), any id not in use.
        id: NodeId,
        /// Its labels (sorted and deduplicated on apply).
        labels: Vec<CompactString>,
        /// Its properties.
        properties: Properties,
    },
    /// Set (insert or replace) one property of a node.
    SetNodeProperty {
        /// The node.
        id: NodeId,
        /// The property key.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// Remove one property of a node (no-op when absent).
    RemoveNodeProperty {
        /// The node.
        id: NodeId,
        /// The property key.
        key: String,
    },
    /// Add a label to a node (no-op when present).
    AddLabel {
        /// The node.
        id: NodeId,
        /// The label.
        label: String,
    },
    /// Remove a label from a node (no-op when absent).
    RemoveLabel {
        /// The node.
        id: NodeId,
        /// The label.
        label: String,
    },
    /// Delete a node; with `detach`, delete its edges too, otherwise fail if
    /// it has any.
    DeleteNode {
        /// The node.
        id: NodeId,
        /// Whether to delete the node's edges as well.
        detach: bool,
    },
    /// Create an edge.
    CreateEdge {
        /// Its id, as for [`Mutation::CreateNode`].
        id: EdgeId,
        /// The source node, which must exist.
        src: NodeId,
        /// The target node, which must exist.
        dst: NodeId,
        /// The edge type.
        edge_type: String,
        /// Its properties.
        properties: Properties,
    },
    /// Set one property of an edge.
    SetEdgeProperty {
        /// The edge.
        id: EdgeId,
        /// The property key.
        key: String,
        /// The new value.
        value: PropertyValue,
    },
    /// Remove one property of an edge (no-op when absent).
    RemoveEdgeProperty {
        /// The edge.
        id: EdgeId,
        /// The property key.
        key: String,
    },
    /// Delete an edge.
    DeleteEdge {
        /// The edge.
        id: EdgeId,
    },
    /// Map an external id (from an imported file) to a node, so that later
    /// imports can refer to the node by it. The node must exist (or be
    /// created earlier in the same commit); an existing mapping of the same
    /// external id is replaced. Mappings are import metadata: deleting the
    /// node does not remove them, and
    /// `GraphReader::external_id` (graph-storage) reports
    /// only mappings to nodes that exist.
    MapExternalId {
        /// The id space (e.g. a Neo4j CSV `:ID(Space)` group; `""` for the
        /// global space). Must not contain a NUL byte.
        space: String,
        /// The external id, any string.
        external: String,
        /// The node it names.
        node: NodeId,
    },
}

/// A condition on the committed state that a conditional write
/// (`GraphStore::apply_if` in graph-storage, `ReplicatedStore::write_if` in
/// graph-raft) checks when it is applied, atomically with its mutations:
/// if any does not hold, nothing is written and the write fails with
/// [`Error::PreconditionFailed`](crate::Error::PreconditionFailed). A
/// read-modify-write over the network is made safe this way: read, then
/// write on the condition that what was read is unchanged.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Precondition {
    /// The node exists (`exists: true`) or does not.
    NodeExists {
        /// The node.
        id: NodeId,
        /// Whether it must exist.
        exists: bool,
    },
    /// The edge exists (`exists: true`) or does not.
    EdgeExists {
        /// The edge.
        id: EdgeId,
        /// Whether it must exist.
        exists: bool,
    },
    /// The node exists and its property `key` is `value` (`None`: the node
    /// has no property `key`).
    NodeProperty {
        /// The node.
        id: NodeId,
        /// The property key.
        key: String,
        /// The value it must have, or `None` for none.
        value: Option<PropertyValue>,
    },
    /// The edge exists and its property `key` is `value` (`None`: none).
    EdgeProperty {
        /// The edge.
        id: EdgeId,
        /// The property key.
        key: String,
        /// The value it must have, or `None` for none.
        value: Option<PropertyValue>,
    },
    /// The node has exactly `count` edges in `direction` (of `edge_type`
    /// only, if given; a self-loop counts twice with `Both`). `count: 0`
    /// says "no such edge yet".
    Degree {
        /// The node.
        node: NodeId,
        /// Which edges.
        direction: crate::Direction,
        /// Only edges of this type, if given.
        edge_type: Option<String>,
        /// How many there must be.
        count: u64,
    },
}
