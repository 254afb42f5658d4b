//! `changedesk sync`: every configured tenant's listings from Graph.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use changedesk_core::config::{SyncSettings, TenantConfig};
use changedesk_graph::{ClientOptions, GraphClient};
use changedesk_server::sync::{Progress, Quiet, SyncRequest, TenantOutcome, sync_tenants};
use changedesk_store::OpenMode;
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{self, App};
use crate::cli::{Format, SyncArgs};
use crate::commands::setup;
use crate::output::{self, when};

/// The Graph client for these settings.
pub fn graph_client(settings: &SyncSettings) -> Result<GraphClient> {
    let opts = ClientOptions {
        page_size: settings.page_size,
        max_retry_time: settings.max_retry_time,
        per_minute: settings.requests_per_minute,
        per_hour: settings.requests_per_hour,
        ..ClientOptions::default()
    };
    Ok(GraphClient::new(opts)?)
}

/// The tenants to sync (the configured ones, and those added to the
/// database, reached through `[app]`), or those named.
pub async fn select_tenants(
    app: &App,
    store: &changedesk_store::Store,
    names: &[String],
) -> Result<Vec<TenantConfig>> {
    let all = changedesk_server::onboard::load_roster(
        store,
        &app.config.tenants,
        app.config.app.as_ref(),
    )
    .await?;
    if all.is_empty() {
        bail!(
            "no tenants are configured: add [[tenants]] to the configuration, or [app] and \
             `changedesk tenants add` / `tenants import` (see `changedesk config example`), or try `changedesk demo`"
        );
    }
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|t| &t.name == n).cloned().ok_or_else(|| {
                let known: Vec<&str> = all.iter().take(20).map(|t| t.name.as_str()).collect();
                anyhow::anyhow!(
                    "no tenant named `{n}` is configured or added (and consented): {}{}",
                    known.join(", "),
                    if all.len() > 20 {
                        format!(" and {} more", all.len() - 20)
                    } else {
                        String::new()
                    }
                )
            })
        })
        .collect()
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn tenant_done(&self, o: &TenantOutcome) {
        self.0.inc(1);
        if let Some(e) = &o.error {
            self.0.println(format!("{}: failed: {e}", o.tenant));
        }
        self.0.set_message(o.tenant.clone());
    }
}

pub async fn run(app: &App, args: &SyncArgs) -> Result<ExitCode> {
    let store = app.store(OpenMode::ReadWrite).await?;
    let tenants = match select_tenants(app, &store, &args.tenants).await {
        Ok(t) => t,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let graph = graph_client(&app.config.sync)?;
    let request = SyncRequest {
        full: args.full,
        now: app::now()?,
        settings: app.config.sync.clone(),
        dry_run: args.dry_run,
    };
    let progress: Arc<dyn Progress> = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(tenants.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} syncing [{bar:30}] {pos}/{len} tenants, {elapsed} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Arc::new(Bar(bar))
    } else {
        Arc::new(Quiet)
    };
    if !args.dry_run
        && let Err(e) = setup::seed(app, &store, request.now).await
    {
        store.close().await;
        return Err(e);
    }
    let outcomes = sync_tenants(&store, &graph, &tenants, &request, progress).await;
    // the rules triage what the sync brought, even when some tenants failed
    let rules = if args.dry_run {
        None
    } else {
        Some(setup::run_rules(app, &store, request.now).await)
    };
    store.close().await;
    let failed = outcomes.iter().filter(|o| !o.ok()).count();
    match args.format {
        Format::Table => print_table(&outcomes, args.dry_run),
        Format::Csv => print_csv(&outcomes)?,
        f => output::print_json(&outcomes, f)?,
    }
    // one post a bug or Graph spoils never stops the rest: say which
    for o in &outcomes {
        for k in [&o.messages, &o.issues, &o.health].into_iter().flatten() {
            for p in &k.problems {
                eprintln!(
                    "warning: {}: {} not stored: {}",
                    o.tenant,
                    changedesk_core::text::escape_controls(&p.id, false),
                    changedesk_core::text::escape_controls(&p.error, false)
                );
            }
        }
    }
    let mut code = ExitCode::SUCCESS;
    match rules {
        // JSON consumers read a list of tenant outcomes on stdout: the rules
        // line goes to stderr then
        Some(Ok(run)) if args.format == Format::Table => println!("{}", setup::rules_line(&run)),
        Some(Ok(run)) => eprintln!("{}", setup::rules_line(&run)),
        Some(Err(e)) => {
            eprintln!("error: the rules were not applied: {e:#}");
            code = ExitCode::FAILURE;
        }
        None => {}
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} tenants failed", outcomes.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(code)
}

/// A tenant a row: what the table shows, as values.
fn print_csv(outcomes: &[TenantOutcome]) -> Result<()> {
    let rows = outcomes.iter().map(|o| {
        vec![
            o.tenant.clone(),
            o.messages
                .as_ref()
                .map(|m| m.mode.as_str().to_string())
                .unwrap_or_default(),
            o.messages
                .as_ref()
                .map(|m| m.fetched.to_string())
                .unwrap_or_default(),
            o.new_items().to_string(),
            o.updated_items().to_string(),
            o.gone_items().to_string(),
            o.issues
                .as_ref()
                .map(|i| i.fetched.to_string())
                .unwrap_or_default(),
            o.requests.to_string(),
            o.retries.to_string(),
            format!("{:.1}", o.elapsed.as_secs_f64()),
            o.ok().to_string(),
            o.error.clone().unwrap_or_default(),
        ]
    });
    output::print_csv(
        &[
            "tenant", "mode", "posts", "new", "updated", "gone", "issues", "requests", "retries",
            "seconds", "ok", "error",
        ],
        rows,
    )
}

fn print_table(outcomes: &[TenantOutcome], dry_run: bool) {
    let mut t = output::table(&[
        "Tenant", "Posts", "New", "Updated", "Gone", "Issues", "Requests", "Time", "Result",
    ]);
    for o in outcomes {
        let posts = o
            .messages
            .as_ref()
            .map(|m| format!("{} ({})", m.fetched, m.mode.as_str()))
            .unwrap_or_else(|| "—".into());
        t.add_row(vec![
            o.tenant.clone(),
            posts,
            o.new_items().to_string(),
            o.updated_items().to_string(),
            o.gone_items().to_string(),
            o.issues
                .as_ref()
                .map(|i| i.fetched.to_string())
                .unwrap_or_else(|| "—".into()),
            format!(
                "{}{}",
                o.requests,
                if o.retries > 0 {
                    format!(" ({} retried)", o.retries)
                } else {
                    String::new()
                }
            ),
            format!("{:.1}s", o.elapsed.as_secs_f64()),
            match &o.error {
                None if dry_run => "ok (dry run: nothing stored)".to_string(),
                None => "ok".to_string(),
                Some(e) => output::clip(e, 80),
            },
        ]);
    }
    println!("{t}");
    let _ = when;
}
