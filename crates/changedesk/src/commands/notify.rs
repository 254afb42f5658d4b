//! `changedesk notify`: channels, the outbox's delivery log, retries, and a
//! round of the outbox on demand (`serve` runs one every second).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use changedesk_core::notify::ChannelFilter;
use changedesk_notify::WebhookSender;
use changedesk_secrets::Keyring;
use changedesk_server::outbox::{
    ChannelRequest, DigestRequest, MAX_CHANNELS, MailSetup, Outbox, QuietRequest, new_channel,
    test_event,
};
use changedesk_store::{DeliveryFilter, OpenMode, Store};
use secrecy::ExposeSecret as _;

use crate::app::{self, App};
use crate::cli::{ChannelCommand, Format, NotifyCommand};
use crate::commands::secrets::key_source;
use crate::commands::setup::admin_actor;
use crate::output;

/// The configured key of sealed channel credentials; `None` when none is
/// configured (a configured key that cannot be loaded is an error).
pub fn keyring(app: &App) -> Result<Option<Arc<Keyring>>> {
    match Keyring::load(&key_source(app)) {
        Ok(k) => Ok(Some(Arc::new(k))),
        Err(changedesk_secrets::SecretError::NoKey) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The outbox of `store`, with the configured key (if any), templates
/// (`[notify] templates_dir`) and e-mail transport (`[notify.email]`).
pub fn outbox(app: &App, store: &Store) -> Result<Outbox> {
    let keyring = keyring(app)?;
    let sender = WebhookSender::new(Duration::from_secs(15))?;
    let mut o = Outbox::new(store.clone(), keyring, sender);
    o.public_url = app.config.server.public_url.clone();
    o.analytics = app.config.analytics.clone();
    if let Some(dir) = &app.config.notify.templates_dir {
        o.templates = Arc::new(
            changedesk_notify::render::Templates::with_overrides(dir)
                .context("[notify] templates_dir")?,
        );
    }
    o.mail = mail_setup(app)?;
    Ok(o)
}

/// What the server makes communications with: the templates (with
/// `[notify] templates_dir`'s overrides, as the outbox) and `[server]
/// public_url` for their links.
pub fn comms_setup(app: &App) -> Result<changedesk_server::http::CommsSetup> {
    let mut setup = changedesk_server::http::CommsSetup {
        public_url: app.config.server.public_url.clone(),
        ..Default::default()
    };
    if let Some(dir) = &app.config.notify.templates_dir {
        setup.templates = Arc::new(
            changedesk_notify::render::Templates::with_overrides(dir)
                .context("[notify] templates_dir")?,
        );
    }
    Ok(setup)
}

/// The configured e-mail transport, if any.
pub fn mail_setup(app: &App) -> Result<Option<MailSetup>> {
    let Some(settings) = &app.config.notify.email else {
        return Ok(None);
    };
    let ca = match &settings.transport {
        changedesk_core::config::EmailTransport::Smtp(s) => match &s.ca_file {
            Some(p) => Some(
                std::fs::read(p)
                    .with_context(|| format!("[notify.email.smtp] ca_file {}", p.display()))?,
            ),
            None => None,
        },
        _ => None,
    };
    let setup = MailSetup::from_settings(settings, &app.config.tenants, ca, || {
        crate::commands::sync::graph_client(&app.config.sync).map_err(|e| e.to_string())
    })
    .map_err(|e| anyhow!(e))?;
    Ok(Some(setup))
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
                output::print_list(
                    &rows,
                    format,
                    &[
                        "id",
                        "event_id",
                        "kind",
                        "post_id",
                        "channel",
                        "message_id",
                        "state",
                        "attempts",
                        "resends",
                        "next_attempt_at",
                        "last_status",
                        "last_error",
                        "created_at",
                        "delivered_at",
                        "carried_by",
                    ],
                )?;
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
            output::not_csv(format)?;
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
        ChannelCommand::Add(add) => {
            let crate::cli::ChannelAdd {
                name,
                webhook,
                servicenow,
                jira,
                glpi,
                planner,
                directory,
                graph_url,
                login_url,
                buckets,
                bucket,
                login,
                secret_env,
                secret_file,
                auth,
                model,
                template,
                project,
                issue_type,
                incident_issue_type,
                entities_id,
                glpi_api,
                app_token_env,
                when_in_progress,
                when_done,
                when_canceled,
                close_ticket,
                raise_required,
                incidents,
                teams,
                slack,
                email,
                owner,
                batch_minutes,
                quiet,
                time_zone,
                digest,
                digest_at,
                digest_day,
                review,
                review_day,
                review_at,
                report,
                report_at,
                urgent_severities,
                secret,
                events,
                services,
                severities,
                major,
                tenants,
                allow_private,
                who,
            } = *add;
            let actor = admin_actor(&who)?;
            let planner_graph = planner.as_ref().map(|_| {
                graph_url
                    .clone()
                    .unwrap_or_else(|| "https://graph.microsoft.com".to_owned())
            });
            let connector_url = servicenow
                .clone()
                .or(jira.clone())
                .or(glpi.clone())
                .or(planner_graph);
            let kind = if webhook.is_some() {
                "webhook"
            } else if servicenow.is_some() {
                "servicenow"
            } else if jira.is_some() {
                "jira"
            } else if glpi.is_some() {
                "glpi"
            } else if planner.is_some() {
                "planner"
            } else if teams.is_some() {
                "teams"
            } else if slack.is_some() {
                "slack"
            } else {
                "email"
            };
            if time_zone.is_some()
                && quiet.is_none()
                && digest.is_none()
                && !review
                && report.is_none()
            {
                bail!(
                    "--time-zone is the time zone of --quiet, --digest, --review or --report: give one of them"
                );
            }
            let report = report.map(|every| changedesk_server::outbox::channel::ReportRequest {
                every,
                at: report_at.clone().unwrap_or_else(|| "08:00".into()),
                time_zone: time_zone.clone(),
            });
            let review = review.then(|| DigestRequest {
                weekday: Some(review_day.clone().unwrap_or_else(|| "monday".into())),
                at: review_at.clone().unwrap_or_else(|| "08:00".into()),
                time_zone: time_zone.clone(),
            });
            let digest = digest.map(|cadence| DigestRequest {
                weekday: (cadence == "weekly")
                    .then(|| digest_day.clone().unwrap_or_else(|| "monday".into())),
                at: digest_at.clone().unwrap_or_else(|| "08:00".into()),
                time_zone: time_zone.clone(),
            });
            let quiet = match quiet {
                None => None,
                Some(q) => {
                    let (from, to) = q.split_once('-').ok_or_else(|| {
                        anyhow!("--quiet is two times of day, HH:MM-HH:MM (e.g. 22:00-07:00)")
                    })?;
                    Some(QuietRequest {
                        from: from.to_string(),
                        to: to.to_string(),
                        time_zone,
                        urgent_severities,
                        urgent_major: false,
                    })
                }
            };
            let follow = (when_in_progress.is_some()
                || when_done.is_some()
                || when_canceled.is_some()
                || close_ticket)
                .then_some(changedesk_server::outbox::FollowRequest {
                    in_progress: when_in_progress,
                    done: when_done,
                    canceled: when_canceled,
                    close_ticket: Some(close_ticket),
                });
            let (secret, connector) = if connector_url.is_some() {
                if secret.is_some() {
                    bail!(
                        "a connector's secret is read from --secret-env or --secret-file, never the command line"
                    );
                }
                let from_env = |var: &str| {
                    std::env::var(var)
                        .map_err(|_| anyhow!("the environment variable {var} is not set"))
                };
                let secret = match (&secret_env, &secret_file) {
                    (Some(var), _) => from_env(var)?,
                    (None, Some(path)) => std::fs::read_to_string(path)
                        .with_context(|| format!("reading the secret from {}", path.display()))?
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    (None, None) => bail!(
                        "a connector needs its secret: --secret-env VAR or --secret-file PATH"
                    ),
                };
                let app_token = app_token_env.as_deref().map(from_env).transpose()?;
                (
                    Some(secret),
                    Some(changedesk_server::outbox::ConnectorRequest {
                        user: login,
                        auth,
                        model,
                        template,
                        project,
                        issue_type,
                        incident_issue_type,
                        entities_id,
                        api: glpi_api,
                        app_token,
                        follow,
                        raise_required: Some(raise_required),
                        incidents: Some(incidents),
                        tenant: directory,
                        login: login_url,
                        plan: planner,
                        buckets,
                        bucket,
                    }),
                )
            } else {
                if login.is_some()
                    || secret_env.is_some()
                    || secret_file.is_some()
                    || follow.is_some()
                    || raise_required
                {
                    bail!(
                        "--user, --secret-env, --secret-file, --when-… and --raise-required are a connector's (--servicenow, \
                         --jira, --glpi, --planner)"
                    );
                }
                (secret, None)
            };
            let req = ChannelRequest {
                name,
                kind: Some(kind.to_string()),
                url: webhook.or(teams).or(slack).or(connector_url),
                secret,
                recipients: email,
                events,
                services,
                severities,
                major,
                tenants,
                owner,
                batch_minutes,
                quiet,
                digest,
                review,
                report,
                allow_private,
                connector,
            };
            let ring = Keyring::load(&key_source(app)).context(
                "a channel's URL and signing secret are kept sealed: configure a secret key first",
            )?;
            let store = app.store_existing().await?;
            let r = async {
                // the file's channels first: a name it declares is taken
                crate::commands::setup::seed(app, &store, app::now()?).await?;
                let known: Vec<String> =
                    store.tenants().await?.into_iter().map(|t| t.name).collect();
                let owners: Vec<String> =
                    store.owners().await?.into_iter().map(|o| o.name).collect();
                if store.channels().await?.len() >= MAX_CHANNELS {
                    bail!("changedesk keeps at most {MAX_CHANNELS} channels; remove one first");
                }
                let (channel, secret) =
                    new_channel(&ring, &req, &known, &owners, &actor, app::now()?)
                        .map_err(|e| anyhow!(e))?;
                store.create_channel(&channel).await?;
                Ok((channel, secret))
            }
            .await;
            store.close().await;
            let (channel, secret) = r?;
            let name = &channel.name;
            let target = req
                .url
                .as_deref()
                .and_then(|u| url::Url::parse(u.trim()).ok())
                .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")));
            let what = match (kind, target) {
                ("webhook", Some(t)) => format!("signed webhook to {t}"),
                ("servicenow" | "jira" | "glpi" | "planner", Some(t)) => {
                    format!("{kind} connector to {t}")
                }
                ("teams", Some(t)) => format!("Microsoft Teams Workflows at {t}"),
                ("slack", Some(t)) => format!("Slack at {t}"),
                _ if channel.settings.recipients.is_empty() => format!(
                    "e-mail to owner {}'s address",
                    channel.settings.owner.as_deref().unwrap_or("")
                ),
                _ => format!("e-mail to {}", channel.settings.recipients.join(", ")),
            };
            if channel.settings.connector.is_some() {
                let also = channel.settings.describe();
                println!(
                    "channel {name}: {what}; raises the change requests addressed to it \
                     (`changedesk tasks raise-change MC… --connector {name}`){}; check it with \
                     `changedesk notify channel test {name}`",
                    if also.is_empty() {
                        String::new()
                    } else {
                        format!("; {also}")
                    }
                );
                return Ok(ExitCode::SUCCESS);
            }
            let settings = channel.settings.describe();
            println!(
                "channel {name}: {what}; hears of {}{}",
                channel.filter.describe(),
                if settings.is_empty() {
                    String::new()
                } else {
                    format!("; {settings}")
                }
            );
            if kind == "email" && app.config.notify.email.is_none() {
                println!(
                    "note: e-mail is not configured yet: its messages wait until [notify.email] is set (see `changedesk config example`)"
                );
            }
            if let Some(secret) = secret {
                println!(
                    "its signing secret (shown once; the receiver verifies webhook-signature with it):\n{}",
                    secret.expose_secret()
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
                let mut t = output::table(&[
                    "Name", "Kind", "Hears of", "Delivers", "Enabled", "Added by",
                ]);
                let mut declared = false;
                for c in &rows {
                    let kind = if c.settings.recipients.is_empty() {
                        c.kind.clone()
                    } else {
                        format!("{} to {}", c.kind, c.settings.recipients.join(", "))
                    };
                    t.add_row(vec![
                        c.name.clone(),
                        kind,
                        c.filter.describe(),
                        c.settings.describe(),
                        if c.enabled {
                            "yes".to_string()
                        } else {
                            format!("no: {}", c.disabled_reason.clone().unwrap_or_default())
                        },
                        match &c.declared_in {
                            Some(_) => {
                                declared = true;
                                "config file".to_string()
                            }
                            None => c.created_by.clone(),
                        },
                    ]);
                }
                println!("{t}");
                if declared {
                    let files: std::collections::BTreeSet<&str> = rows
                        .iter()
                        .filter_map(|c| c.declared_in.as_deref())
                        .collect();
                    for f in files {
                        println!("\"config file\": declared in {f}; change those channels there");
                    }
                }
            } else {
                #[derive(serde::Serialize)]
                struct Shown<'a> {
                    name: &'a str,
                    kind: &'a str,
                    filter: &'a ChannelFilter,
                    settings: &'a changedesk_core::notify::ChannelSettings,
                    allow_private: bool,
                    enabled: bool,
                    disabled_reason: &'a Option<String>,
                    created_at: changedesk_core::Timestamp,
                    created_by: &'a str,
                    declared_in: &'a Option<String>,
                }
                let shown: Vec<Shown> = rows
                    .iter()
                    .map(|c| Shown {
                        name: &c.name,
                        kind: &c.kind,
                        filter: &c.filter,
                        settings: &c.settings,
                        allow_private: c.allow_private,
                        enabled: c.enabled,
                        disabled_reason: &c.disabled_reason,
                        created_at: c.created_at,
                        created_by: &c.created_by,
                        declared_in: &c.declared_in,
                    })
                    .collect();
                output::print_list(
                    &shown,
                    format,
                    &[
                        "name",
                        "kind",
                        "filter",
                        "settings",
                        "allow_private",
                        "enabled",
                        "disabled_reason",
                        "created_at",
                        "created_by",
                        "declared_in",
                    ],
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::Remove { name, who } => {
            let actor = admin_actor(&who)?;
            let store = app.store_existing().await?;
            let r = async {
                let now = app::now()?;
                crate::commands::setup::seed(app, &store, now).await?;
                Ok::<_, anyhow::Error>(store.remove_channel(&name, &actor, now).await?)
            }
            .await;
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
                let test = test_event(&name, now);
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
