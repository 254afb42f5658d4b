//! A ServiceNow mock: the Table API's `change_request` table and the OAuth
//! token endpoint, as `../shared/reference/integrations.md` §1 describes
//! them, the local instance changedesk's ServiceNow connector is tested
//! against.
//!
//! | Request | Answer |
//! |---|---|
//! | a queued [`ServiceNowFault`] (checked first, whatever the request) | the fault |
//! | `POST /oauth_token.do`, form `grant_type=client_credentials` with the configured client | 200 `{"access_token","token_type":"Bearer","expires_in",…}` |
//! | the same with another client or grant | 401 `{"error":"access_denied",…}` |
//! | a table request without `Accept` | 400 (the reference: a missing header gives 400) |
//! | a table request whose `Accept` names neither `application/json` nor `*/*` | 406 |
//! | a write without `Content-Type: application/json` | 415 |
//! | no `Authorization`, a wrong Basic password or an unknown or expired Bearer token | 401 `User Not Authenticated` |
//! | `POST /api/now/table/change_request`, a JSON object of string fields | **201** with `Location` and `{"result":{…}}`: every value a string, `state` `-5`, a new `sys_id` and `number` (`CHG0030001`…), `sys_mod_count` `0` |
//! | a body not a JSON object, or a field not a string | 400 |
//! | `GET /api/now/table/change_request?sysparm_query=…` | 200 `{"result":[…]}` and `X-Total-Count`: `field=value`, `fieldSTARTSWITHvalue` and `field>=value` terms joined by `^`, sorted by `ORDERBYfield` or `ORDERBYDESCfield`, other terms silently ignored (as the real instance does unless told otherwise); `sysparm_fields`, `sysparm_limit`, `sysparm_offset` |
//! | `GET /api/now/table/change_request/{sys_id}` | 200 `{"result":{…}}`, or 404 `No Record found` |
//! | `PATCH` (or `PUT`) `/api/now/table/change_request/{sys_id}` | 200, the fields set, `work_notes` appended to the record's journal, `sys_mod_count` + 1 |
//!
//! Errors carry ServiceNow's body: `{"error":{"message","detail"},"status":"failure"}`.
//!
//! The other side's people are [`ServiceNowHandle::set_state`] (a change
//! moves on) and [`ServiceNowHandle::records`] (what the instance holds).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::mock::{self, FaultQueue, MockClock, MockServer, RequestLog, Stop};

/// The state of a new change (the state model's New).
const STATE_NEW: &str = "-5";

/// How long an OAuth token lives (the reference's example: 1799 s).
pub const TOKEN_SECONDS: u64 = 1799;

/// How the instance authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNowConfig {
    /// The Basic user.
    pub user: String,
    /// The Basic password.
    pub password: String,
    /// The OAuth client id (client credentials grant).
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: String,
}

impl Default for ServiceNowConfig {
    fn default() -> ServiceNowConfig {
        ServiceNowConfig {
            user: "changedesk.integration".to_owned(),
            password: "mock-password-not-secret".to_owned(),
            client_id: "changedesk-client".to_owned(),
            client_secret: "mock-client-secret-not-secret".to_owned(),
        }
    }
}

/// An answer given instead of (or after) processing the next request (see
/// [`ServiceNowHandle::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceNowFault {
    /// 429 `Rate limit exceeded` with `Retry-After`.
    TooManyRequests {
        /// The `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// This status with ServiceNow's error body (an invalid one answers
    /// 500).
    Status(u16),
    /// Process the request (a create commits its record), then drop the
    /// connection without answering: the failure that makes duplicates
    /// when a client retries a create blindly.
    ProcessThenDrop,
    /// Process the request (a create commits its record), then wait this
    /// long before answering (meant to outlast the client's timeout: the
    /// instance acted, the client never hears). Ends early at shutdown.
    Delay(Duration),
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNowRequest {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The status answered (0: the connection was dropped).
    pub status: u16,
}

/// A `change_request` record: its fields (every value a string, as the
/// Table API returns them) and its work notes, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// The fields.
    pub fields: Map<String, Value>,
    /// The work notes journal, oldest first.
    pub work_notes: Vec<String>,
}

impl ChangeRecord {
    /// A field's value, when it is a string.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }
}

struct Inner {
    records: Vec<ChangeRecord>,
    /// Bearer tokens issued, and when (mock clock) each expires.
    tokens: HashMap<String, Duration>,
    next_number: u64,
}

struct Shared {
    config: ServiceNowConfig,
    clock: MockClock,
    requests: RequestLog<ServiceNowRequest>,
    faults: FaultQueue<ServiceNowFault>,
    /// Faults for the next creates only (`POST` to the table).
    create_faults: FaultQueue<ServiceNowFault>,
    inner: Mutex<Inner>,
    stop: Stop,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        mock::lock(&self.inner)
    }
}

/// A running instance. It stops at [`ServiceNowHandle::shutdown`] or when
/// dropped.
pub struct ServiceNowHandle {
    shared: Arc<Shared>,
    server: MockServer,
}

impl std::fmt::Debug for ServiceNowHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNowHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl ServiceNowHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The instance's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ServiceNowConfig {
        &self.shared.config
    }

    /// The `change_request` records, oldest first.
    pub fn records(&self) -> Vec<ChangeRecord> {
        self.shared.lock().records.clone()
    }

    /// Every request with its answer, in arrival order.
    pub fn requests(&self) -> Vec<ServiceNowRequest> {
        self.shared.requests.in_order(|r| r.seq)
    }

    /// Queues answers for the next requests, in order (appended to what is
    /// queued).
    pub fn fail_next(&self, faults: Vec<ServiceNowFault>) {
        self.shared.faults.extend(faults);
    }

    /// Queues answers for the next creates only (a `POST` to the table),
    /// whatever other requests come between; the queue of
    /// [`ServiceNowHandle::fail_next`] is asked first.
    pub fn fail_next_create(&self, faults: Vec<ServiceNowFault>) {
        self.shared.create_faults.extend(faults);
    }

    /// The other side moves the change `number` to `state` (a value of
    /// the state model, e.g. `-1` Implement, `3` Closed), as a person's
    /// update would: `sys_mod_count` + 1. Whether the record exists.
    pub fn set_state(&self, number: &str, state: &str) -> bool {
        let now = timestamp(self.shared.clock.now());
        let mut inner = self.shared.lock();
        let Some(record) = inner
            .records
            .iter_mut()
            .find(|r| r.field("number") == Some(number))
        else {
            return false;
        };
        record.fields.insert("state".into(), state.into());
        touch(record, &now);
        true
    }

    /// Lets `by` pass on the mock's clock (tokens expire, `sys_updated_on`
    /// moves).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts an instance on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_servicenow(config: ServiceNowConfig) -> std::io::Result<ServiceNowHandle> {
    let stop = Stop::new();
    let shared = Arc::new(Shared {
        config,
        clock: MockClock::new(),
        requests: RequestLog::new(),
        faults: FaultQueue::new(),
        create_faults: FaultQueue::new(),
        inner: Mutex::new(Inner {
            records: Vec::new(),
            tokens: HashMap::new(),
            next_number: 30001,
        }),
        stop: stop.clone(),
    });
    let app = Router::new()
        .route("/oauth_token.do", post(token))
        .route("/api/now/table/change_request", get(list).post(create))
        .route(
            "/api/now/table/change_request/{sys_id}",
            get(read).patch(update).put(update),
        )
        .with_state(Arc::clone(&shared));
    let server = MockServer::start("ServiceNow mock", app, stop).await?;
    Ok(ServiceNowHandle { shared, server })
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a mock-clock instant, counted from
/// 2026-02-17 00:00:00.
fn timestamp(at: Duration) -> String {
    let base = time::macros::datetime!(2026-02-17 00:00:00 UTC);
    let t = base + at;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A record was updated at `now`: `sys_mod_count` + 1.
fn touch(record: &mut ChangeRecord, now: &str) {
    let count = record
        .field("sys_mod_count")
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(0);
    record
        .fields
        .insert("sys_mod_count".into(), (count + 1).to_string().into());
    record
        .fields
        .insert("sys_updated_on".into(), now.to_owned().into());
}

fn error(status: StatusCode, message: &str, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        json!({"error": {"message": message, "detail": detail}, "status": "failure"}).to_string(),
    )
        .into_response()
}

fn ok_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// What a request is, for the log.
struct Seen {
    seq: u64,
    method: String,
    path: String,
    query: Option<String>,
}

impl Seen {
    fn new(shared: &Shared, method: &Method, path: String, query: Option<String>) -> Seen {
        Seen {
            seq: shared.requests.arrived(),
            method: method.to_string(),
            path,
            query,
        }
    }

    fn log(self, shared: &Shared, status: u16) {
        shared.requests.push(ServiceNowRequest {
            seq: self.seq,
            method: self.method,
            path: self.path,
            query: self.query,
            status,
        });
    }
}

/// Runs `process` unless a queued fault answers instead; logs the answer.
/// [`ServiceNowFault::ProcessThenDrop`] processes, then drops the
/// connection: the handler unwinds (without the panic hook) out of the
/// connection's task, which closes the socket unanswered.
async fn answer(shared: &Shared, seen: Seen, process: impl FnOnce() -> Response) -> Response {
    let fault = shared.faults.pop().or_else(|| {
        (seen.method == "POST" && seen.path == "/api/now/table/change_request")
            .then(|| shared.create_faults.pop())
            .flatten()
    });
    let response = match fault {
        Some(ServiceNowFault::TooManyRequests { retry_after_secs }) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                "Rate limit of 100 requests per hour for Table API exceeded",
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Some(ServiceNowFault::Status(code)) => error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Simulated fault",
            "The mock was told to fail this request",
        ),
        Some(ServiceNowFault::ProcessThenDrop) => {
            let _committed = process();
            seen.log(shared, 0);
            std::panic::resume_unwind(Box::new("ServiceNow mock: connection dropped"));
        }
        Some(ServiceNowFault::Delay(d)) => {
            // logged before the wait: the client may hang up meanwhile,
            // which ends this handler
            let processed = process();
            seen.log(shared, processed.status().as_u16());
            shared.stop.sleep(d).await;
            return processed;
        }
        None => process(),
    };
    seen.log(shared, response.status().as_u16());
    response
}

/// `None` when the table request may go on: `Accept` names JSON, a write
/// says its body is JSON, and it is authenticated.
fn refused(shared: &Shared, headers: &HeaderMap, write: bool) -> Option<Response> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.trim().is_empty() {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "Missing Accept header",
            "Accept must name application/json",
        ));
    }
    if !(accept.contains("application/json") || accept.contains("*/*")) {
        return Some(error(
            StatusCode::NOT_ACCEPTABLE,
            "Invalid Accept header",
            "Accept must name application/json",
        ));
    }
    if write {
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ctype.starts_with("application/json") {
            return Some(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "Content-Type must be application/json",
            ));
        }
    }
    if authenticated(shared, headers) {
        None
    } else {
        Some(error(
            StatusCode::UNAUTHORIZED,
            "User Not Authenticated",
            "Required to provide Auth information",
        ))
    }
}

fn authenticated(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(basic) = value.strip_prefix("Basic ") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", shared.config.user, shared.config.password);
        return decoded == expected.as_bytes();
    }
    if let Some(token) = value.strip_prefix("Bearer ") {
        let now = shared.clock.now();
        return shared
            .lock()
            .tokens
            .get(token.trim())
            .is_some_and(|expires| *expires > now);
    }
    false
}

async fn token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let seen = Seen::new(&shared, &Method::POST, "/oauth_token.do".into(), None);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    answer(&shared, seen, || {
        let field = |k: &str| form.get(k).map(String::as_str);
        if field("grant_type") != Some("client_credentials")
            || field("client_id") != Some(shared.config.client_id.as_str())
            || field("client_secret") != Some(shared.config.client_secret.as_str())
        {
            return ok_json(
                StatusCode::UNAUTHORIZED,
                json!({"error": "access_denied", "error_description": "access_denied"}),
            );
        }
        let access = uuid::Uuid::new_v4().simple().to_string();
        let expires = shared.clock.now() + Duration::from_secs(TOKEN_SECONDS);
        shared.lock().tokens.insert(access.clone(), expires);
        ok_json(
            StatusCode::OK,
            json!({"scope": "useraccount", "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                   "access_token": access}),
        )
    })
    .await
}

/// The string fields of a write's body, or why not (a 400's detail).
fn string_fields(body: &[u8]) -> Result<Map<String, Value>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("the body must be a JSON object".to_owned());
    };
    if let Some((k, _)) = fields.iter().find(|(_, v)| !v.is_string()) {
        return Err(format!("field `{k}` must be a string"));
    }
    Ok(fields)
}

/// The record as the Table API shows it, with `sysparm_fields` applied.
fn shown(record: &ChangeRecord, fields: Option<&str>) -> Value {
    match fields {
        None => Value::Object(record.fields.clone()),
        Some(list) => Value::Object(
            list.split(',')
                .map(str::trim)
                .filter_map(|f| record.fields.get(f).map(|v| (f.to_owned(), v.clone())))
                .collect(),
        ),
    }
}

/// Fields a write cannot set (the instance keeps them).
const READ_ONLY: &[&str] = &[
    "sys_id",
    "number",
    "sys_mod_count",
    "sys_updated_on",
    "sys_created_on",
];

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let seen = Seen::new(
        &shared,
        &Method::POST,
        "/api/now/table/change_request".into(),
        None,
    );
    if let Some(r) = refused(&shared, &headers, true) {
        let status = r.status().as_u16();
        seen.log(&shared, status);
        return r;
    }
    let fields = match string_fields(&body) {
        Ok(f) => f,
        Err(detail) => {
            seen.log(&shared, 400);
            return error(StatusCode::BAD_REQUEST, "Invalid request body", &detail);
        }
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    answer(&shared, seen, || {
        let now = timestamp(shared.clock.now());
        let mut inner = shared.lock();
        let number = format!("CHG{:07}", inner.next_number);
        inner.next_number += 1;
        let sys_id = uuid::Uuid::new_v4().simple().to_string();
        let mut record = ChangeRecord {
            fields: Map::new(),
            work_notes: Vec::new(),
        };
        for (k, v) in fields {
            if k == "work_notes" {
                record
                    .work_notes
                    .push(v.as_str().unwrap_or_default().to_owned());
            } else if !READ_ONLY.contains(&k.as_str()) {
                record.fields.insert(k, v);
            }
        }
        for (k, v) in [
            ("sys_id", sys_id.as_str()),
            ("number", number.as_str()),
            ("type", "normal"),
            ("state", STATE_NEW),
            ("approval", "not requested"),
            ("sys_mod_count", "0"),
            ("sys_created_on", now.as_str()),
            ("sys_updated_on", now.as_str()),
        ] {
            if k == "type" && record.fields.contains_key("type") {
                continue;
            }
            record.fields.insert(k.to_owned(), v.into());
        }
        let body = json!({"result": shown(&record, None)});
        inner.records.push(record);
        let mut r = ok_json(StatusCode::CREATED, body);
        let location = format!("http://{host}/api/now/table/change_request/{sys_id}");
        if let Ok(v) = header::HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    })
    .await
}

/// A term of an encoded query the mock understands: `field=value`,
/// `fieldSTARTSWITHvalue`, `field>=value` (compared as text: the Table
/// API's `YYYY-MM-DD HH:MM:SS` dates sort so). `ORDERBY…` terms sort (see
/// [`order_of`]); any other term is ignored, as an instance ignores invalid
/// parts unless told otherwise.
enum Term<'a> {
    Is(&'a str, &'a str),
    StartsWith(&'a str, &'a str),
    AtLeast(&'a str, &'a str),
}

fn is_field(f: &str) -> bool {
    !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn terms(query: &str) -> Vec<Term<'_>> {
    query
        .split('^')
        .filter(|t| !t.is_empty() && !t.starts_with("ORDERBY"))
        .filter_map(|t| {
            if let Some((f, v)) = t.split_once(">=") {
                return is_field(f).then_some(Term::AtLeast(f, v));
            }
            if let Some((f, v)) = t.split_once("STARTSWITH") {
                return is_field(f).then_some(Term::StartsWith(f, v));
            }
            let (f, v) = t.split_once('=')?;
            is_field(f).then_some(Term::Is(f, v))
        })
        .collect()
}

/// Whether `record` matches every term of an encoded query.
fn matches(record: &ChangeRecord, query: &str) -> bool {
    terms(query).iter().all(|t| match *t {
        Term::Is(f, v) => record.field(f) == Some(v),
        Term::StartsWith(f, v) => record.field(f).is_some_and(|x| x.starts_with(v)),
        Term::AtLeast(f, v) => record.field(f).is_some_and(|x| x >= v),
    })
}

/// The field an encoded query's first `ORDERBYfield` or `ORDERBYDESCfield`
/// sorts on, and whether descending.
fn order_of(query: &str) -> Option<(&str, bool)> {
    query.split('^').find_map(|t| {
        if let Some(f) = t.strip_prefix("ORDERBYDESC") {
            return is_field(f).then_some((f, true));
        }
        let f = t.strip_prefix("ORDERBY")?;
        is_field(f).then_some((f, false))
    })
}

async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    let seen = Seen::new(
        &shared,
        &Method::GET,
        uri.path().to_owned(),
        uri.query().map(str::to_owned),
    );
    if let Some(r) = refused(&shared, &headers, false) {
        let status = r.status().as_u16();
        seen.log(&shared, status);
        return r;
    }
    answer(&shared, seen, || {
        let inner = shared.lock();
        let query = params
            .get("sysparm_query")
            .map(String::as_str)
            .unwrap_or("");
        let mut matching: Vec<&ChangeRecord> =
            inner.records.iter().filter(|r| matches(r, query)).collect();
        if let Some((field, desc)) = order_of(query) {
            matching.sort_by(|a, b| a.field(field).cmp(&b.field(field)));
            if desc {
                matching.reverse();
            }
        }
        let offset = params
            .get("sysparm_offset")
            .and_then(|o| o.parse::<usize>().ok())
            .unwrap_or(0);
        let limit = params
            .get("sysparm_limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(10_000);
        let fields = params.get("sysparm_fields").map(String::as_str);
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| shown(r, fields))
            .collect();
        let mut r = ok_json(StatusCode::OK, json!({ "result": page }));
        if let Ok(v) = header::HeaderValue::from_str(&matching.len().to_string()) {
            r.headers_mut().insert("x-total-count", v);
        }
        r
    })
    .await
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "No Record found",
        "Record doesn't exist or ACL restricts the record retrieval",
    )
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path(sys_id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let seen = Seen::new(
        &shared,
        &Method::GET,
        format!("/api/now/table/change_request/{sys_id}"),
        None,
    );
    if let Some(r) = refused(&shared, &headers, false) {
        let status = r.status().as_u16();
        seen.log(&shared, status);
        return r;
    }
    answer(&shared, seen, || {
        let inner = shared.lock();
        match inner
            .records
            .iter()
            .find(|r| r.field("sys_id") == Some(sys_id.as_str()))
        {
            Some(r) => ok_json(
                StatusCode::OK,
                json!({"result": shown(r, params.get("sysparm_fields").map(String::as_str))}),
            ),
            None => not_found(),
        }
    })
    .await
}

async fn update(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(sys_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen::new(
        &shared,
        &method,
        format!("/api/now/table/change_request/{sys_id}"),
        None,
    );
    if let Some(r) = refused(&shared, &headers, true) {
        let status = r.status().as_u16();
        seen.log(&shared, status);
        return r;
    }
    let fields = match string_fields(&body) {
        Ok(f) => f,
        Err(detail) => {
            seen.log(&shared, 400);
            return error(StatusCode::BAD_REQUEST, "Invalid request body", &detail);
        }
    };
    answer(&shared, seen, || {
        let now = timestamp(shared.clock.now());
        let mut inner = shared.lock();
        let Some(record) = inner
            .records
            .iter_mut()
            .find(|r| r.field("sys_id") == Some(sys_id.as_str()))
        else {
            return not_found();
        };
        for (k, v) in fields {
            if k == "work_notes" {
                record
                    .work_notes
                    .push(v.as_str().unwrap_or_default().to_owned());
            } else if !READ_ONLY.contains(&k.as_str()) {
                record.fields.insert(k, v);
            }
        }
        touch(record, &now);
        ok_json(StatusCode::OK, json!({"result": shown(record, None)}))
    })
    .await
}
