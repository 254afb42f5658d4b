// Channels declared in the configuration file (see declared.rs): written
// once, `include!`d into `mod sqlite` and `mod postgres` after
// notify_ops.rs (whose `begin_outbox` it uses).

use super::{DeclaredChange, DeclaredSummary, declared_message};

pub(crate) async fn apply_declared_channels(
    pool: &Pool<Db>,
    writer: &Writer,
    file: &str,
    changes: &[DeclaredChange],
    actor: &str,
    at: Timestamp,
) -> Result<DeclaredSummary> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_outbox(pool, writer, "declared channels").await?;
    let mut summary = DeclaredSummary::default();
    for change in changes {
        match change {
            DeclaredChange::Add { channel: c, digest } => {
                let name = c.name.trim().to_ascii_lowercase();
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM channels WHERE name = $1")
                    .bind(&name)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "channel `{name}` was added meanwhile: apply the configuration again"
                    )));
                }
                insert_channel(&mut tx, &name, c, Some((file, digest.as_str()))).await?;
                // never the URL or the secret: they are secrets
                let detail = serde_json::json!({
                    "kind": c.kind, "filter": c.filter, "settings": c.settings,
                    "allow_private": c.allow_private, "declared_in": file,
                });
                audit(&mut tx, &now, actor, "channel.add", &name, &detail).await?;
                summary.added.push(name);
            }
            DeclaredChange::Update { id, channel: c, digest } => {
                let row = sqlx::query(
                    "SELECT name, kind, url_sealed, secret_sealed, filter, settings, allow_private, enabled, declared_in \
                     FROM channels WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "channel `{}` was removed meanwhile: apply the configuration again",
                        c.name
                    ))
                })?;
                let name: String = row.try_get("name")?;
                let filter = to_json(&c.filter);
                let settings = to_json(&c.settings);
                let mut changed: Vec<&str> = Vec::new();
                if row.try_get::<String, _>("kind")? != c.kind {
                    changed.push("kind");
                }
                if row.try_get::<String, _>("url_sealed")? != c.url_sealed {
                    changed.push("url");
                }
                if row.try_get::<Option<String>, _>("secret_sealed")? != c.secret_sealed {
                    changed.push("secret");
                }
                if row.try_get::<String, _>("filter")? != filter {
                    changed.push("filter");
                }
                if row.try_get::<String, _>("settings")? != settings {
                    changed.push("settings");
                }
                if row.try_get::<bool, _>("allow_private")? != c.allow_private {
                    changed.push("allow_private");
                }
                if !row.try_get::<bool, _>("enabled")? {
                    changed.push("enabled");
                }
                let adopted = match row.try_get::<Option<String>, _>("declared_in")? {
                    None => true,
                    Some(f) if f != file => {
                        changed.push("declared_in");
                        false
                    }
                    Some(_) => false,
                };
                sqlx::query(
                    "UPDATE channels SET kind = $1, url_sealed = $2, secret_sealed = $3, filter = $4, settings = $5, \
                     allow_private = $6, enabled = TRUE, disabled_reason = NULL, declared_in = $7, declared_digest = $8 WHERE id = $9",
                )
                .bind(&c.kind)
                .bind(&c.url_sealed)
                .bind(&c.secret_sealed)
                .bind(&filter)
                .bind(&settings)
                .bind(c.allow_private)
                .bind(file)
                .bind(digest)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({
                    "kind": c.kind, "filter": c.filter, "settings": c.settings,
                    "allow_private": c.allow_private, "declared_in": file,
                    "changed": changed, "adopted": adopted,
                });
                audit(&mut tx, &now, actor, "channel.update", &name, &detail).await?;
                summary.updated.push(name);
            }
            DeclaredChange::Undeclare { id } => {
                let row = sqlx::query("SELECT name, enabled, declared_in FROM channels WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { continue };
                let Some(old_file) = row.try_get::<Option<String>, _>("declared_in")? else {
                    continue;
                };
                let name: String = row.try_get("name")?;
                let was_enabled: bool = row.try_get("enabled")?;
                let reason = format!("no longer declared in the config file {old_file}");
                sqlx::query(
                    "UPDATE channels SET enabled = FALSE, \
                     disabled_reason = CASE WHEN enabled THEN $1 ELSE disabled_reason END, \
                     declared_in = NULL, declared_digest = NULL WHERE id = $2",
                )
                .bind(changedesk_core::text::clip_chars(&reason, 300).to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({"reason": reason, "was_enabled": was_enabled});
                audit(&mut tx, &now, actor, "channel.disable", &name, &detail).await?;
                summary.disabled.push(name);
            }
        }
    }
    tx.commit().await?;
    Ok(summary)
}
