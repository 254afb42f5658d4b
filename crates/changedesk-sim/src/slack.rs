//! A Slack incoming-webhook mock: the local endpoint changedesk's Slack
//! channel is tested against.
//!
//! It validates each message as Slack does (its own implementation of the
//! Block Kit limits; no code is shared with the sender), rate-limits, and
//! records the messages it accepted.
//!
//! # The endpoint
//!
//! [`SlackHandle::url`]: `http://127.0.0.1:PORT/services/{team}/{hook}/{secret}`.
//! Answers are plain text (`text/plain; charset=utf-8`), as Slack's.
//!
//! | Request | Answer |
//! |---|---|
//! | another path or secret | 404 `no_service` |
//! | a queued [`SlackFault`] (checked next, whatever the request) | the fault |
//! | a method other than `POST` | 405 `invalid_method` (the mock's choice; undocumented) |
//! | the channel [archived](SlackHandle::archive) | 410 `channel_is_archived` |
//! | over the rate (see below) | 429 `rate_limited` with `Retry-After` |
//! | body over [`MAX_REQUEST_BYTES`] | 413 `request_too_large` (the mock's choice) |
//! | not JSON (as `application/json`, or as the legacy form field `payload=`), or not a JSON object, or another `Content-Type` | 400 `invalid_payload` |
//! | more than 100 legacy `attachments` | 400 `too_many_attachments` |
//! | `blocks` not an array of objects with a string `type` | 400 `invalid_blocks_format` |
//! | a Block Kit limit broken | 400 `invalid_blocks` |
//! | neither a non-empty `text`, nor blocks, nor attachments | 400 `no_text` |
//! | otherwise | 200 `ok`, recorded in [`SlackHandle::messages`] |
//!
//! Block Kit limits (Doc): 50 blocks; known block types only; `block_id`
//! unique within the message and at most 255 characters, `action_id` at
//! most 255; `header` text `plain_text`, 1 to 150 characters; `section`
//! with `text` (`plain_text` or `mrkdwn`, 1 to 3000 characters) or
//! `fields` (1 to 10 text objects, each at most 2000); `context` at most 10
//! elements; `actions` at most 25 elements; `image` `alt_text` at most
//! 2000. Characters are counted, not bytes. A long top-level `text` is not
//! refused (Slack truncates it).
//!
//! # Rate
//!
//! 1 message per second per webhook, short bursts tolerated (Doc; the burst
//! size is Unconfirmed): a token bucket of [`SlackConfig::burst`] (2)
//! tokens refilled one per [`SlackConfig::interval`] (1 s). Only accepted
//! messages take a token, but an empty bucket refuses any request with 429
//! and a `Retry-After` of the whole seconds until a token is back (at least
//! 1), so waiting it always works. A client that sends at most one message
//! per second is never refused, whichever burst Slack really allows.
//!
//! The bucket runs on the mock's own clock: real time since the start plus
//! whatever [`SlackHandle::advance`] added.
//!
//! ```
//! # async fn demo() -> std::io::Result<()> {
//! use changedesk_sim::slack::{SlackConfig, start_webhook};
//! let hook = start_webhook(SlackConfig::default()).await?;
//! let url = hook.url(); // http://127.0.0.1:PORT/services/T…/B…/…
//! # let _ = url;
//! assert!(hook.messages().is_empty());
//! hook.shutdown().await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::mock::{self, FaultQueue, MockClock, MockServer, RequestLog, Stop};

/// The largest request body the mock reads (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The default team id.
pub const DEFAULT_TEAM: &str = "T0SIM0001";
/// The default hook id.
pub const DEFAULT_HOOK: &str = "B0SIM0001";
/// The default secret (24 characters, as real ones are).
pub const DEFAULT_SECRET: &str = "SimSecret0123456789abcde";

const MAX_BLOCKS: usize = 50;
const MAX_ATTACHMENTS: usize = 100;
const BLOCK_TYPES: &[&str] = &[
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
];

/// How the webhook is set up.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// The team id in the path (`T…`).
    pub team: String,
    /// The hook id in the path (`B…`).
    pub hook: String,
    /// The last path segment, the credential.
    pub secret: String,
    /// Messages accepted back to back before the rate applies (2).
    pub burst: u32,
    /// One more message per this (1 s).
    pub interval: Duration,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            team: DEFAULT_TEAM.to_owned(),
            hook: DEFAULT_HOOK.to_owned(),
            secret: DEFAULT_SECRET.to_owned(),
            burst: 2,
            interval: Duration::from_secs(1),
        }
    }
}

/// An answer given instead of processing the request (see
/// [`SlackHandle::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackFault {
    /// 429 `rate_limited` with `Retry-After`.
    TooManyRequests {
        /// The `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// This status with this error name as the body (an invalid code
    /// answers 500), e.g. `(500, "service_unavailable")`,
    /// `(403, "action_prohibited")`, `(404, "no_active_hooks")`.
    Error(u16, String),
    /// Wait this long, then answer 200 `ok` without recording (meant to
    /// outlast the client's timeout). Ends early, with 503, at shutdown.
    Delay(Duration),
}

/// A message the webhook accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    /// The body, parsed.
    pub body: Value,
    /// The body bytes as received.
    pub raw: Vec<u8>,
    /// The top-level `text`, if a string.
    pub text: Option<String>,
    /// The number of blocks.
    pub blocks: usize,
    /// When, on the mock's clock.
    pub at: Duration,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackRequest {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The status answered.
    pub status: u16,
    /// The body answered (`ok` or the error name).
    pub answer: String,
}

struct Inner {
    archived: bool,
    messages: Vec<SlackMessage>,
    tokens: f64,
    last_refill: Duration,
}

struct Shared {
    config: SlackConfig,
    clock: MockClock,
    requests: RequestLog<SlackRequest>,
    faults: FaultQueue<SlackFault>,
    inner: Mutex<Inner>,
    stop: Stop,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        mock::lock(&self.inner)
    }
}

impl Inner {
    /// Refills the bucket up to `now`.
    fn refill(&mut self, now: Duration, config: &SlackConfig) {
        let elapsed = now.saturating_sub(self.last_refill);
        self.last_refill = now;
        let interval = config.interval.as_secs_f64();
        let gained = if interval > 0.0 {
            elapsed.as_secs_f64() / interval
        } else {
            f64::INFINITY
        };
        self.tokens = (self.tokens + gained).min(f64::from(config.burst.max(1)));
    }
}

/// A running webhook. It stops at [`SlackHandle::shutdown`] or when
/// dropped.
pub struct SlackHandle {
    shared: Arc<Shared>,
    server: MockServer,
}

impl std::fmt::Debug for SlackHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl SlackHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The webhook URL.
    pub fn url(&self) -> String {
        let c = &self.shared.config;
        format!(
            "http://{}/services/{}/{}/{}",
            self.server.addr(),
            c.team,
            c.hook,
            c.secret
        )
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SlackConfig {
        &self.shared.config
    }

    /// The accepted messages, in order.
    pub fn messages(&self) -> Vec<SlackMessage> {
        self.shared.lock().messages.clone()
    }

    /// Every request with its answer, in arrival order.
    pub fn requests(&self) -> Vec<SlackRequest> {
        self.shared.requests.in_order(|r| r.seq)
    }

    /// Queues answers: the next requests to the webhook's URL (whatever
    /// they are) get these, in order, instead of being processed. Appends
    /// to what is already queued.
    pub fn fail_next(&self, faults: Vec<SlackFault>) {
        self.shared.faults.extend(faults);
    }

    /// Archives the channel: later requests get 410 `channel_is_archived`.
    pub fn archive(&self) {
        self.shared.lock().archived = true;
    }

    /// Lets `by` pass on the mock's clock (for the rate limit).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops serving and waits for the server task (a pending
    /// [`SlackFault::Delay`] ends at once).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a webhook on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_webhook(config: SlackConfig) -> std::io::Result<SlackHandle> {
    let burst = f64::from(config.burst.max(1));
    let stop = Stop::new();
    let shared = Arc::new(Shared {
        config,
        clock: MockClock::new(),
        requests: RequestLog::new(),
        faults: FaultQueue::new(),
        inner: Mutex::new(Inner {
            archived: false,
            messages: Vec::new(),
            tokens: burst,
            last_refill: Duration::ZERO,
        }),
        stop: stop.clone(),
    });
    let app = Router::new()
        .fallback(webhook)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(Arc::clone(&shared));
    let server = MockServer::start("Slack webhook mock", app, stop).await?;
    Ok(SlackHandle { shared, server })
}

/// A plain-text answer.
struct Answer {
    status: StatusCode,
    text: String,
    retry_after: Option<u64>,
}

impl Answer {
    fn new(status: StatusCode, text: &str) -> Answer {
        Answer {
            status,
            text: text.to_owned(),
            retry_after: None,
        }
    }

    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.text,
        )
            .into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Every request.
async fn webhook(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let seq = shared.requests.arrived();
    let answer = answer(&shared, &method, &uri, &headers, body).await;
    shared.requests.push(SlackRequest {
        seq,
        method: method.to_string(),
        status: answer.status.as_u16(),
        answer: answer.text.clone(),
    });
    answer.into_response()
}

async fn answer(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let config = &shared.config;
    let path = format!(
        "/services/{}/{}/{}",
        config.team, config.hook, config.secret
    );
    if uri.path() != path {
        return Answer::new(StatusCode::NOT_FOUND, "no_service");
    }
    match shared.faults.pop() {
        Some(SlackFault::TooManyRequests { retry_after_secs }) => {
            return Answer {
                retry_after: Some(retry_after_secs),
                ..Answer::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            };
        }
        Some(SlackFault::Error(code, name)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Answer::new(status, &name);
        }
        Some(SlackFault::Delay(delay)) => {
            return if shared.stop.sleep(delay).await {
                Answer::new(StatusCode::OK, "ok")
            } else {
                Answer::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
            };
        }
        None => {}
    }
    if method != Method::POST {
        return Answer::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_method");
    }
    {
        let mut inner = shared.lock();
        if inner.archived {
            return Answer::new(StatusCode::GONE, "channel_is_archived");
        }
        let now = shared.clock.now();
        inner.refill(now, config);
        if inner.tokens < 1.0 {
            let wait = (1.0 - inner.tokens) * config.interval.as_secs_f64();
            // whole seconds, rounded up, at least 1
            let secs = (wait.ceil() as u64).max(1);
            return Answer {
                retry_after: Some(secs),
                ..Answer::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            };
        }
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Answer::new(StatusCode::PAYLOAD_TOO_LARGE, "request_too_large");
        }
        Err(_) => return Answer::new(StatusCode::BAD_REQUEST, "invalid_payload"),
    };
    let Some(value) = payload(headers, &body) else {
        return Answer::new(StatusCode::BAD_REQUEST, "invalid_payload");
    };
    let Some(message) = value.as_object() else {
        return Answer::new(StatusCode::BAD_REQUEST, "invalid_payload");
    };
    if let Err(name) = validate(message) {
        return Answer::new(StatusCode::BAD_REQUEST, name);
    }
    let mut inner = shared.lock();
    let now = shared.clock.now();
    inner.refill(now, config);
    inner.tokens -= 1.0;
    inner.messages.push(SlackMessage {
        text: message
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_owned),
        blocks: message
            .get("blocks")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        raw: body.to_vec(),
        body: value,
        at: now,
    });
    Answer::new(StatusCode::OK, "ok")
}

/// The JSON of the body: `application/json`, or the legacy form encoding
/// with the JSON in the `payload` field.
fn payload(headers: &HeaderMap, body: &[u8]) -> Option<Value> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())?;
    match media.as_str() {
        "application/json" => serde_json::from_slice(body).ok(),
        "application/x-www-form-urlencoded" => url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .and_then(|(_, v)| serde_json::from_str(&v).ok()),
        _ => None,
    }
}

/// Slack's checks of a message; the error name.
fn validate(message: &Map<String, Value>) -> Result<(), &'static str> {
    let attachments = match message.get("attachments") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(items)) => items.len(),
        Some(_) => return Err("invalid_attachments"),
    };
    if attachments > MAX_ATTACHMENTS {
        return Err("too_many_attachments");
    }
    let blocks = match message.get("blocks") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => return Err("invalid_blocks_format"),
    };
    if blocks
        .iter()
        .any(|b| b.get("type").and_then(Value::as_str).is_none())
    {
        return Err("invalid_blocks_format");
    }
    if blocks.len() > MAX_BLOCKS {
        return Err("invalid_blocks");
    }
    let mut block_ids = HashSet::new();
    for block in blocks {
        if !block_ok(block, &mut block_ids) {
            return Err("invalid_blocks");
        }
    }
    let has_text = message
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty());
    if !has_text && blocks.is_empty() && attachments == 0 {
        return Err("no_text");
    }
    Ok(())
}

fn len(value: Option<&Value>) -> Option<usize> {
    value.and_then(Value::as_str).map(|s| s.chars().count())
}

/// A text object's length, if it is one of the allowed kinds.
fn text_len(value: Option<&Value>, plain_only: bool) -> Option<usize> {
    let object = value?.as_object()?;
    match object.get("type").and_then(Value::as_str)? {
        "plain_text" => {}
        "mrkdwn" if !plain_only => {}
        _ => return None,
    }
    len(object.get("text"))
}

fn within(value: Option<&Value>, max: usize) -> bool {
    len(value).is_none_or(|n| n <= max)
}

fn element_ok(element: &Value) -> bool {
    element.is_object()
        && within(element.get("action_id"), 255)
        && within(element.get("alt_text"), 2000)
}

fn elements_ok(block: &Map<String, Value>, max: usize) -> bool {
    block
        .get("elements")
        .and_then(Value::as_array)
        .is_some_and(|e| e.len() <= max && e.iter().all(element_ok))
}

fn block_ok(block: &Value, block_ids: &mut HashSet<String>) -> bool {
    let Some(block) = block.as_object() else {
        return false;
    };
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    if !BLOCK_TYPES.contains(&kind) {
        return false;
    }
    if let Some(id) = block.get("block_id") {
        let Some(id) = id.as_str() else { return false };
        if id.chars().count() > 255 || !block_ids.insert(id.to_owned()) {
            return false;
        }
    }
    match kind {
        "header" => text_len(block.get("text"), true).is_some_and(|n| (1..=150).contains(&n)),
        "section" => {
            let text = block.get("text");
            let fields = block.get("fields");
            let text_ok =
                text.is_none_or(|_| text_len(text, false).is_some_and(|n| (1..=3000).contains(&n)));
            let fields_ok = fields.is_none_or(|f| {
                f.as_array().is_some_and(|items| {
                    (1..=10).contains(&items.len())
                        && items
                            .iter()
                            .all(|i| text_len(Some(i), false).is_some_and(|n| n <= 2000))
                })
            });
            let accessory_ok = block.get("accessory").is_none_or(element_ok);
            (text.is_some() || fields.is_some()) && text_ok && fields_ok && accessory_ok
        }
        "context" => elements_ok(block, 10),
        "actions" => elements_ok(block, 25),
        "image" => within(block.get("alt_text"), 2000),
        _ => true,
    }
}
