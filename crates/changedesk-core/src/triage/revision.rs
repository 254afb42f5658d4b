//! What a new revision of a post does to its work item.
//!
//! Once an item is past `new`, any new revision **flags** it *changed since
//! triage* with the fields that changed (names as
//! [`crate::diff::message_changes`] writes them), until someone
//! acknowledges ([`super::Action::Acknowledge`]). `last_modified` alone is
//! bookkeeping and flags nothing. An item still `new` is not flagged: whoever
//! triages it reads the current version anyway.
//!
//! When one of the policy's fields moved (by default the dates `start`,
//! `end`, `act_by`, the rollout `timeline` read from the body, and
//! `category`):
//! - a closed item (`done` or `dismissed`) **reopens** if the policy is
//!   enabled (to `triaged`, or `new` if it was never triaged; actor
//!   `system`), and its owner is to be notified;
//! - an open item (`triaged`, `in_progress`) stays as it is, and its owner
//!   is to be notified (their plan may depend on the date).

use serde::{Deserialize, Serialize};

use super::action::{Action, transition};
use super::common::ValidationErrors;
use super::item::{State, WorkItem};
use super::log::{Actor, LogAction, LogEntry};
use crate::timestamp::Timestamp;

pub use crate::diff::MESSAGE_FIELDS;

/// The fields that never flag an item on their own.
pub const IGNORED_FIELDS: &[&str] = &["last_modified"];

/// When a change to a post reopens its closed work item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenPolicy {
    /// Whether closed items reopen at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The fields whose change reopens a closed item and notifies the
    /// owner of an open one.
    #[serde(default = "default_reopen_on")]
    pub reopen_on: Vec<String>,
}

fn yes() -> bool {
    true
}

fn default_reopen_on() -> Vec<String> {
    ["start", "end", "act_by", "timeline", "category"]
        .map(String::from)
        .to_vec()
}

impl Default for ReopenPolicy {
    /// Enabled, on `start`, `end`, `act_by`, `timeline` and `category`.
    fn default() -> Self {
        ReopenPolicy {
            enabled: true,
            reopen_on: default_reopen_on(),
        }
    }
}

impl ReopenPolicy {
    /// Checks that every field is one [`crate::diff::message_changes`]
    /// produces.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for (i, f) in self.reopen_on.iter().enumerate() {
            if !MESSAGE_FIELDS.contains(&f.trim()) {
                errors.push(
                    format!("reopen_on[{i}]"),
                    format!(
                        "unknown field `{}` (expected one of: {})",
                        super::common::shorten(f.trim(), 40),
                        MESSAGE_FIELDS.join(", ")
                    ),
                );
            }
        }
        errors.into_result()
    }

    fn watches(&self, field: &str) -> bool {
        self.reopen_on.iter().any(|f| f.trim() == field)
    }
}

/// Someone should tell the item's owner that the post moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyIntent {
    /// The post.
    pub message_id: String,
    /// The item's assignee; `None`: the caller resolves the owner from the
    /// ownership map.
    pub assignee: Option<String>,
    /// The watched fields that changed.
    pub fields: Vec<String>,
    /// Whether the item was reopened.
    pub reopened: bool,
}

/// What [`on_revision`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RevisionEffect {
    /// The item was flagged *changed since triage*.
    pub flagged: bool,
    /// The item was reopened.
    pub reopened: bool,
    /// The owner is to be told.
    pub notify_owner: Option<NotifyIntent>,
    /// The entries to append to the item's log (actor `system`).
    pub entries: Vec<LogEntry>,
}

/// Applies a new revision of the post, whose changed fields are
/// `changed_fields`, to its item. See the module documentation.
pub fn on_revision(
    item: &mut WorkItem,
    changed_fields: &[String],
    policy: &ReopenPolicy,
    now: Timestamp,
) -> RevisionEffect {
    let mut effect = RevisionEffect::default();
    let mut fields: Vec<String> = Vec::new();
    for f in changed_fields.iter().map(|f| f.trim()) {
        if !f.is_empty() && !IGNORED_FIELDS.contains(&f) && !fields.iter().any(|x| x == f) {
            fields.push(f.to_string());
        }
    }
    if item.state == State::New || fields.is_empty() {
        return effect;
    }
    let actor = Actor::System;
    let old = item.changed_since_triage.join(", ");
    for f in &fields {
        if !item.changed_since_triage.contains(f) {
            item.changed_since_triage.push(f.clone());
        }
    }
    let new = item.changed_since_triage.join(", ");
    effect.flagged = true;
    effect.entries.push(
        LogEntry::new(now, &actor, LogAction::Revised)
            .change(
                "changed_since_triage",
                Some(old).filter(|s| !s.is_empty()),
                Some(new),
            )
            .because(Some(format!("the post changed: {}", fields.join(", ")))),
    );

    let watched: Vec<String> = fields.into_iter().filter(|f| policy.watches(f)).collect();
    if watched.is_empty() {
        return effect;
    }
    if item.state.is_closed() && policy.enabled {
        let reason = format!("the post changed: {}", watched.join(", "));
        // a closed state always allows reopen with a reason, so this succeeds
        if let Ok(t) = transition(item, Action::Reopen { reason }, &actor, now) {
            *item = t.item;
            effect.entries.extend(t.entries);
            effect.reopened = true;
        }
    }
    // a tenant's own decision was made on the old dates too
    let closed_for: Vec<String> = item
        .overrides
        .iter()
        .filter(|o| o.state.is_some_and(State::is_closed))
        .map(|o| o.tenant.clone())
        .collect();
    if !closed_for.is_empty() && policy.enabled {
        let reason = format!("the post changed: {}", watched.join(", "));
        if let Ok(t) = super::action::transition_for_tenants(
            item,
            Action::Reopen { reason },
            &closed_for,
            &actor,
            now,
        ) {
            *item = t.transition.item;
            effect.entries.extend(t.transition.entries);
            effect.reopened = true;
        }
    }
    if effect.reopened || item.state.is_open() {
        effect.notify_owner = Some(NotifyIntent {
            message_id: item.message_id.clone(),
            assignee: item.assignee.clone(),
            fields: watched,
            reopened: effect.reopened,
        });
    }
    effect
}
