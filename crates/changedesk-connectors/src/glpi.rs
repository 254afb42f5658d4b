//! GLPI changes through the legacy REST API (`apirest.php`, GLPI 9.1 to 11;
//! `../shared/reference/integrations.md` §3.1).
//!
//! - **A session.** `initSession` with the user's API token
//!   (`Authorization: user_token …`) or Basic, and the API client's
//!   `App-Token` when one is configured; the session token is kept and,
//!   when the server says it is no longer valid, opened again and the call
//!   replayed once.
//! - **Created once.** GLPI has no correlation field, and a POST is not
//!   idempotent: the change's name ends with changedesk's id in brackets
//!   (`… [cd-MC1-all]`), and [`Glpi::create_change`] searches for it (the
//!   search engine's name criterion, `contains`) before every attempt.
//! - **No throttling, no conditional write** in this API: 5xx and no
//!   answer are retried per the [`RetryPolicy`]; [`Glpi::update_if_unchanged`]
//!   compares `date_mod` just before writing.
//! - Errors are `["ERROR_CODE","message"]` arrays with an HTTP status.

use std::time::Duration;

use base64::Engine as _;
use changedesk_core::change_control::TicketProgress;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use url::Url;

use crate::TokenCache;
use crate::{
    Answer, Api, ConnectorError, Failed, RetryPolicy, base_url, client_credentials_token,
    correlation_ok, create_once, error_for, http_client, read_answer, retrying, transport,
};

/// How changedesk signs in.
#[derive(Debug, Clone)]
pub enum GlpiAuth {
    /// The user's API token (`Authorization: user_token …`).
    UserToken(SecretString),
    /// Login and password (`Authorization: Basic`).
    Basic {
        /// The login.
        login: String,
        /// The password.
        password: SecretString,
    },
}

/// A GLPI connector's settings.
#[derive(Debug, Clone)]
pub struct GlpiSettings {
    /// The API's base, e.g. `https://glpi.example/apirest.php/` (a
    /// trailing `/` is added when missing).
    pub api: Url,
    /// How to sign in.
    pub auth: GlpiAuth,
    /// The API client's app token, when the server has one configured.
    pub app_token: Option<SecretString>,
    /// The entity changes are made in.
    pub entities_id: i64,
    /// The longest a request may take.
    pub timeout: Duration,
    /// Retries within one call.
    pub retry: RetryPolicy,
}

impl GlpiSettings {
    /// Settings with entity 0, a 30 s timeout and the default retries.
    pub fn new(api: Url, auth: GlpiAuth, app_token: Option<SecretString>) -> GlpiSettings {
        GlpiSettings {
            api,
            auth,
            app_token,
            entities_id: 0,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A change to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGlpiChange {
    /// changedesk's id for it, kept at the end of its name in brackets:
    /// letters, digits, `-`, `_` and `.` only.
    pub correlation_id: String,
    /// The title (cut, by characters, to leave room for the id).
    pub name: String,
    /// The body, as HTML (escaped by the caller).
    pub content_html: String,
    /// 1 (very high) to 5 (very low).
    pub urgency: u8,
    /// 1 (very high) to 5 (very low).
    pub impact: u8,
}

/// A change's status (`CommonITILObject`; changes use 1, 9, 10, 7, 4, 11,
/// 12, 5, 8, 6; another value is kept as given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlpiStatus {
    /// 1
    New,
    /// 2
    Processing,
    /// 3
    Planned,
    /// 4
    Pending,
    /// 5 (solved; "Applied" for changes)
    Applied,
    /// 6
    Closed,
    /// 7
    Accepted,
    /// 8
    Review,
    /// 9
    Evaluation,
    /// 10
    Approval,
    /// 11
    Test,
    /// 12
    Qualification,
    /// Any other value.
    Other(i64),
}

impl GlpiStatus {
    /// The status of a `status` value.
    pub fn from_value(v: i64) -> GlpiStatus {
        match v {
            1 => GlpiStatus::New,
            2 => GlpiStatus::Processing,
            3 => GlpiStatus::Planned,
            4 => GlpiStatus::Pending,
            5 => GlpiStatus::Applied,
            6 => GlpiStatus::Closed,
            7 => GlpiStatus::Accepted,
            8 => GlpiStatus::Review,
            9 => GlpiStatus::Evaluation,
            10 => GlpiStatus::Approval,
            11 => GlpiStatus::Test,
            12 => GlpiStatus::Qualification,
            other => GlpiStatus::Other(other),
        }
    }

    /// Its name (another value: the number).
    pub fn label(self) -> String {
        match self {
            GlpiStatus::New => "new".to_owned(),
            GlpiStatus::Processing => "processing".to_owned(),
            GlpiStatus::Planned => "planned".to_owned(),
            GlpiStatus::Pending => "pending".to_owned(),
            GlpiStatus::Applied => "applied".to_owned(),
            GlpiStatus::Closed => "closed".to_owned(),
            GlpiStatus::Accepted => "accepted".to_owned(),
            GlpiStatus::Review => "review".to_owned(),
            GlpiStatus::Evaluation => "evaluation".to_owned(),
            GlpiStatus::Approval => "approval".to_owned(),
            GlpiStatus::Test => "test".to_owned(),
            GlpiStatus::Qualification => "qualification".to_owned(),
            GlpiStatus::Other(v) => v.to_string(),
        }
    }

    /// Whether the change is over (applied or closed).
    pub fn is_final(self) -> bool {
        matches!(self, GlpiStatus::Applied | GlpiStatus::Closed)
    }

    /// Where the change stands for changedesk: processing, planned, pending,
    /// test and review in progress; applied and closed done; the rest
    /// (new, evaluation, approval, accepted, qualification, another) open.
    /// GLPI has no canceled status of its own.
    pub fn progress(self) -> TicketProgress {
        match self {
            GlpiStatus::Processing
            | GlpiStatus::Planned
            | GlpiStatus::Pending
            | GlpiStatus::Test
            | GlpiStatus::Review => TicketProgress::InProgress,
            GlpiStatus::Applied | GlpiStatus::Closed => TicketProgress::Done,
            _ => TicketProgress::Open,
        }
    }
}

/// A change as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlpiChangeRef {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: GlpiStatus,
    /// When it was last modified (`YYYY-MM-DD HH:MM:SS`).
    pub date_mod: String,
}

/// A number that GLPI may send as a number or a string.
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl GlpiChangeRef {
    /// A change from `GET Change/{id}`'s object (`id`, `name`, `status`,
    /// `date_mod`) or a search row's (`2`, `1`, `12`, `19`).
    fn from_json(v: &Value, search_row: bool) -> Result<GlpiChangeRef, ConnectorError> {
        let (id, name, status, date_mod) = if search_row {
            ("2", "1", "12", "19")
        } else {
            ("id", "name", "status", "date_mod")
        };
        let id = int(v.get(id))
            .ok_or_else(|| ConnectorError::Protocol("a change without an id".into()))?;
        Ok(GlpiChangeRef {
            id,
            name: v.get(name).and_then(Value::as_str).unwrap_or("").to_owned(),
            status: GlpiStatus::from_value(int(v.get(status)).unwrap_or(0)),
            date_mod: v
                .get(date_mod)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        })
    }
}

/// The changes of a search answer's body (`{"data":[…]}`, or `data` an
/// object keyed by id) or a change's object alone: what the connector reads
/// of any answer, changes or an error, never a panic (fuzzed:
/// `fuzz/fuzz_targets/glpi.rs`).
pub fn parse_changes(body: &[u8]) -> Result<Vec<GlpiChangeRef>, ConnectorError> {
    let value = crate::json_body(body)?;
    changes_in(&value)
}

fn changes_in(value: &Value) -> Result<Vec<GlpiChangeRef>, ConnectorError> {
    match value.get("data") {
        Some(Value::Array(rows)) => rows
            .iter()
            .map(|r| GlpiChangeRef::from_json(r, true))
            .collect(),
        Some(Value::Object(rows)) => rows
            .values()
            .map(|r| GlpiChangeRef::from_json(r, true))
            .collect(),
        Some(_) => Err(ConnectorError::Protocol(
            "`data` is neither a list nor an object".into(),
        )),
        // a search without hits may leave `data` out
        None if value.get("totalcount").is_some() => Ok(Vec::new()),
        None => Ok(vec![GlpiChangeRef::from_json(value, false)?]),
    }
}

/// A GLPI server.
pub struct Glpi {
    settings: GlpiSettings,
    http: reqwest::Client,
    session: tokio::sync::Mutex<Option<SecretString>>,
}

impl std::fmt::Debug for Glpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Glpi")
            .field("api", &self.settings.api.as_str())
            .finish_non_exhaustive()
    }
}

impl Glpi {
    /// A connector to the server of `settings`.
    pub fn new(mut settings: GlpiSettings) -> Result<Glpi, ConnectorError> {
        settings.api = base_url(settings.api, "API")?;
        Ok(Glpi {
            http: http_client(settings.timeout)?,
            settings,
            session: tokio::sync::Mutex::new(None),
        })
    }

    /// Checks that the server answers and takes the credentials (opens a
    /// session, and reads one search row).
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.call(Method::GET, "search/Change", &[("range", "0-0")], None)
            .await
            .map(|_| ())
    }

    /// The change whose name carries `correlation_id`, if any.
    pub async fn find(
        &self,
        correlation_id: &str,
    ) -> Result<Option<GlpiChangeRef>, ConnectorError> {
        self.find_in("Change", correlation_id).await
    }

    /// The ticket (an incident) whose name carries `correlation_id`, if any.
    pub async fn find_ticket(
        &self,
        correlation_id: &str,
    ) -> Result<Option<GlpiChangeRef>, ConnectorError> {
        self.find_in("Ticket", correlation_id).await
    }

    async fn find_in(
        &self,
        itemtype: &str,
        correlation_id: &str,
    ) -> Result<Option<GlpiChangeRef>, ConnectorError> {
        correlation_ok(correlation_id, 100)?;
        let marker = format!("[{correlation_id}]");
        let answer = self
            .call(
                Method::GET,
                &format!("search/{itemtype}"),
                &[
                    ("criteria[0][field]", "1"),
                    ("criteria[0][searchtype]", "contains"),
                    ("criteria[0][value]", marker.as_str()),
                    ("forcedisplay[0]", "2"),
                    ("forcedisplay[1]", "12"),
                    ("forcedisplay[2]", "19"),
                    ("range", "0-49"),
                ],
                None,
            )
            .await?;
        // `contains` is a loose match: the name must end with the marker
        Ok(changes_in(&answer.body)?
            .into_iter()
            .find(|c| c.name.trim_end().ends_with(&marker)))
    }

    /// Reads the change `id`.
    pub async fn get(&self, id: i64) -> Result<GlpiChangeRef, ConnectorError> {
        self.get_in("Change", id).await
    }

    /// Reads the ticket `id` (its `status`: `1` new, `2` processing
    /// (assigned), `3` planned, `4` pending, `5` solved, `6` closed).
    pub async fn get_ticket(&self, id: i64) -> Result<GlpiChangeRef, ConnectorError> {
        self.get_in("Ticket", id).await
    }

    async fn get_in(&self, itemtype: &str, id: i64) -> Result<GlpiChangeRef, ConnectorError> {
        let answer = self
            .call(Method::GET, &format!("{itemtype}/{id}"), &[], None)
            .await?;
        GlpiChangeRef::from_json(&answer.body, false)
    }

    /// Opens an incident (a `Ticket` of type 1), once per correlation id,
    /// as [`Glpi::create_change`] creates a change.
    pub async fn create_incident(
        &self,
        new: &NewGlpiChange,
    ) -> Result<(GlpiChangeRef, bool), ConnectorError> {
        self.create_in("Ticket", new, Some(1)).await
    }

    /// Adds a follow-up to the ticket `id` (not idempotent, as
    /// [`Glpi::add_followup`]).
    pub async fn add_ticket_followup(
        &self,
        id: i64,
        content_html: &str,
    ) -> Result<(), ConnectorError> {
        self.followup_on("Ticket", id, content_html).await
    }

    /// Solves the ticket `id` (status 5) unless it is solved or closed
    /// already; the ticket as it is then. Setting the status again changes
    /// nothing: retried like a read.
    pub async fn solve_ticket(&self, id: i64) -> Result<GlpiChangeRef, ConnectorError> {
        let now = self.get_ticket(id).await?;
        if !now.status.is_final() {
            let body = json!({"input": {"status": 5}});
            self.call(Method::PUT, &format!("Ticket/{id}"), &[], Some(&body))
                .await?;
        }
        self.get_ticket(id).await
    }

    /// Creates the change, once: the change already carrying its
    /// correlation id is returned instead (searched before each attempt).
    /// The `bool` says whether this call's create was answered.
    pub async fn create_change(
        &self,
        new: &NewGlpiChange,
    ) -> Result<(GlpiChangeRef, bool), ConnectorError> {
        self.create_in("Change", new, None).await
    }

    /// Creates an item of `itemtype` (a ticket's `type` too), once per
    /// correlation id (searched before each attempt).
    async fn create_in(
        &self,
        itemtype: &str,
        new: &NewGlpiChange,
        ticket_type: Option<u8>,
    ) -> Result<(GlpiChangeRef, bool), ConnectorError> {
        let mut input = json!({
            "name": marked_name(new)?,
            "content": new.content_html,
            "urgency": new.urgency.clamp(1, 5),
            "impact": new.impact.clamp(1, 5),
            "entities_id": self.settings.entities_id,
        });
        if let (Some(t), Some(o)) = (ticket_type, input.as_object_mut()) {
            o.insert("type".into(), t.into());
        }
        let body = json!({ "input": input });
        let path = format!("{itemtype}/");
        create_once(
            &self.settings.retry,
            Duration::ZERO,
            |_| self.find_in(itemtype, &new.correlation_id),
            || async {
                let answer = self.attempt(&path, &body).await?;
                let id = created_id(&answer.body).map_err(Failed::unanswered)?;
                self.get_in(itemtype, id).await.map_err(Failed::unanswered)
            },
        )
        .await
    }

    /// Adds a follow-up to the change `id`. Not idempotent: not retried
    /// but after a 429 (which GLPI does not send); an error is the
    /// caller's to decide.
    pub async fn add_followup(&self, id: i64, content_html: &str) -> Result<(), ConnectorError> {
        self.followup_on("Change", id, content_html).await
    }

    async fn followup_on(
        &self,
        itemtype: &str,
        id: i64,
        content_html: &str,
    ) -> Result<(), ConnectorError> {
        let body =
            json!({"input": {"itemtype": itemtype, "items_id": id, "content": content_html}});
        self.call_once(Method::POST, "ITILFollowup/", &body)
            .await
            .map(|_| ())
    }

    /// Sets `input` on the change `id` unless it was modified since it was
    /// read with `date_mod` ([`ConnectorError::Conflict`]). The legacy API
    /// has no conditional write: `date_mod` is read just before the update,
    /// and a window remains between the two.
    pub async fn update_if_unchanged(
        &self,
        id: i64,
        date_mod: &str,
        input: &Map<String, Value>,
    ) -> Result<GlpiChangeRef, ConnectorError> {
        let now = self.get(id).await?;
        if now.date_mod != date_mod {
            return Err(ConnectorError::Conflict(format!(
                "change {id} was modified at {} (read at {date_mod})",
                now.date_mod
            )));
        }
        let body = json!({ "input": input });
        self.call(Method::PUT, &format!("Change/{id}"), &[], Some(&body))
            .await?;
        self.get(id).await
    }

    fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, ConnectorError> {
        let url = self
            .settings
            .api
            .join(path)
            .map_err(|e| ConnectorError::Config(format!("API URL: {e}")))?;
        // every request says JSON, a GET included (the API insists)
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if let Some(app) = &self.settings.app_token {
            request = request.header("App-Token", app.expose_secret());
        }
        Ok(request)
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        session: &SecretString,
    ) -> Result<Answer, ConnectorError> {
        let mut request = self
            .request(method, path)?
            .header("Session-Token", session.expose_secret());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.map_err(transport)?;
        read_answer(response).await
    }

    /// The session's token: the one kept, or a new session (`renew`: the
    /// kept one was refused).
    async fn session_token(&self, renew: bool) -> Result<SecretString, ConnectorError> {
        let mut session = self.session.lock().await;
        if !renew && let Some(t) = session.as_ref() {
            return Ok(t.clone());
        }
        let authorization = match &self.settings.auth {
            GlpiAuth::UserToken(t) => {
                SecretString::from(format!("user_token {}", t.expose_secret()))
            }
            GlpiAuth::Basic { login, password } => {
                let pair = format!("{login}:{}", password.expose_secret());
                SecretString::from(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
        };
        let response = self
            .request(Method::GET, "initSession")?
            .header(AUTHORIZATION, authorization.expose_secret())
            .send()
            .await
            .map_err(transport)?;
        let answer = read_answer(response).await?;
        if !answer.status.is_success() {
            return Err(self.error_of(&answer));
        }
        let token = answer
            .body
            .get("session_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ConnectorError::Protocol("initSession without session_token".into()))?;
        let token = SecretString::from(token.to_owned());
        *session = Some(token.clone());
        Ok(token)
    }
}

impl Api for Glpi {
    fn retry(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// The error an unsuccessful answer stands for (`["CODE","message"]`).
    fn error_of(&self, answer: &Answer) -> ConnectorError {
        let code = answer.body.get(0).and_then(Value::as_str).unwrap_or("");
        let message = answer.body.get(1).and_then(Value::as_str).unwrap_or("");
        error_for(answer, format!("{code} {message}").trim().to_owned())
    }

    /// One call in the session (opened when there is none); a session the
    /// server no longer knows is opened again and the call replayed once.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        let token = self.session_token(false).await?;
        let answer = self
            .send_with(method.clone(), path, query, body, &token)
            .await?;
        let expired = answer.status == StatusCode::UNAUTHORIZED
            && answer.body.get(0).and_then(Value::as_str) == Some("ERROR_SESSION_TOKEN_INVALID");
        if !expired {
            return Ok(answer);
        }
        let token = self.session_token(true).await?;
        self.send_with(method, path, query, body, &token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_each_documented_shape() {
        let search = br#"{"totalcount":1,"count":1,"data":[{"2":15,"1":"x [cd-1]","12":5,"19":"2026-02-17 09:00:00"}]}"#;
        let found = parse_changes(search).unwrap();
        assert_eq!((found[0].id, found[0].status), (15, GlpiStatus::Applied));
        let keyed = br#"{"totalcount":1,"count":1,"data":{"15":{"2":"15","1":"x","12":"6"}}}"#;
        assert_eq!(parse_changes(keyed).unwrap()[0].status, GlpiStatus::Closed);
        assert!(
            parse_changes(br#"{"totalcount":0,"count":0}"#)
                .unwrap()
                .is_empty()
        );
        let one = br#"{"id":15,"name":"x","status":13,"date_mod":"2026-02-17 09:00:00"}"#;
        assert_eq!(parse_changes(one).unwrap()[0].status, GlpiStatus::Other(13));
        for bad in [
            &b"[\"ERROR_ITEM_NOT_FOUND\",\"x\"]"[..],
            br#"{"data":7}"#,
            br#"{"name":"no id"}"#,
            b"<html>",
        ] {
            assert!(
                parse_changes(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

// ---------------------------------------------------------------- GLPI 11's high-level API

/// A connector to GLPI 11's high-level API (`api.php`, pinned to a
/// version: §3.2) settings: OAuth client credentials (scope `api`).
#[derive(Debug, Clone)]
pub struct GlpiHlSettings {
    /// The versioned base, e.g. `https://glpi.example/api.php/v2.0/` (a
    /// trailing `/` is added when missing; the token endpoint is
    /// `api.php/token` beside it).
    pub api: Url,
    /// The OAuth client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: SecretString,
    /// The longest a request may take.
    pub timeout: Duration,
    /// Retries within one call.
    pub retry: RetryPolicy,
}

impl GlpiHlSettings {
    /// Settings with a 30 s timeout and the default retries.
    pub fn new(api: Url, client_id: &str, client_secret: SecretString) -> GlpiHlSettings {
        GlpiHlSettings {
            api,
            client_id: client_id.to_owned(),
            client_secret,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A change read through the high-level API, with what a conditional
/// update needs (`Last-Modified`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlpiHlChange {
    /// The change.
    pub change: GlpiChangeRef,
    /// Its `Last-Modified` (an HTTP-date), for
    /// [`GlpiHl::update_if_unmodified`].
    pub last_modified: Option<String>,
}

/// A change of the high-level API: `status` an object `{"id","name"}` (or,
/// written since 11.0.3, a bare id).
fn hl_change_of(v: &Value) -> Result<GlpiChangeRef, ConnectorError> {
    let id = int(v.get("id"))
        .ok_or_else(|| ConnectorError::Protocol("a change without an id".into()))?;
    let status = match v.get("status") {
        Some(Value::Object(o)) => int(o.get("id")),
        other => int(other),
    };
    Ok(GlpiChangeRef {
        id,
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        status: GlpiStatus::from_value(status.unwrap_or(0)),
        date_mod: v
            .get("date_mod")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    })
}

/// The changes of a high-level API answer's body: a list, or one change
/// (fuzzed with [`parse_changes`]).
pub fn parse_hl_changes(body: &[u8]) -> Result<Vec<GlpiChangeRef>, ConnectorError> {
    let value = crate::json_body(body)?;
    match &value {
        Value::Array(list) => list.iter().map(hl_change_of).collect(),
        other => Ok(vec![hl_change_of(other)?]),
    }
}

/// GLPI 11 through its high-level API.
pub struct GlpiHl {
    settings: GlpiHlSettings,
    http: reqwest::Client,
    token: TokenCache,
}

impl std::fmt::Debug for GlpiHl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlpiHl")
            .field("api", &self.settings.api.as_str())
            .finish_non_exhaustive()
    }
}

impl GlpiHl {
    /// A connector to the API of `settings`.
    pub fn new(mut settings: GlpiHlSettings) -> Result<GlpiHl, ConnectorError> {
        settings.api = base_url(settings.api, "API")?;
        Ok(GlpiHl {
            http: http_client(settings.timeout)?,
            settings,
            token: TokenCache::default(),
        })
    }

    /// Checks that the API answers and takes the client (a list).
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.call(Method::GET, "Assistance/Change", &[("range", "0-0")], None)
            .await
            .map(|_| ())
    }

    /// The change whose name carries `correlation_id`, if any.
    pub async fn find(
        &self,
        correlation_id: &str,
    ) -> Result<Option<GlpiChangeRef>, ConnectorError> {
        correlation_ok(correlation_id, 100)?;
        let marker = format!("[{correlation_id}]");
        let filter = format!("name==\"*{marker}\"");
        let answer = self
            .call(
                Method::GET,
                "Assistance/Change",
                &[("filter", filter.as_str()), ("range", "0-49")],
                None,
            )
            .await;
        let answer = match answer {
            // a search without hits may be a 404 (the dev docs)
            Err(ConnectorError::Status { status: 404, .. }) => return Ok(None),
            other => other?,
        };
        let list = match &answer.body {
            Value::Array(list) => list
                .iter()
                .map(hl_change_of)
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(ConnectorError::Protocol(
                    "a list that is not an array".into(),
                ));
            }
        };
        Ok(list
            .into_iter()
            .find(|c| c.name.trim_end().ends_with(&marker)))
    }

    /// Reads the change `id`, with its `Last-Modified`.
    pub async fn get(&self, id: i64) -> Result<GlpiHlChange, ConnectorError> {
        let answer = self
            .call(Method::GET, &format!("Assistance/Change/{id}"), &[], None)
            .await?;
        Ok(GlpiHlChange {
            change: hl_change_of(&answer.body)?,
            last_modified: answer.last_modified,
        })
    }

    /// Creates the change once (searched by its correlation id before each
    /// attempt). The `bool` says whether this call's create was answered.
    pub async fn create_change(
        &self,
        new: &NewGlpiChange,
    ) -> Result<(GlpiChangeRef, bool), ConnectorError> {
        let body = json!({
            "name": marked_name(new)?,
            "content": new.content_html,
            "urgency": new.urgency.clamp(1, 5),
            "impact": new.impact.clamp(1, 5),
        });
        create_once(
            &self.settings.retry,
            Duration::ZERO,
            |_| self.find(&new.correlation_id),
            || async {
                let answer = self.attempt("Assistance/Change", &body).await?;
                let id = created_id(&answer.body).map_err(Failed::unanswered)?;
                self.get(id)
                    .await
                    .map(|c| c.change)
                    .map_err(Failed::unanswered)
            },
        )
        .await
    }

    /// Adds a follow-up (HTML) to the change `id`'s timeline (`POST
    /// Assistance/Change/{id}/Timeline/Followup`: the high-level API's
    /// `{itemtype}/{id}/Timeline/{subitem}` pattern, Unconfirmed). Not
    /// idempotent: retried only when refused unprocessed (429).
    pub async fn add_followup(&self, id: i64, content_html: &str) -> Result<(), ConnectorError> {
        self.call_once(
            Method::POST,
            &format!("Assistance/Change/{id}/Timeline/Followup"),
            &json!({ "content": content_html }),
        )
        .await
        .map(|_| ())
    }

    /// Sets `fields` on the change read as `read`, on condition that it was
    /// not modified since (`If-Unmodified-Since` its `Last-Modified`: GLPI
    /// answers 412, [`ConnectorError::Conflict`], when it was).
    pub async fn update_if_unmodified(
        &self,
        read: &GlpiHlChange,
        fields: &Map<String, Value>,
    ) -> Result<GlpiHlChange, ConnectorError> {
        let Some(since) = &read.last_modified else {
            return Err(ConnectorError::Protocol(
                "the change was read without Last-Modified".into(),
            ));
        };
        let path = format!("Assistance/Change/{}", read.change.id);
        let body = Value::Object(fields.clone());
        let answer = retrying(
            &self.settings.retry,
            |a| self.error_of(a),
            || self.send_with(Method::PATCH, &path, &[], Some(&body), Some(since)),
        )
        .await?;
        Ok(GlpiHlChange {
            change: hl_change_of(&answer.body)?,
            last_modified: answer.last_modified,
        })
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        unmodified_since: Option<&str>,
    ) -> Result<Answer, ConnectorError> {
        let url = self
            .settings
            .api
            .join(path)
            .map_err(|e| ConnectorError::Config(format!("API URL: {e}")))?;
        // a token the server no longer takes is fetched again, once
        for fresh in [false, true] {
            if fresh {
                self.token.forget().await;
            }
            let token = self.token().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, format!("Bearer {}", token.expose_secret()));
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(since) = unmodified_since {
                request = request.header("If-Unmodified-Since", since);
            }
            if let Some(body) = body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            let answer = read_answer(request.send().await.map_err(transport)?).await?;
            if answer.status != StatusCode::UNAUTHORIZED || fresh {
                return Ok(answer);
            }
        }
        Err(ConnectorError::Credentials(
            "the access token was refused".into(),
        ))
    }

    /// The Bearer token: the one kept, or one by the client credentials
    /// grant (`POST api.php/token`, scope `api`).
    async fn token(&self) -> Result<SecretString, ConnectorError> {
        self.token.get(self.fetch_token()).await
    }

    async fn fetch_token(&self) -> Result<(SecretString, Duration), ConnectorError> {
        // `…/api.php/v2.0/` → `…/api.php/token`
        let url = self
            .settings
            .api
            .join("../token")
            .map_err(|e| ConnectorError::Config(format!("API URL: {e}")))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose_secret()),
            ("scope", "api"),
        ];
        client_credentials_token(&self.http, url, &form, Duration::from_secs(3600)).await
    }
}

impl Api for GlpiHl {
    fn retry(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// `{"status","title","detail","additional_messages"}`.
    fn error_of(&self, answer: &Answer) -> ConnectorError {
        let code = answer
            .body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("");
        let title = answer
            .body
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("");
        let more: Vec<&str> = answer
            .body
            .get("additional_messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("message").and_then(Value::as_str))
            .collect();
        let message = format!("{code} {title} {}", more.join("; "))
            .trim()
            .to_owned();
        match answer.status {
            StatusCode::PRECONDITION_FAILED => ConnectorError::Conflict(message),
            _ => error_for(answer, message),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        self.send_with(method, path, query, body, None).await
    }
}

/// A change's name with its correlation id at the end (`… [cd-MC1-all]`),
/// the title cut, by characters, to leave room for it.
fn marked_name(new: &NewGlpiChange) -> Result<String, ConnectorError> {
    correlation_ok(&new.correlation_id, 100)?;
    let marker = format!("[{}]", new.correlation_id);
    let room = 255usize.saturating_sub(marker.chars().count() + 1);
    let title: String = new.name.trim().chars().take(room).collect();
    Ok(format!("{title} {marker}"))
}

/// The id of a created change (`{"id":15,…}`).
fn created_id(body: &Value) -> Result<i64, ConnectorError> {
    int(body.get("id")).ok_or_else(|| ConnectorError::Protocol("a create answer without id".into()))
}
