//! The decision log: append-only entries recording every change to a work
//! item, who made it and why.
//!
//! Conventions for an entry's fields:
//!
//! - `field`, `old`, `new`: the field that changed and its values as text
//!   (`state: triaged → done`, `assignee: alice → bob`, `due`, `priority`,
//!   `labels` (the label added is `new`, the label removed `old`),
//!   `decision`, `requires_change_request`, `requires_communication`,
//!   `changed_since_triage` (comma-separated field names), and for a
//!   tenant's override `applicable`, `assignee`, `due`, `note`).
//! - `reason`: free text: the reason given for a dismissal, a close or a
//!   reopening, the text of a comment, or an automatic change's
//!   explanation.
//! - `scope`: [`LogScope::Tenant`] for an entry about one tenant's
//!   override, so that a user limited to some tenants never sees another
//!   tenant's entries ([`LogEntry::visible_to`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::common::{self, shorten};
use crate::timestamp::Timestamp;

/// The longest person name an actor may have, in characters.
pub const MAX_ACTOR_LEN: usize = 128;

/// Who made a change.
///
/// Text form (and serde form): the person's name, `rules`, `system` or
/// `connector:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// A person, by the name given with `--as USER` (or the signed-in user).
    Person(String),
    /// The rules engine, applying a rule's outcome.
    Rules,
    /// changedesk itself: a new revision of a post, an automatic close.
    System,
    /// A connector to a change-control system (by its name): a ticket it
    /// raised, its state followed back.
    Connector(String),
}

/// An actor name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ActorError(pub String);

impl Actor {
    /// A person called `name` (trimmed; 1–128 characters, no control
    /// characters). `rules` and `system` (any case) are the automatic
    /// actors, not people.
    pub fn person(name: &str) -> Result<Actor, ActorError> {
        let actor: Actor = name.parse()?;
        match actor {
            Actor::Person(_) => Ok(actor),
            _ => Err(ActorError(format!(
                "`{}` is reserved for automatic changes (reserved: {}, connector:NAME)",
                name.trim(),
                common::RESERVED_NAMES.join(", ")
            ))),
        }
    }

    /// The text form: the person's name, `rules`, `system` or
    /// `connector:NAME`.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Actor::Person(p) => p.as_str().into(),
            Actor::Rules => "rules".into(),
            Actor::System => "system".into(),
            Actor::Connector(c) => format!("connector:{c}").into(),
        }
    }

    /// Whether a person made the change.
    pub fn is_person(&self) -> bool {
        matches!(self, Actor::Person(_))
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl FromStr for Actor {
    type Err = ActorError;

    /// `rules` or `system` (any case), or a person's name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("rules") {
            return Ok(Actor::Rules);
        }
        if t.eq_ignore_ascii_case("system") {
            return Ok(Actor::System);
        }
        if let Some(name) = crate::text::strip_prefix_ignore_ascii_case(t, "connector:") {
            let name = name.trim();
            if name.is_empty()
                || name.chars().count() > MAX_ACTOR_LEN
                || name.chars().any(char::is_control)
            {
                return Err(ActorError(format!(
                    "`{}` does not name a connector",
                    shorten(t, 40).escape_debug()
                )));
            }
            return Ok(Actor::Connector(name.to_string()));
        }
        if t.is_empty() {
            return Err(ActorError(
                "actor is empty (expected a person's name, rules or system)".to_string(),
            ));
        }
        if t.chars().count() > MAX_ACTOR_LEN {
            return Err(ActorError(format!(
                "actor `{}` is longer than {MAX_ACTOR_LEN} characters",
                shorten(t, 40)
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(ActorError(format!(
                "actor `{}` may not hold control characters",
                shorten(t, 40).escape_debug()
            )));
        }
        Ok(Actor::Person(t.to_string()))
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

text_enum! {
    /// What a log entry records. Every [`super::Action`] has one
    /// ([`super::Action::kind`]); `revised` records a new revision of the
    /// post ([`super::on_revision`]).
    pub enum LogAction: "action" {
        /// The assignee changed.
        Assign => "assign",
        /// The priority changed.
        SetPriority => "set_priority",
        /// The due date changed.
        SetDue => "set_due",
        /// A label was added.
        AddLabel => "add_label",
        /// A label was removed.
        RemoveLabel => "remove_label",
        /// `requires_change_request` changed.
        RequireChangeRequest => "require_change_request",
        /// `requires_communication` changed.
        RequireCommunication => "require_communication",
        /// The item was found relevant.
        Triage => "triage",
        /// The item was found not relevant.
        Dismiss => "dismiss",
        /// Work started.
        Start => "start",
        /// The item was closed with a decision.
        Close => "close",
        /// A closed item was reopened.
        Reopen => "reopen",
        /// A comment.
        Comment => "comment",
        /// A tenant's override changed.
        SetOverride => "set_override",
        /// The changes since triage were acknowledged.
        Acknowledge => "acknowledge",
        /// The post has a new revision.
        Revised => "revised",
        /// A person asked for a change request in a connector's system
        /// (`new`: the connector; `reason`: for whom).
        RequestChange => "request_change",
        /// A connector raised the ticket (`new`: its number; `reason`: its
        /// link).
        ChangeRaised => "change_raised",
        /// Feedback was given to Microsoft (`new`: its kind; `reason`: its
        /// reference).
        Feedback => "feedback",
        /// A pilot group's finding (`field`: the group; `new`: its
        /// recommendation; `reason`: what it found).
        PilotFinding => "pilot_finding",
    }
}

impl LogAction {
    /// The past participle for messages: `triaged`, `reopened`, `started`.
    pub fn past_participle(self) -> &'static str {
        match self {
            LogAction::Assign => "assigned",
            LogAction::SetPriority => "given a priority",
            LogAction::SetDue => "given a due date",
            LogAction::AddLabel => "labelled",
            LogAction::RemoveLabel => "unlabelled",
            LogAction::RequireChangeRequest => "marked as needing a change request",
            LogAction::RequireCommunication => "marked as needing communication",
            LogAction::Triage => "triaged",
            LogAction::Dismiss => "dismissed",
            LogAction::Start => "started",
            LogAction::Close => "closed",
            LogAction::Reopen => "reopened",
            LogAction::Comment => "commented on",
            LogAction::SetOverride => "overridden for a tenant",
            LogAction::Acknowledge => "acknowledged",
            LogAction::Revised => "revised",
            LogAction::RequestChange => "sent for a change request",
            LogAction::ChangeRaised => "given a ticket",
            LogAction::Feedback => "given feedback to Microsoft about",
            LogAction::PilotFinding => "given a pilot group's finding",
        }
    }
}

/// What a log entry is about: the post (every tenant), or one tenant.
///
/// Text form (and serde form): `post` or `tenant:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum LogScope {
    /// The shared work item, seen by everyone who sees the post.
    #[default]
    Post,
    /// One tenant's override, seen only by users who see that tenant.
    Tenant(String),
}

impl fmt::Display for LogScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogScope::Post => f.write_str("post"),
            LogScope::Tenant(t) => write!(f, "tenant:{t}"),
        }
    }
}

/// A log scope that is not `post` or `tenant:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log scope `{0}` (expected one of: post, tenant:NAME)")]
pub struct ParseLogScopeError(pub String);

impl FromStr for LogScope {
    type Err = ParseLogScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("post") {
            return Ok(LogScope::Post);
        }
        let err = || ParseLogScopeError(shorten(t, 40));
        match t.split_once(':') {
            Some((kind, name)) if kind.trim().eq_ignore_ascii_case("tenant") => {
                common::tenant_name(name)
                    .map(LogScope::Tenant)
                    .map_err(|_| err())
            }
            _ => Err(err()),
        }
    }
}

impl Serialize for LogScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LogScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One change to a work item. Entries are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When the change was made.
    pub at: Timestamp,
    /// Who made it.
    pub actor: Actor,
    /// What kind of change.
    pub action: LogAction,
    /// The field that changed, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Its value before, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// Its value after, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// The reason, comment or explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The post, or the one tenant the entry is about.
    #[serde(default)]
    pub scope: LogScope,
}

impl LogEntry {
    /// An entry about the post with no field, values or reason.
    pub fn new(at: Timestamp, actor: &Actor, action: LogAction) -> LogEntry {
        LogEntry {
            at,
            actor: actor.clone(),
            action,
            field: None,
            old: None,
            new: None,
            reason: None,
            scope: LogScope::Post,
        }
    }

    /// The same entry recording `field` going from `old` to `new`.
    pub fn change(
        mut self,
        field: &str,
        old: Option<impl Into<String>>,
        new: Option<impl Into<String>>,
    ) -> LogEntry {
        self.field = Some(field.to_string());
        self.old = old.map(Into::into);
        self.new = new.map(Into::into);
        self
    }

    /// The same entry with a reason.
    pub fn because(mut self, reason: Option<impl Into<String>>) -> LogEntry {
        self.reason = reason.map(Into::into);
        self
    }

    /// The same entry about one tenant.
    pub fn for_tenant(mut self, tenant: &str) -> LogEntry {
        self.scope = LogScope::Tenant(tenant.to_string());
        self
    }

    /// Whether a user who may see only `tenants` may see this entry: entries
    /// about the post always, a tenant's entries only when the tenant is
    /// one of them (compared ignoring case).
    pub fn visible_to<S: AsRef<str>>(&self, tenants: &[S]) -> bool {
        match &self.scope {
            LogScope::Post => true,
            LogScope::Tenant(t) => tenants
                .iter()
                .any(|allowed| allowed.as_ref().trim().eq_ignore_ascii_case(t)),
        }
    }

    /// One readable line: `2025-03-01 09:00 UTC alice close: state triaged →
    /// done (reason)`.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {} {}", self.at.human(), self.actor, self.action);
        if let LogScope::Tenant(t) = &self.scope {
            out.push_str(&format!(" [{t}]"));
        }
        if let Some(field) = &self.field {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
            out.push_str(&format!(
                ": {field} {} → {}",
                show(&self.old),
                show(&self.new)
            ));
        }
        if let Some(r) = &self.reason {
            out.push_str(&format!(" ({r})"));
        }
        out
    }
}

/// The entries of `entries` that a user who may see only `tenants` may see.
pub fn visible_entries<'a, S: AsRef<str>>(
    entries: &'a [LogEntry],
    tenants: &'a [S],
) -> impl Iterator<Item = &'a LogEntry> + 'a {
    entries.iter().filter(move |e| e.visible_to(tenants))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse("2025-03-01T09:00:00Z").unwrap()
    }

    #[test]
    fn actors_parse_and_serialise_as_text() {
        assert_eq!("rules".parse::<Actor>().unwrap(), Actor::Rules);
        assert_eq!(" SYSTEM ".parse::<Actor>().unwrap(), Actor::System);
        assert_eq!(
            "Alice Martin".parse::<Actor>().unwrap(),
            Actor::Person("Alice Martin".into())
        );
        assert!("".parse::<Actor>().is_err());
        assert!("a\u{7}".parse::<Actor>().is_err());
        assert!(
            Actor::person("rules")
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert_eq!(serde_json::to_string(&Actor::Rules).unwrap(), "\"rules\"");
        let back: Actor = serde_json::from_str("\"alice\"").unwrap();
        assert_eq!(back, Actor::Person("alice".into()));
    }

    #[test]
    fn log_actions_parse_with_the_valid_values_listed() {
        assert_eq!(
            "set-priority".parse::<LogAction>().unwrap(),
            LogAction::SetPriority
        );
        let e = "bump".parse::<LogAction>().unwrap_err().to_string();
        assert!(
            e.starts_with("unknown action `bump` (expected one of: assign, set_priority,"),
            "{e}"
        );
        assert_eq!(LogAction::NAMES.len(), LogAction::ALL.len());
    }

    #[test]
    fn tenant_entries_are_hidden_from_other_tenants() {
        let post = LogEntry::new(at(), &Actor::System, LogAction::Comment);
        let tenant =
            LogEntry::new(at(), &Actor::System, LogAction::SetOverride).for_tenant("contoso");
        let mine = ["contoso".to_string()];
        let other = ["fabrikam"];
        let none: [&str; 0] = [];
        assert!(post.visible_to(&other) && post.visible_to(&none));
        assert!(tenant.visible_to(&mine));
        assert!(tenant.visible_to(&["CONTOSO"]));
        assert!(!tenant.visible_to(&other));
        assert!(!tenant.visible_to(&none));
        let all = [post.clone(), tenant];
        assert_eq!(
            visible_entries(&all, &other).collect::<Vec<_>>(),
            vec![&post]
        );
    }

    #[test]
    fn scope_and_entry_serde() {
        let e = LogEntry::new(at(), &Actor::Person("alice".into()), LogAction::Assign)
            .change("assignee", None::<String>, Some("bob"))
            .for_tenant("contoso");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["scope"], "tenant:contoso");
        assert_eq!(json["action"], "assign");
        assert!(json.get("old").is_none());
        let back: LogEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        assert_eq!("post".parse::<LogScope>().unwrap(), LogScope::Post);
        assert!("tenant:".parse::<LogScope>().is_err());
        assert!(
            "group:eu"
                .parse::<LogScope>()
                .unwrap_err()
                .to_string()
                .contains("post, tenant:NAME")
        );
        assert_eq!(
            e.describe(),
            "2025-03-01 09:00 UTC alice assign [contoso]: assignee (none) → bob"
        );
    }
}
