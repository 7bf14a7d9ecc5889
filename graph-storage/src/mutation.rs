//! The mutations a store applies: defined in `graph-core` (so its codec can
//! encode them for a replicated log), applied here.

pub use graph_core::Mutation;
