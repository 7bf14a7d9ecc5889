//! GML, the Graph Modelling Language, as Mark Newman's network data
//! (karate, dolphins, lesmis, football, netscience, ...), networkx's
//! `write_gml`, igraph and Cytoscape write it: `graph [ directed 0 node [ id
//! 1 label "a" ] edge [ source 1 target 2 value 3 ] ]`. The file is read
//! whole (GML datasets are small; memory grows with the file), then turned
//! into items one element at a time. Each `node`'s `id` is its external id
//! (global id space); every other key of a node or edge is a property:
//! integers, reals, strings (HTML entities, as networkx writes them,
//! resolved), nested lists as maps, a key repeated in one list as a list
//! of its values.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use graph_storage::{Properties, PropertyValue};

use super::graphml::GraphmlOptions;
use super::source::{Item, ItemReader, JsonlPart, Loc, NodeRef, RowError, open};

/// A GML value.
#[derive(Debug, Clone, PartialEq)]
enum Gml {
    Int(i64),
    Real(f64),
    Str(String),
    List(Pairs),
}

/// A GML list: keys, values and the line of each key.
type Pairs = Vec<(String, Gml, u64)>;

/// Lists nested deeper than this are refused (a guard against a stack
/// overflow on hostile input).
const MAX_DEPTH: usize = 64;

/// A GML text, read into its top-level key-value list.
struct Parser<'a> {
    text: &'a str,
    at: usize,
    line: u64,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> (u64, String) {
        let found: String = self.text[self.at..].chars().take(16).collect();
        if found.is_empty() {
            (self.line, format!("GML: expected {what}, found the end"))
        } else {
            (self.line, format!("GML: expected {what}, found {found:?}"))
        }
    }

    /// Skips white space and `#` comments, counting lines.
    fn space(&mut self) {
        loop {
            let rest = &self.text[self.at..];
            let Some(c) = rest.chars().next() else { return };
            if c == '#' {
                let end = rest.find('\n').unwrap_or(rest.len());
                self.at += end;
            } else if c.is_whitespace() {
                if c == '\n' {
                    self.line += 1;
                }
                self.at += c.len_utf8();
            } else {
                return;
            }
        }
    }

    /// Key-value pairs up to `]` (nested) or the end (top level).
    fn list(&mut self, depth: usize) -> Result<Pairs, (u64, String)> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("at most {MAX_DEPTH} levels of lists")));
        }
        let mut out = Vec::new();
        loop {
            self.space();
            let rest = &self.text[self.at..];
            if rest.is_empty() {
                if depth > 0 {
                    return Err(self.error("']' (the file is truncated)"));
                }
                return Ok(out);
            }
            if rest.starts_with(']') {
                if depth == 0 {
                    return Err(self.error("a key (a ']' closes no list)"));
                }
                self.at += 1;
                return Ok(out);
            }
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if len == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                return Err(self.error("a key"));
            }
            let key = rest[..len].to_owned();
            let line = self.line;
            self.at += len;
            self.space();
            let value = self.value(depth)?;
            out.push((key, value, line));
        }
    }

    fn value(&mut self, depth: usize) -> Result<Gml, (u64, String)> {
        let rest = &self.text[self.at..];
        if rest.starts_with('[') {
            self.at += 1;
            return Ok(Gml::List(self.list(depth + 1)?));
        }
        if let Some(body) = rest.strip_prefix('"') {
            let Some(end) = body.find('"') else {
                return Err(self.error("a closing '\"'"));
            };
            let raw = &body[..end];
            self.line += raw.matches('\n').count() as u64;
            self.at += end + 2;
            return Ok(Gml::Str(unescape(raw)));
        }
        let len = rest
            .find(|c: char| c.is_whitespace() || c == ']' || c == '[')
            .unwrap_or(rest.len());
        let word = &rest[..len];
        let value = if let Ok(i) = word.parse::<i64>() {
            Gml::Int(i)
        } else if let Ok(f) = crate::value::parse_float(word) {
            Gml::Real(f)
        } else {
            return Err(self.error("a number, a \"string\" or a [list]"));
        };
        self.at += len;
        Ok(value)
    }
}

/// A GML string's text: HTML character entities resolved (networkx writes
/// `&#34;` for `"` and `&amp;` for `&`); anything else as it is.
fn unescape(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entity = rest
            .find(';')
            .filter(|&end| end <= 10)
            .map(|end| (&rest[1..end], end));
        let resolved = entity.and_then(|(name, end)| {
            let c = match name {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match resolved {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A GML value as a property value.
fn property(v: &Gml) -> PropertyValue {
    match v {
        Gml::Int(i) => PropertyValue::Int(*i),
        Gml::Real(f) => PropertyValue::Float(*f),
        Gml::Str(s) => PropertyValue::String(s.as_str().into()),
        Gml::List(items) => PropertyValue::Map(properties(items, &[])),
    }
}

/// A list's keys as properties, but `skip`; a repeated key is the list of
/// its values.
fn properties(items: &[(String, Gml, u64)], skip: &[&str]) -> Properties {
    let mut out: BTreeMap<String, PropertyValue> = BTreeMap::new();
    let mut repeated: BTreeMap<String, bool> = BTreeMap::new();
    for (k, v, _) in items {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let v = property(v);
        match out.get_mut(k) {
            None => {
                out.insert(k.clone(), v);
            }
            Some(PropertyValue::List(list)) if repeated.get(k) == Some(&true) => list.push(v),
            Some(first) => {
                let first = std::mem::replace(first, PropertyValue::Null);
                out.insert(k.clone(), PropertyValue::List(vec![first, v]));
                repeated.insert(k.clone(), true);
            }
        }
    }
    out.into()
}

/// A GML file's nodes and edges (the `part` of them asked for).
pub struct GmlReader {
    path: PathBuf,
    name: Arc<str>,
    part: JsonlPart,
    opts: GraphmlOptions,
    count: Arc<std::sync::atomic::AtomicU64>,
    /// The `graph` list's elements still to be read.
    elements: Option<std::vec::IntoIter<(String, Gml, u64)>>,
    done: bool,
}

impl GmlReader {
    /// A reader of `path`, returning the items of `part`; nodes get
    /// `opts.label`, edges `opts.edge_type`.
    pub fn new(path: PathBuf, part: JsonlPart, opts: GraphmlOptions) -> Self {
        GmlReader {
            name: Arc::from(path.display().to_string()),
            path,
            part,
            opts,
            count: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            elements: None,
            done: false,
        }
    }

    fn load(&self) -> Result<Pairs, (u64, String)> {
        let mut text = String::new();
        open(&self.path, &self.count)
            .map_err(|e| (0, e))?
            .read_to_string(&mut text)
            .map_err(|e| (0, format!("cannot read it as UTF-8 text: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut p = Parser {
            text,
            at: 0,
            line: 1,
        };
        let top = p.list(0)?;
        let mut graphs = top.into_iter().filter(|(k, _, _)| k == "graph");
        match (graphs.next(), graphs.next()) {
            (Some((_, Gml::List(items), _)), None) => Ok(items),
            (Some((_, _, line)), None) => Err((line, "GML: `graph` is not a [list]".into())),
            (None, _) => Err((1, "GML: no `graph [ ... ]` in the file".into())),
            (Some(_), Some((_, _, line))) => Err((
                line,
                "GML: a second `graph`: import one graph a file".into(),
            )),
        }
    }
}

impl ItemReader for GmlReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        if self.done {
            return None;
        }
        if self.elements.is_none() {
            match self.load() {
                Ok(items) => self.elements = Some(items.into_iter()),
                Err((line, reason)) => {
                    self.done = true;
                    return Some(Err(RowError::fatal(
                        Loc {
                            file: Arc::clone(&self.name),
                            line,
                        },
                        0,
                        reason,
                    )));
                }
            }
        }
        let space: Arc<str> = Arc::from("");
        loop {
            let Some((key, value, line)) = self.elements.as_mut()?.next() else {
                self.done = true;
                return None;
            };
            let wanted = match key.as_str() {
                "node" => self.part != JsonlPart::Relationships,
                "edge" => self.part != JsonlPart::Nodes,
                _ => false,
            };
            if !wanted {
                continue;
            }
            let loc = Loc {
                file: Arc::clone(&self.name),
                line,
            };
            let Gml::List(items) = value else {
                return Some(Err(RowError::bad(
                    loc,
                    0,
                    format!("GML: `{key}` is not a [list]"),
                )));
            };
            let id = |name: &str| -> Result<String, String> {
                let mut found = items.iter().filter(|(k, _, _)| k == name);
                match (found.next(), found.next()) {
                    (Some((_, Gml::Int(i), _)), None) => Ok(i.to_string()),
                    (Some((_, Gml::Str(s), _)), None) => Ok(s.clone()),
                    (None, _) => Err(format!("GML: a {key} without `{name}`")),
                    (Some(_), Some(_)) => Err(format!("GML: a {key} with two `{name}`s")),
                    (Some(_), None) => Err(format!(
                        "GML: a {key}'s `{name}` is not an integer or a string"
                    )),
                }
            };
            let item = if key == "node" {
                id("id").map(|id| Item::Node {
                    space: Arc::clone(&space),
                    id: Some(id),
                    labels: vec![self.opts.label.clone()],
                    properties: properties(&items, &["id"]),
                })
            } else {
                id("source")
                    .and_then(|s| Ok((s, id("target")?)))
                    .map(|(s, t)| {
                        let r = |id: String| NodeRef {
                            space: Arc::clone(&space),
                            id,
                            column: 0,
                        };
                        Item::Edge {
                            start: r(s),
                            end: r(t),
                            edge_type: self.opts.edge_type.clone(),
                            properties: properties(&items, &["source", "target"]),
                        }
                    })
            };
            return Some(match item {
                Ok(item) => Ok((item, loc)),
                Err(reason) => Err(RowError::bad(loc, 0, reason)),
            });
        }
    }

    fn position(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(text: &str) -> Result<Pairs, (u64, String)> {
        Parser {
            text,
            at: 0,
            line: 1,
        }
        .list(0)
    }

    #[test]
    fn newman_and_networkx_gml_reads_as_written() {
        // The head of Newman's karate.gml, and what networkx's write_gml
        // makes of a string with a quote and an ampersand.
        let text = "Creator \"Mark Newman on Fri Jul 21 12:39:27 2006\"\n# comment\ngraph\n[\n  directed 0\n  node\n  [\n    id 1\n    label \"a &#34;b&#34; &amp; c\"\n    graphics [ x 1.5 y -2 ]\n    tag 1 tag 2\n  ]\n  edge [ source 1 target 2 value 3E-1 ]\n]\n";
        let top = parse(text).map_err(|e| e.1);
        let Ok(top) = top else {
            panic!("{top:?}");
        };
        let graph = top.iter().find(|(k, _, _)| k == "graph");
        let Some((_, Gml::List(items), 3)) = graph else {
            panic!("{graph:?}");
        };
        let node = items.iter().find(|(k, _, _)| k == "node");
        let Some((_, Gml::List(node), 6)) = node else {
            panic!("{node:?}");
        };
        let props = properties(node, &["id"]);
        let want: Properties = [
            (
                "label".to_owned(),
                PropertyValue::String("a \"b\" & c".into()),
            ),
            (
                "graphics".to_owned(),
                PropertyValue::Map(
                    [
                        ("x".to_owned(), PropertyValue::Float(1.5)),
                        ("y".to_owned(), PropertyValue::Int(-2)),
                    ]
                    .into(),
                ),
            ),
            (
                "tag".to_owned(),
                PropertyValue::List(vec![PropertyValue::Int(1), PropertyValue::Int(2)]),
            ),
        ]
        .into();
        assert_eq!(props, want);
        let edge = items.iter().find(|(k, _, _)| k == "edge");
        let Some((_, Gml::List(edge), 13)) = edge else {
            panic!("{edge:?}");
        };
        assert_eq!(
            properties(edge, &["source", "target"]),
            [("value".to_owned(), PropertyValue::Float(0.3))].into()
        );
    }

    #[test]
    fn what_is_not_gml_is_an_error_at_its_line() {
        let cases = [
            (
                "graph [\n node [ id 1 ]\n",
                3,
                "']' (the file is truncated)",
            ),
            ("graph [ node [ id \"x ] ]", 1, "a closing '\"'"),
            ("graph [\n\n ] ]", 3, "a ']' closes no list"),
            ("graph [ 12 ]", 1, "expected a key"),
            ("graph [ node [ id 1x ] ]", 1, "a number"),
        ];
        for (text, line, piece) in cases {
            match parse(text) {
                Err((l, e)) => assert!(l == line && e.contains(piece), "{text:?}: {l} {e}"),
                Ok(v) => panic!("{text:?}: {v:?}"),
            }
        }
        let deep = format!("graph [ {}{}", "x [ ".repeat(100), "] ".repeat(101));
        assert!(parse(&deep).is_err_and(|e| e.1.contains("levels of lists")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any text is read or refused, never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,60}|[\\[\\] \"a-z0-9#.\\n&;-]{0,60}") {
            let _ = parse(&text);
            let _ = unescape(&text);
        }
    }
}
