//! A GLPI mock: the legacy REST API (`apirest.php`, GLPI 9.1 to 11) for
//! changes, as `../shared/reference/integrations.md` §3.1 describes it, the
//! local server changedesk's GLPI connector is tested against.
//!
//! | Request | Answer |
//! |---|---|
//! | a queued [`itsm::Fault`] (checked first; [`MockHandle::fail_next_create`] for creates only) | the fault |
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
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::itsm::{self, ErrorShape, MockHandle, MockState, header_text, json_answer, plain_time};
use crate::mock::Stop;

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

/// The records of the mock (opaque).
pub struct GlpiRecords {
    changes: Vec<GlpiChange>,
    sessions: Vec<String>,
    next_followup: i64,
}

/// GLPI's error array (GLPI does not throttle: a 429 is the mock's own).
struct Shape;

impl ErrorShape for Shape {
    fn error(&self, status: StatusCode, message: &str) -> Response {
        glpi_error(status, "ERROR", message)
    }

    fn throttled(&self, secs: u64) -> Response {
        let mut r = glpi_error(StatusCode::TOO_MANY_REQUESTS, "ERROR", "Too many requests");
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A running server (the common methods are [`MockHandle`]'s).
pub type GlpiHandle = MockHandle<GlpiConfig, GlpiRecords>;

impl MockHandle<GlpiConfig, GlpiRecords> {
    /// The API's base URL (`http://127.0.0.1:PORT/apirest.php/`).
    pub fn url(&self) -> String {
        format!("http://{}/apirest.php/", self.addr())
    }

    /// The changes, oldest first.
    pub fn changes(&self) -> Vec<GlpiChange> {
        self.shared.lock().changes.clone()
    }

    /// Ends every session (as a server's session lifetime does): the next
    /// call gets 401 `ERROR_SESSION_TOKEN_INVALID`.
    pub fn expire_sessions(&self) {
        self.shared.lock().sessions.clear();
    }

    /// The other side moves change `id` to `status` (e.g. 5 Applied, 6
    /// Closed). Whether it exists.
    pub fn set_status(&self, id: i64, status: i64) -> bool {
        let now = plain_time(self.shared.core.clock.now());
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
}

/// Starts a server on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_glpi(config: GlpiConfig) -> std::io::Result<GlpiHandle> {
    let stop = Stop::new();
    let shared = Arc::new(MockState::new(
        config,
        GlpiRecords {
            changes: Vec::new(),
            sessions: Vec::new(),
            next_followup: 1,
        },
        stop.clone(),
    ));
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
    MockHandle::start("GLPI mock", app, shared, stop).await
}

fn glpi_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_answer(status, &json!([code, message]))
}

/// The checks every call passes (`Content-Type`, an empty GET body, the
/// app token), then, unless `opening`, a valid session.
fn refused(
    shared: &MockState<GlpiConfig, GlpiRecords>,
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

/// A call checked, then answered (faults first).
#[allow(clippy::too_many_arguments)]
async fn call(
    shared: &MockState<GlpiConfig, GlpiRecords>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    create: bool,
    process: impl FnOnce() -> Response,
) -> Response {
    let opening = path == "/apirest.php/initSession";
    match refused(shared, method, headers, body, opening) {
        Some(r) => {
            shared
                .core
                .answer(&Shape, method, (path, None), false, || r)
                .await
        }
        None => {
            shared
                .core
                .answer(&Shape, method, (path, None), create, process)
                .await
        }
    }
}

async fn init_session(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
            } else if auth.starts_with("Basic ") {
                itsm::basic_is(&headers, &shared.config.login, &shared.config.password)
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
            json_answer(StatusCode::OK, &json!({"session_token": token}))
        },
    )
    .await
}

async fn kill_session(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
            json_answer(StatusCode::OK, &json!(true))
        },
    )
    .await
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
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
            let now = plain_time(shared.core.clock.now());
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
            let mut r = json_answer(StatusCode::CREATED, &json!({"id": id, "message": ""}));
            if let Ok(v) =
                header::HeaderValue::from_str(&format!("http://{host}/apirest.php/Change/{id}"))
            {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        },
    )
    .await
}

fn not_found() -> Response {
    glpi_error(
        StatusCode::NOT_FOUND,
        "ERROR_ITEM_NOT_FOUND",
        "Item not found",
    )
}

async fn read(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
                let mut r = json_answer(StatusCode::OK, &Value::Object(c.fields.clone()));
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
    .await
}

async fn update(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
        let now = plain_time(shared.core.clock.now());
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
        json_answer(
            StatusCode::OK,
            &json!([{ id.as_str(): true, "message": "" }]),
        )
    })
    .await
}

async fn followup(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
            let now = plain_time(shared.core.clock.now());
            let mut inner = shared.lock();
            let id = inner.next_followup;
            let Some(c) = inner.changes.iter_mut().find(|c| c.id() == items_id) else {
                return not_found();
            };
            c.followups.push(content.to_owned());
            c.fields.insert("date_mod".into(), now.into());
            inner.next_followup += 1;
            json_answer(StatusCode::CREATED, &json!({"id": id, "message": ""}))
        },
    )
    .await
}

async fn search(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
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
            json_answer(
                StatusCode::OK,
                &json!({"totalcount": data.len(), "count": data.len(), "data": data}),
            )
        },
    )
    .await
}
