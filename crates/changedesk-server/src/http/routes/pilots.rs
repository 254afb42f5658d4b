//! The preview and pilot programme (`/api/v1/pilot-groups`,
//! `/api/v1/pilots`, issue 21 item 5): pilot groups per workload (kept by
//! change managers and admins without a tenant limit, audited), and the
//! pilot tasks opened when a post's preview or targeted release starts,
//! each with its group's finding. A finding is recorded with the item
//! action `record_pilot_finding`.

use axum::extract::{Path, Query, State};
use changedesk_store::{PilotGroup, PilotTask};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Json;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups))
        .routes(routes!(save_group, remove_group))
        .routes(routes!(list_tasks))
}

/// A pilot group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PilotGroupDto {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The services (workloads) whose changes it tries first.
    pub workloads: Vec<String>,
    /// Its members' e-mail addresses.
    #[serde(default)]
    pub members: Vec<String>,
    /// The channel told when a pilot task opens for it (empty: none).
    #[serde(default)]
    pub channel: String,
}

/// A pilot group as saved.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PilotGroupRequest {
    #[serde(default)]
    pub description: String,
    pub workloads: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
    /// The channel (e-mail, Teams, Slack or webhook) told when a pilot task
    /// opens for the group: a `pilot.opened` event for it alone. Absent or
    /// empty: none.
    #[serde(default)]
    pub channel: String,
}

/// A pilot task, with its group's finding.
#[derive(Debug, Serialize, ToSchema)]
pub struct PilotTaskDto {
    pub post_id: String,
    pub group: String,
    /// The first day of the post's preview or targeted release.
    pub pilot_start: String,
    pub opened_at: String,
    /// `open`, or `done` once the group made its finding.
    pub state: String,
    /// `adopt`, `adopt_with_changes`, `delay` or `block`.
    pub recommendation: Option<String>,
    pub finding: Option<String>,
    pub found_by: Option<String>,
    pub found_at: Option<String>,
}

impl From<&PilotTask> for PilotTaskDto {
    fn from(t: &PilotTask) -> PilotTaskDto {
        PilotTaskDto {
            post_id: t.post_id.clone(),
            group: t.group.clone(),
            pilot_start: changedesk_core::timeline::iso(t.pilot_start),
            opened_at: t.opened_at.to_canonical(),
            state: if t.finding.is_some() { "done" } else { "open" }.to_string(),
            recommendation: t.finding.as_ref().map(|f| f.recommendation.clone()),
            finding: t.finding.as_ref().and_then(|f| f.text.clone()),
            found_by: t.finding.as_ref().map(|f| f.actor.clone()),
            found_at: t.finding.as_ref().map(|f| f.at.to_canonical()),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PilotParams {
    /// One post's tasks.
    pub post: Option<String>,
    /// `open` or `done`.
    pub state: Option<String>,
    /// How many of those the caller sees to pass over (the pages before).
    pub offset: Option<i64>,
    /// How many (default and most: 1,000).
    pub limit: Option<i64>,
}

/// The pilot groups.
pub(crate) async fn groups(state: &AppState, caller: &Caller) -> ApiResult<Vec<PilotGroup>> {
    caller.require(Need::Read)?;
    Ok(state.store.pilot_groups().await?)
}

/// Saves pilot group `name` (change managers and admins without a tenant
/// limit; audited).
pub(crate) async fn save(
    state: &AppState,
    caller: &Caller,
    name: &str,
    req: PilotGroupRequest,
) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    let group = PilotGroup {
        name: name.to_string(),
        description: req.description,
        workloads: req.workloads,
        members: req.members,
        channel: notice_channel(state, &req.channel).await?,
    };
    Ok(state
        .store
        .save_pilot_group(&group, &caller.actor(), state.now())
        .await?)
}

/// The channel named `name` as stored, if it can tell a group of its
/// tasks (any channel but a connector); empty for none.
async fn notice_channel(state: &AppState, name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(String::new());
    }
    let channels = state.store.channels().await?;
    let c = channels
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "there is no channel `{}`",
                changedesk_core::text::clip_chars(name, 64)
            ))
        })?;
    if c.kind
        .parse::<changedesk_core::notify::ChannelKind>()
        .map_or(true, changedesk_core::notify::ChannelKind::is_connector)
    {
        return Err(ApiError::bad_request(format!(
            "`{}` is a {} connector: a pilot group is told through an e-mail, Teams, Slack or webhook channel",
            c.name, c.kind
        )));
    }
    Ok(c.name)
}

/// Removes pilot group `name`; 404 when there is none.
pub(crate) async fn remove(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    if state
        .store
        .remove_pilot_group(name.trim(), &caller.actor(), state.now())
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "pilot group `{}` not found",
            changedesk_core::text::clip_chars(name, 64)
        )))
    }
}

/// The pilot tasks of the posts `caller` sees (of one post, or all; open or
/// done).
pub(crate) async fn tasks(
    state: &AppState,
    caller: &Caller,
    p: &PilotParams,
) -> ApiResult<Vec<PilotTask>> {
    caller.require(Need::Read)?;
    let done = match p.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("open") => Some(false),
        Some("done") => Some(true),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "state is `open` or `done`, not `{}`",
                changedesk_core::text::clip_chars(other, 20)
            )));
        }
    };
    let most = changedesk_store::MAX_PILOT_TASKS;
    let limit = super::comms::page_limit(p.limit, most)?;
    let mut skip = match p.offset {
        None => 0,
        Some(n) if n >= 0 => n,
        Some(_) => return Err(ApiError::bad_request("offset is 0 or more")),
    };
    let mut query = changedesk_store::PilotTaskQuery {
        post_id: super::comms::post_named(p.post.as_deref()),
        done,
        offset: 0,
    };
    let mut out = Vec::new();
    let mut seen = super::comms::PostsSeen::new(state, caller);
    // the store's pages are read on until the caller's page is full: the
    // tasks of posts the caller does not see are passed over, not counted
    loop {
        let page = state.store.pilot_tasks(&query, most).await?;
        let more = i64::try_from(page.len()).unwrap_or(i64::MAX) >= most;
        query.offset += most;
        for t in page {
            if !seen.sees(&t.post_id).await {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            out.push(t);
            if i64::try_from(out.len()).unwrap_or(i64::MAX) >= limit {
                return Ok(out);
            }
        }
        if !more {
            return Ok(out);
        }
    }
}

/// The pilot groups.
#[utoipa::path(get, path = "/api/v1/pilot-groups", tag = "pilots",
    responses((status = 200, body = Vec<PilotGroupDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<PilotGroupDto>>> {
    Ok(axum::Json(
        groups(&state, &caller)
            .await?
            .into_iter()
            .map(|g| PilotGroupDto {
                name: g.name,
                description: g.description,
                workloads: g.workloads,
                members: g.members,
                channel: g.channel,
            })
            .collect(),
    ))
}

/// Adds or replaces a pilot group: change managers and admins without a
/// tenant limit; audited.
#[utoipa::path(put, path = "/api/v1/pilot-groups/{name}", tag = "pilots", request_body = PilotGroupRequest,
    params(("name" = String, Path, description = "The group's name")),
    responses((status = 204, description = "Saved"), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn save_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<PilotGroupRequest>,
) -> ApiResult<axum::http::StatusCode> {
    save(&state, &caller, &name, body).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Removes a pilot group (its tasks and findings stay): change managers
/// and admins without a tenant limit; audited.
#[utoipa::path(delete, path = "/api/v1/pilot-groups/{name}", tag = "pilots",
    params(("name" = String, Path, description = "The group's name")),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn remove_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    remove(&state, &caller, &name).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The pilot tasks of the posts the caller sees, newest first, each with
/// its group's finding, a page at a time (at most `limit`, 1,000; the next
/// page from `offset`).
#[utoipa::path(get, path = "/api/v1/pilots", tag = "pilots", params(PilotParams),
    responses((status = 200, body = Vec<PilotTaskDto>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<PilotParams>,
) -> ApiResult<axum::Json<Vec<PilotTaskDto>>> {
    Ok(axum::Json(
        tasks(&state, &caller, &p)
            .await?
            .iter()
            .map(PilotTaskDto::from)
            .collect(),
    ))
}
