//! The search language of post lists, and its renderings for the databases.
//!
//! A query is a list of clauses, all of which must hold:
//!
//! - `word`: a term, in the title or body;
//! - `"some words"`: a phrase (an unclosed quote runs to the end);
//! - `-word`, `-"some words"`: the post must not contain it;
//! - `field:value` / `field:"some value"` for `service:`, `tag:`, `category:`,
//!   `severity:`, `tenant:` and `id:` (field names in any case; `-field:value`
//!   excludes). Any other `name:value` is text.
//!
//! Parsing never fails. Only letters and digits are searchable (both
//! databases split words on everything else), so a term holding other
//! characters becomes the phrase of its words (`sign-in` is `"sign in"`), and
//! a clause left with no word is dropped. Field values are kept as typed and
//! never reach a query grammar (the store binds them as parameters).
//!
//! [`to_fts5`] and [`to_tsquery`] render the text clauses for SQLite FTS5 and
//! PostgreSQL `to_tsquery`: every word is quoted, so no input can produce a
//! syntax error in either grammar.

use std::fmt::Write as _;

/// At most this many clauses are kept; the rest are dropped.
pub const MAX_CLAUSES: usize = 32;
/// At most this many words per phrase.
pub const MAX_PHRASE_WORDS: usize = 16;
/// Longer words are cut to this many characters.
pub const MAX_WORD_CHARS: usize = 64;
/// Longer field values are cut to this many characters.
pub const MAX_VALUE_CHARS: usize = 200;

/// A parsed search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub clauses: Vec<Clause>,
}

/// One condition of a search: what must (or, `negated`, must not) hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub negated: bool,
    pub atom: Atom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    /// One word (letters and digits only).
    Term(String),
    /// Two or more words, in this order, next to each other.
    Phrase(Vec<String>),
    /// `field:value`; the value is trimmed and never empty.
    Field(Field, String),
}

/// The fields a search can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Service,
    Tag,
    Category,
    Severity,
    Tenant,
    Id,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Service,
        Field::Tag,
        Field::Category,
        Field::Severity,
        Field::Tenant,
        Field::Id,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Service => "service",
            Field::Tag => "tag",
            Field::Category => "category",
            Field::Severity => "severity",
            Field::Tenant => "tenant",
            Field::Id => "id",
        }
    }

    /// A field by name, in any case.
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }
}

impl Query {
    /// Parses a search. Never fails: see the module documentation.
    pub fn parse(input: &str) -> Query {
        Parser {
            chars: input.chars().collect(),
            pos: 0,
        }
        .parse()
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The text clauses (terms and phrases).
    pub fn text(&self) -> impl Iterator<Item = &Clause> {
        self.clauses.iter().filter(|c| c.is_text())
    }

    /// The field clauses, with their negation.
    pub fn fields(&self) -> impl Iterator<Item = (bool, Field, &str)> {
        self.clauses.iter().filter_map(|c| match &c.atom {
            Atom::Field(f, v) => Some((c.negated, *f, v.as_str())),
            _ => None,
        })
    }

    /// Whether some term or phrase must appear (what relevance ranks and
    /// snippets mark).
    pub fn has_required_text(&self) -> bool {
        self.text().any(|c| !c.negated)
    }

    /// Whether some term or phrase is excluded.
    pub fn has_excluded_text(&self) -> bool {
        self.text().any(|c| c.negated)
    }
}

impl Clause {
    pub fn is_text(&self) -> bool {
        matches!(self.atom, Atom::Term(_) | Atom::Phrase(_))
    }

    /// The words of a term or phrase (none for a field).
    pub fn words(&self) -> &[String] {
        match &self.atom {
            Atom::Term(w) => std::slice::from_ref(w),
            Atom::Phrase(ws) => ws,
            Atom::Field(..) => &[],
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn parse(mut self) -> Query {
        let mut clauses = Vec::new();
        while clauses.len() < MAX_CLAUSES {
            while self.peek().is_some_and(char::is_whitespace) {
                self.pos += 1;
            }
            let Some(c) = self.peek() else { break };
            let mut negated = false;
            if c == '-' {
                negated = true;
                self.pos += 1;
            }
            let atom = match self.peek() {
                None => break,
                Some(c) if c.is_whitespace() => continue,
                Some('"') => {
                    self.pos += 1;
                    let phrase = self.quoted();
                    text_atom(&phrase)
                }
                Some(_) => self.bare(),
            };
            if let Some(atom) = atom {
                clauses.push(Clause { negated, atom });
            }
        }
        Query { clauses }
    }

    /// The text up to the next `"` (consumed) or the end.
    fn quoted(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '"') {
            self.pos += 1;
        }
        let s: String = self
            .chars
            .get(start..self.pos)
            .unwrap_or_default()
            .iter()
            .collect();
        if self.peek() == Some('"') {
            self.pos += 1;
        }
        s
    }

    /// A bare token: up to whitespace or a quote; `field:value` when it
    /// starts with a known field name and a colon (a quoted value follows
    /// the colon directly).
    fn bare(&mut self) -> Option<Atom> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace() && c != '"') {
            self.pos += 1;
        }
        let token: String = self
            .chars
            .get(start..self.pos)
            .unwrap_or_default()
            .iter()
            .collect();
        if let Some((name, value)) = token.split_once(':')
            && let Some(field) = Field::parse(name)
        {
            let value = if value.is_empty() && self.peek() == Some('"') {
                self.pos += 1;
                self.quoted()
            } else {
                value.to_string()
            };
            let value: String = value
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_VALUE_CHARS)
                .collect();
            let value = value.trim();
            return (!value.is_empty()).then(|| Atom::Field(field, value.to_string()));
        }
        text_atom(&token)
    }
}

/// The searchable words of `s`: runs of letters and digits.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_PHRASE_WORDS)
        .map(|w| w.chars().take(MAX_WORD_CHARS).collect())
        .collect()
}

fn text_atom(s: &str) -> Option<Atom> {
    let mut ws = words(s);
    match ws.len() {
        0 => None,
        1 => ws.pop().map(Atom::Term),
        _ => Some(Atom::Phrase(ws)),
    }
}

/// A string for FTS5: double-quoted, inner quotes doubled.
fn fts5_string(out: &mut String, words: &[String]) {
    out.push('"');
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&w.replace('"', "\"\""));
    }
    out.push('"');
}

/// The SQLite FTS5 `MATCH` expression of the text clauses: the required
/// terms and phrases ANDed, then `NOT` each excluded one. `None` when no
/// term or phrase is required (FTS5 cannot start with `NOT`): the excluded
/// ones are then [`fts5_excluded`], for a `NOT IN` subquery.
pub fn to_fts5(q: &Query) -> Option<String> {
    if !q.has_required_text() {
        return None;
    }
    let mut out = String::from("(");
    for (i, c) in q.text().filter(|c| !c.negated).enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        fts5_string(&mut out, c.words());
    }
    out.push(')');
    for c in q.text().filter(|c| c.negated) {
        out.push_str(" NOT ");
        fts5_string(&mut out, c.words());
    }
    Some(out)
}

/// For a query whose text clauses are all exclusions: the FTS5 expression
/// matching any of them (posts to leave out). `None` when some term is
/// required (then [`to_fts5`] holds the exclusions) or none is excluded.
pub fn fts5_excluded(q: &Query) -> Option<String> {
    if q.has_required_text() || !q.has_excluded_text() {
        return None;
    }
    let mut out = String::new();
    for (i, c) in q.text().enumerate() {
        if i > 0 {
            out.push_str(" OR ");
        }
        fts5_string(&mut out, c.words());
    }
    Some(out)
}

/// A lexeme for `to_tsquery`: single-quoted, quotes and backslashes doubled.
fn ts_lexeme(out: &mut String, w: &str) {
    out.push('\'');
    for ch in w.chars() {
        if ch == '\'' || ch == '\\' {
            out.push(ch);
        }
        out.push(ch);
    }
    out.push('\'');
}

/// The PostgreSQL `to_tsquery('english', …)` input of the text clauses:
/// terms and phrases (`<->`) joined with `&`, `!` before excluded ones.
/// `None` when there is no term or phrase. Exclusions alone are a valid
/// query (`!'word'`).
pub fn to_tsquery(q: &Query) -> Option<String> {
    let mut out = String::new();
    for (i, c) in q.text().enumerate() {
        if i > 0 {
            out.push_str(" & ");
        }
        if c.negated {
            out.push('!');
        }
        let ws = c.words();
        if let [w] = ws {
            ts_lexeme(&mut out, w);
        } else {
            out.push('(');
            for (j, w) in ws.iter().enumerate() {
                if j > 0 {
                    out.push_str(" <-> ");
                }
                ts_lexeme(&mut out, w);
            }
            out.push(')');
        }
    }
    (!out.is_empty()).then_some(out)
}

impl std::fmt::Display for Query {
    /// The query in its own language, normalised.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if c.negated {
                f.write_char('-')?;
            }
            match &c.atom {
                Atom::Term(w) => f.write_str(w)?,
                Atom::Phrase(ws) => write!(f, "\"{}\"", ws.join(" "))?,
                Atom::Field(field, v) => {
                    if v.contains(|c: char| c.is_whitespace() || c == '"') {
                        write!(f, "{}:\"{}\"", field.as_str(), v.replace('"', ""))?
                    } else {
                        write!(f, "{}:{v}", field.as_str())?
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn term(w: &str) -> Clause {
        Clause {
            negated: false,
            atom: Atom::Term(w.into()),
        }
    }

    fn phrase(ws: &[&str]) -> Clause {
        Clause {
            negated: false,
            atom: Atom::Phrase(ws.iter().map(|w| w.to_string()).collect()),
        }
    }

    fn field(f: Field, v: &str) -> Clause {
        Clause {
            negated: false,
            atom: Atom::Field(f, v.into()),
        }
    }

    fn not(mut c: Clause) -> Clause {
        c.negated = true;
        c
    }

    fn parse(s: &str) -> Vec<Clause> {
        Query::parse(s).clauses
    }

    #[test]
    fn bare_terms() {
        assert_eq!(
            parse("teams  meetings"),
            vec![term("teams"), term("meetings")]
        );
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("   \t\n"), vec![]);
    }

    #[test]
    fn phrases_and_unbalanced_quotes() {
        assert_eq!(
            parse("\"new feature\" rollout"),
            vec![phrase(&["new", "feature"]), term("rollout")]
        );
        assert_eq!(parse("\"single\""), vec![term("single")]);
        assert_eq!(parse("a \"b c"), vec![term("a"), phrase(&["b", "c"])]);
        assert_eq!(parse("\"\" \""), vec![]);
        assert_eq!(parse("x\"y z\""), vec![term("x"), phrase(&["y", "z"])]);
    }

    #[test]
    fn exclusions() {
        assert_eq!(
            parse("teams -preview"),
            vec![term("teams"), not(term("preview"))]
        );
        assert_eq!(
            parse("-\"new feature\""),
            vec![not(phrase(&["new", "feature"]))]
        );
        assert_eq!(parse("- -"), vec![]);
        assert_eq!(
            parse("-service:Teams"),
            vec![not(field(Field::Service, "Teams"))]
        );
    }

    #[test]
    fn fields() {
        assert_eq!(
            parse("service:\"Microsoft Teams\" TAG:retirement category:planForChange"),
            vec![
                field(Field::Service, "Microsoft Teams"),
                field(Field::Tag, "retirement"),
                field(Field::Category, "planForChange"),
            ]
        );
        assert_eq!(
            parse("severity:high tenant:contoso id:MC123456"),
            vec![
                field(Field::Severity, "high"),
                field(Field::Tenant, "contoso"),
                field(Field::Id, "MC123456"),
            ]
        );
        // an empty value is dropped; an unknown field is text
        assert_eq!(parse("service: tag:\"\""), vec![]);
        assert_eq!(parse("foo:bar"), vec![phrase(&["foo", "bar"])]);
        assert_eq!(parse("service:a:b"), vec![field(Field::Service, "a:b")]);
    }

    #[test]
    fn punctuation_splits_words_and_unsearchable_characters_go() {
        assert_eq!(parse("sign-in"), vec![phrase(&["sign", "in"])]);
        assert_eq!(parse("* : & | ! ( ) NEAR("), vec![term("NEAR")]);
        assert_eq!(parse("C#"), vec![term("C")]);
        assert_eq!(parse("café 日本語"), vec![term("café"), term("日本語")]);
        assert_eq!(parse("don't"), vec![phrase(&["don", "t"])]);
    }

    #[test]
    fn limits() {
        let many = "w ".repeat(100);
        assert_eq!(parse(&many).len(), MAX_CLAUSES);
        let long = "x".repeat(1000);
        assert_eq!(parse(&long), vec![term(&"x".repeat(MAX_WORD_CHARS))]);
    }

    #[test]
    fn fts5_rendering() {
        let q = Query::parse("teams \"new feature\" -preview -\"old thing\" service:x");
        assert_eq!(
            to_fts5(&q).as_deref(),
            Some(r#"("teams" AND "new feature") NOT "preview" NOT "old thing""#)
        );
        assert_eq!(fts5_excluded(&q), None);
        let only_not = Query::parse("-preview -\"old thing\"");
        assert_eq!(to_fts5(&only_not), None);
        assert_eq!(
            fts5_excluded(&only_not).as_deref(),
            Some(r#""preview" OR "old thing""#)
        );
        assert_eq!(to_fts5(&Query::parse("service:x")), None);
        assert_eq!(fts5_excluded(&Query::parse("service:x")), None);
        assert_eq!(
            to_fts5(&Query::parse("NOT AND")).as_deref(),
            Some(r#"("NOT" AND "AND")"#)
        );
    }

    #[test]
    fn tsquery_rendering() {
        let q = Query::parse("teams \"new feature\" -preview -\"old thing\" tag:x");
        assert_eq!(
            to_tsquery(&q).as_deref(),
            Some("'teams' & ('new' <-> 'feature') & !'preview' & !('old' <-> 'thing')")
        );
        assert_eq!(to_tsquery(&Query::parse("-x")).as_deref(), Some("!'x'"));
        assert_eq!(to_tsquery(&Query::parse("id:MC1")), None);
        let mut out = String::new();
        ts_lexeme(&mut out, "a'b\\c");
        assert_eq!(out, r"'a''b\\c'");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "teams \"new feature\" -preview service:\"Microsoft Teams\" -id:MC1",
            "tag:x -\"a b\"",
        ] {
            let q = Query::parse(s);
            assert_eq!(Query::parse(&q.to_string()), q, "{s}");
        }
    }

    /// Checks `s` is a sequence of FTS5 strings (only letters, digits and
    /// spaces inside, quotes doubled), the operators AND / OR / NOT and
    /// parentheses, separated by spaces.
    fn fts5_ok(s: &str) -> bool {
        let cs: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut depth = 0i32;
        while i < cs.len() {
            match cs[i] {
                ' ' => i += 1,
                '(' => {
                    depth += 1;
                    i += 1
                }
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                    i += 1
                }
                '"' => {
                    i += 1;
                    loop {
                        match cs.get(i) {
                            None => return false,
                            Some('"') if cs.get(i + 1) == Some(&'"') => i += 2,
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some(c) if c.is_alphanumeric() || *c == ' ' => i += 1,
                            Some(_) => return false,
                        }
                    }
                }
                _ => {
                    let start = i;
                    while i < cs.len() && cs[i].is_ascii_uppercase() {
                        i += 1;
                    }
                    let word: String = cs[start..i].iter().collect();
                    if !matches!(word.as_str(), "AND" | "OR" | "NOT") {
                        return false;
                    }
                }
            }
        }
        depth == 0
    }

    /// Checks `s` is a sequence of quoted lexemes (letters and digits,
    /// quotes and backslashes doubled), `&`, `!`, `<->` and parentheses.
    fn tsquery_ok(s: &str) -> bool {
        let cs: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut depth = 0i32;
        while i < cs.len() {
            match cs[i] {
                ' ' | '&' | '!' => i += 1,
                '(' => {
                    depth += 1;
                    i += 1
                }
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                    i += 1
                }
                '<' if cs.get(i + 1) == Some(&'-') && cs.get(i + 2) == Some(&'>') => i += 3,
                '\'' => {
                    i += 1;
                    let start = i;
                    loop {
                        match cs.get(i) {
                            None => return false,
                            Some('\'') if cs.get(i + 1) == Some(&'\'') => i += 2,
                            Some('\\') if cs.get(i + 1) == Some(&'\\') => i += 2,
                            Some('\'') => {
                                if i == start {
                                    return false;
                                }
                                i += 1;
                                break;
                            }
                            Some(c) if c.is_alphanumeric() => i += 1,
                            Some(_) => return false,
                        }
                    }
                }
                _ => return false,
            }
        }
        depth == 0
    }

    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\"".to_string()),
            Just("-".to_string()),
            Just(":".to_string()),
            Just("'".to_string()),
            Just("\\".to_string()),
            Just("*".to_string()),
            Just("NEAR(".to_string()),
            Just("&|!<->".to_string()),
            Just(" ".to_string()),
            Just("service:".to_string()),
            Just("tag:\"".to_string()),
            Just("AND".to_string()),
            Just("NOT".to_string()),
            Just("\u{0}".to_string()),
            Just("İ".to_string()),
            Just("e\u{301}".to_string()),
            "[a-z]{1,6}",
            any::<String>(),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn any_input_parses_and_renders_within_the_grammars(s in hostile()) {
            let q = Query::parse(&s);
            prop_assert!(q.clauses.len() <= MAX_CLAUSES);
            for c in &q.clauses {
                match &c.atom {
                    Atom::Term(w) => prop_assert!(!w.is_empty() && w.chars().all(char::is_alphanumeric)),
                    Atom::Phrase(ws) => {
                        prop_assert!(ws.len() >= 2);
                        for w in ws {
                            prop_assert!(!w.is_empty() && w.chars().all(char::is_alphanumeric));
                        }
                    }
                    Atom::Field(_, v) => prop_assert!(!v.trim().is_empty() && !v.chars().any(char::is_control)),
                }
            }
            if let Some(f) = to_fts5(&q) {
                prop_assert!(fts5_ok(&f), "fts5: {f:?}");
                prop_assert!(q.has_required_text());
            }
            if let Some(f) = fts5_excluded(&q) {
                prop_assert!(fts5_ok(&f), "fts5 excluded: {f:?}");
            }
            if let Some(t) = to_tsquery(&q) {
                prop_assert!(tsquery_ok(&t), "tsquery: {t:?}");
            }
            prop_assert_eq!(to_tsquery(&q).is_some(), q.text().next().is_some());
            prop_assert_eq!(
                to_fts5(&q).is_some() || fts5_excluded(&q).is_some(),
                q.text().next().is_some()
            );
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let q = Query::parse(&s);
            let _ = (to_fts5(&q), fts5_excluded(&q), to_tsquery(&q), q.to_string());
        }
    }
}
