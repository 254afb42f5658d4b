//! Onboarding hundreds of tenants (issue 18): 500 customer tenants from a
//! partner portal's CSV export through the API, none of which has consented
//! to the app yet (the simulator models admin consent); a consent link for
//! each, followed through the simulated admin consent and back to
//! `/consent/callback`; a refusal, a replayed answer, a revoked permission
//! found by the access check ("lacks ServiceHealth.Read.All"); then one sync
//! of every consented tenant.

use std::sync::Arc;

use changedesk_core::access::{Role, Scope};
use changedesk_core::config::{AppRegistration, Cloud, Credential, SyncSettings};
use changedesk_graph::{ClientOptions, GraphClient};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_server::onboard::{self, Onboarding};
use changedesk_server::sync::{Quiet, SyncRequest, sync_tenants};
use changedesk_sim::{CorpusSpec, SIM_CLIENT_ID, SIM_CLIENT_SECRET, SimConfig};
use changedesk_store::Store;
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use super::ui::{Browser, Fixture, NOW, at, get, send, sign_in, user};

const TENANTS: usize = 500;
const PUBLIC: &str = "http://changedesk.test";

fn graph() -> GraphClient {
    GraphClient::new(ClientOptions {
        max_retry_time: std::time::Duration::from_secs(5),
        backoff_base: std::time::Duration::from_millis(5),
        backoff_max: std::time::Duration::from_millis(50),
        ..ClientOptions::default()
    })
    .unwrap()
}

async fn csv_request(b: &Browser, f: &Fixture, csv: &str) -> super::ui::Answer {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/tenants")
        .header(axum::http::header::COOKIE, &b.cookie)
        .header(changedesk_server::http::auth::CSRF_HEADER, &b.csrf)
        .header(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .body(axum::body::Body::from(csv.to_owned()))
        .unwrap();
    send(&f.app, req).await
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == json!(name))
        .unwrap_or_else(|| panic!("no tenant {name}"))
}

async fn five_hundred_tenants_onboard_from_a_csv_list(store: Store) {
    let sim = changedesk_sim::start(SimConfig {
        tenants: TENANTS,
        unconsented: true,
        spec: CorpusSpec {
            posts: 12,
            issues: 2,
            ..CorpusSpec::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let callback = format!("{PUBLIC}{}", onboard::CONSENT_CALLBACK_PATH);
    sim.oidc_set_redirect_uris(vec![callback.clone()]).unwrap();
    let base = Url::parse(sim.base_url()).unwrap();
    let app = AppRegistration {
        client_id: SIM_CLIENT_ID.into(),
        credential: Credential::Secret(SecretString::from(SIM_CLIENT_SECRET)),
        cloud: Cloud::Global,
        login_url: Some(base.clone()),
        graph_url: Some(base.clone()),
        secret_expires: None,
    };
    let state = AppState::new(
        store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(NOW))
    .with_onboarding(Onboarding {
        app: app.clone(),
        graph: graph(),
        public_url: Some(PUBLIC.into()),
        configured: vec!["configured".into()],
        concurrency: 16,
    });
    let f = Fixture {
        app: http::router(state, true),
        store: store.clone(),
    };
    user(&store, "admin", Role::Admin, Scope::default()).await;
    user(&store, "cm", Role::ChangeManager, Scope::default()).await;
    let admin = sign_in(&f, "admin").await;

    // a partner portal's export: no name column, names made from the domains
    let sim_tenants = sim.tenants();
    let mut csv = String::from("Company name,Microsoft ID,Primary domain name\n");
    for t in &sim_tenants {
        csv.push_str(&format!(
            "\"{} Ltd, Inc.\",{},{}\n",
            t.name, t.tenant_id, t.domain
        ));
    }
    // only unrestricted admins add tenants
    let cm = sign_in(&f, "cm").await;
    assert_eq!(csv_request(&cm, &f, &csv).await.status, 403);
    // a list with a problem adds nothing, and says where
    let broken = format!("{csv}\"Bad\",not-a-guid,\n");
    let a = csv_request(&admin, &f, &broken).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains(&format!("line {}", TENANTS + 2)),
        "{}",
        a.body
    );
    assert!(store.directory_tenants().await.unwrap().is_empty());
    // a configured tenant's name is refused
    let a = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/tenants",
            &json!({"tenants": [{"name": "configured", "directory_id": "x.onmicrosoft.com"}]}),
        )
        .await;
    assert_eq!(a.status, 409, "{}", a.body);

    let a = csv_request(&admin, &f, &csv).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let added: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(added["added"].as_array().unwrap().len(), TENANTS);
    let first = &sim_tenants[0];
    let name_of = |t: &changedesk_sim::SimTenant| t.domain.split('.').next().unwrap().to_owned();
    let list: Value =
        serde_json::from_str(&admin.get(&f, "/api/v1/tenants?limit=1000").await.body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), TENANTS);
    let t0 = by_name(&list, &name_of(first));
    assert_eq!(t0["source"], json!("database"));
    assert_eq!(t0["consent"], json!("not_asked"));
    assert_eq!(
        t0["directory_id"],
        json!(first.tenant_id.to_ascii_lowercase())
    );
    assert_eq!(
        t0["display_name"],
        json!(format!("{} Ltd, Inc.", first.name))
    );

    // the list pages: 100 by default, X-Total-Count says how many in all;
    // a search finds by name, display name or directory
    let a = admin.get(&f, "/api/v1/tenants").await;
    assert_eq!(a.headers["x-total-count"], TENANTS.to_string().as_str());
    let page: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(page.as_array().unwrap().len(), 100);
    let a = admin
        .get(&f, "/api/v1/tenants?q=Tenant-00&offset=5&limit=3")
        .await;
    assert_eq!(a.headers["x-total-count"], "9", "tenant-001 … tenant-009");
    let page: Value = serde_json::from_str(&a.body).unwrap();
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tenant-006", "tenant-007", "tenant-008"]);
    let guid_part: String = first.tenant_id.chars().take(8).collect();
    let a = admin
        .get(&f, &format!("/api/v1/tenants?q={guid_part}"))
        .await;
    assert_eq!(a.headers["x-total-count"], "1", "{}", a.body);
    // the tenants page: 50 a page, a pager, a search
    let page = admin.get(&f, "/tenants").await;
    assert_eq!(page.body.matches("<tr data-row>").count(), 50);
    assert!(page.body.contains("500 tenants"), "tenants page");
    assert!(page.body.contains(r#"href="/tenants?page=2" rel="next""#));
    assert!(
        page.body.len() < 100 * 1024,
        "{} bytes for 50 tenants",
        page.body.len()
    );
    let page = admin.get(&f, "/tenants?q=tenant-49").await;
    assert_eq!(
        page.body.matches("<tr data-row>").count(),
        10,
        "tenant-490 … tenant-499"
    );

    // before consent, the app is not in the tenant: no token
    let path = format!("/api/v1/tenants/{}/check", name_of(first));
    let a = admin.send_json(&f, "POST", &path, &json!({})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let check: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(check["ok"], json!(false));
    assert!(
        check["error"].as_str().unwrap().contains("700016"),
        "{check}"
    );

    // a consent link per tenant, answered by the tenant's (simulated) admin
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let declined = name_of(&sim_tenants[1]);
    let mut replay = None;
    for (i, t) in sim_tenants.iter().enumerate() {
        let name = name_of(t);
        let a = admin
            .send_json(
                &f,
                "POST",
                &format!("/api/v1/tenants/{name}/consent-link"),
                &json!({}),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let link: Value = serde_json::from_str(&a.body).unwrap();
        let url = Url::parse(link["url"].as_str().unwrap()).unwrap();
        assert!(url.path().ends_with("/v2.0/adminconsent"), "{url}");
        if name == declined {
            sim.decline_next_consent();
        }
        let answer = http.get(url).send().await.unwrap();
        assert_eq!(answer.status(), 302, "{}", answer.text().await.unwrap());
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&callback), "{location}");
        let back = location.strip_prefix(PUBLIC).unwrap();
        let page = send(&f.app, get(back, None)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if name == declined {
            assert!(page.body.contains("Consent not given"), "{}", page.body);
            assert!(page.body.contains("65004"), "{}", page.body);
        } else {
            assert!(page.body.contains("Consent recorded"), "{}", page.body);
        }
        if i == 0 {
            replay = Some(back.to_owned());
        }
    }
    // an answer counts once; a made-up one changes nothing
    let again = send(&f.app, get(&replay.unwrap(), None)).await;
    assert_eq!(again.status, 404, "{}", again.body);
    let forged = send(
        &f.app,
        get(
            "/consent/callback?admin_consent=True&tenant=x&state=forged",
            None,
        ),
    )
    .await;
    assert_eq!(forged.status, 404);
    assert_eq!(sim.consented(&sim_tenants[1].name), Some(false));
    assert_eq!(sim.consented(&sim_tenants[2].name), Some(true));

    // a permission withdrawn in one tenant shows in its check
    let revoked = name_of(&sim_tenants[2]);
    sim.revoke_app_role(&sim_tenants[2].name, "ServiceHealth.Read.All")
        .unwrap();
    let a = admin
        .send_json(
            &f,
            "POST",
            &format!("/api/v1/tenants/{revoked}/check"),
            &json!({}),
        )
        .await;
    let check: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        check["missing_permissions"],
        json!(["ServiceHealth.Read.All"]),
        "{check}"
    );

    // every tenant checked at once, as `changedesk tenants check` does
    let directory = store.directory_tenants().await.unwrap();
    let roster = onboard::roster(&[], Some(&app), &directory);
    assert_eq!(
        roster.len(),
        TENANTS - 1,
        "the declined tenant is not synced"
    );
    assert!(!roster.iter().any(|t| t.name == declined));
    let results = onboard::check_tenants(&store, &graph(), &roster, &directory, 16, &at(NOW))
        .await
        .unwrap();
    let bad: Vec<&String> = results
        .iter()
        .filter(|(_, c)| c.error.is_some() || !c.missing.is_empty())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(bad, vec![&revoked]);
    let list: Value =
        serde_json::from_str(&admin.get(&f, "/api/v1/tenants?limit=1000").await.body).unwrap();
    assert_eq!(by_name(&list, &declined)["consent"], json!("declined"));
    assert_eq!(
        by_name(&list, &revoked)["missing_permissions"],
        json!(["ServiceHealth.Read.All"])
    );
    assert_eq!(by_name(&list, &name_of(first))["consent"], json!("granted"));
    // the tenants page says so
    let page = admin.get(&f, &format!("/tenants?q={revoked}")).await;
    assert!(
        page.body.contains("lacks ServiceHealth.Read.All"),
        "tenants page"
    );
    let page = admin.get(&f, &format!("/tenants?q={declined}")).await;
    assert!(page.body.contains(r#"data-consent="declined""#));

    // one sync of every consented tenant: all but the one lacking a
    // permission load their posts
    let request = SyncRequest {
        full: true,
        now: at(NOW),
        settings: SyncSettings {
            concurrency: 16,
            ..SyncSettings::default()
        },
        dry_run: false,
    };
    let outcomes = sync_tenants(&store, &graph(), &roster, &request, Arc::new(Quiet)).await;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.error.is_some())
        .map(|o| o.tenant.as_str())
        .collect();
    assert_eq!(failed, vec![revoked.as_str()]);
    let rows = store.tenants().await.unwrap();
    assert_eq!(
        rows.iter().filter(|r| r.posts_visible > 0).count(),
        TENANTS - 1,
        "every consented tenant's posts, and the one lacking ServiceHealth.Read.All still got its posts"
    );

    // a tenant's health: consent withdrawn after a good sync shows as such,
    // with the last good sync; a missing permission too
    let gone = &sim_tenants[3];
    sim.set_consented(&gone.name, false).unwrap();
    let again: Vec<_> = roster
        .iter()
        .filter(|t| t.name == name_of(gone))
        .cloned()
        .collect();
    let outcomes = sync_tenants(&store, &graph(), &again, &request, Arc::new(Quiet)).await;
    assert!(
        outcomes[0]
            .error
            .as_deref()
            .unwrap()
            .contains("AADSTS700016"),
        "{:?}",
        outcomes[0].error
    );
    let list: Value =
        serde_json::from_str(&admin.get(&f, "/api/v1/tenants?limit=1000").await.body).unwrap();
    let g = by_name(&list, &name_of(gone));
    assert_eq!(g["health"], json!("consent_lost"), "{g}");
    assert_eq!(g["sync_failures"], json!(1));
    assert_eq!(
        g["last_ok_sync_at"],
        json!(NOW.replace('Z', ".000000Z")),
        "{g}"
    );
    assert!(
        g["health_advice"]
            .as_str()
            .unwrap()
            .contains("must consent")
    );
    let r = by_name(&list, &revoked);
    assert_eq!(r["health"], json!("consent_lost"), "{r}");
    assert_eq!(r["last_ok_sync_at"], Value::Null);
    assert_eq!(by_name(&list, &name_of(first))["health"], json!("ok"));
    assert_eq!(by_name(&list, &declined)["health"], json!("never_synced"));
    let page = admin.get(&f, "/tenants?failing=1").await;
    assert!(
        page.body.contains("2 tenants failing"),
        "the failing ones only"
    );
    assert_eq!(page.body.matches("<tr data-row>").count(), 2);
    assert!(
        page.body.contains(r#"data-health="consent lost""#),
        "tenants page"
    );
    assert!(page.body.contains("1 failed in a row · last good sync"));

    // every change a person made is in the audit log
    let log = store.audit_log(5000).await.unwrap();
    let count = |a: &str| log.iter().filter(|e| e.action == a).count();
    assert_eq!(count("tenant.add"), TENANTS);
    assert_eq!(count("tenant.consent_link"), TENANTS);
    assert_eq!(count("tenant.consent"), TENANTS);

    // the tenants page's forms do the same, for an admin only
    let page = admin
        .post(
            &f,
            "/tenants/add",
            &[("csv", "name,tenant_id\nextra,extra.onmicrosoft.com\n")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Tenants: 1 added"), "{}", page.body);
    let page = admin
        .post(
            &f,
            "/tenants/add",
            &[("csv", "name,tenant_id\nBad Name,extra2.onmicrosoft.com\n")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("line 2: invalid tenant name"),
        "{}",
        page.body
    );
    let page = admin
        .post(&f, "/tenants/consent-link", &[("name", "extra")])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-consent-link"), "{}", page.body);
    assert!(
        page.body
            .contains("/extra.onmicrosoft.com/v2.0/adminconsent?client_id="),
        "{}",
        page.body
    );
    let page = admin.post(&f, "/tenants/check", &[("name", "extra")]).await;
    assert!(page.body.contains("extra: no access"), "{}", page.body);
    let page = admin
        .post(&f, "/tenants/remove", &[("name", "extra")])
        .await;
    assert!(
        page.body.contains("extra is no longer synced"),
        "{}",
        page.body
    );
    assert!(
        !store
            .directory_tenants()
            .await
            .unwrap()
            .iter()
            .any(|t| t.name == "extra")
    );
    let page = cm.get(&f, "/tenants").await;
    assert!(!page.body.contains("Add tenants") && !page.body.contains("Consent link"));
    assert_eq!(
        cm.post(&f, "/tenants/remove", &[("name", &revoked)])
            .await
            .status,
        403
    );
    sim.shutdown().await;
}

both!(five_hundred_tenants_onboard_from_a_csv_list);
