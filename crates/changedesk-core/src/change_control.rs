//! Tickets in the enterprise's change-control systems, as changedesk
//! reasons about them (no IO: the connectors talk to the systems, issue
//! 19): which ticket a post has for whom ([`correlation_id`]), what it says
//! ([`TicketText`]), and what a ticket's progress on the other side does to
//! the work item ([`TicketMapping`], [`follow`]).

use serde::{Deserialize, Serialize};

use crate::text::clip_chars;
use crate::timestamp::Timestamp;
use crate::triage::{Decision, State};

/// Whom a ticket is for: every tenant that sees the post, one tenant, or a
/// tenant group (an MSP's customer with its own change board). As JSON:
/// `"all"`, `{"tenant": "contoso"}`, `{"group": "emea"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketScope {
    /// Every tenant.
    All,
    /// One tenant, by name.
    Tenant(String),
    /// A tenant group, by name.
    Group(String),
}

/// The systems a connector can talk to, by the name changedesk gives them
/// (a channel's kind; the connectors crate talks to them).
pub const SYSTEMS: [&str; 3] = ["servicenow", "jira", "glpi"];

/// How ServiceNow changes are created (`model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceNowModel {
    /// A `change_request` record through the Table API.
    #[default]
    Table,
    /// A normal change through the Change Management API.
    Normal,
    /// A standard change from `template` through the Change Management API.
    Standard,
}

/// How changedesk signs in to ServiceNow (`auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceNowSignIn {
    /// Basic: `user` and the secret as its password.
    #[default]
    Basic,
    /// OAuth client credentials: `user` is the client id, the secret its
    /// secret.
    Oauth,
}

/// Which system a connector talks to and how (no secret): kept as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "system", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetSettings {
    /// A ServiceNow instance.
    #[serde(rename = "servicenow")]
    ServiceNow {
        /// The instance, e.g. `https://contoso.service-now.com`.
        url: String,
        /// The integration user, or the OAuth client id.
        user: String,
        /// Basic or OAuth client credentials.
        #[serde(default)]
        auth: ServiceNowSignIn,
        /// Table record, normal or standard change.
        #[serde(default)]
        model: ServiceNowModel,
        /// The standard change template's sys_id (with `model = standard`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// A Jira Cloud site (or Jira Service Management).
    Jira {
        /// The site, e.g. `https://contoso.atlassian.net`.
        url: String,
        /// The account's e-mail address (the secret is its API token).
        user: String,
        /// The project key, e.g. `CHG`.
        project: String,
        /// The issue type's name, e.g. `Task`.
        issue_type: String,
    },
    /// A GLPI server's REST API (`apirest.php`).
    Glpi {
        /// The API, e.g. `https://glpi.contoso.com/apirest.php`.
        url: String,
        /// A login for Basic sign-in; empty: the secret is a user token.
        #[serde(default)]
        user: String,
        /// The entity changes are created in.
        #[serde(default)]
        entities_id: i64,
    },
}

impl TargetSettings {
    /// The system's name ([`SYSTEMS`]).
    pub fn system(&self) -> &'static str {
        match self {
            TargetSettings::ServiceNow { .. } => "servicenow",
            TargetSettings::Jira { .. } => "jira",
            TargetSettings::Glpi { .. } => "glpi",
        }
    }

    /// The address it talks to.
    pub fn url(&self) -> &str {
        match self {
            TargetSettings::ServiceNow { url, .. }
            | TargetSettings::Jira { url, .. }
            | TargetSettings::Glpi { url, .. } => url,
        }
    }
}

impl TicketScope {
    /// The text form: `all`, `tenant:NAME` or `group:NAME`.
    pub fn as_text(&self) -> String {
        match self {
            TicketScope::All => "all".to_owned(),
            TicketScope::Tenant(t) => format!("tenant:{t}"),
            TicketScope::Group(g) => format!("group:{g}"),
        }
    }

    /// Reads [`TicketScope::as_text`]'s form back.
    pub fn parse(s: &str) -> Result<TicketScope, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(TicketScope::All);
        }
        match t.split_once(':') {
            Some((k, name)) if k.eq_ignore_ascii_case("tenant") && !name.trim().is_empty() => {
                Ok(TicketScope::Tenant(name.trim().to_owned()))
            }
            Some((k, name)) if k.eq_ignore_ascii_case("group") && !name.trim().is_empty() => {
                Ok(TicketScope::Group(name.trim().to_owned()))
            }
            _ => Err(format!(
                "`{}` is not all, tenant:NAME or group:NAME",
                clip_chars(t, 60)
            )),
        }
    }
}

/// The id changedesk gives the ticket of `post_id` for `scope`, kept on the
/// other side (a ServiceNow `correlation_id`, a Jira label, the end of a
/// GLPI change's name) so that a ticket is created **once** however often
/// its creation is tried: `cd-MC1234567-all`, `cd-MC1234567-t-contoso`,
/// `cd-MC1234567-g-emea`. Only letters, digits, `-`, `_` and `.` (it goes
/// unescaped into labels, names and queries); a post id or name with
/// anything else is refused, as are empty ones.
pub fn correlation_id(post_id: &str, scope: &TicketScope) -> Result<String, String> {
    let safe = |what: &str, s: &str| -> Result<(), String> {
        if !s.is_empty()
            && s.chars().count() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            Ok(())
        } else {
            Err(format!(
                "{what} {s:?} cannot name a ticket: 1 to 64 letters, digits, `-`, `_` or `.`"
            ))
        }
    };
    safe("the post id", post_id)?;
    let whom = match scope {
        TicketScope::All => "all".to_owned(),
        TicketScope::Tenant(t) => {
            safe("the tenant", t)?;
            format!("t-{t}")
        }
        TicketScope::Group(g) => {
            safe("the group", g)?;
            format!("g-{g}")
        }
    };
    Ok(format!("cd-{post_id}-{whom}"))
}

/// The most characters of a ticket's summary: ServiceNow's
/// `short_description` holds 160 (Jira's summary 255, GLPI's name 255).
pub const SUMMARY_CHARS: usize = 160;

/// What a ticket says of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketText {
    /// `[M365] MC1234567: the post's title`, at most [`SUMMARY_CHARS`]
    /// characters (cut by characters, never bytes).
    pub summary: String,
    /// The body's paragraphs: the workloads, the dates, where it came from.
    pub paragraphs: Vec<String>,
}

impl TicketText {
    /// The ticket's text for a post: its id, title, services, act-by date
    /// and rollout start, and the link to it (changedesk's post page, or
    /// the Message Center).
    pub fn for_post(
        post_id: &str,
        title: &str,
        services: &[String],
        act_by: Option<Timestamp>,
        start: Option<Timestamp>,
        link: &str,
    ) -> TicketText {
        let summary = clip_chars(
            &format!("[M365] {post_id}: {}", title.trim()),
            SUMMARY_CHARS - 1,
        )
        .into_owned();
        let mut paragraphs = Vec::new();
        let services: Vec<&str> = services
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if !services.is_empty() {
            paragraphs.push(format!("Workloads: {}.", services.join(", ")));
        }
        let day = |t: Timestamp| t.to_canonical().chars().take(10).collect::<String>();
        match (act_by, start) {
            (Some(a), _) => paragraphs.push(format!("Act by {}.", day(a))),
            (None, Some(s)) => paragraphs.push(format!("Rollout from {}.", day(s))),
            (None, None) => {}
        }
        paragraphs.push(format!(
            "Microsoft 365 Message Center post {post_id}, tracked by changedesk: {link}"
        ));
        TicketText {
            summary,
            paragraphs,
        }
    }
}

/// Where a ticket stands on the other side, whatever the system calls it
/// (each connector maps its own states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketProgress {
    /// Raised, not yet being worked on (new, assessed, authorized,
    /// scheduled, to do).
    Open,
    /// Being implemented.
    InProgress,
    /// Implemented and closed.
    Done,
    /// Canceled or refused.
    Canceled,
}

impl TicketProgress {
    /// The stored name: `open`, `in_progress`, `done`, `canceled`.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketProgress::Open => "open",
            TicketProgress::InProgress => "in_progress",
            TicketProgress::Done => "done",
            TicketProgress::Canceled => "canceled",
        }
    }

    /// Reads [`TicketProgress::as_str`]'s form back.
    pub fn parse(s: &str) -> Result<TicketProgress, String> {
        [
            TicketProgress::Open,
            TicketProgress::InProgress,
            TicketProgress::Done,
            TicketProgress::Canceled,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| format!("`{}` is not a ticket's progress", clip_chars(s, 40)))
    }
}

/// What a work item becomes when its ticket reaches a stage: a state and,
/// for `done`, the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemOutcome {
    /// The item's state.
    pub state: State,
    /// The decision, when the state is `done`.
    pub decision: Option<Decision>,
}

/// What an item follows of its ticket (configurable per connector): by
/// default an item starts when its ticket does, and is done, its change
/// request raised, when the ticket is; a canceled ticket changes nothing
/// (the log says so, people decide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketMapping {
    /// When the ticket is being implemented.
    pub in_progress: Option<ItemOutcome>,
    /// When the ticket is done.
    pub done: Option<ItemOutcome>,
    /// When the ticket is canceled.
    pub canceled: Option<ItemOutcome>,
}

impl Default for TicketMapping {
    fn default() -> TicketMapping {
        TicketMapping {
            in_progress: Some(ItemOutcome {
                state: State::InProgress,
                decision: None,
            }),
            done: Some(ItemOutcome {
                state: State::Done,
                decision: Some(Decision::ChangeRequestRaised),
            }),
            canceled: None,
        }
    }
}

/// What an item in `state` becomes now that its ticket is at `progress`,
/// per `mapping`: `None` when nothing is to change — the mapping says
/// nothing for that stage, the item is there already, or the item is
/// closed (a person's or a rule's close is never undone by a ticket). A
/// change the connector makes from this is logged with the connector as
/// actor and never sent back to the ticket (no echo).
pub fn follow(
    state: State,
    progress: TicketProgress,
    mapping: &TicketMapping,
) -> Option<ItemOutcome> {
    if !state.is_open() {
        return None;
    }
    let outcome = match progress {
        TicketProgress::Open => None,
        TicketProgress::InProgress => mapping.in_progress,
        TicketProgress::Done => mapping.done,
        TicketProgress::Canceled => mapping.canceled,
    }?;
    (outcome.state != state).then_some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_has_one_id_per_post_and_scope() {
        let id = |s: TicketScope| correlation_id("MC1234567", &s);
        assert_eq!(id(TicketScope::All).unwrap(), "cd-MC1234567-all");
        assert_eq!(
            id(TicketScope::Tenant("contoso".into())).unwrap(),
            "cd-MC1234567-t-contoso"
        );
        assert_eq!(
            id(TicketScope::Group("emea.north".into())).unwrap(),
            "cd-MC1234567-g-emea.north"
        );
        // a tenant named `all` is not every tenant
        assert_ne!(id(TicketScope::Tenant("all".into())), id(TicketScope::All));
        for bad in ["", "a b", "x\"y", "é", "a^ORDERBYnumber"] {
            assert!(id(TicketScope::Tenant(bad.into())).is_err(), "{bad}");
            assert!(correlation_id(bad, &TicketScope::All).is_err(), "{bad}");
        }
        assert!(id(TicketScope::Group("g".repeat(65))).is_err());
    }

    #[test]
    fn a_ticket_says_what_the_post_is_cut_by_characters() {
        let act_by = Timestamp::parse("2026-03-31T00:00:00Z").ok();
        let long = "Exchange Online retires légacy authentication — ".repeat(8);
        let t = TicketText::for_post(
            "MC1234567",
            &long,
            &["Exchange Online".to_owned(), " ".to_owned()],
            act_by,
            None,
            "https://changedesk.example/posts/MC1234567",
        );
        assert!(t.summary.starts_with("[M365] MC1234567: Exchange Online"));
        assert!(t.summary.chars().count() <= SUMMARY_CHARS);
        assert!(t.summary.ends_with('…'));
        assert_eq!(
            t.paragraphs,
            [
                "Workloads: Exchange Online.",
                "Act by 2026-03-31.",
                "Microsoft 365 Message Center post MC1234567, tracked by changedesk: https://changedesk.example/posts/MC1234567",
            ]
        );
        let short = TicketText::for_post("MC1", "Short", &[], None, None, "x");
        assert_eq!(short.summary, "[M365] MC1: Short");
        assert_eq!(short.paragraphs.len(), 1);
    }

    #[test]
    fn an_open_item_follows_its_ticket_a_closed_one_never() {
        let m = TicketMapping::default();
        assert_eq!(follow(State::Triaged, TicketProgress::Open, &m), None);
        assert_eq!(
            follow(State::Triaged, TicketProgress::InProgress, &m).map(|o| o.state),
            Some(State::InProgress)
        );
        assert_eq!(
            follow(State::InProgress, TicketProgress::InProgress, &m),
            None,
            "there already"
        );
        assert_eq!(
            follow(State::New, TicketProgress::Done, &m),
            Some(ItemOutcome {
                state: State::Done,
                decision: Some(Decision::ChangeRequestRaised)
            })
        );
        assert_eq!(
            follow(State::InProgress, TicketProgress::Canceled, &m),
            None
        );
        for closed in [State::Done, State::Dismissed] {
            for p in [
                TicketProgress::Open,
                TicketProgress::InProgress,
                TicketProgress::Done,
                TicketProgress::Canceled,
            ] {
                assert_eq!(follow(closed, p, &m), None, "{closed:?} {p:?}");
            }
        }
        // a mapping that dismisses on cancel
        let dismissing = TicketMapping {
            canceled: Some(ItemOutcome {
                state: State::Dismissed,
                decision: None,
            }),
            ..m
        };
        assert_eq!(
            follow(State::Triaged, TicketProgress::Canceled, &dismissing).map(|o| o.state),
            Some(State::Dismissed)
        );
    }
}
