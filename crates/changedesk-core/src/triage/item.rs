//! The work item: one per post, triaged once for every tenant, with
//! per-tenant exceptions (a tenant's own state, decision, assignee, due
//! date and note; or "not applicable").

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

text_enum! {
    /// Where a work item is in its life. The module documentation of
    /// [`crate::triage`] has the transition table.
    pub enum State: "state" {
        /// Not looked at yet.
        New => "new",
        /// Found relevant; work not started.
        Triaged => "triaged",
        /// Found not relevant (with a reason). Closed.
        Dismissed => "dismissed",
        /// Someone is working on it.
        InProgress => "in_progress",
        /// Closed with a [`Decision`].
        Done => "done",
    }
}

impl State {
    /// Whether the item is closed: `done` or `dismissed`.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Done | State::Dismissed)
    }

    /// Whether the item still waits for a decision: `new`, `triaged` or
    /// `in_progress`.
    pub fn is_open(self) -> bool {
        !self.is_closed()
    }

    /// The state for people: `in progress` rather than `in_progress`.
    pub fn label(self) -> &'static str {
        match self {
            State::InProgress => "in progress",
            other => other.as_str(),
        }
    }
}

text_enum! {
    /// How a `done` item was closed.
    pub enum Decision: "decision" {
        /// Reviewed; nothing to do.
        NoActionNeeded => "no_action_needed",
        /// The change was prepared for (settings, configuration, scripts).
        Actioned => "actioned",
        /// Users or stakeholders were told.
        Communicated => "communicated",
        /// A change request was raised in the customer's process.
        ChangeRequestRaised => "change_request_raised",
        /// Consciously postponed.
        Deferred => "deferred",
        /// The act-by date (or the rollout) passed without a decision.
        Missed => "missed",
    }
}

text_enum! {
    /// Feedback given to Microsoft about a change (issue 21: the maturity
    /// level's "feedback to Microsoft recorded").
    pub enum FeedbackKind: "feedback" {
        /// A thumbs-down (or up) on the post in Message Center.
        ThumbsDown => "thumbs_down",
        /// An item in the Microsoft Feedback portal.
        FeedbackPortal => "feedback_portal",
        /// A support case opened with Microsoft.
        SupportCase => "support_case",
        /// Brought to the Microsoft account team.
        AccountTeam => "account_team",
    }
}

impl FeedbackKind {
    /// For people: `a support case`.
    pub fn label(self) -> &'static str {
        match self {
            FeedbackKind::ThumbsDown => "Thumbs-down in Message Center",
            FeedbackKind::FeedbackPortal => "Feedback portal item",
            FeedbackKind::SupportCase => "Support case",
            FeedbackKind::AccountTeam => "Brought to the account team",
        }
    }
}

text_enum! {
    /// What a pilot group recommends after trying a change in its preview
    /// or targeted release (issue 21: "staff across the business are engaged
    /// in preview activities … and make recommendations").
    pub enum PilotRecommendation: "recommendation" {
        /// Roll it out as it comes.
        Adopt => "adopt",
        /// Roll it out with changes (settings, training, communication).
        AdoptWithChanges => "adopt_with_changes",
        /// Hold it back for now (where Microsoft lets us).
        Delay => "delay",
        /// It breaks something: block it or escalate.
        Block => "block",
    }
}

impl PilotRecommendation {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            PilotRecommendation::Adopt => "Adopt",
            PilotRecommendation::AdoptWithChanges => "Adopt with changes",
            PilotRecommendation::Delay => "Delay",
            PilotRecommendation::Block => "Block",
        }
    }
}

text_enum! {
    /// How urgent a work item is. Ordered: `low < normal < high < critical`.
    pub enum Priority: "priority" {
        /// Whenever convenient.
        Low => "low",
        /// The default.
        Normal => "normal",
        /// Before the normal ones.
        High => "high",
        /// Now.
        Critical => "critical",
    }
}

// text_enum! declares no #[default] slot
#[allow(clippy::derivable_impls)]
impl Default for Priority {
    fn default() -> Self {
        Priority::Normal
    }
}

/// What is different for one tenant (an *exception*): not applicable
/// there (e.g. its rollout status says *not supported*), its own state and
/// decision ("done for fabrikam, in progress for tailspin"), another
/// assignee, another due date, a note. `None` fields are not overridden:
/// the item's shared value is in force for that tenant.
///
/// An exception's state always differs from the shared one (with its
/// decision): one that would equal it is cleared, so the tenant follows
/// the shared state again ([`WorkItem::normalize_exceptions`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantOverride {
    /// The tenant's name (lower case).
    pub tenant: String,
    /// `Some(false)`: the post does not apply to this tenant (which then
    /// counts as closed there, whatever the states say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicable: Option<bool>,
    /// The tenant's own state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// The tenant's decision; set while its own state is `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Why the tenant's own state is `dismissed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_reason: Option<String>,
    /// Who handles the item for this tenant (an owner name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// When the item is due for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// A note about this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TenantOverride {
    /// An exception for `tenant` that overrides nothing yet.
    pub fn empty(tenant: &str) -> TenantOverride {
        TenantOverride {
            tenant: tenant.to_string(),
            applicable: None,
            state: None,
            decision: None,
            dismiss_reason: None,
            assignee: None,
            due: None,
            note: None,
        }
    }

    /// Whether nothing is overridden (such an override is not kept).
    pub fn is_empty(&self) -> bool {
        self.applicable.is_none()
            && self.state.is_none()
            && self.assignee.is_none()
            && self.due.is_none()
            && self.note.is_none()
    }
}

/// Tenants sharing one exception of a work item, counted instead of named:
/// what the exception overrides (its `tenant` empty, its `note` and
/// `dismiss_reason` left out) and how many tenants have it. A list that
/// shows how many tenants stand where (the agenda) reads these few per item
/// instead of an MSP's hundreds of exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionCount {
    /// What the tenants' exception overrides.
    pub exception: TenantOverride,
    /// How many tenants have it.
    pub tenants: usize,
}

/// Where a tenant stands on a post, for counting: the state in force for
/// it, or not applicable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStanding {
    /// The state in force for the tenant.
    In(State),
    /// The post does not apply to the tenant.
    NotApplicable,
}

/// How many tenants stand where on a post: "done for 812, open for 3, not
/// applicable for 185" ([`WorkItem::tenant_summary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantSummary {
    pub new: usize,
    pub triaged: usize,
    pub in_progress: usize,
    pub done: usize,
    pub dismissed: usize,
    pub not_applicable: usize,
}

impl TenantSummary {
    /// Counts one more tenant standing at `s`.
    pub fn add(&mut self, s: TenantStanding) {
        self.add_many(s, 1);
    }

    /// Counts `n` more tenants standing at `s`.
    pub fn add_many(&mut self, s: TenantStanding, n: usize) {
        *match s {
            TenantStanding::In(State::New) => &mut self.new,
            TenantStanding::In(State::Triaged) => &mut self.triaged,
            TenantStanding::In(State::InProgress) => &mut self.in_progress,
            TenantStanding::In(State::Done) => &mut self.done,
            TenantStanding::In(State::Dismissed) => &mut self.dismissed,
            TenantStanding::NotApplicable => &mut self.not_applicable,
        } += n;
    }

    /// Tenants where the item is open (new, triaged or in progress).
    pub fn open(&self) -> usize {
        self.new + self.triaged + self.in_progress
    }

    /// Every tenant counted.
    pub fn total(&self) -> usize {
        self.open() + self.done + self.dismissed + self.not_applicable
    }

    /// Whether the tenants do not all stand in the same place.
    pub fn is_mixed(&self) -> bool {
        [
            self.new,
            self.triaged,
            self.in_progress,
            self.done,
            self.dismissed,
            self.not_applicable,
        ]
        .iter()
        .filter(|n| **n > 0)
        .count()
            > 1
    }

    /// For people, the largest first: `done for 812 · open for 3 · not
    /// applicable for 185` (open counts new, triaged and in progress).
    pub fn describe(&self) -> String {
        let mut parts = vec![
            (self.done, "done"),
            (self.open(), "open"),
            (self.dismissed, "dismissed"),
            (self.not_applicable, "not applicable"),
        ];
        parts.retain(|(n, _)| *n > 0);
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        parts
            .iter()
            .map(|(n, what)| format!("{what} for {n}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// The triage record of one post, shared by every tenant that sees it.
///
/// Change it through [`super::Action`]s ([`WorkItem::apply`] or
/// [`super::transition`]), which check the transition table and return
/// the log entries to append; [`super::on_revision`] and
/// [`super::auto_close_missed`] make the automatic changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    /// The post's id, e.g. `MC1005517`.
    pub message_id: String,
    /// Where the item is in its life.
    pub state: State,
    /// Set while `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Who handles the item (an owner name), if anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// How urgent the item is.
    #[serde(default)]
    pub priority: Priority,
    /// When the item should be done, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// Free labels, lower case.
    #[serde(default)]
    pub labels: BTreeSet<String>,
    /// The change needs a change request in the customer's process.
    #[serde(default)]
    pub requires_change_request: bool,
    /// The change needs to be communicated to users.
    #[serde(default)]
    pub requires_communication: bool,
    /// The post's fields that changed since the item was triaged (names as
    /// [`crate::diff::message_changes`] writes them), until acknowledged.
    #[serde(default)]
    pub changed_since_triage: Vec<String>,
    /// When the item was created (the post was first seen).
    pub created_at: Timestamp,
    /// When the item was first found relevant (`triaged`, or started
    /// straight from `new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_triaged_at: Option<Timestamp>,
    /// When work first started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When the item was last closed (`done` or `dismissed`); cleared when
    /// it is reopened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// How many times the item was reopened.
    #[serde(default)]
    pub reopened_count: u32,
    /// Why the item was dismissed; set while `dismissed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_reason: Option<String>,
    /// Per-tenant overrides, sorted by tenant, at most one per tenant (as
    /// read, whatever order the JSON had: [`WorkItem::override_for`] relies
    /// on it).
    #[serde(default, deserialize_with = "sorted_overrides")]
    pub overrides: Vec<TenantOverride>,
    /// The deadline status people were last told of (due soon, overdue,
    /// missed), so a crossing notifies once; `None` when on track.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_notified: Option<super::deadlines::DeadlineKind>,
}

impl WorkItem {
    /// A `new` item for the post `message_id`, created at `now`.
    pub fn new(message_id: &str, now: Timestamp) -> WorkItem {
        WorkItem {
            message_id: message_id.trim().to_string(),
            state: State::New,
            decision: None,
            assignee: None,
            priority: Priority::Normal,
            due: None,
            labels: BTreeSet::new(),
            requires_change_request: false,
            requires_communication: false,
            changed_since_triage: Vec::new(),
            created_at: now,
            first_triaged_at: None,
            started_at: None,
            closed_at: None,
            reopened_count: 0,
            dismiss_reason: None,
            overrides: Vec::new(),
            deadline_notified: None,
        }
    }

    /// Sets the item's exceptions (read apart from the item), sorted by
    /// tenant as [`WorkItem::override_for`] needs them.
    pub fn put_overrides(&mut self, mut overrides: Vec<TenantOverride>) {
        if !overrides.is_sorted_by(|a, b| lower_cmp(&a.tenant, &b.tenant).is_le()) {
            overrides.sort_by(|a, b| lower_cmp(&a.tenant, &b.tenant));
        }
        self.overrides = overrides;
    }

    /// The item without its exceptions (their `overrides` empty): what is
    /// stored as the item, its exceptions kept apart.
    pub fn without_overrides(&self) -> WorkItem {
        self.with_override(None)
    }

    /// The override for `tenant` (compared ignoring case: overrides are
    /// for lower-case tenant names), if any. Overrides are sorted by tenant
    /// (kept so, and sorted as read): a binary search, as a post's summary
    /// asks for each of a thousand tenants (a miss looked at each override:
    /// half the board's time at 2,000 tenants).
    pub fn override_for(&self, tenant: &str) -> Option<&TenantOverride> {
        let key = tenant.trim();
        self.overrides
            .binary_search_by(|o| lower_cmp(&o.tenant, key))
            .ok()
            .and_then(|i| self.overrides.get(i))
    }

    /// Whether the post applies to `tenant`: true unless its override says
    /// `applicable = false`.
    pub fn applies_to(&self, tenant: &str) -> bool {
        self.override_for(tenant)
            .and_then(|o| o.applicable)
            .unwrap_or(true)
    }

    /// The state in force for `tenant`: its own, else the item's.
    pub fn state_for(&self, tenant: &str) -> State {
        self.override_for(tenant)
            .and_then(|o| o.state)
            .unwrap_or(self.state)
    }

    /// The decision in force for `tenant`: its own with its own state,
    /// else the item's.
    pub fn decision_for(&self, tenant: &str) -> Option<Decision> {
        match self.override_for(tenant) {
            Some(o) if o.state.is_some() => o.decision,
            _ => self.decision,
        }
    }

    /// Where `tenant` stands: not applicable, or the state in force.
    pub fn standing_for(&self, tenant: &str) -> TenantStanding {
        let o = self.override_for(tenant);
        if o.and_then(|o| o.applicable) == Some(false) {
            return TenantStanding::NotApplicable;
        }
        TenantStanding::In(o.and_then(|o| o.state).unwrap_or(self.state))
    }

    /// Whether the item is open for `tenant`: it applies there and its
    /// state in force is open.
    pub fn is_open_for(&self, tenant: &str) -> bool {
        matches!(self.standing_for(tenant), TenantStanding::In(s) if s.is_open())
    }

    /// The assignee for `tenant`: its override's, else the item's.
    pub fn assignee_for(&self, tenant: &str) -> Option<&str> {
        self.override_for(tenant)
            .and_then(|o| o.assignee.as_deref())
            .or(self.assignee.as_deref())
    }

    /// The due date for `tenant`: its override's, else the item's.
    pub fn due_for(&self, tenant: &str) -> Option<Timestamp> {
        self.override_for(tenant).and_then(|o| o.due).or(self.due)
    }

    /// Where each of `tenants` (those that see the post) stands.
    pub fn tenant_summary<'a>(&self, tenants: impl IntoIterator<Item = &'a str>) -> TenantSummary {
        let mut out = TenantSummary::default();
        if self.overrides.is_empty() {
            for _ in tenants {
                out.add(TenantStanding::In(self.state));
            }
            return out;
        }
        for (_, o) in self.overrides_along(tenants) {
            out.add(match o {
                Some(o) if o.applicable == Some(false) => TenantStanding::NotApplicable,
                Some(o) => TenantStanding::In(o.state.unwrap_or(self.state)),
                None => TenantStanding::In(self.state),
            });
        }
        out
    }

    /// As [`WorkItem::tenant_summary`] of `named`, with `unnamed` more
    /// tenants that have no exception (where the item itself stands): a
    /// list's row names only the tenants with an exception of an item seen
    /// by thousands.
    pub fn tenant_summary_counted<'a>(
        &self,
        named: impl IntoIterator<Item = &'a str>,
        unnamed: usize,
    ) -> TenantSummary {
        let mut out = self.tenant_summary(named);
        out.add_many(TenantStanding::In(self.state), unnamed);
        out
    }

    /// Each of `tenants` with its override, if any. Tenants in order
    /// (ignoring case, as the store names them) are walked beside the
    /// sorted overrides, a comparison or two each; one out of order is
    /// searched for. A post's summary asks this of 2,000 tenants: a search
    /// each was the board's largest cost.
    pub fn overrides_along<'a, 't>(
        &'a self,
        tenants: impl IntoIterator<Item = &'t str>,
    ) -> impl Iterator<Item = (&'t str, Option<&'a TenantOverride>)> {
        let mut at = 0usize;
        let mut last: Option<&'t str> = None;
        tenants.into_iter().map(move |t| {
            let key = t.trim();
            let walk = last.is_none_or(|l| lower_cmp(l, key).is_le());
            let o = if walk {
                last = Some(key);
                while self
                    .overrides
                    .get(at)
                    .is_some_and(|o| lower_cmp(&o.tenant, key).is_lt())
                {
                    at += 1;
                }
                self.overrides
                    .get(at)
                    .filter(|o| lower_cmp(&o.tenant, key).is_eq())
            } else {
                self.override_for(key)
            };
            (t, o)
        })
    }

    /// The tenant of `view`, a copy of this item as one tenant sees it
    /// ([`WorkItem::for_tenant`]), after an action: its state, decision,
    /// assignee and due date kept as that tenant's exception where they
    /// differ from the item's.
    pub(crate) fn keep_for_tenant(&mut self, tenant: &str, view: &WorkItem) {
        let pos = self.overrides.iter().position(|o| o.tenant == tenant);
        let mut o = pos
            .and_then(|i| self.overrides.get(i).cloned())
            .unwrap_or_else(|| TenantOverride::empty(tenant));
        let own_state = !self.same_state(view.state, view.decision, view.dismiss_reason.as_deref());
        o.state = own_state.then_some(view.state);
        o.decision = if own_state { view.decision } else { None };
        o.dismiss_reason = if own_state && view.state == State::Dismissed {
            view.dismiss_reason.clone()
        } else {
            None
        };
        o.assignee = view
            .assignee
            .clone()
            .filter(|a| Some(a) != self.assignee.as_ref());
        o.due = view.due.filter(|d| Some(*d) != self.due);
        match (pos, o.is_empty()) {
            (Some(i), true) => {
                self.overrides.remove(i);
            }
            (Some(i), false) => {
                if let Some(slot) = self.overrides.get_mut(i) {
                    *slot = o;
                }
            }
            (None, true) => {}
            (None, false) => {
                let at = self
                    .overrides
                    .partition_point(|x| x.tenant.as_str() < tenant);
                self.overrides.insert(at, o);
            }
        }
    }

    /// Whether a tenant's `state`, `decision` and dismissal `reason` are
    /// the shared ones (the reason counts only for `dismissed`).
    fn same_state(&self, state: State, decision: Option<Decision>, reason: Option<&str>) -> bool {
        state == self.state
            && decision == self.decision
            && (state != State::Dismissed || reason == self.dismiss_reason.as_deref())
    }

    /// This item as `tenant` sees it: the state, decision, dismissal
    /// reason, assignee and due date in force for it (everything else is
    /// shared).
    pub fn for_tenant(&self, tenant: &str) -> WorkItem {
        self.with_override(self.override_for(tenant))
    }

    /// The item with the exception `o` (of one of its tenants, or none)
    /// applied, without its exceptions: [`WorkItem::for_tenant`] for the
    /// tenant whose exception it is. The exceptions are not cloned (an
    /// MSP's item has hundreds).
    pub fn with_override(&self, o: Option<&TenantOverride>) -> WorkItem {
        let mut view = WorkItem {
            message_id: self.message_id.clone(),
            state: self.state,
            decision: self.decision,
            assignee: self.assignee.clone(),
            priority: self.priority,
            due: self.due,
            labels: self.labels.clone(),
            requires_change_request: self.requires_change_request,
            requires_communication: self.requires_communication,
            changed_since_triage: self.changed_since_triage.clone(),
            created_at: self.created_at,
            first_triaged_at: self.first_triaged_at,
            started_at: self.started_at,
            closed_at: self.closed_at,
            reopened_count: self.reopened_count,
            dismiss_reason: self.dismiss_reason.clone(),
            overrides: Vec::new(),
            deadline_notified: self.deadline_notified,
        };
        if let Some(o) = o {
            if let Some(s) = o.state {
                view.state = s;
                view.decision = o.decision;
                view.dismiss_reason = o.dismiss_reason.clone();
                if s.is_open() {
                    view.closed_at = None;
                }
            }
            if let Some(a) = &o.assignee {
                view.assignee = Some(a.clone());
            }
            if let Some(d) = o.due {
                view.due = Some(d);
            }
        }
        view
    }

    /// Who the item is assigned to for each of `tenants` (an exception's
    /// assignee, else the item's own), grouped: each assignee in force with
    /// the tenants it holds for, in the order first met. Tenants for which
    /// the post is not applicable are left out.
    pub fn assignees_in_force(&self, tenants: &[String]) -> Vec<(Option<String>, Vec<String>)> {
        let mut out: Vec<(Option<String>, Vec<String>)> = Vec::new();
        for t in tenants {
            let o = self.override_for(t);
            if o.and_then(|o| o.applicable) == Some(false) {
                continue;
            }
            let who = o
                .and_then(|o| o.assignee.clone())
                .or_else(|| self.assignee.clone());
            match out.iter_mut().find(|(a, _)| *a == who) {
                Some((_, ts)) => ts.push(t.clone()),
                None => out.push((who, vec![t.clone()])),
            }
        }
        out
    }

    /// Clears each exception's state that equals the shared one (with its
    /// decision), so the tenant follows the shared state again, and its
    /// assignee or due date that equals the shared one; drops exceptions
    /// left empty. Returns the tenants whose own state was cleared.
    pub fn normalize_exceptions(&mut self) -> Vec<String> {
        let (state, decision) = (self.state, self.decision);
        let (assignee, due) = (self.assignee.clone(), self.due);
        let mut cleared = Vec::new();
        let reason = self.dismiss_reason.clone();
        let same = |s: State, d: Option<Decision>, r: Option<&str>| {
            s == state && d == decision && (s != State::Dismissed || r == reason.as_deref())
        };
        for o in &mut self.overrides {
            if o.state
                .is_some_and(|s| same(s, o.decision, o.dismiss_reason.as_deref()))
            {
                o.state = None;
                o.decision = None;
                o.dismiss_reason = None;
                cleared.push(o.tenant.clone());
            }
            if o.state.is_none() {
                o.decision = None;
                o.dismiss_reason = None;
            }
            if o.assignee.is_some() && o.assignee == assignee {
                o.assignee = None;
            }
            if o.due.is_some() && o.due == due {
                o.due = None;
            }
        }
        self.overrides.retain(|o| !o.is_empty());
        cleared
    }

    /// Whether the post changed since the item was triaged and nobody has
    /// acknowledged it yet.
    pub fn is_flagged(&self) -> bool {
        !self.changed_since_triage.is_empty()
    }
}

/// Overrides as read, sorted by tenant (stable: a duplicate keeps its
/// order), so a lookup can search them.
fn sorted_overrides<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<TenantOverride>, D::Error> {
    let mut overrides = <Vec<TenantOverride> as serde::Deserialize>::deserialize(d)?;
    if !overrides.is_sorted_by(|a, b| lower_cmp(&a.tenant, &b.tenant).is_le()) {
        overrides.sort_by(|a, b| lower_cmp(&a.tenant, &b.tenant));
    }
    Ok(overrides)
}

/// `a` and `b` compared as their ASCII lower-case forms (tenant names).
pub(crate) fn lower_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn enums_have_snake_case_text_and_clear_errors() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!("In Progress".parse::<State>().unwrap(), State::InProgress);
        assert_eq!("in-progress".parse::<State>().unwrap(), State::InProgress);
        assert_eq!(
            "closed".parse::<State>().unwrap_err().to_string(),
            "unknown state `closed` (expected one of: new, triaged, dismissed, in_progress, done)"
        );
        assert_eq!(
            "urgent".parse::<Priority>().unwrap_err().to_string(),
            "unknown priority `urgent` (expected one of: low, normal, high, critical)"
        );
        assert_eq!(
            "fixed".parse::<Decision>().unwrap_err().to_string(),
            "unknown decision `fixed` (expected one of: no_action_needed, actioned, communicated, change_request_raised, deferred, missed)"
        );
        assert_eq!(
            "CHANGE_REQUEST_RAISED".parse::<Decision>().unwrap(),
            Decision::ChangeRequestRaised
        );
        let e = serde_json::from_str::<Priority>("\"urgent\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected one of: low, normal, high, critical"),
            "{e}"
        );
        assert!(Priority::Low < Priority::Normal && Priority::High < Priority::Critical);
        assert_eq!(Priority::default(), Priority::Normal);
        assert_eq!(State::InProgress.label(), "in progress");
    }

    #[test]
    fn overrides_win_for_their_tenant() {
        let mut item = WorkItem::new(" MC1 ", at("2025-01-01T00:00:00Z"));
        assert_eq!(item.message_id, "MC1");
        item.assignee = Some("alice".into());
        item.due = Some(at("2025-02-01T00:00:00Z"));
        item.overrides.push(TenantOverride {
            applicable: Some(false),
            assignee: Some("bob".into()),
            ..TenantOverride::empty("contoso")
        });
        assert!(!item.applies_to("Contoso"));
        assert!(item.applies_to("fabrikam"));
        assert_eq!(item.assignee_for("contoso"), Some("bob"));
        assert_eq!(item.assignee_for("fabrikam"), Some("alice"));
        assert_eq!(item.due_for("contoso"), item.due);
    }

    #[test]
    fn overrides_read_in_any_order_are_found_by_search() {
        let item: WorkItem = serde_json::from_value(serde_json::json!({
            "message_id": "MC1",
            "state": "new",
            "priority": "normal",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
            "overrides": [
                {"tenant": "zeta", "applicable": false},
                {"tenant": "Alpha", "assignee": "bob"},
                {"tenant": "mu", "assignee": "carol"}
            ]
        }))
        .unwrap();
        let names: Vec<&str> = item.overrides.iter().map(|o| o.tenant.as_str()).collect();
        assert_eq!(names, ["Alpha", "mu", "zeta"]);
        assert_eq!(item.assignee_for("alpha"), Some("bob"));
        assert_eq!(item.assignee_for("MU"), Some("carol"));
        assert!(!item.applies_to("zeta"));
        for t in ["beta", "a", "zz", ""] {
            assert!(item.override_for(t).is_none(), "{t}");
        }
    }

    /// The walk beside the overrides finds what a search finds, for
    /// tenants in order, out of order, repeated, in another case.
    #[test]
    fn overrides_along_agrees_with_a_search_each() {
        let item: WorkItem = serde_json::from_value(serde_json::json!({
            "message_id": "MC1",
            "state": "triaged",
            "priority": "normal",
            "created_at": "2025-01-01T00:00:00Z",
            "overrides": [
                {"tenant": "zeta", "applicable": false},
                {"tenant": "alpha", "state": "done", "decision": "actioned"},
                {"tenant": "mu", "assignee": "carol"},
                {"tenant": "beta", "state": "in_progress"}
            ]
        }))
        .unwrap();
        for tenants in [
            vec!["a", "alpha", "b", "beta", "mu", "nu", "zeta", "zz"],
            vec!["zz", "zeta", "mu", "alpha", "beta"],
            vec!["alpha", "alpha", "Beta", "mu", "beta", " zeta "],
            vec!["mu", "alpha", "zeta", "beta", "omega"],
            vec![],
        ] {
            let walked: Vec<(&str, Option<&str>)> = item
                .overrides_along(tenants.iter().copied())
                .map(|(t, o)| (t, o.map(|o| o.tenant.as_str())))
                .collect();
            let searched: Vec<(&str, Option<&str>)> = tenants
                .iter()
                .map(|t| (*t, item.override_for(t).map(|o| o.tenant.as_str())))
                .collect();
            assert_eq!(walked, searched, "{tenants:?}");
            let mut each = TenantSummary::default();
            for t in &tenants {
                each.add(item.standing_for(t));
            }
            assert_eq!(
                item.tenant_summary(tenants.iter().copied()),
                each,
                "{tenants:?}"
            );
        }
    }

    #[test]
    fn a_minimal_item_deserialises() {
        let item: WorkItem = serde_json::from_str(
            r#"{"message_id":"MC1","state":"triaged","created_at":"2025-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(item.state, State::Triaged);
        assert_eq!(item.priority, Priority::Normal);
        let json = serde_json::to_string(&item).unwrap();
        let back: WorkItem = serde_json::from_str(&json).unwrap();
        assert_eq!(back, item);
    }
}
