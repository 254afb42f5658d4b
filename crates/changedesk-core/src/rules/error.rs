//! Errors of the rules language: where in an expression, which rule, and a
//! caret under the spot.

use std::fmt;

use serde::Serialize;

/// A position in an expression: 1-based line and column, counted in
/// characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pos {
    /// 1-based line (expressions written with TOML's `'''` may span lines).
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Pos {
    /// Line 1, column 1.
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// A mistake in one expression: where it is and what is wrong.
///
/// `Display` gives `column 12: expected a value after "==", found end of
/// input` (with `line 2, column 3` for a multi-line expression), then the
/// offending line and a caret under the column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExprError {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, short, for the person who wrote the rule.
    pub message: String,
    /// The expression as written.
    pub source: String,
}

impl ExprError {
    pub(crate) fn new(pos: Pos, message: impl Into<String>) -> Self {
        ExprError {
            pos,
            message: message.into(),
            source: String::new(),
        }
    }

    pub(crate) fn with_source(mut self, source: &str) -> Self {
        self.source = source.to_string();
        self
    }

    /// `column 12` or `line 2, column 3`.
    pub fn location(&self) -> String {
        if self.source.contains('\n') {
            format!("line {}, column {}", self.pos.line, self.pos.column)
        } else {
            format!("column {}", self.pos.column)
        }
    }

    /// The offending line and a caret under the column, each indented by
    /// two spaces.
    pub fn caret(&self) -> String {
        let line = self
            .source
            .split('\n')
            .nth(self.pos.line.saturating_sub(1) as usize)
            .unwrap_or_default();
        let shown: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let pad = " ".repeat(self.pos.column.saturating_sub(1) as usize);
        format!("  {}\n  {pad}^", shown.trim_end())
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if !self.source.is_empty() {
            write!(f, "\n{}", self.caret())?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// Which part of a rule an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulePart {
    /// The rule's name.
    Name,
    /// The `when` condition.
    When,
    /// `then.owner`.
    Owner,
    /// `then.due`.
    Due,
    /// `then.labels`.
    Labels,
    /// `then.dismiss`.
    Dismiss,
    /// `then.notify`.
    Notify,
}

impl RulePart {
    /// The key as written in the rules file.
    pub fn as_str(self) -> &'static str {
        match self {
            RulePart::Name => "name",
            RulePart::When => "when",
            RulePart::Owner => "owner",
            RulePart::Due => "due",
            RulePart::Labels => "labels",
            RulePart::Dismiss => "dismiss",
            RulePart::Notify => "notify",
        }
    }
}

/// What is wrong with a rule part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompileProblem {
    /// An expression that does not parse or does not type-check.
    Expr(ExprError),
    /// Anything else (an empty name, a duplicate, an empty label, …).
    Message(String),
}

/// One problem in one rule.
///
/// `Display`: `rule "x": when: column 12: expected a value after "==",
/// found end of input`, followed for expressions by the line and a caret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileError {
    /// 0-based position of the rule in the list.
    pub index: usize,
    /// The rule's name as written (may be empty when that is the problem).
    pub rule: String,
    /// The part of the rule that is wrong.
    pub part: RulePart,
    /// What is wrong.
    pub problem: CompileProblem,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rule.trim().is_empty() {
            write!(f, "rule {}", self.index + 1)?;
        } else {
            write!(f, "rule {:?}", self.rule)?;
        }
        write!(f, ": {}: ", self.part.as_str())?;
        match &self.problem {
            CompileProblem::Expr(e) => write!(f, "{e}"),
            CompileProblem::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CompileError {}

/// Every problem found in a list of rules (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileErrors(pub Vec<CompileError>);

impl CompileErrors {
    /// The problems, in rule order.
    pub fn errors(&self) -> &[CompileError] {
        &self.0
    }
}

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileErrors {}

/// A rules file that could not be read or compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// Not valid TOML, or not the shape of a rules file (unknown key, wrong
    /// type, bad priority, …). The message names the line and column.
    #[error("rules file: {0}")]
    File(String),
    /// Valid shape, but some rules do not compile.
    #[error("{0}")]
    Compile(#[from] CompileErrors),
}
