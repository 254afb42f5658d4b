//! The web UI: server-rendered pages (askama templates in `templates/`),
//! readable without JavaScript, with one stylesheet and one small script
//! embedded in the binary (no CDN, no request leaves the server).
//!
//! Pages need a browser session (the session cookie; see
//! [`crate::http::auth::UiSession`]); without one they send the browser to
//! `/sign-in?next=…`. Every form that changes something carries the
//! session's CSRF token in a hidden `csrf_token` field (`UiForm`). Every
//! UI response has a strict Content-Security-Policy (no inline script or
//! style), `X-Content-Type-Options: nosniff` and `Referrer-Policy:
//! same-origin`; pages are `Cache-Control: no-store`, assets are served
//! under a content-hashed name and cached for a year.
//!
//! The pages call the same code as the API: the post queries and facets of
//! `routes::posts`, the work-item actions and lists of `routes::items`, the
//! sign-in of `routes::session`, the body sanitiser, and for the pages of
//! the second increment (agenda, service health, tenants, owners and
//! groups, rules, users and tokens, audit log) the inner functions of the
//! other `routes` modules, which check who may do what and audit every
//! change exactly as the API does. Saved views of the inbox are the UI's
//! own, kept per user in the store (audited there).

mod admin;
mod agenda;
mod assets;
mod briefing;
mod calendar;
mod chart;
mod comms;
pub(crate) mod feeds;
mod health;
mod inbox;
mod items;
mod outbox;
mod owners;
mod pilots;
mod post;
mod reports;
mod rules;
mod session;
mod settings;
mod subscription;
mod tenants;
mod unsubscribe;
mod view;
mod views;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::http::auth::{Caller, UiSession};
use crate::http::{ApiError, AppState};

pub(crate) use session::UiForm;
pub(crate) use view::{in_zone, viewer_zone};

/// The Content-Security-Policy of every UI response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// The web UI's routes (merged into [`crate::http::router`]), each request
/// in its viewer's time zone (`settings::in_viewer_zone`).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(inbox::inbox))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/reports", get(reports::page))
        .route("/reports/executive", get(briefing::executive))
        .route("/reports/weekly", get(briefing::weekly))
        .route("/agenda/held", post(agenda::record_held))
        .route("/posts/{id}", get(post::post_page))
        .route("/posts/{id}/preview", get(inbox::preview))
        .route("/posts/{id}/actions", post(post::act))
        .route("/posts/{id}/triage", post(post::triage_form))
        .route("/posts/{id}/raise-change", post(post::raise_change))
        .route("/posts/{id}/comms", post(comms::request))
        .route("/comms", get(comms::list))
        .route("/pilots", get(pilots::list))
        .route("/pilots/save", post(pilots::save))
        .route("/pilots/remove", post(pilots::remove))
        .route("/comms/{id}", get(comms::detail))
        .route("/comms/{id}/{action}", post(comms::act))
        .route("/c/{token}", get(comms::read))
        .route(
            "/c/{token}/ack",
            get(comms::ack_page).post(comms::acknowledge),
        )
        .route("/items", get(items::list))
        .route("/items/bulk", post(items::bulk))
        .route("/board", get(items::board))
        .route("/baseline", get(items::baseline))
        .route("/baseline/accept", post(items::accept_baseline))
        .route("/agenda", get(agenda::page))
        .route("/agenda.md", get(agenda::markdown))
        .route("/health", get(health::page))
        .route("/health/incidents/{id}", get(health::incident))
        .route("/tenants", get(health::tenants))
        .route("/tenants/sync", post(health::sync_now))
        .route("/tenants/add", post(tenants::add))
        .route("/tenants/consent-link", post(tenants::consent_link))
        .route("/tenants/check", post(tenants::check))
        .route("/tenants/remove", post(tenants::remove))
        .route("/tenants/rename", post(tenants::rename))
        .route("/tenants/purge", post(tenants::purge))
        .route(
            crate::onboard::CONSENT_CALLBACK_PATH,
            get(tenants::callback),
        )
        .route("/owners", get(owners::page))
        .route("/owners/save", post(owners::save_owner))
        .route("/owners/remove", post(owners::remove_owner))
        .route("/owners/ownership/save", post(owners::save_ownership))
        .route("/owners/ownership/remove", post(owners::remove_ownership))
        .route("/owners/groups/save", post(owners::save_group))
        .route("/owners/groups/remove", post(owners::remove_group))
        .route("/rules", get(rules::page))
        .route("/rules/edit", get(rules::editor))
        .route("/rules/save", post(rules::save))
        .route("/rules/remove", post(rules::remove))
        .route("/rules/test", get(rules::test).post(rules::test_draft))
        .route("/rules/simulate", post(rules::simulate))
        .route("/users", get(admin::users))
        .route("/users/add", post(admin::add_user))
        .route("/users/update", post(admin::update_user))
        .route("/users/remove", post(admin::remove_user))
        .route("/users/unlock", post(admin::unlock_user))
        .route("/tokens", get(admin::tokens))
        .route("/tokens/add", post(admin::add_token))
        .route("/tokens/revoke", post(admin::revoke_token))
        .route("/audit", get(admin::audit))
        .route("/outbox", get(outbox::page))
        .route("/outbox/retry", post(outbox::retry))
        .route("/outbox/channels", post(outbox::add_channel))
        .route("/outbox/channels/remove", post(outbox::remove_channel))
        .route("/outbox/channels/test", post(outbox::test_channel))
        .route(
            "/me/notifications",
            get(subscription::page).post(subscription::save),
        )
        .route("/me/notifications/remove", post(subscription::remove))
        .route("/me/settings", get(settings::page).post(settings::save))
        .route("/views", get(views::page))
        .route("/views/save", post(views::save))
        .route("/views/remove", post(views::remove))
        .route("/views/feeds", post(feeds::create))
        .route("/views/feeds/revoke", post(feeds::revoke))
        .route("/calendar", get(calendar::page))
        .route("/feeds/{file}", get(feeds::serve))
        .route("/static/{file}", get(assets::serve))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::show).post(unsubscribe::confirm),
        )
        .layer(axum::middleware::from_fn_with_state(
            state,
            settings::in_viewer_zone,
        ))
        .layer(axum::middleware::map_response(security_headers))
}

/// The answer for a path no route has: a problem report under `/api`, an
/// HTML page elsewhere.
pub async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found("no such endpoint").into_response();
    }
    security_headers(
        UiError::Page {
            status: StatusCode::NOT_FOUND,
            message: "There is no page at this address.".to_string(),
        }
        .into_response(),
    )
    .await
}

/// Adds the UI's security headers (and `no-store` unless the handler chose
/// a cache policy).
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What a UI handler can fail with.
#[derive(Debug)]
pub(crate) enum UiError {
    /// No live session: to the sign-in page, then back to `next`.
    SignIn { next: String },
    /// An error page.
    Page { status: StatusCode, message: String },
    /// Elsewhere: an `analytics_reader`'s home is the reports.
    Elsewhere { to: &'static str },
}

impl UiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> UiError {
        UiError::Page {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> UiError {
        if e.status == StatusCode::UNAUTHORIZED {
            return UiError::SignIn {
                next: "/".to_string(),
            };
        }
        UiError::Page {
            status: e.status,
            message: e.detail,
        }
    }
}

impl From<changedesk_store::StoreError> for UiError {
    fn from(e: changedesk_store::StoreError) -> UiError {
        ApiError::from(e).into()
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> UiError {
        ApiError::internal(&e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: view::Layout,
    status: u16,
    reason: &'static str,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn { next } => {
                Redirect::to(&format!("/sign-in?next={}", view::encode(&next))).into_response()
            }
            UiError::Elsewhere { to } => Redirect::to(to).into_response(),
            UiError::Page { status, message } => {
                let page = ErrorPage {
                    layout: view::Layout::anonymous("Error"),
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or("Error"),
                    message,
                };
                match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot render the error page");
                        (status, "error").into_response()
                    }
                }
            }
        }
    }
}

pub(crate) type UiResult<T> = Result<T, UiError>;

/// Renders a template as an HTML answer.
pub(crate) fn html(t: &impl Template) -> UiResult<Response> {
    Ok(Html(t.render()?).into_response())
}

/// Renders a template as an HTML answer with `status`.
pub(crate) fn html_status(status: StatusCode, t: &impl Template) -> UiResult<Response> {
    Ok((status, Html(t.render()?)).into_response())
}

/// A form's action the API's logic refused: when the page can say so and
/// show the form again (a bad value, a conflict with the current state, no
/// scheduler), the status and what to say; when the caller may not do it,
/// it does not exist in their scope, or the server failed, the error page.
pub(crate) fn refusal(e: ApiError) -> UiResult<(StatusCode, view::Notice)> {
    match e.status.as_u16() {
        400 | 409 | 422 | 503 => Ok((e.status, view::Notice::error(e.detail))),
        _ => Err(e.into()),
    }
}

/// A signed-in browser: the caller and the session's CSRF token (for the
/// forms of the page). Without a live session: to the sign-in page, then
/// back here (GET) or to the inbox.
pub(crate) struct SignedIn {
    pub caller: Caller,
    pub csrf_token: String,
    /// The user's saved views, for the menu.
    pub views: Vec<changedesk_store::SavedView>,
}

impl SignedIn {
    /// The page frame for this user, with `nav` the current menu entry.
    pub(crate) fn layout(&self, title: impl Into<String>, nav: &'static str) -> view::Layout {
        view::Layout::signed_in(
            title.into(),
            nav,
            &self.caller,
            &self.csrf_token,
            &self.views,
        )
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> UiResult<SignedIn> {
        match UiSession::from_request_parts(parts, state).await {
            Ok(s) => Ok(SignedIn {
                views: state.store.saved_views(s.caller.user_id).await?,
                caller: s.caller,
                csrf_token: s.csrf_token,
            }),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                let next = if parts.method == Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".to_string())
                } else {
                    "/".to_string()
                };
                Err(UiError::SignIn { next })
            }
            // the reports are an analytics reader's home page
            Err(e) if e.status == StatusCode::FORBIDDEN && parts.uri.path() == "/" => {
                Err(UiError::Elsewhere { to: "/reports" })
            }
            Err(e) => Err(e.into()),
        }
    }
}
