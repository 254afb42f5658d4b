// SQLite's bulk inserts of new tenant links and tenant details,
// `include!`d into `mod sqlite` next to ops.rs (which calls them).
//
// The rows go as one JSON array bound to one parameter and `json_each`
// turns them back into rows: one statement text whatever the number of
// rows, so it is prepared once (a multi-row `VALUES` list is a new statement
// for every row count, and the statement cache kept each one, large, in
// memory).
//
// `INSERT OR FAIL`: a constraint error still fails the statement, and the
// load's whole transaction with it, but SQLite no longer has to be able to
// undo the statement alone. With the default (`ABORT`) a multi-row insert
// copies every page it touches that the transaction had written before into
// a statement journal: in a sync's transaction of several tenants, nearly
// every page.

async fn insert_links(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&str, &str, Option<&str>)> = links
        .iter()
        .map(|k| (k.id.as_str(), k.details_digest.as_str(), k.last_modified.as_deref()))
        .collect();
    sqlx::query(sql(format!(
        "INSERT OR FAIL INTO {table} ({key}, tenant_id, details_digest, seen_last_modified, first_seen, last_seen, visible) \
         SELECT j.value ->> 0, $1, j.value ->> 1, j.value ->> 2, $2, $2, TRUE FROM json_each($3) AS j",
        table = l.table,
        key = l.key
    )))
    .bind(load.tenant_id)
    .bind(load.now)
    .bind(to_json(&rows))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores tenant details (digest, JSON) that may already be there.
async fn insert_details(tx: &mut Tx, rows: &[(String, String)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT OR FAIL INTO tenant_details (digest, details) \
         SELECT j.value ->> 0, j.value ->> 1 FROM json_each($1) AS j WHERE TRUE \
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(to_json(rows))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A tenant's services new to `health_current` (service id, name, status),
/// and the first entry of each one's history.
async fn insert_health(tx: &mut Tx, tenant_id: i64, now: &str, rows: &[(&str, &str, &str)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let json = to_json(rows);
    sqlx::query(
        "INSERT OR FAIL INTO health_current (tenant_id, service_id, service, status, since, last_seen) \
         SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2, $2, $2 FROM json_each($3) AS j",
    )
    .bind(tenant_id)
    .bind(now)
    .bind(&json)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT OR FAIL INTO health_history (tenant_id, service_id, observed_at, status) \
         SELECT $1, j.value ->> 0, $2, j.value ->> 2 FROM json_each($3) AS j WHERE TRUE \
         ON CONFLICT (tenant_id, service_id, observed_at) DO UPDATE SET status = excluded.status",
    )
    .bind(tenant_id)
    .bind(now)
    .bind(&json)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `IN` a list of ids bound as one parameter (`$n`, from [`id_list`]): one
/// statement text whatever the number of ids, so it is prepared once.
fn any_of(n: usize) -> String {
    format!("IN (SELECT value FROM json_each(${n}))")
}

/// The ids for [`any_of`]: a JSON array.
fn id_list(ids: &[&str]) -> String {
    to_json(ids)
}

/// A post's tenant links as one JSON array of `[tenant, details digest,
/// first seen, visible]` (aggregating `post_tenants pt JOIN tenants t`).
const LINK_LIST: &str = "json_group_array(json_array(t.name, pt.details_digest, pt.first_seen, \
     CASE WHEN pt.visible THEN json('true') ELSE json('false') END))";

/// Integers (the expression between the two parts) as a JSON array: as
/// text, or JSON where the database keeps it so.
const ID_LIST: [&str; 2] = ["json_group_array(", ")"];

/// Whether a work item (`w.item`) asks for a change request /
/// communication, as the text `true` (else `false` or NULL).
const ITEM_REQUIRES_CR: &str = "CASE json_extract(w.item, '$.requires_change_request') WHEN 1 THEN 'true' ELSE 'false' END";
const ITEM_REQUIRES_COMMS: &str = "CASE json_extract(w.item, '$.requires_communication') WHEN 1 THEN 'true' ELSE 'false' END";

/// A work item's labels (`w.item`'s `labels`) as a JSON array's text, or
/// NULL.
const ITEM_LABELS: &str = "json_extract(w.item, '$.labels')";

/// The rows of a query as one JSON array of arrays (the columns between
/// the two parts).
const JSON_ROWS: [&str; 2] = ["json_group_array(json_array(", "))"];

// ---------------------------------------------------------------- queries
// SQL of query_ops.rs that differs per database.

/// Ends a correlated `EXISTS` subquery that must stay a check of each row
/// (a page walking a sort index). SQLite checks an `EXISTS` per row anyway.
const KEEP_CORRELATED: &str = "";

/// Text sort keys compare bytes: SQLite's default BINARY collation already.
const BYTE_ORDER: &str = "";

/// `IN` tenant ids bound between the two parts (from [`tenant_id_param`]).
/// A text list bound as one parameter ([`id_list`]), split around the
/// bind: ` IN (…)` or `= ANY(…)`.
const ANY_BOUND: [&str; 2] = ["IN (SELECT value FROM json_each(", "))"];

const TENANT_IDS_IN: [&str; 2] = ["IN (SELECT value FROM json_each(", "))"];

fn tenant_id_param(ids: &[i64]) -> String {
    to_json(ids)
}

/// `IN` text ids bound between the two parts (from [`id_list`]).
const TEXT_IDS_IN: [&str; 2] = ["IN (SELECT value FROM json_each(", "))"];

/// A search's text as an FTS5 expression: what must match (with `NOT` for
/// the exclusions) and, when nothing must, what must not.
const RENDER_TEXT_MATCH: fn(&changedesk_core::search::Query) -> Option<String> =
    changedesk_core::search::to_fts5;
const RENDER_TEXT_EXCLUDED: fn(&changedesk_core::search::Query) -> Option<String> =
    changedesk_core::search::fts5_excluded;

/// Posts `p` whose title or body match the expression bound between the parts.
const TEXT_MATCH: [&str; 2] = ["p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ", ")"];
/// As `TEXT_MATCH`, for a page read in the order of a sort index: the `+`
/// keeps SQLite from reading the matches by rowid and sorting them all;
/// each post read is looked up in the matches, gathered once.
const TEXT_MATCH_WALK: [&str; 2] = ["+p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ", ")"];
/// How many posts the expression `$1` matches (the full-text index alone,
/// no other condition): a cheap read of the index's lists.
const TEXT_MATCH_COUNT: Option<&str> = Some("SELECT COUNT(*) AS n FROM posts_fts WHERE posts_fts MATCH $1");
/// Posts `p` whose title and body do not match it.
const TEXT_EXCLUDED: [&str; 2] = ["p.rowid NOT IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ", ")"];

/// The posts `p` matching the expression bound between the parts, with
/// their relevance `RANK_SCORE` (BM25, title words weigh four times body
/// words; lower is better).
const RANKED_FROM: [&str; 2] = [
    "(SELECT rowid AS rid, bm25(posts_fts, 4.0, 1.0) AS score FROM posts_fts WHERE posts_fts MATCH ",
    ") f JOIN posts p ON p.rowid = f.rid",
];
const RANK_SCORE: &str = "f.score";

/// Each post of the ids `$2` with an excerpt of its body, the matches of
/// `$1` between the marks `\u{1}` and `\u{2}` (see `query::split_snippet`).
/// `CROSS JOIN` keeps the posts first: FTS5 then looks up each by rowid
/// instead of walking every match of a common word.
const SNIPPETS: &str = "SELECT p.id, snippet(posts_fts, 1, char(1), char(2), '…', 24) AS snippet \
     FROM posts p CROSS JOIN posts_fts ON posts_fts.rowid = p.rowid \
     WHERE p.id IN (SELECT value FROM json_each($2)) AND posts_fts MATCH $1";

/// Posts new to the archive (first revisions): the posts, their
/// revisions, services and tags in four statements, whatever their number.
async fn insert_new_posts(tx: &mut Tx, posts: &[NewPost<'_>], tenant_id: i64, now: &str) -> Result<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let rows = to_json(posts);
    sqlx::query(
        "INSERT OR FAIL INTO posts (id, title, category, severity, services, tags, is_major, start_at, end_at, act_by, \
         last_modified, body_html, body_text, has_attachments, digest, revision, updated_at, first_seen, \
         timeline, timeline_version, rollout_start, preview) \
         SELECT j.value ->> 'id', j.value ->> 'title', j.value ->> 'category', j.value ->> 'severity', \
         j.value ->> 'services', j.value ->> 'tags', j.value ->> 'is_major', j.value ->> 'start_at', \
         j.value ->> 'end_at', j.value ->> 'act_by', j.value ->> 'last_modified', j.value ->> 'body_html', \
         j.value ->> 'body_text', j.value ->> 'has_attachments', j.value ->> 'digest', 1, $2, $2, \
         j.value ->> 'timeline', j.value ->> 'timeline_version', j.value ->> 'rollout_start', \
         j.value ->> 'preview' \
         FROM json_each($1) AS j",
    )
    .bind(&rows)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT OR FAIL INTO post_revisions (post_id, revision, last_modified, recorded_at, tenant_id, digest, content, changes, \
         timeline, timeline_version) \
         SELECT j.value ->> 'id', 1, j.value ->> 'last_modified', $2, $3, j.value ->> 'digest', j.value ->> 'content', '[]', \
         j.value ->> 'timeline', j.value ->> 'timeline_version' \
         FROM json_each($1) AS j",
    )
    .bind(&rows)
    .bind(now)
    .bind(tenant_id)
    .execute(&mut **tx)
    .await?;
    for (table, column, pairs) in service_and_tag_pairs(posts) {
        if pairs.is_empty() {
            continue;
        }
        sqlx::query(sql(format!(
            "INSERT OR FAIL INTO {table} (post_id, {column}) SELECT j.value ->> 0, j.value ->> 1 FROM json_each($1) AS j"
        )))
        .bind(to_json(&pairs))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
