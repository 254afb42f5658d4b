//! Sync: each tenant's listings from Graph into the archive.
//!
//! Per tenant, in order: messages, issues, health overviews. A kind is synced
//! **fully** (the complete listing, which marks what disappeared as gone) when
//! asked (`--full`), when the tenant never had a complete listing of that
//! kind, or when the last one is older than `full_sync_interval`; otherwise
//! **incrementally**: only what changed since the tenant's watermark (the
//! newest `lastModifiedDateTime` it returned) minus `overlap`, as a partial
//! listing that marks nothing gone. The watermark moves in the same
//! transaction as the data, so it never runs ahead of what is stored.
//!
//! A fetch that fails (after the Graph client's retries) stores nothing of
//! that kind and marks nothing gone. One tenant failing never stops the
//! others. Tenants are fetched and parsed concurrently up to `concurrency`;
//! the archive takes one writer at a time (see the store's `begin_write`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use changedesk_core::Timestamp;
use changedesk_core::config::{SyncSettings, TenantConfig};
use changedesk_core::graph::{HealthOverview, Incident, Listing, Message, parse_raw_listing};
use changedesk_graph::{Fetched, GraphClient, GraphError, Membership, Resource, SelectSupport};
use changedesk_store::{
    BatchSummary, ImportOptions, ImportSummary, IncidentDigests, MessageDigests, Store, StoreError,
    TenantBatch,
};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Full,
    Incremental,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
        }
    }
}

/// What to sync, and when "now" is.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// Force complete listings for every tenant.
    pub full: bool,
    pub now: Timestamp,
    pub settings: SyncSettings,
    /// Fetch and parse only; write nothing (a connectivity check, and the
    /// benchmark's download-and-parse baseline).
    pub dry_run: bool,
}

/// What happened to one kind of listing of one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct KindOutcome {
    pub mode: Mode,
    /// Items Graph returned.
    pub fetched: usize,
    /// Items that could not be parsed (the listing then counts as partial).
    pub rejected: usize,
    /// Items a membership listing found that the incremental listing could
    /// not bring (listed late, dated before it), read one by one.
    pub late: usize,
    /// What the store made of it (`None` on a dry run).
    pub stored: Option<ImportSummary>,
    /// The items that could not be used (the first few), and why: Graph's
    /// item could not be parsed, or a bug failed on it while storing.
    pub problems: Vec<changedesk_store::FailedItem>,
}

/// How many problem items a kind's outcome lists one by one.
const SHOW_PROBLEMS: usize = 20;

/// One tenant's sync.
#[derive(Debug, Clone, Serialize)]
pub struct TenantOutcome {
    pub tenant: String,
    pub messages: Option<KindOutcome>,
    pub issues: Option<KindOutcome>,
    pub health: Option<KindOutcome>,
    pub requests: u32,
    pub retries: u32,
    pub bytes: u64,
    #[serde(serialize_with = "ser_secs")]
    pub elapsed: Duration,
    /// Why it failed: carries Microsoft's error code, never a secret.
    pub error: Option<String>,
    /// Microsoft's (or the store's) error code, when there is one.
    pub error_code: Option<String>,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl TenantOutcome {
    /// Nothing done yet for `tenant`.
    fn new(tenant: &str) -> Self {
        TenantOutcome {
            tenant: tenant.to_string(),
            messages: None,
            issues: None,
            health: None,
            requests: 0,
            retries: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
            error: None,
            error_code: None,
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    fn sum(&self, f: impl Fn(&ImportSummary) -> usize) -> usize {
        [&self.messages, &self.issues]
            .into_iter()
            .flatten()
            .filter_map(|k| k.stored.as_ref())
            .map(&f)
            .sum()
    }

    /// Posts and issues new to the archive.
    pub fn new_items(&self) -> usize {
        self.sum(|s| s.new)
    }

    /// Posts and issues that got a new revision.
    pub fn updated_items(&self) -> usize {
        self.sum(|s| s.updated)
    }

    /// Links marked gone by complete listings.
    pub fn gone_items(&self) -> usize {
        self.sum(|s| s.gone)
    }

    /// Items fetched from Graph, all kinds.
    pub fn fetched_items(&self) -> usize {
        [&self.messages, &self.issues, &self.health]
            .into_iter()
            .flatten()
            .map(|k| k.fetched)
            .sum()
    }
}

/// Why a tenant's sync stopped.
#[derive(Debug, thiserror::Error)]
enum TenantError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("storing {tenant}'s {kind}: {source}")]
    Store {
        tenant: String,
        kind: &'static str,
        #[source]
        source: StoreError,
    },
}

/// Told about each tenant as it finishes (the CLI's progress bar).
pub trait Progress: Send + Sync {
    fn tenant_done(&self, outcome: &TenantOutcome);
}

/// No progress reporting.
pub struct Quiet;

impl Progress for Quiet {
    fn tenant_done(&self, _: &TenantOutcome) {}
}

/// Syncs every tenant, `settings.concurrency` at a time. Returns one outcome
/// per tenant, in the order given.
///
/// A tenant holds a fetch slot while it downloads and parses its listings,
/// then gives it up to the next tenant while it waits for the archive's
/// single writer; at most `concurrency` parsed tenants wait for the writer,
/// so a slow archive holds fetching back instead of piling listings up in
/// memory.
pub async fn sync_tenants(
    store: &Store,
    graph: &GraphClient,
    tenants: &[TenantConfig],
    request: &SyncRequest,
    progress: Arc<dyn Progress>,
) -> Vec<TenantOutcome> {
    let concurrency = request.settings.concurrency.max(1);
    let fetch_slots = Arc::new(Semaphore::new(concurrency));
    let write_queue = Arc::new(Semaphore::new(concurrency));
    let (writer, jobs) = tokio::sync::mpsc::channel(concurrency);
    let group_writer = tokio::spawn(write_groups(store.clone(), jobs, concurrency));
    let mut set = tokio::task::JoinSet::new();
    // which tenant each task syncs, to say whose task panicked
    let mut task_tenant = std::collections::HashMap::new();
    for (index, tenant) in tenants.iter().cloned().enumerate() {
        let (store, graph, request, progress, write_queue, writer) = (
            store.clone(),
            graph.clone(),
            request.clone(),
            progress.clone(),
            write_queue.clone(),
            writer.clone(),
        );
        // taking the slot before spawning starts tenants in the order given
        // (with concurrency 1, strictly one after another) and keeps at most
        // `concurrency` tasks fetching
        let slot = fetch_slots.clone().acquire_owned().await.ok();
        let handle = set.spawn(async move {
            let queue = WriteQueue {
                slots: &write_queue,
                writer: &writer,
            };
            let outcome = sync_tenant(&store, &graph, &tenant, &request, slot, queue).await;
            progress.tenant_done(&outcome);
            (index, outcome)
        });
        task_tenant.insert(handle.id(), index);
    }
    drop(writer);
    let mut outcomes: Vec<Option<TenantOutcome>> = vec![None; tenants.len()];
    let mut panics: Vec<Option<String>> = vec![None; tenants.len()];
    while let Some(joined) = set.join_next_with_id().await {
        match joined {
            Ok((_, (index, outcome))) => {
                if let Some(slot) = outcomes.get_mut(index) {
                    *slot = Some(outcome);
                }
            }
            Err(e) => {
                let index = task_tenant.get(&e.id()).copied();
                let name = index.and_then(|i| tenants.get(i)).map(|t| t.name.as_str());
                let why = if e.is_panic() {
                    changedesk_store::failpoint::panic_text(&*e.into_panic())
                } else {
                    e.to_string()
                };
                tracing::error!(tenant = name.unwrap_or("?"), error = %why, "a tenant's sync task failed; the other tenants go on");
                if let Some(slot) = index.and_then(|i| panics.get_mut(i)) {
                    *slot = Some(why);
                }
            }
        }
    }
    // every sender is gone: the writer has answered every job
    if let Err(e) = group_writer.await {
        tracing::error!(error = %e, "the archive writer task failed");
    }
    outcomes
        .into_iter()
        .zip(tenants)
        .zip(panics)
        .map(|((o, t), why)| {
            o.unwrap_or_else(|| TenantOutcome {
                error: Some(match why {
                    Some(why) => format!("{}: the sync stopped on a bug: {why}", t.name),
                    None => format!("{}: the sync task stopped unexpectedly", t.name),
                }),
                ..TenantOutcome::new(&t.name)
            })
        })
        .collect()
}

/// Whether this kind is due a complete listing.
fn mode_for(
    request: &SyncRequest,
    complete_at: Option<Timestamp>,
    watermark: Option<Timestamp>,
) -> Mode {
    let due = match complete_at {
        None => true,
        Some(at) => {
            let age = request.now.as_datetime() - at.as_datetime();
            age >= time::Duration::try_from(request.settings.full_sync_interval)
                .unwrap_or(time::Duration::MAX)
        }
    };
    if request.full || due || watermark.is_none() {
        Mode::Full
    } else {
        Mode::Incremental
    }
}

async fn sync_tenant(
    store: &Store,
    graph: &GraphClient,
    tenant: &TenantConfig,
    request: &SyncRequest,
    fetch_slot: Option<OwnedSemaphorePermit>,
    queue: WriteQueue<'_>,
) -> TenantOutcome {
    let started = Instant::now();
    let mut outcome = TenantOutcome::new(&tenant.name);
    // whether the outcome went into the archive with the listings
    let mut recorded = false;
    let result = run_tenant(
        store,
        graph,
        tenant,
        request,
        &mut outcome,
        fetch_slot,
        queue,
        &mut recorded,
    )
    .await;
    outcome.elapsed = started.elapsed();
    if let Err(e) = result {
        outcome.error_code = match &e {
            TenantError::Graph(g) => g.code().map(str::to_string),
            TenantError::Store { .. } => None,
        };
        outcome.error = Some(e.to_string());
        tracing::warn!(tenant = %tenant.name, error = %e, "sync failed");
    }
    if !request.dry_run
        && !recorded
        && let Err(e) = store
            .record_sync(&tenant.name, &request.now, outcome.error.as_deref())
            .await
    {
        tracing::error!(tenant = %tenant.name, error = %e, "cannot record the sync outcome");
    }
    outcome
}

fn count(outcome: &mut TenantOutcome, f: &Fetched) {
    outcome.requests += f.requests;
    outcome.retries += f.retries;
    outcome.bytes += f.bytes;
}

/// One kind of listing, fetched and parsed, waiting to be stored.
struct Fetch<T> {
    mode: Mode,
    listing: Listing<T>,
    /// Items Graph returned (the listing's items move to the writer).
    fetched: usize,
    /// Of them, items read one by one after a membership listing.
    late: usize,
}

/// Fetches and parses one kind of listing.
async fn fetch_kind<T>(
    graph: &GraphClient,
    tenant: &TenantConfig,
    resource: Resource,
    mode: Mode,
    since: Option<Timestamp>,
    parse: fn(&serde_json::Value, usize) -> Result<T, changedesk_core::graph::ParseError>,
    outcome: &mut TenantOutcome,
) -> Result<Fetch<T>, GraphError> {
    let fetched = graph.fetch(tenant, resource, since).await?;
    count(outcome, &fetched);
    Ok(parsed(&fetched, mode, 0, parse))
}

/// A fetched listing, parsed.
fn parsed<T>(
    fetched: &Fetched,
    mode: Mode,
    late: usize,
    parse: fn(&serde_json::Value, usize) -> Result<T, changedesk_core::graph::ParseError>,
) -> Fetch<T> {
    let listing = parse_raw_listing(&fetched.items, parse);
    let fetched = listing.items.len() + listing.rejected.len();
    Fetch {
        mode,
        listing,
        fetched,
        late,
    }
}

/// How many items a membership check reads one by one; beyond, a complete
/// listing is cheaper.
const MAX_LATE_BY_ID: usize = 25;

/// Where Graph ignores or refuses `$select`, how often a complete listing
/// stands in for the membership check.
const FALLBACK_FULL_INTERVAL: Duration = Duration::from_secs(3600);

/// One kind (messages or issues) of listing: complete in `Mode::Full`;
/// incremental otherwise, with a membership check first (`[sync]
/// membership_check`) that finds the items Graph listed late (new to the
/// tenant's archive yet dated before `since`, which the incremental
/// listing never asks for) and reads them one by one.
#[allow(clippy::too_many_arguments)]
async fn fetch_listing<T>(
    graph: &GraphClient,
    store: Option<&Store>,
    tenant: &TenantConfig,
    resource: Resource,
    mode: Mode,
    since: Option<Timestamp>,
    complete_at: Option<Timestamp>,
    request: &SyncRequest,
    parse: fn(&serde_json::Value, usize) -> Result<T, changedesk_core::graph::ParseError>,
    outcome: &mut TenantOutcome,
) -> Result<Fetch<T>, GraphError> {
    let Some(store) =
        store.filter(|_| mode == Mode::Incremental && request.settings.membership_check)
    else {
        return fetch_kind(graph, tenant, resource, mode, since, parse, outcome).await;
    };
    // a complete listing at most hourly where Graph will not list members
    let fallback = || {
        let due = complete_at.is_none_or(|at| {
            request.now.as_datetime() - at.as_datetime()
                >= time::Duration::try_from(FALLBACK_FULL_INTERVAL).unwrap_or(time::Duration::MAX)
        });
        if due {
            (Mode::Full, None)
        } else {
            (Mode::Incremental, since)
        }
    };
    if matches!(
        graph.select_support(tenant),
        Some(SelectSupport::Ignored | SelectSupport::Refused)
    ) {
        let (mode, since) = fallback();
        return fetch_kind(graph, tenant, resource, mode, since, parse, outcome).await;
    }
    let (members, stats) = match graph.fetch_membership(tenant, resource).await? {
        Membership::Ignored(whole) => {
            // whole items: a complete listing, so use it as one
            count(outcome, &whole);
            return Ok(parsed(&whole, Mode::Full, 0, parse));
        }
        Membership::Refused => {
            outcome.requests += 1;
            let (mode, since) = fallback();
            return fetch_kind(graph, tenant, resource, mode, since, parse, outcome).await;
        }
        Membership::Honoured { members, stats, .. } => (members, stats),
    };
    count(outcome, &stats);
    let known = match store
        .tenant_links(&tenant.name, resource == Resource::Issues)
        .await
    {
        Ok(known) => known,
        Err(e) => {
            // the check is an addition: without it, the incremental listing
            tracing::warn!(tenant = %tenant.name, %resource, error = %e, "cannot read the archive's links to compare with the membership listing; incremental listing only");
            return fetch_kind(
                graph,
                tenant,
                resource,
                Mode::Incremental,
                since,
                parse,
                outcome,
            )
            .await;
        }
    };
    // what the incremental listing will not bring: items dated before it
    // starts that the archive lacks, or holds at another time
    let late: Vec<String> = members
        .into_iter()
        .filter(|m| match (since, m.last_modified) {
            (Some(s), Some(lm)) => lm < s,
            _ => true,
        })
        .filter(|m| known.get(&m.id) != Some(&m.last_modified))
        .map(|m| m.id)
        .collect();
    if late.len() > MAX_LATE_BY_ID {
        tracing::info!(tenant = %tenant.name, %resource, late = late.len(), "many items listed late: a complete listing instead");
        return fetch_kind(graph, tenant, resource, Mode::Full, None, parse, outcome).await;
    }
    let mut fetched = graph.fetch(tenant, resource, since).await?;
    count(outcome, &fetched);
    if !late.is_empty() {
        tracing::info!(tenant = %tenant.name, %resource, late = late.len(), "items listed late, dated before the incremental listing: reading them one by one");
        let by_id = graph.fetch_items(tenant, resource, &late).await?;
        count(outcome, &by_id);
        fetched.items.extend(by_id.items);
    }
    Ok(parsed(&fetched, Mode::Incremental, late.len(), parse))
}

#[allow(clippy::too_many_arguments)]
async fn run_tenant(
    store: &Store,
    graph: &GraphClient,
    tenant: &TenantConfig,
    request: &SyncRequest,
    outcome: &mut TenantOutcome,
    fetch_slot: Option<OwnedSemaphorePermit>,
    queue: WriteQueue<'_>,
    recorded: &mut bool,
) -> Result<(), TenantError> {
    let state = if request.dry_run {
        None
    } else {
        store
            .tenant_marks(&tenant.name)
            .await
            .map_err(|source| TenantError::Store {
                tenant: tenant.name.clone(),
                kind: "state",
                source,
            })?
    };
    let overlap =
        time::Duration::try_from(request.settings.overlap).unwrap_or(time::Duration::ZERO);
    let since = |mode: Mode, watermark: Option<Timestamp>| match mode {
        Mode::Full => None,
        Mode::Incremental => watermark.map(|w| w.saturating_add(-overlap)),
    };
    // a field of the tenant's archive state, if it has one
    let held =
        |f: fn(&changedesk_store::TenantMarks) -> Option<Timestamp>| state.as_ref().and_then(f);

    // Fetch every kind first. A failed fetch stops the tenant there; the
    // kinds fetched before it are still stored, each in its own transaction.
    let archive = (!request.dry_run).then_some(store);
    let watermark = held(|s| s.messages_watermark);
    let complete_at = held(|s| s.messages_complete_at);
    let mode = mode_for(request, complete_at, watermark);
    let mut messages = fetch_listing(
        graph,
        archive,
        tenant,
        Resource::Messages,
        mode,
        since(mode, watermark),
        complete_at,
        request,
        Message::from_graph,
        outcome,
    )
    .await?;
    let watermark = held(|s| s.issues_watermark);
    let complete_at = held(|s| s.issues_complete_at);
    let mode = mode_for(request, complete_at, watermark);
    let (issues, health) = match fetch_listing(
        graph,
        archive,
        tenant,
        Resource::Issues,
        mode,
        since(mode, watermark),
        complete_at,
        request,
        Incident::from_graph,
        outcome,
    )
    .await
    {
        Err(e) => (Err(e), None),
        // health: always a complete snapshot
        Ok(issues) => (
            Ok(issues),
            Some(
                fetch_kind(
                    graph,
                    tenant,
                    Resource::HealthOverviews,
                    Mode::Full,
                    None,
                    HealthOverview::from_graph,
                    outcome,
                )
                .await,
            ),
        ),
    };

    // The digests are CPU work: worked out here, while other tenants are
    // stored, not by the archive writer while it holds the write lock.
    let (digests, issue_digests) = if request.dry_run {
        (None, None)
    } else {
        let incidents = issues.as_ref().map_or(&[][..], |f| &f.listing.items[..]);
        (
            Some(store.message_digests(&messages.listing.items)),
            Some(store.incident_digests(incidents)),
        )
    };

    // Then wait for the writer, letting the next tenant fetch meanwhile.
    let _queued = queue.slots.acquire().await.ok();
    drop(fetch_slot);

    // what could not be fetched, once what was fetched is stored
    let (mut issues, mut health, fetch_error) = match (issues, health) {
        (Err(e), _) => (None, None, Some(e)),
        (Ok(i), Some(Err(e))) => (Some(i), None, Some(e)),
        (Ok(i), Some(Ok(h))) => (Some(i), Some(h), None),
        (Ok(i), None) => (Some(i), None, None),
    };
    let opts = |f: &dyn Listed, kind: &str| {
        let rejected = f.rejected();
        if rejected > 0 {
            tracing::warn!(tenant = %tenant.name, kind, rejected, "items Graph returned could not be parsed: the listing is stored as partial");
            for e in f.problems().iter().take(SHOW_PROBLEMS) {
                tracing::warn!(tenant = %tenant.name, kind, item = %e.what, problem = %e.message, "item not used");
            }
        }
        ImportOptions {
            // a listing with unusable items is not trusted to say what is gone
            complete: f.mode() == Mode::Full && rejected == 0,
            now: request.now,
            source: format!("graph ({})", f.mode().as_str()),
            rejected,
        }
    };
    let job = WriteJob {
        tenant: tenant.name.clone(),
        messages: (
            std::mem::take(&mut messages.listing.items),
            opts(&messages, "messages"),
        ),
        issues: issues
            .as_mut()
            .map(|f| (std::mem::take(&mut f.listing.items), opts(f, "issues"))),
        health: health
            .as_mut()
            .map(|f| (std::mem::take(&mut f.listing.items), opts(f, "health"))),
        at: request.now,
        record: Some(fetch_error.as_ref().map(|e| e.to_string())),
        digests,
        issue_digests,
    };
    let stored = if request.dry_run {
        BatchSummary::default()
    } else {
        let stored = queue
            .write(job)
            .await
            .map_err(|source| TenantError::Store {
                tenant: tenant.name.clone(),
                kind: "listings",
                source,
            })?;
        *recorded = true;
        stored
    };
    outcome.messages = Some(messages.outcome(stored.messages));
    outcome.issues = issues.map(|f| f.outcome(stored.issues));
    outcome.health = health.map(|f| f.outcome(stored.health));
    match fetch_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// One tenant's parsed listings, handed to the archive writer.
struct WriteJob {
    tenant: String,
    messages: (Vec<Message>, ImportOptions),
    issues: Option<(Vec<Incident>, ImportOptions)>,
    health: Option<(Vec<HealthOverview>, ImportOptions)>,
    at: Timestamp,
    record: Option<Option<String>>,
    digests: Option<MessageDigests>,
    issue_digests: Option<IncidentDigests>,
}

impl WriteJob {
    fn batch(&self) -> TenantBatch<'_> {
        TenantBatch {
            messages: Some((&self.messages.0, self.messages.1.clone())),
            issues: self.issues.as_ref().map(|(i, o)| (i.as_slice(), o.clone())),
            health: self.health.as_ref().map(|(h, o)| (h.as_slice(), o.clone())),
            at: self.at,
            record: self.record.clone(),
            digests: self.digests.as_ref(),
            issue_digests: self.issue_digests.as_ref(),
        }
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<BatchSummary, StoreError>>;

/// A tenant's way to the archive: a place in the queue of parsed tenants,
/// then the writer.
#[derive(Clone, Copy)]
struct WriteQueue<'a> {
    slots: &'a Semaphore,
    writer: &'a tokio::sync::mpsc::Sender<(WriteJob, Reply)>,
}

impl WriteQueue<'_> {
    async fn write(&self, job: WriteJob) -> Result<BatchSummary, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || StoreError::Invalid("the archive writer stopped".to_string());
        self.writer.send((job, reply)).await.map_err(|_| gone())?;
        answer.await.unwrap_or_else(|_| Err(gone()))
    }
}

/// The archive's writer: stores the tenants that are waiting together, in
/// one transaction of up to `most` tenants (group commit: one commit, and
/// the index pages they share written once, instead of once per tenant).
/// Each tenant's part stays atomic on its own (see `Store::import_batches`).
async fn write_groups(
    store: Store,
    mut jobs: tokio::sync::mpsc::Receiver<(WriteJob, Reply)>,
    most: usize,
) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < most {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let batches: Vec<TenantBatch<'_>> = group.iter().map(|(j, _)| j.batch()).collect();
        let refs: Vec<(&str, &TenantBatch<'_>)> = group
            .iter()
            .zip(&batches)
            .map(|((j, _), b)| (j.tenant.as_str(), b))
            .collect();
        // a bug that panics while storing this group fails its tenants, not
        // the writer: the tenants after it are still stored
        let stored = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            store.import_batches(&refs),
        ))
        .await
        .unwrap_or_else(|payload| {
            let why = changedesk_store::failpoint::panic_text(&*payload);
            tracing::error!(tenants = ?refs.iter().map(|(t, _)| *t).collect::<Vec<_>>(), error = %why, "storing these tenants' listings failed on a bug");
            Err(StoreError::Invalid(format!("a bug stopped the write: {why}")))
        });
        drop(refs);
        drop(batches);
        match stored {
            Ok(results) => {
                for ((_, reply), result) in group.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (_, reply) in group {
                    let _ = reply.send(Err(StoreError::Invalid(format!(
                        "the transaction holding this tenant's listings failed: {message}"
                    ))));
                }
            }
        }
    }
}

/// What the batch needs of a fetched listing of any kind.
trait Listed {
    fn mode(&self) -> Mode;
    fn rejected(&self) -> usize;
    fn problems(&self) -> &[changedesk_core::graph::ParseError];
}

impl<T> Listed for Fetch<T> {
    fn mode(&self) -> Mode {
        self.mode
    }
    fn rejected(&self) -> usize {
        self.listing.rejected.len()
    }
    fn problems(&self) -> &[changedesk_core::graph::ParseError] {
        &self.listing.rejected
    }
}

impl<T> Fetch<T> {
    fn outcome(&self, stored: Option<ImportSummary>) -> KindOutcome {
        KindOutcome {
            mode: self.mode,
            fetched: self.fetched,
            rejected: self.listing.rejected.len(),
            late: self.late,
            problems: self
                .listing
                .rejected
                .iter()
                .map(|e| changedesk_store::FailedItem {
                    id: e.what.clone(),
                    error: e.message.clone(),
                })
                .chain(stored.iter().flat_map(|s| s.failed.iter().cloned()))
                .take(SHOW_PROBLEMS)
                .collect(),
            stored,
        }
    }
}
