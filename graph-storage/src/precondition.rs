//! The check of a conditional write's preconditions, under the writer
//! lock, against the state the write applies to.

use graph_core::{Error, Precondition, PropertyValue, ReadView, Result};

use crate::read::GraphReader;

/// Checks `conditions` in order on `reader`.
///
/// # Errors
/// [`Error::PreconditionFailed`] naming the first that does not hold and
/// what was found; the engine's read errors.
pub(crate) fn check<V: ReadView>(
    reader: &GraphReader<'_, V>,
    conditions: &[Precondition],
) -> Result<()> {
    for c in conditions {
        if let Some(found) = failure(reader, c)? {
            return Err(Error::PreconditionFailed(found));
        }
    }
    Ok(())
}

/// What makes `c` fail, or `None` when it holds.
fn failure<V: ReadView>(reader: &GraphReader<'_, V>, c: &Precondition) -> Result<Option<String>> {
    let property =
        |what: String, key: &str, want: &Option<PropertyValue>, found: Option<&PropertyValue>| {
            (found != want.as_ref())
                .then(|| format!("{what} has {key} = {found:?}, the write expected {want:?}"))
        };
    Ok(match c {
        Precondition::NodeExists { id, exists } => {
            let found = reader.contains_node(*id)?;
            (found != *exists).then(|| {
                format!(
                    "node {id} {}",
                    if found { "exists" } else { "does not exist" }
                )
            })
        }
        Precondition::EdgeExists { id, exists } => {
            let found = reader.get_edge(*id)?.is_some();
            (found != *exists).then(|| {
                format!(
                    "edge {id} {}",
                    if found { "exists" } else { "does not exist" }
                )
            })
        }
        Precondition::NodeProperty { id, key, value } => match reader.get_node(*id)? {
            None => Some(format!("node {id} does not exist")),
            Some(n) => property(format!("node {id}"), key, value, n.properties.get(key)),
        },
        Precondition::EdgeProperty { id, key, value } => match reader.get_edge(*id)? {
            None => Some(format!("edge {id} does not exist")),
            Some(e) => property(format!("edge {id}"), key, value, e.properties.get(key)),
        },
        Precondition::Degree {
            node,
            direction,
            edge_type,
            count,
        } => {
            let found = reader.degree(*node, *direction, edge_type.as_deref())?;
            (found != *count).then(|| {
                format!(
                    "node {node} has {found} {direction:?} edge(s){}, the write expected {count}",
                    edge_type
                        .as_ref()
                        .map(|t| format!(" of type {t}"))
                        .unwrap_or_default()
                )
            })
        }
        other => Some(format!(
            "a precondition this build does not know: {other:?}"
        )),
    })
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use graph_core::{
        Direction, ErrorKind, Precondition as P, Properties, PropertyValue as V, Result,
    };
    use storage_memory::MemoryBackend;

    use crate::GraphStore;

    fn failed(r: Result<()>) -> bool {
        matches!(r.map_err(|e| e.kind()), Err(ErrorKind::PreconditionFailed))
    }

    /// A conditional batch applies when its preconditions hold and writes
    /// nothing when one does not, whichever kind fails.
    #[test]
    fn a_batch_commits_only_when_its_preconditions_hold() -> Result<()> {
        let s = GraphStore::open(MemoryBackend::new())?;
        let a = s.create_node(&[], Properties::from([("n".to_owned(), V::Int(5))]))?;
        let b = s.create_node(&[], Properties::new())?;
        let n_is = |v: Option<V>| P::NodeProperty {
            id: a,
            key: "n".to_owned(),
            value: v,
        };
        let mut batch = s.batch();
        batch.set_node_property(a, "n", V::Int(6));
        batch.commit_if(vec![
            n_is(Some(V::Int(5))),
            P::NodeExists {
                id: b,
                exists: true,
            },
        ])?;
        let mut batch = s.batch();
        batch.set_node_property(a, "n", V::Int(7));
        assert!(failed(batch.commit_if(vec![n_is(Some(V::Int(5)))])));
        let node = s.get_node(a)?.map(|n| n.properties.get("n").cloned());
        assert_eq!(node, Some(Some(V::Int(6))));
        // Create the edge only if `a` has none of this type: once.
        let no_edge = || P::Degree {
            node: a,
            direction: Direction::Outgoing,
            edge_type: Some("T".to_owned()),
            count: 0,
        };
        for _ in 0..2 {
            let mut batch = s.batch();
            let e = batch.create_edge(a, b, "T", Properties::new())?;
            let r = batch.commit_if(vec![
                no_edge(),
                P::EdgeExists {
                    id: e,
                    exists: false,
                },
            ]);
            assert!(r.is_ok() || failed(r));
        }
        assert_eq!(s.degree(a, Direction::Outgoing, Some("T"))?, 1);
        let e = s.edges(a, Direction::Outgoing, None)?[0].id;
        let mut batch = s.batch();
        batch.delete_edge(e);
        let r = batch.commit_if(vec![P::EdgeProperty {
            id: e,
            key: "w".to_owned(),
            value: Some(V::Int(1)),
        }]);
        assert!(failed(r));
        assert!(failed(s.batch().commit_if(vec![
            P::NodeExists {
                id: a,
                exists: true
            },
            n_is(None),
        ])));
        assert!(failed(s.batch().commit_if(vec![P::NodeExists {
            id: graph_core::NodeId(99),
            exists: true
        }])));
        assert_eq!(s.edge_count()?, 1);
        assert!(s.verify()?.is_clean());
        Ok(())
    }
}
