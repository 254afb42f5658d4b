//! The Slack incoming-webhook mock (`changedesk_sim::slack`) over HTTP.

use std::time::Duration;

use changedesk_sim::slack::{SlackConfig, SlackFault, SlackHandle, start_webhook};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A webhook whose rate does not depend on how fast the test runs: one
/// message a minute after a burst of 50.
async fn hook() -> SlackHandle {
    start_webhook(SlackConfig {
        burst: 50,
        interval: Duration::from_secs(60),
        ..SlackConfig::default()
    })
    .await
    .unwrap()
}

async fn post(c: &Client, url: &str, body: &Value) -> (StatusCode, String) {
    let r = c.post(url).json(body).send().await.unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

fn good() -> Value {
    json!({"text": "MC123456 needs action by 2026-03-31",
     "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "MC123456: Exchange retires legacy auth"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Act by:* 2026-03-31\n*Owner:* Ada"},
                 "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://changedesk.example/changes/42"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "changedesk"}]}]})
}

#[tokio::test]
async fn a_valid_message_gets_200_ok_as_plain_text_and_is_recorded() {
    let c = super::client();
    let h = hook().await;
    assert!(h.url().contains("/services/T0SIM0001/B0SIM0001/"));
    let r = c.post(h.url()).json(&good()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(r.text().await.unwrap(), "ok");
    let messages = h.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body, good());
    assert_eq!(
        messages[0].text.as_deref(),
        Some("MC123456 needs action by 2026-03-31")
    );
    assert_eq!(messages[0].blocks, 3);
    assert_eq!(messages[0].raw, serde_json::to_vec(&good()).unwrap());

    // text alone, blocks alone, and the legacy form encoding
    assert_eq!(post(&c, &h.url(), &json!({"text": "hi"})).await.1, "ok");
    assert_eq!(
        post(&c, &h.url(), &json!({"blocks": [{"type": "divider"}]}))
            .await
            .1,
        "ok"
    );
    let form = c
        .post(h.url())
        .form(&[("payload", r#"{"text":"from a form"}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.text().await.unwrap(), "ok");
    assert_eq!(h.messages()[3].text.as_deref(), Some("from a form"));
    h.shutdown().await;
}

#[tokio::test]
async fn a_wrong_url_is_404_no_service() {
    let c = super::client();
    let h = hook().await;
    let wrong_secret = format!("{}x", h.url());
    let wrong_team = h.url().replace("T0SIM0001", "T0OTHER01");
    let root = format!("http://{}/services/", h.addr());
    for url in [wrong_secret, wrong_team, root] {
        assert_eq!(
            post(&c, &url, &good()).await,
            (StatusCode::NOT_FOUND, "no_service".to_owned()),
            "{url}"
        );
    }
    let get = c.get(h.url()).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(h.messages().is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn payload_errors_are_named() {
    let c = super::client();
    let h = hook().await;
    let raw = |content_type: &'static str, body: &'static str| {
        c.post(h.url())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (content_type, body) in [
        ("application/json", "{\"text\": \"unterminated"),
        ("application/json", "[1]"),
        ("text/plain", "{\"text\":\"hi\"}"),
        ("application/x-www-form-urlencoded", "text=hi"),
    ] {
        let r = raw(content_type, body).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.text().await.unwrap(), "invalid_payload");
    }

    let block = |b: Value| json!({"text": "t", "blocks": [b]});
    let many = |n: usize, item: Value| -> Vec<Value> { (0..n).map(|_| item.clone()).collect() };
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "no_text"),
        (json!({"text": ""}), "no_text"),
        (json!({"text": "  ", "blocks": []}), "no_text"),
        (json!({"text": "t", "blocks": {}}), "invalid_blocks_format"),
        (
            json!({"text": "t", "blocks": [{"text": "no type"}]}),
            "invalid_blocks_format",
        ),
        (
            json!({"text": "t", "attachments": many(101, json!({"text": "a"}))}),
            "too_many_attachments",
        ),
        (
            json!({"text": "t", "blocks": many(51, json!({"type": "divider"}))}),
            "invalid_blocks",
        ),
        (block(json!({"type": "no_such_block"})), "invalid_blocks"),
        (
            block(
                json!({"type": "header", "text": {"type": "plain_text", "text": "é".repeat(151)}}),
            ),
            "invalid_blocks",
        ),
        (
            block(json!({"type": "header", "text": {"type": "mrkdwn", "text": "x"}})),
            "invalid_blocks",
        ),
        (block(json!({"type": "section"})), "invalid_blocks"),
        (
            block(json!({"type": "section", "text": {"type": "mrkdwn", "text": ""}})),
            "invalid_blocks",
        ),
        (
            block(json!({"type": "section", "text": {"type": "mrkdwn", "text": "é".repeat(3001)}})),
            "invalid_blocks",
        ),
        (
            block(
                json!({"type": "section", "fields": many(11, json!({"type": "mrkdwn", "text": "f"}))}),
            ),
            "invalid_blocks",
        ),
        (
            block(
                json!({"type": "section", "fields": [{"type": "mrkdwn", "text": "ü".repeat(2001)}]}),
            ),
            "invalid_blocks",
        ),
        (
            block(
                json!({"type": "context", "elements": many(11, json!({"type": "mrkdwn", "text": "c"}))}),
            ),
            "invalid_blocks",
        ),
        (
            block(
                json!({"type": "actions", "elements": many(26, json!({"type": "button", "text": {"type": "plain_text", "text": "b"}}))}),
            ),
            "invalid_blocks",
        ),
        (
            block(json!({"type": "divider", "block_id": "b".repeat(256)})),
            "invalid_blocks",
        ),
        (
            json!({"text": "t", "blocks": [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}]}),
            "invalid_blocks",
        ),
        (
            block(json!({"type": "image", "image_url": "https://x", "alt_text": "a".repeat(2001)})),
            "invalid_blocks",
        ),
    ];
    for (body, name) in cases {
        assert_eq!(
            post(&c, &h.url(), &body).await,
            (StatusCode::BAD_REQUEST, name.to_owned()),
            "{body}"
        );
    }
    assert!(h.messages().is_empty());

    // the limits themselves pass (characters, not bytes)
    let at_limits = json!({"text": "ß".repeat(5000), "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "é".repeat(150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "é".repeat(3000)},
         "fields": many(10, json!({"type": "plain_text", "text": "ü".repeat(2000)}))},
        {"type": "context", "elements": many(10, json!({"type": "mrkdwn", "text": "c"}))},
        {"type": "actions", "elements": many(25, json!({"type": "button", "text": {"type": "plain_text", "text": "b"}}))}
    ]});
    assert_eq!(post(&c, &h.url(), &at_limits).await.1, "ok");
    let fifty = json!({"text": "t", "blocks": many(50, json!({"type": "divider"}))});
    assert_eq!(post(&c, &h.url(), &fifty).await.1, "ok");
    h.shutdown().await;
}

#[tokio::test]
async fn the_rate_is_one_a_second_after_a_burst_of_two() {
    let c = super::client();
    // the default: burst 2, 1 s; loop until refused so that a slow run
    // (a token back in the meantime) does not fail the test
    let h = start_webhook(SlackConfig::default()).await.unwrap();
    let mut accepted = 0;
    let refused = loop {
        let r = c.post(h.url()).json(&good()).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            break r;
        }
        assert_eq!(r.status(), StatusCode::OK);
        accepted += 1;
        assert!(accepted < 10, "never rate-limited");
    };
    assert!(accepted >= 2);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.text().await.unwrap(), "rate_limited");
    h.advance(Duration::from_secs(1));
    assert_eq!(post(&c, &h.url(), &good()).await.0, StatusCode::OK);
    h.shutdown().await;

    // deterministic: a burst of 2, then one a minute
    let h = start_webhook(SlackConfig {
        interval: Duration::from_secs(60),
        ..SlackConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(post(&c, &h.url(), &good()).await.0, StatusCode::OK);
    assert_eq!(post(&c, &h.url(), &good()).await.0, StatusCode::OK);
    let r = c.post(h.url()).json(&good()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "60");
    // a refused payload takes no token, but an empty bucket refuses it too
    assert_eq!(
        post(&c, &h.url(), &json!({})).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.advance(Duration::from_secs(30));
    let r = c.post(h.url()).json(&good()).send().await.unwrap();
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&wait), "{wait}");
    h.advance(Duration::from_secs(wait));
    assert_eq!(post(&c, &h.url(), &json!({})).await.1, "no_text");
    assert_eq!(post(&c, &h.url(), &good()).await.0, StatusCode::OK);
    assert_eq!(
        post(&c, &h.url(), &good()).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(h.messages().len(), 3);
    h.shutdown().await;
}

#[tokio::test]
async fn faults_and_archiving() {
    let c = super::client();
    let h = hook().await;
    h.fail_next(vec![
        SlackFault::Error(500, "service_unavailable".to_owned()),
        SlackFault::TooManyRequests {
            retry_after_secs: 9,
        },
        SlackFault::Error(403, "action_prohibited".to_owned()),
        SlackFault::Error(404, "no_active_hooks".to_owned()),
    ]);
    assert_eq!(
        post(&c, &h.url(), &good()).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "service_unavailable".to_owned()
        )
    );
    let r = c.post(h.url()).json(&good()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "9");
    assert_eq!(post(&c, &h.url(), &good()).await.1, "action_prohibited");
    assert_eq!(post(&c, &h.url(), &good()).await.1, "no_active_hooks");
    assert!(h.messages().is_empty());
    assert_eq!(post(&c, &h.url(), &good()).await.1, "ok");

    h.archive();
    assert_eq!(
        post(&c, &h.url(), &good()).await,
        (StatusCode::GONE, "channel_is_archived".to_owned())
    );
    let answers: Vec<(u16, String)> = h
        .requests()
        .into_iter()
        .map(|r| (r.status, r.answer))
        .collect();
    assert_eq!(answers[5], (410, "channel_is_archived".to_owned()));
    assert_eq!(answers.len(), 6);
    assert_eq!(h.messages().len(), 1);
    h.shutdown().await;
}
