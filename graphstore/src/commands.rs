//! The subcommands over a RocksDB store.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use graph_storage::{
    Direction, Durability, Edge, EdgeRef, GraphStore, Node, NodeId, PropertyValue, RocksDbBackend,
    RocksDbConfig, StoreOptions,
};
use serde_json::{Value, json};

use crate::error::{CliError, CliResult, Context, EXIT_INCONSISTENT, shown};
use crate::import::source::{CsvOptions, EdgeListOptions};
use crate::import::{self, ImportOptions, Input};
use crate::progress;
use crate::value;
use crate::{
    CopyArgs, ExportArgs, FindArgs, GetArgs, ImportArgs, ImportMode, IndexCommand, NeighborsArgs,
    RestoreArgs, StatsArgs, StoreArg, StoreJson,
};

/// A RocksDB graph store.
pub type Store = GraphStore<RocksDbBackend>;

/// The block cache of stores the tool opens. Each command is one short
/// process that reads mostly once (a scan, a lookup), so a cache much
/// smaller than the library's default (256 MiB) keeps the tool's memory low
/// (an export of a million-node graph stays well under 300 MiB) at no cost.
pub const CLI_BLOCK_CACHE_BYTES: usize = 32 << 20;

fn cli_config() -> RocksDbConfig {
    RocksDbConfig {
        block_cache_bytes: CLI_BLOCK_CACHE_BYTES,
        ..RocksDbConfig::default()
    }
}

/// Opens the store at `path`, which must exist.
///
/// # Errors
/// A missing path, a file, a directory that is not a store, a locked or
/// damaged store, each as one line.
pub fn open_existing(path: &Path, durability: Durability) -> CliResult<Store> {
    if !path.exists() {
        return Err(CliError::new(format!(
            "no store at {}: the directory does not exist (create one with `graphstore import {} ...`)",
            shown(path),
            shown(path)
        )));
    }
    if !path.is_dir() {
        return Err(CliError::new(format!(
            "{} is a file, not a store directory; give the store's directory",
            shown(path)
        )));
    }
    let empty = std::fs::read_dir(path)
        .ctx(|| format!("cannot read {}", shown(path)))?
        .next()
        .is_none();
    if empty {
        return Err(CliError::new(format!(
            "{} is an empty directory, not a store (create one with `graphstore import`)",
            shown(path)
        )));
    }
    let config = RocksDbConfig {
        create_if_missing: false,
        ..cli_config()
    };
    open_with(path, &config, durability)
}

/// Opens or creates the store at `path`.
///
/// # Errors
/// As [`open_existing`], but a missing or empty directory is created.
pub fn open_or_create(path: &Path, durability: Durability) -> CliResult<Store> {
    open_with(path, &cli_config(), durability)
}

fn open_with(path: &Path, config: &RocksDbConfig, durability: Durability) -> CliResult<Store> {
    let what = || format!("cannot open the store at {}", shown(path));
    let backend = RocksDbBackend::open_with(path, config).ctx(what)?;
    GraphStore::open_with(backend, StoreOptions::default().durability(durability)).ctx(what)
}

/// Closes a store, reporting a failing final sync.
pub(crate) fn close(store: Store) -> CliResult<()> {
    let path = store.backend().path().to_path_buf();
    store
        .into_backend()
        .close()
        .ctx(|| format!("cannot close the store at {}", shown(&path)))
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

fn properties_json(p: &graph_storage::Properties) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.clone(), value::to_json(v)))
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

fn edge_json(e: &Edge) -> Value {
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

fn properties_text(p: &graph_storage::Properties) -> String {
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

pub(crate) fn import(a: ImportArgs, quiet: bool) -> CliResult<()> {
    let mut inputs: Vec<Input> = Vec::new();
    inputs.extend(a.nodes.iter().map(|s| Input::nodes(s)));
    inputs.extend(a.relationships.iter().map(|s| Input::relationships(s)));
    inputs.extend(a.jsonl.iter().cloned().map(Input::Jsonl));
    inputs.extend(a.edge_list.iter().cloned().map(Input::EdgeList));
    let delimiter = match a.delimiter.as_str() {
        "\\t" | "\t" | "tab" | "TAB" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        d => {
            return Err(CliError::new(format!(
                "--delimiter {d:?} must be one ASCII character (or \\t for tab)"
            )));
        }
    };
    let report = a.bad_rows_report.clone().unwrap_or_else(|| {
        let mut name = a.store.clone().into_os_string();
        name.push(".bad-rows.txt");
        PathBuf::from(name)
    });
    let opts = ImportOptions {
        inputs,
        csv: CsvOptions {
            delimiter,
            array_delimiter: a.array_delimiter,
        },
        edge_list: EdgeListOptions {
            space: Arc::from(a.edge_list_space.as_str()),
            label: a.edge_list_label.clone(),
            edge_type: a.edge_list_type.clone(),
            third_column: a.third_column.clone(),
        },
        skip_bad_rows: a.skip_bad_rows,
        report,
        batch_size: a.batch_size,
        quiet,
        indexes: a
            .indexes
            .iter()
            .map(|spec| match spec.split_once(':') {
                Some((l, p)) if !l.is_empty() && !p.is_empty() => Ok((l.to_owned(), p.to_owned())),
                _ => Err(CliError::new(format!(
                    "--index {spec:?}: give Label:property"
                ))),
            })
            .collect::<CliResult<_>>()?,
        memory_budget: a.memory_budget.max(1) << 20,
        spill_dir: a.spill_dir.clone(),
    };
    let is_new = !a.store.exists()
        || (a.store.is_dir()
            && std::fs::read_dir(&a.store)
                .ctx(|| format!("cannot read {}", shown(&a.store)))?
                .next()
                .is_none());
    let bulk = match a.mode {
        ImportMode::Bulk => {
            if !is_new {
                return Err(CliError::new(format!(
                    "--mode bulk needs a new store, and {} is not empty: import into a new directory, or use --mode batched",
                    shown(&a.store)
                )));
            }
            true
        }
        ImportMode::Auto => is_new,
        ImportMode::Batched => false,
    };
    let summary = if bulk {
        import::run_bulk(&a.store, &cli_config(), &opts)?
    } else {
        // Background commits, one sync at the end: the import is durable
        // when the command returns.
        let store = open_or_create(&a.store, Durability::Background)?;
        let summary = import::run(&store, &opts)?;
        close(store)?;
        summary
    };
    if a.json {
        print_json(&serde_json::to_value(&summary).ctx(|| "cannot print the summary".to_owned())?);
    } else {
        println!("{}", import::describe(&summary));
    }
    Ok(())
}

pub(crate) fn export(a: ExportArgs, quiet: bool) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let summary = {
        let snapshot = store
            .snapshot()
            .ctx(|| format!("cannot read the store at {}", shown(&a.store)))?;
        crate::export::run(&snapshot, a.format, &a.out, a.array_delimiter, quiet)?
    };
    close(store)?;
    if a.json {
        print_json(&serde_json::to_value(&summary).ctx(|| "cannot print the summary".to_owned())?);
    } else if !(a.format == crate::export::Format::Jsonl && a.out == Path::new("-")) {
        println!("{}", crate::export::describe(&summary));
    } else {
        eprintln!("{}", crate::export::describe(&summary));
    }
    Ok(())
}

pub(crate) fn stats(a: StatsArgs) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let read = || format!("cannot read the store at {}", shown(&a.store));
    let value = {
        let r = store.snapshot().ctx(read)?;
        let labels = r.label_counts().ctx(read)?;
        let types = r.edge_type_counts().ctx(read)?;
        let cfs = store.backend().stats().ctx(read)?;
        let engine = store.backend().store_stats().ctx(read)?;
        json!({
            "store": shown(&a.store),
            "format_version": r.format_version().ctx(read)?,
            "created_by": r.created_by().ctx(read)?,
            "nodes": r.node_count().ctx(read)?,
            "edges": r.edge_count().ctx(read)?,
            "labels": labels.iter().map(|(l, n)| json!({"label": &**l, "nodes": n})).collect::<Vec<_>>(),
            "edge_types": types.iter().map(|(t, n)| json!({"type": &**t, "edges": n})).collect::<Vec<_>>(),
            "indexes": store.indexes().iter().map(|i| json!({"label": i.label, "property": i.property})).collect::<Vec<_>>(),
            "external_ids": r.external_id_count().ctx(read)?,
            "column_families": cfs.iter().map(|c| json!({
                "name": c.cf.name(),
                "estimated_keys": c.estimated_keys,
                "total_sst_bytes": c.total_sst_bytes,
                "live_sst_bytes": c.live_sst_bytes,
                "estimated_live_data_bytes": c.estimated_live_data_bytes,
                "memtable_bytes": c.memtable_bytes,
                "sst_files_per_level": c.sst_files_per_level,
            })).collect::<Vec<_>>(),
            "engine": {
                "disk_bytes": engine.disk_bytes,
                "wal_bytes": engine.wal_bytes,
                "block_cache_capacity_bytes": engine.block_cache_capacity_bytes,
                "block_cache_usage_bytes": engine.block_cache_usage_bytes,
                "block_cache_pinned_bytes": engine.block_cache_pinned_bytes,
            },
        })
    };
    close(store)?;
    if a.json {
        print_json(&value);
        return Ok(());
    }
    let g = |k: &str| value.get(k).cloned().unwrap_or(Value::Null);
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    println!("store        {}", shown(&a.store));
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
    let idx = store_indexes_text(&g("indexes"));
    println!("indexes      {idx}");
    println!("external ids {}", progress::count(n(&g("external_ids"))));
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
    Ok(())
}

fn store_indexes_text(v: &Value) -> String {
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

pub(crate) fn get_node(a: GetArgs) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let node = store
        .get_node(NodeId(a.id))
        .ctx(|| format!("cannot read node {} of {}", a.id, shown(&a.store)))?;
    close(store)?;
    let node = node
        .ok_or_else(|| CliError::new(format!("node {} not found in {}", a.id, shown(&a.store))))?;
    if a.json {
        print_json(&node_json(&node));
    } else {
        println!("{}", node_text(&node));
    }
    Ok(())
}

pub(crate) fn get_edge(a: GetArgs) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let edge = store
        .get_edge(graph_storage::EdgeId(a.id))
        .ctx(|| format!("cannot read edge {} of {}", a.id, shown(&a.store)))?;
    close(store)?;
    let edge = edge
        .ok_or_else(|| CliError::new(format!("edge {} not found in {}", a.id, shown(&a.store))))?;
    if a.json {
        print_json(&edge_json(&edge));
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
    Ok(())
}

pub(crate) fn neighbors(a: NeighborsArgs) -> CliResult<()> {
    let dir = if a.both {
        Direction::Both
    } else if a.incoming {
        Direction::Incoming
    } else {
        Direction::Outgoing
    };
    let store = open_existing(&a.store, Durability::Strict)?;
    let read = || {
        format!(
            "cannot read the edges of node {} in {}",
            a.id,
            shown(&a.store)
        )
    };
    let node = NodeId(a.id);
    let mut edges: Vec<EdgeRef> = Vec::new();
    {
        if !store.reader().contains_node(node).ctx(read)? {
            return Err(CliError::new(format!(
                "node {} not found in {}",
                a.id,
                shown(&a.store)
            )));
        }
        let r = store.snapshot().ctx(read)?;
        let iter = r
            .iter_edges_of(node, dir, a.edge_type.as_deref())
            .ctx(read)?;
        for e in iter.take(a.limit.unwrap_or(usize::MAX)) {
            edges.push(e.ctx(read)?);
        }
    }
    close(store)?;
    let other = |e: &EdgeRef| if e.src == node { e.dst } else { e.src };
    if a.json {
        let items: Vec<Value> = edges
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
            .collect();
        print_json(&Value::Array(items));
    } else {
        for e in &edges {
            if e.src == node && dir != Direction::Incoming {
                println!("e{} -[:{}]-> n{}", e.id.0, e.edge_type, e.dst.0);
            } else {
                println!("e{} <-[:{}]- n{}", e.id.0, e.edge_type, e.src.0);
            }
        }
        eprintln!("{} edges", progress::count(edges.len() as u64));
    }
    Ok(())
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

fn parse_conditions(specs: &[String]) -> CliResult<Vec<Condition>> {
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
                return Err(CliError::new(format!(
                    "--where {part:?}: no comparison (use key=value, key>=a, key<b, ...)"
                )));
            };
            let key = part[..i].trim();
            if key.is_empty() {
                return Err(CliError::new(format!(
                    "--where {part:?}: no property key before {s}"
                )));
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
fn compare(a: &PropertyValue, b: &PropertyValue) -> Option<std::cmp::Ordering> {
    use PropertyValue as V;
    match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Float(x), V::Float(y)) => x.partial_cmp(y),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::String(x), V::String(y)) => Some(x.cmp(y)),
        (V::DateTime(x), V::DateTime(y)) => Some(x.cmp(y)),
        (V::Bytes(x), V::Bytes(y)) => Some(x.cmp(y)),
        (V::Null, V::Null) => Some(std::cmp::Ordering::Equal),
        _ => (a == b).then_some(std::cmp::Ordering::Equal),
    }
}

fn holds(c: &Condition, node: &Node) -> bool {
    use std::cmp::Ordering as O;
    let Some(v) = node.properties.get(&c.key) else {
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

pub(crate) fn find(a: FindArgs) -> CliResult<()> {
    let conditions = parse_conditions(&a.conditions)?;
    let store = open_existing(&a.store, Durability::Strict)?;
    let read = || format!("cannot search {}", shown(&a.store));
    let limit = a.limit.unwrap_or(usize::MAX);
    let mut found: Vec<Node> = Vec::new();
    let mut how = String::new();
    {
        let r = store.snapshot().ctx(read)?;
        let indexed = store
            .indexes()
            .iter()
            .any(|i| i.label == a.label && conditions.first().is_some_and(|c| c.key == i.property));
        // The index answers the conditions on its key (equality or a range);
        // every condition is then checked on the node itself.
        let candidates: Box<dyn Iterator<Item = graph_storage::Result<NodeId>>> = if indexed {
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
            how = format!("index :{}({key})", a.label);
            let ids = match eq {
                Some(v) => r.find_nodes(&a.label, &key, v),
                None => r.find_nodes_in_range(&a.label, &key, lower, upper),
            }
            .ctx(read)?;
            Box::new(ids.into_iter().map(Ok))
        } else {
            if !conditions.is_empty() {
                how = format!(
                    "a scan of :{} (no index matches; `graphstore index create` adds one)",
                    a.label
                );
            }
            Box::new(r.iter_nodes_with_label(&a.label).ctx(read)?)
        };
        for id in candidates {
            if found.len() >= limit {
                break;
            }
            let id = id.ctx(read)?;
            let Some(node) = r.get_node(id).ctx(read)? else {
                continue;
            };
            if conditions.iter().all(|c| holds(c, &node)) {
                found.push(node);
            }
        }
    }
    close(store)?;
    if a.json {
        print_json(&Value::Array(found.iter().map(node_json).collect()));
    } else {
        for n in &found {
            println!("{}", node_text(n));
        }
        if how.is_empty() {
            eprintln!("{} nodes", progress::count(found.len() as u64));
        } else {
            eprintln!("{} nodes (by {how})", progress::count(found.len() as u64));
        }
    }
    Ok(())
}

pub(crate) fn index(c: IndexCommand) -> CliResult<()> {
    match c {
        IndexCommand::Create(a) => {
            let store = open_existing(&a.store, Durability::Strict)?;
            store.create_index(&a.label, &a.property).ctx(|| {
                format!(
                    "cannot create the index :{}({}) in {}",
                    a.label,
                    a.property,
                    shown(&a.store)
                )
            })?;
            close(store)?;
            println!("created index :{}({})", a.label, a.property);
        }
        IndexCommand::Drop(a) => {
            let store = open_existing(&a.store, Durability::Strict)?;
            store.drop_index(&a.label, &a.property).ctx(|| {
                format!(
                    "cannot drop the index :{}({}) in {}",
                    a.label,
                    a.property,
                    shown(&a.store)
                )
            })?;
            close(store)?;
            println!("dropped index :{}({})", a.label, a.property);
        }
        IndexCommand::List(a) => {
            let store = open_existing(&a.store, Durability::Strict)?;
            let list = store.indexes();
            close(store)?;
            if a.json {
                print_json(&Value::Array(
                    list.iter()
                        .map(|i| json!({"label": i.label, "property": i.property}))
                        .collect(),
                ));
            } else if list.is_empty() {
                println!("no indexes");
            } else {
                for i in list {
                    println!(":{}({})", i.label, i.property);
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn verify(a: StoreJson) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let report = store
        .verify()
        .ctx(|| format!("cannot verify {}", shown(&a.store)))?;
    close(store)?;
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    if a.json {
        print_json(&json!({"clean": report.is_clean(), "problems": problems}));
    } else if report.is_clean() {
        println!("{}: clean ({report})", shown(&a.store));
    } else {
        println!("{}: {} problems", shown(&a.store), problems.len());
        for p in &problems {
            println!("  {p}");
        }
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "{} is inconsistent: {} problems (run `graphstore repair {}`)",
            shown(&a.store),
            problems.len(),
            shown(&a.store)
        ))
        .with_code(EXIT_INCONSISTENT))
    }
}

pub(crate) fn repair(a: StoreJson) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let report = store
        .repair()
        .ctx(|| format!("cannot repair {}", shown(&a.store)))?;
    close(store)?;
    let unfixed: Vec<String> = report.unfixed.iter().map(ToString::to_string).collect();
    if a.json {
        print_json(&json!({
            "changed": report.changed(),
            "clean": report.is_clean(),
            "nodes": report.nodes,
            "edges": report.edges,
            "entries_added": report.added.total(),
            "entries_removed": report.removed.total(),
            "values_cleared": report.values_cleared,
            "counts_fixed": report.counts.len(),
            "id_counters_fixed": report.id_counters.len(),
            "unfixed": unfixed,
        }));
    } else {
        println!("{}", report);
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "{} still has {} problems repair cannot fix (restore a backup, or export and re-import what reads)",
            shown(&a.store),
            report.after.problems.len()
        ))
        .with_code(EXIT_INCONSISTENT))
    }
}

pub(crate) fn checkpoint(a: CopyArgs) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    store.backend().checkpoint(&a.dir).ctx(|| {
        format!(
            "cannot checkpoint {} into {}",
            shown(&a.store),
            shown(&a.dir)
        )
    })?;
    close(store)?;
    if a.json {
        print_json(&json!({"checkpoint": shown(&a.dir)}));
    } else {
        println!(
            "checkpoint of {} written to {} (open it as a store)",
            shown(&a.store),
            shown(&a.dir)
        );
    }
    Ok(())
}

pub(crate) fn backup(a: CopyArgs) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let info = store
        .backend()
        .backup(&a.dir)
        .ctx(|| format!("cannot back up {} into {}", shown(&a.store), shown(&a.dir)))?;
    close(store)?;
    if a.json {
        print_json(&json!({
            "backup_dir": shown(&a.dir),
            "id": info.id,
            "timestamp": info.timestamp,
            "size_bytes": info.size_bytes,
            "file_count": info.file_count,
        }));
    } else {
        println!(
            "backup {} of {} written to {} and verified ({} in {} files)",
            info.id,
            shown(&a.store),
            shown(&a.dir),
            progress::bytes(info.size_bytes),
            info.file_count
        );
    }
    Ok(())
}

pub(crate) fn restore(a: RestoreArgs) -> CliResult<()> {
    RocksDbBackend::restore(&a.backup_dir, &a.store, a.backup_id).ctx(|| {
        format!(
            "cannot restore {} from {}",
            shown(&a.store),
            shown(&a.backup_dir)
        )
    })?;
    // Open it once: the restored store must be a graph store that verifies.
    let store = open_existing(&a.store, Durability::Strict)?;
    let report = store
        .verify()
        .ctx(|| format!("cannot verify {}", shown(&a.store)))?;
    let (nodes, edges) = (
        store
            .node_count()
            .ctx(|| "cannot read the counts".to_owned())?,
        store
            .edge_count()
            .ctx(|| "cannot read the counts".to_owned())?,
    );
    close(store)?;
    if !report.is_clean() {
        return Err(CliError::new(format!(
            "restored {} but it does not verify: {report}",
            shown(&a.store)
        ))
        .with_code(EXIT_INCONSISTENT));
    }
    println!(
        "restored {} from {}: {} nodes, {} edges, verified clean",
        shown(&a.store),
        shown(&a.backup_dir),
        progress::count(nodes),
        progress::count(edges)
    );
    Ok(())
}

pub(crate) fn compact(a: StoreArg) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let before = store
        .backend()
        .store_stats()
        .map(|s| s.disk_bytes)
        .unwrap_or(0);
    store
        .backend()
        .compact()
        .ctx(|| format!("cannot compact {}", shown(&a.store)))?;
    let after = store
        .backend()
        .store_stats()
        .map(|s| s.disk_bytes)
        .unwrap_or(0);
    close(store)?;
    println!(
        "compacted {}: {} -> {} on disk",
        shown(&a.store),
        progress::bytes(before),
        progress::bytes(after)
    );
    Ok(())
}
