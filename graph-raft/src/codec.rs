//! Bytes of replication, owned by graph-raft as graph-core owns the
//! store's: the commands a Raft log carries, the keys of the log store, the replication state kept in a
//! graph store's `default` family, snapshot files and the envelope of
//! every other value (Raft's own structures, wire messages).
//!
//! Layouts (docs/FORMAT.md, "Replication"):
//! * A command is `COMMAND_VERSION | bincode(Command)`; a [`Mutation`] in a
//!   command is encoded by a private mirror enum whose variant indices are
//!   the tags below (pinned by golden tests: append variants, never
//!   reorder).
//! * Any other replicated value (log entries, votes, log ids, membership,
//!   wire messages) is `ENVELOPE_VERSION | bincode(value)`, bounded by
//!   [`MAX_ENVELOPE_BYTES`].
//! * Log store keys: [`log_key`]. Replication state in the graph store:
//!   [`state_key`]. Snapshot files: [`snapshot`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use graph_core::{
    ColumnFamily, CompactString, Direction, EdgeId, Error, Mutation, NodeId, Precondition,
    Properties, PropertyValue, Result,
};

/// The first byte of an encoded [`Command`].
pub const COMMAND_VERSION: u8 = 1;
/// The first byte of every other replicated value (see [`encode_envelope`]).
pub const ENVELOPE_VERSION: u8 = 1;
/// The largest envelope or command accepted on write and on read.
pub const MAX_ENVELOPE_BYTES: usize = 256 << 20;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_ENVELOPE_BYTES>,
>;

const CONFIG: Config = bincode::config::standard().with_limit::<MAX_ENVELOPE_BYTES>();

/// One replicated command: what a Raft log entry asks every replica to do.
///
/// Time stamps and ids are part of the command, so every replica writes
/// byte-identical records: `at` is the time the leader stamped the
/// command with (`created_at`/`updated_at` of everything it touches), and
/// created nodes and edges carry ids (see `graph-raft` for how placeholder
/// ids are resolved at apply time).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Apply mutations atomically (all or none).
    Apply {
        /// The leader's time stamp, microseconds since the Unix epoch.
        at: i64,
        /// The mutations, in order.
        mutations: Vec<Mutation>,
    },
    /// Declare a property index (and build it).
    CreateIndex {
        /// The label.
        label: String,
        /// The property key.
        property: String,
    },
    /// Drop a property index.
    DropIndex {
        /// The label.
        label: String,
        /// The property key.
        property: String,
    },
    /// [`Apply`](Command::Apply) at most once per `request`: a replica
    /// that has applied a command with the same request id (within the
    /// window the state machine remembers) answers the first answer again
    /// and changes nothing.
    ApplyOnce {
        /// The client's id of this write, the same on every retry.
        request: RequestId,
        /// The leader's time stamp, microseconds since the Unix epoch.
        at: i64,
        /// The mutations, in order.
        mutations: Vec<Mutation>,
    },
    /// [`Apply`](Command::Apply) if every precondition holds on the state
    /// the mutations apply to (checked by each replica's state machine,
    /// atomically with the write); otherwise nothing is applied and the
    /// write is rejected with `PreconditionFailed` on every replica.
    ApplyIf {
        /// With an id, applied at most once per id as
        /// [`ApplyOnce`](Command::ApplyOnce) is: a retry gets the first
        /// answer (not a rejection by its own, already applied, effects).
        request: Option<RequestId>,
        /// The leader's time stamp, microseconds since the Unix epoch.
        at: i64,
        /// The conditions, checked in order.
        preconditions: Vec<Precondition>,
        /// The mutations, in order.
        mutations: Vec<Mutation>,
    },
}

/// A client-chosen id of one write, 16 bytes (random, or a random prefix
/// and a counter): retried with the same id, the write is applied once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId(pub [u8; 16]);

impl RequestId {
    /// The id as 32 lowercase hex digits (how the wire carries it).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The id written as 32 hex digits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for anything else.
    pub fn from_hex(text: &str) -> Result<RequestId> {
        let bad = || Error::invalid(format!("request id {text:?} is not 32 hex digits"));
        if text.len() != 32 || !text.is_ascii() {
            return Err(bad());
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(RequestId(id))
    }
}

/// The stable tags of [`Mutation`] variants in a command (their bincode
/// variant index).
pub mod mutation_tag {
    /// `CreateNode`.
    pub const CREATE_NODE: u8 = 0;
    /// `SetNodeProperty`.
    pub const SET_NODE_PROPERTY: u8 = 1;
    /// `RemoveNodeProperty`.
    pub const REMOVE_NODE_PROPERTY: u8 = 2;
    /// `AddLabel`.
    pub const ADD_LABEL: u8 = 3;
    /// `RemoveLabel`.
    pub const REMOVE_LABEL: u8 = 4;
    /// `DeleteNode`.
    pub const DELETE_NODE: u8 = 5;
    /// `CreateEdge`.
    pub const CREATE_EDGE: u8 = 6;
    /// `SetEdgeProperty`.
    pub const SET_EDGE_PROPERTY: u8 = 7;
    /// `RemoveEdgeProperty`.
    pub const REMOVE_EDGE_PROPERTY: u8 = 8;
    /// `DeleteEdge`.
    pub const DELETE_EDGE: u8 = 9;
    /// `MapExternalId`.
    pub const MAP_EXTERNAL_ID: u8 = 10;
}

/// The stable tags of [`Command`] variants (their bincode variant index).
pub mod command_tag {
    /// `Apply`.
    pub const APPLY: u8 = 0;
    /// `CreateIndex`.
    pub const CREATE_INDEX: u8 = 1;
    /// `DropIndex`.
    pub const DROP_INDEX: u8 = 2;
    /// `ApplyOnce`.
    pub const APPLY_ONCE: u8 = 3;
    /// `ApplyIf`.
    pub const APPLY_IF: u8 = 4;
}

/// The stable tags of [`Precondition`] variants in a command.
pub mod precondition_tag {
    /// `NodeExists`.
    pub const NODE_EXISTS: u8 = 0;
    /// `EdgeExists`.
    pub const EDGE_EXISTS: u8 = 1;
    /// `NodeProperty`.
    pub const NODE_PROPERTY: u8 = 2;
    /// `EdgeProperty`.
    pub const EDGE_PROPERTY: u8 = 3;
    /// `Degree`.
    pub const DEGREE: u8 = 4;
}

/// The stable codes of a [`Direction`] in a precondition.
pub mod direction_code {
    /// `Outgoing`.
    pub const OUTGOING: u8 = 0;
    /// `Incoming`.
    pub const INCOMING: u8 = 1;
    /// `Both`.
    pub const BOTH: u8 = 2;
}

// The mirrors below define the layout: the variant order IS the tag order
// of `mutation_tag` and `command_tag`. Append only.

#[derive(Serialize)]
enum MutationRef<'a> {
    CreateNode(u64, &'a [CompactString], &'a Properties),
    SetNodeProperty(u64, &'a str, &'a PropertyValue),
    RemoveNodeProperty(u64, &'a str),
    AddLabel(u64, &'a str),
    RemoveLabel(u64, &'a str),
    DeleteNode(u64, bool),
    CreateEdge(u64, u64, u64, &'a str, &'a Properties),
    SetEdgeProperty(u64, &'a str, &'a PropertyValue),
    RemoveEdgeProperty(u64, &'a str),
    DeleteEdge(u64),
    MapExternalId(&'a str, &'a str, u64),
}

#[derive(Deserialize)]
enum MutationOwned {
    CreateNode(u64, Vec<CompactString>, Properties),
    SetNodeProperty(u64, String, PropertyValue),
    RemoveNodeProperty(u64, String),
    AddLabel(u64, String),
    RemoveLabel(u64, String),
    DeleteNode(u64, bool),
    CreateEdge(u64, u64, u64, String, Properties),
    SetEdgeProperty(u64, String, PropertyValue),
    RemoveEdgeProperty(u64, String),
    DeleteEdge(u64),
    MapExternalId(String, String, u64),
}

#[derive(Serialize)]
enum CommandRef<'a> {
    Apply(i64, Vec<MutationRef<'a>>),
    CreateIndex(&'a str, &'a str),
    DropIndex(&'a str, &'a str),
    ApplyOnce([u8; 16], i64, Vec<MutationRef<'a>>),
    ApplyIf(
        Option<[u8; 16]>,
        i64,
        Vec<PreconditionRef<'a>>,
        Vec<MutationRef<'a>>,
    ),
}

#[derive(Serialize)]
enum PreconditionRef<'a> {
    NodeExists(u64, bool),
    EdgeExists(u64, bool),
    NodeProperty(u64, &'a str, Option<&'a PropertyValue>),
    EdgeProperty(u64, &'a str, Option<&'a PropertyValue>),
    Degree(u64, u8, Option<&'a str>, u64),
}

#[derive(Deserialize)]
enum PreconditionOwned {
    NodeExists(u64, bool),
    EdgeExists(u64, bool),
    NodeProperty(u64, String, Option<PropertyValue>),
    EdgeProperty(u64, String, Option<PropertyValue>),
    Degree(u64, u8, Option<String>, u64),
}

#[derive(Deserialize)]
enum CommandOwned {
    Apply(i64, Vec<MutationOwned>),
    CreateIndex(String, String),
    DropIndex(String, String),
    ApplyOnce([u8; 16], i64, Vec<MutationOwned>),
    ApplyIf(
        Option<[u8; 16]>,
        i64,
        Vec<PreconditionOwned>,
        Vec<MutationOwned>,
    ),
}

/// The mirror of `m`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a kind of mutation added to graph-core
/// after this codec (its tag is not allocated yet).
fn mutation_ref(m: &Mutation) -> Result<MutationRef<'_>> {
    use MutationRef as R;
    Ok(match m {
        Mutation::CreateNode {
            id,
            labels,
            properties,
        } => R::CreateNode(id.0, labels, properties),
        Mutation::SetNodeProperty { id, key, value } => R::SetNodeProperty(id.0, key, value),
        Mutation::RemoveNodeProperty { id, key } => R::RemoveNodeProperty(id.0, key),
        Mutation::AddLabel { id, label } => R::AddLabel(id.0, label),
        Mutation::RemoveLabel { id, label } => R::RemoveLabel(id.0, label),
        Mutation::DeleteNode { id, detach } => R::DeleteNode(id.0, *detach),
        Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type,
            properties,
        } => R::CreateEdge(id.0, src.0, dst.0, edge_type, properties),
        Mutation::SetEdgeProperty { id, key, value } => R::SetEdgeProperty(id.0, key, value),
        Mutation::RemoveEdgeProperty { id, key } => R::RemoveEdgeProperty(id.0, key),
        Mutation::DeleteEdge { id } => R::DeleteEdge(id.0),
        Mutation::MapExternalId {
            space,
            external,
            node,
        } => R::MapExternalId(space, external, node.0),
        other => {
            return Err(Error::invalid(format!(
                "a mutation this build of graph-raft cannot replicate: {other:?}"
            )));
        }
    })
}

/// The mirror of `p`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a kind of precondition added to
/// graph-core after this codec.
fn precondition_ref(p: &Precondition) -> Result<PreconditionRef<'_>> {
    use PreconditionRef as R;
    Ok(match p {
        Precondition::NodeExists { id, exists } => R::NodeExists(id.0, *exists),
        Precondition::EdgeExists { id, exists } => R::EdgeExists(id.0, *exists),
        Precondition::NodeProperty { id, key, value } => R::NodeProperty(id.0, key, value.as_ref()),
        Precondition::EdgeProperty { id, key, value } => R::EdgeProperty(id.0, key, value.as_ref()),
        Precondition::Degree {
            node,
            direction,
            edge_type,
            count,
        } => R::Degree(
            node.0,
            match direction {
                Direction::Outgoing => direction_code::OUTGOING,
                Direction::Incoming => direction_code::INCOMING,
                Direction::Both => direction_code::BOTH,
            },
            edge_type.as_deref(),
            *count,
        ),
        other => {
            return Err(Error::invalid(format!(
                "a precondition this build of graph-raft cannot replicate: {other:?}"
            )));
        }
    })
}

/// The precondition `p` mirrors.
///
/// # Errors
/// Corruption (against `what`) for an unknown direction code.
fn precondition_owned(what: &[u8], p: PreconditionOwned) -> Result<Precondition> {
    use PreconditionOwned as O;
    Ok(match p {
        O::NodeExists(id, exists) => Precondition::NodeExists {
            id: NodeId(id),
            exists,
        },
        O::EdgeExists(id, exists) => Precondition::EdgeExists {
            id: EdgeId(id),
            exists,
        },
        O::NodeProperty(id, key, value) => Precondition::NodeProperty {
            id: NodeId(id),
            key,
            value,
        },
        O::EdgeProperty(id, key, value) => Precondition::EdgeProperty {
            id: EdgeId(id),
            key,
            value,
        },
        O::Degree(node, direction, edge_type, count) => Precondition::Degree {
            node: NodeId(node),
            direction: match direction {
                direction_code::OUTGOING => Direction::Outgoing,
                direction_code::INCOMING => Direction::Incoming,
                direction_code::BOTH => Direction::Both,
                other => {
                    return Err(Error::corruption(
                        ColumnFamily::Default,
                        what,
                        format!("unknown direction code {other} in a precondition"),
                    ));
                }
            },
            edge_type,
            count,
        },
    })
}

fn mutation_owned(m: MutationOwned) -> Mutation {
    use MutationOwned as O;
    match m {
        O::CreateNode(id, labels, properties) => Mutation::CreateNode {
            id: NodeId(id),
            labels,
            properties,
        },
        O::SetNodeProperty(id, key, value) => Mutation::SetNodeProperty {
            id: NodeId(id),
            key,
            value,
        },
        O::RemoveNodeProperty(id, key) => Mutation::RemoveNodeProperty {
            id: NodeId(id),
            key,
        },
        O::AddLabel(id, label) => Mutation::AddLabel {
            id: NodeId(id),
            label,
        },
        O::RemoveLabel(id, label) => Mutation::RemoveLabel {
            id: NodeId(id),
            label,
        },
        O::DeleteNode(id, detach) => Mutation::DeleteNode {
            id: NodeId(id),
            detach,
        },
        O::CreateEdge(id, src, dst, edge_type, properties) => Mutation::CreateEdge {
            id: EdgeId(id),
            src: NodeId(src),
            dst: NodeId(dst),
            edge_type,
            properties,
        },
        O::SetEdgeProperty(id, key, value) => Mutation::SetEdgeProperty {
            id: EdgeId(id),
            key,
            value,
        },
        O::RemoveEdgeProperty(id, key) => Mutation::RemoveEdgeProperty {
            id: EdgeId(id),
            key,
        },
        O::DeleteEdge(id) => Mutation::DeleteEdge { id: EdgeId(id) },
        O::MapExternalId(space, external, node) => Mutation::MapExternalId {
            space,
            external,
            node: NodeId(node),
        },
    }
}

/// Encodes a command: [`COMMAND_VERSION`], then bincode of the command.
///
/// # Errors
/// [`Error::InvalidArgument`] if the command is larger than
/// [`MAX_ENVELOPE_BYTES`].
pub fn encode_command(command: &Command) -> Result<Vec<u8>> {
    let mirror = match command {
        Command::Apply { at, mutations } => CommandRef::Apply(
            *at,
            mutations.iter().map(mutation_ref).collect::<Result<_>>()?,
        ),
        Command::CreateIndex { label, property } => CommandRef::CreateIndex(label, property),
        Command::DropIndex { label, property } => CommandRef::DropIndex(label, property),
        Command::ApplyOnce {
            request,
            at,
            mutations,
        } => CommandRef::ApplyOnce(
            request.0,
            *at,
            mutations.iter().map(mutation_ref).collect::<Result<_>>()?,
        ),
        Command::ApplyIf {
            request,
            at,
            preconditions,
            mutations,
        } => CommandRef::ApplyIf(
            request.map(|r| r.0),
            *at,
            preconditions
                .iter()
                .map(precondition_ref)
                .collect::<Result<_>>()?,
            mutations.iter().map(mutation_ref).collect::<Result<_>>()?,
        ),
    };
    let mut out = vec![COMMAND_VERSION];
    bincode::serde::encode_into_std_write(&mirror, &mut out, CONFIG)
        .map_err(|e| Error::invalid(format!("cannot encode command: {e}")))?;
    Ok(out)
}

/// Decodes a command written by [`encode_command`].
///
/// # Errors
/// A corruption error (reported against the `default` family and `what`)
/// for an unknown version, undecodable or trailing bytes.
pub fn decode_command(what: &[u8], bytes: &[u8]) -> Result<Command> {
    let command: CommandOwned = decode_versioned(COMMAND_VERSION, "command", what, bytes)?;
    Ok(match command {
        CommandOwned::Apply(at, mutations) => Command::Apply {
            at,
            mutations: mutations.into_iter().map(mutation_owned).collect(),
        },
        CommandOwned::CreateIndex(label, property) => Command::CreateIndex { label, property },
        CommandOwned::DropIndex(label, property) => Command::DropIndex { label, property },
        CommandOwned::ApplyOnce(request, at, mutations) => Command::ApplyOnce {
            request: RequestId(request),
            at,
            mutations: mutations.into_iter().map(mutation_owned).collect(),
        },
        CommandOwned::ApplyIf(request, at, preconditions, mutations) => Command::ApplyIf {
            request: request.map(RequestId),
            at,
            preconditions: preconditions
                .into_iter()
                .map(|p| precondition_owned(what, p))
                .collect::<Result<_>>()?,
            mutations: mutations.into_iter().map(mutation_owned).collect(),
        },
    })
}

impl Serialize for Command {
    /// A command inside another serde value (a Raft log entry, a wire
    /// message) is the byte string of [`encode_command`].
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let bytes = encode_command(self).map_err(serde::ser::Error::custom)?;
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bytes = serde_bytes_owned(d)?;
        decode_command(b"command", &bytes).map_err(serde::de::Error::custom)
    }
}

/// Reads a byte string (or a sequence of bytes, for self-describing
/// formats) as a vector.
fn serde_bytes_owned<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
    struct BytesVisitor;
    impl<'de> serde::de::Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> std::result::Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(
            self,
            v: Vec<u8>,
        ) -> std::result::Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
    d.deserialize_byte_buf(BytesVisitor)
}

/// Encodes any replicated value: [`ENVELOPE_VERSION`], then bincode
/// (standard configuration) of its serde form.
///
/// # Errors
/// [`Error::InvalidArgument`] if it cannot be encoded or is larger than
/// [`MAX_ENVELOPE_BYTES`].
pub fn encode_envelope<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = vec![ENVELOPE_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, CONFIG)
        .map_err(|e| Error::invalid(format!("cannot encode replicated value: {e}")))?;
    Ok(out)
}

/// Decodes a value written by [`encode_envelope`]; `key` names where the
/// bytes came from in the error.
///
/// # Errors
/// A corruption error (against the `default` family and `key`) for an
/// unknown version, undecodable or trailing bytes.
pub fn decode_envelope<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    decode_versioned(ENVELOPE_VERSION, "replicated value", key, bytes)
}

fn decode_versioned<T: DeserializeOwned>(
    expected: u8,
    what: &str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T> {
    let bad = |why: String| Error::corruption(ColumnFamily::Default, key, why);
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| bad(format!("empty {what}")))?;
    if version != expected {
        return Err(bad(format!(
            "unknown {what} version {version} (this build reads {expected})"
        )));
    }
    let (value, read) = bincode::serde::decode_from_slice::<T, _>(body, CONFIG)
        .map_err(|e| bad(format!("undecodable {what}: {e}")))?;
    if read != body.len() {
        return Err(bad(format!(
            "{} trailing bytes after {what}",
            body.len() - read
        )));
    }
    Ok(value)
}

/// Keys of a Raft log store: a backend of its own (its own directory),
/// using only the `default` family.
pub mod log_key {
    use graph_core::{ColumnFamily, Error, Result};

    /// Tag of scalar keys (`01 | ascii name`).
    pub const TAG_SCALAR: u8 = 0x01;
    /// Tag of log entries (`02 | index as u64 big-endian`).
    pub const TAG_ENTRY: u8 = 0x02;

    /// The format of the log store (value: `u32` big-endian); this build
    /// writes [`LOG_FORMAT`].
    pub const FORMAT: &[u8] = b"\x01log_format";
    /// The current vote (value: envelope of openraft's `Vote`).
    pub const VOTE: &[u8] = b"\x01vote";
    /// The last committed log id (value: envelope of `Option<LogId>`).
    pub const COMMITTED: &[u8] = b"\x01committed";
    /// The last purged log id (value: envelope of `Option<LogId>`).
    pub const PURGED: &[u8] = b"\x01purged";

    /// The log store format this build writes and reads.
    pub const LOG_FORMAT: u32 = 1;

    /// The key of the entry at `index`.
    pub fn entry(index: u64) -> [u8; 9] {
        let mut k = [0u8; 9];
        k[0] = TAG_ENTRY;
        k[1..].copy_from_slice(&index.to_be_bytes());
        k
    }

    /// The log index of an entry key.
    ///
    /// # Errors
    /// A corruption error unless `key` is an entry key.
    pub fn decode_entry(key: &[u8]) -> Result<u64> {
        match key {
            [TAG_ENTRY, rest @ ..] if rest.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(rest);
                Ok(u64::from_be_bytes(b))
            }
            _ => Err(Error::corruption(
                ColumnFamily::Default,
                key,
                "not a log entry key",
            )),
        }
    }
}

/// Keys of the replication state a replica keeps in its graph store's
/// `default` family, written in the same batch as the effects of the
/// entry they describe. Tag `06` is reserved for them; the graph layer
/// never reads it.
pub mod state_key {
    /// Tag of replication state keys (`06 | ascii name`): the tag the
    /// store reserves for them ([`graph_core::codec::meta::TAG_REPLICATION`]).
    pub const TAG_REPLICATION: u8 = graph_core::codec::meta::TAG_REPLICATION;
    /// The last applied log id (value: envelope of `Option<LogId>`).
    pub const LAST_APPLIED: &[u8] = b"\x06last_applied";
    /// The last applied membership (value: envelope of openraft's
    /// `StoredMembership`).
    pub const MEMBERSHIP: &[u8] = b"\x06membership";
    /// The next node id the state machine hands out (value: `u64`
    /// big-endian, as [`graph_core::codec::encode_u64_value`]).
    pub const NEXT_NODE_ID: &[u8] = b"\x06next_node_id";
    /// The next edge id the state machine hands out.
    pub const NEXT_EDGE_ID: &[u8] = b"\x06next_edge_id";
    /// Present while a snapshot is being installed (value: the snapshot
    /// id, UTF-8): a replica that finds it on start installs its current
    /// snapshot file again before serving.
    pub const INSTALLING: &[u8] = b"\x06installing";
    /// Key prefix of the requests applied recently
    /// ([`Command::ApplyOnce`]): `06 | "request/" | request id (16
    /// bytes)`; value: envelope of the log index that applied it and the
    /// answer it was given (graph-raft's `Recorded`).
    pub const REQUEST: &[u8] = b"\x06request/";
    /// Key prefix of the same requests by log index: `06 | "request_at/"
    /// | index (u64 big-endian)`; value: the request id (16 bytes).
    pub const REQUEST_AT: &[u8] = b"\x06request_at/";
    /// The smallest log index whose request record may still exist (value:
    /// `u64` big-endian): records of older indexes have been forgotten.
    pub const REQUEST_OLDEST: &[u8] = b"\x06request_oldest";

    /// The key of request `id`'s record.
    pub fn request(id: &super::RequestId) -> Vec<u8> {
        [REQUEST, &id.0[..]].concat()
    }

    /// The key of the request applied at log `index`.
    pub fn request_at(index: u64) -> Vec<u8> {
        [REQUEST_AT, &index.to_be_bytes()[..]].concat()
    }
}

/// Snapshot files: [`MAGIC`](snapshot::MAGIC), the snapshot's metadata
/// as a `u32` LE length and an envelope, then one entry per stored pair,
/// `family byte | key length u32 LE | value length u32 LE | key | value`
/// (family bytes are the positions in [`ColumnFamily::ALL`]), then a
/// trailer: [`END`](snapshot::END), the entry count (`u64` LE) and the
/// xxh3-64 of every byte before it (`u64` LE).
pub mod snapshot {
    use std::io::{self, Read, Write};

    use graph_core::ColumnFamily;

    /// The first eight bytes of a snapshot file.
    pub const MAGIC: &[u8; 8] = b"GSSNAP01";
    /// The family byte that starts the trailer.
    pub const END: u8 = 0xFF;
    /// The largest metadata envelope accepted.
    pub const MAX_META_BYTES: u32 = 64 << 20;

    /// Writes the header: magic and the metadata envelope.
    ///
    /// # Errors
    /// I/O errors; metadata larger than [`MAX_META_BYTES`].
    pub fn write_header(out: &mut impl Write, meta: &[u8]) -> io::Result<()> {
        let len = u32::try_from(meta.len())
            .ok()
            .filter(|&l| l <= MAX_META_BYTES)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "snapshot metadata too large")
            })?;
        out.write_all(MAGIC)?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(meta)
    }

    /// Reads the header and returns the metadata envelope.
    ///
    /// # Errors
    /// `InvalidData` for a wrong magic or an oversized length; I/O errors.
    pub fn read_header(input: &mut impl Read) -> io::Result<Vec<u8>> {
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a graph-raft snapshot file",
            ));
        }
        let mut len = [0u8; 4];
        input.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len);
        if len > MAX_META_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "snapshot metadata too large",
            ));
        }
        let mut meta = vec![0u8; len as usize];
        input.read_exact(&mut meta)?;
        Ok(meta)
    }

    /// Writes one stored pair.
    ///
    /// # Errors
    /// I/O errors; a key or value longer than `u32::MAX` bytes.
    pub fn write_entry(
        out: &mut impl Write,
        cf: ColumnFamily,
        key: &[u8],
        value: &[u8],
    ) -> io::Result<()> {
        out.write_all(&[cf_byte(cf)])?;
        graph_core::codec::spill::write_entry(out, key, value)
    }

    /// What [`read_item`] found next.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Item {
        /// A pair of this family (key and value are in the buffers).
        Entry(ColumnFamily),
        /// The trailer: the entry count and the checksum it records.
        End {
            /// The number of entries written.
            count: u64,
            /// The xxh3-64 of every byte before the checksum.
            checksum: u64,
        },
    }

    /// Reads the next entry (into `key` and `value`) or the trailer.
    /// `hashed` receives every byte read that the checksum covers.
    ///
    /// # Errors
    /// `InvalidData` for an unknown family byte, `UnexpectedEof` for a
    /// truncated file; I/O errors.
    pub fn read_item(
        input: &mut impl Read,
        key: &mut Vec<u8>,
        value: &mut Vec<u8>,
        hashed: &mut dyn FnMut(&[u8]),
    ) -> io::Result<Item> {
        let mut tag = [0u8; 1];
        input.read_exact(&mut tag)?;
        hashed(&tag);
        if tag[0] == END {
            let mut count = [0u8; 8];
            input.read_exact(&mut count)?;
            hashed(&count);
            let mut checksum = [0u8; 8];
            input.read_exact(&mut checksum)?;
            return Ok(Item::End {
                count: u64::from_le_bytes(count),
                checksum: u64::from_le_bytes(checksum),
            });
        }
        let cf = ColumnFamily::ALL
            .get(usize::from(tag[0]))
            .copied()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unknown column family in snapshot",
                )
            })?;
        if !graph_core::codec::spill::read_entry(input, key, value)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let klen = u32::try_from(key.len()).unwrap_or(u32::MAX).to_le_bytes();
        let vlen = u32::try_from(value.len()).unwrap_or(u32::MAX).to_le_bytes();
        hashed(&klen);
        hashed(&vlen);
        hashed(key);
        hashed(value);
        Ok(Item::Entry(cf))
    }

    /// Writes the trailer: [`END`], `count`, then `checksum(bytes so far
    /// including END and count)` as computed by the caller's `finish`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_trailer(
        out: &mut impl Write,
        count: u64,
        finish: impl FnOnce(&[u8]) -> u64,
    ) -> io::Result<()> {
        let mut head = [0u8; 9];
        head[0] = END;
        head[1..].copy_from_slice(&count.to_le_bytes());
        out.write_all(&head)?;
        let checksum = finish(&head);
        out.write_all(&checksum.to_le_bytes())
    }

    /// The family byte of `cf`: its position in [`ColumnFamily::ALL`].
    pub fn cf_byte(cf: ColumnFamily) -> u8 {
        match cf {
            ColumnFamily::Default => 0,
            ColumnFamily::Nodes => 1,
            ColumnFamily::Edges => 2,
            ColumnFamily::Indices => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`golden_apply_if_bytes`]'s command, byte for byte: version, tag,
    /// no request id (`00`), `at` (zigzag varint), then each precondition as its tag and fields
    /// (ids as varints, `Option` as 0 or 1 and the value, strings as
    /// length and bytes, the value `Int(5)` as its tag 2 and zigzag 10),
    /// then the mutations.
    const GOLDEN_APPLY_IF: &[u8] = &[
        COMMAND_VERSION,
        command_tag::APPLY_IF,
        0,
        2,
        5,
        precondition_tag::NODE_EXISTS,
        3,
        1,
        precondition_tag::EDGE_EXISTS,
        4,
        0,
        precondition_tag::NODE_PROPERTY,
        3,
        1,
        b'n',
        1,
        2,
        10,
        precondition_tag::EDGE_PROPERTY,
        4,
        1,
        b'w',
        0,
        precondition_tag::DEGREE,
        3,
        direction_code::INCOMING,
        1,
        1,
        b'T',
        0,
        1,
        mutation_tag::DELETE_EDGE,
        7,
    ];

    fn all_mutations() -> Vec<Mutation> {
        let props = Properties::from([("k".to_string(), PropertyValue::Int(-1))]);
        vec![
            Mutation::CreateNode {
                id: NodeId(1),
                labels: vec!["L".into()],
                properties: props.clone(),
            },
            Mutation::SetNodeProperty {
                id: NodeId(1),
                key: "k".into(),
                value: PropertyValue::Bool(true),
            },
            Mutation::RemoveNodeProperty {
                id: NodeId(1),
                key: "k".into(),
            },
            Mutation::AddLabel {
                id: NodeId(1),
                label: "M".into(),
            },
            Mutation::RemoveLabel {
                id: NodeId(1),
                label: "M".into(),
            },
            Mutation::DeleteNode {
                id: NodeId(1),
                detach: true,
            },
            Mutation::CreateEdge {
                id: EdgeId(2),
                src: NodeId(1),
                dst: NodeId(1),
                edge_type: "T".into(),
                properties: props,
            },
            Mutation::SetEdgeProperty {
                id: EdgeId(2),
                key: "w".into(),
                value: PropertyValue::Float(0.5),
            },
            Mutation::RemoveEdgeProperty {
                id: EdgeId(2),
                key: "w".into(),
            },
            Mutation::DeleteEdge { id: EdgeId(2) },
            Mutation::MapExternalId {
                space: "s".into(),
                external: "x".into(),
                node: NodeId(1),
            },
        ]
    }

    /// Every mutation's tag is its position in `mutation_tag`, and every
    /// command round-trips.
    #[test]
    fn mutation_tags_are_stable() -> Result<()> {
        let tags = [
            mutation_tag::CREATE_NODE,
            mutation_tag::SET_NODE_PROPERTY,
            mutation_tag::REMOVE_NODE_PROPERTY,
            mutation_tag::ADD_LABEL,
            mutation_tag::REMOVE_LABEL,
            mutation_tag::DELETE_NODE,
            mutation_tag::CREATE_EDGE,
            mutation_tag::SET_EDGE_PROPERTY,
            mutation_tag::REMOVE_EDGE_PROPERTY,
            mutation_tag::DELETE_EDGE,
            mutation_tag::MAP_EXTERNAL_ID,
        ];
        for (m, tag) in all_mutations().into_iter().zip(tags) {
            let command = Command::Apply {
                at: 5,
                mutations: vec![m],
            };
            let bytes = encode_command(&command)?;
            // version, command tag, timestamp (zigzag 5 = 10), count 1,
            // then the mutation's tag.
            assert_eq!(
                &bytes[..5],
                &[COMMAND_VERSION, command_tag::APPLY, 10, 1, tag]
            );
            assert_eq!(decode_command(b"t", &bytes)?, command);
        }
        Ok(())
    }

    /// The exact bytes of a write applied at most once, and of its state
    /// keys; request ids round-trip through hex.
    #[test]
    fn golden_apply_once_bytes() -> Result<()> {
        let request = RequestId(*b"0123456789abcdef");
        let command = Command::ApplyOnce {
            request,
            at: 1,
            mutations: vec![Mutation::DeleteEdge { id: EdgeId(7) }],
        };
        let mut want = vec![COMMAND_VERSION, command_tag::APPLY_ONCE];
        want.extend_from_slice(b"0123456789abcdef");
        want.extend_from_slice(&[2, 1, mutation_tag::DELETE_EDGE, 7]);
        let bytes = encode_command(&command)?;
        assert_eq!(bytes, want);
        assert_eq!(decode_command(b"t", &bytes)?, command);
        assert_eq!(
            state_key::request(&request),
            b"\x06request/0123456789abcdef"
        );
        assert_eq!(
            state_key::request_at(258),
            b"\x06request_at/\x00\x00\x00\x00\x00\x00\x01\x02"
        );
        let hex = request.to_hex();
        assert_eq!(hex, "30313233343536373839616263646566");
        assert_eq!(RequestId::from_hex(&hex)?, request);
        for bad in [
            "",
            "3031",
            "zz313233343536373839616263646566",
            "é0313233343536373839616263646566",
        ] {
            assert!(RequestId::from_hex(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    /// The exact bytes of a conditional write, every kind of precondition
    /// once; an unknown direction code is corruption.
    #[test]
    fn golden_apply_if_bytes() -> Result<()> {
        let command = Command::ApplyIf {
            request: None,
            at: 1,
            preconditions: vec![
                Precondition::NodeExists {
                    id: NodeId(3),
                    exists: true,
                },
                Precondition::EdgeExists {
                    id: EdgeId(4),
                    exists: false,
                },
                Precondition::NodeProperty {
                    id: NodeId(3),
                    key: "n".into(),
                    value: Some(PropertyValue::Int(5)),
                },
                Precondition::EdgeProperty {
                    id: EdgeId(4),
                    key: "w".into(),
                    value: None,
                },
                Precondition::Degree {
                    node: NodeId(3),
                    direction: Direction::Incoming,
                    edge_type: Some("T".into()),
                    count: 0,
                },
            ],
            mutations: vec![Mutation::DeleteEdge { id: EdgeId(7) }],
        };
        let bytes = encode_command(&command)?;
        let want = GOLDEN_APPLY_IF;
        assert_eq!(bytes, want);
        assert_eq!(decode_command(b"t", &bytes)?, command);
        let mut bad = bytes.clone();
        let at = bad.len() - 8;
        assert_eq!(bad[at], direction_code::INCOMING);
        bad[at] = 9;
        assert!(decode_command(b"t", &bad).is_err());
        // With a request id: `01` and its 16 bytes after the tag.
        let request = RequestId(*b"0123456789abcdef");
        let once = match command {
            Command::ApplyIf {
                at,
                preconditions,
                mutations,
                ..
            } => Command::ApplyIf {
                request: Some(request),
                at,
                preconditions,
                mutations,
            },
            other => other,
        };
        let bytes = encode_command(&once)?;
        let mut want = vec![COMMAND_VERSION, command_tag::APPLY_IF, 1];
        want.extend_from_slice(&request.0);
        want.extend_from_slice(&GOLDEN_APPLY_IF[3..]);
        assert_eq!(bytes, want);
        assert_eq!(decode_command(b"t", &bytes)?, once);
        Ok(())
    }

    /// The exact bytes of a small command.
    #[test]
    fn golden_command_bytes() -> Result<()> {
        let command = Command::Apply {
            at: 1,
            mutations: vec![Mutation::CreateEdge {
                id: EdgeId(7),
                src: NodeId(1),
                dst: NodeId(2),
                edge_type: "T".into(),
                properties: Properties::new(),
            }],
        };
        assert_eq!(
            encode_command(&command)?,
            [1, 0, 2, 1, 6, 7, 1, 2, 1, b'T', 0]
        );
        let index = Command::CreateIndex {
            label: "P".into(),
            property: "a".into(),
        };
        assert_eq!(encode_command(&index)?, [1, 1, 1, b'P', 1, b'a']);
        let drop = Command::DropIndex {
            label: "P".into(),
            property: "a".into(),
        };
        assert_eq!(encode_command(&drop)?, [1, 2, 1, b'P', 1, b'a']);
        Ok(())
    }

    #[test]
    fn hostile_bytes_are_corruption_not_panics() {
        let good = encode_command(&Command::Apply {
            at: 3,
            mutations: all_mutations(),
        })
        .unwrap_or_default();
        for cut in 0..good.len() {
            assert!(decode_command(b"t", &good[..cut]).is_err());
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xA5;
            // Either a clean error or some command: never a panic.
            let _ = decode_command(b"t", &bad);
        }
        assert!(decode_command(b"t", &[9, 0]).is_err());
        assert!(decode_envelope::<u64>(b"t", &[ENVELOPE_VERSION, 1, 2]).is_err());
    }

    #[test]
    fn log_keys_order_by_index() -> Result<()> {
        assert_eq!(log_key::entry(258), [2, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert!(log_key::entry(255) < log_key::entry(256));
        assert_eq!(log_key::decode_entry(&log_key::entry(u64::MAX))?, u64::MAX);
        assert!(log_key::decode_entry(b"\x02short").is_err());
        Ok(())
    }
}
