//! Every decoder of `graph_core::codec` on hostile bytes: arbitrary bytes,
//! and valid encodings with bytes flipped, inserted, removed or cut off.
//! No decoder may panic, allocate without bound or recurse without bound;
//! every refusal is [`ErrorKind::Corruption`]. Valid encodings round-trip.
//!
//! The same decoders are fuzzed by the cargo-fuzz targets in `fuzz/` (see
//! RELIABILITY.md); this file is their stable, always-on counterpart.
//! `PROPTEST_CASES` raises the number of cases (default 2048 per property).

use graph_core::codec::{self, AdjacencyKey, IndexDef, meta};
use graph_core::{
    ColumnFamily, CompactString, Edge, EdgeId, ErrorKind, Node, NodeId, Properties, PropertyValue,
    Result, Timestamp,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Ok, or an error of kind Corruption.
fn refused_as_corruption<T>(what: &str, r: Result<T>) -> std::result::Result<(), TestCaseError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::Corruption => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!(
            "{what}: error of kind {:?}, not Corruption: {e}",
            e.kind()
        ))),
    }
}

/// Runs every decoder on `bytes` (as a key, as a value, and both).
fn decode_everything(key: &[u8], bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    refused_as_corruption("decode_node", codec::decode_node(key, bytes))?;
    refused_as_corruption("decode_node 8-byte key", codec::decode_node(&[0; 8], bytes))?;
    refused_as_corruption("decode_edge", codec::decode_edge(key, bytes))?;
    refused_as_corruption("decode_edge 8-byte key", codec::decode_edge(&[0; 8], bytes))?;
    refused_as_corruption("decode_index_def", codec::decode_index_def(key, bytes))?;
    for b in [key, bytes] {
        refused_as_corruption("AdjacencyKey::decode", AdjacencyKey::decode(b))?;
        refused_as_corruption("decode_label_key", codec::decode_label_key(b))?;
        refused_as_corruption("property_index_node", codec::property_index_node(b))?;
        refused_as_corruption("decode_node_key", codec::decode_node_key(b))?;
        refused_as_corruption("decode_edge_key", codec::decode_edge_key(b))?;
        refused_as_corruption("decode_index_def_key", meta::decode_index_def_key(b))?;
        refused_as_corruption("decode_symbol_by_id_key", meta::decode_symbol_by_id_key(b))?;
        refused_as_corruption(
            "decode_u64_value",
            codec::decode_u64_value(ColumnFamily::Default, key, b),
        )?;
        refused_as_corruption(
            "decode_u32_value",
            codec::decode_u32_value(ColumnFamily::Default, key, b),
        )?;
    }
    Ok(())
}

fn value() -> impl Strategy<Value = PropertyValue> {
    let leaf = prop_oneof![
        Just(PropertyValue::Null),
        any::<bool>().prop_map(PropertyValue::Bool),
        any::<i64>().prop_map(PropertyValue::Int),
        any::<f64>().prop_map(PropertyValue::Float),
        ".{0,12}".prop_map(|s| PropertyValue::String(s.into())),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(PropertyValue::Bytes),
        any::<i64>().prop_map(|t| PropertyValue::DateTime(Timestamp(t))),
        proptest::collection::vec(any::<f32>(), 0..6).prop_map(PropertyValue::Vector),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(PropertyValue::List),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| PropertyValue::Map(m.into())),
        ]
    })
}

fn properties() -> impl Strategy<Value = Properties> {
    proptest::collection::btree_map("[a-z]{1,6}", value(), 0..5).prop_map(Properties::from)
}

fn node() -> impl Strategy<Value = Node> {
    (
        any::<u64>(),
        proptest::collection::btree_set("[A-Za-z]{1,8}", 0..4),
        properties(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(|(id, labels, properties, c, u)| Node {
            id: NodeId(id),
            labels: labels.into_iter().map(CompactString::from).collect(),
            properties,
            created_at: Timestamp(c),
            updated_at: Timestamp(u),
        })
}

fn edge() -> impl Strategy<Value = Edge> {
    (
        (any::<u64>(), any::<u64>(), any::<u64>()),
        "[A-Z_]{1,8}",
        properties(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(|((id, src, dst), edge_type, properties, c, u)| Edge {
            id: EdgeId(id),
            src: NodeId(src),
            dst: NodeId(dst),
            edge_type,
            properties,
            created_at: Timestamp(c),
            updated_at: Timestamp(u),
        })
}

/// A change to valid bytes.
#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Damage::Flip(i, x)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Damage::Insert(i, x)),
            any::<usize>().prop_map(Damage::Remove),
            any::<usize>().prop_map(Damage::Truncate),
        ],
        1..4,
    )
}

fn apply(bytes: &mut Vec<u8>, damage: &[Damage]) {
    for d in damage {
        let n = bytes.len();
        match *d {
            Damage::Flip(i, x) if n > 0 => bytes[i % n] ^= x,
            Damage::Insert(i, x) => bytes.insert(i % (n + 1), x),
            Damage::Remove(i) if n > 0 => {
                bytes.remove(i % n);
            }
            Damage::Truncate(i) => bytes.truncate(i % (n + 1)),
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes, as keys and values, into every decoder.
    #[test]
    fn arbitrary_bytes_never_panic(
        key in proptest::collection::vec(any::<u8>(), 0..40),
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        decode_everything(&key, &bytes)?;
    }

    /// Arbitrary bytes behind a valid version byte reach the record decoder
    /// proper (not just the version check).
    #[test]
    fn arbitrary_record_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![codec::RECORD_VERSION];
        bytes.extend_from_slice(&body);
        decode_everything(&[0; 8], &bytes)?;
    }

    /// Valid node records round-trip; damaged ones decode or are refused
    /// as corruption, and a record that still decodes carries its key's id.
    #[test]
    fn damaged_node_records(n in node(), d in damage()) {
        let key = codec::node_key(n.id);
        let mut bytes = Vec::new();
        codec::encode_node(&n, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = codec::decode_node(&key, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.id, n.id);
        prop_assert_eq!(&back.labels, &n.labels);
        prop_assert_eq!(back.created_at, n.created_at);
        apply(&mut bytes, &d);
        match codec::decode_node(&key, &bytes) {
            Ok(m) => prop_assert_eq!(m.id, n.id),
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::Corruption),
        }
        decode_everything(&key, &bytes)?;
    }

    /// The same for edge records.
    #[test]
    fn damaged_edge_records(e in edge(), d in damage()) {
        let key = codec::edge_key(e.id);
        let mut bytes = Vec::new();
        codec::encode_edge(&e, &mut bytes).map_err(|x| TestCaseError::fail(x.to_string()))?;
        let back = codec::decode_edge(&key, &bytes).map_err(|x| TestCaseError::fail(x.to_string()))?;
        prop_assert_eq!((back.id, back.src, back.dst), (e.id, e.src, e.dst));
        prop_assert_eq!(&back.edge_type, &e.edge_type);
        apply(&mut bytes, &d);
        match codec::decode_edge(&key, &bytes) {
            Ok(m) => {
                prop_assert_eq!(m.id, e.id);
                prop_assert!(!m.edge_type.is_empty());
            }
            Err(x) => prop_assert_eq!(x.kind(), ErrorKind::Corruption),
        }
        decode_everything(&key, &bytes)?;
    }

    /// Index definitions and every key layout, valid then damaged.
    #[test]
    fn damaged_keys_and_definitions(
        label in "[A-Za-z]{1,10}",
        property in "[a-z]{1,10}",
        ids in (any::<u64>(), any::<u32>(), any::<u64>(), any::<u64>()),
        v in value(),
        d in damage(),
    ) {
        let (a, sym, b, e) = ids;
        let def = IndexDef { label, property };
        let mut bytes = Vec::new();
        codec::encode_index_def(&def, &mut bytes).map_err(|x| TestCaseError::fail(x.to_string()))?;
        let back = codec::decode_index_def(b"\x04\0\0\0\x01", &bytes)
            .map_err(|x| TestCaseError::fail(x.to_string()))?;
        prop_assert_eq!(back, def);
        let adj = AdjacencyKey::outgoing(NodeId(a), codec::SymbolId(sym), NodeId(b), EdgeId(e));
        prop_assert_eq!(AdjacencyKey::decode(&adj.encode()).ok(), Some(adj));
        let label_key = codec::label_key(codec::SymbolId(sym), NodeId(a));
        let mut prop_key = Vec::new();
        codec::property_index_key(codec::IndexId(sym), &v, NodeId(b), &mut prop_key);
        prop_assert_eq!(codec::property_index_node(&prop_key).ok(), Some(NodeId(b)));
        for mut k in [bytes, adj.encode().to_vec(), label_key.to_vec(), prop_key] {
            apply(&mut k, &d);
            decode_everything(&k, &k)?;
        }
    }
}

/// Lists nested far deeper than the limit are refused, not a stack
/// overflow; huge length claims are refused without allocating them.
#[test]
fn deep_nesting_and_huge_lengths_are_refused() {
    // id 0, no labels, one property "p" = [[[[...]]]] 100 000 deep.
    let mut deep = vec![codec::RECORD_VERSION, 0, 0, 1, 1, b'p'];
    deep.extend(std::iter::repeat_n([7u8, 1], 100_000).flatten());
    let e = codec::decode_node(&[0; 8], &deep).err();
    assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Corruption));
    // A label count and a string length of about 2^64.
    let mut huge = vec![codec::RECORD_VERSION, 0, 0xFD];
    huge.extend_from_slice(&u64::MAX.to_le_bytes());
    let e = codec::decode_node(&[0; 8], &huge).err();
    assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Corruption));
    let mut long = vec![codec::RECORD_VERSION, 0, 1, 0xFC];
    long.extend_from_slice(&(60u32 << 20).to_le_bytes());
    let e = codec::decode_node(&[0; 8], &long).err();
    assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Corruption));
}
