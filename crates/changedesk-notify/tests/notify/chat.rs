//! The Teams and Slack senders against the `changedesk-sim` mocks: the
//! real senders, the real wire, and mocks that lose what Teams or Slack
//! would lose.

use std::time::Duration;

use changedesk_notify::{HttpReply, PlainTarget, SendOutcome, WebhookSender, slack, teams};
use changedesk_sim::slack::{SlackConfig, SlackFault, start_webhook};
use changedesk_sim::teams::{FlowConfig, FlowFault, FlowHandle, LostReason, start_flow};
use serde_json::{Value, json};
use url::Url;

const NOW: i64 = 1_771_318_800; // 2026-02-17T09:00:00Z

fn sender() -> WebhookSender {
    WebhookSender::new(Duration::from_secs(5)).unwrap()
}

/// The mocks listen on loopback over plain http.
fn local(url: &str) -> PlainTarget {
    PlainTarget {
        url: Url::parse(url).unwrap(),
        allow_private: true,
        allow_insecure_http: true,
    }
}

fn card(n: usize) -> Value {
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": format!("MC{n} needs action"), "wrap": true},
            {"type": "FactSet", "facts": [{"title": "Service", "value": "Exchange Online"}]}
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open in changedesk", "url": "https://changedesk.example/changes/42"}]
    })
}

fn teams_body(n: usize) -> Vec<u8> {
    serde_json::to_vec(&teams::message(card(n))).unwrap()
}

/// Fails the test if `outcome`'s error text shows any secret part of the
/// flow's URL.
fn assert_no_teams_secret(flow: &FlowHandle, outcome: &SendOutcome) {
    let url = flow.url();
    let sig = &flow.config().sig;
    let id = &flow.config().workflow_id;
    let text = format!("{outcome:?}");
    for secret in [url.as_str(), sig.as_str(), id.as_str(), "sig="] {
        assert!(!text.contains(secret), "{text:?} shows {secret:?}");
    }
}

// ---------------------------------------------------------------- Teams

#[tokio::test]
async fn teams_card_is_delivered_and_posted() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let out = teams::send(&sender(), &local(&flow.url()), &teams_body(1), NOW).await;
    assert_eq!(out, SendOutcome::Delivered { status: 202 });
    let posted = flow.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].card, card(1));
    assert!(flow.lost().is_empty());
    let requests = flow.requests();
    assert!(
        !requests[0].authorization,
        "no Authorization header is sent"
    );
    flow.shutdown().await;
}

#[tokio::test]
async fn teams_429_and_5xx_are_retried_after_the_retry_after() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    flow.fail_next(vec![
        FlowFault::TooManyRequests {
            retry_after_secs: 17,
        },
        FlowFault::Status(503),
    ]);
    let s = sender();
    let target = local(&flow.url());
    let throttled = teams::send(&s, &target, &teams_body(1), NOW).await;
    let SendOutcome::Retry {
        status,
        retry_after,
        error,
    } = &throttled
    else {
        panic!("{throttled:?}")
    };
    assert_eq!(*status, Some(429));
    assert_eq!(*retry_after, Some(Duration::from_secs(17)));
    assert!(error.contains("WorkflowRequestsThrottled"), "{error}");
    assert!(error.starts_with(&format!("http://{}: HTTP 429", flow.addr())));
    assert_no_teams_secret(&flow, &throttled);

    let unavailable = teams::send(&s, &target, &teams_body(1), NOW).await;
    assert!(matches!(
        unavailable,
        SendOutcome::Retry {
            status: Some(503),
            retry_after: None,
            ..
        }
    ));
    assert_no_teams_secret(&flow, &unavailable);
    assert!(flow.posted().is_empty());

    let again = teams::send(&s, &target, &teams_body(1), NOW).await;
    assert_eq!(again, SendOutcome::Delivered { status: 202 });
    assert_eq!(flow.posted().len(), 1);
    flow.shutdown().await;
}

#[tokio::test]
async fn teams_deleted_flow_is_gone() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let s = sender();
    let target = local(&flow.url());
    flow.fail_next(vec![FlowFault::NotFound]);
    assert_eq!(
        teams::send(&s, &target, &teams_body(1), NOW).await,
        SendOutcome::Gone
    );
    flow.delete();
    assert_eq!(
        teams::send(&s, &target, &teams_body(2), NOW).await,
        SendOutcome::Gone
    );
    assert!(flow.posted().is_empty());
    flow.shutdown().await;
}

#[tokio::test]
async fn teams_schema_mismatch_and_auth_are_failures() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let s = sender();
    let target = local(&flow.url());

    // `send` refuses such a body itself; posted anyway, the mock's 400 is
    // classified as a permanent failure naming the code
    let body = br#"{"type":"message"}"#;
    assert!(teams::check(body).is_err());
    let reply = s.post_json(&target, body, NOW).await.unwrap();
    assert_eq!(reply.status, 400);
    let out = teams::classify(&reply);
    let SendOutcome::Failed { status, error } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(*status, Some(400));
    assert!(
        error.contains("HTTP 400 Bad Request: TriggerInputSchemaMismatch: The input body"),
        "{error}"
    );
    assert_no_teams_secret(&flow, &out);

    // a wrong sig: 401, failed, with the hint; the URL shows nowhere
    let wrong = local(&flow.url_with_sig("WrongSignature0123456789abcdefghijklmnopq"));
    let out = teams::send(&s, &wrong, &teams_body(1), NOW).await;
    assert_eq!(out.status(), Some(401));
    assert!(matches!(out, SendOutcome::Failed { .. }));
    assert!(out.error().unwrap().contains("choose Anyone"));
    assert!(!out.error().unwrap().contains("WrongSignature"));
    assert_no_teams_secret(&flow, &out);
    assert!(flow.posted().is_empty() && flow.lost().is_empty());
    flow.shutdown().await;

    // a flow restricted to the tenant: the sender has no token
    let restricted = start_flow(FlowConfig {
        auth: changedesk_sim::teams::FlowAuth::Bearer("t".to_owned()),
        ..FlowConfig::default()
    })
    .await
    .unwrap();
    let out = teams::send(&s, &local(&restricted.url()), &teams_body(1), NOW).await;
    let error = out.error().unwrap();
    assert!(error.contains("DirectApiAuthorizationRequired"), "{error}");
    assert!(error.contains("the flow requires authentication: choose Anyone"));
    restricted.shutdown().await;
}

#[tokio::test]
async fn teams_oversized_card_is_refused_before_sending() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let mut big = card(1);
    big["body"][0]["text"] = json!("x".repeat(teams::MAX_BODY_BYTES));
    let body = serde_json::to_vec(&teams::message(big)).unwrap();
    // over our 20 KiB, under the mock's (and Teams') 28 KB
    assert!(body.len() > teams::MAX_BODY_BYTES && body.len() < 28 * 1024);
    let out = teams::send(&sender(), &local(&flow.url()), &body, NOW).await;
    let SendOutcome::Failed { status, error } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(*status, None);
    assert!(
        error.contains("not sent") && error.contains("20480 bytes"),
        "{error}"
    );
    assert!(flow.requests().is_empty(), "nothing reached the flow");
    assert_no_teams_secret(&flow, &out);

    // a card version Teams does not render is refused too
    let mut v16 = card(2);
    v16["version"] = json!("1.6");
    let body = serde_json::to_vec(&teams::message(v16)).unwrap();
    let out = teams::send(&sender(), &local(&flow.url()), &body, NOW).await;
    assert!(out.error().unwrap().contains("newer than 1.5"));
    assert!(flow.requests().is_empty());
    flow.shutdown().await;
}

#[tokio::test]
async fn teams_30_unpaced_cards_in_a_window_lose_5_behind_202s() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let s = sender();
    let target = local(&flow.url());
    for n in 0..30 {
        let out = teams::send(&s, &target, &teams_body(n), NOW).await;
        // every one is accepted: the 202 says nothing about posting
        assert_eq!(out, SendOutcome::Delivered { status: 202 }, "card {n}");
    }
    assert_eq!(flow.posted().len(), 25);
    let lost = flow.lost();
    assert_eq!(lost.len(), 5);
    assert!(lost.iter().all(|l| l.reason == LostReason::Throttled));
    let lost_cards: Vec<Value> = lost.into_iter().map(|l| l.card).collect();
    assert_eq!(lost_cards, (25..30).map(card).collect::<Vec<_>>());
    flow.shutdown().await;
}

#[tokio::test]
async fn teams_paced_with_the_published_limits_loses_nothing() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let s = sender();
    let target = local(&flow.url());
    let per_window = usize::try_from(teams::POSTS_PER_WINDOW).unwrap();
    for n in 0..(per_window + 5) {
        if n > 0 && n % per_window == 0 {
            // the worker waits out the window
            flow.advance(teams::WINDOW);
        }
        let out = teams::send(&s, &target, &teams_body(n), NOW).await;
        assert_eq!(out, SendOutcome::Delivered { status: 202 });
    }
    assert_eq!(flow.posted().len(), per_window + 5);
    assert!(flow.lost().is_empty());
    flow.shutdown().await;
}

#[tokio::test]
async fn teams_timeout_is_retry_without_the_url() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    flow.fail_next(vec![FlowFault::Delay(Duration::from_secs(3600))]);
    let s = WebhookSender::new(Duration::from_millis(300)).unwrap();
    let out = teams::send(&s, &local(&flow.url()), &teams_body(1), NOW).await;
    let SendOutcome::Retry { status, error, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(*status, None);
    assert!(error.contains("timed out"), "{error}");
    assert_no_teams_secret(&flow, &out);
    flow.shutdown().await;
}

#[tokio::test]
async fn targets_are_checked_before_connecting() {
    let flow = start_flow(FlowConfig::default()).await.unwrap();
    let url = Url::parse(&flow.url()).unwrap();
    let strict = PlainTarget::new(url.clone());
    let out = teams::send(&sender(), &strict, &teams_body(1), NOW).await;
    assert!(out.error().unwrap().contains("plain http is not allowed"));
    assert_no_teams_secret(&flow, &out);
    let https_only_private = PlainTarget {
        allow_insecure_http: true,
        ..PlainTarget::new(url)
    };
    let out = teams::send(&sender(), &https_only_private, &teams_body(1), NOW).await;
    assert!(
        out.error().unwrap().contains("private or reserved"),
        "{out:?}"
    );
    assert_no_teams_secret(&flow, &out);
    assert!(flow.requests().is_empty());
    assert!(strict.validate().is_err());
    assert!(!format!("{strict:?}").contains(&flow.config().sig));
    flow.shutdown().await;
}

/// A receiver that echoes the request target in its error body: the
/// sender redacts the URL, its query, and the bare secret values.
#[tokio::test]
async fn an_echoed_secret_is_redacted() {
    use axum::http::{StatusCode, Uri};
    let app = axum::Router::new().fallback(|uri: Uri| async move {
        let sig = uri
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("sig=")))
            .unwrap_or("")
            .to_owned();
        (
            StatusCode::BAD_REQUEST,
            format!("bad request to {uri}; sig {sig}; path {}", uri.path()),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let sig = "EchoedSig0123456789abcdefghijklmnopqrstuvwx";
    let url = format!(
        "http://{addr}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
    );
    let reply: HttpReply = sender()
        .post_json(&local(&url), &teams_body(1), NOW)
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    assert!(!reply.body_text.contains(sig), "{}", reply.body_text);
    assert!(
        !reply.body_text.contains("/workflows/abc"),
        "{}",
        reply.body_text
    );
    assert!(reply.body_text.contains("[redacted]"));
    let out = teams::classify(&reply);
    assert!(!format!("{out:?}").contains(sig));
    server.abort();
}

// ---------------------------------------------------------------- Slack

fn slack_message(text: &str) -> Value {
    json!({
        "text": slack::escape(text),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "MC123456: Exchange retires legacy auth"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Summary:* {}", slack::escape(text))},
             "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"},
                           "url": "https://changedesk.example/changes/42"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "changedesk"}]}
        ]
    })
}

fn slack_body(text: &str) -> Vec<u8> {
    serde_json::to_vec(&slack_message(text)).unwrap()
}

/// A webhook whose rate does not depend on the test's speed.
async fn slack_hook() -> changedesk_sim::slack::SlackHandle {
    start_webhook(SlackConfig {
        burst: 100,
        interval: Duration::from_secs(60),
        ..SlackConfig::default()
    })
    .await
    .unwrap()
}

fn assert_no_slack_secret(secret: &str, outcome: &SendOutcome) {
    let text = format!("{outcome:?}");
    assert!(!text.contains(secret), "{text:?} shows the secret");
    assert!(!text.contains("/services/"), "{text:?} shows the path");
}

#[tokio::test]
async fn slack_message_is_delivered_with_mentions_defused() {
    let hook = slack_hook().await;
    let body = slack_body("<!channel> Exchange & Outlook <@U024BE7LH>");
    let out = slack::send(&sender(), &local(&hook.url()), &body, NOW).await;
    assert_eq!(out, SendOutcome::Delivered { status: 200 });
    let messages = hook.messages();
    assert_eq!(messages.len(), 1);
    let text = messages[0].text.as_deref().unwrap();
    assert_eq!(
        text,
        "&lt;!channel&gt; Exchange &amp; Outlook &lt;@U024BE7LH&gt;"
    );
    assert!(!messages[0].raw.windows(2).any(|w| w == b"<!"));
    hook.shutdown().await;
}

#[tokio::test]
async fn slack_429_is_retried_after_the_retry_after() {
    let hook = slack_hook().await;
    let s = sender();
    let target = local(&hook.url());
    hook.fail_next(vec![
        SlackFault::TooManyRequests {
            retry_after_secs: 9,
        },
        SlackFault::Error(503, "service_unavailable".to_owned()),
    ]);
    let out = slack::send(&s, &target, &slack_body("a"), NOW).await;
    let SendOutcome::Retry {
        status,
        retry_after,
        error,
    } = &out
    else {
        panic!("{out:?}")
    };
    assert_eq!(*status, Some(429));
    assert_eq!(*retry_after, Some(Duration::from_secs(9)));
    assert!(
        error.ends_with("HTTP 429 Too Many Requests: rate_limited"),
        "{error}"
    );
    assert_no_slack_secret(&hook.config().secret, &out);
    let out = slack::send(&s, &target, &slack_body("a"), NOW).await;
    assert!(matches!(
        out,
        SendOutcome::Retry {
            status: Some(503),
            ..
        }
    ));
    assert!(out.error().unwrap().ends_with("service_unavailable"));
    assert_eq!(
        slack::send(&s, &target, &slack_body("a"), NOW).await,
        SendOutcome::Delivered { status: 200 }
    );
    hook.shutdown().await;

    // the mock's own rate limit (1/s after a burst of 2): an unpaced
    // sender is told to wait a second
    let hook = start_webhook(SlackConfig::default()).await.unwrap();
    let target = local(&hook.url());
    let mut sent = 0;
    let refused = loop {
        let out = slack::send(&s, &target, &slack_body("b"), NOW).await;
        if matches!(out, SendOutcome::Retry { .. }) {
            break out;
        }
        assert_eq!(out, SendOutcome::Delivered { status: 200 });
        sent += 1;
        assert!(sent < 10, "never rate-limited");
    };
    assert_eq!(
        refused,
        SendOutcome::Retry {
            status: Some(429),
            retry_after: Some(slack::MIN_INTERVAL),
            error: format!(
                "http://{}: HTTP 429 Too Many Requests: rate_limited",
                hook.addr()
            ),
        }
    );
    hook.advance(slack::MIN_INTERVAL);
    assert_eq!(
        slack::send(&s, &target, &slack_body("b"), NOW).await,
        SendOutcome::Delivered { status: 200 }
    );
    hook.shutdown().await;
}

#[tokio::test]
async fn slack_missing_or_archived_hook_is_gone() {
    let hook = slack_hook().await;
    let s = sender();
    let wrong = local(&format!("{}x", hook.url()));
    assert_eq!(
        slack::send(&s, &wrong, &slack_body("a"), NOW).await,
        SendOutcome::Gone
    );
    hook.fail_next(vec![SlackFault::Error(404, "no_active_hooks".to_owned())]);
    let target = local(&hook.url());
    assert_eq!(
        slack::send(&s, &target, &slack_body("a"), NOW).await,
        SendOutcome::Gone
    );
    hook.archive();
    assert_eq!(
        slack::send(&s, &target, &slack_body("a"), NOW).await,
        SendOutcome::Gone
    );
    let answers: Vec<String> = hook.requests().into_iter().map(|r| r.answer).collect();
    assert_eq!(
        answers,
        ["no_service", "no_active_hooks", "channel_is_archived"]
    );
    assert!(hook.messages().is_empty());
    hook.shutdown().await;
}

#[tokio::test]
async fn slack_payload_errors_are_failures_naming_the_error() {
    let hook = slack_hook().await;
    let s = sender();
    let target = local(&hook.url());

    // an unknown block type passes our check (forward compatibility) but
    // not Slack's
    let unknown = json!({"text": "t", "blocks": [{"type": "carousel"}]});
    let body = serde_json::to_vec(&unknown).unwrap();
    assert_eq!(slack::check(&body), Ok(()));
    let out = slack::send(&s, &target, &body, NOW).await;
    assert_eq!(
        out,
        SendOutcome::Failed {
            status: Some(400),
            error: format!(
                "http://{}: HTTP 400 Bad Request: invalid_blocks",
                hook.addr()
            ),
        }
    );

    // posted past the check: the mock's names come back
    for (body, name) in [
        (&b"{\"text\": nope"[..], "invalid_payload"),
        (&b"{}"[..], "no_text"),
        (&br#"{"text":"t","blocks":{}}"#[..], "invalid_blocks_format"),
    ] {
        let reply = s.post_json(&target, body, NOW).await.unwrap();
        let out = slack::classify(&reply);
        assert_eq!(out.status(), Some(400));
        assert!(out.error().unwrap().ends_with(name), "{out:?}");
        assert!(matches!(out, SendOutcome::Failed { .. }));
    }

    hook.fail_next(vec![SlackFault::Error(403, "action_prohibited".to_owned())]);
    let out = slack::send(&s, &target, &slack_body("a"), NOW).await;
    assert!(matches!(
        out,
        SendOutcome::Failed {
            status: Some(403),
            ..
        }
    ));
    assert!(out.error().unwrap().ends_with("action_prohibited"));
    assert_no_slack_secret(&hook.config().secret, &out);
    assert!(hook.messages().is_empty());
    hook.shutdown().await;
}

#[tokio::test]
async fn slack_limits_are_refused_before_sending() {
    let hook = slack_hook().await;
    let long = json!({"text": "t", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "é".repeat(3001)}}]});
    let out = slack::send(
        &sender(),
        &local(&hook.url()),
        &serde_json::to_vec(&long).unwrap(),
        NOW,
    )
    .await;
    let SendOutcome::Failed { status, error } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(*status, None);
    assert!(
        error.contains("not sent") && error.contains("3001"),
        "{error}"
    );
    assert_no_slack_secret(&hook.config().secret, &out);
    assert!(hook.requests().is_empty());
    hook.shutdown().await;
}
