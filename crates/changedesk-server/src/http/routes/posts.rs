//! Message Center posts: search and list, facets, detail, revisions, diff.
//! Everything is limited to the caller's tenants: a post no tenant in scope
//! sees is "not found", and a post seen by several tenants shows only those
//! in scope.

use axum::extract::State;
use changedesk_store::{PostQuery, PostSort, TenantScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::dto::{
    FieldChangeDto, PostSummaryDto, RevisionDto, SnippetPartDto, TenantLinkDto,
};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Path, Query};

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

/// Filters, search, sorting and paging of the post list.
#[derive(Debug, Default, Deserialize, IntoParams)]
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
    /// `newest` (default), `oldest`, `act_by`, `title` or `relevance`.
    pub sort: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The list's own parameter, read apart from [`PostParams`] (which the
/// facets share).
const INCLUDE_TOTAL: &str = "include_total";

/// The post list's parameters: [`PostParams`] and whether to count every
/// match (`include_total=true|false`).
fn list_params(uri: &axum::http::Uri) -> ApiResult<(PostParams, bool)> {
    let mut include_total = false;
    let mut rest = Vec::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
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
    Ok((p, include_total))
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

pub(crate) fn query(p: &PostParams, caller: &Caller) -> ApiResult<PostQuery> {
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
    let state = p
        .state
        .as_deref()
        .map(|s| {
            changedesk_store::PostState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("state `{s}` is not one of active, expired"))
            })
        })
        .transpose()?;
    Ok(PostQuery {
        q: p.q.clone().filter(|q| !q.trim().is_empty()),
        tenant: p.tenant.clone(),
        services: list(&p.service),
        tags: list(&p.tag),
        category: p.category.clone(),
        severity: p.severity.clone(),
        major: p.major,
        state,
        act_by_from: time_param("act_by_from", &p.act_by_from)?,
        act_by_to: time_param("act_by_to", &p.act_by_to)?,
        changed_since: time_param("changed_since", &p.changed_since)?,
        sort,
        cursor: p.cursor.clone(),
        limit: p.limit.unwrap_or(50),
        scope: scope_of(caller),
    })
}

/// A post in a list, with the tenants in scope that see it.
#[derive(Serialize, ToSchema)]
pub struct PostHitDto {
    #[serde(flatten)]
    pub post: PostSummaryDto,
    pub tenants: Vec<String>,
    /// With a search: the matching text, hits marked.
    pub snippet: Vec<SnippetPartDto>,
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

/// Lists and searches posts.
#[utoipa::path(get, path = "/api/v1/posts", tag = "posts",
    params(PostParams, ("include_total" = Option<bool>, Query,
        description = "Count every match for `total` (default false): counting reads all the matches, so ask \
                       on the first page; later pages repeat the count their cursor carries.")),
    responses((status = 200, body = PostPageDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list_posts(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> ApiResult<axum::Json<PostPageDto>> {
    let (p, include_total) = list_params(&uri)?;
    let q = query(&p, &caller)?;
    let (items, next_cursor, total) = if include_total {
        let page = state.store.query_posts(&q).await?;
        (page.items, page.next_cursor, Some(page.total))
    } else {
        let page = state.store.list_posts(&q).await?;
        (page.items, page.next_cursor, None)
    };
    Ok(axum::Json(PostPageDto {
        items: items
            .into_iter()
            .map(|h| PostHitDto {
                post: PostSummaryDto::from(&h.summary),
                tenants: h.tenants,
                snippet: h
                    .snippet
                    .into_iter()
                    .map(|s| SnippetPartDto {
                        text: s.text,
                        hit: s.hit,
                    })
                    .collect(),
            })
            .collect(),
        next_cursor,
        total,
    }))
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
    pub tenant: Vec<FacetCount>,
    pub state: Vec<FacetCount>,
    pub major: Vec<FacetCount>,
}

/// Counts per facet of the posts a query matches.
#[utoipa::path(get, path = "/api/v1/posts/facets", tag = "posts", params(PostParams),
    responses((status = 200, body = FacetsDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn post_facets(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<PostParams>,
) -> ApiResult<axum::Json<FacetsDto>> {
    let f = state.store.post_facets(&query(&p, &caller)?).await?;
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
    Ok(axum::Json(FacetsDto {
        service: conv(&f.services),
        category: conv(&f.categories),
        severity: conv(&f.severities),
        tag: conv(&f.tags),
        tenant: conv(&f.tenants),
        state: pair(("active", f.visible), ("expired", f.gone)),
        major: pair(("true", f.major), ("false", f.not_major)),
    }))
}

/// A post with everything the archive knows of it, for the caller's tenants.
#[derive(Serialize, ToSchema)]
pub struct PostDetailDto {
    #[serde(flatten)]
    pub post: PostSummaryDto,
    /// Microsoft's body, sanitised: safe to insert into a page.
    pub body_html: String,
    pub body_text: String,
    pub has_attachments: bool,
    pub tenants: Vec<TenantLinkDto>,
    pub revisions: Vec<RevisionDto>,
}

/// One post.
#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts",
    params(("id" = String, Path, description = "Message Center id")),
    responses((status = 200, body = PostDetailDto), (status = 404, body = Problem), (status = 401, body = Problem)))]
async fn get_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PostDetailDto>> {
    let d = state
        .store
        .get_message_scoped(&id, &scope_of(&caller))
        .await?;
    Ok(axum::Json(PostDetailDto {
        post: PostSummaryDto::from(&d.summary),
        body_html: crate::http::sanitize::body(&d.content.body_html),
        body_text: d.body_text.clone(),
        has_attachments: d.content.has_attachments,
        tenants: d.tenants.iter().map(TenantLinkDto::from).collect(),
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
    state
        .store
        .get_message_scoped(&id, &scope_of(&caller))
        .await?;
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
