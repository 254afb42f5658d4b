//! `/me/notifications`: a person's own e-mail subscription (any signed-in
//! person): which events, services, severities and tenants (of those they
//! see), immediately or as a daily or weekly digest, quiet hours. The same
//! as `PUT /api/v1/me/subscription`; audited in their name.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::view::{Layout, Notice};
use super::{SignedIn, UiForm, UiResult, html_status};
use crate::http::AppState;
use crate::http::routes::notify as api;
use crate::outbox::{QuietRequest, SubscriptionRequest};

#[derive(Template)]
#[template(path = "subscription.html")]
struct SubscriptionPage {
    layout: Layout,
    notice: Option<Notice>,
    /// What the current subscription hears of, in words; empty: none.
    current: String,
    email: String,
    events: Vec<(&'static str, &'static str, bool)>,
    services: String,
    tenants: String,
    severities: Vec<(&'static str, bool)>,
    major: bool,
    cadence: String,
    at: String,
    weekday: String,
    time_zone: String,
    quiet_from: String,
    quiet_to: String,
}

const EVENTS: &[(&str, &str)] = &[
    ("post.routed", "a post routed to an owner"),
    ("post.changed", "a post changed after triage"),
    ("item.reopened", "an item reopened"),
    ("post.major", "a new major change"),
    ("post.act_by_soon", "a new post to act on within 30 days"),
    ("item.due_soon", "a decision due soon"),
    ("item.overdue", "an item overdue"),
    ("item.missed", "a decision deadline missed"),
    ("incident.new", "a new Service Health incident"),
    ("incident.updated", "an incident updated"),
    ("incident.resolved", "an incident resolved"),
    (
        "post.new_tenants",
        "a known post reaching more of my tenants (only when ticked)",
    ),
];

async fn render(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<Notice>,
) -> UiResult<Response> {
    let current = api::subscription_of(state, &user.caller).await?;
    let email = state
        .store
        .user_by_id(user.caller.user_id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let (filter, settings) = match &current {
        Some(c) => (c.filter.clone(), c.settings.clone()),
        None => (Default::default(), Default::default()),
    };
    let describe = current.as_ref().map(|c| {
        let s = c.settings.describe();
        let state = if c.enabled {
            String::new()
        } else {
            format!(
                " (stopped: {})",
                c.disabled_reason.clone().unwrap_or_default()
            )
        };
        format!("{}; {s}{state}", c.filter.describe())
    });
    let page = SubscriptionPage {
        layout: user.layout("My notifications", "subscription"),
        notice,
        current: describe.unwrap_or_default(),
        email,
        events: EVENTS
            .iter()
            .map(|(k, label)| (*k, *label, filter.events.iter().any(|e| e.as_str() == *k)))
            .collect(),
        services: filter.services.join(", "),
        tenants: filter.tenants.clone().unwrap_or_default().join(", "),
        severities: ["normal", "high", "critical"]
            .iter()
            .map(|s| (*s, filter.severities.iter().any(|x| x == s)))
            .collect(),
        major: filter.major_only,
        cadence: settings
            .digest
            .as_ref()
            .map_or("immediately", |d| d.cadence())
            .to_string(),
        at: settings
            .digest
            .as_ref()
            .map(|d| d.at.clone())
            .unwrap_or_default(),
        weekday: settings
            .digest
            .as_ref()
            .and_then(|d| d.weekday.clone())
            .unwrap_or_default(),
        time_zone: settings
            .digest
            .as_ref()
            .map(|d| d.time_zone.clone())
            .or_else(|| settings.quiet.as_ref().map(|q| q.time_zone.clone()))
            .unwrap_or_default(),
        quiet_from: settings
            .quiet
            .as_ref()
            .map(|q| q.from.clone())
            .unwrap_or_default(),
        quiet_to: settings
            .quiet
            .as_ref()
            .map(|q| q.to.clone())
            .unwrap_or_default(),
    };
    html_status(status, &page)
}

/// `GET /me/notifications`.
pub(crate) async fn page(State(state): State<AppState>, user: SignedIn) -> UiResult<Response> {
    render(&state, &user, StatusCode::OK, None).await
}

fn list(v: &str) -> Vec<String> {
    v.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// `POST /me/notifications`: saves the subscription.
pub(crate) async fn save(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let text = |k: &str| Some(form.get(k).trim().to_string()).filter(|s| !s.is_empty());
    let req = SubscriptionRequest {
        events: form.all("event").iter().map(|s| s.to_string()).collect(),
        services: list(form.get("services")),
        severities: form.all("severity").iter().map(|s| s.to_string()).collect(),
        major: form.get("major") == "true",
        tenants: list(form.get("tenants")),
        cadence: text("cadence"),
        at: text("at"),
        weekday: text("weekday"),
        time_zone: text("time_zone"),
        quiet: match (text("quiet_from"), text("quiet_to")) {
            (None, None) => None,
            (from, to) => Some(QuietRequest {
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
                time_zone: text("time_zone"),
                urgent_severities: vec!["critical".into()],
                urgent_major: false,
            }),
        },
    };
    match api::subscribe(&state, &form.user.caller, &req).await {
        Ok(_) => {
            let notice = Notice {
                ok: true,
                text: "Saved: you will be told by e-mail.".into(),
            };
            render(&state, &form.user, StatusCode::OK, Some(notice)).await
        }
        Err(e) if e.status.is_client_error() => {
            let notice = Notice::error(e.detail.clone());
            render(&state, &form.user, StatusCode::BAD_REQUEST, Some(notice)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /me/notifications/remove`: ends the subscription.
pub(crate) async fn remove(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let caller = &form.user.caller;
    state
        .store
        .remove_channel(
            &crate::outbox::subscription_name(caller.user_id),
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok(Redirect::to("/me/notifications").into_response())
}
