// Tenants kept in the database: written once, `include!`d into `mod sqlite`
// and `mod postgres` after ops.rs and admin_ops.rs (whose helpers it uses).
// Types in `directory.rs`.

use super::directory::{TenantPage, TenantQuery, AccessCheck, AddedTenants, Consent, ConsentAnswer, ConsentTaken, DirectoryTenant, NewTenant, PurgedTenant, RenamedTenant, consent_of};

const DIRECTORY_COLUMNS: &str = "name, directory_id, display_name, added_at, consent, consent_at, consent_error, consent_asked_at, \
     checked_at, check_missing, check_error, last_sync_at, last_sync_error";

fn directory_row(r: &DbRow) -> Result<DirectoryTenant> {
    let missing: Option<String> = r.try_get("check_missing")?;
    let missing_permissions = match missing {
        None => Vec::new(),
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("a tenant's missing permissions: {e}")))?,
    };
    Ok(DirectoryTenant {
        name: r.try_get("name")?,
        directory_id: r.try_get::<Option<String>, _>("directory_id")?.unwrap_or_default(),
        display_name: r.try_get("display_name")?,
        added_at: read_ts(r.try_get("added_at")?)?,
        consent: consent_of(r.try_get("consent")?),
        consent_at: read_ts_opt(r.try_get("consent_at")?)?,
        consent_error: r.try_get("consent_error")?,
        consent_asked_at: read_ts_opt(r.try_get("consent_asked_at")?)?,
        checked_at: read_ts_opt(r.try_get("checked_at")?)?,
        missing_permissions,
        check_error: r.try_get("check_error")?,
        last_sync_at: read_ts_opt(r.try_get("last_sync_at")?)?,
        last_sync_error: r.try_get("last_sync_error")?,
    })
}

pub(crate) async fn directory_tenants(pool: &Pool<Db>) -> Result<Vec<DirectoryTenant>> {
    let text = format!("SELECT {DIRECTORY_COLUMNS} FROM tenants WHERE added_at IS NOT NULL ORDER BY name");
    sqlx::query(sql(text)).fetch_all(pool).await?.iter().map(directory_row).collect()
}

pub(crate) async fn add_tenants(pool: &Pool<Db>, writer: &Writer, tenants: &[NewTenant], actor: &str, at: &Timestamp) -> Result<AddedTenants> {
    let now = at.to_canonical();
    let mut out = AddedTenants::default();
    // the same name or directory twice in one list is the list's mistake
    let mut names = std::collections::HashMap::new();
    let mut dirs = std::collections::HashMap::new();
    for t in tenants {
        if let Some(first) = names.insert(t.name.as_str(), t)
            && first != t
        {
            return Err(StoreError::Invalid(format!("tenant `{}` is given twice, differently", t.name)));
        }
        if let Some(other) = dirs.insert(t.directory_id.as_str(), t.name.as_str())
            && other != t.name
        {
            return Err(StoreError::Conflict(format!(
                "tenants `{other}` and `{}` have the same directory {}",
                t.name, t.directory_id
            )));
        }
    }
    let (_w, mut tx) = begin_write(pool, writer, "add tenants").await?;
    let mut done = std::collections::HashSet::new();
    for t in tenants {
        if !done.insert(t.name.as_str()) {
            continue;
        }
        let clash = sqlx::query("SELECT name FROM tenants WHERE directory_id = $1 AND name <> $2")
            .bind(&t.directory_id)
            .bind(&t.name)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = clash {
            let other: String = row.try_get("name")?;
            return Err(StoreError::Conflict(format!(
                "the directory {} of tenant `{}` is already tenant `{other}`'s",
                t.directory_id, t.name
            )));
        }
        let before = sqlx::query("SELECT id, directory_id, display_name, added_at FROM tenants WHERE name = $1")
            .bind(&t.name)
            .fetch_optional(&mut *tx)
            .await?;
        let detail = serde_json::json!({"directory_id": t.directory_id, "display_name": t.display_name});
        match before {
            None => {
                sqlx::query(
                    "INSERT INTO tenants (name, created_at, directory_id, display_name, added_at, consent) \
                     VALUES ($1, $2, $3, $4, $2, 'not_asked')",
                )
                .bind(&t.name)
                .bind(&now)
                .bind(&t.directory_id)
                .bind(&t.display_name)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, &now, actor, "tenant.add", &t.name, &detail).await?;
                out.added.push(t.name.clone());
            }
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let directory: Option<String> = row.try_get("directory_id")?;
                let display: Option<String> = row.try_get("display_name")?;
                let added: Option<String> = row.try_get("added_at")?;
                if added.is_some() && directory.as_deref() == Some(t.directory_id.as_str()) && display == t.display_name {
                    out.unchanged.push(t.name.clone());
                    continue;
                }
                let moved = directory.as_deref() != Some(t.directory_id.as_str());
                sqlx::query(
                    "UPDATE tenants SET directory_id = $1, display_name = $2, added_at = COALESCE(added_at, $3), \
                     consent = CASE WHEN $4 THEN 'not_asked' ELSE COALESCE(consent, 'not_asked') END, \
                     consent_at = CASE WHEN $4 THEN NULL ELSE consent_at END, \
                     consent_error = CASE WHEN $4 THEN NULL ELSE consent_error END, \
                     consent_state = CASE WHEN $4 THEN NULL ELSE consent_state END, \
                     checked_at = CASE WHEN $4 THEN NULL ELSE checked_at END, \
                     check_missing = CASE WHEN $4 THEN NULL ELSE check_missing END, \
                     check_error = CASE WHEN $4 THEN NULL ELSE check_error END \
                     WHERE id = $5",
                )
                .bind(&t.directory_id)
                .bind(&t.display_name)
                .bind(&now)
                .bind(moved)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if added.is_some() {
                    audit(&mut tx, &now, actor, "tenant.update", &t.name, &detail).await?;
                    out.updated.push(t.name.clone());
                } else {
                    audit(&mut tx, &now, actor, "tenant.add", &t.name, &detail).await?;
                    out.added.push(t.name.clone());
                }
            }
        }
    }
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn ask_consent(pool: &Pool<Db>, writer: &Writer, name: &str, state_hash: &str, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "consent link").await?;
    let done = sqlx::query(
        "UPDATE tenants SET consent_state = $1, consent_asked_at = $2, \
         consent = CASE WHEN consent = 'granted' THEN consent ELSE 'asked' END \
         WHERE name = $3 AND added_at IS NOT NULL",
    )
    .bind(state_hash)
    .bind(&now)
    .bind(name)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("tenant `{name}` (added to the database)")));
    }
    audit(&mut tx, &now, actor, "tenant.consent_link", name, &serde_json::Value::Null).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn answer_consent(
    pool: &Pool<Db>,
    writer: &Writer,
    state_hash: &str,
    answer: &ConsentAnswer,
    max_age_secs: i64,
    at: &Timestamp,
) -> Result<ConsentTaken> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "consent answer").await?;
    let row = sqlx::query("SELECT id, name, directory_id, consent_asked_at FROM tenants WHERE consent_state = $1")
        .bind(state_hash)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Ok(ConsentTaken::Unknown);
    };
    let id: i64 = row.try_get("id")?;
    let name: String = row.try_get("name")?;
    let directory: Option<String> = row.try_get("directory_id")?;
    let asked = read_ts_opt(row.try_get("consent_asked_at")?)?;
    // the state is used once, whatever the answer
    sqlx::query("UPDATE tenants SET consent_state = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let expired = asked.is_none_or(|a| at.unix_seconds() - a.unix_seconds() > max_age_secs);
    if expired {
        tx.commit().await?;
        return Ok(ConsentTaken::Expired { tenant: name });
    }
    let (consent, error, new_directory) = match answer {
        ConsentAnswer::Granted { directory_id } => {
            let given = directory_id.trim().to_ascii_lowercase();
            let ours = directory.unwrap_or_default();
            if changedesk_core::config::is_guid(&ours) && ours != given {
                (
                    Consent::Declined,
                    Some(format!("consent was given in directory {given}, not in this tenant's ({ours}): ask an administrator of this tenant")),
                    None,
                )
            } else if !changedesk_core::config::is_guid(&given) {
                (Consent::Declined, Some("the consent answer named no directory GUID".to_owned()), None)
            } else {
                (Consent::Granted, None, Some(given))
            }
        }
        ConsentAnswer::Declined { error } => (Consent::Declined, Some(changedesk_core::text::clip_chars(error, 500).to_string()), None),
    };
    if let Some(guid) = &new_directory {
        let clash = sqlx::query("SELECT name FROM tenants WHERE directory_id = $1 AND id <> $2")
            .bind(guid)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(other) = clash {
            let other: String = other.try_get("name")?;
            let message = format!("consent was given in directory {guid}, which is tenant `{other}`'s");
            sqlx::query("UPDATE tenants SET consent = 'declined', consent_at = $1, consent_error = $2 WHERE id = $3")
                .bind(&now)
                .bind(&message)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit(&mut tx, &now, "admin consent", "tenant.consent", &name, &serde_json::json!({"consent": "declined", "error": message})).await?;
            tx.commit().await?;
            return Ok(ConsentTaken::Recorded { tenant: name, consent: Consent::Declined });
        }
    }
    sqlx::query(
        "UPDATE tenants SET consent = $1, consent_at = $2, consent_error = $3, directory_id = COALESCE($4, directory_id), \
         checked_at = CASE WHEN $1 = 'granted' THEN NULL ELSE checked_at END, \
         check_missing = CASE WHEN $1 = 'granted' THEN NULL ELSE check_missing END, \
         check_error = CASE WHEN $1 = 'granted' THEN NULL ELSE check_error END WHERE id = $5",
    )
    .bind(consent.as_str())
    .bind(&now)
    .bind(&error)
    .bind(&new_directory)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &now,
        "admin consent",
        "tenant.consent",
        &name,
        &serde_json::json!({"consent": consent.as_str(), "error": error, "directory_id": new_directory}),
    )
    .await?;
    tx.commit().await?;
    Ok(ConsentTaken::Recorded { tenant: name, consent })
}

pub(crate) async fn record_access_check(pool: &Pool<Db>, writer: &Writer, name: &str, check: &AccessCheck, at: &Timestamp) -> Result<()> {
    let (_w, mut tx) = begin_write(pool, writer, "access check").await?;
    let missing = if check.error.is_some() { None } else { Some(serde_json::to_string(&check.missing).unwrap_or_default()) };
    let done = sqlx::query("UPDATE tenants SET checked_at = $1, check_missing = $2, check_error = $3 WHERE name = $4 AND added_at IS NOT NULL")
        .bind(at.to_canonical())
        .bind(missing)
        .bind(check.error.as_deref().map(|e| changedesk_core::text::clip_chars(e, 500).to_string()))
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("tenant `{name}` (added to the database)")));
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_directory_tenant(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "remove tenant").await?;
    let before = sqlx::query("SELECT directory_id, display_name FROM tenants WHERE name = $1 AND added_at IS NOT NULL")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(before) = before else {
        return Err(StoreError::NotFound(format!("tenant `{name}` (added to the database)")));
    };
    let directory: Option<String> = before.try_get("directory_id")?;
    let display: Option<String> = before.try_get("display_name")?;
    sqlx::query(
        "UPDATE tenants SET added_at = NULL, directory_id = NULL, consent = NULL, consent_at = NULL, consent_error = NULL, \
         consent_state = NULL, consent_asked_at = NULL, checked_at = NULL, check_missing = NULL, check_error = NULL WHERE name = $1",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &now,
        actor,
        "tenant.remove",
        name,
        &serde_json::json!({"directory_id": directory, "display_name": display, "archive": "kept"}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Rewrites each work item with an exception for the tenant `id` with
/// `edit`, as a new version (an edit begun before cannot write the old
/// exceptions back); `reindex`: its exceptions' index too. How many.
async fn edit_items_of_tenant(
    tx: &mut Tx,
    id: i64,
    reindex: bool,
    edit: impl Fn(&mut changedesk_core::triage::WorkItem),
) -> Result<i64> {
    let items = sqlx::query(sql(format!(
        "SELECT w.post_id, {ITEM_COLUMNS} FROM work_items w{EXCEPTIONS_JOIN} \
         JOIN work_item_tenants e ON e.post_id = w.post_id WHERE e.tenant_id = $1"
    )))
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut n = 0;
    for row in items {
        let mut item = item_from(&row)?.item;
        edit(&mut item);
        // a new version: the item's JSON (its exceptions apart) unchanged
        sqlx::query("UPDATE work_items SET version = version + 1 WHERE post_id = $1")
            .bind(&item.message_id)
            .execute(&mut **tx)
            .await?;
        write_exceptions_apart(tx, &item, true).await?;
        if reindex {
            write_exceptions_index(tx, &item, true).await?;
        }
        n += 1;
    }
    Ok(n)
}

pub(crate) async fn purge_tenant(
    pool: &Pool<Db>,
    writer: &Writer,
    name: &str,
    configured: &[String],
    actor: &str,
    at: &Timestamp,
) -> Result<PurgedTenant> {
    let name = name.trim().to_lowercase();
    if configured.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
        return Err(StoreError::Invalid(format!(
            "tenant `{name}` is defined in the configuration file: remove its [[tenants]] table there first"
        )));
    }
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "purge tenant").await?;
    let row = sqlx::query("SELECT id, directory_id, display_name FROM tenants WHERE name = $1")
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(format!("tenant `{name}`")));
    };
    let id: i64 = row.try_get("id")?;
    let directory: Option<String> = row.try_get("directory_id")?;
    let display: Option<String> = row.try_get("display_name")?;
    let mut out = PurgedTenant { name: name.clone(), ..Default::default() };

    // its links, and the counts they were in (migration 0022); a post or
    // incident no other tenant saw stays in the archive, seen by none
    for (links, counts, key) in [
        ("post_tenants", "post_link_counts", "post_id"),
        ("incident_tenants", "incident_link_counts", "incident_id"),
    ] {
        sqlx::query(sql(format!(
            "UPDATE {counts} SET seen = seen - 1, visible = visible - \
             (SELECT CASE WHEN l.visible THEN 1 ELSE 0 END FROM {links} l WHERE l.{key} = {counts}.{key} AND l.tenant_id = $1) \
             WHERE {key} IN (SELECT {key} FROM {links} WHERE tenant_id = $1)"
        )))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let alone = sqlx::query(sql(format!("DELETE FROM {counts} WHERE seen <= 0"))).execute(&mut *tx).await?.rows_affected() as i64;
        let gone = sqlx::query(sql(format!("DELETE FROM {links} WHERE tenant_id = $1")))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
        if links == "post_tenants" {
            (out.post_links, out.posts_seen_by_none) = (gone, alone);
        } else {
            (out.incident_links, out.incidents_seen_by_none) = (gone, alone);
        }
    }
    // revisions and status changes first seen through it stay, unattributed
    for table in ["post_revisions", "incident_revisions", "incident_status_history"] {
        sqlx::query(sql(format!("UPDATE {table} SET tenant_id = NULL WHERE tenant_id = $1")))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for table in ["health_current", "health_history", "runs"] {
        let n = sqlx::query(sql(format!("DELETE FROM {table} WHERE tenant_id = $1")))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
        if table == "runs" {
            out.runs = n;
        } else {
            out.health += n;
        }
    }

    // its exceptions in work items, and their index
    out.work_items = edit_items_of_tenant(&mut tx, id, true, |item| {
        item.overrides.retain(|o| !o.tenant.eq_ignore_ascii_case(&name));
    })
    .await?;
    sqlx::query("DELETE FROM work_item_tenants WHERE tenant_id = $1").bind(id).execute(&mut *tx).await?;
    out.ownership = sqlx::query("DELETE FROM ownership WHERE scope_kind = 'tenant' AND scope_name = $1")
        .bind(&name)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
    // what was still to be told about it alone
    out.notifications = sqlx::query("DELETE FROM notify_intents WHERE tenant = $1 AND delivered_at IS NULL")
        .bind(&name)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
    sqlx::query("DELETE FROM tenants WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let mut detail = serde_json::to_value(&out).unwrap_or_default();
    if let Some(o) = detail.as_object_mut() {
        o.insert("directory_id".into(), serde_json::json!(directory));
        o.insert("display_name".into(), serde_json::json!(display));
        o.insert("archive".into(), serde_json::json!("purged"));
    }
    audit(&mut tx, &now, actor, "tenant.purge", &name, &detail).await?;
    tx.commit().await?;
    Ok(out)
}

/// The `WHERE` of a page of tenants (after `FROM tenants t WHERE 1=1`).
fn push_tenant_query(qb: &mut QueryBuilder<Db>, q: &TenantQuery) {
    if let Some(names) = &q.only {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        qb.push(" AND t.name ");
        qb.push(ANY_BOUND[0]);
        qb.push_bind(id_list(&names));
        qb.push(ANY_BOUND[1]);
    }
    let text = q.search.trim();
    if !text.is_empty() {
        let like = like_pattern(text);
        for (i, column) in ["t.name", "t.display_name", "t.directory_id"].into_iter().enumerate() {
            qb.push(if i == 0 { " AND (" } else { " OR " });
            qb.push(format!("{column} {ILIKE} "));
            qb.push_bind(like.clone());
            qb.push(" ESCAPE '\\'");
        }
        qb.push(")");
    }
    if q.failing {
        qb.push(" AND t.last_sync_error IS NOT NULL");
    }
}

pub(crate) async fn tenant_page(pool: &Pool<Db>, q: &TenantQuery) -> Result<TenantPage> {
    if q.only.as_ref().is_some_and(Vec::is_empty) {
        return Ok(TenantPage::default());
    }
    let mut count = QueryBuilder::<Db>::new(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN t.last_sync_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failing \
         FROM tenants t WHERE 1=1",
    );
    push_tenant_query(&mut count, q);
    let row = count.build().fetch_one(pool).await?;
    let total: i64 = row.try_get("n")?;
    let failing: i64 = row.try_get("failing")?;
    let mut page = QueryBuilder::<Db>::new(format!("SELECT {TENANT_ROW_COLUMNS} FROM tenants t WHERE 1=1"));
    push_tenant_query(&mut page, q);
    page.push(" ORDER BY t.name LIMIT ");
    page.push_bind(q.limit.clamp(1, 1000));
    page.push(" OFFSET ");
    page.push_bind(q.offset.max(0));
    let rows = page.build().fetch_all(pool).await?;
    Ok(TenantPage {
        rows: rows.iter().map(tenant_row).collect::<Result<_>>()?,
        total,
        failing,
    })
}

/// Replaces `from` by `to` in `list` (a JSON array of tenant names, or
/// anything else, left alone); whether it named `from`.
fn renamed_in_list(list: &mut serde_json::Value, from: &str, to: &str) -> bool {
    let mut changed = false;
    if let serde_json::Value::Array(names) = list {
        for n in names.iter_mut() {
            if n.as_str().is_some_and(|s| s.trim().eq_ignore_ascii_case(from)) {
                *n = serde_json::Value::String(to.to_string());
                changed = true;
            }
        }
    }
    changed
}

/// A JSON object's `tenants` list with `from` as `to`: the new text, or
/// `None` when the object does not name `from` there.
fn renamed_in_object(text: &str, from: &str, to: &str, what: &str) -> Result<Option<String>> {
    let mut v: serde_json::Value = from_json(text, what)?;
    let changed = v.get_mut("tenants").is_some_and(|l| renamed_in_list(l, from, to));
    Ok(changed.then(|| v.to_string()))
}

/// An inbox query string with `tenant=from` as `tenant=to`; `None` without.
fn renamed_in_query(query: &str, from: &str, to: &str) -> Option<String> {
    let mut changed = false;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            if k == "tenant" && v.trim().eq_ignore_ascii_case(from) {
                changed = true;
                (k.into_owned(), to.to_string())
            } else {
                (k.into_owned(), v.into_owned())
            }
        })
        .collect();
    changed.then(|| url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn rename_tenant(
    pool: &Pool<Db>,
    writer: &Writer,
    from: &str,
    to: &str,
    configured: &[String],
    actor: &str,
    at: &Timestamp,
) -> Result<RenamedTenant> {
    let from = from.trim().to_lowercase();
    let to = to.trim().to_string();
    changedesk_core::config::check_tenant_name(&to).map_err(|e| StoreError::Invalid(format!("new name `{to}`: {e}")))?;
    if configured.iter().any(|c| c.eq_ignore_ascii_case(&from)) {
        return Err(StoreError::Invalid(format!(
            "tenant `{from}` comes from the configuration, where its name is its key: rename its [[tenants]] table \
             there first, then rename the archive's tenant before the next sync"
        )));
    }
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "rename tenant").await?;
    let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM tenants WHERE name = $1")
        .bind(&from)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Err(StoreError::NotFound(format!("tenant `{from}`")));
    };
    if from == to {
        return Err(StoreError::Invalid(format!("tenant `{from}` already has that name")));
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
        .bind(&to)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!("a tenant named `{to}` exists already")));
    }
    let mut out = RenamedTenant {
        from: from.clone(),
        to: to.clone(),
        ..Default::default()
    };
    sqlx::query("UPDATE tenants SET name = $1 WHERE id = $2").bind(&to).bind(id).execute(&mut *tx).await?;

    // work items with an exception for it: the item's JSON names it (its
    // index, work_item_tenants, keeps the id)
    out.work_items = edit_items_of_tenant(&mut tx, id, false, |item| {
        for o in item.overrides.iter_mut().filter(|o| o.tenant.eq_ignore_ascii_case(&from)) {
            o.tenant = to.clone();
        }
        item.overrides.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    })
    .await?;
    out.log_entries = sqlx::query("UPDATE decision_log SET tenant = $1 WHERE tenant = $2")
        .bind(&to)
        .bind(&from)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
    sqlx::query("UPDATE notify_intents SET tenant = $1 WHERE tenant = $2")
        .bind(&to)
        .bind(&from)
        .execute(&mut *tx)
        .await?;
    out.ownership = sqlx::query("UPDATE ownership SET scope_name = $1 WHERE scope_kind = 'tenant' AND scope_name = $2")
        .bind(&to)
        .bind(&from)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;

    // scopes of users and tokens, channel filters: JSON objects with a
    // `tenants` list
    for (table, key, column, what) in [
        ("users", "id", "scope", "a user's scope"),
        ("api_tokens", "id", "scope", "a token's scope"),
        ("channels", "id", "filter", "a channel's filter"),
    ] {
        let like = format!("%{}%", from.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = sqlx::query(sql(format!(
            "SELECT {key} AS k, {column} AS v FROM {table} WHERE {column} {ILIKE} $1 ESCAPE '\\'"
        )))
        .bind(like)
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let k: i64 = row.try_get("k")?;
            let Some(text) = renamed_in_object(&row.try_get::<String, _>("v")?, &from, &to, what)? else {
                continue;
            };
            sqlx::query(sql(format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2")))
                .bind(text)
                .bind(k)
                .execute(&mut *tx)
                .await?;
            if table == "channels" {
                out.channels += 1;
            } else {
                out.scopes += 1;
            }
        }
    }
    // group patterns that are the name itself
    for row in sqlx::query("SELECT name, include_patterns, exclude_patterns FROM tenant_groups").fetch_all(&mut *tx).await? {
        let name: String = row.try_get("name")?;
        let mut include: serde_json::Value = from_json(&row.try_get::<String, _>("include_patterns")?, "group patterns")?;
        let mut exclude: serde_json::Value = from_json(&row.try_get::<String, _>("exclude_patterns")?, "group patterns")?;
        let a = renamed_in_list(&mut include, &from, &to);
        let b = renamed_in_list(&mut exclude, &from, &to);
        if a || b {
            sqlx::query("UPDATE tenant_groups SET include_patterns = $1, exclude_patterns = $2, updated_at = $3 WHERE name = $4")
                .bind(include.to_string())
                .bind(exclude.to_string())
                .bind(&now)
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            out.groups.push(name);
        }
    }
    for row in sqlx::query("SELECT id, query FROM saved_views").fetch_all(&mut *tx).await? {
        let k: i64 = row.try_get("id")?;
        if let Some(q) = renamed_in_query(&row.try_get::<String, _>("query")?, &from, &to) {
            sqlx::query("UPDATE saved_views SET query = $1 WHERE id = $2").bind(q).bind(k).execute(&mut *tx).await?;
            out.views += 1;
        }
    }
    audit(&mut tx, &now, actor, "tenant.rename", &from, &serde_json::to_value(&out).unwrap_or_default()).await?;
    tx.commit().await?;
    Ok(out)
}
