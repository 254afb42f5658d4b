//! Recursive-descent parser: text to [`Expr`].
//!
//! Precedence, loosest first: `or`, `and`, `not`, comparisons (`==` `!=`
//! `<` `<=` `>` `>=` `in` `has` `matches`, which do not chain), `??`
//! (right-associative), `+` `-` (left-associative), then values. As in C#,
//! Swift or JavaScript, `act_by ?? now + 30d` is `act_by ?? (now + 30d)`.

use super::ast::{BinOp, Expr, ExprKind, Literal};
use super::error::{ExprError, Pos};
use super::lexer::{Tok, tokenize};

/// How deeply expressions may nest (parentheses, `not`, chains of `+`, `-`
/// and `??`). Keeps every recursive walk of the tree shallow.
pub const MAX_DEPTH: usize = 64;

/// Parses one expression. Errors carry the position and `src`.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    parse_inner(src).map_err(|e| e.with_source(src))
}

fn parse_inner(src: &str) -> Result<Expr, ExprError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    if p.peek() == &Tok::Eof {
        return Err(ExprError::new(p.pos(), "the expression is empty"));
    }
    let e = p.or()?;
    match p.peek() {
        Tok::Eof => Ok(e),
        Tok::RParen => Err(ExprError::new(p.pos(), "this \")\" has no matching \"(\"")),
        other => Err(ExprError::new(
            p.pos(),
            format!(
                "expected \"and\", \"or\" or the end of the expression, found {}",
                other.describe()
            ),
        )),
    }
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.i).map_or(&Tok::Eof, |(t, _)| t)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.toks.get(self.i + ahead).map_or(&Tok::Eof, |(t, _)| t)
    }

    fn pos(&self) -> Pos {
        self.toks
            .get(self.i)
            .or_else(|| self.toks.last())
            .map_or(Pos::START, |(_, p)| *p)
    }

    fn bump(&mut self) -> (Tok, Pos) {
        let pos = self.pos();
        let tok = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        (tok, pos)
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                self.pos(),
                format!("the expression nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.chain(Tok::Or, Self::and, ExprKind::Or)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        self.chain(Tok::And, Self::not, ExprKind::And)
    }

    fn chain(
        &mut self,
        word: Tok,
        next: fn(&mut Self) -> Result<Expr, ExprError>,
        make: fn(Vec<Expr>) -> ExprKind,
    ) -> Result<Expr, ExprError> {
        let first = next(self)?;
        if self.peek() != &word {
            return Ok(first);
        }
        let pos = self.pos();
        let mut items = vec![first];
        while self.peek() == &word {
            self.bump();
            items.push(next(self)?);
        }
        Ok(Expr::new(make(items), pos))
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.peek() != &Tok::Not {
            return self.comparison();
        }
        let (_, pos) = self.bump();
        self.enter()?;
        let inner = self.not()?;
        self.depth -= 1;
        Ok(Expr::new(ExprKind::Not(Box::new(inner)), pos))
    }

    fn comparison_op(tok: &Tok) -> Option<BinOp> {
        Some(match tok {
            Tok::EqEq => BinOp::Eq,
            Tok::NotEq => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::In => BinOp::In,
            Tok::Has => BinOp::Has,
            Tok::Matches => BinOp::Matches,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let lhs = self.coalesce()?;
        if self.peek() == &Tok::Not && matches!(self.peek_at(1), Tok::In | Tok::Has | Tok::Matches)
        {
            let word = self.peek_at(1).symbol();
            return Err(ExprError::new(
                self.pos(),
                format!("write \"not (a {word} b)\" rather than \"a not {word} b\""),
            ));
        }
        let Some(op) = Self::comparison_op(self.peek()) else {
            return Ok(lhs);
        };
        let (_, pos) = self.bump();
        let rhs = self.coalesce()?;
        if Self::comparison_op(self.peek()).is_some() {
            return Err(ExprError::new(
                self.pos(),
                "comparisons do not chain: add parentheses",
            ));
        }
        Ok(Expr::new(
            ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
            pos,
        ))
    }

    fn additive(&mut self) -> Result<Expr, ExprError> {
        let mut lhs = self.primary()?;
        let mut entered = 0;
        let result = loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => break Ok(lhs),
            };
            let (_, pos) = self.bump();
            if let Err(e) = self.enter() {
                break Err(e);
            }
            entered += 1;
            match self.primary() {
                Ok(rhs) => lhs = Expr::new(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), pos),
                Err(e) => break Err(e),
            }
        };
        self.depth -= entered;
        result
    }

    fn coalesce(&mut self) -> Result<Expr, ExprError> {
        let lhs = self.additive()?;
        if self.peek() != &Tok::Coalesce {
            return Ok(lhs);
        }
        let (_, pos) = self.bump();
        self.enter()?;
        let rhs = self.coalesce()?;
        self.depth -= 1;
        Ok(Expr::new(
            ExprKind::Binary(BinOp::Coalesce, Box::new(lhs), Box::new(rhs)),
            pos,
        ))
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let pos = self.pos();
        let lit = |l| Ok(Expr::new(ExprKind::Lit(l), pos));
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                lit(Literal::Str(s))
            }
            Tok::Int(n) => {
                self.bump();
                lit(Literal::Int(n))
            }
            Tok::Duration(d) => {
                self.bump();
                lit(Literal::Duration(d))
            }
            Tok::Date(t) => {
                self.bump();
                lit(Literal::Date(t))
            }
            Tok::Regex(r) => {
                self.bump();
                lit(Literal::Regex(r))
            }
            Tok::True | Tok::False => {
                let (t, _) = self.bump();
                lit(Literal::Bool(t == Tok::True))
            }
            Tok::Null => {
                self.bump();
                lit(Literal::Null)
            }
            Tok::Ident(name) => {
                self.bump();
                Ok(Expr::new(ExprKind::Field(name), pos))
            }
            Tok::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != &Tok::RParen {
                    return Err(ExprError::new(
                        self.pos(),
                        format!(
                            "expected \")\" to close the \"(\" at column {}, found {}",
                            pos.column,
                            self.peek().describe()
                        ),
                    ));
                }
                self.bump();
                Ok(inner)
            }
            Tok::LBracket => self.list(pos),
            other => Err(self.expected_value(&other)),
        }
    }

    fn list(&mut self, pos: Pos) -> Result<Expr, ExprError> {
        self.bump();
        self.enter()?;
        let mut items = Vec::new();
        loop {
            if self.peek() == &Tok::RBracket {
                break;
            }
            items.push(self.or()?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => break,
                other => {
                    return Err(ExprError::new(
                        self.pos(),
                        format!(
                            "expected \",\" or \"]\" in the list started at column {}, found {}",
                            pos.column,
                            other.describe()
                        ),
                    ));
                }
            }
        }
        self.bump();
        self.depth -= 1;
        Ok(Expr::new(ExprKind::List(items), pos))
    }

    fn expected_value(&self, found: &Tok) -> ExprError {
        let previous = self
            .i
            .checked_sub(1)
            .and_then(|j| self.toks.get(j))
            .map(|(t, _)| t.symbol())
            .filter(|s| !s.is_empty() && !matches!(*s, ")" | "]" | "true" | "false" | "null"));
        let message = match previous {
            Some(op) => format!(
                "expected a value after \"{op}\", found {}",
                found.describe()
            ),
            None => format!("expected a value, found {}", found.describe()),
        };
        ExprError::new(self.pos(), message)
    }
}
