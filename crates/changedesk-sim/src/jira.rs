//! A Jira Cloud mock (REST v3): issues, their workflow transitions, edits
//! with a comment, and JQL search that lags behind writes, as
//! `../shared/reference/integrations.md` §2 describes them, the local site
//! changedesk's Jira connector is tested against.
//!
//! | Request | Answer |
//! |---|---|
//! | a queued [`JiraFault`] (checked first; [`JiraHandle::fail_next_create`] for creates only) | the fault |
//! | no `Authorization: Basic base64(email:api_token)` of the configured account | 401 with an empty body (a real 401 may be HTML or empty) |
//! | a write without `Content-Type: application/json` | 415 |
//! | `POST /rest/api/3/issue` | **201** `{"id","key","self"}`: `fields.project.key` the configured project, `fields.issuetype.name` one of its types and a `summary` are required (400 ErrorCollection naming the field); `description` must be ADF (400 `Operation value must be an Atlassian Document…`); `labels` strings without spaces |
//! | `GET /rest/api/3/issue/{idOrKey}` | 200 `{"id","key","self","fields":{"summary","status":{"id","name","statusCategory":{"id","key","name"}},"updated","created","labels"}}`, or 404 `Issue does not exist or you do not have permission to see it.` |
//! | `PUT /rest/api/3/issue/{idOrKey}` with `{"update":{"comment":[{"add":{"body":<ADF>}}]}}` and/or `fields` | 204 |
//! | `GET /rest/api/3/issue/{idOrKey}/transitions` | 200 `{"transitions":[…]}` available from the issue's status |
//! | `POST /rest/api/3/issue/{idOrKey}/transitions` `{"transition":{"id"}}` | 204; 400 for a transition not available now; 409 when [`JiraHandle::conflict_next_transition`] |
//! | `GET`/`POST /rest/api/3/search/jql` | 200 `{"issues":[…],"isLast",["nextPageToken"]}`: a **bounded** JQL of `project = K`, `labels = "x"`, `updated >= "YYYY-MM-DD HH:MM"` joined by `AND`, `ORDER BY updated ASC|DESC` (400 for an unbounded or unknown one); `fields` default to `id` only; `maxResults` (default 50); an issue is found only [`JiraConfig::search_lag`] after it was created or updated (search is eventually consistent) |
//!
//! The workflow: To Do (`10000`, `new`) —`21` Start→ In Progress (`3`,
//! `indeterminate`) —`31` Done→ Done (`10001`, `done`); `41` Reopen from Done
//! to To Do. [`JiraHandle::move_to`] is the other side's people.

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
use serde_json::{Value, json};

use crate::mock::{self, FaultQueue, MockClock, MockServer, RequestLog, Stop};

/// The site's account, project and search lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraConfig {
    /// The account's e-mail.
    pub email: String,
    /// Its API token.
    pub api_token: String,
    /// The project's key.
    pub project: String,
    /// Its issue types.
    pub issue_types: Vec<String>,
    /// How long after a write an issue shows in search (the real one
    /// lags by seconds).
    pub search_lag: Duration,
}

impl Default for JiraConfig {
    fn default() -> JiraConfig {
        JiraConfig {
            email: "changedesk@example.com".to_owned(),
            api_token: "mock-api-token-not-secret".to_owned(),
            project: "CHG".to_owned(),
            issue_types: vec!["Task".to_owned(), "Change".to_owned()],
            search_lag: Duration::from_millis(500),
        }
    }
}

/// An answer given instead of (or after) processing the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JiraFault {
    /// 429 with `Retry-After`, `X-RateLimit-Reset` and `RateLimit-Reason:
    /// jira-burst-based`.
    TooManyRequests {
        /// The `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// This status with an ErrorCollection (an invalid one answers 500).
    Status(u16),
    /// Process the request (a create commits its issue), then drop the
    /// connection without answering.
    ProcessThenDrop,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraRequest {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The status answered (0: the connection was dropped).
    pub status: u16,
}

/// An issue as the site holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct JiraIssue {
    /// Its id (`10001`…).
    pub id: String,
    /// Its key (`CHG-1`…).
    pub key: String,
    /// Its fields as created (summary, labels, description…).
    pub fields: serde_json::Map<String, Value>,
    /// Its status id.
    pub status: String,
    /// Its comments' bodies (ADF), oldest first.
    pub comments: Vec<Value>,
    /// When it was last written, on the mock's clock.
    pub updated: Duration,
}

/// The workflow's statuses: (id, name, category id, category key).
const STATUSES: &[(&str, &str, u8, &str)] = &[
    ("10000", "To Do", 2, "new"),
    ("3", "In Progress", 4, "indeterminate"),
    ("10001", "Done", 3, "done"),
];

/// The workflow's transitions: (id, name, from, to).
const TRANSITIONS: &[(&str, &str, &str, &str)] = &[
    ("21", "Start", "10000", "3"),
    ("31", "Done", "3", "10001"),
    ("41", "Reopen", "10001", "10000"),
];

struct Inner {
    issues: Vec<JiraIssue>,
    conflict_next: bool,
}

struct Shared {
    config: JiraConfig,
    clock: MockClock,
    requests: RequestLog<JiraRequest>,
    faults: FaultQueue<JiraFault>,
    create_faults: FaultQueue<JiraFault>,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        mock::lock(&self.inner)
    }
}

/// A running site. It stops at [`JiraHandle::shutdown`] or when dropped.
pub struct JiraHandle {
    shared: Arc<Shared>,
    server: MockServer,
}

impl std::fmt::Debug for JiraHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraHandle")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl JiraHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The site's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &JiraConfig {
        &self.shared.config
    }

    /// The issues, oldest first.
    pub fn issues(&self) -> Vec<JiraIssue> {
        self.shared.lock().issues.clone()
    }

    /// Every request with its answer, in arrival order.
    pub fn requests(&self) -> Vec<JiraRequest> {
        self.shared.requests.in_order(|r| r.seq)
    }

    /// Queues answers for the next requests, in order.
    pub fn fail_next(&self, faults: Vec<JiraFault>) {
        self.shared.faults.extend(faults);
    }

    /// Queues answers for the next creates only (`POST /rest/api/3/issue`).
    pub fn fail_next_create(&self, faults: Vec<JiraFault>) {
        self.shared.create_faults.extend(faults);
    }

    /// The next transition is refused with 409 (a conflicting update).
    pub fn conflict_next_transition(&self) {
        self.shared.lock().conflict_next = true;
    }

    /// The other side moves issue `key` to the status `status_id` (e.g.
    /// `10001` Done). Whether it exists.
    pub fn move_to(&self, key: &str, status_id: &str) -> bool {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        match inner.issues.iter_mut().find(|i| i.key == key) {
            Some(issue) => {
                issue.status = status_id.to_owned();
                issue.updated = now;
                true
            }
            None => false,
        }
    }

    /// Lets `by` pass on the mock's clock (`updated` times; search lag).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts a site on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_jira(config: JiraConfig) -> std::io::Result<JiraHandle> {
    let stop = Stop::new();
    let shared = Arc::new(Shared {
        config,
        clock: MockClock::new(),
        requests: RequestLog::new(),
        faults: FaultQueue::new(),
        create_faults: FaultQueue::new(),
        inner: Mutex::new(Inner {
            issues: Vec::new(),
            conflict_next: false,
        }),
    });
    let app = Router::new()
        .route("/rest/api/3/issue", post(create))
        .route("/rest/api/3/issue/{key}", get(read).put(edit))
        .route(
            "/rest/api/3/issue/{key}/transitions",
            get(transitions).post(transition),
        )
        .route("/rest/api/3/search/jql", get(search_get).post(search_post))
        .with_state(Arc::clone(&shared));
    let server = MockServer::start("Jira mock", app, stop).await?;
    Ok(JiraHandle { shared, server })
}

/// `2026-02-18T10:15:03.123+0000` of a mock-clock instant, counted from
/// 2026-02-17 00:00:00 UTC.
fn jira_time(at: Duration) -> String {
    let t = time::macros::datetime!(2026-02-17 00:00:00 UTC) + at;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `YYYY-MM-DD HH:MM` (JQL's date form) of a mock-clock instant.
fn jql_time(at: Duration) -> String {
    jira_time(at).replace('T', " ").chars().take(16).collect()
}

fn errors(status: StatusCode, messages: &[&str], fields: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        json!({"errorMessages": messages, "errors": fields}).to_string(),
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

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `None` when the request may go on: signed in, and a write's body JSON.
fn refused(shared: &Shared, headers: &HeaderMap, write: bool) -> Option<Response> {
    let expected = format!("{}:{}", shared.config.email, shared.config.api_token);
    let signed_in = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|d| d == expected.as_bytes());
    if !signed_in {
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if write && !json_body {
        return Some(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
    }
    None
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
        shared.requests.push(JiraRequest {
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
        Some(JiraFault::TooManyRequests { retry_after_secs }) => {
            let mut r = ok_json(StatusCode::TOO_MANY_REQUESTS, json!({}));
            for (k, v) in [
                ("retry-after", retry_after_secs.to_string()),
                ("x-ratelimit-reset", "2026-02-18T10:16Z".to_owned()),
                ("ratelimit-reason", "jira-burst-based".to_owned()),
            ] {
                if let Ok(v) = header::HeaderValue::from_str(&v) {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
        Some(JiraFault::Status(code)) => errors(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &["Simulated fault"],
            json!({}),
        ),
        Some(JiraFault::ProcessThenDrop) => {
            let _committed = process();
            log(0);
            std::panic::resume_unwind(Box::new("Jira mock: connection dropped"));
        }
        None => process(),
    };
    log(response.status().as_u16());
    response
}

/// Whether `doc` is an Atlassian Document: a `doc` of version 1 whose
/// content is blocks of the kinds the reference lists.
fn is_adf(doc: &Value) -> bool {
    const BLOCKS: &[&str] = &[
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "rule",
        "blockquote",
    ];
    const INLINE: &[&str] = &["text", "hardBreak"];
    fn node_ok(n: &Value, allowed: &[&str], inline: &[&str]) -> bool {
        let Some(kind) = n.get("type").and_then(Value::as_str) else {
            return false;
        };
        if inline.contains(&kind) {
            return kind != "text" || n.get("text").is_some_and(Value::is_string);
        }
        if !allowed.contains(&kind) {
            return false;
        }
        match n.get("content") {
            None => true,
            Some(Value::Array(children)) => children.iter().all(|c| node_ok(c, allowed, inline)),
            Some(_) => false,
        }
    }
    doc.get("type").and_then(Value::as_str) == Some("doc")
        && doc.get("version").and_then(Value::as_u64) == Some(1)
        && doc
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().all(|n| node_ok(n, BLOCKS, INLINE)))
}

const NOT_ADF: &str =
    "Operation value must be an Atlassian Document (see the Atlassian Document Format)";

fn status_json(id: &str) -> Value {
    let (id, name, cat, key) = STATUSES
        .iter()
        .find(|s| s.0 == id)
        .copied()
        .unwrap_or(("10000", "To Do", 2, "new"));
    json!({"id": id, "name": name, "statusCategory": {"id": cat, "key": key, "name": name}})
}

fn issue_json(host: &str, issue: &JiraIssue, fields: Option<&[String]>) -> Value {
    let mut all = serde_json::Map::new();
    for (k, v) in &issue.fields {
        all.insert(k.clone(), v.clone());
    }
    all.insert("status".into(), status_json(&issue.status));
    all.insert("updated".into(), jira_time(issue.updated).into());
    let shown: serde_json::Map<String, Value> = match fields {
        None => all,
        Some(list) => all
            .into_iter()
            .filter(|(k, _)| {
                list.iter()
                    .any(|f| f == k || f == "*navigable" || f == "*all")
            })
            .collect(),
    };
    json!({"id": issue.id, "key": issue.key, "self": format!("http://{host}/rest/api/3/issue/{}", issue.id),
           "fields": shown})
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let path = "/rest/api/3/issue";
    if let Some(r) = refused(&shared, &headers, true) {
        return answer(&shared, &Method::POST, path, false, || r);
    }
    let host = host_of(&headers);
    answer(&shared, &Method::POST, path, true, || {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
            return errors(
                StatusCode::BAD_REQUEST,
                &["The request body is not a JSON object"],
                json!({}),
            );
        };
        let Some(fields_value @ Value::Object(fields)) = body.get("fields") else {
            return errors(
                StatusCode::BAD_REQUEST,
                &[],
                json!({"fields": "Field 'fields' is required"}),
            );
        };
        if fields_value.pointer("/project/key").and_then(Value::as_str)
            != Some(shared.config.project.as_str())
        {
            return errors(
                StatusCode::BAD_REQUEST,
                &[],
                json!({"project": "Specify a valid project ID or key"}),
            );
        }
        let kind = fields_value
            .pointer("/issuetype/name")
            .and_then(Value::as_str);
        if !kind.is_some_and(|k| shared.config.issue_types.iter().any(|t| t == k)) {
            return errors(
                StatusCode::BAD_REQUEST,
                &[],
                json!({"issuetype": "Specify an issue type"}),
            );
        }
        match fields.get("summary").and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() && s.chars().count() <= 255 => {}
            _ => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"summary": "You must specify a summary of the issue."}),
                );
            }
        }
        if let Some(d) = fields.get("description")
            && !is_adf(d)
        {
            return errors(
                StatusCode::BAD_REQUEST,
                &[],
                json!({"description": NOT_ADF}),
            );
        }
        if let Some(labels) = fields.get("labels") {
            let ok = labels.as_array().is_some_and(|l| {
                l.iter().all(|x| {
                    x.as_str()
                        .is_some_and(|s| !s.is_empty() && !s.contains(' '))
                })
            });
            if !ok {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"labels": "Labels cannot contain spaces."}),
                );
            }
        }
        let now = shared.clock.now();
        let mut inner = shared.lock();
        let n = inner.issues.len() + 1;
        let issue = JiraIssue {
            id: (10000 + n).to_string(),
            key: format!("{}-{n}", shared.config.project),
            fields: fields.clone(),
            status: "10000".to_owned(),
            comments: Vec::new(),
            updated: now,
        };
        let out = json!({"id": issue.id, "key": issue.key,
                         "self": format!("http://{host}/rest/api/3/issue/{}", issue.id)});
        inner.issues.push(issue);
        ok_json(StatusCode::CREATED, out)
    })
}

fn not_found() -> Response {
    errors(
        StatusCode::NOT_FOUND,
        &["Issue does not exist or you do not have permission to see it."],
        json!({}),
    )
}

fn find<'a>(issues: &'a mut [JiraIssue], key: &str) -> Option<&'a mut JiraIssue> {
    issues.iter_mut().find(|i| i.key == key || i.id == key)
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}");
    if let Some(r) = refused(&shared, &headers, false) {
        return answer(&shared, &Method::GET, &path, false, || r);
    }
    let host = host_of(&headers);
    answer(&shared, &Method::GET, &path, false, || {
        let fields: Option<Vec<String>> = params
            .get("fields")
            .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
        let mut inner = shared.lock();
        match find(&mut inner.issues, &key) {
            Some(issue) => ok_json(StatusCode::OK, issue_json(&host, issue, fields.as_deref())),
            None => not_found(),
        }
    })
}

async fn edit(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}");
    if let Some(r) = refused(&shared, &headers, true) {
        return answer(&shared, &Method::PUT, &path, false, || r);
    }
    answer(&shared, &Method::PUT, &path, false, || {
        let Ok(body) = serde_json::from_slice::<Value>(&body) else {
            return errors(
                StatusCode::BAD_REQUEST,
                &["The request body is not JSON"],
                json!({}),
            );
        };
        let mut comments = Vec::new();
        if let Some(adds) = body.pointer("/update/comment") {
            let Some(adds) = adds.as_array() else {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"comment": "Expected a list of operations"}),
                );
            };
            for op in adds {
                match op.pointer("/add/body") {
                    Some(b) if is_adf(b) => comments.push(b.clone()),
                    _ => return errors(StatusCode::BAD_REQUEST, &[], json!({"comment": NOT_ADF})),
                }
            }
        }
        let now = shared.clock.now();
        let mut inner = shared.lock();
        let Some(issue) = find(&mut inner.issues, &key) else {
            return not_found();
        };
        if let Some(Value::Object(fields)) = body.get("fields") {
            for (k, v) in fields {
                issue.fields.insert(k.clone(), v.clone());
            }
        }
        issue.comments.extend(comments);
        issue.updated = now;
        no_content()
    })
}

fn transition_json(t: &(&str, &str, &str, &str)) -> Value {
    json!({"id": t.0, "name": t.1, "hasScreen": false, "isGlobal": false, "isInitial": false,
           "isAvailable": true, "isConditional": false, "to": status_json(t.3)})
}

async fn transitions(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}/transitions");
    if let Some(r) = refused(&shared, &headers, false) {
        return answer(&shared, &Method::GET, &path, false, || r);
    }
    answer(&shared, &Method::GET, &path, false, || {
        let mut inner = shared.lock();
        let Some(issue) = find(&mut inner.issues, &key) else {
            return not_found();
        };
        let list: Vec<Value> = TRANSITIONS
            .iter()
            .filter(|t| t.2 == issue.status)
            .map(transition_json)
            .collect();
        ok_json(StatusCode::OK, json!({"transitions": list}))
    })
}

async fn transition(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}/transitions");
    if let Some(r) = refused(&shared, &headers, true) {
        return answer(&shared, &Method::POST, &path, false, || r);
    }
    answer(&shared, &Method::POST, &path, false, || {
        let id = serde_json::from_slice::<Value>(&body).ok().and_then(|b| {
            b.pointer("/transition/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let now = shared.clock.now();
        let mut inner = shared.lock();
        if std::mem::take(&mut inner.conflict_next) {
            return errors(
                StatusCode::CONFLICT,
                &["A conflicting update is in progress"],
                json!({}),
            );
        }
        let Some(issue) = find(&mut inner.issues, &key) else {
            return not_found();
        };
        match TRANSITIONS
            .iter()
            .find(|t| Some(t.0) == id.as_deref() && t.2 == issue.status)
        {
            Some(t) => {
                issue.status = t.3.to_owned();
                issue.updated = now;
                no_content()
            }
            None => errors(
                StatusCode::BAD_REQUEST,
                &["The transition is not valid for this issue now"],
                json!({}),
            ),
        }
    })
}

/// A JQL condition the mock understands.
enum Cond {
    Project(String),
    Label(String),
    UpdatedSince(String),
}

/// The conditions and the sort (descending?) of a bounded JQL the mock
/// understands, or why not (400).
fn parse_jql(jql: &str) -> Result<(Vec<Cond>, Option<bool>), String> {
    let (conds, order) = match jql.to_ascii_lowercase().find(" order by ") {
        Some(i) => (&jql[..i], Some(jql[i + " order by ".len()..].trim())),
        None => (jql, None),
    };
    let desc = match order.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("updated asc" | "updated") => Some(false),
        Some("updated desc") => Some(true),
        Some(other) => return Err(format!("ORDER BY {other} is not supported by the mock")),
    };
    let unquote = |v: &str| v.trim().trim_matches('"').to_owned();
    let mut out = Vec::new();
    for part in conds.split(" AND ") {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if let Some(v) = part.strip_prefix("project =") {
            out.push(Cond::Project(unquote(v)));
        } else if let Some(v) = part.strip_prefix("labels =") {
            out.push(Cond::Label(unquote(v)));
        } else if let Some(v) = part.strip_prefix("updated >=") {
            out.push(Cond::UpdatedSince(unquote(v)));
        } else {
            return Err(format!("Error in the JQL Query: '{part}'"));
        }
    }
    if out.is_empty() {
        return Err("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into());
    }
    Ok((out, desc))
}

/// A search's parameters, from a GET's query or a POST's body.
struct SearchAsk {
    jql: String,
    fields: Option<Vec<String>>,
    max_results: usize,
    token: Option<String>,
}

fn search(shared: &Shared, host: &str, ask: &SearchAsk) -> Response {
    let (conds, desc) = match parse_jql(&ask.jql) {
        Ok(p) => p,
        Err(e) => return errors(StatusCode::BAD_REQUEST, &[e.as_str()], json!({})),
    };
    let now = shared.clock.now();
    let inner = shared.lock();
    let mut found: Vec<&JiraIssue> = inner
        .issues
        .iter()
        // eventually consistent: a write shows after the lag
        .filter(|i| i.updated + shared.config.search_lag <= now)
        .filter(|i| {
            conds.iter().all(|c| match c {
                Cond::Project(p) => i.key.starts_with(&format!("{p}-")),
                Cond::Label(l) => i
                    .fields
                    .get("labels")
                    .and_then(Value::as_array)
                    .is_some_and(|ls| ls.iter().any(|x| x.as_str() == Some(l.as_str()))),
                Cond::UpdatedSince(t) => jql_time(i.updated) >= *t,
            })
        })
        .collect();
    if let Some(desc) = desc {
        found.sort_by_key(|i| i.updated);
        if desc {
            found.reverse();
        }
    }
    let start = ask
        .token
        .as_deref()
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let max = ask.max_results.clamp(1, 100);
    let page: Vec<Value> = found
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            // `fields` default to `id` only
            let fields = ask.fields.clone().unwrap_or_else(|| vec!["id".to_owned()]);
            issue_json(host, i, Some(&fields))
        })
        .collect();
    let last = start + page.len() >= found.len();
    let mut body = json!({"issues": page, "isLast": last});
    if !last {
        body["nextPageToken"] = json!(format!("page-{}", start + page.len()));
    }
    ok_json(StatusCode::OK, body)
}

async fn search_get(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let path = "/rest/api/3/search/jql";
    if let Some(r) = refused(&shared, &headers, false) {
        return answer(&shared, &Method::GET, path, false, || r);
    }
    let host = host_of(&headers);
    let ask = SearchAsk {
        jql: params.get("jql").cloned().unwrap_or_default(),
        fields: params
            .get("fields")
            .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect()),
        max_results: params
            .get("maxResults")
            .and_then(|m| m.parse().ok())
            .unwrap_or(50),
        token: params.get("nextPageToken").cloned(),
    };
    answer(&shared, &Method::GET, path, false, || {
        search(&shared, &host, &ask)
    })
}

async fn search_post(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/rest/api/3/search/jql";
    if let Some(r) = refused(&shared, &headers, true) {
        return answer(&shared, &Method::POST, path, false, || r);
    }
    let host = host_of(&headers);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ask = SearchAsk {
        jql: body
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        fields: body.get("fields").and_then(Value::as_array).map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }),
        max_results: body
            .get("maxResults")
            .and_then(Value::as_u64)
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(50),
        token: body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    answer(&shared, &Method::POST, path, false, || {
        search(&shared, &host, &ask)
    })
}
