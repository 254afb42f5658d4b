//! The Entra ID token endpoint (`POST /{tenant}/oauth2/v2.0/token`,
//! client-credentials grant), bearer-token checks for Graph, and each
//! tenant's consent to the app and the app roles it grants.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::Decode;

use super::{SIM_CLIENT_ID, SIM_CLIENT_SECRET, Shared, SimError, TenantMode, TenantTag, lock};

/// `client_assertion_type` of a JWT client assertion.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Tolerated clock difference for `exp` and `nbf` of client assertions.
const SKEW_SECS: i64 = 60;

const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// The certificate registered for the app: its SHA-256 thumbprint and RSA
/// public key.
pub(crate) struct RegisteredCert {
    /// base64url (no padding) of SHA-256 over the certificate's DER.
    pub thumbprint_s256: String,
    key: DecodingKey,
}

impl RegisteredCert {
    pub fn from_pem(pem: &str) -> Result<RegisteredCert, SimError> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let from = pem
            .find(BEGIN)
            .ok_or_else(|| SimError::Certificate("no PEM CERTIFICATE block".to_owned()))?;
        let to = pem[from..]
            .find(END)
            .map(|i| from + i + END.len())
            .ok_or_else(|| SimError::Certificate("the PEM block is not closed".to_owned()))?;
        let (_, der) = x509_cert::der::pem::decode_vec(&pem.as_bytes()[from..to])
            .map_err(|e| SimError::Certificate(format!("bad PEM: {e}")))?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| SimError::Certificate(format!("not an X.509 certificate: {e}")))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid.to_string() != RSA_ENCRYPTION_OID {
            return Err(SimError::Certificate(format!(
                "the key is not RSA (algorithm {})",
                spki.algorithm.oid
            )));
        }
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| SimError::Certificate("malformed public key".to_owned()))?;
        Ok(RegisteredCert {
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
            key: DecodingKey::from_rsa_der(key),
        })
    }
}

/// `http://{Host}/` when the request has a plausible Host header, else the
/// simulator's base URL.
pub(crate) fn request_base(shared: &Shared, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map_or_else(|| shared.base_url.clone(), |h| format!("http://{h}/"))
}

/// The `client-request-id` header, if any.
pub(crate) fn client_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("client-request-id")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
}

pub(crate) struct EntraError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    /// The text after `AADSTS{code}: `.
    pub(crate) description: String,
}

pub(crate) fn fail(
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
) -> EntraError {
    EntraError {
        status,
        error,
        code,
        description,
    }
}

pub(crate) fn invalid_client(code: u32, description: String) -> EntraError {
    fail(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

pub(crate) fn missing(parameter: &str) -> EntraError {
    fail(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{parameter}'."),
    )
}

/// AADSTS700016, as Entra answers for an app that does not exist in the
/// tenant: another app's client id, or the simulator's app in a tenant
/// that has not consented to it (no service principal).
pub(crate) fn app_not_found(client_id: &str, tenant_name: &str) -> EntraError {
    fail(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

/// The Graph roots a `.default` scope may name: the simulator's base URL
/// and the one the request was sent to (its `Host`).
fn graph_roots(shared: &Shared, headers: &HeaderMap) -> [String; 2] {
    [shared.base_url.clone(), request_base(shared, headers)]
}

/// `scope` must be the simulator's Graph root's `.default`, else
/// AADSTS70011 `invalid_scope`.
pub(crate) fn check_default_scope(
    shared: &Shared,
    headers: &HeaderMap,
    scope: &str,
) -> Result<(), EntraError> {
    let scope_ok = graph_roots(shared, headers)
        .iter()
        .any(|b| scope.eq_ignore_ascii_case(&format!("{}/.default", b.trim_end_matches('/'))));
    if scope_ok {
        return Ok(());
    }
    Err(fail(
        StatusCode::BAD_REQUEST,
        "invalid_scope",
        70011,
        format!(
            "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. The simulator accepts only '{}/.default' (its Graph root, as a national cloud's Graph root).",
            shared.base_url.trim_end_matches('/')
        ),
    ))
}

/// The ids and time Entra writes on every error (its JSON body, its
/// error pages): a new trace id, the client's `client-request-id` as the
/// correlation id when it is a GUID (else a new one), and the time.
pub(crate) struct EntraTrace {
    pub trace_id: String,
    pub correlation_id: String,
    pub timestamp: String,
}

impl EntraTrace {
    pub(crate) fn new(headers: &HeaderMap) -> EntraTrace {
        EntraTrace {
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: client_request_id(headers)
                .filter(|c| uuid::Uuid::parse_str(c).is_ok())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            timestamp: OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default(),
        }
    }
}

pub(crate) fn entra_response(shared: &Shared, headers: &HeaderMap, e: EntraError) -> Response {
    let EntraTrace {
        trace_id,
        correlation_id,
        timestamp,
    } = EntraTrace::new(headers);
    let body = json!({
        "error": e.error,
        "error_description": format!(
            "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
            e.code, e.description
        ),
        "error_codes": [e.code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("{}error?code={}", shared.base_url, e.code),
    });
    let mut response = (e.status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn iso_secs(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// The numeric claim `name`, if present.
fn numeric_claim(claims: &Value, name: &str) -> Result<Option<i64>, EntraError> {
    match &claims[name] {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(malformed),
        _ => Err(malformed()),
    }
}

fn malformed() -> EntraError {
    invalid_client(50027, "JWT token is invalid or malformed.".to_owned())
}

/// Verifies a client assertion for `client_id` against the registered
/// certificate; `audiences` are the token endpoint URLs it may name.
fn verify_assertion(
    cert: &RegisteredCert,
    assertion: &str,
    client_id: &str,
    audiences: &[String],
    now: i64,
) -> Result<(), EntraError> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, payload, signature] = parts.as_slice() else {
        return Err(malformed());
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(malformed)?;
    let alg = match header["alg"].as_str() {
        Some("PS256") => Algorithm::PS256,
        Some("RS256") => Algorithm::RS256,
        Some(other) => {
            return Err(invalid_client(
                5002738,
                format!(
                    "Invalid JWT token. '{other}' is not a supported signature algorithm. Supported signing algorithms are: 'PS256, RS256'"
                ),
            ));
        }
        None => return Err(malformed()),
    };
    let Some(thumbprint) = header["x5t#S256"].as_str() else {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The key was not found: the assertion header has no 'x5t#S256' thumbprint of a certificate registered on app '{client_id}'.]"
            ),
        ));
    };
    if thumbprint != cert.thumbprint_s256 {
        return Err(invalid_client(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
            ),
        ));
    }
    let signed = format!("{head}.{payload}");
    let valid =
        jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &cert.key, alg).unwrap_or(false);
    if !valid {
        return Err(invalid_client(
            700027,
            "Client assertion failed signature validation.".to_owned(),
        ));
    }
    let claims: Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
        .ok_or_else(malformed)?;

    let aud_ok = |a: &str| audiences.iter().any(|x| x.eq_ignore_ascii_case(a));
    let aud_matches = match &claims["aud"] {
        Value::String(a) => aud_ok(a),
        Value::Array(list) => list.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    };
    if !aud_matches {
        return Err(invalid_client(
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .".to_owned(),
        ));
    }
    if claims["iss"].as_str() != Some(client_id) || claims["sub"].as_str() != Some(client_id) {
        return Err(invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .".to_owned(),
        ));
    }
    let Some(exp) = numeric_claim(&claims, "exp")? else {
        return Err(malformed());
    };
    let nbf = numeric_claim(&claims, "nbf")?;
    if exp + SKEW_SECS <= now || nbf.is_some_and(|n| n - SKEW_SECS > now) {
        return Err(invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
                iso_secs(now),
                nbf.map_or_else(|| "(not given)".to_owned(), iso_secs),
                iso_secs(exp)
            ),
        ));
    }
    Ok(())
}

/// `client_id` and `client_secret` from an HTTP Basic `Authorization`
/// header (RFC 6749 §2.3.1: each form-encoded, then base64).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unform = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unform(id), unform(secret)))
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let t = shared.resolve(&tenant_key);
    let mut response = match issue(&shared, &tenant_key, t, &headers, &body) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(tenant = %tenant_key, code = e.code, "token request refused");
            entra_response(&shared, &headers, e)
        }
    };
    if let Some(t) = t {
        response
            .extensions_mut()
            .insert(TenantTag(shared.tenants[t].name.clone()));
    }
    response
}

fn issue(
    shared: &Shared,
    tenant_key: &str,
    tenant: Option<usize>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, EntraError> {
    let not_found = || {
        fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    };
    let t = tenant.ok_or_else(not_found)?;
    let mode = shared.mode(t);
    if mode == TenantMode::NotFound {
        return Err(not_found());
    }

    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let mut form: HashMap<String, String> = HashMap::new();
    if is_form {
        for (k, v) in url::form_urlencoded::parse(body) {
            form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    let basic = basic_credentials(headers);

    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
        .ok_or_else(|| missing("client_id"))?;
    // without consent the tenant has no service principal of the app: to
    // Entra the app does not exist there
    let not_here = || app_not_found(&client_id, &shared.tenants[t].name);
    if !client_id.eq_ignore_ascii_case(SIM_CLIENT_ID) || !shared.app_roles.consented(t) {
        return Err(not_here());
    }
    let scope = form.get("scope").ok_or_else(|| missing("scope"))?;
    check_default_scope(shared, headers, scope)?;

    let secret = form
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|b| b.1));
    let assertion = form.get("client_assertion");
    match (secret, assertion) {
        (Some(_), Some(_)) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid: both 'client_secret' and 'client_assertion' were given.".to_owned(),
            ));
        }
        (None, None) => {
            return Err(invalid_client(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".to_owned(),
            ));
        }
        (Some(secret), None) => {
            if mode == TenantMode::BadSecret || secret != SIM_CLIENT_SECRET {
                return Err(invalid_client(
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{SIM_CLIENT_ID}'."
                    ),
                ));
            }
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    90014,
                    "The required field 'client_assertion_type' is missing from the credential. Ensure that you have all the necessary parameters for the login request.".to_owned(),
                ));
            }
            let audiences: Vec<String> = graph_roots(shared, headers)
                .iter()
                .map(|b| format!("{b}{tenant_key}/oauth2/v2.0/token"))
                .collect();
            verify_assertion(
                &shared.cert,
                assertion,
                SIM_CLIENT_ID,
                &audiences,
                unix_now(),
            )?;
        }
    }

    let lifetime = lock(&shared.control).faults.token_lifetime_secs;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let access_token = format!("sim.{}", URL_SAFE_NO_PAD.encode(raw));
    {
        let now = Instant::now();
        let mut tokens = lock(&shared.tokens);
        // the `roles` of a real app token: the app roles granted at issue
        // time. Read under the tokens lock: consent withdrawn meanwhile has
        // either refused this token here or will remove it with the others.
        let roles = Arc::new(shared.app_roles.token_roles(t).ok_or_else(not_here)?);
        if tokens.len() >= 4096 && tokens.len().is_power_of_two() {
            tokens.retain(|_, v| v.expires > now);
        }
        tokens.insert(
            access_token.clone(),
            super::IssuedToken {
                tenant: t,
                expires: now + Duration::from_secs(lifetime),
                roles,
            },
        );
    }
    tracing::debug!(tenant = %shared.tenants[t].name, "token issued");
    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    Ok(response)
}

/// Why a bearer token was refused.
pub(crate) enum BearerError {
    Missing,
    Unknown,
    Expired,
}

/// The tenant a Graph request's bearer token was issued for, and the app
/// roles the token carries.
pub(crate) fn authenticate_app(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<(usize, Arc<BTreeSet<String>>), BearerError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(BearerError::Missing)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(BearerError::Missing)?;
    let tokens = lock(&shared.tokens);
    let issued = tokens.get(token).ok_or(BearerError::Unknown)?;
    if issued.expires <= Instant::now() {
        return Err(BearerError::Expired);
    }
    Ok((issued.tenant, Arc::clone(&issued.roles)))
}

/// Each tenant's consent to the simulator's app (whether the app's
/// service principal exists there) and the application permissions (app
/// roles, such as `Mail.Send`) it grants the app. A token carries the roles
/// of the moment it was issued, as Entra's `roles` claim does.
///
/// Admin consent grants the app's required permissions
/// ([`crate::SimConfig::app_roles`]), unless the tenant's roles were set by
/// hand ([`AppRoles::set`], [`AppRoles::grant`], [`AppRoles::revoke`]) since
/// consent was last withdrawn (or since start): those are kept. Withdrawing
/// consent empties the roles.
pub(crate) struct AppRoles {
    /// What admin consent grants.
    required: BTreeSet<String>,
    tenants: Mutex<Vec<Grant>>,
    /// The next admin consent request is declined.
    decline_next: AtomicBool,
}

#[derive(Clone)]
struct Grant {
    consented: bool,
    roles: BTreeSet<String>,
    /// The roles were set by hand since consent was last withdrawn.
    explicit: bool,
}

impl AppRoles {
    /// `tenants` tenants that have consented (with `required` granted) or,
    /// when `unconsented`, have not (no roles).
    pub fn new(tenants: usize, required: &[String], unconsented: bool) -> AppRoles {
        let required: BTreeSet<String> = required.iter().cloned().collect();
        let grant = Grant {
            consented: !unconsented,
            roles: if unconsented {
                BTreeSet::new()
            } else {
                required.clone()
            },
            explicit: false,
        };
        AppRoles {
            required,
            tenants: Mutex::new(vec![grant; tenants]),
            decline_next: AtomicBool::new(false),
        }
    }

    pub fn get(&self, t: usize) -> BTreeSet<String> {
        lock(&self.tenants)
            .get(t)
            .map(|g| g.roles.clone())
            .unwrap_or_default()
    }

    /// Whether tenant `t` has consented to the app.
    pub fn consented(&self, t: usize) -> bool {
        lock(&self.tenants).get(t).is_some_and(|g| g.consented)
    }

    /// The roles a token issued now carries, or `None` without consent.
    pub fn token_roles(&self, t: usize) -> Option<BTreeSet<String>> {
        lock(&self.tenants)
            .get(t)
            .filter(|g| g.consented)
            .map(|g| g.roles.clone())
    }

    fn edit(&self, t: usize, f: impl FnOnce(&mut BTreeSet<String>)) {
        if let Some(g) = lock(&self.tenants).get_mut(t) {
            f(&mut g.roles);
            g.explicit = true;
        }
    }

    pub fn grant(&self, t: usize, role: &str) {
        self.edit(t, |r| {
            r.insert(role.to_owned());
        });
    }

    pub fn revoke(&self, t: usize, role: &str) {
        self.edit(t, |r| {
            r.remove(role);
        });
    }

    pub fn set(&self, t: usize, roles: BTreeSet<String>) {
        self.edit(t, |r| *r = roles);
    }

    /// Grants consent (the required roles, unless set by hand since it was
    /// last withdrawn) or withdraws it (no roles). The caller forgets the
    /// tenant's tokens on withdrawal.
    pub fn set_consented(&self, t: usize, consented: bool) {
        if let Some(g) = lock(&self.tenants).get_mut(t) {
            if consented {
                if !g.explicit {
                    g.roles = self.required.clone();
                }
            } else {
                g.roles.clear();
                g.explicit = false;
            }
            g.consented = consented;
        }
    }

    /// Declines the next admin consent request.
    pub fn decline_next(&self) {
        self.decline_next.store(true, Ordering::SeqCst);
    }

    /// Whether this admin consent request is to be declined (once).
    pub fn take_decline(&self) -> bool {
        self.decline_next.swap(false, Ordering::SeqCst)
    }
}
