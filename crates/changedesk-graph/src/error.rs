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
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Token => f.write_str("token request"),
            Step::Read(r) => write!(f, "reading {r}"),
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
    /// tenant, is pointless. Only [`GraphError::GaveUp`] is worth retrying on
    /// the next sync.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, GraphError::GaveUp { .. })
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
