// Owners, tenant groups, workload ownership, rules and the audit log:
// written once, `include!`d into `mod sqlite` and `mod postgres` after ops.rs
// (whose helpers it uses). Every change is audited in its own transaction.

use changedesk_core::triage::{Owner, OwnershipEntry, Scope, TenantGroup};

use super::{AuditEntry, RuleRow, SeedSummary, TriageSeed};

/// Appends to the audit log inside the change's transaction.
async fn audit(tx: &mut Tx, at: &str, actor: &str, action: &str, target: &str, detail: &serde_json::Value) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn scope_parts(scope: &Scope) -> (&'static str, String) {
    match scope {
        Scope::All => ("all", String::new()),
        Scope::Group(g) => ("group", g.to_ascii_lowercase()),
        Scope::Tenant(t) => ("tenant", t.to_ascii_lowercase()),
    }
}

fn scope_from(kind: &str, name: String) -> Result<Scope> {
    match kind {
        "all" => Ok(Scope::All),
        "group" => Ok(Scope::Group(name)),
        "tenant" => Ok(Scope::Tenant(name)),
        other => Err(StoreError::Corrupt(format!("ownership scope `{other}`"))),
    }
}

fn owner_row(row: &DbRow) -> Result<Owner> {
    Ok(Owner {
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        teams: row.try_get("teams")?,
        slack: row.try_get("slack")?,
        entra_id: row.try_get("entra_id")?,
    })
}

pub(crate) async fn list_owners(pool: &Pool<Db>) -> Result<Vec<Owner>> {
    let rows = sqlx::query("SELECT name, display_name, email, teams, slack, entra_id FROM owners ORDER BY name")
        .fetch_all(pool)
        .await?;
    rows.iter().map(owner_row).collect()
}

async fn upsert_owner(tx: &mut Tx, o: &Owner, source: &str, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO owners (name, display_name, email, teams, slack, entra_id, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, email = excluded.email, \
         teams = excluded.teams, slack = excluded.slack, entra_id = excluded.entra_id, source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(o.name.to_ascii_lowercase())
    .bind(&o.display_name)
    .bind(&o.email)
    .bind(&o.teams)
    .bind(&o.slack)
    .bind(&o.entra_id)
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn put_owner(pool: &Pool<Db>, writer: &Writer, o: &Owner, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "owner").await?;
    upsert_owner(&mut tx, o, "manual", &now).await?;
    audit(&mut tx, &now, actor, "owner.put", &o.name.to_ascii_lowercase(), &serde_json::to_value(o).unwrap_or_default()).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_owner(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let name = name.to_ascii_lowercase();
    let (_w, mut tx) = begin_write(pool, writer, "owner").await?;
    let owned: Vec<String> = sqlx::query("SELECT workload FROM ownership WHERE owner = $1 ORDER BY workload")
        .bind(&name)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("workload"))
        .collect::<std::result::Result<_, _>>()?;
    if !owned.is_empty() {
        return Err(StoreError::Invalid(format!(
            "owner `{name}` still owns {}; map those workloads to someone else first (`changedesk owners unmap`)",
            owned.join(", ")
        )));
    }
    let done = sqlx::query("DELETE FROM owners WHERE name = $1").bind(&name).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("owner `{name}`")));
    }
    audit(&mut tx, &now, actor, "owner.remove", &name, &serde_json::Value::Null).await?;
    tx.commit().await?;
    Ok(())
}

/// Where a row of an ordered table (`tenant_groups`, `rules`) goes: where it
/// is, or last when it is new.
async fn position_of(tx: &mut Tx, table: &str, name: &str) -> Result<i64> {
    let row = sqlx::query(sql(format!(
        "SELECT COALESCE((SELECT position FROM {table} WHERE name = $1), \
         (SELECT COALESCE(MAX(position), 0) + 1 FROM {table})) AS p"
    )))
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("p")?)
}

pub(crate) async fn list_groups(pool: &Pool<Db>) -> Result<Vec<TenantGroup>> {
    let rows = sqlx::query(
        "SELECT name, description, include_patterns, exclude_patterns FROM tenant_groups ORDER BY position, name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TenantGroup {
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                include: from_json(&row.try_get::<String, _>("include_patterns")?, "group patterns")?,
                exclude: from_json(&row.try_get::<String, _>("exclude_patterns")?, "group patterns")?,
            })
        })
        .collect()
}

async fn upsert_group(tx: &mut Tx, g: &TenantGroup, position: Option<i64>, source: &str, now: &str) -> Result<()> {
    let position = match position {
        Some(p) => p,
        None => position_of(tx, "tenant_groups", &g.name.to_ascii_lowercase()).await?,
    };
    sqlx::query(
        "INSERT INTO tenant_groups (name, position, description, include_patterns, exclude_patterns, source, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
         description = excluded.description, include_patterns = excluded.include_patterns, \
         exclude_patterns = excluded.exclude_patterns, source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(g.name.to_ascii_lowercase())
    .bind(position)
    .bind(&g.description)
    .bind(to_json(&g.include))
    .bind(to_json(&g.exclude))
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn put_group(pool: &Pool<Db>, writer: &Writer, g: &TenantGroup, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "group").await?;
    upsert_group(&mut tx, g, None, "manual", &now).await?;
    audit(&mut tx, &now, actor, "group.put", &g.name.to_ascii_lowercase(), &serde_json::to_value(g).unwrap_or_default()).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_group(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let name = name.to_ascii_lowercase();
    let (_w, mut tx) = begin_write(pool, writer, "group").await?;
    let used = sqlx::query("SELECT COUNT(*) AS n FROM ownership WHERE scope_kind = 'group' AND scope_name = $1")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    let n: i64 = used.try_get("n")?;
    if n > 0 {
        return Err(StoreError::Invalid(format!(
            "tenant group `{name}` is used by {n} ownership entr{}; remove them first (`changedesk owners unmap … --group {name}`)",
            if n == 1 { "y" } else { "ies" }
        )));
    }
    let done = sqlx::query("DELETE FROM tenant_groups WHERE name = $1").bind(&name).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("tenant group `{name}`")));
    }
    audit(&mut tx, &now, actor, "group.remove", &name, &serde_json::Value::Null).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn list_ownership(pool: &Pool<Db>) -> Result<Vec<OwnershipEntry>> {
    let rows = sqlx::query(
        "SELECT workload, scope_kind, scope_name, owner FROM ownership ORDER BY workload, scope_kind, scope_name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(OwnershipEntry {
                workload: row.try_get("workload")?,
                owner: row.try_get("owner")?,
                scope: scope_from(&row.try_get::<String, _>("scope_kind")?, row.try_get("scope_name")?)?,
            })
        })
        .collect()
}

async fn upsert_ownership(tx: &mut Tx, e: &OwnershipEntry, source: &str, now: &str) -> Result<()> {
    let owner = e.owner.to_ascii_lowercase();
    let known = sqlx::query("SELECT COUNT(*) AS n FROM owners WHERE name = $1")
        .bind(&owner)
        .fetch_one(&mut **tx)
        .await?;
    if known.try_get::<i64, _>("n")? == 0 {
        return Err(StoreError::Invalid(format!(
            "no owner `{owner}`: add it first (`changedesk owners add {owner} --email …`)"
        )));
    }
    if let Scope::Group(g) = &e.scope {
        let known = sqlx::query("SELECT COUNT(*) AS n FROM tenant_groups WHERE name = $1")
            .bind(g.to_ascii_lowercase())
            .fetch_one(&mut **tx)
            .await?;
        if known.try_get::<i64, _>("n")? == 0 {
            return Err(StoreError::Invalid(format!(
                "no tenant group `{g}`: add it first (`changedesk tenants groups add {g} --include …`)"
            )));
        }
    }
    let (kind, name) = scope_parts(&e.scope);
    // workloads compare ignoring case, as ownership resolution does
    sqlx::query("DELETE FROM ownership WHERE lower(workload) = lower($1) AND scope_kind = $2 AND scope_name = $3")
        .bind(e.workload.trim())
        .bind(kind)
        .bind(&name)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO ownership (workload, scope_kind, scope_name, owner, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (workload, scope_kind, scope_name) DO UPDATE SET owner = excluded.owner, source = excluded.source, \
         updated_at = excluded.updated_at",
    )
    .bind(e.workload.trim())
    .bind(kind)
    .bind(name)
    .bind(owner)
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn set_ownership(pool: &Pool<Db>, writer: &Writer, e: &OwnershipEntry, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "ownership").await?;
    upsert_ownership(&mut tx, e, "manual", &now).await?;
    audit(&mut tx, &now, actor, "ownership.set", e.workload.trim(), &serde_json::to_value(e).unwrap_or_default()).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_ownership(
    pool: &Pool<Db>,
    writer: &Writer,
    workload: &str,
    scope: &Scope,
    actor: &str,
    at: &Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (kind, name) = scope_parts(scope);
    let (_w, mut tx) = begin_write(pool, writer, "ownership").await?;
    let done = sqlx::query("DELETE FROM ownership WHERE lower(workload) = lower($1) AND scope_kind = $2 AND scope_name = $3")
    .bind(workload.trim())
    .bind(kind)
    .bind(&name)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        let scope = match scope {
            Scope::All => "every tenant".to_string(),
            Scope::Group(g) => format!("tenant group `{g}`"),
            Scope::Tenant(t) => format!("tenant `{t}`"),
        };
        return Err(StoreError::NotFound(format!("an owner of `{}` for {scope}", workload.trim())));
    }
    audit(&mut tx, &now, actor, "ownership.remove", workload.trim(), &serde_json::json!({"scope": kind, "name": name})).await?;
    tx.commit().await?;
    Ok(())
}

fn rule_row(row: &DbRow) -> Result<RuleRow> {
    Ok(RuleRow {
        name: row.try_get("name")?,
        position: row.try_get("position")?,
        enabled: row.try_get("enabled")?,
        spec: from_json(&row.try_get::<String, _>("spec")?, "rule")?,
        source: row.try_get("source")?,
        updated_at: read_ts(row.try_get("updated_at")?)?,
    })
}

pub(crate) async fn list_rules(pool: &Pool<Db>) -> Result<Vec<RuleRow>> {
    let rows = sqlx::query("SELECT name, position, enabled, spec, source, updated_at FROM rules ORDER BY position, name")
        .fetch_all(pool)
        .await?;
    rows.iter().map(rule_row).collect()
}

async fn upsert_rule(tx: &mut Tx, name: &str, enabled: bool, spec: &serde_json::Value, position: Option<i64>, source: &str, now: &str) -> Result<()> {
    let position = match position {
        Some(p) => p,
        None => position_of(tx, "rules", name).await?,
    };
    sqlx::query(
        "INSERT INTO rules (name, position, enabled, spec, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, enabled = excluded.enabled, spec = excluded.spec, \
         source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(position)
    .bind(enabled)
    .bind(spec.to_string())
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds or replaces a rule; a new rule goes last unless `position` says otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn put_rule(
    pool: &Pool<Db>,
    writer: &Writer,
    name: &str,
    enabled: bool,
    spec: &serde_json::Value,
    position: Option<i64>,
    actor: &str,
    at: &Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "rule").await?;
    upsert_rule(&mut tx, name, enabled, spec, position, "manual", &now).await?;
    audit(&mut tx, &now, actor, "rule.put", name, spec).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_rule(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "rule").await?;
    let done = sqlx::query("DELETE FROM rules WHERE name = $1").bind(name).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("rule `{name}`")));
    }
    audit(&mut tx, &now, actor, "rule.remove", name, &serde_json::Value::Null).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes the configuration file's owners, groups, ownership and rules the
/// database's `config` rows: adds and updates them, and drops `config` rows
/// the file no longer has. Rows added by hand are kept, and a hand-made row
/// with the same key as a file row is left as it is.
pub(crate) async fn seed(pool: &Pool<Db>, writer: &Writer, seed: &TriageSeed, at: &Timestamp) -> Result<SeedSummary> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "seed").await?;
    let before = config_rows(&mut tx).await?;
    let mut summary = SeedSummary::default();
    async fn manual(tx: &mut Tx, table: &str, key_sql: &str, key: &[&str]) -> Result<bool> {
        let mut q = sqlx::query(sql(format!("SELECT COUNT(*) AS n FROM {table} WHERE source = 'manual' AND {key_sql}")));
        for k in key {
            q = q.bind(k.to_string());
        }
        Ok(q.fetch_one(&mut **tx).await?.try_get::<i64, _>("n")? > 0)
    }
    sqlx::query("DELETE FROM ownership WHERE source = 'config'").execute(&mut *tx).await?;
    for o in &seed.owners {
        if !manual(&mut tx, "owners", "name = $1", &[&o.name.to_ascii_lowercase()]).await? {
            upsert_owner(&mut tx, o, "config", &now).await?;
            summary.owners += 1;
        }
    }
    for (i, g) in seed.groups.iter().enumerate() {
        if !manual(&mut tx, "tenant_groups", "name = $1", &[&g.name.to_ascii_lowercase()]).await? {
            upsert_group(&mut tx, g, Some(i as i64 + 1), "config", &now).await?;
            summary.groups += 1;
        }
    }
    for e in &seed.ownership {
        let (kind, name) = scope_parts(&e.scope);
        if !manual(&mut tx, "ownership", "lower(workload) = lower($1) AND scope_kind = $2 AND scope_name = $3", &[e.workload.trim(), kind, &name]).await? {
            upsert_ownership(&mut tx, e, "config", &now).await?;
            summary.ownership += 1;
        }
    }
    for (i, r) in seed.rules.iter().enumerate() {
        if !manual(&mut tx, "rules", "name = $1", &[&r.name]).await? {
            upsert_rule(&mut tx, &r.name, r.enabled, &r.spec, Some(i as i64 + 1), "config", &now).await?;
            summary.rules += 1;
        }
    }
    // config rows the file no longer has
    let keep_owners: Vec<String> = seed.owners.iter().map(|o| o.name.to_ascii_lowercase()).collect();
    let keep_groups: Vec<String> = seed.groups.iter().map(|g| g.name.to_ascii_lowercase()).collect();
    let keep_rules: Vec<String> = seed.rules.iter().map(|r| r.name.clone()).collect();
    // (a group or owner a hand-made ownership entry still uses is kept)
    for (table, keep, in_use) in [
        ("rules", &keep_rules, ""),
        ("tenant_groups", &keep_groups, " AND name NOT IN (SELECT scope_name FROM ownership WHERE scope_kind = 'group')"),
        ("owners", &keep_owners, " AND name NOT IN (SELECT owner FROM ownership)"),
    ] {
        let ids: Vec<&str> = keep.iter().map(String::as_str).collect();
        let gone = sqlx::query(sql(format!(
            "DELETE FROM {table} WHERE source = 'config' AND NOT (name {}){in_use}",
            any_of(1)
        )))
        .bind(id_list(&ids))
        .execute(&mut *tx)
        .await?;
        summary.removed += gone.rows_affected() as usize;
    }
    // audited when the file changed what the database holds
    if config_rows(&mut tx).await? != before {
        audit(&mut tx, &now, "config", "seed", "configuration file", &serde_json::to_value(&summary).unwrap_or_default()).await?;
    }
    tx.commit().await?;
    Ok(summary)
}

/// Every configuration-seeded row, as text, to tell whether seeding changed anything.
async fn config_rows(tx: &mut Tx) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for q in [
        "SELECT name || '|' || display_name || '|' || email || '|' || COALESCE(teams, '') || '|' || COALESCE(slack, '') AS r FROM owners WHERE source = 'config' ORDER BY name",
        "SELECT name || '|' || position || '|' || description || '|' || include_patterns || '|' || exclude_patterns AS r FROM tenant_groups WHERE source = 'config' ORDER BY name",
        "SELECT workload || '|' || scope_kind || '|' || scope_name || '|' || owner AS r FROM ownership WHERE source = 'config' ORDER BY workload, scope_kind, scope_name",
        "SELECT name || '|' || position || '|' || CASE WHEN enabled THEN 'on' ELSE 'off' END || '|' || spec AS r FROM rules WHERE source = 'config' ORDER BY name",
    ] {
        for row in sqlx::query(q).fetch_all(&mut **tx).await? {
            out.push(row.try_get("r")?);
        }
    }
    Ok(out)
}

pub(crate) async fn audit_log(pool: &Pool<Db>, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: read_ts(row.try_get("at")?)?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                detail: from_json(&row.try_get::<String, _>("detail")?, "audit detail")?,
            })
        })
        .collect()
}
