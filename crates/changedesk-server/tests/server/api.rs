//! The REST API in-process (no TCP), on SQLite and PostgreSQL: the
//! authorization matrix (every endpoint × every role × in-scope and
//! out-of-scope tenants, written out by hand), sessions with CSRF, and the
//! OpenAPI document (a snapshot, and every route in it and in the matrix).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use changedesk_core::graph::{HealthOverview, Incident, Message};
use changedesk_core::triage::{Owner, OwnershipEntry, Scope as OwnerScope, TenantGroup, WorkItem};
use changedesk_server::http::auth::{hash_secret, new_secret};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_store::{ImportOptions, ItemSave, NewToken, NewUser, SeedRule, Store, TriageSeed};
use serde_json::{Value, json};
use tower::ServiceExt;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const NOW: &str = "2026-03-10T09:00:00Z";

fn post(id: &str, last_modified: &str, title: &str) -> Message {
    Message::from_graph(&post_value(id, last_modified, title), 0).unwrap()
}

fn post_value(id: &str, last_modified: &str, title: &str) -> Value {
    json!({
        "startDateTime": "2026-01-05T10:00:00Z",
        "endDateTime": "2026-12-31T08:00:00Z",
        "lastModifiedDateTime": last_modified,
        "title": title,
        "id": id,
        "category": "planForChange",
        "severity": "normal",
        "tags": ["User impact"],
        "isMajorChange": false,
        "actionRequiredByDateTime": null,
        "services": ["Microsoft Teams"],
        "hasAttachments": false,
        "viewPoint": null,
        "details": [],
        "body": {"contentType": "html", "content": format!("<p>{title}</p><script>alert(1)</script>")}
    })
}

fn incident(id: &str, service: &str, title: &str) -> Incident {
    let v = json!({
        "id": id,
        "title": title,
        "classification": "incident",
        "origin": "microsoft",
        "status": "serviceDegradation",
        "service": service,
        "feature": "Mail flow",
        "featureGroup": "E-Mail and calendar access",
        "isResolved": false,
        "highImpact": null,
        "impactDescription": "Users may see delays.",
        "startDateTime": "2026-03-09T08:00:00Z",
        "lastModifiedDateTime": "2026-03-09T10:00:00Z",
        "details": [],
        "posts": [{"createdDateTime": "2026-03-09T08:30:00Z", "postType": "regular",
            "description": {"contentType": "html", "content": "<p>Investigating</p><script>x()</script>"}}]
    });
    Incident::from_graph(&v, 0).unwrap()
}

fn health(service: &str, status: &str) -> HealthOverview {
    HealthOverview::from_graph(
        &json!({"id": service, "service": service, "status": status}),
        0,
    )
    .unwrap()
}

fn opts(now: &str) -> ImportOptions {
    ImportOptions {
        complete: true,
        now: at(now),
        source: "test".into(),
        rejected: 0,
    }
}

/// The callers of the matrix, in its column order.
const ROLES: [&str; 6] = ["anonymous", "admin", "manager", "owen", "reader", "scoped"];

/// owen's second API token (see `fixture`).
const SPARE_TOKEN: i64 = 6;

struct Fixture {
    app: Router,
    /// The router's state (its hashing permits, for the bounds tests).
    state: AppState,
    store: Store,
    /// API token per caller (none for `anonymous`).
    tokens: Vec<Option<String>>,
}

async fn user(
    store: &Store,
    name: &str,
    role: Role,
    scope: Scope,
    password: Option<&str>,
) -> String {
    store
        .create_user(
            &NewUser {
                name: name.into(),
                display_name: name.into(),
                email: format!("{name}@example.com"),
                role,
                scope,
                password_hash: password.map(|p| http::hash_password(p).unwrap()),
                oidc_subject: None,
                disabled: false,
                at: at(NOW),
            },
            "test",
        )
        .await
        .unwrap();
    let secret = format!("cdk_{}", new_secret());
    store
        .create_token(
            &NewToken {
                user: name.into(),
                name: "test".into(),
                token_hash: hash_secret(&secret),
                prefix: secret[..10].to_string(),
                role,
                scope: Scope::default(),
                created_at: at(NOW),
                expires_at: None,
            },
            "test",
        )
        .await
        .unwrap();
    secret
}

/// Tenants alpha and beta: MC1 seen by both (two revisions), MC2 by beta
/// only, MC3 by alpha only. Work items: MC1 assigned to owen, MC2 to
/// nobody, MC3 to manager. Incidents EX1 (alpha) and EX2 (beta), service
/// health for both. From the configuration file (seeded): owner `collab`,
/// tenant group `eu` (alpha), ownership Microsoft Teams → collab (every
/// tenant) and Exchange Online → collab (tenant beta), rule
/// `Teams to collab`. Each user has an API token (ids 1 to 5 in `ROLES`
/// order from admin), and owen a second one, id 6 (`SPARE_TOKEN`).
async fn fixture(store: Store) -> Fixture {
    let v1 = post("MC1", "2026-02-01T00:00:00Z", "Teams: meeting recap");
    let v2 = post(
        "MC1",
        "2026-02-05T00:00:00Z",
        "(Updated) Teams: meeting recap",
    );
    store
        .import_messages(
            "alpha",
            &[v1, post("MC3", "2026-02-01T00:00:00Z", "Alpha only")],
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .import_messages(
            "beta",
            &[v2, post("MC2", "2026-02-01T00:00:00Z", "Beta only")],
            &opts("2026-03-02T00:00:00Z"),
        )
        .await
        .unwrap();
    for (id, assignee) in [
        ("MC1", Some("owen")),
        ("MC2", None),
        ("MC3", Some("manager")),
    ] {
        let mut item = WorkItem::new(id, at(NOW));
        item.assignee = assignee.map(String::from);
        crate::save_new_item(&store, &item, at(NOW)).await;
    }
    store
        .import_incidents(
            "alpha",
            &[incident("EX1", "Exchange Online", "Mail delays")],
            &opts("2026-03-09T12:00:00Z"),
        )
        .await
        .unwrap();
    store
        .import_incidents(
            "beta",
            &[incident("EX2", "SharePoint Online", "Sites slow")],
            &opts("2026-03-09T12:00:00Z"),
        )
        .await
        .unwrap();
    for tenant in ["alpha", "beta"] {
        store
            .import_health(
                tenant,
                &[
                    health("Exchange Online", "serviceDegradation"),
                    health("Microsoft Teams", "serviceOperational"),
                ],
                &opts("2026-03-09T12:00:00Z"),
            )
            .await
            .unwrap();
    }
    let teams_rule = json!({"name": "Teams to collab", "when": "services has \"Microsoft Teams\"",
        "then": {"owner": "collab", "labels": ["teams"]}, "enabled": true});
    store
        .seed(
            &TriageSeed {
                owners: vec![Owner::new("collab", "Collaboration", "collab@example.com").unwrap()],
                groups: vec![TenantGroup {
                    name: "eu".into(),
                    description: "Europe".into(),
                    include: vec!["alpha".into()],
                    exclude: vec![],
                }],
                ownership: vec![
                    OwnershipEntry {
                        workload: "Microsoft Teams".into(),
                        owner: "collab".into(),
                        scope: OwnerScope::All,
                    },
                    OwnershipEntry {
                        workload: "Exchange Online".into(),
                        owner: "collab".into(),
                        scope: OwnerScope::Tenant("beta".into()),
                    },
                ],
                rules: vec![SeedRule {
                    name: "Teams to collab".into(),
                    enabled: true,
                    spec: teams_rule,
                }],
            },
            &at(NOW),
        )
        .await
        .unwrap();
    let alpha_only = Scope {
        tenants: vec!["alpha".into()],
        groups: vec![],
    };
    let tokens = vec![
        None,
        Some(
            user(
                &store,
                "admin",
                Role::Admin,
                Scope::default(),
                Some("correct horse battery staple"),
            )
            .await,
        ),
        Some(
            user(
                &store,
                "manager",
                Role::ChangeManager,
                Scope::default(),
                None,
            )
            .await,
        ),
        Some(user(&store, "owen", Role::Owner, Scope::default(), None).await),
        Some(user(&store, "reader", Role::Reader, Scope::default(), None).await),
        Some(user(&store, "scoped", Role::ChangeManager, alpha_only, None).await),
    ];
    let spare = store
        .create_token(
            &NewToken {
                user: "owen".into(),
                name: "spare".into(),
                token_hash: hash_secret(&new_secret()),
                prefix: "cdk_spare".into(),
                role: Role::Owner,
                scope: Scope::default(),
                created_at: at(NOW),
                expires_at: None,
            },
            "test",
        )
        .await
        .unwrap();
    assert_eq!(spare.id, SPARE_TOKEN, "the matrix names token ids");
    let state = AppState::new(
        store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(NOW));
    Fixture {
        app: http::router(state.clone(), true),
        store,
        tokens,
        state,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body, headers)
}

fn request(method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// One row of the matrix: a request and the status each caller gets, in
/// `ROLES` order. `route` is the OpenAPI path it exercises.
struct Row {
    method: &'static str,
    route: &'static str,
    path: &'static str,
    body: Option<Value>,
    expect: [u16; 6],
}

fn matrix() -> Vec<Row> {
    let comment = || Some(json!({"action": "comment", "text": "looked at it"}));
    vec![
        // who am I
        Row {
            method: "GET",
            route: "/api/v1/me",
            path: "/api/v1/me",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        // posts: everyone reads what is in scope; scoped sees alpha only
        Row {
            method: "GET",
            route: "/api/v1/posts",
            path: "/api/v1/posts",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/facets",
            path: "/api/v1/posts/facets",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}",
            path: "/api/v1/posts/MC1",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}",
            path: "/api/v1/posts/MC2",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}",
            path: "/api/v1/posts/MC404",
            body: None,
            expect: [401, 404, 404, 404, 404, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}/revisions/{revision}",
            path: "/api/v1/posts/MC1/revisions/2",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}/revisions/{revision}",
            path: "/api/v1/posts/MC2/revisions/1",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}/diff",
            path: "/api/v1/posts/MC1/diff",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/posts/{id}/diff",
            path: "/api/v1/posts/MC2/diff",
            body: None,
            expect: [401, 400, 400, 400, 400, 404],
        },
        // work items
        Row {
            method: "GET",
            route: "/api/v1/items",
            path: "/api/v1/items",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/items/{id}",
            path: "/api/v1/items/MC2",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        // MC2 is nobody's: managers may act, the owner and the reader not, scoped cannot see it
        Row {
            method: "POST",
            route: "/api/v1/items/{id}/actions",
            path: "/api/v1/items/MC2/actions",
            body: comment(),
            expect: [401, 200, 200, 403, 403, 404],
        },
        // MC1 is owen's, and alpha and beta see it: its one work item is
        // shared, so scoped (alpha only) acts for alpha alone, and not on
        // what concerns the whole post
        Row {
            method: "POST",
            route: "/api/v1/items/{id}/actions",
            path: "/api/v1/items/MC1/actions",
            body: comment(),
            expect: [401, 200, 200, 200, 403, 200],
        },
        Row {
            method: "POST",
            route: "/api/v1/items/{id}/actions",
            path: "/api/v1/items/MC1/actions",
            body: Some(json!({"action": "add_label", "label": "shared"})),
            expect: [401, 200, 200, 200, 403, 403],
        },
        // MC3 is the manager's and only alpha sees it: scoped may act
        Row {
            method: "POST",
            route: "/api/v1/items/{id}/actions",
            path: "/api/v1/items/MC3/actions",
            body: comment(),
            expect: [401, 200, 200, 403, 403, 200],
        },
        // a change request: nobody's MC2 (the connector does not exist, so
        // those who may ask get 404 for it; scoped cannot see MC2)
        Row {
            method: "POST",
            route: "/api/v1/items/{id}/change-requests",
            path: "/api/v1/items/MC2/change-requests",
            body: Some(json!({"connector": "nosuch"})),
            expect: [401, 404, 404, 403, 403, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/items/{id}/tickets",
            path: "/api/v1/items/MC2/tickets",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        // tenants
        Row {
            method: "GET",
            route: "/api/v1/tenants",
            path: "/api/v1/tenants",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/tenants/{name}",
            path: "/api/v1/tenants/beta",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        // no scheduler runs in the test: allowed callers get 503
        Row {
            method: "POST",
            route: "/api/v1/tenants/{name}/sync",
            path: "/api/v1/tenants/alpha/sync",
            body: None,
            expect: [401, 503, 503, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/tenants/{name}/sync",
            path: "/api/v1/tenants/beta/sync",
            body: None,
            expect: [401, 503, 503, 403, 403, 404],
        },
        // adding tenants to the database, their consent links, access checks
        // and removal: unrestricted admins only; this server has no [app]
        Row {
            method: "POST",
            route: "/api/v1/tenants",
            path: "/api/v1/tenants",
            body: Some(
                json!({"tenants": [{"name": "gamma", "directory_id": "gamma.onmicrosoft.com"}]}),
            ),
            expect: [401, 503, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/tenants/{name}",
            path: "/api/v1/tenants/alpha",
            body: None,
            expect: [401, 404, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/tenants/{name}/consent-link",
            path: "/api/v1/tenants/alpha/consent-link",
            body: None,
            expect: [401, 503, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/tenants/{name}/check",
            path: "/api/v1/tenants/alpha/check",
            body: None,
            expect: [401, 503, 403, 403, 403, 403],
        },
        // renaming onto a tenant's name: refused (nothing changes)
        Row {
            method: "POST",
            route: "/api/v1/tenants/{name}/rename",
            path: "/api/v1/tenants/alpha/rename",
            body: Some(json!({"name": "beta"})),
            expect: [401, 409, 403, 403, 403, 403],
        },
        // purging a tenant nobody has: admins are told so, others refused
        Row {
            method: "POST",
            route: "/api/v1/tenants/{name}/purge",
            path: "/api/v1/tenants/nobody/purge",
            body: None,
            expect: [401, 404, 403, 403, 403, 403],
        },
        // the baseline concerns every tenant: scoped neither sees nor accepts it
        Row {
            method: "GET",
            route: "/api/v1/baseline",
            path: "/api/v1/baseline",
            body: None,
            expect: [401, 200, 200, 200, 200, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/baseline/accept",
            path: "/api/v1/baseline/accept",
            body: None,
            expect: [401, 200, 200, 403, 403, 403],
        },
        // incidents and service health: read in scope (EX1 alpha, EX2 beta)
        Row {
            method: "GET",
            route: "/api/v1/incidents",
            path: "/api/v1/incidents",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/incidents",
            path: "/api/v1/incidents?state=sideways",
            body: None,
            expect: [401, 400, 400, 400, 400, 400],
        },
        Row {
            method: "GET",
            route: "/api/v1/incidents/{id}",
            path: "/api/v1/incidents/EX1",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/incidents/{id}",
            path: "/api/v1/incidents/EX2",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/incidents/{id}",
            path: "/api/v1/incidents/EX404",
            body: None,
            expect: [401, 404, 404, 404, 404, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/health",
            path: "/api/v1/health",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/health",
            path: "/api/v1/health?tenant=beta",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        // owners: everyone reads; Configure (unrestricted change_manager or
        // admin) changes. The admin creates (201), the manager then updates (200)
        Row {
            method: "GET",
            route: "/api/v1/owners",
            path: "/api/v1/owners",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "PUT",
            route: "/api/v1/owners/{name}",
            path: "/api/v1/owners/newteam",
            body: Some(json!({"display_name": "New team", "email": "newteam@example.com"})),
            expect: [401, 201, 200, 403, 403, 403],
        },
        Row {
            method: "PUT",
            route: "/api/v1/owners/{name}",
            path: "/api/v1/owners/newteam",
            body: Some(json!({"email": "not an address"})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        // a body that does not fit the schema is refused before anything else
        Row {
            method: "PUT",
            route: "/api/v1/owners/{name}",
            path: "/api/v1/owners/newteam",
            body: Some(json!({"mail": "newteam@example.com"})),
            expect: [401, 422, 422, 422, 422, 422],
        },
        Row {
            method: "PUT",
            route: "/api/v1/owners/{name}",
            path: "/api/v1/owners/Bad%20Name!",
            body: Some(json!({"email": "x@example.com"})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        // collab owns Microsoft Teams
        Row {
            method: "DELETE",
            route: "/api/v1/owners/{name}",
            path: "/api/v1/owners/collab",
            body: None,
            expect: [401, 409, 409, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/owners/{name}",
            path: "/api/v1/owners/newteam",
            body: None,
            expect: [401, 204, 404, 403, 403, 403],
        },
        // workload ownership
        Row {
            method: "GET",
            route: "/api/v1/ownership",
            path: "/api/v1/ownership",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "PUT",
            route: "/api/v1/ownership/{workload}",
            path: "/api/v1/ownership/Exchange%20Online?scope=group:eu",
            body: Some(json!({"owner": "collab"})),
            expect: [401, 201, 200, 403, 403, 403],
        },
        Row {
            method: "PUT",
            route: "/api/v1/ownership/{workload}",
            path: "/api/v1/ownership/Exchange%20Online",
            body: Some(json!({"owner": "nobody"})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        Row {
            method: "PUT",
            route: "/api/v1/ownership/{workload}",
            path: "/api/v1/ownership/*?scope=group:nowhere",
            body: Some(json!({"owner": "collab"})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        // tenant groups: everyone reads; only an unrestricted admin changes
        Row {
            method: "GET",
            route: "/api/v1/tenant-groups",
            path: "/api/v1/tenant-groups",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "PUT",
            route: "/api/v1/tenant-groups/{name}",
            path: "/api/v1/tenant-groups/west",
            body: Some(json!({"description": "West", "include": ["beta", "us-*"]})),
            expect: [401, 201, 403, 403, 403, 403],
        },
        Row {
            method: "PUT",
            route: "/api/v1/tenant-groups/{name}",
            path: "/api/v1/tenant-groups/west",
            body: Some(json!({"include": []})),
            expect: [401, 400, 403, 403, 403, 403],
        },
        // eu is used by the ownership entry made above
        Row {
            method: "DELETE",
            route: "/api/v1/tenant-groups/{name}",
            path: "/api/v1/tenant-groups/eu",
            body: None,
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/tenant-groups/{name}",
            path: "/api/v1/tenant-groups/west",
            body: None,
            expect: [401, 204, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/tenant-groups/{name}",
            path: "/api/v1/tenant-groups/west",
            body: None,
            expect: [401, 404, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/ownership/{workload}",
            path: "/api/v1/ownership/Exchange%20Online?scope=group:eu",
            body: None,
            expect: [401, 204, 404, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/ownership/{workload}",
            path: "/api/v1/ownership/Exchange%20Online?scope=somewhere",
            body: None,
            expect: [401, 400, 400, 403, 403, 403],
        },
        // rules: everyone reads and tests (in scope); Configure changes and simulates
        Row {
            method: "GET",
            route: "/api/v1/rules",
            path: "/api/v1/rules",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/Teams%20to%20collab",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/nope",
            body: None,
            expect: [401, 404, 404, 404, 404, 404],
        },
        Row {
            method: "PUT",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/Exchange%20is%20urgent",
            body: Some(
                json!({"when": "services has \"Exchange Online\"", "then": {"priority": "high", "owner": "collab"}}),
            ),
            expect: [401, 201, 200, 403, 403, 403],
        },
        Row {
            method: "PUT",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/Broken",
            body: Some(json!({"when": "services has"})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        Row {
            method: "PUT",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/Unknown%20owner",
            body: Some(json!({"when": "true", "then": {"owner": "nobody"}})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/rules/test",
            path: "/api/v1/rules/test",
            body: Some(json!({"post_id": "MC1"})),
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "POST",
            route: "/api/v1/rules/test",
            path: "/api/v1/rules/test",
            body: Some(json!({"post_id": "MC2"})),
            expect: [401, 200, 200, 200, 200, 404],
        },
        Row {
            method: "POST",
            route: "/api/v1/rules/test",
            path: "/api/v1/rules/test",
            body: Some(json!({"post_id": "MC1", "tenant": "beta"})),
            expect: [401, 200, 200, 200, 200, 404],
        },
        Row {
            method: "POST",
            route: "/api/v1/rules/test",
            path: "/api/v1/rules/test",
            body: Some(json!({"post_id": "MC1", "rules": [{"name": "x", "when": "services has"}]})),
            expect: [401, 400, 400, 400, 400, 400],
        },
        Row {
            method: "POST",
            route: "/api/v1/rules/simulate",
            path: "/api/v1/rules/simulate",
            body: None,
            expect: [401, 200, 200, 403, 403, 403],
        },
        // a rule from the configuration file would come back
        Row {
            method: "DELETE",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/Teams%20to%20collab",
            body: None,
            expect: [401, 409, 409, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/rules/{name}",
            path: "/api/v1/rules/Exchange%20is%20urgent",
            body: None,
            expect: [401, 204, 404, 403, 403, 403],
        },
        // users: unrestricted admins only
        Row {
            method: "GET",
            route: "/api/v1/users",
            path: "/api/v1/users",
            body: None,
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/users",
            path: "/api/v1/users",
            body: Some(
                json!({"name": "newbie", "role": "reader", "password": "a long enough password"}),
            ),
            expect: [401, 201, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/users",
            path: "/api/v1/users",
            body: Some(
                json!({"name": "newbie", "role": "reader", "password": "a long enough password"}),
            ),
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/users",
            path: "/api/v1/users",
            body: Some(json!({"name": "shorty", "role": "reader", "password": "short"})),
            expect: [401, 400, 403, 403, 403, 403],
        },
        Row {
            method: "PATCH",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/newbie",
            body: Some(json!({"display_name": "New Bie", "role": "owner", "tenants": ["alpha"]})),
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "PATCH",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/newbie",
            body: Some(json!({"role": "wizard"})),
            expect: [401, 400, 403, 403, 403, 403],
        },
        Row {
            method: "PATCH",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/nobody",
            body: Some(json!({"disabled": true})),
            expect: [401, 404, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/users/{name}/unlock",
            path: "/api/v1/users/newbie/unlock",
            body: None,
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/users/{name}/unlock",
            path: "/api/v1/users/nobody/unlock",
            body: None,
            expect: [401, 404, 403, 403, 403, 403],
        },
        // the last enabled admin stays
        Row {
            method: "PATCH",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/admin",
            body: Some(json!({"role": "reader"})),
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/admin",
            body: None,
            expect: [401, 409, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/newbie",
            body: None,
            expect: [401, 204, 403, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/users/{name}",
            path: "/api/v1/users/newbie",
            body: None,
            expect: [401, 404, 403, 403, 403, 403],
        },
        // API tokens: everyone manages their own; admins anyone's
        Row {
            method: "GET",
            route: "/api/v1/tokens",
            path: "/api/v1/tokens",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/tokens",
            path: "/api/v1/tokens?user=owen",
            body: None,
            expect: [401, 200, 403, 200, 403, 403],
        },
        Row {
            method: "GET",
            route: "/api/v1/tokens",
            path: "/api/v1/tokens?user=nobody",
            body: None,
            expect: [401, 404, 403, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/tokens",
            path: "/api/v1/tokens",
            body: Some(json!({"name": "ci", "expires_in": "30d"})),
            expect: [401, 201, 201, 201, 201, 201],
        },
        // at most the caller's role
        Row {
            method: "POST",
            route: "/api/v1/tokens",
            path: "/api/v1/tokens",
            body: Some(json!({"name": "too much", "role": "change_manager"})),
            expect: [401, 201, 201, 403, 403, 201],
        },
        Row {
            method: "POST",
            route: "/api/v1/tokens",
            path: "/api/v1/tokens",
            body: Some(json!({"name": "bad", "expires_in": "whenever"})),
            expect: [401, 400, 400, 400, 400, 400],
        },
        // owen's spare token: his and the admin's to revoke, nobody else's to see
        Row {
            method: "DELETE",
            route: "/api/v1/tokens/{id}",
            path: "/api/v1/tokens/6",
            body: None,
            expect: [401, 204, 404, 204, 404, 404],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/tokens/{id}",
            path: "/api/v1/tokens/999",
            body: None,
            expect: [401, 404, 404, 404, 404, 404],
        },
        // a person's own subscription: anyone signed in (none yet; a bad
        // cadence is refused before anything is kept)
        Row {
            method: "GET",
            route: "/api/v1/me/subscription",
            path: "/api/v1/me/subscription",
            body: None,
            expect: [401, 404, 404, 404, 404, 404],
        },
        Row {
            method: "PUT",
            route: "/api/v1/me/subscription",
            path: "/api/v1/me/subscription",
            body: Some(json!({"cadence": "hourly"})),
            expect: [401, 400, 400, 400, 400, 400],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/me/subscription",
            path: "/api/v1/me/subscription",
            body: None,
            expect: [401, 404, 404, 404, 404, 404],
        },
        // a person's own settings: anyone signed in (a name that is not a
        // time zone is refused before anything is kept)
        Row {
            method: "GET",
            route: "/api/v1/me/settings",
            path: "/api/v1/me/settings",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "PUT",
            route: "/api/v1/me/settings",
            path: "/api/v1/me/settings",
            body: Some(json!({"time_zone": "Mars/Olympus"})),
            expect: [401, 400, 400, 400, 400, 400],
        },
        // reports: anyone signed in, of their own tenants
        Row {
            method: "GET",
            route: "/api/v1/reports/analytics",
            path: "/api/v1/reports/analytics?days=30",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/reports/health",
            path: "/api/v1/reports/health",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/reports/maturity",
            path: "/api/v1/reports/maturity",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        // the executive report and the weekly status: as the reports (a
        // malformed period is refused for everyone signed in)
        Row {
            method: "GET",
            route: "/api/v1/reports/executive",
            path: "/api/v1/reports/executive",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/reports/executive",
            path: "/api/v1/reports/executive?month=2026-13",
            body: None,
            expect: [401, 400, 400, 400, 400, 400],
        },
        Row {
            method: "GET",
            route: "/api/v1/reports/weekly",
            path: "/api/v1/reports/weekly?week=2026-03-04",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/reports/weekly",
            path: "/api/v1/reports/weekly?week=tuesday",
            body: None,
            expect: [401, 400, 400, 400, 400, 400],
        },
        // reviews held: anyone reads; unrestricted change managers and
        // admins record
        Row {
            method: "GET",
            route: "/api/v1/reviews",
            path: "/api/v1/reviews",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "POST",
            route: "/api/v1/reviews",
            path: "/api/v1/reviews",
            body: Some(json!({"note": "went through the week"})),
            expect: [401, 200, 200, 403, 403, 403],
        },
        // communications: everyone reads those of their posts (a limited
        // caller those for their tenants only); the item's owner and comms,
        // change managers and admins ask; comms, change managers and admins
        // edit, send and cancel; the owner may approve too. Each role asks
        // once (1: the admin's, for every tenant: not the scoped caller's)
        Row {
            method: "GET",
            route: "/api/v1/comms",
            path: "/api/v1/comms",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "POST",
            route: "/api/v1/posts/{id}/comms",
            path: "/api/v1/posts/MC1/comms",
            body: Some(json!({"subject": "A change", "body": "What changes."})),
            expect: [401, 201, 201, 201, 403, 201],
        },
        Row {
            method: "GET",
            route: "/api/v1/comms/{id}",
            path: "/api/v1/comms/1",
            body: None,
            expect: [401, 200, 200, 200, 200, 404],
        },
        Row {
            method: "PUT",
            route: "/api/v1/comms/{id}",
            path: "/api/v1/comms/1",
            body: Some(json!({"version": 99, "subject": "A change", "body": "What changes."})),
            expect: [401, 409, 409, 403, 403, 404],
        },
        Row {
            method: "POST",
            route: "/api/v1/comms/{id}/approve",
            path: "/api/v1/comms/1/approve",
            body: Some(json!({"version": 99})),
            expect: [401, 409, 409, 409, 403, 404],
        },
        Row {
            method: "POST",
            route: "/api/v1/comms/{id}/send",
            path: "/api/v1/comms/1/send",
            body: Some(json!({"version": 99})),
            expect: [401, 400, 400, 403, 403, 404],
        },
        Row {
            method: "POST",
            route: "/api/v1/comms/{id}/cancel",
            path: "/api/v1/comms/1/cancel",
            body: Some(json!({"version": 99})),
            expect: [401, 409, 409, 403, 403, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/reports/communications",
            path: "/api/v1/reports/communications",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        // pilot groups: everyone reads; unrestricted change managers and
        // admins keep them (the admin saves, then removes it: the manager
        // finds none left)
        Row {
            method: "GET",
            route: "/api/v1/pilot-groups",
            path: "/api/v1/pilot-groups",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        Row {
            method: "PUT",
            route: "/api/v1/pilot-groups/{name}",
            path: "/api/v1/pilot-groups/teams-early",
            body: Some(json!({"workloads": ["Microsoft Teams"], "members": ["ana@example.com"]})),
            expect: [401, 204, 204, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/pilot-groups/{name}",
            path: "/api/v1/pilot-groups/teams-early",
            body: None,
            expect: [401, 204, 404, 403, 403, 403],
        },
        Row {
            method: "GET",
            route: "/api/v1/pilots",
            path: "/api/v1/pilots",
            body: None,
            expect: [401, 200, 200, 200, 200, 200],
        },
        // notifications: unrestricted change managers and admins
        Row {
            method: "GET",
            route: "/api/v1/channels",
            path: "/api/v1/channels",
            body: None,
            expect: [401, 200, 200, 403, 403, 403],
        },
        // no secret key in this server: a channel cannot be kept (409)
        Row {
            method: "POST",
            route: "/api/v1/channels",
            path: "/api/v1/channels",
            body: Some(json!({"name": "desk", "webhook": "https://hooks.example/x"})),
            expect: [401, 409, 409, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/channels/{name}/test",
            path: "/api/v1/channels/nosuch/test",
            body: None,
            expect: [401, 404, 404, 403, 403, 403],
        },
        Row {
            method: "DELETE",
            route: "/api/v1/channels/{name}",
            path: "/api/v1/channels/nosuch",
            body: None,
            expect: [401, 404, 404, 403, 403, 403],
        },
        Row {
            method: "GET",
            route: "/api/v1/deliveries",
            path: "/api/v1/deliveries?failed=true",
            body: None,
            expect: [401, 200, 200, 403, 403, 403],
        },
        Row {
            method: "GET",
            route: "/api/v1/deliveries",
            path: "/api/v1/deliveries?limit=0",
            body: None,
            expect: [401, 400, 400, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/deliveries/retry",
            path: "/api/v1/deliveries/retry",
            body: Some(json!({"all_failed": true})),
            expect: [401, 200, 200, 403, 403, 403],
        },
        Row {
            method: "POST",
            route: "/api/v1/deliveries/retry",
            path: "/api/v1/deliveries/retry",
            body: Some(json!({"ids": [1], "all_failed": true})),
            expect: [401, 400, 400, 403, 403, 403],
        },
        // the audit log: unrestricted admins only
        Row {
            method: "GET",
            route: "/api/v1/audit",
            path: "/api/v1/audit?action=owner.",
            body: None,
            expect: [401, 200, 403, 403, 403, 403],
        },
        Row {
            method: "GET",
            route: "/api/v1/audit",
            path: "/api/v1/audit?limit=0",
            body: None,
            expect: [401, 400, 403, 403, 403, 403],
        },
        // sessions: an API token has none to end
        Row {
            method: "DELETE",
            route: "/api/v1/session",
            path: "/api/v1/session",
            body: None,
            expect: [401, 400, 400, 400, 400, 400],
        },
        // OpenID Connect: the ways to sign in are public; without an [oidc]
        // configuration its routes are not found, for everyone
        Row {
            method: "GET",
            route: "/api/v1/session/providers",
            path: "/api/v1/session/providers",
            body: None,
            expect: [200, 200, 200, 200, 200, 200],
        },
        Row {
            method: "GET",
            route: "/api/v1/session/oidc",
            path: "/api/v1/session/oidc?return_to=/items",
            body: None,
            expect: [404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "GET",
            route: "/api/v1/session/oidc/callback",
            path: "/api/v1/session/oidc/callback?code=c&state=s",
            body: None,
            expect: [404, 404, 404, 404, 404, 404],
        },
        // signing in with wrong credentials (the same request six times: the
        // sixth failure within the window is refused outright)
        Row {
            method: "POST",
            route: "/api/v1/session",
            path: "/api/v1/session",
            body: Some(json!({"name": "admin", "password": "wrong password!"})),
            expect: [401, 401, 401, 401, 401, 429],
        },
    ]
}

async fn authorization_matrix(store: Store) {
    let f = fixture(store).await;
    for row in matrix() {
        for (i, role) in ROLES.iter().enumerate() {
            let (status, body, headers) = send(
                &f.app,
                request(
                    row.method,
                    row.path,
                    f.tokens[i].as_deref(),
                    row.body.as_ref(),
                ),
            )
            .await;
            assert_eq!(
                status.as_u16(),
                row.expect[i],
                "{} {} as {role}: {body}",
                row.method,
                row.path
            );
            if !status.is_success() {
                assert_eq!(
                    headers[header::CONTENT_TYPE],
                    "application/problem+json",
                    "{} {} as {role}",
                    row.method,
                    row.path
                );
                assert_eq!(body["status"], status.as_u16(), "{body}");
            }
        }
    }
}

fn token(f: &Fixture, role: &str) -> Option<String> {
    f.tokens[ROLES.iter().position(|r| *r == role).unwrap()].clone()
}

async fn get(f: &Fixture, role: &str, path: &str) -> Value {
    let (status, body, _) = send(
        &f.app,
        request("GET", path, token(f, role).as_deref(), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "GET {path} as {role}: {body}");
    body
}

async fn scope_hides_other_tenants_everywhere(store: Store) {
    let f = fixture(store).await;
    let ids = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    };
    let all = get(&f, "reader", "/api/v1/posts?include_total=true").await;
    assert_eq!(
        (ids(&all), all["total"].as_i64()),
        (vec!["MC1".to_string(), "MC2".into(), "MC3".into()], Some(3))
    );
    let scoped = get(&f, "scoped", "/api/v1/posts?include_total=true").await;
    assert_eq!(
        (ids(&scoped), scoped["total"].as_i64()),
        (vec!["MC1".to_string(), "MC3".into()], Some(2))
    );
    // a search for the other tenant's post finds nothing, and says so by count
    let search = get(&f, "scoped", "/api/v1/posts?q=beta&include_total=true").await;
    assert_eq!(search["total"], 0, "{search}");
    // the total only when asked for; the pages are the same
    let uncounted = get(&f, "reader", "/api/v1/posts?include_total=false").await;
    assert_eq!((ids(&uncounted), uncounted.get("total")), (ids(&all), None));
    let paged = get(&f, "reader", "/api/v1/posts?limit=2&include_total=true").await;
    assert_eq!(paged["total"], 3, "{paged}");
    let cursor = paged["next_cursor"].as_str().unwrap();
    let next = get(
        &f,
        "reader",
        &format!("/api/v1/posts?limit=2&include_total=true&cursor={cursor}"),
    )
    .await;
    assert_eq!((next["total"].as_i64(), ids(&next).len()), (Some(3), 1));
    let (status, body, _) = send(
        &f.app,
        request(
            "GET",
            "/api/v1/posts?include_total=yes",
            token(&f, "reader").as_deref(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // a post both see shows only the tenant in scope
    let mc1 = get(&f, "scoped", "/api/v1/posts/MC1").await;
    let tenants: Vec<&str> = mc1["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["alpha"]);
    assert_eq!(mc1["tenants_seen"], 1, "{mc1}");
    // the revision brought by beta does not name it
    let revs = mc1["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2);
    assert!(
        revs.iter()
            .all(|r| r["tenant"].is_null() || r["tenant"] == "alpha"),
        "{revs:?}"
    );
    // facets count in scope only
    let facets = get(&f, "scoped", "/api/v1/posts/facets").await;
    let tenants: Vec<&str> = facets["tenant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["alpha"], "{facets}");
    // items and tenants
    let items = get(&f, "scoped", "/api/v1/items").await;
    let mut item_ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["post_id"].as_str().unwrap())
        .collect();
    item_ids.sort();
    assert_eq!(item_ids, ["MC1", "MC3"]);
    let tenants = get(&f, "scoped", "/api/v1/tenants").await;
    assert_eq!(tenants.as_array().unwrap().len(), 1);
    // the body is sanitised
    assert!(
        !mc1["body_html"].as_str().unwrap().contains("script"),
        "{}",
        mc1["body_html"]
    );
    // incidents and service health
    let incidents = get(&f, "scoped", "/api/v1/incidents").await;
    let incident_ids: Vec<&str> = incidents
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(incident_ids, ["EX1"]);
    assert_eq!(
        get(&f, "reader", "/api/v1/incidents")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ex1 = get(&f, "scoped", "/api/v1/incidents/EX1").await;
    assert_eq!(ex1["tenants"].as_array().unwrap().len(), 1, "{ex1}");
    assert!(
        !ex1["posts"][0]["description_html"]
            .as_str()
            .unwrap()
            .contains("script"),
        "{ex1}"
    );
    let health = get(&f, "scoped", "/api/v1/health").await;
    let health = health.as_array().unwrap();
    assert_eq!(health.len(), 2, "{health:?}");
    assert!(health.iter().all(|h| h["tenant"] == "alpha"), "{health:?}");
    assert_eq!(
        get(&f, "reader", "/api/v1/health")
            .await
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // an ownership entry for beta is not shown; groups show members in scope
    let scopes = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["scope"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        scopes(&get(&f, "scoped", "/api/v1/ownership").await),
        ["all"]
    );
    assert_eq!(
        scopes(&get(&f, "reader", "/api/v1/ownership").await),
        ["tenant:beta", "all"]
    );
    let groups = get(&f, "scoped", "/api/v1/tenant-groups").await;
    assert_eq!(groups[0]["tenants"], json!(["alpha"]), "{groups}");
    // the rules are explained for the tenants in scope only
    let explain = |role: &'static str| {
        let f = &f;
        async move {
            let (status, body, _) = send(
                &f.app,
                request(
                    "POST",
                    "/api/v1/rules/test",
                    token(f, role).as_deref(),
                    Some(&json!({"post_id": "mc1"})),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let scoped_explained = explain("scoped").await;
    let tenants: Vec<&str> = scoped_explained
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["alpha"]);
    let e = &scoped_explained[0];
    assert_eq!(
        (
            e["rules"][0]["status"].as_str(),
            e["assignee"].as_str(),
            &e["outcome"]["matched"]
        ),
        (Some("matched"), Some("collab"), &json!([1])),
        "{e}"
    );
    assert_eq!(explain("reader").await.as_array().unwrap().len(), 2);
}

/// A request as one of the matrix's callers.
async fn call(
    f: &Fixture,
    role: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    send(
        &f.app,
        request(method, path, token(f, role).as_deref(), body.as_ref()),
    )
    .await
}

async fn tokens_are_shown_once_and_changes_are_audited(store: Store) {
    let f = fixture(store).await;
    // a reader makes a token for a script: the secret is in this answer only
    let (status, created, headers) = call(
        &f,
        "reader",
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "script", "expires_in": "30d"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let secret = created["secret"].as_str().unwrap().to_string();
    let id = created["id"].as_i64().unwrap();
    assert!(secret.starts_with("cdk_") && secret.len() > 40, "{secret}");
    assert!(
        secret.starts_with(created["prefix"].as_str().unwrap()),
        "{created}"
    );
    assert_eq!(
        (
            created["role"].as_str(),
            created["user"].as_str(),
            created["active"].as_bool()
        ),
        (Some("reader"), Some("reader"), Some(true))
    );
    assert_eq!(
        created["expires_at"], "2026-04-09T09:00:00.000000Z",
        "{created}"
    );
    // it works
    let (status, me, _) = send(&f.app, request("GET", "/api/v1/me", Some(&secret), None)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["user"]["name"].as_str(), me["user"]["via"].as_str()),
        (Some("reader"), Some("token"))
    );
    // it is listed (used just now), without its secret
    let listed = get(&f, "reader", "/api/v1/tokens").await;
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("token {id} is not listed: {listed}"));
    assert_eq!(
        mine["last_used_at"], "2026-03-10T09:00:00.000000Z",
        "{mine}"
    );
    assert!(mine.get("secret").is_none(), "{mine}");
    // an admin changes owners, rules and users
    for (method, path, body, expect) in [
        (
            "PUT",
            "/api/v1/owners/ops",
            json!({"display_name": "Operations", "email": "ops@example.com"}),
            StatusCode::CREATED,
        ),
        (
            "PUT",
            "/api/v1/rules/Exchange%20to%20ops",
            json!({"when": "services has \"Exchange Online\"", "then": {"owner": "ops"}}),
            StatusCode::CREATED,
        ),
        (
            "POST",
            "/api/v1/users",
            json!({"name": "Carol", "role": "owner", "email": "carol@example.com",
                   "password": "carol's first password"}),
            StatusCode::CREATED,
        ),
    ] {
        let (status, body, _) = call(&f, "admin", method, path, Some(body)).await;
        assert_eq!(status, expect, "{method} {path}: {body}");
    }
    let rules = get(&f, "reader", "/api/v1/rules").await;
    assert_eq!(
        rules[1],
        json!({"position": 2, "name": "Exchange to ops", "enabled": true, "source": "manual",
               "when": "services has \"Exchange Online\"", "updated_at": "2026-03-10T09:00:00.000000Z",
               "then": {"owner": "ops", "priority": null, "due": null, "labels": [], "dismiss": null,
                        "change_request": false, "communication": false, "notify": [], "stop": false}}),
        "{rules}"
    );
    // carol signs in; a new password ends her session
    let (status, signed_in, headers) = send(
        &f.app,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": "carol", "password": "carol's first password"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let me_with_cookie = || {
        let mut r = request("GET", "/api/v1/me", None, None);
        r.headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        r
    };
    assert_eq!(send(&f.app, me_with_cookie()).await.0, StatusCode::OK);
    let (status, carol, _) = call(
        &f,
        "admin",
        "PATCH",
        "/api/v1/users/carol",
        Some(json!({"password": "carol's second password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{carol}");
    assert_eq!(carol["has_password"], true);
    assert_eq!(
        send(&f.app, me_with_cookie()).await.0,
        StatusCode::UNAUTHORIZED,
        "the session ended with the new password"
    );
    // the reader revokes the token with itself; it stops working
    let (status, body, _) = send(
        &f.app,
        request(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&secret),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _, _) = send(&f.app, request("GET", "/api/v1/me", Some(&secret), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let listed = get(&f, "reader", "/api/v1/tokens").await;
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert_eq!(
        (mine["active"].as_bool(), mine["revoked_at"].as_str()),
        (Some(false), Some("2026-03-10T09:00:00.000000Z"))
    );
    // the audit log lists every change, with who made it; no secret anywhere
    let audit = get(&f, "admin", "/api/v1/audit?limit=500").await;
    let entries: Vec<(String, String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let token_actor = format!("reader (token {id})");
    for expected in [
        ("reader (token 4)", "token.create", "reader"),
        ("admin (token 1)", "owner.put", "ops"),
        ("admin (token 1)", "rule.put", "Exchange to ops"),
        ("admin (token 1)", "user.create", "carol"),
        ("carol", "session.sign_in", "carol"),
        ("admin (token 1)", "user.update", "carol"),
        ("admin (token 1)", "session.end_all", "carol"),
        (token_actor.as_str(), "token.revoke", "reader"),
    ] {
        assert!(
            entries
                .iter()
                .any(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()) == expected),
            "{expected:?} not in {entries:#?}"
        );
    }
    assert_eq!(audit["next_before"], Value::Null, "{audit}");
    let text = audit.to_string();
    for secret_text in [
        secret.as_str(),
        "carol's first password",
        "carol's second password",
    ] {
        assert!(
            !text.contains(secret_text),
            "{secret_text} in the audit log"
        );
    }
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );
    // filtered by actor and action, newest first
    let users = get(
        &f,
        "admin",
        "/api/v1/audit?actor=admin%20(token%201)&action=user.",
    )
    .await;
    let actions: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.update", "user.create"]);
    assert_eq!(
        users["items"][0]["detail"],
        json!({"password": "changed"}),
        "{users}"
    );
    // a page at a time
    let first = get(&f, "admin", "/api/v1/audit?limit=3").await;
    let before = first["next_before"].as_i64().unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["items"][2]["id"], before);
    let next = get(
        &f,
        "admin",
        &format!("/api/v1/audit?limit=3&before={before}"),
    )
    .await;
    assert!(
        next["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_i64().unwrap() < before),
        "{next}"
    );
    assert_eq!(next["items"][0]["id"].as_i64(), Some(before - 1));
}

async fn sessions_need_csrf_and_end_at_sign_out(store: Store) {
    let f = fixture(store).await;
    let (status, body, headers) = send(
        &f.app,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": "Admin", "password": "correct horse battery staple"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let with_cookie = |method: &str, path: &str, csrf: Option<&str>, body: Option<&Value>| {
        let mut r = request(method, path, None, body);
        r.headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        if let Some(c) = csrf {
            r.headers_mut().insert("x-csrf-token", c.parse().unwrap());
        }
        r
    };
    let (status, me, _) = send(&f.app, with_cookie("GET", "/api/v1/me", None, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["user"]["name"].as_str(), me["csrf_token"].as_str()),
        (Some("admin"), Some(csrf.as_str()))
    );
    let action = json!({"action": "comment", "text": "via the browser"});
    let (status, body, _) = send(
        &f.app,
        with_cookie("POST", "/api/v1/items/MC2/actions", None, Some(&action)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token: {body}");
    let (status, body, _) = send(
        &f.app,
        with_cookie(
            "POST",
            "/api/v1/items/MC2/actions",
            Some("wrong"),
            Some(&action),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong CSRF token: {body}");
    let (status, body, _) = send(
        &f.app,
        with_cookie(
            "POST",
            "/api/v1/items/MC2/actions",
            Some(&csrf),
            Some(&action),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let log = body["log"].as_array().unwrap();
    assert_eq!(log.last().unwrap()["actor"], "admin");
    let (status, _, _) = send(
        &f.app,
        with_cookie("DELETE", "/api/v1/session", Some(&csrf), None),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(&f.app, with_cookie("GET", "/api/v1/me", None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session ended");
    // sign-ins and the failed one are audited
    let audit = f.store.audit_log(50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"session.sign_in") && actions.contains(&"session.sign_out"),
        "{actions:?}"
    );
}

/// A sign-in cannot grow the audit log or the limiter with a huge name, and
/// when every hashing permit is taken it is answered 503 with Retry-After
/// instead of queueing another 19 MiB hash.
async fn unauthenticated_sign_ins_are_bounded(store: Store) {
    let f = fixture(store).await;
    let before = f.store.audit_log(1000).await.unwrap().len();
    let huge = "n".repeat(100_000);
    let (status, body, _) = send(
        &f.app,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": huge, "password": "x"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        f.store.audit_log(1000).await.unwrap().len(),
        before,
        "nothing audited"
    );
    // entries stored before names were bounded are shown clipped
    f.store
        .record_audit(
            &huge,
            "session.sign_in_failed",
            &huge,
            &json!({ "name": huge }),
            &at(NOW),
        )
        .await
        .unwrap();
    let page = get(&f, "admin", "/api/v1/audit?limit=1").await;
    let entry = &page["items"][0];
    assert_eq!(
        entry["target"].as_str().unwrap().chars().count(),
        257,
        "{entry:.300}"
    );
    assert_eq!(entry["detail"]["truncated"], true);
    assert!(
        page.to_string().len() < 10_000,
        "{}",
        page.to_string().len()
    );
    // every permit taken: the next sign-in waits a moment, then 503
    let all = f.state.hashing.available_permits() as u32;
    let held = f
        .state
        .hashing
        .clone()
        .acquire_many_owned(all)
        .await
        .unwrap();
    let resp = f
        .app
        .clone()
        .oneshot(request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": "admin", "password": "correct horse battery staple"})),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    drop(held);
    let (status, body, _) = send(
        &f.app,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": "admin", "password": "correct horse battery staple"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn failed_sign_ins_are_limited(store: Store) {
    let f = fixture(store).await;
    for i in 0..5 {
        let (status, _, _) = send(
            &f.app,
            request(
                "POST",
                "/api/v1/session",
                None,
                Some(&json!({"name": "admin", "password": format!("wrong {i}")})),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body, _) = send(
        &f.app,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": "admin", "password": "correct horse battery staple"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let audit = f.store.audit_log(50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "session.sign_in_failed")
            .count(),
        5
    );
}

/// A sign-in from `ip` (the router's peer address).
fn sign_in_from(ip: [u8; 4], name: &str, password: &str) -> Request<Body> {
    let mut req = request(
        "POST",
        "/api/v1/session",
        None,
        Some(&json!({"name": name, "password": password})),
    );
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40000,
        ))));
    req
}

async fn sign_in_delays_slow_guessing_without_locking_the_owner(store: Store) {
    let f = fixture(store).await;
    // a clock the test moves
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock = offset.clone();
    let state = AppState::new(
        f.store.clone(),
        Settings {
            secure_cookies: false,
            sign_in_client_attempts: 8,
            ..Settings::default()
        },
    )
    .with_clock(move || {
        let secs = clock.load(std::sync::atomic::Ordering::SeqCst);
        changedesk_core::Timestamp::from_datetime(
            at(NOW).as_datetime() + time::Duration::seconds(secs),
        )
    });
    let app = http::router(state, true);
    let wait = |s: i64| offset.fetch_add(s, std::sync::atomic::Ordering::SeqCst);
    let good = "correct horse battery staple";
    let audited = |f: &Fixture| {
        let store = f.store.clone();
        async move {
            store
                .audit_log(1000)
                .await
                .unwrap()
                .iter()
                .filter(|a| a.action == "session.sign_in_failed")
                .count()
        }
    };
    // someone guesses the admin's password from one address: five tries
    for i in 0..5 {
        let resp = app
            .clone()
            .oneshot(sign_in_from([10, 0, 0, 1], "admin", &format!("guess {i}")))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(audited(&f).await, 5);
    // that address is refused for the account; the admin, elsewhere, only
    // waits a second (not five minutes)
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 0, 0, 1], "admin", good))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 0, 0, 2], "admin", good))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    wait(1);
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 0, 0, 2], "admin", good))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the owner signs in");
    let admin = f.store.user_by_name("admin").await.unwrap().unwrap();
    assert_eq!(admin.failed_sign_ins, 0, "a success clears the count");

    // guesses from many addresses: each failure beyond five doubles the
    // wait, up to a minute; a refused attempt costs no hash and counts not
    let mut waits = Vec::new();
    for i in 0..12u8 {
        let mut resp = app
            .clone()
            .oneshot(sign_in_from([10, 1, 0, i], "admin", "guess"))
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            let secs: i64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            waits.push(secs);
            wait(secs);
            resp = app
                .clone()
                .oneshot(sign_in_from([10, 1, 0, i], "admin", "guess"))
                .await
                .unwrap();
        }
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60]);
    // the owner waits at most a minute, then signs in
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 0, 0, 2], "admin", good))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "60");
    wait(60);
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 0, 0, 2], "admin", good))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // an admin unlocks an account: no wait
    for i in 0..7u8 {
        let _ = app
            .clone()
            .oneshot(sign_in_from([10, 3, 0, i], "owen", "guess"))
            .await
            .unwrap();
    }
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 4, 0, 1], "owen", "guess"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let (status, body, _) = send(
        &app,
        request(
            "POST",
            "/api/v1/users/owen/unlock",
            token(&f, "admin").as_deref(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["failed_sign_ins"], 0, "{body}");
    let resp = app
        .clone()
        .oneshot(sign_in_from([10, 4, 0, 1], "owen", "guess"))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "tried again at once"
    );
    let log = f.store.audit_log(1000).await.unwrap();
    assert!(
        log.iter()
            .any(|a| a.action == "user.unlock" && a.target == "owen")
    );

    // one address spraying names over many accounts: limited across them,
    // and names no account has are not stored
    let stored = audited(&f).await;
    let mut refused = false;
    for i in 0..10 {
        let resp = app
            .clone()
            .oneshot(sign_in_from([10, 9, 9, 9], &format!("nobody-{i}"), "guess"))
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(refused, "one address may not guess on and on");
    assert_eq!(audited(&f).await, stored, "unknown names are not audited");
}

async fn tokens_stay_within_their_limits(store: Store) {
    let f = fixture(store).await;
    // the admin makes a reader token limited to one tenant
    let (status, created, _) = call(
        &f,
        "admin",
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "ro", "role": "reader", "tenants": ["alpha"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ro = created["secret"].as_str().unwrap().to_string();
    let ro_id = created["id"].as_i64().unwrap();
    let (_, mine, _) = call(&f, "admin", "GET", "/api/v1/tokens", None).await;
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert!(ids(&mine).len() >= 2, "{mine}");
    // the limited token sees and may revoke only tokens within its limits
    let (status, seen, _) = send(&f.app, request("GET", "/api/v1/tokens", Some(&ro), None)).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(ids(&seen), vec![ro_id], "{seen}");
    for id in ids(&mine).into_iter().filter(|i| *i != ro_id) {
        let (status, body, _) = send(
            &f.app,
            request("DELETE", &format!("/api/v1/tokens/{id}"), Some(&ro), None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "revoking token {id}: {body}");
    }
    let (status, _, _) = call(&f, "admin", "GET", "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK, "the admin token still works");
    // scopes name tenants and groups that exist, a bounded number of them
    for body in [
        json!({"name": "x", "tenants": ["alpha", "no-such-tenant"]}),
        json!({"name": "x", "tenant_groups": ["no-such-group"]}),
        json!({"name": "x", "tenants": (0..10_001).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
    ] {
        let (status, answer, _) = call(&f, "admin", "POST", "/api/v1/tokens", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    let (status, answer, _) = call(
        &f,
        "admin",
        "POST",
        "/api/v1/users",
        Some(
            json!({"name": "newbie", "role": "reader", "password": "a long enough password",
            "tenants": ["no-such-tenant"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("no-such-tenant"),
        "{answer}"
    );
    let (status, answer, _) = call(
        &f,
        "admin",
        "PATCH",
        "/api/v1/users/reader",
        Some(json!({"tenants": ["alpha", "no-such-tenant"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

async fn metrics_are_for_admins_on_the_main_listener(store: Store) {
    let mut f = fixture(store).await;
    let state = AppState::new(
        f.store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(NOW))
    .with_metrics(http::metrics::Metrics::global());
    f.app = http::router(state.clone(), true);
    for (role, want) in [
        ("anonymous", StatusCode::UNAUTHORIZED),
        ("reader", StatusCode::FORBIDDEN),
        ("scoped", StatusCode::FORBIDDEN),
        ("admin", StatusCode::OK),
    ] {
        let (status, body, _) = call(&f, role, "GET", "/metrics", None).await;
        assert_eq!(status, want, "GET /metrics as {role}: {body}");
        if want == StatusCode::OK {
            assert!(
                body.as_str().unwrap_or("").contains("changedesk_tenants"),
                "{body}"
            );
        }
    }
    // its own listener (`--metrics-listen`) serves it without sign-in
    let (status, body, _) = send(
        &http::metrics_router(state),
        request("GET", "/metrics", None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // and without metrics enabled there is nothing to see
    let (status, _, _) = send(
        &http::router(f.state.clone(), true),
        request("GET", "/metrics", token(&f, "admin").as_deref(), None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn probes_answer_without_signing_in(store: Store) {
    let f = fixture(store).await;
    for (path, text) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let (status, body, _) = send(&f.app, request("GET", path, None, None)).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, Value::String(text.into())),
            "{path}"
        );
    }
}

/// A NUL in a path, query string or body is refused with 400 before any
/// handler runs (on PostgreSQL it failed the handler's statement: 500),
/// signed in or not; a JSON text `\\u0000` (a backslash and `u0000`) is not
/// a NUL and goes through.
async fn nul_in_requests_is_refused_before_any_handler(store: Store) {
    let f = fixture(store).await;
    let admin = f.tokens[1].as_deref();
    let json_cases: Vec<(&str, &str, Option<&str>, Option<Value>)> = vec![
        ("GET", "/api/v1/posts/MC%001", admin, None),
        ("GET", "/api/v1/posts/MC1/revisions/1?x=%00", admin, None),
        ("GET", "/api/v1/posts?q=team%00s", admin, None),
        ("GET", "/api/v1/posts/facets?service=a%00", admin, None),
        ("GET", "/api/v1/items?assignee=%00", admin, None),
        ("GET", "/api/v1/users/a%00b", admin, None),
        ("GET", "/api/v1/rules/r%00", admin, None),
        ("GET", "/api/v1/tenants/alpha%00", None, None),
        (
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"name": "admin\u{0}", "password": "x"})),
        ),
        (
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"name": "admin", "password": "a\u{0}"})),
        ),
        (
            "PUT",
            "/api/v1/owners/a%00b",
            admin,
            Some(json!({"display_name": "A", "email": "a@example.com"})),
        ),
        (
            "PUT",
            "/api/v1/owners/ab",
            admin,
            Some(json!({"display_name": "A\u{0}", "email": "a@example.com"})),
        ),
        (
            "POST",
            "/api/v1/users",
            admin,
            Some(
                json!({"name": "nul\u{0}", "display_name": "x", "email": "x@example.com", "role": "reader"}),
            ),
        ),
        (
            "POST",
            "/api/v1/items/MC1/actions",
            admin,
            Some(json!({"action": "comment", "text": "a\u{0}b"})),
        ),
        (
            "POST",
            "/api/v1/rules/test",
            admin,
            Some(json!({"rule": "x\u{0}"})),
        ),
    ];
    let mut requests: Vec<(String, Request<Body>)> = json_cases
        .into_iter()
        .map(|(m, p, t, b)| (format!("{m} {p}"), request(m, p, t, b.as_ref())))
        .collect();
    let form = |uri: &str, body: &'static [u8]| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    requests.push((
        "UI sign-in, %00".into(),
        form("/sign-in", b"name=admin%00&password=x&token=t"),
    ));
    requests.push((
        "UI sign-in, raw NUL".into(),
        form("/sign-in", b"name=ad\0min&password=x&token=t"),
    ));
    requests.push((
        "UI sign-in page".into(),
        request("GET", "/sign-in?next=/posts/MC%001", None, None),
    ));
    for (what, req) in requests {
        let (status, body, headers) = send(&f.app, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{what}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains("NUL character"),
            "{what}: {body}"
        );
    }
    // not a NUL: a backslash and the text u0000
    let (status, body, _) = send(
        &f.app,
        request(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"name": "admin", "password": "\\u0000"})),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let audit = f.store.audit_log(100).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "session.sign_in_failed")
            .count(),
        1,
        "refused requests reached no handler"
    );
}

/// `/readyz` answers 503 while the archive cannot be written (here: full,
/// with SQLite's `max_page_count`), and 200 again once it can, without a
/// restart; a write that fails for want of space says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_whether_the_archive_can_be_written() {
    let t = changedesk_store::testing::TestStore::sqlite().await;
    let f = fixture(t.store.clone()).await;
    let ready =
        |app: Router| async move { send(&app, request("GET", "/readyz", None, None)).await };
    assert_eq!(ready(f.app.clone()).await.0, StatusCode::OK);
    f.store.sqlite_limit_pages(1).await.unwrap();
    let big: Vec<Message> = (0..20)
        .map(|i| {
            post(
                &format!("MCBIG{i}"),
                "2026-03-01T00:00:00Z",
                &"x".repeat(20_000),
            )
        })
        .collect();
    let e = f
        .store
        .import_messages("alpha", &big, &opts("2026-03-09T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("disk is full"), "{e}");
    for _ in 0..2 {
        let (status, body, _) = ready(f.app.clone()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body.as_str().unwrap().contains("disk is full"), "{body}");
    }
    // reads still work meanwhile
    let (status, _, _) = send(
        &f.app,
        request("GET", "/api/v1/posts", f.tokens[1].as_deref(), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    f.store.sqlite_limit_pages(1_000_000).await.unwrap();
    let (status, body, _) = ready(f.app.clone()).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Value::String("ready".into()))
    );
    f.store
        .import_messages("alpha", &big, &opts("2026-03-09T00:00:00Z"))
        .await
        .unwrap();
    t.finish().await;
}

async fn posts_filter_on_work_items_and_tenant_groups(store: Store) {
    let f = fixture(store).await;
    let ids = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    };
    // MC1 and MC2 get an act-by date (5 March) after changedesk first saw
    // them (1 and 2 March): missed at NOW, so not overdue; their January
    // start was before, so it was no deadline. MC3 is done: never late.
    for (tenant, id, title) in [
        ("alpha", "MC1", "(Updated) Teams: meeting recap"),
        ("beta", "MC1", "(Updated) Teams: meeting recap"),
        ("beta", "MC2", "Beta only"),
    ] {
        let mut v = post_value(id, "2026-03-03T00:00:00Z", title);
        v["actionRequiredByDateTime"] = json!("2026-03-05T00:00:00Z");
        f.store
            .import_messages(
                tenant,
                &[Message::from_graph(&v, 0).unwrap()],
                &ImportOptions {
                    complete: false,
                    ..opts("2026-03-03T00:00:00Z")
                },
            )
            .await
            .unwrap();
    }
    let mut mc3 = f.store.work_item("MC3").await.unwrap().unwrap();
    mc3.item.state = changedesk_core::triage::State::Done;
    f.store
        .save_work_item(&ItemSave {
            item: &mc3.item,
            expected_version: Some(mc3.version),
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: at(NOW),
        })
        .await
        .unwrap();
    for (role, query, want) in [
        ("owen", "assignee=me", &["MC1"][..]),
        ("admin", "assignee=OWEN", &["MC1"]),
        ("admin", "assignee=none", &["MC2"]),
        ("admin", "assignee=nobody", &[]),
        ("admin", "item_state=new", &["MC1", "MC2"]),
        ("admin", "item_state=closed", &["MC3"]),
        ("admin", "item_state=open,done", &["MC1", "MC2", "MC3"]),
        ("admin", "changed=false", &["MC1", "MC2", "MC3"]),
        ("admin", "changed=true", &[]),
        ("admin", "deadline=missed", &["MC1", "MC2"]),
        ("admin", "deadline=overdue", &[]),
        ("admin", "tenant_group=eu", &["MC1", "MC3"]),
        ("admin", "tenant_group=EU&assignee=none", &[]),
        ("admin", "tenant_group=eu&deadline=missed", &["MC1"]),
        // a group never widens a scope
        ("scoped", "tenant_group=eu", &["MC1", "MC3"]),
        ("scoped", "deadline=missed", &["MC1"]),
    ] {
        let v = get(
            &f,
            role,
            &format!("/api/v1/posts?{query}&include_total=true"),
        )
        .await;
        assert_eq!(ids(&v), want, "{role}: {query}");
        assert_eq!(v["total"], json!(want.len()), "{role}: {query}");
    }
    // each post with its item
    let v = get(&f, "admin", "/api/v1/posts").await;
    let item = |id: &str| {
        let p = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone();
        (p["item_state"].clone(), p.get("assignee").cloned())
    };
    assert_eq!(item("MC1"), (json!("new"), Some(json!("owen"))));
    assert_eq!(item("MC2"), (json!("new"), None));
    assert_eq!(item("MC3"), (json!("done"), Some(json!("manager"))));
    // the facets
    let v = get(&f, "admin", "/api/v1/posts/facets").await;
    assert_eq!(
        v["assignee"],
        json!([{"value": "manager", "count": 1}, {"value": "none", "count": 1},
               {"value": "owen", "count": 1}])
    );
    assert_eq!(
        v["item_state"],
        json!([{"value": "new", "count": 2}, {"value": "done", "count": 1}])
    );
    assert_eq!(v["tenant_group"], json!([{"value": "eu", "count": 2}]));
    // the group's count is the same whichever group the query names
    let v = get(
        &f,
        "admin",
        "/api/v1/posts/facets?tenant_group=eu&item_state=new",
    )
    .await;
    assert_eq!(v["tenant_group"], json!([{"value": "eu", "count": 1}]));
    assert_eq!(v["item_state"], json!([{"value": "new", "count": 1}]));
    // what is wrong is said
    for (query, says) in [
        ("item_state=sideways", "item_state"),
        (
            "deadline=late",
            "deadline `late` is not one of overdue, missed",
        ),
        ("tenant_group=nosuch", "there is no tenant group `nosuch`"),
        ("changed=maybe", "changed"),
    ] {
        for path in ["/api/v1/posts", "/api/v1/posts/facets"] {
            let (status, body, headers) =
                call(&f, "admin", "GET", &format!("{path}?{query}"), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?{query}: {body}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
            assert!(
                body["detail"].as_str().unwrap_or("").contains(says),
                "{path}?{query}: {body}"
            );
        }
    }
}

/// The post list and facets are answered from the cache until a write: per
/// caller's rights, never across them; a revoked token is refused even with
/// its answer kept; another process's write is seen after the poll; an
/// answer that depends on the time expires after the ttl; off means no
/// cache.
async fn answers_are_cached_per_caller_until_a_write(store: Store) {
    let f = fixture(store).await;
    let cache = |h: &axum::http::HeaderMap| {
        h.get(http::cache::CACHE_HEADER)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let assignee = |v: &Value, id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["assignee"].clone())
    };
    // the admin's token limited to alpha (made before any answer is kept)
    let secret = format!("cdk_{}", new_secret());
    f.store
        .create_token(
            &NewToken {
                user: "admin".into(),
                name: "alpha only".into(),
                token_hash: hash_secret(&secret),
                prefix: secret[..10].to_string(),
                role: Role::Admin,
                scope: Scope {
                    tenants: vec!["alpha".into()],
                    groups: vec![],
                },
                created_at: at(NOW),
                expires_at: None,
            },
            "test",
        )
        .await
        .unwrap();
    // a second change manager with the same rights as `manager`
    let manager2 = user(
        &f.store,
        "manager2",
        Role::ChangeManager,
        Scope::default(),
        None,
    )
    .await;
    let path = "/api/v1/posts?limit=10";
    let (status, first, h) = call(&f, "admin", "GET", path, None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(cache(&h), "miss");
    let (_, again, h) = call(&f, "admin", "GET", path, None).await;
    assert_eq!(cache(&h), "hit");
    assert_eq!(again, first);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    // another query, another caller's rights: made for them
    let (_, _, h) = call(&f, "admin", "GET", "/api/v1/posts?limit=9", None).await;
    assert_eq!(cache(&h), "miss");
    let (_, scoped, h) = call(&f, "scoped", "GET", path, None).await;
    assert_eq!(cache(&h), "miss");
    assert!(
        assignee(&scoped, "MC2").is_none(),
        "beta's post leaked: {scoped}"
    );
    assert_eq!(scoped["items"].as_array().unwrap().len(), 2, "{scoped}");
    // the same user and role with a narrower scope: not the admin's answer
    let (_, narrow, h) = send(&f.app, request("GET", path, Some(&secret), None)).await;
    assert_eq!(cache(&h), "miss");
    assert!(
        assignee(&narrow, "MC2").is_none(),
        "beta's post leaked: {narrow}"
    );
    // people with the same rights share an answer, unless it names the
    // caller (`assignee=me`)
    let (_, managers, h) = call(&f, "manager", "GET", path, None).await;
    assert_eq!(cache(&h), "miss");
    let (_, shared, h) = send(&f.app, request("GET", path, Some(&manager2), None)).await;
    assert_eq!(cache(&h), "hit");
    assert_eq!(shared, managers);
    let mine = "/api/v1/posts?assignee=me";
    let (_, manager_mine, h) = call(&f, "manager", "GET", mine, None).await;
    assert_eq!(cache(&h), "miss");
    assert_eq!(manager_mine["items"][0]["id"], "MC3", "{manager_mine}");
    let (_, other_mine, h) = send(&f.app, request("GET", mine, Some(&manager2), None)).await;
    assert_eq!(cache(&h), "miss");
    assert_eq!(other_mine["items"], json!([]), "{other_mine}");
    let (_, again, h) = call(&f, "manager", "GET", mine, None).await;
    assert_eq!(cache(&h), "hit");
    assert_eq!(again, manager_mine);
    let mine_facets = "/api/v1/posts/facets?assignee=ME";
    let (_, a, _) = call(&f, "manager", "GET", mine_facets, None).await;
    let (_, b, h) = send(&f.app, request("GET", mine_facets, Some(&manager2), None)).await;
    assert_eq!(cache(&h), "miss");
    assert_ne!(a, b);
    let (_, facets, h) = call(&f, "scoped", "GET", "/api/v1/posts/facets", None).await;
    assert_eq!(cache(&h), "miss");
    let (_, _, h) = call(&f, "scoped", "GET", "/api/v1/posts/facets", None).await;
    assert_eq!(cache(&h), "hit");
    assert!(!facets.to_string().contains("beta"), "{facets}");
    // a write of this process (assigning MC2): the next answer is new
    assert_eq!(assignee(&first, "MC2"), Some(Value::Null));
    // an owner that does not exist is refused, and nothing changes
    for owner in ["nobody", "Collab2", "日本語"] {
        let (status, body, _) = call(
            &f,
            "manager",
            "POST",
            "/api/v1/items/MC2/actions",
            Some(json!({"action": "assign", "owner": owner})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{owner}: {body}");
        assert!(body.to_string().contains("no owner is named"), "{body}");
    }
    let (status, body, _) = call(
        &f,
        "manager",
        "POST",
        "/api/v1/items/MC2/actions",
        Some(json!({"action": "assign", "owner": "collab"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, after, h) = call(&f, "admin", "GET", path, None).await;
    assert_eq!(cache(&h), "miss");
    assert_eq!(assignee(&after, "MC2"), Some(json!("collab")));
    // a revoked token is refused, though its answer is kept
    let (_, _, h) = call(&f, "reader", "GET", path, None).await;
    assert_eq!(cache(&h), "miss");
    let (_, _, h) = call(&f, "reader", "GET", path, None).await;
    assert_eq!(cache(&h), "hit");
    for t in f.store.tokens(Some("reader")).await.unwrap() {
        f.store.revoke_token(t.id, "test", &at(NOW)).await.unwrap();
    }
    let (status, _, _) = call(&f, "reader", "GET", path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // another process's write is seen once the archive's count of writes
    // has been read again (at most every `poll`); the time alone, after `ttl`
    let app = |ttl: u64, poll: u64| {
        http::router(
            AppState::new(
                f.store.clone(),
                Settings {
                    cache: http::cache::CacheSettings {
                        bytes: 1 << 20,
                        ttl: std::time::Duration::from_millis(ttl),
                        poll: std::time::Duration::from_millis(poll),
                    },
                    ..Settings::default()
                },
            )
            .with_clock(|| at(NOW)),
            true,
        )
    };
    let admin = token(&f, "admin");
    let get = |app: Router| {
        let admin = admin.clone();
        async move { send(&app, request("GET", path, admin.as_deref(), None)).await }
    };
    let polled = app(60_000, 1_000);
    let (_, before, h) = get(polled.clone()).await;
    assert_eq!(cache(&h), "miss");
    let other = Store::open(f.store.location(), changedesk_store::OpenMode::ReadWrite)
        .await
        .unwrap();
    let stored = other.work_item("MC2").await.unwrap().unwrap();
    let version = stored.version;
    let mut item = stored.item;
    item.assignee = None;
    other
        .save_work_item(&ItemSave {
            item: &item,
            expected_version: Some(version),
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: at(NOW),
        })
        .await
        .unwrap();
    other.close().await;
    let (_, stale, h) = get(polled.clone()).await;
    assert_eq!(cache(&h), "hit");
    assert_eq!(stale, before);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_, fresh, h) = get(polled.clone()).await;
    assert_eq!(cache(&h), "miss");
    assert_eq!(assignee(&fresh, "MC2"), Some(Value::Null), "{fresh}");
    // an answer that depends on the time (deadline) expires after the ttl;
    // the others are kept until a write
    let short = app(200, 60_000);
    let get_path = |app: Router, path: &'static str| {
        let admin = admin.clone();
        async move { send(&app, request("GET", path, admin.as_deref(), None)).await }
    };
    let timed = "/api/v1/posts?limit=10&deadline=overdue";
    for (p, expect) in [
        (timed, "miss"),
        (timed, "hit"),
        (path, "miss"),
        (path, "hit"),
    ] {
        let (status, body, h) = get_path(short.clone(), p).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(cache(&h), expect, "{p}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    for (p, expect) in [(timed, "miss"), (path, "hit")] {
        let (_, _, h) = get_path(short.clone(), p).await;
        assert_eq!(cache(&h), expect, "{p}");
    }

    // off: every answer is made for its request
    let off = http::router(
        AppState::new(
            f.store.clone(),
            Settings {
                cache: http::cache::CacheSettings::off(),
                ..Settings::default()
            },
        )
        .with_clock(|| at(NOW)),
        true,
    );
    for _ in 0..2 {
        let (status, _, h) = get(off.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cache(&h), "");
    }
    // and a limited caller's scope is resolved without it
    let (status, scoped, _) = send(
        &off,
        request("GET", path, token(&f, "scoped").as_deref(), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{scoped}");
    assert!(
        assignee(&scoped, "MC2").is_none(),
        "beta's post leaked: {scoped}"
    );
    assert_eq!(scoped["items"].as_array().unwrap().len(), 2, "{scoped}");
}

/// Tenant groups, the ownership map and rules as a tenant-limited caller
/// sees them: what concerns its tenants, never another tenant's name.
async fn configuration_is_redacted_for_tenant_limited_callers(store: Store) {
    let f = fixture(store).await;
    for (path, body) in [
        (
            "/api/v1/tenant-groups/both",
            json!({"include": ["alpha", "beta"]}),
        ),
        (
            "/api/v1/tenant-groups/west",
            json!({"include": ["beta", "be*"], "exclude": ["beta-lab"]}),
        ),
    ] {
        let (status, b, _) = call(&f, "admin", "PUT", path, Some(body)).await;
        assert!(status.is_success(), "{path}: {b}");
    }
    let (status, b, _) = call(
        &f,
        "admin",
        "PUT",
        "/api/v1/rules/high-for-one",
        Some(json!({"when": "tenant == \"beta\"", "then": {"priority": "high"}})),
    )
    .await;
    assert!(status.is_success(), "{b}");
    let (_, all, _) = call(&f, "admin", "GET", "/api/v1/tenant-groups", None).await;
    assert!(all.to_string().contains("be*"), "{all}");
    for path in [
        "/api/v1/tenant-groups",
        "/api/v1/ownership",
        "/api/v1/rules",
        "/api/v1/rules/high-for-one",
    ] {
        let (status, body, _) = call(&f, "scoped", "GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains("beta") && !text.contains("be*"),
            "{path} leaks: {text}"
        );
    }
    let (_, groups, _) = call(&f, "scoped", "GET", "/api/v1/tenant-groups", None).await;
    let both = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "both")
        .expect("a group holding alpha is listed");
    assert_eq!(both["include"], json!(["alpha"]), "{groups}");
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "west"),
        "{groups}"
    );
    // a shared item offers scoped actions for its own tenant only
    let (_, mc1, _) = call(&f, "scoped", "GET", "/api/v1/items/MC1", None).await;
    assert_eq!(mc1["for_tenants_only"], json!(true), "{mc1}");
    assert_eq!(
        mc1["tenant_states"]["new"],
        json!(1),
        "only alpha is counted: {mc1}"
    );
    let (_, mc3, _) = call(&f, "scoped", "GET", "/api/v1/items/MC3", None).await;
    assert!(
        !mc3["allowed_actions"].as_array().unwrap().is_empty(),
        "{mc3}"
    );
    // the unrestricted still read every condition
    let (_, rule, _) = call(&f, "manager", "GET", "/api/v1/rules/high-for-one", None).await;
    assert_eq!(rule["when"], "tenant == \"beta\"", "{rule}");
}

/// Every action the OpenAPI document describes, with every value of its
/// enums, is accepted by the server (the body fits: 200, or 409 where the
/// item's state does not allow it); values it does not list are refused.
async fn every_documented_action_is_accepted(store: Store) {
    let f = fixture(store).await;
    // a pilot finding names a pilot group that exists
    f.store
        .save_pilot_group(
            &changedesk_store::PilotGroup {
                name: "early".into(),
                description: String::new(),
                workloads: vec!["Exchange Online".into()],
                members: Vec::new(),
                channel: String::new(),
            },
            "test",
            at(NOW),
        )
        .await
        .unwrap();
    let doc = serde_json::to_value(http::openapi()).unwrap();
    let actions = doc["components"]["schemas"]["ActionRequest"]["oneOf"]
        .as_array()
        .expect("ActionRequest is one schema per action")
        .clone();
    assert!(actions.len() >= 15, "{actions:?}");
    for a in &actions {
        let name = a["properties"]["action"]["enum"][0].as_str().unwrap();
        let mut bodies = vec![json!({"action": name})];
        for (arg, s) in a["properties"].as_object().unwrap() {
            // whom it is for: tried below
            if arg == "action" || arg == "version" || arg == "tenants" || arg == "group" {
                continue;
            }
            let values: Vec<Value> = match s["enum"].as_array() {
                Some(e) => e.clone(),
                None => match s["type"].to_string() {
                    t if t.contains("boolean") => vec![json!(true)],
                    _ if s["format"] == "date-time" => vec![json!("2026-12-01T09:00:00Z")],
                    _ if arg == "tenant" => vec![json!("alpha")],
                    _ if arg == "owner" || arg == "assignee" => vec![json!("collab")],
                    _ if arg == "pilot_group" => vec![json!("early")],
                    _ => vec![json!("a reason")],
                },
            };
            let mut next = Vec::new();
            for b in &bodies {
                for v in &values {
                    let mut b = b.clone();
                    b[arg] = v.clone();
                    next.push(b);
                }
            }
            bodies = next;
        }
        // for some tenants: beta (which sees MC2), or its group
        if a["properties"].get("tenants").is_some() {
            let mut more = Vec::new();
            for b in &bodies {
                let mut t = b.clone();
                t["tenants"] = json!(["beta"]);
                more.push(t);
            }
            bodies.extend(more);
        }
        for body in bodies {
            let (status, answer, _) = call(
                &f,
                "admin",
                "POST",
                "/api/v1/items/MC2/actions",
                Some(body.clone()),
            )
            .await;
            assert!(
                status == StatusCode::OK || status == StatusCode::CONFLICT,
                "{body} is documented but answered {status}: {answer}"
            );
        }
    }
    // an override names a tenant that exists
    let (status, answer, _) = call(
        &f,
        "admin",
        "POST",
        "/api/v1/items/MC2/actions",
        Some(json!({"action": "set_override", "tenant": "no-such-tenant", "note": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    for body in [
        json!({"action": "close", "decision": "no_action"}),
        json!({"action": "close", "decision": "accepted_risk"}),
        json!({"action": "set_priority", "priority": "urgent"}),
        json!({"action": "explode"}),
    ] {
        let (status, answer, _) = call(
            &f,
            "admin",
            "POST",
            "/api/v1/items/MC2/actions",
            Some(body.clone()),
        )
        .await;
        assert!(
            status.is_client_error() && status != StatusCode::CONFLICT,
            "{body}: {status} {answer}"
        );
    }
}

both!(
    sign_in_delays_slow_guessing_without_locking_the_owner,
    tokens_stay_within_their_limits,
    metrics_are_for_admins_on_the_main_listener,
    unauthenticated_sign_ins_are_bounded,
    every_documented_action_is_accepted,
    configuration_is_redacted_for_tenant_limited_callers,
    nul_in_requests_is_refused_before_any_handler,
    answers_are_cached_per_caller_until_a_write,
    probes_answer_without_signing_in,
    posts_filter_on_work_items_and_tenant_groups,
    authorization_matrix,
    scope_hides_other_tenants_everywhere,
    sessions_need_csrf_and_end_at_sign_out,
    failed_sign_ins_are_limited,
    tokens_are_shown_once_and_changes_are_audited,
);

/// Every route in the OpenAPI document is in the matrix, and every matrix
/// route is in the document.
#[test]
fn the_matrix_covers_every_route() {
    let doc = serde_json::to_value(http::openapi()).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut tested: Vec<(String, String)> = matrix()
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_string()))
        .collect();
    tested.sort();
    tested.dedup();
    assert_eq!(
        documented, tested,
        "routes documented vs in the authorization matrix"
    );
}

/// The OpenAPI document as committed: a change to the API shows in review.
/// `CHANGEDESK_UPDATE_SNAPSHOTS=1` rewrites it.
#[test]
fn the_openapi_document_is_as_committed() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/server/openapi.json");
    let now = serde_json::to_string_pretty(&http::openapi()).unwrap() + "\n";
    if std::env::var("CHANGEDESK_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "the OpenAPI document changed; review it and rerun with CHANGEDESK_UPDATE_SNAPSHOTS=1 to accept ({})",
        path.display()
    );
}
