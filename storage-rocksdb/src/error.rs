//! The one place RocksDB errors become graph-storage errors.

use graph_core::Error;
use rocksdb::ErrorKind;

/// Maps a RocksDB error to the workspace's error type.
///
/// Corruption stays corruption; a LOCK file held by another opener (another
/// process: "While lock file"; this process: "lock hold by current
/// process") becomes [`Error::Locked`]; other I/O errors (disk full, missing
/// files) become [`Error::Io`]; invalid arguments stay invalid arguments;
/// anything else (busy, aborted, not supported) is [`Error::Backend`].
pub fn map_error(e: rocksdb::Error) -> Error {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Corruption => Error::StorageCorruption { message },
        ErrorKind::IOError if is_lock_error(&message) => Error::Locked { message },
        ErrorKind::IOError | ErrorKind::NotFound => Error::Io { message },
        ErrorKind::InvalidArgument => Error::InvalidArgument(message),
        _ => Error::Backend(message),
    }
}

fn is_lock_error(message: &str) -> bool {
    message.contains("While lock file") || message.contains("lock hold by current process")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_messages_are_recognised() {
        let cases = [
            (
                "IO error: While lock file: /d/LOCK: Resource temporarily unavailable",
                true,
            ),
            (
                "IO error: lock hold by current process, acquire time 1 acquiring thread 2: /d/LOCK: No locks available",
                true,
            ),
            ("IO error: No space left on device", false),
        ];
        for (msg, locked) in cases {
            assert_eq!(is_lock_error(msg), locked, "{msg}");
        }
    }
}
