// PostgreSQL's bulk inserts of new tenant links and tenant details,
// `include!`d into `mod postgres` next to ops.rs (which calls them).

/// One statement whatever the number of links: the columns go as arrays and
/// `UNNEST` turns them back into rows. Its text never changes, so it is
/// prepared once per connection; a multi-row `VALUES` list would be a new
/// statement of thousands of parameters for every batch size, to parse,
/// describe and plan again (it cost ten times the insert itself).
async fn insert_links(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = links.iter().map(|k| k.id.as_str()).collect();
    let digests: Vec<&str> = links.iter().map(|k| k.details_digest.as_str()).collect();
    let seen: Vec<Option<&str>> = links.iter().map(|k| k.last_modified.as_deref()).collect();
    sqlx::query(sql(format!(
        "INSERT INTO {table} ({key}, tenant_id, details_digest, seen_last_modified, first_seen, last_seen, visible) \
         SELECT u.id, $1, u.digest, u.seen, $2, $2, TRUE \
         FROM UNNEST($3::text[], $4::text[], $5::text[]) AS u(id, digest, seen)",
        table = l.table,
        key = l.key
    )))
    .bind(load.tenant_id)
    .bind(load.now)
    .bind(ids)
    .bind(digests)
    .bind(seen)
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
    let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| r.2).collect();
    sqlx::query(
        "INSERT INTO health_current (tenant_id, service_id, service, status, since, last_seen) \
         SELECT $1, u.id, u.name, u.status, $2, $2 FROM UNNEST($3::text[], $4::text[], $5::text[]) AS u(id, name, status)",
    )
    .bind(tenant_id)
    .bind(now)
    .bind(&ids)
    .bind(&names)
    .bind(&statuses)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO health_history (tenant_id, service_id, observed_at, status) \
         SELECT $1, u.id, $2, u.status FROM UNNEST($3::text[], $4::text[]) AS u(id, status) \
         ON CONFLICT (tenant_id, service_id, observed_at) DO UPDATE SET status = excluded.status",
    )
    .bind(tenant_id)
    .bind(now)
    .bind(&ids)
    .bind(&statuses)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores tenant details (digest, JSON) that may already be there.
async fn insert_details(tx: &mut Tx, rows: &[(String, String)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let digests: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let details: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    sqlx::query(
        "INSERT INTO tenant_details (digest, details) SELECT * FROM UNNEST($1::text[], $2::text[]) \
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digests)
    .bind(details)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `IN` a list of ids bound as one parameter (`$n`, from [`id_list`]): one
/// statement text whatever the number of ids, so it is prepared once.
fn any_of(n: usize) -> String {
    format!("= ANY(${n}::text[])")
}

/// The ids for [`any_of`]: a text array.
fn id_list<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    ids.to_vec()
}

/// A post's tenant links as one JSON array of `[tenant, details digest,
/// first seen, visible]` (aggregating `post_tenants pt JOIN tenants t`).
const LINK_LIST: &str = "json_agg(json_build_array(t.name, pt.details_digest, pt.first_seen, pt.visible))::text";

/// Integers (the expression between the two parts) as a JSON array: as
/// text, or JSON where the database keeps it so.
const ID_LIST: [&str; 2] = ["json_agg(", ")::text"];

/// Whether a work item (`w.item`) asks for a change request /
/// communication, as the text `true` (else `false` or NULL).
const ITEM_REQUIRES_CR: &str = "(w.item::json ->> 'requires_change_request')";
const ITEM_REQUIRES_COMMS: &str = "(w.item::json ->> 'requires_communication')";

/// A work item's labels (`w.item`'s `labels`) as a JSON array's text, or
/// NULL.
const ITEM_LABELS: &str = "(w.item::json -> 'labels')::text";

/// The rows of a query as one JSON array of arrays (the columns between
/// the two parts).
const JSON_ROWS: [&str; 2] = ["json_agg(json_build_array(", "))::text"];

// ---------------------------------------------------------------- queries
// SQL of query_ops.rs that differs per database.

/// Ends a correlated `EXISTS` subquery that must stay a check of each row
/// (a page walking a sort index). An `OFFSET` keeps PostgreSQL from turning
/// the subquery into a join it may run the other way round.
const KEEP_CORRELATED: &str = " OFFSET 0";

/// Text sort keys compare bytes, as on SQLite, whatever the database's
/// collation (the sort indexes of migration 0006 use the same).
const BYTE_ORDER: &str = " COLLATE \"C\"";

/// `IN` tenant ids bound between the two parts (from [`tenant_id_param`]).
/// A text list bound as one parameter ([`id_list`]), split around the
/// bind: ` IN (…)` or `= ANY(…)`.
const ANY_BOUND: [&str; 2] = ["= ANY(", "::text[])"];

const TENANT_IDS_IN: [&str; 2] = ["= ANY(", "::bigint[])"];

fn tenant_id_param(ids: &[i64]) -> Vec<i64> {
    ids.to_vec()
}

/// `IN` text ids bound between the two parts (from [`id_list`]).
const TEXT_IDS_IN: [&str; 2] = ["= ANY(", "::text[])"];

/// A search's text as `to_tsquery` input, exclusions included (`!'word'`
/// alone is a valid query, so nothing is left for `TEXT_EXCLUDED`).
const RENDER_TEXT_MATCH: fn(&changedesk_core::search::Query) -> Option<String> =
    changedesk_core::search::to_tsquery;
const RENDER_TEXT_EXCLUDED: fn(&changedesk_core::search::Query) -> Option<String> = |_| None;

/// Posts `p` whose title or body match the query bound between the parts.
const TEXT_MATCH: [&str; 2] = ["p.search @@ to_tsquery('english', ", ")"];
/// The same for a page read in the order of a sort index: PostgreSQL's
/// planner chooses between the GIN index and the sort index itself.
const TEXT_MATCH_WALK: [&str; 2] = TEXT_MATCH;
/// Not needed: PostgreSQL's planner estimates the matches itself.
const TEXT_MATCH_COUNT: Option<&str> = None;
/// Never used (see `RENDER_TEXT_EXCLUDED`).
const TEXT_EXCLUDED: [&str; 2] = ["NOT p.search @@ to_tsquery('english', ", ")"];

/// The posts `p` matching the query bound between the parts, with their
/// relevance `RANK_SCORE` (cover density, title weight A, body B; negated so
/// that lower is better, as on SQLite).
const RANKED_FROM: [&str; 2] = [
    "(SELECT to_tsquery('english', ",
    ") AS tq) f JOIN posts p ON p.search @@ f.tq",
];
const RANK_SCORE: &str = "(-ts_rank_cd(p.search, f.tq))::float8";

/// Each post of the ids `$2` with an excerpt of its body, the matches of
/// `$1` between the marks `\u{1}` and `\u{2}` (see `query::split_snippet`).
/// `ts_headline` parses all the text it is given (about 0.4 ms for a body of
/// a few kilobytes, fifty of them a page), so it is given 800 characters
/// from a little before the first place a word of the query starts; the
/// whole body when none is found as written (a stem that is not how the
/// word starts).
const SNIPPETS: &str = "SELECT p.id, ts_headline('english', CASE WHEN w.pos IS NULL THEN p.body_text \
     ELSE substr(p.body_text, greatest(1, w.pos - 200), 800) END, q.tq, \
     'StartSel=' || chr(1) || ', StopSel=' || chr(2) || \
     ', MaxWords=24, MinWords=8, ShortWord=2, MaxFragments=2, FragmentDelimiter=\" … \"') AS snippet \
     FROM posts p CROSS JOIN (SELECT to_tsquery('english', $1) AS tq) q \
     CROSS JOIN LATERAL (SELECT min(nullif(strpos(lower(p.body_text), m.l[1]), 0)) AS pos \
     FROM regexp_matches(q.tq::text, '''([^'']+)''', 'g') AS m(l)) w \
     WHERE p.id = ANY($2::text[])";

/// Posts new to the archive (first revisions): the posts, their
/// revisions, services and tags in four statements, whatever their number
/// (rows as one JSON array, turned back into rows by `json_to_recordset`).
async fn insert_new_posts(tx: &mut Tx, posts: &[NewPost<'_>], tenant_id: i64, now: &str) -> Result<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let rows = to_json(posts);
    sqlx::query(
        "INSERT INTO posts (id, title, category, severity, services, tags, is_major, start_at, end_at, act_by, \
         last_modified, body_html, body_text, has_attachments, digest, revision, updated_at, first_seen, \
         timeline, timeline_version, rollout_start, preview) \
         SELECT r.id, r.title, r.category, r.severity, r.services, r.tags, r.is_major, r.start_at, r.end_at, r.act_by, \
         r.last_modified, r.body_html, r.body_text, r.has_attachments, r.digest, 1, $2, $2, \
         r.timeline, r.timeline_version, r.rollout_start, r.preview \
         FROM json_to_recordset($1::json) AS r(id text, title text, category text, severity text, services text, \
         tags text, is_major boolean, start_at text, end_at text, act_by text, last_modified text, body_html text, \
         body_text text, has_attachments boolean, digest text, timeline text, timeline_version bigint, \
         rollout_start text, preview text)",
    )
    .bind(&rows)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO post_revisions (post_id, revision, last_modified, recorded_at, tenant_id, digest, content, changes, \
         timeline, timeline_version) \
         SELECT r.id, 1, r.last_modified, $2, $3, r.digest, r.content, '[]', r.timeline, r.timeline_version \
         FROM json_to_recordset($1::json) AS r(id text, last_modified text, digest text, content text, timeline text, \
         timeline_version bigint)",
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
        let ids: Vec<&str> = pairs.iter().map(|p| p.0).collect();
        let values: Vec<&str> = pairs.iter().map(|p| p.1).collect();
        sqlx::query(sql(format!(
            "INSERT INTO {table} (post_id, {column}) SELECT * FROM UNNEST($1::text[], $2::text[])"
        )))
        .bind(ids)
        .bind(values)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
