//! The weekly review agenda: what the change meeting goes through, built
//! from plain inputs so that any store can feed it.
//!
//! Sections (a post may appear in several):
//! - **New posts** created since `since`, grouped by workload (the post's
//!   first service), most severe first;
//! - **Awaiting triage**: items still `new`, nearest deadline first;
//! - **Due soon**: open items with a deadline in the next 14 days
//!   ([`DeadlineStatus::DueSoon`]);
//! - **Changed since triage**: items flagged by a new revision, not yet
//!   acknowledged;
//! - **Overdue** and **Missed** ([`DeadlineStatus`]), longest late first;
//! - **Decisions** taken since `since`: the `close` and `dismiss` entries of
//!   the log (entries about the post only, never a tenant's).
//!
//! [`Agenda::to_markdown`] renders the meeting document; the agenda is
//! `Serialize` for JSON.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::id_key;
use super::deadlines::{
    DUE_SOON_DAYS, DeadlineStatus, PostDates, awaiting_triage, changed_since_triage,
    deadline_status,
};
use super::item::{Decision, ExceptionCount, Priority, State, TenantOverride, WorkItem};
use super::log::{Actor, LogAction, LogEntry, LogScope};
use crate::graph::{Category, Severity};
use crate::timestamp::Timestamp;

/// The workload shown for a post without services.
pub const NO_WORKLOAD: &str = "(no workload)";

/// One post with its work item, as the agenda needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaPost {
    /// The post's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its services, in the post's order.
    pub services: Vec<String>,
    /// Its category.
    pub category: Category,
    /// Its severity.
    pub severity: Severity,
    /// Whether Microsoft marks it a major change.
    pub major: bool,
    /// Its act-by date.
    pub act_by: Option<Timestamp>,
    /// Graph's `startDateTime` (a rollout start, or the publication).
    pub start: Option<Timestamp>,
    /// When changedesk first saw it.
    pub first_seen: Timestamp,
    /// Its work item.
    pub item: WorkItem,
    /// The owner resolved from the ownership map, if any.
    pub owner: Option<String>,
    /// The tenants that see the post, sorted as the store names them, or
    /// only those with an exception of their own (what
    /// [`AgendaPost::per_tenant_views`] needs by name), or none (with their
    /// exceptions in `counted`, as the server's agenda reads them): the
    /// others are counted in `tenant_count` alone (an MSP's thousands of
    /// items, each seen by a thousand tenants).
    pub tenants: Vec<String>,
    /// How many tenants see the post (at least `tenants.len()` plus those
    /// in `counted`; the others have no exception).
    #[serde(default)]
    pub tenant_count: usize,
    /// Exceptions of tenants not named, counted by what they override
    /// (read instead of the item's `overrides` and the names: the store's
    /// `work_items_counted`); counted in `tenant_count` too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counted: Vec<ExceptionCount>,
}

/// A log entry and the post it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaLogEntry {
    /// The post's id.
    pub message_id: String,
    /// The entry.
    pub entry: LogEntry,
}

/// One post in a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaRow {
    /// The post's id.
    pub id: String,
    /// The post's title.
    pub title: String,
    /// The post's first service, or [`NO_WORKLOAD`].
    pub workload: String,
    /// The post's category.
    pub category: Category,
    /// The post's severity.
    pub severity: Severity,
    /// Whether the post is a major change.
    pub major: bool,
    /// The item's state.
    pub state: State,
    /// The item's priority.
    pub priority: Priority,
    /// The item's assignee, else the resolved owner.
    pub owner: Option<String>,
    /// The item's due date.
    pub due: Option<Timestamp>,
    /// The post's act-by date.
    pub act_by: Option<Timestamp>,
    /// The post's rollout start.
    pub start: Option<Timestamp>,
    /// The decision deadline ([`PostDates::decision_deadline`]).
    pub decision_deadline: Option<Timestamp>,
    /// Where the item stands at the agenda's `generated_at`.
    pub deadline: DeadlineStatus,
    /// The fields changed since triage.
    pub changed: Vec<String>,
    /// The tenants that see the post (or have this view of it), when they
    /// are all named (see [`AgendaPost::tenants`]); else empty, with their
    /// count alone.
    pub tenants: Vec<String>,
    /// How many tenants see the post (or have this view of it).
    #[serde(default)]
    pub tenant_count: usize,
}

/// The new posts of one workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadSection {
    /// The workload as the first of its posts writes it.
    pub workload: String,
    /// Its posts, most severe first.
    pub rows: Vec<AgendaRow>,
}

/// A decision taken: an item closed or dismissed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// When the decision was taken.
    pub at: Timestamp,
    /// The post's id.
    pub message_id: String,
    /// The post's title, when the post is among the agenda's posts.
    pub title: Option<String>,
    /// Who took it.
    pub actor: Actor,
    /// `done` or `dismissed`.
    pub state: State,
    /// The decision, for `done`.
    pub decision: Option<Decision>,
    /// The reason given.
    pub reason: Option<String>,
    /// The tenant the decision is for, when it is one tenant's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// How many rows each section has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgendaCounts {
    /// New posts, all workloads together.
    pub new_posts: usize,
    /// Items still `new`.
    pub awaiting_triage: usize,
    /// Open items with a deadline within the window.
    pub due_soon: usize,
    /// Items flagged by a new revision.
    pub changed_since_triage: usize,
    /// Open items past their due date.
    pub overdue: usize,
    /// Open items past their act-by date (or start).
    pub missed: usize,
    /// Items closed or dismissed since `since`.
    pub decisions: usize,
}

/// The weekly review agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agenda {
    /// The `now` it was built for.
    pub generated_at: Timestamp,
    /// The start of the period it reviews.
    pub since: Timestamp,
    /// How far ahead "due soon" looks.
    pub due_soon_days: i64,
    /// How many rows each section has.
    pub counts: AgendaCounts,
    /// Posts created since `since`, by workload (alphabetical; posts
    /// without a service last).
    pub new_posts: Vec<WorkloadSection>,
    /// Items still `new`, nearest deadline first.
    pub awaiting_triage: Vec<AgendaRow>,
    /// Open items with a deadline within the window, soonest first.
    pub due_soon: Vec<AgendaRow>,
    /// Items flagged by a new revision, by id.
    pub changed_since_triage: Vec<AgendaRow>,
    /// Open items past their due date, longest overdue first.
    pub overdue: Vec<AgendaRow>,
    /// Open items past their act-by date (or start), longest missed first.
    pub missed: Vec<AgendaRow>,
    /// Decisions since `since`, newest first.
    pub decisions: Vec<DecisionRow>,
}

impl AgendaPost {
    /// The post as each group of its tenants has it: one post per distinct
    /// work in force (state, decision, assignee, due date), with the tenants
    /// that have it, so the agenda lists a tenant's own overdue work, and a
    /// post done for most tenants but open for some, where each belongs. A
    /// tenant for which the post is not applicable has it dismissed. Without
    /// exceptions, the post itself. The tenants not named (`tenant_count`
    /// beyond `tenants` and `counted`) have no exception: they are counted
    /// in the view of the item itself, which then names none; the tenants
    /// of `counted` exceptions are counted in the view of theirs.
    pub fn per_tenant_views(self) -> Vec<AgendaPost> {
        let named_exceptions = !self.item.overrides.is_empty() && !self.tenants.is_empty();
        if !named_exceptions && self.counted.is_empty() {
            return vec![self];
        }
        let counted: usize = self.counted.iter().map(|c| c.tenants).sum();
        let unnamed = self
            .tenant_count
            .saturating_sub(self.tenants.len())
            .saturating_sub(counted);
        type Key = (State, Option<Decision>, Option<String>, Option<Timestamp>);
        // each group: what is in force, the tenants named and how many more
        let mut groups: Vec<(Key, WorkItem, Vec<String>, usize)> = Vec::new();
        // one view per distinct exception (an MSP's item has hundreds of
        // exceptions, most alike: computed once each, not per tenant)
        let mut views: Vec<(Option<&TenantOverride>, usize)> = Vec::new();
        let alike = |a: Option<&TenantOverride>, b: Option<&TenantOverride>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.applicable == b.applicable
                    && a.state == b.state
                    && a.decision == b.decision
                    && a.dismiss_reason == b.dismiss_reason
                    && a.assignee == b.assignee
                    && a.due == b.due
            }
            _ => false,
        };
        // the tenants come sorted (as the store names them), as the
        // overrides are: walked side by side instead of a search each; the
        // unnamed ones, without an exception, last
        let named = self
            .item
            .overrides_along(self.tenants.iter().map(String::as_str))
            .map(|(t, o)| (Some(t), o, 1));
        let counted = self
            .counted
            .iter()
            .filter(|c| c.tenants > 0)
            .map(|c| (None, Some(&c.exception), c.tenants));
        let others = (unnamed > 0).then_some((None, None, unnamed));
        for (t, o, n) in named.chain(counted).chain(others) {
            let group = match views.iter().find(|(seen, _)| alike(*seen, o)) {
                Some((_, g)) => *g,
                None => {
                    let mut view = self.item.with_override(o);
                    if o.and_then(|o| o.applicable) == Some(false) {
                        view.state = State::Dismissed;
                        view.decision = None;
                        view.dismiss_reason = Some("not applicable".to_owned());
                    }
                    let key = (view.state, view.decision, view.assignee.clone(), view.due);
                    let g = match groups.iter().position(|(k, _, _, _)| *k == key) {
                        Some(g) => g,
                        None => {
                            groups.push((key, view, Vec::new(), 0));
                            groups.len() - 1
                        }
                    };
                    views.push((o, g));
                    g
                }
            };
            if let Some((_, _, tenants, more)) = groups.get_mut(group) {
                match t {
                    Some(t) => tenants.push(t.to_owned()),
                    None => *more += n,
                }
            }
        }
        // each view shares the post's fields, not its exceptions or names
        let AgendaPost {
            id,
            title,
            services,
            category,
            severity,
            major,
            act_by,
            start,
            first_seen,
            owner,
            ..
        } = self;
        groups
            .into_iter()
            .map(|(_, item, tenants, more)| AgendaPost {
                id: id.clone(),
                title: title.clone(),
                services: services.clone(),
                category: category.clone(),
                severity: severity.clone(),
                major,
                act_by,
                start,
                first_seen,
                owner: owner.clone(),
                item,
                tenant_count: tenants.len() + more,
                // named only when all are
                tenants: if more == 0 { tenants } else { Vec::new() },
                counted: Vec::new(),
            })
            .collect()
    }
}

fn severity_rank(s: &Severity) -> u8 {
    match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Normal => 2,
        Severity::Unknown(_) => 3,
    }
}

fn row(post: &AgendaPost, now: Timestamp) -> AgendaRow {
    let dates = PostDates {
        act_by: post.act_by,
        start: post.start,
        first_seen: post.first_seen,
    };
    let workload = post
        .services
        .iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or(NO_WORKLOAD)
        .to_string();
    AgendaRow {
        id: post.id.clone(),
        title: post.title.clone(),
        workload,
        category: post.category.clone(),
        severity: post.severity.clone(),
        major: post.major,
        state: post.item.state,
        priority: post.item.priority,
        owner: post.item.assignee.clone().or_else(|| post.owner.clone()),
        due: post.item.due,
        act_by: post.act_by,
        start: post.start,
        decision_deadline: dates.decision_deadline(),
        deadline: deadline_status(&post.item, &dates, now),
        changed: post.item.changed_since_triage.clone(),
        tenants: post.tenants.clone(),
        tenant_count: post.tenant_count,
    }
}

fn decision_row(e: &AgendaLogEntry, titles: &BTreeMap<&str, &str>) -> Option<DecisionRow> {
    let entry = &e.entry;
    let tenant = match &entry.scope {
        LogScope::Post => None,
        LogScope::Tenant(t) => Some(t.clone()),
    };
    let (state, decision) = match (entry.action, entry.field.as_deref()) {
        (LogAction::Close, Some("decision")) => {
            let d: Decision = entry.new.as_deref()?.parse().ok()?;
            (State::Done, Some(d))
        }
        (LogAction::Dismiss, Some("state")) => (State::Dismissed, None),
        _ => return None,
    };
    Some(DecisionRow {
        at: entry.at,
        message_id: e.message_id.clone(),
        title: titles.get(e.message_id.as_str()).map(|t| t.to_string()),
        actor: entry.actor.clone(),
        state,
        decision,
        reason: entry.reason.clone(),
        tenant,
    })
}

impl Agenda {
    /// The agenda at `now` for the period from `since`.
    pub fn build(
        posts: &[AgendaPost],
        log: &[AgendaLogEntry],
        now: Timestamp,
        since: Timestamp,
    ) -> Agenda {
        let rows: Vec<(AgendaRow, &AgendaPost)> = posts.iter().map(|p| (row(p, now), p)).collect();
        let pick = |keep: &dyn Fn(&AgendaRow, &AgendaPost) -> bool| -> Vec<AgendaRow> {
            let mut v: Vec<AgendaRow> = rows
                .iter()
                .filter(|(r, p)| keep(r, p))
                .map(|(r, _)| r.clone())
                .collect();
            v.sort_by(|a, b| id_key(&a.id).cmp(&id_key(&b.id)));
            v
        };

        // new posts, by workload
        let mut by_workload: BTreeMap<(bool, String), WorkloadSection> = BTreeMap::new();
        // a post split per tenant (`AgendaPost::per_tenant_views`) is new once
        let mut seen_new = std::collections::BTreeSet::new();
        for (r, _) in rows
            .iter()
            .filter(|(_, p)| p.item.created_at >= since && seen_new.insert(p.id.as_str()))
        {
            let key = (r.workload == NO_WORKLOAD, r.workload.to_lowercase());
            by_workload
                .entry(key)
                .or_insert_with(|| WorkloadSection {
                    workload: r.workload.clone(),
                    rows: Vec::new(),
                })
                .rows
                .push(r.clone());
        }
        let mut new_posts: Vec<WorkloadSection> = by_workload.into_values().collect();
        for s in &mut new_posts {
            s.rows.sort_by(|a, b| {
                (severity_rank(&a.severity), !a.major, id_key(&a.id)).cmp(&(
                    severity_rank(&b.severity),
                    !b.major,
                    id_key(&b.id),
                ))
            });
        }

        let mut awaiting_triage = pick(&|_, p| awaiting_triage(&p.item));
        awaiting_triage.sort_by_key(|r| (r.decision_deadline.is_none(), r.decision_deadline));
        let mut due_soon = pick(&|r, _| matches!(r.deadline, DeadlineStatus::DueSoon(_)));
        due_soon.sort_by_key(|r| match r.deadline {
            DeadlineStatus::DueSoon(d) => d,
            _ => u32::MAX,
        });
        let changed_since_triage = pick(&|_, p| changed_since_triage(&p.item));
        let mut overdue = pick(&|r, _| matches!(r.deadline, DeadlineStatus::Overdue { .. }));
        overdue.sort_by_key(|r| match r.deadline {
            DeadlineStatus::Overdue { since } => Some(since),
            _ => None,
        });
        let mut missed = pick(&|r, _| matches!(r.deadline, DeadlineStatus::Missed { .. }));
        missed.sort_by_key(|r| match r.deadline {
            DeadlineStatus::Missed { since } => Some(since),
            _ => None,
        });

        let titles: BTreeMap<&str, &str> = posts
            .iter()
            .map(|p| (p.id.as_str(), p.title.as_str()))
            .collect();
        let mut decisions: Vec<DecisionRow> = log
            .iter()
            .filter(|e| e.entry.at >= since && e.entry.at <= now)
            .filter_map(|e| decision_row(e, &titles))
            .collect();
        decisions.sort_by(|a, b| {
            (Reverse(a.at), id_key(&a.message_id)).cmp(&(Reverse(b.at), id_key(&b.message_id)))
        });

        let counts = AgendaCounts {
            new_posts: new_posts.iter().map(|s| s.rows.len()).sum(),
            awaiting_triage: awaiting_triage.len(),
            due_soon: due_soon.len(),
            changed_since_triage: changed_since_triage.len(),
            overdue: overdue.len(),
            missed: missed.len(),
            decisions: decisions.len(),
        };
        Agenda {
            generated_at: now,
            since,
            due_soon_days: DUE_SOON_DAYS,
            counts,
            new_posts,
            awaiting_triage,
            due_soon,
            changed_since_triage,
            overdue,
            missed,
            decisions,
        }
    }
}
