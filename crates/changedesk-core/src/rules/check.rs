//! Type checking, and lowering a syntax tree to the evaluated form
//! ([`Node`]): fields resolved, `x in list` turned into `list has x`,
//! `== null` into null tests, regular expressions compiled, word phrases
//! split, and the terms of `and`/`or` ordered cheapest first.

use std::fmt;

use regex::{Regex, RegexBuilder};

use crate::timestamp::Timestamp;

use super::ast::{BinOp, Expr, ExprKind, Literal};
use super::error::{ExprError, Pos};
use super::fields::{Field, Level, suggest};
use super::specialize::specialize;
use super::words::Phrase;

/// A list's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    Str,
    Int,
    Date,
    Duration,
    Bool,
    /// The empty list `[]`, which goes with any list.
    Any,
}

/// A static type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int,
    Str,
    Date,
    Duration,
    Null,
    Regex,
    List(Elem),
}

impl Ty {
    fn scalar(e: Elem) -> Option<Ty> {
        Some(match e {
            Elem::Str => Ty::Str,
            Elem::Int => Ty::Int,
            Elem::Date => Ty::Date,
            Elem::Duration => Ty::Duration,
            Elem::Bool => Ty::Bool,
            Elem::Any => return None,
        })
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Bool => "a boolean",
            Ty::Int => "a number",
            Ty::Str => "a string",
            Ty::Date => "a date",
            Ty::Duration => "a duration",
            Ty::Null => "null",
            Ty::Regex => "a regular expression",
            Ty::List(Elem::Str) => "a list of strings",
            Ty::List(Elem::Int) => "a list of numbers",
            Ty::List(Elem::Date) => "a list of dates",
            Ty::List(Elem::Duration) => "a list of durations",
            Ty::List(Elem::Bool) => "a list of booleans",
            Ty::List(Elem::Any) => "an empty list",
        })
    }
}

/// A value written in the rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Date(Timestamp),
    Duration(time::Duration),
    List(Vec<Lit>),
}

/// How `matches` matches.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// Whole words, in sequence, ASCII-case-insensitively.
    Words(Phrase),
    /// A case-insensitive regular expression.
    Regex(Regex),
}

/// Comparison operators after lowering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An evaluable node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    /// Whether it reads a tenant-level field.
    pub tenant: bool,
    /// A rough cost, to evaluate cheap terms first.
    pub cost: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Lit(Lit),
    Field(Field),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    IsNull(Box<Node>),
    NotNull(Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    /// list `has` element, or list `has` list (any of).
    Has(Box<Node>, Box<Node>),
    Matches(Box<Node>, Matcher),
    /// A list field `has` any of these strings.
    FieldHas(Field, Vec<String>),
    /// A string field equals one of these strings (negated: equals none;
    /// null is false either way).
    FieldIn(Field, Vec<String>, bool),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Coalesce(Box<Node>, Box<Node>),
}

impl Node {
    fn new(kind: NodeKind) -> Node {
        let (tenant, cost) = match &kind {
            NodeKind::Lit(_) => (false, 0),
            NodeKind::Field(f) => (f.level() == Level::Tenant, 1),
            NodeKind::FieldHas(f, _) | NodeKind::FieldIn(f, _, _) => {
                (f.level() == Level::Tenant, 3)
            }
            NodeKind::And(items) | NodeKind::Or(items) => (
                items.iter().any(|n| n.tenant),
                items.iter().map(|n| n.cost).sum::<u32>() + 1,
            ),
            NodeKind::Not(n) | NodeKind::IsNull(n) | NodeKind::NotNull(n) => (n.tenant, n.cost + 1),
            NodeKind::Matches(n, m) => {
                let scan = match (&n.kind, m) {
                    (NodeKind::Field(Field::Body), Matcher::Regex(_)) => 400,
                    (NodeKind::Field(Field::Body), Matcher::Words(_)) => 200,
                    (_, Matcher::Regex(_)) => 20,
                    (_, Matcher::Words(_)) => 10,
                };
                (n.tenant, n.cost + scan)
            }
            NodeKind::Cmp(_, a, b)
            | NodeKind::Has(a, b)
            | NodeKind::Add(a, b)
            | NodeKind::Sub(a, b)
            | NodeKind::Coalesce(a, b) => (a.tenant || b.tenant, a.cost + b.cost + 2),
        };
        Node { kind, tenant, cost }
    }
}

/// A checked node with its type.
struct Typed {
    node: Node,
    ty: Ty,
    nullable: bool,
}

/// Checks `e` and lowers it. `want` is the type the whole must have
/// (`Bool` for conditions, `Date` for due dates).
pub(crate) fn compile_expr(e: &Expr, want: Ty) -> Result<Node, ExprError> {
    let t = check(e)?;
    if t.ty != want {
        let what = match want {
            Ty::Bool => "a condition must be true or false",
            _ => "a due date must be a date",
        };
        return Err(ExprError::new(
            e.start(),
            format!("{what}, but this is {}", describe(e, t.ty)),
        ));
    }
    Ok(specialize(t.node))
}

/// As [`compile_expr`] without [`specialize`], to test that it changes
/// no result.
#[cfg(test)]
pub(crate) fn compile_general(e: &Expr, want: Ty) -> Result<Node, ExprError> {
    let t = check(e)?;
    if t.ty != want {
        return Err(ExprError::new(e.start(), "wrong type"));
    }
    Ok(t.node)
}

fn describe(e: &Expr, ty: Ty) -> String {
    match &e.kind {
        ExprKind::Field(name) => format!("{name} ({ty})"),
        _ => ty.to_string(),
    }
}

fn typed(kind: NodeKind, ty: Ty, nullable: bool) -> Typed {
    Typed {
        node: Node::new(kind),
        ty,
        nullable,
    }
}

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError::new(pos, message))
}

fn check(e: &Expr) -> Result<Typed, ExprError> {
    match &e.kind {
        ExprKind::Lit(Literal::Regex(_)) => {
            err(e.pos, "a regular expression can only follow \"matches\"")
        }
        ExprKind::Lit(l) => {
            let (lit, ty) = literal(l, e.pos)?;
            Ok(typed(NodeKind::Lit(lit), ty, ty == Ty::Null))
        }
        ExprKind::Field(name) => field(name, e.pos),
        ExprKind::List(items) => list(items),
        ExprKind::Not(inner) => {
            let t = condition(inner)?;
            Ok(typed(NodeKind::Not(Box::new(t)), Ty::Bool, false))
        }
        ExprKind::And(items) | ExprKind::Or(items) => {
            let mut nodes = items.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
            // evaluation has no side effects, so order is free: post-level
            // and cheap terms first lets the per-post stage decide more
            nodes.sort_by_key(|n| (n.tenant, n.cost));
            let kind = match &e.kind {
                ExprKind::And(_) => NodeKind::And(nodes),
                _ => NodeKind::Or(nodes),
            };
            Ok(typed(kind, Ty::Bool, false))
        }
        ExprKind::Binary(op, l, r) => binary(*op, l, r, e.pos),
    }
}

fn condition(e: &Expr) -> Result<Node, ExprError> {
    let t = check(e)?;
    if t.ty != Ty::Bool {
        return err(
            e.start(),
            format!(
                "expected a condition (true or false), but this is {}",
                describe(e, t.ty)
            ),
        );
    }
    Ok(t.node)
}

fn literal(l: &Literal, pos: Pos) -> Result<(Lit, Ty), ExprError> {
    Ok(match l {
        Literal::Str(s) => (Lit::Str(s.clone()), Ty::Str),
        Literal::Int(n) => (Lit::Int(*n), Ty::Int),
        Literal::Bool(b) => (Lit::Bool(*b), Ty::Bool),
        Literal::Null => (Lit::Null, Ty::Null),
        Literal::Duration(d) => (Lit::Duration(*d), Ty::Duration),
        Literal::Date(t) => (Lit::Date(*t), Ty::Date),
        Literal::Regex(_) => {
            return err(pos, "a regular expression can only follow \"matches\"");
        }
    })
}

fn field(name: &str, pos: Pos) -> Result<Typed, ExprError> {
    if let Some(f) = Field::from_name(name) {
        let (ty, nullable) = f.ty();
        return Ok(typed(NodeKind::Field(f), ty, nullable));
    }
    let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
    if name.chars().count() > 40 {
        let short: String = name.chars().take(40).collect();
        return err(pos, format!("unknown field \"{short}…\""));
    }
    let hint = match names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        Some(exact) => format!(" (did you mean \"{exact}\"? field names are lowercase)"),
        None => match suggest(name, &names) {
            Some(s) => format!(" (did you mean \"{s}\"?)"),
            None => format!(" (to compare with text, put it in quotes: \"{name}\")"),
        },
    };
    err(pos, format!("unknown field \"{name}\"{hint}"))
}

fn list(items: &[Expr]) -> Result<Typed, ExprError> {
    let mut lits = Vec::with_capacity(items.len());
    let mut elem = Elem::Any;
    for item in items {
        let (lit, ty) = match &item.kind {
            ExprKind::Lit(Literal::Null) => {
                return err(item.pos, "a list cannot hold null");
            }
            ExprKind::Lit(l) => literal(l, item.pos)?,
            _ => {
                return err(
                    item.start(),
                    "list items must be literal values such as \"text\", 42, 30d or 2025-03-01",
                );
            }
        };
        let this = match ty {
            Ty::Str => Elem::Str,
            Ty::Int => Elem::Int,
            Ty::Date => Elem::Date,
            Ty::Duration => Elem::Duration,
            _ => Elem::Bool,
        };
        if elem != Elem::Any && elem != this {
            let expected = Ty::scalar(elem).unwrap_or(Ty::Null);
            return err(
                item.pos,
                format!(
                    "all items of a list must have the same type: expected {expected}, found {ty}"
                ),
            );
        }
        elem = this;
        lits.push(lit);
    }
    Ok(typed(NodeKind::Lit(Lit::List(lits)), Ty::List(elem), false))
}

/// Whether values of the two types can be compared with `==`.
fn equatable(a: Ty, b: Ty) -> bool {
    let elem_ok = |x: Elem, y: Elem| x == Elem::Any || y == Elem::Any || x == y;
    match (a, b) {
        (Ty::Null, _) | (_, Ty::Null) => true,
        (Ty::List(x), Ty::List(y)) => elem_ok(x, y),
        (Ty::List(x), s) | (s, Ty::List(x)) => Ty::scalar(x).is_none_or(|t| t == s),
        (x, y) => x == y && x != Ty::Regex,
    }
}

fn binary(op: BinOp, l: &Expr, r: &Expr, pos: Pos) -> Result<Typed, ExprError> {
    let is_null = |e: &Expr| matches!(e.kind, ExprKind::Lit(Literal::Null));
    if matches!(op, BinOp::Eq | BinOp::Ne) && (is_null(l) || is_null(r)) {
        let other = if is_null(l) { r } else { l };
        let t = check(other)?;
        let inner = Box::new(t.node);
        let kind = if op == BinOp::Eq {
            NodeKind::IsNull(inner)
        } else {
            NodeKind::NotNull(inner)
        };
        return Ok(typed(kind, Ty::Bool, false));
    }
    if op == BinOp::Matches {
        return matches(l, r, pos);
    }
    let a = check(l)?;
    let b = check(r)?;
    if op != BinOp::Coalesce {
        for (t, e) in [(&a, l), (&b, r)] {
            if t.ty == Ty::Null {
                return err(
                    e.start(),
                    format!(
                        "null can only be compared with \"==\" or \"!=\", or used with \"??\" (not with \"{}\")",
                        op.as_str()
                    ),
                );
            }
        }
    }
    match op {
        BinOp::Eq | BinOp::Ne => {
            if !equatable(a.ty, b.ty) {
                let hint = if matches!((a.ty, b.ty), (Ty::Date, Ty::Str) | (Ty::Str, Ty::Date)) {
                    " (write dates without quotes: 2025-03-01)"
                } else {
                    ""
                };
                return err(
                    pos,
                    format!(
                        "cannot compare {} with {}{hint}",
                        describe(l, a.ty),
                        describe(r, b.ty)
                    ),
                );
            }
            check_known(l, r)?;
            check_known(r, l)?;
            let cmp = if op == BinOp::Eq {
                CmpOp::Eq
            } else {
                CmpOp::Ne
            };
            Ok(typed(
                NodeKind::Cmp(cmp, Box::new(a.node), Box::new(b.node)),
                Ty::Bool,
                false,
            ))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let orderable = matches!(a.ty, Ty::Int | Ty::Date | Ty::Duration);
            if !orderable || a.ty != b.ty {
                return err(
                    pos,
                    format!(
                        "\"{}\" compares two numbers, two dates or two durations, not {} and {}",
                        op.as_str(),
                        describe(l, a.ty),
                        describe(r, b.ty)
                    ),
                );
            }
            let cmp = match op {
                BinOp::Lt => CmpOp::Lt,
                BinOp::Le => CmpOp::Le,
                BinOp::Gt => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            Ok(typed(
                NodeKind::Cmp(cmp, Box::new(a.node), Box::new(b.node)),
                Ty::Bool,
                false,
            ))
        }
        BinOp::Has => {
            let Ty::List(elem) = a.ty else {
                let hint = if a.ty == Ty::Str {
                    "; use \"matches\" to look for words in text"
                } else {
                    ""
                };
                return err(
                    pos,
                    format!(
                        "\"has\" needs a list on its left, not {}{hint}",
                        describe(l, a.ty)
                    ),
                );
            };
            if !equatable(Ty::List(elem), b.ty) {
                return err(
                    pos,
                    format!("{} cannot hold {}", describe(l, a.ty), describe(r, b.ty)),
                );
            }
            check_known(l, r)?;
            Ok(typed(
                NodeKind::Has(Box::new(a.node), Box::new(b.node)),
                Ty::Bool,
                false,
            ))
        }
        BinOp::In => {
            let Ty::List(elem) = b.ty else {
                return err(
                    pos,
                    format!(
                        "\"in\" needs a list on its right, not {}",
                        describe(r, b.ty)
                    ),
                );
            };
            if let Ty::List(_) = a.ty {
                return err(
                    pos,
                    format!(
                        "{l} is a list: write \"{l} has [...]\" to test whether it holds any of several values"
                    ),
                );
            }
            if !equatable(a.ty, Ty::List(elem)) {
                return err(
                    pos,
                    format!("{} cannot hold {}", describe(r, b.ty), describe(l, a.ty)),
                );
            }
            check_known(r, l)?;
            Ok(typed(
                NodeKind::Has(Box::new(b.node), Box::new(a.node)),
                Ty::Bool,
                false,
            ))
        }
        BinOp::Add | BinOp::Sub => arithmetic(op, a, b, l, r, pos),
        BinOp::Coalesce => {
            let (ty, nullable) = match (a.ty, b.ty) {
                (Ty::Null, t) => (t, b.nullable),
                (t, Ty::Null) => (t, true),
                (x, y) if x == y => (x, b.nullable),
                (Ty::List(x), Ty::List(y)) if x == Elem::Any || y == Elem::Any => {
                    (Ty::List(if x == Elem::Any { y } else { x }), false)
                }
                (x, y) => {
                    return err(
                        pos,
                        format!("both sides of \"??\" must have the same type, not {x} and {y}"),
                    );
                }
            };
            Ok(typed(
                NodeKind::Coalesce(Box::new(a.node), Box::new(b.node)),
                ty,
                nullable,
            ))
        }
        BinOp::Matches => matches(l, r, pos),
    }
}

fn arithmetic(
    op: BinOp,
    a: Typed,
    b: Typed,
    l: &Expr,
    r: &Expr,
    pos: Pos,
) -> Result<Typed, ExprError> {
    use Ty::{Date, Duration, Int};
    let ty = match (op, a.ty, b.ty) {
        (BinOp::Add, Date, Duration) | (BinOp::Add, Duration, Date) => Date,
        (BinOp::Sub, Date, Duration) => Date,
        (BinOp::Sub, Date, Date) => Duration,
        (_, Duration, Duration) => Duration,
        (_, Int, Int) => Int,
        _ => {
            let what = if op == BinOp::Add {
                format!("cannot add {} and {}", describe(l, a.ty), describe(r, b.ty))
            } else {
                format!(
                    "cannot subtract {} from {}",
                    describe(r, b.ty),
                    describe(l, a.ty)
                )
            };
            return err(
                pos,
                format!(
                    "{what}; dates take \"date + duration\", \"date - duration\" or \"date - date\""
                ),
            );
        }
    };
    let nullable = a.nullable || b.nullable;
    let (x, y) = (Box::new(a.node), Box::new(b.node));
    let kind = if op == BinOp::Add {
        NodeKind::Add(x, y)
    } else {
        NodeKind::Sub(x, y)
    };
    Ok(typed(kind, ty, nullable))
}

fn matches(l: &Expr, r: &Expr, pos: Pos) -> Result<Typed, ExprError> {
    let a = check(l)?;
    if !matches!(a.ty, Ty::Str | Ty::List(Elem::Str) | Ty::List(Elem::Any)) {
        return err(
            pos,
            format!(
                "\"matches\" looks into text or a list of strings, not {}",
                describe(l, a.ty)
            ),
        );
    }
    let matcher = match &r.kind {
        ExprKind::Lit(Literal::Str(s)) => {
            let Some(phrase) = Phrase::new(s) else {
                return err(
                    r.pos,
                    "this text has no words to match (words are letters and digits)",
                );
            };
            Matcher::Words(phrase)
        }
        ExprKind::Lit(Literal::Regex(src)) => Matcher::Regex(build_regex(src, r.pos)?),
        _ => {
            return err(
                r.start(),
                "\"matches\" needs \"words to find\" or a /regular expression/ on its right",
            );
        }
    };
    Ok(typed(
        NodeKind::Matches(Box::new(a.node), matcher),
        Ty::Bool,
        false,
    ))
}

fn build_regex(src: &str, pos: Pos) -> Result<Regex, ExprError> {
    RegexBuilder::new(src)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 21)
        .build()
        .map_err(|e| {
            let detail = match &e {
                regex::Error::Syntax(s) => s
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("syntax error")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string(),
                regex::Error::CompiledTooBig(_) => "it is too large".to_string(),
                other => other.to_string(),
            };
            ExprError::new(pos, format!("invalid regular expression: {detail}"))
        })
}

/// A literal compared with `category`, `severity`, `rollout` or
/// `changed_fields` that is close to, but not, a known value.
fn check_known(field_side: &Expr, value_side: &Expr) -> Result<(), ExprError> {
    let ExprKind::Field(name) = &field_side.kind else {
        return Ok(());
    };
    let Some(f) = Field::from_name(name) else {
        return Ok(());
    };
    let known = f.known_values();
    if known.is_empty() {
        return Ok(());
    }
    let values: Vec<&Expr> = match &value_side.kind {
        ExprKind::List(items) => items.iter().collect(),
        _ => vec![value_side],
    };
    for v in values {
        let ExprKind::Lit(Literal::Str(s)) = &v.kind else {
            continue;
        };
        if known.iter().any(|k| k.eq_ignore_ascii_case(s)) {
            continue;
        }
        if let Some(close) = suggest(s, known) {
            return err(
                v.pos,
                format!(
                    "\"{s}\" is not a value of {name} (did you mean \"{close}\"? known values: {})",
                    known.join(", ")
                ),
            );
        }
    }
    Ok(())
}
