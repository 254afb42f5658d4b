//! Notifications as values: the events changedesk tells people about, who
//! hears of each (a channel's filter), and what a message says (the
//! versioned JSON a webhook carries). Pure: the store keeps events in its
//! outbox, `changedesk-notify` sends, the server's worker joins them.
//!
//! **Who learns what.** A channel limited to some tenants hears only of
//! events that concern one of them, and its messages name only those
//! tenants: never another tenant's name, nor how many others see the post.
//! An unlimited channel gets the post once, with every tenant and their
//! count: one post seen by 300 tenants is one message.

use std::fmt;
use std::str::FromStr;

pub mod delivery;

pub use delivery::{ChannelKind, ChannelSettings, Digest, QuietHours, ReportSchedule};

use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

/// The version of the JSON of [`payload`]: bumped when a field changes
/// meaning or goes; new fields may appear within a version.
pub const SCHEMA_VERSION: u32 = 1;

/// How long after a post's publication changedesk may first see it and
/// still tell people it is new, by default (7 days; `[notify]
/// late_after_days`): older posts reached the archive late (a new tenant, a
/// first sync) and notify nobody.
pub const LATE_AFTER_DAYS: i64 = 7;

/// After this many failed syncs in a row, a tenant's sync "keeps failing",
/// by default (3; `[notify] sync_failing_after`).
pub const SYNC_FAILING_AFTER: i64 = 3;

/// When events are told: `[notify]`'s `late_after_days`,
/// `act_by_soon_days` and `sync_failing_after`, by default
/// [`LATE_AFTER_DAYS`], [`ACT_BY_SOON_DAYS`] and [`SYNC_FAILING_AFTER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// A post first seen more than this many days after its publication
    /// tells nobody it is new ([`first_seen_late`]).
    pub late_after_days: i64,
    /// A new post whose act-by date is at most this many days after it was
    /// first seen is told as `post.act_by_soon` ([`act_by_soon`]).
    pub act_by_soon_days: i64,
    /// A tenant's sync "keeps failing" at this failure in a row
    /// ([`sync_event`]).
    pub sync_failing_after: i64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            late_after_days: LATE_AFTER_DAYS,
            act_by_soon_days: ACT_BY_SOON_DAYS,
            sync_failing_after: SYNC_FAILING_AFTER,
        }
    }
}

/// The event of a tenant's sync outcome, when there is one to tell: the
/// `failing_after`th failure in a row (with the error; by default
/// [`SYNC_FAILING_AFTER`]), or a success after at least that many.
/// `failures_before`: failures in a row before this outcome.
pub fn sync_event(
    tenant: &str,
    failures_before: i64,
    error: Option<&str>,
    at: Timestamp,
    failing_after: i64,
) -> Option<Event> {
    let kind = match error {
        Some(_) if failures_before.saturating_add(1) == failing_after => {
            EventKind::TenantSyncFailing
        }
        None if failures_before >= failing_after => EventKind::TenantSyncRecovered,
        _ => return None,
    };
    Some(Event {
        kind,
        at,
        post: None,
        incident: None,
        tenants: vec![tenant.to_string()],
        owner: None,
        changes: Vec::new(),
        reason: error.map(|e| crate::text::clip_chars(e, 500).to_string()),
        target: None,
        ticket_scope: None,
        moves: Vec::new(),
    })
}

/// A new post whose act-by date is at most this many days after it was
/// first seen is told as `post.act_by_soon`, by default (30; `[notify]
/// act_by_soon_days`).
pub const ACT_BY_SOON_DAYS: i64 = 30;

/// Whether a post first seen at `first_seen` with act-by `act_by` asks for
/// action soon: the date is after the first sighting and within `days` of
/// it (by default [`ACT_BY_SOON_DAYS`]).
pub fn act_by_soon(act_by: Option<Timestamp>, first_seen: Timestamp, days: i64) -> bool {
    act_by.is_some_and(|a| {
        a > first_seen && a.as_datetime() - first_seen.as_datetime() <= time::Duration::days(days)
    })
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A new post's work item was routed to an owner.
    PostRouted,
    /// A post changed after triage (dates moved, act-by set, category…).
    PostChanged,
    /// A closed item reopened because its post changed.
    ItemReopened,
    /// A rule's `notify` action.
    RuleNotify,
    /// An open item's deadline is within the due-soon window.
    ItemDueSoon,
    /// An open item is past its own due date.
    ItemOverdue,
    /// An open item's post passed its decision deadline.
    ItemMissed,
    /// A new post is a major change.
    PostMajor,
    /// A new post asks for action within [`ACT_BY_SOON_DAYS`].
    PostActBySoon,
    /// A new Service Health incident or advisory.
    IncidentNew,
    /// An incident changed (status, impact, a new update from Microsoft).
    IncidentUpdated,
    /// An incident was resolved.
    IncidentResolved,
    /// A tenant's sync failed [`SYNC_FAILING_AFTER`] times in a row
    /// (consent revoked, secret expired…).
    TenantSyncFailing,
    /// A tenant's sync succeeded again after failing.
    TenantSyncRecovered,
    /// An owner's scheduled review of their part of the agenda.
    OwnerReview,
    /// A scheduled report (the monthly executive report or the weekly
    /// status) made for an e-mail channel (its `target`): recorded with its
    /// message, never fanned out; its deliveries are the reports sent that
    /// the maturity level counts.
    ReportSent,
    /// A post already in the archive became visible to more tenants (those
    /// named): heard only by channels that name this kind
    /// ([`EventKind::opt_in`]).
    PostNewTenants,
    /// A pilot task opened: a pilot group (`reason`) is asked to try a
    /// post's change in its preview or targeted release; for the channel
    /// the group names (`target`) alone.
    PilotOpened,
    /// "Send a test" of a channel.
    Test,
    /// A change request was asked for in a connector's system (its
    /// `target`, for the `ticket_scope`): heard only by that connector.
    ChangeRequested,
    /// Microsoft revised a post a connector holds a ticket for (its
    /// `target`, the ticket's `ticket_scope`; `changes` says what moved):
    /// heard only by that connector, which adds a note to the ticket.
    ChangeRevised,
    /// A work item with a ticket closed here (its `target` connector's
    /// mapping closes tickets then): heard only by that connector, which
    /// closes the ticket (cancels it for a dismissed item: `reason`).
    ChangeClosed,
    /// A communication of a change sent to its audience (issue 21): its
    /// delivery is made with it, for the channel it names (`target`).
    CommsSent,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [EventKind] = &[
        EventKind::PostRouted,
        EventKind::PostChanged,
        EventKind::ItemReopened,
        EventKind::RuleNotify,
        EventKind::ItemDueSoon,
        EventKind::ItemOverdue,
        EventKind::ItemMissed,
        EventKind::PostMajor,
        EventKind::PostActBySoon,
        EventKind::IncidentNew,
        EventKind::IncidentUpdated,
        EventKind::IncidentResolved,
        EventKind::TenantSyncFailing,
        EventKind::TenantSyncRecovered,
        EventKind::OwnerReview,
        EventKind::ReportSent,
        EventKind::CommsSent,
        EventKind::PostNewTenants,
        EventKind::PilotOpened,
        EventKind::Test,
        EventKind::ChangeRequested,
        EventKind::ChangeRevised,
        EventKind::ChangeClosed,
    ];

    /// Whether only a channel that names this kind hears of it (one whose
    /// filter names no kinds hears of every other kind): a post reaching
    /// more tenants is news for those who follow tenants, noise for others.
    /// A change request, and a revision told to a ticket, are for the
    /// connector they name alone.
    pub fn opt_in(self) -> bool {
        matches!(
            self,
            EventKind::PostNewTenants
                | EventKind::ReportSent
                | EventKind::CommsSent
                | EventKind::PilotOpened
                | EventKind::ChangeRequested
                | EventKind::ChangeRevised
                | EventKind::ChangeClosed
        )
    }

    /// The dotted name: the webhook's `type`, what filters name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PostRouted => "post.routed",
            EventKind::PostChanged => "post.changed",
            EventKind::ItemReopened => "item.reopened",
            EventKind::RuleNotify => "rule.notify",
            EventKind::ItemDueSoon => "item.due_soon",
            EventKind::ItemOverdue => "item.overdue",
            EventKind::ItemMissed => "item.missed",
            EventKind::PostMajor => "post.major",
            EventKind::PostActBySoon => "post.act_by_soon",
            EventKind::IncidentNew => "incident.new",
            EventKind::IncidentUpdated => "incident.updated",
            EventKind::IncidentResolved => "incident.resolved",
            EventKind::TenantSyncFailing => "tenant.sync_failing",
            EventKind::TenantSyncRecovered => "tenant.sync_recovered",
            EventKind::OwnerReview => "owner.review",
            EventKind::ReportSent => "report.sent",
            EventKind::CommsSent => "comms.sent",
            EventKind::PilotOpened => "pilot.opened",
            EventKind::PostNewTenants => "post.new_tenants",
            EventKind::Test => "changedesk.test",
            EventKind::ChangeRequested => "change.requested",
            EventKind::ChangeRevised => "change.revised",
            EventKind::ChangeClosed => "change.closed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = String;

    /// The dotted name, case-insensitively.
    fn from_str(s: &str) -> Result<EventKind, String> {
        let t = s.trim();
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                format!(
                    "unknown event `{}` (expected one of: {})",
                    crate::text::clip_chars(t, 60),
                    EventKind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EventKind, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What an event says of its post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRef {
    pub id: String,
    pub title: String,
    pub services: Vec<String>,
    pub category: String,
    pub severity: String,
    pub major: bool,
    pub act_by: Option<Timestamp>,
    pub start: Option<Timestamp>,
}

impl PostRef {
    /// What an event says of `post`.
    pub fn of(post: &crate::graph::MessageContent) -> PostRef {
        PostRef {
            id: post.id.clone(),
            title: post.title.clone(),
            services: post.services.clone(),
            category: post.category.as_str().to_string(),
            severity: post.severity.as_str().to_string(),
            major: post.is_major,
            act_by: post.act_by,
            start: post.start,
        }
    }
}

/// What an event says of its Service Health incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRef {
    pub id: String,
    pub title: String,
    pub service: String,
    pub feature: String,
    /// `incident` or `advisory`.
    pub classification: String,
    /// Graph's status (`serviceDegradation`, `serviceRestored`, …).
    pub status: String,
    pub resolved: bool,
    pub impact: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

/// One event, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// When it happened.
    pub at: Timestamp,
    pub post: Option<PostRef>,
    /// The Service Health incident (`incident.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentRef>,
    /// Every tenant the event concerns (the post's tenants).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// The item's owner, if any.
    #[serde(default)]
    pub owner: Option<String>,
    /// What changed (`post.changed`, `item.reopened`).
    #[serde(default)]
    pub changes: Vec<String>,
    /// Why (a rule's name, a person's note).
    #[serde(default)]
    pub reason: Option<String>,
    /// Whom a rule's `notify` names (`rule.notify`), the channel a test
    /// is for, the connector a change request is for.
    #[serde(default)]
    pub target: Option<String>,
    /// Whom a change request is for (`change.requested`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_scope: Option<crate::change_control::TicketScope>,
    /// The dates that moved, for people (`post.changed`, `item.reopened`):
    /// `Rollout timeline: General availability: start late April 2026 →
    /// mid-May 2026`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<String>,
}

/// Which events a channel hears of. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelFilter {
    /// Event kinds.
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// Services (a post matches when it names one of them), exactly as
    /// Microsoft writes them, case-insensitively.
    #[serde(default)]
    pub services: Vec<String>,
    /// Severities (`normal`, `high`, `critical`), case-insensitively.
    #[serde(default)]
    pub severities: Vec<String>,
    /// Only major changes.
    #[serde(default)]
    pub major_only: bool,
    /// The tenants the channel may hear of (`None`: every tenant). Resolved
    /// from tenants and tenant groups by the caller.
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
}

fn any_eq(list: &[String], v: &str) -> bool {
    list.iter().any(|x| x.trim().eq_ignore_ascii_case(v.trim()))
}

impl ChannelFilter {
    /// Whether a channel with this filter hears of `e`.
    pub fn matches(&self, e: &Event) -> bool {
        if !self.events.contains(&e.kind) && (!self.events.is_empty() || e.kind.opt_in()) {
            return false;
        }
        if e.kind == EventKind::Test {
            // a test goes only where it is sent, and matches that channel
            return true;
        }
        if let Some(i) = &e.incident {
            // severities and major are Message Center's: a channel that
            // names them hears of posts only
            if !self.services.is_empty() && !any_eq(&self.services, &i.service) {
                return false;
            }
            if !self.severities.is_empty() || self.major_only {
                return false;
            }
        } else if let Some(p) = &e.post {
            if !self.services.is_empty() && !p.services.iter().any(|s| any_eq(&self.services, s)) {
                return false;
            }
            if !self.severities.is_empty() && !any_eq(&self.severities, &p.severity) {
                return false;
            }
            if self.major_only && !p.major {
                return false;
            }
        } else if !self.services.is_empty() || !self.severities.is_empty() || self.major_only {
            return false;
        }
        match &self.tenants {
            None => true,
            Some(mine) => e.tenants.iter().any(|t| any_eq(mine, t)),
        }
    }

    /// What a channel with this filter hears of, in words: `every event`
    /// or the kinds, then `of` services, `severity`, `major changes`, `for`
    /// tenants, separated by `; `.
    pub fn describe(&self) -> String {
        let mut parts = vec![if self.events.is_empty() {
            "every event".to_string()
        } else {
            self.events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }];
        if !self.services.is_empty() {
            parts.push(format!("of {}", self.services.join(", ")));
        }
        if !self.severities.is_empty() {
            parts.push(format!("severity {}", self.severities.join(", ")));
        }
        if self.major_only {
            parts.push("major changes".to_string());
        }
        if let Some(t) = &self.tenants {
            parts.push(format!("for {}", t.join(", ")));
        }
        parts.join("; ")
    }

    /// The tenants of `e` this channel may be told of.
    pub fn visible_tenants(&self, e: &Event) -> Vec<String> {
        match &self.tenants {
            None => e.tenants.clone(),
            Some(mine) => e
                .tenants
                .iter()
                .filter(|t| any_eq(mine, t))
                .cloned()
                .collect(),
        }
    }
}

/// The stable id of the message telling channel `channel` of event
/// `event`: the same on every attempt (`webhook-id`, e-mail `Message-ID`).
pub fn message_id(event: i64, channel: i64) -> String {
    format!("msg_e{event}_c{channel}")
}

/// Microsoft 365 admin center's page of a Message Center post.
pub fn admin_center_url(post_id: &str) -> String {
    let id: String = post_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("https://admin.microsoft.com/#/MessageCenter/:/messages/{id}")
}

/// Microsoft 365 admin center's page of a Service Health incident.
pub fn incident_admin_url(id: &str) -> String {
    let id: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("https://admin.microsoft.com/#/servicehealth/:/alerts/{id}")
}

/// The JSON a webhook carries (Standard Webhooks' `type`, `timestamp`,
/// `data`), for a channel with `filter`: schema [`SCHEMA_VERSION`], the
/// event's id, the post, the tenants the channel may see (their count
/// only for a channel that sees every tenant), owner, changes, reason,
/// target and links (`public_url`: changedesk's address, if configured).
pub fn payload(
    event_id: i64,
    e: &Event,
    filter: &ChannelFilter,
    public_url: Option<&str>,
) -> serde_json::Value {
    let tenants = filter.visible_tenants(e);
    let mut data = serde_json::json!({
        "schema": SCHEMA_VERSION,
        "event_id": format!("evt_{event_id}"),
        "post": e.post,
        "incident": e.incident,
        "tenants": tenants,
        "owner": e.owner,
        "changes": e.changes,
        "moves": e.moves,
        "reason": e.reason,
        "target": e.target,
    });
    if let Some(scope) = &e.ticket_scope
        && let Some(obj) = data.as_object_mut()
    {
        obj.insert("ticket_scope".into(), serde_json::json!(scope));
    }
    if filter.tenants.is_none()
        && let Some(obj) = data.as_object_mut()
    {
        obj.insert("tenant_count".into(), tenants.len().into());
    }
    if let Some(i) = &e.incident {
        let mut links = serde_json::Map::new();
        links.insert("admin_center".into(), incident_admin_url(&i.id).into());
        if let Some(base) = public_url {
            links.insert(
                "changedesk".into(),
                format!("{}/health/incidents/{}", base.trim_end_matches('/'), i.id).into(),
            );
        }
        if let Some(obj) = data.as_object_mut() {
            obj.insert("links".into(), links.into());
        }
    }
    if let Some(p) = &e.post {
        let mut links = serde_json::Map::new();
        links.insert("admin_center".into(), admin_center_url(&p.id).into());
        if let Some(base) = public_url {
            links.insert(
                "changedesk".into(),
                format!("{}/posts/{}", base.trim_end_matches('/'), p.id).into(),
            );
        }
        if let Some(obj) = data.as_object_mut() {
            obj.insert("links".into(), links.into());
        }
    }
    serde_json::json!({
        "type": e.kind.as_str(),
        "timestamp": e.at,
        "data": data,
    })
}

/// Whether a post first seen at `first_seen` reached changedesk late:
/// more than `days` (by default [`LATE_AFTER_DAYS`]) after its publication
/// (`published`, Graph's `startDateTime` when it is not after the first
/// sighting). A late post, like the baseline, notifies nobody that it is
/// new.
pub fn first_seen_late(published: Option<Timestamp>, first_seen: Timestamp, days: i64) -> bool {
    match published {
        Some(p) if p <= first_seen => {
            first_seen.as_datetime() - p.as_datetime() > time::Duration::days(days)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn event(kind: EventKind, tenants: &[&str]) -> Event {
        Event {
            kind,
            at: at("2026-03-10T09:00:00Z"),
            post: Some(PostRef {
                id: "MC1".into(),
                title: "Teams: recap".into(),
                services: vec!["Microsoft Teams".into()],
                category: "planForChange".into(),
                severity: "high".into(),
                major: true,
                act_by: Some(at("2026-04-01T00:00:00Z")),
                start: None,
            }),
            incident: None,
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            owner: Some("collab".into()),
            changes: vec![],
            reason: None,
            target: None,
            ticket_scope: None,
            moves: Vec::new(),
        }
    }

    #[test]
    fn kinds_round_trip_and_unknown_is_a_clear_error() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
            assert_eq!(k.as_str().to_uppercase().parse::<EventKind>().unwrap(), *k);
        }
        let e = "post.routd".parse::<EventKind>().unwrap_err();
        assert!(e.contains("post.routed"), "{e}");
        assert!("日本語–".parse::<EventKind>().is_err());
    }

    #[test]
    fn filters_match_kind_service_severity_major_and_tenants() {
        let e = event(EventKind::PostRouted, &["contoso", "fabrikam"]);
        assert!(ChannelFilter::default().matches(&e));
        let f = |f: ChannelFilter| f.matches(&e);
        assert!(f(ChannelFilter {
            events: vec![EventKind::PostRouted],
            ..Default::default()
        }));
        assert!(!f(ChannelFilter {
            events: vec![EventKind::PostChanged],
            ..Default::default()
        }));
        assert!(f(ChannelFilter {
            services: vec!["microsoft teams".into()],
            ..Default::default()
        }));
        assert!(!f(ChannelFilter {
            services: vec!["Exchange Online".into()],
            ..Default::default()
        }));
        assert!(f(ChannelFilter {
            severities: vec!["HIGH".into()],
            major_only: true,
            ..Default::default()
        }));
        assert!(!f(ChannelFilter {
            severities: vec!["critical".into()],
            ..Default::default()
        }));
        assert!(f(ChannelFilter {
            tenants: Some(vec!["Fabrikam".into()]),
            ..Default::default()
        }));
        assert!(!f(ChannelFilter {
            tenants: Some(vec!["northwind".into()]),
            ..Default::default()
        }));
    }

    #[test]
    fn a_limited_channel_learns_only_its_tenants_and_no_count() {
        let tenants: Vec<String> = (0..300).map(|i| format!("t{i:03}")).collect();
        let refs: Vec<&str> = tenants.iter().map(String::as_str).collect();
        let e = event(EventKind::PostRouted, &refs);
        // one message for all 300, saying so
        let all = payload(
            7,
            &e,
            &ChannelFilter::default(),
            Some("https://cd.example/"),
        );
        assert_eq!(all["type"], "post.routed");
        assert_eq!(all["data"]["schema"], SCHEMA_VERSION);
        assert_eq!(all["data"]["event_id"], "evt_7");
        assert_eq!(all["data"]["tenant_count"], 300);
        assert_eq!(all["data"]["tenants"].as_array().unwrap().len(), 300);
        assert_eq!(
            all["data"]["links"]["changedesk"],
            "https://cd.example/posts/MC1"
        );
        assert_eq!(
            all["data"]["links"]["admin_center"],
            "https://admin.microsoft.com/#/MessageCenter/:/messages/MC1"
        );
        let limited = ChannelFilter {
            tenants: Some(vec!["t007".into(), "elsewhere".into()]),
            ..Default::default()
        };
        let mine = payload(7, &e, &limited, None);
        assert_eq!(mine["data"]["tenants"], serde_json::json!(["t007"]));
        assert!(mine["data"].get("tenant_count").is_none());
        let text = mine.to_string();
        assert!(!text.contains("t008") && !text.contains("300"), "{text}");
        assert!(mine["data"]["links"].get("changedesk").is_none());
    }

    #[test]
    fn a_post_reaching_more_tenants_is_heard_only_where_named() {
        let e = event(EventKind::PostNewTenants, &["beta"]);
        assert!(!ChannelFilter::default().matches(&e));
        let named = ChannelFilter {
            events: vec![EventKind::PostNewTenants],
            ..Default::default()
        };
        assert!(named.matches(&e));
        assert!(!named.matches(&event(EventKind::PostRouted, &["beta"])));
        // a tenant-limited channel that names it hears of its tenants only
        let limited = ChannelFilter {
            tenants: Some(vec!["alpha".into()]),
            ..named
        };
        assert!(!limited.matches(&e));
        assert!(limited.matches(&event(EventKind::PostNewTenants, &["alpha"])));
        let opt_in: Vec<EventKind> = EventKind::ALL
            .iter()
            .copied()
            .filter(|k| k.opt_in())
            .collect();
        assert_eq!(
            opt_in,
            [
                EventKind::ReportSent,
                EventKind::CommsSent,
                EventKind::PostNewTenants,
                EventKind::PilotOpened,
                EventKind::ChangeRequested,
                EventKind::ChangeRevised,
                EventKind::ChangeClosed
            ]
        );
        assert_eq!(
            "post.new_tenants".parse::<EventKind>(),
            Ok(EventKind::PostNewTenants)
        );
    }

    #[test]
    fn a_filter_says_what_it_hears_of() {
        assert_eq!(ChannelFilter::default().describe(), "every event");
        let f = ChannelFilter {
            events: vec![EventKind::PostRouted, EventKind::PostChanged],
            services: vec!["Exchange Online".into()],
            severities: vec!["high".into()],
            major_only: true,
            tenants: Some(vec!["contoso".into()]),
        };
        assert_eq!(
            f.describe(),
            "post.routed, post.changed; of Exchange Online; severity high; major changes; for contoso"
        );
    }

    #[test]
    fn message_ids_are_stable_and_have_no_dot() {
        assert_eq!(message_id(42, 3), "msg_e42_c3");
        assert!(!message_id(i64::MAX, i64::MAX).contains('.'));
    }

    #[test]
    fn a_sync_keeps_failing_at_the_third_failure_and_recovers_once() {
        let t = at("2026-03-01T00:00:00Z");
        let n = SYNC_FAILING_AFTER;
        assert!(sync_event("contoso", 0, Some("x"), t, n).is_none());
        assert!(sync_event("contoso", 1, Some("x"), t, n).is_none());
        let e = sync_event(
            "contoso",
            2,
            Some("AADSTS7000222: the secret expired"),
            t,
            n,
        )
        .unwrap();
        assert_eq!(e.kind, EventKind::TenantSyncFailing);
        assert_eq!(e.tenants, vec!["contoso".to_string()]);
        assert!(e.reason.unwrap().contains("expired"));
        assert!(
            sync_event("contoso", 3, Some("x"), t, n).is_none(),
            "told once"
        );
        assert!(sync_event("contoso", 2, None, t, n).is_none());
        assert_eq!(
            sync_event("contoso", 5, None, t, n).unwrap().kind,
            EventKind::TenantSyncRecovered
        );
        // configured: the first failure already tells, the next success recovers
        assert_eq!(
            sync_event("contoso", 0, Some("x"), t, 1).unwrap().kind,
            EventKind::TenantSyncFailing
        );
        assert!(sync_event("contoso", 1, Some("x"), t, 1).is_none());
        assert_eq!(
            sync_event("contoso", 1, None, t, 1).unwrap().kind,
            EventKind::TenantSyncRecovered
        );
        assert!(sync_event("contoso", 2, Some("x"), t, 5).is_none());
        assert!(sync_event("contoso", 4, None, t, 5).is_none());
    }

    #[test]
    fn act_by_soon_is_a_date_after_the_first_sighting_within_30_days() {
        let seen = at("2026-03-01T00:00:00Z");
        let n = ACT_BY_SOON_DAYS;
        assert!(!act_by_soon(None, seen, n));
        assert!(act_by_soon(Some(at("2026-03-31T00:00:00Z")), seen, n));
        assert!(!act_by_soon(Some(at("2026-03-31T00:00:01Z")), seen, n));
        assert!(
            !act_by_soon(Some(at("2026-02-28T00:00:00Z")), seen, n),
            "already past"
        );
        assert!(!act_by_soon(Some(seen), seen, n));
        // configured to a week
        assert!(act_by_soon(Some(at("2026-03-08T00:00:00Z")), seen, 7));
        assert!(!act_by_soon(Some(at("2026-03-08T00:00:01Z")), seen, 7));
    }

    #[test]
    fn late_posts_are_those_first_seen_more_than_a_week_after_publication() {
        let seen = at("2026-03-10T00:00:00Z");
        let n = LATE_AFTER_DAYS;
        assert!(!first_seen_late(None, seen, n));
        assert!(!first_seen_late(Some(at("2026-03-03T00:00:00Z")), seen, n));
        assert!(first_seen_late(Some(at("2026-03-02T23:59:59Z")), seen, n));
        // a start after the first sighting is a rollout, not a publication
        assert!(!first_seen_late(Some(at("2026-04-01T00:00:00Z")), seen, n));
        // configured to a day: two days after publication is late
        assert!(first_seen_late(Some(at("2026-03-08T00:00:00Z")), seen, 1));
        assert!(!first_seen_late(Some(at("2026-03-09T00:00:00Z")), seen, 1));
        assert_eq!(
            Thresholds::default(),
            Thresholds {
                late_after_days: 7,
                act_by_soon_days: 30,
                sync_failing_after: 3
            }
        );
    }
}
