//! `graphstore export`: the whole graph as Neo4j admin-import CSV or JSON
//! Lines, streamed from one snapshot in bounded memory (cursors over the
//! store, never a list of all ids), so that export -> import gives the same
//! graph.
//!
//! CSV: `nodes.csv` (`:ID`, `:LABEL`, then one typed column per property
//! key) and `relationships.csv` (`:START_ID`, `:END_ID`, `:TYPE`, typed
//! columns). A first pass over the snapshot finds each key's column type:
//! a plain Neo4j type where every value of the key has that type and is
//! representable in a cell (an empty cell means "no property", so empty
//! strings and lists, and nulls, are not), else `json`. Ids are the store's
//! node ids. With `--gzip` (or, for JSON Lines, an output named `*.gz`)
//! every file is gzip-compressed, which `import` reads back as it is.
//!
//! GraphML: one `<key>` per property key and element kind, typed
//! (`boolean`, `long`, `double`, `string`) where every value of the key
//! has that type, else `string` holding each value's text (JSON for
//! lists, maps, bytes and vectors; ISO 8601 for times); labels and edge
//! types as Neo4j's APOC export writes them (`labels=":A:B"`, `label`
//! attributes, and `labels`/`label` data for readers that ignore
//! attributes); node ids `n<id>`. Text XML 1.0 cannot carry (control
//! characters) stops the export with the element it is in.
//!
//! Edge list: `source<TAB>target[<TAB>weight]` a line, store node ids,
//! under two `#` comment lines.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use graph_storage::{GraphReader, Properties, PropertyValue, ReadView};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{CliError, CliResult, Context};
use crate::import::source::CsvType;
use crate::progress::{self, Progress};
use crate::value;

/// The export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Neo4j admin-import CSV: a directory with nodes.csv and relationships.csv.
    Csv,
    /// JSON Lines (the APOC shape), one file.
    Jsonl,
    /// GraphML (typed keys; labels and types as APOC writes them), one
    /// file, for Gephi, networkx, igraph, yEd and `import --graphml`.
    Graphml,
    /// An edge list, `source<TAB>target[<TAB>weight]` a line with the
    /// store's node ids, for SNAP, networkx's `read_edgelist`, graph
    /// benchmarks and `import --edge-list`; nodes without edges, labels
    /// and other properties are not in it.
    #[value(alias = "edgelist")]
    EdgeList,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    /// Nodes written.
    pub nodes: u64,
    /// Relationships written.
    pub relationships: u64,
    /// Seconds in all.
    pub seconds: f64,
    /// Peak resident memory of the process, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// The files written.
    pub files: Vec<String>,
}

/// Items between two progress updates of an export.
const PROGRESS_EVERY: u64 = 4096;

impl ExportSummary {
    /// Counts a node written, and reports progress every
    /// [`PROGRESS_EVERY`] nodes.
    fn node_written(&mut self, progress: &mut Progress) {
        self.nodes += 1;
        if self.nodes.is_multiple_of(PROGRESS_EVERY) {
            progress.update(self.nodes, self.nodes);
        }
    }

    /// Counts a relationship written, and reports progress (nodes and
    /// relationships written so far) every [`PROGRESS_EVERY`] of them.
    fn relationship_written(&mut self, progress: &mut Progress) {
        self.relationships += 1;
        if self.relationships.is_multiple_of(PROGRESS_EVERY) {
            let done = self.nodes + self.relationships;
            progress.update(done, done);
        }
    }
}

/// A property key's column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColType {
    Typed(CsvType, bool),
    Json,
}

fn cell_type(v: &PropertyValue, delim: char) -> ColType {
    let scalar = |v: &PropertyValue| -> Option<CsvType> {
        match v {
            PropertyValue::Bool(_) => Some(CsvType::Bool),
            PropertyValue::Int(_) => Some(CsvType::Int),
            PropertyValue::Float(_) => Some(CsvType::Float),
            PropertyValue::String(s) if !s.is_empty() => Some(CsvType::String),
            PropertyValue::DateTime(_) => Some(CsvType::DateTime),
            _ => None,
        }
    };
    match v {
        PropertyValue::Bytes(b) if !b.is_empty() => ColType::Typed(CsvType::Bytes, false),
        PropertyValue::Vector(x) if !x.is_empty() => ColType::Typed(CsvType::Vector, false),
        PropertyValue::List(items) if !items.is_empty() => {
            let first = scalar(&items[0]);
            let uniform = items.iter().all(|i| {
                scalar(i) == first && !matches!(i, PropertyValue::String(s) if s.contains(delim))
            });
            match first {
                Some(t) if uniform => ColType::Typed(t, true),
                _ => ColType::Json,
            }
        }
        other => scalar(other).map_or(ColType::Json, |t| ColType::Typed(t, false)),
    }
}

fn merge(a: Option<ColType>, b: ColType) -> ColType {
    match a {
        None => b,
        Some(a) if a == b => a,
        Some(_) => ColType::Json,
    }
}

fn header(name: &str, t: ColType) -> String {
    match t {
        ColType::Typed(ty, false) => format!("{name}:{}", ty.name()),
        ColType::Typed(ty, true) => format!("{name}:{}[]", ty.name()),
        ColType::Json => format!("{name}:json"),
    }
}

fn scalar_text(v: &PropertyValue) -> String {
    match v {
        PropertyValue::Bool(b) => b.to_string(),
        PropertyValue::Int(i) => i.to_string(),
        PropertyValue::Float(f) => value::format_float(*f),
        PropertyValue::String(s) => s.to_string(),
        PropertyValue::DateTime(t) => value::format_datetime(*t),
        PropertyValue::Bytes(b) => value::hex(b),
        other => value::to_json(other).to_string(),
    }
}

fn cell(v: &PropertyValue, t: ColType, delim: char) -> String {
    match (t, v) {
        (ColType::Json, v) => value::to_json(v).to_string(),
        (ColType::Typed(CsvType::Vector, _), PropertyValue::Vector(xs)) => xs
            .iter()
            .map(|x| value::format_float(f64::from(*x)))
            .collect::<Vec<_>>()
            .join(&delim.to_string()),
        (ColType::Typed(_, true), PropertyValue::List(items)) => items
            .iter()
            .map(scalar_text)
            .collect::<Vec<_>>()
            .join(&delim.to_string()),
        (_, v) => scalar_text(v),
    }
}

/// Column types of every property key, from one pass over `props`.
fn schema<'a>(
    props: impl Iterator<Item = graph_storage::Result<Properties>> + 'a,
    delim: char,
) -> graph_storage::Result<BTreeMap<String, ColType>> {
    let mut cols: BTreeMap<String, ColType> = BTreeMap::new();
    for p in props {
        for (k, v) in p? {
            let t = cell_type(&v, delim);
            let merged = merge(cols.get(k.as_str()).copied(), t);
            cols.insert(k.into(), merged);
        }
    }
    Ok(cols)
}

/// An output stream, gzip-compressed or not. The compressor gets large
/// writes: a buffer sits in front of it (JSON Lines are written a token at
/// a time, and deflating each token alone made a 1M-node, 5M-edge export
/// take 118 s instead of 67 s). It runs at gzip's fast level: 45 s and
/// 164 MB for that export against 67 s and 137 MB at the default level
/// (858 MB uncompressed, 16 to 26 s).
enum Output<W: Write> {
    Plain(W),
    Gzip(BufWriter<GzEncoder<W>>),
}

impl<W: Write> Output<W> {
    fn new(w: W, gzip: bool) -> Self {
        if gzip {
            Output::Gzip(BufWriter::with_capacity(
                1 << 20,
                GzEncoder::new(w, Compression::fast()),
            ))
        } else {
            Output::Plain(w)
        }
    }

    /// Ends the stream (gzip's trailer) and flushes it: without this a
    /// compressed file is truncated.
    fn finish(self) -> std::io::Result<()> {
        match self {
            Output::Plain(mut w) => w.flush(),
            Output::Gzip(b) => b
                .into_inner()
                .map_err(|e| e.into_error())?
                .finish()?
                .flush(),
        }
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Plain(w) => w.write(buf),
            Output::Gzip(b) => b.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.flush(),
            Output::Gzip(b) => b.flush(),
        }
    }
}

/// Ends a CSV file: its buffer written, the stream finished.
fn finish_csv<W: Write>(w: csv::Writer<Output<W>>) -> std::io::Result<()> {
    w.into_inner().map_err(|e| e.into_error())?.finish()
}

fn create(path: &Path) -> CliResult<BufWriter<File>> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .ctx(|| format!("cannot create {}", path.display()))
}

/// A GraphML key's type: the one of every value of the key, or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XmlType {
    Boolean,
    Long,
    Double,
    String,
}

impl XmlType {
    fn of(v: &PropertyValue) -> XmlType {
        match v {
            PropertyValue::Bool(_) => XmlType::Boolean,
            PropertyValue::Int(_) => XmlType::Long,
            PropertyValue::Float(_) => XmlType::Double,
            _ => XmlType::String,
        }
    }

    fn name(self) -> &'static str {
        match self {
            XmlType::Boolean => "boolean",
            XmlType::Long => "long",
            XmlType::Double => "double",
            XmlType::String => "string",
        }
    }
}

/// GraphML key types of every property key, from one pass over `props`.
fn xml_schema<'a>(
    props: impl Iterator<Item = graph_storage::Result<Properties>> + 'a,
) -> graph_storage::Result<BTreeMap<String, XmlType>> {
    let mut keys: BTreeMap<String, XmlType> = BTreeMap::new();
    for p in props {
        for (k, v) in p? {
            let t = XmlType::of(&v);
            keys.entry(k.into())
                .and_modify(|old| {
                    if *old != t {
                        *old = XmlType::String;
                    }
                })
                .or_insert(t);
        }
    }
    Ok(keys)
}

/// A value's GraphML text, for a key of type `t`.
fn xml_text(v: &PropertyValue, t: XmlType) -> String {
    match (t, v) {
        (XmlType::Double, PropertyValue::Float(f)) if f.is_infinite() => {
            if *f > 0.0 { "INF" } else { "-INF" }.to_owned()
        }
        (_, PropertyValue::String(s)) => s.to_string(),
        (_, PropertyValue::Null) => "null".to_owned(),
        (_, v) => scalar_text(v),
    }
}

/// `text` escaped for XML, or `None` if XML 1.0 cannot carry it (control
/// characters other than tab, line feed and carriage return).
fn xml_escaped(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let allowed = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r') || c > '\u{9f}';
    let ok = text
        .chars()
        .all(|c| allowed(c) && !matches!(c, '\u{fffe}' | '\u{ffff}'));
    ok.then(|| quick_xml::escape::escape(text))
}

/// Writes the graph as GraphML to `w`.
fn write_graphml<V: ReadView, W: Write>(
    reader: &GraphReader<'_, V>,
    w: &mut W,
    summary: &mut ExportSummary,
    progress: &mut Progress,
) -> CliResult<()> {
    let read_err = || "cannot read the store".to_owned();
    let node_keys =
        xml_schema(reader.iter_nodes().map(|n| n.map(|n| n.properties))).ctx(read_err)?;
    let edge_keys =
        xml_schema(reader.iter_edges().map(|e| e.map(|e| e.properties))).ctx(read_err)?;
    let unwritable = |what: String, text: &str| {
        CliError::new(format!(
            "{what} holds {text:?}, with a control character XML cannot carry: export with --format jsonl or csv"
        ))
    };
    let esc = |what: &dyn Fn() -> String, text: &str| -> CliResult<String> {
        xml_escaped(text)
            .map(std::borrow::Cow::into_owned)
            .ok_or_else(|| unwritable(what(), text))
    };
    let io = |e: std::io::Error| CliError::new(format!("cannot write the GraphML output: {e}"));
    writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>").map_err(io)?;
    writeln!(
        w,
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns \
         http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">"
    )
    .map_err(io)?;
    // The APOC-style data keys, unless a property has the name.
    let labels_key = !node_keys.contains_key("labels");
    let label_key = !edge_keys.contains_key("label");
    if labels_key {
        writeln!(
            w,
            "  <key id=\"labels\" for=\"node\" attr.name=\"labels\" attr.type=\"string\"/>"
        )
        .map_err(io)?;
    }
    if label_key {
        writeln!(
            w,
            "  <key id=\"label\" for=\"edge\" attr.name=\"label\" attr.type=\"string\"/>"
        )
        .map_err(io)?;
    }
    let mut ids: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (domain, keys, prefix) in [("node", &node_keys, "n"), ("edge", &edge_keys, "e")] {
        for (i, (name, t)) in keys.iter().enumerate() {
            let id = format!("{prefix}{i}");
            let name_xml = esc(&|| format!("the {domain} property key {name:?}"), name)?;
            writeln!(
                w,
                "  <key id=\"{id}\" for=\"{domain}\" attr.name=\"{name_xml}\" attr.type=\"{}\"/>",
                t.name()
            )
            .map_err(io)?;
            ids.insert((domain, name.as_str()), id);
        }
    }
    writeln!(w, "  <graph edgedefault=\"directed\">").map_err(io)?;
    let data = |w: &mut W,
                domain: &str,
                keys: &BTreeMap<String, XmlType>,
                props: &Properties,
                what: &dyn Fn() -> String|
     -> CliResult<()> {
        for (k, v) in props {
            let (Some(t), Some(id)) = (keys.get(k.as_str()), ids.get(&(domain, k.as_str()))) else {
                continue;
            };
            let text = esc(&|| format!("{}, property {k:?},", what()), &xml_text(v, *t))?;
            writeln!(w, "      <data key=\"{id}\">{text}</data>").map_err(io)?;
        }
        Ok(())
    };
    for node in reader.iter_nodes() {
        let node = node.ctx(read_err)?;
        let what = || format!("node {}", node.id.0);
        let labels: String = node.labels.iter().map(|l| format!(":{l}")).collect();
        let labels = esc(&|| format!("{}, a label,", what()), &labels)?;
        writeln!(w, "    <node id=\"n{}\" labels=\"{labels}\">", node.id.0).map_err(io)?;
        if labels_key {
            writeln!(w, "      <data key=\"labels\">{labels}</data>").map_err(io)?;
        }
        data(w, "node", &node_keys, &node.properties, &what)?;
        writeln!(w, "    </node>").map_err(io)?;
        summary.node_written(progress);
    }
    for edge in reader.iter_edges() {
        let edge = edge.ctx(read_err)?;
        let what = || format!("edge {}", edge.id.0);
        let ty = esc(&|| format!("{}, its type,", what()), &edge.edge_type)?;
        writeln!(
            w,
            "    <edge id=\"e{}\" source=\"n{}\" target=\"n{}\" label=\"{ty}\">",
            edge.id.0, edge.src.0, edge.dst.0
        )
        .map_err(io)?;
        if label_key {
            writeln!(w, "      <data key=\"label\">{ty}</data>").map_err(io)?;
        }
        data(w, "edge", &edge_keys, &edge.properties, &what)?;
        writeln!(w, "    </edge>").map_err(io)?;
        summary.relationship_written(progress);
    }
    writeln!(w, "  </graph>\n</graphml>").map_err(io)?;
    Ok(())
}

/// The one-file output `out` (`-`: standard output), gzip-compressed
/// with `gzip` or a name ending in `.gz`; and whether it is standard
/// output.
fn stream(out: &Path, gzip: bool) -> CliResult<(Output<Box<dyn Write>>, bool)> {
    let to_stdout = out == Path::new("-");
    let inner: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(create(out)?)
    };
    let gzip = gzip || out.extension().is_some_and(|e| e == "gz");
    Ok((Output::new(inner, gzip), to_stdout))
}

/// Writes the edges as an edge list (`source<TAB>target[<TAB>weight]`,
/// store node ids) after a comment header.
fn write_edge_list<V: ReadView, W: Write>(
    reader: &GraphReader<'_, V>,
    w: &mut W,
    weight: Option<&str>,
    out: &Path,
    summary: &mut ExportSummary,
    progress: &mut Progress,
) -> CliResult<()> {
    let read_err = || "cannot read the store".to_owned();
    let write_err = || format!("cannot write {}", out.display());
    let edges = reader
        .edge_count()
        .ctx(|| "cannot read the edge count".to_owned())?;
    writeln!(
        w,
        "# graphstore edge list: {edges} edges, between the store's node ids (nodes \
         without edges are not listed)\n# source\ttarget{}",
        weight.map(|p| format!("\t{p}")).unwrap_or_default()
    )
    .ctx(write_err)?;
    for edge in reader.iter_edges() {
        let edge = edge.ctx(read_err)?;
        match weight {
            None => writeln!(w, "{}\t{}", edge.src.0, edge.dst.0),
            Some(p) => {
                let v = match edge.properties.get(p) {
                    Some(PropertyValue::Int(i)) => i.to_string(),
                    Some(PropertyValue::Float(f)) => value::format_float(*f),
                    other => {
                        return Err(CliError::new(format!(
                            "edge {} has {} as its {p:?}, and an edge list's weight \
                             column takes numbers: pick a numeric property with \
                             --weight, or leave it out",
                            edge.id.0,
                            other.map_or("no value", PropertyValue::type_name)
                        )));
                    }
                };
                writeln!(w, "{}\t{}\t{v}", edge.src.0, edge.dst.0)
            }
        }
        .ctx(write_err)?;
        summary.relationship_written(progress);
    }
    Ok(())
}

/// Writes the graph as JSON Lines, nodes then relationships, in the shape
/// of APOC's export.
fn write_jsonl<V: ReadView, W: Write>(
    reader: &GraphReader<'_, V>,
    w: &mut W,
    out: &Path,
    summary: &mut ExportSummary,
    progress: &mut Progress,
) -> CliResult<()> {
    let read_err = || "cannot read the store".to_owned();
    let write_err = || format!("cannot write {}", out.display());
    let props = |p: &Properties| -> Value {
        Value::Object(
            p.iter()
                .map(|(k, v)| (k.to_string(), value::to_json(v)))
                .collect::<Map<_, _>>(),
        )
    };
    for node in reader.iter_nodes() {
        let node = node.ctx(read_err)?;
        let line = serde_json::json!({
            "type": "node",
            "id": node.id.0.to_string(),
            "labels": node.labels,
            "properties": props(&node.properties),
        });
        writeln!(w, "{line}").ctx(write_err)?;
        summary.node_written(progress);
    }
    for edge in reader.iter_edges() {
        let edge = edge.ctx(read_err)?;
        let line = serde_json::json!({
            "type": "relationship",
            "id": edge.id.0.to_string(),
            "label": edge.edge_type,
            "start": {"id": edge.src.0.to_string()},
            "end": {"id": edge.dst.0.to_string()},
            "properties": props(&edge.properties),
        });
        writeln!(w, "{line}").ctx(write_err)?;
        summary.relationship_written(progress);
    }
    Ok(())
}

/// Writes a one-file format to `out` (see [`stream`]): `body` writes
/// through the writer, counting into the summary and the progress display
/// (hidden when writing to standard output); then the file is finished
/// (its gzip trailer written and flushed) and named in the summary.
fn one_file(
    out: &Path,
    gzip: bool,
    quiet: bool,
    total: u64,
    summary: &mut ExportSummary,
    body: impl FnOnce(&mut Output<Box<dyn Write>>, &mut ExportSummary, &mut Progress) -> CliResult<()>,
) -> CliResult<()> {
    let (mut w, to_stdout) = stream(out, gzip)?;
    let mut progress = Progress::new("export", total, quiet || to_stdout);
    body(&mut w, summary, &mut progress)?;
    let name = out.display().to_string();
    w.finish().ctx(|| format!("cannot write {name}"))?;
    if !to_stdout {
        summary.files.push(name);
    }
    progress.finish();
    Ok(())
}

/// Writes the graph seen by `reader` (a snapshot) to `out`.
///
/// # Errors
/// Store errors, unwritable output, a label holding the array delimiter.
pub fn run<V: ReadView>(
    reader: &GraphReader<'_, V>,
    format: Format,
    out: &Path,
    array_delimiter: char,
    weight: Option<&str>,
    gzip: bool,
    quiet: bool,
) -> CliResult<ExportSummary> {
    if weight.is_some() && format != Format::EdgeList {
        return Err(CliError::new(
            "--weight names the third column of an edge list: give it with --format edge-list",
        ));
    }
    let ext = if gzip { ".gz" } else { "" };
    let started = Instant::now();
    let total = reader
        .node_count()
        .ctx(|| "cannot read the node count".to_owned())?
        + reader
            .edge_count()
            .ctx(|| "cannot read the edge count".to_owned())?;
    let mut summary = ExportSummary::default();
    let read_err = || "cannot read the store".to_owned();
    match format {
        Format::Csv => {
            if out.exists() && !out.is_dir() {
                return Err(CliError::new(format!(
                    "{} is a file; CSV export writes a directory (nodes.csv, relationships.csv)",
                    out.display()
                )));
            }
            std::fs::create_dir_all(out).ctx(|| format!("cannot create {}", out.display()))?;
            let node_cols = schema(
                reader.iter_nodes().map(|n| n.map(|n| n.properties)),
                array_delimiter,
            )
            .ctx(read_err)?;
            let edge_cols = schema(
                reader.iter_edges().map(|e| e.map(|e| e.properties)),
                array_delimiter,
            )
            .ctx(read_err)?;
            let mut progress = Progress::new("export", total, quiet);
            let nodes_path = out.join(format!("nodes.csv{ext}"));
            let mut w = csv::Writer::from_writer(Output::new(create(&nodes_path)?, gzip));
            let write_err = || format!("cannot write {}", nodes_path.display());
            let mut head = vec![":ID".to_owned(), ":LABEL".to_owned()];
            head.extend(node_cols.iter().map(|(k, t)| header(k, *t)));
            w.write_record(&head).ctx(write_err)?;
            let mut row: Vec<String> = Vec::with_capacity(head.len());
            for node in reader.iter_nodes() {
                let node = node.ctx(read_err)?;
                if let Some(l) = node.labels.iter().find(|l| l.contains(array_delimiter)) {
                    return Err(CliError::new(format!(
                        "node {} has label {l:?} holding the array delimiter {array_delimiter:?}: export with --array-delimiter set to another character, or --format jsonl",
                        node.id.0
                    )));
                }
                row.clear();
                row.push(node.id.0.to_string());
                row.push(node.labels.join(&array_delimiter.to_string()));
                for (k, t) in &node_cols {
                    row.push(
                        node.properties
                            .get(k)
                            .map(|v| cell(v, *t, array_delimiter))
                            .unwrap_or_default(),
                    );
                }
                w.write_record(&row).ctx(write_err)?;
                summary.node_written(&mut progress);
            }
            finish_csv(w).ctx(write_err)?;
            summary.files.push(nodes_path.display().to_string());

            let rels_path = out.join(format!("relationships.csv{ext}"));
            let mut w = csv::Writer::from_writer(Output::new(create(&rels_path)?, gzip));
            let write_err = || format!("cannot write {}", rels_path.display());
            let mut head = vec![
                ":START_ID".to_owned(),
                ":END_ID".to_owned(),
                ":TYPE".to_owned(),
            ];
            head.extend(edge_cols.iter().map(|(k, t)| header(k, *t)));
            w.write_record(&head).ctx(write_err)?;
            for edge in reader.iter_edges() {
                let edge = edge.ctx(read_err)?;
                row.clear();
                row.push(edge.src.0.to_string());
                row.push(edge.dst.0.to_string());
                row.push(edge.edge_type.clone());
                for (k, t) in &edge_cols {
                    row.push(
                        edge.properties
                            .get(k)
                            .map(|v| cell(v, *t, array_delimiter))
                            .unwrap_or_default(),
                    );
                }
                w.write_record(&row).ctx(write_err)?;
                summary.relationship_written(&mut progress);
            }
            finish_csv(w).ctx(write_err)?;
            summary.files.push(rels_path.display().to_string());
            progress.finish();
        }
        Format::Graphml => one_file(
            out,
            gzip,
            quiet,
            total,
            &mut summary,
            |w, summary, progress| write_graphml(reader, w, summary, progress),
        )?,
        Format::EdgeList => one_file(
            out,
            gzip,
            quiet,
            total,
            &mut summary,
            |w, summary, progress| write_edge_list(reader, w, weight, out, summary, progress),
        )?,
        Format::Jsonl => one_file(
            out,
            gzip,
            quiet,
            total,
            &mut summary,
            |w, summary, progress| write_jsonl(reader, w, out, summary, progress),
        )?,
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.peak_rss_bytes = progress::peak_rss_bytes();
    Ok(summary)
}

/// The summary for people.
pub fn describe(s: &ExportSummary) -> String {
    format!(
        "exported {} nodes and {} relationships in {:.2} s to {}, peak memory {}",
        progress::count(s.nodes),
        progress::count(s.relationships),
        s.seconds,
        if s.files.is_empty() {
            "standard output".to_owned()
        } else {
            s.files.join(", ")
        },
        s.peak_rss_bytes
            .map_or_else(|| "unknown".into(), progress::bytes),
    )
}
