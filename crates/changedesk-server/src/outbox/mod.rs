//! The outbox's worker: joins the store (events, deliveries) and
//! `changedesk-notify` (sending), as `sync` joins the store and Graph.
//!
//! - **Dispatch**: each event not yet fanned out becomes one delivery per
//!   enabled channel whose filter matches it (core's
//!   `ChannelFilter::matches`), its message rendered once
//!   (`notify::payload`), under a stable id (`notify::message_id`), all in
//!   one transaction with the event marked dispatched.
//! - **Delivery**: due deliveries are claimed with a lease, sent, and their
//!   outcome recorded: delivered; retried with exponential backoff that
//!   honours `Retry-After`; after `changedesk_notify::MAX_ATTEMPTS`, or at
//!   once for a permanent failure, dead (a person may retry it). A `410
//!   Gone` disables the channel. A claim whose lease runs out (the process
//!   died mid-send) is claimed again and counted: delivery is at least once,
//!   and only what was in flight is sent twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use changedesk_core::Timestamp;
use changedesk_core::notify::{ChannelFilter, ChannelKind, message_id, payload};
use changedesk_notify::render::{Entry, MessageContext, Templates};
use changedesk_notify::{PlainTarget, SendOutcome, WebhookEndpoint, WebhookSecret, WebhookSender};
use changedesk_secrets::Keyring;
use changedesk_store::{
    ChannelRow, ClaimedDelivery, DeliveryOutcome, NewDelivery, Store, StoreError,
};
use futures::StreamExt as _;
use secrecy::ExposeSecret as _;
use serde::Serialize;

pub mod channel;
pub mod compose;
pub mod follow;
pub mod mailer;
pub mod report_mail;
pub mod ticket;
pub mod unsubscribe;

pub use channel::{
    ChannelRequest, ConnectorRequest, DigestRequest, FollowRequest, MAX_CHANNELS, QuietRequest,
    SubscriptionRequest, new_channel, new_subscription, secret_context, subscription_name,
    test_event, url_context,
};
pub use mailer::{MailSetup, Mailer};

/// About how many deliveries one dispatch transaction writes (on SQLite
/// it holds the archive's one writer meanwhile).
const DISPATCH_ROWS: usize = 1_000;

/// The senders [`Outbox::run`] runs beside its dispatcher: while one
/// records its outcomes, the others send.
const SENDERS: usize = 4;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoundSummary {
    /// Events fanned out.
    pub events: usize,
    /// Deliveries they made.
    pub deliveries: usize,
    /// Deliveries sent successfully.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retried: usize,
    /// Deliveries given up (dead-lettered).
    pub dead: usize,
    /// Claims taken over after a lease ran out (sent again after a crash).
    pub resent: usize,
    /// Messages composed from batched events (e-mail, Teams, Slack).
    pub composed: usize,
}

/// The worker's settings and connections.
#[derive(Clone)]
pub struct Outbox {
    pub store: Store,
    /// The key of sealed channel credentials (`None`: not configured;
    /// deliveries then fail with the reason, and are retried).
    pub keyring: Option<Arc<Keyring>>,
    pub sender: WebhookSender,
    /// The message templates (shipped, or overridden from a directory).
    pub templates: Arc<Templates>,
    /// How e-mail is sent (`None`: e-mail channels' messages wait, and
    /// are retried, until it is configured).
    pub mail: Option<MailSetup>,
    /// changedesk's address, for links in messages.
    pub public_url: Option<String>,
    /// `[analytics]`: the working days and targets of the scheduled
    /// reports (`report_mail`).
    pub analytics: changedesk_core::metrics::AnalyticsSettings,
    /// How long a claim lasts before another worker may take it over.
    pub lease: Duration,
    /// Deliveries claimed at once.
    pub batch: i64,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// Random numbers in 0..1 for the backoff's jitter.
    pub jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    /// How connectors time their calls (timeout, retries within a call,
    /// Jira's search lag).
    pub connector_tuning: changedesk_connectors::target::Tuning,
    /// How often [`Outbox::run`] reads tickets back from their systems
    /// ([`Outbox::follow_tickets`]; zero: never).
    pub follow_every: Duration,
    /// The Unix time a message is signed at (`webhook-timestamp`): the
    /// receiver compares it with its own clock, so it is the real time of
    /// the attempt even when the worker's schedule runs on another clock
    /// (a demo, a test).
    pub wall_clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

/// How often `serve` reads tickets back from their systems by default.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(300);

impl Outbox {
    /// An outbox with the defaults: a 60 s lease, 200 claimed and 32 sent
    /// at once, tickets read back every 5 minutes.
    pub fn new(store: Store, keyring: Option<Arc<Keyring>>, sender: WebhookSender) -> Outbox {
        Outbox {
            store,
            keyring,
            sender,
            templates: Arc::new(Templates::builtin()),
            mail: None,
            public_url: None,
            analytics: Default::default(),
            lease: Duration::from_secs(60),
            batch: 200,
            concurrency: 32,
            jitter: Arc::new(rand::random::<f64>),
            connector_tuning: Default::default(),
            follow_every: FOLLOW_EVERY,
            wall_clock: Arc::new(|| Timestamp::now_utc().unix_seconds()),
        }
    }

    /// Fans every pending event out to its deliveries.
    pub async fn dispatch(&self, now: Timestamp) -> Result<(usize, usize), StoreError> {
        self.dispatch_waking(now, &|| {}).await
    }

    /// [`Outbox::dispatch`], calling `wake` after each transaction that
    /// made deliveries (so senders start on them while the next events are
    /// fanned out). A message is rendered once per event and distinct
    /// filter (`payload` depends on nothing else of the channel), and the
    /// events go in transactions of about [`DISPATCH_ROWS`] deliveries.
    async fn dispatch_waking(
        &self,
        now: Timestamp,
        wake: &(dyn Fn() + Sync),
    ) -> Result<(usize, usize), StoreError> {
        let (mut events, mut deliveries) = (0, 0);
        loop {
            let pending = self.store.pending_events(200).await?;
            if pending.is_empty() {
                return Ok((events, deliveries));
            }
            let channels = self
                .effective_channels(
                    self.store
                        .channels()
                        .await?
                        .into_iter()
                        .filter(|c| c.enabled)
                        .collect(),
                )
                .await?;
            let mut group: Vec<(i64, Vec<NewDelivery>)> = Vec::new();
            let mut rows = 0;
            for e in &pending {
                let mut rendered: Vec<(&ChannelFilter, String)> = Vec::new();
                let made: Vec<NewDelivery> = channels
                    .iter()
                    .filter(|c| hears_of(&c.filter, c, &e.event))
                    .map(|c| {
                        let kind = c.kind.parse().unwrap_or(ChannelKind::Webhook);
                        let body = match rendered.iter().find(|(f, _)| **f == c.filter) {
                            Some((_, body)) => body.clone(),
                            None => {
                                let body =
                                    payload(e.id, &e.event, &c.filter, self.public_url.as_deref())
                                        .to_string();
                                rendered.push((&c.filter, body.clone()));
                                body
                            }
                        };
                        NewDelivery {
                            channel_id: c.id,
                            message_id: message_id(e.id, c.id),
                            body,
                            ready_at: kind
                                .batches()
                                .then(|| c.settings.ready_at(kind, &e.event, now)),
                        }
                    })
                    .collect();
                rows += made.len();
                group.push((e.id, made));
                if rows >= DISPATCH_ROWS {
                    self.dispatch_group(&group, now).await?;
                    wake();
                    events += group.len();
                    deliveries += rows;
                    group.clear();
                    rows = 0;
                }
            }
            if !group.is_empty() {
                self.dispatch_group(&group, now).await?;
                wake();
                events += group.len();
                deliveries += rows;
            }
        }
    }

    async fn dispatch_group(
        &self,
        group: &[(i64, Vec<NewDelivery>)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let events: Vec<(i64, &[NewDelivery])> =
            group.iter().map(|(id, d)| (*id, d.as_slice())).collect();
        self.store.dispatch_events(&events, now).await
    }

    /// Sends what is due at `now` (one claim of up to `batch`).
    pub async fn deliver_due(
        &self,
        now: Timestamp,
        summary: &mut RoundSummary,
    ) -> Result<usize, StoreError> {
        self.deliver(now, summary, false).await
    }

    /// [`Outbox::deliver_due`]; the outcomes recorded one transaction
    /// each, or (`together`) all in one: a crash before its commit leaves
    /// them all to be taken over, one after leaves none (the
    /// `outbox.recorded` failpoint is hit once per delivery after its
    /// outcome is committed, either way).
    async fn deliver(
        &self,
        now: Timestamp,
        summary: &mut RoundSummary,
        together: bool,
    ) -> Result<usize, StoreError> {
        let lease_until = now.saturating_add(time::Duration::seconds(
            i64::try_from(self.lease.as_secs()).unwrap_or(60),
        ));
        let claimed = self
            .store
            .claim_deliveries(now, lease_until, self.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        changedesk_store::failpoint::hit("outbox.claimed");
        let channels: HashMap<i64, ChannelRow> = self
            .store
            .channels()
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let n = claimed.len();
        let results: Vec<(ClaimedDelivery, DeliveryOutcome, bool)> =
            futures::stream::iter(claimed.into_iter().map(|d| {
                let channel = channels.get(&d.channel_id).cloned();
                async move {
                    let (outcome, gone) = self.send_one(&d, channel.as_ref(), now).await;
                    (d, outcome, gone)
                }
            }))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        if together {
            let outcomes: Vec<(i64, DeliveryOutcome)> =
                results.iter().map(|(d, o, _)| (d.id, o.clone())).collect();
            self.store.finish_deliveries(&outcomes, now).await?;
        }
        for (d, outcome, gone) in results {
            summary.resent += usize::from(d.taken_over);
            match &outcome {
                DeliveryOutcome::Delivered { .. } => summary.delivered += 1,
                DeliveryOutcome::Retry { .. } => summary.retried += 1,
                DeliveryOutcome::Dead { .. } => summary.dead += 1,
            }
            if !together {
                self.store.finish_delivery(d.id, &outcome, now).await?;
            }
            changedesk_store::failpoint::hit("outbox.recorded");
            if gone {
                self.store
                    .set_channel_enabled(
                        d.channel_id,
                        false,
                        Some("the endpoint answered 410 Gone: disabled"),
                        "system",
                        now,
                    )
                    .await?;
            }
        }
        Ok(n)
    }

    /// Sends one claimed delivery; the outcome to record, and whether the
    /// channel said it is gone.
    async fn send_one(
        &self,
        d: &ClaimedDelivery,
        channel: Option<&ChannelRow>,
        now: Timestamp,
    ) -> (DeliveryOutcome, bool) {
        let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX);
        let Some(channel) = channel.filter(|c| c.enabled) else {
            return (
                DeliveryOutcome::Dead {
                    status: None,
                    error: "the channel is disabled or gone".into(),
                },
                false,
            );
        };
        let outcome = match self.send_by_kind(d, channel, now).await {
            Ok(outcome) => outcome,
            Err(error) => return (self.retry_or_dead(attempts, None, None, error, now), false),
        };
        changedesk_store::failpoint::hit("outbox.sent");
        match outcome {
            SendOutcome::Delivered { status } => (DeliveryOutcome::Delivered { status }, false),
            SendOutcome::Retry {
                status,
                retry_after,
                error,
            } => (
                self.retry_or_dead(attempts, status, retry_after, error, now),
                false,
            ),
            SendOutcome::Failed { status, error } => {
                (DeliveryOutcome::Dead { status, error }, false)
            }
            SendOutcome::Gone => (
                DeliveryOutcome::Dead {
                    status: Some(410),
                    error: "the endpoint is gone (410): the channel is disabled".into(),
                },
                true,
            ),
        }
    }

    /// Sends `d` the way its channel's kind does; `Err`: the channel's
    /// destination could not be opened (retried).
    async fn send_by_kind(
        &self,
        d: &ClaimedDelivery,
        channel: &ChannelRow,
        now: Timestamp,
    ) -> Result<SendOutcome, String> {
        let kind: ChannelKind = channel.kind.parse()?;
        Ok(match kind {
            ChannelKind::Webhook => {
                let endpoint = self.endpoint(channel)?;
                self.sender
                    .send(
                        &endpoint,
                        &d.message_id,
                        d.body.as_bytes(),
                        (self.wall_clock)(),
                    )
                    .await
            }
            ChannelKind::Teams | ChannelKind::Slack => {
                let target = PlainTarget {
                    url: self.open_url(channel)?,
                    allow_private: channel.allow_private,
                    allow_insecure_http: channel.allow_private,
                };
                if kind == ChannelKind::Teams {
                    changedesk_notify::teams::send(
                        &self.sender,
                        &target,
                        d.body.as_bytes(),
                        (self.wall_clock)(),
                    )
                    .await
                } else {
                    changedesk_notify::slack::send(
                        &self.sender,
                        &target,
                        d.body.as_bytes(),
                        (self.wall_clock)(),
                    )
                    .await
                }
            }
            ChannelKind::Email => {
                let mail = self.mail.as_ref().ok_or_else(|| {
                    "e-mail is not configured: set [notify.email] (smtp, graph or directory)"
                        .to_string()
                })?;
                let stored: compose::StoredEmail = serde_json::from_str(&d.body)
                    .map_err(|e| format!("the stored e-mail is not readable: {e}"))?;
                let channel_id = channel.id;
                let comms = stored.comms;
                let links = |address: &str| {
                    let (Some(ring), Some(base)) =
                        (self.keyring.as_deref(), self.public_url.as_deref())
                    else {
                        return mailer::RecipientLinks::default();
                    };
                    match comms {
                        // a communication is the organisation's, not a
                        // subscription: no unsubscribe link
                        Some(id) => mailer::RecipientLinks {
                            unsubscribe: None,
                            comms: crate::comms::links(ring, base, id, Some(address)),
                        },
                        None => mailer::RecipientLinks {
                            unsubscribe: unsubscribe::token(ring, channel_id, address)
                                .ok()
                                .map(|t| unsubscribe::url(base, &t)),
                            comms: None,
                        },
                    }
                };
                mail.send(&d.message_id, &stored, &links).await
            }
            ChannelKind::ServiceNow
            | ChannelKind::Jira
            | ChannelKind::Glpi
            | ChannelKind::Planner => {
                let secret = self.open_secret(channel)?;
                let hold = ticket::Hold {
                    holder: &d.message_id,
                    now,
                    until: now.saturating_add(
                        time::Duration::try_from(self.lease).unwrap_or(time::Duration::MINUTE),
                    ),
                };
                ticket::send(
                    &self.store,
                    channel,
                    &secret,
                    &d.body,
                    self.connector_tuning,
                    &hold,
                )
                .await?
            }
        })
    }

    /// Composes the message of every batching channel whose window closed
    /// (one message in flight per channel; a Teams flow at most
    /// `teams::POSTS_PER_WINDOW` per `teams::WINDOW`, a Slack webhook one
    /// per `slack::MIN_INTERVAL`). How many messages.
    pub async fn compose_due(&self, now: Timestamp) -> Result<usize, StoreError> {
        let due = self.store.channels_with_due_batches(now).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let channels: HashMap<i64, ChannelRow> = self
            .store
            .channels()
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let owners = self.store.owners().await?;
        let mut made = 0;
        for id in due {
            let Some(c) = channels.get(&id) else { continue };
            let Ok(kind) = c.kind.parse::<ChannelKind>() else {
                continue;
            };
            if !self.may_post(kind, c.id, now).await? {
                continue;
            }
            // a digest takes what is due now; a window, what falls in it
            let window = if c.settings.digest.is_some() {
                time::Duration::ZERO
            } else {
                time::Duration::minutes(i64::from(c.settings.batch_minutes))
            };
            let batch = self
                .store
                .batched_deliveries(c.id, now.saturating_add(window), 500)
                .await?;
            let Some(leader) = batch.first() else {
                continue;
            };
            let entries: Vec<Entry> = batch
                .iter()
                .map(|b| {
                    Entry::from_payload(
                        &serde_json::from_str(&b.body).unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect();
            let recipients = if let Some(person) = &c.settings.person {
                self.store
                    .user_by_name(person)
                    .await?
                    .filter(|u| !u.disabled && !u.email.trim().is_empty())
                    .map(|u| vec![u.email])
                    .unwrap_or_default()
            } else if c.settings.recipients.is_empty() {
                c.settings
                    .owner
                    .as_deref()
                    .and_then(|o| owners.iter().find(|x| x.name.eq_ignore_ascii_case(o)))
                    .map(|o| vec![o.email.clone()])
                    .unwrap_or_default()
            } else {
                c.settings.recipients.clone()
            };
            // each e-mail recipient's own link replaces the placeholder
            let links =
                kind == ChannelKind::Email && self.public_url.is_some() && self.keyring.is_some();
            let base = MessageContext {
                entries: Vec::new(),
                channel: c.name.clone(),
                public_url: self.public_url.clone().unwrap_or_default(),
                unsubscribe_url: if links {
                    unsubscribe::PLACEHOLDER.to_string()
                } else {
                    String::new()
                },
                preferences_url: match (&c.settings.person, &self.public_url) {
                    (Some(_), Some(base)) => {
                        format!("{}/me/notifications", base.trim_end_matches('/'))
                    }
                    _ => String::new(),
                },
                digest: c
                    .settings
                    .digest
                    .as_ref()
                    .map(|d| d.cadence().to_string())
                    .unwrap_or_default(),
                review_of: String::new(),
            };
            let (body, n) = match compose::compose(
                &self.templates,
                kind,
                &entries,
                &base,
                &recipients,
            ) {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(channel = %c.name, error = %e, "a message could not be composed; its events wait");
                    continue;
                }
            };
            let members: Vec<i64> = batch
                .iter()
                .skip(1)
                .take(n.saturating_sub(1))
                .map(|b| b.id)
                .collect();
            if self
                .store
                .merge_batch(leader.id, &members, &body, now)
                .await?
            {
                made += 1;
            }
        }
        Ok(made)
    }

    /// `channels` with each person's subscription limited to the tenants
    /// the person may see now (their scope, tenant groups resolved; the
    /// filter's own tenants within it); a subscription whose person is
    /// gone or disabled hears of nothing and is left out.
    async fn effective_channels(
        &self,
        channels: Vec<ChannelRow>,
    ) -> Result<Vec<ChannelRow>, StoreError> {
        use changedesk_core::access::TenantSet;
        if channels.iter().all(|c| c.settings.person.is_none()) {
            return Ok(channels);
        }
        let users = self.store.users().await?;
        let names = self.store.tenant_names().await?;
        let groups = self.store.groups().await?;
        Ok(channels
            .into_iter()
            .filter_map(|mut c| {
                let Some(person) = &c.settings.person else {
                    return Some(c);
                };
                let user = users
                    .iter()
                    .find(|u| u.name.eq_ignore_ascii_case(person) && !u.disabled)?;
                if let TenantSet::Only(allowed) = user.scope.resolve(&names, &groups) {
                    let mine: Vec<String> = match c.filter.tenants.take() {
                        None => allowed.into_iter().collect(),
                        Some(chosen) => chosen
                            .into_iter()
                            .filter(|t| allowed.iter().any(|a| a.eq_ignore_ascii_case(t)))
                            .collect(),
                    };
                    c.filter.tenants = Some(mine);
                }
                Some(c)
            })
            .collect())
    }

    /// Makes each owner's review that is due: for every enabled owner's
    /// channel with a review schedule, at the latest scheduled time (once
    /// per period, under `msg_r<channel>_<time>`; not for a time before the
    /// channel existed, nor one more than a day past, as after a long
    /// stop), one message of their part of the agenda: awaiting triage, due
    /// soon, changed since triage, overdue, missed. How many.
    pub async fn reviews_due(&self, now: Timestamp) -> Result<usize, StoreError> {
        let channels: Vec<ChannelRow> = self
            .store
            .channels()
            .await?
            .into_iter()
            .filter(|c| c.enabled && c.settings.review.is_some() && c.settings.owner.is_some())
            .collect();
        let mut made = 0;
        let mut agenda = None;
        for c in channels {
            let (Some(review), Some(owner)) = (&c.settings.review, &c.settings.owner) else {
                continue;
            };
            let Ok(kind) = c.kind.parse::<ChannelKind>() else {
                continue;
            };
            if !kind.batches() {
                continue;
            }
            let Some(due) = review.last_at_or_before(now) else {
                continue;
            };
            if due < c.created_at || now.as_datetime() - due.as_datetime() > time::Duration::DAY {
                continue;
            }
            let message_id = format!("msg_r{}_{}", c.id, due.unix_seconds());
            if agenda.is_none() {
                let ownership = changedesk_core::triage::OwnershipMap {
                    entries: self.store.ownership().await?,
                };
                agenda = Some(
                    crate::triage::agenda(
                        &self.store,
                        &ownership,
                        now,
                        now.saturating_add(-time::Duration::days(7)),
                    )
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("the review's agenda: {e}")))?,
                );
            }
            let Some(a) = &agenda else { continue };
            let entries = review_entries(a, owner, self.public_url.as_deref());
            let recipients = if c.settings.recipients.is_empty() {
                self.store
                    .owners()
                    .await?
                    .into_iter()
                    .find(|o| o.name.eq_ignore_ascii_case(owner))
                    .map(|o| vec![o.email])
                    .unwrap_or_default()
            } else {
                c.settings.recipients.clone()
            };
            let links =
                kind == ChannelKind::Email && self.public_url.is_some() && self.keyring.is_some();
            let base = MessageContext {
                entries: Vec::new(),
                channel: c.name.clone(),
                public_url: self.public_url.clone().unwrap_or_default(),
                unsubscribe_url: if links {
                    unsubscribe::PLACEHOLDER.to_string()
                } else {
                    String::new()
                },
                preferences_url: String::new(),
                digest: String::new(),
                review_of: owner.clone(),
            };
            let body = match compose::compose(&self.templates, kind, &entries, &base, &recipients) {
                Ok((body, _)) => body,
                Err(e) => {
                    tracing::warn!(channel = %c.name, error = %e, "an owner's review could not be composed");
                    continue;
                }
            };
            let event = changedesk_core::notify::Event {
                kind: changedesk_core::notify::EventKind::OwnerReview,
                at: now,
                post: None,
                incident: None,
                tenants: Vec::new(),
                owner: Some(owner.clone()),
                changes: Vec::new(),
                reason: Some(format!("{} items", entries.len())),
                target: Some(c.name.clone()),
                ticket_scope: None,
                moves: Vec::new(),
            };
            if self
                .store
                .record_scheduled(c.id, &message_id, &event, &body, now)
                .await?
            {
                made += 1;
            }
        }
        Ok(made)
    }

    /// Records the events of Service Health incidents that changed since
    /// the last sweep: `incident.new` (not for the baseline: an incident
    /// only ever seen in tenants' first loads), `incident.resolved`,
    /// `incident.updated`; the events and the incidents' marks in one
    /// transaction, so each change is told once. How many events.
    pub async fn incident_events(&self, now: Timestamp) -> Result<usize, StoreError> {
        use changedesk_core::notify::{Event, EventKind};
        let changes = self.store.pending_incident_changes(500).await?;
        if changes.is_empty() {
            return Ok(0);
        }
        let mut events = Vec::new();
        let mut marks = Vec::with_capacity(changes.len());
        for c in changes {
            let kind = match c.notified_revision {
                None if c.fresh && !c.tenants.is_empty() => Some(EventKind::IncidentNew),
                None => None,
                Some(_) if c.incident.resolved && c.notified_resolved != Some(true) => {
                    Some(EventKind::IncidentResolved)
                }
                Some(told) if c.revision > told && !c.tenants.is_empty() => {
                    Some(EventKind::IncidentUpdated)
                }
                Some(_) => None,
            };
            marks.push((c.incident.id.clone(), c.revision, c.incident.resolved));
            if let Some(kind) = kind {
                events.push(Event {
                    kind,
                    at: now,
                    post: None,
                    incident: Some(c.incident),
                    tenants: c.tenants,
                    owner: None,
                    changes: Vec::new(),
                    reason: None,
                    target: None,
                    ticket_scope: None,
                    moves: Vec::new(),
                });
            }
        }
        self.store
            .record_incident_events(&events, &marks, now)
            .await?;
        Ok(events.len())
    }

    /// Whether a message may be posted to channel `id` of `kind` now (the
    /// channel's documented rate).
    async fn may_post(
        &self,
        kind: ChannelKind,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (limit, window) = match kind {
            ChannelKind::Teams => (
                i64::from(changedesk_notify::teams::POSTS_PER_WINDOW),
                changedesk_notify::teams::WINDOW,
            ),
            ChannelKind::Slack => (1, changedesk_notify::slack::MIN_INTERVAL),
            ChannelKind::Email
            | ChannelKind::Webhook
            | ChannelKind::ServiceNow
            | ChannelKind::Jira
            | ChannelKind::Glpi
            | ChannelKind::Planner => return Ok(true),
        };
        let since =
            now.saturating_add(-time::Duration::try_from(window).unwrap_or(time::Duration::MINUTE));
        Ok(self.store.delivered_since(id, since).await? < limit)
    }

    fn retry_or_dead(
        &self,
        attempts: u32,
        status: Option<u16>,
        retry_after: Option<Duration>,
        error: String,
        now: Timestamp,
    ) -> DeliveryOutcome {
        if attempts >= changedesk_notify::MAX_ATTEMPTS {
            return DeliveryOutcome::Dead {
                status,
                error: format!("gave up after {attempts} attempts: {error}"),
            };
        }
        // `backoff(n)` is the wait before attempt n; the next is attempts + 1
        let wait =
            changedesk_notify::backoff(attempts.saturating_add(1), retry_after, (self.jitter)());
        let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::DAY);
        DeliveryOutcome::Retry {
            next_attempt_at: now.saturating_add(wait),
            status,
            error,
        }
    }

    /// The key that opens channels' sealed URLs and secrets (`what`: what
    /// cannot be opened without it).
    fn ring(&self, what: &str) -> Result<&Keyring, String> {
        self.keyring.as_deref().ok_or_else(|| {
            format!(
                "no secret key is configured, so {what} cannot be opened: \
                 set CHANGEDESK_SECRET_KEY or [server] secret_key_file"
            )
        })
    }

    /// The channel's sealed URL, opened.
    fn open_url(&self, c: &ChannelRow) -> Result<url::Url, String> {
        let ring = self.ring("the channel's URL")?;
        let url = ring
            .open(&c.url_sealed, &url_context(&c.name))
            .map_err(|e| format!("the channel's URL: {e}"))?;
        url::Url::parse(url.expose_secret())
            .map_err(|_| "the channel's URL is not a URL".to_string())
    }

    /// A connector's credentials, opened (they are sealed as its secret).
    fn open_secret(&self, c: &ChannelRow) -> Result<secrecy::SecretString, String> {
        let ring = self.ring("the connector's credentials")?;
        let sealed = c
            .secret_sealed
            .as_deref()
            .ok_or_else(|| "the connector has no credentials".to_string())?;
        ring.open(sealed, &secret_context(&c.name))
            .map_err(|e| format!("the connector's credentials: {e}"))
    }

    /// The channel's endpoint, its sealed URL and secret opened.
    fn endpoint(&self, c: &ChannelRow) -> Result<WebhookEndpoint, String> {
        let ring = self.ring("the channel's URL")?;
        let url = self.open_url(c)?;
        let mut secrets = Vec::new();
        if let Some(sealed) = &c.secret_sealed {
            let text = ring
                .open(sealed, &secret_context(&c.name))
                .map_err(|e| format!("the channel's signing secret: {e}"))?;
            secrets.push(
                WebhookSecret::parse(text.expose_secret())
                    .map_err(|e| format!("the channel's signing secret: {e}"))?,
            );
        }
        Ok(WebhookEndpoint {
            url,
            secrets,
            allow_private: c.allow_private,
            allow_insecure_http: c.allow_private,
        })
    }

    /// Dispatches, then sends until nothing is due at `now`.
    pub async fn run_once(&self, now: Timestamp) -> Result<RoundSummary, StoreError> {
        let mut summary = RoundSummary::default();
        self.incident_events(now).await?;
        summary.composed += self.reviews_due(now).await?;
        summary.composed += self.reports_due(now).await?;
        let (events, deliveries) = self.dispatch(now).await?;
        summary.events = events;
        summary.deliveries = deliveries;
        loop {
            summary.composed += self.compose_due(now).await?;
            if self.deliver_due(now, &mut summary).await? == 0 {
                break;
            }
        }
        Ok(summary)
    }

    /// Runs until `shutdown` says so (`serve`): a dispatcher and
    /// `SENDERS` senders, concurrently, so that sending never waits for
    /// the fan-out of every pending event, nor the fan-out for sending.
    ///
    /// - The dispatcher records incident events and due reviews every
    ///   `every`; it fans events out and composes batches every `every`,
    ///   at once again while it finds work, and when a sender delivered
    ///   something (a batching channel's next message may be composed).
    /// - Each sender claims at most `concurrency` deliveries at a time (one
    ///   wave of sends, so a claim is finished well within its lease even
    ///   when every send times out, and no sender takes over another's
    ///   claim), sends them as [`Outbox::deliver_due`] does, and records
    ///   their outcomes in one transaction; it claims again at once while
    ///   it finds work, else waits for the dispatcher's wake-up or `every`.
    ///
    /// What was in flight when the process stopped (claimed, its outcome
    /// not committed) is taken over once its lease ran out, and counted,
    /// as with `deliver_due`.
    pub async fn run(
        self,
        every: Duration,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let due = Arc::new(tokio::sync::Notify::new());
        let delivered = Arc::new(tokio::sync::Notify::new());
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..SENDERS {
            let mut sender = self.clone();
            sender.batch = sender
                .batch
                .min(i64::try_from(sender.concurrency.max(1)).unwrap_or(i64::MAX));
            senders.spawn(sender.send_loop(
                every,
                Arc::clone(&clock),
                Arc::clone(&due),
                Arc::clone(&delivered),
                shutdown.clone(),
            ));
        }
        if !self.follow_every.is_zero() {
            senders.spawn(
                self.clone()
                    .follow_loop(Arc::clone(&clock), shutdown.clone()),
            );
        }
        let mut periodic_at = tokio::time::Instant::now();
        loop {
            let now = clock();
            let mut s = RoundSummary::default();
            let periodic = tokio::time::Instant::now() >= periodic_at;
            let round = async {
                if periodic {
                    self.incident_events(now).await?;
                    s.composed += self.reviews_due(now).await?;
                    s.composed += self.reports_due(now).await?;
                }
                let (events, deliveries) =
                    self.dispatch_waking(now, &|| due.notify_waiters()).await?;
                s.events = events;
                s.deliveries = deliveries;
                s.composed += self.compose_due(now).await?;
                Ok::<(), StoreError>(())
            }
            .await;
            if periodic {
                periodic_at = tokio::time::Instant::now() + every;
            }
            if s.composed > 0 {
                due.notify_waiters();
            }
            let busy = s.events > 0 || s.composed > 0;
            match round {
                Ok(()) if busy => tracing::info!(
                    events = s.events,
                    deliveries = s.deliveries,
                    composed = s.composed,
                    "outbox dispatch"
                ),
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox round failed; the next one tries again")
                }
            }
            if busy {
                if *shutdown.borrow() {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(periodic_at) => {}
                _ = delivered.notified() => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        while senders.join_next().await.is_some() {}
    }

    /// The ticket follower of [`Outbox::run`]: a round every
    /// `follow_every`.
    async fn follow_loop(
        self,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            match self.follow_tickets(clock(), follow::FOLLOW_BATCH).await {
                Ok(s) if s.moved > 0 || s.failed > 0 || s.noted > 0 || s.closes > 0 => {
                    tracing::info!(
                        read = s.read,
                        noted = s.noted,
                        closes = s.closes,
                        moved = s.moved,
                        items_changed = s.items_changed,
                        failed = s.failed,
                        conflicts = s.conflicts,
                        "tickets followed"
                    )
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "following tickets failed; the next round tries again")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.follow_every) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    /// One sender of [`Outbox::run`].
    async fn send_loop(
        self,
        every: Duration,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
        due: Arc<tokio::sync::Notify>,
        delivered: Arc<tokio::sync::Notify>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut s = RoundSummary::default();
        loop {
            if *shutdown.borrow() {
                return;
            }
            // listening before looking: a wake-up while claiming is not lost
            let woken = due.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.deliver(clock(), &mut s, true).await {
                Ok(n) if n > 0 => {
                    delivered.notify_one();
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox sending failed; the next round tries again")
                }
            }
            if s != RoundSummary::default() {
                tracing::info!(
                    delivered = s.delivered,
                    retried = s.retried,
                    dead = s.dead,
                    resent = s.resent,
                    "outbox round"
                );
                s = RoundSummary::default();
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}

/// An owner's part of `agenda`, as message entries: each section's rows
/// whose owner is `owner`, the section in the headline.
fn review_entries(
    agenda: &changedesk_core::triage::Agenda,
    owner: &str,
    public_url: Option<&str>,
) -> Vec<Entry> {
    let sections: [(&str, &Vec<changedesk_core::triage::AgendaRow>); 5] = [
        ("Missed its decision deadline", &agenda.missed),
        ("Overdue", &agenda.overdue),
        ("Due soon", &agenda.due_soon),
        ("Changed since triage", &agenda.changed_since_triage),
        ("Awaiting triage", &agenda.awaiting_triage),
    ];
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (headline, rows) in sections {
        for r in rows {
            if !r
                .owner
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(owner))
                || !seen.insert(r.id.clone())
            {
                continue;
            }
            let day = |t: Option<Timestamp>| {
                t.map(|t| t.to_string().chars().take(10).collect::<String>())
                    .unwrap_or_default()
            };
            out.push(Entry {
                kind: "owner.review".into(),
                headline: headline.to_string(),
                post_id: r.id.clone(),
                title: r.title.clone(),
                services: vec![r.workload.clone()],
                category: r.category.as_str().to_string(),
                severity: r.severity.as_str().to_string(),
                major: r.major,
                act_by: day(r.act_by),
                start: day(r.start),
                owner: owner.to_string(),
                changes: r.changed.clone(),
                changedesk_url: public_url
                    .map(|b| format!("{}/posts/{}", b.trim_end_matches('/'), r.id))
                    .unwrap_or_default(),
                admin_url: changedesk_core::notify::admin_center_url(&r.id),
                ..Default::default()
            });
        }
    }
    out
}

/// Whether `channel` hears of `e`: its filter matches; a test, a change
/// request and a pilot task's notice go only to the channel they name.
fn hears_of(
    filter: &ChannelFilter,
    channel: &ChannelRow,
    e: &changedesk_core::notify::Event,
) -> bool {
    use changedesk_core::notify::EventKind;
    let connector = channel
        .kind
        .parse::<ChannelKind>()
        .is_ok_and(ChannelKind::is_connector);
    match e.kind {
        // a test is for its channel; a change request for its connector
        EventKind::Test => e.target.as_deref() == Some(channel.name.as_str()),
        EventKind::ChangeRequested | EventKind::ChangeRevised | EventKind::ChangeClosed => {
            connector && e.target.as_deref() == Some(channel.name.as_str())
        }
        // a pilot task's notice is for the channel its group names, and
        // a tenant-limited channel hears only of its tenants' posts
        EventKind::PilotOpened => {
            !connector
                && e.target.as_deref() == Some(channel.name.as_str())
                && (filter.tenants.is_none() || !filter.visible_tenants(e).is_empty())
        }
        // a connector that opens incidents hears of its tenants' incidents
        EventKind::IncidentNew | EventKind::IncidentUpdated | EventKind::IncidentResolved
            if connector =>
        {
            channel.settings.incidents && filter.matches(e)
        }
        _ if connector => false,
        _ => filter.matches(e) && channel.settings.hears_of(e),
    }
}
