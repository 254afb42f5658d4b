//! `changedesk tenants list|runs`.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use changedesk_core::triage::TenantGroup;
use changedesk_store::{DirectoryTenant, NewTenant, OpenMode, StoreError, TenantRow};
use serde::Serialize;

use crate::app::{self, App};
use crate::cli::{Format, GroupAddArgs, GroupsCommand, TenantsCommand};
use crate::commands::setup::{self, admin_actor};
use crate::output::{self, when};
use changedesk_server::export;

/// A tenant as configured and as archived. Never holds a secret.
#[derive(Serialize)]
struct TenantLine {
    name: String,
    configured: bool,
    tenant_id: Option<String>,
    cloud: Option<String>,
    credential: Option<&'static str>,
    /// `configuration`, `database` (added with `tenants add` / `import`) or
    /// `archive` (known only from imported listings).
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    added: Option<DirectoryTenant>,
    /// When its credential expires (`secret_expires`), if given.
    secret_expires: Option<String>,
    archive: Option<TenantRow>,
}

pub async fn run(app: &App, cmd: TenantsCommand) -> Result<ExitCode> {
    match cmd {
        TenantsCommand::Groups(cmd) => return groups(app, cmd).await,
        TenantsCommand::Add {
            name,
            directory,
            display_name,
            who,
        } => {
            let tenant = NewTenant {
                name,
                directory_id: directory,
                display_name,
            };
            return add(app, &[tenant], &who, false).await;
        }
        TenantsCommand::Import { file, dry_run, who } => {
            let text = if file.as_os_str() == "-" {
                let mut t = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
                    .context("cannot read the CSV list from standard input")?;
                t
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let lines = changedesk_core::onboard::parse_tenant_csv(&text)
                .map_err(|e| anyhow!("{}: nothing was added:\n{e}", file.display()))?;
            let tenants: Vec<NewTenant> = lines
                .into_iter()
                .map(|l| NewTenant {
                    name: l.name,
                    directory_id: l.directory_id,
                    display_name: l.display_name,
                })
                .collect();
            return add(app, &tenants, &who, dry_run).await;
        }
        TenantsCommand::Remove { name, purge, who } => {
            return if purge {
                purge_tenant(app, &name, &who).await
            } else {
                remove(app, &name, &who).await
            };
        }
        TenantsCommand::Rename { from, to, who } => return rename(app, &from, &to, &who).await,
        TenantsCommand::ConsentLink { names, format, who } => {
            return consent_links(app, &names, format, &who).await;
        }
        TenantsCommand::Check { names, format } => return check(app, &names, format).await,
        TenantsCommand::List { format } => {
            let (archived, directory) = match app.store(OpenMode::ReadOnly).await {
                Ok(store) => {
                    let rows = async {
                        Ok::<_, anyhow::Error>((
                            store.tenants().await?,
                            store.directory_tenants().await?,
                        ))
                    }
                    .await;
                    store.close().await;
                    rows?
                }
                Err(e)
                    if matches!(
                        e.downcast_ref::<StoreError>(),
                        Some(StoreError::MissingDatabase(_))
                    ) =>
                {
                    (Vec::new(), Vec::new())
                }
                Err(e) => return Err(e),
            };
            let now = app::now()?;
            let mut warnings = Vec::new();
            if let Some(registration) = &app.config.app
                && let Some(w) =
                    changedesk_server::onboard::app_expiry_warning(registration, &now).await
            {
                warnings.push(w);
            }
            for t in &app.config.tenants {
                if let Some(w) = changedesk_server::onboard::tenant_expiry_warning(t, &now).await {
                    warnings.push(w);
                }
            }
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
                    source: "configuration",
                    added: None,
                    secret_expires: t.secret_expires.map(|s| s.to_string()),
                    archive: archived.iter().find(|a| a.name == t.name).cloned(),
                })
                .collect();
            for d in &directory {
                if lines.iter().any(|l| l.name == d.name) {
                    continue;
                }
                let registration = app.config.app.as_ref();
                lines.push(TenantLine {
                    name: d.name.clone(),
                    configured: false,
                    tenant_id: Some(d.directory_id.clone()),
                    cloud: registration.map(|r| r.cloud.to_string()),
                    credential: registration.map(|r| r.credential.kind()),
                    source: "database",
                    added: Some(d.clone()),
                    secret_expires: registration
                        .and_then(|r| r.secret_expires)
                        .map(|s| s.to_string()),
                    archive: archived.iter().find(|a| a.name == d.name).cloned(),
                });
            }
            for a in &archived {
                if !lines.iter().any(|l| l.name == a.name) {
                    lines.push(TenantLine {
                        name: a.name.clone(),
                        configured: false,
                        tenant_id: None,
                        cloud: None,
                        credential: None,
                        source: "archive",
                        added: None,
                        secret_expires: None,
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
                        "Source",
                        "Health and access",
                        "Posts visible/seen",
                        "Incidents",
                        "Last complete listing",
                    ]);
                    for l in &lines {
                        let a = l.archive.as_ref();
                        t.add_row(vec![
                            match l.added.as_ref().and_then(|d| d.display_name.as_deref()) {
                                Some(d) => format!("{}\n{}", l.name, output::clip(d, 40)),
                                None => l.name.clone(),
                            },
                            l.tenant_id
                                .clone()
                                .unwrap_or_else(|| "(not configured)".into()),
                            match l.source {
                                "configuration" => format!(
                                    "configuration ({}, {})",
                                    l.credential.unwrap_or_default(),
                                    l.cloud.clone().unwrap_or_default()
                                ),
                                other => other.to_string(),
                            },
                            [health(a), access(l.added.as_ref())]
                                .into_iter()
                                .filter(|s| !s.is_empty())
                                .collect::<Vec<_>>()
                                .join("\n"),
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
                            "no tenants: add [[tenants]] to the configuration, or [app] and `changedesk tenants add` / `tenants import`, or import a listing with --tenant NAME"
                        );
                    } else {
                        println!("{t}");
                    }
                    for w in &warnings {
                        eprintln!("warning: {w}");
                    }
                }
                Format::Csv => print_tenants_csv(&lines)?,
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
                f => output::print_list(
                    &runs,
                    f,
                    &[
                        "id",
                        "tenant",
                        "kind",
                        "source",
                        "complete",
                        "started_at",
                        "finished_at",
                        "items",
                        "new",
                        "updated",
                        "gone",
                        "rejected",
                    ],
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tenants list --format csv`: a tenant a row, its configuration, consent
/// and archive as values.
fn print_tenants_csv(lines: &[TenantLine]) -> Result<()> {
    let rows = lines.iter().map(|l| {
        let a = l.archive.as_ref();
        let d = l.added.as_ref();
        let count = |f: fn(&TenantRow) -> i64| a.map(|a| f(a).to_string()).unwrap_or_default();
        vec![
            l.name.clone(),
            l.source.to_string(),
            l.configured.to_string(),
            l.tenant_id.clone().unwrap_or_default(),
            d.and_then(|d| d.display_name.clone()).unwrap_or_default(),
            l.cloud.clone().unwrap_or_default(),
            l.credential.unwrap_or_default().to_string(),
            l.secret_expires.clone().unwrap_or_default(),
            d.map(|d| d.consent.as_str().to_string())
                .unwrap_or_default(),
            d.map(|d| d.missing_permissions.join("; "))
                .unwrap_or_default(),
            d.and_then(|d| d.check_error.clone()).unwrap_or_default(),
            count(|a| a.posts_visible),
            count(|a| a.posts_seen),
            count(|a| a.incidents_visible),
            export::time(a.and_then(|a| a.messages_complete_at)),
            export::time(a.and_then(|a| a.last_sync_at)),
            a.and_then(|a| a.last_sync_error.clone())
                .unwrap_or_default(),
            count(|a| a.sync_failures),
        ]
    });
    output::print_csv(
        &[
            "name",
            "source",
            "configured",
            "tenant_id",
            "display_name",
            "cloud",
            "credential",
            "secret_expires",
            "consent",
            "missing_permissions",
            "check_error",
            "posts_visible",
            "posts_seen",
            "incidents_visible",
            "messages_complete_at",
            "last_sync_at",
            "last_sync_error",
            "sync_failures",
        ],
        rows,
    )
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
                output::print_list(
                    &lines,
                    format,
                    &["name", "description", "include", "exclude", "members"],
                )?;
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

/// A tenant's sync health when it is not ok: what, since when, what to do.
fn health(a: Option<&TenantRow>) -> String {
    let Some(a) = a else { return String::new() };
    let h = changedesk_core::onboard::Health::of(
        a.last_sync_at.is_some(),
        a.last_sync_error.as_deref(),
    );
    if matches!(
        h,
        changedesk_core::onboard::Health::Ok | changedesk_core::onboard::Health::NeverSynced
    ) {
        return String::new();
    }
    let mut out = format!(
        "{} ({} failed in a row; last good sync {})",
        h.as_str().replace('_', " "),
        a.sync_failures,
        when(&a.last_ok_sync_at)
    );
    if let Some(advice) = h.advice() {
        out.push_str(&format!("\n{}", output::clip(advice, 70)));
    }
    out
}

/// A database tenant's consent and last access check, in a few words.
fn access(d: Option<&DirectoryTenant>) -> String {
    let Some(d) = d else { return String::new() };
    let mut out = format!("consent {}", d.consent.as_str().replace('_', " "));
    if let Some(e) = &d.check_error {
        out.push_str(&format!("\nno access: {}", output::clip(e, 60)));
    } else if !d.missing_permissions.is_empty() {
        out.push_str(&format!("\nlacks {}", d.missing_permissions.join(", ")));
    } else if d.checked_at.is_some() {
        out.push_str("\naccess ok");
    }
    out
}

/// Adds `tenants` to the database (all or none), or says what would be
/// added.
async fn add(
    app: &App,
    tenants: &[NewTenant],
    who: &crate::cli::AsUser,
    dry_run: bool,
) -> Result<ExitCode> {
    if app.config.app.is_none() {
        bail!("{}", changedesk_server::onboard::OnboardError::NoApp);
    }
    if let Some(t) = tenants
        .iter()
        .find(|t| app.config.tenants.iter().any(|c| c.name == t.name.trim()))
    {
        bail!(
            "tenant `{}` is defined in the configuration file; give the one to add another name",
            t.name.trim()
        );
    }
    if dry_run {
        println!(
            "{} tenants would be added or updated (nothing was written):",
            tenants.len()
        );
        for t in tenants {
            println!(
                "  {}  {}{}",
                t.name,
                t.directory_id,
                t.display_name
                    .as_deref()
                    .map(|d| format!("  {d}"))
                    .unwrap_or_default()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let actor = admin_actor(who)?;
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = store.add_tenants(tenants, &actor, &now).await;
    store.close().await;
    let added = r?;
    println!(
        "{} added, {} updated, {} unchanged",
        added.added.len(),
        added.updated.len(),
        added.unchanged.len()
    );
    if !added.added.is_empty() || !added.updated.is_empty() {
        println!(
            "next: `changedesk tenants consent-link` makes a link per tenant for its administrator to consent; then `changedesk tenants check`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(app: &App, name: &str, who: &crate::cli::AsUser) -> Result<ExitCode> {
    if app.config.tenants.iter().any(|c| c.name == name) {
        bail!("tenant `{name}` is defined in the configuration file: remove it there");
    }
    let actor = admin_actor(who)?;
    let now = app::now()?;
    let store = app.store_existing().await?;
    let r = store.remove_directory_tenant(name, &actor, &now).await;
    store.close().await;
    r?;
    println!("tenant `{name}` is no longer synced; what was archived of it stays");
    Ok(ExitCode::SUCCESS)
}

async fn purge_tenant(app: &App, name: &str, who: &crate::cli::AsUser) -> Result<ExitCode> {
    if app
        .config
        .tenants
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(name.trim()))
    {
        bail!(
            "tenant `{name}` is defined in the configuration file: remove it there first, or it comes back at the next sync"
        );
    }
    let actor = admin_actor(who)?;
    let now = app::now()?;
    let configured: Vec<String> = app.config.tenants.iter().map(|c| c.name.clone()).collect();
    let store = app.store_existing().await?;
    let r = store.purge_tenant(name, &configured, &actor, &now).await;
    store.close().await;
    let r = r?;
    println!("tenant `{}` was purged", r.name);
    println!(
        "  removed {} post links, {} incident links, its exceptions in {} work items, {} ownership entries, {} health rows, {} sync runs, {} undelivered notifications",
        r.post_links,
        r.incident_links,
        r.work_items,
        r.ownership,
        r.health,
        r.runs,
        r.notifications
    );
    println!(
        "  {} posts and {} incidents no other tenant saw stay in the archive, seen by none; the decision and audit logs stay",
        r.posts_seen_by_none, r.incidents_seen_by_none
    );
    Ok(ExitCode::SUCCESS)
}

async fn rename(app: &App, from: &str, to: &str, who: &crate::cli::AsUser) -> Result<ExitCode> {
    let actor = admin_actor(who)?;
    let now = app::now()?;
    let configured: Vec<String> = app.config.tenants.iter().map(|c| c.name.clone()).collect();
    let store = app.store_existing().await?;
    let r = store
        .rename_tenant(from, to, &configured, &actor, &now)
        .await;
    store.close().await;
    let r = r?;
    println!("tenant `{}` is now `{}`", r.from, r.to);
    println!(
        "  renamed in {} work items, {} log entries, {} ownership entries, {} user or token scopes, {} channels, {} saved views",
        r.work_items, r.log_entries, r.ownership, r.scopes, r.channels, r.views
    );
    if !r.groups.is_empty() {
        println!("  tenant groups naming it: {}", r.groups.join(", "));
    }
    println!(
        "  a group pattern with a wildcard is left as it is: check `changedesk tenants groups list`"
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct LinkLine {
    tenant: String,
    url: String,
}

async fn consent_links(
    app: &App,
    names: &[String],
    format: Format,
    who: &crate::cli::AsUser,
) -> Result<ExitCode> {
    let actor = admin_actor(who)?;
    let now = app::now()?;
    let store = app.store_existing().await?;
    let r = async {
        let directory = store.directory_tenants().await?;
        let chosen: Vec<&DirectoryTenant> = if names.is_empty() {
            directory
                .iter()
                .filter(|t| t.consent != changedesk_store::Consent::Granted)
                .collect()
        } else {
            names
                .iter()
                .map(|n| {
                    directory
                        .iter()
                        .find(|t| &t.name == n)
                        .ok_or_else(|| anyhow!("no tenant named `{n}` was added to the database"))
                })
                .collect::<Result<_>>()?
        };
        let mut links = Vec::with_capacity(chosen.len());
        for t in chosen {
            let url = changedesk_server::onboard::consent_link_for(
                &store,
                app.config.app.as_ref(),
                app.config.server.public_url.as_deref(),
                t,
                &actor,
                &now,
            )
            .await?;
            links.push(LinkLine {
                tenant: t.name.clone(),
                url: url.to_string(),
            });
        }
        Ok::<_, anyhow::Error>(links)
    }
    .await;
    store.close().await;
    let links = r?;
    match format {
        Format::Table => {
            if links.is_empty() {
                println!("every tenant added to the database has consented");
            }
            for l in &links {
                println!("{}\t{}", l.tenant, l.url);
            }
            if !links.is_empty() {
                eprintln!(
                    "send each link to an administrator of that tenant; each is good for {} days, and only the newest link of a tenant counts",
                    changedesk_server::onboard::CONSENT_LINK_DAYS
                );
            }
        }
        f => output::print_list(&links, f, &["tenant", "url"])?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct CheckLine {
    tenant: String,
    ok: bool,
    missing_permissions: Vec<String>,
    error: Option<String>,
}

async fn check(app: &App, names: &[String], format: Format) -> Result<ExitCode> {
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        // every tenant, consented or not (a check says why one cannot be read)
        let directory = store.directory_tenants().await?;
        let all = changedesk_server::onboard::reachable(
            &app.config.tenants,
            app.config.app.as_ref(),
            &directory,
            |_| true,
        );
        let tenants = if names.is_empty() {
            all
        } else {
            names
                .iter()
                .map(|n| {
                    all.iter()
                        .find(|t| &t.name == n)
                        .cloned()
                        .ok_or_else(|| anyhow!("no tenant named `{n}` is configured or added to the database"))
                })
                .collect::<Result<Vec<_>>>()?
        };
        if tenants.is_empty() {
            bail!("no tenants to check: add [[tenants]] to the configuration, or [app] and `changedesk tenants add` / `tenants import`");
        }
        let graph = crate::commands::sync::graph_client(&app.config.sync)?;
        Ok::<_, anyhow::Error>(
            changedesk_server::onboard::check_tenants(
                &store,
                &graph,
                &tenants,
                &directory,
                app.config.sync.concurrency,
                &now,
            )
            .await?,
        )
    }
    .await;
    store.close().await;
    let results = r?;
    let lines: Vec<CheckLine> = results
        .into_iter()
        .map(|(tenant, c)| CheckLine {
            tenant,
            ok: c.error.is_none() && c.missing.is_empty(),
            missing_permissions: c.missing,
            error: c.error,
        })
        .collect();
    let failing = lines.iter().filter(|l| !l.ok).count();
    match format {
        Format::Table => {
            let mut t = output::table(&["Tenant", "Access"]);
            for l in &lines {
                t.add_row(vec![
                    l.tenant.clone(),
                    match (&l.error, l.missing_permissions.is_empty()) {
                        (Some(e), _) => format!("no access: {}", output::clip(e, 100)),
                        (None, true) => "ok".to_string(),
                        (None, false) => format!("lacks {}", l.missing_permissions.join(", ")),
                    },
                ]);
            }
            println!("{t}");
            println!(
                "{} checked, {} ok, {failing} not",
                lines.len(),
                lines.len() - failing
            );
        }
        f => output::print_list(&lines, f, &["tenant", "ok", "missing_permissions", "error"])?,
    }
    Ok(if failing > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
