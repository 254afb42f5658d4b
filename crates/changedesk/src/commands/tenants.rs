//! `changedesk tenants list|runs`.

use std::process::ExitCode;

use anyhow::Result;
use changedesk_store::{OpenMode, StoreError, TenantRow};
use serde::Serialize;

use crate::app::App;
use crate::cli::{Format, TenantsCommand};
use crate::output::{self, when};

/// A tenant as configured and as archived. Never holds a secret.
#[derive(Serialize)]
struct TenantLine {
    name: String,
    configured: bool,
    tenant_id: Option<String>,
    cloud: Option<String>,
    credential: Option<&'static str>,
    archive: Option<TenantRow>,
}

pub async fn run(app: &App, cmd: TenantsCommand) -> Result<ExitCode> {
    match cmd {
        TenantsCommand::List { format } => {
            let archived = match app.store(OpenMode::ReadOnly).await {
                Ok(store) => {
                    let rows = store.tenants().await?;
                    store.close().await;
                    rows
                }
                Err(e)
                    if matches!(
                        e.downcast_ref::<StoreError>(),
                        Some(StoreError::MissingDatabase(_))
                    ) =>
                {
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            let mut lines: Vec<TenantLine> = app
                .config
                .tenants
                .iter()
                .map(|t| TenantLine {
                    name: t.name.clone(),
                    configured: true,
                    tenant_id: Some(t.tenant_id.clone()),
                    cloud: Some(t.cloud.to_string()),
                    credential: Some(t.credential.kind()),
                    archive: archived.iter().find(|a| a.name == t.name).cloned(),
                })
                .collect();
            for a in &archived {
                if !lines.iter().any(|l| l.name == a.name) {
                    lines.push(TenantLine {
                        name: a.name.clone(),
                        configured: false,
                        tenant_id: None,
                        cloud: None,
                        credential: None,
                        archive: Some(a.clone()),
                    });
                }
            }
            lines.sort_by(|a, b| a.name.cmp(&b.name));
            match format {
                Format::Table => {
                    let mut t = output::table(&[
                        "Tenant",
                        "Directory",
                        "Cloud",
                        "Credential",
                        "Posts visible/seen",
                        "Incidents",
                        "Last complete listing",
                    ]);
                    for l in &lines {
                        let a = l.archive.as_ref();
                        t.add_row(vec![
                            l.name.clone(),
                            l.tenant_id
                                .clone()
                                .unwrap_or_else(|| "(not configured)".into()),
                            l.cloud.clone().unwrap_or_default(),
                            l.credential.unwrap_or_default().to_string(),
                            a.map(|a| format!("{}/{}", a.posts_visible, a.posts_seen))
                                .unwrap_or_else(|| "—".into()),
                            a.map(|a| a.incidents_visible.to_string())
                                .unwrap_or_else(|| "—".into()),
                            a.map(|a| when(&a.messages_complete_at))
                                .unwrap_or_else(|| "—".into()),
                        ]);
                    }
                    if lines.is_empty() {
                        println!(
                            "no tenants: add [[tenants]] to the configuration, or import a listing with --tenant NAME"
                        );
                    } else {
                        println!("{t}");
                    }
                }
                f => output::print_json(&lines, f)?,
            }
        }
        TenantsCommand::Runs {
            tenant,
            limit,
            format,
        } => {
            let store = app.store(OpenMode::ReadOnly).await?;
            let runs = store.runs(tenant.as_deref(), limit).await?;
            store.close().await;
            match format {
                Format::Table => {
                    let mut t = output::table(&[
                        "Run", "Tenant", "Kind", "Listing", "Finished", "Items", "New", "Updated",
                        "Gone", "Rejected", "Source",
                    ]);
                    for r in &runs {
                        t.add_row(vec![
                            r.id.to_string(),
                            r.tenant.clone(),
                            r.kind.clone(),
                            if r.complete { "complete" } else { "partial" }.to_string(),
                            r.finished_at.human(),
                            r.items.to_string(),
                            r.new.to_string(),
                            r.updated.to_string(),
                            r.gone.to_string(),
                            r.rejected.to_string(),
                            output::clip(&r.source, 40),
                        ]);
                    }
                    println!("{t}");
                }
                f => output::print_json(&runs, f)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
