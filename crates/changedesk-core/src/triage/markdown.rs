//! The agenda as a meeting document: its layout, written once, and the
//! Markdown form. Other forms (the binary's printable HTML page) implement
//! [`AgendaWriter`] and get the same sections, columns and wording.

use super::agenda::{Agenda, AgendaRow, DecisionRow};
use super::deadlines::DeadlineStatus;
use super::item::State;
use crate::timestamp::Timestamp;

/// What an empty section says.
pub const NOTHING: &str = "Nothing.";

/// A form of the agenda document. [`Agenda::render`] lays the document out
/// and hands every value through [`AgendaWriter::text`], so a form only
/// decides how text is escaped and how headings and tables look.
pub trait AgendaWriter {
    /// What follows the title of a major change (already in this form).
    const MAJOR_MARK: &'static str;
    /// A value for a heading or table cell, escaped for this form (an empty
    /// value reads `—`).
    fn text(s: &str) -> String;
    /// The document's title and the line under it (plain text).
    fn begin(&mut self, title: &str, meta: &str);
    /// The summary table: each section's heading and item count.
    fn summary(&mut self, rows: &[(&str, usize)]);
    /// A section heading with its item count.
    fn section(&mut self, heading: &str, count: usize);
    /// A heading within a section, with its item count.
    fn subsection(&mut self, heading: &str, count: usize);
    /// What an empty section shows.
    fn nothing(&mut self);
    /// A table of cells already passed through [`AgendaWriter::text`]; no
    /// rows shows [`AgendaWriter::nothing`].
    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>);
    /// The document.
    fn finish(self) -> String;
}

/// Text for a Markdown table cell or heading: one line, and the characters
/// Markdown would read as formatting, links, HTML or cell borders escaped.
fn esc(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let word = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|c| c.is_alphanumeric())
    };
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            // inside a word (`act_by`) an underscore is never emphasis
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push(c),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    if out.is_empty() {
        "—".to_string()
    } else {
        out
    }
}

/// The Markdown form.
#[derive(Default)]
struct Markdown {
    out: String,
}

impl Markdown {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }
}

impl AgendaWriter for Markdown {
    const MAJOR_MARK: &'static str = " **(major)**";

    fn text(s: &str) -> String {
        esc(s)
    }

    fn begin(&mut self, title: &str, meta: &str) {
        self.line(&format!("# {title}"));
        self.line("");
        self.line(meta);
        self.line("");
    }

    fn summary(&mut self, rows: &[(&str, usize)]) {
        self.line("| Section | Items |");
        self.line("| --- | ---: |");
        for (name, n) in rows {
            self.line(&format!("| {name} | {n} |"));
        }
        self.line("");
    }

    fn section(&mut self, heading: &str, count: usize) {
        self.line(&format!("## {heading} ({count})"));
        self.line("");
    }

    fn subsection(&mut self, heading: &str, count: usize) {
        self.line(&format!("### {} ({count})", esc(heading)));
        self.line("");
    }

    fn nothing(&mut self) {
        self.line(NOTHING);
        self.line("");
    }

    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.nothing();
            return;
        }
        self.line(&format!("| {} |", head.join(" | ")));
        self.line(&format!("|{}", " --- |".repeat(head.len())));
        for r in rows {
            self.line(&format!("| {} |", r.join(" | ")));
        }
        self.line("");
    }

    fn finish(mut self) -> String {
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
        self.out
    }
}

fn date(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "—".to_string(), |t| t.date())
}

fn days(n: i64) -> String {
    match n {
        n if n <= 0 => "less than a day".to_string(),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

fn late_by(since: Timestamp, now: Timestamp) -> String {
    days((now.as_datetime() - since.as_datetime()).whole_days())
}

/// The decision deadline as `2025-03-20` or `start 2025-03-20`.
fn decide_by(r: &AgendaRow) -> String {
    match (r.act_by, r.start) {
        (Some(a), _) => a.date(),
        (None, Some(s)) => format!("start {}", s.date()),
        (None, None) => "—".to_string(),
    }
}

/// The nearest deadline of a due-soon row, with what it is.
fn nearest(r: &AgendaRow) -> String {
    let deadline = r
        .act_by
        .map(|t| (t, "act by"))
        .or(r.start.map(|t| (t, "start")));
    let due = r.due.map(|t| (t, "due"));
    match [due, deadline]
        .into_iter()
        .flatten()
        .min_by_key(|(t, _)| *t)
    {
        Some((t, what)) => format!("{} ({what})", t.date()),
        None => "—".to_string(),
    }
}

fn opt<W: AgendaWriter>(s: Option<&str>) -> String {
    W::text(s.unwrap_or(""))
}

fn title<W: AgendaWriter>(r: &AgendaRow) -> String {
    if r.major {
        format!("{}{}", W::text(&r.title), W::MAJOR_MARK)
    } else {
        W::text(&r.title)
    }
}

fn decision_cells<W: AgendaWriter>(r: &DecisionRow) -> Vec<String> {
    let mut decision = match (r.state, r.decision) {
        (State::Dismissed, _) => "dismissed".to_string(),
        (_, Some(d)) => d.to_string(),
        (s, None) => s.to_string(),
    };
    if let Some(t) = &r.tenant {
        decision.push_str(&format!(" (for {t})"));
    }
    vec![
        W::text(&r.at.date()),
        W::text(&r.message_id),
        opt::<W>(r.title.as_deref()),
        W::text(&decision),
        W::text(&r.actor.as_str()),
        opt::<W>(r.reason.as_deref()),
    ]
}

impl Agenda {
    /// The meeting document: a summary table, then one section per list,
    /// each with its count and a table (or `Nothing.`).
    pub fn to_markdown(&self) -> String {
        self.render(Markdown::default())
    }

    /// The meeting document in the form `w` writes.
    pub fn render<W: AgendaWriter>(&self, mut w: W) -> String {
        let t = W::text;
        let now = self.generated_at;
        w.begin(
            &format!("Change review {}", now.date()),
            &format!(
                "Changes since {}. Generated {}.",
                self.since.human(),
                now.human()
            ),
        );
        let c = &self.counts;
        let due_heading = format!("Due in the next {} days", self.due_soon_days);
        let decisions_heading = format!("Decisions since {}", self.since.date());
        w.summary(&[
            ("New posts", c.new_posts),
            ("Awaiting triage", c.awaiting_triage),
            (due_heading.as_str(), c.due_soon),
            ("Changed since triage", c.changed_since_triage),
            ("Overdue", c.overdue),
            ("Missed", c.missed),
            (decisions_heading.as_str(), c.decisions),
        ]);

        w.section("New posts", c.new_posts);
        if self.new_posts.is_empty() {
            w.nothing();
        }
        for s in &self.new_posts {
            w.subsection(&s.workload, s.rows.len());
            let rows = s
                .rows
                .iter()
                .map(|r| {
                    vec![
                        t(&r.id),
                        title::<W>(r),
                        t(r.severity.as_str()),
                        t(r.category.as_str()),
                        t(&decide_by(r)),
                        opt::<W>(r.owner.as_deref()),
                        t(r.state.label()),
                    ]
                })
                .collect();
            w.table(
                &[
                    "Post",
                    "Title",
                    "Severity",
                    "Category",
                    "Decide by",
                    "Owner",
                    "State",
                ],
                rows,
            );
        }

        w.section("Awaiting triage", c.awaiting_triage);
        let rows = self
            .awaiting_triage
            .iter()
            .map(|r| {
                vec![
                    t(&r.id),
                    title::<W>(r),
                    t(&r.workload),
                    t(&decide_by(r)),
                    opt::<W>(r.owner.as_deref()),
                    r.tenant_count.to_string(),
                ]
            })
            .collect();
        w.table(
            &["Post", "Title", "Workload", "Decide by", "Owner", "Tenants"],
            rows,
        );

        w.section(&due_heading, c.due_soon);
        let rows = self
            .due_soon
            .iter()
            .map(|r| {
                let when = match r.deadline {
                    DeadlineStatus::DueSoon(0) => "within a day".to_string(),
                    DeadlineStatus::DueSoon(n) => format!("in {}", days(i64::from(n))),
                    other => other.to_string(),
                };
                vec![
                    t(&r.id),
                    title::<W>(r),
                    t(&nearest(r)),
                    t(&when),
                    opt::<W>(r.owner.as_deref()),
                    t(r.state.label()),
                    t(r.priority.as_str()),
                ]
            })
            .collect();
        w.table(
            &[
                "Post", "Title", "Deadline", "When", "Owner", "State", "Priority",
            ],
            rows,
        );

        w.section("Changed since triage", c.changed_since_triage);
        let rows = self
            .changed_since_triage
            .iter()
            .map(|r| {
                vec![
                    t(&r.id),
                    title::<W>(r),
                    t(&crate::diff::readable_fields(&r.changed)),
                    t(r.state.label()),
                    opt::<W>(r.owner.as_deref()),
                ]
            })
            .collect();
        w.table(&["Post", "Title", "Changed", "State", "Owner"], rows);

        w.section("Overdue", c.overdue);
        let rows = self
            .overdue
            .iter()
            .map(|r| {
                let late = match r.deadline {
                    DeadlineStatus::Overdue { since } => late_by(since, now),
                    _ => "—".to_string(),
                };
                vec![
                    t(&r.id),
                    title::<W>(r),
                    t(&date(r.due)),
                    t(&late),
                    opt::<W>(r.owner.as_deref()),
                    t(r.state.label()),
                ]
            })
            .collect();
        w.table(&["Post", "Title", "Due", "Late by", "Owner", "State"], rows);

        w.section("Missed", c.missed);
        let rows = self
            .missed
            .iter()
            .map(|r| {
                let late = match r.deadline {
                    DeadlineStatus::Missed { since } => late_by(since, now),
                    _ => "—".to_string(),
                };
                vec![
                    t(&r.id),
                    title::<W>(r),
                    t(&decide_by(r)),
                    t(&late),
                    opt::<W>(r.owner.as_deref()),
                    t(r.state.label()),
                ]
            })
            .collect();
        w.table(
            &["Post", "Title", "Decide by", "Late by", "Owner", "State"],
            rows,
        );

        w.section(&decisions_heading, c.decisions);
        let rows = self.decisions.iter().map(decision_cells::<W>).collect();
        w.table(&["Date", "Post", "Title", "Decision", "By", "Reason"], rows);
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped_and_kept_on_one_line() {
        assert_eq!(esc("a | b"), "a \\| b");
        assert_eq!(esc("line\nbreak"), "line break");
        assert_eq!(esc("<script>"), "\\<script\\>");
        assert_eq!(esc("**bold** [x](y)"), "\\*\\*bold\\*\\* \\[x\\](y)");
        assert_eq!(esc("  "), "—");
        assert_eq!(esc("act_by _x_ y_"), "act_by \\_x\\_ y\\_");
        assert_eq!(days(0), "less than a day");
        assert_eq!(days(1), "1 day");
        assert_eq!(days(12), "12 days");
    }
}
