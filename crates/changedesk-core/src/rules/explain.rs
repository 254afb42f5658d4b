//! Why the rules decided what they did for one post and tenant: every rule,
//! its terms with their values and the fields they read, the actions it
//! applied and those an earlier rule had already decided.

use std::fmt;

use serde::Serialize;

use crate::timestamp::Timestamp;

use super::ast::{format_date, format_duration, write_string};
use super::eval::{Env, List, Value, eval, field_value, truthy};
use super::facts::{PostFacts, TenantFacts};
use super::fields::Field;
use super::spec::{Outcome, OutcomeBuilder};
use super::{Expr, RuleSet, as_date};

/// How the top level of a condition combines its terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connective {
    /// `a and b and …`
    And,
    /// `a or b or …`
    Or,
}

/// What happened to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// The condition held and the actions were applied.
    Matched,
    /// The condition did not hold.
    NotMatched,
    /// The rule is disabled.
    Disabled,
    /// An earlier rule stopped the evaluation (the condition is still shown).
    NotReached,
}

/// A field and its value, as the rules language writes values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldTrace {
    /// The field's name.
    pub field: String,
    /// Its value (long text shortened).
    pub value: String,
}

/// One top-level term of a condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermTrace {
    /// The term, printed.
    pub text: String,
    /// Whether it held.
    pub value: bool,
    /// The fields it read.
    pub fields: Vec<FieldTrace>,
}

/// A rule's `due` expression and what it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueTrace {
    /// The expression, printed.
    pub expr: String,
    /// The date, or `None` when it evaluated to null.
    pub value: Option<Timestamp>,
    /// The fields it read.
    pub fields: Vec<FieldTrace>,
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionTrace {
    /// `owner`, `priority`, `due`, `labels`, `dismiss`, `change_request`,
    /// `communication`, `notify` or `stop`.
    pub action: String,
    /// Its value.
    pub value: String,
    /// For an overridden action, the earlier rule whose value stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_from: Option<String>,
}

/// One rule in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTrace {
    /// 0-based position.
    pub index: usize,
    /// The rule's name.
    pub name: String,
    /// What happened.
    pub status: RuleStatus,
    /// The condition, printed.
    pub when: String,
    /// How the terms combine (`None`: a single term).
    pub connective: Option<Connective>,
    /// The top-level terms (empty for a disabled rule).
    pub terms: Vec<TermTrace>,
    /// The due expression, if the rule has one and matched.
    pub due: Option<DueTrace>,
    /// Actions that took effect.
    pub applied: Vec<ActionTrace>,
    /// Single-valued actions an earlier rule had already decided.
    pub overridden: Vec<ActionTrace>,
}

/// The full trace of the rules for one post and tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The post's id.
    pub post: String,
    /// The tenant's name.
    pub tenant: String,
    /// The evaluation time.
    pub now: Timestamp,
    /// Every rule, in order.
    pub rules: Vec<RuleTrace>,
    /// The result (the same as [`super::PostEval::for_tenant`]'s).
    pub outcome: Outcome,
}

const MAX_SHOWN: usize = 80;
const MAX_ITEMS: usize = 12;

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_SHOWN).collect();
    out.push('…');
    out
}

fn render(v: Value<'_>) -> String {
    let mut out = String::new();
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Str(s) => {
            let _ = write_string(&mut out, &shorten(s));
        }
        Value::Date(t) => out.push_str(&format_date(&t)),
        Value::Duration(d) => out.push_str(&format_duration(d)),
        Value::List(items) => render_list(items, &mut out),
    }
    out
}

fn render_list(items: List<'_>, out: &mut String) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if i == MAX_ITEMS {
            out.push_str(&format!("… {} more", items.len() - MAX_ITEMS));
            break;
        }
        out.push_str(&render(item));
    }
    out.push(']');
}

fn fields_of(e: &Expr, env: &Env<'_>) -> Vec<FieldTrace> {
    e.fields()
        .iter()
        .filter_map(|name| Field::from_name(name))
        .map(|f| FieldTrace {
            field: f.name().to_string(),
            value: render(field_value(f, env)),
        })
        .collect()
}

fn action(action: &str, value: impl Into<String>) -> ActionTrace {
    ActionTrace {
        action: action.to_string(),
        value: value.into(),
        kept_from: None,
    }
}

/// Who set each single-valued action first.
#[derive(Default)]
struct Winners {
    owner: Option<String>,
    priority: Option<String>,
    due: Option<String>,
    dismiss: Option<String>,
}

/// Records a single-valued action: applied if no earlier rule set it,
/// overridden otherwise.
fn single(
    slot: &mut Option<String>,
    rule: &str,
    trace: ActionTrace,
    applied: &mut Vec<ActionTrace>,
    overridden: &mut Vec<ActionTrace>,
) {
    match slot {
        Some(first) => overridden.push(ActionTrace {
            kept_from: Some(first.clone()),
            ..trace
        }),
        None => {
            *slot = Some(rule.to_string());
            applied.push(trace);
        }
    }
}

impl RuleSet {
    /// The full trace of every rule for one post and tenant. Slower than
    /// [`RuleSet::for_post`]; meant for `changedesk rules test`.
    pub fn explain(
        &self,
        post: &PostFacts<'_>,
        tenant: &TenantFacts<'_>,
        now: Timestamp,
    ) -> Explanation {
        let env = Env {
            post,
            now,
            tenant: Some(tenant),
        };
        let mut outcome = OutcomeBuilder::new(self.rules.len());
        let mut winners = Winners::default();
        let mut stopped = false;
        let mut traces = Vec::with_capacity(self.rules.len());
        for (index, rule) in self.rules.iter().enumerate() {
            let mut trace = RuleTrace {
                index,
                name: rule.name.clone(),
                status: RuleStatus::Disabled,
                when: rule.when.to_string(),
                connective: rule.connective,
                terms: Vec::new(),
                due: None,
                applied: Vec::new(),
                overridden: Vec::new(),
            };
            if !rule.enabled {
                traces.push(trace);
                continue;
            }
            trace.terms = rule
                .terms
                .iter()
                .map(|t| TermTrace {
                    text: t.ast.to_string(),
                    value: truthy(eval(&t.node, &env)),
                    fields: fields_of(&t.ast, &env),
                })
                .collect();
            let matched = truthy(eval(&rule.cond, &env));
            trace.status = match (stopped, matched) {
                (true, _) => RuleStatus::NotReached,
                (false, true) => RuleStatus::Matched,
                (false, false) => RuleStatus::NotMatched,
            };
            if stopped || !matched {
                traces.push(trace);
                continue;
            }
            let due = rule.due.as_ref().map(|d| DueTrace {
                expr: d.ast.to_string(),
                value: as_date(eval(&d.node, &env)),
                fields: fields_of(&d.ast, &env),
            });
            let a = &rule.actions;
            let (applied, overridden) = (&mut trace.applied, &mut trace.overridden);
            let name = rule.name.as_str();
            if let Some(o) = &a.owner {
                single(
                    &mut winners.owner,
                    name,
                    action("owner", o.to_string()),
                    applied,
                    overridden,
                );
            }
            if let Some(p) = a.priority {
                single(
                    &mut winners.priority,
                    name,
                    action("priority", p.as_str()),
                    applied,
                    overridden,
                );
            }
            if let Some(value) = due.as_ref().and_then(|d| d.value) {
                single(
                    &mut winners.due,
                    name,
                    action("due", format_date(&value)),
                    applied,
                    overridden,
                );
            }
            if let Some(r) = &a.dismiss {
                single(
                    &mut winners.dismiss,
                    name,
                    action("dismiss", r.as_str()),
                    applied,
                    overridden,
                );
            }
            for l in &a.labels {
                applied.push(action("labels", l.as_str()));
            }
            if a.change_request {
                applied.push(action("change_request", "true"));
            }
            if a.communication {
                applied.push(action("communication", "true"));
            }
            for n in &a.notify {
                applied.push(action("notify", n.as_str()));
            }
            if a.stop {
                applied.push(action("stop", "true"));
                stopped = true;
            }
            outcome.apply(index, a, due.as_ref().and_then(|d| d.value));
            trace.due = due;
            traces.push(trace);
        }
        Explanation {
            post: post.content().id.clone(),
            tenant: tenant.tenant.to_string(),
            now,
            rules: traces,
            outcome: outcome.finish(),
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Rules for {} in tenant {} at {}",
            self.post,
            if self.tenant.is_empty() {
                "(none)"
            } else {
                &self.tenant
            },
            self.now.human()
        )?;
        for r in &self.rules {
            writeln!(f)?;
            write!(f, "{}", r)?;
        }
        writeln!(f)?;
        write!(f, "Outcome: {}", self.outcome)
    }
}

fn write_fields(f: &mut fmt::Formatter<'_>, fields: &[FieldTrace]) -> fmt::Result {
    for (i, fv) in fields.iter().enumerate() {
        f.write_str(if i == 0 { "   (" } else { ", " })?;
        write!(f, "{} = {}", fv.field, fv.value)?;
        if i + 1 == fields.len() {
            f.write_str(")")?;
        }
    }
    Ok(())
}

impl fmt::Display for RuleTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            RuleStatus::Matched => "matched",
            RuleStatus::NotMatched => "not matched",
            RuleStatus::Disabled => "disabled",
            RuleStatus::NotReached => "not reached (an earlier rule stopped the evaluation)",
        };
        writeln!(f, "{}. {:?}: {status}", self.index + 1, self.name)?;
        if self.status == RuleStatus::Disabled {
            return writeln!(f, "     when {}", self.when);
        }
        let word = match self.connective {
            Some(Connective::And) => "and",
            Some(Connective::Or) => "or",
            None => "",
        };
        for (i, t) in self.terms.iter().enumerate() {
            let lead = if i == 0 { "" } else { word };
            write!(
                f,
                "   {lead:>3} {} → {}",
                t.text,
                if t.value { "true" } else { "false" }
            )?;
            write_fields(f, &t.fields)?;
            writeln!(f)?;
        }
        if let Some(d) = &self.due {
            let value = d
                .value
                .map_or("null (no due date)".to_string(), |t| format_date(&t));
            write!(f, "     due {} → {value}", d.expr)?;
            write_fields(f, &d.fields)?;
            writeln!(f)?;
        }
        let list = |items: &[ActionTrace]| {
            items
                .iter()
                .map(|a| match &a.kept_from {
                    Some(by) => format!("{} = {} (kept from {by:?})", a.action, a.value),
                    None => format!("{} = {}", a.action, a.value),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !self.applied.is_empty() {
            writeln!(f, "     applied: {}", list(&self.applied))?;
        }
        if !self.overridden.is_empty() {
            writeln!(f, "     overridden: {}", list(&self.overridden))?;
        }
        Ok(())
    }
}
