// The API's queries (see query.rs): written once, `include!`d into `mod
// sqlite` and `mod postgres` after ops.rs (whose helpers it uses). What
// differs per database (full-text search, binding a list, text order) is at
// the end of bulk_sqlite.rs / bulk_postgres.rs.
//
// A post list runs in steps, each cheap whatever the archive's size:
// 1. the tenants in scope become ids (once);
// 2. the page: only ids and sort keys, in the order of an index on the sort
//    key, filtered by `EXISTS` on the tenant links, `LIMIT` one more than a
//    page (to know whether another follows);
// 3. the total, on the first page only: a `COUNT(*)` of the same conditions,
//    the posts gathered from the tenants' links when the scope is limited
//    (none when the page holds every match); the next page's cursor carries
//    it, so paging on costs a page, not a count of the archive;
// 4. the page's posts, with the tenants in scope that see them (one
//    aggregate per post, counted here), and their snippets: for at most a
//    page of ids.

use changedesk_core::search::{Field as SearchField, Query as SearchQuery};

use super::query::{Cursor, SortKey, split_snippet};
use super::{
    ArchiveSize, Deadline, DeadlineFilter, FacetCount, Facets, HitItem, ItemAssignee, ItemCounts, PostHit, PostList,
    PostPage, PostQuery, PostSort, SeverityCounts, TenantScope,
};

/// The tenants in scope, resolved to ids.
enum InScope {
    All,
    /// These tenant ids only (never empty: nothing is in scope then).
    Ids(Vec<i64>),
}

/// The scope's tenant ids; `None` when no tenant is in scope.
async fn resolve_scope(pool: &Pool<Db>, scope: &TenantScope) -> Result<Option<InScope>> {
    let names = match scope {
        TenantScope::All => return Ok(Some(InScope::All)),
        TenantScope::Only(names) if names.is_empty() => return Ok(None),
        TenantScope::Only(names) => names,
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let rows = sqlx::query(sql(format!("SELECT id FROM tenants WHERE name {}", any_of(1))))
        .bind(id_list(&names))
        .fetch_all(pool)
        .await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<i64>, _>>()?;
    Ok((!ids.is_empty()).then_some(InScope::Ids(ids)))
}

/// ` AND {alias}.tenant_id IN (the scope)`, for a tenant-link alias: the
/// database may seek each tenant's links in an index.
fn push_in_scope(qb: &mut QueryBuilder<Db>, s: &InScope, alias: &str) {
    push_scope_condition(qb, s, &format!("{alias}.tenant_id"));
}

/// The same for the links of one post (`{alias}.post_id = …`): the tenant
/// ids are checked on the post's few links instead of seeking each tenant
/// (the unary `+` keeps the column out of the index condition; PostgreSQL
/// 15 otherwise descends the index once per tenant of the scope, per post).
fn push_in_scope_of_post(qb: &mut QueryBuilder<Db>, s: &InScope, alias: &str) {
    push_scope_condition(qb, s, &format!("+{alias}.tenant_id"));
}

fn push_scope_condition(qb: &mut QueryBuilder<Db>, s: &InScope, column: &str) {
    if let InScope::Ids(ids) = s {
        qb.push(format!(" AND {column} {}", TENANT_IDS_IN[0]));
        qb.push_bind(tenant_id_param(ids));
        qb.push(TENANT_IDS_IN[1]);
    }
}

/// A post query, ready to run.
struct PostCx<'a> {
    q: &'a PostQuery,
    scope: InScope,
    /// The query's `tenant`, in scope.
    tenant: Option<i64>,
    search: SearchQuery,
    /// The search text for the engine: what must match (with the exclusions)
    /// or, when nothing must, what must not.
    text_match: Option<String>,
    text_excluded: Option<String>,
    /// A page walks the sort index and checks each post against the text's
    /// matches (gathered once) instead of sorting every match: when the
    /// text matches many posts (see [`WALK_TEXT_ABOVE`]).
    walk_text: bool,
    sort: PostSort,
    cursor: Option<Cursor>,
}

/// Above this many full-text matches, a page sorted by a column walks the
/// sort index (reading about a page's worth of posts divided by the share
/// of posts that match) instead of sorting every match (a sort of tens of
/// thousands of posts for a common word). Only where the database says
/// cheaply how many posts match (`TEXT_MATCH_COUNT`).
const WALK_TEXT_ABOVE: i64 = 500;

/// Prepares a query; `None` when nothing can match (no tenant in scope, or
/// the query's tenant is out of it). With `paged`, its cursor is read: a
/// malformed one is an error even then.
async fn prepare_posts<'a>(pool: &Pool<Db>, q: &'a PostQuery, paged: bool) -> Result<Option<PostCx<'a>>> {
    let mut cx = post_cx(q, InScope::All);
    cx.cursor = q
        .cursor
        .as_deref()
        .filter(|c| paged && !c.trim().is_empty())
        .map(|c| Cursor::decode(c, cx.sort))
        .transpose()?;
    let Some(scope) = resolve_scope(pool, &q.scope).await? else {
        return Ok(None);
    };
    cx.scope = scope;
    cx.tenant = match &q.tenant {
        None => None,
        Some(name) => {
            let name = name.trim().to_lowercase();
            if !q.scope.includes(&name) {
                return Ok(None);
            }
            let row = sqlx::query("SELECT id FROM tenants WHERE name = $1")
                .bind(&name)
                .fetch_optional(pool)
                .await?;
            match row {
                Some(r) => Some(r.try_get::<i64, _>("id")?),
                None => return Ok(None),
            }
        }
    };
    Ok(Some(cx))
}

/// A query in `scope`, without its tenant (set `tenant` when the query has
/// one) or cursor.
fn post_cx(q: &PostQuery, scope: InScope) -> PostCx<'_> {
    let search = SearchQuery::parse(q.q.as_deref().unwrap_or(""));
    let sort = match q.sort {
        PostSort::Relevance if !search.has_required_text() => PostSort::Newest,
        s => s,
    };
    PostCx {
        q,
        scope,
        tenant: None,
        text_excluded: RENDER_TEXT_EXCLUDED(&search),
        text_match: RENDER_TEXT_MATCH(&search),
        walk_text: false,
        search,
        sort,
        cursor: None,
    }
}

/// How the posts a query matches are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// A page: posts are read in the order of a sort index and each is
    /// checked (`EXISTS` on its tenant links), stopping after a page.
    Walk,
    /// Every match (a count, facets): with a tenant or a limited scope, the
    /// posts come from the tenants' links (the index on `post_tenants
    /// (tenant_id, visible, post_id)`, migration 0008) instead of a check of
    /// every post in the archive.
    Gather,
}

/// Some tenant returns the post `p` now (its link counts, migration 0022).
const VISIBLE_SOMEWHERE: &str = "EXISTS (SELECT 1 FROM post_link_counts c WHERE c.post_id = p.id AND c.visible > 0)";

/// ` AND …` for every condition of the query on posts `p`; the text search
/// too unless `text` is false (the ranked FROM of a relevance sort has it).
fn push_post_conditions(qb: &mut QueryBuilder<Db>, cx: &PostCx<'_>, text: bool, plan: Plan) {
    let q = cx.q;
    // a walk checks the text first: the cheapest check, and the one that
    // fails most
    let walk_text = text && plan == Plan::Walk && cx.walk_text;
    if let Some(m) = cx.text_match.as_ref().filter(|_| walk_text) {
        qb.push(format!(" AND {}", TEXT_MATCH_WALK[0]));
        qb.push_bind(m.clone());
        qb.push(TEXT_MATCH_WALK[1]);
    }
    // who sees it: a link of a tenant in scope (the query's tenant, if any)
    let visible = match q.state {
        Some(PostState::Active) => " AND pt.visible",
        Some(PostState::Expired) if cx.tenant.is_some() => " AND NOT pt.visible",
        _ => "",
    };
    match (cx.tenant, &cx.scope, plan) {
        // every post has a link (the store writes a post with its first
        // tenant's link and never deletes either): with every tenant in
        // scope and no state, there is nothing to check
        (None, InScope::All, _) if q.state.is_none() => {}
        // every tenant in scope: the post's own count of the tenants that
        // return it (migration 0022)
        (None, InScope::All, _) => {
            let not = if q.state == Some(PostState::Expired) { "NOT " } else { "" };
            qb.push(format!(" AND {not}{VISIBLE_SOMEWHERE}"));
        }
        (Some(t), _, Plan::Walk) => {
            qb.push(" AND EXISTS (SELECT 1 FROM post_tenants pt WHERE pt.post_id = p.id AND pt.tenant_id = ");
            qb.push_bind(t);
            qb.push(visible);
            qb.push(")");
        }
        (Some(t), _, Plan::Gather) => {
            qb.push(" AND p.id IN (SELECT pt.post_id FROM post_tenants pt WHERE pt.tenant_id = ");
            qb.push_bind(t);
            qb.push(visible);
            qb.push(")");
        }
        (None, InScope::Ids(_), Plan::Gather) => {
            qb.push(" AND p.id IN (SELECT pt.post_id FROM post_tenants pt WHERE 1 = 1");
            qb.push(visible);
            push_in_scope(qb, &cx.scope, "pt");
            qb.push(")");
        }
        (None, _, _) => {
            qb.push(" AND EXISTS (SELECT 1 FROM post_tenants pt WHERE pt.post_id = p.id");
            qb.push(visible);
            push_in_scope_of_post(qb, &cx.scope, "pt");
            qb.push(")");
        }
    }
    if cx.tenant.is_none() && q.state == Some(PostState::Expired) && matches!(cx.scope, InScope::Ids(_)) {
        qb.push(" AND NOT EXISTS (SELECT 1 FROM post_tenants pv WHERE pv.post_id = p.id AND pv.visible");
        push_in_scope_of_post(qb, &cx.scope, "pv");
        qb.push(")");
    }
    // a page checks each post's services and tags as it walks; PostgreSQL
    // would otherwise turn the check around when it misjudges how many
    // posts have the value (a prepared statement's generic plan: a sort of
    // every post of a common service instead of a walk of a few dozen)
    let per_post = if plan == Plan::Walk { KEEP_CORRELATED } else { "" };
    if !q.services.is_empty() {
        qb.push(" AND EXISTS (SELECT 1 FROM post_services s WHERE s.post_id = p.id AND LOWER(s.service) IN (");
        let mut sep = qb.separated(", ");
        for s in &q.services {
            sep.push_bind(s.trim().to_lowercase());
        }
        qb.push(format!("){per_post})"));
    }
    push_post_filters(
        qb,
        &PostFilters {
            // above
            services: &[],
            category: q.category.as_deref(),
            severity: q.severity.as_deref(),
            major: q.major,
            act_by_from: q.act_by_from,
            act_by_to: q.act_by_to,
        },
    );
    if !q.tags.is_empty() {
        qb.push(" AND EXISTS (SELECT 1 FROM post_tags g WHERE g.post_id = p.id AND LOWER(g.tag) IN (");
        let mut sep = qb.separated(", ");
        for t in &q.tags {
            sep.push_bind(t.trim().to_lowercase());
        }
        qb.push(format!("){per_post})"));
    }
    if has_item_conditions(q) {
        // the post's one work item (its primary key is the post's id)
        qb.push(" AND EXISTS (SELECT 1 FROM work_items wi WHERE wi.post_id = p.id");
        push_item_conditions(qb, cx, "wi");
        qb.push(format!("{per_post})"));
    }
    if let Some(t) = q.changed_since {
        // the sort index's expression, so a newest-first page can range over it
        qb.push(" AND COALESCE(p.last_modified, '') >= ");
        qb.push_bind(t.to_canonical());
    }
    for (negated, field, value) in cx.search.fields() {
        qb.push(if negated { " AND NOT " } else { " AND " });
        match field {
            SearchField::Service => {
                qb.push(format!(
                    "EXISTS (SELECT 1 FROM post_services s WHERE s.post_id = p.id AND s.service {ILIKE} "
                ));
                qb.push_bind(like_pattern(value));
                qb.push(" ESCAPE '\\')");
            }
            SearchField::Tag => {
                qb.push(format!(
                    "EXISTS (SELECT 1 FROM post_tags g WHERE g.post_id = p.id AND g.tag {ILIKE} "
                ));
                qb.push_bind(like_pattern(value));
                qb.push(" ESCAPE '\\')");
            }
            SearchField::Category | SearchField::Severity => {
                let column = if field == SearchField::Category { "category" } else { "severity" };
                qb.push(format!("(p.{column} {ILIKE} "));
                qb.push_bind(like_pattern(value));
                qb.push(" ESCAPE '\\')");
            }
            SearchField::Tenant => {
                qb.push(
                    "EXISTS (SELECT 1 FROM post_tenants pt JOIN tenants t ON t.id = pt.tenant_id \
                     WHERE pt.post_id = p.id AND t.name = ",
                );
                qb.push_bind(value.to_lowercase());
                push_in_scope_of_post(qb, &cx.scope, "pt");
                qb.push(")");
            }
            SearchField::Id => {
                qb.push("(p.id IN (");
                qb.push_bind(value.to_string());
                qb.push(", ");
                qb.push_bind(value.to_uppercase());
                qb.push("))");
            }
        }
    }
    if text && !walk_text {
        if let Some(m) = &cx.text_match {
            qb.push(format!(" AND {}", TEXT_MATCH[0]));
            qb.push_bind(m.clone());
            qb.push(TEXT_MATCH[1]);
        } else if let Some(x) = &cx.text_excluded {
            qb.push(format!(" AND {}", TEXT_EXCLUDED[0]));
            qb.push_bind(x.clone());
            qb.push(TEXT_EXCLUDED[1]);
        }
    }
}

/// Whether the query has a condition on the posts' work items.
fn has_item_conditions(q: &PostQuery) -> bool {
    !q.item_states.is_empty() || q.assignee.is_some() || q.changed_since_triage.is_some() || q.deadline.is_some()
}

/// ` AND …` for each work-item condition of the query, on the work item
/// `{w}` of the post `p`: what is in force for the query's tenant, else for
/// some tenant in scope (as `item_ops::push_item_filter` asks it of a list
/// of items): the item's own columns where such a tenant has no exception,
/// else its exception's over them. "Changed since triage" is the item's.
fn push_item_conditions(qb: &mut QueryBuilder<Db>, cx: &PostCx<'_>, w: &str) {
    let q = cx.q;
    if !q.item_states.is_empty() || q.assignee.is_some() || q.deadline.is_some() {
        qb.push(" AND ");
        push_in_force(qb, w, cx.tenant.map(TenantKey::Id), Some(&cx.scope), &|qb, cols| {
            push_in_force_conditions(qb, q, cols)
        });
    }
    match q.changed_since_triage {
        None => {}
        Some(true) => {
            qb.push(format!(" AND {}", changed_since_triage_sql(w)));
        }
        Some(false) => {
            qb.push(format!(" AND NOT {}", changed_since_triage_sql(w)));
        }
    }
}

/// The expressions of a work item's state, assignee and due date.
type ItemCols = (String, String, String);

/// Whether the work item `{w}` has tenant exceptions, as SQL: its id among
/// those of `work_item_variants` (an item has variants exactly when it has
/// exceptions). Not correlated, so each database reads the few hundred ids
/// once per statement into a hash (PostgreSQL's hashed SubPlan, SQLite's
/// ephemeral index) instead of looking into an index once per item and
/// condition: about 50,000 probes of the inbox's counts at 2,000 tenants ×
/// 5,000 posts. (Not a column of `work_items`: SQLite reads a row's
/// columns in order, and each item's JSON, before any column added later,
/// fills overflow pages — a check per item read them all, tripling the
/// inbox's time at 1,000 tenants × 4,000 posts.)
fn has_exceptions(w: &str) -> String {
    format!("{w}.post_id IN (SELECT x.post_id FROM work_item_variants x)")
}

/// A tenant a query names: by id (resolved already) or by name.
#[derive(Clone, Copy)]
enum TenantKey<'a> {
    Id(i64),
    Name(&'a str),
}

impl TenantKey<'_> {
    /// `= <the tenant's id>` (a subquery for a name).
    fn push_eq(self, qb: &mut QueryBuilder<Db>) {
        match self {
            TenantKey::Id(id) => {
                qb.push(" = ");
                qb.push_bind(id);
            }
            TenantKey::Name(name) => {
                qb.push(" = (SELECT id FROM tenants WHERE name = ");
                qb.push_bind(name.to_string());
                qb.push(")");
            }
        }
    }
}

/// The state, assignee and due date of the work item `{w}` (as `e` is the
/// exception, `{w}` alone the item's own).
fn item_cols(w: &str) -> ItemCols {
    (format!("{w}.state"), format!("{w}.assignee"), format!("{w}.due_at"))
}

/// The state, assignee and due date in force for a tenant whose exception
/// `e` is over the work item `{w}` (not applicable stands as `dismissed`).
fn exception_cols(w: &str) -> ItemCols {
    (
        format!("(CASE WHEN e.applicable = FALSE THEN 'dismissed' ELSE COALESCE(e.state, {w}.state) END)"),
        format!("COALESCE(e.assignee, {w}.assignee)"),
        format!("COALESCE(e.due_at, {w}.due_at)"),
    )
}

/// `(…)`, true when `conditions` (pushing ` AND …` on the columns it is
/// given) hold for what is in force for `tenant`, else for some tenant of
/// `scope` that sees the post (`None`: any tenant with a link), on the work
/// item `{w}`: its own columns where such a tenant has no exception (one
/// look when the item has none at all, the common case), else an
/// exception's over them.
fn push_in_force(
    qb: &mut QueryBuilder<Db>,
    w: &str,
    tenant: Option<TenantKey<'_>>,
    scope: Option<&InScope>,
    conditions: &dyn Fn(&mut QueryBuilder<Db>, &ItemCols),
) {
    // the common case first and alone: an item without exceptions is its
    // own columns (measured: folding it into the general form tripled the
    // inbox's time at 1,000 tenants × 4,000 posts)
    qb.push(format!("((NOT {}", has_exceptions(w)));
    conditions(qb, &item_cols(w));
    qb.push(format!(") OR ({} AND ((1 = 1", has_exceptions(w)));
    conditions(qb, &item_cols(w));
    push_some_tenant_without_exception(qb, w, tenant, scope);
    qb.push(format!(
        ") OR EXISTS (SELECT 1 FROM {} e WHERE e.post_id = {w}.post_id",
        exceptions_of(tenant, scope)
    ));
    push_exception_scope(qb, tenant, scope);
    conditions(qb, &exception_cols(w));
    qb.push("))))");
}

/// Where the exceptions `e` of a question about what is in force are read:
/// for one tenant, or some tenant of a limited scope, each tenant's
/// (`work_item_tenants`); for some tenant anywhere, an item's distinct
/// exceptions (`work_item_variants`, migration 0021: a few rows an item
/// instead of hundreds).
fn exceptions_of(tenant: Option<TenantKey<'_>>, scope: Option<&InScope>) -> &'static str {
    match (tenant, scope) {
        (None, None | Some(InScope::All)) => "work_item_variants",
        _ => "work_item_tenants",
    }
}

/// ` AND …`: `tenant`, else some tenant of `scope` that sees the post
/// (`None`: any with a link), has no exception on the work item `{w}`, so
/// the item's own columns are in force for it (see [`push_in_force`]).
fn push_some_tenant_without_exception(
    qb: &mut QueryBuilder<Db>,
    w: &str,
    tenant: Option<TenantKey<'_>>,
    scope: Option<&InScope>,
) {
    match tenant {
        Some(t) => {
            qb.push(format!(
                " AND NOT EXISTS (SELECT 1 FROM work_item_tenants e0 WHERE e0.post_id = {w}.post_id AND e0.tenant_id"
            ));
            t.push_eq(qb);
            qb.push(")");
        }
        None => {
            match scope {
                None => qb.push(format!(" AND {}", some_link_without_exception(w, false))),
                Some(InScope::All) => qb.push(format!(" AND {}", some_link_without_exception(w, true))),
                Some(s) => {
                    let [open, close] = link_without_exception(w);
                    qb.push(format!(" AND ({open} AND px.visible"));
                    push_in_scope_of_post(qb, s, "px");
                    qb.push(format!("{close})"))
                }
            };
        }
    }
}

/// `(SELECT 1 FROM post_tenants px …` and `… LIMIT 1) IS NOT NULL`, with
/// conditions on the link `px` between: a link of the post of the work item
/// `{w}` whose tenant has no exception on it.
fn link_without_exception(w: &str) -> [String; 2] {
    [
        format!("(SELECT 1 FROM post_tenants px WHERE px.post_id = {w}.post_id"),
        " AND NOT EXISTS (SELECT 1 FROM work_item_tenants e0 WHERE e0.post_id = px.post_id \
         AND e0.tenant_id = px.tenant_id) LIMIT 1) IS NOT NULL"
            .to_string(),
    ]
}

/// `(…)`: some tenant with a link (a visible one, with `visible`) to the
/// post of the work item `{w}` has no exception on it. Fewer exceptions
/// than such links settle it by counting (migrations 0021, 0022) without
/// reading the links; an item with an exception for (nearly) each reads
/// them.
fn some_link_without_exception(w: &str, visible: bool) -> String {
    let [open, close] = link_without_exception(w);
    let (links, px) = if visible { ("visible", " AND px.visible") } else { ("seen", "") };
    format!(
        "((SELECT SUM(v.tenants) FROM work_item_variants v WHERE v.post_id = {w}.post_id) \
         < (SELECT c.{links} FROM post_link_counts c WHERE c.post_id = {w}.post_id) OR {open}{px}{close})"
    )
}

/// ` AND …`: the exception `e` is `tenant`'s, else one of `scope`'s.
fn push_exception_scope(qb: &mut QueryBuilder<Db>, tenant: Option<TenantKey<'_>>, scope: Option<&InScope>) {
    match (tenant, scope) {
        (Some(t), _) => {
            qb.push(" AND e.tenant_id");
            t.push_eq(qb);
        }
        (None, Some(s)) => push_scope_condition(qb, s, "e.tenant_id"),
        (None, None) => {}
    }
}

/// `SELECT '{facet}', value, COUNT(*) …`: each post of `m` counted once for
/// each value of `pick` (an owner, a state) in force for a tenant of the
/// query (its tenant, else one in scope) where the query's item conditions
/// hold: a post done for some tenants and new for others counts under both.
fn push_in_force_facet(qb: &mut QueryBuilder<Db>, cx: &PostCx<'_>, facet: &str, pick: fn(&ItemCols) -> &String) {
    let q = cx.q;
    let tenant = cx.tenant.map(TenantKey::Id);
    let shared = item_cols("w");
    let own = exception_cols("w");
    // a deadline reads the post's dates
    let posts = if q.deadline.is_some() { " JOIN posts p ON p.id = m.id" } else { "" };
    // items without exceptions counted by their own columns (almost all);
    // the others once per value in force, each post once per value
    qb.push(format!(
        " UNION ALL SELECT '{facet}', COALESCE(x.v, ''), CAST(SUM(x.n) AS BIGINT) FROM (SELECT {} AS v, COUNT(*) AS n \
         FROM m{posts} JOIN work_items w ON w.post_id = m.id WHERE NOT {}",
        pick(&shared),
        has_exceptions("w")
    ));
    push_in_force_conditions(qb, q, &shared);
    qb.push(format!(
        " GROUP BY 1 UNION ALL SELECT y.v, COUNT(*) FROM (SELECT w.post_id AS id, {} AS v \
         FROM m{posts} JOIN work_items w ON w.post_id = m.id WHERE {}",
        pick(&shared),
        has_exceptions("w")
    ));
    push_in_force_conditions(qb, q, &shared);
    push_some_tenant_without_exception(qb, "w", tenant, Some(&cx.scope));
    qb.push(format!(
        " UNION SELECT w.post_id, {} FROM m{posts} JOIN work_items w ON w.post_id = m.id \
         JOIN {} e ON e.post_id = w.post_id WHERE 1 = 1",
        pick(&own),
        exceptions_of(tenant, Some(&cx.scope))
    ));
    push_exception_scope(qb, tenant, Some(&cx.scope));
    push_in_force_conditions(qb, q, &own);
    qb.push(") y GROUP BY y.v) x GROUP BY x.v");
}

/// ` AND …` for the query's item states, assignee and deadline, on these
/// expressions of a state, an assignee and a due date.
fn push_in_force_conditions(qb: &mut QueryBuilder<Db>, q: &PostQuery, (state, assignee, due): &ItemCols) {
    if !q.item_states.is_empty() {
        qb.push(format!(" AND {state} IN ("));
        let mut sep = qb.separated(", ");
        for s in &q.item_states {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
    }
    match &q.assignee {
        None => {}
        // owner names are kept in lower case (as `work_items` filters them)
        Some(ItemAssignee::Owner(name)) => {
            qb.push(format!(" AND {assignee} = "));
            qb.push_bind(name.trim().to_ascii_lowercase());
        }
        Some(ItemAssignee::Unassigned) => {
            qb.push(format!(" AND ({assignee} IS NULL OR {assignee} = '')"));
        }
    }
    if let Some(d) = q.deadline {
        qb.push(" AND ");
        push_deadline_on(qb, d, state, due);
    }
}

/// The states of a closed work item, as SQL literals: `'done', 'dismissed'`
/// (core's names, never input).
fn closed_states() -> String {
    changedesk_core::triage::State::ALL
        .iter()
        .filter(|s| s.is_closed())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The decision deadline of the post `p`, as SQL: core's
/// `PostDates::decision_deadline` (the act-by date, else the rollout start —
/// the body's timeline's, else Graph's start —, each
/// only when after the post was first seen; NULL without one). Instants
/// are canonical text, which sorts as time does.
const DECISION_DEADLINE: &str = "(CASE WHEN p.act_by > p.first_seen THEN p.act_by \
     WHEN COALESCE(p.rollout_start, p.start_at) > p.first_seen THEN COALESCE(p.rollout_start, p.start_at) END)";

/// Whether a work item of the post `p`, whose state and due date are these
/// expressions (a tenant's in force: its exception's, else the item's), is
/// late as `d` says, with the meaning of
/// `changedesk_core::triage::deadline_status`: open; *missed* when the
/// post's decision deadline is before `now`; *overdue* when not missed and
/// its due date is before `now`.
fn push_deadline_on(qb: &mut QueryBuilder<Db>, d: DeadlineFilter, state: &str, due: &str) {
    let now = d.now.to_canonical();
    qb.push(format!("({state} NOT IN ({}) AND ", closed_states()));
    match d.status {
        Deadline::Missed => {
            qb.push(format!("{DECISION_DEADLINE} < "));
            qb.push_bind(now);
        }
        Deadline::Overdue => {
            qb.push(format!("{due} < "));
            qb.push_bind(now.clone());
            qb.push(format!(
                " AND ({DECISION_DEADLINE} IS NULL OR {DECISION_DEADLINE} >= "
            ));
            qb.push_bind(now);
            qb.push(")");
        }
    }
    qb.push(")");
}

/// Whether the work item `{w}` counts as changed since triage, as SQL:
/// core's `changed_since_triage` (open, with changes flagged).
pub(crate) fn changed_since_triage_sql(w: &str) -> String {
    format!("({w}.changed AND {w}.state NOT IN ({}))", closed_states())
}

/// The sort key expression of a sort, and whether it descends; the id
/// follows it (in the same direction), so the order is total. They are
/// exactly the expressions of the indexes of migration 0006.
fn sort_key(sort: PostSort) -> (String, bool) {
    match sort {
        PostSort::Newest | PostSort::Oldest => (
            format!("COALESCE(p.last_modified, ''){BYTE_ORDER}"),
            sort == PostSort::Newest,
        ),
        // '~' sorts after every date: posts without one come last
        PostSort::ActBy => (format!("COALESCE(p.act_by, '~'){BYTE_ORDER}"), false),
        PostSort::Title => (format!("p.title{BYTE_ORDER}"), false),
        PostSort::Relevance => (RANK_SCORE.to_string(), false),
    }
}

/// A page's row: the id and what its cursor is made of.
struct PageRow {
    id: String,
    key: SortKey,
}

fn page_row(row: &DbRow, sort: PostSort) -> Result<PageRow> {
    let key = match sort {
        PostSort::Newest | PostSort::Oldest => {
            SortKey::Text(row.try_get::<Option<String>, _>("last_modified")?.unwrap_or_default())
        }
        PostSort::ActBy => {
            SortKey::Text(row.try_get::<Option<String>, _>("act_by")?.unwrap_or_else(|| "~".to_string()))
        }
        PostSort::Title => SortKey::Text(row.try_get("title")?),
        PostSort::Relevance => SortKey::Score(row.try_get::<f64, _>("score")?),
    };
    Ok(PageRow {
        id: row.try_get("id")?,
        key,
    })
}

/// The page's posts as one row (`page`): a JSON array with one array per
/// post of its summary columns, the tenants in scope that see or saw it
/// (a JSON array of their ids, negated when the post is gone for the
/// tenant: names are looked up once per page, not once per link, see
/// [`TenantNames`]), and its work item's state and assignee (null without
/// an item). One row instead of one per post: each row costs the SQLite
/// driver a hand-over between threads, more than the row itself.
fn push_page_summaries(qb: &mut QueryBuilder<Db>, s: &InScope) {
    qb.push(format!(
        "SELECT {} r.id, r.title, r.category, r.severity, r.services, r.tags, r.is_major, r.start_at, \
         r.end_at, r.act_by, r.last_modified, r.revision, r.first_seen, r.tenant_links, r.item_state, \
         r.item_assignee, r.rollout_start, r.date_moved, r.preview, r.item_priority, r.item_due, \
         r.item_labels, r.timeline {} AS page FROM \
         (SELECT p.id, p.title, p.category, p.severity, p.services, p.tags, p.is_major, p.start_at, \
         p.end_at, p.act_by, p.last_modified, p.revision, p.first_seen, p.rollout_start, \
         {} AS date_moved, w.state AS item_state, \
         w.assignee AS item_assignee, p.preview, w.priority AS item_priority, w.due_at AS item_due, \
         {} AS item_labels, p.timeline, \
         (SELECT {}t.id{} FROM (SELECT CASE WHEN l.visible THEN l.tenant_id ELSE -l.tenant_id END AS id \
         FROM post_tenants l WHERE l.post_id = p.id",
        JSON_ROWS[0], JSON_ROWS[1], date_moved_sql!(), ITEM_LABELS, ID_LIST[0], ID_LIST[1]
    ));
    push_in_scope_of_post(qb, s, "l");
    qb.push(") t) AS tenant_links FROM posts p LEFT JOIN work_items w ON w.post_id = p.id WHERE 1 = 1");
}

/// The archive's tenants' names by id, read in one row.
pub(crate) struct TenantNames(HashMap<i64, String>);

impl TenantNames {
    pub(crate) async fn load(pool: &Pool<Db>) -> Result<TenantNames> {
        let json: Option<String> = sqlx::query(sql(format!(
            "SELECT {} t.id, t.name {} AS rows FROM tenants t",
            JSON_ROWS[0], JSON_ROWS[1]
        )))
        .fetch_one(pool)
        .await?
        .try_get("rows")?;
        let rows: Vec<(i64, String)> = from_json(json.as_deref().unwrap_or("[]"), "tenants")?;
        Ok(TenantNames(rows.into_iter().collect()))
    }

    fn name(&self, id: i64) -> Result<&str> {
        self.0
            .get(&id)
            .map(String::as_str)
            .ok_or_else(|| StoreError::Corrupt(format!("a link to tenant id {id}, which is not in the archive")))
    }

    /// The names of the tenants `ids`, sorted.
    pub(crate) fn sorted(&self, ids: impl IntoIterator<Item = i64>) -> Result<Vec<String>> {
        let mut names = ids
            .into_iter()
            .map(|id| self.name(id).map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        names.sort_unstable();
        Ok(names)
    }
}

/// A boolean as either database puts it in JSON: `true` / `false`, or 1 / 0.
struct JsonBool(bool);

impl<'de> serde::Deserialize<'de> for JsonBool {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<JsonBool, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(JsonBool(b)),
            serde_json::Value::Number(n) => Ok(JsonBool(n.as_i64() != Some(0))),
            other => Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
        }
    }
}

/// One post of [`push_page_summaries`]'s array, column by column.
#[derive(serde::Deserialize)]
struct SummaryRow(
    String,
    String,
    String,
    String,
    String,
    String,
    JsonBool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
    // the names' JSON as text, or (where the database keeps it JSON) the
    // array itself
    Option<serde_json::Value>,
    // the work item's state and assignee
    Option<String>,
    Option<String>,
    // the rollout start
    Option<String>,
    // whether the newest revision moved a date
    JsonBool,
    // the preview (JSON text)
    Option<String>,
    // the work item's priority, due date and labels (a JSON array, as text)
    Option<String>,
    Option<String>,
    Option<String>,
    // the rollout timeline (JSON text)
    Option<String>,
);

/// A page's post: its summary (with the tenants in scope counted), the
/// sorted names of those tenants, its work item and its timeline.
fn scoped_summary(r: SummaryRow, names: &TenantNames) -> Result<(PostSummary, Vec<String>, Option<HitItem>, changedesk_core::timeline::Timeline)> {
    let links: Vec<i64> = match r.13 {
        Some(serde_json::Value::String(json)) => from_json(&json, "tenant links")?,
        Some(array) => serde_json::from_value(array)
            .map_err(|e| StoreError::Corrupt(format!("tenant links: {e}")))?,
        None => Vec::new(),
    };
    let visible = links.iter().filter(|l| **l > 0).count() as i64;
    let tenants = names.sorted(links.iter().map(|l| l.abs()))?;
    let item = match r.14 {
        None => None,
        Some(state) => Some(HitItem {
            state: state
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("work item of post {}: {e}", r.0)))?,
            assignee: r.15.filter(|a| !a.is_empty()),
            priority: match r.19.as_deref() {
                None => Default::default(),
                Some(p) => p
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("work item of post {}: {e}", r.0)))?,
            },
            due: read_ts_opt(r.20)?,
            labels: match r.21.as_deref() {
                None | Some("") => Vec::new(),
                Some(l) => from_json(l, "work item labels")?,
            },
        }),
    };
    let summary = PostSummary {
        services: from_json(&r.4, "services")?,
        tags: from_json(&r.5, "tags")?,
        is_major: r.6.0,
        start: read_ts_opt(r.7)?,
        end: read_ts_opt(r.8)?,
        act_by: read_ts_opt(r.9)?,
        last_modified: read_ts_opt(r.10)?,
        rollout_start: read_ts_opt(r.16)?,
        date_moved: r.17.0,
        preview: read_preview(r.18, "post")?,
        revision: r.11,
        state: state_of(visible),
        tenants_visible: visible,
        tenants_seen: tenants.len() as i64,
        first_seen: read_ts(r.12)?,
        id: r.0,
        title: r.1,
        category: r.2,
        severity: r.3,
    };
    let timeline = match r.22 {
        None => changedesk_core::timeline::Timeline::default(),
        Some(t) => from_json(&t, "timeline")?,
    };
    Ok((summary, tenants, item, timeline))
}

pub(crate) async fn query_posts(pool: &Pool<Db>, q: &PostQuery) -> Result<PostPage> {
    let (list, total) = post_page(pool, q, true).await?;
    Ok(PostPage {
        items: list.items,
        next_cursor: list.next_cursor,
        // counted when not known
        total: total.unwrap_or_default(),
    })
}

pub(crate) async fn list_posts(pool: &Pool<Db>, q: &PostQuery) -> Result<PostList> {
    Ok(post_page(pool, q, false).await?.0)
}

/// The ids and sort keys of the page `cx` names (at most `size`), and
/// whether more match: the first step of a page, without its posts.
async fn page_rows(pool: &Pool<Db>, cx: &mut PostCx<'_>, size: i64) -> Result<(Vec<PageRow>, bool)> {
    // the page: ids and sort keys only
    let ranked = cx.sort == PostSort::Relevance;
    if !ranked
        && let (Some(count), Some(m)) = (TEXT_MATCH_COUNT, &cx.text_match)
    {
        let n: i64 = sqlx::query(count).bind(m).fetch_one(pool).await?.try_get("n")?;
        cx.walk_text = n > WALK_TEXT_ABOVE;
    }
    let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT p.id, p.last_modified, p.act_by, p.title");
    if ranked {
        qb.push(format!(", {RANK_SCORE} AS score FROM {}", RANKED_FROM[0]));
        qb.push_bind(cx.text_match.clone().unwrap_or_default());
        qb.push(RANKED_FROM[1]);
    } else {
        qb.push(" FROM posts p");
    }
    qb.push(" WHERE 1 = 1");
    push_post_conditions(&mut qb, cx, !ranked, Plan::Walk);
    let (key, descending) = sort_key(cx.sort);
    let id = format!("p.id{BYTE_ORDER}");
    let (before, after) = if descending { ("<", "<=") } else { (">", ">=") };
    if let Some(c) = &cx.cursor {
        // after the cursor's (key, id); the bound on the key alone lets the
        // database seek in the sort index (SQLite does not for the pair)
        let bind_key = |qb: &mut QueryBuilder<Db>| match &c.key {
            SortKey::Text(t) => {
                qb.push_bind(t.clone());
            }
            SortKey::Score(s) => {
                qb.push_bind(*s);
            }
        };
        qb.push(format!(" AND {key} {after} "));
        bind_key(&mut qb);
        qb.push(format!(" AND ({key}, {id}) {before} ("));
        bind_key(&mut qb);
        qb.push(", ");
        qb.push_bind(c.id.clone());
        qb.push(")");
    }
    let direction = if descending { " DESC" } else { "" };
    qb.push(format!(" ORDER BY {key}{direction}, {id}{direction} LIMIT "));
    qb.push_bind(size + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let mut page: Vec<PageRow> = rows
        .iter()
        .map(|r| page_row(r, cx.sort))
        .collect::<Result<Vec<_>>>()?;
    let more = page.len() as i64 > size;
    page.truncate(size as usize);
    Ok((page, more))
}

/// The ids of the first page of posts `q` names, in its order: what a
/// list of neighbours needs, without the posts' summaries and their
/// thousands of tenant links.
pub(crate) async fn list_post_ids(pool: &Pool<Db>, q: &PostQuery) -> Result<Vec<String>> {
    let Some(mut cx) = prepare_posts(pool, q, true).await? else {
        return Ok(Vec::new());
    };
    let (page, _) = page_rows(pool, &mut cx, q.page_size()).await?;
    Ok(page.into_iter().map(|r| r.id).collect())
}

/// A page of posts, and the total when it is known for free (carried by
/// the cursor, or the first page holds every match) or `count` says to
/// count it.
async fn post_page(pool: &Pool<Db>, q: &PostQuery, count: bool) -> Result<(PostList, Option<i64>)> {
    let Some(mut cx) = prepare_posts(pool, q, true).await? else {
        let empty = PostList {
            items: Vec::new(),
            next_cursor: None,
        };
        return Ok((empty, Some(0)));
    };
    let size = q.page_size();
    let (page, more) = page_rows(pool, &mut cx, size).await?;

    // the total: counted for the first page (unless it holds every match),
    // then carried by the cursors
    let total = match (&cx.cursor, more) {
        (Some(Cursor { total: Some(n), .. }), _) => Some(*n),
        (None, false) => Some(page.len() as i64),
        _ if count => {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT COUNT(*) AS n FROM posts p WHERE 1 = 1");
            push_post_conditions(&mut qb, &cx, true, Plan::Gather);
            Some(qb.build().fetch_one(pool).await?.try_get("n")?)
        }
        _ => None,
    };
    let next_cursor = if more {
        page.last().map(|last| {
            Cursor {
                sort: cx.sort,
                key: last.key.clone(),
                id: last.id.clone(),
                total,
            }
            .encode()
        })
    } else {
        None
    };

    // the page's posts
    let ids: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
    let mut hits: HashMap<String, PostHit> = HashMap::with_capacity(ids.len());
    if !ids.is_empty() {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("");
        push_page_summaries(&mut qb, &cx.scope);
        qb.push(format!(" AND p.id {}", TEXT_IDS_IN[0]));
        qb.push_bind(id_list(&ids));
        qb.push(TEXT_IDS_IN[1]);
        qb.push(") r");
        let page: Option<String> = qb.build().fetch_one(pool).await?.try_get("page")?;
        let rows: Vec<SummaryRow> = from_json(page.as_deref().unwrap_or("[]"), "a page of posts")?;
        let names = TenantNames::load(pool).await?;
        for row in rows {
            let (summary, tenants, item, timeline) = scoped_summary(row, &names)?;
            hits.insert(
                summary.id.clone(),
                PostHit {
                    summary,
                    tenants,
                    snippet: Vec::new(),
                    item,
                    timeline,
                },
            );
        }
        if let Some(m) = cx.text_match.as_ref().filter(|_| cx.search.has_required_text()) {
            let rows = sqlx::query(SNIPPETS)
                .bind(m)
                .bind(id_list(&ids))
                .fetch_all(pool)
                .await?;
            for row in rows {
                let id: String = row.try_get("id")?;
                let text: Option<String> = row.try_get("snippet")?;
                if let (Some(hit), Some(text)) = (hits.get_mut(&id), text) {
                    hit.snippet = split_snippet(&text);
                }
            }
        }
    }
    let items = page.iter().filter_map(|r| hits.remove(&r.id)).collect();

    Ok((PostList { items, next_cursor }, total))
}

/// Whether a query is every post of the archive: every tenant in scope, no
/// tenant, state, filter or search.
fn unconditioned(cx: &PostCx<'_>) -> bool {
    let q = cx.q;
    matches!(cx.scope, InScope::All)
        && cx.tenant.is_none()
        && q.state.is_none()
        && q.services.is_empty()
        && q.tags.is_empty()
        && q.category.is_none()
        && q.severity.is_none()
        && q.major.is_none()
        && q.act_by_from.is_none()
        && q.act_by_to.is_none()
        && q.changed_since.is_none()
        && !has_item_conditions(q)
        && cx.text_match.is_none()
        && cx.text_excluded.is_none()
        && cx.search.fields().next().is_none()
}

/// The facets of every post (see [`unconditioned`]): each post has a link
/// (so is in every tenant's scope), is visible unless no link is; each work
/// item has its post. An owner `''` is the items assigned to nobody. An
/// owner and a state are what is in force per tenant (as
/// [`push_in_force_facet`] counts them).
static EVERY_POST_FACETS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT 'service' AS facet, s.service AS value, COUNT(*) AS n \
         FROM post_services s GROUP BY s.service \
         UNION ALL SELECT 'category', p.category, COUNT(*) FROM posts p GROUP BY p.category \
         UNION ALL SELECT 'severity', p.severity, COUNT(*) FROM posts p GROUP BY p.severity \
         UNION ALL SELECT 'tag', g.tag, COUNT(*) FROM post_tags g GROUP BY g.tag \
         UNION ALL SELECT 'state', CASE WHEN c.visible > 0 THEN 'visible' ELSE 'gone' END, COUNT(*) FROM posts p \
           LEFT JOIN post_link_counts c ON c.post_id = p.id GROUP BY CASE WHEN c.visible > 0 THEN 'visible' ELSE 'gone' END \
         UNION ALL SELECT 'major', CASE WHEN p.is_major THEN 'major' ELSE 'other' END, COUNT(*) FROM posts p \
           GROUP BY p.is_major{}{}",
        every_item_in_force_facet("owner", "w.assignee", "COALESCE(e.assignee, w.assignee)"),
        every_item_in_force_facet(
            "item_state",
            "w.state",
            "CASE WHEN e.applicable = FALSE THEN 'dismissed' ELSE COALESCE(e.state, w.state) END"
        ),
    )
});

/// ` UNION ALL SELECT '{facet}', value, count …` of every work item, for
/// [`EVERY_POST_FACETS`]: an item without exceptions counted by its own
/// column `shared`; one with exceptions once by it where some tenant has no
/// exception, and once per distinct value `variant` of its exceptions `e`.
fn every_item_in_force_facet(facet: &str, shared: &str, variant: &str) -> String {
    format!(
        " UNION ALL SELECT '{facet}', COALESCE(x.v, ''), CAST(SUM(x.n) AS BIGINT) FROM (SELECT {shared} AS v, \
         COUNT(*) AS n FROM work_items w WHERE NOT {has} GROUP BY {shared} \
         UNION ALL SELECT y.v, COUNT(*) FROM (SELECT w.post_id, {shared} AS v FROM work_items w \
         WHERE {has} AND {some} UNION SELECT w.post_id, {variant} FROM work_items w \
         JOIN work_item_variants e ON e.post_id = w.post_id) y GROUP BY y.v) x GROUP BY x.v",
        has = has_exceptions("w"),
        some = some_link_without_exception("w", false),
    )
}

/// The tenant facet of every post, for [`EVERY_POST_FACETS`].
const EVERY_POST_TENANT_FACET: &str = " UNION ALL SELECT 'tenant', t.name, c.n FROM (SELECT pt.tenant_id, COUNT(*) AS n \
     FROM post_tenants pt GROUP BY pt.tenant_id) c JOIN tenants t ON t.id = c.tenant_id";

/// The facets of the posts a query matches: the matching posts once, with
/// whether they are visible (to the query's tenant, or to some tenant in
/// scope), then one count per facet (the tenants' only with `count_tenants`).
fn matching_facets(cx: &PostCx<'_>, count_tenants: bool) -> QueryBuilder<Db> {
    let mut qb: QueryBuilder<Db> =
        QueryBuilder::new("WITH m AS MATERIALIZED (SELECT p.id, p.category, p.severity, p.is_major, CASE WHEN ");
    match (cx.tenant, &cx.scope) {
        (Some(t), _) => {
            qb.push("EXISTS (SELECT 1 FROM post_tenants pv WHERE pv.post_id = p.id AND pv.visible AND pv.tenant_id = ");
            qb.push_bind(t);
            qb.push(")");
        }
        // every tenant in scope: the post's count (migration 0022)
        (None, InScope::All) => {
            qb.push(VISIBLE_SOMEWHERE);
        }
        (None, scope) => {
            qb.push("EXISTS (SELECT 1 FROM post_tenants pv WHERE pv.post_id = p.id AND pv.visible");
            push_in_scope_of_post(&mut qb, scope, "pv");
            qb.push(")");
        }
    }
    qb.push(" THEN 1 ELSE 0 END AS vis FROM posts p WHERE 1 = 1");
    push_post_conditions(&mut qb, cx, true, Plan::Gather);
    qb.push(
        ") SELECT 'service' AS facet, s.service AS value, COUNT(*) AS n \
           FROM m JOIN post_services s ON s.post_id = m.id GROUP BY s.service \
         UNION ALL SELECT 'category', m.category, COUNT(*) FROM m GROUP BY m.category \
         UNION ALL SELECT 'severity', m.severity, COUNT(*) FROM m GROUP BY m.severity \
         UNION ALL SELECT 'tag', g.tag, COUNT(*) FROM m JOIN post_tags g ON g.post_id = m.id GROUP BY g.tag \
         UNION ALL SELECT 'state', CASE WHEN m.vis = 1 THEN 'visible' ELSE 'gone' END, COUNT(*) FROM m GROUP BY m.vis \
         UNION ALL SELECT 'major', CASE WHEN m.is_major THEN 'major' ELSE 'other' END, COUNT(*) FROM m GROUP BY m.is_major",
    );
    if count_tenants {
        qb.push(
            " UNION ALL SELECT 'tenant', t.name, c.n FROM (SELECT pt.tenant_id, COUNT(*) AS n \
             FROM m JOIN post_tenants pt ON pt.post_id = m.id WHERE 1 = 1",
        );
        push_in_scope_of_post(&mut qb, &cx.scope, "pt");
        qb.push(" GROUP BY pt.tenant_id) c JOIN tenants t ON t.id = c.tenant_id");
    }
    // an owner and a state are what is in force per tenant
    push_in_force_facet(&mut qb, cx, "owner", |c| &c.1);
    push_in_force_facet(&mut qb, cx, "item_state", |c| &c.0);
    qb
}

pub(crate) async fn post_facets(pool: &Pool<Db>, q: &PostQuery) -> Result<Facets> {
    let mut facets = Facets::default();
    let Some(cx) = prepare_posts(pool, q, false).await? else {
        return Ok(facets);
    };
    // a count per tenant reads each matching post's links of every tenant
    // in scope: bounded by the scope's size
    let in_scope = match &cx.scope {
        InScope::Ids(ids) => ids.len(),
        InScope::All => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(pool).await?;
            usize::try_from(n).unwrap_or(usize::MAX)
        }
    };
    let count_tenants = in_scope <= super::TENANT_FACET_MAX;
    facets.tenants_uncounted = !count_tenants;
    let mut qb: QueryBuilder<Db> = if unconditioned(&cx) {
        // every post of the archive: each facet counted from its own table
        // (or index), not by joining every post to its links
        let mut qb = QueryBuilder::new(EVERY_POST_FACETS.as_str());
        if count_tenants {
            qb.push(EVERY_POST_TENANT_FACET);
        }
        qb
    } else {
        matching_facets(&cx, count_tenants)
    };
    for row in qb.build().fetch_all(pool).await? {
        let facet: String = row.try_get("facet")?;
        let value: String = row.try_get("value")?;
        let count: i64 = row.try_get("n")?;
        let list = match facet.as_str() {
            "service" => &mut facets.services,
            "category" => &mut facets.categories,
            "severity" => &mut facets.severities,
            "tag" => &mut facets.tags,
            "tenant" => &mut facets.tenants,
            "item_state" => &mut facets.item_states,
            "owner" if value.is_empty() => {
                facets.unassigned += count;
                continue;
            }
            "owner" => &mut facets.owners,
            "state" if value == "visible" => {
                facets.visible += count;
                continue;
            }
            "state" => {
                facets.gone += count;
                continue;
            }
            "major" if value == "major" => {
                facets.major += count;
                continue;
            }
            _ => {
                facets.not_major += count;
                continue;
            }
        };
        list.push(FacetCount { value, count });
    }
    for list in [
        &mut facets.services,
        &mut facets.categories,
        &mut facets.severities,
        &mut facets.tags,
        &mut facets.tenants,
        &mut facets.owners,
        &mut facets.item_states,
    ] {
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    }
    Ok(facets)
}

pub(crate) async fn post_severity_counts(pool: &Pool<Db>, q: &PostQuery) -> Result<SeverityCounts> {
    let mut out = SeverityCounts::default();
    let Some(cx) = prepare_posts(pool, q, false).await? else {
        return Ok(out);
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT p.severity AS severity, CAST(CASE WHEN p.is_major THEN 1 ELSE 0 END AS BIGINT) AS major, \
         COUNT(*) AS n FROM posts p WHERE 1 = 1",
    );
    push_post_conditions(&mut qb, &cx, true, Plan::Gather);
    qb.push(" GROUP BY p.severity, CAST(CASE WHEN p.is_major THEN 1 ELSE 0 END AS BIGINT)");
    for row in qb.build().fetch_all(pool).await? {
        let severity: String = row.try_get("severity")?;
        let n: i64 = row.try_get("n")?;
        if row.try_get::<i64, _>("major")? == 1 {
            out.major += n;
        }
        match out.severities.iter_mut().find(|c| c.value == severity) {
            Some(c) => c.count += n,
            None => out.severities.push(FacetCount { value: severity, count: n }),
        }
    }
    out.severities.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    Ok(out)
}

pub(crate) async fn baseline_pending(pool: &Pool<Db>) -> Result<bool> {
    let found: Option<i32> = sqlx::query_scalar(sql(format!(
        "SELECT 1 FROM work_items w JOIN posts p ON p.id = w.post_id \
         WHERE w.state = '{}' AND p.baseline AND {DECISION_DEADLINE} IS NULL LIMIT 1",
        changedesk_core::triage::State::New.as_str()
    )))
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

pub(crate) async fn post_item_counts(pool: &Pool<Db>, q: &PostQuery, now: Timestamp) -> Result<ItemCounts> {
    let Some(cx) = prepare_posts(pool, q, false).await? else {
        return Ok(ItemCounts::default());
    };
    // each count is its filter's condition (`push_item_conditions`), on the
    // posts the query matches: awaiting triage, overdue and missed in force
    // for some tenant in scope (the query's tenant, if any)
    let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT COALESCE(SUM(CASE WHEN ");
    let new_state = changedesk_core::triage::State::New.as_str();
    let tenant = cx.tenant.map(TenantKey::Id);
    push_in_force(&mut qb, "w", tenant, Some(&cx.scope), &|qb: &mut QueryBuilder<Db>, (state, _, _): &ItemCols| {
        qb.push(format!(" AND {state} = '{new_state}'"));
    });
    qb.push(format!(
        " THEN 1 ELSE 0 END), 0) AS awaiting, COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS changed",
        changed_since_triage_sql("w")
    ));
    for d in [Deadline::Overdue, Deadline::Missed] {
        qb.push(", COALESCE(SUM(CASE WHEN ");
        push_in_force(&mut qb, "w", tenant, Some(&cx.scope), &|qb: &mut QueryBuilder<Db>, (state, _, due): &ItemCols| {
            qb.push(" AND ");
            push_deadline_on(qb, DeadlineFilter { status: d, now }, state, due);
        });
        qb.push(format!(" THEN 1 ELSE 0 END), 0) AS {}", d.as_str()));
    }
    qb.push(" FROM posts p JOIN work_items w ON w.post_id = p.id WHERE 1 = 1");
    push_post_conditions(&mut qb, &cx, true, Plan::Gather);
    let row = qb.build().fetch_one(pool).await?;
    Ok(ItemCounts {
        awaiting: row.try_get("awaiting")?,
        changed: row.try_get("changed")?,
        overdue: row.try_get("overdue")?,
        missed: row.try_get("missed")?,
    })
}

pub(crate) async fn count_posts_within(pool: &Pool<Db>, q: &PostQuery, within: &[Vec<String>]) -> Result<Vec<i64>> {
    let mut counts = vec![0; within.len()];
    // the query's scope narrowed to each list (never wider)
    let narrowed: Vec<TenantScope> = within.iter().map(|names| q.scope.narrowed_to(names)).collect();
    let tenant = q.tenant.as_deref().map(|t| t.trim().to_lowercase());
    // every tenant named, as ids, in one read
    let mut names: Vec<&str> = narrowed
        .iter()
        .flat_map(|s| match s {
            TenantScope::All => Vec::new(),
            TenantScope::Only(names) => names.iter().map(String::as_str).collect(),
        })
        .collect();
    names.extend(tenant.as_deref());
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(counts);
    }
    let rows = sqlx::query(sql(format!("SELECT id, name FROM tenants WHERE name {}", any_of(1))))
        .bind(id_list(&names))
        .fetch_all(pool)
        .await?;
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for r in rows {
        ids.insert(r.try_get("name")?, r.try_get("id")?);
    }
    let tenant_id = match &tenant {
        None => None,
        Some(t) => match ids.get(t) {
            Some(id) => Some(*id),
            // no such tenant: nothing matches anywhere
            None => return Ok(counts),
        },
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new("");
    let mut parts = 0;
    for (i, scope) in narrowed.iter().enumerate() {
        let TenantScope::Only(names) = scope else {
            continue;
        };
        let in_scope: Vec<i64> = names.iter().filter_map(|n| ids.get(n).copied()).collect();
        // nothing in this scope, or the query's tenant is out of it
        if in_scope.is_empty() || tenant.as_deref().is_some_and(|t| !scope.includes(t)) {
            continue;
        }
        let mut cx = post_cx(q, InScope::Ids(in_scope));
        cx.tenant = tenant_id;
        if parts > 0 {
            qb.push(" UNION ALL ");
        }
        parts += 1;
        qb.push(format!("SELECT CAST({i} AS BIGINT) AS i, COUNT(*) AS n FROM posts p WHERE 1 = 1"));
        push_post_conditions(&mut qb, &cx, true, Plan::Gather);
    }
    if parts == 0 {
        return Ok(counts);
    }
    // not kept in the statement cache: its text changes with the lists
    for row in qb.build().persistent(false).fetch_all(pool).await? {
        let i: i64 = row.try_get("i")?;
        let n: i64 = row.try_get("n")?;
        if let Some(c) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
            *c = n;
        }
    }
    Ok(counts)
}

/// Whether a tenant in scope has a link to the item `id`.
async fn linked_in_scope(pool: &Pool<Db>, l: &Links, id: &str, scope: &TenantScope) -> Result<bool> {
    let (table, key) = (l.table, l.key);
    let row = match scope {
        TenantScope::All => {
            sqlx::query(sql(format!("SELECT 1 AS x FROM {table} l WHERE l.{key} = $1 LIMIT 1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }
        TenantScope::Only(names) if names.is_empty() => None,
        TenantScope::Only(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            sqlx::query(sql(format!(
                "SELECT 1 AS x FROM {table} l JOIN tenants t ON t.id = l.tenant_id \
                 WHERE l.{key} = $1 AND t.name {} LIMIT 1",
                any_of(2)
            )))
            .bind(id)
            .bind(id_list(&names))
            .fetch_optional(pool)
            .await?
        }
    };
    Ok(row.is_some())
}

/// Keeps the links of tenants in scope; returns (visible, seen) among them.
fn keep_in_scope(links: &mut Vec<TenantLink>, scope: &TenantScope) -> (i64, i64) {
    links.retain(|l| scope.includes(&l.name));
    let visible = links.iter().filter(|l| l.visible).count() as i64;
    (visible, links.len() as i64)
}

/// Forgets the tenant that brought a revision when it is out of scope.
fn hide_revision_tenants(revisions: &mut [RevisionInfo], scope: &TenantScope) {
    for r in revisions {
        if r.tenant.as_deref().is_some_and(|t| !scope.includes(t)) {
            r.tenant = None;
        }
    }
}

fn state_of(visible: i64) -> PostState {
    if visible > 0 {
        PostState::Active
    } else {
        PostState::Expired
    }
}

pub(crate) async fn post_in_scope(pool: &Pool<Db>, id: &str, scope: &TenantScope) -> Result<()> {
    if !linked_in_scope(pool, &POST_LINKS, id, scope).await? {
        return Err(StoreError::NotFound(format!("post {id}")));
    }
    Ok(())
}

pub(crate) async fn get_message_scoped(pool: &Pool<Db>, id: &str, scope: &TenantScope) -> Result<PostDetail> {
    post_in_scope(pool, id, scope).await?;
    let mut d = get_message(pool, id).await?;
    let (visible, seen) = keep_in_scope(&mut d.tenants, scope);
    d.summary.tenants_visible = visible;
    d.summary.tenants_seen = seen;
    d.summary.state = state_of(visible);
    hide_revision_tenants(&mut d.revisions, scope);
    Ok(d)
}

pub(crate) async fn message_revision_scoped(
    pool: &Pool<Db>,
    id: &str,
    revision: i64,
    scope: &TenantScope,
) -> Result<RevisionContent> {
    if !linked_in_scope(pool, &POST_LINKS, id, scope).await? {
        return Err(StoreError::NotFound(format!("revision {revision} of post {id}")));
    }
    let mut r = message_revision(pool, id, revision).await?;
    hide_revision_tenants(std::slice::from_mut(&mut r.info), scope);
    Ok(r)
}

pub(crate) async fn list_incidents_scoped(
    pool: &Pool<Db>,
    f: &IncidentFilter,
    scope: &TenantScope,
) -> Result<Vec<IncidentSummary>> {
    let Some(s) = resolve_scope(pool, scope).await? else {
        return Ok(Vec::new());
    };
    if let Some(t) = &f.tenant
        && !scope.includes(t)
    {
        return Ok(Vec::new());
    }
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT i.id, i.title, i.service, i.feature, i.classification, i.status, \
         i.is_resolved, i.start_at, i.end_at, i.last_modified, i.revision, \
         (SELECT COUNT(*) FROM incident_tenants l WHERE l.incident_id = i.id AND l.visible",
    );
    push_in_scope(&mut qb, &s, "l");
    qb.push(") AS tenants_visible, (SELECT COUNT(*) FROM incident_tenants l WHERE l.incident_id = i.id");
    push_in_scope(&mut qb, &s, "l");
    qb.push(") AS tenants_seen FROM incidents i WHERE 1 = 1");
    if f.tenant.is_some() {
        // a tenant in scope: visible / gone for it, as list_incidents
        push_scope(&mut qb, &INCIDENT_LINKS, "i", &f.tenant, f.state);
    } else {
        qb.push(" AND EXISTS (SELECT 1 FROM incident_tenants it WHERE it.incident_id = i.id");
        if f.state == Some(PostState::Active) {
            qb.push(" AND it.visible");
        }
        push_in_scope(&mut qb, &s, "it");
        qb.push(")");
        if f.state == Some(PostState::Expired) {
            qb.push(" AND NOT EXISTS (SELECT 1 FROM incident_tenants iv WHERE iv.incident_id = i.id AND iv.visible");
            push_in_scope(&mut qb, &s, "iv");
            qb.push(")");
        }
    }
    finish_incident_list(qb, f, pool).await
}

pub(crate) async fn get_incident_scoped(pool: &Pool<Db>, id: &str, scope: &TenantScope) -> Result<IncidentDetail> {
    if !linked_in_scope(pool, &INCIDENT_LINKS, id, scope).await? {
        return Err(StoreError::NotFound(format!("incident {id}")));
    }
    let mut d = get_incident(pool, id).await?;
    let (visible, seen) = keep_in_scope(&mut d.tenants, scope);
    d.summary.tenants_visible = visible;
    d.summary.tenants_seen = seen;
    d.summary.state = state_of(visible);
    hide_revision_tenants(&mut d.revisions, scope);
    for h in &mut d.status_history {
        if h.tenant.as_deref().is_some_and(|t| !scope.includes(t)) {
            h.tenant = None;
        }
    }
    Ok(d)
}


pub(crate) async fn tenant_links(
    pool: &Pool<Db>,
    tenant: &str,
    incidents: bool,
) -> Result<std::collections::HashMap<String, Option<Timestamp>>> {
    let (table, key) = if incidents { ("incident_tenants", "incident_id") } else { ("post_tenants", "post_id") };
    let rows = sqlx::query(sql(format!(
        "SELECT l.{key} AS item, l.seen_last_modified FROM {table} l JOIN tenants t ON t.id = l.tenant_id \
         WHERE t.name = $1 AND l.visible"
    )))
    .bind(tenant)
    .fetch_all(pool)
    .await?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(row.try_get("item")?, read_ts_opt(row.try_get("seen_last_modified")?)?);
    }
    Ok(out)
}

pub(crate) async fn post_tenant_names(pool: &Pool<Db>, id: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(sql(format!(
        "SELECT t.name FROM post_tenants pt JOIN tenants t ON t.id = pt.tenant_id \
         WHERE pt.post_id = $1 AND pt.visible ORDER BY t.name{BYTE_ORDER}"
    )))
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}

pub(crate) async fn tenant_names(pool: &Pool<Db>) -> Result<Vec<String>> {
    let rows = sqlx::query(sql(format!("SELECT name FROM tenants ORDER BY name{BYTE_ORDER}")))
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}

pub(crate) async fn archive_size(pool: &Pool<Db>) -> Result<ArchiveSize> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM tenants) AS tenants, (SELECT COUNT(*) FROM posts) AS posts, \
         (SELECT COUNT(*) FROM incidents) AS incidents",
    )
    .fetch_one(pool)
    .await?;
    Ok(ArchiveSize {
        tenants: row.try_get("tenants")?,
        posts: row.try_get("posts")?,
        incidents: row.try_get("incidents")?,
    })
}
