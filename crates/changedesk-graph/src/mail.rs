//! E-mail through Microsoft Graph: [`GraphClient::send_mail`], `POST
//! /v1.0/users/{sender}/sendMail` with the application permission
//! `Mail.Send` and the tenant's client credentials (secret or
//! certificate), as Exchange Online retires Basic authentication for SMTP
//! AUTH (MC786329).
//!
//! What this relies on (GDC is `microsoftgraph/microsoft-graph-docs-contrib`,
//! the source of learn.microsoft.com/graph):
//!
//! - The request is `POST /users/{id | userPrincipalName}/sendMail`,
//!   `Content-Type: application/json`, body `{"message": message,
//!   "saveToSentItems": Boolean}`; success is `202 Accepted` with an empty
//!   body, which means accepted for delivery, not delivered (GDC
//!   `api-reference/v1.0/api/user-sendmail.md`).
//! - `internetMessageHeaders` may only carry custom headers named `x-…`
//!   ("Add custom headers only when creating a message, and name them
//!   starting with "x-"", GDC `resources/message.md`); anything else is a
//!   400 `InvalidInternetMessageHeader` "The internet message header name
//!   'List-Unsubscribe' should start with 'x-' or 'X-'."
//!   (msgraph-sdk-dotnet issue #2105). So `List-Unsubscribe` and
//!   `List-Unsubscribe-Post` cannot be set through this JSON form (only
//!   through the base64 MIME form, which changedesk does not use):
//!   [`GraphClient::send_mail`] refuses a header not named `x-…` before
//!   sending ([`GraphError::InvalidMail`]); a caller that wants an
//!   unsubscribe link puts it in the body.
//! - At most 500 recipients per message (GDC `resources/message.md`), and a
//!   request of at most 4 MB (microsoft-graph-docs issue #9834: larger
//!   ones are a 413).
//! - Outlook's limits per app per mailbox: 4 concurrent requests and
//!   10,000 requests in 10 minutes; beyond them `429` with `Retry-After`
//!   (Graph throttling-limits page, "Outlook service limits"). The client
//!   keeps each sending mailbox to 4 requests in flight
//!   ([`MAILBOX_CONCURRENCY`]).
//! - The app needs the application permission `Mail.Send` with admin
//!   consent; without it Graph answers 403 `ErrorAccessDenied`. An Exchange
//!   application access policy (or RBAC for Applications) can also limit
//!   the mailboxes the app may send as, with the same answer.

use changedesk_core::config::TenantConfig;
use secrecy::ExposeSecret;
use serde_json::json;
use tracing::{debug, info};
use url::Url;

use crate::GraphClient;
use crate::client::{Posted, error_parts};
use crate::error::{GraphError, Step};
use crate::retry::is_transient_status;

/// Requests one app may have in flight against one mailbox (Outlook's
/// limit; a fifth is a 429 `ApplicationThrottled`).
pub const MAILBOX_CONCURRENCY: usize = 4;

/// The most recipients of one message (To, Cc and Bcc together).
pub const MAX_MAIL_RECIPIENTS: usize = 500;

/// The largest `sendMail` request body Graph takes: 4 MB.
pub const MAX_SEND_MAIL_BYTES: usize = 4 * 1024 * 1024;

/// What to tell an administrator when Graph refuses the app's access to
/// send mail.
const MAIL_SEND_HINT: &str = "the app needs the Microsoft Graph application permission Mail.Send, granted with admin consent in this tenant (and access to this mailbox, if an Exchange application access policy or RBAC for Applications limits the mailboxes it may send as)";

/// An e-mail to send with [`GraphClient::send_mail`]: HTML, from the
/// sending mailbox, to one or more addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphMail {
    /// The `Message-ID`, `<unique@domain>` (the angle brackets are added
    /// when missing). The same id on a second attempt lets the recipient's
    /// side recognize a duplicate.
    pub internet_message_id: String,
    /// The `To` addresses: at least one, at most [`MAX_MAIL_RECIPIENTS`].
    pub to: Vec<String>,
    /// The `Reply-To` address, if replies should go elsewhere than the
    /// sending mailbox.
    pub reply_to: Option<String>,
    /// The subject.
    pub subject: String,
    /// The HTML body.
    pub html: String,
    /// Custom headers, each named `x-…` (`X-Changedesk-Delivery`, …). Graph
    /// refuses every other name, `List-Unsubscribe` included: such a
    /// header makes [`GraphClient::send_mail`] fail with
    /// [`GraphError::InvalidMail`] before anything is sent. Values are one
    /// line (no control characters but tab).
    pub headers: Vec<(String, String)>,
}

impl GraphMail {
    /// The `sendMail` request body, after checking everything Graph would
    /// refuse; the error says what is wrong.
    pub fn send_mail_body(&self) -> Result<Vec<u8>, String> {
        let id = message_id(&self.internet_message_id)?;
        if self.to.is_empty() {
            return Err("it has no recipient".to_string());
        }
        if self.to.len() > MAX_MAIL_RECIPIENTS {
            return Err(format!(
                "it has {} recipients; Graph takes at most {MAX_MAIL_RECIPIENTS}",
                self.to.len()
            ));
        }
        let address = |a: &str| -> Result<serde_json::Value, String> {
            let a = a.trim();
            if is_address(a) {
                Ok(json!({"emailAddress": {"address": a}}))
            } else {
                Err(format!("`{a}` is not an e-mail address"))
            }
        };
        let to = self
            .to
            .iter()
            .map(|a| address(a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut message = serde_json::Map::new();
        message.insert("subject".into(), json!(self.subject));
        message.insert(
            "body".into(),
            json!({"contentType": "HTML", "content": self.html}),
        );
        message.insert("toRecipients".into(), json!(to));
        if let Some(r) = &self.reply_to {
            message.insert("replyTo".into(), json!([address(r)?]));
        }
        if !self.headers.is_empty() {
            let headers = self
                .headers
                .iter()
                .map(|(name, value)| {
                    check_header(name, value)?;
                    Ok(json!({"name": name, "value": value}))
                })
                .collect::<Result<Vec<_>, String>>()?;
            message.insert("internetMessageHeaders".into(), json!(headers));
        }
        message.insert("internetMessageId".into(), json!(id));
        // a service mailbox keeps no copies: the delivery log is
        // changedesk's own
        let body = json!({"message": message, "saveToSentItems": false});
        let bytes = serde_json::to_vec(&body).map_err(|e| format!("cannot encode it: {e}"))?;
        if bytes.len() > MAX_SEND_MAIL_BYTES {
            return Err(format!(
                "it is {} bytes; Graph's sendMail takes at most {MAX_SEND_MAIL_BYTES}",
                bytes.len()
            ));
        }
        Ok(bytes)
    }
}

/// `<left@right>`, adding the brackets when missing.
fn message_id(id: &str) -> Result<String, String> {
    let id = id.trim();
    let inner = id
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id);
    let valid = inner.split_once('@').is_some_and(|(l, r)| {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_graphic() && !"<>@".contains(c))
        };
        ok(l) && ok(r)
    });
    if valid {
        Ok(format!("<{inner}>"))
    } else {
        Err(format!(
            "the internet message id `{id}` is not of the form <left@right>"
        ))
    }
}

/// `local@domain`, without spaces, controls or address-list punctuation.
fn is_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    let clean = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>,;:\"()[]\\@".contains(c))
    };
    clean(local) && clean(domain) && domain.contains('.')
}

/// A custom header Graph takes: named `x-…` with RFC 5322 field-name
/// characters, a one-line value.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if !name.to_ascii_lowercase().starts_with("x-") {
        return Err(format!(
            "the header `{name}` is not named x-…: Graph's sendMail takes only custom x- headers (it refuses List-Unsubscribe and every other standard header)"
        ));
    }
    if name.len() <= 2 || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(format!("`{name}` is not a header name"));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "the value of the header `{name}` has a line break or control character"
        ));
    }
    Ok(())
}

/// `{graph}v1.0/users/{sender}/sendMail`, the sender percent-encoded as
/// one path segment.
fn send_mail_url(base: &Url, sender: &str) -> Result<Url, String> {
    let sender = sender.trim();
    if sender.is_empty() {
        return Err("no sending mailbox is configured".to_string());
    }
    let mut url = base
        .join("v1.0/users/")
        .map_err(|e| format!("the Graph URL {base} cannot be extended: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| format!("the Graph URL {base} cannot have a path"))?
        .pop_if_empty()
        .push(sender)
        .push("sendMail");
    Ok(url)
}

impl GraphClient {
    /// Sends `mail` from the mailbox `sender` (a user principal name or
    /// object id) of `tenant`, with Graph's `sendMail` and the tenant's
    /// token (the same cache as the listings; the app needs the application
    /// permission `Mail.Send`). `Ok` means Graph accepted it (202), not
    /// that it was delivered.
    ///
    /// One attempt, no waiting: unlike the listings, which retry within
    /// [`crate::ClientOptions::max_retry_time`] (two minutes by default),
    /// a delivery worker must not be held for minutes by one message, and
    /// knows better when to come back. The only second request is after a
    /// `401` (a revoked or expired token): once, with a new token. A token
    /// request is made only when no fresh token is cached, and is not
    /// retried either. At most [`MAILBOX_CONCURRENCY`] calls per sending
    /// mailbox are in flight at once; more wait for a slot. Graph's
    /// request budget of the listings is not used (mail has its own limits).
    ///
    /// The failure says what to do ([`GraphError::disposition`]):
    ///
    /// - [`GraphError::Transient`] (try again later, after its
    ///   [`GraphError::retry_after`] when Graph sent one): `429`, `408`,
    ///   `500`, `502`, `503`, `504`, a timeout, a lost connection, a
    ///   token request that failed that way;
    /// - [`GraphError::Permanent`] with status `401` or `403`
    ///   ([`GraphError::is_auth`]): the app lacks `Mail.Send` with admin
    ///   consent (the message says so), or may not send as this mailbox; a
    ///   `403` also drops the cached token, so the next attempt carries the
    ///   roles granted since; a refused token request (bad secret, …) is
    ///   the same kind;
    /// - [`GraphError::Permanent`] otherwise (`400` bad message, `404`
    ///   unknown user or no mailbox, `413` too large), and
    ///   [`GraphError::InvalidMail`] when the mail cannot be sent as given
    ///   (checked before any request).
    ///
    /// Neither the token nor the credential ever appears in an error or a
    /// log; recipients are logged by count only.
    pub async fn send_mail(
        &self,
        tenant: &TenantConfig,
        sender: &str,
        mail: &GraphMail,
    ) -> Result<(), GraphError> {
        let invalid = |message: String| GraphError::InvalidMail {
            tenant: tenant.name.clone(),
            message,
        };
        let body = mail.send_mail_body().map_err(invalid)?;
        let url = send_mail_url(&tenant.graph_base(), sender).map_err(invalid)?;
        let sender = sender.trim();
        let slots = self.mailbox_slots(tenant, sender);
        // never closed; without a permit the request goes anyway
        let _permit = slots.acquire_owned().await.ok();
        let step = Step::SendMail;
        let mut reauthenticated = false;
        loop {
            let token = self.one_shot_token(tenant).await?;
            debug!(
                tenant = %tenant.name,
                %sender,
                recipients = mail.to.len(),
                internet_message_id = %mail.internet_message_id,
                "sending mail through Graph"
            );
            let (status, retry_after, answer, request_id) =
                match self.post_json(tenant, &url, &token, body.clone()).await {
                    Posted::Failed(last) => {
                        return Err(GraphError::Transient {
                            tenant: tenant.name.clone(),
                            step,
                            last,
                            retry_after: None,
                        });
                    }
                    Posted::Answer {
                        status,
                        retry_after,
                        body,
                        request_id,
                    } => (status, retry_after, body, request_id),
                };
            if (200..300).contains(&status) {
                info!(
                    tenant = %tenant.name,
                    %sender,
                    recipients = mail.to.len(),
                    internet_message_id = %mail.internet_message_id,
                    %request_id,
                    "Graph accepted the mail"
                );
                return Ok(());
            }
            let (code, message) = error_parts(status, &answer, &[token.expose_secret()]);
            if status == 401 && !reauthenticated {
                reauthenticated = true;
                info!(tenant = %tenant.name, %code, "Graph rejected the access token; requesting a new one");
                self.forget_token(tenant, &token).await;
                continue;
            }
            let code_text = if code.is_empty() {
                String::new()
            } else {
                format!(" {code}")
            };
            if is_transient_status(status) {
                return Err(GraphError::Transient {
                    tenant: tenant.name.clone(),
                    step,
                    last: format!("HTTP {status}{code_text}: {message}"),
                    retry_after,
                });
            }
            let message = match status {
                401 | 403 => {
                    // a token issued before Mail.Send was granted lacks it:
                    // the next attempt asks for a new one
                    self.forget_token(tenant, &token).await;
                    format!("{message} [sending as {sender}]; {MAIL_SEND_HINT}")
                }
                _ => format!("{message} [sending as {sender}]"),
            };
            return Err(GraphError::Permanent {
                tenant: tenant.name.clone(),
                step,
                status,
                code,
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> GraphMail {
        GraphMail {
            internet_message_id: "<d-1.2@changedesk.example>".into(),
            to: vec!["ops@contoso.example".into(), " cab@contoso.example ".into()],
            reply_to: Some("owner@contoso.example".into()),
            subject: "MC1234567 – Teams: ändert sich".into(),
            html: "<p>Hallo</p>".into(),
            headers: vec![("X-Changedesk-Delivery".into(), "d-1".into())],
        }
    }

    #[test]
    fn the_body_is_graphs_send_mail_json() {
        let body: serde_json::Value =
            serde_json::from_slice(&mail().send_mail_body().expect("valid")).expect("JSON");
        assert_eq!(
            body,
            json!({
                "message": {
                    "subject": "MC1234567 – Teams: ändert sich",
                    "body": {"contentType": "HTML", "content": "<p>Hallo</p>"},
                    "toRecipients": [
                        {"emailAddress": {"address": "ops@contoso.example"}},
                        {"emailAddress": {"address": "cab@contoso.example"}},
                    ],
                    "replyTo": [{"emailAddress": {"address": "owner@contoso.example"}}],
                    "internetMessageHeaders": [{"name": "X-Changedesk-Delivery", "value": "d-1"}],
                    "internetMessageId": "<d-1.2@changedesk.example>",
                },
                "saveToSentItems": false,
            })
        );
        let bare = GraphMail {
            internet_message_id: "d-1@x.example".into(),
            reply_to: None,
            headers: Vec::new(),
            ..mail()
        };
        let body: serde_json::Value =
            serde_json::from_slice(&bare.send_mail_body().expect("valid")).expect("JSON");
        assert_eq!(body["message"]["internetMessageId"], "<d-1@x.example>");
        assert!(body["message"].get("replyTo").is_none());
        assert!(body["message"].get("internetMessageHeaders").is_none());
    }

    #[test]
    fn what_graph_would_refuse_is_refused_first() {
        let refused = |m: GraphMail| m.send_mail_body().expect_err("refused");
        let e = refused(GraphMail {
            headers: vec![("List-Unsubscribe".into(), "<https://x.example/u>".into())],
            ..mail()
        });
        assert!(e.contains("`List-Unsubscribe` is not named x-"), "{e}");
        assert!(
            refused(GraphMail {
                headers: vec![("X-Evil".into(), "a\r\nBcc: victim@x.example".into())],
                ..mail()
            })
            .contains("line break")
        );
        assert!(
            refused(GraphMail {
                headers: vec![("X-Bad Name".into(), "v".into())],
                ..mail()
            })
            .contains("not a header name")
        );
        assert!(
            refused(GraphMail {
                to: Vec::new(),
                ..mail()
            })
            .contains("no recipient")
        );
        assert!(
            refused(GraphMail {
                to: vec!["ops at contoso".into()],
                ..mail()
            })
            .contains("not an e-mail address")
        );
        assert!(
            refused(GraphMail {
                reply_to: Some("a@b@c.example".into()),
                ..mail()
            })
            .contains("not an e-mail address")
        );
        assert!(
            refused(GraphMail {
                to: (0..501).map(|i| format!("u{i}@x.example")).collect(),
                ..mail()
            })
            .contains("at most 500")
        );
        for id in ["", "<>", "no-at", "<a b@c>", "<@c>"] {
            assert!(
                refused(GraphMail {
                    internet_message_id: id.into(),
                    ..mail()
                })
                .contains("not of the form <left@right>"),
                "{id}"
            );
        }
        assert!(
            refused(GraphMail {
                html: "x".repeat(MAX_SEND_MAIL_BYTES),
                ..mail()
            })
            .contains("at most 4194304")
        );
    }

    #[test]
    fn the_url_names_the_sender_as_one_segment() {
        let base = Url::parse("https://graph.microsoft.com/").expect("url");
        assert_eq!(
            send_mail_url(&base, " changedesk@contoso.com ")
                .expect("url")
                .as_str(),
            "https://graph.microsoft.com/v1.0/users/changedesk@contoso.com/sendMail"
        );
        let base = Url::parse("http://127.0.0.1:9/graph/").expect("url");
        assert_eq!(
            send_mail_url(&base, "a/b?c#d@x.example")
                .expect("url")
                .as_str(),
            "http://127.0.0.1:9/graph/v1.0/users/a%2Fb%3Fc%23d@x.example/sendMail"
        );
        assert!(send_mail_url(&base, "  ").is_err());
    }
}
