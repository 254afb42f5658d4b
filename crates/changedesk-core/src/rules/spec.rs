//! Rules as written (TOML), and what they decide ([`Outcome`]).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

use super::error::RulesError;

/// One rule as written in the rules file.
///
/// ```toml
/// [[rules]]
/// name = "Teams changes to collaboration"
/// when = 'services has "Microsoft Teams" and category != "stayInformed"'
/// [rules.then]
/// owner = "collaboration"
/// priority = "high"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique (case-insensitively), not empty.
    pub name: String,
    /// The condition, in the rules language (docs/RULES.md).
    pub when: String,
    /// What to do when the condition holds.
    #[serde(default)]
    pub then: ActionSpec,
    /// A disabled rule is still checked but never applied.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

/// The actions of a rule (`[rules.then]`). Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// An owner name, or `workload`: the owner of the post's workload,
    /// resolved by the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `low`, `normal`, `high` or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// A date expression, e.g. `act_by - 7d`; when it evaluates to null the
    /// rule sets no due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Labels to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Mark the post not relevant, with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss: Option<String>,
    /// Require a change request.
    #[serde(default)]
    pub change_request: bool,
    /// Require user communication.
    #[serde(default)]
    pub communication: bool,
    /// Who to notify: `owner` or owner names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// Evaluate no further rules for this post and tenant.
    #[serde(default)]
    pub stop: bool,
}

/// A rules file: `[[rules]]` tables, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

impl RuleFile {
    /// Reads a rules file's text. Errors name the line and column.
    pub fn from_toml(text: &str) -> Result<RuleFile, RulesError> {
        toml::from_str(text).map_err(|e| RulesError::File(e.to_string().trim_end().to_string()))
    }
}

/// How urgent a post is: the work item's priority.
pub use crate::triage::Priority;

/// A priority name that is not one.
pub type PriorityError = crate::triage::ParseEnumError;

/// Who owns a post.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerTarget {
    /// An owner by name.
    Named(String),
    /// The owner of the post's workload, resolved by the caller.
    Workload,
}

impl OwnerTarget {
    /// `workload` (any case) is [`OwnerTarget::Workload`]; anything else a
    /// name.
    pub fn parse(s: &str) -> OwnerTarget {
        let t = s.trim();
        if t.eq_ignore_ascii_case("workload") {
            OwnerTarget::Workload
        } else {
            OwnerTarget::Named(t.to_string())
        }
    }
}

impl fmt::Display for OwnerTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OwnerTarget::Named(n) => f.write_str(n),
            OwnerTarget::Workload => f.write_str("workload"),
        }
    }
}

/// What the rules decided for one post and tenant.
///
/// Labels, notify intents, `change_request` and `communication` accumulate
/// over every matching rule; owner, priority, due and dismiss come from the
/// first matching rule that sets one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// The owner, if a rule set one.
    pub owner: Option<OwnerTarget>,
    /// The priority, if a rule set one.
    pub priority: Option<Priority>,
    /// The due date, if a rule's `due` evaluated to a date.
    pub due: Option<Timestamp>,
    /// Every label of every matching rule.
    pub labels: BTreeSet<String>,
    /// The dismissal reason, if a rule dismissed the post.
    pub dismiss: Option<String>,
    /// Whether a change request is required.
    pub change_request: bool,
    /// Whether user communication is required.
    pub communication: bool,
    /// Who to notify (`owner` or owner names), in order, without repeats.
    pub notify: Vec<String>,
    /// 0-based positions (in the rules file) of the rules that matched.
    pub matched: Vec<usize>,
}

impl Outcome {
    /// Whether no rule matched.
    pub fn is_empty(&self) -> bool {
        self.matched.is_empty()
    }
}

/// A rule's actions, checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Actions {
    pub owner: Option<OwnerTarget>,
    pub priority: Option<Priority>,
    pub labels: Vec<String>,
    pub dismiss: Option<String>,
    pub change_request: bool,
    pub communication: bool,
    pub notify: Vec<String>,
    pub stop: bool,
}

/// Accumulates the actions of matching rules into an [`Outcome`].
pub(crate) struct OutcomeBuilder {
    out: Outcome,
}

impl OutcomeBuilder {
    /// An empty outcome, room for `rules` matches.
    pub(crate) fn new(rules: usize) -> Self {
        OutcomeBuilder {
            out: Outcome {
                matched: Vec::with_capacity(rules),
                ..Outcome::default()
            },
        }
    }

    /// Applies rule `index`'s actions (its due date already evaluated).
    pub(crate) fn apply(&mut self, index: usize, a: &Actions, due: Option<Timestamp>) {
        let out = &mut self.out;
        out.matched.push(index);
        if out.owner.is_none() {
            out.owner.clone_from(&a.owner);
        }
        if out.priority.is_none() {
            out.priority = a.priority;
        }
        if out.due.is_none() {
            out.due = due;
        }
        if out.dismiss.is_none() {
            out.dismiss.clone_from(&a.dismiss);
        }
        for l in &a.labels {
            // one search; a repeated label (rare) costs a dropped clone
            out.labels.insert(l.clone());
        }
        out.change_request |= a.change_request;
        out.communication |= a.communication;
        for n in &a.notify {
            if !out.notify.contains(n) {
                out.notify.push(n.clone());
            }
        }
    }

    /// The outcome.
    pub(crate) fn finish(self) -> Outcome {
        self.out
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.matched.is_empty() {
            return f.write_str("no rule matched");
        }
        let mut parts = Vec::new();
        if let Some(o) = &self.owner {
            parts.push(format!("owner {o}"));
        }
        if let Some(p) = self.priority {
            parts.push(format!("priority {p}"));
        }
        if let Some(d) = self.due {
            parts.push(format!("due {}", d.date()));
        }
        if !self.labels.is_empty() {
            let l: Vec<&str> = self.labels.iter().map(String::as_str).collect();
            parts.push(format!("labels {}", l.join(", ")));
        }
        if let Some(r) = &self.dismiss {
            parts.push(format!("dismissed ({r})"));
        }
        if self.change_request {
            parts.push("change request required".to_string());
        }
        if self.communication {
            parts.push("user communication required".to_string());
        }
        if !self.notify.is_empty() {
            parts.push(format!("notify {}", self.notify.join(", ")));
        }
        if parts.is_empty() {
            parts.push("no actions".to_string());
        }
        f.write_str(&parts.join("; "))
    }
}
