//! The Graph client against an in-process fake of Entra ID's token endpoint
//! and Graph's `/admin/serviceAnnouncement` collections.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use changedesk_core::Timestamp;
use changedesk_core::config::{Cloud, Credential, TenantConfig};
use changedesk_graph::{
    ClientOptions, GraphClient, GraphError, Resource, Step, for_each_tenant_concurrently,
};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

// the crate root is tests/client.rs: modules under tests/client/ need a path
#[path = "client/mail.rs"]
mod mail;

const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "Xq8~s3cr3t.VALUE_never-to-be-seen";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../changedesk-sim/testdata")
        .join(name)
}

// ---------------------------------------------------------------- the fake

/// A scripted response, served instead of the normal behaviour.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn canned(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn graph_error(code: &str, message: &str) -> String {
    serde_json::json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2025-01-01T00:00:00", "request-id": "req-1"}}})
    .to_string()
}

fn token_error(error: &str, codes: &[i64], description: &str) -> String {
    serde_json::json!({"error": error, "error_description": description,
        "error_codes": codes, "timestamp": "2025-01-01 00:00:00Z",
        "trace_id": "trace-1", "correlation_id": "corr-1"})
    .to_string()
}

#[derive(Debug, Clone)]
struct GraphRequest {
    resource: String,
    query: Option<String>,
    prefer: Option<String>,
    authorization: Option<String>,
    host: Option<String>,
}

#[derive(Default)]
struct Fake {
    addr: Mutex<Option<SocketAddr>>,
    expires_in: AtomicU64,
    /// x5t#S256 of the registered certificate, and the certificate PEM.
    cert: Mutex<Option<(String, Vec<u8>)>>,
    token_delay: Mutex<Duration>,
    /// Refuse every credential, quoting it back (a careless or hostile server).
    echo_credentials: std::sync::atomic::AtomicBool,
    token_script: Mutex<VecDeque<Canned>>,
    graph_script: Mutex<VecDeque<Canned>>,
    graph_always: Mutex<Option<Canned>>,
    /// Items per collection (default 3).
    items: Mutex<HashMap<String, usize>>,
    /// Where nextLinks point (default: this server as the client addressed it).
    next_link_origin: Mutex<Option<String>>,
    valid_tokens: Mutex<Vec<String>>,
    token_forms: Mutex<Vec<HashMap<String, String>>>,
    assertion_claims: Mutex<Vec<serde_json::Value>>,
    graph_requests: Mutex<Vec<GraphRequest>>,
    /// `sendMail` (see `mail.rs`).
    mail: mail::FakeMail,
}

impl Fake {
    fn origin(&self) -> String {
        format!("http://{}", self.addr.lock().unwrap().expect("started"))
    }
    fn token_count(&self) -> usize {
        self.token_forms.lock().unwrap().len()
    }
    fn graph_count(&self) -> usize {
        self.graph_requests.lock().unwrap().len()
    }
    fn revoke_tokens(&self) {
        self.valid_tokens.lock().unwrap().clear();
    }
    fn script_graph(&self, responses: impl IntoIterator<Item = Canned>) {
        self.graph_script.lock().unwrap().extend(responses);
    }
    fn script_token(&self, responses: impl IntoIterator<Item = Canned>) {
        self.token_script.lock().unwrap().extend(responses);
    }
    fn set_items(&self, resource: &str, n: usize) {
        self.items.lock().unwrap().insert(resource.into(), n);
    }
}

fn respond(c: Canned) -> Response {
    let mut r = (StatusCode::from_u16(c.status).expect("status"), c.body).into_response();
    for (k, v) in c.headers {
        r.headers_mut().insert(k, v.parse().expect("header"));
    }
    r
}

async fn token_endpoint(
    State(fake): State<Arc<Fake>>,
    Path(tenant): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    fake.token_forms.lock().unwrap().push(form.clone());
    let delay = *fake.token_delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let scripted = fake.token_script.lock().unwrap().pop_front();
    if let Some(c) = scripted {
        tokio::time::sleep(c.delay).await;
        return respond(c);
    }
    if fake.echo_credentials.load(Ordering::SeqCst) {
        let cred = form
            .get("client_secret")
            .or(form.get("client_assertion"))
            .cloned()
            .unwrap_or_default();
        return respond(canned(
            401,
            &token_error(
                "invalid_client",
                &[7000215],
                &format!("AADSTS7000215: credential {cred} is wrong"),
            ),
        ));
    }
    let origin = fake.origin();
    let bad =
        |codes: &[i64], d: &str| respond(canned(401, &token_error("invalid_client", codes, d)));
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("scope") != Some(&format!("{origin}/graph/.default"))
        || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return respond(canned(
            400,
            &token_error("invalid_request", &[900144], "AADSTS900144: bad form"),
        ));
    }
    if let Some(secret) = form.get("client_secret") {
        if secret != SECRET {
            return bad(&[7000215], "AADSTS7000215: Invalid client secret provided.");
        }
    } else if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return bad(&[], "wrong client_assertion_type");
        }
        let Some((thumbprint, cert_pem)) = fake.cert.lock().unwrap().clone() else {
            return bad(&[], "no certificate registered");
        };
        let header = jsonwebtoken::decode_header(assertion).expect("JWT header");
        if header.alg != jsonwebtoken::Algorithm::PS256 || header.typ.as_deref() != Some("JWT") {
            return bad(&[5002738], "AADSTS5002738: wrong algorithm");
        }
        if header.x5t_s256.as_deref() != Some(thumbprint.as_str()) {
            return bad(
                &[700027],
                "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.",
            );
        }
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(&cert_pem).expect("certificate key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
        v.set_audience(&[format!("{origin}/login/{tenant}/oauth2/v2.0/token")]);
        v.set_issuer(&[CLIENT_ID]);
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        v.validate_nbf = true;
        let claims = match jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &v) {
            Ok(d) => d.claims,
            Err(e) => return bad(&[700027], &format!("AADSTS700027: assertion rejected: {e}")),
        };
        fake.assertion_claims.lock().unwrap().push(claims);
    } else {
        return bad(
            &[7000216],
            "AADSTS7000216: client_assertion or client_secret required",
        );
    }
    let token = format!("tok-{}", uuid::Uuid::new_v4());
    fake.valid_tokens.lock().unwrap().push(token.clone());
    let expires_in = match fake.expires_in.load(Ordering::SeqCst) {
        0 => 3599,
        n => n,
    };
    axum::Json(
        serde_json::json!({"token_type": "Bearer", "expires_in": expires_in,
        "ext_expires_in": expires_in, "access_token": token}),
    )
    .into_response()
}

async fn graph_endpoint(
    State(fake): State<Arc<Fake>>,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let host = h("host");
    fake.graph_requests.lock().unwrap().push(GraphRequest {
        resource: resource.clone(),
        query: query.clone(),
        prefer: h("prefer"),
        authorization: h("authorization"),
        host: host.clone(),
    });
    let scripted = fake.graph_script.lock().unwrap().pop_front();
    let always = fake.graph_always.lock().unwrap().clone();
    if let Some(c) = scripted.or(always) {
        tokio::time::sleep(c.delay).await;
        return respond(c);
    }
    let token = h("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_string));
    if !token.is_some_and(|t| fake.valid_tokens.lock().unwrap().contains(&t)) {
        return respond(canned(
            401,
            &graph_error(
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
        ));
    }
    let page_size: usize = h("prefer")
        .and_then(|p| {
            p.strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(100);
    let total = fake
        .items
        .lock()
        .unwrap()
        .get(&resource)
        .copied()
        .unwrap_or(3);
    // the skiptoken is opaque to the client
    let offset: usize = query
        .as_deref()
        .and_then(|q| q.strip_prefix("$skiptoken="))
        .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("skip:").and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let end = (offset + page_size).min(total);
    let value: Vec<serde_json::Value> = (offset..end)
        .map(|i| serde_json::json!({"id": format!("{resource}-{i:04}"), "lastModifiedDateTime": "2025-02-14T01:18:26.963Z"}))
        .collect();
    let mut body = serde_json::json!({
        "@odata.context": format!("{}/graph/v1.0/$metadata#admin/serviceAnnouncement/{resource}", fake.origin()),
        "value": value,
    });
    if end < total {
        let origin = fake
            .next_link_origin
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| format!("http://{}", host.unwrap_or_default()));
        let skip = URL_SAFE_NO_PAD.encode(format!("skip:{end}"));
        body["@odata.nextLink"] =
            format!("{origin}/graph/v1.0/admin/serviceAnnouncement/{resource}?$skiptoken={skip}")
                .into();
    }
    axum::Json(body).into_response()
}

async fn start() -> Arc<Fake> {
    logs();
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/login/{tenant}/oauth2/v2.0/token", post(token_endpoint))
        .route(
            "/graph/v1.0/admin/serviceAnnouncement/{resource}",
            get(graph_endpoint),
        )
        .route(
            "/graph/v1.0/users/{user}/sendMail",
            post(mail::send_mail_endpoint),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    *fake.addr.lock().unwrap() = Some(listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

fn tenant(fake: &Fake, name: &str, credential: Credential) -> TenantConfig {
    let origin = fake.origin();
    TenantConfig {
        name: name.into(),
        tenant_id: format!("{name}.onmicrosoft.com"),
        client_id: CLIENT_ID.into(),
        credential,
        cloud: Cloud::Global,
        login_url: Some(format!("{origin}/login/").parse().expect("url")),
        graph_url: Some(format!("{origin}/graph/").parse().expect("url")),
        secret_expires: None,
    }
}

fn secret() -> Credential {
    Credential::Secret(SecretString::from(SECRET))
}

fn certificate(app: &str) -> Credential {
    Credential::Certificate {
        certificate_file: testdata(&format!("{app}.crt.pem")),
        private_key_file: testdata(&format!("{app}.key.pem")),
    }
}

fn fast() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(5),
        max_retry_time: Duration::from_secs(3),
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        ..ClientOptions::default()
    }
}

fn client(opts: ClientOptions) -> GraphClient {
    GraphClient::new(opts).expect("client")
}

fn ids(items: &[Box<serde_json::value::RawValue>]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            let v: serde_json::Value = serde_json::from_str(i.get()).expect("an item is JSON");
            v["id"].as_str().expect("id").to_string()
        })
        .collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn secret_auth_pages_with_prefer_and_opaque_next_links() {
    let fake = start().await;
    fake.set_items("messages", 25);
    let t = tenant(&fake, "contoso", secret());
    let c = client(ClientOptions {
        page_size: 10,
        ..fast()
    });
    let f = c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    assert_eq!(f.items.len(), 25);
    assert_eq!(ids(&f.items)[0], "messages-0000");
    assert_eq!(ids(&f.items)[24], "messages-0024");
    assert_eq!(
        (f.pages, f.requests, f.retries, f.filtered),
        (3, 3, 0, false)
    );
    assert!(f.bytes > 25 * 40, "{}", f.bytes);

    let forms = fake.token_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1);
    let form = &forms[0];
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["scope"], format!("{}/graph/.default", fake.origin()));
    assert!(!form.contains_key("client_assertion"));

    let reqs = fake.graph_requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 3);
    let token = fake.valid_tokens.lock().unwrap()[0].clone();
    for r in &reqs {
        assert_eq!(r.prefer.as_deref(), Some("odata.maxpagesize=10"));
        assert_eq!(r.authorization, Some(format!("Bearer {token}")));
        assert_eq!(r.resource, "messages");
    }
    assert_eq!(reqs[0].query, None);
    assert!(
        reqs[1]
            .query
            .as_deref()
            .is_some_and(|q| q.starts_with("$skiptoken="))
    );

    // the other collections, with the cached token
    for (r, path) in [
        (Resource::Issues, "issues"),
        (Resource::HealthOverviews, "healthOverviews"),
    ] {
        let f = c.fetch(&t, r, None).await.expect("fetch");
        assert_eq!(
            ids(&f.items),
            (0..3).map(|i| format!("{path}-{i:04}")).collect::<Vec<_>>()
        );
    }
    assert_eq!(fake.token_count(), 1);
    // page size is clamped to Graph's maximum
    let c = client(ClientOptions {
        page_size: 5000,
        ..fast()
    });
    c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    let last = fake
        .graph_requests
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("request");
    assert_eq!(last.prefer.as_deref(), Some("odata.maxpagesize=1000"));
}

#[tokio::test]
async fn certificate_auth_sends_a_verifiable_ps256_assertion() {
    let fake = start().await;
    let cert_pem = std::fs::read(testdata("test-app.crt.pem")).expect("cert");
    // the thumbprint, computed independently of the client
    let b64: String = String::from_utf8_lossy(&cert_pem)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(b64).expect("DER");
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
    *fake.cert.lock().unwrap() = Some((thumbprint, cert_pem));

    let t = tenant(&fake, "contoso", certificate("test-app"));
    let c = client(fast());
    c.check_auth(&t).await.expect("certificate accepted");
    let f = c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    assert_eq!(f.items.len(), 3);
    assert_eq!(fake.token_count(), 1, "check_auth's token is cached");

    let form = fake.token_forms.lock().unwrap()[0].clone();
    assert!(!form.contains_key("client_secret"));
    let claims = fake.assertion_claims.lock().unwrap()[0].clone();
    assert_eq!(
        claims["aud"],
        format!(
            "{}/login/contoso.onmicrosoft.com/oauth2/v2.0/token",
            fake.origin()
        )
    );
    assert_eq!(claims["iss"], CLIENT_ID);
    assert_eq!(claims["sub"], CLIENT_ID);
    let (nbf, iat, exp) = (
        claims["nbf"].as_i64(),
        claims["iat"].as_i64(),
        claims["exp"].as_i64(),
    );
    assert_eq!(nbf, iat);
    assert_eq!(exp.zip(nbf).map(|(e, n)| e - n), Some(600));
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().expect("jti")).is_ok());

    // a certificate the app does not know: refused at once, with the code
    let t = tenant(&fake, "fabrikam", certificate("other-app"));
    let e = c.check_auth(&t).await.expect_err("unknown certificate");
    assert_eq!(e.code(), Some("invalid_client"));
    assert!(e.is_permanent() && e.is_auth());
    assert!(e.to_string().contains("AADSTS700027"), "{e}");
    assert_eq!(fake.token_count(), 2);

    // unreadable files: a credential error naming the file
    let t = tenant(
        &fake,
        "northwind",
        Credential::Certificate {
            certificate_file: testdata("missing.crt.pem"),
            private_key_file: testdata("test-app.key.pem"),
        },
    );
    let e = c
        .fetch(&t, Resource::Messages, None)
        .await
        .expect_err("missing file");
    assert!(matches!(e, GraphError::Credential { .. }), "{e:?}");
    assert!(e.to_string().contains("missing.crt.pem"), "{e}");
    assert_eq!(fake.token_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn tokens_are_cached_and_renewed_before_expiry() {
    let fake = start().await;
    fake.expires_in.store(3600, Ordering::SeqCst);
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    tokio::time::advance(Duration::from_secs(3000)).await;
    c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    assert_eq!(fake.token_count(), 1, "still fresh");
    // less than 10 % (360 s) of the lifetime left
    tokio::time::advance(Duration::from_secs(300)).await;
    c.fetch(&t, Resource::Issues, None).await.expect("fetch");
    assert_eq!(fake.token_count(), 2, "renewed");
    // clones share the cache
    c.clone()
        .fetch(&t, Resource::Issues, None)
        .await
        .expect("fetch");
    assert_eq!(fake.token_count(), 2);
}

#[tokio::test]
async fn concurrent_callers_wait_for_one_token_request() {
    let fake = start().await;
    *fake.token_delay.lock().unwrap() = Duration::from_millis(50);
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    let mut set = tokio::task::JoinSet::new();
    for r in [
        Resource::Messages,
        Resource::Issues,
        Resource::HealthOverviews,
    ]
    .repeat(3)
    {
        let (c, t) = (c.clone(), t.clone());
        set.spawn(async move { c.fetch(&t, r, None).await.map(|f| f.items.len()) });
    }
    for r in set.join_all().await {
        assert_eq!(r.expect("fetch"), 3);
    }
    assert_eq!(fake.token_count(), 1);
}

#[tokio::test]
async fn a_rejected_token_is_replaced_once() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    fake.revoke_tokens();
    let f = c
        .fetch(&t, Resource::Messages, None)
        .await
        .expect("re-authenticated");
    assert_eq!((f.requests, f.retries), (2, 1));
    assert_eq!(fake.token_count(), 2);

    // a 401 that persists is reported after one new token
    *fake.graph_always.lock().unwrap() = Some(canned(
        401,
        &graph_error(
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
    ));
    let before = fake.graph_count();
    let e = c
        .fetch(&t, Resource::Messages, None)
        .await
        .expect_err("401");
    assert_eq!(e.code(), Some("InvalidAuthenticationToken"));
    assert!(
        matches!(e, GraphError::Permanent { status: 401, .. }),
        "{e:?}"
    );
    assert_eq!(fake.graph_count() - before, 2);
    assert_eq!(fake.token_count(), 3);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let fake = start().await;
    fake.set_items("messages", 5);
    let port = fake.addr.lock().unwrap().expect("addr").port();
    *fake.next_link_origin.lock().unwrap() = Some(format!("http://localhost:{port}"));
    let t = tenant(&fake, "contoso", secret());
    let c = client(ClientOptions {
        page_size: 2,
        ..fast()
    });
    let e = c
        .fetch(&t, Resource::Messages, None)
        .await
        .expect_err("foreign host");
    assert!(matches!(e, GraphError::Protocol { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("refusing @odata.nextLink to http://localhost"),
        "{e}"
    );
    let reqs = fake.graph_requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1, "the token went nowhere else");
    assert_eq!(reqs[0].host, Some(format!("127.0.0.1:{port}")));

    // another port on the same host is another origin too
    *fake.next_link_origin.lock().unwrap() =
        Some(format!("http://127.0.0.1:{}", port.wrapping_add(1)));
    let e = c
        .fetch(&t, Resource::Messages, None)
        .await
        .expect_err("foreign port");
    assert!(matches!(e, GraphError::Protocol { .. }), "{e:?}");
}

#[tokio::test]
async fn incremental_reads_filter_on_last_modified() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    let since = Timestamp::parse("2025-01-25T00:00:00.750Z").expect("ts");
    let f = c
        .fetch(&t, Resource::Messages, Some(since))
        .await
        .expect("fetch");
    assert!(f.filtered);
    let f = c
        .fetch(&t, Resource::Issues, Some(since))
        .await
        .expect("fetch");
    assert!(f.filtered);
    let f = c
        .fetch(&t, Resource::HealthOverviews, Some(since))
        .await
        .expect("fetch");
    assert!(!f.filtered);
    let queries: Vec<Option<String>> = fake
        .graph_requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.query.clone())
        .collect();
    let filter = Some("$filter=lastModifiedDateTime%20ge%202025-01-25T00:00:00Z".to_string());
    assert_eq!(queries, vec![filter.clone(), filter, None]);
}

#[tokio::test]
async fn throttling_honours_a_fractional_retry_after() {
    let fake = start().await;
    let mut throttled = canned(
        429,
        r#"{"error":{"code":"TooManyRequests","innerError":{"code":"429","message":"Please retry after","status":"429"},"message":"Please retry again later."}}"#,
    );
    throttled.headers.push(("retry-after", "0.05".into()));
    fake.script_graph([throttled]);
    let t = tenant(&fake, "contoso", secret());
    // a backoff far shorter than the Retry-After shows which one was used
    let c = client(ClientOptions {
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(1),
        ..fast()
    });
    let start = Instant::now();
    let f = c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(50) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!((f.requests, f.retries, f.items.len()), (2, 1, 3));
}

#[tokio::test]
async fn server_errors_timeouts_and_truncated_pages_are_retried() {
    let fake = start().await;
    fake.set_items("messages", 4);
    let mut with_retry_after = canned(503, &graph_error("serviceNotAvailable", "busy"));
    with_retry_after.headers.push(("retry-after", "0".into()));
    let slow = Canned {
        delay: Duration::from_millis(400),
        ..canned(200, r#"{"value":[]}"#)
    };
    fake.script_graph([
        canned(
            503,
            &graph_error("serviceNotAvailable", "Service unavailable"),
        ),
        canned(504, ""),
        with_retry_after,
        canned(500, "<html>oops</html>"),
        canned(502, ""),
        // a page cut off mid-stream, then one without `value`
        canned(200, r#"{"value":[{"id":"messages-0000"},{"id":"mess"#),
        canned(200, r#"{"error":"not a page"}"#),
        slow,
    ]);
    let t = tenant(&fake, "contoso", secret());
    let c = client(ClientOptions {
        page_size: 2,
        request_timeout: Duration::from_millis(200),
        ..fast()
    });
    let f = c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    assert_eq!(
        ids(&f.items),
        [
            "messages-0000",
            "messages-0001",
            "messages-0002",
            "messages-0003"
        ]
    );
    assert_eq!((f.pages, f.requests, f.retries), (2, 10, 8));

    // the token endpoint's transient failures too
    fake.script_token([canned(503, ""), canned(429, "")]);
    let c = client(fast());
    c.check_auth(&t).await.expect("token after retries");
    assert_eq!(fake.token_count(), 4);
}

#[tokio::test]
async fn endless_failures_give_up_within_the_cap() {
    let fake = start().await;
    *fake.graph_always.lock().unwrap() = Some(canned(
        503,
        &graph_error("serviceNotAvailable", "Service unavailable"),
    ));
    let t = tenant(&fake, "contoso", secret());
    let c = client(ClientOptions {
        max_retry_time: Duration::from_millis(300),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..fast()
    });
    let start = Instant::now();
    let e = c
        .fetch(&t, Resource::Issues, None)
        .await
        .expect_err("gives up");
    let took = start.elapsed();
    assert!(took < Duration::from_millis(700), "{took:?}");
    let GraphError::GaveUp {
        attempts,
        elapsed,
        ref last,
        step,
        ..
    } = e
    else {
        panic!("{e:?}");
    };
    assert!(
        attempts >= 2 && attempts as usize == fake.graph_count(),
        "{attempts}"
    );
    // waits stay within the cap; the last failed attempt may end a little past it
    assert!(elapsed < Duration::from_millis(450), "{elapsed:?}");
    assert_eq!(last, "HTTP 503 serviceNotAvailable");
    assert_eq!(step, Step::Read(Resource::Issues));
    assert!(!e.is_permanent());
    assert!(
        e.to_string().starts_with(&format!(
            "tenant contoso: reading issues: gave up after {attempts} attempts"
        )),
        "{e}"
    );

    // a Retry-After longer than the cap gives up at once
    let mut long = canned(429, &graph_error("TooManyRequests", "later"));
    long.headers.push(("retry-after", "30".into()));
    *fake.graph_always.lock().unwrap() = Some(long);
    let start = Instant::now();
    let e = c
        .fetch(&t, Resource::Issues, None)
        .await
        .expect_err("gives up");
    assert!(start.elapsed() < Duration::from_millis(200));
    assert!(
        e.to_string().contains("the server asked to wait 30.0s"),
        "{e}"
    );
}

#[tokio::test]
async fn permanent_failures_are_reported_at_once_with_their_code() {
    let fake = start().await;
    let c = client(fast());

    // a wrong secret
    let t = tenant(
        &fake,
        "contoso",
        Credential::Secret("wrong-secret-value".into()),
    );
    let e = c
        .fetch(&t, Resource::Messages, None)
        .await
        .expect_err("bad secret");
    assert_eq!(e.code(), Some("invalid_client"));
    let GraphError::Permanent {
        status,
        step,
        ref message,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!((status, step), (401, Step::Token));
    assert_eq!(
        message,
        "AADSTS7000215: Invalid client secret provided. (trace ID trace-1)"
    );
    assert_eq!(fake.token_count(), 1);
    assert_eq!(fake.graph_count(), 0);

    // unknown tenant, unknown app, unauthorized client
    for (status, error, codes, description) in [
        (
            400,
            "invalid_request",
            [90002],
            "AADSTS90002: Tenant 'nope' not found. Check to make sure you have the correct tenant ID.\r\nTrace ID: x",
        ),
        (
            400,
            "unauthorized_client",
            [700016],
            "AADSTS700016: Application with identifier '1111' was not found in the directory 'Contoso'.",
        ),
    ] {
        fake.script_token([canned(status, &token_error(error, &codes, description))]);
        let before = fake.token_count();
        let t = tenant(&fake, "contoso", secret());
        let e = c.check_auth(&t).await.expect_err("refused");
        assert_eq!(e.code(), Some(error));
        assert!(
            e.to_string().contains(&format!("AADSTS{}", codes[0])),
            "{e}"
        );
        assert!(
            e.to_string().starts_with(&format!(
                "tenant contoso: token request refused: HTTP {status} {error}: "
            )),
            "{e}"
        );
        assert_eq!(fake.token_count() - before, 1);
    }

    // consent revoked, a bad filter, not found: one Graph request each
    let t = tenant(&fake, "contoso", secret());
    for (status, code) in [
        (403, "Authorization_RequestDenied"),
        (403, "accessDenied"),
        (400, "BadRequest"),
        (404, "itemNotFound"),
    ] {
        fake.script_graph([canned(status, &graph_error(code, "Nope."))]);
        let before = fake.graph_count();
        let e = c
            .fetch(&t, Resource::Messages, None)
            .await
            .expect_err("refused");
        assert_eq!(e.code(), Some(code));
        assert!(e.is_permanent());
        assert_eq!(e.is_auth(), status == 403);
        assert_eq!(
            e.to_string(),
            format!(
                "tenant contoso: reading messages refused: HTTP {status} {code}: Nope. (request-id req-1)"
            )
        );
        assert_eq!(fake.graph_count() - before, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn the_request_budget_holds_requests_back() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(ClientOptions {
        per_minute: 5,
        ..fast()
    });
    let start = Instant::now();
    for _ in 0..5 {
        let f = c.fetch(&t, Resource::Messages, None).await.expect("fetch");
        assert_eq!(f.budget_wait, Duration::ZERO);
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    let f = c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    assert!(
        f.budget_wait >= Duration::from_secs(59),
        "{:?}",
        f.budget_wait
    );
    assert!(start.elapsed() >= Duration::from_secs(60));
    // another tenant has its own budget
    let other = tenant(&fake, "fabrikam", secret());
    let f = c
        .fetch(&other, Resource::Messages, None)
        .await
        .expect("fetch");
    assert_eq!(f.budget_wait, Duration::ZERO);
    assert_eq!(fake.graph_count(), 7);
}

#[tokio::test]
async fn many_tenants_concurrently_one_failing() {
    let fake = start().await;
    let mut tenants: Vec<TenantConfig> = (0..6)
        .map(|i| tenant(&fake, &format!("tenant{i}"), secret()))
        .collect();
    tenants[3].credential = Credential::Secret("revoked-secret-value".into());
    let c = client(fast());
    let results = for_each_tenant_concurrently(&tenants, 3, |t| {
        let c = c.clone();
        async move { c.fetch(&t, Resource::Messages, None).await }
    })
    .await;
    assert_eq!(results.len(), 6);
    for (i, (name, r)) in results.iter().enumerate() {
        assert_eq!(name, &format!("tenant{i}"));
        match r {
            Ok(f) => assert_eq!(f.items.len(), 3),
            Err(e) => {
                assert_eq!(i, 3);
                assert_eq!(e.code(), Some("invalid_client"));
                assert_eq!(e.tenant(), Some("tenant3"));
            }
        }
    }
    assert!(results[3].1.is_err());
}

/// A `MakeWriter` collecting everything logged.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Everything every test logs, at trace level. A global subscriber, set
/// before any test logs: a scoped one can miss events whose callsite another
/// test thread registers at the same moment.
fn logs() -> &'static Capture {
    static LOGS: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        capture
    })
}

#[tokio::test]
async fn secrets_never_reach_errors_or_logs() {
    let fake = start().await;
    let cert_pem = std::fs::read(testdata("test-app.crt.pem")).expect("cert");
    *fake.cert.lock().unwrap() = Some(("not-this-one".into(), cert_pem));
    let c = client(fast());
    let mut errors = Vec::new();

    // a token endpoint that echoes the secret and the assertion back
    let t = tenant(&fake, "contoso", secret());
    let t2 = tenant(&fake, "fabrikam", certificate("test-app"));
    fake.echo_credentials.store(true, Ordering::SeqCst);
    errors.push(c.check_auth(&t).await.expect_err("refused"));
    errors.push(c.check_auth(&t2).await.expect_err("refused"));
    fake.echo_credentials.store(false, Ordering::SeqCst);
    // a Graph error that echoes the access token
    fake.revoke_tokens();
    c.check_auth(&t).await.expect("token");
    let token = fake.valid_tokens.lock().unwrap()[0].clone();
    fake.script_graph([canned(
        403,
        &graph_error("accessDenied", &format!("token {token} lacks a role")),
    )]);
    errors.push(
        c.fetch(&t, Resource::Messages, None)
            .await
            .expect_err("denied"),
    );
    // transient failures are logged; then success
    fake.script_graph([canned(503, ""), canned(429, "")]);
    c.fetch(&t, Resource::Messages, None).await.expect("fetch");
    // a certificate the fake does not know
    errors.push(c.check_auth(&t2).await.expect_err("refused"));

    // this test's logs and those of the tests that ran before or alongside
    let logs = String::from_utf8(logs().0.lock().unwrap().clone()).expect("utf-8");
    assert!(logs.contains("retrying"), "the capture works: {logs}");
    assert!(logs.contains("access token obtained"));
    let tokens = fake.valid_tokens.lock().unwrap().clone();
    assert!(!tokens.is_empty());
    let assertions: Vec<String> = fake
        .token_forms
        .lock()
        .unwrap()
        .iter()
        .filter_map(|f| f.get("client_assertion").cloned())
        .collect();
    assert_eq!(assertions.len(), 2);
    for e in &errors {
        let texts = [e.to_string(), format!("{e:?}")];
        for text in texts {
            assert!(!text.contains(SECRET), "{text}");
            for s in tokens.iter().chain(&assertions) {
                assert!(!text.contains(s.as_str()), "{text}");
            }
        }
    }
    assert!(
        errors[0]
            .to_string()
            .contains("credential [redacted] is wrong"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1]
            .to_string()
            .contains("credential [redacted] is wrong"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2]
            .to_string()
            .contains("token [redacted] lacks a role"),
        "{}",
        errors[2]
    );
    assert!(!logs.contains(SECRET));
    assert!(!logs.contains("client_secret="));
    assert!(!logs.contains("eyJ"), "no JWT in the logs");
    for s in tokens.iter().chain(&assertions) {
        assert!(!logs.contains(s.as_str()));
    }
    assert!(!format!("{c:?}").contains(SECRET));
}
