//! The HTTP service: the REST API under `/api/v1` (described by the OpenAPI
//! document at `/api/openapi.json`), health and readiness probes, and
//! Prometheus metrics.
//!
//! Architecture invariant: this module is the only place that knows HTTP.
//! The API's JSON shapes are its own types (`dto`), mapped from the core's
//! and the store's, so those can change without breaking `/api/v1`.

pub mod auth;
pub mod cache;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod nul;
pub mod oidc;
pub(crate) mod routes;
pub mod sanitize;
pub mod tenant_cover;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use changedesk_core::Timestamp;
use changedesk_store::Store;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use auth::SecuritySchemes;
pub use auth::{Caller, hash_password, verify_password};
pub use error::{ApiError, ApiResult, Problem};

/// How the service behaves; the defaults suit a server behind HTTPS.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// And at the latest this long after sign-in.
    pub session_max: Duration,
    /// Cookies only over HTTPS (`Secure`). Off only for plain-HTTP
    /// development on loopback.
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account and client address in
    /// `sign_in_window` before further attempts from that address are
    /// refused; also the failures an account may have in a row before each
    /// further attempt waits ([`auth::account_delay`]).
    pub sign_in_attempts: u32,
    pub sign_in_window: Duration,
    /// Failed sign-ins allowed per client address across all accounts in
    /// `sign_in_window` (one address spraying guesses over many accounts).
    pub sign_in_client_attempts: u32,
    /// The longest an account's next sign-in waits after failures.
    pub sign_in_max_delay: Duration,
    /// `[triage] reopen`: what the rules' `test` and `simulate` apply.
    pub reopen: changedesk_core::triage::ReopenPolicy,
    /// `[notify]`'s thresholds, which the rules' `simulate` applies too.
    pub thresholds: changedesk_core::notify::Thresholds,
    /// The answer cache of the post list, search and facets
    /// ([`cache`]).
    pub cache: cache::CacheSettings,
    /// `[server] hash_concurrency`: password hashes computed at once (each
    /// Argon2id takes 19 MiB); `0`: twice the CPU cores. Beyond it a sign-in
    /// waits a moment, then is answered 503 with `Retry-After`.
    pub hash_concurrency: usize,
    /// `[server] trusted_proxies`: peers whose `X-Forwarded-For` names the
    /// client ([`extract::ClientIp`]).
    pub trusted_proxies: Vec<changedesk_core::config::IpRange>,
    /// `[analytics]`: the working days and SLA targets of the reports.
    pub analytics: changedesk_core::metrics::AnalyticsSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            session_idle: Duration::from_secs(8 * 3600),
            session_max: Duration::from_secs(7 * 24 * 3600),
            secure_cookies: true,
            sign_in_attempts: 5,
            sign_in_window: Duration::from_secs(300),
            sign_in_client_attempts: 30,
            sign_in_max_delay: Duration::from_secs(60),
            reopen: changedesk_core::triage::ReopenPolicy::default(),
            thresholds: changedesk_core::notify::Thresholds::default(),
            cache: cache::CacheSettings::default(),
            hash_concurrency: 0,
            trusted_proxies: Vec::new(),
            analytics: Default::default(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub settings: Settings,
    clock: Box<dyn Fn() -> Timestamp + Send + Sync>,
    /// Failed sign-ins per account and client address.
    pub limiter: auth::SignInLimiter,
    /// Failed sign-ins per client address, across accounts.
    pub client_limiter: auth::SignInLimiter,
    /// Permits to compute a password hash (see `Settings::hash_concurrency`).
    pub hashing: Arc<tokio::sync::Semaphore>,
    pub metrics: Option<metrics::Metrics>,
    ready: AtomicBool,
    /// Asks the scheduler to sync a tenant now (`None`: no scheduler runs).
    pub sync_now: Option<tokio::sync::mpsc::Sender<String>>,
    /// The configured tenants the scheduler syncs (these, and the syncable
    /// ones added to the database, can be asked for).
    pub scheduled: Vec<String>,
    /// The configured tenants' names (whether or not a scheduler runs).
    pub configured: Vec<String>,
    /// Tenants added to the database, reached through `[app]` (`None`: no
    /// `[app]` is configured).
    pub onboarding: Option<Arc<crate::onboard::Onboarding>>,
    /// OpenID Connect sign-in (`None`: not configured).
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// The answer cache (`None`: off).
    pub cache: cache::Shared,
    /// The key of sealed channel credentials (`None`: not configured;
    /// channels cannot be added).
    pub keyring: Option<Arc<changedesk_secrets::Keyring>>,
    /// What communications are made with (issue 21).
    pub comms: CommsSetup,
    /// The sessions whose sliding expiry is being written now (in the
    /// background: a request never waits for it, nor asks twice).
    pub session_touches: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// What communications are made with: the templates (`[notify]
/// templates_dir`'s overrides) and changedesk's public address for their
/// links (`[server] public_url`; else the request's host).
#[derive(Clone)]
pub struct CommsSetup {
    pub templates: Arc<changedesk_notify::render::Templates>,
    pub public_url: Option<String>,
}

impl Default for CommsSetup {
    fn default() -> CommsSetup {
        CommsSetup {
            templates: Arc::new(changedesk_notify::render::Templates::builtin()),
            public_url: None,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> AppState {
        AppState(Arc::new(Inner {
            store,
            limiter: auth::SignInLimiter::new(settings.sign_in_attempts, settings.sign_in_window),
            client_limiter: auth::SignInLimiter::new(
                settings.sign_in_client_attempts,
                settings.sign_in_window,
            ),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                match settings.hash_concurrency {
                    0 => 2 * std::thread::available_parallelism().map_or(1, usize::from),
                    n => n,
                },
            )),
            cache: cache::AnswerCache::new(settings.cache).map(Arc::new),
            settings,
            clock: Box::new(Timestamp::now_utc),
            metrics: None,
            ready: AtomicBool::new(true),
            sync_now: None,
            scheduled: Vec::new(),
            configured: Vec::new(),
            onboarding: None,
            oidc: None,
            keyring: None,
            comms: CommsSetup::default(),
            session_touches: Default::default(),
        }))
    }

    /// The same, reading the time from `clock` (tests, reproducible demos).
    pub fn with_clock(self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> AppState {
        self.map(|i| i.clock = Box::new(clock))
    }

    /// The same, recording request metrics.
    pub fn with_metrics(self, m: metrics::Metrics) -> AppState {
        self.map(|i| i.metrics = Some(m))
    }

    /// The same, able to trigger syncs through `tx`.
    pub fn with_sync_trigger(
        self,
        tx: tokio::sync::mpsc::Sender<String>,
        tenants: Vec<String>,
    ) -> AppState {
        self.map(|i| {
            i.sync_now = Some(tx);
            i.scheduled = tenants;
        })
    }

    /// The same, knowing which tenants the configuration names (the others
    /// are added to the database, or known only from the archive).
    pub fn with_configured_tenants(self, names: Vec<String>) -> AppState {
        self.map(|i| i.configured = names)
    }

    /// The same, adding tenants to the database and reaching them through
    /// the onboarding's app.
    pub fn with_onboarding(self, onboarding: crate::onboard::Onboarding) -> AppState {
        self.map(|i| i.onboarding = Some(Arc::new(onboarding)))
    }

    /// The same, offering OpenID Connect sign-in.
    pub fn with_oidc(self, oidc: oidc::Oidc) -> AppState {
        self.map(|i| i.oidc = Some(Arc::new(oidc)))
    }

    /// The same, able to seal channel credentials with `keyring`.
    pub fn with_keyring(self, keyring: Arc<changedesk_secrets::Keyring>) -> AppState {
        self.map(|i| i.keyring = Some(keyring))
    }

    /// The same, making communications with `setup`.
    pub fn with_comms(self, setup: CommsSetup) -> AppState {
        self.map(|i| i.comms = setup)
    }

    fn map(self, f: impl FnOnce(&mut Inner)) -> AppState {
        let mut inner = Arc::try_unwrap(self.0)
            .unwrap_or_else(|_| panic!("AppState is configured before it is shared"));
        f(&mut inner);
        AppState(Arc::new(inner))
    }

    /// The tenants this server knows: those in the archive and those
    /// configured (scheduled for sync, perhaps not synced yet).
    pub async fn known_tenants(&self) -> Result<Vec<String>, changedesk_store::StoreError> {
        let mut tenants = self.store.tenant_names().await?;
        tenants.extend(self.scheduled.iter().cloned());
        Ok(tenants)
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Readiness: false while shutting down (`/readyz` also answers 503
    /// while the database does not answer or cannot be written).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "changedesk API",
        description = "Service change management for Microsoft 365: the archive of Message Center posts and \
                       Service Health incidents, triage work items, owners, rules, tenants, users and the audit \
                       log. Authenticate with a session cookie (plus the `X-CSRF-Token` header on changes) or a \
                       personal API token as `Authorization: Bearer`. Errors are `application/problem+json`.",
        license(name = "AGPL-3.0-or-later")
    ),
    components(schemas(Problem)),
    modifiers(&SecuritySchemes),
    security(("session" = []), ("token" = []))
)]
struct ApiDoc;

/// The API's routes with their OpenAPI description.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    routes::all(OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts()
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// Every route of the service (the probes, and `/metrics` for admins
/// unless metrics have their own listener).
pub fn router(state: AppState, metrics_here: bool) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(api)
        .merge(crate::ui::router(state.clone()))
        .fallback(crate::ui::fallback);
    if metrics_here {
        app = app.route("/metrics", get(metrics::render_for_admins));
    }
    app.layer(axum::middleware::from_fn(nul::reject_nul))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        metrics::track,
    ))
    .layer(PropagateRequestIdLayer::x_request_id())
    .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()), request_id = %id)
    }))
    .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
    .with_state(state)
}

/// A request's path as the request log shows it: a feed's secret (its
/// credential, `/feeds/{secret}.ics`) left out.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/feeds/") {
        Some(file) => {
            let format = file.rsplit_once('.').map_or("", |(_, f)| f);
            std::borrow::Cow::Owned(format!("/feeds/….{format}"))
        }
        None => std::borrow::Cow::Borrowed(path),
    }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "not ready: the database does not answer");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer",
        )
            .into_response();
    }
    // after a write failed for want of space or an I/O error: ready again
    // once a write works (tried here, so that a server taken out of
    // rotation, which gets no writes, comes back)
    if state.store.write_failure().is_some()
        && let Err(e) = state.store.check_writes().await
    {
        tracing::warn!(error = %e, "not ready: the database cannot be written");
        let why = match e {
            changedesk_store::StoreError::Full(_) => {
                "the database cannot be written: its disk is full"
            }
            _ => "the database cannot be written; the details are in the server's log",
        };
        return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    }
    (StatusCode::OK, "ready").into_response()
}

/// `/metrics` alone, for a listener of its own.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(state)
}
