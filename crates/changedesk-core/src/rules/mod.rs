//! The rules engine: ordered rules whose conditions, written in a small
//! expression language, decide an owner, a priority, a due date, labels and
//! more for each post–tenant pair. The language is described in
//! `docs/RULES.md`.
//!
//! ```
//! use changedesk_core::rules::{RuleSet, PostFacts, TenantFacts, Priority};
//! # use changedesk_core::graph::{MessageContent, TenantView, Category, Severity};
//! # use changedesk_core::Timestamp;
//! let rules = RuleSet::from_toml(r#"
//!     [[rules]]
//!     name = "Teams changes to collaboration"
//!     when = 'services has "Microsoft Teams" and category != "stayInformed"'
//!     [rules.then]
//!     owner = "collaboration"
//!     priority = "high"
//!     due = "act_by - 7d"
//! "#).unwrap();
//! # let content = MessageContent { id: "MC1".into(), title: "T".into(),
//! #     category: Category::PlanForChange, severity: Severity::Normal,
//! #     services: vec!["Microsoft Teams".into()], tags: vec![], is_major: false,
//! #     start: None, end: None, act_by: None, last_modified: None,
//! #     body_html: String::new(), has_attachments: false };
//! # let view = TenantView::default();
//! # let now = Timestamp::parse("2026-08-22").unwrap();
//! let post = PostFacts::new(&content, &view, "body text");
//! let partial = rules.for_post(&post, now); // once per post
//! let outcome = partial.for_tenant(&TenantFacts { tenant: "contoso", ..Default::default() });
//! assert_eq!(outcome.priority, Some(Priority::High));
//! ```
//!
//! # Combination
//!
//! Every enabled rule is evaluated in order. Labels, notify intents,
//! `change_request` and `communication` accumulate; for owner, priority,
//! due and dismiss the first matching rule that sets one wins (a `due` that
//! evaluates to null sets nothing), and later ones are shown as overridden
//! by [`RuleSet::explain`]. `stop` ends the evaluation after that rule's
//! actions.
//!
//! # Two stages
//!
//! [`RuleSet::for_post`] evaluates everything that depends only on the post
//! (and `now`) once; each rule is then known true, known false, or left with
//! a residual condition over the tenant's fields, which
//! [`PostEval::for_tenant`] finishes cheaply per tenant.

#![warn(missing_docs)]

mod ast;
mod check;
mod error;
mod eval;
mod explain;
mod facts;
mod fields;
mod lexer;
mod parser;
mod spec;
mod specialize;
mod words;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::timestamp::Timestamp;

pub use ast::{BinOp, Expr, ExprKind, Literal};
pub use error::{
    CompileError, CompileErrors, CompileProblem, ExprError, Pos, RulePart, RulesError,
};
pub use explain::{
    ActionTrace, Connective, DueTrace, Explanation, FieldTrace, RuleStatus, RuleTrace, TermTrace,
};
pub use facts::{PostFacts, TenantFacts, rollout_statuses};
pub use fields::{Field, Level};
pub use parser::{MAX_DEPTH, parse};
pub use spec::{ActionSpec, Outcome, OwnerTarget, Priority, PriorityError, RuleFile, RuleSpec};

use check::{Node, Ty, compile_expr};
use error::CompileProblem as Problem;
use eval::{Cond, Env, Value, eval, eval_residual, partial, truthy};
use spec::{Actions, OutcomeBuilder};

/// A compiled `due` expression.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    pub ast: Expr,
    pub node: Node,
}

/// One term of a rule's condition, kept for explanations.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub ast: Expr,
    pub node: Node,
}

/// A checked rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub name: String,
    pub enabled: bool,
    pub when: Expr,
    pub cond: Node,
    pub connective: Option<Connective>,
    pub terms: Vec<Term>,
    pub due: Option<Due>,
    pub actions: Actions,
}

/// Compiled rules, ready to evaluate. Cheap to share between threads.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses, type-checks and compiles `specs` (regular expressions built,
    /// phrases split). Every problem in every rule is reported, each naming
    /// its rule. Disabled rules are checked too.
    pub fn compile(specs: &[RuleSpec]) -> Result<RuleSet, CompileErrors> {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(specs.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, spec) in specs.iter().enumerate() {
            let fail = |part, problem| CompileError {
                index,
                rule: spec.name.clone(),
                part,
                problem,
            };
            let before = errors.len();
            let name = spec.name.trim();
            if name.is_empty() {
                errors.push(fail(
                    RulePart::Name,
                    Problem::Message("a rule needs a name".into()),
                ));
            } else if let Some(first) = seen.get(&name.to_lowercase()) {
                errors.push(fail(
                    RulePart::Name,
                    Problem::Message(format!(
                        "rule {} already has this name (names must be unique)",
                        first + 1
                    )),
                ));
            } else {
                seen.insert(name.to_lowercase(), index);
            }
            let when = match compile_source(&spec.when, Ty::Bool) {
                Ok(w) => Some(w),
                Err(e) => {
                    errors.push(fail(RulePart::When, Problem::Expr(e)));
                    None
                }
            };
            let due = match spec
                .then
                .due
                .as_deref()
                .map(|d| compile_source(d, Ty::Date))
            {
                None => None,
                Some(Ok((ast, node))) => Some(Due { ast, node }),
                Some(Err(e)) => {
                    errors.push(fail(RulePart::Due, Problem::Expr(e)));
                    None
                }
            };
            for (part, problem) in check_actions(&spec.then) {
                errors.push(fail(part, Problem::Message(problem)));
            }
            let Some((when, cond)) = when else { continue };
            if errors.len() > before {
                continue;
            }
            let (connective, term_asts) = match &when.kind {
                ExprKind::And(items) => (Some(Connective::And), items.clone()),
                ExprKind::Or(items) => (Some(Connective::Or), items.clone()),
                _ => (None, vec![when.clone()]),
            };
            let mut terms = Vec::with_capacity(term_asts.len());
            for ast in term_asts {
                match compile_expr(&ast, Ty::Bool) {
                    Ok(node) => terms.push(Term { ast, node }),
                    Err(e) => errors.push(fail(
                        RulePart::When,
                        Problem::Expr(e.with_source(&spec.when)),
                    )),
                }
            }
            let a = &spec.then;
            rules.push(Rule {
                name: name.to_string(),
                enabled: spec.enabled,
                when,
                cond,
                connective,
                terms,
                due,
                actions: Actions {
                    owner: a.owner.as_deref().map(OwnerTarget::parse),
                    priority: a.priority,
                    labels: a.labels.iter().map(|l| l.trim().to_string()).collect(),
                    dismiss: a.dismiss.as_deref().map(|d| d.trim().to_string()),
                    change_request: a.change_request,
                    communication: a.communication,
                    notify: a.notify.iter().map(|n| n.trim().to_string()).collect(),
                    stop: a.stop,
                },
            });
        }
        if errors.is_empty() {
            Ok(RuleSet { rules })
        } else {
            Err(CompileErrors(errors))
        }
    }

    /// Reads and compiles a rules file (`[[rules]]` tables).
    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let file = RuleFile::from_toml(text)?;
        Ok(RuleSet::compile(&file.rules)?)
    }

    /// The number of rules (enabled or not).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The name of rule `index` (0-based, as in [`Outcome::matched`]).
    pub fn rule_name(&self, index: usize) -> Option<&str> {
        self.rules.get(index).map(|r| r.name.as_str())
    }

    /// The position of the rule called `name` (case-insensitive).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.rules
            .iter()
            .position(|r| r.name.to_lowercase() == name.to_lowercase())
    }

    /// Rule `index`'s condition, as parsed.
    pub fn condition(&self, index: usize) -> Option<&Expr> {
        self.rules.get(index).map(|r| &r.when)
    }

    /// Evaluates everything that depends only on the post and `now`, once.
    pub fn for_post<'a>(&'a self, post: &'a PostFacts<'a>, now: Timestamp) -> PostEval<'a> {
        let env = Env {
            post,
            now,
            tenant: None,
        };
        let mut states = Vec::with_capacity(self.rules.len());
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.enabled {
                continue;
            }
            let cond = partial(&rule.cond, &env);
            if matches!(cond, Cond::Known(false)) {
                continue;
            }
            let due = match &rule.due {
                None => DueState::Known(None),
                Some(d) if d.node.tenant => DueState::Residual(&d.node),
                Some(d) => DueState::Known(as_date(eval(&d.node, &env))),
            };
            let certain_stop = matches!(cond, Cond::Known(true)) && rule.actions.stop;
            states.push(RuleState { index, cond, due });
            if certain_stop {
                break;
            }
        }
        PostEval {
            rules: self,
            post,
            now,
            states,
        }
    }

    /// Evaluates every rule directly for one pair (no per-post stage). Same
    /// result as `for_post(post, now).for_tenant(tenant)`, slower.
    pub fn evaluate(
        &self,
        post: &PostFacts<'_>,
        tenant: &TenantFacts<'_>,
        now: Timestamp,
    ) -> Outcome {
        let env = Env {
            post,
            now,
            tenant: Some(tenant),
        };
        let mut out = OutcomeBuilder::new(self.rules.len());
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.enabled || !truthy(eval(&rule.cond, &env)) {
                continue;
            }
            let due = rule.due.as_ref().and_then(|d| as_date(eval(&d.node, &env)));
            out.apply(index, &rule.actions, due);
            if rule.actions.stop {
                break;
            }
        }
        out.finish()
    }
}

fn compile_source(src: &str, want: Ty) -> Result<(Expr, Node), ExprError> {
    let ast = parse(src)?;
    let node = compile_expr(&ast, want).map_err(|e| e.with_source(src))?;
    Ok((ast, node))
}

fn check_actions(a: &ActionSpec) -> Vec<(RulePart, String)> {
    let mut out = Vec::new();
    if a.owner.as_deref().is_some_and(|o| o.trim().is_empty()) {
        out.push((
            RulePart::Owner,
            "the owner is empty (give a name, or \"workload\")".to_string(),
        ));
    }
    if a.labels.iter().any(|l| l.trim().is_empty()) {
        out.push((RulePart::Labels, "a label is empty".to_string()));
    }
    if a.dismiss.as_deref().is_some_and(|d| d.trim().is_empty()) {
        out.push((
            RulePart::Dismiss,
            "give a reason for dismissing".to_string(),
        ));
    }
    if a.notify.iter().any(|n| n.trim().is_empty()) {
        out.push((
            RulePart::Notify,
            "a notify entry is empty (\"owner\" or an owner name)".to_string(),
        ));
    }
    out
}

pub(crate) fn as_date(v: Value<'_>) -> Option<Timestamp> {
    match v {
        Value::Date(t) => Some(t),
        _ => None,
    }
}

/// What the per-post stage knows of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Partial {
    /// The condition holds for every tenant.
    True,
    /// The condition holds for no tenant.
    False,
    /// The condition depends on the tenant's facts.
    Residual,
    /// Disabled, or after a rule that matches for every tenant and stops.
    Skipped,
}

#[derive(Debug)]
enum DueState<'a> {
    Known(Option<Timestamp>),
    Residual(&'a Node),
}

#[derive(Debug)]
struct RuleState<'a> {
    index: usize,
    cond: Cond<'a>,
    due: DueState<'a>,
}

/// The rules partially evaluated for one post: see [`RuleSet::for_post`].
#[derive(Debug)]
pub struct PostEval<'a> {
    rules: &'a RuleSet,
    post: &'a PostFacts<'a>,
    now: Timestamp,
    states: Vec<RuleState<'a>>,
}

impl<'a> PostEval<'a> {
    /// The outcome for one tenant: evaluates only the residual conditions.
    pub fn for_tenant(&self, tenant: &TenantFacts<'_>) -> Outcome {
        let env = Env {
            post: self.post,
            now: self.now,
            tenant: Some(tenant),
        };
        let mut out = OutcomeBuilder::new(self.states.len());
        for s in &self.states {
            let hit = match &s.cond {
                Cond::Known(b) => *b,
                Cond::Residual(r) => eval_residual(r, &env),
            };
            if !hit {
                continue;
            }
            let Some(rule) = self.rules.rules.get(s.index) else {
                continue;
            };
            let due = match s.due {
                DueState::Known(d) => d,
                DueState::Residual(n) => as_date(eval(n, &env)),
            };
            out.apply(s.index, &rule.actions, due);
            if rule.actions.stop {
                break;
            }
        }
        out.finish()
    }

    /// What the per-post stage decided for rule `index`.
    pub fn partial(&self, index: usize) -> Partial {
        let Some(rule) = self.rules.rules.get(index) else {
            return Partial::Skipped;
        };
        match self.states.iter().find(|s| s.index == index) {
            Some(s) => match &s.cond {
                Cond::Known(true) => Partial::True,
                Cond::Known(false) => Partial::False,
                Cond::Residual(_) => Partial::Residual,
            },
            None if !rule.enabled => Partial::Skipped,
            None => {
                // not kept: known false, or after a certain stop
                let stopped_before = self.states.last().is_some_and(|s| {
                    s.index < index
                        && matches!(s.cond, Cond::Known(true))
                        && self
                            .rules
                            .rules
                            .get(s.index)
                            .is_some_and(|r| r.actions.stop)
                });
                if stopped_before {
                    Partial::Skipped
                } else {
                    Partial::False
                }
            }
        }
    }

    /// How many rules are left to look at per tenant.
    pub fn live_rules(&self) -> usize {
        self.states.len()
    }

    /// How many of those need the tenant's facts.
    pub fn residual_rules(&self) -> usize {
        self.states
            .iter()
            .filter(|s| matches!(s.cond, Cond::Residual(_)))
            .count()
    }
}
