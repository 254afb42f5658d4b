//! Notifications: the channels (never their URLs or secrets), the outbox's
//! delivery log, and putting dead-lettered deliveries back. Change managers
//! and admins without a tenant limit: a channel and its log may concern
//! every tenant.

use axum::extract::State;
use changedesk_core::notify::{ChannelFilter, ChannelSettings};
use changedesk_store::DeliveryFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::{ts, ts_opt};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Path, Query};
use crate::outbox::{
    ChannelRequest, MAX_CHANNELS, SubscriptionRequest, new_channel, new_subscription,
    subscription_name, test_event,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, add_channel))
        .routes(routes!(remove_channel))
        .routes(routes!(test_channel))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_deliveries))
        .routes(routes!(
            get_subscription,
            put_subscription,
            delete_subscription
        ))
}

/// A notification channel, without its URL or signing secret (kept sealed).
#[derive(Serialize, ToSchema)]
pub struct ChannelDto {
    pub name: String,
    /// `webhook`, `email`, `teams` or `slack`.
    pub kind: String,
    /// Which events it hears of (empty lists: any).
    #[schema(value_type = Object)]
    pub filter: ChannelFilter,
    /// Recipients (e-mail), batching window, quiet hours, owner.
    #[schema(value_type = Object)]
    pub settings: ChannelSettings,
    pub allow_private: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub created_by: String,
    /// The configuration file that declares it (`[[notify.channel]]`): it
    /// changes only there (removing it here is refused; a test can be
    /// sent). None: added with the CLI, the API or the web UI.
    pub declared_in: Option<String>,
}

/// The channels, by name.
#[utoipa::path(get, path = "/api/v1/channels", tag = "notify",
    responses((status = 200, body = Vec<ChannelDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_channels(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<ChannelDto>>> {
    caller.require(Need::Configure)?;
    let rows = state.store.channels().await?;
    Ok(axum::Json(rows.into_iter().map(channel_dto).collect()))
}

/// A new channel, and its signing secret when changedesk made it (shown
/// this once: the receiver verifies `webhook-signature` with it).
#[derive(Serialize, ToSchema)]
pub struct AddedChannelDto {
    pub channel: ChannelDto,
    pub secret: Option<String>,
}

fn channel_dto(c: changedesk_store::ChannelRow) -> ChannelDto {
    ChannelDto {
        name: c.name,
        kind: c.kind,
        filter: c.filter,
        settings: c.settings,
        allow_private: c.allow_private,
        enabled: c.enabled,
        disabled_reason: c.disabled_reason,
        created_at: ts(&c.created_at),
        created_by: c.created_by,
        declared_in: c.declared_in,
    }
}

/// Adds a channel for `caller` (the API's and the web UI's): checked, its
/// URL and secret sealed, audited.
pub(crate) async fn add(
    state: &AppState,
    caller: &Caller,
    req: ChannelRequest,
) -> ApiResult<AddedChannelDto> {
    use secrecy::ExposeSecret as _;
    caller.require(Need::Configure)?;
    let ring = state.keyring.as_deref().ok_or_else(|| {
        ApiError::conflict(
            "a channel's URL and signing secret are kept sealed, and no secret key is configured: \
             set CHANGEDESK_SECRET_KEY or [server] secret_key_file",
        )
    })?;
    if state.store.channels().await?.len() >= MAX_CHANNELS {
        return Err(ApiError::conflict(format!(
            "changedesk keeps at most {MAX_CHANNELS} channels; remove one first"
        )));
    }
    let known = state.known_tenants().await?;
    let owners: Vec<String> = state
        .store
        .owners()
        .await?
        .into_iter()
        .map(|o| o.name)
        .collect();
    let (channel, secret) = new_channel(ring, &req, &known, &owners, &caller.actor(), state.now())
        .map_err(ApiError::bad_request)?;
    let id = state.store.create_channel(&channel).await?;
    let row = changedesk_store::ChannelRow {
        id,
        name: channel.name,
        kind: channel.kind,
        url_sealed: channel.url_sealed,
        secret_sealed: channel.secret_sealed,
        filter: channel.filter,
        settings: channel.settings,
        allow_private: channel.allow_private,
        enabled: true,
        disabled_reason: None,
        created_at: channel.at,
        created_by: channel.created_by,
        declared_in: None,
        declared_digest: None,
    };
    Ok(AddedChannelDto {
        channel: channel_dto(row),
        secret: secret.map(|s| s.expose_secret().to_string()),
    })
}

/// Adds a channel: a signed webhook, e-mail, Teams (Workflows) or Slack.
#[utoipa::path(post, path = "/api/v1/channels", tag = "notify", request_body = ChannelRequest,
    responses((status = 201, body = AddedChannelDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, description = "The name is taken (by a channel the configuration file declares: change it there), or no secret key is configured", body = Problem)))]
async fn add_channel(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<ChannelRequest>,
) -> ApiResult<(axum::http::StatusCode, axum::Json<AddedChannelDto>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(add(&state, &caller, req).await?),
    ))
}

/// Removes a channel for `caller` (with its delivery log; audited).
pub(crate) async fn remove(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    if !state
        .store
        .remove_channel(name, &caller.actor(), state.now())
        .await?
    {
        return Err(ApiError::not_found(format!(
            "channel `{}`",
            changedesk_core::text::clip_chars(name.trim(), 64)
        )));
    }
    Ok(())
}

/// Removes a channel and its delivery log.
///
/// A channel the configuration file declares is refused (409): change the
/// file.
#[utoipa::path(delete, path = "/api/v1/channels/{name}", tag = "notify", params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "The channel is declared in the configuration file", body = Problem)))]
async fn remove_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    remove(&state, &caller, &name).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Queues a test message to channel `name` for `caller`: the outbox sends
/// it within a second; the delivery log says how it went.
pub(crate) async fn test(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    let name = name.trim().to_ascii_lowercase();
    if !state.store.channels().await?.iter().any(|c| c.name == name) {
        return Err(ApiError::not_found(format!(
            "channel `{}`",
            changedesk_core::text::clip_chars(&name, 64)
        )));
    }
    let now = state.now();
    state
        .store
        .record_events(&[test_event(&name, now)], now)
        .await?;
    Ok(())
}

/// Sends a test message to a channel (queued: the delivery log says how it
/// went within a second or two).
#[utoipa::path(post, path = "/api/v1/channels/{name}/test", tag = "notify", params(("name" = String, Path)),
    responses((status = 202), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn test_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    test(&state, &caller, &name).await?;
    Ok(axum::http::StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Only dead-lettered deliveries.
    pub failed: Option<bool>,
    /// Only this post's.
    pub post: Option<String>,
    /// Only this channel's.
    pub channel: Option<String>,
    /// 1 to 1,000 (default 100).
    pub limit: Option<i64>,
}

/// One delivery: an event's message to one channel.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub event_id: i64,
    /// `post.routed`, `post.changed`, `item.reopened`, `rule.notify`,
    /// `changedesk.test`.
    pub event: String,
    pub post: Option<String>,
    pub channel: String,
    /// The message's id, the same on every attempt (`webhook-id`).
    pub message_id: String,
    /// `pending`, `sending`, `delivered` or `failed` (dead-lettered).
    pub state: String,
    pub attempts: i64,
    /// Attempts made again after a crash mid-send.
    pub resends: i64,
    pub next_attempt_at: String,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// The delivery log for `caller` (the API's and the web UI's).
pub(crate) async fn deliveries(
    state: &AppState,
    caller: &Caller,
    p: DeliveryParams,
) -> ApiResult<Vec<DeliveryDto>> {
    caller.require(Need::Configure)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to 1000 (got {limit})"
        )));
    }
    let rows = state
        .store
        .deliveries(&DeliveryFilter {
            failed_only: p.failed.unwrap_or(false),
            post_id: p
                .post
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty()),
            channel: p.channel.filter(|s| !s.trim().is_empty()),
            limit: Some(limit),
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| DeliveryDto {
            id: d.id,
            event_id: d.event_id,
            event: d.kind,
            post: d.post_id,
            channel: d.channel,
            message_id: d.message_id,
            state: d.state,
            attempts: d.attempts,
            resends: d.resends,
            next_attempt_at: ts(&d.next_attempt_at),
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: ts(&d.created_at),
            delivered_at: ts_opt(&d.delivered_at),
        })
        .collect())
}

/// The outbox's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "notify", params(DeliveryParams),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<DeliveryParams>,
) -> ApiResult<axum::Json<Vec<DeliveryDto>>> {
    Ok(axum::Json(deliveries(&state, &caller, p).await?))
}

/// Which dead-lettered deliveries to send again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// These deliveries (at most 1,000)…
    #[serde(default)]
    pub ids: Vec<i64>,
    /// …or every failed one.
    #[serde(default)]
    pub all_failed: bool,
}

/// How many deliveries went back in the queue.
#[derive(Serialize, ToSchema)]
pub struct RetriedDto {
    pub retried: u64,
}

/// Puts dead-lettered deliveries back in the queue (audited) for `caller`.
pub(crate) async fn retry(
    state: &AppState,
    caller: &Caller,
    req: RetryRequest,
) -> ApiResult<RetriedDto> {
    caller.require(Need::Configure)?;
    if req.all_failed != req.ids.is_empty() {
        return Err(ApiError::bad_request(
            "give either `ids` (deliveries from GET /api/v1/deliveries?failed=true) or `all_failed: true`",
        ));
    }
    if req.ids.len() > 1000 {
        return Err(ApiError::bad_request("at most 1000 ids at a time"));
    }
    let ids = (!req.all_failed).then_some(&req.ids[..]);
    let retried = state
        .store
        .retry_deliveries(ids, state.now(), &caller.actor())
        .await?;
    Ok(RetriedDto { retried })
}

/// Sends dead-lettered deliveries again.
#[utoipa::path(post, path = "/api/v1/deliveries/retry", tag = "notify", request_body = RetryRequest,
    responses((status = 200, body = RetriedDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn retry_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<RetryRequest>,
) -> ApiResult<axum::Json<RetriedDto>> {
    Ok(axum::Json(retry(&state, &caller, req).await?))
}

/// The caller's own subscription channel, if any.
pub(crate) async fn subscription_of(
    state: &AppState,
    caller: &Caller,
) -> ApiResult<Option<changedesk_store::ChannelRow>> {
    let name = subscription_name(caller.user_id);
    Ok(state
        .store
        .channels()
        .await?
        .into_iter()
        .find(|c| c.name == name))
}

/// Saves the caller's subscription (replacing the one they had; audited
/// in their name). Any signed-in person may; it tells them only of the
/// tenants they see.
pub(crate) async fn subscribe(
    state: &AppState,
    caller: &Caller,
    req: &SubscriptionRequest,
) -> ApiResult<ChannelDto> {
    caller.require(Need::Read)?;
    let user = state
        .store
        .user_by_id(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("your account"))?;
    let known = state.known_tenants().await?;
    let ephemeral;
    let ring = match state.keyring.as_deref() {
        Some(r) => r,
        None => {
            // an e-mail subscription seals nothing
            ephemeral = changedesk_secrets::Keyring::new(
                changedesk_secrets::Key::generate()
                    .map_err(|e| ApiError::internal(&e))?
                    .0,
                [],
            );
            &ephemeral
        }
    };
    let who = crate::outbox::channel::Subscriber {
        user_id: caller.user_id,
        name: &caller.name,
        email: &user.email,
        visible: &caller.tenants,
    };
    let channel =
        new_subscription(ring, who, &known, req, state.now()).map_err(ApiError::bad_request)?;
    if subscription_of(state, caller).await?.is_some() {
        state
            .store
            .remove_channel(&channel.name, &caller.actor(), state.now())
            .await?;
    } else if state.store.channels().await?.len() >= MAX_CHANNELS {
        return Err(ApiError::conflict(format!(
            "changedesk keeps at most {MAX_CHANNELS} channels and subscriptions"
        )));
    }
    let id = state.store.create_channel(&channel).await?;
    Ok(channel_dto(changedesk_store::ChannelRow {
        id,
        name: channel.name,
        kind: channel.kind,
        url_sealed: channel.url_sealed,
        secret_sealed: channel.secret_sealed,
        filter: channel.filter,
        settings: channel.settings,
        allow_private: channel.allow_private,
        enabled: true,
        disabled_reason: None,
        created_at: channel.at,
        created_by: channel.created_by,
        declared_in: None,
        declared_digest: None,
    }))
}

/// The caller's own e-mail subscription: what they are told, and how.
#[utoipa::path(get, path = "/api/v1/me/subscription", tag = "notify",
    responses((status = 200, body = ChannelDto), (status = 401, body = Problem),
        (status = 404, description = "No subscription", body = Problem)))]
async fn get_subscription(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<ChannelDto>> {
    caller.require(Need::Read)?;
    subscription_of(&state, &caller)
        .await?
        .map(|c| axum::Json(channel_dto(c)))
        .ok_or_else(|| ApiError::not_found("you have no subscription"))
}

/// Subscribes the caller (by e-mail to their address), replacing their
/// subscription: events, services, severities, tenants (of those they
/// see), immediately or as a daily or weekly digest, quiet hours.
#[utoipa::path(put, path = "/api/v1/me/subscription", tag = "notify", request_body = SubscriptionRequest,
    responses((status = 200, body = ChannelDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn put_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<SubscriptionRequest>,
) -> ApiResult<axum::Json<ChannelDto>> {
    Ok(axum::Json(subscribe(&state, &caller, &req).await?))
}

/// Ends the caller's subscription.
#[utoipa::path(delete, path = "/api/v1/me/subscription", tag = "notify",
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn delete_subscription(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::http::StatusCode> {
    caller.require(Need::Read)?;
    if !state
        .store
        .remove_channel(
            &subscription_name(caller.user_id),
            &caller.actor(),
            state.now(),
        )
        .await?
    {
        return Err(ApiError::not_found("you have no subscription"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
