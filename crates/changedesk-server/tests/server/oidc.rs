//! OpenID Connect sign-in end to end, on SQLite and PostgreSQL: the API
//! in-process, the simulator's mock Entra ID over HTTP. start → authorize
//! (at the simulator) → callback, and every way it must fail: a wrong
//! audience, issuer, nonce or key, an expired ID token, a replayed or
//! foreign state, no role, a wrong PKCE verifier, an open redirect. Every
//! refusal is audited. People in too many groups for a token (Entra's
//! groups overage) have their groups read from the simulator's Graph.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use changedesk_core::access::{Role, Scope};
use changedesk_core::config::{DEFAULT_APP_ROLES, OidcConfig};
use changedesk_server::http::oidc::Oidc;
use changedesk_server::http::{self, AppState, Settings};
use changedesk_sim::{
    CorpusSpec, IdTokenFault, MemberObjectsFault, SIM_CLIENT_ID, SIM_CLIENT_SECRET, SimConfig,
    SimHandle, SimUser,
};
use changedesk_store::testing::TestStore;
use changedesk_store::{NewUser, Store, UserUpdate};
use serde_json::{Value, json};
use tower::ServiceExt;

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = super::TestStore::sqlite().await;
                    super::$name(t.store.clone()).await;
                    t.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(t) = super::TestStore::postgres().await else { return };
                    super::$name(t.store.clone()).await;
                    t.finish().await;
                }
            }
        )*
    };
}

/// The public URL the server is configured with; the simulator accepts a
/// loopback redirect URI without registration.
const PUBLIC_URL: &str = "http://127.0.0.1:9/";
const GROUP_MANAGERS: &str = "7d0c6c5e-1c1e-4b5e-9a43-5f3a1b2c3d4e";

async fn sim() -> SimHandle {
    changedesk_sim::start(SimConfig {
        tenants: 1,
        spec: CorpusSpec {
            posts: 5,
            issues: 1,
            ..CorpusSpec::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &SimHandle) -> OidcConfig {
    OidcConfig {
        issuer: url::Url::parse(&sim.oidc_issuer("tenant-001").unwrap()).unwrap(),
        client_id: SIM_CLIENT_ID.to_string(),
        client_secret_file: "/run/secrets/unused".into(),
        client_secret: Some(SIM_CLIENT_SECRET.to_string().into()),
        public_url: url::Url::parse(PUBLIC_URL).unwrap(),
        allow_create: true,
        app_roles: DEFAULT_APP_ROLES
            .iter()
            .map(|(v, r)| (v.to_string(), *r))
            .collect(),
        groups: vec![(GROUP_MANAGERS.to_string(), Role::ChangeManager)],
        group_scopes: vec![],
        graph_url: Some(url::Url::parse(&format!("{}v1.0/", sim.base_url())).unwrap()),
    }
}

fn app(store: &Store, config: Option<OidcConfig>) -> Router {
    let mut state = AppState::new(
        store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    );
    if let Some(c) = config {
        state = state.with_oidc(Oidc::new(c).unwrap());
    }
    http::router(state, false)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    /// The value a `Set-Cookie` header gives `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix(&format!("{name}="))
                    .map(|rest| rest.split(';').next().unwrap_or("").to_string())
            })
    }

    fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or("")
    }
}

async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Answer {
    let mut req = Request::builder().uri(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A sign-in up to the provider's answer: the callback path (with code
/// and state) and the browser-binding cookie.
struct AtCallback {
    path: String,
    cookie: String,
}

/// Starts a sign-in at the server and lets the simulator sign `hint` in.
async fn to_callback(app: &Router, hint: &str, return_to: &str) -> AtCallback {
    let start = get(
        app,
        &format!("/api/v1/session/oidc?login_hint={hint}&return_to={return_to}"),
        None,
    )
    .await;
    assert_eq!(start.status, StatusCode::FOUND, "{}", start.body);
    assert_eq!(start.headers[header::CACHE_CONTROL], "no-store");
    let authorize = url::Url::parse(start.location()).unwrap();
    let q: std::collections::HashMap<String, String> = authorize
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], SIM_CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        format!("{PUBLIC_URL}api/v1/session/oidc/callback")
    );
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let state = start.cookie("changedesk_oidc").expect("a binding cookie");
    assert_eq!(q["state"], state);
    let r = browser().get(authorize).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FOUND);
    let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(back.path(), "/api/v1/session/oidc/callback");
    AtCallback {
        path: format!("{}?{}", back.path(), back.query().unwrap()),
        cookie: format!("changedesk_oidc={state}"),
    }
}

async fn callback(app: &Router, at: &AtCallback) -> Answer {
    get(app, &at.path, Some(&at.cookie)).await
}

/// A whole sign-in; on success, the session cookie for later requests.
async fn sign_in(app: &Router, hint: &str) -> (Answer, Option<String>) {
    let at = to_callback(app, hint, "/").await;
    let answer = callback(app, &at).await;
    let session = answer
        .cookie("changedesk_session")
        .filter(|v| !v.is_empty())
        .map(|v| format!("changedesk_session={v}"));
    (answer, session)
}

async fn me(app: &Router, session: &str) -> Value {
    let a = get(app, "/api/v1/me", Some(session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

/// The reasons of the audited refused OIDC sign-ins, oldest first.
async fn refusals(store: &Store) -> Vec<String> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action == "session.sign_in_failed" && e.detail["method"] == "oidc")
        .map(|e| e.detail["reason"].as_str().unwrap_or("").to_string())
        .collect()
}

fn user(name: &str, username: &str, roles: &[&str]) -> SimUser {
    SimUser::new(name, username, roles)
}

async fn sign_in_creates_then_updates_the_user(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![user(
        "Ada Lovelace",
        "Ada@Contoso.example",
        &["changedesk.owner"],
    )])
    .unwrap();
    let app = app(&store, Some(config(&sim)));

    // the sign-in page learns that Microsoft sign-in is offered
    let p = get(&app, "/api/v1/session/providers", None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        p.body,
        json!({"password": true, "oidc": {"label": "Sign in with Microsoft", "start_url": "/api/v1/session/oidc"}})
    );

    // first sign-in: the user is created with the mapped role
    let at = to_callback(&app, "ada@contoso.example", "/items%3Fstate%3Dnew").await;
    let done = callback(&app, &at).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/items?state=new");
    assert_eq!(
        done.cookie("changedesk_oidc").as_deref(),
        Some(""),
        "the binding cookie is removed"
    );
    let session = format!(
        "changedesk_session={}",
        done.cookie("changedesk_session").unwrap()
    );
    let me1 = me(&app, &session).await;
    assert_eq!(me1["user"]["name"], "ada@contoso.example");
    assert_eq!(me1["user"]["role"], "owner");
    assert!(me1["csrf_token"].is_string());
    let ada = store
        .user_by_name("ada@contoso.example")
        .await
        .unwrap()
        .unwrap();
    assert!(!ada.has_password());
    assert_eq!(
        (ada.display_name.as_str(), ada.email.as_str()),
        ("Ada Lovelace", "Ada@Contoso.example")
    );
    assert!(ada.last_sign_in_at.is_some());
    let ids = store.oidc_identities(ada.id).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].subject, sim.oidc_users()[0].oid, "found by oid");
    assert_eq!(ids[0].issuer, sim.oidc_issuer("tenant-001").unwrap());

    // the replayed callback (same URL, same browser) is refused
    let replay = callback(&app, &at).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.detail().contains("already used"), "{}", replay.body);
    assert_eq!(
        replay.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );

    // second sign-in: the role follows the claims (a group maps higher),
    // and the name in the claims no longer matters
    let mut ada_sim = sim.oidc_users()[0].clone();
    ada_sim.username = "ada.lovelace@contoso.example".into();
    ada_sim.groups = vec![GROUP_MANAGERS.to_string()];
    sim.oidc_set_users(vec![ada_sim]).unwrap();
    let (done, session) = sign_in(&app, "ada.lovelace@contoso.example").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/");
    let me2 = me(&app, &session.unwrap()).await;
    assert_eq!(me2["user"]["name"], "ada@contoso.example");
    assert_eq!(me2["user"]["role"], "change_manager");

    // the audit log tells it all, without codes or tokens
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    let trail: Vec<(String, String, String)> = log
        .iter()
        .map(|e| (e.actor.clone(), e.action.clone(), e.target.clone()))
        .collect();
    let find = |actor: &str, action: &str| {
        trail
            .iter()
            .filter(|(a, b, c)| a == actor && b == action && c == "ada@contoso.example")
            .count()
    };
    assert_eq!(find("oidc", "user.create"), 1, "{trail:?}");
    assert_eq!(find("oidc", "user.update"), 1, "{trail:?}");
    assert_eq!(
        find("ada@contoso.example", "session.sign_in_oidc"),
        2,
        "{trail:?}"
    );
    let update = log.iter().find(|e| e.action == "user.update").unwrap();
    assert_eq!(update.detail["role"], "change_manager");
    assert_eq!(refusals(&store).await, ["unknown or replayed state"]);
    let code = at
        .path
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    for e in &log {
        assert!(
            !e.detail.to_string().contains(code),
            "a code in the audit log: {e:?}"
        );
    }
    sim.shutdown().await;
}

async fn bad_id_tokens_are_refused(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![user(
        "Ada",
        "ada@contoso.example",
        &["changedesk.admin"],
    )])
    .unwrap();
    let app = app(&store, Some(config(&sim)));
    for (fault, status, words) in [
        (
            IdTokenFault::WrongAudience,
            StatusCode::UNAUTHORIZED,
            "another application",
        ),
        (IdTokenFault::Expired, StatusCode::UNAUTHORIZED, "expired"),
        (
            IdTokenFault::NotYetValid,
            StatusCode::UNAUTHORIZED,
            "not valid yet",
        ),
        (IdTokenFault::WrongNonce, StatusCode::UNAUTHORIZED, "nonce"),
        (
            IdTokenFault::BadSignature,
            StatusCode::UNAUTHORIZED,
            "signature",
        ),
        (
            IdTokenFault::UnknownKey,
            StatusCode::UNAUTHORIZED,
            "does not publish",
        ),
        (
            IdTokenFault::WrongIssuer,
            StatusCode::UNAUTHORIZED,
            "issued by https://sts.windows.net/",
        ),
    ] {
        sim.oidc_set_fault(Some(fault));
        let (answer, session) = sign_in(&app, "ada@contoso.example").await;
        assert_eq!(answer.status, status, "{fault:?}: {}", answer.body);
        assert!(
            answer.detail().contains(words),
            "{fault:?}: {}",
            answer.body
        );
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert!(session.is_none(), "{fault:?}: no session");
        assert_eq!(sim.oidc_fault(), None, "the fault was used");
    }
    assert!(
        store.users().await.unwrap().is_empty(),
        "no user was created by a refused sign-in"
    );
    assert_eq!(
        refusals(&store).await,
        [
            "wrong audience",
            "expired ID token",
            "ID token not yet valid",
            "wrong nonce",
            "bad signature",
            "unknown signing key",
            "wrong issuer",
        ]
    );
    // and then a sound sign-in works
    let (answer, session) = sign_in(&app, "ada@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(me(&app, &session.unwrap()).await["user"]["role"], "admin");
    sim.shutdown().await;
}

/// Creates a local admin without a password.
async fn local_admin(store: &Store, name: &str, display_name: &str) {
    store
        .create_user(
            &NewUser {
                name: name.into(),
                display_name: display_name.into(),
                email: String::new(),
                role: Role::Admin,
                scope: Scope::all(),
                password_hash: None,
                oidc_subject: None,
                disabled: false,
                at: changedesk_core::Timestamp::now_utc(),
            },
            "test",
        )
        .await
        .unwrap();
}

async fn people_without_a_way_in_are_refused(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![
        user("Nora", "nora@contoso.example", &[]),
        user("Ada", "ada@contoso.example", &["changedesk.admin"]),
        user("Dora", "dora@contoso.example", &["changedesk.reader"]),
        user("Carol", "carol@contoso.example", &["changedesk.reader"]),
    ])
    .unwrap();
    let app = app(&store, Some(config(&sim)));

    // no mapped role: 403, audited, nobody created
    let (answer, _) = sign_in(&app, "nora@contoso.example").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.detail().contains("no changedesk role")
            && answer.detail().contains("changedesk.reader"),
        "{}",
        answer.body
    );
    assert_eq!(
        store.user_by_name("nora@contoso.example").await.unwrap(),
        None
    );

    // a disabled user stays out
    let (answer, _) = sign_in(&app, "dora@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    store
        .update_user(
            "dora@contoso.example",
            &UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
            "test",
            &changedesk_core::Timestamp::now_utc(),
        )
        .await
        .unwrap();
    let (answer, _) = sign_in(&app, "dora@contoso.example").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.detail().contains("disabled"), "{}", answer.body);

    // a local user with the same name is not taken over
    local_admin(&store, "carol@contoso.example", "Carol (local)").await;
    let (answer, session) = sign_in(&app, "carol@contoso.example").await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert!(answer.detail().contains("not linked"), "{}", answer.body);
    assert!(session.is_none());

    // until an admin links her account to the local user: then she signs in
    // as that user, even where creating users is switched off
    let carol = changedesk_store::OidcIdentity {
        issuer: sim.oidc_issuer("tenant-001").unwrap(),
        subject: sim.oidc_users()[3].oid.clone(),
    };
    let at = changedesk_core::Timestamp::now_utc();
    let linked = store
        .link_oidc_identity("Carol@contoso.example", &carol, "cli:test", &at)
        .await
        .unwrap();
    assert!(linked);
    assert!(
        !store
            .link_oidc_identity("carol@contoso.example", &carol, "cli:test", &at)
            .await
            .unwrap(),
        "linked already"
    );
    let taken = store
        .link_oidc_identity("dora@contoso.example", &carol, "cli:test", &at)
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, changedesk_store::StoreError::Conflict(m) if m.contains("`carol@contoso.example`")),
        "{taken:?}"
    );
    assert!(matches!(
        store
            .link_oidc_identity("nobody", &carol, "cli:test", &at)
            .await,
        Err(changedesk_store::StoreError::NotFound(_))
    ));
    let closed_to_new = self::app(
        &store,
        Some(OidcConfig {
            allow_create: false,
            ..config(&sim)
        }),
    );
    // her claims make her a reader, and she is the only admin: refused
    let (answer, _) = sign_in(&closed_to_new, "carol@contoso.example").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.detail().contains("last enabled admin"),
        "{}",
        answer.body
    );
    local_admin(&store, "root", "Root").await;
    let (answer, session) = sign_in(&closed_to_new, "carol@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let carol_me = me(&closed_to_new, &session.unwrap()).await;
    assert_eq!(carol_me["user"]["name"], "carol@contoso.example");
    assert_eq!(
        carol_me["user"]["role"], "reader",
        "the role follows the claims"
    );
    let audit = store.audit_log(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "user.link" && e.target == "carol@contoso.example"),
        "{audit:?}"
    );
    // unlinked, she is a stranger again
    assert!(
        store
            .unlink_oidc_identity("carol@contoso.example", &carol, "cli:test", &at)
            .await
            .unwrap()
    );
    let (answer, _) = sign_in(&app, "carol@contoso.example").await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);

    // creating users can be switched off
    let closed = self::app(
        &store,
        Some(OidcConfig {
            allow_create: false,
            ..config(&sim)
        }),
    );
    let (answer, _) = sign_in(&closed, "ada@contoso.example").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.detail().contains("allow_create"), "{}", answer.body);
    assert_eq!(
        store.user_by_name("ada@contoso.example").await.unwrap(),
        None
    );

    // a scope from groups: someone in none of the groups stays out
    let scoped = self::app(
        &store,
        Some(OidcConfig {
            group_scopes: vec![(
                GROUP_MANAGERS.into(),
                Scope {
                    tenants: vec!["contoso".into()],
                    groups: vec![],
                },
            )],
            ..config(&sim)
        }),
    );
    let (answer, _) = sign_in(&scoped, "ada@contoso.example").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.detail().contains("none of the groups"),
        "{}",
        answer.body
    );
    let mut ada = sim.oidc_users()[1].clone();
    ada.groups = vec![GROUP_MANAGERS.into()];
    sim.oidc_set_users(vec![ada]).unwrap();
    let (answer, session) = sign_in(&scoped, "ada@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let me = me(&scoped, &session.unwrap()).await;
    assert_eq!(me["user"]["role"], "admin", "the highest of role and group");
    assert_eq!(me["user"]["tenants"], json!(["contoso"]));

    assert_eq!(
        refusals(&store).await,
        [
            "no role",
            "disabled",
            "name taken",
            "refused by the store",
            "name taken",
            "no user",
            "no tenant scope"
        ]
    );
    sim.shutdown().await;
}

async fn the_flow_itself_is_checked(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![user(
        "Ada",
        "ada@contoso.example",
        &["changedesk.admin"],
    )])
    .unwrap();
    let app = app(&store, Some(config(&sim)));

    // open redirects are refused before anything starts
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
    ] {
        let a = get(&app, &format!("/api/v1/session/oidc?return_to={bad}"), None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.body);
        assert!(a.detail().contains("return_to"), "{}", a.body);
        assert!(a.cookie("changedesk_oidc").is_none());
    }

    // a callback without the browser's binding cookie (someone else's link)
    let at = to_callback(&app, "ada@contoso.example", "/").await;
    let foreign = get(&app, &at.path, None).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);
    assert!(foreign.detail().contains("not started in this browser"));
    let other = get(&app, &at.path, Some("changedesk_oidc=someone-elses-state")).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    // the sign-in was left intact for its own browser
    let ok = callback(&app, &at).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // PKCE: the simulator refuses a wrong verifier, and spends the code; the
    // server's later redemption of that code is refused and audited
    let at = to_callback(&app, "ada@contoso.example", "/").await;
    let code = at
        .path
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let code = url::form_urlencoded::parse(format!("c={code}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let r = browser()
        .post(format!(
            "{}{}/oauth2/v2.0/token",
            sim.base_url(),
            sim.tenants()[0].tenant_id
        ))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", SIM_CLIENT_ID),
            ("client_secret", SIM_CLIENT_SECRET),
            ("code", code.as_str()),
            (
                "redirect_uri",
                &format!("{PUBLIC_URL}api/v1/session/oidc/callback"),
            ),
            (
                "code_verifier",
                "not-the-verifier-not-the-verifier-not-the-verifier",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_codes"], json!([501481]));
    let spent = callback(&app, &at).await;
    assert_eq!(spent.status, StatusCode::UNAUTHORIZED, "{}", spent.body);
    assert!(
        spent.detail().contains("invalid_grant, AADSTS54005"),
        "{}",
        spent.body
    );

    // the provider's own refusal comes back as an error on the callback
    let start = get(
        &app,
        "/api/v1/session/oidc?login_hint=mallory@contoso.example",
        None,
    )
    .await;
    let state = start.cookie("changedesk_oidc").unwrap();
    let r = browser().get(start.location()).send().await.unwrap();
    let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.query().unwrap().contains("error=access_denied"));
    let refused = get(
        &app,
        &format!("{}?{}", back.path(), back.query().unwrap()),
        Some(&format!("changedesk_oidc={state}")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(
        refused.detail().contains("access_denied") && refused.detail().contains("AADSTS50034"),
        "{}",
        refused.body
    );

    // no state, no code
    let a = get(
        &app,
        "/api/v1/session/oidc/callback?code=x",
        Some("changedesk_oidc=x"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        refusals(&store).await,
        [
            "another browser",
            "another browser",
            "code refused",
            "refused by the provider",
            "no state",
        ]
    );
    sim.shutdown().await;
}

async fn without_configuration_there_is_no_oidc(store: Store) {
    let app = app(&store, None);
    let p = get(&app, "/api/v1/session/providers", None).await;
    assert_eq!(p.body, json!({"password": true, "oidc": null}));
    for path in [
        "/api/v1/session/oidc",
        "/api/v1/session/oidc/callback?code=x&state=y",
    ] {
        let a = get(&app, path, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.detail(), "OpenID Connect is not configured");
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/problem+json");
    }
}

async fn an_unreachable_provider_is_a_clear_error(store: Store) {
    let sim = sim().await;
    let config = config(&sim);
    sim.shutdown().await;
    let app = app(&store, Some(config));
    let a = get(&app, "/api/v1/session/oidc", None).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{}", a.body);
    assert!(
        a.detail().contains("cannot reach the identity provider"),
        "{}",
        a.body
    );
}

// ------------------------------------------------------------ groups overage

/// A group only Graph lists for [`many_groups`] (past the first 200).
const GROUP_EU: &str = "3f9a2b1c-0d4e-4f5a-8b6c-7d8e9f0a1b2c";

/// `n` group ids, the last two being [`GROUP_MANAGERS`] and [`GROUP_EU`]
/// (when `n` ≥ 2).
fn many_groups(n: usize) -> Vec<String> {
    let mut groups: Vec<String> = (0..n.saturating_sub(2))
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    groups.push(GROUP_MANAGERS.to_string());
    groups.push(GROUP_EU.to_string());
    groups
}

fn in_groups(name: &str, username: &str, roles: &[&str], groups: Vec<String>) -> SimUser {
    let mut u = SimUser::new(name, username, roles);
    u.groups = groups;
    u
}

/// The simulator's `getMemberObjects` requests: their statuses.
fn member_object_calls(sim: &SimHandle) -> Vec<u16> {
    sim.requests()
        .iter()
        .filter(|r| r.path == "/v1.0/me/getMemberObjects")
        .map(|r| r.status)
        .collect()
}

/// The scope of the last authorization request the simulator saw.
fn authorize_scope(sim: &SimHandle) -> String {
    let r = sim
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/oauth2/v2.0/authorize"))
        .expect("an authorization request");
    // the log's query is decoded already
    r.query
        .split('&')
        .find_map(|p| p.strip_prefix("scope="))
        .unwrap_or_default()
        .to_string()
}

/// The scope `start` sends the browser to the provider with.
async fn start_scope(app: &Router) -> String {
    let start = get(app, "/api/v1/session/oidc", None).await;
    assert_eq!(start.status, StatusCode::FOUND, "{}", start.body);
    url::Url::parse(start.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn overage_groups_are_read_from_graph(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![
        in_groups("Many", "many@contoso.example", &[], many_groups(250)),
        in_groups("Few", "few@contoso.example", &[], many_groups(200)),
    ])
    .unwrap();
    let scoped = OidcConfig {
        group_scopes: vec![(
            GROUP_EU.into(),
            Scope {
                tenants: vec!["contoso".into()],
                groups: vec![],
            },
        )],
        ..config(&sim)
    };
    let app = app(&store, Some(scoped));
    let user_read = format!("{}/User.Read", sim.base_url().trim_end_matches('/'));

    // 200 groups fit in the token: no Graph call
    let (answer, session) = sign_in(&app, "few@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        authorize_scope(&sim),
        format!("openid profile email {user_read}")
    );
    assert!(member_object_calls(&sim).is_empty());
    let few = me(&app, &session.unwrap()).await;
    assert_eq!(few["user"]["role"], "change_manager");
    assert_eq!(few["user"]["tenants"], json!(["contoso"]));

    // 250 do not: the token has the overage claim, and the role and the
    // scope come from the groups Graph lists
    let (answer, session) = sign_in(&app, "many@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        member_object_calls(&sim),
        [200],
        "the groups were read from Graph once"
    );
    let many = me(&app, &session.unwrap()).await;
    assert_eq!(many["user"]["name"], "many@contoso.example");
    assert_eq!(many["user"]["role"], "change_manager");
    assert_eq!(many["user"]["tenants"], json!(["contoso"]));

    // out of the mapped groups in Graph too: the usual refusals
    sim.oidc_set_users(vec![in_groups(
        "Many",
        "many@contoso.example",
        &[],
        many_groups(250)[..248].to_vec(),
    )])
    .unwrap();
    let (answer, _) = sign_in(&app, "many@contoso.example").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.detail().contains("no changedesk role") && !answer.detail().contains("too many"),
        "{}",
        answer.body
    );
    assert_eq!(member_object_calls(&sim), [200, 200]);
    assert_eq!(refusals(&store).await, ["no role"]);
    sim.shutdown().await;
}

async fn overage_without_group_maps_needs_app_roles(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![
        in_groups("Many", "many@contoso.example", &[], many_groups(250)),
        in_groups(
            "Reader",
            "reader@contoso.example",
            &["changedesk.reader"],
            many_groups(250),
        ),
    ])
    .unwrap();
    let app = app(
        &store,
        Some(OidcConfig {
            groups: vec![],
            group_scopes: vec![],
            ..config(&sim)
        }),
    );
    let (answer, session) = sign_in(&app, "many@contoso.example").await;
    assert_eq!(authorize_scope(&sim), "openid profile email");
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.detail().contains(
            "(the token could not list your groups: you are in too many; use app roles instead)"
        ),
        "{}",
        answer.body
    );
    assert!(session.is_none());
    // an app role is enough
    let (answer, session) = sign_in(&app, "reader@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(me(&app, &session.unwrap()).await["user"]["role"], "reader");
    assert!(
        member_object_calls(&sim).is_empty(),
        "Graph is not asked when no group is mapped"
    );
    assert_eq!(refusals(&store).await, ["no role"]);
    sim.shutdown().await;
}

async fn graph_failures_are_clear_refusals(store: Store) {
    let sim = sim().await;
    sim.oidc_set_users(vec![in_groups(
        "Many",
        "many@contoso.example",
        &["changedesk.reader"],
        many_groups(250),
    )])
    .unwrap();
    let app = app(&store, Some(config(&sim)));
    let mut details = Vec::new();
    for (fault, words) in [
        (
            MemberObjectsFault::Denied,
            "Microsoft Graph refused to list your groups (403 Authorization_RequestDenied): the app registration needs the delegated Microsoft Graph permission User.Read, with consent",
        ),
        (
            MemberObjectsFault::Unavailable,
            "Microsoft Graph answered 503 serviceNotAvailable when asked for your groups; try again",
        ),
        (
            MemberObjectsFault::Malformed,
            "Microsoft Graph's list of your groups is not usable",
        ),
    ] {
        sim.oidc_set_member_objects_fault(Some(fault));
        let (answer, session) = sign_in(&app, "many@contoso.example").await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_GATEWAY,
            "{fault:?}: {}",
            answer.body
        );
        assert!(
            answer.detail().contains(words),
            "{fault:?}: {}",
            answer.body
        );
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert!(
            session.is_none(),
            "{fault:?}: no session, not even as a reader"
        );
        assert_eq!(sim.oidc_member_objects_fault(), None, "the fault was used");
        details.push(answer.detail().to_string());
    }
    assert_eq!(member_object_calls(&sim), [403, 503, 200]);

    // Graph out of reach, or unknown
    for (graph_url, status, words) in [
        (
            Some("http://127.0.0.1:9/v1.0/"),
            StatusCode::BAD_GATEWAY,
            "cannot reach Microsoft Graph to read your groups; try again",
        ),
        (None, StatusCode::FORBIDDEN, "set [oidc] graph_url"),
    ] {
        let app = self::app(
            &store,
            Some(OidcConfig {
                graph_url: graph_url.map(|u| url::Url::parse(u).unwrap()),
                ..config(&sim)
            }),
        );
        let (answer, session) = sign_in(&app, "many@contoso.example").await;
        assert_eq!(answer.status, status, "{graph_url:?}: {}", answer.body);
        assert!(
            answer.detail().contains(words),
            "{graph_url:?}: {}",
            answer.body
        );
        assert!(session.is_none());
        details.push(answer.detail().to_string());
    }
    assert!(
        store.users().await.unwrap().is_empty(),
        "nobody was created"
    );
    let log = store.audit_log(1000).await.unwrap();
    assert!(
        log.iter()
            .all(|e| e.action != "session.sign_in_failed" || e.target == "many@contoso.example"),
        "refusals name the person: {log:?}"
    );
    assert_eq!(
        refusals(&store).await,
        [
            "graph refused",
            "graph error",
            "graph error",
            "graph unreachable",
            "groups overage without graph_url",
        ]
    );
    // the access tokens ("sim-user.…") are in no answer and no audit entry
    for d in &details {
        assert!(!d.contains("sim-user."), "{d}");
    }
    for e in &log {
        assert!(!e.detail.to_string().contains("sim-user."), "{e:?}");
    }
    // and once Graph answers again, the sign-in goes through
    let (answer, session) = sign_in(&app, "many@contoso.example").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        me(&app, &session.unwrap()).await["user"]["role"],
        "change_manager"
    );
    sim.shutdown().await;
}

async fn user_read_is_asked_for_only_when_groups_are_mapped(store: Store) {
    let sim = sim().await;
    let sim_graph = format!("{}/User.Read", sim.base_url().trim_end_matches('/'));
    let graph = |u: &str| Some(url::Url::parse(u).unwrap());
    for (groups, scopes, graph_url, expected) in [
        (
            true,
            false,
            graph(&format!("{}v1.0/", sim.base_url())),
            format!("openid profile email {sim_graph}"),
        ),
        (
            false,
            true,
            graph(&format!("{}v1.0/", sim.base_url())),
            format!("openid profile email {sim_graph}"),
        ),
        (
            false,
            false,
            graph(&format!("{}v1.0/", sim.base_url())),
            "openid profile email".to_string(),
        ),
        (
            true,
            false,
            graph("https://graph.microsoft.com/v1.0/"),
            "openid profile email User.Read".to_string(),
        ),
        (
            true,
            true,
            graph("https://graph.microsoft.us/v1.0/"),
            "openid profile email https://graph.microsoft.us/User.Read".to_string(),
        ),
        (true, true, None, "openid profile email".to_string()),
    ] {
        let c = config(&sim);
        let app = app(
            &store,
            Some(OidcConfig {
                groups: if groups { c.groups.clone() } else { vec![] },
                group_scopes: if scopes {
                    vec![(GROUP_EU.into(), Scope::all())]
                } else {
                    vec![]
                },
                graph_url,
                ..c
            }),
        );
        assert_eq!(
            start_scope(&app).await,
            expected,
            "groups {groups}, scopes {scopes}"
        );
    }
    sim.shutdown().await;
}

both!(
    overage_groups_are_read_from_graph,
    overage_without_group_maps_needs_app_roles,
    graph_failures_are_clear_refusals,
    user_read_is_asked_for_only_when_groups_are_mapped,
);

both!(
    sign_in_creates_then_updates_the_user,
    bad_id_tokens_are_refused,
    people_without_a_way_in_are_refused,
    the_flow_itself_is_checked,
    without_configuration_there_is_no_oidc,
    an_unreachable_provider_is_a_clear_error,
);
