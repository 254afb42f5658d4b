//! `changedesk incidents list|show` and `changedesk health`.

use std::process::ExitCode;

use anyhow::Result;
use changedesk_core::diff::body_text;
use changedesk_store::{IncidentFilter, OpenMode};

use crate::app::App;
use crate::cli::{Format, HealthArgs, IncidentsCommand};
use crate::commands::messages::parse_state;
use crate::output::{self, clip, when, yes_no};

pub async fn run(app: &App, cmd: IncidentsCommand) -> Result<ExitCode> {
    if let IncidentsCommand::Show { format, .. } = &cmd {
        output::not_csv(*format)?;
    }
    let store = app.store(OpenMode::ReadOnly).await?;
    match cmd {
        IncidentsCommand::List(args) => {
            if let Err(e) = app.check_tenant(&store, args.tenant.as_deref()).await {
                store.close().await;
                return Err(e);
            }
            let f = IncidentFilter {
                tenant: args.tenant.clone(),
                service: args.service.clone(),
                resolved: if args.open {
                    Some(false)
                } else if args.resolved {
                    Some(true)
                } else {
                    None
                },
                state: parse_state(&args.state)?,
                limit: args.limit,
            };
            let rows = store.list_incidents(&f).await?;
            match args.format {
                Format::Table => {
                    let mut t = output::table(&[
                        "ID", "Title", "Service", "Class", "Status", "Resolved", "Start",
                        "Modified", "Tenants",
                    ]);
                    for i in &rows {
                        t.add_row(vec![
                            i.id.clone(),
                            clip(&i.title, 60),
                            i.service.clone(),
                            i.classification.clone(),
                            i.status.clone(),
                            yes_no(i.is_resolved).to_string(),
                            when(&i.start),
                            when(&i.last_modified),
                            format!("{}/{}", i.tenants_visible, i.tenants_seen),
                        ]);
                    }
                    if !rows.is_empty() {
                        println!("{t}");
                    }
                    println!(
                        "{} incident{}",
                        rows.len(),
                        if rows.len() == 1 { "" } else { "s" }
                    );
                }
                f => output::print_list(
                    &rows,
                    f,
                    &[
                        "id",
                        "title",
                        "service",
                        "feature",
                        "classification",
                        "status",
                        "is_resolved",
                        "start",
                        "end",
                        "last_modified",
                        "revision",
                        "state",
                        "tenants_visible",
                        "tenants_seen",
                    ],
                )?,
            }
        }
        IncidentsCommand::Show { id, format } => {
            let d = store.get_incident(id.trim()).await?;
            if format != Format::Table {
                output::print_one(&d)?;
            } else {
                let c = &d.content;
                println!("{}  {}", c.id, c.title);
                println!(
                    "{} · {} · {} / {} · status {} · resolved {}",
                    c.classification,
                    c.service,
                    c.feature_group,
                    c.feature,
                    c.status,
                    yes_no(c.is_resolved)
                );
                println!(
                    "Start: {}   End: {}   Last modified: {}",
                    when(&c.start),
                    when(&c.end),
                    when(&c.last_modified)
                );
                if !c.impact_description.is_empty() {
                    println!("Impact: {}", c.impact_description);
                }
                println!("\nTenants affected:");
                for t in &d.tenants {
                    println!(
                        "  {:<20} {}   first seen {}   last seen {}",
                        t.name,
                        if t.visible {
                            "listed".to_string()
                        } else {
                            format!("gone since {}", when(&t.gone_at))
                        },
                        t.first_seen.human(),
                        t.last_seen.human()
                    );
                }
                let tickets = store.tickets_of_post(&c.id).await?;
                if !tickets.is_empty() {
                    println!("\nIn the service desk:");
                    for t in &tickets {
                        println!("  {}  {}  {}  {}", t.connector, t.number, t.state, t.url);
                    }
                }
                println!("\nStatus history:");
                for h in &d.status_history {
                    println!(
                        "  {}  {}{}",
                        h.observed_at.human(),
                        h.status,
                        h.tenant
                            .as_deref()
                            .map(|t| format!("  (seen via {t})"))
                            .unwrap_or_default()
                    );
                }
                println!("\nPosts:");
                for p in &d.posts {
                    println!("  — {} ({})", when(&p.created), p.post_type);
                    for line in body_text(&p.description_html).lines() {
                        println!("    {line}");
                    }
                }
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn health(app: &App, args: &HealthArgs) -> Result<ExitCode> {
    let store = app.store(OpenMode::ReadOnly).await?;
    if let Err(e) = app.check_tenant(&store, args.tenant.as_deref()).await {
        store.close().await;
        return Err(e);
    }
    let rows = store.health(args.tenant.as_deref()).await?;
    store.close().await;
    match args.format {
        Format::Table => {
            let mut t = output::table(&["Tenant", "Service", "Status", "Since", "Last seen"]);
            for r in &rows {
                t.add_row(vec![
                    r.tenant.clone(),
                    r.service.clone(),
                    r.status.clone(),
                    r.since.human(),
                    r.last_seen.human(),
                ]);
            }
            if rows.is_empty() {
                println!("no health overview recorded yet");
            } else {
                println!("{t}");
            }
        }
        f => output::print_list(
            &rows,
            f,
            &[
                "tenant",
                "service_id",
                "service",
                "status",
                "since",
                "last_seen",
            ],
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
