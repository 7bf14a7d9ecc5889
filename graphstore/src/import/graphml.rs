//! GraphML (<http://graphml.graphdrawing.org/>), as networkx, igraph,
//! Gephi, yEd, Neo4j's APOC export and dataset archives write it: `<key>`
//! declarations with `attr.name`, `attr.type` and `<default>`, then
//! `<node id>` and `<edge source target>` elements with `<data key>`
//! children. Read as a stream (constant memory whatever the file's size)
//! into the importer's items: nodes with their GraphML id as external id
//! (global id space), edges by their ends' ids.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::sync::Arc;

use graph_storage::{Properties, PropertyValue};
use quick_xml::events::{BytesStart, Event};

use super::source::{Input, Item, ItemReader, JsonlPart, Loc, NodeRef, RowError, open};
use crate::value;

/// The label of the nodes and the type of the edges of a GraphML or
/// node-link file (where the file does not name them).
#[derive(Debug, Clone)]
pub struct GraphmlOptions {
    /// The label of nodes without APOC's `labels` attribute.
    pub label: String,
    /// The type of edges without APOC's `label` attribute.
    pub edge_type: String,
}

/// An element's attributes, unescaped, by local name (few: a list).
struct Attrs(Vec<(String, String)>);

impl Attrs {
    fn get(&self, name: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The value type of a `<key>` (`attr.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Boolean,
    Int,
    Float,
    String,
}

/// A `<key>` declaration: the property it names, its type and default.
#[derive(Debug, Clone)]
struct Key {
    /// `attr.name`, or the key's id if it has none.
    name: String,
    ty: KeyType,
    /// `for`: `node`, `edge`, `all`, `graph`, ...
    domain: String,
    /// `<default>`, as text.
    default: Option<String>,
    /// A key without `attr.name` carrying markup (yEd's `yfiles.type`
    /// graphics): not a property.
    ignored: bool,
}

/// The element being read.
enum Open {
    Node {
        id: String,
        labels: Option<Vec<String>>,
        properties: Properties,
        loc: Loc,
    },
    Edge {
        source: String,
        target: String,
        edge_type: Option<String>,
        properties: Properties,
        loc: Loc,
    },
}

/// A GraphML file's nodes and edges (the `part` of them asked for).
pub struct GraphmlReader {
    path: PathBuf,
    name: Arc<str>,
    part: JsonlPart,
    opts: GraphmlOptions,
    count: Arc<std::sync::atomic::AtomicU64>,
    xml: Option<quick_xml::Reader<Lines<Input>>>,
    buf: Vec<u8>,
    keys: HashMap<String, Key>,
    /// The node or edge being read.
    open: Option<Open>,
    /// The `<data>` (its key) or `<default>` being read, and its text.
    text: Option<(TextOf, String)>,
    /// `<graph>` elements open (a graph inside a node is refused).
    graphs: usize,
    /// The `<key>` being read (its `<default>` applies to it).
    pending_key: Option<String>,
    /// A bad node or edge is being skipped, up to its end tag.
    skipping: bool,
    /// The keys' defaults for nodes and edges, by name; `None` when a key
    /// changed since they were gathered.
    defaults: Option<[Defaults; 2]>,
    /// The global id space.
    space: Arc<str>,
    done: bool,
}

/// Default values by property name (or why a default does not parse).
type Defaults = Vec<(String, Result<PropertyValue, String>)>;

/// Whose text is being collected.
enum TextOf {
    Data(String),
    Default(String),
}

impl GraphmlReader {
    /// A reader of `path`, returning the items of `part`.
    pub fn new(path: PathBuf, part: JsonlPart, opts: GraphmlOptions) -> Self {
        GraphmlReader {
            name: Arc::from(path.display().to_string()),
            path,
            part,
            opts,
            count: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            xml: None,
            buf: Vec::new(),
            keys: HashMap::new(),
            open: None,
            text: None,
            graphs: 0,
            pending_key: None,
            skipping: false,
            defaults: None,
            space: Arc::from(""),
            done: false,
        }
    }

    fn loc(&self) -> Loc {
        Loc {
            file: Arc::clone(&self.name),
            line: self.xml.as_ref().map_or(0, |x| x.get_ref().line),
        }
    }

    fn fatal(&mut self, reason: String) -> Option<Result<(Item, Loc), RowError>> {
        self.done = true;
        Some(Err(RowError::fatal(self.loc(), 0, reason)))
    }

    fn wanted(&self, item: &Item) -> bool {
        matches!(
            (item, self.part),
            (_, JsonlPart::All)
                | (Item::Node { .. }, JsonlPart::Nodes)
                | (Item::Edge { .. }, JsonlPart::Relationships)
        )
    }

    /// The attributes of an element, unescaped, by local name.
    fn attributes(e: &BytesStart<'_>) -> Result<Attrs, String> {
        let mut out = Attrs(Vec::new());
        for a in e.attributes() {
            let a = a.map_err(|e| format!("a malformed attribute: {e}"))?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|e| format!("attribute {key}: {e}"))?
                .into_owned();
            out.0.push((key, value));
        }
        Ok(out)
    }

    /// A start (or empty) element. `Ok(Some(item))` when an empty
    /// `<node/>` or `<edge/>` is complete.
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<Option<(Item, Loc)>, RowError> {
        let tag = e.local_name();
        let tag = tag.as_ref();
        if !matches!(
            tag,
            b"key" | b"default" | b"graph" | b"node" | b"edge" | b"data" | b"hyperedge"
        ) {
            return Ok(None);
        }
        let attrs = Self::attributes(e).map_err(|r| self.row_error(r, true))?;
        let need = |name: &str| -> Result<String, String> {
            attrs.get(name).cloned().ok_or_else(|| {
                format!("<{}> has no {name} attribute", String::from_utf8_lossy(tag))
            })
        };
        match tag {
            b"key" => {
                let id = need("id").map_err(|r| self.row_error(r, true))?;
                let ty = match attrs.get("attr.type").map(String::as_str) {
                    None | Some("string") => KeyType::String,
                    Some("boolean") => KeyType::Boolean,
                    Some("int" | "long") => KeyType::Int,
                    Some("float" | "double") => KeyType::Float,
                    Some(other) => {
                        return Err(self.row_error(
                            format!("key {id:?}: unknown attr.type {other:?} (GraphML's are boolean, int, long, float, double, string)"),
                            true,
                        ));
                    }
                };
                let key = Key {
                    name: attrs
                        .get("attr.name")
                        .cloned()
                        .unwrap_or_else(|| id.clone()),
                    ty,
                    domain: attrs.get("for").cloned().unwrap_or_else(|| "all".into()),
                    default: None,
                    ignored: !attrs.contains_key("attr.name") && attrs.contains_key("yfiles.type"),
                };
                self.keys.insert(id.clone(), key);
                self.defaults = None;
                if !empty {
                    self.pending_key = Some(id);
                }
            }
            b"default" => {
                if let Some(id) = self.pending_key.clone() {
                    self.text = Some((TextOf::Default(id), String::new()));
                }
            }
            b"graph" => {
                if self.open.is_some() {
                    return Err(self.row_error(
                        "a nested graph (a <graph> inside a node or edge) cannot be imported"
                            .into(),
                        true,
                    ));
                }
                self.graphs += 1;
            }
            b"node" => {
                self.skipping = !empty;
                let id = need("id").map_err(|r| self.row_error(r, false))?;
                self.skipping = false;
                let labels = attrs.get("labels").map(|l| {
                    l.split(':')
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect()
                });
                self.open = Some(Open::Node {
                    id,
                    labels,
                    properties: Properties::new(),
                    loc: self.loc(),
                });
            }
            b"edge" => {
                let (source, target) = match (need("source"), need("target")) {
                    (Ok(s), Ok(t)) => (s, t),
                    (Err(r), _) | (_, Err(r)) => {
                        self.skipping = !empty;
                        return Err(self.row_error(r, false));
                    }
                };
                self.open = Some(Open::Edge {
                    source,
                    target,
                    edge_type: attrs.get("label").cloned(),
                    properties: Properties::new(),
                    loc: self.loc(),
                });
            }
            b"data" => {
                let key = need("key").map_err(|r| self.row_error(r, false))?;
                if self.open.is_some() {
                    self.text = Some((TextOf::Data(key), String::new()));
                }
            }
            b"hyperedge" => {
                return Err(self.row_error(
                    "a hyperedge (an edge of more than two nodes) cannot be imported".into(),
                    true,
                ));
            }
            _ => {}
        }
        if empty {
            return self.end(tag);
        }
        Ok(None)
    }

    fn row_error(&self, reason: String, fatal: bool) -> RowError {
        if fatal {
            RowError::fatal(self.loc(), 0, reason)
        } else {
            RowError::bad(self.loc(), 0, reason)
        }
    }

    /// An end tag (or the end of an empty element).
    fn end(&mut self, tag: &[u8]) -> Result<Option<(Item, Loc)>, RowError> {
        match tag {
            b"key" => self.pending_key = None,
            b"default" => {
                if let Some((TextOf::Default(id), text)) = self.text.take()
                    && let Some(key) = self.keys.get_mut(&id)
                {
                    key.default = Some(text);
                    self.defaults = None;
                }
            }
            b"graph" => self.graphs = self.graphs.saturating_sub(1),
            b"data" => {
                if let Some((TextOf::Data(id), text)) = self.text.take() {
                    self.data(&id, &text)?;
                }
            }
            b"node" | b"edge" => {
                if std::mem::take(&mut self.skipping) {
                    return Ok(None);
                }
                return self.finish().map(Some);
            }
            _ => {}
        }
        Ok(None)
    }

    /// A `<data>` of the open element.
    fn data(&mut self, id: &str, text: &str) -> Result<(), RowError> {
        let Some(key) = self.keys.get(id).cloned() else {
            return Err(self.row_error(format!("<data key={id:?}> names no declared <key>"), false));
        };
        if key.ignored {
            return Ok(());
        }
        let value = parse(&key, text).map_err(|r| self.row_error(r, false))?;
        match &mut self.open {
            // APOC writes labels and types as attributes and again as data
            // of the keys with these ids (a property of that name has
            // another key id).
            Some(Open::Node {
                labels: Some(_), ..
            }) if id == "labels" => {}
            Some(Open::Edge {
                edge_type: Some(_), ..
            }) if id == "label" => {}
            Some(Open::Node { properties, .. } | Open::Edge { properties, .. }) => {
                properties.insert(key.name, value);
            }
            None => {}
        }
        Ok(())
    }

    /// The open node or edge, complete: defaults added.
    fn finish(&mut self) -> Result<(Item, Loc), RowError> {
        let Some(open) = self.open.take() else {
            return Err(self.row_error("an end tag without its start".into(), true));
        };
        let domain = if matches!(open, Open::Node { .. }) {
            "node"
        } else {
            "edge"
        };
        if self.defaults.is_none() {
            let of = |domain: &str| -> Defaults {
                let mut list: Vec<_> = self
                    .keys
                    .values()
                    .filter(|k| !k.ignored && (k.domain == domain || k.domain == "all"))
                    .filter_map(|k| Some((k.name.clone(), parse(k, k.default.as_ref()?))))
                    .collect();
                list.sort_by(|a, b| a.0.cmp(&b.0));
                list
            };
            self.defaults = Some([of("node"), of("edge")]);
        }
        let defaults = match &self.defaults {
            Some([node, edge]) => {
                if domain == "node" {
                    node.clone()
                } else {
                    edge.clone()
                }
            }
            None => Vec::new(),
        };
        let space = Arc::clone(&self.space);
        let (mut item, loc) = match open {
            Open::Node {
                id,
                labels,
                properties,
                loc,
            } => (
                Item::Node {
                    space,
                    id: Some(id),
                    labels: labels.unwrap_or_else(|| vec![self.opts.label.clone()]),
                    properties,
                },
                loc,
            ),
            Open::Edge {
                source,
                target,
                edge_type,
                properties,
                loc,
            } => {
                let r = |id: String, column| NodeRef {
                    space: Arc::clone(&space),
                    id,
                    column,
                };
                (
                    Item::Edge {
                        start: r(source, 0),
                        end: r(target, 0),
                        edge_type: edge_type.unwrap_or_else(|| self.opts.edge_type.clone()),
                        properties,
                    },
                    loc,
                )
            }
        };
        let (Item::Node { properties, .. } | Item::Edge { properties, .. }) = &mut item;
        for (name, value) in defaults {
            if !properties.contains_key(&name) {
                let value = value.map_err(|r| {
                    RowError::fatal(loc.clone(), 0, format!("the default of {name:?}: {r}"))
                })?;
                properties.insert(name, value);
            }
        }
        Ok((item, loc))
    }
}

/// A `<data>` or `<default>` text as its key's type.
fn parse(key: &Key, text: &str) -> Result<PropertyValue, String> {
    let t = text.trim();
    let what = |ty: &str| format!("{:?} ({}) is {t:?}, not {ty}", key.name, ty);
    Ok(match key.ty {
        KeyType::String => PropertyValue::String(text.into()),
        KeyType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => PropertyValue::Bool(true),
            "false" | "0" => PropertyValue::Bool(false),
            _ => return Err(what("a boolean")),
        },
        KeyType::Int => PropertyValue::Int(t.parse().map_err(|_| what("a 64-bit integer"))?),
        KeyType::Float => {
            PropertyValue::Float(value::parse_float(t).map_err(|_| what("a number"))?)
        }
    })
}

impl ItemReader for GraphmlReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        if self.done {
            return None;
        }
        if self.xml.is_none() {
            match open(&self.path, &self.count) {
                Ok(input) => {
                    let mut xml = quick_xml::Reader::from_reader(Lines {
                        inner: input,
                        line: 1,
                    });
                    xml.config_mut().trim_text(false);
                    self.xml = Some(xml);
                }
                Err(reason) => return self.fatal(reason),
            }
        }
        loop {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let event = match self.xml.as_mut()?.read_event_into(&mut buf) {
                Ok(e) => e,
                Err(e) => return self.fatal(format!("not well-formed XML: {e}")),
            };
            let found = match &event {
                Event::Start(e) => self.start(e, false),
                Event::Empty(e) => self.start(e, true),
                Event::End(e) => self.end(e.local_name().as_ref()),
                Event::Text(t) => {
                    if let Some((_, text)) = &mut self.text {
                        match t.decode() {
                            Ok(s) => text.push_str(&s),
                            Err(e) => return self.fatal(format!("text that is not UTF-8: {e}")),
                        }
                    }
                    Ok(None)
                }
                Event::CData(t) => {
                    if let Some((_, text)) = &mut self.text {
                        text.push_str(&String::from_utf8_lossy(t));
                    }
                    Ok(None)
                }
                Event::GeneralRef(r) => {
                    if let Some((_, text)) = &mut self.text {
                        let resolved = match r.resolve_char_ref() {
                            Ok(Some(c)) => Some(c.to_string()),
                            _ => r.decode().ok().and_then(|name| {
                                quick_xml::escape::resolve_predefined_entity(&name)
                                    .map(str::to_owned)
                            }),
                        };
                        match resolved {
                            Some(s) => text.push_str(&s),
                            None => {
                                return self.fatal(format!(
                                    "an unknown entity &{};",
                                    String::from_utf8_lossy(r)
                                ));
                            }
                        }
                    }
                    Ok(None)
                }
                Event::Eof => {
                    self.done = true;
                    if self.open.is_some() || self.graphs > 0 {
                        return self
                            .fatal("the file ends inside an element: it is truncated".into());
                    }
                    return None;
                }
                _ => Ok(None),
            };
            drop(event);
            self.buf = buf;
            match found {
                Ok(Some(row)) if self.wanted(&row.0) => return Some(Ok(row)),
                Ok(_) => {}
                Err(e) => {
                    if e.fatal {
                        self.done = true;
                    } else if self.open.take().is_some() {
                        // The rest of the bad element is skipped.
                        self.skipping = true;
                    }
                    self.text = None;
                    return Some(Err(e));
                }
            }
        }
    }

    fn position(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A reader counting the lines it has handed out, so elements are
/// reported by line.
struct Lines<R> {
    inner: R,
    line: u64,
}

impl<R: BufRead> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.line += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(b) = self.inner.fill_buf() {
            let n = amt.min(b.len());
            self.line += b[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="d0" for="node" attr.name="name" attr.type="string"><default>x</default></key>
  <key id="d1" for="edge" attr.name="w" attr.type="double"/>
  <graph edgedefault="directed">
    <node id="a"><data key="d0">A &amp; &#233;<![CDATA[<c>]]></data></node>
    <node id="b" labels=":P:Q"/>
    <edge source="a" target="b" label="T"><data key="d1">1.5</data></edge>
  </graph>
</graphml>
"#;

    /// Every item of a file, or the first error.
    fn read_all(bytes: &[u8]) -> Result<Vec<(Item, Loc)>, RowError> {
        let io = |e: std::io::Error| {
            let loc = Loc {
                file: Arc::from("tmp"),
                line: 0,
            };
            RowError::fatal(loc, 0, e.to_string())
        };
        let dir = tempfile::tempdir().map_err(io)?;
        let path = dir.path().join("g.graphml");
        std::fs::write(&path, bytes).map_err(io)?;
        let opts = GraphmlOptions {
            label: "Node".into(),
            edge_type: "EDGE".into(),
        };
        let mut r = GraphmlReader::new(path, JsonlPart::All, opts);
        let mut items = Vec::new();
        while let Some(next) = r.next_item() {
            items.push(next?);
        }
        Ok(items)
    }

    #[test]
    fn the_reference_document_reads_as_three_items_at_their_lines() {
        let items = read_all(DOC.as_bytes()).map_err(|e| e.to_string());
        let summary: Result<Vec<(u64, String)>, String> = items.map(|items| {
            items
                .into_iter()
                .map(|(item, loc)| {
                    let what = match item {
                        Item::Node {
                            id,
                            labels,
                            properties,
                            ..
                        } => {
                            format!("node {id:?} {labels:?} {properties:?}")
                        }
                        Item::Edge {
                            start,
                            end,
                            edge_type,
                            properties,
                        } => {
                            format!("edge {} {} {edge_type} {properties:?}", start.id, end.id)
                        }
                    };
                    (loc.line, what)
                })
                .collect()
        });
        assert_eq!(
            summary,
            Ok(vec![
                (
                    6,
                    r#"node Some("a") ["Node"] {"name": String("A & é<c>")}"#.to_owned()
                ),
                (
                    7,
                    r#"node Some("b") ["P", "Q"] {"name": String("x")}"#.to_owned()
                ),
                (8, r#"edge a b T {"w": Float(1.5)}"#.to_owned()),
            ])
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A damaged or truncated file is read or refused, never a panic;
        /// a refusal names a line of the file.
        #[test]
        fn damaged_files_are_read_or_refused(at in 0usize..DOC.len(), byte in any::<u8>(), cut in any::<bool>()) {
            let mut bytes = DOC.as_bytes().to_vec();
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            if let Err(e) = read_all(&bytes) {
                let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
                prop_assert!(e.loc.line <= lines, "{e} (of {lines} lines)");
            }
        }
    }
}
