//! The store's directory: what it holds, the marker that makes it a graph
//! store, and the lock that makes this process its only opener.
//!
//! A fjall graph store is a fjall database directory (fjall's `version`
//! file, `lock`, journals `*.jnl`, `keyspaces/`) plus one file of ours,
//! [`MARKER`]. The marker is created first, in an empty directory, and is
//! locked (an advisory `flock`, [`std::fs::File::try_lock`]) for as long
//! as the store is open; its contents, [`MARKER_CONTENTS`], are written
//! and fsynced only once fjall's database and the four keyspaces exist.
//! So:
//!
//! * no marker: the directory is not ours; only an empty one is used;
//! * an empty marker: a creation was interrupted; no write can have been
//!   acknowledged yet, so creating again (after removing fjall's creation
//!   artifacts) loses nothing;
//! * a full marker: a complete store, whose four keyspaces must exist.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use graph_core::{Error, Result};

/// The name of the marker file in the store's directory.
pub const MARKER: &str = "GRAPH_STORE";

/// The contents of a complete store's marker: what the directory is, and
/// the version of this backend's layout (the key prefix below and the
/// keyspace names).
pub const MARKER_CONTENTS: &str = "graph-storage fjall store\nlayout 1\n";

/// The files fjall makes when it creates a database (its `version` file
/// among them): what an interrupted creation can leave.
fn is_fjall_creation_artifact(name: &str) -> bool {
    name == "version" || name == "lock" || name == "keyspaces" || name.ends_with(".jnl")
}

/// What [`claim`] found.
#[derive(Debug)]
pub(crate) struct Claim {
    /// The locked marker file; the lock lasts as long as the file is open.
    pub(crate) marker: File,
    /// Whether the store is complete (its marker is written).
    pub(crate) complete: bool,
}

fn names(path: &Path) -> Result<Vec<String>> {
    std::fs::read_dir(path)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect()
}

fn lock(marker: File, path: &Path) -> Result<File> {
    match marker.try_lock() {
        Ok(()) => Ok(marker),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
            message: format!(
                "{} is held by another opener (in this or another process)",
                path.join(MARKER).display()
            ),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Checks `path` and locks it for this opener, creating the directory and
/// an empty marker for a new store. Changes nothing in a directory that
/// is not a graph store of this backend.
pub(crate) fn claim(path: &Path, create_if_missing: bool) -> Result<Claim> {
    let no_store = || Error::invalid(format!("no graph store at {}", path.display()));
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{} is not a directory",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create_if_missing {
                return Err(no_store());
            }
            std::fs::create_dir_all(path)?;
        }
        Err(e) => return Err(e.into()),
    }
    let marker_path = path.join(MARKER);
    let entries = names(path)?;
    if !entries.iter().any(|n| n == MARKER) {
        if !entries.is_empty() {
            return Err(foreign(path, &entries));
        }
        if !create_if_missing {
            return Err(no_store());
        }
        match File::create_new(&marker_path) {
            Ok(f) => {
                let f = lock(f, path)?;
                f.sync_all()?;
                File::open(path)?.sync_all()?;
                return Ok(Claim {
                    marker: f,
                    complete: false,
                });
            }
            // Another opener created it meanwhile: treat it as theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&marker_path)?;
    let mut f = lock(f, path)?;
    let mut contents = String::new();
    f.read_to_string(&mut contents)
        .map_err(|e| Error::StorageCorruption {
            message: format!("{}: {e}", marker_path.display()),
        })?;
    if contents.is_empty() {
        if !create_if_missing {
            return Err(no_store());
        }
        remove_creation_artifacts(path)?;
        return Ok(Claim {
            marker: f,
            complete: false,
        });
    }
    check_marker(&contents, &marker_path)?;
    if !path.join("version").exists() {
        return Err(Error::StorageCorruption {
            message: format!(
                "{} names a complete graph store but fjall's version file is missing",
                marker_path.display()
            ),
        });
    }
    Ok(Claim {
        marker: f,
        complete: true,
    })
}

/// Refuses a directory that is not ours, naming what it looks like.
fn foreign(path: &Path, entries: &[String]) -> Error {
    let has = |n: &str| entries.iter().any(|e| e == n);
    if has("version") && has("keyspaces") {
        Error::IncompatibleFormat {
            found: format!(
                "{}: a fjall database that is not a graph store",
                path.display()
            ),
            supported: "a graph store made by storage-fjall (with a GRAPH_STORE marker)".to_owned(),
        }
    } else if has("CURRENT") {
        Error::IncompatibleFormat {
            found: format!(
                "{}: a RocksDB database (open it with the RocksDB backend)",
                path.display()
            ),
            supported: "a graph store made by storage-fjall".to_owned(),
        }
    } else {
        Error::invalid(format!(
            "{} is neither empty nor a graph store; refusing to write into it",
            path.display()
        ))
    }
}

/// Parses a complete marker.
fn check_marker(contents: &str, marker_path: &Path) -> Result<()> {
    if contents == MARKER_CONTENTS {
        return Ok(());
    }
    let mut lines = contents.lines();
    let first = lines.next();
    let layout = lines.next().and_then(|l| l.strip_prefix("layout "));
    match (first, layout.map(str::parse::<u32>)) {
        (Some("graph-storage fjall store"), Some(Ok(v))) if v > 1 => {
            Err(Error::IncompatibleFormat {
                found: format!("fjall store layout {v}"),
                supported: "fjall store layout 1".to_owned(),
            })
        }
        _ => Err(Error::StorageCorruption {
            message: format!(
                "{} does not hold a graph-store marker: {contents:?}",
                marker_path.display()
            ),
        }),
    }
}

/// Removes what an interrupted creation left (fjall's first files), so
/// fjall can create its database again; refuses anything else.
fn remove_creation_artifacts(path: &Path) -> Result<()> {
    // Everything fjall made goes, its `version` file included: with the
    // marker still empty no write was acknowledged, and a creation killed
    // while fjall wrote that file leaves it incomplete, which fjall then
    // refuses to open ("fjall format None": found by tests/crash_kill.rs,
    // seed 1796215071289650013).
    let entries = names(path)?;
    for name in entries.iter().filter(|n| *n != MARKER) {
        if !is_fjall_creation_artifact(name) {
            return Err(Error::StorageCorruption {
                message: format!(
                    "{}: an interrupted creation left {name:?}, which fjall does not make; \
                     refusing to remove it",
                    path.display()
                ),
            });
        }
        let p = path.join(name);
        if p.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Writes and fsyncs the marker of a store whose creation is complete.
pub(crate) fn complete(marker: &mut File, path: &Path) -> Result<()> {
    marker.set_len(0)?;
    marker.write_all(MARKER_CONTENTS.as_bytes())?;
    marker.sync_all()?;
    File::open(path)?.sync_all()?;
    Ok(())
}

/// Checks every keyspace's current version file against the checksum its
/// `current` file holds (lsm-tree 3.1 layout: the version id as u64 LE,
/// the xxh3-128 of the version file as u128 LE, a checksum-type byte 0).
///
/// lsm-tree decodes the version file without this check (a TODO in its
/// `version/recovery.rs`) and sizes an allocation from a count in it, so a
/// damaged byte there can abort the process (seen: a request for 93 GiB).
/// Checking first turns that damage into [`Error::StorageCorruption`].
pub(crate) fn check_versions(path: &Path) -> Result<()> {
    let keyspaces = path.join("keyspaces");
    let Ok(entries) = std::fs::read_dir(&keyspaces) else {
        return Ok(());
    };
    let corrupt = |message: String| Error::StorageCorruption { message };
    for entry in entries {
        let dir = entry?.path();
        let current = dir.join("current");
        if !dir.is_dir() || !current.exists() {
            continue;
        }
        let bytes = std::fs::read(&current)?;
        let (Some(id), Some(sum), Some(&0)) = (
            bytes.get(0..8).and_then(|b| <[u8; 8]>::try_from(b).ok()),
            bytes.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()),
            bytes.get(24),
        ) else {
            return Err(corrupt(format!(
                "{}: {} bytes, not a version id, checksum and checksum type 0",
                current.display(),
                bytes.len()
            )));
        };
        let version = dir.join(format!("v{}", u64::from_le_bytes(id)));
        let data = match std::fs::read(&version) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(corrupt(format!(
                    "{} names {}, which is missing",
                    current.display(),
                    version.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if xxhash_rust::xxh3::xxh3_128(&data) != u128::from_le_bytes(sum) {
            return Err(corrupt(format!(
                "{} does not match the checksum in {}",
                version.display(),
                current.display()
            )));
        }
    }
    Ok(())
}
