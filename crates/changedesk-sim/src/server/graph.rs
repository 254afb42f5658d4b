//! Graph's `/v1.0/admin/serviceAnnouncement/{messages,issues,healthOverviews}`:
//! bearer-token checks, throttling, tenant modes, app roles, injected
//! faults and paging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use rand::Rng;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::auth::{BearerError, authenticate_app, client_request_id, request_base};
use super::views::{Kind, PageContext, Snapshot, View, parse_query, render_item, render_page};
use super::{Control, Shared, TenantMode, TenantTag, lock};

/// The application permission (app role) that reading `messages` needs.
pub const SERVICE_MESSAGE_READ_ALL: &str = "ServiceMessage.Read.All";

/// The application permission (app role) that reading `issues` and
/// `healthOverviews` needs.
pub const SERVICE_HEALTH_READ_ALL: &str = "ServiceHealth.Read.All";

/// The app role a token must carry to read a collection.
fn required_role(kind: Kind) -> &'static str {
    match kind {
        Kind::Messages => SERVICE_MESSAGE_READ_ALL,
        Kind::Issues | Kind::Health => SERVICE_HEALTH_READ_ALL,
    }
}

/// Graph's 403 for a token without the permission a request needs (or a
/// tenant whose consent was revoked).
fn insufficient_privileges(meta: &Meta) -> Response {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        meta,
    )
}

/// Graph's default page size.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest `odata.maxpagesize` Graph honours.
pub(crate) const MAX_PAGE_SIZE: usize = 1000;

const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// Ids echoed in every Graph response.
pub(crate) struct Meta {
    request_id: String,
    client_request_id: String,
}

impl Meta {
    pub(crate) fn new(headers: &HeaderMap) -> Meta {
        let request_id = uuid::Uuid::new_v4().to_string();
        Meta {
            client_request_id: client_request_id(headers).unwrap_or_else(|| request_id.clone()),
            request_id,
        }
    }

    fn apply(&self, response: &mut Response) {
        let h = response.headers_mut();
        for (name, value) in [
            ("request-id", &self.request_id),
            ("client-request-id", &self.client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
    }
}

fn graph_date() -> String {
    OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>, meta: &Meta) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    meta.apply(&mut response);
    response
}

/// A Graph error body: `{"error":{"code","message","innerError"}}`.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str, meta: &Meta) -> Response {
    let mut inner = json!({
        "date": graph_date(),
        "request-id": meta.request_id,
        "client-request-id": meta.client_request_id,
    });
    if status == StatusCode::TOO_MANY_REQUESTS {
        inner["code"] = json!("429");
        inner["message"] = json!("Please retry after");
        inner["status"] = json!("429");
    }
    let body = json!({"error": {"code": code, "message": message, "innerError": inner}});
    json_response(status, serde_json::to_vec(&body).unwrap_or_default(), meta)
}

fn bad_request(message: &str, meta: &Meta) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message, meta)
}

/// Seconds for `Retry-After`: at most millisecond precision, never 0.
fn retry_after_text(wait: Duration) -> String {
    let ms = wait.as_millis().max(1);
    let text = format!("{}.{:03}", ms / 1000, ms % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn too_many(retry_after: &str, meta: &Meta) -> Response {
    let mut response = graph_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Please retry again later.",
        meta,
    );
    if let Ok(v) = HeaderValue::from_str(retry_after) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Admits a request for tenant `t` under the sliding-window limits, or says
/// how long until it would be admitted.
fn throttle(control: &mut Control, t: usize, now: Instant) -> Option<Duration> {
    let limits = control.limits;
    let q = &mut control.admitted[t];
    while q.front().is_some_and(|&f| now.duration_since(f) >= HOUR) {
        q.pop_front();
    }
    let len = q.len();
    let mut wait = Duration::ZERO;
    let per_hour = limits.per_hour as usize;
    if per_hour == 0 {
        wait = wait.max(HOUR);
    } else if len >= per_hour {
        wait = wait.max((q[len - per_hour] + HOUR).saturating_duration_since(now));
    }
    let per_minute = limits.per_minute as usize;
    let in_minute = len - q.partition_point(|&x| now.duration_since(x) >= MINUTE);
    if per_minute == 0 {
        wait = wait.max(MINUTE);
    } else if in_minute >= per_minute {
        wait = wait.max((q[len - per_minute] + MINUTE).saturating_duration_since(now));
    }
    if wait.is_zero() {
        q.push_back(now);
        None
    } else {
        Some(wait)
    }
}

/// The dice of one request, drawn together so the sequence does not
/// depend on the fault settings.
struct Dice {
    fault_429: bool,
    fault_503: bool,
    truncate: bool,
    cut: f64,
    retry_after: String,
}

/// Graph's 401 for a bearer token it does not take (missing, unknown or
/// expired), with its `WWW-Authenticate` challenge: the same answer for the
/// listings, `sendMail` and Planner.
pub(crate) fn unauthorized(shared: &Shared, e: &BearerError, meta: &Meta) -> Response {
    let message = match e {
        BearerError::Missing => "Access token is empty.",
        BearerError::Unknown => "Access token validation failure. Invalid audience.",
        BearerError::Expired => "Lifetime validation failed, the token is expired.",
    };
    let mut r = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        meta,
    );
    let challenge = format!(
        "Bearer realm=\"\", authorization_uri=\"{}common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        shared.base_url
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Everything before the body: latency, token, throttling, the tenant's
/// mode, the token's app roles (`kind`'s permission) and injected faults.
/// Returns the tenant and whether to truncate.
async fn admit(
    shared: &Shared,
    kind: Kind,
    headers: &HeaderMap,
    meta: &Meta,
) -> Result<(usize, Dice), Response> {
    let latency = lock(&shared.control).faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let (t, roles) =
        authenticate_app(shared, headers).map_err(|e| unauthorized(shared, &e, meta))?;
    let tag = |mut r: Response| {
        r.extensions_mut()
            .insert(TenantTag(shared.tenants[t].name.clone()));
        r
    };
    let (wait, mode, dice) = {
        let mut control = lock(&shared.control);
        let wait = throttle(&mut control, t, Instant::now());
        let mode = control.modes[t];
        let faults = control.faults.clone();
        let rng = &mut control.rng;
        let (u429, u503, utrunc, cut): (f64, f64, f64, f64) =
            (rng.random(), rng.random(), rng.random(), rng.random());
        let dice = Dice {
            fault_429: u429 < faults.fault_429,
            fault_503: u503 < faults.fault_503,
            truncate: utrunc < faults.truncate,
            cut,
            retry_after: format!("{}", faults.retry_after_secs),
        };
        (wait, mode, dice)
    };
    if let Some(wait) = wait {
        return Err(tag(too_many(&retry_after_text(wait), meta)));
    }
    match mode {
        TenantMode::Endless503 => {
            return Err(tag(service_unavailable(meta)));
        }
        TenantMode::ConsentRevoked => {
            return Err(tag(insufficient_privileges(meta)));
        }
        _ => {}
    }
    if !roles.contains(required_role(kind)) {
        return Err(tag(insufficient_privileges(meta)));
    }
    if dice.fault_429 {
        return Err(tag(too_many(&dice.retry_after, meta)));
    }
    if dice.fault_503 {
        return Err(tag(service_unavailable(meta)));
    }
    Ok((t, dice))
}

fn service_unavailable(meta: &Meta) -> Response {
    graph_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
        "The service is temporarily unavailable. Please retry later.",
        meta,
    )
}

/// The page size a `Prefer: odata.maxpagesize=N` asks for (capped at
/// 1000), and whether the preference was applied.
fn page_size(headers: &HeaderMap) -> (usize, Option<usize>) {
    for value in headers.get_all("prefer") {
        let Ok(value) = value.to_str() else { continue };
        for pref in value.split(',') {
            let pref = pref.trim();
            let Some((name, n)) = pref.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("odata.maxpagesize") {
                continue;
            }
            if let Ok(n) = n.trim().trim_matches('"').parse::<usize>()
                && n > 0
            {
                let n = n.min(MAX_PAGE_SIZE);
                return (n, Some(n));
            }
        }
    }
    (DEFAULT_PAGE_SIZE, None)
}

async fn load_view(snapshot: Arc<Snapshot>, kind: Kind, t: usize) -> Option<Arc<View>> {
    if let Some(view) = snapshot.ready(kind, t) {
        return Some(view);
    }
    match tokio::task::spawn_blocking(move || snapshot.view(kind, t)).await {
        Ok(view) => Some(view),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

fn segment_not_found(segment: &str, meta: &Meta) -> Response {
    bad_request(
        &format!("Resource not found for the segment '{segment}'."),
        meta,
    )
}

/// `GET /v1.0/admin/serviceAnnouncement/{collection}`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let meta = Meta::new(&headers);
    let Some(kind) = Kind::from_segment(&collection) else {
        return segment_not_found(&collection, &meta);
    };
    let (t, dice) = match admit(&shared, kind, &headers, &meta).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let mut response =
        match serve_list(&shared, kind, t, query.as_deref(), &headers, &meta, &dice).await {
            Ok(r) | Err(r) => r,
        };
    response
        .extensions_mut()
        .insert(TenantTag(shared.tenants[t].name.clone()));
    response
}

async fn serve_list(
    shared: &Shared,
    kind: Kind,
    t: usize,
    query: Option<&str>,
    headers: &HeaderMap,
    meta: &Meta,
    dice: &Dice,
) -> Result<Response, Response> {
    let mut q = parse_query(query).map_err(|m| bad_request(&m, meta))?;
    if q.select.is_some() {
        match lock(&shared.control).faults.select {
            super::SelectMode::Honour => {}
            super::SelectMode::Ignore => q.select = None,
            super::SelectMode::Refuse => {
                return Err(bad_request(
                    "Query option '$select' is not allowed on this resource.",
                    meta,
                ));
            }
        }
    }
    let (size, applied) = page_size(headers);
    let snapshot = shared.snapshot();
    let version = snapshot.version;
    let view = load_view(snapshot, kind, t)
        .await
        .ok_or_else(|| service_unavailable(meta))?;
    let base = request_base(shared, headers);
    let mut body = render_page(
        &view,
        &q,
        &PageContext {
            kind,
            tenant: t,
            version,
            page_size: size,
            base: &base,
        },
    )
    .map_err(|m| bad_request(&m, meta))?;
    if dice.truncate && body.len() >= 2 {
        let cut = 1 + (dice.cut * (body.len() - 1) as f64) as usize;
        body.truncate(cut.min(body.len() - 1));
    }
    let mut response = json_response(StatusCode::OK, body, meta);
    if let Some(n) = applied
        && let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}"))
    {
        response.headers_mut().insert("preference-applied", v);
    }
    Ok(response)
}

/// `GET /v1.0/admin/serviceAnnouncement/{collection}/{id}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let meta = Meta::new(&headers);
    let Some(kind) = Kind::from_segment(&collection) else {
        return segment_not_found(&collection, &meta);
    };
    let (t, _) = match admit(&shared, kind, &headers, &meta).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let mut response = match load_view(shared.snapshot(), kind, t).await {
        None => service_unavailable(&meta),
        Some(view) => match view.find(&id) {
            Some(i) => json_response(
                StatusCode::OK,
                render_item(&view, i, kind, &request_base(&shared, &headers)),
                &meta,
            ),
            None => graph_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("The requested item '{id}' was not found."),
                &meta,
            ),
        },
    };
    response
        .extensions_mut()
        .insert(TenantTag(shared.tenants[t].name.clone()));
    response
}

/// Everything else: Graph's "segment not found" under `/v1.0/`, a plain
/// 404 elsewhere.
pub(crate) async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let meta = Meta::new(&headers);
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/v1.0/") {
        let segment = rest.rsplit('/').find(|s| !s.is_empty()).unwrap_or(rest);
        return segment_not_found(segment, &meta);
    }
    let body: Value = json!({"error": {
        "code": "NotFound",
        "message": format!("The simulator has no route for {method} {path}."),
    }});
    json_response(
        StatusCode::NOT_FOUND,
        serde_json::to_vec(&body).unwrap_or_default(),
        &meta,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{Faults, Limits, TenantMode};
    use rand::SeedableRng;
    use std::collections::VecDeque;

    fn control(per_minute: u32, per_hour: u32) -> Control {
        Control {
            faults: Faults::default(),
            limits: Limits {
                per_minute,
                per_hour,
            },
            modes: vec![TenantMode::Normal],
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(1),
            admitted: vec![VecDeque::new()],
        }
    }

    #[test]
    fn sliding_windows() {
        let mut c = control(3, 5);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(throttle(&mut c, 0, t0 + Duration::from_secs(i)), None);
        }
        let wait = throttle(&mut c, 0, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(throttle(&mut c, 0, t0 + Duration::from_secs(60)), None);
        assert_eq!(throttle(&mut c, 0, t0 + Duration::from_secs(61)), None);
        // 5 admitted within the hour: the hourly limit now binds.
        let wait = throttle(&mut c, 0, t0 + Duration::from_secs(200)).unwrap();
        assert_eq!(wait, Duration::from_secs(3400));
        assert_eq!(throttle(&mut c, 0, t0 + Duration::from_secs(3600)), None);
    }

    #[test]
    fn retry_after_is_seconds_with_at_most_millis() {
        assert_eq!(retry_after_text(Duration::from_secs(50)), "50");
        assert_eq!(retry_after_text(Duration::from_millis(2128)), "2.128");
        assert_eq!(retry_after_text(Duration::from_millis(50)), "0.05");
        assert_eq!(retry_after_text(Duration::ZERO), "0.001");
    }

    #[test]
    fn prefer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(page_size(&h), (100, None));
        h.insert("prefer", HeaderValue::from_static("odata.maxpagesize=250"));
        assert_eq!(page_size(&h), (250, Some(250)));
        h.insert(
            "prefer",
            HeaderValue::from_static("outlook.timezone=\"UTC\", odata.maxpagesize=5000"),
        );
        assert_eq!(page_size(&h), (1000, Some(1000)));
        h.insert("prefer", HeaderValue::from_static("odata.maxpagesize=zero"));
        assert_eq!(page_size(&h), (100, None));
    }
}
