//! Tickets in the enterprise's change-control systems, as changedesk
//! reasons about them (no IO: the connectors talk to the systems, issue
//! 19): which ticket a post has for whom ([`correlation_id`]), what it says
//! ([`TicketText`]), and what a ticket's progress on the other side does to
//! the work item ([`TicketMapping`], [`follow`]).

use serde::{Deserialize, Serialize};

use crate::text::clip_chars;
use crate::timestamp::Timestamp;
use crate::triage::{
    Action, Actor, Decision, State, Transition, WorkItem, transition, transition_for_tenants,
};

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

/// What a ticket is: a post's change request, or a Service Health
/// incident opened in the service desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// A change request for a post.
    #[default]
    Change,
    /// An incident for a Service Health incident or advisory.
    Incident,
}

impl TicketKind {
    /// The stored name: `change` or `incident`.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Change => "change",
            TicketKind::Incident => "incident",
        }
    }

    /// Reads [`TicketKind::as_str`]'s form back.
    pub fn parse(s: &str) -> Result<TicketKind, String> {
        match s.trim() {
            "change" => Ok(TicketKind::Change),
            "incident" => Ok(TicketKind::Incident),
            other => Err(format!(
                "`{}` is not a ticket's kind",
                clip_chars(other, 40)
            )),
        }
    }
}

/// The systems a connector can talk to, by the name changedesk gives them
/// (a channel's kind; the connectors crate talks to them).
pub const SYSTEMS: [&str; 4] = ["servicenow", "jira", "glpi", "planner"];

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

/// Which bucket of its plan a Planner task goes to (`buckets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannerBuckets {
    /// A bucket per workload: the post's first service (`Microsoft
    /// Teams`), made when the plan lacks it.
    #[default]
    Workload,
    /// A bucket per state, as Microsoft suggests for tracking: new tasks in
    /// [`PLANNER_TO_DO`], tasks changedesk closes moved to
    /// [`PLANNER_DONE`].
    State,
    /// One bucket, named by `bucket` ([`PLANNER_TO_DO`] when unnamed).
    One,
}

/// The bucket new tasks go to with [`PlannerBuckets::State`] (and with
/// [`PlannerBuckets::One`] when no bucket is named): Planner's own first
/// bucket's name.
pub const PLANNER_TO_DO: &str = "To do";

/// The bucket tasks changedesk closes go to with [`PlannerBuckets::State`].
pub const PLANNER_DONE: &str = "Done";

impl PlannerBuckets {
    /// The bucket a new task for a post of `services` goes to (`bucket`:
    /// the connector's named one).
    pub fn bucket_for(self, services: &[String], bucket: Option<&str>) -> String {
        let named = bucket.map(str::trim).filter(|b| !b.is_empty());
        match self {
            PlannerBuckets::Workload => services
                .iter()
                .map(|s| s.trim())
                .find(|s| !s.is_empty())
                .map(|s| clip_chars(s, 255).into_owned())
                .unwrap_or_else(|| named.unwrap_or(PLANNER_TO_DO).to_owned()),
            PlannerBuckets::State => PLANNER_TO_DO.to_owned(),
            PlannerBuckets::One => named.unwrap_or(PLANNER_TO_DO).to_owned(),
        }
    }

    /// The bucket a task changedesk closes moves to, if any.
    pub fn done_bucket(self) -> Option<&'static str> {
        (self == PlannerBuckets::State).then_some(PLANNER_DONE)
    }
}

/// The checklist of a Planner task for a post: what its owner goes
/// through, the last step dated when the post says by when.
pub fn planner_checklist(act_by: Option<Timestamp>, start: Option<Timestamp>) -> Vec<String> {
    let mut items = vec![
        "Read the post and assess the impact".to_owned(),
        "Decide in changedesk (act, not applicable, defer)".to_owned(),
        "Tell the people it affects".to_owned(),
    ];
    let last = match (act_by, start) {
        (Some(t), _) => format!("Done before {}", t.date()),
        (None, Some(t)) => format!("Ready for the rollout starting {}", t.date()),
        (None, None) => "Done".to_owned(),
    };
    items.push(last);
    items
}

/// Which of GLPI's APIs a connector uses (`api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlpiApi {
    /// `apirest.php`: sessions by user token or Basic, GLPI 10 and 11.
    #[default]
    Legacy,
    /// GLPI 11's `api.php/v2.0`: OAuth client credentials (scope `api`),
    /// `If-Unmodified-Since` on updates. Changes only: incidents go
    /// through the legacy API.
    HighLevel,
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
        /// The issue type Service Health incidents are opened as (e.g.
        /// Jira Service Management's `Incident`); none: no incidents.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident_issue_type: Option<String>,
    },
    /// A GLPI server: its legacy REST API (`apirest.php`, GLPI 10 and 11)
    /// or GLPI 11's high-level API (`api.php/v2.0`).
    Glpi {
        /// The API: `https://glpi.contoso.com/apirest.php`, or with
        /// `api = high_level` the versioned base,
        /// `https://glpi.contoso.com/api.php/v2.0`.
        url: String,
        /// A login for Basic sign-in (empty: the secret is a user token);
        /// with the high-level API, the OAuth client's id (the secret its
        /// secret).
        #[serde(default)]
        user: String,
        /// Which API.
        #[serde(default)]
        api: GlpiApi,
        /// The entity changes are created in.
        #[serde(default)]
        entities_id: i64,
    },
    /// A plan in Microsoft Planner, through Microsoft Graph with an app
    /// registration (application permission `Tasks.ReadWrite.All`).
    Planner {
        /// Graph's root, e.g. `https://graph.microsoft.com` (without the
        /// version; a national cloud's root there).
        url: String,
        /// The sign-in authority, e.g. `https://login.microsoftonline.com`.
        #[serde(default = "default_login")]
        login: String,
        /// The directory (tenant) id or domain the plan lives in.
        tenant: String,
        /// The app registration's client id (the secret is its client
        /// secret).
        user: String,
        /// The plan's id.
        plan: String,
        /// Which bucket a task goes to.
        #[serde(default)]
        buckets: PlannerBuckets,
        /// The bucket's name with `buckets = one` (default `To do`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bucket: Option<String>,
    },
}

/// Entra ID's global sign-in authority.
pub const ENTRA_LOGIN: &str = "https://login.microsoftonline.com";

fn default_login() -> String {
    ENTRA_LOGIN.to_owned()
}

impl TargetSettings {
    /// The system's name ([`SYSTEMS`]).
    pub fn system(&self) -> &'static str {
        match self {
            TargetSettings::ServiceNow { .. } => "servicenow",
            TargetSettings::Jira { .. } => "jira",
            TargetSettings::Glpi { .. } => "glpi",
            TargetSettings::Planner { .. } => "planner",
        }
    }

    /// The address it talks to.
    pub fn url(&self) -> &str {
        match self {
            TargetSettings::ServiceNow { url, .. }
            | TargetSettings::Jira { url, .. }
            | TargetSettings::Glpi { url, .. }
            | TargetSettings::Planner { url, .. } => url,
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

/// What a ticket's note says of its post's revisions since it last heard
/// of them (`changes`: each revision's field changes, oldest first, as
/// stored): one line per field that moved, from its first old value to its
/// last new one, in words (`Act by: 2026-03-20 → 2026-04-20`; a body's
/// lines added and removed), after a first line naming the post and its
/// revision. Empty when nothing a person would note moved (only the
/// `lastModifiedDateTime`, or a field that moved and came back).
pub fn revision_note(
    post_id: &str,
    revision: i64,
    changes: &[crate::diff::FieldChange],
) -> Vec<String> {
    let day = |v: &Option<String>| -> String {
        match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => "none".to_owned(),
            Some(v) if v.len() >= 10 && Timestamp::parse(v).is_ok() => v.chars().take(10).collect(),
            Some(v) => clip_chars(v, 120).into_owned(),
        }
    };
    let mut lines = Vec::new();
    for field in crate::diff::MESSAGE_FIELDS {
        let label = match *field {
            "last_modified" => continue,
            f => crate::diff::field_label(f),
        };
        let moved: Vec<&crate::diff::FieldChange> =
            changes.iter().filter(|c| c.field == *field).collect();
        let (Some(first), Some(last)) = (moved.first(), moved.last()) else {
            continue;
        };
        if *field == "body" {
            let summaries: Vec<&str> = moved.iter().filter_map(|c| c.summary.as_deref()).collect();
            lines.push(if summaries.is_empty() {
                "Text: changed.".to_owned()
            } else {
                format!("Text: changed ({}).", summaries.join("; "))
            });
            continue;
        }
        if *field == "timeline" {
            // what moved, revision by revision (a phase's own before and after)
            let moves: Vec<&str> = moved.iter().filter_map(|c| c.summary.as_deref()).collect();
            lines.push(format!("{label}: {}.", clip_chars(&moves.join("; "), 600)));
            continue;
        }
        let (old, new) = (day(&first.old), day(&last.new));
        if old != new {
            lines.push(format!("{label}: {old} → {new}"));
        }
    }
    if lines.is_empty() {
        return lines;
    }
    lines.insert(
        0,
        format!("Microsoft updated {post_id} (revision {revision}) in the Message Center:"),
    );
    lines
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

/// What a work item does when its ticket reaches a stage. Text form:
/// `nothing`, `start`, `close:DECISION` (`close` alone: `close:
/// change_request_raised`) or `dismiss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FollowAction {
    /// The item stays as it is (the log says where the ticket is).
    Nothing,
    /// Work starts: `in_progress`.
    Start,
    /// The item is closed with this decision: `done`.
    Close(Decision),
    /// The item is found not relevant: `dismissed`.
    Dismiss,
}

impl FollowAction {
    /// The text form.
    pub fn as_text(&self) -> String {
        match self {
            FollowAction::Nothing => "nothing".to_owned(),
            FollowAction::Start => "start".to_owned(),
            FollowAction::Close(d) => format!("close:{}", d.as_str()),
            FollowAction::Dismiss => "dismiss".to_owned(),
        }
    }

    /// Reads [`FollowAction::as_text`]'s form back.
    pub fn parse(s: &str) -> Result<FollowAction, String> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || {
            format!(
                "`{}` is not nothing, start, close, close:DECISION or dismiss",
                clip_chars(s.trim(), 60)
            )
        };
        Ok(match t.as_str() {
            "nothing" | "none" => FollowAction::Nothing,
            "start" => FollowAction::Start,
            "close" => FollowAction::Close(Decision::ChangeRequestRaised),
            "dismiss" => FollowAction::Dismiss,
            other => match other.split_once(':') {
                Some(("close", d)) => {
                    let decision: Decision = d.trim().parse().map_err(|_| bad())?;
                    if decision == Decision::Missed {
                        return Err("a ticket's progress never closes an item as `missed`".into());
                    }
                    FollowAction::Close(decision)
                }
                _ => return Err(bad()),
            },
        })
    }

    /// The state the item is moved to (`None`: nothing).
    pub fn state(&self) -> Option<State> {
        match self {
            FollowAction::Nothing => None,
            FollowAction::Start => Some(State::InProgress),
            FollowAction::Close(_) => Some(State::Done),
            FollowAction::Dismiss => Some(State::Dismissed),
        }
    }
}

impl TryFrom<String> for FollowAction {
    type Error = String;
    fn try_from(s: String) -> Result<FollowAction, String> {
        FollowAction::parse(&s)
    }
}

impl From<FollowAction> for String {
    fn from(a: FollowAction) -> String {
        a.as_text()
    }
}

/// What an item follows of its ticket, configurable per connector (a
/// channel's `follow` setting, JSON `{"in_progress": "start", "done":
/// "close:change_request_raised", "canceled": "nothing"}`, each field
/// optional): by default an item starts when its ticket does, and is done,
/// its change request raised, when the ticket is; a canceled ticket
/// changes nothing (the log says so, people decide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketMapping {
    /// When the ticket is being implemented.
    pub in_progress: FollowAction,
    /// When the ticket is done.
    pub done: FollowAction,
    /// When the ticket is canceled.
    pub canceled: FollowAction,
    /// When the item closes here (done, or dismissed) while its ticket is
    /// open there: the ticket is closed (canceled for a dismissed item).
    pub close_ticket: bool,
}

impl Default for TicketMapping {
    fn default() -> TicketMapping {
        TicketMapping {
            in_progress: FollowAction::Start,
            done: FollowAction::Close(Decision::ChangeRequestRaised),
            canceled: FollowAction::Nothing,
            close_ticket: false,
        }
    }
}

impl TicketMapping {
    /// What the item does at `progress`.
    pub fn at(&self, progress: TicketProgress) -> FollowAction {
        match progress {
            TicketProgress::Open => FollowAction::Nothing,
            TicketProgress::InProgress => self.in_progress,
            TicketProgress::Done => self.done,
            TicketProgress::Canceled => self.canceled,
        }
    }

    /// In words: `in progress: start; done: close:change_request_raised;
    /// canceled: nothing` (`; closed here: closes the ticket`).
    pub fn describe(&self) -> String {
        format!(
            "in progress: {}; done: {}; canceled: {}{}",
            self.in_progress.as_text(),
            self.done.as_text(),
            self.canceled.as_text(),
            if self.close_ticket {
                "; closed here: closes the ticket"
            } else {
                ""
            }
        )
    }
}

/// What an item in `state` does now that its ticket is at `progress`, per
/// `mapping`: `None` when nothing is to change — the mapping says nothing
/// for that stage, the item is there already, or the item is closed (a
/// person's or a rule's close is never undone by a ticket). A change the
/// connector makes from this is logged with the connector as actor and
/// never sent back to the ticket (no echo).
pub fn follow(
    state: State,
    progress: TicketProgress,
    mapping: &TicketMapping,
) -> Option<FollowAction> {
    if !state.is_open() {
        return None;
    }
    let action = mapping.at(progress);
    let to = action.state()?;
    (to != state).then_some(action)
}

/// Whether a ticket for `tenants` of `item` (`None`: every tenant) is to
/// be closed there because the item closed here: `Some(false)` when it is
/// closed (done) for all of them, `Some(true)` when every one dismissed it
/// (the ticket is canceled), `None` while any is open (or there is none).
pub fn closed_here(item: &WorkItem, tenants: Option<&[String]>) -> Option<bool> {
    let states: Vec<State> = match tenants {
        None => vec![item.state],
        Some(names) => names.iter().map(|t| item.for_tenant(t).state).collect(),
    };
    if states.is_empty() || states.iter().any(|s| s.is_open()) {
        return None;
    }
    Some(states.iter().all(|s| *s == State::Dismissed))
}

/// A ticket that moved on the other side, as the item's log tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMove<'a> {
    /// The connector's name.
    pub connector: &'a str,
    /// The ticket's number.
    pub number: &'a str,
    /// Its state as the system names it now.
    pub state: &'a str,
    /// Where it stands now.
    pub progress: TicketProgress,
    /// Whom it is for.
    pub scope: &'a TicketScope,
}

/// What a work item becomes when its ticket moved (`moved`): a comment by
/// the connector saying where the ticket is, then what `mapping` says of
/// that stage — for the shared item (`tenants` is `None`: a ticket for
/// every tenant), or for `tenants` only (a ticket for a tenant or a group:
/// their own state moves, the others' does not). An item still `new` is
/// triaged on its way to `done`. Where the mapping's move is not allowed
/// (the item or a tenant is closed), nothing moves; the comment is kept.
/// The entries are by [`Actor::Connector`].
pub fn follow_ticket(
    item: &WorkItem,
    tenants: Option<&[String]>,
    moved: &TicketMove<'_>,
    mapping: &TicketMapping,
    now: Timestamp,
) -> Transition {
    let actor = Actor::Connector(moved.connector.to_owned());
    let note = format!(
        "{} is now {} ({}) for {}",
        moved.number,
        moved.state,
        moved.progress.as_str().replace('_', " "),
        moved.scope.as_text()
    );
    let mut out = match transition(item, Action::Comment { text: note }, &actor, now) {
        Ok(t) => t,
        Err(_) => Transition {
            item: item.clone(),
            entries: Vec::new(),
        },
    };
    let action = mapping.at(moved.progress);
    let reason = format!("{} {}", moved.number, moved.state);
    let steps: Vec<Action> = match action {
        FollowAction::Nothing => Vec::new(),
        FollowAction::Start => vec![Action::Start],
        FollowAction::Close(decision) => vec![
            Action::Triage,
            Action::Close {
                decision,
                reason: Some(reason.clone()),
            },
        ],
        FollowAction::Dismiss => vec![Action::Dismiss { reason }],
    };
    for step in steps {
        // triage only on the way to done, where the item is still new
        let only_new = matches!(step, Action::Triage);
        match tenants {
            None => {
                if only_new && out.item.state != State::New {
                    continue;
                }
                if follow(out.item.state, moved.progress, mapping).is_none() {
                    continue;
                }
                if let Ok(t) = transition(&out.item, step, &actor, now) {
                    out.item = t.item;
                    out.entries.extend(t.entries);
                }
            }
            Some(names) => {
                let names: Vec<String> = names
                    .iter()
                    .filter(|t| {
                        let state = out.item.for_tenant(t).state;
                        (!only_new || state == State::New)
                            && follow(state, moved.progress, mapping).is_some()
                    })
                    .cloned()
                    .collect();
                if names.is_empty() {
                    continue;
                }
                if let Ok(t) = transition_for_tenants(&out.item, step, &names, &actor, now) {
                    out.item = t.transition.item;
                    out.entries.extend(t.transition.entries);
                }
            }
        }
    }
    out
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
            follow(State::Triaged, TicketProgress::InProgress, &m),
            Some(FollowAction::Start)
        );
        assert_eq!(
            follow(State::InProgress, TicketProgress::InProgress, &m),
            None,
            "there already"
        );
        assert_eq!(
            follow(State::New, TicketProgress::Done, &m),
            Some(FollowAction::Close(Decision::ChangeRequestRaised))
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
            canceled: FollowAction::Dismiss,
            ..m
        };
        assert_eq!(
            follow(State::Triaged, TicketProgress::Canceled, &dismissing),
            Some(FollowAction::Dismiss)
        );
    }

    #[test]
    fn a_mapping_is_read_from_text_and_json() {
        for (text, action) in [
            ("nothing", FollowAction::Nothing),
            (" Start ", FollowAction::Start),
            ("close", FollowAction::Close(Decision::ChangeRequestRaised)),
            ("close:actioned", FollowAction::Close(Decision::Actioned)),
            ("dismiss", FollowAction::Dismiss),
        ] {
            assert_eq!(FollowAction::parse(text), Ok(action), "{text}");
            assert_eq!(FollowAction::parse(&action.as_text()), Ok(action));
        }
        for bad in ["", "close:", "close:missed", "close:later", "reopen", "é"] {
            assert!(FollowAction::parse(bad).is_err(), "{bad}");
        }
        let m: TicketMapping = serde_json::from_str(r#"{"canceled": "dismiss"}"#).unwrap();
        assert_eq!(
            m,
            TicketMapping {
                canceled: FollowAction::Dismiss,
                ..TicketMapping::default()
            }
        );
        assert_eq!(
            serde_json::to_value(TicketMapping::default()).unwrap(),
            serde_json::json!({"in_progress": "start", "done": "close:change_request_raised", "canceled": "nothing",
                "close_ticket": false})
        );
        assert!(serde_json::from_str::<TicketMapping>(r#"{"closed": "start"}"#).is_err());
        assert!(serde_json::from_str::<TicketMapping>(r#"{"done": "reopen"}"#).is_err());
    }

    fn item(state: State) -> WorkItem {
        let at = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
        let mut i = WorkItem::new("MC1", at);
        if state != State::New {
            i = transition(&i, Action::Triage, &Actor::System, at)
                .unwrap()
                .item;
        }
        match state {
            State::New | State::Triaged => {}
            State::InProgress => {
                i = transition(&i, Action::Start, &Actor::System, at)
                    .unwrap()
                    .item
            }
            State::Done => {
                i = transition(
                    &i,
                    Action::Close {
                        decision: Decision::Actioned,
                        reason: None,
                    },
                    &Actor::System,
                    at,
                )
                .unwrap()
                .item
            }
            State::Dismissed => {
                i = transition(
                    &i,
                    Action::Dismiss {
                        reason: "no".into(),
                    },
                    &Actor::System,
                    at,
                )
                .unwrap()
                .item
            }
        }
        i
    }

    #[test]
    fn a_moved_ticket_moves_the_item_or_its_tenants_by_the_connector() {
        let now = Timestamp::parse("2026-12-02T00:00:00Z").unwrap();
        let all = TicketScope::All;
        let done = TicketMove {
            connector: "snow",
            number: "CHG0030001",
            state: "Closed",
            progress: TicketProgress::Done,
            scope: &all,
        };
        let m = TicketMapping::default();
        // a new item is triaged, then closed, by the connector
        let t = follow_ticket(&item(State::New), None, &done, &m, now);
        assert_eq!(t.item.state, State::Done);
        assert_eq!(t.item.decision, Some(Decision::ChangeRequestRaised));
        let mut actions: Vec<&str> = t.entries.iter().map(|e| e.action.as_str()).collect();
        actions.dedup(); // a close logs its state and its decision
        assert_eq!(actions, ["comment", "triage", "close"]);
        assert!(
            t.entries
                .iter()
                .all(|e| e.actor == Actor::Connector("snow".into()))
        );
        assert_eq!(
            t.entries[0]
                .reason
                .as_deref()
                .or(t.entries[0].new.as_deref()),
            Some("CHG0030001 is now Closed (done) for all")
        );
        // a closed item only hears of it
        let t = follow_ticket(&item(State::Dismissed), None, &done, &m, now);
        assert_eq!(t.item.state, State::Dismissed);
        assert_eq!(t.entries.len(), 1);
        // canceled: by default the log says so, nothing moves
        let canceled = TicketMove {
            progress: TicketProgress::Canceled,
            state: "Canceled",
            ..done.clone()
        };
        let t = follow_ticket(&item(State::InProgress), None, &canceled, &m, now);
        assert_eq!(t.item.state, State::InProgress);
        assert_eq!(t.entries.len(), 1);

        // a group's ticket: its tenants move, the others do not
        let group = TicketScope::Group("emea".into());
        let started = TicketMove {
            progress: TicketProgress::InProgress,
            state: "Implement",
            scope: &group,
            ..done.clone()
        };
        let base = item(State::Triaged);
        let emea = ["contoso".to_owned(), "fabrikam".to_owned()];
        let t = follow_ticket(&base, Some(&emea), &started, &m, now);
        assert_eq!(t.item.state, State::Triaged, "the shared item stays");
        assert_eq!(t.item.for_tenant("contoso").state, State::InProgress);
        assert_eq!(t.item.for_tenant("fabrikam").state, State::InProgress);
        assert_eq!(t.item.for_tenant("tailspin").state, State::Triaged);
        // then done for them; one of them closed already stays as it was
        let mut closed_one = t.item.clone();
        closed_one = transition_for_tenants(
            &closed_one,
            Action::Close {
                decision: Decision::NoActionNeeded,
                reason: None,
            },
            &emea[1..],
            &Actor::Person("alice".into()),
            now,
        )
        .unwrap()
        .transition
        .item;
        let done_group = TicketMove {
            scope: &group,
            ..done.clone()
        };
        let t = follow_ticket(&closed_one, Some(&emea), &done_group, &m, now);
        let contoso = t.item.for_tenant("contoso");
        assert_eq!(contoso.state, State::Done);
        assert_eq!(contoso.decision, Some(Decision::ChangeRequestRaised));
        assert_eq!(
            t.item.for_tenant("fabrikam").decision,
            Some(Decision::NoActionNeeded)
        );
        assert_eq!(t.item.state, State::Triaged);
    }

    #[test]
    fn a_revision_note_says_what_moved_in_words() {
        use crate::diff::FieldChange;
        let change = |field: &str, old: Option<&str>, new: Option<&str>| FieldChange {
            field: field.to_owned(),
            old: old.map(str::to_owned),
            new: new.map(str::to_owned),
            summary: None,
        };
        let changes = [
            change(
                "last_modified",
                Some("2026-03-01T00:00:00Z"),
                Some("2026-03-05T00:00:00Z"),
            ),
            change(
                "act_by",
                Some("2026-03-20T00:00:00Z"),
                Some("2026-04-01T00:00:00Z"),
            ),
            change("start", None, Some("2026-05-01T00:00:00Z")),
            FieldChange {
                summary: Some("+2 −1 lines".into()),
                ..change("body", None, None)
            },
            change(
                "act_by",
                Some("2026-04-01T00:00:00Z"),
                Some("2026-04-20T00:00:00Z"),
            ),
            change("severity", Some("normal"), Some("high")),
            change("severity", Some("high"), Some("normal")),
            change("title", Some("Old"), Some("(Updated) Ünïcode title")),
        ];
        assert_eq!(
            revision_note("MC1", 4, &changes),
            [
                "Microsoft updated MC1 (revision 4) in the Message Center:",
                "Title: Old → (Updated) Ünïcode title",
                "Start date: none → 2026-05-01",
                "Act by: 2026-03-20 → 2026-04-20",
                "Text: changed (+2 −1 lines).",
            ]
        );
        // only the modification time, or a field that came back: nothing
        assert!(revision_note("MC1", 2, &changes[..1]).is_empty());
        assert!(revision_note("MC1", 3, &changes[5..7]).is_empty());
    }

    #[test]
    fn a_ticket_closes_when_its_item_is_closed_for_all_its_tenants() {
        let now = Timestamp::parse("2026-12-02T00:00:00Z").unwrap();
        assert_eq!(closed_here(&item(State::InProgress), None), None);
        assert_eq!(closed_here(&item(State::Done), None), Some(false));
        assert_eq!(closed_here(&item(State::Dismissed), None), Some(true));
        let both = ["contoso".to_owned(), "fabrikam".to_owned()];
        let base = item(State::Triaged);
        assert_eq!(closed_here(&base, Some(&both)), None);
        assert_eq!(closed_here(&base, Some(&[])), None, "nobody");
        let close = |i: &WorkItem, who: &[String], action: Action| {
            transition_for_tenants(i, action, who, &Actor::Person("a".into()), now)
                .unwrap()
                .transition
                .item
        };
        let one = close(
            &base,
            &both[..1],
            Action::Dismiss {
                reason: "n/a".into(),
            },
        );
        assert_eq!(closed_here(&one, Some(&both)), None, "fabrikam is open");
        assert_eq!(closed_here(&one, Some(&both[..1])), Some(true));
        let all = close(
            &one,
            &both[1..],
            Action::Close {
                decision: Decision::Actioned,
                reason: None,
            },
        );
        assert_eq!(closed_here(&all, Some(&both)), Some(false));
    }
}
