//! Snapshot files: a consistent copy of a graph store's four families,
//! written and read as streams (bounded memory whatever the graph's size),
//! laid out as `codec::replication::snapshot` says.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::ops::ControlFlow;
use std::path::Path;

use crate::codec::{decode_envelope, encode_envelope, snapshot as frame, state_key};
use graph_core::{
    ColumnFamily, Durability, Error, KeyRange, ReadView, Result, ScanDirection, StorageBackend,
    WriteBatch,
};
use xxhash_rust::xxh3::Xxh3;

use crate::types::MemberId;

/// Snapshot metadata as openraft describes it.
pub(crate) type Meta = openraft::SnapshotMeta<MemberId, openraft::BasicNode>;

/// How many bytes of pairs one restore batch holds at most.
const RESTORE_BATCH_BYTES: usize = 8 << 20;

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Xxh3,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes every pair of `view` (except a pending-install marker) to a
/// new file at `path`, fsynced. Returns the number of pairs.
///
/// # Errors
/// I/O errors creating or writing the file; engine errors reading.
pub(crate) fn write(view: &impl ReadView, meta: &Meta, path: &Path) -> Result<u64> {
    let file = File::create(path)?;
    let mut out = Hashing {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Xxh3::new(),
    };
    frame::write_header(&mut out, &encode_envelope(meta)?)?;
    let mut count = 0u64;
    for cf in ColumnFamily::ALL {
        view.scan(cf, KeyRange::all(), ScanDirection::Forward, &mut |k, v| {
            if cf == ColumnFamily::Default && k == state_key::INSTALLING {
                return Ok(ControlFlow::Continue(()));
            }
            frame::write_entry(&mut out, cf, k, v)?;
            count += 1;
            Ok(ControlFlow::Continue(()))
        })?;
    }
    let Hashing { mut inner, hash } = out;
    frame::write_trailer(&mut inner, count, |tail| {
        let mut hash = hash;
        hash.update(tail);
        hash.digest()
    })?;
    let file = inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(count)
}

/// Reads a snapshot file's metadata (the header only).
///
/// # Errors
/// Corruption if the header is not a snapshot's; I/O errors.
pub(crate) fn read_meta(path: &Path) -> Result<Meta> {
    let mut input = BufReader::new(File::open(path)?);
    let meta = frame::read_header(&mut input).map_err(|e| bad(path, &e))?;
    decode_envelope(path.as_os_str().as_encoded_bytes(), &meta)
}

fn bad(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::StorageCorruption {
        message: format!("snapshot file {}: {e}", path.display()),
    }
}

/// Streams the pairs of a snapshot file to `each`, checking the trailer's
/// count and checksum at the end; returns the metadata.
fn stream(
    path: &Path,
    mut each: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<Meta> {
    let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut hash = Xxh3::new();
    let header = frame::read_header(&mut input).map_err(|e| bad(path, &e))?;
    let len = u32::try_from(header.len()).unwrap_or(u32::MAX);
    hash.update(frame::MAGIC);
    hash.update(&len.to_le_bytes());
    hash.update(&header);
    let meta: Meta = decode_envelope(path.as_os_str().as_encoded_bytes(), &header)?;
    let (mut key, mut value) = (Vec::new(), Vec::new());
    let mut count = 0u64;
    loop {
        let item = frame::read_item(&mut input, &mut key, &mut value, &mut |b| hash.update(b))
            .map_err(|e| bad(path, &e))?;
        match item {
            frame::Item::Entry(cf) => {
                each(cf, &key, &value)?;
                count += 1;
            }
            frame::Item::End {
                count: written,
                checksum,
            } => {
                if written != count {
                    return Err(bad(
                        path,
                        &format!("{count} entries, the trailer says {written}"),
                    ));
                }
                if checksum != hash.digest() {
                    return Err(bad(path, &"checksum mismatch"));
                }
                let mut rest = [0u8; 1];
                if input.read(&mut rest)? != 0 {
                    return Err(bad(path, &"bytes after the trailer"));
                }
                return Ok(meta);
            }
        }
    }
}

/// Reads a whole snapshot file and checks it; returns its metadata.
///
/// # Errors
/// Corruption for a damaged or truncated file; I/O errors.
pub(crate) fn check(path: &Path) -> Result<Meta> {
    stream(path, |_, _, _| Ok(()))
}

/// Replaces everything in `backend` by the pairs of the snapshot file at
/// `path`: one batch empties the store and sets the
/// [`state_key::INSTALLING`] marker (synced), bounded batches copy the
/// pairs, and the last batch removes the marker (synced). A crash at any
/// point leaves the marker, and the state machine installs the same file
/// again when it opens.
///
/// # Errors
/// Corruption if the file is damaged (checked before anything is
/// deleted); engine and I/O errors.
pub(crate) fn restore(path: &Path, backend: &impl StorageBackend) -> Result<Meta> {
    let meta = check(path)?;
    let mut clear = WriteBatch::new();
    for cf in ColumnFamily::ALL {
        clear.delete_range(cf, &[], &[0xFF; 32]);
    }
    clear.put(
        ColumnFamily::Default,
        state_key::INSTALLING,
        meta.snapshot_id.as_bytes(),
    );
    backend.write(&clear, Durability::Strict)?;
    // Keys at or above the range's end (none in the graph format) go one
    // by one.
    for cf in ColumnFamily::ALL {
        let rest = backend.collect_range(
            cf,
            KeyRange {
                start: &[0xFF; 32],
                end: None,
            },
            ScanDirection::Forward,
            None,
        )?;
        let mut batch = WriteBatch::new();
        for (k, _) in rest {
            batch.delete(cf, &k);
        }
        backend.write(&batch, Durability::Background)?;
    }
    let mut batch = WriteBatch::new();
    let mut bytes = 0usize;
    stream(path, |cf, k, v| {
        batch.put(cf, k, v);
        bytes += k.len() + v.len();
        if bytes >= RESTORE_BATCH_BYTES {
            backend.write(&batch, Durability::Background)?;
            batch = WriteBatch::new();
            bytes = 0;
        }
        Ok(())
    })?;
    batch.delete(ColumnFamily::Default, state_key::INSTALLING);
    backend.write(&batch, Durability::Strict)?;
    Ok(meta)
}
