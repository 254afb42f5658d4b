//! The test-only control API under `/_sim/` (no authentication).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Faults, Limits, SIM_CLIENT_ID, SIM_CLIENT_SECRET, Shared, TenantMode, listing_items, lock,
};

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("bad request body: {e}"),
        ))
    })
}

/// `GET /_sim/tenants`: the credentials to configure a client with.
pub(crate) async fn tenants(State(shared): State<Arc<Shared>>) -> Response {
    let modes: Vec<TenantMode> = lock(&shared.control).modes.clone();
    let tenants: Vec<Value> = shared
        .sim_tenants()
        .into_iter()
        .zip(modes)
        .enumerate()
        .map(|(i, (t, mode))| {
            json!({
                "name": t.name,
                "tenant_id": t.tenant_id,
                "domain": t.domain,
                "client_id": t.client_id,
                "client_secret": t.client_secret,
                "login_url": shared.base_url,
                "graph_url": shared.base_url,
                "mode": mode,
                "roles": shared.app_roles.get(i),
                "consented": t.consented,
                "planner": shared.planner.seed(i).map(|p| json!({
                    "group_id": p.group_id,
                    "plan_id": p.plan_id,
                    "bucket_id": p.bucket_id,
                })),
            })
        })
        .collect();
    Json(json!({
        "base_url": shared.base_url,
        "client_id": SIM_CLIENT_ID,
        "client_secret": SIM_CLIENT_SECRET,
        "scope": format!("{}/.default", shared.base_url.trim_end_matches('/')),
        "certificate_thumbprint_s256": shared.cert.thumbprint_s256,
        "tenants": tenants,
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    days: u32,
    #[serde(default)]
    seed: u64,
}

/// `POST /_sim/advance {"days": N, "seed": S}`.
pub(crate) async fn advance(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: AdvanceBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let worker = Arc::clone(&shared);
    let snapshot =
        match tokio::task::spawn_blocking(move || worker.advance(body.days, body.seed)).await {
            Ok(s) => s,
            Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "advance failed"),
        };
    let base_time = snapshot
        .corpus
        .spec
        .base_time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Json(json!({
        "version": snapshot.version,
        "base_time": base_time,
        "posts": snapshot.corpus.messages.len(),
        "issues": snapshot.corpus.issues.len(),
    }))
    .into_response()
}

/// `GET /_sim/faults`.
pub(crate) async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.control).faults.clone()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsPatch {
    fault_429: Option<f64>,
    retry_after_secs: Option<f64>,
    fault_503: Option<f64>,
    latency_ms: Option<u64>,
    truncate: Option<f64>,
    token_lifetime_secs: Option<u64>,
    select: Option<super::SelectMode>,
}

/// `PUT /_sim/faults {...}`: any subset of the fault fields.
pub(crate) async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let patch: FaultsPatch = match parse(&body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut faults: Faults = lock(&shared.control).faults.clone();
    if let Some(v) = patch.fault_429 {
        faults.fault_429 = v;
    }
    if let Some(v) = patch.retry_after_secs {
        faults.retry_after_secs = v;
    }
    if let Some(v) = patch.fault_503 {
        faults.fault_503 = v;
    }
    if let Some(v) = patch.latency_ms {
        faults.latency_ms = v;
    }
    if let Some(v) = patch.truncate {
        faults.truncate = v;
    }
    if let Some(v) = patch.token_lifetime_secs {
        faults.token_lifetime_secs = v;
    }
    if let Some(v) = patch.select {
        faults.select = v;
    }
    match shared.set_faults(faults.clone()) {
        Ok(()) => Json(faults).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `GET /_sim/limits`.
pub(crate) async fn get_limits(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.control).limits).into_response()
}

/// `PUT /_sim/limits {"per_minute": N, "per_hour": M}` (missing fields keep
/// their default).
pub(crate) async fn put_limits(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let limits: Limits = match parse(&body) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    lock(&shared.control).limits = limits;
    Json(limits).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

/// `PUT /_sim/tenants/{tenant}/mode {"mode": "endless_503"}`.
pub(crate) async fn put_mode(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let body: ModeBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mode: TenantMode = match body.mode.parse() {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    match shared.set_mode(&tenant, mode) {
        Ok(()) => Json(json!({"tenant": tenant, "mode": mode})).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

/// `GET /_sim/corpus`: what is served, in short.
pub(crate) async fn get_corpus(State(shared): State<Arc<Shared>>) -> Response {
    let snapshot = shared.snapshot();
    Json(json!({
        "version": snapshot.version,
        "base_time": snapshot
            .corpus
            .spec
            .base_time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "posts": snapshot.corpus.messages.len(),
        "issues": snapshot.corpus.issues.len(),
        "file_items": snapshot.file_items.as_ref().map(|f| f.len()),
    }))
    .into_response()
}

/// `PUT /_sim/corpus`: a Graph messages listing (an array, or an object
/// with `value`), served to every tenant from now on.
pub(crate) async fn put_corpus(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let items = match listing_items(&body) {
        Ok(items) => items,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let n = items.len();
    shared.set_corpus_file_items(items);
    Json(json!({"version": shared.snapshot().version, "file_items": n})).into_response()
}

/// `GET /_sim/requests`.
pub(crate) async fn get_requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.requests()).into_response()
}

/// `DELETE /_sim/requests`.
pub(crate) async fn delete_requests(State(shared): State<Arc<Shared>>) -> Response {
    shared.clear_requests();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/expire-tokens`: every access token issued so far expires.
pub(crate) async fn expire_tokens(State(shared): State<Arc<Shared>>) -> Response {
    shared.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/reset-throttling`: forgets every tenant's request history.
pub(crate) async fn reset_throttling(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset_throttling();
    StatusCode::NO_CONTENT.into_response()
}

/// The roles of tenant `t`, as the control API shows them.
fn roles_body(shared: &Shared, t: usize) -> Response {
    Json(json!({
        "tenant": shared.tenants[t].name,
        "roles": shared.app_roles.get(t),
    }))
    .into_response()
}

/// The tenant by name, domain or id, or the control API's 404.
pub(crate) fn tenant_index(shared: &Shared, tenant: &str) -> Result<usize, Box<Response>> {
    shared.resolve(tenant).ok_or_else(|| {
        Box::new(error(
            StatusCode::NOT_FOUND,
            super::SimError::UnknownTenant(tenant.to_owned()).to_string(),
        ))
    })
}

/// `GET /_sim/tenants/{tenant}/roles`: the app roles the tenant grants the
/// app (`{"tenant", "roles": [...]}`).
pub(crate) async fn get_roles(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    match tenant_index(&shared, &tenant) {
        Ok(t) => roles_body(&shared, t),
        Err(r) => *r,
    }
}

/// `PUT /_sim/tenants/{tenant}/roles ["Mail.Send", ...]`: replaces them.
pub(crate) async fn put_roles(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let t = match tenant_index(&shared, &tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let roles: std::collections::BTreeSet<String> = match parse(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    shared.app_roles.set(t, roles);
    roles_body(&shared, t)
}

/// `PUT /_sim/tenants/{tenant}/roles/{role}`: grants one (tokens issued
/// from now on carry it).
pub(crate) async fn grant_role(
    State(shared): State<Arc<Shared>>,
    Path((tenant, role)): Path<(String, String)>,
) -> Response {
    match tenant_index(&shared, &tenant) {
        Ok(t) => {
            shared.app_roles.grant(t, &role);
            roles_body(&shared, t)
        }
        Err(r) => *r,
    }
}

/// `DELETE /_sim/tenants/{tenant}/roles/{role}`: revokes one (tokens issued
/// before keep it until they expire).
pub(crate) async fn revoke_role(
    State(shared): State<Arc<Shared>>,
    Path((tenant, role)): Path<(String, String)>,
) -> Response {
    match tenant_index(&shared, &tenant) {
        Ok(t) => {
            shared.app_roles.revoke(t, &role);
            roles_body(&shared, t)
        }
        Err(r) => *r,
    }
}

/// The consent of tenant `t`, as the control API shows it.
fn consent_body(shared: &Shared, t: usize) -> Response {
    Json(json!({
        "tenant": shared.tenants[t].name,
        "consented": shared.app_roles.consented(t),
    }))
    .into_response()
}

/// `GET /_sim/tenants/{tenant}/consent`: `{"tenant", "consented": bool}`.
pub(crate) async fn get_consent(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    match tenant_index(&shared, &tenant) {
        Ok(t) => consent_body(&shared, t),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    consented: bool,
}

/// `PUT /_sim/tenants/{tenant}/consent {"consented": bool}`: grants or
/// withdraws the tenant's consent (see `SimHandle::set_consented`).
pub(crate) async fn put_consent(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let t = match tenant_index(&shared, &tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let body: ConsentBody = match parse(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    shared.set_consent(t, body.consented);
    consent_body(&shared, t)
}

/// `POST /_sim/consent/decline-next`: the next admin consent request is
/// declined.
pub(crate) async fn decline_next(State(shared): State<Arc<Shared>>) -> Response {
    shared.app_roles.decline_next();
    StatusCode::NO_CONTENT.into_response()
}
