//! A GLPI mock: the legacy REST API (`apirest.php`, GLPI 9.1 to 11) for
//! changes, as `../shared/reference/integrations.md` §3.1 describes it, the
//! local server changedesk's GLPI connector is tested against.
//!
//! | Request | Answer |
//! |---|---|
//! | a queued [`GlpiFault`] (checked first; [`GlpiHandle::fail_next_create`] for creates only) | the fault |
//! | no `Content-Type: application/json` (every request must send it) | 400 `ERROR_BAD_ARRAY`-style `["ERROR_JSON_PAYLOAD_INVALID", …]` |
//! | a `GET` with a body | 400 |
//! | with [`GlpiConfig::app_token`]: no `App-Token` / another | 400 `ERROR_APP_TOKEN_PARAMETERS_MISSING` / 401 `ERROR_WRONG_APP_TOKEN_PARAMETER` |
//! | `GET /apirest.php/initSession` with `Authorization: user_token …` or `Basic` of the configured account | 200 `{"session_token"}`; 401 `ERROR_GLPI_LOGIN_USER_TOKEN` / `ERROR_GLPI_LOGIN` |
//! | any other call without a `Session-Token` / with an unknown or expired one | 400 `ERROR_SESSION_TOKEN_MISSING` / 401 `ERROR_SESSION_TOKEN_INVALID` |
//! | `GET /apirest.php/killSession` | 200, the session ended |
//! | `POST /apirest.php/Change/` `{"input":{…}}` (`name` required) | **201** `{"id","message":""}` and `Location`; 400 `ERROR_BAD_ARRAY` without `input`, `ERROR_GLPI_ADD` without a name |
//! | `GET /apirest.php/Change/{id}` | 200 the change (`id`, `name`, `content`, `status`, `date`, `date_mod`, `urgency`, `impact`, `entities_id`) with `Last-Modified`; 404 `ERROR_ITEM_NOT_FOUND` |
//! | `PUT` (or `PATCH`) `/apirest.php/Change/{id}` `{"input":{…}}` | 200 `[{"<id>":true,"message":""}]`, `date_mod` moves |
//! | `POST /apirest.php/ITILFollowup/` `{"input":{"itemtype":"Change","items_id","content"}}` | 201 `{"id","message":""}`; the change's `date_mod` moves |
//! | `GET /apirest.php/search/Change?criteria[0][field]=1&criteria[0][searchtype]=contains&criteria[0][value]=…` | 200 `{"totalcount","count","data":[{"2":id,"1":name,"12":status,"19":date_mod}]}` (field 1 name, `contains`; other criteria ignored) |
//!
//! [`GlpiHandle::set_status`] is the other side's people; every change's
//! `date_mod` is on the mock's clock.

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

/// The server's account and API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlpiConfig {
    /// The login (Basic).
    pub login: String,
    /// Its password.
    pub password: String,
    /// The user's API token (`Authorization: user_token …`).
    pub user_token: String,
    /// The API client's app token, when one is configured (then required).
    pub app_token: Option<String>,
}

impl Default for GlpiConfig {
    fn default() -> GlpiConfig {
        GlpiConfig {
            login: "changedesk".to_owned(),
            password: "mock-password-not-secret".to_owned(),
            user_token: "mock-user-token-not-secret".to_owned(),
            app_token: Some("mock-app-token-not-secret".to_owned()),
        }
    }
}

/// An answer given instead of (or after) processing the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlpiFault {
    /// This status with `["ERROR","Simulated fault"]` (an invalid one
    /// answers 500).
    Status(u16),
    /// Process the request (a create commits its change), then drop the
    /// connection without answering.
    ProcessThenDrop,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlpiRequest {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The status answered (0: the connection was dropped).
    pub status: u16,
}

/// A change as the server holds it, and its follow-ups.
#[derive(Debug, Clone, PartialEq)]
pub struct GlpiChange {
    /// Its fields (`id`, `name`, `content`, `status`, `date_mod`…).
    pub fields: Map<String, Value>,
    /// Its follow-ups' contents, oldest first.
    pub followups: Vec<String>,
}

impl GlpiChange {
    /// Its id.
    pub fn id(&self) -> i64 {
        self.fields.get("id").and_then(Value::as_i64).unwrap_or(0)
    }
}

struct Inner {
    changes: Vec<GlpiChange>,
    sessions: Vec<String>,
    next_followup: i64,
}

struct Shared {
    config: GlpiConfig,
    clock: MockClock,
    requests: RequestLog<GlpiRequest>,
    faults: FaultQueue<GlpiFault>,
    create_faults: FaultQueue<GlpiFault>,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        mock::lock(&self.inner)
    }
}

/// A running server. It stops at [`GlpiHandle::shutdown`] or when dropped.
pub struct GlpiHandle {
    shared: Arc<Shared>,
    server: MockServer,
}

impl std::fmt::Debug for GlpiHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlpiHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl GlpiHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The API's base URL (`http://127.0.0.1:PORT/apirest.php/`).
    pub fn url(&self) -> String {
        format!("http://{}/apirest.php/", self.server.addr())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &GlpiConfig {
        &self.shared.config
    }

    /// The changes, oldest first.
    pub fn changes(&self) -> Vec<GlpiChange> {
        self.shared.lock().changes.clone()
    }

    /// Every request with its answer, in arrival order.
    pub fn requests(&self) -> Vec<GlpiRequest> {
        self.shared.requests.in_order(|r| r.seq)
    }

    /// Queues answers for the next requests, in order.
    pub fn fail_next(&self, faults: Vec<GlpiFault>) {
        self.shared.faults.extend(faults);
    }

    /// Queues answers for the next creates of a change only.
    pub fn fail_next_create(&self, faults: Vec<GlpiFault>) {
        self.shared.create_faults.extend(faults);
    }

    /// Ends every session (as a server's session lifetime does): the next
    /// call gets 401 `ERROR_SESSION_TOKEN_INVALID`.
    pub fn expire_sessions(&self) {
        self.shared.lock().sessions.clear();
    }

    /// The other side moves change `id` to `status` (e.g. 5 Applied, 6
    /// Closed). Whether it exists.
    pub fn set_status(&self, id: i64, status: i64) -> bool {
        let now = stamp(self.shared.clock.now());
        let mut inner = self.shared.lock();
        match inner.changes.iter_mut().find(|c| c.id() == id) {
            Some(c) => {
                c.fields.insert("status".into(), status.into());
                c.fields.insert("date_mod".into(), now.into());
                true
            }
            None => false,
        }
    }

    /// Lets `by` pass on the mock's clock (`date_mod`).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a server on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_glpi(config: GlpiConfig) -> std::io::Result<GlpiHandle> {
    let stop = Stop::new();
    let shared = Arc::new(Shared {
        config,
        clock: MockClock::new(),
        requests: RequestLog::new(),
        faults: FaultQueue::new(),
        create_faults: FaultQueue::new(),
        inner: Mutex::new(Inner {
            changes: Vec::new(),
            sessions: Vec::new(),
            next_followup: 1,
        }),
    });
    let app = Router::new()
        .route("/apirest.php/initSession", get(init_session))
        .route("/apirest.php/killSession", get(kill_session))
        .route("/apirest.php/Change/", post(create))
        .route(
            "/apirest.php/Change/{id}",
            get(read).put(update).patch(update),
        )
        .route("/apirest.php/ITILFollowup/", post(followup))
        .route("/apirest.php/search/Change", get(search))
        .with_state(Arc::clone(&shared));
    let server = MockServer::start("GLPI mock", app, stop).await?;
    Ok(GlpiHandle { shared, server })
}

/// `YYYY-MM-DD HH:MM:SS` of a mock-clock instant, from 2026-02-17 00:00:00.
fn stamp(at: Duration) -> String {
    let t = time::macros::datetime!(2026-02-17 00:00:00 UTC) + at;
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

fn glpi_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        json!([code, message]).to_string(),
    )
        .into_response()
}

fn ok_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The checks every call passes (`Content-Type`, an empty GET body, the
/// app token), then, unless `opening`, a valid session.
fn refused(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    opening: bool,
) -> Option<Response> {
    if !header_text(headers, "content-type").is_some_and(|c| c.starts_with("application/json")) {
        return Some(glpi_error(
            StatusCode::BAD_REQUEST,
            "ERROR_JSON_PAYLOAD_INVALID",
            "Content-Type must be application/json",
        ));
    }
    if *method == Method::GET && !body.is_empty() {
        return Some(glpi_error(
            StatusCode::BAD_REQUEST,
            "ERROR_JSON_PAYLOAD_FORBIDDEN",
            "GET requests must not have a body",
        ));
    }
    if let Some(expected) = &shared.config.app_token {
        match header_text(headers, "app-token") {
            None => {
                return Some(glpi_error(
                    StatusCode::BAD_REQUEST,
                    "ERROR_APP_TOKEN_PARAMETERS_MISSING",
                    "missing parameter app_token",
                ));
            }
            Some(t) if t != expected => {
                return Some(glpi_error(
                    StatusCode::UNAUTHORIZED,
                    "ERROR_WRONG_APP_TOKEN_PARAMETER",
                    "parameter app_token seems wrong",
                ));
            }
            Some(_) => {}
        }
    }
    if opening {
        return None;
    }
    match header_text(headers, "session-token") {
        None => Some(glpi_error(
            StatusCode::BAD_REQUEST,
            "ERROR_SESSION_TOKEN_MISSING",
            "parameter session_token is missing or empty",
        )),
        Some(t) if shared.lock().sessions.iter().any(|s| s == t) => None,
        Some(_) => Some(glpi_error(
            StatusCode::UNAUTHORIZED,
            "ERROR_SESSION_TOKEN_INVALID",
            "session_token seems invalid",
        )),
    }
}

/// Runs `process` unless a queued fault answers instead; logs the answer.
fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    create: bool,
    process: impl FnOnce() -> Response,
) -> Response {
    let seq = shared.requests.arrived();
    let log = |status: u16| {
        shared.requests.push(GlpiRequest {
            seq,
            method: method.to_string(),
            path: path.to_owned(),
            status,
        });
    };
    let fault = shared
        .faults
        .pop()
        .or_else(|| create.then(|| shared.create_faults.pop()).flatten());
    let response = match fault {
        Some(GlpiFault::Status(code)) => glpi_error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "ERROR",
            "Simulated fault",
        ),
        Some(GlpiFault::ProcessThenDrop) => {
            let _committed = process();
            log(0);
            std::panic::resume_unwind(Box::new("GLPI mock: connection dropped"));
        }
        None => process(),
    };
    log(response.status().as_u16());
    response
}

/// A call checked, then answered (faults first).
fn call(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    create: bool,
    process: impl FnOnce() -> Response,
) -> Response {
    let opening = path == "/apirest.php/initSession";
    match refused(shared, method, headers, body, opening) {
        Some(r) => answer(shared, method, path, false, || r),
        None => answer(shared, method, path, create, process),
    }
}

async fn init_session(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(
        &shared,
        &method,
        "/apirest.php/initSession",
        &headers,
        &body,
        false,
        || {
            let auth = header_text(&headers, "authorization").unwrap_or("");
            let ok = if let Some(token) = auth.strip_prefix("user_token ") {
                token.trim() == shared.config.user_token
            } else if let Some(basic) = auth.strip_prefix("Basic ") {
                let expected = format!("{}:{}", shared.config.login, shared.config.password);
                base64::engine::general_purpose::STANDARD
                    .decode(basic.trim())
                    .is_ok_and(|d| d == expected.as_bytes())
            } else {
                return glpi_error(
                    StatusCode::BAD_REQUEST,
                    "ERROR_LOGIN_PARAMETERS_MISSING",
                    "parameter(s) login, password or user_token are missing",
                );
            };
            if !ok {
                let code = if auth.starts_with("user_token") {
                    "ERROR_GLPI_LOGIN_USER_TOKEN"
                } else {
                    "ERROR_GLPI_LOGIN"
                };
                return glpi_error(
                    StatusCode::UNAUTHORIZED,
                    code,
                    "Incorrect username or password",
                );
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            shared.lock().sessions.push(token.clone());
            ok_json(StatusCode::OK, json!({"session_token": token}))
        },
    )
}

async fn kill_session(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(
        &shared,
        &method,
        "/apirest.php/killSession",
        &headers,
        &body,
        false,
        || {
            let token = header_text(&headers, "session-token")
                .unwrap_or("")
                .to_owned();
            shared.lock().sessions.retain(|s| *s != token);
            ok_json(StatusCode::OK, json!(true))
        },
    )
}

/// The `input` object of a write's body.
fn input_of(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(mut o) => match o.remove("input") {
            Some(Value::Object(input)) => Some(input),
            _ => None,
        },
        _ => None,
    }
}

fn bad_array() -> Response {
    glpi_error(
        StatusCode::BAD_REQUEST,
        "ERROR_BAD_ARRAY",
        "input parameter must be an array of objects",
    )
}

async fn create(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = header_text(&headers, "host")
        .unwrap_or("127.0.0.1")
        .to_owned();
    call(
        &shared,
        &method,
        "/apirest.php/Change/",
        &headers,
        &body,
        true,
        || {
            let Some(input) = input_of(&body) else {
                return bad_array();
            };
            if input
                .get("name")
                .and_then(Value::as_str)
                .is_none_or(|n| n.trim().is_empty())
            {
                return glpi_error(
                    StatusCode::BAD_REQUEST,
                    "ERROR_GLPI_ADD",
                    "You must fill the title",
                );
            }
            let now = stamp(shared.clock.now());
            let mut inner = shared.lock();
            let id = i64::try_from(inner.changes.len()).unwrap_or(0) + 1;
            let mut fields = Map::new();
            for (k, v) in input {
                if !matches!(k.as_str(), "id" | "date_mod" | "date_creation") {
                    fields.insert(k, v);
                }
            }
            fields.insert("id".into(), id.into());
            fields.entry("status").or_insert(1.into());
            fields.entry("entities_id").or_insert(0.into());
            fields.insert("date".into(), now.clone().into());
            fields.insert("date_creation".into(), now.clone().into());
            fields.insert("date_mod".into(), now.into());
            inner.changes.push(GlpiChange {
                fields,
                followups: Vec::new(),
            });
            let mut r = ok_json(StatusCode::CREATED, json!({"id": id, "message": ""}));
            if let Ok(v) =
                header::HeaderValue::from_str(&format!("http://{host}/apirest.php/Change/{id}"))
            {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        },
    )
}

fn not_found() -> Response {
    glpi_error(
        StatusCode::NOT_FOUND,
        "ERROR_ITEM_NOT_FOUND",
        "Item not found",
    )
}

async fn read(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/apirest.php/Change/{id}");
    call(&shared, &method, &path, &headers, &body, false, || {
        let inner = shared.lock();
        match inner
            .changes
            .iter()
            .find(|c| id.parse::<i64>().is_ok_and(|n| n == c.id()))
        {
            Some(c) => {
                let mut r = ok_json(StatusCode::OK, Value::Object(c.fields.clone()));
                let modified = c
                    .fields
                    .get("date_mod")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if let Ok(v) = header::HeaderValue::from_str(modified) {
                    r.headers_mut().insert(header::LAST_MODIFIED, v);
                }
                r
            }
            None => not_found(),
        }
    })
}

async fn update(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/apirest.php/Change/{id}");
    call(&shared, &method, &path, &headers, &body, false, || {
        let Some(input) = input_of(&body) else {
            return bad_array();
        };
        let now = stamp(shared.clock.now());
        let mut inner = shared.lock();
        let Some(c) = inner
            .changes
            .iter_mut()
            .find(|c| id.parse::<i64>().is_ok_and(|n| n == c.id()))
        else {
            return not_found();
        };
        for (k, v) in input {
            if !matches!(k.as_str(), "id" | "date_mod" | "date_creation") {
                c.fields.insert(k, v);
            }
        }
        c.fields.insert("date_mod".into(), now.into());
        ok_json(
            StatusCode::OK,
            json!([{ id.as_str(): true, "message": "" }]),
        )
    })
}

async fn followup(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(
        &shared,
        &method,
        "/apirest.php/ITILFollowup/",
        &headers,
        &body,
        false,
        || {
            let Some(input) = input_of(&body) else {
                return bad_array();
            };
            let (Some("Change"), Some(items_id), Some(content)) = (
                input.get("itemtype").and_then(Value::as_str),
                input.get("items_id").and_then(Value::as_i64),
                input.get("content").and_then(Value::as_str),
            ) else {
                return glpi_error(
                    StatusCode::BAD_REQUEST,
                    "ERROR_GLPI_ADD",
                    "itemtype Change, items_id and content are required",
                );
            };
            let now = stamp(shared.clock.now());
            let mut inner = shared.lock();
            let id = inner.next_followup;
            let Some(c) = inner.changes.iter_mut().find(|c| c.id() == items_id) else {
                return not_found();
            };
            c.followups.push(content.to_owned());
            c.fields.insert("date_mod".into(), now.into());
            inner.next_followup += 1;
            ok_json(StatusCode::CREATED, json!({"id": id, "message": ""}))
        },
    )
}

async fn search(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    call(
        &shared,
        &method,
        "/apirest.php/search/Change",
        &headers,
        &body,
        false,
        || {
            // field 1 (name) `contains` the value; other criteria are ignored
            let wanted = (params.get("criteria[0][field]").map(String::as_str) == Some("1")
                && params.get("criteria[0][searchtype]").map(String::as_str) == Some("contains"))
            .then(|| params.get("criteria[0][value]").cloned())
            .flatten();
            let inner = shared.lock();
            let data: Vec<Value> = inner
                .changes
                .iter()
                .filter(|c| {
                    wanted.as_deref().is_none_or(|w| {
                        c.fields
                            .get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.to_lowercase().contains(&w.to_lowercase()))
                    })
                })
                .map(|c| {
                    json!({"2": c.id(), "1": c.fields.get("name"), "12": c.fields.get("status"),
                       "19": c.fields.get("date_mod")})
                })
                .collect();
            ok_json(
                StatusCode::OK,
                json!({"totalcount": data.len(), "count": data.len(), "data": data}),
            )
        },
    )
}
