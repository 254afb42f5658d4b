//! The work item: one per post, triaged once for every tenant, with
//! per-tenant overrides.

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

/// What is different for one tenant: not applicable there (e.g. its
/// rollout status says *not supported*), another assignee, another due
/// date, a note. `None` fields are not overridden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantOverride {
    /// The tenant's name (lower case).
    pub tenant: String,
    /// `Some(false)`: the post does not apply to this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicable: Option<bool>,
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
    /// Whether nothing is overridden (such an override is not kept).
    pub fn is_empty(&self) -> bool {
        self.applicable.is_none()
            && self.assignee.is_none()
            && self.due.is_none()
            && self.note.is_none()
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
    /// Per-tenant overrides, sorted by tenant, at most one per tenant.
    #[serde(default)]
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

    /// The override for `tenant` (compared ignoring case), if any.
    pub fn override_for(&self, tenant: &str) -> Option<&TenantOverride> {
        let tenant = tenant.trim();
        self.overrides
            .iter()
            .find(|o| o.tenant.eq_ignore_ascii_case(tenant))
    }

    /// Whether the post applies to `tenant`: true unless its override says
    /// `applicable = false`.
    pub fn applies_to(&self, tenant: &str) -> bool {
        self.override_for(tenant)
            .and_then(|o| o.applicable)
            .unwrap_or(true)
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

    /// Whether the post changed since the item was triaged and nobody has
    /// acknowledged it yet.
    pub fn is_flagged(&self) -> bool {
        !self.changed_since_triage.is_empty()
    }
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
            tenant: "contoso".into(),
            applicable: Some(false),
            assignee: Some("bob".into()),
            due: None,
            note: None,
        });
        assert!(!item.applies_to("Contoso"));
        assert!(item.applies_to("fabrikam"));
        assert_eq!(item.assignee_for("contoso"), Some("bob"));
        assert_eq!(item.assignee_for("fabrikam"), Some("alice"));
        assert_eq!(item.due_for("contoso"), item.due);
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
