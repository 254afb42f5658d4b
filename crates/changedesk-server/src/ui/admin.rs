//! Users (`/users`, admins), API tokens (`/tokens`: everyone's own; an
//! admin may look at and revoke anyone's) and the audit log (`/audit`,
//! admins, with filters and paging), through the API's own functions in
//! `routes::users` and `routes::audit`: the same checks (the last enabled
//! admin, a token's role and scope within its user's) and the same audit
//! entries. A new token's secret is shown once, on the page that answers
//! the form (never stored, never cached: every UI page is `no-store`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use changedesk_core::access::Role;
use serde::Deserialize;

use super::view::{self, Layout, Notice};
use super::{SignedIn, UiError, UiForm, UiResult, html, html_status, refusal};
use crate::http::AppState;
use crate::http::routes::audit::{self as api_audit, AuditEntryDto, AuditParams};
use crate::http::routes::users::{
    self as api, CreateToken, CreateUser, TokenDto, TokenParams, UpdateUser, UserDto,
};

// ---------------------------------------------------------------- users

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UsersQuery {
    /// The user whose form to fill in.
    #[serde(default)]
    edit: String,
}

/// The user form's values.
#[derive(Default)]
pub(crate) struct UserDraft {
    name: String,
    display_name: String,
    email: String,
    role: String,
    tenants: String,
    groups: String,
    disabled: bool,
    editing: bool,
}

pub(crate) struct UserRow {
    u: UserDto,
    role: &'static str,
    scope: String,
    last_sign_in: String,
}

fn scope_text(tenants: &[String], groups: &[String]) -> String {
    if tenants.is_empty() && groups.is_empty() {
        return "every tenant".to_string();
    }
    let mut parts = tenants.to_vec();
    parts.extend(groups.iter().map(|g| format!("group {g}")));
    parts.join(", ")
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: &'static [&'static str],
    d: UserDraft,
    notice: Option<Notice>,
}

async fn render_users(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    edit: &str,
    draft: Option<UserDraft>,
    notice: Option<Notice>,
) -> UiResult<Response> {
    let users = api::users(state, &user.caller).await?;
    let d = draft.unwrap_or_else(|| {
        users
            .iter()
            .find(|u| !edit.is_empty() && u.name.eq_ignore_ascii_case(edit))
            .map(|u| UserDraft {
                name: u.name.clone(),
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                role: u.role.clone(),
                tenants: u.tenants.join(", "),
                groups: u.tenant_groups.join(", "),
                disabled: u.disabled,
                editing: true,
            })
            .unwrap_or_else(|| UserDraft {
                role: "reader".to_string(),
                ..Default::default()
            })
    });
    let users = users
        .into_iter()
        .map(|u| UserRow {
            role: view::role_label(&u.role),
            scope: scope_text(&u.tenants, &u.tenant_groups),
            last_sign_in: view::when_of(&u.last_sign_in_at),
            u,
        })
        .collect();
    html_status(
        status,
        &UsersPage {
            layout: user.layout("Users", "users"),
            users,
            roles: Role::NAMES,
            d,
            notice,
        },
    )
}

/// `GET /users` (admins without a tenant limit, as the API's).
pub(crate) async fn users(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<UsersQuery>,
) -> UiResult<Response> {
    render_users(&state, &user, StatusCode::OK, q.edit.trim(), None, None).await
}

fn user_draft(form: &UiForm, editing: bool) -> UserDraft {
    UserDraft {
        name: form.get("name").to_string(),
        display_name: form.get("display_name").to_string(),
        email: form.get("email").to_string(),
        role: form.get("role").to_string(),
        tenants: form.get("tenants").to_string(),
        groups: form.get("groups").to_string(),
        disabled: form.get("disabled") == "true",
        editing,
    }
}

/// What a change to users came to: back to the list, or the page again
/// with what went wrong and the form as sent (without the password).
async fn user_outcome<T>(
    state: &AppState,
    form: &UiForm,
    r: Result<T, crate::http::ApiError>,
    draft: impl FnOnce() -> Option<UserDraft>,
) -> UiResult<Response> {
    match r {
        Ok(_) => Ok(Redirect::to("/users").into_response()),
        Err(e) => {
            let (status, notice) = refusal(e)?;
            render_users(state, &form.user, status, "", draft(), Some(notice)).await
        }
    }
}

/// `POST /users/add`.
pub(crate) async fn add_user(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let body = CreateUser {
        name: form.get("name").to_string(),
        display_name: form.get("display_name").to_string(),
        email: form.get("email").to_string(),
        role: form.get("role").to_string(),
        tenants: view::list_field(form.get("tenants")),
        tenant_groups: view::list_field(form.get("groups")),
        // as typed: spaces are part of a password
        password: form
            .fields
            .iter()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    let r = api::add_user(&state, &form.user.caller, body).await;
    user_outcome(&state, &form, r, || Some(user_draft(&form, false))).await
}

/// `POST /users/update`: every field of the form replaces the user's; the
/// password only when one is given.
pub(crate) async fn update_user(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let password = form
        .fields
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .filter(|p| !p.is_empty());
    let body = UpdateUser {
        display_name: Some(form.get("display_name").to_string()),
        email: Some(form.get("email").to_string()),
        role: Some(form.get("role").to_string()),
        tenants: Some(view::list_field(form.get("tenants"))),
        tenant_groups: Some(view::list_field(form.get("groups"))),
        disabled: Some(form.get("disabled") == "true"),
        password,
    };
    let r = api::change_user(&state, &form.user.caller, form.get("name"), body).await;
    user_outcome(&state, &form, r, || Some(user_draft(&form, true))).await
}

/// `POST /users/unlock`: clears a user's failed sign-ins.
pub(crate) async fn unlock_user(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let r = api::unlock(&state, &form.user.caller, form.get("name")).await;
    user_outcome(&state, &form, r, || None).await
}

/// `POST /users/remove`.
pub(crate) async fn remove_user(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let r = api::remove_user(&state, &form.user.caller, form.get("name")).await;
    user_outcome(&state, &form, r, || None).await
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokensQuery {
    /// Another user's tokens (admins).
    #[serde(default)]
    user: String,
}

pub(crate) struct TokenRow {
    t: TokenDto,
    scope: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: String,
}

/// The token form's values.
#[derive(Default)]
pub(crate) struct TokenDraft {
    name: String,
    role: String,
    tenants: String,
    groups: String,
    expires_in: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    /// Whose tokens: the caller's, or (admins) another user's.
    owner: String,
    own: bool,
    tokens: Vec<TokenRow>,
    /// The roles a new token may have: the caller's and below.
    roles: Vec<&'static str>,
    d: TokenDraft,
    /// A token just created: (name, secret), shown this once.
    created: Option<(String, String)>,
    notice: Option<Notice>,
}

struct TokensView {
    owner: String,
    status: StatusCode,
    draft: TokenDraft,
    created: Option<(String, String)>,
    notice: Option<Notice>,
}

async fn render_tokens(state: &AppState, user: &SignedIn, v: TokensView) -> UiResult<Response> {
    let caller = &user.caller;
    let owner = match v.owner.trim().to_ascii_lowercase() {
        o if o.is_empty() => caller.name.clone(),
        o => o,
    };
    let tokens = api::tokens(
        state,
        caller,
        TokenParams {
            user: Some(owner.clone()),
        },
    )
    .await?
    .into_iter()
    .map(|t| TokenRow {
        scope: scope_text(&t.tenants, &t.tenant_groups),
        created: view::when_of(&Some(t.created_at.clone())),
        expires: view::date_of(&t.expires_at),
        last_used: view::when_of(&t.last_used_at),
        revoked: view::when_of(&t.revoked_at),
        t,
    })
    .collect();
    let roles = Role::NAMES
        .iter()
        .copied()
        .filter(|r| r.parse::<Role>().is_ok_and(|r| caller.role.is_at_least(r)))
        .collect();
    let mut d = v.draft;
    if d.role.is_empty() {
        d.role = caller.role.as_str().to_string();
    }
    html_status(
        v.status,
        &TokensPage {
            layout: user.layout("API tokens", "tokens"),
            own: owner == caller.name,
            owner,
            tokens,
            roles,
            d,
            created: v.created,
            notice: v.notice,
        },
    )
}

/// `GET /tokens` (`?user=` another user's, for admins).
pub(crate) async fn tokens(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<TokensQuery>,
) -> UiResult<Response> {
    render_tokens(
        &state,
        &user,
        TokensView {
            owner: q.user,
            status: StatusCode::OK,
            draft: TokenDraft::default(),
            created: None,
            notice: None,
        },
    )
    .await
}

/// `POST /tokens/add`: a token for the signed-in user; the answer shows its
/// secret once.
pub(crate) async fn add_token(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let draft = TokenDraft {
        name: form.get("name").to_string(),
        role: form.get("role").to_string(),
        tenants: form.get("tenants").to_string(),
        groups: form.get("groups").to_string(),
        expires_in: form.get("expires_in").to_string(),
    };
    let opt = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let body = CreateToken {
        name: draft.name.clone(),
        role: opt(&draft.role),
        tenants: view::list_field(&draft.tenants),
        tenant_groups: view::list_field(&draft.groups),
        expires_in: opt(&draft.expires_in),
    };
    let (status, draft, created, notice) =
        match api::add_token(&state, &form.user.caller, body).await {
            Ok(c) => (
                StatusCode::CREATED,
                TokenDraft::default(),
                Some((c.token.name, c.secret)),
                None,
            ),
            Err(e) => {
                let (status, notice) = refusal(e)?;
                (status, draft, None, Some(notice))
            }
        };
    render_tokens(
        &state,
        &form.user,
        TokensView {
            owner: String::new(),
            status,
            draft,
            created,
            notice,
        },
    )
    .await
}

/// `POST /tokens/revoke`: one of the caller's tokens, or anyone's for an
/// admin.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let id: i64 = form
        .get("id")
        .parse()
        .map_err(|_| UiError::bad_request(format!("`{}` is not a token id", form.get("id"))))?;
    api::revoke(&state, &form.user.caller, id).await?;
    let owner = form.get("user");
    let back = if owner.is_empty() || owner == form.user.caller.name {
        "/tokens".to_string()
    } else {
        format!("/tokens{}", view::query_string([("user", owner)]))
    };
    Ok(Redirect::to(&back).into_response())
}

// ---------------------------------------------------------------- audit

/// Entries per page.
const AUDIT_PAGE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    before: String,
}

pub(crate) struct AuditRow {
    e: AuditEntryDto,
    at: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    actor: String,
    action: String,
    rows: Vec<AuditRow>,
    older: Option<String>,
    newest: Option<String>,
    prefixes: &'static [&'static str],
}

/// `GET /audit` (admins without a tenant limit, as the API's).
pub(crate) async fn audit(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<AuditQuery>,
) -> UiResult<Response> {
    let before = match q.before.trim() {
        "" => None,
        b => Some(
            b.parse::<i64>()
                .map_err(|_| UiError::bad_request(format!("before `{b}` is not an entry id")))?,
        ),
    };
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let page = api_audit::audit_page(
        &state,
        &user.caller,
        AuditParams {
            actor: opt(&q.actor),
            action: opt(&q.action),
            before,
            limit: Some(AUDIT_PAGE),
        },
    )
    .await?;
    let (actor, action) = (q.actor.trim(), q.action.trim());
    let older = page.next_before.map(|b| {
        format!(
            "/audit{}",
            view::query_string([
                ("actor", actor),
                ("action", action),
                ("before", b.to_string().as_str())
            ])
        )
    });
    let newest = before.map(|_| {
        format!(
            "/audit{}",
            view::query_string([("actor", actor), ("action", action)])
        )
    });
    let rows = page
        .items
        .into_iter()
        .map(|e| AuditRow {
            at: view::when_of(&Some(e.at.clone())),
            detail: match &e.detail {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                d => d.to_string(),
            },
            e,
        })
        .collect();
    html(&AuditPage {
        layout: user.layout("Audit log", "audit"),
        actor: actor.to_string(),
        action: action.to_string(),
        rows,
        older,
        newest,
        prefixes: &[
            "session.",
            "user.",
            "token.",
            "owner.",
            "ownership.",
            "group.",
            "rule.",
            "tenant.",
            "view.",
        ],
    })
}
