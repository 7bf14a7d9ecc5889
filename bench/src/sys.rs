//! Facts about the process and the machine: directory sizes, resident
//! memory, cores and memory.

use std::io;
use std::path::Path;

/// The bytes the file system has allocated to the regular files under
/// `path`, recursively (`st_blocks`, as `du` counts): unlike
/// [`dir_size`] it does not count a preallocated but unwritten tail (fjall
/// sizes each journal file at 64 MiB up front).
///
/// # Errors
/// I/O errors while walking the directory.
pub fn dir_allocated(path: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    sum_files(path, &|meta| meta.blocks() * 512)
}

/// The total size in bytes of the regular files under `path`, recursively
/// (what the store occupies on disk, before file-system overhead).
///
/// # Errors
/// I/O errors while walking the directory.
pub fn dir_size(path: &Path) -> io::Result<u64> {
    sum_files(path, &std::fs::Metadata::len)
}

/// The sum of `size` over the regular files under `path`, recursively.
fn sum_files(path: &Path, size: &dyn Fn(&std::fs::Metadata) -> u64) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            total += sum_files(&entry.path(), size)?;
        } else if meta.is_file() {
            total += size(&meta);
        }
    }
    Ok(total)
}

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// The peak resident set size of this process (`VmHWM`), in bytes, where
/// `/proc` provides it.
pub fn peak_rss_bytes() -> Option<u64> {
    status_field("VmHWM")
}

/// The current resident set size of this process (`VmRSS`), in bytes.
pub fn current_rss_bytes() -> Option<u64> {
    status_field("VmRSS")
}

/// CPU time (user plus system) this process has used so far, all threads,
/// in seconds, from `/proc/self/stat` (clock ticks of 1/100 s).
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The one-minute load average, from `/proc/loadavg`: how busy the
/// machine was, for judging the noise of a run.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What the benchmark ran on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Total memory in bytes, from `/proc/meminfo`.
    pub mem_total_bytes: u64,
    /// The kernel release, from `/proc/sys/kernel/osrelease`.
    pub kernel: String,
}

/// Reads the machine's facts (empty or zero where unavailable).
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total_bytes = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024);
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        cpu_model,
        mem_total_bytes,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_memory() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("a"), [0u8; 100])?;
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("sub/b"), [0u8; 23])?;
        assert_eq!(dir_size(dir.path())?, 123);
        if Path::new("/proc/self/status").exists() {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
            assert!(current_rss_bytes().is_some_and(|b| b > 0));
            assert!(process_cpu_secs().is_some_and(|s| s >= 0.0));
            assert!(load_average().is_some());
        }
        Ok(())
    }
}
