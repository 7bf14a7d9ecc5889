//! The command-line tool's one error: a single line for the user saying
//! what failed, where, and what to do, plus the exit code.

use std::fmt;
use std::path::Path;

use graph_storage::ErrorKind;

/// Exit code of a failed command (bad input, I/O, a locked store ...).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code of `verify` (and `repair`) when the store is inconsistent.
pub const EXIT_INCONSISTENT: i32 = 3;

/// A failure reported to the user as one line.
#[derive(Debug, Clone)]
pub struct CliError {
    /// The whole line: what, where, what to do.
    pub message: String,
    /// The process exit code.
    pub code: i32,
}

impl CliError {
    /// A failure with exit code [`EXIT_FAILURE`].
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_FAILURE,
        }
    }

    /// This failure with another exit code.
    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The result of every command.
pub type CliResult<T> = Result<T, CliError>;

/// What to do about a store error of this kind, as advice for the user.
pub fn advice(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Locked => {
            "another process has this store open; stop it (or wait for it to finish) and retry"
        }
        ErrorKind::Corruption => {
            "the store is damaged: run `graphstore verify`, then `graphstore repair` or restore a backup"
        }
        ErrorKind::IncompatibleFormat => {
            "use a graphstore build that reads this format, or point at a graph-storage store"
        }
        ErrorKind::Io => "check the path, its permissions and the free disk space, then retry",
        ErrorKind::InvalidArgument => "check the arguments",
        ErrorKind::NotLeader => {
            "the cluster has no leader yet or is electing one; retry shortly (`graphstore cluster status URL` shows the leader)"
        }
        ErrorKind::Unavailable => {
            "the cluster cannot make progress now (no quorum, or the member is stopping); check `graphstore cluster status` and retry"
        }
        ErrorKind::Conflict | ErrorKind::PreconditionFailed => {
            "another write changed what this one depends on; read the current state and retry"
        }
        _ => "see the message above",
    }
}

/// Adds "what failed" context to fallible calls, making [`CliError`]s.
pub trait Context<T> {
    /// Maps the error to a [`CliError`] whose line starts with `what()`.
    fn ctx(self, what: impl FnOnce() -> String) -> CliResult<T>;
}

impl<T> Context<T> for graph_storage::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| CliError::new(format!("{}: {e} ({})", what(), advice(e.kind()))))
    }
}

impl<T> Context<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| CliError::new(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for serde_json::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| CliError::new(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for csv::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| CliError::new(format!("{}: {e}", what())))
    }
}

/// A path for messages.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}
