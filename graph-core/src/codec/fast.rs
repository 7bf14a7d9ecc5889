//! Decoders of node and edge records written for their format, used
//! before the serde decoder: decoding through serde costs about twice the
//! allocations it makes (BENCHMARKS.md, "Encoding as creations are
//! added").
//!
//! They read only the common shape: minimal varints, labels (of a node)
//! strictly increasing and non-empty, a non-empty type (of an edge),
//! property keys strictly increasing (as written), all of them UTF-8, and
//! scalar values (null, bool, int, float, string, bytes, date-time).
//! Anything else (a list, a map or a vector value, a non-minimal varint,
//! labels or keys out of order, more than [`MAX_ITEMS`] labels or
//! properties, any malformed byte) makes them give up, and the serde
//! decoder decides: so whenever they return a record, the serde decoder
//! returns the same one (checked on generated, damaged and every
//! single-byte change of records by the tests in `records.rs`).
//!
//! [`layout`] validates a whole record and locates its sections without
//! allocating; [`NodeView`](super::NodeView) reads them again on demand
//! ([`Section`]), and [`node`] builds the owned record in the same pass.
//! [`edge`] decodes an owned edge record.

use crate::{CompactString, Properties, Timestamp};

use super::value::tag;
use super::view::ValueView;

/// More labels or properties than this are left to the serde decoder.
const MAX_ITEMS: u64 = 1024;

/// The fields of a node record, as the serde decoder returns them.
pub(super) struct NodeFields {
    pub(super) id: u64,
    pub(super) labels: Vec<CompactString>,
    pub(super) properties: Properties,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

/// A validated record of the common shape: its scalar fields and where its
/// labels and properties lie.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout<'a> {
    pub(super) id: u64,
    pub(super) labels: Section<'a>,
    pub(super) properties: Section<'a>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

/// The items of a validated sequence (labels, or properties) and their
/// bytes, which [`layout`] checked: reading them again cannot fail.
#[derive(Debug, Clone, Copy)]
pub(super) struct Section<'a> {
    pub(super) count: usize,
    bytes: &'a [u8],
}

impl<'a> Section<'a> {
    /// The section read as labels.
    pub(super) fn labels(self) -> Strs<'a> {
        Strs(self.count, Reader(self.bytes))
    }

    /// The section read as properties.
    pub(super) fn properties(self) -> Props<'a> {
        Props(self.count, Reader(self.bytes))
    }

    /// The value of property `key` in the section read as properties.
    pub(super) fn find(self, key: &str) -> Option<ValueView<'a>> {
        let mut r = Reader(self.bytes);
        for _ in 0..self.count {
            if r.bytes()? == key.as_bytes() {
                return r.value();
            }
            r.skip_value()?;
        }
        None
    }
}

/// The labels of a [`Section`].
#[derive(Debug, Clone)]
pub(super) struct Strs<'a>(usize, Reader<'a>);

impl<'a> Iterator for Strs<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.0 = self.0.checked_sub(1)?;
        self.1.str()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0, Some(self.0))
    }
}

impl ExactSizeIterator for Strs<'_> {}

/// The properties of a [`Section`], in key order.
#[derive(Debug, Clone)]
pub(super) struct Props<'a>(usize, Reader<'a>);

impl<'a> Iterator for Props<'a> {
    type Item = (&'a str, ValueView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0 = self.0.checked_sub(1)?;
        Some((self.1.str()?, self.1.value()?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0, Some(self.0))
    }
}

impl ExactSizeIterator for Props<'_> {}

/// Validates a record body (after the version byte) of the common shape,
/// giving `label` each label's bytes and `property` each key's bytes with
/// the reader at its value, which `property` must read (or skip) whole;
/// `None` when the serde decoder must decide, or when a callback says so.
pub(super) fn layout<'a>(
    body: &'a [u8],
    mut label: impl FnMut(&'a [u8]) -> Option<()>,
    mut property: impl FnMut(&'a [u8], &mut Reader<'a>) -> Option<()>,
) -> Option<Layout<'a>> {
    layout_checked(body, utf8, &mut label, &mut property)
}

/// Whether `b` is UTF-8, without a call for ASCII.
fn utf8(b: &[u8]) -> bool {
    b.is_ascii() || std::str::from_utf8(b).is_ok()
}

/// [`layout`] with the check of labels and keys as UTF-8 left to `text`:
/// [`node`] checks them once, as it makes them strings.
fn layout_checked<'a>(
    body: &'a [u8],
    text: impl Fn(&[u8]) -> bool,
    mut label: impl FnMut(&'a [u8]) -> Option<()>,
    mut property: impl FnMut(&'a [u8], &mut Reader<'a>) -> Option<()>,
) -> Option<Layout<'a>> {
    let mut r = Reader(body);
    let id = r.varint()?;
    let count = r.count()?;
    let start = r.0;
    let mut last: Option<&[u8]> = None;
    for _ in 0..count {
        let l = r.bytes().filter(|b| text(b))?;
        if l.is_empty() || last.is_some_and(|last| !before(last, l)) {
            return None;
        }
        last = Some(l);
        label(l)?;
    }
    let labels = Section {
        count,
        bytes: read_since(start, r.0),
    };
    let properties = properties_section(&mut r, &text, &mut property)?;
    let created_at = r.signed()?;
    let updated_at = r.signed()?;
    if !r.0.is_empty() {
        return None;
    }
    Some(Layout {
        id,
        labels,
        properties,
        created_at,
        updated_at,
    })
}

/// Reads a map of properties: keys strictly increasing and accepted by
/// `text`, `property` reading each value.
fn properties_section<'a>(
    r: &mut Reader<'a>,
    text: impl Fn(&[u8]) -> bool,
    mut property: impl FnMut(&'a [u8], &mut Reader<'a>) -> Option<()>,
) -> Option<Section<'a>> {
    let count = r.count()?;
    let start = r.0;
    let mut last: Option<&[u8]> = None;
    for _ in 0..count {
        let key = r.bytes().filter(|b| text(b))?;
        if last.is_some_and(|last| !before(last, key)) {
            return None;
        }
        last = Some(key);
        property(key, r)?;
    }
    Some(Section {
        count,
        bytes: read_since(start, r.0),
    })
}

/// [`layout`] with nothing built: validation alone.
pub(super) fn validate(body: &[u8]) -> Option<Layout<'_>> {
    layout(body, |_| Some(()), |_, r| r.skip_value())
}

/// Whether `a` sorts strictly before `b` (byte order, which is `str`'s
/// order), without a call to `memcmp` for these short strings.
fn before(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x < y;
        }
    }
    a.len() < b.len()
}

/// The bytes of `start` read up to `rest`, its unread tail.
fn read_since<'a>(start: &'a [u8], rest: &'a [u8]) -> &'a [u8] {
    start
        .get(..start.len().saturating_sub(rest.len()))
        .unwrap_or_default()
}

/// `b` as an owned string, if it is UTF-8.
fn owned(b: &[u8]) -> Option<String> {
    std::str::from_utf8(b).ok().map(str::to_owned)
}

/// `b` as a model string (inline when short), if it is UTF-8.
fn compact(b: &[u8]) -> Option<CompactString> {
    std::str::from_utf8(b).ok().map(CompactString::new)
}

/// A [`properties_section`] callback inserting each property into `map`,
/// checking its key as UTF-8 as it becomes a string. Keys come in order,
/// so each insert appends.
fn insert_into<'a>(map: &mut Properties) -> impl FnMut(&'a [u8], &mut Reader<'a>) -> Option<()> {
    |k, r| {
        let key = compact(k)?;
        map.insert(key, r.value()?.to_value());
        Some(())
    }
}

/// The record body (after the version byte) decoded into owned fields, or
/// `None` when the serde decoder must decide. Each label and key is
/// checked as UTF-8 once, as it becomes a string.
pub(super) fn node(body: &[u8]) -> Option<NodeFields> {
    let mut labels = Vec::new();
    let mut properties = Properties::new();
    let l = layout_checked(
        body,
        |_| true,
        |l| {
            labels.push(compact(l)?);
            Some(())
        },
        insert_into(&mut properties),
    )?;
    Some(NodeFields {
        id: l.id,
        labels,
        properties,
        created_at: l.created_at,
        updated_at: l.updated_at,
    })
}

/// The fields of an edge record, as the serde decoder returns them.
pub(super) struct EdgeFields {
    pub(super) id: u64,
    pub(super) src: u64,
    pub(super) dst: u64,
    pub(super) edge_type: String,
    pub(super) properties: Properties,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

/// An edge record body (after the version byte) of the common shape (as
/// for nodes, and a non-empty type) decoded into owned fields, or `None`
/// when the serde decoder must decide.
pub(super) fn edge(body: &[u8]) -> Option<EdgeFields> {
    let mut r = Reader(body);
    let id = r.varint()?;
    let src = r.varint()?;
    let dst = r.varint()?;
    let edge_type = r.bytes().filter(|t| !t.is_empty()).and_then(owned)?;
    let mut properties = Properties::new();
    properties_section(&mut r, |_| true, insert_into(&mut properties))?;
    let created_at = r.signed()?;
    let updated_at = r.signed()?;
    if !r.0.is_empty() {
        return None;
    }
    Some(EdgeFields {
        id,
        src,
        dst,
        edge_type,
        properties,
        created_at,
        updated_at,
    })
}

/// The bytes not read yet.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a>(&'a [u8]);
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

    /// The bytes of a string, checked to be UTF-8 (ASCII without a call).
    fn text(&mut self) -> Option<&'a [u8]> {
        self.bytes().filter(|b| utf8(b))
    }

    /// Skips a scalar property value, checking it as [`value`](Self::value)
    /// does.
    fn skip_value(&mut self) -> Option<()> {
        match u32::from(self.byte()?) {
            tag::NULL => {}
            tag::BOOL => {
                if self.byte()? > 1 {
                    return None;
                }
            }
            tag::INT | tag::DATETIME => {
                self.varint()?;
            }
            tag::FLOAT => {
                self.array::<8>()?;
            }
            tag::STRING => {
                self.text()?;
            }
            tag::BYTES => {
                self.bytes()?;
            }
            _ => return None,
        }
        Some(())
    }

    /// A scalar property value.
    fn value(&mut self) -> Option<ValueView<'a>> {
        let variant = u32::from(self.byte()?);
        Some(match variant {
            tag::NULL => ValueView::Null,
            tag::BOOL => match self.byte()? {
                0 => ValueView::Bool(false),
                1 => ValueView::Bool(true),
                _ => return None,
            },
            tag::INT => ValueView::Int(self.signed()?),
            tag::FLOAT => ValueView::Float(f64::from_le_bytes(self.array()?)),
            tag::STRING => ValueView::String(self.str()?),
            tag::BYTES => ValueView::Bytes(self.bytes()?),
            tag::DATETIME => ValueView::DateTime(Timestamp(self.signed()?)),
            _ => return None,
        })
    }
}
