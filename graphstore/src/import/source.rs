//! Input files read as a stream of items: Neo4j admin-import CSV, JSON
//! Lines, plain edge lists. Every reader reports bad rows with file, line,
//! column and reason, and never panics on bad bytes.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;
use graph_storage::{Properties, PropertyValue};
use serde_json::Value;

use crate::value;

/// Where a row is: file, line (1-based) and column (1-based, 0 if the
/// whole row is at fault).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The file, as given on the command line.
    pub file: Arc<str>,
    /// The row's first line.
    pub line: u64,
}

/// A row that cannot be imported.
#[derive(Debug, Clone)]
pub struct RowError {
    /// Where the row is.
    pub loc: Loc,
    /// The column at fault (1-based), or 0 for the whole row.
    pub column: usize,
    /// Why.
    pub reason: String,
    /// Nothing after this in the file can be read (it cannot be opened or
    /// read, a compressed stream is damaged or truncated, a CSV header is
    /// bad): skipping cannot help, so the import stops even with
    /// `--skip-bad-rows`.
    pub fatal: bool,
}

impl RowError {
    /// A bad row: skipped with `--skip-bad-rows`.
    pub(crate) fn bad(loc: Loc, column: usize, reason: String) -> Self {
        RowError {
            loc,
            column,
            reason,
            fatal: false,
        }
    }

    /// What stops the import even with `--skip-bad-rows`.
    pub(crate) fn fatal(loc: Loc, column: usize, reason: String) -> Self {
        RowError {
            fatal: true,
            ..RowError::bad(loc, column, reason)
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.loc.file, self.loc.line, self.column, self.reason
        )
    }
}

/// A reference from a relationship to a node by external id.
#[derive(Debug, Clone)]
pub struct NodeRef {
    /// The id space.
    pub space: Arc<str>,
    /// The external id.
    pub id: String,
    /// The column it was read from, for messages.
    pub column: usize,
}

/// One importable row.
#[derive(Debug, Clone)]
pub enum Item {
    /// A node, with its external id if it has one.
    Node {
        /// The id space of `id`.
        space: Arc<str>,
        /// The external id (`None`: the node cannot be referred to).
        id: Option<String>,
        /// Its labels.
        labels: Vec<String>,
        /// Its properties.
        properties: Properties,
    },
    /// A relationship between two nodes named by external id.
    Edge {
        /// The source.
        start: NodeRef,
        /// The target.
        end: NodeRef,
        /// The type.
        edge_type: String,
        /// Its properties.
        properties: Properties,
    },
}

/// A reader of items.
pub trait ItemReader {
    /// The next row: `None` at the end, an error for a bad row (reading
    /// may continue after it).
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>>;
    /// Bytes of input consumed so far.
    fn position(&self) -> u64;
}

/// A value type of a Neo4j CSV header column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvType {
    /// `int`, `long`, `short`, `byte`.
    Int,
    /// `float`, `double`.
    Float,
    /// `boolean`.
    Bool,
    /// `string`, `char`.
    String,
    /// `datetime`, `localdatetime`, `date` (ISO 8601, kept as UTC
    /// microseconds).
    DateTime,
    /// `bytes` (an extension: hex).
    Bytes,
    /// `vector` (an extension: f32 numbers separated by the array
    /// delimiter).
    Vector,
    /// `json` (an extension: any value in the JSON mapping of docs/IMPORT.md).
    Json,
}

impl CsvType {
    fn parse(name: &str) -> Option<(CsvType, bool)> {
        let lower = name.to_ascii_lowercase();
        let (base, array) = match lower.strip_suffix("[]") {
            Some(b) => (b.to_owned(), true),
            None => (lower, false),
        };
        let t = match base.as_str() {
            "int" | "long" | "short" | "byte" => CsvType::Int,
            "float" | "double" => CsvType::Float,
            "boolean" | "bool" => CsvType::Bool,
            "string" | "char" => CsvType::String,
            "datetime" | "localdatetime" | "date" => CsvType::DateTime,
            "bytes" if !array => CsvType::Bytes,
            "vector" if !array => CsvType::Vector,
            "json" if !array => CsvType::Json,
            _ => return None,
        };
        Some((t, array))
    }

    /// The header name of this type (as export writes it).
    pub fn name(self) -> &'static str {
        match self {
            CsvType::Int => "long",
            CsvType::Float => "double",
            CsvType::Bool => "boolean",
            CsvType::String => "string",
            CsvType::DateTime => "datetime",
            CsvType::Bytes => "bytes",
            CsvType::Vector => "vector",
            CsvType::Json => "json",
        }
    }

    fn scalar(self, text: &str, array_delim: char) -> Result<PropertyValue, String> {
        Ok(match self {
            CsvType::Int => PropertyValue::Int(value::parse_int(text)?),
            CsvType::Float => PropertyValue::Float(value::parse_float(text)?),
            CsvType::Bool => PropertyValue::Bool(value::parse_bool(text)?),
            CsvType::String => PropertyValue::String(text.into()),
            CsvType::DateTime => PropertyValue::DateTime(value::parse_datetime(text)?),
            CsvType::Bytes => PropertyValue::Bytes(value::unhex(text)?),
            CsvType::Vector => {
                let mut out = Vec::new();
                for part in text.split(array_delim) {
                    let x = value::parse_float(part)?;
                    #[allow(clippy::cast_possible_truncation, reason = "vectors hold f32")]
                    out.push(x as f32);
                }
                PropertyValue::Vector(out)
            }
            CsvType::Json => {
                let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
                value::from_json(&v)?
            }
        })
    }
}

/// What a CSV header column holds.
#[derive(Debug, Clone)]
enum Column {
    /// `name:ID(space)`: the node's external id; stored as property `name`
    /// when named.
    Id {
        space: Arc<str>,
        name: Option<String>,
    },
    /// `:LABEL`.
    Label,
    /// `:START_ID(space)`.
    Start(Arc<str>),
    /// `:END_ID(space)`.
    End(Arc<str>),
    /// `:TYPE`.
    Type,
    /// `:IGNORE` or `name:IGNORE`.
    Ignore,
    /// A property.
    Property {
        name: String,
        ty: CsvType,
        array: bool,
    },
}

/// The kind of a CSV file set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    /// A node file (`--nodes`).
    Nodes,
    /// A relationship file (`--relationships`).
    Relationships,
}

/// Splits `name:TYPE(space)` into its parts.
fn split_header(field: &str) -> (String, Option<String>, Option<String>) {
    match field.rfind(':') {
        Some(i) => {
            let name = field[..i].to_owned();
            let rest = &field[i + 1..];
            match (rest.find('('), rest.ends_with(')')) {
                (Some(p), true) => (
                    name,
                    Some(rest[..p].to_owned()),
                    Some(rest[p + 1..rest.len() - 1].to_owned()),
                ),
                _ => (name, Some(rest.to_owned()), None),
            }
        }
        None => (field.to_owned(), None, None),
    }
}

fn parse_header(fields: &[String], kind: CsvKind, loc: &Loc) -> Result<Vec<Column>, RowError> {
    let err = |column: usize, reason: String| RowError {
        fatal: false,
        loc: loc.clone(),
        column,
        reason,
    };
    let mut cols = Vec::with_capacity(fields.len());
    for (i, raw) in fields.iter().enumerate() {
        let field = raw.trim();
        let (name, ty, space) = split_header(field);
        let space: Arc<str> = Arc::from(space.unwrap_or_default());
        let col = match ty.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("ID") if kind == CsvKind::Nodes => Column::Id {
                space,
                name: (!name.is_empty()).then_some(name),
            },
            Some("LABEL") if kind == CsvKind::Nodes => Column::Label,
            Some("START_ID") if kind == CsvKind::Relationships => Column::Start(space),
            Some("END_ID") if kind == CsvKind::Relationships => Column::End(space),
            Some("TYPE") if kind == CsvKind::Relationships => Column::Type,
            Some("IGNORE") => Column::Ignore,
            Some(t @ ("ID" | "LABEL" | "START_ID" | "END_ID" | "TYPE")) => {
                let file_kind = match kind {
                    CsvKind::Nodes => "a node file (--nodes)",
                    CsvKind::Relationships => "a relationship file (--relationships)",
                };
                return Err(err(
                    i + 1,
                    format!("header column {field:?}: :{t} does not belong in {file_kind}"),
                ));
            }
            _ => {
                if name.is_empty() {
                    return Err(err(
                        i + 1,
                        format!("header column {field:?} has no property name"),
                    ));
                }
                let type_name = ty.clone().unwrap_or_else(|| "string".into());
                match CsvType::parse(&type_name) {
                    Some((ty, array)) => Column::Property { name, ty, array },
                    None => {
                        return Err(err(
                            i + 1,
                            format!(
                                "header column {field:?}: unsupported type {type_name:?} (use int, long, float, double, boolean, string, datetime, their [] arrays, bytes, vector or json)"
                            ),
                        ));
                    }
                }
            }
        };
        cols.push(col);
    }
    let count = |f: fn(&Column) -> bool| cols.iter().filter(|c| f(c)).count();
    match kind {
        CsvKind::Nodes => {
            if count(|c| matches!(c, Column::Id { .. })) > 1 {
                return Err(err(0, "a node file has at most one :ID column".into()));
            }
        }
        CsvKind::Relationships => {
            for (what, n) in [
                (":START_ID", count(|c| matches!(c, Column::Start(_)))),
                (":END_ID", count(|c| matches!(c, Column::End(_)))),
            ] {
                if n != 1 {
                    return Err(err(
                        0,
                        format!("a relationship file needs exactly one {what} column, found {n}"),
                    ));
                }
            }
            if count(|c| matches!(c, Column::Type)) > 1 {
                return Err(err(
                    0,
                    "a relationship file has at most one :TYPE column".into(),
                ));
            }
        }
    }
    Ok(cols)
}

/// Opens an input file, counting into `count` the bytes read from it (so
/// progress is measured against file sizes). A file that starts with
/// gzip's magic bytes is decompressed as it is read, every member of it
/// (as `cat a.gz b.gz` and bgzip make them): datasets import as published
/// (`.txt.gz`, `.csv.gz`). The error names the file.
pub(crate) fn open(
    path: &Path,
    count: &Arc<std::sync::atomic::AtomicU64>,
) -> Result<Input, String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut raw = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            count: Arc::clone(count),
        },
    );
    let cannot_read = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let head = raw.fill_buf().map_err(cannot_read)?;
    let mut input: Input = if head.starts_with(&GZIP_MAGIC) {
        Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };
    if let Some(what) = unread_format(input.fill_buf().map_err(cannot_read)?) {
        return Err(format!("{} is {what}", path.display()));
    }
    Ok(input)
}

/// What an input is when it is an archive, or compressed by something
/// other than gzip: the formats datasets ship in that are not read as
/// they are, named with what to do, instead of being read as text (rows
/// of garbage). Looked for in the first bytes, after gzip's decompression.
fn unread_format(head: &[u8]) -> Option<&'static str> {
    // bzip2: "BZh", the block size, then the block magic (pi's digits).
    let bzip2 = head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    Some(if bzip2 {
        "bzip2-compressed (as KONECT's .tar.bz2): only gzip is read; decompress it first \
         (`tar xjf` for an archive, `bunzip2` otherwise)"
    } else if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        "xz-compressed: only gzip is read; decompress it first (`unxz`, or `tar xJf`)"
    } else if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        "zstd-compressed: only gzip is read; decompress it first (`unzstd`)"
    } else if head.starts_with(b"PK\x03\x04") {
        "a zip archive: extract its files first (`unzip`) and import those"
    } else if head.get(257..262) == Some(b"ustar") {
        "a tar archive (as SuiteSparse's .tar.gz): extract its files first (`tar xf`) \
         and import those"
    } else {
        return None;
    })
}

/// The first two bytes of a gzip member (RFC 1952). No UTF-8 text starts
/// with them (0x8B is a continuation byte), so a plain input is never
/// taken for a compressed one.
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// An open input file, decompressed if it was compressed.
pub(crate) type Input = Box<dyn BufRead + Send>;

/// A reader counting the bytes it has handed out.
struct Counting<R> {
    inner: R,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// One open CSV file.
type CsvFile = csv::Reader<Input>;

/// Options of the CSV reader.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The field delimiter (default `,`).
    pub delimiter: u8,
    /// The delimiter inside array cells and `:LABEL` (default `;`).
    pub array_delimiter: char,
}

/// A set of Neo4j admin-import CSV files: the header is the first row of
/// the first file; every file's rows are data after that.
pub struct CsvReader {
    kind: CsvKind,
    files: Vec<PathBuf>,
    next_file: usize,
    reader: Option<(CsvFile, Arc<str>)>,
    columns: Option<Vec<Column>>,
    extra_labels: Vec<String>,
    default_type: Option<String>,
    opts: CsvOptions,
    consumed_before: u64,
    count: Arc<std::sync::atomic::AtomicU64>,
    record: csv::StringRecord,
    failed: bool,
}

impl CsvReader {
    /// A reader of `files` of `kind`; `extra_labels` are added to every
    /// node (from `--nodes Label=file`), `default_type` is the type of
    /// relationships without a `:TYPE` cell.
    pub fn new(
        kind: CsvKind,
        files: Vec<PathBuf>,
        extra_labels: Vec<String>,
        default_type: Option<String>,
        opts: CsvOptions,
    ) -> Self {
        CsvReader {
            kind,
            files,
            next_file: 0,
            reader: None,
            columns: None,
            extra_labels,
            default_type,
            opts,
            consumed_before: 0,
            count: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            record: csv::StringRecord::new(),
            failed: false,
        }
    }

    fn open_next(&mut self) -> Result<bool, RowError> {
        let Some(path) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        self.next_file += 1;
        let name: Arc<str> = Arc::from(path.display().to_string());
        let file = open(&path, &self.count).map_err(|reason| RowError {
            fatal: true,
            loc: Loc {
                file: Arc::clone(&name),
                line: 0,
            },
            column: 0,
            reason,
        })?;
        self.consumed_before += self.count.swap(0, std::sync::atomic::Ordering::Relaxed);
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.opts.delimiter)
            .from_reader(file);
        self.reader = Some((rdr, name));
        Ok(true)
    }

    fn row(&self, loc: &Loc) -> Result<Item, RowError> {
        let columns = self.columns.as_deref().unwrap_or_default();
        let err = |column: usize, reason: String| RowError {
            fatal: false,
            loc: loc.clone(),
            column,
            reason,
        };
        if self.record.len() != columns.len() {
            return Err(err(
                0,
                format!(
                    "row has {} fields, the header has {}",
                    self.record.len(),
                    columns.len()
                ),
            ));
        }
        let mut labels = self.extra_labels.clone();
        let mut properties = Properties::new();
        let mut id = None;
        let mut space: Arc<str> = Arc::from("");
        let (mut start, mut end, mut ty) = (None, None, None);
        for (i, (col, cell)) in columns.iter().zip(self.record.iter()).enumerate() {
            let column = i + 1;
            match col {
                Column::Id { space: s, name } => {
                    if cell.is_empty() {
                        continue;
                    }
                    space = Arc::clone(s);
                    id = Some(cell.to_owned());
                    if let Some(name) = name {
                        properties.insert(name.clone(), PropertyValue::String(cell.into()));
                    }
                }
                Column::Label => labels.extend(
                    cell.split(self.opts.array_delimiter)
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                ),
                Column::Start(s) | Column::End(s) => {
                    if cell.is_empty() {
                        return Err(err(column, "empty node id".into()));
                    }
                    let r = NodeRef {
                        space: Arc::clone(s),
                        id: cell.to_owned(),
                        column,
                    };
                    if matches!(col, Column::Start(_)) {
                        start = Some(r);
                    } else {
                        end = Some(r);
                    }
                }
                Column::Type => {
                    if !cell.is_empty() {
                        ty = Some(cell.to_owned());
                    }
                }
                Column::Ignore => {}
                Column::Property { name, ty, array } => {
                    if cell.is_empty() {
                        continue;
                    }
                    let value = if *array {
                        cell.split(self.opts.array_delimiter)
                            .map(|part| ty.scalar(part, self.opts.array_delimiter))
                            .collect::<Result<Vec<_>, _>>()
                            .map(PropertyValue::List)
                    } else {
                        ty.scalar(cell, self.opts.array_delimiter)
                    }
                    .map_err(|reason| err(column, format!("{name}: {reason}")))?;
                    properties.insert(name.clone(), value);
                }
            }
        }
        match self.kind {
            CsvKind::Nodes => Ok(Item::Node {
                space,
                id,
                labels,
                properties,
            }),
            CsvKind::Relationships => {
                let edge_type = ty.or_else(|| self.default_type.clone()).ok_or_else(|| {
                    err(0, "relationship without a type (add a :TYPE column or pass --relationships TYPE=FILE)".into())
                })?;
                match (start, end) {
                    (Some(start), Some(end)) => Ok(Item::Edge {
                        start,
                        end,
                        edge_type,
                        properties,
                    }),
                    _ => Err(err(0, "relationship without both endpoints".into())),
                }
            }
        }
    }
}

impl ItemReader for CsvReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        if self.failed {
            return None;
        }
        loop {
            if self.reader.is_none() {
                match self.open_next() {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            }
            let (rdr, name) = self.reader.as_mut()?;
            let name = Arc::clone(name);
            match rdr.read_record(&mut self.record) {
                Ok(false) => {
                    self.reader = None;
                    continue;
                }
                Ok(true) => {}
                Err(e) => {
                    // A read error has no position: the line reached so far.
                    let line = e
                        .position()
                        .map_or_else(|| rdr.position().line(), csv::Position::line);
                    let reason = match e.kind() {
                        csv::ErrorKind::Utf8 { err, .. } => {
                            format!("invalid UTF-8 in field {} of the row", err.field() + 1)
                        }
                        csv::ErrorKind::Io(io) => format!("read error: {io}"),
                        _ => e.to_string(),
                    };
                    let column = match e.kind() {
                        csv::ErrorKind::Utf8 { err, .. } => err.field() + 1,
                        _ => 0,
                    };
                    let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                    if fatal {
                        self.failed = true;
                    }
                    return Some(Err(RowError {
                        fatal,
                        loc: Loc { file: name, line },
                        column,
                        reason,
                    }));
                }
            }
            let line = self.record.position().map_or(0, csv::Position::line);
            let loc = Loc { file: name, line };
            if self.columns.is_none() {
                let fields: Vec<String> = self
                    .record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        if i == 0 {
                            f.trim_start_matches('\u{feff}').to_owned()
                        } else {
                            f.to_owned()
                        }
                    })
                    .collect();
                match parse_header(&fields, self.kind, &loc) {
                    Ok(cols) => self.columns = Some(cols),
                    Err(e) => {
                        // Without a header no row of the set can be read.
                        self.failed = true;
                        return Some(Err(RowError { fatal: true, ..e }));
                    }
                }
                continue;
            }
            if self.record.len() == 1 && self.record.get(0) == Some("") {
                continue; // a blank line
            }
            return Some(self.row(&loc).map(|item| (item, loc)));
        }
    }

    fn position(&self) -> u64 {
        self.consumed_before + self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A line-oriented reader (JSON Lines, edge lists) over one file.
struct Lines {
    reader: Input,
    name: Arc<str>,
    line: u64,
    buf: Vec<u8>,
    count: Arc<std::sync::atomic::AtomicU64>,
    done: bool,
}

impl Lines {
    fn open(path: &Path) -> Result<Lines, RowError> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let reader = open(path, &count).map_err(|reason| RowError {
            fatal: true,
            loc: Loc {
                file: Arc::clone(&name),
                line: 0,
            },
            column: 0,
            reason,
        })?;
        Ok(Lines {
            reader,
            name,
            line: 0,
            buf: Vec::new(),
            count,
            done: false,
        })
    }

    /// Whether the file has no more bytes (a read error is not the end:
    /// [`next_line`](Self::next_line) reports it).
    fn at_end(&mut self) -> bool {
        self.done || matches!(self.reader.fill_buf(), Ok(b) if b.is_empty())
    }

    /// The next line as text (without the line break), with its location.
    fn next_line(&mut self) -> Option<Result<(&str, Loc), RowError>> {
        if self.done {
            return None;
        }
        self.buf.clear();
        self.line += 1;
        let loc = Loc {
            file: Arc::clone(&self.name),
            line: self.line,
        };
        match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                    self.buf.pop();
                }
                // A UTF-8 byte-order mark (files saved by Windows tools)
                // is not part of the first line's text.
                if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                    self.buf.drain(..3);
                }
                match std::str::from_utf8(&self.buf) {
                    Ok(s) => Some(Ok((s, loc))),
                    Err(e) => Some(Err(RowError {
                        fatal: false,
                        loc,
                        column: e.valid_up_to() + 1,
                        reason: "invalid UTF-8".into(),
                    })),
                }
            }
            Err(e) => {
                self.done = true;
                Some(Err(RowError {
                    fatal: true,
                    loc,
                    column: 0,
                    reason: format!("read error: {e}"),
                }))
            }
        }
    }

    fn position(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Which items of a JSON Lines file to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonlPart {
    /// Nodes and relationships.
    All,
    /// Nodes only.
    Nodes,
    /// Relationships only.
    Relationships,
}

/// JSON Lines in the shape of Neo4j/APOC exports:
/// `{"type":"node","id":..,"labels":[..],"properties":{..}}` and
/// `{"type":"relationship","label":..,"start":{"id":..},"end":{"id":..},"properties":{..}}`.
pub struct JsonlReader {
    lines: LineFiles,
    part: JsonlPart,
}

impl JsonlReader {
    /// A reader of `files`, returning the items of `part`.
    pub fn new(files: Vec<PathBuf>, part: JsonlPart) -> Self {
        JsonlReader {
            lines: LineFiles::new(files),
            part,
        }
    }
}

/// What [`LineFiles`] reads next: a line, or the end of a file.
pub(crate) enum LineEvent<'a> {
    /// A line's text, without its line break.
    Line(&'a str, Loc),
    /// The end of a file; the location is its last line.
    End(Loc),
}

/// The lines of a list of files, one file after the other, each line
/// parsed by the caller into an item (or skipped: blank lines, comments).
pub(crate) struct LineFiles {
    files: Vec<PathBuf>,
    next_file: usize,
    lines: Option<Lines>,
    consumed_before: u64,
    failed: bool,
}

impl LineFiles {
    pub(crate) fn new(files: Vec<PathBuf>) -> Self {
        LineFiles {
            files,
            next_file: 0,
            lines: None,
            consumed_before: 0,
            failed: false,
        }
    }

    /// The next line `parse` turns into an item (`Ok(None)`: skip the
    /// line; `Err((column, reason))`: a bad row).
    fn next_item(
        &mut self,
        mut parse: impl FnMut(&str) -> Result<Option<Item>, (usize, String)>,
    ) -> Option<Result<(Item, Loc), RowError>> {
        loop {
            let (text, loc) = match self.next_event()? {
                Err(e) => return Some(Err(e)),
                Ok(LineEvent::End(_)) => continue,
                Ok(LineEvent::Line(text, loc)) => (text, loc),
            };
            match parse(text) {
                Ok(None) => continue,
                Ok(Some(item)) => return Some(Ok((item, loc))),
                Err((column, reason)) => return Some(Err(RowError::bad(loc, column, reason))),
            }
        }
    }

    /// The next line of the files, or the end of one of them (after its
    /// last line, also of an empty file); `None` after the last file.
    pub(crate) fn next_event(&mut self) -> Option<Result<LineEvent<'_>, RowError>> {
        if self.failed {
            return None;
        }
        if self.lines.is_none() {
            let path = self.files.get(self.next_file)?.clone();
            self.next_file += 1;
            match Lines::open(&path) {
                Ok(l) => self.lines = Some(l),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let mut end = None;
        if let Some(lines) = self.lines.as_mut()
            && lines.at_end()
        {
            let at = Loc {
                file: Arc::clone(&lines.name),
                line: lines.line,
            };
            end = Some((at, lines.position()));
        }
        if let Some((at, read)) = end {
            self.consumed_before += read;
            self.lines = None;
            return Some(Ok(LineEvent::End(at)));
        }
        self.lines
            .as_mut()?
            .next_line()
            .map(|r| r.map(|(text, loc)| LineEvent::Line(text, loc)))
    }

    pub(crate) fn position(&self) -> u64 {
        self.consumed_before + self.lines.as_ref().map_or(0, Lines::position)
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn json_properties(v: Option<&Value>) -> Result<Properties, String> {
    match v {
        None | Some(Value::Null) => Ok(Properties::new()),
        Some(Value::Object(obj)) => obj
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    value::from_json(v).map_err(|e| format!("property {k:?}: {e}"))?,
                ))
            })
            .collect(),
        Some(other) => Err(format!("\"properties\" must be an object, found {other}")),
    }
}

/// Parses one JSON Lines row. `Ok(None)` for a blank line.
fn jsonl_item(text: &str) -> Result<Option<Item>, (usize, String)> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| (e.column(), format!("not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| (1, "a row must be a JSON object".to_owned()))?;
    let props = json_properties(obj.get("properties")).map_err(|e| (0, e))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("node") => {
            let labels = match obj.get("labels") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(ls)) => ls
                    .iter()
                    .map(|l| {
                        l.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| (0, format!("label {l} is not a string")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err((0, format!("\"labels\" must be an array, found {other}")));
                }
            };
            let id =
                match obj.get("id") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(id_text(v).ok_or_else(|| {
                        (0, format!("\"id\" must be a string or number, found {v}"))
                    })?),
                };
            Ok(Some(Item::Node {
                space: Arc::from(""),
                id,
                labels,
                properties: props,
            }))
        }
        Some("relationship") => {
            let end_ref = |key: &str| -> Result<NodeRef, (usize, String)> {
                let id = obj
                    .get(key)
                    .and_then(|e| e.get("id").or(Some(e)))
                    .and_then(id_text)
                    .ok_or_else(|| {
                        (0, format!("relationship without \"{key}\": {{\"id\": ..}}"))
                    })?;
                Ok(NodeRef {
                    space: Arc::from(""),
                    id,
                    column: 0,
                })
            };
            let edge_type = obj
                .get("label")
                .or_else(|| obj.get("relType"))
                .and_then(Value::as_str)
                .ok_or_else(|| (0, "relationship without a \"label\" (its type)".to_owned()))?
                .to_owned();
            Ok(Some(Item::Edge {
                start: end_ref("start")?,
                end: end_ref("end")?,
                edge_type,
                properties: props,
            }))
        }
        Some(other) => Err((
            0,
            format!("unknown row type {other:?} (expected \"node\" or \"relationship\")"),
        )),
        None => Err((
            0,
            "row without \"type\": \"node\" or \"relationship\"".to_owned(),
        )),
    }
}

impl ItemReader for JsonlReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        let part = self.part;
        self.lines.next_item(|text| {
            Ok(jsonl_item(text)?.filter(|item| {
                matches!(
                    (item, part),
                    (_, JsonlPart::All)
                        | (Item::Node { .. }, JsonlPart::Nodes)
                        | (Item::Edge { .. }, JsonlPart::Relationships)
                )
            }))
        })
    }

    fn position(&self) -> u64 {
        self.lines.position()
    }
}

/// Options of edge-list files.
#[derive(Debug, Clone)]
pub struct EdgeListOptions {
    /// The id space of the nodes the file names.
    pub space: Arc<str>,
    /// The label of nodes created for new ids.
    pub label: String,
    /// The type of every edge.
    pub edge_type: String,
    /// The property a third column is stored as (int or float).
    pub third_column: String,
    /// The property a fourth column is stored as (int or float).
    pub fourth_column: String,
    /// Whether files start with a line naming their columns.
    pub header: EdgeListHeader,
    /// The lines are undirected edges: each unordered pair is stored once
    /// (the first line naming it; `a b` after `b a`, or a repeated line,
    /// is dropped and counted).
    pub undirected: bool,
    /// Where readers note what they decided about a file (a header line
    /// skipped), for the import's summary.
    pub notes: Notes,
}

/// Whether an edge list's first line (after comments) names its columns
/// (`source,target`) instead of being an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EdgeListHeader {
    /// The first line is a header when its source and target are not
    /// integers and those of the next line are (`source,target` above
    /// numeric ids). A skipped header is named in the import's notes.
    Auto,
    /// The first line of every file is a header, skipped.
    Yes,
    /// No file has a header: the first line is an edge like the others.
    No,
}

/// Notes an import makes about its input, each kept once (the batched
/// path reads its input twice), in order of file and line.
#[derive(Debug, Clone, Default)]
pub struct Notes(Arc<std::sync::Mutex<std::collections::BTreeSet<Note>>>);

/// A note: file, line, what.
type Note = (Arc<str>, u64, String);

impl Notes {
    /// Notes `what` of the line at `loc`.
    pub fn add(&self, loc: &Loc, what: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((Arc::clone(&loc.file), loc.line, what));
    }

    /// The notes so far, as `file:line: what` lines; clears them.
    pub fn take(&self) -> Vec<String> {
        let notes = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        notes
            .into_iter()
            .map(|(file, line, what)| format!("{file}:{line}: {what}"))
            .collect()
    }
}

/// Plain edge lists, as public datasets ship them: `src dst` a line
/// (spaces, tabs or commas), optional third and fourth numeric columns
/// (KONECT's weight and timestamp), `#` and `%` comment lines, an optional
/// header line (see [`EdgeListHeader`]), and MatrixMarket coordinate files
/// (SuiteSparse's and Network Repository's `.mtx`: the banner and size
/// line are read, not imported, and the number of entries is checked
/// against the size line). Nodes are implicit: an id not seen before (in
/// this import or a saved mapping) becomes a new node.
pub struct EdgeListReader {
    lines: LineFiles,
    opts: EdgeListOptions,
    file: EdgeFile,
    /// The line after a held first line that was not a header.
    queued: Option<Result<(Item, Loc), RowError>>,
}

impl EdgeListReader {
    /// A reader of `files`.
    pub fn new(files: Vec<PathBuf>, opts: EdgeListOptions) -> Self {
        EdgeListReader {
            lines: LineFiles::new(files),
            opts,
            file: EdgeFile::default(),
            queued: None,
        }
    }
}

/// What an edge-list reader knows of the file it is reading.
#[derive(Default)]
struct EdgeFile {
    /// Lines read.
    lines: u64,
    /// Lines read that are neither blank nor comments, nor a MatrixMarket
    /// banner or size line.
    data: u64,
    /// Set by a MatrixMarket banner on the first line.
    matrix: Option<Matrix>,
    /// Set by a DIMACS comment or problem line on the first line.
    dimacs: Option<Dimacs>,
    /// `--edge-list-header auto`: a first line that may be a header, held
    /// until the next line shows whether it is one.
    held: Option<(String, Loc)>,
}

/// A MatrixMarket coordinate file: `%%MatrixMarket matrix coordinate
/// FIELD SYMMETRY`, comments, a size line `rows columns entries`, then an
/// entry a line: `row column` (`pattern`) or `row column value`.
struct Matrix {
    /// Columns of an entry line: 2 for `pattern`, 3 for `integer` and `real`.
    columns: usize,
    /// Rows, columns and entries, from the size line once it is read.
    size: Option<(u64, u64, u64)>,
    /// Entry lines read.
    entries: u64,
}

/// A DIMACS graph, as the DIMACS implementation challenges ship them (the
/// 9th challenge's road networks, `USA-road-d.NY.gr`; the clique and
/// colouring graphs): `c` comment lines, one problem line `p FORMAT NODES
/// EDGES`, then a line per edge between nodes numbered from 1: `a u v w`
/// for `sp` (shortest paths: an arc with its integer length, stored as the
/// third column's property), `e u v` for `edge` and `col`.
struct Dimacs {
    /// From the problem line, once it is read: the edge letter (`a` or
    /// `e`), the number of nodes and of edges.
    problem: Option<(char, u64, u64)>,
    /// Edge lines read.
    edges: u64,
}

/// At the end of a file whose header line declares how many lines of
/// edges follow (MatrixMarket's size line, DIMACS's problem line): an
/// error that stops the import when the header never came (`missing`) or
/// the file has another number of them (truncated or damaged).
fn declared_count(
    end: Loc,
    missing: &str,
    header: &str,
    declared: Option<(u64, &str)>,
    found: u64,
) -> Result<(), RowError> {
    let reason = match declared {
        None => missing.to_owned(),
        Some((declared, what)) if declared != found => format!(
            "{header} declares {declared} {what}, the file has {found}: it is truncated or damaged"
        ),
        Some(_) => return Ok(()),
    };
    Err(RowError::fatal(end, 0, reason))
}

/// Whether the first line of an edge list makes it a DIMACS file: a
/// comment line (`c`, then a space or nothing) or a problem line (`p `).
fn dimacs_start(text: &str) -> bool {
    let mut words = text.split_whitespace();
    matches!(
        (words.next(), words.next()),
        (Some("c"), _) | (Some("p"), Some("sp" | "edge" | "col"))
    )
}

impl Dimacs {
    /// What a line (not blank) of a DIMACS file is: `Ok(None)` for a comment
    /// or the problem line; the edge's fields (source, target and, for
    /// `sp`, the length); a bad row (`Err(false, ..)`) or an error that
    /// stops the import (`Err(true, ..)`).
    fn line<'t>(&mut self, text: &'t str) -> Result<Option<Vec<&'t str>>, (bool, usize, String)> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let shape = "a DIMACS problem line is `p sp NODES ARCS` (arcs `a u v length`) or `p edge \
                     NODES EDGES` (edges `e u v`)";
        match fields.first().copied().unwrap_or("c") {
            "c" => Ok(None),
            "p" => {
                if self.problem.is_some() {
                    return Err((true, 0, "a second DIMACS problem line".to_owned()));
                }
                let letter = match fields.get(1) {
                    Some(&"sp") => 'a',
                    Some(&"edge" | &"col") => 'e',
                    _ => return Err((true, 0, format!("{shape}, found {text:?}"))),
                };
                let numbers: Option<Vec<u64>> =
                    fields[2..].iter().map(|f| f.parse().ok()).collect();
                let Some(&[nodes, edges]) = numbers.as_deref() else {
                    return Err((true, 0, format!("{shape}, found {text:?}")));
                };
                self.problem = Some((letter, nodes, edges));
                Ok(None)
            }
            first => {
                let Some((letter, nodes, _)) = self.problem else {
                    return Err((
                        true,
                        0,
                        format!(
                            "this file began like a DIMACS graph (a `c` or `p` line first), but \
                             {text:?} comes before its problem line; if it is a plain edge list \
                             whose first source is \"c\", put a `#` comment line first"
                        ),
                    ));
                };
                let width = if letter == 'a' { 4 } else { 3 };
                if first.len() != 1 || !first.starts_with(letter) || fields.len() != width {
                    let want = if letter == 'a' {
                        "a u v length"
                    } else {
                        "e u v"
                    };
                    return Err((
                        false,
                        0,
                        format!(
                            "a line of this DIMACS file is `c ...` or `{want}`, found {text:?}"
                        ),
                    ));
                }
                self.edges += 1;
                for (i, what) in [(1, "source"), (2, "target")] {
                    if !fields[i]
                        .parse::<u64>()
                        .is_ok_and(|n| (1..=nodes).contains(&n))
                    {
                        return Err((
                            false,
                            i + 1,
                            format!(
                                "a DIMACS {what} is a node from 1 to {nodes} (the problem line), \
                                 found {:?}",
                                fields[i]
                            ),
                        ));
                    }
                }
                if letter == 'a' && fields[3].parse::<i64>().is_err() {
                    return Err((
                        false,
                        4,
                        format!("a DIMACS arc length is an integer, found {:?}", fields[3]),
                    ));
                }
                Ok(Some(fields[1..].to_vec()))
            }
        }
    }

    /// At the end of the file: were all the edges the problem line
    /// declares there?
    fn finish(&self, end: Loc) -> Result<(), RowError> {
        declared_count(
            end,
            "a DIMACS file ends before its problem line (`p sp NODES ARCS`)",
            "the DIMACS problem line",
            self.problem.map(|(_, _, edges)| (edges, "edges")),
            self.edges,
        )
    }
}

/// The fields of an edge-list line: separated by commas if it has any
/// (then a field may hold spaces, `Evelyn Jefferson,E1`, and is
/// trimmed), otherwise by spaces and tabs.
fn edge_fields(text: &str) -> Vec<&str> {
    if text.contains(',') {
        text.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect()
    } else {
        text.split_whitespace().collect()
    }
}

/// [`edge_fields`], with fields quoted as CSV quotes them (R's
/// `write.csv`, spreadsheets, pandas for ids holding the separator): a
/// field that starts with `"` ends at the next `"` not doubled, may hold
/// commas and spaces, and `""` in it is one `"`. Lines without a `"` are
/// [`edge_fields`]'s, borrowed.
///
/// # Errors
/// A quoted field without its closing quote, or text after one before
/// the next separator.
fn quoted_fields(text: &str) -> Result<Vec<Cow<'_, str>>, (usize, String)> {
    if !text.contains('"') {
        return Ok(edge_fields(text).into_iter().map(Cow::Borrowed).collect());
    }
    // Commas separate when there is one outside quotes.
    let mut quoted = false;
    let comma = text.chars().any(|c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    });
    let is_sep = |c: char| {
        if comma {
            c == ','
        } else {
            c == ' ' || c == '\t'
        }
    };
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Ok(out);
        }
        let column = out.len() + 1;
        if let Some(body) = rest.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = body.char_indices();
            let end = loop {
                match chars.next() {
                    None => {
                        return Err((column, "a quoted field without its closing '\"'".into()));
                    }
                    Some((i, '"')) => {
                        if body[i + 1..].starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else {
                            break i + 1;
                        }
                    }
                    Some((_, c)) => field.push(c),
                }
            };
            rest = body[end..].trim_start_matches([' ', '\t']);
            match rest.chars().next() {
                None => {}
                Some(c) if comma && c == ',' => rest = &rest[1..],
                Some(_) if !comma => {}
                Some(_) => {
                    return Err((column, format!("text after the quoted field {field:?}")));
                }
            }
            out.push(Cow::Owned(field));
        } else {
            let end = rest.find(is_sep).unwrap_or(rest.len());
            let field = rest[..end].trim();
            if !field.is_empty() {
                out.push(Cow::Borrowed(field));
            }
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
}

impl Matrix {
    /// Reads the banner line.
    fn banner(text: &str) -> Result<Matrix, String> {
        let words: Vec<String> = text
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let shape = "a MatrixMarket banner is `%%MatrixMarket matrix coordinate pattern|integer|real general|symmetric|skew-symmetric|hermitian`";
        let [_, object, format, field, symmetry] = words[..] else {
            return Err(format!("{shape}, found {text:?}"));
        };
        if object != "matrix" {
            return Err(format!(
                "a MatrixMarket {object:?} is not a graph: only matrices are ({shape})"
            ));
        }
        if format != "coordinate" {
            return Err(format!(
                "a MatrixMarket matrix in {format:?} format lists values, not edges: only the \
                 coordinate format is an edge list ({shape})"
            ));
        }
        let columns = match field {
            "pattern" => 2,
            "integer" | "real" => 3,
            _ => {
                return Err(format!(
                    "MatrixMarket {field:?} entries cannot be imported as edges ({shape})"
                ));
            }
        };
        if !matches!(
            symmetry,
            "general" | "symmetric" | "skew-symmetric" | "hermitian"
        ) {
            return Err(format!(
                "unknown MatrixMarket symmetry {symmetry:?} ({shape})"
            ));
        }
        Ok(Matrix {
            columns,
            size: None,
            entries: 0,
        })
    }

    /// Reads the size line.
    fn size_line(text: &str) -> Result<(u64, u64, u64), String> {
        let numbers: Option<Vec<u64>> = edge_fields(text).iter().map(|f| f.parse().ok()).collect();
        match numbers.as_deref() {
            Some(&[rows, columns, entries]) => Ok((rows, columns, entries)),
            _ => Err(format!(
                "the line after a MatrixMarket banner's comments gives the size, `rows columns \
                 entries` (three integers), found {text:?}"
            )),
        }
    }

    /// Checks an entry line: its number of columns, and its row and
    /// column within the size (MatrixMarket counts from 1).
    fn entry(&self, fields: &[&str]) -> Result<(), (usize, String)> {
        if fields.len() != self.columns {
            return Err((
                0,
                format!(
                    "an entry of this MatrixMarket file has {} columns, found {}",
                    self.columns,
                    fields.len()
                ),
            ));
        }
        let (rows, columns, _) = self.size.unwrap_or_default();
        for (i, (what, max)) in [("row", rows), ("column", columns)].into_iter().enumerate() {
            let ok = fields[i]
                .parse::<u64>()
                .is_ok_and(|n| (1..=max).contains(&n));
            if !ok {
                return Err((
                    i + 1,
                    format!(
                        "a MatrixMarket {what} is an integer from 1 to {max} (the size line), found {:?}",
                        fields[i]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// At the end of the file: were all the entries the size line
    /// declares there?
    fn finish(&self, end: Loc) -> Result<(), RowError> {
        declared_count(
            end,
            "a MatrixMarket file ends before its size line",
            "the MatrixMarket size line",
            self.size.map(|(_, _, entries)| (entries, "entries")),
            self.entries,
        )
    }
}

/// What an edge list's first line (after comments) says when it is the
/// start of another format the import reads with another flag: the line
/// that stops the import, naming the flag.
fn other_format(first: &str) -> Option<String> {
    let word = first.split_whitespace().next().unwrap_or("");
    let (what, flag) =
        if word.eq_ignore_ascii_case("*vertices") || word.eq_ignore_ascii_case("*network") {
            ("a Pajek network", "--pajek")
        } else if first.starts_with("<?xml") || first.starts_with("<graphml") {
            ("XML (GraphML)", "--graphml")
        } else if first == "graph"
            || first.starts_with("graph [")
            || first.starts_with("graph[")
            || first.starts_with("Creator \"")
        {
            ("GML", "--gml")
        } else if first.starts_with('{') && first.contains("\"type\"") {
            ("JSON Lines", "--jsonl")
        } else if first.starts_with('{') || first.starts_with('[') {
            ("JSON (node-link?)", "--node-link")
        } else if first.contains(":START_ID") || first.contains(":ID") {
            (
                "a Neo4j admin-import CSV header",
                "--nodes or --relationships",
            )
        } else {
            return None;
        };
    Some(format!(
        "this is {what}, not an edge list ({:?}): import it with {flag}",
        first.chars().take(40).collect::<String>()
    ))
}

/// Whether a line's first two fields (source and target) are integers.
fn integer_ids(text: &str) -> bool {
    quoted_fields(text)
        .is_ok_and(|f| f.len() >= 2 && f[..2].iter().all(|f| f.parse::<i64>().is_ok()))
}

/// The ordinals of an edge list's columns, by index.
const ORDINALS: [&str; 4] = ["first", "second", "third", "fourth"];

/// The edge on a data line (not blank, not a comment).
fn edge_list_item(text: &str, opts: &EdgeListOptions) -> Result<Item, (usize, String)> {
    if let Some(at) = text.find('{') {
        return networkx_edge(&text[..at], &text[at..], opts);
    }
    let fields = quoted_fields(text)?;
    let fields: Vec<&str> = fields.iter().map(AsRef::as_ref).collect();
    fields_item(&fields, opts)
}

/// The edge of an edge-list line's fields: source, target, optional
/// numbers.
fn fields_item(fields: &[&str], opts: &EdgeListOptions) -> Result<Item, (usize, String)> {
    if !(2..=4).contains(&fields.len()) {
        return Err((
            0,
            format!(
                "an edge-list line has 2 to 4 columns (source, target, optional numbers), found {}",
                fields.len()
            ),
        ));
    }
    if fields.len() == 4 && opts.third_column == opts.fourth_column {
        return Err((
            4,
            format!(
                "the third and fourth columns would both be stored as {:?}: pass another \
                 --third-column or --fourth-column",
                opts.fourth_column
            ),
        ));
    }
    let mut properties = Properties::new();
    for (i, (field, name)) in fields
        .iter()
        .zip(["", "", &opts.third_column, &opts.fourth_column])
        .enumerate()
        .skip(2)
    {
        let v = match field.parse::<i64>() {
            Ok(n) => PropertyValue::Int(n),
            Err(_) => PropertyValue::Float(
                value::parse_float(field)
                    .map_err(|e| (i + 1, format!("{} column: {e}", ORDINALS[i])))?,
            ),
        };
        properties.insert(name.to_owned(), v);
    }
    Ok(edge_between(fields[0], fields[1], properties, opts))
}

/// An edge as networkx's `write_edgelist` writes it by default: source,
/// target, then the edge's data as a Python dict literal (`0 1 {}`,
/// `1 2 {'weight': 3}`), read into the edge's properties.
fn networkx_edge(ids: &str, data: &str, opts: &EdgeListOptions) -> Result<Item, (usize, String)> {
    let fields = quoted_fields(ids)?;
    if fields.len() != 2 {
        return Err((
            0,
            format!(
                "an edge-list line with edge data has a source, a target, then the data \
                 ({{'weight': 3}}), found {} columns before it",
                fields.len()
            ),
        ));
    }
    let properties = super::literal::python_dict(data).map_err(|e| (3, e))?;
    Ok(edge_between(&fields[0], &fields[1], properties, opts))
}

/// An edge of the edge list's type between two external ids.
fn edge_between(start: &str, end: &str, properties: Properties, opts: &EdgeListOptions) -> Item {
    let r = |id: &str, column: usize| NodeRef {
        space: Arc::clone(&opts.space),
        id: id.to_owned(),
        column,
    };
    Item::Edge {
        start: r(start, 1),
        end: r(end, 2),
        edge_type: opts.edge_type.clone(),
        properties,
    }
}

/// [`edge_list_item`] with its location, or the bad row.
fn edge_at(text: &str, opts: &EdgeListOptions, loc: Loc) -> Result<(Item, Loc), RowError> {
    match edge_list_item(text, opts) {
        Ok(item) => Ok((item, loc)),
        Err((column, reason)) => Err(RowError::bad(loc, column, reason)),
    }
}

impl EdgeFile {
    /// What a line of the file is: `None` for a line that is no edge
    /// (blank, comment, banner, size line, header), else the edge or the
    /// bad row; a held first line that turns out to be an edge comes
    /// first and this line goes to `queued`.
    fn line(
        &mut self,
        opts: &EdgeListOptions,
        queued: &mut Option<Result<(Item, Loc), RowError>>,
        text: &str,
        loc: Loc,
    ) -> Option<Result<(Item, Loc), RowError>> {
        self.lines += 1;
        let t = text.trim();
        if self.lines == 1
            && t.get(..14)
                .is_some_and(|b| b.eq_ignore_ascii_case("%%MatrixMarket"))
        {
            return match Matrix::banner(t) {
                Ok(m) => {
                    self.matrix = Some(m);
                    None
                }
                Err(reason) => Some(Err(RowError::fatal(loc, 0, reason))),
            };
        }
        if self.lines == 1 && dimacs_start(t) {
            self.dimacs = Some(Dimacs {
                problem: None,
                edges: 0,
            });
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with('%') {
            return None;
        }
        // Another format's first line (after comments) is named, rather
        // than read as edges between nodes called `graph` and `[`.
        if self.data == 0
            && self.matrix.is_none()
            && self.dimacs.is_none()
            && let Some(reason) = other_format(t)
        {
            return Some(Err(RowError::fatal(loc, 0, reason)));
        }
        if let Some(d) = &mut self.dimacs {
            let had_problem = d.problem.is_some();
            return match d.line(t) {
                Ok(None) => {
                    if !had_problem && d.problem.is_some() {
                        opts.notes.add(
                            &loc,
                            format!("read as a DIMACS graph ({t:?}): nodes numbered from 1"),
                        );
                    }
                    None
                }
                Ok(Some(fields)) => Some(match fields_item(&fields, opts) {
                    Ok(item) => Ok((item, loc)),
                    Err((column, reason)) => Err(RowError::bad(loc, column, reason)),
                }),
                Err((true, column, reason)) => Some(Err(RowError::fatal(loc, column, reason))),
                Err((false, column, reason)) => Some(Err(RowError::bad(loc, column, reason))),
            };
        }
        if let Some(m) = &mut self.matrix {
            if m.size.is_none() {
                return match Matrix::size_line(t) {
                    Ok(size) => {
                        m.size = Some(size);
                        None
                    }
                    Err(reason) => Some(Err(RowError::fatal(loc, 0, reason))),
                };
            }
            m.entries += 1;
            if let Err((column, reason)) = m.entry(&edge_fields(t)) {
                return Some(Err(RowError::bad(loc, column, reason)));
            }
            return Some(edge_at(t, opts, loc));
        }
        self.data += 1;
        if self.data == 1 {
            match opts.header {
                EdgeListHeader::Yes => return None,
                EdgeListHeader::Auto if !integer_ids(t) => {
                    self.held = Some((t.to_owned(), loc));
                    return None;
                }
                EdgeListHeader::Auto | EdgeListHeader::No => {}
            }
        }
        if let Some((held, held_loc)) = self.held.take() {
            if integer_ids(t) {
                opts.notes.add(
                    &held_loc,
                    format!(
                        "skipped {held:?} as a header: its source and target are not integers, \
                         those of the lines below are (--edge-list-header no imports it as an edge)"
                    ),
                );
            } else {
                *queued = Some(edge_at(t, opts, loc));
                return Some(edge_at(&held, opts, held_loc));
            }
        }
        Some(edge_at(t, opts, loc))
    }

    /// A line that could not be read as text (a bad row): it counts as
    /// a line of data.
    fn unreadable_line(&mut self) {
        self.lines += 1;
        self.data += 1;
        if let Some(m) = &mut self.matrix
            && m.size.is_some()
        {
            m.entries += 1;
        }
        if let Some(d) = &mut self.dimacs
            && d.problem.is_some()
        {
            d.edges += 1;
        }
    }

    /// At the end of the file: a held first line is an edge (there was no
    /// line below to compare it with); a MatrixMarket file must have had
    /// all its entries.
    fn end(self, opts: &EdgeListOptions, end: Loc) -> Option<Result<(Item, Loc), RowError>> {
        if let Some((held, loc)) = self.held {
            return Some(edge_at(&held, opts, loc));
        }
        if let Some(d) = self.dimacs {
            return d.finish(end).err().map(Err);
        }
        self.matrix.and_then(|m| m.finish(end).err()).map(Err)
    }
}

impl ItemReader for EdgeListReader {
    fn next_item(&mut self) -> Option<Result<(Item, Loc), RowError>> {
        let EdgeListReader {
            lines,
            opts,
            file,
            queued,
        } = self;
        if let Some(next) = queued.take() {
            return Some(next);
        }
        loop {
            let found = match lines.next_event()? {
                Err(e) => {
                    file.unreadable_line();
                    Some(Err(e))
                }
                Ok(LineEvent::Line(text, loc)) => file.line(opts, queued, text, loc),
                Ok(LineEvent::End(end)) => std::mem::take(file).end(opts, end),
            };
            if found.is_some() {
                return found;
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

    /// `fields` written as CSV writes them: quoted when they hold a comma,
    /// a quote or a space at either end, `"` doubled inside.
    fn csv_line(fields: &[String]) -> String {
        fields
            .iter()
            .map(|f| {
                if f.contains([',', '"']) || f.trim() != f || f.is_empty() {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Quoted CSV fields read back as written (two or more, so the
        /// line has a comma), whatever they hold.
        #[test]
        fn quoted_fields_read_back_as_written(
            fields in prop::collection::vec("[a-z ,\"\u{e9}\t]{1,8}", 2..5),
        ) {
            // A field CSV leaves unquoted is trimmed, as edge lists are.
            let line = csv_line(&fields);
            let read = quoted_fields(&line);
            prop_assert!(read.is_ok(), "{line:?}: {read:?}");
            let read: Vec<String> = read.unwrap_or_default().into_iter().map(Cow::into_owned).collect();
            let quoted = |f: &String| csv_line(std::slice::from_ref(f)).starts_with('"');
            let want: Vec<String> = fields
                .iter()
                .map(|f| if quoted(f) { f.clone() } else { f.trim().to_owned() })
                .collect();
            prop_assert_eq!(read, want, "{:?}", line);
        }

        /// Any line is read or refused, never a panic.
        #[test]
        fn any_line_is_split_or_refused(line in "\\PC{0,40}|[\"a-z, \t\u{e9}]{0,40}") {
            let _ = quoted_fields(&line);
            let _ = edge_fields(&line);
            let mut d = Dimacs { problem: Some(('a', 5, 5)), edges: 0 };
            let _ = d.line(line.trim());
        }
    }
}
