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
use changedesk_core::notify::{ChannelFilter, message_id, payload};
use changedesk_notify::{SendOutcome, WebhookEndpoint, WebhookSecret, WebhookSender};
use changedesk_secrets::Keyring;
use changedesk_store::{
    ChannelRow, ClaimedDelivery, DeliveryOutcome, NewDelivery, Store, StoreError,
};
use futures::StreamExt as _;
use secrecy::ExposeSecret as _;
use serde::Serialize;

/// The context a channel's URL is sealed for.
pub fn url_context(channel: &str) -> String {
    format!("channel/{}/url", channel.trim().to_ascii_lowercase())
}

/// The context a channel's signing secret is sealed for.
pub fn secret_context(channel: &str) -> String {
    format!("channel/{}/secret", channel.trim().to_ascii_lowercase())
}

/// The most channels changedesk keeps (each event is matched to each).
pub const MAX_CHANNELS: usize = 1000;

/// A person's request for a signed webhook channel (CLI, API, web UI).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    /// 1 to 64 letters, digits, `-` or `_`.
    pub name: String,
    /// The endpoint: https (plain http only with `allow_private`).
    pub webhook: String,
    /// The signing secret (`whsec_…`); none: a new one, shown once.
    #[serde(default)]
    pub secret: Option<String>,
    /// Only these events (`post.routed`, `post.changed`, `item.reopened`,
    /// `rule.notify`, `item.due_soon`, `item.overdue`, `item.missed`); none:
    /// every event.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only posts of these services.
    #[serde(default)]
    pub services: Vec<String>,
    /// Only posts of these severities (`normal`, `high`, `critical`).
    #[serde(default)]
    pub severities: Vec<String>,
    /// Only major changes.
    #[serde(default)]
    pub major: bool,
    /// Only these tenants: the channel hears only of them, never of others.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Allow private, loopback and plain-http targets (a receiver on this
    /// network).
    #[serde(default)]
    pub allow_private: bool,
}

/// Checks `req` and seals its URL and secret with `ring`: the channel to
/// store, and the signing secret's text when it was made here (to show
/// once). `known` are the tenants that exist. Errors say what to fix.
pub fn new_channel(
    ring: &Keyring,
    req: &ChannelRequest,
    known: &[String],
    actor: &str,
    at: Timestamp,
) -> Result<(changedesk_store::NewChannel, Option<secrecy::SecretString>), String> {
    use changedesk_core::notify::EventKind;
    use changedesk_core::text::clip_chars;
    let name = req.name.trim().to_ascii_lowercase();
    if name.is_empty()
        || name.chars().count() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("a channel name is 1 to 64 letters, digits, `-` or `_`".into());
    }
    let url = url::Url::parse(req.webhook.trim())
        .map_err(|_| "the webhook is not a URL (https://…)".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if req.allow_private => {}
        "http" => {
            return Err("the webhook must be https (plain http only when private targets are allowed, for a local receiver)".into());
        }
        _ => return Err("the webhook must be an https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the webhook must not carry a user name or password".into());
    }
    let events = req
        .events
        .iter()
        .map(|e| e.parse::<EventKind>())
        .collect::<Result<Vec<_>, _>>()?;
    for s in &req.severities {
        if !["normal", "high", "critical"].contains(&s.trim().to_ascii_lowercase().as_str()) {
            return Err(format!(
                "severity `{}` is not normal, high or critical",
                clip_chars(s, 40)
            ));
        }
    }
    for t in &req.tenants {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(t.trim())) {
            return Err(format!("no tenant is named `{}`", clip_chars(t, 60)));
        }
    }
    if req.services.len() + req.tenants.len() + req.severities.len() > 10_000 {
        return Err("at most 10,000 services, severities and tenants".into());
    }
    let (secret, generated) = match &req.secret {
        Some(s) => {
            WebhookSecret::parse(s.trim()).map_err(|e| format!("the signing secret: {e}"))?;
            (secrecy::SecretString::from(s.trim().to_string()), false)
        }
        None => (
            WebhookSecret::generate().map_err(|e| e.to_string())?.1,
            true,
        ),
    };
    let seal = |text: &str, context: String| ring.seal(text, &context).map_err(|e| e.to_string());
    let channel = changedesk_store::NewChannel {
        url_sealed: seal(url.as_str(), url_context(&name))?,
        secret_sealed: Some(seal(secret.expose_secret(), secret_context(&name))?),
        name,
        kind: "webhook".into(),
        filter: ChannelFilter {
            events,
            services: req.services.iter().map(|s| s.trim().to_string()).collect(),
            severities: req
                .severities
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
            major_only: req.major,
            tenants: (!req.tenants.is_empty()).then(|| {
                req.tenants
                    .iter()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .collect()
            }),
        },
        allow_private: req.allow_private,
        created_by: actor.to_string(),
        at,
    };
    Ok((channel, generated.then_some(secret)))
}

/// A test event for the channel `name` ("send a test").
pub fn test_event(name: &str, at: Timestamp) -> changedesk_core::notify::Event {
    changedesk_core::notify::Event {
        kind: changedesk_core::notify::EventKind::Test,
        at,
        post: None,
        tenants: Vec::new(),
        owner: None,
        changes: Vec::new(),
        reason: Some("a test of the channel".into()),
        target: Some(name.trim().to_ascii_lowercase()),
    }
}

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
}

/// The worker's settings and connections.
#[derive(Clone)]
pub struct Outbox {
    pub store: Store,
    /// The key of sealed channel credentials (`None`: not configured;
    /// deliveries then fail with the reason, and are retried).
    pub keyring: Option<Arc<Keyring>>,
    pub sender: WebhookSender,
    /// changedesk's address, for links in messages.
    pub public_url: Option<String>,
    /// How long a claim lasts before another worker may take it over.
    pub lease: Duration,
    /// Deliveries claimed at once.
    pub batch: i64,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// Random numbers in 0..1 for the backoff's jitter.
    pub jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    /// The Unix time a message is signed at (`webhook-timestamp`): the
    /// receiver compares it with its own clock, so it is the real time of
    /// the attempt even when the worker's schedule runs on another clock
    /// (a demo, a test).
    pub wall_clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl Outbox {
    /// An outbox with the defaults: a 60 s lease, 200 claimed and 32 sent
    /// at once.
    pub fn new(store: Store, keyring: Option<Arc<Keyring>>, sender: WebhookSender) -> Outbox {
        Outbox {
            store,
            keyring,
            sender,
            public_url: None,
            lease: Duration::from_secs(60),
            batch: 200,
            concurrency: 32,
            jitter: Arc::new(rand::random::<f64>),
            wall_clock: Arc::new(|| Timestamp::now_utc().unix_seconds()),
        }
    }

    /// Fans every pending event out to its deliveries.
    pub async fn dispatch(&self, now: Timestamp) -> Result<(usize, usize), StoreError> {
        let (mut events, mut deliveries) = (0, 0);
        loop {
            let pending = self.store.pending_events(200).await?;
            if pending.is_empty() {
                return Ok((events, deliveries));
            }
            let channels: Vec<ChannelRow> = self
                .store
                .channels()
                .await?
                .into_iter()
                .filter(|c| c.enabled)
                .collect();
            for e in &pending {
                let made: Vec<NewDelivery> = channels
                    .iter()
                    .filter(|c| hears_of(&c.filter, c, &e.event))
                    .map(|c| NewDelivery {
                        channel_id: c.id,
                        message_id: message_id(e.id, c.id),
                        body: payload(e.id, &e.event, &c.filter, self.public_url.as_deref())
                            .to_string(),
                    })
                    .collect();
                self.store.dispatch_event(e.id, &made, now).await?;
                events += 1;
                deliveries += made.len();
            }
        }
    }

    /// Sends what is due at `now` (one claim of up to `batch`).
    pub async fn deliver_due(
        &self,
        now: Timestamp,
        summary: &mut RoundSummary,
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
        for (d, outcome, gone) in results {
            summary.resent += usize::from(d.taken_over);
            match &outcome {
                DeliveryOutcome::Delivered { .. } => summary.delivered += 1,
                DeliveryOutcome::Retry { .. } => summary.retried += 1,
                DeliveryOutcome::Dead { .. } => summary.dead += 1,
            }
            self.store.finish_delivery(d.id, &outcome, now).await?;
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
        let endpoint = match self.endpoint(channel) {
            Ok(e) => e,
            Err(error) => return (self.retry_or_dead(attempts, None, None, error, now), false),
        };
        let outcome = self
            .sender
            .send(
                &endpoint,
                &d.message_id,
                d.body.as_bytes(),
                (self.wall_clock)(),
            )
            .await;
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

    /// The channel's endpoint, its sealed URL and secret opened.
    fn endpoint(&self, c: &ChannelRow) -> Result<WebhookEndpoint, String> {
        let ring = self.keyring.as_deref().ok_or_else(|| {
            "no secret key is configured, so the channel's URL cannot be opened: \
             set CHANGEDESK_SECRET_KEY or [server] secret_key_file"
                .to_string()
        })?;
        let url = ring
            .open(&c.url_sealed, &url_context(&c.name))
            .map_err(|e| format!("the channel's URL: {e}"))?;
        let url = url::Url::parse(url.expose_secret())
            .map_err(|_| "the channel's URL is not a URL".to_string())?;
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
        let (events, deliveries) = self.dispatch(now).await?;
        summary.events = events;
        summary.deliveries = deliveries;
        while self.deliver_due(now, &mut summary).await? > 0 {}
        Ok(summary)
    }

    /// Runs rounds every `every` until `shutdown` says so (`serve`).
    pub async fn run(
        self,
        every: Duration,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            match self.run_once(clock()).await {
                Ok(s) if s != RoundSummary::default() => tracing::info!(
                    events = s.events,
                    deliveries = s.deliveries,
                    delivered = s.delivered,
                    retried = s.retried,
                    dead = s.dead,
                    resent = s.resent,
                    "outbox round"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox round failed; the next one tries again")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}

/// Whether `channel` hears of `e`: its filter matches, and a test goes
/// only to the channel it names.
fn hears_of(
    filter: &ChannelFilter,
    channel: &ChannelRow,
    e: &changedesk_core::notify::Event,
) -> bool {
    if e.kind == changedesk_core::notify::EventKind::Test {
        return e.target.as_deref() == Some(channel.name.as_str());
    }
    filter.matches(e)
}
