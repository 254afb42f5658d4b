//! `changedesk tenants list|runs`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use changedesk_core::triage::TenantGroup;
use changedesk_store::{OpenMode, StoreError, TenantRow};
use serde::Serialize;

use crate::app::{self, App};
use crate::cli::{Format, GroupAddArgs, GroupsCommand, TenantsCommand};
use crate::commands::setup::{self, admin_actor};
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
        TenantsCommand::Groups(cmd) => return groups(app, cmd).await,
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

/// A tenant group and its members among the known tenants.
#[derive(Serialize)]
struct GroupLine<'a> {
    #[serde(flatten)]
    group: &'a TenantGroup,
    members: Vec<&'a str>,
}

/// The tenants changedesk knows: configured ones and archived ones.
async fn known_tenants(app: &App, store: Option<&changedesk_store::Store>) -> Result<Vec<String>> {
    let mut names: Vec<String> = app.config.tenants.iter().map(|t| t.name.clone()).collect();
    if let Some(store) = store {
        names.extend(store.tenants().await?.into_iter().map(|t| t.name));
    }
    names.sort();
    names.dedup();
    Ok(names)
}

async fn groups(app: &App, cmd: GroupsCommand) -> Result<ExitCode> {
    match cmd {
        GroupsCommand::List { format } => {
            let (groups, tenants) = match app.store(OpenMode::ReadOnly).await {
                Ok(store) => {
                    let r = async {
                        let s = setup::setup(app, &store).await?;
                        Ok::<_, anyhow::Error>((s.groups, known_tenants(app, Some(&store)).await?))
                    }
                    .await;
                    store.close().await;
                    r?
                }
                Err(e)
                    if matches!(
                        e.downcast_ref::<StoreError>(),
                        Some(StoreError::MissingDatabase(_))
                    ) =>
                {
                    (
                        app.config.triage.groups.clone(),
                        known_tenants(app, None).await?,
                    )
                }
                Err(e) => return Err(e),
            };
            let lines: Vec<GroupLine> = groups
                .iter()
                .map(|g| GroupLine {
                    group: g,
                    members: tenants
                        .iter()
                        .filter(|t| g.contains(t))
                        .map(String::as_str)
                        .collect(),
                })
                .collect();
            if format != Format::Table {
                output::print_json(&lines, format)?;
                return Ok(ExitCode::SUCCESS);
            }
            if lines.is_empty() {
                println!(
                    "no tenant groups: add one with `changedesk tenants groups add NAME --include PATTERN`, or in [[tenant_groups]] of the configuration file"
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = output::table(&[
                "Group",
                "Include",
                "Exclude",
                "Members (known tenants)",
                "Description",
            ]);
            for l in &lines {
                t.add_row(vec![
                    l.group.name.clone(),
                    l.group.include.join(", "),
                    if l.group.exclude.is_empty() {
                        "—".to_string()
                    } else {
                        l.group.exclude.join(", ")
                    },
                    if l.members.is_empty() {
                        "(none)".to_string()
                    } else {
                        l.members.join(", ")
                    },
                    l.group.description.clone(),
                ]);
            }
            println!("{t}");
            Ok(ExitCode::SUCCESS)
        }
        GroupsCommand::Add(args) => add_group(app, &args).await,
        GroupsCommand::Remove { name, who } => {
            let actor = admin_actor(&who)?;
            let name = name.trim().to_ascii_lowercase();
            if app.config.triage.groups.iter().any(|g| g.is_named(&name)) {
                bail!(
                    "tenant group `{name}` is defined in the configuration file's [[tenant_groups]]; remove it there (it would come back at the next sync)"
                );
            }
            let now = app::now()?;
            let store = app.store(OpenMode::ReadWrite).await?;
            let r = async {
                setup::seed(app, &store, now).await?;
                match store.remove_group(&name, &actor, &now).await {
                    Ok(()) => {}
                    Err(StoreError::NotFound(_)) => {
                        let known: Vec<String> =
                            store.groups().await?.into_iter().map(|g| g.name).collect();
                        bail!(
                            "unknown tenant group `{name}` ({})",
                            if known.is_empty() {
                                "no groups are defined".to_string()
                            } else {
                                format!("known groups: {}", known.join(", "))
                            }
                        );
                    }
                    Err(e) => return Err(e.into()),
                }
                println!("tenant group `{name}` removed");
                Ok(ExitCode::SUCCESS)
            }
            .await;
            store.close().await;
            r
        }
    }
}

async fn add_group(app: &App, args: &GroupAddArgs) -> Result<ExitCode> {
    let actor = admin_actor(&args.who)?;
    let trim = |v: &[String]| v.iter().map(|s| s.trim().to_string()).collect::<Vec<_>>();
    let group = TenantGroup {
        name: args.name.trim().to_ascii_lowercase(),
        description: args
            .description
            .clone()
            .unwrap_or_default()
            .trim()
            .to_string(),
        include: trim(&args.include),
        exclude: trim(&args.exclude),
    };
    if let Err(errors) = group.validate() {
        bail!("{errors}");
    }
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        let existed = store
            .groups()
            .await?
            .iter()
            .any(|g| g.is_named(&group.name));
        store.put_group(&group, &actor, &now).await?;
        let tenants = known_tenants(app, Some(&store)).await?;
        let members: Vec<&str> = tenants
            .iter()
            .filter(|t| group.contains(t))
            .map(String::as_str)
            .collect();
        println!(
            "tenant group `{}` {}: {}",
            group.name,
            if existed { "updated" } else { "added" },
            if members.is_empty() {
                "no known tenant is a member yet".to_string()
            } else {
                format!(
                    "{} known tenant{} ({})",
                    members.len(),
                    if members.len() == 1 { "" } else { "s" },
                    members.join(", ")
                )
            }
        );
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}
