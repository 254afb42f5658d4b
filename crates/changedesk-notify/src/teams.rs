//! Microsoft Teams through a Power Automate Workflows webhook: the flow
//! "When a Teams webhook request is received" followed by "Post card in a
//! chat or channel" (the replacement for the retired Office 365 Connector
//! webhooks and their MessageCard).
//!
//! # Wire facts (`integrations.md` §4)
//!
//! - **URL** (Doc): `https://…logic.azure.com:443/workflows/{id}/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig={sig}`
//!   or the `…environment.api.powerplatform.com/powerautomate/automations/direct/…`
//!   form. The `sig` query parameter is the credential: the whole URL is a
//!   secret, never logged nor put in an error (see [`crate::webhook`]'s
//!   scrubbing).
//! - **Auth** (Doc): with "Anyone" as who can trigger, the request carries
//!   no `Authorization` header (one would make the POST fail); the tenant
//!   options need an Entra token, and without one the answer is `401`
//!   (Observed). This channel never sends a token.
//! - **Body** (Doc): `{"type":"message","attachments":[{"contentType":
//!   "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":
//!   {Adaptive Card}}]}`, every field required ([`message`] builds it).
//! - **Answers:** `202 Accepted` with an empty body (Observed) *before* the
//!   flow runs, so a `202` does not prove the card was posted (a failed run
//!   shows only in the flow's run history); `400`
//!   `{"error":{"code":"TriggerInputSchemaMismatch",…}}` (Observed) for a
//!   body that does not match the trigger schema; `401` for an
//!   auth-restricted flow; `404` when the flow was deleted or its URL
//!   regenerated (Unconfirmed code); `429` with `Retry-After`; `5xx`.
//! - **Cards:** Teams renders Adaptive Card schema 1.5 and earlier (Doc);
//!   `Action.Submit` / `Action.Execute` need a bot, so only
//!   `Action.OpenUrl` is used.
//! - **Size:** 28 KB is documented for incoming-webhook messages (for the
//!   old webhook; Unconfirmed for Workflows), clients measured a practical
//!   ceiling near 21 KB (Observed): [`MAX_BODY_BYTES`] is 20 KiB.
//! - **Rate:** "Post card as Flow bot" allows 25 requests per 300 s per
//!   connection (Doc): [`POSTS_PER_WINDOW`] per [`WINDOW`], for the worker
//!   to pace with. A card over the limit fails inside the flow, after the
//!   `202`: it is lost silently.
//!
//! [`check`] refuses a body we must not send, and [`send`] checks before
//! sending and classifies the answer into a [`SendOutcome`].

use std::time::Duration;

use serde_json::Value;

use crate::webhook::{HttpReply, PlainTarget, SendOutcome, WebhookSender};

/// The attachment content type of an Adaptive Card.
pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// The largest body we send: 20 KiB (20 × 1024 bytes). Teams documents 28
/// KB for incoming-webhook messages, clients measured about 21 KB in
/// practice, and a card over the real limit is dropped after the `202`
/// without a word, so we keep a margin.
pub const MAX_BODY_BYTES: usize = 20 * 1024;

/// The newest Adaptive Card schema version Teams renders: 1.5.
pub const MAX_CARD_VERSION: (u64, u64) = (1, 5);

/// "Post card as Flow bot" allows this many posts per [`WINDOW`] per
/// connection (25).
pub const POSTS_PER_WINDOW: u32 = 25;

/// The window of [`POSTS_PER_WINDOW`]: 300 s.
pub const WINDOW: Duration = Duration::from_secs(300);

const AUTH_HINT: &str =
    "the flow requires authentication: choose Anyone as who can trigger the flow";

/// The Workflows message envelope around one Adaptive Card:
/// `{"type":"message","attachments":[{"contentType":
/// "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":card}]}`.
pub fn message(card: Value) -> Value {
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": CARD_CONTENT_TYPE,
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// Whether `body` may be sent: at most [`MAX_BODY_BYTES`], a message
/// envelope (`type` `"message"`, a non-empty `attachments` array, each with
/// the Adaptive Card `contentType`, `contentUrl` present and `null`, and an
/// object `content`) whose cards have `type` `"AdaptiveCard"`, a `version`
/// `"major.minor"` of at most 1.5, and no action other than
/// `Action.OpenUrl` anywhere (top-level `actions`, `Action.Set`s,
/// `selectAction`s). The error says what is wrong.
pub fn check(body: &[u8]) -> Result<(), String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "the Teams message is {} bytes, over our limit of {MAX_BODY_BYTES} bytes \
             (Teams documents 28 KB and drops larger cards silently)",
            body.len()
        ));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the Teams message is not JSON: {e}"))?;
    let Some(envelope) = value.as_object() else {
        return Err("the Teams message is not a JSON object".to_owned());
    };
    if envelope.get("type").and_then(Value::as_str) != Some("message") {
        return Err("the Teams message's `type` must be \"message\"".to_owned());
    }
    let attachments = envelope
        .get("attachments")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("the Teams message needs a non-empty `attachments` array")?;
    for (i, attachment) in attachments.iter().enumerate() {
        check_attachment(attachment).map_err(|e| format!("attachment {i}: {e}"))?;
    }
    Ok(())
}

fn check_attachment(attachment: &Value) -> Result<(), String> {
    let Some(attachment) = attachment.as_object() else {
        return Err("not an object".to_owned());
    };
    if attachment.get("contentType").and_then(Value::as_str) != Some(CARD_CONTENT_TYPE) {
        return Err(format!("`contentType` must be \"{CARD_CONTENT_TYPE}\""));
    }
    if attachment.get("contentUrl") != Some(&Value::Null) {
        return Err("`contentUrl` must be present and null".to_owned());
    }
    let card = attachment
        .get("content")
        .filter(|c| c.is_object())
        .ok_or("`content` must be an Adaptive Card object")?;
    if card.get("type").and_then(Value::as_str) != Some("AdaptiveCard") {
        return Err("the card's `type` must be \"AdaptiveCard\"".to_owned());
    }
    let version = card
        .get("version")
        .and_then(Value::as_str)
        .ok_or("the card needs a `version` string such as \"1.5\"")?;
    match parse_version(version) {
        Some(v) if v <= MAX_CARD_VERSION => {}
        Some(_) => {
            return Err(format!(
                "card version {version} is newer than 1.5, the newest Teams renders"
            ));
        }
        None => return Err(format!("card version {version:?} is not major.minor")),
    }
    check_actions(card)
}

/// `"1.5"` → `(1, 5)`; digits only, no sign, no spaces.
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

/// Every object in the card whose `type` starts with `Action.` must be
/// `Action.OpenUrl` (`Action.Submit`, `Action.Execute`, `Action.ShowCard`
/// and `Action.ToggleVisibility` are refused: the first two need a bot,
/// and a flow-posted card is meant to be read and followed, nothing else).
fn check_actions(value: &Value) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(kind) = map.get("type").and_then(Value::as_str)
                && kind.starts_with("Action.")
                && kind != "Action.OpenUrl"
            {
                return Err(format!(
                    "the card has an `{kind}` action: only Action.OpenUrl works without a bot"
                ));
            }
            map.values().try_for_each(check_actions)
        }
        Value::Array(items) => items.iter().try_for_each(check_actions),
        _ => Ok(()),
    }
}

/// Check `body` with [`check`] (a refusal is [`SendOutcome::Failed`]
/// without a request), POST it to the flow's `target`, and classify:
///
/// - any `2xx` (normally `202`): [`SendOutcome::Delivered`]. A `202` only
///   says the trigger accepted the body: the flow runs afterwards, and a
///   card it fails to post (throttled, too large, not renderable) is lost
///   without the sender hearing of it;
/// - `400` (`TriggerInputSchemaMismatch` and the like):
///   [`SendOutcome::Failed`] with the error code and message;
/// - `401`, `403`: [`SendOutcome::Failed`], the flow requires
///   authentication (choose Anyone as who can trigger);
/// - `404` (flow deleted or URL regenerated), `410`: [`SendOutcome::Gone`];
/// - `408`, `429`, `5xx`, timeouts, connection failures:
///   [`SendOutcome::Retry`], not before the `Retry-After`;
/// - `3xx` (never followed), other `4xx`, a refused target:
///   [`SendOutcome::Failed`].
///
/// The URL (the `sig` is the credential) is in no outcome and no log: the
/// target shows as `scheme://host[:port]` only.
pub async fn send(
    sender: &WebhookSender,
    target: &PlainTarget,
    body: &[u8],
    now_unix: i64,
) -> SendOutcome {
    let label = target.target();
    if let Err(reason) = check(body) {
        return SendOutcome::Failed {
            status: None,
            error: format!("{label}: not sent: {reason}"),
        };
    }
    let outcome = match sender.post_json(target, body, now_unix).await {
        Ok(reply) => classify(&reply),
        Err(outcome) => outcome,
    };
    match &outcome {
        SendOutcome::Delivered { status } => {
            tracing::debug!(target: "changedesk_notify", %label, status, "Teams flow accepted the card");
        }
        SendOutcome::Gone => {
            tracing::info!(target: "changedesk_notify", %label, "Teams flow gone (deleted or URL regenerated)");
        }
        SendOutcome::Retry { error, .. } | SendOutcome::Failed { error, .. } => {
            tracing::debug!(target: "changedesk_notify", %label, %error, "Teams card not delivered");
        }
    }
    outcome
}

/// Classifies a Workflows trigger answer as [`send`] does (for a caller that
/// posted with [`WebhookSender::post_json`] itself, e.g. a connection test).
pub fn classify(reply: &HttpReply) -> SendOutcome {
    let status = reply.status;
    match status {
        200..=299 => SendOutcome::Delivered { status },
        404 | 410 => SendOutcome::Gone,
        408 | 429 | 500..=599 => SendOutcome::Retry {
            status: Some(status),
            retry_after: reply.retry_after,
            error: describe(reply),
        },
        401 | 403 => SendOutcome::Failed {
            status: Some(status),
            error: format!("{} ({AUTH_HINT})", describe(reply)),
        },
        _ => SendOutcome::Failed {
            status: Some(status),
            error: describe(reply),
        },
    }
}

/// `scheme://host[:port]: HTTP 400 Bad Request: Code: message` when the
/// body is the Logic Apps error shape, else the reply's own description.
fn describe(reply: &HttpReply) -> String {
    let error = serde_json::from_str::<Value>(&reply.body_text)
        .ok()
        .and_then(|v| v.get("error").cloned());
    let code = error
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str);
    let message = error
        .as_ref()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str);
    match code {
        Some(code) => {
            let bare = HttpReply {
                body_text: String::new(),
                ..reply.clone()
            };
            match message {
                Some(message) => format!("{}: {code}: {message}", bare.describe()),
                None => format!("{}: {code}", bare.describe()),
            }
        }
        None => reply.describe(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn card() -> Value {
        json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": "MC123456 needs action by 2026-03-31", "wrap": true},
                {"type": "FactSet", "facts": [{"title": "Service", "value": "Exchange Online"}]}
            ],
            "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://changedesk.example/changes/42"}]
        })
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn message_is_the_documented_envelope() {
        let m = message(card());
        assert_eq!(m["type"], "message");
        assert_eq!(m["attachments"].as_array().unwrap().len(), 1);
        assert_eq!(m["attachments"][0]["contentType"], CARD_CONTENT_TYPE);
        assert!(m["attachments"][0]["contentUrl"].is_null());
        assert!(
            m["attachments"][0]
                .as_object()
                .unwrap()
                .contains_key("contentUrl")
        );
        assert_eq!(m["attachments"][0]["content"], card());
        assert_eq!(check(&bytes(&m)), Ok(()));
    }

    #[test]
    fn check_refuses_what_the_trigger_or_teams_would() {
        let ok = message(card());
        let cases: Vec<(Value, &str)> = vec![
            (json!([1]), "not a JSON object"),
            (json!({"attachments": ok["attachments"]}), "`type`"),
            (json!({"type": "message"}), "attachments"),
            (json!({"type": "message", "attachments": []}), "attachments"),
            (
                json!({"type": "message", "attachments": [{"contentType": "text/plain", "contentUrl": null, "content": card()}]}),
                "contentType",
            ),
            (
                json!({"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card()}]}),
                "contentUrl",
            ),
            (
                json!({"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": "", "content": card()}]}),
                "contentUrl",
            ),
            (
                json!({"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": null, "content": "card"}]}),
                "content",
            ),
            (
                message(json!({"type": "MessageCard", "version": "1.4"})),
                "AdaptiveCard",
            ),
            (message(json!({"type": "AdaptiveCard"})), "version"),
            (
                message(json!({"type": "AdaptiveCard", "version": "1.6"})),
                "newer than 1.5",
            ),
            (
                message(json!({"type": "AdaptiveCard", "version": "2.0"})),
                "newer than 1.5",
            ),
            (
                message(json!({"type": "AdaptiveCard", "version": "1.x"})),
                "major.minor",
            ),
            (
                message(json!({"type": "AdaptiveCard", "version": "1.5",
                    "actions": [{"type": "Action.Submit", "title": "Ack"}]})),
                "Action.Submit",
            ),
            (
                message(json!({"type": "AdaptiveCard", "version": "1.5", "body": [
                    {"type": "ActionSet", "actions": [{"type": "Action.Execute", "verb": "x"}]}]})),
                "Action.Execute",
            ),
            (
                message(json!({"type": "AdaptiveCard", "version": "1.5", "body": [
                    {"type": "Container", "items": [], "selectAction": {"type": "Action.ShowCard"}}]})),
                "Action.ShowCard",
            ),
        ];
        for (body, expected) in cases {
            let err = check(&bytes(&body)).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
        assert!(check(b"not json").unwrap_err().contains("not JSON"));
        // 1.0 to 1.5 and nested OpenUrl actions are fine
        for v in ["1.0", "1.2", "1.5"] {
            let mut c = card();
            c["version"] = json!(v);
            c["body"] = json!([{"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "url": "https://x"}]}]);
            assert_eq!(check(&bytes(&message(c))), Ok(()), "{v}");
        }
        // a text that merely says Action.Submit is not an action
        let mut c = card();
        c["body"] = json!([{"type": "TextBlock", "text": "Action.Submit"}]);
        assert_eq!(check(&bytes(&message(c))), Ok(()));
    }

    #[test]
    fn check_enforces_the_size_ceiling_in_bytes() {
        let padded = |n: usize| {
            let mut c = card();
            c["body"] = json!([{"type": "TextBlock", "text": "é".repeat(n)}]);
            bytes(&message(c))
        };
        let base = padded(0).len();
        // "é" is two bytes: the limit counts bytes, not characters
        let fits = padded((MAX_BODY_BYTES - base) / 2);
        assert!(fits.len() <= MAX_BODY_BYTES);
        assert_eq!(check(&fits), Ok(()));
        let over = padded((MAX_BODY_BYTES - base) / 2 + 1);
        assert!(over.len() > MAX_BODY_BYTES);
        assert!(check(&over).unwrap_err().contains("20480 bytes"));
        assert_eq!(MAX_BODY_BYTES, 20_480);
    }

    fn reply(status: u16, body: &str, retry_after: Option<u64>) -> HttpReply {
        HttpReply {
            target: "https://prod-00.westeurope.logic.azure.com:443".to_owned(),
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body_text: body.to_owned(),
        }
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(&reply(202, "", None)),
            SendOutcome::Delivered { status: 202 }
        );
        assert_eq!(
            classify(&reply(200, "", None)),
            SendOutcome::Delivered { status: 200 }
        );
        let mismatch = classify(&reply(
            400,
            r#"{"error":{"code":"TriggerInputSchemaMismatch","message":"The input body for trigger 'manual' of type 'Request' did not match its schema definition."}}"#,
            None,
        ));
        let SendOutcome::Failed { status, error } = mismatch else {
            panic!("{mismatch:?}")
        };
        assert_eq!(status, Some(400));
        assert!(
            error.starts_with(
                "https://prod-00.westeurope.logic.azure.com:443: HTTP 400 Bad Request: TriggerInputSchemaMismatch: The input body"
            ),
            "{error}"
        );
        for code in [401, 403] {
            let out = classify(&reply(code, "", None));
            assert!(matches!(out, SendOutcome::Failed { .. }));
            assert!(out.error().unwrap().contains("choose Anyone"), "{out:?}");
        }
        assert_eq!(classify(&reply(404, "", None)), SendOutcome::Gone);
        assert_eq!(classify(&reply(410, "", None)), SendOutcome::Gone);
        for code in [408, 429, 500, 502, 503] {
            let out = classify(&reply(code, "", Some(7)));
            assert_eq!(
                out,
                SendOutcome::Retry {
                    status: Some(code),
                    retry_after: Some(Duration::from_secs(7)),
                    error: reply(code, "", None).describe(),
                }
            );
        }
        let redirect = classify(&reply(302, "", None));
        assert!(
            redirect
                .error()
                .unwrap()
                .contains("redirects are not followed")
        );
        assert!(matches!(
            classify(&reply(413, "too big", None)),
            SendOutcome::Failed {
                status: Some(413),
                ..
            }
        ));
    }

    #[tokio::test]
    async fn an_invalid_body_is_not_sent() {
        let sender = WebhookSender::new(Duration::from_secs(1)).unwrap();
        // nothing listens on port 9 of TEST-NET-1 either way; the check
        // fails first
        let target = PlainTarget::new(
            "https://192.0.2.1:9/workflows/x/triggers/manual/paths/invoke?sig=SECRETSIGNATURE123456"
                .parse()
                .unwrap(),
        );
        let out = send(&sender, &target, b"{}", 0).await;
        let error = out.error().unwrap();
        assert!(
            error.starts_with("https://192.0.2.1:9: not sent: "),
            "{error}"
        );
        assert!(!error.contains("SECRETSIGNATURE"));
        assert_eq!(out.status(), None);
    }
}
