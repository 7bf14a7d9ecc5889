//! Golden-byte tests: they pin the on-disk format. If one of these fails,
//! the format changed; that must be deliberate and versioned.

use super::*;
use crate::{ColumnFamily, Edge, EdgeId, ErrorKind, Node, NodeId, PropertyValue as V, Timestamp};

fn value_bytes(v: &V) -> Vec<u8> {
    match bincode::serde::encode_to_vec(v, bincode::config::standard()) {
        Ok(b) => b,
        Err(e) => panic!("encoding {v:?}: {e}"),
    }
}

/// One case per variant. The match makes adding a variant without a golden
/// case a compile error.
fn golden_case(v: &V) -> &'static [u8] {
    match v {
        V::Null => &[0x00],
        V::Bool(_) => &[0x01, 0x01],
        V::Int(_) => &[0x02, 0x01],
        V::Float(_) => &[0x03, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F],
        V::String(_) => &[0x04, 0x02, b'h', b'i'],
        V::Bytes(_) => &[0x05, 0x02, 0x01, 0x02],
        V::DateTime(_) => &[0x06, 0x06],
        V::List(_) => &[0x07, 0x01, 0x00],
        V::Map(_) => &[0x08, 0x01, 0x01, b'a', 0x00],
        V::Vector(_) => &[0x09, 0x01, 0x00, 0x00, 0x80, 0x3F],
    }
}

fn one_of_each() -> Vec<V> {
    vec![
        V::Null,
        V::Bool(true),
        V::Int(-1),
        V::Float(1.0),
        V::String("hi".into()),
        V::Bytes(vec![1, 2]),
        V::DateTime(Timestamp(3)),
        V::List(vec![V::Null]),
        V::Map([("a".to_string(), V::Null)].into()),
        V::Vector(vec![1.0]),
    ]
}

#[test]
fn property_value_tags_are_pinned() {
    for v in one_of_each() {
        assert_eq!(value_bytes(&v), golden_case(&v), "{v:?}");
        let (back, n): (V, usize) =
            match bincode::serde::decode_from_slice(golden_case(&v), bincode::config::standard()) {
                Ok(r) => r,
                Err(e) => panic!("decoding {v:?}: {e}"),
            };
        assert_eq!(back, v);
        assert_eq!(n, golden_case(&v).len());
    }
}

fn sample_node() -> Node {
    Node {
        id: NodeId(1),
        labels: vec!["Person".into()],
        properties: [
            ("age".to_string(), V::Int(42)),
            ("name".to_string(), V::from("Ann")),
        ]
        .into(),
        created_at: Timestamp(10),
        updated_at: Timestamp(20),
    }
}

const NODE_GOLDEN: &[u8] = &[
    0x01, // record version
    0x01, // id
    0x01, 0x06, b'P', b'e', b'r', b's', b'o', b'n', // labels
    0x02, // two properties
    0x03, b'a', b'g', b'e', 0x02, 0x54, // age: Int(42), zigzag 84
    0x04, b'n', b'a', b'm', b'e', 0x04, 0x03, b'A', b'n', b'n', // name: "Ann"
    0x14, // created_at 10, zigzag 20
    0x28, // updated_at 20, zigzag 40
];

#[test]
fn node_record_is_pinned() -> crate::Result<()> {
    let mut out = Vec::new();
    encode_node(&sample_node(), &mut out)?;
    assert_eq!(out, NODE_GOLDEN);
    assert_eq!(
        decode_node(&node_key(NodeId(1)), NODE_GOLDEN)?,
        sample_node()
    );
    // Borrowed labels (as `GraphBatch` encodes them) give the same bytes.
    let n = sample_node();
    let mut borrowed = Vec::new();
    super::encode_node_parts(
        n.id,
        &["Person"],
        &n.properties,
        n.created_at,
        n.updated_at,
        &mut borrowed,
    )?;
    assert_eq!(borrowed, NODE_GOLDEN);
    Ok(())
}

#[test]
fn edge_record_is_pinned() -> crate::Result<()> {
    let edge = Edge {
        id: EdgeId(7),
        src: NodeId(1),
        dst: NodeId(2),
        edge_type: "KNOWS".into(),
        properties: [("w".to_string(), V::Float(0.5))].into(),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    let golden: &[u8] = &[
        0x01, 0x07, 0x01, 0x02, // version, id, src, dst
        0x05, b'K', b'N', b'O', b'W', b'S', // type
        0x01, 0x01, b'w', 0x03, 0, 0, 0, 0, 0, 0, 0xE0, 0x3F, // w: Float(0.5)
        0x02, 0x02, // created_at, updated_at
    ];
    let mut out = Vec::new();
    encode_edge(&edge, &mut out)?;
    assert_eq!(out, golden);
    assert_eq!(decode_edge(&edge_key(EdgeId(7)), golden)?, edge);
    Ok(())
}

#[test]
fn keys_are_pinned() {
    assert_eq!(node_key(NodeId(0x0102)), [0, 0, 0, 0, 0, 0, 1, 2]);
    assert_eq!(edge_key(EdgeId(u64::MAX)), [0xFF; 8]);
    let out = AdjacencyKey::outgoing(NodeId(1), SymbolId(2), NodeId(3), EdgeId(4)).encode();
    assert_eq!(
        out,
        [
            1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4
        ]
    );
    let inc = AdjacencyKey::incoming(NodeId(3), SymbolId(2), NodeId(1), EdgeId(4)).encode();
    assert_eq!(inc[0], 2);
    assert_eq!(&inc[1..9], &3u64.to_be_bytes());
    assert_eq!(
        label_key(SymbolId(5), NodeId(6)),
        [3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6]
    );
    let mut p = Vec::new();
    property_index_key(IndexId(1), &V::Int(0), NodeId(9), &mut p);
    assert_eq!(
        p,
        [
            4, 0, 0, 0, 1, 0x03, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9
        ]
    );
    assert_eq!(meta::symbol_by_id(SymbolId(1)), [3, 0, 0, 0, 1]);
    assert_eq!(meta::symbol_by_name("ab"), [2, b'a', b'b']);
    assert_eq!(meta::index_def(IndexId(2)), [4, 0, 0, 0, 2]);
    assert_eq!(meta::FORMAT_VERSION, b"\x01format_version");
    assert_eq!(meta::CREATED_BY, b"\x01created_by");
    assert_eq!(
        meta::external_id("Person", "p1").ok(),
        Some(b"\x05Person\x00p1".to_vec())
    );
    assert_eq!(meta::external_id("", "").ok(), Some(vec![5, 0]));
    assert!(meta::external_id("a\0b", "x").is_err());
    assert_eq!(
        meta::decode_external_id_key(b"\x05Person\x00p\x001").ok(),
        Some(("Person", "p\x001"))
    );
    assert!(meta::decode_external_id_key(b"\x05Person").is_err());
    assert!(meta::decode_external_id_key(b"\x04Person\x00x").is_err());
}

#[test]
fn keys_round_trip() -> crate::Result<()> {
    let k = AdjacencyKey::incoming(NodeId(u64::MAX), SymbolId(7), NodeId(0), EdgeId(42));
    assert_eq!(AdjacencyKey::decode(&k.encode())?, k);
    assert_eq!(
        decode_label_key(&label_key(SymbolId(3), NodeId(8)))?,
        (SymbolId(3), NodeId(8))
    );
    let mut p = Vec::new();
    property_index_key(IndexId(1), &V::from("x\0y"), NodeId(77), &mut p);
    assert_eq!(property_index_node(&p)?, NodeId(77));
    Ok(())
}

/// Each row: bytes that must be rejected as corruption, never a panic.
#[test]
fn bad_records_are_corruption() {
    let key = node_key(NodeId(1));
    let mut wrong_id = NODE_GOLDEN.to_vec();
    wrong_id[1] = 2;
    let mut trailing = NODE_GOLDEN.to_vec();
    trailing.push(0);
    let mut bad_tag = NODE_GOLDEN.to_vec();
    bad_tag[15] = 0x63; // the tag of "age"
    let mut deep = vec![0x01, 0x01, 0x00, 0x01, 0x01, b'k'];
    deep.extend(std::iter::repeat_n([0x07, 0x01], 10_000).flatten());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("unknown version", vec![0x02]),
        ("truncated", NODE_GOLDEN[..NODE_GOLDEN.len() - 3].to_vec()),
        ("wrong id", wrong_id),
        ("trailing bytes", trailing),
        ("unknown variant tag", bad_tag),
        (
            "huge length",
            vec![
                0x01, 0x01, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
            ],
        ),
        ("deep nesting", deep),
        (
            "unsorted labels",
            vec![0x01, 0x01, 0x02, 0x01, b'b', 0x01, b'a', 0x00, 0x00, 0x00],
        ),
        (
            "invalid utf-8",
            vec![0x01, 0x01, 0x01, 0x01, 0xFF, 0x00, 0x00, 0x00],
        ),
    ];
    for (what, bytes) in cases {
        match decode_node(&key, &bytes) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::Corruption, "{what}: {e}"),
            Ok(n) => panic!("{what}: decoded {n:?}"),
        }
    }
    let short_key = decode_node(&[1, 2, 3], NODE_GOLDEN);
    assert!(matches!(
        short_key,
        Err(crate::Error::Corruption {
            cf: ColumnFamily::Nodes,
            ..
        })
    ));
}
