// Work items, their decision log and notify intents: written once,
// `include!`d into `mod sqlite` and `mod postgres` after ops.rs.

use changedesk_core::triage::{LogEntry, LogScope, State};

use super::{
    Candidate, CandidateLink, ItemFilter, ItemRow, ItemSave, ItemTally, LoggedEntry, NotifyRow, StoredItem,
};

/// The columns of a work item `w` and its exceptions `x` (joined with
/// [`EXCEPTIONS_JOIN`]) that [`item_from`] reads.
const ITEM_COLUMNS: &str = "w.item, x.overrides, w.version, w.evaluated_revision";

/// A work item `w`'s exceptions `x`, kept apart (migration 0024): read with
/// the item wherever it may be changed and saved.
const EXCEPTIONS_JOIN: &str = " LEFT JOIN work_item_exceptions x ON x.post_id = w.post_id";

/// A work item: its JSON, with its exceptions (the `overrides` column, NULL
/// for none) put back.
fn parse_item(item: &str, overrides: Option<&str>) -> Result<changedesk_core::triage::WorkItem> {
    let mut item: changedesk_core::triage::WorkItem = from_json(item, "work item")?;
    if let Some(text) = overrides {
        item.put_overrides(from_json(text, "work item exceptions")?);
    }
    Ok(item)
}

fn item_from(row: &DbRow) -> Result<StoredItem> {
    Ok(StoredItem {
        item: parse_item(
            &row.try_get::<String, _>("item")?,
            row.try_get::<Option<String>, _>("overrides")?.as_deref(),
        )?,
        version: row.try_get("version")?,
        evaluated_revision: row.try_get("evaluated_revision")?,
    })
}

pub(crate) async fn work_item(pool: &Pool<Db>, post_id: &str) -> Result<Option<StoredItem>> {
    let row =
        sqlx::query(sql(format!("SELECT {ITEM_COLUMNS} FROM work_items w{EXCEPTIONS_JOIN} WHERE w.post_id = $1")))
            .bind(post_id)
            .fetch_optional(pool)
            .await?;
    row.as_ref().map(item_from).transpose()
}

fn entry_from(row: &DbRow) -> Result<LoggedEntry> {
    let scope = match row.try_get::<Option<String>, _>("tenant")? {
        None => LogScope::Post,
        Some(t) => LogScope::Tenant(t),
    };
    let actor: String = row.try_get("actor")?;
    let action: String = row.try_get("action")?;
    Ok(LoggedEntry {
        id: row.try_get("id")?,
        post_id: row.try_get("post_id")?,
        entry: LogEntry {
            at: read_ts(row.try_get("at")?)?,
            actor: actor.parse().map_err(|e| StoreError::Corrupt(format!("log actor: {e}")))?,
            action: action.parse().map_err(|e| StoreError::Corrupt(format!("log action: {e}")))?,
            field: row.try_get("field")?,
            old: row.try_get("old_value")?,
            new: row.try_get("new_value")?,
            reason: row.try_get("reason")?,
            scope,
        },
    })
}

const LOG_COLUMNS: &str = "id, post_id, tenant, at, actor, action, field, old_value, new_value, reason";

pub(crate) async fn work_item_log(pool: &Pool<Db>, post_id: &str) -> Result<Vec<LoggedEntry>> {
    let rows = sqlx::query(sql(format!("SELECT {LOG_COLUMNS} FROM decision_log WHERE post_id = $1 ORDER BY id")))
        .bind(post_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(entry_from).collect()
}

pub(crate) async fn decision_log_since(pool: &Pool<Db>, since: &Timestamp) -> Result<Vec<LoggedEntry>> {
    // in the order of the `at` index (entries written together share their
    // time, and keep the order written): ordered by id alone, SQLite walked
    // every entry of the log in id order instead (56 ms at 500k entries)
    let rows = sqlx::query(sql(format!("SELECT {LOG_COLUMNS} FROM decision_log WHERE at >= $1 ORDER BY at, id")))
        .bind(since.to_canonical())
        .fetch_all(pool)
        .await?;
    rows.iter().map(entry_from).collect()
}

/// Saves an item, its new log entries and notify intents in one transaction.
/// `expected_version` `None` creates the item (refused if one exists);
/// `Some(v)` updates it only if nobody saved it since version `v`.
pub(crate) async fn save_work_item(pool: &Pool<Db>, writer: &Writer, save: &ItemSave<'_>) -> Result<i64> {
    let (_w, mut tx) = begin_write(pool, writer, "work item").await?;
    let version = save_in(&mut tx, save).await?;
    tx.commit().await?;
    Ok(version)
}

/// Saves many items in one transaction (the rules' batches). A conflict or a
/// missing post fails only its own item: it is detected before that item
/// writes anything, and the others are saved.
pub(crate) async fn save_work_items(
    pool: &Pool<Db>,
    writer: &Writer,
    saves: &[ItemSave<'_>],
    evaluated: &[(&str, i64)],
) -> Result<Vec<Result<i64>>> {
    let (_w, mut tx) = begin_write(pool, writer, "work items").await?;
    let mut out = Vec::with_capacity(saves.len());
    for save in saves {
        match save_in(&mut tx, save).await {
            r @ (Ok(_) | Err(StoreError::Conflict(_) | StoreError::NotFound(_))) => out.push(r),
            Err(e) => return Err(e),
        }
    }
    for (post_id, revision) in evaluated {
        mark_evaluated_in(&mut tx, post_id, *revision).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// `NotFound` unless the post exists.
async fn post_must_exist(tx: &mut Tx, id: &str) -> Result<()> {
    let post = sqlx::query("SELECT COUNT(*) AS n FROM posts WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    if post.try_get::<i64, _>("n")? == 0 {
        return Err(StoreError::NotFound(format!("post {id}")));
    }
    Ok(())
}

async fn save_in(tx: &mut Tx, save: &ItemSave<'_>) -> Result<i64> {
    let item = save.item;
    let now = save.at.to_canonical();
    let ts = |t: &Option<Timestamp>| t.map(|t| t.to_canonical());
    // the item without its exceptions: they are kept apart (migration 0024)
    let shared = to_json(&item.without_overrides());
    let version = match save.expected_version {
        None => {
            // one statement whatever happens (a rules run creates hundreds of
            // items, each a round trip to the database): inserted only for a
            // post that exists and has no item yet; which of the two stopped
            // it is asked only when it did not insert
            let done = sqlx::query(
                "INSERT INTO work_items (post_id, state, decision, assignee, priority, due_at, changed, created_at, \
                 first_triaged_at, started_at, closed_at, updated_at, evaluated_revision, version, item) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14 \
                 WHERE EXISTS (SELECT 1 FROM posts WHERE id = $1) \
                 ON CONFLICT (post_id) DO NOTHING",
            )
            .bind(&item.message_id)
            .bind(item.state.as_str())
            .bind(item.decision.map(|d| d.as_str()))
            .bind(&item.assignee)
            .bind(item.priority.as_str())
            .bind(ts(&item.due))
            .bind(!item.changed_since_triage.is_empty())
            .bind(item.created_at.to_canonical())
            .bind(ts(&item.first_triaged_at))
            .bind(ts(&item.started_at))
            .bind(ts(&item.closed_at))
            .bind(&now)
            .bind(save.evaluated_revision.unwrap_or(0))
            .bind(&shared)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                post_must_exist(tx, &item.message_id).await?;
                return Err(StoreError::Conflict(format!(
                    "{} already has a work item (someone else created it meanwhile); reload and try again",
                    item.message_id
                )));
            }
            1
        }
        Some(expected) => {
            let done = sqlx::query(
                "UPDATE work_items SET state = $1, decision = $2, assignee = $3, priority = $4, due_at = $5, changed = $6, \
                 first_triaged_at = $7, started_at = $8, closed_at = $9, updated_at = $10, \
                 evaluated_revision = COALESCE($11, evaluated_revision), version = version + 1, item = $12 \
                 WHERE post_id = $13 AND version = $14",
            )
            .bind(item.state.as_str())
            .bind(item.decision.map(|d| d.as_str()))
            .bind(&item.assignee)
            .bind(item.priority.as_str())
            .bind(ts(&item.due))
            .bind(!item.changed_since_triage.is_empty())
            .bind(ts(&item.first_triaged_at))
            .bind(ts(&item.started_at))
            .bind(ts(&item.closed_at))
            .bind(&now)
            .bind(save.evaluated_revision)
            .bind(&shared)
            .bind(&item.message_id)
            .bind(expected)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                post_must_exist(tx, &item.message_id).await?;
                return Err(StoreError::Conflict(format!(
                    "{} was changed by someone else meanwhile; reload and try again",
                    item.message_id
                )));
            }
            expected + 1
        }
    };
    write_exceptions(tx, item, save.expected_version.is_some()).await?;
    if !save.entries.is_empty() {
        // one statement for the item's entries, in order (ids keep it)
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO decision_log (post_id, tenant, at, actor, action, field, old_value, new_value, reason) ",
        );
        qb.push_values(save.entries, |mut b, e| {
            let tenant = match &e.scope {
                LogScope::Post => None,
                LogScope::Tenant(t) => Some(t.clone()),
            };
            b.push_bind(item.message_id.clone())
                .push_bind(tenant)
                .push_bind(e.at.to_canonical())
                .push_bind(e.actor.as_str())
                .push_bind(e.action.as_str())
                .push_bind(e.field.clone())
                .push_bind(e.old.clone())
                .push_bind(e.new.clone())
                .push_bind(e.reason.clone());
        });
        // not kept in the statement cache: its text changes with the count
        qb.build().persistent(false).execute(&mut **tx).await?;
    }
    insert_events(tx, save.events, &now).await?;
    for n in save.notify {
        sqlx::query("INSERT INTO notify_intents (post_id, tenant, target, reason, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&item.message_id)
            .bind(&n.tenant)
            .bind(&n.target)
            .bind(&n.reason)
            .bind(&now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(version)
}

/// Rewrites the index of `item`'s tenant exceptions (`work_item_tenants`):
/// what lists ask of the state in force per tenant. `replace`: the item
/// existed, so its old rows go first. Only a tenant linked to the post has
/// a row (migration 0023): an exception of a tenant the archive does not
/// know, or that never saw the post, is in force for nobody.
async fn write_exceptions(tx: &mut Tx, item: &changedesk_core::triage::WorkItem, replace: bool) -> Result<()> {
    write_exceptions_apart(tx, item, replace).await?;
    write_exceptions_index(tx, item, replace).await
}

/// Rewrites `item`'s exceptions kept apart from it (work_item_exceptions,
/// migration 0024): a row only when it has some. `replace`: the item
/// existed, so its old row goes first.
async fn write_exceptions_apart(tx: &mut Tx, item: &changedesk_core::triage::WorkItem, replace: bool) -> Result<()> {
    if replace {
        sqlx::query("DELETE FROM work_item_exceptions WHERE post_id = $1")
            .bind(&item.message_id)
            .execute(&mut **tx)
            .await?;
    }
    if !item.overrides.is_empty() {
        sqlx::query("INSERT INTO work_item_exceptions (post_id, overrides) VALUES ($1, $2)")
            .bind(&item.message_id)
            .bind(to_json(&item.overrides))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Rewrites the index of `item`'s exceptions (see [`write_exceptions`]).
async fn write_exceptions_index(tx: &mut Tx, item: &changedesk_core::triage::WorkItem, replace: bool) -> Result<()> {
    if replace {
        for table in ["work_item_tenants", "work_item_variants"] {
            sqlx::query(sql(format!("DELETE FROM {table} WHERE post_id = $1")))
                .bind(&item.message_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    if item.overrides.is_empty() {
        return Ok(());
    }
    let mut ids: HashMap<String, i64> = HashMap::new();
    let names: Vec<&str> = item.overrides.iter().map(|o| o.tenant.as_str()).collect();
    for chunk in names.chunks(500) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT t.id, t.name FROM tenants t WHERE t.name {}",
            TEXT_IDS_IN[0]
        ));
        qb.push_bind(id_list(chunk));
        qb.push(TEXT_IDS_IN[1]);
        qb.push(" AND EXISTS (SELECT 1 FROM post_tenants pt WHERE pt.post_id = ");
        qb.push_bind(item.message_id.clone());
        qb.push(" AND pt.tenant_id = t.id)");
        for row in qb.build().fetch_all(&mut **tx).await? {
            ids.insert(row.try_get("name")?, row.try_get("id")?);
        }
    }
    let rows: Vec<(i64, &changedesk_core::triage::TenantOverride)> =
        item.overrides.iter().filter_map(|o| ids.get(&o.tenant).map(|id| (*id, o))).collect();
    for chunk in rows.chunks(500) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO work_item_tenants (post_id, tenant_id, applicable, state, decision, assignee, due_at) ",
        );
        qb.push_values(chunk, |mut b, (id, o)| {
            b.push_bind(item.message_id.clone())
                .push_bind(*id)
                .push_bind(o.applicable)
                .push_bind(o.state.map(|s| s.as_str()))
                .push_bind(o.decision.map(|d| d.as_str()))
                .push_bind(o.assignee.clone())
                .push_bind(o.due.map(|d| d.to_canonical()));
        });
        qb.build().persistent(false).execute(&mut **tx).await?;
    }
    // the distinct exceptions, counted (migration 0021)
    sqlx::query(
        "INSERT INTO work_item_variants (post_id, applicable, state, decision, assignee, due_at, tenants) \
         SELECT post_id, applicable, state, decision, assignee, due_at, COUNT(*) FROM work_item_tenants \
         WHERE post_id = $1 GROUP BY post_id, applicable, state, decision, assignee, due_at",
    )
    .bind(&item.message_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn pending_notifications(pool: &Pool<Db>) -> Result<Vec<NotifyRow>> {
    let rows = sqlx::query(
        "SELECT post_id, tenant, target, reason, created_at FROM notify_intents WHERE delivered_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(NotifyRow {
                post_id: row.try_get("post_id")?,
                tenant: row.try_get("tenant")?,
                target: row.try_get("target")?,
                reason: row.try_get("reason")?,
                created_at: Some(read_ts(row.try_get("created_at")?)?),
            })
        })
        .collect()
}

/// An item filter's `visible_to` as tenant ids: `Ok(None)` without one,
/// `Err(())` when it names no tenant of the archive (nothing matches).
async fn visible_scope(pool: &Pool<Db>, f: &ItemFilter) -> Result<std::result::Result<Option<InScope>, ()>> {
    match &f.visible_to {
        None => Ok(Ok(None)),
        Some(names) => Ok(resolve_scope(pool, &TenantScope::Only(names.clone())).await?.map(Some).ok_or(())),
    }
}

/// Whether an item filter asks about what is in force per tenant: states,
/// assignee, due date or deadlines.
fn asks_in_force(f: &ItemFilter) -> bool {
    !f.states.is_empty() || f.assignee.is_some() || f.due_before.is_some() || !f.deadlines.is_empty()
}

/// ` AND …` for each condition of `f` on what is in force, on these
/// expressions of a state, an assignee and a due date.
fn push_item_filter_in_force(qb: &mut QueryBuilder<Db>, f: &ItemFilter, (state, assignee, due): &ItemCols) {
    if !f.states.is_empty() {
        qb.push(format!(" AND {state} IN ("));
        let mut sep = qb.separated(", ");
        for s in &f.states {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
    }
    if let Some(a) = &f.assignee {
        qb.push(format!(" AND {assignee} = ")).push_bind(a.to_ascii_lowercase());
    }
    if let Some(before) = &f.due_before {
        qb.push(format!(" AND {due} IS NOT NULL AND {due} < "))
            .push_bind(before.to_canonical());
    }
    if !f.deadlines.is_empty() {
        qb.push(" AND (");
        for (i, d) in f.deadlines.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            push_deadline_on(qb, *d, state, due);
        }
        qb.push(")");
    }
}

/// The one tenant whose standing an item filter asks about: its `tenant`,
/// or the one tenant of its `visible_to`.
fn one_tenant(f: &ItemFilter) -> Option<&str> {
    f.tenant.as_deref().or(match f.visible_to.as_deref() {
        Some([only]) => Some(only.as_str()),
        _ => None,
    })
}

/// ` AND …` for each condition of an item filter (but its paging), on the
/// work items `w` of the posts `p`; `visible` is its `visible_to` as ids.
///
/// States, assignee, due date and deadlines are what is in force for a
/// tenant: with the filter's `tenant`, that tenant's; otherwise some tenant
/// in scope that sees the post. An item matches by its own columns when
/// it has no exceptions, or when some tenant in scope has none; or by one
/// of its exceptions in scope, over its own columns.
fn push_item_filter(qb: &mut QueryBuilder<Db>, f: &ItemFilter, visible: Option<&InScope>) {
    if asks_in_force(f) {
        qb.push(" AND ");
        push_in_force(qb, "w", f.tenant.as_deref().map(TenantKey::Name), visible, &|qb, cols| {
            push_item_filter_in_force(qb, f, cols)
        });
    }
    if let Some(b) = f.baseline {
        qb.push(" AND p.baseline = ").push_bind(b);
    }
    if let Some(ids) = &f.post_ids {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        qb.push(format!(" AND w.post_id {}", TEXT_IDS_IN[0]));
        qb.push_bind(id_list(&ids));
        qb.push(TEXT_IDS_IN[1]);
    }
    match f.changed {
        None => {}
        Some(true) => {
            qb.push(format!(" AND {}", changed_since_triage_sql("w")));
        }
        Some(false) => {
            qb.push(format!(" AND NOT {}", changed_since_triage_sql("w")));
        }
    }
    if let Some(t) = &f.tenant {
        qb.push(
            " AND EXISTS (SELECT 1 FROM post_tenants pt JOIN tenants t ON t.id = pt.tenant_id \
             WHERE pt.post_id = w.post_id AND t.name = ",
        )
        .push_bind(t.clone())
        .push(")");
    }
    if let Some(s) = visible {
        // each item's post's links are read until one of a tenant in scope:
        // a post is seen by most tenants, so that is one of the first few.
        // A scalar subquery with `LIMIT 1`, not `EXISTS` nor an `IN` of the
        // scope's links: at 1,000 tenants × 4,000 posts on SQLite, those
        // took 0.4–0.9 s for a scope of 3 or of 200 tenants (as if every
        // link of the scope, or of the archive, were read), this 30–100 ms.
        qb.push(" AND (SELECT 1 FROM post_tenants pv WHERE pv.post_id = w.post_id AND pv.visible");
        push_in_scope_of_post(qb, s, "pv");
        qb.push(" LIMIT 1) IS NOT NULL");
    }
}

/// `SELECT pt.post_id, {what} … GROUP BY pt.post_id` over the visible links
/// `pt` of the posts `ids` (of tenants in `visible`, when given).
fn visible_links_of(what: &str, ids: &[&str], visible: Option<&InScope>) -> QueryBuilder<Db> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT pt.post_id, {what} WHERE pt.visible AND pt.post_id {}",
        TEXT_IDS_IN[0]
    ));
    qb.push_bind(id_list(ids));
    qb.push(TEXT_IDS_IN[1]);
    if let Some(s) = visible {
        push_in_scope_of_post(&mut qb, s, "pt");
    }
    qb.push(" GROUP BY pt.post_id");
    qb
}

/// Of each of the posts `ids`, its tenants (in `visible`, when given) with
/// an exception that see it now: the item's index rows (a row only for a
/// tenant linked to the post, migration 0023) less the tenants whose link
/// is no longer visible. Two reads of a few hundred rows a post, in index
/// order; looking up each exception's link cost the agenda 0.5 s at an
/// MSP's 257,698 exceptions.
async fn excepted_and_visible(
    pool: &Pool<Db>,
    ids: &[&str],
    visible: Option<&InScope>,
) -> Result<HashMap<String, Vec<i64>>> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT e.post_id, {}e.tenant_id{} AS ids FROM work_item_tenants e WHERE e.post_id {}",
        ID_LIST[0], ID_LIST[1], TEXT_IDS_IN[0]
    ));
    qb.push_bind(id_list(ids));
    qb.push(TEXT_IDS_IN[1]);
    if let Some(s) = visible {
        push_in_scope_of_post(&mut qb, s, "e");
    }
    qb.push(" GROUP BY e.post_id");
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for row in qb.build().fetch_all(pool).await? {
        let tenants: Vec<i64> = from_json(&row.try_get::<String, _>("ids")?, "tenant ids")?;
        out.insert(row.try_get("post_id")?, tenants);
    }
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT pt.post_id, pt.tenant_id FROM post_tenants pt WHERE pt.post_id {}",
        TEXT_IDS_IN[0]
    ));
    qb.push_bind(id_list(ids));
    qb.push(TEXT_IDS_IN[1]);
    qb.push(" AND pt.visible = FALSE");
    let mut gone: HashMap<String, HashSet<i64>> = HashMap::new();
    for row in qb.build().fetch_all(pool).await? {
        gone.entry(row.try_get("post_id")?).or_default().insert(row.try_get("tenant_id")?);
    }
    for (post, gone) in &gone {
        if let Some(tenants) = out.get_mut(post) {
            tenants.retain(|t| !gone.contains(t));
        }
    }
    Ok(out)
}

/// The work items `f` matches with their posts, in list order, and `f`'s
/// `visible_to` as ids; `None` when it names no tenant of the archive.
/// `with_exceptions`: each item's exceptions read too; else left out (the
/// item's `overrides` empty), for [`list_work_items_counted`].
async fn item_list_rows(
    pool: &Pool<Db>,
    f: &ItemFilter,
    with_exceptions: bool,
) -> Result<Option<(Vec<DbRow>, Vec<StoredItem>, Option<InScope>)>> {
    let Ok(visible) = visible_scope(pool, f).await? else {
        return Ok(None);
    };
    let (columns, join) = if with_exceptions {
        (ITEM_COLUMNS, EXCEPTIONS_JOIN)
    } else {
        ("w.item, CAST(NULL AS TEXT) AS overrides, w.version, w.evaluated_revision", "")
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT w.post_id, {columns}, p.title, p.services, p.category, p.severity, p.is_major, \
         p.act_by, COALESCE(p.rollout_start, p.start_at) AS start_at, p.first_seen, \
         COALESCE(c.visible, 0) AS tenants_visible, COALESCE(c.seen, 0) AS tenants_seen \
         FROM work_items w JOIN posts p ON p.id = w.post_id{join} \
         LEFT JOIN post_link_counts c ON c.post_id = w.post_id \
         WHERE 1 = 1"
    ));
    push_item_filter(&mut qb, f, visible.as_ref());
    qb.push(" ORDER BY COALESCE(w.due_at, p.act_by, '9999') ASC, w.post_id ASC");
    // SQLite takes an offset only after a limit
    match (f.limit, f.offset) {
        (None, None) => {}
        (limit, offset) => {
            qb.push(" LIMIT ").push_bind(limit.unwrap_or(i64::MAX).max(0));
            if let Some(offset) = offset {
                qb.push(" OFFSET ").push_bind(offset.max(0));
            }
        }
    }
    let rows = qb.build().fetch_all(pool).await?;
    let items: Vec<StoredItem> = rows.iter().map(item_from).collect::<Result<_>>()?;
    Ok(Some((rows, items, visible)))
}

/// How many tenants (in `visible`, when given) see each of the listed
/// posts `rows` (`ids`, in their order) now.
async fn tenants_seeing(
    pool: &Pool<Db>,
    rows: &[DbRow],
    ids: &[&str],
    visible: Option<&InScope>,
) -> Result<HashMap<String, i64>> {
    let mut counted: HashMap<String, i64> = HashMap::new();
    match visible {
        // every tenant: the post's own count (migration 0022)
        None => {
            for row in rows {
                counted.insert(row.try_get("post_id")?, row.try_get("tenants_visible")?);
            }
        }
        Some(s) => {
            for chunk in ids.chunks(500) {
                let mut qb = visible_links_of("COUNT(*) AS n FROM post_tenants pt", chunk, Some(s));
                for l in qb.build().fetch_all(pool).await? {
                    counted.insert(l.try_get("post_id")?, l.try_get("n")?);
                }
            }
        }
    }
    Ok(counted)
}

/// A listed item and its post (a row of [`item_list_rows`]).
fn item_row(row: &DbRow, stored: StoredItem, tenants: Vec<String>, tenant_count: i64) -> Result<ItemRow> {
    Ok(ItemRow {
        tenants,
        tenant_count,
        stored,
        title: row.try_get("title")?,
        services: from_json(&row.try_get::<String, _>("services")?, "services")?,
        category: row.try_get("category")?,
        severity: row.try_get("severity")?,
        is_major: row.try_get("is_major")?,
        act_by: read_ts_opt(row.try_get("act_by")?)?,
        start: read_ts_opt(row.try_get("start_at")?)?,
        first_seen: read_ts(row.try_get("first_seen")?)?,
    })
}

pub(crate) async fn list_work_items(pool: &Pool<Db>, f: &ItemFilter) -> Result<Vec<ItemRow>> {
    let Some((rows, items, visible)) = item_list_rows(pool, f, true).await? else {
        return Ok(Vec::new());
    };
    // the tenants that see each listed post (of `visible_to`, with one):
    // every one named, or (when the filter says so) counted, with only
    // those having an exception named
    let mut seen_by: HashMap<String, Vec<String>> = HashMap::new();
    let mut counted: HashMap<String, i64> = HashMap::new();
    let ids: Vec<&str> = items.iter().map(|i| i.item.message_id.as_str()).collect();
    let mut named: Vec<&str> = Vec::new();
    let mut exceptions_named: Vec<&str> = Vec::new();
    if f.names_for_exceptions_only {
        counted = tenants_seeing(pool, &rows, &ids, visible.as_ref()).await?;
        for i in &items {
            let id = i.item.message_id.as_str();
            // a post seen by a few tenants is named all the same (a row
            // names so few)
            if counted.get(id).is_some_and(|n| (1..=super::FEW_NAMED).contains(n)) {
                named.push(id);
            } else if !i.item.overrides.is_empty() {
                exceptions_named.push(id);
            }
        }
    } else {
        named = ids;
    }
    // in small chunks: a post can be seen by thousands of tenants, and a
    // result set is held whole while it is read; as ids, named once each
    if !named.is_empty() || !exceptions_named.is_empty() {
        let names = TenantNames::load(pool).await?;
        for chunk in named.chunks(200) {
            let mut qb = visible_links_of(
                &format!("{}pt.tenant_id{} AS ids FROM post_tenants pt", ID_LIST[0], ID_LIST[1]),
                chunk,
                visible.as_ref(),
            );
            for l in qb.build().fetch_all(pool).await? {
                let ids: Vec<i64> = from_json(&l.try_get::<String, _>("ids")?, "tenant ids")?;
                seen_by.insert(l.try_get("post_id")?, names.sorted(ids)?);
            }
        }
        for chunk in exceptions_named.chunks(500) {
            for (id, ids) in excepted_and_visible(pool, chunk, visible.as_ref()).await? {
                seen_by.insert(id, names.sorted(ids)?);
            }
        }
    }
    rows.iter()
        .zip(items)
        .map(|(row, stored)| {
            let id = &stored.item.message_id;
            let tenants = seen_by.remove(id).unwrap_or_default();
            let tenant_count = counted.remove(id).unwrap_or(tenants.len() as i64);
            item_row(row, stored, tenants, tenant_count)
        })
        .collect()
}

/// What an exception overrides, as its index has it (applicability,
/// state, decision, assignee, due date), and how many tenants have it.
type ExceptionKey = (Option<bool>, Option<String>, Option<String>, Option<String>, Option<String>);

/// Adds the counted exceptions of `qb`'s rows (`post_id`, the
/// [`ExceptionKey`] columns, `n`) to `counts`, each times `sign`.
async fn add_exception_counts(
    pool: &Pool<Db>,
    mut qb: QueryBuilder<Db>,
    sign: i64,
    counts: &mut HashMap<String, Vec<(ExceptionKey, i64)>>,
) -> Result<()> {
    for row in qb.build().fetch_all(pool).await? {
        let key: ExceptionKey = (
            row.try_get("applicable")?,
            row.try_get("state")?,
            row.try_get("decision")?,
            row.try_get("assignee")?,
            row.try_get("due_at")?,
        );
        let n: i64 = row.try_get("n")?;
        let of_post = counts.entry(row.try_get("post_id")?).or_default();
        match of_post.iter_mut().find(|(k, _)| *k == key) {
            Some((_, m)) => *m += sign * n,
            None => of_post.push((key, sign * n)),
        }
    }
    Ok(())
}

/// The exceptions in force for the tenants (in `visible`, when given)
/// that see each of the posts `ids` now, counted by what they override:
/// an item's counted variants (migration 0021) for every tenant, a limited
/// scope's own exceptions counted; less, for the posts `hidden` (those
/// with a link no longer visible), the exceptions of such links.
async fn exception_counts(
    pool: &Pool<Db>,
    ids: &[&str],
    hidden: &[&str],
    visible: Option<&InScope>,
) -> Result<HashMap<String, Vec<changedesk_core::triage::ExceptionCount>>> {
    const KEY: &str = "e.applicable, e.state, e.decision, e.assignee, e.due_at";
    let mut counts: HashMap<String, Vec<(ExceptionKey, i64)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut qb: QueryBuilder<Db> = match visible {
            None | Some(InScope::All) => QueryBuilder::new(format!(
                "SELECT e.post_id, {KEY}, e.tenants AS n FROM work_item_variants e WHERE e.post_id {}",
                TEXT_IDS_IN[0]
            )),
            Some(_) => QueryBuilder::new(format!(
                "SELECT e.post_id, {KEY}, COUNT(*) AS n FROM work_item_tenants e WHERE e.post_id {}",
                TEXT_IDS_IN[0]
            )),
        };
        qb.push_bind(id_list(chunk));
        qb.push(TEXT_IDS_IN[1]);
        if let Some(s @ InScope::Ids(_)) = visible {
            push_in_scope_of_post(&mut qb, s, "e");
            qb.push(format!(" GROUP BY e.post_id, {KEY}"));
        }
        add_exception_counts(pool, qb, 1, &mut counts).await?;
    }
    let hidden: Vec<&str> = hidden.iter().copied().filter(|id| counts.contains_key(*id)).collect();
    for chunk in hidden.chunks(500) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT e.post_id, {KEY}, COUNT(*) AS n FROM work_item_tenants e \
             JOIN post_tenants pt ON pt.post_id = e.post_id AND pt.tenant_id = e.tenant_id \
             WHERE pt.visible = FALSE AND e.post_id {}",
            TEXT_IDS_IN[0]
        ));
        qb.push_bind(id_list(chunk));
        qb.push(TEXT_IDS_IN[1]);
        if let Some(s) = visible {
            push_in_scope_of_post(&mut qb, s, "e");
        }
        qb.push(format!(" GROUP BY e.post_id, {KEY}"));
        add_exception_counts(pool, qb, -1, &mut counts).await?;
    }
    let mut out = HashMap::with_capacity(counts.len());
    for (post, keys) in counts {
        let mut list = Vec::with_capacity(keys.len());
        for ((applicable, state, decision, assignee, due), n) in keys {
            let Ok(tenants) = usize::try_from(n) else { continue };
            if tenants == 0 {
                continue;
            }
            let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("exception of {post}: {what}: {e}"));
            list.push(changedesk_core::triage::ExceptionCount {
                exception: changedesk_core::triage::TenantOverride {
                    applicable,
                    state: state.map(|s| s.parse()).transpose().map_err(|e| corrupt("state", format!("{e}")))?,
                    decision: decision
                        .map(|d| d.parse())
                        .transpose()
                        .map_err(|e| corrupt("decision", format!("{e}")))?,
                    assignee,
                    due: read_ts_opt(due)?,
                    ..changedesk_core::triage::TenantOverride::empty("")
                },
                tenants,
            });
        }
        out.insert(post, list);
    }
    Ok(out)
}

/// Lists work items as [`list_work_items`] does, but without reading their
/// exceptions: each item's exceptions in force for the tenants in scope
/// that see its post, counted by what they override, beside its row. The
/// row names no tenant (`tenant_count` counts them), its item's
/// `overrides` are empty and its `version` is 0, which no save takes (an
/// item's versions start at 1): such a read never writes an item back
/// without its exceptions.
pub(crate) async fn list_work_items_counted(
    pool: &Pool<Db>,
    f: &ItemFilter,
) -> Result<Vec<(ItemRow, Vec<changedesk_core::triage::ExceptionCount>)>> {
    let Some((rows, items, visible)) = item_list_rows(pool, f, false).await? else {
        return Ok(Vec::new());
    };
    let ids: Vec<&str> = items.iter().map(|i| i.item.message_id.as_str()).collect();
    let mut counted = tenants_seeing(pool, &rows, &ids, visible.as_ref()).await?;
    let mut hidden: Vec<&str> = Vec::new();
    for (row, id) in rows.iter().zip(&ids) {
        if row.try_get::<i64, _>("tenants_seen")? > row.try_get::<i64, _>("tenants_visible")? {
            hidden.push(id);
        }
    }
    let mut exceptions = exception_counts(pool, &ids, &hidden, visible.as_ref()).await?;
    rows.iter()
        .zip(items)
        .map(|(row, mut stored)| {
            stored.version = 0;
            let id = stored.item.message_id.clone();
            let tenant_count = counted.remove(&id).unwrap_or(0);
            Ok((item_row(row, stored, Vec::new(), tenant_count)?, exceptions.remove(&id).unwrap_or_default()))
        })
        .collect()
}

pub(crate) async fn work_items_with_exceptions(pool: &Pool<Db>, f: &ItemFilter) -> Result<i64> {
    let Ok(visible) = visible_scope(pool, f).await? else {
        return Ok(0);
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        format!(
            "SELECT COUNT(*) AS n FROM work_items w JOIN posts p ON p.id = w.post_id WHERE {}",
            has_exceptions("w")
        ),
    );
    push_item_filter(&mut qb, f, visible.as_ref());
    Ok(qb.build().fetch_one(pool).await?.try_get("n")?)
}

pub(crate) async fn work_item_tally(pool: &Pool<Db>, f: &ItemFilter) -> Result<Vec<ItemTally>> {
    let Ok(visible) = visible_scope(pool, f).await? else {
        return Ok(Vec::new());
    };
    // one tenant's standing when the filter is about one tenant; otherwise
    // each item counts once, by its own state and assignee
    let mut qb: QueryBuilder<Db> = match one_tenant(f) {
        Some(t) => {
            let (state, assignee, _) = exception_cols("w");
            let mut qb = QueryBuilder::new(format!(
                "SELECT {state} AS state, {assignee} AS assignee, COUNT(*) AS n FROM work_items w \
                 JOIN posts p ON p.id = w.post_id LEFT JOIN work_item_tenants e ON e.post_id = w.post_id \
                 AND e.tenant_id = (SELECT id FROM tenants WHERE name = "
            ));
            qb.push_bind(t.to_string()).push(") WHERE 1 = 1");
            qb
        }
        None => QueryBuilder::new(
            "SELECT w.state AS state, w.assignee AS assignee, COUNT(*) AS n FROM work_items w \
             JOIN posts p ON p.id = w.post_id WHERE 1 = 1",
        ),
    };
    push_item_filter(&mut qb, f, visible.as_ref());
    qb.push(" GROUP BY 1, 2");
    let mut out: Vec<ItemTally> = Vec::new();
    for row in qb.build().fetch_all(pool).await? {
        let state: String = row.try_get("state")?;
        let state: State = state
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("work item state `{state}`: {e}")))?;
        // nobody is NULL or empty
        let assignee = row.try_get::<Option<String>, _>("assignee")?.filter(|a| !a.is_empty());
        let count: i64 = row.try_get("n")?;
        match out.iter_mut().find(|t| t.state == state && t.assignee == assignee) {
            Some(t) => t.count += count,
            None => out.push(ItemTally { state, assignee, count }),
        }
    }
    Ok(out)
}

/// With `pending_only`, the condition on posts `p` and their items `w` for
/// the rules' candidates: posts the rules have not seen in their current
/// revision (no work item yet, or a revision newer than the one last
/// evaluated).
fn pending_condition(pending_only: bool) -> &'static str {
    if pending_only {
        " AND (w.post_id IS NULL OR w.evaluated_revision < p.revision)"
    } else {
        ""
    }
}

/// The ids of the rules' candidates (see [`triage_candidates`]), in order.
pub(crate) async fn triage_candidate_ids(pool: &Pool<Db>, pending_only: bool) -> Result<Vec<String>> {
    let pending = pending_condition(pending_only);
    let rows = sqlx::query(sql(format!(
        "SELECT p.id FROM posts p LEFT JOIN work_items w ON w.post_id = p.id WHERE TRUE{pending} ORDER BY p.id"
    )))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Posts for the rules, by id after `after` and up to `until` (inclusive):
/// with `pending_only`, those the rules have not seen in their current
/// revision; otherwise every post.
pub(crate) async fn triage_candidates(
    pool: &Pool<Db>,
    pending_only: bool,
    after: Option<&str>,
    until: Option<&str>,
    limit: i64,
) -> Result<Vec<Candidate>> {
    let pending = pending_condition(pending_only);
    let until_condition = if until.is_some() { " AND p.id <= $3" } else { "" };
    let mut query = sqlx::query(sql(format!(
        "SELECT p.id, p.revision, p.first_seen, p.baseline, p.body_text, r.content, {ITEM_COLUMNS} \
         FROM posts p JOIN post_revisions r ON r.post_id = p.id AND r.revision = p.revision \
         LEFT JOIN work_items w ON w.post_id = p.id{EXCEPTIONS_JOIN} \
         WHERE p.id > $1{until_condition}{pending} ORDER BY p.id LIMIT $2"
    )))
    .bind(after.unwrap_or(""))
    .bind(limit);
    if let Some(until) = until {
        query = query.bind(until);
    }
    let rows = query.fetch_all(pool).await?;
    // every tenant link of the page in one query, a row per post (a post
    // can be seen by thousands of tenants: a row per link cost a round trip
    // to the database thread each)
    let ids: Vec<String> = rows.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    // tenant, details digest, first seen, visible
    type RawLink = (String, String, String, bool);
    let mut raw: Vec<(String, Vec<RawLink>)> = Vec::with_capacity(ids.len());
    for row in sqlx::query(sql(format!(
        "SELECT pt.post_id, {LINK_LIST} AS links FROM post_tenants pt JOIN tenants t ON t.id = pt.tenant_id \
         WHERE pt.post_id {} GROUP BY pt.post_id",
        any_of(1)
    )))
    .bind(id_list(&id_refs))
    .fetch_all(pool)
    .await?
    {
        let mut list: Vec<RawLink> =
            from_json(&row.try_get::<String, _>("links")?, "tenant links")?;
        list.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        raw.push((row.try_get("post_id")?, list));
    }
    // each distinct details once (most tenants see the same)
    let mut digests: Vec<&str> = raw.iter().flat_map(|(_, l)| l.iter().map(|x| x.1.as_str())).collect();
    digests.sort_unstable();
    digests.dedup();
    let mut details: HashMap<String, std::sync::Arc<Vec<changedesk_core::graph::Detail>>> = HashMap::new();
    for row in sqlx::query(sql(format!(
        "SELECT digest, details FROM tenant_details WHERE digest {}",
        any_of(1)
    )))
    .bind(id_list(&digests))
    .fetch_all(pool)
    .await?
    {
        let parsed = from_json(&row.try_get::<String, _>("details")?, "details")?;
        details.insert(row.try_get("digest")?, std::sync::Arc::new(parsed));
    }
    let mut links: HashMap<String, Vec<CandidateLink>> = HashMap::with_capacity(ids.len());
    for (post_id, list) in raw {
        let converted = list
            .into_iter()
            .map(|(tenant, digest, first_seen, visible)| {
                Ok(CandidateLink {
                    tenant,
                    details: details.get(&digest).cloned().unwrap_or_default(),
                    first_seen: read_ts(first_seen)?,
                    visible,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        links.insert(post_id, converted);
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let revision: i64 = row.try_get("revision")?;
        let stored = match row.try_get::<Option<String>, _>("item")? {
            None => None,
            Some(text) => Some(StoredItem {
                item: parse_item(&text, row.try_get::<Option<String>, _>("overrides")?.as_deref())?,
                version: row.try_get::<Option<i64>, _>("version")?.unwrap_or(0),
                evaluated_revision: row.try_get::<Option<i64>, _>("evaluated_revision")?.unwrap_or(0),
            }),
        };
        // the fields that changed in the revisions the rules have not seen
        let seen = stored.as_ref().map(|s| s.evaluated_revision).unwrap_or(0);
        let mut changed = changedesk_core::diff::ChangedSince::default();
        if seen > 0 {
            let revs = sqlx::query("SELECT changes FROM post_revisions WHERE post_id = $1 AND revision > $2 ORDER BY revision")
                .bind(&id)
                .bind(seen)
                .fetch_all(pool)
                .await?;
            for r in revs {
                let changes: Vec<FieldChange> = from_json(&r.try_get::<String, _>("changes")?, "revision changes")?;
                for c in &changes {
                    changed.add(c);
                }
            }
        }
        let links = links.remove(&id).unwrap_or_default();
        out.push(Candidate {
            content: from_json(&row.try_get::<String, _>("content")?, "post revision")?,
            revision,
            first_seen: read_ts(row.try_get("first_seen")?)?,
            baseline: row.try_get("baseline")?,
            body_text: row.try_get("body_text")?,
            links,
            stored,
            changed_fields: changed.fields,
            date_moves: changed.date_moves,
        });
    }
    Ok(out)
}

/// Marks posts as evaluated at a revision without touching their items
/// (used when the rules leave an item exactly as it was).
pub(crate) async fn mark_evaluated(pool: &Pool<Db>, writer: &Writer, post_id: &str, revision: i64) -> Result<()> {
    let (_w, mut tx) = begin_write(pool, writer, "work item").await?;
    mark_evaluated_in(&mut tx, post_id, revision).await?;
    tx.commit().await?;
    Ok(())
}

async fn mark_evaluated_in(tx: &mut Tx, post_id: &str, revision: i64) -> Result<()> {
    sqlx::query("UPDATE work_items SET evaluated_revision = $1 WHERE post_id = $2 AND evaluated_revision < $1")
        .bind(revision)
        .bind(post_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Items by state, for counts.
pub(crate) async fn item_counts(pool: &Pool<Db>) -> Result<Vec<(State, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM work_items GROUP BY state ORDER BY state")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let s: String = r.try_get("state")?;
            Ok((s.parse().map_err(|e| StoreError::Corrupt(format!("item state: {e}")))?, r.try_get("n")?))
        })
        .collect()
}
