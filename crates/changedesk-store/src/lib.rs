//! changedesk-store: the archive, on SQLite (embedded default) or PostgreSQL.
//!
//! One public type, [`Store`], chosen once from the database URL. Every
//! method behaves the same on both databases: the operations are written
//! once, in `ops.rs`, and compiled for each backend (`include!` into the
//! `sqlite` and `postgres` modules below), so there is no second copy of any
//! logic to drift. The conformance suite (`tests/conformance`) runs every
//! scenario on both.
//!
//! Architecture invariant: the store never calls the network and never sees
//! a secret. It knows nothing of HTTP or HTML.

// Outside text (posts, requests, files, command lines) is never sliced or
// indexed by byte position: a real title once crashed import at an en dash.
// A proven-safe index carries a local `allow` with its reason.
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use changedesk_core::diff::FieldChange;
use changedesk_core::graph::{Detail, HealthOverview, Incident, IncidentPost, Message};
use changedesk_core::{IncidentContent, MessageContent, Timestamp};
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub mod failpoint;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

/// What went wrong in the store. Messages are written for the person at the
/// terminal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database file {0} does not exist (import something first, e.g. `changedesk import FILE --tenant NAME`, or check --database)"
    )]
    MissingDatabase(PathBuf),
    #[error("cannot open database {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database could not write for want of space: its disk is full,
    /// or the database reached its size limit. Writes work again once space
    /// is freed; reads go on meanwhile.
    #[error(
        "the database's disk is full (or the database reached its size limit): free space; writes work again then ({0})"
    )]
    Full(sqlx::Error),
    /// Every connection of the pool stayed in use for its whole acquire
    /// timeout: the database is overloaded, not broken; try again.
    #[error("the database is busy: no connection came free in time")]
    Busy,
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// Someone else changed the same thing first, or what is being
    /// created already exists (a user name, a token).
    #[error("{0}")]
    Conflict(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match e {
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            e if storage_failure(&e) == Some(StorageFailure::Full) => StoreError::Full(e),
            e => StoreError::Database(e),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum StorageFailure {
    /// Disk full or size limit reached.
    Full,
    /// The disk failed, or the database cannot be written at all.
    Io,
}

/// Whether a database error says the database cannot store anything now
/// (rather than that one statement was wrong).
fn storage_failure(e: &sqlx::Error) -> Option<StorageFailure> {
    let sqlx::Error::Database(d) = e else {
        return matches!(e, sqlx::Error::Io(_)).then_some(StorageFailure::Io);
    };
    let code = d.code()?;
    if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // the extended result code; its low byte is the primary one
        match code.parse::<i32>().ok()? & 0xff {
            13 => Some(StorageFailure::Full),        // SQLITE_FULL
            8 | 10 | 14 => Some(StorageFailure::Io), // READONLY, IOERR, CANTOPEN
            _ => None,
        }
    } else {
        // PostgreSQL's SQLSTATE: 53100 disk_full, class 53 insufficient
        // resources, class 58 system error (I/O), 25006 read-only transaction
        match &*code {
            "53100" => Some(StorageFailure::Full),
            c if c.starts_with("53") || c.starts_with("58") || c == "25006" => {
                Some(StorageFailure::Io)
            }
            _ => None,
        }
    }
}

impl StoreError {
    /// Whether this says the archive cannot be written now (disk full, I/O
    /// failure), as opposed to a mistake in one request.
    pub fn is_storage_failure(&self) -> bool {
        match self {
            StoreError::Full(_) => true,
            StoreError::Database(e) => storage_failure(e).is_some(),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Whether opening may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Commands that write: a missing SQLite file is created.
    ReadWrite,
    /// Commands that only read: a missing SQLite file is an error.
    ReadOnly,
    /// The long-running server (`serve`, the demo's UI): `ReadWrite`, and
    /// SQLite's read connections memory-map the file, which serves many
    /// concurrent queries faster but adds the pages read to the process's
    /// resident memory, so the one-shot commands (`sync`) don't.
    Service,
}

/// Where the archive lives.
#[derive(Clone)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` URL (it may hold a password: never printed).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Location {
    /// A description safe to print: a PostgreSQL password is masked.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite://{}", p.display()),
            Location::Postgres(url) => redact_url(url),
        }
    }
}

/// Masks the password of a URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("****"));
            }
            u.to_string()
        }
        Err(_) => "(unparseable database URL)".to_string(),
    }
}

#[derive(Clone)]
enum Backend {
    /// Reads on a pool; every write on one dedicated connection. In WAL mode
    /// SQLite drops a connection's page cache whenever another connection has
    /// written, so a single writer keeps its cache warm from load to load.
    Sqlite {
        read: sqlx::SqlitePool,
        write: sqlx::SqlitePool,
    },
    Postgres(sqlx::PgPool),
}

/// Writers of one process queue here before taking the database's write lock.
struct Writer {
    turn: tokio::sync::Mutex<WriterState>,
    /// Write transactions of this process ended so far (committed or not):
    /// see [`Store::local_writes`].
    ended: std::sync::atomic::AtomicU64,
}

/// What the writer of this process remembers between its transactions.
#[derive(Default)]
struct WriterState {
    /// Digests of tenant details known to be committed (`tenant_details`
    /// rows are content-addressed and never change or go, so a committed
    /// one stays true): their text need not be sent again.
    details_known: std::collections::HashSet<String>,
    /// The versions of posts as of write generation `generation` (see
    /// `write_generation`): right as long as no other process wrote posts
    /// since, which the generation tells.
    posts: std::collections::HashMap<String, Held>,
    generation: Option<i64>,
}

/// The version of an item the archive holds.
#[derive(Clone)]
struct Held {
    last_modified: Option<Timestamp>,
    digest: String,
    revision: i64,
}

/// What a committed transaction taught the writer.
struct Remember {
    details: Vec<String>,
    posts: std::collections::HashMap<String, Held>,
    /// The generation the transaction moved to, and whether the writer's
    /// memory of posts was current before it.
    generation: Option<(i64, bool)>,
}

impl WriterState {
    /// Details digests and posts remembered at most; past this the memory
    /// starts over.
    const CAPACITY: usize = 500_000;

    fn remember(&mut self, r: Remember) {
        if self.details_known.len() + r.details.len() > Self::CAPACITY {
            self.details_known.clear();
        }
        self.details_known.extend(r.details);
        if let Some((n, current)) = r.generation {
            if !current || self.posts.len() + r.posts.len() > Self::CAPACITY {
                self.posts.clear();
            }
            self.posts.extend(r.posts);
            self.generation = Some(n);
        }
    }
}

/// A writer's turn: logs (at debug) how long it held the write lock.
struct WriterGuard<'a> {
    state: tokio::sync::MutexGuard<'a, WriterState>,
    /// Counted here when it ends (`None`: bookkeeping, not counted, or a
    /// load not counted yet: see `count_write`).
    ended: Option<&'a std::sync::atomic::AtomicU64>,
    what: &'static str,
    since: std::time::Instant,
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        // the transaction has ended by now (committed, rolled back, or
        // dropped: rolled back as its connection goes back to the pool)
        if let Some(ended) = self.ended {
            ended.fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        tracing::debug!(
            what = self.what,
            held_us = self.since.elapsed().as_micros() as u64,
            "write lock released"
        );
    }
}

/// The archive.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    location: Location,
    writer: std::sync::Arc<Writer>,
    digests: std::sync::Arc<DigestMemo>,
    /// API token uses this process has recorded (or is recording), by token
    /// id: one request records a busy token's use, the others go on.
    token_uses: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, Timestamp>>>,
    /// Why the last write failed, when it failed because the archive could
    /// not be written (disk full, I/O): see [`Store::write_failure`].
    write_failure: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The failed syncs in a row at which a tenant's sync "keeps failing"
    /// ([`Store::with_sync_failing_after`]).
    sync_failing_after: i64,
}

/// Digests of post content already computed, by post id.
///
/// A digest is a pure function of the content, so a remembered one is right
/// whenever the incoming content equals the remembered content, whatever the
/// database holds. Comparing is far cheaper than serialising and hashing, and
/// in a sync most tenants return the same content of the same post.
#[derive(Default)]
struct DigestMemo(
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<(MessageContent, String)>>>,
);

impl DigestMemo {
    /// Posts remembered at most; past this the memo starts over.
    const CAPACITY: usize = 100_000;

    /// The digest of each message's content, in order.
    fn digests(&self, messages: &[Message]) -> Vec<String> {
        let remembered: Vec<Option<std::sync::Arc<(MessageContent, String)>>> = {
            let memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
            messages
                .iter()
                .map(|m| memo.get(&m.content.id).cloned())
                .collect()
        };
        let mut fresh = Vec::new();
        let out = messages
            .iter()
            .zip(remembered)
            .map(|(m, r)| match r {
                Some(r) if r.0 == m.content => r.1.clone(),
                _ => {
                    let d = m.content.digest();
                    fresh.push(std::sync::Arc::new((m.content.clone(), d.clone())));
                    d
                }
            })
            .collect();
        if !fresh.is_empty() {
            let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if memo.len() + fresh.len() > Self::CAPACITY {
                memo.clear();
            }
            for f in fresh {
                memo.insert(f.0.id.clone(), f);
            }
        }
        out
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.location.describe())
    }
}

macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.backend {
            Backend::Sqlite { read, .. } => sqlite::$f(read, $($arg),*).await,
            Backend::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        }
    };
}

/// As `dispatch!`, for operations that write; notes whether the archive
/// could be written ([`Store::write_failure`]).
macro_rules! dispatch_write {
    ($self:ident . $f:ident ( $($arg:expr),* $(,)? )) => {{
        let result = match &$self.backend {
            Backend::Sqlite { write, .. } => sqlite::$f(write, $($arg),*).await,
            Backend::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        };
        $self.note_write(result.as_ref().err());
        result
    }};
}

// after the dispatch macros, which it uses
mod auth;
pub use auth::*;
mod query;
pub use query::*;
mod oidc;
pub use oidc::*;
mod views;
pub use views::*;
mod feeds;
pub use feeds::*;
mod declared;
pub use declared::*;
mod directory;
pub use directory::*;
mod tickets;
pub use tickets::*;
mod user_settings;
pub use user_settings::*;
/// The work items analytics reads (`analytics_ops.rs`).
mod analytics;
pub use analytics::MAX_GROUPS as ANALYTICS_MAX_GROUPS;
/// Reviews recorded as held, and the rules' routing figures (`reviews_ops.rs`).
mod reviews;
pub use reviews::*;
/// Communications of changes and their acknowledgements (`comms_ops.rs`).
mod comms;
pub use comms::*;
/// The preview and pilot programme (`pilot_ops.rs`).
mod pilots;
pub use pilots::*;
/// The Microsoft 365 roadmap archive (`roadmap_ops.rs`).
mod roadmap;
pub use roadmap::*;

impl Store {
    /// Opens (and, for [`OpenMode::ReadWrite`], creates) the archive and
    /// brings its schema up to date.
    pub async fn open(location: &Location, mode: OpenMode) -> Result<Store> {
        let backend = match location {
            Location::Sqlite(path) => {
                if mode == OpenMode::ReadOnly && !path.exists() {
                    return Err(StoreError::MissingDatabase(path.clone()));
                }
                if let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                    && !parent.exists()
                {
                    return Err(StoreError::Invalid(format!(
                        "cannot create database {}: directory {} does not exist",
                        path.display(),
                        parent.display()
                    )));
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(mode != OpenMode::ReadOnly)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // 32 MiB of page cache per connection (SQLite's default is
                    // 2 MiB): a load looks up every listed post, and re-reading
                    // those pages from the OS dominated sync time
                    .pragma("cache_size", "-32768")
                    .pragma("temp_store", "memory")
                    // checkpoint every 32 MiB of WAL instead of every 4 MiB:
                    // a checkpoint runs inside the commit that crosses the
                    // mark, on the single writer's time, and pages written
                    // again and again are copied back to the database once
                    .pragma("wal_autocheckpoint", "8192");
                let connect = |n: u32, opts: SqliteConnectOptions| async move {
                    SqlitePoolOptions::new()
                        .max_connections(n)
                        .connect_with(opts)
                        .await
                        .map_err(|source| StoreError::Open {
                            url: location.describe(),
                            source,
                        })
                };
                // a process creating the file at the same moment may hold
                // it while it turns on WAL (SQLite then answers "locked"
                // without waiting): try again for a while
                let started = std::time::Instant::now();
                let write = loop {
                    match SqlitePoolOptions::new()
                        .max_connections(1)
                        .after_release(|conn, _| Box::pin(writer_usable(conn)))
                        .connect_with(opts.clone())
                        .await
                    {
                        Ok(pool) => break pool,
                        Err(sqlx::Error::Database(e))
                            if matches!(e.code().as_deref(), Some("5" | "6"))
                                && started.elapsed() < Duration::from_secs(60) =>
                        {
                            tracing::debug!(error = %e, "the archive is being created by another process; trying again");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(source) => {
                            return Err(StoreError::Open {
                                url: location.describe(),
                                source,
                            });
                        }
                    }
                };
                migrate_sqlite(&write).await?;
                // readers keep a smaller cache each: four of the writer's
                // size would be most of the process's memory. The server's
                // read through a memory map instead (up to SQLite's 2 GB
                // limit): pages come from the OS's cache, shared by every
                // reader, without a copy and a page-cache lookup under a lock
                // each (the API's queries at 200 connections spent most of
                // their time there)
                let mut read_opts = opts.create_if_missing(false).pragma("cache_size", "-4096");
                if mode == OpenMode::Service {
                    read_opts = read_opts.pragma("mmap_size", "2147418112");
                }
                let read = connect(4, read_opts).await?;
                Backend::Sqlite { read, write }
            }
            Location::Postgres(url) => {
                let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|source| StoreError::Open {
                        url: location.describe(),
                        source,
                    })?
                    // no JIT compilation: the statements are short, and
                    // the planner's estimates of the correlated counts
                    // pass its threshold, so it compiled ~180 functions
                    // per request (49 ms of the inbox counts' 89 ms at
                    // 2,000 tenants × 5,000 posts, for 22 ms of work)
                    .options([("jit", "off")]);
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|source| StoreError::Open {
                        url: location.describe(),
                        source,
                    })?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Backend::Postgres(pool)
            }
        };
        let store = Store {
            backend,
            location: location.clone(),
            writer: std::sync::Arc::new(Writer {
                turn: tokio::sync::Mutex::new(WriterState::default()),
                ended: std::sync::atomic::AtomicU64::new(0),
            }),
            token_uses: Default::default(),
            digests: Default::default(),
            write_failure: Default::default(),
            sync_failing_after: changedesk_core::notify::SYNC_FAILING_AFTER,
        };
        if mode != OpenMode::ReadOnly {
            let n = store.refresh_timelines().await?;
            if n > 0 {
                tracing::info!(rows = n, "read the rollout timeline of stored posts again");
            }
        }
        Ok(store)
    }

    /// Reads the rollout timeline of the posts and revisions whose stored
    /// one was read by another version of the reading (or none): done when
    /// the archive is opened for writing. Returns how many rows it wrote.
    pub async fn refresh_timelines(&self) -> Result<u64> {
        let writer = &*self.writer;
        dispatch_write!(self.refresh_timelines(writer))
    }

    /// Records how a write ended: a storage failure (disk full, I/O) is
    /// remembered until a write succeeds; other errors (a conflict, a
    /// missing item) say nothing about the archive.
    fn note_write(&self, error: Option<&StoreError>) {
        let mut failure = self.write_failure.lock().unwrap_or_else(|e| e.into_inner());
        match error {
            None => *failure = None,
            Some(e) if e.is_storage_failure() => *failure = Some(e.to_string()),
            Some(_) => {}
        }
    }

    /// Why the archive cannot be written, when the last write failed for
    /// want of space or an I/O error; `None` once a write worked again.
    /// Readiness probes ask this, then [`Store::check_writes`].
    pub fn write_failure(&self) -> Option<String> {
        self.write_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Tests only (SQLite): sets the writer connection's `max_page_count`
    /// (SQLite keeps at least the file's current size) and returns the
    /// limit in force, so that a test can make the archive full.
    #[cfg(feature = "testing")]
    pub async fn sqlite_limit_pages(&self, pages: u64) -> Result<u64> {
        let Backend::Sqlite { write, .. } = &self.backend else {
            return Err(StoreError::Invalid("not a SQLite archive".into()));
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .fetch_one(write)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// Tries a small write that changes nothing (on SQLite it also needs a
    /// new page, as growing the archive does): `Ok` when writes work. Its
    /// outcome is recorded like any write's.
    pub async fn check_writes(&self) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.check_writes(writer))
    }

    /// Opens a SQLite archive at `path`.
    pub async fn open_sqlite(path: &Path, mode: OpenMode) -> Result<Store> {
        Self::open(&Location::Sqlite(path.to_path_buf()), mode).await
    }

    /// How many write transactions this process has ended on the archive
    /// (committed or rolled back): a number that changes whenever this
    /// process may have changed what a read returns, known without asking
    /// the database. Writes of other processes are not counted (see
    /// [`Store::archive_changes`]).
    pub fn local_writes(&self) -> u64 {
        self.writer.ended.load(std::sync::atomic::Ordering::Acquire)
    }

    /// How many write transactions any process has committed on the archive
    /// (one cheap read): when it has not moved, nothing was written.
    pub async fn archive_changes(&self) -> Result<i64> {
        dispatch!(self.archive_changes())
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(p) => p.close().await,
        }
    }

    /// Loads one tenant's listing of Message Center posts. A complete listing
    /// marks the tenant's posts it lacks as gone; a partial one only adds
    /// and updates. All or nothing: one transaction.
    pub async fn import_messages(
        &self,
        tenant: &str,
        messages: &[Message],
        opts: &ImportOptions,
    ) -> Result<ImportSummary> {
        validate_tenant_name(tenant)?;
        let writer = &*self.writer;
        let messages = &*text::cleaned(messages);
        let digests = self.message_digests(messages);
        dispatch_write!(self.import_messages(writer, tenant, messages, &digests, opts))
    }

    /// Loads one tenant's listing of Service Health issues.
    pub async fn import_incidents(
        &self,
        tenant: &str,
        incidents: &[Incident],
        opts: &ImportOptions,
    ) -> Result<ImportSummary> {
        validate_tenant_name(tenant)?;
        let writer = &*self.writer;
        let incidents = &*text::cleaned(incidents);
        let digests = self.incident_digests(incidents);
        dispatch_write!(self.import_incidents(writer, tenant, incidents, &digests, opts))
    }

    /// Records one tenant's health overview snapshot.
    pub async fn import_health(
        &self,
        tenant: &str,
        overviews: &[HealthOverview],
        opts: &ImportOptions,
    ) -> Result<ImportSummary> {
        validate_tenant_name(tenant)?;
        let writer = &*self.writer;
        let overviews = &*text::cleaned(overviews);
        dispatch_write!(self.import_health(writer, tenant, overviews, opts))
    }

    /// Posts matching a filter, newest change first.
    pub async fn list_messages(&self, filter: &MessageFilter) -> Result<Vec<PostSummary>> {
        dispatch!(self.list_messages(filter))
    }

    /// One post with its tenants and revision history.
    pub async fn get_message(&self, id: &str) -> Result<PostDetail> {
        dispatch!(self.get_message(id))
    }

    /// The full content of one revision of a post.
    pub async fn message_revision(&self, id: &str, revision: i64) -> Result<RevisionContent> {
        dispatch!(self.message_revision(id, revision))
    }

    /// Every post in the archive, in id order, a page at a time: `after` is
    /// the last id of the previous page.
    pub async fn export_messages_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ExportedPost>> {
        dispatch!(self.export_messages_page(after, limit))
    }

    pub async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<IncidentSummary>> {
        dispatch!(self.list_incidents(filter))
    }

    pub async fn get_incident(&self, id: &str) -> Result<IncidentDetail> {
        dispatch!(self.get_incident(id))
    }

    /// Each tenant's current service health.
    pub async fn health(&self, tenant: Option<&str>) -> Result<Vec<HealthRow>> {
        dispatch!(self.health(tenant))
    }

    /// Service health across the tenants of a scope, counted: one row per
    /// service (compared ignoring case) and status, with the first
    /// `named` tenants of each status not in `unnamed`, by name. A page of
    /// 2,000 tenants × 17 services reads 34,000 rows otherwise.
    pub async fn health_summary(
        &self,
        filter: &HealthFilter<'_>,
    ) -> Result<Vec<HealthStatusCount>> {
        dispatch!(self.health_summary(filter))
    }

    pub async fn tenants(&self) -> Result<Vec<TenantRow>> {
        dispatch!(self.tenants())
    }

    /// One tenant's archive state (`None` before its first load).
    pub async fn tenant(&self, name: &str) -> Result<Option<TenantRow>> {
        dispatch!(self.tenant(name))
    }

    /// What a sync needs of a tenant's archive state: its watermarks and
    /// complete listings (`None` before its first load). [`Store::tenant`]
    /// also counts its posts, thousands of links at an MSP's shape.
    pub async fn tenant_marks(&self, name: &str) -> Result<Option<TenantMarks>> {
        dispatch!(self.tenant_marks(name))
    }

    /// Loads one tenant's listings and records its sync outcome, all in one
    /// transaction: what a sync does per tenant.
    pub async fn import_batch(
        &self,
        tenant: &str,
        batch: &TenantBatch<'_>,
    ) -> Result<BatchSummary> {
        validate_tenant_name(tenant)?;
        let writer = &*self.writer;
        let clean = CleanBatch::new(batch);
        let batch = &clean.batch(batch);
        let digests = self.batch_digests(batch);
        let failing_after = self.sync_failing_after;
        dispatch_write!(self.import_batch(writer, tenant, batch, &digests, failing_after))
    }

    /// The digests a load of these posts needs: their content's (what the
    /// archive compares versions by) and each tenant's details'. They cost
    /// CPU, not the archive: a sync works them out for each tenant before
    /// the tenant waits for the write lock, and hands them over in
    /// [`TenantBatch::digests`].
    pub fn message_digests(&self, messages: &[Message]) -> MessageDigests {
        // of what will be stored
        let messages = &*text::cleaned(messages);
        MessageDigests {
            content: self.digests.digests(messages),
            details: messages.iter().map(|m| m.view.digest()).collect(),
        }
    }

    /// The digests a load of these incidents needs (as
    /// [`Store::message_digests`] for posts): each one's version (its shared
    /// content and posts) and each tenant's details.
    pub fn incident_digests(&self, incidents: &[Incident]) -> IncidentDigests {
        let incidents = &*text::cleaned(incidents);
        IncidentDigests {
            version: incidents.iter().map(Incident::version_digest).collect(),
            details: incidents.iter().map(|i| i.view.digest()).collect(),
        }
    }

    /// A batch's digests: the ones it brings when they fit its listings,
    /// else worked out now.
    fn batch_digests<'b>(&self, batch: &'b TenantBatch<'_>) -> BatchDigests<'b> {
        use std::borrow::Cow;
        let messages = match (batch.messages.as_ref().map(|(m, _)| *m), batch.digests) {
            (None, _) => Cow::Owned(MessageDigests::default()),
            (Some(m), Some(d)) if d.content.len() == m.len() && d.details.len() == m.len() => {
                Cow::Borrowed(d)
            }
            (Some(m), _) => Cow::Owned(self.message_digests(m)),
        };
        let issues = match (batch.issues.as_ref().map(|(i, _)| *i), batch.issue_digests) {
            (None, _) => Cow::Owned(IncidentDigests::default()),
            (Some(i), Some(d)) if d.version.len() == i.len() && d.details.len() == i.len() => {
                Cow::Borrowed(d)
            }
            (Some(i), _) => Cow::Owned(self.incident_digests(i)),
        };
        BatchDigests { messages, issues }
    }

    /// Loads several tenants' listings in one transaction (group commit:
    /// one commit instead of one per tenant). Each tenant's part is atomic on
    /// its own: a tenant whose part fails gets its error and is rolled back
    /// alone. The outer error fails them all.
    pub async fn import_batches(
        &self,
        batches: &[(&str, &TenantBatch<'_>)],
    ) -> Result<Vec<Result<BatchSummary>>> {
        let mut out: Vec<Option<Result<BatchSummary>>> = Vec::with_capacity(batches.len());
        let cleaned: Vec<CleanBatch<'_>> =
            batches.iter().map(|(_, b)| CleanBatch::new(b)).collect();
        let cleaned: Vec<TenantBatch<'_>> = cleaned
            .iter()
            .zip(batches)
            .map(|(c, (_, b))| c.batch(b))
            .collect();
        let mut valid = Vec::with_capacity(batches.len());
        let mut digests = Vec::with_capacity(batches.len());
        for ((tenant, _), batch) in batches.iter().zip(&cleaned) {
            match validate_tenant_name(tenant) {
                Err(e) => out.push(Some(Err(e))),
                Ok(()) => {
                    out.push(None);
                    valid.push((*tenant, batch));
                    digests.push(self.batch_digests(batch));
                }
            }
        }
        let group: Vec<(&str, &TenantBatch<'_>, &BatchDigests<'_>)> = valid
            .iter()
            .zip(&digests)
            .map(|((t, b), d)| (*t, *b, d))
            .collect();
        let writer = &*self.writer;
        let mut done = if group.is_empty() {
            Vec::new()
        } else {
            let failing_after = self.sync_failing_after;
            dispatch_write!(self.import_batches(writer, &group, failing_after))?
        }
        .into_iter();
        Ok(out
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    done.next().unwrap_or_else(|| {
                        Err(StoreError::Invalid("a batch was not loaded".to_string()))
                    })
                })
            })
            .collect())
    }

    /// Owners, by name.
    pub async fn owners(&self) -> Result<Vec<changedesk_core::triage::Owner>> {
        dispatch!(self.list_owners())
    }

    /// Adds or updates an owner (audited as `actor`).
    pub async fn put_owner(
        &self,
        owner: &changedesk_core::triage::Owner,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.put_owner(writer, owner, actor, at))
    }

    /// Removes an owner that owns no workload.
    pub async fn remove_owner(&self, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_owner(writer, name, actor, at))
    }

    /// Tenant groups, in resolution order.
    pub async fn groups(&self) -> Result<Vec<changedesk_core::triage::TenantGroup>> {
        dispatch!(self.list_groups())
    }

    /// Adds or updates a tenant group; a new one goes last.
    pub async fn put_group(
        &self,
        group: &changedesk_core::triage::TenantGroup,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.put_group(writer, group, actor, at))
    }

    /// Removes a tenant group no ownership entry uses.
    pub async fn remove_group(&self, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_group(writer, name, actor, at))
    }

    /// Every workload ownership entry.
    pub async fn ownership(&self) -> Result<Vec<changedesk_core::triage::OwnershipEntry>> {
        dispatch!(self.list_ownership())
    }

    /// Sets who owns a workload for a scope.
    pub async fn set_ownership(
        &self,
        entry: &changedesk_core::triage::OwnershipEntry,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.set_ownership(writer, entry, actor, at))
    }

    /// Removes who owns a workload for a scope.
    pub async fn remove_ownership(
        &self,
        workload: &str,
        scope: &changedesk_core::triage::Scope,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_ownership(writer, workload, scope, actor, at))
    }

    /// Rules, in evaluation order.
    pub async fn rules(&self) -> Result<Vec<RuleRow>> {
        dispatch!(self.list_rules())
    }

    /// Adds or replaces a rule.
    pub async fn put_rule(
        &self,
        name: &str,
        enabled: bool,
        spec: &serde_json::Value,
        position: Option<i64>,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.put_rule(writer, name, enabled, spec, position, actor, at))
    }

    /// Removes a rule.
    pub async fn remove_rule(&self, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_rule(writer, name, actor, at))
    }

    /// Seeds owners, groups, ownership and rules from the configuration file.
    pub async fn seed(&self, seed: &TriageSeed, at: &Timestamp) -> Result<SeedSummary> {
        let writer = &*self.writer;
        dispatch_write!(self.seed(writer, seed, at))
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        dispatch!(self.audit_log(limit))
    }

    /// A post's work item, if it has one.
    pub async fn work_item(&self, post_id: &str) -> Result<Option<StoredItem>> {
        dispatch!(self.work_item(post_id))
    }

    /// A post's decision log, oldest first.
    pub async fn work_item_log(&self, post_id: &str) -> Result<Vec<LoggedEntry>> {
        dispatch!(self.work_item_log(post_id))
    }

    /// The decision log's entries that record a decision of these posts'
    /// work items (a close's `decision` entry, a dismissal's `state` entry;
    /// each with its reason), for the post and for single tenants, oldest
    /// first per post, in one statement: the CSV exports' decision reasons.
    pub async fn decision_entries(&self, post_ids: &[&str]) -> Result<Vec<LoggedEntry>> {
        dispatch!(self.decision_entries(post_ids))
    }

    /// Every decision log entry since `since`, oldest first.
    pub async fn decision_log_since(&self, since: &Timestamp) -> Result<Vec<LoggedEntry>> {
        dispatch!(self.decision_log_since(since))
    }

    /// Saves a work item with its new log entries and notify intents;
    /// returns its new version. [`StoreError::Conflict`] when someone saved
    /// it first.
    pub async fn save_work_item(&self, save: &ItemSave<'_>) -> Result<i64> {
        let writer = &*self.writer;
        dispatch_write!(self.save_work_item(writer, save))
    }

    /// Saves many work items in one transaction and records the posts the
    /// rules saw without changing anything (`evaluated`: post id, revision).
    /// One result per save: a [`StoreError::Conflict`] or
    /// [`StoreError::NotFound`] fails only that item.
    pub async fn save_work_items(
        &self,
        saves: &[ItemSave<'_>],
        evaluated: &[(&str, i64)],
    ) -> Result<Vec<Result<i64>>> {
        let writer = &*self.writer;
        dispatch_write!(self.save_work_items(writer, saves, evaluated))
    }

    /// Records events in the outbox (those no item save carries: a
    /// channel's test, a sync's failure).
    pub async fn record_events(
        &self,
        events: &[changedesk_core::notify::Event],
        at: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.record_events(writer, events, at))
    }

    /// Up to `limit` events not yet fanned out, oldest first.
    pub async fn pending_events(&self, limit: i64) -> Result<Vec<StoredEvent>> {
        dispatch!(self.pending_events(limit))
    }

    /// Fans an event out to its deliveries and marks it dispatched, in one
    /// transaction (a delivery that exists is kept).
    pub async fn dispatch_event(
        &self,
        event_id: i64,
        deliveries: &[NewDelivery],
        now: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.dispatch_event(writer, event_id, deliveries, now))
    }

    /// Fans many events out (each with its deliveries) and marks them
    /// dispatched, in one transaction with multi-row inserts (a delivery
    /// that exists is kept).
    pub async fn dispatch_events(
        &self,
        events: &[(i64, &[NewDelivery])],
        now: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.dispatch_events(writer, events, now))
    }

    /// Claims up to `limit` deliveries due at `now` until `lease_until`
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so workers never claim the
    /// same one). A claim whose lease ran out is taken over and counted.
    pub async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        let writer = &*self.writer;
        dispatch_write!(self.claim_deliveries(writer, now, lease_until, limit))
    }

    /// Records the outcome of a claimed delivery (on PostgreSQL without
    /// waiting for the disk: an outcome a database crash loses leaves the
    /// delivery claimed, so it is taken over and counted in `resends`).
    pub async fn finish_delivery(
        &self,
        id: i64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.finish_delivery(writer, id, outcome, now))
    }

    /// Records the outcomes of many claimed deliveries in one transaction
    /// (all or none; only those still claimed change), as
    /// [`Store::finish_delivery`] records one.
    pub async fn finish_deliveries(
        &self,
        outcomes: &[(i64, DeliveryOutcome)],
        now: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.finish_deliveries(writer, outcomes, now))
    }

    /// Puts failed deliveries back in the queue (those of `ids`, or all),
    /// recorded in the audit log as `actor`'s.
    pub async fn retry_deliveries(
        &self,
        ids: Option<&[i64]>,
        now: Timestamp,
        actor: &str,
    ) -> Result<u64> {
        let writer = &*self.writer;
        dispatch_write!(self.retry_deliveries(writer, ids, now, actor))
    }

    /// The batching channels with a message to compose at `now`: a
    /// batched delivery is due, and no message of the channel is waiting
    /// to be sent (one message in flight per channel keeps order and
    /// paces the channel).
    pub async fn channels_with_due_batches(&self, now: Timestamp) -> Result<Vec<i64>> {
        dispatch!(self.channels_with_due_batches(now))
    }

    /// Up to `limit` batched deliveries of `channel_id` ready by `until`,
    /// oldest first.
    pub async fn batched_deliveries(
        &self,
        channel_id: i64,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<BatchedDelivery>> {
        dispatch!(self.batched_deliveries(channel_id, until, limit))
    }

    /// Composes one message: delivery `leader` carries `body` and is due
    /// at `now`; `members` (the others of the batch) become `merged` into
    /// it. Only deliveries still batched change; whether the leader did.
    pub async fn merge_batch(
        &self,
        leader: i64,
        members: &[i64],
        body: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.merge_batch(writer, leader, members, body, now))
    }

    /// Takes `address` off e-mail channel `channel_id` (a signed
    /// unsubscribe link; audited in the address's name). `None`: no such
    /// e-mail channel.
    pub async fn unsubscribe(
        &self,
        channel_id: i64,
        address: &str,
        at: Timestamp,
    ) -> Result<Option<Unsubscribed>> {
        let writer = &*self.writer;
        dispatch_write!(self.unsubscribe(writer, channel_id, address, at))
    }

    /// Incidents changed since the outbox last told of them (see
    /// [`IncidentChange`]), up to `limit`.
    pub async fn pending_incident_changes(&self, limit: i64) -> Result<Vec<IncidentChange>> {
        dispatch!(self.pending_incident_changes(limit))
    }

    /// Records incident events and marks the incidents told (id, revision,
    /// resolved), in one transaction: each change is told once.
    pub async fn record_incident_events(
        &self,
        events: &[changedesk_core::notify::Event],
        marks: &[(String, i64, bool)],
        at: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.record_incident_events(writer, events, marks, at))
    }

    /// Records a scheduled message (an owner's review) of a channel under
    /// `message_id`, once: `false` when it exists.
    pub async fn record_scheduled(
        &self,
        channel_id: i64,
        message_id: &str,
        event: &changedesk_core::notify::Event,
        body: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.record_scheduled(writer, channel_id, message_id, event, body, now))
    }

    /// Messages delivered to `channel_id` since `since` (a channel's pace).
    pub async fn delivered_since(&self, channel_id: i64, since: Timestamp) -> Result<i64> {
        dispatch!(self.delivered_since(channel_id, since))
    }

    /// The delivery log, newest first.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRow>> {
        dispatch!(self.list_deliveries(filter))
    }

    /// Adds a notification channel; `Conflict` when the name is taken.
    /// Audited (without its URL and secret).
    pub async fn create_channel(&self, c: &NewChannel) -> Result<i64> {
        let writer = &*self.writer;
        dispatch_write!(self.create_channel(writer, c))
    }

    /// The channels, by name.
    pub async fn channels(&self) -> Result<Vec<ChannelRow>> {
        dispatch!(self.list_channels())
    }

    /// Removes a channel and its deliveries; whether it existed. Audited.
    pub async fn remove_channel(&self, name: &str, actor: &str, at: Timestamp) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_channel(writer, name, actor, at))
    }

    /// Enables or disables a channel (with the reason). Audited.
    pub async fn set_channel_enabled(
        &self,
        id: i64,
        enabled: bool,
        reason: Option<&str>,
        actor: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.set_channel_enabled(writer, id, enabled, reason, actor, at))
    }

    /// Work items with their posts, soonest due first.
    pub async fn work_items(&self, filter: &ItemFilter) -> Result<Vec<ItemRow>> {
        dispatch!(self.list_work_items(filter))
    }

    /// Work items as [`Store::work_items`] lists them, but with their
    /// exceptions counted instead of read: beside each row, the exceptions
    /// in force for the tenants of `filter.visible_to` (every tenant
    /// without) that see its post now, by what they override (their note
    /// and dismissal reason left out), with how many tenants have each.
    /// The rows name no tenant (`tenant_count` counts them), and their
    /// items carry no `overrides` and version 0, which no save takes: for
    /// lists that show counts (the agenda), never to change an item. At an
    /// MSP's shape the exceptions are most of the items' data.
    pub async fn work_items_counted(
        &self,
        filter: &ItemFilter,
    ) -> Result<Vec<(ItemRow, Vec<changedesk_core::triage::ExceptionCount>)>> {
        dispatch!(self.list_work_items_counted(filter))
    }

    /// How many of the work items `filter` matches (its `limit` and
    /// `offset` aside) have tenant exceptions: whether counting by the
    /// items' own states would tell what is in force per tenant.
    pub async fn work_items_with_exceptions(&self, filter: &ItemFilter) -> Result<i64> {
        dispatch!(self.work_items_with_exceptions(filter))
    }

    /// How many work items `filter` matches (its `limit` and `offset`
    /// aside), per state and assignee: those in force for the filter's one
    /// tenant (its `tenant`, or the only one of `visible_to`), else the
    /// items' own.
    pub async fn work_item_tally(&self, filter: &ItemFilter) -> Result<Vec<ItemTally>> {
        dispatch!(self.work_item_tally(filter))
    }

    /// Work items per state.
    pub async fn work_item_counts(&self) -> Result<Vec<(changedesk_core::triage::State, i64)>> {
        dispatch!(self.item_counts())
    }

    /// Notify intents not delivered yet.
    pub async fn pending_notifications(&self) -> Result<Vec<NotifyRow>> {
        dispatch!(self.pending_notifications())
    }

    /// Up to `limit` posts for the rules, by id after `after`: with
    /// `pending_only`, only those whose current revision the rules have not
    /// seen; otherwise every post (to simulate the rules on the archive).
    pub async fn triage_candidates(
        &self,
        pending_only: bool,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Candidate>> {
        dispatch!(self.triage_candidates(pending_only, after, None, limit))
    }

    /// As [`Store::triage_candidates`], only posts with ids up to `until`
    /// (inclusive): a range of [`Store::triage_candidate_ids`], so that
    /// several ranges can be read at once.
    pub async fn triage_candidates_until(
        &self,
        pending_only: bool,
        after: Option<&str>,
        until: &str,
        limit: i64,
    ) -> Result<Vec<Candidate>> {
        dispatch!(self.triage_candidates(pending_only, after, Some(until), limit))
    }

    /// The ids of the posts [`Store::triage_candidates`] would return, in
    /// order: one short row each.
    pub async fn triage_candidate_ids(&self, pending_only: bool) -> Result<Vec<String>> {
        dispatch!(self.triage_candidate_ids(pending_only))
    }

    /// Records that the rules saw `revision` of a post and changed nothing.
    pub async fn mark_evaluated(&self, post_id: &str, revision: i64) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.mark_evaluated(writer, post_id, revision))
    }

    /// Records the outcome of a sync: `error` is `None` when it succeeded.
    /// Never holds a secret: callers pass error messages that carry none.
    pub async fn record_sync(
        &self,
        tenant: &str,
        at: &Timestamp,
        error: Option<&str>,
    ) -> Result<()> {
        validate_tenant_name(tenant)?;
        let writer = &*self.writer;
        let failing_after = self.sync_failing_after;
        dispatch_write!(self.record_sync(writer, tenant, at, error, failing_after))
    }

    /// This store with `n` as the failed syncs in a row at which a tenant's
    /// sync "keeps failing" (`[notify] sync_failing_after`; by default
    /// `notify::SYNC_FAILING_AFTER`): the outcome that makes the count reach
    /// it records `tenant.sync_failing`, a success after at least as many
    /// `tenant.sync_recovered` ([`Store::record_sync`], a sync's batches).
    pub fn with_sync_failing_after(mut self, n: i64) -> Store {
        self.sync_failing_after = n;
        self
    }

    /// The most recent load runs, newest first.
    pub async fn runs(&self, tenant: Option<&str>, limit: i64) -> Result<Vec<RunRow>> {
        dispatch!(self.runs(tenant, limit))
    }

    /// How many of each thing the archive holds.
    pub async fn counts(&self) -> Result<Counts> {
        dispatch!(self.counts())
    }

    /// Whether the database answers (a readiness probe: one trivial query,
    /// unlike [`Store::counts`], which scans every table).
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }
}

/// Whether the SQLite writer's connection may be used again after a
/// transaction (the pool's `after_release`).
///
/// After some failures (`SQLITE_FULL`, an I/O error, a failed `COMMIT`)
/// SQLite has already rolled the transaction back itself. sqlx's `ROLLBACK`
/// then fails ("no transaction is active") and sqlx goes on counting a
/// transaction that no longer exists, so it refused every later
/// `BEGIN IMMEDIATE` ("attempted to call begin_with at non-zero transaction
/// depth") until the process restarted. Here the count is brought back to
/// zero; a connection that cannot be put right is closed, and the pool
/// opens a fresh one for the next write.
async fn writer_usable(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    use sqlx_core::transaction::TransactionManager;
    // after the rollback a dropped transaction queued
    conn.ping().await?;
    for _ in 0..4 {
        if !conn.is_in_transaction() {
            return Ok(true);
        }
        tracing::warn!(
            "the archive's writer lost its transaction (SQLite rolled it back); resetting it"
        );
        // a transaction for sqlx's rollback to end (if SQLite still has
        // one, this fails and the rollback ends that one)
        let _ = sqlx::raw_sql("BEGIN").execute(&mut *conn).await;
        sqlx::sqlite::SqliteTransactionManager::rollback(conn).await?;
    }
    Ok(!conn.is_in_transaction())
}

/// Tenant names are short and safe in URLs, file names and env var names.
pub fn validate_tenant_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid tenant name `{name}`: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

/// How to load a listing.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The listing is everything the tenant currently has: what it lacks is gone.
    pub complete: bool,
    /// The instant recorded as seen / changed.
    pub now: Timestamp,
    /// Where the listing came from (a file path, `graph`), for the run record.
    pub source: String,
    /// Items of the source that could not be parsed (for the run record).
    pub rejected: usize,
}

/// A rule as stored: its spec is the rule's JSON (`when`, `then`), which the
/// store keeps without interpreting it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRow {
    pub name: String,
    pub position: i64,
    pub enabled: bool,
    pub spec: serde_json::Value,
    /// `config` (seeded from the configuration file) or `manual`.
    pub source: String,
    pub updated_at: Timestamp,
}

/// A rule to seed from the configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRule {
    pub name: String,
    pub enabled: bool,
    pub spec: serde_json::Value,
}

/// The configuration file's owners, groups, ownership and rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageSeed {
    pub owners: Vec<changedesk_core::triage::Owner>,
    pub groups: Vec<changedesk_core::triage::TenantGroup>,
    pub ownership: Vec<changedesk_core::triage::OwnershipEntry>,
    pub rules: Vec<SeedRule>,
}

/// What seeding wrote: rows added or updated per kind, and rows removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeedSummary {
    pub owners: usize,
    pub groups: usize,
    pub ownership: usize,
    pub rules: usize,
    pub removed: usize,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

/// A work item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredItem {
    pub item: changedesk_core::triage::WorkItem,
    /// Grows with every save; pass it back to save again.
    pub version: i64,
    /// The post revision the rules last evaluated.
    pub evaluated_revision: i64,
}

/// A decision log entry with the post it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedEntry {
    pub id: i64,
    pub post_id: String,
    #[serde(flatten)]
    pub entry: changedesk_core::triage::LogEntry,
}

/// Someone to tell about a post (delivered by the notifications issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyRow {
    pub post_id: String,
    pub tenant: Option<String>,
    pub target: String,
    pub reason: String,
    pub created_at: Option<Timestamp>,
}

/// What to save of a work item.
#[derive(Debug, Clone)]
pub struct ItemSave<'a> {
    pub item: &'a changedesk_core::triage::WorkItem,
    /// `None`: create it. `Some(v)`: update it if still at version `v`.
    pub expected_version: Option<i64>,
    /// The post revision the rules evaluated, when they did.
    pub evaluated_revision: Option<i64>,
    pub entries: &'a [changedesk_core::triage::LogEntry],
    pub notify: &'a [NotifyRow],
    /// Events for the outbox, committed with the item.
    pub events: &'a [changedesk_core::notify::Event],
    pub at: Timestamp,
}

/// An event in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub event: changedesk_core::notify::Event,
    pub created_at: Timestamp,
}

/// A notification channel: where messages go (its URL and signing secret
/// sealed by `changedesk-secrets`: the store never holds them in the
/// clear) and which events it hears of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    pub name: String,
    /// `webhook`, `email`, `teams` or `slack` (`ChannelKind`).
    pub kind: String,
    /// The sealed URL (empty for e-mail).
    pub url_sealed: String,
    pub secret_sealed: Option<String>,
    pub filter: changedesk_core::notify::ChannelFilter,
    /// Recipients, batching, quiet hours, owner: no secret.
    pub settings: changedesk_core::notify::ChannelSettings,
    pub allow_private: bool,
    pub created_by: String,
    pub at: Timestamp,
}

/// A stored channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub url_sealed: String,
    pub secret_sealed: Option<String>,
    pub filter: changedesk_core::notify::ChannelFilter,
    pub settings: changedesk_core::notify::ChannelSettings,
    pub allow_private: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    /// The configuration file that declares it (`[[notify.channel]]`);
    /// `None`: added with the CLI, the API or the web UI. A declared
    /// channel changes only through that file.
    pub declared_in: Option<String>,
    /// A digest of what the file said of it when last applied (see
    /// [`Store::apply_declared_channels`]).
    pub declared_digest: Option<String>,
}

/// A delivery the dispatcher makes: an event's message for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub channel_id: i64,
    /// Stable across attempts (`webhook-id`).
    pub message_id: String,
    /// The rendered message, sent as is on every attempt; for a batching
    /// channel, the event's part of the message to compose.
    pub body: String,
    /// A batching channel's delivery waits (`batched`) until this time,
    /// then joins the channel's next message; `None`: due now.
    pub ready_at: Option<Timestamp>,
}

/// An incident whose revision or resolution changed since the outbox last
/// told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentChange {
    pub incident: changedesk_core::notify::IncidentRef,
    pub revision: i64,
    /// `None`: never told (new to the archive).
    pub notified_revision: Option<i64>,
    pub notified_resolved: Option<bool>,
    /// The tenants that see it now.
    pub tenants: Vec<String>,
    /// A tenant saw it after its first load of incidents (else it is the
    /// baseline, which tells nobody).
    pub fresh: bool,
}

/// What an unsubscribe link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    /// The channel's name.
    pub channel: String,
    /// `false`: the address was not on it any more.
    pub changed: bool,
}

/// A batched delivery waiting for its channel's next message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchedDelivery {
    pub id: i64,
    pub message_id: String,
    /// The event's part (the channel's payload of it).
    pub body: String,
    pub ready_at: Timestamp,
}

/// A delivery a worker claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub channel_id: i64,
    pub message_id: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Claims taken over after a lease ran out (a crash mid-send).
    pub resends: i64,
    /// This claim took over one whose lease ran out: the message may have
    /// been sent already (at least once).
    pub taken_over: bool,
}

/// What sending a claimed delivery gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        status: u16,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        next_attempt_at: Timestamp,
        status: Option<u16>,
        error: String,
    },
    /// Given up (a permanent failure, or too many attempts): a person may
    /// retry it.
    Dead {
        status: Option<u16>,
        error: String,
    },
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub failed_only: bool,
    pub post_id: Option<String>,
    pub channel: Option<String>,
    pub limit: Option<i64>,
}

/// A delivery in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: i64,
    pub kind: String,
    pub post_id: Option<String>,
    pub channel: String,
    pub message_id: String,
    /// `pending`, `sending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub resends: i64,
    pub next_attempt_at: Timestamp,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The message that carried this delivery's event with others (a
    /// batch); its state, attempts and times are that message's.
    pub carried_by: Option<String>,
}

/// Which work items to list.
///
/// `states`, `assignee`, `due_before` and `deadlines` are what is in force
/// per tenant (a tenant's exception, else the item's own; not applicable
/// stands as `dismissed`): for `tenant` when given, else for some tenant of
/// `visible_to` (or any tenant) that sees the post.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub states: Vec<changedesk_core::triage::State>,
    pub assignee: Option<String>,
    /// Only posts this tenant sees (or saw).
    pub tenant: Option<String>,
    /// Changed since triage (core's `changed_since_triage`: open, with
    /// changes flagged), or not.
    pub changed: Option<bool>,
    /// Due before this instant.
    pub due_before: Option<Timestamp>,
    /// Only posts of the baseline (or only posts after it): those first
    /// seen by the first load of the tenant that saw them first, that is,
    /// in Message Center before changedesk synced that tenant.
    pub baseline: Option<bool>,
    /// Only items whose post one of these tenants sees now (`None`: any
    /// item, whoever sees its post; an empty list: none). The rows'
    /// `tenants` then name only these: a caller limited to some tenants
    /// learns nothing of the others.
    pub visible_to: Option<Vec<String>>,
    /// Only items late in one of these ways (open, and overdue or missed
    /// at the filter's instant, with the meaning of core's
    /// `deadline_status`); empty: any item.
    pub deadlines: Vec<DeadlineFilter>,
    pub limit: Option<i64>,
    /// Skip this many items of the order first (with `limit`, a page).
    pub offset: Option<i64>,
    /// The rows' `tenants` name only the tenants with an exception of their
    /// own (what is in force for the others is the item's), besides
    /// `tenant_count`; a post seen by at most [`FEW_NAMED`] tenants has
    /// them all named (a row names so few). The tenants left unnamed
    /// ([`ItemRow::unnamed`]) have no exception. Naming a thousand tenants
    /// for each of thousands of items costs seconds.
    pub names_for_exceptions_only: bool,
    /// Only the items of these posts.
    pub post_ids: Option<Vec<String>>,
}

/// At most this many tenants, an item of a list asked with
/// `ItemFilter::names_for_exceptions_only` is named all the same.
pub const FEW_NAMED: i64 = 5;

/// How many work items a filter matches with one state and assignee
/// ([`Store::work_item_tally`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemTally {
    pub state: changedesk_core::triage::State,
    /// `None`: assigned to nobody.
    pub assignee: Option<String>,
    pub count: i64,
}

/// A work item with what lists show of its post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRow {
    #[serde(flatten)]
    pub stored: StoredItem,
    pub title: String,
    pub services: Vec<String>,
    pub category: String,
    pub severity: String,
    pub is_major: bool,
    pub act_by: Option<Timestamp>,
    /// The rollout start: the body's timeline's earliest start, else Graph's
    /// `startDateTime` (what the deadlines read).
    pub start: Option<Timestamp>,
    pub first_seen: Timestamp,
    /// The tenants that currently see the post (of the filter's
    /// `visible_to`), sorted as the store names them; when the filter asks
    /// for names for exceptions only, just those of them with an exception
    /// (see [`ItemRow::unnamed`]).
    pub tenants: Vec<String>,
    /// How many tenants currently see the post (of `visible_to`).
    pub tenant_count: i64,
}

impl ItemRow {
    /// How many tenants see the post without being named in `tenants`:
    /// none of them has an exception, so the item itself is in force for
    /// each (`ItemFilter::names_for_exceptions_only`).
    pub fn unnamed(&self) -> usize {
        usize::try_from(self.tenant_count)
            .unwrap_or(0)
            .saturating_sub(self.tenants.len())
    }

    /// Whether every tenant seeing the post is named in `tenants`.
    pub fn all_named(&self) -> bool {
        self.unnamed() == 0
    }

    /// The post's dates its deadlines come from.
    pub fn dates(&self) -> changedesk_core::triage::PostDates {
        changedesk_core::triage::PostDates {
            act_by: self.act_by,
            start: self.start,
            first_seen: self.first_seen,
        }
    }
}

/// A post the rules have not evaluated in its current revision.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub content: MessageContent,
    pub revision: i64,
    pub first_seen: Timestamp,
    /// The post came with a tenant's first load (see `posts.baseline`).
    pub baseline: bool,
    pub body_text: String,
    pub links: Vec<CandidateLink>,
    pub stored: Option<StoredItem>,
    /// Fields changed in the revisions since the rules last looked.
    pub changed_fields: Vec<String>,
    /// The dates those revisions moved, for people (each a
    /// [`changedesk_core::diff::FieldChange::readable`] of a date field).
    pub date_moves: Vec<String>,
}

/// A tenant that sees (or saw) a candidate post.
#[derive(Debug, Clone)]
pub struct CandidateLink {
    pub tenant: String,
    /// Shared by the links with the same details.
    pub details: std::sync::Arc<Vec<Detail>>,
    pub first_seen: Timestamp,
    pub visible: bool,
}

/// One tenant's listings of a sync, to load in one transaction.
#[derive(Debug, Clone)]
pub struct TenantBatch<'a> {
    pub messages: Option<(&'a [Message], ImportOptions)>,
    pub issues: Option<(&'a [Incident], ImportOptions)>,
    pub health: Option<(&'a [HealthOverview], ImportOptions)>,
    /// When the sync ran.
    pub at: Timestamp,
    /// Record the sync's outcome as well: `Some(None)` for success,
    /// `Some(Some(error))` for a failure (a message that holds no secret).
    pub record: Option<Option<String>>,
    /// The digests of `messages` ([`Store::message_digests`]), when worked
    /// out beforehand; else the load works them out while it holds the
    /// write lock.
    pub digests: Option<&'a MessageDigests>,
    /// The digests of `issues` ([`Store::incident_digests`]), likewise.
    pub issue_digests: Option<&'a IncidentDigests>,
}

/// The digests of a listing of posts, in its order ([`Store::message_digests`]).
#[derive(Debug, Clone, Default)]
pub struct MessageDigests {
    content: Vec<String>,
    details: Vec<String>,
}

/// The digests of a listing of incidents, in its order
/// ([`Store::incident_digests`]).
#[derive(Debug, Clone, Default)]
pub struct IncidentDigests {
    version: Vec<String>,
    details: Vec<String>,
}

/// A batch's listings and recorded error as the archive stores them: NUL
/// replaced ([`text`]); borrowed when there was none.
struct CleanBatch<'a> {
    messages: Option<std::borrow::Cow<'a, [Message]>>,
    issues: Option<std::borrow::Cow<'a, [Incident]>>,
    health: Option<std::borrow::Cow<'a, [HealthOverview]>>,
    record: Option<Option<String>>,
    sources: [Option<String>; 3],
}

impl<'a> CleanBatch<'a> {
    fn new(b: &TenantBatch<'a>) -> CleanBatch<'a> {
        let source = |o: &ImportOptions| text::without_nul(&o.source).into_owned();
        CleanBatch {
            messages: b.messages.as_ref().map(|(m, _)| text::cleaned(m)),
            issues: b.issues.as_ref().map(|(i, _)| text::cleaned(i)),
            health: b.health.as_ref().map(|(h, _)| text::cleaned(h)),
            record: b
                .record
                .as_ref()
                .map(|r| r.as_deref().map(|e| text::without_nul(e).into_owned())),
            sources: [
                b.messages.as_ref().map(|(_, o)| source(o)),
                b.issues.as_ref().map(|(_, o)| source(o)),
                b.health.as_ref().map(|(_, o)| source(o)),
            ],
        }
    }

    /// `b` (the batch this was made from) with the cleaned parts.
    fn batch<'s>(&'s self, b: &TenantBatch<'s>) -> TenantBatch<'s> {
        let with = |o: &ImportOptions, source: &Option<String>| ImportOptions {
            source: source.clone().unwrap_or_default(),
            ..o.clone()
        };
        TenantBatch {
            messages: b
                .messages
                .as_ref()
                .zip(self.messages.as_deref())
                .map(|((_, o), m)| (m, with(o, &self.sources[0]))),
            issues: b
                .issues
                .as_ref()
                .zip(self.issues.as_deref())
                .map(|((_, o), i)| (i, with(o, &self.sources[1]))),
            health: b
                .health
                .as_ref()
                .zip(self.health.as_deref())
                .map(|((_, o), h)| (h, with(o, &self.sources[2]))),
            at: b.at,
            record: self.record.clone(),
            digests: b.digests,
            issue_digests: b.issue_digests,
        }
    }
}

/// A batch's digests, brought along or worked out before the write lock.
struct BatchDigests<'b> {
    messages: std::borrow::Cow<'b, MessageDigests>,
    issues: std::borrow::Cow<'b, IncidentDigests>,
}

/// What a [`TenantBatch`] changed, per kind loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub messages: Option<ImportSummary>,
    pub issues: Option<ImportSummary>,
    pub health: Option<ImportSummary>,
}

impl BatchSummary {
    /// Whether the load changed what the archive's reads of posts,
    /// incidents, links or health return (see [`ImportSummary::changed`]).
    pub fn changed(&self) -> bool {
        [&self.messages, &self.issues, &self.health]
            .into_iter()
            .flatten()
            .any(ImportSummary::changed)
    }
}

/// What one load changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub tenant: String,
    pub kind: String,
    pub complete: bool,
    /// Items in the listing (after dropping duplicates).
    pub items: usize,
    /// Items the archive had never seen.
    pub new: usize,
    /// Items whose shared content got a new revision.
    pub updated: usize,
    /// Items seen with an older version than the archive holds.
    pub stale: usize,
    /// Tenant links created (first time this tenant saw an item).
    pub linked: usize,
    /// Links that were gone and are visible again.
    pub reappeared: usize,
    /// Links marked gone by this (complete) listing.
    pub gone: usize,
    /// Links whose tenant's own details or version changed (without a new
    /// revision of the shared content).
    pub details: usize,
    /// Items now gone from every tenant.
    pub expired: usize,
    /// Source items that could not be parsed.
    pub rejected: usize,
    /// Duplicate ids within the listing that were dropped.
    pub duplicates: usize,
    /// Items a bug could not handle (also counted in `rejected`): left as
    /// they were, the rest of the listing stored, reported with the id.
    pub failed: Vec<FailedItem>,
}

impl ImportSummary {
    /// Whether the load changed an item, a revision, a link (new, gone,
    /// back, its tenant's details) or an expiry: what reads of the archive
    /// return, beyond the tenant's sync times, watermarks and run log.
    pub fn changed(&self) -> bool {
        self.new
            + self.updated
            + self.linked
            + self.reappeared
            + self.gone
            + self.expired
            + self.details
            > 0
    }
}

/// An item of a listing that could not be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedItem {
    pub id: String,
    pub error: String,
}

/// `active` while some tenant still returns the post, `expired` when none does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PostState {
    Active,
    Expired,
}

impl PostState {
    pub fn as_str(&self) -> &'static str {
        match self {
            PostState::Active => "active",
            PostState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<PostState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Some(PostState::Active),
            "expired" => Some(PostState::Expired),
            _ => None,
        }
    }
}

/// Which posts to list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only posts this tenant has seen; `state` then means visible / gone for it.
    pub tenant: Option<String>,
    /// Any of these services (case-insensitive).
    pub services: Vec<String>,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub major: Option<bool>,
    /// Act-by date on or after.
    pub act_by_from: Option<Timestamp>,
    /// Act-by date on or before.
    pub act_by_to: Option<Timestamp>,
    pub state: Option<PostState>,
    /// Words that must all appear in the title or body (case-insensitive).
    pub text: Option<String>,
    pub limit: Option<i64>,
}

/// A post in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostSummary {
    pub id: String,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub is_major: bool,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub act_by: Option<Timestamp>,
    pub last_modified: Option<Timestamp>,
    /// The rollout start read from the body's timeline (its earliest
    /// phase's first day), when it names one.
    pub rollout_start: Option<Timestamp>,
    /// Its newest revision moved one of its dates: Graph's start, end or
    /// act-by, or the rollout timeline read from its body.
    pub date_moved: bool,
    /// Its introduction and what to do, read from its body (empty until
    /// read; see `changedesk_core::preview`).
    pub preview: changedesk_core::preview::Preview,
    pub revision: i64,
    pub state: PostState,
    /// Tenants that return it now.
    pub tenants_visible: i64,
    /// Tenants that ever returned it.
    pub tenants_seen: i64,
    pub first_seen: Timestamp,
}

/// One tenant's link to a post or incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantLink {
    pub name: String,
    pub visible: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub gone_at: Option<Timestamp>,
    /// The `lastModifiedDateTime` of the version this tenant last returned.
    pub seen_last_modified: Option<Timestamp>,
    pub details: Vec<Detail>,
}

/// One revision in a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionInfo {
    pub revision: i64,
    pub last_modified: Option<Timestamp>,
    pub recorded_at: Timestamp,
    /// The tenant whose listing brought this version.
    pub tenant: Option<String>,
    pub changes: Vec<FieldChange>,
    /// The rollout timeline read from this version's body (`None` for an
    /// incident, or a revision not read yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<changedesk_core::timeline::Timeline>,
}

/// A post with everything the archive knows of it.
#[derive(Debug, Clone, Serialize)]
pub struct PostDetail {
    pub summary: PostSummary,
    pub content: MessageContent,
    /// The rollout timeline read from the current version's body.
    pub timeline: changedesk_core::timeline::Timeline,
    pub body_text: String,
    pub tenants: Vec<TenantLink>,
    pub revisions: Vec<RevisionInfo>,
}

/// The full content of one stored revision.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionContent {
    pub info: RevisionInfo,
    pub content: MessageContent,
}

/// A post as `changedesk export messages` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedPost {
    pub summary: PostSummary,
    pub content: MessageContent,
    pub tenants: Vec<TenantLink>,
    pub revisions: Vec<RevisionInfo>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub tenant: Option<String>,
    pub service: Option<String>,
    /// `Some(false)`: open only; `Some(true)`: resolved only.
    pub resolved: Option<bool>,
    pub state: Option<PostState>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSummary {
    pub id: String,
    pub title: String,
    pub service: String,
    pub feature: String,
    pub classification: String,
    pub status: String,
    pub is_resolved: bool,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub last_modified: Option<Timestamp>,
    pub revision: i64,
    pub state: PostState,
    pub tenants_visible: i64,
    pub tenants_seen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub status: String,
    pub is_resolved: bool,
    pub observed_at: Timestamp,
    pub last_modified: Option<Timestamp>,
    pub tenant: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    pub summary: IncidentSummary,
    pub content: IncidentContent,
    pub posts: Vec<IncidentPost>,
    pub tenants: Vec<TenantLink>,
    pub revisions: Vec<RevisionInfo>,
    pub status_history: Vec<StatusChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthRow {
    pub tenant: String,
    pub service_id: String,
    pub service: String,
    pub status: String,
    pub since: Timestamp,
    pub last_seen: Timestamp,
}

/// What [`Store::health_summary`] counts.
#[derive(Debug, Clone)]
pub struct HealthFilter<'a> {
    /// The tenants counted.
    pub scope: &'a TenantScope,
    /// One tenant only.
    pub tenant: Option<&'a str>,
    /// One service only (ignoring case).
    pub service: Option<&'a str>,
    /// Statuses whose tenants are counted, not named (ignoring case).
    pub unnamed: &'a [&'a str],
    /// Tenants named per status at most.
    pub named: i64,
}

/// A service's status across tenants ([`Store::health_summary`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthStatusCount {
    /// The service in lower case (its key).
    pub key: String,
    /// The service as some tenant's overview spells it.
    pub service: String,
    pub status: String,
    /// The tenants with this status.
    pub count: i64,
    /// The earliest `since` among them.
    pub since: Timestamp,
    /// The first of them by name (none for an unnamed status).
    pub tenants: Vec<String>,
}

/// A tenant's sync marks: where its listings stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TenantMarks {
    pub messages_complete_at: Option<Timestamp>,
    pub issues_complete_at: Option<Timestamp>,
    pub messages_watermark: Option<Timestamp>,
    pub issues_watermark: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantRow {
    pub name: String,
    pub created_at: Timestamp,
    pub messages_complete_at: Option<Timestamp>,
    pub issues_complete_at: Option<Timestamp>,
    /// The newest post `lastModifiedDateTime` this tenant returned.
    pub messages_watermark: Option<Timestamp>,
    /// The newest issue `lastModifiedDateTime` this tenant returned.
    pub issues_watermark: Option<Timestamp>,
    pub last_sync_at: Option<Timestamp>,
    /// Why the last sync failed; `None` when it succeeded.
    pub last_sync_error: Option<String>,
    /// When the last sync that succeeded ended.
    pub last_ok_sync_at: Option<Timestamp>,
    /// Syncs failed in a row (0 after a success).
    pub sync_failures: i64,
    pub posts_visible: i64,
    pub posts_seen: i64,
    pub incidents_visible: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub tenant: String,
    pub kind: String,
    pub source: String,
    pub complete: bool,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub items: i64,
    pub new: i64,
    pub updated: i64,
    pub gone: i64,
    pub rejected: i64,
}

/// How many of each thing the archive holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub tenants: i64,
    pub posts: i64,
    pub post_links: i64,
    pub post_revisions: i64,
    pub gone_links: i64,
    pub expired_posts: i64,
    pub incidents: i64,
    pub incident_links: i64,
    pub incident_revisions: i64,
    pub incident_posts: i64,
    pub incident_status_changes: i64,
    pub health_services: i64,
    pub health_changes: i64,
    pub runs: i64,
}

mod sqlite {
    use super::{Writer, WriterGuard};
    type Db = sqlx::Sqlite;
    /// One writer at a time: the outbox's bookkeeping takes the writer's turn.
    const OUTBOX_SHARES_THE_WRITER: bool = true;
    /// SQLite has no row locks: the single writer serialises claims.
    const SKIP_LOCKED: &str = "";
    /// Case-insensitive LIKE: SQLite's LIKE already is, for ASCII.
    const ILIKE: &str = "LIKE";
    const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    /// `BEGIN IMMEDIATE` is the lock.
    const WRITE_LOCK: &str = "";
    /// WAL with `synchronous = NORMAL` already commits without waiting for
    /// the disk.
    const ASYNC_COMMIT: &str = "";
    /// The archive must be able to grow by a megabyte (as a sync needs to;
    /// a page or two may be free in the file while it is full), rolled
    /// back, so nothing stays.
    const WRITE_CHECK: &[&str] = &[
        "SAVEPOINT write_check",
        "CREATE TABLE write_check (x)",
        "INSERT INTO write_check VALUES (zeroblob(1048576))",
        "ROLLBACK TO write_check",
        "RELEASE write_check",
    ];
    include!("ops.rs");
    include!("bulk_sqlite.rs");
    include!("admin_ops.rs");
    include!("item_ops.rs");
    include!("notify_ops.rs");
    include!("declared_ops.rs");
    include!("auth_ops.rs");
    include!("oidc_ops.rs");
    include!("query_ops.rs");
    include!("view_ops.rs");
    include!("user_settings_ops.rs");
    include!("feed_ops.rs");
    include!("directory_ops.rs");
    include!("ticket_ops.rs");
    include!("export_ops.rs");
    include!("analytics_ops.rs");
    include!("reviews_ops.rs");
    include!("comms_ops.rs");
    include!("pilot_ops.rs");
    include!("roadmap_ops.rs");
}

mod postgres {
    use super::{Writer, WriterGuard};
    type Db = sqlx::Postgres;
    /// The outbox's bookkeeping takes neither the writer's turn nor the
    /// archive's advisory lock: a sync never stalls deliveries.
    const OUTBOX_SHARES_THE_WRITER: bool = false;
    /// Workers (replicas) never claim the same delivery.
    const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
    const ILIKE: &str = "ILIKE";
    const BEGIN_WRITE: &str = "BEGIN";
    /// The archive's write lock: an advisory lock held until commit or rollback.
    const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(7210453)";
    /// A sync's transaction does not wait for its WAL flush: after a crash
    /// the last few hundred milliseconds of syncs may be lost (never torn),
    /// and the next sync fetches them again, since each tenant's watermark
    /// moves in the same transaction as its data. Everything a person
    /// writes keeps the default, durable commit.
    const ASYNC_COMMIT: &str = "SET LOCAL synchronous_commit TO OFF";
    /// The commit writes WAL, which a full disk refuses.
    const WRITE_CHECK: &[&str] = &[];
    include!("ops.rs");
    include!("bulk_postgres.rs");
    include!("admin_ops.rs");
    include!("item_ops.rs");
    include!("notify_ops.rs");
    include!("declared_ops.rs");
    include!("auth_ops.rs");
    include!("oidc_ops.rs");
    include!("query_ops.rs");
    include!("view_ops.rs");
    include!("user_settings_ops.rs");
    include!("feed_ops.rs");
    include!("directory_ops.rs");
    include!("ticket_ops.rs");
    include!("export_ops.rs");
    include!("analytics_ops.rs");
    include!("reviews_ops.rs");
    include!("comms_ops.rs");
    include!("pilot_ops.rs");
    include!("roadmap_ops.rs");
}

/// Brings a SQLite archive's schema up to date. sqlx takes no lock for
/// SQLite (it does for PostgreSQL), so two processes opening a new file at
/// once may both start a migration: the second then fails ("table …
/// already exists", or busy) once the first commits. Each migration is one
/// transaction, so nothing is half applied: the loser reads what is applied
/// and goes on, for up to a minute.
async fn migrate_sqlite(write: &sqlx::SqlitePool) -> Result<()> {
    let migrator = sqlx::migrate!("./migrations/sqlite");
    let started = std::time::Instant::now();
    let mut tries: u64 = 0;
    loop {
        match migrator.run(write).await {
            Ok(()) => return Ok(()),
            Err(
                sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(e))
                | sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(e), _),
            ) if started.elapsed() < Duration::from_secs(60) => {
                tries += 1;
                tracing::debug!(error = %e, tries, "another process is migrating the archive; trying again");
                // 20–120 ms, varied by process so two do not collide again
                let jitter = (u64::from(std::process::id()) * 31 + tries * 17) % 100;
                tokio::time::sleep(Duration::from_millis(20 + jitter)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod error_tests {
    use super::StoreError;

    #[test]
    fn a_pool_that_stays_busy_is_told_apart() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Busy
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
    }
}
