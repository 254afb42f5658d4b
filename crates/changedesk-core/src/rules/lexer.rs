//! Splits an expression into tokens, each with its position.

use crate::duration::parse_duration;
use crate::timestamp::Timestamp;

use super::error::{ExprError, Pos};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Duration(time::Duration),
    Date(Timestamp),
    Regex(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Coalesce,
    And,
    Or,
    Not,
    In,
    Has,
    Matches,
    True,
    False,
    Null,
    Eof,
}

impl Tok {
    /// How the token is named in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("\"{s}\""),
            Tok::Str(_) => "a string".to_string(),
            Tok::Int(_) => "a number".to_string(),
            Tok::Duration(_) => "a duration".to_string(),
            Tok::Date(_) => "a date".to_string(),
            Tok::Regex(_) => "a regular expression".to_string(),
            Tok::Eof => "end of input".to_string(),
            other => format!("\"{}\"", other.symbol()),
        }
    }

    /// The text of a punctuation or keyword token.
    pub(crate) fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Coalesce => "??",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Not => "not",
            Tok::In => "in",
            Tok::Has => "has",
            Tok::Matches => "matches",
            Tok::True => "true",
            Tok::False => "false",
            Tok::Null => "null",
            _ => "",
        }
    }
}

/// Words that are not field names (matched case-insensitively).
#[cfg(test)]
pub(crate) const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "has", "matches", "true", "false", "null",
];

fn keyword(word: &str) -> Option<Tok> {
    let lower = word.to_ascii_lowercase();
    Some(match lower.as_str() {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "in" => Tok::In,
        "has" => Tok::Has,
        "matches" => Tok::Matches,
        "true" => Tok::True,
        "false" => Tok::False,
        "null" => Tok::Null,
        _ => return None,
    })
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: u32,
    column: u32,
}

/// Tokenises `src`; the last token is always `Eof`.
pub(crate) fn tokenize(src: &str) -> Result<Vec<(Tok, Pos)>, ExprError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        at: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_space();
        let pos = lx.pos();
        let Some(c) = lx.peek(0) else {
            out.push((Tok::Eof, pos));
            return Ok(out);
        };
        let tok = lx.token(c, pos)?;
        out.push((tok, pos));
    }
}

impl Lexer {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn token(&mut self, c: char, pos: Pos) -> Result<Tok, ExprError> {
        let two = |lx: &Self, second: char| lx.peek(1) == Some(second);
        let simple = |lx: &mut Self, n: usize, tok: Tok| {
            for _ in 0..n {
                lx.bump();
            }
            Ok(tok)
        };
        match c {
            '(' => simple(self, 1, Tok::LParen),
            ')' => simple(self, 1, Tok::RParen),
            '[' => simple(self, 1, Tok::LBracket),
            ']' => simple(self, 1, Tok::RBracket),
            ',' => simple(self, 1, Tok::Comma),
            '+' => simple(self, 1, Tok::Plus),
            '-' => simple(self, 1, Tok::Minus),
            '=' if two(self, '=') => simple(self, 2, Tok::EqEq),
            '=' => Err(ExprError::new(
                pos,
                "\"=\" is not an operator: use \"==\" to compare",
            )),
            '!' if two(self, '=') => simple(self, 2, Tok::NotEq),
            '!' => Err(ExprError::new(pos, "\"!\" is not an operator: use \"not\"")),
            '<' if two(self, '=') => simple(self, 2, Tok::Le),
            '<' => simple(self, 1, Tok::Lt),
            '>' if two(self, '=') => simple(self, 2, Tok::Ge),
            '>' => simple(self, 1, Tok::Gt),
            '?' if two(self, '?') => simple(self, 2, Tok::Coalesce),
            '&' if two(self, '&') => Err(ExprError::new(pos, "use \"and\" instead of \"&&\"")),
            '|' if two(self, '|') => Err(ExprError::new(pos, "use \"or\" instead of \"||\"")),
            '"' | '\'' => self.string(c, pos),
            '/' => self.regex(pos),
            c if c.is_ascii_digit() => self.number(pos),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
                Ok(keyword(&word).unwrap_or(Tok::Ident(word)))
            }
            c => Err(ExprError::new(
                pos,
                format!("unexpected character {:?}", c.to_string()),
            )),
        }
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0).filter(|c| pred(*c)) {
            s.push(c);
            self.bump();
        }
        s
    }

    fn string(&mut self, quote: char, pos: Pos) -> Result<Tok, ExprError> {
        self.bump();
        let mut s = String::new();
        loop {
            let at = self.pos();
            match self.bump() {
                None => return Err(ExprError::new(pos, "this string is never closed")),
                Some(c) if c == quote => return Ok(Tok::Str(s)),
                Some('\\') => match self.bump() {
                    Some('"') => s.push('"'),
                    Some('\'') => s.push('\''),
                    Some('\\') => s.push('\\'),
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some(other) => {
                        return Err(ExprError::new(
                            at,
                            format!(
                                "unknown escape \"\\{other}\" in a string (use \"\\\\\" for a backslash)"
                            ),
                        ));
                    }
                    None => return Err(ExprError::new(pos, "this string is never closed")),
                },
                Some(c) => s.push(c),
            }
        }
    }

    fn regex(&mut self, pos: Pos) -> Result<Tok, ExprError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(ExprError::new(
                        pos,
                        "this regular expression is never closed (end it with \"/\")",
                    ));
                }
                Some('/') => return Ok(Tok::Regex(s)),
                Some('\\') => {
                    s.push('\\');
                    match self.bump() {
                        Some(c) => s.push(c),
                        None => {
                            return Err(ExprError::new(
                                pos,
                                "this regular expression is never closed (end it with \"/\")",
                            ));
                        }
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// A date (`2025-03-01`, `2025-03-01T10:00:00Z`), a duration (`30d`,
    /// `1d12h`) or an integer.
    fn number(&mut self, pos: Pos) -> Result<Tok, ExprError> {
        if self.looks_like_date() {
            return self.date(pos);
        }
        let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if word.bytes().all(|b| b.is_ascii_digit()) {
            return word
                .parse::<i64>()
                .map(Tok::Int)
                .map_err(|_| ExprError::new(pos, format!("the number {word} is too large")));
        }
        parse_duration(&word).map(Tok::Duration).map_err(|_| {
            ExprError::new(
                pos,
                format!(
                    "{:?} is not a duration (expected e.g. 30d, 2w, 12h, 90m or 1d12h)",
                    truncate(&word)
                ),
            )
        })
    }

    fn looks_like_date(&self) -> bool {
        let shape = "dddd-dd-dd";
        shape.chars().enumerate().all(|(i, s)| match self.peek(i) {
            Some(c) if s == 'd' => c.is_ascii_digit(),
            Some(c) => c == s,
            None => false,
        })
    }

    fn date(&mut self, pos: Pos) -> Result<Tok, ExprError> {
        let mut text: String = (0..10).filter_map(|_| self.bump()).collect();
        // an optional time: T10:00, T10:00:00, T10:00:00.123456
        if matches!(self.peek(0), Some('T' | 't'))
            && self.peek(1).is_some_and(|c| c.is_ascii_digit())
        {
            text.push('T');
            self.bump();
            text.push_str(&self.take_while(|c| c.is_ascii_digit() || c == ':' || c == '.'));
            // an optional zone: Z, +02:00, -05:30
            match self.peek(0) {
                Some('Z' | 'z') => {
                    self.bump();
                    text.push('Z');
                }
                Some(sign @ ('+' | '-')) if self.offset_follows() => {
                    text.push(sign);
                    self.bump();
                    for _ in 0..5 {
                        if let Some(c) = self.bump() {
                            text.push(c);
                        }
                    }
                }
                _ => {}
            }
        }
        if self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let rest = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            return Err(ExprError::new(
                pos,
                format!(
                    "{:?} is not a date (expected 2025-03-01 or 2025-03-01T10:00:00Z)",
                    truncate(&format!("{text}{rest}"))
                ),
            ));
        }
        Timestamp::parse(&text).map(Tok::Date).map_err(|_| {
            ExprError::new(
                pos,
                format!("{text:?} is not a date (expected 2025-03-01 or 2025-03-01T10:00:00Z)"),
            )
        })
    }

    /// `+HH:MM` after a time.
    fn offset_follows(&self) -> bool {
        let d = |i| self.peek(i).is_some_and(|c: char| c.is_ascii_digit());
        d(1) && d(2) && self.peek(3) == Some(':') && d(4) && d(5)
    }
}

fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}
