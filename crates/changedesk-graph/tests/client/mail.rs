//! `GraphClient::send_mail` against the fake's `sendMail`, which answers
//! as the simulator's (`changedesk-sim`, `POST /v1.0/users/{user}/sendMail`)
//! does: 202 for the one mailbox it knows, 401 for an unknown token, 403
//! `ErrorAccessDenied` while Mail.Send is revoked, 404 `ErrorInvalidUser`,
//! 415 without JSON, and scripted answers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use changedesk_graph::{
    ClientOptions, Disposition, GraphError, GraphMail, MAILBOX_CONCURRENCY, Step,
};

use super::{Canned, Fake, canned, client, fast, graph_error, respond, secret, start, tenant};

const SENDER: &str = "changedesk@contoso.onmicrosoft.com";

/// One `sendMail` request as the fake saw it.
#[derive(Debug, Clone)]
pub(crate) struct MailRequest {
    pub user: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: serde_json::Value,
}

/// The fake's mail side.
#[derive(Default)]
pub(crate) struct FakeMail {
    /// Mail.Send is not granted.
    pub revoked: AtomicBool,
    pub script: Mutex<VecDeque<Canned>>,
    pub requests: Mutex<Vec<MailRequest>>,
    /// How long an accepted request takes.
    pub delay: Mutex<Duration>,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl FakeMail {
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    fn last(&self) -> MailRequest {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

/// `POST /graph/v1.0/users/{user}/sendMail`.
pub(crate) async fn send_mail_endpoint(
    State(fake): State<Arc<Fake>>,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mail = &fake.mail;
    mail.requests.lock().unwrap().push(MailRequest {
        user: user.clone(),
        authorization: h("authorization"),
        content_type: h("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    });
    let scripted = mail.script.lock().unwrap().pop_front();
    if let Some(c) = scripted {
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
    if mail.revoked.load(Ordering::SeqCst) {
        return respond(canned(
            403,
            &graph_error(
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
        ));
    }
    if !user.eq_ignore_ascii_case(SENDER) {
        return respond(canned(
            404,
            &graph_error(
                "ErrorInvalidUser",
                &format!("The requested user '{user}' is invalid."),
            ),
        ));
    }
    if h("content-type").as_deref() != Some("application/json") {
        return respond(canned(415, &graph_error("RequestBodyRead", "not JSON")));
    }
    let now = mail.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    mail.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *mail.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    mail.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut c = canned(202, "");
    c.headers.clear();
    respond(c)
}

fn mail() -> GraphMail {
    GraphMail {
        internet_message_id: "<d-42.1@changedesk.contoso.example>".into(),
        to: vec!["ops@contoso.example".into(), "cab@contoso.example".into()],
        reply_to: Some("owner@contoso.example".into()),
        subject: "MC1234567 changed: Teams – neue Besprechungsoptionen".into(),
        html: "<p>The rollout moved to <b>May</b>.</p>".into(),
        headers: vec![("X-Changedesk-Delivery".into(), "d-42".into())],
    }
}

fn throttled(retry_after: &str, code: &str, message: &str) -> Canned {
    let mut c = canned(429, &graph_error(code, message));
    c.headers.push(("retry-after", retry_after.into()));
    c
}

#[tokio::test]
async fn mail_is_one_post_of_graphs_json() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    c.send_mail(&t, SENDER, &mail()).await.expect("accepted");
    assert_eq!(fake.mail.count(), 1);
    assert_eq!(fake.token_count(), 1);
    let r = fake.mail.last();
    assert_eq!(r.user, SENDER);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let token = fake.valid_tokens.lock().unwrap()[0].clone();
    assert_eq!(r.authorization, Some(format!("Bearer {token}")));
    assert_eq!(
        r.body,
        serde_json::json!({
            "message": {
                "subject": "MC1234567 changed: Teams – neue Besprechungsoptionen",
                "body": {"contentType": "HTML", "content": "<p>The rollout moved to <b>May</b>.</p>"},
                "toRecipients": [
                    {"emailAddress": {"address": "ops@contoso.example"}},
                    {"emailAddress": {"address": "cab@contoso.example"}},
                ],
                "replyTo": [{"emailAddress": {"address": "owner@contoso.example"}}],
                "internetMessageHeaders": [{"name": "X-Changedesk-Delivery", "value": "d-42"}],
                "internetMessageId": "<d-42.1@changedesk.contoso.example>",
            },
            "saveToSentItems": false,
        })
    );
    // the token is shared with the listings
    c.fetch(&t, changedesk_graph::Resource::Messages, None)
        .await
        .expect("fetch");
    c.send_mail(&t, SENDER, &mail()).await.expect("accepted");
    assert_eq!(fake.token_count(), 1);
}

#[tokio::test]
async fn a_missing_permission_names_mail_send_and_consent() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    fake.mail.revoked.store(true, Ordering::SeqCst);
    let e = c.send_mail(&t, SENDER, &mail()).await.expect_err("403");
    assert!(
        matches!(
            e,
            GraphError::Permanent {
                status: 403,
                step: Step::SendMail,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("ErrorAccessDenied"));
    assert!(e.is_auth() && e.is_permanent() && !e.is_retryable());
    assert_eq!(e.disposition(), Disposition::Auth);
    let text = e.to_string();
    assert!(
        text.starts_with(
            "tenant contoso: sending mail refused: HTTP 403 ErrorAccessDenied: Access is denied."
        ),
        "{text}"
    );
    assert!(text.contains("Mail.Send"), "{text}");
    assert!(text.contains("admin consent"), "{text}");
    assert!(text.contains(SENDER), "{text}");
    assert_eq!(fake.mail.count(), 1, "a 403 is not retried");

    // once granted, the next attempt asks for a token that carries it
    fake.mail.revoked.store(false, Ordering::SeqCst);
    c.send_mail(&t, SENDER, &mail()).await.expect("granted");
    assert_eq!(fake.token_count(), 2);
}

#[tokio::test]
async fn throttling_is_reported_at_once_with_retry_after() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(ClientOptions {
        max_retry_time: Duration::from_secs(120),
        ..fast()
    });
    fake.mail.script.lock().unwrap().push_back(throttled(
        "30",
        "ApplicationThrottled",
        "Application is over its MailboxConcurrency limit.",
    ));
    let started = Instant::now();
    let e = c.send_mail(&t, SENDER, &mail()).await.expect_err("429");
    assert!(started.elapsed() < Duration::from_secs(5), "no waiting");
    assert_eq!(fake.mail.count(), 1, "no retry");
    assert!(
        matches!(
            e,
            GraphError::Transient {
                step: Step::SendMail,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(
        e.disposition(),
        Disposition::RetryLater(Some(Duration::from_secs(30)))
    );
    assert!(!e.is_permanent() && !e.is_auth());
    assert_eq!(
        e.to_string(),
        "tenant contoso: sending mail failed: HTTP 429 ApplicationThrottled: Application is over its MailboxConcurrency limit. (request-id req-1); worth trying again after 30.0s (Retry-After)"
    );

    // server errors, with or without Retry-After
    fake.mail.script.lock().unwrap().extend([
        canned(503, &graph_error("serviceNotAvailable", "try later")),
        {
            let mut c = canned(504, "");
            c.headers.push(("retry-after", "2.5".into()));
            c
        },
    ]);
    let e = c.send_mail(&t, SENDER, &mail()).await.expect_err("503");
    assert_eq!(e.disposition(), Disposition::RetryLater(None));
    assert!(e.to_string().ends_with("worth trying again later"), "{e}");
    let e = c.send_mail(&t, SENDER, &mail()).await.expect_err("504");
    assert_eq!(e.retry_after(), Some(Duration::from_millis(2500)));

    // a timeout
    fake.mail.script.lock().unwrap().push_back(Canned {
        delay: Duration::from_secs(3),
        ..canned(202, "")
    });
    let quick = client(ClientOptions {
        request_timeout: Duration::from_millis(300),
        ..fast()
    });
    let e = quick
        .send_mail(&t, SENDER, &mail())
        .await
        .expect_err("timeout");
    assert_eq!(e.disposition(), Disposition::RetryLater(None));
    assert!(e.to_string().contains("no complete response"), "{e}");

    // a token endpoint in trouble is not retried either
    let fresh = client(fast());
    let before = fake.token_count();
    fake.script_token([canned(503, "")]);
    let e = fresh
        .send_mail(&t, SENDER, &mail())
        .await
        .expect_err("token 503");
    assert!(
        matches!(
            e,
            GraphError::Transient {
                step: Step::Token,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(fake.token_count() - before, 1);
}

#[tokio::test]
async fn an_unknown_sender_or_a_bad_message_is_permanent() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    let e = c
        .send_mail(&t, "nobody@contoso.onmicrosoft.com", &mail())
        .await
        .expect_err("404");
    assert!(
        matches!(e, GraphError::Permanent { status: 404, .. }),
        "{e:?}"
    );
    assert_eq!(e.code(), Some("ErrorInvalidUser"));
    assert_eq!(e.disposition(), Disposition::Permanent);
    assert!(
        e.to_string()
            .contains("The requested user 'nobody@contoso.onmicrosoft.com' is invalid."),
        "{e}"
    );
    fake.mail.script.lock().unwrap().push_back(canned(
        400,
        &graph_error(
            "ErrorInvalidRecipients",
            "At least one recipient is not valid.",
        ),
    ));
    let e = c.send_mail(&t, SENDER, &mail()).await.expect_err("400");
    assert_eq!(e.disposition(), Disposition::Permanent);
    assert_eq!(e.code(), Some("ErrorInvalidRecipients"));
    assert_eq!(fake.mail.count(), 2, "neither is retried");
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    c.send_mail(&t, SENDER, &mail()).await.expect("accepted");
    fake.revoke_tokens();
    c.send_mail(&t, SENDER, &mail())
        .await
        .expect("re-authenticated");
    assert_eq!(fake.mail.count(), 3);
    assert_eq!(fake.token_count(), 2);

    // a 401 that persists is a permission problem, after one new token
    let unauthorized = canned(
        401,
        &graph_error(
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
    );
    fake.mail
        .script
        .lock()
        .unwrap()
        .extend([unauthorized.clone(), unauthorized]);
    let e = c.send_mail(&t, SENDER, &mail()).await.expect_err("401");
    assert!(
        matches!(e, GraphError::Permanent { status: 401, .. }),
        "{e:?}"
    );
    assert_eq!(e.disposition(), Disposition::Auth);
    assert!(e.to_string().contains("Mail.Send"), "{e}");
    assert_eq!(fake.mail.count(), 5);
    assert_eq!(fake.token_count(), 3);
}

#[tokio::test]
async fn a_mail_graph_would_refuse_is_not_sent() {
    let fake = start().await;
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    let e = c
        .send_mail(
            &t,
            SENDER,
            &GraphMail {
                headers: vec![(
                    "List-Unsubscribe".into(),
                    "<https://changedesk.example/u/1>".into(),
                )],
                ..mail()
            },
        )
        .await
        .expect_err("refused");
    assert!(matches!(e, GraphError::InvalidMail { .. }), "{e:?}");
    assert_eq!(e.disposition(), Disposition::Permanent);
    assert!(
        e.to_string().starts_with(
            "tenant contoso: cannot send this mail: the header `List-Unsubscribe` is not named x-"
        ),
        "{e}"
    );
    let e = c.send_mail(&t, " ", &mail()).await.expect_err("no sender");
    assert!(matches!(e, GraphError::InvalidMail { .. }), "{e:?}");
    assert_eq!((fake.mail.count(), fake.token_count()), (0, 0));
}

#[tokio::test]
async fn a_mailbox_has_at_most_four_requests_in_flight() {
    let fake = start().await;
    *fake.mail.delay.lock().unwrap() = Duration::from_millis(150);
    let t = tenant(&fake, "contoso", secret());
    let c = client(fast());
    let tasks: Vec<_> = (0..9)
        .map(|_| {
            let c = c.clone();
            let t = t.clone();
            tokio::spawn(async move { c.send_mail(&t, SENDER, &mail()).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("accepted");
    }
    assert_eq!(
        fake.mail.max_in_flight.load(Ordering::SeqCst),
        MAILBOX_CONCURRENCY
    );
    assert_eq!(fake.mail.count(), 9);
}
