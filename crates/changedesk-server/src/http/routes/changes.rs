//! Change requests through the API: a person asks a connector (a channel
//! of kind `servicenow`, `jira` or `glpi`) to raise a ticket for a post's
//! work item, for every tenant, one tenant or a tenant group; what they
//! may ask is checked here, the request recorded by
//! `crate::changes::request_change`. The tickets raised are listed with
//! the item.

use axum::extract::State;
use axum::http::StatusCode;
use changedesk_core::change_control::TicketScope;
use changedesk_core::triage::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::items::{load, reach};
use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::ts;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Path};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(raise_change))
        .routes(routes!(list_tickets))
}

/// A request for a change request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseChangeRequest {
    /// The connector (a channel of kind `servicenow`, `jira` or `glpi`).
    pub connector: String,
    /// For this tenant only.
    #[serde(default)]
    pub tenant: Option<String>,
    /// For this tenant group only.
    #[serde(default)]
    pub group: Option<String>,
    /// The item's version as read (optimistic concurrency).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A change request on its way to the connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeRequestDto {
    pub connector: String,
    /// `all`, `tenant:NAME` or `group:NAME`.
    pub scope: String,
    /// The ticket's id on the other side: raising it again finds it.
    pub correlation_id: String,
}

/// A ticket raised in a change-control system.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketDto {
    pub connector: String,
    /// `all`, `tenant:NAME` or `group:NAME`.
    pub scope: String,
    pub correlation_id: String,
    /// Its number there (`CHG0030022`, `CHG-12`, `42`).
    pub number: String,
    pub url: String,
    /// Its state as the system names it.
    pub state: String,
    /// `open`, `in_progress`, `done` or `canceled`.
    pub progress: String,
    pub created_at: String,
    pub updated_at: String,
    /// When it was last read back from its system, if it was.
    pub checked_at: Option<String>,
    /// Why the last read failed, if it did (refused credentials…).
    pub read_error: Option<String>,
    /// `change` (a change request) or `incident`.
    pub kind: String,
}

/// Asks a connector to raise a ticket for the post's work item (once: a
/// ticket raised before for the same post and scope is found, not made
/// again). The outbox delivers it; the ticket appears under
/// `/api/v1/items/{id}/tickets` and in the item's log.
#[utoipa::path(post, path = "/api/v1/items/{id}/change-requests", tag = "items",
    params(("id" = String, Path)), request_body = RaiseChangeRequest,
    responses((status = 202, body = ChangeRequestDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn raise_change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<RaiseChangeRequest>,
) -> ApiResult<(StatusCode, axum::Json<ChangeRequestDto>)> {
    let dto = request_change(&state, &caller, &id, &req).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(dto)))
}

/// Checks and records `caller`'s request for a change request (the API's
/// and the web UI's one way).
pub(crate) async fn request_change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    req: &RaiseChangeRequest,
) -> ApiResult<ChangeRequestDto> {
    let stored = load(state, caller, id).await?;
    if !caller.may_act_on(stored.item.assignee.as_deref()) {
        caller.require(Need::TriageAny)?;
    }
    let reach = reach(state, caller, id).await?;
    let (scope, tenants) = match (&req.tenant, &req.group) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "a change request is for a tenant or a tenant group, not both",
            ));
        }
        (Some(t), None) => {
            let t = t.trim().to_ascii_lowercase();
            if !reach.mine.contains(&t) {
                return Err(ApiError::not_found(format!(
                    "tenant `{}` does not see {id}",
                    changedesk_core::text::clip_chars(&t, 80)
                )));
            }
            (TicketScope::Tenant(t.clone()), vec![t])
        }
        (None, Some(g)) => {
            let groups = state.store.groups().await?;
            let group = changedesk_core::triage::find_group(&groups, g)
                .filter(|g| caller.unrestricted() || reach.mine.iter().any(|t| g.contains(t)))
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "tenant group `{}` not found",
                        changedesk_core::text::clip_chars(g, 80)
                    ))
                })?;
            let all = state.store.post_tenant_names(id).await?;
            let members: Vec<String> = all.into_iter().filter(|t| group.contains(t)).collect();
            if members.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "no tenant of group `{}` sees {id}",
                    group.name
                )));
            }
            if let Some(other) = members.iter().find(|t| !caller.sees(t)) {
                return Err(ApiError::forbidden(format!(
                    "tenant group `{}` holds a tenant outside your tenant limit (`{other}`)",
                    group.name
                )));
            }
            (TicketScope::Group(group.name.clone()), members)
        }
        (None, None) => {
            if reach.outside > 0 {
                return Err(ApiError::forbidden(format!(
                    "{id} is seen by {} tenant{} outside your tenant limit: ask for your tenant or group",
                    reach.outside,
                    if reach.outside == 1 { "" } else { "s" }
                )));
            }
            (TicketScope::All, reach.mine.clone())
        }
    };
    // a tenant-limited caller never learns of a connector for other tenants
    if !caller.unrestricted() {
        let name = req.connector.trim().to_ascii_lowercase();
        let channels = state.store.channels().await?;
        if !connectors_for(caller, &channels).any(|c| c.name == name) {
            return Err(ApiError::not_found(format!(
                "no connector is named `{}`",
                changedesk_core::text::clip_chars(&name, 80)
            )));
        }
    }
    let requested = crate::changes::request_change(
        &state.store,
        id,
        &req.connector,
        scope,
        tenants,
        &Actor::Person(caller.name.clone()),
        req.version,
        state.now(),
    )
    .await?;
    Ok(ChangeRequestDto {
        connector: requested.connector,
        scope: requested.scope.as_text(),
        correlation_id: requested.correlation_id,
    })
}

/// The connectors among `channels` that `caller` may know of: every one
/// without a tenant limit, and those limited to tenants all the caller's
/// (a tenant-limited caller never learns of another customer's).
pub(crate) fn connectors_for<'a>(
    caller: &'a Caller,
    channels: &'a [changedesk_store::ChannelRow],
) -> impl Iterator<Item = &'a changedesk_store::ChannelRow> + 'a {
    channels.iter().filter(move |c| {
        c.kind
            .parse::<changedesk_core::notify::ChannelKind>()
            .is_ok_and(changedesk_core::notify::ChannelKind::is_connector)
            && c.filter
                .tenants
                .as_ref()
                .is_none_or(|ts| ts.iter().all(|t| caller.sees(t)))
    })
}

/// The tickets raised for the post's work item, oldest first (a
/// tenant-limited caller sees those for all tenants and for their own).
#[utoipa::path(get, path = "/api/v1/items/{id}/tickets", tag = "items",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<TicketDto>), (status = 404, body = Problem)))]
async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<TicketDto>>> {
    Ok(axum::Json(tickets(&state, &caller, &id).await?))
}

/// The tickets of post `id` that `caller` may see: all of them without a
/// tenant limit; with one, those whose tenants (that see the post) are all
/// the caller's.
pub(crate) async fn tickets(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<Vec<TicketDto>> {
    load(state, caller, id).await?;
    let (groups, seeing) = if caller.unrestricted() {
        (Vec::new(), Vec::new())
    } else {
        (
            state.store.groups().await?,
            state.store.post_tenant_names(id).await?,
        )
    };
    let visible = |scope: &str| {
        if caller.unrestricted() {
            return true;
        }
        match TicketScope::parse(scope) {
            Ok(TicketScope::Tenant(name)) => caller.sees(&name),
            Ok(TicketScope::Group(g)) => changedesk_core::triage::find_group(&groups, &g)
                .is_some_and(|g| {
                    seeing
                        .iter()
                        .filter(|t| g.contains(t))
                        .all(|t| caller.sees(t))
                }),
            Ok(TicketScope::All) => seeing.iter().all(|t| caller.sees(t)),
            Err(_) => false,
        }
    };
    Ok(state
        .store
        .tickets_of_post(id)
        .await?
        .into_iter()
        .filter(|t| visible(&t.scope))
        .map(|t| TicketDto {
            connector: t.connector,
            scope: t.scope,
            correlation_id: t.correlation_id,
            number: t.number,
            url: t.url,
            state: t.state,
            progress: t.progress.as_str().to_string(),
            created_at: ts(&t.created_at),
            updated_at: ts(&t.updated_at),
            checked_at: t.checked_at.as_ref().map(ts),
            read_error: t.read_error,
            kind: t.kind.as_str().to_owned(),
        })
        .collect())
}
