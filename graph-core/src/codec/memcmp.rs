//! Order-preserving ("memcomparable") encoding of property values.
//!
//! Byte order of the encodings equals value order: values compare first by
//! type (in tag order), then by value. Integers and time stamps compare
//! numerically, floats by [`f64::total_cmp`], strings and bytes by their
//! bytes, lists, maps and vectors element by element (shorter first when one
//! is a prefix of the other). Every encoding is self-delimiting, so a node id
//! can follow it in an index key.

use crate::PropertyValue;

/// Type tags of the memcomparable encoding; their order is the type order.
pub(crate) mod tag {
    pub(crate) const NULL: u8 = 0x01;
    pub(crate) const BOOL: u8 = 0x02;
    pub(crate) const INT: u8 = 0x03;
    pub(crate) const FLOAT: u8 = 0x04;
    pub(crate) const STRING: u8 = 0x05;
    pub(crate) const BYTES: u8 = 0x06;
    pub(crate) const DATETIME: u8 = 0x07;
    pub(crate) const LIST: u8 = 0x08;
    pub(crate) const MAP: u8 = 0x09;
    pub(crate) const VECTOR: u8 = 0x0A;
}

/// Marks "another element follows" in lists, maps and vectors.
const MORE: u8 = 0x01;
/// Ends a list, map or vector; sorts before [`MORE`], so prefixes sort first.
const END: u8 = 0x00;

/// Appends the memcomparable encoding of `value` to `out`.
pub fn encode_value(value: &PropertyValue, out: &mut Vec<u8>) {
    match value {
        PropertyValue::Null => out.push(tag::NULL),
        PropertyValue::Bool(b) => {
            out.push(tag::BOOL);
            out.push(u8::from(*b));
        }
        PropertyValue::Int(i) => {
            out.push(tag::INT);
            out.extend_from_slice(&order_i64(*i));
        }
        PropertyValue::Float(f) => {
            out.push(tag::FLOAT);
            out.extend_from_slice(&order_f64(*f));
        }
        PropertyValue::String(s) => {
            out.push(tag::STRING);
            escape_bytes(s.as_bytes(), out);
        }
        PropertyValue::Bytes(b) => {
            out.push(tag::BYTES);
            escape_bytes(b, out);
        }
        PropertyValue::DateTime(t) => {
            out.push(tag::DATETIME);
            out.extend_from_slice(&order_i64(t.0));
        }
        PropertyValue::List(items) => {
            out.push(tag::LIST);
            for item in items {
                out.push(MORE);
                encode_value(item, out);
            }
            out.push(END);
        }
        PropertyValue::Map(map) => {
            out.push(tag::MAP);
            for (k, v) in map {
                out.push(MORE);
                escape_bytes(k.as_bytes(), out);
                encode_value(v, out);
            }
            out.push(END);
        }
        PropertyValue::Vector(items) => {
            out.push(tag::VECTOR);
            for f in items {
                out.push(MORE);
                out.extend_from_slice(&order_f32(*f));
            }
            out.push(END);
        }
    }
}

/// Big-endian with the sign bit flipped: negative before positive.
fn order_i64(i: i64) -> [u8; 8] {
    ((i as u64) ^ (1 << 63)).to_be_bytes()
}

/// IEEE-754 bits arranged so byte order is `f64::total_cmp` order.
fn order_f64(f: f64) -> [u8; 8] {
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    };
    ordered.to_be_bytes()
}

/// As [`order_f64`], for `f32`.
fn order_f32(f: f32) -> [u8; 4] {
    let bits = f.to_bits();
    let ordered = if bits >> 31 == 1 {
        !bits
    } else {
        bits ^ (1 << 31)
    };
    ordered.to_be_bytes()
}

/// Escapes `0x00` as `0x00 0xFF` and terminates with `0x00 0x01`, so the
/// encoding is self-delimiting and a shorter string sorts before any longer
/// string it is a prefix of.
fn escape_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.push(0x00);
    out.push(0x01);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use std::cmp::Ordering;

    fn enc(v: &PropertyValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(v, &mut out);
        out
    }

    /// Each row must encode strictly below the next.
    #[test]
    fn byte_order_is_value_order() {
        use PropertyValue as V;
        let ascending = [
            V::Null,
            V::Bool(false),
            V::Bool(true),
            V::Int(i64::MIN),
            V::Int(-1),
            V::Int(0),
            V::Int(1),
            V::Int(i64::MAX),
            V::Float(f64::NEG_INFINITY),
            V::Float(-1.5),
            V::Float(-0.0),
            V::Float(0.0),
            V::Float(f64::MIN_POSITIVE),
            V::Float(2.5),
            V::Float(f64::INFINITY),
            V::Float(f64::NAN),
            V::String("".into()),
            V::String("\0".into()),
            V::String("\0\0".into()),
            V::String("\x01".into()),
            V::String("a".into()),
            V::String("a\0".into()),
            V::String("ab".into()),
            V::String("b".into()),
            V::Bytes(vec![]),
            V::Bytes(vec![0]),
            V::Bytes(vec![0xFF]),
            V::DateTime(Timestamp(-5)),
            V::DateTime(Timestamp(5)),
            V::List(vec![]),
            V::List(vec![V::Null]),
            V::List(vec![V::Null, V::Null]),
            V::List(vec![V::Int(1)]),
            V::Map(Default::default()),
            V::Map([("a".to_string(), V::Int(2))].into()),
            V::Map([("b".to_string(), V::Int(1))].into()),
            V::Vector(vec![]),
            V::Vector(vec![-1.0]),
            V::Vector(vec![-1.0, 0.0]),
            V::Vector(vec![1.0]),
        ];
        for pair in ascending.windows(2) {
            assert_eq!(
                enc(&pair[0]).cmp(&enc(&pair[1])),
                Ordering::Less,
                "{:?} must sort before {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn golden_bytes() {
        use PropertyValue as V;
        let cases: &[(V, &[u8])] = &[
            (V::Null, &[0x01]),
            (V::Bool(true), &[0x02, 0x01]),
            (
                V::Int(-1),
                &[0x03, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
            (V::Int(1), &[0x03, 0x80, 0, 0, 0, 0, 0, 0, 1]),
            (V::Float(1.0), &[0x04, 0xBF, 0xF0, 0, 0, 0, 0, 0, 0]),
            (
                V::String("a\0b".into()),
                &[0x05, b'a', 0x00, 0xFF, b'b', 0x00, 0x01],
            ),
            (V::List(vec![V::Null]), &[0x08, 0x01, 0x01, 0x00]),
            (V::Vector(vec![0.0]), &[0x0A, 0x01, 0x80, 0, 0, 0, 0x00]),
        ];
        for (value, bytes) in cases {
            assert_eq!(enc(value), *bytes, "{value:?}");
        }
    }
}
