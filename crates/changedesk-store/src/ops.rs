// The store's operations, written once and compiled for each backend: this
// file is `include!`d into `mod sqlite` and `mod postgres` in lib.rs, where
// `Db` names the sqlx database and `ILIKE` its case-insensitive LIKE.
// Everything here must mean the same on both databases; the conformance
// suite checks that it does.

use std::collections::{HashMap, HashSet};

use changedesk_core::diff::{self as cdiff, FieldChange};
use changedesk_core::graph::{Detail, HealthOverview, Incident, IncidentPost, Message};
use changedesk_core::{IncidentContent, MessageContent, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{AssertSqlSafe, Pool, QueryBuilder, Row, Transaction};

use super::failpoint;
use super::{
    BatchSummary, Counts, ExportedPost, FailedItem, HealthFilter, HealthRow, HealthStatusCount, ImportOptions, ImportSummary, IncidentDetail, IncidentFilter,
    IncidentSummary, MessageDigests, IncidentDigests, BatchDigests, MessageFilter, PostDetail, PostState, PostSummary, Result, RevisionContent,
    RevisionInfo, RunRow, StatusChange, StoreError, TenantBatch, TenantLink, TenantRow,
};

type Tx = Transaction<'static, Db>;
type DbRow = <Db as sqlx::Database>::Row;

fn ts_opt(t: &Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

fn read_ts(s: String) -> Result<Timestamp> {
    Timestamp::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn read_ts_opt(s: Option<String>) -> Result<Option<Timestamp>> {
    s.map(read_ts).transpose()
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Table and column names are compile-time constants of this file, never input.
fn sql(s: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(s)
}

/// Starts a transaction that will write, holding the archive's one write
/// lock until it ends: on SQLite `BEGIN IMMEDIATE` (waiting its turn within
/// the busy timeout instead of failing when another writer commits between
/// its first read and first write), on PostgreSQL a transaction-scoped
/// advisory lock. Loads are read-then-write (is this post new? which version
/// is held?), so two running at once could both insert the same new post or
/// revision; one writer at a time, across processes, rules that out.
///
/// Within one process, writers first queue on the store's `writer` mutex, so
/// they wait without holding a connection or polling SQLite's busy handler;
/// the guard is held until the transaction ends.
async fn begin_write<'w>(
    pool: &Pool<Db>,
    writer: &'w Writer,
    what: &'static str,
) -> Result<(WriterGuard<'w>, Tx)> {
    begin(pool, writer, what, true).await
}

/// As [`begin_write`], for a transaction that changes nothing the archive's
/// reads of posts, incidents, work items, tenants or groups return
/// (sessions, a token's last use, sign-in times, tokens, audit entries):
/// it is not counted in [`Store::local_writes`] nor `archive_changes`, so
/// it leaves the server's answer cache alone (these happen on every
/// request of a new session or token).
async fn begin_bookkeeping<'w>(
    pool: &Pool<Db>,
    writer: &'w Writer,
    what: &'static str,
) -> Result<(WriterGuard<'w>, Tx)> {
    begin(pool, writer, what, false).await
}

async fn begin<'w>(
    pool: &Pool<Db>,
    writer: &'w Writer,
    what: &'static str,
    counted: bool,
) -> Result<(WriterGuard<'w>, Tx)> {
    let guard = WriterGuard {
        state: writer.turn.lock().await,
        ended: counted.then_some(&writer.ended),
        what,
        since: std::time::Instant::now(),
    };
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    if !WRITE_LOCK.is_empty() {
        sqlx::query(WRITE_LOCK).execute(&mut *tx).await?;
    }
    if counted {
        sqlx::query("UPDATE archive_changes SET n = n + 1 WHERE id = 1").execute(&mut *tx).await?;
    }
    Ok((guard, tx))
}

/// A sync's write transaction: the write lock, and on PostgreSQL a commit
/// that does not wait for the disk (a lost load is fetched again).
///
/// It is not counted as a write until [`count_write`] says so: only a load
/// that changes what the server's kept answers show (posts, their links,
/// tenant names) is. One that brings no new post, revision, link, gone or
/// expired post or tenant detail (most tenants on most rounds) moves only
/// the tenant's sync times, watermarks, sightings and run log, and its
/// incidents and health, which no kept answer shows (their pages read them
/// afresh): it must not throw away every answer the server keeps.
async fn begin_load<'w>(pool: &Pool<Db>, writer: &'w Writer, what: &'static str) -> Result<(WriterGuard<'w>, Tx)> {
    let (w, mut tx) = begin(pool, writer, what, false).await?;
    if !ASYNC_COMMIT.is_empty() {
        sqlx::query(ASYNC_COMMIT).execute(&mut *tx).await?;
    }
    Ok((w, tx))
}

/// Counts a transaction begun uncounted ([`begin_load`]) as a write after
/// all: in [`Store::local_writes`] when it ends, and in `archive_changes`
/// with its commit.
async fn count_write<'w>(w: &mut WriterGuard<'w>, writer: &'w Writer, tx: &mut Tx) -> Result<()> {
    if w.ended.is_none() {
        sqlx::query("UPDATE archive_changes SET n = n + 1 WHERE id = 1").execute(&mut **tx).await?;
        w.ended = Some(&writer.ended);
    }
    Ok(())
}

async fn ensure_tenant(tx: &mut Tx, name: &str, now: &str) -> Result<i64> {
    Ok(ensure_tenant_created(tx, name, now).await?.0)
}

/// The tenant's id, and whether it was created now.
async fn ensure_tenant_created(tx: &mut Tx, name: &str, now: &str) -> Result<(i64, bool)> {
    if let Some(row) = sqlx::query("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok((row.try_get("id")?, false));
    }
    let row = sqlx::query("INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    Ok((row.try_get("id")?, true))
}

async fn tenant_id(pool: &Pool<Db>, name: &str) -> Result<i64> {
    let row = sqlx::query("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(r) => Ok(r.try_get("id")?),
        None => Err(StoreError::NotFound(format!("tenant `{name}`"))),
    }
}

use super::{Held, Remember, WriterState};

/// What to do with an incoming version of an item the archive holds.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// A newer version: becomes a revision.
    Newer,
    /// The same version.
    Same,
    /// An older version (a lagging tenant): adds nothing.
    Stale,
    /// Same `lastModifiedDateTime`, different content: a revision unless that
    /// content was already seen (so two tenants can't flip it back and forth).
    SameTimeOtherContent,
}

fn judge(held: &Held, last_modified: &Option<Timestamp>, digest: &str) -> Verdict {
    match last_modified.cmp(&held.last_modified) {
        std::cmp::Ordering::Greater => Verdict::Newer,
        std::cmp::Ordering::Less => Verdict::Stale,
        std::cmp::Ordering::Equal if held.digest == digest => Verdict::Same,
        std::cmp::Ordering::Equal => Verdict::SameTimeOtherContent,
    }
}

async fn held_versions(tx: &mut Tx, table: &str, ids: &[&str]) -> Result<HashMap<String, Held>> {
    let rows = sqlx::query(sql(format!(
        "SELECT id, last_modified, digest, revision FROM {table} WHERE id {}",
        any_of(1)
    )))
    .bind(id_list(ids))
    .fetch_all(&mut **tx)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(
            row.try_get("id")?,
            Held {
                last_modified: read_ts_opt(row.try_get("last_modified")?)?,
                digest: row.try_get("digest")?,
                revision: row.try_get("revision")?,
            },
        );
    }
    Ok(out)
}

async fn seen_digest_before(
    tx: &mut Tx,
    revisions_table: &str,
    key: &str,
    id: &str,
    digest: &str,
) -> Result<bool> {
    let row = sqlx::query(sql(format!(
        "SELECT COUNT(*) AS n FROM {revisions_table} WHERE {key} = $1 AND digest = $2"
    )))
    .bind(id)
    .bind(digest)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// A tenant-link table: `post_tenants` or `incident_tenants`.
struct Links {
    table: &'static str,
    key: &'static str,
    /// The linked table.
    parent: &'static str,
    /// Its rows' counts of links, seen and visible (migration 0022,
    /// [`count_links`]), keyed by `key`.
    counts: &'static str,
}

const POST_LINKS: Links = Links {
    table: "post_tenants",
    key: "post_id",
    parent: "posts",
    counts: "post_link_counts",
};

const INCIDENT_LINKS: Links = Links {
    table: "incident_tenants",
    key: "incident_id",
    parent: "incidents",
    counts: "incident_link_counts",
};

/// Moves the link counts of the linked rows `ids` (migration 0022) by
/// `seen` and `visible`: every write that creates a link, marks it gone or
/// sees it again calls this in its transaction, so the counts are the
/// links' (the store conformance suite recounts them). A row's first link
/// creates its counts ([`link_new`]).
async fn count_links(tx: &mut Tx, l: &Links, ids: &[&str], seen: i64, visible: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("UPDATE {} SET seen = seen + ", l.counts));
    qb.push_bind(seen);
    qb.push(", visible = visible + ");
    qb.push_bind(visible);
    qb.push(format!(" WHERE {} {}", l.key, TEXT_IDS_IN[0]));
    qb.push_bind(id_list(ids));
    qb.push(TEXT_IDS_IN[1]);
    qb.build().execute(&mut **tx).await?;
    Ok(())
}

/// Writes a load's new links, and counts them.
async fn link_new(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    insert_links(tx, l, load, links).await?;
    let ids: Vec<&str> = links.iter().map(|k| k.id.as_str()).collect();
    for chunk in ids.chunks(5_000) {
        // the counts of rows linked for the first time
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "INSERT INTO {counts} ({key}, seen, visible) SELECT r.id, 0, 0 FROM {parent} r WHERE r.id {}",
            TEXT_IDS_IN[0],
            counts = l.counts,
            key = l.key,
            parent = l.parent
        ));
        qb.push_bind(id_list(chunk));
        qb.push(format!(
            "{} AND NOT EXISTS (SELECT 1 FROM {counts} c WHERE c.{key} = r.id)",
            TEXT_IDS_IN[1],
            counts = l.counts,
            key = l.key
        ));
        qb.build().execute(&mut **tx).await?;
        count_links(tx, l, chunk, 1, 1).await?;
    }
    Ok(())
}

struct LinkState {
    details_digest: String,
    seen_last_modified: Option<String>,
    visible: bool,
}

/// One tenant's view of one item in a listing.
struct Sighting<'a> {
    id: &'a str,
    details: &'a [Detail],
    details_digest: String,
    last_modified: Option<String>,
}

/// What a write transaction learns that the writer may remember once it has
/// committed (see `WriterState`): tenant details to store, and the versions
/// of the posts it read or wrote.
struct Learned<'s> {
    known: &'s WriterState,
    /// Details not known to be stored, by digest: written at the end.
    details: HashMap<String, String>,
    posts: HashMap<String, Held>,
    /// The write generation this transaction moved the archive to, and
    /// whether the writer's memory of posts was current before it.
    generation: Option<(i64, bool)>,
}

impl<'s> Learned<'s> {
    fn new(known: &'s WriterState) -> Self {
        Learned { known, details: HashMap::new(), posts: HashMap::new(), generation: None }
    }

    fn note_details(&mut self, s: &Sighting<'_>) {
        if !self.known.details_known.contains(&s.details_digest) && !self.details.contains_key(&s.details_digest) {
            self.details.insert(s.details_digest.clone(), to_json(s.details));
        }
    }

    /// The archive's versions of these posts: from the writer's memory when
    /// no other writer (another process) has written posts since this one
    /// last did, else from the database.
    async fn held_posts(&mut self, tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Held>> {
        let row = sqlx::query("UPDATE write_generation SET n = n + 1 WHERE id = 1 RETURNING n")
            .fetch_one(&mut **tx)
            .await?;
        let n: i64 = row.try_get("n")?;
        let current = self.known.generation == Some(n - 1);
        self.generation = Some((n, current));
        let mut out = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.known.posts.get(*id).filter(|_| current) {
                Some(h) => {
                    out.insert(id.to_string(), h.clone());
                }
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let read = held_versions(tx, "posts", &missing).await?;
            self.posts.extend(read.iter().map(|(k, v)| (k.clone(), v.clone())));
            out.extend(read);
        }
        Ok(out)
    }

    /// Records the version of a post this transaction wrote.
    fn wrote_post(&mut self, id: &str, held: Held) {
        self.posts.insert(id.to_string(), held);
    }

    /// Writes the fresh details; returns what to remember once committed.
    async fn finish(self, tx: &mut Tx) -> Result<Remember> {
        let rows: Vec<(String, String)> = self.details.into_iter().collect();
        insert_details(tx, &rows).await?;
        Ok(Remember {
            details: rows.into_iter().map(|(d, _)| d).collect(),
            posts: self.posts,
            generation: self.generation,
        })
    }
}

async fn load_links(tx: &mut Tx, l: &Links, tenant_id: i64) -> Result<HashMap<String, LinkState>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {key} AS item, details_digest, seen_last_modified, visible FROM {table} WHERE tenant_id = $1",
        key = l.key,
        table = l.table
    )))
    .bind(tenant_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(
            row.try_get("item")?,
            LinkState {
                details_digest: row.try_get("details_digest")?,
                seen_last_modified: row.try_get("seen_last_modified")?,
                visible: row.try_get("visible")?,
            },
        );
    }
    Ok(out)
}

/// Records that the tenant returned this item now.
/// The load in progress: whose listing, when, and whether it is complete.
struct Load<'a> {
    tenant_id: i64,
    now: &'a str,
    complete: bool,
}

#[allow(clippy::too_many_arguments)]
async fn record_sighting(
    tx: &mut Tx,
    l: &Links,
    load: &Load<'_>,
    held: Option<&LinkState>,
    s: &Sighting<'_>,
    new_links: &mut Vec<NewLink>,
    learned: &mut Learned<'_>,
    summary: &mut ImportSummary,
) -> Result<()> {
    let Load {
        tenant_id,
        now,
        complete,
    } = *load;
    match held {
        None => {
            learned.note_details(s);
            new_links.push(NewLink {
                id: s.id.to_string(),
                details_digest: s.details_digest.clone(),
                last_modified: s.last_modified.clone(),
            });
            summary.linked += 1;
        }
        Some(h) => {
            if !h.visible {
                summary.reappeared += 1;
            }
            if !h.visible
                || h.details_digest != s.details_digest
                || h.seen_last_modified != s.last_modified
            {
                if h.visible {
                    summary.details += 1;
                }
                learned.note_details(s);
                if !h.visible {
                    count_links(tx, l, &[s.id], 0, 1).await?;
                }
                sqlx::query(sql(format!(
                    "UPDATE {table} SET details_digest = $1, seen_last_modified = $2, last_seen = $3, \
                     visible = TRUE, gone_at = NULL WHERE {key} = $4 AND tenant_id = $5",
                    table = l.table,
                    key = l.key
                )))
                .bind(&s.details_digest)
                .bind(&s.last_modified)
                .bind(now)
                .bind(s.id)
                .bind(tenant_id)
                .execute(&mut **tx)
                .await?;
            } else if !complete {
                // a complete listing refreshes last_seen in one statement at the end
                sqlx::query(sql(format!(
                    "UPDATE {table} SET last_seen = $1 WHERE {key} = $2 AND tenant_id = $3",
                    table = l.table,
                    key = l.key
                )))
                .bind(now)
                .bind(s.id)
                .bind(tenant_id)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// A link to create, collected during a load and written in batches.
struct NewLink {
    id: String,
    details_digest: String,
    last_modified: Option<String>,
}

/// After a complete listing: what the tenant no longer returns is gone for
/// it, and what is gone from every tenant is expired.
async fn close_complete_listing(
    tx: &mut Tx,
    l: &Links,
    tenant_id: i64,
    links: &HashMap<String, LinkState>,
    listed: &HashSet<&str>,
    now: &str,
    summary: &mut ImportSummary,
) -> Result<()> {
    let mut gone: Vec<&str> = links
        .iter()
        .filter(|(id, h)| h.visible && !listed.contains(id.as_str()))
        .map(|(id, _)| id.as_str())
        .collect();
    gone.sort_unstable();
    for id in gone {
        sqlx::query(sql(format!(
            "UPDATE {table} SET visible = FALSE, gone_at = $1 WHERE {key} = $2 AND tenant_id = $3",
            table = l.table,
            key = l.key
        )))
        .bind(now)
        .bind(id)
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
        summary.gone += 1;
        let row = sqlx::query(sql(format!(
            "UPDATE {} SET visible = visible - 1 WHERE {} = $1 RETURNING visible AS n",
            l.counts, l.key
        )))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        if row.try_get::<i64, _>("n")? == 0 {
            summary.expired += 1;
        }
    }
    // links created by this load already carry `now`: with none held
    // before (a tenant's first listing), there is nothing to refresh
    if !links.values().any(|h| h.visible) {
        return Ok(());
    }
    sqlx::query(sql(format!(
        "UPDATE {table} SET last_seen = $1 WHERE tenant_id = $2 AND visible AND last_seen <> $1",
        table = l.table
    )))
    .bind(now)
    .bind(tenant_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The end of a listing of `kind` (`messages`, `issues`) with ids `ids`:
/// after a complete one, what the tenant no longer returns is gone
/// ([`close_complete_listing`]); then the tenant's watermark moves forward
/// (never back) to the newest `lastModifiedDateTime` of the listing and,
/// for a complete listing, its completion is recorded, in one statement.
#[allow(clippy::too_many_arguments)]
async fn end_listing(
    tx: &mut Tx,
    l: &Links,
    kind: &str,
    load: &Load<'_>,
    links: &HashMap<String, LinkState>,
    ids: &[&str],
    newest: Option<Timestamp>,
    summary: &mut ImportSummary,
) -> Result<()> {
    let Load { tenant_id, now, complete } = *load;
    if complete {
        let listed: HashSet<&str> = ids.iter().copied().collect();
        close_complete_listing(tx, l, tenant_id, links, &listed, now, summary).await?;
    }
    let complete_at = complete.then_some(now);
    if newest.is_none() && complete_at.is_none() {
        return Ok(());
    }
    sqlx::query(sql(format!(
        "UPDATE tenants SET {kind}_watermark = CASE WHEN $1 IS NOT NULL AND ({kind}_watermark IS NULL OR {kind}_watermark < $1) \
         THEN $1 ELSE {kind}_watermark END, {kind}_complete_at = COALESCE($2, {kind}_complete_at) WHERE id = $3"
    )))
    .bind(newest.map(|t| t.to_canonical()))
    .bind(complete_at)
    .bind(tenant_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Drops repeated ids from a listing, keeping the newest version of each:
/// the positions kept, in listing order, and how many were dropped.
// `j` is a position of `items` taken from its own enumeration
#[allow(clippy::indexing_slicing)]
fn dedupe<T>(
    items: &[T],
    id: impl Fn(&T) -> &str,
    last_modified: impl Fn(&T) -> Option<Timestamp>,
) -> (Vec<usize>, usize) {
    let mut best: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        match best.get(id(it)) {
            Some(&j) if last_modified(&items[j]) >= last_modified(it) => {}
            _ => {
                best.insert(id(it), i);
            }
        }
    }
    let mut keep: Vec<usize> = best.into_values().collect();
    keep.sort_unstable();
    let dupes = items.len() - keep.len();
    (keep, dupes)
}

/// Records loads in `runs`: one statement for a tenant batch's listings.
async fn insert_runs(tx: &mut Tx, tenant_id: i64, runs: &[(&str, &ImportOptions, &ImportSummary)]) -> Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "INSERT INTO runs (tenant_id, kind, source, complete, started_at, finished_at, items, new_items, updated_items, gone_items, rejected_items) ",
    );
    qb.push_values(runs, |mut b, (kind, opts, s)| {
        let now = opts.now.to_canonical();
        b.push_bind(tenant_id)
            .push_bind(*kind)
            .push_bind(opts.source.clone())
            .push_bind(opts.complete)
            .push_bind(now.clone())
            .push_bind(now)
            .push_bind(s.items as i64)
            .push_bind(s.new as i64)
            .push_bind(s.updated as i64)
            .push_bind(s.gone as i64)
            .push_bind(opts.rejected as i64);
    });
    qb.build().execute(&mut **tx).await?;
    Ok(())
}

// ---------------------------------------------------------------- messages

/// A version's rollout timeline as stored (migration 0028): its JSON and
/// its rollout start (midnight UTC of the earliest start, canonical).
/// With it, the version's preview for lists (its JSON, migration 0031):
/// both are readings of the body, made again together.
pub(crate) struct StoredTimeline {
    json: String,
    rollout_start: Option<String>,
    preview: String,
}

impl StoredTimeline {
    fn of(c: &MessageContent) -> StoredTimeline {
        let t = changedesk_core::timeline::of_content(c);
        StoredTimeline {
            json: to_json(&t),
            rollout_start: rollout_start_of(&t),
            preview: preview_of(&c.body_html),
        }
    }
}

/// A timeline's rollout start as the `rollout_start` columns keep it:
/// midnight UTC of its earliest phase's first day, canonical.
fn rollout_start_of(t: &changedesk_core::timeline::Timeline) -> Option<String> {
    t.rollout_start()
        .map(|d| Timestamp::from_datetime(d.midnight().assume_utc()).to_canonical())
}

/// A body's preview as the `posts.preview` column keeps it (JSON).
fn preview_of(body_html: &str) -> String {
    to_json(&changedesk_core::preview::of_body(body_html))
}

/// A revision's timeline from its row (`timeline`, `timeline_version`): as
/// stored, unless read by another version of the reading (a reader opened
/// before a writer refreshed it), then read again from `content`.
pub(crate) fn timeline_of(row: &DbRow, content: &MessageContent) -> Result<changedesk_core::timeline::Timeline> {
    let stored: Option<String> = row.try_get("timeline")?;
    let version: Option<i64> = row.try_get("timeline_version")?;
    Ok(match stored {
        Some(t) if version == Some(changedesk_core::timeline::VERSION) => from_json(&t, "timeline")?,
        _ => changedesk_core::timeline::of_content(content),
    })
}

/// A new revision of a post the archive holds: its columns, services and
/// tags. (Posts new to the archive go in `insert_new_posts`.)
#[allow(clippy::too_many_arguments)]
async fn write_post_columns(
    tx: &mut Tx,
    c: &MessageContent,
    body_text: &str,
    timeline: &StoredTimeline,
    digest: &str,
    revision: i64,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE posts SET title = $1, category = $2, severity = $3, services = $4, tags = $5, is_major = $6, \
         start_at = $7, end_at = $8, act_by = $9, last_modified = $10, body_html = $11, body_text = $12, \
         has_attachments = $13, digest = $14, revision = $15, updated_at = $16, \
         timeline = $18, rollout_start = $19, timeline_version = $20, preview = $21 WHERE id = $17",
    )
    .bind(&c.title)
    .bind(c.category.as_str())
    .bind(c.severity.as_str())
    .bind(to_json(&c.services))
    .bind(to_json(&c.tags))
    .bind(c.is_major)
    .bind(ts_opt(&c.start))
    .bind(ts_opt(&c.end))
    .bind(ts_opt(&c.act_by))
    .bind(ts_opt(&c.last_modified))
    .bind(&c.body_html)
    .bind(body_text)
    .bind(c.has_attachments)
    .bind(digest)
    .bind(revision)
    .bind(now)
    .bind(&c.id)
    .bind(&timeline.json)
    .bind(&timeline.rollout_start)
    .bind(changedesk_core::timeline::VERSION)
    .bind(&timeline.preview)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE post_revisions SET timeline = $1, timeline_version = $2 WHERE post_id = $3 AND revision = $4")
        .bind(&timeline.json)
        .bind(changedesk_core::timeline::VERSION)
        .bind(&c.id)
        .bind(revision)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM post_services WHERE post_id = $1")
        .bind(&c.id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM post_tags WHERE post_id = $1")
        .bind(&c.id)
        .execute(&mut **tx)
        .await?;
    for s in &c.services {
        sqlx::query("INSERT INTO post_services (post_id, service) VALUES ($1, $2)")
            .bind(&c.id)
            .bind(s)
            .execute(&mut **tx)
            .await?;
    }
    for t in &c.tags {
        sqlx::query("INSERT INTO post_tags (post_id, tag) VALUES ($1, $2)")
            .bind(&c.id)
            .bind(t)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A post new to the archive, as its first revision: written with other
/// new posts of its listing, a hundred per few statements
/// (`insert_new_posts`), not several statements each.
#[derive(Serialize)]
struct NewPost<'a> {
    id: &'a str,
    title: &'a str,
    category: &'a str,
    severity: &'a str,
    /// JSON arrays, as the `posts` columns keep them.
    services: String,
    tags: String,
    #[serde(skip)]
    service_list: &'a [String],
    #[serde(skip)]
    tag_list: &'a [String],
    is_major: bool,
    start_at: Option<String>,
    end_at: Option<String>,
    act_by: Option<String>,
    last_modified: Option<String>,
    body_html: &'a str,
    body_text: String,
    has_attachments: bool,
    digest: &'a str,
    /// The revision's content (JSON).
    content: String,
    /// Its rollout timeline (JSON), the reading's version, its rollout start.
    timeline: &'a str,
    timeline_version: i64,
    rollout_start: Option<&'a str>,
    /// Its preview (JSON).
    preview: &'a str,
}

impl<'a> NewPost<'a> {
    fn of(c: &'a MessageContent, digest: &'a str, body_text: String, timeline: &'a StoredTimeline) -> NewPost<'a> {
        NewPost {
            id: &c.id,
            title: &c.title,
            category: c.category.as_str(),
            severity: c.severity.as_str(),
            services: to_json(&c.services),
            tags: to_json(&c.tags),
            service_list: &c.services,
            tag_list: &c.tags,
            is_major: c.is_major,
            start_at: ts_opt(&c.start),
            end_at: ts_opt(&c.end),
            act_by: ts_opt(&c.act_by),
            last_modified: ts_opt(&c.last_modified),
            body_html: &c.body_html,
            body_text,
            has_attachments: c.has_attachments,
            digest,
            content: to_json(c),
            timeline: &timeline.json,
            timeline_version: changedesk_core::timeline::VERSION,
            rollout_start: timeline.rollout_start.as_deref(),
            preview: &timeline.preview,
        }
    }
}

/// Each (post, service) and each (post, tag) pair of new posts.
type PostPairs<'a> = Vec<(&'a str, &'a str)>;

fn service_and_tag_pairs<'a>(posts: &[NewPost<'a>]) -> [(&'static str, &'static str, PostPairs<'a>); 2] {
    let services = posts.iter().flat_map(|p| p.service_list.iter().map(|s| (p.id, s.as_str()))).collect();
    let tags = posts.iter().flat_map(|p| p.tag_list.iter().map(|t| (p.id, t.as_str()))).collect();
    [("post_services", "service", services), ("post_tags", "tag", tags)]
}

#[allow(clippy::too_many_arguments)]
async fn insert_revision(
    tx: &mut Tx,
    table: &str,
    key: &str,
    id: &str,
    revision: i64,
    last_modified: &Option<Timestamp>,
    tenant_id: i64,
    digest: &str,
    content: String,
    changes: &[FieldChange],
    now: &str,
) -> Result<()> {
    sqlx::query(sql(format!(
        "INSERT INTO {table} ({key}, revision, last_modified, recorded_at, tenant_id, digest, content, changes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(id)
    .bind(revision)
    .bind(ts_opt(last_modified))
    .bind(now)
    .bind(tenant_id)
    .bind(digest)
    .bind(content)
    .bind(to_json(changes))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn revision_content<T: DeserializeOwned>(
    tx: &mut Tx,
    table: &str,
    key: &str,
    id: &str,
    revision: i64,
) -> Result<T> {
    let row = sqlx::query(sql(format!(
        "SELECT content FROM {table} WHERE {key} = $1 AND revision = $2"
    )))
    .bind(id)
    .bind(revision)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::Corrupt(format!("{id} has no revision {revision}")))?;
    from_json(&row.try_get::<String, _>("content")?, id)
}

/// A tenant's listing of posts, with what can be worked out before taking
/// the write lock.
struct PreparedMessages<'a> {
    listing: Vec<&'a Message>,
    /// Content digest and tenant sighting of each item of `listing`.
    prepared: Vec<(&'a str, Sighting<'a>)>,
    duplicates: usize,
}

// `keep` holds positions of `messages`, and the digests are computed one per
// message in the same order (`MessageDigests::of`)
#[allow(clippy::indexing_slicing)]
fn prepare_messages<'a>(messages: &'a [Message], digests: &'a MessageDigests) -> PreparedMessages<'a> {
    let (keep, duplicates) = dedupe(messages, |m| &m.content.id, |m| m.content.last_modified);
    let listing: Vec<&Message> = keep.iter().map(|&i| &messages[i]).collect();
    let prepared = keep
        .iter()
        .map(|&i| {
            let m = &messages[i];
            let sighting = Sighting {
                id: &m.content.id,
                details: &m.view.details,
                details_digest: digests.details[i].clone(),
                last_modified: ts_opt(&m.content.last_modified),
            };
            (digests.content[i].as_str(), sighting)
        })
        .collect();
    PreparedMessages { listing, prepared, duplicates }
}

/// Counts item `id` as failed (a bug: it panicked) and says so; the listing
/// goes on without it.
fn failed_item(summary: &mut ImportSummary, id: &str, error: String) {
    tracing::error!(tenant = %summary.tenant, post = %id, %error, "this item could not be handled; the rest of the listing is stored");
    summary.rejected += 1;
    summary.failed.push(FailedItem { id: id.to_string(), error });
}

pub(crate) async fn import_messages(
    pool: &Pool<Db>,
    writer: &Writer,
    tenant: &str,
    messages: &[Message],
    digests: &MessageDigests,
    opts: &ImportOptions,
) -> Result<ImportSummary> {
    let prepared = prepare_messages(messages, digests);
    let (mut w, mut tx) = begin_write(pool, writer, "messages").await?;
    let tenant_id = ensure_tenant(&mut tx, tenant, &opts.now.to_canonical()).await?;
    let mut learned = Learned::new(&w.state);
    let summary = load_messages(&mut tx, tenant, tenant_id, &prepared, opts, &mut learned).await?;
    insert_runs(&mut tx, tenant_id, &[("messages", opts, &summary)]).await?;
    let remember = learned.finish(&mut tx).await?;
    commit(tx).await?;
    w.state.remember(remember);
    Ok(summary)
}

/// Whether the tenant has no load of posts recorded yet (this load's run is
/// recorded after its posts).
async fn first_load_of_posts(tx: &mut Tx, tenant_id: i64) -> Result<bool> {
    let earlier: Option<i64> = sqlx::query_scalar("SELECT id FROM runs WHERE tenant_id = $1 AND kind = 'messages' LIMIT 1")
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(earlier.is_none())
}

/// Ends a load's transaction.
async fn commit(tx: Tx) -> Result<()> {
    failpoint::hit("import.commit");
    tx.commit().await?;
    failpoint::hit("import.committed");
    Ok(())
}

/// Records `post.new_tenants` for each post already in the archive that the
/// tenant lists for the first time although the tenant's previous listing
/// came after the post was first seen (so Microsoft made it visible to the
/// tenant since): in the load's transaction, with the link. A tenant's first
/// listing (its baseline), and a post first seen in this round that the
/// tenant simply lists at its first chance, tell nothing.
async fn tell_new_tenants(
    tx: &mut Tx,
    tenant: &str,
    tenant_id: i64,
    listing: &[&Message],
    held: &HashMap<String, Held>,
    new_links: &[NewLink],
    now: &str,
) -> Result<()> {
    let known: Vec<&str> = new_links.iter().map(|l| l.id.as_str()).filter(|id| held.contains_key(*id)).collect();
    if known.is_empty() {
        return Ok(());
    }
    let previous: Option<String> =
        sqlx::query_scalar("SELECT MAX(started_at) FROM runs WHERE tenant_id = $1 AND kind = 'messages'")
            .bind(tenant_id)
            .fetch_one(&mut **tx)
            .await?;
    let Some(previous) = previous else {
        return Ok(());
    };
    let mut newly: HashSet<String> = HashSet::new();
    for chunk in known.chunks(1000) {
        let ids: Vec<String> = sqlx::query_scalar(sql(format!(
            "SELECT id FROM posts WHERE id {} AND first_seen <= $2",
            any_of(1)
        )))
        .bind(id_list(chunk))
        .bind(&previous)
        .fetch_all(&mut **tx)
        .await?;
        newly.extend(ids);
    }
    let at = read_ts(now.to_string())?;
    let events: Vec<changedesk_core::notify::Event> = listing
        .iter()
        .filter(|m| newly.remove(&m.content.id))
        .map(|m| changedesk_core::notify::Event {
            kind: changedesk_core::notify::EventKind::PostNewTenants,
            at,
            post: Some(changedesk_core::notify::PostRef::of(&m.content)),
            incident: None,
            tenants: vec![tenant.to_string()],
            owner: None,
            changes: Vec::new(),
            reason: None,
            target: None,
            ticket_scope: None,
            moves: Vec::new(),
        })
        .collect();
    insert_events(tx, &events, now).await
}

async fn load_messages(
    tx: &mut Tx,
    tenant: &str,
    tenant_id: i64,
    p: &PreparedMessages<'_>,
    opts: &ImportOptions,
    learned: &mut Learned<'_>,
) -> Result<ImportSummary> {
    let now = opts.now.to_canonical();
    let listing = &p.listing;
    let prepared = &p.prepared;
    let mut summary = ImportSummary {
        tenant: tenant.to_string(),
        kind: "messages".to_string(),
        complete: opts.complete,
        items: listing.len(),
        rejected: opts.rejected,
        duplicates: p.duplicates,
        ..Default::default()
    };
    let t_locked = std::time::Instant::now();
    let ids: Vec<&str> = listing.iter().map(|m| m.content.id.as_str()).collect();
    let held = learned.held_posts(tx, &ids).await?;
    let links = load_links(tx, &POST_LINKS, tenant_id).await?;
    let t_loaded = std::time::Instant::now();
    let mut new_links = Vec::new();
    // posts new to the archive: written together after the loop
    let mut fresh = Vec::new();
    let load = Load { tenant_id, now: &now, complete: opts.complete };

    for (m, (digest, sighting)) in listing.iter().zip(prepared.iter()) {
        failpoint::hit("import.item");
        let c = &m.content;
        // what a new or changed post's own text gives (its plain text, the
        // change summary) is computed apart from the database: a panic there
        // (a bug) fails this post only
        match held.get(&c.id) {
            None => {
                let (text, timeline) = match failpoint::guard(|| {
                    failpoint::poison("import", &c.id);
                    (cdiff::body_text(&c.body_html), StoredTimeline::of(c))
                }) {
                    Ok(t) => t,
                    Err(e) => {
                        failed_item(&mut summary, &c.id, e);
                        continue;
                    }
                };
                fresh.push((c, *digest, text, timeline));
                learned.wrote_post(&c.id, Held { last_modified: c.last_modified, digest: digest.to_string(), revision: 1 });
                summary.new += 1;
            }
            Some(h) => {
                let verdict = judge(h, &c.last_modified, digest);
                let accept = match verdict {
                    Verdict::Newer => true,
                    Verdict::SameTimeOtherContent => {
                        !seen_digest_before(tx, "post_revisions", "post_id", &c.id, digest)
                            .await?
                    }
                    Verdict::Same => false,
                    Verdict::Stale => {
                        summary.stale += 1;
                        false
                    }
                };
                if accept {
                    let old: MessageContent =
                        revision_content(tx, "post_revisions", "post_id", &c.id, h.revision)
                            .await?;
                    let (text, changes, timeline) = match failpoint::guard(|| {
                        failpoint::poison("import", &c.id);
                        let old_text = cdiff::body_text(&old.body_html);
                        let text = cdiff::body_text(&c.body_html);
                        let changes = cdiff::message_changes_with_text(&old, &old_text, c, &text);
                        (text, changes, StoredTimeline::of(c))
                    }) {
                        Ok(done) => done,
                        Err(e) => {
                            failed_item(&mut summary, &c.id, e);
                            continue;
                        }
                    };
                    let revision = h.revision + 1;
                    learned.wrote_post(&c.id, Held { last_modified: c.last_modified, digest: digest.to_string(), revision });
                    insert_revision(
                        tx, "post_revisions", "post_id", &c.id, revision, &c.last_modified,
                        tenant_id, digest, to_json(c), &changes, &now,
                    )
                    .await?;
                    write_post_columns(tx, c, &text, &timeline, digest, revision, &now).await?;
                    summary.updated += 1;
                }
            }
        }
        record_sighting(tx, &POST_LINKS, &load, links.get(&c.id), sighting, &mut new_links, learned, &mut summary).await?;
    }
    // a hundred at a time: a few statements still, and a bounded amount of
    // memory for their text (the rows go as one JSON value)
    for chunk in fresh.chunks(100) {
        let rows: Vec<NewPost<'_>> = chunk
            .iter()
            .map(|(c, digest, text, timeline)| NewPost::of(c, digest, text.clone(), timeline))
            .collect();
        insert_new_posts(tx, &rows, tenant_id, &now).await?;
    }
    // the tenant's first load of posts: what is new to the archive was in
    // Message Center before changedesk synced the tenant (the baseline)
    if !fresh.is_empty() && first_load_of_posts(tx, tenant_id).await? {
        for chunk in fresh.chunks(1000) {
            let ids: Vec<&str> = chunk.iter().map(|(c, _, _, _)| c.id.as_str()).collect();
            sqlx::query(sql(format!("UPDATE posts SET baseline = TRUE WHERE id {}", any_of(1))))
                .bind(id_list(&ids))
                .execute(&mut **tx)
                .await?;
        }
    }
    let t_items = std::time::Instant::now();
    tell_new_tenants(tx, tenant, tenant_id, listing, &held, &new_links, &now).await?;
    link_new(tx, &POST_LINKS, &load, &new_links).await?;
    let t_linked = std::time::Instant::now();
    let newest = listing.iter().filter_map(|m| m.content.last_modified).max();
    end_listing(tx, &POST_LINKS, "messages", &load, &links, &ids, newest, &mut summary).await?;
    tracing::debug!(
        tenant,
        items = summary.items,
        load_ms = (t_loaded - t_locked).as_millis() as u64,
        items_ms = (t_items - t_loaded).as_millis() as u64,
        links_ms = (t_linked - t_items).as_millis() as u64,
        close_ms = t_linked.elapsed().as_millis() as u64,
        "messages loaded"
    );
    Ok(summary)
}

/// Reads the rollout timeline of every revision read by another version of
/// changedesk-core's `timeline` (or stored before there was one, migration
/// 0028), then the posts' (their current revision's, and its rollout start):
/// a few hundred per transaction, so a large archive neither holds the write
/// lock long nor keeps much in memory. Returns how many rows it wrote.
pub(crate) async fn refresh_timelines(pool: &Pool<Db>, writer: &Writer) -> Result<u64> {
    use changedesk_core::timeline::{Timeline, VERSION};
    // every row was read by this version when this one says so: no scan
    let done: Option<i64> = sqlx::query_scalar("SELECT version FROM readings WHERE name = 'body'")
        .fetch_optional(pool)
        .await?;
    if done == Some(VERSION) {
        return Ok(0);
    }
    let mut written = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT post_id, revision, content FROM post_revisions \
             WHERE timeline_version IS NULL OR timeline_version <> $1 ORDER BY post_id, revision LIMIT 200",
        )
        .bind(VERSION)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        let (_w, mut tx) = begin_write(pool, writer, "refresh_timelines").await?;
        for row in &rows {
            let id: String = row.try_get("post_id")?;
            let revision: i64 = row.try_get("revision")?;
            let content: MessageContent = from_json(&row.try_get::<String, _>("content")?, &id)?;
            let t = StoredTimeline::of(&content);
            sqlx::query("UPDATE post_revisions SET timeline = $1, timeline_version = $2 WHERE post_id = $3 AND revision = $4")
                .bind(&t.json)
                .bind(VERSION)
                .bind(&id)
                .bind(revision)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        written += rows.len() as u64;
    }
    loop {
        let rows = sqlx::query(
            "SELECT p.id, p.body_html, r.timeline FROM posts p JOIN post_revisions r ON r.post_id = p.id AND r.revision = p.revision \
             WHERE (p.timeline_version IS NULL OR p.timeline_version <> $1) AND r.timeline_version = $1 \
             ORDER BY p.id LIMIT 500",
        )
        .bind(VERSION)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        let (_w, mut tx) = begin_write(pool, writer, "refresh_timelines").await?;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let json: String = row.try_get("timeline")?;
            let t: Timeline = from_json(&json, &id)?;
            let body: String = row.try_get("body_html")?;
            sqlx::query(
                "UPDATE posts SET timeline = $1, rollout_start = $2, timeline_version = $3, preview = $4 WHERE id = $5",
            )
            .bind(&json)
            .bind(rollout_start_of(&t))
            .bind(VERSION)
            .bind(preview_of(&body))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        written += rows.len() as u64;
    }
    let (_w, mut tx) = begin_write(pool, writer, "refresh_timelines").await?;
    sqlx::query(
        "INSERT INTO readings (name, version) VALUES ('body', $1) \
         ON CONFLICT (name) DO UPDATE SET version = excluded.version",
    )
    .bind(VERSION)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(written)
}

/// A `posts.preview` column: empty when not read yet.
pub(crate) fn read_preview(json: Option<String>, what: &str) -> Result<changedesk_core::preview::Preview> {
    match json {
        None => Ok(Default::default()),
        Some(j) => from_json(&j, what),
    }
}

fn post_summary(row: &DbRow) -> Result<PostSummary> {
    let visible: i64 = row.try_get("tenants_visible")?;
    Ok(PostSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        category: row.try_get("category")?,
        severity: row.try_get("severity")?,
        services: from_json(&row.try_get::<String, _>("services")?, "services")?,
        tags: from_json(&row.try_get::<String, _>("tags")?, "tags")?,
        is_major: row.try_get("is_major")?,
        start: read_ts_opt(row.try_get("start_at")?)?,
        end: read_ts_opt(row.try_get("end_at")?)?,
        act_by: read_ts_opt(row.try_get("act_by")?)?,
        last_modified: read_ts_opt(row.try_get("last_modified")?)?,
        rollout_start: read_ts_opt(row.try_get("rollout_start")?)?,
        date_moved: row.try_get("date_moved")?,
        preview: read_preview(row.try_get("preview")?, "post")?,
        revision: row.try_get("revision")?,
        state: if visible > 0 {
            PostState::Active
        } else {
            PostState::Expired
        },
        tenants_visible: visible,
        tenants_seen: row.try_get("tenants_seen")?,
        first_seen: read_ts(row.try_get("first_seen")?)?,
    })
}

/// Whether the post `p`'s newest revision moved one of its dates (Graph's
/// start, end or act-by, or the rollout timeline read from the body), as SQL
/// (the revision's changes are compact JSON, `{"field":"act_by",…}`).
macro_rules! date_moved_sql {
    () => {
        "EXISTS (SELECT 1 FROM post_revisions dm WHERE dm.post_id = p.id AND dm.revision = p.revision \
         AND dm.revision > 1 AND (dm.changes LIKE '%\"field\":\"timeline\"%' \
         OR dm.changes LIKE '%\"field\":\"start\"%' OR dm.changes LIKE '%\"field\":\"end\"%' \
         OR dm.changes LIKE '%\"field\":\"act_by\"%'))"
    };
}

const POST_SUMMARY_COLUMNS: &str = concat!("p.id, p.title, p.category, p.severity, p.services, p.tags, p.is_major, \
    p.start_at, p.end_at, p.act_by, p.last_modified, p.revision, p.first_seen, p.rollout_start, p.preview, \
    ", date_moved_sql!(), " AS date_moved, \
    COALESCE((SELECT c.visible FROM post_link_counts c WHERE c.post_id = p.id), 0) AS tenants_visible, \
    COALESCE((SELECT c.seen FROM post_link_counts c WHERE c.post_id = p.id), 0) AS tenants_seen");

/// Limits a list query (items aliased `alias`) to what `tenant` has seen, and
/// to a state: with a tenant, visible to / gone for it; without, visible to
/// some tenant (active) or to none (expired).
fn push_scope(qb: &mut QueryBuilder<Db>, l: &Links, alias: &str, tenant: &Option<String>, state: Option<PostState>) {
    let (table, key) = (l.table, l.key);
    match (tenant, state) {
        (Some(t), state) => {
            qb.push(format!(
                " AND EXISTS (SELECT 1 FROM {table} l JOIN tenants t ON t.id = l.tenant_id WHERE l.{key} = {alias}.id AND t.name = "
            ));
            qb.push_bind(t.clone());
            qb.push(match state {
                Some(PostState::Active) => " AND l.visible)",
                Some(PostState::Expired) => " AND NOT l.visible)",
                None => ")",
            });
        }
        (None, Some(PostState::Active)) => {
            qb.push(format!(
                " AND EXISTS (SELECT 1 FROM {} c WHERE c.{key} = {alias}.id AND c.visible > 0)",
                l.counts
            ));
        }
        (None, Some(PostState::Expired)) => {
            qb.push(format!(
                " AND NOT EXISTS (SELECT 1 FROM {} c WHERE c.{key} = {alias}.id AND c.visible > 0)",
                l.counts
            ));
        }
        (None, None) => {}
    }
}

/// `%word%` with LIKE's wildcards escaped.
fn like_pattern(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('%');
    for ch in word.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// The post filters the CLI's list (`list_messages`) and the API's query
/// (`query_posts`) share.
struct PostFilters<'a> {
    services: &'a [String],
    category: Option<&'a str>,
    severity: Option<&'a str>,
    major: Option<bool>,
    act_by_from: Option<Timestamp>,
    act_by_to: Option<Timestamp>,
}

/// Appends `AND …` conditions on `posts p` for the filters that are set.
fn push_post_filters(qb: &mut QueryBuilder<Db>, f: &PostFilters<'_>) {
    if !f.services.is_empty() {
        qb.push(" AND EXISTS (SELECT 1 FROM post_services s WHERE s.post_id = p.id AND LOWER(s.service) IN (");
        let mut sep = qb.separated(", ");
        for s in f.services {
            sep.push_bind(s.trim().to_lowercase());
        }
        qb.push("))");
    }
    if let Some(c) = f.category {
        qb.push(" AND LOWER(p.category) = ");
        qb.push_bind(c.trim().to_lowercase());
    }
    if let Some(s) = f.severity {
        qb.push(" AND LOWER(p.severity) = ");
        qb.push_bind(s.trim().to_lowercase());
    }
    if let Some(m) = f.major {
        qb.push(" AND p.is_major = ");
        qb.push_bind(m);
    }
    if let Some(t) = f.act_by_from {
        qb.push(" AND p.act_by >= ");
        qb.push_bind(t.to_canonical());
    }
    if let Some(t) = f.act_by_to {
        qb.push(" AND p.act_by <= ");
        qb.push_bind(t.to_canonical());
    }
}

pub(crate) async fn list_messages(pool: &Pool<Db>, f: &MessageFilter) -> Result<Vec<PostSummary>> {
    let mut qb: QueryBuilder<Db> =
        QueryBuilder::new(format!("SELECT {POST_SUMMARY_COLUMNS} FROM posts p WHERE 1 = 1"));
    push_scope(&mut qb, &POST_LINKS, "p", &f.tenant, f.state);
    push_post_filters(
        &mut qb,
        &PostFilters {
            services: &f.services,
            category: f.category.as_deref(),
            severity: f.severity.as_deref(),
            major: f.major,
            act_by_from: f.act_by_from,
            act_by_to: f.act_by_to,
        },
    );
    if let Some(text) = &f.text {
        for word in text.split_whitespace() {
            let pat = like_pattern(word);
            qb.push(format!(" AND (p.title {ILIKE} "));
            qb.push_bind(pat.clone());
            qb.push(format!(" ESCAPE '\\' OR p.body_text {ILIKE} "));
            qb.push_bind(pat);
            qb.push(" ESCAPE '\\')");
        }
    }
    qb.push(" ORDER BY COALESCE(p.last_modified, '') DESC, p.id DESC");
    if let Some(limit) = f.limit {
        qb.push(" LIMIT ");
        qb.push_bind(limit.max(0));
    }
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(post_summary).collect()
}

async fn links_of(pool: &Pool<Db>, l: &Links, id: &str) -> Result<Vec<TenantLink>> {
    let rows = sqlx::query(sql(format!(
        "SELECT t.name, l.visible, l.first_seen, l.last_seen, l.gone_at, l.seen_last_modified, COALESCE(d.details, '[]') AS details \
         FROM {table} l JOIN tenants t ON t.id = l.tenant_id LEFT JOIN tenant_details d ON d.digest = l.details_digest \
         WHERE l.{key} = $1 ORDER BY t.name",
        table = l.table,
        key = l.key
    )))
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TenantLink {
                name: row.try_get("name")?,
                visible: row.try_get("visible")?,
                first_seen: read_ts(row.try_get("first_seen")?)?,
                last_seen: read_ts(row.try_get("last_seen")?)?,
                gone_at: read_ts_opt(row.try_get("gone_at")?)?,
                seen_last_modified: read_ts_opt(row.try_get("seen_last_modified")?)?,
                details: from_json(&row.try_get::<String, _>("details")?, "details")?,
            })
        })
        .collect()
}

fn revision_info(row: &DbRow) -> Result<RevisionInfo> {
    Ok(RevisionInfo {
        revision: row.try_get("revision")?,
        last_modified: read_ts_opt(row.try_get("last_modified")?)?,
        recorded_at: read_ts(row.try_get("recorded_at")?)?,
        tenant: row.try_get("name")?,
        changes: from_json(&row.try_get::<String, _>("changes")?, "changes")?,
        timeline: row
            .try_get::<Option<String>, _>("timeline")?
            .map(|t| from_json(&t, "timeline"))
            .transpose()?,
    })
}

async fn revisions_of(pool: &Pool<Db>, table: &str, key: &str, id: &str) -> Result<Vec<RevisionInfo>> {
    // incidents have no timeline
    let timeline = if table == "post_revisions" { "r.timeline" } else { "CAST(NULL AS TEXT) AS timeline" };
    let rows = sqlx::query(sql(format!(
        "SELECT r.revision, r.last_modified, r.recorded_at, t.name, r.changes, {timeline} \
         FROM {table} r LEFT JOIN tenants t ON t.id = r.tenant_id WHERE r.{key} = $1 ORDER BY r.revision"
    )))
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(revision_info).collect()
}

pub(crate) async fn get_message(pool: &Pool<Db>, id: &str) -> Result<PostDetail> {
    let row = sqlx::query(sql(format!(
        "SELECT {POST_SUMMARY_COLUMNS}, p.body_text FROM posts p WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("post {id}")))?;
    let summary = post_summary(&row)?;
    let body_text: String = row.try_get("body_text")?;
    let content_row = sqlx::query(
        "SELECT content, timeline, timeline_version FROM post_revisions WHERE post_id = $1 AND revision = $2",
    )
    .bind(id)
    .bind(summary.revision)
    .fetch_one(pool)
    .await?;
    let content: MessageContent = from_json(&content_row.try_get::<String, _>("content")?, id)?;
    let timeline = timeline_of(&content_row, &content)?;
    Ok(PostDetail {
        timeline,
        tenants: links_of(pool, &POST_LINKS, id).await?,
        revisions: revisions_of(pool, "post_revisions", "post_id", id).await?,
        summary,
        content,
        body_text,
    })
}

pub(crate) async fn message_revision(pool: &Pool<Db>, id: &str, revision: i64) -> Result<RevisionContent> {
    let row = sqlx::query(
        "SELECT r.revision, r.last_modified, r.recorded_at, t.name, r.changes, r.content, r.timeline \
         FROM post_revisions r LEFT JOIN tenants t ON t.id = r.tenant_id WHERE r.post_id = $1 AND r.revision = $2",
    )
    .bind(id)
    .bind(revision)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("revision {revision} of post {id}")))?;
    Ok(RevisionContent {
        info: revision_info(&row)?,
        content: from_json(&row.try_get::<String, _>("content")?, id)?,
    })
}

pub(crate) async fn export_messages_page(
    pool: &Pool<Db>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ExportedPost>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {POST_SUMMARY_COLUMNS} FROM posts p WHERE p.id > $1 ORDER BY p.id LIMIT $2"
    )))
    .bind(after.unwrap_or(""))
    .bind(limit.max(1))
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let summary = post_summary(row)?;
        let content_row =
            sqlx::query("SELECT content FROM post_revisions WHERE post_id = $1 AND revision = $2")
                .bind(&summary.id)
                .bind(summary.revision)
                .fetch_one(pool)
                .await?;
        out.push(ExportedPost {
            content: from_json(&content_row.try_get::<String, _>("content")?, &summary.id)?,
            tenants: links_of(pool, &POST_LINKS, &summary.id).await?,
            revisions: revisions_of(pool, "post_revisions", "post_id", &summary.id).await?,
            summary,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- incidents

async fn write_incident_columns(
    tx: &mut Tx,
    c: &IncidentContent,
    digest: &str,
    revision: i64,
    now: &str,
    insert: bool,
) -> Result<()> {
    let q = if insert {
        "INSERT INTO incidents (title, service, feature, feature_group, classification, origin, status, is_resolved, \
         impact_description, start_at, end_at, last_modified, high_impact, digest, revision, updated_at, id, first_seen) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $16)"
    } else {
        "UPDATE incidents SET title = $1, service = $2, feature = $3, feature_group = $4, classification = $5, \
         origin = $6, status = $7, is_resolved = $8, impact_description = $9, start_at = $10, end_at = $11, \
         last_modified = $12, high_impact = $13, digest = $14, revision = $15, updated_at = $16 WHERE id = $17"
    };
    sqlx::query(q)
        .bind(&c.title)
        .bind(&c.service)
        .bind(&c.feature)
        .bind(&c.feature_group)
        .bind(c.classification.as_str())
        .bind(c.origin.as_str())
        .bind(c.status.as_str())
        .bind(c.is_resolved)
        .bind(&c.impact_description)
        .bind(ts_opt(&c.start))
        .bind(ts_opt(&c.end))
        .bind(ts_opt(&c.last_modified))
        .bind(c.high_impact)
        .bind(digest)
        .bind(revision)
        .bind(now)
        .bind(&c.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn append_status(tx: &mut Tx, c: &IncidentContent, tenant_id: i64, now: &str) -> Result<()> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) AS seq FROM incident_status_history WHERE incident_id = $1",
    )
    .bind(&c.id)
    .fetch_one(&mut **tx)
    .await?;
    let seq: i64 = row.try_get("seq")?;
    sqlx::query(
        "INSERT INTO incident_status_history (incident_id, seq, status, is_resolved, observed_at, last_modified, tenant_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.id)
    .bind(seq + 1)
    .bind(c.status.as_str())
    .bind(c.is_resolved)
    .bind(now)
    .bind(ts_opt(&c.last_modified))
    .bind(tenant_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn add_incident_posts(tx: &mut Tx, id: &str, posts: &[IncidentPost], now: &str) -> Result<()> {
    for p in posts {
        sqlx::query(
            "INSERT INTO incident_posts (incident_id, digest, created_at, post_type, description_html, first_seen) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id, digest) DO NOTHING",
        )
        .bind(id)
        .bind(p.digest())
        .bind(ts_opt(&p.created))
        .bind(&p.post_type)
        .bind(&p.description_html)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(crate) async fn import_incidents(
    pool: &Pool<Db>,
    writer: &Writer,
    tenant: &str,
    incidents: &[Incident],
    digests: &IncidentDigests,
    opts: &ImportOptions,
) -> Result<ImportSummary> {
    let (mut w, mut tx) = begin_write(pool, writer, "issues").await?;
    let tenant_id = ensure_tenant(&mut tx, tenant, &opts.now.to_canonical()).await?;
    let mut learned = Learned::new(&w.state);
    let summary = load_incidents(&mut tx, tenant, tenant_id, incidents, digests, opts, &mut learned).await?;
    insert_runs(&mut tx, tenant_id, &[("issues", opts, &summary)]).await?;
    let remember = learned.finish(&mut tx).await?;
    commit(tx).await?;
    w.state.remember(remember);
    Ok(summary)
}

async fn load_incidents(
    tx: &mut Tx,
    tenant: &str,
    tenant_id: i64,
    incidents: &[Incident],
    digests: &IncidentDigests,
    opts: &ImportOptions,
    learned: &mut Learned<'_>,
) -> Result<ImportSummary> {
    let now = opts.now.to_canonical();
    let (keep, duplicates) = dedupe(incidents, |i| &i.content.id, |i| i.content.last_modified);
    let listing: Vec<&Incident> = keep.iter().filter_map(|&i| incidents.get(i)).collect();
    let mut summary = ImportSummary {
        tenant: tenant.to_string(),
        kind: "issues".to_string(),
        complete: opts.complete,
        items: listing.len(),
        rejected: opts.rejected,
        duplicates,
        ..Default::default()
    };
    let ids: Vec<&str> = listing.iter().map(|i| i.content.id.as_str()).collect();
    let t0 = std::time::Instant::now();
    let held = held_versions(tx, "incidents", &ids).await?;
    let links = load_links(tx, &INCIDENT_LINKS, tenant_id).await?;
    let t1 = std::time::Instant::now();
    let load = Load { tenant_id, now: &now, complete: opts.complete };
    let mut new_links = Vec::new();

    for (inc, &index) in listing.iter().zip(&keep) {
        failpoint::hit("import.item");
        let c = &inc.content;
        // the digests are computed one per incident, in the same order
        #[allow(clippy::indexing_slicing)]
        let digest = digests.version[index].as_str();
        // the held version has exactly these posts when its digest is this one
        let posts_held = held.get(&c.id).is_some_and(|h| h.digest == digest);
        match held.get(&c.id) {
            None => {
                write_incident_columns(tx, c, digest, 1, &now, true).await?;
                insert_revision(
                    tx, "incident_revisions", "incident_id", &c.id, 1, &c.last_modified,
                    tenant_id, digest, to_json(c), &[], &now,
                )
                .await?;
                append_status(tx, c, tenant_id, &now).await?;
                summary.new += 1;
            }
            Some(h) => {
                let accept = match judge(h, &c.last_modified, digest) {
                    Verdict::Newer => true,
                    Verdict::SameTimeOtherContent => !seen_digest_before(
                        tx, "incident_revisions", "incident_id", &c.id, digest,
                    )
                    .await?,
                    Verdict::Same => false,
                    Verdict::Stale => {
                        summary.stale += 1;
                        false
                    }
                };
                if accept {
                    let old: IncidentContent = revision_content(
                        tx, "incident_revisions", "incident_id", &c.id, h.revision,
                    )
                    .await?;
                    let changes = match failpoint::guard(|| {
                        failpoint::poison("import", &c.id);
                        cdiff::incident_changes(&old, c)
                    }) {
                        Ok(changes) => changes,
                        Err(e) => {
                            failed_item(&mut summary, &c.id, e);
                            continue;
                        }
                    };
                    let revision = h.revision + 1;
                    write_incident_columns(tx, c, digest, revision, &now, false).await?;
                    insert_revision(
                        tx, "incident_revisions", "incident_id", &c.id, revision,
                        &c.last_modified, tenant_id, digest, to_json(c), &changes, &now,
                    )
                    .await?;
                    if old.status != c.status || old.is_resolved != c.is_resolved {
                        append_status(tx, c, tenant_id, &now).await?;
                    }
                    summary.updated += 1;
                }
            }
        }
        if !posts_held {
            add_incident_posts(tx, &c.id, &inc.posts, &now).await?;
        }
        // the digests are computed one per incident, in the same order
        #[allow(clippy::indexing_slicing)]
        let sighting = Sighting {
            id: &c.id,
            details: &inc.view.details,
            details_digest: digests.details[index].clone(),
            last_modified: ts_opt(&c.last_modified),
        };
        record_sighting(tx, &INCIDENT_LINKS, &load, links.get(&c.id), &sighting, &mut new_links, learned, &mut summary).await?;
    }
    let t2 = std::time::Instant::now();
    link_new(tx, &INCIDENT_LINKS, &load, &new_links).await?;
    let t3 = std::time::Instant::now();
    let newest = listing.iter().filter_map(|i| i.content.last_modified).max();
    end_listing(tx, &INCIDENT_LINKS, "issues", &load, &links, &ids, newest, &mut summary).await?;
    tracing::debug!(
        tenant,
        items = summary.items,
        iload_us = (t1 - t0).as_micros() as u64,
        iitems_us = (t2 - t1).as_micros() as u64,
        ilinks_us = (t3 - t2).as_micros() as u64,
        iclose_us = t3.elapsed().as_micros() as u64,
        "incidents loaded"
    );
    Ok(summary)
}

fn incident_summary(row: &DbRow) -> Result<IncidentSummary> {
    let visible: i64 = row.try_get("tenants_visible")?;
    Ok(IncidentSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        service: row.try_get("service")?,
        feature: row.try_get("feature")?,
        classification: row.try_get("classification")?,
        status: row.try_get("status")?,
        is_resolved: row.try_get("is_resolved")?,
        start: read_ts_opt(row.try_get("start_at")?)?,
        end: read_ts_opt(row.try_get("end_at")?)?,
        last_modified: read_ts_opt(row.try_get("last_modified")?)?,
        revision: row.try_get("revision")?,
        state: if visible > 0 {
            PostState::Active
        } else {
            PostState::Expired
        },
        tenants_visible: visible,
        tenants_seen: row.try_get("tenants_seen")?,
    })
}

const INCIDENT_SUMMARY_COLUMNS: &str = "i.id, i.title, i.service, i.feature, i.classification, i.status, \
    i.is_resolved, i.start_at, i.end_at, i.last_modified, i.revision, \
    COALESCE((SELECT c.visible FROM incident_link_counts c WHERE c.incident_id = i.id), 0) AS tenants_visible, \
    COALESCE((SELECT c.seen FROM incident_link_counts c WHERE c.incident_id = i.id), 0) AS tenants_seen";

pub(crate) async fn list_incidents(pool: &Pool<Db>, f: &IncidentFilter) -> Result<Vec<IncidentSummary>> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT {INCIDENT_SUMMARY_COLUMNS} FROM incidents i WHERE 1 = 1"
    ));
    push_scope(&mut qb, &INCIDENT_LINKS, "i", &f.tenant, f.state);
    finish_incident_list(qb, f, pool).await
}

/// The filters every incident list shares (service, resolved), its order
/// and limit, then the rows: the end of `list_incidents` and of its scoped
/// twin.
async fn finish_incident_list(
    mut qb: QueryBuilder<Db>,
    f: &IncidentFilter,
    pool: &Pool<Db>,
) -> Result<Vec<IncidentSummary>> {
    if let Some(svc) = &f.service {
        qb.push(" AND LOWER(i.service) = ");
        qb.push_bind(svc.trim().to_lowercase());
    }
    if let Some(r) = f.resolved {
        qb.push(" AND i.is_resolved = ");
        qb.push_bind(r);
    }
    qb.push(" ORDER BY COALESCE(i.last_modified, '') DESC, i.id DESC");
    if let Some(limit) = f.limit {
        qb.push(" LIMIT ");
        qb.push_bind(limit.max(0));
    }
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(incident_summary).collect()
}

pub(crate) async fn get_incident(pool: &Pool<Db>, id: &str) -> Result<IncidentDetail> {
    let row = sqlx::query(sql(format!(
        "SELECT {INCIDENT_SUMMARY_COLUMNS} FROM incidents i WHERE i.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?;
    let summary = incident_summary(&row)?;
    let content_row =
        sqlx::query("SELECT content FROM incident_revisions WHERE incident_id = $1 AND revision = $2")
            .bind(id)
            .bind(summary.revision)
            .fetch_one(pool)
            .await?;
    let content: IncidentContent = from_json(&content_row.try_get::<String, _>("content")?, id)?;
    let post_rows = sqlx::query(
        "SELECT created_at, post_type, description_html FROM incident_posts WHERE incident_id = $1 \
         ORDER BY COALESCE(created_at, ''), digest",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let posts = post_rows
        .iter()
        .map(|r| {
            Ok(IncidentPost {
                created: read_ts_opt(r.try_get("created_at")?)?,
                post_type: r.try_get("post_type")?,
                description_html: r.try_get("description_html")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let history_rows = sqlx::query(
        "SELECT h.status, h.is_resolved, h.observed_at, h.last_modified, t.name FROM incident_status_history h \
         LEFT JOIN tenants t ON t.id = h.tenant_id WHERE h.incident_id = $1 ORDER BY h.seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let status_history = history_rows
        .iter()
        .map(|r| {
            Ok(StatusChange {
                status: r.try_get("status")?,
                is_resolved: r.try_get("is_resolved")?,
                observed_at: read_ts(r.try_get("observed_at")?)?,
                last_modified: read_ts_opt(r.try_get("last_modified")?)?,
                tenant: r.try_get("name")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(IncidentDetail {
        tenants: links_of(pool, &INCIDENT_LINKS, id).await?,
        revisions: revisions_of(pool, "incident_revisions", "incident_id", id).await?,
        summary,
        content,
        posts,
        status_history,
    })
}

// ---------------------------------------------------------------- health

pub(crate) async fn import_health(
    pool: &Pool<Db>,
    writer: &Writer,
    tenant: &str,
    overviews: &[HealthOverview],
    opts: &ImportOptions,
) -> Result<ImportSummary> {
    let (_writer, mut tx) = begin_write(pool, writer, "health").await?;
    let tenant_id = ensure_tenant(&mut tx, tenant, &opts.now.to_canonical()).await?;
    let summary = load_health(&mut tx, tenant, tenant_id, overviews, opts).await?;
    insert_runs(&mut tx, tenant_id, &[("healthOverviews", opts, &summary)]).await?;
    commit(tx).await?;
    Ok(summary)
}

async fn load_health(
    tx: &mut Tx,
    tenant: &str,
    tenant_id: i64,
    overviews: &[HealthOverview],
    opts: &ImportOptions,
) -> Result<ImportSummary> {
    let now = opts.now.to_canonical();
    let (keep, duplicates) = dedupe(overviews, |o| &o.service_id, |_| None);
    let listing: Vec<&HealthOverview> = keep.into_iter().filter_map(|i| overviews.get(i)).collect();
    let mut summary = ImportSummary {
        tenant: tenant.to_string(),
        kind: "healthOverviews".to_string(),
        complete: opts.complete,
        items: listing.len(),
        rejected: opts.rejected,
        duplicates,
        ..Default::default()
    };
    let mut current: HashMap<String, (String, String)> = HashMap::new();
    for row in sqlx::query("SELECT service_id, service, status FROM health_current WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(&mut **tx)
        .await?
    {
        current.insert(row.try_get("service_id")?, (row.try_get("service")?, row.try_get("status")?));
    }
    let mut unchanged = 0;
    // services new to this tenant: inserted together after the loop
    let mut fresh: Vec<(&str, &str, &str)> = Vec::new();
    for o in &listing {
        failpoint::hit("import.item");
        let changed = match current.get(&o.service_id) {
            None => {
                fresh.push((&o.service_id, &o.service, o.status.as_str()));
                summary.new += 1;
                false
            }
            Some((_, status)) if status != o.status.as_str() => {
                sqlx::query(
                    "UPDATE health_current SET service = $1, status = $2, since = $3, last_seen = $3 \
                     WHERE tenant_id = $4 AND service_id = $5",
                )
                .bind(&o.service)
                .bind(o.status.as_str())
                .bind(&now)
                .bind(tenant_id)
                .bind(&o.service_id)
                .execute(&mut **tx)
                .await?;
                summary.updated += 1;
                true
            }
            Some((service, _)) if *service != o.service => {
                sqlx::query(
                    "UPDATE health_current SET service = $1, last_seen = $2 WHERE tenant_id = $3 AND service_id = $4",
                )
                .bind(&o.service)
                .bind(&now)
                .bind(tenant_id)
                .bind(&o.service_id)
                .execute(&mut **tx)
                .await?;
                false
            }
            Some(_) => {
                unchanged += 1;
                false
            }
        };
        if changed {
            sqlx::query(
                "INSERT INTO health_history (tenant_id, service_id, observed_at, status) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, service_id, observed_at) DO UPDATE SET status = excluded.status",
            )
            .bind(tenant_id)
            .bind(&o.service_id)
            .bind(&now)
            .bind(o.status.as_str())
            .execute(&mut **tx)
            .await?;
        }
    }
    insert_health(tx, tenant_id, &now, &fresh).await?;
    if unchanged > 0 {
        // everything listed was written above except these: refresh them at once
        let ids: Vec<&str> = listing.iter().map(|o| o.service_id.as_str()).collect();
        sqlx::query(sql(format!(
            "UPDATE health_current SET last_seen = $2 WHERE tenant_id = $3 AND last_seen <> $2 AND service_id {}",
            any_of(1)
        )))
        .bind(id_list(&ids))
        .bind(&now)
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(summary)
}

pub(crate) async fn health(pool: &Pool<Db>, tenant: Option<&str>) -> Result<Vec<HealthRow>> {
    let rows = sqlx::query(
        "SELECT t.name, h.service_id, h.service, h.status, h.since, h.last_seen FROM health_current h \
         JOIN tenants t ON t.id = h.tenant_id WHERE ($1 = '' OR t.name = $1) ORDER BY t.name, h.service",
    )
    .bind(tenant.unwrap_or(""))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HealthRow {
                tenant: r.try_get("name")?,
                service_id: r.try_get("service_id")?,
                service: r.try_get("service")?,
                status: r.try_get("status")?,
                since: read_ts(r.try_get("since")?)?,
                last_seen: read_ts(r.try_get("last_seen")?)?,
            })
        })
        .collect()
}

/// ` AND …` of a health summary's rows `h` (joined to their tenant `t`).
fn push_health_filter(qb: &mut QueryBuilder<Db>, scope: &InScope, f: &HealthFilter<'_>) {
    push_in_scope(qb, scope, "h");
    if let Some(t) = f.tenant {
        qb.push(" AND t.name = ");
        qb.push_bind(t.trim().to_lowercase());
    }
    if let Some(s) = f.service {
        qb.push(" AND LOWER(h.service) = ");
        qb.push_bind(s.trim().to_lowercase());
    }
}

pub(crate) async fn health_summary(pool: &Pool<Db>, f: &HealthFilter<'_>) -> Result<Vec<HealthStatusCount>> {
    let Some(scope) = resolve_scope(pool, f.scope).await? else {
        return Ok(Vec::new());
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT LOWER(h.service) AS k, MIN(h.service) AS service, h.status, COUNT(*) AS n, MIN(h.since) AS since \
         FROM health_current h JOIN tenants t ON t.id = h.tenant_id WHERE 1 = 1",
    );
    push_health_filter(&mut qb, &scope, f);
    qb.push(" GROUP BY LOWER(h.service), h.status");
    let mut out = Vec::new();
    for r in qb.build().fetch_all(pool).await? {
        out.push(HealthStatusCount {
            key: r.try_get("k")?,
            service: r.try_get("service")?,
            status: r.try_get("status")?,
            count: r.try_get("n")?,
            since: read_ts(r.try_get("since")?)?,
            tenants: Vec::new(),
        });
    }
    // the first tenants of each status worth naming, by name
    let named: Vec<(String, String)> =
        out.iter().filter(|c| !f.unnamed.iter().any(|u| u.eq_ignore_ascii_case(&c.status))).map(|c| (c.key.clone(), c.status.clone())).collect();
    if named.is_empty() || f.named == 0 {
        return Ok(out);
    }
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT x.k, x.status, x.name FROM (SELECT LOWER(h.service) AS k, h.status, t.name, \
         ROW_NUMBER() OVER (PARTITION BY LOWER(h.service), h.status ORDER BY t.name) AS r \
         FROM health_current h JOIN tenants t ON t.id = h.tenant_id WHERE 1 = 1",
    );
    push_health_filter(&mut qb, &scope, f);
    if !f.unnamed.is_empty() {
        qb.push(" AND LOWER(h.status) NOT IN (");
        let mut sep = qb.separated(", ");
        for u in f.unnamed {
            sep.push_bind(u.to_lowercase());
        }
        qb.push(")");
    }
    qb.push(") x WHERE x.r <= ");
    qb.push_bind(f.named);
    qb.push(" ORDER BY x.k, x.status, x.name");
    for r in qb.build().fetch_all(pool).await? {
        let (k, status, name): (String, String, String) = (r.try_get("k")?, r.try_get("status")?, r.try_get("name")?);
        if let Some(c) = out.iter_mut().find(|c| c.key == k && c.status == status) {
            c.tenants.push(name);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- tenants, runs, counts

pub(crate) async fn tenants(pool: &Pool<Db>) -> Result<Vec<TenantRow>> {
    tenant_rows(pool, None).await
}

pub(crate) async fn tenant(pool: &Pool<Db>, name: &str) -> Result<Option<TenantRow>> {
    Ok(tenant_rows(pool, Some(name)).await?.into_iter().next())
}

pub(crate) async fn tenant_marks(pool: &Pool<Db>, name: &str) -> Result<Option<crate::TenantMarks>> {
    let row = sqlx::query(
        "SELECT messages_complete_at, issues_complete_at, messages_watermark, issues_watermark \
         FROM tenants WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(crate::TenantMarks {
            messages_complete_at: read_ts_opt(r.try_get("messages_complete_at")?)?,
            issues_complete_at: read_ts_opt(r.try_get("issues_complete_at")?)?,
            messages_watermark: read_ts_opt(r.try_get("messages_watermark")?)?,
            issues_watermark: read_ts_opt(r.try_get("issues_watermark")?)?,
        })
    })
    .transpose()
}

pub(crate) async fn record_sync(
    pool: &Pool<Db>,
    writer: &Writer,
    name: &str,
    at: &Timestamp,
    error: Option<&str>,
    failing_after: i64,
) -> Result<()> {
    let (_writer, mut tx) = begin_write(pool, writer, "record_sync").await?;
    let now = at.to_canonical();
    let id = ensure_tenant(&mut tx, name, &now).await?;
    write_sync_outcome(&mut tx, id, &now, error, failing_after).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a sync's outcome, counts failures in a row, and records the
/// tenant's `tenant.sync_failing` / `tenant.sync_recovered` event when the
/// count crosses `failing_after` (`[notify] sync_failing_after`, by default
/// `notify::SYNC_FAILING_AFTER`; in the same transaction).
async fn write_sync_outcome(tx: &mut Tx, tenant_id: i64, at: &str, error: Option<&str>, failing_after: i64) -> Result<()> {
    let before = sqlx::query("SELECT name, sync_failures FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE tenants SET last_sync_at = $1, last_sync_error = $2, \
         last_ok_sync_at = CASE WHEN $2 IS NULL THEN $1 ELSE last_ok_sync_at END, \
         sync_failures = CASE WHEN $2 IS NULL THEN 0 ELSE sync_failures + 1 END WHERE id = $3",
    )
    .bind(at)
    .bind(error)
    .bind(tenant_id)
    .execute(&mut **tx)
    .await?;
    if let Some(row) = before {
        let name: String = row.try_get("name")?;
        let failures: i64 = row.try_get("sync_failures")?;
        if let Some(e) = changedesk_core::notify::sync_event(&name, failures, error, read_ts(at.to_string())?, failing_after) {
            insert_events(tx, &[e], at).await?;
        }
    }
    Ok(())
}

/// Several tenants' syncs in one transaction (group commit). Each tenant's
/// part is still atomic on its own: when one fails, the whole transaction
/// is rolled back and each tenant is loaded again in a transaction of its
/// own, so only the failing one is left out. (Savepoints would do the same
/// without the second pass, but SQLite then copies every page a tenant
/// touches into a statement journal: slower and bigger in the common case
/// where nothing fails.) The outer error is for what fails them all.
pub(crate) async fn import_batches(
    pool: &Pool<Db>,
    writer: &Writer,
    batches: &[(&str, &TenantBatch<'_>, &BatchDigests<'_>)],
    failing_after: i64,
) -> Result<Vec<Result<BatchSummary>>> {
    if batches.len() > 1 {
        let (mut w, mut tx) = begin_load(pool, writer, "tenant batches").await?;
        let mut out = Vec::with_capacity(batches.len());
        let mut failed = false;
        let mut changed = false;
        for (tenant, batch, digests) in batches {
            let learned = Learned::new(&w.state);
            match import_tenant(&mut tx, tenant, batch, digests, learned, failing_after).await {
                Ok((summary, remember, tenant_changed)) => {
                    changed |= tenant_changed;
                    // remembered now so the next tenant of the group finds
                    // what this one wrote; forgotten if this transaction
                    // does not commit
                    w.state.remember(remember);
                    out.push(summary);
                }
                Err(e) => {
                    tracing::info!(tenant, error = %e, "a tenant of a group failed: loading the group one by one");
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            if changed {
                count_write(&mut w, writer, &mut tx).await?;
            }
            let t = std::time::Instant::now();
            match commit(tx).await {
                Ok(()) => {
                    tracing::debug!(tenants = batches.len(), commit_us = t.elapsed().as_micros() as u64, "tenant batches committed");
                    return Ok(out.into_iter().map(Ok).collect());
                }
                Err(e) => {
                    *w.state = WriterState::default();
                    return Err(e);
                }
            }
        }
        *w.state = WriterState::default();
        tx.rollback().await?;
    }
    let mut out = Vec::with_capacity(batches.len());
    for (tenant, batch, digests) in batches {
        out.push(import_batch(pool, writer, tenant, batch, digests, failing_after).await);
    }
    Ok(out)
}

/// One tenant's sync in one transaction: its listings, then the outcome.
pub(crate) async fn import_batch(
    pool: &Pool<Db>,
    writer: &Writer,
    tenant: &str,
    batch: &TenantBatch<'_>,
    digests: &BatchDigests<'_>,
    failing_after: i64,
) -> Result<BatchSummary> {
    let (mut w, mut tx) = begin_load(pool, writer, "tenant batch").await?;
    let learned = Learned::new(&w.state);
    let (summary, remember, changed) = import_tenant(&mut tx, tenant, batch, digests, learned, failing_after).await?;
    if changed {
        count_write(&mut w, writer, &mut tx).await?;
    }
    let t = std::time::Instant::now();
    commit(tx).await?;
    w.state.remember(remember);
    tracing::debug!(tenant, commit_us = t.elapsed().as_micros() as u64, "tenant batch committed");
    Ok(summary)
}

/// One tenant's part of [`import_batches`], and whether it changed what
/// kept answers show (a new tenant, or its posts: see `begin_load`).
async fn import_tenant(
    tx: &mut Tx,
    tenant: &str,
    batch: &TenantBatch<'_>,
    digests: &BatchDigests<'_>,
    mut learned: Learned<'_>,
    failing_after: i64,
) -> Result<(BatchSummary, Remember, bool)> {
    let prepared = batch.messages.as_ref().map(|(m, _)| prepare_messages(m, &digests.messages));
    let t0 = std::time::Instant::now();
    let (tenant_id, created) = ensure_tenant_created(tx, tenant, &batch.at.to_canonical()).await?;
    let mut out = BatchSummary::default();
    let t1 = std::time::Instant::now();
    if let (Some(p), Some((_, opts))) = (&prepared, &batch.messages) {
        out.messages = Some(load_messages(tx, tenant, tenant_id, p, opts, &mut learned).await?);
    }
    failpoint::hit("sync.messages_stored");
    if failpoint::tenant_load_fails(tenant) {
        return Err(StoreError::Invalid(format!("{tenant}: this load fails on purpose (test)")));
    }
    let t2 = std::time::Instant::now();
    if let Some((incidents, opts)) = &batch.issues {
        out.issues = Some(load_incidents(tx, tenant, tenant_id, incidents, &digests.issues, opts, &mut learned).await?);
    }
    let remember = learned.finish(tx).await?;
    let t3 = std::time::Instant::now();
    if let Some((overviews, opts)) = &batch.health {
        out.health = Some(load_health(tx, tenant, tenant_id, overviews, opts).await?);
    }
    let runs: Vec<(&str, &ImportOptions, &ImportSummary)> = [
        ("messages", batch.messages.as_ref().map(|(_, o)| o), out.messages.as_ref()),
        ("issues", batch.issues.as_ref().map(|(_, o)| o), out.issues.as_ref()),
        ("healthOverviews", batch.health.as_ref().map(|(_, o)| o), out.health.as_ref()),
    ]
    .into_iter()
    .filter_map(|(kind, opts, summary)| Some((kind, opts?, summary?)))
    .collect();
    insert_runs(tx, tenant_id, &runs).await?;
    if let Some(error) = &batch.record {
        write_sync_outcome(tx, tenant_id, &batch.at.to_canonical(), error.as_deref(), failing_after).await?;
    }
    tracing::debug!(
        tenant,
        tenant_us = (t1 - t0).as_micros() as u64,
        messages_us = (t2 - t1).as_micros() as u64,
        issues_us = (t3 - t2).as_micros() as u64,
        health_us = t3.elapsed().as_micros() as u64,
        "tenant batch stored"
    );
    // what kept answers show: posts and their links (tenant names too);
    // incidents and health are read afresh (see `begin_load`)
    let changed = created || out.messages.as_ref().is_some_and(ImportSummary::changed);
    Ok((out, remember, changed))
}

/// The columns of a [`TenantRow`] from `tenants t` (its counts by
/// subqueries, evaluated for the rows returned only).
const TENANT_ROW_COLUMNS: &str = "t.name, t.created_at, t.messages_complete_at, t.issues_complete_at, \
     t.messages_watermark, t.issues_watermark, t.last_sync_at, t.last_sync_error, t.last_ok_sync_at, t.sync_failures, \
     (SELECT COUNT(*) FROM post_tenants l WHERE l.tenant_id = t.id AND l.visible) AS posts_visible, \
     (SELECT COUNT(*) FROM post_tenants l WHERE l.tenant_id = t.id) AS posts_seen, \
     (SELECT COUNT(*) FROM incident_tenants l WHERE l.tenant_id = t.id AND l.visible) AS incidents_visible";

async fn tenant_rows(pool: &Pool<Db>, name: Option<&str>) -> Result<Vec<TenantRow>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {TENANT_ROW_COLUMNS} FROM tenants t WHERE ($1 = '' OR t.name = $1) ORDER BY t.name"
    )))
    .bind(name.unwrap_or(""))
    .fetch_all(pool)
    .await?;
    rows.iter().map(tenant_row).collect()
}

fn tenant_row(r: &DbRow) -> Result<TenantRow> {
    Ok(TenantRow {
        name: r.try_get("name")?,
        created_at: read_ts(r.try_get("created_at")?)?,
        messages_complete_at: read_ts_opt(r.try_get("messages_complete_at")?)?,
        issues_complete_at: read_ts_opt(r.try_get("issues_complete_at")?)?,
        messages_watermark: read_ts_opt(r.try_get("messages_watermark")?)?,
        issues_watermark: read_ts_opt(r.try_get("issues_watermark")?)?,
        last_sync_at: read_ts_opt(r.try_get("last_sync_at")?)?,
        last_sync_error: r.try_get("last_sync_error")?,
        last_ok_sync_at: read_ts_opt(r.try_get("last_ok_sync_at")?)?,
        sync_failures: r.try_get("sync_failures")?,
        posts_visible: r.try_get("posts_visible")?,
        posts_seen: r.try_get("posts_seen")?,
        incidents_visible: r.try_get("incidents_visible")?,
    })
}

pub(crate) async fn runs(pool: &Pool<Db>, tenant: Option<&str>, limit: i64) -> Result<Vec<RunRow>> {
    if let Some(t) = tenant {
        tenant_id(pool, t).await?;
    }
    let rows = sqlx::query(
        "SELECT r.id, t.name, r.kind, r.source, r.complete, r.started_at, r.finished_at, r.items, r.new_items, \
         r.updated_items, r.gone_items, r.rejected_items FROM runs r JOIN tenants t ON t.id = r.tenant_id \
         WHERE ($1 = '' OR t.name = $1) ORDER BY r.id DESC LIMIT $2",
    )
    .bind(tenant.unwrap_or(""))
    .bind(limit.max(1))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RunRow {
                id: r.try_get("id")?,
                tenant: r.try_get("name")?,
                kind: r.try_get("kind")?,
                source: r.try_get("source")?,
                complete: r.try_get("complete")?,
                started_at: read_ts(r.try_get("started_at")?)?,
                finished_at: read_ts(r.try_get("finished_at")?)?,
                items: r.try_get("items")?,
                new: r.try_get("new_items")?,
                updated: r.try_get("updated_items")?,
                gone: r.try_get("gone_items")?,
                rejected: r.try_get("rejected_items")?,
            })
        })
        .collect()
}

pub(crate) async fn archive_changes(pool: &Pool<Db>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT n FROM archive_changes WHERE id = 1").fetch_one(pool).await?)
}

pub(crate) async fn ping(pool: &Pool<Db>) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// A write that changes nothing: `WRITE_CHECK` (on SQLite, allocating a
/// page and giving it back), then one row written unchanged and committed.
pub(crate) async fn check_writes(pool: &Pool<Db>, writer: &Writer) -> Result<()> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "check writes").await?;
    for statement in WRITE_CHECK {
        sqlx::query(*statement).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE archive_changes SET n = n WHERE id = 1").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn counts(pool: &Pool<Db>) -> Result<Counts> {
    async fn n(pool: &Pool<Db>, q: &'static str) -> Result<i64> {
        Ok(sqlx::query(q).fetch_one(pool).await?.try_get("n")?)
    }
    Ok(Counts {
        tenants: n(pool, "SELECT COUNT(*) AS n FROM tenants").await?,
        posts: n(pool, "SELECT COUNT(*) AS n FROM posts").await?,
        post_links: n(pool, "SELECT COUNT(*) AS n FROM post_tenants").await?,
        post_revisions: n(pool, "SELECT COUNT(*) AS n FROM post_revisions").await?,
        gone_links: n(pool, "SELECT COUNT(*) AS n FROM post_tenants WHERE NOT visible").await?,
        expired_posts: n(
            pool,
            "SELECT COUNT(*) AS n FROM posts p WHERE NOT EXISTS \
             (SELECT 1 FROM post_tenants l WHERE l.post_id = p.id AND l.visible)",
        )
        .await?,
        incidents: n(pool, "SELECT COUNT(*) AS n FROM incidents").await?,
        incident_links: n(pool, "SELECT COUNT(*) AS n FROM incident_tenants").await?,
        incident_revisions: n(pool, "SELECT COUNT(*) AS n FROM incident_revisions").await?,
        incident_posts: n(pool, "SELECT COUNT(*) AS n FROM incident_posts").await?,
        incident_status_changes: n(pool, "SELECT COUNT(*) AS n FROM incident_status_history").await?,
        health_services: n(pool, "SELECT COUNT(*) AS n FROM health_current").await?,
        health_changes: n(pool, "SELECT COUNT(*) AS n FROM health_history").await?,
        runs: n(pool, "SELECT COUNT(*) AS n FROM runs").await?,
    })
}
