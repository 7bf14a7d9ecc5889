//! The subcommands over a RocksDB store. A command whose STORE is a
//! member's URL runs over the network instead (remote.rs); the read
//! commands compute and print through reads.rs either way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use graph_storage::{
    Durability, EdgeId, ErrorKind, GraphStore, NodeId, RocksDbBackend, RocksDbConfig, StoreOptions,
};
use serde_json::json;

use crate::error::{CliError, CliResult, Context, EXIT_INCONSISTENT, shown};
use crate::import::graphml::GraphmlOptions;
use crate::import::source::{CsvOptions, EdgeListOptions, Notes};
use crate::import::{self, ImportOptions, Input};
use crate::progress;
use crate::reads::{self, FindQuery, NeighborsQuery, Way, print_json};
use crate::remote;
use crate::{
    CopyArgs, ExportArgs, FindArgs, GetArgs, ImportArgs, ImportMode, IndexCommand, NeighborsArgs,
    ReadJson, RestoreArgs, StatsArgs, StoreArg, StoreJson,
};

pub use crate::reads::{node_json, node_text};

/// A RocksDB graph store.
pub type Store = GraphStore<RocksDbBackend>;

/// The block cache of stores the tool opens. Each command is one short
/// process that reads mostly once (a scan, a lookup), so a cache much
/// smaller than the library's default (256 MiB) keeps the tool's memory low
/// (an export of a million-node graph stays well under 300 MiB) at no cost.
pub const CLI_BLOCK_CACHE_BYTES: usize = 32 << 20;

/// The RocksDB configuration of stores the tool opens.
pub(crate) fn cli_config() -> RocksDbConfig {
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
    open_existing_with(
        path,
        StoreOptions::default()
            .durability(durability)
            .adjacency(false),
    )
}

/// [`open_existing`] with the given options (`algo` holds the adjacency
/// in RAM).
///
/// # Errors
/// As [`open_existing`].
pub fn open_existing_with(path: &Path, options: StoreOptions) -> CliResult<Store> {
    local_only(path)?;
    // A bulk load killed after it completed but before its store was moved
    // into place is a store all the same: move it now, so that a missing
    // directory is not reported for it.
    finish_interrupted_bulk_load(path)?;
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
    open_with_options(path, &config, options)
}

/// Finishes or removes what an interrupted bulk load of `path` left beside
/// it; whether a complete load was moved onto `path`.
/// A load still running into `path` is reported as such.
fn finish_interrupted_bulk_load(path: &Path) -> CliResult<bool> {
    match RocksDbBackend::finish_interrupted_bulk_load(path) {
        Err(e) if e.kind() == ErrorKind::Locked => Err(CliError::new(format!(
            "a bulk load (graphstore import) is creating {} right now; wait for it to end, then retry",
            shown(path)
        ))),
        r => r.ctx(|| {
            format!(
                "cannot finish or remove the interrupted bulk load beside {}",
                shown(path)
            )
        }),
    }
}

/// Opens or creates the store at `path`.
///
/// # Errors
/// As [`open_existing`], but a missing or empty directory is created.
pub fn open_or_create(path: &Path, durability: Durability) -> CliResult<Store> {
    local_only(path)?;
    open_with(path, &cli_config(), durability)
}

/// Refuses a member's URL where only a store directory will do.
fn local_only(path: &Path) -> CliResult<()> {
    match remote::url_of(path) {
        Some(url) => Err(CliError::new(format!(
            "{url} is a member's URL, and this command works on a store directory only (over the network: stats, get, neighbors, find, index, verify, import)"
        ))),
        None => Ok(()),
    }
}

/// Opens a store for one command: without the adjacency in RAM, which a
/// process that reads a few records and exits would build for nothing
/// (`stats --adjacency` and `serve` hold it).
fn open_with(path: &Path, config: &RocksDbConfig, durability: Durability) -> CliResult<Store> {
    open_with_options(
        path,
        config,
        StoreOptions::default()
            .durability(durability)
            .adjacency(false),
    )
}

fn open_with_options(
    path: &Path,
    config: &RocksDbConfig,
    options: StoreOptions,
) -> CliResult<Store> {
    let what = || format!("cannot open the store at {}", shown(path));
    let backend = RocksDbBackend::open_with(path, config).ctx(what)?;
    GraphStore::open_with(backend, options).ctx(what)
}

/// Closes a store, reporting a failing final sync.
pub(crate) fn close(store: Store) -> CliResult<()> {
    let path = store.backend().path().to_path_buf();
    store
        .into_backend()
        .close()
        .ctx(|| format!("cannot close the store at {}", shown(&path)))
}

pub(crate) fn import(a: ImportArgs, quiet: bool) -> CliResult<()> {
    let mut inputs: Vec<Input> = Vec::new();
    inputs.extend(a.nodes.iter().map(|s| Input::nodes(s)));
    inputs.extend(a.relationships.iter().map(|s| Input::relationships(s)));
    inputs.extend(a.jsonl.iter().cloned().map(Input::Jsonl));
    inputs.extend(a.edge_list.iter().cloned().map(Input::EdgeList));
    inputs.extend(a.graphml.iter().cloned().map(Input::Graphml));
    inputs.extend(a.node_link.iter().cloned().map(Input::NodeLink));
    inputs.extend(a.gml.iter().cloned().map(Input::Gml));
    inputs.extend(a.pajek.iter().cloned().map(Input::Pajek));
    let delimiter = match a.delimiter.as_str() {
        "\\t" | "\t" | "tab" | "TAB" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        d => {
            return Err(CliError::new(format!(
                "--delimiter {d:?} must be one ASCII character (or \\t for tab)"
            )));
        }
    };
    let url = remote::url_of(&a.store);
    let report = a.bad_rows_report.clone().unwrap_or_else(|| {
        if url.is_some() {
            return PathBuf::from("bad-rows.txt");
        }
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
            fourth_column: a.fourth_column.clone(),
            header: a.edge_list_header,
            undirected: a.undirected,
            notes: Notes::default(),
        },
        graphml: GraphmlOptions {
            label: a.graphml_label.clone(),
            edge_type: a.graphml_type.clone(),
        },
        node_link: GraphmlOptions {
            label: a.node_link_label.clone(),
            edge_type: a.node_link_type.clone(),
        },
        gml: GraphmlOptions {
            label: a.gml_label.clone(),
            edge_type: a.gml_type.clone(),
        },
        pajek: GraphmlOptions {
            label: a.pajek_label.clone(),
            edge_type: a.pajek_type.clone(),
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
    if let Some(url) = url {
        if a.mode == ImportMode::Bulk {
            return Err(CliError::new(format!(
                "--mode bulk needs a new local store; an import into the cluster at {url} goes in batches (leave --mode out, or give --mode batched)"
            )));
        }
        if a.spill_dir.is_some() {
            return Err(CliError::new(
                "--spill-dir is for bulk loads into a new local store, not for an import into a cluster",
            ));
        }
        let member = remote::Member::connect(url)?;
        let summary = import::remote::run(&member, &opts)?;
        return print_import(&summary, a.json);
    }
    if finish_interrupted_bulk_load(&a.store)? {
        return Err(CliError::new(format!(
            "an earlier bulk load into {} was interrupted after it had completed: its store \
             is there now, and nothing of this import was written; look at it (graphstore \
             stats {}) before importing into it again",
            shown(&a.store),
            shown(&a.store)
        )));
    }
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
    print_import(&summary, a.json)
}

fn print_import(summary: &import::ImportSummary, json: bool) -> CliResult<()> {
    if json {
        print_json(&serde_json::to_value(summary).ctx(|| "cannot print the summary".to_owned())?);
    } else {
        println!("{}", import::describe(summary));
    }
    Ok(())
}

pub(crate) fn export(a: ExportArgs, quiet: bool) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let summary = {
        let snapshot = store
            .snapshot()
            .ctx(|| format!("cannot read the store at {}", shown(&a.store)))?;
        crate::export::run(
            &snapshot,
            a.format,
            &a.out,
            a.array_delimiter,
            a.weight.as_deref(),
            a.gzip,
            quiet,
        )?
    };
    close(store)?;
    if a.json {
        print_json(&serde_json::to_value(&summary).ctx(|| "cannot print the summary".to_owned())?);
    } else if a.format == crate::export::Format::Csv || a.out != Path::new("-") {
        println!("{}", crate::export::describe(&summary));
    } else {
        eprintln!("{}", crate::export::describe(&summary));
    }
    Ok(())
}

pub(crate) fn stats(a: StatsArgs) -> CliResult<()> {
    if let Some(url) = remote::url_of(&a.store) {
        return remote::stats(url, &a);
    }
    let store = open_existing_with(
        &a.store,
        StoreOptions::default()
            .durability(Durability::Strict)
            .adjacency(a.adjacency),
    )?;
    if a.adjacency {
        // Built before the figures are read.
        let bar = progress::spinner("building the adjacency in RAM", a.json);
        store.wait_for_adjacency();
        bar.finish_and_clear();
    }
    let read = || format!("cannot read the store at {}", shown(&a.store));
    let mut value = reads::stats(&store, &shown(&a.store)).ctx(read)?;
    reads::add_engine_stats(&mut value, store.backend()).ctx(read)?;
    close(store)?;
    reads::print_stats(&value, a.json);
    Ok(())
}

pub(crate) fn get_node(a: GetArgs) -> CliResult<()> {
    if let Some(url) = remote::url_of(&a.store) {
        return remote::get_node(url, &a);
    }
    let store = open_existing(&a.store, Durability::Strict)?;
    let node = store
        .get_node(NodeId(a.id))
        .ctx(|| format!("cannot read node {} of {}", a.id, shown(&a.store)))?;
    close(store)?;
    let node = node
        .ok_or_else(|| CliError::new(format!("node {} not found in {}", a.id, shown(&a.store))))?;
    reads::print_node(&node, a.json);
    Ok(())
}

pub(crate) fn get_edge(a: GetArgs) -> CliResult<()> {
    if let Some(url) = remote::url_of(&a.store) {
        return remote::get_edge(url, &a);
    }
    let store = open_existing(&a.store, Durability::Strict)?;
    let edge = store
        .get_edge(EdgeId(a.id))
        .ctx(|| format!("cannot read edge {} of {}", a.id, shown(&a.store)))?;
    close(store)?;
    let edge = edge
        .ok_or_else(|| CliError::new(format!("edge {} not found in {}", a.id, shown(&a.store))))?;
    reads::print_edge(&edge, a.json);
    Ok(())
}

/// What `neighbors` asks, from its arguments.
pub(crate) fn neighbors_query(a: &NeighborsArgs) -> NeighborsQuery {
    let way = if a.both {
        Way::Both
    } else if a.incoming {
        Way::In
    } else {
        Way::Out
    };
    NeighborsQuery {
        id: a.id,
        way,
        edge_type: a.edge_type.clone(),
        limit: a.limit,
    }
}

pub(crate) fn neighbors(a: NeighborsArgs) -> CliResult<()> {
    if let Some(url) = remote::url_of(&a.store) {
        return remote::neighbors(url, &a);
    }
    let store = open_existing(&a.store, Durability::Strict)?;
    let read = || {
        format!(
            "cannot read the edges of node {} in {}",
            a.id,
            shown(&a.store)
        )
    };
    let edges = reads::neighbors(&store, &neighbors_query(&a)).ctx(read)?;
    close(store)?;
    let edges = edges
        .ok_or_else(|| CliError::new(format!("node {} not found in {}", a.id, shown(&a.store))))?;
    reads::print_neighbors(&edges, a.json);
    Ok(())
}

/// What `find` asks, from its arguments.
pub(crate) fn find_query(a: &FindArgs) -> FindQuery {
    FindQuery {
        label: a.label.clone(),
        conditions: a.conditions.clone(),
        limit: a.limit,
    }
}

pub(crate) fn find(a: FindArgs) -> CliResult<()> {
    reads::check_conditions(&a.conditions)?;
    if let Some(url) = remote::url_of(&a.store) {
        return remote::find(url, &a);
    }
    let store = open_existing(&a.store, Durability::Strict)?;
    let found = reads::find(&store, &find_query(&a))
        .ctx(|| format!("cannot search {}", shown(&a.store)))?;
    close(store)?;
    reads::print_found(&found, a.json);
    Ok(())
}

pub(crate) fn index(c: IndexCommand) -> CliResult<()> {
    match c {
        IndexCommand::Create(a) => {
            if let Some(url) = remote::url_of(&a.store) {
                return remote::index_create(url, &a);
            }
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
            if let Some(url) = remote::url_of(&a.store) {
                return remote::index_drop(url, &a);
            }
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
            if let Some(url) = remote::url_of(&a.store) {
                return remote::index_list(url, &a);
            }
            let store = open_existing(&a.store, Durability::Strict)?;
            let list = store.indexes();
            close(store)?;
            reads::print_indexes(&list, a.json);
        }
    }
    Ok(())
}

pub(crate) fn verify(a: ReadJson, quiet: bool) -> CliResult<()> {
    if let Some(url) = remote::url_of(&a.store) {
        return remote::verify(url, &a);
    }
    let store = open_existing(&a.store, Durability::Strict)?;
    let mut shown_progress = progress::AuditDisplay::new(quiet);
    let verified = reads::verify(&store, |p| shown_progress.update(p))
        .ctx(|| format!("cannot verify {}", shown(&a.store)))?;
    close(store)?;
    let name = shown(&a.store);
    reads::print_verified(
        &name,
        &verified,
        a.json,
        &format!("run `graphstore repair {name}`"),
    )
}

pub(crate) fn repair(a: StoreJson, quiet: bool) -> CliResult<()> {
    let store = open_existing(&a.store, Durability::Strict)?;
    let mut shown_progress = progress::AuditDisplay::new(quiet);
    let report = store
        .repair_with(|p| shown_progress.update(p))
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
