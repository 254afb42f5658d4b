//! A ServiceNow mock: the Table API's `change_request` and `incident` tables, the Change
//! Management API's creates and reads, and the OAuth token endpoint, as `../shared/reference/integrations.md` §1 describes
//! them, the local instance changedesk's ServiceNow connector is tested
//! against.
//!
//! | Request | Answer |
//! |---|---|
//! | a queued [`crate::itsm::Fault`] (checked first, whatever the request; or for creates only) | the fault |
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
//! | the same four on `/api/now/table/incident` | the same, numbers `INC0010001`…, state `1` (New) |
//! | an incident created without `short_description` | 403 `Data Policy Exception` |
//! | an incident made Resolved (`6`) or Closed (`7`) without a non-empty `close_code` and `close_notes` (in the request or on the record) | 403 `Data Policy Exception`, nothing changed (the default data policy; which close codes an instance offers varies, so any non-empty one is taken) |
//! | another table | 400 `Invalid table` |
//! | `POST /api/sn_chg_rest/change/normal` (the same checks) | **200** `{"result":{…}}`, every field `{"display_value","value"}` (`state` and `sys_mod_count` numbers), `__meta.ignoredFields`; a normal change (`chg_model` Normal) |
//! | `POST /api/sn_chg_rest/change/standard/{template}` | the same, a standard change from a template of [`ServiceNowConfig::standard_templates`]; 404 for another |
//! | `GET /api/sn_chg_rest/change/{sys_id}` | 200 the change in that form, or 404 |
//!
//! Errors carry ServiceNow's body: `{"error":{"message","detail"},"status":"failure"}`.
//!
//! The other side's people are [`ServiceNowHandle::set_state`] (a change
//! moves on) and [`ServiceNowHandle::records`] (what the instance holds).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::itsm::{self, ErrorShape, MockHandle, MockState, header_text, json_answer, plain_time};
use crate::mock::Stop;

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
    /// The published standard change templates (`std_change_record_producer`
    /// sys_id, name) the Change Management API creates standard changes from.
    pub standard_templates: Vec<(String, String)>,
}

impl Default for ServiceNowConfig {
    fn default() -> ServiceNowConfig {
        ServiceNowConfig {
            user: "changedesk.integration".to_owned(),
            password: "mock-password-not-secret".to_owned(),
            client_id: "changedesk-client".to_owned(),
            client_secret: "mock-client-secret-not-secret".to_owned(),
            standard_templates: vec![(
                "e55d0bfec343101035ae3f52c1d3ae49".to_owned(),
                "Microsoft 365 service change".to_owned(),
            )],
        }
    }
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

/// The records of the mock (opaque).
pub struct ServiceNowRecords {
    records: Vec<ChangeRecord>,
    /// The `incident` table.
    incidents: Vec<ChangeRecord>,
    /// Bearer tokens issued, and when (mock clock) each expires.
    tokens: HashMap<String, Duration>,
    next_number: u64,
    next_incident: u64,
}

/// The tables the mock serves through the Table API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    ChangeRequest,
    Incident,
}

impl Table {
    fn parse(name: &str) -> Option<Table> {
        match name {
            "change_request" => Some(Table::ChangeRequest),
            "incident" => Some(Table::Incident),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::ChangeRequest => "change_request",
            Table::Incident => "incident",
        }
    }
}

/// An incident's states: New, and those that need the resolution code and
/// notes (Resolved, Closed).
const INCIDENT_NEW: &str = "1";
const INCIDENT_RESOLVED: [&str; 2] = ["6", "7"];

impl ServiceNowRecords {
    fn rows(&self, table: Table) -> &Vec<ChangeRecord> {
        match table {
            Table::ChangeRequest => &self.records,
            Table::Incident => &self.incidents,
        }
    }

    fn rows_mut(&mut self, table: Table) -> &mut Vec<ChangeRecord> {
        match table {
            Table::ChangeRequest => &mut self.records,
            Table::Incident => &mut self.incidents,
        }
    }

    /// Adds an incident of `fields` created at `now`: a new `sys_id` and
    /// number (`INC0010001`…), state New.
    fn add_incident(&mut self, fields: Map<String, Value>, now: &str) -> &ChangeRecord {
        let number = format!("INC{:07}", self.next_incident);
        self.next_incident += 1;
        let mut record = ChangeRecord {
            fields: Map::new(),
            work_notes: Vec::new(),
        };
        write_fields(&mut record, fields);
        for (k, v) in [
            ("sys_id", uuid::Uuid::new_v4().simple().to_string()),
            ("number", number),
            ("sys_mod_count", "0".to_owned()),
            ("sys_created_on", now.to_owned()),
            ("sys_updated_on", now.to_owned()),
        ] {
            record.fields.insert(k.to_owned(), v.into());
        }
        record
            .fields
            .entry("state")
            .or_insert_with(|| INCIDENT_NEW.into());
        self.incidents.push(record);
        let last = self.incidents.len() - 1;
        &self.incidents[last]
    }

    /// Adds a change of `fields` (a `kind` of change unless they say)
    /// created at `now`: a new `sys_id` and number, state New.
    fn add(&mut self, fields: Map<String, Value>, kind: &str, now: &str) -> &ChangeRecord {
        let number = format!("CHG{:07}", self.next_number);
        self.next_number += 1;
        let sys_id = uuid::Uuid::new_v4().simple().to_string();
        let mut record = ChangeRecord {
            fields: Map::new(),
            work_notes: Vec::new(),
        };
        write_fields(&mut record, fields);
        for (k, v) in [
            ("sys_id", sys_id.as_str()),
            ("number", number.as_str()),
            ("type", kind),
            ("state", STATE_NEW),
            ("approval", "not requested"),
            ("sys_mod_count", "0"),
            ("sys_created_on", now),
            ("sys_updated_on", now),
        ] {
            if k == "type" && record.fields.contains_key("type") {
                continue;
            }
            record.fields.insert(k.to_owned(), v.into());
        }
        self.records.push(record);
        let last = self.records.len() - 1;
        &self.records[last]
    }
}

/// ServiceNow's error body: `{"error":{"message","detail"},"status":"failure"}`.
struct Shape;

impl ErrorShape for Shape {
    fn error(&self, status: StatusCode, message: &str) -> Response {
        error(status, message, "The mock was told to fail this request")
    }

    fn throttled(&self, secs: u64) -> Response {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limit exceeded",
            "Rate limit of 100 requests per hour for Table API exceeded",
        );
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A running instance (the common methods are [`MockHandle`]'s).
pub type ServiceNowHandle = MockHandle<ServiceNowConfig, ServiceNowRecords>;

impl MockHandle<ServiceNowConfig, ServiceNowRecords> {
    /// The instance's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The `change_request` records, oldest first.
    pub fn records(&self) -> Vec<ChangeRecord> {
        self.shared.lock().records.clone()
    }

    /// The `incident` records, oldest first.
    pub fn incidents(&self) -> Vec<ChangeRecord> {
        self.shared.lock().incidents.clone()
    }

    /// The other side moves the change `number` to `state` (a value of
    /// the state model, e.g. `-1` Implement, `3` Closed), as a person's
    /// update would: `sys_mod_count` + 1. Whether the record exists.
    pub fn set_state(&self, number: &str, state: &str) -> bool {
        let now = plain_time(self.shared.core.clock.now());
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
}

/// Starts an instance on `127.0.0.1` (a free port), served by a tokio task.
pub async fn start_servicenow(config: ServiceNowConfig) -> std::io::Result<ServiceNowHandle> {
    let stop = Stop::new();
    let shared = Arc::new(MockState::new(
        config,
        ServiceNowRecords {
            records: Vec::new(),
            incidents: Vec::new(),
            tokens: HashMap::new(),
            next_number: 30001,
            next_incident: 10001,
        },
        stop.clone(),
    ));
    let app = Router::new()
        .route("/oauth_token.do", post(token))
        .route("/api/now/table/{table}", get(list).post(create))
        .route(
            "/api/now/table/{table}/{sys_id}",
            get(read).patch(update).put(update),
        )
        .route("/api/sn_chg_rest/change/normal", post(change_normal))
        .route(
            "/api/sn_chg_rest/change/standard/{template}",
            post(change_standard),
        )
        .route("/api/sn_chg_rest/change/{sys_id}", get(change_read))
        .with_state(Arc::clone(&shared));
    MockHandle::start("ServiceNow mock", app, shared, stop).await
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
    json_answer(
        status,
        &json!({"error": {"message": message, "detail": detail}, "status": "failure"}),
    )
}

/// `None` when the table request may go on: `Accept` names JSON, a write
/// says its body is JSON, and it is authenticated.
fn refused(
    shared: &MockState<ServiceNowConfig, ServiceNowRecords>,
    headers: &HeaderMap,
    write: bool,
) -> Option<Response> {
    let accept = header_text(headers, "accept").unwrap_or("");
    if accept.is_empty() {
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
    if write
        && !header_text(headers, "content-type").is_some_and(|c| c.starts_with("application/json"))
    {
        return Some(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            "Content-Type must be application/json",
        ));
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

fn authenticated(
    shared: &MockState<ServiceNowConfig, ServiceNowRecords>,
    headers: &HeaderMap,
) -> bool {
    if itsm::basic_is(headers, &shared.config.user, &shared.config.password) {
        return true;
    }
    let Some(token) = header_text(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let now = shared.core.clock.now();
    shared
        .lock()
        .tokens
        .get(token.trim())
        .is_some_and(|expires| *expires > now)
}

/// A table request: refused, a body that is not string fields (a write),
/// or `process` with the body's fields — through the faults, logged.
async fn table(
    shared: &MockState<ServiceNowConfig, ServiceNowRecords>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    process: impl FnOnce(Map<String, Value>) -> Response,
) -> Response {
    let create = *method == Method::POST;
    let checked = match refused(shared, headers, body.is_some()) {
        Some(r) => Err(r),
        None => match body.map(string_fields).transpose() {
            Ok(fields) => Ok(fields.unwrap_or_default()),
            Err(detail) => Err(error(
                StatusCode::BAD_REQUEST,
                "Invalid request body",
                &detail,
            )),
        },
    };
    let uri = (uri.path(), uri.query());
    let (refused, fields) = match checked {
        Ok(fields) => (None, fields),
        Err(r) => (Some(r), Map::new()),
    };
    shared
        .core
        .answer_unless(&Shape, method, uri, refused, create, || process(fields))
        .await
}

async fn token(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    shared
        .core
        .answer(&Shape, &Method::POST, (uri.path(), None), false, || {
            let field = |k: &str| form.get(k).map(String::as_str);
            if field("grant_type") != Some("client_credentials")
                || field("client_id") != Some(shared.config.client_id.as_str())
                || field("client_secret") != Some(shared.config.client_secret.as_str())
            {
                return json_answer(
                    StatusCode::UNAUTHORIZED,
                    &json!({"error": "access_denied", "error_description": "access_denied"}),
                );
            }
            let access = uuid::Uuid::new_v4().simple().to_string();
            let expires = shared.core.clock.now() + Duration::from_secs(TOKEN_SECONDS);
            shared.lock().tokens.insert(access.clone(), expires);
            json_answer(
                StatusCode::OK,
                &json!({"scope": "useraccount", "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
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

/// A table the mock does not serve: 400, as an instance answers an
/// unknown table.
fn unknown_table(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Invalid table",
        &format!("Invalid table {name}"),
    )
}

async fn create(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(t) = Table::parse(&name) else {
        return unknown_table(&name);
    };
    let host = itsm::host_of(&headers);
    table(
        &shared,
        &Method::POST,
        &uri,
        &headers,
        Some(&body),
        |fields| {
            let now = plain_time(shared.core.clock.now());
            let mut inner = shared.lock();
            if t == Table::Incident {
                if !fields.contains_key("short_description") {
                    return error(
                        StatusCode::FORBIDDEN,
                        "Operation Failed",
                        "Data Policy Exception: Short description is mandatory",
                    );
                }
                if let Some(r) = unresolvable(&fields) {
                    return r;
                }
            }
            let record = match t {
                Table::ChangeRequest => inner.add(fields, "normal", &now),
                Table::Incident => inner.add_incident(fields, &now),
            };
            let sys_id = record.field("sys_id").unwrap_or("").to_owned();
            let body = json!({"result": shown(record, None)});
            let mut r = json_answer(StatusCode::CREATED, &body);
            let location = format!("http://{host}/api/now/table/{}/{sys_id}", t.name());
            if let Ok(v) = header::HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        },
    )
    .await
}

/// Writes a body's fields on a record: `work_notes` appended to its
/// journal, read-only fields left as the instance keeps them.
fn write_fields(record: &mut ChangeRecord, fields: Map<String, Value>) {
    for (k, v) in fields {
        if k == "work_notes" {
            record
                .work_notes
                .push(v.as_str().unwrap_or_default().to_owned());
        } else if !READ_ONLY.contains(&k.as_str()) {
            record.fields.insert(k, v);
        }
    }
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
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(t) = Table::parse(&name) else {
        return unknown_table(&name);
    };
    table(&shared, &Method::GET, &uri, &headers, None, |_| {
        let inner = shared.lock();
        let query = params
            .get("sysparm_query")
            .map(String::as_str)
            .unwrap_or("");
        let mut matching: Vec<&ChangeRecord> =
            inner.rows(t).iter().filter(|r| matches(r, query)).collect();
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
        let mut r = json_answer(StatusCode::OK, &json!({ "result": page }));
        if let Ok(v) = header::HeaderValue::from_str(&matching.len().to_string()) {
            r.headers_mut().insert("x-total-count", v);
        }
        r
    })
    .await
}

/// An incident Resolved or Closed without its resolution code and notes:
/// refused by the data policy (403), as an instance's default
/// `incident` data policy does.
fn unresolvable(fields: &Map<String, Value>) -> Option<Response> {
    let state = fields.get("state").and_then(Value::as_str)?;
    if !INCIDENT_RESOLVED.contains(&state) {
        return None;
    }
    let filled = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    (!filled("close_code") || !filled("close_notes")).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "Operation Failed",
            "Data Policy Exception: the following fields are mandatory: Resolution code, Resolution notes",
        )
    })
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "No Record found",
        "Record doesn't exist or ACL restricts the record retrieval",
    )
}

async fn read(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    Path((name, sys_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(t) = Table::parse(&name) else {
        return unknown_table(&name);
    };
    table(&shared, &Method::GET, &uri, &headers, None, |_| {
        let inner = shared.lock();
        match inner
            .rows(t)
            .iter()
            .find(|r| r.field("sys_id") == Some(sys_id.as_str()))
        {
            Some(r) => json_answer(
                StatusCode::OK,
                &json!({"result": shown(r, params.get("sysparm_fields").map(String::as_str))}),
            ),
            None => not_found(),
        }
    })
    .await
}

async fn update(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    method: Method,
    Path((name, sys_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(t) = Table::parse(&name) else {
        return unknown_table(&name);
    };
    table(&shared, &method, &uri, &headers, Some(&body), |fields| {
        let now = plain_time(shared.core.clock.now());
        let mut inner = shared.lock();
        let Some(record) = inner
            .rows_mut(t)
            .iter_mut()
            .find(|r| r.field("sys_id") == Some(sys_id.as_str()))
        else {
            return not_found();
        };
        if t == Table::Incident {
            // the data policy checks the record as it would be
            let mut after = record.fields.clone();
            for (k, v) in &fields {
                if k != "work_notes" && !READ_ONLY.contains(&k.as_str()) {
                    after.insert(k.clone(), v.clone());
                }
            }
            if let Some(r) = unresolvable(&after) {
                return r;
            }
        }
        write_fields(record, fields);
        touch(record, &now);
        json_answer(StatusCode::OK, &json!({"result": shown(record, None)}))
    })
    .await
}

// ---------------------------------------------------------------- the Change Management API (`sn_chg_rest`, §1.2)

/// A change as the Change Management API shows it: each field
/// `{display_value, value}`, the state and update count as numbers, and
/// the fields of the request it skipped.
fn as_change_api(record: &ChangeRecord, ignored: &[String]) -> Value {
    let mut out = Map::new();
    for (k, v) in &record.fields {
        let text = v.as_str().unwrap_or("");
        let value = match k.as_str() {
            "state" | "sys_mod_count" => text
                .parse::<i64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            _ => Value::String(text.to_owned()),
        };
        out.insert(k.clone(), json!({"display_value": text, "value": value}));
    }
    out.insert("__meta".into(), json!({"ignoredFields": ignored}));
    Value::Object(out)
}

/// A Change Management API create: the request checked as a table write,
/// the change made (`kind`, with `defaults` under what the request sets),
/// answered 200 with the change in its form.
async fn change_create(
    shared: &MockState<ServiceNowConfig, ServiceNowRecords>,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    kind: &str,
    defaults: Option<Map<String, Value>>,
) -> Response {
    table(shared, &Method::POST, uri, headers, Some(body), |fields| {
        // a standard change from a template the instance does not publish
        let Some(mut merged) = defaults else {
            return error(
                StatusCode::NOT_FOUND,
                "No Record found",
                "No published standard change template with this sys_id",
            );
        };
        let ignored: Vec<String> = fields
            .keys()
            .filter(|k| READ_ONLY.contains(&k.as_str()))
            .cloned()
            .collect();
        merged.extend(fields);
        let now = plain_time(shared.core.clock.now());
        let mut inner = shared.lock();
        let record = inner.add(merged, kind, &now);
        json_answer(
            StatusCode::OK,
            &json!({"result": as_change_api(record, &ignored)}),
        )
    })
    .await
}

async fn change_normal(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut defaults = Map::new();
    defaults.insert("chg_model".into(), "Normal".into());
    change_create(&shared, &uri, &headers, &body, "normal", Some(defaults)).await
}

async fn change_standard(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    Path(template): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let defaults = shared
        .config
        .standard_templates
        .iter()
        .find(|(id, _)| *id == template)
        .map(|(_, name)| {
            let mut d = Map::new();
            d.insert("short_description".into(), name.clone().into());
            d.insert(
                "std_change_producer_version".into(),
                template.clone().into(),
            );
            d
        });
    change_create(&shared, &uri, &headers, &body, "standard", defaults).await
}

async fn change_read(
    State(shared): State<Arc<MockState<ServiceNowConfig, ServiceNowRecords>>>,
    Path(sys_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    table(&shared, &Method::GET, &uri, &headers, None, |_| {
        let inner = shared.lock();
        match inner
            .records
            .iter()
            .find(|r| r.field("sys_id") == Some(sys_id.as_str()))
        {
            Some(r) => json_answer(StatusCode::OK, &json!({"result": as_change_api(r, &[])})),
            None => not_found(),
        }
    })
    .await
}
