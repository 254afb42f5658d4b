//! The tenants page's onboarding forms (add tenants from a CSV list, make a
//! consent link, check access, remove) and the page an administrator comes
//! back to after an admin consent. Each calls the API's function
//! (`routes::tenants::add`, `make_consent_link`, `check`), never a copy of
//! its checks.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::health::{TenantsQuery, render_tenants};
use super::view::{Layout, Notice};
use super::{UiForm, UiResult, html_status, refusal};
use crate::http::AppState;
use crate::http::auth::Need;
use crate::http::routes::tenants::{self as api, ConsentCallback};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    layout: Layout,
    title: &'static str,
    text: String,
    ok: bool,
}

/// `GET /consent/callback`: records the answer of an admin consent (no
/// sign-in: the link's state is the proof) and says what was recorded.
pub(crate) async fn callback(
    State(state): State<AppState>,
    Query(q): Query<ConsentCallback>,
) -> UiResult<Response> {
    let (status, title, text) = api::take_consent(&state, &q).await;
    html_status(
        status,
        &ConsentPage {
            layout: Layout::anonymous(title),
            title,
            text,
            ok: status == StatusCode::OK && title == "Consent recorded",
        },
    )
}

/// What a form's action came to: a notice (and a consent link) on the page.
async fn answer(
    state: &AppState,
    form: &UiForm,
    done: Result<(Notice, Option<(String, String)>), crate::http::error::ApiError>,
) -> UiResult<Response> {
    match done {
        Ok((notice, link)) => {
            render_tenants(
                state,
                &form.user,
                StatusCode::OK,
                Some(notice),
                link,
                &TenantsQuery::default(),
            )
            .await
        }
        Err(e) => {
            let (status, notice) = refusal(e)?;
            render_tenants(
                state,
                &form.user,
                status,
                Some(notice),
                None,
                &TenantsQuery::default(),
            )
            .await
        }
    }
}

/// `POST /tenants/add`: tenants from a pasted CSV list, all or none.
pub(crate) async fn add(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let done = async {
        form.user.caller.require(Need::Admin)?;
        let tenants = api::from_csv(form.get("csv"))?;
        let added = api::add(&state, &form.user.caller, &tenants).await?;
        let mut parts = vec![format!("{} added", added.added.len())];
        if !added.updated.is_empty() {
            parts.push(format!("{} updated", added.updated.len()));
        }
        if !added.unchanged.is_empty() {
            parts.push(format!("{} unchanged", added.unchanged.len()));
        }
        Ok((
            Notice::ok(format!(
                "Tenants: {}. Make a consent link for each, and send it to an administrator of that tenant.",
                parts.join(", ")
            )),
            None,
        ))
    }
    .await;
    answer(&state, &form, done).await
}

/// `POST /tenants/consent-link`: a new admin-consent link for the form's
/// tenant, shown on the page.
pub(crate) async fn consent_link(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let name = form.get("name").to_string();
    let done = async {
        let url = api::make_consent_link(&state, &form.user.caller, &name, &state.now()).await?;
        Ok((
            Notice::ok(format!(
                "A new consent link for {name}: send it to an administrator of that tenant. It is good for {} days; an older link no longer counts.",
                crate::onboard::CONSENT_LINK_DAYS
            )),
            Some((name.clone(), url)),
        ))
    }
    .await;
    answer(&state, &form, done).await
}

/// `POST /tenants/check`: checks access to the form's tenant now.
pub(crate) async fn check(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let name = form.get("name").to_string();
    let done = async {
        let c = api::check(&state, &form.user.caller, &name).await?;
        let notice = match (&c.error, c.missing.is_empty()) {
            (Some(e), _) => Notice::error(format!("{name}: no access: {e}")),
            (None, true) => Notice::ok(format!("{name}: access checked, every permission granted.")),
            (None, false) => Notice::error(format!(
                "{name} lacks {}: an administrator of that tenant must consent again (a new consent link asks for them).",
                c.missing.join(", ")
            )),
        };
        Ok((notice, None))
    }
    .await;
    answer(&state, &form, done).await
}

/// `POST /tenants/remove`: stops syncing the form's tenant (its archive and
/// work stay).
pub(crate) async fn remove(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let name = form.get("name").to_string();
    let done = async {
        api::remove(&state, &form.user.caller, &name).await?;
        Ok((
            Notice::ok(format!(
                "{name} is no longer synced; what was archived of it stays."
            )),
            None,
        ))
    }
    .await;
    answer(&state, &form, done).await
}

/// `POST /tenants/rename`: renames the form's tenant everywhere.
pub(crate) async fn rename(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let name = form.get("name").trim().to_string();
    let to = form.get("to").trim().to_string();
    let done = async {
        let r = api::rename(&state, &form.user.caller, &name, &to).await?;
        Ok((
            Notice::ok(format!(
                "{} is now {}: renamed in {} work items, {} log entries, {} ownership entries, {} tenant limits, {} channels, {} saved views{}.",
                r.from,
                r.to,
                r.work_items,
                r.log_entries,
                r.ownership,
                r.scopes,
                r.channels,
                r.views,
                if r.groups.is_empty() {
                    String::new()
                } else {
                    format!(" and the groups {}", r.groups.join(", "))
                }
            )),
            None,
        ))
    }
    .await;
    answer(&state, &form, done).await
}

/// `POST /tenants/purge`: purges the form's tenant (a decommissioned
/// customer): what is its own goes, shared content stays.
pub(crate) async fn purge(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let name = form.get("name").trim().to_string();
    let done = async {
        if form.get("confirm").trim() != name {
            return Err(crate::http::error::ApiError::bad_request(
                "type the tenant's name again to purge it (nothing was removed)",
            ));
        }
        let r = api::purge(&state, &form.user.caller, &name).await?;
        Ok((
            Notice::ok(format!(
                "{} was purged: {} post links and {} incident links ({} posts and {} incidents no other tenant saw stay in the archive, seen by none), exceptions in {} work items, {} ownership entries, {} health rows and {} sync runs.",
                r.name,
                r.post_links,
                r.incident_links,
                r.posts_seen_by_none,
                r.incidents_seen_by_none,
                r.work_items,
                r.ownership,
                r.health,
                r.runs
            )),
            None,
        ))
    }
    .await;
    answer(&state, &form, done).await
}
