// Feeds of saved views, and the posts the calendar and the feeds show:
// written once, `include!`d into `mod sqlite` and `mod postgres` after
// admin_ops.rs, auth_ops.rs and view_ops.rs (whose `audit`, `find_user`,
// `user_from`, `checked_text`, `checked_hash` and `view_key` helpers it
// uses). Creating and revoking are audited in their own bookkeeping
// transaction; only the hash of a feed's secret reaches here.

use super::{CalendarPost, MAX_CALENDAR_POSTS, MAX_FEED_HINT, MAX_FEEDS_PER_USER, ViewFeed};

const FEED_COLUMNS: &str = "f.id AS f_id, f.user_id AS f_user_id, f.view_id AS f_view_id, v.name AS f_view_name, \
    f.hint AS f_hint, f.created_at AS f_created_at, f.last_used_at AS f_last_used_at, v.query AS f_view_query";

const FEED_FROM: &str = "view_feeds f JOIN saved_views v ON v.id = f.view_id";

fn feed_from(row: &DbRow) -> Result<ViewFeed> {
    Ok(ViewFeed {
        id: row.try_get("f_id")?,
        user_id: row.try_get("f_user_id")?,
        view_id: row.try_get("f_view_id")?,
        view_name: row.try_get("f_view_name")?,
        view_query: row.try_get("f_view_query")?,
        hint: row.try_get("f_hint")?,
        created_at: read_ts(row.try_get("f_created_at")?)?,
        last_used_at: read_ts_opt(row.try_get("f_last_used_at")?)?,
    })
}

/// By view name ignoring case, then oldest first: sorted here, so both
/// databases agree whatever their collation.
fn sort_feeds(feeds: &mut [ViewFeed]) {
    feeds.sort_by_key(|f| (view_key(&f.view_name), f.id));
}

async fn find_feed<'e, E>(e: E, user_id: i64, id: i64) -> Result<Option<ViewFeed>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let row = sqlx::query(sql(format!(
        "SELECT {FEED_COLUMNS} FROM {FEED_FROM} WHERE f.id = $1 AND f.user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(feed_from).transpose()
}

pub(crate) async fn view_feeds(pool: &Pool<Db>, user_id: i64) -> Result<Vec<ViewFeed>> {
    let rows = sqlx::query(sql(format!("SELECT {FEED_COLUMNS} FROM {FEED_FROM} WHERE f.user_id = $1")))
        .bind(user_id)
        .fetch_all(pool)
        .await?;
    let mut feeds = rows.iter().map(feed_from).collect::<Result<Vec<_>>>()?;
    sort_feeds(&mut feeds);
    Ok(feeds)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn create_view_feed(
    pool: &Pool<Db>,
    writer: &Writer,
    user_id: i64,
    view_id: i64,
    secret_hash: &str,
    hint: &str,
    actor: &str,
    at: &Timestamp,
) -> Result<ViewFeed> {
    checked_hash("feed secret hash", secret_hash)?;
    let hint = checked_text("feed hint", hint, MAX_FEED_HINT)?;
    checked_hash("feed hint", &hint)?;
    let now = at.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "feed").await?;
    let Some(user) = find_user(&mut *tx, UserKey::Id(user_id)).await? else {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    };
    if user.disabled {
        return Err(StoreError::Invalid(format!(
            "user `{}` is disabled; enable them before creating a feed",
            user.name
        )));
    }
    let view = sqlx::query("SELECT name FROM saved_views WHERE id = $1 AND user_id = $2")
        .bind(view_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(view) = view else {
        return Err(StoreError::NotFound(format!("saved view {view_id}")));
    };
    let view_name: String = view.try_get("name")?;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM view_feeds WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    if usize::try_from(n).unwrap_or(usize::MAX) >= MAX_FEEDS_PER_USER {
        return Err(StoreError::Invalid(format!(
            "{} has {MAX_FEEDS_PER_USER} feeds, the most one may have: revoke one first",
            user.name
        )));
    }
    let taken: i64 = sqlx::query("SELECT COUNT(*) AS n FROM view_feeds WHERE secret_hash = $1")
        .bind(secret_hash)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    if taken > 0 {
        return Err(StoreError::Conflict("a feed with this secret already exists".to_string()));
    }
    let row = sqlx::query(
        "INSERT INTO view_feeds (user_id, view_id, secret_hash, hint, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(view_id)
    .bind(secret_hash)
    .bind(&hint)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let detail = serde_json::json!({"id": id, "view": view_name, "hint": hint});
    audit(&mut tx, &now, actor, "feed.create", &user.name, &detail).await?;
    let feed = find_feed(&mut *tx, user_id, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("feed {id} vanished while being created")))?;
    tx.commit().await?;
    Ok(feed)
}

pub(crate) async fn revoke_view_feed(
    pool: &Pool<Db>,
    writer: &Writer,
    user_id: i64,
    id: i64,
    actor: &str,
    at: &Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "feed").await?;
    let Some(feed) = find_feed(&mut *tx, user_id, id).await? else {
        return Err(StoreError::NotFound(format!("feed {id}")));
    };
    let Some(user) = find_user(&mut *tx, UserKey::Id(user_id)).await? else {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    };
    sqlx::query("DELETE FROM view_feeds WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({"id": id, "view": feed.view_name, "hint": feed.hint});
    audit(&mut tx, &now, actor, "feed.revoke", &user.name, &detail).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn view_feed_by_secret(pool: &Pool<Db>, secret_hash: &str) -> Result<Option<(ViewFeed, User)>> {
    if secret_hash.trim().is_empty() {
        return Ok(None);
    }
    let row = sqlx::query(sql(format!(
        "SELECT {FEED_COLUMNS}, {USER_COLUMNS} FROM {FEED_FROM} JOIN users u ON u.id = f.user_id \
         WHERE f.secret_hash = $1 AND v.user_id = f.user_id AND NOT u.disabled"
    )))
    .bind(secret_hash)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Some((feed_from(&row)?, user_from(&row)?))),
        None => Ok(None),
    }
}

pub(crate) async fn view_feed_used(
    pool: &Pool<Db>,
    writer: &Writer,
    id: i64,
    now: &Timestamp,
    stale_before: &Timestamp,
) -> Result<()> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "feed").await?;
    sqlx::query("UPDATE view_feeds SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)")
        .bind(now.to_canonical())
        .bind(id)
        .bind(stale_before.to_canonical())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn calendar_posts(pool: &Pool<Db>, ids: &[String]) -> Result<Vec<CalendarPost>> {
    let ids: Vec<&String> = ids.iter().take(MAX_CALENDAR_POSTS).collect();
    let mut found: HashMap<String, CalendarPost> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(250) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT p.id, p.revision, p.first_seen, r.content, r.timeline, r.timeline_version FROM posts p \
             JOIN post_revisions r ON r.post_id = p.id AND r.revision = p.revision WHERE p.id IN (",
        );
        let mut list = qb.separated(", ");
        for id in chunk {
            list.push_bind((*id).clone());
        }
        qb.push(")");
        let rows = qb.build().fetch_all(pool).await?;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let content: MessageContent = from_json(&row.try_get::<String, _>("content")?, &id)?;
            found.insert(
                id.clone(),
                CalendarPost {
                    timeline: timeline_of(row, &content)?,
                    revision: row.try_get("revision")?,
                    first_seen: read_ts(row.try_get("first_seen")?)?,
                    content,
                    id,
                },
            );
        }
    }
    Ok(ids.into_iter().filter_map(|id| found.remove(id)).collect())
}
