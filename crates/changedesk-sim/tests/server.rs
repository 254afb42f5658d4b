//! The simulator over HTTP, as a client sees it: the token endpoint, Graph
//! listings and paging, throttling, faults, tenant modes, the request log
//! and the control API.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use changedesk_sim::{
    CorpusSpec, Faults, Limits, SIM_CLIENT_ID, SIM_CLIENT_SECRET, SelectMode, SimConfig, SimHandle,
    TEST_APP_CERTIFICATE_PEM, TEST_APP_PRIVATE_KEY_PEM, TenantMode, tenant_issues, tenant_messages,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// the crate root is tests/server.rs: modules under tests/server/ need a path
#[path = "server/slack_webhook.rs"]
mod slack_webhook;
#[path = "server/teams_flow.rs"]
mod teams_flow;

const OTHER_APP_CERTIFICATE_PEM: &str = include_str!("../testdata/other-app.crt.pem");
const OTHER_APP_PRIVATE_KEY_PEM: &str = include_str!("../testdata/other-app.key.pem");
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[path = "server/mail.rs"]
mod mail;
#[path = "server/planner.rs"]
mod planner;
#[path = "server/roadmap.rs"]
mod roadmap;

fn config() -> SimConfig {
    SimConfig {
        spec: CorpusSpec {
            posts: 240,
            issues: 12,
            ..CorpusSpec::default()
        },
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    changedesk_sim::start(config)
        .await
        .expect("simulator starts")
}

fn client() -> Client {
    // reqwest is built without a TLS provider and wants one even for plain
    // http; a second install in the same process is refused, harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("http client")
}

fn scope(sim: &SimHandle) -> String {
    format!("{}/.default", sim.base_url().trim_end_matches('/'))
}

fn token_url(sim: &SimHandle, tenant: &str) -> String {
    format!("{}{tenant}/oauth2/v2.0/token", sim.base_url())
}

async fn token_request(
    sim: &SimHandle,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = client()
        .post(token_url(sim, tenant))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn secret_token(sim: &SimHandle, tenant: &str) -> String {
    let scope = scope(sim);
    let (status, body) = token_request(
        sim,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("scope", &scope),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn messages_url(sim: &SimHandle) -> String {
    format!("{}v1.0/admin/serviceAnnouncement/messages", sim.base_url())
}

async fn graph(url: &str, token: &str, prefer: Option<&str>) -> reqwest::Response {
    let mut req = client().get(url).bearer_auth(token);
    if let Some(p) = prefer {
        req = req.header("Prefer", p);
    }
    req.send().await.unwrap()
}

async fn graph_json(url: &str, token: &str) -> (StatusCode, Value) {
    let r = graph(url, token, None).await;
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// Follows `@odata.nextLink`s; returns every item and the page sizes.
async fn all_pages(url: &str, token: &str, prefer: Option<&str>) -> (Vec<Value>, Vec<usize>) {
    let mut items = Vec::new();
    let mut sizes = Vec::new();
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let r = graph(&url, token, prefer).await;
        assert_eq!(r.status(), StatusCode::OK);
        let page: Value = r.json().await.unwrap();
        let value = page["value"].as_array().unwrap();
        sizes.push(value.len());
        items.extend(value.iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    (items, sizes)
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_entra_error(status: StatusCode, body: &Value, want: StatusCode, error: &str, code: u64) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
}

fn assert_graph_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[tokio::test]
async fn secret_tokens_and_entra_errors() {
    let sim = start(config()).await;
    let tenants = sim.tenants();
    assert_eq!(tenants.len(), 3);
    assert_eq!(tenants[0].name, "tenant-001");
    assert_eq!(tenants[0].tenant_id, changedesk_sim::tenant_guid(0));
    assert_eq!(tenants[0].client_id, SIM_CLIENT_ID);
    assert_eq!(tenants[0].client_secret, SIM_CLIENT_SECRET);
    assert!(sim.base_url().starts_with("http://127.0.0.1:") && sim.base_url().ends_with('/'));

    // By directory id, name and domain, each a token for that tenant.
    for key in [
        tenants[1].tenant_id.clone(),
        tenants[1].name.clone(),
        "TENANT-002.onmicrosoft.com".to_owned(),
    ] {
        let token = secret_token(&sim, &key).await;
        let (status, _) = graph_json(&messages_url(&sim), &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            sim.requests().last().unwrap().tenant.as_deref(),
            Some("tenant-002")
        );
    }
    let (status, body) = token_request(
        &sim,
        &tenants[0].tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("scope", &scope(&sim)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);

    let scope = scope(&sim);
    let base = |secret: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", secret),
        ]
    };
    let with_scope = |mut form: Vec<(&'static str, &'static str)>, s: &'static str| {
        form.push(("scope", s));
        form
    };
    let scope: &'static str = Box::leak(scope.into_boxed_str());

    let (s, b) = token_request(&sim, "tenant-001", &with_scope(base("nope"), scope)).await;
    assert_entra_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client", 7000215);

    let (s, b) = token_request(
        &sim,
        "00000000-0000-4000-8000-000000000000",
        &with_scope(base(SIM_CLIENT_SECRET), scope),
    )
    .await;
    assert_entra_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request", 90002);

    let mut form = with_scope(base(SIM_CLIENT_SECRET), scope);
    form[1].1 = "11111111-2222-4333-8444-555555555555";
    let (s, b) = token_request(&sim, "tenant-001", &form).await;
    assert_entra_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
    );

    for bad_scope in [
        "https://graph.microsoft.com/.default",
        "https://graph.microsoft.com/ServiceMessage.Read.All",
        "",
    ] {
        let (s, b) = token_request(
            &sim,
            "tenant-001",
            &with_scope(base(SIM_CLIENT_SECRET), bad_scope),
        )
        .await;
        assert_eq!(b["error"], "invalid_scope", "{bad_scope}: {b}");
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }

    let (s, b) = token_request(&sim, "tenant-001", &base(SIM_CLIENT_SECRET)).await;
    assert_entra_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request", 900144);

    let (s, b) = token_request(
        &sim,
        "tenant-001",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SIM_CLIENT_ID),
            ("scope", scope),
        ],
    )
    .await;
    assert_entra_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client", 7000218);

    let (s, b) = token_request(
        &sim,
        "tenant-001",
        &[
            ("grant_type", "password"),
            ("client_id", SIM_CLIENT_ID),
            ("scope", scope),
        ],
    )
    .await;
    assert_entra_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        70003,
    );

    // HTTP Basic client authentication (RFC 6749 §2.3.1).
    let r = client()
        .post(token_url(&sim, "tenant-003"))
        .basic_auth(SIM_CLIENT_ID, Some(SIM_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    sim.shutdown().await;
}

fn thumbprint(cert_pem: &str) -> String {
    let b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    URL_SAFE_NO_PAD.encode(Sha256::digest(STANDARD.decode(b64).unwrap()))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(Clone)]
struct Assertion<'a> {
    alg: Algorithm,
    key_pem: &'a str,
    cert_pem: &'a str,
    aud: String,
    iss: &'a str,
    nbf: i64,
    exp: i64,
}

impl Assertion<'_> {
    fn sign(&self) -> String {
        let mut header = Header::new(self.alg);
        header.x5t_s256 = Some(thumbprint(self.cert_pem));
        let now = unix_now();
        let claims = json!({
            "aud": self.aud,
            "iss": self.iss,
            "sub": self.iss,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now + self.nbf,
            "iat": now,
            "exp": now + self.exp,
        });
        let key = EncodingKey::from_rsa_pem(self.key_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }
}

#[tokio::test]
async fn certificate_assertions_are_verified() {
    let sim = start(config()).await;
    let tenant = sim.tenants()[0].tenant_id.clone();
    let good = Assertion {
        alg: Algorithm::PS256,
        key_pem: TEST_APP_PRIVATE_KEY_PEM,
        cert_pem: TEST_APP_CERTIFICATE_PEM,
        aud: token_url(&sim, &tenant),
        iss: SIM_CLIENT_ID,
        nbf: 0,
        exp: 600,
    };
    let scope = scope(&sim);
    let request = |jwt: String| {
        let sim = &sim;
        let tenant = tenant.clone();
        let scope = scope.clone();
        async move {
            token_request(
                sim,
                &tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", SIM_CLIENT_ID),
                    ("scope", &scope),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &jwt),
                ],
            )
            .await
        }
    };

    let (s, b) = request(good.sign()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let token = b["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        graph_json(&messages_url(&sim), &token).await.0,
        StatusCode::OK
    );

    // RS256 is accepted too (MSAL's older form).
    let rs256 = Assertion {
        alg: Algorithm::RS256,
        ..good.clone()
    };
    assert_eq!(request(rs256.sign()).await.0, StatusCode::OK);

    let cases: Vec<(&str, Assertion<'_>, u64)> = vec![
        (
            "unregistered certificate",
            Assertion {
                key_pem: OTHER_APP_PRIVATE_KEY_PEM,
                cert_pem: OTHER_APP_CERTIFICATE_PEM,
                ..good.clone()
            },
            700027,
        ),
        (
            "registered thumbprint, other key",
            Assertion {
                key_pem: OTHER_APP_PRIVATE_KEY_PEM,
                ..good.clone()
            },
            700027,
        ),
        (
            "wrong audience",
            Assertion {
                aud: "https://login.microsoftonline.com/common/oauth2/v2.0/token".to_owned(),
                ..good.clone()
            },
            700023,
        ),
        (
            "audience of another tenant",
            Assertion {
                aud: token_url(&sim, "tenant-002"),
                ..good.clone()
            },
            700023,
        ),
        (
            "wrong issuer",
            Assertion {
                iss: "11111111-2222-4333-8444-555555555555",
                ..good.clone()
            },
            700021,
        ),
        (
            "expired",
            Assertion {
                nbf: -900,
                exp: -300,
                ..good.clone()
            },
            700024,
        ),
        (
            "not yet valid",
            Assertion {
                nbf: 600,
                exp: 1200,
                ..good.clone()
            },
            700024,
        ),
    ];
    for (what, assertion, code) in &cases {
        let (s, b) = request(assertion.sign()).await;
        assert_eq!(b["error_codes"], json!([code]), "{what}: {b}");
        assert_entra_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client", *code);
    }

    // A tampered payload fails the signature.
    let jwt = good.sign();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(unix_now() + 86_400);
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let (s, b) = request(parts.join(".")).await;
    assert_entra_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client", 700027);

    let (s, b) = request("not-a-jwt".to_owned()).await;
    assert_entra_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client", 50027);
    sim.shutdown().await;
}

#[tokio::test]
async fn access_tokens_expire() {
    let sim = start(SimConfig {
        faults: Faults {
            token_lifetime_secs: 1,
            ..Faults::default()
        },
        ..config()
    })
    .await;
    let (s, b) = graph_json(&messages_url(&sim), "").await;
    assert_graph_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let r = client().get(messages_url(&sim)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, b) = graph_json(&messages_url(&sim), "sim.made-up").await;
    assert_graph_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );

    let token = secret_token(&sim, "tenant-001").await;
    assert_eq!(
        graph_json(&messages_url(&sim), &token).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, b) = graph_json(&messages_url(&sim), &token).await;
    assert_graph_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    assert_eq!(
        b["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );

    // Expiry on demand, for clients that cache tokens.
    let mut faults = sim.faults();
    faults.token_lifetime_secs = 3599;
    sim.set_faults(faults).unwrap();
    let token = secret_token(&sim, "tenant-001").await;
    assert_eq!(
        graph_json(&messages_url(&sim), &token).await.0,
        StatusCode::OK
    );
    sim.expire_tokens();
    let (s, b) = graph_json(&messages_url(&sim), &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        b["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_like_graph() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let expected = ids(&tenant_messages(&sim.corpus(), 0));
    assert!(expected.len() > 150, "{}", expected.len());

    // Default: pages of 100, an opaque nextLink.
    let r = graph(&messages_url(&sim), &token, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("preference-applied").is_none());
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let page: Value = r.json().await.unwrap();
    assert_eq!(
        page["@odata.context"],
        format!(
            "{}v1.0/$metadata#admin/serviceAnnouncement/messages",
            sim.base_url()
        )
    );
    assert_eq!(page["value"].as_array().unwrap().len(), 100);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}?$skiptoken=", messages_url(&sim))),
        "{next}"
    );
    assert!(!next.contains("skip=100"));

    let (items, sizes) = all_pages(&messages_url(&sim), &token, None).await;
    assert_eq!(ids(&items), expected);
    assert!(sizes[..sizes.len() - 1].iter().all(|&n| n == 100));
    assert_eq!(items, tenant_messages(&sim.corpus(), 0));

    // Prefer: odata.maxpagesize, honoured up to 1000.
    let r = graph(&messages_url(&sim), &token, Some("odata.maxpagesize=1000")).await;
    assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=1000");
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["value"].as_array().unwrap().len(), expected.len());
    assert!(page.get("@odata.nextLink").is_none());
    let r = graph(&messages_url(&sim), &token, Some("odata.maxpagesize=5000")).await;
    assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=1000");

    let (items, sizes) = all_pages(&messages_url(&sim), &token, Some("odata.maxpagesize=37")).await;
    assert_eq!(ids(&items), expected);
    assert!(sizes.iter().all(|&n| n <= 37));
    assert_eq!(sizes.len(), expected.len().div_ceil(37));

    // Issues and health overviews, each tenant its own view.
    let token2 = secret_token(&sim, "tenant-002").await;
    let issues_url = format!("{}v1.0/admin/serviceAnnouncement/issues", sim.base_url());
    let (items, _) = all_pages(&issues_url, &token2, None).await;
    assert_eq!(items, tenant_issues(&sim.corpus(), 1));
    let health_url = format!(
        "{}v1.0/admin/serviceAnnouncement/healthOverviews",
        sim.base_url()
    );
    let (items, _) = all_pages(&health_url, &token2, None).await;
    assert_eq!(
        items,
        changedesk_sim::tenant_health_overviews(&sim.corpus(), 1)
    );
    let (other, _) = all_pages(&messages_url(&sim), &token2, None).await;
    assert_ne!(ids(&other), expected);

    // One item by id; a nextLink of another tenant is refused.
    let (s, item) = graph_json(&format!("{}/{}", messages_url(&sim), expected[3]), &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(item["id"], expected[3].as_str());
    let (s, b) = graph_json(&format!("{}/MC1", messages_url(&sim)), &token).await;
    assert_graph_error(s, &b, StatusCode::NOT_FOUND, "NotFound");
    let (s, b) = graph_json(next, &token2).await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    let (s, b) = graph_json(
        &format!("{}v1.0/admin/serviceAnnouncement/nonsense", sim.base_url()),
        &token,
    )
    .await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_and_query_options() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let all = tenant_messages(&sim.corpus(), 0);
    let cut = "2026-08-01T00:00:00Z";
    let newer: Vec<String> = all
        .iter()
        .filter(|m| m["lastModifiedDateTime"].as_str().unwrap() >= cut)
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!newer.is_empty() && newer.len() < all.len());

    let url = |q: &str| {
        let mut u = url::Url::parse(&messages_url(&sim)).unwrap();
        u.query_pairs_mut().append_pair("$filter", q);
        u.to_string()
    };
    let (items, _) = all_pages(
        &url(&format!("lastModifiedDateTime ge {cut}")),
        &token,
        Some("odata.maxpagesize=10"),
    )
    .await;
    assert_eq!(ids(&items), newer);
    let (items, _) = all_pages(
        &url(&format!(
            "lastModifiedDateTime gt 2020-01-01T00:00:00Z and lastModifiedDateTime lt {cut}"
        )),
        &token,
        None,
    )
    .await;
    assert_eq!(items.len() + newer.len(), all.len());

    for (filter, message) in [
        (
            format!("lastModifiedDateTime ge '{cut}'"),
            "Invalid filter clause",
        ),
        (format!("lastModified ge {cut}"), "Invalid filter clause"),
        ("this is not a filter".to_owned(), "Invalid filter clause"),
        (
            "details/any(d:d/value eq 'x')".to_owned(),
            "Filter on details is not supported",
        ),
    ] {
        let (s, b) = graph_json(&url(&filter), &token).await;
        assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
        assert!(
            b["error"]["message"].as_str().unwrap().starts_with(message),
            "{filter}: {b}"
        );
    }

    // $top caps the total; $orderby=lastModifiedDateTime desc.
    let u = format!(
        "{}?$top=30&$orderby=lastModifiedDateTime%20desc",
        messages_url(&sim)
    );
    let (items, sizes) = all_pages(&u, &token, Some("odata.maxpagesize=20")).await;
    assert_eq!(sizes, vec![20, 10]);
    let stamps: Vec<&str> = items
        .iter()
        .map(|m| m["lastModifiedDateTime"].as_str().unwrap())
        .collect();
    let mut newest: Vec<&str> = all
        .iter()
        .map(|m| m["lastModifiedDateTime"].as_str().unwrap())
        .collect();
    newest.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(stamps, newest[..30]);

    let (s, b) = graph_json(&format!("{}?$top=lots", messages_url(&sim)), &token).await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    let (s, b) = graph_json(&format!("{}?$expand=x", messages_url(&sim)), &token).await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_per_tenant() {
    let sim = start(SimConfig {
        limits: Limits {
            per_minute: 5,
            per_hour: 8,
        },
        ..config()
    })
    .await;
    let t1 = secret_token(&sim, "tenant-001").await;
    let t2 = secret_token(&sim, "tenant-002").await;
    for _ in 0..5 {
        assert_eq!(
            graph(&messages_url(&sim), &t1, None).await.status(),
            StatusCode::OK
        );
    }
    let r = graph(&messages_url(&sim), &t1, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: f64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 50.0 && wait <= 60.0, "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(body["error"]["message"], "Please retry again later.");
    assert!(body["error"]["innerError"].is_object());

    // Another tenant has its own budget.
    assert_eq!(
        graph(&messages_url(&sim), &t2, None).await.status(),
        StatusCode::OK
    );

    // The hourly limit: a bigger minute budget still stops at 8.
    sim.set_limits(Limits {
        per_minute: 100,
        per_hour: 8,
    });
    for _ in 0..3 {
        assert_eq!(
            graph(&messages_url(&sim), &t1, None).await.status(),
            StatusCode::OK
        );
    }
    let r = graph(&messages_url(&sim), &t1, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: f64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 3500.0, "{wait}");

    sim.reset_throttling();
    assert_eq!(
        graph(&messages_url(&sim), &t1, None).await.status(),
        StatusCode::OK
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let set = |f: Faults| sim.set_faults(f).unwrap();

    set(Faults {
        fault_429: 1.0,
        retry_after_secs: 0.05,
        ..Faults::default()
    });
    let r = graph(&messages_url(&sim), &token, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "0.05");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "TooManyRequests");

    set(Faults {
        fault_503: 1.0,
        ..Faults::default()
    });
    let (s, b) = graph_json(&messages_url(&sim), &token).await;
    assert_graph_error(
        s,
        &b,
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
    );

    set(Faults {
        truncate: 1.0,
        ..Faults::default()
    });
    let r = graph(&messages_url(&sim), &token, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let length: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert!(body.starts_with(b"{\"@odata.context\""));

    set(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(
        graph(&messages_url(&sim), &token, None).await.status(),
        StatusCode::OK
    );
    assert!(t.elapsed() >= Duration::from_millis(150));

    set(Faults {
        token_lifetime_secs: 77,
        ..Faults::default()
    });
    let (_, b) = token_request(
        &sim,
        "tenant-001",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("scope", &scope(&sim)),
        ],
    )
    .await;
    assert_eq!(b["expires_in"], 77);

    assert!(
        sim.set_faults(Faults {
            fault_503: 1.5,
            ..Faults::default()
        })
        .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_are_deterministic_for_a_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let sim = start(SimConfig {
            seed,
            faults: Faults {
                fault_503: 0.5,
                ..Faults::default()
            },
            spec: CorpusSpec {
                posts: 20,
                issues: 2,
                ..CorpusSpec::default()
            },
            ..SimConfig::default()
        })
        .await;
        let token = secret_token(&sim, "tenant-001").await;
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(
                graph(&messages_url(&sim), &token, None)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        sim.shutdown().await;
        out
    }
    let a = statuses(9).await;
    assert_eq!(a, statuses(9).await);
    assert!(a.contains(&200) && a.contains(&503), "{a:?}");
}

#[tokio::test]
async fn tenant_modes() {
    let sim = start(config()).await;
    let scope = scope(&sim);
    let secret_form = [
        ("grant_type", "client_credentials"),
        ("client_id", SIM_CLIENT_ID),
        ("client_secret", SIM_CLIENT_SECRET),
        ("scope", scope.as_str()),
    ];
    let token = secret_token(&sim, "tenant-002").await;

    sim.set_tenant_mode("tenant-002", TenantMode::Endless503)
        .unwrap();
    for _ in 0..3 {
        let (s, b) = graph_json(&messages_url(&sim), &token).await;
        assert_graph_error(
            s,
            &b,
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
        );
    }
    // Other tenants are unaffected.
    let t1 = secret_token(&sim, "tenant-001").await;
    assert_eq!(
        graph(&messages_url(&sim), &t1, None).await.status(),
        StatusCode::OK
    );

    sim.set_tenant_mode("tenant-002", TenantMode::ConsentRevoked)
        .unwrap();
    let fresh = secret_token(&sim, "tenant-002").await;
    let (s, b) = graph_json(&messages_url(&sim), &fresh).await;
    assert_graph_error(s, &b, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
    assert_eq!(
        b["error"]["message"],
        "Insufficient privileges to complete the operation."
    );

    sim.set_tenant_mode(&sim.tenants()[1].tenant_id, TenantMode::BadSecret)
        .unwrap();
    let (s, b) = token_request(&sim, "tenant-002", &secret_form).await;
    assert_entra_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_client", 7000215);

    sim.set_tenant_mode("tenant-002", TenantMode::NotFound)
        .unwrap();
    let (s, b) = token_request(&sim, "tenant-002", &secret_form).await;
    assert_entra_error(s, &b, StatusCode::BAD_REQUEST, "invalid_request", 90002);

    sim.set_tenant_mode("tenant-002", TenantMode::Normal)
        .unwrap();
    assert_eq!(sim.tenant_mode("tenant-002"), Some(TenantMode::Normal));
    assert_eq!(
        graph(&messages_url(&sim), &token, None).await.status(),
        StatusCode::OK
    );
    assert!(
        sim.set_tenant_mode("tenant-099", TenantMode::Normal)
            .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn request_log() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-003").await;
    let url = format!(
        "{}?$filter=lastModifiedDateTime%20ge%202026-01-01T00:00:00Z",
        messages_url(&sim)
    );
    let r = graph(&url, &token, Some("odata.maxpagesize=10")).await;
    let body = r.bytes().await.unwrap();
    let _ = client()
        .get(format!("{}nowhere", sim.base_url()))
        .send()
        .await
        .unwrap();

    let log = sim.requests();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, format!("/{}/oauth2/v2.0/token", "tenant-003"));
    assert_eq!(log[0].tenant.as_deref(), Some("tenant-003"));
    assert_eq!(log[0].status, 200);
    let g = &log[1];
    assert_eq!(g.method, "GET");
    assert_eq!(g.path, "/v1.0/admin/serviceAnnouncement/messages");
    assert_eq!(
        g.query,
        "$filter=lastModifiedDateTime ge 2026-01-01T00:00:00Z"
    );
    assert_eq!(g.prefer.as_deref(), Some("odata.maxpagesize=10"));
    assert_eq!(g.tenant.as_deref(), Some("tenant-003"));
    assert_eq!((g.status, g.bytes), (200, body.len() as u64));
    assert!(log[0].seq < log[1].seq && log[1].seq < log[2].seq);
    assert_eq!((log[2].status, log[2].tenant.as_deref()), (404, None));

    sim.clear_requests();
    assert!(sim.requests().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_over_http() {
    let sim = start(config()).await;
    let c = client();
    let sim_url = |p: &str| format!("{}_sim/{p}", sim.base_url());

    let info: Value = c
        .get(sim_url("tenants"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["client_id"], SIM_CLIENT_ID);
    assert_eq!(info["tenants"].as_array().unwrap().len(), 3);
    assert_eq!(
        info["tenants"][0]["tenant_id"],
        changedesk_sim::tenant_guid(0)
    );
    assert_eq!(info["tenants"][0]["client_secret"], SIM_CLIENT_SECRET);
    assert_eq!(info["tenants"][0]["login_url"], sim.base_url());

    let r = c
        .put(sim_url("faults"))
        .json(&json!({"latency_ms": 5, "retry_after_secs": 0.25}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sim.faults().latency_ms, 5);
    assert_eq!(sim.faults().retry_after_secs, 0.25);
    assert_eq!(sim.faults().token_lifetime_secs, 3599);
    let r = c
        .put(sim_url("faults"))
        .json(&json!({"fault_4299": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = c
        .put(sim_url("tenants/tenant-003/mode"))
        .json(&json!({"mode": "endless_503"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sim.tenant_mode("tenant-003"), Some(TenantMode::Endless503));
    let r = c
        .put(sim_url("tenants/tenant-003/mode"))
        .json(&json!({"mode": "sideways"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .put(sim_url("tenants/tenant-404/mode"))
        .json(&json!({"mode": "normal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Time passes: what is served changes.
    let token = secret_token(&sim, "tenant-001").await;
    let (before, _) = all_pages(&messages_url(&sim), &token, Some("odata.maxpagesize=1000")).await;
    let r: Value = c
        .post(sim_url("advance"))
        .json(&json!({"days": 10, "seed": 4}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["version"], 2);
    assert_eq!(r["base_time"], "2026-09-01T00:00:00Z");
    let (after, _) = all_pages(&messages_url(&sim), &token, Some("odata.maxpagesize=1000")).await;
    assert_ne!(before, after);
    assert_eq!(after, tenant_messages(&sim.corpus(), 0));
    let new: HashSet<String> = ids(&after)
        .into_iter()
        .filter(|id| !ids(&before).contains(id))
        .collect();
    assert!(!new.is_empty());

    // The handle does the same.
    sim.advance(3, 5);
    assert_eq!(sim.corpus_version(), 3);

    // A served listing replaces the generated posts for every tenant.
    let listing = json!({"value": [
        {"id": "MC900001", "title": "one", "lastModifiedDateTime": "2026-01-01T00:00:00Z"},
        {"id": "MC900002", "title": "two", "lastModifiedDateTime": "2026-02-01T00:00:00Z"},
    ]});
    let r = c
        .put(sim_url("corpus"))
        .json(&listing)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for tenant in ["tenant-001", "tenant-002"] {
        let token = secret_token(&sim, tenant).await;
        let (items, _) = all_pages(&messages_url(&sim), &token, None).await;
        assert_eq!(Value::from(items), listing["value"]);
    }
    let r = c.put(sim_url("corpus")).body("{").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let log: Value = c
        .get(sim_url("requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|e| !e["path"].as_str().unwrap().starts_with("/_sim/"))
    );
    assert!(log.iter().any(|e| e["query"] == "" && e["status"] == 200));
    let r = c.delete(sim_url("requests")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(sim.requests().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_corpus_file_is_served_to_every_tenant() {
    let items: Vec<Value> = (1..=250)
        .map(|n| json!({"id": format!("MC{}", 800_000 + n), "title": format!("post {n}"), "lastModifiedDateTime": "2026-03-01T10:00:00.5Z"}))
        .collect();
    let sim = start(SimConfig {
        corpus_file_items: Some(items.clone()),
        ..config()
    })
    .await;
    for tenant in sim.tenants() {
        let token = secret_token(&sim, &tenant.tenant_id).await;
        let (got, sizes) = all_pages(&messages_url(&sim), &token, None).await;
        assert_eq!(got, items);
        assert_eq!(sizes, vec![100, 100, 50]);
    }
    // Replacing the corpus goes back to generated posts.
    let corpus = changedesk_sim::generate(&CorpusSpec {
        posts: 30,
        issues: 1,
        ..CorpusSpec::default()
    });
    sim.replace_corpus(corpus.clone());
    let token = secret_token(&sim, "tenant-001").await;
    let (got, _) = all_pages(&messages_url(&sim), &token, None).await;
    assert_eq!(got, tenant_messages(&corpus, 0));
    sim.shutdown().await;
}

// ---------------------------------------------------------------- OpenID Connect

/// A client that does not follow redirects (the authorization endpoint
/// answers with one).
fn no_redirects() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

const REDIRECT: &str = "http://127.0.0.1:9/api/v1/session/oidc/callback";

/// A PKCE verifier and its S256 challenge.
fn pkce(seed: &str) -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorization request's answer: status, and the `Location`
/// parameters (or the JSON body when there is no redirect).
async fn authorize(
    sim: &SimHandle,
    tenant: &str,
    params: &[(&str, &str)],
) -> (StatusCode, std::collections::HashMap<String, String>, Value) {
    let r = no_redirects()
        .get(format!("{}{tenant}/oauth2/v2.0/authorize", sim.base_url()))
        .query(params)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let params = location
        .map(|l| {
            assert!(l.starts_with(REDIRECT), "{l}");
            url::Url::parse(&l)
                .unwrap()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    (status, params, body)
}

fn sign_in_params<'a>(challenge: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", SIM_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("response_mode", "query"),
    ];
    for (k, v) in extra {
        p.retain(|(key, _)| key != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    p
}

/// A fresh code for `login_hint` (none: the first user).
async fn code_for(sim: &SimHandle, tenant: &str, challenge: &str, hint: Option<&str>) -> String {
    let mut extra = Vec::new();
    if let Some(h) = hint {
        extra.push(("login_hint", h));
    }
    let (status, params, body) = authorize(sim, tenant, &sign_in_params(challenge, &extra)).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    assert_eq!(params["state"], "state-123", "state comes back unchanged");
    assert!(!params.contains_key("error"), "{params:?}");
    params["code"].clone()
}

async fn redeem(sim: &SimHandle, tenant: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_request(
        sim,
        tenant,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn jwks(sim: &SimHandle, tenant: &str) -> jsonwebtoken::jwk::JwkSet {
    let r = client()
        .get(format!("{}{tenant}/discovery/v2.0/keys", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The ID token's header and claims, its signature checked against the
/// JWKS (`Err` with the reason when it does not verify).
async fn verified(
    sim: &SimHandle,
    tenant: &str,
    id_token: &str,
) -> (jsonwebtoken::Header, Result<Value, String>) {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let keys = jwks(sim, tenant).await;
    let Some(jwk) = header.kid.as_deref().and_then(|k| keys.find(k)) else {
        return (header, Err("unknown kid".into()));
    };
    let mut v = jsonwebtoken::Validation::new(Algorithm::RS256);
    v.validate_aud = false;
    v.validate_exp = false;
    v.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(
        id_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .map(|d| d.claims)
    .map_err(|e| e.to_string());
    (header, claims)
}

#[tokio::test]
async fn oidc_discovery_and_keys_are_entra_shaped() {
    let sim = start(config()).await;
    let guid = sim.tenants()[0].tenant_id.clone();
    for key in ["tenant-001", guid.as_str(), "tenant-001.onmicrosoft.com"] {
        let r = client()
            .get(format!(
                "{}{key}/v2.0/.well-known/openid-configuration",
                sim.base_url()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let doc: Value = r.json().await.unwrap();
        let issuer = format!("{}{guid}/v2.0", sim.base_url());
        assert_eq!(doc["issuer"], issuer, "always the directory id: {doc}");
        assert_eq!(sim.oidc_issuer(key).as_deref(), Some(issuer.as_str()));
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{}{guid}/oauth2/v2.0/authorize", sim.base_url())
        );
        assert_eq!(
            doc["token_endpoint"],
            format!("{}{guid}/oauth2/v2.0/token", sim.base_url())
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{}{guid}/discovery/v2.0/keys", sim.base_url())
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert!(
            doc["response_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("code"))
        );
    }
    let keys = jwks(&sim, "tenant-002").await;
    assert_eq!(keys.keys.len(), 1);
    let key = serde_json::to_value(&keys.keys[0]).unwrap();
    assert_eq!(
        (&key["kty"], &key["use"], &key["alg"], &key["e"]),
        (
            &json!("RSA"),
            &json!("sig"),
            &json!("RS256"),
            &json!("AQAB")
        ),
        "{key}"
    );
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()), "{key}");
    assert!(
        key["n"].as_str().unwrap().len() > 300,
        "a 2048-bit modulus: {key}"
    );

    // an unknown or deleted tenant is Entra's AADSTS90002
    let r = client()
        .get(format!(
            "{}nobody.example/v2.0/.well-known/openid-configuration",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
    );
    sim.set_tenant_mode("tenant-003", TenantMode::NotFound)
        .unwrap();
    let r = client()
        .get(format!("{}tenant-003/discovery/v2.0/keys", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn oidc_code_flow_with_pkce() {
    let sim = start(config()).await;
    let guid = sim.tenants()[0].tenant_id.clone();
    let mut grace = changedesk_sim::SimUser::new(
        "Grace Hopper",
        "grace@contoso.example",
        &["changedesk.reader"],
    );
    grace.groups = vec!["7d0c6c5e-1c1e-4b5e-9a43-5f3a1b2c3d4e".into()];
    grace.email = "grace.hopper@contoso.example".into();
    let ada = changedesk_sim::SimUser::new("Ada", "ada@contoso.example", &["changedesk.admin"]);
    sim.oidc_set_users(vec![ada.clone(), grace.clone()])
        .unwrap();
    assert_eq!(
        sim.oidc_users()[1].oid,
        changedesk_sim::derived_oid("grace@contoso.example")
    );

    // the user login_hint names signs in; state comes back unchanged
    let (verifier, challenge) = pkce("one");
    let code = code_for(
        &sim,
        "tenant-001",
        &challenge,
        Some("GRACE@contoso.example"),
    )
    .await;
    let (status, body) = redeem(&sim, "tenant-001", &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].is_string());
    let id_token = body["id_token"].as_str().unwrap();
    let (header, claims) = verified(&sim, "tenant-001", id_token).await;
    assert_eq!(header.alg, Algorithm::RS256);
    let claims = claims.unwrap();
    let now = unix_now();
    assert_eq!(claims["iss"], format!("{}{guid}/v2.0", sim.base_url()));
    assert_eq!(claims["aud"], SIM_CLIENT_ID);
    assert_eq!(claims["tid"], guid);
    assert_eq!(claims["oid"], grace.oid);
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["name"], "Grace Hopper");
    assert_eq!(claims["preferred_username"], "grace@contoso.example");
    assert_eq!(claims["email"], "grace.hopper@contoso.example");
    assert_eq!(claims["roles"], json!(["changedesk.reader"]));
    assert_eq!(claims["groups"], json!(grace.groups));
    assert!(claims["sub"].as_str().is_some_and(|s| s != grace.oid));
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        exp > now + 3000 && claims["nbf"].as_i64().unwrap() <= now + 1,
        "{claims}"
    );

    // a code is single-use
    let (status, body) = redeem(&sim, "tenant-001", &code, &verifier).await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        54005,
    );

    // without login_hint the first user signs in; no roles, no roles claim
    sim.oidc_set_users(vec![changedesk_sim::SimUser::new(
        "Nobody",
        "nobody@contoso.example",
        &[],
    )])
    .unwrap();
    let code = code_for(&sim, "tenant-001", &challenge, None).await;
    let (status, body) = redeem(&sim, "tenant-001", &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, claims) = verified(&sim, "tenant-001", body["id_token"].as_str().unwrap()).await;
    let claims = claims.unwrap();
    assert_eq!(claims["preferred_username"], "nobody@contoso.example");
    assert!(
        claims.get("roles").is_none() && claims.get("groups").is_none(),
        "{claims}"
    );

    // PKCE: a wrong verifier is refused, and the code is spent
    let code = code_for(&sim, "tenant-001", &challenge, None).await;
    let (other_verifier, _) = pkce("two");
    let (status, body) = redeem(&sim, "tenant-001", &code, &other_verifier).await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        501481,
    );
    let (status, body) = redeem(&sim, "tenant-001", &code, &verifier).await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        54005,
    );
    // the verifier is required
    let code = code_for(&sim, "tenant-001", &challenge, None).await;
    let (status, body) = token_request(
        &sim,
        "tenant-001",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
    );

    // the client secret, the redirect URI and the tenant are checked
    let code = code_for(&sim, "tenant-001", &challenge, None).await;
    let (status, body) = token_request(
        &sim,
        "tenant-001",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", "not the secret"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_entra_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
    );
    let (status, body) = token_request(
        &sim,
        "tenant-001",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        500112,
    );
    let code = code_for(&sim, "tenant-001", &challenge, None).await;
    let (status, body) = redeem(&sim, "tenant-002", &code, &verifier).await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        70000,
    );
    let (status, body) = redeem(&sim, "tenant-001", "sim-code.made-up", &verifier).await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        9002313,
    );

    // client credentials still work on the same endpoint
    secret_token(&sim, "tenant-001").await;
    sim.shutdown().await;
}

#[tokio::test]
async fn oidc_authorization_requests_are_checked() {
    let sim = start(config()).await;
    let (_, challenge) = pkce("x");
    // errors sent back to the redirect URI, with the state
    for (extra, error, code) in [
        (
            vec![("code_challenge", "")],
            "invalid_request",
            "AADSTS9002325",
        ),
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "AADSTS5000",
        ),
        (
            vec![("code_challenge_method", "")],
            "invalid_request",
            "AADSTS5000",
        ),
        (
            vec![("code_challenge", "too-short")],
            "invalid_request",
            "AADSTS501491",
        ),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "AADSTS700054",
        ),
        (
            vec![("response_mode", "form_post")],
            "invalid_request",
            "AADSTS900144",
        ),
        (
            vec![("scope", "profile email")],
            "invalid_scope",
            "AADSTS70011",
        ),
        (
            vec![("login_hint", "mallory@contoso.example")],
            "access_denied",
            "AADSTS50034",
        ),
    ] {
        let (status, params, body) =
            authorize(&sim, "tenant-001", &sign_in_params(&challenge, &extra)).await;
        assert_eq!(status, StatusCode::FOUND, "{extra:?}: {body}");
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{extra:?}: {params:?}"
        );
        assert!(
            params["error_description"].starts_with(&format!("{code}: ")),
            "{extra:?}: {params:?}"
        );
        assert_eq!(params["state"], "state-123");
        assert!(!params.contains_key("code"));
    }
    // errors shown to the user, never sent to an unknown redirect URI
    for (extra, error, code) in [
        (vec![("client_id", "")], "invalid_request", 900144),
        (
            vec![("client_id", "11111111-2222-3333-4444-555555555555")],
            "unauthorized_client",
            700016,
        ),
        (
            vec![("redirect_uri", "https://evil.example/callback")],
            "invalid_request",
            50011,
        ),
        (vec![("redirect_uri", "")], "invalid_request", 900144),
    ] {
        let (status, params, body) =
            authorize(&sim, "tenant-001", &sign_in_params(&challenge, &extra)).await;
        assert!(params.is_empty(), "no redirect for {extra:?}");
        assert_entra_error(status, &body, StatusCode::BAD_REQUEST, error, code);
    }
    // once redirect URIs are registered, only those are accepted
    sim.oidc_set_redirect_uris(vec![
        "https://changedesk.example/api/v1/session/oidc/callback".into(),
    ])
    .unwrap();
    let (status, _, body) = authorize(&sim, "tenant-001", &sign_in_params(&challenge, &[])).await;
    assert_entra_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        50011,
    );
    sim.oidc_set_redirect_uris(vec![REDIRECT.into()]).unwrap();
    code_for(&sim, "tenant-001", &challenge, None).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn oidc_faults_spoil_the_next_id_token_only() {
    use changedesk_sim::IdTokenFault;
    let sim = start(config()).await;
    let (verifier, challenge) = pkce("faults");
    let http = client();
    let control = |path: &str| format!("{}_sim/oidc{path}", sim.base_url());
    for fault in [
        "wrong_audience",
        "expired",
        "not_yet_valid",
        "wrong_nonce",
        "bad_signature",
        "unknown_key",
        "wrong_issuer",
    ] {
        // set over the control API
        let r = http
            .put(control("/fault"))
            .json(&json!({"fault": fault}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{fault}");
        let state: Value = http
            .get(control(""))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(state["fault"], fault);
        let code = code_for(&sim, "tenant-001", &challenge, None).await;
        let (status, body) = redeem(&sim, "tenant-001", &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "{fault}: {body}");
        let (header, claims) =
            verified(&sim, "tenant-001", body["id_token"].as_str().unwrap()).await;
        let now = unix_now();
        match fault {
            "bad_signature" => {
                assert!(claims.is_err(), "the signature must not verify");
                assert!(
                    jwks(&sim, "tenant-001")
                        .await
                        .find(header.kid.as_deref().unwrap())
                        .is_some()
                );
            }
            "unknown_key" => assert_eq!(claims, Err("unknown kid".to_string())),
            _ => {
                let c = claims.unwrap();
                match fault {
                    "wrong_audience" => assert_eq!(c["aud"], changedesk_sim::OTHER_CLIENT_ID),
                    "expired" => assert!(c["exp"].as_i64().unwrap() < now - 600, "{c}"),
                    "not_yet_valid" => assert!(c["nbf"].as_i64().unwrap() > now + 600, "{c}"),
                    "wrong_nonce" => assert_ne!(c["nonce"], "nonce-456"),
                    "wrong_issuer" => assert!(
                        c["iss"]
                            .as_str()
                            .unwrap()
                            .starts_with("https://sts.windows.net/"),
                        "{c}"
                    ),
                    _ => unreachable!(),
                }
            }
        }
        // the next token is sound again
        assert_eq!(sim.oidc_fault(), None);
        let code = code_for(&sim, "tenant-001", &challenge, None).await;
        let (_, body) = redeem(&sim, "tenant-001", &code, &verifier).await;
        let (_, claims) = verified(&sim, "tenant-001", body["id_token"].as_str().unwrap()).await;
        let c = claims.unwrap();
        assert_eq!(
            (c["aud"].as_str(), c["nonce"].as_str()),
            (Some(SIM_CLIENT_ID), Some("nonce-456"))
        );
    }
    sim.oidc_set_fault(Some(IdTokenFault::Expired));
    assert_eq!(sim.oidc_fault(), Some(IdTokenFault::Expired));
    sim.oidc_set_fault(None);

    // users over the control API; a bad one is refused
    let r = http
        .put(control("/users"))
        .json(&json!([{"name": "Lin", "username": "lin@contoso.example", "roles": ["changedesk.owner"],
            "oid": "6F1D2C3B-0000-4000-8000-000000000001"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let users: Value = r.json().await.unwrap();
    assert_eq!(users[0]["oid"], "6f1d2c3b-0000-4000-8000-000000000001");
    for bad in [
        json!([{"name": "x", "username": ""}]),
        json!([{"name": "x", "username": "x", "oid": "nope"}]),
        json!([{"name": "x", "username": "x", "password": "y"}]),
    ] {
        let r = http.put(control("/users")).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = http
        .put(control("/fault"))
        .json(&json!({"fault": "cosmic_rays"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = http
        .put(control("/redirect-uris"))
        .json(&json!(["not a url"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.oidc_users()[0].username, "lin@contoso.example");
    sim.shutdown().await;
}

#[tokio::test]
async fn select_is_honoured_ignored_or_refused() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let url = format!("{}?$select=id,lastModifiedDateTime", messages_url(&sim));
    let (whole, _) = all_pages(&messages_url(&sim), &token, None).await;
    // honoured (the default): only the named properties, on every page
    let (members, sizes) = all_pages(&url, &token, Some("odata.maxpagesize=7")).await;
    assert!(sizes.len() > 1, "{sizes:?}");
    assert_eq!(ids(&members), ids(&whole));
    for (m, w) in members.iter().zip(&whole) {
        let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2, "{m}");
        assert_eq!(m["lastModifiedDateTime"], w["lastModifiedDateTime"]);
    }
    let bytes = |v: &[Value]| v.iter().map(|i| i.to_string().len()).sum::<usize>();
    assert!(bytes(&members) * 20 < bytes(&whole));
    // an unknown property is a 400, as in Graph
    let (s, b) = graph_json(
        &format!("{}?$select=id,nonsense", messages_url(&sim)),
        &token,
    )
    .await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    // ignored: whole items
    sim.set_faults(Faults {
        select: SelectMode::Ignore,
        ..Faults::default()
    })
    .unwrap();
    let (items, _) = all_pages(&url, &token, None).await;
    assert_eq!(items, whole);
    // refused
    sim.set_faults(Faults {
        select: SelectMode::Refuse,
        ..Faults::default()
    })
    .unwrap();
    let (s, b) = graph_json(&url, &token).await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    // a listing without $select is not affected
    let (items, _) = all_pages(&messages_url(&sim), &token, None).await;
    assert_eq!(items.len(), whole.len());
}
