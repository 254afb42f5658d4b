//! OpenID Connect sign-in with Entra ID (or another provider): the relying
//! party's half of the authorization code flow with PKCE (S256).
//!
//! A sign-in starts at `GET /api/v1/session/oidc`: a random `state`, `nonce`
//! and PKCE verifier are made, the sign-in is stored in the database (so any
//! instance can finish it; single-use, 10 minutes), and the browser is sent
//! to the provider's authorization endpoint. The provider sends it back to
//! `GET /api/v1/session/oidc/callback` with a code, which is exchanged (with
//! the verifier and the client secret) for an ID token. The ID token's
//! signature is checked against the provider's published keys (JWKS, cached;
//! fetched again once when a token names a key not seen yet), then its
//! issuer, audience, lifetime (60 s leeway, against the server's clock) and
//! nonce. The person is found by their immutable id at the provider (`oid`,
//! else `sub`), never by a name; their role (and optionally their tenant
//! scope) comes from the `roles` and `groups` claims through `[oidc]`.
//!
//! Groups overage: Entra leaves `groups` out of the ID token of someone in
//! more than 200 groups and sends `_claim_names.groups` instead (pointing
//! at the retired Azure AD Graph, which is never called). When the
//! configuration maps groups, the sign-in asks for the delegated Graph
//! permission `User.Read` too, and for such a person the groups are read
//! with the access token of the same code redemption from Microsoft
//! Graph's `POST {graph_url}me/getMemberObjects` ([`Oidc::member_groups`]),
//! then used as the `groups` claim would have been. The access token is
//! kept in memory for that one call only: never logged, never stored.
//!
//! Why `jsonwebtoken` and not the `openidconnect` crate: `openidconnect`
//! would bring `oauth2`, `chrono`, `serde_with` and its own RSA/ECDSA stack,
//! and reqwest 0.13 only through a hand-written adapter of its HTTP client
//! trait; `jsonwebtoken` (already used by the Graph client and the
//! simulator) verifies RS256 with a `JwkSet`, and the rest of the flow is a
//! few well-specified requests over the workspace's reqwest (rustls with
//! ring). Codes, tokens, the client secret and the verifier are never
//! logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use changedesk_core::Timestamp;
use changedesk_core::config::OidcConfig;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

/// The callback's path below `[oidc] public_url`: the redirect URI to
/// register at the provider.
pub const CALLBACK_PATH: &str = "api/v1/session/oidc/callback";

/// How long a sign-in may take between the redirect and the answer.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// Tolerated clock difference for `exp`, `nbf` and `iat`.
const LEEWAY_SECS: i64 = 60;

/// Discovery is fetched again after this long.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The keys are fetched again after this long (and whenever an ID token
/// names a key not among them).
const KEYS_TTL: Duration = Duration::from_secs(24 * 3600);

/// The most pages of `getMemberObjects` followed (`@odata.nextLink`).
const MAX_MEMBER_PAGES: usize = 50;

/// What a refusal by Graph of the group read tells an administrator.
const USER_READ_HINT: &str = "the app registration needs the delegated Microsoft Graph permission User.Read, with consent; ask an administrator of your directory";

/// Why a sign-in failed: the answer's status and message, and a short
/// reason for the audit log.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub detail: String,
    pub reason: &'static str,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal {
            status,
            detail: detail.into(),
            reason,
        }
    }

    fn provider(reason: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_GATEWAY, reason, detail)
    }

    fn token(reason: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, reason, detail)
    }
}

/// A finished sign-in: the checked ID token's claims, and the access token
/// of the same redemption (for Graph when the groups did not fit in the ID
/// token). `Debug` does not show the token.
#[derive(Debug)]
pub struct Finished {
    pub claims: IdClaims,
    pub access_token: Option<SecretString>,
}

/// The provider's discovery document, as far as it is used.
#[derive(Debug, Clone, Deserialize)]
struct RawDiscovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// The discovery document, checked.
#[derive(Debug, Clone)]
struct Discovery {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
}

/// The claims of an ID token that are used.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub aud: Audience,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    pub sub: String,
    /// Entra's object id of the person: immutable, the same in every app.
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// App roles assigned to the person.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group object ids (absent when there are too many: see
    /// `groups_overage`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Entra sends `_claim_names.groups` instead of `groups` when someone
    /// is in too many groups for a token.
    #[serde(default, rename = "_claim_names")]
    pub claim_names: Option<Value>,
}

impl IdClaims {
    /// The person's immutable id at the provider: `oid` (Entra), else
    /// `sub`.
    pub fn subject(&self) -> &str {
        self.oid
            .as_deref()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or(&self.sub)
    }

    /// Whether the groups did not fit in the token.
    pub fn groups_overage(&self) -> bool {
        self.claim_names
            .as_ref()
            .is_some_and(|c| c.get("groups").is_some())
    }
}

/// One page of a `getMemberObjects` answer.
#[derive(Deserialize)]
struct MemberPage {
    value: Vec<String>,
    #[serde(default, rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, id: &str) -> bool {
        match self {
            Audience::One(a) => a.eq_ignore_ascii_case(id),
            Audience::Many(list) => list.iter().any(|a| a.eq_ignore_ascii_case(id)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(list) => list.len(),
        }
    }
}

/// A sign-in's secrets, made at its start.
pub struct Started {
    /// Sent to the provider and back; its SHA-256 keys the stored sign-in.
    pub state: String,
    pub nonce: String,
    /// The PKCE verifier masked with a key derived from `state`: what the
    /// database keeps.
    pub masked_verifier: String,
    /// Where to send the browser.
    pub authorize_url: Url,
}

/// The relying party: configuration, HTTP client and cached provider
/// metadata and keys.
pub struct Oidc {
    config: OidcConfig,
    secret: SecretString,
    redirect_uri: Url,
    http: reqwest::Client,
    discovery: tokio::sync::Mutex<Option<(Arc<Discovery>, Instant)>>,
    keys: tokio::sync::Mutex<Option<(Arc<JwkSet>, Instant)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.config.issuer.as_str())
            .field("client_id", &self.config.client_id)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// The relying party for a loaded `[oidc]` configuration (its client
    /// secret read). Installs ring as rustls' crypto provider if none is.
    pub fn new(config: OidcConfig) -> Result<Oidc, String> {
        let secret = config.client_secret.clone().ok_or_else(|| {
            "[oidc] client_secret_file has not been read (load the configuration, not check it)"
                .to_string()
        })?;
        let redirect_uri = config
            .public_url
            .join(CALLBACK_PATH)
            .map_err(|e| format!("[oidc] public_url: cannot form the redirect URI: {e}"))?;
        // an already installed provider is fine
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("changedesk/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(10))
            // a redirect could carry the code or the secret elsewhere
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the OpenID Connect HTTP client: {e}"))?;
        Ok(Oidc {
            config,
            secret,
            redirect_uri,
            http,
            discovery: tokio::sync::Mutex::new(None),
            keys: tokio::sync::Mutex::new(None),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The redirect URI registered at the provider.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The provider's metadata, fetched at first use and again after an
    /// hour (or after a failure).
    async fn discovery(&self) -> Result<Arc<Discovery>, Refusal> {
        let mut cached = self.discovery.lock().await;
        if let Some((d, at)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.as_str().trim_end_matches('/')
        );
        let raw: RawDiscovery = self.get_json(&url, "discovery document").await?;
        let doc = Arc::new(self.check_discovery(raw)?);
        *cached = Some((doc.clone(), Instant::now()));
        Ok(doc)
    }

    /// The document's issuer must be on the configured issuer's host (Entra
    /// names the directory by id there even when the configuration names it
    /// by domain), and its endpoints must use TLS unless the configured
    /// issuer itself is plain HTTP on loopback (the simulator).
    fn check_discovery(&self, doc: RawDiscovery) -> Result<Discovery, Refusal> {
        let bad = |detail: String| Refusal::provider("bad discovery", detail);
        let configured = &self.config.issuer;
        let issuer = Url::parse(&doc.issuer).map_err(|_| {
            bad("the provider's discovery document names no valid issuer".to_string())
        })?;
        if issuer.origin() != configured.origin() {
            return Err(bad(format!(
                "the provider's discovery document names the issuer {}, which is not on {}",
                doc.issuer,
                configured.origin().ascii_serialization()
            )));
        }
        let plain_ok = configured.scheme() == "http";
        let endpoint = |what: &str, text: &str| {
            let url =
                Url::parse(text).map_err(|_| bad(format!("the provider's {what} is not a URL")))?;
            if url.scheme() == "https" || (plain_ok && url.scheme() == "http") {
                Ok(url)
            } else {
                Err(bad(format!("the provider's {what} is not an https:// URL")))
            }
        };
        if let Some(methods) = &doc.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(bad(
                "the provider does not support PKCE with S256".to_string()
            ));
        }
        Ok(Discovery {
            authorization_endpoint: endpoint(
                "authorization_endpoint",
                &doc.authorization_endpoint,
            )?,
            token_endpoint: endpoint("token_endpoint", &doc.token_endpoint)?,
            jwks_uri: endpoint("jwks_uri", &doc.jwks_uri)?,
            issuer: doc.issuer,
        })
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, Refusal> {
        let response = self.http.get(url).send().await.map_err(|e| {
            tracing::warn!(error = %error_chain(&e), what, "cannot reach the OpenID Connect provider");
            Refusal::provider(
                "provider unreachable",
                format!("cannot reach the identity provider for its {what}; try again later"),
            )
        })?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(%status, what, "the OpenID Connect provider answered with an error");
            return Err(Refusal::provider(
                "provider error",
                format!("the identity provider answered {status} for its {what}"),
            ));
        }
        response.json::<T>().await.map_err(|e| {
            tracing::warn!(error = %error_chain(&e), what, "unusable answer from the OpenID Connect provider");
            Refusal::provider(
                "provider error",
                format!("the identity provider's {what} is not usable"),
            )
        })
    }

    /// Makes a sign-in's state, nonce and verifier, and the URL of the
    /// provider's authorization endpoint that starts it.
    pub async fn start(&self, login_hint: Option<&str>) -> Result<Started, Refusal> {
        let discovery = self.discovery().await?;
        let state = random_text();
        let nonce = random_text();
        let mut verifier = [0u8; 32];
        rand::rng().fill_bytes(&mut verifier);
        let challenge =
            URL_SAFE_NO_PAD.encode(Sha256::digest(URL_SAFE_NO_PAD.encode(verifier).as_bytes()));
        let masked_verifier = URL_SAFE_NO_PAD.encode(xor(&verifier, &mask(&state)));
        let mut url = discovery.authorization_endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.config.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", self.redirect_uri.as_str())
                .append_pair("response_mode", "query")
                .append_pair("scope", &self.config.sign_in_scope())
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint.map(str::trim).filter(|h| !h.is_empty()) {
                q.append_pair("login_hint", hint);
            }
        }
        Ok(Started {
            state,
            nonce,
            masked_verifier,
            authorize_url: url,
        })
    }

    /// Exchanges the code for an ID token (and an access token) and checks
    /// the ID token: signature, issuer, audience, lifetime at `now`, nonce.
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
        masked_verifier: &str,
        nonce: &str,
        now: &Timestamp,
    ) -> Result<Finished, Refusal> {
        let verifier = URL_SAFE_NO_PAD
            .decode(masked_verifier)
            .ok()
            .filter(|v| v.len() == 32)
            .map(|v| URL_SAFE_NO_PAD.encode(xor(&v, &mask(state))))
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "damaged sign-in",
                    "the stored sign-in is damaged; start again",
                )
            })?;
        let discovery = self.discovery().await?;
        let (id_token, access_token) = self.exchange(&discovery, code, &verifier).await?;
        let claims = self.validate(&discovery, &id_token, nonce, now).await?;
        Ok(Finished {
            claims,
            access_token,
        })
    }

    /// The ID token and, if the answer has one, the access token.
    async fn exchange(
        &self,
        discovery: &Discovery,
        code: &str,
        verifier: &str,
    ) -> Result<(String, Option<SecretString>), Refusal> {
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let response = self
            .http
            .post(discovery.token_endpoint.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %error_chain(&e), "cannot reach the OpenID Connect token endpoint");
                Refusal::provider(
                    "provider unreachable",
                    "cannot reach the identity provider to finish the sign-in; try again",
                )
            })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let error = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error");
            let code = body
                .get("error_codes")
                .and_then(|c| c.get(0))
                .and_then(Value::as_u64)
                .map(|c| format!(", AADSTS{c}"))
                .unwrap_or_default();
            tracing::warn!(%status, error, code = %code, "the OpenID Connect provider refused the code");
            let (status, reason) = if error == "invalid_client" {
                // our secret: not the person's fault
                (StatusCode::BAD_GATEWAY, "client refused")
            } else {
                (StatusCode::UNAUTHORIZED, "code refused")
            };
            return Err(Refusal::new(
                status,
                reason,
                format!(
                    "the identity provider refused to finish the sign-in ({error}{code}); start again"
                ),
            ));
        }
        let id_token = body
            .get("id_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Refusal::provider(
                    "no ID token",
                    "the identity provider's answer holds no ID token",
                )
            })?;
        let access_token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| SecretString::from(t.to_owned()));
        Ok((id_token, access_token))
    }

    /// The signed-in person's groups, read from Microsoft Graph with the
    /// access token of their sign-in: `POST {graph_url}me/getMemberObjects`
    /// with `{"securityEnabledOnly": false}` (every group, directory role
    /// and administrative unit they are a member of, transitively), following
    /// `@odata.nextLink` on the same host up to 50 pages (`MAX_MEMBER_PAGES`).
    /// For someone whose ID token has the groups overage claim.
    pub async fn member_groups(
        &self,
        access_token: Option<&SecretString>,
    ) -> Result<Vec<String>, Refusal> {
        let Some(graph) = self.config.graph_url.as_ref() else {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "groups overage without graph_url",
                "you are in too many groups for the token to list them, and changedesk does not know where Microsoft Graph is for this identity provider: ask an administrator to set [oidc] graph_url",
            ));
        };
        let Some(token) = access_token else {
            return Err(Refusal::provider(
                "no access token",
                "you are in too many groups for the token to list them, and the identity provider's answer holds no access token to read them from Microsoft Graph",
            ));
        };
        let first = graph.join("me/getMemberObjects").map_err(|_| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "bad graph_url",
                "[oidc] graph_url cannot be joined with me/getMemberObjects",
            )
        })?;
        let mut groups = Vec::new();
        let mut next: Option<Url> = None;
        for _ in 0..MAX_MEMBER_PAGES {
            let request = match &next {
                None => self
                    .http
                    .post(first.clone())
                    .json(&serde_json::json!({"securityEnabledOnly": false})),
                Some(url) => self.http.get(url.clone()),
            };
            let page = self.member_page(request, token).await?;
            groups.extend(page.value);
            match page.next_link {
                None => return Ok(groups),
                Some(link) => {
                    // opaque, but the token goes nowhere else than Graph
                    let url = Url::parse(&link)
                        .ok()
                        .filter(|u| u.origin() == graph.origin())
                        .ok_or_else(|| {
                            tracing::warn!("Microsoft Graph's next link for the groups is not on its own host");
                            Refusal::provider(
                                "graph error",
                                "Microsoft Graph's list of your groups is not usable (its next page is elsewhere)",
                            )
                        })?;
                    next = Some(url);
                }
            }
        }
        tracing::warn!(
            pages = MAX_MEMBER_PAGES,
            "Microsoft Graph's list of groups did not end"
        );
        Err(Refusal::provider(
            "graph error",
            format!(
                "Microsoft Graph's list of your groups did not end after {MAX_MEMBER_PAGES} pages"
            ),
        ))
    }

    /// One page of `getMemberObjects`.
    async fn member_page(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
    ) -> Result<MemberPage, Refusal> {
        let response = request
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %error_chain(&e), "cannot reach Microsoft Graph for a person's groups");
                Refusal::provider(
                    "graph unreachable",
                    "cannot reach Microsoft Graph to read your groups; try again",
                )
            })?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let code: String = body
                .pointer("/error/code")
                .unwrap_or(&Value::Null)
                .as_str()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect();
            let message: String = body
                .pointer("/error/message")
                .unwrap_or(&Value::Null)
                .as_str()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            tracing::warn!(%status, code = %code, message = %message, "Microsoft Graph refused to list a person's groups");
            let code = if code.is_empty() {
                String::new()
            } else {
                format!(" {code}")
            };
            return Err(
                if status == reqwest::StatusCode::UNAUTHORIZED
                    || status == reqwest::StatusCode::FORBIDDEN
                {
                    Refusal::provider(
                        "graph refused",
                        format!(
                            "Microsoft Graph refused to list your groups ({}{code}): {USER_READ_HINT}",
                            status.as_u16()
                        ),
                    )
                } else {
                    Refusal::provider(
                        "graph error",
                        format!(
                            "Microsoft Graph answered {}{code} when asked for your groups; try again",
                            status.as_u16()
                        ),
                    )
                },
            );
        }
        response.json::<MemberPage>().await.map_err(|e| {
            tracing::warn!(error = %error_chain(&e), "unusable list of groups from Microsoft Graph");
            Refusal::provider(
                "graph error",
                "Microsoft Graph's list of your groups is not usable",
            )
        })
    }

    /// The key an ID token names, from the cached keys; fetched again once
    /// when the key is not among them (the provider rotated its keys).
    async fn key(&self, discovery: &Discovery, kid: Option<&str>) -> Result<DecodingKey, Refusal> {
        let mut cached = self.keys.lock().await;
        let mut fetched = false;
        if cached
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= KEYS_TTL)
        {
            *cached = Some((Arc::new(self.fetch_keys(discovery).await?), Instant::now()));
            fetched = true;
        }
        loop {
            let set = cached
                .as_ref()
                .map(|(set, _)| set.clone())
                .unwrap_or_default();
            let found = match kid {
                Some(kid) => set.find(kid),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            if let Some(jwk) = found {
                return DecodingKey::from_jwk(jwk).map_err(|_| {
                    Refusal::provider(
                        "bad key",
                        "the identity provider publishes a signing key that is not usable",
                    )
                });
            }
            if fetched {
                return Err(Refusal::token(
                    "unknown signing key",
                    "the ID token is signed with a key the identity provider does not publish",
                ));
            }
            // not among the cached keys: the provider may have rotated them
            *cached = Some((Arc::new(self.fetch_keys(discovery).await?), Instant::now()));
            fetched = true;
        }
    }

    async fn fetch_keys(&self, discovery: &Discovery) -> Result<JwkSet, Refusal> {
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<Value>,
        }
        let raw: RawSet = self
            .get_json(discovery.jwks_uri.as_str(), "signing keys")
            .await?;
        // keys of kinds this client does not know are skipped, not fatal
        let keys: Vec<Jwk> = raw
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value(k).ok())
            .collect();
        Ok(JwkSet { keys })
    }

    async fn validate(
        &self,
        discovery: &Discovery,
        id_token: &str,
        nonce: &str,
        now: &Timestamp,
    ) -> Result<IdClaims, Refusal> {
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| {
            Refusal::token("malformed ID token", "the ID token is not a signed JWT")
        })?;
        if header.alg != Algorithm::RS256 {
            return Err(Refusal::token(
                "bad algorithm",
                format!(
                    "the ID token is signed with {:?}; only RS256 is accepted",
                    header.alg
                ),
            ));
        }
        let key = self.key(discovery, header.kid.as_deref()).await?;
        // the signature here; the claims below, against the server's clock
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &v)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => Refusal::token(
                    "bad signature",
                    "the ID token's signature does not verify with the identity provider's key",
                ),
                _ => Refusal::token(
                    "malformed ID token",
                    "the ID token lacks a claim it needs (iss, aud, exp, sub) or is malformed",
                ),
            })?
            .claims;
        if claims.iss != discovery.issuer {
            return Err(Refusal::token(
                "wrong issuer",
                format!(
                    "the ID token was issued by {}, not by the configured identity provider {}",
                    claims.iss, discovery.issuer
                ),
            ));
        }
        if !claims.aud.contains(&self.config.client_id)
            || (claims.aud.len() > 1
                && !claims
                    .azp
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&self.config.client_id)))
        {
            return Err(Refusal::token(
                "wrong audience",
                "the ID token is meant for another application (its audience is not this client id)",
            ));
        }
        let now = now.unix_seconds();
        if claims.exp + LEEWAY_SECS <= now {
            return Err(Refusal::token(
                "expired ID token",
                "the ID token has expired; check that this server's clock is right, then sign in again",
            ));
        }
        if claims.nbf.is_some_and(|n| n - LEEWAY_SECS > now)
            || claims.iat.is_some_and(|i| i - LEEWAY_SECS > now)
        {
            return Err(Refusal::token(
                "ID token not yet valid",
                "the ID token is not valid yet; check that this server's clock is right",
            ));
        }
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(Refusal::token(
                "wrong nonce",
                "the ID token does not belong to this sign-in (nonce mismatch); start again",
            ));
        }
        Ok(claims)
    }
}

/// 32 random bytes, URL-safe base64.
fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key that masks a sign-in's PKCE verifier in the database: SHA-256
/// of the state, which only the browser and the provider see.
fn mask(state: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"changedesk oidc pkce verifier\0")
        .chain_update(state.as_bytes())
        .finalize()
        .into()
}

fn xor(a: &[u8], b: &[u8; 32]) -> Vec<u8> {
    a.iter().zip(b.iter()).map(|(x, y)| x ^ y).collect()
}

/// The causes of a reqwest error, without its URL (which holds nothing
/// secret here, but the code is in no URL either way).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        if e.is_timeout() {
            "timed out".to_string()
        } else {
            "request failed".to_string()
        }
    } else {
        parts.join(": ")
    }
}

/// A return path after sign-in: a path on this server (`/…`), never another
/// site (`//host`, `/\host`, `https://…`), without control characters.
/// Empty: `/`.
pub fn safe_return_path(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Ok("/".to_string());
    }
    let refuse = || {
        Err("return_to must be a path on this server starting with a single `/` (such as /items?state=new)".to_string())
    };
    if s.len() > 2000 || !s.starts_with('/') || s.starts_with("//") || s.contains('\\') {
        return refuse();
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return refuse();
    }
    let base = Url::parse("http://changedesk.invalid/").map_err(|e| e.to_string())?;
    match base.join(s) {
        Ok(u) if u.origin() == base.origin() => Ok(s.to_string()),
        _ => refuse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_server() {
        assert_eq!(safe_return_path("").unwrap(), "/");
        for ok in [
            "/",
            "/items?state=new&x=%2F%2Fevil",
            "/posts/MC1#top",
            "/a/b/../c",
        ] {
            assert_eq!(safe_return_path(ok).unwrap(), ok);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "evil.example",
            "/ok\r\nSet-Cookie: x=y",
            "/\t/evil.example",
            "javascript:alert(1)",
            "",
        ]
        .into_iter()
        .filter(|b| !b.is_empty())
        {
            assert!(safe_return_path(bad).is_err(), "{bad:?}");
        }
    }

    /// A relying party whose Graph is `graph` (a group is mapped).
    fn with_graph(graph: &str) -> Oidc {
        Oidc::new(OidcConfig {
            issuer: Url::parse("http://127.0.0.1:9/tenant/v2.0").unwrap(),
            client_id: "66666666-7777-8888-9999-aaaaaaaaaaaa".into(),
            client_secret_file: "/unused".into(),
            client_secret: Some(SecretString::from("secret".to_owned())),
            public_url: Url::parse("http://127.0.0.1:9/").unwrap(),
            allow_create: true,
            app_roles: vec![],
            groups: vec![(
                "bbbbbbbb-cccc-dddd-eeee-ffffffffffff".into(),
                changedesk_core::access::Role::Reader,
            )],
            group_scopes: vec![],
            graph_url: Some(Url::parse(graph).unwrap()),
        })
        .unwrap()
    }

    /// A Graph whose `getMemberObjects` answers `pages` pages of one group
    /// each, the last link of each page going to `next_host` (`None`:
    /// Graph's own); checks the bearer and the body.
    async fn paging_graph(pages: usize, next_host: Option<&'static str>) -> String {
        use axum::extract::{Query, State};
        use axum::http::HeaderMap;
        use axum::routing::{get, post};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let page = move |base: &str, n: usize| {
            let mut body = serde_json::json!({"value": [format!("group-{n}")]});
            if n + 1 < pages {
                let host = next_host
                    .map(|h| format!("http://{h}/"))
                    .unwrap_or(base.to_owned());
                body["@odata.nextLink"] = format!(
                    "{host}v1.0/me/getMemberObjects/next?$skiptoken=opaque{}",
                    n + 1
                )
                .into();
            }
            body
        };
        let authorized = |h: &HeaderMap| {
            h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer user-token")
        };
        let app = axum::Router::new()
            .route(
                "/v1.0/me/getMemberObjects",
                post(
                    move |State(base): State<String>, h: HeaderMap, body: String| async move {
                        let body: Value = serde_json::from_str(&body).unwrap_or_default();
                        if !authorized(&h) || body != serde_json::json!({"securityEnabledOnly": false}) {
                            return (StatusCode::BAD_REQUEST, axum::Json(Value::Null));
                        }
                        (StatusCode::OK, axum::Json(page(&base, 0)))
                    },
                ),
            )
            .route(
                "/v1.0/me/getMemberObjects/next",
                get(
                    move |State(base): State<String>,
                          h: HeaderMap,
                          Query(q): Query<std::collections::HashMap<String, String>>| async move {
                        let n: usize = q["$skiptoken"].trim_start_matches("opaque").parse().unwrap();
                        if !authorized(&h) {
                            return (StatusCode::UNAUTHORIZED, axum::Json(Value::Null));
                        }
                        (StatusCode::OK, axum::Json(page(&base, n)))
                    },
                ),
            )
            .with_state(base.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("{base}v1.0/")
    }

    #[tokio::test]
    async fn member_groups_follow_next_links_on_graph_only() {
        let token = SecretString::from("user-token".to_owned());
        // three pages
        let oidc = with_graph(&paging_graph(3, None).await);
        let groups = oidc.member_groups(Some(&token)).await.unwrap();
        assert_eq!(groups, ["group-0", "group-1", "group-2"]);
        // no token: refused before Graph is asked
        let r = oidc.member_groups(None).await.unwrap_err();
        assert_eq!(
            (r.status, r.reason),
            (StatusCode::BAD_GATEWAY, "no access token")
        );
        // a next link elsewhere: the token is not sent there
        let oidc = with_graph(&paging_graph(3, Some("127.0.0.2:9")).await);
        let r = oidc.member_groups(Some(&token)).await.unwrap_err();
        assert_eq!(
            (r.status, r.reason),
            (StatusCode::BAD_GATEWAY, "graph error")
        );
        assert!(r.detail.contains("elsewhere"), "{}", r.detail);
        // a list that does not end
        let oidc = with_graph(&paging_graph(MAX_MEMBER_PAGES + 1, None).await);
        let r = oidc.member_groups(Some(&token)).await.unwrap_err();
        assert!(
            r.detail.contains("did not end after 50 pages"),
            "{}",
            r.detail
        );
        let oidc = with_graph(&paging_graph(MAX_MEMBER_PAGES, None).await);
        assert_eq!(oidc.member_groups(Some(&token)).await.unwrap().len(), 50);
    }

    #[test]
    fn the_verifier_is_masked_by_the_state() {
        let verifier = [7u8; 32];
        let masked = xor(&verifier, &mask("state-a"));
        assert_ne!(masked, verifier.to_vec());
        assert_eq!(xor(&masked, &mask("state-a")), verifier.to_vec());
        assert_ne!(xor(&masked, &mask("state-b")), verifier.to_vec());
    }
}
