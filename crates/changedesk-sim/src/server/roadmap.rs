//! The public Microsoft 365 roadmap feed (integrations.md §9):
//! `GET /releasecommunications/api/v1/m365`, a bare JSON array of every
//! item (the corpus's, from `crate::roadmap`, or a list put in its place),
//! with its control endpoints and its request log.
//!
//! What the simulator relies on:
//! - No auth, no paging, no `ETag` nor `Last-Modified` (Observed: the
//!   reference says a client must diff on `id` plus `modified`); a
//!   conditional request is answered in full, as the real host does.
//! - Some hosts refuse unknown clients (Observed): a request without a
//!   `User-Agent` is refused with 403 and an HTML page, so a client that
//!   sends none fails here as it would there.
//! - Non-200 answers have no documented body: `PUT /_sim/roadmap/fault`
//!   makes the next answers a status of the test's choosing (a 503 with an
//!   HTML body, say), so a client keeps its last good copy.
//!
//! Control: `GET /_sim/roadmap` (the items served now), `PUT` (serve this
//! array instead), `DELETE` (back to the corpus's); `PUT
//! /_sim/roadmap/fault` `{"status": 503, "count": 2}`; `GET`/`DELETE
//! /_sim/roadmap/requests` (method, path, `User-Agent`, `If-None-Match`,
//! `If-Modified-Since`, status).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Shared, lock};

/// The most requests the roadmap's log keeps (the oldest are dropped).
pub const ROADMAP_LOG_CAPACITY: usize = 1000;

/// The feed's path.
pub const ROADMAP_PATH: &str = "/releasecommunications/api/v1/m365";

/// One request to the roadmap feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoadmapRequest {
    pub seq: u64,
    pub path: String,
    pub user_agent: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    /// The items served instead of the corpus's.
    replaced: Option<Arc<Vec<Value>>>,
    /// The next answers' status, and how many are left.
    fault: Option<(u16, u32)>,
    log: VecDeque<RoadmapRequest>,
    seq: u64,
}

/// The roadmap's state in the simulator.
#[derive(Default)]
pub(crate) struct RoadmapState {
    inner: Mutex<Inner>,
}

impl RoadmapState {
    /// Serves `items` instead of the corpus's (`None`: the corpus's again).
    pub(crate) fn replace(&self, items: Option<Vec<Value>>) {
        lock(&self.inner).replaced = items.map(Arc::new);
    }

    /// The next `count` answers are `status`.
    pub(crate) fn fault(&self, status: u16, count: u32) {
        lock(&self.inner).fault = (count > 0).then_some((status, count));
    }

    /// The requests logged, oldest first.
    pub(crate) fn requests(&self) -> Vec<RoadmapRequest> {
        lock(&self.inner).log.iter().cloned().collect()
    }
}

fn header_text(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The items served now.
pub(crate) fn served(shared: &Shared) -> Arc<Vec<Value>> {
    if let Some(r) = &lock(&shared.roadmap.inner).replaced {
        return Arc::clone(r);
    }
    shared.snapshot().roadmap()
}

/// `GET /releasecommunications/api/v1/m365`.
pub(crate) async fn feed(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let user_agent = header_text(&headers, header::USER_AGENT).filter(|u| !u.trim().is_empty());
    let status = {
        let mut inner = lock(&shared.roadmap.inner);
        let status = match inner.fault {
            _ if user_agent.is_none() => 403,
            Some((s, n)) if n > 0 => {
                inner.fault = (n > 1).then_some((s, n - 1));
                s
            }
            _ => 200,
        };
        inner.seq += 1;
        let seq = inner.seq;
        if inner.log.len() >= ROADMAP_LOG_CAPACITY {
            inner.log.pop_front();
        }
        inner.log.push_back(RoadmapRequest {
            seq,
            path: ROADMAP_PATH.into(),
            user_agent: user_agent.clone(),
            if_none_match: header_text(&headers, header::IF_NONE_MATCH),
            if_modified_since: header_text(&headers, header::IF_MODIFIED_SINCE),
            status,
        });
        status
    };
    if status != 200 {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let page = format!("<html><body><h1>{}</h1></body></html>", code.as_u16());
        return (code, [(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    let items = served(&shared);
    let body = serde_json::to_vec(&*items).unwrap_or_else(|_| b"[]".to_vec());
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /_sim/roadmap`: the items served now.
pub(crate) async fn get_items(State(shared): State<Arc<Shared>>) -> Response {
    Json(&*served(&shared)).into_response()
}

/// `PUT /_sim/roadmap`: serve this array of items instead of the corpus's.
pub(crate) async fn put_items(
    State(shared): State<Arc<Shared>>,
    Json(items): Json<Value>,
) -> Response {
    let Value::Array(items) = items else {
        return (StatusCode::BAD_REQUEST, "a JSON array of roadmap items").into_response();
    };
    shared.roadmap.replace(Some(items));
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /_sim/roadmap`: back to the corpus's items.
pub(crate) async fn delete_items(State(shared): State<Arc<Shared>>) -> Response {
    shared.roadmap.replace(None);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultBody {
    status: u16,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

/// `PUT /_sim/roadmap/fault`: the next `count` answers are `status`.
pub(crate) async fn put_fault(
    State(shared): State<Arc<Shared>>,
    Json(f): Json<FaultBody>,
) -> Response {
    if !(400..=599).contains(&f.status) {
        return (StatusCode::BAD_REQUEST, "a fault's status is 400 to 599").into_response();
    }
    shared.roadmap.fault(f.status, f.count);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sim/roadmap/requests`.
pub(crate) async fn get_requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.roadmap.requests()).into_response()
}

/// `DELETE /_sim/roadmap/requests`.
pub(crate) async fn delete_requests(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.roadmap.inner).log.clear();
    StatusCode::NO_CONTENT.into_response()
}
