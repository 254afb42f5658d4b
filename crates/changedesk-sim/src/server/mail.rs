//! Graph's `POST /v1.0/users/{id | userPrincipalName}/sendMail` (the JSON
//! form), the mailboxes it sends from, the messages it accepted, and their
//! control endpoints.
//!
//! What the simulator relies on, with its sources (GDC is the repository
//! `microsoftgraph/microsoft-graph-docs-contrib`, the source of
//! learn.microsoft.com/graph):
//!
//! - The request: `POST /users/{id | userPrincipalName}/sendMail` with
//!   `Authorization: Bearer` and `Content-Type: application/json` (or
//!   `text/plain` for base64 MIME, which the simulator does not implement),
//!   body `{"message": message, "saveToSentItems": Boolean}`; `message` is
//!   required, `saveToSentItems` optional (default true; the docs example
//!   sends it as the string `"false"`, so that form is accepted too). The
//!   answer is `202 Accepted` with an empty body. (GDC
//!   `api-reference/v1.0/api/user-sendmail.md`.)
//! - The message: `toRecipients`, `ccRecipients`, `bccRecipients`,
//!   `replyTo` (recipient collections), `subject`, `body` (itemBody:
//!   `contentType` `text` or `html`, `content`), `internetMessageId`
//!   (RFC 2822 form), `internetMessageHeaders` (custom headers whose names
//!   start with `x-`), at most 500 recipients in all. (GDC
//!   `api-reference/v1.0/resources/message.md`.)
//! - A property `message` does not define is refused: 400 `RequestBodyRead`
//!   "The property '…' does not exist on type
//!   'Microsoft.OutlookServices.Message'. Make sure to only use property
//!   names that are defined by the type or mark the type as open type."
//!   (GDC issue #558 shows the wording; the metadata marks message as an
//!   open type, the Outlook service behind Graph refuses all the same.)
//!   Property and parameter names match case-insensitively: the Outlook
//!   service accepted `Message`/`SaveToSentItems` (microsoft-graph-docs
//!   issue #10518).
//! - No recipient at all: 400 `ErrorInvalidRecipients` "At least one
//!   recipient is not valid., A message can't be sent because it contains
//!   no recipients." (msgraph-sdk-dotnet issue #1891); Bcc alone is enough
//!   (SMTP2Graph issue #30). An address that does not resolve: 400
//!   `ErrorInvalidRecipients` "…, Recipient "bad" isn't resolved. All
//!   recipients must be resolved before a message can be submitted."
//!   (ruby-connect-rest-sample issue #15).
//! - A custom header not named `x-…`: 400 `InvalidInternetMessageHeader`
//!   "The internet message header name 'List-Unsubscribe' should start with
//!   'x-' or 'X-'." (msgraph-sdk-dotnet issue #2105).
//! - A request body over 4 MB: 413 (microsoft-graph-docs issue #9834;
//!   the error code is UNVERIFIED).
//! - No `Mail.Send` application role in the token: 403 `ErrorAccessDenied`
//!   "Access is denied. Check credentials and try again."; a `from` other
//!   than the mailbox: 403 `ErrorSendAsDenied`; an unknown user: 404
//!   `ErrorInvalidUser`; a user without an Exchange Online mailbox: 404
//!   `MailboxNotEnabledForRESTAPI`.
//! - Outlook limits per app per mailbox: 4 concurrent requests, 10,000
//!   requests in 10 minutes; beyond them 429 `ApplicationThrottled`
//!   "Application is over its MailboxConcurrency limit." (Graph
//!   throttling-limits page, "Outlook service limits"; Microsoft Q&A 734143
//!   and 1660054 for the message; the code and the `Retry-After` of a
//!   concurrency refusal are UNVERIFIED).
//!
//! Order of checks: token (401), tenant mode, the `Mail.Send` role (403),
//! an injected fault (scripted, then the [`crate::Faults`] dice), the
//! action segment and `/me`, the user (404), the mailbox's limits (429),
//! then, holding one of the mailbox's concurrent slots, the latency of
//! [`crate::Faults::latency_ms`], the body (415, 413, 400, 403) and the
//! record.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::auth::authenticate_app;
use super::control::{error as control_error, tenant_index};
use super::graph::{
    Meta, SERVICE_HEALTH_READ_ALL, SERVICE_MESSAGE_READ_ALL, graph_error, json_response,
    unauthorized,
};
use super::{Shared, SimError, SimHandle, TenantMode, TenantTag, derived_oid, lock};

/// The application permission (app role) `sendMail` needs.
pub const MAIL_SEND: &str = "Mail.Send";

/// The app roles every tenant grants the simulator's app with admin
/// consent ([`crate::SimConfig::app_roles`]): the two the
/// service-communications API documents
/// ([`SERVICE_MESSAGE_READ_ALL`] for `messages`,
/// [`SERVICE_HEALTH_READ_ALL`] for `issues` and `healthOverviews`) and
/// [`MAIL_SEND`] for `sendMail`. Each is checked by the requests that need
/// it.
pub const DEFAULT_APP_ROLES: [&str; 3] =
    [SERVICE_MESSAGE_READ_ALL, SERVICE_HEALTH_READ_ALL, MAIL_SEND];

/// The largest `sendMail` request body Graph takes: 4 MB.
pub const MAX_SEND_MAIL_BYTES: usize = 4 * 1024 * 1024;

/// The most recipients (To, Cc and Bcc together) of one message.
pub const MAX_MAIL_RECIPIENTS: usize = 500;

/// The most accepted messages kept ([`SimHandle::sent_mail`]); older ones
/// are dropped.
pub const SENT_MAIL_CAPACITY: usize = 100_000;

/// The Outlook throttling window.
const TEN_MINUTES: Duration = Duration::from_secs(600);

/// The `Retry-After` of a refusal for concurrency (UNVERIFIED: Graph's
/// value is not documented).
const CONCURRENCY_RETRY_AFTER: &str = "1";

/// A user of a simulated tenant, as `sendMail` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimMailUser {
    /// The user principal name, as given (matched case-insensitively).
    pub address: String,
    /// The object id, a GUID ([`crate::derived_oid`] of the address); the
    /// path may name the user by it.
    pub id: String,
    /// Whether the user has an Exchange Online mailbox (else `sendMail` is
    /// a 404 `MailboxNotEnabledForRESTAPI`).
    pub mailbox: bool,
}

/// An address of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAddress {
    /// The e-mail address, as sent.
    pub address: String,
    /// The display name, when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A custom Internet message header of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailHeader {
    /// `x-…`, as sent.
    pub name: String,
    /// The value, as sent.
    pub value: String,
}

/// One message `sendMail` accepted (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMail {
    /// 1, 2, ... in order of acceptance.
    pub seq: u64,
    /// The tenant's name.
    pub tenant: String,
    /// The sending mailbox's address (as the simulator knows the user,
    /// whichever way the path named it).
    pub sender: String,
    /// The sending user's object id.
    pub sender_id: String,
    /// When the simulator accepted it (RFC 3339, UTC).
    pub received: String,
    /// The subject (empty when none was sent).
    pub subject: String,
    /// `text` or `html` (lower-cased; `text` when none was sent).
    pub body_content_type: String,
    /// The body's content.
    pub body: String,
    /// `toRecipients`.
    pub to: Vec<MailAddress>,
    /// `ccRecipients`.
    pub cc: Vec<MailAddress>,
    /// `bccRecipients`.
    pub bcc: Vec<MailAddress>,
    /// `replyTo`.
    pub reply_to: Vec<MailAddress>,
    /// `internetMessageHeaders`, in order.
    pub headers: Vec<MailHeader>,
    /// `internetMessageId`, when one was sent.
    pub internet_message_id: Option<String>,
    /// `saveToSentItems` (default true).
    pub save_to_sent_items: bool,
    /// How many `attachments` the message had (their content is not kept).
    pub attachments: usize,
}

/// Outlook's limits per app per mailbox; changeable at run time
/// ([`SimHandle::set_mail_limits`], `PUT /_sim/mail/limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailLimits {
    /// Requests to one mailbox in flight at once (Graph: 4).
    pub concurrent_per_mailbox: u32,
    /// Requests to one mailbox admitted in any 10 minutes (Graph: 10,000).
    pub per_ten_minutes: u32,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits {
            concurrent_per_mailbox: 4,
            per_ten_minutes: 10_000,
        }
    }
}

/// A scripted failure of the next `sendMail` that gets past the token and
/// role checks ([`SimHandle::set_mail_faults`], `PUT /_sim/mail/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailFault {
    /// 429, 500, 502, 503 or 504.
    pub status: u16,
    /// The `Retry-After` to send, in seconds (none: no header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<f64>,
}

impl MailFault {
    /// A 429 with `Retry-After`.
    pub fn throttled(retry_after_secs: f64) -> Self {
        MailFault {
            status: 429,
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// A 503 without `Retry-After`.
    pub fn unavailable() -> Self {
        MailFault {
            status: 503,
            retry_after_secs: None,
        }
    }

    fn validate(&self) -> Result<(), SimError> {
        if !matches!(self.status, 429 | 500 | 502 | 503 | 504) {
            return Err(SimError::Mail(format!(
                "a mail fault's status is 429, 500, 502, 503 or 504, not {}",
                self.status
            )));
        }
        if let Some(s) = self.retry_after_secs
            && (!s.is_finite() || s < 0.0)
        {
            return Err(SimError::Mail(format!(
                "retry_after_secs must be a non-negative number, not {s}"
            )));
        }
        Ok(())
    }
}

/// The mail side of the simulator.
pub(crate) struct MailState {
    inner: Mutex<MailInner>,
}

struct MailInner {
    /// Per tenant: users by lower-cased address.
    users: Vec<BTreeMap<String, SimMailUser>>,
    limits: MailLimits,
    faults: VecDeque<MailFault>,
    /// Requests in flight per (tenant, user id).
    in_flight: HashMap<(usize, String), u32>,
    /// Admission times of the last 10 minutes per (tenant, user id).
    admitted: HashMap<(usize, String), VecDeque<Instant>>,
    sent: VecDeque<SentMail>,
    next_seq: u64,
}

/// Why the mailbox's limits refused a request.
enum Throttled {
    Concurrency,
    Rate(Duration),
}

impl MailState {
    /// Each tenant (by its domain) with a mailbox user per local part.
    pub(crate) fn new(domains: &[String], local_parts: &[String]) -> MailState {
        let users = domains
            .iter()
            .map(|domain| {
                local_parts
                    .iter()
                    .map(|local| {
                        let user = mail_user(&format!("{local}@{domain}"), true);
                        (user.address.to_ascii_lowercase(), user)
                    })
                    .collect()
            })
            .collect();
        MailState {
            inner: Mutex::new(MailInner {
                users,
                limits: MailLimits::default(),
                faults: VecDeque::new(),
                in_flight: HashMap::new(),
                admitted: HashMap::new(),
                sent: VecDeque::new(),
                next_seq: 0,
            }),
        }
    }

    fn user(&self, t: usize, key: &str) -> Option<SimMailUser> {
        let inner = lock(&self.inner);
        let users = inner.users.get(t)?;
        let key = key.trim().to_ascii_lowercase();
        users
            .get(&key)
            .or_else(|| users.values().find(|u| u.id.eq_ignore_ascii_case(&key)))
            .cloned()
    }

    fn users(&self, t: usize) -> Vec<SimMailUser> {
        lock(&self.inner)
            .users
            .get(t)
            .map(|u| u.values().cloned().collect())
            .unwrap_or_default()
    }

    fn set_user(&self, t: usize, address: &str, mailbox: bool) -> Result<SimMailUser, SimError> {
        let address = address.trim();
        if !is_address(address) {
            return Err(SimError::Mail(format!(
                "`{address}` is not a user principal name (name@domain)"
            )));
        }
        let user = mail_user(address, mailbox);
        let mut inner = lock(&self.inner);
        let users = inner
            .users
            .get_mut(t)
            .ok_or_else(|| SimError::UnknownTenant(t.to_string()))?;
        users.insert(address.to_ascii_lowercase(), user.clone());
        Ok(user)
    }

    fn remove_user(&self, t: usize, address: &str) -> bool {
        lock(&self.inner)
            .users
            .get_mut(t)
            .is_some_and(|u| u.remove(&address.trim().to_ascii_lowercase()).is_some())
    }

    fn take_fault(&self) -> Option<MailFault> {
        lock(&self.inner).faults.pop_front()
    }

    /// Admits a request to the mailbox under its limits: a slot held until
    /// the guard drops.
    fn admit(&self, t: usize, user_id: &str, now: Instant) -> Result<Slot<'_>, Throttled> {
        let mut inner = lock(&self.inner);
        let limits = inner.limits;
        let key = (t, user_id.to_owned());
        if inner.in_flight.get(&key).copied().unwrap_or(0) >= limits.concurrent_per_mailbox {
            return Err(Throttled::Concurrency);
        }
        let q = inner.admitted.entry(key.clone()).or_default();
        while q
            .front()
            .is_some_and(|&f| now.duration_since(f) >= TEN_MINUTES)
        {
            q.pop_front();
        }
        let per = limits.per_ten_minutes as usize;
        if per == 0 {
            return Err(Throttled::Rate(TEN_MINUTES));
        }
        if q.len() >= per {
            let first = q.len() - per;
            let wait = q.get(first).map_or(TEN_MINUTES, |&f| {
                (f + TEN_MINUTES).saturating_duration_since(now)
            });
            return Err(Throttled::Rate(wait));
        }
        q.push_back(now);
        *inner.in_flight.entry(key.clone()).or_insert(0) += 1;
        Ok(Slot { state: self, key })
    }

    fn record(&self, mut mail: SentMail) -> u64 {
        let mut inner = lock(&self.inner);
        inner.next_seq += 1;
        mail.seq = inner.next_seq;
        if inner.sent.len() >= SENT_MAIL_CAPACITY {
            inner.sent.pop_front();
        }
        inner.sent.push_back(mail);
        inner.next_seq
    }

    fn sent(&self, tenant: Option<&str>) -> Vec<SentMail> {
        lock(&self.inner)
            .sent
            .iter()
            .filter(|m| tenant.is_none_or(|t| m.tenant == t))
            .cloned()
            .collect()
    }
}

/// One of a mailbox's concurrent slots.
struct Slot<'a> {
    state: &'a MailState,
    key: (usize, String),
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut inner = lock(&self.state.inner);
        if let Some(n) = inner.in_flight.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.in_flight.remove(&self.key);
            }
        }
    }
}

fn mail_user(address: &str, mailbox: bool) -> SimMailUser {
    SimMailUser {
        address: address.to_owned(),
        id: derived_oid(address),
        mailbox,
    }
}

/// `local@domain`: one `@` after a non-empty local part, a domain with a
/// dot, no spaces, controls or address-list punctuation. (Exchange resolves
/// more; a client that sends less than this has a bug.)
fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let clean = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>,;:\"()[]\\".contains(c))
    };
    clean(local)
        && !local.contains('@')
        && clean(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

// ------------------------------------------------------------- responses

/// A refusal: status, Graph error code and message.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

fn bad_body(message: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "RequestBodyRead", message)
}

/// Seconds for `Retry-After`: at most millisecond precision, never 0.
fn retry_after_text(wait: Duration) -> String {
    let ms = wait.as_millis().max(1);
    let text = format!("{}.{:03}", ms / 1000, ms % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn with_retry_after(mut response: Response, retry_after: Option<&str>) -> Response {
    if let Some(v) = retry_after.and_then(|r| HeaderValue::from_str(r).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn fault_response(fault: &MailFault, meta: &Meta) -> Response {
    let (status, code, message) = match fault.status {
        429 => (
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Please retry again later.",
        ),
        500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "ErrorInternalServerError",
            "An internal server error occurred. The operation failed.",
        ),
        502 => (
            StatusCode::BAD_GATEWAY,
            "BadGateway",
            "The server received an invalid response from an upstream server.",
        ),
        504 => (
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            "The request timed out.",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
    };
    let retry_after = fault.retry_after_secs.map(|s| format!("{s}"));
    with_retry_after(
        graph_error(status, code, message, meta),
        retry_after.as_deref(),
    )
}

fn access_denied(meta: &Meta) -> Response {
    graph_error(
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied. Check credentials and try again.",
        meta,
    )
}

// --------------------------------------------------------------- handlers

/// `POST /v1.0/users/{user}/{action}`: `sendMail` (or
/// `microsoft.graph.sendMail`), case-insensitively.
pub(crate) async fn send_mail(
    State(shared): State<Arc<Shared>>,
    Path((user, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve(&shared, Some(&user), &action, &headers, body).await
}

/// `POST /v1.0/me/sendMail`: only for delegated tokens, which the
/// simulator's Graph does not take here.
pub(crate) async fn send_mail_me(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve(&shared, None, "sendMail", &headers, body).await
}

async fn serve(
    shared: &Shared,
    user: Option<&str>,
    action: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let meta = Meta::new(headers);
    let (t, roles) = match authenticate_app(shared, headers) {
        Ok(ok) => ok,
        Err(e) => return unauthorized(shared, &e, &meta),
    };
    let mut response = match accept(shared, t, &roles, user, action, headers, body, &meta).await {
        Ok(r) | Err(r) => r,
    };
    response
        .extensions_mut()
        .insert(TenantTag(shared.tenants[t].name.clone()));
    response
}

#[allow(clippy::too_many_arguments)]
async fn accept(
    shared: &Shared,
    t: usize,
    roles: &BTreeSet<String>,
    user: Option<&str>,
    action: &str,
    headers: &HeaderMap,
    body: Body,
    meta: &Meta,
) -> Result<Response, Response> {
    let (mode, dice_429, dice_503, retry_after_secs, latency) = {
        let mut control = lock(&shared.control);
        let faults = control.faults.clone();
        let (u429, u503): (f64, f64) = (control.rng.random(), control.rng.random());
        (
            control.modes[t],
            u429 < faults.fault_429,
            u503 < faults.fault_503,
            faults.retry_after_secs,
            faults.latency_ms,
        )
    };
    match mode {
        TenantMode::Endless503 => {
            return Err(fault_response(&MailFault::unavailable(), meta));
        }
        TenantMode::ConsentRevoked => return Err(access_denied(meta)),
        _ => {}
    }
    if !roles.contains(MAIL_SEND) {
        return Err(access_denied(meta));
    }
    if let Some(fault) = shared.mail.take_fault() {
        return Err(fault_response(&fault, meta));
    }
    if dice_429 {
        return Err(fault_response(
            &MailFault::throttled(retry_after_secs),
            meta,
        ));
    }
    if dice_503 {
        return Err(fault_response(&MailFault::unavailable(), meta));
    }
    if !action.eq_ignore_ascii_case("sendMail")
        && !action.eq_ignore_ascii_case("microsoft.graph.sendMail")
    {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{action}'."),
            meta,
        ));
    }
    let Some(user_key) = user else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
            meta,
        ));
    };
    let sender = match shared.mail.user(t, user_key) {
        None => {
            return Err(graph_error(
                StatusCode::NOT_FOUND,
                "ErrorInvalidUser",
                &format!("The requested user '{user_key}' is invalid."),
                meta,
            ));
        }
        Some(u) if !u.mailbox => {
            return Err(graph_error(
                StatusCode::NOT_FOUND,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
                meta,
            ));
        }
        Some(u) => u,
    };
    let _slot = match shared.mail.admit(t, &sender.id, Instant::now()) {
        Ok(slot) => slot,
        Err(Throttled::Concurrency) => {
            return Err(with_retry_after(
                graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    meta,
                ),
                Some(CONCURRENCY_RETRY_AFTER),
            ));
        }
        Err(Throttled::Rate(wait)) => {
            return Err(with_retry_after(
                graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "ApplicationThrottled",
                    "Application is over its MailboxPerAppRequestRate limit.",
                    meta,
                ),
                Some(&retry_after_text(wait)),
            ));
        }
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let refusal = |r: Refusal| graph_error(r.status, r.code, &r.message, meta);
    if media == "text/plain" {
        return Err(refusal(refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The simulator does not implement the MIME form of sendMail; send application/json.",
        )));
    }
    if media != "application/json" {
        return Err(refusal(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "RequestBodyRead",
            "A supported MIME type could not be found that matches the content type of the request.",
        )));
    }
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_SEND_MAIL_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return Err(refusal(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!(
                    "The request body is larger than the {} bytes sendMail takes.",
                    MAX_SEND_MAIL_BYTES
                ),
            )));
        }
    };
    let mut mail = parse_send_mail(&bytes).map_err(refusal)?;
    if let Some(from) = &mail.from
        && !from.eq_ignore_ascii_case(&sender.address)
    {
        return Err(refusal(refuse(
            StatusCode::FORBIDDEN,
            "ErrorSendAsDenied",
            "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.",
        )));
    }
    mail.sent.tenant = shared.tenants[t].name.clone();
    mail.sent.sender = sender.address.clone();
    mail.sent.sender_id = sender.id.clone();
    mail.sent.received = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let seq = shared.mail.record(mail.sent);
    tracing::debug!(tenant = %shared.tenants[t].name, sender = %sender.address, seq, "sendMail accepted");
    let mut response = json_response(StatusCode::ACCEPTED, Vec::new(), meta);
    response.headers_mut().remove(header::CONTENT_TYPE);
    Ok(response)
}

// ------------------------------------------------------------ the payload

/// A `sendMail` payload, checked.
struct Parsed {
    sent: SentMail,
    /// `from`'s address, when given.
    from: Option<String>,
}

const MESSAGE_TYPE: &str = "Microsoft.OutlookServices.Message";

/// The properties of `message` (GDC `resources/message.md`: properties
/// and relationships). Read-only ones are accepted and ignored.
const MESSAGE_PROPERTIES: &[&str] = &[
    "bccRecipients",
    "body",
    "bodyPreview",
    "categories",
    "ccRecipients",
    "changeKey",
    "conversationId",
    "conversationIndex",
    "createdDateTime",
    "flag",
    "from",
    "hasAttachments",
    "id",
    "importance",
    "inferenceClassification",
    "internetMessageHeaders",
    "internetMessageId",
    "isDeliveryReceiptRequested",
    "isDraft",
    "isRead",
    "isReadReceiptRequested",
    "lastModifiedDateTime",
    "parentFolderId",
    "receivedDateTime",
    "replyTo",
    "sender",
    "sentDateTime",
    "subject",
    "toRecipients",
    "uniqueBody",
    "webLink",
    "attachments",
    "extensions",
    "multiValueExtendedProperties",
    "singleValueExtendedProperties",
];

/// The property of `obj` named `name`, case-insensitively.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Refuses a property `known` does not name (OData annotations such as
/// `@odata.type` aside).
fn only_known(obj: &Map<String, Value>, known: &[&str], type_name: &str) -> Result<(), Refusal> {
    for key in obj.keys() {
        if key.starts_with('@') {
            continue;
        }
        if !known.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(bad_body(format!(
                "The property '{key}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type or mark the type as open type."
            )));
        }
    }
    Ok(())
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Refusal> {
    value.as_object().ok_or_else(|| {
        bad_body(format!(
            "An unexpected '{}' node was found when reading from the JSON reader. A 'StartObject' node was expected for '{what}'.",
            node_kind(value)
        ))
    })
}

fn node_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "PrimitiveValue",
        Value::Bool(_) | Value::Number(_) | Value::String(_) => "PrimitiveValue",
        Value::Array(_) => "StartArray",
        Value::Object(_) => "StartObject",
    }
}

/// An optional string property (`null` counts as absent).
fn string_field(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, Refusal> {
    match field(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad_body(format!(
            "Cannot convert the literal '{other}' to the expected type 'Edm.String'."
        ))),
    }
}

fn parse_send_mail(bytes: &[u8]) -> Result<Parsed, Refusal> {
    let payload: Value = serde_json::from_slice(bytes).map_err(|_| {
        refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    })?;
    let top = payload.as_object().ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    })?;
    for key in top.keys() {
        if !key.eq_ignore_ascii_case("message") && !key.eq_ignore_ascii_case("saveToSentItems") {
            return Err(bad_body(format!(
                "The parameter '{key}' in the request payload is not a valid parameter for the operation 'sendMail'."
            )));
        }
    }
    let save_to_sent_items = match field(top, "saveToSentItems") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(bad_body(format!(
                "Cannot convert the literal '{other}' to the expected type 'Edm.Boolean'."
            )));
        }
    };
    let message = match field(top, "message") {
        None | Some(Value::Null) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidParameter",
                "The value of the parameter 'Message' is empty.",
            ));
        }
        Some(m) => object(m, "message")?,
    };
    only_known(message, MESSAGE_PROPERTIES, MESSAGE_TYPE)?;

    let subject = string_field(message, "subject")?.unwrap_or_default();
    let (body_content_type, body) = match field(message, "body") {
        None | Some(Value::Null) => ("text".to_owned(), String::new()),
        Some(b) => {
            let b = object(b, "body")?;
            only_known(
                b,
                &["contentType", "content"],
                "Microsoft.OutlookServices.ItemBody",
            )?;
            let kind = match string_field(b, "contentType")? {
                None => "text".to_owned(),
                Some(k) if k.eq_ignore_ascii_case("text") || k.eq_ignore_ascii_case("html") => {
                    k.to_ascii_lowercase()
                }
                Some(k) => {
                    return Err(bad_body(format!(
                        "Cannot convert the literal '{k}' to the expected type 'Microsoft.OutlookServices.BodyType'."
                    )));
                }
            };
            (kind, string_field(b, "content")?.unwrap_or_default())
        }
    };
    let to = recipients(message, "toRecipients")?;
    let cc = recipients(message, "ccRecipients")?;
    let bcc = recipients(message, "bccRecipients")?;
    let reply_to = recipients(message, "replyTo")?;
    let total = to.len() + cc.len() + bcc.len();
    if total == 0 {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
        ));
    }
    if total > MAX_MAIL_RECIPIENTS {
        // the code is UNVERIFIED; the limit is documented
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "ErrorTooManyRecipients",
            format!(
                "The message has {total} recipients; at most {MAX_MAIL_RECIPIENTS} are allowed."
            ),
        ));
    }
    for a in to.iter().chain(&cc).chain(&bcc).chain(&reply_to) {
        if !is_address(&a.address) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidRecipients",
                format!(
                    "At least one recipient is not valid., Recipient \"{}\" isn't resolved. All recipients must be resolved before a message can be submitted.",
                    a.address
                ),
            ));
        }
    }
    let from = match field(message, "from") {
        None | Some(Value::Null) => None,
        Some(f) => Some(recipient(f)?.address),
    };
    let headers = internet_headers(message)?;
    let internet_message_id = string_field(message, "internetMessageId")?;
    if let Some(id) = &internet_message_id
        && !is_message_id(id)
    {
        // the code and wording are UNVERIFIED; RFC 5322 §3.6.4 is the rule
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidInternetMessageId",
            format!(
                "The internet message id '{id}' is not valid: it must be of the form <left@right>."
            ),
        ));
    }
    let attachments = match field(message, "attachments") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(a)) => a.len(),
        Some(other) => {
            return Err(bad_body(format!(
                "An unexpected '{}' node was found when reading from the JSON reader. A 'StartArray' node was expected for 'attachments'.",
                node_kind(other)
            )));
        }
    };
    Ok(Parsed {
        sent: SentMail {
            seq: 0,
            tenant: String::new(),
            sender: String::new(),
            sender_id: String::new(),
            received: String::new(),
            subject,
            body_content_type,
            body,
            to,
            cc,
            bcc,
            reply_to,
            headers,
            internet_message_id,
            save_to_sent_items,
            attachments,
        },
        from,
    })
}

/// A recipient collection (absent: empty; `null` is refused, as OData
/// refuses null collections).
fn recipients(message: &Map<String, Value>, name: &str) -> Result<Vec<MailAddress>, Refusal> {
    match field(message, name) {
        None => Ok(Vec::new()),
        Some(Value::Null) => Err(bad_body(format!(
            "A null value was found for the property named '{name}', which has the expected type 'Collection(Microsoft.OutlookServices.Recipient)[Nullable=False]'. The expected type 'Collection(Microsoft.OutlookServices.Recipient)[Nullable=False]' does not allow null values."
        ))),
        Some(Value::Array(list)) => list.iter().map(recipient).collect(),
        Some(other) => Err(bad_body(format!(
            "An unexpected '{}' node was found when reading from the JSON reader. A 'StartArray' node was expected for '{name}'.",
            node_kind(other)
        ))),
    }
}

/// `{"emailAddress": {"address", "name"?}}`.
fn recipient(value: &Value) -> Result<MailAddress, Refusal> {
    let r = object(value, "recipient")?;
    only_known(r, &["emailAddress"], "Microsoft.OutlookServices.Recipient")?;
    let e = match field(r, "emailAddress") {
        None | Some(Value::Null) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidRecipients",
                "At least one recipient is not valid., Recipient \"\" isn't resolved. All recipients must be resolved before a message can be submitted.",
            ));
        }
        Some(e) => object(e, "emailAddress")?,
    };
    only_known(
        e,
        &["address", "name"],
        "Microsoft.OutlookServices.EmailAddress",
    )?;
    Ok(MailAddress {
        address: string_field(e, "address")?.unwrap_or_default(),
        name: string_field(e, "name")?,
    })
}

fn internet_headers(message: &Map<String, Value>) -> Result<Vec<MailHeader>, Refusal> {
    let list = match field(message, "internetMessageHeaders") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(bad_body(format!(
                "An unexpected '{}' node was found when reading from the JSON reader. A 'StartArray' node was expected for 'internetMessageHeaders'.",
                node_kind(other)
            )));
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for h in list {
        let h = object(h, "internetMessageHeader")?;
        only_known(
            h,
            &["name", "value"],
            "Microsoft.OutlookServices.InternetMessageHeader",
        )?;
        let name = string_field(h, "name")?.unwrap_or_default();
        let value = string_field(h, "value")?.unwrap_or_default();
        if !name.to_ascii_lowercase().starts_with("x-") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "InvalidInternetMessageHeader",
                format!(
                    "The internet message header name '{name}' should start with 'x-' or 'X-'."
                ),
            ));
        }
        // RFC 5322 §2.2: printable US-ASCII but the colon (wording UNVERIFIED)
        if name.len() <= 2 || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "InvalidInternetMessageHeader",
                format!("The internet message header name '{name}' is not valid."),
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "InvalidInternetMessageHeader",
                format!("The value of the internet message header '{name}' is not valid."),
            ));
        }
        out.push(MailHeader { name, value });
    }
    Ok(out)
}

/// `<left@right>` without spaces or controls (RFC 5322 §3.6.4, loosely).
fn is_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let Some((left, right)) = inner.split_once('@') else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_graphic() && !"<>@".contains(c))
    };
    ok(left) && ok(right)
}

// -------------------------------------------------------------- control

/// `GET /_sim/mail[?tenant=name]`: the accepted messages, oldest first.
pub(crate) async fn get_mail(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let tenant = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "tenant")
            .map(|(_, v)| v.into_owned())
    });
    let name = match tenant {
        None => None,
        Some(key) => match tenant_index(&shared, &key) {
            Ok(t) => Some(shared.tenants[t].name.clone()),
            Err(r) => return *r,
        },
    };
    Json(shared.mail.sent(name.as_deref())).into_response()
}

/// `DELETE /_sim/mail`: forgets the accepted messages.
pub(crate) async fn delete_mail(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.mail.inner).sent.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sim/mail/limits`.
pub(crate) async fn get_limits(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.mail.inner).limits).into_response()
}

/// `PUT /_sim/mail/limits {"concurrent_per_mailbox", "per_ten_minutes"}`
/// (a missing field takes its default).
pub(crate) async fn put_limits(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<MailLimits>(&body) {
        Ok(limits) => {
            lock(&shared.mail.inner).limits = limits;
            Json(limits).into_response()
        }
        Err(e) => control_error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    }
}

/// `GET /_sim/mail/faults`: the scripted faults still to come.
pub(crate) async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    let faults: Vec<MailFault> = lock(&shared.mail.inner).faults.iter().cloned().collect();
    Json(faults).into_response()
}

/// `PUT /_sim/mail/faults [{"status": 429, "retry_after_secs": 2}, …]`:
/// replaces the scripted faults; each fails one `sendMail`.
pub(crate) async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults: Vec<MailFault> = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    match set_faults(&shared, faults.clone()) {
        Ok(()) => Json(faults).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

fn set_faults(shared: &Shared, faults: Vec<MailFault>) -> Result<(), SimError> {
    for f in &faults {
        f.validate()?;
    }
    lock(&shared.mail.inner).faults = faults.into();
    Ok(())
}

/// `GET /_sim/tenants/{tenant}/users`: the users `sendMail` knows.
pub(crate) async fn get_users(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    match tenant_index(&shared, &tenant) {
        Ok(t) => Json(shared.mail.users(t)).into_response(),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    #[serde(default = "yes")]
    mailbox: bool,
}

fn yes() -> bool {
    true
}

/// `PUT /_sim/tenants/{tenant}/users/{address} {"mailbox": true}`: adds or
/// changes a user (an empty body: with a mailbox).
pub(crate) async fn put_user(
    State(shared): State<Arc<Shared>>,
    Path((tenant, address)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let t = match tenant_index(&shared, &tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mailbox = if body.iter().all(u8::is_ascii_whitespace) {
        true
    } else {
        match serde_json::from_slice::<UserBody>(&body) {
            Ok(b) => b.mailbox,
            Err(e) => {
                return control_error(StatusCode::BAD_REQUEST, format!("bad request body: {e}"));
            }
        }
    };
    match shared.mail.set_user(t, &address, mailbox) {
        Ok(user) => Json(user).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `DELETE /_sim/tenants/{tenant}/users/{address}`.
pub(crate) async fn delete_user(
    State(shared): State<Arc<Shared>>,
    Path((tenant, address)): Path<(String, String)>,
) -> Response {
    let t = match tenant_index(&shared, &tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    if shared.mail.remove_user(t, &address) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        control_error(
            StatusCode::NOT_FOUND,
            format!("no user `{address}` in {tenant}"),
        )
    }
}

// --------------------------------------------------------------- handle

impl SimHandle {
    /// The messages `sendMail` accepted, oldest first (at most
    /// [`SENT_MAIL_CAPACITY`]).
    pub fn sent_mail(&self) -> Vec<SentMail> {
        self.shared.mail.sent(None)
    }

    /// Forgets the accepted messages (sequence numbers go on).
    pub fn clear_sent_mail(&self) {
        lock(&self.shared.mail.inner).sent.clear();
    }

    /// The users of a tenant (by name, domain or id) that `sendMail`
    /// knows, by address; `None` for an unknown tenant.
    pub fn mail_users(&self, tenant: &str) -> Option<Vec<SimMailUser>> {
        self.shared
            .resolve(tenant)
            .map(|t| self.shared.mail.users(t))
    }

    /// Adds a user to a tenant, or changes whether it has a mailbox.
    pub fn set_mail_user(
        &self,
        tenant: &str,
        address: &str,
        mailbox: bool,
    ) -> Result<SimMailUser, SimError> {
        let t = self
            .shared
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        self.shared.mail.set_user(t, address, mailbox)
    }

    /// Removes a user from a tenant; whether there was one.
    pub fn remove_mail_user(&self, tenant: &str, address: &str) -> Result<bool, SimError> {
        let t = self
            .shared
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        Ok(self.shared.mail.remove_user(t, address))
    }

    /// Outlook's per-mailbox limits in force.
    pub fn mail_limits(&self) -> MailLimits {
        lock(&self.shared.mail.inner).limits
    }

    /// Replaces the per-mailbox limits (the admission history is kept).
    pub fn set_mail_limits(&self, limits: MailLimits) {
        lock(&self.shared.mail.inner).limits = limits;
    }

    /// Replaces the scripted `sendMail` faults: each fails one request
    /// that gets past the token and role checks, in order.
    pub fn set_mail_faults(&self, faults: Vec<MailFault>) -> Result<(), SimError> {
        set_faults(&self.shared, faults)
    }

    /// The scripted `sendMail` faults still to come.
    pub fn mail_faults(&self) -> Vec<MailFault> {
        lock(&self.shared.mail.inner)
            .faults
            .iter()
            .cloned()
            .collect()
    }

    /// The app roles a tenant (by name, domain or id) grants the app now;
    /// tokens carry the roles of the moment they were issued.
    pub fn app_roles(&self, tenant: &str) -> Option<Vec<String>> {
        self.shared
            .resolve(tenant)
            .map(|t| self.shared.app_roles.get(t).iter().cloned().collect())
    }

    /// Grants (with admin consent) an app role in a tenant, such as
    /// [`MAIL_SEND`]. Tokens issued from now on carry it.
    pub fn grant_app_role(&self, tenant: &str, role: &str) -> Result<(), SimError> {
        let t = self
            .shared
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        self.shared.app_roles.grant(t, role);
        Ok(())
    }

    /// Revokes an app role in a tenant. Tokens issued from now on lack it;
    /// tokens issued before keep it until they expire (as in Entra ID;
    /// [`SimHandle::expire_tokens`] ends them at once).
    pub fn revoke_app_role(&self, tenant: &str, role: &str) -> Result<(), SimError> {
        let t = self
            .shared
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        self.shared.app_roles.revoke(t, role);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Parsed, Refusal> {
        parse_send_mail(v.to_string().as_bytes())
    }

    fn code(r: Result<Parsed, Refusal>) -> (u16, &'static str, String) {
        match r {
            Ok(_) => panic!("accepted"),
            Err(r) => (r.status.as_u16(), r.code, r.message),
        }
    }

    fn to(addr: &str) -> Value {
        json!({"emailAddress": {"address": addr}})
    }

    #[test]
    fn a_full_message_is_read() {
        let p = parse(json!({
            "Message": {
                "subject": "Hello",
                "body": {"contentType": "HTML", "content": "<p>hi</p>"},
                "toRecipients": [to("a@example.com"), {"emailAddress": {"address": "b@example.com", "name": "B"}}],
                "bccRecipients": [to("c@example.com")],
                "replyTo": [to("owner@example.com")],
                "internetMessageHeaders": [{"name": "X-Changedesk-Event", "value": "e1"}],
                "internetMessageId": "<abc.1@changedesk.example>",
            },
            "saveToSentItems": "false",
        }))
        .ok()
        .expect("accepted");
        let s = p.sent;
        assert_eq!(s.subject, "Hello");
        assert_eq!(s.body_content_type, "html");
        assert_eq!(s.to.len(), 2);
        assert_eq!(s.to[1].name.as_deref(), Some("B"));
        assert_eq!(s.bcc[0].address, "c@example.com");
        assert_eq!(s.reply_to[0].address, "owner@example.com");
        assert_eq!(s.headers[0].name, "X-Changedesk-Event");
        assert_eq!(
            s.internet_message_id.as_deref(),
            Some("<abc.1@changedesk.example>")
        );
        assert!(!s.save_to_sent_items);
    }

    #[test]
    fn refusals() {
        let m = |message: Value| json!({"message": message});
        assert_eq!(
            code(parse(m(json!({"subject": "x"})))).1,
            "ErrorInvalidRecipients"
        );
        let (s, c, msg) = code(parse(m(
            json!({"toRecipients": [to("a@example.com")], "colour": "red"}),
        )));
        assert_eq!((s, c), (400, "RequestBodyRead"));
        assert!(
            msg.contains("'colour' does not exist on type 'Microsoft.OutlookServices.Message'")
        );
        let (_, c, msg) = code(parse(m(json!({"toRecipients": [to("not an address")]}))));
        assert_eq!(c, "ErrorInvalidRecipients");
        assert!(msg.contains("\"not an address\" isn't resolved"));
        let (_, c, msg) = code(parse(m(json!({"toRecipients": [to("a@example.com")],
            "internetMessageHeaders": [{"name": "List-Unsubscribe", "value": "<mailto:x@example.com>"}]}))));
        assert_eq!(c, "InvalidInternetMessageHeader");
        assert_eq!(
            msg,
            "The internet message header name 'List-Unsubscribe' should start with 'x-' or 'X-'."
        );
        assert_eq!(
            code(parse(m(json!({"toRecipients": [to("a@example.com")],
                "body": {"contentType": "markdown", "content": "x"}}))))
            .1,
            "RequestBodyRead"
        );
        assert_eq!(
            code(parse(m(
                json!({"toRecipients": [to("a@example.com")], "internetMessageId": "abc@x"})
            )))
            .1,
            "InvalidInternetMessageId"
        );
        assert_eq!(
            code(parse(json!({"saveToSentItems": true}))).1,
            "ErrorInvalidParameter"
        );
        assert_eq!(
            code(parse(
                json!({"message": {"toRecipients": [to("a@example.com")]}, "urgent": true})
            ))
            .1,
            "RequestBodyRead"
        );
        assert_eq!(
            code(parse(m(json!({"toRecipients": null})))).1,
            "RequestBodyRead"
        );
        let many: Vec<Value> = (0..501).map(|i| to(&format!("u{i}@example.com"))).collect();
        assert_eq!(
            code(parse(m(json!({"bccRecipients": many})))).1,
            "ErrorTooManyRecipients"
        );
        assert_eq!(code(parse_send_mail(b"{\"message\":")).1, "BadRequest");
    }

    #[test]
    fn addresses_and_message_ids() {
        assert!(is_address("changedesk@tenant-001.onmicrosoft.com"));
        assert!(is_address("first.last+tag@example.co.uk"));
        for bad in [
            "", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b.c.", "<a@b.c>", "a@@b.c",
        ] {
            assert!(!is_address(bad), "{bad}");
        }
        assert!(is_message_id("<1.2@x.example>"));
        for bad in ["1@x", "<1@x", "<@x>", "<1@>", "<a b@x>", "<1@x>>"] {
            assert!(!is_message_id(bad), "{bad}");
        }
    }

    #[test]
    fn mailbox_limits() {
        let state = MailState::new(&["t.example".to_owned()], &["a".to_owned()]);
        lock(&state.inner).limits = MailLimits {
            concurrent_per_mailbox: 2,
            per_ten_minutes: 3,
        };
        let t0 = Instant::now();
        let s1 = state.admit(0, "u", t0).ok().expect("1");
        let s2 = state.admit(0, "u", t0).ok().expect("2");
        assert!(matches!(
            state.admit(0, "u", t0),
            Err(Throttled::Concurrency)
        ));
        assert!(state.admit(0, "other", t0).is_ok());
        drop(s1);
        let s3 = state
            .admit(0, "u", t0 + Duration::from_secs(1))
            .ok()
            .expect("3");
        drop((s2, s3));
        match state.admit(0, "u", t0 + Duration::from_secs(60)) {
            Err(Throttled::Rate(wait)) => assert_eq!(wait, Duration::from_secs(540)),
            _ => panic!("rate limit"),
        }
        assert!(state.admit(0, "u", t0 + TEN_MINUTES).is_ok());
        assert_eq!(retry_after_text(Duration::from_secs(540)), "540");
    }

    #[test]
    fn users_by_address_or_id() {
        let state = MailState::new(&["t.example".to_owned()], &["changedesk".to_owned()]);
        let u = state.user(0, "ChangeDesk@T.example").expect("by address");
        assert!(u.mailbox);
        assert_eq!(state.user(0, &u.id.to_uppercase()), Some(u.clone()));
        assert_eq!(state.user(0, "nobody@t.example"), None);
        state.set_user(0, "room@t.example", false).expect("added");
        assert!(!state.user(0, "room@t.example").expect("known").mailbox);
        assert!(state.set_user(0, "not-an-address", true).is_err());
        assert!(state.remove_user(0, "ROOM@t.example"));
        assert!(!state.remove_user(0, "room@t.example"));
    }
}
