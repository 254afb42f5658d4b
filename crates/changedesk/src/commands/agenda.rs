//! `changedesk agenda`: the weekly change review, as Markdown, a printable
//! HTML page or JSON.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use changedesk_core::Timestamp;
use changedesk_core::duration::parse_duration;
use changedesk_core::triage::{
    Agenda, AgendaRow, DeadlineStatus, DecisionRow, OwnershipMap, State,
};
use changedesk_store::{OpenMode, Store};

use crate::app::{self, App};
use crate::cli::{AgendaArgs, AgendaFormat};
use crate::commands::setup;
use crate::output;

pub async fn run(app: &App, args: &AgendaArgs) -> Result<ExitCode> {
    let period = parse_duration(&args.since).context("--since")?;
    let now = app::now()?;
    let since = Timestamp::from_datetime(now.as_datetime() - period);
    let store = app.store(OpenMode::ReadOnly).await?;
    let agenda = build(app, &store, now, since).await;
    store.close().await;
    let agenda = agenda?;
    match args.format {
        AgendaFormat::Markdown => println!("{}", agenda.to_markdown()),
        AgendaFormat::Html => print!("{}", to_html(&agenda)),
        AgendaFormat::Json => output::print_one(&agenda)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The agenda at `now` for the period from `since`: every work item with
/// its post and the tenants that see it, and the decisions logged since.
pub async fn build(app: &App, store: &Store, now: Timestamp, since: Timestamp) -> Result<Agenda> {
    let s = setup::setup(app, store).await?;
    let ownership = OwnershipMap {
        entries: s.ownership,
    };
    Ok(changedesk_server::triage::agenda(store, &ownership, now, since).await?)
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn opt(s: Option<&str>) -> String {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(|| "—".to_string(), esc)
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

fn title(r: &AgendaRow) -> String {
    if r.major {
        format!("{} <strong>(major)</strong>", esc(&r.title))
    } else {
        esc(&r.title)
    }
}

fn decide_by(r: &AgendaRow) -> String {
    match (r.act_by, r.start) {
        (Some(a), _) => a.date(),
        (None, Some(s)) => format!("start {}", s.date()),
        (None, None) => "—".to_string(),
    }
}

fn late_by(since: Timestamp, now: Timestamp) -> String {
    days((now.as_datetime() - since.as_datetime()).whole_days())
}

/// A page under construction. Every value reaches it through `esc` (or is
/// made of digits, dates and fixed words).
struct Page {
    out: String,
}

impl Page {
    fn section(&mut self, heading: &str, count: usize) {
        let _ = writeln!(
            self.out,
            "<h2>{} <span class=\"n\">({count})</span></h2>",
            esc(heading)
        );
    }

    /// A table of cells that are already HTML (escaped).
    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.out.push_str("<p class=\"nothing\">Nothing.</p>\n");
            return;
        }
        self.out.push_str("<table>\n<thead><tr>");
        for h in head {
            let _ = write!(self.out, "<th>{}</th>", esc(h));
        }
        self.out.push_str("</tr></thead>\n<tbody>\n");
        for r in rows {
            self.out.push_str("<tr>");
            for c in r {
                let _ = write!(self.out, "<td>{c}</td>");
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody>\n</table>\n");
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#111;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
h3{font-size:1em;margin:1em 0 .3em}.n{color:#666;font-weight:normal}.meta{color:#555}\
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.3em 0}\
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.num{text-align:right}.nothing{color:#666;font-style:italic}\
@media print{body{margin:0;font-size:10pt}h2{break-after:avoid}tr{break-inside:avoid}th{background:#eee}}";

/// The agenda as a self-contained, printable HTML page.
pub fn to_html(a: &Agenda) -> String {
    let now = a.generated_at;
    let mut p = Page { out: String::new() };
    let heading = format!("Change review {}", now.date());
    let _ = writeln!(
        p.out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>",
        esc(&heading),
        esc(&heading)
    );
    let _ = writeln!(
        p.out,
        "<p class=\"meta\">Changes since {}. Generated {}.</p>",
        esc(&a.since.human()),
        esc(&now.human())
    );
    let c = &a.counts;
    let due_heading = format!("Due in the next {} days", a.due_soon_days);
    let decisions_heading = format!("Decisions since {}", a.since.date());
    let summary = [
        ("New posts", c.new_posts),
        ("Awaiting triage", c.awaiting_triage),
        (due_heading.as_str(), c.due_soon),
        ("Changed since triage", c.changed_since_triage),
        ("Overdue", c.overdue),
        ("Missed", c.missed),
        (decisions_heading.as_str(), c.decisions),
    ];
    p.out.push_str("<table class=\"summary\">\n<thead><tr><th>Section</th><th>Items</th></tr></thead>\n<tbody>\n");
    for (name, n) in summary {
        let _ = writeln!(
            p.out,
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            esc(name)
        );
    }
    p.out.push_str("</tbody>\n</table>\n");

    p.section("New posts", c.new_posts);
    if a.new_posts.is_empty() {
        p.out.push_str("<p class=\"nothing\">Nothing.</p>\n");
    }
    for s in &a.new_posts {
        let _ = writeln!(
            p.out,
            "<h3>{} <span class=\"n\">({})</span></h3>",
            esc(&s.workload),
            s.rows.len()
        );
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
                    esc(r.state.label()),
                ]
            })
            .collect();
        p.table(
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

    p.section("Awaiting triage", c.awaiting_triage);
    let rows = a
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
    p.table(
        &["Post", "Title", "Workload", "Decide by", "Owner", "Tenants"],
        rows,
    );

    p.section(&due_heading, c.due_soon);
    let rows = a
        .due_soon
        .iter()
        .map(|r| {
            let when = match r.deadline {
                DeadlineStatus::DueSoon(0) => "within a day".to_string(),
                DeadlineStatus::DueSoon(n) => format!("in {}", days(i64::from(n))),
                other => other.to_string(),
            };
            let deadline = [
                r.due.map(|t| (t, "due")),
                r.act_by
                    .map(|t| (t, "act by"))
                    .or(r.start.map(|t| (t, "start"))),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(t, _)| *t)
            .map_or_else(
                || "—".to_string(),
                |(t, what)| format!("{} ({what})", t.date()),
            );
            vec![
                esc(&r.id),
                title(r),
                esc(&deadline),
                esc(&when),
                opt(r.owner.as_deref()),
                esc(r.state.label()),
                esc(r.priority.as_str()),
            ]
        })
        .collect();
    p.table(
        &[
            "Post", "Title", "Deadline", "When", "Owner", "State", "Priority",
        ],
        rows,
    );

    p.section("Changed since triage", c.changed_since_triage);
    let rows = a
        .changed_since_triage
        .iter()
        .map(|r| {
            vec![
                esc(&r.id),
                title(r),
                esc(&r.changed.join(", ")),
                esc(r.state.label()),
                opt(r.owner.as_deref()),
            ]
        })
        .collect();
    p.table(&["Post", "Title", "Changed", "State", "Owner"], rows);

    p.section("Overdue", c.overdue);
    let rows = a
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
                esc(&late),
                opt(r.owner.as_deref()),
                esc(r.state.label()),
            ]
        })
        .collect();
    p.table(&["Post", "Title", "Due", "Late by", "Owner", "State"], rows);

    p.section("Missed", c.missed);
    let rows = a
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
                esc(&late),
                opt(r.owner.as_deref()),
                esc(r.state.label()),
            ]
        })
        .collect();
    p.table(
        &["Post", "Title", "Decide by", "Late by", "Owner", "State"],
        rows,
    );

    p.section(&decisions_heading, c.decisions);
    let rows = a.decisions.iter().map(decision_cells).collect();
    p.table(&["Date", "Post", "Title", "Decision", "By", "Reason"], rows);

    p.out.push_str("</body>\n</html>\n");
    p.out
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
        esc(&decision),
        esc(r.actor.as_str()),
        opt(r.reason.as_deref()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("a\u{7}b"), "ab");
    }
}
