//! The Microsoft Graph client changedesk reads tenants with.
//!
//! [`GraphClient`] lists a tenant's Message Center posts, Service Health
//! issues and health overviews (`/admin/serviceAnnouncement/*`), following
//! every page. It:
//!
//! - authenticates with OAuth 2.0 client credentials, by client secret or by
//!   certificate (a PS256 client assertion), caching each tenant's token and
//!   renewing it before it expires, one renewal at a time per tenant;
//! - retries throttling (`429`, honouring `Retry-After`), `500`/`502`/`503`/
//!   `504`, timeouts, lost connections and truncated pages, with exponential
//!   backoff and full jitter, within a per-operation cap;
//! - reports permanent failures at once, with Microsoft's error code;
//! - keeps each tenant under Graph's request limits with its own budget;
//! - never sends the token anywhere but the tenant's Graph host, and never
//!   puts a secret, a client assertion or a token in an error or a log.
//!
//! [`GraphClient::send_mail`] sends an e-mail from a tenant's mailbox with
//! `POST /users/{sender}/sendMail` (application permission `Mail.Send`),
//! in one attempt whose failure says whether to retry later, fix the app's
//! access or give up ([`GraphError::disposition`]).
//!
//! It knows nothing of the store or of HTTP servers: the caller decides what
//! to do with the items. [`for_each_tenant_concurrently`] runs one task per
//! tenant with bounded concurrency.
//!
//! All sleeping and timing uses `tokio::time`, so tests can pause the clock.

// Outside text (posts, requests, files, command lines) is never sliced or
// indexed by byte position: a real title once crashed import at an en dash.
// A proven-safe index carries a local `allow` with its reason.
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

mod auth;
mod budget;
mod client;
mod concurrent;
mod error;
mod mail;
mod membership;
mod pem;
mod retry;

use std::fmt;
use std::time::Duration;

pub use auth::certificate_not_after;
pub use client::GraphClient;
pub use concurrent::for_each_tenant_concurrently;
pub use error::{Disposition, GraphError, Step};
pub use mail::{GraphMail, MAILBOX_CONCURRENCY, MAX_MAIL_RECIPIENTS, MAX_SEND_MAIL_BYTES};
pub use membership::{Member, Membership, ParsedMembers, SelectSupport, parse_members};

use changedesk_core::config::SyncSettings;

/// The largest page Graph serves (`Prefer: odata.maxpagesize`).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// How a [`GraphClient`] behaves. [`Default`] gives production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Items per page asked for with `Prefer: odata.maxpagesize`; clamped to
    /// `1..=1000`.
    pub page_size: u32,
    /// Limit for one HTTP request, from connecting to the end of the body.
    pub request_timeout: Duration,
    /// Total time one operation ([`GraphClient::fetch`],
    /// [`GraphClient::check_auth`]) may spend on failed attempts and waits
    /// between retries. When the next wait would pass it, the operation gives
    /// up with [`GraphError::GaveUp`].
    pub max_retry_time: Duration,
    /// The first backoff ceiling; it doubles with each retry of a request.
    pub backoff_base: Duration,
    /// The largest backoff ceiling. A server's `Retry-After` is honoured even
    /// when longer.
    pub backoff_max: Duration,
    /// Graph requests per tenant (and app) in any 60 seconds. Graph allows 240.
    pub per_minute: u32,
    /// Graph requests per tenant (and app) in any hour. Graph allows 800.
    pub per_hour: u32,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            page_size: MAX_PAGE_SIZE,
            request_timeout: Duration::from_secs(60),
            max_retry_time: Duration::from_secs(120),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            per_minute: 200,
            per_hour: 750,
            user_agent: concat!("changedesk/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl ClientOptions {
    /// The defaults with the configuration's `[sync]` values applied
    /// (page size, retry cap, request budget).
    pub fn from_sync(sync: &SyncSettings) -> Self {
        ClientOptions {
            page_size: sync.page_size,
            max_retry_time: sync.max_retry_time,
            per_minute: sync.requests_per_minute,
            per_hour: sync.requests_per_hour,
            ..ClientOptions::default()
        }
    }

    /// The options with every value brought into its usable range.
    fn normalized(mut self) -> Self {
        let d = ClientOptions::default();
        self.page_size = self.page_size.clamp(1, MAX_PAGE_SIZE);
        if self.request_timeout.is_zero() {
            self.request_timeout = d.request_timeout;
        }
        if self.backoff_base.is_zero() {
            self.backoff_base = Duration::from_millis(1);
        }
        self.backoff_max = self.backoff_max.max(self.backoff_base);
        self.per_minute = self.per_minute.max(1);
        self.per_hour = self.per_hour.max(1);
        if self.user_agent.trim().is_empty() {
            self.user_agent = d.user_agent;
        }
        self
    }
}

/// A collection under `/v1.0/admin/serviceAnnouncement/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Message Center posts (`serviceUpdateMessage`); needs
    /// ServiceMessage.Read.All.
    Messages,
    /// Service Health issues (`serviceHealthIssue`); needs
    /// ServiceHealth.Read.All.
    Issues,
    /// The current health of each service (`serviceHealth`); needs
    /// ServiceHealth.Read.All.
    HealthOverviews,
}

impl Resource {
    pub const ALL: [Resource; 3] = [
        Resource::Messages,
        Resource::Issues,
        Resource::HealthOverviews,
    ];

    /// The application permission (Graph app role) reading it needs.
    pub fn permission(self) -> &'static str {
        match self {
            Resource::Messages => "ServiceMessage.Read.All",
            Resource::Issues | Resource::HealthOverviews => "ServiceHealth.Read.All",
        }
    }

    /// The last path segment: `messages`, `issues` or `healthOverviews`.
    pub fn path(self) -> &'static str {
        match self {
            Resource::Messages => "messages",
            Resource::Issues => "issues",
            Resource::HealthOverviews => "healthOverviews",
        }
    }

    /// Whether [`GraphClient::fetch`] can ask for items modified since an
    /// instant (`$filter=lastModifiedDateTime ge …`).
    pub fn supports_since(self) -> bool {
        matches!(self, Resource::Messages | Resource::Issues)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// Everything one [`GraphClient::fetch`] read, with what it took.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The items of every page, in Graph's order, as Graph sent them: each
    /// item's JSON text (checked to be JSON), not a parsed tree. A tenant's
    /// listing is megabytes, and its tree several times that; a caller
    /// parses one item at a time (`serde_json::from_str(item.get())`), so
    /// only one item's tree exists at once.
    pub items: Vec<Box<serde_json::value::RawValue>>,
    /// Whether a `$filter` on `lastModifiedDateTime` limited the listing
    /// (then it is not complete: what it lacks is not gone).
    pub filtered: bool,
    /// Pages read.
    pub pages: u32,
    /// HTTP requests sent to Graph, retries included (token requests not).
    pub requests: u32,
    /// Requests that were sent again (after a transient failure or a
    /// rejected token).
    pub retries: u32,
    /// Response body bytes read from Graph (after decompression).
    pub bytes: u64,
    /// Time spent waiting for the tenant's request budget.
    pub budget_wait: Duration,
}
