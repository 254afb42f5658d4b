//! Communications of changes (`/api/v1/comms`, issue 21 item 4): asked for
//! a post, drafted from it, edited and approved, sent once through an
//! e-mail, Teams or Slack channel, and measured (reach, acknowledgements,
//! before the rollout). The web UI's pages call the functions here.
//!
//! Who may: anyone who reads sees the communications of the posts they see
//! (a tenant-limited caller: those for their tenants only); the item's
//! owner, and `comms`, change managers and admins ask for one; `comms`,
//! change managers and admins edit, approve, send and cancel; the item's
//! owner may approve too. Every change is audited.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use changedesk_core::comms::{Audience, CommsState, CommsText};
use changedesk_core::notify::{ChannelKind, Event, EventKind};
use changedesk_store::{CommsChange, CommsRow, CommsSend, NewComms, PostHit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Json;
use crate::http::routes::posts::scope_of;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_comms))
        .routes(routes!(request_comms))
        .routes(routes!(get_comms, edit_comms))
        .routes(routes!(approve_comms))
        .routes(routes!(send_comms))
        .routes(routes!(cancel_comms))
        .routes(routes!(comms_report))
}

/// A communication, with its measure.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommsDto {
    pub id: i64,
    pub post_id: String,
    /// `draft`, `approved`, `sent` or `cancelled`.
    pub state: String,
    /// Send it back with a change: a change made meanwhile is a 409.
    pub version: i64,
    /// Whose people it is for (empty: everyone's).
    pub tenants: Vec<String>,
    /// Whom it is for (`All staff`).
    pub audience_label: String,
    /// The group's member count (a distribution list, a Teams channel);
    /// null: the e-mail channel's recipients.
    pub audience_size: Option<u64>,
    /// The channel it is sent through (empty: not chosen yet).
    pub channel: String,
    /// Who writes it (the comms lead).
    pub assignee: Option<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub updated_by: String,
    pub updated_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub sent_by: Option<String>,
    pub sent_at: Option<String>,
    pub subject: String,
    pub body: String,
    /// Its delivery: `pending`, `sending`, `delivered` or `failed`; null
    /// before it is sent.
    pub delivery_state: Option<String>,
    pub delivered_at: Option<String>,
    pub delivery_error: Option<String>,
    /// People it went to (fixed when sent) and reached (once delivered).
    pub sent_to: Option<u64>,
    pub reached: u64,
    /// Distinct people who acknowledged it, and their share of the audience.
    pub acks: u64,
    pub ack_rate: Option<f64>,
    /// The post's rollout start (its timeline's, else Graph's).
    pub rollout_start: Option<String>,
    /// Delivered before the rollout started; null when not delivered or the
    /// start is not known.
    pub before_rollout: Option<bool>,
}

impl From<&CommsRow> for CommsDto {
    fn from(c: &CommsRow) -> CommsDto {
        let reach = changedesk_core::comms::reach(&c.facts());
        let text = |t: Option<changedesk_core::Timestamp>| t.map(|t| t.to_canonical());
        CommsDto {
            id: c.id,
            post_id: c.post_id.clone(),
            state: c.state.as_str().to_string(),
            version: c.version,
            tenants: c.tenants.clone(),
            audience_label: c.audience.label.clone(),
            audience_size: c.audience.size,
            channel: c.channel.clone(),
            assignee: c.assignee.clone(),
            requested_by: c.requested_by.clone(),
            requested_at: c.requested_at.to_canonical(),
            updated_by: c.updated_by.clone(),
            updated_at: c.updated_at.to_canonical(),
            approved_by: c.approved_by.clone(),
            approved_at: text(c.approved_at),
            sent_by: c.sent_by.clone(),
            sent_at: text(c.sent_at),
            subject: c.text.subject.clone(),
            body: c.text.body.clone(),
            delivery_state: c.delivery_state.clone(),
            delivered_at: text(c.delivered_at),
            delivery_error: c.delivery_error.clone(),
            sent_to: c.sent_to,
            reached: reach.reached,
            acks: reach.acks,
            ack_rate: reach.ack_rate,
            rollout_start: text(c.rollout_start),
            before_rollout: reach.before_rollout,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommsParams {
    /// One post's communications.
    pub post: Option<String>,
    /// Only those in this state.
    pub state: Option<String>,
    /// Those older than this one (the id of the last of the page before).
    pub before: Option<i64>,
    /// How many (default and most: 1,000).
    pub limit: Option<i64>,
}

/// A communication to ask for. Without a subject and text, the first draft
/// is made from the post (the templates `comms/draft_*`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommsRequest {
    pub subject: Option<String>,
    pub body: Option<String>,
    /// Whom it is for (`All staff`).
    pub audience_label: Option<String>,
    /// The group's member count; absent: the e-mail channel's recipients.
    pub audience_size: Option<u64>,
    /// The channel to send it through (can be chosen later).
    pub channel: Option<String>,
    /// Who writes it (a user); absent: the comms lead, when exactly one
    /// user has the `comms` role.
    pub assignee: Option<String>,
    /// Whose people it is for (tenants that see the post); absent: every
    /// tenant's, or a tenant-limited caller's own.
    pub tenants: Option<Vec<String>>,
}

/// A communication's new text, audience and channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommsEdit {
    /// The version read.
    pub version: i64,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub audience_label: String,
    pub audience_size: Option<u64>,
    #[serde(default)]
    pub channel: String,
    pub assignee: Option<String>,
}

/// The version read, for approving, sending or cancelling.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommsVersion {
    pub version: i64,
}

/// The post `id` as `caller` sees it; 404 outside their scope.
pub(crate) async fn post_in_scope(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<PostHit> {
    let id = id.trim();
    let not_found = || {
        ApiError::not_found(format!(
            "post `{}` is not in your tenants",
            changedesk_core::text::clip_chars(id, 40)
        ))
    };
    super::posts::hit(&state.store, scope_of(caller), id)
        .await?
        .ok_or_else(not_found)
}

/// Whether a caller sees the posts a list names, each post asked once
/// (every post, for a caller without a tenant limit).
pub(crate) struct PostsSeen<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    seen: std::collections::HashMap<String, bool>,
}

impl<'a> PostsSeen<'a> {
    pub(crate) fn new(state: &'a AppState, caller: &'a Caller) -> PostsSeen<'a> {
        PostsSeen {
            state,
            caller,
            seen: std::collections::HashMap::new(),
        }
    }

    pub(crate) async fn sees(&mut self, post: &str) -> bool {
        if self.caller.unrestricted() {
            return true;
        }
        if let Some(s) = self.seen.get(post) {
            return *s;
        }
        let s = post_in_scope(self.state, self.caller, post).await.is_ok();
        self.seen.insert(post.to_string(), s);
        s
    }
}

/// Whether `caller` may see communication `c`: they see its post, and
/// (when limited to tenants) it is for their tenants only.
async fn visible(state: &AppState, caller: &Caller, c: &CommsRow) -> ApiResult<bool> {
    if !caller.speaks_for(&c.tenants) {
        return Ok(false);
    }
    Ok(post_in_scope(state, caller, &c.post_id).await.is_ok())
}

/// Communication `id` if `caller` may see it; 404 otherwise.
pub(crate) async fn find(state: &AppState, caller: &Caller, id: i64) -> ApiResult<CommsRow> {
    caller.require(Need::Read)?;
    let not_found = || ApiError::not_found(format!("communication {id} not found"));
    let c = state.store.comms(id).await?.ok_or_else(not_found)?;
    if visible(state, caller, &c).await? {
        Ok(c)
    } else {
        Err(not_found())
    }
}

/// The communications `caller` sees, newest first: a page of at most
/// `p.limit` (1,000), older than `p.before`; fewer only when there are no
/// more.
pub(crate) async fn list(
    state: &AppState,
    caller: &Caller,
    p: &CommsParams,
) -> ApiResult<Vec<CommsRow>> {
    caller.require(Need::Read)?;
    let wanted: Option<CommsState> =
        match p.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse().map_err(ApiError::bad_request)?),
            None => None,
        };
    let limit = page_limit(p.limit, changedesk_store::MAX_COMMS_LIST)?;
    let mut query = changedesk_store::CommsQuery {
        post_id: post_named(p.post.as_deref()),
        state: wanted,
        before: p.before,
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut seen = PostsSeen::new(state, caller);
    // the store's pages are read on until the caller's page is full: those
    // of other tenants are skipped, never a reason to stop early
    loop {
        let page = state
            .store
            .comms_page(&query, changedesk_store::MAX_COMMS_LIST)
            .await?;
        let more =
            i64::try_from(page.len()).unwrap_or(i64::MAX) >= changedesk_store::MAX_COMMS_LIST;
        query.before = page.last().map(|c| c.id);
        for c in page {
            if caller.speaks_for(&c.tenants) && seen.sees(&c.post_id).await {
                out.push(c);
                if i64::try_from(out.len()).unwrap_or(i64::MAX) >= limit {
                    return Ok(out);
                }
            }
        }
        if !more {
            return Ok(out);
        }
    }
}

/// A list's page size: `asked`, 1 to `most`; `most` when not asked.
pub(crate) fn page_limit(asked: Option<i64>, most: i64) -> ApiResult<i64> {
    match asked {
        None => Ok(most),
        Some(n) if (1..=most).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!("limit is 1 to {most}"))),
    }
}

/// The post a list's `post` parameter names (trimmed; blank: none).
pub(crate) fn post_named(post: Option<&str>) -> Option<String> {
    post.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The user `name` names, as stored (lower case), if there is one.
async fn user_named(state: &AppState, name: &str) -> ApiResult<Option<String>> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let users = state.store.users().await?;
    users
        .into_iter()
        .find(|u| u.name.eq_ignore_ascii_case(name))
        .map(|u| Some(u.name))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "there is no user `{}`",
                changedesk_core::text::clip_chars(name, 64)
            ))
        })
}

/// The channel `name` if it can carry a communication (enabled e-mail,
/// Teams or Slack), for `caller` (a tenant-limited caller only one limited
/// to their tenants).
async fn channel_for(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> ApiResult<changedesk_store::ChannelRow> {
    let name = name.trim();
    let channels = state.store.channels().await?;
    let Some(c) = channels
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
    else {
        return Err(ApiError::bad_request(format!(
            "there is no channel `{}`",
            changedesk_core::text::clip_chars(name, 64)
        )));
    };
    if !caller.speaks_for(c.filter.tenants.as_deref().unwrap_or_default()) {
        return Err(ApiError::bad_request(format!(
            "there is no channel `{}`",
            changedesk_core::text::clip_chars(name, 64)
        )));
    }
    let kind: ChannelKind = c.kind.parse().map_err(ApiError::bad_request)?;
    if !matches!(
        kind,
        ChannelKind::Email | ChannelKind::Teams | ChannelKind::Slack
    ) {
        return Err(ApiError::bad_request(format!(
            "a communication goes through an e-mail, Teams or Slack channel; `{}` is {}",
            c.name,
            kind.as_str()
        )));
    }
    if !c.enabled {
        return Err(ApiError::bad_request(format!(
            "the channel `{}` is disabled",
            c.name
        )));
    }
    Ok(c)
}

/// Asks for a communication of post `post_id` (audited `comms.request`).
pub(crate) async fn request(
    state: &AppState,
    caller: &Caller,
    post_id: &str,
    req: CommsRequest,
) -> ApiResult<CommsRow> {
    caller.require(Need::Read)?;
    let post = post_in_scope(state, caller, post_id).await?;
    let item = state.store.work_item(&post.summary.id).await?;
    let owner = item.as_ref().and_then(|i| i.item.assignee.clone());
    if !caller.role.handles_comms() && !caller.may_act_on(owner.as_deref()) {
        return Err(ApiError::forbidden(format!(
            "asking for a communication is for the item's owner, comms, change managers and admins, not a {}",
            caller.role.as_str()
        )));
    }
    let tenants = match req.tenants {
        Some(list) if !list.is_empty() => {
            let mut out = Vec::new();
            for t in list {
                let t = t.trim();
                match post.tenants.iter().find(|p| p.eq_ignore_ascii_case(t)) {
                    Some(p) if caller.sees(p) => {
                        if !out.contains(p) {
                            out.push(p.clone());
                        }
                    }
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "tenant `{}` does not see post {} (or is not yours)",
                            changedesk_core::text::clip_chars(t, 64),
                            post.summary.id
                        )));
                    }
                }
            }
            out
        }
        // a tenant-limited caller speaks for their own tenants only
        _ if !caller.unrestricted() => post
            .tenants
            .iter()
            .filter(|t| caller.sees(t))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    if !caller.unrestricted() && tenants.is_empty() {
        return Err(ApiError::not_found(format!(
            "post `{}` is not in your tenants",
            post.summary.id
        )));
    }
    let audience = Audience::checked(
        req.audience_label.as_deref().unwrap_or(""),
        req.audience_size,
    )
    .map_err(ApiError::bad_request)?;
    let text = match (req.subject.as_deref(), req.body.as_deref()) {
        (None, None) => crate::comms::draft(&state.comms.templates, &post, &audience.label)
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "the draft template did not make a usable draft: {e}"
                ))
            })?,
        (s, b) => {
            CommsText::checked(s.unwrap_or(""), b.unwrap_or("")).map_err(ApiError::bad_request)?
        }
    };
    let channel = match req
        .channel
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(c) => channel_for(state, caller, c).await?.name,
        None => String::new(),
    };
    let assignee = match req.assignee.as_deref() {
        Some(a) => user_named(state, a).await?,
        None => crate::comms::lead(&state.store.users().await?),
    };
    let new = NewComms {
        post_id: post.summary.id.clone(),
        tenants,
        audience,
        channel,
        assignee,
        text,
    };
    let id = state
        .store
        .create_comms(&new, &caller.actor(), state.now())
        .await?
        .ok_or_else(|| ApiError::conflict("the communication was asked for already"))?;
    find(state, caller, id).await
}

/// Applies a person's change (edit, approve, cancel) to communication `id`.
pub(crate) async fn change(
    state: &AppState,
    caller: &Caller,
    id: i64,
    version: i64,
    change: ChangeRequest,
) -> ApiResult<CommsRow> {
    let c = find(state, caller, id).await?;
    let change = match change {
        ChangeRequest::Edit(e) => {
            caller.require(Need::Comms)?;
            let text = CommsText::checked(&e.subject, &e.body).map_err(ApiError::bad_request)?;
            let audience = Audience::checked(&e.audience_label, e.audience_size)
                .map_err(ApiError::bad_request)?;
            let channel = match e.channel.trim() {
                "" => String::new(),
                name => channel_for(state, caller, name).await?.name,
            };
            let assignee = match e.assignee.as_deref() {
                Some(a) => user_named(state, a).await?,
                None => c.assignee.clone(),
            };
            CommsChange::Edit {
                text,
                audience,
                channel,
                assignee,
            }
        }
        ChangeRequest::Approve => {
            if !caller.role.handles_comms() {
                let owner = state
                    .store
                    .work_item(&c.post_id)
                    .await?
                    .and_then(|i| i.item.assignee.clone());
                if !caller.may_act_on(owner.as_deref()) {
                    caller.require(Need::Comms)?;
                }
            }
            CommsChange::Approve
        }
        ChangeRequest::Cancel => {
            caller.require(Need::Comms)?;
            CommsChange::Cancel
        }
    };
    Ok(state
        .store
        .change_comms(id, version, &change, &caller.actor(), state.now())
        .await?)
}

/// A person's change of a communication.
pub(crate) enum ChangeRequest {
    Edit(CommsEdit),
    Approve,
    Cancel,
}

/// Sends approved communication `id` through its channel (audited
/// `comms.send`); `base` is changedesk's address for the links.
pub(crate) async fn send(
    state: &AppState,
    caller: &Caller,
    id: i64,
    version: i64,
    base: &str,
) -> ApiResult<CommsRow> {
    caller.require(Need::Comms)?;
    let c = find(state, caller, id).await?;
    if c.state != CommsState::Approved {
        return Err(ApiError::bad_request(
            changedesk_core::comms::next_state(c.state, changedesk_core::comms::CommsAction::Send)
                .err()
                .unwrap_or_else(|| "the communication cannot be sent now".into()),
        ));
    }
    if c.channel.is_empty() {
        return Err(ApiError::bad_request(
            "choose the channel to send it through first",
        ));
    }
    let channel = channel_for(state, caller, &c.channel).await?;
    let kind: ChannelKind = channel.kind.parse().map_err(ApiError::bad_request)?;
    let ring = state.keyring.as_deref().ok_or_else(|| {
        ApiError::bad_request("communications need the secret key (CHANGEDESK_SECRET_KEY or [server] secret_key_file) for their signed links")
    })?;
    let links = crate::comms::links(ring, base, id, None)
        .ok_or_else(|| ApiError::bad_request("the communication's links cannot be signed"))?;
    let recipients = channel.settings.recipients.clone();
    let (body, audience) =
        crate::comms::message(&state.comms.templates, kind, &c, &recipients, links)
            .map_err(ApiError::bad_request)?;
    let post = post_in_scope(state, caller, &c.post_id).await?;
    let event = Event {
        kind: EventKind::CommsSent,
        at: state.now(),
        post: Some(changedesk_core::notify::PostRef {
            id: post.summary.id.clone(),
            title: post.summary.title.clone(),
            services: post.summary.services.clone(),
            category: post.summary.category.clone(),
            severity: post.summary.severity.clone(),
            major: post.summary.is_major,
            act_by: post.summary.act_by,
            start: post.summary.start,
        }),
        incident: None,
        tenants: c.tenants.clone(),
        owner: None,
        changes: Vec::new(),
        reason: Some(c.text.subject.clone()),
        target: Some(channel.name.clone()),
        ticket_scope: None,
        moves: Vec::new(),
    };
    let send = CommsSend {
        channel_id: channel.id,
        message_id: crate::comms::message_id(id),
        body,
        event,
        audience,
    };
    Ok(state
        .store
        .send_comms(id, version, &send, &caller.actor(), state.now())
        .await?)
}

/// changedesk's address for links: `[server] public_url`, else the
/// request's host.
pub(crate) fn base(state: &AppState, headers: &HeaderMap) -> String {
    crate::ui::feeds::base_url(state, headers)
}

/// The communications report of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommsReportDto {
    pub from: String,
    pub to: String,
    /// Sent in the period; delivered; failed for good.
    pub sent: usize,
    pub delivered: usize,
    pub failed: usize,
    /// Delivered before their rollout started, after it, or for a post
    /// without a known start.
    pub before_rollout: usize,
    pub after_rollout: usize,
    pub rollout_unknown: usize,
    /// People reached and distinct acknowledgers among them.
    pub reached: u64,
    pub acks: u64,
    pub ack_rate: Option<f64>,
    pub before_rollout_rate: Option<f64>,
    /// Each communication sent in the period.
    pub communications: Vec<CommsDto>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommsReportParams {
    /// The period: the last N days (default 90, at most 1,098).
    pub days: Option<i64>,
}

/// The communications report of the last `days` days for `caller`.
pub(crate) async fn report(
    state: &AppState,
    caller: &Caller,
    days: i64,
) -> ApiResult<CommsReportDto> {
    caller.require(Need::Reports)?;
    let now = state.now();
    let period = crate::reports::Period::last(days, 1, now).map_err(ApiError::bad_request)?;
    let rows = state
        .store
        .comms_all(&changedesk_store::CommsQuery {
            sent_since: Some(period.from),
            ..Default::default()
        })
        .await?;
    // the reports are read by analytics readers too: the communications of
    // the caller's tenants' posts (all of them without a tenant limit)
    let mine: Vec<CommsRow> = rows
        .into_iter()
        .filter(|c| caller.speaks_for(&c.tenants))
        .collect();
    // up to now, now included (what was sent this instant counts)
    let to = period.to.saturating_add(time::Duration::microseconds(1));
    let s = crate::comms::summary(&mine, period.from, to);
    Ok(CommsReportDto {
        from: period.from.to_canonical(),
        to: period.to.to_canonical(),
        sent: s.sent,
        delivered: s.delivered,
        failed: s.failed,
        before_rollout: s.before_rollout,
        after_rollout: s.after_rollout,
        rollout_unknown: s.rollout_unknown,
        reached: s.reached,
        acks: s.acks,
        ack_rate: s.ack_rate,
        before_rollout_rate: s.before_rollout_rate,
        communications: mine
            .iter()
            .filter(|c| c.state == CommsState::Sent)
            .map(CommsDto::from)
            .collect(),
    })
}

/// The communications the caller sees, newest first, a page at a time (at
/// most `limit`, 1,000; the next page `before` the last one's id).
#[utoipa::path(get, path = "/api/v1/comms", tag = "comms", params(CommsParams),
    responses((status = 200, body = Vec<CommsDto>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn list_comms(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<CommsParams>,
) -> ApiResult<axum::Json<Vec<CommsDto>>> {
    let rows = list(&state, &caller, &p).await?;
    Ok(axum::Json(rows.iter().map(CommsDto::from).collect()))
}

/// Asks for a communication of a post: its first draft made from the post
/// unless a subject and text are given.
#[utoipa::path(post, path = "/api/v1/posts/{id}/comms", tag = "comms", request_body = CommsRequest,
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 201, body = CommsDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn request_comms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CommsRequest>,
) -> ApiResult<(axum::http::StatusCode, axum::Json<CommsDto>)> {
    let c = request(&state, &caller, &id, body).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(CommsDto::from(&c)),
    ))
}

/// One communication, with its measure.
#[utoipa::path(get, path = "/api/v1/comms/{id}", tag = "comms",
    params(("id" = i64, Path, description = "The communication's id")),
    responses((status = 200, body = CommsDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_comms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<CommsDto>> {
    Ok(axum::Json(CommsDto::from(
        &find(&state, &caller, id).await?,
    )))
}

/// Edits a draft or approved communication (an approved one goes back to
/// draft): comms, change managers and admins.
#[utoipa::path(put, path = "/api/v1/comms/{id}", tag = "comms", request_body = CommsEdit,
    params(("id" = i64, Path, description = "The communication's id")),
    responses((status = 200, body = CommsDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Changed since it was read", body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn edit_comms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<CommsEdit>,
) -> ApiResult<axum::Json<CommsDto>> {
    let version = body.version;
    let c = change(&state, &caller, id, version, ChangeRequest::Edit(body)).await?;
    Ok(axum::Json(CommsDto::from(&c)))
}

/// Approves a draft as written: comms, change managers, admins, or the
/// item's owner.
#[utoipa::path(post, path = "/api/v1/comms/{id}/approve", tag = "comms", request_body = CommsVersion,
    params(("id" = i64, Path, description = "The communication's id")),
    responses((status = 200, body = CommsDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn approve_comms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<CommsVersion>,
) -> ApiResult<axum::Json<CommsDto>> {
    let c = change(&state, &caller, id, body.version, ChangeRequest::Approve).await?;
    Ok(axum::Json(CommsDto::from(&c)))
}

/// Sends an approved communication through its channel, once: comms,
/// change managers and admins. Each message carries signed "Got it" and
/// "Read more" links.
#[utoipa::path(post, path = "/api/v1/comms/{id}/send", tag = "comms", request_body = CommsVersion,
    params(("id" = i64, Path, description = "The communication's id")),
    responses((status = 200, body = CommsDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn send_comms(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<CommsVersion>,
) -> ApiResult<axum::Json<CommsDto>> {
    let base = base(&state, &headers);
    let c = send(&state, &caller, id, body.version, &base).await?;
    Ok(axum::Json(CommsDto::from(&c)))
}

/// Cancels a communication not sent yet: comms, change managers and admins.
#[utoipa::path(post, path = "/api/v1/comms/{id}/cancel", tag = "comms", request_body = CommsVersion,
    params(("id" = i64, Path, description = "The communication's id")),
    responses((status = 200, body = CommsDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn cancel_comms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<CommsVersion>,
) -> ApiResult<axum::Json<CommsDto>> {
    let c = change(&state, &caller, id, body.version, ChangeRequest::Cancel).await?;
    Ok(axum::Json(CommsDto::from(&c)))
}

/// The communications sent in a period, measured: reach, acknowledgements
/// and whether they went out before the rollout.
#[utoipa::path(get, path = "/api/v1/reports/communications", tag = "reports", params(CommsReportParams),
    responses((status = 200, body = CommsReportDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn comms_report(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<CommsReportParams>,
) -> ApiResult<axum::Json<CommsReportDto>> {
    Ok(axum::Json(
        report(
            &state,
            &caller,
            p.days.unwrap_or(crate::reports::DEFAULT_DAYS),
        )
        .await?,
    ))
}
