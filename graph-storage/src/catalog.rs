//! In-memory copies of the symbol dictionary and the index catalog.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use graph_core::codec::{self, IndexDef, IndexId, SymbolId, meta};
use graph_core::{ColumnFamily, Error, ReadView, Result, ScanDirection};

/// The interned names of labels and edge types.
///
/// Append-only: a symbol, once committed, is never removed or renumbered,
/// so readers of any snapshot can resolve every id they meet.
#[derive(Debug, Default, Clone)]
pub(crate) struct Symbols {
    by_name: HashMap<Arc<str>, SymbolId>,
    by_id: HashMap<SymbolId, Arc<str>>,
    /// The next id to hand out.
    pub(crate) next: u32,
}

/// Hands out the symbol id `next` and moves `next` on: the one rule every
/// path that numbers labels and edge types follows (commits, the
/// transaction path, bulk loads). Ids count up from 0; the id after the
/// one handed out must fit a `u32`, so a store holds at most `u32::MAX`
/// symbols and id `u32::MAX` is never used.
///
/// # Errors
/// [`Error::InvalidArgument`] when the ids are exhausted (nothing is
/// handed out).
pub(crate) fn allocate_symbol(next: &mut u32) -> Result<SymbolId> {
    let id = SymbolId(*next);
    *next = next.checked_add(1).ok_or_else(|| {
        Error::invalid(format!(
            "symbol ids exhausted: a store holds at most {} labels and edge types",
            u32::MAX
        ))
    })?;
    Ok(id)
}

/// The two dictionary entries (family `default`) of symbol `id` named
/// `name`: name to id and id to name.
pub(crate) fn symbol_entries(name: &str, id: SymbolId) -> [(Vec<u8>, Vec<u8>); 2] {
    [
        (
            meta::symbol_by_name(name),
            codec::encode_u32_value(id.0).to_vec(),
        ),
        (meta::symbol_by_id(id).to_vec(), name.as_bytes().to_vec()),
    ]
}

impl Symbols {
    /// Loads the dictionary from `view`.
    pub(crate) fn load(view: &impl ReadView, next: u32) -> Result<Self> {
        let mut s = Symbols {
            next,
            ..Symbols::default()
        };
        view.scan_prefix(
            ColumnFamily::Default,
            &[meta::TAG_SYMBOL_BY_ID],
            ScanDirection::Forward,
            &mut |k, v| {
                let id = meta::decode_symbol_by_id_key(k)?;
                let name = std::str::from_utf8(v).map_err(|_| {
                    Error::corruption(ColumnFamily::Default, k, "symbol name is not UTF-8")
                })?;
                if id.0 >= next {
                    return Err(Error::corruption(
                        ColumnFamily::Default,
                        k,
                        format!("symbol id {} not below the next id {next}", id.0),
                    ));
                }
                s.insert(name.into(), id);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(s)
    }

    pub(crate) fn id(&self, name: &str) -> Option<SymbolId> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn name(&self, id: SymbolId) -> Option<&Arc<str>> {
        self.by_id.get(&id)
    }

    pub(crate) fn insert(&mut self, name: Arc<str>, id: SymbolId) {
        self.by_name.insert(Arc::clone(&name), id);
        self.by_id.insert(id, name);
    }
}

/// The declared property indexes.
#[derive(Debug, Default, Clone)]
pub(crate) struct Catalog {
    pub(crate) by_id: BTreeMap<IndexId, IndexDef>,
    /// label -> [(property, index id)]
    by_label: HashMap<String, Vec<(String, IndexId)>>,
}

impl Catalog {
    /// Whether `other` declares the same indexes under the same ids.
    pub(crate) fn same_as(&self, other: &Catalog) -> bool {
        self.by_id == other.by_id
    }

    /// Loads the catalog from `view`.
    pub(crate) fn load(view: &impl ReadView) -> Result<Self> {
        let mut c = Catalog::default();
        view.scan_prefix(
            ColumnFamily::Default,
            &[meta::TAG_INDEX],
            ScanDirection::Forward,
            &mut |k, v| {
                let id = meta::decode_index_def_key(k)?;
                c.insert(id, codec::decode_index_def(k, v)?);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(c)
    }

    pub(crate) fn insert(&mut self, id: IndexId, def: IndexDef) {
        self.by_label
            .entry(def.label.clone())
            .or_default()
            .push((def.property.clone(), id));
        self.by_id.insert(id, def);
    }

    pub(crate) fn remove(&mut self, id: IndexId) {
        if let Some(def) = self.by_id.remove(&id)
            && let Some(list) = self.by_label.get_mut(&def.label)
        {
            list.retain(|(_, i)| *i != id);
            if list.is_empty() {
                self.by_label.remove(&def.label);
            }
        }
    }

    /// The index on (label, property), if declared.
    pub(crate) fn find(&self, label: &str, property: &str) -> Option<IndexId> {
        self.by_label
            .get(label)?
            .iter()
            .find(|(p, _)| p == property)
            .map(|(_, id)| *id)
    }

    /// The indexes on `label`: (property, id).
    pub(crate) fn on_label(&self, label: &str) -> &[(String, IndexId)] {
        // Asked for every label of every created node: a store without
        // indexes answers without hashing the label.
        if self.by_label.is_empty() {
            return &[];
        }
        self.by_label.get(label).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids count up to `u32::MAX - 1`; then every path fails alike,
    /// without wrapping or repeating an id.
    #[test]
    fn symbol_ids_end_with_an_error_not_a_wrap() -> Result<()> {
        let mut next = 0;
        assert_eq!(allocate_symbol(&mut next)?, SymbolId(0));
        assert_eq!(next, 1);
        let mut next = u32::MAX - 1;
        assert_eq!(allocate_symbol(&mut next)?, SymbolId(u32::MAX - 1));
        assert_eq!(next, u32::MAX);
        let e = allocate_symbol(&mut next).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.kind() == graph_core::ErrorKind::InvalidArgument
                    && e.to_string().contains("symbol ids exhausted")),
            "{e:?}"
        );
        assert_eq!(next, u32::MAX, "a failed allocation hands nothing out");
        let [(k1, v1), (k2, v2)] = symbol_entries("Person", SymbolId(7));
        assert_eq!(k1, meta::symbol_by_name("Person"));
        assert_eq!(v1, codec::encode_u32_value(7).to_vec());
        assert_eq!(k2, meta::symbol_by_id(SymbolId(7)).to_vec());
        assert_eq!(v2, b"Person".to_vec());
        Ok(())
    }
}
