//! The server side of the commands over the network: the `/api/...` routes
//! a member serves (shapes in wire.rs), answered from its
//! [`ReplicatedStore`].
//!
//! Reads use the member's own copy ([`ReadMode::Local`]) unless the request
//! asks for a linearizable one; they run on tokio's blocking threads (the
//! graph store's reads are blocking I/O). Writes, index changes and
//! membership changes go through Raft and only succeed on the leader; a
//! follower answers [`Error::NotLeader`] with the leader's address. Every
//! call that waits on the cluster gives up after [`CLUSTER_TIMEOUT`] with
//! [`Error::Unavailable`].

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use graph_raft::{Raft, ReadMode, ReplicatedStore};
use graph_storage::{EdgeId, Error, ErrorKind, GraphStore, NodeId, Result, RocksDbBackend};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::metrics::Metrics;
use crate::reads::{self, FindQuery, NeighborsQuery};
use crate::wire::{
    self, AddLearnerRequest, ErrorBody, ExternalIdAnswer, ExternalIdRequest, IdQuery, IndexRequest,
    MembershipRequest, Read,
};

/// How long a request waits on the cluster (a quorum for a write, the
/// leader's confirmation for a linearizable read) before it is answered
/// `unavailable`.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

/// The graph store of a member.
type Graph = GraphStore<Arc<RocksDbBackend>>;

/// What the routes answer from.
pub struct Api {
    member: ReplicatedStore<RocksDbBackend>,
    /// The member's directory, as `stats` names the store.
    name: String,
    /// What `/metrics` shows.
    metrics: Arc<Metrics>,
}

impl Api {
    /// The API of `member`, whose directory is called `name`, counting
    /// into `metrics`.
    pub fn new(
        member: ReplicatedStore<RocksDbBackend>,
        name: String,
        metrics: Arc<Metrics>,
    ) -> Api {
        Api {
            member,
            name,
            metrics,
        }
    }
}

/// The `/api/...` routes, answered from `api`.
pub fn routes(api: Arc<Api>) -> axum::Router {
    axum::Router::new()
        .route(
            wire::STATS,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, stats)),
        )
        .route(
            wire::GET_NODE,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, get_node)),
        )
        .route(
            wire::GET_EDGE,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, get_edge)),
        )
        .route(
            wire::NEIGHBORS,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, neighbors)),
        )
        .route(
            wire::FIND,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, find)),
        )
        .route(
            wire::INDEX_LIST,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, index_list)),
        )
        .route(
            wire::INDEX_CREATE,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, index_create)),
        )
        .route(
            wire::INDEX_DROP,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, index_drop)),
        )
        .route(
            wire::VERIFY,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, verify)),
        )
        .route(wire::WRITE, post(write))
        .route(
            wire::EXTERNAL_ID,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, external_id)),
        )
        .route(
            wire::CLUSTER_STATUS,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, cluster_status)),
        )
        .route(
            wire::ADD_LEARNER,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, add_learner)),
        )
        .route(
            wire::CHANGE_MEMBERSHIP,
            post(|s: State<Arc<Api>>, b: Bytes| handle(s, b, change_membership)),
        )
        .route(wire::METRICS, get(metrics))
        .layer(DefaultBodyLimit::max(wire::MAX_BODY_BYTES))
        .with_state(api)
}

/// `GET /metrics`: the member's figures in Prometheus' text format.
async fn metrics(State(api): State<Arc<Api>>) -> Response {
    let text = async {
        let graph = api.member.read(ReadMode::Local).await.ok();
        let api = Arc::clone(&api);
        tokio::task::spawn_blocking(move || api.metrics.render(api.member.raft(), graph.as_deref()))
            .await
            .map_err(|e| Error::Backend(format!("the metrics failed: {e}")))?
    };
    match text.await {
        Ok(text) => (
            StatusCode::OK,
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => failure(&e),
    }
}

/// Decodes the request in `body`, runs `f` and answers its value or error.
async fn handle<Req, F, Fut>(State(api): State<Arc<Api>>, body: Bytes, f: F) -> Response
where
    Req: DeserializeOwned,
    F: FnOnce(Arc<Api>, Req) -> Fut,
    Fut: Future<Output = Result<Value>>,
{
    let request = match serde_json::from_slice::<Req>(&body) {
        Ok(r) => r,
        Err(e) => return failure(&Error::invalid(format!("malformed request: {e}"))),
    };
    match f(api, request).await {
        Ok(v) => answer(StatusCode::OK, &v),
        Err(e) => failure(&e),
    }
}

fn answer(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The error answer to `e`: an [`ErrorBody`] with a status for its kind.
fn failure(e: &Error) -> Response {
    let status = match e.kind() {
        ErrorKind::NotLeader => StatusCode::MISDIRECTED_REQUEST,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NodeNotFound | ErrorKind::EdgeNotFound | ErrorKind::IndexNotFound => {
            StatusCode::NOT_FOUND
        }
        ErrorKind::Constraint | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = serde_json::to_value(ErrorBody::of(e)).unwrap_or(Value::Null);
    answer(status, &body)
}

/// `f`, or [`Error::Unavailable`] if the cluster does not answer within
/// [`CLUSTER_TIMEOUT`].
async fn bounded<T>(f: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(CLUSTER_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => Err(Error::Unavailable(format!(
            "no answer from the cluster within {} s (no quorum?); a write may still be committed later",
            CLUSTER_TIMEOUT.as_secs()
        ))),
    }
}

/// Runs `f` on the member's graph, read as `linearizable` says, on a
/// blocking thread.
async fn on_graph<T: Send + 'static>(
    api: &Api,
    linearizable: bool,
    f: impl FnOnce(&Graph) -> Result<T> + Send + 'static,
) -> Result<T> {
    let mode = if linearizable {
        ReadMode::Linearizable
    } else {
        ReadMode::Local
    };
    let graph = bounded(api.member.read(mode)).await?;
    tokio::task::spawn_blocking(move || f(&graph))
        .await
        .map_err(|e| Error::Backend(format!("the read failed: {e}")))?
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Backend(format!("cannot encode the answer: {e}")))
}

async fn stats(api: Arc<Api>, r: Read<()>) -> Result<Value> {
    let name = api.name.clone();
    let mut value = on_graph(&api, r.linearizable, move |g| {
        let mut value = reads::stats(g, &name)?;
        reads::add_engine_stats(&mut value, g.backend())?;
        Ok(value)
    })
    .await?;
    if let Value::Object(m) = &mut value {
        m.insert("cluster".into(), cluster(api.member.raft()));
    }
    Ok(value)
}

async fn get_node(api: Arc<Api>, r: Read<IdQuery>) -> Result<Value> {
    let id = NodeId(r.query.id);
    let node = on_graph(&api, r.linearizable, move |g| g.get_node(id)).await?;
    Ok(node.as_ref().map_or(Value::Null, reads::node_json))
}

async fn get_edge(api: Arc<Api>, r: Read<IdQuery>) -> Result<Value> {
    let id = EdgeId(r.query.id);
    let edge = on_graph(&api, r.linearizable, move |g| g.get_edge(id)).await?;
    Ok(edge.as_ref().map_or(Value::Null, reads::edge_json))
}

async fn neighbors(api: Arc<Api>, r: Read<NeighborsQuery>) -> Result<Value> {
    let edges = on_graph(&api, r.linearizable, move |g| reads::neighbors(g, &r.query)).await?;
    Ok(edges.map_or(Value::Null, Value::Array))
}

async fn find(api: Arc<Api>, r: Read<FindQuery>) -> Result<Value> {
    let found = on_graph(&api, r.linearizable, move |g| reads::find(g, &r.query)).await?;
    Ok(reads::found_json(&found))
}

async fn index_list(api: Arc<Api>, r: Read<()>) -> Result<Value> {
    let list = on_graph(&api, r.linearizable, |g| Ok(g.indexes())).await?;
    Ok(reads::indexes_json(&list))
}

async fn verify(api: Arc<Api>, r: Read<()>) -> Result<Value> {
    let verified = on_graph(&api, r.linearizable, |g| reads::verify(g, |_| {})).await?;
    to_value(&verified)
}

async fn external_id(api: Arc<Api>, r: ExternalIdRequest) -> Result<Value> {
    let nodes = on_graph(&api, false, move |g| {
        let reader = g.reader();
        r.ids
            .iter()
            .map(|id| Ok(reader.external_id(&id.space, &id.external)?.map(|n| n.0)))
            .collect::<Result<Vec<_>>>()
    })
    .await?;
    to_value(&ExternalIdAnswer { nodes })
}

async fn index_create(api: Arc<Api>, r: IndexRequest) -> Result<Value> {
    bounded(api.member.create_index(&r.label, &r.property)).await?;
    Ok(json!({}))
}

async fn index_drop(api: Arc<Api>, r: IndexRequest) -> Result<Value> {
    bounded(api.member.drop_index(&r.label, &r.property)).await?;
    Ok(json!({}))
}

/// `/api/write`: decoded here, not by [`handle`], since its mutations
/// have their own JSON form (wire.rs).
async fn write(State(api): State<Arc<Api>>, body: Bytes) -> Response {
    let (request, mutations) = match wire::parse_write_request(&body) {
        Ok(r) => r,
        Err(e) => return failure(&Error::invalid(format!("malformed write request: {e}"))),
    };
    let started = std::time::Instant::now();
    let written = match request {
        Some(id) => bounded(api.member.write_once(id, mutations)).await,
        None => bounded(api.member.write(mutations)).await,
    };
    api.metrics.observe_write(started.elapsed().as_secs_f64());
    match written {
        Ok((nodes, edges)) => answer(
            StatusCode::OK,
            &json!({
                "nodes": nodes.iter().map(|n| n.0).collect::<Vec<_>>(),
                "edges": edges.iter().map(|e| e.0).collect::<Vec<_>>(),
            }),
        ),
        Err(e) => failure(&e),
    }
}

async fn cluster_status(api: Arc<Api>, _: Value) -> Result<Value> {
    Ok(cluster(api.member.raft()))
}

async fn add_learner(api: Arc<Api>, r: AddLearnerRequest) -> Result<Value> {
    crate::serve::check_address(&r.address, "the learner's address")
        .map_err(|e| Error::invalid(e.message))?;
    bounded(api.member.add_learner(r.id, &r.address, false)).await?;
    Ok(json!({}))
}

async fn change_membership(api: Arc<Api>, r: MembershipRequest) -> Result<Value> {
    let voters: BTreeSet<u64> = r.voters.into_iter().collect();
    if voters.is_empty() {
        return Err(Error::invalid("a cluster needs at least one voter"));
    }
    bounded(api.member.change_membership(voters, r.keep_as_learners)).await?;
    Ok(json!({}))
}

/// The member's view of the cluster, from its Raft metrics: its id, role
/// and address, the leader, the term, its log and applied index, voters,
/// learners, every member's address and, on the leader, how far each
/// member's log matches.
pub fn cluster(raft: &Raft) -> Value {
    let m = raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let address = |id: u64| membership.get_node(&id).map(|n| n.addr.clone());
    json!({
        "id": m.id,
        "state": format!("{:?}", m.state).to_lowercase(),
        "address": address(m.id),
        "leader": m.current_leader,
        "leader_address": m.current_leader.and_then(address),
        "term": m.current_term,
        "last_log_index": m.last_log_index,
        "last_applied": m.last_applied.map(|l| l.index),
        "snapshot": m.snapshot.map(|l| l.index),
        "voters": membership.voter_ids().collect::<Vec<_>>(),
        "learners": membership.learner_ids().collect::<Vec<_>>(),
        "members": membership
            .nodes()
            .map(|(id, n)| json!({"id": id, "address": n.addr}))
            .collect::<Vec<_>>(),
        "replication": m.replication.as_ref().map(|r| {
            r.iter()
                .map(|(id, matched)| json!({"id": id, "matched": matched.map(|l| l.index)}))
                .collect::<Vec<_>>()
        }),
    })
}
