//! The API's one error type: every failure is an `application/problem+json`
//! answer (RFC 9457) with a message for the person or script that sent the
//! request. Internal failures are logged in full and answered with a short
//! message that reveals nothing of the archive.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use changedesk_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem report (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status's reason phrase, e.g. `Not Found`.
    pub title: String,
    pub status: u16,
    /// What went wrong, in words.
    pub detail: String,
}

/// An error answered as a problem report.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    /// Seconds for `Retry-After` (a 503 without one says 1).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 429: too many attempts; try again in `wait` (at least a second).
    pub fn too_many(detail: impl Into<String>, wait: std::time::Duration) -> ApiError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after: Some(secs.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, detail)
    }

    /// A failure that is ours, not the caller's: logged with its causes,
    /// answered without them.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; the details are in its log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Invalid(m) => ApiError::bad_request(m.clone()),
            StoreError::Conflict(m) => ApiError::conflict(m.clone()),
            StoreError::Busy => {
                tracing::warn!("a request waited too long for a database connection");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is too busy to answer now; try again in a moment",
                )
            }
            StoreError::Full(_) => {
                tracing::error!(error = %e, "a write failed: the database's disk is full");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server's database is full: changes cannot be saved until space is freed",
                )
            }
            _ => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank",
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// JSON bodies and query strings that do not parse are the caller's
/// mistake: answered as problem reports too, with serde's message.
pub fn rejection(r: impl std::fmt::Display, status: StatusCode) -> ApiError {
    ApiError::new(status, r.to_string())
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_a_503_to_retry() {
        let e = ApiError::from(StoreError::Busy);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        // other failures are not to be retried blindly
        let e = ApiError::from(StoreError::Corrupt("x".into())).into_response();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(e.headers().get(header::RETRY_AFTER).is_none());
    }
}
