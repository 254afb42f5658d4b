//! The HTTP simulator of Microsoft Graph's service communications API and
//! the Entra ID token endpoint. See the crate documentation for what it
//! serves; this module holds the configuration, the handle and the shared
//! state.

mod auth;
mod consent;
mod control;
mod graph;
mod mail;
mod oidc;
mod planner;
mod roadmap;
mod views;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::generate::{Corpus, CorpusSpec, advance, generate, tenant_guid, tenant_name};
use auth::{AppRoles, RegisteredCert};
use views::Snapshot;

pub use graph::{SERVICE_HEALTH_READ_ALL, SERVICE_MESSAGE_READ_ALL};
pub use mail::{
    DEFAULT_APP_ROLES, MAIL_SEND, MAX_MAIL_RECIPIENTS, MAX_SEND_MAIL_BYTES, MailAddress, MailFault,
    MailHeader, MailLimits, SENT_MAIL_CAPACITY, SentMail, SimMailUser,
};
pub use oidc::{
    GROUPS_OVERAGE_LIMIT, IdTokenFault, MemberObjectsFault, OIDC_SIGNING_KEY_PEM, OTHER_CLIENT_ID,
    SimUser, derived_oid,
};
pub use planner::{
    MAX_ASSIGNEES_PER_TASK, MAX_BUCKETS_PER_PLAN, MAX_CHECKLIST_ITEMS_PER_TASK,
    MAX_PLANNER_BODY_BYTES, MAX_PLANS_PER_GROUP, MAX_REFERENCES_PER_TASK, MAX_TASKS_PER_PLAN,
    PLANNER_GROUP_LOCAL_PART, PLANNER_LOG_CAPACITY, PLANNER_PAGE_SIZE, PLANNER_PLAN_TITLE,
    PlannerRequest, SimPlannerPlan, TASKS_READ_ALL, TASKS_READ_WRITE_ALL,
};
pub use roadmap::{ROADMAP_LOG_CAPACITY, ROADMAP_PATH, RoadmapRequest};

/// The application (client) id of the simulator's one multi-tenant app
/// registration. Every simulated tenant has consented to it, unless
/// [`SimConfig::unconsented`] (then admin consent grants it:
/// `/{tenant}/v2.0/adminconsent`, [`SimHandle::set_consented`]).
pub const SIM_CLIENT_ID: &str = "5c1d3a4e-7b2f-4e8a-9c61-0d2f8b7a4e13";

/// The client secret of [`SIM_CLIENT_ID`]. A test constant: it
/// authenticates against the simulator only.
pub const SIM_CLIENT_SECRET: &str = "sim8Q~changedesk.simulator-secret_0001";

/// The certificate the simulator registers for [`SIM_CLIENT_ID`] by default
/// (`testdata/test-app.crt.pem`, RSA 2048, self-signed, valid until 2126).
pub const TEST_APP_CERTIFICATE_PEM: &str = include_str!("../../testdata/test-app.crt.pem");

/// The PKCS#8 private key of [`TEST_APP_CERTIFICATE_PEM`], for clients and
/// tests that sign client assertions. Test-only: it is published.
pub const TEST_APP_PRIVATE_KEY_PEM: &str = include_str!("../../testdata/test-app.key.pem");

/// The most requests kept in the request log; older ones are dropped.
pub const REQUEST_LOG_CAPACITY: usize = 100_000;

/// How the simulator is set up. [`Default`]: three tenants, 200 posts and 20
/// issues, no faults, Graph's documented throttling limits, the test-app
/// certificate, listening on an ephemeral loopback port.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free one (see [`SimHandle::base_url`]).
    pub listen: SocketAddr,
    /// Number of tenants, named [`tenant_name`]`(0..tenants)` with directory
    /// ids [`tenant_guid`]`(t)`.
    pub tenants: usize,
    /// The generated corpus (its `tenants` field is informational and set
    /// to [`SimConfig::tenants`]).
    pub spec: CorpusSpec,
    /// When set, these `serviceUpdateMessage` items are served to every
    /// tenant instead of the generated posts (issues and health still come
    /// from the generated corpus).
    pub corpus_file_items: Option<Vec<Value>>,
    /// Injected faults; changeable at run time.
    pub faults: Faults,
    /// Throttling limits per app per tenant; changeable at run time.
    pub limits: Limits,
    /// PEM of the certificate registered for [`SIM_CLIENT_ID`].
    pub certificate_pem: String,
    /// Seed of the fault dice.
    pub seed: u64,
    /// The app roles (application permissions) every tenant grants
    /// [`SIM_CLIENT_ID`] with admin consent (at start, or when it
    /// consents): by default [`DEFAULT_APP_ROLES`] (the
    /// service-communications reads and [`MAIL_SEND`]). Changeable per
    /// tenant at run time ([`SimHandle::revoke_app_role`],
    /// `/_sim/tenants/{name}/roles`).
    pub app_roles: Vec<String>,
    /// When true, no tenant has consented to [`SIM_CLIENT_ID`] at start:
    /// the token endpoint answers AADSTS700016 until admin consent
    /// (`GET /{tenant}/v2.0/adminconsent`, [`SimHandle::set_consented`]).
    pub unconsented: bool,
    /// Local parts of the users with an Exchange Online mailbox in every
    /// tenant, for `sendMail`: by default `changedesk`, so each tenant has
    /// `changedesk@tenant-00N.onmicrosoft.com`. More at run time
    /// ([`SimHandle::set_mail_user`], `/_sim/tenants/{name}/users`).
    pub mailboxes: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            tenants: 3,
            spec: CorpusSpec {
                posts: 200,
                issues: 20,
                ..CorpusSpec::default()
            },
            corpus_file_items: None,
            faults: Faults::default(),
            limits: Limits::default(),
            certificate_pem: TEST_APP_CERTIFICATE_PEM.to_owned(),
            seed: 1,
            app_roles: DEFAULT_APP_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            unconsented: false,
            mailboxes: vec!["changedesk".to_owned()],
        }
    }
}

/// Injected faults. Probabilities are per Graph request, drawn from a RNG
/// seeded with [`SimConfig::seed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability of a `429 TooManyRequests` with `Retry-After:
    /// retry_after_secs`.
    pub fault_429: f64,
    /// The `Retry-After` of an injected 429, in seconds (written like
    /// `0.05`).
    pub retry_after_secs: f64,
    /// Probability of a `503 serviceNotAvailable` (without `Retry-After`).
    pub fault_503: f64,
    /// Delay added to every Graph response.
    pub latency_ms: u64,
    /// Probability that a page body is cut short mid-JSON (with a
    /// `Content-Length` that matches the cut body).
    pub truncate: f64,
    /// `expires_in` of issued access tokens.
    pub token_lifetime_secs: u64,
    /// What a listing does with `$select` (Graph documents none on these
    /// collections): `honour` it, `ignore` it (whole items), or `refuse` it
    /// (400).
    pub select: SelectMode,
}

/// How the simulator treats `$select` on a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectMode {
    /// Only the selected properties (unknown ones are a 400, as in Graph).
    #[default]
    Honour,
    /// Whole items, as if `$select` were not there.
    Ignore,
    /// `400 BadRequest`.
    Refuse,
}

impl std::str::FromStr for SelectMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "honour" | "honor" => Ok(SelectMode::Honour),
            "ignore" => Ok(SelectMode::Ignore),
            "refuse" => Ok(SelectMode::Refuse),
            other => Err(format!("`{other}` is not honour, ignore or refuse")),
        }
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fault_429: 0.0,
            retry_after_secs: 0.05,
            fault_503: 0.0,
            latency_ms: 0,
            truncate: 0.0,
            token_lifetime_secs: 3599,
            select: SelectMode::Honour,
        }
    }
}

impl Faults {
    fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("fault_429", self.fault_429),
            ("fault_503", self.fault_503),
            ("truncate", self.truncate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be a probability in [0, 1], not {p}"));
            }
        }
        if !self.retry_after_secs.is_finite() || self.retry_after_secs < 0.0 {
            return Err(format!(
                "retry_after_secs must be a non-negative number, not {}",
                self.retry_after_secs
            ));
        }
        Ok(())
    }
}

/// Throttling limits per app per tenant over a sliding window. Graph's
/// documented limits for `/admin/serviceAnnouncement/*` are the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Requests admitted per 60 seconds.
    pub per_minute: u32,
    /// Requests admitted per hour.
    pub per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_minute: 240,
            per_hour: 800,
        }
    }
}

/// How one tenant behaves; settable at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TenantMode {
    /// Behaves like a healthy tenant.
    #[default]
    #[serde(rename = "normal")]
    Normal,
    /// Every Graph request for the tenant fails with `503
    /// serviceNotAvailable`.
    #[serde(rename = "endless_503")]
    Endless503,
    /// Graph answers every request `403 Authorization_RequestDenied`, as
    /// when the app's permissions were revoked, while tokens are still
    /// issued. (Withdrawn consent itself, which stops the token endpoint,
    /// is [`SimHandle::set_consented`].)
    #[serde(rename = "consent_revoked")]
    ConsentRevoked,
    /// The app's secret was rotated: secret requests fail with AADSTS7000215
    /// (certificate assertions still work).
    #[serde(rename = "bad_secret")]
    BadSecret,
    /// The tenant was deleted: the token endpoint answers AADSTS90002.
    #[serde(rename = "not_found")]
    NotFound,
}

impl TenantMode {
    /// The wire name (`normal`, `endless_503`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TenantMode::Normal => "normal",
            TenantMode::Endless503 => "endless_503",
            TenantMode::ConsentRevoked => "consent_revoked",
            TenantMode::BadSecret => "bad_secret",
            TenantMode::NotFound => "not_found",
        }
    }
}

impl std::str::FromStr for TenantMode {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, SimError> {
        [
            TenantMode::Normal,
            TenantMode::Endless503,
            TenantMode::ConsentRevoked,
            TenantMode::BadSecret,
            TenantMode::NotFound,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| SimError::UnknownMode(s.to_owned()))
    }
}

/// One simulated tenant and the credentials to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimTenant {
    /// `tenant-001`, ... (also accepted in the token endpoint path).
    pub name: String,
    /// The directory (tenant) id, a GUID.
    pub tenant_id: String,
    /// `tenant-001.onmicrosoft.com`, ... (also accepted in the token path).
    pub domain: String,
    /// [`SIM_CLIENT_ID`].
    pub client_id: String,
    /// [`SIM_CLIENT_SECRET`].
    pub client_secret: String,
    /// Whether the tenant has consented to [`SIM_CLIENT_ID`] (when it has
    /// not, the token endpoint answers AADSTS700016).
    pub consented: bool,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// 1, 2, ... in order of completion.
    pub seq: u64,
    /// The tenant's name, when the request named a known tenant (token
    /// endpoint) or carried a valid token (Graph).
    pub tenant: Option<String>,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, as sent.
    pub path: String,
    /// The query string, percent-decoded (`$filter=lastModifiedDateTime ge
    /// ...&$skiptoken=...`); empty when there is none.
    pub query: String,
    /// The `Prefer` header, if any.
    pub prefer: Option<String>,
    /// The response status.
    pub status: u16,
    /// The response body length in bytes.
    pub bytes: u64,
}

/// Why the simulator could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The configured certificate is not a PEM X.509 certificate with an RSA
    /// key.
    #[error("the simulator's certificate is not usable: {0}")]
    Certificate(String),
    /// No tenant has that name, domain or id.
    #[error("unknown tenant `{0}`")]
    UnknownTenant(String),
    /// Not one of `normal`, `endless_503`, `consent_revoked`, `bad_secret`,
    /// `not_found`.
    #[error(
        "unknown tenant mode `{0}`: expected normal, endless_503, consent_revoked, bad_secret or not_found"
    )]
    UnknownMode(String),
    /// A listing that is neither a JSON array nor an object with a `value`
    /// array.
    #[error("not a Graph listing: {0}")]
    Listing(String),
    /// A fault setting out of range.
    #[error("invalid faults: {0}")]
    Faults(String),
    /// A setting of the mock OpenID Connect provider that is not usable.
    #[error("OpenID Connect provider: {0}")]
    Oidc(String),
    /// A `sendMail` setting that is not usable (a user, a fault).
    #[error("mail: {0}")]
    Mail(String),
    /// A Planner edit or setting the simulator refused (an unknown task, a
    /// patch Graph would refuse, a plan over the bound).
    #[error("planner: {0}")]
    Planner(String),
}

/// The items of a Graph listing: a raw JSON array, or an object with a
/// `value` array (one page as Graph returns it).
pub fn listing_items(json: &[u8]) -> Result<Vec<Value>, SimError> {
    let value: Value =
        serde_json::from_slice(json).map_err(|e| SimError::Listing(e.to_string()))?;
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => match map.remove("value") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(SimError::Listing(
                "an object without a `value` array".to_owned(),
            )),
        },
        _ => Err(SimError::Listing(
            "expected an array or an object with a `value` array".to_owned(),
        )),
    }
}

pub(crate) struct TenantInfo {
    pub name: String,
    pub guid: String,
    pub domain: String,
}

/// What the request handlers change under one lock.
pub(crate) struct Control {
    pub faults: Faults,
    pub limits: Limits,
    pub modes: Vec<TenantMode>,
    pub rng: ChaCha8Rng,
    /// Admission times of the last hour, per tenant, oldest first.
    pub admitted: Vec<VecDeque<Instant>>,
}

pub(crate) struct IssuedToken {
    pub tenant: usize,
    pub expires: Instant,
    /// The app roles granted when it was issued.
    pub roles: Arc<BTreeSet<String>>,
}

#[derive(Default)]
struct Log {
    next_seq: u64,
    entries: VecDeque<LoggedRequest>,
}

pub(crate) struct Shared {
    pub base_url: String,
    pub tenants: Vec<TenantInfo>,
    lookup: HashMap<String, usize>,
    pub cert: RegisteredCert,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serializes corpus changes (they compute outside the snapshot lock).
    corpus_update: Mutex<()>,
    pub control: Mutex<Control>,
    pub tokens: Mutex<HashMap<String, IssuedToken>>,
    log: Mutex<Log>,
    /// The mock Entra ID OpenID Connect provider.
    pub oidc: oidc::OidcState,
    /// Each tenant's consent to the app and the app roles it grants.
    pub app_roles: AppRoles,
    /// `sendMail`: users, limits, scripted faults, accepted messages.
    pub mail: mail::MailState,
    /// Planner: each tenant's group, plans, buckets, tasks; faults; its
    /// request log.
    pub planner: planner::PlannerState,
    /// The public roadmap feed: items put in the corpus's place, faults,
    /// its request log.
    pub(crate) roadmap: roadmap::RoadmapState,
}

/// Locks a mutex, ignoring poisoning: every critical section leaves the
/// state consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The tenant with this directory id, name or `name.onmicrosoft.com`
    /// domain (case-insensitive).
    pub fn resolve(&self, key: &str) -> Option<usize> {
        self.lookup.get(&key.to_ascii_lowercase()).copied()
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn mode(&self, t: usize) -> TenantMode {
        lock(&self.control).modes[t]
    }

    fn update_corpus(&self, f: impl FnOnce(&Snapshot) -> (Arc<Corpus>, Option<Arc<Vec<Value>>>)) {
        let _serial = lock(&self.corpus_update);
        let current = self.snapshot();
        let (corpus, file_items) = f(&current);
        let next = Snapshot::new(current.version + 1, corpus, file_items, self.tenants.len());
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
    }

    pub fn advance(&self, days: u32, seed: u64) -> Arc<Snapshot> {
        self.update_corpus(|s| {
            (
                Arc::new(advance(&s.corpus, days, seed)),
                s.file_items.clone(),
            )
        });
        self.snapshot()
    }

    pub fn replace_corpus(&self, corpus: Corpus) {
        self.update_corpus(|_| (Arc::new(corpus), None));
    }

    pub fn set_corpus_file_items(&self, items: Vec<Value>) {
        self.update_corpus(|s| (Arc::clone(&s.corpus), Some(Arc::new(items))));
    }

    pub fn set_mode(&self, tenant: &str, mode: TenantMode) -> Result<(), SimError> {
        let t = self
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        lock(&self.control).modes[t] = mode;
        Ok(())
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), SimError> {
        faults.validate().map_err(SimError::Faults)?;
        lock(&self.control).faults = faults;
        Ok(())
    }

    pub fn sim_tenants(&self) -> Vec<SimTenant> {
        self.tenants
            .iter()
            .enumerate()
            .map(|(i, t)| SimTenant {
                name: t.name.clone(),
                tenant_id: t.guid.clone(),
                domain: t.domain.clone(),
                client_id: SIM_CLIENT_ID.to_owned(),
                client_secret: SIM_CLIENT_SECRET.to_owned(),
                consented: self.app_roles.consented(i),
            })
            .collect()
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).entries.iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.log).entries.clear();
    }

    fn record(&self, mut entry: LoggedRequest) {
        let mut log = lock(&self.log);
        log.next_seq += 1;
        entry.seq = log.next_seq;
        if log.entries.len() >= REQUEST_LOG_CAPACITY {
            log.entries.pop_front();
        }
        log.entries.push_back(entry);
    }

    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in lock(&self.tokens).values_mut() {
            token.expires = token.expires.min(now);
        }
        self.oidc.expire_user_tokens();
    }

    pub fn reset_throttling(&self) {
        for q in &mut lock(&self.control).admitted {
            q.clear();
        }
    }
}

/// A running simulator. Dropping it stops the server too (without waiting);
/// [`SimHandle::shutdown`] stops it and waits.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT/`, with the trailing slash: both the login
    /// URL and the Graph URL of every tenant. An unspecified listen address
    /// (`0.0.0.0`, `::`) is given as the loopback address.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The tenants and their credentials.
    pub fn tenants(&self) -> Vec<SimTenant> {
        self.shared.sim_tenants()
    }

    /// Stops accepting connections, finishes the requests in flight and
    /// waits for the server task.
    pub async fn shutdown(mut self) {
        self.shared.planner.stop();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// The roadmap items the feed serves now (the corpus's, or those put
    /// in their place).
    pub fn roadmap_items(&self) -> Vec<Value> {
        roadmap::served(&self.shared).to_vec()
    }

    /// Serves these roadmap items instead of the corpus's (`None`: the
    /// corpus's again).
    pub fn set_roadmap_items(&self, items: Option<Vec<Value>>) {
        self.shared.roadmap.replace(items);
    }

    /// The roadmap feed's next `count` answers are `status` (400 to 599).
    pub fn roadmap_fault(&self, status: u16, count: u32) {
        self.shared.roadmap.fault(status, count);
    }

    /// The roadmap feed's requests, oldest first.
    pub fn roadmap_requests(&self) -> Vec<RoadmapRequest> {
        self.shared.roadmap.requests()
    }

    /// Lets `days` pass in the generated corpus ([`crate::advance`]); a
    /// corpus file, if one is served, stays as it is.
    pub fn advance(&self, days: u32, seed: u64) {
        self.shared.advance(days, seed);
    }

    /// Serves this generated corpus from now on (dropping corpus-file
    /// items, if any).
    pub fn replace_corpus(&self, corpus: Corpus) {
        self.shared.replace_corpus(corpus);
    }

    /// Serves these `serviceUpdateMessage` items to every tenant instead of
    /// the generated posts.
    pub fn set_corpus_file_items(&self, items: Vec<Value>) {
        self.shared.set_corpus_file_items(items);
    }

    /// The generated corpus currently behind issues, health and (unless a
    /// corpus file is served) messages.
    pub fn corpus(&self) -> Arc<Corpus> {
        Arc::clone(&self.shared.snapshot().corpus)
    }

    /// The corpus version: 1 at start, one more after each change.
    pub fn corpus_version(&self) -> u64 {
        self.shared.snapshot().version
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.control).faults.clone()
    }

    /// Replaces the faults; an out-of-range probability is refused.
    pub fn set_faults(&self, faults: Faults) -> Result<(), SimError> {
        self.shared.set_faults(faults)
    }

    /// The throttling limits in force.
    pub fn limits(&self) -> Limits {
        lock(&self.shared.control).limits
    }

    /// Replaces the throttling limits (the admission history is kept).
    pub fn set_limits(&self, limits: Limits) {
        lock(&self.shared.control).limits = limits;
    }

    /// Forgets every tenant's admission history, so no one is throttled.
    pub fn reset_throttling(&self) {
        self.shared.reset_throttling();
    }

    /// Sets a tenant's mode; the tenant is named by name, domain or id.
    pub fn set_tenant_mode(&self, tenant: &str, mode: TenantMode) -> Result<(), SimError> {
        self.shared.set_mode(tenant, mode)
    }

    /// A tenant's mode.
    pub fn tenant_mode(&self, tenant: &str) -> Option<TenantMode> {
        self.shared.resolve(tenant).map(|t| self.shared.mode(t))
    }

    /// Makes every access token issued so far expired (the app's and the
    /// users' delegated ones).
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// The request log (control requests under `/_sim/` are not logged).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.requests()
    }

    /// Empties the request log (sequence numbers go on).
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// The issuer of a tenant's ID tokens, `{base_url}{tenant id}/v2.0`
    /// (the OpenID Connect authority: discovery is under it), or `None` for
    /// an unknown tenant (named by name, domain or id).
    pub fn oidc_issuer(&self, tenant: &str) -> Option<String> {
        let t = self.shared.resolve(tenant)?;
        Some(oidc::issuer(
            &self.shared.base_url,
            &self.shared.tenants[t].guid,
        ))
    }

    /// The simulated users of the OpenID Connect provider; the first signs
    /// in when the authorization request names none (`login_hint`).
    pub fn oidc_users(&self) -> Vec<SimUser> {
        self.shared.oidc.users()
    }

    /// Replaces the simulated users (an empty `oid` is derived from the
    /// username; a non-GUID `oid` or an empty username is refused).
    pub fn oidc_set_users(&self, users: Vec<SimUser>) -> Result<(), SimError> {
        self.shared.oidc.set_users(users)
    }

    /// What goes wrong with the next ID token issued (then cleared).
    pub fn oidc_set_fault(&self, fault: Option<IdTokenFault>) {
        self.shared.oidc.set_fault(fault);
    }

    /// The fault waiting for the next ID token, if any.
    pub fn oidc_fault(&self) -> Option<IdTokenFault> {
        self.shared.oidc.fault()
    }

    /// What goes wrong with the next `POST /v1.0/me/getMemberObjects`
    /// (then cleared).
    pub fn oidc_set_member_objects_fault(&self, fault: Option<MemberObjectsFault>) {
        self.shared.oidc.set_member_objects_fault(fault);
    }

    /// The fault waiting for the next `getMemberObjects`, if any.
    pub fn oidc_member_objects_fault(&self) -> Option<MemberObjectsFault> {
        self.shared.oidc.member_objects_fault()
    }

    /// The app's registered redirect URIs; with none, any loopback `http`
    /// URI is accepted.
    pub fn oidc_set_redirect_uris(&self, uris: Vec<String>) -> Result<(), SimError> {
        self.shared.oidc.set_redirect_uris(uris)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.planner.stop();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn display_addr(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port()).to_string()
}

/// Starts the simulator: generates the corpus, binds `config.listen` and
/// serves in a tokio task until [`SimHandle::shutdown`] (or the handle is
/// dropped).
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    config.faults.validate().map_err(SimError::Faults)?;
    let cert = RegisteredCert::from_pem(&config.certificate_pem)?;
    let oidc = oidc::OidcState::new()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: config.listen,
        source,
    })?;
    let spec = CorpusSpec {
        tenants: config.tenants,
        ..config.spec.clone()
    };
    let corpus = tokio::task::spawn_blocking(move || generate(&spec))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    let tenants: Vec<TenantInfo> = (0..config.tenants)
        .map(|t| {
            let name = tenant_name(t);
            TenantInfo {
                guid: tenant_guid(t),
                domain: format!("{name}.onmicrosoft.com"),
                name,
            }
        })
        .collect();
    let mut lookup = HashMap::new();
    for (t, info) in tenants.iter().enumerate() {
        lookup.insert(info.guid.to_ascii_lowercase(), t);
        lookup.insert(info.name.to_ascii_lowercase(), t);
        lookup.insert(info.domain.to_ascii_lowercase(), t);
    }
    let file_items = config.corpus_file_items.map(Arc::new);
    let domains: Vec<String> = tenants.iter().map(|t| t.domain.clone()).collect();
    let planner = planner::PlannerState::new(&tenants);
    let shared = Arc::new(Shared {
        app_roles: AppRoles::new(tenants.len(), &config.app_roles, config.unconsented),
        mail: mail::MailState::new(&domains, &config.mailboxes),
        planner,
        roadmap: roadmap::RoadmapState::default(),
        base_url: format!("http://{}/", display_addr(addr)),
        snapshot: RwLock::new(Arc::new(Snapshot::new(
            1,
            Arc::new(corpus),
            file_items,
            tenants.len(),
        ))),
        control: Mutex::new(Control {
            faults: config.faults,
            limits: config.limits,
            modes: vec![TenantMode::Normal; tenants.len()],
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            admitted: vec![VecDeque::new(); tenants.len()],
        }),
        tenants,
        lookup,
        cert,
        corpus_update: Mutex::new(()),
        tokens: Mutex::new(HashMap::new()),
        log: Mutex::new(Log::default()),
        oidc,
    });

    let app = router(Arc::clone(&shared));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!("simulator server failed: {e}");
        }
    });
    tracing::debug!(base_url = %shared.base_url, "simulator listening");
    Ok(SimHandle {
        shared,
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

fn router(shared: Arc<Shared>) -> Router {
    let sim = Router::new()
        .route("/_sim/tenants", get(control::tenants))
        .route("/_sim/advance", post(control::advance))
        .route(
            "/_sim/faults",
            get(control::get_faults).put(control::put_faults),
        )
        .route(
            "/_sim/limits",
            get(control::get_limits).put(control::put_limits),
        )
        .route("/_sim/tenants/{tenant}/mode", put(control::put_mode))
        .route(
            "/_sim/tenants/{tenant}/roles",
            get(control::get_roles).put(control::put_roles),
        )
        .route(
            "/_sim/tenants/{tenant}/roles/{role}",
            put(control::grant_role).delete(control::revoke_role),
        )
        .route(
            "/_sim/tenants/{tenant}/consent",
            get(control::get_consent).put(control::put_consent),
        )
        .route("/_sim/consent/decline-next", post(control::decline_next))
        .route("/_sim/tenants/{tenant}/users", get(mail::get_users))
        .route(
            "/_sim/tenants/{tenant}/users/{address}",
            put(mail::put_user).delete(mail::delete_user),
        )
        .route("/_sim/mail", get(mail::get_mail).delete(mail::delete_mail))
        .route(
            "/_sim/mail/limits",
            get(mail::get_limits).put(mail::put_limits),
        )
        .route(
            "/_sim/mail/faults",
            get(mail::get_faults).put(mail::put_faults),
        )
        .route(
            "/_sim/corpus",
            get(control::get_corpus)
                .put(control::put_corpus)
                .layer(DefaultBodyLimit::max(1 << 30)),
        )
        .route(
            "/_sim/requests",
            get(control::get_requests).delete(control::delete_requests),
        )
        .route("/_sim/expire-tokens", post(control::expire_tokens))
        .route("/_sim/reset-throttling", post(control::reset_throttling))
        .route("/_sim/oidc", get(oidc::get_state))
        .route("/_sim/oidc/users", put(oidc::put_users))
        .route("/_sim/oidc/fault", put(oidc::put_fault))
        .route(
            "/_sim/oidc/member-objects-fault",
            put(oidc::put_member_objects_fault),
        )
        .route("/_sim/oidc/redirect-uris", put(oidc::put_redirect_uris))
        .route("/_sim/planner", get(planner::get_state))
        .route(
            "/_sim/planner/tasks/{id}",
            patch(planner::person_edit_task).delete(planner::person_delete_task),
        )
        .route(
            "/_sim/planner/tasks/{id}/details",
            patch(planner::person_edit_details),
        )
        .route(
            "/_sim/planner/faults",
            get(planner::get_faults)
                .post(planner::post_faults)
                .delete(planner::delete_faults),
        )
        .route("/_sim/planner/page-size", put(planner::put_page_size))
        .route("/_sim/planner/plans", post(planner::post_plan))
        .route(
            "/_sim/planner/requests",
            get(planner::get_requests).delete(planner::delete_requests),
        )
        .route(
            "/_sim/roadmap",
            get(roadmap::get_items)
                .put(roadmap::put_items)
                .delete(roadmap::delete_items)
                .layer(DefaultBodyLimit::max(64 << 20)),
        )
        .route("/_sim/roadmap/fault", put(roadmap::put_fault))
        .route(
            "/_sim/roadmap/requests",
            get(roadmap::get_requests).delete(roadmap::delete_requests),
        );
    Router::new()
        // the client-credentials grant is auth's, authorization_code oidc's
        .route("/{tenant}/oauth2/v2.0/token", post(oidc::token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(oidc::discovery),
        )
        .route("/{tenant}/oauth2/v2.0/authorize", get(oidc::authorize))
        .route("/{tenant}/v2.0/adminconsent", get(consent::admin_consent))
        .route("/{tenant}/discovery/v2.0/keys", get(oidc::keys))
        .route(
            "/v1.0/admin/serviceAnnouncement/{collection}",
            get(graph::list),
        )
        // the public roadmap: no auth (a different host in real life)
        .route(roadmap::ROADMAP_PATH, get(roadmap::feed))
        .route(
            "/v1.0/admin/serviceAnnouncement/{collection}/{id}",
            get(graph::get_one),
        )
        // delegated: the signed-in user's groups (groups overage)
        .route("/v1.0/me/getMemberObjects", post(oidc::member_objects))
        // application: Mail.Send (the body is read, up to 4 MB, by the handler)
        .route(
            "/v1.0/users/{user}/{action}",
            post(mail::send_mail).fallback(graph::fallback),
        )
        .route(
            "/v1.0/me/sendMail",
            post(mail::send_mail_me).fallback(graph::fallback),
        )
        // application: Tasks.ReadWrite.All (bodies read, up to 1 MB, by the handlers)
        .route(
            "/v1.0/groups/{group}/planner/plans",
            get(planner::group_plans).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/plans/{plan}",
            get(planner::get_plan).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/plans/{plan}/buckets",
            get(planner::list_buckets).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/plans/{plan}/tasks",
            get(planner::list_tasks).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/buckets",
            post(planner::create_bucket).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/buckets/{bucket}",
            get(planner::get_bucket).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/tasks",
            post(planner::create_task).fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/tasks/{id}",
            get(planner::get_task)
                .patch(planner::update_task)
                .delete(planner::delete_task)
                .fallback(graph::fallback),
        )
        .route(
            "/v1.0/planner/tasks/{id}/details",
            get(planner::get_details)
                .patch(planner::update_details)
                .fallback(graph::fallback),
        )
        .merge(sim)
        .fallback(graph::fallback)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            log_requests,
        ))
        .with_state(shared)
}

/// Set by handlers on a response to name the tenant in the request log.
#[derive(Clone)]
pub(crate) struct TenantTag(pub String);

async fn log_requests(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let query = req.uri().query().map(decode_query).unwrap_or_default();
    let prefer = req
        .headers()
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    let bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .unwrap_or(0);
    shared.record(LoggedRequest {
        seq: 0,
        tenant: response
            .extensions()
            .get::<TenantTag>()
            .map(|t| t.0.clone()),
        method,
        path,
        query,
        prefer,
        status: response.status().as_u16(),
        bytes,
    });
    response
}

/// A query string percent-decoded pair by pair (`+` as space, as forms
/// encode it), joined again with `&`.
fn decode_query(raw: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}
