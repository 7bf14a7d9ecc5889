//! `graphstore`: the command-line tool of graph-storage. Load real graphs
//! (Neo4j admin-import CSV, JSON Lines, edge lists), look inside, check and
//! repair, export, checkpoint, back up and restore a RocksDB graph store;
//! run a member of a replicated cluster (`serve`, on graph-raft) and run
//! the same commands against it over the network.
//!
//! Every command takes the store directory (the read commands, `index` and
//! `import` also a member's URL, `http://HOST:PORT`); every failure prints
//! one line (what, where, what to do) and exits non-zero; `--json` gives
//! output for scripts. See `graphstore --help` and docs/CLI.md.

pub mod algo;
pub mod api;
pub mod commands;
pub mod demo;
pub mod error;
pub mod export;
pub mod import;
pub mod metrics;
pub mod progress;
pub mod reads;
pub mod remote;
pub mod serve;
pub mod value;
pub mod wire;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::CliError;

/// graphstore: load, inspect, verify, repair, export and back up
/// graph-storage stores (RocksDB); serve one as a member of a replicated
/// cluster, and run the commands against a member over the network.
#[derive(Debug, Parser)]
#[command(
    name = "graphstore",
    version,
    about,
    long_about = None,
    after_help = "STORE is a store directory; for stats, get, neighbors, find, index, verify and import it may also be the URL of a `graphstore serve` member, http://HOST:PORT (docs/CLI.md, \"A replicated cluster\")."
)]
pub struct Cli {
    /// No progress display (summaries and results are still printed).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// The cluster's shared secret, for commands given a member's URL and
    /// for `serve` (which then requires it of every request): a file
    /// holding one line of at least 16 printable ASCII characters.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "GRAPHSTORE_TOKEN_FILE"
    )]
    token_file: Option<PathBuf>,
    /// The certificate authority (PEM) of a cluster serving TLS: trusted by
    /// commands given an `https://` member URL, and by `serve --tls-cert`
    /// for its connections to the other members.
    #[arg(long, global = true, value_name = "FILE", env = "GRAPHSTORE_TLS_CA")]
    tls_ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import Neo4j admin-import CSV, JSON Lines, edge lists, GraphML, GML,
    /// Pajek or node-link JSON into a store (created if missing); all or
    /// nothing for bad input.
    Import(Box<ImportArgs>),
    /// Export the whole graph as Neo4j CSV (a directory), JSON Lines, GraphML
    /// or an edge list.
    Export(ExportArgs),
    /// Counts of nodes, edges, labels, types, column families and engine figures.
    Stats(StatsArgs),
    /// Print one node or edge.
    #[command(subcommand)]
    Get(GetCommand),
    /// The edges and neighbours of a node.
    Neighbors(NeighborsArgs),
    /// Graph algorithms on the store: PageRank, weakly and strongly
    /// connected components, breadth-first search, shortest paths,
    /// triangles (on the adjacency in RAM; results optionally written back
    /// as a node property).
    #[command(subcommand)]
    Algo(algo::AlgoCommand),
    /// Find nodes by label, optionally filtered by property conditions.
    Find(FindArgs),
    /// Create, drop or list property indexes.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Check every index, adjacency entry and count against the records
    /// (exit code 3 when inconsistent).
    Verify(ReadJson),
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
    /// Run one member of a replicated cluster: its directory, its address,
    /// its peers; answers Raft and the commands over the network until
    /// SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// A cluster's status and membership, through one of its members.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

/// How a read over the network reaches the cluster.
#[derive(Debug, Args)]
pub struct ReadFlags {
    /// For a member's URL: a linearizable read, answered by the leader once
    /// it confirms its leadership (it sees every write acknowledged before
    /// the command started; a follower hands the read to the leader). By
    /// default the member answers from its own copy, which may be behind. A
    /// local store is always read as it is.
    #[arg(long)]
    linearizable: bool,
}

/// A store directory or a member's URL, `--json` and how to read.
#[derive(Debug, Args)]
pub struct ReadJson {
    /// The store directory, or a member's URL (http://HOST:PORT).
    store: PathBuf,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
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
    /// The store directory (created when missing or empty), or a member's
    /// URL (http://HOST:PORT): then the rows go to the cluster's leader in
    /// batches of --batch-size mutations, each committed on its own.
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
    /// An edge list: `src dst [number [number]]` a line (spaces, tabs or
    /// commas), `#`/`%` comments, an optional header line, networkx's
    /// `src dst {'weight': 3}`, a MatrixMarket `.mtx` file or a DIMACS
    /// graph (`p sp`, `p edge`). Repeatable.
    #[arg(long, value_name = "FILE")]
    edge_list: Vec<PathBuf>,
    /// A GraphML file (networkx, igraph, Gephi, yEd, Neo4j APOC): nodes by
    /// their GraphML ids, `<key>` types and defaults. Repeatable.
    #[arg(long, value_name = "FILE")]
    graphml: Vec<PathBuf>,
    /// Label of GraphML nodes (those without APOC's `labels` attribute).
    #[arg(long, default_value = "Node")]
    graphml_label: String,
    /// Type of GraphML edges (those without APOC's `label` attribute).
    #[arg(long, default_value = "EDGE")]
    graphml_type: String,
    /// A node-link JSON file, as networkx's `json_graph.node_link_data`
    /// and D3 write it (`{"nodes": [...], "edges" or "links": [...]}`), or
    /// Cytoscape's JSON (`{"elements": ...}`), read whole. Repeatable.
    #[arg(long, value_name = "FILE")]
    node_link: Vec<PathBuf>,
    /// Label of node-link nodes.
    #[arg(long, default_value = "Node")]
    node_link_label: String,
    /// Type of node-link edges.
    #[arg(long, default_value = "EDGE")]
    node_link_type: String,
    /// A GML file (Newman's network data, networkx's `write_gml`, igraph,
    /// Cytoscape), read whole. Repeatable.
    #[arg(long, value_name = "FILE")]
    gml: Vec<PathBuf>,
    /// Label of GML nodes.
    #[arg(long, default_value = "Node")]
    gml_label: String,
    /// Type of GML edges.
    #[arg(long, default_value = "EDGE")]
    gml_type: String,
    /// A Pajek `.net` file (Pajek, networkx's `write_pajek`, igraph; the
    /// Pajek datasets): vertices by number, `*Arcs`, `*Edges`, their lists
    /// and `*Matrix`. Repeatable.
    #[arg(long, value_name = "FILE")]
    pajek: Vec<PathBuf>,
    /// Label of Pajek nodes.
    #[arg(long, default_value = "Node")]
    pajek_label: String,
    /// Type of Pajek edges.
    #[arg(long, default_value = "EDGE")]
    pajek_type: String,
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
    /// Property name of an edge list's fourth column (KONECT's and SNAP's
    /// temporal lists put a timestamp there).
    #[arg(long, default_value = "time")]
    fourth_column: String,
    /// Whether an edge list's first line names its columns (`source,target`)
    /// and is skipped: `auto` skips it when its source and target are not
    /// integers and those of the next line are (and says so).
    #[arg(long, value_enum, default_value = "auto")]
    edge_list_header: import::source::EdgeListHeader,
    /// Edge lists list undirected edges (SNAP's `ca-*` and `roadNet-*`
    /// list each one both ways): store each pair once, as the first line
    /// naming it gives it; later lines of the pair, either way round, are
    /// dropped and counted. Memory grows with the distinct pairs.
    #[arg(long)]
    undirected: bool,
    /// CSV field delimiter (one character; `\t` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Delimiter inside array cells and `:LABEL`.
    #[arg(long, default_value = ";")]
    array_delimiter: char,
    /// Skip bad rows (counted and written to the report) instead of stopping.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Where skipped rows are listed (default: STORE.bad-rows.txt beside the
    /// store; for a member's URL, bad-rows.txt in the current directory).
    #[arg(long, value_name = "FILE")]
    bad_rows_report: Option<PathBuf>,
    /// Rows per commit (batched path); mutations per request to a member.
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
    /// A directory (CSV) or a file (JSON Lines, GraphML; `-` for standard
    /// output).
    #[arg(long, short)]
    out: PathBuf,
    /// Delimiter inside array cells and `:LABEL` (CSV).
    #[arg(long, default_value = ";")]
    array_delimiter: char,
    /// The numeric edge property written as an edge list's third column
    /// (`--format edge-list`); an edge without a number there stops the
    /// export.
    #[arg(long, value_name = "PROPERTY")]
    weight: Option<String>,
    /// Gzip-compress the output (CSV: nodes.csv.gz and
    /// relationships.csv.gz); implied for JSON Lines and GraphML by an
    /// --out name ending in `.gz`. `import` reads such files as they are.
    #[arg(long)]
    gzip: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The store directory, or a member's URL (http://HOST:PORT; the
    /// output adds the member's view of the cluster).
    store: PathBuf,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    /// Build the adjacency in RAM and report what it holds and how long it
    /// took (without it, a store directory's adjacency is only estimated
    /// from the counts; a member reports its own).
    #[arg(long)]
    adjacency: bool,
    #[command(flatten)]
    read: ReadFlags,
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
    /// The store directory, or a member's URL (http://HOST:PORT).
    store: PathBuf,
    /// The id.
    id: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadFlags,
}

/// `neighbors`.
#[derive(Debug, Args)]
pub struct NeighborsArgs {
    /// The store directory, or a member's URL (http://HOST:PORT).
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
    #[command(flatten)]
    read: ReadFlags,
}

/// `find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// The store directory, or a member's URL (http://HOST:PORT).
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
    #[command(flatten)]
    read: ReadFlags,
}

/// `index`.
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Declare an index on (label, property) and build it (on every
    /// member, through the leader, for a member's URL).
    Create(IndexArgs),
    /// Drop the index on (label, property).
    Drop(IndexArgs),
    /// List the indexes.
    List(ReadJson),
}

/// `index create|drop STORE LABEL PROPERTY`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The store directory, or a member's URL (http://HOST:PORT).
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

/// `serve DIR --id N --listen HOST:PORT --peer ID=HOST:PORT ... [--init]`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The member's directory (created if missing): its Raft log in log/,
    /// its copy of the graph in graph/, snapshot files in snapshots/.
    dir: PathBuf,
    /// This member's id: a number, unique in the cluster.
    #[arg(long)]
    id: u64,
    /// The address to serve Raft and the API on, HOST:PORT; also how other
    /// members and clients reach this one, so give one they can connect to.
    #[arg(long, value_name = "HOST:PORT")]
    listen: String,
    /// Another member of the cluster, ID=HOST:PORT (repeatable); used by
    /// --init.
    #[arg(long = "peer", value_name = "ID=HOST:PORT")]
    peers: Vec<String>,
    /// Make a new cluster of this member and its --peer members, unless this
    /// member already belongs to one (its log says so). Give it to one
    /// member only.
    #[arg(long)]
    init: bool,
    /// Serve without --token-file on an address other than loopback: anyone
    /// who can reach the port can then write, delete and change the
    /// cluster. Only for a network where every host is trusted.
    #[arg(long)]
    insecure: bool,
    /// Serve https with this certificate chain (PEM; it must name the host
    /// in --listen); needs --tls-key and --tls-ca, and every member of the
    /// cluster serves TLS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// `cluster`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// A member's view: its role, the leader, the term, its log and applied
    /// index, voters and learners (and, from the leader, how far each member
    /// is replicated).
    Status(ClusterStatusArgs),
    /// Add a learner, a member that receives the log but does not vote
    /// (start it first with `graphstore serve`, without --init).
    AddLearner(AddLearnerArgs),
    /// Make the given members the voters: learners among them are promoted,
    /// voters not among them removed.
    ChangeMembership(ChangeMembershipArgs),
}

/// `cluster status URL`.
#[derive(Debug, Args)]
pub struct ClusterStatusArgs {
    /// A member's URL (http://HOST:PORT).
    url: String,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// `cluster add-learner URL ID ADDR`.
#[derive(Debug, Args)]
pub struct AddLearnerArgs {
    /// A member's URL (http://HOST:PORT); the change goes through the leader.
    url: String,
    /// The new member's id.
    id: u64,
    /// The new member's address, HOST:PORT (its --listen).
    addr: String,
}

/// `cluster change-membership URL --voters 1,2,3`.
#[derive(Debug, Args)]
pub struct ChangeMembershipArgs {
    /// A member's URL (http://HOST:PORT); the change goes through the leader.
    url: String,
    /// The voters after the change, comma-separated ids.
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    voters: Vec<u64>,
    /// Keep removed voters as learners instead of removing them.
    #[arg(long)]
    keep_as_learners: bool,
}

/// Runs a parsed command line.
///
/// # Errors
/// The command's failure, as one line with an exit code.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let quiet = cli.quiet;
    remote::use_token_file(cli.token_file.clone());
    remote::use_tls_ca(cli.tls_ca.clone());
    match cli.command {
        Command::Import(a) => commands::import(*a, quiet),
        Command::Export(a) => commands::export(a, quiet),
        Command::Stats(a) => commands::stats(a),
        Command::Get(GetCommand::Node(a)) => commands::get_node(a),
        Command::Get(GetCommand::Edge(a)) => commands::get_edge(a),
        Command::Neighbors(a) => commands::neighbors(a),
        Command::Algo(c) => algo::run(c, quiet),
        Command::Find(a) => commands::find(a),
        Command::Index(c) => commands::index(c),
        Command::Verify(a) => commands::verify(a, quiet),
        Command::Repair(a) => commands::repair(a, quiet),
        Command::Checkpoint(a) => commands::checkpoint(a),
        Command::Backup(a) => commands::backup(a),
        Command::Restore(a) => commands::restore(a),
        Command::Compact(a) => commands::compact(a),
        Command::Demo(a) => demo::run(a, quiet),
        Command::Serve(a) => serve::run(a, cli.token_file.as_deref(), quiet),
        Command::Cluster(c) => remote::cluster(c),
    }
}
