//! The syntax tree of an expression, and how it prints back.
//!
//! Printing adds only the parentheses the precedence needs, so
//! `parse(print(e)) == e` for every tree the parser can produce (positions
//! aside: they never take part in equality).

use std::fmt;

use crate::timestamp::Timestamp;

use super::error::Pos;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `has`
    Has,
    /// `matches`
    Matches,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `??`
    Coalesce,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Has => "has",
            BinOp::Matches => "matches",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Coalesce => "??",
        }
    }

    /// Binding strength: higher binds tighter.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::In
            | BinOp::Has
            | BinOp::Matches => PREC_CMP,
            BinOp::Add | BinOp::Sub => PREC_ADD,
            BinOp::Coalesce => PREC_COALESCE,
        }
    }

    /// Whether this is a comparison (`==` … `matches`).
    pub fn is_comparison(self) -> bool {
        self.precedence() == PREC_CMP
    }
}

pub(crate) const PREC_OR: u8 = 1;
pub(crate) const PREC_AND: u8 = 2;
pub(crate) const PREC_NOT: u8 = 3;
pub(crate) const PREC_CMP: u8 = 4;
pub(crate) const PREC_COALESCE: u8 = 5;
pub(crate) const PREC_ADD: u8 = 6;
pub(crate) const PREC_ATOM: u8 = 7;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `"text"` or `'text'`.
    Str(String),
    /// `42` (never negative as written).
    Int(i64),
    /// `true`, `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `30d`, `1d12h`.
    Duration(time::Duration),
    /// `2025-03-01` or `2025-03-01T10:00:00Z`.
    Date(Timestamp),
    /// `/pattern/`, the pattern as written between the slashes.
    Regex(String),
}

/// One expression node. Equality compares the shape and ignores `pos`.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is anchored: a binary operator's position for a binary
    /// node, the first `and`/`or` for a chain, `not`, `[`, or the start of a
    /// literal or field.
    pub pos: Pos,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Lit(Literal),
    /// A field name (or `now`) as written.
    Field(String),
    /// `[a, b, …]`.
    List(Vec<Expr>),
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b and …` (at least two terms).
    And(Vec<Expr>),
    /// `a or b or …` (at least two terms).
    Or(Vec<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// A node at position `pos`.
    pub fn new(kind: ExprKind, pos: Pos) -> Self {
        Expr { kind, pos }
    }

    /// Where the expression starts in the text (its leftmost token).
    pub fn start(&self) -> Pos {
        let mut e = self;
        loop {
            match &e.kind {
                ExprKind::Binary(_, l, _) => e = l,
                ExprKind::And(items) | ExprKind::Or(items) => match items.first() {
                    Some(first) => e = first,
                    None => return e.pos,
                },
                _ => return e.pos,
            }
        }
    }

    pub(crate) fn precedence(&self) -> u8 {
        match &self.kind {
            ExprKind::Or(_) => PREC_OR,
            ExprKind::And(_) => PREC_AND,
            ExprKind::Not(_) => PREC_NOT,
            ExprKind::Binary(op, _, _) => op.precedence(),
            ExprKind::Lit(_) | ExprKind::Field(_) | ExprKind::List(_) => PREC_ATOM,
        }
    }

    /// Field names the expression mentions, in order of first appearance.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        match &self.kind {
            ExprKind::Field(name) => {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            ExprKind::Lit(_) => {}
            ExprKind::List(items) | ExprKind::And(items) | ExprKind::Or(items) => {
                items.iter().for_each(|i| i.collect_fields(out))
            }
            ExprKind::Not(e) => e.collect_fields(out),
            ExprKind::Binary(_, l, r) => {
                l.collect_fields(out);
                r.collect_fields(out);
            }
        }
    }
}

/// Writes a string literal with double quotes and escapes.
pub(crate) fn write_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A duration as `9d3h4m5s` (days at most, so `7d` stays `7d`; `0s` for
/// zero; a leading `-` for a negative one, which only evaluation produces).
pub(crate) fn format_duration(d: time::Duration) -> String {
    let total = d.whole_seconds();
    let mut secs = total.unsigned_abs();
    let mut out = String::new();
    if total < 0 {
        out.push('-');
    }
    for (unit, size) in [('d', 86_400u64), ('h', 3_600), ('m', 60)] {
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    if secs > 0 || total == 0 {
        out.push_str(&secs.to_string());
        out.push('s');
    }
    out
}

/// A date literal: `2025-03-01` at midnight UTC, else the canonical form.
pub(crate) fn format_date(t: &Timestamp) -> String {
    let dt = t.as_datetime();
    if dt.time() == time::Time::MIDNIGHT {
        t.date()
    } else {
        t.to_canonical()
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_string(f, s),
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
            Literal::Duration(d) => f.write_str(&format_duration(*d)),
            Literal::Date(t) => f.write_str(&format_date(t)),
            Literal::Regex(r) => write!(f, "/{r}/"),
        }
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Lit(l) => write!(f, "{l}"),
            ExprKind::Field(name) => f.write_str(name),
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            ExprKind::Not(e) => {
                f.write_str("not ")?;
                write_child(f, e, e.precedence() < PREC_NOT)
            }
            ExprKind::And(items) | ExprKind::Or(items) => {
                let (word, prec) = match &self.kind {
                    ExprKind::And(_) => (" and ", PREC_AND),
                    _ => (" or ", PREC_OR),
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    // a nested chain of the same kind needs parentheses to
                    // stay a separate node
                    write_child(f, item, item.precedence() <= prec)?;
                }
                Ok(())
            }
            ExprKind::Binary(op, l, r) => {
                let prec = op.precedence();
                let (left_parens, right_parens) = match op {
                    // left-associative
                    BinOp::Add | BinOp::Sub => (l.precedence() < prec, r.precedence() <= prec),
                    // right-associative
                    BinOp::Coalesce => (l.precedence() <= prec, r.precedence() < prec),
                    // comparisons do not chain
                    _ => (l.precedence() <= prec, r.precedence() <= prec),
                };
                write_child(f, l, left_parens)?;
                write!(f, " {} ", op.as_str())?;
                write_child(f, r, right_parens)
            }
        }
    }
}
