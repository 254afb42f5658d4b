//! Requests that carry U+0000 (NUL) are refused with 400 before any
//! handler runs: in the path or query string (`%00`), or in the body (a
//! raw NUL byte, `%00` in a form, `\u0000` in JSON).
//!
//! A NUL has no meaning in a name, a search, a comment or a password, and
//! PostgreSQL's `text` cannot hold one: let through, it failed the request's
//! statement (a 500) on PostgreSQL while SQLite stored it. Refusing the whole
//! class here keeps every route, present and future, from reaching the
//! database with one (the store replaces NUL in what it loads from Graph:
//! `changedesk_store::text`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The largest body read here: axum's default limit for the JSON and form
/// extractors, which would refuse a larger one anyway.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The middleware (see the module's documentation).
pub async fn reject_nul(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if has_percent_nul(uri.path()) {
        return refused("path");
    }
    if uri.query().is_some_and(has_percent_nul) {
        return refused("query string");
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than the server accepts ({} MiB)",
                    MAX_BODY / (1024 * 1024)
                ),
            )
            .into_response();
        }
    };
    let nul = bytes.contains(&0)
        || if json {
            has_json_nul(&bytes)
        } else {
            // a form (the web UI's forms are read whatever their type)
            has_percent_nul_bytes(&bytes)
        };
    if nul {
        return refused("body");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn refused(place: &str) -> Response {
    ApiError::bad_request(format!(
        "the request's {place} contains a NUL character (U+0000), which the server does not accept"
    ))
    .into_response()
}

/// `%00` (NUL is encoded no other way).
fn has_percent_nul(s: &str) -> bool {
    has_percent_nul_bytes(s.as_bytes())
}

fn has_percent_nul_bytes(b: &[u8]) -> bool {
    b.windows(3).any(|w| w == b"%00")
}

/// `\u0000` as a JSON escape: preceded by an odd number of backslashes
/// (`\\u0000` is a backslash followed by the text `u0000`).
fn has_json_nul(b: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && c == b'u' && b.get(i + 1..i + 5) == Some(b"0000".as_slice()) {
            return true;
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_of_nul_are_found_and_escaped_backslashes_are_not() {
        assert!(has_json_nul(br#"{"a":"x\u0000"}"#));
        assert!(has_json_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!has_json_nul(br#"{"a":"\\u0000"}"#));
        assert!(!has_json_nul(br#"{"a":"\u0001 %00"}"#));
        assert!(!has_json_nul(br#"{"a":"\u000"}"#));
        assert!(has_percent_nul("a=%00"));
        assert!(!has_percent_nul("a=%2500&b=%0"));
    }
}
