//! `changedesk report analytics`: the analytics of the work (issue 21) over
//! the whole archive, as a summary, JSON or one table as CSV: the same
//! figures as the web page `/reports` and `GET /api/v1/reports/analytics`.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use changedesk_core::metrics::{Analytics, Stats};
use changedesk_server::reports::{self, Period, days};
use changedesk_store::{OpenMode, TenantScope};

use crate::app::{self, App};
use crate::cli::{AnalyticsArgs, ReportCommand, ReportFormat};
use crate::output;

pub async fn run(app: &App, cmd: &ReportCommand) -> Result<ExitCode> {
    match cmd {
        ReportCommand::Analytics(args) => analytics(app, args).await,
    }
}

async fn analytics(app: &App, args: &AnalyticsArgs) -> Result<ExitCode> {
    let now = app::now()?;
    let period = Period::last(args.days, args.weeks, now).map_err(|e| anyhow!(e))?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let result = async {
        let groups = reports::groups_in_scope(&store, |_| true).await?;
        reports::analytics(
            &store,
            &TenantScope::All,
            &groups,
            &app.config.analytics,
            period,
        )
        .await
    }
    .await;
    store.close().await;
    let a = result?;
    match args.format {
        ReportFormat::Json => output::print_one(&a)?,
        ReportFormat::Csv => {
            let bytes = reports::csv(&a, args.table.trim()).ok_or_else(|| {
                anyhow!(
                    "--table `{}` is not one of {}",
                    args.table,
                    reports::TABLES.join(", ")
                )
            })??;
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes)?;
        }
        ReportFormat::Text => print!("{}", text(&a)),
    }
    Ok(ExitCode::SUCCESS)
}

fn line(label: &str, s: &Stats) -> String {
    format!(
        "{label:<28} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>6} {:>8}\n",
        s.items,
        s.triaged,
        or_dash(days(s.triage_median)),
        or_dash(days(s.triage_p90)),
        s.closed,
        or_dash(days(s.close_median)),
        or_dash(days(s.close_p90)),
        s.open,
        s.breaches
    )
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

/// The summary for people: every dimension's first rows, the weeks, the
/// backlog and the breaches.
fn text(a: &Analytics) -> String {
    let clip = |s: &str| changedesk_core::text::clip_chars(s, 28).into_owned();
    let mut out = format!(
        "Work items created {} to {} (durations in working days)\n\n",
        a.from.date(),
        a.to.date()
    );
    let head = format!(
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>6} {:>8}\n",
        "", "items", "triaged", "median", "p90", "closed", "median", "p90", "open", "breaches"
    );
    out.push_str(&head);
    out.push_str(&line("All items", &a.overall));
    for (d, values) in &a.by {
        out.push_str(&format!("\nBy {}\n", d.label().to_lowercase()));
        for (v, s) in values.iter().take(10) {
            out.push_str(&line(&clip(v), s));
        }
        if values.len() > 10 {
            out.push_str(&format!(
                "  and {} more (--format csv)\n",
                values.len() - 10
            ));
        }
    }
    out.push_str("\nWeek of       new  triaged  closed  backlog  triage median\n");
    for w in &a.weekly {
        out.push_str(&format!(
            "{}  {:>5} {:>8} {:>7} {:>8}  {}\n",
            w.start,
            w.new,
            w.triaged,
            w.closed,
            w.backlog,
            or_dash(days(w.triage_median))
        ));
    }
    out.push_str(&format!("\nOpen now: {}\n", a.backlog.open));
    for (label, n) in &a.backlog.ages {
        out.push_str(&format!("  {label}: {n}\n"));
    }
    out.push_str(&format!("\nSLA breaches: {}\n", a.breaches.len()));
    for b in a.breaches.iter().take(20) {
        out.push_str(&format!(
            "  {} {} ({}): {} working days against {}{}\n",
            b.post_id,
            b.kind.name(),
            b.owner.as_deref().unwrap_or("unassigned"),
            days(Some(b.days)),
            days(Some(b.target_days)),
            if b.open { ", still open" } else { "" }
        ));
    }
    changedesk_core::text::escape_controls(&out, true).into_owned()
}
