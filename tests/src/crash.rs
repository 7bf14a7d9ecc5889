//! Running the `crash_child` binary and killing it.
//!
//! The child prints one line per event and flushes it (`opened` once the
//! store is open, `ack N` after step N returned `Ok`, ...). A thread of
//! the parent reads the lines as they come, so the parent can kill the
//! child at a chosen acknowledgement; lines the child wrote before it died
//! are still in the pipe and are collected after the kill, so every
//! acknowledgement the child made is known to the parent.
//!
//! Integration tests get the binary's path from
//! `env!("CARGO_BIN_EXE_crash_child")`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Must;

/// A running `crash_child`.
#[derive(Debug)]
pub struct ChildRun {
    child: std::process::Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    seen: Vec<String>,
}

/// How a child run ended.
#[derive(Debug)]
pub struct Ended {
    /// Every line the child printed, in order.
    pub lines: Vec<String>,
    /// Its exit status.
    pub status: ExitStatus,
    /// Whether the parent killed it (rather than it exiting by itself).
    pub killed: bool,
}

impl Ended {
    /// The lines starting with `word ` (the rest of each line).
    pub fn with(&self, word: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(word)?.strip_prefix(' '))
            .collect()
    }

    /// Whether a line equals `word`.
    pub fn has(&self, word: &str) -> bool {
        self.lines.iter().any(|l| l == word)
    }

    /// Fails the test if the child reported an error or exited on its own
    /// with a failure (a kill is not a failure).
    pub fn assert_no_error(&self, context: &str) {
        let errors = self.with("error");
        assert!(errors.is_empty(), "{context}: child reported {errors:?}");
        if !self.killed {
            assert!(
                self.status.success(),
                "{context}: child exited with {}; lines: {:?}",
                self.status,
                self.lines
            );
        }
    }
}

impl ChildRun {
    /// Starts `exe` with `args`; its stdin is a pipe kept open until the
    /// child ends (so a child waiting on stdin waits for the parent).
    pub fn spawn(exe: impl AsRef<Path>, args: &[&str]) -> ChildRun {
        let mut child = Command::new(exe.as_ref())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .must("spawning crash_child");
        let out = child.stdout.take().or_fail("child stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        ChildRun {
            child,
            lines: rx,
            reader: Some(reader),
            seen: Vec::new(),
        }
    }

    /// Waits until the child prints a line satisfying `pred` (returning
    /// true), exits (false) or `timeout` passes (panics: a hung child).
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = pred(&l);
                    self.seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "crash_child printed nothing expected within {timeout:?}; lines so far: {:?}",
                        self.seen
                    );
                }
            }
        }
    }

    /// Lines received so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    fn finish(mut self, killed: bool) -> Ended {
        let status = self.child.wait().must("waiting for crash_child");
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.try_iter());
        Ended {
            lines,
            status,
            killed,
        }
    }

    /// SIGKILLs the child (if still running), waits for it and collects
    /// every line it printed.
    pub fn kill(mut self) -> Ended {
        let killed = matches!(self.child.try_wait(), Ok(None));
        // SIGKILL on Unix; an error means it already exited.
        let _ = self.child.kill();
        self.finish(killed)
    }

    /// Closes the child's stdin and waits for it to exit by itself (at
    /// most `timeout`, then it is killed and the test fails).
    pub fn wait(mut self, timeout: Duration) -> Ended {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return self.finish(false),
                Ok(None) if Instant::now() < deadline => {
                    // Drain lines meanwhile so the pipe never fills.
                    if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(20)) {
                        self.seen.push(l);
                    }
                }
                _ => {
                    let ended = self.kill();
                    panic!(
                        "crash_child did not exit within {timeout:?}; lines: {:?}",
                        ended.lines
                    );
                }
            }
        }
    }
}

impl Drop for ChildRun {
    /// A child still running when its test fails is killed, not left
    /// behind writing.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `Option` unwrapping for tests, like [`Must`].
pub trait OrFail<T> {
    /// The value, or a panic naming `what`.
    fn or_fail(self, what: &str) -> T;
}

impl<T> OrFail<T> for Option<T> {
    #[track_caller]
    fn or_fail(self, what: &str) -> T {
        match self {
            Some(v) => v,
            None => panic!("{what}: missing"),
        }
    }
}
