// ---------------------------------------------------------------- roadmap
// `include!`d into `mod sqlite` and `mod postgres` (see roadmap.rs), after
// admin_ops.rs (whose `audit` it uses).

const ROADMAP_COLUMNS: &str = "id, item, revision, first_seen, updated_at, last_seen, gone_since";

fn roadmap_row(row: &<Db as sqlx::Database>::Row) -> Result<crate::StoredRoadmapItem> {
    let id: i64 = row.try_get("id")?;
    Ok(crate::StoredRoadmapItem {
        item: from_json(&row.try_get::<String, _>("item")?, &format!("roadmap item {id}"))?,
        revision: row.try_get("revision")?,
        first_seen: read_ts(row.try_get("first_seen")?)?,
        updated_at: read_ts(row.try_get("updated_at")?)?,
        last_seen: read_ts(row.try_get("last_seen")?)?,
        gone_since: read_ts_opt(row.try_get("gone_since")?)?,
    })
}

/// A roadmap id as the database keeps it (BIGINT): ids past `i64::MAX`
/// cannot be kept, and are refused rather than wrapped.
fn roadmap_db_id(id: u64) -> Result<i64> {
    i64::try_from(id).map_err(|_| StoreError::Invalid(format!("roadmap id {id} is too large")))
}

pub(crate) async fn import_roadmap(
    pool: &Pool<Db>,
    writer: &Writer,
    items: &[changedesk_core::roadmap::RoadmapItem],
    whole: bool,
    source: &str,
    actor: &str,
    at: Timestamp,
) -> Result<crate::RoadmapImport> {
    use changedesk_core::roadmap::roadmap_changes;
    let now = at.to_canonical();
    let ids: Vec<i64> = items.iter().map(|i| roadmap_db_id(i.id)).collect::<Result<_>>()?;
    let (_w, mut tx) = begin_write(pool, writer, "roadmap imported").await?;
    // what the archive holds: the whole table (a roadmap has a few thousand items)
    let mut held: HashMap<i64, (changedesk_core::roadmap::RoadmapItem, i64, bool)> = HashMap::new();
    for row in sqlx::query("SELECT id, item, revision, gone_since FROM roadmap_items")
        .fetch_all(&mut *tx)
        .await?
    {
        let id: i64 = row.try_get("id")?;
        let item = from_json(&row.try_get::<String, _>("item")?, &format!("roadmap item {id}"))?;
        let gone: Option<String> = row.try_get("gone_since")?;
        held.insert(id, (item, row.try_get("revision")?, gone.is_some()));
    }
    let mut out = crate::RoadmapImport::default();
    let mut seen: std::collections::HashSet<i64> = std::collections::HashSet::with_capacity(items.len());
    for (item, id) in items.iter().zip(&ids) {
        if !seen.insert(*id) {
            continue; // the same id twice in one import: the first read wins
        }
        let products = to_json(&item.products.iter().map(|p| p.to_lowercase()).collect::<Vec<_>>());
        let month = item.release_month().map(|m| m.key());
        let search = format!("{}\n{}", item.title, item.description);
        let json = to_json(item);
        match held.get(id) {
            None => {
                sqlx::query(
                    "INSERT INTO roadmap_items (id, title, status, release_month, products, item, revision, first_seen, \
                     updated_at, last_seen, search) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $7, $8)",
                )
                .bind(id)
                .bind(&item.title)
                .bind(item.status.as_str())
                .bind(&month)
                .bind(&products)
                .bind(&json)
                .bind(&now)
                .bind(&search)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO roadmap_revisions (roadmap_id, revision, seen_at, item, changes) VALUES ($1, 1, $2, $3, '[]')",
                )
                .bind(id)
                .bind(&now)
                .bind(&json)
                .execute(&mut *tx)
                .await?;
                out.added.push(item.id);
            }
            Some((old, revision, gone)) => {
                let changes = roadmap_changes(old, item);
                if *gone {
                    out.returned.push(item.id);
                }
                if changes.is_empty() {
                    // the same item (its `modified` may have moved): kept as
                    // read, without a revision
                    sqlx::query("UPDATE roadmap_items SET item = $1, last_seen = $2, gone_since = NULL WHERE id = $3")
                        .bind(&json)
                        .bind(&now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    out.unchanged += 1;
                    continue;
                }
                let next = revision + 1;
                sqlx::query(
                    "UPDATE roadmap_items SET title = $1, status = $2, release_month = $3, products = $4, item = $5, \
                     revision = $6, updated_at = $7, last_seen = $7, gone_since = NULL, search = $9 WHERE id = $8",
                )
                .bind(&item.title)
                .bind(item.status.as_str())
                .bind(&month)
                .bind(&products)
                .bind(&json)
                .bind(next)
                .bind(&now)
                .bind(id)
                .bind(&search)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO roadmap_revisions (roadmap_id, revision, seen_at, item, changes) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(next)
                .bind(&now)
                .bind(&json)
                .bind(to_json(&changes))
                .execute(&mut *tx)
                .await?;
                out.changed.push((item.id, changes));
            }
        }
    }
    if whole {
        let mut gone: Vec<i64> = held
            .iter()
            .filter(|(id, (_, _, gone))| !gone && !seen.contains(*id))
            .map(|(id, _)| *id)
            .collect();
        gone.sort_unstable();
        for id in &gone {
            sqlx::query("UPDATE roadmap_items SET gone_since = $1 WHERE id = $2")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        out.gone = gone.into_iter().filter_map(|id| u64::try_from(id).ok()).collect();
    }
    let detail = serde_json::json!({
        "source": source, "whole": whole, "added": out.added.len(), "changed": out.changed.len(),
        "unchanged": out.unchanged, "gone": out.gone.len(), "returned": out.returned.len(),
    });
    audit(&mut tx, &now, actor, "roadmap.import", "roadmap", &detail).await?;
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn roadmap_items(
    pool: &Pool<Db>,
    q: &crate::RoadmapQuery,
    limit: i64,
) -> Result<(Vec<crate::StoredRoadmapItem>, i64)> {
    let filter = |qb: &mut QueryBuilder<Db>| -> Result<()> {
        if !q.include_gone {
            qb.push(" AND gone_since IS NULL");
        }
        if !q.statuses.is_empty() {
            qb.push(" AND LOWER(status) IN (");
            let mut list = qb.separated(", ");
            // in any spelling the roadmap's statuses are read in
            for s in &q.statuses {
                list.push_bind(changedesk_core::roadmap::RoadmapStatus::parse(s).as_str().to_lowercase());
            }
            qb.push(")");
        }
        if let Some(p) = &q.product {
            // the products are kept lowercased as a JSON list: one quoted element
            qb.push(" AND products LIKE ").push_bind(like_pattern(&to_json(&p.to_lowercase())));
            qb.push(" ESCAPE '\\'");
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = like_pattern(t);
            qb.push(format!(" AND search {ILIKE} ")).push_bind(pattern).push(" ESCAPE '\\'");
        }
        if let Some(m) = &q.release_from {
            qb.push(" AND release_month >= ").push_bind(m.clone());
        }
        if let Some(m) = &q.release_to {
            qb.push(" AND release_month <= ").push_bind(m.clone());
        }
        if let Some(ids) = &q.ids {
            if ids.is_empty() {
                qb.push(" AND 1 = 0");
            } else {
                qb.push(" AND id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(roadmap_db_id(*id)?);
                }
                qb.push(")");
            }
        }
        Ok(())
    };
    let mut count: QueryBuilder<Db> = QueryBuilder::new("SELECT COUNT(*) AS n FROM roadmap_items WHERE 1 = 1");
    filter(&mut count)?;
    let total: i64 = count.build().fetch_one(pool).await?.try_get("n")?;
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("SELECT {ROADMAP_COLUMNS} FROM roadmap_items WHERE 1 = 1"));
    filter(&mut qb)?;
    qb.push(" ORDER BY CASE WHEN release_month IS NULL THEN 1 ELSE 0 END, release_month, id LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(q.offset.max(0));
    let rows = qb.build().fetch_all(pool).await?;
    Ok((rows.iter().map(roadmap_row).collect::<Result<_>>()?, total))
}

pub(crate) async fn roadmap_item(
    pool: &Pool<Db>,
    id: u64,
) -> Result<Option<(crate::StoredRoadmapItem, Vec<crate::RoadmapRevision>)>> {
    let Ok(id) = i64::try_from(id) else {
        return Ok(None);
    };
    let Some(row) = sqlx::query(sql(format!("SELECT {ROADMAP_COLUMNS} FROM roadmap_items WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let item = roadmap_row(&row)?;
    let revisions = sqlx::query(
        "SELECT revision, seen_at, item, changes FROM roadmap_revisions WHERE roadmap_id = $1 ORDER BY revision DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::RoadmapRevision {
            revision: r.try_get("revision")?,
            seen_at: read_ts(r.try_get("seen_at")?)?,
            item: from_json(&r.try_get::<String, _>("item")?, "a roadmap revision")?,
            changes: from_json(&r.try_get::<String, _>("changes")?, "a roadmap revision's changes")?,
        })
    })
    .collect::<Result<_>>()?;
    Ok(Some((item, revisions)))
}

pub(crate) async fn roadmap_summary(pool: &Pool<Db>) -> Result<(i64, Option<Timestamp>)> {
    let row = sqlx::query("SELECT COUNT(*) AS n, MAX(last_seen) AS at FROM roadmap_items")
        .fetch_one(pool)
        .await?;
    Ok((row.try_get("n")?, read_ts_opt(row.try_get("at")?)?))
}
