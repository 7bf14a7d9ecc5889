//! # graph-raft: replication of a graph store on openraft
//!
//! A cluster of members each holds a full copy of the graph. Writes are
//! [`Command`]s proposed to the leader, appended to a Raft log that is
//! durable on a majority before the write is acknowledged, and applied in
//! log order by every member's state machine to its own
//! [`GraphStore`](graph_storage::GraphStore) through
//! [`GraphStore::apply_with_state`](graph_storage::GraphStore::apply_with_state),
//! with the leader's time stamp and ids fixed in the log, so every replica
//! holds byte-identical records.
//!
//! The pieces, each openraft's own trait:
//! * [`LogStore`] (`RaftLogStorage`): the log, vote and committed index in
//!   a [`StorageBackend`](graph_core::StorageBackend) of its own (its own
//!   directory), written `Strict` by default: an append is acknowledged to
//!   openraft only once fsynced.
//! * [`StateMachine`] (`RaftStateMachine`): the graph store; the last
//!   applied log id and membership are written in the same atomic batch as
//!   each entry's effects; snapshots are files streamed in bounded memory.
//! * [`network`]: openraft's network over HTTP on loopback
//!   ([`network::http`]), and an in-process router for deterministic tests
//!   ([`network::router`]).
//! * [`ReplicatedStore`]: the handle applications use: writes through the
//!   leader, linearizable or local reads, membership changes.
//!
//! What this crate is not: a query layer, or a way to shard a graph. Every
//! member holds the whole graph.

#[allow(
    clippy::big_endian_bytes,
    clippy::little_endian_bytes,
    reason = "the codec owns every byte layout of replication"
)]
pub mod codec;
mod log_store;
pub mod network;
mod replicated;
mod snapshot;
mod state_machine;
mod types;

pub use codec::RequestId;
pub use log_store::{LogStore, REPLICATION_BATCH_BYTES};
pub use replicated::{MAX_COMMAND_BYTES, ReadMode, ReplicatedStore, WriteBatch, default_config};
pub use state_machine::{REQUEST_WINDOW, StateMachine};
pub use types::{
    Command, Entry, LogId, MemberId, PLACEHOLDER, Raft, Response, StorageError, StoredMembership,
    TypeConfig, Vote, placeholder_edge, placeholder_node,
};

/// Converts an engine error into openraft's storage error.
pub(crate) fn storage_io(
    subject: openraft::ErrorSubject<MemberId>,
    verb: openraft::ErrorVerb,
    e: &graph_core::Error,
) -> StorageError {
    openraft::StorageIOError::new(subject, verb, openraft::AnyError::new(e)).into()
}
