//! The Teams Workflows mock (`changedesk_sim::teams`) over HTTP.

use std::time::Duration;

use changedesk_sim::teams::{
    CARD_CONTENT_TYPE, FlowAuth, FlowConfig, FlowFault, FlowHandle, LostReason, start_flow,
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

fn card(n: usize) -> Value {
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": format!("card {n}"), "wrap": true}],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://changedesk.example/changes/42"}]
    })
}

fn message(card: Value) -> Value {
    json!({"type": "message", "attachments": [
        {"contentType": CARD_CONTENT_TYPE, "contentUrl": null, "content": card}]})
}

async fn flow() -> FlowHandle {
    start_flow(FlowConfig::default()).await.unwrap()
}

async fn post(c: &Client, url: &str, body: &Value) -> (StatusCode, String) {
    let r = c.post(url).json(body).send().await.unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

fn code_of(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    v["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_valid_message_gets_202_with_an_empty_body_and_is_posted() {
    let c = super::client();
    let f = flow().await;
    assert!(f.url().contains("/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig="));
    let r = c
        .post(f.url())
        .json(&message(card(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.text().await.unwrap(), "");
    let posted = f.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].card, card(1));
    assert_eq!(posted[0].request, 1);
    assert!(f.lost().is_empty());

    // two attachments: two cards; extra properties are allowed
    let two = json!({"type": "message", "summary": "x", "attachments": [
        {"contentType": CARD_CONTENT_TYPE, "contentUrl": null, "content": card(2)},
        {"contentType": CARD_CONTENT_TYPE, "contentUrl": null, "content": card(3), "name": "n"}]});
    assert_eq!(post(&c, &f.url(), &two).await.0, StatusCode::ACCEPTED);
    let cards: Vec<Value> = f.posted().into_iter().map(|p| p.card).collect();
    assert_eq!(cards, [card(1), card(2), card(3)]);
    let requests = f.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!((requests[1].seq, requests[1].status), (2, 202));
    assert!(!requests[1].authorization);
    f.shutdown().await;
}

#[tokio::test]
async fn the_sig_and_the_auth_mode_are_enforced() {
    let c = super::client();
    let f = flow().await;
    let body = message(card(1));

    let (status, text) = post(&c, &f.url_with_sig("wrong"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code_of(&text), "DirectApiInvalidAuthorizationSignature");
    assert!(!text.contains("wrong"), "the mock does not echo the sig");

    let no_sig = f.url().split("&sig=").next().unwrap().to_owned();
    let (status, text) = post(&c, &no_sig, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code_of(&text), "AuthorizationFailed");

    let no_version = f.url().replace("api-version=2016-06-01&", "");
    let (status, text) = post(&c, &no_version, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code_of(&text), "MissingApiVersionParameter");

    // Anyone: an Authorization header fails the POST
    let r = c
        .post(f.url())
        .bearer_auth("some-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        code_of(&r.text().await.unwrap()),
        "DirectApiRequestHasMoreThanOneAuthorization"
    );
    assert!(f.posted().is_empty() && f.lost().is_empty());
    assert!(f.requests()[3].authorization);
    f.shutdown().await;

    // a tenant-restricted flow wants a token
    let f = start_flow(FlowConfig {
        auth: FlowAuth::Bearer("tenant-token".to_owned()),
        ..FlowConfig::default()
    })
    .await
    .unwrap();
    let (status, text) = post(&c, &f.url(), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code_of(&text), "DirectApiAuthorizationRequired");
    let r = c
        .post(f.url())
        .bearer_auth("other")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(f.url())
        .bearer_auth("tenant-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(f.posted().len(), 1);
    f.shutdown().await;
}

#[tokio::test]
async fn only_post_to_the_trigger_path_is_served() {
    let c = super::client();
    let f = flow().await;
    let r = c.get(f.url()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let text = r.text().await.unwrap();
    assert_eq!(code_of(&text), "TriggerRequestMethodNotValid");
    assert!(text.contains("expected 'POST' and actual 'GET'"));

    let other_flow = f
        .url()
        .replace(changedesk_sim::teams::DEFAULT_WORKFLOW_ID, "0000");
    let (status, text) = post(&c, &other_flow, &message(card(1))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code_of(&text), "WorkflowNotFound");
    let root = format!("http://{}/", f.addr());
    assert_eq!(
        post(&c, &root, &message(card(1))).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(f.posted().is_empty());
    f.shutdown().await;
}

#[tokio::test]
async fn a_body_off_the_trigger_schema_is_400_schema_mismatch() {
    let c = super::client();
    let f = flow().await;
    let att = |content_type: Value, content_url: Option<Value>, content: Value| {
        let mut a = json!({"contentType": content_type, "content": content});
        if let Some(u) = content_url {
            a["contentUrl"] = u;
        }
        json!({"type": "message", "attachments": [a]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "message"}),
            "Required properties are missing from object: attachments.",
        ),
        (json!({"attachments": []}), "missing from object: type"),
        (
            json!({"type": "message", "attachments": []}),
            "Array item count 0",
        ),
        (
            json!({"type": "message", "attachments": {}}),
            "Expected Array but got Object",
        ),
        (
            json!({"type": "card", "attachments": message(card(1))["attachments"]}),
            "not defined in enum",
        ),
        (
            json!({"type": null, "attachments": message(card(1))["attachments"]}),
            "Expected String but got Null",
        ),
        (
            att(json!("text/plain"), Some(Value::Null), card(1)),
            "not defined in enum",
        ),
        (
            att(json!(CARD_CONTENT_TYPE), None, card(1)),
            "missing from object: contentUrl",
        ),
        (
            att(json!(CARD_CONTENT_TYPE), Some(json!("")), card(1)),
            "Expected Null but got String",
        ),
        (
            att(json!(CARD_CONTENT_TYPE), Some(Value::Null), json!("card")),
            "Expected Object but got String",
        ),
        (json!([1, 2]), "Expected Object but got Array"),
    ];
    for (body, expected) in cases {
        let (status, text) = post(&c, &f.url(), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code_of(&text), "TriggerInputSchemaMismatch");
        assert!(
            text.contains(expected),
            "{text} should contain {expected:?}"
        );
        assert!(text.contains("The input body for trigger 'manual' of type 'Request' did not match its schema definition."));
    }
    let not_json = c
        .post(f.url())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        code_of(&not_json.text().await.unwrap()),
        "TriggerInputSchemaMismatch"
    );
    let as_text = c
        .post(f.url())
        .header("content-type", "text/plain")
        .body(message(card(1)).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(as_text.status(), StatusCode::BAD_REQUEST);
    assert!(f.posted().is_empty() && f.lost().is_empty());
    f.shutdown().await;
}

#[tokio::test]
async fn accepted_but_unpostable_cards_are_lost_silently() {
    let c = super::client();
    let f = flow().await;

    // exactly 28 KB is posted, one byte more is lost, both answered 202
    let sized = |total: usize| {
        let mut body = message(card(0));
        let base = body.to_string().len();
        body["attachments"][0]["content"]["body"][0]["text"] =
            json!(format!("card 0{}", "x".repeat(total - base)));
        let text = body.to_string();
        assert_eq!(text.len(), total);
        text
    };
    for (total, posted) in [(28 * 1024, 1), (28 * 1024 + 1, 1)] {
        let r = c
            .post(f.url())
            .header("content-type", "application/json")
            .body(sized(total))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(f.posted().len(), posted);
    }
    assert_eq!(
        f.lost()[0].reason,
        LostReason::TooLarge {
            bytes: 28 * 1024 + 1
        }
    );

    // not an Adaptive Card, or a version Teams does not render
    let message_card = json!({"@type": "MessageCard", "type": "MessageCard", "text": "legacy"});
    let mut v16 = card(1);
    v16["version"] = json!("1.6");
    let mut no_version = card(2);
    no_version.as_object_mut().unwrap().remove("version");
    let mut v15 = card(3);
    v15["version"] = json!("1.5");
    for body in [
        message(message_card),
        message(v16),
        message(no_version),
        message(v15.clone()),
    ] {
        assert_eq!(post(&c, &f.url(), &body).await.0, StatusCode::ACCEPTED);
    }
    let reasons: Vec<LostReason> = f.lost().into_iter().map(|l| l.reason).collect();
    assert_eq!(
        reasons[1..],
        [
            LostReason::NotAdaptiveCard,
            LostReason::UnsupportedVersion("\"1.6\"".to_owned()),
            LostReason::UnsupportedVersion("(none)".to_owned()),
        ]
    );
    assert_eq!(f.posted().last().unwrap().card, v15);
    f.shutdown().await;
}

#[tokio::test]
async fn the_posting_window_loses_the_26th_card_until_300_s_pass() {
    let c = super::client();
    let f = flow().await;
    for n in 0..30 {
        assert_eq!(
            post(&c, &f.url(), &message(card(n))).await.0,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(f.posted().len(), 25);
    let lost = f.lost();
    assert_eq!(lost.len(), 5);
    assert!(lost.iter().all(|l| l.reason == LostReason::Throttled));
    assert_eq!(lost[0].card, card(25));

    // 299 s later the window still holds all 25
    f.advance(Duration::from_secs(299));
    assert_eq!(
        post(&c, &f.url(), &message(card(30))).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(f.lost().len(), 6);
    // at 300 s they have left it
    f.advance(Duration::from_secs(1));
    assert!(f.now() >= Duration::from_secs(300));
    assert_eq!(
        post(&c, &f.url(), &message(card(31))).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(f.posted().len(), 26);
    assert_eq!(f.posted()[25].card, card(31));
    f.shutdown().await;
}

#[tokio::test]
async fn queued_faults_and_deletion() {
    let c = super::client();
    let f = flow().await;
    f.fail_next(vec![
        FlowFault::TooManyRequests {
            retry_after_secs: 17,
        },
        FlowFault::Status(502),
        FlowFault::NotFound,
    ]);
    let body = message(card(1));
    let r = c.post(f.url()).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "17");
    assert_eq!(
        code_of(&r.text().await.unwrap()),
        "WorkflowRequestsThrottled"
    );
    assert_eq!(post(&c, &f.url(), &body).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(post(&c, &f.url(), &body).await.0, StatusCode::NOT_FOUND);
    assert!(f.posted().is_empty());
    assert_eq!(post(&c, &f.url(), &body).await.0, StatusCode::ACCEPTED);
    assert_eq!(f.posted().len(), 1);

    f.delete();
    for _ in 0..2 {
        let (status, text) = post(&c, &f.url(), &body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(code_of(&text), "WorkflowNotFound");
    }
    let statuses: Vec<u16> = f.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 502, 404, 202, 404, 404]);
    assert_eq!(f.posted().len(), 1);
    f.shutdown().await;
}

#[tokio::test]
async fn a_delay_outlasts_the_client_and_shutdown_ends_it() {
    let c = super::client();
    let f = flow().await;
    f.fail_next(vec![FlowFault::Delay(Duration::from_secs(3600))]);
    let r = c
        .post(f.url())
        .json(&message(card(1)))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    tokio::time::timeout(Duration::from_secs(5), f.shutdown())
        .await
        .unwrap();
}
