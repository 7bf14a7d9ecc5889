//! The process the bulk-load kill test (`tests/bulk_kill.rs`) kills.
//!
//! `bulk_child load DIR SEED ENTRIES FILE_BYTES` bulk-creates a new
//! RocksDB store at `DIR` through `RocksDbBulkSink` (SST files rolled at
//! `FILE_BYTES`) with the deterministic [`Content`] of `SEED` and
//! `ENTRIES`, printing (flushed at once) `started` once the sink exists,
//! `committing` before `commit`, and `done` once the committed store is
//! closed. Any error prints `error ...` and exits with status 2.
//!
//! The test includes this file as a module to regenerate the content and
//! compare it with what it finds after the kill.

use std::io::Write;
use std::process::ExitCode;

use graph_core::{BulkSink, ColumnFamily};
use storage_rocksdb::{RocksDbBulkSink, RocksDbConfig};

/// splitmix64.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The deterministic content of a store: `entries` entries over the four
/// families (1% `default`, 30% `nodes`, 20% `edges`, the rest `indices`),
/// each family's keys ascending by construction, put in a seeded
/// interleaving of the families.
#[derive(Debug, Clone)]
pub(crate) struct Content {
    seed: u64,
    counts: [u64; 4],
}

impl Content {
    pub(crate) fn new(seed: u64, entries: u64) -> Self {
        let default = (entries / 100).max(1);
        let nodes = entries * 3 / 10;
        let edges = entries / 5;
        let indices = entries.saturating_sub(default + nodes + edges);
        Content {
            seed,
            counts: [default, nodes, edges, indices],
        }
    }

    /// How many entries `cf` gets.
    pub(crate) fn count(&self, cf: ColumnFamily) -> u64 {
        self.counts[cf.index()]
    }

    /// Entry `i` of family `cf`.
    pub(crate) fn entry(&self, cf: ColumnFamily, i: u64) -> (Vec<u8>, Vec<u8>) {
        let r = mix(self.seed ^ mix(i ^ ((cf.index() as u64) << 56)));
        let bytes = |len: u64| -> Vec<u8> { (0..len).map(|j| (mix(r ^ j) % 251) as u8).collect() };
        match cf {
            ColumnFamily::Default => {
                let mut k = b"meta/".to_vec();
                k.extend_from_slice(&i.to_be_bytes());
                (k, bytes(8 + r % 32))
            }
            ColumnFamily::Nodes => ((i * 2 + 1).to_be_bytes().to_vec(), bytes(r % 200)),
            ColumnFamily::Edges => ((i * 3).to_be_bytes().to_vec(), bytes(10 + r % 70)),
            ColumnFamily::Indices => {
                // Four equal runs, one per tag; long shared prefixes.
                let per_tag = self.count(cf).div_ceil(4).max(1);
                let tag = (1 + i / per_tag) as u8;
                let j = i % per_tag;
                let mut k = vec![tag];
                if tag <= 2 {
                    k.extend_from_slice(&(j / 64).to_be_bytes());
                    k.extend_from_slice(&(j % 64).to_be_bytes());
                } else {
                    k.extend_from_slice(&((j / 128) as u32).to_be_bytes());
                    k.extend_from_slice(&j.to_be_bytes());
                }
                (k, Vec::new())
            }
        }
    }

    /// Every entry, in put order.
    pub(crate) fn in_put_order(&self) -> impl Iterator<Item = (ColumnFamily, Vec<u8>, Vec<u8>)> {
        let content = self.clone();
        let total: u64 = self.counts.iter().sum();
        let mut next = [0u64; 4];
        let mut step = 0u64;
        std::iter::from_fn(move || {
            if next.iter().sum::<u64>() == total {
                return None;
            }
            step += 1;
            let mut f = (mix(content.seed ^ step) % 4) as usize;
            while next[f] == content.counts[f] {
                f = (f + 1) % 4;
            }
            let cf = ColumnFamily::ALL[f];
            let (k, v) = content.entry(cf, next[f]);
            next[f] += 1;
            Some((cf, k, v))
        })
    }
}

#[allow(dead_code)] // Used by the binary, not by the test including this file.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        // The parent is gone: stop, as if killed.
        std::process::exit(3);
    }
}

#[allow(dead_code)]
fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T, String> {
    args.get(i)
        .ok_or_else(|| format!("missing argument {what}"))?
        .parse()
        .map_err(|_| format!("bad argument {what}: {:?}", args.get(i)))
}

#[allow(dead_code)]
fn load(args: &[String]) -> Result<(), String> {
    let dir: String = arg(args, 2, "DIR")?;
    let seed: u64 = arg(args, 3, "SEED")?;
    let entries: u64 = arg(args, 4, "ENTRIES")?;
    let file_bytes: u64 = arg(args, 5, "FILE_BYTES")?;
    let content = Content::new(seed, entries);
    let mut sink = RocksDbBulkSink::create(&dir, &RocksDbConfig::default(), file_bytes)
        .map_err(|e| format!("bulk_create: {e}"))?;
    say("started");
    for (cf, k, v) in content.in_put_order() {
        sink.put(cf, &k, &v).map_err(|e| format!("put: {e}"))?;
    }
    say("committing");
    let backend = sink.commit().map_err(|e| format!("commit: {e}"))?;
    backend.close().map_err(|e| format!("close: {e}"))?;
    say("done");
    Ok(())
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("load") => load(&args),
        other => Err(format!("unknown mode {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error {e}"));
            ExitCode::from(2)
        }
    }
}
