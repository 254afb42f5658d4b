//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "changedesk",
    version,
    about = "Self-hosted service change management for Microsoft 365",
    long_about = "changedesk keeps its own archive of Microsoft 365 Message Center posts and Service Health \
                  incidents, for one or many tenants, with every revision and what changed."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (TOML). See `changedesk config example`.
    #[arg(long, global = true, env = "CHANGEDESK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL, overriding the configuration: sqlite://PATH or postgres://…
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// Log format on standard error: text or json.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// More log output (-v info, -vv debug). CHANGEDESK_LOG sets a filter directly.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an example configuration, or check a configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Load a Graph JSON export (messages, issues or healthOverviews) as one tenant's listing.
    Import(ImportArgs),
    /// Message Center posts in the archive.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Service Health incidents and advisories in the archive.
    #[command(subcommand)]
    Incidents(IncidentsCommand),
    /// Each tenant's current service health.
    Health(HealthArgs),
    /// Tenants: configured and archived.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Write the archive out.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Pull posts, issues and health from Microsoft Graph for the configured tenants.
    Sync(SyncArgs),
    /// Run the Microsoft Graph simulator (for trying changedesk without a Microsoft account).
    Sim(SimArgs),
    /// A tour with generated tenants: fills a demo archive and shows what it keeps.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many tenants.
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// About how many posts in the generated corpus.
    #[arg(long, default_value_t = 400)]
    pub posts: usize,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration.
    Example,
    /// Validate a configuration file (default: --config / CHANGEDESK_CONFIG).
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    Messages,
    Issues,
    Health,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSON file (`-` for standard input): the raw `value` array or an object with `value`.
    pub file: PathBuf,
    /// The tenant whose listing this is.
    #[arg(long, short)]
    pub tenant: String,
    /// Only add and update: do not mark missing posts as gone.
    #[arg(long)]
    pub partial: bool,
    /// What the file holds (detected when omitted).
    #[arg(long, value_enum)]
    pub kind: Option<ImportKind>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List posts, newest change first.
    List(MessagesListArgs),
    /// Show one post, with its tenants and, on request, its revisions and diffs.
    Show(MessagesShowArgs),
}

#[derive(Debug, Args)]
pub struct MessagesListArgs {
    /// Only posts this tenant has seen (with --state: visible to / gone for it).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only posts for this service (repeatable; any of them).
    #[arg(long = "service", value_name = "SERVICE")]
    pub services: Vec<String>,
    /// preventOrFixIssue, planForChange or stayInformed.
    #[arg(long)]
    pub category: Option<String>,
    /// normal, high or critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// Only major changes.
    #[arg(long)]
    pub major: bool,
    /// Act-by date within this long from now (e.g. 30d); excludes posts without one.
    #[arg(long, value_name = "DURATION")]
    pub act_by_within: Option<String>,
    /// Act-by date on or after this date.
    #[arg(long, value_name = "DATE")]
    pub act_by_after: Option<String>,
    /// Act-by date on or before this date.
    #[arg(long, value_name = "DATE")]
    pub act_by_before: Option<String>,
    /// active (some tenant returns it) or expired (none does).
    #[arg(long)]
    pub state: Option<String>,
    /// Words that must all appear in the title or body.
    #[arg(long)]
    pub text: Option<String>,
    /// At most this many posts.
    #[arg(long)]
    pub limit: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct MessagesShowArgs {
    /// The post id, e.g. MC1005517.
    pub id: String,
    /// List every revision with what changed.
    #[arg(long)]
    pub revisions: bool,
    /// Show a readable diff between revisions (default: each revision against the one before).
    #[arg(long)]
    pub diff: bool,
    /// With --diff: the older revision.
    #[arg(long, requires = "diff")]
    pub from: Option<i64>,
    /// With --diff: the newer revision (default: the current one).
    #[arg(long, requires = "diff")]
    pub to: Option<i64>,
    /// table (readable text) or json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents and advisories, newest change first.
    List(IncidentsListArgs),
    /// Show one incident with its posts, tenants and status history.
    Show {
        /// The issue id, e.g. EX226792.
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct IncidentsListArgs {
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    /// Only unresolved ones.
    #[arg(long, conflicts_with = "resolved")]
    pub open: bool,
    /// Only resolved ones.
    #[arg(long)]
    pub resolved: bool,
    /// active or expired.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub limit: Option<i64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Configured tenants and what the archive holds for each.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The latest loads (imports and syncs).
    Runs {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every post with its tenants and revisions.
    Messages {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Every incident with its posts, tenants, revisions and status history.
    Incidents {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only these tenants (repeatable; default: every configured tenant).
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// Complete listings for every tenant (finds what disappeared), even if
    /// the last full sync is recent.
    #[arg(long)]
    pub full: bool,
    /// Fetch and parse only; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// table (per-tenant summary) or json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: std::net::SocketAddr,
    /// Serve the posts of this Graph messages JSON file to every tenant.
    #[arg(long, value_name = "FILE", conflicts_with = "generate")]
    pub corpus: Option<PathBuf>,
    /// Generate this many posts (deterministic for a seed).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub generate: usize,
    /// Seed of the generated corpus and of the faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many tenants.
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// Probability of an injected 429 per Graph request.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fault_429: f64,
    /// Probability of an injected 503 per Graph request.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fault_503: f64,
    /// Added to every Graph response.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability that a page arrives cut short.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub truncate: f64,
    /// Lifetime of the access tokens it issues, in seconds.
    #[arg(long, value_name = "S", default_value_t = 3599)]
    pub token_lifetime: u64,
    /// Write a changedesk configuration for the simulated tenants to this file.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
}
