//! Creation-only commits, encoded before the writer lock is taken.
//!
//! Ingestion is creations: new nodes and new edges. Their records, label
//! and property-index entries and adjacency entries depend only on the
//! mutations themselves, the symbol dictionary and the index catalog, so
//! they are encoded on the committing caller's thread, in parallel with
//! other callers and with the write in progress. Under the writer lock only
//! what depends on the committed state remains: that edge endpoints exist
//! (usually answered by the known-nodes bitmap) and the counts.
//!
//! Errors keep the order semantics of the general path: the error returned
//! is the one of the earliest mutation that fails, whether it failed
//! validation here or an endpoint check at commit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use graph_core::codec::{self, AdjacencyKey, EdgeParts, SymbolId, meta};
use graph_core::{ColumnFamily, Error, NodeId, Properties, Result, Timestamp, WriteBatch};

use crate::catalog::Catalog;
use crate::mutation::Mutation;
use crate::txn::{normalize_labels, validate_name};

/// A creation-only commit, encoded.
pub(crate) struct Prepared {
    /// Records and every derived entry, without counts.
    pub(crate) batch: WriteBatch,
    /// Edge endpoints that must exist at commit: (mutation index, node),
    /// excluding nodes created earlier in the same commit.
    pub(crate) endpoints: Vec<(usize, NodeId)>,
    /// Nodes created.
    pub(crate) created: Vec<NodeId>,
    /// Edges created.
    pub(crate) edges: u64,
    /// The earliest mutation that failed validation, if any; mutations
    /// after it were not encoded.
    pub(crate) error: Option<(usize, Error)>,
    /// The catalog the property-index entries were computed with.
    pub(crate) catalog: Arc<Catalog>,
    /// The mutations, for the general path if the catalog changed meanwhile.
    pub(crate) mutations: Vec<Mutation>,
}

/// Whether `mutations` can take the creation-only path.
pub(crate) fn is_creation_only(mutations: &[Mutation]) -> bool {
    mutations.iter().all(|m| {
        matches!(
            m,
            Mutation::CreateNode { .. }
                | Mutation::CreateEdge { .. }
                | Mutation::MapExternalId { .. }
        )
    })
}

/// The distinct labels and edge types named by creations, in order of
/// first use: new symbols are numbered in this order, so two stores given
/// the same operations number them alike (a hash set's order would differ
/// from one set to the next).
pub(crate) fn names(mutations: &[Mutation]) -> Vec<&str> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for m in mutations {
        let named: &[String] = match m {
            Mutation::CreateNode { labels, .. } => labels,
            Mutation::CreateEdge { edge_type, .. } => std::slice::from_ref(edge_type),
            _ => &[],
        };
        for name in named {
            if !name.is_empty() && seen.insert(name) {
                out.push(name.as_str());
            }
        }
    }
    out
}

/// Encodes creation-only `mutations`. `symbols` must resolve every
/// non-empty label and edge type they name; `now` gives each mutation's
/// time stamp.
pub(crate) fn prepare(
    mutations: Vec<Mutation>,
    symbols: &HashMap<String, SymbolId>,
    catalog: Arc<Catalog>,
    mut now: impl FnMut() -> Timestamp,
) -> Prepared {
    let mut p = Prepared {
        batch: WriteBatch::with_capacity(mutations.len() * 3, mutations.len() * 128),
        endpoints: Vec::new(),
        created: Vec::new(),
        edges: 0,
        error: None,
        catalog,
        mutations: Vec::new(),
    };
    let mut scratch = Vec::with_capacity(256);
    let mut created: HashSet<NodeId> = HashSet::new();
    for (i, m) in mutations.iter().enumerate() {
        let outcome = match m {
            Mutation::CreateNode {
                id,
                labels,
                properties,
            } => encode_node(
                &mut p,
                *id,
                labels,
                properties,
                now(),
                symbols,
                &mut scratch,
            )
            .map(|()| {
                created.insert(*id);
            }),
            Mutation::CreateEdge {
                id,
                src,
                dst,
                edge_type,
                properties,
            } => {
                let t = now();
                let edge = EdgeParts {
                    id: *id,
                    src: *src,
                    dst: *dst,
                    edge_type,
                    properties,
                    created_at: t,
                    updated_at: t,
                };
                encode_edge(&mut p, edge, symbols, &mut scratch).map(|()| {
                    for end in [*src, *dst] {
                        if !created.contains(&end) {
                            p.endpoints.push((i, end));
                        }
                    }
                })
            }
            Mutation::MapExternalId {
                space,
                external,
                node,
            } => meta::external_id(space, external).map(|key| {
                p.batch.put(
                    ColumnFamily::Default,
                    &key,
                    &codec::encode_u64_value(node.0),
                );
                if !created.contains(node) {
                    p.endpoints.push((i, *node));
                }
            }),
            other => Err(Error::invalid(format!("not a creation: {other:?}"))),
        };
        if let Err(e) = outcome {
            p.error = Some((i, e));
            break;
        }
    }
    p.mutations = mutations;
    p
}

fn symbol(symbols: &HashMap<String, SymbolId>, name: &str) -> Result<SymbolId> {
    symbols
        .get(name)
        .copied()
        .ok_or_else(|| Error::Backend(format!("symbol {name:?} was not interned before encoding")))
}

fn encode_node(
    p: &mut Prepared,
    id: NodeId,
    labels: &[String],
    properties: &Properties,
    now: Timestamp,
    symbols: &HashMap<String, SymbolId>,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    let sorted;
    let labels = if is_normalized(labels) {
        labels
    } else {
        sorted = normalize_labels(labels.to_vec())?;
        &sorted[..]
    };
    for l in labels {
        validate_name("labels", l)?;
    }
    codec::value::validate_properties(properties)?;
    let batch = &mut p.batch;
    node_entries(
        id,
        labels,
        properties,
        now,
        |name| symbol(symbols, name),
        &p.catalog,
        scratch,
        |cf, k, v| {
            batch.put(cf, k, v);
            Ok(())
        },
    )?;
    p.created.push(id);
    Ok(())
}

fn is_normalized(labels: &[String]) -> bool {
    labels.windows(2).all(|w| w[0] < w[1])
}

fn encode_edge(
    p: &mut Prepared,
    edge: EdgeParts<'_>,
    symbols: &HashMap<String, SymbolId>,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    validate_name("edge types", edge.edge_type)?;
    codec::value::validate_properties(edge.properties)?;
    let ty = symbol(symbols, edge.edge_type)?;
    edge_entries(edge, ty, scratch, |cf, k, v| {
        p.batch.put(cf, k, v);
        Ok(())
    })?;
    p.edges += 1;
    Ok(())
}

/// Every entry a new node adds, handed to `emit` in this order: its record
/// (`nodes`), then per label its label-index entry and its property-index
/// entries (`indices`). The one encoding of a node's creation, shared by
/// creation-only commits and bulk loads (`bulk.rs`), so both write the same
/// bytes. `labels` must be normalized and every input validated.
#[allow(clippy::too_many_arguments, reason = "the parts of one creation")]
pub(crate) fn node_entries(
    id: NodeId,
    labels: &[String],
    properties: &Properties,
    now: Timestamp,
    mut symbol: impl FnMut(&str) -> Result<SymbolId>,
    catalog: &Catalog,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    scratch.clear();
    codec::encode_node_parts(id, labels, properties, now, now, scratch)?;
    emit(ColumnFamily::Nodes, &codec::node_key(id), scratch)?;
    for label in labels {
        emit(
            ColumnFamily::Indices,
            &codec::label_key(symbol(label)?, id),
            &[],
        )?;
        for (property, index) in catalog.on_label(label) {
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
/// (`edges`), then its outgoing and incoming adjacency entries
/// (`indices`). Shared like [`node_entries`]; inputs must be validated.
pub(crate) fn edge_entries(
    edge: EdgeParts<'_>,
    ty: SymbolId,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(ColumnFamily, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    scratch.clear();
    codec::encode_edge_parts(edge, scratch)?;
    emit(ColumnFamily::Edges, &codec::edge_key(edge.id), scratch)?;
    let out = AdjacencyKey::outgoing(edge.src, ty, edge.dst, edge.id);
    let inc = AdjacencyKey::incoming(edge.dst, ty, edge.src, edge.id);
    emit(ColumnFamily::Indices, &out.encode(), &[])?;
    emit(ColumnFamily::Indices, &inc.encode(), &[])
}
