//! A replicated cluster of real `graphstore serve` processes on 127.0.0.1,
//! driven by the commands over the network, as docs/CLI.md ("A replicated
//! cluster") describes: an import through a follower, the same graph on
//! every member, reads, index changes, the loss of the leader, a restarted
//! member catching up, and the errors.
//!
//! Every child process is killed and waited for when its guard drops, also
//! when a test fails; every wait is bounded.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The bound of every wait.
const WAIT: Duration = Duration::from_secs(20);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_graphstore")
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(rel)
}

/// Ports that were free a moment ago (bound to port 0, then released).
fn free_ports(n: usize) -> Result<Vec<u16>, std::io::Error> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// Runs the binary with `args`, killing it if it outlives [`WAIT`].
fn run(args: &[&str]) -> Output {
    let mut child = match Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run graphstore: {e}"),
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + WAIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("graphstore {args:?} did not finish within {WAIT:?}");
            }
        }
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and requires success; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "graphstore {args:?} failed: {}\n{}",
        text(&o.stderr),
        text(&o.stdout)
    );
    text(&o.stdout)
}

/// Runs and requires a failure with one error line; returns the line.
fn fails(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        !o.status.success(),
        "graphstore {args:?} succeeded: {}",
        text(&o.stdout)
    );
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "want one error line, got: {err}");
    assert!(lines[0].starts_with("graphstore: error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    lines[0].to_owned()
}

fn json(out: &str) -> Value {
    match serde_json::from_str(out) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {out}"),
    }
}

/// Polls `f` until it returns `Some`, for at most [`WAIT`].
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A `graphstore serve` process; killed and waited for when dropped.
struct Member {
    id: u64,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    /// The cluster's token file, if the members require one.
    token: Option<PathBuf>,
    /// (CA, certificate, key) PEM files, if the members serve TLS.
    tls: Option<[PathBuf; 3]>,
    child: Option<Child>,
}

impl Member {
    fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Starts `graphstore serve` and waits for its line on stdout.
    fn start(&mut self, peers: &[(u64, u16)], init: bool) -> TestResult {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg(&self.dir)
            .args(["--id", &self.id.to_string()])
            .args(["--listen", &format!("127.0.0.1:{}", self.port)]);
        for (id, port) in peers.iter().filter(|(id, _)| *id != self.id) {
            cmd.args(["--peer", &format!("{id}=127.0.0.1:{port}")]);
        }
        if init {
            cmd.arg("--init");
        }
        if let Some(token) = &self.token {
            cmd.arg("--token-file").arg(token);
        }
        if let Some([ca, cert, key]) = &self.tls {
            cmd.arg("--tls-ca").arg(ca);
            cmd.arg("--tls-cert").arg(cert);
            cmd.arg("--tls-key").arg(key);
        }
        let log = File::options().create(true).append(true).open(&self.log)?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()?;
        let stdout = child.stdout.take();
        self.child = Some(child);
        // Read the first line, then keep draining stdout until it closes.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let line = match rx.recv_timeout(WAIT) {
            Ok(Some(Ok(line))) => line,
            other => {
                return Err(format!(
                    "member {} did not start ({other:?}); its stderr: {}",
                    self.id,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )
                .into());
            }
        };
        let want = format!(
            "member {} serving on 127.0.0.1:{} (store ",
            self.id, self.port
        );
        assert!(line.starts_with(&want), "{line}");
        Ok(())
    }

    /// Kills the process (SIGKILL) and waits for it.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three members on free ports, each in its own directory.
struct Cluster {
    members: BTreeMap<u64, Member>,
    /// Given before the arguments of every command the cluster's own
    /// helpers run (`--token-file FILE` for a cluster with a token).
    client: Vec<String>,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(n: u64) -> Result<Cluster, Box<dyn std::error::Error>> {
        Cluster::start_with(n, None, false)
    }

    /// `n` members that require the token written to `token` in the
    /// cluster's directory, if given, and serve TLS with certificates made
    /// for the test, if `tls`.
    fn start_with(
        n: u64,
        token: Option<&str>,
        tls: bool,
    ) -> Result<Cluster, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let tls = if tls {
            Some(certificates(dir.path(), "cluster")?)
        } else {
            None
        };
        let token_file = match token {
            Some(secret) => {
                let path = dir.path().join("token");
                std::fs::write(&path, format!("{secret}\n"))?;
                Some(path)
            }
            None => None,
        };
        let ports = free_ports(n as usize)?;
        let mut members = BTreeMap::new();
        for (i, port) in ports.iter().enumerate() {
            let id = i as u64 + 1;
            members.insert(
                id,
                Member {
                    id,
                    port: *port,
                    dir: dir.path().join(format!("member-{id}")),
                    log: dir.path().join(format!("member-{id}.log")),
                    token: token_file.clone(),
                    tls: tls.clone(),
                    child: None,
                },
            );
        }
        let client = token_file
            .iter()
            .flat_map(|p| ["--token-file".to_owned(), p.display().to_string()])
            .chain(
                tls.iter()
                    .flat_map(|[ca, _, _]| ["--tls-ca".to_owned(), ca.display().to_string()]),
            )
            .collect();
        let mut cluster = Cluster {
            members,
            client,
            dir,
        };
        for id in 1..=n {
            cluster.start_member(id)?;
        }
        Ok(cluster)
    }

    fn peers(&self) -> Vec<(u64, u16)> {
        self.members.values().map(|m| (m.id, m.port)).collect()
    }

    /// Starts (or restarts) member `id`; member 1 is given `--init`.
    fn start_member(&mut self, id: u64) -> TestResult {
        let peers = self.peers();
        match self.members.get_mut(&id) {
            Some(m) => m.start(&peers, id == 1),
            None => Err(format!("no member {id}").into()),
        }
    }

    fn url(&self, id: u64) -> String {
        self.members.get(&id).map(Member::url).unwrap_or_default()
    }

    fn running(&self) -> Vec<u64> {
        self.members
            .values()
            .filter(|m| m.child.is_some())
            .map(|m| m.id)
            .collect()
    }

    /// Runs a command as the cluster's client (with its token).
    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = self.client.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        run(&all)
    }

    /// A member's `cluster status --json`, if it answers.
    fn status(&self, id: u64) -> Option<Value> {
        let o = self.run(&["cluster", "status", &self.url(id), "--json"]);
        o.status.success().then(|| json(&text(&o.stdout)))
    }

    /// Waits until every running member names the same leader, one of
    /// them; returns it.
    fn leader(&self) -> u64 {
        let running = self.running();
        wait_for("a leader every running member agrees on", || {
            let leaders: Vec<Option<u64>> = running
                .iter()
                .map(|&id| self.status(id).and_then(|s| s["leader"].as_u64()))
                .collect();
            match leaders.first() {
                Some(Some(l)) if running.contains(l) && leaders.iter().all(|x| x == &Some(*l)) => {
                    Some(*l)
                }
                _ => None,
            }
        })
    }

    /// Waits until every running member has applied the leader's whole
    /// log.
    fn settled(&self) {
        let running = self.running();
        wait_for("every running member to apply the leader's log", || {
            let applied: Vec<Option<u64>> = running
                .iter()
                .map(|&id| self.status(id).and_then(|s| s["last_applied"].as_u64()))
                .collect();
            let leader = self.status(self.leader())?;
            let last = leader["last_log_index"].as_u64()?;
            applied.iter().all(|a| *a == Some(last)).then_some(())
        });
    }

    /// `stats --json` of every running member: (nodes, edges) each.
    fn counts(&self) -> Vec<(u64, u64)> {
        self.running()
            .iter()
            .map(|&id| {
                let o = self.run(&["stats", &self.url(id), "--json"]);
                assert!(o.status.success(), "stats failed: {}", text(&o.stderr));
                let s = json(&text(&o.stdout));
                assert_eq!(s["cluster"]["id"].as_u64(), Some(id), "{s}");
                (
                    s["nodes"].as_u64().unwrap_or(u64::MAX),
                    s["edges"].as_u64().unwrap_or(u64::MAX),
                )
            })
            .collect()
    }
}

fn lesmis_import(url: &str) -> Value {
    let nodes = data("les-miserables/characters.csv");
    let rels = data("les-miserables/cooccurrences.csv");
    json(&ok(&[
        "--quiet",
        "import",
        url,
        "--nodes",
        &nodes.display().to_string(),
        "--relationships",
        &rels.display().to_string(),
        // Small batches: relationships name nodes of earlier batches.
        "--batch-size",
        "40",
        "--json",
    ]))
}

#[test]
fn a_three_member_cluster_serves_the_commands_and_survives_losing_its_leader() -> TestResult {
    let mut cluster = Cluster::start(3)?;
    let leader = cluster.leader();
    let follower = *cluster
        .running()
        .iter()
        .find(|&&id| id != leader)
        .ok_or("no follower")?;
    let other = *cluster
        .running()
        .iter()
        .find(|&&id| id != leader && id != follower)
        .ok_or("no third member")?;

    // An import through a follower: its writes go to the leader.
    let summary = lesmis_import(&cluster.url(follower));
    assert_eq!(summary["nodes"], 77, "{summary}");
    assert_eq!(summary["relationships"], 254, "{summary}");
    assert_eq!(summary["mode"], "remote", "{summary}");
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(77, 254); 3]);

    // The same import again is refused as a whole (every id was imported
    // before) and sends nothing.
    let nodes = data("les-miserables/characters.csv").display().to_string();
    let line = fails(&["--quiet", "import", &cluster.url(other), "--nodes", &nodes]);
    assert!(line.contains("was imported before"), "{line}");
    // With --skip-bad-rows, every row is skipped into the report.
    let report = cluster.dir.path().join("bad-rows.txt");
    let skipped = json(&ok(&[
        "--quiet",
        "import",
        &cluster.url(other),
        "--nodes",
        &nodes,
        "--skip-bad-rows",
        "--bad-rows-report",
        &report.display().to_string(),
        "--json",
    ]));
    assert_eq!(
        (skipped["nodes"].as_u64(), skipped["bad_rows"].as_u64()),
        (Some(0), Some(77))
    );
    assert_eq!(std::fs::read_to_string(&report)?.lines().count(), 77);
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(77, 254); 3]);

    // Reads on any member.
    let found = json(&ok(&[
        "find",
        &cluster.url(other),
        "--label",
        "Character",
        "--where",
        "name=Valjean",
        "--json",
    ]));
    let valjean = found[0]["id"].as_u64().ok_or("no Valjean")?;
    let node = json(&ok(&[
        "get",
        "node",
        &cluster.url(follower),
        &valjean.to_string(),
        "--json",
    ]));
    assert_eq!(node["properties"]["partners"], 36, "{node}");
    let text_line = ok(&["get", "node", &cluster.url(leader), &valjean.to_string()]);
    assert!(
        text_line.starts_with(&format!("n{valjean} :Character {{name: \"Valjean\"")),
        "{text_line}"
    );
    let edges = json(&ok(&[
        "neighbors",
        &cluster.url(other),
        &valjean.to_string(),
        "--both",
        "--json",
    ]));
    assert_eq!(edges.as_array().map(Vec::len), Some(36), "{edges}");
    let edge = edges[0]["edge"].as_u64().ok_or("no edge")?;
    let e = json(&ok(&[
        "get",
        "edge",
        &cluster.url(follower),
        &edge.to_string(),
        "--json",
    ]));
    assert_eq!(e["type"], "APPEARS_WITH", "{e}");
    // A linearizable read through a follower is answered by the leader.
    let s = json(&ok(&[
        "stats",
        &cluster.url(follower),
        "--linearizable",
        "--json",
    ]));
    assert_eq!(
        (s["nodes"].as_u64(), s["edges"].as_u64()),
        (Some(77), Some(254))
    );
    assert_eq!(s["cluster"]["id"].as_u64(), Some(leader), "{s}");
    let missing = fails(&["get", "node", &cluster.url(other), "999999"]);
    assert!(
        missing.contains("node 999999 not found in http://"),
        "{missing}"
    );

    // An index created through a follower, used on another member.
    let created = ok(&[
        "index",
        "create",
        &cluster.url(follower),
        "Character",
        "partners",
    ]);
    assert_eq!(created.trim(), "created index :Character(partners)");
    let twice = fails(&[
        "index",
        "create",
        &cluster.url(other),
        "Character",
        "partners",
    ]);
    assert!(twice.contains("already exists"), "{twice}");
    cluster.settled();
    let o = run(&[
        "find",
        &cluster.url(other),
        "--label",
        "Character",
        "--where",
        "partners>=20",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let names: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().any(|l| l.contains("\"Gavroche\"")),
        "{names:?}"
    );
    assert!(names.iter().any(|l| l.contains("\"Valjean\"")), "{names:?}");
    assert!(
        text(&o.stderr).contains("(by index :Character(partners))"),
        "{}",
        text(&o.stderr)
    );
    let list = ok(&["index", "list", &cluster.url(leader)]);
    assert_eq!(list.trim(), ":Character(partners)");

    // The leader dies: the other two elect a new one and go on.
    let status = text(&run(&["cluster", "status", &cluster.url(other)]).stdout);
    assert!(status.contains("voters       1, 2, 3"), "{status}");
    if let Some(m) = cluster.members.get_mut(&leader) {
        m.kill();
    }
    let new_leader = cluster.leader();
    assert_ne!(new_leader, leader);
    let karate = data("karate-club/karate.edges").display().to_string();
    let survivor = if new_leader == follower {
        other
    } else {
        follower
    };
    let summary = json(&ok(&[
        "--quiet",
        "import",
        &cluster.url(survivor),
        "--edge-list",
        &karate,
        "--json",
    ]));
    assert_eq!(
        (summary["nodes"].as_u64(), summary["relationships"].as_u64()),
        (Some(34), Some(78))
    );
    ok(&[
        "index",
        "create",
        &cluster.url(survivor),
        "Character",
        "name",
    ]);
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(111, 332); 2]);

    // The killed member comes back (same directory, same port) and
    // catches up.
    cluster.start_member(leader)?;
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(111, 332); 3]);
    let list = ok(&["index", "list", &cluster.url(leader)]);
    assert_eq!(list.trim(), ":Character(name)\n:Character(partners)");

    // Later imports name the nodes of earlier ones by their saved ids: the
    // edge list again links the same 34 members, the relationship file
    // again adds parallel edges between the same characters.
    let rels = data("les-miserables/cooccurrences.csv")
        .display()
        .to_string();
    let again = json(&ok(&[
        "--quiet",
        "import",
        &cluster.url(leader),
        "--edge-list",
        &karate,
        "--relationships",
        &rels,
        "--batch-size",
        "100",
        "--json",
    ]));
    assert_eq!(
        (again["nodes"].as_u64(), again["relationships"].as_u64()),
        (Some(0), Some(332))
    );
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(111, 664); 3]);
    for id in cluster.running() {
        let line = ok(&["verify", &cluster.url(id)]);
        assert!(line.contains(": clean (111 nodes, 664 edges"), "{line}");
    }
    Ok(())
}

#[test]
fn errors_are_one_line_and_a_member_stops_cleanly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ports = free_ports(3)?;
    let nothing = format!("http://127.0.0.1:{}", ports[2]);

    // Nothing listening.
    let line = fails(&["stats", &nothing]);
    assert!(line.contains("cannot connect to"), "{line}");
    let line = fails(&["cluster", "status", &nothing]);
    assert!(
        line.contains("is `graphstore serve` running there?"),
        "{line}"
    );
    // Not a member's URL; a command that needs a directory.
    let line = fails(&["stats", "https://127.0.0.1:1"]);
    assert!(line.contains("--tls-ca FILE"), "{line}");
    let line = fails(&["stats", "http://127.0.0.1:1/api"]);
    assert!(line.contains("is not a member's URL"), "{line}");
    let line = fails(&["export", &nothing, "--out", "x.jsonl", "--format", "jsonl"]);
    assert!(line.contains("works on a store directory only"), "{line}");

    // Bad arguments to serve.
    let m1 = dir.path().join("m1");
    let m1s = m1.display().to_string();
    let listen = format!("127.0.0.1:{}", ports[0]);
    let line = fails(&[
        "serve", &m1s, "--id", "1", "--listen", &listen, "--peer", "2",
    ]);
    assert!(line.contains("give ID=HOST:PORT"), "{line}");
    let line = fails(&[
        "serve",
        &m1s,
        "--id",
        "1",
        "--listen",
        &listen,
        "--peer",
        "1=127.0.0.1:9",
    ]);
    assert!(line.contains("own --id"), "{line}");
    let line = fails(&["serve", &m1s, "--id", "1", "--listen", "nowhere"]);
    assert!(line.contains("is not HOST:PORT"), "{line}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x")?;
    let line = fails(&[
        "serve",
        &file.display().to_string(),
        "--id",
        "1",
        "--listen",
        &listen,
    ]);
    assert!(line.contains("is a file"), "{line}");

    // A one-member cluster.
    let mut member = Member {
        id: 1,
        port: ports[0],
        dir: m1.clone(),
        log: dir.path().join("m1.log"),
        token: None,
        tls: None,
        child: None,
    };
    member.start(&[], true)?;
    let url = member.url();
    wait_for("the member to lead", || {
        let o = run(&["cluster", "status", &url, "--json"]);
        (o.status.success() && json(&text(&o.stdout))["leader"] == 1).then_some(())
    });
    // Its directory is locked; its port is taken.
    let other_listen = format!("127.0.0.1:{}", ports[1]);
    let line = fails(&["serve", &m1s, "--id", "1", "--listen", &other_listen]);
    assert!(
        line.contains("another process has this store open"),
        "{line}"
    );
    let m2 = dir.path().join("m2").display().to_string();
    let line = fails(&["serve", &m2, "--id", "2", "--listen", &listen]);
    assert!(line.contains("cannot listen on"), "{line}");
    // Bad requests are answered, not fatal.
    let line = fails(&["find", &url, "--label", "X", "--where", "nothing"]);
    assert!(line.contains("no comparison"), "{line}");
    let line = fails(&["index", "drop", &url, "X", "y"]);
    assert!(line.contains("no index on :X(y)"), "{line}");
    let line = fails(&["--quiet", "import", &url, "--nodes", "/nonexistent.csv"]);
    assert!(line.contains("does not exist"), "{line}");

    // SIGTERM stops it cleanly (exit 0, stores closed: it starts again).
    let pid = member.child.as_ref().map(Child::id).ok_or("not running")?;
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(killed.success());
    let mut child = member.child.take().ok_or("not running")?;
    let status = wait_for("the member to stop", || child.try_wait().ok().flatten());
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&member.log)?;
    assert!(log.contains("member 1 stopped (SIGTERM)"), "{log}");
    member.start(&[], true)?;
    let stats = wait_for("the restarted member to answer", || {
        let o = run(&["stats", &url, "--json"]);
        o.status.success().then(|| json(&text(&o.stdout)))
    });
    assert_eq!(stats["nodes"], 0, "{stats}");
    Ok(())
}

#[test]
fn a_whole_cluster_restarts_after_an_import_of_large_batches() -> TestResult {
    // Batches of up to 1 MiB of JSON, each one Raft entry: after a restart
    // the new leader must find where each follower's log matches, sending
    // entries that must arrive within a heartbeat (serve.rs,
    // MAX_PAYLOAD_ENTRIES). At this size (about ten entries) the cluster
    // also recovers with openraft's default of 300 entries per request; the
    // livelock that default causes needs tens of MiB of log (a 100,000-node
    // import), too slow for this suite.
    let mut cluster = Cluster::start(3)?;
    let (nodes, rels) = (
        cluster.dir.path().join("people.csv"),
        cluster.dir.path().join("knows.csv"),
    );
    let n = 20_000u64;
    let mut people = String::from("id:ID(P),:LABEL,name,bio,age:int\n");
    for i in 0..n {
        people.push_str(&format!(
            "p{i},Person,person {i},\"a somewhat longer text property to make the batches larger: {i}\",{}\n",
            18 + i % 70
        ));
    }
    std::fs::write(&nodes, people)?;
    let mut knows = String::from(":START_ID(P),:END_ID(P),:TYPE,since:int\n");
    for i in 0..2 * n {
        knows.push_str(&format!(
            "p{},p{},KNOWS,{}\n",
            i % n,
            (i * 7919 + 13) % n,
            1990 + i % 30
        ));
    }
    std::fs::write(&rels, knows)?;
    let leader = cluster.leader();
    let summary = json(&ok(&[
        "--quiet",
        "import",
        &cluster.url(leader),
        "--nodes",
        &nodes.display().to_string(),
        "--relationships",
        &rels.display().to_string(),
        "--json",
    ]));
    assert_eq!(summary["nodes"], n, "{summary}");
    cluster.settled();
    let entries = cluster
        .status(leader)
        .and_then(|s| s["last_log_index"].as_u64())
        .ok_or("no log index")?;
    assert!(entries >= 8, "only {entries} log entries");

    for id in 1..=3 {
        if let Some(m) = cluster.members.get_mut(&id) {
            m.kill();
        }
    }
    for id in 1..=3 {
        cluster.start_member(id)?;
    }
    cluster.leader();
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(n, 2 * n); 3]);
    for id in 1..=3 {
        let s = json(&ok(&[
            "stats",
            &cluster.url(id),
            "--linearizable",
            "--json",
        ]));
        assert_eq!(s["nodes"], n, "{s}");
    }
    Ok(())
}

/// Sends `request` (a whole HTTP/1.1 request) to `port` and returns the
/// status line of the answer.
fn raw_status(port: u16, request: &str) -> Result<String, Box<dyn std::error::Error>> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(WAIT))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    Ok(answer.trim_end().to_owned())
}

#[test]
fn a_cluster_with_a_token_lets_no_one_else_in() -> TestResult {
    let secret = "k8Jx2-cluster-token-for-tests";
    let cluster = Cluster::start_with(3, Some(secret), false)?;
    // The members elect a leader and replicate: their own RPCs carry the
    // token.
    let leader = cluster.leader();
    let url = cluster.url(leader);
    let follower = cluster.url(if leader == 1 { 2 } else { 1 });
    let voters = |c: &Cluster| c.status(leader).map(|s| s["voters"].clone());
    let before = voters(&cluster);
    assert_eq!(before, Some(serde_json::json!([1, 2, 3])));

    // No token: every command is refused with one line, nothing done.
    let line = fails(&["cluster", "change-membership", &url, "--voters", "1"]);
    assert!(
        line.contains("refused the request: no bearer token")
            && line.contains("--token-file FILE or GRAPHSTORE_TOKEN_FILE"),
        "{line}"
    );
    let line = fails(&["stats", &follower]);
    assert!(line.contains("the member requires a token"), "{line}");
    let nodes = data("les-miserables/characters.csv").display().to_string();
    let line = fails(&["--quiet", "import", &url, "--nodes", &nodes]);
    assert!(line.contains("refused the request"), "{line}");
    // Another token, from the environment: refused the same way.
    let wrong = cluster.dir.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-cluster-token\n")?;
    let o = Command::new(bin())
        .args(["cluster", "change-membership", &url, "--voters", "1"])
        .env("GRAPHSTORE_TOKEN_FILE", &wrong)
        .stdin(Stdio::null())
        .output()?;
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("wrong bearer token") && err.contains("the member has another token"),
        "{err}"
    );
    assert!(!err.contains("not-the-cluster-token"), "{err}");
    // A token file that holds no token is named before anything is sent.
    let short = cluster.dir.path().join("short-token");
    std::fs::write(&short, "short\n")?;
    let line = fails(&["--token-file", &short.display().to_string(), "stats", &url]);
    assert!(
        line.contains("--token-file:") && line.contains("fewer than 16"),
        "{line}"
    );
    // A forged Raft vote never reaches the member's Raft: 401, not 400.
    let forged = "POST /raft/vote HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngarbage";
    let port = cluster.members.get(&leader).map(|m| m.port).unwrap_or(0);
    assert_eq!(raw_status(port, forged)?, "HTTP/1.1 401 Unauthorized");
    let with_token = format!(
        "POST /raft/vote HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngarbage"
    );
    assert_eq!(raw_status(port, &with_token)?, "HTTP/1.1 400 Bad Request");
    // Every route, the API's and Raft's, on a follower and on the leader:
    // 401 without the token, and the body is never read.
    let raft = [
        graph_raft::network::http::APPEND_PATH,
        graph_raft::network::http::VOTE_PATH,
        graph_raft::network::http::SNAPSHOT_PATH,
    ];
    for member in cluster.members.values() {
        for path in graphstore::wire::ROUTES.iter().chain(&raft) {
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
            assert_eq!(
                raw_status(member.port, &request)?,
                "HTTP/1.1 401 Unauthorized",
                "member {} {path}",
                member.id
            );
        }
    }
    // With the token, each is served (a malformed request is a 400 or a
    // 200 for requests with no fields, never a 404).
    for path in graphstore::wire::ROUTES.iter().chain(&raft) {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n["
        );
        let status = raw_status(port, &request)?;
        assert!(
            status == "HTTP/1.1 400 Bad Request" || status.starts_with("HTTP/1.1 2"),
            "{path}: {status}"
        );
    }
    assert_eq!(voters(&cluster), before);
    assert_eq!(cluster.counts(), vec![(0, 0); 3]);
    // Each refusal is one line in the log of the member that refused it.
    let log = std::fs::read_to_string(&cluster.members[&leader].log)?;
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("refused POST")).collect();
    assert!(
        refused
            .iter()
            .any(|l| l.contains("refused POST /api/change-membership from 127.0.0.1:")),
        "{log}"
    );
    assert!(
        refused.iter().any(|l| l.ends_with("wrong bearer token")),
        "{log}"
    );
    assert!(!log.contains(secret), "the log shows the token: {log}");

    // With the token (the flag, or the environment): it all works.
    let imported = json(&text(
        &cluster
            .run(&["--quiet", "import", &follower, "--nodes", &nodes, "--json"])
            .stdout,
    ));
    assert_eq!(imported["nodes"].as_u64(), Some(77), "{imported}");
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(77, 0); 3]);
    let token = cluster.dir.path().join("token");
    let o = Command::new(bin())
        .args(["stats", &url, "--json"])
        .env("GRAPHSTORE_TOKEN_FILE", &token)
        .stdin(Stdio::null())
        .output()?;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(json(&text(&o.stdout))["nodes"].as_u64(), Some(77));

    // GET /metrics: behind the token too; with it, the member's figures
    // in Prometheus' text format.
    let get =
        |auth: &str| format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    assert_eq!(raw_status(port, &get(""))?, "HTTP/1.1 401 Unauthorized");
    let (status, body) = raw_answer(port, &get(&format!("Authorization: Bearer {secret}\r\n")))?;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    for line in [
        "graphstore_raft_role{role=\"leader\"} 1".to_owned(),
        format!("graphstore_member_id {leader}"),
        format!("graphstore_raft_leader_id {leader}"),
        "graphstore_nodes 77".to_owned(),
        "graphstore_edges 0".to_owned(),
        // Refused: without a token, with another, and in the walk of the routes.
        "graphstore_http_requests_total{route=\"/api/change-membership\",status=\"401\"} 3"
            .to_owned(),
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in:\n{body}");
    }
    let count = |name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // The import's batches were written through the leader's API.
    assert!(count("graphstore_write_seconds_count ") >= 1.0, "{body}");
    assert!(
        count("graphstore_write_seconds_bucket{le=\"+Inf\"} ")
            == count("graphstore_write_seconds_count "),
        "{body}"
    );
    assert!(count("graphstore_store_disk_bytes ") > 0.0, "{body}");
    assert!(!body.contains(secret));
    Ok(())
}

/// Sends `request` to `port`; the status line and the body of the answer
/// (the request must ask for `Connection: close`).
fn raw_answer(port: u16, request: &str) -> Result<(String, String), Box<dyn std::error::Error>> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(WAIT))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.lines().next().unwrap_or("").to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn serving_beyond_loopback_needs_a_token_or_insecure() -> TestResult {
    let dir = tempfile::tempdir()?;
    let m = dir.path().join("m");
    let ms = m.display().to_string();
    for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.1:7001", "example.com:7001"] {
        let line = fails(&["serve", &ms, "--id", "1", "--listen", listen]);
        assert!(
            line.contains("is not a loopback address")
                && line.contains("--token-file FILE")
                && line.contains("--insecure"),
            "{listen}: {line}"
        );
    }
    // Refused before anything was created.
    assert!(!m.exists());
    // A token file that cannot be read is named.
    let line = fails(&[
        "--token-file",
        "/nonexistent/token",
        "serve",
        &ms,
        "--id",
        "1",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(
        line.contains("cannot read the token file /nonexistent/token"),
        "{line}"
    );
    assert!(!m.exists());
    Ok(())
}

/// A child process killed and waited for when dropped.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn an_import_interrupted_by_a_leader_change_writes_every_row_once() -> TestResult {
    let mut cluster = Cluster::start(3)?;
    let leader = cluster.leader();
    let follower = if leader == 1 { 2 } else { 1 };
    // 40,000 nodes and a chain of edges through them, in batches of 50:
    // 1,600 commits, long enough to lose the leader in the middle.
    let n = 40_000u64;
    let nodes = cluster.dir.path().join("nodes.csv");
    let rels = cluster.dir.path().join("rels.csv");
    let mut csv = String::from(":ID,name\n");
    for i in 0..n {
        csv.push_str(&format!("{i},n{i}\n"));
    }
    std::fs::write(&nodes, &csv)?;
    let mut csv = String::from(":START_ID,:END_ID,:TYPE\n");
    for i in 1..n {
        csv.push_str(&format!("{},{i},NEXT\n", i - 1));
    }
    std::fs::write(&rels, &csv)?;
    let url = cluster.url(follower);
    let child = Command::new(bin())
        .args(["--quiet", "import", &url, "--batch-size", "50", "--json"])
        .arg("--nodes")
        .arg(&nodes)
        .arg("--relationships")
        .arg(&rels)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut import = Running(Some(child));

    // Once part of the import is committed, the leader is killed.
    let part = wait_for("the import's first batches", || {
        let count = cluster.status(follower)?["last_applied"].as_u64()?;
        (count > 20).then_some(count)
    });
    let killed = cluster.members.get_mut(&leader).ok_or("no leader")?;
    killed.kill();
    let child = import.0.take().ok_or("no import")?;
    let out = {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        rx.recv_timeout(Duration::from_secs(120))??
    };
    assert!(
        out.status.success(),
        "the import failed after the leader was killed at log index {part}: {}",
        text(&out.stderr)
    );
    let summary = json(&text(&out.stdout));
    assert_eq!(summary["nodes"].as_u64(), Some(n), "{summary}");
    assert_eq!(summary["relationships"].as_u64(), Some(n - 1), "{summary}");
    // The leader died between or during batches: at least one request was
    // sent again, and none applied twice.
    assert!(
        summary["retried_requests"].as_u64().unwrap_or(0) >= 1,
        "{summary}"
    );
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(n, n - 1); 2]);
    cluster.start_member(leader)?;
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(n, n - 1); 3]);
    for id in cluster.running() {
        let line = ok(&["verify", &cluster.url(id)]);
        assert!(line.contains(": clean ("), "{line}");
    }
    Ok(())
}

/// Says `line` on stderr and, under scripts/test, in the notes it prints
/// at the end (`GRAPH_STORAGE_TEST_NOTES`), passed or not.
fn note(line: &str) {
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("GRAPH_STORAGE_TEST_NOTES") {
        let written = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()));
        assert!(written.is_ok(), "cannot write the test's note: {written:?}");
    }
}

/// Posts `body` to `path` on `port`; the status code and the body of the
/// answer, or `None` when there was no answer (refused, reset, timed out).
fn post(port: u16, path: &str, body: &[u8]) -> Option<(u16, String)> {
    use std::io::Write;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// A member's store, read directly: every pair (family byte, key, `=`,
/// value) and the `w` values of its `W` nodes.
struct Contents {
    pairs: Vec<Vec<u8>>,
    w: Vec<i64>,
}

/// The contents of the graph store in `dir` (a member's `graph/`).
fn member_contents(dir: &Path) -> Result<Contents, Box<dyn std::error::Error>> {
    use graph_storage::{ColumnFamily, ReadView, ScanDirection};
    let backend = graph_storage::RocksDbBackend::open(dir)?;
    let mut pairs = Vec::new();
    for cf in ColumnFamily::ALL {
        backend.scan_prefix(cf, &[], ScanDirection::Forward, &mut |k, v| {
            pairs.push([&[cf as u8][..], k, b"=", v].concat());
            Ok(std::ops::ControlFlow::Continue(()))
        })?;
    }
    let store = graph_storage::GraphStore::open(backend)?;
    let mut w = Vec::new();
    for id in store.nodes_with_label("W")? {
        let node = store.get_node(id)?.ok_or("a listed node is missing")?;
        match node.properties.get("w") {
            Some(graph_storage::PropertyValue::Int(v)) => w.push(*v),
            other => return Err(format!("node {id:?} has w = {other:?}").into()),
        }
    }
    drop(store);
    Ok(Contents { pairs, w })
}

/// Writers and a linearizable reader against three real members while
/// members are SIGKILLed at random moments (the leader or a follower) and
/// restarted, cycle after cycle. Each write carries a request id and is
/// retried on any member until acknowledged. Then: every acknowledged
/// write is present exactly once (and nothing else), every member holds
/// the same bytes in every family, `verify` is clean, and no linearizable
/// read missed a write acknowledged before it started.
/// `GRAPHSTORE_KILL_CYCLES` (default 6) and `GRAPHSTORE_KILL_SEED` set the
/// run; both are printed.
#[test]
fn members_killed_while_writing_lose_nothing_and_apply_each_write_once() -> TestResult {
    use rand::{Rng, SeedableRng};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cycles = env("GRAPHSTORE_KILL_CYCLES").unwrap_or(6);
    let seed = env("GRAPHSTORE_KILL_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    note(&format!(
        "kill-while-writing: {cycles} cycles, seed {seed} (GRAPHSTORE_KILL_SEED={seed} repeats it)"
    ));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut cluster = Cluster::start(3)?;
    cluster.leader();
    let ports: Vec<u16> = cluster.members.values().map(|m| m.port).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(i64, u64)>>> = Arc::default();
    let given_up = Arc::new(AtomicU64::new(0));
    let stale_reads: Arc<Mutex<Vec<String>>> = Arc::default();
    let reads = Arc::new(AtomicU64::new(0));

    let mut threads = Vec::new();
    for writer in 0..2u8 {
        let (stop, acked, given_up, ports) = (
            Arc::clone(&stop),
            Arc::clone(&acked),
            Arc::clone(&given_up),
            ports.clone(),
        );
        threads.push(thread::spawn(move || {
            let mut i = 0u64;
            let mut turn = usize::from(writer);
            while !stop.load(Ordering::Relaxed) {
                let w = i64::from(writer) * 1_000_000 + i as i64;
                let mut id = [writer; 16];
                id[8..].copy_from_slice(&i.to_be_bytes());
                let mut body = graphstore::wire::WriteBody::new();
                let create = graph_storage::Mutation::CreateNode {
                    id: graph_raft::placeholder_node(0),
                    labels: vec!["W".into()],
                    properties: [("w".to_owned(), graph_storage::PropertyValue::Int(w))]
                        .into_iter()
                        .collect(),
                };
                if body.push(&create).is_err() {
                    given_up.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let body = body.take_once(&graph_raft::RequestId(id));
                // The same request, on one member after another, until
                // one acknowledges it.
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let port = ports[turn % ports.len()];
                    match post(port, "/api/write", &body) {
                        Some((200, answer)) => {
                            let node = serde_json::from_str::<Value>(&answer)
                                .ok()
                                .and_then(|v| v["nodes"][0].as_u64());
                            match (node, acked.lock()) {
                                (Some(node), Ok(mut a)) => a.push((w, node)),
                                _ => {
                                    given_up.fetch_add(1, Ordering::Relaxed);
                                    return;
                                }
                            }
                            break;
                        }
                        _ if Instant::now() < deadline => {
                            turn += 1;
                            thread::sleep(Duration::from_millis(20));
                        }
                        _ => {
                            given_up.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
                i += 1;
            }
        }));
    }
    {
        // Linearizable reads of a write acknowledged before they started.
        let (stop, acked, stale_reads, reads, ports) = (
            Arc::clone(&stop),
            Arc::clone(&acked),
            Arc::clone(&stale_reads),
            Arc::clone(&reads),
            ports.clone(),
        );
        threads.push(thread::spawn(move || {
            let mut turn = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let last = acked.lock().ok().and_then(|a| a.last().copied());
                turn += 1;
                let Some((w, node)) = last else {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let request = format!(r#"{{"linearizable":true,"query":{{"id":{node}}}}}"#);
                let port = ports[turn % ports.len()];
                if let Some((200, answer)) = post(port, "/api/get-node", request.as_bytes()) {
                    reads.fetch_add(1, Ordering::Relaxed);
                    if answer.trim() == "null"
                        && let Ok(mut s) = stale_reads.lock()
                    {
                        s.push(format!("node {node} (w {w}) missing on port {port}"));
                    }
                }
                thread::sleep(Duration::from_millis(5));
            }
        }));
    }

    // Kill a member (the leader or a follower) at a random moment, let the
    // others go on, restart it; again.
    let mut kills = Vec::new();
    for _ in 0..cycles {
        thread::sleep(Duration::from_millis(rng.gen_range(200..800)));
        let leader = cluster.leader();
        let followers: Vec<u64> = cluster
            .running()
            .into_iter()
            .filter(|&id| id != leader)
            .collect();
        let victim = if rng.gen_bool(0.5) || followers.is_empty() {
            leader
        } else {
            followers[rng.gen_range(0..followers.len())]
        };
        cluster.members.get_mut(&victim).ok_or("no victim")?.kill();
        kills.push((victim, victim == leader));
        thread::sleep(Duration::from_millis(rng.gen_range(200..1000)));
        cluster.start_member(victim)?;
    }
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().map_err(|_| "a client thread panicked")?;
    }
    note(&format!(
        "kill-while-writing: killed (member, was leader) {kills:?}; {} writes acknowledged, {} linearizable reads",
        acked.lock().map(|a| a.len()).unwrap_or(0),
        reads.load(Ordering::Relaxed)
    ));
    assert_eq!(
        given_up.load(Ordering::Relaxed),
        0,
        "a writer gave up (seed {seed})"
    );
    let stale = stale_reads.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        stale.is_empty(),
        "stale linearizable reads (seed {seed}): {stale:?}"
    );
    let mut want: Vec<i64> = acked
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|a| a.0)
        .collect();
    want.sort_unstable();
    assert!(
        want.len() > 20,
        "too few writes to mean anything: {}",
        want.len()
    );

    cluster.settled();
    for id in cluster.running() {
        let line = ok(&["verify", &cluster.url(id)]);
        assert!(line.contains(": clean ("), "{line}");
    }
    // Stop every member and read its store directly.
    let ids: Vec<u64> = cluster.members.keys().copied().collect();
    let mut contents = Vec::new();
    for id in ids {
        let m = cluster.members.get_mut(&id).ok_or("no member")?;
        m.kill();
        contents.push((id, member_contents(&m.dir.join("graph"))?));
    }
    let (first_id, first) = &contents[0];
    for (id, Contents { pairs, w }) in &contents {
        let mut w = w.clone();
        w.sort_unstable();
        assert_eq!(
            w, want,
            "member {id}: the writes present are not exactly the acknowledged ones, once each (seed {seed})"
        );
        assert!(
            *pairs == first.pairs,
            "members {first_id} and {id} differ in their bytes (seed {seed})"
        );
    }
    Ok(())
}

/// A certificate authority and a certificate it signed for 127.0.0.1 and
/// localhost, as PEM files `{name}-ca.pem`, `{name}-cert.pem` and
/// `{name}-key.pem` in `dir`.
fn certificates(dir: &Path, name: &str) -> Result<[PathBuf; 3], Box<dyn std::error::Error>> {
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
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    ];
    std::fs::write(&paths[0], ca.pem())?;
    std::fs::write(&paths[1], cert.pem())?;
    std::fs::write(&paths[2], key.serialize_pem())?;
    Ok(paths)
}

#[test]
fn a_cluster_serves_over_tls_with_a_token() -> TestResult {
    let secret = "tls-cluster-token-for-tests";
    let cluster = Cluster::start_with(3, Some(secret), true)?;
    // The members elect a leader and replicate over https.
    let leader = cluster.leader();
    let follower = cluster.url(if leader == 1 { 2 } else { 1 });
    assert!(follower.starts_with("https://"), "{follower}");
    let imported = json(&text(
        &cluster
            .run(&[
                "--quiet",
                "import",
                &follower,
                "--nodes",
                &data("les-miserables/characters.csv").display().to_string(),
                "--relationships",
                &data("les-miserables/cooccurrences.csv")
                    .display()
                    .to_string(),
                "--json",
            ])
            .stdout,
    ));
    assert_eq!(imported["nodes"].as_u64(), Some(77), "{imported}");
    cluster.settled();
    assert_eq!(cluster.counts(), vec![(77, 254); 3]);

    let token = cluster.dir.path().join("token").display().to_string();
    // Without the CA, an https URL is refused before anything is sent.
    let line = fails(&["--token-file", &token, "stats", &follower]);
    assert!(
        line.contains("--tls-ca FILE or GRAPHSTORE_TLS_CA"),
        "{line}"
    );
    // Trusting another authority: the member's certificate is refused.
    let [other_ca, _, _] = certificates(cluster.dir.path(), "other")?;
    let line = fails(&[
        "--token-file",
        &token,
        "--tls-ca",
        &other_ca.display().to_string(),
        "stats",
        &follower,
    ]);
    assert!(line.contains("cannot"), "{line}");
    // Plain http to a TLS member gets no HTTP answer.
    let port = cluster.members.get(&leader).map(|m| m.port).unwrap_or(0);
    let plain = raw_status(
        port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        !plain.as_ref().is_ok_and(|s| s.starts_with("HTTP/1.1")),
        "{plain:?}"
    );
    // A CA file that holds no certificate is named.
    let empty = cluster.dir.path().join("empty.pem");
    std::fs::write(&empty, "")?;
    let line = fails(&["--tls-ca", &empty.display().to_string(), "stats", &follower]);
    assert!(
        line.contains("--tls-ca:") && line.contains("holds no PEM certificate"),
        "{line}"
    );
    Ok(())
}
