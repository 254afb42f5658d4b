//! Owners, workload ownership and tenant groups (`/owners`): everyone reads
//! them; owners and ownership change for callers who may configure, tenant
//! groups for admins, each through the API's own function in
//! `routes::owners` (the same checks, the same audit entries).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{self, Layout, Notice};
use super::{SignedIn, UiForm, UiResult, html_status, refusal};
use crate::http::auth::Need;
use crate::http::routes::owners::{
    self as api, OwnerDto, OwnerRequest, OwnershipDto, OwnershipRequest, OwnershipScopeParams,
    TenantGroupDto, TenantGroupRequest,
};
use crate::http::{ApiError, AppState};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OwnersQuery {
    /// The owner whose form to fill in.
    #[serde(default)]
    edit: String,
    /// The tenant group whose form to fill in.
    #[serde(default)]
    group: String,
}

/// The owner form's values.
#[derive(Default)]
pub(crate) struct OwnerDraft {
    name: String,
    display_name: String,
    email: String,
    teams: String,
    slack: String,
    entra_id: String,
    /// Changing an existing owner (its name is fixed).
    editing: bool,
}

#[derive(Default)]
pub(crate) struct OwnershipDraft {
    workload: String,
    owner: String,
    scope: String,
}

#[derive(Default)]
pub(crate) struct GroupDraft {
    name: String,
    description: String,
    include: String,
    exclude: String,
    editing: bool,
}

pub(crate) struct OwnerRow {
    o: OwnerDto,
    workloads: Vec<String>,
}

#[derive(Template)]
#[template(path = "owners.html")]
struct OwnersPage {
    layout: Layout,
    owners: Vec<OwnerRow>,
    ownership: Vec<OwnershipDto>,
    groups: Vec<TenantGroupDto>,
    can_configure: bool,
    can_admin: bool,
    owner: OwnerDraft,
    entry: OwnershipDraft,
    group: GroupDraft,
    /// What the ownership form's scope may be: `all`, `group:…`, `tenant:…`.
    scopes: Vec<String>,
    notice: Option<Notice>,
}

/// What the page shows besides the lists.
#[derive(Default)]
struct Drafts {
    owner: Option<OwnerDraft>,
    entry: OwnershipDraft,
    group: Option<GroupDraft>,
    notice: Option<Notice>,
}

async fn render(
    state: &AppState,
    user: &SignedIn,
    q: &OwnersQuery,
    status: StatusCode,
    d: Drafts,
) -> UiResult<Response> {
    let caller = &user.caller;
    let owners = api::owners(state, caller).await?;
    let ownership = api::ownership(state, caller).await?;
    let groups = api::groups(state, caller).await?;
    let mut scopes = vec!["all".to_string()];
    scopes.extend(groups.iter().map(|g| format!("group:{}", g.name)));
    scopes.extend(
        crate::http::routes::tenants::names(state, caller)
            .await?
            .into_iter()
            .map(|t| format!("tenant:{t}")),
    );
    let edit = q.edit.trim();
    let owner = d.owner.unwrap_or_else(|| {
        owners
            .iter()
            .find(|o| !edit.is_empty() && o.name.eq_ignore_ascii_case(edit))
            .map(|o| OwnerDraft {
                name: o.name.clone(),
                display_name: o.display_name.clone(),
                email: o.email.clone(),
                teams: o.teams.clone().unwrap_or_default(),
                slack: o.slack.clone().unwrap_or_default(),
                entra_id: o.entra_id.clone().unwrap_or_default(),
                editing: true,
            })
            .unwrap_or_default()
    });
    let wanted = q.group.trim();
    let group = d.group.unwrap_or_else(|| {
        groups
            .iter()
            .find(|g| !wanted.is_empty() && g.name.eq_ignore_ascii_case(wanted))
            .map(|g| GroupDraft {
                name: g.name.clone(),
                description: g.description.clone(),
                include: g.include.join(", "),
                exclude: g.exclude.join(", "),
                editing: true,
            })
            .unwrap_or_default()
    });
    let owners = owners
        .into_iter()
        .map(|o| OwnerRow {
            workloads: ownership
                .iter()
                .filter(|e| e.owner.eq_ignore_ascii_case(&o.name))
                .map(|e| match e.scope.as_str() {
                    "all" => e.workload.clone(),
                    scope => format!("{} ({scope})", e.workload),
                })
                .collect(),
            o,
        })
        .collect();
    html_status(
        status,
        &OwnersPage {
            layout: user.layout("Owners and groups", "owners"),
            owners,
            ownership,
            groups,
            can_configure: caller.require(Need::Configure).is_ok(),
            can_admin: caller.require(Need::Admin).is_ok(),
            owner,
            entry: d.entry,
            group,
            scopes,
            notice: d.notice,
        },
    )
}

/// `GET /owners`.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<OwnersQuery>,
) -> UiResult<Response> {
    render(&state, &user, &q, StatusCode::OK, Drafts::default()).await
}

/// After a change: back to the list (the change shows there), or the page
/// again with what went wrong and the form as it was sent.
async fn outcome<T>(
    state: &AppState,
    form: &UiForm,
    result: Result<T, ApiError>,
    anchor: &str,
    drafts: impl FnOnce() -> Drafts,
) -> UiResult<Response> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/owners#{anchor}")).into_response()),
        Err(e) => {
            let (status, notice) = refusal(e)?;
            let mut d = drafts();
            d.notice = Some(notice);
            render(state, &form.user, &OwnersQuery::default(), status, d).await
        }
    }
}

/// `POST /owners/save`: creates or replaces an owner.
pub(crate) async fn save_owner(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let draft = || OwnerDraft {
        name: form.get("name").to_string(),
        display_name: form.get("display_name").to_string(),
        email: form.get("email").to_string(),
        teams: form.get("teams").to_string(),
        slack: form.get("slack").to_string(),
        entra_id: form.get("entra_id").to_string(),
        editing: form.get("editing") == "true",
    };
    let opt = |k: &str| Some(form.get(k).to_string()).filter(|s| !s.is_empty());
    let body = OwnerRequest {
        display_name: opt("display_name"),
        email: form.get("email").to_string(),
        teams: opt("teams"),
        slack: opt("slack"),
        entra_id: opt("entra_id"),
    };
    let r = api::save_owner(&state, &form.user.caller, form.get("name"), body).await;
    outcome(&state, &form, r, "owners", || Drafts {
        owner: Some(draft()),
        ..Default::default()
    })
    .await
}

/// `POST /owners/remove`: removes an owner nothing depends on.
pub(crate) async fn remove_owner(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let r = api::remove_owner(&state, &form.user.caller, form.get("name")).await;
    outcome(&state, &form, r, "owners", Drafts::default).await
}

fn scope_of(form: &UiForm) -> OwnershipScopeParams {
    OwnershipScopeParams {
        scope: Some(form.get("scope").to_string()).filter(|s| !s.is_empty()),
    }
}

/// `POST /owners/ownership/save`: sets who owns a workload in a scope.
pub(crate) async fn save_ownership(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let body = OwnershipRequest {
        owner: form.get("owner").to_string(),
    };
    let r = api::save_ownership(
        &state,
        &form.user.caller,
        form.get("workload"),
        &scope_of(&form),
        body,
    )
    .await;
    outcome(&state, &form, r, "ownership", || Drafts {
        entry: OwnershipDraft {
            workload: form.get("workload").to_string(),
            owner: form.get("owner").to_string(),
            scope: form.get("scope").to_string(),
        },
        ..Default::default()
    })
    .await
}

/// `POST /owners/ownership/remove`: removes an ownership entry.
pub(crate) async fn remove_ownership(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let r = api::remove_ownership(
        &state,
        &form.user.caller,
        form.get("workload"),
        &scope_of(&form),
    )
    .await;
    outcome(&state, &form, r, "ownership", Drafts::default).await
}

/// `POST /owners/groups/save`: creates or replaces a tenant group.
pub(crate) async fn save_group(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let body = TenantGroupRequest {
        description: form.get("description").to_string(),
        include: view::list_field(form.get("include")),
        exclude: view::list_field(form.get("exclude")),
    };
    let r = api::save_group(&state, &form.user.caller, form.get("name"), body).await;
    outcome(&state, &form, r, "groups", || Drafts {
        group: Some(GroupDraft {
            name: form.get("name").to_string(),
            description: form.get("description").to_string(),
            include: form.get("include").to_string(),
            exclude: form.get("exclude").to_string(),
            editing: form.get("editing") == "true",
        }),
        ..Default::default()
    })
    .await
}

/// `POST /owners/groups/remove`: removes a tenant group no entry uses.
pub(crate) async fn remove_group(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let r = api::remove_group(&state, &form.user.caller, form.get("name")).await;
    outcome(&state, &form, r, "groups", Drafts::default).await
}
