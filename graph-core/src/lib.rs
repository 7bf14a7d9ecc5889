//! # graph-core: the model and the storage contract of graph-storage
//!
//! This crate defines what a property graph is (nodes with labels and
//! properties, typed edges with properties, `u64` ids), the byte-level
//! [`StorageBackend`] trait every storage engine implements, the one
//! [`Error`] type of the workspace, and the [`codec`] that owns every byte
//! layout. **It depends on no storage engine**, directly or transitively;
//! CI checks this.
//!
//! ## Design
//! A store has four column families ([`ColumnFamily`]):
//!
//! | family | holds | key |
//! |---|---|---|
//! | `default` | format version, id counters, counts, symbol dictionary, index catalog | tagged, see [`codec::meta`] |
//! | `nodes` | node records | 8-byte big-endian node id |
//! | `edges` | edge records | 8-byte big-endian edge id |
//! | `indices` | adjacency (both directions), label index, property indexes | tagged, fixed-width ids |
//!
//! Because ids are big-endian, key order is id order. Values are a
//! format-version byte followed by bincode of a serde struct. Labels and
//! edge types are interned to `u32` symbols in index keys, so every index
//! key has a fixed-width prefix. docs/FORMAT.md specifies every byte.
//!
//! ## Durability
//! Every write names a [`Durability`]: `Strict` (fsynced before it is
//! acknowledged; the default) or `Background` (in OS buffers when
//! acknowledged: survives a process crash, may lose the last writes on
//! power loss). Batches are atomic across column families in both modes.
//!
//! ## What this crate is not
//! It holds no graph logic (that is `graph-storage`) and no engine (those are
//! `storage-memory` and `storage-rocksdb`).

mod backend;
mod bulk;
mod cf;
pub mod codec;
mod error;
mod model;
mod mutation;
pub mod properties;

pub use backend::{
    BatchOp, Durability, KeyRange, MultiValueVisitor, ReadView, ScanDirection, StorageBackend,
    ValueVisitor, Visitor, WriteBatch, prefix_end,
};
pub use bulk::BulkSink;
pub use cf::ColumnFamily;
pub use codec::{NodeLabels, NodeProperties, NodeView, ValueView};
/// The string type of labels, property keys and string values: stored
/// inline up to 24 bytes, on the heap beyond (re-exported from
/// `compact_str`).
pub use compact_str::CompactString;
pub use error::{Constraint, Error, ErrorKind, Result};
pub use model::{Direction, Edge, EdgeId, Node, NodeId, Properties, PropertyValue, Timestamp};
pub use mutation::{Mutation, Precondition};
