//! The HTTP API of a member (`graphstore serve`), shared by the server
//! (api.rs) and the client (remote.rs), so each shape is written once.
//!
//! Every route is `POST /api/<command>` with a JSON body, answered `200
//! OK` with a JSON value: for the read commands, the value their `--json`
//! output is made from (reads.rs). A failure is answered with an error
//! status and an [`ErrorBody`] `{"kind", "message"}` (`kind` is
//! [`ErrorKind::name`]); a write or a linearizable read sent to a follower
//! is answered `421 Misdirected Request` with kind `not_leader` and the
//! leader's `address`, which the client follows once.
//!
//! Mutations (`/api/write`) are JSON objects tagged by `op`, ids as
//! numbers (placeholder ids, [`graph_raft::placeholder_node`], have the top
//! bit set), property values in the JSON mapping of value.rs (typed where
//! plain JSON is ambiguous: `{"$datetime": ...}`, `{"$bytes": ...}`):
//!
//! ```json
//! {"op": "create_node", "id": 9223372036854775808, "labels": ["Person"], "properties": {"age": 34}}
//! {"op": "map_external_id", "space": "Person", "external": "ann", "node": 9223372036854775808}
//! {"op": "create_edge", "id": 9223372036854775808, "src": 9223372036854775808, "dst": 12, "type": "KNOWS", "properties": {}}
//! ```
//!
//! and likewise `set_node_property` (`id`, `key`, `value`),
//! `remove_node_property` (`id`, `key`), `add_label` and `remove_label`
//! (`id`, `label`), `delete_node` (`id`, `detach`), `set_edge_property`,
//! `remove_edge_property`, `delete_edge` (`id`).

use graph_raft::RequestId;
use graph_storage::{EdgeId, Error, ErrorKind, Mutation, NodeId, Properties};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::value;

/// `stats`: [`Read`]`<()>` -> the `stats --json` value with a `cluster`
/// section.
pub const STATS: &str = "/api/stats";
/// `get node`: [`Read`]`<`[`IdQuery`]`>` -> the node's JSON or `null`.
pub const GET_NODE: &str = "/api/get-node";
/// `get edge`: [`Read`]`<`[`IdQuery`]`>` -> the edge's JSON or `null`.
pub const GET_EDGE: &str = "/api/get-edge";
/// `neighbors`: [`Read`]`<`[`NeighborsQuery`](crate::reads::NeighborsQuery)`>`
/// -> the `neighbors --json` list, or `null` if there is no such node.
pub const NEIGHBORS: &str = "/api/neighbors";
/// `find`: [`Read`]`<`[`FindQuery`](crate::reads::FindQuery)`>` ->
/// `{"nodes": [...], "how": "..."}`.
pub const FIND: &str = "/api/find";
/// `index list`: [`Read`]`<()>` -> `[{"label", "property"}]`.
pub const INDEX_LIST: &str = "/api/index-list";
/// `index create`: [`IndexRequest`] -> `{}` (through the leader).
pub const INDEX_CREATE: &str = "/api/index-create";
/// `index drop`: [`IndexRequest`] -> `{}` (through the leader).
pub const INDEX_DROP: &str = "/api/index-drop";
/// `verify`: [`Read`]`<()>` -> [`Verified`](crate::reads::Verified).
pub const VERIFY: &str = "/api/verify";
/// One atomic batch of mutations: `{"mutations": [...]}` ->
/// [`WriteAnswer`] (through the leader).
pub const WRITE: &str = "/api/write";
/// The nodes external ids were mapped to: [`ExternalIdRequest`] ->
/// [`ExternalIdAnswer`].
pub const EXTERNAL_ID: &str = "/api/external-id";
/// `cluster status`: `{}` -> the member's view of the cluster.
pub const CLUSTER_STATUS: &str = "/api/cluster-status";
/// `cluster add-learner`: [`AddLearnerRequest`] -> `{}` (through the
/// leader).
pub const ADD_LEARNER: &str = "/api/add-learner";
/// `cluster change-membership`: [`MembershipRequest`] -> `{}` (through
/// the leader).
pub const CHANGE_MEMBERSHIP: &str = "/api/change-membership";

/// `GET`: the member's figures in Prometheus' text format (metrics.rs).
pub const METRICS: &str = "/metrics";

/// Every `POST` route of the API, as `api::routes` serves them (keep the two
/// alike: `graphstore/tests/cluster.rs` checks that each is served, and
/// refused without the token).
pub const ROUTES: &[&str] = &[
    STATS,
    GET_NODE,
    GET_EDGE,
    NEIGHBORS,
    FIND,
    INDEX_LIST,
    INDEX_CREATE,
    INDEX_DROP,
    VERIFY,
    WRITE,
    EXTERNAL_ID,
    CLUSTER_STATUS,
    ADD_LEARNER,
    CHANGE_MEMBERSHIP,
];

/// The largest request body a member reads. A write batch must also fit
/// one Raft log entry (256 MiB encoded, and its encoding is smaller than
/// its JSON), which this keeps it well inside.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// A read: the command's query and how to read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Read<Q> {
    /// Read through the leader, after it confirms its leadership;
    /// otherwise the member reads its own copy.
    #[serde(default)]
    pub linearizable: bool,
    /// The command's arguments.
    pub query: Q,
}

/// The id of `get node` and `get edge`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdQuery {
    /// The id.
    pub id: u64,
}

/// `index create|drop`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexRequest {
    /// The label.
    pub label: String,
    /// The property key.
    pub property: String,
}

/// The real ids of what a write created, in the order of their creating
/// mutations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteAnswer {
    /// Ids of the created nodes.
    pub nodes: Vec<u64>,
    /// Ids of the created edges.
    pub edges: Vec<u64>,
}

/// External ids to look up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalIdRequest {
    /// The ids.
    pub ids: Vec<ExternalId>,
}

/// An external id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalId {
    /// The id space (`""` for the global one).
    pub space: String,
    /// The external id.
    pub external: String,
}

/// What external ids name, in the order asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalIdAnswer {
    /// For each id, the node it is mapped to, if that node exists.
    pub nodes: Vec<Option<u64>>,
}

/// `cluster add-learner`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddLearnerRequest {
    /// The new member's id.
    pub id: u64,
    /// Its `host:port`.
    pub address: String,
}

/// `cluster change-membership`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembershipRequest {
    /// The voters after the change.
    pub voters: Vec<u64>,
    /// Keep removed voters as learners.
    #[serde(default)]
    pub keep_as_learners: bool,
}

/// A failure, as the member answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// [`ErrorKind::name`] of the failure.
    pub kind: String,
    /// The failure, one line.
    pub message: String,
    /// For `not_leader`: the leader this member knows of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<u64>,
    /// For `not_leader`: the leader's `host:port`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl ErrorBody {
    /// The body answering `e`.
    pub fn of(e: &Error) -> ErrorBody {
        let (leader, address) = match e {
            Error::NotLeader { leader, address } => (*leader, address.clone()),
            _ => (None, None),
        };
        ErrorBody {
            kind: e.kind().name().to_owned(),
            message: one_line(&e.to_string()),
            leader,
            address,
        }
    }

    /// The failure's kind, if it is one this build knows.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        ErrorKind::from_name(&self.kind)
    }
}

/// `message` on one line, at most 1,000 characters.
pub fn one_line(message: &str) -> String {
    let mut line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(1000)
        .collect();
    line.truncate(line.trim_end().len());
    line
}

/// A mutation as it travels (see the module docs).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum WireMutation {
    CreateNode {
        id: u64,
        labels: Vec<graph_storage::CompactString>,
        properties: Map<String, Value>,
    },
    SetNodeProperty {
        id: u64,
        key: String,
        value: Value,
    },
    RemoveNodeProperty {
        id: u64,
        key: String,
    },
    AddLabel {
        id: u64,
        label: String,
    },
    RemoveLabel {
        id: u64,
        label: String,
    },
    DeleteNode {
        id: u64,
        detach: bool,
    },
    CreateEdge {
        id: u64,
        src: u64,
        dst: u64,
        #[serde(rename = "type")]
        edge_type: String,
        properties: Map<String, Value>,
    },
    SetEdgeProperty {
        id: u64,
        key: String,
        value: Value,
    },
    RemoveEdgeProperty {
        id: u64,
        key: String,
    },
    DeleteEdge {
        id: u64,
    },
    MapExternalId {
        space: String,
        external: String,
        node: u64,
    },
}

/// The body of `/api/write` (written by [`WriteBody`]).
#[derive(Debug, Deserialize)]
struct WriteRequest {
    mutations: Vec<WireMutation>,
    /// The client's id of the write (32 hex digits): a write retried with
    /// the same id is applied once.
    #[serde(default)]
    request_id: Option<String>,
}

fn properties_out(p: &Properties) -> Map<String, Value> {
    p.iter()
        .map(|(k, v)| (k.to_string(), value::to_json(v)))
        .collect()
}

fn properties_in(m: Map<String, Value>) -> Result<Properties, String> {
    m.into_iter()
        .map(|(k, v)| {
            let value = value::from_json(&v).map_err(|e| format!("property {k:?}: {e}"))?;
            Ok((k, value))
        })
        .collect()
}

fn to_wire(m: &Mutation) -> Result<WireMutation, String> {
    Ok(match m {
        Mutation::CreateNode {
            id,
            labels,
            properties,
        } => WireMutation::CreateNode {
            id: id.0,
            labels: labels.clone(),
            properties: properties_out(properties),
        },
        Mutation::SetNodeProperty { id, key, value } => WireMutation::SetNodeProperty {
            id: id.0,
            key: key.clone(),
            value: value::to_json(value),
        },
        Mutation::RemoveNodeProperty { id, key } => WireMutation::RemoveNodeProperty {
            id: id.0,
            key: key.clone(),
        },
        Mutation::AddLabel { id, label } => WireMutation::AddLabel {
            id: id.0,
            label: label.clone(),
        },
        Mutation::RemoveLabel { id, label } => WireMutation::RemoveLabel {
            id: id.0,
            label: label.clone(),
        },
        Mutation::DeleteNode { id, detach } => WireMutation::DeleteNode {
            id: id.0,
            detach: *detach,
        },
        Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type,
            properties,
        } => WireMutation::CreateEdge {
            id: id.0,
            src: src.0,
            dst: dst.0,
            edge_type: edge_type.clone(),
            properties: properties_out(properties),
        },
        Mutation::SetEdgeProperty { id, key, value } => WireMutation::SetEdgeProperty {
            id: id.0,
            key: key.clone(),
            value: value::to_json(value),
        },
        Mutation::RemoveEdgeProperty { id, key } => WireMutation::RemoveEdgeProperty {
            id: id.0,
            key: key.clone(),
        },
        Mutation::DeleteEdge { id } => WireMutation::DeleteEdge { id: id.0 },
        Mutation::MapExternalId {
            space,
            external,
            node,
        } => WireMutation::MapExternalId {
            space: space.clone(),
            external: external.clone(),
            node: node.0,
        },
        other => return Err(format!("a mutation the API does not carry: {other:?}")),
    })
}

fn from_wire(m: WireMutation) -> Result<Mutation, String> {
    Ok(match m {
        WireMutation::CreateNode {
            id,
            labels,
            properties,
        } => Mutation::CreateNode {
            id: NodeId(id),
            labels,
            properties: properties_in(properties)?,
        },
        WireMutation::SetNodeProperty { id, key, value } => Mutation::SetNodeProperty {
            id: NodeId(id),
            value: value::from_json(&value).map_err(|e| format!("property {key:?}: {e}"))?,
            key,
        },
        WireMutation::RemoveNodeProperty { id, key } => Mutation::RemoveNodeProperty {
            id: NodeId(id),
            key,
        },
        WireMutation::AddLabel { id, label } => Mutation::AddLabel {
            id: NodeId(id),
            label,
        },
        WireMutation::RemoveLabel { id, label } => Mutation::RemoveLabel {
            id: NodeId(id),
            label,
        },
        WireMutation::DeleteNode { id, detach } => Mutation::DeleteNode {
            id: NodeId(id),
            detach,
        },
        WireMutation::CreateEdge {
            id,
            src,
            dst,
            edge_type,
            properties,
        } => Mutation::CreateEdge {
            id: EdgeId(id),
            src: NodeId(src),
            dst: NodeId(dst),
            edge_type,
            properties: properties_in(properties)?,
        },
        WireMutation::SetEdgeProperty { id, key, value } => Mutation::SetEdgeProperty {
            id: EdgeId(id),
            value: value::from_json(&value).map_err(|e| format!("property {key:?}: {e}"))?,
            key,
        },
        WireMutation::RemoveEdgeProperty { id, key } => Mutation::RemoveEdgeProperty {
            id: EdgeId(id),
            key,
        },
        WireMutation::DeleteEdge { id } => Mutation::DeleteEdge { id: EdgeId(id) },
        WireMutation::MapExternalId {
            space,
            external,
            node,
        } => Mutation::MapExternalId {
            space,
            external,
            node: NodeId(node),
        },
    })
}

/// The body of an `/api/write` request, built one mutation at a time, so
/// a client knows its size as it grows (each mutation is encoded once).
#[derive(Debug)]
pub struct WriteBody {
    /// `{"mutations":[` and the mutations so far, comma-separated.
    json: Vec<u8>,
    count: usize,
}

impl Default for WriteBody {
    fn default() -> Self {
        WriteBody::new()
    }
}

impl WriteBody {
    const START: &'static [u8] = b"{\"mutations\":[";

    /// An empty body.
    pub fn new() -> WriteBody {
        WriteBody {
            json: Self::START.to_vec(),
            count: 0,
        }
    }

    /// Adds a mutation.
    ///
    /// # Errors
    /// A mutation the API does not carry.
    pub fn push(&mut self, m: &Mutation) -> Result<(), String> {
        let wire = to_wire(m)?;
        let mark = self.json.len();
        if self.count > 0 {
            self.json.push(b',');
        }
        if let Err(e) = serde_json::to_writer(&mut self.json, &wire) {
            self.json.truncate(mark);
            return Err(e.to_string());
        }
        self.count += 1;
        Ok(())
    }

    /// The number of mutations.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the body holds no mutation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The body's size in bytes, as it would be sent now.
    pub fn size(&self) -> usize {
        self.json.len() + 2
    }

    /// The finished body; `self` is empty again.
    pub fn take(&mut self) -> Vec<u8> {
        let mut json = std::mem::replace(&mut self.json, Self::START.to_vec());
        json.extend_from_slice(b"]}");
        self.count = 0;
        json
    }

    /// The finished body of a write to apply once for `request` (its
    /// retries carry the same id); `self` is empty again.
    pub fn take_once(&mut self, request: &RequestId) -> Vec<u8> {
        let mut json = std::mem::replace(&mut self.json, Self::START.to_vec());
        json.extend_from_slice(b"],\"request_id\":\"");
        json.extend_from_slice(request.to_hex().as_bytes());
        json.extend_from_slice(b"\"}");
        self.count = 0;
        json
    }
}

/// The body of `/api/write` carrying `mutations`.
///
/// # Errors
/// A mutation the API does not carry.
pub fn write_request(mutations: &[Mutation]) -> Result<Vec<u8>, String> {
    let mut body = WriteBody::new();
    for m in mutations {
        body.push(m)?;
    }
    Ok(body.take())
}

/// The request id (if any) and the mutations in the body of
/// `/api/write`.
///
/// # Errors
/// A body that is not a write request, naming what is wrong.
pub fn parse_write_request(body: &[u8]) -> Result<(Option<RequestId>, Vec<Mutation>), String> {
    let request: WriteRequest = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let id = match &request.request_id {
        Some(hex) => Some(RequestId::from_hex(hex).map_err(|e| match e {
            graph_storage::Error::InvalidArgument(m) => m,
            other => other.to_string(),
        })?),
        None => None,
    };
    let mutations = request
        .mutations
        .into_iter()
        .enumerate()
        .map(|(i, m)| from_wire(m).map_err(|e| format!("mutation {i}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok((id, mutations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_storage::{PropertyValue, Timestamp};

    #[test]
    fn every_mutation_round_trips_through_json() -> Result<(), String> {
        let props: Properties = [
            ("i".to_owned(), PropertyValue::Int(-3)),
            ("f".to_owned(), PropertyValue::Float(1.0)),
            ("nan".to_owned(), PropertyValue::Float(f64::NAN)),
            (
                "t".to_owned(),
                PropertyValue::DateTime(Timestamp(1_700_000_000_000_250)),
            ),
            ("b".to_owned(), PropertyValue::Bytes(vec![0, 255])),
            ("v".to_owned(), PropertyValue::Vector(vec![0.5, -1.0])),
        ]
        .into();
        let p = NodeId(1 << 63);
        let mutations = vec![
            Mutation::CreateNode {
                id: p,
                labels: vec!["A".into()],
                properties: props.clone(),
            },
            Mutation::SetNodeProperty {
                id: NodeId(5),
                key: "k".into(),
                value: PropertyValue::String("s".into()),
            },
            Mutation::RemoveNodeProperty {
                id: NodeId(5),
                key: "k".into(),
            },
            Mutation::AddLabel {
                id: NodeId(5),
                label: "L".into(),
            },
            Mutation::RemoveLabel {
                id: NodeId(5),
                label: "L".into(),
            },
            Mutation::DeleteNode {
                id: NodeId(6),
                detach: true,
            },
            Mutation::CreateEdge {
                id: EdgeId(1 << 63),
                src: p,
                dst: NodeId(7),
                edge_type: "T".into(),
                properties: props,
            },
            Mutation::SetEdgeProperty {
                id: EdgeId(2),
                key: "w".into(),
                value: PropertyValue::Null,
            },
            Mutation::RemoveEdgeProperty {
                id: EdgeId(2),
                key: "w".into(),
            },
            Mutation::DeleteEdge { id: EdgeId(3) },
            Mutation::MapExternalId {
                space: "S".into(),
                external: "x".into(),
                node: p,
            },
        ];
        let body = write_request(&mutations)?;
        let (id, back) = parse_write_request(&body)?;
        assert_eq!(id, None);
        let mut empty = WriteBody::new();
        assert_eq!(parse_write_request(&empty.take())?, (None, vec![]));
        // With a request id.
        let request = RequestId(*b"0123456789abcdef");
        let mut once = WriteBody::new();
        once.push(&mutations[0])?;
        let (id, one) = parse_write_request(&once.take_once(&request))?;
        assert_eq!((id, one.len()), (Some(request), 1));
        let bad = br#"{"mutations": [], "request_id": "xyz"}"#;
        assert!(parse_write_request(bad).is_err_and(|e| e.contains("not 32 hex digits")));
        // NaN != NaN: compare through the JSON form.
        assert_eq!(write_request(&back)?, body);
        assert_eq!(back.len(), mutations.len());
        assert_eq!(back[1..6], mutations[1..6]);
        assert_eq!(back[7..], mutations[7..]);
        Ok(())
    }

    #[test]
    fn a_bad_mutation_is_named() {
        let body = br#"{"mutations": [{"op": "delete_edge", "id": 1}, {"op": "create_node", "id": 1, "labels": [], "properties": {"x": {"$bytes": "zz"}}}]}"#;
        match parse_write_request(body) {
            Err(e) => assert!(e.starts_with("mutation 1: property \"x\""), "{e}"),
            Ok(m) => panic!("accepted {:?}", m.1),
        }
        assert!(parse_write_request(br#"{"mutations": [{"op": "drop_table"}]}"#).is_err());
    }
}
