//! `changedesk demo`: the product tour, with no Microsoft account needed.
//!
//! Starts the Graph simulator in-process with a few tenants (one of them
//! signing in with a certificate), syncs them into a demo archive, lets
//! simulated time pass twice (an incremental sync, then a full one that finds
//! what expired), and shows what the archive keeps.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use changedesk_core::Timestamp;
use changedesk_core::config::{Cloud, Credential, TenantConfig};
use changedesk_server::sync::{Quiet, SyncRequest, TenantOutcome, sync_tenants};
use changedesk_sim::{CorpusSpec, SimConfig, TEST_APP_CERTIFICATE_PEM, TEST_APP_PRIVATE_KEY_PEM};
use changedesk_store::{MessageFilter, OpenMode, Store};
use secrecy::SecretString;

use crate::app::App;
use crate::cli::DemoArgs;
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
    }
    sim.shutdown().await;
    summary(&store, app).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
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
