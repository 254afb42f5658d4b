//! `changedesk demo`: the product tour, with no Microsoft account needed.
//!
//! Starts the Graph simulator in-process with a few tenants (one of them
//! signing in with a certificate), syncs them into a demo archive, lets
//! simulated time pass twice (an incremental sync, then a full one that finds
//! what expired), and shows what the archive keeps.
//!
//! Then (with `--serve`, and by default when run on a terminal) it adds
//! sample users — an admin, a change manager, an owner, a reader and a
//! change manager limited to the `pilot` tenant group — with passwords new
//! for every run, and serves the web UI and the API on `--listen`
//! (127.0.0.1:8080) until Ctrl-C, printing the address and how to sign in.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope as UserScope};
use changedesk_core::config::{Cloud, Credential, TenantConfig};
use changedesk_core::rules::{RuleFile, RuleSet};
use changedesk_core::triage::{
    Action, Actor, Decision, Owner, OwnershipEntry, Scope, State, TenantGroup,
};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_server::sync::{Quiet, SyncRequest, TenantOutcome, sync_tenants};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_sim::{CorpusSpec, SimConfig, TEST_APP_CERTIFICATE_PEM, TEST_APP_PRIVATE_KEY_PEM};
use changedesk_store::{ItemFilter, ItemSave, MessageFilter, NewUser, OpenMode, Store, UserUpdate};
use secrecy::SecretString;

use crate::app::App;
use crate::cli::DemoArgs;
use crate::commands::setup;
use crate::commands::sync::graph_client;
use crate::output::{self, clip, date};

/// Where the demo writes unless `--database` says otherwise.
pub const DEMO_DATABASE: &str = "changedesk-demo.db";

/// Starts each default demo afresh.
pub fn remove_demo_database() -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{DEMO_DATABASE}{suffix}");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot remove the previous demo archive {path}: {e}"
                ));
            }
        }
    }
    Ok(())
}

pub async fn run(app: &App, args: &DemoArgs) -> Result<ExitCode> {
    let store = app.store(OpenMode::ReadWrite).await?;
    // the corpus starts a week ago, to the minute, so the last round lands on "now"
    let now = crate::app::now()?.as_datetime();
    let start = now
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        - time::Duration::days(7);
    let sim = changedesk_sim::start(SimConfig {
        tenants: args.tenants,
        spec: CorpusSpec {
            posts: args.posts,
            issues: args.posts / 20 + 5,
            tenants: args.tenants,
            seed: args.seed,
            base_time: start,
            ..CorpusSpec::default()
        },
        seed: args.seed,
        // Planner's tasks too, for the demo's Planner connector
        app_roles: changedesk_sim::DEFAULT_APP_ROLES
            .iter()
            .chain(&[changedesk_sim::TASKS_READ_WRITE_ALL])
            .map(|r| (*r).to_owned())
            .collect(),
        ..SimConfig::default()
    })
    .await
    .context("cannot start the Graph simulator")?;
    let base = url::Url::parse(sim.base_url()).context("the simulator's address")?;
    // the last tenant signs in with a certificate, the others with a secret
    let keys = tempfile::tempdir().context("cannot create a directory for the demo certificate")?;
    let (cert, key) = (
        keys.path().join("demo-app.crt.pem"),
        keys.path().join("demo-app.key.pem"),
    );
    std::fs::write(&cert, TEST_APP_CERTIFICATE_PEM)?;
    std::fs::write(&key, TEST_APP_PRIVATE_KEY_PEM)?;
    let sim_tenants = sim.tenants();
    let tenants: Vec<TenantConfig> = sim_tenants
        .iter()
        .enumerate()
        .map(|(i, t)| TenantConfig {
            name: t.name.clone(),
            tenant_id: t.tenant_id.clone(),
            client_id: t.client_id.clone(),
            credential: if i + 1 == sim_tenants.len() && i > 0 {
                Credential::Certificate {
                    certificate_file: cert.clone(),
                    private_key_file: key.clone(),
                }
            } else {
                Credential::Secret(SecretString::from(t.client_secret.clone()))
            },
            cloud: Cloud::Global,
            login_url: Some(base.clone()),
            graph_url: Some(base.clone()),
            secret_expires: None,
        })
        .collect();
    let graph = graph_client(&app.config.sync)?;
    println!(
        "changedesk demo: {} simulated tenants at {} (the last signs in with a certificate), archive {}",
        tenants.len(),
        sim.base_url(),
        store.location().describe()
    );

    // a full listing every 3 days, so one week shows both kinds of sync
    let settings = changedesk_core::config::SyncSettings {
        full_sync_interval: std::time::Duration::from_secs(3 * 86_400),
        ..app.config.sync.clone()
    };
    let mut at = Timestamp::from_datetime(start);
    let owners = set_up_triage(&store, at).await?;
    let hooks = DemoHooks::start(&store, at, &sim).await?;
    println!(
        "Triage: {owners} owners (collaboration, messaging, security, endpoint, platform), a tenant group `pilot`, {} rules",
        DEMO_RULES.len()
    );
    for (round, days) in [
        (
            "Day 0: the first sync reads every tenant's complete listing",
            0u32,
        ),
        ("Day 1: an incremental sync asks only for what changed", 1),
        (
            "Day 7: a full sync (due every 3 days here) finds what Microsoft expired",
            6,
        ),
    ] {
        if days > 0 {
            sim.advance(days, args.seed + u64::from(days));
            at = at.saturating_add(time::Duration::days(i64::from(days)));
        }
        println!("\n{round}");
        let request = SyncRequest {
            full: false,
            now: at,
            settings: settings.clone(),
            dry_run: false,
        };
        let outcomes = sync_tenants(&store, &graph, &tenants, &request, Arc::new(Quiet)).await;
        for o in &outcomes {
            print_line(o);
        }
        let triage = Triage::load(&store, app.config.triage.reopen.clone())
            .await?
            .with_thresholds(app.config.notify.thresholds);
        let run = apply_rules(&store, &triage, at, false).await?;
        println!("  {:<12} {}", "rules", setup::summary_text(&run));
        hooks.round(at, &sim).await?;
        if days == 0 {
            work_on_some(&store, at).await?;
        }
    }
    summary(&store, app).await?;
    triage_summary(&store, app, at).await?;
    let serve = args.serve
        || (!args.no_serve && std::io::stdout().is_terminal() && std::io::stdin().is_terminal());
    if serve {
        // the simulator and the mocks stay up while serving: what people do
        // in the web UI (a communication sent, a change raised) is delivered
        let out = serve_ui(&store, args, at, &hooks).await;
        sim.shutdown().await;
        store.close().await;
        out?;
    } else {
        sim.shutdown().await;
        store.close().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the demo's e-mails are captured (one `.eml` file per message).
pub const DEMO_MAIL_DIR: &str = "changedesk-demo-mail";

/// The demo's notifications, each to a faithful local stand-in: a signed
/// webhook channel (the simulator's receiver, which verifies every
/// signature on its own), e-mail to a directory capture (the
/// Collaboration owner's channel and a change board list), a Teams
/// Workflows flow and a Slack incoming webhook (the simulator's mocks).
/// URLs and secrets are sealed with a key made for the demo.
struct DemoHooks {
    outbox: changedesk_server::outbox::Outbox,
    receiver: changedesk_sim::webhooks::ReceiverHandle,
    flow: changedesk_sim::teams::FlowHandle,
    slack: changedesk_sim::slack::SlackHandle,
    /// The change board's ServiceNow (a local mock): the connector
    /// `servicenow` raises a change for every item the rules require one of.
    snow: changedesk_sim::servicenow::ServiceNowHandle,
    mail: std::path::PathBuf,
}

impl DemoHooks {
    const CHANNEL: &str = "demo-webhook";
    const CONNECTOR: &str = "servicenow";
    const PLANNER: &str = "planner";
    /// The tenant whose Planner plan the demo's Planner connector fills.
    const PLANNER_TENANT: &str = "tenant-001";

    async fn start(
        store: &Store,
        at: Timestamp,
        sim: &changedesk_sim::SimHandle,
    ) -> Result<DemoHooks> {
        use changedesk_server::outbox::{
            ChannelRequest, MailSetup, Mailer, Outbox, new_channel, secret_context, url_context,
        };
        use secrecy::ExposeSecret as _;
        let (key, _) = changedesk_secrets::Key::generate()?;
        let ring = changedesk_secrets::Keyring::new(key, []);
        let (_, secret) = changedesk_notify::WebhookSecret::generate()?;
        let receiver =
            changedesk_sim::webhooks::start_receiver(changedesk_sim::webhooks::ReceiverConfig {
                secret: secret.expose_secret().to_string(),
                tolerance: std::time::Duration::from_secs(300),
            })
            .await
            .context("cannot start the demo's webhook receiver")?;
        let flow = changedesk_sim::teams::start_flow(Default::default())
            .await
            .context("cannot start the demo's Teams Workflows mock")?;
        let slack = changedesk_sim::slack::start_webhook(Default::default())
            .await
            .context("cannot start the demo's Slack webhook mock")?;
        let snow = changedesk_sim::servicenow::start_servicenow(Default::default())
            .await
            .context("cannot start the demo's ServiceNow mock")?;
        let mail = std::path::PathBuf::from(DEMO_MAIL_DIR);
        if let Ok(entries) = std::fs::read_dir(&mail) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "eml") {
                    std::fs::remove_file(e.path())?;
                }
            }
        }
        for name in [
            Self::CHANNEL,
            "collaboration-mail",
            "change-board",
            "pilot-mail",
            "teams",
            "slack",
            Self::CONNECTOR,
            Self::PLANNER,
        ] {
            store.remove_channel(name, "demo", at).await?;
        }
        store
            .create_channel(&changedesk_store::NewChannel {
                name: Self::CHANNEL.into(),
                kind: "webhook".into(),
                url_sealed: ring.seal(&receiver.url(), &url_context(Self::CHANNEL))?,
                secret_sealed: Some(
                    ring.seal(secret.expose_secret(), &secret_context(Self::CHANNEL))?,
                ),
                filter: Default::default(),
                settings: Default::default(),
                allow_private: true,
                created_by: "demo".into(),
                at,
            })
            .await?;
        // each sync's events batch into one message per channel (a window
        // of 0 minutes: the tour's days are rounds, not minutes)
        let owners: Vec<String> = store.owners().await?.into_iter().map(|o| o.name).collect();
        let planner_tenant = sim
            .tenants()
            .into_iter()
            .find(|t| t.name == Self::PLANNER_TENANT)
            .context("the simulator has no tenant-001")?;
        let plan = sim
            .planner_plan(Self::PLANNER_TENANT)
            .context("the simulator's tenant-001 has no Planner plan")?;
        for req in [
            ChannelRequest {
                name: "collaboration-mail".into(),
                kind: Some("email".into()),
                owner: Some("collaboration".into()),
                batch_minutes: Some(0),
                ..Default::default()
            },
            ChannelRequest {
                name: "change-board".into(),
                kind: Some("email".into()),
                recipients: vec!["change-board@contoso.example".into()],
                events: vec![
                    "post.routed".into(),
                    "post.changed".into(),
                    "item.reopened".into(),
                ],
                major: true,
                batch_minutes: Some(0),
                ..Default::default()
            },
            // the early-adopters pilot group, told of each pilot task
            // opened for it (that event alone)
            ChannelRequest {
                name: "pilot-mail".into(),
                kind: Some("email".into()),
                recipients: vec!["ana@contoso.example".into(), "bo@contoso.example".into()],
                events: vec!["pilot.opened".into()],
                batch_minutes: Some(0),
                ..Default::default()
            },
            ChannelRequest {
                name: "teams".into(),
                kind: Some("teams".into()),
                url: Some(flow.url()),
                batch_minutes: Some(0),
                allow_private: true,
                ..Default::default()
            },
            ChannelRequest {
                name: "slack".into(),
                kind: Some("slack".into()),
                url: Some(slack.url()),
                severities: vec!["high".into(), "critical".into()],
                batch_minutes: Some(0),
                allow_private: true,
                ..Default::default()
            },
            ChannelRequest {
                name: Self::CONNECTOR.into(),
                kind: Some("servicenow".into()),
                url: Some(snow.url()),
                secret: Some(snow.config().password.clone()),
                allow_private: true,
                connector: Some(changedesk_server::outbox::ConnectorRequest {
                    user: Some(snow.config().user.clone()),
                    raise_required: Some(true),
                    incidents: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ChannelRequest {
                name: Self::PLANNER.into(),
                kind: Some("planner".into()),
                url: Some(sim.base_url().to_owned()),
                secret: Some(planner_tenant.client_secret.clone()),
                allow_private: true,
                connector: Some(changedesk_server::outbox::ConnectorRequest {
                    user: Some(planner_tenant.client_id.clone()),
                    tenant: Some(planner_tenant.tenant_id.clone()),
                    login: Some(sim.base_url().to_owned()),
                    plan: Some(plan.plan_id.clone()),
                    raise_required: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ] {
            let (c, _) = new_channel(&ring, &req, &[], &owners, "demo", at)
                .map_err(|e| anyhow::anyhow!("the demo's channel {}: {e}", req.name))?;
            store.create_channel(&c).await?;
        }
        let sender = changedesk_notify::WebhookSender::new(std::time::Duration::from_secs(5))?;
        let mut outbox = Outbox::new(store.clone(), Some(Arc::new(ring)), sender);
        outbox.mail = Some(MailSetup {
            from: "changedesk <changedesk@contoso.example>".into(),
            reply_to: None,
            mailer: Mailer::Directory(mail.clone()),
        });
        println!(
            "Notifications: a signed webhook `{}` to a local receiver that verifies every signature ({}); e-mail to \
             the Collaboration owner, a change board (major changes) and the early-adopters pilot group (its pilot \
             tasks), captured in {DEMO_MAIL_DIR}/; a Teams \
             Workflows flow ({}) and a Slack webhook (high and critical, {}), both local mocks",
            Self::CHANNEL,
            receiver.url(),
            flow.addr(),
            slack.addr()
        );
        println!(
            "Change control: the connector `{}` raises a change request in ServiceNow (a local mock at {}) for every \
             item the rules require one of (the change board works on them there, and the items follow), and opens an \
             incident there for each new Service Health incident, noted and resolved with Microsoft's",
            Self::CONNECTOR,
            snow.url()
        );
        println!(
            "Planner: the connector `{}` makes a task in {}'s plan \"{}\" (the simulator's Planner) for each of \
             those items too, in a bucket per workload, assigned to the owner (by Entra object id), with a \
             checklist; when someone works on a task there, its item follows",
            Self::PLANNER,
            Self::PLANNER_TENANT,
            plan.title
        );
        Ok(DemoHooks {
            outbox,
            receiver,
            flow,
            slack,
            snow,
            mail,
        })
    }

    fn mails(&self) -> usize {
        std::fs::read_dir(&self.mail)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    }

    async fn round(&self, at: Timestamp, sim: &changedesk_sim::SimHandle) -> Result<()> {
        let r = self.outbox.run_once(at).await?;
        let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
        for m in self.receiver.received() {
            *kinds.entry(m.event_type.unwrap_or_default()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "  {:<12} {} event{}, {} message{} delivered{} (so far: webhooks {}; e-mails {}; Teams cards {}; Slack messages {})",
            "notify",
            r.events,
            if r.events == 1 { "" } else { "s" },
            r.delivered,
            if r.delivered == 1 { "" } else { "s" },
            if r.events == 0 {
                ": a first sync (the baseline) tells nobody"
            } else {
                ""
            },
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            },
            self.mails(),
            self.flow.posted().len(),
            self.slack.messages().len(),
        );
        if !self.receiver.rejected().is_empty() {
            anyhow::bail!(
                "the receiver refused a webhook: {:?}",
                self.receiver.rejected()
            );
        }
        if !self.flow.lost().is_empty() {
            anyhow::bail!("the Teams flow lost cards: {:?}", self.flow.lost());
        }
        self.planner_board(sim);
        self.change_board(at).await
    }

    /// Someone at work in Planner: of the tasks not started, the newest is
    /// started (50 %, as Planner's UI does); the change board's round then
    /// reads it back with the tickets.
    fn planner_board(&self, sim: &changedesk_sim::SimHandle) {
        let tasks = sim.planner_tasks(Self::PLANNER_TENANT);
        let fresh = tasks
            .iter()
            .rev()
            .find(|t| t["percentComplete"].as_u64() == Some(0));
        let started = fresh.and_then(|t| {
            let id = t["id"].as_str()?;
            sim.planner_edit_task(id, serde_json::json!({"percentComplete": 50}))
                .ok()?;
            let title = t["title"].as_str().unwrap_or("");
            // `[M365] MC1234567: …`
            title
                .split(':')
                .next()
                .map(|p| p.trim_start_matches("[M365]").trim().to_owned())
        });
        let assigned = tasks
            .iter()
            .filter(|t| t["assignments"].as_object().is_some_and(|a| !a.is_empty()))
            .count();
        println!(
            "  {:<12} {} task{} in Planner so far ({assigned} assigned to their owner){}",
            "planner",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "s" },
            started
                .map(|p| format!("; someone started the task of {p} there"))
                .unwrap_or_default()
        );
    }

    /// The change board at work in ServiceNow: of the changes raised and
    /// not yet worked on, it closes the first and starts implementing the
    /// second; the tickets are then read back and their items follow.
    async fn change_board(&self, at: Timestamp) -> Result<()> {
        let records = self.snow.records();
        let incidents = self.snow.incidents();
        let resolved = incidents
            .iter()
            .filter(|i| i.field("state") == Some("6"))
            .count();
        let service_desk = format!(
            "; service desk: {} incident{} ({resolved} resolved with Microsoft)",
            incidents.len(),
            if incidents.len() == 1 { "" } else { "s" }
        );
        if records.is_empty() {
            println!(
                "  {:<12} no change request raised yet (the rules require one of new retirements){service_desk}",
                "change"
            );
            return Ok(());
        }
        // (number, post): the post's id is in the correlation id
        let fresh: Vec<(String, String)> = records
            .iter()
            .filter(|r| r.field("state") == Some("-5"))
            .filter_map(|r| {
                let number = r.field("number")?.to_owned();
                let post = r
                    .field("correlation_id")?
                    .strip_prefix("cd-")?
                    .split('-')
                    .next()?
                    .to_owned();
                Some((number, post))
            })
            .collect();
        let mut moved = Vec::new();
        for ((number, post), (state, label)) in
            fresh.iter().zip([("3", "closed"), ("-1", "implementing")])
        {
            if self.snow.set_state(number, state) {
                moved.push(format!("{label} {number} of {post}"));
            }
        }
        let s = self.outbox.follow_tickets(at, 200).await?;
        println!(
            "  {:<12} {} change request{} in ServiceNow so far{}; read back: {} moved, {} item{} followed (by \
             connector:{} or connector:{}){service_desk}",
            "change",
            records.len(),
            if records.len() == 1 { "" } else { "s" },
            if moved.is_empty() {
                String::new()
            } else {
                format!(" (the change board: {})", moved.join(", "))
            },
            s.moved,
            s.items_changed,
            if s.items_changed == 1 { "" } else { "s" },
            Self::CONNECTOR,
            Self::PLANNER
        );
        Ok(())
    }
}

/// The demo's users: (name, display name, role, tenant groups, what they
/// may do). `collaboration` is also an owner's name, so the items routed to
/// the Collaboration team are theirs.
const DEMO_USERS: &[(&str, &str, Role, &[&str], &str)] = &[
    ("admin", "Demo admin", Role::Admin, &[], "everything"),
    (
        "manager",
        "Demo change manager",
        Role::ChangeManager,
        &[],
        "triages every item",
    ),
    (
        "collaboration",
        "Collaboration team lead",
        Role::Owner,
        &[],
        "acts on the Collaboration team's items",
    ),
    (
        "comms",
        "Internal communications",
        Role::Comms,
        &[],
        "drafts, approves and sends communications",
    ),
    ("reader", "Demo reader", Role::Reader, &[], "reads only"),
    (
        "pilot",
        "Pilot change manager",
        Role::ChangeManager,
        &["pilot"],
        "triages, sees only the pilot tenant group",
    ),
];

/// A password that is easy to type: 16 random letters and digits in
/// groups of four.
fn demo_password() -> String {
    let chars: Vec<char> = changedesk_server::http::auth::new_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Adds (or, in a reused archive, resets) the demo users; returns each with
/// its new password.
async fn set_up_users(store: &Store, at: Timestamp) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (name, display, role, groups, _) in DEMO_USERS {
        let password = demo_password();
        let p = password.clone();
        let hash = tokio::task::spawn_blocking(move || http::hash_password(&p))
            .await?
            .map_err(|e| anyhow::anyhow!(e))?;
        let scope = UserScope {
            tenants: Vec::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        if store.user_by_name(name).await?.is_some() {
            let update = UserUpdate {
                role: Some(*role),
                scope: Some(scope),
                disabled: Some(false),
                password_hash: Some(Some(hash)),
                ..Default::default()
            };
            store.update_user(name, &update, DEMO_ACTOR, &at).await?;
        } else {
            store
                .create_user(
                    &NewUser {
                        name: name.to_string(),
                        display_name: display.to_string(),
                        email: format!("{name}@contoso.example"),
                        role: *role,
                        scope,
                        password_hash: Some(hash),
                        oidc_subject: None,
                        disabled: false,
                        at,
                    },
                    DEMO_ACTOR,
                )
                .await?;
        }
        out.push((name.to_string(), password));
    }
    Ok(out)
}

/// Serves the web UI and the API on the demo archive until Ctrl-C.
async fn serve_ui(store: &Store, args: &DemoArgs, at: Timestamp, hooks: &DemoHooks) -> Result<()> {
    let users = set_up_users(store, at).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (choose another with --listen)",
                args.listen
            )
        })?;
    let addr = listener.local_addr()?;
    // plain HTTP: the session cookie must not be Secure-only, which is safe
    // on loopback only
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: serving the demo over plain HTTP on {addr}, which is not loopback: anyone on the network can read its sign-ins"
        );
    }
    let settings = Settings {
        secure_cookies: false,
        ..Settings::default()
    };
    // the demo's tenants are configured for it (synced from its simulator)
    let names = store.tenants().await?.into_iter().map(|t| t.name).collect();
    let mut state = AppState::new(store.clone(), settings)
        .with_configured_tenants(names)
        .with_comms(changedesk_server::http::CommsSetup {
            public_url: Some(format!("http://{addr}")),
            ..Default::default()
        });
    if let Some(ring) = hooks.outbox.keyring.clone() {
        state = state.with_keyring(ring);
    }
    let fixed = std::env::var("CHANGEDESK_NOW").is_ok_and(|s| !s.trim().is_empty());
    if fixed {
        let now = crate::app::now()?;
        state = state.with_clock(move || now);
    }
    // the outbox delivers what the web UI's people cause (communications
    // sent, changes raised) every few seconds, as `serve` does
    let mut outbox = hooks.outbox.clone();
    outbox.public_url = Some(format!("http://{addr}"));
    let fixed_now = crate::app::now()?;
    let delivering = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let now = if fixed {
                fixed_now
            } else {
                Timestamp::now_utc()
            };
            if let Err(e) = outbox.run_once(now).await {
                tracing::warn!(error = %e, "the demo's outbox round failed");
            }
        }
    });
    println!("\nThe web UI: http://{addr}/   (the API is under /api/v1; Ctrl-C stops it)");
    println!("Sign in as (the passwords are new for every run):");
    let mut t = output::table(&["User", "Password", "Role", "May"]);
    for ((name, password), (_, _, role, _, may)) in users.iter().zip(DEMO_USERS) {
        t.add_row(vec![
            name.clone(),
            password.clone(),
            role.as_str().to_string(),
            may.to_string(),
        ]);
    }
    println!("{t}");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let served = axum::serve(
        listener,
        http::router(state, true).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping the demo server");
    })
    .await
    .context("the demo server stopped with an error");
    delivering.abort();
    served?;
    Ok(())
}

/// Who the demo says made its hand-made changes.
const DEMO_ACTOR: &str = "demo";

/// The demo's teams: (name, display name, e-mail, workloads).
const DEMO_OWNERS: &[(&str, &str, &str, &[&str])] = &[
    (
        "collaboration",
        "Collaboration team",
        "collaboration@contoso.example",
        &[
            "Microsoft Teams",
            "SharePoint Online",
            "Microsoft OneDrive",
            "Microsoft Viva",
            "Planner",
        ],
    ),
    (
        "messaging",
        "Messaging team",
        "messaging@contoso.example",
        &["Exchange Online", "Microsoft Bookings", "Microsoft Forms"],
    ),
    (
        "security",
        "Security and compliance",
        "security@contoso.example",
        &[
            "Microsoft Entra",
            "Microsoft Purview",
            "Microsoft Defender XDR",
        ],
    ),
    (
        "endpoint",
        "Endpoint management",
        "endpoint@contoso.example",
        &[
            "Microsoft Intune",
            "Windows",
            "Windows 365",
            "Windows Autopatch",
            "Microsoft 365 apps",
        ],
    ),
    (
        "platform",
        "Microsoft 365 platform",
        "m365@contoso.example",
        &["*"],
    ),
];

/// The demo's rules, in order: (name, rule as TOML).
const DEMO_RULES: &[(&str, &str)] = &[
    (
        "Information only is dismissed",
        "when = 'category == \"stayInformed\" and not major and act_by == null'\nthen = { dismiss = \"information only, nothing to decide\", stop = true }",
    ),
    (
        "Retirements need a change request",
        "when = 'tags has \"Retirement\"'\nthen = { priority = \"high\", change_request = true, labels = [\"retirement\"] }",
    ),
    (
        "Major changes are decided two weeks ahead",
        "when = \"major\"\nthen = { priority = \"high\", due = \"act_by - 14d\", labels = [\"major\"], notify = [\"owner\"] }",
    ),
    (
        "Act-by within 30 days is urgent",
        "when = \"act_by != null and act_by < now + 30d\"\nthen = { priority = \"critical\", due = \"act_by - 3d\" }",
    ),
    (
        "Identity and compliance to security",
        "when = 'services has [\"Microsoft Entra\", \"Microsoft Purview\", \"Microsoft Defender XDR\"]'\nthen = { owner = \"security\", labels = [\"security\"] }",
    ),
    (
        "User-facing Teams changes are communicated",
        "when = 'services has \"Microsoft Teams\" and tags has \"User impact\"'\nthen = { communication = true, labels = [\"comms\"] }",
    ),
    (
        "Pilot tenants see it first",
        "when = 'tenant_group has \"pilot\"'\nthen = { labels = [\"pilot\"] }",
    ),
    (
        "Everything else to the workload owner",
        "when = \"true\"\nthen = { owner = \"workload\" }",
    ),
];

/// Owners, a tenant group, workload ownership and rules, through the store
/// (audited as `demo`). Returns how many owners.
async fn set_up_triage(store: &Store, at: Timestamp) -> Result<usize> {
    for (name, display, email, workloads) in DEMO_OWNERS {
        let mut owner = Owner::new(name, display, email).map_err(|e| anyhow::anyhow!("{e}"))?;
        // the object id Planner assigns them by (the simulator's user of
        // that address)
        owner.entra_id = Some(changedesk_sim::derived_oid(email));
        store.put_owner(&owner, DEMO_ACTOR, &at).await?;
        for w in *workloads {
            let entry = OwnershipEntry {
                workload: w.to_string(),
                owner: name.to_string(),
                scope: Scope::All,
            };
            store.set_ownership(&entry, DEMO_ACTOR, &at).await?;
        }
    }
    let pilot = TenantGroup {
        name: "pilot".to_string(),
        description: "Tenants that get changes first".to_string(),
        include: vec!["tenant-001".to_string()],
        exclude: Vec::new(),
    };
    store.put_group(&pilot, DEMO_ACTOR, &at).await?;
    // the pilot tenant's Teams changes go to the platform team, who run the pilot
    let pilot_teams = OwnershipEntry {
        workload: "Microsoft Teams".to_string(),
        owner: "platform".to_string(),
        scope: Scope::Group("pilot".to_string()),
    };
    store.set_ownership(&pilot_teams, DEMO_ACTOR, &at).await?;
    // staff who try Teams and SharePoint changes first: a pilot task opens
    // for them when such a change's targeted release starts (/pilots)
    store
        .save_pilot_group(
            &changedesk_store::PilotGroup {
                name: "early-adopters".to_string(),
                description: "Staff who try Teams and SharePoint changes first".to_string(),
                workloads: vec![
                    "Microsoft Teams".to_string(),
                    "SharePoint Online".to_string(),
                ],
                members: vec![
                    "ana@contoso.example".to_string(),
                    "bo@contoso.example".to_string(),
                ],
                channel: "pilot-mail".to_string(),
            },
            DEMO_ACTOR,
            at,
        )
        .await?;
    let mut specs = Vec::new();
    for (name, toml) in DEMO_RULES {
        let file = RuleFile::from_toml(&format!("[[rules]]\nname = {name:?}\n{toml}\n"))
            .map_err(|e| anyhow::anyhow!("demo rule {name:?}: {e}"))?;
        specs.extend(file.rules);
    }
    RuleSet::compile(&specs).map_err(|e| anyhow::anyhow!("the demo rules: {e}"))?;
    for (i, spec) in specs.iter().enumerate() {
        store
            .put_rule(
                &spec.name,
                spec.enabled,
                &serde_json::to_value(spec)?,
                Some(i as i64 + 1),
                DEMO_ACTOR,
                &at,
            )
            .await?;
    }
    Ok(DEMO_OWNERS.len())
}

/// A person works on a few items after the first sync: triages, starts,
/// closes, dismisses; the later syncs may flag or reopen them.
async fn work_on_some(store: &Store, at: Timestamp) -> Result<()> {
    let person = Actor::person("dana").map_err(|e| anyhow::anyhow!("{e}"))?;
    let open = store
        .work_items(&ItemFilter {
            states: vec![State::New],
            limit: Some(12),
            ..Default::default()
        })
        .await?;
    let plan: Vec<Vec<Action>> = vec![
        vec![Action::Triage],
        vec![Action::Triage, Action::Start],
        vec![Action::Start],
        vec![
            Action::Triage,
            Action::Close {
                decision: Decision::Communicated,
                reason: Some("announced in the weekly IT newsletter".to_string()),
            },
        ],
        vec![Action::Close {
            decision: Decision::NoActionNeeded,
            reason: Some("feature not licensed here".to_string()),
        }],
        vec![Action::Start],
        vec![Action::Triage],
        vec![Action::Dismiss {
            reason: "duplicate of an earlier post".to_string(),
        }],
    ];
    for (row, actions) in open.iter().zip(plan) {
        let mut item = row.stored.item.clone();
        let mut entries = Vec::new();
        for a in actions {
            // a refused step is simply skipped in the tour
            if let Ok(e) = item.apply(a, &person, at) {
                entries.extend(e);
            }
        }
        if entries.is_empty() {
            continue;
        }
        let save = ItemSave {
            item: &item,
            expected_version: Some(row.stored.version),
            evaluated_revision: None,
            entries: &entries,
            notify: &[],
            events: &[],
            at,
        };
        store.save_work_item(&save).await?;
    }
    Ok(())
}

/// Items per state and per owner, and the top of the agenda.
async fn triage_summary(store: &Store, app: &App, now: Timestamp) -> Result<()> {
    let counts = store.work_item_counts().await?;
    let per_state: Vec<String> = State::ALL
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
            format!("{n} {}", s.label())
        })
        .collect();
    println!("\nTriage: work items {}", per_state.join(", "));
    let items = store.work_items(&ItemFilter::default()).await?;
    let mut per_owner: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for r in &items {
        let owner = r
            .stored
            .item
            .assignee
            .clone()
            .unwrap_or_else(|| "(nobody)".to_string());
        let e = per_owner.entry(owner).or_default();
        e.0 += 1;
        e.1 += usize::from(r.stored.item.state.is_open());
    }
    let mut t = output::table(&["Owner", "Items", "Open"]);
    for (owner, (all, open)) in &per_owner {
        t.add_row(vec![owner.clone(), all.to_string(), open.to_string()]);
    }
    println!("{t}");
    let agenda = crate::commands::agenda::build(
        app,
        store,
        now,
        Timestamp::from_datetime(now.as_datetime() - time::Duration::days(7)),
    )
    .await?;
    println!("\nThe top of this week's agenda (`changedesk agenda`):\n");
    let md = agenda.to_markdown();
    // the title, the period and the summary table
    for line in md.lines().take_while(|l| !l.starts_with("## ")) {
        println!("  {line}");
    }
    let db = format!(" --database {}", app.config.database.redacted());
    let open = |r: &&changedesk_store::ItemRow| r.stored.item.state.is_open();
    let example = items
        .iter()
        .filter(open)
        .find(|r| r.stored.item.is_flagged())
        .or(items
            .iter()
            .filter(open)
            .find(|r| r.stored.item.assignee.is_some()))
        .or(items.first())
        .map(|r| r.stored.item.message_id.clone());
    let baseline = changedesk_server::triage::baseline(store).await?;
    println!(
        "\nThe baseline: {} item{} from the first sync still await triage; {} of them history (no act-by date or \
         rollout after changedesk first saw the post), {} with a deadline since. A change manager accepts it in \
         one action (`changedesk baseline accept --as USER`, or Baseline in the web UI's inbox): history closes, \
         the rest stays.",
        baseline.awaiting,
        if baseline.awaiting == 1 { "" } else { "s" },
        baseline.to_close,
        baseline.kept
    );
    println!("\nTriage commands to try:");
    println!("  changedesk{db} tasks list --state open --assignee security");
    println!("  changedesk{db} baseline show");
    println!(
        "  changedesk{db} notify outbox          # every message the tour sent (webhooks, e-mail, Teams, Slack), and its state"
    );
    println!(
        "  ls {DEMO_MAIL_DIR}/                  # the e-mails, one .eml file each (open one in a mail client)"
    );
    if let Some(id) = example {
        println!("  changedesk{db} tasks show {id}");
        println!("  changedesk{db} rules test {id}        # which rules matched, and why");
    }
    println!("  changedesk{db} owners list");
    println!("  changedesk{db} rules list");
    println!("  changedesk{db} agenda --format html > agenda.html");
    Ok(())
}

fn print_line(o: &TenantOutcome) {
    match (&o.error, &o.messages) {
        (Some(e), _) => println!("  {:<12} failed: {e}", o.tenant),
        (None, Some(m)) => println!(
            "  {:<12} {:<11} {:>4} posts fetched: {:>4} new, {:>3} updated, {:>3} gone  ({} requests, {:.0} KB)",
            o.tenant,
            m.mode.as_str(),
            m.fetched,
            o.new_items(),
            o.updated_items(),
            o.gone_items(),
            o.requests,
            o.bytes as f64 / 1024.0
        ),
        (None, None) => println!("  {:<12} nothing fetched", o.tenant),
    }
}

async fn summary(store: &Store, app: &App) -> Result<()> {
    let c = store.counts().await?;
    println!(
        "\nThe archive: {} posts ({} expired), {} tenant links ({} gone), {} revisions; {} incidents with {} status changes",
        c.posts,
        c.expired_posts,
        c.post_links,
        c.gone_links,
        c.post_revisions,
        c.incidents,
        c.incident_status_changes
    );
    let recent = store
        .list_messages(&MessageFilter {
            limit: Some(8),
            ..Default::default()
        })
        .await?;
    let mut t = output::table(&["ID", "Title", "Modified", "Rev", "Tenants"]);
    for p in &recent {
        t.add_row(vec![
            p.id.clone(),
            clip(&p.title, 70),
            date(&p.last_modified),
            p.revision.to_string(),
            format!("{}/{}", p.tenants_visible, p.tenants_seen),
        ]);
    }
    println!("{t}");
    let revised = store
        .list_messages(&MessageFilter::default())
        .await?
        .into_iter()
        .find(|p| p.revision > 1);
    let db = format!(" --database {}", app.config.database.redacted());
    println!("\nTry:");
    if let Some(p) = revised {
        println!(
            "  changedesk{db} messages show {} --diff     # what Microsoft changed",
            p.id
        );
    }
    println!("  changedesk{db} messages list --state expired  # kept after Microsoft forgot them");
    println!("  changedesk{db} messages list --major --act-by-within 60d");
    println!("  changedesk{db} incidents list --open");
    println!("  changedesk{db} tenants list");
    println!(
        "  changedesk sim --write-config sim.toml        # then: changedesk --config sim.toml sync"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_passwords_are_long_enough_and_differ() {
        let (a, b) = (demo_password(), demo_password());
        assert_eq!(a.len(), 19, "{a}");
        assert!(changedesk_server::http::auth::check_password(&a).is_ok());
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn the_demo_users_sign_in_with_their_printed_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("d.db"), OpenMode::ReadWrite)
            .await
            .unwrap();
        let at = Timestamp::parse("2026-03-10T09:00:00Z").unwrap();
        let first = set_up_users(&store, at).await.unwrap();
        // a reused archive: the same users, new passwords
        let again = set_up_users(&store, at).await.unwrap();
        assert_eq!(first.len(), DEMO_USERS.len());
        for ((name, old), (_, new)) in first.iter().zip(&again) {
            assert_ne!(old, new, "{name}");
            let user = store.user_by_name(name).await.unwrap().unwrap();
            let phc = user.password_hash.clone().unwrap();
            assert!(http::verify_password(new, &phc), "{name}");
            assert!(!http::verify_password(old, &phc), "{name}");
        }
        let pilot = store.user_by_name("pilot").await.unwrap().unwrap();
        assert_eq!(pilot.role, Role::ChangeManager);
        assert_eq!(pilot.scope.groups, vec!["pilot".to_string()]);
        let owner = store.user_by_name("collaboration").await.unwrap().unwrap();
        assert_eq!(owner.role, Role::Owner);
        store.close().await;
    }
}
