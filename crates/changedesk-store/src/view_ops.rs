// Saved views of the inbox: written once, `include!`d into `mod sqlite` and
// `mod postgres` after admin_ops.rs and auth_ops.rs (whose `audit`,
// `find_user` and `checked_text` helpers it uses). Every change is audited in
// its own transaction.

use super::{MAX_SAVED_VIEWS, MAX_VIEW_NAME, MAX_VIEW_QUERY, SavedView};

const VIEW_COLUMNS: &str = "id, user_id, name, created_at, updated_at, query";

fn view_from(row: &DbRow) -> Result<SavedView> {
    Ok(SavedView {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        query: row.try_get("query")?,
        created_at: read_ts(row.try_get("created_at")?)?,
        updated_at: read_ts(row.try_get("updated_at")?)?,
    })
}

/// The key a view's name is unique by: lower-cased (every letter, not only
/// ASCII, and the same on both databases since Rust computes it).
fn view_key(name: &str) -> String {
    name.to_lowercase()
}

/// By name ignoring case, then oldest first: sorted here, so both databases
/// agree whatever their collation.
fn sort_views(views: &mut [SavedView]) {
    views.sort_by_key(|v| (view_key(&v.name), v.id));
}

pub(crate) async fn saved_views(pool: &Pool<Db>, user_id: i64) -> Result<Vec<SavedView>> {
    let rows = sqlx::query(sql(format!("SELECT {VIEW_COLUMNS} FROM saved_views WHERE user_id = $1")))
        .bind(user_id)
        .fetch_all(pool)
        .await?;
    let mut views = rows.iter().map(view_from).collect::<Result<Vec<_>>>()?;
    sort_views(&mut views);
    Ok(views)
}

pub(crate) async fn save_view(
    pool: &Pool<Db>,
    writer: &Writer,
    user_id: i64,
    name: &str,
    query: &str,
    actor: &str,
    at: &Timestamp,
) -> Result<SavedView> {
    let name = checked_text("view name", name, MAX_VIEW_NAME)?;
    if name.is_empty() {
        return Err(StoreError::Invalid("a saved view needs a name".to_string()));
    }
    let query = query.trim().trim_start_matches('?');
    if query.len() > MAX_VIEW_QUERY {
        return Err(StoreError::Invalid(format!(
            "a saved view's query is longer than {MAX_VIEW_QUERY} bytes"
        )));
    }
    if query.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::Invalid(
            "a saved view's query may not hold spaces or control characters (it is a URL's query string)".to_string(),
        ));
    }
    let key = view_key(&name);
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "saved view").await?;
    let Some(user) = find_user(&mut *tx, UserKey::Id(user_id)).await? else {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    };
    let existing = sqlx::query(sql(format!(
        "SELECT {VIEW_COLUMNS} FROM saved_views WHERE user_id = $1 AND name_key = $2"
    )))
    .bind(user_id)
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await?
    .as_ref()
    .map(view_from)
    .transpose()?;
    let id = match &existing {
        Some(old) => {
            sqlx::query("UPDATE saved_views SET query = $1, updated_at = $2 WHERE id = $3")
                .bind(query)
                .bind(&now)
                .bind(old.id)
                .execute(&mut *tx)
                .await?;
            old.id
        }
        None => {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM saved_views WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if n as usize >= MAX_SAVED_VIEWS {
                return Err(StoreError::Invalid(format!(
                    "{} has {MAX_SAVED_VIEWS} saved views, the most one may keep: delete one first",
                    user.name
                )));
            }
            let row = sqlx::query(
                "INSERT INTO saved_views (user_id, name_key, name, created_at, updated_at, query) \
                 VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
            )
            .bind(user_id)
            .bind(&key)
            .bind(&name)
            .bind(&now)
            .bind(query)
            .fetch_one(&mut *tx)
            .await?;
            row.try_get("id")?
        }
    };
    let detail = match &existing {
        Some(old) => serde_json::json!({"view": old.name, "query": query, "previous_query": old.query}),
        None => serde_json::json!({"view": name, "query": query}),
    };
    audit(&mut tx, &now, actor, "view.save", &user.name, &detail).await?;
    let view = sqlx::query(sql(format!("SELECT {VIEW_COLUMNS} FROM saved_views WHERE id = $1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let view = view_from(&view)?;
    tx.commit().await?;
    Ok(view)
}

pub(crate) async fn delete_saved_view(
    pool: &Pool<Db>,
    writer: &Writer,
    user_id: i64,
    id: i64,
    actor: &str,
    at: &Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "saved view").await?;
    let Some(view) = sqlx::query(sql(format!(
        "SELECT {VIEW_COLUMNS} FROM saved_views WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?
    .as_ref()
    .map(view_from)
    .transpose()?
    else {
        return Err(StoreError::NotFound(format!("saved view {id}")));
    };
    let Some(user) = find_user(&mut *tx, UserKey::Id(user_id)).await? else {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    };
    sqlx::query("DELETE FROM saved_views WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({"view": view.name, "query": view.query});
    audit(&mut tx, &now, actor, "view.delete", &user.name, &detail).await?;
    tx.commit().await?;
    Ok(())
}
