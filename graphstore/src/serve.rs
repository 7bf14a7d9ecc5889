//! `graphstore serve`: one member of a replicated cluster (graph-raft).
//!
//! The member's directory holds its Raft log (`log/`, a RocksDB store of
//! its own), its copy of the graph (`graph/`, the state machine) and its
//! snapshot files (`snapshots/`); both stores are written `Strict`. One
//! HTTP server on `--listen` answers the Raft RPCs of the other members
//! (graph-raft's `raft_routes`) and the commands over the network
//! (api.rs). The process runs until SIGINT or SIGTERM, then stops the
//! server, the member and closes the stores.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use graph_raft::network::auth::{Token, require_token};
use graph_raft::network::http::{HttpNetwork, raft_routes};
use graph_raft::network::tls::{ServerTls, ca_certificates, serve_tls};
use graph_raft::{LogStore, MemberId, ReadMode, ReplicatedStore, StateMachine};
use graph_storage::{Durability, RocksDbBackend, RocksDbConfig};
use openraft::BasicNode;

use crate::ServeArgs;
use crate::api::{self, Api};
use crate::commands::cli_config;
use crate::error::{CliError, CliResult, Context, shown};
use crate::metrics::{self, Metrics};
use crate::remote::bare;

/// How long a stopping member waits for the requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `graphstore serve`.
///
/// # Errors
/// Bad arguments, an unusable or locked directory, an address in use, a
/// member that fails while serving; each as one line.
pub(crate) fn run(a: ServeArgs, token_file: Option<&Path>, quiet: bool) -> CliResult<()> {
    check_address(&a.listen, "--listen")?;
    let token = match token_file {
        Some(path) => Some(
            Token::read(path).map_err(|e| CliError::new(format!("--token-file: {}", bare(&e))))?,
        ),
        None => None,
    };
    if token.is_none() && !a.insecure && !is_loopback(&a.listen) {
        return Err(CliError::new(format!(
            "--listen {} is not a loopback address and no --token-file is given: anyone who can reach the port could write or delete the graph and change the cluster; give --token-file FILE (the secret every member and client shares), or --insecure on a network where every host is trusted",
            a.listen
        )));
    }
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => {
            let server = ServerTls::from_pem_files(cert, key)
                .map_err(|e| CliError::new(format!("--tls-cert/--tls-key: {}", bare(&e))))?;
            let Some(ca) = crate::remote::tls_ca() else {
                return Err(CliError::new(
                    "--tls-cert needs --tls-ca FILE (or GRAPHSTORE_TLS_CA): the authority the other members' certificates are signed by",
                ));
            };
            let ca = ca_certificates(ca)
                .map_err(|e| CliError::new(format!("--tls-ca: {}", bare(&e))))?;
            Some(Tls { server, ca })
        }
        _ => None,
    };
    let peers = peers(&a)?;
    prepare_dir(&a.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("graphstore-serve")
        .build()
        .ctx(|| "cannot start the server's runtime".to_owned())?;
    let outcome = runtime.block_on(serve(&a, &peers, token, tls, quiet));
    runtime.shutdown_timeout(DRAIN_TIMEOUT);
    outcome
}

/// Whether the host of `address` (HOST:PORT) is a loopback address:
/// `localhost`, `127.0.0.0/8` or `[::1]`. A name other than `localhost` is
/// taken as reachable from elsewhere.
fn is_loopback(address: &str) -> bool {
    let Some((host, _)) = address.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks that `address` is `HOST:PORT`.
///
/// # Errors
/// Anything else, naming `what`.
pub fn check_address(address: &str, what: &str) -> CliResult<()> {
    let ok = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "{what} {address:?} is not HOST:PORT (for example 127.0.0.1:7001)"
        )))
    }
}

/// The `--peer ID=HOST:PORT` values, by id.
fn peers(a: &ServeArgs) -> CliResult<BTreeMap<MemberId, String>> {
    let mut peers = BTreeMap::new();
    for spec in &a.peers {
        let Some((id, address)) = spec.split_once('=') else {
            return Err(CliError::new(format!(
                "--peer {spec:?}: give ID=HOST:PORT, for example 2=127.0.0.1:7002"
            )));
        };
        let id: MemberId = id.trim().parse().map_err(|_| {
            CliError::new(format!(
                "--peer {spec:?}: {id:?} is not a member id (a number)"
            ))
        })?;
        check_address(address, &format!("--peer {spec:?}: the address"))?;
        if id == a.id {
            return Err(CliError::new(format!(
                "--peer {spec:?}: {id} is this member's own --id; list the other members"
            )));
        }
        if peers.insert(id, address.to_owned()).is_some() {
            return Err(CliError::new(format!("--peer: member {id} is given twice")));
        }
    }
    Ok(peers)
}

/// Creates the member's directory if missing; refuses a file, or a
/// directory holding something other than a member.
fn prepare_dir(dir: &Path) -> CliResult<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::new(format!(
            "{} is a file; give the member's directory (created if missing)",
            shown(dir)
        )));
    }
    std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", shown(dir)))?;
    let mut entries = std::fs::read_dir(dir).ctx(|| format!("cannot read {}", shown(dir)))?;
    let empty = entries.next().is_none();
    let member = ["log", "graph", "snapshots"]
        .iter()
        .any(|d| dir.join(d).is_dir());
    if !empty && !member {
        return Err(CliError::new(format!(
            "{} is not empty and holds no member (no log/, graph/ or snapshots/); give a new or empty directory, or a member's directory",
            shown(dir)
        )));
    }
    Ok(())
}

/// Why a member stopped serving.
enum Stop {
    /// SIGINT or SIGTERM.
    Signal(&'static str),
    /// The HTTP server ended (it only does on an error).
    Server(String),
    /// The member's Raft task failed.
    Member(String),
}

/// A member's TLS: its certificate, and the authority of the others'.
struct Tls {
    server: ServerTls,
    ca: Vec<reqwest::Certificate>,
}

async fn serve(
    a: &ServeArgs,
    peers: &BTreeMap<MemberId, String>,
    token: Option<Token>,
    tls: Option<Tls>,
    quiet: bool,
) -> CliResult<()> {
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| {
            CliError::new(format!(
                "cannot listen on {}: {e} (is another process using the port? choose another --listen)",
                a.listen
            ))
        })?;
    let local: SocketAddr = listener
        .local_addr()
        .ctx(|| format!("cannot listen on {}", a.listen))?;
    // What the other members and clients are told to connect to.
    let any_port = a
        .listen
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse::<u16>().ok())
        == Some(0);
    let advertised = if any_port {
        local.to_string()
    } else {
        a.listen.clone()
    };
    let store = start(a, token.clone(), tls.as_ref().map(|t| t.ca.clone())).await?;
    let mut signals = Signals::install().ctx(|| "cannot handle SIGINT and SIGTERM".to_owned())?;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = Arc::new(Metrics::new());
    let mut app = api::routes(Arc::new(Api::new(
        store.clone(),
        shown(&a.dir),
        Arc::clone(&metrics),
    )))
    .merge(raft_routes(store.raft().clone()));
    if let Some(token) = token {
        // Every route, the API's and Raft's: one line in the log for each
        // request refused.
        let id = a.id;
        app = require_token(app, token, move |refused| {
            eprintln!("member {id}: {refused}");
        });
    }
    // Outermost: every answer is counted, refusals included.
    let app = app.layer(axum::middleware::from_fn(move |request, next| {
        metrics::count_requests(Arc::clone(&metrics), request, next)
    }));
    let stopped = async move {
        let _ = stopped.await;
    };
    let mut server = match tls {
        Some(tls) => {
            tokio::spawn(async move { serve_tls(listener, app, &tls.server, stopped).await })
        }
        None => tokio::spawn(graph_raft::network::http::serve(listener, app, stopped)),
    };

    let running = async {
        if a.init {
            initialize(&store, a.id, &advertised, peers).await?;
        }
        println!(
            "member {} serving on {local} (store {})",
            a.id,
            shown(&a.dir)
        );
        std::io::stdout()
            .flush()
            .ctx(|| "cannot write to standard output".to_owned())?;
        Ok::<_, CliError>(tokio::select! {
            name = signals.next() => Stop::Signal(name),
            served = &mut server => Stop::Server(match served {
                Ok(Ok(())) => "it stopped".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            }),
            why = failed(&store) => Stop::Member(why),
        })
    };
    let outcome = running.await;

    // Stop whatever happened: no new requests, then the member (requests
    // waiting on it fail), then the requests in flight drain.
    let _ = stop.send(());
    let down = store.shutdown().await;
    let server_done = matches!(outcome, Ok(Stop::Server(_)));
    if !server_done {
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await;
    }
    server.abort();
    let synced = match store.read(ReadMode::Local).await {
        Ok(graph) => graph.sync(),
        Err(e) => Err(e),
    };
    // The last handles: the stores close (their WAL synced) as they drop.
    drop(store);

    let why = outcome?;
    match why {
        Stop::Signal(name) => {
            down.ctx(|| format!("member {} did not stop cleanly", a.id))?;
            synced.ctx(|| format!("cannot sync the graph of member {}", a.id))?;
            if !quiet {
                eprintln!("member {} stopped ({name})", a.id);
            }
            Ok(())
        }
        Stop::Server(e) => Err(CliError::new(format!(
            "member {}: the server on {local} failed: {e}",
            a.id
        ))),
        Stop::Member(e) => Err(CliError::new(format!(
            "member {} stopped: {e} (check its directory {} and the disk; `graphstore verify` on a copy of graph/ tells whether the graph is sound)",
            a.id,
            shown(&a.dir)
        ))),
    }
}

/// Opens the member's log and graph and starts it on the HTTP network.
async fn start(
    a: &ServeArgs,
    token: Option<Token>,
    ca: Option<Vec<reqwest::Certificate>>,
) -> CliResult<ReplicatedStore<RocksDbBackend>> {
    let log_dir = a.dir.join("log");
    let graph_dir = a.dir.join("graph");
    let log_what = || format!("cannot open the Raft log at {}", shown(&log_dir));
    let log = LogStore::open(
        RocksDbBackend::open_with(&log_dir, &cli_config()).ctx(log_what)?,
        Durability::Strict,
    )
    .ctx(log_what)?;
    let graph_what = || format!("cannot open the graph at {}", shown(&graph_dir));
    let state_machine = StateMachine::open(
        RocksDbBackend::open_with(&graph_dir, &RocksDbConfig::default()).ctx(graph_what)?,
        a.dir.join("snapshots"),
        Durability::Strict,
    )
    .ctx(graph_what)?;
    let mut network = HttpNetwork::new().ctx(|| "cannot start the Raft network".to_owned())?;
    if let Some(token) = token {
        network = network.with_token(token);
    }
    if let Some(ca) = ca {
        network = network
            .with_tls(ca)
            .ctx(|| "cannot start the Raft network over TLS".to_owned())?;
    }
    let config = graph_raft::default_config().ctx(|| "cannot configure Raft".to_owned())?;
    ReplicatedStore::start(a.id, config, log, state_machine, network)
        .await
        .ctx(|| format!("cannot start member {}", a.id))
}

/// Makes a new cluster of this member and `peers`, unless the member
/// already belongs to one.
async fn initialize(
    store: &ReplicatedStore<RocksDbBackend>,
    id: MemberId,
    advertised: &str,
    peers: &BTreeMap<MemberId, String>,
) -> CliResult<()> {
    let initialized = store
        .raft()
        .is_initialized()
        .await
        .map_err(|e| CliError::new(format!("member {id} cannot read its Raft state: {e}")))?;
    if initialized {
        return Ok(());
    }
    let mut members = BTreeMap::new();
    members.insert(id, BasicNode::new(advertised));
    for (peer, address) in peers {
        members.insert(*peer, BasicNode::new(address));
    }
    store
        .initialize(members)
        .await
        .ctx(|| format!("member {id} cannot initialize the cluster"))
}

/// Resolves when the member's Raft task has failed, with why.
async fn failed(store: &ReplicatedStore<RocksDbBackend>) -> String {
    let mut metrics = store.raft().metrics();
    loop {
        let failure = metrics
            .borrow()
            .running_state
            .as_ref()
            .err()
            .map(ToString::to_string);
        if let Some(f) = failure {
            return f;
        }
        if metrics.changed().await.is_err() {
            return "its Raft task ended".to_owned();
        }
    }
}

/// The signals that stop a member.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts catching the signals (from here on they no longer kill the
    /// process).
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// The name of the next signal caught.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
