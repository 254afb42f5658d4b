// A person's own settings (their time zone): written once, `include!`d into
// `mod sqlite` and `mod postgres` after admin_ops.rs and auth_ops.rs (whose
// `audit` and `find_user` helpers it uses). Every change is audited in its
// own transaction, as `user.update` like an admin's change to a user.

pub(crate) async fn user_time_zone(pool: &Pool<Db>, user_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT time_zone FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
    Ok(row.try_get("time_zone")?)
}

pub(crate) async fn set_user_time_zone(
    pool: &Pool<Db>,
    writer: &Writer,
    user_id: i64,
    time_zone: Option<&str>,
    actor: &str,
    at: &Timestamp,
) -> Result<Option<String>> {
    // checked (and spelled as the database spells it) before anything is
    // written: a name that is not a time zone is never stored
    let zone = time_zone
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(super::checked_time_zone)
        .transpose()?;
    let now = at.to_canonical();
    // bookkeeping: no answer the server keeps depends on it (the web UI keys
    // what it keeps by the viewer's time zone), so it leaves them kept
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "user settings").await?;
    let Some(user) = find_user(&mut *tx, UserKey::Id(user_id)).await? else {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    };
    if user.time_zone == zone {
        return Ok(zone);
    }
    sqlx::query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
        .bind(&zone)
        .bind(&now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({"time_zone": zone, "previous_time_zone": user.time_zone});
    audit(&mut tx, &now, actor, "user.update", &user.name, &detail).await?;
    tx.commit().await?;
    Ok(zone)
}
