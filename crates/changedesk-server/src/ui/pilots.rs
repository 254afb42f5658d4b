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

/// The most open pilot tasks `/pilots` shows (the API pages through all).
const OPEN_SHOWN: i64 = 1000;
/// The most done ones it shows, newest first.
const DONE_SHOWN: i64 = 100;

#[derive(Template)]
#[template(path = "pilots.html")]
struct PilotsPage {
    layout: Layout,
    notice: Option<Notice>,
    can_configure: bool,
    /// name, description, workloads, members (count), channel.
    groups: Vec<(String, String, String, usize, String)>,
    /// The channels a group may be told through (not connectors).
    channels: Vec<String>,
    /// post, group, first day, finding (empty: open).
    tasks: Vec<(String, String, String, String)>,
    /// More open tasks than the page shows.
    open_cut: bool,
}

async fn page(
    state: &AppState,
    user: &SignedIn,
    notice: Option<Notice>,
    status: StatusCode,
) -> UiResult<Response> {
    let groups = api::groups(state, &user.caller).await?;
    let can_configure = user.caller.require(Need::Configure).is_ok();
    let channels = if can_configure {
        state
            .store
            .channels()
            .await?
            .into_iter()
            .filter(|c| {
                c.kind
                    .parse::<changedesk_core::notify::ChannelKind>()
                    .is_ok_and(|k| !k.is_connector())
            })
            .map(|c| c.name)
            .collect()
    } else {
        Vec::new()
    };
    // the open ones first (those waiting for their group), then the
    // newest done
    let open = |state: &str, limit: i64| PilotParams {
        state: Some(state.to_string()),
        limit: Some(limit),
        ..Default::default()
    };
    let mut tasks = api::tasks(state, &user.caller, &open("open", OPEN_SHOWN)).await?;
    let open_count = tasks.len();
    tasks.extend(api::tasks(state, &user.caller, &open("done", DONE_SHOWN)).await?);
    let page = PilotsPage {
        layout: user.layout("Pilots", "pilots"),
        notice,
        can_configure,
        channels,
        open_cut: i64::try_from(open_count).unwrap_or(i64::MAX) >= OPEN_SHOWN,
        groups: groups
            .into_iter()
            .map(|g| {
                (
                    g.name,
                    g.description,
                    g.workloads.join(", "),
                    g.members.len(),
                    g.channel,
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
        channel: form.get("channel").to_string(),
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
