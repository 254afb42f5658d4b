//! A mock Entra ID OpenID Connect provider: discovery, the authorization
//! endpoint (authorization code with PKCE S256, no UI: a configured
//! simulated user "signs in" at once), the token endpoint's
//! `authorization_code` grant (ID tokens signed RS256 with a published test
//! key), the JWKS, and faults for the next ID token.
//!
//! Groups overage, as Entra does it: a user in more than
//! [`GROUPS_OVERAGE_LIMIT`] groups gets no `groups` claim but
//! `_claim_names`/`_claim_sources` pointing at the retired Azure AD Graph.
//! Their groups are read from Microsoft Graph with the delegated access
//! token of the same redemption: `POST /v1.0/me/getMemberObjects`, which
//! needs the `User.Read` scope (asked for at the authorization endpoint,
//! with or without a resource prefix such as
//! `https://graph.microsoft.com/User.Read`). It answers every group of the
//! user: the simulator does not tell security groups from Microsoft 365
//! groups, so `securityEnabledOnly` changes nothing. [`MemberObjectsFault`]
//! spoils its next answer.
//!
//! The signing key is `testdata/oidc-signing.key.pem`, a key published in
//! this repository: it is a test key, trusted by nothing but tests.
//! `testdata/other-app.key.pem` signs the ID tokens whose signature must
//! fail.
//!
//! Error codes follow Entra's (`AADSTS…` in `error_description`); where
//! Entra's exact code for a case is not known (PKCE method errors), the
//! closest one is used and the text says what is wrong.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::auth::{
    EntraError, basic_credentials, entra_response, fail, invalid_client, missing, request_base,
    unix_now,
};
use super::graph::{Meta, graph_error, json_response};
use super::{SIM_CLIENT_ID, SIM_CLIENT_SECRET, Shared, SimError, TenantMode, TenantTag, lock};

/// The PKCS#8 PEM of the key the mock provider signs ID tokens with (RSA
/// 2048, `testdata/oidc-signing.key.pem`). Published, so test-only.
pub const OIDC_SIGNING_KEY_PEM: &str = include_str!("../../testdata/oidc-signing.key.pem");

/// The key that signs ID tokens meant to fail signature checks.
const OTHER_KEY_PEM: &str = include_str!("../../testdata/other-app.key.pem");

/// How long an authorization code may be redeemed (Entra: about 10 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// `expires_in` of the tokens the `authorization_code` grant issues.
const ID_TOKEN_LIFETIME_SECS: i64 = 3600;

/// The most groups Entra puts in a JWT's `groups` claim: a user in more
/// gets the overage claims (`_claim_names`, `_claim_sources`) instead.
pub const GROUPS_OVERAGE_LIMIT: usize = 200;

/// `@odata.context` of a `getMemberObjects` answer.
const MEMBER_OBJECTS_CONTEXT: &str =
    "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)";

/// The `aud` of an ID token with [`IdTokenFault::WrongAudience`]: another
/// app's client id.
pub const OTHER_CLIENT_ID: &str = "0f3a9c2e-5d41-4b7a-8e16-2c9d7b4a1f00";

/// The `kid` of an ID token with [`IdTokenFault::UnknownKey`]: published
/// nowhere.
const UNKNOWN_KID: &str = "sim-unpublished-key";

/// A person in the simulated directory, who "signs in" at the authorization
/// endpoint. Set with [`crate::SimHandle::oidc_set_users`] or `PUT
/// /_sim/oidc/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimUser {
    /// The `name` claim (display name).
    pub name: String,
    /// The `preferred_username` claim (the UPN, e.g. `ada@contoso.example`);
    /// `login_hint` picks the user by it (or by `email` or `oid`).
    pub username: String,
    /// The `oid` claim (object id, a GUID). Empty: derived from `username`.
    #[serde(default)]
    pub oid: String,
    /// The `email` claim; empty: none.
    #[serde(default)]
    pub email: String,
    /// The `roles` claim: the app roles assigned to the user (values such
    /// as `changedesk.admin`); empty: no `roles` claim, as Entra does.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The user's groups (object ids): the `groups` claim (none when
    /// empty; the overage claims instead when there are more than
    /// [`GROUPS_OVERAGE_LIMIT`]), and the answer of `POST
    /// /v1.0/me/getMemberObjects`.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl SimUser {
    /// A user with these names and app roles, no groups, `email` =
    /// `username`, and the derived `oid`.
    pub fn new(name: &str, username: &str, roles: &[&str]) -> SimUser {
        SimUser {
            name: name.to_owned(),
            username: username.to_owned(),
            oid: derived_oid(username),
            email: username.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            groups: Vec::new(),
        }
    }

    fn checked(mut self) -> Result<SimUser, SimError> {
        if self.username.trim().is_empty() {
            return Err(SimError::Oidc(
                "a simulated user needs a username".to_owned(),
            ));
        }
        if self.oid.trim().is_empty() {
            self.oid = derived_oid(&self.username);
        } else if uuid::Uuid::parse_str(self.oid.trim()).is_err() {
            return Err(SimError::Oidc(format!(
                "oid `{}` of {} is not a GUID",
                self.oid, self.username
            )));
        }
        self.oid = self.oid.trim().to_ascii_lowercase();
        Ok(self)
    }
}

/// The object id the simulator gives `username` when none is set: a GUID
/// from SHA-256 of the lower-cased name, stable across runs.
pub fn derived_oid(username: &str) -> String {
    let digest = Sha256::digest(username.trim().to_ascii_lowercase().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The users signed in when none were set: one admin.
fn default_users() -> Vec<SimUser> {
    vec![SimUser::new(
        "Ada Admin",
        "ada@contoso.example",
        &["changedesk.admin"],
    )]
}

/// What goes wrong with the next ID token the token endpoint issues (then
/// the fault is cleared). Set with [`crate::SimHandle::oidc_set_fault`] or
/// `PUT /_sim/oidc/fault {"fault": "expired"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdTokenFault {
    /// `aud` is another app's client id ([`OTHER_CLIENT_ID`]).
    WrongAudience,
    /// Issued two hours ago, expired an hour ago.
    Expired,
    /// `nbf` and `iat` an hour in the future.
    NotYetValid,
    /// `nonce` is not the one sent to the authorization endpoint.
    WrongNonce,
    /// Signed with another key, under the published key's `kid`.
    BadSignature,
    /// Signed with another key whose `kid` the JWKS does not publish.
    UnknownKey,
    /// `iss` is the v1.0 issuer (`https://sts.windows.net/{tid}/`).
    WrongIssuer,
}

/// What goes wrong with the next `POST /v1.0/me/getMemberObjects` that
/// carries a valid token with `User.Read` (then the fault is cleared). Set
/// with [`crate::SimHandle::oidc_set_member_objects_fault`] or `PUT
/// /_sim/oidc/member-objects-fault {"fault": "denied"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberObjectsFault {
    /// 403 `Authorization_RequestDenied` "Insufficient privileges to
    /// complete the operation." (as when consent to `User.Read` is
    /// missing or was withdrawn).
    Denied,
    /// 503 `serviceNotAvailable`.
    Unavailable,
    /// 200 with a body that is not a `getMemberObjects` answer (`value` is
    /// not a list of strings).
    Malformed,
}

/// An authorization code, until it is redeemed or expires.
struct IssuedCode {
    tenant: usize,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    /// The `scope` asked for at the authorization endpoint, as sent
    /// (whitespace normalized).
    scope: String,
    user: SimUser,
    issued: Instant,
}

/// A delegated access token the `authorization_code` grant issued.
struct UserToken {
    tenant: usize,
    /// The user's object id.
    oid: String,
    /// The scopes asked for at the authorization endpoint.
    scopes: Vec<String>,
    expires: Instant,
}

impl UserToken {
    fn has_user_read(&self) -> bool {
        self.scopes.iter().any(|s| is_user_read(s))
    }
}

/// Whether a scope is Graph's `User.Read`, bare or with a resource prefix
/// (`https://graph.microsoft.com/User.Read`).
fn is_user_read(scope: &str) -> bool {
    let name = scope.rsplit('/').next().unwrap_or(scope);
    name.eq_ignore_ascii_case("User.Read")
}

struct Keys {
    signing: EncodingKey,
    other: EncodingKey,
    kid: String,
    jwks: Value,
}

struct Inner {
    users: Vec<SimUser>,
    fault: Option<IdTokenFault>,
    /// Registered redirect URIs; empty: any loopback `http` URI.
    redirect_uris: Vec<String>,
    codes: HashMap<String, IssuedCode>,
    /// Codes already redeemed (a second redemption is AADSTS54005).
    redeemed: HashSet<String>,
    /// Delegated access tokens, by token.
    user_tokens: HashMap<String, UserToken>,
    member_objects_fault: Option<MemberObjectsFault>,
}

/// The provider's keys, users, fault and codes.
pub(crate) struct OidcState {
    keys: Keys,
    inner: Mutex<Inner>,
}

impl OidcState {
    pub(crate) fn new() -> Result<OidcState, SimError> {
        let key_error = |e: jsonwebtoken::errors::Error| {
            SimError::Oidc(format!("the ID token signing key is not usable: {e}"))
        };
        let signing =
            EncodingKey::from_rsa_pem(OIDC_SIGNING_KEY_PEM.as_bytes()).map_err(key_error)?;
        let other = EncodingKey::from_rsa_pem(OTHER_KEY_PEM.as_bytes()).map_err(key_error)?;
        let mut jwk = Jwk::from_encoding_key(&signing, Algorithm::RS256).map_err(key_error)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(key_error)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwks = serde_json::to_value(JwkSet { keys: vec![jwk] })
            .map_err(|e| SimError::Oidc(format!("cannot write the JWKS: {e}")))?;
        Ok(OidcState {
            keys: Keys {
                signing,
                other,
                kid,
                jwks,
            },
            inner: Mutex::new(Inner {
                users: default_users(),
                fault: None,
                redirect_uris: Vec::new(),
                codes: HashMap::new(),
                redeemed: HashSet::new(),
                user_tokens: HashMap::new(),
                member_objects_fault: None,
            }),
        })
    }

    pub(crate) fn users(&self) -> Vec<SimUser> {
        lock(&self.inner).users.clone()
    }

    pub(crate) fn set_users(&self, users: Vec<SimUser>) -> Result<(), SimError> {
        let users = users
            .into_iter()
            .map(SimUser::checked)
            .collect::<Result<Vec<_>, _>>()?;
        lock(&self.inner).users = users;
        Ok(())
    }

    pub(crate) fn fault(&self) -> Option<IdTokenFault> {
        lock(&self.inner).fault
    }

    pub(crate) fn set_fault(&self, fault: Option<IdTokenFault>) {
        lock(&self.inner).fault = fault;
    }

    pub(crate) fn member_objects_fault(&self) -> Option<MemberObjectsFault> {
        lock(&self.inner).member_objects_fault
    }

    pub(crate) fn set_member_objects_fault(&self, fault: Option<MemberObjectsFault>) {
        lock(&self.inner).member_objects_fault = fault;
    }

    /// Makes every delegated access token issued so far expired.
    pub(crate) fn expire_user_tokens(&self) {
        let now = Instant::now();
        for token in lock(&self.inner).user_tokens.values_mut() {
            token.expires = token.expires.min(now);
        }
    }

    pub(crate) fn redirect_uris(&self) -> Vec<String> {
        lock(&self.inner).redirect_uris.clone()
    }

    pub(crate) fn set_redirect_uris(&self, uris: Vec<String>) -> Result<(), SimError> {
        for u in &uris {
            url::Url::parse(u)
                .map_err(|e| SimError::Oidc(format!("redirect URI `{u}` is not a URL: {e}")))?;
        }
        lock(&self.inner).redirect_uris = uris;
        Ok(())
    }

    /// Whether `uri` is one of the app's redirect URIs: registered, or
    /// (none registered) a loopback `http` URI. The authorization and the
    /// admin consent endpoints both check it.
    pub(crate) fn redirect_allowed(&self, uri: &str) -> bool {
        redirect_allowed(&lock(&self.inner), uri)
    }

    /// The `kid` of the published signing key.
    pub(crate) fn kid(&self) -> &str {
        &self.keys.kid
    }
}

/// `{base}{tenant guid}/v2.0`: the issuer of a tenant's ID tokens, as
/// Entra's v2.0 endpoint writes it (always the directory id, however the
/// tenant was named in the URL).
pub(crate) fn issuer(base: &str, tenant_guid: &str) -> String {
    format!("{base}{tenant_guid}/v2.0")
}

/// The tenant named in the path, or Entra's AADSTS90002 (`invalid_tenant`
/// from discovery and the keys, `invalid_request` from the token endpoint).
fn tenant(shared: &Shared, key: &str) -> Result<usize, EntraError> {
    tenant_or(shared, key, "invalid_tenant")
}

fn tenant_or(shared: &Shared, key: &str, error: &'static str) -> Result<usize, EntraError> {
    shared
        .resolve(key)
        .filter(|&t| shared.mode(t) != TenantMode::NotFound)
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                error,
                90002,
                format!(
                    "Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            )
        })
}

pub(crate) fn tagged(shared: &Shared, t: Option<usize>, mut response: Response) -> Response {
    if let Some(t) = t {
        response
            .extensions_mut()
            .insert(TenantTag(shared.tenants[t].name.clone()));
    }
    response
}

pub(crate) fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn discovery(
    State(shared): State<Arc<Shared>>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let t = match tenant(&shared, &tenant_key) {
        Ok(t) => t,
        Err(e) => return entra_response(&shared, &headers, e),
    };
    let base = request_base(&shared, &headers);
    let guid = &shared.tenants[t].guid;
    let body = json!({
        "issuer": issuer(&base, guid),
        "authorization_endpoint": format!("{base}{guid}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}{guid}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}{guid}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "name",
            "preferred_username", "email", "oid", "tid", "roles", "groups", "ver"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    });
    tagged(&shared, Some(t), axum::Json(body).into_response())
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub(crate) async fn keys(
    State(shared): State<Arc<Shared>>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
) -> Response {
    match tenant(&shared, &tenant_key) {
        Ok(t) => tagged(
            &shared,
            Some(t),
            axum::Json(shared.oidc.keys.jwks.clone()).into_response(),
        ),
        Err(e) => entra_response(&shared, &headers, e),
    }
}

/// The first value of each query parameter.
pub(crate) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    if let Some(raw) = raw {
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    map
}

/// Whether `uri` may receive codes: registered, or (none registered) a
/// loopback `http` URI.
fn redirect_allowed(inner: &Inner, uri: &str) -> bool {
    if !inner.redirect_uris.is_empty() {
        return inner.redirect_uris.iter().any(|r| r == uri);
    }
    url::Url::parse(uri).is_ok_and(|u| {
        let loopback = match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        u.scheme() == "http" && loopback && u.fragment().is_none()
    })
}

/// AADSTS50011: `redirect_uri` is not one of the app's.
pub(crate) fn redirect_mismatch(redirect_uri: &str) -> EntraError {
    fail(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        50011,
        format!(
            "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{SIM_CLIENT_ID}'."
        ),
    )
}

/// A `302` to the client's redirect URI with these parameters (and `state`
/// as sent, if any).
pub(crate) fn redirect_to(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => {
            return (StatusCode::BAD_REQUEST, "the redirect URI is not a URL").into_response();
        }
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    no_store(response)
}

/// An error sent back to the client's redirect URI, as Entra does once the
/// redirect URI is known to be the app's.
pub(crate) fn redirect_error(
    redirect_uri: &str,
    error: &str,
    code: u32,
    description: &str,
    state: Option<&str>,
) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let description = format!("AADSTS{code}: {description} Trace ID: {trace_id}");
    redirect_to(
        redirect_uri,
        &[("error", error), ("error_description", &description)],
        state,
    )
}

fn random_token(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// Whether `s` is a PKCE code verifier or S256 challenge's alphabet and
/// length (43 to 128 unreserved characters).
fn pkce_text(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: checks the request, "signs in"
/// the user `login_hint` names (or the first simulated user) and redirects
/// to `redirect_uri` with a single-use `code` and the `state` as sent.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_map(raw.as_deref());
    let t = match tenant(&shared, &tenant_key) {
        Ok(t) => t,
        Err(e) => return entra_response(&shared, &headers, e),
    };
    // errors before the redirect URI is known to be the app's are shown to
    // the user (here: answered), never sent to the redirect URI
    let page = |e: EntraError| tagged(&shared, Some(t), entra_response(&shared, &headers, e));
    let Some(client_id) = q.get("client_id") else {
        return page(missing("client_id"));
    };
    if !client_id.eq_ignore_ascii_case(SIM_CLIENT_ID) {
        return page(fail(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                shared.tenants[t].name
            ),
        ));
    }
    let Some(redirect_uri) = q.get("redirect_uri") else {
        return page(missing("redirect_uri"));
    };
    if !shared.oidc.redirect_allowed(redirect_uri) {
        return page(redirect_mismatch(redirect_uri));
    }
    let state = q.get("state").map(String::as_str);
    let back = |error: &str, code: u32, description: &str| {
        tagged(
            &shared,
            Some(t),
            redirect_error(redirect_uri, error, code, description, state),
        )
    };
    match q.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => {
            return back(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'response_type'.",
            );
        }
        Some(other) => {
            return back(
                "unsupported_response_type",
                700054,
                &format!(
                    "response_type '{other}' is not enabled for the application (the simulator supports 'code')."
                ),
            );
        }
    }
    if let Some(mode) = q.get("response_mode")
        && mode != "query"
    {
        return back(
            "invalid_request",
            900144,
            &format!("response_mode '{mode}' is not supported by the simulator; use 'query'."),
        );
    }
    let scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    if !scopes.contains(&"openid") {
        return back(
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid: an OpenID Connect sign-in needs the 'openid' scope.",
        );
    }
    let Some(challenge) = q.get("code_challenge") else {
        return back(
            "invalid_request",
            9002325,
            "Proof Key for Code Exchange is required: send code_challenge with code_challenge_method S256.",
        );
    };
    match q.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        Some(method) => {
            return back(
                "invalid_request",
                5000,
                &format!("code_challenge_method '{method}' is not accepted: only S256 is."),
            );
        }
        None => {
            return back(
                "invalid_request",
                5000,
                "code_challenge_method is missing: the 'plain' default is not accepted, send S256.",
            );
        }
    }
    if challenge.len() != 43 || !pkce_text(challenge) {
        return back(
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter: an S256 challenge is 43 base64url characters.",
        );
    }
    let hint = q
        .get("login_hint")
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty());
    let user = {
        let inner = lock(&shared.oidc.inner);
        match &hint {
            Some(hint) => inner
                .users
                .iter()
                .find(|u| {
                    u.username.eq_ignore_ascii_case(hint)
                        || (!u.email.is_empty() && u.email.eq_ignore_ascii_case(hint))
                        || u.oid == *hint
                })
                .cloned(),
            None => inner.users.first().cloned(),
        }
    };
    let Some(user) = user else {
        return back(
            "access_denied",
            50034,
            &format!(
                "The user account {} does not exist in the '{}' directory.",
                hint.as_deref().unwrap_or("(none: no simulated users)"),
                shared.tenants[t].guid
            ),
        );
    };
    let code = random_token("sim-code.");
    {
        let mut inner = lock(&shared.oidc.inner);
        if inner.codes.len() >= 1024 {
            inner
                .codes
                .retain(|_, c| c.issued.elapsed() < CODE_LIFETIME);
        }
        if inner.redeemed.len() >= 4096 {
            inner.redeemed.clear();
        }
        inner.codes.insert(
            code.clone(),
            IssuedCode {
                tenant: t,
                client_id: client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                challenge: challenge.clone(),
                nonce: q.get("nonce").cloned(),
                scope: scopes.join(" "),
                user,
                issued: Instant::now(),
            },
        );
    }
    let session_state = uuid::Uuid::new_v4().to_string();
    tagged(
        &shared,
        Some(t),
        redirect_to(
            redirect_uri,
            &[("code", &code), ("session_state", &session_state)],
            state,
        ),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`: the `authorization_code` grant here,
/// everything else (client credentials) in `auth`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form(&headers, &body);
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return super::auth::token(State(shared), Path(tenant_key), headers, body).await;
    }
    let t = shared.resolve(&tenant_key);
    let response = match redeem(&shared, &tenant_key, &headers, &form) {
        Ok(body) => no_store((StatusCode::OK, axum::Json(body)).into_response()),
        Err(e) => {
            tracing::debug!(tenant = %tenant_key, code = e.code, "authorization code refused");
            entra_response(&shared, &headers, e)
        }
    };
    tagged(&shared, t, response)
}

/// A form body's first value of each field (none unless the content type
/// is a form).
fn form(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let mut form = HashMap::new();
    if is_form {
        for (k, v) in url::form_urlencoded::parse(body) {
            form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    form
}

fn invalid_grant(code: u32, description: impl Into<String>) -> EntraError {
    fail(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        code,
        description.into(),
    )
}

/// Checks an `authorization_code` redemption and returns the token
/// response.
fn redeem(
    shared: &Shared,
    tenant_key: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Value, EntraError> {
    let t = tenant_or(shared, tenant_key, "invalid_request")?;
    let basic = basic_credentials(headers);
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
        .ok_or_else(|| missing("client_id"))?;
    if !client_id.eq_ignore_ascii_case(SIM_CLIENT_ID) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                shared.tenants[t].name
            ),
        ));
    }
    if form.contains_key("client_assertion") {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            9002313,
            "Invalid request: the simulator redeems authorization codes with a client secret only."
                .to_owned(),
        ));
    }
    let Some(secret) = form.get("client_secret").cloned().or(basic.map(|b| b.1)) else {
        return Err(invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".to_owned(),
        ));
    };
    if shared.mode(t) == TenantMode::BadSecret || secret != SIM_CLIENT_SECRET {
        return Err(invalid_client(
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{SIM_CLIENT_ID}'."
            ),
        ));
    }
    let code = form.get("code").ok_or_else(|| missing("code"))?;
    let redirect_uri = form
        .get("redirect_uri")
        .ok_or_else(|| missing("redirect_uri"))?;
    // a code is gone after one redemption attempt, right or wrong
    let issued = {
        let mut inner = lock(&shared.oidc.inner);
        let issued = inner.codes.remove(code);
        if issued.is_some() {
            inner.redeemed.insert(code.clone());
        } else if inner.redeemed.contains(code) {
            return Err(invalid_grant(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ));
        }
        issued
    };
    let Some(issued) = issued else {
        return Err(invalid_grant(
            9002313,
            "Invalid request. Request is malformed or invalid: the authorization code is unknown.",
        ));
    };
    if issued.issued.elapsed() >= CODE_LIFETIME {
        return Err(invalid_grant(
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        ));
    }
    if issued.tenant != t || !issued.client_id.eq_ignore_ascii_case(&client_id) {
        return Err(invalid_grant(
            70000,
            "The provided value for the 'code' parameter is not valid: it was issued to another tenant or application.",
        ));
    }
    if issued.redirect_uri != *redirect_uri {
        return Err(invalid_grant(
            500112,
            format!(
                "The reply address '{redirect_uri}' does not match the reply address '{}' provided when requesting the authorization code.",
                issued.redirect_uri
            ),
        ));
    }
    let Some(verifier) = form.get("code_verifier") else {
        return Err(missing("code_verifier"));
    };
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if !pkce_text(verifier) || computed != issued.challenge {
        return Err(invalid_grant(
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        ));
    }
    let base = request_base(shared, headers);
    let fault = lock(&shared.oidc.inner).fault.take();
    let id_token = id_token(shared, t, &base, &issued, fault)?;
    let access_token = random_token("sim-user.");
    {
        let mut inner = lock(&shared.oidc.inner);
        if inner.user_tokens.len() >= 4096 {
            let now = Instant::now();
            inner.user_tokens.retain(|_, u| u.expires > now);
        }
        inner.user_tokens.insert(
            access_token.clone(),
            UserToken {
                tenant: t,
                oid: issued.user.oid.clone(),
                scopes: issued.scope.split(' ').map(str::to_owned).collect(),
                expires: Instant::now() + Duration::from_secs(ID_TOKEN_LIFETIME_SECS as u64),
            },
        );
    }
    Ok(json!({
        "token_type": "Bearer",
        "scope": issued.scope,
        "expires_in": ID_TOKEN_LIFETIME_SECS - 1,
        "ext_expires_in": ID_TOKEN_LIFETIME_SECS - 1,
        "access_token": access_token,
        "id_token": id_token,
    }))
}

/// The ID token for a redeemed code, with `fault` if one was set.
fn id_token(
    shared: &Shared,
    t: usize,
    base: &str,
    issued: &IssuedCode,
    fault: Option<IdTokenFault>,
) -> Result<String, EntraError> {
    let tenant = &shared.tenants[t];
    let user = &issued.user;
    let now = unix_now();
    let (iat, exp) = match fault {
        Some(IdTokenFault::Expired) => (now - 7200, now - 3600),
        Some(IdTokenFault::NotYetValid) => (now + 3600, now + 3600 + ID_TOKEN_LIFETIME_SECS),
        _ => (now, now + ID_TOKEN_LIFETIME_SECS),
    };
    // Entra's `sub` is pairwise: per user and app
    let sub = URL_SAFE_NO_PAD.encode(Sha256::digest(
        format!("{}|{}", user.oid, issued.client_id).as_bytes(),
    ));
    let mut claims = json!({
        "aud": if fault == Some(IdTokenFault::WrongAudience) { OTHER_CLIENT_ID } else { SIM_CLIENT_ID },
        "iss": if fault == Some(IdTokenFault::WrongIssuer) {
            format!("https://sts.windows.net/{}/", tenant.guid)
        } else {
            issuer(base, &tenant.guid)
        },
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "name": user.name,
        "oid": user.oid,
        "preferred_username": user.username,
        "sub": sub,
        "tid": tenant.guid,
        "ver": "2.0",
    });
    let map = claims.as_object_mut().expect("a JSON object");
    match (&issued.nonce, fault) {
        (_, Some(IdTokenFault::WrongNonce)) => {
            map.insert("nonce".into(), json!("not-the-nonce-you-sent"));
        }
        (Some(n), _) => {
            map.insert("nonce".into(), json!(n));
        }
        (None, _) => {}
    }
    if !user.email.is_empty() {
        map.insert("email".into(), json!(user.email));
    }
    if !user.roles.is_empty() {
        map.insert("roles".into(), json!(user.roles));
    }
    if user.groups.len() > GROUPS_OVERAGE_LIMIT {
        // Entra's overage claims: the groups are to be read elsewhere
        map.insert("_claim_names".into(), json!({"groups": "src1"}));
        map.insert(
            "_claim_sources".into(),
            json!({"src1": {"endpoint": format!(
                "https://graph.windows.net/{}/users/{}/getMemberObjects",
                tenant.guid, user.oid
            )}}),
        );
    } else if !user.groups.is_empty() {
        map.insert("groups".into(), json!(user.groups));
    }
    let keys = &shared.oidc.keys;
    let (key, kid) = match fault {
        Some(IdTokenFault::BadSignature) => (&keys.other, keys.kid.as_str()),
        Some(IdTokenFault::UnknownKey) => (&keys.other, UNKNOWN_KID),
        _ => (&keys.signing, keys.kid.as_str()),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("JWT".to_owned());
    jsonwebtoken::encode(&header, &claims, key).map_err(|e| {
        tracing::error!("cannot sign an ID token: {e}");
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            "There was an error issuing a token.".to_owned(),
        )
    })
}

// ------------------------------------------------------- Graph: the user

/// `POST /v1.0/me/getMemberObjects {"securityEnabledOnly": false}` with a
/// delegated access token of the `authorization_code` grant: the ids of
/// the signed-in user's groups (all of them, whatever
/// `securityEnabledOnly` says; transitive membership is not modelled
/// either: the user's `groups` are the answer). Missing, unknown or
/// expired token: 401 `InvalidAuthenticationToken`; a token without
/// `User.Read`: 403 `Authorization_RequestDenied`; a body without a
/// boolean `securityEnabledOnly`: 400 `Request_BadRequest`.
pub(crate) async fn member_objects(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let meta = Meta::new(&headers);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let unauthorized = |message: &str| {
        graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
            &meta,
        )
    };
    let Some(bearer) = bearer else {
        return unauthorized("Access token is empty.");
    };
    let (t, oid, user_read, fault) = {
        let mut inner = lock(&shared.oidc.inner);
        let Some(token) = inner.user_tokens.get(bearer) else {
            return unauthorized(
                "Invalid JWT token. The token is malformed or not issued to this resource.",
            );
        };
        if token.expires <= Instant::now() {
            return unauthorized("Lifetime validation failed, the token is expired.");
        }
        let (t, oid, user_read) = (token.tenant, token.oid.clone(), token.has_user_read());
        let fault = if user_read {
            inner.member_objects_fault.take()
        } else {
            None
        };
        (t, oid, user_read, fault)
    };
    let tag = |response: Response| tagged(&shared, Some(t), response);
    // without User.Read, or refused on purpose, as when consent is missing
    if !user_read || fault == Some(MemberObjectsFault::Denied) {
        return tag(graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &meta,
        ));
    }
    match fault {
        Some(MemberObjectsFault::Unavailable) => {
            return tag(graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
                &meta,
            ));
        }
        Some(MemberObjectsFault::Malformed) => {
            let body = json!({"@odata.context": MEMBER_OBJECTS_CONTEXT, "value": [{"id": oid}]});
            return tag(json_response(
                StatusCode::OK,
                body.to_string().into_bytes(),
                &meta,
            ));
        }
        Some(MemberObjectsFault::Denied) | None => {}
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return tag(graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "The request body is not valid JSON.",
                &meta,
            ));
        }
    };
    if !request
        .get("securityEnabledOnly")
        .is_some_and(Value::is_boolean)
    {
        return tag(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Invalid request: the boolean parameter 'securityEnabledOnly' is required.",
            &meta,
        ));
    }
    let groups = lock(&shared.oidc.inner)
        .users
        .iter()
        .find(|u| u.oid == oid)
        .map(|u| u.groups.clone());
    let Some(groups) = groups else {
        return tag(graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{oid}' does not exist or one of its queried reference-property objects are not present."
            ),
            &meta,
        ));
    };
    let body = json!({"@odata.context": MEMBER_OBJECTS_CONTEXT, "value": groups});
    tag(json_response(
        StatusCode::OK,
        body.to_string().into_bytes(),
        &meta,
    ))
}

// ---------------------------------------------------------------- control

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// `GET /_sim/oidc`: the provider's settings, per tenant its authority.
pub(crate) async fn get_state(State(shared): State<Arc<Shared>>) -> Response {
    let o = &shared.oidc;
    let tenants: Vec<Value> = shared
        .tenants
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "tenant_id": t.guid,
                "issuer": issuer(&shared.base_url, &t.guid),
                "discovery": format!("{}/.well-known/openid-configuration", issuer(&shared.base_url, &t.guid)),
            })
        })
        .collect();
    axum::Json(json!({
        "client_id": SIM_CLIENT_ID,
        "client_secret": SIM_CLIENT_SECRET,
        "kid": o.kid(),
        "users": o.users(),
        "fault": o.fault(),
        "member_objects_fault": o.member_objects_fault(),
        "redirect_uris": o.redirect_uris(),
        "tenants": tenants,
    }))
    .into_response()
}

/// `PUT /_sim/oidc/users [{…}, …]`: replaces the simulated users.
pub(crate) async fn put_users(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let users: Vec<SimUser> = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    match shared.oidc.set_users(users) {
        Ok(()) => axum::Json(shared.oidc.users()).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    fault: Option<IdTokenFault>,
}

/// `PUT /_sim/oidc/fault {"fault": "expired"}` (or `null`): the fault of
/// the next ID token.
pub(crate) async fn put_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: FaultBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "bad request body: {e} (faults: wrong_audience, expired, not_yet_valid, wrong_nonce, bad_signature, unknown_key, wrong_issuer)"
                ),
            );
        }
    };
    shared.oidc.set_fault(body.fault);
    axum::Json(json!({"fault": body.fault})).into_response()
}

/// `PUT /_sim/oidc/redirect-uris ["https://…", …]`: the registered redirect
/// URIs (empty: any loopback `http` URI).
pub(crate) async fn put_redirect_uris(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let uris: Vec<String> = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    match shared.oidc.set_redirect_uris(uris) {
        Ok(()) => axum::Json(shared.oidc.redirect_uris()).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberObjectsFaultBody {
    fault: Option<MemberObjectsFault>,
}

/// `PUT /_sim/oidc/member-objects-fault {"fault": "denied"}` (or `null`):
/// the fault of the next `getMemberObjects` answer.
pub(crate) async fn put_member_objects_fault(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Response {
    let body: MemberObjectsFaultBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("bad request body: {e} (faults: denied, unavailable, malformed)"),
            );
        }
    };
    shared.oidc.set_member_objects_fault(body.fault);
    axum::Json(json!({"fault": body.fault})).into_response()
}
