//! Slack incoming webhooks with Block Kit.
//!
//! # Wire facts (`integrations.md` §5)
//!
//! - **URL** (Doc): `https://hooks.slack.com/services/T…/B…/<secret>`; the
//!   URL is the credential, so it is a secret, never logged nor put in an
//!   error. The channel is fixed at install (app webhooks ignore
//!   `channel`, `username`, `icon_*`).
//! - **Body** (Doc): JSON with `text` (the notification fallback; `no_text`
//!   when it is missing and there are no blocks), `blocks`, and optionally
//!   `mrkdwn`, `thread_ts`, `unfurl_links`, `unfurl_media`.
//! - **Answers:** `200` with the plain-text body `ok` (Doc); errors are a
//!   4xx with a plain-text error name: `400` `invalid_payload` (Doc),
//!   `invalid_blocks` / `invalid_blocks_format` (Observed), `no_text`,
//!   `too_many_attachments`; `403` `action_prohibited`,
//!   `posting_to_general_channel_denied` (Doc), `team_disabled`,
//!   `invalid_token`; `404` `no_service`, `no_service_id`,
//!   `channel_not_found`, `user_not_found` (Doc), `no_active_hooks`
//!   (Observed); `410` `channel_is_archived` (Observed); `429` with
//!   `Retry-After`; `5xx`.
//! - **Rate** (Doc): 1 message per second per webhook, short bursts
//!   tolerated: [`MIN_INTERVAL`] for the worker to pace with.
//! - **Block Kit limits** (Doc): 50 blocks; `header` text `plain_text` of
//!   at most 150 characters; `section.text` 1 to 3000; `section.fields` at
//!   most 10, each at most 2000; `context.elements` at most 10;
//!   `actions.elements` at most 25; `block_id` (unique in the message),
//!   `action_id` at most 255;
//!   `image.alt_text` at most 2000. The top-level `text` should stay within
//!   4000 characters (chat.postMessage guidance; Slack truncates near
//!   40,000). [`check`] enforces these, counting characters, not bytes.
//! - **Formatting:** mrkdwn needs `&`, `<`, `>` escaped; `<!channel>`,
//!   `<!here>`, `<@U…>` are mentions, which [`escape`] defuses in
//!   third-party text.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::webhook::{HttpReply, PlainTarget, SendOutcome, WebhookSender};

/// The pace of one webhook: 1 message per second (Slack tolerates short
/// bursts, but a worker should not count on them).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Blocks per message.
pub const MAX_BLOCKS: usize = 50;
/// Characters of a `header` block's text.
pub const MAX_HEADER_CHARS: usize = 150;
/// Characters of a `section` block's text.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Items of a `section` block's `fields`.
pub const MAX_SECTION_FIELDS: usize = 10;
/// Characters of one `section` field.
pub const MAX_FIELD_CHARS: usize = 2000;
/// Elements of a `context` block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Elements of an `actions` block.
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
/// Characters of a `block_id` or `action_id`.
pub const MAX_ID_CHARS: usize = 255;
/// Characters of an image's `alt_text`.
pub const MAX_ALT_TEXT_CHARS: usize = 2000;
/// Characters of the top-level `text` we send.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Escapes text for mrkdwn (and `plain_text`, where it is harmless):
/// `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`. This also defuses
/// `<!channel>`, `<!here>`, `<@U…>` mentions and `<url|label>` links in
/// third-party text such as Message Center bodies.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

/// Whether `body` may be sent: a JSON object with a non-empty top-level
/// `text` string of at most [`MAX_TEXT_CHARS`] characters (the
/// notification fallback; Slack needs it or blocks, we always send it),
/// and `blocks`, when present, an array within the Block Kit limits listed
/// in the module documentation. Lengths are in characters. The error says
/// what is wrong.
pub fn check(body: &[u8]) -> Result<(), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the Slack message is not JSON: {e}"))?;
    let Some(message) = value.as_object() else {
        return Err("the Slack message is not a JSON object".to_owned());
    };
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .ok_or("the Slack message needs a top-level `text` string (the notification text)")?;
    let chars = text.chars().count();
    if chars == 0 {
        return Err("the Slack message's `text` is empty".to_owned());
    }
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "the Slack message's `text` has {chars} characters, over {MAX_TEXT_CHARS}"
        ));
    }
    let Some(blocks) = message.get("blocks") else {
        return Ok(());
    };
    let blocks = blocks.as_array().ok_or("`blocks` must be an array")?;
    if blocks.len() > MAX_BLOCKS {
        return Err(format!(
            "{} blocks, over Slack's {MAX_BLOCKS}",
            blocks.len()
        ));
    }
    let mut block_ids = std::collections::HashSet::new();
    for (i, block) in blocks.iter().enumerate() {
        check_block(block).map_err(|e| format!("block {i}: {e}"))?;
        if let Some(id) = block.get("block_id").and_then(Value::as_str)
            && !block_ids.insert(id)
        {
            return Err(format!("block {i}: `block_id` {id:?} is used twice"));
        }
    }
    Ok(())
}

fn chars_of(value: Option<&Value>) -> Option<usize> {
    value.and_then(Value::as_str).map(|s| s.chars().count())
}

/// A text object: `{"type": "plain_text" | "mrkdwn", "text": …}`; its
/// length in characters.
fn text_object(value: Option<&Value>, what: &str, plain_only: bool) -> Result<usize, String> {
    let object = value
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{what} must be a text object"))?;
    match object.get("type").and_then(Value::as_str) {
        Some("plain_text") => {}
        Some("mrkdwn") if !plain_only => {}
        _ if plain_only => return Err(format!("{what} must be plain_text")),
        _ => return Err(format!("{what} must be plain_text or mrkdwn")),
    }
    chars_of(object.get("text")).ok_or_else(|| format!("{what} has no `text` string"))
}

fn check_block(block: &Value) -> Result<(), String> {
    let block = block.as_object().ok_or("not an object")?;
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .ok_or("no `type`")?;
    check_ids(block)?;
    match kind {
        "header" => {
            let n = text_object(block.get("text"), "header text", true)?;
            if n == 0 || n > MAX_HEADER_CHARS {
                return Err(format!(
                    "header text has {n} characters, not 1 to {MAX_HEADER_CHARS}"
                ));
            }
        }
        "section" => check_section(block)?,
        "context" => {
            let elements = array(block, "elements")?;
            if elements.len() > MAX_CONTEXT_ELEMENTS {
                return Err(format!(
                    "context has {} elements, over {MAX_CONTEXT_ELEMENTS}",
                    elements.len()
                ));
            }
            elements.iter().try_for_each(check_element)?;
        }
        "actions" => {
            let elements = array(block, "elements")?;
            if elements.len() > MAX_ACTIONS_ELEMENTS {
                return Err(format!(
                    "actions has {} elements, over {MAX_ACTIONS_ELEMENTS}",
                    elements.len()
                ));
            }
            elements.iter().try_for_each(check_element)?;
        }
        "image" => check_alt_text(block)?,
        _ => {}
    }
    Ok(())
}

fn check_section(block: &Map<String, Value>) -> Result<(), String> {
    let text = block.get("text");
    let fields = block.get("fields");
    if text.is_none() && fields.is_none() {
        return Err("a section needs `text` or `fields`".to_owned());
    }
    if text.is_some() {
        let n = text_object(text, "section text", false)?;
        if n == 0 || n > MAX_SECTION_CHARS {
            return Err(format!(
                "section text has {n} characters, not 1 to {MAX_SECTION_CHARS}"
            ));
        }
    }
    if fields.is_some() {
        let fields = array(block, "fields")?;
        if fields.len() > MAX_SECTION_FIELDS {
            return Err(format!(
                "section has {} fields, over {MAX_SECTION_FIELDS}",
                fields.len()
            ));
        }
        for (i, field) in fields.iter().enumerate() {
            let n = text_object(Some(field), &format!("field {i}"), false)?;
            if n > MAX_FIELD_CHARS {
                return Err(format!(
                    "field {i} has {n} characters, over {MAX_FIELD_CHARS}"
                ));
            }
        }
    }
    if let Some(accessory) = block.get("accessory") {
        check_element(accessory)?;
    }
    Ok(())
}

fn array<'a>(block: &'a Map<String, Value>, key: &str) -> Result<&'a Vec<Value>, String> {
    block
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{key}` must be an array"))
}

fn check_ids(object: &Map<String, Value>) -> Result<(), String> {
    for key in ["block_id", "action_id"] {
        if let Some(n) = chars_of(object.get(key))
            && n > MAX_ID_CHARS
        {
            return Err(format!("`{key}` has {n} characters, over {MAX_ID_CHARS}"));
        }
    }
    Ok(())
}

fn check_alt_text(object: &Map<String, Value>) -> Result<(), String> {
    if let Some(n) = chars_of(object.get("alt_text"))
        && n > MAX_ALT_TEXT_CHARS
    {
        return Err(format!(
            "`alt_text` has {n} characters, over {MAX_ALT_TEXT_CHARS}"
        ));
    }
    Ok(())
}

/// An element of `context`, `actions` or a section's `accessory`.
fn check_element(element: &Value) -> Result<(), String> {
    let element = element.as_object().ok_or("an element is not an object")?;
    check_ids(element)?;
    check_alt_text(element)
}

/// Check `body` with [`check`] (a refusal is [`SendOutcome::Failed`]
/// without a request), POST it to the webhook `target`, and classify:
///
/// - `2xx`: [`SendOutcome::Delivered`] (Slack answers `200` `ok`; another
///   `2xx` body is logged but still counts as delivered, as the message may
///   well have been posted and a retry would duplicate it);
/// - `400` (`invalid_payload`, `invalid_blocks`, `no_text`, …) and `403`
///   (`action_prohibited`, `invalid_token`, …): [`SendOutcome::Failed`]
///   with the error name;
/// - `404` (`no_service`, `channel_not_found`, `no_active_hooks`, …) and
///   `410` (`channel_is_archived`): [`SendOutcome::Gone`];
/// - `408`, `429`, `5xx`, timeouts, connection failures:
///   [`SendOutcome::Retry`], not before the `Retry-After`;
/// - `3xx` (never followed), other `4xx`, a refused target:
///   [`SendOutcome::Failed`].
///
/// The URL is in no outcome and no log: the target shows as
/// `scheme://host[:port]` only.
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
        Ok(reply) => {
            if (200..300).contains(&reply.status) && reply.body_text != "ok" {
                tracing::warn!(
                    target: "changedesk_notify",
                    %label,
                    status = reply.status,
                    body = %reply.body_text,
                    "Slack answered success without `ok`"
                );
            }
            if matches!(reply.status, 404 | 410) {
                tracing::info!(
                    target: "changedesk_notify",
                    %label,
                    status = reply.status,
                    error = %reply.body_text,
                    "Slack webhook gone"
                );
            }
            classify(&reply)
        }
        Err(outcome) => outcome,
    };
    match &outcome {
        SendOutcome::Delivered { status } => {
            tracing::debug!(target: "changedesk_notify", %label, status, "Slack message delivered");
        }
        SendOutcome::Gone => {}
        SendOutcome::Retry { error, .. } | SendOutcome::Failed { error, .. } => {
            tracing::debug!(target: "changedesk_notify", %label, %error, "Slack message not delivered");
        }
    }
    outcome
}

/// Classifies a Slack webhook answer as [`send`] does (for a caller that
/// posted with [`WebhookSender::post_json`] itself, e.g. a connection test).
pub fn classify(reply: &HttpReply) -> SendOutcome {
    let status = reply.status;
    match status {
        200..=299 => SendOutcome::Delivered { status },
        404 | 410 => SendOutcome::Gone,
        408 | 429 | 500..=599 => SendOutcome::Retry {
            status: Some(status),
            retry_after: reply.retry_after,
            error: reply.describe(),
        },
        _ => SendOutcome::Failed {
            status: Some(status),
            error: reply.describe(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    fn good() -> Value {
        json!({
            "text": "MC123456 needs action by 2026-03-31",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "MC123456: Exchange retires legacy auth"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Act by:* 2026-03-31\n*Owner:* Ada"},
                 "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"},
                               "url": "https://changedesk.example/changes/42"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "changedesk"}]},
                {"type": "divider"}
            ]
        })
    }

    #[test]
    fn escape_defuses_markup_and_mentions() {
        assert_eq!(escape("a & b < c > d"), "a &amp; b &lt; c &gt; d");
        assert_eq!(escape("<!channel> hi"), "&lt;!channel&gt; hi");
        assert_eq!(escape("<!here>"), "&lt;!here&gt;");
        assert_eq!(escape("ping <@U024BE7LH>"), "ping &lt;@U024BE7LH&gt;");
        assert_eq!(
            escape("<https://evil.example|click>"),
            "&lt;https://evil.example|click&gt;"
        );
        // already-escaped text is escaped again (shown literally)
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape("Größe ✓ 日本"), "Größe ✓ 日本");
        let escaped = escape("<!channel> <!here> <@U1> <!subteam^S1>");
        assert!(!escaped.contains('<') && !escaped.contains('>'));
    }

    #[test]
    fn check_accepts_the_reference_message() {
        assert_eq!(check(&bytes(&good())), Ok(()));
        assert_eq!(check(br#"{"text":"plain"}"#), Ok(()));
    }

    #[test]
    fn check_enforces_the_limits_in_characters() {
        let with_block = |block: Value| json!({"text": "t", "blocks": [block]});
        let header = |n: usize| {
            with_block(
                json!({"type": "header", "text": {"type": "plain_text", "text": "é".repeat(n)}}),
            )
        };
        let section = |n: usize| {
            with_block(
                json!({"type": "section", "text": {"type": "mrkdwn", "text": "é".repeat(n)}}),
            )
        };
        let fields = |count: usize, n: usize| {
            let f: Vec<Value> = (0..count)
                .map(|_| json!({"type": "mrkdwn", "text": "ü".repeat(n)}))
                .collect();
            with_block(json!({"type": "section", "fields": f}))
        };
        let elements = |kind: &str, count: usize| {
            let e: Vec<Value> = (0..count)
                .map(|_| json!({"type": "mrkdwn", "text": "x"}))
                .collect();
            with_block(json!({"type": kind, "elements": e}))
        };
        let text = |n: usize| json!({"text": "ß".repeat(n)});
        let blocks = |count: usize| {
            let b: Vec<Value> = (0..count).map(|_| json!({"type": "divider"})).collect();
            json!({"text": "t", "blocks": b})
        };
        // at the limit (multi-byte characters: counted as one each)
        for ok in [
            header(150),
            section(3000),
            section(1),
            fields(10, 2000),
            elements("context", 10),
            elements("actions", 25),
            text(4000),
            blocks(50),
        ] {
            assert_eq!(check(&bytes(&ok)), Ok(()), "{ok}");
        }
        for (bad, expected) in [
            (header(151), "header text has 151"),
            (header(0), "header text has 0"),
            (section(3001), "section text has 3001"),
            (section(0), "section text has 0"),
            (fields(11, 1), "11 fields"),
            (fields(2, 2001), "field 0 has 2001"),
            (elements("context", 11), "context has 11"),
            (elements("actions", 26), "actions has 26"),
            (text(4001), "4001 characters"),
            (text(0), "empty"),
            (blocks(51), "51 blocks"),
            (json!({"blocks": []}), "top-level `text`"),
            (json!({"text": 5}), "top-level `text`"),
            (json!({"text": "t", "blocks": {}}), "must be an array"),
            (with_block(json!({"text": "x"})), "no `type`"),
            (with_block(json!({"type": "section"})), "`text` or `fields`"),
            (
                with_block(json!({"type": "header", "text": {"type": "mrkdwn", "text": "x"}})),
                "plain_text",
            ),
            (
                json!({"text": "t", "blocks": [
                    {"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}]}),
                "used twice",
            ),
            (
                with_block(json!({"type": "divider", "block_id": "b".repeat(256)})),
                "`block_id` has 256",
            ),
            (
                with_block(
                    json!({"type": "actions", "elements": [{"type": "button", "action_id": "a".repeat(256)}]}),
                ),
                "`action_id` has 256",
            ),
            (
                with_block(
                    json!({"type": "image", "image_url": "https://x", "alt_text": "a".repeat(2001)}),
                ),
                "`alt_text` has 2001",
            ),
        ] {
            let err = check(&bytes(&bad)).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
        assert!(check(b"[]").unwrap_err().contains("not a JSON object"));
        assert!(check(b"{").unwrap_err().contains("not JSON"));
    }

    fn reply(status: u16, body: &str, retry_after: Option<u64>) -> HttpReply {
        HttpReply {
            target: "https://hooks.slack.com".to_owned(),
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body_text: body.to_owned(),
        }
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(&reply(200, "ok", None)),
            SendOutcome::Delivered { status: 200 }
        );
        for name in [
            "invalid_payload",
            "invalid_blocks",
            "invalid_blocks_format",
            "no_text",
            "too_many_attachments",
        ] {
            assert_eq!(
                classify(&reply(400, name, None)),
                SendOutcome::Failed {
                    status: Some(400),
                    error: format!("https://hooks.slack.com: HTTP 400 Bad Request: {name}"),
                }
            );
        }
        for name in [
            "action_prohibited",
            "posting_to_general_channel_denied",
            "team_disabled",
            "invalid_token",
        ] {
            let out = classify(&reply(403, name, None));
            assert_eq!(out.status(), Some(403));
            assert!(out.error().unwrap().ends_with(name));
            assert!(matches!(out, SendOutcome::Failed { .. }));
        }
        for name in [
            "no_service",
            "no_service_id",
            "channel_not_found",
            "user_not_found",
            "no_active_hooks",
        ] {
            assert_eq!(classify(&reply(404, name, None)), SendOutcome::Gone);
        }
        assert_eq!(
            classify(&reply(410, "channel_is_archived", None)),
            SendOutcome::Gone
        );
        for code in [429, 500, 503] {
            let out = classify(&reply(code, "rate_limited", Some(30)));
            assert!(
                matches!(out, SendOutcome::Retry { status: Some(s), retry_after: Some(r), .. }
                    if s == code && r == Duration::from_secs(30)),
                "{out:?}"
            );
        }
        assert!(matches!(
            classify(&reply(301, "", None)),
            SendOutcome::Failed {
                status: Some(301),
                ..
            }
        ));
    }
}
