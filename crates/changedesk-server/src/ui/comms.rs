//! Communications of changes in the web UI (issue 21, item 4): the list and
//! the period's measure (`/comms`), one communication with its draft, its
//! approval, its sending and its reach (`/comms/{id}`), asking for one from
//! a post (`POST /posts/{id}/comms`), and the public pages its messages link
//! to (`/c/{token}`: the communication; `/c/{token}/ack`: "Got it"), which
//! need no sign-in: following a link only shows a page (mail scanners open
//! every link), the button's `POST` records the acknowledgement. Every
//! check is the API's (`routes::comms`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use changedesk_core::comms::CommsState;
use changedesk_store::{AckOutcome, CommsRow};
use serde::Deserialize;

use super::view::{self, Layout, Notice};
use super::{SignedIn, UiError, UiForm, UiResult, html};
use crate::http::AppState;
use crate::http::routes::comms::{
    self as api, ChangeRequest, CommsEdit, CommsParams, CommsRequest,
};

/// A communication's measure in a few words.
pub(crate) fn measure(c: &CommsRow) -> String {
    let r = changedesk_core::comms::reach(&c.facts());
    match c.state {
        CommsState::Draft => "draft".into(),
        CommsState::Approved => "approved, not sent".into(),
        CommsState::Cancelled => "cancelled".into(),
        CommsState::Sent if !r.delivered => match c.delivery_state.as_deref() {
            Some("failed") => "sending failed".into(),
            _ => "being sent".into(),
        },
        CommsState::Sent => {
            let rate = r
                .ack_rate
                .map(|x| format!(" ({})", percent(x)))
                .unwrap_or_default();
            let when = match r.before_rollout {
                Some(true) => " · before the rollout",
                Some(false) => " · after the rollout started",
                None => "",
            };
            format!("{} of {} acknowledged{rate}{when}", r.acks, r.reached)
        }
    }
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

#[derive(Template)]
#[template(path = "comms.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    days: i64,
    summary: api::CommsReportDto,
    ack_rate: String,
    before_rate: String,
    /// The next page's address, when there are older ones.
    older: Option<String>,
}

/// The list's page: those older than `before`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    before: Option<i64>,
}

/// Communications a page of the list shows.
const PAGE: i64 = 50;

struct Row {
    id: i64,
    post_id: String,
    subject: String,
    state: &'static str,
    assignee: String,
    measure: String,
}

/// `GET /comms`: the communications the caller sees and the last 90 days'
/// measure.
pub(crate) async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<ListQuery>,
) -> UiResult<Response> {
    // one more than a page: whether there are older ones
    let mut rows = api::list(
        &state,
        &user.caller,
        &CommsParams {
            before: q.before,
            limit: Some(PAGE + 1),
            ..Default::default()
        },
    )
    .await?;
    let older = if i64::try_from(rows.len()).unwrap_or(i64::MAX) > PAGE {
        rows.truncate(usize::try_from(PAGE).unwrap_or(usize::MAX));
        rows.last().map(|c| format!("/comms?before={}", c.id))
    } else {
        None
    };
    let days = crate::reports::DEFAULT_DAYS;
    let summary = api::report(&state, &user.caller, days).await?;
    let page = ListPage {
        layout: user.layout("Communications", "comms"),
        rows: rows
            .iter()
            .map(|c| Row {
                id: c.id,
                post_id: c.post_id.clone(),
                subject: c.text.subject.clone(),
                state: c.state.as_str(),
                assignee: c.assignee.clone().unwrap_or_default(),
                measure: measure(c),
            })
            .collect(),
        days,
        ack_rate: summary.ack_rate.map(percent).unwrap_or_else(|| "–".into()),
        before_rate: summary
            .before_rollout_rate
            .map(percent)
            .unwrap_or_else(|| "–".into()),
        summary,
        older,
    };
    html(&page)
}

#[derive(Template)]
#[template(path = "comms_detail.html")]
struct DetailPage {
    layout: Layout,
    notice: Option<Notice>,
    c: api::CommsDto,
    paragraphs: Vec<Vec<String>>,
    measure: String,
    channels: Vec<String>,
    /// The caller edits, sends and cancels (comms, change managers, admins).
    can_handle: bool,
    /// The caller may approve (those, or the item's owner).
    can_approve: bool,
    editable: bool,
    requested_at: String,
    sent_at: String,
    delivered_at: String,
    rollout_start: String,
}

async fn detail_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    notice: Option<Notice>,
    status: StatusCode,
) -> UiResult<Response> {
    let c = api::find(state, &user.caller, id).await?;
    let can_handle = user.caller.role.handles_comms();
    let owner = state
        .store
        .work_item(&c.post_id)
        .await?
        .and_then(|i| i.item.assignee.clone());
    let can_approve = can_handle || user.caller.may_act_on(owner.as_deref());
    let channels = if can_handle {
        state
            .store
            .channels()
            .await?
            .into_iter()
            .filter(|ch| ch.enabled && matches!(ch.kind.as_str(), "email" | "teams" | "slack"))
            .filter(|ch| {
                user.caller
                    .speaks_for(ch.filter.tenants.as_deref().unwrap_or_default())
            })
            .map(|ch| ch.name)
            .collect()
    } else {
        Vec::new()
    };
    let page = DetailPage {
        layout: user.layout(format!("Communication {id}"), "comms"),
        notice,
        paragraphs: c.text.paragraphs(),
        measure: measure(&c),
        channels,
        can_handle,
        can_approve,
        editable: can_handle && matches!(c.state, CommsState::Draft | CommsState::Approved),
        requested_at: view::when(&c.requested_at),
        sent_at: c.sent_at.as_ref().map(view::when).unwrap_or_default(),
        delivered_at: c.delivered_at.as_ref().map(view::when).unwrap_or_default(),
        rollout_start: c
            .rollout_start
            .map(|t| t.as_datetime().date().to_string())
            .unwrap_or_default(),
        c: api::CommsDto::from(&c),
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DetailParams {
    done: Option<String>,
}

/// `GET /comms/{id}`.
pub(crate) async fn detail(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Query(p): Query<DetailParams>,
) -> UiResult<Response> {
    // fixed words only: a crafted link says nothing of its own
    let notice = match p.done.as_deref() {
        Some("request") => Some(Notice::ok(
            "Asked for: the first draft is made from the post.",
        )),
        Some("edit") => Some(Notice::ok("Saved.")),
        Some("approve") => Some(Notice::ok("Approved: it can be sent.")),
        Some("send") => Some(Notice::ok(
            "Sent: it is delivered through its channel in a moment.",
        )),
        Some("cancel") => Some(Notice::ok("Cancelled.")),
        _ => None,
    };
    detail_page(&state, &user, id, notice, StatusCode::OK).await
}

/// `POST /posts/{id}/comms`: asks for a communication of the post.
pub(crate) async fn request(
    State(state): State<AppState>,
    Path(post): Path<String>,
    form: UiForm,
) -> UiResult<Response> {
    let label = form.get("audience_label");
    let req = CommsRequest {
        audience_label: (!label.is_empty()).then(|| label.to_string()),
        ..CommsRequest::default()
    };
    let c = api::request(&state, &form.user.caller, &post, req).await?;
    Ok(Redirect::to(&format!("/comms/{}?done=request", c.id)).into_response())
}

/// `POST /comms/{id}/{action}`: edit, approve, send or cancel; back to the
/// page, with what went wrong when it did.
pub(crate) async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    form: UiForm,
) -> UiResult<Response> {
    let version: i64 = form
        .get("version")
        .parse()
        .map_err(|_| UiError::bad_request("the form's version is missing"))?;
    let caller = &form.user.caller;
    let done = match action.as_str() {
        "edit" => {
            let size = form.get("audience_size");
            let audience_size = if size.is_empty() {
                None
            } else {
                match size.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        return detail_page(
                            &state,
                            &form.user,
                            id,
                            Some(Notice::error("The audience's size is a number of people.")),
                            StatusCode::BAD_REQUEST,
                        )
                        .await;
                    }
                }
            };
            let edit = CommsEdit {
                version,
                subject: form.get("subject").to_string(),
                body: form
                    .fields
                    .iter()
                    .find(|(k, _)| k == "body")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                audience_label: form.get("audience_label").to_string(),
                audience_size,
                channel: form.get("channel").to_string(),
                assignee: Some(form.get("assignee").to_string()).filter(|a| !a.is_empty()),
            };
            api::change(&state, caller, id, version, ChangeRequest::Edit(edit))
                .await
                .map(|_| "edit")
        }
        "approve" => api::change(&state, caller, id, version, ChangeRequest::Approve)
            .await
            .map(|_| "approve"),
        "cancel" => api::change(&state, caller, id, version, ChangeRequest::Cancel)
            .await
            .map(|_| "cancel"),
        "send" => {
            let base = api::base(&state, &headers);
            api::send(&state, caller, id, version, &base)
                .await
                .map(|_| "send")
        }
        _ => return Err(UiError::bad_request("unknown action")),
    };
    match done {
        Ok(done) => Ok(Redirect::to(&format!("/comms/{id}?done={done}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::UNAUTHORIZED => {
            Err(e.into())
        }
        Err(e) => {
            detail_page(
                &state,
                &form.user,
                id,
                Some(Notice::error(e.detail)),
                e.status,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- public

#[derive(Template)]
#[template(path = "comms_public.html")]
struct PublicPage {
    layout: Layout,
    token: String,
    subject: String,
    paragraphs: Vec<Vec<String>>,
    /// The recipient the link is for (an e-mail's), else empty: the page
    /// asks who is acknowledging.
    who: String,
    /// The acknowledgement page (the button first), not the reading.
    ack: bool,
    /// What the last POST did, for people.
    notice: Option<Notice>,
    acknowledged: bool,
}

fn invalid() -> UiError {
    UiError::Page {
        status: StatusCode::NOT_FOUND,
        message: "This link is not valid (it may be from another changedesk, or cut short by your mail program)."
            .to_string(),
    }
}

/// The communication a public token names, if it is sent.
async fn public_comms(state: &AppState, token: &str) -> UiResult<(CommsRow, Option<String>)> {
    let ring = state.keyring.as_deref().ok_or_else(invalid)?;
    let (id, who) = crate::comms::open(ring, token).ok_or_else(invalid)?;
    let c = state.store.comms(id).await?.ok_or_else(invalid)?;
    if c.state != CommsState::Sent {
        return Err(invalid());
    }
    Ok((c, who))
}

async fn public_page(
    state: &AppState,
    token: String,
    ack: bool,
    notice: Option<Notice>,
    status: StatusCode,
) -> UiResult<Response> {
    let (c, who) = public_comms(state, &token).await?;
    let acknowledged = match &who {
        Some(w) => state.store.acknowledged_comms(c.id, w).await?,
        None => false,
    };
    let page = PublicPage {
        layout: Layout::anonymous(&c.text.subject),
        token,
        subject: c.text.subject.clone(),
        paragraphs: c.text.paragraphs(),
        who: who.unwrap_or_default(),
        ack,
        notice,
        acknowledged,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /c/{token}`: the communication ("Read more").
pub(crate) async fn read(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    public_page(&state, token, false, None, StatusCode::OK).await
}

/// `GET /c/{token}/ack`: the "Got it" button (following the link records
/// nothing).
pub(crate) async fn ack_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    public_page(&state, token, true, None, StatusCode::OK).await
}

/// The longest acknowledgement form read.
const MAX_ACK_FORM: usize = 4096;

/// `POST /c/{token}/ack`: records the acknowledgement (once per person,
/// never more people than the audience).
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    let (c, who) = public_comms(&state, &token).await?;
    if body.len() > MAX_ACK_FORM {
        return Err(UiError::bad_request("the form is too large"));
    }
    let typed: String = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "who")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let who = match who {
        Some(w) => w,
        None => match changedesk_core::comms::acknowledger(&typed) {
            Ok(w) => w,
            Err(e) => {
                return public_page(
                    &state,
                    token,
                    true,
                    Some(Notice::error(e)),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
        },
    };
    let (notice, status) = match state
        .store
        .acknowledge_comms(c.id, &who, state.now())
        .await?
    {
        AckOutcome::Recorded => (
            Notice::ok("Thank you: your acknowledgement is recorded."),
            StatusCode::OK,
        ),
        AckOutcome::Already => (
            Notice::ok("You had acknowledged it already. Thank you."),
            StatusCode::OK,
        ),
        AckOutcome::Full => (
            Notice::error(
                "As many people as this message was sent to have acknowledged it already.",
            ),
            StatusCode::CONFLICT,
        ),
        AckOutcome::NotSent => return Err(invalid()),
    };
    public_page(&state, token, true, Some(notice), status).await
}
