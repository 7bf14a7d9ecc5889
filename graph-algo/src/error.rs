//! [`AlgoError`]: why an algorithm could not run.

use graph_storage::{EdgeId, NodeId};

/// Why an algorithm could not run on a stored graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlgoError {
    /// The store failed (an engine error, corruption).
    #[error(transparent)]
    Storage(#[from] graph_storage::Error),
    /// The store holds no adjacency in RAM, where the algorithms run.
    #[error("the graph's adjacency is not in RAM ({0}): algorithms run on it")]
    NoAdjacency(String),
    /// A node named as an argument does not exist.
    #[error("node {} does not exist", .0.0)]
    UnknownNode(NodeId),
    /// No edge has the weight property.
    #[error("no edge has a property {0:?} to weigh it by")]
    UnknownProperty(String),
    /// An edge has no value of the weight property.
    #[error("edge {} has no property {property:?} to weigh it by", .edge.0)]
    MissingWeight {
        /// The edge.
        edge: EdgeId,
        /// The weight property.
        property: String,
    },
    /// An edge's weight property is not a number.
    #[error("edge {}'s property {property:?} is not a number (weights must be integers or floats)", .edge.0)]
    NotANumber {
        /// The edge.
        edge: EdgeId,
        /// The weight property.
        property: String,
    },
    /// A weight the algorithm cannot use (negative, not finite).
    #[error("edge {} weighs {value}, and {algorithm} needs weights that are finite and not negative", .edge.0)]
    BadWeight {
        /// The edge.
        edge: EdgeId,
        /// Its weight.
        value: f64,
        /// The algorithm.
        algorithm: &'static str,
    },
    /// An argument out of its range (a damping factor above 1, ...).
    #[error("{0}")]
    InvalidArgument(String),
}

/// The result of an algorithm.
pub type Result<T, E = AlgoError> = std::result::Result<T, E>;
