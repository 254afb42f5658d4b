//! Notifications (`/outbox`): the channels (never their URLs or secrets)
//! and the delivery log with filters (failed, post, channel), and sending
//! failed deliveries again, through the API's own functions in
//! `routes::notify` (the same checks, the same audit entries). Change
//! managers and admins without a tenant limit.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{Layout, Notice};
use super::{SignedIn, UiForm, UiResult, html_status, refusal};
use crate::http::AppState;
use crate::http::auth::Need;
use crate::http::routes::notify::{self as api, DeliveryDto, DeliveryParams, RetryRequest};
use crate::outbox::ChannelRequest;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OutboxQuery {
    #[serde(default)]
    failed: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    channel: String,
    /// How many deliveries the last retry put back.
    #[serde(default)]
    retried: Option<u64>,
}

pub(crate) struct ChannelView {
    name: String,
    kind: String,
    hears: String,
    enabled: bool,
    reason: String,
    by: String,
    /// The configuration file that declares it (empty: none); such a
    /// channel changes only there.
    declared_in: String,
}

pub(crate) struct DeliveryView {
    d: DeliveryDto,
    when: String,
    last: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    layout: Layout,
    notice: Option<Notice>,
    channels: Vec<ChannelView>,
    rows: Vec<DeliveryView>,
    failed: bool,
    post: String,
    channel: String,
    any_failed: bool,
    /// A secret key is configured: channels can be added.
    can_add: bool,
}

/// `GET /outbox`.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<OutboxQuery>,
) -> UiResult<Response> {
    let notice = q.retried.map(|n| Notice {
        ok: true,
        text: format!(
            "{n} deliver{} back in the queue: they are sent within a second",
            if n == 1 { "y" } else { "ies" }
        ),
    });
    render(&state, &user, &q, notice, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    user: &SignedIn,
    q: &OutboxQuery,
    notice: Option<Notice>,
    status: StatusCode,
) -> UiResult<Response> {
    let state = state.clone();
    let caller = &user.caller;
    caller.require(Need::Configure)?;
    let failed = q.failed.trim() == "true";
    let rows = api::deliveries(
        &state,
        caller,
        DeliveryParams {
            failed: Some(failed),
            post: Some(q.post.clone()),
            channel: Some(q.channel.clone()),
            limit: Some(500),
        },
    )
    .await?;
    let any_failed = failed && !rows.is_empty()
        || !api::deliveries(
            &state,
            caller,
            DeliveryParams {
                failed: Some(true),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await?
        .is_empty();
    let channels = state
        .store
        .channels()
        .await?
        .into_iter()
        .map(|c| ChannelView {
            name: c.name,
            kind: if c.settings.recipients.is_empty() {
                c.kind
            } else {
                format!("{} to {}", c.kind, c.settings.recipients.join(", "))
            },
            hears: {
                let settings = c.settings.describe();
                if settings.is_empty() {
                    c.filter.describe()
                } else {
                    format!("{}; {settings}", c.filter.describe())
                }
            },
            enabled: c.enabled,
            reason: c.disabled_reason.unwrap_or_default(),
            by: c.created_by,
            declared_in: c.declared_in.unwrap_or_default(),
        })
        .collect();
    let rows = rows
        .into_iter()
        .map(|d| {
            let when = match (&d.delivered_at, d.state.as_str()) {
                (Some(at), _) => format!("delivered {at}"),
                (None, "pending") => format!("next {}", d.next_attempt_at),
                _ => d.created_at.clone(),
            };
            let last = match (&d.last_status, &d.last_error) {
                (Some(s), Some(e)) => format!("{s}: {e}"),
                (Some(s), None) => s.to_string(),
                (None, Some(e)) => e.clone(),
                (None, None) => String::new(),
            };
            DeliveryView { d, when, last }
        })
        .collect();
    html_status(
        status,
        &OutboxPage {
            layout: user.layout("Notifications", "outbox"),
            notice,
            channels,
            rows,
            failed,
            post: q.post.trim().to_string(),
            channel: q.channel.trim().to_string(),
            any_failed,
            can_add: state.keyring.is_some(),
        },
    )
}

/// `POST /outbox/retry`: one delivery (`id`) or every failed one
/// (`all_failed`).
pub(crate) async fn retry(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let all_failed = form.get("all_failed") == "true";
    let ids: Vec<i64> = form
        .all("id")
        .iter()
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let done = api::retry(&state, &form.user.caller, RetryRequest { ids, all_failed }).await?;
    Ok(Redirect::to(&format!("/outbox?retried={}", done.retried)).into_response())
}

/// Comma- or line-separated values of a form field.
fn list(v: &str) -> Vec<String> {
    v.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The Outbox page again, saying why the channel form was refused (400).
async fn refuse_form(state: &AppState, form: &UiForm, why: &str) -> UiResult<Response> {
    let notice = Notice {
        ok: false,
        text: why.into(),
    };
    render(
        state,
        &form.user,
        &OutboxQuery::default(),
        Some(notice),
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// `POST /outbox/channels`: adds a channel (a webhook, e-mail, Teams,
/// Slack, or a connector to ServiceNow, Jira or GLPI); the page shows a
/// webhook's signing secret made for it this once.
pub(crate) async fn add_channel(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let text = |k: &str| Some(form.get(k).trim().to_string()).filter(|s| !s.is_empty());
    let batch_minutes = match text("batch_minutes") {
        None => None,
        Some(m) => match m.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return refuse_form(
                    &state,
                    &form,
                    "The batching window is a whole number of minutes.",
                )
                .await;
            }
        },
    };
    let quiet = match (text("quiet_from"), text("quiet_to")) {
        (None, None) => None,
        (from, to) => Some(crate::outbox::QuietRequest {
            from: from.unwrap_or_default(),
            to: to.unwrap_or_default(),
            time_zone: text("time_zone"),
            urgent_severities: if form.get("urgent_critical") == "true" {
                vec!["critical".into()]
            } else {
                Vec::new()
            },
            urgent_major: false,
        }),
    };
    let digest = match text("digest").as_deref() {
        Some(cadence @ ("daily" | "weekly")) => Some(crate::outbox::DigestRequest {
            weekday: (cadence == "weekly")
                .then(|| text("digest_day").unwrap_or_else(|| "monday".into())),
            at: text("digest_at").unwrap_or_else(|| "08:00".into()),
            time_zone: text("time_zone"),
        }),
        _ => None,
    };
    let entities_id = match text("c_entities_id").map(|e| e.parse::<i64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return refuse_form(&state, &form, "A GLPI entity is a number.").await,
    };
    let checked = |k: &str| form.get(k) == "true";
    let connector = text("kind")
        .and_then(|k| k.parse::<changedesk_core::notify::ChannelKind>().ok())
        .filter(|k| k.is_connector())
        .map(|_| crate::outbox::ConnectorRequest {
            user: text("c_user"),
            auth: text("c_auth"),
            model: text("c_model"),
            template: text("c_template"),
            project: text("c_project"),
            issue_type: text("c_issue_type"),
            incident_issue_type: text("c_incident_issue_type"),
            entities_id,
            api: text("c_api"),
            app_token: text("c_app_token"),
            follow: Some(crate::outbox::FollowRequest {
                in_progress: None,
                done: text("c_when_done"),
                canceled: text("c_when_canceled"),
                close_ticket: Some(checked("c_close_ticket")),
            }),
            raise_required: Some(checked("c_raise_required")),
            incidents: Some(checked("c_incidents")),
            tenant: text("c_tenant"),
            login: text("c_login"),
            plan: text("c_plan"),
            buckets: text("c_buckets"),
            bucket: text("c_bucket"),
        });
    let req = ChannelRequest {
        name: form.get("name").to_string(),
        kind: text("kind"),
        url: text("url").or_else(|| text("webhook")),
        secret: text("secret"),
        recipients: list(form.get("recipients")),
        events: form.all("event").iter().map(|s| s.to_string()).collect(),
        services: list(form.get("services")),
        severities: form.all("severity").iter().map(|s| s.to_string()).collect(),
        major: form.get("major") == "true",
        tenants: list(form.get("tenants")),
        owner: text("owner"),
        batch_minutes,
        quiet,
        digest,
        review: (form.get("review") == "true").then(|| crate::outbox::DigestRequest {
            weekday: Some(text("review_day").unwrap_or_else(|| "monday".into())),
            at: text("review_at").unwrap_or_else(|| "08:00".into()),
            time_zone: text("time_zone"),
        }),
        report: text("report").map(|every| crate::outbox::channel::ReportRequest {
            every,
            at: text("report_at").unwrap_or_else(|| "08:00".into()),
            time_zone: text("time_zone"),
        }),
        allow_private: form.get("allow_private") == "true",
        connector,
    };
    let q = OutboxQuery::default();
    match api::add(&state, &form.user.caller, req).await {
        Ok(added) => {
            let text = match added.secret {
                Some(secret) => format!(
                    "Channel {} added. Its signing secret, shown this once (the receiver verifies webhook-signature with it): {secret}",
                    added.channel.name
                ),
                None => format!("Channel {} added.", added.channel.name),
            };
            let notice = Notice { ok: true, text };
            render(&state, &form.user, &q, Some(notice), StatusCode::OK).await
        }
        Err(e) => {
            let (status, notice) = refusal(e)?;
            render(&state, &form.user, &q, Some(notice), status).await
        }
    }
}

/// `POST /outbox/channels/remove`.
pub(crate) async fn remove_channel(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    api::remove(&state, &form.user.caller, form.get("name")).await?;
    Ok(Redirect::to("/outbox").into_response())
}

/// `POST /outbox/channels/test`: queues a test message; the log shows it.
pub(crate) async fn test_channel(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let name = form.get("name").trim().to_ascii_lowercase();
    api::test(&state, &form.user.caller, &name).await?;
    Ok(Redirect::to(&format!("/outbox?channel={}", super::view::encode(&name))).into_response())
}
