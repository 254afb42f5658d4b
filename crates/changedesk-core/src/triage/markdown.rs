//! The agenda as a Markdown meeting document.

use super::agenda::{Agenda, AgendaRow, DecisionRow};
use super::deadlines::DeadlineStatus;
use super::item::State;
use crate::timestamp::Timestamp;

/// What an empty section says.
const NOTHING: &str = "Nothing.";

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

fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "—".to_string(), esc)
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

fn title(r: &AgendaRow) -> String {
    if r.major {
        format!("{} **(major)**", esc(&r.title))
    } else {
        esc(&r.title)
    }
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

struct Doc {
    out: String,
}

impl Doc {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.line(NOTHING);
            self.line("");
            return;
        }
        self.line(&format!("| {} |", head.join(" | ")));
        self.line(&format!("|{}", " --- |".repeat(head.len())));
        for r in rows {
            self.line(&format!("| {} |", r.join(" | ")));
        }
        self.line("");
    }

    fn section(&mut self, heading: &str, count: usize) {
        self.line(&format!("## {heading} ({count})"));
        self.line("");
    }
}

impl Agenda {
    /// The meeting document: a summary table, then one section per list,
    /// each with its count and a table (or `Nothing.`).
    pub fn to_markdown(&self) -> String {
        let now = self.generated_at;
        let mut d = Doc { out: String::new() };
        d.line(&format!("# Change review {}", now.date()));
        d.line("");
        d.line(&format!(
            "Changes since {}. Generated {}.",
            self.since.human(),
            now.human()
        ));
        d.line("");
        let c = &self.counts;
        let due_heading = format!("Due in the next {} days", self.due_soon_days);
        let decisions_heading = format!("Decisions since {}", self.since.date());
        let summary = [
            ("New posts", c.new_posts),
            ("Awaiting triage", c.awaiting_triage),
            (due_heading.as_str(), c.due_soon),
            ("Changed since triage", c.changed_since_triage),
            ("Overdue", c.overdue),
            ("Missed", c.missed),
            (decisions_heading.as_str(), c.decisions),
        ];
        d.line("| Section | Items |");
        d.line("| --- | ---: |");
        for (name, n) in summary {
            d.line(&format!("| {name} | {n} |"));
        }
        d.line("");

        d.section("New posts", c.new_posts);
        if self.new_posts.is_empty() {
            d.line(NOTHING);
            d.line("");
        }
        for s in &self.new_posts {
            d.line(&format!("### {} ({})", esc(&s.workload), s.rows.len()));
            d.line("");
            let rows = s
                .rows
                .iter()
                .map(|r| {
                    vec![
                        esc(&r.id),
                        title(r),
                        esc(r.severity.as_str()),
                        esc(r.category.as_str()),
                        decide_by(r),
                        opt(r.owner.as_deref()),
                        r.state.label().to_string(),
                    ]
                })
                .collect();
            d.table(
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

        d.section("Awaiting triage", c.awaiting_triage);
        let rows = self
            .awaiting_triage
            .iter()
            .map(|r| {
                vec![
                    esc(&r.id),
                    title(r),
                    esc(&r.workload),
                    decide_by(r),
                    opt(r.owner.as_deref()),
                    r.tenants.len().to_string(),
                ]
            })
            .collect();
        d.table(
            &["Post", "Title", "Workload", "Decide by", "Owner", "Tenants"],
            rows,
        );

        d.section(&due_heading, c.due_soon);
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
                    esc(&r.id),
                    title(r),
                    nearest(r),
                    when,
                    opt(r.owner.as_deref()),
                    r.state.label().to_string(),
                    r.priority.to_string(),
                ]
            })
            .collect();
        d.table(
            &[
                "Post", "Title", "Deadline", "When", "Owner", "State", "Priority",
            ],
            rows,
        );

        d.section("Changed since triage", c.changed_since_triage);
        let rows = self
            .changed_since_triage
            .iter()
            .map(|r| {
                vec![
                    esc(&r.id),
                    title(r),
                    esc(&r.changed.join(", ")),
                    r.state.label().to_string(),
                    opt(r.owner.as_deref()),
                ]
            })
            .collect();
        d.table(&["Post", "Title", "Changed", "State", "Owner"], rows);

        d.section("Overdue", c.overdue);
        let rows = self
            .overdue
            .iter()
            .map(|r| {
                let late = match r.deadline {
                    DeadlineStatus::Overdue { since } => late_by(since, now),
                    _ => "—".to_string(),
                };
                vec![
                    esc(&r.id),
                    title(r),
                    date(r.due),
                    late,
                    opt(r.owner.as_deref()),
                    r.state.label().to_string(),
                ]
            })
            .collect();
        d.table(&["Post", "Title", "Due", "Late by", "Owner", "State"], rows);

        d.section("Missed", c.missed);
        let rows = self
            .missed
            .iter()
            .map(|r| {
                let late = match r.deadline {
                    DeadlineStatus::Missed { since } => late_by(since, now),
                    _ => "—".to_string(),
                };
                vec![
                    esc(&r.id),
                    title(r),
                    decide_by(r),
                    late,
                    opt(r.owner.as_deref()),
                    r.state.label().to_string(),
                ]
            })
            .collect();
        d.table(
            &["Post", "Title", "Decide by", "Late by", "Owner", "State"],
            rows,
        );

        d.section(&decisions_heading, c.decisions);
        let rows = self.decisions.iter().map(decision_cells).collect();
        d.table(&["Date", "Post", "Title", "Decision", "By", "Reason"], rows);

        while d.out.ends_with("\n\n") {
            d.out.pop();
        }
        d.out
    }
}

fn decision_cells(r: &DecisionRow) -> Vec<String> {
    let decision = match (r.state, r.decision) {
        (State::Dismissed, _) => "dismissed".to_string(),
        (_, Some(d)) => d.to_string(),
        (s, None) => s.to_string(),
    };
    vec![
        r.at.date(),
        esc(&r.message_id),
        opt(r.title.as_deref()),
        decision,
        esc(r.actor.as_str()),
        opt(r.reason.as_deref()),
    ]
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
