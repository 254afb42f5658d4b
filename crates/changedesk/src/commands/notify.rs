//! `changedesk notify`: channels, the outbox's delivery log, retries, and a
//! round of the outbox on demand (`serve` runs one every second).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use changedesk_core::notify::{ChannelFilter, Event, EventKind};
use changedesk_notify::{WebhookSecret, WebhookSender};
use changedesk_secrets::Keyring;
use changedesk_server::outbox::{Outbox, secret_context, url_context};
use changedesk_store::{DeliveryFilter, NewChannel, OpenMode, Store};
use secrecy::ExposeSecret as _;

use crate::app::{self, App};
use crate::cli::{ChannelCommand, Format, NotifyCommand};
use crate::commands::secrets::key_source;
use crate::commands::setup::admin_actor;
use crate::output;

/// The most channels changedesk keeps (each is fanned out to per event).
const MAX_CHANNELS: usize = 1000;

/// The outbox of `store`, with the configured key (if any).
pub fn outbox(app: &App, store: &Store) -> Result<Outbox> {
    let keyring = match Keyring::load(&key_source(app)) {
        Ok(k) => Some(Arc::new(k)),
        Err(changedesk_secrets::SecretError::NoKey) => None,
        Err(e) => return Err(e.into()),
    };
    let sender = WebhookSender::new(Duration::from_secs(15))?;
    let mut o = Outbox::new(store.clone(), keyring, sender);
    o.public_url = app.config.server.public_url.clone();
    Ok(o)
}

pub async fn run(app: &App, cmd: NotifyCommand) -> Result<ExitCode> {
    match cmd {
        NotifyCommand::Channel(c) => channel(app, c).await,
        NotifyCommand::Outbox {
            failed,
            post,
            channel,
            limit,
            format,
        } => {
            let store = app.store(OpenMode::ReadOnly).await?;
            let rows = store
                .deliveries(&DeliveryFilter {
                    failed_only: failed,
                    post_id: post.map(|p| crate::commands::setup::post_id(&p)),
                    channel,
                    limit: Some(limit),
                })
                .await;
            store.close().await;
            let rows = rows?;
            if format == Format::Table {
                let mut t = output::table(&[
                    "Id",
                    "Event",
                    "Post",
                    "Channel",
                    "State",
                    "Attempts",
                    "Next / delivered",
                    "Last",
                ]);
                for r in &rows {
                    let when = match (&r.delivered_at, r.state.as_str()) {
                        (Some(d), _) => d.to_string(),
                        (None, "pending") => format!("next {}", r.next_attempt_at),
                        _ => String::new(),
                    };
                    let last = match (&r.last_status, &r.last_error) {
                        (Some(s), Some(e)) => format!("{s}: {}", output::clip(e, 60)),
                        (Some(s), None) => s.to_string(),
                        (None, Some(e)) => output::clip(e, 60),
                        (None, None) => String::new(),
                    };
                    let attempts = if r.resends > 0 {
                        format!("{} ({} after a crash)", r.attempts, r.resends)
                    } else {
                        r.attempts.to_string()
                    };
                    t.add_row(vec![
                        r.id.to_string(),
                        r.kind.clone(),
                        r.post_id.clone().unwrap_or_default(),
                        r.channel.clone(),
                        r.state.clone(),
                        attempts,
                        when,
                        last,
                    ]);
                }
                println!("{t}");
            } else {
                output::print_json(&rows, format)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        NotifyCommand::Retry {
            ids,
            all_failed,
            who,
        } => {
            if ids.is_empty() && !all_failed {
                bail!(
                    "name the deliveries to retry (ids from `changedesk notify outbox --failed`), or --all-failed"
                );
            }
            let actor = admin_actor(&who)?;
            let store = app.store_existing().await?;
            let n = store
                .retry_deliveries((!all_failed).then_some(&ids[..]), app::now()?, &actor)
                .await;
            store.close().await;
            let n = n?;
            println!(
                "{n} deliver{} back in the queue; `serve` sends them within a second (or run `changedesk notify deliver`)",
                if n == 1 { "y" } else { "ies" }
            );
            Ok(ExitCode::SUCCESS)
        }
        NotifyCommand::Deliver { format } => {
            let store = app.store_existing().await?;
            let r = async {
                let o = outbox(app, &store)?;
                Ok::<_, anyhow::Error>(o.run_once(app::now()?).await?)
            }
            .await;
            store.close().await;
            let s = r?;
            if format == Format::Table {
                println!(
                    "outbox: {} event{} fanned out into {} deliver{}; {} delivered, {} to retry, {} given up{}",
                    s.events,
                    if s.events == 1 { "" } else { "s" },
                    s.deliveries,
                    if s.deliveries == 1 { "y" } else { "ies" },
                    s.delivered,
                    s.retried,
                    s.dead,
                    if s.resent > 0 {
                        format!(", {} sent again after a crash", s.resent)
                    } else {
                        String::new()
                    }
                );
            } else {
                output::print_one(&s)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn channel(app: &App, cmd: ChannelCommand) -> Result<ExitCode> {
    match cmd {
        ChannelCommand::Add {
            name,
            webhook,
            secret,
            events,
            services,
            severities,
            major,
            tenants,
            allow_private,
            who,
        } => {
            let actor = admin_actor(&who)?;
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty()
                || name.chars().count() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("a channel name is 1 to 64 letters, digits, `-` or `_`");
            }
            let url = url::Url::parse(webhook.trim())
                .map_err(|_| anyhow!("--webhook is not a URL (https://…)"))?;
            match url.scheme() {
                "https" => {}
                "http" if allow_private => {}
                "http" => bail!(
                    "--webhook must be https (plain http only with --allow-private, for a local receiver)"
                ),
                _ => bail!("--webhook must be an https URL"),
            }
            if !url.username().is_empty() || url.password().is_some() {
                bail!("--webhook must not carry a user name or password");
            }
            let events = events
                .iter()
                .map(|e| e.parse::<EventKind>().map_err(|e| anyhow!("--event: {e}")))
                .collect::<Result<Vec<_>>>()?;
            for s in &severities {
                if !["normal", "high", "critical"].contains(&s.trim().to_ascii_lowercase().as_str())
                {
                    bail!(
                        "--severity: `{}` is not normal, high or critical",
                        changedesk_core::text::clip_chars(s, 40)
                    );
                }
            }
            let (secret_text, generated) = match secret {
                Some(s) => {
                    WebhookSecret::parse(s.trim()).map_err(|e| anyhow!("--secret: {e}"))?;
                    (secrecy::SecretString::from(s.trim().to_string()), false)
                }
                None => (WebhookSecret::generate()?.1, true),
            };
            let ring = Keyring::load(&key_source(app)).context(
                "a channel's URL and signing secret are kept sealed: configure a secret key first",
            )?;
            let store = app.store_existing().await?;
            let r = async {
                if !tenants.is_empty() {
                    let known = store.tenants().await?;
                    for t in &tenants {
                        if !known.iter().any(|k| k.name.eq_ignore_ascii_case(t.trim())) {
                            bail!(
                                "--tenant: no tenant is named `{}`",
                                changedesk_core::text::clip_chars(t, 60)
                            );
                        }
                    }
                }
                if store.channels().await?.len() >= MAX_CHANNELS {
                    bail!("changedesk keeps at most {MAX_CHANNELS} channels; remove one first");
                }
                let c = NewChannel {
                    name: name.clone(),
                    kind: "webhook".into(),
                    url_sealed: ring.seal(url.as_str(), &url_context(&name))?,
                    secret_sealed: Some(
                        ring.seal(secret_text.expose_secret(), &secret_context(&name))?,
                    ),
                    filter: ChannelFilter {
                        events,
                        services,
                        severities,
                        major_only: major,
                        tenants: (!tenants.is_empty()).then(|| {
                            tenants
                                .iter()
                                .map(|t| t.trim().to_ascii_lowercase())
                                .collect()
                        }),
                    },
                    allow_private,
                    created_by: actor.clone(),
                    at: app::now()?,
                };
                store.create_channel(&c).await?;
                Ok(())
            }
            .await;
            store.close().await;
            r?;
            println!(
                "channel {name}: signed webhook to {}://{}",
                url.scheme(),
                url.host_str().unwrap_or("")
            );
            if generated {
                println!(
                    "its signing secret (shown once; the receiver verifies webhook-signature with it):\n{}",
                    secret_text.expose_secret()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::List { format } => {
            let store = app.store(OpenMode::ReadOnly).await?;
            let rows = store.channels().await;
            store.close().await;
            let rows = rows?;
            if format == Format::Table {
                let mut t = output::table(&["Name", "Kind", "Hears of", "Enabled", "Added by"]);
                for c in &rows {
                    t.add_row(vec![
                        c.name.clone(),
                        c.kind.clone(),
                        c.filter.describe(),
                        if c.enabled {
                            "yes".to_string()
                        } else {
                            format!("no: {}", c.disabled_reason.clone().unwrap_or_default())
                        },
                        c.created_by.clone(),
                    ]);
                }
                println!("{t}");
            } else {
                #[derive(serde::Serialize)]
                struct Shown<'a> {
                    name: &'a str,
                    kind: &'a str,
                    filter: &'a ChannelFilter,
                    allow_private: bool,
                    enabled: bool,
                    disabled_reason: &'a Option<String>,
                    created_at: changedesk_core::Timestamp,
                    created_by: &'a str,
                }
                let shown: Vec<Shown> = rows
                    .iter()
                    .map(|c| Shown {
                        name: &c.name,
                        kind: &c.kind,
                        filter: &c.filter,
                        allow_private: c.allow_private,
                        enabled: c.enabled,
                        disabled_reason: &c.disabled_reason,
                        created_at: c.created_at,
                        created_by: &c.created_by,
                    })
                    .collect();
                output::print_json(&shown, format)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::Remove { name, who } => {
            let actor = admin_actor(&who)?;
            let store = app.store_existing().await?;
            let r = store.remove_channel(&name, &actor, app::now()?).await;
            store.close().await;
            if !r? {
                bail!(
                    "no channel is named `{}`",
                    changedesk_core::text::clip_chars(name.trim(), 64)
                );
            }
            println!("channel {} removed", name.trim().to_ascii_lowercase());
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::Test { name } => {
            let name = name.trim().to_ascii_lowercase();
            let store = app.store_existing().await?;
            let r = async {
                if !store.channels().await?.iter().any(|c| c.name == name) {
                    bail!(
                        "no channel is named `{}`",
                        changedesk_core::text::clip_chars(&name, 64)
                    );
                }
                let now = app::now()?;
                let test = Event {
                    kind: EventKind::Test,
                    at: now,
                    post: None,
                    tenants: Vec::new(),
                    owner: None,
                    changes: Vec::new(),
                    reason: Some(
                        "a test of the channel, from `changedesk notify channel test`".into(),
                    ),
                    target: Some(name.clone()),
                };
                store.record_events(&[test], now).await?;
                let o = outbox(app, &store)?;
                o.run_once(now).await?;
                let last = store
                    .deliveries(&DeliveryFilter {
                        channel: Some(name.clone()),
                        limit: Some(1),
                        ..Default::default()
                    })
                    .await?;
                Ok::<_, anyhow::Error>(last.into_iter().next())
            }
            .await;
            store.close().await;
            match r? {
                Some(d) if d.state == "delivered" => {
                    println!(
                        "test message {} delivered to {name} ({})",
                        d.message_id,
                        d.last_status.unwrap_or(0)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(d) => {
                    eprintln!(
                        "test message {} to {name}: {} ({})",
                        d.message_id,
                        d.state,
                        d.last_error.unwrap_or_default()
                    );
                    Ok(ExitCode::FAILURE)
                }
                None => bail!("the test message was not queued"),
            }
        }
    }
}
