//! Admin consent of the simulator's multi-tenant app: Entra's v2 admin
//! consent endpoint (`GET /{tenant}/v2.0/adminconsent`), each tenant's
//! consent state, and its control.
//!
//! There is no UI: a simulated administrator of the tenant approves at
//! once, unless a decline was queued ([`SimHandle::decline_next_consent`]).
//! Consent creates the app's service principal in the tenant: the token
//! endpoint issues tokens again, and the tenant grants the app's required
//! permissions ([`crate::SimConfig::app_roles`]; see [`AppRoles`] for roles
//! set by hand). Withdrawn consent removes it: the token endpoint answers
//! AADSTS700016 as for an unknown app, the tenant's roles are emptied, and
//! its app tokens are forgotten, so Graph answers them as unknown tokens
//! (401 `InvalidAuthenticationToken`). Sign-ins (the OpenID Connect
//! endpoints) do not depend on it.
//!
//! [`AppRoles`]: super::auth::AppRoles

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::{EntraError, EntraTrace, app_not_found, check_default_scope, fail, missing};
use super::oidc::{no_store, query_map, redirect_error, redirect_mismatch, redirect_to, tagged};
use super::{SIM_CLIENT_ID, Shared, SimError, SimHandle, TenantMode, lock};

/// `error_description` of a declined consent, as Entra sends it.
const DECLINED: &str = "AADSTS65004: User declined to consent to access the app.";

/// Tenant names Entra accepts in place of one tenant, which leave the choice
/// to whoever signs in: the simulator has nobody to choose.
const GENERIC_TENANTS: [&str; 3] = ["common", "organizations", "consumers"];

impl Shared {
    /// Grants or withdraws tenant `t`'s consent; a withdrawal forgets the
    /// tenant's app tokens.
    pub(crate) fn set_consent(&self, t: usize, consented: bool) {
        self.app_roles.set_consented(t, consented);
        if !consented {
            // after the flag: a token issued meanwhile is either refused
            // (it reads the flag under this lock) or removed here
            lock(&self.tokens).retain(|_, token| token.tenant != t);
        }
    }
}

impl SimHandle {
    /// Whether a tenant (by name, domain or id) has consented to the app;
    /// `None` for an unknown tenant.
    pub fn consented(&self, tenant: &str) -> Option<bool> {
        self.shared
            .resolve(tenant)
            .map(|t| self.shared.app_roles.consented(t))
    }

    /// Grants or withdraws a tenant's consent to the app, as its
    /// administrator would. Granting gives the tenant the app's required
    /// permissions ([`crate::SimConfig::app_roles`]) unless its roles were
    /// set by hand since consent was last withdrawn; withdrawing empties its
    /// roles, makes the token endpoint answer AADSTS700016, and ends the
    /// tenant's app tokens at once.
    pub fn set_consented(&self, tenant: &str, consented: bool) -> Result<(), SimError> {
        let t = self
            .shared
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        self.shared.set_consent(t, consented);
        Ok(())
    }

    /// The next admin consent request that gets past the request checks is
    /// declined (`error=access_denied`, AADSTS65004), once.
    pub fn decline_next_consent(&self) {
        self.shared.app_roles.decline_next();
    }
}

/// AADSTS90002 for a tenant the simulator does not have (or one in the
/// `not_found` mode); a generic name is explained.
fn tenant_not_found(key: &str) -> EntraError {
    let why = if GENERIC_TENANTS.iter().any(|g| g.eq_ignore_ascii_case(key)) {
        format!(
            "'{key}' names no single tenant, and the simulator has no administrator to pick one"
        )
    } else {
        "the simulator has no such tenant".to_owned()
    };
    fail(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        format!(
            "Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. The simulator's admin consent endpoint needs a specific tenant in the path (its directory id, name or domain, such as tenant-001.onmicrosoft.com): {why}."
        ),
    )
}

/// `s` with HTML's special characters escaped.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The error page Entra shows the administrator (never a redirect: the
/// request could not be trusted to name the app's redirect URI).
fn error_page(headers: &HeaderMap, e: &EntraError) -> Response {
    let trace = EntraTrace::new(headers);
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\n<body>\n<h1>Sorry, but we\u{2019}re having trouble signing you in.</h1>\n<p id=\"message\">AADSTS{code}: {description}</p>\n<dl>\n<dt>Error</dt><dd id=\"error\">{error}</dd>\n<dt>Request Id</dt><dd>{trace_id}</dd>\n<dt>Correlation Id</dt><dd>{correlation_id}</dd>\n<dt>Timestamp</dt><dd>{timestamp}</dd>\n</dl>\n</body>\n</html>\n",
        code = e.code,
        description = escape_html(&e.description),
        error = e.error,
        trace_id = trace.trace_id,
        correlation_id = trace.correlation_id,
        timestamp = trace.timestamp,
    );
    let mut response = (e.status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(response)
}

/// `GET /{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state`.
///
/// Answered with a `400` error page (never redirected): an unknown or
/// generic tenant (AADSTS90002), a missing `client_id`, `redirect_uri` or
/// `scope` (AADSTS900144), another app (AADSTS700016), a redirect URI that
/// is not the app's (AADSTS50011). Redirected with `error`: a scope other
/// than the Graph root's `.default` (`invalid_scope`, AADSTS70011), a
/// declined consent (`access_denied`, AADSTS65004, `admin_consent=False`).
/// Else the tenant consents and the answer is a `302` to the redirect URI
/// with `admin_consent=True`, `tenant` (its directory id), `scope` and
/// `state` (when sent).
pub(crate) async fn admin_consent(
    State(shared): State<Arc<Shared>>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(t) = shared
        .resolve(&tenant_key)
        .filter(|&t| shared.mode(t) != TenantMode::NotFound)
    else {
        tracing::debug!(tenant = %tenant_key, "admin consent: no such tenant");
        return error_page(&headers, &tenant_not_found(&tenant_key));
    };
    let response = consent(&shared, t, &headers, raw.as_deref());
    tagged(&shared, Some(t), response)
}

fn consent(shared: &Shared, t: usize, headers: &HeaderMap, raw: Option<&str>) -> Response {
    let q = query_map(raw);
    let param = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let page = |e: EntraError| {
        tracing::debug!(tenant = %shared.tenants[t].name, code = e.code, "admin consent refused");
        error_page(headers, &e)
    };
    let Some(client_id) = param("client_id") else {
        return page(missing("client_id"));
    };
    if !client_id.eq_ignore_ascii_case(SIM_CLIENT_ID) {
        return page(app_not_found(client_id, &shared.tenants[t].name));
    }
    let Some(redirect_uri) = param("redirect_uri") else {
        return page(missing("redirect_uri"));
    };
    if !shared.oidc.redirect_allowed(redirect_uri) {
        return page(redirect_mismatch(redirect_uri));
    }
    let Some(scope) = param("scope") else {
        return page(missing("scope"));
    };
    // from here on the redirect URI is the app's: errors go back to it
    let state = q.get("state").map(String::as_str);
    if let Err(e) = check_default_scope(shared, headers, scope) {
        return redirect_error(redirect_uri, e.error, e.code, &e.description, state);
    }
    let guid = shared.tenants[t].guid.as_str();
    if shared.app_roles.take_decline() {
        tracing::debug!(tenant = %shared.tenants[t].name, "admin consent declined");
        return redirect_to(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", DECLINED),
                ("admin_consent", "False"),
                ("tenant", guid),
            ],
            state,
        );
    }
    shared.set_consent(t, true);
    tracing::debug!(tenant = %shared.tenants[t].name, "admin consent granted");
    redirect_to(
        redirect_uri,
        &[
            ("admin_consent", "True"),
            ("tenant", guid),
            ("scope", scope),
        ],
        state,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_html("plain é"), "plain é");
    }

    #[test]
    fn generic_tenants_are_explained() {
        for key in ["common", "Organizations"] {
            let e = tenant_not_found(key);
            assert_eq!((e.code, e.status), (90002, StatusCode::BAD_REQUEST));
            assert!(
                e.description.contains("names no single tenant"),
                "{}",
                e.description
            );
        }
        assert!(
            tenant_not_found("tenant-404")
                .description
                .contains("no such tenant")
        );
    }
}
