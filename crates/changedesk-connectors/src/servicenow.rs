//! ServiceNow change requests through the Table API
//! (`/api/now/table/change_request`, `../shared/reference/integrations.md`
//! §1.4–1.8).
//!
//! - **Created once.** A POST is not idempotent, and a create the instance
//!   committed may never be answered (the connection drops, the client
//!   times out): the change carries changedesk's id in `correlation_id`,
//!   and [`ServiceNow::create_change`] looks it up **before every attempt**,
//!   so a retry finds the change instead of making a second one.
//! - **Retried within reason.** 429 (with `Retry-After`), a 5xx and no
//!   answer are retried per the [`RetryPolicy`]; a wait over its
//!   `max_wait` ends the call with [`ConnectorError::Throttled`] for the
//!   caller's outbox to schedule. Refused credentials are never retried.
//! - **Auth.** Basic, or OAuth client credentials (`/oauth_token.do`): the
//!   token is kept until shortly before it expires, and fetched again once
//!   when the instance refuses it.
//! - Every value the Table API returns is a string; a `result` that is an
//!   array of one record is read as that record (some documented examples
//!   show it so).

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
    correlation_ok, create_once, error_for, http_client, read_answer, transport,
};

/// The table changes are made in.
const TABLE: &str = "/api/now/table/change_request";
/// The Table API's `incident` table.
const INCIDENTS: &str = "/api/now/table/incident";
/// The fields an incident is read with.
const INCIDENT_FIELDS: &str = "sys_id,number,state,sys_mod_count,correlation_id";

/// The fields read back.
const FIELDS: &str = "sys_id,number,state,approval,sys_mod_count,sys_updated_on,correlation_id";

/// The page size of a listing.
const PAGE: usize = 100;

/// The most changes one listing reads (a runaway instance cannot fill
/// memory).
const MAX_CHANGES: usize = 100_000;

/// How changedesk signs in to the instance.
#[derive(Debug, Clone)]
pub enum ServiceNowAuth {
    /// `Authorization: Basic` on every call.
    Basic {
        /// The integration user.
        user: String,
        /// Its password.
        password: SecretString,
    },
    /// OAuth 2.0 client credentials (`POST /oauth_token.do`), then
    /// `Authorization: Bearer`.
    OAuthClient {
        /// The OAuth client id.
        client_id: String,
        /// Its secret.
        client_secret: SecretString,
    },
}

/// How changes are created (§1.2, §1.4): every one is read back and found
/// through the Table API, which sees them all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChangeModel {
    /// A record of the `change_request` table (`POST /api/now/table/change_request`).
    #[default]
    Table,
    /// A normal change through the Change Management API
    /// (`POST /api/sn_chg_rest/change/normal`).
    Normal,
    /// A standard change from a published template through the Change
    /// Management API (`POST /api/sn_chg_rest/change/standard/{template}`).
    Standard {
        /// The template's `std_change_record_producer` sys_id.
        template: String,
    },
}

impl ChangeModel {
    /// Where a create goes.
    fn create_path(&self) -> Result<String, ConnectorError> {
        Ok(match self {
            ChangeModel::Table => TABLE.to_owned(),
            ChangeModel::Normal => "/api/sn_chg_rest/change/normal".to_owned(),
            ChangeModel::Standard { template } => {
                // a sys_id: 32 hexadecimal digits
                if template.len() != 32 || !template.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ConnectorError::Config(format!(
                        "a standard change template is a sys_id (32 hexadecimal digits): {template:?}"
                    )));
                }
                format!("/api/sn_chg_rest/change/standard/{template}")
            }
        })
    }
}

/// A ServiceNow connector's settings.
#[derive(Debug, Clone)]
pub struct ServiceNowSettings {
    /// The instance, e.g. `https://contoso.service-now.com`.
    pub instance: Url,
    /// How to sign in.
    pub auth: ServiceNowAuth,
    /// The longest a request may take (connect, send and answer).
    pub timeout: Duration,
    /// Retries within one call.
    pub retry: RetryPolicy,
    /// How changes are created.
    pub model: ChangeModel,
}

impl ServiceNowSettings {
    /// Settings for `instance` with `auth`, a 30 s timeout and the
    /// default retries.
    pub fn new(instance: Url, auth: ServiceNowAuth) -> ServiceNowSettings {
        ServiceNowSettings {
            instance,
            auth,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            model: ChangeModel::Table,
        }
    }
}

/// A change request to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    /// changedesk's id for it (one per post and tenant or tenant group):
    /// what makes the create happen once.
    pub correlation_id: String,
    /// A label for people (`correlation_display`), e.g. `changedesk MC1`.
    pub correlation_display: String,
    /// The title.
    pub short_description: String,
    /// The body.
    pub description: String,
    /// The planned start (`YYYY-MM-DD HH:MM:SS`, UTC), if known.
    pub start_date: Option<String>,
}

/// Where a change stands in the state model (§1.3; an instance may define
/// more states: those are [`ChangeState::Other`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeState {
    /// `-5`
    New,
    /// `-4`
    Assess,
    /// `-3`
    Authorize,
    /// `-2`
    Scheduled,
    /// `-1`
    Implement,
    /// `0`
    Review,
    /// `3`
    Closed,
    /// `4`
    Canceled,
    /// Any other value, as the instance gave it.
    Other(String),
}

impl ChangeState {
    /// The state of a `state` value.
    pub fn parse(value: &str) -> ChangeState {
        match value.trim() {
            "-5" => ChangeState::New,
            "-4" => ChangeState::Assess,
            "-3" => ChangeState::Authorize,
            "-2" => ChangeState::Scheduled,
            "-1" => ChangeState::Implement,
            "0" => ChangeState::Review,
            "3" => ChangeState::Closed,
            "4" => ChangeState::Canceled,
            other => ChangeState::Other(other.to_owned()),
        }
    }

    /// Its name in the state model (an instance's own state: its value).
    pub fn label(&self) -> String {
        match self {
            ChangeState::New => "new".to_owned(),
            ChangeState::Assess => "assess".to_owned(),
            ChangeState::Authorize => "authorize".to_owned(),
            ChangeState::Scheduled => "scheduled".to_owned(),
            ChangeState::Implement => "implement".to_owned(),
            ChangeState::Review => "review".to_owned(),
            ChangeState::Closed => "closed".to_owned(),
            ChangeState::Canceled => "canceled".to_owned(),
            ChangeState::Other(v) => v.clone(),
        }
    }

    /// Whether the change is over on the other side (closed or canceled).
    pub fn is_final(&self) -> bool {
        matches!(self, ChangeState::Closed | ChangeState::Canceled)
    }

    /// Where the change stands for changedesk: New to Scheduled open,
    /// Implement and Review in progress, Closed done, Canceled canceled; an
    /// instance's own state counts as open.
    pub fn progress(&self) -> TicketProgress {
        match self {
            ChangeState::Implement | ChangeState::Review => TicketProgress::InProgress,
            ChangeState::Closed => TicketProgress::Done,
            ChangeState::Canceled => TicketProgress::Canceled,
            _ => TicketProgress::Open,
        }
    }
}

/// A change request as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its `sys_id`.
    pub sys_id: String,
    /// Its number, e.g. `CHG0030022`.
    pub number: String,
    /// Its state.
    pub state: ChangeState,
    /// Its approval (`not requested`, `requested`, `approved`,
    /// `rejected`, or another value of the instance's).
    pub approval: String,
    /// Its update count (`sys_mod_count`): it moves on every update.
    pub sys_mod_count: u64,
    /// When it was last updated (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub sys_updated_on: String,
    /// changedesk's id on it.
    pub correlation_id: String,
}

/// A record's field as text: a string, the Change Management API's
/// `{display_value, value}`'s value, a number; absent or null: empty.
fn field_text(record: &Map<String, Value>, k: &str) -> Result<String, ConnectorError> {
    match record.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Object(o)) => Ok(o
            .get("value")
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => Err(ConnectorError::Protocol(format!(
            "field `{k}` is not a string"
        ))),
    }
}

/// An incident as read back (the Table API's `incident`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Its `sys_id`.
    pub sys_id: String,
    /// Its number, e.g. `INC0010001`.
    pub number: String,
    /// Its state's value: `1` New, `2` In Progress, `3` On Hold, `6`
    /// Resolved, `7` Closed, `8` Canceled (an instance may add its own).
    pub state: String,
    /// changedesk's id on it.
    pub correlation_id: String,
}

impl Incident {
    fn from_record(record: &Map<String, Value>) -> Result<Incident, ConnectorError> {
        let sys_id = field_text(record, "sys_id")?;
        if sys_id.is_empty() {
            return Err(ConnectorError::Protocol("a record without sys_id".into()));
        }
        Ok(Incident {
            sys_id,
            number: field_text(record, "number")?,
            state: field_text(record, "state")?,
            correlation_id: field_text(record, "correlation_id")?,
        })
    }

    /// Its state in words.
    pub fn state_label(&self) -> String {
        match self.state.as_str() {
            "1" => "new",
            "2" => "in progress",
            "3" => "on hold",
            "6" => "resolved",
            "7" => "closed",
            "8" => "canceled",
            other => other,
        }
        .to_owned()
    }

    /// Whether it is over (resolved, closed or canceled).
    pub fn is_over(&self) -> bool {
        matches!(self.state.as_str(), "6" | "7" | "8")
    }
}

/// An incident to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// changedesk's id for it (one per Microsoft incident).
    pub correlation_id: String,
    /// `short_description` (at most 160 characters).
    pub short_description: String,
    /// `description`.
    pub description: String,
    /// `impact` and `urgency` (`1` high, `2` medium, `3` low).
    pub impact: u8,
}

fn incidents_in(body: &Value) -> Result<Vec<Incident>, ConnectorError> {
    rows_in(body, Incident::from_record)
}

fn incident_of(body: &Value) -> Result<Incident, ConnectorError> {
    first(incidents_in(body)?)
}

/// The records of a Table API answer's `result` (one record, or a list),
/// each read by `read`.
fn rows_in<T>(
    body: &Value,
    read: fn(&Map<String, Value>) -> Result<T, ConnectorError>,
) -> Result<Vec<T>, ConnectorError> {
    match body.get("result") {
        Some(Value::Object(o)) => Ok(vec![read(o)?]),
        Some(Value::Array(rows)) => rows
            .iter()
            .map(|r| match r {
                Value::Object(o) => read(o),
                _ => Err(ConnectorError::Protocol(
                    "a row that is not an object".into(),
                )),
            })
            .collect(),
        _ => Err(ConnectorError::Protocol(
            "an answer without `result`".into(),
        )),
    }
}

/// The first of an answer's records (a write answers with the one it made).
fn first<T>(rows: Vec<T>) -> Result<T, ConnectorError> {
    rows.into_iter()
        .next()
        .ok_or_else(|| ConnectorError::Protocol("an empty `result`".into()))
}

impl Change {
    fn from_record(record: &Map<String, Value>) -> Result<Change, ConnectorError> {
        let text = |k: &str| field_text(record, k);
        let sys_id = text("sys_id")?;
        if sys_id.is_empty() {
            return Err(ConnectorError::Protocol("a record without sys_id".into()));
        }
        Ok(Change {
            sys_id,
            number: text("number")?,
            state: ChangeState::parse(&text("state")?),
            approval: text("approval")?,
            sys_mod_count: text("sys_mod_count")?.parse().unwrap_or(0),
            sys_updated_on: text("sys_updated_on")?,
            correlation_id: text("correlation_id")?,
        })
    }
}

/// A ServiceNow instance.
pub struct ServiceNow {
    settings: ServiceNowSettings,
    http: reqwest::Client,
    /// The OAuth token and when to stop using it.
    token: TokenCache,
}

impl std::fmt::Debug for ServiceNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNow")
            .field("instance", &self.settings.instance.as_str())
            .finish_non_exhaustive()
    }
}

impl ServiceNow {
    /// A connector to the instance of `settings`.
    pub fn new(mut settings: ServiceNowSettings) -> Result<ServiceNow, ConnectorError> {
        settings.instance = base_url(settings.instance, "instance")?;
        Ok(ServiceNow {
            http: http_client(settings.timeout)?,
            settings,
            token: TokenCache::default(),
        })
    }

    /// The page of a change in the instance's UI.
    pub fn change_url(&self, change: &Change) -> String {
        format!(
            "{}/nav_to.do?uri=change_request.do?sys_id={}",
            self.settings.instance.as_str().trim_end_matches('/'),
            change.sys_id
        )
    }

    /// Checks that the instance answers and takes the credentials (a read
    /// of one change).
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.call(
            Method::GET,
            TABLE,
            &[("sysparm_limit", "1"), ("sysparm_fields", "sys_id")],
            None,
        )
        .await
        .map(|_| ())
    }

    /// The change carrying `correlation_id`, if any.
    pub async fn find(&self, correlation_id: &str) -> Result<Option<Change>, ConnectorError> {
        // it goes into an encoded query, where `^` would start a term
        correlation_ok(correlation_id, 100)?;
        let query = format!("correlation_id={correlation_id}");
        let answer = self
            .call(
                Method::GET,
                TABLE,
                &[
                    ("sysparm_query", query.as_str()),
                    ("sysparm_fields", FIELDS),
                    ("sysparm_limit", "1"),
                ],
                None,
            )
            .await?;
        Ok(changes_in(&answer.body)?.into_iter().next())
    }

    /// Reads the change `sys_id`.
    pub async fn get(&self, sys_id: &str) -> Result<Change, ConnectorError> {
        let answer = self
            .call(
                Method::GET,
                &format!("{TABLE}/{}", path_segment(sys_id)),
                &[("sysparm_fields", FIELDS)],
                None,
            )
            .await?;
        record_of(&answer.body)
    }

    /// Creates the change, once: the change already carrying its
    /// correlation id is returned instead (looked up before each attempt,
    /// so an attempt the instance committed without answering is found,
    /// not repeated). The `bool` says whether this call created it.
    pub async fn create_change(&self, new: &NewChange) -> Result<(Change, bool), ConnectorError> {
        correlation_ok(&new.correlation_id, 100)?;
        let mut body = json!({
            "short_description": new.short_description,
            "description": new.description,
            "correlation_id": new.correlation_id,
            "correlation_display": new.correlation_display,
        });
        if let (Some(start), Some(o)) = (&new.start_date, body.as_object_mut()) {
            o.insert("start_date".into(), Value::String(start.clone()));
        }
        let path = self.settings.model.create_path()?;
        // no answer: the next look waits as long again as the request was
        // given (an instance still at work commits meanwhile)
        create_once(
            &self.settings.retry,
            self.settings.timeout,
            |_| self.find(&new.correlation_id),
            || async {
                let answer = self.attempt(&path, &body).await?;
                // created: a record this cannot read is found next time
                record_of(&answer.body).map_err(Failed::unanswered)
            },
        )
        .await
    }

    /// The changes whose correlation id starts with `prefix` updated at
    /// or after `since` (`YYYY-MM-DD HH:MM:SS`, UTC, as the instance keeps
    /// it), oldest update first, every page (§1.8: the instance does not
    /// push; the caller keeps the newest `sys_updated_on` it saw as the
    /// next `since`, and reads a change updated in that same second again).
    pub async fn changed_since(
        &self,
        prefix: &str,
        since: &str,
    ) -> Result<Vec<Change>, ConnectorError> {
        // a `^` would start another term of the query
        for (what, v) in [("prefix", prefix), ("since", since)] {
            if v.is_empty() || v.contains('^') || v.contains(char::is_control) {
                return Err(ConnectorError::Config(format!(
                    "a bad {what} for a query: {v:?}"
                )));
            }
        }
        let query = format!(
            "correlation_idSTARTSWITH{prefix}^sys_updated_on>={since}^ORDERBYsys_updated_on"
        );
        let mut out = Vec::new();
        loop {
            let offset = out.len().to_string();
            let page_size = PAGE.to_string();
            let answer = self
                .call(
                    Method::GET,
                    TABLE,
                    &[
                        ("sysparm_query", query.as_str()),
                        ("sysparm_fields", FIELDS),
                        ("sysparm_limit", page_size.as_str()),
                        ("sysparm_offset", offset.as_str()),
                        ("sysparm_no_count", "true"),
                    ],
                    None,
                )
                .await?;
            let page = changes_in(&answer.body)?;
            let full = page.len() == PAGE;
            out.extend(page);
            if !full || out.len() >= MAX_CHANGES {
                return Ok(out);
            }
        }
    }

    /// Sets `fields` on the change `sys_id` unless it was updated since it
    /// was read with `expected` as its `sys_mod_count`
    /// ([`ConnectorError::Conflict`]: read it again and decide). The
    /// instance has no conditional write (§1.7): the count is read just
    /// before the update, and a window remains between the two.
    pub async fn update_if_unchanged(
        &self,
        sys_id: &str,
        expected: u64,
        fields: &Map<String, Value>,
    ) -> Result<Change, ConnectorError> {
        if fields.contains_key("work_notes") {
            return Err(ConnectorError::Config(
                "a work note is added with add_work_note (it is not idempotent)".into(),
            ));
        }
        let now = self.get(sys_id).await?;
        if now.sys_mod_count != expected {
            return Err(ConnectorError::Conflict(format!(
                "{} was updated {} time(s) since it was read",
                now.number,
                now.sys_mod_count.saturating_sub(expected)
            )));
        }
        let path = format!("{TABLE}/{}", path_segment(sys_id));
        let answer = self
            .call(
                Method::PATCH,
                &path,
                &[],
                Some(&Value::Object(fields.clone())),
            )
            .await?;
        record_of(&answer.body)
    }

    /// The page of an incident in the instance's UI.
    pub fn incident_url(&self, incident: &Incident) -> String {
        format!(
            "{}/nav_to.do?uri=incident.do?sys_id={}",
            self.settings.instance.as_str().trim_end_matches('/'),
            incident.sys_id
        )
    }

    /// The incident carrying `correlation_id`, if any.
    pub async fn find_incident(
        &self,
        correlation_id: &str,
    ) -> Result<Option<Incident>, ConnectorError> {
        correlation_ok(correlation_id, 100)?;
        let query = format!("correlation_id={correlation_id}");
        let answer = self
            .call(
                Method::GET,
                INCIDENTS,
                &[
                    ("sysparm_query", query.as_str()),
                    ("sysparm_fields", INCIDENT_FIELDS),
                    ("sysparm_limit", "1"),
                ],
                None,
            )
            .await?;
        Ok(incidents_in(&answer.body)?.into_iter().next())
    }

    /// Reads the incident `sys_id`.
    pub async fn get_incident(&self, sys_id: &str) -> Result<Incident, ConnectorError> {
        let answer = self
            .call(
                Method::GET,
                &format!("{INCIDENTS}/{}", path_segment(sys_id)),
                &[("sysparm_fields", INCIDENT_FIELDS)],
                None,
            )
            .await?;
        incident_of(&answer.body)
    }

    /// Opens the incident, once per correlation id, as
    /// [`ServiceNow::create_change`] creates a change.
    pub async fn create_incident(
        &self,
        new: &NewIncident,
    ) -> Result<(Incident, bool), ConnectorError> {
        correlation_ok(&new.correlation_id, 100)?;
        let level = new.impact.clamp(1, 3).to_string();
        let body = json!({
            "short_description": new.short_description,
            "description": new.description,
            "correlation_id": new.correlation_id,
            "correlation_display": "changedesk",
            "impact": level,
            "urgency": level,
        });
        create_once(
            &self.settings.retry,
            self.settings.timeout,
            |_| self.find_incident(&new.correlation_id),
            || async {
                let answer = self.attempt(INCIDENTS, &body).await?;
                incident_of(&answer.body).map_err(Failed::unanswered)
            },
        )
        .await
    }

    /// Adds a work note to the incident `sys_id` (not idempotent, as
    /// [`ServiceNow::add_work_note`]).
    pub async fn add_incident_note(
        &self,
        sys_id: &str,
        note: &str,
    ) -> Result<Incident, ConnectorError> {
        let path = format!("{INCIDENTS}/{}", path_segment(sys_id));
        let answer = self
            .call_once(Method::PATCH, &path, &json!({ "work_notes": note }))
            .await?;
        incident_of(&answer.body)
    }

    /// Resolves the incident `sys_id` (state `6`) with `close_code` and
    /// `close_notes`, which the default data policy requires. Setting the
    /// same values again changes nothing: retried like a read.
    pub async fn resolve_incident(
        &self,
        sys_id: &str,
        close_code: &str,
        close_notes: &str,
    ) -> Result<Incident, ConnectorError> {
        let path = format!("{INCIDENTS}/{}", path_segment(sys_id));
        let answer = self
            .call(
                Method::PATCH,
                &path,
                &[],
                Some(&json!({"state": "6", "close_code": close_code, "close_notes": close_notes})),
            )
            .await?;
        incident_of(&answer.body)
    }

    /// Adds a work note to the change `sys_id` and returns it updated. A
    /// note is not idempotent: it is retried only when the instance
    /// refused it unprocessed (429); no answer or a 5xx is returned for
    /// the caller to decide.
    pub async fn add_work_note(&self, sys_id: &str, note: &str) -> Result<Change, ConnectorError> {
        let path = format!("{TABLE}/{}", path_segment(sys_id));
        let answer = self
            .call_once(Method::PATCH, &path, &json!({ "work_notes": note }))
            .await?;
        record_of(&answer.body)
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        let url = self
            .settings
            .instance
            .join(path)
            .map_err(|e| ConnectorError::Config(format!("instance URL: {e}")))?;
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.authorization().await?.expose_secret());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(transport)?;
        read_answer(response).await
    }

    /// The `Authorization` header's value.
    async fn authorization(&self) -> Result<SecretString, ConnectorError> {
        match &self.settings.auth {
            ServiceNowAuth::Basic { user, password } => {
                let pair = format!("{user}:{}", password.expose_secret());
                Ok(SecretString::from(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )))
            }
            ServiceNowAuth::OAuthClient {
                client_id,
                client_secret,
            } => {
                let token = self
                    .token
                    .get(self.fetch_token(client_id, client_secret))
                    .await?;
                Ok(SecretString::from(format!(
                    "Bearer {}",
                    token.expose_secret()
                )))
            }
        }
    }

    /// A token by the client credentials grant, and how long it lives.
    async fn fetch_token(
        &self,
        client_id: &str,
        client_secret: &SecretString,
    ) -> Result<(SecretString, Duration), ConnectorError> {
        let url = self
            .settings
            .instance
            .join("/oauth_token.do")
            .map_err(|e| ConnectorError::Config(format!("instance URL: {e}")))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
        ];
        client_credentials_token(&self.http, url, &form, Duration::from_secs(1799)).await
    }
}

impl Api for ServiceNow {
    fn retry(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// The error an unsuccessful answer stands for.
    fn error_of(&self, answer: &Answer) -> ConnectorError {
        let message = answer
            .body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        error_for(answer, message)
    }

    /// One request, signed in; a Bearer token the instance refuses is
    /// fetched again, once.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        let answer = self.send_once(method.clone(), path, query, body).await?;
        if answer.status == StatusCode::UNAUTHORIZED
            && matches!(self.settings.auth, ServiceNowAuth::OAuthClient { .. })
        {
            self.token.forget().await;
            return self.send_once(method, path, query, body).await;
        }
        Ok(answer)
    }
}

/// A path segment with `/`, `?` and `#` escaped (a `sys_id` is hex; this
/// keeps anything else from reaching another path).
fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The changes of a Table API answer's body (`{"result": …}`: a list's
/// array, or one record, an object or an array of one), as the connector
/// reads every answer: what the instance sent, whatever it is, gives
/// changes or an error, never a panic (fuzzed: `fuzz/fuzz_targets/servicenow.rs`).
pub fn parse_changes(body: &[u8]) -> Result<Vec<Change>, ConnectorError> {
    let value = crate::json_body(body)?;
    changes_in(&value)
}

/// The incidents of an answer body (`{"result": …}`, a record or a list),
/// as [`parse_changes`] reads changes (fuzzed).
pub fn parse_incidents(body: &[u8]) -> Result<Vec<Incident>, ConnectorError> {
    let value = crate::json_body(body)?;
    incidents_in(&value)
}

/// The changes of an answer's `result` (see [`parse_changes`]).
fn changes_in(body: &Value) -> Result<Vec<Change>, ConnectorError> {
    rows_in(body, Change::from_record)
}

/// The one record of an answer (an object, or an array of one).
fn record_of(body: &Value) -> Result<Change, ConnectorError> {
    first(changes_in(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_each_documented_shape() {
        // the Table API: strings
        let list = br#"{"result":[{"sys_id":"a1","number":"CHG0030022","state":"-3","approval":"requested","sys_updated_on":"2026-02-17 09:12:40","sys_mod_count":"4","correlation_id":"cd-1"}]}"#;
        let changes = parse_changes(list).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].state, ChangeState::Authorize);
        assert_eq!(changes[0].sys_mod_count, 4);
        // the Change Management API: {display_value, value}, numbers
        let one = br#"{"result":{"sys_id":{"display_value":"b0","value":"b0"},"state":{"display_value":"New","value":-5},"sys_mod_count":{"display_value":"0","value":0},"number":{"value":"CHG1"}}}"#;
        let changes = parse_changes(one).unwrap();
        assert_eq!(changes[0].sys_id, "b0");
        assert_eq!(changes[0].state, ChangeState::New);
        // an instance's own state
        assert_eq!(ChangeState::parse("7"), ChangeState::Other("7".into()));
        // what is not an answer
        for bad in [
            &b"not json"[..],
            br#"{"result":[1]}"#,
            br#"{"result":{"number":"CHG1"}}"#,
            br#"{"result":{"sys_id":"a","state":[1]}}"#,
            br#"{"error":{"message":"x"}}"#,
        ] {
            assert!(
                parse_changes(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
