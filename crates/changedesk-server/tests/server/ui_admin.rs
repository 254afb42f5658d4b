//! The web UI's second increment in-process, on SQLite and PostgreSQL: the
//! agenda, service health, tenants, owners and groups, rules, users and API
//! tokens, the audit log and saved views. Each page renders for the roles
//! that may see it and is refused (a 403 page) or left out of the menu for
//! the others; every form needs the session's CSRF token; a tenant-scoped
//! user sees nothing of other tenants; and every change goes through the
//! API's logic (same refusals, same audit entries).

use axum::http::{StatusCode, header};
use changedesk_core::access::{Role, Scope};
use changedesk_core::graph::{HealthOverview, Incident};
use changedesk_core::triage::{OwnershipEntry, OwnershipMap, Scope as Where};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_store::Store;
use serde_json::json;

use super::ui::{
    Answer, Fixture, NOW, assert_secure_headers, assert_self_contained, asset, at, escaped,
    fixture, form, get, opts, send, sign_in, user,
};

fn incident(id: &str, title: &str, status: &str, resolved: bool) -> Incident {
    Incident::from_graph(
        &json!({
            "id": id,
            "title": title,
            "classification": "incident",
            "origin": "microsoft",
            "status": status,
            "service": "Exchange Online",
            "feature": "Mail flow",
            "featureGroup": "E-Mail and calendar access",
            "isResolved": resolved,
            "highImpact": true,
            "impactDescription": "Users may see delays.",
            "startDateTime": "2026-03-09T08:00:00Z",
            "lastModifiedDateTime": "2026-03-09T10:00:00Z",
            "details": [],
            "posts": [
                {"createdDateTime": "2026-03-09T08:30:00Z", "postType": "regular",
                 "description": {"contentType": "html", "content": "<p>Investigating the first report</p><script>alert('x')</script>"}},
                {"createdDateTime": "2026-03-09T09:30:00Z", "postType": "regular",
                 "description": {"contentType": "html", "content": "<p>A fix is rolling out</p>"}}
            ]
        }),
        0,
    )
    .unwrap()
}

fn health(service: &str, status: &str) -> HealthOverview {
    HealthOverview::from_graph(
        &json!({"id": service, "service": service, "status": status}),
        0,
    )
    .unwrap()
}

/// The UI fixture (tenants alpha and zulu, posts MC1, MC2 zulu only, MC666)
/// with incidents (EX1 seen by both, EX2 by zulu only, EX3 resolved in
/// alpha), service health per tenant (a service only zulu has), the last
/// sync of each tenant (zulu's failed), an ownership entry for zulu only, and
/// more users: `manager` (an unrestricted change manager) and `alphaadmin`
/// (an admin limited to alpha).
async fn world(store: Store) -> Fixture {
    let f = fixture(store, 0).await;
    let s = &f.store;
    s.import_incidents(
        "alpha",
        &[
            incident("EX1", "Mail delays", "serviceDegradation", false),
            incident("EX3", "Old outage", "serviceRestored", true),
        ],
        &opts("2026-03-09T12:00:00Z"),
    )
    .await
    .unwrap();
    s.import_incidents(
        "zulu",
        &[
            incident("EX1", "Mail delays", "serviceDegradation", false),
            incident(
                "EX2",
                "Zulu outage nobody else has",
                "serviceInterruption",
                false,
            ),
        ],
        &opts("2026-03-09T12:00:00Z"),
    )
    .await
    .unwrap();
    s.import_health(
        "alpha",
        &[
            health("Exchange Online", "serviceDegradation"),
            health("Microsoft Teams", "serviceOperational"),
        ],
        &opts("2026-03-09T12:00:00Z"),
    )
    .await
    .unwrap();
    s.import_health(
        "zulu",
        &[
            health("Exchange Online", "serviceInterruption"),
            health("Zulu Private Service", "serviceDegradation"),
        ],
        &opts("2026-03-09T12:00:00Z"),
    )
    .await
    .unwrap();
    s.record_sync("alpha", &at("2026-03-10T08:45:00Z"), None)
        .await
        .unwrap();
    s.record_sync(
        "zulu",
        &at("2026-03-10T08:50:00Z"),
        Some("Graph refused: Authorization_RequestDenied for zulu"),
    )
    .await
    .unwrap();
    s.set_ownership(
        &OwnershipEntry {
            workload: "Zulu Private Service".into(),
            owner: "owen".into(),
            scope: Where::Tenant("zulu".into()),
        },
        "test",
        &at(NOW),
    )
    .await
    .unwrap();
    user(s, "manager", Role::ChangeManager, Scope::default()).await;
    user(
        s,
        "alphaadmin",
        Role::Admin,
        Scope {
            tenants: vec!["alpha".into()],
            groups: vec![],
        },
    )
    .await;
    f
}

/// The same archive served by a process that runs a scheduler: "sync now"
/// requests arrive on the receiver.
fn with_scheduler(f: &Fixture) -> (Fixture, tokio::sync::mpsc::Receiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let state = AppState::new(
        f.store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(NOW))
    .with_sync_trigger(tx, vec!["alpha".into(), "zulu".into()]);
    (
        Fixture {
            app: http::router(state, true),
            store: f.store.clone(),
        },
        rx,
    )
}

fn lower(a: &Answer) -> String {
    a.body.to_ascii_lowercase()
}

/// The actions of the audit log, oldest first.
async fn audit_actions(store: &Store) -> Vec<(String, String, String)> {
    let mut log = store.audit_log(10_000).await.unwrap();
    log.reverse();
    log.into_iter()
        .map(|e| (e.actor, e.action, e.target))
        .collect()
}

/// A secret or a value from `value="…"` after `marker` on the page.
fn value_after(body: &str, marker: &str) -> String {
    let i = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {body}"));
    let rest = &body[i..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_string()
}

/// Every `<form method="post">` of a page carries the session's token.
fn every_post_form_has_the_token(a: &Answer, csrf: &str, what: &str) -> usize {
    let mut n = 0;
    for (i, _) in a.body.match_indices("<form") {
        let tag_end = i + a.body[i..].find('>').unwrap();
        if !a.body[i..tag_end].contains("method=\"post\"") {
            continue;
        }
        let end = i + a.body[i..].find("</form>").unwrap();
        let f = &a.body[i..end];
        assert!(
            f.contains(&format!("name=\"csrf_token\" value=\"{csrf}\"")),
            "{what}: a form without the CSRF token: {f}"
        );
        n += 1;
    }
    n
}

const EVERYONE: &[&str] = &[
    "/agenda",
    "/agenda?since=30d",
    "/health",
    "/health?incidents=all",
    "/health/incidents/EX1",
    "/tenants",
    "/owners",
    "/rules",
    "/rules/test?post=MC1",
    "/tokens",
    "/views",
];

async fn pages_render_for_the_roles_that_may_see_them(store: Store) {
    let f = world(store).await;
    for who in ["admin", "manager", "owen", "reader", "scoped", "alphaadmin"] {
        let b = sign_in(&f, who).await;
        for path in EVERYONE {
            let a = b.get(&f, path).await;
            assert_eq!(a.status, StatusCode::OK, "{who} {path}: {}", a.body);
            assert_secure_headers(&a, path);
            assert_self_contained(&a.body, path);
            assert_eq!(a.headers[header::CACHE_CONTROL], "no-store", "{path}");
        }
        let md = b.get(&f, "/agenda.md").await;
        assert_eq!(md.status, StatusCode::OK, "{who}");
        assert!(
            md.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/markdown"),
            "{who}"
        );
        assert!(
            md.body.starts_with("# Change review 2026-03-10"),
            "{}",
            md.body
        );
        // Users and the audit log: admins without a tenant limit only
        let admin = who == "admin";
        for path in ["/users", "/audit", "/tokens?user=admin"] {
            let a = b.get(&f, path).await;
            if admin {
                assert_eq!(a.status, StatusCode::OK, "{who} {path}: {}", a.body);
            } else {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{who} {path}");
                assert!(a.body.contains("403 Forbidden"), "{who} {path}: {}", a.body);
                assert!(a.body.contains("admin"), "{who} {path}: {}", a.body);
                assert_secure_headers(&a, path);
            }
        }
        // the menu: every page, and Users and Audit log for admins only
        let inbox = b.get(&f, "/").await;
        let nav = &inbox.body[inbox.body.find("aria-label=\"Main\"").unwrap()..];
        let nav = &nav[..nav.find("</nav>").unwrap()];
        for link in [
            "href=\"/agenda\"",
            "href=\"/health\"",
            "href=\"/tenants\"",
            "href=\"/owners\"",
            "href=\"/rules\"",
            "href=\"/tokens\"",
        ] {
            assert!(nav.contains(link), "{who}: {link} in {nav}");
        }
        assert_eq!(nav.contains(">Users</a>"), admin, "{who}: {nav}");
        assert_eq!(nav.contains(">Audit log</a>"), admin, "{who}: {nav}");
        let agenda = b.get(&f, "/agenda").await;
        assert!(
            agenda
                .body
                .contains("href=\"/agenda\" aria-current=\"page\""),
            "{who}: the menu marks the page"
        );
        // editors and their buttons only for those who may use them
        let configure = matches!(who, "admin" | "manager");
        let editor = b.get(&f, "/rules/edit").await;
        let expected = if configure {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(editor.status, expected, "{who}: {}", editor.body);
        let owners = b.get(&f, "/owners").await;
        assert_eq!(
            owners.body.contains("action=\"/owners/save\""),
            configure,
            "{who}"
        );
        assert_eq!(
            owners.body.contains("action=\"/owners/remove\""),
            configure,
            "{who}"
        );
        assert_eq!(
            owners.body.contains("action=\"/owners/groups/save\""),
            admin,
            "{who}"
        );
        let rules = b.get(&f, "/rules").await;
        assert_eq!(
            rules.body.contains("action=\"/rules/simulate\""),
            configure,
            "{who}"
        );
        assert_eq!(rules.body.contains("href=\"/rules/edit\""), configure);
    }
    // signed out: to the sign-in page, then back
    for (path, next) in [
        ("/agenda?since=14d", "%2Fagenda%3Fsince%3D14d"),
        ("/health", "%2Fhealth"),
        ("/tenants", "%2Ftenants"),
        ("/owners", "%2Fowners"),
        ("/rules", "%2Frules"),
        ("/users", "%2Fusers"),
        ("/tokens", "%2Ftokens"),
        ("/audit", "%2Faudit"),
        ("/views", "%2Fviews"),
    ] {
        let a = send(&f.app, get(path, None)).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(a.location(), format!("/sign-in?next={next}"), "{path}");
    }
}

/// Every form the new pages post to, with fields that would change
/// something.
const FORMS: &[(&str, &[(&str, &str)])] = &[
    ("/tenants/sync", &[("name", "alpha")]),
    (
        "/owners/save",
        &[("name", "forged"), ("email", "forged@example.com")],
    ),
    ("/owners/remove", &[("name", "owen")]),
    (
        "/owners/ownership/save",
        &[
            ("workload", "Exchange Online"),
            ("owner", "owen"),
            ("scope", "all"),
        ],
    ),
    (
        "/owners/ownership/remove",
        &[
            ("workload", "Zulu Private Service"),
            ("scope", "tenant:zulu"),
        ],
    ),
    (
        "/owners/groups/save",
        &[("name", "forged"), ("include", "*")],
    ),
    ("/owners/groups/remove", &[("name", "forged")]),
    ("/rules/save", &[("name", "forged"), ("when", "true")]),
    ("/rules/remove", &[("name", "forged")]),
    (
        "/rules/test",
        &[("name", "x"), ("when", "true"), ("test_post", "MC1")],
    ),
    ("/rules/simulate", &[]),
    (
        "/users/add",
        &[
            ("name", "forged"),
            ("role", "admin"),
            ("password", "correct horse battery staple"),
        ],
    ),
    ("/users/update", &[("name", "reader"), ("role", "admin")]),
    ("/users/remove", &[("name", "reader")]),
    ("/users/unlock", &[("name", "reader")]),
    ("/tokens/add", &[("name", "forged")]),
    ("/tokens/revoke", &[("id", "1")]),
    (
        "/views/save",
        &[("name", "forged"), ("query", "major=true")],
    ),
    ("/views/remove", &[("id", "1")]),
];

async fn every_form_needs_the_csrf_token(store: Store) {
    let f = world(store).await;
    let (g, mut rx) = with_scheduler(&f);
    let b = sign_in(&g, "admin").await;
    let other = sign_in(&g, "admin").await;
    let before = audit_actions(&f.store).await.len();
    let owners = f.store.owners().await.unwrap();
    let users = f.store.users().await.unwrap();
    for (path, fields) in FORMS {
        for token in [None, Some(""), Some("wrong"), Some(other.csrf.as_str())] {
            let mut all: Vec<(&str, &str)> = fields.to_vec();
            if let Some(t) = token {
                all.push(("csrf_token", t));
            }
            let a = send(&g.app, form(path, Some(&b.cookie), &all)).await;
            assert_eq!(
                a.status,
                StatusCode::FORBIDDEN,
                "{path} {token:?}: {}",
                a.body
            );
            assert!(a.body.contains("security token"), "{path}: {}", a.body);
            assert_secure_headers(&a, path);
        }
    }
    assert_eq!(
        audit_actions(&f.store).await.len(),
        before,
        "nothing was changed or audited"
    );
    assert_eq!(f.store.owners().await.unwrap(), owners);
    assert_eq!(f.store.users().await.unwrap(), users);
    assert!(f.store.rules().await.unwrap().is_empty());
    assert!(f.store.groups().await.unwrap().is_empty());
    assert!(rx.try_recv().is_err(), "no sync was asked for");
    // and every form the pages show carries the session's token
    let saved = b
        .post(
            &g,
            "/views/save",
            &[("name", "mine"), ("query", "major=true")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    b.post(&g, "/tokens/add", &[("name", "ci")]).await;
    f.store
        .put_group(
            &changedesk_core::triage::TenantGroup {
                name: "everyone".into(),
                description: String::new(),
                include: vec!["*".into()],
                exclude: vec![],
            },
            "test",
            &at(NOW),
        )
        .await
        .unwrap();
    let mut forms = 0;
    for path in [
        "/",
        "/tenants",
        "/owners",
        "/owners?edit=owen",
        "/owners?group=everyone",
        "/rules",
        "/rules/edit",
        "/users",
        "/users?edit=reader",
        "/tokens",
        "/views",
        "/agenda",
        "/health",
        "/audit",
    ] {
        let a = b.get(&g, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        forms += every_post_form_has_the_token(&a, &b.csrf, path);
    }
    assert!(forms > 20, "{forms} forms checked");
}

async fn scoped_users_see_nothing_of_other_tenants(store: Store) {
    let f = world(store).await;
    let b = sign_in(&f, "scoped").await;
    for path in [
        "/health",
        "/health?tenant=zulu",
        "/health?incidents=all",
        "/health?service=Zulu+Private+Service",
        "/health/incidents/EX1",
        "/tenants",
        "/tenants?queued=zulu",
        "/agenda",
        "/agenda?since=90d",
        "/agenda.md",
        "/rules/test?post=MC1",
        "/owners",
        "/tokens",
    ] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        let body = if path.contains("zulu") || path.contains("Zulu") {
            // the address itself may show in the page's own links
            lower(&a)
                .replace("tenant=zulu", "")
                .replace("zulu+private", "")
                .replace("value=\"zulu private service\"", "")
        } else {
            lower(&a)
        };
        for secret in [
            "zulu",
            "ex2",
            "secret rollout",
            "authorization_requestdenied",
        ] {
            assert!(!body.contains(secret), "{path} shows {secret}:\n{}", a.body);
        }
    }
    // what is in scope is there
    let health = b.get(&f, "/health").await;
    assert!(
        health.body.contains("/health/incidents/EX1"),
        "{}",
        health.body
    );
    assert!(
        health.body.contains("1 now"),
        "one tenant in scope: {}",
        health.body
    );
    let ex1 = b.get(&f, "/health/incidents/EX1").await;
    assert!(ex1.body.contains("<b>alpha</b>"), "{}", ex1.body);
    let tenants = b.get(&f, "/tenants").await;
    assert!(tenants.body.contains(">alpha</a>"), "{}", tenants.body);
    assert!(tenants.body.contains("1 tenant"), "{}", tenants.body);
    let agenda = b.get(&f, "/agenda").await;
    assert!(
        agenda.body.contains("href=\"/posts/MC1\""),
        "{}",
        agenda.body
    );
    assert!(!agenda.body.contains("/posts/MC2"), "{}", agenda.body);
    assert!(agenda.body.contains("Tenants: alpha."), "{}", agenda.body);
    // another tenant's incident, post or sync is not found
    let a = b.get(&f, "/health/incidents/EX2").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(!lower(&a).contains("zulu"), "{}", a.body);
    let a = b.get(&f, "/rules/test?post=MC2").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(!lower(&a).contains("secret rollout"), "{}", a.body);
    let a = b.get(&f, "/rules/test?post=MC1&tenant=zulu").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = b.post(&f, "/tenants/sync", &[("name", "zulu")]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    // the audit log and users: not for a scoped admin either
    let admin = sign_in(&f, "alphaadmin").await;
    for path in ["/audit", "/audit?actor=admin", "/users"] {
        assert_eq!(
            admin.get(&f, path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // an unrestricted user sees the other tenant (so this test can fail)
    let all = sign_in(&f, "admin").await;
    for (path, needle) in [
        ("/health", "zulu private service"),
        ("/health", "ex2"),
        ("/health/incidents/EX1", "<b>zulu</b>"),
        ("/tenants", "authorization_requestdenied"),
        ("/agenda", "/posts/mc2"),
        ("/rules/test?post=MC2", "for tenant zulu"),
        ("/owners", "tenant:zulu"),
    ] {
        let a = all.get(&f, path).await;
        assert!(
            lower(&a).contains(needle),
            "{path} lacks {needle}: {}",
            a.body
        );
    }
}

async fn owners_ownership_and_groups_change_through_the_api(store: Store) {
    let f = world(store).await;
    let b = sign_in(&f, "admin").await;
    // add an owner
    let a = b
        .post(
            &f,
            "/owners/save",
            &[
                ("name", "Team.Collab"),
                ("display_name", "Collaboration team"),
                ("email", "collab@example.com"),
                ("teams", ""),
                ("slack", "#collab"),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/owners#owners"),
        "{}",
        a.body
    );
    let o = f.store.owners().await.unwrap();
    let collab = o.iter().find(|o| o.name == "team.collab").expect("added");
    assert_eq!(
        (
            collab.display_name.as_str(),
            collab.slack.as_deref(),
            collab.teams.as_deref()
        ),
        ("Collaboration team", Some("#collab"), None)
    );
    let page = b.get(&f, "/owners").await;
    assert!(page.body.contains("Collaboration team"), "{}", page.body);
    // a bad value: the page again, with the API's reason and the form kept
    let a = b
        .post(
            &f,
            "/owners/save",
            &[("name", "broken"), ("email", "not-an-address")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("role=\"alert\""), "{}", a.body);
    assert!(a.body.contains("value=\"not-an-address\""), "{}", a.body);
    assert!(a.body.contains("value=\"broken\""), "{}", a.body);
    assert!(
        !f.store
            .owners()
            .await
            .unwrap()
            .iter()
            .any(|o| o.name == "broken"),
        "nothing saved"
    );
    // edit it: the form is filled in, the name fixed
    let page = b.get(&f, "/owners?edit=team.collab").await;
    assert!(
        page.body.contains("Change owner team.collab"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"collab@example.com\""));
    let a = b
        .post(
            &f,
            "/owners/save",
            &[
                ("editing", "true"),
                ("name", "team.collab"),
                ("display_name", "Collab"),
                ("email", "team@example.com"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let o = f.store.owners().await.unwrap();
    let collab = o.iter().find(|o| o.name == "team.collab").unwrap();
    assert_eq!(collab.email, "team@example.com");
    // ownership
    let a = b
        .post(
            &f,
            "/owners/ownership/save",
            &[
                ("workload", "Microsoft Teams"),
                ("owner", "team.collab"),
                ("scope", "all"),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/owners#ownership"),
        "{}",
        a.body
    );
    assert!(
        f.store
            .ownership()
            .await
            .unwrap()
            .iter()
            .any(|e| e.workload == "Microsoft Teams" && e.owner == "team.collab")
    );
    let a = b
        .post(
            &f,
            "/owners/ownership/save",
            &[
                ("workload", "Exchange Online"),
                ("owner", "team.collab"),
                ("scope", "group:nowhere"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("unknown tenant group"), "{}", a.body);
    assert!(
        a.body.contains("value=\"group:nowhere\""),
        "the form is kept"
    );
    // an owner something depends on stays, with the reason
    let a = b
        .post(&f, "/owners/remove", &[("name", "team.collab")])
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    let a = b.post(&f, "/owners/remove", &[("name", "owen")]).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("open work item"), "{}", a.body);
    let a = b
        .post(
            &f,
            "/owners/ownership/remove",
            &[("workload", "Microsoft Teams"), ("scope", "all")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(&f, "/owners/remove", &[("name", "team.collab")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(
        !f.store
            .owners()
            .await
            .unwrap()
            .iter()
            .any(|o| o.name == "team.collab")
    );
    let a = b.post(&f, "/owners/remove", &[("name", "nobody")]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // tenant groups (admins)
    let a = b
        .post(
            &f,
            "/owners/groups/save",
            &[
                ("name", "Europe"),
                ("description", "EU tenants"),
                ("include", "alpha, eu-*"),
                ("exclude", ""),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/owners#groups"),
        "{}",
        a.body
    );
    let g = f.store.groups().await.unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(
        (g[0].name.as_str(), g[0].include.clone()),
        ("europe", vec!["alpha".to_string(), "eu-*".to_string()])
    );
    let page = b.get(&f, "/owners?group=europe").await;
    assert!(page.body.contains("Change group europe"), "{}", page.body);
    assert!(page.body.contains("value=\"alpha, eu-*\""), "{}", page.body);
    let a = b
        .post(
            &f,
            "/owners/groups/save",
            &[("name", "empty"), ("include", " , ")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let a = b
        .post(&f, "/owners/groups/remove", &[("name", "europe")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(f.store.groups().await.unwrap().is_empty());
    // a change manager manages owners, not groups; readers and scoped users
    // neither
    let m = sign_in(&f, "manager").await;
    let a = m
        .post(
            &f,
            "/owners/save",
            &[("name", "ops"), ("email", "ops@example.com")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = m
        .post(
            &f,
            "/owners/groups/save",
            &[("name", "g"), ("include", "*")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    for who in ["reader", "owen", "scoped"] {
        let r = sign_in(&f, who).await;
        for (path, fields) in [
            (
                "/owners/save",
                vec![("name", "x"), ("email", "x@example.com")],
            ),
            ("/owners/remove", vec![("name", "ops")]),
            (
                "/owners/ownership/save",
                vec![("workload", "x"), ("owner", "owen"), ("scope", "all")],
            ),
            ("/owners/groups/save", vec![("name", "g"), ("include", "*")]),
        ] {
            let a = r.post(&f, path, &fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{who} {path}: {}", a.body);
        }
    }
    assert!(
        f.store
            .owners()
            .await
            .unwrap()
            .iter()
            .any(|o| o.name == "ops")
    );
    assert!(
        !f.store
            .owners()
            .await
            .unwrap()
            .iter()
            .any(|o| o.name == "x")
    );
    // audited with the person as actor, as the API does
    let audit = audit_actions(&f.store).await;
    for (actor, action, target) in [
        ("admin", "owner.put", "team.collab"),
        ("admin", "ownership.set", "Microsoft Teams"),
        ("admin", "ownership.remove", "Microsoft Teams"),
        ("admin", "owner.remove", "team.collab"),
        ("admin", "group.put", "europe"),
        ("admin", "group.remove", "europe"),
        ("manager", "owner.put", "ops"),
    ] {
        assert!(
            audit
                .iter()
                .any(|(a, x, t)| a == actor && x == action && t.contains(target)),
            "{actor} {action} {target}: {audit:?}"
        );
    }
}

async fn the_rule_editor_tests_a_draft_before_saving(store: Store) {
    let f = world(store).await;
    let b = sign_in(&f, "admin").await;
    let editor = b.get(&f, "/rules/edit").await;
    assert!(editor.body.contains("<h1>New rule</h1>"), "{}", editor.body);
    let rule = |when: &'static str, priority: &'static str| {
        vec![
            ("name", "teams-high"),
            ("when", when),
            ("priority", priority),
            ("labels", "teams, recap"),
            ("owner", "owen"),
            ("enabled", "true"),
            ("test_post", "MC1"),
        ]
    };
    // test the draft against a post: explained per tenant, nothing saved
    let a = b
        .post(
            &f,
            "/rules/test",
            &rule("services has \"Microsoft Teams\"", "high"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("How the rules treat MC1"), "{}", a.body);
    assert!(a.body.contains("For tenant alpha") && a.body.contains("For tenant zulu"));
    assert!(a.body.contains(">matched</span>"), "{}", a.body);
    assert!(
        a.body.contains("<dt>Priority</dt><dd>high</dd>"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(&escaped("services has \"Microsoft Teams\"")),
        "the draft is kept"
    );
    assert!(f.store.rules().await.unwrap().is_empty(), "nothing saved");
    // a draft that does not compile, or a post that does not exist
    let a = b
        .post(&f, "/rules/test", &rule("services has", "high"))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("do not compile"), "{}", a.body);
    assert!(a.body.contains(">services has</textarea>"), "{}", a.body);
    let mut missing = rule("true", "high");
    missing.retain(|(k, _)| *k != "test_post");
    missing.push(("test_post", "MC404"));
    let a = b.post(&f, "/rules/test", &missing).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert!(a.body.contains("role=\"alert\""), "{}", a.body);
    // save: refused when it would not compile or names an unknown owner
    let a = b
        .post(&f, "/rules/save", &rule("services has", "high"))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("would not compile"), "{}", a.body);
    let mut ghost = rule("true", "high");
    ghost.retain(|(k, _)| *k != "owner");
    ghost.push(("owner", "ghost"));
    let a = b.post(&f, "/rules/save", &ghost).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("unknown owner"), "{}", a.body);
    assert!(f.store.rules().await.unwrap().is_empty(), "nothing saved");
    let a = b
        .post(
            &f,
            "/rules/save",
            &rule("services has \"Microsoft Teams\"", "high"),
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/rules#rule-teams-high"),
        "{}",
        a.body
    );
    let rules = f.store.rules().await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].spec["then"]["priority"], "high");
    let list = b.get(&f, "/rules").await;
    assert!(
        list.body
            .contains("owner owen; priority high; labels teams, recap"),
        "{}",
        list.body
    );
    // the stored rules tested against a post
    let a = b.get(&f, "/rules/test?post=mc1&tenant=alpha").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("For tenant alpha") && !a.body.contains("For tenant zulu"));
    assert!(a.body.contains("teams-high"), "{}", a.body);
    // edit: the form is filled in
    let page = b.get(&f, "/rules/edit?name=TEAMS-HIGH").await;
    assert!(
        page.body.contains("<h1>Rule teams-high</h1>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<option value=\"high\" selected>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"teams, recap\""),
        "{}",
        page.body
    );
    let mut edited = rule("services has \"Microsoft Teams\"", "critical");
    edited.push(("editing", "true"));
    let a = b.post(&f, "/rules/save", &edited).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        f.store.rules().await.unwrap()[0].spec["then"]["priority"],
        "critical"
    );
    assert_eq!(
        b.get(&f, "/rules/edit?name=nope").await.status,
        StatusCode::NOT_FOUND
    );
    // a simulation changes nothing
    let items = f.store.work_items(&Default::default()).await.unwrap();
    let a = b.post(&f, "/rules/simulate", &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("Nothing was changed"), "{}", a.body);
    assert_eq!(
        f.store.work_items(&Default::default()).await.unwrap(),
        items
    );
    // readers read and test, but neither edit, save nor simulate
    let r = sign_in(&f, "reader").await;
    let list = r.get(&f, "/rules").await;
    assert!(list.body.contains("teams-high") && !list.body.contains("Edit rule"));
    assert_eq!(
        r.get(&f, "/rules/test?post=MC1").await.status,
        StatusCode::OK
    );
    assert_eq!(
        r.get(&f, "/rules/edit?name=teams-high").await.status,
        StatusCode::FORBIDDEN
    );
    let a = r.post(&f, "/rules/save", &rule("true", "low")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = r.post(&f, "/rules/remove", &[("name", "teams-high")]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.post(&f, "/rules/simulate", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        f.store.rules().await.unwrap()[0].spec["then"]["priority"],
        "critical"
    );
    // remove
    let a = b.post(&f, "/rules/remove", &[("name", "teams-high")]).await;
    assert_eq!((a.status, a.location()), (StatusCode::SEE_OTHER, "/rules"));
    assert!(f.store.rules().await.unwrap().is_empty());
    let a = b.post(&f, "/rules/remove", &[("name", "teams-high")]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let audit = audit_actions(&f.store).await;
    let rule_actions: Vec<&str> = audit
        .iter()
        .filter(|(_, x, _)| x.starts_with("rule."))
        .map(|(a, x, _)| {
            assert_eq!(a, "admin");
            x.as_str()
        })
        .collect();
    assert_eq!(rule_actions, ["rule.put", "rule.put", "rule.remove"]);
}

async fn users_and_api_tokens(store: Store) {
    let f = world(store).await;
    let b = sign_in(&f, "admin").await;
    // a password too short: the form again, without the password
    let a = b
        .post(
            &f,
            "/users/add",
            &[
                ("name", "newbie"),
                ("role", "owner"),
                ("tenants", "alpha"),
                ("password", "tiny-pass"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("at least 12 characters"), "{}", a.body);
    assert!(a.body.contains("value=\"newbie\""), "{}", a.body);
    assert!(!a.body.contains("tiny-pass"), "the password is not echoed");
    assert!(f.store.user_by_name("newbie").await.unwrap().is_none());
    let a = b
        .post(
            &f,
            "/users/add",
            &[
                ("name", "Newbie"),
                ("display_name", "New Bie"),
                ("email", "newbie@example.com"),
                ("role", "owner"),
                ("tenants", "alpha"),
                ("groups", ""),
                ("password", super::ui::PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/users"),
        "{}",
        a.body
    );
    let u = f.store.user_by_name("newbie").await.unwrap().unwrap();
    assert_eq!(
        (u.role, u.scope.tenants.clone()),
        (Role::Owner, vec!["alpha".to_string()])
    );
    let list = b.get(&f, "/users").await;
    assert!(list.body.contains("New Bie"), "{}", list.body);
    let a = b
        .post(
            &f,
            "/users/add",
            &[
                ("name", "newbie"),
                ("role", "reader"),
                ("password", super::ui::PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::CONFLICT,
        "the name is taken: {}",
        a.body
    );
    // the new user signs in, limited to alpha
    let n = sign_in(&f, "newbie").await;
    assert!(n.get(&f, "/").await.body.contains("newbie · owner · alpha"));
    // edit: the form is filled in; a change ends nothing, disabling ends the
    // sessions
    let page = b.get(&f, "/users?edit=newbie").await;
    assert!(page.body.contains("Change user newbie"), "{}", page.body);
    assert!(page.body.contains("value=\"alpha\""), "{}", page.body);
    let a = b
        .post(
            &f,
            "/users/update",
            &[
                ("name", "newbie"),
                ("display_name", "New Bie"),
                ("email", "newbie@example.com"),
                ("role", "reader"),
                ("tenants", ""),
                ("groups", ""),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let u = f.store.user_by_name("newbie").await.unwrap().unwrap();
    assert_eq!(u.role, Role::Reader);
    assert!(u.scope.is_unrestricted());
    assert_eq!(
        n.get(&f, "/").await.status,
        StatusCode::OK,
        "still signed in"
    );
    let a = b
        .post(
            &f,
            "/users/update",
            &[("name", "newbie"), ("role", "reader"), ("disabled", "true")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        n.get(&f, "/").await.status,
        StatusCode::SEE_OTHER,
        "disabling ended the session"
    );
    // the last enabled admin stays an admin (once the other admin is gone)
    let a = b.post(&f, "/users/remove", &[("name", "alphaadmin")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &f,
            "/users/update",
            &[("name", "admin"), ("role", "reader")],
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("last enabled admin"), "{}", a.body);
    let a = b.post(&f, "/users/remove", &[("name", "admin")]).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    // failed sign-ins show, and an admin clears them
    let newbie = f.store.user_by_name("newbie").await.unwrap().unwrap();
    f.store
        .record_failed_sign_in(newbie.id, &changedesk_core::Timestamp::now_utc())
        .await
        .unwrap();
    let page = b.get(&f, "/users").await;
    assert!(
        page.body.contains("1 failed sign-in since"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("action=\"/users/unlock\""),
        "{}",
        page.body
    );
    let a = b.post(&f, "/users/unlock", &[("name", "newbie")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let newbie = f.store.user_by_name("newbie").await.unwrap().unwrap();
    assert_eq!(newbie.failed_sign_ins, 0);
    let a = b.post(&f, "/users/remove", &[("name", "newbie")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(f.store.user_by_name("newbie").await.unwrap().is_none());
    // others may not manage users
    let m = sign_in(&f, "manager").await;
    let a = m
        .post(
            &f,
            "/users/add",
            &[
                ("name", "sneaky"),
                ("role", "admin"),
                ("password", super::ui::PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(f.store.user_by_name("sneaky").await.unwrap().is_none());

    // tokens: a reader creates one, sees it once, uses it, revokes it
    let r = sign_in(&f, "reader").await;
    let page = r.get(&f, "/tokens").await;
    assert!(page.body.contains("No API tokens."), "{}", page.body);
    assert!(page.body.contains("<option value=\"reader\" selected>"));
    assert!(
        !page.body.contains("<option value=\"admin\""),
        "no role above the user's"
    );
    let a = r
        .post(&f, "/tokens/add", &[("name", "ci"), ("role", "")])
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    assert!(a.body.contains("shown this once"), "{}", a.body);
    let secret = value_after(&a.body, "id=\"secret\"");
    assert!(secret.starts_with("cdk_"), "{secret}");
    let me = send(
        &f.app,
        axum::http::Request::builder()
            .uri("/api/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(me.body.contains("\"reader\""), "{}", me.body);
    let again = r.get(&f, "/tokens").await;
    assert!(!again.body.contains(&secret), "never shown again");
    assert!(again.body.contains(&secret[..10]), "its prefix is");
    let audit = f.store.audit_log(1000).await.unwrap();
    assert!(
        !audit.iter().any(|e| e.detail.to_string().contains(&secret)),
        "the secret is not in the audit log"
    );
    // refused: a role above the reader's (403 page), a bad expiry (the form
    // again)
    let a = r
        .post(&f, "/tokens/add", &[("name", "x"), ("role", "admin")])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = r
        .post(
            &f,
            "/tokens/add",
            &[("name", "later"), ("expires_in", "soon")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("expires_in"), "{}", a.body);
    assert!(a.body.contains("value=\"later\""), "{}", a.body);
    let id = again.field("id");
    // someone else's token is not found, for anyone but an admin
    let o = sign_in(&f, "owen").await;
    let a = o.post(&f, "/tokens/revoke", &[("id", &id)]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert_eq!(
        o.get(&f, "/tokens?user=reader").await.status,
        StatusCode::FORBIDDEN
    );
    let a = r.post(&f, "/tokens/revoke", &[("id", &id)]).await;
    assert_eq!((a.status, a.location()), (StatusCode::SEE_OTHER, "/tokens"));
    let me = send(
        &f.app,
        axum::http::Request::builder()
            .uri("/api/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "revoked");
    assert!(r.get(&f, "/tokens").await.body.contains("revoked"));
    let a = r.post(&f, "/tokens/revoke", &[("id", "abc")]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // an admin sees and revokes anyone's
    r.post(&f, "/tokens/add", &[("name", "second")]).await;
    let theirs = b.get(&f, "/tokens?user=reader").await;
    assert!(
        theirs.body.contains("API tokens of reader"),
        "{}",
        theirs.body
    );
    assert!(
        !theirs.body.contains("action=\"/tokens/add\""),
        "no form for others"
    );
    let second = theirs.field("id");
    let a = b
        .post(&f, "/tokens/revoke", &[("id", &second), ("user", "reader")])
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/tokens?user=reader")
    );
    let audit = audit_actions(&f.store).await;
    for (actor, action, target) in [
        ("admin", "user.create", "newbie"),
        ("admin", "user.update", "newbie"),
        ("admin", "session.end_all", "newbie"),
        ("admin", "user.delete", "newbie"),
        ("reader", "token.create", "reader"),
        ("reader", "token.revoke", "reader"),
        ("admin", "token.revoke", "reader"),
    ] {
        assert!(
            audit
                .iter()
                .any(|(a, x, t)| a == actor && x == action && t == target),
            "{actor} {action} {target}: {audit:?}"
        );
    }
}

async fn the_audit_log_filters_and_pages(store: Store) {
    let f = world(store).await;
    for i in 0..130 {
        f.store
            .record_audit(
                "robot",
                "test.thing",
                &format!("thing-{i:03}"),
                &json!({"n": i, "note": "<script>alert(1)</script>"}),
                &at(NOW),
            )
            .await
            .unwrap();
    }
    let b = sign_in(&f, "admin").await;
    let rows = |a: &Answer| a.body.matches("<td class=\"date\">").count();
    let first = b.get(&f, "/audit").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(rows(&first), 100, "a page is 100 entries");
    assert!(first.body.contains("session.sign_in"), "newest first");
    assert!(!first.body.contains("<script>alert"), "details are text");
    assert!(first.body.contains(&escaped("<script>alert(1)</script>")));
    let older = value_href(&first.body, "rel=\"next\"");
    assert!(older.starts_with("/audit?before="), "{older}");
    let second = b.get(&f, &older).await;
    assert_eq!(second.status, StatusCode::OK, "{older}");
    let total = f.store.audit_log(10_000).await.unwrap().len();
    assert_eq!(rows(&second), total - 100);
    assert!(second.body.contains(">Newest entries</a>"));
    assert!(
        second.body.contains("thing-000"),
        "the oldest on the last page"
    );
    // filters, kept when paging
    let robot = b.get(&f, "/audit?actor=robot").await;
    assert_eq!(rows(&robot), 100);
    assert!(!robot.body.contains("session.sign_in"));
    let next = value_href(&robot.body, "rel=\"next\"");
    assert!(next.contains("actor=robot"), "{next}");
    assert_eq!(rows(&b.get(&f, &next).await), 30);
    let sessions = b.get(&f, "/audit?action=session.").await;
    assert!(rows(&sessions) >= 1 && !sessions.body.contains("test.thing"));
    assert_eq!(
        b.get(&f, "/audit?before=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    for who in ["reader", "manager", "alphaadmin"] {
        let x = sign_in(&f, who).await;
        assert_eq!(
            x.get(&f, "/audit").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
}

/// The `href` of the link whose tag holds `marker`.
fn value_href(body: &str, marker: &str) -> String {
    let i = body.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let start = body[..i].rfind("href=\"").unwrap() + 6;
    body[start..start + body[start..].find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

async fn saved_views_are_kept_per_user_and_shown_in_the_menu(store: Store) {
    let f = world(store).await;
    let r = sign_in(&f, "reader").await;
    let inbox = r.get(&f, "/?tenant=alpha&sort=act_by").await;
    assert!(
        inbox
            .body
            .contains("name=\"query\" value=\"tenant=alpha&#38;sort=act_by\""),
        "the view without its page: {}",
        inbox.body
    );
    assert!(
        !inbox.body.contains("aria-label=\"Saved views\""),
        "none yet"
    );
    // saved: unknown parameters and the page dropped, then shown
    let a = r
        .post(
            &f,
            "/views/save",
            &[
                ("name", "Alpha <b>by</b> act-by"),
                ("query", "?sort=act_by&tenant=alpha&cursor=abc&bogus=1"),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/?tenant=alpha&sort=act_by"),
        "{}",
        a.body
    );
    let page = r.get(&f, "/board").await;
    let nav = &page.body[page
        .body
        .find("aria-label=\"Saved views\"")
        .expect("a menu")..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    assert!(
        nav.contains(&format!(
            "<a href=\"/?tenant=alpha&#38;sort=act_by\">{}</a>",
            escaped("Alpha <b>by</b> act-by")
        )),
        "{nav}"
    );
    // the same name in another case replaces its query
    let a = r
        .post(
            &f,
            "/views/save",
            &[("name", "ALPHA <B>BY</B> ACT-BY"), ("query", "major=true")],
        )
        .await;
    assert_eq!(a.location(), "/?major=true");
    let views = f
        .store
        .saved_views(value_user(&f, "reader").await)
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(
        (views[0].name.as_str(), views[0].query.as_str()),
        ("Alpha <b>by</b> act-by", "major=true")
    );
    // what the inbox refuses is not saved
    let a = r
        .post(
            &f,
            "/views/save",
            &[("name", "bad"), ("query", "sort=sideways")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("sideways"), "{}", a.body);
    let a = r
        .post(
            &f,
            "/views/save",
            &[("name", "  "), ("query", "major=true")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("needs a name"), "{}", a.body);
    // the whole inbox is a view too
    let a = r
        .post(&f, "/views/save", &[("name", "Everything"), ("query", "")])
        .await;
    assert_eq!(a.location(), "/");
    assert_eq!(
        f.store
            .saved_views(value_user(&f, "reader").await)
            .await
            .unwrap()
            .len(),
        2
    );
    // another user's menu and list do not show them, nor delete them
    let o = sign_in(&f, "owen").await;
    let theirs = o.get(&f, "/views").await;
    assert!(!theirs.body.contains("Everything") && theirs.body.contains("No saved views yet."));
    let list = r.get(&f, "/views").await;
    assert!(list.body.contains("the whole inbox"), "{}", list.body);
    assert!(list.body.contains("major: true"), "{}", list.body);
    let id = list.field("id");
    let a = o.post(&f, "/views/remove", &[("id", &id)]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = r.post(&f, "/views/remove", &[("id", &id)]).await;
    assert_eq!((a.status, a.location()), (StatusCode::SEE_OTHER, "/views"));
    assert_eq!(
        f.store
            .saved_views(value_user(&f, "reader").await)
            .await
            .unwrap()
            .len(),
        1
    );
    let audit = audit_actions(&f.store).await;
    let views: Vec<(&str, &str, &str)> = audit
        .iter()
        .filter(|(_, x, _)| x.starts_with("view."))
        .map(|(a, x, t)| (a.as_str(), x.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        views,
        [
            ("reader", "view.save", "reader"),
            ("reader", "view.save", "reader"),
            ("reader", "view.save", "reader"),
            ("reader", "view.delete", "reader"),
        ]
    );
}

async fn value_user(f: &Fixture, name: &str) -> i64 {
    f.store.user_by_name(name).await.unwrap().unwrap().id
}

async fn the_agenda_is_the_cli_document_for_the_callers_tenants(store: Store) {
    let f = world(store).await;
    let b = sign_in(&f, "admin").await;
    // a decision, so the agenda has one
    let a = b
        .post(
            &f,
            "/posts/MC2/actions",
            &[("action", "dismiss"), ("reason", "not for us")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = b.get(&f, "/agenda").await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "<h1 id=\"agenda-title\">Change review 2026-03-10</h1>",
        "Changes since 2026-03-03 09:00 UTC.",
        "Awaiting triage <span class=\"muted\">(2)</span>",
        "Decisions since 2026-03-03 <span class=\"muted\">(1)</span>",
        "<a href=\"/posts/MC1\">MC1</a>",
        "<a href=\"/posts/MC2\">MC2</a>",
        "not for us",
        "data-print hidden",
        "href=\"/agenda.md?since=7d\"",
    ] {
        assert!(page.body.contains(needle), "{needle}:\n{}", page.body);
    }
    // a post's title is text, however it looks
    assert!(
        page.body
            .contains(&escaped("<script>alert('title')</script> Hostile post"))
    );
    assert!(!page.body.contains("<script>alert"));
    // the same document `changedesk agenda` writes, from the same code
    let ownership = OwnershipMap {
        entries: f.store.ownership().await.unwrap(),
    };
    let now = at(NOW);
    let since = now.saturating_add(-time::Duration::days(7));
    let expected = changedesk_server::triage::agenda(&f.store, &ownership, now, since)
        .await
        .unwrap()
        .to_markdown();
    let md = b.get(&f, "/agenda.md").await;
    assert_eq!(md.body, expected);
    assert!(
        md.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("change-review-2026-03-10.md")
    );
    // for a scoped user: their tenants' items and decisions only
    let s = sign_in(&f, "scoped").await;
    let page = s.get(&f, "/agenda").await;
    assert!(
        page.body
            .contains("Awaiting triage <span class=\"muted\">(2)</span>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Decisions since 2026-03-03 <span class=\"muted\">(0)</span>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("MC2") && !page.body.contains("not for us"));
    // periods
    let a = b.get(&f, "/agenda?since=2w").await;
    assert!(
        a.body.contains("Changes since 2026-02-24 09:00 UTC."),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("<option value=\"2w\" selected>"),
        "{}",
        a.body
    );
    for bad in ["soon", "-1d", "100000d", "99999999999d"] {
        let a = b.get(&f, &format!("/agenda?since={bad}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.body);
        assert!(a.body.contains("since"), "{bad}");
    }
}

async fn tenants_show_sync_status_and_sync_now(store: Store) {
    let f = world(store).await;
    let (g, mut rx) = with_scheduler(&f);
    let m = sign_in(&g, "manager").await;
    let page = m.get(&g, "/tenants").await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        ">alpha</a>",
        ">zulu</a>",
        "2 tenants",
        "1 failing",
        "Graph refused: Authorization_RequestDenied for zulu",
        "2026-03-10 08:45 UTC",
        "aria-label=\"Sync alpha now\"",
        "aria-label=\"Sync zulu now\"",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    let a = m.post(&g, "/tenants/sync", &[("name", "alpha")]).await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/tenants?queued=alpha"),
        "{}",
        a.body
    );
    assert_eq!(rx.try_recv().unwrap(), "alpha");
    let after = m.get(&g, a.location()).await;
    assert!(
        after.body.contains("A sync of alpha was asked for"),
        "{}",
        after.body
    );
    assert!(audit_actions(&f.store).await.contains(&(
        "manager".into(),
        "tenant.sync_requested".into(),
        "alpha".into()
    )));
    // readers and scoped change managers may not ask
    let r = sign_in(&g, "reader").await;
    let page = r.get(&g, "/tenants").await;
    assert!(!page.body.contains("Sync now"), "{}", page.body);
    assert_eq!(
        r.post(&g, "/tenants/sync", &[("name", "alpha")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let s = sign_in(&g, "scoped").await;
    assert!(!s.get(&g, "/tenants").await.body.contains("Sync now"));
    assert_eq!(
        s.post(&g, "/tenants/sync", &[("name", "alpha")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // a tenant that is not configured is not queued
    let n = m.post(&g, "/tenants/sync", &[("name", "nowhere")]).await;
    assert_eq!(n.status, StatusCode::NOT_FOUND, "{}", n.body);
    assert!(n.body.contains("not configured"), "{}", n.body);
    assert!(rx.try_recv().is_err(), "nothing more was asked for");
    // without a scheduler: no buttons, and a clear answer
    let m = sign_in(&f, "manager").await;
    let page = m.get(&f, "/tenants").await;
    assert!(page.body.contains("runs no scheduler"), "{}", page.body);
    assert!(!page.body.contains("Sync now"));
    let a = m.post(&f, "/tenants/sync", &[("name", "alpha")]).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert!(a.body.contains("runs no scheduler"), "{}", a.body);
    // service health across tenants, and an incident's timeline
    let h = m.get(&f, "/health").await;
    for needle in [
        "Exchange Online",
        "service interruption</span> 1 tenant: zulu",
        "service degradation</span> 1 tenant: alpha",
        "service operational</span> 1 tenant</div>",
        "2 now",
        "Open incidents <span class=\"muted\">(2)</span>",
    ] {
        assert!(h.body.contains(needle), "{needle}: {}", h.body);
    }
    assert!(
        !h.body.contains("Old outage"),
        "resolved incidents on request"
    );
    let all = m.get(&f, "/health?incidents=resolved").await;
    assert!(all.body.contains("Old outage"), "{}", all.body);
    assert_eq!(
        m.get(&f, "/health?incidents=sideways").await.status,
        StatusCode::BAD_REQUEST
    );
    let i = m.get(&f, "/health/incidents/EX1").await;
    assert!(
        i.body.contains("Investigating the first report"),
        "{}",
        i.body
    );
    assert!(i.body.contains("A fix is rolling out"));
    assert!(
        i.body.find("A fix is rolling out").unwrap()
            < i.body.find("Investigating the first report").unwrap(),
        "newest update first"
    );
    assert!(!i.body.contains("alert('x')"), "the updates are sanitised");
    assert_eq!(
        m.get(&f, "/health/incidents/EX404").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The opening tags of the page's forms that remove something (their
/// action ends in `/remove` or `/revoke`).
fn removing_forms(body: &str) -> Vec<&str> {
    body.match_indices("<form ")
        .map(|(i, _)| &body[i..i + body[i..].find('>').unwrap() + 1])
        .filter(|tag| {
            let action = tag
                .split("action=\"")
                .nth(1)
                .and_then(|a| a.split('"').next())
                .unwrap_or("");
            action.ends_with("/remove") || action.ends_with("/revoke")
        })
        .collect()
}

async fn every_removing_form_asks_first(store: Store) {
    let f = world(store).await;
    let b = sign_in(&f, "admin").await;
    // one of everything that can be removed
    f.store
        .put_group(
            &changedesk_core::triage::TenantGroup {
                name: "north".into(),
                description: String::new(),
                include: vec!["alpha".into()],
                exclude: Vec::new(),
            },
            "test",
            &at(NOW),
        )
        .await
        .unwrap();
    for (path, fields, status) in [
        (
            "/rules/save",
            &[
                ("name", "teams-high"),
                ("when", "true"),
                ("priority", "high"),
                ("labels", ""),
                ("owner", "owen"),
                ("enabled", "true"),
            ][..],
            StatusCode::SEE_OTHER,
        ),
        (
            "/tokens/add",
            &[("name", "ci"), ("role", "")],
            StatusCode::CREATED,
        ),
        (
            "/views/save",
            &[("name", "Majors"), ("query", "major=true")],
            StatusCode::SEE_OTHER,
        ),
    ] {
        let a = b.post(&f, path, fields).await;
        assert_eq!(a.status, status, "{path}: {}", a.body);
    }
    for (page, actions) in [
        (
            "/owners",
            &[
                "/owners/remove",
                "/owners/ownership/remove",
                "/owners/groups/remove",
            ][..],
        ),
        ("/rules", &["/rules/remove"]),
        ("/rules/edit?name=teams-high", &["/rules/remove"]),
        ("/tokens", &["/tokens/revoke"]),
        ("/users", &["/users/remove"]),
        ("/views", &["/views/remove"]),
    ] {
        let a = b.get(&f, page).await;
        assert_eq!(a.status, StatusCode::OK, "{page}");
        let forms = removing_forms(&a.body);
        for action in actions {
            assert!(
                forms
                    .iter()
                    .any(|tag| tag.contains(&format!("action=\"{action}\""))),
                "{page}: no form to {action}"
            );
        }
        for tag in forms {
            assert!(
                tag.contains(" data-confirm=\"") && !tag.contains("data-confirm=\"\""),
                "{page}: a form that removes without asking: {tag}"
            );
        }
    }
    // the question names what goes
    let owners = b.get(&f, "/owners").await;
    for question in [
        "Remove owner owen?",
        "Remove tenant group north?",
        "Remove the ownership of Zulu Private Service for ",
    ] {
        assert!(
            owners.body.contains(&format!("data-confirm=\"{question}")),
            "{question}: {}",
            owners.body
        );
    }
    let views = b.get(&f, "/views").await;
    assert!(views.body.contains("data-confirm=\"Delete view Majors?\""));
    // and the page's script asks it
    let js = send(&f.app, get(&asset(&owners.body, ".js"), None))
        .await
        .body;
    assert!(
        js.contains("form[data-confirm]")
            && js.contains("window.confirm(f.getAttribute(\"data-confirm\"))"),
        "{js}"
    );
}

both!(
    pages_render_for_the_roles_that_may_see_them,
    every_form_needs_the_csrf_token,
    scoped_users_see_nothing_of_other_tenants,
    owners_ownership_and_groups_change_through_the_api,
    the_rule_editor_tests_a_draft_before_saving,
    users_and_api_tokens,
    the_audit_log_filters_and_pages,
    saved_views_are_kept_per_user_and_shown_in_the_menu,
    the_agenda_is_the_cli_document_for_the_callers_tenants,
    tenants_show_sync_status_and_sync_now,
    every_removing_form_asks_first,
);
