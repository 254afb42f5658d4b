//! `changedesk report analytics`: the analytics of the work (issue 21) over
//! the whole archive, as a summary, JSON or one table as CSV: the same
//! figures as the web page `/reports` and `GET /api/v1/reports/analytics`.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use changedesk_core::metrics::{Analytics, Stats};
use changedesk_server::reports::{self, Period, days};
use changedesk_store::{OpenMode, TenantScope};

use crate::app::{self, App};
use crate::cli::{AnalyticsArgs, ReportCommand, ReportFormat, SubjectArgs};
use crate::output;

pub async fn run(app: &App, cmd: &ReportCommand) -> Result<ExitCode> {
    match cmd {
        ReportCommand::Analytics(args) => analytics(app, args).await,
        ReportCommand::Health(args) => health(app, args).await,
        ReportCommand::Maturity(args) => maturity(app, args).await,
        ReportCommand::Executive(args) => {
            briefing(
                app,
                changedesk_core::metrics::briefing::Cadence::Monthly,
                args.month.as_deref(),
                args.group.as_deref(),
                args.format,
            )
            .await
        }
        ReportCommand::Weekly(args) => {
            briefing(
                app,
                changedesk_core::metrics::briefing::Cadence::Weekly,
                args.week.as_deref(),
                args.group.as_deref(),
                args.format,
            )
            .await
        }
    }
}

/// What `args` covers: the archive's tenants, or its group (an unknown
/// group is an error naming the known ones).
async fn covered(store: &changedesk_store::Store, args: &SubjectArgs) -> Result<reports::Covered> {
    let group = args
        .group
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty());
    if let Some(c) = reports::Covered::of(store, TenantScope::All, |_| true, group).await? {
        return Ok(c);
    }
    let known: Vec<String> = reports::groups_in_scope(store, |_| true)
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    Err(anyhow!(
        "--group `{}` is not a tenant group with tenants (known: {})",
        group.unwrap_or_default(),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

/// `report executive` / `report weekly`: the report of the period asked
/// for (else the last complete one), of the whole archive or a group.
async fn briefing(
    app: &App,
    cadence: changedesk_core::metrics::briefing::Cadence,
    asked: Option<&str>,
    group: Option<&str>,
    format: ReportFormat,
) -> Result<ExitCode> {
    use changedesk_server::briefing;
    let now = app::now()?;
    let flag = match cadence {
        changedesk_core::metrics::briefing::Cadence::Monthly => "--month",
        changedesk_core::metrics::briefing::Cadence::Weekly => "--week",
    };
    let period = briefing::period_of(cadence, asked, now).map_err(|e| anyhow!("{flag}: {e}"))?;
    if format == ReportFormat::Csv {
        return Err(anyhow!(
            "--format csv: this report is text or json (the tables of `report analytics` are CSV)"
        ));
    }
    let store = app.store(OpenMode::ReadOnly).await?;
    let subject = SubjectArgs {
        group: group.map(str::to_string),
        weeks: reports::DEFAULT_WEEKS,
        format,
    };
    let result = async {
        let c = covered(&store, &subject).await?;
        Ok::<_, anyhow::Error>(
            briefing::gather(&store, &c, &app.config.analytics, period, now).await?,
        )
    }
    .await;
    store.close().await;
    let b = result?;
    match format {
        ReportFormat::Json => output::print_one(&b)?,
        _ => print!("{}", briefing::text(&b)),
    }
    Ok(ExitCode::SUCCESS)
}

async fn health(app: &App, args: &SubjectArgs) -> Result<ExitCode> {
    let now = app::now()?;
    let period = Period::last(reports::DEFAULT_DAYS, args.weeks, now).map_err(|e| anyhow!(e))?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let result = async {
        let c = covered(&store, args).await?;
        let items = c.items_since(&store, reports::health_since(period)).await?;
        Ok::<_, anyhow::Error>(reports::health(&items, &app.config.analytics, period))
    }
    .await;
    store.close().await;
    let (score, trend) = result?;
    match args.format {
        ReportFormat::Json => output::print_one(&serde_json::json!({
            "score": score.score, "at": score.at, "components": score.components, "trend": trend,
        }))?,
        _ => {
            let mut out = format!("Change health score: {:.1} of 100\n\n", score.score);
            for c in &score.components {
                if c.measured {
                    out.push_str(&format!(
                        "{:<40} weight {:>5.1}  {:>4} of {:<4} ({:>5.1} %)  points {:>5.1}\n  {}\n",
                        c.label,
                        c.weight,
                        c.affected,
                        c.base,
                        c.share * 100.0,
                        c.points,
                        c.explanation
                    ));
                    if !c.items.is_empty() {
                        out.push_str(&format!("  worst: {}\n", c.items.join(", ")));
                    }
                } else {
                    out.push_str(&format!("{:<40} not measured\n", c.label));
                }
            }
            out.push_str("\nWeek of       score\n");
            for t in &trend {
                out.push_str(&format!("{}  {:>6.1}\n", t.week, t.score));
            }
            print!("{}", changedesk_core::text::escape_controls(&out, true));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn maturity(app: &App, args: &SubjectArgs) -> Result<ExitCode> {
    let now = app::now()?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let result = async {
        let c = covered(&store, args).await?;
        let items = c.items_since(&store, reports::maturity_since(now)).await?;
        let ownership = changedesk_core::triage::OwnershipMap {
            entries: store.ownership().await?,
        };
        Ok::<_, anyhow::Error>(
            reports::maturity(&store, &c, items, &app.config.analytics, &ownership, now).await?,
        )
    }
    .await;
    store.close().await;
    let m = result?;
    match args.format {
        ReportFormat::Json => output::print_one(&m)?,
        _ => {
            let mut out = format!(
                "Maturity level {}: {}\n\n",
                m.level,
                changedesk_core::maturity::level_name(m.level)
            );
            for c in &m.criteria {
                out.push_str(&format!(
                    "{} {:<14} {}\n    {} (asks {})\n",
                    c.level,
                    c.status.label(),
                    c.label,
                    c.evidence,
                    c.threshold
                ));
            }
            if !m.missing_for_next.is_empty() {
                out.push_str("\nMissing for the next level:\n");
                for c in &m.missing_for_next {
                    out.push_str(&format!("  {} ({})\n", c.label, c.status.label()));
                }
            }
            print!("{}", changedesk_core::text::escape_controls(&out, true));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn analytics(app: &App, args: &AnalyticsArgs) -> Result<ExitCode> {
    let now = app::now()?;
    let period = Period::last(args.days, args.weeks, now).map_err(|e| anyhow!(e))?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let result = async {
        let c = reports::Covered::of(&store, TenantScope::All, |_| true, None)
            .await?
            .ok_or_else(|| anyhow!("the archive's tenants could not be read"))?;
        let items = c.items_since(&store, period.since()).await?;
        Ok::<_, anyhow::Error>(reports::analytics(&items, &app.config.analytics, period))
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
