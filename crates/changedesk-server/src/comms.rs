//! Communications of changes (issue 21, item 4), without HTTP: the signed
//! links every message carries, the first draft made from a post, the
//! message rendered for its channel, and their measure for the reports.
//!
//! A message carries two links to changedesk, both signed ([`token`]: the
//! communication's id and, for an e-mail, its recipient's address, sealed
//! with the secret key, context `comms`): **Read more** (`/c/{token}`, the
//! communication's page) and **Got it** (`/c/{token}/ack`). Mail scanners
//! such as Safe Links open every link in a message, so following either only
//! shows a page; the acknowledgement is the `POST` of that page's button.
//! An e-mail goes to each recipient alone with their own links (the
//! delivery keeps placeholders the outbox replaces per recipient), so the
//! acknowledger is known; a Teams or Slack message has one pair of links,
//! and its page asks who is acknowledging.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use changedesk_core::Timestamp;
use changedesk_core::comms::{CommsFacts, CommsSummary, CommsText};
use changedesk_core::notify::ChannelKind;
use changedesk_notify::render::{CommsMessage, DraftContext, Templates};
use changedesk_secrets::Keyring;
use changedesk_store::{CommsRow, PostHit};
use secrecy::ExposeSecret as _;

use crate::outbox::compose::StoredEmail;

/// What a stored e-mail prints where a recipient's own "Got it" link goes.
pub const ACK_PLACEHOLDER: &str = "CHANGEDESK0ACK0LINK";
/// … and their own "Read more" link.
pub const READ_PLACEHOLDER: &str = "CHANGEDESK0READ0LINK";

const CONTEXT: &str = "comms";

/// The longest token accepted (a real one is about 150 characters).
const MAX_TOKEN: usize = 1024;

/// The token of communication `id`, for `who` (an e-mail's recipient) or
/// for anyone who has the message (`None`).
pub fn token(ring: &Keyring, id: i64, who: Option<&str>) -> Result<String, String> {
    let who = who
        .map(|w| w.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let sealed = ring
        .seal(&format!("{id}\n{who}"), CONTEXT)
        .map_err(|e| e.to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// The communication and recipient of a token, if it is one of ours.
pub fn open(ring: &Keyring, token: &str) -> Option<(i64, Option<String>)> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let sealed = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim()).ok()?).ok()?;
    let text = ring.open(&sealed, CONTEXT).ok()?;
    let (id, who) = text.expose_secret().split_once('\n')?;
    Some((id.parse().ok()?, (!who.is_empty()).then(|| who.to_string())))
}

/// The communication's page (Read more).
pub fn read_url(base: &str, token: &str) -> String {
    format!("{}/c/{token}", base.trim_end_matches('/'))
}

/// The acknowledgement's page (Got it).
pub fn ack_url(base: &str, token: &str) -> String {
    format!("{}/c/{token}/ack", base.trim_end_matches('/'))
}

/// The outbox's message id of communication `id`'s delivery.
pub fn message_id(id: i64) -> String {
    format!("msg_m{id}")
}

/// Which communication a delivery's message id is, if it is one.
pub fn of_message(message_id: &str) -> Option<i64> {
    message_id.strip_prefix("msg_m")?.parse().ok()
}

/// The (Got it, Read more) links of communication `id` for `who` under
/// `base`: what the outbox puts in place of the placeholders.
pub fn links(ring: &Keyring, base: &str, id: i64, who: Option<&str>) -> Option<(String, String)> {
    let t = token(ring, id, who).ok()?;
    Some((ack_url(base, &t), read_url(base, &t)))
}

/// The first draft of a communication of `post` for `audience` (its name,
/// or empty), from the templates `comms/draft_*` (overridable).
pub fn draft(templates: &Templates, post: &PostHit, audience: &str) -> Result<CommsText, String> {
    let s = &post.summary;
    let day = |t: Option<Timestamp>| {
        t.map(|t| t.as_datetime().date().to_string())
            .unwrap_or_default()
    };
    let ctx = DraftContext {
        post_id: s.id.clone(),
        title: s.title.clone(),
        services: s.services.clone(),
        summary: s.preview.summary.clone(),
        prepare: s.preview.prepare.clone(),
        rollout: post
            .timeline
            .phases
            .iter()
            .map(|p| format!("{}: {}", p.name(), p.when()))
            .collect(),
        start: day(s.rollout_start.or(s.start)),
        act_by: day(s.act_by),
        audience: audience.to_string(),
    };
    let (subject, body) = templates.comms_draft(&ctx).map_err(|e| e.to_string())?;
    // a template may write anything: what it made is checked as a person's
    CommsText::checked(&subject, &body)
}

/// The delivery's body of `c` on a channel of `kind`, with the links of
/// `links` (Teams, Slack: one pair for everyone) or, for an e-mail to
/// `recipients`, the placeholders each recipient's message replaces; and
/// how many people it goes to.
pub fn message(
    templates: &Templates,
    kind: ChannelKind,
    c: &CommsRow,
    recipients: &[String],
    links: (String, String),
) -> Result<(String, u64), String> {
    let (ack_url, read_url) = links;
    let m = CommsMessage {
        subject: c.text.subject.clone(),
        body: c.text.body.clone(),
        paragraphs: c.text.paragraphs(),
        ack_url,
        read_url,
    };
    match kind {
        ChannelKind::Email => {
            if recipients.is_empty() {
                return Err("the e-mail channel has no recipients".into());
            }
            let m = CommsMessage {
                ack_url: ACK_PLACEHOLDER.into(),
                read_url: READ_PLACEHOLDER.into(),
                ..m
            };
            let mail = templates.comms_email(&m).map_err(|e| e.to_string())?;
            let body = serde_json::to_string(&StoredEmail {
                to: recipients.to_vec(),
                subject: mail.subject,
                text: mail.text,
                html: mail.html,
                comms: Some(c.id),
            })
            .map_err(|e| e.to_string())?;
            Ok((body, c.audience.size_with(recipients.len())))
        }
        ChannelKind::Teams => {
            let card = templates.comms_teams(&m).map_err(|e| e.to_string())?;
            let body = changedesk_notify::teams::message(card).to_string();
            changedesk_notify::teams::check(body.as_bytes())
                .map_err(|e| format!("the message is too big for Teams: {e}"))?;
            let size = c
                .audience
                .size
                .ok_or("say how many people the Teams channel reaches (the audience's size)")?;
            Ok((body, size))
        }
        ChannelKind::Slack => {
            let msg = templates.comms_slack(&m).map_err(|e| e.to_string())?;
            let body = msg.to_string();
            changedesk_notify::slack::check(body.as_bytes())
                .map_err(|e| format!("the message is too big for Slack: {e}"))?;
            let size = c
                .audience
                .size
                .ok_or("say how many people the Slack channel reaches (the audience's size)")?;
            Ok((body, size))
        }
        other => Err(format!(
            "a communication goes through an e-mail, Teams or Slack channel, not {}",
            other.as_str()
        )),
    }
}

/// The comms lead among `users`: the one enabled user with the `comms`
/// role, if exactly one has it.
pub fn lead(users: &[changedesk_store::User]) -> Option<String> {
    let mut leads = users
        .iter()
        .filter(|u| u.role == changedesk_core::access::Role::Comms && !u.disabled);
    match (leads.next(), leads.next()) {
        (Some(one), None) => Some(one.name.clone()),
        _ => None,
    }
}

/// The communications of `rows` sent in `[from, to)`, measured.
pub fn summary(rows: &[CommsRow], from: Timestamp, to: Timestamp) -> CommsSummary {
    let facts: Vec<CommsFacts> = rows.iter().map(CommsRow::facts).collect();
    changedesk_core::comms::summarize(&facts, from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_with_their_key_and_unaltered() {
        let ring = Keyring::new(changedesk_secrets::Key::generate().unwrap().0, []);
        let t = token(&ring, 7, Some(" Ana@Contoso.com ")).unwrap();
        assert_eq!(open(&ring, &t), Some((7, Some("ana@contoso.com".into()))));
        let anyone = token(&ring, 7, None).unwrap();
        assert_eq!(open(&ring, &anyone), Some((7, None)));
        let other = Keyring::new(changedesk_secrets::Key::generate().unwrap().0, []);
        assert_eq!(open(&other, &t), None);
        // an unsubscribe token is not a communication's (another context)
        let unsub = crate::outbox::unsubscribe::token(&ring, 7, "ana@contoso.com").unwrap();
        assert_eq!(open(&ring, &unsub), None);
        for junk in ["", "x", "日本語", &"A".repeat(5000)] {
            assert_eq!(open(&ring, junk), None);
        }
        assert_eq!(of_message(&message_id(42)), Some(42));
        assert_eq!(of_message("msg_e1_c2"), None);
        assert_eq!(
            ack_url("https://cd.example/", "abc"),
            "https://cd.example/c/abc/ack"
        );
    }
}
