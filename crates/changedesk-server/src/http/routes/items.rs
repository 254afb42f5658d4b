//! Work items: one per post, triaged once for every tenant, with per-tenant
//! exceptions and an append-only decision log. Owners act on their own items
//! (or on the tenants assigned to them); change managers and admins on any
//! in their scope; readers only read. An action may be for some tenants
//! only (`tenants`, `group`): it then moves their own state, and a
//! tenant-limited caller's actions on a post other tenants see are always
//! for their tenants only.

use axum::extract::State;
use changedesk_core::triage::{
    Action, Actor, LogEntry, LogScope, State as ItemState, TenantSummary, WorkItem, transition,
    transition_for_tenants,
};
use changedesk_store::{ItemFilter, ItemSave, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::posts::{Csv, scope_of};
use crate::export;
use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::{ts, ts_opt};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Path, Query};
use crate::http::tenant_cover::{GroupCoverDto, Groups};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_items))
        .routes(routes!(get_item))
        .routes(routes!(act_on_item))
        .routes(routes!(get_baseline))
        .routes(routes!(accept_baseline))
}

/// The baseline concerns every tenant: only a caller without a tenant limit
/// may see or accept it.
fn require_unrestricted(caller: &Caller) -> ApiResult<()> {
    if caller.unrestricted() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the baseline concerns every tenant: it needs a user without a tenant limit",
        ))
    }
}

/// The baseline as `caller` may see it (the API's and the web UI's).
pub(crate) async fn baseline_for(
    state: &AppState,
    caller: &Caller,
) -> ApiResult<crate::triage::BaselineSummary> {
    caller.require(Need::Read)?;
    require_unrestricted(caller)?;
    crate::triage::baseline(&state.store)
        .await
        .map_err(super::rules::triage_error)
}

/// Accepts the baseline as `caller` (the API's and the web UI's).
pub(crate) async fn accept_baseline_as(
    state: &AppState,
    caller: &Caller,
) -> ApiResult<crate::triage::BaselineAccepted> {
    caller.require(Need::TriageAny)?;
    require_unrestricted(caller)?;
    let actor = Actor::Person(caller.name.clone());
    crate::triage::accept_baseline(&state.store, &actor, state.now())
        .await
        .map_err(super::rules::triage_error)
}

/// The baseline: the items awaiting triage of posts that were in Message
/// Center before changedesk first synced their tenant, and what accepting
/// it would close (history without a deadline since) and keep (upcoming
/// work, or a miss).
#[utoipa::path(get, path = "/api/v1/baseline", tag = "items",
    responses((status = 200, body = crate::triage::BaselineSummary), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn get_baseline(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<crate::triage::BaselineSummary>> {
    Ok(axum::Json(baseline_for(&state, &caller).await?))
}

/// Accepts the baseline: closes each of its items that is history as
/// `no_action_needed`, labelled `baseline`, by the caller (each in the
/// decision log); upcoming work and misses stay for triage.
#[utoipa::path(post, path = "/api/v1/baseline/accept", tag = "items",
    responses((status = 200, body = crate::triage::BaselineAccepted), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn accept_baseline(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<crate::triage::BaselineAccepted>> {
    Ok(axum::Json(accept_baseline_as(&state, &caller).await?))
}

/// A tenant's exception to the item: what is different for it.
#[derive(Serialize, ToSchema)]
pub struct OverrideDto {
    pub tenant: String,
    /// `false`: the post does not apply to the tenant.
    pub applicable: Option<bool>,
    /// The tenant's own state (null: the item's).
    pub state: Option<String>,
    /// The tenant's own decision, with its own state `done`.
    pub decision: Option<String>,
    /// Why the tenant's own state is `dismissed`.
    pub dismiss_reason: Option<String>,
    pub assignee: Option<String>,
    pub due: Option<String>,
    pub note: Option<String>,
}

/// Where the tenants that see the post (those in the caller's scope) stand:
/// each counted once, by its own state, else the item's, or as not
/// applicable.
#[derive(Serialize, ToSchema)]
pub struct TenantSummaryDto {
    pub new: usize,
    pub triaged: usize,
    pub in_progress: usize,
    pub done: usize,
    pub dismissed: usize,
    pub not_applicable: usize,
    /// new + triaged + in progress.
    pub open: usize,
    /// For people: `done for 812 · open for 3 · not applicable for 185`.
    pub text: String,
}

impl From<&TenantSummary> for TenantSummaryDto {
    fn from(s: &TenantSummary) -> TenantSummaryDto {
        TenantSummaryDto {
            new: s.new,
            triaged: s.triaged,
            in_progress: s.in_progress,
            done: s.done,
            dismissed: s.dismissed,
            not_applicable: s.not_applicable,
            open: s.open(),
            text: s.describe(),
        }
    }
}

/// A work item (what the caller may see of it).
#[derive(Serialize, ToSchema)]
pub struct ItemDto {
    pub post_id: String,
    /// The shared state, in force wherever a tenant has none of its own:
    /// `new`, `triaged`, `in_progress`, `done` or `dismissed`.
    pub state: String,
    pub decision: Option<String>,
    pub assignee: Option<String>,
    pub priority: String,
    pub due: Option<String>,
    pub labels: Vec<String>,
    pub requires_change_request: bool,
    pub requires_communication: bool,
    /// Fields of the post that changed since it was triaged.
    pub changed_since_triage: Vec<String>,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub dismiss_reason: Option<String>,
    /// How many tenant exceptions the caller may see.
    pub exception_count: usize,
    /// The tenant exceptions the caller may see: always in an item's own
    /// answer; in a list only with `include=exceptions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub overrides: Option<Vec<OverrideDto>>,
    /// Where the tenants in the caller's scope that see the post stand.
    pub tenant_states: TenantSummaryDto,
    /// Send it back as `version` to act on this state of the item.
    pub version: i64,
}

impl ItemDto {
    /// The item as `caller` may see it; `tenants` are those in the caller's
    /// scope that see the post (what `tenant_states` counts); with
    /// `exceptions`, the exceptions are listed.
    fn new(
        item: &WorkItem,
        version: i64,
        caller: &Caller,
        tenants: &[String],
        exceptions: bool,
    ) -> ItemDto {
        let seen = item.overrides.iter().filter(|o| caller.sees(&o.tenant));
        ItemDto {
            post_id: item.message_id.clone(),
            state: item.state.as_str().to_string(),
            decision: item.decision.map(|d| d.as_str().to_string()),
            assignee: item.assignee.clone(),
            priority: item.priority.as_str().to_string(),
            due: ts_opt(&item.due),
            labels: item.labels.iter().cloned().collect(),
            requires_change_request: item.requires_change_request,
            requires_communication: item.requires_communication,
            changed_since_triage: item.changed_since_triage.clone(),
            created_at: ts(&item.created_at),
            closed_at: ts_opt(&item.closed_at),
            dismiss_reason: item.dismiss_reason.clone(),
            exception_count: seen.clone().count(),
            overrides: exceptions.then(|| {
                seen.map(|o| OverrideDto {
                    tenant: o.tenant.clone(),
                    applicable: o.applicable,
                    state: o.state.map(|s| s.as_str().to_string()),
                    decision: o.decision.map(|d| d.as_str().to_string()),
                    dismiss_reason: o.dismiss_reason.clone(),
                    assignee: o.assignee.clone(),
                    due: ts_opt(&o.due),
                    note: o.note.clone(),
                })
                .collect()
            }),
            tenant_states: TenantSummaryDto::from(
                &item.tenant_summary(tenants.iter().map(String::as_str)),
            ),
            version,
        }
    }
}

/// What is in force for one tenant (a list asked with `tenant=`).
#[derive(Serialize, ToSchema)]
pub struct InForceDto {
    pub tenant: String,
    /// `false`: the post does not apply to the tenant.
    pub applicable: bool,
    pub state: String,
    pub decision: Option<String>,
    pub assignee: Option<String>,
    pub due: Option<String>,
}

impl InForceDto {
    fn new(item: &WorkItem, tenant: &str) -> InForceDto {
        let tenant = tenant.trim().to_ascii_lowercase();
        InForceDto {
            applicable: item.applies_to(&tenant),
            state: item.state_for(&tenant).as_str().to_string(),
            decision: item.decision_for(&tenant).map(|d| d.as_str().to_string()),
            assignee: item.assignee_for(&tenant).map(str::to_string),
            due: ts_opt(&item.due_for(&tenant)),
            tenant,
        }
    }
}

/// An item in a list, with its post's headline and the tenants in scope
/// that see the post now: how many, in which tenant groups, and their
/// names when few (or asked for).
#[derive(Serialize, ToSchema)]
pub struct ItemRowDto {
    #[serde(flatten)]
    pub item: ItemDto,
    pub title: String,
    pub services: Vec<String>,
    pub act_by: Option<String>,
    /// How many tenants in scope see the post now.
    pub tenant_count: i64,
    /// The tenant groups holding some of those tenants: how many of them
    /// each holds (`count`) of its tenants in scope (`size`), most first.
    pub groups: Vec<GroupCoverDto>,
    /// The names of those tenants, sorted: only when there are at most 5,
    /// or with `include=tenants`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tenants: Option<Vec<String>>,
    /// What is in force for the tenant asked for with `tenant=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub in_force: Option<InForceDto>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemParams {
    /// States, comma-separated, or `open` / `closed`: in force for the
    /// `tenant` asked for, else for some tenant in scope.
    pub state: Option<String>,
    /// Only items assigned to this owner (`me`: the caller), for the
    /// `tenant` asked for, else for some tenant in scope.
    pub assignee: Option<String>,
    /// Only items whose post this tenant sees; states, assignee and due
    /// dates are then this tenant's (each row says so in `in_force`).
    pub tenant: Option<String>,
    /// Only items flagged (or not) as changed since triage.
    pub changed: Option<bool>,
    /// Only items due before this instant (RFC 3339).
    pub due_before: Option<String>,
    /// At most this many (default 500, at most 5,000; as CSV default and at
    /// most 10,000).
    pub limit: Option<i64>,
    /// Comma-separated: `tenants` names every tenant of each item's post
    /// in `tenants`, not only when there are at most 5; `exceptions` lists
    /// each item's tenant exceptions.
    pub include: Option<String>,
    /// `json` (default) or `csv` (as `Accept: text/csv`): a row per item
    /// with its decision and the reason given for it.
    pub format: Option<String>,
}

/// What a list's `include` asks for: (every tenant's name, the exceptions).
pub(crate) fn item_includes(value: Option<&str>) -> ApiResult<(bool, bool)> {
    let [tenants, exceptions] = super::posts::includes(value, ["tenants", "exceptions"])?;
    Ok((tenants, exceptions))
}

/// Work item states from a comma-separated list of states, `open` and
/// `closed`; a bad one is refused naming the parameter `name`.
pub(crate) fn states(name: &str, s: &Option<String>) -> ApiResult<Vec<ItemState>> {
    let mut out = Vec::new();
    for part in s
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match part.to_ascii_lowercase().as_str() {
            "open" => out.extend([ItemState::New, ItemState::Triaged, ItemState::InProgress]),
            "closed" => out.extend([ItemState::Done, ItemState::Dismissed]),
            other => out.push(
                other
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?,
            ),
        }
    }
    Ok(out)
}

/// Lists work items, soonest due first. As CSV (`format=csv`, or `Accept:
/// text/csv`): a row per item with what is in force (for `tenant`, else
/// the item's own), its decision and the reason given for it (at most
/// 10,000: a cut list says so in `X-Changedesk-Truncated`).
#[utoipa::path(get, path = "/api/v1/items", tag = "items", params(ItemParams),
    responses((status = 200, content((Vec<ItemRowDto> = "application/json"), (String = "text/csv")),
            headers(("x-changedesk-truncated" = String,
                description = "CSV only, when the list was cut (at `limit`, at most 10,000 rows): the rows it holds."))),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Query(p): Query<ItemParams>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (names, exceptions) = item_includes(p.include.as_deref())?;
    if super::posts::wants_csv(p.format.as_deref(), &headers)? {
        let csv = match filter(&caller, &p)? {
            Some(mut f) => {
                let most = p
                    .limit
                    .unwrap_or(export::MAX_ROWS as i64)
                    .clamp(1, export::MAX_ROWS as i64);
                f.limit = Some(most);
                items_csv(&state, &caller, f, p.tenant.as_deref()).await?
            }
            None => Csv::new(export::ITEM_HEADERS, Vec::new(), false)?,
        };
        return Ok(super::posts::csv_answer(csv, "items", state.now()));
    }
    let rows = match filter(&caller, &p)? {
        Some(f) => rows(&state, &caller, &f).await?,
        None => Vec::new(),
    };
    let groups = Groups::load(&state, &caller).await?;
    let out = rows
        .into_iter()
        .map(|r| {
            let item = ItemDto::new(
                &r.stored.item,
                r.stored.version,
                &caller,
                &r.tenants,
                exceptions,
            );
            let cover = groups.row(r.tenants, names);
            ItemRowDto {
                in_force: p
                    .tenant
                    .as_deref()
                    .map(|t| InForceDto::new(&r.stored.item, t)),
                item,
                title: r.title,
                services: r.services,
                act_by: ts_opt(&r.act_by),
                tenant_count: cover.count,
                groups: cover.groups,
                tenants: cover.names,
            }
        })
        .collect::<Vec<_>>();
    let mut resp = axum::Json(out).into_response();
    super::posts::varies_by_accept(&mut resp);
    Ok(resp)
}

/// The work items of `filter` (from [`filter`]; at most its `limit`, else
/// [`export::MAX_ROWS`]) as CSV, each with what is in force for `tenant`
/// (else the item's own), its decision and the reason given, and the
/// tenants in the caller's scope that see its post (named when few, else
/// counted with their groups). A list longer than asked says it was cut.
pub(crate) async fn items_csv(
    state: &AppState,
    caller: &Caller,
    mut filter: ItemFilter,
    tenant: Option<&str>,
) -> ApiResult<Csv> {
    let tenant = tenant
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    let tenant = tenant.as_deref();
    let most = filter
        .limit
        .map_or(export::MAX_ROWS, |l| usize::try_from(l).unwrap_or(0))
        .min(export::MAX_ROWS);
    // one more says whether the list goes on
    filter.limit = Some(i64::try_from(most).unwrap_or(i64::MAX).saturating_add(1));
    let groups = Groups::load(state, caller).await?;
    // without groups to show, a row's tenants are counted beyond a few (as
    // the items page's cards)
    filter.names_for_exceptions_only = groups.is_empty();
    let mut rows = rows(state, caller, &filter).await?;
    let more = rows.len() > most;
    rows.truncate(most);
    let reasons =
        export::decision_reasons(&state.store, rows.iter().map(|r| &r.stored.item), tenant).await?;
    let now = state.now();
    let records = rows
        .iter()
        .map(|r| {
            let item = &r.stored.item;
            let in_force = tenant.map(|t| item.for_tenant(t));
            let cover = groups.item_row(r);
            export::item_record(
                r,
                in_force.as_ref().unwrap_or(item),
                &export::ItemContext {
                    tenant,
                    applicable: tenant.map(|t| item.applies_to(t)),
                    tenants: match cover.names {
                        Some(names) => export::list(&names),
                        None => cover.describe(),
                    },
                    reason: reasons.get(&item.message_id).map(String::as_str),
                    now,
                },
            )
        })
        .collect();
    Csv::new(export::ITEM_HEADERS, records, more)
}

/// The store's filter of the work items `p` asks for that `caller` may
/// see (the API's list and the web UI's item pages), at most `p.limit`
/// (default 500); `None` when none can be (a tenant out of scope). A
/// tenant-limited caller's items are those whose post one of their tenants
/// sees now, and each row then names only those tenants.
pub(crate) fn filter(caller: &Caller, p: &ItemParams) -> ApiResult<Option<ItemFilter>> {
    if let Some(t) = &p.tenant
        && !caller.sees(t)
    {
        return Ok(None);
    }
    Ok(Some(ItemFilter {
        states: states("state", &p.state)?,
        assignee: p.assignee.as_deref().map(|a| {
            if a.eq_ignore_ascii_case("me") {
                caller.name.clone()
            } else {
                a.to_string()
            }
        }),
        tenant: p.tenant.clone(),
        changed: p.changed,
        due_before: p
            .due_before
            .as_deref()
            .map(|s| {
                changedesk_core::Timestamp::parse(s)
                    .map_err(|e| ApiError::bad_request(format!("due_before: {e}")))
            })
            .transpose()?,
        visible_to: caller
            .tenants
            .names()
            .map(|names| names.iter().cloned().collect()),
        limit: Some(p.limit.unwrap_or(500).clamp(1, 5000)),
        ..Default::default()
    }))
}

/// The work items of `filter` (from [`filter`]), each with the tenants in
/// the caller's scope that see its post now.
pub(crate) async fn rows(
    state: &AppState,
    caller: &Caller,
    filter: &ItemFilter,
) -> ApiResult<Vec<changedesk_store::ItemRow>> {
    let mut rows = state.store.work_items(filter).await?;
    if !caller.unrestricted() {
        // the store named only these already (`visible_to`)
        for r in &mut rows {
            r.tenants.retain(|t| caller.sees(t));
        }
    }
    Ok(rows)
}

/// A decision log entry.
#[derive(Serialize, ToSchema)]
pub struct LogEntryDto {
    pub at: String,
    /// `rules`, `system`, or the person's name.
    pub actor: String,
    pub action: String,
    pub field: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
    pub reason: Option<String>,
    /// The tenant the entry is about, if only one.
    pub tenant: Option<String>,
}

impl From<&LogEntry> for LogEntryDto {
    fn from(e: &LogEntry) -> LogEntryDto {
        LogEntryDto {
            at: ts(&e.at),
            actor: e.actor.as_str().to_string(),
            action: e.action.as_str().to_string(),
            field: e.field.clone(),
            old: e.old.clone(),
            new: e.new.clone(),
            reason: e.reason.clone(),
            tenant: match &e.scope {
                LogScope::Post => None,
                LogScope::Tenant(t) => Some(t.clone()),
            },
        }
    }
}

/// A work item with its decision log.
#[derive(Serialize, ToSchema)]
pub struct ItemDetailDto {
    #[serde(flatten)]
    pub item: ItemDto,
    /// The newest `log_limit` entries the caller may see, oldest first.
    pub log: Vec<LogEntryDto>,
    /// How many log entries the caller may see in all.
    pub log_count: usize,
    /// The actions the caller may take now.
    pub allowed_actions: Vec<String>,
    /// Whether the caller's actions are for some tenants only (theirs, or
    /// those assigned to them), never the shared item.
    pub for_tenants_only: bool,
    /// After an action for several tenants: those it left as they were,
    /// and why (e.g. closed there already).
    pub skipped: Vec<SkippedDto>,
}

/// A tenant an action left as it was, and why.
#[derive(Serialize, ToSchema)]
pub struct SkippedDto {
    pub tenant: String,
    pub reason: String,
}

pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<changedesk_store::StoredItem> {
    // the post must be in the caller's scope: otherwise it does not exist
    state.store.post_in_scope(id, &scope_of(caller)).await?;
    state.store.work_item(id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "{id} has no work item yet (the rules create it at the next sync)"
        ))
    })
}

/// Whom an action is for: every tenant (the shared item), or some.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ActFor {
    /// The shared item (for a tenant-limited caller on a post other
    /// tenants see: their tenants).
    #[default]
    All,
    /// These tenants (each must see the post and be in scope).
    Tenants(Vec<String>),
    /// The tenants of this group that see the post (in scope).
    Group(String),
}

/// Who may act how on an item: the tenants an action is for (`None`: the
/// shared item), and what the caller may not do.
pub(crate) struct Reach {
    /// The tenants in the caller's scope that see the post now, sorted.
    pub(crate) mine: Vec<String>,
    /// How many tenants outside the caller's limit see the post.
    pub(crate) outside: usize,
}

pub(crate) async fn reach(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Reach> {
    let all = state.store.post_tenant_names(id).await?;
    let total = all.len();
    let mine: Vec<String> = all.into_iter().filter(|t| caller.sees(t)).collect();
    Ok(Reach {
        outside: total - mine.len(),
        mine,
    })
}

/// The tenants of `reach` where `caller` is the assignee in force (an
/// owner acts on those only).
fn assigned_to(item: &WorkItem, caller: &Caller, reach: &Reach) -> Vec<String> {
    reach
        .mine
        .iter()
        .filter(|t| {
            item.assignee_for(t)
                .is_some_and(|a| a.eq_ignore_ascii_case(&caller.name))
        })
        .cloned()
        .collect()
}

/// The tenants `caller` acts for on `item` unasked (`None`: the shared
/// item): their own when other tenants see the post too, and for an owner
/// who is not the item's assignee, those assigned to them (as [`act`]
/// decides it).
fn acts_for(item: &WorkItem, caller: &Caller, reach: &Reach) -> Option<Vec<String>> {
    if !caller.may_act_on(item.assignee.as_deref()) {
        // a reader acts for nobody, whatever is assigned to their name
        Some(if caller.may_act_on(Some(&caller.name)) {
            assigned_to(item, caller, reach)
        } else {
            Vec::new()
        })
    } else if reach.outside > 0 {
        Some(reach.mine.clone())
    } else {
        None
    }
}

/// The actions `caller` may take on `item` now: the shared item's, or those
/// allowed in the states in force for the tenants it acts for.
fn allowed_for(item: &WorkItem, caller: &Caller, reach: &Reach) -> Vec<String> {
    let Some(tenants) = acts_for(item, caller, reach) else {
        return changedesk_core::triage::allowed_actions(item.state)
            .iter()
            .map(|a| a.as_str().to_string())
            .collect();
    };
    let mut out: Vec<String> = Vec::new();
    for t in &tenants {
        for a in changedesk_core::triage::allowed_actions(item.state_for(t)) {
            if !out.iter().any(|o| o == a.as_str()) {
                out.push(a.as_str().to_string());
            }
        }
    }
    out
}

/// How much of an item's exceptions and log its answer holds: an item
/// decided per tenant for hundreds of tenants has hundreds of each.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ItemDetailParams {
    /// Exceptions to skip (by tenant name).
    pub exceptions_offset: usize,
    /// At most this many exceptions (default 50, at most 1000);
    /// `exception_count` says how many there are.
    pub exceptions_limit: usize,
    /// The newest this many log entries (default 100, at most 10000), in
    /// order; `log_count` says how many there are.
    pub log_limit: usize,
}

impl Default for ItemDetailParams {
    fn default() -> Self {
        ItemDetailParams {
            exceptions_offset: 0,
            exceptions_limit: 50,
            log_limit: 100,
        }
    }
}

pub(crate) async fn detail(
    state: &AppState,
    caller: &Caller,
    id: &str,
    params: &ItemDetailParams,
) -> ApiResult<ItemDetailDto> {
    let stored = load(state, caller, id).await?;
    let mut log: Vec<LogEntryDto> = state
        .store
        .work_item_log(id)
        .await?
        .iter()
        .filter(|l| match &l.entry.scope {
            LogScope::Post => true,
            LogScope::Tenant(t) => caller.sees(t),
        })
        .map(|l| LogEntryDto::from(&l.entry))
        .collect();
    let log_count = log.len();
    log.drain(..log_count.saturating_sub(params.log_limit));
    let reach = reach(state, caller, id).await?;
    let allowed_actions = allowed_for(&stored.item, caller, &reach);
    let mut item = ItemDto::new(&stored.item, stored.version, caller, &reach.mine, true);
    if let Some(all) = item.overrides.take() {
        item.overrides = Some(
            all.into_iter()
                .skip(params.exceptions_offset)
                .take(params.exceptions_limit)
                .collect(),
        );
    }
    Ok(ItemDetailDto {
        item,
        for_tenants_only: !allowed_actions.is_empty()
            && acts_for(&stored.item, caller, &reach).is_some(),
        log,
        log_count,
        allowed_actions,
        skipped: Vec::new(),
    })
}

/// One work item with its decision log (the exceptions and the log a page
/// at a time).
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "items",
    params(("id" = String, Path, description = "The post's Message Center id"), ItemDetailParams),
    responses((status = 200, body = ItemDetailDto), (status = 404, body = Problem), (status = 401, body = Problem)))]
async fn get_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    axum::extract::Query(params): axum::extract::Query<ItemDetailParams>,
) -> ApiResult<axum::Json<ItemDetailDto>> {
    let params = ItemDetailParams {
        exceptions_offset: params.exceptions_offset,
        exceptions_limit: params.exceptions_limit.clamp(1, 1000),
        log_limit: params.log_limit.clamp(1, 10_000),
    };
    Ok(axum::Json(detail(&state, &caller, &id, &params).await?))
}

/// An action on a work item: `action` names it, and the other properties are
/// its arguments (the OpenAPI document gives one schema per action, its
/// enums taken from the server's own, see [`action_schema`]).
#[derive(Deserialize)]
pub struct ActionRequest {
    /// The `version` the caller last saw: the action is refused (409) if
    /// someone changed the item since. Omit to act on whatever is current.
    pub version: Option<i64>,
    /// Act for these tenants only (their own state, assignee or due date).
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    /// Act for the tenants of this group that see the post.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

impl ActionRequest {
    /// Whom the request acts for.
    pub(crate) fn act_for(&self) -> ApiResult<ActFor> {
        match (&self.tenants, &self.group) {
            (Some(_), Some(_)) => Err(ApiError::bad_request("give `tenants` or `group`, not both")),
            (Some(t), None) if t.is_empty() => Err(ApiError::bad_request(
                "tenants: name at least one tenant (or leave it out to act for every tenant)",
            )),
            (Some(t), None) => Ok(ActFor::Tenants(t.clone())),
            (None, Some(g)) => Ok(ActFor::Group(g.clone())),
            (None, None) => Ok(ActFor::All),
        }
    }
}

/// The type of one argument of an action.
#[derive(Clone, Copy)]
enum Arg {
    Text,
    OptionalText,
    Bool,
    OptionalBool,
    OptionalInstant,
    Priority,
    Decision,
    FeedbackKind,
    PilotRecommendation,
}

/// An action: its name, what it does, and its arguments (name, type,
/// required).
type ActionDoc = (
    &'static str,
    &'static str,
    &'static [(&'static str, Arg, bool)],
);

/// Every action the server accepts, with its arguments: the schema is made
/// from this table and the core enums, and a test posts each to the server.
const ACTIONS: &[ActionDoc] = &[
    (
        "assign",
        "Assigns the item to an owner that exists, or unassigns it (`owner`: null).",
        &[("owner", Arg::OptionalText, false)],
    ),
    (
        "set_priority",
        "Sets the priority.",
        &[("priority", Arg::Priority, true)],
    ),
    (
        "set_due",
        "Sets (RFC 3339) or clears (null) the due date.",
        &[("due", Arg::OptionalInstant, false)],
    ),
    ("add_label", "Adds a label.", &[("label", Arg::Text, true)]),
    (
        "remove_label",
        "Removes a label.",
        &[("label", Arg::Text, true)],
    ),
    (
        "require_change_request",
        "Marks whether the change needs a change request.",
        &[("required", Arg::Bool, true)],
    ),
    (
        "require_communication",
        "Marks whether the change needs to be communicated.",
        &[("required", Arg::Bool, true)],
    ),
    ("triage", "Finds the item relevant: new → triaged.", &[]),
    (
        "dismiss",
        "Finds the item not relevant: new or triaged → dismissed.",
        &[("reason", Arg::Text, true)],
    ),
    ("start", "Starts work: → in_progress.", &[]),
    (
        "close",
        "Closes the item with a decision: → done.",
        &[
            ("decision", Arg::Decision, true),
            ("reason", Arg::OptionalText, false),
        ],
    ),
    (
        "reopen",
        "Reopens a closed item.",
        &[("reason", Arg::Text, true)],
    ),
    (
        "comment",
        "Adds a comment to the log.",
        &[("text", Arg::Text, true)],
    ),
    (
        "set_override",
        "Sets a tenant's override to exactly these values (null: not overridden).",
        &[
            ("tenant", Arg::Text, true),
            ("applicable", Arg::OptionalBool, false),
            ("assignee", Arg::OptionalText, false),
            ("due", Arg::OptionalInstant, false),
            ("note", Arg::OptionalText, false),
        ],
    ),
    (
        "acknowledge",
        "Acknowledges the post's changes since triage, clearing the flag.",
        &[],
    ),
    (
        "record_pilot_finding",
        "Records a pilot group's finding about the change after trying it in its preview or targeted release: its \
         recommendation and what it found (at most 4,000 characters); it counts for the maturity level.",
        &[
            ("pilot_group", Arg::Text, true),
            ("recommendation", Arg::PilotRecommendation, true),
            ("text", Arg::OptionalText, false),
        ],
    ),
    (
        "record_feedback",
        "Records feedback given to Microsoft about the change (a thumbs-down, a Feedback portal item, a support \
         case, the account team), with its reference (at most 300 characters); it counts for the maturity level.",
        &[
            ("kind", Arg::FeedbackKind, true),
            ("reference", Arg::OptionalText, false),
        ],
    ),
];

/// The actions that can be for some tenants only (core's
/// `Action::per_tenant`; a test checks they agree).
const PER_TENANT: &[&str] = &[
    "assign", "set_due", "triage", "dismiss", "start", "close", "reopen", "comment",
];

/// `ActionRequest`'s schema: one object per action (`oneOf`), each with
/// `action` fixed to its name, `version`, and its typed arguments; the
/// decisions and priorities are the core enums' own names.
fn action_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let nullable = |t: Type| {
        ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            t,
            Type::Null,
        ]))
    };
    let mut one_of = OneOfBuilder::new();
    for (name, description, args) in ACTIONS {
        let mut o = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(*description))
            .property("action", string().enum_values(Some([*name])))
            .required("action")
            .property(
                "version",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .description(Some(
                        "The version last seen: refused (409) if the item changed since.",
                    )),
            );
        if PER_TENANT.contains(name) {
            o = o
                .property(
                    "tenants",
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(string())
                        .description(Some(
                            "Act for these tenants only (their own state, assignee or due date).",
                        )),
                )
                .property(
                    "group",
                    string()
                        .description(Some("Act for the tenants of this group that see the post.")),
                );
        }
        for (arg, kind, required) in *args {
            let s = match kind {
                Arg::Text => string(),
                Arg::OptionalText => nullable(Type::String),
                Arg::Bool => ObjectBuilder::new().schema_type(Type::Boolean),
                Arg::OptionalBool => nullable(Type::Boolean),
                Arg::OptionalInstant => nullable(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
                Arg::Priority => string().enum_values(Some(
                    changedesk_core::triage::Priority::NAMES.iter().copied(),
                )),
                Arg::Decision => string().enum_values(Some(
                    changedesk_core::triage::Decision::NAMES.iter().copied(),
                )),
                Arg::FeedbackKind => string().enum_values(Some(
                    changedesk_core::triage::FeedbackKind::NAMES.iter().copied(),
                )),
                Arg::PilotRecommendation => string().enum_values(Some(
                    changedesk_core::triage::PilotRecommendation::NAMES
                        .iter()
                        .copied(),
                )),
            };
            o = o.property(*arg, s);
            if *required {
                o = o.required(*arg);
            }
        }
        one_of = one_of.item(o);
    }
    one_of
        .description(Some(
            "An action on a work item: `action` names it, the other properties are its arguments.",
        ))
        .into()
}

impl utoipa::PartialSchema for ActionRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        action_schema()
    }
}

impl ToSchema for ActionRequest {}

/// Acts on a work item: a triage decision, an assignment, a comment…
#[utoipa::path(post, path = "/api/v1/items/{id}/actions", tag = "items",
    params(("id" = String, Path)), request_body = ActionRequest,
    responses((status = 200, body = ItemDetailDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "Changed by someone else, or not allowed in this state", body = Problem)))]
async fn act_on_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<ActionRequest>,
) -> ApiResult<axum::Json<ItemDetailDto>> {
    let act_for = req.act_for()?;
    let skipped = act(&state, &caller, &id, req.version, req.action, &act_for).await?;
    let mut out = detail(&state, &caller, &id, &ItemDetailParams::default()).await?;
    out.skipped = skipped;
    Ok(axum::Json(out))
}

/// Acts on the work item of post `id` for `caller` (the API's and the web
/// UI's forms' one way to change an item): checks who may act, for which
/// tenants, the tenant of an override and the optimistic `version`, then
/// saves the transition. Returns the tenants an action for several left
/// as they were.
///
/// For some tenants (`act_for`), the action moves their own state: each
/// must see the post and be in the caller's scope. A tenant-limited caller
/// on a post that tenants outside their limit see acts for their own
/// tenants only (the shared item is theirs too); an owner who is not the
/// item's assignee acts for the tenants assigned to them.
pub(crate) async fn act(
    state: &AppState,
    caller: &Caller,
    id: &str,
    version: Option<i64>,
    action: Action,
    act_for: &ActFor,
) -> ApiResult<Vec<SkippedDto>> {
    let stored = load(state, caller, id).await?;
    let reach = reach(state, caller, id).await?;
    // the tenants asked for: each in scope and seeing the post
    let mut tenants: Option<Vec<String>> = match act_for {
        ActFor::All => None,
        ActFor::Tenants(names) => {
            let mut out = Vec::new();
            for n in names {
                let n = n.trim().to_ascii_lowercase();
                if !reach.mine.contains(&n) {
                    return Err(ApiError::not_found(format!(
                        "tenant `{}` does not see {id}",
                        changedesk_core::text::clip_chars(&n, 80)
                    )));
                }
                out.push(n);
            }
            Some(out)
        }
        ActFor::Group(g) => {
            let groups = state.store.groups().await?;
            let group = changedesk_core::triage::find_group(&groups, g)
                .filter(|g| reach.mine.iter().any(|t| g.contains(t)) || caller.unrestricted())
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "tenant group `{}` not found",
                        changedesk_core::text::clip_chars(g, 80)
                    ))
                })?;
            let members: Vec<String> = reach
                .mine
                .iter()
                .filter(|t| group.contains(t))
                .cloned()
                .collect();
            if members.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "no tenant of group `{}` sees {id}",
                    group.name
                )));
            }
            Some(members)
        }
    };
    if tenants.is_some() && !action.per_tenant() {
        return Err(ApiError::bad_request(format!(
            "`{}` concerns the whole post, not some tenants: leave out `tenants` and `group`",
            action.kind().as_str()
        )));
    }
    // the shared item concerns every tenant that sees the post: a caller
    // limited to some of them acts for theirs only
    if tenants.is_none() && reach.outside > 0 && !matches!(action, Action::SetOverride { .. }) {
        if !action.per_tenant() {
            return Err(ApiError::forbidden(format!(
                "{id}'s work item is shared with {} tenant{} outside your tenant limit, and `{}` concerns the \
                 whole post: ask a user without a tenant limit",
                reach.outside,
                if reach.outside == 1 { "" } else { "s" },
                action.kind().as_str()
            )));
        }
        tenants = Some(reach.mine.clone());
    }
    // an owner acts on their items: the shared item when it is theirs,
    // else the tenants assigned to them
    if !caller.may_act_on(stored.item.assignee.as_deref()) {
        let theirs = if caller.may_act_on(Some(&caller.name)) {
            assigned_to(&stored.item, caller, &reach)
        } else {
            Vec::new()
        };
        if theirs.is_empty() || !action.per_tenant() {
            caller.require(Need::TriageAny)?;
            return Err(ApiError::forbidden(format!(
                "{} may act only on the items assigned to them",
                caller.name
            )));
        }
        tenants = match (tenants, act_for) {
            (None, _) => Some(theirs),
            // asked for: every one must be theirs
            (Some(asked), ActFor::Tenants(_) | ActFor::Group(_)) => {
                if let Some(other) = asked.iter().find(|t| !theirs.contains(t)) {
                    return Err(ApiError::forbidden(format!(
                        "{} may act only on the items assigned to them ({id} is not theirs for `{other}`)",
                        caller.name
                    )));
                }
                Some(asked)
            }
            // a limited caller's own tenants: those assigned to them
            (Some(mine), ActFor::All) => {
                Some(mine.into_iter().filter(|t| theirs.contains(t)).collect())
            }
        };
    }
    if let Action::SetOverride { tenant, .. } = &action {
        // a tenant the caller sees, and one that exists (a typo must not
        // store an override nobody will ever see)
        let exists = caller.sees(tenant)
            && state
                .known_tenants()
                .await?
                .iter()
                .any(|t| t.eq_ignore_ascii_case(tenant.trim()));
        if !exists {
            return Err(ApiError::not_found(format!("tenant `{tenant}` not found")));
        }
    }
    // an item is assigned only to an owner that exists (as the CLI checks)
    let owner = match &action {
        Action::Assign { owner } => owner.as_deref(),
        Action::SetOverride { assignee, .. } => assignee.as_deref(),
        _ => None,
    };
    if let Some(owner) = owner {
        let owners = state.store.owners().await?;
        if !owners.iter().any(|o| o.is_named(owner)) {
            return Err(ApiError::bad_request(format!(
                "no owner is named `{}`; add it first (owners: {})",
                changedesk_core::text::clip_chars(owner, 80),
                owners
                    .iter()
                    .take(20)
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    // a pilot finding is a known pilot group's
    if let Action::RecordPilotFinding {
        pilot_group: group, ..
    } = &action
    {
        let groups = state.store.pilot_groups().await?;
        if !groups
            .iter()
            .any(|g| g.name.eq_ignore_ascii_case(group.trim()))
        {
            return Err(ApiError::bad_request(format!(
                "there is no pilot group `{}`",
                changedesk_core::text::clip_chars(group, 80)
            )));
        }
    }
    if let Some(v) = version
        && v != stored.version
    {
        return Err(ApiError::conflict(format!(
            "{id} was changed since version {v} (it is at version {}); reload and try again",
            stored.version
        )));
    }
    let now = state.now();
    let actor = Actor::Person(caller.name.clone());
    let (t, skipped) = match &tenants {
        None => (
            transition(&stored.item, action, &actor, now)
                .map_err(|e| ApiError::conflict(e.to_string()))?,
            Vec::new(),
        ),
        Some(names) => {
            let t = transition_for_tenants(&stored.item, action, names, &actor, now)
                .map_err(|e| ApiError::conflict(e.to_string()))?;
            let skipped = t
                .skipped
                .into_iter()
                .map(|(tenant, e)| SkippedDto {
                    tenant,
                    reason: e.to_string(),
                })
                .collect();
            (t.transition, skipped)
        }
    };
    if !t.entries.is_empty() {
        let save = ItemSave {
            item: &t.item,
            expected_version: Some(stored.version),
            evaluated_revision: None,
            entries: &t.entries,
            notify: &[],
            events: &[],
            at: now,
        };
        match state.store.save_work_item(&save).await {
            Ok(_) => {}
            Err(StoreError::Conflict(m)) => return Err(ApiError::conflict(m)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_tenant_actions_are_the_cores() {
        for (name, _, args) in ACTIONS {
            let mut v = serde_json::json!({ "action": name });
            for (arg, kind, _) in *args {
                v[*arg] = match kind {
                    Arg::Text | Arg::OptionalText => "alpha".into(),
                    Arg::Bool | Arg::OptionalBool => true.into(),
                    Arg::OptionalInstant => "2026-12-01T00:00:00Z".into(),
                    Arg::Priority => "high".into(),
                    Arg::Decision => "actioned".into(),
                    Arg::FeedbackKind => "support_case".into(),
                    Arg::PilotRecommendation => "delay".into(),
                };
            }
            let action: Action = serde_json::from_value(v).unwrap();
            assert_eq!(action.per_tenant(), PER_TENANT.contains(name), "{name}");
        }
    }
}
