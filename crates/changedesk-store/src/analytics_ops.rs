// ---------------------------------------------------------------- analytics
// `include!`d into `mod sqlite` and `mod postgres` (see analytics.rs).

/// One work item and its post's facts, as [`analytics_items`] reads them.
fn analytics_row(row: &DbRow) -> Result<changedesk_core::metrics::ItemFacts> {
    let id: String = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    Ok(changedesk_core::metrics::ItemFacts {
        title: row.try_get("title")?,
        workloads: from_json(&row.try_get::<String, _>("services")?, "services")?,
        owner: row.try_get::<Option<String>, _>("assignee")?.filter(|a| !a.is_empty()),
        category: row.try_get("category")?,
        severity: row.try_get("severity")?,
        major: row.try_get("is_major")?,
        groups: Vec::new(),
        state: state
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("work item of post {id}: {e}")))?,
        created_at: read_ts(row.try_get("created_at")?)?,
        first_triaged_at: read_ts_opt(row.try_get("first_triaged_at")?)?,
        closed_at: read_ts_opt(row.try_get("closed_at")?)?,
        work: changedesk_core::metrics::WorkFacts {
            due: read_ts_opt(row.try_get("due_at")?)?,
            decision_deadline: read_ts_opt(row.try_get("decision_deadline")?)?,
            changed_since_triage: row.try_get("changed")?,
            decision: match row.try_get::<Option<String>, _>("decision")? {
                None => None,
                Some(d) => Some(
                    d.parse()
                        .map_err(|e| StoreError::Corrupt(format!("work item of post {id}: {e}")))?,
                ),
            },
            requires_change_request: row.try_get::<Option<String>, _>("requires_cr")?.as_deref() == Some("true"),
            requires_communication: row.try_get::<Option<String>, _>("requires_comms")?.as_deref() == Some("true"),
            tenants: usize::try_from(row.try_get::<i64, _>("tenants_seen")?).unwrap_or(0),
        },
        post_id: id,
    })
}

pub(crate) async fn analytics_items(
    pool: &Pool<Db>,
    scope: &TenantScope,
    since: Timestamp,
    groups: &[(String, Vec<String>)],
) -> Result<Vec<changedesk_core::metrics::ItemFacts>> {
    let Some(s) = resolve_scope(pool, scope).await? else {
        return Ok(Vec::new());
    };
    let since = since.to_canonical();
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        format!(
            "SELECT p.id, p.title, p.services, p.category, p.severity, p.is_major, w.state, w.assignee, \
             w.created_at, w.first_triaged_at, w.closed_at, w.due_at, w.changed, w.decision, \
             {DECISION_DEADLINE} AS decision_deadline, {ITEM_REQUIRES_CR} AS requires_cr, \
             {ITEM_REQUIRES_COMMS} AS requires_comms, \
             COALESCE((SELECT c.seen FROM post_link_counts c WHERE c.post_id = p.id), 0) AS tenants_seen \
             FROM work_items w JOIN posts p ON p.id = w.post_id WHERE (w.created_at >= "
        ),
    );
    qb.push_bind(since.clone());
    qb.push(" OR w.closed_at IS NULL OR w.closed_at >= ");
    qb.push_bind(since.clone());
    qb.push(format!(" OR {DECISION_DEADLINE} >= "));
    qb.push_bind(since);
    qb.push(")");
    if matches!(s, InScope::Ids(_)) {
        qb.push(" AND EXISTS (SELECT 1 FROM post_tenants l WHERE l.post_id = p.id");
        push_in_scope_of_post(&mut qb, &s, "l");
        qb.push(")");
    }
    qb.push(" ORDER BY p.id");
    let rows = qb.build().fetch_all(pool).await?;
    let mut items = rows.iter().map(analytics_row).collect::<Result<Vec<_>>>()?;
    if items.is_empty() || groups.is_empty() {
        return Ok(items);
    }
    let ids: Vec<&str> = items.iter().map(|i| i.post_id.as_str()).collect();
    let mut of_post: HashMap<String, Vec<String>> = HashMap::new();
    for (name, tenants) in groups {
        let Some(InScope::Ids(group)) = resolve_scope(pool, &TenantScope::Only(tenants.clone())).await? else {
            continue;
        };
        // each post probed for the group's tenants, stopping at the first
        // that sees it (the links' key is tenant, post): a handful of index
        // seeks a post instead of reading all its links
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT p.id AS post_id FROM posts p WHERE p.id ");
        qb.push(TEXT_IDS_IN[0]);
        qb.push_bind(id_list(&ids));
        qb.push(TEXT_IDS_IN[1]);
        qb.push(" AND EXISTS (SELECT 1 FROM post_tenants l WHERE l.post_id = p.id");
        push_in_scope(&mut qb, &InScope::Ids(group), "l");
        qb.push(")");
        for row in qb.build().fetch_all(pool).await? {
            of_post.entry(row.try_get("post_id")?).or_default().push(name.clone());
        }
    }
    for item in &mut items {
        if let Some(g) = of_post.remove(&item.post_id) {
            item.groups = g;
        }
    }
    Ok(items)
}
