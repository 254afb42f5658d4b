//! What can go wrong talking to Entra ID and Graph.
//!
//! Every message names the tenant. None contains a client secret, a client
//! assertion or an access token: text a server sent back is scrubbed of them
//! (see [`scrub`]) and shortened before it is kept.

use std::fmt;
use std::time::Duration;

use crate::Resource;

/// The request that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The OAuth 2.0 token request to Entra ID.
    Token,
    /// Reading a Graph collection.
    Read(Resource),
    /// Sending an e-mail (`POST /users/{sender}/sendMail`).
    SendMail,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Token => f.write_str("token request"),
            Step::Read(r) => write!(f, "reading {r}"),
            Step::SendMail => f.write_str("sending mail"),
        }
    }
}

/// A failure of a [`crate::GraphClient`] operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// The server refused the request in a way retrying cannot fix (bad
    /// credential, unknown tenant or app, missing consent, bad request, not
    /// found). `code` is Microsoft's error code (`invalid_client`,
    /// `Authorization_RequestDenied`, …), empty if the response had none.
    #[error("tenant {tenant}: {step} refused: HTTP {status}{}: {message}", code_part(.code))]
    Permanent {
        tenant: String,
        step: Step,
        status: u16,
        code: String,
        message: String,
    },
    /// Transient failures went on longer than the retry cap allows.
    /// `attempts` counts the tries of the request that failed last; `last`
    /// describes its last failure (status and code, timeout, …).
    #[error(
        "tenant {tenant}: {step}: gave up after {attempts} attempts ({elapsed:.1?} spent retrying); last: {last}"
    )]
    GaveUp {
        tenant: String,
        step: Step,
        attempts: u32,
        elapsed: Duration,
        last: String,
    },
    /// One attempt failed in a way that may pass later: throttling (`429`),
    /// a server error (`500`, `502`, `503`, `504`), a timeout, a lost
    /// connection. Reported at once by the operations that do not retry
    /// themselves ([`crate::GraphClient::send_mail`]); `retry_after` is the
    /// server's `Retry-After`, when it sent one.
    #[error("tenant {tenant}: {step} failed: {last}; worth trying again{}", retry_part(.retry_after))]
    Transient {
        tenant: String,
        step: Step,
        last: String,
        retry_after: Option<Duration>,
    },
    /// An e-mail that cannot be sent as given (no recipient, a header Graph
    /// refuses, too large, …); nothing was sent.
    #[error("tenant {tenant}: cannot send this mail: {message}")]
    InvalidMail { tenant: String, message: String },
    /// The certificate or private key cannot be read or used.
    #[error("tenant {tenant}: certificate credential: {message}")]
    Credential { tenant: String, message: String },
    /// The server answered something the client cannot follow (a token
    /// response without a token, a `nextLink` to another host, a redirect,
    /// an oversized page, …).
    #[error("tenant {tenant}: {step}: {message}")]
    Protocol {
        tenant: String,
        step: Step,
        message: String,
    },
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {message}")]
    Client { message: String },
}

fn retry_part(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" after {d:.1?} (Retry-After)"),
        None => " later".to_string(),
    }
}

/// What a caller should do about a [`GraphError`] ([`GraphError::disposition`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Try again later, after the server's `Retry-After` when there is one
    /// (else with the caller's own backoff): throttling, a server error, a
    /// timeout, a lost connection, retries that ran out of time.
    RetryLater(Option<Duration>),
    /// The app's credential or its permissions in the tenant: an
    /// administrator must act (a secret or certificate, admin consent, an
    /// application permission such as Mail.Send). Retrying will not help
    /// until then.
    Auth,
    /// Retrying the same request will fail the same way (bad request,
    /// unknown user, no mailbox, too large, an answer the client cannot
    /// follow).
    Permanent,
}

fn code_part(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!(" {code}")
    }
}

impl GraphError {
    /// Microsoft's error code of a [`GraphError::Permanent`] failure.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Permanent { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// Whether trying again later, without changing the configuration or the
    /// tenant, is pointless. Only [`GraphError::GaveUp`] and
    /// [`GraphError::Transient`] are worth retrying (on the next sync, or
    /// the next delivery attempt).
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    /// Whether trying again later may succeed ([`GraphError::GaveUp`],
    /// [`GraphError::Transient`]).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GraphError::GaveUp { .. } | GraphError::Transient { .. }
        )
    }

    /// The server's `Retry-After` of a [`GraphError::Transient`] failure.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GraphError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// What to do about it: try again later (perhaps after a given time),
    /// have an administrator fix the app's access, or give up.
    pub fn disposition(&self) -> Disposition {
        if self.is_retryable() {
            Disposition::RetryLater(self.retry_after())
        } else if self.is_auth() {
            Disposition::Auth
        } else {
            Disposition::Permanent
        }
    }

    /// Whether the failure is about the app's credential or its access to the
    /// tenant (the token request failed, the certificate is unusable, or
    /// Graph denied access).
    pub fn is_auth(&self) -> bool {
        match self {
            GraphError::Credential { .. } => true,
            GraphError::Permanent { step, status, .. } => {
                *step == Step::Token || *status == 401 || *status == 403
            }
            _ => false,
        }
    }

    /// The tenant the failure concerns (`None` for [`GraphError::Client`]).
    pub fn tenant(&self) -> Option<&str> {
        match self {
            GraphError::Permanent { tenant, .. }
            | GraphError::GaveUp { tenant, .. }
            | GraphError::Transient { tenant, .. }
            | GraphError::InvalidMail { tenant, .. }
            | GraphError::Credential { tenant, .. }
            | GraphError::Protocol { tenant, .. } => Some(tenant),
            GraphError::Client { .. } => None,
        }
    }
}

/// The most characters of server-provided text kept in a message.
const MAX_SERVER_TEXT: usize = 400;

/// `text` with every occurrence of a secret replaced by `[redacted]`,
/// control characters flattened to spaces and cut to a readable length.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // very short "secrets" would mangle ordinary text; real ones are long
        if s.len() >= 6 {
            out = out.replace(s, "[redacted]");
        }
    }
    let flat: String = out
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > MAX_SERVER_TEXT {
        let mut cut: String = flat.chars().take(MAX_SERVER_TEXT).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_tenant_status_and_code() {
        let e = GraphError::Permanent {
            tenant: "contoso".into(),
            step: Step::Read(Resource::Messages),
            status: 403,
            code: "Authorization_RequestDenied".into(),
            message: "Insufficient privileges".into(),
        };
        assert_eq!(
            e.to_string(),
            "tenant contoso: reading messages refused: HTTP 403 Authorization_RequestDenied: Insufficient privileges"
        );
        assert_eq!(e.code(), Some("Authorization_RequestDenied"));
        assert!(e.is_permanent() && e.is_auth());
        let e = GraphError::Permanent {
            tenant: "contoso".into(),
            step: Step::Read(Resource::Issues),
            status: 404,
            code: String::new(),
            message: "no body".into(),
        };
        assert_eq!(
            e.to_string(),
            "tenant contoso: reading issues refused: HTTP 404: no body"
        );
        assert_eq!(e.code(), None);
        assert!(!e.is_auth());
        let e = GraphError::GaveUp {
            tenant: "fabrikam".into(),
            step: Step::Token,
            attempts: 4,
            elapsed: Duration::from_millis(1234),
            last: "HTTP 503".into(),
        };
        assert_eq!(
            e.to_string(),
            "tenant fabrikam: token request: gave up after 4 attempts (1.2s spent retrying); last: HTTP 503"
        );
        assert!(!e.is_permanent());
        assert_eq!(e.tenant(), Some("fabrikam"));
    }

    #[test]
    fn dispositions() {
        let gave_up = GraphError::GaveUp {
            tenant: "t".into(),
            step: Step::Token,
            attempts: 2,
            elapsed: Duration::ZERO,
            last: "HTTP 503".into(),
        };
        assert_eq!(gave_up.disposition(), Disposition::RetryLater(None));
        let transient = GraphError::Transient {
            tenant: "t".into(),
            step: Step::SendMail,
            last: "HTTP 429".into(),
            retry_after: Some(Duration::from_millis(2128)),
        };
        assert_eq!(
            transient.disposition(),
            Disposition::RetryLater(Some(Duration::from_millis(2128)))
        );
        assert_eq!(
            transient.to_string(),
            "tenant t: sending mail failed: HTTP 429; worth trying again after 2.1s (Retry-After)"
        );
        let refused = |status: u16, step: Step| GraphError::Permanent {
            tenant: "t".into(),
            step,
            status,
            code: String::new(),
            message: "m".into(),
        };
        assert_eq!(
            refused(401, Step::SendMail).disposition(),
            Disposition::Auth
        );
        assert_eq!(refused(400, Step::Token).disposition(), Disposition::Auth);
        assert_eq!(
            refused(404, Step::SendMail).disposition(),
            Disposition::Permanent
        );
        let credential = GraphError::Credential {
            tenant: "t".into(),
            message: "m".into(),
        };
        assert_eq!(credential.disposition(), Disposition::Auth);
        let invalid = GraphError::InvalidMail {
            tenant: "t".into(),
            message: "it has no recipient".into(),
        };
        assert_eq!(invalid.disposition(), Disposition::Permanent);
        assert_eq!(invalid.tenant(), Some("t"));
    }

    #[test]
    fn scrub_removes_secrets_and_flattens() {
        let s = scrub(
            "  bad secret hunter2-xyz\r\nTrace ID: 1 ",
            &["hunter2-xyz", "abc"],
        );
        assert_eq!(s, "bad secret [redacted]  Trace ID: 1");
        let long = "x".repeat(1000);
        let s = scrub(&long, &[]);
        assert_eq!(s.chars().count(), MAX_SERVER_TEXT + 1);
    }
}
