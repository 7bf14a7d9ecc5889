//! # graph-algo: graph algorithms on a stored graph
//!
//! Runs on the adjacency a [`graph_storage::GraphStore`] holds in RAM, so a
//! durable store is analysed where it is, without exporting it:
//!
//! - [`Topology`]: the structure of a store frozen at one moment (its node
//!   ids, its adjacency, optionally a numeric edge property as weights),
//!   with petgraph's visit traits (`GraphBase`, `IntoNeighbors`,
//!   `IntoNeighborsDirected`, `IntoEdgeReferences`, `IntoEdges`,
//!   `IntoEdgesDirected`, `IntoNodeIdentifiers`, `NodeIndexable`,
//!   `NodeCount`, `EdgeCount`, `Visitable`, `Data`, `GraphProp`), so
//!   `petgraph::algo` and `petgraph::visit` run on it unchanged.
//! - Algorithms written for the adjacency, on all cores where the work
//!   splits: [`pagerank`], [`weakly_connected_components`],
//!   [`strongly_connected_components`], [`bfs`] (and k-hop reach),
//!   [`shortest_paths`] (by hops, or by weight with Dijkstra's
//!   algorithm), [`triangles`] (count, transitivity, local and average
//!   clustering). Each takes a progress callback and states its extra
//!   memory.
//!
//! ```
//! use graph_algo::{PageRankOptions, Topology, pagerank, no_progress};
//! use graph_storage::{GraphStore, MemoryBackend, Properties};
//!
//! let store = GraphStore::open(MemoryBackend::new())?;
//! let a = store.create_node(&["Page"], Properties::new())?;
//! let b = store.create_node(&["Page"], Properties::new())?;
//! store.create_edge(a, b, "LINKS", Properties::new())?;
//! let topology = Topology::of(&store, None)?;
//! let ranks = pagerank(&topology, &PageRankOptions::default(), &mut no_progress)?;
//! assert!(ranks.rank(b) > ranks.rank(a));
//! # Ok::<(), graph_algo::AlgoError>(())
//! ```
//!
//! What this crate is not: a query engine. It reads a snapshot's
//! structure and returns results by node id; writing results back is the
//! caller's (the `graphstore algo --write-property` command does it in one
//! batch).

mod components;
mod error;
mod pagerank;
mod paths;
mod progress;
mod topology;
mod triangles;
mod visit;

pub use components::{Components, strongly_connected_components, weakly_connected_components};
pub use error::{AlgoError, Result};
pub use pagerank::{PageRank, PageRankOptions, pagerank};
pub use paths::{Distances, bfs, shortest_paths};
pub use progress::{Progress, no_progress};
pub use topology::{TopoEdge, Topology};
pub use triangles::{Triangles, triangles};
pub use visit::{EdgeRefs, NodeIds, NodeMap};

/// petgraph, as this crate implements its traits (0.8).
pub use petgraph;
