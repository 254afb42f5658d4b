//! The reports (issue 21), on SQLite and PostgreSQL: the analytics of the
//! work in the caller's tenants as JSON (`GET /api/v1/reports/analytics`),
//! one table as CSV, and the page `/reports` with its charts (SVG) and
//! tables; figures checked against work items whose times are known.

use axum::http::StatusCode;
use changedesk_core::Timestamp;
use changedesk_core::triage::{Decision, State, WorkItem};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_store::Store;
use serde_json::Value;

use super::ui::{Fixture, fixture, sign_in};

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// The fixture's posts and items (MC1, MC2 of zulu alone, MC666, all new
/// since Tuesday 10 March 09:00), and three more of alpha's whose times are
/// known, served with the clock a working day later (Wednesday 09:00):
/// - MC5000, opened Monday 2 March 09:00, triaged Wednesday 4 March 09:00
///   (2 working days), still open;
/// - MC5001, opened the same Monday, triaged on Tuesday (1), closed on
///   Thursday 5 March (3);
/// - MC5002, opened Monday 23 February 09:00, never triaged: 12 working days
///   by Wednesday 11 March, over the 5-day target.
async fn reports_fixture(store: Store) -> Fixture {
    let f = fixture(store, 3).await;
    let items = [
        (
            "MC5000",
            "2026-03-02T09:00:00Z",
            Some("2026-03-04T09:00:00Z"),
            None,
        ),
        (
            "MC5001",
            "2026-03-02T09:00:00Z",
            Some("2026-03-03T09:00:00Z"),
            Some("2026-03-05T09:00:00Z"),
        ),
        ("MC5002", "2026-02-23T09:00:00Z", None, None),
    ];
    for (id, created, triaged, closed) in items {
        let mut item = WorkItem::new(id, at(created));
        item.first_triaged_at = triaged.map(at);
        if triaged.is_some() {
            item.state = State::Triaged;
            item.assignee = Some("owen".into());
        }
        if let Some(c) = closed {
            item.state = State::Done;
            item.decision = Some(Decision::Actioned);
            item.closed_at = Some(at(c));
            item.assignee = None;
        }
        crate::save_new_item(&f.store, &item, at(created)).await;
    }
    let state = AppState::new(
        f.store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at("2026-03-11T09:00:00Z"));
    Fixture {
        app: http::router(state, true),
        store: f.store,
    }
}

async fn the_analytics_count_the_work_of_the_callers_tenants(store: Store) {
    let f = reports_fixture(store).await;
    let admin = sign_in(&f, "admin").await;
    let a = admin.get(&f, "/api/v1/reports/analytics?days=30").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    let o = &v["overall"];
    assert_eq!(o["items"], 6, "{o}");
    assert_eq!(o["triaged"], 2, "{o}");
    // nearest rank of [1, 2]: the median 1, the 90th percentile 2
    assert_eq!(o["triage_median"], 1.0, "{o}");
    assert_eq!(o["triage_p90"], 2.0, "{o}");
    assert_eq!(o["closed"], 1, "{o}");
    assert_eq!(o["close_median"], 3.0, "{o}");
    assert_eq!(o["open"], 5, "{o}");
    assert_eq!(o["breaches"], 1, "{o}");
    let breaches = v["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0]["post_id"], "MC5002");
    assert_eq!(breaches[0]["days"], 12.0);
    assert_eq!(breaches[0]["open"], true);
    // by owner: owen's MC5000 (and MC1), the rest unassigned
    let owners = v["by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d[0] == "owner")
        .map(|d| d[1].clone())
        .expect("an owner dimension");
    assert_eq!(owners[0][0], "unassigned", "{owners}");
    assert_eq!(owners[0][1]["items"], 4, "{owners}");
    assert_eq!(owners[1][0], "owen", "{owners}");
    assert_eq!(owners[1][1]["items"], 2, "{owners}");

    // a user limited to alpha does not count zulu's MC2
    let scoped = sign_in(&f, "scoped").await;
    let s: Value = serde_json::from_str(
        &scoped
            .get(&f, "/api/v1/reports/analytics?days=30")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(s["overall"]["items"], 5, "{}", s["overall"]);
    assert_eq!(s["overall"]["open"], 4, "{}", s["overall"]);

    // one table as CSV
    let csv = admin
        .get(
            &f,
            "/api/v1/reports/analytics?days=30&format=csv&table=breaches",
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(
        lines[0].starts_with("post,title,owner,major,target"),
        "{}",
        csv.body
    );
    assert!(lines[1].starts_with("MC5002,"), "{}", csv.body);
    assert!(lines[1].contains(",triage,5.00,12.00,true"), "{}", csv.body);
    for bad in [
        "/api/v1/reports/analytics?days=0",
        "/api/v1/reports/analytics?weeks=1000",
        "/api/v1/reports/analytics?format=csv&table=secrets",
        "/api/v1/reports/analytics?format=xml",
    ] {
        assert_eq!(
            admin.get(&f, bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

async fn the_reports_page_draws_its_charts_beside_their_figures(store: Store) {
    let f = reports_fixture(store).await;
    let b = sign_in(&f, "reader").await;
    let page = b.get(&f, "/reports?days=30&weeks=4").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // the health score's trend and the four of the analytics
    assert_eq!(
        page.body.matches("<svg class=\"chart\"").count(),
        5,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("aria-label=\"New and closed items per week\"")
    );
    // the overall row, the breach, the oldest open item
    assert!(
        page.body.contains(
            "<th scope=\"row\">All items</th><td>6</td><td>2</td><td>1.00</td><td>2.00</td>"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("12.00 and counting"), "{}", page.body);
    assert!(page.body.contains("href=\"/posts/MC5002\""));
    // four weeks in the weekly table
    assert!(page.body.contains("<td>2026-02-16</td>"), "{}", page.body);
    let csv = b
        .get(&f, "/reports?days=30&weeks=4&format=csv&table=weekly")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 5, "{}", csv.body);
    assert!(
        csv.body.starts_with("week,new,triaged,closed,backlog"),
        "{}",
        csv.body
    );
    let bad = b.get(&f, "/reports?days=5000").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

async fn the_health_score_and_the_maturity_level_show_their_evidence(store: Store) {
    let f = reports_fixture(store).await;
    let admin = sign_in(&f, "admin").await;
    let h = admin.get(&f, "/api/v1/reports/health?weeks=4").await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    let h: Value = serde_json::from_str(&h.body).unwrap();
    let components = h["components"].as_array().unwrap();
    assert_eq!(components.len(), 6, "{h}");
    // MC5002 is over its triage target: the SLA component names it
    let sla = components
        .iter()
        .find(|c| c["key"] == "sla_breaches")
        .unwrap();
    assert_eq!(sla["affected"], 1, "{sla}");
    assert_eq!(sla["items"][0], "MC5002", "{sla}");
    let comms = components
        .iter()
        .find(|c| c["key"] == "comms_before_rollout")
        .unwrap();
    assert_eq!(comms["measured"], false);
    let score = h["score"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&score), "{score}");
    assert_eq!(h["trend"].as_array().unwrap().len(), 4, "{h}");
    assert_eq!(h["trend"][3]["score"].as_f64(), Some(score));

    // the maturity level: no review recorded yet
    let weekly = |m: &Value| {
        m["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "weekly_review")
            .cloned()
            .unwrap()
    };
    let m: Value =
        serde_json::from_str(&admin.get(&f, "/api/v1/reports/maturity").await.body).unwrap();
    assert_eq!(m["level"], 100, "{m}");
    assert!(
        weekly(&m)["evidence"]
            .as_str()
            .unwrap()
            .starts_with("0 of the last 13"),
        "{m}"
    );
    let not_measured = m["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "not_measured")
        .count();
    assert!(not_measured >= 2, "{m}");
    // the reports sent are measured (none scheduled here: not met)
    let reported = m["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "time_open_reported")
        .cloned()
        .unwrap();
    assert_eq!(reported["status"], "not_met", "{reported}");
    assert!(
        reported["evidence"]
            .as_str()
            .unwrap()
            .starts_with("0 reports of time open sent"),
        "{reported}"
    );
    // this week's review recorded on the agenda page: once, then counted
    let page = admin.get(&f, "/agenda").await;
    assert!(
        page.body.contains("Record this week's review as held"),
        "{}",
        page.body
    );
    let a = admin
        .post(&f, "/agenda/held", &[("note", "12 posts"), ("since", "7d")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = admin.get(&f, a.location()).await;
    assert!(page.body.contains("is recorded as held"), "{}", page.body);
    assert!(!page.body.contains("Record this week's review as held"));
    let m: Value =
        serde_json::from_str(&admin.get(&f, "/api/v1/reports/maturity").await.body).unwrap();
    assert!(
        weekly(&m)["evidence"]
            .as_str()
            .unwrap()
            .starts_with("1 of the last 13"),
        "{m}"
    );
    let held: Value = serde_json::from_str(&admin.get(&f, "/api/v1/reviews").await.body).unwrap();
    assert_eq!(held["held"], serde_json::json!(["2026-03-09"]), "{held}");
    // a reader sees the level but records nothing
    let reader = sign_in(&f, "reader").await;
    assert!(
        !reader
            .get(&f, "/agenda")
            .await
            .body
            .contains("Record this week's review")
    );
    assert_eq!(
        reader
            .post(&f, "/agenda/held", &[("note", "")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // feedback to Microsoft: not given yet, then recorded on the post page
    // and through the API, and counted
    let feedback = |m: &Value| {
        m["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "feedback_to_microsoft")
            .cloned()
            .unwrap()
    };
    assert_eq!(feedback(&m)["status"], "not_met", "{m}");
    let post = admin.get(&f, "/posts/MC1").await;
    assert!(post.body.contains("Record the feedback"), "{}", post.body);
    let a = admin
        .post(
            &f,
            "/posts/MC1/actions",
            &[
                ("action", "record_feedback"),
                ("kind", "support_case"),
                ("reference", "2604150040001234"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let post = admin.get(&f, "/posts/MC1").await;
    assert!(
        post.body.contains("Feedback to Microsoft: Support case"),
        "{}",
        post.body
    );
    assert!(post.body.contains("2604150040001234"));
    let api = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC666/actions",
            &serde_json::json!({"action": "record_feedback", "kind": "thumbs_down"}),
        )
        .await;
    assert!(api.status.is_success(), "{} {}", api.status, api.body);
    let bad = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC666/actions",
            &serde_json::json!({"action": "record_feedback", "kind": "a_letter"}),
        )
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.status);
    let m: Value =
        serde_json::from_str(&admin.get(&f, "/api/v1/reports/maturity").await.body).unwrap();
    assert_eq!(feedback(&m)["status"], "met", "{m}");
    assert!(
        feedback(&m)["evidence"].as_str().unwrap().contains('2'),
        "{m}"
    );

    // the page shows both
    let page = admin.get(&f, "/reports?weeks=4").await;
    assert!(page.body.contains("Change health score: "), "{}", page.body);
    assert!(page.body.contains("Maturity level 100"), "{}", page.body);
    assert!(page.body.contains("not measured"), "{}", page.body);
    // a tenant the caller does not see, a group that is none of theirs: 404
    let scoped = sign_in(&f, "scoped").await;
    assert_eq!(
        scoped
            .get(&f, "/api/v1/reports/health?tenant=zulu")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        scoped
            .get(&f, "/api/v1/reports/maturity?group=nope")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let own = scoped.get(&f, "/api/v1/reports/health?tenant=alpha").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}

both!(
    the_analytics_count_the_work_of_the_callers_tenants,
    the_reports_page_draws_its_charts_beside_their_figures,
    the_health_score_and_the_maturity_level_show_their_evidence,
);
