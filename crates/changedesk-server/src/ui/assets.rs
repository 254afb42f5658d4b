//! The UI's static files, embedded in the binary and served under a name
//! that carries a hash of their content (`/static/app.3f2a9c0d41b7.css`), so
//! browsers may cache them for a year and a new build is never stale.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::UiError;

struct Asset {
    /// The name without the hash: `app.css`.
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/app.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/icon.svg"),
    },
];

/// `app.css` → `app.<first 12 hex digits of its SHA-256>.css`.
fn hashed_name(a: &Asset) -> String {
    let digest = Sha256::digest(a.bytes);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    match a.name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hex}.{ext}"),
        None => format!("{}.{hex}", a.name),
    }
}

fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| ASSETS.iter().map(hashed_name).collect())
}

/// The URL of an asset by its plain name (`app.css`).
pub(crate) fn url(name: &str) -> String {
    ASSETS
        .iter()
        .zip(names())
        .find(|(a, _)| a.name == name)
        .map(|(_, hashed)| format!("/static/{hashed}"))
        .unwrap_or_else(|| format!("/static/{name}"))
}

/// `GET /static/{file}`: only the current hashed names exist.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().zip(names()).find(|(_, h)| **h == file) {
        Some((a, _)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        None => UiError::Page {
            status: StatusCode::NOT_FOUND,
            message: format!("There is no file {file} (assets change name with every build)."),
        }
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let css = url("app.css");
        assert!(
            css.starts_with("/static/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/static/app.".len() + 12 + ".css".len());
        assert_ne!(url("app.js"), "/static/app.js");
    }
}
