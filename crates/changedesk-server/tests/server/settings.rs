//! A person's time zone on the web UI, on SQLite and PostgreSQL: set on
//! `/me/settings` (or `PUT /api/v1/me/settings`), the instants of every page
//! (a post's revisions, the audit log) shown in it for them alone while
//! others see UTC, with the answer cache on (a value kept for one zone is
//! never served in another); a name that is not a time zone refused (400,
//! nothing stored, nothing audited); every change in the audit log; the API
//! in UTC whatever the zone.

use axum::http::StatusCode;
use changedesk_core::access::{Role, Scope};
use changedesk_server::http::{self, Settings};
use changedesk_store::Store;
use serde_json::json;

use super::ui::{Answer, fixture, form, get, send, served_with, sign_in, user};

/// Whether the answer came from the answer cache: `hit`, `miss` or `""`.
fn kept(a: &Answer) -> String {
    a.headers
        .get(http::cache::CACHE_HEADER)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// (actor, target, detail) of the audit log's `user.update` entries, oldest
/// first.
async fn updates(store: &Store) -> Vec<(String, String, serde_json::Value)> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action == "user.update")
        .map(|e| (e.actor, e.target, e.detail))
        .collect()
}

async fn a_viewer_sees_instants_in_their_time_zone_and_others_in_utc(store: Store) {
    let f = fixture(store, 0).await;
    // the answer cache on, kept an hour (time passes slowly on a busy
    // machine: see the inbox's cache test)
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
    let admin = sign_in(&f, "admin").await;
    let admin2 = sign_in(&f, "admin2").await;
    let admin_id = f.store.user_by_name("admin").await.unwrap().unwrap().id;

    // the page: UTC, the time now, every zone to choose from; in the menu
    let page = admin.get(&f, "/me/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(
            "shown in <strong>UTC</strong>: it is now <strong>2026-03-10 09:00 UTC</strong>"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"list="time-zones""#), "{}", page.body);
    for z in ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "UTC"] {
        assert!(
            page.body.contains(&format!(r#"<option value="{z}">"#)),
            "{z}"
        );
    }
    assert!(
        page.body
            .contains(r#"<a href="/me/settings" aria-current="page">Settings</a>"#),
        "{}",
        page.body
    );
    let inbox = admin.get(&f, "/").await;
    assert!(
        inbox
            .body
            .contains(r#"<a href="/me/settings">Settings</a>"#),
        "{}",
        inbox.body
    );

    // not a time zone: the page again with why, 400, nothing stored or
    // audited
    let bad = admin
        .post(&f, "/me/settings", &[("time_zone", "Mars/Olympus")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.body
            .contains("`Mars/Olympus` is not a time zone; use a name like Europe/Paris"),
        "{}",
        bad.body
    );
    assert_eq!(bad.field("time_zone"), "Mars/Olympus", "kept in the field");
    assert!(bad.body.contains(r#"aria-invalid="true""#), "{}", bad.body);
    assert_eq!(f.store.user_time_zone(admin_id).await.unwrap(), None);
    assert!(updates(&f.store).await.is_empty());
    // without the form's token: refused, nothing stored
    let forged = send(
        &f.app,
        form(
            "/me/settings",
            Some(&admin.cookie),
            &[("time_zone", "Europe/Paris")],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(f.store.user_time_zone(admin_id).await.unwrap(), None);

    // the inbox made for UTC viewers with these rights, kept
    let a = admin2.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "miss");
    let a = admin2.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "hit");

    // Europe/Paris, in any case: saved as the database spells it
    let saved = admin
        .post(&f, "/me/settings", &[("time_zone", " europe/paris ")])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(
        saved
            .body
            .contains("Saved: dates and times are shown in Europe/Paris."),
        "{}",
        saved.body
    );
    assert!(
        saved.body.contains(
            "shown in <strong>Europe/Paris</strong>: it is now <strong>2026-03-10 10:00 CET</strong> there"
        ),
        "{}",
        saved.body
    );
    assert_eq!(saved.field("time_zone"), "Europe/Paris");
    assert_eq!(
        f.store.user_time_zone(admin_id).await.unwrap().as_deref(),
        Some("Europe/Paris")
    );
    assert_eq!(
        updates(&f.store).await,
        vec![(
            "admin".to_string(),
            "admin".to_string(),
            json!({"time_zone": "Europe/Paris", "previous_time_zone": null})
        )]
    );

    // the post page: its revisions recorded at 00:00 UTC on 1 and 2 March
    let theirs = admin.get(&f, "/posts/MC1").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(
        theirs.body.contains("2026-03-01 01:00 CET")
            && theirs.body.contains("2026-03-02 01:00 CET"),
        "{}",
        theirs.body
    );
    assert!(!theirs.body.contains("00:00 UTC"), "{}", theirs.body);
    let others = admin2.get(&f, "/posts/MC1").await;
    assert!(
        others.body.contains("2026-03-01 00:00 UTC")
            && others.body.contains("2026-03-02 00:00 UTC"),
        "{}",
        others.body
    );
    assert!(!others.body.contains("CET"), "{}", others.body);
    // calendar days stay the days they are: the act-by date
    assert!(theirs.body.contains("2026-03-20"), "{}", theirs.body);

    // the audit log: the change, at 10:00 in Paris, 09:00 in UTC
    let log = admin.get(&f, "/audit?action=user.").await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.body.contains("2026-03-10 10:00 CET"), "{}", log.body);
    assert!(log.body.contains("user.update"), "{}", log.body);
    let log = admin2.get(&f, "/audit?action=user.").await;
    assert!(log.body.contains("2026-03-10 09:00 UTC"), "{}", log.body);
    assert!(!log.body.contains("CET"), "{}", log.body);

    // the same rights in another zone: made for that zone, not served the
    // UTC viewers' one; then kept for it
    let a = admin.get(&f, "/?q=recap").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(kept(&a), "miss", "kept per time zone");
    let a = admin.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "hit");
    let a = admin2.get(&f, "/?q=recap").await;
    assert_eq!(kept(&a), "hit", "the UTC one is still kept");

    // the API: the setting, and answers in UTC whatever it is
    let me = admin
        .send_json(&f, "GET", "/api/v1/me/settings", &json!(null))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&me.body).unwrap(),
        json!({"time_zone": "Europe/Paris"})
    );
    let them = admin2
        .send_json(&f, "GET", "/api/v1/me/settings", &json!(null))
        .await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&them.body).unwrap(),
        json!({"time_zone": null})
    );
    let api = admin
        .send_json(&f, "GET", "/api/v1/audit?action=user.", &json!(null))
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert!(api.body.contains("2026-03-10T09:00:00"), "{}", api.body);
    assert!(!api.body.contains("CET"), "{}", api.body);
    let bad = admin
        .send_json(
            &f,
            "PUT",
            "/api/v1/me/settings",
            &json!({"time_zone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.body
            .contains("`Mars/Olympus` is not a time zone; use a name like Europe/Paris"),
        "{}",
        bad.body
    );
    let bad = admin
        .send_json(
            &f,
            "PUT",
            "/api/v1/me/settings",
            &json!({"zone": "Europe/Paris"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(
        f.store.user_time_zone(admin_id).await.unwrap().as_deref(),
        Some("Europe/Paris")
    );
    let ny = admin
        .send_json(
            &f,
            "PUT",
            "/api/v1/me/settings",
            &json!({"time_zone": "america/new_york"}),
        )
        .await;
    assert_eq!(ny.status, StatusCode::OK, "{}", ny.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ny.body).unwrap(),
        json!({"time_zone": "America/New_York"})
    );
    let page = admin.get(&f, "/posts/MC1").await;
    assert!(page.body.contains("2026-02-28 19:00 EST"), "{}", page.body);
    // back to UTC
    let utc = admin
        .send_json(
            &f,
            "PUT",
            "/api/v1/me/settings",
            &json!({"time_zone": null}),
        )
        .await;
    assert_eq!(utc.status, StatusCode::OK, "{}", utc.body);
    let page = admin.get(&f, "/posts/MC1").await;
    assert!(page.body.contains("2026-03-01 00:00 UTC"), "{}", page.body);
    let page = admin.get(&f, "/me/settings").await;
    assert!(
        page.body.contains("shown in <strong>UTC</strong>"),
        "{}",
        page.body
    );
    assert_eq!(page.field("time_zone"), "");
    // every change audited, in the person's name
    assert_eq!(
        updates(&f.store).await,
        vec![
            (
                "admin".to_string(),
                "admin".to_string(),
                json!({"time_zone": "Europe/Paris", "previous_time_zone": null})
            ),
            (
                "admin".to_string(),
                "admin".to_string(),
                json!({"time_zone": "America/New_York", "previous_time_zone": "Europe/Paris"})
            ),
            (
                "admin".to_string(),
                "admin".to_string(),
                json!({"time_zone": null, "previous_time_zone": "America/New_York"})
            ),
        ]
    );
}

/// Signed out: the page sends to the sign-in page, the API answers 401.
async fn settings_need_a_session(store: Store) {
    let f = fixture(store, 0).await;
    let a = send(&f.app, get("/me/settings", None)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/sign-in?next=%2Fme%2Fsettings");
    let a = send(&f.app, get("/api/v1/me/settings", None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // an ended session: the same
    let a = send(
        &f.app,
        get("/me/settings", Some("changedesk_session=not-a-session")),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // a reader sets their own
    let reader = sign_in(&f, "reader").await;
    let a = reader
        .post(&f, "/me/settings", &[("time_zone", "Asia/Kathmandu")])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("2026-03-10 14:45 UTC+05:45"), "{}", a.body);
}

both!(
    a_viewer_sees_instants_in_their_time_zone_and_others_in_utc,
    settings_need_a_session,
);
