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
    /// Owners of workloads, and who owns which workload.
    #[command(subcommand)]
    Owners(OwnersCommand),
    /// Triage rules: list, add, remove, explain, simulate and apply them.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Work items (one per post): list, show, and move them to done.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// The weekly change review: new posts, items awaiting triage, deadlines, decisions.
    Agenda(AgendaArgs),
    /// What the first syncs found in Message Center, awaiting triage; accept it in one action.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Run the server: the REST API, scheduled syncs, rules and deadline checks.
    Serve(ServeArgs),
    /// Users who sign in to the server, and their API tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// The key that seals secrets kept in the database (channel passwords, webhook URLs).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Notifications: channels (signed webhooks), the outbox and its delivery log.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// The Microsoft 365 roadmap: import it, list it, and see an item's history.
    #[command(subcommand)]
    Roadmap(RoadmapCommand),
    /// Rollout timelines read from post bodies (issue 20).
    #[command(subcommand)]
    Timeline(TimelineCommand),
    /// Reports of the work: time to triage and close, backlog, SLA breaches (docs/ANALYTICS.md).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Fill an empty archive with a generated corpus for the load benchmark (bench/load_bench.py).
    #[command(hide = true, name = "bench-seed")]
    BenchSeed(BenchSeedArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CHANGEDESK_LISTEN")]
    pub listen: String,
    /// Serve Prometheus metrics on this address, without sign-in (keep it private); else
    /// /metrics on the main listener answers an admin's API token only.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Sync each configured tenant this often (e.g. 15m, 1h); `0` turns scheduled syncs off.
    #[arg(long, default_value = "15m")]
    pub sync_every: String,
    /// Send session cookies over plain HTTP too (only for trying it on loopback without HTTPS).
    #[arg(long)]
    pub insecure_cookies: bool,
    /// Memory for the answer cache of the post list, search and facets, in MiB; `0` turns it off.
    #[arg(long, default_value_t = 64, env = "CHANGEDESK_CACHE_MB")]
    pub cache_mb: u64,
    /// Serve a cached answer for at most this long (e.g. 30s, 2m; `0` turns the cache off): what
    /// changes with the time alone (overdue, missed) shows this late at most. Writes make cached
    /// answers stale at once (this server's) or within 250 ms (another process's).
    #[arg(long, default_value = "30s", env = "CHANGEDESK_CACHE_TTL")]
    pub cache_ttl: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a local user (asks for the password, or reads it from CHANGEDESK_PASSWORD).
    Add(UserAddArgs),
    /// List users.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Change a user's role, scope, password or state.
    Set(UserSetArgs),
    /// Remove a user (and their sessions and tokens).
    Remove { name: String },
    /// Create a personal API token for a user; it is printed once.
    Token(UserTokenArgs),
    /// List API tokens.
    Tokens {
        /// Only this user's.
        name: Option<String>,
    },
    /// Revoke an API token by its id.
    Revoke { id: i64 },
    /// Clear a user's failed sign-ins, so their next sign-in is not delayed
    /// (a running server's per-address limits clear within their window, or
    /// at once with `POST /api/v1/users/{name}/unlock`).
    Unlock { name: String },
    /// Link a person's account at the identity provider (Entra ID) to an
    /// existing user: they then sign in with it as that user, even with
    /// `allow_create = false`.
    Link(UserLinkArgs),
    /// Unlink an identity provider account from a user.
    Unlink(UserLinkArgs),
}

#[derive(Debug, Args)]
pub struct UserLinkArgs {
    /// The user's sign-in name.
    pub name: String,
    /// The person's immutable id at the provider: with Entra ID, the user's
    /// Object ID (the `oid` claim), not their name or e-mail address.
    #[arg(long)]
    pub subject: String,
    /// The provider's issuer, as in its ID tokens (default: the configured
    /// `[oidc] issuer`).
    #[arg(long)]
    pub issuer: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    pub name: String,
    /// Make the user an admin (same as --role admin).
    #[arg(long)]
    pub admin: bool,
    /// admin, change_manager, owner or reader.
    #[arg(long, default_value = "reader")]
    pub role: String,
    #[arg(long, default_value = "")]
    pub display_name: String,
    #[arg(long, default_value = "")]
    pub email: String,
    /// Limit the user to these tenants (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub tenant: Vec<String>,
    /// Limit the user to these tenant groups.
    #[arg(long, value_delimiter = ',')]
    pub group: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UserSetArgs {
    pub name: String,
    #[arg(long)]
    pub role: Option<String>,
    /// Replace the tenant limit (an empty value with no --group removes it).
    #[arg(long, value_delimiter = ',')]
    pub tenant: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',')]
    pub group: Option<Vec<String>>,
    /// Ask for a new password (or read CHANGEDESK_PASSWORD).
    #[arg(long)]
    pub password: bool,
    #[arg(long)]
    pub disable: bool,
    #[arg(long)]
    pub enable: bool,
}

#[derive(Debug, Args)]
pub struct UserTokenArgs {
    pub name: String,
    /// What the token is for.
    #[arg(long, default_value = "api")]
    pub label: String,
    /// A lower role than the user's (default: the user's).
    #[arg(long)]
    pub role: Option<String>,
    /// Limit the token to these tenants.
    #[arg(long, value_delimiter = ',')]
    pub tenant: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub group: Vec<String>,
    /// Expire after this long (e.g. 90d).
    #[arg(long)]
    pub expires_in: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchSeedArgs {
    /// How many posts in the generated corpus.
    #[arg(long, default_value_t = 100_000)]
    pub posts: usize,
    /// How many tenants, each loaded as a sync loads it.
    #[arg(long, default_value_t = 1000)]
    pub tenants: usize,
    /// The fraction of the posts each tenant sees (0.01: each post seen by 1 % of the tenants).
    #[arg(long, default_value_t = 0.01)]
    pub coverage: f64,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// How many service health issues (default: posts / 50 + 5).
    #[arg(long)]
    pub issues: Option<usize>,
    /// Run the rules afterwards (one work item per post).
    #[arg(long)]
    pub triage: bool,
    /// Then give this many work items tenant exceptions, for 10 to 500 of
    /// the tenants that see each (own states and decisions, other owners,
    /// not applicable): the MSP shape of issue 18. Needs --triage.
    #[arg(long, default_value_t = 0, requires = "triage")]
    pub exceptions: usize,
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
    /// Then serve the web UI with sample users (the default on a terminal).
    #[arg(long, conflicts_with = "no_serve")]
    pub serve: bool,
    /// Only the tour: do not serve the web UI.
    #[arg(long)]
    pub no_serve: bool,
    /// Where the web UI listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
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
    /// The tenant whose listing this is: a configured tenant or one already in
    /// the archive (a new name needs --create-tenant, so a typo does not start a
    /// second archive).
    #[arg(long, short)]
    pub tenant: String,
    /// Start archiving a tenant that is neither configured nor archived yet.
    #[arg(long)]
    pub create_tenant: bool,
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
    /// A header row, then one row per record (RFC 4180); for lists only.
    Csv,
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
    /// Configured tenants, those added to the database, and what the archive holds for each.
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
    /// Tenant groups (by customer, region, plan) for ownership and rules.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Add a tenant to the database, reached through the configuration's [app].
    Add {
        /// Its short name in changedesk (lowercase letters, digits, '-', '_').
        name: String,
        /// Its directory (tenant) GUID, or a verified domain (contoso.onmicrosoft.com).
        #[arg(long, value_name = "ID")]
        directory: String,
        /// The customer's name, as shown.
        #[arg(long, value_name = "TEXT")]
        display_name: Option<String>,
        #[command(flatten)]
        who: AsUser,
    },
    /// Add tenants from a CSV list (a header line, then a tenant a line: name,tenant_id,display_name, or a partner portal's export); all or none.
    Import {
        /// The CSV file (`-`: standard input).
        file: PathBuf,
        /// Check the list and say what would be added, without adding.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        who: AsUser,
    },
    /// Stop syncing a tenant added to the database (what was archived of it stays), or with --purge remove what is its own.
    Remove {
        name: String,
        /// A decommissioned customer: also remove its links to posts and incidents, its exceptions in work items, ownership entries for it alone, service health, sync runs and undelivered notifications, then the tenant itself (shared posts, incidents, revisions, work items and logs stay). Any tenant not in the configuration file.
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        who: AsUser,
    },
    /// Rename a tenant everywhere changedesk keeps its name (its archive, work, log, ownership, scopes, channels, groups, views); audited.
    Rename {
        /// Its name now.
        from: String,
        /// Its new name (lowercase letters, digits, '-', '_').
        to: String,
        #[command(flatten)]
        who: AsUser,
    },
    /// Make admin-consent links for tenants added to the database (all not yet consented, or those named).
    ConsentLink {
        names: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        who: AsUser,
    },
    /// Check access to tenants: a token, then each listing; names the permissions a tenant lacks.
    Check {
        /// The tenants to check (default: every tenant to sync).
        names: Vec<String>,
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
    /// What listings do with `$select` (undocumented in Graph): honour, ignore (whole items) or
    /// refuse (400).
    #[arg(long, value_name = "MODE", default_value = "honour")]
    pub select: changedesk_sim::SelectMode,
    /// Write a changedesk configuration for the simulated tenants to this file.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    /// The tenants start without the app's admin consent (as an MSP's new customers): tokens are
    /// refused until an admin-consent link is followed.
    #[arg(long)]
    pub unconsented: bool,
    /// Write a changedesk configuration with the simulator's multi-tenant app ([app]) and no
    /// tenants, for onboarding them with `changedesk tenants import`.
    #[arg(long, value_name = "FILE")]
    pub write_app_config: Option<PathBuf>,
    /// The public URL of the changedesk server the app configuration names (consent answers come back there).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Write the simulated tenants as a CSV list (name,tenant_id,display_name) for `changedesk tenants import`.
    #[arg(long, value_name = "FILE")]
    pub write_tenants_csv: Option<PathBuf>,
    /// Also serve the change-control mocks (ServiceNow, Jira Cloud, GLPI), each on a free local port,
    /// with test credentials printed, and grant the app Planner's Tasks.ReadWrite.All (each tenant
    /// has a plan): try a connector without accounts.
    #[arg(long)]
    pub itsm: bool,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Where notifications go.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// The delivery log, newest first: every message to every channel, its state and attempts.
    Outbox {
        /// Only dead-lettered deliveries (given up; `notify retry` sends them again).
        #[arg(long)]
        failed: bool,
        /// Only the deliveries of this post.
        #[arg(long, value_name = "MC…")]
        post: Option<String>,
        /// Only the deliveries to this channel.
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Send dead-lettered deliveries again (these ids, or every failed one with --all-failed).
    Retry {
        ids: Vec<i64>,
        #[arg(long, conflicts_with = "ids")]
        all_failed: bool,
        #[command(flatten)]
        who: AsUser,
    },
    /// One round of the outbox now: fan new events out to channels, send what is due
    /// (`serve` does this every second).
    Deliver {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Add a channel: a signed webhook (Standard Webhooks), e-mail, Microsoft Teams (a Workflows
    /// "When a Teams webhook request is received" URL) or Slack (an incoming webhook URL).
    /// A webhook without --secret gets a signing secret, printed once: give it to the receiver.
    /// E-mail, Teams and Slack gather events for --batch-minutes (default 5) into one message.
    Add(Box<ChannelAdd>),
    /// The channels (never their URLs or secrets).
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove a channel and its delivery log.
    Remove {
        name: String,
        #[command(flatten)]
        who: AsUser,
    },
    /// Send a test message to a channel now, and say what happened.
    Test { name: String },
}

/// `notify channel add`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["webhook", "teams", "slack", "email", "owner", "servicenow", "jira", "glpi", "planner"])))]
pub struct ChannelAdd {
    pub name: String,
    /// A signed webhook's endpoint (https; http only with --allow-private, for a local receiver).
    #[arg(long, value_name = "URL", conflicts_with_all = ["teams", "slack", "email"])]
    pub webhook: Option<String>,
    /// A connector to a ServiceNow instance (its URL): change requests raised there (Table API, or
    /// --model normal/standard). Signs in as --user with the secret of --secret-env/--secret-file.
    #[arg(long, value_name = "URL", conflicts_with_all = ["webhook", "teams", "slack", "email", "owner", "jira", "glpi", "planner"])]
    pub servicenow: Option<String>,
    /// A connector to a Jira Cloud site (its URL): issues in --project of --issue-type, as --user
    /// (the account's e-mail) with its API token.
    #[arg(long, value_name = "URL", conflicts_with_all = ["webhook", "teams", "slack", "email", "owner", "glpi", "planner"], requires_all = ["project", "issue_type"])]
    pub jira: Option<String>,
    /// A connector to a GLPI server (its apirest.php URL): changes, as --user (Basic) or with a
    /// user token as the secret.
    #[arg(long, value_name = "URL", conflicts_with_all = ["webhook", "teams", "slack", "email", "owner", "planner"])]
    pub glpi: Option<String>,
    /// A connector to a Microsoft Planner plan (its id): tasks through Microsoft Graph, as the app
    /// registration --user (its client id) of --directory, with its client secret (application
    /// permission Tasks.ReadWrite.All).
    #[arg(long, value_name = "PLAN_ID", conflicts_with_all = ["webhook", "teams", "slack", "email", "owner"], requires_all = ["directory", "login"])]
    pub planner: Option<String>,
    /// Planner: the directory (tenant) id or domain the plan lives in.
    #[arg(long, value_name = "TENANT", requires = "planner")]
    pub directory: Option<String>,
    /// Planner: Graph's root (default https://graph.microsoft.com).
    #[arg(long, value_name = "URL", requires = "planner")]
    pub graph_url: Option<String>,
    /// Planner: the sign-in authority (default https://login.microsoftonline.com).
    #[arg(long, value_name = "URL", requires = "planner")]
    pub login_url: Option<String>,
    /// Planner: which bucket a task goes to: workload (default: one per workload), state (To do,
    /// then Done when changedesk closes it) or one (--bucket).
    #[arg(long, value_name = "RULE", value_parser = ["workload", "state", "one"], requires = "planner")]
    pub buckets: Option<String>,
    /// Planner: the bucket's name with --buckets one (default To do).
    #[arg(long, value_name = "NAME", requires = "planner")]
    pub bucket: Option<String>,
    /// A connector's sign-in: ServiceNow's user (or OAuth client id with --auth oauth), Jira's
    /// account e-mail, GLPI's login, Planner's app registration (client id).
    #[arg(long = "user", value_name = "NAME")]
    pub login: Option<String>,
    /// The environment variable holding a connector's secret (password, API token, user token or
    /// OAuth client secret): kept sealed, never printed.
    #[arg(long, value_name = "VAR", conflicts_with = "secret_file")]
    pub secret_env: Option<String>,
    /// The file holding a connector's secret (its first line).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// ServiceNow's sign-in: basic (default) or oauth (client credentials).
    #[arg(long, value_name = "AUTH", value_parser = ["basic", "oauth"], requires = "servicenow")]
    pub auth: Option<String>,
    /// ServiceNow's change model: table (default), normal or standard (with --template).
    #[arg(long, value_name = "MODEL", value_parser = ["table", "normal", "standard"], requires = "servicenow")]
    pub model: Option<String>,
    /// ServiceNow's standard change template (its sys_id).
    #[arg(long, value_name = "SYS_ID", requires = "servicenow")]
    pub template: Option<String>,
    /// Jira's project key.
    #[arg(long, value_name = "KEY", requires = "jira")]
    pub project: Option<String>,
    /// Jira's issue type.
    #[arg(long, value_name = "TYPE", requires = "jira")]
    pub issue_type: Option<String>,
    /// Jira's issue type for Service Health incidents (with --incidents), e.g. Incident.
    #[arg(long, value_name = "TYPE", requires = "jira")]
    pub incident_issue_type: Option<String>,
    /// GLPI's entity for new changes (the legacy API).
    #[arg(long, value_name = "ID", requires = "glpi")]
    pub entities_id: Option<i64>,
    /// GLPI's API: legacy (default: --glpi is apirest.php) or high-level (GLPI 11: --glpi is
    /// api.php/v2.0, --user the OAuth client's id, the secret its secret; changes only).
    #[arg(long, value_name = "API", value_parser = ["legacy", "high-level"], requires = "glpi")]
    pub glpi_api: Option<String>,
    /// The environment variable holding GLPI's application token, if the server asks for one.
    #[arg(long, value_name = "VAR", requires = "glpi")]
    pub app_token_env: Option<String>,
    /// What a connector's item does when its ticket is being implemented: start (default),
    /// nothing, close[:DECISION] or dismiss.
    #[arg(long, value_name = "ACTION")]
    pub when_in_progress: Option<String>,
    /// What a connector's item does when its ticket is done: close:change_request_raised
    /// (default), close:DECISION, start, dismiss or nothing.
    #[arg(long, value_name = "ACTION")]
    pub when_done: Option<String>,
    /// What a connector's item does when its ticket is canceled: nothing (default), dismiss,
    /// start or close[:DECISION].
    #[arg(long, value_name = "ACTION")]
    pub when_canceled: Option<String>,
    /// A connector closes the ticket there (cancels it for a dismissed item) when its item
    /// closes here.
    #[arg(long)]
    pub close_ticket: bool,
    /// A connector that raises a change by itself for every item the rules mark as requiring one
    /// (rules' `change_request = true`).
    #[arg(long)]
    pub raise_required: bool,
    /// A connector that opens an incident for each Service Health incident or advisory of its
    /// tenants (ServiceNow, GLPI; Jira with --incident-issue-type), adds Microsoft's updates and
    /// resolves it with Microsoft.
    #[arg(long)]
    pub incidents: bool,
    /// A Microsoft Teams Workflows webhook URL (its `sig` is the credential: kept sealed).
    #[arg(long, value_name = "URL", conflicts_with_all = ["slack", "email"])]
    pub teams: Option<String>,
    /// A Slack incoming webhook URL (kept sealed).
    #[arg(long, value_name = "URL", conflicts_with = "email")]
    pub slack: Option<String>,
    /// E-mail recipients (repeatable), through [notify.email]'s transport.
    #[arg(long = "email", value_name = "ADDRESS")]
    pub email: Vec<String>,
    /// Only items of this owner; with no other destination, e-mail to the owner's address.
    #[arg(long, value_name = "OWNER")]
    pub owner: Option<String>,
    /// Minutes to gather events into one message (e-mail, Teams, Slack; 0: at once).
    #[arg(long, value_name = "MINUTES")]
    pub batch_minutes: Option<u32>,
    /// Quiet hours, local time: nothing but urgent events is sent (e.g. 22:00-07:00).
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub quiet: Option<String>,
    /// The time zone of the quiet hours and the digest (IANA, e.g. Europe/Paris; default UTC).
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// Gather events into a daily or weekly digest instead of the batching window.
    #[arg(long, value_name = "CADENCE", value_parser = ["daily", "weekly"])]
    pub digest: Option<String>,
    /// When the digest goes out, local time (default 08:00).
    #[arg(long, value_name = "HH:MM", requires = "digest")]
    pub digest_at: Option<String>,
    /// The day of a weekly digest (default monday).
    #[arg(long, value_name = "DAY", requires = "digest")]
    pub digest_day: Option<String>,
    /// With --owner: also send the owner's weekly review of their part of the agenda.
    #[arg(long, requires = "owner")]
    pub review: bool,
    /// The day of the weekly review (default monday).
    #[arg(long, value_name = "DAY", requires = "review")]
    pub review_day: Option<String>,
    /// When the review goes out, local time (default 08:00).
    #[arg(long, value_name = "HH:MM", requires = "review")]
    pub review_at: Option<String>,
    /// An e-mail channel: also send a scheduled report, `monthly` (the executive report of the
    /// month before, on each month's first working day) or `weekly` (the weekly status of the
    /// week before, each Monday); of the channel's --tenant, else the whole organisation.
    #[arg(long, value_name = "CADENCE", value_parser = ["monthly", "weekly"])]
    pub report: Option<String>,
    /// When the report goes out, local time (default 08:00).
    #[arg(long, value_name = "HH:MM", requires = "report")]
    pub report_at: Option<String>,
    /// Severities still sent in quiet hours (repeatable): normal, high, critical.
    #[arg(long = "urgent-severity", value_name = "SEVERITY", requires = "quiet")]
    pub urgent_severities: Vec<String>,
    /// The signing secret (`whsec_…`); default: a new one.
    #[arg(long, value_name = "WHSEC")]
    pub secret: Option<String>,
    /// Only these events (repeatable): post.routed, post.changed, item.reopened, rule.notify,
    /// item.due_soon, item.overdue, item.missed, post.major, post.act_by_soon, incident.new,
    /// incident.updated, incident.resolved, tenant.sync_failing, tenant.sync_recovered.
    #[arg(long = "event", value_name = "EVENT")]
    pub events: Vec<String>,
    /// Only posts of these services (repeatable); a connector with --raise-required: raises changes
    /// only for their posts (a plan or a change board per workload), and opens incidents only of them.
    #[arg(long = "service", value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Only posts of these severities (repeatable): normal, high, critical.
    #[arg(long = "severity", value_name = "SEVERITY")]
    pub severities: Vec<String>,
    /// Only major changes.
    #[arg(long)]
    pub major: bool,
    /// Only these tenants (repeatable): the channel hears only of them, and never of others.
    #[arg(long = "tenant", value_name = "TENANT")]
    pub tenants: Vec<String>,
    /// Allow private, loopback and plain-http targets (a receiver on this network).
    #[arg(long)]
    pub allow_private: bool,
    #[command(flatten)]
    pub who: AsUser,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Make a new random key. Printed, or written to a new private file (mode 600) with --write;
    /// point `[server] secret_key_file` at it, or set CHANGEDESK_SECRET_KEY to the key.
    GenerateKey {
        /// Write the key to this new file instead of printing it (an existing file is kept).
        #[arg(long, value_name = "PATH")]
        write: Option<PathBuf>,
    },
    /// Check the configured key: load it, seal and open a test value, print the key ids.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// How many baseline items await triage, and what accepting would close and keep.
    Show {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Close the baseline's history (no act-by date or rollout after changedesk first saw the
    /// post) as no_action_needed, labelled `baseline`; upcoming work and misses stay for triage.
    Accept {
        #[command(flatten)]
        who: AsUser,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Who makes a change by hand.
#[derive(Debug, Args)]
pub struct AsUser {
    /// Who is making the change, as recorded in the log (default: CHANGEDESK_USER).
    #[arg(long = "as", value_name = "USER", env = "CHANGEDESK_USER")]
    pub user: Option<String>,
}

/// Where an ownership entry applies: every tenant unless one of these.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only for the tenants of this group.
    #[arg(long, value_name = "GROUP", conflicts_with = "tenant")]
    pub group: Option<String>,
    /// Only for this tenant.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OwnersCommand {
    /// Owners and the workloads each one owns.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Add an owner (or update one).
    Add(OwnerAddArgs),
    /// Remove an owner who owns no workload and has no open work item.
    Remove {
        /// The owner's name.
        name: String,
        #[command(flatten)]
        who: AsUser,
    },
    /// Make OWNER the owner of WORKLOAD (a service name as Graph writes it, or `*`).
    Map {
        /// A service name, e.g. "Microsoft Teams", or `*` for every workload.
        workload: String,
        /// The owner's name.
        owner: String,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        who: AsUser,
    },
    /// Remove who owns WORKLOAD (for every tenant, a group or a tenant).
    Unmap {
        workload: String,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        who: AsUser,
    },
}

#[derive(Debug, Args)]
pub struct OwnerAddArgs {
    /// The owner's name: letters a-z, digits, `.`, `_`, `-` (e.g. `collab` or `alice`).
    pub name: String,
    /// Where notifications go.
    #[arg(long)]
    pub email: String,
    /// How people see the owner (default: the name).
    #[arg(long)]
    pub display_name: Option<String>,
    /// A Microsoft Teams handle, channel or webhook.
    #[arg(long)]
    pub teams: Option<String>,
    /// A Slack handle or channel.
    #[arg(long)]
    pub slack: Option<String>,
    /// The owner's Entra ID object id (a GUID), for Planner assignments.
    #[arg(long, value_name = "GUID")]
    pub entra_id: Option<String>,
    #[command(flatten)]
    pub who: AsUser,
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Tenant groups and their members among the known tenants.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Add a tenant group (or update one).
    Add(GroupAddArgs),
    /// Remove a tenant group no ownership entry uses.
    Remove {
        name: String,
        #[command(flatten)]
        who: AsUser,
    },
}

#[derive(Debug, Args)]
pub struct GroupAddArgs {
    /// The group's name, e.g. `eu`.
    pub name: String,
    /// Tenant names or patterns (`*`, `?`) that are members (repeatable).
    #[arg(long = "include", value_name = "PATTERN", required = true, num_args = 1..)]
    pub include: Vec<String>,
    /// Tenant names or patterns that are never members (repeatable; wins over --include).
    #[arg(long = "exclude", value_name = "PATTERN", num_args = 1..)]
    pub exclude: Vec<String>,
    /// What the group is for.
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub who: AsUser,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The rules in evaluation order.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Add a rule (or replace the one with this name); the whole rule set must compile.
    Add(RuleAddArgs),
    /// Remove a rule added by hand.
    Remove {
        name: String,
        #[command(flatten)]
        who: AsUser,
    },
    /// Explain which rules match a post, and why, for one tenant or each tenant that sees it.
    Test {
        /// Post ids, e.g. MC1005517.
        #[arg(required = true, value_name = "MC…")]
        ids: Vec<String>,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// table (readable text) or json.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show what `rules apply` would do now, changing nothing.
    Simulate {
        /// Show at most this many posts (the totals count all of them).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Evaluate every post as if it were new and show where the rules now
        /// decide differently from its work item (to preview a rule change).
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run the rules over the posts they have not seen in their current revision.
    Apply {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct RuleAddArgs {
    /// The rule's name (unique).
    pub name: String,
    /// The condition, in the rules language (docs/RULES.md), e.g. 'services has "Microsoft Teams"'.
    #[arg(long, value_name = "EXPR")]
    pub when: String,
    /// An owner's name, or `workload` (the owner of the post's workload).
    #[arg(long)]
    pub owner: Option<String>,
    /// low, normal, high or critical.
    #[arg(long)]
    pub priority: Option<String>,
    /// A date expression, e.g. "act_by - 7d".
    #[arg(long, value_name = "EXPR")]
    pub due: Option<String>,
    /// A label to add (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Dismiss matching posts with this reason.
    #[arg(long, value_name = "REASON")]
    pub dismiss: Option<String>,
    /// Matching posts need a change request.
    #[arg(long)]
    pub change_request: bool,
    /// Matching posts need to be communicated to users.
    #[arg(long)]
    pub communication: bool,
    /// Who to notify: `owner` or an owner's name (repeatable).
    #[arg(long = "notify", value_name = "TARGET")]
    pub notify: Vec<String>,
    /// Evaluate no further rules after this one when it matches.
    #[arg(long)]
    pub stop: bool,
    /// Add the rule switched off (it is still checked).
    #[arg(long)]
    pub disabled: bool,
    /// Its place in the evaluation order (1 = first; default: last, or where it already is).
    #[arg(long, value_name = "N")]
    pub position: Option<usize>,
    #[command(flatten)]
    pub who: AsUser,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Work items with their deadlines, soonest first.
    List(TasksListArgs),
    /// One work item: its state, tenant exceptions and decision log.
    Show {
        #[arg(required = true, value_name = "MC…")]
        ids: Vec<String>,
        /// table (readable text) or json (one object; an array for several ids).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Assign work items to an owner: `assign MC… OWNER`, or `assign MC… --none`.
    Assign {
        /// The post ids, then the owner (unless --none).
        #[arg(required = true, value_name = "MC… OWNER")]
        args: Vec<String>,
        /// Unassign.
        #[arg(long)]
        none: bool,
        #[command(flatten)]
        who: AsUser,
        #[command(flatten)]
        for_tenants: ForTenants,
    },
    /// Found relevant: new → triaged.
    Triage(TaskIds),
    /// Found not relevant: new or triaged → dismissed.
    Dismiss {
        #[command(flatten)]
        items: TaskIds,
        #[arg(long)]
        reason: String,
    },
    /// Work starts: → in progress.
    Start(TaskIds),
    /// Close with a decision: → done.
    Close {
        #[command(flatten)]
        items: TaskIds,
        /// no_action_needed, actioned, communicated, change_request_raised, deferred or missed.
        #[arg(long)]
        decision: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ask a connector (`notify channel add … --servicenow/--jira/--glpi`) to raise a ticket for
    /// the post: once per post and scope (asking again finds it). The outbox delivers it (`serve`,
    /// or `notify deliver`); `tasks tickets` lists what was raised.
    RaiseChange {
        #[arg(value_name = "MC…")]
        id: String,
        /// The connector.
        #[arg(long, value_name = "NAME")]
        connector: String,
        /// For this tenant only.
        #[arg(long, value_name = "TENANT", conflicts_with = "group")]
        tenant: Option<String>,
        /// For this tenant group only.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        #[command(flatten)]
        who: AsUser,
    },
    /// Read the tickets raised in change-control systems back now (`serve` does it every 5
    /// minutes): where a ticket moved, its item follows as its connector's mapping says.
    FollowTickets {
        /// Tickets read at most, the least recently read first.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The tickets raised for a post in change-control systems.
    Tickets {
        #[arg(value_name = "MC…")]
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Add a comment to the log.
    Comment {
        #[command(flatten)]
        items: TaskIds,
        #[arg(long)]
        text: String,
        /// The comment is about this tenant only.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Reopen a closed item.
    Reopen {
        #[command(flatten)]
        items: TaskIds,
        #[arg(long)]
        reason: String,
    },
    /// Acknowledge the post's changes since triage.
    Ack(TaskIds),
    /// Record feedback given to Microsoft about the change (it counts for the maturity level).
    Feedback {
        #[command(flatten)]
        items: TaskIds,
        /// thumbs_down, feedback_portal, support_case or account_team.
        #[arg(long)]
        kind: String,
        /// Its reference: a case number, a Feedback portal link.
        #[arg(long)]
        reference: Option<String>,
    },
    /// Set the priority: `priority MC… low|normal|high|critical`.
    Priority {
        #[arg(required = true, value_name = "MC… PRIORITY")]
        args: Vec<String>,
        #[command(flatten)]
        who: AsUser,
    },
    /// Set the due date: `due MC… DATE` (2026-12-01 or RFC 3339), or `due MC… --none`.
    Due {
        #[arg(required = true, value_name = "MC… DATE")]
        args: Vec<String>,
        /// Clear the due date.
        #[arg(long)]
        none: bool,
        #[command(flatten)]
        who: AsUser,
        #[command(flatten)]
        for_tenants: ForTenants,
    },
    /// Add or remove a label.
    #[command(subcommand)]
    Label(LabelCommand),
    /// What is different for one tenant: not applicable, another assignee or due date, a note.
    Override(OverrideArgs),
}

/// Post ids and who acts on them, for every tenant or some.
#[derive(Debug, Args)]
pub struct TaskIds {
    /// Post ids, e.g. MC1005517.
    #[arg(required = true, value_name = "MC…")]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub who: AsUser,
    #[command(flatten)]
    pub for_tenants: ForTenants,
}

/// For some tenants only: the action moves their own state (or assignee,
/// due date), and every other tenant keeps the shared one.
#[derive(Debug, Args, Default, Clone)]
pub struct ForTenants {
    /// Only for this tenant (repeat, or separate with commas); it must see the post.
    #[arg(
        long = "for-tenant",
        value_name = "TENANT",
        value_delimiter = ',',
        conflicts_with = "for_group"
    )]
    pub tenants: Vec<String>,
    /// Only for the tenants of this group that see the post now (each gets its own exception; a tenant that joins the group later follows the shared state).
    #[arg(long = "for-group", value_name = "GROUP")]
    pub for_group: Option<String>,
}

impl ForTenants {
    /// Whether the action is for every tenant (the shared item).
    pub fn is_all(&self) -> bool {
        self.tenants.is_empty() && self.for_group.is_none()
    }
}

#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// `label add MC… LABEL`
    Add {
        #[arg(required = true, value_name = "MC… LABEL")]
        args: Vec<String>,
        #[command(flatten)]
        who: AsUser,
    },
    /// `label remove MC… LABEL`
    Remove {
        #[arg(required = true, value_name = "MC… LABEL")]
        args: Vec<String>,
        #[command(flatten)]
        who: AsUser,
    },
}

#[derive(Debug, Args)]
pub struct OverrideArgs {
    #[arg(required = true, value_name = "MC…")]
    pub ids: Vec<String>,
    /// The tenant the override is for.
    #[arg(long)]
    pub tenant: String,
    /// The post does not apply to this tenant.
    #[arg(long, conflicts_with = "applicable")]
    pub not_applicable: bool,
    /// The post applies to this tenant again.
    #[arg(long)]
    pub applicable: bool,
    /// Who handles the item for this tenant (`none`: the item's assignee).
    #[arg(long, value_name = "OWNER")]
    pub assignee: Option<String>,
    /// When the item is due for this tenant (`none`: the item's due date).
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// A note about this tenant (an empty note removes it).
    #[arg(long)]
    pub note: Option<String>,
    /// Remove the tenant's override altogether.
    #[arg(long, conflicts_with_all = ["not_applicable", "applicable", "assignee", "due", "note"])]
    pub clear: bool,
    #[command(flatten)]
    pub who: AsUser,
}

#[derive(Debug, Args)]
pub struct TasksListArgs {
    /// Only items in this state (repeatable): new, triaged, in_progress, done, dismissed, or open / closed.
    #[arg(long = "state", value_name = "STATE")]
    pub states: Vec<String>,
    /// Only items assigned to this owner.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Only posts this tenant sees, with what is in force for it (its own state, assignee, due date; not applicable counts as dismissed).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only items whose post changed since triage.
    #[arg(long)]
    pub changed: bool,
    /// Only open items past their due date.
    #[arg(long)]
    pub overdue: bool,
    /// Only open items past their act-by date (or rollout start).
    #[arg(long)]
    pub missed: bool,
    /// At most this many items.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgendaFormat {
    /// A Markdown meeting document.
    Markdown,
    /// A printable HTML page.
    Html,
    /// The agenda as JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct AgendaArgs {
    /// The period to review, back from now (e.g. 7d, 2w).
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub since: String,
    #[arg(long, value_enum, default_value_t = AgendaFormat::Markdown)]
    pub format: AgendaFormat,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Time to triage and to close (median, 90th percentile) overall and by workload, owner,
    /// tenant group, category and severity; the weeks; the backlog; the SLA breaches.
    Analytics(AnalyticsArgs),
    /// The change health score: each component with its weight, affected items and points,
    /// and the score week by week (docs/ANALYTICS.md).
    Health(SubjectArgs),
    /// The maturity level 100–500 from the last 90 days' behaviour, with the evidence of each
    /// criterion and what is missing for the next level (docs/MATURITY.md).
    Maturity(SubjectArgs),
    /// The monthly executive report: the change health score and its trend, the maturity level
    /// and what the next level lacks, the items new, triaged, closed, open and missed in the
    /// month, and the top risks (docs/ANALYTICS.md).
    Executive(ExecutiveArgs),
    /// The weekly status: the executive report's figures for one week (Monday to Sunday).
    Weekly(WeeklyArgs),
}

#[derive(Debug, Args)]
pub struct ExecutiveArgs {
    /// The month, YYYY-MM (default: the last complete month).
    #[arg(long)]
    pub month: Option<String>,
    /// Only the posts some tenant of this tenant group sees.
    #[arg(long)]
    pub group: Option<String>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct WeeklyArgs {
    /// Any day of the week, YYYY-MM-DD (default: the last complete week).
    #[arg(long)]
    pub week: Option<String>,
    /// Only the posts some tenant of this tenant group sees.
    #[arg(long)]
    pub group: Option<String>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// Only the posts some tenant of this tenant group sees.
    #[arg(long)]
    pub group: Option<String>,
    /// The weeks of the trend (health).
    #[arg(long, default_value_t = 13)]
    pub weeks: usize,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A summary for people.
    Text,
    /// Everything, as JSON.
    Json,
    /// One table (`--table`) as CSV.
    Csv,
}

#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    /// The period: the items created in the last this many days.
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    /// The weeks of the weekly series.
    #[arg(long, default_value_t = 13)]
    pub weeks: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// With `--format csv`: weekly, dimensions, breaches or backlog.
    #[arg(long, default_value = "dimensions")]
    pub table: String,
}

#[derive(Debug, Subcommand)]
pub enum RoadmapCommand {
    /// Read the roadmap's JSON (the feed's bare array, or a saved copy with `items`) into the archive:
    /// new items, a revision for each change, and (with the whole feed) items gone from it marked.
    Import {
        /// The file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The file holds part of the roadmap: items it lacks are not marked gone.
        #[arg(long)]
        partial: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        who: AsUser,
    },
    /// Read the public roadmap feed into the archive, as `import` reads a file.
    Sync {
        /// The feed (default: Microsoft's public roadmap feed).
        #[arg(long)]
        url: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        who: AsUser,
    },
    /// Roadmap items, soonest release first.
    List {
        /// Only items with this status (`In development`, `Rolling out`, `Launched`, `Cancelled`,
        /// `Postponed`); repeat for several.
        #[arg(long)]
        status: Vec<String>,
        /// Only items of this product (e.g. `Microsoft Teams`).
        #[arg(long)]
        product: Option<String>,
        /// Only items with this text in the title or description.
        #[arg(long)]
        search: Option<String>,
        /// Items gone from the feed too.
        #[arg(long)]
        include_gone: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One roadmap item with its revisions (what changed, when).
    Show {
        id: u64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum TimelineCommand {
    /// Print each post's rollout phases (ring, cloud, start, end) as JSON lines.
    Extract {
        /// A Graph messages JSON file (an array, or an object with `value`); `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}
