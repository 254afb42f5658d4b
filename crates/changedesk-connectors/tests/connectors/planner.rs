//! The Planner connector against the Graph simulator's Planner: a task
//! created exactly once (under throttling, a 5xx, a create committed but
//! never answered), in the bucket its rule names, assigned, dated, with its
//! details; read back as a person moves it; a write on a stale etag read
//! again and made on what is there now; notes and due dates; completion
//! (into the Done bucket by state); a deleted task read as canceled;
//! credentials and a missing permission reported.

use std::time::Duration;

use changedesk_connectors::planner::{NewTask, Planner, PlannerSettings, task_title};
use changedesk_connectors::target::{Credentials, Target, TicketRequest, Tuning};
use changedesk_connectors::{ConnectorError, RetryPolicy};
use changedesk_core::change_control::{TargetSettings, TicketProgress, TicketText};
use changedesk_sim::itsm::Fault;
use changedesk_sim::{
    SIM_CLIENT_ID, SIM_CLIENT_SECRET, SimConfig, SimHandle, TASKS_READ_WRITE_ALL,
};
use secrecy::SecretString;
use serde_json::json;

const OWNER: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

async fn graph() -> SimHandle {
    let sim = changedesk_sim::start(SimConfig {
        tenants: 2,
        ..SimConfig::default()
    })
    .await
    .expect("Graph simulator");
    for t in ["tenant-001", "tenant-002"] {
        sim.grant_app_role(t, TASKS_READ_WRITE_ALL).unwrap();
    }
    sim
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    }
}

fn client_with(sim: &SimHandle, tenant: &str, secret: &str) -> Planner {
    let t = sim
        .tenants()
        .into_iter()
        .find(|x| x.name == tenant)
        .unwrap();
    let plan = sim.planner_plan(tenant).unwrap().plan_id;
    let base: url::Url = sim.base_url().parse().unwrap();
    let mut s = PlannerSettings::new(
        base.clone(),
        base,
        &t.tenant_id,
        SIM_CLIENT_ID,
        SecretString::from(secret.to_owned()),
        &plan,
    );
    s.timeout = Duration::from_secs(1);
    s.retry = retry();
    s.list_settle = Duration::from_millis(500);
    Planner::new(s).unwrap()
}

fn client(sim: &SimHandle) -> Planner {
    client_with(sim, "tenant-001", SIM_CLIENT_SECRET)
}

fn task(id: &str) -> NewTask {
    NewTask {
        correlation_id: id.to_owned(),
        title: "[M365] MC123456: Exchange retires legacy auth — «ünïcode»".to_owned(),
        bucket: "Exchange Online".to_owned(),
        assignees: vec![OWNER.to_owned()],
        due: Some("2026-03-31".to_owned()),
        paragraphs: vec![
            "Workloads: Exchange Online.".to_owned(),
            "Act by 2026-03-31.".to_owned(),
        ],
        links: vec![(
            "https://changedesk.example/posts/MC123456".to_owned(),
            "The post in changedesk".to_owned(),
        )],
        checklist: vec!["Assess".to_owned(), "Decide".to_owned()],
    }
}

fn creates(sim: &SimHandle) -> Vec<u16> {
    sim.planner_requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1.0/planner/tasks")
        .map(|r| r.status)
        .collect()
}

/// The ids of the buckets of `tenant`'s plans called `name`, as the
/// simulator's control endpoint shows them.
async fn buckets_named(sim: &SimHandle, tenant: &str, name: &str) -> Vec<String> {
    let state: serde_json::Value = reqwest::get(format!("{}_sim/planner", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["tenant"] == tenant)
        .flat_map(|t| t["plans"].as_array().unwrap().clone())
        .flat_map(|p| p["buckets"].as_array().unwrap().clone())
        .filter(|b| b["name"] == name)
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_task_is_created_once_with_its_details_and_followed() {
    let sim = graph().await;
    let c = client(&sim);
    c.test_connection().await.unwrap();
    let (made, created) = c.create_task(&task("cd-MC123456-all")).await.unwrap();
    assert!(created);
    assert_eq!(made.progress(), TicketProgress::Open);
    assert_eq!(
        made.title,
        task_title(&task("x").title, "cd-MC123456-all"),
        "the id ends the title"
    );
    // the workload's bucket was made, and the task is in it
    let bucket = buckets_named(&sim, "tenant-001", "Exchange Online").await;
    assert_eq!(bucket.len(), 1);
    let stored = sim.planner_task(&made.id).unwrap();
    assert_eq!(stored["bucketId"], bucket[0].as_str());
    assert_eq!(stored["dueDateTime"], "2026-03-31T00:00:00Z");
    assert!(stored["assignments"].get(OWNER).is_some(), "{stored}");
    let details = sim.planner_task_details(&made.id).unwrap();
    assert!(
        details["description"]
            .as_str()
            .unwrap()
            .starts_with("Workloads: Exchange Online.")
    );
    assert_eq!(details["checklist"].as_object().unwrap().len(), 2);
    assert!(
        details["references"]
            .get("https%3A//changedesk%2Eexample/posts/MC123456")
            .is_some(),
        "{details}"
    );

    // asked again: the same task, nothing created, details untouched
    let (again, created) = c.create_task(&task("cd-MC123456-all")).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, made.id);
    assert_eq!(creates(&sim), [201]);
    assert_eq!(
        buckets_named(&sim, "tenant-001", "Exchange Online")
            .await
            .len(),
        1,
        "the bucket is reused"
    );
    assert_eq!(
        sim.planner_task_details(&made.id).unwrap()["checklist"]
            .as_object()
            .unwrap()
            .len(),
        2
    );

    // a person works on it in Planner: read back
    sim.planner_edit_task(&made.id, json!({"percentComplete": 50}))
        .unwrap();
    assert_eq!(
        c.get(&made.id).await.unwrap().progress(),
        TicketProgress::InProgress
    );
    sim.planner_edit_task(&made.id, json!({"percentComplete": 100}))
        .unwrap();
    let done = c.get(&made.id).await.unwrap();
    assert_eq!(done.progress(), TicketProgress::Done);
    assert_eq!(done.state(), "completed");
}

#[tokio::test]
async fn a_create_committed_but_never_answered_is_found_not_made_twice() {
    let sim = graph().await;
    let c = client(&sim);
    sim.planner_fail_next_create(vec![Fault::ProcessThenDrop]);
    let (made, created) = c.create_task(&task("cd-MC2-all")).await.unwrap();
    assert!(!created, "found, not created by an answered call");
    assert_eq!(creates(&sim), [0], "one create, dropped");
    assert_eq!(sim.planner_tasks("tenant-001").len(), 1);
    // its details were written all the same
    assert!(
        !sim.planner_task_details(&made.id).unwrap()["description"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    // throttled, then a 5xx that did nothing: one task in the end
    sim.planner_fail_next_create(vec![
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        Fault::Status(503),
    ]);
    let (other, created) = c.create_task(&task("cd-MC3-all")).await.unwrap();
    assert!(created);
    assert_eq!(creates(&sim), [0, 429, 503, 201]);
    assert_eq!(sim.planner_tasks("tenant-001").len(), 2);
    assert_ne!(other.id, made.id);
}

#[tokio::test]
async fn a_task_is_found_on_any_page_of_the_plan() {
    let sim = graph().await;
    let c = client(&sim);
    sim.planner_set_page_size(2);
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut t = task(&format!("cd-MC{i}-all"));
        t.checklist.clear();
        ids.push(c.create_task(&t).await.unwrap().0.id);
    }
    assert_eq!(c.list_tasks().await.unwrap().len(), 5);
    let found = c.find("cd-MC4-all").await.unwrap().unwrap();
    assert_eq!(found.id, ids[4]);
    assert!(c.find("cd-MC9-all").await.unwrap().is_none());
    assert_eq!(creates(&sim).len(), 5);
}

#[tokio::test]
async fn a_write_on_a_stale_etag_is_made_again_on_what_is_there() {
    let sim = graph().await;
    let c = client(&sim);
    let (made, _) = c.create_task(&task("cd-MC5-all")).await.unwrap();
    sim.planner_clear_requests();
    let mut asked = 0;
    let updated = c
        .update_task(&made.id, |now| {
            asked += 1;
            if asked == 1 {
                // someone moves it in Planner between the read and the write
                sim.planner_edit_task(&now.id, json!({"priority": 1}))
                    .unwrap();
            }
            Some(json!({"percentComplete": 50}))
        })
        .await
        .unwrap();
    assert_eq!(asked, 2, "read again after the 412");
    assert_eq!(updated.percent_complete, 50);
    let statuses: Vec<(String, u16, bool)> = sim
        .planner_requests()
        .iter()
        .map(|r| (r.method.clone(), r.status, r.sent_if_match()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("GET".to_owned(), 200, false),
            ("PATCH".to_owned(), 412, true),
            ("GET".to_owned(), 200, false),
            ("PATCH".to_owned(), 200, true),
        ]
    );
    // the person's edit stands
    assert_eq!(sim.planner_task(&made.id).unwrap()["priority"], 1);

    // someone who never stops writing: a conflict, reported
    let err = c
        .update_task(&made.id, |now| {
            sim.planner_edit_task(&now.id, json!({"priority": 3}))
                .unwrap();
            Some(json!({"percentComplete": 60}))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Conflict(_)), "{err}");
}

fn target(sim: &SimHandle, buckets: &str) -> Target {
    let base = sim.base_url().trim_end_matches('/').to_owned();
    let t = &sim.tenants()[0];
    let settings: TargetSettings = serde_json::from_value(json!({
        "system": "planner",
        "url": base,
        "login": base,
        "tenant": t.tenant_id,
        "user": SIM_CLIENT_ID,
        "plan": sim.planner_plan("tenant-001").unwrap().plan_id,
        "buckets": buckets,
    }))
    .unwrap();
    Target::tuned(
        &settings,
        &Credentials {
            secret: SIM_CLIENT_SECRET.to_owned(),
            app_token: None,
        },
        Tuning {
            timeout: Duration::from_secs(1),
            retry: retry(),
            search_settle: Duration::from_millis(500),
        },
    )
    .unwrap()
}

#[tokio::test]
async fn through_the_one_interface_revised_completed_and_deleted() {
    let sim = graph().await;
    let t = target(&sim, "state");
    let text = TicketText {
        summary: "[M365] MC777: Teams changes".to_owned(),
        paragraphs: vec!["Act by 2026-03-31.".to_owned()],
    };
    let services = vec!["Microsoft Teams".to_owned()];
    let assignees = vec![OWNER.to_owned()];
    let checklist = changedesk_core::change_control::planner_checklist(None, None);
    let request = TicketRequest {
        maybe_made: false,
        post_id: "MC777",
        correlation_id: "cd-MC777-all",
        text: &text,
        link: "https://changedesk.example/posts/MC777",
        due: Some("2026-03-31".to_owned()),
        services: &services,
        assignees: &assignees,
        checklist: &checklist,
    };
    let (ticket, created) = t.raise(&request).await.unwrap();
    assert!(created);
    assert_eq!(ticket.number, format!("task {}", &ticket.id[..8]));
    assert_eq!(ticket.state, "not started");
    // by state: a new task goes to "To do" (the plan's own)
    let seed = sim.planner_plan("tenant-001").unwrap();
    assert_eq!(
        sim.planner_task(&ticket.id).unwrap()["bucketId"],
        seed.bucket_id.as_str()
    );
    let details = sim.planner_task_details(&ticket.id).unwrap();
    assert_eq!(
        details["references"].as_object().unwrap().len(),
        2,
        "changedesk and the Message center"
    );
    assert_eq!(details["checklist"].as_object().unwrap().len(), 4);

    // a revision: noted on top, the due date moved
    t.revise(
        &ticket.id,
        &["Act by: 2026-03-31 → 2026-04-30".to_owned()],
        Some("2026-04-30"),
    )
    .await
    .unwrap();
    let details = sim.planner_task_details(&ticket.id).unwrap();
    let description = details["description"].as_str().unwrap();
    assert!(
        description.starts_with("Act by: 2026-03-31 → 2026-04-30\n\nAct by 2026-03-31."),
        "{description}"
    );
    assert_eq!(
        sim.planner_task(&ticket.id).unwrap()["dueDateTime"],
        "2026-04-30T00:00:00Z"
    );

    // closed here: completed there, in "Done"
    let closed = t
        .close(
            &ticket.id,
            false,
            &["Closed in changedesk: actioned.".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(closed.progress, TicketProgress::Done);
    let done = buckets_named(&sim, "tenant-001", "Done").await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        sim.planner_task(&ticket.id).unwrap()["bucketId"],
        done[0].as_str()
    );
    // closing again changes nothing
    sim.planner_clear_requests();
    t.close(&ticket.id, false, &[]).await.unwrap();
    assert!(sim.planner_requests().iter().all(|r| r.method == "GET"));

    // deleted by someone in Planner: canceled
    assert!(sim.planner_delete_task(&ticket.id));
    let gone = t.read(&ticket.id).await.unwrap();
    assert_eq!(gone.progress, TicketProgress::Canceled);
    assert_eq!(gone.state, "deleted");
    assert!(!t.takes_incidents());
}

#[tokio::test]
async fn refused_credentials_and_a_missing_permission_are_reported() {
    let sim = graph().await;
    let wrong = client_with(&sim, "tenant-001", "not-the-secret");
    let err = wrong.test_connection().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Credentials(_)), "{err}");
    assert!(!err.is_transient());
    assert!(!format!("{err:?}").contains("not-the-secret"));

    sim.revoke_app_role("tenant-002", TASKS_READ_WRITE_ALL)
        .unwrap();
    let c = client_with(&sim, "tenant-002", SIM_CLIENT_SECRET);
    let err = c.create_task(&task("cd-MC6-all")).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Status { status: 403, .. }),
        "{err}"
    );
    assert!(!err.is_transient());

    // one tenant's token never reaches another tenant's plan
    let t1 = sim.planner_plan("tenant-001").unwrap().plan_id;
    let t2 = sim.tenants()[1].clone();
    sim.grant_app_role("tenant-002", TASKS_READ_WRITE_ALL)
        .unwrap();
    let base: url::Url = sim.base_url().parse().unwrap();
    let mut s = PlannerSettings::new(
        base.clone(),
        base,
        &t2.tenant_id,
        SIM_CLIENT_ID,
        SecretString::from(SIM_CLIENT_SECRET.to_owned()),
        &t1,
    );
    s.retry = retry();
    let cross = Planner::new(s).unwrap();
    let err = cross.test_connection().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Status { status: 404, .. }),
        "{err}"
    );
}
