//! Pajek's `.net` files, as Pajek, networkx's `write_pajek`, igraph and the
//! classic network collections (Batagelj and Mrvar's Pajek datasets,
//! KONECT's and UCINET's conversions) write them:
//!
//! ```text
//! *Network karate
//! *Vertices 3
//! 1 "Mr Hi" 0.1 0.2 0.5 box ic Red
//! 2 b
//! *Arcs
//! 1 2 3.5 c Blue
//! *Edges
//! 2 3
//! *Arcslist
//! 1 2 3
//! *Matrix
//! 0 1 0
//! ...
//! ```
//!
//! Vertices are numbered from 1 to the `*Vertices` count, and their
//! numbers are their external ids (global id space); a vertex the file
//! declares but does not list is a node all the same. A vertex line's
//! label is the property `label`, its coordinates `x`, `y`, `z`, its shape
//! `shape`, and its `key value` pairs (`ic Red`) properties of their own.
//! An arc or edge line's third column is `weight` and its pairs are
//! properties; `*Arcslist`/`*Edgeslist` lines list a vertex's neighbours,
//! `*Matrix` rows its weights (a zero is no edge). Edges of `*Edges` are
//! stored once, as listed. Read line by line: memory does not grow with
//! the file.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use graph_storage::{Properties, PropertyValue};

use super::graphml::GraphmlOptions;
use super::source::{Item, ItemReader, JsonlPart, LineEvent, LineFiles, Loc, NodeRef, RowError};

/// The section a line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Before `*Vertices` (only `*Network` and comments may come).
    Start,
    Vertices,
    /// `*Arcs` and `*Edges`: `u v [weight] [key value ...]`.
    Pairs,
    /// `*Arcslist` and `*Edgeslist`: `u v1 v2 ...`.
    Lists,
    /// `*Matrix`: a row of weights a line.
    Matrix,
    /// A section that holds no part of the network (`*Partition`,
    /// `*Vector` of a `.paj` project): its lines are skipped.
    Other,
}

/// Vertex shapes Pajek draws (a word after the coordinates).
const SHAPES: [&str; 6] = ["ellipse", "box", "diamond", "triangle", "cross", "empty"];

/// More vertices than this are refused (a hostile count would otherwise
/// create nodes without end).
const MAX_VERTICES: u64 = 1 << 32;

/// A Pajek file's nodes and edges (the `part` of them asked for).
pub struct PajekReader {
    lines: LineFiles,
    part: JsonlPart,
    opts: GraphmlOptions,
    space: Arc<str>,
    section: Section,
    /// The `*Vertices` count, once read.
    vertices: Option<u64>,
    /// Vertex numbers listed so far (bit `n`), to make nodes of the others.
    listed: Vec<u64>,
    /// The vertices not listed, made into nodes when their section ends:
    /// the next number to look at, and the `*Vertices` line.
    unlisted: Option<(u64, Loc)>,
    /// The next `*Matrix` row.
    row: u64,
    /// Items of one line still to be returned (a list line's edges).
    queue: VecDeque<Result<(Item, Loc), RowError>>,
    /// The line being parsed.
    line: String,
    done: bool,
}

impl PajekReader {
    /// A reader of `path`, returning the items of `part`; nodes get
    /// `opts.label`, edges `opts.edge_type`.
    pub fn new(path: PathBuf, part: JsonlPart, opts: GraphmlOptions) -> Self {
        PajekReader {
            lines: LineFiles::new(vec![path]),
            part,
            opts,
            space: Arc::from(""),
            section: Section::Start,
            vertices: None,
            listed: Vec::new(),
            unlisted: None,
            row: 0,
            queue: VecDeque::new(),
            line: String::new(),
            done: false,
        }
    }

    fn nodes_wanted(&self) -> bool {
        self.part != JsonlPart::Relationships
    }

    fn edges_wanted(&self) -> bool {
        self.part != JsonlPart::Nodes
    }

    fn is_listed(&self, n: u64) -> bool {
        usize::try_from(n / 64)
            .ok()
            .and_then(|i| self.listed.get(i))
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    fn list(&mut self, n: u64) {
        let Ok(i) = usize::try_from(n / 64) else {
            return;
        };
        if self.listed.len() <= i {
            self.listed.resize(i + 1, 0);
        }
        self.listed[i] |= 1 << (n % 64);
    }

    /// The next vertex the file declared but did not list, as a node.
    fn next_unlisted(&mut self) -> Option<(Item, Loc)> {
        let count = self.vertices?;
        loop {
            let (next, loc) = self.unlisted.take()?;
            if next > count {
                return None;
            }
            self.unlisted = Some((next + 1, loc.clone()));
            if !self.is_listed(next) {
                let item = Item::Node {
                    space: Arc::clone(&self.space),
                    id: Some(next.to_string()),
                    labels: vec![self.opts.label.clone()],
                    properties: Properties::new(),
                };
                return Some((item, loc));
            }
        }
    }

    /// A section line (`*Word ...`).
    fn section_line(&mut self, words: &[&str], loc: &Loc) -> Result<(), (bool, usize, String)> {
        let name = words[0].to_ascii_lowercase();
        let leaving_vertices = self.section == Section::Vertices;
        let section = match name.as_str() {
            // A `.paj` project's partitions and vectors have their own
            // `*Vertices` line: it belongs to them.
            "*vertices" if self.section == Section::Other => Section::Other,
            "*network" if self.vertices.is_none() => Section::Start,
            "*network" => {
                return Err((
                    true,
                    0,
                    "a second *Network: import one network a file".into(),
                ));
            }
            "*vertices" => {
                if self.vertices.is_some() {
                    return Err((
                        true,
                        0,
                        "a second *Vertices: import one network a file".into(),
                    ));
                }
                let count = words.get(1).and_then(|w| w.parse::<u64>().ok());
                let Some(count) = count.filter(|c| *c <= MAX_VERTICES) else {
                    return Err((
                        true,
                        2,
                        format!(
                            "*Vertices takes the number of vertices (at most {MAX_VERTICES}), \
                             found {:?}",
                            words.get(1).copied().unwrap_or("nothing")
                        ),
                    ));
                };
                self.vertices = Some(count);
                self.unlisted = Some((1, loc.clone()));
                Section::Vertices
            }
            "*arcs" | "*edges" | "*arcslist" | "*edgeslist" | "*matrix" => {
                if self.vertices.is_none() {
                    return Err((true, 0, format!("{} before *Vertices", words[0])));
                }
                self.row = 0;
                match name.as_str() {
                    "*arcs" | "*edges" => Section::Pairs,
                    "*arcslist" | "*edgeslist" => Section::Lists,
                    _ => Section::Matrix,
                }
            }
            _ => Section::Other,
        };
        if leaving_vertices && section != Section::Vertices && !self.nodes_wanted() {
            self.unlisted = None;
        }
        self.section = section;
        Ok(())
    }

    /// A vertex number in a line, checked against the `*Vertices` count.
    fn vertex(&self, word: &str, column: usize) -> Result<u64, (bool, usize, String)> {
        let count = self.vertices.unwrap_or(0);
        match word.parse::<u64>() {
            Ok(n) if (1..=count).contains(&n) => Ok(n),
            _ => Err((
                false,
                column,
                format!("a vertex is a number from 1 to {count} (*Vertices), found {word:?}"),
            )),
        }
    }

    fn edge(&self, src: u64, dst: u64, properties: Properties) -> Item {
        let r = |n: u64, column| NodeRef {
            space: Arc::clone(&self.space),
            id: n.to_string(),
            column,
        };
        Item::Edge {
            start: r(src, 1),
            end: r(dst, 2),
            edge_type: self.opts.edge_type.clone(),
            properties,
        }
    }

    /// A line that is not blank, a comment or a section line.
    fn data_line(&mut self, words: &[&str], loc: &Loc) -> Result<(), (bool, usize, String)> {
        match self.section {
            Section::Start => Err((
                true,
                0,
                "a Pajek file starts with *Vertices (after an optional *Network): this is \
                 not one"
                    .into(),
            )),
            Section::Other => Ok(()),
            Section::Vertices => {
                let n = self.vertex(words[0], 1)?;
                let properties = vertex_properties(&words[1..])?;
                if self.nodes_wanted() {
                    self.list(n);
                    let item = Item::Node {
                        space: Arc::clone(&self.space),
                        id: Some(n.to_string()),
                        labels: vec![self.opts.label.clone()],
                        properties,
                    };
                    self.queue.push_back(Ok((item, loc.clone())));
                }
                Ok(())
            }
            _ if !self.edges_wanted() => Ok(()),
            Section::Pairs => {
                if words.len() < 2 {
                    return Err((
                        false,
                        0,
                        "an arc or edge line is `source target [weight] [key value ...]`".into(),
                    ));
                }
                let (src, dst) = (self.vertex(words[0], 1)?, self.vertex(words[1], 2)?);
                let mut properties = Properties::new();
                let mut rest = &words[2..];
                if let Some(w) = rest.first().and_then(|w| number(w)) {
                    properties.insert("weight", w);
                    rest = &rest[1..];
                }
                pairs(rest, 3 + words.len() - 2 - rest.len(), &mut properties)?;
                let item = self.edge(src, dst, properties);
                self.queue.push_back(Ok((item, loc.clone())));
                Ok(())
            }
            Section::Lists => {
                let src = self.vertex(words[0], 1)?;
                let mut edges = Vec::with_capacity(words.len() - 1);
                for (i, w) in words.iter().enumerate().skip(1) {
                    edges.push(self.edge(src, self.vertex(w, i + 1)?, Properties::new()));
                }
                self.queue
                    .extend(edges.into_iter().map(|e| Ok((e, loc.clone()))));
                Ok(())
            }
            Section::Matrix => {
                self.row += 1;
                let count = self.vertices.unwrap_or(0);
                if self.row > count {
                    return Err((
                        false,
                        0,
                        format!(
                            "a *Matrix has {count} rows (*Vertices), this is row {}",
                            self.row
                        ),
                    ));
                }
                if words.len() as u64 != count {
                    return Err((
                        false,
                        0,
                        format!(
                            "a *Matrix row has {count} columns (*Vertices), found {}",
                            words.len()
                        ),
                    ));
                }
                let mut edges = Vec::new();
                for (i, w) in words.iter().enumerate() {
                    let Some(v) = number(w) else {
                        return Err((
                            false,
                            i + 1,
                            format!("a *Matrix weight is a number, found {w:?}"),
                        ));
                    };
                    if !matches!(v, PropertyValue::Int(0)) && v != PropertyValue::Float(0.0) {
                        let properties = Properties::from([("weight".to_owned(), v)]);
                        edges.push(self.edge(self.row, i as u64 + 1, properties));
                    }
                }
                self.queue
                    .extend(edges.into_iter().map(|e| Ok((e, loc.clone()))));
                Ok(())
            }
        }
    }
}

/// A line's words: split at white space, a `"quoted"` word holding any.
fn words(line: &str) -> Result<Vec<&str>, (bool, usize, String)> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                return Err((
                    false,
                    out.len() + 1,
                    "a quoted word without its closing '\"'".into(),
                ));
            };
            out.push(&quoted[..end]);
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
    }
    Ok(out)
}

/// A number as Pajek writes them: an integer, else a float.
fn number(word: &str) -> Option<PropertyValue> {
    if let Ok(i) = word.parse::<i64>() {
        return Some(PropertyValue::Int(i));
    }
    let f = word.parse::<f64>().ok()?;
    // "inf" and "nan" parse as floats; in Pajek they are words.
    f.is_finite().then_some(PropertyValue::Float(f))
}

/// A word as a property value: a number, else a string.
fn scalar(word: &str) -> PropertyValue {
    number(word).unwrap_or_else(|| PropertyValue::String(word.into()))
}

/// `key value` pairs into `properties`; `column` is the first pair's.
fn pairs(
    words: &[&str],
    column: usize,
    properties: &mut Properties,
) -> Result<(), (bool, usize, String)> {
    if words.len() % 2 == 1 {
        return Err((
            false,
            column + words.len() - 1,
            format!(
                "attributes come in pairs (`ic Red`), {:?} has no value",
                words[words.len() - 1]
            ),
        ));
    }
    for pair in words.chunks_exact(2) {
        properties.insert(pair[0].to_owned(), scalar(pair[1]));
    }
    Ok(())
}

/// A vertex line's properties after its number: label, coordinates,
/// shape, then pairs.
fn vertex_properties(words: &[&str]) -> Result<Properties, (bool, usize, String)> {
    let mut properties = Properties::new();
    let Some((label, mut rest)) = words.split_first() else {
        return Ok(properties);
    };
    properties.insert("label", PropertyValue::String((*label).into()));
    for axis in ["x", "y", "z"] {
        match rest.first().and_then(|w| number(w)) {
            Some(v) => {
                properties.insert(axis, v);
                rest = &rest[1..];
            }
            None => break,
        }
    }
    if let Some(shape) = rest
        .first()
        .filter(|w| SHAPES.contains(&w.to_ascii_lowercase().as_str()))
    {
        properties.insert("shape", PropertyValue::String((*shape).into()));
        rest = &rest[1..];
    }
    pairs(rest, 2 + words.len() - rest.len(), &mut properties)?;
    Ok(properties)
}

impl ItemReader for PajekReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        loop {
            if let Some(next) = self.queue.pop_front() {
                return Some(next);
            }
            if self.section != Section::Vertices
                && let Some(node) = self.next_unlisted()
            {
                return Some(Ok(node));
            }
            if self.done {
                return None;
            }
            let (text, loc) = match self.lines.next_event() {
                None => {
                    self.done = true;
                    continue;
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(LineEvent::End(end))) => {
                    self.done = true;
                    if self.vertices.is_none() {
                        return Some(Err(RowError::fatal(
                            end,
                            0,
                            "a Pajek file without *Vertices".into(),
                        )));
                    }
                    if self.section == Section::Vertices {
                        // The unlisted vertices come after the last line.
                        self.section = Section::Other;
                        if !self.nodes_wanted() {
                            self.unlisted = None;
                        }
                    }
                    continue;
                }
                Some(Ok(LineEvent::Line(text, loc))) => {
                    // The line is copied out of the reader's buffer (into
                    // one of ours, reused) to be parsed beside `self`.
                    let mut line = std::mem::take(&mut self.line);
                    line.clear();
                    line.push_str(text.trim());
                    (line, loc)
                }
            };
            if text.is_empty() || text.starts_with('%') {
                self.line = text;
                continue;
            }
            let result = words(&text).and_then(|w| {
                if w[0].starts_with('*') {
                    self.section_line(&w, &loc)
                } else {
                    self.data_line(&w, &loc)
                }
            });
            self.line = text;
            match result {
                Ok(()) => {}
                Err((fatal, column, reason)) => {
                    if fatal {
                        self.done = true;
                        self.queue.clear();
                        self.unlisted = None;
                        return Some(Err(RowError::fatal(
                            loc,
                            column,
                            format!("Pajek: {reason}"),
                        )));
                    }
                    return Some(Err(RowError::bad(loc, column, format!("Pajek: {reason}"))));
                }
            }
        }
    }

    fn position(&self) -> u64 {
        self.lines.position()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn vertex_lines_read_as_networkx_and_pajek_write_them() {
        let cases: [(&str, Properties); 3] = [
            (
                "\"Mr Hi\" 0.1 0.2 0.5 box ic Red bw 2",
                Properties::from([
                    ("label".to_owned(), PropertyValue::String("Mr Hi".into())),
                    ("x".to_owned(), PropertyValue::Float(0.1)),
                    ("y".to_owned(), PropertyValue::Float(0.2)),
                    ("z".to_owned(), PropertyValue::Float(0.5)),
                    ("shape".to_owned(), PropertyValue::String("box".into())),
                    ("ic".to_owned(), PropertyValue::String("Red".into())),
                    ("bw".to_owned(), PropertyValue::Int(2)),
                ]),
            ),
            // networkx's write_pajek: id, name, x, y, shape.
            (
                "0 0.0 0.0 ellipse",
                Properties::from([
                    ("label".to_owned(), PropertyValue::String("0".into())),
                    ("x".to_owned(), PropertyValue::Float(0.0)),
                    ("y".to_owned(), PropertyValue::Float(0.0)),
                    ("shape".to_owned(), PropertyValue::String("ellipse".into())),
                ]),
            ),
            ("", Properties::new()),
        ];
        for (line, want) in cases {
            let w = words(line).map_err(|e| e.2);
            assert_eq!(
                w.and_then(|w| vertex_properties(&w).map_err(|e| e.2)),
                Ok(want),
                "{line}"
            );
        }
        let odd = words("a 1 2 ic").map_err(|e| e.2);
        assert!(
            odd.and_then(|w| vertex_properties(&w).map_err(|e| e.2))
                .is_err_and(|e| e.contains("\"ic\" has no value"))
        );
        assert!(words("\"open").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any line is read or refused, never a panic.
        #[test]
        fn any_line_is_read_or_refused(line in "\\PC{0,40}|[\"a-z0-9 .*-]{0,40}") {
            if let Ok(w) = words(&line) {
                let _ = vertex_properties(&w);
                let mut p = Properties::new();
                let _ = pairs(&w, 1, &mut p);
            }
        }
    }
}
