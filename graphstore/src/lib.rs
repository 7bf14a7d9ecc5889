//! `graphstore`: the command-line tool of graph-storage. Load real graphs
//! (Neo4j admin-import CSV, JSON Lines, edge lists), look inside, check and
//! repair, export, checkpoint, back up and restore a RocksDB graph store.
//!
//! Every command takes the store directory; every failure prints one line
//! (what, where, what to do) and exits non-zero; `--json` gives output for
//! scripts. See `graphstore --help` and docs/CLI.md.

pub mod commands;
pub mod demo;
pub mod error;
pub mod export;
pub mod import;
pub mod progress;
pub mod value;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::CliError;

/// graphstore: load, inspect, verify, repair, export and back up
/// graph-storage stores (RocksDB).
#[derive(Debug, Parser)]
#[command(name = "graphstore", version, about, long_about = None)]
pub struct Cli {
    /// No progress display (summaries and results are still printed).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import Neo4j admin-import CSV, JSON Lines or edge lists into a store
    /// (created if missing); all or nothing for bad input.
    Import(Box<ImportArgs>),
    /// Export the whole graph as Neo4j CSV (a directory) or JSON Lines.
    Export(ExportArgs),
    /// Counts of nodes, edges, labels, types, column families and engine figures.
    Stats(StatsArgs),
    /// Print one node or edge.
    #[command(subcommand)]
    Get(GetCommand),
    /// The edges and neighbours of a node.
    Neighbors(NeighborsArgs),
    /// Find nodes by label, optionally filtered by property conditions.
    Find(FindArgs),
    /// Create, drop or list property indexes.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Check every index, adjacency entry and count against the records
    /// (exit code 3 when inconsistent).
    Verify(StoreJson),
    /// Rebuild adjacency, label and property indexes and counts from the
    /// node and edge records.
    Repair(StoreJson),
    /// A consistent, openable copy of the store (RocksDB checkpoint; hard
    /// links where possible), taken while it may be in use.
    Checkpoint(CopyArgs),
    /// Back the store up into a backup directory (RocksDB backup engine,
    /// incremental, verified).
    Backup(CopyArgs),
    /// Restore a store from a backup directory into an empty or new
    /// directory (verified first).
    Restore(RestoreArgs),
    /// Compact the store fully (reclaims space of deleted data).
    Compact(StoreArg),
    /// The main job: import a real public graph and a generated one of a
    /// million nodes, then query, traverse and verify them, with rates.
    Demo(demo::DemoArgs),
}

/// A store directory.
#[derive(Debug, Args)]
pub struct StoreArg {
    /// The store directory.
    store: PathBuf,
}

/// A store directory and `--json`.
#[derive(Debug, Args)]
pub struct StoreJson {
    /// The store directory.
    store: PathBuf,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store directory (created when missing or empty).
    store: PathBuf,
    /// A Neo4j node file set: `[Label[:Label]=]file[,file...]` (the header
    /// is the first line of the first file). Repeatable.
    #[arg(long, value_name = "[LABELS=]FILES")]
    nodes: Vec<String>,
    /// A Neo4j relationship file set: `[TYPE=]file[,file...]`. Repeatable.
    #[arg(long, value_name = "[TYPE=]FILES")]
    relationships: Vec<String>,
    /// A JSON Lines file (`{"type":"node",...}` / `{"type":"relationship",...}`). Repeatable.
    #[arg(long, value_name = "FILE")]
    jsonl: Vec<PathBuf>,
    /// A plain edge list (`src dst [number]` a line, `#`/`%` comments). Repeatable.
    #[arg(long, value_name = "FILE")]
    edge_list: Vec<PathBuf>,
    /// Label of the nodes edge lists create.
    #[arg(long, default_value = "Node")]
    edge_list_label: String,
    /// Type of edge-list edges.
    #[arg(long, default_value = "EDGE")]
    edge_list_type: String,
    /// Id space of edge-list node ids.
    #[arg(long, default_value = "")]
    edge_list_space: String,
    /// Property name of an edge list's third column.
    #[arg(long, default_value = "weight")]
    third_column: String,
    /// CSV field delimiter (one character; `\t` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Delimiter inside array cells and `:LABEL`.
    #[arg(long, default_value = ";")]
    array_delimiter: char,
    /// Skip bad rows (counted and written to the report) instead of stopping.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Where skipped rows are listed (default: STORE.bad-rows.txt beside the store).
    #[arg(long, value_name = "FILE")]
    bad_rows_report: Option<PathBuf>,
    /// Rows per commit (batched path).
    #[arg(long, default_value_t = 10_000)]
    batch_size: usize,
    /// The write path: `bulk` builds a new store from sorted SST files,
    /// all or nothing (the store must be new); `batched` commits batches
    /// into a new or existing store; `auto` is bulk for a new store.
    #[arg(long, value_enum, default_value = "auto")]
    mode: ImportMode,
    /// A property index to declare before loading, `Label:property`
    /// (repeatable).
    #[arg(long = "index", value_name = "LABEL:PROPERTY")]
    indexes: Vec<String>,
    /// Bulk path: MiB of sort buffers in memory (more spills to disk).
    #[arg(long, default_value_t = 256)]
    memory_budget: usize,
    /// Bulk path: where sorted runs are spilled (default: beside the store).
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// The write path of `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportMode {
    /// Bulk for a new store, batched for an existing one.
    Auto,
    /// Sorted SST files ingested at once into a new store.
    Bulk,
    /// Batches through the normal commit path.
    Batched,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store directory.
    store: PathBuf,
    /// The format.
    #[arg(long, value_enum, default_value = "csv")]
    format: export::Format,
    /// A directory (CSV) or a file (JSON Lines; `-` for standard output).
    #[arg(long, short)]
    out: PathBuf,
    /// Delimiter inside array cells and `:LABEL` (CSV).
    #[arg(long, default_value = ";")]
    array_delimiter: char,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The store directory.
    store: PathBuf,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// `get`.
#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// Print a node.
    Node(GetArgs),
    /// Print an edge.
    Edge(GetArgs),
}

/// `get node|edge STORE ID`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The store directory.
    store: PathBuf,
    /// The id.
    id: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `neighbors`.
#[derive(Debug, Args)]
pub struct NeighborsArgs {
    /// The store directory.
    store: PathBuf,
    /// The node id.
    id: u64,
    /// Outgoing edges (the default).
    #[arg(long, group = "dir")]
    out: bool,
    /// Incoming edges.
    #[arg(long = "in", group = "dir")]
    incoming: bool,
    /// Both directions.
    #[arg(long, group = "dir")]
    both: bool,
    /// Only edges of this type.
    #[arg(long = "type", value_name = "TYPE")]
    edge_type: Option<String>,
    /// At most this many edges.
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// The store directory.
    store: PathBuf,
    /// The label.
    #[arg(long)]
    label: String,
    /// Conditions on properties: `key=value`, `key>=a,key<b` (`=`, `!=`,
    /// `<`, `<=`, `>`, `>=`; values are numbers, true/false, null, "quoted"
    /// or bare strings). Uses the property index when one exists.
    #[arg(long = "where", value_name = "CONDITIONS")]
    conditions: Vec<String>,
    /// At most this many nodes.
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON (whole nodes).
    #[arg(long)]
    json: bool,
}

/// `index`.
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Declare an index on (label, property) and build it.
    Create(IndexArgs),
    /// Drop the index on (label, property).
    Drop(IndexArgs),
    /// List the indexes.
    List(StoreJson),
}

/// `index create|drop STORE LABEL PROPERTY`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The store directory.
    store: PathBuf,
    /// The label.
    label: String,
    /// The property key.
    property: String,
}

/// `checkpoint|backup STORE DIR`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The store directory.
    store: PathBuf,
    /// The checkpoint directory (must not exist) or the backup directory.
    dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `restore STORE BACKUP_DIR`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The store directory to restore into (must be missing or empty).
    store: PathBuf,
    /// The backup directory.
    backup_dir: PathBuf,
    /// The backup to restore (default: the latest).
    #[arg(long)]
    backup_id: Option<u32>,
}

/// Runs a parsed command line.
///
/// # Errors
/// The command's failure, as one line with an exit code.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Import(a) => commands::import(*a, quiet),
        Command::Export(a) => commands::export(a, quiet),
        Command::Stats(a) => commands::stats(a),
        Command::Get(GetCommand::Node(a)) => commands::get_node(a),
        Command::Get(GetCommand::Edge(a)) => commands::get_edge(a),
        Command::Neighbors(a) => commands::neighbors(a),
        Command::Find(a) => commands::find(a),
        Command::Index(c) => commands::index(c),
        Command::Verify(a) => commands::verify(a),
        Command::Repair(a) => commands::repair(a),
        Command::Checkpoint(a) => commands::checkpoint(a),
        Command::Backup(a) => commands::backup(a),
        Command::Restore(a) => commands::restore(a),
        Command::Compact(a) => commands::compact(a),
        Command::Demo(a) => demo::run(a, quiet),
    }
}
