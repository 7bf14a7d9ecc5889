//! Progress of long work: an indicatif bar on a terminal, plain periodic
//! lines on stderr otherwise (logs, CI), and nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often plain progress lines are printed.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// Progress of one phase of work measured in bytes of input (for the
/// percentage and ETA) and rows (for the rate).
pub struct Progress {
    phase: String,
    unit: &'static str,
    total: u64,
    rows: u64,
    pos: u64,
    started: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Progress {
    /// Starts a phase. `total` is the input size in bytes (0 if unknown).
    pub fn new(phase: &str, total: u64, quiet: bool) -> Self {
        Self::counting(phase, total, "rows", quiet)
    }

    /// Starts a phase whose position is counted in items called `unit`
    /// rather than bytes; `total` is the expected count (0 if unknown).
    pub fn counting(phase: &str, total: u64, unit: &'static str, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix:>9} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(phase.to_owned());
            bar
        });
        Progress {
            phase: phase.to_owned(),
            unit,
            total,
            rows: 0,
            pos: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            bar,
            plain: !quiet && !tty,
        }
    }

    /// Rows per second so far.
    pub fn rate(&self) -> f64 {
        per_second(self.rows, self.started.elapsed())
    }

    /// Records progress: `rows` done in all, `pos` bytes of input consumed.
    pub fn update(&mut self, rows: u64, pos: u64) {
        self.rows = rows;
        self.pos = pos.min(self.total.max(pos));
        if let Some(bar) = &self.bar {
            bar.set_position(self.pos);
            bar.set_message(format!(
                "{} {}, {}/s",
                count(rows),
                self.unit,
                count_f(self.rate())
            ));
        } else if self.plain && self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            eprintln!("{}", self.line());
        }
    }

    fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let unit = self.unit;
        let mut s = format!(
            "{}: {} {unit}, {} {unit}/s, {:.1} s",
            self.phase,
            count(self.rows),
            count_f(self.rate()),
            elapsed
        );
        if self.total > 0 && self.pos > 0 {
            let done = self.pos as f64 / self.total as f64;
            let eta = elapsed * (1.0 - done) / done;
            s.push_str(&format!(", {:.0}%, ETA {:.0} s", done * 100.0, eta));
        }
        s
    }

    /// Ends the phase.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The progress of `verify` and `repair`: one phase per pass of the audit
/// (edges, nodes, indices), counted in records or entries.
pub struct AuditDisplay {
    quiet: bool,
    current: Option<(graph_storage::AuditPass, Progress)>,
}

impl AuditDisplay {
    /// A display, silent with `quiet`.
    pub fn new(quiet: bool) -> Self {
        AuditDisplay {
            quiet,
            current: None,
        }
    }

    /// Shows `p`, starting a new phase when a pass begins.
    pub fn update(&mut self, p: graph_storage::AuditProgress) {
        // A pass's first report starts its phase (its last one ended the
        // phase before).
        if self
            .current
            .as_ref()
            .is_none_or(|(pass, _)| *pass != p.pass)
        {
            if let Some((_, old)) = self.current.take() {
                old.finish();
            }
            let unit = match p.pass {
                graph_storage::AuditPass::Indices => "entries",
                _ => "records",
            };
            let phase = Progress::counting(p.pass.name(), p.total.unwrap_or(0), unit, self.quiet);
            self.current = Some((p.pass, phase));
        }
        if let Some((_, phase)) = self.current.as_mut() {
            phase.update(p.done, p.done);
        }
        if p.finished
            && let Some((_, phase)) = self.current.take()
        {
            phase.finish();
        }
    }
}

/// A spinner for work whose length is unknown: drawn on a terminal only
/// (and not with `quiet`).
pub struct Spinner(Option<ProgressBar>);

/// Starts a [`Spinner`] showing `what`.
pub fn spinner(what: &str, quiet: bool) -> Spinner {
    let tty = std::io::stderr().is_terminal();
    Spinner((!quiet && tty).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }))
}

impl Spinner {
    /// Removes the spinner.
    pub fn finish_and_clear(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

/// `n` per second over `d`.
pub fn per_second(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

/// An integer with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate with thousands separators, rounded.
pub fn count_f(x: f64) -> String {
    if x.is_finite() && x >= 0.0 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative finite rate, rounded for display"
        )]
        let n = x.round() as u64;
        count(n)
    } else {
        "-".into()
    }
}

/// The peak resident memory of this process in bytes (Linux `VmHWM`), if
/// known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes for people: `12.3 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut unit = 0;
    while x >= 1024.0 && unit + 1 < UNITS.len() {
        x /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(count_f(f64::NAN), "-");
    }
}
