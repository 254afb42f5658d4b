//! Prometheus metrics: per request (method, route, status, latency) and,
//! at each scrape, the archive's and the work items' counts. Served at
//! `/metrics`, or on a listener of its own (`serve --metrics-listen`) so
//! they are not exposed with the API.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;

/// The process's metrics recorder (one per process, installed on first use).
#[derive(Clone)]
pub struct Metrics(PrometheusHandle);

impl Metrics {
    pub fn global() -> Metrics {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        Metrics(
            HANDLE
                .get_or_init(|| {
                    let recorder = PrometheusBuilder::new().build_recorder();
                    let handle = recorder.handle();
                    // another recorder already installed (a test harness):
                    // this one then only renders what it is given
                    let _ = metrics::set_global_recorder(recorder);
                    handle
                })
                .clone(),
        )
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

/// `GET /metrics`: the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(m) = &state.metrics else {
        return super::ApiError::not_found("metrics are not enabled").into_response();
    };
    if let Ok(c) = state.store.counts().await {
        metrics::gauge!("changedesk_tenants").set(c.tenants as f64);
        metrics::gauge!("changedesk_posts").set(c.posts as f64);
        metrics::gauge!("changedesk_incidents").set(c.incidents as f64);
    }
    if let Ok(by_state) = state.store.work_item_counts().await {
        for (s, n) in by_state {
            metrics::gauge!("changedesk_work_items", "state" => s.as_str()).set(n as f64);
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.0.render(),
    )
        .into_response()
}
