//! E-mail over SMTP (`lettre`, rustls on ring).
//!
//! [`build_message`] turns one already-rendered [`EmailMessage`] into a MIME
//! message: `multipart/alternative` with a `text/plain` and a `text/html`
//! part, `Message-ID: <id>` (the same on every retry, so a receiver can
//! drop duplicates), `Date`, `Auto-Submitted: auto-generated` (RFC 3834, no
//! auto-replies) and, with an unsubscribe URL, `List-Unsubscribe` plus
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058). Header
//! injection is impossible: addresses and message ids with control
//! characters are refused, control characters in the subject become
//! spaces, and every non-ASCII header text is RFC 2047-encoded by lettre.
//!
//! [`SmtpMailer`] sends it and classifies the outcome as a
//! [`SendOutcome`], with `status` the SMTP reply code:
//!
//! - `2xx` → [`SendOutcome::Delivered`];
//! - a transient reply (`4xx`, e.g. `421`, `451`, `452`), a refused or
//!   broken connection, a DNS failure, a timeout, a failed TLS handshake →
//!   [`SendOutcome::Retry`] (`retry_after` is always `None`: SMTP has no
//!   such hint, the caller's backoff schedule applies);
//! - a permanent reply (`5xx`: `550` unknown user, `554`, `535`
//!   authentication failed, `530` authentication required), a message that
//!   cannot be built (a bad address or message id), and a client-side
//!   refusal (the server offers no usable authentication mechanism or no
//!   STARTTLS, or rejects an XOAUTH2 token with an error challenge) →
//!   [`SendOutcome::Failed`].
//!
//! [`SendOutcome::Gone`] is never returned for e-mail.
//!
//! Error texts name the server as `host:port` and quote the SMTP code and
//! text; a password or token never appears in them (it is scrubbed, also in
//! its base64 forms, from anything a server might echo), nor in `Debug`
//! output or log events: lettre's `tracing` feature, whose events log the
//! whole SMTP transcript including `AUTH PLAIN <base64 credentials>` and
//! the message, is not enabled, and should another crate of the build
//! enable it, its events are still switched off for the duration of each
//! send and check.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};
use tracing::instrument::WithSubscriber as _;
use tracing::subscriber::NoSubscriber;

use crate::SendOutcome;
use crate::redact::Redactor;

/// A suggested SMTP timeout ([`SmtpSettings::timeout`]).
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A whole send or check is abandoned after this many times the configured
/// timeout, however the time is spread over the SMTP exchange.
const TOTAL_TIMEOUT_FACTOR: u32 = 4;

/// Addresses longer than this (in bytes) are refused outright.
const MAX_ADDRESS_BYTES: usize = 512;
/// Message ids longer than this (in bytes) are refused.
const MAX_MESSAGE_ID_BYTES: usize = 250;
/// Unsubscribe URLs longer than this (in bytes) are refused (a header line
/// must stay under 998 octets).
const MAX_UNSUBSCRIBE_URL_BYTES: usize = 900;
/// Input quoted in an error text is clipped to this many characters.
const MAX_QUOTED_CHARS: usize = 80;
/// A server's reply text in an error is clipped to this many characters.
const MAX_ERROR_CHARS: usize = 400;

/// One already-rendered message to one or more recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// Stable across retries, e.g. `msg_e12_c3@changedesk.example` (no
    /// angle brackets): becomes the `Message-ID` header `<id>`. It must be
    /// `left@right` with each side made of RFC 5322 atom characters and
    /// dots.
    pub message_id: String,
    /// Recipients, each `a@b.c` or `Name <a@b.c>`; at least one. The part
    /// before `@` must be ASCII (no SMTPUTF8); an international domain is
    /// sent as punycode, a non-ASCII name RFC 2047-encoded.
    pub to: Vec<String>,
    /// The subject; control characters (CR, LF, tab, …) become spaces.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part, already escaped and sanitised by the caller.
    pub html: String,
    /// An `https` URL: adds `List-Unsubscribe: <url>` and
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub list_unsubscribe: Option<String>,
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with `STARTTLS`, which is required (a
    /// server that does not offer it is refused). Usually port 587.
    StartTls,
    /// Implicit TLS from the first byte. Usually port 465.
    Tls,
    /// No TLS at all: only for a relay on this host or network, and only
    /// when chosen explicitly. Credentials are refused with it.
    Plain,
}

impl SmtpSecurity {
    /// The customary port: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        }
    }
}

/// SMTP authentication. `Debug` shows the mechanism and user only.
#[derive(Clone)]
pub enum SmtpAuth {
    /// No authentication (a relay that trusts this host).
    None,
    /// `AUTH PLAIN` (RFC 4616).
    Plain {
        /// The user name.
        user: String,
        /// The password.
        password: SecretString,
    },
    /// `AUTH LOGIN` (obsolete, but some servers offer nothing else).
    Login {
        /// The user name.
        user: String,
        /// The password.
        password: SecretString,
    },
    /// `AUTH XOAUTH2` with an OAuth 2.0 access token (Microsoft 365,
    /// Gmail). The token is short-lived: build a new [`SmtpMailer`] with a
    /// fresh one.
    XOAuth2 {
        /// The mailbox the token is for.
        user: String,
        /// The access token.
        token: SecretString,
    },
}

impl SmtpAuth {
    /// The mechanism's name (`none`, `PLAIN`, `LOGIN`, `XOAUTH2`).
    pub fn mechanism(&self) -> &'static str {
        match self {
            SmtpAuth::None => "none",
            SmtpAuth::Plain { .. } => "PLAIN",
            SmtpAuth::Login { .. } => "LOGIN",
            SmtpAuth::XOAuth2 { .. } => "XOAUTH2",
        }
    }

    fn user_and_secret(&self) -> Option<(&str, &SecretString)> {
        self.lettre().map(|(user, secret, _)| (user, secret))
    }

    fn lettre(&self) -> Option<(&str, &SecretString, Mechanism)> {
        match self {
            SmtpAuth::None => None,
            SmtpAuth::Plain { user, password } => Some((user, password, Mechanism::Plain)),
            SmtpAuth::Login { user, password } => Some((user, password, Mechanism::Login)),
            SmtpAuth::XOAuth2 { user, token } => Some((user, token, Mechanism::Xoauth2)),
        }
    }
}

impl fmt::Debug for SmtpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.user_and_secret() {
            None => f.write_str("None"),
            Some((user, _)) => f
                .debug_struct(self.mechanism())
                .field("user", &user)
                .field("secret", &"[redacted]")
                .finish(),
        }
    }
}

/// Where and how to send e-mail. `Debug` redacts the credentials.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The server's host name or IP address (`[::1]` or `::1` for IPv6).
    /// With TLS the certificate must be valid for it.
    pub host: String,
    /// The server's port (see [`SmtpSecurity::default_port`]).
    pub port: u16,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// How to authenticate.
    pub auth: SmtpAuth,
    /// The sender mailbox (`From` and the envelope sender), e.g.
    /// `changedesk <changedesk@example.com>`.
    pub from: String,
    /// An optional `Reply-To` mailbox.
    pub reply_to: Option<String>,
    /// Timeout of the TCP connect ([`DEFAULT_SMTP_TIMEOUT`] is a good
    /// value); a whole send or check (connect, TLS, authentication, the
    /// message) is abandoned after four times this.
    pub timeout: Duration,
    /// PEM certificates (one or more) to trust in addition to the
    /// platform's roots: an internal relay's CA, or a test's. Unused with
    /// [`SmtpSecurity::Plain`].
    pub extra_root_pem: Option<Vec<u8>>,
}

impl SmtpSettings {
    /// Settings for `host` with `security`'s customary port, no
    /// authentication, no `Reply-To`, [`DEFAULT_SMTP_TIMEOUT`], the
    /// platform's roots only.
    pub fn new(host: impl Into<String>, security: SmtpSecurity, from: impl Into<String>) -> Self {
        SmtpSettings {
            host: host.into(),
            port: security.default_port(),
            security,
            auth: SmtpAuth::None,
            from: from.into(),
            reply_to: None,
            timeout: DEFAULT_SMTP_TIMEOUT,
            extra_root_pem: None,
        }
    }

    /// The server as `host:port` (`[v6]:port`), safe to show and log.
    pub fn server(&self) -> String {
        server_label(bare_host(&self.host), self.port)
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("auth", &self.auth)
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("timeout", &self.timeout)
            .field(
                "extra_root_pem",
                &self
                    .extra_root_pem
                    .as_ref()
                    .map(|p| format!("{} bytes", p.len())),
            )
            .finish()
    }
}

/// Errors of this module. None of them contains a password or token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// A mailbox (`a@b.c` or `Name <a@b.c>`) that cannot be used.
    #[error("invalid {field} address {input}: {reason}")]
    Address {
        /// Which one: `from`, `reply-to`, `to` or `address`.
        field: &'static str,
        /// The input, quoted, escaped and clipped.
        input: String,
        /// Why.
        reason: String,
    },
    /// A message without recipients.
    #[error("the message has no recipient")]
    NoRecipients,
    /// A message id that cannot become a `Message-ID`.
    #[error("invalid message id {input}: {reason}")]
    MessageId {
        /// The input, quoted, escaped and clipped.
        input: String,
        /// Why.
        reason: String,
    },
    /// An unsubscribe URL that cannot be used.
    #[error("invalid List-Unsubscribe URL: {reason}")]
    ListUnsubscribe {
        /// Why.
        reason: String,
    },
    /// lettre refused to build the message.
    #[error("could not build the e-mail: {reason}")]
    Build {
        /// lettre's reason.
        reason: String,
    },
    /// Settings that cannot work.
    #[error("SMTP settings: {reason}")]
    Settings {
        /// Why.
        reason: String,
    },
}

/// Checks a mailbox (`a@b.c` or `Name <a@b.c>`, surrounding whitespace
/// ignored) as configuration input: one address, no control characters,
/// at most 512 bytes, an ASCII part before `@` (an international domain is
/// fine). The error says why; no input makes it panic.
pub fn parse_address(s: &str) -> Result<(), EmailError> {
    parse_mailbox("address", s).map(|_| ())
}

fn parse_mailbox(field: &'static str, s: &str) -> Result<Mailbox, EmailError> {
    let error = |reason: &str| EmailError::Address {
        field,
        input: quote(s),
        reason: reason.to_owned(),
    };
    if s.chars().any(char::is_control) {
        return Err(error(
            "it contains a control character (a line break, tab or similar)",
        ));
    }
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(error("it is empty"));
    }
    if trimmed.len() > MAX_ADDRESS_BYTES {
        return Err(error("it is too long"));
    }
    let mailbox = Mailbox::from_str(trimmed).map_err(|e| {
        error(&format!(
            "expected one address like `user@example.com` or `Name <user@example.com>` ({e})"
        ))
    })?;
    let address: &str = mailbox.email.as_ref();
    if address.is_ascii() {
        return Ok(mailbox);
    }
    let user = mailbox.email.user();
    if !user.is_ascii() {
        return Err(error(
            "the part before `@` must be ASCII (internationalised mailboxes need SMTPUTF8, \
             which is not supported)",
        ));
    }
    // an international domain name travels as punycode
    let domain = match url::Host::parse(mailbox.email.domain()) {
        Ok(url::Host::Domain(domain)) if domain.is_ascii() => domain,
        _ => return Err(error("the domain is not a valid international domain name")),
    };
    let email = lettre::Address::new(user, &domain)
        .map_err(|e| error(&format!("the domain does not convert to ASCII ({e})")))?;
    Ok(Mailbox::new(mailbox.name, email))
}

/// Builds the MIME message for `m` from `from` with an optional
/// `reply_to` (both mailboxes): `multipart/alternative` (`text/plain`,
/// then `text/html`), `Message-ID: <id>`, `Date`, `Auto-Submitted:
/// auto-generated` and, with [`EmailMessage::list_unsubscribe`], the RFC
/// 8058 headers. The envelope is `from` to every `to`.
pub fn build_message(
    from: &str,
    reply_to: Option<&str>,
    m: &EmailMessage,
) -> Result<Message, EmailError> {
    let from = parse_mailbox("from", from)?;
    let reply_to = reply_to.map(|r| parse_mailbox("reply-to", r)).transpose()?;
    build(&from, reply_to.as_ref(), m)
}

fn build(
    from: &Mailbox,
    reply_to: Option<&Mailbox>,
    m: &EmailMessage,
) -> Result<Message, EmailError> {
    let message_id = message_id_value(&m.message_id)?;
    if m.to.is_empty() {
        return Err(EmailError::NoRecipients);
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .message_id(Some(message_id))
        .date_now()
        .subject(clean_subject(&m.subject));
    if let Some(reply_to) = reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    for to in &m.to {
        builder = builder.to(parse_mailbox("to", to)?);
    }
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_owned(),
    ));
    if let Some(url) = &m.list_unsubscribe {
        let url = unsubscribe_url(url)?;
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            m.text.clone(),
            m.html.clone(),
        ))
        .map_err(|e| EmailError::Build {
            reason: e.to_string(),
        })
}

/// RFC 5322 `atext`: the characters of a dot-atom besides `.`.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `<id>` for a `left@right` id whose sides are dot-atoms.
fn message_id_value(id: &str) -> Result<String, EmailError> {
    let error = |reason: &str| EmailError::MessageId {
        input: quote(id),
        reason: reason.to_owned(),
    };
    if id.is_empty() {
        return Err(error("it is empty"));
    }
    if id.len() > MAX_MESSAGE_ID_BYTES {
        return Err(error("it is too long"));
    }
    let Some((left, right)) = id.split_once('@') else {
        return Err(error("expected `left@right`, without angle brackets"));
    };
    if !is_dot_atom(left) || !is_dot_atom(right) {
        return Err(error(
            "expected `left@right`, each side letters, digits, dots and !#$%&'*+-/=?^_`{|}~, \
             without angle brackets or spaces",
        ));
    }
    Ok(format!("<{id}>"))
}

/// Control characters (CR, LF, tab, DEL, C1) become spaces: a subject is
/// one line, whatever the template produced.
fn clean_subject(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The URL in its ASCII serialisation, checked to be `https` and safe
/// inside `<…>` on one header line.
fn unsubscribe_url(input: &str) -> Result<String, EmailError> {
    let error = |reason: &str| EmailError::ListUnsubscribe {
        reason: reason.to_owned(),
    };
    let input = input.trim();
    if input.chars().any(char::is_control) {
        return Err(error("it contains a control character"));
    }
    let url = url::Url::parse(input).map_err(|e| error(&format!("not a URL ({e})")))?;
    if url.scheme() != "https" {
        return Err(error("only an https URL is allowed (RFC 8058)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(error("credentials in the URL are not allowed"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(error("the URL has no host"));
    }
    let text = url.as_str();
    if text.len() > MAX_UNSUBSCRIBE_URL_BYTES {
        return Err(error("the URL is too long"));
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
    {
        return Err(error("the URL does not serialise to plain ASCII"));
    }
    Ok(text.to_owned())
}

/// `"input"` with escapes, clipped to [`MAX_QUOTED_CHARS`] characters.
fn quote(input: &str) -> String {
    let clipped: String = input.chars().take(MAX_QUOTED_CHARS).collect();
    let more = if input.chars().nth(MAX_QUOTED_CHARS).is_some() {
        "…"
    } else {
        ""
    };
    format!("{clipped:?}{more}")
}

/// The host without IPv6 brackets (as lettre connects to it).
fn bare_host(host: &str) -> &str {
    let host = host.trim();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn server_label(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if host.len() > 253 {
        return Err("the host is too long".to_owned());
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    {
        return Err(format!(
            "the host {} must be a DNS name (ASCII, punycode for international names) or an IP address",
            quote(host)
        ));
    }
    Ok(())
}

/// The redactor of a secret (and the base64 forms an AUTH exchange carries
/// it in), for any text a server or library might have echoed it into.
fn scrubber(auth: &SmtpAuth) -> Redactor {
    let mut needles: Vec<Zeroizing<String>> = Vec::new();
    if let Some((user, secret)) = auth.user_and_secret() {
        let secret = secret.expose_secret();
        if !secret.is_empty() {
            let plain = Zeroizing::new(format!("\0{user}\0{secret}"));
            let xoauth2 = Zeroizing::new(format!("user={user}\x01auth=Bearer {secret}\x01\x01"));
            needles.push(Zeroizing::new(STANDARD.encode(plain.as_bytes())));
            needles.push(Zeroizing::new(STANDARD.encode(xoauth2.as_bytes())));
            needles.push(Zeroizing::new(STANDARD.encode(secret.as_bytes())));
            needles.push(Zeroizing::new(secret.to_owned()));
        }
    }
    Redactor::new(needles)
}

/// Sends e-mail through one SMTP server. Built once from [`SmtpSettings`]
/// and reused; cheap to clone. Each send opens its own connection (no
/// pool), so a broken connection never outlives one attempt.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    server: Arc<str>,
    security: SmtpSecurity,
    mechanism: &'static str,
    total_timeout: Duration,
    scrub: Arc<Redactor>,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("security", &self.security)
            .field("auth", &self.mechanism)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks `settings` and builds the transport: the host (a DNS name or
    /// IP address), a non-zero port and timeout, the `from` and `reply_to`
    /// mailboxes, the extra root certificates (PEM, at least one), a
    /// non-empty user and secret, and no credentials over
    /// [`SmtpSecurity::Plain`]. Installs ring as the process's rustls
    /// crypto provider if none is installed yet. Does not connect.
    pub fn new(settings: SmtpSettings) -> Result<SmtpMailer, EmailError> {
        let settings_error = |reason: String| EmailError::Settings { reason };
        let host = bare_host(&settings.host);
        check_host(host).map_err(settings_error)?;
        if settings.port == 0 {
            return Err(settings_error("the port must not be 0".to_owned()));
        }
        if settings.timeout.is_zero() {
            return Err(settings_error(
                "the timeout must be more than zero".to_owned(),
            ));
        }
        let from = parse_mailbox("from", &settings.from)?;
        let reply_to = settings
            .reply_to
            .as_deref()
            .map(|r| parse_mailbox("reply-to", r))
            .transpose()?;
        let server = server_label(host, settings.port);

        // an already installed provider is fine
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = match settings.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(host, &settings)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host, &settings)?),
        };

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, secret, mechanism)) = settings.auth.lettre() {
            if settings.security == SmtpSecurity::Plain {
                return Err(settings_error(
                    "credentials are never sent without TLS: choose STARTTLS or implicit TLS, \
                     or no authentication for a relay on this host or network"
                        .to_owned(),
                ));
            }
            if user.trim().is_empty() {
                return Err(settings_error("the SMTP user is empty".to_owned()));
            }
            if user.chars().any(char::is_control) {
                return Err(settings_error(
                    "the SMTP user contains a control character".to_owned(),
                ));
            }
            if secret.expose_secret().is_empty() {
                return Err(settings_error(format!(
                    "the {} secret is empty",
                    settings.auth.mechanism()
                )));
            }
            builder = builder
                .credentials(Credentials::new(
                    user.to_owned(),
                    secret.expose_secret().to_owned(),
                ))
                .authentication(vec![mechanism]);
        }

        Ok(SmtpMailer {
            transport: Arc::new(builder.build()),
            from,
            reply_to,
            server: server.into(),
            security: settings.security,
            mechanism: settings.auth.mechanism(),
            total_timeout: settings.timeout.saturating_mul(TOTAL_TIMEOUT_FACTOR),
            scrub: Arc::new(scrubber(&settings.auth)),
        })
    }

    /// The server as `host:port`, safe to show and log.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Builds `m` (see [`build_message`]) and sends it over a new
    /// connection, classifying the outcome (see the module documentation).
    pub async fn send(&self, m: &EmailMessage) -> SendOutcome {
        let outcome = self.scrub.outcome(self.attempt(m).await);
        match &outcome {
            SendOutcome::Delivered { status } => {
                tracing::debug!(target: "changedesk_notify", server = %self.server,
                    message_id = %m.message_id, status, "e-mail delivered");
            }
            SendOutcome::Retry { error, .. } | SendOutcome::Failed { error, .. } => {
                tracing::debug!(target: "changedesk_notify", server = %self.server,
                    message_id = %m.message_id, %error, "e-mail not delivered");
            }
            SendOutcome::Gone => {}
        }
        outcome
    }

    async fn attempt(&self, m: &EmailMessage) -> SendOutcome {
        let message = match build(&self.from, self.reply_to.as_ref(), m) {
            Ok(message) => message,
            Err(e) => {
                return SendOutcome::Failed {
                    status: None,
                    error: e.to_string(),
                };
            }
        };
        let sent = self
            .transport
            .send(message)
            .with_subscriber(NoSubscriber::default());
        match tokio::time::timeout(self.total_timeout, sent).await {
            Ok(Ok(response)) => {
                let status = u16::from(response.code());
                if (200..300).contains(&status) {
                    SendOutcome::Delivered { status }
                } else {
                    // lettre turns a negative reply into an error; this is
                    // an intermediate reply where a final one belongs
                    SendOutcome::Retry {
                        status: Some(status),
                        retry_after: None,
                        error: format!(
                            "{}: unexpected SMTP reply {status} to the message",
                            self.server
                        ),
                    }
                }
            }
            Ok(Err(e)) => classify(&self.server, &e),
            Err(_) => self.overall_timeout(),
        }
    }

    fn overall_timeout(&self) -> SendOutcome {
        SendOutcome::Retry {
            status: None,
            retry_after: None,
            error: format!(
                "{}: timed out after {} s",
                self.server,
                self.total_timeout.as_secs()
            ),
        }
    }

    /// Connects, says `EHLO`, secures the connection, authenticates and
    /// sends `NOOP`, then `QUIT`: the "secrets check" and "send a test"
    /// answer. The error text is the one [`SmtpMailer::send`] would give.
    pub async fn check(&self) -> Result<(), String> {
        let result = match tokio::time::timeout(
            self.total_timeout,
            self.transport
                .test_connection()
                .with_subscriber(NoSubscriber::default()),
        )
        .await
        {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(format!(
                "{}: connected, but the server did not answer NOOP",
                self.server
            )),
            Ok(Err(e)) => Err(classify(&self.server, &e)
                .error()
                .unwrap_or("check failed")
                .to_owned()),
            Err(_) => Err(self
                .overall_timeout()
                .error()
                .unwrap_or("timed out")
                .to_owned()),
        };
        result.map_err(|e| self.scrub.text(e))
    }
}

fn tls_parameters(host: &str, settings: &SmtpSettings) -> Result<TlsParameters, EmailError> {
    let settings_error = |reason: String| EmailError::Settings { reason };
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = &settings.extra_root_pem {
        let count = CertificateDer::pem_slice_iter(pem)
            .try_fold(0usize, |n, cert| cert.map(|_| n + 1))
            .map_err(|e| {
                settings_error(format!(
                    "the extra root certificates are not valid PEM: {e}"
                ))
            })?;
        if count == 0 {
            return Err(settings_error(
                "the extra root certificates contain no PEM `CERTIFICATE`".to_owned(),
            ));
        }
        let certificate = Certificate::from_pem(pem).map_err(|e| {
            settings_error(format!("the extra root certificates cannot be used: {e}"))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|e| settings_error(format!("TLS setup failed: {}", root_cause(&e))))
}

/// Classifies a failed send or check (see the module documentation).
fn classify(server: &str, e: &lettre::transport::smtp::Error) -> SendOutcome {
    if let Some(code) = e.status() {
        let status = u16::from(code);
        let text = std::error::Error::source(e)
            .map(|s| clean(&s.to_string()))
            .unwrap_or_default();
        let hint = match status {
            530 => " (the server requires authentication)",
            535 => " (authentication failed: check the user and the password or token)",
            _ => "",
        };
        let error = format!("{server}: SMTP {status} {text}{hint}");
        return if e.is_transient() {
            SendOutcome::Retry {
                status: Some(status),
                retry_after: None,
                error,
            }
        } else {
            SendOutcome::Failed {
                status: Some(status),
                error,
            }
        };
    }
    let cause = root_cause(e);
    if e.is_timeout() {
        return retry(format!("{server}: timed out: {cause}"));
    }
    if e.is_tls() || is_tls_failure(e) {
        return retry(format!("{server}: TLS failed: {cause}"));
    }
    if e.is_client() {
        let error = if cause.contains("does not expect a challenge") {
            // lettre cannot answer XOAUTH2's error challenge (RFC 7628),
            // which is how a server rejects a token
            format!(
                "{server}: XOAUTH2 authentication failed: the server answered with an error \
                 challenge (most likely an expired token or one without permission to send)"
            )
        } else {
            format!("{server}: {cause}")
        };
        return SendOutcome::Failed {
            status: None,
            error,
        };
    }
    if e.is_response() {
        return retry(format!("{server}: bad SMTP reply: {cause}"));
    }
    retry(format!("{server}: connection failed: {cause}"))
}

fn retry(error: String) -> SendOutcome {
    SendOutcome::Retry {
        status: None,
        retry_after: None,
        error,
    }
}

/// The innermost message of `e`'s source chain, cleaned and clipped
/// (lettre nests its causes under kind prefixes like `Connection error:`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = clean(&current.to_string());
    if text.is_empty() {
        clean(&e.to_string())
    } else {
        text
    }
}

/// Whether a rustls error (a failed handshake, an untrusted certificate)
/// is in `e`'s source chain, directly or inside an I/O error.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// Control characters blanked, whitespace trimmed, clipped to
/// [`MAX_ERROR_CHARS`] characters.
fn clean(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    let mut clipped: String = trimmed.chars().take(MAX_ERROR_CHARS).collect();
    if trimmed.chars().nth(MAX_ERROR_CHARS).is_some() {
        clipped.push('…');
    }
    clipped
}

#[cfg(test)]
mod tests;
