//! Public change feeds, read over HTTP: the Microsoft 365 roadmap's v1 JSON
//! (integrations.md §9), and what every feed read shares — a browser-like
//! `User-Agent` (some hosts refuse unknown clients), conditional requests
//! (`If-None-Match`, `If-Modified-Since`) when the last answer gave
//! validators, a bound on the body, a timeout, and an error for every
//! answer but 200 and 304 so the caller keeps its last good copy.
//!
//! Parsing is core's (`changedesk_core::roadmap`); this crate is the IO.

use std::time::Duration;

use changedesk_core::roadmap::{RoadmapError, RoadmapFeed, parse_roadmap_json};

/// The roadmap's public JSON feed.
pub const ROADMAP_URL: &str = "https://www.microsoft.com/releasecommunications/api/v1/m365";

/// The `User-Agent` sent: browser-like, as the roadmap's host wants, and
/// naming changedesk.
pub const USER_AGENT: &str = concat!(
    "Mozilla/5.0 (compatible; changedesk/",
    env!("CARGO_PKG_VERSION"),
    "; +https://github.com/changedesk/changedesk)"
);

/// The largest body read (the whole roadmap is about 3.5 MB).
pub const MAX_FEED_BYTES: usize = 64 << 20;

/// What the last answer said to ask with next time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A feed's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: what was read last time still holds.
    NotModified,
    /// 200: the body (UTF-8) and the validators to send next time.
    Fresh {
        body: String,
        validators: Validators,
    },
}

/// Why a feed could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Config(String),
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("cannot reach {url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url} sent more than {MAX_FEED_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url} sent a body that is not UTF-8 text")]
    NotText { url: String },
    #[error("{url}: {source}")]
    Roadmap { url: String, source: RoadmapError },
}

/// An HTTP client for public feeds.
#[derive(Debug, Clone)]
pub struct FeedClient {
    http: reqwest::Client,
}

/// The error's chain as one line (reqwest's own text hides its cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

impl FeedClient {
    /// A client whose every request ends within `timeout`. Installs ring as
    /// the process's rustls provider if none is.
    pub fn new(timeout: Duration) -> Result<Self, FeedError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FeedError::Config(format!("HTTP client: {}", chain(&e))))?;
        Ok(Self { http })
    }

    /// Reads `url`, conditionally when `validators` has any.
    pub async fn fetch(&self, url: &str, validators: &Validators) -> Result<Fetched, FeedError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| FeedError::Config(format!("`{url}` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FeedError::Config(format!(
                "`{url}` is not an http or https URL"
            )));
        }
        let mut req = self
            .http
            .get(parsed)
            .header(reqwest::header::ACCEPT, "application/json, */*;q=0.5");
        if let Some(e) = &validators.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(m) = &validators.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
        let transport = |e: reqwest::Error| FeedError::Transport {
            url: url.to_string(),
            message: chain(&e),
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status != reqwest::StatusCode::OK {
            return Err(FeedError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_FEED_BYTES as u64)
        {
            return Err(FeedError::TooLarge {
                url: url.to_string(),
            });
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_FEED_BYTES {
                return Err(FeedError::TooLarge {
                    url: url.to_string(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(body).map_err(|_| FeedError::NotText {
            url: url.to_string(),
        })?;
        Ok(Fetched::Fresh { body, validators })
    }

    /// Reads the roadmap at `url` (the public feed: [`ROADMAP_URL`]) and
    /// parses it; `None` when it has not changed since `validators`.
    pub async fn roadmap(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<Option<(RoadmapFeed, Validators)>, FeedError> {
        match self.fetch(url, validators).await? {
            Fetched::NotModified => Ok(None),
            Fetched::Fresh { body, validators } => {
                let feed = parse_roadmap_json(&body).map_err(|source| FeedError::Roadmap {
                    url: url.to_string(),
                    source,
                })?;
                Ok(Some((feed, validators)))
            }
        }
    }
}
