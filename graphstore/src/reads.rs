//! The read commands (`stats`, `get`, `neighbors`, `find`, `index list`,
//! `verify`), each split in two: a function computing the result from any
//! [`GraphStore`], and a function printing it (text, or JSON with
//! `--json`).
//!
//! Locally, a command opens the store, computes, closes and prints
//! (commands.rs); over the network, the member computes on its own store
//! (api.rs) and the client prints what it answered (remote.rs). The
//! result's JSON form is the same both ways: what `get node --json` prints
//! is what the API answers, so a node or an edge has one JSON shape, written
//! by [`node_json`] and [`edge_json`] and read back by [`node_from_json`]
//! and [`edge_from_json`].

use std::ops::Bound;

use graph_storage::{
    AdjacencyStatus, CompactString, Direction, Edge, EdgeId, EdgeRef, GraphStore, IndexInfo, Node,
    NodeId, NodeView, Properties, PropertyValue, Result, RocksDbBackend, StorageBackend, Timestamp,
    ValueView,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{CliError, CliResult, EXIT_INCONSISTENT};
use crate::progress;
use crate::value;

/// Prints `v` as pretty JSON.
pub fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

// ---------------------------------------------------------------- records

fn properties_json(p: &Properties) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.to_string(), value::to_json(v)))
            .collect(),
    )
}

/// A node as JSON (the export's shape plus time stamps).
pub fn node_json(n: &Node) -> Value {
    json!({
        "id": n.id.0,
        "labels": n.labels,
        "properties": properties_json(&n.properties),
        "created_at": value::format_datetime(n.created_at),
        "updated_at": value::format_datetime(n.updated_at),
    })
}

/// An edge as JSON.
pub fn edge_json(e: &Edge) -> Value {
    json!({
        "id": e.id.0,
        "type": e.edge_type,
        "src": e.src.0,
        "dst": e.dst.0,
        "properties": properties_json(&e.properties),
        "created_at": value::format_datetime(e.created_at),
        "updated_at": value::format_datetime(e.updated_at),
    })
}

/// Reads `key` of a JSON object.
fn field<'v>(v: &'v Value, key: &str) -> std::result::Result<&'v Value, String> {
    v.get(key)
        .ok_or_else(|| format!("no {key:?} in {}", short(v)))
}

fn u64_field(v: &Value, key: &str) -> std::result::Result<u64, String> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| format!("{key:?} is not an id in {}", short(v)))
}

fn str_field<'v>(v: &'v Value, key: &str) -> std::result::Result<&'v str, String> {
    field(v, key)?
        .as_str()
        .ok_or_else(|| format!("{key:?} is not a string in {}", short(v)))
}

fn time_field(v: &Value, key: &str) -> std::result::Result<Timestamp, String> {
    value::parse_datetime(str_field(v, key)?)
}

fn properties_from_json(v: &Value) -> std::result::Result<Properties, String> {
    match v {
        Value::Object(obj) => obj
            .iter()
            .map(|(k, v)| Ok((k.clone(), value::from_json(v)?)))
            .collect(),
        other => Err(format!("properties are not an object: {}", short(other))),
    }
}

/// The start of a JSON value, for messages.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

/// A node from its JSON form ([`node_json`]).
///
/// # Errors
/// A message naming what is missing or malformed.
pub fn node_from_json(v: &Value) -> std::result::Result<Node, String> {
    let labels = field(v, "labels")?
        .as_array()
        .ok_or_else(|| format!("\"labels\" is not a list in {}", short(v)))?
        .iter()
        .map(|l| {
            l.as_str()
                .map(CompactString::from)
                .ok_or_else(|| format!("a label is not a string in {}", short(v)))
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(Node {
        id: NodeId(u64_field(v, "id")?),
        labels,
        properties: properties_from_json(field(v, "properties")?)?,
        created_at: time_field(v, "created_at")?,
        updated_at: time_field(v, "updated_at")?,
    })
}

/// An edge from its JSON form ([`edge_json`]).
///
/// # Errors
/// A message naming what is missing or malformed.
pub fn edge_from_json(v: &Value) -> std::result::Result<Edge, String> {
    Ok(Edge {
        id: EdgeId(u64_field(v, "id")?),
        src: NodeId(u64_field(v, "src")?),
        dst: NodeId(u64_field(v, "dst")?),
        edge_type: str_field(v, "type")?.to_owned(),
        properties: properties_from_json(field(v, "properties")?)?,
        created_at: time_field(v, "created_at")?,
        updated_at: time_field(v, "updated_at")?,
    })
}

fn properties_text(p: &Properties) -> String {
    let inner: Vec<String> = p
        .iter()
        .map(|(k, v)| format!("{k}: {}", value::display(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// A node for people: `n5 :Person:Employee {age: 34, name: "Ann"}`.
pub fn node_text(n: &Node) -> String {
    let labels: String = n.labels.iter().map(|l| format!(":{l}")).collect();
    format!("n{} {labels} {}", n.id.0, properties_text(&n.properties))
}

/// Prints a node (`get node`).
pub fn print_node(node: &Node, json: bool) {
    if json {
        print_json(&node_json(node));
    } else {
        println!("{}", node_text(node));
    }
}

/// Prints an edge (`get edge`).
pub fn print_edge(edge: &Edge, json: bool) {
    if json {
        print_json(&edge_json(edge));
    } else {
        println!(
            "e{} (n{})-[:{} {}]->(n{})",
            edge.id.0,
            edge.src.0,
            edge.edge_type,
            properties_text(&edge.properties),
            edge.dst.0
        );
    }
}

// ---------------------------------------------------------------- stats

/// The graph part of `stats`: format, counts per label and per edge type,
/// indexes, external ids. `name` is what the output calls the store.
///
/// # Errors
/// Store errors.
pub fn stats<B: StorageBackend>(store: &GraphStore<B>, name: &str) -> Result<Value> {
    let r = store.snapshot()?;
    let labels = r.label_counts()?;
    let types = r.edge_type_counts()?;
    Ok(json!({
        "store": name,
        "format_version": r.format_version()?,
        "created_by": r.created_by()?,
        "nodes": r.node_count()?,
        "edges": r.edge_count()?,
        "labels": labels.iter().map(|(l, n)| json!({"label": &**l, "nodes": n})).collect::<Vec<_>>(),
        "edge_types": types.iter().map(|(t, n)| json!({"type": &**t, "edges": n})).collect::<Vec<_>>(),
        "indexes": indexes_json(&store.indexes()),
        "external_ids": r.external_id_count()?,
        "adjacency": adjacency_json(store)?,
    }))
}

/// The adjacency in RAM of `store`: its status, what it holds or would
/// need, and the budget.
fn adjacency_json<B: StorageBackend>(store: &GraphStore<B>) -> Result<Value> {
    let estimated = store.adjacency_estimate()?;
    let budget = store.adjacency_budget();
    let mut v = json!({
        "estimated_bytes": estimated,
        "budget_bytes": budget,
        "fits": estimated <= budget,
    });
    let (status, more) = match store.adjacency_status() {
        AdjacencyStatus::Off => ("off", json!({})),
        AdjacencyStatus::Building { .. } => ("building", json!({})),
        AdjacencyStatus::Ready {
            used,
            edges,
            built_in,
            ..
        } => (
            "ready",
            json!({"used_bytes": used, "edges": edges, "built_seconds": built_in.as_secs_f64()}),
        ),
        AdjacencyStatus::DoesNotFit { needed, reason, .. } => (
            "does_not_fit",
            json!({"needed_bytes": needed, "reason": reason}),
        ),
        AdjacencyStatus::Failed(why) => ("failed", json!({"reason": why})),
        _ => ("unknown", json!({})),
    };
    if let (Value::Object(m), Value::Object(more)) = (&mut v, more) {
        m.insert("status".into(), status.into());
        m.extend(more);
    }
    Ok(v)
}

/// Adds RocksDB's figures to a [`stats`] value: `column_families` (keys and
/// bytes per column family) and `engine` (disk, WAL, block cache).
///
/// # Errors
/// Engine errors.
pub fn add_engine_stats(stats: &mut Value, backend: &RocksDbBackend) -> Result<()> {
    let cfs = backend.stats()?;
    let engine = backend.store_stats()?;
    if let Value::Object(m) = stats {
        m.insert(
            "column_families".into(),
            cfs.iter()
                .map(|c| {
                    json!({
                        "name": c.cf.name(),
                        "estimated_keys": c.estimated_keys,
                        "total_sst_bytes": c.total_sst_bytes,
                        "live_sst_bytes": c.live_sst_bytes,
                        "estimated_live_data_bytes": c.estimated_live_data_bytes,
                        "memtable_bytes": c.memtable_bytes,
                        "sst_files_per_level": c.sst_files_per_level,
                    })
                })
                .collect(),
        );
        m.insert(
            "engine".into(),
            json!({
                "disk_bytes": engine.disk_bytes,
                "wal_bytes": engine.wal_bytes,
                "block_cache_capacity_bytes": engine.block_cache_capacity_bytes,
                "block_cache_usage_bytes": engine.block_cache_usage_bytes,
                "block_cache_pinned_bytes": engine.block_cache_pinned_bytes,
            }),
        );
    }
    Ok(())
}

/// One line about the adjacency in RAM of a `stats` value.
fn adjacency_text(a: &Value) -> String {
    let bytes = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mib = |b: u64| {
        if b >= 1 << 30 {
            format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30))
        } else {
            format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20))
        }
    };
    let budget = mib(bytes("budget_bytes"));
    match a.get("status").and_then(Value::as_str) {
        Some("ready") => format!(
            "in RAM: {} used of a {budget} budget, built in {:.2} s",
            mib(bytes("used_bytes")),
            a.get("built_seconds")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        ),
        Some("does_not_fit") => format!(
            "not in RAM: {} (needs {}, budget {budget})",
            a.get("reason").and_then(Value::as_str).unwrap_or(""),
            mib(bytes("needed_bytes"))
        ),
        Some("failed") => format!(
            "not in RAM: {}",
            a.get("reason").and_then(Value::as_str).unwrap_or("")
        ),
        Some("building") => format!("building (needs about {})", mib(bytes("estimated_bytes"))),
        _ => format!(
            "needs about {} in RAM, budget {budget}: {} (`stats --adjacency` builds it)",
            mib(bytes("estimated_bytes")),
            if a.get("fits").and_then(Value::as_bool).unwrap_or(false) {
                "fits"
            } else {
                "does not fit, reads go to the engine"
            }
        ),
    }
}

/// Prints `stats` (and, from a member, its `cluster` section).
pub fn print_stats(value: &Value, json: bool) {
    if json {
        print_json(value);
        return;
    }
    let g = |k: &str| value.get(k).cloned().unwrap_or(Value::Null);
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    println!("store        {}", g("store").as_str().unwrap_or(""));
    println!(
        "format       {} (created by {})",
        g("format_version"),
        g("created_by").as_str().unwrap_or("unknown")
    );
    println!("nodes        {}", progress::count(n(&g("nodes"))));
    println!("edges        {}", progress::count(n(&g("edges"))));
    for (title, key, name, count) in [
        ("labels", "labels", "label", "nodes"),
        ("edge types", "edge_types", "type", "edges"),
    ] {
        let items = g(key);
        let items = items.as_array().cloned().unwrap_or_default();
        println!("{title:<12} {}", items.len());
        for i in items {
            println!(
                "  {:<24} {:>14} {count}",
                i.get(name).and_then(Value::as_str).unwrap_or(""),
                progress::count(i.get(count).and_then(Value::as_u64).unwrap_or(0))
            );
        }
    }
    let idx = indexes_text(&g("indexes"));
    println!("indexes      {idx}");
    println!("external ids {}", progress::count(n(&g("external_ids"))));
    println!("adjacency    {}", adjacency_text(&g("adjacency")));
    println!("column families (RocksDB estimates):");
    println!(
        "  {:<8} {:>14} {:>12} {:>12} {:>10} {:>6}",
        "name", "keys", "sst", "live data", "memtable", "files"
    );
    for c in g("column_families").as_array().cloned().unwrap_or_default() {
        let f = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(0);
        let files: u64 = c
            .get("sst_files_per_level")
            .and_then(Value::as_array)
            .map_or(0, |l| l.iter().filter_map(Value::as_u64).sum());
        println!(
            "  {:<8} {:>14} {:>12} {:>12} {:>10} {:>6}",
            c.get("name").and_then(Value::as_str).unwrap_or(""),
            progress::count(f("estimated_keys")),
            progress::bytes(f("total_sst_bytes")),
            progress::bytes(f("estimated_live_data_bytes")),
            progress::bytes(f("memtable_bytes")),
            files
        );
    }
    let e = g("engine");
    let f = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
    println!(
        "disk         {} (WAL {}), block cache {} of {} used",
        progress::bytes(f("disk_bytes")),
        progress::bytes(f("wal_bytes")),
        progress::bytes(f("block_cache_usage_bytes")),
        progress::bytes(f("block_cache_capacity_bytes"))
    );
    let cluster = g("cluster");
    if !cluster.is_null() {
        for line in crate::remote::cluster_text(&cluster) {
            println!("{line}");
        }
    }
}

/// Indexes as JSON: `[{"label": ..., "property": ...}]`.
pub fn indexes_json(list: &[IndexInfo]) -> Value {
    Value::Array(
        list.iter()
            .map(|i| json!({"label": i.label, "property": i.property}))
            .collect(),
    )
}

/// Indexes from their JSON form ([`indexes_json`]).
///
/// # Errors
/// A message for a malformed list.
pub fn indexes_from_json(v: &Value) -> std::result::Result<Vec<IndexInfo>, String> {
    v.as_array()
        .ok_or_else(|| format!("the index list is not a list: {}", short(v)))?
        .iter()
        .map(|i| {
            Ok(IndexInfo {
                label: str_field(i, "label")?.to_owned(),
                property: str_field(i, "property")?.to_owned(),
            })
        })
        .collect()
}

fn indexes_text(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    format!(
                        ":{}({})",
                        i.get("label").and_then(Value::as_str).unwrap_or(""),
                        i.get("property").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Prints `index list`.
pub fn print_indexes(list: &[IndexInfo], json: bool) {
    if json {
        print_json(&indexes_json(list));
    } else if list.is_empty() {
        println!("no indexes");
    } else {
        for i in list {
            println!(":{}({})", i.label, i.property);
        }
    }
}

// ---------------------------------------------------------------- neighbors

/// Which edges `neighbors` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Way {
    /// Outgoing edges.
    Out,
    /// Incoming edges.
    In,
    /// Both.
    Both,
}

impl Way {
    fn direction(self) -> Direction {
        match self {
            Way::Out => Direction::Outgoing,
            Way::In => Direction::Incoming,
            Way::Both => Direction::Both,
        }
    }
}

/// What `neighbors` asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NeighborsQuery {
    /// The node.
    pub id: u64,
    /// Which edges.
    pub way: Way,
    /// Only edges of this type.
    pub edge_type: Option<String>,
    /// At most this many edges.
    pub limit: Option<usize>,
}

/// The edges of a node as `neighbors --json` prints them (`edge`, `type`,
/// `src`, `dst`, `neighbor`, `direction`), or `None` if there is no such
/// node.
///
/// # Errors
/// Store errors.
pub fn neighbors<B: StorageBackend>(
    store: &GraphStore<B>,
    q: &NeighborsQuery,
) -> Result<Option<Vec<Value>>> {
    let node = NodeId(q.id);
    let dir = q.way.direction();
    if !store.reader().contains_node(node)? {
        return Ok(None);
    }
    let r = store.snapshot()?;
    let mut edges: Vec<EdgeRef> = Vec::new();
    let iter = r.iter_edges_of(node, dir, q.edge_type.as_deref())?;
    for e in iter.take(q.limit.unwrap_or(usize::MAX)) {
        edges.push(e?);
    }
    let other = |e: &EdgeRef| if e.src == node { e.dst } else { e.src };
    Ok(Some(
        edges
            .iter()
            .map(|e| {
                json!({
                    "edge": e.id.0,
                    "type": &*e.edge_type,
                    "src": e.src.0,
                    "dst": e.dst.0,
                    "neighbor": other(e).0,
                    "direction": if e.src == node && (dir != Direction::Incoming) { "out" } else { "in" },
                })
            })
            .collect(),
    ))
}

/// Prints `neighbors` (the edge count goes to stderr).
pub fn print_neighbors(edges: &[Value], json: bool) {
    if json {
        print_json(&Value::Array(edges.to_vec()));
        return;
    }
    for e in edges {
        let f = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
        if e.get("direction").and_then(Value::as_str) == Some("out") {
            println!("e{} -[:{ty}]-> n{}", f("edge"), f("dst"));
        } else {
            println!("e{} <-[:{ty}]- n{}", f("edge"), f("src"));
        }
    }
    eprintln!("{} edges", progress::count(edges.len() as u64));
}

// ---------------------------------------------------------------- find

/// What `find` asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindQuery {
    /// The label.
    pub label: String,
    /// The `--where` conditions as given.
    pub conditions: Vec<String>,
    /// At most this many nodes.
    pub limit: Option<usize>,
}

/// What `find` found, and how.
#[derive(Debug, Clone)]
pub struct Found {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// `index :L(k)`, a label scan with advice, or empty (a plain label
    /// scan).
    pub how: String,
}

/// A comparison in `find --where`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
struct Condition {
    key: String,
    op: Op,
    value: PropertyValue,
}

/// Checks `find --where` conditions without running the query.
///
/// # Errors
/// The first malformed condition, as one line.
pub fn check_conditions(specs: &[String]) -> CliResult<()> {
    parse_conditions(specs).map(drop).map_err(CliError::new)
}

fn parse_conditions(specs: &[String]) -> std::result::Result<Vec<Condition>, String> {
    let mut out = Vec::new();
    for spec in specs {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ops = [
                ("!=", Op::Ne),
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("=", Op::Eq),
                (">", Op::Gt),
                ("<", Op::Lt),
            ];
            let found = ops
                .iter()
                .filter_map(|(s, op)| part.find(s).map(|i| (i, *s, *op)))
                .min_by_key(|(i, s, _)| (*i, usize::MAX - s.len()));
            let Some((i, s, op)) = found else {
                return Err(format!(
                    "--where {part:?}: no comparison (use key=value, key>=a, key<b, ...)"
                ));
            };
            let key = part[..i].trim();
            if key.is_empty() {
                return Err(format!("--where {part:?}: no property key before {s}"));
            }
            out.push(Condition {
                key: key.to_owned(),
                op,
                value: value::parse_literal(&part[i + s.len()..]),
            });
        }
    }
    Ok(out)
}

/// Compares values of the same type (the index's order within a type);
/// values of different types are unordered.
fn compare(a: ValueView<'_>, b: &PropertyValue) -> Option<std::cmp::Ordering> {
    use ValueView as V;
    match (a, ValueView::from(b)) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(&y)),
        (V::Float(x), V::Float(y)) => x.partial_cmp(&y),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(&y)),
        (V::String(x), V::String(y)) => Some(x.cmp(y)),
        (V::DateTime(x), V::DateTime(y)) => Some(x.cmp(&y)),
        (V::Bytes(x), V::Bytes(y)) => Some(x.cmp(y)),
        (V::Null, V::Null) => Some(std::cmp::Ordering::Equal),
        (a, b) => (a == b).then_some(std::cmp::Ordering::Equal),
    }
}

/// Whether `node` meets `c`, read in place.
fn holds(c: &Condition, node: &NodeView<'_>) -> bool {
    use std::cmp::Ordering as O;
    let Some(v) = node.property(&c.key) else {
        return false;
    };
    let ord = compare(v, &c.value);
    match c.op {
        Op::Eq => ord == Some(O::Equal),
        Op::Ne => ord != Some(O::Equal),
        Op::Lt => ord == Some(O::Less),
        Op::Le => matches!(ord, Some(O::Less | O::Equal)),
        Op::Gt => ord == Some(O::Greater),
        Op::Ge => matches!(ord, Some(O::Greater | O::Equal)),
    }
}

/// Nodes with `q.label` meeting every condition, through the property
/// index when one covers the first condition's key, else a label scan.
///
/// # Errors
/// [`graph_storage::Error::InvalidArgument`] for a malformed condition;
/// store errors.
pub fn find<B: StorageBackend>(store: &GraphStore<B>, q: &FindQuery) -> Result<Found> {
    let conditions = parse_conditions(&q.conditions).map_err(graph_storage::Error::invalid)?;
    let limit = q.limit.unwrap_or(usize::MAX);
    let mut found: Vec<Node> = Vec::new();
    let mut how = String::new();
    let r = store.snapshot()?;
    let indexed = store
        .indexes()
        .iter()
        .any(|i| i.label == q.label && conditions.first().is_some_and(|c| c.key == i.property));
    // The index answers the conditions on its key (equality or a range);
    // every condition is then checked on the node itself.
    let candidates: Box<dyn Iterator<Item = Result<NodeId>>> = if indexed {
        let key = conditions
            .first()
            .map(|c| c.key.clone())
            .unwrap_or_default();
        let on_key: Vec<&Condition> = conditions.iter().filter(|c| c.key == key).collect();
        let mut lower = Bound::Unbounded;
        let mut upper = Bound::Unbounded;
        let mut eq = None;
        for c in &on_key {
            match c.op {
                Op::Eq => eq = Some(&c.value),
                Op::Gt => lower = Bound::Excluded(&c.value),
                Op::Ge => lower = Bound::Included(&c.value),
                Op::Lt => upper = Bound::Excluded(&c.value),
                Op::Le => upper = Bound::Included(&c.value),
                Op::Ne => {}
            }
        }
        how = format!("index :{}({key})", q.label);
        let ids = match eq {
            Some(v) => r.find_nodes(&q.label, &key, v),
            None => r.find_nodes_in_range(&q.label, &key, lower, upper),
        }?;
        Box::new(ids.into_iter().map(Ok))
    } else {
        if !conditions.is_empty() {
            how = format!(
                "a scan of :{} (no index matches; `graphstore index create` adds one)",
                q.label
            );
        }
        Box::new(r.iter_nodes_with_label(&q.label)?)
    };
    for id in candidates {
        if found.len() >= limit {
            break;
        }
        // Each candidate is tested in place; only a match is decoded.
        let hit = r.with_node(id?, |v| {
            conditions.iter().all(|c| holds(c, &v)).then(|| v.to_node())
        })?;
        found.extend(hit.flatten());
    }
    Ok(Found { nodes: found, how })
}

/// `find`'s result as JSON: `{"nodes": [...], "how": "..."}`.
pub fn found_json(f: &Found) -> Value {
    json!({"nodes": f.nodes.iter().map(node_json).collect::<Vec<_>>(), "how": f.how})
}

/// `find`'s result from its JSON form ([`found_json`]).
///
/// # Errors
/// A message for a malformed answer.
pub fn found_from_json(v: &Value) -> std::result::Result<Found, String> {
    Ok(Found {
        nodes: field(v, "nodes")?
            .as_array()
            .ok_or_else(|| format!("\"nodes\" is not a list in {}", short(v)))?
            .iter()
            .map(node_from_json)
            .collect::<std::result::Result<_, _>>()?,
        how: str_field(v, "how")?.to_owned(),
    })
}

/// Prints `find` (the count, and how the nodes were found, go to stderr).
pub fn print_found(f: &Found, json: bool) {
    if json {
        print_json(&Value::Array(f.nodes.iter().map(node_json).collect()));
        return;
    }
    for n in &f.nodes {
        println!("{}", node_text(n));
    }
    if f.how.is_empty() {
        eprintln!("{} nodes", progress::count(f.nodes.len() as u64));
    } else {
        eprintln!(
            "{} nodes (by {})",
            progress::count(f.nodes.len() as u64),
            f.how
        );
    }
}

// ---------------------------------------------------------------- verify

/// What `verify` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verified {
    /// Whether the store is consistent.
    pub clean: bool,
    /// Each problem, as a line.
    pub problems: Vec<String>,
    /// The report's summary (`77 nodes, 254 edges, ...: clean`).
    pub summary: String,
}

/// Checks every index, adjacency entry and count against the records.
///
/// # Errors
/// Store errors (not inconsistencies: those are in the result).
pub fn verify<B: StorageBackend>(
    store: &GraphStore<B>,
    progress: impl FnMut(graph_storage::AuditProgress),
) -> Result<Verified> {
    let report = store.verify_with(progress)?;
    Ok(Verified {
        clean: report.is_clean(),
        problems: report.problems.iter().map(ToString::to_string).collect(),
        summary: report.to_string(),
    })
}

/// Prints `verify` for the store called `name`; `remedy` says what to do
/// about an inconsistent one.
///
/// # Errors
/// An inconsistent store, with [`EXIT_INCONSISTENT`].
pub fn print_verified(name: &str, v: &Verified, json: bool, remedy: &str) -> CliResult<()> {
    if json {
        print_json(&json!({"clean": v.clean, "problems": v.problems}));
    } else if v.clean {
        println!("{name}: clean ({})", v.summary);
    } else {
        println!("{name}: {} problems", v.problems.len());
        for p in &v.problems {
            println!("  {p}");
        }
    }
    if v.clean {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "{name} is inconsistent: {} problems ({remedy})",
            v.problems.len()
        ))
        .with_code(EXIT_INCONSISTENT))
    }
}
