//! A simulated quarter (issue 21's proof), on SQLite and PostgreSQL: the
//! Graph simulator's time passes week by week (new posts, edits, expiries),
//! changedesk syncs and runs the rules each Monday, and a person's actions
//! are scripted through the API at known instants (each new item triaged
//! one to four working days after it appeared, every third one closed two
//! weeks after). The reports are then checked against what the script did,
//! computed here on their own: how many items were new and triaged, the
//! nearest-rank median and 90th percentile of the times to triage and to
//! close, and the new items of each week.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use changedesk_core::config::{Cloud, Credential, SyncSettings, TenantConfig};
use changedesk_graph::{ClientOptions, GraphClient};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_server::sync::{Quiet, SyncRequest, sync_tenants};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_sim::{CorpusSpec, SimConfig};
use changedesk_store::{NewToken, NewUser, Store};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::ui::{Answer, send};

/// Monday 1 June 2026, 09:00 UTC: the first sync.
const T0: &str = "2026-06-01T09:00:00Z";
const WEEKS: i64 = 13;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn plus_days(t: Timestamp, days: i64) -> Timestamp {
    t.saturating_add(time::Duration::days(days))
}

/// The nearest-rank `p`-th percentile of sorted `v` (the value at rank
/// ⌈p × n / 100⌉), as docs/ANALYTICS.md defines it.
fn nearest_rank(v: &[f64], p: usize) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let rank = (p * v.len()).div_ceil(100).max(1);
    v.get(rank - 1).copied()
}

async fn api(
    app: &axum::Router,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        ))
        .unwrap();
    send(app, req).await
}

/// The post ids that have a work item.
async fn item_ids(store: &Store) -> Vec<String> {
    let filter = changedesk_store::ItemFilter {
        limit: Some(100_000),
        ..Default::default()
    };
    let mut ids: Vec<String> = store
        .work_items(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.stored.item.message_id)
        .collect();
    ids.sort();
    ids
}

async fn a_simulated_quarter_is_reported_as_it_happened(store: Store) {
    // one tenant; its corpus starts a week before the first sync
    let t0 = at(T0);
    let sim = changedesk_sim::start(SimConfig {
        tenants: 1,
        spec: CorpusSpec {
            posts: 30,
            issues: 3,
            tenants: 1,
            seed: 21,
            base_time: t0.as_datetime(),
            ..CorpusSpec::default()
        },
        seed: 21,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let base = url::Url::parse(sim.base_url()).unwrap();
    let tenants: Vec<TenantConfig> = sim
        .tenants()
        .into_iter()
        .map(|t| TenantConfig {
            name: t.name,
            tenant_id: t.tenant_id,
            client_id: t.client_id,
            credential: Credential::Secret(SecretString::from(t.client_secret)),
            cloud: Cloud::Global,
            login_url: Some(base.clone()),
            graph_url: Some(base.clone()),
            secret_expires: None,
        })
        .collect();
    let graph = GraphClient::new(ClientOptions {
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(100),
        ..ClientOptions::default()
    })
    .unwrap();
    // closed items stay closed whatever Microsoft edits: the script's
    // closes are the ones reported
    let triage = Triage::load(
        &store,
        changedesk_core::triage::ReopenPolicy {
            enabled: false,
            reopen_on: Vec::new(),
        },
    )
    .await
    .unwrap();
    // a person with an API token, and the server on a clock the script sets
    store
        .create_user(
            &NewUser {
                name: "mia".into(),
                display_name: "Mia".into(),
                email: "mia@example.com".into(),
                role: Role::ChangeManager,
                scope: Scope::default(),
                password_hash: None,
                oidc_subject: None,
                disabled: false,
                at: t0,
            },
            "test",
        )
        .await
        .unwrap();
    let token = format!("cdk_{}", http::auth::new_secret());
    store
        .create_token(
            &NewToken {
                user: "mia".into(),
                name: "script".into(),
                token_hash: http::auth::hash_secret(&token),
                prefix: token.chars().take(10).collect(),
                role: Role::ChangeManager,
                scope: Scope::default(),
                created_at: t0,
                expires_at: None,
            },
            "test",
        )
        .await
        .unwrap();
    let clock = Arc::new(Mutex::new(t0));
    let app = http::router(
        AppState::new(store.clone(), Settings::default()).with_clock({
            let clock = clock.clone();
            move || *clock.lock().unwrap()
        }),
        true,
    );

    // the script: (when, post, action), run in time order between syncs
    let mut script: BTreeMap<(Timestamp, String), Value> = BTreeMap::new();
    // what it did: each new item's creation, triage and close
    let mut created: BTreeMap<String, Timestamp> = BTreeMap::new();
    let mut triaged: BTreeMap<String, Timestamp> = BTreeMap::new();
    let mut closed: BTreeMap<String, Timestamp> = BTreeMap::new();
    let mut new_per_week: Vec<usize> = Vec::new();
    let end = plus_days(t0, 7 * WEEKS + 1);
    let mut known: Vec<String> = Vec::new();
    for week in 0..=WEEKS {
        let now = plus_days(t0, 7 * week);
        // the script's actions due before this Monday's sync
        let due: Vec<((Timestamp, String), Value)> = script
            .range(..(now, String::new()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ((when, post), action) in due {
            script.remove(&(when, post.clone()));
            *clock.lock().unwrap() = when;
            let r = api(
                &app,
                &token,
                "POST",
                &format!("/api/v1/items/{post}/actions"),
                Some(action.clone()),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{post} {action} at {when}: {}",
                r.body
            );
            match action["action"].as_str() {
                Some("triage") => triaged.insert(post, when),
                _ => closed.insert(post, when),
            };
        }
        if week > 0 {
            sim.advance(7, 100 + week as u64);
        }
        let outcomes = sync_tenants(
            &store,
            &graph,
            &tenants,
            &SyncRequest {
                full: week == 0,
                now,
                settings: SyncSettings::default(),
                dry_run: false,
            },
            Arc::new(Quiet),
        )
        .await;
        assert!(
            outcomes.iter().all(|o| o.error.is_none()),
            "week {week}: {outcomes:?}"
        );
        apply_rules(&store, &triage, now, false).await.unwrap();
        let ids = item_ids(&store).await;
        let new: Vec<String> = ids.iter().filter(|i| !known.contains(i)).cloned().collect();
        known = ids;
        if week == 0 {
            continue; // the baseline: created before the period reported
        }
        new_per_week.push(new.len());
        for (i, post) in new.into_iter().enumerate() {
            created.insert(post.clone(), now);
            // triaged 1 to 4 working days later (Tuesday to Friday 09:00)
            let k = (i % 4) as i64 + 1;
            script.insert(
                (plus_days(now, k), post.clone()),
                json!({"action": "triage"}),
            );
            // every third closed two weeks later (10 working days)
            if i % 3 == 0 {
                script.insert(
                    (plus_days(now, 14), post.clone()),
                    json!({"action": "close", "decision": "actioned"}),
                );
            }
        }
    }
    // the script's last actions before the end
    for ((when, post), action) in script.clone() {
        if when >= end {
            continue;
        }
        *clock.lock().unwrap() = when;
        let r = api(
            &app,
            &token,
            "POST",
            &format!("/api/v1/items/{post}/actions"),
            Some(action.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{post}: {}", r.body);
        match action["action"].as_str() {
            Some("triage") => triaged.insert(post, when),
            _ => closed.insert(post, when),
        };
    }
    sim.shutdown().await;
    assert!(
        created.len() >= 13,
        "the quarter brought {} new posts",
        created.len()
    );

    // what the script did, in working days (its instants are all 09:00 on
    // weekdays, so whole days Monday to Friday)
    let working_days = |a: Timestamp, b: Timestamp| -> f64 {
        let (mut d, mut n) = (a.as_datetime().date(), 0.0);
        while d < b.as_datetime().date() {
            d = d.next_day().unwrap();
            if !matches!(d.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
                n += 1.0;
            }
        }
        n
    };
    let mut to_triage: Vec<f64> = triaged
        .iter()
        .map(|(p, t)| working_days(created[p], *t))
        .collect();
    to_triage.sort_by(f64::total_cmp);
    let mut to_close: Vec<f64> = closed
        .iter()
        .map(|(p, t)| working_days(created[p], *t))
        .collect();
    to_close.sort_by(f64::total_cmp);

    // the report of the quarter, asked the day after the last Monday
    *clock.lock().unwrap() = end;
    let r = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/reports/analytics?days={}&weeks={WEEKS}", 7 * WEEKS),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let a: Value = serde_json::from_str(&r.body).unwrap();
    let o = &a["overall"];
    eprintln!(
        "the quarter: {} new items ({new_per_week:?} a week), {} triaged, {} closed; reported {o}",
        created.len(),
        triaged.len(),
        closed.len()
    );
    let f = |v: &Value| v.as_f64();
    assert_eq!(o["items"].as_u64(), Some(created.len() as u64), "{o}");
    assert_eq!(o["triaged"].as_u64(), Some(triaged.len() as u64), "{o}");
    assert_eq!(o["closed"].as_u64(), Some(closed.len() as u64), "{o}");
    assert_eq!(f(&o["triage_median"]), nearest_rank(&to_triage, 50), "{o}");
    assert_eq!(f(&o["triage_p90"]), nearest_rank(&to_triage, 90), "{o}");
    assert_eq!(f(&o["close_median"]), nearest_rank(&to_close, 50), "{o}");
    assert_eq!(f(&o["close_p90"]), nearest_rank(&to_close, 90), "{o}");
    // the SLA breaches: over 5 working days to triage, 2 for a major change
    let mut breaches = 0;
    for (post, t) in &triaged {
        let p = api(&app, &token, "GET", &format!("/api/v1/posts/{post}"), None).await;
        let major = serde_json::from_str::<Value>(&p.body).unwrap()["is_major"]
            .as_bool()
            .unwrap();
        let days = working_days(created[post], *t);
        breaches += usize::from(days > if major { 2.0 } else { 5.0 });
    }
    assert_eq!(o["breaches"].as_u64(), Some(breaches as u64), "{o}");
    assert!(
        breaches > 0,
        "the script made some breaches (majors triaged after 3 or 4 days)"
    );
    // each week's new items, oldest week first
    let weekly = a["weekly"].as_array().unwrap();
    let reported: Vec<u64> = weekly.iter().map(|w| w["new"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = new_per_week.iter().map(|n| *n as u64).collect();
    assert!(
        reported.ends_with(&expected),
        "weekly new {reported:?}, the script's {expected:?}"
    );
}

both!(a_simulated_quarter_is_reported_as_it_happened);
