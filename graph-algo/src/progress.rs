//! [`Progress`]: what an algorithm tells its progress callback.

/// How far an algorithm is: `done` of `total` units of its current step
/// (`total` 0 when unknown). Callbacks run on the caller's thread,
/// between rounds of work; they must be quick and must not call the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The algorithm (`"pagerank"`, `"wcc"`, ...).
    pub algorithm: &'static str,
    /// Its current step (`"iterate"`, `"edges"`, ...).
    pub step: &'static str,
    /// Units done in this step.
    pub done: u64,
    /// Units this step has, or 0 when unknown (PageRank's iterations: its
    /// maximum).
    pub total: u64,
    /// A figure of the step: PageRank's last change (L1), 0 otherwise.
    pub value: f64,
}

impl Progress {
    pub(crate) fn of(algorithm: &'static str, step: &'static str, done: u64, total: u64) -> Self {
        Progress {
            algorithm,
            step,
            done,
            total,
            value: 0.0,
        }
    }
}

/// A progress callback that ignores everything.
pub fn no_progress(_: Progress) {}
