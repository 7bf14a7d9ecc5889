//! Tests of the HTTP network that need no state machine: the server is
//! given a stub member ([`Stub`]) in place of a [`Raft`].

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use graph_core::{Mutation, NodeId, Properties, PropertyValue};
use openraft::error::{Fatal, Infallible};
use openraft::{CommittedLeaderId, EntryPayload, Membership, SnapshotMeta, StoredMembership};
use tokio::sync::oneshot;

use super::*;
use crate::{Command, Entry, LogId, Vote};

type TestResult = Result<(), Box<dyn StdError>>;

/// A member that answers every RPC at once (or after `delay`): appends
/// succeed up to their last entry, votes fail with `Fatal::Stopped`,
/// snapshot chunks are answered with the request's vote.
#[derive(Clone, Default)]
struct Stub {
    delay: Duration,
}

impl RaftRpc for Stub {
    async fn serve_append(
        &self,
        rpc: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>> {
        tokio::time::sleep(self.delay).await;
        Ok(match rpc.entries.last() {
            Some(last) => AppendEntriesResponse::PartialSuccess(Some(last.log_id)),
            None => AppendEntriesResponse::Success,
        })
    }

    async fn serve_vote(
        &self,
        _rpc: VoteRequest<MemberId>,
    ) -> Result<VoteResponse<MemberId>, RaftError<MemberId>> {
        Err(RaftError::Fatal(Fatal::Stopped))
    }

    async fn serve_snapshot(
        &self,
        rpc: InstallSnapshotRequest<TypeConfig>,
    ) -> Result<InstallSnapshotResponse<MemberId>, RaftError<MemberId, InstallSnapshotError>> {
        Ok(InstallSnapshotResponse { vote: rpc.vote })
    }
}

/// A running server on a free loopback port; it stops when dropped.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(app: axum::Router) -> Result<Server, Box<dyn StdError>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, async move {
        let _ = stopped.await;
    }));
    Ok(Server { addr, _stop: stop })
}

async fn client_of(addr: SocketAddr) -> Result<HttpClient, Box<dyn StdError>> {
    let mut network = HttpNetwork::new()?;
    Ok(network.new_client(7, &BasicNode::new(addr)).await)
}

fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn option() -> RPCOption {
    RPCOption::new(Duration::from_secs(5))
}

/// An append request with one entry of each payload.
fn append_request() -> AppendEntriesRequest<TypeConfig> {
    let command = Command::Apply {
        at: 1_700_000_000_000_000,
        mutations: vec![Mutation::CreateNode {
            id: NodeId(crate::PLACEHOLDER),
            labels: vec!["Person".into()],
            properties: Properties::from([("name".to_string(), PropertyValue::Int(-3))]),
        }],
    };
    let nodes = BTreeMap::from([
        (1, BasicNode::new("127.0.0.1:1")),
        (2, BasicNode::new("127.0.0.1:2")),
    ]);
    let membership = Membership::new(vec![BTreeSet::from([1, 2])], nodes);
    AppendEntriesRequest {
        vote: Vote::new_committed(2, 1),
        prev_log_id: Some(log_id(1, 4)),
        entries: vec![
            Entry {
                log_id: log_id(2, 5),
                payload: EntryPayload::Blank,
            },
            Entry {
                log_id: log_id(2, 6),
                payload: EntryPayload::Normal(command),
            },
            Entry {
                log_id: log_id(2, 7),
                payload: EntryPayload::Membership(membership),
            },
        ],
        leader_commit: Some(log_id(2, 5)),
    }
}

fn snapshot_request() -> InstallSnapshotRequest<TypeConfig> {
    InstallSnapshotRequest {
        vote: Vote::new_committed(2, 1),
        meta: SnapshotMeta {
            last_log_id: Some(log_id(2, 7)),
            last_membership: StoredMembership::new(
                Some(log_id(1, 1)),
                Membership::new(vec![BTreeSet::from([1])], ()),
            ),
            snapshot_id: "2-7-1".into(),
        },
        offset: 3,
        data: vec![0, 1, 2, 0xFF],
        done: false,
    }
}

#[test]
fn envelopes_of_requests_and_answers_round_trip() -> TestResult {
    let request = append_request();
    let bytes = encode_envelope(&request)?;
    let back: AppendEntriesRequest<TypeConfig> = decode_envelope(b"t", &bytes)?;
    assert_eq!(format!("{back:?}"), format!("{request:?}"));
    assert_eq!(encode_envelope(&back)?, bytes);

    let snapshot = snapshot_request();
    let back: InstallSnapshotRequest<TypeConfig> =
        decode_envelope(b"t", &encode_envelope(&snapshot)?)?;
    assert_eq!(back, snapshot);

    let vote = VoteRequest::new(Vote::new(3, 2), Some(log_id(2, 7)));
    let back: VoteRequest<MemberId> = decode_envelope(b"t", &encode_envelope(&vote)?)?;
    assert_eq!(back, vote);

    // A remote error, with openraft's storage error inside (an AnyError
    // with a source chain), crosses the wire as a value.
    let storage = crate::storage_io(
        openraft::ErrorSubject::Logs,
        openraft::ErrorVerb::Write,
        &graph_core::Error::Io {
            message: "disk full".into(),
        },
    );
    let answer: Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>> =
        Err(RaftError::Fatal(Fatal::StorageError(storage)));
    let back: Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>> =
        decode_envelope(b"t", &encode_envelope(&answer)?)?;
    assert_eq!(back, answer);
    let answer: Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>> =
        Ok(AppendEntriesResponse::HigherVote(Vote::new(9, 3)));
    let back: Result<AppendEntriesResponse<MemberId>, RaftError<MemberId>> =
        decode_envelope(b"t", &encode_envelope(&answer)?)?;
    assert_eq!(back, answer);
    Ok(())
}

#[tokio::test]
async fn rpcs_round_trip_over_http() -> TestResult {
    let server = start(routes(Stub::default())).await?;
    let mut client = client_of(server.addr).await?;

    let answer = client.append_entries(append_request(), option()).await?;
    assert_eq!(
        answer,
        AppendEntriesResponse::PartialSuccess(Some(log_id(2, 7)))
    );
    let mut heartbeat = append_request();
    heartbeat.entries.clear();
    let answer = client.append_entries(heartbeat, option()).await?;
    assert_eq!(answer, AppendEntriesResponse::Success);

    let answer = client
        .install_snapshot(snapshot_request(), option())
        .await?;
    assert_eq!(answer.vote, Vote::new_committed(2, 1));

    let vote = VoteRequest::new(Vote::new(3, 2), None);
    match client.vote(vote, option()).await {
        Err(RPCError::RemoteError(remote)) => {
            assert_eq!(remote.target, 7);
            assert_eq!(remote.source, RaftError::Fatal(Fatal::Stopped));
        }
        other => return Err(format!("expected a remote error, got {other:?}").into()),
    }
    Ok(())
}

#[tokio::test]
async fn undecodable_request_is_400_with_one_line() -> TestResult {
    let server = start(routes(Stub::default())).await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let valid_vote = encode_envelope(&VoteRequest::new(Vote::new(3, 2), None))?;
    let bodies: [(&str, Vec<u8>); 4] = [
        (APPEND_PATH, b"garbage".to_vec()),
        (VOTE_PATH, Vec::new()),
        // A valid envelope of the wrong request.
        (SNAPSHOT_PATH, valid_vote.clone()),
        // Trailing bytes after a valid request.
        (VOTE_PATH, [valid_vote.as_slice(), &[0u8][..]].concat()),
    ];
    for (path, body) in bodies {
        let response = http
            .post(format!("http://{}{path}", server.addr))
            .body(body)
            .send()
            .await?;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::BAD_REQUEST,
            "{path}"
        );
        let message = response.text().await?;
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{message:?}"
        );
        assert!(
            message.starts_with(&format!("undecodable request to {path}: ")),
            "{message}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn closed_port_is_unreachable_quickly() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    drop(listener);
    let mut client = client_of(addr).await?;
    let started = Instant::now();
    let result = client
        .vote(VoteRequest::new(Vote::new(1, 1), None), option())
        .await;
    assert!(
        matches!(result, Err(RPCError::Unreachable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn slow_member_is_unreachable_after_hard_ttl() -> TestResult {
    let server = start(routes(Stub {
        delay: Duration::from_secs(30),
    }))
    .await?;
    let mut client = client_of(server.addr).await?;
    let started = Instant::now();
    let option = RPCOption::new(Duration::from_millis(200));
    let result = client.append_entries(append_request(), option).await;
    assert!(
        matches!(result, Err(RPCError::Unreachable(_))),
        "{result:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn error_status_and_undecodable_answer_are_network_errors() -> TestResult {
    let app = axum::Router::new()
        .route(
            APPEND_PATH,
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom\nagain") }),
        )
        .route(VOTE_PATH, post(|| async { "not an envelope" }));
    let server = start(app).await?;
    let mut client = client_of(server.addr).await?;

    match client.append_entries(append_request(), option()).await {
        Err(RPCError::Network(e)) => assert!(e.to_string().contains("HTTP 500: boom again"), "{e}"),
        other => return Err(format!("expected a network error, got {other:?}").into()),
    }
    match client
        .vote(VoteRequest::new(Vote::new(1, 1), None), option())
        .await
    {
        Err(RPCError::Network(e)) => assert!(e.to_string().contains("undecodable answer"), "{e}"),
        other => return Err(format!("expected a network error, got {other:?}").into()),
    }
    // Nothing listens on the snapshot route: 404.
    match client.install_snapshot(snapshot_request(), option()).await {
        Err(RPCError::Network(e)) => assert!(e.to_string().contains("HTTP 404"), "{e}"),
        other => return Err(format!("expected a network error, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn too_large_asks_for_half_the_entries() {
    let why = BadAnswer("too large".into());
    let several = too_large::<Infallible, _>(5, &why);
    assert!(
        matches!(&several, RPCError::PayloadTooLarge(p) if p.entries_hint() == 2),
        "{several:?}"
    );
    let one = too_large::<Infallible, _>(1, &why);
    assert!(matches!(one, RPCError::Network(_)), "{one:?}");
}

#[test]
fn messages_are_one_line() {
    assert_eq!(one_line("a\nb\r\n"), "a b");
    assert_eq!(one_line(&"x".repeat(600)).len(), 500);
}

#[tokio::test]
async fn a_member_behind_a_token_answers_only_requests_that_carry_it() -> TestResult {
    use std::sync::{Arc, Mutex};

    use crate::network::auth::{Refusal, Token, require_token};

    let token = Token::new("the-members-shared-secret")?;
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let lines = Arc::clone(&log);
    let app = require_token(routes(Stub::default()), token.clone(), move |refused| {
        if let Ok(mut l) = lines.lock() {
            l.push(refused.to_string());
        }
    });
    let server = start(app).await?;

    // A member's network with the token: the RPCs go through.
    let mut network = HttpNetwork::new()?.with_token(token);
    let mut member = network.new_client(7, &BasicNode::new(server.addr)).await;
    let answer = member.append_entries(append_request(), option()).await?;
    assert_eq!(
        answer,
        AppendEntriesResponse::PartialSuccess(Some(log_id(2, 7)))
    );
    assert!(log.lock().map_err(|e| e.to_string())?.is_empty());

    // Without it, or with another: a network error naming the 401, and
    // one line in the member's log naming the request and its sender.
    let mut stranger = client_of(server.addr).await?;
    match stranger.append_entries(append_request(), option()).await {
        Err(RPCError::Network(e)) => assert!(e.to_string().contains("HTTP 401"), "{e}"),
        other => return Err(format!("expected a network error, got {other:?}").into()),
    }
    let mut network = HttpNetwork::new()?.with_token(Token::new("another-secret-entirely")?);
    let mut impostor = network.new_client(7, &BasicNode::new(server.addr)).await;
    let forged = VoteRequest::new(Vote::new(99, 2), None);
    match impostor.vote(forged, option()).await {
        Err(RPCError::Network(e)) => assert!(e.to_string().contains("HTTP 401"), "{e}"),
        other => return Err(format!("expected a network error, got {other:?}").into()),
    }
    // A raw request: 401 with the challenge and a one-line reason, before
    // the body is even decoded.
    let http = reqwest::Client::builder().no_proxy().build()?;
    let response = http
        .post(format!("http://{}{VOTE_PATH}", server.addr))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .body("garbage")
        .send()
        .await?;
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert_eq!(response.text().await?, Refusal::NotBearer.reason());

    let lines = log.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let reasons = [Refusal::Missing, Refusal::Wrong, Refusal::NotBearer];
    for ((line, path), why) in lines
        .iter()
        .zip([APPEND_PATH, VOTE_PATH, VOTE_PATH])
        .zip(reasons)
    {
        assert!(
            line.starts_with(&format!("refused POST {path} from 127.0.0.1:")),
            "{line}"
        );
        assert!(line.ends_with(why.reason()), "{line}");
        assert!(!line.contains("secret"), "{line}");
    }
    Ok(())
}

/// A certificate authority and a certificate it signed for 127.0.0.1 and
/// localhost, as PEM files in `dir`: (CA, certificate, key).
fn certificates(dir: &std::path::Path) -> Result<[std::path::PathBuf; 3], Box<dyn StdError>> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?
        .signed_by(&key, &issuer)?;
    let paths = [
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    ];
    std::fs::write(&paths[0], ca.pem())?;
    std::fs::write(&paths[1], cert.pem())?;
    std::fs::write(&paths[2], key.serialize_pem())?;
    Ok(paths)
}

#[tokio::test]
async fn rpcs_go_over_https_to_a_member_with_a_certificate() -> TestResult {
    use crate::network::tls::{ServerTls, ca_certificates, serve_tls};

    let dir = tempfile::tempdir()?;
    let [ca, cert, key] = certificates(dir.path())?;
    let tls = ServerTls::from_pem_files(&cert, &key)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = serve_tls(listener, routes(Stub::default()), &tls, async move {
            let _ = stopped.await;
        })
        .await;
    });

    // A member's network trusting the CA: the RPC goes through.
    let mut network = HttpNetwork::new()?.with_tls(ca_certificates(&ca)?)?;
    let mut member = network.new_client(7, &BasicNode::new(addr)).await;
    let answer = member.append_entries(append_request(), option()).await?;
    assert_eq!(
        answer,
        AppendEntriesResponse::PartialSuccess(Some(log_id(2, 7)))
    );
    // Plain http to it: no answer that decodes.
    let mut plain = client_of(addr).await?;
    let plain = plain.append_entries(append_request(), option()).await;
    assert!(plain.is_err(), "{plain:?}");
    // A network trusting another authority refuses the certificate.
    let other = tempfile::tempdir()?;
    let [other_ca, _, _] = certificates(other.path())?;
    let mut network = HttpNetwork::new()?.with_tls(ca_certificates(&other_ca)?)?;
    let mut stranger = network.new_client(7, &BasicNode::new(addr)).await;
    let refused = stranger.append_entries(append_request(), option()).await;
    assert!(refused.is_err(), "{refused:?}");
    let _ = stop.send(());

    // Files that hold no certificate or key are named.
    std::fs::write(dir.path().join("empty.pem"), "")?;
    let empty = dir.path().join("empty.pem");
    let e = ServerTls::from_pem_files(&empty, &key)
        .err()
        .map(|e| e.to_string());
    assert!(e.is_some_and(|m| m.contains("holds no PEM certificate")));
    let e = ServerTls::from_pem_files(&cert, &empty)
        .err()
        .map(|e| e.to_string());
    assert!(e.is_some_and(|m| m.contains("holds no PEM key")));
    let e = ServerTls::from_pem_files(&cert, &dir.path().join("none.pem")).err();
    assert!(matches!(e, Some(graph_core::Error::Io { .. })), "{e:?}");
    let e = ca_certificates(&empty).err().map(|e| e.to_string());
    assert!(e.is_some_and(|m| m.contains("holds no PEM certificate")));
    Ok(())
}
