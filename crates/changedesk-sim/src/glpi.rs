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
//! | the same on `Ticket` (`/apirest.php/Ticket/`, `search/Ticket`, follow-ups with `itemtype` `Ticket`) | the same, a ticket's own ids |
//! | another itemtype | 400 `ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM` |
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
    /// The high-level API's OAuth client (scope `api`).
    pub oauth_client_id: String,
    /// Its secret.
    pub oauth_client_secret: String,
}

impl Default for GlpiConfig {
    fn default() -> GlpiConfig {
        GlpiConfig {
            login: "changedesk".to_owned(),
            password: "mock-password-not-secret".to_owned(),
            user_token: "mock-user-token-not-secret".to_owned(),
            app_token: Some("mock-app-token-not-secret".to_owned()),
            oauth_client_id: "changedesk-hl".to_owned(),
            oauth_client_secret: "mock-oauth-secret-not-secret".to_owned(),
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
    /// The `Ticket` itemtype (incidents and requests).
    tickets: Vec<GlpiChange>,
    sessions: Vec<String>,
    next_followup: i64,
    /// The high-level API's Bearer tokens, and when each expires.
    tokens: HashMap<String, std::time::Duration>,
}

/// The itemtypes of the legacy API the mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Change,
    Ticket,
}

impl Item {
    fn parse(name: &str) -> Option<Item> {
        match name {
            "Change" => Some(Item::Change),
            "Ticket" => Some(Item::Ticket),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Item::Change => "Change",
            Item::Ticket => "Ticket",
        }
    }
}

/// An itemtype the mock does not serve (GLPI: 400 for an unknown one).
fn unknown_itemtype(name: &str) -> Response {
    glpi_error(
        StatusCode::BAD_REQUEST,
        "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
        &format!("resource {name} not found or not an instance of CommonDBTM"),
    )
}

impl GlpiRecords {
    fn items(&self, item: Item) -> &Vec<GlpiChange> {
        match item {
            Item::Change => &self.changes,
            Item::Ticket => &self.tickets,
        }
    }

    fn items_mut(&mut self, item: Item) -> &mut Vec<GlpiChange> {
        match item {
            Item::Change => &mut self.changes,
            Item::Ticket => &mut self.tickets,
        }
    }

    /// Adds a change of `input` at `now`; its id.
    fn add(&mut self, input: Map<String, Value>, now: String) -> i64 {
        self.add_item(Item::Change, input, now)
    }

    /// Adds an item of `input` at `now`; its id.
    fn add_item(&mut self, item: Item, input: Map<String, Value>, now: String) -> i64 {
        let id = i64::try_from(self.items(item).len()).unwrap_or(0) + 1;
        let mut fields = Map::new();
        fields.insert("id".into(), id.into());
        fields.insert("status".into(), 1.into());
        fields.insert("entities_id".into(), 0.into());
        fields.insert("date".into(), now.clone().into());
        fields.insert("date_creation".into(), now.clone().into());
        write_input(&mut fields, input, now);
        self.items_mut(item).push(GlpiChange {
            fields,
            followups: Vec::new(),
        });
        id
    }
}

/// Writes a request's `input` on a change's fields at `now`: the fields the
/// server keeps (`id`, dates) left alone, a dropdown written as `{"id"}`
/// (the high-level API, 11.0.3) kept as its id; `date_mod` moves.
fn write_input(fields: &mut Map<String, Value>, input: Map<String, Value>, now: String) {
    for (k, v) in input {
        let v = match (k.as_str(), v) {
            ("status", Value::Object(o)) => o.get("id").cloned().unwrap_or(Value::Null),
            (_, v) => v,
        };
        if !matches!(k.as_str(), "id" | "date" | "date_mod" | "date_creation") {
            fields.insert(k, v);
        }
    }
    fields.insert("date_mod".into(), now.into());
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
    /// The legacy API's base URL (`http://127.0.0.1:PORT/apirest.php/`).
    pub fn url(&self) -> String {
        format!("http://{}/apirest.php/", self.addr())
    }

    /// The high-level API's base URL, version 2.0
    /// (`http://127.0.0.1:PORT/api.php/v2.0/`).
    pub fn hl_url(&self) -> String {
        format!("http://{}/api.php/v2.0/", self.addr())
    }

    /// The changes, oldest first.
    pub fn changes(&self) -> Vec<GlpiChange> {
        self.shared.lock().changes.clone()
    }

    /// The tickets (incidents, requests), oldest first.
    pub fn tickets(&self) -> Vec<GlpiChange> {
        self.shared.lock().tickets.clone()
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
            tickets: Vec::new(),
            sessions: Vec::new(),
            next_followup: 1,
            tokens: HashMap::new(),
        },
        stop.clone(),
    ));
    let app = Router::new()
        .route("/apirest.php/initSession", get(init_session))
        .route("/apirest.php/killSession", get(kill_session))
        .route("/apirest.php/ITILFollowup/", post(followup))
        .route("/apirest.php/{itemtype}/", post(create))
        .route(
            "/apirest.php/{itemtype}/{id}",
            get(read).put(update).patch(update),
        )
        .route("/apirest.php/search/{itemtype}", get(search))
        .route("/api.php/token", post(hl_token))
        .route(
            "/api.php/v2.0/Assistance/Change",
            get(hl_list).post(hl_create),
        )
        .route(
            "/api.php/v2.0/Assistance/Change/{id}",
            get(hl_read).patch(hl_update),
        )
        .route(
            "/api.php/v2.0/Assistance/Change/{id}/Timeline/Followup",
            post(hl_followup),
        )
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
    let refused = refused(shared, method, headers, body, opening);
    shared
        .core
        .answer_unless(&Shape, method, (path, None), refused, create, process)
        .await
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
    Path(itemtype): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(item) = Item::parse(&itemtype) else {
        return unknown_itemtype(&itemtype);
    };
    let host = header_text(&headers, "host")
        .unwrap_or("127.0.0.1")
        .to_owned();
    let path = format!("/apirest.php/{}/", item.name());
    call(&shared, &method, &path, &headers, &body, true, || {
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
        let id = shared
            .lock()
            .add_item(item, input, plain_time(shared.core.clock.now()));
        let mut r = json_answer(StatusCode::CREATED, &json!({"id": id, "message": ""}));
        if let Ok(v) = header::HeaderValue::from_str(&format!(
            "http://{host}/apirest.php/{}/{id}",
            item.name()
        )) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    })
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
    Path((itemtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(item) = Item::parse(&itemtype) else {
        return unknown_itemtype(&itemtype);
    };
    let path = format!("/apirest.php/{}/{id}", item.name());
    call(&shared, &method, &path, &headers, &body, false, || {
        let inner = shared.lock();
        match inner
            .items(item)
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
    Path((itemtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(item) = Item::parse(&itemtype) else {
        return unknown_itemtype(&itemtype);
    };
    let path = format!("/apirest.php/{}/{id}", item.name());
    call(&shared, &method, &path, &headers, &body, false, || {
        let Some(input) = input_of(&body) else {
            return bad_array();
        };
        let now = plain_time(shared.core.clock.now());
        let mut inner = shared.lock();
        let Some(c) = inner
            .items_mut(item)
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
            let (Some(item), Some(items_id), Some(content)) = (
                input
                    .get("itemtype")
                    .and_then(Value::as_str)
                    .and_then(Item::parse),
                input.get("items_id").and_then(Value::as_i64),
                input.get("content").and_then(Value::as_str),
            ) else {
                return glpi_error(
                    StatusCode::BAD_REQUEST,
                    "ERROR_GLPI_ADD",
                    "itemtype (Change or Ticket), items_id and content are required",
                );
            };
            let now = plain_time(shared.core.clock.now());
            let mut inner = shared.lock();
            let id = inner.next_followup;
            let Some(c) = inner
                .items_mut(item)
                .iter_mut()
                .find(|c| c.id() == items_id)
            else {
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
    Path(itemtype): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(item) = Item::parse(&itemtype) else {
        return unknown_itemtype(&itemtype);
    };
    let path = format!("/apirest.php/search/{}", item.name());
    call(&shared, &method, &path, &headers, &body, false, || {
        // field 1 (name) `contains` the value; other criteria are ignored
        let wanted = (params.get("criteria[0][field]").map(String::as_str) == Some("1")
            && params.get("criteria[0][searchtype]").map(String::as_str) == Some("contains"))
        .then(|| params.get("criteria[0][value]").cloned())
        .flatten();
        let inner = shared.lock();
        let data: Vec<Value> = inner
            .items(item)
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
    })
    .await
}

// ---------------------------------------------------------------- the high-level API (GLPI 11, `api.php`, §3.2)

/// The high-level API's error body: `{"status","title","detail"}`.
fn hl_error(status: StatusCode, code: &str, title: &str) -> Response {
    json_answer(
        status,
        &json!({"status": code, "title": title, "detail": null}),
    )
}

/// The high-level API's fault shape.
struct HlShape;

impl ErrorShape for HlShape {
    fn error(&self, status: StatusCode, message: &str) -> Response {
        hl_error(status, "ERROR", message)
    }

    fn throttled(&self, secs: u64) -> Response {
        let mut r = hl_error(StatusCode::TOO_MANY_REQUESTS, "ERROR", "Too many requests");
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// How long a high-level API token lives.
pub const HL_TOKEN_SECONDS: u64 = 3600;

/// The HTTP-date of a `date_mod` (`YYYY-MM-DD HH:MM:SS`, UTC).
fn http_date(date_mod: &str) -> Option<String> {
    let plain = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let http = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(date_mod, plain)
        .ok()?
        .format(http)
        .ok()
}

/// An HTTP-date as a `date_mod` would be written.
fn from_http_date(value: &str) -> Option<String> {
    let plain = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let http = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value.trim(), http)
        .ok()?
        .format(plain)
        .ok()
}

/// A request of the high-level API: a valid Bearer token (401
/// `ERROR_SESSION_TOKEN_INVALID`), JSON for a write — then `process`,
/// through the faults, logged.
async fn hl_call(
    shared: &MockState<GlpiConfig, GlpiRecords>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    write: bool,
    process: impl FnOnce() -> Response,
) -> Response {
    let now = shared.core.clock.now();
    let signed_in = header_text(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| {
            shared
                .lock()
                .tokens
                .get(t.trim())
                .is_some_and(|exp| *exp > now)
        });
    let refused = if !signed_in {
        Some(hl_error(
            StatusCode::UNAUTHORIZED,
            "ERROR_SESSION_TOKEN_INVALID",
            "Invalid or missing access token",
        ))
    } else if write
        && !header_text(headers, "content-type").is_some_and(|c| c.starts_with("application/json"))
    {
        Some(hl_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "ERROR_INVALID_PARAMETER",
            "The body must be JSON",
        ))
    } else {
        None
    };
    let create = write && *method == Method::POST;
    shared
        .core
        .answer_unless(&HlShape, method, (path, None), refused, create, process)
        .await
}

async fn hl_token(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // a JSON or form body
    let fields: HashMap<String, String> = if header_text(&headers, "content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect()
    } else {
        url::form_urlencoded::parse(&body).into_owned().collect()
    };
    shared
        .core
        .answer(&HlShape, &Method::POST, ("/api.php/token", None), false, || {
            let field = |k: &str| fields.get(k).map(String::as_str);
            if field("grant_type") != Some("client_credentials")
                || field("client_id") != Some(shared.config.oauth_client_id.as_str())
                || field("client_secret") != Some(shared.config.oauth_client_secret.as_str())
            {
                return json_answer(
                    StatusCode::UNAUTHORIZED,
                    &json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
                );
            }
            if !field("scope").is_some_and(|s| s.split(' ').any(|x| x == "api")) {
                return json_answer(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": "invalid_scope", "error_description": "The scope `api` is required"}),
                );
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            let expires = shared.core.clock.now() + std::time::Duration::from_secs(HL_TOKEN_SECONDS);
            shared.lock().tokens.insert(token.clone(), expires);
            json_answer(
                StatusCode::OK,
                &json!({"token_type": "Bearer", "expires_in": HL_TOKEN_SECONDS, "access_token": token}),
            )
        })
        .await
}

/// A change as the high-level API shows it: `status` an object.
fn hl_change(c: &GlpiChange) -> Value {
    let mut fields = c.fields.clone();
    let status = fields.get("status").and_then(Value::as_i64).unwrap_or(1);
    fields.insert(
        "status".into(),
        json!({"id": status, "name": status_name(status)}),
    );
    Value::Object(fields)
}

fn status_name(status: i64) -> &'static str {
    match status {
        1 => "New",
        2 => "Processing (assigned)",
        3 => "Processing (planned)",
        4 => "Pending",
        5 => "Applied",
        6 => "Closed",
        7 => "Accepted",
        8 => "Review",
        9 => "Evaluation",
        10 => "Approval",
        11 => "Testing",
        12 => "Qualification",
        _ => "Unknown",
    }
}

/// An RSQL comparison the mock understands.
enum Rsql {
    /// `name==…` (`*` a wildcard; the value quoted or not).
    NameIs(String),
    /// `date_mod=ge=…`.
    ModifiedSince(String),
}

/// The comparisons of a filter, joined by `;` (and), or why not.
fn parse_rsql(filter: &str) -> Result<Vec<Rsql>, String> {
    let unquote = |v: &str| v.trim().trim_matches('"').to_owned();
    filter
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            if let Some(v) = part.strip_prefix("name==") {
                Ok(Rsql::NameIs(unquote(v).to_lowercase()))
            } else if let Some(v) = part.strip_prefix("date_mod=ge=") {
                Ok(Rsql::ModifiedSince(unquote(v)))
            } else {
                Err(format!("Invalid filter: {part}"))
            }
        })
        .collect()
}

fn rsql_matches(c: &GlpiChange, filter: &[Rsql]) -> bool {
    filter.iter().all(|f| match f {
        Rsql::NameIs(pattern) => {
            let name = c.fields.get("name").and_then(Value::as_str).unwrap_or("");
            wildcard(pattern, &name.to_lowercase())
        }
        Rsql::ModifiedSince(since) => c
            .fields
            .get("date_mod")
            .and_then(Value::as_str)
            .is_some_and(|d| d >= since.as_str()),
    })
}

/// Whether `text` matches `pattern`, whose `*` stands for any text.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some((first, rest)) = parts.split_first() else {
        return true;
    };
    let Some(mut left) = text.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        if last {
            return left.ends_with(part);
        }
        match left.split_once(part) {
            Some((_, after)) => left = after,
            None => return false,
        }
    }
    left.is_empty()
}

async fn hl_list(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    hl_call(
        &shared,
        &Method::GET,
        "/api.php/v2.0/Assistance/Change",
        &headers,
        false,
        || {
            let filter = match parse_rsql(params.get("filter").map(String::as_str).unwrap_or("")) {
                Ok(f) => f,
                Err(e) => return hl_error(StatusCode::BAD_REQUEST, "ERROR_INVALID_PARAMETER", &e),
            };
            let inner = shared.lock();
            let found: Vec<Value> = inner
                .changes
                .iter()
                .filter(|c| rsql_matches(c, &filter))
                .map(hl_change)
                .collect();
            let total = found.len();
            let mut r = json_answer(StatusCode::OK, &Value::Array(found));
            let range = format!("0-{}/{total}", total.saturating_sub(1));
            if let Ok(v) = header::HeaderValue::from_str(&range) {
                r.headers_mut().insert("content-range", v);
            }
            r
        },
    )
    .await
}

async fn hl_create(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/api.php/v2.0/Assistance/Change";
    let host = itsm::host_of(&headers);
    hl_call(&shared, &Method::POST, path, &headers, true, || {
        let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
            return hl_error(StatusCode::BAD_REQUEST, "ERROR_INVALID_PARAMETER", "The body must be an object");
        };
        if input
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &json!({"status": "ERROR_INVALID_PARAMETER", "title": "Invalid parameter", "detail": null,
                        "additional_messages": [{"priority": "error", "message": "Missing parameter: name"}]}),
            );
        }
        let id = shared
            .lock()
            .add(input, plain_time(shared.core.clock.now()));
        let href = format!("/Assistance/Change/{id}");
        let mut r = json_answer(StatusCode::CREATED, &json!({"id": id, "href": href}));
        if let Ok(v) = header::HeaderValue::from_str(&format!("http://{host}/api.php/v2.0{href}")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    })
    .await
}

/// `POST Assistance/Change/{id}/Timeline/Followup` `{"content": "…"}`: a
/// follow-up on the change's timeline (the path follows the high-level
/// API's `{itemtype}/{id}/Timeline/{subitem}` pattern; Unconfirmed), 201
/// with its id and link; `content` required (400 as a create without a
/// name), the change known (404).
async fn hl_followup(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/api.php/v2.0/Assistance/Change/{id}/Timeline/Followup");
    hl_call(&shared, &Method::POST, &path, &headers, true, || {
        let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
            return hl_error(
                StatusCode::BAD_REQUEST,
                "ERROR_INVALID_PARAMETER",
                "The body must be an object",
            );
        };
        let Some(content) = input
            .get("content")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
        else {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &json!({"status": "ERROR_INVALID_PARAMETER", "title": "Invalid parameter", "detail": null,
                        "additional_messages": [{"priority": "error", "message": "Missing parameter: content"}]}),
            );
        };
        let now = plain_time(shared.core.clock.now());
        let mut inner = shared.lock();
        let followup = inner.next_followup;
        let Some(c) = inner
            .changes
            .iter_mut()
            .find(|c| id.parse::<i64>().is_ok_and(|n| n == c.id()))
        else {
            return hl_not_found();
        };
        c.followups.push(content.to_owned());
        c.fields.insert("date_mod".into(), now.into());
        inner.next_followup += 1;
        json_answer(
            StatusCode::CREATED,
            &json!({"id": followup, "href": format!("/Assistance/Change/{id}/Timeline/Followup/{followup}")}),
        )
    })
    .await
}

fn hl_not_found() -> Response {
    hl_error(StatusCode::NOT_FOUND, "ERROR_ITEM_NOT_FOUND", "Not found")
}

async fn hl_read(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api.php/v2.0/Assistance/Change/{id}");
    hl_call(&shared, &Method::GET, &path, &headers, false, || {
        let inner = shared.lock();
        let Some(c) = inner
            .changes
            .iter()
            .find(|c| id.parse::<i64>().is_ok_and(|n| n == c.id()))
        else {
            return hl_not_found();
        };
        let mut r = json_answer(StatusCode::OK, &hl_change(c));
        let modified = c
            .fields
            .get("date_mod")
            .and_then(Value::as_str)
            .and_then(http_date);
        if let Some(v) = modified.and_then(|m| header::HeaderValue::from_str(&m).ok()) {
            r.headers_mut().insert(header::LAST_MODIFIED, v);
        }
        r
    })
    .await
}

async fn hl_update(
    State(shared): State<Arc<MockState<GlpiConfig, GlpiRecords>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/api.php/v2.0/Assistance/Change/{id}");
    let unmodified_since = header_text(&headers, "if-unmodified-since").map(str::to_owned);
    hl_call(&shared, &Method::PATCH, &path, &headers, true, || {
        let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
            return hl_error(
                StatusCode::BAD_REQUEST,
                "ERROR_INVALID_PARAMETER",
                "The body must be an object",
            );
        };
        let now = plain_time(shared.core.clock.now());
        let mut inner = shared.lock();
        let Some(c) = inner
            .changes
            .iter_mut()
            .find(|c| id.parse::<i64>().is_ok_and(|n| n == c.id()))
        else {
            return hl_not_found();
        };
        // the only optimistic concurrency GLPI has: 412 when modified since
        if let Some(since) = &unmodified_since {
            let Some(since) = from_http_date(since) else {
                return hl_error(
                    StatusCode::BAD_REQUEST,
                    "ERROR_INVALID_PARAMETER",
                    "If-Unmodified-Since is not an HTTP-date",
                );
            };
            let modified = c
                .fields
                .get("date_mod")
                .and_then(Value::as_str)
                .unwrap_or("");
            if modified > since.as_str() {
                return hl_error(
                    StatusCode::PRECONDITION_FAILED,
                    "ERROR",
                    "Precondition Failed",
                );
            }
        }
        write_input(&mut c.fields, input, now);
        json_answer(StatusCode::OK, &hl_change(c))
    })
    .await
}
