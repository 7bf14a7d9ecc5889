//! The network between the members of a cluster: openraft's
//! [`RaftNetworkFactory`](openraft::network::RaftNetworkFactory) and
//! [`RaftNetwork`](openraft::network::RaftNetwork), twice.
//!
//! * [`http`]: HTTP/1.1 between processes. A member serves
//!   [`http::raft_routes`] and reaches its peers through
//!   [`http::HttpNetwork`]; every body is the codec's envelope
//!   ([`crate::codec::encode_envelope`]), so the wire
//!   format is written down in one place with the rest of the bytes.
//! * [`router`]: an in-process [`router::Router`] that hands each RPC
//!   straight to the target's [`Raft`](crate::Raft), for deterministic
//!   tests: members can be killed, isolated and links cut and healed.
//!
//! * [`tls`]: https for [`http`] with rustls: [`tls::serve_tls`] on the
//!   server, [`http::HttpNetwork::with_tls`] on the client.
//! * [`auth`]: the shared token every request to a member carries
//!   ([`auth::require_token`] on the server, [`http::HttpNetwork::with_token`]
//!   on the client).
//!
//! Both networks map failures the same way, which is what openraft's replication
//! acts on:
//! * the target cannot be reached (not running, connection refused, a
//!   cut link, a request that outlived its time to live):
//!   [`RPCError::Unreachable`](openraft::error::RPCError::Unreachable),
//!   and openraft backs off before trying that member again;
//! * the target answered something that is not an answer (an HTTP error
//!   status, an undecodable body):
//!   [`RPCError::Network`](openraft::error::RPCError::Network);
//! * the target's Raft answered with an error:
//!   [`RPCError::RemoteError`](openraft::error::RPCError::RemoteError),
//!   naming the target.
//!
//! Snapshots travel as `install_snapshot` chunks (openraft's default
//! `full_snapshot`), so neither network needs to know what a snapshot
//! file holds.

pub mod auth;
pub mod http;
pub mod router;
pub mod tls;
