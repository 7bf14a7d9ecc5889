//! Serde implementation of [`PropertyValue`] with explicit, stable tags.
//!
//! The tag of each variant is written down here rather than taken from the
//! declaration order, so reordering the enum cannot change the format.
//! Decoding bounds the nesting depth, so hostile bytes cannot overflow the
//! stack.

use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde::{Deserialize, Deserializer};

use crate::{CompactString, Properties, PropertyValue, Timestamp};

/// The deepest nesting of lists and maps a value may have.
pub const MAX_DEPTH: usize = 32;

/// The stable variant tags of [`PropertyValue`] on disk.
pub mod tag {
    /// `Null`.
    pub const NULL: u32 = 0;
    /// `Bool`.
    pub const BOOL: u32 = 1;
    /// `Int`.
    pub const INT: u32 = 2;
    /// `Float`.
    pub const FLOAT: u32 = 3;
    /// `String`.
    pub const STRING: u32 = 4;
    /// `Bytes`.
    pub const BYTES: u32 = 5;
    /// `DateTime`.
    pub const DATETIME: u32 = 6;
    /// `List`.
    pub const LIST: u32 = 7;
    /// `Map`.
    pub const MAP: u32 = 8;
    /// `Vector`.
    pub const VECTOR: u32 = 9;
}

const NAME: &str = "PropertyValue";
const VARIANTS: &[&str] = &[
    "Null", "Bool", "Int", "Float", "String", "Bytes", "DateTime", "List", "Map", "Vector",
];

/// Serializes bytes as a length-prefixed byte string.
struct RawBytes<'a>(&'a [u8]);

impl Serialize for RawBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for PropertyValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use PropertyValue as V;
        match self {
            V::Null => s.serialize_unit_variant(NAME, tag::NULL, "Null"),
            V::Bool(b) => s.serialize_newtype_variant(NAME, tag::BOOL, "Bool", b),
            V::Int(i) => s.serialize_newtype_variant(NAME, tag::INT, "Int", i),
            V::Float(f) => s.serialize_newtype_variant(NAME, tag::FLOAT, "Float", f),
            V::String(v) => s.serialize_newtype_variant(NAME, tag::STRING, "String", v),
            V::Bytes(b) => s.serialize_newtype_variant(NAME, tag::BYTES, "Bytes", &RawBytes(b)),
            V::DateTime(t) => s.serialize_newtype_variant(NAME, tag::DATETIME, "DateTime", &t.0),
            V::List(items) => s.serialize_newtype_variant(NAME, tag::LIST, "List", items),
            // `Properties` serializes as a map in key order.
            V::Map(m) => s.serialize_newtype_variant(NAME, tag::MAP, "Map", m),
            V::Vector(v) => s.serialize_newtype_variant(NAME, tag::VECTOR, "Vector", v),
        }
    }
}

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValueSeed { depth: 0 }.deserialize(d)
    }
}

/// Deserializes a value at a known nesting depth.
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
}

impl ValueSeed {
    fn nested<E: de::Error>(self) -> Result<ValueSeed, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format!(
                "property values nest deeper than {MAX_DEPTH}"
            )));
        }
        Ok(ValueSeed {
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = PropertyValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PropertyValue, D::Error> {
        d.deserialize_enum(NAME, VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = PropertyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property value")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<PropertyValue, A::Error> {
        use PropertyValue as V;
        let (t, variant): (u32, _) = data.variant()?;
        Ok(match t {
            tag::NULL => {
                variant.unit_variant()?;
                V::Null
            }
            tag::BOOL => V::Bool(variant.newtype_variant()?),
            tag::INT => V::Int(variant.newtype_variant()?),
            tag::FLOAT => V::Float(variant.newtype_variant()?),
            tag::STRING => V::String(variant.newtype_variant()?),
            tag::BYTES => V::Bytes(variant.newtype_variant::<serde_bytes_buf::ByteBuf>()?.0),
            tag::DATETIME => V::DateTime(Timestamp(variant.newtype_variant()?)),
            tag::LIST => V::List(variant.newtype_variant_seed(ListSeed(self.nested()?))?),
            tag::MAP => V::Map(variant.newtype_variant_seed(MapSeed(self.nested()?))?),
            tag::VECTOR => V::Vector(variant.newtype_variant()?),
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(u64::from(other)),
                    &"a known property value tag (0..=9)",
                ));
            }
        })
    }
}

struct ListSeed(ValueSeed);

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<PropertyValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = Vec<PropertyValue>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of property values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Never trust a length read from disk for preallocation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(self.0)? {
            out.push(v);
        }
        Ok(out)
    }
}

struct MapSeed(ValueSeed);

impl<'de> DeserializeSeed<'de> for MapSeed {
    type Value = Properties;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed {
    type Value = Properties;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of property values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Properties::new();
        while let Some(k) = map.next_key::<CompactString>()? {
            let v = map.next_value_seed(self.0)?;
            if out.insert(k, v).is_some() {
                return Err(de::Error::custom("duplicate key in a property map"));
            }
        }
        Ok(out)
    }
}

/// A minimal owned byte buffer that deserializes from a byte string.
mod serde_bytes_buf {
    use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
    use std::fmt;

    pub(super) struct ByteBuf(pub(super) Vec<u8>);

    impl<'de> Deserialize<'de> for ByteBuf {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_byte_buf(BufVisitor)
        }
    }

    struct BufVisitor;

    impl<'de> Visitor<'de> for BufVisitor {
        type Value = ByteBuf;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
            Ok(ByteBuf(v.to_vec()))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
            Ok(ByteBuf(v))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(ByteBuf(out))
        }
    }
}

/// Checks that a property map can be stored: non-empty keys, nesting no
/// deeper than [`MAX_DEPTH`].
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
/// offending key.
pub fn validate_properties(props: &crate::Properties) -> crate::Result<()> {
    for (k, v) in props {
        validate_property(k, v)?;
    }
    Ok(())
}

/// Checks one property (see [`validate_properties`]).
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
pub fn validate_property(key: &str, value: &PropertyValue) -> crate::Result<()> {
    if key.is_empty() {
        return Err(crate::Error::invalid("property keys must not be empty"));
    }
    if depth(value) > MAX_DEPTH {
        return Err(crate::Error::invalid(format!(
            "property {key:?} nests deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(())
}

fn depth(v: &PropertyValue) -> usize {
    match v {
        PropertyValue::List(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        PropertyValue::Map(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
