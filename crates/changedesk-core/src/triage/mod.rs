//! Ownership, tenant groups and the life of a work item.
//!
//! Pure types and rules, no IO: every instant is a parameter (`now`). The
//! store keeps the items and their logs; the CLI and the API call these
//! functions and append the log entries they return.
//!
//! - [`Owner`]s own workloads; [`TenantGroup`]s sort tenants (by customer,
//!   region, plan) with glob patterns; the [`OwnershipMap`] says who owns a
//!   workload, with overrides per group and per tenant
//!   ([`OwnershipMap::owner_for`] documents the resolution order).
//! - A [`WorkItem`] exists once per post and is triaged once for every
//!   tenant, with per-tenant [`TenantOverride`]s. It changes only through
//!   [`Action`]s ([`transition`], [`WorkItem::apply`]), each returning the
//!   append-only [`LogEntry`]s to record, by a person, the `rules` engine or
//!   `system`.
//! - [`on_revision`] flags an item when its post changes after triage, and
//!   reopens a closed item when a date or the category moves.
//! - [`deadline_status`] and [`auto_close_missed`] watch due dates and
//!   act-by dates.
//! - [`Agenda`] is the weekly review meeting, rendered to Markdown.
//!
//! # Lifecycle
//!
//! The table, as data in [`TRANSITIONS`]:
//!
//! | From | Action | To | Conditions and effects |
//! |---|---|---|---|
//! | `new` | `triage` | `triaged` | sets `first_triaged_at` |
//! | `new` | `dismiss` | `dismissed` | reason required; sets `closed_at`, `dismiss_reason` |
//! | `new` | `start` | `in_progress` | starting work says the post is relevant, so it passes through `triaged` (two `state` entries); sets `first_triaged_at` and `started_at` |
//! | `new` | `close` | `done` | only as `no_action_needed` or `missed` (closing straight away is common; anything else needs triage first) |
//! | `triaged` | `start` | `in_progress` | sets `started_at` |
//! | `triaged` | `dismiss` | `dismissed` | reason required |
//! | `triaged` | `close` | `done` | any decision |
//! | `in_progress` | `close` | `done` | any decision (to drop work in progress, close it as `no_action_needed` or `deferred`: dismissing is refused) |
//! | `done` | `reopen` | `triaged`, or `new` if never triaged | reason required; clears the decision, `closed_at` and `dismiss_reason`; `reopened_count + 1` |
//! | `dismissed` | `reopen` | `triaged`, or `new` if never triaged | as above |
//!
//! Anything else is refused with a message that names the current state
//! and the allowed actions: `MC123456 is done; it can be reopened, not
//! started`, or `MC1 is already triaged; it can be started, dismissed or
//! closed`.
//!
//! `first_triaged_at` and `started_at` are set when those states are first
//! entered and never change; `closed_at` is the latest close, cleared on
//! reopening. A `close` logs a `state` entry then a `decision` entry (which
//! carries the reason).
//!
//! Edits (`assign`, `set_priority`, `set_due`, `add_label`,
//! `remove_label`, `require_change_request`, `require_communication`,
//! `set_override`, `comment`) are allowed in every state, so records can be
//! corrected after closing, and never change the state. An edit that
//! changes nothing succeeds with no log entry, so the rules engine can
//! re-apply its outcomes. `acknowledge` clears the *changed since triage*
//! flag and is refused when there is nothing to acknowledge.
//!
//! Actors: a person ([`Actor::Person`], the name given with `--as USER`),
//! [`Actor::Rules`] for the rules engine's outcomes (applied through the
//! same actions), [`Actor::System`] for [`on_revision`] and
//! [`auto_close_missed`].

#[macro_use]
mod common;

mod action;
mod agenda;
mod baseline;
mod deadlines;
mod groups;
mod item;
mod log;
mod markdown;
mod owners;
mod ownership;
mod revision;
mod table;

pub use action::{
    Action, MAX_FEEDBACK_REFERENCE, MAX_PILOT_FINDING, TenantTransition, Transition, transition,
    transition_for_tenants,
};
pub use agenda::{
    Agenda, AgendaCounts, AgendaLogEntry, AgendaPost, AgendaRow, DecisionRow, NO_WORKLOAD,
    WorkloadSection,
};
pub use baseline::{BASELINE_LABEL, BASELINE_REASON, BaselineFate, accept_baseline, baseline_fate};
pub use common::{
    MAX_LABEL_LEN, MAX_NAME_LEN, MAX_TEXT_LEN, ParseEnumError, RESERVED_NAMES, ValidationError,
    ValidationErrors,
};
pub use deadlines::{
    DUE_SOON_DAYS, DeadlineKind, DeadlineStatus, MISSED_LABEL, MissedPolicy, PostDates,
    auto_close_missed, awaiting_triage, changed_since_triage, deadline_status,
    deadline_status_counted, deadline_status_for_tenants, deadline_status_within,
};
pub use groups::{TenantGroup, find_group, glob_match, groups_of, validate_groups};
pub use item::{
    Decision, ExceptionCount, FeedbackKind, PilotRecommendation, Priority, State, TenantOverride,
    TenantStanding, TenantSummary, WorkItem,
};
pub use log::{
    Actor, ActorError, LogAction, LogEntry, LogScope, MAX_ACTOR_LEN, ParseLogScopeError,
    visible_entries,
};
pub use markdown::{AgendaWriter, NOTHING};
pub use owners::{
    MAX_DISPLAY_NAME_LEN, MAX_EMAIL_LEN, MAX_HANDLE_LEN, Owner, find_owner, is_guid,
    normalize_name, validate_owners,
};
pub use ownership::{ANY_WORKLOAD, OwnershipEntry, OwnershipMap, ParseScopeError, Resolved, Scope};
pub use revision::{
    IGNORED_FIELDS, MESSAGE_FIELDS, NotifyIntent, ReopenPolicy, RevisionEffect, on_revision,
};
pub use table::{
    Decisions, LIFECYCLE_ACTIONS, TRANSITIONS, Target, TransitionError, TransitionRule,
    allowed_actions, rule_for,
};

#[cfg(test)]
mod tests;
