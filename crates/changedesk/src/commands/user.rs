//! `changedesk user …`: the people who sign in to the server, and their API
//! tokens. Passwords are asked on the terminal (or read from
//! CHANGEDESK_PASSWORD, for scripts) and stored as Argon2id hashes; a token
//! is printed once and stored as a SHA-256 hash.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use changedesk_core::access::{Role, Scope, validate_user_name};
use changedesk_server::http::auth::{TOKEN_PREFIX, check_password, hash_secret, new_secret};
use changedesk_store::{NewToken, NewUser, OpenMode, UserUpdate};

use crate::app::{self, App};
use crate::cli::{UserAddArgs, UserCommand, UserLinkArgs, UserSetArgs, UserTokenArgs};
use crate::output;

/// Who `user` commands record in the audit log.
fn actor() -> String {
    let who = std::env::var("CHANGEDESK_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".to_string());
    format!("cli:{who}")
}

pub async fn run(app: &App, cmd: UserCommand) -> Result<ExitCode> {
    // commands that only read never create a database
    let mode = match cmd {
        UserCommand::List { .. } | UserCommand::Tokens { .. } => OpenMode::ReadOnly,
        _ => OpenMode::ReadWrite,
    };
    let store = app.store(mode).await?;
    let out = match cmd {
        UserCommand::Add(args) => add(app, &store, &args).await,
        UserCommand::List { format } => list(&store, format).await,
        UserCommand::Set(args) => set(app, &store, &args).await,
        UserCommand::Remove { name } => {
            let name = validate_user_name(&name).map_err(|e| anyhow!(e))?;
            store.delete_user(&name, &actor(), &app::now()?).await?;
            println!("removed {name} (and their sessions and tokens)");
            Ok(())
        }
        UserCommand::Token(args) => token(app, &store, &args).await,
        UserCommand::Unlock { name } => {
            let name = validate_user_name(&name).map_err(|e| anyhow!(e))?;
            match store.unlock_user(&name, &actor(), &app::now()?).await {
                Ok(_) => {
                    println!("unlocked {name}: their next sign-in is not delayed");
                    Ok(())
                }
                Err(changedesk_store::StoreError::NotFound(_)) => {
                    Err(anyhow!("no user named {name} (see `changedesk user list`)"))
                }
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::Tokens { name } => tokens(&store, name.as_deref()).await,
        UserCommand::Revoke { id } => {
            if store.revoke_token(id, &actor(), &app::now()?).await? {
                println!("revoked token {id}");
                Ok(())
            } else {
                Err(anyhow!(
                    "no active token has id {id} (see `changedesk user tokens`)"
                ))
            }
        }
        UserCommand::Link(args) => link(app, &store, &args, true).await,
        UserCommand::Unlink(args) => link(app, &store, &args, false).await,
    };
    store.close().await;
    out.map(|_| ExitCode::SUCCESS)
}

/// `user link` / `user unlink`.
async fn link(
    app: &App,
    store: &changedesk_store::Store,
    args: &UserLinkArgs,
    on: bool,
) -> Result<()> {
    let name = validate_user_name(&args.name).map_err(|e| anyhow!(e))?;
    let issuer = match (&args.issuer, &app.config.oidc) {
        (Some(i), _) => i.trim().trim_end_matches('/').to_string(),
        (None, Some(oidc)) => oidc.issuer.as_str().trim_end_matches('/').to_string(),
        (None, None) => bail!(
            "no --issuer given and no [oidc] section configured: say which provider the account is at"
        ),
    };
    let identity = changedesk_store::OidcIdentity {
        issuer,
        subject: args.subject.trim().to_string(),
    };
    let now = app::now()?;
    if on {
        if store
            .link_oidc_identity(&name, &identity, &actor(), &now)
            .await?
        {
            println!(
                "linked {} at {} to {name}: they sign in with it as {name}",
                identity.subject, identity.issuer
            );
        } else {
            println!(
                "{} at {} was already linked to {name}",
                identity.subject, identity.issuer
            );
        }
    } else if store
        .unlink_oidc_identity(&name, &identity, &actor(), &now)
        .await?
    {
        println!(
            "unlinked {} at {} from {name}",
            identity.subject, identity.issuer
        );
    } else {
        bail!(
            "{} at {} is not linked to {name}",
            identity.subject,
            identity.issuer
        );
    }
    Ok(())
}

fn role(s: &str) -> Result<Role> {
    s.parse::<Role>().map_err(|e| anyhow!("{e}"))
}

fn scope(tenants: &[String], groups: &[String]) -> Scope {
    let clean = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Scope {
        tenants: clean(tenants),
        groups: clean(groups),
    }
}

/// Refuses a scope naming a tenant (configured or archived) or tenant
/// group that does not exist, among the names not already in `before`.
async fn check_scope(
    app: &App,
    store: &changedesk_store::Store,
    scope: &Scope,
    before: &Scope,
) -> Result<()> {
    let new = scope
        .normalized()
        .map_err(|e| anyhow!(e))?
        .added_since(before);
    if new.is_unrestricted() {
        return Ok(());
    }
    let mut tenants = store.tenant_names().await?;
    tenants.extend(app.config.tenants.iter().map(|t| t.name.clone()));
    let groups = store.groups().await?;
    let unknown = new.unknown_names(&tenants, &groups);
    if !unknown.is_empty() {
        bail!(
            "unknown {} (see `changedesk tenants list` and `changedesk tenants groups list`)",
            unknown.join(", ")
        );
    }
    Ok(())
}

/// A new password: CHANGEDESK_PASSWORD, or asked twice on the terminal.
fn read_password(name: &str) -> Result<String> {
    let password = match std::env::var("CHANGEDESK_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            if !std::io::stdin().is_terminal() {
                bail!(
                    "set CHANGEDESK_PASSWORD, or run this on a terminal to be asked for {name}'s password"
                );
            }
            let p = rpassword::prompt_password(format!("password for {name}: "))?;
            let again = rpassword::prompt_password("again: ")?;
            if p != again {
                bail!("the two passwords differ");
            }
            p
        }
    };
    check_password(&password).map_err(|e| anyhow!(e))?;
    changedesk_server::http::hash_password(&password).map_err(|e| anyhow!(e))
}

async fn add(app: &App, store: &changedesk_store::Store, a: &UserAddArgs) -> Result<()> {
    let name = validate_user_name(&a.name).map_err(|e| anyhow!(e))?;
    let role = if a.admin { Role::Admin } else { role(&a.role)? };
    check_scope(app, store, &scope(&a.tenant, &a.group), &Scope::all()).await?;
    let hash = read_password(&name)?;
    let user = store
        .create_user(
            &NewUser {
                name: name.clone(),
                display_name: a.display_name.clone(),
                email: a.email.clone(),
                role,
                scope: scope(&a.tenant, &a.group),
                password_hash: Some(hash),
                oidc_subject: None,
                disabled: false,
                at: app::now()?,
            },
            &actor(),
        )
        .await?;
    println!(
        "added {} ({}, {})",
        user.name,
        user.role.as_str(),
        if user.scope.is_unrestricted() {
            "every tenant".to_string()
        } else {
            user.scope.to_string()
        }
    );
    Ok(())
}

async fn list(store: &changedesk_store::Store, format: crate::cli::Format) -> Result<()> {
    let users = store.users().await?;
    if format != crate::cli::Format::Table {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            name: &'a str,
            display_name: &'a str,
            email: &'a str,
            role: &'a str,
            scope: &'a Scope,
            disabled: bool,
            last_sign_in_at: Option<String>,
        }
        let rows: Vec<Row> = users
            .iter()
            .map(|u| Row {
                name: &u.name,
                display_name: &u.display_name,
                email: &u.email,
                role: u.role.as_str(),
                scope: &u.scope,
                disabled: u.disabled,
                last_sign_in_at: u.last_sign_in_at.map(|t| t.to_string()),
            })
            .collect();
        if format == crate::cli::Format::Csv {
            // the scope as it reads (`all tenants`, `tenants a, b; groups eu`)
            let records = users.iter().map(|u| {
                vec![
                    u.name.clone(),
                    u.display_name.clone(),
                    u.email.clone(),
                    u.role.as_str().to_string(),
                    u.scope.to_string(),
                    u.disabled.to_string(),
                    changedesk_server::export::time(u.last_sign_in_at),
                ]
            });
            return output::print_csv(
                &[
                    "name",
                    "display_name",
                    "email",
                    "role",
                    "scope",
                    "disabled",
                    "last_sign_in_at",
                ],
                records,
            );
        }
        return output::print_json(&rows, format);
    }
    let mut t = output::table(&["user", "role", "scope", "state", "last sign-in"]);
    for u in &users {
        t.add_row(vec![
            u.name.clone(),
            u.role.as_str().to_string(),
            if u.scope.is_unrestricted() {
                "every tenant".to_string()
            } else {
                u.scope.to_string()
            },
            if u.disabled { "disabled" } else { "active" }.to_string(),
            output::when(&u.last_sign_in_at),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn set(app: &App, store: &changedesk_store::Store, a: &UserSetArgs) -> Result<()> {
    let name = validate_user_name(&a.name).map_err(|e| anyhow!(e))?;
    if a.disable && a.enable {
        bail!("--disable and --enable contradict each other");
    }
    let current = store
        .user_by_name(&name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name} (see `changedesk user list`)"))?;
    let new_scope = if a.tenant.is_some() || a.group.is_some() {
        Some(scope(
            a.tenant.as_deref().unwrap_or(&current.scope.tenants),
            a.group.as_deref().unwrap_or(&current.scope.groups),
        ))
    } else {
        None
    };
    if let Some(s) = &new_scope {
        check_scope(app, store, s, &current.scope).await?;
    }
    let update = UserUpdate {
        role: a.role.as_deref().map(role).transpose()?,
        scope: new_scope,
        disabled: if a.disable {
            Some(true)
        } else if a.enable {
            Some(false)
        } else {
            None
        },
        password_hash: if a.password {
            Some(Some(read_password(&name)?))
        } else {
            None
        },
        ..Default::default()
    };
    let user = store
        .update_user(&name, &update, &actor(), &app::now()?)
        .await
        .with_context(|| format!("cannot change {name}"))?;
    if a.password || a.disable {
        // a new password or a disabled account ends the open sessions
        store.delete_sessions_of(user.id).await?;
    }
    println!(
        "{}: {}, {}",
        user.name,
        user.role.as_str(),
        if user.disabled { "disabled" } else { "active" }
    );
    Ok(())
}

async fn token(app: &App, store: &changedesk_store::Store, a: &UserTokenArgs) -> Result<()> {
    let name = validate_user_name(&a.name).map_err(|e| anyhow!(e))?;
    check_scope(app, store, &scope(&a.tenant, &a.group), &Scope::all()).await?;
    let user = store
        .user_by_name(&name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name} (see `changedesk user list`)"))?;
    let role = match &a.role {
        Some(r) => role(r)?.at_most(user.role),
        None => user.role,
    };
    let now = app::now()?;
    let expires_at = a
        .expires_in
        .as_deref()
        .map(|s| {
            changedesk_core::duration::parse_duration(s)
                .map(|d| now.saturating_add(d))
                .map_err(|e| anyhow!("--expires-in: {e}"))
        })
        .transpose()?;
    let secret = format!("{TOKEN_PREFIX}{}", new_secret());
    let row = store
        .create_token(
            &NewToken {
                user: name.clone(),
                name: a.label.clone(),
                token_hash: hash_secret(&secret),
                prefix: secret
                    .chars()
                    .take(TOKEN_PREFIX.chars().count() + 6)
                    .collect(),
                role,
                scope: scope(&a.tenant, &a.group),
                created_at: now,
                expires_at,
            },
            &actor(),
        )
        .await?;
    eprintln!(
        "token {} for {} ({}): shown once, keep it safe; use it as `Authorization: Bearer <token>`",
        row.id,
        name,
        row.role.as_str()
    );
    println!("{secret}");
    Ok(())
}

async fn tokens(store: &changedesk_store::Store, name: Option<&str>) -> Result<()> {
    let rows = store.tokens(name).await?;
    let mut t = output::table(&[
        "id",
        "user",
        "label",
        "starts",
        "role",
        "scope",
        "expires",
        "last used",
        "state",
    ]);
    for r in &rows {
        t.add_row(vec![
            r.id.to_string(),
            r.user.clone(),
            r.name.clone(),
            format!("{}…", r.prefix),
            r.role.as_str().to_string(),
            if r.scope.is_unrestricted() {
                "user's".to_string()
            } else {
                r.scope.to_string()
            },
            output::date(&r.expires_at),
            output::when(&r.last_used_at),
            if r.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            }
            .to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
}
