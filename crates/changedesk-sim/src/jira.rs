//! A Jira Cloud mock (REST v3): issues, their workflow transitions, edits
//! with a comment, and JQL search that lags behind writes, as
//! `../shared/reference/integrations.md` §2 describes them, the local site
//! changedesk's Jira connector is tested against.
//!
//! | Request | Answer |
//! |---|---|
//! | a queued [`itsm::Fault`] (checked first; [`MockHandle::fail_next_create`] for creates only) | the fault |
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
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::itsm::{self, ErrorShape, MockHandle, MockState, header_text, json_answer};
use crate::mock::Stop;

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
            issue_types: vec![
                "Task".to_owned(),
                "Change".to_owned(),
                "Incident".to_owned(),
            ],
            search_lag: Duration::from_millis(500),
        }
    }
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

/// The records of the mock (opaque).
pub struct JiraRecords {
    issues: Vec<JiraIssue>,
    conflict_next: bool,
}

/// Jira's ErrorCollection, and its throttling headers.
struct Shape;

impl ErrorShape for Shape {
    fn error(&self, status: StatusCode, message: &str) -> Response {
        errors(status, &[message], json!({}))
    }

    fn throttled(&self, secs: u64) -> Response {
        let mut r = json_answer(StatusCode::TOO_MANY_REQUESTS, &json!({}));
        for (k, v) in [
            ("retry-after", secs.to_string()),
            ("x-ratelimit-reset", "2026-02-18T10:16Z".to_owned()),
            ("ratelimit-reason", "jira-burst-based".to_owned()),
        ] {
            if let Ok(v) = header::HeaderValue::from_str(&v) {
                r.headers_mut().insert(k, v);
            }
        }
        r
    }
}

/// A running site (the common methods are [`MockHandle`]'s).
pub type JiraHandle = MockHandle<JiraConfig, JiraRecords>;

impl MockHandle<JiraConfig, JiraRecords> {
    /// The site's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The issues, oldest first.
    pub fn issues(&self) -> Vec<JiraIssue> {
        self.shared.lock().issues.clone()
    }

    /// The next transition is refused with 409 (a conflicting update).
    pub fn conflict_next_transition(&self) {
        self.shared.lock().conflict_next = true;
    }

    /// The other side moves issue `key` to the status `status_id` (e.g.
    /// `10001` Done). Whether it exists.
    pub fn move_to(&self, key: &str, status_id: &str) -> bool {
        let now = self.shared.core.clock.now();
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
}

/// Starts a site on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_jira(config: JiraConfig) -> std::io::Result<JiraHandle> {
    let stop = Stop::new();
    let shared = Arc::new(MockState::new(
        config,
        JiraRecords {
            issues: Vec::new(),
            conflict_next: false,
        },
        stop.clone(),
    ));
    let app = Router::new()
        .route("/rest/api/3/issue", post(create))
        .route("/rest/api/3/issue/{key}", get(read).put(edit))
        .route(
            "/rest/api/3/issue/{key}/transitions",
            get(transitions).post(transition),
        )
        .route("/rest/api/3/search/jql", get(search_get).post(search_post))
        .with_state(Arc::clone(&shared));
    MockHandle::start("Jira mock", app, shared, stop).await
}

/// `2026-02-18T10:15:03.123+0000` of a mock-clock instant, counted from
/// 2026-02-17 00:00:00 UTC.
fn jira_time(at: Duration) -> String {
    let t = itsm::instant(at);
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
    json_answer(
        status,
        &json!({"errorMessages": messages, "errors": fields}),
    )
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `None` when the request may go on: signed in, and a write's body JSON.
fn refused(
    shared: &MockState<JiraConfig, JiraRecords>,
    headers: &HeaderMap,
    write: bool,
) -> Option<Response> {
    if !itsm::basic_is(headers, &shared.config.email, &shared.config.api_token) {
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    if write
        && !header_text(headers, "content-type").is_some_and(|v| v.starts_with("application/json"))
    {
        return Some(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
    }
    None
}

/// A request: refused, or `process` — through the faults, logged.
#[allow(clippy::too_many_arguments)]
async fn call(
    shared: &MockState<JiraConfig, JiraRecords>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    write: bool,
    create: bool,
    process: impl FnOnce() -> Response,
) -> Response {
    let refused = refused(shared, headers, write);
    shared
        .core
        .answer_unless(&Shape, method, (path, None), refused, create, process)
        .await
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

async fn create(
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/rest/api/3/issue";
    let host = itsm::host_of(&headers);
    call(&shared, &Method::POST, path, &headers, true, true, || {
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
        let now = shared.core.clock.now();
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
        json_answer(StatusCode::CREATED, &out)
    })
    .await
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
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}");
    let host = itsm::host_of(&headers);
    call(&shared, &Method::GET, &path, &headers, false, false, || {
        let fields: Option<Vec<String>> = params
            .get("fields")
            .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
        let mut inner = shared.lock();
        match find(&mut inner.issues, &key) {
            Some(issue) => {
                json_answer(StatusCode::OK, &issue_json(&host, issue, fields.as_deref()))
            }
            None => not_found(),
        }
    })
    .await
}

async fn edit(
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}");
    call(&shared, &Method::PUT, &path, &headers, true, false, || {
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
        let now = shared.core.clock.now();
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
    .await
}

fn transition_json(t: &(&str, &str, &str, &str)) -> Value {
    json!({"id": t.0, "name": t.1, "hasScreen": false, "isGlobal": false, "isInitial": false,
           "isAvailable": true, "isConditional": false, "to": status_json(t.3)})
}

async fn transitions(
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}/transitions");
    call(&shared, &Method::GET, &path, &headers, false, false, || {
        let mut inner = shared.lock();
        let Some(issue) = find(&mut inner.issues, &key) else {
            return not_found();
        };
        let list: Vec<Value> = TRANSITIONS
            .iter()
            .filter(|t| t.2 == issue.status)
            .map(transition_json)
            .collect();
        json_answer(StatusCode::OK, &json!({"transitions": list}))
    })
    .await
}

async fn transition(
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/rest/api/3/issue/{key}/transitions");
    call(&shared, &Method::POST, &path, &headers, true, false, || {
        let id = serde_json::from_slice::<Value>(&body).ok().and_then(|b| {
            b.pointer("/transition/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let now = shared.core.clock.now();
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
    .await
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
    // `ORDER BY`, in any case, split off by words (never by byte position)
    let words: Vec<&str> = jql.split(' ').collect();
    let order_at = words
        .windows(2)
        .position(|w| w[0].eq_ignore_ascii_case("order") && w[1].eq_ignore_ascii_case("by"));
    let (conds, order) = match order_at {
        Some(k) => (
            words[..k].join(" "),
            Some(words[k + 2..].join(" ").trim().to_owned()),
        ),
        None => (jql.to_owned(), None),
    };
    let conds = conds.as_str();
    let desc = match order.as_deref().map(str::to_ascii_lowercase).as_deref() {
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

fn search(shared: &MockState<JiraConfig, JiraRecords>, host: &str, ask: &SearchAsk) -> Response {
    let (conds, desc) = match parse_jql(&ask.jql) {
        Ok(p) => p,
        Err(e) => return errors(StatusCode::BAD_REQUEST, &[e.as_str()], json!({})),
    };
    let now = shared.core.clock.now();
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
    json_answer(StatusCode::OK, &body)
}

async fn search_get(
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let path = "/rest/api/3/search/jql";
    let host = itsm::host_of(&headers);
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
    call(&shared, &Method::GET, path, &headers, false, false, || {
        search(&shared, &host, &ask)
    })
    .await
}

async fn search_post(
    State(shared): State<Arc<MockState<JiraConfig, JiraRecords>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/rest/api/3/search/jql";
    let host = itsm::host_of(&headers);
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
    call(&shared, &Method::POST, path, &headers, true, false, || {
        search(&shared, &host, &ask)
    })
    .await
}
