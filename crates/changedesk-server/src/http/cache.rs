//! The answer cache of the busiest reads (the post list, search and facets,
//! and the inbox page's data).
//!
//! An inbox is read far more often than the archive changes: a team opens
//! the same first page, dashboards poll it. An answer is kept, as the JSON
//! bytes sent, under a key made of
//! - what the caller is allowed to see: the effective role and the resolved
//!   tenants (so an answer is only ever served to a caller whose rights are
//!   the same as those it was made for; the caller is authenticated on
//!   every request, before the cache is asked), and the user too when the
//!   answer depends on who they are ([`DependsOn::caller`], e.g.
//!   `assignee=me`): people with the same rights share the rest, so a team
//!   opening the same inbox makes it once;
//! - the viewer's time zone on the web UI (`ui::view::viewer_zone`): a kept
//!   value may hold instants formatted for people (`ui::view::when`), so
//!   it is made, and made again in the background, in the zone it is kept
//!   for, and served only to viewers in that zone (the API's answers have
//!   none: they are UTC);
//! - the request's path and query, as sent;
//! - the count of write transactions, in two parts: this process's own
//!   ([`Store::local_writes`](changedesk_store::Store::local_writes), known
//!   at once, so a caller always sees their own changes), and every
//!   process's ([`Store::archive_changes`](changedesk_store::Store::archive_changes),
//!   read at most every `poll`, default 250 ms, by one request at a time),
//!   so a `changedesk sync` run beside the server, or a second server on the
//!   same PostgreSQL database, is seen within that.
//!
//! An answer is served until a write moves either count, except one that
//! depends on the time (a filter on overdue or missed items): that one is
//! served at most `ttl` (default 30 s) after it was made.
//!
//! Concurrent requests for the same missing answer wait for one of them to
//! make it, instead of all asking the database. A timed answer asked for in
//! the second half of its life is made again in the background (one at a
//! time) while the kept one is still served, so a busy answer does not
//! expire under its readers.
//! Only successful answers are kept; the cache is bounded by the bytes it
//! holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use changedesk_core::access::{Role, Scope, TenantSet};
use changedesk_core::triage::TenantGroup;
use serde::Serialize;

use super::{ApiError, ApiResult, AppState, Caller};

/// The header telling whether an answer came from the cache (`hit`) or was
/// made for this request (`miss`).
pub const CACHE_HEADER: &str = "x-changedesk-cache";

/// How the answer cache is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Bytes of answers kept at most; 0 turns the cache off.
    pub bytes: u64,
    /// How long an answer that depends on the time is served at most.
    pub ttl: Duration,
    /// How often the archive's count of writes is read at most.
    pub poll: Duration,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings {
            bytes: 64 << 20,
            ttl: Duration::from_secs(30),
            poll: Duration::from_millis(250),
        }
    }
}

impl CacheSettings {
    /// No cache.
    pub fn off() -> CacheSettings {
        CacheSettings {
            bytes: 0,
            ..CacheSettings::default()
        }
    }
}

/// What an answer depends on besides the caller's rights (role and
/// tenants) and the request's path and query. A handler that uses anything
/// else of the caller (their name, their id) must say so with `caller`,
/// or its answers would be served to other people with the same rights.
#[derive(Debug, Clone, Copy, Default)]
pub struct DependsOn {
    /// The time (the deadline filters): kept at most the ttl.
    pub time: bool,
    /// Who the caller is (`assignee=me`): kept for them alone.
    pub caller: bool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    writes: i64,
    /// Only for an answer that depends on who the caller is.
    user: Option<i64>,
    role: Role,
    /// `None`: every tenant.
    tenants: Option<Vec<String>>,
    /// The viewer's time zone (`None`: UTC).
    zone: Option<String>,
    uri: String,
}

#[derive(Clone)]
struct Entry {
    body: Bytes,
    made: Instant,
    /// How long it may be served (`None`: until a write; an answer that
    /// does not depend on the time).
    ttl: Option<Duration>,
    /// From this age on, a request starts making it again: between a half
    /// and three quarters of the ttl, drawn at random so answers made
    /// together are not all made again together.
    renew_after: Option<Duration>,
    /// Whether a request has started making it again.
    renewing: Arc<AtomicBool>,
}

impl Entry {
    fn new(body: Bytes, ttl: Option<Duration>) -> Entry {
        Entry {
            body,
            made: Instant::now(),
            ttl,
            renew_after: ttl.map(|ttl| ttl.mul_f64(rand::random_range(0.5..0.75))),
            renewing: Arc::new(AtomicBool::new(false)),
        }
    }

    fn fresh(&self) -> bool {
        self.ttl.is_none_or(|ttl| self.made.elapsed() < ttl)
    }
}

#[derive(Clone)]
struct Weigh;

impl quick_cache::Weighter<Key, Entry> for Weigh {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        let tenants: usize = key.tenants.iter().flatten().map(|t| t.len() + 24).sum();
        let zone = key.zone.as_ref().map_or(0, String::len);
        (entry.body.len() + key.uri.len() + tenants + zone + 128) as u64
    }
}

/// The cache (see the module documentation).
pub struct AnswerCache {
    entries: quick_cache::sync::Cache<Key, Entry, Weigh>,
    ttl: Duration,
    /// The archive's tenant names and groups, which every request of a
    /// caller limited to some tenants resolves its scope against, kept as
    /// the answers are.
    names: std::sync::Mutex<Option<Names>>,
    /// Every process's count of writes, when it was read, and this
    /// process's count just before.
    changes: std::sync::Mutex<(i64, Option<Instant>, u64)>,
    /// Held by the one request reading it.
    polling: tokio::sync::Mutex<()>,
    poll: Duration,
    /// Answers are made again in the background one at a time, so renewals
    /// never take more than a share of the machine from the requests.
    renewals: Arc<tokio::sync::Semaphore>,
}

/// The tenant names and groups as read at a count of writes.
#[derive(Clone)]
struct Names {
    writes: i64,
    tenants: Arc<Vec<String>>,
    groups: Arc<Vec<TenantGroup>>,
    /// Scopes resolved against these names.
    resolved: Arc<std::sync::Mutex<std::collections::HashMap<Scope, TenantSet>>>,
}

impl Names {
    /// The tenants `scope` allows among these names ([`Scope::resolve`],
    /// remembered).
    fn resolve(&self, scope: &Scope) -> TenantSet {
        if let Some(set) = self
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(scope)
        {
            return set.clone();
        }
        let set = scope.resolve(&self.tenants, &self.groups);
        let mut resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if resolved.len() >= 10_000 {
            resolved.clear();
        }
        resolved.insert(scope.clone(), set.clone());
        set
    }
}

impl AnswerCache {
    /// `None` when the settings turn it off.
    pub fn new(settings: CacheSettings) -> Option<AnswerCache> {
        if settings.bytes == 0 || settings.ttl.is_zero() {
            return None;
        }
        // about 20 KiB an answer (a page of 50 posts)
        let estimated = (settings.bytes / (20 << 10)).clamp(16, 1 << 20) as usize;
        Some(AnswerCache {
            entries: quick_cache::sync::Cache::with_weighter(estimated, settings.bytes, Weigh),
            ttl: settings.ttl,
            names: std::sync::Mutex::new(None),
            changes: std::sync::Mutex::new((0, None, 0)),
            polling: tokio::sync::Mutex::new(()),
            poll: settings.poll,
            renewals: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    /// The count of writes that keys answers: every process's as read at
    /// most `poll` ago (read now by this request unless another one is
    /// reading it), plus this process's since that read. A write of this
    /// process counts at once, and once: when the next read of every
    /// process's count includes it, this process's since that read no
    /// longer does (counting both made a second miss after each write, as
    /// soon as the poll caught up).
    async fn writes(&self, state: &AppState) -> ApiResult<i64> {
        let local = state.store.local_writes();
        let sum = |(n, _, local_then): (i64, Option<Instant>, u64)| {
            n.saturating_add(i64::try_from(local.saturating_sub(local_then)).unwrap_or(i64::MAX))
        };
        let kept = *self.changes.lock().unwrap_or_else(|e| e.into_inner());
        if kept.1.is_some_and(|at| at.elapsed() < self.poll) {
            return Ok(sum(kept));
        }
        let Ok(_reading) = self.polling.try_lock() else {
            return Ok(sum(kept));
        };
        // this process's count before every process's: a write ending in
        // between is in both, and counted once more (one extra miss), never
        // in neither
        let local_then = state.store.local_writes();
        let n = state.store.archive_changes().await?;
        let now = (n, Some(Instant::now()), local_then);
        *self.changes.lock().unwrap_or_else(|e| e.into_inner()) = now;
        Ok(sum(now))
    }
}

/// Answers a read with the value of `make()` as JSON, from the cache when it
/// holds the answer for this caller's rights and request, else making it
/// (once for every concurrent request asking the same) and keeping it: until
/// anything is written, or, when the answer depends on the time, at most the
/// ttl. `make` may be called in the background instead, to renew a timed
/// answer (in the caller's time zone, as here). `depends` says what else
/// the answer depends on.
pub async fn json<T, F>(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    depends: DependsOn,
    make: impl FnOnce() -> F + Send + 'static,
) -> ApiResult<Response>
where
    T: Serialize,
    F: Future<Output = ApiResult<T>> + Send + 'static,
{
    let (body, hit) = kept(state, caller, uri, depends, make).await?;
    Ok(answer(body, hit))
}

/// As [`json`], for a page that shows the value with what is the caller's
/// own (their session's form token, their name): the value is kept, not
/// the page. Returns it, and whether it came from the cache (`None`: the
/// cache is off).
pub async fn value<T, E, F>(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    depends: DependsOn,
    make: impl FnOnce() -> F + Send + 'static,
) -> Result<(T, Option<bool>), E>
where
    T: Serialize + serde::de::DeserializeOwned,
    E: From<ApiError> + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    if state.cache.is_none() {
        return Ok((make().await?, None));
    }
    let (body, hit) = kept(state, caller, uri, depends, make).await?;
    let value = serde_json::from_slice(&body).map_err(|e| ApiError::internal(&e))?;
    if let Some(hit) = hit {
        count(hit);
    }
    Ok((value, hit))
}

/// The encoded answer, kept or made (see [`json`]), and whether it came from
/// the cache (`None`: the cache is off).
async fn kept<T, E, F>(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    depends: DependsOn,
    make: impl FnOnce() -> F + Send + 'static,
) -> Result<(Bytes, Option<bool>), E>
where
    T: Serialize,
    E: From<ApiError> + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let Some(cache) = &state.cache else {
        return Ok((encode(&make().await?)?, None));
    };
    let ttl = depends.time.then_some(cache.ttl);
    // `make` runs in this zone wherever it runs (a task-local does not
    // cross `tokio::spawn`), and what it makes is kept for this zone alone
    let zone = crate::ui::viewer_zone();
    let key = Key {
        writes: cache.writes(state).await?,
        user: depends.caller.then_some(caller.user_id),
        role: caller.role,
        tenants: match &caller.tenants {
            TenantSet::All => None,
            TenantSet::Only(set) => Some(set.iter().cloned().collect()),
        },
        zone: zone.as_ref().map(zone_key),
        uri: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    };
    if let Some(entry) = cache.entries.get(&key) {
        if entry.fresh() {
            if entry
                .renew_after
                .is_some_and(|from| entry.made.elapsed() >= from)
                && !entry.renewing.load(Ordering::Acquire)
                && let Ok(permit) = cache.renewals.clone().try_acquire_owned()
                && !entry.renewing.swap(true, Ordering::AcqRel)
            {
                renew(cache.clone(), key, zone, make, permit);
            }
            return Ok((entry.body, Some(true)));
        }
        cache.entries.remove(&key);
    }
    let guard = match cache.entries.get_value_or_guard_async(&key).await {
        // another request made it while this one waited
        Ok(entry) if entry.fresh() => {
            return Ok((entry.body, Some(true)));
        }
        Ok(_) => None,
        Err(guard) => Some(guard),
    };
    let body = encode(&crate::ui::in_zone(zone, async move { make().await }).await?)?;
    if let Some(guard) = guard {
        let _ = guard.insert(Entry::new(body.clone(), ttl));
    }
    Ok((body, Some(false)))
}

/// The tenants a limited `scope` allows, against the archive's tenant names
/// and groups. With the cache on, those names and the scopes resolved
/// against them are kept like an answer (so a scoped caller's request does
/// not read every tenant's name); with it off they are read each time (the
/// groups only when the scope names some).
pub async fn resolve_scope(state: &AppState, scope: &Scope) -> ApiResult<TenantSet> {
    let Some(cache) = &state.cache else {
        let tenants = state.store.tenant_names().await?;
        let groups = if scope.groups.is_empty() {
            Vec::new()
        } else {
            state.store.groups().await?
        };
        return Ok(scope.resolve(&tenants, &groups));
    };
    let writes = cache.writes(state).await?;
    let kept = cache
        .names
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let names = match kept {
        Some(n) if n.writes == writes => n,
        _ => {
            let n = Names {
                writes,
                tenants: Arc::new(state.store.tenant_names().await?),
                groups: Arc::new(state.store.groups().await?),
                resolved: Arc::default(),
            };
            *cache.names.lock().unwrap_or_else(|e| e.into_inner()) = Some(n.clone());
            n
        }
    };
    Ok(names.resolve(scope))
}

/// A time zone as part of a key: its IANA name.
fn zone_key(zone: &jiff::tz::TimeZone) -> String {
    match zone.iana_name() {
        Some(name) => name.to_string(),
        None => format!("{zone:?}"),
    }
}

/// Makes a kept answer again in the background, in the viewer's time zone
/// `zone`, and keeps the new one (a failure leaves the old one to expire).
fn renew<T, E, F>(
    cache: Arc<AnswerCache>,
    key: Key,
    zone: Option<jiff::tz::TimeZone>,
    make: impl FnOnce() -> F + Send + 'static,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    T: Serialize,
    E: 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    tokio::spawn(crate::ui::in_zone(zone, async move {
        if let Ok(value) = make().await
            && let Ok(body) = encode(&value)
        {
            cache.entries.insert(key, Entry::new(body, Some(cache.ttl)));
        }
        drop(permit);
    }));
}

fn encode<T: Serialize>(value: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::internal(&e))
}

fn answer(body: Bytes, hit: Option<bool>) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(hit) = hit {
        response.headers_mut().insert(CACHE_HEADER, hit_header(hit));
        count(hit);
    }
    response
}

/// The value of [`CACHE_HEADER`].
pub fn hit_header(hit: bool) -> HeaderValue {
    HeaderValue::from_static(if hit { "hit" } else { "miss" })
}

fn count(hit: bool) {
    metrics::counter!("changedesk_answer_cache_total", "result" => if hit { "hit" } else { "miss" })
        .increment(1);
}

/// The cache as the service state holds it.
pub(crate) type Shared = Option<Arc<AnswerCache>>;
