//! [`Properties`]: the property map of nodes, edges and map values.
//!
//! A vector of `(key, value)` pairs kept sorted by key, without duplicate
//! keys, and keys stored inline when short ([`CompactString`]): a node's
//! few properties cost one allocation, where a `BTreeMap<String, _>` cost
//! one for its leaf and one per key. Lookups are binary searches; an insert
//! of a new key shifts the entries after it (property maps are small).
//!
//! It behaves as the ordered map it replaces: iteration in key order,
//! `insert` replaces and returns the old value, building from pairs keeps
//! the last value of a repeated key. It encodes as a serde map, entries in
//! key order, so its bytes are those of the `BTreeMap` it replaces.

use std::fmt;
use std::ops::Index;

use compact_str::CompactString;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::PropertyValue;

/// An ordered map from property key to value (see the
/// [module](self) documentation).
///
/// Ordered so that encoding is deterministic: the same map always encodes
/// to the same bytes.
#[derive(Clone, Default, PartialEq)]
pub struct Properties {
    /// Sorted by key, keys unique.
    entries: Vec<(CompactString, PropertyValue)>,
}

impl Properties {
    /// An empty map.
    pub const fn new() -> Self {
        Properties {
            entries: Vec::new(),
        }
    }

    /// An empty map with room for `n` properties.
    pub fn with_capacity(n: usize) -> Self {
        Properties {
            entries: Vec::with_capacity(n),
        }
    }

    /// How many properties the map holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map holds no property.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`, if the map has it.
    pub fn get(&self, key: &str) -> Option<&PropertyValue> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, mutably, if the map has it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut PropertyValue> {
        match self.find(key) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    /// Whether the map has `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced, if any.
    pub fn insert(
        &mut self,
        key: impl Into<CompactString>,
        value: PropertyValue,
    ) -> Option<PropertyValue> {
        let key = key.into();
        // Appending in key order (decoding, building from sorted input)
        // skips the search.
        if self.entries.last().is_none_or(|(last, _)| *last < key) {
            self.entries.push((key, value));
            return None;
        }
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value, if the map had it.
    pub fn remove(&mut self, key: &str) -> Option<PropertyValue> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Removes every property.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Keeps only the properties for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut PropertyValue) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The properties in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &CompactString> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &PropertyValue> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in key order, mutably.
    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut PropertyValue> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Sorts `entries` by key; of a repeated key the last value wins.
    fn from_vec(mut entries: Vec<(CompactString, PropertyValue)>) -> Self {
        if entries.windows(2).all(|w| w[0].0 < w[1].0) {
            return Properties { entries };
        }
        // Stable: equal keys keep their input order, and the last is kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(CompactString, PropertyValue)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        Properties { entries: out }
    }
}

/// The properties of a [`Properties`] in key order: `(key, value)`.
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (CompactString, PropertyValue)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a CompactString, &'a PropertyValue);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a CompactString, &'a PropertyValue);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Properties {
    type Item = (CompactString, PropertyValue);
    type IntoIter = std::vec::IntoIter<(CompactString, PropertyValue)>;

    /// The properties in key order, owned.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Into<CompactString>> FromIterator<(K, PropertyValue)> for Properties {
    /// Builds the map; of a repeated key the last value wins.
    fn from_iter<I: IntoIterator<Item = (K, PropertyValue)>>(iter: I) -> Self {
        Properties::from_vec(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl<K: Into<CompactString>> Extend<(K, PropertyValue)> for Properties {
    fn extend<I: IntoIterator<Item = (K, PropertyValue)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<CompactString>, const N: usize> From<[(K, PropertyValue); N]> for Properties {
    /// Builds the map; of a repeated key the last value wins.
    fn from(pairs: [(K, PropertyValue); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Into<CompactString>> From<std::collections::BTreeMap<K, PropertyValue>> for Properties {
    fn from(map: std::collections::BTreeMap<K, PropertyValue>) -> Self {
        map.into_iter().collect()
    }
}

impl Index<&str> for Properties {
    type Output = PropertyValue;

    /// The value of `key`.
    ///
    /// # Panics
    /// If the map has no `key` (as a `BTreeMap` does); use
    /// [`get`](Properties::get) where it may be missing.
    fn index(&self, key: &str) -> &PropertyValue {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no property {key:?}"),
        }
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Properties {
    /// A map of `len` entries in key order: the bytes of the
    /// `BTreeMap<String, PropertyValue>` it replaces.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            m.serialize_entry(k.as_str(), v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Properties {
    /// Reads a map in any key order; of a repeated key the last value wins
    /// (as a `BTreeMap` decoded the same bytes).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PropertiesVisitor)
    }
}

struct PropertiesVisitor;

impl<'de> Visitor<'de> for PropertiesVisitor {
    type Value = Properties;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of properties")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
        // Never trust a length read from disk for preallocation.
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some((k, v)) = map.next_entry::<CompactString, PropertyValue>()? {
            entries.push((k, v));
        }
        Ok(Properties::from_vec(entries))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// Keys from a small alphabet, so that they collide and share
    /// prefixes; some longer than the 24 bytes kept inline.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ab]{0,3}",
            "[ab]{22,26}",
            Just("\u{e9}".to_owned()),
            Just("a\u{0}".to_owned()),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, i64),
        Remove(String),
        Retain(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (key(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            key().prop_map(Op::Remove),
            (1i64..4).prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// Every operation answers as a `BTreeMap` does, and both encode
        /// to the same bytes.
        #[test]
        fn behaves_as_a_btreemap(
            init in proptest::collection::vec((key(), any::<i64>()), 0..12),
            ops in proptest::collection::vec(op(), 0..40),
        ) {
            let int = PropertyValue::Int;
            let mut model: BTreeMap<String, PropertyValue> =
                init.iter().map(|(k, v)| (k.clone(), int(*v))).collect();
            let mut map: Properties = init.iter().map(|(k, v)| (k.as_str(), int(*v))).collect();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(map.insert(k.as_str(), int(v)), model.insert(k, int(v))),
                    Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                    Op::Retain(m) => {
                        let keep = |v: &PropertyValue| !matches!(v, PropertyValue::Int(i) if i % m == 0);
                        map.retain(|_, v| keep(v));
                        model.retain(|_, v| keep(v));
                    }
                }
                prop_assert_eq!(map.len(), model.len());
                prop_assert!(map.iter().map(|(k, v)| (k.as_str(), v)).eq(model.iter().map(|(k, v)| (k.as_str(), v))));
                for (k, v) in &model {
                    prop_assert_eq!(map.get(k), Some(v));
                    prop_assert!(map.contains_key(k));
                }
            }
            let config = bincode::config::standard();
            let ours = bincode::serde::encode_to_vec(&map, config).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let theirs = bincode::serde::encode_to_vec(&model, config).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&ours, &theirs);
            let (back, _): (Properties, usize) = bincode::serde::decode_from_slice(&ours, config)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, map);
        }

        /// Bytes of a map whose keys are out of order or repeated decode
        /// as a `BTreeMap` decodes them: sorted, the last value winning.
        #[test]
        fn decodes_any_key_order_as_a_btreemap(
            pairs in proptest::collection::vec((key(), any::<i64>()), 0..12),
        ) {
            let config = bincode::config::standard();
            let bytes = bincode::serde::encode_to_vec(UnsortedMap(&pairs), config)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (ours, _): (Properties, usize) = bincode::serde::decode_from_slice(&bytes, config)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (theirs, _): (BTreeMap<String, PropertyValue>, usize) =
                bincode::serde::decode_from_slice(&bytes, config)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(ours, Properties::from(theirs));
        }
    }

    /// A serde map of these pairs in this order, repeats and all.
    struct UnsortedMap<'a>(&'a [(String, i64)]);

    impl Serialize for UnsortedMap<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                m.serialize_entry(k, &PropertyValue::Int(*v))?;
            }
            m.end()
        }
    }

    #[test]
    fn index_get_and_debug_read_like_a_map() {
        let p = Properties::from([("b", PropertyValue::Int(2)), ("a", PropertyValue::Null)]);
        assert_eq!(p["b"], PropertyValue::Int(2));
        assert_eq!(p.get("c"), None);
        assert_eq!(format!("{p:?}"), r#"{"a": Null, "b": Int(2)}"#);
        assert_eq!(
            p.keys().map(CompactString::as_str).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
