//! The ServiceNow connector against the ServiceNow mock: a change created
//! exactly once (under throttling, server errors, a create committed but
//! never answered, a create answered after the client gave up), read back
//! as the other side moves it, work notes; credentials refused and OAuth
//! tokens; and the mock's strictness, each part of it.

use std::time::{Duration, Instant};

use changedesk_connectors::servicenow::{
    ChangeModel, ChangeState, NewChange, ServiceNow, ServiceNowAuth, ServiceNowSettings,
};
use changedesk_connectors::{ConnectorError, RetryPolicy};
use changedesk_core::change_control::TicketProgress;
use changedesk_sim::itsm::Fault;
use changedesk_sim::servicenow::{ServiceNowConfig, ServiceNowHandle, start_servicenow};
use secrecy::SecretString;

async fn instance() -> ServiceNowHandle {
    start_servicenow(ServiceNowConfig::default())
        .await
        .expect("ServiceNow mock")
}

fn basic(sn: &ServiceNowHandle) -> ServiceNowAuth {
    ServiceNowAuth::Basic {
        user: sn.config().user.clone(),
        password: SecretString::from(sn.config().password.clone()),
    }
}

fn client(sn: &ServiceNowHandle, auth: ServiceNowAuth) -> ServiceNow {
    client_for(sn, auth, ChangeModel::Table)
}

fn client_for(sn: &ServiceNowHandle, auth: ServiceNowAuth, model: ChangeModel) -> ServiceNow {
    let mut settings = ServiceNowSettings::new(sn.url().parse().unwrap(), auth);
    settings.model = model;
    settings.timeout = Duration::from_secs(1);
    settings.retry = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    };
    ServiceNow::new(settings).unwrap()
}

fn change(id: &str) -> NewChange {
    NewChange {
        correlation_id: id.to_owned(),
        correlation_display: format!("changedesk {id}"),
        short_description: "[M365] MC123456: Exchange retires legacy auth — «ünïcode»".to_owned(),
        description: "Tracked by changedesk".to_owned(),
        start_date: Some("2026-03-01 00:00:00".to_owned()),
    }
}

/// The creates the instance received (`POST` to the table), with their
/// statuses (0: dropped unanswered).
fn creates(sn: &ServiceNowHandle) -> Vec<u16> {
    sn.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/now/table/change_request")
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn a_change_is_created_once_and_read_back_as_the_other_side_moves_it() {
    let sn = instance().await;
    let c = client(&sn, basic(&sn));
    c.test_connection().await.unwrap();
    let (made, created) = c.create_change(&change("cd-MC1-all")).await.unwrap();
    assert!(created);
    assert_eq!(made.number, "CHG0030001");
    assert_eq!(made.state, ChangeState::New);
    assert_eq!(made.correlation_id, "cd-MC1-all");
    let records = sn.records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].field("short_description"),
        Some("[M365] MC123456: Exchange retires legacy auth — «ünïcode»")
    );
    assert_eq!(records[0].field("start_date"), Some("2026-03-01 00:00:00"));
    // asked again (a retry of the job, a restart): the same change
    let (again, created) = c.create_change(&change("cd-MC1-all")).await.unwrap();
    assert!(!created);
    assert_eq!(again, made);
    assert_eq!(creates(&sn), [201]);
    // another tenant group's change is another change
    let (other, _) = c.create_change(&change("cd-MC1-contoso")).await.unwrap();
    assert_eq!(other.number, "CHG0030002");
    // the other side implements, then closes it
    assert!(sn.set_state("CHG0030001", "-1"));
    let read = c.get(&made.sys_id).await.unwrap();
    assert_eq!(read.state, ChangeState::Implement);
    assert_eq!(read.sys_mod_count, 1);
    assert_eq!(read.state.progress(), TicketProgress::InProgress);
    assert!(sn.set_state("CHG0030001", "3"));
    let closed = c.get(&made.sys_id).await.unwrap();
    assert!(closed.state.is_final());
    assert_eq!(closed.state.progress(), TicketProgress::Done);
    assert_eq!(made.state.progress(), TicketProgress::Open);
    assert!(c.change_url(&made).ends_with(&made.sys_id));
    // a record that does not exist
    match c.get("0123456789abcdef0123456789abcdef").await {
        Err(ConnectorError::Status { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_without_a_duplicate() {
    let sn = instance().await;
    let c = client(&sn, basic(&sn));
    sn.fail_next_create(vec![
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Fault::Status(503),
    ]);
    let started = Instant::now();
    let (made, created) = c.create_change(&change("cd-MC2-all")).await.unwrap();
    assert!(created);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(creates(&sn), [429, 503, 201]);
    assert_eq!(sn.records().len(), 1);
    assert_eq!(made.number, "CHG0030001");
    // reads are retried too
    sn.fail_next(vec![Fault::Status(502)]);
    assert_eq!(c.get(&made.sys_id).await.unwrap(), made);
    // a 4xx is the request's fault: not retried
    sn.fail_next(vec![Fault::Status(400)]);
    let before = sn.requests().len();
    match c.get(&made.sys_id).await {
        Err(e @ ConnectorError::Status { status: 400, .. }) => assert!(!e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert_eq!(sn.requests().len(), before + 1);
    // throttled past the policy's longest wait: handed back to the caller
    sn.fail_next(vec![Fault::TooManyRequests {
        retry_after_secs: 3600,
    }]);
    match c.get(&made.sys_id).await {
        Err(ConnectorError::Throttled(Some(d))) => assert_eq!(d, Duration::from_secs(3600)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_create_committed_but_never_answered_is_found_not_made_again() {
    let sn = instance().await;
    let c = client(&sn, basic(&sn));
    // the instance commits the change, then drops the connection
    sn.fail_next_create(vec![Fault::ProcessThenDrop]);
    let (found, created) = c.create_change(&change("cd-MC3-all")).await.unwrap();
    assert!(!created, "found by its correlation id");
    assert_eq!(found.number, "CHG0030001");
    assert_eq!(creates(&sn), [0], "one create, never repeated");
    assert_eq!(sn.records().len(), 1);

    // the instance answers only after the client gave up (1 s): the
    // client looks again once as long has passed, and finds it
    sn.fail_next_create(vec![Fault::Delay(Duration::from_millis(1500))]);
    let (late, created) = c.create_change(&change("cd-MC4-all")).await.unwrap();
    assert!(!created);
    assert_eq!(late.number, "CHG0030002");
    assert_eq!(sn.records().len(), 2);
    assert_eq!(creates(&sn).len(), 2, "{:?}", sn.requests());
}

#[tokio::test]
async fn refused_credentials_are_reported_and_not_retried() {
    let sn = instance().await;
    let c = client(
        &sn,
        ServiceNowAuth::Basic {
            user: sn.config().user.clone(),
            password: SecretString::from("wrong".to_owned()),
        },
    );
    match c.create_change(&change("cd-MC5-all")).await {
        Err(e @ ConnectorError::Credentials(_)) => {
            assert!(!e.is_transient());
            assert!(!e.to_string().contains("wrong"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sn.requests().len(), 1, "asked once");
    assert!(sn.records().is_empty());
    // and the connection test says so
    assert!(matches!(
        c.test_connection().await,
        Err(ConnectorError::Credentials(_))
    ));
}

#[tokio::test]
async fn an_oauth_token_is_fetched_once_and_again_when_refused() {
    let sn = instance().await;
    let oauth = ServiceNowAuth::OAuthClient {
        client_id: sn.config().client_id.clone(),
        client_secret: SecretString::from(sn.config().client_secret.clone()),
    };
    let c = client(&sn, oauth);
    let (made, _) = c.create_change(&change("cd-MC6-all")).await.unwrap();
    c.get(&made.sys_id).await.unwrap();
    let tokens = |sn: &ServiceNowHandle| {
        sn.requests()
            .iter()
            .filter(|r| r.path == "/oauth_token.do")
            .count()
    };
    assert_eq!(tokens(&sn), 1);
    // the instance's token expires: refused once, fetched again
    sn.advance(Duration::from_secs(
        changedesk_sim::servicenow::TOKEN_SECONDS + 1,
    ));
    assert_eq!(c.get(&made.sys_id).await.unwrap().sys_id, made.sys_id);
    assert_eq!(tokens(&sn), 2);
    // a client the instance does not know
    let wrong = client(
        &sn,
        ServiceNowAuth::OAuthClient {
            client_id: "someone".into(),
            client_secret: SecretString::from("else".to_owned()),
        },
    );
    assert!(matches!(
        wrong.test_connection().await,
        Err(ConnectorError::Credentials(_))
    ));
}

#[tokio::test]
async fn a_work_note_is_added_once() {
    let sn = instance().await;
    let c = client(&sn, basic(&sn));
    let (made, _) = c.create_change(&change("cd-MC7-all")).await.unwrap();
    sn.fail_next(vec![Fault::TooManyRequests {
        retry_after_secs: 0,
    }]);
    let after = c
        .add_work_note(
            &made.sys_id,
            "Microsoft moved the rollout start to 2026-04-01",
        )
        .await
        .unwrap();
    assert_eq!(after.sys_mod_count, made.sys_mod_count + 1);
    assert_eq!(
        sn.records()[0].work_notes,
        ["Microsoft moved the rollout start to 2026-04-01"]
    );
    // no answer: not repeated (a note is not idempotent), the caller told
    sn.fail_next(vec![Fault::ProcessThenDrop]);
    assert!(matches!(
        c.add_work_note(&made.sys_id, "second").await,
        Err(ConnectorError::Transport(_))
    ));
    assert_eq!(sn.records()[0].work_notes.len(), 2);
}

/// The mock refuses what a sloppy client would get away with elsewhere:
/// each check, by a raw client.
#[tokio::test]
async fn the_mock_is_strict() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sn = instance().await;
    let http = reqwest::Client::new();
    let table = format!("{}/api/now/table/change_request", sn.url());
    let user = sn.config().user.clone();
    let password = sn.config().password.clone();
    let status = |r: reqwest::Response| r.status().as_u16();
    // no Accept, or one that is not JSON
    for (accept, want) in [("", 400), ("text/xml", 406)] {
        let r = http
            .get(&table)
            .header("accept", accept)
            .basic_auth(&user, Some(&password))
            .send()
            .await
            .unwrap();
        assert_eq!(status(r), want, "Accept: {accept:?}");
    }
    // a write without Content-Type: application/json
    let r = http
        .post(&table)
        .header("accept", "application/json")
        .basic_auth(&user, Some(&password))
        .body(r#"{"short_description":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 415);
    // no credentials: ServiceNow's error body
    let r = http
        .get(&table)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "failure");
    assert_eq!(body["error"]["message"], "User Not Authenticated");
    // a field that is not a string
    let r = http
        .post(&table)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .basic_auth(&user, Some(&password))
        .body(r#"{"short_description":7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 400);
    // a proper create: 201, Location, every value a string, read-only
    // fields kept by the instance
    let r = http
        .post(&table)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .basic_auth(&user, Some(&password))
        .body(r#"{"short_description":"x","number":"CHG9999999","correlation_id":"cd-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["result"]["number"], "CHG0030001");
    assert_eq!(body["result"]["state"], "-5");
    assert!(
        body["result"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.is_string())
    );
    assert!(location.ends_with(body["result"]["sys_id"].as_str().unwrap()));
    // the encoded query matches field=value terms
    let r = http
        .get(&table)
        .query(&[("sysparm_query", "correlation_id=cd-2^ORDERBYnumber")])
        .header("accept", "application/json")
        .basic_auth(&user, Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "0");
}

/// The `incident` table's data policy: a short description to open one,
/// a resolution code and notes to resolve or close one; an unknown table
/// is refused. The client opens one incident per correlation id, notes it
/// and resolves it as the policy asks.
#[tokio::test]
async fn incidents_follow_the_data_policy() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sn = instance().await;
    let http = reqwest::Client::new();
    let user = sn.config().user.clone();
    let password = sn.config().password.clone();
    let send = |method: reqwest::Method, path: String, body: &'static str| {
        http.request(method, format!("{}{path}", sn.url()))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .basic_auth(&user, Some(&password))
            .body(body)
            .send()
    };
    let r = send(
        reqwest::Method::POST,
        "/api/now/table/incident".into(),
        r#"{"description":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 403, "no short description");
    let r = send(
        reqwest::Method::POST,
        "/api/now/table/problem".into(),
        r#"{"short_description":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400, "an unknown table");
    let r = send(
        reqwest::Method::POST,
        "/api/now/table/incident".into(),
        r#"{"short_description":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (
            body["result"]["number"].as_str(),
            body["result"]["state"].as_str()
        ),
        (Some("INC0010001"), Some("1"))
    );
    let sys_id = body["result"]["sys_id"].as_str().unwrap().to_owned();
    for bad in [
        r#"{"state":"6"}"#,
        r#"{"state":"6","close_code":"Solved (Permanently)"}"#,
        r#"{"state":"7","close_code":"x","close_notes":" "}"#,
    ] {
        let r = send(
            reqwest::Method::PATCH,
            format!("/api/now/table/incident/{sys_id}"),
            bad,
        )
        .await
        .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{bad}");
    }
    assert_eq!(
        sn.incidents()[0].field("state"),
        Some("1"),
        "nothing changed"
    );

    // the client
    let c = client(&sn, basic(&sn));
    let new = changedesk_connectors::servicenow::NewIncident {
        correlation_id: "cd-EX1-all".into(),
        short_description: "[M365 EX1] Mail delays".into(),
        description: "Exchange Online".into(),
        impact: 2,
    };
    let (made, created) = c.create_incident(&new).await.unwrap();
    assert!(created);
    let (again, created) = c.create_incident(&new).await.unwrap();
    assert!(!created);
    assert_eq!(again.sys_id, made.sys_id);
    assert_eq!(sn.incidents().len(), 2);
    c.add_incident_note(&made.sys_id, "Microsoft updated EX1")
        .await
        .unwrap();
    let resolved = c
        .resolve_incident(&made.sys_id, "Solved (Permanently)", "Restored")
        .await
        .unwrap();
    assert!(resolved.is_over());
    assert_eq!(resolved.state_label(), "resolved");
    let kept = sn.incidents()[1].clone();
    assert_eq!(kept.work_notes, ["Microsoft updated EX1"]);
    assert_eq!(kept.field("close_notes"), Some("Restored"));
}

#[tokio::test]
async fn changes_updated_since_a_time_are_listed_oldest_first_every_page() {
    let sn = instance().await;
    let c = client(&sn, basic(&sn));
    let (a, _) = c.create_change(&change("cd-MC10-all")).await.unwrap();
    sn.advance(Duration::from_secs(60));
    let (b, _) = c.create_change(&change("cd-MC11-all")).await.unwrap();
    sn.advance(Duration::from_secs(60));
    // another system's change on the same instance
    c.create_change(&change("ext-42")).await.unwrap();
    let ids = |v: Vec<changedesk_connectors::servicenow::Change>| {
        v.into_iter().map(|c| c.number).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(c.changed_since("cd-", "2026-02-17 00:00:00").await.unwrap()),
        [a.number.clone(), b.number.clone()]
    );
    // the other side implements A an hour later: read after B
    sn.advance(Duration::from_secs(3600));
    assert!(sn.set_state(&a.number, "-1"));
    let since_b = c.changed_since("cd-", &b.sys_updated_on).await.unwrap();
    assert_eq!(
        since_b
            .iter()
            .map(|c| c.number.as_str())
            .collect::<Vec<_>>(),
        [b.number.as_str(), a.number.as_str()]
    );
    assert_eq!(since_b[1].state, ChangeState::Implement);
    // nothing is later than A's update but A itself
    assert_eq!(
        ids(c
            .changed_since("cd-", &since_b[1].sys_updated_on)
            .await
            .unwrap()),
        std::slice::from_ref(&a.number)
    );
    // every page of a long listing (pages of 100)
    for i in 0..130 {
        c.create_change(&change(&format!("cd-bulk-{i}")))
            .await
            .unwrap();
    }
    assert_eq!(
        c.changed_since("cd-", "2026-02-17 00:00:00")
            .await
            .unwrap()
            .len(),
        132
    );
    // a prefix cannot add terms to the query
    assert!(matches!(
        c.changed_since("cd-^ORDERBYnumber", "2026-02-17 00:00:00")
            .await,
        Err(ConnectorError::Config(_))
    ));
}

#[tokio::test]
async fn an_update_over_a_change_made_meanwhile_is_refused_until_read_again() {
    let sn = instance().await;
    let c = client(&sn, basic(&sn));
    let (read, _) = c.create_change(&change("cd-MC12-all")).await.unwrap();
    // someone on the other side moves it after changedesk read it
    assert!(sn.set_state(&read.number, "-4"));
    let mut fields = serde_json::Map::new();
    fields.insert("state".into(), "4".into());
    match c
        .update_if_unchanged(&read.sys_id, read.sys_mod_count, &fields)
        .await
    {
        Err(e @ ConnectorError::Conflict(_)) => assert!(!e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sn.records()[0].field("state"),
        Some("-4"),
        "not overwritten"
    );
    // read again, then updated
    let again = c.get(&read.sys_id).await.unwrap();
    let updated = c
        .update_if_unchanged(&again.sys_id, again.sys_mod_count, &fields)
        .await
        .unwrap();
    assert_eq!(updated.state, ChangeState::Canceled);
    assert_eq!(updated.sys_mod_count, again.sys_mod_count + 1);
    // a work note goes through add_work_note
    let mut note = serde_json::Map::new();
    note.insert("work_notes".into(), "x".into());
    assert!(matches!(
        c.update_if_unchanged(&updated.sys_id, updated.sys_mod_count, &note)
            .await,
        Err(ConnectorError::Config(_))
    ));
}

#[tokio::test]
async fn the_change_management_api_makes_normal_and_standard_changes_once() {
    let sn = instance().await;
    let normal = client_for(&sn, basic(&sn), ChangeModel::Normal);
    // committed, then dropped: found through the Table API, not made again
    sn.fail_next_create(vec![Fault::ProcessThenDrop]);
    let (made, created) = normal.create_change(&change("cd-MC20-all")).await.unwrap();
    assert!(!created);
    let (again, created) = normal.create_change(&change("cd-MC20-all")).await.unwrap();
    assert!(!created);
    assert_eq!(again.sys_id, made.sys_id);
    assert_eq!(sn.records().len(), 1);
    assert_eq!(sn.records()[0].field("chg_model"), Some("Normal"));
    // answered in the Change Management API's form ({display_value, value},
    // numbers): read all the same
    let (fresh, created) = normal.create_change(&change("cd-MC21-all")).await.unwrap();
    assert!(created);
    assert_eq!(fresh.state, ChangeState::New);
    assert_eq!(fresh.correlation_id, "cd-MC21-all");
    assert_eq!(fresh.sys_mod_count, 0);
    // a standard change from the published template
    let template = sn.config().standard_templates[0].0.clone();
    let standard = client_for(&sn, basic(&sn), ChangeModel::Standard { template });
    let (std_change, created) = standard
        .create_change(&change("cd-MC22-all"))
        .await
        .unwrap();
    assert!(created);
    let record = sn
        .records()
        .into_iter()
        .find(|r| r.field("sys_id") == Some(std_change.sys_id.as_str()))
        .unwrap();
    assert_eq!(record.field("type"), Some("standard"));
    // a template the instance does not publish: 404, not retried
    let unknown = client_for(
        &sn,
        basic(&sn),
        ChangeModel::Standard {
            template: "0123456789abcdef0123456789abcdef".into(),
        },
    );
    match unknown.create_change(&change("cd-MC23-all")).await {
        Err(e @ ConnectorError::Status { status: 404, .. }) => assert!(!e.is_transient()),
        other => panic!("{other:?}"),
    }
    // not a sys_id: refused before any request
    let before = sn.requests().len();
    let bad = client_for(
        &sn,
        basic(&sn),
        ChangeModel::Standard {
            template: "../normal".into(),
        },
    );
    assert!(matches!(
        bad.create_change(&change("cd-MC24-all")).await,
        Err(ConnectorError::Config(_))
    ));
    assert_eq!(sn.requests().len(), before);
}
