//! Owners, workload ownership and tenant groups: the global configuration
//! that routes work items. Everyone signed in reads it (an ownership entry
//! for a tenant outside the caller's scope is left out); owners and
//! ownership change with `Configure`, tenant groups with `Admin` (they
//! widen or narrow what scoped users see). The store audits every change
//! with the caller as actor.

use axum::extract::State;
use axum::http::StatusCode;
use changedesk_core::triage::{
    Owner, OwnershipEntry, OwnershipMap, Scope, State as ItemState, TenantGroup, find_group,
    normalize_name,
};
use changedesk_store::{ItemFilter, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Path, Query};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_owners))
        .routes(routes!(put_owner, delete_owner))
        .routes(routes!(list_ownership))
        .routes(routes!(put_ownership, delete_ownership))
        .routes(routes!(list_groups))
        .routes(routes!(put_group, delete_group))
}

/// `200 OK` for a change to something that existed, `201 Created` for
/// something new.
fn created_or_ok(existed: bool) -> StatusCode {
    if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

/// The store refuses a removal that something still depends on with
/// `Invalid`: for the API that is a conflict with the current state.
fn still_used(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::conflict(m),
        e => e.into(),
    }
}

// ---------------------------------------------------------------- owners

/// Someone work items are routed to: a person or a team.
#[derive(Serialize, ToSchema)]
pub struct OwnerDto {
    /// The unique key, lower case, e.g. `collab` or `team.security`.
    pub name: String,
    pub display_name: String,
    /// Where notifications go.
    pub email: String,
    /// A Microsoft Teams handle, channel or webhook.
    pub teams: Option<String>,
    /// A Slack handle or channel.
    pub slack: Option<String>,
    /// The owner's Entra ID object id, which Planner assignments need.
    pub entra_id: Option<String>,
}

impl From<&Owner> for OwnerDto {
    fn from(o: &Owner) -> OwnerDto {
        OwnerDto {
            name: o.name.clone(),
            display_name: o.display_name.clone(),
            email: o.email.clone(),
            teams: o.teams.clone(),
            slack: o.slack.clone(),
            entra_id: o.entra_id.clone(),
        }
    }
}

/// An owner to create or replace (the name is in the path).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRequest {
    /// How people see the owner (default: the name).
    pub display_name: Option<String>,
    pub email: String,
    pub teams: Option<String>,
    pub slack: Option<String>,
    /// The owner's Entra ID object id (a GUID), for Planner assignments.
    pub entra_id: Option<String>,
}

/// Every owner, by name.
#[utoipa::path(get, path = "/api/v1/owners", tag = "owners",
    responses((status = 200, body = Vec<OwnerDto>), (status = 401, body = Problem)))]
async fn list_owners(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<OwnerDto>>> {
    Ok(axum::Json(owners(&state, &caller).await?))
}

/// Every owner, by name (the API's list and the web UI's owners page).
pub(crate) async fn owners(state: &AppState, caller: &Caller) -> ApiResult<Vec<OwnerDto>> {
    caller.require(Need::Read)?;
    let owners = state.store.owners().await?;
    Ok(owners.iter().map(OwnerDto::from).collect())
}

/// Creates or replaces an owner.
#[utoipa::path(put, path = "/api/v1/owners/{name}", tag = "owners",
    params(("name" = String, Path, description = "The owner's name (1–64 characters of `a-z 0-9 . _ -`)")),
    request_body = OwnerRequest,
    responses((status = 200, description = "Updated", body = OwnerDto), (status = 201, description = "Created", body = OwnerDto),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn put_owner(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<OwnerRequest>,
) -> ApiResult<(StatusCode, axum::Json<OwnerDto>)> {
    let (status, owner) = save_owner(&state, &caller, &name, body).await?;
    Ok((status, axum::Json(owner)))
}

/// Creates or replaces owner `name` for `caller` (audited): `201 Created`
/// for a new one, `200 OK` for a replaced one.
pub(crate) async fn save_owner(
    state: &AppState,
    caller: &Caller,
    name: &str,
    body: OwnerRequest,
) -> ApiResult<(StatusCode, OwnerDto)> {
    caller.require(Need::Configure)?;
    let name = normalize_name(name).map_err(ApiError::bad_request)?;
    let trimmed = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let owner = Owner {
        display_name: trimmed(body.display_name).unwrap_or_else(|| name.clone()),
        email: body.email.trim().to_string(),
        teams: trimmed(body.teams),
        slack: trimmed(body.slack),
        entra_id: trimmed(body.entra_id),
        name,
    };
    owner
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let existed = state
        .store
        .owners()
        .await?
        .iter()
        .any(|o| o.is_named(&owner.name));
    state
        .store
        .put_owner(&owner, &caller.actor(), &state.now())
        .await?;
    Ok((created_or_ok(existed), OwnerDto::from(&owner)))
}

/// Removes an owner that owns no workload and has no open work item.
#[utoipa::path(delete, path = "/api/v1/owners/{name}", tag = "owners",
    params(("name" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The owner still owns workloads or open work items", body = Problem)))]
async fn delete_owner(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    remove_owner(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes owner `name` for `caller` (audited), unless it still owns a
/// workload or an open work item.
pub(crate) async fn remove_owner(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    let name = name.trim().to_ascii_lowercase();
    if !state
        .store
        .owners()
        .await?
        .iter()
        .any(|o| o.is_named(&name))
    {
        return Err(ApiError::not_found(format!("owner `{name}` not found")));
    }
    let open = state
        .store
        .work_items(&ItemFilter {
            states: vec![ItemState::New, ItemState::Triaged, ItemState::InProgress],
            assignee: Some(name.clone()),
            ..Default::default()
        })
        .await?;
    if !open.is_empty() {
        let ids: Vec<&str> = open
            .iter()
            .take(5)
            .map(|r| r.stored.item.message_id.as_str())
            .collect();
        return Err(ApiError::conflict(format!(
            "owner `{name}` is assigned {} open work item{} ({}{}); assign them to someone else first",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            ids.join(", "),
            if open.len() > ids.len() { ", …" } else { "" }
        )));
    }
    state
        .store
        .remove_owner(&name, &caller.actor(), &state.now())
        .await
        .map_err(still_used)?;
    Ok(())
}

// ---------------------------------------------------------------- ownership

/// One line of the workload ownership map: `owner` owns `workload` in
/// `scope`. A tenant's entry wins over its group's, a group's over every
/// tenant's.
#[derive(Serialize, ToSchema)]
pub struct OwnershipDto {
    /// A service name as Graph writes it (`Microsoft Teams`), or `*` for
    /// every workload without an owner of its own.
    pub workload: String,
    pub owner: String,
    /// `all`, `group:NAME` or `tenant:NAME`.
    pub scope: String,
}

impl From<&OwnershipEntry> for OwnershipDto {
    fn from(e: &OwnershipEntry) -> OwnershipDto {
        OwnershipDto {
            workload: e.workload.clone(),
            owner: e.owner.clone(),
            scope: e.scope.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OwnershipScopeParams {
    /// `all` (the default), `group:NAME` or `tenant:NAME`.
    pub scope: Option<String>,
}

/// The scope a request names, in the store's form (lower-case names).
fn ownership_scope(p: &OwnershipScopeParams) -> ApiResult<Scope> {
    let scope: Scope = p.scope.as_deref().unwrap_or("all").parse().map_err(
        |e: changedesk_core::triage::ParseScopeError| ApiError::bad_request(format!("scope: {e}")),
    )?;
    Ok(match scope {
        Scope::All => Scope::All,
        Scope::Group(g) => Scope::Group(g.trim().to_ascii_lowercase()),
        Scope::Tenant(t) => {
            let t = t.trim().to_ascii_lowercase();
            changedesk_store::validate_tenant_name(&t)
                .map_err(|e| ApiError::bad_request(format!("scope: {e}")))?;
            Scope::Tenant(t)
        }
    })
}

/// Who owns what (entries for tenants outside the caller's scope are left
/// out).
#[utoipa::path(get, path = "/api/v1/ownership", tag = "owners",
    responses((status = 200, body = Vec<OwnershipDto>), (status = 401, body = Problem)))]
async fn list_ownership(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<OwnershipDto>>> {
    Ok(axum::Json(ownership(&state, &caller).await?))
}

/// The workload ownership map as `caller` may see it (the API's list and
/// the web UI's owners page).
pub(crate) async fn ownership(state: &AppState, caller: &Caller) -> ApiResult<Vec<OwnershipDto>> {
    caller.require(Need::Read)?;
    let entries = state.store.ownership().await?;
    // a group entry concerns a tenant-limited caller when the group holds
    // one of its tenants
    let seen_groups: Vec<String> = if caller.unrestricted() {
        Vec::new()
    } else {
        groups(state, caller)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect()
    };
    Ok(entries
        .iter()
        .filter(|e| match &e.scope {
            Scope::Tenant(t) => caller.sees(t),
            Scope::All => true,
            Scope::Group(g) => {
                caller.unrestricted() || seen_groups.iter().any(|s| s.eq_ignore_ascii_case(g))
            }
        })
        .map(OwnershipDto::from)
        .collect())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnershipRequest {
    /// The owner's name; the owner must exist.
    pub owner: String,
}

/// Sets who owns a workload in a scope.
#[utoipa::path(put, path = "/api/v1/ownership/{workload}", tag = "owners",
    params(("workload" = String, Path, description = "A service name (`Microsoft Teams`) or `*`"), OwnershipScopeParams),
    request_body = OwnershipRequest,
    responses((status = 200, description = "Changed", body = OwnershipDto), (status = 201, description = "Created", body = OwnershipDto),
        (status = 400, description = "Unknown owner or group, or a bad workload or scope", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn put_ownership(
    State(state): State<AppState>,
    caller: Caller,
    Path(workload): Path<String>,
    Query(p): Query<OwnershipScopeParams>,
    Json(body): Json<OwnershipRequest>,
) -> ApiResult<(StatusCode, axum::Json<OwnershipDto>)> {
    let (status, entry) = save_ownership(&state, &caller, &workload, &p, body).await?;
    Ok((status, axum::Json(entry)))
}

/// Sets who owns `workload` in the scope `p` names, for `caller` (audited).
pub(crate) async fn save_ownership(
    state: &AppState,
    caller: &Caller,
    workload: &str,
    p: &OwnershipScopeParams,
    body: OwnershipRequest,
) -> ApiResult<(StatusCode, OwnershipDto)> {
    caller.require(Need::Configure)?;
    let entry = OwnershipEntry {
        workload: workload.trim().to_string(),
        owner: body.owner.trim().to_ascii_lowercase(),
        scope: ownership_scope(p)?,
    };
    let owners = state.store.owners().await?;
    let groups = state.store.groups().await?;
    if let Scope::Group(g) = &entry.scope
        && find_group(&groups, g).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "unknown tenant group `{g}` (add it first: PUT /api/v1/tenant-groups/{g})"
        )));
    }
    if let Err(errors) = (OwnershipMap {
        entries: vec![entry.clone()],
    })
    .validate(&owners, &groups)
    {
        let text: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        return Err(ApiError::bad_request(text.join("\n")));
    }
    let existed = state.store.ownership().await?.iter().any(|e| {
        e.workload.trim().eq_ignore_ascii_case(&entry.workload)
            && same_scope(&e.scope, &entry.scope)
    });
    state
        .store
        .set_ownership(&entry, &caller.actor(), &state.now())
        .await?;
    Ok((created_or_ok(existed), OwnershipDto::from(&entry)))
}

fn same_scope(a: &Scope, b: &Scope) -> bool {
    match (a, b) {
        (Scope::All, Scope::All) => true,
        (Scope::Group(x), Scope::Group(y)) | (Scope::Tenant(x), Scope::Tenant(y)) => {
            x.trim().eq_ignore_ascii_case(y.trim())
        }
        _ => false,
    }
}

/// Removes who owns a workload in a scope.
#[utoipa::path(delete, path = "/api/v1/ownership/{workload}", tag = "owners",
    params(("workload" = String, Path, description = "A service name (`Microsoft Teams`) or `*`"), OwnershipScopeParams),
    responses((status = 204, description = "Removed"), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_ownership(
    State(state): State<AppState>,
    caller: Caller,
    Path(workload): Path<String>,
    Query(p): Query<OwnershipScopeParams>,
) -> ApiResult<StatusCode> {
    remove_ownership(&state, &caller, &workload, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes who owns `workload` in the scope `p` names, for `caller`
/// (audited).
pub(crate) async fn remove_ownership(
    state: &AppState,
    caller: &Caller,
    workload: &str,
    p: &OwnershipScopeParams,
) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    let scope = ownership_scope(p)?;
    let workload = workload.trim();
    match state
        .store
        .remove_ownership(workload, &scope, &caller.actor(), &state.now())
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found(format!(
            "nobody owns `{workload}` for {}",
            match &scope {
                Scope::All => "every tenant".to_string(),
                Scope::Group(g) => format!("tenant group `{g}`"),
                Scope::Tenant(t) => format!("tenant `{t}`"),
            }
        ))),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- tenant groups

/// A named set of tenants, by name or pattern.
#[derive(Serialize, ToSchema)]
pub struct TenantGroupDto {
    pub name: String,
    pub description: String,
    /// Tenant names or patterns such as `eu-*`.
    pub include: Vec<String>,
    /// Tenant names or patterns that are never members.
    pub exclude: Vec<String>,
    /// The archive's tenants in the group (those in the caller's scope).
    pub tenants: Vec<String>,
}

impl TenantGroupDto {
    fn new(g: &TenantGroup, tenants: &[String]) -> TenantGroupDto {
        TenantGroupDto {
            name: g.name.clone(),
            description: g.description.clone(),
            include: g.include.clone(),
            exclude: g.exclude.clone(),
            tenants: tenants.iter().filter(|t| g.contains(t)).cloned().collect(),
        }
    }
}

/// The archive's tenants the caller sees.
async fn visible_tenants(state: &AppState, caller: &Caller) -> ApiResult<Vec<String>> {
    Ok(state
        .store
        .tenants()
        .await?
        .into_iter()
        .map(|t| t.name)
        .filter(|t| caller.sees(t))
        .collect())
}

/// Every tenant group, in resolution order.
#[utoipa::path(get, path = "/api/v1/tenant-groups", tag = "tenants",
    responses((status = 200, body = Vec<TenantGroupDto>), (status = 401, body = Problem)))]
async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<TenantGroupDto>>> {
    Ok(axum::Json(groups(&state, &caller).await?))
}

/// Every tenant group, in resolution order, with its members in `caller`'s
/// scope (the API's list and the web UI's owners page).
pub(crate) async fn groups(state: &AppState, caller: &Caller) -> ApiResult<Vec<TenantGroupDto>> {
    caller.require(Need::Read)?;
    let tenants = visible_tenants(state, caller).await?;
    let groups = state.store.groups().await?;
    Ok(groups
        .iter()
        .map(|g| TenantGroupDto::new(g, &tenants))
        .filter_map(|mut g| {
            if caller.unrestricted() {
                return Some(g);
            }
            // a tenant-limited caller sees the groups holding one of its
            // tenants, as those tenants: never the patterns, which name or
            // match tenants it cannot see
            if g.tenants.is_empty() {
                return None;
            }
            g.include = g.tenants.clone();
            g.exclude = Vec::new();
            Some(g)
        })
        .collect())
}

/// A tenant group to create or replace (the name is in the path).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantGroupRequest {
    #[serde(default)]
    pub description: String,
    /// Tenant names or patterns such as `eu-*`; at least one.
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// Creates or replaces a tenant group (a new one goes last).
#[utoipa::path(put, path = "/api/v1/tenant-groups/{name}", tag = "tenants",
    params(("name" = String, Path, description = "1–64 characters of `a-z 0-9 . _ -`")),
    request_body = TenantGroupRequest,
    responses((status = 200, description = "Updated", body = TenantGroupDto), (status = 201, description = "Created", body = TenantGroupDto),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn put_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<TenantGroupRequest>,
) -> ApiResult<(StatusCode, axum::Json<TenantGroupDto>)> {
    let (status, group) = save_group(&state, &caller, &name, body).await?;
    Ok((status, axum::Json(group)))
}

/// Creates or replaces tenant group `name` for `caller` (audited).
pub(crate) async fn save_group(
    state: &AppState,
    caller: &Caller,
    name: &str,
    body: TenantGroupRequest,
) -> ApiResult<(StatusCode, TenantGroupDto)> {
    caller.require(Need::Admin)?;
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let group = TenantGroup {
        name: name.trim().to_ascii_lowercase(),
        description: body.description.trim().to_string(),
        include: clean(body.include),
        exclude: clean(body.exclude),
    };
    group
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let existed = find_group(&state.store.groups().await?, &group.name).is_some();
    state
        .store
        .put_group(&group, &caller.actor(), &state.now())
        .await?;
    let tenants = visible_tenants(state, caller).await?;
    Ok((
        created_or_ok(existed),
        TenantGroupDto::new(&group, &tenants),
    ))
}

/// Removes a tenant group no ownership entry uses.
#[utoipa::path(delete, path = "/api/v1/tenant-groups/{name}", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "Ownership entries still use the group", body = Problem)))]
async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    remove_group(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes tenant group `name` for `caller` (audited), unless ownership
/// entries still use it.
pub(crate) async fn remove_group(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Admin)?;
    let name = name.trim().to_ascii_lowercase();
    state
        .store
        .remove_group(&name, &caller.actor(), &state.now())
        .await
        .map_err(still_used)?;
    Ok(())
}
