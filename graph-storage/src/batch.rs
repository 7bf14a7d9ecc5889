//! [`GraphBatch`]: many mutations, one atomic commit.

use std::sync::Arc;

use graph_core::codec::{EdgeParts, SymbolId};
use graph_core::{
    CompactString, EdgeId, Error, NodeId, Precondition, Properties, PropertyValue, Result,
    StorageBackend, WriteBatch,
};

use crate::catalog::Catalog;
use crate::mutation::Mutation;
use crate::pipeline::CommitPipeline;
use crate::prepare::{self, Encoder, Resolved};

/// Mutations collected for one atomic commit, for ingestion and for
/// changes that must happen together.
///
/// Ids are reserved from the store when a node or edge is added, so later
/// mutations in the same batch can refer to them. Mutations apply in order
/// at [`commit`](GraphBatch::commit), each seeing the ones before it; if any
/// fails, nothing of the batch is written. Ids of a batch that fails or is
/// dropped are never reused.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use graph_storage::{GraphStore, MemoryBackend, Properties};
///
/// let store = GraphStore::open(MemoryBackend::new())?;
/// let mut batch = store.batch();
/// let a = batch.create_node(&["City"], Properties::new())?;
/// let b = batch.create_node(&["City"], Properties::new())?;
/// batch.create_edge(a, b, "ROAD", Properties::new())?;
/// batch.commit()?;
/// assert_eq!(store.edge_count()?, 1);
/// # }
/// # Ok::<(), graph_storage::Error>(())
/// ```
#[must_use = "a batch does nothing until committed"]
pub struct GraphBatch<'s, B: StorageBackend> {
    store: &'s CommitPipeline<B>,
    pending: Pending,
    /// The number of mutations added.
    len: usize,
    /// Set when a creation was pushed with its own id; fails the commit.
    refused: Option<Error>,
}

/// What a batch holds until its commit.
enum Pending {
    /// Only creations and external-id mappings so far, each encoded when it
    /// was added (its record, index and adjacency entries), so the batch
    /// holds bytes rather than the caller's owned values: ingestion keeps
    /// nothing alive per item, and the commit only sorts and writes.
    Encoded(Box<Creations>),
    /// Any mutations, applied in order at commit (the general path).
    Mutations(Vec<Mutation>),
}

/// The creations of a batch, encoded as they were added.
struct Creations {
    encoder: Encoder,
    /// The ids of the labels and edge types named so far.
    symbols: Resolved,
    /// The index catalog of the first creation, used for all of them (a
    /// commit after the catalog changed re-derives the index entries).
    catalog: Option<Arc<Catalog>>,
}

impl Creations {
    /// The encoder, the symbols resolved so far and the catalog to encode
    /// with; the first call takes a pooled write batch and the store's
    /// current catalog.
    fn begin<B: StorageBackend>(
        &mut self,
        store: &CommitPipeline<B>,
    ) -> (&mut Encoder, &mut Resolved, &Catalog) {
        let Creations {
            encoder,
            symbols,
            catalog,
        } = self;
        let catalog = catalog.get_or_insert_with(|| {
            encoder.batch = store.batches().take();
            store.current_catalog()
        });
        (encoder, symbols, catalog)
    }
}

/// The id of `name` from `resolved`, else from the store (interning it
/// if new), remembered in `resolved`.
fn resolve<B: StorageBackend>(
    store: &CommitPipeline<B>,
    resolved: &mut Resolved,
    name: &str,
) -> Result<SymbolId> {
    if let Some(id) = resolved.get(name) {
        return Ok(id);
    }
    let id = store.symbol_id(name)?;
    resolved.insert(name, id);
    Ok(id)
}

impl<'s, B: StorageBackend> GraphBatch<'s, B> {
    pub(crate) fn new(store: &'s CommitPipeline<B>) -> Self {
        GraphBatch {
            store,
            pending: Pending::Encoded(Box::new(Creations {
                encoder: Encoder::new(WriteBatch::new()),
                symbols: Resolved::default(),
                catalog: None,
            })),
            len: 0,
            refused: None,
        }
    }

    /// Adds a node creation and returns the node's reserved id.
    ///
    /// The node is validated and encoded here, and its time stamp read
    /// from the store's clock; an invalid label or property does not fail
    /// this call but the commit (with the error of the earliest failing
    /// mutation). A label the store has never seen is added to its
    /// dictionary now, even if the batch is never committed.
    ///
    /// # Errors
    /// Only when a new block of ids must be leased and the lease cannot be
    /// persisted (a backend write error).
    pub fn create_node(&mut self, labels: &[&str], properties: Properties) -> Result<NodeId> {
        let id = self.store.reserve_node_id()?;
        let i = self.len;
        self.len += 1;
        match &mut self.pending {
            Pending::Mutations(ops) => ops.push(Mutation::CreateNode {
                id,
                labels: sorted_labels(labels),
                properties,
            }),
            Pending::Encoded(c) => {
                if c.encoder.failed() {
                    return Ok(id);
                }
                let now = self.store.clock().now();
                let store = self.store;
                let (encoder, symbols, catalog) = c.begin(store);
                let encoded = encoder.node(
                    id,
                    labels,
                    &properties,
                    now,
                    |name| resolve(store, symbols, name),
                    catalog,
                );
                if let Err(e) = encoded {
                    encoder.fail(i, e);
                }
            }
        }
        Ok(id)
    }

    /// Adds an edge creation and returns the edge's reserved id. The
    /// endpoints are checked at commit.
    ///
    /// Encoded here, as [`create_node`](Self::create_node) describes.
    ///
    /// # Errors
    /// As [`create_node`](Self::create_node).
    pub fn create_edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        edge_type: &str,
        properties: Properties,
    ) -> Result<EdgeId> {
        let id = self.store.reserve_edge_id()?;
        let i = self.len;
        self.len += 1;
        match &mut self.pending {
            Pending::Mutations(ops) => ops.push(Mutation::CreateEdge {
                id,
                src,
                dst,
                edge_type: edge_type.to_owned(),
                properties,
            }),
            Pending::Encoded(c) => {
                if c.encoder.failed() {
                    return Ok(id);
                }
                let now = self.store.clock().now();
                let edge = EdgeParts {
                    id,
                    src,
                    dst,
                    edge_type,
                    properties: &properties,
                    created_at: now,
                    updated_at: now,
                };
                let store = self.store;
                let (encoder, symbols, _) = c.begin(store);
                if let Err(e) = encoder.edge(i, edge, |name| resolve(store, symbols, name)) {
                    encoder.fail(i, e);
                }
            }
        }
        Ok(id)
    }

    /// Adds a mutation that is not a creation: from here on the batch
    /// holds mutations (the creations encoded so far are decoded back).
    fn push_other(&mut self, mutation: Mutation) {
        let i = self.len;
        self.len += 1;
        if let Pending::Encoded(c) = &mut self.pending {
            if c.encoder.failed() {
                // The commit fails at or before that creation anyway.
                return;
            }
            let decoded = prepare::creations_of(&c.encoder.batch);
            let batch = std::mem::take(&mut c.encoder.batch);
            if c.catalog.is_some() {
                self.store.batches().give(batch);
            }
            match decoded {
                Ok(ops) => self.pending = Pending::Mutations(ops),
                Err(e) => {
                    c.encoder.fail(i, e);
                    return;
                }
            }
        }
        if let Pending::Mutations(ops) = &mut self.pending {
            ops.push(mutation);
        }
    }

    /// Adds a property change of a node.
    pub fn set_node_property(&mut self, id: NodeId, key: &str, value: PropertyValue) {
        self.push_other(Mutation::SetNodeProperty {
            id,
            key: key.to_owned(),
            value,
        });
    }

    /// Adds a property change of an edge.
    pub fn set_edge_property(&mut self, id: EdgeId, key: &str, value: PropertyValue) {
        self.push_other(Mutation::SetEdgeProperty {
            id,
            key: key.to_owned(),
            value,
        });
    }

    /// Adds a node deletion (with `detach`, of its edges too).
    pub fn delete_node(&mut self, id: NodeId, detach: bool) {
        self.push_other(Mutation::DeleteNode { id, detach });
    }

    /// Adds an edge deletion.
    pub fn delete_edge(&mut self, id: EdgeId) {
        self.push_other(Mutation::DeleteEdge { id });
    }

    /// Adds any mutation but a creation. Creations must use
    /// [`create_node`](Self::create_node) and [`create_edge`](Self::create_edge),
    /// whose ids come from the store; a creation pushed here makes
    /// [`commit`](Self::commit) fail with [`Error::InvalidArgument`] (to
    /// replay creations with their ids, use
    /// [`GraphStore::apply`](crate::GraphStore::apply)).
    pub fn push(&mut self, mutation: Mutation) {
        match mutation {
            Mutation::CreateNode { .. } | Mutation::CreateEdge { .. } => {
                self.refused.get_or_insert_with(|| {
                    Error::invalid("creations in a batch must use create_node or create_edge")
                });
            }
            Mutation::MapExternalId {
                space,
                external,
                node,
            } => self.map_external_id(&space, &external, node),
            other => self.push_other(other),
        }
    }

    /// Adds a mapping of `external` in id space `space` to `node` (see
    /// [`Mutation::MapExternalId`]); batches of creations and mappings stay
    /// on the fast creation path.
    pub fn map_external_id(&mut self, space: &str, external: &str, node: NodeId) {
        let i = self.len;
        self.len += 1;
        match &mut self.pending {
            Pending::Mutations(ops) => ops.push(Mutation::MapExternalId {
                space: space.to_owned(),
                external: external.to_owned(),
                node,
            }),
            Pending::Encoded(c) => {
                if c.encoder.failed() {
                    return;
                }
                let (encoder, _, _) = c.begin(self.store);
                if let Err(e) = encoder.map(i, space, external, node) {
                    encoder.fail(i, e);
                }
            }
        }
    }

    /// Adds the removal of a node property (no-op when absent).
    pub fn remove_node_property(&mut self, id: NodeId, key: &str) {
        self.push_other(Mutation::RemoveNodeProperty {
            id,
            key: key.to_owned(),
        });
    }

    /// Adds a label to a node (no-op when present).
    pub fn add_label(&mut self, id: NodeId, label: &str) {
        self.push_other(Mutation::AddLabel {
            id,
            label: label.to_owned(),
        });
    }

    /// Removes a label from a node (no-op when absent).
    pub fn remove_label(&mut self, id: NodeId, label: &str) {
        self.push_other(Mutation::RemoveLabel {
            id,
            label: label.to_owned(),
        });
    }

    /// Adds the removal of an edge property (no-op when absent).
    pub fn remove_edge_property(&mut self, id: EdgeId, key: &str) {
        self.push_other(Mutation::RemoveEdgeProperty {
            id,
            key: key.to_owned(),
        });
    }

    /// The number of mutations.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no mutation.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Applies every mutation as one atomic commit.
    ///
    /// # Errors
    /// The first failing mutation's error, or the backend's write error;
    /// nothing of the batch is written then.
    pub fn commit(self) -> Result<()> {
        if let Some(e) = self.refused {
            return Err(e);
        }
        match self.pending {
            Pending::Mutations(ops) => self.store.commit_mutations(ops),
            Pending::Encoded(_) if self.len == 0 => Ok(()),
            Pending::Encoded(c) => {
                let catalog = c.catalog.unwrap_or_else(|| self.store.current_catalog());
                self.store.commit_encoded(c.encoder.into_prepared(catalog))
            }
        }
    }
}

impl<B: StorageBackend> GraphBatch<'_, B> {
    /// Applies every mutation as one atomic commit if every one of
    /// `preconditions` holds on the state they apply to (checked under
    /// the writer lock, atomically with the write): "create the edge only
    /// if the node has none of this type", "set the counter to 6 only if
    /// it is still 5". With no preconditions, as [`commit`](Self::commit).
    ///
    /// # Errors
    /// [`Error::PreconditionFailed`] naming the first precondition that
    /// does not hold; otherwise as [`commit`](Self::commit). Nothing of
    /// the batch is written on any error.
    pub fn commit_if(self, preconditions: Vec<Precondition>) -> Result<()> {
        if preconditions.is_empty() {
            return self.commit();
        }
        if let Some(e) = self.refused {
            return Err(e);
        }
        let mutations = match self.pending {
            Pending::Mutations(ops) => ops,
            Pending::Encoded(c) => {
                let catalog = c.catalog.unwrap_or_else(|| self.store.current_catalog());
                let prepared = c.encoder.into_prepared(catalog);
                if let Some((_, e)) = prepared.error {
                    self.store.batches().give(prepared.batch);
                    return Err(e);
                }
                let decoded = prepare::creations_of(&prepared.batch);
                self.store.batches().give(prepared.batch);
                decoded?
            }
        };
        self.store
            .commit_conditional(preconditions, mutations, false, None)
    }
}

/// Labels as owned strings, sorted and deduplicated (validated at commit).
pub(crate) fn sorted_labels(labels: &[&str]) -> Vec<CompactString> {
    let mut out: Vec<CompactString> = labels.iter().map(|l| CompactString::new(l)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use graph_core::{Direction, ErrorKind, Properties, PropertyValue as V, Result};
    use storage_memory::MemoryBackend;

    use crate::GraphStore;

    fn props(v: i64) -> Properties {
        Properties::from([("v".to_owned(), V::Int(v))])
    }

    fn store() -> Result<GraphStore<MemoryBackend>> {
        GraphStore::open(MemoryBackend::new())
    }

    /// A batch given a change after its creations takes the general path
    /// with the creations decoded back: the outcome is that of applying
    /// the mutations in order.
    #[test]
    fn a_change_after_creations_applies_them_all_in_order() -> Result<()> {
        let s = store()?;
        let mut b = s.batch();
        let a = b.create_node(&["B", "A", "B"], props(1))?;
        let c = b.create_node(&[], Properties::new())?;
        let e = b.create_edge(a, c, "T", props(2))?;
        b.map_external_id("s", "x", c);
        b.set_node_property(a, "w", V::from("new"));
        b.add_label(c, "C");
        b.set_edge_property(e, "v", V::Int(3));
        assert_eq!(b.len(), 7);
        b.commit()?;
        let node = s
            .get_node(a)?
            .ok_or("a missing")
            .map_err(graph_core::Error::invalid)?;
        assert_eq!(node.labels, ["A", "B"]);
        assert_eq!(node.properties.get("v"), Some(&V::Int(1)));
        assert_eq!(node.properties.get("w"), Some(&V::from("new")));
        assert_eq!(s.nodes_with_label("C")?, [c]);
        let edge = s
            .get_edge(e)?
            .ok_or("e missing")
            .map_err(graph_core::Error::invalid)?;
        assert_eq!((edge.src, edge.dst, edge.edge_type.as_str()), (a, c, "T"));
        assert_eq!(edge.properties.get("v"), Some(&V::Int(3)));
        assert_eq!(s.external_id("s", "x")?, Some(c));
        assert_eq!(s.neighbors(a, Direction::Outgoing, None)?, [c]);
        assert_eq!((s.node_count()?, s.edge_count()?), (2, 1));
        assert!(s.verify()?.is_clean());
        Ok(())
    }

    /// Creations encoded before an index was created or dropped get the
    /// index entries of the catalog at commit.
    #[test]
    fn creations_encoded_before_an_index_change_follow_the_new_catalog() -> Result<()> {
        let s = store()?;
        let mut b = s.batch();
        let first = b.create_node(&["P"], props(7))?;
        s.create_index("P", "v")?;
        let second = b.create_node(&["P"], props(7))?;
        b.commit()?;
        let mut found = s.find_nodes("P", "v", &V::Int(7))?;
        found.sort();
        assert_eq!(found, [first, second]);
        assert!(s.verify()?.is_clean());

        let mut b = s.batch();
        let third = b.create_node(&["P"], props(7))?;
        s.drop_index("P", "v")?;
        b.commit()?;
        assert_eq!(s.nodes_with_label("P")?.len(), 3);
        assert_eq!(
            s.find_nodes("P", "v", &V::Int(7)).map_err(|e| e.kind()),
            Err(ErrorKind::IndexNotFound)
        );
        // No entry of the dropped index was written for the third node.
        let report = s.verify()?;
        assert!(report.is_clean(), "{report}");
        s.create_index("P", "v")?;
        assert_eq!(s.find_nodes("P", "v", &V::Int(7))?.len(), 3);
        assert!(s.get_node(third)?.is_some());
        Ok(())
    }

    /// The error of a failed batch is its earliest failing mutation's,
    /// whether found while encoding (an empty label) or at commit (a
    /// missing endpoint); nothing is written.
    #[test]
    fn the_earliest_failure_wins_and_nothing_is_written() -> Result<()> {
        let s = store()?;
        let missing = graph_core::NodeId(1 << 40);
        // A missing endpoint before an invalid label.
        let mut b = s.batch();
        let a = b.create_node(&["A"], Properties::new())?;
        b.create_edge(a, missing, "T", Properties::new())?;
        b.create_node(&[""], Properties::new())?;
        assert_eq!(
            b.commit().map_err(|e| e.kind()),
            Err(ErrorKind::NodeNotFound)
        );
        // An invalid edge type before a missing endpoint, and a change
        // after both (ignored: the batch fails before it).
        let mut b = s.batch();
        let a = b.create_node(&["A"], Properties::new())?;
        b.create_edge(a, a, "", Properties::new())?;
        b.create_edge(a, missing, "T", Properties::new())?;
        b.set_node_property(a, "k", V::Int(1));
        assert_eq!(b.len(), 4);
        assert_eq!(
            b.commit().map_err(|e| e.kind()),
            Err(ErrorKind::InvalidArgument)
        );
        assert_eq!((s.node_count()?, s.edge_count()?), (0, 0));
        assert!(s.nodes_with_label("A")?.is_empty());
        // An empty batch and a dropped one write nothing.
        s.batch().commit()?;
        let mut dropped = s.batch();
        dropped.create_node(&["A"], Properties::new())?;
        drop(dropped);
        assert_eq!(s.node_count()?, 0);
        Ok(())
    }
}
