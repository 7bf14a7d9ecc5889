//! `GET /metrics`: a member's figures in Prometheus' text format (0.0.4),
//! for an operator's scraper. Served with the API, behind the same token.
//!
//! What it shows (every name starts with `graphstore_`):
//! * Raft: `member_id`, `raft_role{role=...}` (1 for the member's role, 0
//!   for the others), `raft_term`, `raft_leader_id` (absent while no leader
//!   is known), `raft_last_log_index`, `raft_last_applied_index`;
//! * requests: `http_requests_total{route, status}` for every route, the
//!   refused ones (401) included, counted since the member started;
//! * writes: `write_seconds`, a histogram of the time `/api/write` took to
//!   commit (through Raft, a quorum's fsync) and answer;
//! * the store: `nodes`, `edges`, and per column family
//!   `store_sst_bytes{family}` (live SST files) and
//!   `store_memtable_bytes{family}`, `store_disk_bytes` (the whole
//!   directory), `store_wal_bytes`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use graph_raft::Raft;
use graph_storage::{GraphStore, Result, RocksDbBackend};

/// The upper bounds (seconds) of the write latency histogram's buckets.
pub const WRITE_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The member's counters, shared by the routes.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests answered, by (route, status).
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Write latencies.
    writes: Mutex<Histogram>,
}

/// A histogram over [`WRITE_BUCKETS`].
#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); one more for `+Inf`.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Metrics {
    /// Counters at zero.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Counts one request to `route` answered `status`.
    pub fn count(&self, route: &str, status: u16) {
        let mut r = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *r.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// Records a write that took `seconds`.
    pub fn observe_write(&self, seconds: f64) {
        let mut h = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if h.buckets.is_empty() {
            h.buckets = vec![0; WRITE_BUCKETS.len() + 1];
        }
        let i = WRITE_BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(WRITE_BUCKETS.len());
        if let Some(b) = h.buckets.get_mut(i) {
            *b += 1;
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The text of `/metrics` for the member whose Raft is `raft` and whose
    /// graph is `graph` (its store figures are left out if it is `None`).
    ///
    /// # Errors
    /// An engine error reading the store's figures.
    pub fn render(
        &self,
        raft: &Raft,
        graph: Option<&GraphStore<std::sync::Arc<RocksDbBackend>>>,
    ) -> Result<String> {
        let mut out = String::new();
        let m = raft.metrics().borrow().clone();
        gauge(
            &mut out,
            "member_id",
            "This member's id.",
            &[("", m.id as f64)],
        );
        let role = format!("{:?}", m.state).to_lowercase();
        let roles = ["leader", "follower", "candidate", "learner", "shutdown"];
        let one_hot: Vec<(String, f64)> = roles
            .iter()
            .map(|r| (format!("role=\"{r}\""), if *r == role { 1.0 } else { 0.0 }))
            .collect();
        gauge_owned(
            &mut out,
            "raft_role",
            "1 for the member's Raft role, 0 for the others.",
            &one_hot,
        );
        gauge(
            &mut out,
            "raft_term",
            "The current Raft term.",
            &[("", m.current_term as f64)],
        );
        if let Some(leader) = m.current_leader {
            gauge(
                &mut out,
                "raft_leader_id",
                "The leader this member knows of.",
                &[("", leader as f64)],
            );
        }
        gauge(
            &mut out,
            "raft_last_log_index",
            "The index of the last entry in this member's log.",
            &[("", m.last_log_index.unwrap_or(0) as f64)],
        );
        gauge(
            &mut out,
            "raft_last_applied_index",
            "The index of the last entry applied to this member's graph.",
            &[("", m.last_applied.map_or(0, |l| l.index) as f64)],
        );

        let requests: Vec<(String, f64)> = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((route, status), n)| {
                (
                    format!("route=\"{}\",status=\"{status}\"", escape(route)),
                    *n as f64,
                )
            })
            .collect();
        head(
            &mut out,
            "http_requests_total",
            "Requests answered, by route and status, since the member started.",
            "counter",
        );
        for (labels, n) in &requests {
            let _ = writeln!(out, "graphstore_http_requests_total{{{labels}}} {n}");
        }

        {
            let h = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
            head(
                &mut out,
                "write_seconds",
                "Time /api/write took to commit through Raft and answer.",
                "histogram",
            );
            let mut cumulative = 0u64;
            for (i, bound) in WRITE_BUCKETS.iter().enumerate() {
                cumulative += h.buckets.get(i).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "graphstore_write_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "graphstore_write_seconds_bucket{{le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "graphstore_write_seconds_sum {}", h.sum);
            let _ = writeln!(out, "graphstore_write_seconds_count {}", h.count);
        }

        if let Some(g) = graph {
            gauge(
                &mut out,
                "nodes",
                "Nodes in this member's graph.",
                &[("", g.node_count()? as f64)],
            );
            gauge(
                &mut out,
                "edges",
                "Edges in this member's graph.",
                &[("", g.edge_count()? as f64)],
            );
            let families = g.backend().stats()?;
            gauge_owned(
                &mut out,
                "store_sst_bytes",
                "Bytes of live SST files, per column family.",
                &per_family(&families, |c| (c.cf.name(), c.live_sst_bytes)),
            );
            gauge_owned(
                &mut out,
                "store_memtable_bytes",
                "Bytes of memtables not yet flushed, per column family.",
                &per_family(&families, |c| (c.cf.name(), c.memtable_bytes)),
            );
            let engine = g.backend().store_stats()?;
            gauge(
                &mut out,
                "store_disk_bytes",
                "Bytes of the graph store's directory.",
                &[("", engine.disk_bytes as f64)],
            );
            gauge(
                &mut out,
                "store_wal_bytes",
                "Bytes of the graph store's write-ahead log.",
                &[("", engine.wal_bytes as f64)],
            );
        }
        Ok(out)
    }
}

/// Counts every request by its route (`unmatched` for none) and status:
/// a middleware over the whole app, outside the token check so refusals
/// are counted too.
pub async fn count_requests(
    metrics: std::sync::Arc<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.count(&route, response.status().as_u16());
    response
}

/// One `family="name"` sample per item.
fn per_family<T>(items: &[T], of: impl Fn(&T) -> (&str, u64)) -> Vec<(String, f64)> {
    items
        .iter()
        .map(|c| {
            let (name, bytes) = of(c);
            (format!("family=\"{name}\""), bytes as f64)
        })
        .collect()
}

fn head(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP graphstore_{name} {help}");
    let _ = writeln!(out, "# TYPE graphstore_{name} {kind}");
}

/// A gauge with one sample per `(labels, value)`; `""` for no labels.
fn gauge(out: &mut String, name: &str, help: &str, samples: &[(&str, f64)]) {
    head(out, name, help, "gauge");
    for (labels, v) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "graphstore_{name} {v}");
        } else {
            let _ = writeln!(out, "graphstore_{name}{{{labels}}} {v}");
        }
    }
}

fn gauge_owned(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let refs: Vec<(&str, f64)> = samples.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    gauge(out, name, help, &refs);
}

/// A label value escaped as the text format wants.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_histogram_is_cumulative_over_its_buckets() {
        let m = Metrics::new();
        for s in [0.0005, 0.003, 0.003, 0.2, 100.0] {
            m.observe_write(s);
        }
        let h = m.writes.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(h.count, 5);
        assert_eq!(h.buckets.iter().sum::<u64>(), 5);
        assert_eq!(h.buckets.first(), Some(&1));
        assert_eq!(h.buckets.last(), Some(&1), "100 s is in +Inf only");
        assert!((h.sum - 100.2065).abs() < 1e-9);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
