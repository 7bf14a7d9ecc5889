//! [`GraphBatch`]: many mutations, one atomic commit.

use graph_core::{EdgeId, Error, NodeId, Properties, PropertyValue, Result, StorageBackend};

use crate::mutation::Mutation;
use crate::store::GraphStore;

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
    store: &'s GraphStore<B>,
    ops: Vec<Mutation>,
    /// Set when a creation was pushed with its own id; fails the commit.
    refused: Option<Error>,
}

impl<'s, B: StorageBackend> GraphBatch<'s, B> {
    pub(crate) fn new(store: &'s GraphStore<B>) -> Self {
        GraphBatch {
            store,
            ops: Vec::new(),
            refused: None,
        }
    }

    /// Adds a node creation and returns the node's reserved id.
    ///
    /// # Errors
    /// Only when a new block of ids must be leased and the lease cannot be
    /// persisted (a backend write error).
    pub fn create_node(&mut self, labels: &[&str], properties: Properties) -> Result<NodeId> {
        let id = self.store.reserve_node_id()?;
        self.ops.push(Mutation::CreateNode {
            id,
            labels: sorted_labels(labels),
            properties,
        });
        Ok(id)
    }

    /// Adds an edge creation and returns the edge's reserved id. The
    /// endpoints are checked at commit.
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
        self.ops.push(Mutation::CreateEdge {
            id,
            src,
            dst,
            edge_type: edge_type.to_owned(),
            properties,
        });
        Ok(id)
    }

    /// Adds a property change of a node.
    pub fn set_node_property(&mut self, id: NodeId, key: &str, value: PropertyValue) {
        self.ops.push(Mutation::SetNodeProperty {
            id,
            key: key.to_owned(),
            value,
        });
    }

    /// Adds a property change of an edge.
    pub fn set_edge_property(&mut self, id: EdgeId, key: &str, value: PropertyValue) {
        self.ops.push(Mutation::SetEdgeProperty {
            id,
            key: key.to_owned(),
            value,
        });
    }

    /// Adds a node deletion (with `detach`, of its edges too).
    pub fn delete_node(&mut self, id: NodeId, detach: bool) {
        self.ops.push(Mutation::DeleteNode { id, detach });
    }

    /// Adds an edge deletion.
    pub fn delete_edge(&mut self, id: EdgeId) {
        self.ops.push(Mutation::DeleteEdge { id });
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
            other => self.ops.push(other),
        }
    }

    /// Adds a mapping of `external` in id space `space` to `node` (see
    /// [`Mutation::MapExternalId`]); creation-only batches that add mappings
    /// stay on the fast creation path.
    pub fn map_external_id(&mut self, space: &str, external: &str, node: NodeId) {
        self.ops.push(Mutation::MapExternalId {
            space: space.to_owned(),
            external: external.to_owned(),
            node,
        });
    }

    /// Adds the removal of a node property (no-op when absent).
    pub fn remove_node_property(&mut self, id: NodeId, key: &str) {
        self.ops.push(Mutation::RemoveNodeProperty {
            id,
            key: key.to_owned(),
        });
    }

    /// Adds a label to a node (no-op when present).
    pub fn add_label(&mut self, id: NodeId, label: &str) {
        self.ops.push(Mutation::AddLabel {
            id,
            label: label.to_owned(),
        });
    }

    /// Removes a label from a node (no-op when absent).
    pub fn remove_label(&mut self, id: NodeId, label: &str) {
        self.ops.push(Mutation::RemoveLabel {
            id,
            label: label.to_owned(),
        });
    }

    /// Adds the removal of an edge property (no-op when absent).
    pub fn remove_edge_property(&mut self, id: EdgeId, key: &str) {
        self.ops.push(Mutation::RemoveEdgeProperty {
            id,
            key: key.to_owned(),
        });
    }

    /// The number of mutations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no mutation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
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
        self.store.commit_mutations(self.ops)
    }
}

/// Labels as owned strings, sorted and deduplicated (validated at commit).
pub(crate) fn sorted_labels(labels: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
    out.sort_unstable();
    out.dedup();
    out
}
