//! Values of `nodes`, `edges` and the index catalog: a format-version byte
//! followed by bincode (standard configuration) of a serde struct.

use serde::{Deserialize, Serialize};

use crate::{
    ColumnFamily, CompactString, Edge, EdgeId, Error, Node, NodeId, Properties, Result, Timestamp,
};

use super::view::NodeView;

/// The first byte of every record value: the record format version.
pub const RECORD_VERSION: u8 = 1;

/// The largest encoded record accepted on write and on read.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_RECORD_BYTES>,
>;

const CONFIG: Config = bincode::config::standard().with_limit::<MAX_RECORD_BYTES>();

/// A node record as written (borrowing the node's fields).
#[derive(Serialize)]
#[serde(bound(serialize = "L: AsRef<str>"))]
struct NodeRecordRef<'a, L: AsRef<str>> {
    id: u64,
    labels: Labels<'a, L>,
    properties: &'a Properties,
    created_at: i64,
    updated_at: i64,
}

/// Labels, owned or borrowed, written as a sequence of strings (the
/// bytes of a `[String]`).
struct Labels<'a, L>(&'a [L]);

impl<L: AsRef<str>> Serialize for Labels<'_, L> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(AsRef::as_ref))
    }
}

/// A node record as read; same field order as [`NodeRecordRef`].
#[derive(Deserialize)]
struct NodeRecord {
    id: u64,
    labels: Vec<CompactString>,
    properties: Properties,
    created_at: i64,
    updated_at: i64,
}

#[derive(Serialize)]
struct EdgeRecordRef<'a> {
    id: u64,
    src: u64,
    dst: u64,
    edge_type: &'a str,
    properties: &'a Properties,
    created_at: i64,
    updated_at: i64,
}

#[derive(Deserialize)]
struct EdgeRecord {
    id: u64,
    src: u64,
    dst: u64,
    edge_type: String,
    properties: Properties,
    created_at: i64,
    updated_at: i64,
}

/// A property-index definition in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// The label whose nodes are indexed.
    pub label: String,
    /// The indexed property key.
    pub property: String,
}

fn encode<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.push(RECORD_VERSION);
    bincode::serde::encode_into_std_write(value, out, CONFIG)
        .map_err(|e| Error::invalid(format!("cannot encode record: {e}")))?;
    if out.len() - start > MAX_RECORD_BYTES {
        out.truncate(start);
        return Err(Error::invalid(format!(
            "record larger than {MAX_RECORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(cf: ColumnFamily, key: &[u8], bytes: &[u8]) -> Result<T> {
    decode_body(cf, key, body(cf, key, bytes)?)
}

/// The record's bytes after its version byte, once the version and the
/// size are checked.
fn body<'a>(cf: ColumnFamily, key: &[u8], bytes: &'a [u8]) -> Result<&'a [u8]> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| Error::corruption(cf, key, "empty record"))?;
    if version != RECORD_VERSION {
        return Err(Error::corruption(
            cf,
            key,
            format!("unknown record version {version} (this build reads {RECORD_VERSION})"),
        ));
    }
    if body.len() > MAX_RECORD_BYTES {
        return Err(Error::corruption(
            cf,
            key,
            "record larger than the size limit",
        ));
    }
    Ok(body)
}

/// Decodes a record's body with serde.
fn decode_body<T: serde::de::DeserializeOwned>(
    cf: ColumnFamily,
    key: &[u8],
    body: &[u8],
) -> Result<T> {
    let (value, read) = bincode::serde::decode_from_slice::<T, _>(body, CONFIG)
        .map_err(|e| Error::corruption(cf, key, format!("undecodable record: {e}")))?;
    if read != body.len() {
        return Err(Error::corruption(
            cf,
            key,
            format!("{} trailing bytes after record", body.len() - read),
        ));
    }
    Ok(value)
}

/// Appends the encoded record of `node` to `out`.
///
/// # Errors
/// [`Error::InvalidArgument`] if the record exceeds [`MAX_RECORD_BYTES`].
pub fn encode_node(node: &Node, out: &mut Vec<u8>) -> Result<()> {
    encode_node_parts(
        node.id,
        &node.labels,
        &node.properties,
        node.created_at,
        node.updated_at,
        out,
    )
}

/// Appends the encoded record of a node given by its parts (no `Node`
/// needs to be built). `labels` must be sorted and unique; owned or
/// borrowed strings encode alike.
///
/// # Errors
/// [`Error::InvalidArgument`] if the record exceeds [`MAX_RECORD_BYTES`].
pub fn encode_node_parts<L: AsRef<str>>(
    id: NodeId,
    labels: &[L],
    properties: &Properties,
    created_at: Timestamp,
    updated_at: Timestamp,
    out: &mut Vec<u8>,
) -> Result<()> {
    encode(
        &NodeRecordRef {
            id: id.0,
            labels: Labels(labels),
            properties,
            created_at: created_at.0,
            updated_at: updated_at.0,
        },
        out,
    )
}

fn check_labels(cf: ColumnFamily, key: &[u8], labels: &[CompactString]) -> Result<()> {
    if labels.iter().any(CompactString::is_empty) || labels.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::corruption(
            cf,
            key,
            "labels not sorted, unique and non-empty",
        ));
    }
    Ok(())
}

/// Decodes the record stored at `key` in `nodes`.
///
/// # Errors
/// [`Error::Corruption`] if the bytes are not a valid node record or its id
/// does not match the key.
pub fn decode_node(key: &[u8], bytes: &[u8]) -> Result<Node> {
    let cf = ColumnFamily::Nodes;
    let id = super::decode_node_key(key)?;
    let body = body(cf, key, bytes)?;
    // The common shape by the decoder written for it; anything else, and
    // every error, by serde.
    match super::fast::node(body) {
        Some(f) => {
            check_id(key, f.id, id)?;
            Ok(Node {
                id,
                labels: f.labels,
                properties: f.properties,
                created_at: Timestamp(f.created_at),
                updated_at: Timestamp(f.updated_at),
            })
        }
        None => decode_node_body(key, id, body),
    }
}

/// Reads the record stored at `key` in `nodes` in place: the node
/// [`decode_node`] returns, borrowing from `bytes` where it can (see
/// [`NodeView`]).
///
/// # Errors
/// Exactly those of [`decode_node`] on the same bytes.
pub fn decode_node_view<'a>(key: &[u8], bytes: &'a [u8]) -> Result<NodeView<'a>> {
    let id = super::decode_node_key(key)?;
    let body = body(ColumnFamily::Nodes, key, bytes)?;
    match super::fast::validate(body) {
        Some(layout) => {
            check_id(key, layout.id, id)?;
            Ok(NodeView::record(layout))
        }
        None => decode_node_body(key, id, body).map(NodeView::decoded),
    }
}

/// A node record's body decoded by serde.
fn decode_node_body(key: &[u8], id: NodeId, body: &[u8]) -> Result<Node> {
    let cf = ColumnFamily::Nodes;
    let r: NodeRecord = decode_body(cf, key, body)?;
    check_id(key, r.id, id)?;
    check_labels(cf, key, &r.labels)?;
    Ok(Node {
        id,
        labels: r.labels,
        properties: r.properties,
        created_at: Timestamp(r.created_at),
        updated_at: Timestamp(r.updated_at),
    })
}

/// Checks that the id in a node record is the one of its key.
fn check_id(key: &[u8], found: u64, id: NodeId) -> Result<()> {
    if found != id.0 {
        return Err(Error::corruption(
            ColumnFamily::Nodes,
            key,
            format!("record holds id {found} under key {}", id.0),
        ));
    }
    Ok(())
}

/// Appends the encoded record of `edge` to `out`.
///
/// # Errors
/// [`Error::InvalidArgument`] if the record exceeds [`MAX_RECORD_BYTES`].
pub fn encode_edge(edge: &Edge, out: &mut Vec<u8>) -> Result<()> {
    encode_edge_parts(
        EdgeParts {
            id: edge.id,
            src: edge.src,
            dst: edge.dst,
            edge_type: &edge.edge_type,
            properties: &edge.properties,
            created_at: edge.created_at,
            updated_at: edge.updated_at,
        },
        out,
    )
}

/// The fields of an edge record, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct EdgeParts<'a> {
    /// The edge id.
    pub id: EdgeId,
    /// Its source.
    pub src: NodeId,
    /// Its target.
    pub dst: NodeId,
    /// Its type.
    pub edge_type: &'a str,
    /// Its properties.
    pub properties: &'a Properties,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Appends the encoded record of an edge given by its parts.
///
/// # Errors
/// [`Error::InvalidArgument`] if the record exceeds [`MAX_RECORD_BYTES`].
pub fn encode_edge_parts(e: EdgeParts<'_>, out: &mut Vec<u8>) -> Result<()> {
    encode(
        &EdgeRecordRef {
            id: e.id.0,
            src: e.src.0,
            dst: e.dst.0,
            edge_type: e.edge_type,
            properties: e.properties,
            created_at: e.created_at.0,
            updated_at: e.updated_at.0,
        },
        out,
    )
}

/// Decodes the record stored at `key` in `edges`.
///
/// # Errors
/// [`Error::Corruption`] if the bytes are not a valid edge record or its id
/// does not match the key.
pub fn decode_edge(key: &[u8], bytes: &[u8]) -> Result<Edge> {
    let cf = ColumnFamily::Edges;
    let id = super::decode_edge_key(key)?;
    let body = body(cf, key, bytes)?;
    // As for nodes: the common shape by the decoder written for it;
    // anything else, and every error, by serde.
    let r = match super::fast::edge(body) {
        Some(f) => EdgeRecord {
            id: f.id,
            src: f.src,
            dst: f.dst,
            edge_type: f.edge_type,
            properties: f.properties,
            created_at: f.created_at,
            updated_at: f.updated_at,
        },
        None => decode_body(cf, key, body)?,
    };
    edge_of_record(key, id, r)
}

/// The edge of a decoded record, once its id is checked against the key's
/// and its type is checked to be non-empty.
fn edge_of_record(key: &[u8], id: EdgeId, r: EdgeRecord) -> Result<Edge> {
    let cf = ColumnFamily::Edges;
    if r.id != id.0 {
        return Err(Error::corruption(
            cf,
            key,
            format!("record holds id {} under key {}", r.id, id.0),
        ));
    }
    if r.edge_type.is_empty() {
        return Err(Error::corruption(cf, key, "empty edge type"));
    }
    Ok(Edge {
        id,
        src: NodeId(r.src),
        dst: NodeId(r.dst),
        edge_type: r.edge_type,
        properties: r.properties,
        created_at: Timestamp(r.created_at),
        updated_at: Timestamp(r.updated_at),
    })
}

/// Appends the encoded catalog entry of a property index.
///
/// # Errors
/// Only if encoding fails, which it cannot for valid strings.
pub fn encode_index_def(def: &IndexDef, out: &mut Vec<u8>) -> Result<()> {
    encode(def, out)
}

/// Decodes a catalog entry.
///
/// # Errors
/// [`Error::Corruption`] if the bytes are not a valid definition.
pub fn decode_index_def(key: &[u8], bytes: &[u8]) -> Result<IndexDef> {
    decode(ColumnFamily::Default, key, bytes)
}

#[cfg(test)]
mod tests {
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    use super::*;
    use crate::PropertyValue as V;

    fn value() -> impl Strategy<Value = V> {
        let leaf = prop_oneof![
            Just(V::Null),
            any::<bool>().prop_map(V::Bool),
            prop_oneof![-300i64..300, any::<i64>()].prop_map(V::Int),
            any::<f64>().prop_map(V::Float),
            "[ab\u{e9}\u{20ac}\u{1f600}]{0,4}".prop_map(|s| V::String(s.into())),
            vec(any::<u8>(), 0..6).prop_map(V::Bytes),
            any::<i64>().prop_map(|t| V::DateTime(Timestamp(t))),
            vec(any::<f32>(), 0..3).prop_map(V::Vector),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..3).prop_map(V::List),
                btree_map("[a-c]{0,2}", inner, 0..3).prop_map(|m| V::Map(m.into())),
            ]
        })
    }

    /// A varint at every width boundary, and anything.
    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![
            prop::sample::select(vec![
                0,
                250,
                251,
                65_535,
                65_536,
                u64::from(u32::MAX),
                u64::from(u32::MAX) + 1,
                u64::MAX
            ]),
            any::<u64>(),
        ]
    }

    /// A node id and a record body of that id: labels possibly unsorted,
    /// empty or repeated (the decoders must refuse those), keys from a
    /// small alphabet.
    fn keyed_body() -> impl Strategy<Value = (u64, Vec<u8>)> {
        (
            number(),
            vec("[A-C\u{e9}]{0,3}", 0..4),
            btree_map("[a-d]{0,3}", value(), 0..6),
            any::<i64>(),
            any::<i64>(),
        )
            .prop_map(|(id, labels, props, c, u)| {
                let mut out = Vec::new();
                let encoded = encode_node_parts(
                    NodeId(id),
                    &labels,
                    &Properties::from(props),
                    Timestamp(c),
                    Timestamp(u),
                    &mut out,
                );
                assert!(encoded.is_ok());
                (id, out.split_off(1))
            })
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        keyed_body().prop_map(|(_, body)| body)
    }

    /// `body` with each edit applied: a byte overwritten (0), inserted (1)
    /// or removed (2).
    fn damage(body: &[u8], edits: Vec<(prop::sample::Index, u8, u8)>) -> Vec<u8> {
        let mut damaged = body.to_vec();
        for (at, byte, kind) in edits {
            let i = at.index(damaged.len() + 1);
            match kind {
                0 if i < damaged.len() => damaged[i] = byte,
                1 => damaged.insert(i, byte),
                _ if i < damaged.len() => {
                    damaged.remove(i);
                }
                _ => {}
            }
        }
        damaged
    }

    fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
        vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4)
    }

    /// The encoding of a node, to compare nodes bit for bit (NaN payloads
    /// included).
    fn bits(n: &Node) -> std::result::Result<Vec<u8>, TestCaseError> {
        let mut out = Vec::new();
        encode_node(n, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(out)
    }

    /// The view of `bytes` exists exactly when `decode_node` succeeds (with
    /// the same error otherwise), reads back the same node, and is read in
    /// place exactly when the fast decoder takes the record.
    fn view_agrees(id: u64, bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
        let key = super::super::node_key(NodeId(id));
        let view = decode_node_view(&key, bytes);
        let node = decode_node(&key, bytes);
        let (view, node) = match (view, node) {
            (Ok(v), Ok(n)) => (v, n),
            (Err(v), Err(n)) => {
                prop_assert_eq!(v.to_string(), n.to_string());
                return Ok(());
            }
            (v, n) => return Err(TestCaseError::fail(format!("view {v:?}, node {n:?}"))),
        };
        let in_place = bytes
            .get(1..)
            .is_some_and(|b| super::super::fast::node(b).is_some());
        prop_assert_eq!(in_place, view.is_in_place());
        prop_assert_eq!(bits(&view.to_node())?, bits(&node)?);
        prop_assert_eq!(view.id(), node.id);
        prop_assert_eq!(view.created_at(), node.created_at);
        prop_assert_eq!(view.updated_at(), node.updated_at);
        prop_assert_eq!(view.labels().len(), node.labels.len());
        prop_assert!(
            view.labels()
                .eq(node.labels.iter().map(CompactString::as_str))
        );
        for l in ["A", "B", "C", "AB", "\u{e9}", "Z"] {
            prop_assert_eq!(view.has_label(l), node.has_label(l));
        }
        prop_assert_eq!(view.property_count(), node.properties.len());
        prop_assert_eq!(view.properties().len(), node.properties.len());
        let listed: Vec<_> = view
            .properties()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect();
        let expected: Vec<_> = node.properties.clone().into_iter().collect();
        prop_assert_eq!(format!("{listed:?}"), format!("{expected:?}"));
        for k in ["", "a", "ab", "b", "bd", "c", "d", "ddd", "e", "zz"] {
            let got = view.property(k).map(|v| v.to_value());
            prop_assert_eq!(format!("{got:?}"), format!("{:?}", node.properties.get(k)));
        }
        Ok(())
    }

    /// Whenever the fast decoder returns a record, serde returns the same
    /// one (compared by their encodings, so NaN payloads count too).
    fn agree(body: &[u8]) -> std::result::Result<bool, TestCaseError> {
        let Some(f) = super::super::fast::node(body) else {
            return Ok(false);
        };
        let serde: Result<NodeRecord> = decode_body(ColumnFamily::Nodes, b"k", body);
        let s = serde.map_err(|e| TestCaseError::fail(format!("fast accepted, serde: {e}")))?;
        let encode = |id, labels: &[CompactString], props, c, u| {
            let mut out = Vec::new();
            encode_node_parts(
                NodeId(id),
                labels,
                props,
                Timestamp(c),
                Timestamp(u),
                &mut out,
            )
            .map(|()| out)
            .map_err(|e| TestCaseError::fail(e.to_string()))
        };
        prop_assert_eq!(
            encode(f.id, &f.labels, &f.properties, f.created_at, f.updated_at)?,
            encode(s.id, &s.labels, &s.properties, s.created_at, s.updated_at)?
        );
        Ok(true)
    }

    /// An edge id and the whole record (version byte included) of an edge
    /// of that id: types possibly empty (the decoders must refuse those),
    /// keys from a small alphabet.
    fn keyed_edge() -> impl Strategy<Value = (u64, Vec<u8>)> {
        (
            (number(), number(), number()),
            "[A-C\u{e9}]{0,3}",
            btree_map("[a-d]{0,3}", value(), 0..6),
            any::<i64>(),
            any::<i64>(),
        )
            .prop_map(|((id, src, dst), edge_type, props, c, u)| {
                let mut out = Vec::new();
                let parts = EdgeParts {
                    id: EdgeId(id),
                    src: NodeId(src),
                    dst: NodeId(dst),
                    edge_type: &edge_type,
                    properties: &Properties::from(props),
                    created_at: Timestamp(c),
                    updated_at: Timestamp(u),
                };
                assert!(encode_edge_parts(parts, &mut out).is_ok());
                (id, out)
            })
    }

    /// What `decode_edge` returns when serde decodes every record.
    fn serde_edge(key: &[u8], bytes: &[u8]) -> Result<Edge> {
        let id = super::super::decode_edge_key(key)?;
        edge_of_record(key, id, decode(ColumnFamily::Edges, key, bytes)?)
    }

    /// `decode_edge` returns exactly what serde alone returns: the same
    /// edge (compared by encodings, so NaN payloads count too) or the same
    /// error. Returns whether the fast decoder took the record.
    fn edge_agrees(id: u64, bytes: &[u8]) -> std::result::Result<bool, TestCaseError> {
        let key = super::super::edge_key(EdgeId(id));
        let bits = |e: &Edge| {
            let mut out = Vec::new();
            encode_edge(e, &mut out).map(|()| out)
        };
        match (decode_edge(&key, bytes), serde_edge(&key, bytes)) {
            (Ok(fast), Ok(serde)) => {
                let (fast, serde) = (bits(&fast), bits(&serde));
                prop_assert_eq!(format!("{fast:?}"), format!("{serde:?}"));
            }
            (Err(fast), Err(serde)) => prop_assert_eq!(fast.to_string(), serde.to_string()),
            (fast, serde) => {
                return Err(TestCaseError::fail(format!(
                    "fast {fast:?}, serde {serde:?}"
                )));
            }
        }
        Ok(bytes
            .get(1..)
            .is_some_and(|b| super::super::fast::edge(b).is_some()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// On generated records and on the same records damaged (bytes
        /// overwritten, inserted, removed), the fast decoder either gives
        /// up or agrees with serde; records of scalar values only are
        /// always taken by it.
        #[test]
        fn the_fast_node_decoder_agrees_with_serde(body in body(), edits in edits()) {
            let taken = agree(&body)?;
            let nested = |v: &V| matches!(v, V::List(_) | V::Map(_) | V::Vector(_));
            let s: NodeRecord = decode_body(ColumnFamily::Nodes, b"k", &body)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let labels_valid = check_labels(ColumnFamily::Nodes, b"k", &s.labels).is_ok();
            prop_assert_eq!(taken, labels_valid && !s.properties.values().any(nested));
            agree(&damage(&body, edits))?;
        }

        /// On the same generated and damaged records, a node view exists
        /// exactly when the node decodes, and reads the same node through
        /// every accessor.
        #[test]
        fn a_node_view_reads_what_decode_node_reads(
            (id, body) in keyed_body(),
            edits in edits(),
        ) {
            let record = |body: &[u8]| [&[RECORD_VERSION], body].concat();
            view_agrees(id, &record(&body))?;
            view_agrees(id, &record(&damage(&body, edits)))?;
        }

        /// On generated edge records and on the same records damaged,
        /// `decode_edge` (the fast decoder first) returns exactly what
        /// serde alone returns; records of scalar values and a non-empty
        /// type are always taken by the fast decoder.
        #[test]
        fn the_fast_edge_decoder_agrees_with_serde((id, bytes) in keyed_edge(), edits in edits()) {
            let taken = edge_agrees(id, &bytes)?;
            let nested = |v: &V| matches!(v, V::List(_) | V::Map(_) | V::Vector(_));
            let r: EdgeRecord = decode(ColumnFamily::Edges, b"k", &bytes)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(taken, !r.edge_type.is_empty() && !r.properties.values().any(nested));
            edge_agrees(id, &damage(&bytes, edits))?;
        }
    }

    /// Every byte of records holding each scalar type, and nested values,
    /// set to every value in turn: the view still reads exactly what
    /// `decode_node` reads (random damage rarely hits, say, a bool's byte
    /// with a 2).
    #[test]
    fn every_single_byte_change_is_read_alike() {
        let scalars = Properties::from([
            ("a".to_owned(), V::Null),
            ("b".to_owned(), V::Bool(true)),
            ("c".to_owned(), V::Int(-300)),
            ("d".to_owned(), V::Float(1.5)),
            ("e".to_owned(), V::String("\u{e9}t\u{e9}".into())),
            ("f".to_owned(), V::Bytes(vec![0, 255])),
            ("g".to_owned(), V::DateTime(Timestamp(70_000))),
        ]);
        let nested = Properties::from([
            ("l".to_owned(), V::List(vec![V::Int(1)])),
            ("v".to_owned(), V::Vector(vec![0.5])),
        ]);
        for (labels, props) in [(vec!["A", "B\u{e9}"], scalars), (vec!["C"], nested)] {
            let mut bytes = Vec::new();
            let encoded = encode_node_parts(
                NodeId(300),
                &labels,
                &props,
                Timestamp(1),
                Timestamp(-2),
                &mut bytes,
            );
            assert!(encoded.is_ok());
            for i in 0..bytes.len() {
                for b in 0..=255u8 {
                    let mut damaged = bytes.clone();
                    damaged[i] = b;
                    if let Err(e) = view_agrees(300, &damaged) {
                        panic!("byte {i} set to {b}: {e}");
                    }
                }
            }
        }
    }

    /// Every byte of edge records holding each scalar type, and nested
    /// values, set to every value in turn: `decode_edge` still returns
    /// exactly what serde alone returns.
    #[test]
    fn every_single_byte_change_of_an_edge_is_decoded_alike() {
        let scalars = Properties::from([
            ("a".to_owned(), V::Null),
            ("b".to_owned(), V::Bool(false)),
            ("c".to_owned(), V::Int(70_000)),
            ("d".to_owned(), V::Float(-0.25)),
            ("e".to_owned(), V::String("x\u{20ac}".into())),
            ("f".to_owned(), V::Bytes(vec![7])),
            ("g".to_owned(), V::DateTime(Timestamp(-5))),
        ]);
        let nested = Properties::from([("m".to_owned(), V::Map(Properties::new()))]);
        let mut taken = 0;
        for (edge_type, props) in [("KNOWS", scalars), ("\u{e9}", nested)] {
            let mut bytes = Vec::new();
            let parts = EdgeParts {
                id: EdgeId(300),
                src: NodeId(70_000),
                dst: NodeId(1),
                edge_type,
                properties: &props,
                created_at: Timestamp(1),
                updated_at: Timestamp(-2),
            };
            assert!(encode_edge_parts(parts, &mut bytes).is_ok());
            for i in 0..bytes.len() {
                for b in 0..=255u8 {
                    let mut damaged = bytes.clone();
                    damaged[i] = b;
                    match edge_agrees(300, &damaged) {
                        Ok(t) => taken += usize::from(t),
                        Err(e) => panic!("byte {i} set to {b}: {e}"),
                    }
                }
            }
        }
        // The fast decoder did take records, damaged ones included.
        assert!(taken > 1_000, "{taken}");
    }

    /// A varint not in its shortest form is valid bincode: the serde
    /// decoder reads it.
    #[test]
    fn a_record_with_a_long_varint_is_read_by_serde() -> Result<()> {
        let node = Node {
            id: NodeId(5),
            labels: vec!["A".into()],
            properties: Properties::new(),
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        };
        let mut bytes = Vec::new();
        encode_node(&node, &mut bytes)?;
        assert_eq!(bytes[1], 5);
        bytes.splice(1..2, [251, 5, 0]);
        assert!(super::super::fast::node(&bytes[1..]).is_none());
        assert_eq!(
            decode_node(&super::super::node_key(NodeId(5)), &bytes)?,
            node
        );
        Ok(())
    }
}
