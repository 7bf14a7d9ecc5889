//! The commands over the network: when STORE is a member's URL
//! (`http://HOST:PORT`), the command's arguments go to that member's API
//! (wire.rs) and its answer is printed by the same code as a local result
//! (reads.rs). Also `graphstore cluster`.
//!
//! A [`Member`] is the client: blocking calls, each run on a small tokio
//! runtime of its own. A member that is not the leader answers a write or
//! a linearizable read with the leader's address; the client follows it
//! once, and sends the rest of the command's requests to the leader.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Bytes;
use graph_raft::network::auth::Token;
use graph_raft::network::tls::{ca_certificates, trusting_only};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{CliError, CliResult, advice};
use crate::reads::{self, Verified};
use crate::wire::{self, ErrorBody, IdQuery, IndexRequest, Read};
use crate::{
    ClusterCommand, FindArgs, GetArgs, IndexArgs, NeighborsArgs, ReadJson, StatsArgs,
    commands::{find_query, neighbors_query},
};

/// How long the client waits for a TCP connection to a member.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest one request may take (a `verify` of a large store, a large
/// batch on a slow disk).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The token file of this process's requests (`--token-file` or
/// `GRAPHSTORE_TOKEN_FILE`), set once by [`use_token_file`] before any
/// command runs.
static TOKEN_FILE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Makes every [`Member`] connected from now on send the token in `file`
/// (read when it connects). The first call wins; later ones are ignored.
pub fn use_token_file(file: Option<PathBuf>) {
    let _ = TOKEN_FILE.set(file);
}

/// The token to send, read from the file given to [`use_token_file`].
///
/// # Errors
/// A file that cannot be read or holds no valid token, as one line.
pub fn token() -> CliResult<Option<Token>> {
    match TOKEN_FILE.get() {
        Some(Some(path)) => Token::read(path)
            .map(Some)
            .map_err(|e| CliError::new(format!("--token-file: {}", bare(&e)))),
        _ => Ok(None),
    }
}

/// The CA file of this process's https requests (`--tls-ca` or
/// `GRAPHSTORE_TLS_CA`), set once by [`use_tls_ca`].
static TLS_CA: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Makes every [`Member`] connected from now on trust the certificate
/// authority in `file` for `https://` URLs. The first call wins.
pub fn use_tls_ca(file: Option<PathBuf>) {
    let _ = TLS_CA.set(file);
}

/// The file given to [`use_tls_ca`], if any.
pub fn tls_ca() -> Option<&'static Path> {
    TLS_CA.get().and_then(Option::as_deref)
}

/// An error's message without the kind's prefix ("invalid argument: ").
pub(crate) fn bare(e: &graph_storage::Error) -> String {
    match e {
        graph_storage::Error::InvalidArgument(m) => m.clone(),
        graph_storage::Error::Io { message } => message.clone(),
        other => other.to_string(),
    }
}

/// The URL in STORE, if STORE is one (`http://...` or `https://...`).
pub fn url_of(store: &Path) -> Option<&str> {
    store
        .to_str()
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
}

/// The scheme (`http` or `https`) and `host:port` of a member's URL
/// `http[s]://host:port[/]`.
///
/// # Errors
/// Anything else, as one line.
pub fn address_of(url: &str) -> CliResult<(&'static str, &str)> {
    let (scheme, rest) = match url.strip_prefix("https://") {
        Some(rest) => ("https", rest),
        None => ("http", url.strip_prefix("http://").unwrap_or(url)),
    };
    let address = rest.strip_suffix('/').unwrap_or(rest);
    let well_formed = !address.contains('/')
        && address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !well_formed {
        return Err(CliError::new(format!(
            "{url} is not a member's URL: give http://HOST:PORT (https:// for members serving TLS), the --listen address of `graphstore serve`"
        )));
    }
    Ok((scheme, address))
}

/// A client of one member (and of the leader it points to).
pub struct Member {
    /// The URL as given, for messages.
    url: String,
    /// `http[s]://host:port` of the member given, where retries start.
    given: String,
    /// `http` or `https`, for the leader's address too.
    scheme: &'static str,
    /// Where requests go: the member given, or the leader once a request
    /// was handed over to it.
    base: RefCell<String>,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    /// The `Authorization` header's value, with a token.
    bearer: Option<String>,
}

impl Member {
    /// A client of the member at `url` (`http://HOST:PORT`). Connects on
    /// the first request.
    ///
    /// # Errors
    /// A malformed URL; a runtime or HTTP client that cannot be built.
    pub fn connect(url: &str) -> CliResult<Member> {
        let (scheme, address) = address_of(url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(format!("cannot start the network client: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .no_proxy();
        if scheme == "https" {
            let Some(ca) = tls_ca() else {
                return Err(CliError::new(format!(
                    "{url}: give the cluster's certificate authority with --tls-ca FILE or GRAPHSTORE_TLS_CA to reach a member over https"
                )));
            };
            let certs = ca_certificates(ca)
                .map_err(|e| CliError::new(format!("--tls-ca: {}", bare(&e))))?;
            builder = trusting_only(builder, certs);
        }
        let client = builder
            .build()
            .map_err(|e| CliError::new(format!("cannot start the network client: {e}")))?;
        let bearer = token()?.as_ref().map(Token::bearer);
        Ok(Member {
            url: url.trim_end_matches('/').to_owned(),
            given: format!("{scheme}://{address}"),
            scheme,
            base: RefCell::new(format!("{scheme}://{address}")),
            client,
            runtime,
            bearer,
        })
    }

    /// The URL given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where requests go now.
    pub fn target(&self) -> String {
        self.base.borrow().clone()
    }

    /// Posts `request` to `path` and decodes the answer. `what` says what
    /// failed, for the error line.
    ///
    /// # Errors
    /// The member cannot be reached, answered an error, or an answer that
    /// does not decode; each as one line starting with `what()`.
    pub fn call<Req: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
        what: &dyn Fn() -> String,
    ) -> CliResult<T> {
        let body = serde_json::to_vec(request)
            .map_err(|e| CliError::new(format!("{}: cannot encode the request: {e}", what())))?;
        let answer = self.post(path, body, what)?;
        serde_json::from_value(answer).map_err(|e| {
            CliError::new(format!(
                "{}: undecodable answer from {}: {e}",
                what(),
                self.target()
            ))
        })
    }

    /// Posts a JSON `body` to `path`; returns the JSON answer. A
    /// `not_leader` answer naming the leader's address is followed once;
    /// later requests go to the leader too.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn post(&self, path: &str, body: Vec<u8>, what: &dyn Fn() -> String) -> CliResult<Value> {
        self.attempt(path, &Bytes::from(body), what)
            .map_err(|f| f.error)
    }

    /// [`post`](Self::post), tried again while the failure may have lost
    /// the answer or the cluster has no leader for a moment (the
    /// connection failed or timed out, `unavailable`, `not_leader` without
    /// a leader), for at most `retry_for`: each retry goes to the member
    /// given first (which hands it to the leader of the moment). Only for
    /// requests that are safe to repeat, such as a write with a request
    /// id. `retried` is called before each retry with the failure.
    ///
    /// # Errors
    /// The last failure, when it is not one to retry or time is up.
    pub fn post_retrying(
        &self,
        path: &str,
        body: Vec<u8>,
        what: &dyn Fn() -> String,
        retry_for: Duration,
        retried: &mut dyn FnMut(&CliError),
    ) -> CliResult<Value> {
        let body = Bytes::from(body);
        let deadline = std::time::Instant::now() + retry_for;
        let mut pause = Duration::from_millis(50);
        loop {
            match self.attempt(path, &body, what) {
                Ok(v) => return Ok(v),
                Err(f) if f.retry && std::time::Instant::now() + pause < deadline => {
                    retried(&f.error);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                    *self.base.borrow_mut() = self.given.clone();
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    /// One try of [`post`](Self::post) (following a leader once).
    fn attempt(
        &self,
        path: &str,
        body: &Bytes,
        what: &dyn Fn() -> String,
    ) -> Result<Value, Failure> {
        let mut followed = false;
        loop {
            let base = self.target();
            let url = format!("{base}{path}");
            let sent = self.runtime.block_on(async {
                let mut request = self
                    .client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json");
                if let Some(bearer) = &self.bearer {
                    request = request.header(reqwest::header::AUTHORIZATION, bearer);
                }
                let response = request.body(body.clone()).send().await?;
                let status = response.status();
                let bytes = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, bytes))
            });
            let (status, bytes) = sent.map_err(|e| Failure {
                error: transport_error(&what(), &base, &e),
                retry: true,
            })?;
            if status.is_success() {
                return serde_json::from_slice(&bytes).map_err(|e| {
                    Failure::last(format!("{}: undecodable answer from {base}: {e}", what()))
                });
            }
            if status == reqwest::StatusCode::UNAUTHORIZED {
                let member = if self.bearer.is_some() {
                    "has another token"
                } else {
                    "requires a token"
                };
                return Err(Failure::last(format!(
                    "{}: {base} refused the request: {} (the member {member}: give the cluster's with --token-file FILE or GRAPHSTORE_TOKEN_FILE)",
                    what(),
                    wire::one_line(&String::from_utf8_lossy(&bytes))
                )));
            }
            let Ok(failure) = serde_json::from_slice::<ErrorBody>(&bytes) else {
                return Err(Failure::last(format!(
                    "{}: {url} answered HTTP {}: {} (is this a `graphstore serve` member?)",
                    what(),
                    status.as_u16(),
                    wire::one_line(&String::from_utf8_lossy(&bytes))
                )));
            };
            let not_leader = failure.kind == graph_storage::ErrorKind::NotLeader.name();
            if not_leader
                && !followed
                && let Some(address) = &failure.address
            {
                *self.base.borrow_mut() = format!("{}://{address}", self.scheme);
                followed = true;
                continue;
            }
            let retry = failure.kind == graph_storage::ErrorKind::Unavailable.name()
                || not_leader && failure.address.is_none();
            let advice = failure.error_kind().map_or("see the message above", advice);
            return Err(Failure {
                error: CliError::new(format!("{}: {} ({advice})", what(), failure.message)),
                retry,
            });
        }
    }
}

/// A failed try of a request.
struct Failure {
    /// The line to report.
    error: CliError,
    /// Whether trying again may succeed (and is harmless for a request
    /// that is safe to repeat).
    retry: bool,
}

impl Failure {
    /// A failure not worth retrying.
    fn last(message: String) -> Failure {
        Failure {
            error: CliError::new(message),
            retry: false,
        }
    }
}

/// A request that got no answer, as one line.
fn transport_error(what: &str, base: &str, e: &reqwest::Error) -> CliError {
    // reqwest's own message is generic ("error sending request"); the
    // cause at the bottom of the chain says what happened.
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let why = wire::one_line(&cause.to_string());
    if e.is_connect() {
        CliError::new(format!(
            "{what}: cannot connect to {base}: {why} (is `graphstore serve` running there? check the address)"
        ))
    } else if e.is_timeout() {
        CliError::new(format!(
            "{what}: no answer from {base} in time: {why} (the member may be overloaded or cut off; a write may still be committed)"
        ))
    } else {
        CliError::new(format!(
            "{what}: the request to {base} failed: {why} (a write may still be committed)"
        ))
    }
}

/// A decoded answer, or the line saying it does not decode.
fn decoded<T>(r: Result<T, String>, what: &str, member: &Member) -> CliResult<T> {
    r.map_err(|e| {
        CliError::new(format!(
            "{what}: undecodable answer from {}: {e}",
            member.target()
        ))
    })
}

fn read<Q>(flags: &crate::ReadFlags, query: Q) -> Read<Q> {
    Read {
        linearizable: flags.linearizable,
        query,
    }
}

// ---------------------------------------------------------------- reads

pub(crate) fn stats(url: &str, a: &StatsArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let value: Value = m.call(wire::STATS, &read(&a.read, ()), &|| {
        format!("cannot read the stats of {url}")
    })?;
    reads::print_stats(&value, a.json);
    Ok(())
}

pub(crate) fn get_node(url: &str, a: &GetArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let what = || format!("cannot read node {} of {url}", a.id);
    let value: Value = m.call(wire::GET_NODE, &read(&a.read, IdQuery { id: a.id }), &what)?;
    if value.is_null() {
        return Err(CliError::new(format!("node {} not found in {url}", a.id)));
    }
    let node = decoded(reads::node_from_json(&value), &what(), &m)?;
    reads::print_node(&node, a.json);
    Ok(())
}

pub(crate) fn get_edge(url: &str, a: &GetArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let what = || format!("cannot read edge {} of {url}", a.id);
    let value: Value = m.call(wire::GET_EDGE, &read(&a.read, IdQuery { id: a.id }), &what)?;
    if value.is_null() {
        return Err(CliError::new(format!("edge {} not found in {url}", a.id)));
    }
    let edge = decoded(reads::edge_from_json(&value), &what(), &m)?;
    reads::print_edge(&edge, a.json);
    Ok(())
}

pub(crate) fn neighbors(url: &str, a: &NeighborsArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let edges: Option<Vec<Value>> =
        m.call(wire::NEIGHBORS, &read(&a.read, neighbors_query(a)), &|| {
            format!("cannot read the edges of node {} in {url}", a.id)
        })?;
    let edges = edges.ok_or_else(|| CliError::new(format!("node {} not found in {url}", a.id)))?;
    reads::print_neighbors(&edges, a.json);
    Ok(())
}

pub(crate) fn find(url: &str, a: &FindArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let what = || format!("cannot search {url}");
    let value: Value = m.call(wire::FIND, &read(&a.read, find_query(a)), &what)?;
    let found = decoded(reads::found_from_json(&value), &what(), &m)?;
    reads::print_found(&found, a.json);
    Ok(())
}

pub(crate) fn index_list(url: &str, a: &ReadJson) -> CliResult<()> {
    let m = Member::connect(url)?;
    let what = || format!("cannot list the indexes of {url}");
    let value: Value = m.call(wire::INDEX_LIST, &read(&a.read, ()), &what)?;
    let list = decoded(reads::indexes_from_json(&value), &what(), &m)?;
    reads::print_indexes(&list, a.json);
    Ok(())
}

pub(crate) fn verify(url: &str, a: &ReadJson) -> CliResult<()> {
    let m = Member::connect(url)?;
    let verified: Verified = m.call(wire::VERIFY, &read(&a.read, ()), &|| {
        format!("cannot verify {url}")
    })?;
    reads::print_verified(
        url,
        &verified,
        a.json,
        "this member's copy is damaged: remove it from the cluster with `graphstore cluster change-membership` and add a new member in its place",
    )
}

// ---------------------------------------------------------------- writes

pub(crate) fn index_create(url: &str, a: &IndexArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let _: Value = m.call(
        wire::INDEX_CREATE,
        &IndexRequest {
            label: a.label.clone(),
            property: a.property.clone(),
        },
        &|| {
            format!(
                "cannot create the index :{}({}) in the cluster at {url}",
                a.label, a.property
            )
        },
    )?;
    println!("created index :{}({})", a.label, a.property);
    Ok(())
}

pub(crate) fn index_drop(url: &str, a: &IndexArgs) -> CliResult<()> {
    let m = Member::connect(url)?;
    let _: Value = m.call(
        wire::INDEX_DROP,
        &IndexRequest {
            label: a.label.clone(),
            property: a.property.clone(),
        },
        &|| {
            format!(
                "cannot drop the index :{}({}) in the cluster at {url}",
                a.label, a.property
            )
        },
    )?;
    println!("dropped index :{}({})", a.label, a.property);
    Ok(())
}

// ---------------------------------------------------------------- cluster

/// Runs `graphstore cluster ...`.
///
/// # Errors
/// As [`Member::call`]; a malformed address.
pub(crate) fn cluster(c: ClusterCommand) -> CliResult<()> {
    match c {
        ClusterCommand::Status(a) => {
            let m = Member::connect(&a.url)?;
            let status: Value = m.call(wire::CLUSTER_STATUS, &Value::Null, &|| {
                format!("cannot read the cluster status of {}", a.url)
            })?;
            if a.json {
                reads::print_json(&status);
            } else {
                for line in cluster_text(&status) {
                    println!("{line}");
                }
            }
        }
        ClusterCommand::AddLearner(a) => {
            crate::serve::check_address(&a.addr, "the learner's address")?;
            let m = Member::connect(&a.url)?;
            let _: Value = m.call(
                wire::ADD_LEARNER,
                &wire::AddLearnerRequest {
                    id: a.id,
                    address: a.addr.clone(),
                },
                &|| format!("cannot add learner {} at {}", a.id, a.addr),
            )?;
            println!(
                "added learner {} at {}; it catches up in the background (`graphstore cluster status {}` on the leader shows how far)",
                a.id,
                a.addr,
                m.target()
            );
        }
        ClusterCommand::ChangeMembership(a) => {
            let m = Member::connect(&a.url)?;
            let voters: Vec<String> = a.voters.iter().map(ToString::to_string).collect();
            let _: Value = m.call(
                wire::CHANGE_MEMBERSHIP,
                &wire::MembershipRequest {
                    voters: a.voters.clone(),
                    keep_as_learners: a.keep_as_learners,
                },
                &|| format!("cannot make {} the voters", voters.join(", ")),
            )?;
            println!("voters are now {}", voters.join(", "));
        }
    }
    Ok(())
}

/// A member's view of the cluster (`cluster status`, the `cluster`
/// section of `stats`) as lines for people.
pub fn cluster_text(v: &Value) -> Vec<String> {
    let id = |k: &str| v.get(k).and_then(Value::as_u64);
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let or_none = |x: Option<u64>| x.map_or_else(|| "none".to_owned(), |x| x.to_string());
    let ids = |k: &str| {
        let list: Vec<String> = v
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .map(|i| i.to_string())
                    .collect()
            })
            .unwrap_or_default();
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    };
    let at = |address: &str| {
        if address.is_empty() {
            String::new()
        } else {
            format!(" at {address}")
        }
    };
    let mut lines = vec![
        format!(
            "member       {} ({}){}",
            or_none(id("id")),
            text("state"),
            at(text("address"))
        ),
        match id("leader") {
            Some(l) => format!("leader       {l}{}", at(text("leader_address"))),
            None => "leader       none known".to_owned(),
        },
        format!("term         {}", or_none(id("term"))),
        format!(
            "log          last index {}, applied {}, snapshot {}",
            or_none(id("last_log_index")),
            or_none(id("last_applied")),
            or_none(id("snapshot"))
        ),
        format!("voters       {}", ids("voters")),
        format!("learners     {}", ids("learners")),
    ];
    if let Some(r) = v.get("replication").and_then(Value::as_array) {
        let items: Vec<String> = r
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    or_none(m.get("id").and_then(Value::as_u64)),
                    or_none(m.get("matched").and_then(Value::as_u64))
                )
            })
            .collect();
        lines.push(format!(
            "replicated   {} (member: log index)",
            items.join(", ")
        ));
    }
    lines
}
