//! The calendar and the feeds of saved views (issue 20), in-process on
//! SQLite and PostgreSQL: the calendar page lists each rollout phase,
//! act-by date and due date on its day, with the inbox's filters and within
//! the caller's tenant scope; a feed's secret URL is shown once, answers
//! without sign-in in ICS and Atom, keeps its events' UIDs and raises their
//! SEQUENCE when Microsoft moves a date (an edited post is an update of its
//! Atom entry), applies its owner's current role and scope on every fetch,
//! and answers 404 once revoked, for a disabled or deleted owner, or for a
//! secret it does not know, alike. The documents are read back by
//! independent parsers (Python's `icalendar` and `feedparser`) when they
//! are installed.

use axum::http::{StatusCode, header};
use changedesk_core::access::{Role, Scope};
use changedesk_core::graph::Message;
use changedesk_core::triage::{TenantOverride, WorkItem};
use changedesk_store::{Store, UserUpdate};
use serde_json::json;

use super::ui::{Answer, Browser, Fixture, NOW, at, get, opts, post, send, served, sign_in, user};

/// MC10's body: general availability from mid-March to late April 2026
/// (revision 1), or from early April to late May (revision 2).
fn mc10(revision: u8) -> Message {
    let (modified, when) = match revision {
        1 => (
            "2026-02-01T00:00:00Z",
            "We will begin rolling out in mid-March 2026 and expect to complete by late April 2026.",
        ),
        _ => (
            "2026-03-05T00:00:00Z",
            "We will begin rolling out in early April 2026 (previously mid-March) and expect to complete by late May 2026 (previously late April).",
        ),
    };
    post(
        "MC10",
        modified,
        "Teams: a meeting recap – for everyone",
        &format!("<p>[When this will happen:]</p><p>General Availability (Worldwide): {when}</p>"),
        json!({"actionRequiredByDateTime": "2026-03-20T00:00:00Z"}),
    )
}

/// Tenants alpha and zulu: MC10 seen by both (act-by 2026-03-20, general
/// availability mid-March → late April; its work item due 2026-03-25, for
/// zulu 2026-03-27), MC20 by zulu only (targeted release early March).
/// Users: admin, `scoped` (a change manager limited to alpha) and `ann` (a
/// change manager of every tenant).
async fn world(store: Store) -> Fixture {
    store
        .import_messages("alpha", &[mc10(1)], &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let mc20 = post(
        "MC20",
        "2026-02-02T00:00:00Z",
        "Zulu only: a secret rollout",
        "<p>[When this will happen:]</p><p>Targeted Release: We will begin rolling out in early March 2026.</p>",
        json!({}),
    );
    store
        .import_messages("zulu", &[mc10(1), mc20], &opts("2026-03-02T00:00:00Z"))
        .await
        .unwrap();
    let mut item = WorkItem::new("MC10", at(NOW));
    item.due = Some(at("2026-03-25T00:00:00Z"));
    item.overrides = vec![TenantOverride {
        due: Some(at("2026-03-27T00:00:00Z")),
        ..TenantOverride::empty("zulu")
    }];
    crate::save_new_item(&store, &item, at(NOW)).await;
    user(&store, "admin", Role::Admin, Scope::default()).await;
    user(&store, "ann", Role::ChangeManager, Scope::default()).await;
    let alpha_only = Scope {
        tenants: vec!["alpha".into()],
        groups: vec![],
    };
    user(&store, "scoped", Role::ChangeManager, alpha_only).await;
    served(store)
}

/// What the calendar page shows on `date` (`2026-03-11`): the day's item.
fn day<'a>(page: &'a Answer, date: &str) -> &'a str {
    let needle = format!("data-date=\"{date}\"");
    let Some(i) = page.body.find(&needle) else {
        panic!("no day {date} in {}", page.body)
    };
    let rest = &page.body[i..];
    let end = rest[needle.len()..]
        .find("data-date=")
        .map_or(rest.len(), |e| e + needle.len());
    &rest[..end]
}

async fn calendar_lists_phases_act_by_and_due_dates_on_their_days(store: Store) {
    let f = world(store).await;
    // one ring in two clouds: one entry where both begin
    let mc40 = post(
        "MC40",
        "2026-02-04T00:00:00Z",
        "Exchange: two clouds at once",
        "<p>[When this will happen:]</p><p>General Availability (Worldwide, GCC): We will begin rolling out in late March 2026.</p>",
        json!({"services": ["Exchange Online"]}),
    );
    f.store
        .import_messages("alpha", &[mc10(1), mc40], &opts("2026-03-03T00:00:00Z"))
        .await
        .unwrap();
    let admin = sign_in(&f, "admin").await;
    let page = admin.get(&f, "/calendar?month=2026-03").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<h1 id=\"calendar-title\">March 2026</h1>"),
        "{}",
        page.body
    );
    // a month's grid runs Monday to Sunday: 23 February to 5 April
    assert!(page.body.contains("data-date=\"2026-02-23\""));
    assert!(page.body.contains("data-date=\"2026-04-05\""));
    assert!(!page.body.contains("data-date=\"2026-04-06\""));
    // the phase begins on the first day of mid-March, with its ring, the
    // post's id and its title as a link to the post
    let begins = day(&page, "2026-03-11");
    assert!(
        begins.contains("General availability (Worldwide) begins")
            && begins.contains("href=\"/posts/MC10\"")
            && begins.contains("Teams: a meeting recap – for everyone"),
        "{begins}"
    );
    assert!(
        !day(&page, "2026-03-12").contains("MC10"),
        "a phase is shown where it begins and ends, not on every day"
    );
    assert!(
        day(&page, "2026-03-20").contains("Act by"),
        "{}",
        day(&page, "2026-03-20")
    );
    let due = day(&page, "2026-03-25");
    assert!(due.contains(">Due<") && due.contains("MC10"), "{due}");
    assert!(day(&page, "2026-03-27").contains("Due for zulu"));
    let zulu_only = day(&page, "2026-03-01");
    assert!(
        zulu_only.contains("Targeted release (Worldwide)") && zulu_only.contains("MC20"),
        "{zulu_only}"
    );
    let both = day(&page, "2026-03-21");
    assert_eq!(both.matches("class=\"post-id\">MC40<").count(), 1, "{both}");
    assert!(
        both.contains("General availability (Worldwide, GCC)"),
        "{both}"
    );
    assert!(
        page.body.contains("aria-current=\"page\">Calendar</a>"),
        "the menu's entry"
    );
    // the next month shows where the phase ends (late April)
    let april = admin.get(&f, "/calendar?month=2026-04").await;
    assert!(
        day(&april, "2026-04-21").contains("General availability (Worldwide) ends"),
        "{}",
        april.body
    );
    // prev/next and the week view keep the filters
    let filtered = admin.get(&f, "/calendar?month=2026-03&tenant=alpha").await;
    assert_eq!(filtered.status, StatusCode::OK);
    assert!(!filtered.body.contains("MC20"), "filtered like the inbox");
    assert!(filtered.body.contains("MC10"));
    assert!(
        filtered
            .body
            .contains("href=\"/calendar?tenant=alpha&#38;month=2026-02\"")
            && filtered
                .body
                .contains("href=\"/calendar?tenant=alpha&#38;month=2026-04\"")
            && filtered
                .body
                .contains("href=\"/calendar?tenant=alpha&#38;week=2026-W11\""),
        "{}",
        filtered.body
    );
    assert!(
        filtered.body.contains("href=\"/?tenant=alpha\""),
        "the inbox with the same filters"
    );
    let week = admin.get(&f, "/calendar?week=2026-W12").await;
    assert_eq!(week.status, StatusCode::OK);
    assert!(week.body.contains("Week 12 of 2026"), "{}", week.body);
    assert!(day(&week, "2026-03-20").contains("Act by"));
    assert!(!week.body.contains("data-date=\"2026-03-23\""));
    // a bad month or week is a 400 page, never a panic
    for bad in [
        "month=2026-13",
        "month=x",
        "week=2026-W60",
        "month=99999-01",
        "month=2026-é",
    ] {
        let a = admin.get(&f, &format!("/calendar?{bad}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // a tenant-limited user sees nothing of other tenants
    let scoped = sign_in(&f, "scoped").await;
    let theirs = scoped.get(&f, "/calendar?month=2026-03").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(day(&theirs, "2026-03-11").contains("MC10"));
    assert!(
        !theirs.body.contains("MC20") && !theirs.body.contains("zulu"),
        "{}",
        theirs.body
    );
    assert!(day(&theirs, "2026-03-25").contains(">Due<"));
    // signed out: to the sign-in page
    let out = send(&f.app, get("/calendar", None)).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
}

/// Saves `query` as `name` and makes a feed of it: the feed's path (the
/// secret URL without `http://localhost`).
async fn feed_of(f: &Fixture, b: &Browser, name: &str, query: &str) -> (String, Answer) {
    let saved = b
        .post(f, "/views/save", &[("name", name), ("query", query)])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let views = b.get(f, "/views").await;
    let marker = format!("aria-label=\"New feed of {name}\"");
    let form_at = views
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("{}", views.body));
    let before = &views.body[..form_at];
    let id_at = before.rfind("name=\"id\" value=\"").unwrap() + "name=\"id\" value=\"".len();
    let id = &before[id_at..id_at + before[id_at..].find('"').unwrap()];
    let made = b.post(f, "/views/feeds", &[("id", id)]).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let start = made
        .body
        .find("value=\"http://localhost/feeds/")
        .expect("the feed's URL")
        + "value=\"http://localhost".len();
    let end = start + made.body[start..].find('"').unwrap();
    let ics = made.body[start..end].to_string();
    assert!(ics.ends_with(".ics"), "{ics}");
    (ics.trim_end_matches(".ics").to_string(), made)
}

async fn fetch(f: &Fixture, path: &str) -> Answer {
    send(&f.app, get(path, None)).await
}

/// The VEVENT of `uid` in `ics`, unfolded (a long line continues on the
/// next after a space).
fn vevent(ics: &str, uid: &str) -> String {
    let ics = ics.replace("\r\n ", "");
    let needle = format!("UID:{uid}\r\n");
    let at = ics
        .find(&needle)
        .unwrap_or_else(|| panic!("no {uid} in {ics}"));
    let start = ics[..at].rfind("BEGIN:VEVENT").unwrap();
    let end = at + ics[at..].find("END:VEVENT").unwrap();
    ics[start..end].to_string()
}

const GA: &str = "MC10-general_availability-worldwide-1@changedesk";

async fn a_feed_is_shown_once_served_in_ics_and_atom_and_revoked(store: Store) {
    let f = world(store).await;
    let admin = sign_in(&f, "admin").await;
    let (feed, made) = feed_of(&f, &admin, "Everything", "").await;
    assert!(made.body.contains(&format!("{feed}.atom")), "both URLs");
    let secret = feed.trim_start_matches("/feeds/").to_string();
    // the views page lists it by its hint, never again with its secret
    let views = admin.get(&f, "/views").await;
    assert!(!views.body.contains(&secret), "the secret is shown once");
    assert!(
        views.body.contains(&format!("/feeds/{}…", &secret[..6])),
        "{}",
        views.body
    );
    // audited, without the secret
    let audit = f.store.audit_log(50).await.unwrap();
    let created = audit
        .iter()
        .find(|e| e.action == "feed.create")
        .expect("audited");
    assert_eq!(
        (created.actor.as_str(), created.target.as_str()),
        ("admin", "admin")
    );
    assert!(!serde_json::to_string(&audit).unwrap().contains(&secret));

    // the calendar, without signing in
    let ics = fetch(&f, &format!("{feed}.ics")).await;
    assert_eq!(ics.status, StatusCode::OK, "{}", ics.body);
    assert_eq!(
        ics.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/calendar; charset=utf-8"
    );
    assert_eq!(
        ics.headers.get(header::CACHE_CONTROL).unwrap(),
        "private, no-cache"
    );
    assert!(ics.body.starts_with("BEGIN:VCALENDAR\r\n") && ics.body.ends_with("END:VCALENDAR\r\n"));
    assert!(
        ics.body.contains("X-WR-CALNAME:changedesk: Everything\r\n"),
        "{}",
        ics.body
    );
    let ga = vevent(&ics.body, GA);
    for line in [
        "DTSTART;VALUE=DATE:20260311\r\n",
        // late April ends on the 30th: the exclusive end is 1 May
        "DTEND;VALUE=DATE:20260501\r\n",
        "SEQUENCE:1\r\n",
        "DTSTAMP:20260201T000000Z\r\n",
        "LAST-MODIFIED:20260201T000000Z\r\n",
        "URL:http://localhost/posts/MC10\r\n",
    ] {
        assert!(ga.contains(line), "{line} in {ga}");
    }
    assert!(
        ga.contains(
            "SUMMARY:General availability (Worldwide): MC10 Teams: a meeting recap – for everyone"
        ),
        "{ga}"
    );
    let act_by = vevent(&ics.body, "MC10-act_by@changedesk");
    assert!(
        act_by.contains("DTSTART;VALUE=DATE:20260320\r\n")
            && act_by.contains("DTEND;VALUE=DATE:20260321\r\n"),
        "{act_by}"
    );
    assert!(vevent(&ics.body, "MC10-due@changedesk").contains("DTSTART;VALUE=DATE:20260325\r\n"));
    assert!(
        vevent(&ics.body, "MC10-due-zulu@changedesk").contains("DTSTART;VALUE=DATE:20260327\r\n")
    );
    assert!(
        vevent(&ics.body, "MC20-targeted_release-worldwide-1@changedesk")
            .contains("DTSTART;VALUE=DATE:20260301\r\n")
    );
    // an ETag: the same document again is 304
    let etag = ics
        .headers
        .get(header::ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_string();
    let req = axum::http::Request::builder()
        .uri(format!("{feed}.ics"))
        .header(header::IF_NONE_MATCH, &etag)
        .body(axum::body::Body::empty())
        .unwrap();
    let again = send(&f.app, req).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());

    // the Atom feed: one entry per post, its id the post's URL
    let atom = fetch(&f, &format!("{feed}.atom")).await;
    assert_eq!(atom.status, StatusCode::OK, "{}", atom.body);
    assert_eq!(
        atom.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/atom+xml; charset=utf-8"
    );
    assert!(
        atom.body.contains("<id>http://localhost/posts/MC10</id>"),
        "{}",
        atom.body
    );
    assert!(atom.body.contains("<id>http://localhost/posts/MC20</id>"));
    assert!(
        atom.body
            .contains("<updated>2026-02-01T00:00:00+00:00</updated>"),
        "{}",
        atom.body
    );
    assert!(
        atom.body
            .contains("General availability (Worldwide): mid-March 2026 → late April 2026"),
        "{}",
        atom.body
    );
    // newest first: MC20 (2 February) before MC10 (1 February)
    assert!(atom.body.find("posts/MC20").unwrap() < atom.body.find("posts/MC10").unwrap());
    // the last fetch is recorded (to the hour)
    let views = admin.get(&f, "/views").await;
    assert!(!views.body.contains(">never<"), "{}", views.body);

    // unknown, malformed and revoked secrets answer the same 404
    let unknown = fetch(&f, &format!("/feeds/{}.ics", "A".repeat(43))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for bad in [
        "/feeds/short.ics",
        "/feeds/x.rss",
        "/feeds/.ics",
        &format!("{feed}.rss"),
    ] {
        assert_eq!(fetch(&f, bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let views = admin.get(&f, "/views").await;
    let revoke_at = views.body.find("action=\"/views/feeds/revoke\"").unwrap();
    let id_at = revoke_at
        + views.body[revoke_at..]
            .find("name=\"id\" value=\"")
            .unwrap()
        + "name=\"id\" value=\"".len();
    let id = &views.body[id_at..id_at + views.body[id_at..].find('"').unwrap()];
    // not without the form's CSRF token
    let forged = send(
        &f.app,
        super::ui::form("/views/feeds/revoke", Some(&admin.cookie), &[("id", id)]),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fetch(&f, &format!("{feed}.ics")).await.status,
        StatusCode::OK
    );
    let revoked = admin.post(&f, "/views/feeds/revoke", &[("id", id)]).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(revoked.body.contains("The feed is revoked"));
    for ext in ["ics", "atom"] {
        let gone = fetch(&f, &format!("{feed}.{ext}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(gone.body, unknown.body, "revoked says no more than unknown");
    }
    assert!(
        f.store
            .audit_log(50)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "feed.revoke")
    );
    // someone else cannot revoke (or see) another's feed
    let (feed2, _) = feed_of(&f, &admin, "Again", "tenant=alpha").await;
    let ann = sign_in(&f, "ann").await;
    let views = admin.get(&f, "/views").await;
    let revoke_at = views.body.find("action=\"/views/feeds/revoke\"").unwrap();
    let id_at = revoke_at
        + views.body[revoke_at..]
            .find("name=\"id\" value=\"")
            .unwrap()
        + "name=\"id\" value=\"".len();
    let id = views.body[id_at..id_at + views.body[id_at..].find('"').unwrap()].to_string();
    let theirs = ann.post(&f, "/views/feeds/revoke", &[("id", &id)]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        fetch(&f, &format!("{feed2}.ics")).await.status,
        StatusCode::OK
    );
    // a feed of a filtered view lists what the filter selects
    let alpha = fetch(&f, &format!("{feed2}.atom")).await;
    assert!(
        alpha.body.contains("posts/MC10") && !alpha.body.contains("posts/MC20"),
        "{}",
        alpha.body
    );
}

async fn a_moved_date_keeps_the_uid_and_raises_the_sequence(store: Store) {
    let f = world(store).await;
    let admin = sign_in(&f, "admin").await;
    let (feed, _) = feed_of(&f, &admin, "Everything", "").await;
    let before = fetch(&f, &format!("{feed}.ics")).await;
    let atom_before = fetch(&f, &format!("{feed}.atom")).await;
    assert!(vevent(&before.body, GA).contains("SEQUENCE:1\r\n"));
    // Microsoft moves the rollout: revision 2 of MC10
    f.store
        .import_messages("alpha", &[mc10(2)], &opts("2026-03-06T00:00:00Z"))
        .await
        .unwrap();
    let after = fetch(&f, &format!("{feed}.ics")).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(
        after.headers.get(header::ETAG),
        before.headers.get(header::ETAG)
    );
    let ga = vevent(&after.body, GA);
    for line in [
        "SEQUENCE:2\r\n",
        "DTSTART;VALUE=DATE:20260401\r\n",
        "DTEND;VALUE=DATE:20260601\r\n",
        "DTSTAMP:20260305T000000Z\r\n",
    ] {
        assert!(ga.contains(line), "{line} in {ga}");
    }
    assert_eq!(
        after.body.matches(&format!("UID:{GA}")).count(),
        1,
        "one event, not two"
    );
    assert!(vevent(&after.body, "MC10-act_by@changedesk").contains("SEQUENCE:2\r\n"));
    // the Atom entry is updated, not duplicated
    let atom = fetch(&f, &format!("{feed}.atom")).await;
    assert_eq!(
        atom.body
            .matches("<id>http://localhost/posts/MC10</id>")
            .count(),
        1
    );
    assert!(
        atom.body
            .contains("<updated>2026-03-05T00:00:00+00:00</updated>"),
        "{}",
        atom.body
    );
    assert!(
        atom.body.contains("early April 2026 → late May 2026"),
        "{}",
        atom.body
    );
    assert!(!atom_before.body.contains("2026-03-05T00:00:00"));
    // newest first now: MC10 before MC20
    assert!(atom.body.find("posts/MC10").unwrap() < atom.body.find("posts/MC20").unwrap());
}

async fn each_fetch_applies_the_owners_current_role_and_scope(store: Store) {
    let f = world(store).await;
    let ann = sign_in(&f, "ann").await;
    let (feed, _) = feed_of(&f, &ann, "Mine", "").await;
    let ics = fetch(&f, &format!("{feed}.ics")).await;
    assert!(
        ics.body.contains("MC20") && ics.body.contains("MC10-due-zulu@"),
        "{}",
        ics.body
    );
    // ann is limited to alpha: the same URL now lacks zulu's posts and dates
    let alpha_only = Scope {
        tenants: vec!["alpha".into()],
        groups: vec![],
    };
    let update = |u: UserUpdate| {
        let store = f.store.clone();
        async move {
            store
                .update_user("ann", &u, "admin", &at(NOW))
                .await
                .unwrap();
        }
    };
    update(UserUpdate {
        scope: Some(alpha_only),
        ..UserUpdate::default()
    })
    .await;
    let narrowed = fetch(&f, &format!("{feed}.ics")).await;
    assert_eq!(narrowed.status, StatusCode::OK);
    assert!(
        !narrowed.body.contains("MC20") && !narrowed.body.contains("zulu"),
        "{}",
        narrowed.body
    );
    assert!(narrowed.body.contains(&format!("UID:{GA}")));
    let atom = fetch(&f, &format!("{feed}.atom")).await;
    assert!(
        !atom.body.contains("MC20") && atom.body.contains("posts/MC10"),
        "{}",
        atom.body
    );
    // demoted to reader: still reads what a reader may
    update(UserUpdate {
        role: Some(Role::Reader),
        ..UserUpdate::default()
    })
    .await;
    assert_eq!(
        fetch(&f, &format!("{feed}.ics")).await.status,
        StatusCode::OK
    );
    // disabled: 404, as for a feed that does not exist; enabled again: back
    update(UserUpdate {
        disabled: Some(true),
        ..UserUpdate::default()
    })
    .await;
    assert_eq!(
        fetch(&f, &format!("{feed}.ics")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&f, &format!("{feed}.atom")).await.status,
        StatusCode::NOT_FOUND
    );
    update(UserUpdate {
        disabled: Some(false),
        ..UserUpdate::default()
    })
    .await;
    assert_eq!(
        fetch(&f, &format!("{feed}.ics")).await.status,
        StatusCode::OK
    );
    // deleted: 404
    f.store.delete_user("ann", "admin", &at(NOW)).await.unwrap();
    assert_eq!(
        fetch(&f, &format!("{feed}.ics")).await.status,
        StatusCode::NOT_FOUND
    );

    // a tenant-limited user's feed never had other tenants' posts
    let scoped = sign_in(&f, "scoped").await;
    let (theirs, _) = feed_of(&f, &scoped, "Everything I see", "").await;
    let ics = fetch(&f, &format!("{theirs}.ics")).await;
    assert!(
        !ics.body.contains("MC20") && !ics.body.contains("zulu"),
        "{}",
        ics.body
    );
    assert!(ics.body.contains("MC10-due@changedesk"));
    // even with a view that names another tenant
    let (other, _) = feed_of(&f, &scoped, "Zulu", "tenant=zulu").await;
    let ics = fetch(&f, &format!("{other}.ics")).await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(!ics.body.contains("BEGIN:VEVENT"), "{}", ics.body);
}

/// A Python with `module`, or why not (the checks that need it then skip).
/// `CHANGEDESK_TEST_FEED_PYTHON` names one that must have it (`.ci/run`
/// sets it after installing the modules): without them, a failure.
fn python_with(module: &str) -> Result<String, String> {
    let required = std::env::var("CHANGEDESK_TEST_FEED_PYTHON").ok();
    let python = required
        .clone()
        .unwrap_or_else(|| "/usr/bin/python3".to_string());
    let found = match std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
    {
        Ok(o) if o.status.success() => Ok(python),
        Ok(_) => Err(format!("{python} has no module `{module}`")),
        Err(e) => Err(format!("cannot run {python}: {e}")),
    };
    if let (Some(_), Err(why)) = (&required, &found) {
        panic!("CHANGEDESK_TEST_FEED_PYTHON is set, but {why}");
    }
    found
}

/// Runs `script` with `python`, the document on its standard input; its
/// standard output as JSON.
fn run_python(python: &str, script: &str, document: &str) -> serde_json::Value {
    use std::io::Write;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(document.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const ICALENDAR_SCRIPT: &str = r#"
import json, sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
events = []
for e in cal.walk("VEVENT"):
    events.append({
        "uid": str(e["UID"]),
        "sequence": int(e["SEQUENCE"]),
        "start": e.decoded("DTSTART").isoformat(),
        "end": e.decoded("DTEND").isoformat(),
        "summary": str(e["SUMMARY"]),
        "description": str(e["DESCRIPTION"]),
        "url": str(e["URL"]),
        "stamp": e.decoded("DTSTAMP").isoformat(),
    })
print(json.dumps({"name": str(cal.get("X-WR-CALNAME")), "version": str(cal["VERSION"]), "events": events}))
"#;

const FEEDPARSER_SCRIPT: &str = r#"
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": int(d.bozo),
    "error": str(d.get("bozo_exception", "")),
    "version": d.version,
    "title": d.feed.get("title"),
    "entries": [{"id": e.id, "title": e.title, "link": e.link, "updated": e.updated, "summary": e.get("summary", "")} for e in d.entries],
}))
"#;

async fn independent_parsers_read_the_feeds(store: Store) {
    let ical = python_with("icalendar");
    let feedparser = python_with("feedparser");
    if let Err(why) = &ical {
        println!(
            "skipping the ICS check with Python's icalendar: {why} (Debian: python3-icalendar; .ci/run installs it)"
        );
    }
    if let Err(why) = &feedparser {
        println!(
            "skipping the Atom check with feedparser: {why} (Debian: python3-feedparser; .ci/run installs it)"
        );
    }
    if ical.is_err() && feedparser.is_err() {
        return;
    }
    let f = world(store).await;
    // a title with what the formats must escape or drop
    let awkward = post(
        "MC30",
        "2026-02-03T00:00:00Z",
        "Commas, semicolons; \\backslashes\\ <tags> & \u{1}controls – a very long title that goes on and on and on past the seventy-five octets a content line may hold",
        "<p>[When this will happen:]</p><p>Retirement: We will retire the feature on May 15, 2026.</p>",
        json!({}),
    );
    f.store
        .import_messages("alpha", &[mc10(1), awkward], &opts("2026-03-03T00:00:00Z"))
        .await
        .unwrap();
    let admin = sign_in(&f, "admin").await;
    let (feed, _) = feed_of(&f, &admin, "Everything; really, all", "").await;
    let ics_before = fetch(&f, &format!("{feed}.ics")).await.body;
    // a moved date: revision 2 of MC10
    f.store
        .import_messages("alpha", &[mc10(2)], &opts("2026-03-06T00:00:00Z"))
        .await
        .unwrap();
    let ics_after = fetch(&f, &format!("{feed}.ics")).await.body;
    let atom = fetch(&f, &format!("{feed}.atom")).await.body;
    if let Ok(python) = &ical {
        let before = run_python(python, ICALENDAR_SCRIPT, &ics_before);
        assert_eq!(before["version"], "2.0");
        assert_eq!(before["name"], "changedesk: Everything; really, all");
        let events = before["events"].as_array().unwrap();
        let ga = events.iter().find(|e| e["uid"] == GA).expect("the phase");
        assert_eq!(
            (&ga["start"], &ga["end"], &ga["sequence"], &ga["url"]),
            (
                &json!("2026-03-11"),
                &json!("2026-05-01"),
                &json!(1),
                &json!("http://localhost/posts/MC10")
            )
        );
        assert_eq!(ga["stamp"], "2026-02-01T00:00:00+00:00");
        let awkward = events
            .iter()
            .find(|e| e["uid"] == "MC30-retirement-worldwide-1@changedesk")
            .expect("the retirement");
        assert_eq!(
            awkward["summary"],
            "Retirement (Worldwide): MC30 Commas, semicolons; \\backslashes\\ <tags> & controls – a very long title that goes on and on and on past the seventy-five octets a content line may hold"
        );
        assert_eq!(
            (&awkward["start"], &awkward["end"]),
            (&json!("2026-05-15"), &json!("2026-05-16"))
        );
        let uids: Vec<&str> = events.iter().map(|e| e["uid"].as_str().unwrap()).collect();
        let mut unique = uids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), uids.len(), "UIDs are unique: {uids:?}");
        // the moved date: the same UID, a higher SEQUENCE, the new dates
        let after = run_python(python, ICALENDAR_SCRIPT, &ics_after);
        let ga = after["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uid"] == GA)
            .expect("the same UID");
        assert_eq!(
            (&ga["start"], &ga["sequence"]),
            (&json!("2026-04-01"), &json!(2))
        );
    }
    if let Ok(python) = &feedparser {
        let parsed = run_python(python, FEEDPARSER_SCRIPT, &atom);
        assert_eq!(parsed["bozo"], 0, "{parsed}");
        assert_eq!(parsed["version"], "atom10");
        assert_eq!(parsed["title"], "changedesk: Everything; really, all");
        let entries = parsed["entries"].as_array().unwrap();
        let ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids.iter()
                .filter(|i| **i == "http://localhost/posts/MC10")
                .count(),
            1,
            "{ids:?}"
        );
        let mc30 = entries
            .iter()
            .find(|e| e["id"] == "http://localhost/posts/MC30")
            .unwrap();
        assert_eq!(
            mc30["title"],
            "MC30: Commas, semicolons; \\backslashes\\ <tags> & controls – a very long title that goes on and on and on past the seventy-five octets a content line may hold"
        );
        assert_eq!(mc30["link"], "http://localhost/posts/MC30");
        let mc10 = entries
            .iter()
            .find(|e| e["id"] == "http://localhost/posts/MC10")
            .unwrap();
        assert!(
            mc10["updated"].as_str().unwrap().starts_with("2026-03-05"),
            "{mc10}"
        );
    }
}

both!(
    calendar_lists_phases_act_by_and_due_dates_on_their_days,
    a_feed_is_shown_once_served_in_ics_and_atom_and_revoked,
    a_moved_date_keeps_the_uid_and_raises_the_sequence,
    each_fetch_applies_the_owners_current_role_and_scope,
    independent_parsers_read_the_feeds,
);
