//! The Jira connector against the Jira mock: an issue created exactly once
//! (under throttling, a 5xx, a create committed but never answered while
//! search lags behind writes), read back as the other side moves it, moved
//! by a transition (a conflict reported), commented; credentials refused;
//! and the mock's strictness.

use std::time::Duration;

use changedesk_connectors::jira::{Jira, JiraSettings, NewIssue, StatusCategory};
use changedesk_connectors::{ConnectorError, RetryPolicy};
use changedesk_core::change_control::TicketProgress;
use changedesk_sim::itsm::Fault;
use changedesk_sim::jira::{JiraConfig, JiraHandle, start_jira};
use secrecy::SecretString;

async fn site(lag: Duration) -> JiraHandle {
    start_jira(JiraConfig {
        search_lag: lag,
        ..JiraConfig::default()
    })
    .await
    .expect("Jira mock")
}

fn client_with(j: &JiraHandle, token: &str) -> Jira {
    let mut s = JiraSettings::new(
        j.url().parse().unwrap(),
        &j.config().email,
        SecretString::from(token.to_owned()),
        &j.config().project,
        "Change",
    );
    s.timeout = Duration::from_secs(1);
    s.retry = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    };
    s.search_settle = Duration::from_secs(2);
    Jira::new(s).unwrap()
}

fn client(j: &JiraHandle) -> Jira {
    client_with(j, &j.config().api_token.clone())
}

fn issue(id: &str) -> NewIssue {
    NewIssue {
        correlation_id: id.to_owned(),
        summary: "[M365] MC123456: Exchange retires legacy auth — «ünïcode»".to_owned(),
        paragraphs: vec!["Act by 2026-03-31.".to_owned()],
        link: Some((
            "Message Center post".to_owned(),
            "https://admin.microsoft.com/#/MessageCenter/:/messages/MC123456".to_owned(),
        )),
        due: Some("2026-03-31".to_owned()),
    }
}

fn creates(j: &JiraHandle) -> Vec<u16> {
    j.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/rest/api/3/issue")
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn an_issue_is_created_once_and_followed_through_its_workflow() {
    let j = site(Duration::from_millis(300)).await;
    let c = client(&j);
    let (made, created) = c.create_issue(&issue("cd-MC1-all")).await.unwrap();
    assert!(created);
    assert_eq!(made.key, "CHG-1");
    assert_eq!(made.category, StatusCategory::New);
    assert!(c.issue_url(&made).ends_with("/browse/CHG-1"));
    let stored = &j.issues()[0];
    assert_eq!(stored.fields["duedate"], "2026-03-31");
    assert_eq!(stored.fields["labels"][1], "cd-MC1-all");
    // asked again once search shows it: the same issue
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (again, created) = c.create_issue(&issue("cd-MC1-all")).await.unwrap();
    assert!(!created);
    assert_eq!(again.key, made.key);
    assert_eq!(creates(&j), [201]);
    // moved along its workflow by category
    assert!(
        c.transition_to(&made.key, &StatusCategory::InProgress)
            .await
            .unwrap()
    );
    assert_eq!(
        c.get(&made.key).await.unwrap().category,
        StatusCategory::InProgress
    );
    // no transition from In Progress leads to To Do
    assert!(
        !c.transition_to(&made.key, &StatusCategory::New)
            .await
            .unwrap()
    );
    // the other side closes it
    assert!(j.move_to(&made.key, "10001"));
    let done = c.get(&made.key).await.unwrap();
    assert_eq!(done.category, StatusCategory::Done);
    assert_eq!(done.category.progress(), TicketProgress::Done);
    assert_eq!(made.category.progress(), TicketProgress::Open);
    // a comment, in ADF
    c.add_comment(
        &made.key,
        &["Microsoft moved the rollout to April.".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(
        j.issues()[0].comments[0]["content"][0]["content"][0]["text"],
        "Microsoft moved the rollout to April."
    );
    // a conflicting update is reported as such
    assert!(j.move_to(&made.key, "3"));
    j.conflict_next_transition();
    assert!(matches!(
        c.transition_to(&made.key, &StatusCategory::Done).await,
        Err(ConnectorError::Conflict(_))
    ));
    match c.get("CHG-99").await {
        Err(ConnectorError::Status { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_create_committed_unanswered_is_found_once_search_catches_up() {
    // search shows a write only after 800 ms
    let j = site(Duration::from_millis(800)).await;
    let c = client(&j);
    j.fail_next_create(vec![Fault::ProcessThenDrop]);
    let (found, created) = c.create_issue(&issue("cd-MC2-all")).await.unwrap();
    assert!(!created);
    assert_eq!(found.key, "CHG-1");
    assert_eq!(creates(&j), [0], "never created twice");
    assert_eq!(j.issues().len(), 1);
    // a 5xx may hide a create too: the search is asked until it settles
    // (here nothing was made), then the issue is created, once
    j.fail_next_create(vec![Fault::Status(502)]);
    let started = std::time::Instant::now();
    let (second, created) = c.create_issue(&issue("cd-MC3-all")).await.unwrap();
    assert!(created);
    assert!(started.elapsed() >= Duration::from_secs(2), "settled first");
    assert_eq!(second.key, "CHG-2");
    assert_eq!(creates(&j), [0, 502, 201]);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_without_a_duplicate() {
    let j = site(Duration::from_millis(100)).await;
    let c = client(&j);
    j.fail_next_create(vec![
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Fault::Status(503),
    ]);
    let (made, _) = c.create_issue(&issue("cd-MC4-all")).await.unwrap();
    assert_eq!(made.key, "CHG-1");
    assert_eq!(creates(&j), [429, 503, 201]);
    assert_eq!(j.issues().len(), 1);
    // a comment refused unprocessed (429) is sent again; dropped, it is not
    j.fail_next(vec![Fault::TooManyRequests {
        retry_after_secs: 0,
    }]);
    c.add_comment(&made.key, &["one".to_owned()]).await.unwrap();
    j.fail_next(vec![Fault::ProcessThenDrop]);
    assert!(matches!(
        c.add_comment(&made.key, &["two".to_owned()]).await,
        Err(ConnectorError::Transport(_))
    ));
    assert_eq!(j.issues()[0].comments.len(), 2);
}

#[tokio::test]
async fn refused_credentials_are_reported_and_not_retried() {
    let j = site(Duration::ZERO).await;
    let c = client_with(&j, "wrong-token");
    match c.create_issue(&issue("cd-MC5-all")).await {
        Err(e @ ConnectorError::Credentials(_)) => {
            assert!(!e.is_transient());
            assert!(!e.to_string().contains("wrong-token"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(j.requests().len(), 1);
    assert!(matches!(
        c.test_connection().await,
        Err(ConnectorError::Credentials(_))
    ));
    client(&j).test_connection().await.unwrap();
    // a correlation id that cannot be a label is refused before any request
    let before = j.requests().len();
    assert!(matches!(
        client(&j).create_issue(&issue("cd MC6")).await,
        Err(ConnectorError::Config(_))
    ));
    assert_eq!(j.requests().len(), before);
}

/// The mock refuses what a sloppy client would get away with elsewhere.
#[tokio::test]
async fn the_mock_is_strict() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let j = site(Duration::ZERO).await;
    let http = reqwest::Client::new();
    let url = format!("{}/rest/api/3/issue", j.url());
    let (email, token) = (j.config().email.clone(), j.config().api_token.clone());
    let post = |body: &'static str| {
        http.post(&url)
            .basic_auth(&email, Some(&token))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let error =
        |v: serde_json::Value, field: &str| v["errors"][field].as_str().unwrap_or("").to_owned();
    // a plain-string description
    let r = post(r#"{"fields":{"project":{"key":"CHG"},"issuetype":{"name":"Task"},"summary":"s","description":"plain"}}"#)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(error(r.json().await.unwrap(), "description").contains("Atlassian Document"));
    // no summary; another project; an unknown type; a label with a space
    for (body, field) in [
        (
            r#"{"fields":{"project":{"key":"CHG"},"issuetype":{"name":"Task"}}}"#,
            "summary",
        ),
        (
            r#"{"fields":{"project":{"key":"OPS"},"issuetype":{"name":"Task"},"summary":"s"}}"#,
            "project",
        ),
        (
            r#"{"fields":{"project":{"key":"CHG"},"issuetype":{"name":"Bug"},"summary":"s"}}"#,
            "issuetype",
        ),
        (
            r#"{"fields":{"project":{"key":"CHG"},"issuetype":{"name":"Task"},"summary":"s","labels":["a b"]}}"#,
            "labels",
        ),
    ] {
        let r = post(body).await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body}");
        assert!(!error(r.json().await.unwrap(), field).is_empty(), "{body}");
    }
    // not signed in; not JSON
    let r = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .post(&url)
        .basic_auth(&email, Some(&token))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // an unbounded search
    let r = http
        .post(format!("{}/rest/api/3/search/jql", j.url()))
        .basic_auth(&email, Some(&token))
        .header("content-type", "application/json")
        .body(r#"{"jql":"order by key desc"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(j.issues().is_empty());
}
