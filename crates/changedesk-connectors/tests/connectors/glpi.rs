//! The GLPI connector against the GLPI mock: a session opened, kept and
//! opened again when the server ends it; a change created exactly once (a
//! 5xx, a create committed but never answered), read back as the other
//! side applies it, updated only over what was read, followed up;
//! credentials refused; and the mock's strictness.

use std::time::Duration;

use changedesk_connectors::glpi::{
    Glpi, GlpiAuth, GlpiHl, GlpiHlSettings, GlpiSettings, GlpiStatus, NewGlpiChange,
};
use changedesk_connectors::{ConnectorError, RetryPolicy};
use changedesk_core::change_control::TicketProgress;
use changedesk_sim::glpi::{GlpiConfig, GlpiHandle, start_glpi};
use changedesk_sim::itsm::Fault;
use secrecy::SecretString;

async fn server() -> GlpiHandle {
    start_glpi(GlpiConfig::default()).await.expect("GLPI mock")
}

fn client_with(g: &GlpiHandle, auth: GlpiAuth, app: Option<&str>) -> Glpi {
    // without the trailing slash: the connector adds it
    let api = g.url().trim_end_matches('/').parse().unwrap();
    let mut s = GlpiSettings::new(api, auth, app.map(|a| SecretString::from(a.to_owned())));
    s.timeout = Duration::from_secs(1);
    s.retry = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    };
    Glpi::new(s).unwrap()
}

fn client(g: &GlpiHandle) -> Glpi {
    client_with(
        g,
        GlpiAuth::UserToken(SecretString::from(g.config().user_token.clone())),
        g.config().app_token.as_deref(),
    )
}

fn change(id: &str) -> NewGlpiChange {
    NewGlpiChange {
        correlation_id: id.to_owned(),
        name: "[M365] MC123456: Exchange retires legacy auth — «ünïcode»".to_owned(),
        content_html: "<p>Tracked by changedesk</p>".to_owned(),
        urgency: 3,
        impact: 3,
    }
}

fn creates(g: &GlpiHandle) -> Vec<u16> {
    g.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/apirest.php/Change/")
        .map(|r| r.status)
        .collect()
}

fn sessions(g: &GlpiHandle) -> usize {
    g.requests()
        .iter()
        .filter(|r| r.path == "/apirest.php/initSession")
        .count()
}

#[tokio::test]
async fn a_change_is_created_once_and_followed_in_one_session() {
    let g = server().await;
    let c = client(&g);
    c.test_connection().await.unwrap();
    let (made, created) = c.create_change(&change("cd-MC1-all")).await.unwrap();
    assert!(created);
    assert_eq!(made.id, 1);
    assert_eq!(made.status, GlpiStatus::New);
    assert!(made.name.ends_with(" [cd-MC1-all]"));
    assert!(made.name.starts_with("[M365] MC123456"));
    let (again, created) = c.create_change(&change("cd-MC1-all")).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, made.id);
    // a longer id containing this one is another change
    let (other, _) = c.create_change(&change("cd-MC1-all-2")).await.unwrap();
    assert_eq!(other.id, 2);
    assert_eq!(creates(&g), [201, 201]);
    assert_eq!(sessions(&g), 1, "one session for every call");
    // the other side applies it
    g.advance(Duration::from_secs(60));
    assert!(g.set_status(made.id, 5));
    let read = c.get(made.id).await.unwrap();
    assert!(read.status.is_final());
    assert_eq!(read.status.progress(), TicketProgress::Done);
    // a follow-up
    c.add_followup(made.id, "<p>Microsoft moved the rollout to April.</p>")
        .await
        .unwrap();
    assert_eq!(
        g.changes()[0].followups,
        ["<p>Microsoft moved the rollout to April.</p>"]
    );
    // updated only over what was read
    let mut input = serde_json::Map::new();
    input.insert("status".into(), 6.into());
    g.advance(Duration::from_secs(60));
    assert!(g.set_status(made.id, 4));
    assert!(matches!(
        c.update_if_unchanged(made.id, &read.date_mod, &input).await,
        Err(ConnectorError::Conflict(_))
    ));
    let now = c.get(made.id).await.unwrap();
    let closed = c
        .update_if_unchanged(made.id, &now.date_mod, &input)
        .await
        .unwrap();
    assert_eq!(closed.status, GlpiStatus::Closed);
    match c.get(99).await {
        Err(ConnectorError::Status {
            status: 404,
            message,
        }) => {
            assert!(message.contains("ERROR_ITEM_NOT_FOUND"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_ended_session_is_opened_again_and_the_call_replayed() {
    let g = server().await;
    let c = client(&g);
    let (made, _) = c.create_change(&change("cd-MC2-all")).await.unwrap();
    g.expire_sessions();
    assert_eq!(c.get(made.id).await.unwrap().id, made.id);
    assert_eq!(sessions(&g), 2);
}

#[tokio::test]
async fn a_create_committed_unanswered_or_failing_is_not_made_twice() {
    let g = server().await;
    let c = client(&g);
    g.fail_next_create(vec![Fault::ProcessThenDrop]);
    let (found, created) = c.create_change(&change("cd-MC3-all")).await.unwrap();
    assert!(!created);
    assert_eq!(found.id, 1);
    assert_eq!(creates(&g), [0]);
    g.fail_next_create(vec![Fault::Status(500)]);
    let (made, created) = c.create_change(&change("cd-MC4-all")).await.unwrap();
    assert!(created);
    assert_eq!(made.id, 2);
    assert_eq!(creates(&g), [0, 500, 201]);
    assert_eq!(g.changes().len(), 2);
}

#[tokio::test]
async fn refused_credentials_are_reported_and_not_retried() {
    let g = server().await;
    let wrong = client_with(
        &g,
        GlpiAuth::UserToken(SecretString::from("wrong".to_owned())),
        g.config().app_token.as_deref(),
    );
    match wrong.create_change(&change("cd-MC5-all")).await {
        Err(e @ ConnectorError::Credentials(_)) => assert!(!e.to_string().contains("wrong")),
        other => panic!("{other:?}"),
    }
    assert_eq!(g.requests().len(), 1);
    // Basic works too; a wrong app token does not
    let basic = client_with(
        &g,
        GlpiAuth::Basic {
            login: g.config().login.clone(),
            password: SecretString::from(g.config().password.clone()),
        },
        g.config().app_token.as_deref(),
    );
    basic.test_connection().await.unwrap();
    let bad_app = client_with(
        &g,
        GlpiAuth::UserToken(SecretString::from(g.config().user_token.clone())),
        Some("other-app"),
    );
    assert!(matches!(
        bad_app.test_connection().await,
        Err(ConnectorError::Credentials(_))
    ));
    let no_app = client_with(
        &g,
        GlpiAuth::UserToken(SecretString::from(g.config().user_token.clone())),
        None,
    );
    assert!(matches!(
        no_app.test_connection().await,
        Err(ConnectorError::Status { status: 400, .. })
    ));
}

/// The mock refuses what a sloppy client would get away with elsewhere.
#[tokio::test]
async fn the_mock_is_strict() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let g = server().await;
    let http = reqwest::Client::new();
    let app = g.config().app_token.clone().unwrap();
    let init = format!("{}initSession", g.url());
    let code = |v: serde_json::Value| v[0].as_str().unwrap_or("").to_owned();
    // no Content-Type, even on a GET
    let r = http
        .get(&init)
        .header("app-token", &app)
        .header(
            "authorization",
            format!("user_token {}", g.config().user_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // a GET with a body
    let r = http
        .get(&init)
        .header("content-type", "application/json")
        .header("app-token", &app)
        .header(
            "authorization",
            format!("user_token {}", g.config().user_token),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // no app token
    let r = http
        .get(&init)
        .header("content-type", "application/json")
        .header(
            "authorization",
            format!("user_token {}", g.config().user_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(r.json().await.unwrap()),
        "ERROR_APP_TOKEN_PARAMETERS_MISSING"
    );
    // a session
    let r = http
        .get(&init)
        .header("content-type", "application/json")
        .header("app-token", &app)
        .header(
            "authorization",
            format!("user_token {}", g.config().user_token),
        )
        .send()
        .await
        .unwrap();
    let session: serde_json::Value = r.json().await.unwrap();
    let session = session["session_token"].as_str().unwrap().to_owned();
    let post = |body: &'static str, session: Option<&str>| {
        let mut r = http
            .post(format!("{}Change/", g.url()))
            .header("content-type", "application/json")
            .header("app-token", &app)
            .body(body);
        if let Some(s) = session {
            r = r.header("session-token", s);
        }
        r.send()
    };
    let r = post(r#"{"input":{"name":"x"}}"#, None).await.unwrap();
    assert_eq!(code(r.json().await.unwrap()), "ERROR_SESSION_TOKEN_MISSING");
    let r = post(r#"{"input":{"name":"x"}}"#, Some("not-a-session"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(code(r.json().await.unwrap()), "ERROR_SESSION_TOKEN_INVALID");
    let r = post(r#"{"name":"x"}"#, Some(&session)).await.unwrap();
    assert_eq!(code(r.json().await.unwrap()), "ERROR_BAD_ARRAY");
    let r = post(r#"{"input":{"content":"no title"}}"#, Some(&session))
        .await
        .unwrap();
    assert_eq!(code(r.json().await.unwrap()), "ERROR_GLPI_ADD");
    assert!(g.changes().is_empty());
    let r = post(r#"{"input":{"name":"x"}}"#, Some(&session))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/apirest.php/Change/1")
    );
}

fn hl_client(g: &GlpiHandle, secret: &str) -> GlpiHl {
    let mut s = GlpiHlSettings::new(
        g.hl_url().parse().unwrap(),
        &g.config().oauth_client_id,
        SecretString::from(secret.to_owned()),
    );
    s.timeout = Duration::from_secs(1);
    s.retry = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    };
    GlpiHl::new(s).unwrap()
}

#[tokio::test]
async fn the_high_level_api_creates_once_and_refuses_an_update_over_a_newer_one() {
    let g = server().await;
    let c = hl_client(&g, &g.config().oauth_client_secret.clone());
    c.test_connection().await.unwrap();
    let (made, created) = c.create_change(&change("cd-MC7-all")).await.unwrap();
    assert!(created);
    assert!(made.name.ends_with(" [cd-MC7-all]"));
    let (again, created) = c.create_change(&change("cd-MC7-all")).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, made.id);
    // committed, never answered: found, not made again
    g.fail_next_create(vec![Fault::ProcessThenDrop]);
    let (dropped, created) = c.create_change(&change("cd-MC8-all")).await.unwrap();
    assert!(!created);
    assert_eq!(g.changes().len(), 2);
    // the legacy API sees the same change
    assert_eq!(client(&g).get(dropped.id).await.unwrap().id, dropped.id);
    // read, then the other side moves it a minute later: the update is
    // refused (412) until read again
    let read = c.get(made.id).await.unwrap();
    assert!(
        read.last_modified
            .as_deref()
            .is_some_and(|m| m.ends_with("GMT"))
    );
    g.advance(Duration::from_secs(60));
    assert!(g.set_status(made.id, 4));
    let mut fields = serde_json::Map::new();
    fields.insert("status".into(), 6.into());
    assert!(matches!(
        c.update_if_unmodified(&read, &fields).await,
        Err(ConnectorError::Conflict(_))
    ));
    let again = c.get(made.id).await.unwrap();
    assert_eq!(again.change.status, GlpiStatus::Pending);
    let closed = c.update_if_unmodified(&again, &fields).await.unwrap();
    assert_eq!(closed.change.status, GlpiStatus::Closed);
    // the token expires: fetched again, the call goes through
    g.advance(Duration::from_secs(
        changedesk_sim::glpi::HL_TOKEN_SECONDS + 1,
    ));
    c.get(made.id).await.unwrap();
    assert_eq!(
        g.requests()
            .iter()
            .filter(|r| r.path == "/api.php/token")
            .count(),
        2
    );
    // a client the server does not know
    assert!(matches!(
        hl_client(&g, "wrong").test_connection().await,
        Err(ConnectorError::Credentials(_))
    ));
}

/// The high-level API refuses what a sloppy client would get away with.
#[tokio::test]
async fn the_high_level_mock_is_strict() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let g = server().await;
    let http = reqwest::Client::new();
    let token_url = format!("{}../token", g.hl_url());
    let form = |scope: &'static str| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", g.config().oauth_client_id.clone()),
            ("client_secret", g.config().oauth_client_secret.clone()),
            ("scope", scope.to_owned()),
        ]
    };
    // without the `api` scope
    let r = http.post(&token_url).form(&form("")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = http
        .post(&token_url)
        .form(&form("api"))
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = r.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let changes = format!("{}Assistance/Change", g.hl_url());
    // no token
    let r = http.get(&changes).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // a body that does not say it is JSON
    let r = http
        .post(&changes)
        .bearer_auth(&token)
        .body(r#"{"name":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // no name
    let r = http
        .post(&changes)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"content":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["additional_messages"][0]["message"],
        "Missing parameter: name"
    );
    // a filter it does not understand
    let r = http
        .get(&changes)
        .bearer_auth(&token)
        .query(&[("filter", "name=in=(a,b)")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(g.changes().is_empty());
    // a timeline follow-up: signed in, JSON, with content, on a change
    // that exists
    let followup = |id: i64| format!("{}Assistance/Change/{id}/Timeline/Followup", g.hl_url());
    let r = http
        .post(followup(1))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"content":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "no change 1 yet");
    let r = http
        .post(&changes)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name":"x [cd-MC1-all]"}"#)
        .send()
        .await
        .unwrap();
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for (auth, body, status) in [
        (false, r#"{"content":"x"}"#, 401),
        (true, r#"{"content":"  "}"#, 400),
        (true, r#"["x"]"#, 400),
        (true, r#"{"content":"<p>noted</p>"}"#, 201),
    ] {
        let mut req = http
            .post(followup(id))
            .header("content-type", "application/json")
            .body(body);
        if auth {
            req = req.bearer_auth(&token);
        }
        assert_eq!(
            req.send().await.unwrap().status().as_u16(),
            status,
            "{body}"
        );
    }
    assert_eq!(g.changes()[0].followups, ["<p>noted</p>"]);
}
