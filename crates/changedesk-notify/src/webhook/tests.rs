use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::*;

const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const VECTOR_TS: i64 = 1_614_265_330;
const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
const VECTOR_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// In the query of every test URL; must never show up in an outcome.
const URL_SECRET: &str = "SECRETSIG";
const NOW: i64 = 1_771_318_800; // 2026-02-17T09:00:00Z
const BODY: &[u8] =
    br#"{"type":"change.updated","timestamp":"2026-02-17T09:00:00.000Z","data":{"id":"42"}}"#;

// ---------------------------------------------------------------- signing

#[test]
fn standard_webhooks_test_vector() {
    let secret = WebhookSecret::parse(VECTOR_SECRET).unwrap();
    assert_eq!(sign(&secret, VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIG);
    // any change to id, timestamp or body changes the signature
    assert_ne!(
        sign(&secret, "msg_other", VECTOR_TS, VECTOR_BODY),
        VECTOR_SIG
    );
    assert_ne!(
        sign(&secret, VECTOR_ID, VECTOR_TS + 1, VECTOR_BODY),
        VECTOR_SIG
    );
    assert_ne!(
        sign(&secret, VECTOR_ID, VECTOR_TS, br#"{"test":2432232314}"#),
        VECTOR_SIG
    );
    // the library's negative case
    assert_ne!(
        sign(&secret, VECTOR_ID, VECTOR_TS, VECTOR_BODY),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
    );
}

#[test]
fn parse_accepts_padding_variants_and_whitespace() {
    let unpadded = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let spaced = WebhookSecret::parse("  whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
    assert_eq!(
        sign(&unpadded, VECTOR_ID, VECTOR_TS, VECTOR_BODY),
        sign(&spaced, VECTOR_ID, VECTOR_TS, VECTOR_BODY)
    );
    // 25 bytes: base64 needs padding, accepted with and without
    let padded = format!("whsec_{}", STANDARD.encode([7u8; 25]));
    assert!(padded.ends_with('='));
    WebhookSecret::parse(&padded).unwrap();
    WebhookSecret::parse(padded.trim_end_matches('=')).unwrap();
    // the bounds themselves
    WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 24]))).unwrap();
    WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 64]))).unwrap();
}

#[test]
fn parse_errors_do_not_echo_the_secret() {
    let cases: Vec<(String, &str)> = vec![
        // no prefix
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(), "whsec_"),
        ("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(), "whsec_"),
        // not base64
        (
            "whsec_MfKQ9r8GKYq!TwjUPD8ILPZIo2LaLaSw".to_owned(),
            "base64",
        ),
        (
            "whsec_".to_owned() + "Zm9v-_Zm9vYmFyYmF6cXV4cXV1eA",
            "base64",
        ),
        // too short / too long
        (format!("whsec_{}", STANDARD.encode([0x5au8; 16])), "not 16"),
        (format!("whsec_{}", STANDARD.encode([0x5au8; 65])), "not 65"),
        (format!("whsec_{}", STANDARD.encode([0x5au8; 23])), "not 23"),
        ("whsec_".to_owned(), "not 0"),
    ];
    for (input, expected) in cases {
        let err = WebhookSecret::parse(&input).unwrap_err();
        let msg = err.to_string();
        let dbg = format!("{err:?}");
        assert!(
            msg.contains(expected),
            "{msg:?} should mention {expected:?}"
        );
        let body = input.strip_prefix("whsec_").unwrap_or(&input);
        if !body.is_empty() {
            assert!(!msg.contains(body), "{msg:?} echoes the secret");
            assert!(!dbg.contains(body), "{dbg:?} echoes the secret");
            // not even a fragment of it
            let fragment: String = body.chars().take(8).collect();
            assert!(!msg.contains(&fragment) && !dbg.contains(&fragment));
        }
    }
}

#[test]
fn generated_secret_round_trips_and_debug_is_redacted() {
    let (secret, text) = WebhookSecret::generate().unwrap();
    let text = text.expose_secret();
    assert!(text.starts_with("whsec_"));
    let decoded = STANDARD
        .decode(text.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(decoded.len(), 32);
    let parsed = WebhookSecret::parse(text).unwrap();
    assert_eq!(
        sign(&secret, "msg_1", 1, b"{}"),
        sign(&parsed, "msg_1", 1, b"{}")
    );
    let (other, other_text) = WebhookSecret::generate().unwrap();
    assert_ne!(text, other_text.expose_secret());
    assert_ne!(
        sign(&secret, "msg_1", 1, b"{}"),
        sign(&other, "msg_1", 1, b"{}")
    );
    let dbg = format!("{secret:?}");
    assert_eq!(dbg, "WebhookSecret([redacted])");
    assert!(!dbg.contains(text.strip_prefix("whsec_").unwrap()));
}

#[test]
fn endpoint_debug_shows_only_the_target() {
    let url: Url =
        format!("https://hooks.example.com:8443/services/T0/B0/{URL_SECRET}?sig={URL_SECRET}")
            .parse()
            .unwrap();
    let endpoint = WebhookEndpoint::new(url, WebhookSecret::parse(VECTOR_SECRET).unwrap());
    let dbg = format!("{endpoint:?}");
    assert!(dbg.contains("https://hooks.example.com:8443"), "{dbg}");
    assert!(!dbg.contains(URL_SECRET), "{dbg}");
    assert!(!dbg.contains("MfKQ9r8"), "{dbg}");
    assert_eq!(endpoint.target(), "https://hooks.example.com:8443");
}

#[test]
fn retry_after_seconds_and_http_date() {
    assert_eq!(
        parse_retry_after("120", NOW),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", NOW), Some(Duration::ZERO));
    // 2015-10-21T07:28:00Z = 1445412480
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    assert_eq!(
        parse_retry_after(date, 1_445_412_480 - 90),
        Some(Duration::from_secs(90))
    );
    assert_eq!(
        parse_retry_after(date, 1_445_412_480 + 90),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("-5", NOW), None);
    assert_eq!(parse_retry_after("soon", NOW), None);
    assert_eq!(parse_retry_after("", NOW), None);
    assert_eq!(parse_retry_after("1.5", NOW), None);
}

#[test]
fn validate_reports_the_target_without_path_or_query() {
    let secret = || WebhookSecret::parse(VECTOR_SECRET).unwrap();
    let cases = [
        (
            format!("http://example.com/x?sig={URL_SECRET}"),
            false,
            "https",
        ),
        (
            format!("ftp://example.com/x?sig={URL_SECRET}"),
            true,
            "scheme",
        ),
        (
            format!("https://user:{URL_SECRET}@example.com/x"),
            true,
            "credentials",
        ),
        (
            format!("https://{URL_SECRET}@example.com/x"),
            true,
            "credentials",
        ),
        (
            format!("https://10.0.0.1/x?sig={URL_SECRET}"),
            true,
            "private",
        ),
        (
            format!("https://[::ffff:10.0.0.1]/x?sig={URL_SECRET}"),
            true,
            "private",
        ),
        (
            format!("https://169.254.169.254/latest?sig={URL_SECRET}"),
            true,
            "private",
        ),
        // decimal and hex IPv4 forms are normalized by the URL parser
        (
            format!("https://2130706433/x?sig={URL_SECRET}"),
            true,
            "private",
        ),
        (
            format!("https://0x7f.1/x?sig={URL_SECRET}"),
            true,
            "private",
        ),
    ];
    for (url, insecure_ok, expected) in cases {
        let endpoint = WebhookEndpoint {
            url: url.parse().unwrap(),
            secrets: vec![secret()],
            allow_private: false,
            allow_insecure_http: insecure_ok,
        };
        let msg = endpoint.validate().unwrap_err().to_string();
        assert!(msg.contains(expected), "{url}: {msg}");
        assert!(!msg.contains(URL_SECRET), "{url}: {msg}");
    }
    let mut ok = WebhookEndpoint::new("https://example.com/h".parse().unwrap(), secret());
    ok.validate().unwrap();
    ok.secrets.clear();
    assert!(
        ok.validate()
            .unwrap_err()
            .to_string()
            .contains("no signing secret")
    );
}

#[test]
fn zero_timeout_is_rejected() {
    assert!(matches!(
        WebhookSender::new(Duration::ZERO),
        Err(WebhookError::Timeout)
    ));
}

// ------------------------------------------------------- over HTTP (axum)

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Hits(Arc<Mutex<Vec<Received>>>);

impl Hits {
    fn all(&self) -> Vec<Received> {
        self.0.lock().unwrap().clone()
    }
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Routes by path; every response to a failure echoes the request URI
/// (path and query), as some receivers do, to exercise the scrubbing.
async fn handle(State(hits): State<Hits>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    hits.0.lock().unwrap().push(Received {
        path: path.clone(),
        headers,
        body,
    });
    let echo = format!("no luck for {uri}");
    match path.as_str() {
        "/hook" => (StatusCode::OK, "ok").into_response(),
        "/accepted" => StatusCode::ACCEPTED.into_response(),
        "/s500" => (StatusCode::INTERNAL_SERVER_ERROR, echo).into_response(),
        "/s503" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT")],
            echo,
        )
            .into_response(),
        "/s429" => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "120")],
            echo,
        )
            .into_response(),
        "/s408" => (StatusCode::REQUEST_TIMEOUT, echo).into_response(),
        "/s410" => (StatusCode::GONE, echo).into_response(),
        "/s404" => (StatusCode::NOT_FOUND, format!("not here; {echo}")).into_response(),
        "/s401" => (StatusCode::UNAUTHORIZED, [(header::RETRY_AFTER, "5")], echo).into_response(),
        "/s302" => (
            StatusCode::FOUND,
            [(header::LOCATION, "/hook?sig=SECRETSIG")],
        )
            .into_response(),
        "/big" => (StatusCode::BAD_GATEWAY, "x".repeat(1024 * 1024)).into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (StatusCode::OK, "late").into_response()
        }
        _ => (StatusCode::IM_A_TEAPOT, echo).into_response(),
    }
}

struct TestServer {
    addr: SocketAddr,
    hits: Hits,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    async fn start() -> Self {
        let hits = Hits::default();
        let app = Router::new().fallback(handle).with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer { addr, hits, task }
    }

    fn url(&self, path: &str) -> Url {
        format!("http://{}{path}?sig={URL_SECRET}", self.addr)
            .parse()
            .unwrap()
    }

    /// Loopback http: both relaxations on, as the tests need them.
    fn endpoint(&self, path: &str) -> WebhookEndpoint {
        WebhookEndpoint {
            url: self.url(path),
            secrets: vec![WebhookSecret::parse(VECTOR_SECRET).unwrap()],
            allow_private: true,
            allow_insecure_http: true,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn sender() -> WebhookSender {
    WebhookSender::new(Duration::from_secs(10)).unwrap()
}

/// No outcome text may contain the URL's query or secret path part.
fn assert_clean(outcome: &SendOutcome) {
    let text = format!("{outcome:?}");
    assert!(!text.contains(URL_SECRET), "leaks the URL secret: {text}");
    assert!(!text.contains("sig="), "leaks the URL query: {text}");
}

#[tokio::test]
async fn delivers_signed_request_with_standard_headers() {
    let server = TestServer::start().await;
    let outcome = sender()
        .send(&server.endpoint("/hook"), "msg_42", BODY, NOW)
        .await;
    assert_eq!(outcome, SendOutcome::Delivered { status: 200 });
    let hits = server.hits.all();
    assert_eq!(hits.len(), 1);
    let req = hits.first().unwrap();
    assert_eq!(req.path, "/hook");
    assert_eq!(&req.body[..], BODY);
    let h = |name: &str| req.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("webhook-id"), "msg_42");
    assert_eq!(h("webhook-timestamp"), NOW.to_string());
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(
        h("user-agent"),
        format!("changedesk/{}", env!("CARGO_PKG_VERSION"))
    );
    // verify as a receiver would, on the bytes received
    let id = h("webhook-id");
    let ts: i64 = h("webhook-timestamp").parse().unwrap();
    let secret = WebhookSecret::parse(VECTOR_SECRET).unwrap();
    let expected = sign(&secret, &id, ts, &req.body);
    assert_eq!(h("webhook-signature"), expected);

    let outcome = sender()
        .send(&server.endpoint("/accepted"), "msg_43", BODY, NOW)
        .await;
    assert_eq!(outcome, SendOutcome::Delivered { status: 202 });
}

#[tokio::test]
async fn two_secrets_give_two_v1_entries_that_both_verify() {
    let server = TestServer::start().await;
    let (new_secret, new_text) = WebhookSecret::generate().unwrap();
    let mut endpoint = server.endpoint("/hook");
    endpoint.secrets.insert(0, new_secret);
    let outcome = sender().send(&endpoint, "msg_rot", BODY, NOW).await;
    assert_eq!(outcome, SendOutcome::Delivered { status: 200 });
    let hits = server.hits.all();
    let req = hits.first().unwrap();
    let header = req
        .headers
        .get("webhook-signature")
        .unwrap()
        .to_str()
        .unwrap();
    let entries: Vec<&str> = header.split(' ').collect();
    assert_eq!(entries.len(), 2, "{header}");
    assert!(entries.iter().all(|e| e.starts_with("v1,")));
    let new_parsed = WebhookSecret::parse(new_text.expose_secret()).unwrap();
    let old_parsed = WebhookSecret::parse(VECTOR_SECRET).unwrap();
    assert_eq!(
        entries.first().copied(),
        Some(sign(&new_parsed, "msg_rot", NOW, &req.body).as_str())
    );
    assert_eq!(
        entries.get(1).copied(),
        Some(sign(&old_parsed, "msg_rot", NOW, &req.body).as_str())
    );
}

#[tokio::test]
async fn status_classification() {
    let server = TestServer::start().await;
    let s = sender();
    let send = |path: &'static str| {
        let endpoint = server.endpoint(path);
        let s = s.clone();
        async move { s.send(&endpoint, "msg_1", BODY, NOW).await }
    };

    let o = send("/s500").await;
    assert_clean(&o);
    match &o {
        SendOutcome::Retry {
            status: Some(500),
            retry_after: None,
            error,
        } => {
            assert!(error.contains("HTTP 500"), "{error}");
            assert!(
                error.contains(&format!("http://{}", server.addr)),
                "{error}"
            );
            assert!(error.contains("[redacted]"), "{error}");
        }
        other => panic!("500: {other:?}"),
    }

    let o = send("/s503").await;
    assert_clean(&o);
    // the HTTP date is in the past relative to NOW: retry at once
    assert!(
        matches!(o, SendOutcome::Retry { status: Some(503), retry_after: Some(d), .. } if d.is_zero()),
        "{o:?}"
    );
    let dated = server.endpoint("/s503");
    let o = s.send(&dated, "msg_1", BODY, 1_445_412_480 - 90).await;
    assert!(
        matches!(o, SendOutcome::Retry { status: Some(503), retry_after: Some(d), .. } if d == Duration::from_secs(90)),
        "{o:?}"
    );

    let o = send("/s429").await;
    assert_clean(&o);
    assert!(
        matches!(o, SendOutcome::Retry { status: Some(429), retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{o:?}"
    );

    let o = send("/s408").await;
    assert_clean(&o);
    assert!(
        matches!(
            o,
            SendOutcome::Retry {
                status: Some(408),
                ..
            }
        ),
        "{o:?}"
    );

    assert_eq!(send("/s410").await, SendOutcome::Gone);

    let o = send("/s404").await;
    assert_clean(&o);
    match &o {
        SendOutcome::Failed {
            status: Some(404),
            error,
        } => assert!(error.contains("not here"), "{error}"),
        other => panic!("404: {other:?}"),
    }

    // Retry-After on a permanent failure is not reported
    let o = send("/s401").await;
    assert!(
        matches!(
            o,
            SendOutcome::Failed {
                status: Some(401),
                ..
            }
        ),
        "{o:?}"
    );

    // teapot and other 4xx: permanent
    let o = send("/elsewhere").await;
    assert_clean(&o);
    assert!(
        matches!(
            o,
            SendOutcome::Failed {
                status: Some(418),
                ..
            }
        ),
        "{o:?}"
    );
}

#[tokio::test]
async fn redirect_is_a_failure_and_not_followed() {
    let server = TestServer::start().await;
    let o = sender()
        .send(&server.endpoint("/s302"), "msg_1", BODY, NOW)
        .await;
    assert_clean(&o);
    match &o {
        SendOutcome::Failed {
            status: Some(302),
            error,
        } => assert!(error.contains("redirect"), "{error}"),
        other => panic!("302: {other:?}"),
    }
    let paths: Vec<String> = server.hits.all().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/s302".to_owned()], "the redirect was followed");
}

#[tokio::test]
async fn large_error_body_is_clipped() {
    let server = TestServer::start().await;
    let o = sender()
        .send(&server.endpoint("/big"), "msg_1", BODY, NOW)
        .await;
    let error = o.error().unwrap();
    assert!(
        matches!(
            o,
            SendOutcome::Retry {
                status: Some(502),
                ..
            }
        ),
        "{o:?}"
    );
    let xs = error.chars().filter(|&c| c == 'x').count();
    assert_eq!(xs, 300, "{error}");
    assert!(error.ends_with('…'), "{error}");
    assert!(error.chars().count() < 400, "{error}");
}

#[tokio::test]
async fn slow_response_times_out_as_retry() {
    let server = TestServer::start().await;
    let s = WebhookSender::new(Duration::from_millis(300)).unwrap();
    let started = std::time::Instant::now();
    let o = s.send(&server.endpoint("/slow"), "msg_1", BODY, NOW).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_clean(&o);
    match &o {
        SendOutcome::Retry {
            status: None,
            retry_after: None,
            error,
        } => assert!(error.contains("timed out"), "{error}"),
        other => panic!("slow: {other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_retry() {
    // a port nothing listens on any more
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let endpoint = WebhookEndpoint {
        url: format!("http://{addr}/hook?sig={URL_SECRET}")
            .parse()
            .unwrap(),
        secrets: vec![WebhookSecret::parse(VECTOR_SECRET).unwrap()],
        allow_private: true,
        allow_insecure_http: true,
    };
    let o = sender().send(&endpoint, "msg_1", BODY, NOW).await;
    assert_clean(&o);
    assert!(
        matches!(o, SendOutcome::Retry { status: None, .. }),
        "{o:?}"
    );
}

#[tokio::test]
async fn loopback_refused_unless_private_allowed() {
    let server = TestServer::start().await;
    let s = sender();

    // IP literal
    let mut endpoint = server.endpoint("/hook");
    endpoint.allow_private = false;
    let o = s.send(&endpoint, "msg_1", BODY, NOW).await;
    assert_clean(&o);
    match &o {
        SendOutcome::Failed {
            status: None,
            error,
        } => assert!(error.contains("private or reserved"), "{error}"),
        other => panic!("loopback literal: {other:?}"),
    }

    // host name resolving to loopback: refused by the resolver
    let mut by_name = endpoint.clone();
    by_name
        .url
        .set_host(Some("localhost"))
        .expect("a host name");
    let o = s.send(&by_name, "msg_1", BODY, NOW).await;
    assert_clean(&o);
    match &o {
        SendOutcome::Failed {
            status: None,
            error,
        } => {
            assert!(error.contains("localhost"), "{error}");
            assert!(error.contains("private or reserved"), "{error}");
        }
        other => panic!("localhost by name: {other:?}"),
    }
    assert_eq!(
        server.hits.count(),
        0,
        "a refused request reached the server"
    );

    // allowed explicitly: both go through
    by_name.allow_private = true;
    assert_eq!(
        s.send(&by_name, "msg_1", BODY, NOW).await,
        SendOutcome::Delivered { status: 200 }
    );
    endpoint.allow_private = true;
    assert_eq!(
        s.send(&endpoint, "msg_1", BODY, NOW).await,
        SendOutcome::Delivered { status: 200 }
    );
    assert_eq!(server.hits.count(), 2);
}

#[tokio::test]
async fn http_refused_unless_insecure_allowed() {
    let server = TestServer::start().await;
    let mut endpoint = server.endpoint("/hook");
    endpoint.allow_insecure_http = false;
    let o = sender().send(&endpoint, "msg_1", BODY, NOW).await;
    assert_clean(&o);
    match &o {
        SendOutcome::Failed {
            status: None,
            error,
        } => assert!(error.contains("https"), "{error}"),
        other => panic!("http: {other:?}"),
    }
    assert_eq!(server.hits.count(), 0);
}

#[tokio::test]
async fn bad_message_ids_and_endpoints_fail_without_sending() {
    let server = TestServer::start().await;
    let s = sender();
    let endpoint = server.endpoint("/hook");
    for id in ["", "msg.1", "msg 1", "msg\n1", "msg_ü"] {
        let o = s.send(&endpoint, id, BODY, NOW).await;
        assert!(
            matches!(o, SendOutcome::Failed { status: None, .. }),
            "{id:?}: {o:?}"
        );
    }
    let mut no_secret = endpoint.clone();
    no_secret.secrets.clear();
    let o = s.send(&no_secret, "msg_1", BODY, NOW).await;
    assert_clean(&o);
    assert!(
        matches!(o, SendOutcome::Failed { status: None, .. }),
        "{o:?}"
    );

    let mut userinfo = endpoint.clone();
    userinfo.url.set_username("someone").unwrap();
    userinfo.url.set_password(Some(URL_SECRET)).unwrap();
    let o = s.send(&userinfo, "msg_1", BODY, NOW).await;
    assert_clean(&o);
    assert!(
        matches!(o, SendOutcome::Failed { status: None, .. }),
        "{o:?}"
    );

    assert_eq!(server.hits.count(), 0);
}

#[tokio::test]
async fn secret_never_appears_in_outcomes() {
    let server = TestServer::start().await;
    let s = WebhookSender::new(Duration::from_millis(300)).unwrap();
    let mut strict = server.endpoint("/hook");
    strict.allow_private = false;
    let mut plain = server.endpoint("/hook");
    plain.allow_insecure_http = false;
    let mut endpoints = vec![strict, plain];
    for path in [
        "/s500", "/s503", "/s429", "/s404", "/s302", "/slow", "/big", "/x",
    ] {
        endpoints.push(server.endpoint(path));
    }
    for endpoint in &endpoints {
        let o = s.send(endpoint, "msg_1", BODY, NOW).await;
        assert_clean(&o);
        let text = format!("{o:?}");
        assert!(!text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{text}");
        assert!(!text.contains("/s50"), "path echoed: {text}");
    }
}
