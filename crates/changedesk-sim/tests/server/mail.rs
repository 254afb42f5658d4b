//! `POST /v1.0/users/{user}/sendMail` over HTTP: acceptance and the record,
//! the Mail.Send role, users and mailboxes, validation, tokens, faults and
//! the per-mailbox limits, and their control endpoints.

use changedesk_sim::{MAIL_SEND, MailFault, MailLimits, SimConfig, SimHandle, derived_oid};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_graph_error, client, config, secret_token, start};

const SENDER: &str = "changedesk@tenant-001.onmicrosoft.com";

fn send_url(sim: &SimHandle, user: &str) -> String {
    format!("{}v1.0/users/{user}/sendMail", sim.base_url())
}

fn sim_url(sim: &SimHandle, path: &str) -> String {
    format!("{}_sim/{path}", sim.base_url())
}

fn message(subject: &str) -> Value {
    json!({
        "message": {
            "subject": subject,
            "body": {"contentType": "HTML", "content": "<p>MC1234567 changed.</p>"},
            "toRecipients": [
                {"emailAddress": {"address": "ops@contoso.example", "name": "Ops"}},
                {"emailAddress": {"address": "cab@contoso.example"}},
            ],
            "replyTo": [{"emailAddress": {"address": "owner@contoso.example"}}],
            "internetMessageHeaders": [
                {"name": "X-Changedesk-Delivery", "value": "d-42"},
            ],
            "internetMessageId": "<d-42.1@changedesk.tenant-001.onmicrosoft.com>",
        },
        "saveToSentItems": false,
    })
}

/// Posts a `sendMail` body (JSON text) and returns the status, the
/// `Retry-After` header and the body as JSON (`Null` when empty).
async fn send_raw(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = client()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, retry_after, body)
}

async fn send(url: &str, token: &str, body: &Value) -> (StatusCode, Option<String>, Value) {
    send_raw(
        url,
        Some(token),
        "application/json",
        body.to_string().into_bytes(),
    )
    .await
}

#[tokio::test]
async fn send_mail_is_accepted_and_recorded() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let r = client()
        .post(send_url(&sim, SENDER))
        .bearer_auth(&token)
        .header("client-request-id", "7d1c0a40-1111-4222-8333-444455556666")
        .json(&message("MC1234567 changed"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        r.headers()["client-request-id"],
        "7d1c0a40-1111-4222-8333-444455556666"
    );
    assert!(r.headers().contains_key("request-id"));
    assert!(r.bytes().await.unwrap().is_empty());

    let sent = sim.sent_mail();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.seq, 1);
    assert_eq!(m.tenant, "tenant-001");
    assert_eq!(m.sender, SENDER);
    assert_eq!(m.sender_id, derived_oid(SENDER));
    assert_eq!(m.subject, "MC1234567 changed");
    assert_eq!(m.body_content_type, "html");
    assert_eq!(m.body, "<p>MC1234567 changed.</p>");
    let to: Vec<&str> = m.to.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(to, ["ops@contoso.example", "cab@contoso.example"]);
    assert_eq!(m.to[0].name.as_deref(), Some("Ops"));
    assert_eq!(m.reply_to[0].address, "owner@contoso.example");
    assert!(m.cc.is_empty() && m.bcc.is_empty());
    assert_eq!(m.headers.len(), 1);
    assert_eq!(
        (m.headers[0].name.as_str(), m.headers[0].value.as_str()),
        ("X-Changedesk-Delivery", "d-42")
    );
    assert_eq!(
        m.internet_message_id.as_deref(),
        Some("<d-42.1@changedesk.tenant-001.onmicrosoft.com>")
    );
    assert!(!m.save_to_sent_items);
    assert!(m.received.ends_with('Z'), "{}", m.received);

    // the user by object id, any case of the action; Bcc alone is enough
    let by_id = format!(
        "{}v1.0/users/{}/SENDMAIL",
        sim.base_url(),
        derived_oid(SENDER)
    );
    let bcc_only = json!({"message": {"subject": "bcc", "bccRecipients": [
        {"emailAddress": {"address": "audit@contoso.example"}}]}});
    let (s, _, b) = send(&by_id, &token, &bcc_only).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let last = sim.sent_mail().pop().unwrap();
    assert_eq!(last.sender, SENDER);
    assert_eq!(last.body_content_type, "text");
    assert!(last.save_to_sent_items);

    // the control API shows the same, per tenant
    let c = client();
    let all: Value = c
        .get(sim_url(&sim, "mail?tenant=tenant-001.onmicrosoft.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["subject"], "MC1234567 changed");
    assert_eq!(all[0]["to"][1]["address"], "cab@contoso.example");
    assert_eq!(
        all[0]["internet_message_id"],
        "<d-42.1@changedesk.tenant-001.onmicrosoft.com>"
    );
    let other: Value = c
        .get(sim_url(&sim, "mail?tenant=tenant-002"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other, json!([]));
    let r = c
        .get(sim_url(&sim, "mail?tenant=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // the request log names the tenant
    let logged: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/sendMail"))
        .collect();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, 202);
    assert_eq!(logged[0].tenant.as_deref(), Some("tenant-001"));

    let r = c.delete(sim_url(&sim, "mail")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(sim.sent_mail().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn send_mail_needs_the_mail_send_role() {
    let sim = start(config()).await;
    let c = client();
    let roles: Value = c
        .get(sim_url(&sim, "tenants/tenant-001/roles"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        roles["roles"]
            .as_array()
            .unwrap()
            .contains(&json!(MAIL_SEND))
    );
    let info: Value = c
        .get(sim_url(&sim, "tenants"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        info["tenants"][0]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!(MAIL_SEND))
    );

    let before = secret_token(&sim, "tenant-001").await;
    let r = c
        .delete(sim_url(&sim, "tenants/tenant-001/roles/Mail.Send"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        sim.app_roles("tenant-001").unwrap(),
        ["ServiceHealth.Read.All", "ServiceMessage.Read.All"]
    );
    // a token issued before keeps its roles until it expires
    let (s, _, _) = send(&send_url(&sim, SENDER), &before, &message("old token")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let after = secret_token(&sim, "tenant-001").await;
    let (s, _, b) = send(&send_url(&sim, SENDER), &after, &message("new token")).await;
    assert_graph_error(s, &b, StatusCode::FORBIDDEN, "ErrorAccessDenied");
    assert_eq!(
        b["error"]["message"],
        "Access is denied. Check credentials and try again."
    );
    // other tenants are unaffected
    let t2 = secret_token(&sim, "tenant-002").await;
    let (s, _, _) = send(
        &send_url(&sim, "changedesk@tenant-002.onmicrosoft.com"),
        &t2,
        &message("tenant 2"),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);

    let r = c
        .put(sim_url(&sim, "tenants/tenant-001/roles/Mail.Send"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let granted = secret_token(&sim, "tenant-001").await;
    let (s, _, _) = send(&send_url(&sim, SENDER), &granted, &message("granted")).await;
    assert_eq!(s, StatusCode::ACCEPTED);

    // the whole set at once, and the handle
    let r = c
        .put(sim_url(&sim, "tenants/tenant-001/roles"))
        .json(&json!(["ServiceMessage.Read.All"]))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["roles"], json!(["ServiceMessage.Read.All"]));
    sim.grant_app_role("tenant-001", MAIL_SEND).unwrap();
    assert!(
        sim.app_roles("tenant-001")
            .unwrap()
            .contains(&MAIL_SEND.to_owned())
    );
    sim.revoke_app_role("tenant-001", MAIL_SEND).unwrap();
    sim.expire_tokens();
    let (s, _, _) = send(&send_url(&sim, SENDER), &granted, &message("expired")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let r = c
        .get(sim_url(&sim, "tenants/tenant-404/roles"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sim.sent_mail()
            .iter()
            .map(|m| m.subject.as_str())
            .collect::<Vec<_>>(),
        ["old token", "tenant 2", "granted"]
    );

    // configured at start
    let sim2 = start(SimConfig {
        app_roles: vec!["ServiceMessage.Read.All".to_owned()],
        ..config()
    })
    .await;
    let token = secret_token(&sim2, "tenant-001").await;
    let (s, _, b) = send(&send_url(&sim2, SENDER), &token, &message("x")).await;
    assert_graph_error(s, &b, StatusCode::FORBIDDEN, "ErrorAccessDenied");
    sim2.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn send_mail_users_and_mailboxes() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let c = client();
    let (s, _, b) = send(
        &send_url(&sim, "nobody@tenant-001.onmicrosoft.com"),
        &token,
        &message("x"),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::NOT_FOUND, "ErrorInvalidUser");
    assert_eq!(
        b["error"]["message"],
        "The requested user 'nobody@tenant-001.onmicrosoft.com' is invalid."
    );
    // another tenant's mailbox is not this tenant's user
    let (s, _, b) = send(
        &send_url(&sim, "changedesk@tenant-002.onmicrosoft.com"),
        &token,
        &message("x"),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::NOT_FOUND, "ErrorInvalidUser");

    // a user without a mailbox, then with one
    let r = c
        .put(sim_url(
            &sim,
            "tenants/tenant-001/users/room@tenant-001.onmicrosoft.com",
        ))
        .json(&json!({"mailbox": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["mailbox"], false);
    assert_eq!(user["id"], derived_oid("room@tenant-001.onmicrosoft.com"));
    let (s, _, b) = send(
        &send_url(&sim, "Room@Tenant-001.onmicrosoft.com"),
        &token,
        &message("x"),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::NOT_FOUND, "MailboxNotEnabledForRESTAPI");
    let r = c
        .put(sim_url(
            &sim,
            "tenants/tenant-001/users/room@tenant-001.onmicrosoft.com",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _, _) = send(
        &send_url(&sim, "room@tenant-001.onmicrosoft.com"),
        &token,
        &message("x"),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let users: Value = c
        .get(sim_url(&sim, "tenants/tenant-001/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let addresses: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, [SENDER, "room@tenant-001.onmicrosoft.com"]);
    let r = c
        .delete(sim_url(
            &sim,
            "tenants/tenant-001/users/room@tenant-001.onmicrosoft.com",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c
        .put(sim_url(&sim, "tenants/tenant-001/users/not-an-address"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // the handle does the same
    sim.set_mail_user("tenant-002", "alerts@tenant-002.onmicrosoft.com", true)
        .unwrap();
    assert_eq!(sim.mail_users("tenant-002").unwrap().len(), 2);
    assert!(
        sim.remove_mail_user("tenant-002", "alerts@tenant-002.onmicrosoft.com")
            .unwrap()
    );
    assert!(
        sim.set_mail_user("tenant-404", "a@b.example", true)
            .is_err()
    );

    // /me is for delegated tokens
    let (s, _, b) = send(
        &format!("{}v1.0/me/sendMail", sim.base_url()),
        &token,
        &message("x"),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    assert_eq!(
        b["error"]["message"],
        "/me request is only valid with delegated authentication flow."
    );
    // another action under the user is not sendMail
    let (s, _, b) = send(
        &format!("{}v1.0/users/{SENDER}/sendMessage", sim.base_url()),
        &token,
        &message("x"),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");

    // configured at start: other mailboxes in every tenant
    let sim2 = start(SimConfig {
        mailboxes: vec!["notify".to_owned(), "cab".to_owned()],
        ..config()
    })
    .await;
    let users = sim2.mail_users("tenant-003").unwrap();
    assert_eq!(
        users.iter().map(|u| u.address.as_str()).collect::<Vec<_>>(),
        [
            "cab@tenant-003.onmicrosoft.com",
            "notify@tenant-003.onmicrosoft.com"
        ]
    );
    assert!(users.iter().all(|u| u.mailbox));
    sim2.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn send_mail_is_validated_as_graph_does() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let url = send_url(&sim, SENDER);
    let to = json!([{"emailAddress": {"address": "ops@contoso.example"}}]);
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({}), StatusCode::BAD_REQUEST, "ErrorInvalidParameter"),
        (
            json!({"message": {"subject": "no one"}}),
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecipients",
        ),
        (
            json!({"message": {"toRecipients": [{"emailAddress": {"address": "ops at contoso"}}]}}),
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecipients",
        ),
        (
            json!({"message": {"toRecipients": to, "importance": "high", "colour": "red"}}),
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
        ),
        (
            json!({"message": {"toRecipients": to}, "sendNow": true}),
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
        ),
        (
            json!({"message": {"toRecipients": to, "body": {"contentType": "markdown", "content": "x"}}}),
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
        ),
        (
            json!({"message": {"toRecipients": to, "internetMessageHeaders": [
                {"name": "List-Unsubscribe", "value": "<https://example.com/u>"}]}}),
            StatusCode::BAD_REQUEST,
            "InvalidInternetMessageHeader",
        ),
        (
            json!({"message": {"toRecipients": to, "internetMessageId": "no-brackets@x"}}),
            StatusCode::BAD_REQUEST,
            "InvalidInternetMessageId",
        ),
        (
            json!({"message": {"toRecipients": to,
                "from": {"emailAddress": {"address": "ceo@tenant-001.onmicrosoft.com"}}}}),
            StatusCode::FORBIDDEN,
            "ErrorSendAsDenied",
        ),
        (
            json!({"message": {"toRecipients": to}, "saveToSentItems": "maybe"}),
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
        ),
    ];
    for (body, want, code) in cases {
        let (s, _, b) = send(&url, &token, &body).await;
        assert_graph_error(s, &b, want, code);
    }
    // contentType in any case, and `from` naming the mailbox itself
    let (s, _, b) = send(
        &url,
        &token,
        &json!({"message": {"toRecipients": to, "body": {"contentType": "tExT", "content": "x"},
            "from": {"emailAddress": {"address": "ChangeDesk@tenant-001.onmicrosoft.com"}}}}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");

    let (s, _, b) = send_raw(
        &url,
        Some(&token),
        "application/json",
        b"{\"message\":".to_vec(),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::BAD_REQUEST, "BadRequest");
    let (s, _, b) = send_raw(
        &url,
        Some(&token),
        "application/x-www-form-urlencoded",
        b"message=hi".to_vec(),
    )
    .await;
    assert_graph_error(s, &b, StatusCode::UNSUPPORTED_MEDIA_TYPE, "RequestBodyRead");
    let big =
        json!({"message": {"toRecipients": to, "body": {"content": "x".repeat(4 * 1024 * 1024)}}});
    let (s, _, b) = send(&url, &token, &big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["error"]["code"], "RequestEntityTooLarge");
    // only the one accepted
    assert_eq!(sim.sent_mail().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn send_mail_refuses_bad_tokens() {
    let sim = start(config()).await;
    let url = send_url(&sim, SENDER);
    let body = message("x").to_string().into_bytes();
    let (s, _, b) = send_raw(&url, None, "application/json", body.clone()).await;
    assert_graph_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let (s, _, b) = send_raw(&url, Some("sim.forged"), "application/json", body.clone()).await;
    assert_graph_error(
        s,
        &b,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let token = secret_token(&sim, "tenant-001").await;
    sim.expire_tokens();
    let (s, _, b) = send_raw(&url, Some(&token), "application/json", body).await;
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
    assert!(sim.sent_mail().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn send_mail_faults_and_throttling() {
    let sim = start(config()).await;
    let token = secret_token(&sim, "tenant-001").await;
    let url = send_url(&sim, SENDER);
    let c = client();

    // scripted faults, one request each, in order
    let r = c
        .put(sim_url(&sim, "mail/faults"))
        .json(&json!([{"status": 429, "retry_after_secs": 2.5}, {"status": 503}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sim.mail_faults().len(), 2);
    let (s, ra, b) = send(&url, &token, &message("1")).await;
    assert_graph_error(s, &b, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests");
    assert_eq!(ra.as_deref(), Some("2.5"));
    let (s, ra, b) = send(&url, &token, &message("2")).await;
    assert_graph_error(
        s,
        &b,
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
    );
    assert_eq!(ra, None);
    let (s, _, _) = send(&url, &token, &message("3")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let r = c
        .put(sim_url(&sim, "mail/faults"))
        .json(&json!([{"status": 404}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    sim.set_mail_faults(vec![MailFault::throttled(0.25), MailFault::unavailable()])
        .unwrap();
    let (s, ra, _) = send(&url, &token, &message("4")).await;
    assert_eq!(
        (s, ra.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("0.25"))
    );
    sim.set_mail_faults(Vec::new()).unwrap();

    // the Faults dice apply to sendMail too
    let r = c
        .put(sim_url(&sim, "faults"))
        .json(&json!({"fault_429": 1.0, "retry_after_secs": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, ra, _) = send(&url, &token, &message("5")).await;
    assert_eq!(
        (s, ra.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("3"))
    );

    // four requests in flight per mailbox: a fifth is refused
    c.put(sim_url(&sim, "faults"))
        .json(&json!({"fault_429": 0.0, "latency_ms": 600}))
        .send()
        .await
        .unwrap();
    let results = futures_join(
        (0..5)
            .map(|i| {
                let url = url.clone();
                let token = token.clone();
                async move { send(&url, &token, &message(&format!("c{i}"))).await }
            })
            .collect(),
    )
    .await;
    let throttled: Vec<_> = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(throttled.len(), 1, "{results:?}");
    let (_, ra, b) = throttled[0];
    assert_eq!(b["error"]["code"], "ApplicationThrottled");
    assert_eq!(
        b["error"]["message"],
        "Application is over its MailboxConcurrency limit."
    );
    assert_eq!(ra.as_deref(), Some("1"));
    assert_eq!(
        results
            .iter()
            .filter(|(s, _, _)| *s == StatusCode::ACCEPTED)
            .count(),
        4
    );

    // requests per 10 minutes per mailbox
    c.put(sim_url(&sim, "faults"))
        .json(&json!({"latency_ms": 0}))
        .send()
        .await
        .unwrap();
    let r = c
        .put(sim_url(&sim, "mail/limits"))
        .json(&json!({"per_ten_minutes": 2}))
        .send()
        .await
        .unwrap();
    let limits: Value = r.json().await.unwrap();
    assert_eq!(
        limits,
        json!({"concurrent_per_mailbox": 4, "per_ten_minutes": 2})
    );
    // (2 admitted within the window already: 4 in flight above, and more)
    let (s, ra, b) = send(&url, &token, &message("r")).await;
    assert_graph_error(s, &b, StatusCode::TOO_MANY_REQUESTS, "ApplicationThrottled");
    let wait: f64 = ra.unwrap().parse().unwrap();
    assert!(wait > 590.0 && wait <= 600.0, "{wait}");
    // another mailbox has its own budget
    sim.set_mail_user("tenant-001", "cab@tenant-001.onmicrosoft.com", true)
        .unwrap();
    let (s, _, _) = send(
        &send_url(&sim, "cab@tenant-001.onmicrosoft.com"),
        &token,
        &message("cab"),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    sim.set_mail_limits(MailLimits::default());
    assert_eq!(sim.mail_limits().concurrent_per_mailbox, 4);
    let (s, _, _) = send(&url, &token, &message("again")).await;
    assert_eq!(s, StatusCode::ACCEPTED);

    // a tenant whose Graph is down
    sim.set_tenant_mode("tenant-001", changedesk_sim::TenantMode::Endless503)
        .unwrap();
    let (s, _, _) = send(&url, &token, &message("down")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        sim.sent_mail()
            .iter()
            .all(|m| !["1", "2", "4", "5", "r", "down"].contains(&m.subject.as_str()))
    );
    sim.shutdown().await;
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
