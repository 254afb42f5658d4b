// ---------------------------------------------------------------- pilots
// `include!`d into `mod sqlite` and `mod postgres` (see pilots.rs), after
// admin_ops.rs (whose `audit` it uses) and query_ops.rs (its scopes).

pub(crate) async fn pilot_groups(pool: &Pool<Db>) -> Result<Vec<crate::PilotGroup>> {
    let rows = sqlx::query("SELECT name, description, workloads, members, channel FROM pilot_groups ORDER BY name")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let list = |c: &str| -> Result<Vec<String>> {
                let s: String = r.try_get(c)?;
                serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("a pilot group's {c}: {e}")))
            };
            Ok(crate::PilotGroup {
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                workloads: list("workloads")?,
                members: list("members")?,
                channel: r.try_get("channel")?,
            })
        })
        .collect()
}

pub(crate) async fn save_pilot_group(
    pool: &Pool<Db>,
    writer: &Writer,
    g: &crate::PilotGroup,
    actor: &str,
    at: Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "pilot group saved").await?;
    sqlx::query(
        "INSERT INTO pilot_groups (name, description, workloads, members, updated_by, updated_at, channel) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET description = $2, workloads = $3, \
         members = $4, updated_by = $5, updated_at = $6, channel = $7",
    )
    .bind(&g.name)
    .bind(&g.description)
    .bind(to_json(&g.workloads))
    .bind(to_json(&g.members))
    .bind(actor)
    .bind(&now)
    .bind(&g.channel)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "workloads": g.workloads, "members": g.members.len(), "description": g.description, "channel": g.channel,
    });
    audit(&mut tx, &now, actor, "pilot_group.save", &format!("pilot group {}", g.name), &detail).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove_pilot_group(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: Timestamp) -> Result<bool> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "pilot group removed").await?;
    let done = sqlx::query("DELETE FROM pilot_groups WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    audit(&mut tx, &now, actor, "pilot_group.remove", &format!("pilot group {name}"), &serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn pilot_candidates(pool: &Pool<Db>) -> Result<Vec<crate::PilotCandidate>> {
    let rows = sqlx::query(
        "SELECT id, services, timeline FROM posts WHERE timeline LIKE '%\"public_preview\"%' \
         OR timeline LIKE '%\"targeted_release\"%' ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        let services: String = r.try_get("services")?;
        let timeline: Option<String> = r.try_get("timeline")?;
        let (Ok(services), Some(Ok(timeline))) = (
            serde_json::from_str::<Vec<String>>(&services),
            timeline.map(|t| serde_json::from_str::<changedesk_core::timeline::Timeline>(&t)),
        ) else {
            // a row this build cannot read opens no task (it is read again
            // when the timeline is)
            continue;
        };
        out.push(crate::PilotCandidate {
            post_id: id,
            services,
            timeline,
        });
    }
    Ok(out)
}

pub(crate) async fn unopened_pilot_tasks(pool: &Pool<Db>, tasks: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let mut ids: Vec<&str> = tasks.iter().map(|(p, _)| p.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let open: std::collections::HashSet<(String, String)> = sqlx::query(sql(format!(
        "SELECT post_id, pilot_group FROM pilot_tasks WHERE post_id {}",
        any_of(1)
    )))
    .bind(id_list(&ids))
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("post_id")?, r.try_get("pilot_group")?)))
    .collect::<Result<_>>()?;
    Ok(tasks.iter().filter(|t| !open.contains(*t)).cloned().collect())
}

pub(crate) async fn open_pilot_tasks(
    pool: &Pool<Db>,
    writer: &Writer,
    tasks: &[&crate::NewPilotTask],
    at: Timestamp,
) -> Result<usize> {
    let now = at.to_canonical();
    // no answer the server keeps reads pilot tasks: bookkeeping
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "pilot tasks opened").await?;
    let mut made = 0;
    for t in tasks {
        let new = sqlx::query(
            "INSERT INTO pilot_tasks (post_id, pilot_group, pilot_start, opened_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (post_id, pilot_group) DO NOTHING",
        )
        .bind(&t.post_id)
        .bind(&t.group)
        .bind(changedesk_core::timeline::iso(t.pilot_start))
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // the group is told only of a task this opened
        if new == 1
            && let Some(e) = &t.event
        {
            insert_events(&mut tx, std::slice::from_ref(e), &now).await?;
        }
        made += new;
    }
    tx.commit().await?;
    Ok(usize::try_from(made).unwrap_or(0))
}

pub(crate) async fn pilot_tasks(pool: &Pool<Db>, query: &crate::PilotTaskQuery, limit: i64) -> Result<Vec<crate::PilotTask>> {
    let mut qb: QueryBuilder<Db> =
        QueryBuilder::new("SELECT t.post_id, t.pilot_group, t.pilot_start, t.opened_at FROM pilot_tasks t WHERE 1 = 1");
    if let Some(p) = &query.post_id {
        qb.push(" AND t.post_id = ").push_bind(p.clone());
    }
    if let Some(done) = query.done {
        // done: the group recorded a finding on the post (the decision
        // log's `pilot_finding`, its group in `field`)
        qb.push(if done { " AND EXISTS" } else { " AND NOT EXISTS" }).push(
            " (SELECT 1 FROM decision_log d WHERE d.post_id = t.post_id AND d.action = 'pilot_finding' \
             AND LOWER(d.field) = LOWER(t.pilot_group))",
        );
    }
    qb.push(" ORDER BY t.opened_at DESC, t.post_id, t.pilot_group LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(query.offset.max(0));
    let rows = qb.build().fetch_all(pool).await?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut tasks = Vec::with_capacity(rows.len());
    for r in &rows {
        let start: String = r.try_get("pilot_start")?;
        tasks.push(crate::PilotTask {
            post_id: r.try_get("post_id")?,
            group: r.try_get("pilot_group")?,
            pilot_start: time::Date::parse(&start, &format)
                .map_err(|e| StoreError::Corrupt(format!("a pilot task's start `{start}`: {e}")))?,
            opened_at: read_ts(r.try_get("opened_at")?)?,
            finding: None,
        });
    }
    if tasks.is_empty() {
        return Ok(tasks);
    }
    // each task's group's latest finding on its post
    let mut ids: Vec<&str> = tasks.iter().map(|t| t.post_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let findings = sqlx::query(sql(format!(
        "SELECT post_id, field, actor, at, new_value, reason FROM decision_log \
         WHERE action = 'pilot_finding' AND post_id {} ORDER BY id",
        any_of(1)
    )))
    .bind(id_list(&ids))
    .fetch_all(pool)
    .await?;
    for f in &findings {
        let post: String = f.try_get("post_id")?;
        let group: Option<String> = f.try_get("field")?;
        let finding = crate::PilotFinding {
            actor: f.try_get("actor")?,
            at: read_ts(f.try_get("at")?)?,
            recommendation: f.try_get::<Option<String>, _>("new_value")?.unwrap_or_default(),
            text: f.try_get("reason")?,
        };
        for t in tasks
            .iter_mut()
            .filter(|t| t.post_id == post && group.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(&t.group)))
        {
            t.finding = Some(finding.clone());
        }
    }
    Ok(tasks)
}
