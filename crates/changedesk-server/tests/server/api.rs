//! The REST API in-process (no TCP), on SQLite and PostgreSQL: the
//! authorization matrix (every endpoint × every role × in-scope and
//! out-of-scope tenants, written out by hand), sessions with CSRF, and the
//! OpenAPI document (a snapshot, and every route in it and in the matrix).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use changedesk_core::graph::Message;
use changedesk_core::triage::WorkItem;
use changedesk_server::http::auth::{hash_secret, new_secret};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_store::{ImportOptions, ItemSave, NewToken, NewUser, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const NOW: &str = "2026-03-10T09:00:00Z";

fn post(id: &str, last_modified: &str, title: &str) -> Message {
    let v = json!({
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
    });
    Message::from_graph(&v, 0).unwrap()
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

struct Fixture {
    app: Router,
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
/// nobody, MC3 to manager.
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
        store
            .save_work_item(&ItemSave {
                item: &item,
                expected_version: None,
                evaluated_revision: None,
                entries: &[],
                notify: &[],
                at: at(NOW),
            })
            .await
            .unwrap();
    }
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
    let state = AppState::new(
        store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(NOW));
    Fixture {
        app: http::router(state, true),
        store,
        tokens,
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
        // MC1 is owen's and alpha sees it
        Row {
            method: "POST",
            route: "/api/v1/items/{id}/actions",
            path: "/api/v1/items/MC1/actions",
            body: comment(),
            expect: [401, 200, 200, 200, 403, 200],
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
        // sessions: an API token has none to end
        Row {
            method: "DELETE",
            route: "/api/v1/session",
            path: "/api/v1/session",
            body: None,
            expect: [401, 400, 400, 400, 400, 400],
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
    let all = get(&f, "reader", "/api/v1/posts").await;
    assert_eq!(
        (ids(&all), all["total"].as_i64()),
        (vec!["MC1".to_string(), "MC2".into(), "MC3".into()], Some(3))
    );
    let scoped = get(&f, "scoped", "/api/v1/posts").await;
    assert_eq!(
        (ids(&scoped), scoped["total"].as_i64()),
        (vec!["MC1".to_string(), "MC3".into()], Some(2))
    );
    // a search for the other tenant's post finds nothing, and says so by count
    let search = get(&f, "scoped", "/api/v1/posts?q=beta").await;
    assert_eq!(search["total"], 0, "{search}");
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

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = changedesk_store::testing::TestStore::sqlite().await;
                    super::$name(t.store.clone()).await;
                    t.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(t) = changedesk_store::testing::TestStore::postgres().await else { return };
                    super::$name(t.store.clone()).await;
                    t.finish().await;
                }
            }
        )*
    };
}

both!(
    authorization_matrix,
    scope_hides_other_tenants_everywhere,
    sessions_need_csrf_and_end_at_sign_out,
    failed_sign_ins_are_limited,
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
