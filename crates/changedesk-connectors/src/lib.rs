//! changedesk's connectors to the enterprise's change-control systems: the
//! IO boundary where a work item becomes a ticket on the other side and
//! the ticket's state is read back (issue 19).
//!
//! - [`glpi`]: a change in GLPI (legacy `apirest.php`), in a session
//!   opened again when the server ends it, created once per correlation id
//!   kept at the end of its name and searched before every attempt.
//! - [`jira`]: an issue in a Jira Cloud project (REST v3), created once
//!   per correlation id (a label, found through JQL search, which lags
//!   behind writes: after a create that was not answered, the search is
//!   asked until it settles before anything is created again), read back
//!   by its status category, moved by a workflow transition, commented.
//! - [`planner`]: a task in a Microsoft Planner plan through Graph (app
//!   credentials), in a bucket chosen by the connector's rule, assigned to
//!   owners by their Entra object ids, created once per correlation id kept
//!   at the end of its title, every write naming the etag it read (`412`:
//!   read again, write again), completion read back.
//! - [`servicenow`]: a change request in ServiceNow's `change_request`
//!   table (Table API), created **once** per correlation id (looked up
//!   before every create attempt, so a create the instance committed but
//!   never answered is found instead of made again), read back, and given
//!   work notes; Basic auth or OAuth client credentials.
//!
//! A connector never touches the store: the server hands it what to send
//! and records the outcome, as the sync does between `changedesk-graph` and
//! the store. Secrets are held as [`secrecy::SecretString`] and never
//! appear in an error, a log line or a `Debug` output.

pub mod glpi;
pub mod jira;
pub mod planner;
pub mod servicenow;
pub mod target;

use std::time::Duration;

/// What went wrong talking to a change-control system.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The system refused the credentials (401, or an OAuth token refused):
    /// reported on the connector, never retried.
    #[error("the credentials were refused: {0}")]
    Credentials(String),
    /// Still throttled after the attempts a call may make; retry after the
    /// wait the system asked for, when it said.
    #[error("throttled by the system (429){}", .0.map(|d| format!("; retry after {} s", d.as_secs())).unwrap_or_default())]
    Throttled(Option<Duration>),
    /// An error answer: a 4xx is the request's fault (not retried), a 5xx
    /// the system's.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The system's error message, as it gave it.
        message: String,
    },
    /// No answer (timeout, connection refused or dropped): whether the
    /// system acted is unknown.
    #[error("no answer: {0}")]
    Transport(String),
    /// Someone changed the record since it was read: read it again and
    /// decide (not retried as such).
    #[error("changed on the other side meanwhile: {0}")]
    Conflict(String),
    /// An answer that is not what the API documents.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// The configuration cannot be used (a URL, a client).
    #[error("bad configuration: {0}")]
    Config(String),
}

impl ConnectorError {
    /// Whether trying again later may succeed (throttling, a 5xx, no
    /// answer); credentials, a 4xx, a protocol or configuration error will
    /// not get better by themselves.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectorError::Throttled(_) | ConnectorError::Transport(_) => true,
            ConnectorError::Status { status, .. } => *status >= 500,
            ConnectorError::Credentials(_)
            | ConnectorError::Conflict(_)
            | ConnectorError::Protocol(_)
            | ConnectorError::Config(_) => false,
        }
    }
}

/// How a connector retries within one call: at most `attempts` tries,
/// waiting what the system asks (`Retry-After`) or, without it, `base`
/// doubled each time; a wait longer than `max_wait` ends the call instead
/// (the caller's outbox retries later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per call, the first included (at least 1).
    pub attempts: u32,
    /// The first wait without `Retry-After`.
    pub base: Duration,
    /// The longest wait a call sits through.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `next` (2, 3, …) after a transient failure that
    /// asked for `retry_after`, or `None` when the call should stop: no
    /// tries left, or a wait over `max_wait`.
    pub fn wait_before(&self, next: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if next > self.attempts.max(1) {
            return None;
        }
        let doubled = self
            .base
            .saturating_mul(1u32 << next.saturating_sub(2).min(16));
        let wait = retry_after.unwrap_or(doubled);
        (wait <= self.max_wait).then_some(wait)
    }
}

impl RetryPolicy {
    /// The wait before try `attempt` after `e`, or `None` to stop: `e` is
    /// not transient, or [`RetryPolicy::wait_before`] says so.
    pub(crate) fn retry_wait(
        &self,
        e: &ConnectorError,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if !e.is_transient() {
            return None;
        }
        self.wait_before(attempt, retry_after)
    }
}

/// An answer read whole.
pub(crate) struct Answer {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) retry_after: Option<Duration>,
    /// `Last-Modified`, as sent.
    pub(crate) last_modified: Option<String>,
    /// The JSON body (`Null` when empty or not JSON).
    pub(crate) body: serde_json::Value,
}

/// Reads an answer whole: its status, `Retry-After` (seconds) and JSON body
/// (`Null` when empty or not JSON).
pub(crate) async fn read_answer(response: reqwest::Response) -> Result<Answer, ConnectorError> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let last_modified = response
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.map_err(transport)?;
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(Answer {
        status,
        retry_after,
        last_modified,
        body,
    })
}

/// An answer body read as JSON for a `parse_*` function: anything that is
/// not JSON is a [`ConnectorError::Protocol`].
pub(crate) fn json_body(body: &[u8]) -> Result<serde_json::Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| ConnectorError::Protocol(format!("not JSON: {e}")))
}

/// No answer, with the error's chain (its URL holds no secret: they travel
/// in headers and forms).
pub(crate) fn transport(e: reqwest::Error) -> ConnectorError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ConnectorError::Transport(message)
}

/// Sends (an idempotent request) until it succeeds, fails for good
/// (`error_of` tells what an unsuccessful answer means), or the policy
/// says stop.
pub(crate) async fn retrying<F, Fut>(
    policy: &RetryPolicy,
    error_of: impl Fn(&Answer) -> ConnectorError,
    mut send: F,
) -> Result<Answer, ConnectorError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Answer, ConnectorError>>,
{
    let mut attempt = 1;
    loop {
        let (e, retry_after) = match send().await {
            Ok(answer) if answer.status.is_success() => return Ok(answer),
            Ok(answer) => (error_of(&answer), answer.retry_after),
            Err(e) => (e, None),
        };
        attempt += 1;
        match policy.retry_wait(&e, attempt, retry_after) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return Err(e),
        }
    }
}

/// A system's API as a connector talks to it: one request (signed in),
/// what an unsuccessful answer means, and the retries; [`Api::call`] and
/// [`Api::call_once`] are built on them.
pub(crate) trait Api {
    /// The retries within one call.
    fn retry(&self) -> &RetryPolicy;

    /// The error an unsuccessful answer stands for.
    fn error_of(&self, answer: &Answer) -> ConnectorError;

    /// One request, signed in.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ConnectorError>;

    /// An idempotent request: retried per the policy.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ConnectorError> {
        retrying(
            self.retry(),
            |a| self.error_of(a),
            || self.send(method.clone(), path, query, body),
        )
        .await
    }

    /// One attempt to create (for [`create_once`]): the answer when it
    /// succeeded, else why — a 5xx or no answer may have created it.
    async fn attempt(&self, path: &str, body: &serde_json::Value) -> Result<Answer, Failed> {
        match self
            .send(reqwest::Method::POST, path, &[], Some(body))
            .await
        {
            Ok(answer) if answer.status.is_success() => Ok(answer),
            Ok(answer) => Err(Failed {
                error: self.error_of(&answer),
                retry_after: answer.retry_after,
                unseen: answer.status.is_server_error(),
            }),
            Err(e) => Err(Failed::unanswered(e)),
        }
    }

    /// A request that is not idempotent (a note, a comment): sent again
    /// only when the system refused it unprocessed (429); no answer or
    /// another error is the caller's to decide.
    async fn call_once(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Answer, ConnectorError> {
        let mut attempt = 1;
        loop {
            let answer = self.send(method.clone(), path, &[], Some(body)).await?;
            if answer.status.is_success() {
                return Ok(answer);
            }
            let e = self.error_of(&answer);
            attempt += 1;
            let wait = match e {
                ConnectorError::Throttled(_) => {
                    self.retry().wait_before(attempt, answer.retry_after)
                }
                _ => None,
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(e),
            }
        }
    }
}

/// The error of an unsuccessful answer with `status` and the system's
/// `message`: 401 refused credentials, 429 throttled, 409 a conflict,
/// else the status.
pub(crate) fn error_for(answer: &Answer, message: String) -> ConnectorError {
    match answer.status {
        reqwest::StatusCode::UNAUTHORIZED => ConnectorError::Credentials(if message.is_empty() {
            "401".to_owned()
        } else {
            message
        }),
        reqwest::StatusCode::TOO_MANY_REQUESTS => ConnectorError::Throttled(answer.retry_after),
        reqwest::StatusCode::CONFLICT => ConnectorError::Conflict(message),
        s => ConnectorError::Status {
            status: s.as_u16(),
            message,
        },
    }
}

/// An attempt to create that failed: why, the wait the system asked for,
/// and whether it may have created the record unseen (no answer, or a 5xx
/// for a system that may commit before failing).
pub(crate) struct Failed {
    pub(crate) error: ConnectorError,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) unseen: bool,
}

impl Failed {
    /// No answer: the record may exist.
    pub(crate) fn unanswered(error: ConnectorError) -> Failed {
        Failed {
            error,
            retry_after: None,
            unseen: true,
        }
    }
}

/// Creates a record once: `find` (told whether the last attempt may have
/// created it unseen) looks for it by its correlation id before every
/// attempt, and what it finds is returned instead of made; `post` makes
/// it. After an attempt that may have created it unseen, the next look
/// waits `after_unseen` at least. Transient failures are retried per the
/// policy. The `bool` says whether this call's create was answered.
pub(crate) async fn create_once<T, Find, FindFut, Post, PostFut>(
    policy: &RetryPolicy,
    after_unseen: Duration,
    mut find: Find,
    mut post: Post,
) -> Result<(T, bool), ConnectorError>
where
    Find: FnMut(bool) -> FindFut,
    FindFut: std::future::Future<Output = Result<Option<T>, ConnectorError>>,
    Post: FnMut() -> PostFut,
    PostFut: std::future::Future<Output = Result<T, Failed>>,
{
    let mut attempt = 1;
    let mut unseen = false;
    loop {
        if let Some(found) = find(unseen).await? {
            return Ok((found, false));
        }
        let failed = match post().await {
            Ok(made) => return Ok((made, true)),
            Err(failed) => failed,
        };
        unseen = failed.unseen;
        attempt += 1;
        match policy.retry_wait(&failed.error, attempt, failed.retry_after) {
            Some(wait) if unseen => tokio::time::sleep(wait.max(after_unseen)).await,
            Some(wait) => tokio::time::sleep(wait).await,
            None => return Err(failed.error),
        }
    }
}

/// A token by OAuth 2.0 client credentials: `form` posted to `url`, and
/// how long the token lives (`expires_in`, else `default_life`). A refusal
/// (400, 401) is [`ConnectorError::Credentials`].
pub(crate) async fn client_credentials_token(
    http: &reqwest::Client,
    url: url::Url,
    form: &[(&str, &str)],
    default_life: Duration,
) -> Result<(secrecy::SecretString, Duration), ConnectorError> {
    let answer = read_answer(
        http.post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(transport)?,
    )
    .await?;
    if matches!(
        answer.status,
        reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::BAD_REQUEST
    ) {
        let why = answer
            .body
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("refused");
        return Err(ConnectorError::Credentials(format!(
            "the OAuth client was refused ({why})"
        )));
    }
    if !answer.status.is_success() {
        return Err(error_for(&answer, String::new()));
    }
    let token = answer
        .body
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ConnectorError::Protocol("a token answer without access_token".into()))?;
    let life = answer
        .body
        .get("expires_in")
        .and_then(serde_json::Value::as_u64)
        .map_or(default_life, Duration::from_secs);
    Ok((secrecy::SecretString::from(token.to_owned()), life))
}

/// An OAuth access token, kept until a minute before it expires.
#[derive(Default)]
pub(crate) struct TokenCache(
    tokio::sync::Mutex<Option<(secrecy::SecretString, std::time::Instant)>>,
);

impl TokenCache {
    /// The token kept, else one from `fetch` (a token and how long it
    /// lives), kept from then on.
    pub(crate) async fn get<F>(&self, fetch: F) -> Result<secrecy::SecretString, ConnectorError>
    where
        F: std::future::Future<Output = Result<(secrecy::SecretString, Duration), ConnectorError>>,
    {
        let mut kept = self.0.lock().await;
        if let Some((token, until)) = kept.as_ref()
            && std::time::Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, life) = fetch.await?;
        let until = std::time::Instant::now() + life.saturating_sub(Duration::from_secs(60));
        *kept = Some((token.clone(), until));
        Ok(token)
    }

    /// Forgets the token (the system refused it): the next call fetches one.
    pub(crate) async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

/// A system's base URL, checked (http or https) and ending with `/` so that
/// relative paths join below it.
pub(crate) fn base_url(mut url: url::Url, what: &str) -> Result<url::Url, ConnectorError> {
    if !matches!(url.scheme(), "https" | "http") {
        return Err(ConnectorError::Config(format!(
            "the {what} URL must be https://… (got {})",
            url.scheme()
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Whether `id` can be a correlation id: 1 to `max` letters, digits, `-`,
/// `_` or `.` (it goes into labels, names and queries unescaped).
pub(crate) fn correlation_ok(id: &str, max: usize) -> Result<(), ConnectorError> {
    let ok = !id.is_empty()
        && id.chars().count() <= max
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ConnectorError::Config(format!(
            "a correlation id must be 1 to {max} letters, digits, `-`, `_` or `.`: {id:?}"
        )))
    }
}

/// The reqwest client a connector uses: a timeout for the whole request,
/// no redirects (a 3xx is an error, and could lead anywhere), no proxy from
/// the environment, and ring as the process's rustls provider.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, ConnectorError> {
    // an already installed provider is fine
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("changedesk/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| ConnectorError::Config(format!("HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_honours_retry_after_and_stops() {
        let p = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(100),
            max_wait: Duration::from_secs(5),
        };
        assert_eq!(p.wait_before(2, None), Some(Duration::from_millis(100)));
        assert_eq!(p.wait_before(3, None), Some(Duration::from_millis(200)));
        assert_eq!(p.wait_before(4, None), None, "three tries at most");
        assert_eq!(
            p.wait_before(2, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.wait_before(2, Some(Duration::from_secs(60))),
            None,
            "a longer wait is the caller's"
        );
    }

    #[test]
    fn what_is_transient() {
        assert!(ConnectorError::Throttled(None).is_transient());
        assert!(ConnectorError::Transport("reset".into()).is_transient());
        assert!(
            ConnectorError::Status {
                status: 503,
                message: String::new()
            }
            .is_transient()
        );
        assert!(
            !ConnectorError::Status {
                status: 400,
                message: String::new()
            }
            .is_transient()
        );
        assert!(!ConnectorError::Credentials("no".into()).is_transient());
    }
}
