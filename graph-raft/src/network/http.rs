//! Raft over HTTP/1.1: a member serves [`raft_routes`] (with [`serve`])
//! and reaches its peers through [`HttpNetwork`].
//!
//! Three routes, all `POST`, one per openraft RPC: [`APPEND_PATH`],
//! [`VOTE_PATH`] and [`SNAPSHOT_PATH`] (one `install_snapshot` chunk per
//! request). A request body is the envelope
//! ([`encode_envelope`]) of openraft's request; a `200 OK` body is the
//! envelope of what the member's [`Raft`] answered, `Result<response,
//! RaftError>`, so a remote error crosses the wire as a value. A body that
//! does not decode is answered `400 Bad Request` with a one-line text
//! message; a body larger than the envelope limit
//! ([`MAX_ENVELOPE_BYTES`]) `413 Payload Too Large`.
//!
//! The client maps what happens to openraft's [`RPCError`]:
//! * connection refused, connect timeout (1 s), or no answer within the
//!   RPC's [`hard_ttl`](RPCOption::hard_ttl): [`RPCError::Unreachable`];
//! * an HTTP error status, another transport failure, or an answer that
//!   does not decode: [`RPCError::Network`] (a `413` to an
//!   `append_entries` of several entries is [`RPCError::PayloadTooLarge`],
//!   so openraft sends fewer at a time);
//! * the target's Raft answered an error: [`RPCError::RemoteError`].
//!
//! Authentication is [`auth`](super::auth)'s: a member wraps its routes
//! with [`require_token`](super::auth::require_token) and sends the token
//! with its own RPCs ([`HttpNetwork::with_token`]); a `401` answered to
//! an RPC is an [`RPCError::Network`]. There is no TLS: the token
//! authenticates, it does not encrypt.

use std::future::Future;
use std::time::Duration;

use crate::codec::{MAX_ENVELOPE_BYTES, decode_envelope, encode_envelope};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::Token;
use crate::{MemberId, Raft, TypeConfig};

/// The route of `append_entries`.
pub const APPEND_PATH: &str = "/raft/append";
/// The route of `vote`.
pub const VOTE_PATH: &str = "/raft/vote";
/// The route of `install_snapshot` (one chunk per request).
pub const SNAPSHOT_PATH: &str = "/raft/snapshot";

/// How long the client waits for a TCP connection to a member.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest any request may take, if openraft's time to live
/// ([`RPCOption::hard_ttl`]) is longer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest request body the server reads: an envelope's version byte
/// and the largest value [`encode_envelope`] writes.
const MAX_BODY_BYTES: usize = MAX_ENVELOPE_BYTES + 1;

/// The media type of every envelope body.
const ENVELOPE_TYPE: &str = "application/octet-stream";

/// The result of one RPC as openraft's network returns it.
type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<MemberId, BasicNode, RaftError<MemberId, E>>>;

// ---------------------------------------------------------------- server

/// The Raft routes of a member, answered by `raft`: `POST`
/// [`APPEND_PATH`], [`VOTE_PATH`] and [`SNAPSHOT_PATH`]. Merge them into a
/// larger [`axum::Router`] or give them to [`serve`] as they are.
pub fn raft_routes(raft: Raft) -> axum::Router {
    routes(raft)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. Bind the listener first (port 0 picks a free
/// port; read it back with
/// [`local_addr`](tokio::net::TcpListener::local_addr)), so the address
/// is known before the server runs.
///
/// Accepted connections use `TCP_NODELAY`: Raft messages are small and
/// latency bound. Each request carries its peer's address
/// ([`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo)), which
/// [`require_token`](super::auth::require_token) names when it refuses one.
///
/// # Errors
/// None in practice: errors accepting a connection are retried by the
/// server, as [`axum::serve()`] documents; the `Result` is axum's.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        // Only latency is at stake if this fails.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// What the server needs of a member: openraft's three server-side calls.
/// [`Raft`] is the implementation; tests substitute their own.
trait RaftRpc: Clone + Send + Sync + 'static {
    /// [`Raft::append_entries`](openraft::Raft::append_entries).
    fn serve_append(
        &self,
        rpc: AppendEntriesRequest<TypeConfig>,
    ) -> impl Future<Output = Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>>> + Send;

    /// [`Raft::vote`](openraft::Raft::vote).
    fn serve_vote(
        &self,
        rpc: VoteRequest<MemberId>,
    ) -> impl Future<Output = Result<VoteResponse<MemberId>, RaftError<MemberId>>> + Send;

    /// [`Raft::install_snapshot`](openraft::Raft::install_snapshot).
    fn serve_snapshot(
        &self,
        rpc: InstallSnapshotRequest<TypeConfig>,
    ) -> impl Future<
        Output = Result<
            InstallSnapshotResponse<MemberId>,
            RaftError<MemberId, InstallSnapshotError>,
        >,
    > + Send;
}

impl RaftRpc for Raft {
    async fn serve_append(
        &self,
        rpc: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>> {
        self.append_entries(rpc).await
    }

    async fn serve_vote(
        &self,
        rpc: VoteRequest<MemberId>,
    ) -> Result<VoteResponse<MemberId>, RaftError<MemberId>> {
        self.vote(rpc).await
    }

    async fn serve_snapshot(
        &self,
        rpc: InstallSnapshotRequest<TypeConfig>,
    ) -> Result<InstallSnapshotResponse<MemberId>, RaftError<MemberId, InstallSnapshotError>> {
        self.install_snapshot(rpc).await
    }
}

/// The routes of [`raft_routes`], answered by any [`RaftRpc`].
fn routes<R: RaftRpc>(raft: R) -> axum::Router {
    axum::Router::new()
        .route(APPEND_PATH, post(append::<R>))
        .route(VOTE_PATH, post(vote::<R>))
        .route(SNAPSHOT_PATH, post(snapshot::<R>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(raft)
}

async fn append<R: RaftRpc>(State(raft): State<R>, body: Bytes) -> Response {
    match decode_request(APPEND_PATH, &body) {
        Ok(rpc) => reply(&raft.serve_append(rpc).await),
        Err(message) => text(StatusCode::BAD_REQUEST, &message),
    }
}

async fn vote<R: RaftRpc>(State(raft): State<R>, body: Bytes) -> Response {
    match decode_request(VOTE_PATH, &body) {
        Ok(rpc) => reply(&raft.serve_vote(rpc).await),
        Err(message) => text(StatusCode::BAD_REQUEST, &message),
    }
}

async fn snapshot<R: RaftRpc>(State(raft): State<R>, body: Bytes) -> Response {
    match decode_request(SNAPSHOT_PATH, &body) {
        Ok(rpc) => reply(&raft.serve_snapshot(rpc).await),
        Err(message) => text(StatusCode::BAD_REQUEST, &message),
    }
}

/// The request in `body`, or the message of the `400 Bad Request` that
/// answers it.
fn decode_request<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, String> {
    decode_envelope(path.as_bytes(), body)
        .map_err(|e| format!("undecodable request to {path}: {}", reason(&e)))
}

/// What is wrong with an envelope that does not decode (the codec reports
/// it as corruption at a key, which means nothing for a message).
fn reason(e: &graph_core::Error) -> String {
    match e {
        graph_core::Error::Corruption { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// `200 OK` with the envelope of what the member answered.
fn reply<T: Serialize>(answer: &T) -> Response {
    match encode_envelope(answer) {
        Ok(bytes) => (StatusCode::OK, [(CONTENT_TYPE, ENVELOPE_TYPE)], bytes).into_response(),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode the answer: {e}"),
        ),
    }
}

/// A one-line plain text answer.
fn text(status: StatusCode, message: &str) -> Response {
    (status, one_line(message)).into_response()
}

/// `message` on one line, at most 500 characters.
fn one_line(message: &str) -> String {
    let mut line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    line.truncate(line.trim_end().len());
    line
}

// ---------------------------------------------------------------- client

/// The HTTP client of the network; with `ca`, https only, trusting only
/// those certificates.
fn client(ca: Vec<reqwest::Certificate>) -> graph_core::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .no_proxy();
    if !ca.is_empty() {
        builder = super::tls::trusting_only(builder, ca);
    }
    builder.build().map_err(|e| {
        graph_core::Error::Backend(format!(
            "cannot build the HTTP client of the Raft network: {e}"
        ))
    })
}

/// The HTTP network of a member: a [`RaftNetworkFactory`] whose clients
/// post to `http://{addr}/raft/...`, `addr` being the target's
/// [`BasicNode::addr`] (`host:port`).
///
/// Clones share one connection pool. Proxies are never used, whatever the
/// environment says: members talk to each other directly.
#[derive(Debug, Clone)]
pub struct HttpNetwork {
    client: reqwest::Client,
    /// Sent with every RPC, if any.
    token: Option<Token>,
    /// `http`, or `https` once [`with_tls`](Self::with_tls).
    scheme: &'static str,
}

impl HttpNetwork {
    /// A network with a connect timeout of [`CONNECT_TIMEOUT`]; each RPC
    /// is given openraft's time to live, at most [`REQUEST_TIMEOUT`].
    ///
    /// # Errors
    /// [`graph_core::Error::Backend`] if the HTTP client cannot be built
    /// (its DNS resolver cannot load the system configuration).
    pub fn new() -> graph_core::Result<HttpNetwork> {
        Ok(HttpNetwork {
            client: client(Vec::new())?,
            token: None,
            scheme: "http",
        })
    }

    /// This network over https, trusting only the certificate authority
    /// `ca` (see [`ca_certificates`](super::tls::ca_certificates)): for
    /// members that serve with [`serve_tls`](super::tls::serve_tls).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_tls(mut self, ca: Vec<reqwest::Certificate>) -> graph_core::Result<HttpNetwork> {
        self.client = client(ca)?;
        self.scheme = "https";
        Ok(self)
    }

    /// This network, sending `token` with every RPC (`Authorization:
    /// Bearer`), as members behind [`require_token`](super::auth::require_token)
    /// require.
    #[must_use]
    pub fn with_token(mut self, token: Token) -> HttpNetwork {
        self.token = Some(token);
        self
    }
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = HttpClient;

    async fn new_client(&mut self, target: MemberId, node: &BasicNode) -> HttpClient {
        HttpClient {
            client: self.client.clone(),
            target,
            base: format!("{}://{}", self.scheme, node.addr),
            bearer: self.token.as_ref().map(Token::bearer),
        }
    }
}

/// The client of one target member over HTTP: what
/// [`HttpNetwork::new_client`](RaftNetworkFactory::new_client) returns.
/// It connects when it first sends.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// The member this client sends to.
    target: MemberId,
    /// `http://host:port` of the target.
    base: String,
    /// The `Authorization` header's value, if the network has a token.
    bearer: Option<String>,
}

impl HttpClient {
    /// Posts an encoded request to `path` and returns the body of a
    /// `200 OK` answer.
    async fn post(&self, path: &str, body: Vec<u8>, option: &RPCOption) -> Result<Bytes, Failure> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .post(&url)
            .timeout(option.hard_ttl().min(REQUEST_TIMEOUT))
            .header(CONTENT_TYPE, ENVELOPE_TYPE);
        if let Some(bearer) = &self.bearer {
            request = request.header(AUTHORIZATION, bearer);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(Failure::Transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(Failure::Transport)?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(Failure::Status(Refused {
                url,
                status: status.as_u16(),
                message: one_line(&String::from_utf8_lossy(&bytes)),
            }))
        }
    }

    /// Sends one RPC: encodes it, posts it and decodes the answer.
    /// `entries` is the number of log entries the request carries (for
    /// `append_entries`), to ask openraft for smaller requests when it is
    /// too large.
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        rpc: &Req,
        entries: usize,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned + 'static,
    {
        let body = encode_envelope(rpc).map_err(|e| too_large(entries, &e))?;
        let bytes = match self.post(path, body, option).await {
            Ok(bytes) => bytes,
            Err(Failure::Transport(e)) if e.is_connect() || e.is_timeout() => {
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Err(Failure::Transport(e)) => return Err(RPCError::Network(NetworkError::new(&e))),
            Err(Failure::Status(refused)) if refused.status == 413 => {
                return Err(too_large(entries, &refused));
            }
            Err(Failure::Status(refused)) => {
                return Err(RPCError::Network(NetworkError::new(&refused)));
            }
        };
        let answer: Result<Resp, RaftError<MemberId, E>> = decode_envelope(path.as_bytes(), &bytes)
            .map_err(|e| {
                let bad = BadAnswer(format!(
                    "undecodable answer from {}{path}: {}",
                    self.base,
                    reason(&e)
                ));
                RPCError::Network(NetworkError::new(&bad))
            })?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for HttpClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<MemberId>> {
        self.call(APPEND_PATH, &rpc, rpc.entries.len(), &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<MemberId>, InstallSnapshotError> {
        self.call(SNAPSHOT_PATH, &rpc, 0, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<MemberId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<MemberId>> {
        self.call(VOTE_PATH, &rpc, 0, &option).await
    }
}

/// Why a post failed.
enum Failure {
    /// No answer: the connection, the request or the body failed.
    Transport(reqwest::Error),
    /// The server answered with an error status.
    Status(Refused),
}

/// An HTTP error status and the server's message.
#[derive(Debug)]
struct Refused {
    url: String,
    status: u16,
    message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "POST {}: HTTP {}: {}",
            self.url, self.status, self.message
        )
    }
}

impl std::error::Error for Refused {}

/// A `200 OK` answer that is not the envelope of an answer.
#[derive(Debug)]
struct BadAnswer(String);

impl std::fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadAnswer {}

/// A request too large to send: [`RPCError::PayloadTooLarge`] asking for
/// half the entries if it carried several log entries, else
/// [`RPCError::Network`].
fn too_large<E: std::error::Error + 'static, W: std::error::Error + 'static>(
    entries: usize,
    why: &W,
) -> RPCError<MemberId, BasicNode, RaftError<MemberId, E>> {
    if entries > 1 {
        let half = u64::try_from(entries / 2).unwrap_or(u64::MAX);
        RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(half))
    } else {
        RPCError::Network(NetworkError::new(why))
    }
}

#[cfg(test)]
mod tests;
