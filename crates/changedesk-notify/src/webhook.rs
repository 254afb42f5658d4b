//! Signed outgoing webhooks per the Standard Webhooks spec.
//!
//! Each request is a `POST` of the already-rendered JSON body with
//!
//! - `webhook-id`: the message id, the same on every retry (the receiver's
//!   idempotency key; must not contain `.`);
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: one `v1,<base64 HMAC-SHA256>` entry per secret of
//!   the endpoint, space-separated (several during key rotation), over
//!   `{id}.{timestamp}.{body}`.
//!
//! The outcome is classified for the caller: any `2xx` is delivered, `410`
//! disables the endpoint, `408`, `429`, `5xx`, timeouts and connection
//! errors are retried (honouring `Retry-After`), everything else (`3xx`,
//! which is never followed, other `4xx`, a refused or malformed target)
//! fails the message for good.
//!
//! Webhook URLs are secrets (Teams and Slack URLs carry a signature in the
//! path or query), so error texts name the target only as
//! `scheme://host[:port]`, and the path and query are scrubbed from any
//! text that echoes them.
//!
//! [`WebhookSender::post_json`] is the unsigned variant the Teams and Slack
//! channels use: the same guarded clients and target checks, no signature
//! headers, and the raw [`HttpReply`] (status, `Retry-After`, clipped and
//! scrubbed body text) for the channel to classify by its own rules.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use url::{Host, Url};

use crate::redact::Redactor;
use crate::ssrf::{self, GuardedResolver, Refused};

/// The request timeout the spec suggests (15 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

const SECRET_PREFIX: &str = "whsec_";
const MIN_SECRET_BYTES: usize = 24;
const MAX_SECRET_BYTES: usize = 64;
const GENERATED_SECRET_BYTES: usize = 32;

/// At most this much of a failed response's body is read.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// The response body in an error text is clipped to this many characters.
const MAX_ERROR_BODY_CHARS: usize = 300;

const USER_AGENT: &str = concat!("changedesk/", env!("CARGO_PKG_VERSION"));

/// Standard base64 that accepts the key with or without `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Errors of this module. None of them echoes a secret or a URL.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The secret text does not start with `whsec_`.
    #[error("webhook secret must start with `whsec_`")]
    SecretPrefix,
    /// The part after `whsec_` is not base64.
    #[error("webhook secret is not valid base64 after `whsec_`")]
    SecretEncoding,
    /// The decoded key is too short or too long.
    #[error("webhook secret must decode to 24 to 64 bytes, not {len}")]
    SecretLength {
        /// Decoded length in bytes.
        len: usize,
    },
    /// The system random number generator failed.
    #[error("could not generate random bytes for a webhook secret")]
    Random,
    /// A zero request timeout.
    #[error("webhook request timeout must be more than zero")]
    Timeout,
    /// The HTTP client could not be built.
    #[error("could not build the webhook HTTP client: {message}")]
    Client {
        /// What went wrong.
        message: String,
    },
    /// The endpoint cannot be sent to (scheme, userinfo, host policy,
    /// no secret).
    #[error("webhook endpoint refused: {reason}")]
    Endpoint {
        /// Why, naming the target as `scheme://host[:port]` at most.
        reason: String,
    },
}

/// A symmetric signing key: the bytes after `whsec_`, base64-decoded.
/// Zeroized on drop; `Debug` prints no key material.
#[derive(Clone)]
pub struct WebhookSecret(SecretSlice<u8>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// A new random secret (32 bytes from the system RNG) and its text
    /// form `whsec_<base64>` to show the endpoint owner once and store
    /// encrypted.
    pub fn generate() -> Result<(WebhookSecret, SecretString), WebhookError> {
        let mut bytes = Zeroizing::new([0u8; GENERATED_SECRET_BYTES]);
        SystemRandom::new()
            .fill(bytes.as_mut_slice())
            .map_err(|_| WebhookError::Random)?;
        let text = SecretString::from(format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(bytes.as_slice())
        ));
        let secret = WebhookSecret(SecretSlice::from(bytes.to_vec()));
        Ok((secret, text))
    }

    /// Parse `whsec_<base64 of 24..=64 bytes>` (surrounding whitespace is
    /// ignored, `=` padding optional). Errors never contain the input.
    pub fn parse(text: &str) -> Result<WebhookSecret, WebhookError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::SecretPrefix)?;
        let bytes = Zeroizing::new(
            LENIENT_BASE64
                .decode(encoded)
                .map_err(|_| WebhookError::SecretEncoding)?,
        );
        let len = bytes.len();
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&len) {
            return Err(WebhookError::SecretLength { len });
        }
        Ok(WebhookSecret(SecretSlice::from(bytes.to_vec())))
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.0.expose_secret())
    }
}

/// One `webhook-signature` entry: `v1,` + base64 of
/// HMAC-SHA256(key, `{id}.{timestamp}.{body}`).
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut ctx = hmac::Context::with_key(&secret.key());
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
}

/// Where and how to send.
#[derive(Clone)]
pub struct WebhookEndpoint {
    /// The target; a secret in itself (never logged, never in errors).
    pub url: Url,
    /// Signing secrets; each adds one `v1` entry to `webhook-signature`
    /// (during a rotation the new and the old). At least one is required.
    pub secrets: Vec<WebhookSecret>,
    /// Allow private, loopback, link-local and other reserved targets
    /// (see [`ssrf::is_allowed`]). Off by default: an intranet receiver
    /// must be allowed explicitly.
    pub allow_private: bool,
    /// Allow `http://` (default: `https` only).
    pub allow_insecure_http: bool,
}

impl fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("target", &target_label(&self.url))
            .field("secrets", &self.secrets.len())
            .field("allow_private", &self.allow_private)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl WebhookEndpoint {
    /// An endpoint with one secret and the strict defaults (`https` only,
    /// no private targets).
    pub fn new(url: Url, secret: WebhookSecret) -> Self {
        WebhookEndpoint {
            url,
            secrets: vec![secret],
            allow_private: false,
            allow_insecure_http: false,
        }
    }

    /// The checks [`WebhookSender::send`] makes before connecting: scheme,
    /// no userinfo, a host, an IP-literal host allowed by the policy, at
    /// least one secret. (A host name is checked when it is resolved, at
    /// send time.) For validating configuration as it is entered.
    pub fn validate(&self) -> Result<(), WebhookError> {
        check_target(self).map_err(|reason| WebhookError::Endpoint { reason })
    }

    /// The target as `scheme://host[:port]`, safe to show and log.
    pub fn target(&self) -> String {
        target_label(&self.url)
    }
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Any `2xx`.
    Delivered {
        /// The status code.
        status: u16,
    },
    /// Transient: `408`, `429`, `5xx`, timeout, connection or DNS failure.
    /// Retry on the [`crate::backoff`] schedule, not before `retry_after`.
    Retry {
        /// The status code, if a response came.
        status: Option<u16>,
        /// The response's `Retry-After` (seconds or HTTP date), if any.
        retry_after: Option<Duration>,
        /// What happened (target as `scheme://host[:port]` only).
        error: String,
    },
    /// Permanent for this message: `3xx` (not followed), `4xx` other than
    /// `408`/`410`/`429`, a refused or malformed target, a bad message id.
    Failed {
        /// The status code, if a response came.
        status: Option<u16>,
        /// What happened (target as `scheme://host[:port]` only).
        error: String,
    },
    /// `410 Gone`: the receiver asks to be disabled.
    Gone,
}

impl SendOutcome {
    /// The response status, if a response came.
    pub fn status(&self) -> Option<u16> {
        match self {
            SendOutcome::Delivered { status } => Some(*status),
            SendOutcome::Retry { status, .. } | SendOutcome::Failed { status, .. } => *status,
            SendOutcome::Gone => Some(410),
        }
    }

    /// The error text of `Retry` and `Failed`.
    pub fn error(&self) -> Option<&str> {
        match self {
            SendOutcome::Retry { error, .. } | SendOutcome::Failed { error, .. } => Some(error),
            SendOutcome::Delivered { .. } | SendOutcome::Gone => None,
        }
    }
}

/// An unsigned JSON target whose URL is its credential (Microsoft Teams
/// Workflows, Slack incoming webhooks): see [`WebhookSender::post_json`].
#[derive(Clone)]
pub struct PlainTarget {
    /// The target; a secret in itself (never logged, never in errors).
    pub url: Url,
    /// Allow private, loopback, link-local and other reserved targets
    /// (see [`ssrf::is_allowed`]). Off by default.
    pub allow_private: bool,
    /// Allow `http://` (default: `https` only).
    pub allow_insecure_http: bool,
}

impl fmt::Debug for PlainTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainTarget")
            .field("target", &target_label(&self.url))
            .field("allow_private", &self.allow_private)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl PlainTarget {
    /// A target with the strict defaults (`https` only, no private
    /// addresses).
    pub fn new(url: Url) -> Self {
        PlainTarget {
            url,
            allow_private: false,
            allow_insecure_http: false,
        }
    }

    /// The checks [`WebhookSender::post_json`] makes before connecting:
    /// scheme, no userinfo, a host, an IP-literal host allowed by the
    /// policy (a host name is checked when it is resolved).
    pub fn validate(&self) -> Result<(), WebhookError> {
        check_url(&self.url, self.allow_private, self.allow_insecure_http)
            .map_err(|reason| WebhookError::Endpoint { reason })
    }

    /// The target as `scheme://host[:port]`, safe to show and log.
    pub fn target(&self) -> String {
        target_label(&self.url)
    }
}

/// The response to [`WebhookSender::post_json`], for the channel to
/// classify. Nothing in it contains the target's path or query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The target as `scheme://host[:port]`.
    pub target: String,
    /// The status code (a `3xx` is never followed).
    pub status: u16,
    /// `Retry-After` (delay seconds or an HTTP date relative to the
    /// attempt's time), whatever the status.
    pub retry_after: Option<Duration>,
    /// The start of the body as text: at most 64 KiB read, control
    /// characters blanked, trimmed, clipped to 300 characters (`…` marks a
    /// clip), the URL's secret parts replaced by `[redacted]`.
    pub body_text: String,
}

impl HttpReply {
    /// `scheme://host[:port]: HTTP 404 Not Found`, then `: <body_text>`
    /// when there is one, or ` (redirects are not followed)` for a `3xx`.
    pub fn describe(&self) -> String {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        let mut text = format!("{}: HTTP {}{reason}", self.target, self.status);
        if (300..400).contains(&self.status) {
            text.push_str(" (redirects are not followed)");
        } else if !self.body_text.is_empty() {
            text.push_str(": ");
            text.push_str(&self.body_text);
        }
        text
    }
}

/// Sends webhooks. Holds one HTTP client per address policy (strict and
/// private-allowed), each reused across sends; cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    strict: reqwest::Client,
    open: reqwest::Client,
}

impl WebhookSender {
    /// A sender whose requests time out after `timeout` (connect, send and
    /// response together; [`DEFAULT_TIMEOUT`] is the spec's suggestion).
    ///
    /// Installs ring as the process's rustls crypto provider if none is
    /// installed yet. Redirects are never followed, proxies from the
    /// environment are not used (they would bypass the address checks),
    /// the User-Agent is `changedesk/<version>`.
    pub fn new(timeout: Duration) -> Result<WebhookSender, WebhookError> {
        if timeout.is_zero() {
            return Err(WebhookError::Timeout);
        }
        // an already installed provider is fine
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(WebhookSender {
            strict: build_client(timeout, false)?,
            open: build_client(timeout, true)?,
        })
    }

    /// Send `body` (already-rendered JSON) to `endpoint` as message
    /// `message_id`, signed with timestamp `now_unix` (this attempt's time,
    /// also used to read a `Retry-After` date), and classify the outcome.
    pub async fn send(
        &self,
        endpoint: &WebhookEndpoint,
        message_id: &str,
        body: &[u8],
        now_unix: i64,
    ) -> SendOutcome {
        let label = target_label(&endpoint.url);
        let scrub = Redactor::new(url_needles(&endpoint.url));
        let outcome = self
            .attempt(endpoint, &label, message_id, body, now_unix)
            .await;
        let outcome = scrub.outcome(outcome);
        match &outcome {
            SendOutcome::Delivered { status } => {
                tracing::debug!(target: "changedesk_notify", %label, status, "webhook delivered");
            }
            SendOutcome::Gone => {
                tracing::info!(target: "changedesk_notify", %label, "webhook endpoint gone (410)");
            }
            SendOutcome::Retry { error, .. } | SendOutcome::Failed { error, .. } => {
                tracing::debug!(target: "changedesk_notify", %label, %error, "webhook not delivered");
            }
        }
        outcome
    }

    async fn attempt(
        &self,
        endpoint: &WebhookEndpoint,
        label: &str,
        message_id: &str,
        body: &[u8],
        now_unix: i64,
    ) -> SendOutcome {
        if let Err(reason) = check_target(endpoint) {
            return failed(reason);
        }
        let id = match message_id_header(message_id) {
            Ok(id) => id,
            Err(reason) => return failed(reason),
        };
        let signature = endpoint
            .secrets
            .iter()
            .map(|s| sign(s, message_id, now_unix, body))
            .collect::<Vec<_>>()
            .join(" ");
        let client = if endpoint.allow_private {
            &self.open
        } else {
            &self.strict
        };
        let sent = client
            .post(endpoint.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", id)
            .header("webhook-timestamp", now_unix.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => classify_response(label, response, now_unix).await,
            Err(e) => classify_error(label, &e),
        }
    }
}

impl WebhookSender {
    /// POST `body` (already-rendered JSON) to `target` unsigned, with
    /// `Content-Type: application/json` and no `Authorization` header,
    /// through the same guarded clients as [`WebhookSender::send`] (SSRF
    /// guard, no redirects, no proxy, the sender's timeout).
    ///
    /// Any response, whatever its status, is `Ok` for the channel to
    /// classify. `Err` is a request that got no response, already
    /// classified: [`SendOutcome::Failed`] for a refused or malformed
    /// target, [`SendOutcome::Retry`] for a timeout, connection or DNS
    /// failure. `now_unix` is the attempt's time, used to read a
    /// `Retry-After` date. Texts name the target as `scheme://host[:port]`
    /// only; the URL, its path, its query and each long (16+ characters)
    /// query value or path segment are scrubbed from anything echoed.
    pub async fn post_json(
        &self,
        target: &PlainTarget,
        body: &[u8],
        now_unix: i64,
    ) -> Result<HttpReply, SendOutcome> {
        let label = target_label(&target.url);
        let scrub = Redactor::new(
            url_needles(&target.url)
                .into_iter()
                .chain(part_needles(&target.url)),
        );
        if let Err(reason) = check_url(
            &target.url,
            target.allow_private,
            target.allow_insecure_http,
        ) {
            return Err(scrub.outcome(failed(reason)));
        }
        let client = if target.allow_private {
            &self.open
        } else {
            &self.strict
        };
        let sent = client
            .post(target.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now_unix));
                // scrubbed before clipping, so no clipped secret survives
                let body_text = clip_body_text(&scrub.text(read_body_text(response).await));
                Ok(HttpReply {
                    target: label,
                    status,
                    retry_after,
                    body_text,
                })
            }
            Err(e) => Err(scrub.outcome(classify_error(&label, &e))),
        }
    }
}

fn build_client(timeout: Duration, allow_private: bool) -> Result<reqwest::Client, WebhookError> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        // a 3xx is a failure, and following it could reach anywhere
        .redirect(reqwest::redirect::Policy::none())
        // a proxy would resolve the name itself, past the guard
        .no_proxy()
        .dns_resolver(GuardedResolver::new(allow_private))
        .build()
        .map_err(|e| WebhookError::Client {
            message: error_chain(&e.without_url()),
        })
}

fn failed(error: String) -> SendOutcome {
    SendOutcome::Failed {
        status: None,
        error,
    }
}

/// `scheme://host[:port]`, the only form a target is ever described in.
fn target_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

fn check_target(endpoint: &WebhookEndpoint) -> Result<(), String> {
    check_url(
        &endpoint.url,
        endpoint.allow_private,
        endpoint.allow_insecure_http,
    )?;
    if endpoint.secrets.is_empty() {
        return Err(format!(
            "{}: the endpoint has no signing secret",
            target_label(&endpoint.url)
        ));
    }
    Ok(())
}

/// Scheme, userinfo, host and IP-literal policy of a target URL.
fn check_url(url: &Url, allow_private: bool, allow_insecure_http: bool) -> Result<(), String> {
    let label = target_label(url);
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http => {}
        "http" => {
            return Err(format!(
                "{label}: plain http is not allowed for this endpoint (use https)"
            ));
        }
        other => return Err(format!("{label}: unsupported URL scheme `{other}`")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{label}: credentials in the URL are not allowed"));
    }
    let ip = match url.host() {
        None => return Err(format!("{label}: the URL has no host")),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
    };
    if let Some(ip) = ip
        && !allow_private
        && !ssrf::is_allowed(ip)
    {
        return Err(format!(
            "{label}: refused: {ip} is a private or reserved address"
        ));
    }
    Ok(())
}

fn message_id_header(message_id: &str) -> Result<HeaderValue, String> {
    if message_id.is_empty() {
        return Err("webhook message id is empty".to_owned());
    }
    if message_id.contains('.') {
        return Err("webhook message id must not contain `.`".to_owned());
    }
    if !message_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("webhook message id must be printable ASCII without spaces".to_owned());
    }
    HeaderValue::from_str(message_id)
        .map_err(|_| "webhook message id is not a valid header value".to_owned())
}

async fn classify_response(label: &str, response: reqwest::Response, now_unix: i64) -> SendOutcome {
    let status = response.status();
    let code = status.as_u16();
    if status.is_success() {
        return SendOutcome::Delivered { status: code };
    }
    if code == 410 {
        return SendOutcome::Gone;
    }
    let retryable = matches!(code, 408 | 429 | 500..=599);
    let retry_after = if retryable {
        response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now_unix))
    } else {
        None
    };
    let reason = status
        .canonical_reason()
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let mut error = format!("{label}: HTTP {code}{reason}");
    if status.is_redirection() {
        error.push_str(" (redirects are not followed)");
    } else {
        let text = read_error_body(response).await;
        if !text.is_empty() {
            error.push_str(": ");
            error.push_str(&text);
        }
    }
    if retryable {
        SendOutcome::Retry {
            status: Some(code),
            retry_after,
            error,
        }
    } else {
        SendOutcome::Failed {
            status: Some(code),
            error,
        }
    }
}

/// At most [`MAX_ERROR_BODY_BYTES`] of the body, as text with control
/// characters blanked, clipped to [`MAX_ERROR_BODY_CHARS`] characters.
async fn read_error_body(response: reqwest::Response) -> String {
    clip_body_text(&read_body_text(response).await)
}

/// At most [`MAX_ERROR_BODY_BYTES`] of the body, as text with control
/// characters blanked, trimmed.
async fn read_body_text(mut response: reqwest::Response) -> String {
    let mut bytes: Vec<u8> = Vec::new();
    while bytes.len() < MAX_ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ERROR_BODY_BYTES - bytes.len();
                bytes.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
            }
            // the body is only for the error text: keep what arrived
            Ok(None) | Err(_) => break,
        }
    }
    // dropping the response here abandons whatever is left unread
    drop(response);
    let text = String::from_utf8_lossy(&bytes);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.trim().to_owned()
}

/// `text` clipped to [`MAX_ERROR_BODY_CHARS`] characters, `…` marking a
/// clip.
fn clip_body_text(trimmed: &str) -> String {
    let mut clipped: String = trimmed.chars().take(MAX_ERROR_BODY_CHARS).collect();
    if trimmed.chars().nth(MAX_ERROR_BODY_CHARS).is_some() {
        clipped.push('…');
    }
    clipped
}

fn classify_error(label: &str, e: &reqwest::Error) -> SendOutcome {
    if let Some(refused) = find_refused(e) {
        return failed(format!("{label}: {refused}"));
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let error = format!("{label}: {what}: {}", error_chain(e));
    if e.is_builder() {
        failed(error)
    } else {
        SendOutcome::Retry {
            status: None,
            retry_after: None,
            error,
        }
    }
}

fn find_refused(e: &reqwest::Error) -> Option<&Refused> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return Some(refused);
        }
        current = err.source();
    }
    None
}

/// The messages of `e`'s source chain joined with `: `. reqwest's own
/// message names the URL, so it is left out (the caller names the target).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = std::error::Error::source(e);
    while let Some(err) = current {
        let msg = err.to_string();
        if !msg.is_empty() && parts.last() != Some(&msg) {
            parts.push(msg);
        }
        current = err.source();
    }
    if parts.is_empty() {
        "no further detail".to_owned()
    } else {
        parts.join(": ")
    }
}

/// `Retry-After`: delay seconds or an HTTP date (IMF-fixdate, e.g.
/// `Wed, 21 Oct 2015 07:28:00 GMT`) relative to `now_unix`; a date in the
/// past gives zero.
fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc()
        .unix_timestamp();
    let secs = at.saturating_sub(now_unix).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// The URL's secret parts (full URL, path, query), to redact from texts a
/// receiver or a library might have echoed them into.
fn url_needles(url: &Url) -> Vec<Zeroizing<String>> {
    let mut needles = vec![Zeroizing::new(url.as_str().to_owned())];
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        needles.push(Zeroizing::new(query.to_owned()));
    }
    let path = url.path();
    if path.len() > 1 {
        needles.push(Zeroizing::new(path.to_owned()));
    }
    needles
}

/// Also each query value (raw and decoded) and path segment of 16 or more
/// characters: a receiver may echo one alone (Teams' `sig`, Slack's last
/// path segment).
fn part_needles(url: &Url) -> Vec<Zeroizing<String>> {
    const MIN_PART_CHARS: usize = 16;
    let long = |s: &str| s.chars().count() >= MIN_PART_CHARS;
    let mut needles = Vec::new();
    if let Some(query) = url.query() {
        for pair in query.split('&') {
            let raw = pair.split_once('=').map_or("", |(_, v)| v);
            if long(raw) {
                needles.push(Zeroizing::new(raw.to_owned()));
            }
        }
    }
    for (_, value) in url.query_pairs() {
        if long(&value) {
            needles.push(Zeroizing::new(value.into_owned()));
        }
    }
    for segment in url.path_segments().into_iter().flatten() {
        if long(segment) {
            needles.push(Zeroizing::new(segment.to_owned()));
        }
    }
    needles
}

#[cfg(test)]
mod tests;
