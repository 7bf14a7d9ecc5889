//! networkx's node-link JSON (`json_graph.node_link_data`, also D3's
//! shape): one document, `{"directed": .., "multigraph": .., "graph": ..,
//! "nodes": [{"id": .., attributes}], "edges"|"links": [{"source": ..,
//! "target": .., attributes}]}`. The document is read whole (memory grows
//! with the file: JSON Lines is the format for graphs beyond memory), then
//! turned into items one element at a time. Node ids are external ids in
//! the global id space; every other member of an element is a property
//! (the JSON mapping of JSON Lines), but for a multigraph's edge `key`.
//! A row's "line" is its position in the document: nodes first, then
//! edges, counting from 1.
//!
//! Cytoscape's JSON is read too (`{"elements": {"nodes": [{"data": {"id":
//! ..}}], "edges": [{"data": {"source": .., "target": ..}}]}}`, or
//! `"elements"` as one array of elements with a `"group"`): each element's
//! `data` is read as a node-link element.

use std::path::PathBuf;
use std::sync::Arc;

use graph_storage::Properties;
use serde_json::Value;

use super::graphml::GraphmlOptions;
use super::source::{Item, ItemReader, JsonlPart, Loc, NodeRef, RowError, open};
use crate::value;

/// The elements of a loaded document still to be read.
struct Doc {
    nodes: std::vec::IntoIter<Value>,
    edges: std::vec::IntoIter<Value>,
    node_count: u64,
    multigraph: bool,
    /// Position of the next node, then edge (from 1).
    next: u64,
}

/// A node-link JSON file's nodes and edges (the `part` of them asked for).
pub struct NodeLinkReader {
    path: PathBuf,
    name: Arc<str>,
    part: JsonlPart,
    opts: GraphmlOptions,
    count: Arc<std::sync::atomic::AtomicU64>,
    doc: Option<Doc>,
    done: bool,
}

impl NodeLinkReader {
    /// A reader of `path`, returning the items of `part`; nodes get
    /// `opts.label`, edges `opts.edge_type`.
    pub fn new(path: PathBuf, part: JsonlPart, opts: GraphmlOptions) -> Self {
        NodeLinkReader {
            name: Arc::from(path.display().to_string()),
            path,
            part,
            opts,
            count: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            doc: None,
            done: false,
        }
    }

    fn fatal(&mut self, reason: String) -> Option<Result<(Item, Loc), RowError>> {
        self.done = true;
        Some(Err(RowError::fatal(
            Loc {
                file: Arc::clone(&self.name),
                line: 0,
            },
            0,
            reason,
        )))
    }

    fn load(&mut self) -> Result<Doc, String> {
        let input = open(&self.path, &self.count)?;
        let mut v: Value = serde_json::from_reader(input).map_err(|e| {
            format!(
                "not a JSON document: {e} (a node-link file is one JSON object; one object a line is --jsonl)"
            )
        })?;
        let shape = "a node-link document is {\"nodes\": [...], \"edges\" or \"links\": [...]}";
        let Some(obj) = v.as_object_mut() else {
            return Err(format!("{shape}, found no JSON object"));
        };
        let multigraph = obj.get("multigraph").and_then(Value::as_bool) == Some(true);
        if let Some(elements) = obj.remove("elements") {
            if obj.contains_key("nodes") {
                return Err(format!(
                    "{shape}, or Cytoscape's {{\"elements\": ...}}: this has both"
                ));
            }
            let (nodes, edges) = cytoscape(elements)?;
            return Ok(Doc {
                node_count: nodes.len() as u64,
                nodes: nodes.into_iter(),
                edges: edges.into_iter(),
                multigraph,
                next: 1,
            });
        }
        let mut array = |key: &str| -> Result<Option<Vec<Value>>, String> {
            match obj.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(a)) => Ok(Some(a)),
                Some(other) => Err(format!("{shape}: \"{key}\" is not an array but {other}")),
            }
        };
        let nodes = array("nodes")?.ok_or_else(|| format!("{shape}: no \"nodes\" array"))?;
        let edges = match (array("edges")?, array("links")?) {
            (Some(_), Some(_)) => return Err(format!("{shape}: both \"edges\" and \"links\"")),
            (Some(e), None) | (None, Some(e)) => e,
            (None, None) => Vec::new(),
        };
        Ok(Doc {
            node_count: nodes.len() as u64,
            nodes: nodes.into_iter(),
            edges: edges.into_iter(),
            multigraph,
            next: 1,
        })
    }
}

/// Cytoscape's JSON (Cytoscape's `.cyjs`, Cytoscape.js, networkx's
/// `cytoscape_data`): `"elements"` is `{"nodes": [..], "edges": [..]}` or
/// one array whose elements say their `"group"`; each element's `"data"`
/// object is what node-link elements are (its `id`, or `source` and
/// `target`, and attributes); positions and styles are left out.
fn cytoscape(elements: Value) -> Result<(Vec<Value>, Vec<Value>), String> {
    let shape = "Cytoscape's \"elements\" is {\"nodes\": [...], \"edges\": [...]} or an array of \
                 elements with a \"group\"";
    let data = |e: Value| match e {
        Value::Object(mut m) => match m.remove("data") {
            Some(d @ Value::Object(_)) => d,
            _ => Value::Object(m),
        },
        other => other,
    };
    let array = |v: Option<Value>, key: &str| -> Result<Vec<Value>, String> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.into_iter().map(data).collect()),
            Some(other) => Err(format!("{shape}: \"{key}\" is not an array but {other}")),
        }
    };
    match elements {
        Value::Object(mut m) => Ok((
            array(m.remove("nodes"), "nodes")?,
            array(m.remove("edges"), "edges")?,
        )),
        Value::Array(all) => {
            let (mut nodes, mut edges) = (Vec::new(), Vec::new());
            for e in all {
                let group = e.get("group").and_then(Value::as_str).map(str::to_owned);
                let is_edge = match group.as_deref() {
                    Some("edges") => true,
                    Some("nodes") => false,
                    // Without a group, an element with a source is an edge.
                    _ => e.get("data").and_then(|d| d.get("source")).is_some(),
                };
                if is_edge {
                    edges.push(data(e));
                } else {
                    nodes.push(data(e));
                }
            }
            Ok((nodes, edges))
        }
        other => Err(format!("{shape}, found {other}")),
    }
}

/// An element's members but `skip` as properties.
fn members(obj: serde_json::Map<String, Value>, skip: &[&str]) -> Result<Properties, String> {
    obj.into_iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| {
            let v = value::from_json(&v).map_err(|e| format!("attribute {k:?}: {e}"))?;
            Ok((k, v))
        })
        .collect()
}

/// An id as text: strings as they are, numbers as written.
fn id_of(v: Option<&Value>, what: &str) -> Result<String, String> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(format!(
            "{what} must be a string or a number, found {other}"
        )),
        None => Err(format!("no {what}")),
    }
}

impl ItemReader for NodeLinkReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        if self.done {
            return None;
        }
        if self.doc.is_none() {
            match self.load() {
                Ok(doc) => self.doc = Some(doc),
                Err(reason) => return self.fatal(reason),
            }
        }
        let space: Arc<str> = Arc::from("");
        loop {
            let doc = self.doc.as_mut()?;
            let at = doc.next;
            doc.next += 1;
            let loc = Loc {
                file: Arc::clone(&self.name),
                line: at,
            };
            let is_node = at <= doc.node_count;
            if (is_node && self.part == JsonlPart::Relationships)
                || (!is_node && self.part == JsonlPart::Nodes)
            {
                // Not asked for: skipped without being converted.
                let skipped = if is_node {
                    doc.nodes.next()
                } else {
                    doc.edges.next()
                };
                if skipped.is_none() {
                    self.done = true;
                    return None;
                }
                continue;
            }
            let (element, what) = if is_node {
                (doc.nodes.next(), format!("nodes[{}]", at - 1))
            } else {
                (
                    doc.edges.next(),
                    format!("edges[{}]", at - 1 - doc.node_count),
                )
            };
            let Some(element) = element else {
                self.done = true;
                return None;
            };
            let multigraph = doc.multigraph;
            let item = match element {
                Value::Object(obj) if is_node => id_of(obj.get("id"), "\"id\"").and_then(|id| {
                    Ok(Item::Node {
                        space: Arc::clone(&space),
                        id: Some(id),
                        labels: vec![self.opts.label.clone()],
                        properties: members(obj, &["id"])?,
                    })
                }),
                Value::Object(obj) => {
                    let ends = id_of(obj.get("source"), "\"source\"")
                        .and_then(|s| Ok((s, id_of(obj.get("target"), "\"target\"")?)));
                    ends.and_then(|(start, end)| {
                        let skip: &[&str] = if multigraph {
                            &["source", "target", "key"]
                        } else {
                            &["source", "target"]
                        };
                        let r = |id: String| NodeRef {
                            space: Arc::clone(&space),
                            id,
                            column: 0,
                        };
                        Ok(Item::Edge {
                            start: r(start),
                            end: r(end),
                            edge_type: self.opts.edge_type.clone(),
                            properties: members(obj, skip)?,
                        })
                    })
                }
                other => Err(format!("an element is a JSON object, found {other}")),
            };
            return Some(match item {
                Ok(item) => Ok((item, loc)),
                Err(reason) => Err(RowError::bad(loc, 0, format!("{what}: {reason}"))),
            });
        }
    }

    fn position(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}
