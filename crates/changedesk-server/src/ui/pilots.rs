//! The preview and pilot programme in the web UI (issue 21, item 5):
//! `/pilots` lists the pilot groups (kept by change managers and admins
//! without a tenant limit: the API's own functions, audited) and the pilot
//! tasks of the caller's posts, open ones first; a task's finding is
//! recorded on its post's page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::view::{Layout, Notice};
use super::{SignedIn, UiForm, UiResult};
use crate::http::AppState;
use crate::http::auth::Need;
use crate::http::routes::pilots::{self as api, PilotGroupRequest, PilotParams};

#[derive(Template)]
#[template(path = "pilots.html")]
struct PilotsPage {
    layout: Layout,
    notice: Option<Notice>,
    can_configure: bool,
    /// name, description, workloads, members (count).
    groups: Vec<(String, String, String, usize)>,
    /// post, group, first day, finding (empty: open).
    tasks: Vec<(String, String, String, String)>,
}

async fn page(
    state: &AppState,
    user: &SignedIn,
    notice: Option<Notice>,
    status: StatusCode,
) -> UiResult<Response> {
    let groups = api::groups(state, &user.caller).await?;
    let mut tasks = api::tasks(state, &user.caller, &PilotParams::default()).await?;
    // open ones first, then the newest
    tasks.sort_by_key(|t| t.finding.is_some());
    let page = PilotsPage {
        layout: user.layout("Pilots", "pilots"),
        notice,
        can_configure: user.caller.require(Need::Configure).is_ok(),
        groups: groups
            .into_iter()
            .map(|g| {
                (
                    g.name,
                    g.description,
                    g.workloads.join(", "),
                    g.members.len(),
                )
            })
            .collect(),
        tasks: tasks
            .into_iter()
            .map(|t| {
                let finding = t.finding.map(|f| f.recommendation).unwrap_or_default();
                (
                    t.post_id,
                    t.group,
                    changedesk_core::timeline::iso(t.pilot_start),
                    finding,
                )
            })
            .collect(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /pilots`.
pub(crate) async fn list(State(state): State<AppState>, user: SignedIn) -> UiResult<Response> {
    page(&state, &user, None, StatusCode::OK).await
}

/// Splits a list typed one per line or comma-separated.
fn list_of(text: &str) -> Vec<String> {
    text.split([',', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// `POST /pilots/save`: adds or replaces a pilot group.
pub(crate) async fn save(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let req = PilotGroupRequest {
        description: form.get("description").to_string(),
        workloads: list_of(form.get("workloads")),
        members: list_of(form.get("members")),
    };
    match api::save(&state, &form.user.caller, form.get("name"), req).await {
        Ok(()) => Ok(Redirect::to("/pilots").into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            page(&state, &form.user, Some(Notice::error(e.detail)), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /pilots/remove`: removes a pilot group.
pub(crate) async fn remove(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    api::remove(&state, &form.user.caller, form.get("name")).await?;
    Ok(Redirect::to("/pilots").into_response())
}
