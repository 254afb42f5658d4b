//! Entra ID client credentials: the certificate client assertion, the token
//! response and the token endpoint's error body.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::error::{GraphError, scrub};
use crate::pem;

/// `client_assertion_type` for a certificate credential.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid (Entra recommends 5-10 minutes).
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// A certificate credential, loaded: the certificate's SHA-256 thumbprint
/// and the RSA private key.
pub(crate) struct CertificateKey {
    /// base64url (no padding) of SHA-256 of the certificate's DER.
    pub x5t_s256: String,
    key: EncodingKey,
}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateKey")
            .field("x5t_s256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

/// When the first certificate of a PEM file expires (its `notAfter`); the
/// error says what is wrong, without content.
pub fn certificate_not_after(cert_pem: &[u8]) -> Result<changedesk_core::Timestamp, String> {
    use x509_cert::der::Decode;
    let text = std::str::from_utf8(cert_pem)
        .map_err(|_| "the certificate file is not PEM text".to_string())?;
    let block = pem::blocks(text)?
        .into_iter()
        .find(|b| b.label == "CERTIFICATE")
        .ok_or("the certificate file has no CERTIFICATE PEM block")?;
    let cert = x509_cert::Certificate::from_der(&block.der)
        .map_err(|_| "the CERTIFICATE PEM block is not an X.509 certificate".to_string())?;
    let secs = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    i64::try_from(secs)
        .ok()
        .and_then(changedesk_core::Timestamp::from_unix)
        .ok_or_else(|| "the certificate's expiry is out of range".to_string())
}

impl CertificateKey {
    /// Reads the certificate (first `CERTIFICATE` block) and the private key
    /// (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`, unencrypted).
    /// Messages name the files, never their content.
    pub async fn load(
        tenant: &str,
        certificate_file: &Path,
        private_key_file: &Path,
    ) -> Result<Self, GraphError> {
        let cred = |message: String| GraphError::Credential {
            tenant: tenant.to_string(),
            message,
        };
        let cert_text = tokio::fs::read(certificate_file).await.map_err(|e| {
            cred(format!(
                "cannot read certificate file {}: {e}",
                certificate_file.display()
            ))
        })?;
        let key_text = tokio::fs::read(private_key_file).await.map_err(|e| {
            cred(format!(
                "cannot read private key file {}: {e}",
                private_key_file.display()
            ))
        })?;
        Self::from_pem(&cert_text, &key_text).map_err(|why| {
            cred(format!(
                "{why} (certificate file {}, private key file {})",
                certificate_file.display(),
                private_key_file.display()
            ))
        })
    }

    /// The same from PEM text; the error says what is wrong, without content.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, String> {
        let cert_text = std::str::from_utf8(cert_pem)
            .map_err(|_| "the certificate file is not PEM text".to_string())?;
        let cert = pem::blocks(cert_text)?
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or("the certificate file has no CERTIFICATE PEM block")?;
        if cert.der.is_empty() {
            return Err("the CERTIFICATE PEM block is empty".into());
        }
        let x5t_s256 = URL_SAFE_NO_PAD.encode(Sha256::digest(&cert.der));

        let key_text = std::str::from_utf8(key_pem)
            .map_err(|_| "the private key file is not PEM text".to_string())?;
        let blocks = pem::blocks(key_text)?;
        if blocks.iter().any(|b| b.label == "ENCRYPTED PRIVATE KEY") {
            return Err(
                "the private key is encrypted; changedesk needs it unencrypted (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)".into(),
            );
        }
        let key = blocks
            .into_iter()
            .find(|b| b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY")
            .ok_or("the private key file has no PRIVATE KEY or RSA PRIVATE KEY PEM block")?;
        if key.encrypted {
            return Err(
                "the private key is encrypted; changedesk needs it unencrypted (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)".into(),
            );
        }
        let key = EncodingKey::from_rsa_pem(key.to_pem().as_bytes())
            .map_err(|_| "the private key is not an RSA private key".to_string())?;
        Ok(CertificateKey { x5t_s256, key })
    }

    /// A signed client assertion for `client_id` at `token_endpoint`, valid
    /// from `now` (Unix seconds) for 10 minutes.
    pub fn assertion(
        &self,
        client_id: &str,
        token_endpoint: &str,
        now: i64,
    ) -> Result<SecretString, String> {
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.x5t_s256.clone());
        let claims = AssertionClaims {
            aud: token_endpoint,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| format!("cannot sign the client assertion with the private key: {e}"))
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// The current Unix time in seconds, from the system clock (a JWT needs
/// wall-clock time).
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An access token and when to renew it.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub access: SecretString,
    /// When the token stops being handed out and a new one is requested.
    pub refresh_at: Instant,
}

impl CachedToken {
    /// A token valid for `lifetime` from `obtained`, renewed when less than
    /// max(60 s, 10 % of its lifetime) remains.
    pub fn new(access: SecretString, obtained: Instant, lifetime: Duration) -> Self {
        let margin = Duration::from_secs(60).max(lifetime / 10);
        CachedToken {
            access,
            refresh_at: obtained + lifetime.saturating_sub(margin),
        }
    }

    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }

    pub fn same_as(&self, other: &SecretString) -> bool {
        self.access.expose_secret() == other.expose_secret()
    }
}

/// A successful token response.
pub(crate) struct TokenResponse {
    pub access: SecretString,
    pub lifetime: Duration,
}

/// Reads a token response body. The error never quotes the body.
pub(crate) fn parse_token_response(body: &[u8]) -> Result<TokenResponse, String> {
    #[derive(Deserialize)]
    struct Raw {
        access_token: Option<String>,
        token_type: Option<String>,
        expires_in: Option<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|_| "the token response is not the expected JSON object".to_string())?;
    let access = raw
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or("the token response has no access_token")?;
    if let Some(tt) = &raw.token_type
        && !tt.eq_ignore_ascii_case("bearer")
    {
        return Err(format!(
            "the token response has token_type {:?}, expected Bearer",
            scrub(tt, &[&access])
        ));
    }
    // a number, or a string in some older endpoints
    let secs = match raw.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite() && *s > 0.0)
    .unwrap_or(3599.0)
    .min(86_400.0);
    Ok(TokenResponse {
        access: SecretString::from(access),
        lifetime: Duration::from_secs_f64(secs),
    })
}

/// The token endpoint's error body.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct TokenError {
    pub error: String,
    pub description: String,
    pub codes: Vec<i64>,
    pub trace_id: String,
}

impl TokenError {
    /// `None` if the body is not an OAuth error object.
    pub fn parse(body: &[u8]) -> Option<TokenError> {
        #[derive(Deserialize)]
        struct Raw {
            error: Option<String>,
            error_description: Option<String>,
            error_codes: Option<Vec<i64>>,
            trace_id: Option<String>,
        }
        let raw: Raw = serde_json::from_slice(body).ok()?;
        let error = raw.error.filter(|e| !e.trim().is_empty())?;
        Some(TokenError {
            error: error.trim().to_string(),
            description: raw.error_description.unwrap_or_default(),
            codes: raw.error_codes.unwrap_or_default(),
            trace_id: raw.trace_id.unwrap_or_default(),
        })
    }

    /// Errors that go away by themselves (RFC 6749 `temporarily_unavailable`).
    pub fn is_transient(&self) -> bool {
        self.error.eq_ignore_ascii_case("temporarily_unavailable")
    }

    /// The description's first line (Entra appends trace and correlation IDs
    /// and a timestamp on further lines), the AADSTS codes if the description
    /// lacks them, and the trace ID, scrubbed of `secrets`.
    pub fn message(&self, secrets: &[&str]) -> String {
        let first = self.description.lines().next().unwrap_or("").trim();
        let mut msg = if first.is_empty() {
            "(no description)".to_string()
        } else {
            first.to_string()
        };
        if !self.codes.is_empty() && !first.contains("AADSTS") {
            let codes: Vec<String> = self.codes.iter().map(|c| format!("AADSTS{c}")).collect();
            msg = format!("{} {msg}", codes.join(", "));
        }
        if !self.trace_id.is_empty() {
            msg = format!("{} (trace ID {})", msg, self.trace_id.trim());
        }
        scrub(&msg, secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &[u8] = include_bytes!("../../changedesk-sim/testdata/test-app.crt.pem");
    const KEY_PKCS8: &[u8] = include_bytes!("../../changedesk-sim/testdata/test-app.key.pem");
    const KEY_PKCS1: &[u8] = include_bytes!("../testdata/test-app.rsa-key.pem");
    const OTHER_CERT: &[u8] = include_bytes!("../../changedesk-sim/testdata/other-app.crt.pem");
    /// `openssl x509 -outform DER | openssl dgst -sha256 -binary | base64url`
    const THUMBPRINT: &str = "nYghHeI0FU0bGcUlUX8jo1QK_JctKwxSOH8inv0PI2k";

    #[test]
    fn a_certificate_s_expiry_is_read_and_bad_files_are_errors() {
        // `openssl x509 -noout -enddate`
        let at = certificate_not_after(CERT).unwrap();
        assert_eq!(at.to_string(), "2126-10-28T16:09:49.000000Z");
        for (bad, why) in [
            (&b"\xff\xfe"[..], "not PEM text"),
            (b"no pem here", "no CERTIFICATE"),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "not an X.509",
            ),
            (KEY_PKCS8, "no CERTIFICATE"),
        ] {
            let e = certificate_not_after(bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    fn verify(jwt: &str, cert: &[u8]) -> serde_json::Value {
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(cert).expect("certificate public key");
        let mut v = jsonwebtoken::Validation::new(Algorithm::PS256);
        v.set_audience(&["https://login.example/t/oauth2/v2.0/token"]);
        v.set_issuer(&["11111111-2222-3333-4444-555555555555"]);
        jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &v)
            .expect("verifies")
            .claims
    }

    #[test]
    fn pkcs8_and_pkcs1_keys_sign_verifiable_ps256_assertions() {
        for key in [KEY_PKCS8, KEY_PKCS1] {
            let k = CertificateKey::from_pem(CERT, key).expect("loads");
            assert_eq!(k.x5t_s256, THUMBPRINT);
            let now = unix_now();
            let jwt = k
                .assertion(
                    "11111111-2222-3333-4444-555555555555",
                    "https://login.example/t/oauth2/v2.0/token",
                    now,
                )
                .expect("signs");
            let header = jsonwebtoken::decode_header(jwt.expose_secret()).expect("header");
            assert_eq!(header.alg, Algorithm::PS256);
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            assert_eq!(header.x5t_s256.as_deref(), Some(THUMBPRINT));
            assert_eq!(header.x5t, None);
            let claims = verify(jwt.expose_secret(), CERT);
            assert_eq!(claims["sub"], "11111111-2222-3333-4444-555555555555");
            assert_eq!(claims["nbf"], now);
            assert_eq!(claims["iat"], now);
            assert_eq!(claims["exp"], now + 600);
            assert!(uuid::Uuid::parse_str(claims["jti"].as_str().expect("jti")).is_ok());
        }
    }

    #[test]
    fn bad_credential_files_are_explained() {
        let err = |c: &[u8], k: &[u8]| CertificateKey::from_pem(c, k).expect_err("rejected");
        assert!(err(b"nothing", KEY_PKCS8).contains("no CERTIFICATE"));
        assert!(err(CERT, CERT).contains("no PRIVATE KEY"));
        assert!(
            err(
                CERT,
                b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
            )
            .contains("encrypted")
        );
        assert!(
            err(
                CERT,
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            )
            .contains("not an RSA private key")
        );
        // a certificate and key that do not belong together still load (Entra
        // decides); the thumbprint is the certificate's
        let k = CertificateKey::from_pem(OTHER_CERT, KEY_PKCS8).expect("loads");
        assert_ne!(k.x5t_s256, THUMBPRINT);
    }

    #[test]
    fn token_responses() {
        let t = parse_token_response(
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ.abc"}"#,
        )
        .expect("parses");
        assert_eq!(t.access.expose_secret(), "eyJ.abc");
        assert_eq!(t.lifetime, Duration::from_secs(3599));
        let t =
            parse_token_response(br#"{"expires_in":"120","access_token":"x"}"#).expect("parses");
        assert_eq!(t.lifetime, Duration::from_secs(120));
        let e = parse_token_response(br#"{"token_type":"Bearer"}"#)
            .err()
            .expect("no token");
        assert_eq!(e, "the token response has no access_token");
        let e = parse_token_response(b"<html>secret</html>")
            .err()
            .expect("not JSON");
        assert!(!e.contains("secret"));
        let e = parse_token_response(br#"{"token_type":"mac","access_token":"tok-123456"}"#)
            .err()
            .expect("not bearer");
        assert!(e.contains("mac"));
    }

    #[test]
    fn token_errors() {
        let body = br#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'nope' not found. Check to make sure you have the correct tenant ID.\r\nTrace ID: 9c1a\r\nCorrelation ID: 77\r\nTimestamp: 2025-01-01 00:00:00Z","error_codes":[90002],"timestamp":"2025-01-01 00:00:00Z","trace_id":"9c1a","correlation_id":"77"}"#;
        let e = TokenError::parse(body).expect("parses");
        assert_eq!(e.error, "invalid_request");
        assert_eq!(e.codes, vec![90002]);
        assert_eq!(
            e.message(&[]),
            "AADSTS90002: Tenant 'nope' not found. Check to make sure you have the correct tenant ID. (trace ID 9c1a)"
        );
        assert!(!e.is_transient());
        let e = TokenError::parse(
            br#"{"error":"invalid_client","error_description":"bad secret s3cr3t-value","error_codes":[7000215]}"#,
        )
        .expect("parses");
        assert_eq!(
            e.message(&["s3cr3t-value"]),
            "AADSTS7000215 bad secret [redacted]"
        );
        assert!(TokenError::parse(b"{}").is_none());
        assert!(TokenError::parse(b"oops").is_none());
        assert!(
            TokenError::parse(br#"{"error":"temporarily_unavailable"}"#)
                .expect("parses")
                .is_transient()
        );
    }

    #[test]
    fn tokens_renew_before_expiry() {
        let t0 = Instant::now();
        let hour = CachedToken::new("a".into(), t0, Duration::from_secs(3600));
        assert!(hour.is_fresh(t0 + Duration::from_secs(3239)));
        assert!(!hour.is_fresh(t0 + Duration::from_secs(3240)));
        let short = CachedToken::new("a".into(), t0, Duration::from_secs(300));
        assert!(short.is_fresh(t0 + Duration::from_secs(239)));
        assert!(!short.is_fresh(t0 + Duration::from_secs(240)));
        let tiny = CachedToken::new("a".into(), t0, Duration::from_secs(30));
        assert!(!tiny.is_fresh(t0));
        assert!(tiny.same_as(&"a".into()));
    }
}
