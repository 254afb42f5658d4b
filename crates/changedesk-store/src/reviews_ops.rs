// ---------------------------------------------------------------- reviews
// `include!`d into `mod sqlite` and `mod postgres` (see reviews.rs), after
// admin_ops.rs (whose `audit` it uses) and query_ops.rs.

pub(crate) async fn record_review(
    pool: &Pool<Db>,
    writer: &Writer,
    week: time::Date,
    tenant_group: &str,
    note: &str,
    actor: &str,
    at: Timestamp,
) -> Result<bool> {
    let now = at.to_canonical();
    let day = changedesk_core::timeline::iso(week);
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "review held").await?;
    let done = sqlx::query(
        "INSERT INTO reviews_held (week, tenant_group, held_at, held_by, note) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (week, tenant_group) DO NOTHING",
    )
    .bind(&day)
    .bind(tenant_group)
    .bind(&now)
    .bind(actor)
    .bind(note)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    let target = if tenant_group.is_empty() {
        format!("week of {day}")
    } else {
        format!("week of {day}, {tenant_group}")
    };
    let detail = serde_json::json!({"week": day, "tenant_group": tenant_group, "note": note});
    audit(&mut tx, &now, actor, "review.held", &target, &detail).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn reviews_held(pool: &Pool<Db>, tenant_group: &str, since: time::Date) -> Result<Vec<time::Date>> {
    let rows = sqlx::query("SELECT week FROM reviews_held WHERE tenant_group = $1 AND week >= $2 ORDER BY week")
        .bind(tenant_group)
        .bind(changedesk_core::timeline::iso(since))
        .fetch_all(pool)
        .await?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    rows.iter()
        .map(|r| {
            let s: String = r.try_get("week")?;
            time::Date::parse(&s, &format).map_err(|e| StoreError::Corrupt(format!("review week `{s}`: {e}")))
        })
        .collect()
}

pub(crate) async fn routing_counts(pool: &Pool<Db>, scope: &TenantScope, since: Timestamp) -> Result<crate::RoutingCounts> {
    let Some(s) = resolve_scope(pool, scope).await? else {
        return Ok(crate::RoutingCounts::default());
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT COUNT(DISTINCT r.post_id) AS assigned, COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM decision_log p \
         WHERE p.post_id = r.post_id AND p.action = 'assign' AND p.id > r.id AND p.actor <> 'rules' \
         AND p.actor <> 'system' AND p.actor NOT LIKE 'connector:%') THEN r.post_id END) AS changed \
         FROM decision_log r WHERE r.action = 'assign' AND r.actor = 'rules' AND r.at >= ",
    );
    qb.push_bind(since.to_canonical());
    if matches!(s, InScope::Ids(_)) {
        qb.push(" AND EXISTS (SELECT 1 FROM post_tenants l WHERE l.post_id = r.post_id");
        push_in_scope_of_post(&mut qb, &s, "l");
        qb.push(")");
    }
    let row = qb.build().fetch_one(pool).await?;
    let n = |c: &str| -> Result<usize> { Ok(usize::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0)) };
    Ok(crate::RoutingCounts {
        rule_assignments: n("assigned")?,
        reassigned_by_people: n("changed")?,
    })
}

/// The decision log's entries of `action` about the posts `scope` sees
/// since `since` (feedback given, pilot findings).
pub(crate) async fn logged_since(pool: &Pool<Db>, scope: &TenantScope, action: &str, since: Timestamp) -> Result<usize> {
    let Some(s) = resolve_scope(pool, scope).await? else {
        return Ok(0);
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT COUNT(*) AS n FROM decision_log f WHERE f.action = ");
    qb.push_bind(action.to_string());
    qb.push(" AND f.at >= ");
    qb.push_bind(since.to_canonical());
    if matches!(s, InScope::Ids(_)) {
        qb.push(" AND EXISTS (SELECT 1 FROM post_tenants l WHERE l.post_id = f.post_id");
        push_in_scope_of_post(&mut qb, &s, "l");
        qb.push(")");
    }
    let n: i64 = qb.build().fetch_one(pool).await?.try_get("n")?;
    Ok(usize::try_from(n).unwrap_or(0))
}

pub(crate) async fn reports_delivered(pool: &Pool<Db>, since: Timestamp, until: Timestamp) -> Result<usize> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries d JOIN events e ON e.id = d.event_id \
         WHERE e.kind = 'report.sent' AND d.state = 'delivered' AND d.delivered_at >= $1 AND d.delivered_at < $2",
    )
    .bind(since.to_canonical())
    .bind(until.to_canonical())
    .fetch_one(pool)
    .await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

pub(crate) async fn message_recorded(pool: &Pool<Db>, message_id: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM deliveries WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}
