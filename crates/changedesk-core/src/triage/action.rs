//! Actions on a work item and what they produce: the new item and the log
//! entries to append.

use serde::{Deserialize, Serialize};

use super::common;
use super::item::{
    Decision, FeedbackKind, PilotRecommendation, Priority, State, TenantOverride, WorkItem,
};
use super::log::{Actor, LogAction, LogEntry};
use super::table::{Target, TransitionError, TransitionRule, allowed_actions, rule_for};
use crate::timestamp::Timestamp;

/// Something a person (or the rules engine, or changedesk) does to a work
/// item. Serde form: `{"action": "close", "decision": "actioned", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Assigns the item to an owner (by name), or unassigns it (`None`).
    /// The name's form is checked here; whether the owner exists is the
    /// caller's business.
    Assign { owner: Option<String> },
    /// Sets the priority.
    SetPriority { priority: Priority },
    /// Sets or clears the due date.
    SetDue { due: Option<Timestamp> },
    /// Adds a label (lower-cased; adding a present label changes nothing).
    AddLabel { label: String },
    /// Removes a label (removing an absent label changes nothing).
    RemoveLabel { label: String },
    /// Marks whether the change needs a change request.
    RequireChangeRequest { required: bool },
    /// Marks whether the change needs to be communicated.
    RequireCommunication { required: bool },
    /// Finds the item relevant: `new → triaged`.
    Triage,
    /// Finds the item not relevant: `new | triaged → dismissed`.
    Dismiss { reason: String },
    /// Starts work: `triaged → in_progress`, or `new → in_progress`
    /// through `triaged`.
    Start,
    /// Closes the item with a decision: `→ done`.
    Close {
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Reopens a closed item: `done | dismissed → triaged` (or `new` if it
    /// was never triaged).
    Reopen { reason: String },
    /// Adds a comment to the log.
    Comment { text: String },
    /// Sets a tenant's override of these fields to exactly these values
    /// (`None`: not overridden); its own state, if any, is kept (it moves
    /// with [`transition_for_tenants`]). An override left with nothing is
    /// removed.
    SetOverride {
        tenant: String,
        #[serde(default)]
        applicable: Option<bool>,
        #[serde(default)]
        assignee: Option<String>,
        #[serde(default)]
        due: Option<Timestamp>,
        #[serde(default)]
        note: Option<String>,
    },
    /// Acknowledges the post's changes since triage, clearing the flag.
    Acknowledge,
    /// Records feedback given to Microsoft about the change, with its
    /// reference (a case number, a Feedback portal link), if any.
    RecordFeedback {
        kind: FeedbackKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Records a pilot group's finding about the change after trying it in
    /// its preview or targeted release: its recommendation and what it
    /// found.
    RecordPilotFinding {
        pilot_group: String,
        recommendation: PilotRecommendation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

impl Action {
    /// The log action this action records.
    pub fn kind(&self) -> LogAction {
        match self {
            Action::Assign { .. } => LogAction::Assign,
            Action::SetPriority { .. } => LogAction::SetPriority,
            Action::SetDue { .. } => LogAction::SetDue,
            Action::AddLabel { .. } => LogAction::AddLabel,
            Action::RemoveLabel { .. } => LogAction::RemoveLabel,
            Action::RequireChangeRequest { .. } => LogAction::RequireChangeRequest,
            Action::RequireCommunication { .. } => LogAction::RequireCommunication,
            Action::Triage => LogAction::Triage,
            Action::Dismiss { .. } => LogAction::Dismiss,
            Action::Start => LogAction::Start,
            Action::Close { .. } => LogAction::Close,
            Action::Reopen { .. } => LogAction::Reopen,
            Action::Comment { .. } => LogAction::Comment,
            Action::SetOverride { .. } => LogAction::SetOverride,
            Action::Acknowledge => LogAction::Acknowledge,
            Action::RecordFeedback { .. } => LogAction::Feedback,
            Action::RecordPilotFinding { .. } => LogAction::PilotFinding,
        }
    }
}

/// The longest reference kept with feedback to Microsoft, in characters.
pub const MAX_FEEDBACK_REFERENCE: usize = 300;

/// The longest pilot finding, in characters.
pub const MAX_PILOT_FINDING: usize = 4000;

/// The result of an accepted action: the item as it is now, and the log
/// entries to append (empty when the action changed nothing, e.g. setting
/// the priority it already has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The item after the action.
    pub item: WorkItem,
    /// The entries to append to the item's log, in order.
    pub entries: Vec<LogEntry>,
}

/// Applies `action` by `actor` at `now` to a copy of `item`. Lifecycle
/// actions follow [`super::TRANSITIONS`]; refused actions leave nothing
/// changed and say why.
pub fn transition(
    item: &WorkItem,
    action: Action,
    actor: &Actor,
    now: Timestamp,
) -> Result<Transition, TransitionError> {
    let shared = !matches!(action, Action::SetOverride { .. });
    let mut next = item.clone();
    let entries = Apply {
        item: &mut next,
        actor,
        now,
    }
    .action(action)?;
    if shared && !entries.is_empty() {
        // a tenant whose own state (or assignee, due date) is now the
        // shared one follows it again: nothing changes for it today
        next.normalize_exceptions();
    }
    Ok(Transition {
        item: next,
        entries,
    })
}

impl Action {
    /// Whether the action can be taken for some tenants only (their
    /// exceptions): the lifecycle, the assignee, the due date and comments.
    /// The others (priority, labels, requirements, acknowledging changes,
    /// a tenant's override) concern the whole post.
    pub fn per_tenant(&self) -> bool {
        matches!(
            self,
            Action::Assign { .. }
                | Action::SetDue { .. }
                | Action::Triage
                | Action::Dismiss { .. }
                | Action::Start
                | Action::Close { .. }
                | Action::Reopen { .. }
                | Action::Comment { .. }
        )
    }
}

/// What [`transition_for_tenants`] did: the transition, and the tenants
/// it left as they were because the action is not allowed in the state in
/// force there (e.g. closing where it is closed already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantTransition {
    /// The item after the action, and the entries (each about its tenant).
    pub transition: Transition,
    /// The tenants left alone, with why.
    pub skipped: Vec<(String, TransitionError)>,
}

/// Applies `action` by `actor` at `now` for `tenants` only: each tenant's
/// state in force ([`WorkItem::for_tenant`]) moves along the same table as
/// the shared one, and what then differs from the shared item is kept as
/// the tenant's exception ("done for fabrikam, in progress for tailspin").
/// Each entry is about its tenant ([`LogEntry::for_tenant`]).
///
/// Only [`Action::per_tenant`] actions can be. A tenant where the table
/// refuses the action is skipped (and named in `skipped`) when others
/// accept it; when none does, the first refusal is the error. Tenant names
/// are checked and lower-cased; duplicates count once.
pub fn transition_for_tenants(
    item: &WorkItem,
    action: Action,
    tenants: &[String],
    actor: &Actor,
    now: Timestamp,
) -> Result<TenantTransition, TransitionError> {
    let invalid = |message: String| TransitionError::Invalid {
        message_id: item.message_id.clone(),
        message,
    };
    if !action.per_tenant() {
        return Err(invalid(format!(
            "`{}` concerns the whole post, not some tenants",
            action.kind().as_str()
        )));
    }
    let mut names = Vec::with_capacity(tenants.len());
    for t in tenants {
        names.push(common::tenant_name(t).map_err(invalid)?);
    }
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Err(invalid("no tenant to act for".to_string()));
    }
    let mut next = item.clone();
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut accepted = 0usize;
    for tenant in names {
        let view = next.for_tenant(&tenant);
        match transition(&view, action.clone(), actor, now) {
            Ok(t) => {
                accepted += 1;
                entries.extend(t.entries.into_iter().map(|e| e.for_tenant(&tenant)));
                next.keep_for_tenant(&tenant, &t.item);
            }
            Err(
                e @ (TransitionError::NotAllowed { .. }
                | TransitionError::DecisionNotAllowed { .. }),
            ) => skipped.push((tenant, e)),
            Err(e) => return Err(e),
        }
    }
    if accepted == 0
        && let Some((_, first)) = skipped.first()
    {
        // no tenant accepted it: say why for the first
        return Err(first.clone());
    }
    Ok(TenantTransition {
        transition: Transition {
            item: next,
            entries,
        },
        skipped,
    })
}

impl WorkItem {
    /// Applies `action` in place and returns the log entries to append.
    /// On error the item is unchanged.
    pub fn apply(
        &mut self,
        action: Action,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<LogEntry>, TransitionError> {
        let t = transition(self, action, actor, now)?;
        *self = t.item;
        Ok(t.entries)
    }
}

struct Apply<'a> {
    item: &'a mut WorkItem,
    actor: &'a Actor,
    now: Timestamp,
}

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

impl Apply<'_> {
    fn entry(&self, action: LogAction) -> LogEntry {
        LogEntry::new(self.now, self.actor, action)
    }

    fn invalid(&self, message: String) -> TransitionError {
        TransitionError::Invalid {
            message_id: self.item.message_id.clone(),
            message,
        }
    }

    fn required_text(
        &self,
        action: LogAction,
        kind: &str,
        what: &'static str,
        s: &str,
    ) -> Result<String, TransitionError> {
        common::text(kind, s)
            .map_err(|m| self.invalid(m))?
            .ok_or_else(|| TransitionError::ReasonRequired {
                message_id: self.item.message_id.clone(),
                action,
                what,
            })
    }

    fn optional_text(
        &self,
        kind: &str,
        s: Option<&str>,
    ) -> Result<Option<String>, TransitionError> {
        match s {
            None => Ok(None),
            Some(s) => common::text(kind, s).map_err(|m| self.invalid(m)),
        }
    }

    fn owner(&self, owner: Option<&str>) -> Result<Option<String>, TransitionError> {
        owner
            .map(common::owner_name)
            .transpose()
            .map_err(|m| self.invalid(m))
    }

    fn action(mut self, action: Action) -> Result<Vec<LogEntry>, TransitionError> {
        let kind = action.kind();
        match action {
            Action::Assign { owner } => {
                let new = self.owner(owner.as_deref())?;
                if new == self.item.assignee {
                    return Ok(Vec::new());
                }
                let old = std::mem::replace(&mut self.item.assignee, new.clone());
                Ok(vec![self.entry(kind).change("assignee", old, new)])
            }
            Action::SetPriority { priority } => {
                if priority == self.item.priority {
                    return Ok(Vec::new());
                }
                let old = std::mem::replace(&mut self.item.priority, priority);
                Ok(vec![self.entry(kind).change(
                    "priority",
                    Some(old.as_str()),
                    Some(priority.as_str()),
                )])
            }
            Action::SetDue { due } => {
                if due == self.item.due {
                    return Ok(Vec::new());
                }
                let old = std::mem::replace(&mut self.item.due, due);
                Ok(vec![self.entry(kind).change("due", ts(old), ts(due))])
            }
            Action::AddLabel { label } => {
                let label = common::label(&label).map_err(|m| self.invalid(m))?;
                if !self.item.labels.insert(label.clone()) {
                    return Ok(Vec::new());
                }
                Ok(vec![self.entry(kind).change(
                    "labels",
                    None::<String>,
                    Some(label),
                )])
            }
            Action::RemoveLabel { label } => {
                let label = common::label(&label).map_err(|m| self.invalid(m))?;
                if !self.item.labels.remove(&label) {
                    return Ok(Vec::new());
                }
                Ok(vec![self.entry(kind).change(
                    "labels",
                    Some(label),
                    None::<String>,
                )])
            }
            Action::RequireChangeRequest { required } => {
                let old = std::mem::replace(&mut self.item.requires_change_request, required);
                Ok(self.flag_entry(kind, "requires_change_request", old, required))
            }
            Action::RequireCommunication { required } => {
                let old = std::mem::replace(&mut self.item.requires_communication, required);
                Ok(self.flag_entry(kind, "requires_communication", old, required))
            }
            Action::Triage | Action::Start => self.lifecycle(kind, None, None),
            Action::Dismiss { reason } => {
                // the state is checked before the reason
                self.rule(kind)?;
                let reason = self.required_text(kind, "reason", "a reason", &reason)?;
                self.lifecycle(kind, None, Some(reason))
            }
            Action::Close { decision, reason } => {
                // the state is checked before the reason
                self.rule(kind)?;
                let reason = self.optional_text("reason", reason.as_deref())?;
                self.lifecycle(kind, Some(decision), reason)
            }
            Action::Reopen { reason } => {
                // the state is checked before the reason
                self.rule(kind)?;
                let reason = self.required_text(kind, "reason", "a reason", &reason)?;
                self.lifecycle(kind, None, Some(reason))
            }
            Action::Comment { text } => {
                let text = self.required_text(kind, "comment", "a text", &text)?;
                Ok(vec![self.entry(kind).because(Some(text))])
            }
            Action::SetOverride {
                tenant,
                applicable,
                assignee,
                due,
                note,
            } => {
                let tenant = common::tenant_name(&tenant).map_err(|m| self.invalid(m))?;
                let wanted = TenantOverride {
                    assignee: self.owner(assignee.as_deref())?,
                    note: self.optional_text("note", note.as_deref())?,
                    applicable,
                    due,
                    ..TenantOverride::empty(&tenant)
                };
                Ok(self.set_override(wanted))
            }
            Action::RecordFeedback {
                kind: what,
                reference,
            } => {
                let reference = self.optional_text("reference", reference.as_deref())?;
                if reference
                    .as_deref()
                    .is_some_and(|r| r.chars().count() > MAX_FEEDBACK_REFERENCE)
                {
                    return Err(self.invalid(format!(
                        "the reference is longer than {MAX_FEEDBACK_REFERENCE} characters"
                    )));
                }
                Ok(vec![
                    self.entry(kind)
                        .change("feedback", None::<String>, Some(what.as_str()))
                        .because(reference),
                ])
            }
            Action::RecordPilotFinding {
                pilot_group,
                recommendation,
                text,
            } => {
                let group = pilot_group.trim();
                if group.is_empty() || group.chars().count() > super::MAX_NAME_LEN {
                    return Err(self.invalid(format!(
                        "name the pilot group (at most {} characters)",
                        super::MAX_NAME_LEN
                    )));
                }
                let text = self.optional_text("text", text.as_deref())?;
                if text
                    .as_deref()
                    .is_some_and(|t| t.chars().count() > MAX_PILOT_FINDING)
                {
                    return Err(self.invalid(format!(
                        "the finding is longer than {MAX_PILOT_FINDING} characters"
                    )));
                }
                Ok(vec![
                    self.entry(kind)
                        .change(group, None::<String>, Some(recommendation.as_str()))
                        .because(text),
                ])
            }
            Action::Acknowledge => {
                if self.item.changed_since_triage.is_empty() {
                    return Err(TransitionError::NothingToAcknowledge {
                        message_id: self.item.message_id.clone(),
                    });
                }
                let old = std::mem::take(&mut self.item.changed_since_triage).join(", ");
                Ok(vec![self.entry(kind).change(
                    "changed_since_triage",
                    Some(old),
                    None::<String>,
                )])
            }
        }
    }

    fn flag_entry(&self, kind: LogAction, field: &str, old: bool, new: bool) -> Vec<LogEntry> {
        if old == new {
            return Vec::new();
        }
        vec![
            self.entry(kind)
                .change(field, Some(old.to_string()), Some(new.to_string())),
        ]
    }

    fn set_override(&mut self, wanted: TenantOverride) -> Vec<LogEntry> {
        let tenant = wanted.tenant.clone();
        let pos = self.item.overrides.iter().position(|o| o.tenant == tenant);
        let old = pos
            .and_then(|i| self.item.overrides.get(i))
            .cloned()
            .unwrap_or_else(|| TenantOverride::empty(&tenant));
        // the tenant's own state is not this action's: it is kept
        let wanted = TenantOverride {
            state: old.state,
            decision: old.decision,
            dismiss_reason: old.dismiss_reason.clone(),
            ..wanted
        };
        let base = || self.entry(LogAction::SetOverride).for_tenant(&tenant);
        let bool_text = |b: Option<bool>| b.map(|b| b.to_string());
        let mut entries = Vec::new();
        if old.applicable != wanted.applicable {
            entries.push(base().change(
                "applicable",
                bool_text(old.applicable),
                bool_text(wanted.applicable),
            ));
        }
        if old.assignee != wanted.assignee {
            entries.push(base().change("assignee", old.assignee.clone(), wanted.assignee.clone()));
        }
        if old.due != wanted.due {
            entries.push(base().change("due", ts(old.due), ts(wanted.due)));
        }
        if old.note != wanted.note {
            entries.push(base().change("note", old.note.clone(), wanted.note.clone()));
        }
        match (pos, wanted.is_empty()) {
            (Some(i), true) => {
                self.item.overrides.remove(i);
            }
            (Some(i), false) => {
                if let Some(o) = self.item.overrides.get_mut(i) {
                    *o = wanted;
                }
            }
            (None, true) => {}
            (None, false) => {
                let at = self
                    .item
                    .overrides
                    .partition_point(|o| o.tenant.as_str() < tenant.as_str());
                self.item.overrides.insert(at, wanted);
            }
        }
        entries
    }

    /// The table's rule for `action` in the item's state, or why not.
    fn rule(&self, action: LogAction) -> Result<&'static TransitionRule, TransitionError> {
        let from = self.item.state;
        rule_for(from, action).ok_or_else(|| TransitionError::NotAllowed {
            message_id: self.item.message_id.clone(),
            state: from,
            action,
            allowed: allowed_actions(from),
        })
    }

    /// Moves the item along the table.
    fn lifecycle(
        &mut self,
        action: LogAction,
        decision: Option<Decision>,
        reason: Option<String>,
    ) -> Result<Vec<LogEntry>, TransitionError> {
        let from = self.item.state;
        let rule = self.rule(action)?;
        if let Some(d) = decision
            && !rule.decisions.allows(d)
        {
            return Err(TransitionError::DecisionNotAllowed {
                message_id: self.item.message_id.clone(),
                state: from,
                decision: d,
                allowed: rule.decisions.list().to_vec(),
            });
        }
        let mut entries = Vec::new();
        if let Some(through) = rule.through {
            entries.push(self.enter(LogAction::Triage, through, None));
        }
        let to = match rule.to {
            Target::Enter(s) => s,
            Target::Reopened if self.item.first_triaged_at.is_some() => State::Triaged,
            Target::Reopened => State::New,
        };
        match action {
            LogAction::Close => {
                entries.push(self.enter(action, to, None));
                let old = self
                    .item
                    .decision
                    .replace(decision.unwrap_or(Decision::NoActionNeeded));
                let new = self.item.decision;
                entries.push(
                    self.entry(action)
                        .change(
                            "decision",
                            old.map(Decision::as_str),
                            new.map(Decision::as_str),
                        )
                        .because(reason),
                );
            }
            LogAction::Reopen => {
                entries.push(self.enter(action, to, reason));
                self.item.reopened_count = self.item.reopened_count.saturating_add(1);
                self.item.closed_at = None;
                self.item.dismiss_reason = None;
                if let Some(old) = self.item.decision.take() {
                    entries.push(self.entry(action).change(
                        "decision",
                        Some(old.as_str()),
                        None::<String>,
                    ));
                }
            }
            LogAction::Dismiss => {
                self.item.dismiss_reason = reason.clone();
                self.item.decision = None;
                entries.push(self.enter(action, to, reason));
            }
            _ => entries.push(self.enter(action, to, reason)),
        }
        Ok(entries)
    }

    /// Puts the item in `to`, setting the timestamps of first entry, and
    /// returns the `state` entry.
    fn enter(&mut self, action: LogAction, to: State, reason: Option<String>) -> LogEntry {
        let from = std::mem::replace(&mut self.item.state, to);
        let now = self.now;
        match to {
            State::Triaged => {
                self.item.first_triaged_at.get_or_insert(now);
            }
            State::InProgress => {
                self.item.first_triaged_at.get_or_insert(now);
                self.item.started_at.get_or_insert(now);
            }
            State::Done | State::Dismissed => self.item.closed_at = Some(now),
            State::New => {}
        }
        self.entry(action)
            .change("state", Some(from.as_str()), Some(to.as_str()))
            .because(reason)
    }
}
