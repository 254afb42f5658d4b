//! The lifecycle transition table, as data, and the errors of refused
//! actions.

use serde::{Deserialize, Serialize};

use super::common::or_list;
use super::item::{Decision, State};
use super::log::LogAction;

/// Where a lifecycle action leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Into this state.
    Enter(State),
    /// Back to `triaged` when the item was ever triaged
    /// (`first_triaged_at` is set), else back to `new`.
    Reopened,
}

/// Which decisions a `close` may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decisions {
    /// Any decision (also the value of rules that are not a `close`, for
    /// which it is not consulted).
    Any,
    /// Only the decisions that need no work: `no_action_needed` and
    /// `missed`.
    WithoutWork,
}

impl Decisions {
    /// Whether `decision` is one of them.
    pub fn allows(self, decision: Decision) -> bool {
        self.list().contains(&decision)
    }

    /// The decisions, in declaration order.
    pub fn list(self) -> &'static [Decision] {
        match self {
            Decisions::Any => Decision::ALL,
            Decisions::WithoutWork => &[Decision::NoActionNeeded, Decision::Missed],
        }
    }
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRule {
    /// The state the item is in.
    pub from: State,
    /// The lifecycle action.
    pub action: LogAction,
    /// Where it leads.
    pub to: Target,
    /// A state the item passes through on the way, logged as its own entry
    /// (`start` from `new` triages first).
    pub through: Option<State>,
    /// For `close`: which decisions are allowed from `from`.
    pub decisions: Decisions,
}

const fn rule(from: State, action: LogAction, to: State) -> TransitionRule {
    TransitionRule {
        from,
        action,
        to: Target::Enter(to),
        through: None,
        decisions: Decisions::Any,
    }
}

/// Every allowed lifecycle transition. Anything not listed is refused with
/// a [`TransitionError::NotAllowed`] naming the allowed actions. Edits
/// (assign, priority, due, labels, requirements, overrides, comments) are
/// not lifecycle actions: they are allowed in every state.
pub const TRANSITIONS: &[TransitionRule] = &[
    rule(State::New, LogAction::Triage, State::Triaged),
    rule(State::New, LogAction::Dismiss, State::Dismissed),
    TransitionRule {
        through: Some(State::Triaged),
        ..rule(State::New, LogAction::Start, State::InProgress)
    },
    TransitionRule {
        decisions: Decisions::WithoutWork,
        ..rule(State::New, LogAction::Close, State::Done)
    },
    rule(State::Triaged, LogAction::Start, State::InProgress),
    rule(State::Triaged, LogAction::Dismiss, State::Dismissed),
    rule(State::Triaged, LogAction::Close, State::Done),
    rule(State::InProgress, LogAction::Close, State::Done),
    TransitionRule {
        to: Target::Reopened,
        ..rule(State::Done, LogAction::Reopen, State::Triaged)
    },
    TransitionRule {
        to: Target::Reopened,
        ..rule(State::Dismissed, LogAction::Reopen, State::Triaged)
    },
];

/// The actions that move an item between states.
pub const LIFECYCLE_ACTIONS: &[LogAction] = &[
    LogAction::Triage,
    LogAction::Dismiss,
    LogAction::Start,
    LogAction::Close,
    LogAction::Reopen,
];

/// The rule for `action` in `state`, if the table allows it.
pub fn rule_for(state: State, action: LogAction) -> Option<&'static TransitionRule> {
    TRANSITIONS
        .iter()
        .find(|r| r.from == state && r.action == action)
}

/// The lifecycle actions allowed in `state`, in table order.
pub fn allowed_actions(state: State) -> Vec<LogAction> {
    TRANSITIONS
        .iter()
        .filter(|r| r.from == state)
        .map(|r| r.action)
        .collect()
}

/// Why an action was refused. The item is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The table has no such transition, e.g. `MC123456 is done; it can be
    /// reopened, not started`.
    #[error("{}", not_allowed(message_id, *state, *action, allowed))]
    NotAllowed {
        /// The post.
        message_id: String,
        /// The item's state.
        state: State,
        /// The refused action.
        action: LogAction,
        /// The lifecycle actions the state allows.
        allowed: Vec<LogAction>,
    },
    /// `close` with a decision the state does not allow.
    #[error(
        "{message_id} is {}; closing it as {decision} needs triage first (from {} it can be closed only as {})",
        state.label(),
        state.label(),
        or_list(&allowed.iter().map(|d| d.to_string()).collect::<Vec<_>>())
    )]
    DecisionNotAllowed {
        /// The post.
        message_id: String,
        /// The item's state.
        state: State,
        /// The refused decision.
        decision: Decision,
        /// The decisions allowed from this state.
        allowed: Vec<Decision>,
    },
    /// Dismissing and reopening need a reason; a comment needs text.
    #[error("{what} is required to {} {message_id}", verb(*action))]
    ReasonRequired {
        /// The post.
        message_id: String,
        /// The action missing its reason or text.
        action: LogAction,
        /// `a reason` or `a text`.
        what: &'static str,
    },
    /// `acknowledge` on an item with no changes since triage.
    #[error("{message_id} has no changes since triage to acknowledge")]
    NothingToAcknowledge {
        /// The post.
        message_id: String,
    },
    /// A value in the action is not valid (an owner name, a label, a
    /// tenant name, a text too long).
    #[error("{message_id}: {message}")]
    Invalid {
        /// The post.
        message_id: String,
        /// What is wrong.
        message: String,
    },
}

fn verb(action: LogAction) -> &'static str {
    match action {
        LogAction::Comment => "comment on",
        other => other.as_str(),
    }
}

fn not_allowed(message_id: &str, state: State, action: LogAction, allowed: &[LogAction]) -> String {
    let can = if allowed.is_empty() {
        "it cannot change state".to_string()
    } else {
        let verbs: Vec<String> = allowed
            .iter()
            .map(|a| a.past_participle().to_string())
            .collect();
        format!("it can be {}", or_list(&verbs))
    };
    // the action would lead to the state the item is already in
    let already = TRANSITIONS
        .iter()
        .any(|r| r.action == action && r.to == Target::Enter(state));
    if already {
        format!("{message_id} is already {}; {can}", state.label())
    } else {
        format!(
            "{message_id} is {}; {can}, not {}",
            state.label(),
            action.past_participle()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_can_move_and_closed_states_only_reopen() {
        for s in State::ALL {
            assert!(!allowed_actions(*s).is_empty(), "{s} is a dead end");
        }
        assert_eq!(allowed_actions(State::Done), vec![LogAction::Reopen]);
        assert_eq!(allowed_actions(State::Dismissed), vec![LogAction::Reopen]);
        for r in TRANSITIONS {
            assert!(LIFECYCLE_ACTIONS.contains(&r.action));
            // at most one rule per (state, action)
            assert_eq!(
                TRANSITIONS
                    .iter()
                    .filter(|o| o.from == r.from && o.action == r.action)
                    .count(),
                1
            );
        }
    }

    #[test]
    fn messages_name_the_state_and_the_allowed_actions() {
        let e = TransitionError::NotAllowed {
            message_id: "MC123456".into(),
            state: State::Done,
            action: LogAction::Start,
            allowed: allowed_actions(State::Done),
        };
        assert_eq!(
            e.to_string(),
            "MC123456 is done; it can be reopened, not started"
        );
        let e = TransitionError::DecisionNotAllowed {
            message_id: "MC1".into(),
            state: State::New,
            decision: Decision::Actioned,
            allowed: Decisions::WithoutWork.list().to_vec(),
        };
        assert_eq!(
            e.to_string(),
            "MC1 is new; closing it as actioned needs triage first (from new it can be closed only as no_action_needed or missed)"
        );
        let e = TransitionError::ReasonRequired {
            message_id: "MC1".into(),
            action: LogAction::Dismiss,
            what: "a reason",
        };
        assert_eq!(e.to_string(), "a reason is required to dismiss MC1");
    }

    #[test]
    fn the_table_serialises_as_data() {
        let json = serde_json::to_value(TRANSITIONS).unwrap();
        assert_eq!(json[0]["from"], "new");
        assert_eq!(json[0]["action"], "triage");
        assert_eq!(json[0]["to"]["enter"], "triaged");
        assert_eq!(json[2]["through"], "triaged");
        assert_eq!(json[3]["decisions"], "without_work");
        assert_eq!(json[8]["to"], "reopened");
        let back: Vec<TransitionRule> = serde_json::from_value(json).unwrap();
        assert_eq!(back, TRANSITIONS);
    }
}
