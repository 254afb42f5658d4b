//! Evaluation: full (post and tenant facts known) and partial (post facts
//! only, leaving a residual condition over the tenant's facts).
//!
//! Nothing here panics or allocates on the common paths: values borrow from
//! the facts and the compiled rules, and word matching runs on text
//! lowercased once per post.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::graph::RolloutStatus;
use crate::timestamp::Timestamp;

use super::check::{CmpOp, Lit, Matcher, Node, NodeKind};
use super::facts::{PostFacts, TenantFacts};
use super::fields::Field;

/// A runtime value, borrowing from the facts or the rules.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Date(Timestamp),
    Duration(time::Duration),
    List(List<'a>),
}

/// A list value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum List<'a> {
    Strings(&'a [String]),
    Strs(&'a [&'a str]),
    Statuses(&'a [RolloutStatus]),
    Lits(&'a [Lit]),
}

impl<'a> List<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            List::Strings(s) => s.len(),
            List::Strs(s) => s.len(),
            List::Statuses(s) => s.len(),
            List::Lits(s) => s.len(),
        }
    }

    pub(crate) fn get(&self, i: usize) -> Value<'a> {
        match self {
            List::Strings(s) => s.get(i).map_or(Value::Null, |s| Value::Str(s)),
            List::Strs(s) => s.get(i).map_or(Value::Null, |s| Value::Str(s)),
            List::Statuses(s) => s.get(i).map_or(Value::Null, |s| Value::Str(s.as_str())),
            List::Lits(s) => s.get(i).map_or(Value::Null, lit_value),
        }
    }

    /// Whether some item is a string that satisfies `pred`; `None` for a
    /// list that may hold other things.
    fn any_str(&self, pred: impl Fn(&str) -> bool) -> Option<bool> {
        match self {
            List::Strings(s) => Some(s.iter().any(|i| pred(i))),
            List::Strs(s) => Some(s.iter().any(|i| pred(i))),
            List::Statuses(s) => Some(s.iter().any(|i| pred(i.as_str()))),
            List::Lits(s) => Some(s.iter().any(|i| matches!(i, Lit::Str(l) if pred(l)))),
        }
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Value<'a>> {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// What the evaluation knows.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub post: &'a PostFacts<'a>,
    pub now: Timestamp,
    /// `None` in the per-post stage: tenant fields are then unknown, and
    /// only nodes that do not read them are evaluated.
    pub tenant: Option<&'a TenantFacts<'a>>,
}

pub(crate) fn lit_value(l: &Lit) -> Value<'_> {
    match l {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Int(n) => Value::Int(*n),
        Lit::Str(s) => Value::Str(s),
        Lit::Date(t) => Value::Date(*t),
        Lit::Duration(d) => Value::Duration(*d),
        Lit::List(items) => Value::List(List::Lits(items)),
    }
}

pub(crate) fn field_value<'a>(f: Field, env: &Env<'a>) -> Value<'a> {
    let post = env.post;
    let c = post.content;
    let date = |t: Option<Timestamp>| t.map_or(Value::Null, Value::Date);
    let tenant = env.tenant;
    let strings =
        |s: Option<&'a [String]>| s.map_or(Value::Null, |s| Value::List(List::Strings(s)));
    match f {
        Field::Services => Value::List(List::Strings(&c.services)),
        Field::Tags => Value::List(List::Strings(&c.tags)),
        Field::RoadmapIds => Value::List(List::Strs(&post.roadmap_ids)),
        Field::Platforms => Value::List(List::Strs(&post.platforms)),
        Field::Category => Value::Str(c.category.as_str()),
        Field::Severity => Value::Str(c.severity.as_str()),
        Field::Title => Value::Str(post.title()),
        Field::Body => Value::Str(post.body),
        Field::Id => Value::Str(&c.id),
        Field::Major => Value::Bool(c.is_major),
        Field::ActBy => date(c.act_by),
        Field::Start => date(c.start),
        Field::End => date(c.end),
        Field::LastModified => date(c.last_modified),
        Field::RolloutStart => date(post.rollout().start),
        Field::RolloutEnd => date(post.rollout().end),
        Field::Rings => Value::List(List::Strs(&post.rollout().rings)),
        Field::Clouds => Value::List(List::Strs(&post.rollout().clouds)),
        Field::Now => Value::Date(env.now),
        Field::Tenant => tenant.map_or(Value::Null, |t| Value::Str(t.tenant)),
        Field::TenantGroup => strings(tenant.map(|t| t.groups)),
        Field::Rollout => tenant.map_or(Value::Null, |t| Value::List(List::Statuses(t.rollout))),
        Field::IsNew => tenant.map_or(Value::Null, |t| Value::Bool(t.is_new)),
        Field::IsUpdated => tenant.map_or(Value::Null, |t| Value::Bool(t.is_updated)),
        Field::ChangedFields => strings(tenant.map(|t| t.changed_fields)),
    }
}

/// Only `true` is true: null, or anything else, counts as false.
pub(crate) fn truthy(v: Value<'_>) -> bool {
    matches!(v, Value::Bool(true))
}

/// Full evaluation.
pub(crate) fn eval<'a>(n: &'a Node, env: &Env<'a>) -> Value<'a> {
    match &n.kind {
        NodeKind::Lit(l) => lit_value(l),
        NodeKind::Field(f) => field_value(*f, env),
        NodeKind::And(items) => Value::Bool(items.iter().all(|i| truthy(eval(i, env)))),
        NodeKind::Or(items) => Value::Bool(items.iter().any(|i| truthy(eval(i, env)))),
        NodeKind::Not(i) => Value::Bool(!truthy(eval(i, env))),
        NodeKind::IsNull(i) => Value::Bool(matches!(eval(i, env), Value::Null)),
        NodeKind::NotNull(i) => Value::Bool(!matches!(eval(i, env), Value::Null)),
        NodeKind::Cmp(op, a, b) => Value::Bool(compare(*op, eval(a, env), eval(b, env))),
        NodeKind::Has(a, b) => Value::Bool(has(eval(a, env), eval(b, env))),
        NodeKind::Matches(subject, m) => Value::Bool(matches_node(subject, m, env)),
        NodeKind::FieldHas(f, wanted) => Value::Bool(match field_value(*f, env) {
            Value::List(items) => wanted
                .iter()
                .any(|w| items.any_str(|i| i.eq_ignore_ascii_case(w)) == Some(true)),
            _ => false,
        }),
        NodeKind::FieldIn(f, wanted, negate) => Value::Bool(match field_value(*f, env) {
            Value::Str(s) => wanted.iter().any(|w| w.eq_ignore_ascii_case(s)) != *negate,
            _ => false,
        }),
        NodeKind::Add(a, b) => add(eval(a, env), eval(b, env)),
        NodeKind::Sub(a, b) => sub(eval(a, env), eval(b, env)),
        NodeKind::Coalesce(a, b) => match eval(a, env) {
            Value::Null => eval(b, env),
            v => v,
        },
    }
}

/// `Some(equal)`, or `None` when the values cannot be compared.
fn equal(a: Value<'_>, b: Value<'_>) -> Option<bool> {
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut all = true;
            for (p, q) in x.iter().zip(y.iter()) {
                all &= equal(p, q)?;
            }
            Some(all)
        }
        (Value::List(x), s) | (s, Value::List(x)) => {
            let mut comparable = x.len() == 0;
            for item in x.iter() {
                match equal(item, s) {
                    Some(true) => return Some(true),
                    Some(false) => comparable = true,
                    None => {}
                }
            }
            comparable.then_some(false)
        }
        (Value::Str(x), Value::Str(y)) => Some(x.eq_ignore_ascii_case(y)),
        (Value::Int(x), Value::Int(y)) => Some(x == y),
        (Value::Date(x), Value::Date(y)) => Some(x == y),
        (Value::Duration(x), Value::Duration(y)) => Some(x == y),
        (Value::Bool(x), Value::Bool(y)) => Some(x == y),
        _ => None,
    }
}

fn order(a: Value<'_>, b: Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(&y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(&y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

/// Any comparison with a null operand is false.
fn compare(op: CmpOp, a: Value<'_>, b: Value<'_>) -> bool {
    if matches!(a, Value::Null) || matches!(b, Value::Null) {
        return false;
    }
    match op {
        CmpOp::Eq => equal(a, b) == Some(true),
        CmpOp::Ne => equal(a, b) == Some(false),
        CmpOp::Lt => order(a, b) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(a, b), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(a, b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(a, b), Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// `list has x`; with a list on the right, whether it has any of them.
fn has(list: Value<'_>, x: Value<'_>) -> bool {
    let Value::List(items) = list else {
        return false;
    };
    // fast paths for the common shapes, same results as the general one
    match x {
        Value::Str(s) => {
            if let Some(found) = items.any_str(|i| i.eq_ignore_ascii_case(s)) {
                return found;
            }
        }
        Value::List(List::Lits(wanted)) => {
            return wanted.iter().any(|w| match w {
                Lit::Str(s) => items.any_str(|i| i.eq_ignore_ascii_case(s)) == Some(true),
                other => has(list, lit_value(other)),
            });
        }
        _ => {}
    }
    match x {
        Value::Null => false,
        Value::List(wanted) => wanted.iter().any(|w| has(list, w)),
        x => items.iter().any(|item| equal(item, x) == Some(true)),
    }
}

fn add<'a>(a: Value<'a>, b: Value<'a>) -> Value<'a> {
    match (a, b) {
        (Value::Date(t), Value::Duration(d)) | (Value::Duration(d), Value::Date(t)) => {
            Value::Date(t.saturating_add(d))
        }
        (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.saturating_add(y)),
        (Value::Int(x), Value::Int(y)) => x.checked_add(y).map_or(Value::Null, Value::Int),
        _ => Value::Null,
    }
}

fn sub<'a>(a: Value<'a>, b: Value<'a>) -> Value<'a> {
    match (a, b) {
        (Value::Date(t), Value::Duration(d)) => {
            Value::Date(t.saturating_add(time::Duration::ZERO.saturating_sub(d)))
        }
        (Value::Date(x), Value::Date(y)) => Value::Duration(x.as_datetime() - y.as_datetime()),
        (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.saturating_sub(y)),
        (Value::Int(x), Value::Int(y)) => x.checked_sub(y).map_or(Value::Null, Value::Int),
        _ => Value::Null,
    }
}

fn matches_node<'a>(subject: &'a Node, m: &Matcher, env: &Env<'a>) -> bool {
    match (&subject.kind, m) {
        (NodeKind::Field(Field::Title), Matcher::Words(w)) => w.is_in(env.post.title_lower()),
        (NodeKind::Field(Field::Body), Matcher::Words(w)) => w.is_in(env.post.body_lower()),
        _ => match eval(subject, env) {
            Value::Str(s) => matches_str(s, m),
            Value::List(items) => items.iter().any(|v| match v {
                Value::Str(s) => matches_str(s, m),
                _ => false,
            }),
            _ => false,
        },
    }
}

fn matches_str(s: &str, m: &Matcher) -> bool {
    match m {
        Matcher::Regex(r) => r.is_match(s),
        Matcher::Words(w) => {
            let lower: Cow<'_, str> = if s.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(s.to_ascii_lowercase())
            } else {
                Cow::Borrowed(s)
            };
            w.is_in(&lower)
        }
    }
}

/// What the per-post stage knows of a condition.
#[derive(Debug)]
pub(crate) enum Cond<'r> {
    Known(bool),
    Residual(Residual<'r>),
}

/// The part of a condition that depends on the tenant.
#[derive(Debug)]
pub(crate) enum Residual<'r> {
    /// Evaluate this node with the tenant's facts.
    Node(&'r Node),
    Not(Box<Residual<'r>>),
    All(Vec<Residual<'r>>),
    Any(Vec<Residual<'r>>),
}

/// Partially evaluates a condition with the post's facts only
/// (`env.tenant` is `None`).
pub(crate) fn partial<'a>(n: &'a Node, env: &Env<'a>) -> Cond<'a> {
    if !n.tenant {
        return Cond::Known(truthy(eval(n, env)));
    }
    match &n.kind {
        NodeKind::And(items) | NodeKind::Or(items) => {
            let is_and = matches!(n.kind, NodeKind::And(_));
            let mut parts = Vec::new();
            for item in items {
                match partial(item, env) {
                    // false decides an `and`, true an `or`
                    Cond::Known(b) if b != is_and => return Cond::Known(b),
                    Cond::Known(_) => {}
                    Cond::Residual(r) => parts.push(r),
                }
            }
            match parts.len() {
                0 => Cond::Known(is_and),
                1 => Cond::Residual(parts.pop().unwrap_or(Residual::Node(n))),
                _ if is_and => Cond::Residual(Residual::All(parts)),
                _ => Cond::Residual(Residual::Any(parts)),
            }
        }
        NodeKind::Not(inner) => match partial(inner, env) {
            Cond::Known(b) => Cond::Known(!b),
            Cond::Residual(r) => Cond::Residual(Residual::Not(Box::new(r))),
        },
        _ => Cond::Residual(Residual::Node(n)),
    }
}

/// Finishes a residual condition with the tenant's facts.
pub(crate) fn eval_residual<'a>(r: &Residual<'a>, env: &Env<'a>) -> bool {
    match r {
        Residual::Node(n) => truthy(eval(n, env)),
        Residual::Not(r) => !eval_residual(r, env),
        Residual::All(parts) => parts.iter().all(|p| eval_residual(p, env)),
        Residual::Any(parts) => parts.iter().any(|p| eval_residual(p, env)),
    }
}
