//! A Microsoft Teams Workflows mock: a Power Automate flow "When a Teams
//! webhook request is received" → "Post card in a chat or channel", the
//! local endpoint changedesk's Teams channel is tested against.
//!
//! It answers as the Logic Apps runtime behind the flow does, and then
//! "runs the flow" as Teams would, recording each card as posted or lost,
//! so tests can see what a real channel would have shown, including the
//! cards a `202` silently did not deliver.
//!
//! # The endpoint
//!
//! [`FlowHandle::url`]:
//! `http://127.0.0.1:PORT/workflows/{workflow_id}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}`.
//! Errors are Logic Apps' `{"error":{"code","message"}}`.
//!
//! | Request | Answer |
//! |---|---|
//! | another path, another workflow id, or the flow [deleted](FlowHandle::delete) | 404 `WorkflowNotFound` (Unconfirmed code) |
//! | a queued [`FlowFault`] (checked next, whatever the request) | the fault |
//! | a method other than `POST` | 405 `TriggerRequestMethodNotValid` (the code is Observed; the status is the mock's choice) |
//! | no `api-version` | 400 `MissingApiVersionParameter` |
//! | [`FlowAuth::Anyone`]: no `sp`, `sv` or `sig` | 401 `AuthorizationFailed` |
//! | [`FlowAuth::Anyone`]: a wrong `sig` | 401 `DirectApiInvalidAuthorizationSignature` (Unconfirmed code) |
//! | [`FlowAuth::Anyone`]: an `Authorization` header | 401 `DirectApiRequestHasMoreThanOneAuthorization` (the reference says the POST fails; a Standard logic app was observed answering 400 with this code: a client must treat both as permanent) |
//! | [`FlowAuth::Bearer`]: no or another `Authorization: Bearer` token | 401 `DirectApiAuthorizationRequired` (the `sig` is not checked in this mode) |
//! | body over [`MAX_REQUEST_BYTES`] | 413 `RequestEntityTooLarge` (the real trigger takes up to 100 MB) |
//! | `Content-Type` not `application/json`, body not JSON, or not the trigger schema | 400 `TriggerInputSchemaMismatch` |
//! | otherwise | **202 with an empty body**, and the flow runs |
//!
//! The trigger schema (Doc: all fields required): an object with `type`
//! the string `"message"`, `attachments` a non-empty array of objects each
//! with `contentType` `"application/vnd.microsoft.card.adaptive"`,
//! `contentUrl` present and `null`, and `content` an object. Other
//! properties are allowed. This is stricter than a trigger whose schema
//! declares plain strings (Unconfirmed whether the template's schema pins
//! the values): a correct client passes both.
//!
//! # The run
//!
//! The run is completed before the `202` is written, so a test reads its
//! result as soon as it has the answer; its result never changes the
//! answer. Each attachment is posted as one card (as the templates' "for
//! each" does), and is recorded in [`FlowHandle::posted`] unless it is
//! lost ([`FlowHandle::lost`], with a [`LostReason`]):
//!
//! - the whole request body is over [`FlowConfig::max_message_bytes`]
//!   (28 KB, 28 × 1024 bytes, the documented incoming-webhook limit): every
//!   card of the request is lost;
//! - `content.type` is not `"AdaptiveCard"`, or `version` is missing, not
//!   `major.minor`, or newer than 1.5: Teams would not render it (Doc:
//!   Teams renders schema 1.5 and earlier), so the run fails;
//! - the flow has already posted [`FlowConfig::posts_per_window`] (25)
//!   cards in the last [`FlowConfig::window`] (300 s): "Post card as Flow
//!   bot" is throttled (Doc), and the run fails once its retries are spent.
//!   Only posted cards count toward the window.
//!
//! # Time
//!
//! The window runs on the mock's own clock: real time since the start plus
//! whatever [`FlowHandle::advance`] added, so a test can let five minutes
//! pass at once.
//!
//! ```
//! # async fn demo() -> std::io::Result<()> {
//! use changedesk_sim::teams::{FlowConfig, start_flow};
//! let flow = start_flow(FlowConfig::default()).await?;
//! let url = flow.url(); // http://127.0.0.1:PORT/workflows/…&sig=…
//! # let _ = url;
//! assert!(flow.posted().is_empty() && flow.lost().is_empty());
//! flow.shutdown().await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::mock::{self, FaultQueue, MockClock, MockServer, RequestLog, Stop};

/// The attachment content type of an Adaptive Card.
pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// The `api-version` of the Logic Apps URL shape.
pub const API_VERSION: &str = "2016-06-01";

/// The documented message size limit: 28 KB (28 × 1024 bytes).
pub const MAX_MESSAGE_BYTES: usize = 28 * 1024;

/// "Post card as Flow bot": 25 posts per [`WINDOW`] per connection.
pub const POSTS_PER_WINDOW: usize = 25;

/// The window of [`POSTS_PER_WINDOW`]: 300 s.
pub const WINDOW: Duration = Duration::from_secs(300);

/// The largest request body the mock reads (1 MiB); larger ones get 413.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The default workflow id (32 hex digits, as Logic Apps' are).
pub const DEFAULT_WORKFLOW_ID: &str = "5f1c0d2e8a7b4c3d9e6f0a1b2c3d4e5f";

/// The default `sig` (43 URL-safe base64 characters, as real ones are).
pub const DEFAULT_SIG: &str = "SimSig0123456789abcdefghijklmnopqrstuvwxyzA";

const SCHEMA_MISMATCH: &str = "TriggerInputSchemaMismatch";

/// Who may trigger the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowAuth {
    /// Anyone with the URL (its `sig`); an `Authorization` header fails
    /// the request.
    Anyone,
    /// "Any user in my tenant" / "Specific users": the request needs
    /// `Authorization: Bearer <this token>` (standing in for an Entra
    /// token with the right claims).
    Bearer(String),
}

/// How the flow is set up.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// The workflow id in the path.
    pub workflow_id: String,
    /// The `sig` query parameter, the URL's credential.
    pub sig: String,
    /// Who may trigger it.
    pub auth: FlowAuth,
    /// Bodies over this many bytes are accepted but their cards are lost
    /// ([`MAX_MESSAGE_BYTES`]).
    pub max_message_bytes: usize,
    /// Cards posted per [`FlowConfig::window`] before posting fails
    /// ([`POSTS_PER_WINDOW`]).
    pub posts_per_window: usize,
    /// The throttling window ([`WINDOW`]).
    pub window: Duration,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            workflow_id: DEFAULT_WORKFLOW_ID.to_owned(),
            sig: DEFAULT_SIG.to_owned(),
            auth: FlowAuth::Anyone,
            max_message_bytes: MAX_MESSAGE_BYTES,
            posts_per_window: POSTS_PER_WINDOW,
            window: WINDOW,
        }
    }
}

/// An answer given instead of processing the request (see
/// [`FlowHandle::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowFault {
    /// 429 `WorkflowRequestsThrottled` with `Retry-After`.
    TooManyRequests {
        /// The `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// This status with a Logic Apps error body (code `SimulatedFault`;
    /// an invalid code answers 500).
    Status(u16),
    /// 404 `WorkflowNotFound`, once (see [`FlowHandle::delete`] for good).
    NotFound,
    /// Wait this long, then answer 202 without running the flow (meant to
    /// outlast the client's timeout). Ends early, with 503, at shutdown.
    Delay(Duration),
}

/// A card the flow posted.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedCard {
    /// The Adaptive Card (`attachments[i].content`).
    pub card: Value,
    /// When, on the mock's clock (since the start, plus advances).
    pub at: Duration,
    /// The [`FlowRequest::seq`] of the request that carried it.
    pub request: u64,
}

/// Why a card of an accepted request was not posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LostReason {
    /// The request body was over [`FlowConfig::max_message_bytes`].
    TooLarge {
        /// The body size.
        bytes: usize,
    },
    /// The content is not an Adaptive Card (`type`).
    NotAdaptiveCard,
    /// The card's `version` is missing, malformed or newer than 1.5.
    UnsupportedVersion(String),
    /// The posting limit of the window was reached.
    Throttled,
}

/// A card of an accepted (`202`) request that was not posted.
#[derive(Debug, Clone, PartialEq)]
pub struct LostCard {
    /// The attachment's `content`.
    pub card: Value,
    /// Why.
    pub reason: LostReason,
    /// When, on the mock's clock.
    pub at: Duration,
    /// The [`FlowRequest::seq`] of the request that carried it.
    pub request: u64,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRequest {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The status answered.
    pub status: u16,
    /// The error code answered, if any (`SimulatedFault` for a queued
    /// fault).
    pub error_code: Option<String>,
    /// Whether it carried an `Authorization` header.
    pub authorization: bool,
    /// The body size (0 when it was not read).
    pub body_bytes: usize,
}

struct Inner {
    deleted: bool,
    posted: Vec<PostedCard>,
    lost: Vec<LostCard>,
    /// Mock-clock times of the posts still inside the window.
    recent: VecDeque<Duration>,
}

struct Shared {
    config: FlowConfig,
    clock: MockClock,
    requests: RequestLog<FlowRequest>,
    faults: FaultQueue<FlowFault>,
    inner: Mutex<Inner>,
    stop: Stop,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        mock::lock(&self.inner)
    }
}

/// A running flow. It stops at [`FlowHandle::shutdown`] or when dropped.
pub struct FlowHandle {
    shared: Arc<Shared>,
    server: MockServer,
}

impl std::fmt::Debug for FlowHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl FlowHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The trigger URL, with the configured `sig`.
    pub fn url(&self) -> String {
        self.url_with_sig(&self.shared.config.sig)
    }

    /// The trigger URL with another `sig` (to test a wrong one).
    pub fn url_with_sig(&self, sig: &str) -> String {
        format!(
            "http://{}/workflows/{}/triggers/manual/paths/invoke?api-version={API_VERSION}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={}",
            self.server.addr(),
            self.shared.config.workflow_id,
            url::form_urlencoded::byte_serialize(sig.as_bytes()).collect::<String>()
        )
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &FlowConfig {
        &self.shared.config
    }

    /// The cards posted, in order.
    pub fn posted(&self) -> Vec<PostedCard> {
        self.shared.lock().posted.clone()
    }

    /// The cards of accepted requests that were not posted, in order.
    pub fn lost(&self) -> Vec<LostCard> {
        self.shared.lock().lost.clone()
    }

    /// Every request with its answer, in arrival order.
    pub fn requests(&self) -> Vec<FlowRequest> {
        self.shared.requests.in_order(|r| r.seq)
    }

    /// Queues answers: the next requests (whatever they are, except to a
    /// deleted flow) get these, in order, instead of being processed.
    /// Appends to what is already queued.
    pub fn fail_next(&self, faults: Vec<FlowFault>) {
        self.shared.faults.extend(faults);
    }

    /// Deletes the flow: every later request gets 404.
    pub fn delete(&self) {
        self.shared.lock().deleted = true;
    }

    /// Lets `by` pass on the mock's clock (for the posting window).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The mock's clock: real time since the start plus the advances.
    pub fn now(&self) -> Duration {
        self.shared.clock.now()
    }

    /// Stops serving and waits for the server task (a pending
    /// [`FlowFault::Delay`] ends at once).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a flow on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_flow(config: FlowConfig) -> std::io::Result<FlowHandle> {
    let stop = Stop::new();
    let shared = Arc::new(Shared {
        config,
        clock: MockClock::new(),
        requests: RequestLog::new(),
        faults: FaultQueue::new(),
        inner: Mutex::new(Inner {
            deleted: false,
            posted: Vec::new(),
            lost: Vec::new(),
            recent: VecDeque::new(),
        }),
        stop: stop.clone(),
    });
    let app = Router::new()
        .fallback(trigger)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(Arc::clone(&shared));
    let server = MockServer::start("Teams flow mock", app, stop).await?;
    Ok(FlowHandle { shared, server })
}

fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

fn schema_mismatch(detail: &str) -> (StatusCode, &'static str, String) {
    (
        StatusCode::BAD_REQUEST,
        SCHEMA_MISMATCH,
        format!(
            "The input body for trigger 'manual' of type 'Request' did not match its schema definition. Error details: '{detail}'."
        ),
    )
}

/// An answer and what to log of it.
struct Answer {
    response: Response,
    status: u16,
    code: Option<String>,
}

impl Answer {
    fn error(status: StatusCode, code: &str, message: &str) -> Answer {
        Answer {
            response: error_body(status, code, message),
            status: status.as_u16(),
            code: Some(code.to_owned()),
        }
    }
}

async fn fault_answer(shared: &Shared, fault: FlowFault) -> Answer {
    match fault {
        FlowFault::TooManyRequests { retry_after_secs } => {
            let mut response = error_body(
                StatusCode::TOO_MANY_REQUESTS,
                "WorkflowRequestsThrottled",
                "Number of requests exceeded the limit. Try again later.",
            );
            if let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Answer {
                response,
                status: 429,
                code: Some("WorkflowRequestsThrottled".to_owned()),
            }
        }
        FlowFault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Answer::error(status, "SimulatedFault", "A fault injected by the test.")
        }
        FlowFault::NotFound => not_found(),
        FlowFault::Delay(delay) => {
            let status = if shared.stop.sleep(delay).await {
                StatusCode::ACCEPTED
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            Answer {
                response: status.into_response(),
                status: status.as_u16(),
                code: None,
            }
        }
    }
}

fn not_found() -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        "WorkflowNotFound",
        "The workflow could not be found.",
    )
}

/// Every request.
async fn trigger(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body_bytes = body.as_ref().map_or(0, Bytes::len);
    let authorization = headers.contains_key(header::AUTHORIZATION);
    let seq = shared.requests.arrived();
    let answer = answer(&shared, seq, &method, &uri, &headers, body).await;
    shared.requests.push(FlowRequest {
        seq,
        method: method.to_string(),
        status: answer.status,
        error_code: answer.code,
        authorization,
        body_bytes,
    });
    answer.response
}

async fn answer(
    shared: &Shared,
    seq: u64,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let config = &shared.config;
    let path = format!(
        "/workflows/{}/triggers/manual/paths/invoke",
        config.workflow_id
    );
    let fault = {
        let inner = shared.lock();
        if inner.deleted || uri.path() != path {
            return not_found();
        }
        shared.faults.pop()
    };
    if let Some(fault) = fault {
        return fault_answer(shared, fault).await;
    }
    if method != Method::POST {
        return Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "TriggerRequestMethodNotValid",
            &format!(
                "The HTTP method for this request is not valid: expected 'POST' and actual '{method}'."
            ),
        );
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("api-version").is_none() {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    match &config.auth {
        FlowAuth::Anyone => {
            let (Some(_), Some(_), Some(sig)) = (param("sp"), param("sv"), param("sig")) else {
                return Answer::error(
                    StatusCode::UNAUTHORIZED,
                    "AuthorizationFailed",
                    "Required parameters for shared access URL are permissions ('sp'), version ('sv'), and signature ('sig').",
                );
            };
            if sig != config.sig {
                return Answer::error(
                    StatusCode::UNAUTHORIZED,
                    "DirectApiInvalidAuthorizationSignature",
                    "The provided authorization signature is not valid.",
                );
            }
            if headers.contains_key(header::AUTHORIZATION) {
                return Answer::error(
                    StatusCode::UNAUTHORIZED,
                    "DirectApiRequestHasMoreThanOneAuthorization",
                    "The request has SAS authentication scheme and 'Bearer' authorization scheme. Only one scheme should be used.",
                );
            }
        }
        FlowAuth::Bearer(token) => {
            let expected = format!("Bearer {token}");
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if given != Some(expected.as_str()) {
                return Answer::error(
                    StatusCode::UNAUTHORIZED,
                    "DirectApiAuthorizationRequired",
                    "The request must be authenticated only by Shared Access scheme.",
                );
            }
        }
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request content size exceeds the maximum allowed.",
            );
        }
        Err(rejection) => {
            return Answer::error(
                rejection.status(),
                "InvalidRequestContent",
                &rejection.body_text(),
            );
        }
    };
    let parsed = if is_json(headers) {
        serde_json::from_slice::<Value>(&body)
            .map_err(|_| schema_mismatch("Invalid type. Expected Object but got String."))
    } else {
        Err(schema_mismatch(
            "Invalid type. Expected Object but got String.",
        ))
    };
    let cards = match parsed.and_then(|value| trigger_schema(&value).map(|()| value)) {
        Ok(value) => value,
        Err((status, code, message)) => return Answer::error(status, code, &message),
    };
    run(shared, seq, &cards, body.len());
    Answer {
        response: StatusCode::ACCEPTED.into_response(),
        status: 202,
        code: None,
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// The trigger's schema (see the module documentation).
fn trigger_schema(value: &Value) -> Result<(), (StatusCode, &'static str, String)> {
    let invalid = |expected: &str, got: &Value, path: &str| {
        schema_mismatch(&format!(
            "Invalid type. Expected {expected} but got {}. Path '{path}'.",
            json_type(got)
        ))
    };
    let Some(object) = value.as_object() else {
        return Err(invalid("Object", value, ""));
    };
    let missing: Vec<&str> = ["type", "attachments"]
        .into_iter()
        .filter(|k| !object.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(schema_mismatch(&format!(
            "Required properties are missing from object: {}.",
            missing.join(", ")
        )));
    }
    match object.get("type") {
        Some(Value::String(s)) if s == "message" => {}
        Some(Value::String(s)) => {
            return Err(schema_mismatch(&format!(
                "Value \"{s}\" is not defined in enum. Path 'type'."
            )));
        }
        Some(other) => return Err(invalid("String", other, "type")),
        None => {}
    }
    let attachments = match object.get("attachments") {
        Some(Value::Array(items)) => items,
        Some(other) => return Err(invalid("Array", other, "attachments")),
        None => {
            return Err(schema_mismatch(
                "Required properties are missing from object: attachments.",
            ));
        }
    };
    if attachments.is_empty() {
        return Err(schema_mismatch(
            "Array item count 0 is less than minimum count of 1. Path 'attachments'.",
        ));
    }
    for (i, attachment) in attachments.iter().enumerate() {
        let path = format!("attachments[{i}]");
        let Some(item) = attachment.as_object() else {
            return Err(invalid("Object", attachment, &path));
        };
        let missing: Vec<&str> = ["contentType", "contentUrl", "content"]
            .into_iter()
            .filter(|k| !item.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(schema_mismatch(&format!(
                "Required properties are missing from object: {}. Path '{path}'.",
                missing.join(", ")
            )));
        }
        match item.get("contentType") {
            Some(Value::String(s)) if s == CARD_CONTENT_TYPE => {}
            Some(Value::String(s)) => {
                return Err(schema_mismatch(&format!(
                    "Value \"{s}\" is not defined in enum. Path '{path}.contentType'."
                )));
            }
            Some(other) => return Err(invalid("String", other, &format!("{path}.contentType"))),
            None => {}
        }
        if let Some(url) = item.get("contentUrl")
            && !url.is_null()
        {
            return Err(invalid("Null", url, &format!("{path}.contentUrl")));
        }
        if let Some(content) = item.get("content")
            && !content.is_object()
        {
            return Err(invalid("Object", content, &format!("{path}.content")));
        }
    }
    Ok(())
}

/// `"1.5"` → `(1, 5)`.
fn parse_version(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.split_once('.')?;
    let number = |s: &str| {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse::<u64>().ok()
        }
    };
    Some((number(major)?, number(minor)?))
}

/// "Runs the flow": posts each attachment's card, or records it as lost.
fn run(shared: &Shared, seq: u64, message: &Value, body_bytes: usize) {
    let config = &shared.config;
    let mut inner = shared.lock();
    let now = shared.clock.now();
    let window = config.window;
    while inner
        .recent
        .front()
        .is_some_and(|t| now.saturating_sub(*t) >= window)
    {
        inner.recent.pop_front();
    }
    let cards = message
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("content"));
    for card in cards {
        let reason = if body_bytes > config.max_message_bytes {
            Some(LostReason::TooLarge { bytes: body_bytes })
        } else if card.get("type").and_then(Value::as_str) != Some("AdaptiveCard") {
            Some(LostReason::NotAdaptiveCard)
        } else {
            let version = card.get("version");
            match version.and_then(Value::as_str).and_then(parse_version) {
                Some(v) if v <= (1, 5) => {
                    if inner.recent.len() >= config.posts_per_window {
                        Some(LostReason::Throttled)
                    } else {
                        None
                    }
                }
                _ => Some(LostReason::UnsupportedVersion(
                    version.map_or_else(|| "(none)".to_owned(), Value::to_string),
                )),
            }
        };
        match reason {
            None => {
                inner.recent.push_back(now);
                inner.posted.push(PostedCard {
                    card: card.clone(),
                    at: now,
                    request: seq,
                });
            }
            Some(reason) => {
                tracing::debug!(?reason, seq, "Teams flow mock lost a card");
                inner.lost.push(LostCard {
                    card: card.clone(),
                    reason,
                    at: now,
                    request: seq,
                });
            }
        }
    }
}
