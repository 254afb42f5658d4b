//! Composing a batching channel's message (e-mail, Teams, Slack) from the
//! events gathered in its window, within the channel's limits.
//!
//! A message holds at most [`max_entries`] events, and fewer when the
//! rendered body is over the channel's size or Block Kit limits (the
//! batch is halved until it fits; what does not fit waits for the next
//! message). A single event that cannot fit is sent as a minimal message
//! naming the post, so nothing is ever silently dropped.

use changedesk_core::notify::ChannelKind;
use changedesk_notify::render::{Entry, MessageContext, RenderedEmail, Templates};
use serde::{Deserialize, Serialize};

/// The most events in one message of `kind`.
pub fn max_entries(kind: ChannelKind) -> usize {
    match kind {
        ChannelKind::Email => 100,
        ChannelKind::Teams => 30,
        // the template shows 45 sections (Block Kit: 50 blocks)
        ChannelKind::Slack => 45,
        ChannelKind::Webhook
        | ChannelKind::ServiceNow
        | ChannelKind::Jira
        | ChannelKind::Glpi
        | ChannelKind::Planner => 1,
    }
}

/// A composed e-mail, as the delivery keeps it: sent as is on every
/// attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The communication it is (issue 21): each recipient's message gets
    /// their own signed links in place of `comms::ACK_PLACEHOLDER` and
    /// `comms::READ_PLACEHOLDER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comms: Option<i64>,
}

/// Renders the message of `entries` for a channel of `kind`: the body to
/// store and how many of the entries it holds (the first `n`).
pub fn compose(
    templates: &Templates,
    kind: ChannelKind,
    entries: &[Entry],
    base: &MessageContext,
    recipients: &[String],
) -> Result<(String, usize), String> {
    let mut n = entries.len().min(max_entries(kind)).max(1);
    loop {
        let ctx = MessageContext {
            entries: entries.iter().take(n).cloned().collect(),
            ..base.clone()
        };
        match render(templates, kind, &ctx, recipients) {
            Ok(body) => return Ok((body, n.min(entries.len()))),
            Err(Render::TooBig(_)) if n > 1 => n = n.div_ceil(2).min(n - 1),
            Err(Render::TooBig(reason)) => {
                // one event over the limit: a minimal message naming it
                let minimal = MessageContext {
                    entries: entries
                        .iter()
                        .take(1)
                        .map(|e| Entry {
                            changes: Vec::new(),
                            reason: String::new(),
                            tenants: Vec::new(),
                            tenant_text: String::new(),
                            title: changedesk_core::text::clip_chars(&e.title, 200).to_string(),
                            ..e.clone()
                        })
                        .collect(),
                    ..base.clone()
                };
                return render(templates, kind, &minimal, recipients)
                    .map(|b| (b, 1))
                    .map_err(|_| format!("the message cannot be made small enough: {reason}"));
            }
            Err(Render::Failed(e)) => return Err(e),
        }
    }
}

enum Render {
    TooBig(String),
    Failed(String),
}

fn render(
    templates: &Templates,
    kind: ChannelKind,
    ctx: &MessageContext,
    recipients: &[String],
) -> Result<String, Render> {
    match kind {
        ChannelKind::Email => {
            let RenderedEmail {
                subject,
                text,
                html,
            } = templates
                .email(ctx)
                .map_err(|e| Render::Failed(e.to_string()))?;
            serde_json::to_string(&StoredEmail {
                to: recipients.to_vec(),
                subject,
                text,
                html,
                comms: None,
            })
            .map_err(|e| Render::Failed(e.to_string()))
        }
        ChannelKind::Teams => {
            let card = templates
                .teams_card(ctx)
                .map_err(|e| Render::Failed(e.to_string()))?;
            let body = changedesk_notify::teams::message(card).to_string();
            changedesk_notify::teams::check(body.as_bytes()).map_err(Render::TooBig)?;
            Ok(body)
        }
        ChannelKind::Slack => {
            let msg = templates
                .slack_message(ctx)
                .map_err(|e| Render::Failed(e.to_string()))?;
            let body = msg.to_string();
            changedesk_notify::slack::check(body.as_bytes()).map_err(Render::TooBig)?;
            Ok(body)
        }
        ChannelKind::Webhook => Err(Render::Failed("webhooks are not composed".into())),
        ChannelKind::ServiceNow | ChannelKind::Jira | ChannelKind::Glpi | ChannelKind::Planner => {
            Err(Render::Failed("connectors are not composed".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize, title_len: usize) -> Entry {
        Entry {
            kind: "post.routed".into(),
            headline: "Routed to collab".into(),
            post_id: format!("MC{i:06}"),
            title: "x".repeat(title_len),
            reason: "y".repeat(title_len),
            ..Default::default()
        }
    }

    #[test]
    fn a_teams_batch_shrinks_to_fit_and_a_huge_entry_still_goes() {
        let t = Templates::builtin();
        let entries: Vec<Entry> = (0..30).map(|i| entry(i, 1500)).collect();
        let (body, n) = compose(
            &t,
            ChannelKind::Teams,
            &entries,
            &MessageContext::default(),
            &[],
        )
        .unwrap();
        assert!((1..30).contains(&n), "{n}");
        assert!(body.len() <= changedesk_notify::teams::MAX_BODY_BYTES);
        let huge = vec![entry(1, 100_000)];
        let (body, n) = compose(
            &t,
            ChannelKind::Teams,
            &huge,
            &MessageContext::default(),
            &[],
        )
        .unwrap();
        assert_eq!(n, 1);
        assert!(body.contains("MC000001"));
    }

    #[test]
    fn slack_holds_at_most_45_and_email_carries_its_recipients() {
        let t = Templates::builtin();
        let entries: Vec<Entry> = (0..60).map(|i| entry(i, 10)).collect();
        let (_, n) = compose(
            &t,
            ChannelKind::Slack,
            &entries,
            &MessageContext::default(),
            &[],
        )
        .unwrap();
        assert_eq!(n, 45);
        let (body, n) = compose(
            &t,
            ChannelKind::Email,
            &entries,
            &MessageContext::default(),
            &["ops@contoso.com".to_string()],
        )
        .unwrap();
        assert_eq!(n, 60);
        let mail: StoredEmail = serde_json::from_str(&body).unwrap();
        assert_eq!(mail.to, vec!["ops@contoso.com".to_string()]);
        assert!(mail.subject.starts_with("[changedesk] 60 changes"));
    }
}
