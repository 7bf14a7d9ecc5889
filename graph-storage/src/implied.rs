//! The entries a record implies: which label-index, property-index and
//! adjacency entries (`indices`) follow from a node or edge record. The one
//! rule for them: creation-only commits and bulk loads emit a new record's
//! entries ([`node_entries`], [`edge_entries`]), `reindex` re-derives the
//! property-index ones ([`index_entries`]), and the transaction path writes
//! the difference between what a record implied before and after
//! ([`node_implied`], [`edge_implied`]). `verify.rs` computes them on its
//! own, as the independent check of this rule.

use graph_core::codec::{self, AdjacencyKey, EdgeParts, SymbolId};
use graph_core::{ColumnFamily, EdgeId, NodeId, Properties, Result, Timestamp};

use crate::catalog::Catalog;

/// Every entry a new node adds, handed to `emit` in this order: its record
/// (`nodes`), then the entries its record implies ([`node_implied`]). The
/// one encoding of a node's creation, shared by creation-only commits and
/// bulk loads (`bulk.rs`), so both write the same bytes. `labels` must be
/// normalized and every input validated.
#[allow(clippy::too_many_arguments, reason = "the parts of one creation")]
pub(crate) fn node_entries<L: AsRef<str>>(
    id: NodeId,
    labels: &[L],
    properties: &Properties,
    now: Timestamp,
    symbol: impl FnMut(&str) -> Result<SymbolId>,
    catalog: &Catalog,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    scratch.clear();
    codec::encode_node_parts(id, labels, properties, now, now, scratch)?;
    emit(ColumnFamily::Nodes, &codec::node_key(id), scratch)?;
    node_implied(id, labels, properties, symbol, catalog, scratch, emit)
}

/// The entries a node record implies, handed to `emit`: per label its
/// label-index entry, then the property-index entries (`indices`, empty
/// values). The one rule for them: creations and bulk loads emit them
/// ([`node_entries`]), and the transaction path writes the difference
/// between a record's entries before and after (`txn.rs`). `verify.rs`
/// computes them on its own, as the independent check of this rule.
pub(crate) fn node_implied<L: AsRef<str>>(
    id: NodeId,
    labels: &[L],
    properties: &Properties,
    mut symbol: impl FnMut(&str) -> Result<SymbolId>,
    catalog: &Catalog,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    for label in labels {
        emit(
            ColumnFamily::Indices,
            &codec::label_key(symbol(label.as_ref())?, id),
            &[],
        )?;
    }
    index_entries(id, labels, properties, catalog, scratch, emit)
}

/// The property-index entries (`indices`) of node `id` under `catalog`,
/// handed to `emit`, label by label.
pub(crate) fn index_entries<L: AsRef<str>>(
    id: NodeId,
    labels: &[L],
    properties: &Properties,
    catalog: &Catalog,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    if catalog.is_empty() {
        return Ok(());
    }
    for label in labels {
        for (property, index) in catalog.on_label(label.as_ref()) {
            if let Some(value) = properties.get(property) {
                scratch.clear();
                codec::property_index_key(*index, value, id, scratch);
                emit(ColumnFamily::Indices, scratch, &[])?;
            }
        }
    }
    Ok(())
}

/// Every entry a new edge of type `ty` adds, handed to `emit`: its record
/// (`edges`), then the entries it implies ([`edge_implied`]). Shared like
/// [`node_entries`]; inputs must be validated.
pub(crate) fn edge_entries(
    edge: EdgeParts<'_>,
    ty: SymbolId,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    scratch.clear();
    codec::encode_edge_parts(edge, scratch)?;
    emit(ColumnFamily::Edges, &codec::edge_key(edge.id), scratch)?;
    edge_implied(edge.id, edge.src, edge.dst, ty, emit)
}

/// The entries an edge record of type `ty` implies, handed to `emit`: its
/// outgoing and incoming adjacency entries (`indices`, empty values). The
/// one rule for them, as [`node_implied`] is for nodes.
pub(crate) fn edge_implied(
    id: EdgeId,
    src: NodeId,
    dst: NodeId,
    ty: SymbolId,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let out = AdjacencyKey::outgoing(src, ty, dst, id);
    let inc = AdjacencyKey::incoming(dst, ty, src, id);
    emit(ColumnFamily::Indices, &out.encode(), &[])?;
    emit(ColumnFamily::Indices, &inc.encode(), &[])
}
