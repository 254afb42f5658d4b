//! Messages from templates: every e-mail, Teams card and Slack message is
//! rendered by `minijinja` from templates shipped in the binary
//! (`templates/`), each overridable by a file of the same name in a
//! directory (`[notify] templates_dir`).
//!
//! | template | escaping | makes |
//! |---|---|---|
//! | `email/subject.txt.j2` | none (control characters removed after) | the subject line |
//! | `email/body.txt.j2` | none | the plain-text part |
//! | `email/body.html.j2` | HTML | the HTML part |
//! | `email/report_subject.txt.j2`, `email/report_body.txt.j2`, `email/report_body.html.j2` | none, none, HTML | a scheduled report (the executive report, the weekly status): [`Templates::report_email`] |
//! | `teams/card.json.j2` | JSON (each value printed as a JSON value) | the Adaptive Card |
//! | `slack/message.json.j2` | JSON; the `mrkdwn` filter escapes Slack's `& < >` | the Block Kit message |
//!
//! A template sees `entries` (one per event, see [`Entry`]), `count`,
//! `channel`, `public_url`, `unsubscribe_url`, `preferences_url` and
//! `digest` (`daily`, `weekly` or empty) and `review_of` (the owner of a
//! review, or empty).
//! Rendered JSON is parsed back, so a template cannot produce an invalid
//! body; the channel modules then check their size limits.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The templates, by name, as shipped.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "email/subject.txt.j2",
        include_str!("../templates/email/subject.txt.j2"),
    ),
    (
        "email/body.txt.j2",
        include_str!("../templates/email/body.txt.j2"),
    ),
    (
        "email/body.html.j2",
        include_str!("../templates/email/body.html.j2"),
    ),
    (
        "email/report_subject.txt.j2",
        include_str!("../templates/email/report_subject.txt.j2"),
    ),
    (
        "email/report_body.txt.j2",
        include_str!("../templates/email/report_body.txt.j2"),
    ),
    (
        "email/report_body.html.j2",
        include_str!("../templates/email/report_body.html.j2"),
    ),
    (
        "teams/card.json.j2",
        include_str!("../templates/teams/card.json.j2"),
    ),
    (
        "slack/message.json.j2",
        include_str!("../templates/slack/message.json.j2"),
    ),
    (
        "comms/draft_subject.txt.j2",
        include_str!("../templates/comms/draft_subject.txt.j2"),
    ),
    (
        "comms/draft_body.txt.j2",
        include_str!("../templates/comms/draft_body.txt.j2"),
    ),
    (
        "comms/email_body.txt.j2",
        include_str!("../templates/comms/email_body.txt.j2"),
    ),
    (
        "comms/email_body.html.j2",
        include_str!("../templates/comms/email_body.html.j2"),
    ),
    (
        "comms/teams_card.json.j2",
        include_str!("../templates/comms/teams_card.json.j2"),
    ),
    (
        "comms/slack_message.json.j2",
        include_str!("../templates/comms/slack_message.json.j2"),
    ),
];

/// The longest subject line, in characters.
const MAX_SUBJECT_CHARS: usize = 200;

/// A template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Reading the override directory failed.
    #[error("templates directory {dir}: {message}")]
    Dir {
        /// The directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// A template does not compile or does not render.
    #[error("template {name}: {message}")]
    Template {
        /// The template's name.
        name: String,
        /// The error, with its line.
        message: String,
    },
}

fn template_error(name: &str, e: &minijinja::Error) -> RenderError {
    let mut message = e.to_string();
    if let Some(line) = e.line() {
        message = format!("line {line}: {message}");
    }
    RenderError::Template {
        name: name.to_string(),
        message,
    }
}

/// One event of a message, flattened for templates from its webhook
/// payload (`changedesk_core::notify::payload`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// `post.routed`, …
    pub kind: String,
    /// What happened, in words (`Routed to collab`).
    pub headline: String,
    pub post_id: String,
    pub title: String,
    pub services: Vec<String>,
    pub category: String,
    pub severity: String,
    /// A Service Health incident's status (`serviceDegradation`, …).
    pub status: String,
    pub major: bool,
    /// `YYYY-MM-DD`, or empty.
    pub act_by: String,
    /// `YYYY-MM-DD`, or empty.
    pub start: String,
    /// The tenants this recipient may know of.
    pub tenants: Vec<String>,
    /// "contoso, fabrikam", or "300 tenants" for long lists.
    pub tenant_text: String,
    pub owner: String,
    pub changes: Vec<String>,
    pub reason: String,
    /// The post in changedesk (empty without a public URL).
    pub changedesk_url: String,
    /// The post in the Microsoft 365 admin center (empty for events
    /// without a post).
    pub admin_url: String,
}

fn str_of(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn day_of(v: &serde_json::Value, key: &str) -> String {
    // canonical timestamps start with the date
    str_of(v, key).chars().take(10).collect()
}

fn list_of(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether an event's `changes` name a date of the post: Graph's, or the
/// rollout timeline read from its body.
fn moved_dates(data: &serde_json::Value) -> bool {
    changedesk_core::diff::moves_a_date(&list_of(data, "changes"))
}

/// What changed, for people: each moved date as it moved (`Rollout
/// timeline: General availability: start late April 2026 → mid-May 2026`,
/// the event's `moves`), then the other fields by their labels.
fn readable_changes(data: &serde_json::Value) -> Vec<String> {
    let moves = list_of(data, "moves");
    let fields = list_of(data, "changes");
    let mut out = moves.clone();
    for f in &fields {
        let moved = changedesk_core::diff::DATE_FIELDS.contains(&f.as_str());
        // a date field said by its move, or by its label without one
        if !moved || moves.is_empty() {
            out.push(changedesk_core::diff::field_label(f).to_owned());
        }
    }
    out
}

impl Entry {
    /// The entry of one webhook payload (`{"type", "timestamp", "data"}`).
    /// Missing fields are empty.
    pub fn from_payload(payload: &serde_json::Value) -> Entry {
        let kind = str_of(payload, "type");
        let null = serde_json::Value::Null;
        let data = payload.get("data").unwrap_or(&null);
        let post = data.get("post").unwrap_or(&null);
        let incident = data.get("incident").unwrap_or(&null);
        let links = data.get("links").unwrap_or(&null);
        let tenants = list_of(data, "tenants");
        let count = data
            .get("tenant_count")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(tenants.len() as u64);
        let tenant_text = match tenants.len() {
            0 => String::new(),
            1..=5 => tenants.join(", "),
            _ => format!("{count} tenants"),
        };
        let owner = str_of(data, "owner");
        let reason = str_of(data, "reason");
        let target = str_of(data, "target");
        let headline = match kind.as_str() {
            "post.routed" if !owner.is_empty() => format!("Routed to {owner}"),
            "post.routed" => "New change".to_string(),
            "post.changed" if moved_dates(data) => "Date moved after triage".to_string(),
            "post.changed" => "Changed after triage".to_string(),
            "item.reopened" if moved_dates(data) => "Reopened: date moved".to_string(),
            "item.reopened" => "Reopened".to_string(),
            "rule.notify" if !target.is_empty() => format!("Rule notice for {target}"),
            "rule.notify" => "Rule notice".to_string(),
            "item.due_soon" => "Decision due soon".to_string(),
            "item.overdue" => "Overdue".to_string(),
            "item.missed" => "Missed its decision deadline".to_string(),
            "post.major" => "New major change".to_string(),
            "post.act_by_soon" => "New change: action needed soon".to_string(),
            "post.new_tenants" => format!("Now also for {tenant_text}"),
            "pilot.opened" => "Pilot: try this change in preview".to_string(),
            "incident.new" if str_of(incident, "classification") == "advisory" => {
                "New Service Health advisory".to_string()
            }
            "incident.new" => "New Service Health incident".to_string(),
            "incident.updated" => format!("Incident updated: {}", str_of(incident, "status")),
            "incident.resolved" => "Incident resolved".to_string(),
            "tenant.sync_failing" => format!("The sync of {} keeps failing", tenants.join(", ")),
            "tenant.sync_recovered" => format!("The sync of {} works again", tenants.join(", ")),
            "changedesk.test" => "Test message".to_string(),
            other => other.to_string(),
        };
        if incident.is_object() {
            return Entry {
                headline,
                post_id: str_of(incident, "id"),
                title: str_of(incident, "title"),
                services: vec![str_of(incident, "service")],
                category: str_of(incident, "classification"),
                severity: String::new(),
                status: str_of(incident, "status"),
                major: false,
                act_by: String::new(),
                start: day_of(incident, "start"),
                tenants,
                tenant_text,
                owner,
                changes: Vec::new(),
                reason: str_of(incident, "impact"),
                changedesk_url: str_of(links, "changedesk"),
                admin_url: str_of(links, "admin_center"),
                kind,
            };
        }
        Entry {
            headline,
            post_id: str_of(post, "id"),
            title: str_of(post, "title"),
            services: list_of(post, "services"),
            category: str_of(post, "category"),
            severity: str_of(post, "severity"),
            status: String::new(),
            major: post
                .get("major")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            act_by: day_of(post, "act_by"),
            start: day_of(post, "start"),
            tenants,
            tenant_text,
            owner,
            changes: readable_changes(data),
            reason,
            changedesk_url: str_of(links, "changedesk"),
            admin_url: str_of(links, "admin_center"),
            kind,
        }
    }
}

/// What one message is rendered from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageContext {
    pub entries: Vec<Entry>,
    /// The channel's name.
    pub channel: String,
    /// changedesk's address (`[server] public_url`), or empty.
    pub public_url: String,
    /// A signed link that unsubscribes the recipient, or empty.
    pub unsubscribe_url: String,
    /// The recipient's preferences, or empty.
    pub preferences_url: String,
    /// `daily` or `weekly` for a digest, else empty.
    pub digest: String,
    /// The owner whose review this is (their part of the agenda), else
    /// empty.
    pub review_of: String,
}

impl MessageContext {
    fn value(&self) -> minijinja::Value {
        let mut map: BTreeMap<&str, minijinja::Value> = BTreeMap::new();
        map.insert(
            "entries",
            minijinja::Value::from(minijinja::value::Serde(&self.entries)),
        );
        map.insert("count", self.entries.len().into());
        map.insert("channel", self.channel.clone().into());
        map.insert("public_url", self.public_url.clone().into());
        map.insert("unsubscribe_url", self.unsubscribe_url.clone().into());
        map.insert("preferences_url", self.preferences_url.clone().into());
        map.insert("digest", self.digest.clone().into());
        map.insert("review_of", self.review_of.clone().into());
        minijinja::Value::from(map)
    }
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Slack mrkdwn escaping ([`crate::slack::escape`]), a template filter.
fn mrkdwn(value: String) -> String {
    crate::slack::escape(&value)
}

/// Keeps at most `n` characters, ending with `…` when cut.
fn clip(value: String, n: usize) -> String {
    if value.chars().count() <= n {
        return value;
    }
    let mut out: String = value.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// The names taken from the override directory.
    overridden: Vec<String>,
}

impl Default for Templates {
    /// The templates shipped in the binary.
    fn default() -> Templates {
        Templates::builtin()
    }
}

impl Templates {
    /// The templates shipped in the binary.
    pub fn builtin() -> Templates {
        Templates::load(None).unwrap_or_else(|e| {
            // the shipped templates compile (a unit test proves it)
            unreachable!("a shipped template does not compile: {e}")
        })
    }

    /// The shipped templates, each replaced by the file of the same name
    /// (`email/subject.txt.j2`, …) under `dir` when there is one. Every
    /// template is compiled now: an error names the file and line. A file
    /// under `dir` with another name ending in `.j2` is an error (a typo
    /// would otherwise be ignored).
    pub fn with_overrides(dir: &Path) -> Result<Templates, RenderError> {
        Templates::load(Some(dir))
    }

    fn load(dir: Option<&Path>) -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_recursion_limit(50);
        env.add_filter("mrkdwn", mrkdwn);
        env.add_filter("clip", clip);
        let mut overridden = Vec::new();
        for (name, source) in BUILTIN {
            let mut text = (*source).to_string();
            if let Some(dir) = dir {
                let path = dir.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(t) => {
                        text = t;
                        overridden.push((*name).to_string());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(RenderError::Dir {
                            dir: dir.display().to_string(),
                            message: format!("{name}: {e}"),
                        });
                    }
                }
            }
            env.add_template_owned(*name, text)
                .map_err(|e| template_error(name, &e))?;
        }
        if let Some(dir) = dir {
            check_no_strangers(dir)?;
        }
        Ok(Templates { env, overridden })
    }

    /// The templates replaced from the override directory.
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    fn render(&self, name: &str, ctx: &MessageContext) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx.value()))
            .map_err(|e| template_error(name, &e))
    }

    /// The e-mail of `ctx`: a one-line subject (control characters
    /// removed, at most 200 characters), a text and an HTML part.
    pub fn email(&self, ctx: &MessageContext) -> Result<RenderedEmail, RenderError> {
        let subject = self.render("email/subject.txt.j2", ctx)?;
        let subject = one_line(&subject);
        Ok(RenderedEmail {
            subject: clip(subject, MAX_SUBJECT_CHARS),
            text: self.render("email/body.txt.j2", ctx)?,
            html: self.render("email/body.html.j2", ctx)?,
        })
    }

    /// A scheduled report's e-mail (the executive report or the weekly
    /// status) from `ctx`, whatever the caller serialises (the server's
    /// report with its figures as text): a one-line subject (control
    /// characters removed, at most 200 characters), a text and an HTML
    /// part (HTML-escaped).
    pub fn report_email(&self, ctx: &impl Serialize) -> Result<RenderedEmail, RenderError> {
        let value = minijinja::Value::from(minijinja::value::Serde(ctx));
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(value.clone()))
                .map_err(|e| template_error(name, &e))
        };
        let subject = one_line(&render("email/report_subject.txt.j2")?);
        Ok(RenderedEmail {
            subject: clip(subject, MAX_SUBJECT_CHARS),
            text: render("email/report_body.txt.j2")?,
            html: render("email/report_body.html.j2")?,
        })
    }

    /// The Adaptive Card of `ctx` (the card itself; `teams::message`
    /// wraps it), parsed to prove it is JSON.
    pub fn teams_card(&self, ctx: &MessageContext) -> Result<serde_json::Value, RenderError> {
        self.json("teams/card.json.j2", ctx)
    }

    /// The Slack message of `ctx` (`text` and `blocks`), parsed to prove
    /// it is JSON.
    pub fn slack_message(&self, ctx: &MessageContext) -> Result<serde_json::Value, RenderError> {
        self.json("slack/message.json.j2", ctx)
    }

    fn json(&self, name: &str, ctx: &MessageContext) -> Result<serde_json::Value, RenderError> {
        let text = self.render(name, ctx)?;
        serde_json::from_str(&text).map_err(|e| RenderError::Template {
            name: name.to_string(),
            message: format!("did not render JSON: {e}"),
        })
    }
}

/// What a communication's first draft is made from: its post (issue 21).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DraftContext {
    pub post_id: String,
    pub title: String,
    pub services: Vec<String>,
    /// What the post is about (its introduction), or empty.
    pub summary: String,
    /// What to do to prepare, or empty.
    pub prepare: String,
    /// The rollout's phases for people (`General availability: from
    /// mid-May 2026`), or none.
    pub rollout: Vec<String>,
    /// The rollout start as a day, or empty.
    pub start: String,
    /// The act-by day, or empty.
    pub act_by: String,
    /// Whom it is for (`All staff`), or empty.
    pub audience: String,
}

/// A communication as sent: its approved text and its two links.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommsMessage {
    pub subject: String,
    pub body: String,
    /// The body's paragraphs, each its lines.
    pub paragraphs: Vec<Vec<String>>,
    /// The "Got it" link (a recipient's own, or the placeholder each
    /// recipient's message replaces).
    pub ack_url: String,
    /// The explanation's link.
    pub read_url: String,
}

impl Templates {
    fn render_serde(&self, name: &str, ctx: &impl Serialize) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(ctx))))
            .map_err(|e| template_error(name, &e))
    }

    /// A communication's first draft from its post: a one-line subject (at
    /// most 200 characters) and its text.
    pub fn comms_draft(&self, ctx: &DraftContext) -> Result<(String, String), RenderError> {
        let subject = one_line(&self.render_serde("comms/draft_subject.txt.j2", ctx)?);
        let body = self.render_serde("comms/draft_body.txt.j2", ctx)?;
        Ok((clip(subject, MAX_SUBJECT_CHARS), body.trim().to_string()))
    }

    /// A communication as an e-mail.
    pub fn comms_email(&self, m: &CommsMessage) -> Result<RenderedEmail, RenderError> {
        Ok(RenderedEmail {
            subject: clip(one_line(&m.subject), MAX_SUBJECT_CHARS),
            text: self.render_serde("comms/email_body.txt.j2", m)?,
            html: self.render_serde("comms/email_body.html.j2", m)?,
        })
    }

    /// A communication as a Teams Adaptive Card (`teams::message` wraps
    /// it), parsed to prove it is JSON.
    pub fn comms_teams(&self, m: &CommsMessage) -> Result<serde_json::Value, RenderError> {
        self.json_serde("comms/teams_card.json.j2", m)
    }

    /// A communication as a Slack message, parsed to prove it is JSON.
    pub fn comms_slack(&self, m: &CommsMessage) -> Result<serde_json::Value, RenderError> {
        self.json_serde("comms/slack_message.json.j2", m)
    }

    fn json_serde(
        &self,
        name: &str,
        ctx: &impl Serialize,
    ) -> Result<serde_json::Value, RenderError> {
        let text = self.render_serde(name, ctx)?;
        serde_json::from_str(&text).map_err(|e| RenderError::Template {
            name: name.to_string(),
            message: format!("did not render JSON: {e}"),
        })
    }
}

use changedesk_core::text::one_line;

fn check_no_strangers(dir: &Path) -> Result<(), RenderError> {
    let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    let dir_error = |message: String| RenderError::Dir {
        dir: dir.display().to_string(),
        message,
    };
    let top = std::fs::read_dir(dir).map_err(|e| dir_error(e.to_string()))?;
    for sub in top {
        let sub = sub.map_err(|e| dir_error(e.to_string()))?;
        if !sub.path().is_dir() {
            continue;
        }
        let sub_name = sub.file_name().to_string_lossy().to_string();
        let files = std::fs::read_dir(sub.path()).map_err(|e| dir_error(e.to_string()))?;
        for f in files {
            let f = f.map_err(|e| dir_error(e.to_string()))?;
            let name = format!("{sub_name}/{}", f.file_name().to_string_lossy());
            if name.ends_with(".j2") && !known.contains(&name.as_str()) {
                return Err(dir_error(format!(
                    "{name} is not a changedesk template (known: {})",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(
        kind: &str,
        title: &str,
        tenants: &[&str],
        count: Option<usize>,
    ) -> serde_json::Value {
        let mut data = serde_json::json!({
            "schema": 1,
            "event_id": "evt_1",
            "post": {"id": "MC123456", "title": title, "services": ["Exchange Online"],
                     "category": "planForChange", "severity": "high", "major": true,
                     "act_by": "2026-04-01T00:00:00Z", "start": null},
            "tenants": tenants,
            "owner": "collab",
            "changes": ["act-by set"],
            "reason": null,
            "target": null,
            "links": {"admin_center": "https://admin.microsoft.com/#/MessageCenter/:/messages/MC123456",
                      "changedesk": "https://cd.example/posts/MC123456"}
        });
        if let Some(n) = count {
            data["tenant_count"] = n.into();
        }
        serde_json::json!({"type": kind, "timestamp": "2026-03-10T09:00:00Z", "data": data})
    }

    fn ctx(entries: Vec<serde_json::Value>) -> MessageContext {
        MessageContext {
            entries: entries.iter().map(Entry::from_payload).collect(),
            channel: "ops".into(),
            public_url: "https://cd.example".into(),
            unsubscribe_url: "https://cd.example/unsubscribe?t=abc".into(),
            preferences_url: String::new(),
            digest: String::new(),
            review_of: String::new(),
        }
    }

    #[test]
    fn the_shipped_templates_compile_and_render() {
        let t = Templates::builtin();
        let c = ctx(vec![payload(
            "post.routed",
            "Retiring <b>basic</b> auth & more",
            &["contoso"],
            Some(1),
        )]);
        let mail = t.email(&c).unwrap();
        assert_eq!(
            mail.subject,
            "[changedesk] MC123456: Retiring <b>basic</b> auth & more"
        );
        assert!(mail.text.contains("Routed to collab"), "{}", mail.text);
        assert!(mail.text.contains("https://cd.example/posts/MC123456"));
        assert!(mail.text.contains("2026-04-01"));
        assert!(
            mail.html
                .contains("Retiring &lt;b&gt;basic&lt;&#x2f;b&gt; auth &amp; more"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>basic"));
        assert!(
            mail.html
                .contains("https:&#x2f;&#x2f;cd.example&#x2f;unsubscribe?t=abc"),
            "{}",
            mail.html
        );
        let card = t.teams_card(&c).unwrap();
        assert_eq!(card["type"], "AdaptiveCard");
        assert!(
            card.to_string()
                .contains("Retiring <b>basic</b> auth & more")
        );
        let slack = t.slack_message(&c).unwrap();
        let text = slack.to_string();
        assert!(
            text.contains("Retiring &lt;b&gt;basic&lt;/b&gt; auth &amp; more"),
            "{text}"
        );
    }

    #[test]
    fn a_moved_date_is_told_as_it_moved() {
        let t = Templates::builtin();
        let mut p = payload("post.changed", "Teams calendar", &["contoso"], Some(1));
        p["data"]["changes"] = serde_json::json!(["timeline", "body", "last_modified"]);
        p["data"]["moves"] = serde_json::json!([
            "Rollout timeline: General availability: start late April 2026 → mid-May 2026"
        ]);
        let c = ctx(vec![p.clone()]);
        let e = &c.entries[0];
        assert_eq!(e.headline, "Date moved after triage");
        assert_eq!(
            e.changes,
            vec![
                "Rollout timeline: General availability: start late April 2026 → mid-May 2026",
                "Text",
                "Last modified"
            ]
        );
        let mail = t.email(&c).unwrap();
        assert!(
            mail.text
                .contains("start late April 2026 → mid-May 2026; Text"),
            "{}",
            mail.text
        );
        // without the moves (an older event), the field's label
        p["data"]["moves"] = serde_json::Value::Null;
        let c = ctx(vec![p]);
        assert_eq!(
            c.entries[0].changes,
            vec!["Rollout timeline", "Text", "Last modified"]
        );
    }

    #[test]
    fn a_batch_says_how_many_and_a_long_tenant_list_is_a_count() {
        let t = Templates::builtin();
        let many: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let c = ctx(vec![
            payload("post.routed", "One", &refs, Some(300)),
            payload("post.changed", "Two", &["contoso"], Some(1)),
        ]);
        let mail = t.email(&c).unwrap();
        assert!(
            mail.subject.starts_with("[changedesk] 2 changes"),
            "{}",
            mail.subject
        );
        assert!(mail.text.contains("300 tenants"), "{}", mail.text);
        assert!(!mail.text.contains("t299"));
        let card = t.teams_card(&c).unwrap().to_string();
        assert!(card.contains("300 tenants"));
    }

    #[test]
    fn slack_mentions_are_defused_and_subjects_are_one_line() {
        let t = Templates::builtin();
        let c = ctx(vec![payload(
            "post.routed",
            "Hi <!channel> \r\nBcc: x@y",
            &[],
            None,
        )]);
        let slack = t.slack_message(&c).unwrap().to_string();
        assert!(!slack.contains("<!channel>"), "{slack}");
        let mail = t.email(&c).unwrap();
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
        let long = ctx(vec![payload(
            "post.routed",
            &"日本語".repeat(200),
            &[],
            None,
        )]);
        assert!(t.email(&long).unwrap().subject.chars().count() <= 200);
    }

    #[test]
    fn overrides_replace_by_name_and_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("email")).unwrap();
        std::fs::write(
            dir.path().join("email/subject.txt.j2"),
            "Heads up: {{ count }}",
        )
        .unwrap();
        let t = Templates::with_overrides(dir.path()).unwrap();
        assert_eq!(t.overridden(), ["email/subject.txt.j2"]);
        let c = ctx(vec![payload("post.routed", "x", &[], None)]);
        assert_eq!(t.email(&c).unwrap().subject, "Heads up: 1");
        std::fs::write(dir.path().join("email/body.txt.j2"), "line one\n{% if %}").unwrap();
        let e = Templates::with_overrides(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("email/body.txt.j2") && e.contains("line 2"),
            "{e}"
        );
        std::fs::remove_file(dir.path().join("email/body.txt.j2")).unwrap();
        std::fs::write(dir.path().join("email/subjet.txt.j2"), "x").unwrap();
        let e = Templates::with_overrides(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("subjet.txt.j2") && e.contains("known"), "{e}");
        // a template that names what does not exist fails when rendering
        std::fs::remove_file(dir.path().join("email/subjet.txt.j2")).unwrap();
        std::fs::write(dir.path().join("email/subject.txt.j2"), "{{ nope }}").unwrap();
        let t = Templates::with_overrides(dir.path()).unwrap();
        assert!(
            t.email(&c)
                .unwrap_err()
                .to_string()
                .contains("email/subject.txt.j2")
        );
    }

    #[test]
    fn entries_tolerate_any_payload() {
        for p in [
            serde_json::json!(null),
            serde_json::json!({"type": 1, "data": []}),
            serde_json::json!({"type": "changedesk.test", "data": {"reason": "a test"}}),
        ] {
            let e = Entry::from_payload(&p);
            let t = Templates::builtin();
            let c = MessageContext {
                entries: vec![e],
                ..Default::default()
            };
            t.email(&c).unwrap();
            t.teams_card(&c).unwrap();
            t.slack_message(&c).unwrap();
        }
    }

    #[test]
    fn communications_render_escaped_in_every_form() {
        let t = Templates::builtin();
        let hostile = "<script>alert(1)</script> \"quoted\" {{ x }} *bold* <!channel>";
        let (subject, body) = t
            .comms_draft(&DraftContext {
                post_id: "MC1".into(),
                title: hostile.into(),
                services: vec!["Microsoft Teams".into()],
                summary: "New meeting view.".into(),
                prepare: "Tell your users.".into(),
                rollout: vec!["General availability: from mid-May 2026".into()],
                act_by: "2026-05-01".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(
            subject.starts_with("Microsoft Teams: <script>"),
            "{subject}"
        );
        assert!(
            body.contains("When: General availability: from mid-May 2026."),
            "{body}"
        );
        assert!(
            body.contains("What you need to do: Tell your users."),
            "{body}"
        );
        assert!(
            body.contains("We need to be ready by 2026-05-01."),
            "{body}"
        );
        let (_, bare) = t
            .comms_draft(&DraftContext {
                title: "x".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(
            bare.contains("Microsoft has not given a date yet"),
            "{bare}"
        );
        let m = CommsMessage {
            subject: hostile.into(),
            body: hostile.into(),
            paragraphs: vec![vec![hostile.into(), "second line".into()]],
            ack_url: "https://cd.example/c/abc/ack".into(),
            read_url: "https://cd.example/c/abc".into(),
        };
        let mail = t.comms_email(&m).unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(mail.html.contains("<br>second line"));
        assert!(
            mail.text
                .contains("Got it? Let us know: https://cd.example/c/abc/ack")
        );
        let card = t.comms_teams(&m).unwrap();
        assert_eq!(card["body"][0]["text"], hostile);
        assert_eq!(card["actions"][0]["url"], "https://cd.example/c/abc/ack");
        let slack = t.comms_slack(&m).unwrap();
        let text = slack["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(!text.contains("<!channel>"), "{text}");
    }
}
