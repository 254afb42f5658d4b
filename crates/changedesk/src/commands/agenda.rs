//! `changedesk agenda`: the weekly change review, as Markdown, a printable
//! HTML page or JSON.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use changedesk_core::Timestamp;
use changedesk_core::duration::parse_duration;
use changedesk_core::triage::{Agenda, AgendaWriter, NOTHING, OwnershipMap};
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

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped, control characters
/// (but newlines and tabs) dropped.
pub fn esc(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    changedesk_core::text::escape_html(&kept)
}

/// The printable HTML page. Every value reaches it through [`esc`].
#[derive(Default)]
struct Page {
    out: String,
}

impl AgendaWriter for Page {
    const MAJOR_MARK: &'static str = " <strong>(major)</strong>";

    fn text(s: &str) -> String {
        match s.trim() {
            "" => "—".to_string(),
            t => esc(t),
        }
    }

    fn begin(&mut self, title: &str, meta: &str) {
        let _ = writeln!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>",
            esc(title),
            esc(title)
        );
        let _ = writeln!(self.out, "<p class=\"meta\">{}</p>", esc(meta));
    }

    fn summary(&mut self, rows: &[(&str, usize)]) {
        self.out.push_str("<table class=\"summary\">\n<thead><tr><th>Section</th><th>Items</th></tr></thead>\n<tbody>\n");
        for (name, n) in rows {
            let _ = writeln!(
                self.out,
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                esc(name)
            );
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    fn section(&mut self, heading: &str, count: usize) {
        let _ = writeln!(
            self.out,
            "<h2>{} <span class=\"n\">({count})</span></h2>",
            esc(heading)
        );
    }

    fn subsection(&mut self, heading: &str, count: usize) {
        let _ = writeln!(
            self.out,
            "<h3>{} <span class=\"n\">({count})</span></h3>",
            esc(heading)
        );
    }

    fn nothing(&mut self) {
        let _ = writeln!(self.out, "<p class=\"nothing\">{NOTHING}</p>");
    }

    /// A table of cells that are already HTML (escaped).
    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.nothing();
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

    fn finish(mut self) -> String {
        self.out.push_str("</body>\n</html>\n");
        self.out
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
    a.render(Page::default())
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
