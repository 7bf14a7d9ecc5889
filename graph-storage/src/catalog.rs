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
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    by_name: HashMap<Arc<str>, SymbolId>,
    by_id: HashMap<SymbolId, Arc<str>>,
    /// The next id to hand out.
    pub(crate) next: u32,
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
