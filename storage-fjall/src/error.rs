//! The one place fjall errors become graph-storage errors.

use graph_core::Error;

/// Maps a fjall error to the workspace's error type.
///
/// * A held lock ([`fjall::Error::Locked`]) becomes [`Error::Locked`].
/// * I/O errors stay I/O errors ([`Error::Io`]: disk full, permissions),
///   except `InvalidData` and `UnexpectedEof`, which fjall and lsm-tree
///   return for truncated or garbled files: those are corruption.
/// * Checksum mismatches, undecodable blocks, bad journal trailers and
///   unrecoverable files become [`Error::StorageCorruption`].
/// * A format version this build of fjall does not read becomes
///   [`Error::IncompatibleFormat`].
/// * [`fjall::Error::Poisoned`] (an earlier write or fsync failed, so fjall
///   refuses further writes until the store is reopened) is an I/O error.
/// * Anything else is [`Error::Backend`].
pub fn map_error(e: fjall::Error) -> Error {
    let message = e.to_string();
    match e {
        fjall::Error::Locked => Error::Locked {
            message: "the fjall database's lock file is held by another opener".to_owned(),
        },
        fjall::Error::Io(io) => map_io(&io, message),
        fjall::Error::Storage(inner) => map_lsm(inner, message),
        fjall::Error::InvalidVersion(found) => Error::IncompatibleFormat {
            found: format!("fjall format {found:?}"),
            supported: "fjall format V3".to_owned(),
        },
        fjall::Error::JournalRecovery(_)
        | fjall::Error::Decompress(_)
        | fjall::Error::InvalidTrailer
        | fjall::Error::InvalidTag(_)
        | fjall::Error::Unrecoverable => Error::StorageCorruption { message },
        fjall::Error::Poisoned => Error::Io {
            message: format!(
                "{message}: an earlier write or fsync failed; fjall accepts no more writes \
                 until the store is reopened"
            ),
        },
        _ => Error::Backend(message),
    }
}

fn map_lsm(e: fjall::LsmError, message: String) -> Error {
    match e {
        fjall::LsmError::Io(io) => map_io(&io, message),
        fjall::LsmError::InvalidVersion(v) => Error::IncompatibleFormat {
            found: format!("lsm-tree format {v}"),
            supported: "lsm-tree format 3".to_owned(),
        },
        _ => Error::StorageCorruption { message },
    }
}

fn map_io(io: &std::io::Error, message: String) -> Error {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::InvalidData | ErrorKind::UnexpectedEof => Error::StorageCorruption { message },
        _ => Error::Io { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_core::ErrorKind;

    #[test]
    fn kinds_stay_distinct() {
        let cases = [
            (fjall::Error::Locked, ErrorKind::Locked),
            (
                fjall::Error::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)),
                ErrorKind::Io,
            ),
            (
                fjall::Error::Io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
                ErrorKind::Corruption,
            ),
            (fjall::Error::InvalidTrailer, ErrorKind::Corruption),
            (fjall::Error::Unrecoverable, ErrorKind::Corruption),
            (
                fjall::Error::InvalidVersion(None),
                ErrorKind::IncompatibleFormat,
            ),
            (
                fjall::Error::Storage(fjall::LsmError::InvalidTrailer),
                ErrorKind::Corruption,
            ),
            (fjall::Error::Poisoned, ErrorKind::Io),
        ];
        for (e, kind) in cases {
            let text = format!("{e:?}");
            assert_eq!(map_error(e).kind(), kind, "{text}");
        }
    }
}
