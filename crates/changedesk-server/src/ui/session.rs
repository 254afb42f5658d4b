//! Signing in and out with a form (no JavaScript needed), and the CSRF
//! check of every other form.
//!
//! The sign-in form itself is protected against login CSRF (a foreign site
//! signing the browser in as someone else) with a double-submit token: the
//! page sets a short-lived `changedesk_sign_in` cookie (SameSite=Strict,
//! HttpOnly) and puts the same random value in the form.

use askama::Template;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::view::{self, Layout};
use super::{SignedIn, UiError, UiResult};
use crate::http::AppState;
use crate::http::auth::{self, Via};
use crate::http::extract::ClientIp;
use crate::http::routes::session::{check_password_sign_in, open_session};

/// The login-CSRF cookie of the sign-in form.
const SIGN_IN_COOKIE: &str = "changedesk_sign_in";

/// Largest form body accepted (a comment is at most a few KB).
const MAX_FORM: usize = 256 * 1024;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    next: String,
    name: String,
    token: String,
    error: Option<String>,
    /// Where "Sign in with Microsoft" starts (OpenID Connect's start route,
    /// returning to `next`), when OpenID Connect is configured; `None`
    /// offers local accounts only.
    oidc_start: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NextParam {
    next: Option<String>,
}

fn sign_in_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SIGN_IN_COOKIE, value))
        .path("/sign-in")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::hours(1))
        .build()
}

fn render_sign_in(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    next: String,
    name: String,
    error: Option<String>,
) -> UiResult<Response> {
    let token = auth::new_secret();
    let oidc_start = state
        .oidc
        .is_some()
        .then(|| format!("/api/v1/session/oidc?return_to={}", view::encode(&next)));
    let page = SignInPage {
        layout: Layout::anonymous("Sign in"),
        next,
        name,
        token: token.clone(),
        error,
        oidc_start,
    };
    let jar = jar.add(sign_in_cookie(token, state.settings.secure_cookies));
    Ok((status, jar, Html(page.render()?)).into_response())
}

/// `GET /sign-in?next=…`: the form (or straight on when already signed in).
pub(crate) async fn sign_in_page(
    State(state): State<AppState>,
    Query(p): Query<NextParam>,
    jar: CookieJar,
    signed_in: Option<SignedInOpt>,
) -> UiResult<Response> {
    let next = view::safe_next(p.next.as_deref());
    if signed_in.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render_sign_in(&state, jar, StatusCode::OK, next, String::new(), None)
}

/// A live session, if there is one (no redirect when there is not).
pub(crate) struct SignedInOpt;

impl axum::extract::OptionalFromRequestParts<AppState> for SignedInOpt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Option<SignedInOpt>, Self::Rejection> {
        use axum::extract::FromRequestParts;
        Ok(auth::UiSession::from_request_parts(parts, state)
            .await
            .ok()
            .map(|_| SignedInOpt))
    }
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    token: String,
}

/// `POST /sign-in`: checks the password (rate-limited and audited like the
/// API's sign-in), opens a session and goes on to `next`.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    jar: CookieJar,
    axum::Form(form): axum::Form<SignInForm>,
) -> UiResult<Response> {
    let next = view::safe_next(Some(&form.next));
    let expected = jar
        .get(SIGN_IN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let token_ok =
        !expected.is_empty() && auth::constant_time_eq(expected.as_bytes(), form.token.as_bytes());
    if !token_ok {
        return render_sign_in(
            &state,
            jar,
            StatusCode::FORBIDDEN,
            next,
            form.name,
            Some("The sign-in form had expired. Please sign in again.".to_string()),
        );
    }
    let client = peer.map(|ip| ip.to_string()).unwrap_or_default();
    let user = match check_password_sign_in(&state, &form.name, form.password, &client).await {
        Ok(u) => u,
        Err(e) if matches!(e.status.as_u16(), 401 | 429) => {
            return render_sign_in(&state, jar, e.status, next, form.name, Some(e.detail));
        }
        Err(e) => return Err(e.into()),
    };
    let jar = jar.remove(Cookie::build(SIGN_IN_COOKIE).path("/sign-in"));
    let (jar, _) = open_session(&state, &user, &client, "session.sign_in", jar).await?;
    Ok((jar, Redirect::to(&next)).into_response())
}

/// `POST /sign-out`: ends the session (audited) and removes the cookie.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    form: UiForm,
) -> UiResult<Response> {
    let caller = &form.user.caller;
    if let Via::Session { token_hash } = &caller.via {
        crate::http::routes::session::close_session(&state, caller, token_hash).await?;
    }
    Ok((
        jar.add(auth::expired_session_cookie(state.settings.secure_cookies)),
        Redirect::to("/sign-in"),
    )
        .into_response())
}

/// A form posted by a signed-in browser, with its CSRF token checked: the
/// user, and the form's fields in order (a name may repeat, e.g. the
/// selected posts of a bulk action).
pub(crate) struct UiForm {
    pub user: SignedIn,
    pub fields: Vec<(String, String)>,
}

impl UiForm {
    /// The first value of a field, trimmed; `""` when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    /// Every value of a field.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }
}

impl FromRequest<AppState> for UiForm {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> UiResult<UiForm> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        let user = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM)
            .await
            .map_err(|_| UiError::bad_request("the form is too large"))?;
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let sent = fields
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !auth::constant_time_eq(sent.as_bytes(), user.csrf_token.as_bytes()) {
            return Err(UiError::Page {
                status: StatusCode::FORBIDDEN,
                message: "The form's security token is missing or out of date. Go back, reload the page and try again."
                    .to_string(),
            });
        }
        Ok(UiForm { user, fields })
    }
}
