//! Framing of the temporary run files of the bulk loader's external sort:
//! each entry is `key length (u32 LE) | value length (u32 LE) | key |
//! value`. Run files live only while one bulk load runs (they are never
//! part of a store), but their bytes are laid out here like every other.

use std::io::{self, Read, Write};

/// Writes one entry.
///
/// # Errors
/// I/O errors; an entry part longer than `u32::MAX` bytes.
pub fn write_entry(out: &mut impl Write, key: &[u8], value: &[u8]) -> io::Result<()> {
    let len = |part: &[u8]| {
        u32::try_from(part.len())
            .map(u32::to_le_bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "spill entry too long"))
    };
    out.write_all(&len(key)?)?;
    out.write_all(&len(value)?)?;
    out.write_all(key)?;
    out.write_all(value)
}

/// Reads the next entry into `key` and `value` (cleared first). `Ok(false)`
/// at a clean end of the file.
///
/// # Errors
/// I/O errors, and `UnexpectedEof` for a truncated entry.
pub fn read_entry(
    input: &mut impl Read,
    key: &mut Vec<u8>,
    value: &mut Vec<u8>,
) -> io::Result<bool> {
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..])? {
            0 if got == 0 => return Ok(false),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    let mut k = [0u8; 4];
    let mut v = [0u8; 4];
    k.copy_from_slice(&head[..4]);
    v.copy_from_slice(&head[4..]);
    let (klen, vlen) = (
        u32::from_le_bytes(k) as usize,
        u32::from_le_bytes(v) as usize,
    );
    key.clear();
    key.resize(klen, 0);
    input.read_exact(key)?;
    value.clear();
    value.resize(vlen, 0);
    input.read_exact(value)?;
    Ok(true)
}

/// Bytes of a key in its [`sort_prefix`].
pub const SORT_PREFIX_LEN: usize = 16;

/// The first sixteen bytes of `key` as a number (zero-padded), ordered as
/// the bytes are: comparing these first settles most key comparisons of a
/// sort without touching the keys (all of a label-index key, and an
/// adjacency key up to its other node).
pub fn sort_prefix(key: &[u8]) -> u128 {
    // Most keys are longer: one load, no call to copy a variable length.
    if let Some(head) = key.first_chunk::<SORT_PREFIX_LEN>() {
        return u128::from_be_bytes(*head);
    }
    let mut b = [0u8; SORT_PREFIX_LEN];
    let n = key.len().min(SORT_PREFIX_LEN);
    b[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_truncation_is_an_error() -> io::Result<()> {
        let mut buf = Vec::new();
        write_entry(&mut buf, b"key", b"")?;
        write_entry(&mut buf, b"", b"value")?;
        assert_eq!(&buf[..8], &[3, 0, 0, 0, 0, 0, 0, 0]);
        let mut r = &buf[..];
        let (mut k, mut v) = (Vec::new(), Vec::new());
        assert!(read_entry(&mut r, &mut k, &mut v)?);
        assert_eq!((k.as_slice(), v.as_slice()), (&b"key"[..], &b""[..]));
        assert!(read_entry(&mut r, &mut k, &mut v)?);
        assert_eq!((k.as_slice(), v.as_slice()), (&b""[..], &b"value"[..]));
        assert!(!read_entry(&mut r, &mut k, &mut v)?);
        let mut short = &buf[..13];
        assert!(read_entry(&mut short, &mut k, &mut v).is_ok());
        assert!(read_entry(&mut short, &mut k, &mut v).is_err());
        assert!(sort_prefix(b"\x01\x02") < sort_prefix(b"\x01\x02\x00\x01"));
        assert_eq!(sort_prefix(b"\x01\x00"), sort_prefix(b"\x01"));
        Ok(())
    }

    /// The prefix orders keys of every length, shorter, as long as and
    /// longer than it, as their bytes do: a smaller prefix means a smaller
    /// key, and a smaller key never has a larger prefix.
    #[test]
    fn prefixes_order_as_the_keys_do() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut key = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            // Few distinct bytes: many shared prefixes and ties.
            (0..len)
                .map(|i| [0u8, 1, 0xff][((x >> (i * 2 % 60)) % 3) as usize])
                .collect::<Vec<u8>>()
        };
        for _ in 0..20_000 {
            let (a, b) = (key(), key());
            let (pa, pb) = (sort_prefix(&a), sort_prefix(&b));
            if pa < pb {
                assert!(a < b, "{a:?} {b:?}");
            }
            if a < b {
                assert!(pa <= pb, "{a:?} {b:?}");
            }
            let mut padded = [0u8; SORT_PREFIX_LEN];
            let n = a.len().min(SORT_PREFIX_LEN);
            padded[..n].copy_from_slice(&a[..n]);
            assert_eq!(pa, u128::from_be_bytes(padded));
        }
    }
}
