//! Prometheus metrics: per request (method, route, status, latency) and the
//! archive's and the work items' counts (counted at a scrape at most every
//! [`GAUGES_MAX_AGE`]). Served on a listener of their own
//! (`serve --metrics-listen`), or at `/metrics` on the main listener to an
//! admin's API token only.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;

/// How old the archive's and the work items' counts may be: counting them
/// at every scrape would read the archive's tables every few seconds.
pub const GAUGES_MAX_AGE: Duration = Duration::from_secs(30);

/// The process's metrics recorder (one per process, installed on first use).
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    /// When the counts were last set (one scrape at a time counts them).
    counted: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl Metrics {
    pub fn global() -> Metrics {
        static GLOBAL: OnceLock<Metrics> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new().build_recorder();
                let handle = recorder.handle();
                // another recorder already installed (a test harness):
                // this one then only renders what it is given
                let _ = metrics::set_global_recorder(recorder);
                Metrics {
                    handle,
                    counted: Arc::new(tokio::sync::Mutex::new(None)),
                }
            })
            .clone()
    }
}

/// Records every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.metrics.is_none() {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("changedesk_http_requests_total", &labels).increment(1);
    metrics::histogram!("changedesk_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` on the main listener: for an admin without a tenant limit
/// only (Prometheus sends an API token as `authorization: credentials`),
/// since the counts cover every tenant. `serve --metrics-listen ADDR` serves
/// them without sign-in on an address of their own, for a private network.
pub async fn render_for_admins(
    State(state): State<AppState>,
    caller: super::auth::Caller,
) -> Response {
    if let Err(e) = caller.require(super::auth::Need::Admin) {
        return e.into_response();
    }
    render(State(state)).await
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(m) = &state.metrics else {
        return super::ApiError::not_found("metrics are not enabled").into_response();
    };
    {
        let mut counted = m.counted.lock().await;
        if counted.is_none_or(|at| at.elapsed() >= GAUGES_MAX_AGE) && set_counts(&state).await {
            *counted = Some(Instant::now());
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.handle.render(),
    )
        .into_response()
}

/// Sets the archive's and the work items' gauges; false when the store
/// failed (logged; the next scrape tries again).
async fn set_counts(state: &AppState) -> bool {
    let size = match state.store.size().await {
        Ok(size) => size,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count the archive");
            return false;
        }
    };
    metrics::gauge!("changedesk_tenants").set(size.tenants as f64);
    metrics::gauge!("changedesk_posts").set(size.posts as f64);
    metrics::gauge!("changedesk_incidents").set(size.incidents as f64);
    match state.store.work_item_counts().await {
        Ok(by_state) => {
            for (s, n) in by_state {
                metrics::gauge!("changedesk_work_items", "state" => s.as_str()).set(n as f64);
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count the work items");
            false
        }
    }
}
