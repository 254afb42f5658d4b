//! The background jobs of `changedesk serve`: every tenant is synced on a
//! schedule (its first sync spread over the first interval, then every
//! interval with ±10 % jitter so a thousand tenants do not all ask Graph at
//! once), the rules run over what arrived, and overdue and missed items are
//! found (at most once a minute, [`SWEEP_EVERY`]). A sync can also be asked for now (`POST
//! /api/v1/tenants/{name}/sync`).
//!
//! Shutdown: a running sync gets a grace period to finish; after that it is
//! dropped, which is safe because each tenant's listings are stored in one
//! transaction (an abandoned tenant is simply synced again next time).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use changedesk_core::Timestamp;
use changedesk_core::config::{SyncSettings, TenantConfig, TriageConfig};
use changedesk_graph::GraphClient;
use changedesk_store::Store;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::sync::{Quiet, SyncRequest, sync_tenants};
use crate::triage::{Triage, apply_rules, sweep_deadlines};

/// What the scheduler needs.
/// How often the scheduler reads again which tenants were added to the
/// database.
pub const ROSTER_REFRESH: Duration = Duration::from_secs(30);

/// How often, at most, the deadline sweep runs after a round. Rounds follow
/// one another every few seconds when thousands of tenants are due through
/// the interval, and the sweep reads every open item (with an MSP's tenant
/// exceptions): once a minute finds every crossing (due dates and
/// deadlines are days) without holding the database between rounds.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct Jobs {
    pub store: Store,
    pub graph: GraphClient,
    /// The configured tenants.
    pub tenants: Vec<TenantConfig>,
    /// `[app]`, which reaches the tenants added to the database (read again
    /// every [`ROSTER_REFRESH`], and when a sync is asked for one not known).
    pub app: Option<changedesk_core::config::AppRegistration>,
    pub settings: SyncSettings,
    pub triage: TriageConfig,
    /// `[notify]`'s thresholds, which the rules apply.
    pub thresholds: changedesk_core::notify::Thresholds,
    /// The templates of the communications the rules ask for.
    pub comms_templates: Arc<changedesk_notify::render::Templates>,
    /// How often each tenant is synced.
    pub every: Duration,
    /// How long a running sync may go on after shutdown was asked.
    pub grace: Duration,
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl Jobs {
    /// Runs until `shutdown` turns true. `requests` names tenants to sync
    /// now.
    pub async fn run(
        self,
        mut requests: mpsc::Receiver<String>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let start = Instant::now();
        let mut roster = self.roster().await;
        let mut refreshed = start;
        // the first syncs are spread over the first interval
        let mut due: HashMap<String, Instant> = roster
            .iter()
            .map(|t| {
                let offset = self.every.mul_f64(rand::random_range(0.0..1.0));
                (t.name.clone(), start + offset.min(self.every))
            })
            .collect();
        tracing::info!(
            tenants = roster.len(),
            every_s = self.every.as_secs(),
            "scheduler started"
        );
        let mut requests_open = true;
        // when the deadline sweep last ran (`SWEEP_EVERY`)
        let mut swept: Option<Instant> = None;
        loop {
            let next = due
                .values()
                .min()
                .copied()
                .unwrap_or(start + self.every)
                .min(refreshed + ROSTER_REFRESH);
            let mut asked_for = None;
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                asked = requests.recv(), if requests_open => {
                    if let Some(name) = asked {
                        asked_for = Some(name);
                    } else {
                        // nobody can ask any more: stop listening
                        requests_open = false;
                    }
                }
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
            // tenants added to (or removed from) the database, or consented
            let unknown = asked_for.as_ref().is_some_and(|n| !due.contains_key(n));
            if self.app.is_some() && (unknown || refreshed.elapsed() >= ROSTER_REFRESH) {
                roster = self.roster().await;
                refreshed = Instant::now();
                due.retain(|name, _| roster.iter().any(|t| &t.name == name));
                for t in &roster {
                    // a new tenant is synced at once
                    due.entry(t.name.clone()).or_insert(refreshed);
                }
            }
            if let Some(name) = asked_for {
                if let Some(at) = due.get_mut(&name) {
                    *at = Instant::now();
                } else {
                    tracing::warn!(tenant = %name, "a sync was asked for a tenant that is not configured or cannot be synced");
                }
            }
            let now = Instant::now();
            let ready: Vec<TenantConfig> = roster
                .iter()
                .filter(|t| due.get(&t.name).is_some_and(|at| *at <= now))
                .cloned()
                .collect();
            if ready.is_empty() {
                continue;
            }
            for t in &ready {
                let jitter = self.every.mul_f64(rand::random_range(0.9..1.1));
                due.insert(t.name.clone(), now + jitter);
            }
            // a bug that panics in one round is reported and the scheduler
            // goes on with the next
            let work = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                self.round(&ready, &mut swept),
            ));
            tokio::pin!(work);
            tokio::select! {
                done = &mut work => {
                    if let Err(payload) = done {
                        let names: Vec<&str> = ready.iter().map(|t| t.name.as_str()).collect();
                        tracing::error!(tenants = ?names, error = %changedesk_store::failpoint::panic_text(&*payload),
                            "this round stopped on a bug; the next rounds go on");
                    }
                }
                _ = shutdown.changed() => {
                    tracing::info!(grace_s = self.grace.as_secs(), "shutting down: letting the running sync finish");
                    if tokio::time::timeout(self.grace, &mut work).await.is_err() {
                        tracing::warn!("the running sync was abandoned at shutdown; its tenants sync again at the next start");
                    }
                    break;
                }
            }
        }
        tracing::info!("scheduler stopped");
    }

    /// The tenants to sync: the configured ones, and those added to the
    /// database (through `[app]`). When the database cannot be read, the
    /// configured ones.
    async fn roster(&self) -> Vec<TenantConfig> {
        match crate::onboard::load_roster(&self.store, &self.tenants, self.app.as_ref()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the tenants added to the database; syncing the configured ones");
                self.tenants.clone()
            }
        }
    }

    /// One round: sync these tenants, then the rules and (when it did not
    /// run in the last [`SWEEP_EVERY`], `swept`) the deadline sweep.
    async fn round(&self, tenants: &[TenantConfig], swept: &mut Option<Instant>) {
        let now = (self.clock)();
        let request = SyncRequest {
            full: false,
            now,
            settings: self.settings.clone(),
            dry_run: false,
        };
        let outcomes =
            sync_tenants(&self.store, &self.graph, tenants, &request, Arc::new(Quiet)).await;
        for o in &outcomes {
            match &o.error {
                Some(e) => tracing::warn!(tenant = %o.tenant, error = %e, "sync failed"),
                None => tracing::info!(tenant = %o.tenant, "synced"),
            }
        }
        metrics::counter!("changedesk_syncs_total", "outcome" => "ok")
            .increment(outcomes.iter().filter(|o| o.error.is_none()).count() as u64);
        metrics::counter!("changedesk_syncs_total", "outcome" => "failed")
            .increment(outcomes.iter().filter(|o| o.error.is_some()).count() as u64);
        let triage = match Triage::load(&self.store, self.triage.reopen.clone()).await {
            Ok(t) => t
                .with_thresholds(self.thresholds)
                .with_comms_templates(self.comms_templates.clone()),
            Err(e) => {
                tracing::error!(error = %e, "cannot load the rules; triage skipped this round");
                return;
            }
        };
        match apply_rules(&self.store, &triage, now, false).await {
            Ok(s) => tracing::info!(
                evaluated = s.evaluated,
                created = s.created,
                reopened = s.reopened,
                failed = s.failed.len(),
                "rules applied"
            ),
            Err(e) => tracing::error!(error = %e, "the rules failed"),
        }
        if swept.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
            return;
        }
        *swept = Some(Instant::now());
        match sweep_deadlines(&self.store, &self.triage.missed, now).await {
            Ok(s) => tracing::info!(
                overdue = s.overdue,
                missed = s.missed,
                closed = s.closed.len(),
                "deadlines checked"
            ),
            Err(e) => tracing::error!(error = %e, "the deadline sweep failed"),
        }
    }
}
