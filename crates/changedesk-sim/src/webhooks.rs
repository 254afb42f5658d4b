//! A Standard Webhooks receiver mock: the local HTTP endpoint changedesk's
//! signed outgoing webhooks are tested against.
//!
//! It verifies every request with its own implementation of the scheme
//! (standard-webhooks `spec/standard-webhooks.md`; no code is shared with
//! the sender), refuses what a strict real receiver refuses, de-duplicates
//! on `webhook-id`, and can be told to answer the next requests with
//! faults. Tests read what it accepted and refused.
//!
//! # The scheme
//!
//! - `webhook-id`: the message id, the same on every retry; must not
//!   contain `.`.
//! - `webhook-timestamp`: integer Unix seconds of this attempt; refused
//!   when more than [`ReceiverConfig::tolerance`] (5 minutes) from the
//!   receiver's clock ([`SystemTime::now`]).
//! - `webhook-signature`: space-separated `<version>,<base64>` entries;
//!   `v1` is HMAC-SHA256, verified in constant time; the request verifies
//!   when any `v1` entry does; other versions are ignored.
//! - The signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`,
//!   with the header texts and body bytes exactly as received, and the
//!   HMAC key is the base64-decoded text after `whsec_`.
//!
//! # Answers
//!
//! | Request | Status |
//! |---|---|
//! | a queued [`FaultResponse`] (checked first) | the fault; not recorded as received |
//! | body over [`MAX_BODY_BYTES`] (1 MiB) | 413 |
//! | `Content-Type` other than `application/json` (parameters allowed) | 415 |
//! | missing, repeated or non-ASCII `webhook-*` header, `webhook-id` empty or with `.`, timestamp not an integer | 400 |
//! | no `v1` signature verifies, timestamp outside the tolerance | 401 |
//! | verified, but the body is not JSON | 400 |
//! | verified, new `webhook-id` | 204 |
//! | verified, `webhook-id` already accepted | 200 (idempotent), counted in [`ReceiverHandle::duplicates`] |
//!
//! Refusals (400, 401, 413, 415) answer a short text reason and are listed
//! in [`ReceiverHandle::rejected`].
//!
//! ```
//! # async fn demo() -> std::io::Result<()> {
//! use changedesk_sim::webhooks::{ReceiverConfig, start_receiver};
//! let receiver = start_receiver(ReceiverConfig::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).await?;
//! let endpoint = receiver.url(); // http://127.0.0.1:PORT/hook
//! # let _ = endpoint;
//! receiver.shutdown().await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::mock::{self, FaultQueue, MockServer, Stop};

/// The prefix of a symmetric Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a `webhook-timestamp` may be from now: 5 minutes, as in the
/// reference libraries.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The largest body accepted (1 MiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The path of the endpoint; any path under `/hook/` is accepted too.
pub const HOOK_PATH: &str = "/hook";

const ID_HEADER: &str = "webhook-id";
const TIMESTAMP_HEADER: &str = "webhook-timestamp";
const SIGNATURE_HEADER: &str = "webhook-signature";

/// How the receiver is set up.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The shared secret, `whsec_` followed by base64.
    pub secret: String,
    /// How far a `webhook-timestamp` may be from the receiver's clock
    /// (whole seconds count; [`DEFAULT_TOLERANCE`] by default).
    pub tolerance: Duration,
}

impl ReceiverConfig {
    /// This secret, with the default tolerance (5 minutes).
    pub fn new(secret: impl Into<String>) -> ReceiverConfig {
        ReceiverConfig {
            secret: secret.into(),
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

/// A request that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// The body, parsed.
    pub body: serde_json::Value,
    /// The body bytes as received.
    pub raw: Vec<u8>,
    /// The body's `type` when it is a string.
    pub event_type: Option<String>,
    /// The request path (`/hook` or under `/hook/`).
    pub path: String,
    /// `webhook-signature` as received.
    pub signature: String,
}

/// A request that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The status answered (400, 401, 413, 415, or 500 for an unusable
    /// secret).
    pub status: u16,
    /// A short reason, also the response body.
    pub reason: String,
    /// `webhook-id` when the request had a readable one.
    pub id: Option<String>,
}

/// An answer given instead of processing the request (see
/// [`ReceiverHandle::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultResponse {
    /// This status with an empty body (an invalid code answers 500).
    Status(u16),
    /// 429 with `Retry-After: retry_after_secs`.
    TooManyRequests { retry_after_secs: u64 },
    /// Wait this long, then answer 200 (meant to be longer than the
    /// client's timeout). The wait ends early, with 503, at shutdown.
    Delay(Duration),
    /// 410 Gone: the endpoint asks to be disabled.
    Gone,
}

/// A request answered with a queued fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faulted {
    /// `webhook-id` when the request had a readable one.
    pub id: Option<String>,
    /// The fault it got.
    pub response: FaultResponse,
}

/// Why signing or verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_` followed by non-empty standard base64.
    #[error("the secret is not `whsec_` followed by base64 ({0})")]
    InvalidSecret(String),
    /// A required header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header is repeated or not visible ASCII.
    #[error("the {0} header is repeated or not ASCII text")]
    MalformedHeader(&'static str),
    /// `webhook-id` is empty or contains `.`.
    #[error("webhook-id is empty or contains `.`")]
    InvalidId,
    /// `webhook-timestamp` is not an integer number of seconds.
    #[error("webhook-timestamp is not an integer number of seconds")]
    InvalidTimestamp,
    /// `webhook-timestamp` is further from now than the tolerance.
    #[error("webhook-timestamp {timestamp} is more than {tolerance_secs} s from now ({now})")]
    StaleTimestamp {
        timestamp: i64,
        now: i64,
        tolerance_secs: i64,
    },
    /// No `v1` entry of `webhook-signature` verifies.
    #[error("no v1 signature verifies")]
    NoMatchingSignature,
}

impl WebhookError {
    /// The HTTP status the receiver answers for this error: 400 for a
    /// malformed request, 401 for a signature or timestamp that does not
    /// verify, 500 for an unusable secret (the receiver's own fault).
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::InvalidSecret(_) => 500,
            WebhookError::MissingHeader(_)
            | WebhookError::MalformedHeader(_)
            | WebhookError::InvalidId
            | WebhookError::InvalidTimestamp => 400,
            WebhookError::StaleTimestamp { .. } | WebhookError::NoMatchingSignature => 401,
        }
    }
}

/// The HMAC key of a `whsec_` secret.
fn key_of(whsec: &str) -> Result<hmac::Key, WebhookError> {
    let encoded = whsec
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| WebhookError::InvalidSecret("no whsec_ prefix".to_owned()))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| WebhookError::InvalidSecret(e.to_string()))?;
    if bytes.is_empty() {
        return Err(WebhookError::InvalidSecret("empty key".to_owned()));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

/// `{id}.{timestamp}.{body}`.
fn signed_content(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

fn check_id(id: &str) -> Result<(), WebhookError> {
    if id.is_empty() || id.contains('.') {
        Err(WebhookError::InvalidId)
    } else {
        Ok(())
    }
}

/// An integer of ASCII digits (no sign, no spaces), as the header is
/// signed exactly as sent.
fn parse_timestamp(text: &str) -> Result<i64, WebhookError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::InvalidTimestamp);
    }
    text.parse().map_err(|_| WebhookError::InvalidTimestamp)
}

/// The receiver's own signature of a message: `v1,<base64 HMAC-SHA256>`,
/// for tests of the sender.
pub fn sign(whsec: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    check_id(id)?;
    let key = key_of(whsec)?;
    let tag = hmac::sign(&key, &signed_content(id, &timestamp.to_string(), body));
    Ok(format!("v1,{}", STANDARD.encode(tag.as_ref())))
}

/// Verifies a message as the receiver does: `headers` are the texts of
/// `webhook-id`, `webhook-timestamp` and `webhook-signature`; the timestamp
/// must be within `tolerance_secs` of `now_unix`, and one `v1` entry must
/// verify (in constant time).
pub fn verify(
    whsec: &str,
    headers: (&str, &str, &str),
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), WebhookError> {
    let key = key_of(whsec)?;
    verify_with(&key, headers, body, now_unix, tolerance_secs).map(|_| ())
}

/// [`verify`] with a decoded key; the timestamp on success.
fn verify_with(
    key: &hmac::Key,
    (id, timestamp, signature): (&str, &str, &str),
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<i64, WebhookError> {
    check_id(id)?;
    let ts = parse_timestamp(timestamp)?;
    let tolerance = u64::try_from(tolerance_secs).unwrap_or(0);
    if now_unix.abs_diff(ts) > tolerance {
        return Err(WebhookError::StaleTimestamp {
            timestamp: ts,
            now: now_unix,
            tolerance_secs,
        });
    }
    let content = signed_content(id, timestamp, body);
    let verified = signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        .any(|tag| hmac::verify(key, &content, &tag).is_ok());
    if verified {
        Ok(ts)
    } else {
        Err(WebhookError::NoMatchingSignature)
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What the receiver remembers.
struct Inner {
    key: hmac::Key,
    received: Vec<Received>,
    seen: HashSet<String>,
    distinct: Vec<String>,
    duplicates: usize,
    rejected: Vec<Rejected>,
    faulted: Vec<Faulted>,
}

struct Shared {
    inner: Mutex<Inner>,
    faults: FaultQueue<FaultResponse>,
    tolerance_secs: i64,
    /// Set once the receiver is stopping.
    stop: Stop,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        mock::lock(&self.inner)
    }

    fn reject(&self, status: StatusCode, reason: String, id: Option<String>) -> Response {
        tracing::debug!(%status, %reason, ?id, "webhook receiver refused a request");
        self.lock().rejected.push(Rejected {
            status: status.as_u16(),
            reason: reason.clone(),
            id,
        });
        (status, reason).into_response()
    }
}

/// A running receiver. It stops at [`ReceiverHandle::shutdown`] or when
/// dropped.
pub struct ReceiverHandle {
    shared: Arc<Shared>,
    server: MockServer,
}

impl std::fmt::Debug for ReceiverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl ReceiverHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint: `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}{HOOK_PATH}", self.server.addr())
    }

    /// Every request that verified, in arrival order, duplicates included.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// The distinct `webhook-id`s accepted, in first-arrival order.
    pub fn distinct_ids(&self) -> Vec<String> {
        self.shared.lock().distinct.clone()
    }

    /// Verified requests whose `webhook-id` had already been accepted.
    pub fn duplicates(&self) -> usize {
        self.shared.lock().duplicates
    }

    /// The refused requests, in arrival order, with the reason.
    pub fn rejected(&self) -> Vec<Rejected> {
        self.shared.lock().rejected.clone()
    }

    /// The requests answered with a queued fault, in arrival order.
    pub fn faulted(&self) -> Vec<Faulted> {
        self.shared.lock().faulted.clone()
    }

    /// Queues answers: the next requests (whatever they are) get these, in
    /// order, instead of being processed, and are not recorded as
    /// received. Appends to what is already queued.
    pub fn fail_next(&self, responses: Vec<FaultResponse>) {
        self.shared.faults.extend(responses);
    }

    /// Rotates the secret: from now on only `whsec` verifies.
    pub fn set_secret(&self, whsec: &str) -> Result<(), WebhookError> {
        let key = key_of(whsec)?;
        self.shared.lock().key = key;
        Ok(())
    }

    /// Stops serving and waits for the server task (a pending
    /// [`FaultResponse::Delay`] ends at once).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a receiver on `127.0.0.1` (a free port), served by a tokio task.
/// An unusable secret is an [`std::io::ErrorKind::InvalidInput`] error.
pub async fn start_receiver(config: ReceiverConfig) -> std::io::Result<ReceiverHandle> {
    let key = key_of(&config.secret)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let stop = Stop::new();
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            key,
            received: Vec::new(),
            seen: HashSet::new(),
            distinct: Vec::new(),
            duplicates: 0,
            rejected: Vec::new(),
            faulted: Vec::new(),
        }),
        faults: FaultQueue::new(),
        tolerance_secs: i64::try_from(config.tolerance.as_secs()).unwrap_or(i64::MAX),
        stop: stop.clone(),
    });
    let app = Router::new()
        .route(HOOK_PATH, post(hook))
        .route("/hook/", post(hook))
        .route("/hook/{*rest}", post(hook))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::clone(&shared));
    let server = MockServer::start("webhook receiver", app, stop).await?;
    Ok(ReceiverHandle { shared, server })
}

/// The text of a header that must appear once.
fn single_header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or(WebhookError::MissingHeader(name))?;
    if values.next().is_some() {
        return Err(WebhookError::MalformedHeader(name));
    }
    value
        .to_str()
        .map_err(|_| WebhookError::MalformedHeader(name))
}

fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value.to_str().is_ok_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    })
}

async fn fault_response(shared: &Shared, fault: FaultResponse) -> Response {
    match fault {
        FaultResponse::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        FaultResponse::TooManyRequests { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
        )
            .into_response(),
        FaultResponse::Gone => StatusCode::GONE.into_response(),
        FaultResponse::Delay(delay) => {
            if shared.stop.sleep(delay).await {
                StatusCode::OK.into_response()
            } else {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
    }
}

/// `POST /hook` and `POST /hook/…`.
async fn hook(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = single_header(&headers, ID_HEADER).ok().map(str::to_owned);

    let fault = {
        let mut inner = shared.lock();
        let fault = shared.faults.pop();
        if let Some(response) = &fault {
            inner.faulted.push(Faulted {
                id: id.clone(),
                response: response.clone(),
            });
        }
        fault
    };
    if let Some(fault) = fault {
        return fault_response(&shared, fault).await;
    }

    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the body is larger than {MAX_BODY_BYTES} bytes")
            } else {
                rejection.body_text()
            };
            return shared.reject(status, reason, id);
        }
    };
    if !is_json(&headers) {
        return shared.reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json".to_owned(),
            id,
        );
    }

    let parts = single_header(&headers, ID_HEADER).and_then(|id| {
        Ok((
            id,
            single_header(&headers, TIMESTAMP_HEADER)?,
            single_header(&headers, SIGNATURE_HEADER)?,
        ))
    });
    let (webhook_id, timestamp, signature) = match parts {
        Ok(parts) => parts,
        Err(e) => return shared.reject(StatusCode::BAD_REQUEST, e.to_string(), id),
    };
    let key = shared.lock().key.clone();
    let timestamp = match verify_with(
        &key,
        (webhook_id, timestamp, signature),
        &body,
        now_unix(),
        shared.tolerance_secs,
    ) {
        Ok(ts) => ts,
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return shared.reject(status, e.to_string(), id);
        }
    };

    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(e) => {
            return shared.reject(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
                id,
            );
        }
    };

    let mut inner = shared.lock();
    let first = inner.seen.insert(webhook_id.to_owned());
    if first {
        inner.distinct.push(webhook_id.to_owned());
    } else {
        inner.duplicates += 1;
    }
    inner.received.push(Received {
        id: webhook_id.to_owned(),
        timestamp,
        event_type: json
            .get("type")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        body: json,
        raw: body.to_vec(),
        path: uri.path().to_owned(),
        signature: signature.to_owned(),
    });
    drop(inner);
    if first {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::OK.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const GOOD: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const BAD: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
    /// Another secret (32 bytes 0..=31).
    const OTHER_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn check(signature: &str, now: i64) -> Result<(), WebhookError> {
        verify(SECRET, (ID, "1614265330", signature), BODY, now, 300)
    }

    #[test]
    fn test_vector_signs_and_verifies() {
        assert_eq!(sign(SECRET, ID, TS, BODY).unwrap(), GOOD);
        assert_eq!(check(GOOD, TS), Ok(()));
    }

    #[test]
    fn negative_test_vector_fails() {
        assert_eq!(check(BAD, TS), Err(WebhookError::NoMatchingSignature));
        // the same signature over another body, id or timestamp
        let other_body = verify(
            SECRET,
            (ID, "1614265330", GOOD),
            b"{\"test\":2432232314}",
            TS,
            300,
        );
        assert_eq!(other_body, Err(WebhookError::NoMatchingSignature));
        let other_id = verify(SECRET, ("msg_other", "1614265330", GOOD), BODY, TS, 300);
        assert_eq!(other_id, Err(WebhookError::NoMatchingSignature));
        let other_ts = verify(SECRET, (ID, "1614265331", GOOD), BODY, TS, 300);
        assert_eq!(other_ts, Err(WebhookError::NoMatchingSignature));
        let other_key = verify(OTHER_SECRET, (ID, "1614265330", GOOD), BODY, TS, 300);
        assert_eq!(other_key, Err(WebhookError::NoMatchingSignature));
    }

    #[test]
    fn any_v1_entry_verifies_and_unknown_versions_are_ignored() {
        let good_tag = GOOD.trim_start_matches("v1,");
        assert_eq!(check(&format!("v1a,{good_tag} {GOOD}"), TS), Ok(()));
        assert_eq!(check(&format!("v2,AAAA {BAD} {GOOD}"), TS), Ok(()));
        assert_eq!(check(&format!("garbage {GOOD} v1,%%%"), TS), Ok(()));
        // the right tag under another version does not count
        assert_eq!(
            check(&format!("v2,{good_tag}"), TS),
            Err(WebhookError::NoMatchingSignature)
        );
        assert_eq!(check("", TS), Err(WebhookError::NoMatchingSignature));
        assert_eq!(check("v1,", TS), Err(WebhookError::NoMatchingSignature));
    }

    #[test]
    fn timestamps_beyond_the_tolerance_are_refused() {
        let stale = |now| matches!(check(GOOD, now), Err(WebhookError::StaleTimestamp { .. }));
        // six minutes either way
        assert!(stale(TS + 360));
        assert!(stale(TS - 360));
        // exactly five minutes is still accepted
        assert_eq!(check(GOOD, TS + 300), Ok(()));
        assert_eq!(check(GOOD, TS - 300), Ok(()));
        assert!(stale(TS + 301));
        assert_eq!(
            WebhookError::StaleTimestamp {
                timestamp: 0,
                now: 0,
                tolerance_secs: 0
            }
            .status(),
            401
        );
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let with = |id, ts| verify(SECRET, (id, ts, GOOD), BODY, TS, 300);
        assert_eq!(with("msg.1", "1614265330"), Err(WebhookError::InvalidId));
        assert_eq!(with("", "1614265330"), Err(WebhookError::InvalidId));
        for ts in [
            "",
            "1614265330.5",
            "+1614265330",
            " 1614265330",
            "-1",
            "x",
            "99999999999999999999",
        ] {
            assert_eq!(with(ID, ts), Err(WebhookError::InvalidTimestamp), "{ts:?}");
        }
        assert_eq!(WebhookError::InvalidId.status(), 400);
        assert!(matches!(
            verify(
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                (ID, "1614265330", GOOD),
                BODY,
                TS,
                300
            ),
            Err(WebhookError::InvalidSecret(_))
        ));
        assert!(matches!(
            sign("whsec_not base64!", ID, TS, BODY),
            Err(WebhookError::InvalidSecret(_))
        ));
        assert!(matches!(
            sign("whsec_", ID, TS, BODY),
            Err(WebhookError::InvalidSecret(_))
        ));
        assert_eq!(sign(SECRET, "a.b", TS, BODY), Err(WebhookError::InvalidId));
    }

    // ---- over HTTP ----

    fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().build().unwrap()
    }

    async fn receiver() -> ReceiverHandle {
        start_receiver(ReceiverConfig::new(SECRET)).await.unwrap()
    }

    /// A POST to `url` signed with `secret` at `ts`, or with `signature`.
    struct Post<'a> {
        url: String,
        id: &'a str,
        ts: i64,
        secret: &'a str,
        signature: Option<String>,
        body: Vec<u8>,
        content_type: &'a str,
    }

    impl<'a> Post<'a> {
        fn new(r: &ReceiverHandle, id: &'a str, body: &[u8]) -> Post<'a> {
            Post {
                url: r.url(),
                id,
                ts: now_unix(),
                secret: SECRET,
                signature: None,
                body: body.to_vec(),
                content_type: "application/json",
            }
        }

        fn request(self, client: &reqwest::Client) -> reqwest::RequestBuilder {
            let signature = self
                .signature
                .unwrap_or_else(|| sign(self.secret, self.id, self.ts, &self.body).unwrap());
            client
                .post(self.url)
                .header("content-type", self.content_type)
                .header("webhook-id", self.id)
                .header("webhook-timestamp", self.ts.to_string())
                .header("webhook-signature", signature)
                .body(self.body)
        }

        async fn send(self, client: &reqwest::Client) -> reqwest::Response {
            self.request(client).send().await.unwrap()
        }
    }

    const EVENT: &[u8] =
        br#"{"type":"change.updated","timestamp":"2026-02-17T09:00:00.000Z","data":{"id":"42"}}"#;

    #[tokio::test]
    async fn http_records_signed_refuses_forged_and_counts_duplicates() {
        let c = client();
        let r = receiver().await;

        let ok = Post::new(&r, "msg_1", EVENT).send(&c).await;
        assert_eq!(ok.status(), 204);
        let received = r.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].id, "msg_1");
        assert_eq!(received[0].raw, EVENT);
        assert_eq!(received[0].event_type.as_deref(), Some("change.updated"));
        assert_eq!(received[0].body["data"]["id"], "42");
        assert_eq!(received[0].path, "/hook");
        assert!((received[0].timestamp - now_unix()).abs() < 5);

        // wrong signature: 401, listed in rejected(), not received
        let forged = Post {
            signature: Some(BAD.to_owned()),
            ..Post::new(&r, "msg_2", EVENT)
        }
        .send(&c)
        .await;
        assert_eq!(forged.status(), 401);
        assert_eq!(forged.text().await.unwrap(), "no v1 signature verifies");
        let rejected = r.rejected();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].status, 401);
        assert_eq!(rejected[0].id.as_deref(), Some("msg_2"));
        assert_eq!(rejected[0].reason, "no v1 signature verifies");

        // signed with another secret
        let other = Post {
            secret: OTHER_SECRET,
            ..Post::new(&r, "msg_3", EVENT)
        };
        assert_eq!(other.send(&c).await.status(), 401);

        // stale (6 minutes old), correctly signed
        let stale = Post {
            ts: now_unix() - 360,
            ..Post::new(&r, "msg_4", EVENT)
        };
        assert_eq!(stale.send(&c).await.status(), 401);

        // a retry of msg_1 (new timestamp, new signature): 200, a duplicate
        let again = Post::new(&r, "msg_1", EVENT).send(&c).await;
        assert_eq!(again.status(), 200);
        assert_eq!(r.duplicates(), 1);
        assert_eq!(r.received().len(), 2);
        assert_eq!(r.distinct_ids(), ["msg_1"]);

        assert_eq!(Post::new(&r, "msg_5", b"{}").send(&c).await.status(), 204);
        assert_eq!(r.distinct_ids(), ["msg_1", "msg_5"]);
        assert_eq!(r.rejected().len(), 3);
        r.shutdown().await;
    }

    #[tokio::test]
    async fn http_refuses_malformed_requests() {
        let c = client();
        let r = receiver().await;

        // correctly signed, but not JSON
        let not_json = Post::new(&r, "msg_1", b"not json").send(&c).await;
        assert_eq!(not_json.status(), 400);
        assert!(
            not_json
                .text()
                .await
                .unwrap()
                .starts_with("the body is not JSON")
        );

        let dotted = Post {
            signature: Some(GOOD.to_owned()),
            ..Post::new(&r, "msg.2", EVENT)
        };
        assert_eq!(dotted.send(&c).await.status(), 400);

        let text = Post {
            content_type: "text/plain",
            ..Post::new(&r, "msg_3", EVENT)
        };
        assert_eq!(text.send(&c).await.status(), 415);
        let with_charset = Post {
            content_type: "application/json; charset=utf-8",
            ..Post::new(&r, "msg_4", EVENT)
        };
        assert_eq!(with_charset.send(&c).await.status(), 204);

        let no_signature = c
            .post(r.url())
            .header("content-type", "application/json")
            .header("webhook-id", "msg_5")
            .header("webhook-timestamp", now_unix().to_string())
            .body(EVENT)
            .send()
            .await
            .unwrap();
        assert_eq!(no_signature.status(), 400);
        assert_eq!(
            no_signature.text().await.unwrap(),
            "missing webhook-signature header"
        );

        let ts = now_unix();
        let fractional = c
            .post(r.url())
            .header("content-type", "application/json")
            .header("webhook-id", "msg_6")
            .header("webhook-timestamp", format!("{ts}.0"))
            .header(
                "webhook-signature",
                sign(SECRET, "msg_6", ts, EVENT).unwrap(),
            )
            .body(EVENT)
            .send()
            .await
            .unwrap();
        assert_eq!(fractional.status(), 400);

        // 1 MiB is accepted, one byte more is not
        let mut big = br#"{"pad":""#.to_vec();
        big.resize(MAX_BODY_BYTES - 2, b'a');
        big.extend_from_slice(b"\"}");
        assert_eq!(Post::new(&r, "msg_7", &big).send(&c).await.status(), 204);
        big.insert(9, b'a');
        assert_eq!(Post::new(&r, "msg_8", &big).send(&c).await.status(), 413);

        let rejected = r.rejected();
        let statuses: Vec<u16> = rejected.iter().map(|x| x.status).collect();
        assert_eq!(statuses, [400, 400, 415, 400, 400, 413]);
        assert_eq!(rejected[0].id.as_deref(), Some("msg_1"));
        assert_eq!(r.distinct_ids(), ["msg_4", "msg_7"]);
        r.shutdown().await;
    }

    #[tokio::test]
    async fn http_paths_under_hook_are_served() {
        let c = client();
        let r = receiver().await;
        for (path, id, status) in [
            ("/hook/", "msg_1", 204),
            ("/hook/tenant/7", "msg_2", 204),
            ("/other", "msg_3", 404),
        ] {
            let url = format!("http://{}{path}", r.addr());
            let post = Post {
                url,
                ..Post::new(&r, id, EVENT)
            };
            assert_eq!(post.send(&c).await.status(), status, "{path}");
        }
        let paths: Vec<String> = r.received().into_iter().map(|x| x.path).collect();
        assert_eq!(paths, ["/hook/", "/hook/tenant/7"]);
        let get = c.get(r.url()).send().await.unwrap();
        assert_eq!(get.status(), 405);
        r.shutdown().await;
    }

    #[tokio::test]
    async fn http_queued_faults_are_answered_in_order() {
        let c = client();
        let r = receiver().await;
        r.fail_next(vec![
            FaultResponse::Status(503),
            FaultResponse::TooManyRequests {
                retry_after_secs: 7,
            },
        ]);
        r.fail_next(vec![FaultResponse::Gone]);

        let first = Post::new(&r, "msg_1", EVENT).send(&c).await;
        assert_eq!(first.status(), 503);
        let second = Post::new(&r, "msg_1", EVENT).send(&c).await;
        assert_eq!(second.status(), 429);
        assert_eq!(second.headers()["retry-after"], "7");
        let third = Post::new(&r, "msg_1", EVENT).send(&c).await;
        assert_eq!(third.status(), 410);
        assert!(r.received().is_empty());

        let fourth = Post::new(&r, "msg_1", EVENT).send(&c).await;
        assert_eq!(fourth.status(), 204);
        assert_eq!(r.received().len(), 1);
        assert_eq!(r.duplicates(), 0);
        let faulted = r.faulted();
        assert_eq!(faulted.len(), 3);
        assert!(faulted.iter().all(|f| f.id.as_deref() == Some("msg_1")));
        assert_eq!(
            faulted[1].response,
            FaultResponse::TooManyRequests {
                retry_after_secs: 7
            }
        );
        assert!(r.rejected().is_empty());
        r.shutdown().await;
    }

    #[tokio::test]
    async fn http_delay_outlasts_the_client_and_shutdown_ends_it() {
        let c = client();
        let r = receiver().await;
        r.fail_next(vec![
            FaultResponse::Delay(Duration::from_millis(300)),
            FaultResponse::Delay(Duration::from_secs(3600)),
        ]);
        let timed_out = Post::new(&r, "msg_1", EVENT)
            .request(&c)
            .timeout(Duration::from_millis(100))
            .send()
            .await;
        assert!(timed_out.unwrap_err().is_timeout());
        assert!(r.received().is_empty());

        // an hour-long delay in flight: shutdown does not wait for it
        let pending = tokio::spawn(Post::new(&r, "msg_1", EVENT).request(&c).send());
        tokio::time::sleep(Duration::from_millis(100)).await;
        tokio::time::timeout(Duration::from_secs(5), r.shutdown())
            .await
            .unwrap();
        let _ = pending.await.unwrap();
    }

    #[tokio::test]
    async fn http_secret_rotation_makes_the_old_secret_fail() {
        let c = client();
        let r = receiver().await;
        assert_eq!(Post::new(&r, "msg_1", EVENT).send(&c).await.status(), 204);

        r.set_secret(OTHER_SECRET).unwrap();
        let old = Post::new(&r, "msg_2", EVENT).send(&c).await;
        assert_eq!(old.status(), 401);
        let new = Post {
            secret: OTHER_SECRET,
            ..Post::new(&r, "msg_2", EVENT)
        };
        assert_eq!(new.send(&c).await.status(), 204);

        // a sender in rotation signs with both: verified
        let ts = now_unix();
        let both = format!(
            "{} {}",
            sign(SECRET, "msg_3", ts, EVENT).unwrap(),
            sign(OTHER_SECRET, "msg_3", ts, EVENT).unwrap()
        );
        let rotating = Post {
            ts,
            signature: Some(both),
            ..Post::new(&r, "msg_3", EVENT)
        };
        assert_eq!(rotating.send(&c).await.status(), 204);

        assert!(r.set_secret("not-a-secret").is_err());
        assert_eq!(r.distinct_ids(), ["msg_1", "msg_2", "msg_3"]);
        assert_eq!(r.rejected().len(), 1);
        r.shutdown().await;
    }

    #[tokio::test]
    async fn an_unusable_secret_does_not_start() {
        let err = start_receiver(ReceiverConfig::new("secret"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
