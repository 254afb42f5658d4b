//! Message Center posts: search and list, facets, detail, revisions, diff.
//! Everything is limited to the caller's tenants: a post no tenant in scope
//! sees is "not found", and a post seen by several tenants shows only those
//! in scope.

use axum::extract::State;
use changedesk_store::{Deadline, DeadlineFilter, ItemAssignee, PostQuery, PostSort, TenantScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::export;
use crate::http::auth::Caller;
use crate::http::dto::{
    FieldChangeDto, PostSummaryDto, RevisionDto, SnippetPartDto, TenantLinkDto, TimelineDto,
};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Path, Query};
use crate::http::tenant_cover::{self, GroupCoverDto, Groups, TenantPageParams};
use crate::http::{AppState, cache};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_posts))
        .routes(routes!(post_facets))
        .routes(routes!(get_post))
        .routes(routes!(get_revision))
        .routes(routes!(diff_revisions))
}

/// The caller's tenants as the store's scope.
pub fn scope_of(caller: &Caller) -> TenantScope {
    match caller.tenants.names() {
        None => TenantScope::All,
        Some(names) => TenantScope::Only(names.iter().cloned().collect()),
    }
}

/// The post `id` (a Message Center id: letters and digits, at most 40;
/// anything else names no post) as `scope` sees it, with its preview and
/// timeline; `None` outside the scope.
pub(crate) async fn hit(
    store: &changedesk_store::Store,
    scope: TenantScope,
    id: &str,
) -> Result<Option<changedesk_store::PostHit>, changedesk_store::StoreError> {
    let id = id.trim();
    if id.is_empty() || id.chars().count() > 40 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let mut q = changedesk_store::PostQuery::new(scope);
    q.q = Some(format!("id:{id}"));
    q.limit = 1;
    Ok(store
        .query_posts(&q)
        .await?
        .items
        .into_iter()
        .find(|h| h.summary.id.eq_ignore_ascii_case(id)))
}

/// Filters, search, sorting and paging of the post list.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostParams {
    /// Search: words, "phrases", -excluded, and service:, tag:, category:,
    /// severity:, tenant:, id: fields.
    pub q: Option<String>,
    /// Only posts this tenant sees.
    pub tenant: Option<String>,
    /// Any of these services (comma-separated).
    pub service: Option<String>,
    /// Any of these tags (comma-separated).
    pub tag: Option<String>,
    /// `planForChange`, `preventOrFixIssue` or `stayInformed`.
    pub category: Option<String>,
    /// `normal`, `high` or `critical`.
    pub severity: Option<String>,
    pub major: Option<bool>,
    /// `active` or `expired`.
    pub state: Option<String>,
    /// Act-by on or after (RFC 3339).
    pub act_by_from: Option<String>,
    /// Act-by on or before (RFC 3339).
    pub act_by_to: Option<String>,
    /// Changed (lastModifiedDateTime) on or after (RFC 3339).
    pub changed_since: Option<String>,
    /// Only posts whose work item is in one of these states
    /// (comma-separated: `new`, `triaged`, `in_progress`, `done`,
    /// `dismissed`, or `open` / `closed`). Like every work-item filter, it
    /// leaves out posts without a work item (not evaluated by the rules yet).
    pub item_state: Option<String>,
    /// Only posts whose work item is assigned to this owner (`me`: the
    /// caller; `none`: to nobody).
    pub assignee: Option<String>,
    /// Only posts whose work item is (`true`) or is not (`false`) changed
    /// since triage: open, and its post changed since someone last looked.
    pub changed: Option<bool>,
    /// `overdue` (an open item past its due date, not missed) or `missed`
    /// (an open item whose post's decision deadline has passed: its act-by
    /// date, else its rollout start, each only when after changedesk first
    /// saw the post).
    pub deadline: Option<String>,
    /// Only posts of this tenant group's tenants (within the caller's; a
    /// group unknown, or without a tenant the caller sees, is refused).
    pub tenant_group: Option<String>,
    /// `newest` (default), `oldest`, `act_by`, `title` or `relevance`.
    pub sort: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The list's own parameters, read apart from [`PostParams`] (which the
/// facets share).
const INCLUDE_TOTAL: &str = "include_total";
const INCLUDE: &str = "include";
const FORMAT: &str = "format";

/// Whether a web UI list's page is asked as a CSV file (`format=csv`), or
/// as the page (nothing, or `html`); anything else is refused.
pub(crate) fn page_as_csv(format: &str) -> ApiResult<bool> {
    match format.trim() {
        "" | "html" => Ok(false),
        "csv" => Ok(true),
        other => Err(ApiError::bad_request(format!(
            "format `{}` is not html or csv",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

/// Whether a list is asked as CSV: `format=csv` (`json`, the default,
/// answers JSON whatever `Accept` says), else an `Accept` naming
/// `text/csv` (the API's lists; one answer of the web UI's lists).
pub(crate) fn wants_csv(format: Option<&str>, headers: &axum::http::HeaderMap) -> ApiResult<bool> {
    match format.map(str::trim) {
        Some(f) if f.eq_ignore_ascii_case("csv") => return Ok(true),
        Some(f) if f.eq_ignore_ascii_case("json") => return Ok(false),
        Some("") | None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "{FORMAT}: `{}` is not json or csv",
                other.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            // `q=0` says "not this one"
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("text/csv") && !refused
        }))
}

/// `include=tenants`: a list names every tenant of each row, not only
/// when there are few.
pub(crate) fn include_tenants(value: Option<&str>) -> ApiResult<bool> {
    let [tenants] = includes(value, ["tenants"])?;
    Ok(tenants)
}

/// Which of `names` a comma-separated `include` asks for (in their order);
/// anything else is refused, naming what it may be.
pub(crate) fn includes<const N: usize>(
    value: Option<&str>,
    names: [&str; N],
) -> ApiResult<[bool; N]> {
    let parts: Vec<&str> = value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(other) = parts
        .iter()
        .find(|p| !names.iter().any(|n| p.eq_ignore_ascii_case(n)))
    {
        return Err(ApiError::bad_request(format!(
            "{INCLUDE}: `{}` is not {}",
            other.chars().take(40).collect::<String>(),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    Ok(names.map(|n| parts.iter().any(|p| p.eq_ignore_ascii_case(n))))
}

/// The post list's parameters: [`PostParams`], whether to count every
/// match (`include_total=true|false`), whether to name every tenant
/// (`include=tenants`) and the `format` asked for, if any.
fn list_params(uri: &axum::http::Uri) -> ApiResult<(PostParams, bool, bool, Option<String>)> {
    let mut include_total = false;
    let mut names = false;
    let mut format = None;
    let mut rest = Vec::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == INCLUDE {
            let one: axum::http::Uri = format!("/?{pair}")
                .parse()
                .map_err(|_| ApiError::bad_request("the query string is not valid"))?;
            let axum::extract::Query(decoded) =
                axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&one)?;
            for (_, value) in decoded {
                names |= include_tenants(Some(&value))?;
            }
            continue;
        }
        if key == FORMAT {
            format = Some(value.to_string());
            continue;
        }
        if key != INCLUDE_TOTAL {
            rest.push(pair);
            continue;
        }
        include_total = match value {
            "true" => true,
            "false" => false,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{INCLUDE_TOTAL}: `{value}` is not true or false"
                )));
            }
        };
    }
    let others: axum::http::Uri = format!("/?{}", rest.join("&"))
        .parse()
        .map_err(|_| ApiError::bad_request("the query string is not valid"))?;
    let axum::extract::Query(p) = axum::extract::Query::<PostParams>::try_from_uri(&others)?;
    Ok((p, include_total, names, format))
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn time_param(name: &str, v: &Option<String>) -> ApiResult<Option<changedesk_core::Timestamp>> {
    v.as_deref()
        .map(|s| {
            changedesk_core::Timestamp::parse(s)
                .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
        })
        .transpose()
}

/// The value of `assignee` that asks for work items assigned to nobody.
pub const UNASSIGNED: &str = "none";

/// The tenants of the group `name` (as the archive's tenants match its
/// patterns) that the caller sees, with the others the caller sees left
/// out: a scope never wider than the caller's. A group that does not
/// exist is a bad request; so is, for a caller limited to some tenants, a
/// group without any of them (the same answer, so a caller learns nothing
/// of groups outside their scope).
pub(crate) async fn group_scope(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> ApiResult<TenantScope> {
    let groups = state.store.groups().await?;
    let unknown = || {
        let shown: String = name.trim().chars().take(64).collect();
        ApiError::bad_request(if caller.unrestricted() {
            format!("there is no tenant group `{shown}`")
        } else {
            format!("no tenant group `{shown}` holds a tenant you may see")
        })
    };
    let group = changedesk_core::triage::find_group(&groups, name).ok_or_else(unknown)?;
    let members: Vec<String> = state
        .store
        .tenant_names()
        .await?
        .into_iter()
        .filter(|t| group.contains(t))
        .collect();
    let scope = scope_of(caller).narrowed_to(&members);
    if !caller.unrestricted() && scope == TenantScope::Only(Vec::new()) {
        return Err(unknown());
    }
    Ok(scope)
}

/// Per tenant group with a tenant the caller sees, how many posts match
/// `q` within the group's tenants that the caller sees (one query for
/// every group); groups without a match are left out, the others sorted
/// by count, most first, then name. `q` should be the caller's whole
/// scope (no group filter), so each count is what choosing that group
/// lists.
pub(crate) async fn group_counts(
    state: &AppState,
    caller: &Caller,
    q: &PostQuery,
) -> ApiResult<Vec<changedesk_store::FacetCount>> {
    let groups = state.store.groups().await?;
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let tenants = state.store.tenant_names().await?;
    let mut names = Vec::new();
    let mut within = Vec::new();
    for g in &groups {
        let members: Vec<String> = tenants
            .iter()
            .filter(|t| g.contains(t) && caller.sees(t))
            .cloned()
            .collect();
        // a group with no tenant in scope is not shown at all
        if !members.is_empty() {
            names.push(g.name.clone());
            within.push(members);
        }
    }
    let counts = state.store.count_posts_within(q, &within).await?;
    let mut out: Vec<changedesk_store::FacetCount> = names
        .into_iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(value, count)| changedesk_store::FacetCount { value, count })
        .collect();
    most_first(&mut out);
    Ok(out)
}

/// The store's query for the API's parameters, for `caller`: their scope
/// (narrowed to `tenant_group`'s tenants), `me` as their name, and the
/// server's clock for `deadline`.
pub(crate) async fn query(
    state: &AppState,
    p: &PostParams,
    caller: &Caller,
) -> ApiResult<PostQuery> {
    let sort = match p.sort.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("newest") => PostSort::Newest,
        Some("oldest") => PostSort::Oldest,
        Some("act_by") | Some("act-by") => PostSort::ActBy,
        Some("title") => PostSort::Title,
        Some("relevance") => PostSort::Relevance,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sort `{other}` is not one of newest, oldest, act_by, title, relevance"
            )));
        }
    };
    let post_state = p
        .state
        .as_deref()
        .map(|s| {
            changedesk_store::PostState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("state `{s}` is not one of active, expired"))
            })
        })
        .transpose()?;
    let item_states = super::items::states("item_state", &p.item_state)?;
    let assignee = p
        .assignee
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            if a.eq_ignore_ascii_case("me") {
                ItemAssignee::Owner(caller.name.clone())
            } else if a.eq_ignore_ascii_case(UNASSIGNED) {
                ItemAssignee::Unassigned
            } else {
                ItemAssignee::Owner(a.to_ascii_lowercase())
            }
        });
    let deadline = p
        .deadline
        .as_deref()
        .map(|d| {
            Deadline::parse(d)
                .map(|status| DeadlineFilter {
                    status,
                    now: state.now(),
                })
                .ok_or_else(|| {
                    ApiError::bad_request(format!("deadline `{d}` is not one of overdue, missed"))
                })
        })
        .transpose()?;
    let scope = match p.tenant_group.as_deref().map(str::trim) {
        None | Some("") => scope_of(caller),
        Some(group) => group_scope(state, caller, group).await?,
    };
    Ok(PostQuery {
        q: p.q.clone().filter(|q| !q.trim().is_empty()),
        tenant: p.tenant.clone(),
        services: list(&p.service),
        tags: list(&p.tag),
        category: p.category.clone(),
        severity: p.severity.clone(),
        major: p.major,
        state: post_state,
        act_by_from: time_param("act_by_from", &p.act_by_from)?,
        act_by_to: time_param("act_by_to", &p.act_by_to)?,
        changed_since: time_param("changed_since", &p.changed_since)?,
        item_states,
        assignee,
        changed_since_triage: p.changed,
        deadline,
        sort,
        cursor: p.cursor.clone(),
        limit: p.limit.unwrap_or(50),
        scope,
    })
}

/// A post in a list, with the tenants in scope that see or saw it: how
/// many, in which tenant groups, and their names when few (or asked for).
#[derive(Serialize, ToSchema)]
pub struct PostHitDto {
    #[serde(flatten)]
    pub post: PostSummaryDto,
    /// How many tenants in scope see or saw it (as `tenants_seen`).
    pub tenant_count: i64,
    /// The tenant groups holding some of those tenants: how many of them
    /// each holds (`count`) of its tenants in scope (`size`), most first.
    pub groups: Vec<GroupCoverDto>,
    /// The names of those tenants, sorted: only when there are at most 5,
    /// or with `include=tenants`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tenants: Option<Vec<String>>,
    /// With a search: the matching text, hits marked.
    pub snippet: Vec<SnippetPartDto>,
    /// Its work item's state (absent without a work item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_state: Option<String>,
    /// Its work item's assignee (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Its work item's priority (absent without a work item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Its work item's due date (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Its work item's labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PostPageDto {
    pub items: Vec<PostHitDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many posts match in all; only with `include_total=true`
    /// (counted for the first page, repeated from the cursor after it:
    /// counting reads every match, tens of milliseconds in a large archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// Lists and searches posts. As CSV (`format=csv`, or `Accept: text/csv`):
/// every match from the cursor on (at most 10,000: a cut list says so in
/// `X-Changedesk-Truncated`), a row per post with its work item, decision
/// and the reason given for it.
#[utoipa::path(get, path = "/api/v1/posts", tag = "posts",
    params(PostParams, ("include_total" = Option<bool>, Query,
        description = "Count every match for `total` (default false): counting reads all the matches, so ask \
                       on the first page; later pages repeat the count their cursor carries."),
        ("include" = Option<String>, Query,
        description = "`tenants`: name every tenant of each post in `tenants`, not only when there are at most 5."),
        ("format" = Option<String>, Query,
        description = "`json` (default) or `csv`: every match as CSV (as `Accept: text/csv`); `limit` is then the \
                       size of each read, not of the answer.")),
    responses((status = 200, content((PostPageDto = "application/json"), (String = "text/csv")),
            headers(("x-changedesk-truncated" = String,
                description = "CSV only, when the list was cut at 10,000 rows: the rows it holds."))),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list_posts(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    let (p, include_total, names, format) = list_params(&uri)?;
    if wants_csv(format.as_deref(), &headers)? {
        let q = query(&state, &p, &caller).await?;
        let csv = posts_csv(&state, &caller, q, p.tenant.as_deref()).await?;
        return Ok(csv_answer(csv, "posts", state.now()));
    }
    let depends = depends_on(&p);
    let make = {
        let (state, caller) = (state.clone(), caller.clone());
        move || async move { post_page(&state, &caller, &p, include_total, names).await }
    };
    let mut resp = cache::json(&state, &caller, &uri, depends, make).await?;
    varies_by_accept(&mut resp);
    Ok(resp)
}

/// Says that a list's answer depends on `Accept` (JSON, or CSV).
pub(crate) fn varies_by_accept(resp: &mut axum::response::Response) {
    resp.headers_mut().append(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("accept"),
    );
}

/// What a post list or its facets depend on besides the caller's rights and
/// the parameters: the time with a deadline filter, the caller's name with
/// `assignee=me` (`query` reads nothing else of the caller but the tenants).
fn depends_on(p: &PostParams) -> cache::DependsOn {
    cache::DependsOn {
        time: p.deadline.is_some(),
        caller: p
            .assignee
            .as_deref()
            .is_some_and(|a| a.trim().eq_ignore_ascii_case("me")),
    }
}

async fn post_page(
    state: &AppState,
    caller: &Caller,
    p: &PostParams,
    include_total: bool,
    names: bool,
) -> ApiResult<PostPageDto> {
    let q = query(state, p, caller).await?;
    let groups = Groups::load(state, caller).await?;
    let (items, next_cursor, total) = if include_total {
        let page = state.store.query_posts(&q).await?;
        (page.items, page.next_cursor, Some(page.total))
    } else {
        let page = state.store.list_posts(&q).await?;
        (page.items, page.next_cursor, None)
    };
    Ok(PostPageDto {
        items: items
            .into_iter()
            .map(|h| {
                let cover = groups.row(h.tenants, names);
                PostHitDto {
                    post: PostSummaryDto::from(&h.summary),
                    item_state: h.item.as_ref().map(|i| i.state.as_str().to_string()),
                    priority: h.item.as_ref().map(|i| i.priority.as_str().to_string()),
                    due: h
                        .item
                        .as_ref()
                        .and_then(|i| i.due.map(|d| d.to_canonical())),
                    labels: h
                        .item
                        .as_ref()
                        .map(|i| i.labels.clone())
                        .unwrap_or_default(),
                    assignee: h.item.and_then(|i| i.assignee),
                    tenant_count: cover.count,
                    groups: cover.groups,
                    tenants: cover.names,
                    snippet: h
                        .snippet
                        .into_iter()
                        .map(|s| SnippetPartDto {
                            text: s.text,
                            hit: s.hit,
                        })
                        .collect(),
                }
            })
            .collect(),
        next_cursor,
        total,
    })
}

/// A list written as CSV: its text, and how many rows it holds when it was
/// cut at [`export::MAX_ROWS`].
pub(crate) struct Csv {
    pub bytes: Vec<u8>,
    pub cut: Option<usize>,
}

impl Csv {
    /// `records` under `headers`; `cut` when there were more.
    pub(crate) fn new(headers: &[&str], records: Vec<Vec<String>>, more: bool) -> ApiResult<Csv> {
        let rows = records.len();
        Ok(Csv {
            bytes: export::write(headers, records).map_err(|e| ApiError::internal(&e))?,
            cut: more.then_some(rows),
        })
    }
}

/// The answer of a list as CSV: a download named for `what` and the day,
/// saying in its name and a header when the list was cut.
pub(crate) fn csv_answer(
    csv: Csv,
    what: &str,
    now: changedesk_core::Timestamp,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let name = export::file_name(what, now, csv.cut);
    let mut resp = csv.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export::CONTENT_TYPE),
    );
    // the name is ASCII made here (a fixed word and a date), never input
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.append(header::VARY, HeaderValue::from_static("accept"));
    if let Some(n) = csv.cut {
        h.insert(export::TRUNCATED_HEADER, HeaderValue::from(n));
    }
    resp
}

/// The posts of `q` as CSV, every page from its cursor on, at most
/// [`export::MAX_ROWS`]: each with its work item as in force for `tenant`
/// (else the item's own), its decision and the reason given, and the
/// tenants in the caller's scope that see or saw it (named when few, else
/// counted with their groups).
pub(crate) async fn posts_csv(
    state: &AppState,
    caller: &Caller,
    mut q: PostQuery,
    tenant: Option<&str>,
) -> ApiResult<Csv> {
    let tenant = tenant.map(str::trim).filter(|t| !t.is_empty());
    let groups = Groups::load(state, caller).await?;
    q.limit = 200;
    let mut records = Vec::new();
    let more = loop {
        let page = state.store.list_posts(&q).await?;
        let room = export::MAX_ROWS.saturating_sub(records.len());
        let cut = page.items.len() > room;
        let hits = page.items.get(..room).unwrap_or(&page.items);
        let summaries: Vec<&changedesk_store::PostSummary> =
            hits.iter().map(|h| &h.summary).collect();
        let rows = export::post_records(&state.store, &summaries, tenant).await?;
        for (mut record, h) in rows.into_iter().zip(hits) {
            let cover = groups.row(h.tenants.clone(), false);
            record.push(match cover.names {
                Some(names) => export::list(&names),
                None => cover.describe(),
            });
            records.push(record);
        }
        // a next cursor means there are more (the store reads one ahead)
        match page.next_cursor {
            _ if cut => break true,
            Some(_) if records.len() >= export::MAX_ROWS => break true,
            Some(c) => q.cursor = Some(c),
            None => break false,
        }
    };
    let mut headers = export::POST_HEADERS.to_vec();
    headers.push("tenants");
    Csv::new(&headers, records, more)
}

/// A value and how many posts have it.
#[derive(Serialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FacetsDto {
    pub service: Vec<FacetCount>,
    pub category: Vec<FacetCount>,
    pub severity: Vec<FacetCount>,
    pub tag: Vec<FacetCount>,
    /// Tenants with the matching posts each sees or saw; empty when
    /// `tenant_uncounted`.
    pub tenant: Vec<FacetCount>,
    /// More than 50 tenants are in the caller's scope, so the tenants are
    /// not counted one by one (that reads every tenant link of every
    /// matching post); ask with `tenant=` for one tenant's posts.
    pub tenant_uncounted: bool,
    pub state: Vec<FacetCount>,
    pub major: Vec<FacetCount>,
    /// Work item assignees; `none`: items assigned to nobody. Posts
    /// without a work item count in no value.
    pub assignee: Vec<FacetCount>,
    /// Work item states.
    pub item_state: Vec<FacetCount>,
    /// Tenant groups with a tenant the caller sees: the posts matching the
    /// query (without its own `tenant_group`) among the group's tenants
    /// that the caller sees.
    pub tenant_group: Vec<FacetCount>,
}

/// Counts per facet of the posts a query matches.
#[utoipa::path(get, path = "/api/v1/posts/facets", tag = "posts", params(PostParams),
    responses((status = 200, body = FacetsDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn post_facets(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
    Query(p): Query<PostParams>,
) -> ApiResult<axum::response::Response> {
    let depends = depends_on(&p);
    let make = {
        let (state, caller) = (state.clone(), caller.clone());
        move || async move { facets(&state, &caller, p).await }
    };
    cache::json(&state, &caller, &uri, depends, make).await
}

async fn facets(state: &AppState, caller: &Caller, p: PostParams) -> ApiResult<FacetsDto> {
    let f = state
        .store
        .post_facets(&query(state, &p, caller).await?)
        .await?;
    let everywhere = PostParams {
        tenant_group: None,
        ..p.clone()
    };
    let groups = group_counts(state, caller, &query(state, &everywhere, caller).await?).await?;
    let conv = |v: &Vec<changedesk_store::FacetCount>| {
        v.iter()
            .map(|c| FacetCount {
                value: c.value.clone(),
                count: c.count,
            })
            .collect()
    };
    let pair = |a: (&str, i64), b: (&str, i64)| {
        [a, b]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| FacetCount {
                value: v.to_string(),
                count: n,
            })
            .collect()
    };
    Ok(FacetsDto {
        service: conv(&f.services),
        category: conv(&f.categories),
        severity: conv(&f.severities),
        tag: conv(&f.tags),
        tenant: conv(&f.tenants),
        tenant_uncounted: f.tenants_uncounted,
        state: pair(("active", f.visible), ("expired", f.gone)),
        major: pair(("true", f.major), ("false", f.not_major)),
        assignee: conv(&assignee_facet(&f)),
        item_state: conv(&f.item_states),
        tenant_group: conv(&groups),
    })
}

/// The owners of a facet count, with `none` (the filter's value for
/// items assigned to nobody) among them by count (the API's and the
/// inbox's owner facet).
pub(crate) fn assignee_facet(f: &changedesk_store::Facets) -> Vec<changedesk_store::FacetCount> {
    let mut out = f.owners.clone();
    if f.unassigned > 0 {
        out.push(changedesk_store::FacetCount {
            value: UNASSIGNED.to_string(),
            count: f.unassigned,
        });
    }
    most_first(&mut out);
    out
}

/// Facet values by count, most first, then by value.
fn most_first(v: &mut [changedesk_store::FacetCount]) {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
}

/// A post with everything the archive knows of it, for the caller's
/// tenants: how many see or saw it and in which groups, and one page of
/// them (50 a page, searched with `tenant_q`).
#[derive(Serialize, ToSchema)]
pub struct PostDetailDto {
    #[serde(flatten)]
    pub post: PostSummaryDto,
    /// Microsoft's body, sanitised: safe to insert into a page.
    pub body_html: String,
    pub body_text: String,
    pub has_attachments: bool,
    /// How many tenants in scope see or saw it (as `tenants_seen`).
    pub tenant_count: i64,
    /// The tenant groups holding some of those tenants: how many of them
    /// each holds (`count`) of its tenants in scope (`size`), most first.
    pub groups: Vec<GroupCoverDto>,
    /// Page `tenant_page` of those tenants whose name contains `tenant_q`,
    /// by name, 50 a page.
    pub tenants: Vec<TenantLinkDto>,
    /// How many tenants match `tenant_q` (all of them without it).
    pub tenant_matches: i64,
    /// The page of `tenants`, from 1.
    pub tenant_page: i64,
    /// How many pages the matching tenants make (at least 1).
    pub tenant_pages: i64,
    /// The rollout timeline read from the current version's body.
    pub timeline: TimelineDto,
    pub revisions: Vec<RevisionDto>,
}

/// One post, with one page of its tenants.
#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts",
    params(("id" = String, Path, description = "Message Center id"), TenantPageParams),
    responses((status = 200, body = PostDetailDto), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 401, body = Problem)))]
async fn get_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(tp): Query<TenantPageParams>,
) -> ApiResult<axum::Json<PostDetailDto>> {
    let page = match tp.tenant_page {
        None => 1,
        Some(0) => return Err(tenant_cover::not_a_page("0")),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut d = state
        .store
        .get_message_scoped(&id, &scope_of(&caller))
        .await?;
    d.tenants.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = d.tenants.iter().map(|t| t.name.as_str()).collect();
    let groups = Groups::load(&state, &caller).await?.cover(&names);
    let listed = tenant_cover::page_of(
        &d.tenants,
        |t| t.name.as_str(),
        tp.tenant_q.as_deref().unwrap_or(""),
        page,
    );
    Ok(axum::Json(PostDetailDto {
        post: PostSummaryDto::from(&d.summary),
        body_html: crate::http::sanitize::body(&d.content.body_html),
        body_text: d.body_text.clone(),
        has_attachments: d.content.has_attachments,
        tenant_count: d.tenants.len() as i64,
        groups,
        tenants: listed.items.into_iter().map(TenantLinkDto::from).collect(),
        tenant_matches: listed.matches as i64,
        tenant_page: listed.page as i64,
        tenant_pages: listed.pages as i64,
        timeline: TimelineDto::from(&d.timeline),
        revisions: d
            .revisions
            .iter()
            .map(|r| RevisionDto::new(r, &caller))
            .collect(),
    }))
}

/// A revision's full content.
#[derive(Serialize, ToSchema)]
pub struct RevisionContentDto {
    #[serde(flatten)]
    pub info: RevisionDto,
    pub title: String,
    pub body_html: String,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub category: String,
    pub severity: String,
    pub is_major: bool,
    pub start: Option<String>,
    pub end: Option<String>,
    pub act_by: Option<String>,
}

/// One revision of a post.
#[utoipa::path(get, path = "/api/v1/posts/{id}/revisions/{revision}", tag = "posts",
    params(("id" = String, Path), ("revision" = i64, Path)),
    responses((status = 200, body = RevisionContentDto), (status = 404, body = Problem)))]
async fn get_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision)): Path<(String, i64)>,
) -> ApiResult<axum::Json<RevisionContentDto>> {
    // the post must be in scope first
    state.store.post_in_scope(&id, &scope_of(&caller)).await?;
    let r = state.store.message_revision(&id, revision).await?;
    let c = &r.content;
    Ok(axum::Json(RevisionContentDto {
        info: RevisionDto::new(&r.info, &caller),
        title: c.title.clone(),
        body_html: crate::http::sanitize::body(&c.body_html),
        services: c.services.clone(),
        tags: c.tags.clone(),
        category: c.category.as_str().to_string(),
        severity: c.severity.as_str().to_string(),
        is_major: c.is_major,
        start: crate::http::dto::ts_opt(&c.start),
        end: crate::http::dto::ts_opt(&c.end),
        act_by: crate::http::dto::ts_opt(&c.act_by),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The older revision (default: the one before `to`).
    pub from: Option<i64>,
    /// The newer revision (default: the current one).
    pub to: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DiffDto {
    pub from: i64,
    pub to: i64,
    pub changes: Vec<FieldChangeDto>,
}

/// What changed between two revisions of a post.
#[utoipa::path(get, path = "/api/v1/posts/{id}/diff", tag = "posts",
    params(("id" = String, Path), DiffParams),
    responses((status = 200, body = DiffDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn diff_revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<DiffParams>,
) -> ApiResult<axum::Json<DiffDto>> {
    let d = state
        .store
        .get_message_scoped(&id, &scope_of(&caller))
        .await?;
    let (from, to, old, new) = revision_pair(&state, &id, d.summary.revision, p.from, p.to).await?;
    let changes = changedesk_core::diff::message_changes(&old, &new);
    Ok(axum::Json(DiffDto {
        from,
        to,
        changes: changes.iter().map(FieldChangeDto::from).collect(),
    }))
}

/// The two revisions of post `id` (whose current revision is `current`) to
/// compare, as the API's diff and the web UI's post page pick them: `to`
/// defaults to the current revision, `from` to the one before `to`. Check
/// the post is in the caller's scope first.
pub(crate) async fn revision_pair(
    state: &AppState,
    id: &str,
    current: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> ApiResult<(
    i64,
    i64,
    changedesk_core::graph::MessageContent,
    changedesk_core::graph::MessageContent,
)> {
    let to = to.unwrap_or(current);
    let from = from.unwrap_or(to - 1);
    if from < 1 || from >= to || to > current {
        return Err(ApiError::bad_request(format!(
            "compare two revisions with 1 <= from < to <= {current} (got from {from}, to {to})"
        )));
    }
    let old = state.store.message_revision(id, from).await?.content;
    let new = state.store.message_revision(id, to).await?.content;
    Ok((from, to, old, new))
}
