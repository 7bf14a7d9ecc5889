//! # bench: benchmarks of graph-storage
//!
//! Shared by the Criterion suites in `benches/` and the headline ingestion
//! harness `src/bin/ingest.rs` (see BENCHMARKS.md):
//!
//! * [`workload`]: the deterministic synthetic graph (labels, properties,
//!   Zipf-distributed edge sources), random-access by item index so any
//!   thread can generate any batch;
//! * [`raw`]: the same key and value bytes the graph layer writes, built
//!   with `graph_core::codec` alone, for the raw baselines;
//! * [`reads`]: reads through the graph API beside the backend's raw
//!   reads of the same keys (lookups, traversals, scans);
//! * [`fixture`]: stores populated identically on every backend for the
//!   Criterion suites;
//! * [`sys`]: directory sizes, peak resident memory and machine facts.

pub mod fixture;
pub mod raw;
pub mod reads;
pub mod sys;
pub mod workload;

/// The error type of the benchmark code: any error, sendable across
/// threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The result type of the benchmark code.
pub type BoxResult<T> = Result<T, BoxError>;

/// The end of a peer-comparison child (`peer_reads`, `peer_graph`,
/// `peer_algo`): its JSON on stdout, or its error on stderr as one line
/// naming `program`, and the exit code.
pub fn print_outcome(
    program: &str,
    outcome: Result<serde_json::Value, Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    match outcome {
        Ok(v) => {
            println!("{v}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{program}: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
