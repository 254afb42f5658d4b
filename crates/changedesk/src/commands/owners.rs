//! `changedesk owners list|add|remove|map|unmap`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use changedesk_core::triage::{
    ANY_WORKLOAD, Owner, OwnershipEntry, OwnershipMap, Scope, State, find_group,
};
use changedesk_store::{ItemFilter, OpenMode, StoreError};
use serde::Serialize;

use crate::app::{self, App};
use crate::cli::{Format, OwnerAddArgs, OwnersCommand, ScopeArgs};
use crate::commands::setup::{self, admin_actor, lower_scope};
use crate::output;

pub async fn run(app: &App, cmd: OwnersCommand) -> Result<ExitCode> {
    match cmd {
        OwnersCommand::List { format } => list(app, format).await,
        OwnersCommand::Add(args) => add(app, &args).await,
        OwnersCommand::Remove { name, who } => remove(app, &name, &admin_actor(&who)?).await,
        OwnersCommand::Map {
            workload,
            owner,
            scope,
            who,
        } => map(app, &workload, &owner, &scope, &admin_actor(&who)?).await,
        OwnersCommand::Unmap {
            workload,
            scope,
            who,
        } => unmap(app, &workload, &scope, &admin_actor(&who)?).await,
    }
}

/// An owner with the workloads it owns.
#[derive(Serialize)]
struct OwnerLine<'a> {
    #[serde(flatten)]
    owner: &'a Owner,
    workloads: Vec<&'a OwnershipEntry>,
}

#[derive(Serialize)]
struct OwnersJson<'a> {
    owners: Vec<OwnerLine<'a>>,
    ownership: &'a [OwnershipEntry],
}

/// A workload an owner owns, with where unless everywhere: `Microsoft
/// Teams (group eu)`.
fn owned_text(e: &OwnershipEntry) -> String {
    match &e.scope {
        Scope::All => e.workload.clone(),
        other => format!("{} ({})", e.workload, scope_text(other)),
    }
}

/// How a scope reads in a table.
pub fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::All => "every tenant".to_string(),
        Scope::Group(g) => format!("group {g}"),
        Scope::Tenant(t) => format!("tenant {t}"),
    }
}

async fn list(app: &App, format: Format) -> Result<ExitCode> {
    let s = match app.store(OpenMode::ReadOnly).await {
        Ok(store) => {
            let s = setup::setup(app, &store).await;
            store.close().await;
            s?
        }
        // nothing archived yet: the configuration file's owners alone
        Err(e)
            if matches!(
                e.downcast_ref::<StoreError>(),
                Some(StoreError::MissingDatabase(_))
            ) =>
        {
            let t = &app.config.triage;
            setup::Setup {
                owners: t.owners.clone(),
                groups: t.groups.clone(),
                ownership: t.ownership.clone(),
                rules: Vec::new(),
            }
        }
        Err(e) => return Err(e),
    };
    let mut ownership = s.ownership.clone();
    ownership.sort_by(|a, b| {
        a.workload
            .to_lowercase()
            .cmp(&b.workload.to_lowercase())
            .then(a.scope.rank().cmp(&b.scope.rank()))
            .then(a.scope.cmp(&b.scope))
    });
    let lines: Vec<OwnerLine> = s
        .owners
        .iter()
        .map(|o| OwnerLine {
            owner: o,
            workloads: ownership.iter().filter(|e| o.is_named(&e.owner)).collect(),
        })
        .collect();
    if format == Format::Csv {
        // an owner a row, with the workloads it owns
        let rows = lines.iter().map(|l| {
            let o = l.owner;
            vec![
                o.name.clone(),
                o.display_name.clone(),
                o.email.clone(),
                o.teams.clone().unwrap_or_default(),
                o.slack.clone().unwrap_or_default(),
                o.entra_id.clone().unwrap_or_default(),
                l.workloads
                    .iter()
                    .map(|e| owned_text(e))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        });
        output::print_csv(
            &[
                "name",
                "display_name",
                "email",
                "teams",
                "slack",
                "entra_id",
                "workloads",
            ],
            rows,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if format != Format::Table {
        return output::print_one(&OwnersJson {
            owners: lines,
            ownership: &ownership,
        })
        .map(|()| ExitCode::SUCCESS);
    }
    if lines.is_empty() {
        println!(
            "no owners: add one with `changedesk owners add NAME --email ADDRESS`, or in [[owners]] of the configuration file"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&["Owner", "Display name", "Email", "Teams / Slack", "Owns"]);
    for l in &lines {
        let o = l.owner;
        let handles: Vec<String> = [("teams", &o.teams), ("slack", &o.slack)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
            .collect();
        let owns: Vec<String> = l.workloads.iter().map(|e| owned_text(e)).collect();
        t.add_row(vec![
            o.name.clone(),
            o.display_name.clone(),
            o.email.clone(),
            if handles.is_empty() {
                "—".to_string()
            } else {
                handles.join("\n")
            },
            if owns.is_empty() {
                "—".to_string()
            } else {
                owns.join("\n")
            },
        ]);
    }
    println!("{t}");
    if !ownership.is_empty() {
        println!(
            "\nWorkload map (a tenant's entry wins over its group's, a group's over every tenant's):"
        );
        let mut m = output::table(&["Workload", "For", "Owner"]);
        for e in &ownership {
            m.add_row(vec![
                e.workload.clone(),
                scope_text(&e.scope),
                e.owner.clone(),
            ]);
        }
        println!("{m}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn add(app: &App, args: &OwnerAddArgs) -> Result<ExitCode> {
    let actor = admin_actor(&args.who)?;
    let display = args.display_name.as_deref().unwrap_or(&args.name);
    let mut owner = Owner {
        name: changedesk_core::triage::normalize_name(&args.name)
            .unwrap_or_else(|_| args.name.trim().to_string()),
        display_name: display.trim().to_string(),
        email: args.email.trim().to_string(),
        teams: None,
        slack: None,
        entra_id: None,
    };
    owner.teams = args.teams.as_deref().map(|s| s.trim().to_string());
    owner.slack = args.slack.as_deref().map(|s| s.trim().to_string());
    owner.entra_id = args.entra_id.as_deref().map(|s| s.trim().to_string());
    if let Err(errors) = owner.validate() {
        bail!("{errors}");
    }
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        let existed = store
            .owners()
            .await?
            .iter()
            .any(|o| o.is_named(&owner.name));
        store.put_owner(&owner, &actor, &now).await?;
        println!(
            "owner `{}` {} ({} <{}>)",
            owner.name,
            if existed { "updated" } else { "added" },
            owner.display_name,
            owner.email
        );
        if !existed {
            println!(
                "map workloads to it with `changedesk owners map \"Microsoft Teams\" {}`",
                owner.name
            );
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

async fn remove(app: &App, name: &str, actor: &str) -> Result<ExitCode> {
    let name = name.trim().to_ascii_lowercase();
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        if !store.owners().await?.iter().any(|o| o.is_named(&name)) {
            return Err(setup::unknown_owner(&name, &store.owners().await?));
        }
        if app.config.triage.owners.iter().any(|o| o.is_named(&name)) {
            bail!(
                "owner `{name}` is defined in the configuration file's [[owners]]; remove it there (it would come back at the next sync)"
            );
        }
        let open = store
            .work_items(&ItemFilter {
                states: vec![State::New, State::Triaged, State::InProgress],
                assignee: Some(name.clone()),
                ..Default::default()
            })
            .await?;
        if !open.is_empty() {
            let ids: Vec<&str> = open
                .iter()
                .take(5)
                .map(|r| r.stored.item.message_id.as_str())
                .collect();
            bail!(
                "owner `{name}` is assigned {} open work item{} ({}{}); assign them to someone else first (`changedesk tasks assign MC… OWNER --as USER`)",
                open.len(),
                if open.len() == 1 { "" } else { "s" },
                ids.join(", "),
                if open.len() > ids.len() { ", …" } else { "" }
            );
        }
        store.remove_owner(&name, actor, &now).await?;
        println!("owner `{name}` removed");
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

/// The scope the flags name (`all` without them).
pub fn scope_of(args: &ScopeArgs) -> Result<Scope> {
    Ok(match (&args.group, &args.tenant) {
        (Some(g), None) => Scope::Group(g.trim().to_ascii_lowercase()),
        (None, Some(t)) => {
            let t = t.trim().to_ascii_lowercase();
            changedesk_store::validate_tenant_name(&t)?;
            Scope::Tenant(t)
        }
        (None, None) => Scope::All,
        (Some(_), Some(_)) => bail!("give --group or --tenant, not both"),
    })
}

async fn map(
    app: &App,
    workload: &str,
    owner: &str,
    scope: &ScopeArgs,
    actor: &str,
) -> Result<ExitCode> {
    let scope = scope_of(scope)?;
    let entry = OwnershipEntry {
        workload: workload.trim().to_string(),
        owner: owner.trim().to_ascii_lowercase(),
        scope: lower_scope(&scope),
    };
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        let owners = store.owners().await?;
        let groups = store.groups().await?;
        if !owners.iter().any(|o| o.is_named(&entry.owner)) {
            return Err(setup::unknown_owner(&entry.owner, &owners));
        }
        if let Scope::Group(g) = &entry.scope
            && find_group(&groups, g).is_none()
        {
            bail!(
                "unknown tenant group `{g}` ({}); add it with `changedesk tenants groups add {g} --include PATTERN`",
                if groups.is_empty() {
                    "no groups are defined yet".to_string()
                } else {
                    format!(
                        "known groups: {}",
                        groups
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        if let Err(errors) = (OwnershipMap {
            entries: vec![entry.clone()],
        })
        .validate(&owners, &groups)
        {
            let text: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            bail!("{}", text.join("\n"));
        }
        let before = store
            .ownership()
            .await?
            .into_iter()
            .find(|e| {
                e.workload.eq_ignore_ascii_case(&entry.workload) && lower_scope(&e.scope) == entry.scope
            });
        store.set_ownership(&entry, actor, &now).await?;
        let what = if entry.workload == ANY_WORKLOAD {
            "every workload without an owner of its own".to_string()
        } else {
            entry.workload.clone()
        };
        match before {
            Some(b) if b.owner != entry.owner => println!(
                "{what} ({}): owner {} → {}",
                scope_text(&entry.scope),
                b.owner,
                entry.owner
            ),
            _ => println!(
                "{what} ({}): owned by {}",
                scope_text(&entry.scope),
                entry.owner
            ),
        }
        if entry.workload != ANY_WORKLOAD {
            let known = store
                .list_messages(&changedesk_store::MessageFilter {
                    services: vec![entry.workload.clone()],
                    limit: Some(1),
                    ..Default::default()
                })
                .await?;
            let any = store
                .list_messages(&changedesk_store::MessageFilter {
                    limit: Some(1),
                    ..Default::default()
                })
                .await?;
            if known.is_empty() && !any.is_empty() {
                eprintln!(
                    "note: no post in the archive has the service `{}` (workloads are service names as Graph writes them, e.g. \"Microsoft Teams\")",
                    entry.workload
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

async fn unmap(app: &App, workload: &str, scope: &ScopeArgs, actor: &str) -> Result<ExitCode> {
    let scope = lower_scope(&scope_of(scope)?);
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        let from_file = app.config.triage.ownership.iter().any(|e| {
            e.workload.trim().eq_ignore_ascii_case(workload.trim()) && lower_scope(&e.scope) == scope
        });
        if from_file {
            bail!(
                "who owns `{}` ({}) is set in the configuration file's [[ownership]]; change it there (it would come back at the next sync)",
                workload.trim(),
                scope_text(&scope)
            );
        }
        match store.remove_ownership(workload, &scope, actor, &now).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => bail!(
                "nobody owns `{}` for {}; see `changedesk owners list`",
                workload.trim(),
                scope_text(&scope)
            ),
            Err(e) => return Err(e.into()),
        }
        println!(
            "{} ({}): no owner any more",
            workload.trim(),
            scope_text(&scope)
        );
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}
