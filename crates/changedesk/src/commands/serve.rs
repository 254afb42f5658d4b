//! `changedesk serve`: the REST API, scheduled syncs, the rules and the
//! deadline checks in one process, until Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_server::jobs::Jobs;
use changedesk_store::OpenMode;

use crate::app::{self, App};
use crate::cli::ServeArgs;
use crate::commands::{setup, sync};

pub async fn run(app: &App, args: &ServeArgs) -> Result<ExitCode> {
    let store = app.store(OpenMode::Service).await?;
    let now = app::now()?;
    setup::seed(app, &store, now).await?;
    let every = duration_arg("--sync-every", &args.sync_every)?;
    let cache = http::cache::CacheSettings {
        bytes: args.cache_mb.saturating_mul(1 << 20),
        ttl: duration_arg("--cache-ttl", &args.cache_ttl)?,
        ..http::cache::CacheSettings::default()
    };

    let settings = Settings {
        secure_cookies: !args.insecure_cookies,
        reopen: app.config.triage.reopen.clone(),
        thresholds: app.config.notify.thresholds,
        cache,
        hash_concurrency: app.config.server.hash_concurrency,
        trusted_proxies: app.config.server.trusted_proxies.clone(),
        analytics: app.config.analytics.clone(),
        ..Settings::default()
    };
    let metrics = http::metrics::Metrics::global();
    let mut state = AppState::new(store.clone(), settings)
        .with_metrics(metrics)
        .with_configured_tenants(app.config.tenants.iter().map(|t| t.name.clone()).collect());
    if std::env::var("CHANGEDESK_NOW").is_ok_and(|s| !s.trim().is_empty()) {
        state = state.with_clock(move || now);
    }
    if let Some(keyring) = crate::commands::notify::keyring(app)? {
        state = state.with_keyring(keyring);
    }
    state = state.with_comms(crate::commands::notify::comms_setup(app)?);
    if let Some(oidc) = &app.config.oidc {
        let oidc = http::oidc::Oidc::new(oidc.clone()).map_err(|e| anyhow!(e))?;
        eprintln!(
            "OpenID Connect sign-in with {} (redirect URI {})",
            oidc.config().issuer,
            oidc.redirect_uri()
        );
        state = state.with_oidc(oidc);
    }

    if let Some(registration) = &app.config.app {
        if let Some(warning) =
            changedesk_server::onboard::app_expiry_warning(registration, &now).await
        {
            tracing::warn!("{warning}");
            eprintln!("warning: {warning}");
        }
        state = state.with_onboarding(changedesk_server::onboard::Onboarding {
            app: registration.clone(),
            graph: sync::graph_client(&app.config.sync)?,
            public_url: app.config.server.public_url.clone(),
            configured: app.config.tenants.iter().map(|t| t.name.clone()).collect(),
            concurrency: app.config.sync.concurrency,
        });
    }

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let mut scheduler = None;
    if (!app.config.tenants.is_empty() || app.config.app.is_some()) && !every.is_zero() {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let names = app.config.tenants.iter().map(|t| t.name.clone()).collect();
        state = state.with_sync_trigger(tx, names);
        let jobs = Jobs {
            store: store.clone(),
            graph: sync::graph_client(&app.config.sync)?,
            tenants: app.config.tenants.clone(),
            app: app.config.app.clone(),
            settings: app.config.sync.clone(),
            triage: app.config.triage.clone(),
            thresholds: app.config.notify.thresholds,
            comms_templates: crate::commands::notify::comms_setup(app)?.templates,
            every,
            grace: Duration::from_secs(20),
            clock: Arc::new(|| {
                app::now().unwrap_or_else(|_| changedesk_core::Timestamp::now_utc())
            }),
        };
        scheduler = Some(tokio::spawn(jobs.run(rx, shutdown_rx.clone())));
    } else {
        tracing::info!("no scheduled syncs (no tenants configured, or --sync-every 0)");
    }

    // the outbox: events fanned out to channels and sent, every second
    let outbox = {
        let o = crate::commands::notify::outbox(app, &store)?;
        let clock: Arc<dyn Fn() -> changedesk_core::Timestamp + Send + Sync> =
            Arc::new(|| app::now().unwrap_or_else(|_| changedesk_core::Timestamp::now_utc()));
        tokio::spawn(o.run(Duration::from_secs(1), clock, shutdown_rx.clone()))
    };

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let metrics_here = args.metrics_listen.is_none();
    if let Some(addr) = &args.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        let router = http::metrics_router(state.clone());
        let mut rx = shutdown_rx.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        });
        eprintln!("metrics on http://{addr}/metrics");
    }
    eprintln!(
        "changedesk serving on http://{} (API under /api/v1, OpenAPI at /api/openapi.json); Ctrl-C stops it",
        listener.local_addr()?
    );
    let router = http::router(state.clone(), metrics_here);
    let ready = state.clone();
    let tx = shutdown_tx.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        stop_signal().await;
        eprintln!("stopping: finishing requests and the running sync");
        ready.set_ready(false);
        let _ = tx.send(true);
    })
    .await
    .context("the server stopped with an error")?;
    let _ = shutdown_tx.send(true);
    if let Some(s) = scheduler {
        let _ = s.await;
    }
    let _ = outbox.await;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A duration flag's value (`--sync-every`, `--cache-ttl`): a duration such
/// as `15m` or `1h`; `0` (or any zero duration) is zero, which turns the
/// flag's feature off.
fn duration_arg(flag: &str, s: &str) -> Result<Duration> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let every = changedesk_core::duration::parse_duration(s).map_err(|e| anyhow!("{flag}: {e}"))?;
    Duration::try_from(every).map_err(|_| anyhow!("{flag} must not be negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_flags_read_durations_and_zero_turns_them_off() {
        let sync_every = |s| duration_arg("--sync-every", s);
        assert_eq!(sync_every("0").unwrap(), Duration::ZERO);
        assert_eq!(sync_every(" 0 ").unwrap(), Duration::ZERO);
        assert_eq!(sync_every("0m").unwrap(), Duration::ZERO);
        assert_eq!(sync_every("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(sync_every("1h30m").unwrap(), Duration::from_secs(5400));
        let e = sync_every("soon").unwrap_err().to_string();
        assert!(e.starts_with("--sync-every:"), "{e}");
        assert!(sync_every("").is_err());
        assert_eq!(
            duration_arg("--cache-ttl", "2s").unwrap(),
            Duration::from_secs(2)
        );
        let e = duration_arg("--cache-ttl", "-1s").unwrap_err().to_string();
        assert!(e.starts_with("--cache-ttl"), "{e}");
    }
}
