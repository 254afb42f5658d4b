//! CSV exports (issue 20): the inbox's and the items list's "Download
//! CSV", and the API's post and item lists as `text/csv` — read back with
//! a real CSV reader: every page of the list with its filters, decisions
//! and the reasons given (the shared item's, and a tenant's own), cells a
//! spreadsheet would run quoted as text, instants to the second, and a
//! tenant-limited user's export holding only their tenants.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use changedesk_core::triage::WorkItem;
use changedesk_store::{ImportOptions, Store};
use serde_json::{Value, json};

use super::ui::{Answer, Browser, Fixture, NOW, at, fixture, post, send, sign_in};

type Row = HashMap<String, String>;

/// A CSV download: its headers checked, its rows read back by column.
fn rows_of(a: &Answer, what: &str) -> (Vec<String>, Vec<Row>) {
    assert_eq!(a.status, StatusCode::OK, "{what}: {}", a.body);
    assert_eq!(
        a.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8",
        "{what}"
    );
    let disposition = a.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"changedesk-")
            && disposition.ends_with(".csv\""),
        "{what}: {disposition}"
    );
    let mut r = csv::Reader::from_reader(a.body.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{what}: {e}: {}", a.body));
            assert_eq!(
                rec.len(),
                header.len(),
                "{what}: a row as wide as the header"
            );
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A page's HTML with its escaped ampersands as they are in a link.
fn unescaped(body: &str) -> String {
    body.replace("&#38;", "&").replace("&amp;", "&")
}

fn ids<'a>(rows: &'a [Row], column: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = rows.iter().map(|r| r[column].as_str()).collect();
    out.sort();
    out
}

fn find<'a>(rows: &'a [Row], column: &str, id: &str) -> &'a Row {
    rows.iter()
        .find(|r| r[column] == id)
        .unwrap_or_else(|| panic!("{id} not in {rows:?}"))
}

async fn act(b: &Browser, f: &Fixture, id: &str, body: Value) {
    let a = b
        .send_json(f, "POST", &format!("/api/v1/items/{id}/actions"), &body)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{id} {body}: {}", a.body);
}

/// A GET with the session's cookie and an `Accept` header.
async fn get_accepting(f: &Fixture, b: &Browser, path: &str, accept: &str) -> Answer {
    let req = Request::builder()
        .method("GET")
        .uri(path)
        .header(header::COOKIE, &b.cookie)
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .unwrap();
    send(&f.app, req).await
}

/// The UI fixture with two more of alpha's posts: MC7, whose title is a
/// formula, and MC8, starting with `-`. MC666 closed for everyone with a
/// reason that needs quoting; MC2 (zulu's) dismissed; MC1 closed by the
/// user limited to alpha, which is alpha's own decision (zulu sees MC1
/// too).
async fn decided(store: Store) -> Fixture {
    let f = fixture(store, 3).await;
    let more = [
        post(
            "MC7",
            "2026-02-07T10:20:30.123456Z",
            "=HYPERLINK(\"https://evil.example\",\"open\")",
            "<p>x</p>",
            json!({"services": ["Exchange Online"]}),
        ),
        post(
            "MC8",
            "2026-02-08T00:00:00Z",
            "-1+1 @everyone",
            "<p>x</p>",
            json!({}),
        ),
    ];
    f.store
        .import_messages(
            "alpha",
            &more,
            &ImportOptions {
                complete: false,
                now: at("2026-03-03T00:00:00Z"),
                source: "test".into(),
                rejected: 0,
            },
        )
        .await
        .unwrap();
    for id in ["MC7", "MC8"] {
        crate::save_new_item(&f.store, &WorkItem::new(id, at(NOW)), at(NOW)).await;
    }
    let admin = sign_in(&f, "admin").await;
    act(&admin, &f, "MC666", json!({"action": "triage"})).await;
    act(
        &admin,
        &f,
        "MC666",
        json!({"action": "close", "decision": "actioned",
            "reason": "Patched, \"see CHG1\"\nthen checked"}),
    )
    .await;
    act(
        &admin,
        &f,
        "MC2",
        json!({"action": "dismiss", "reason": "=zulu does not use it"}),
    )
    .await;
    let scoped = sign_in(&f, "scoped").await;
    act(&scoped, &f, "MC1", json!({"action": "triage"})).await;
    act(
        &scoped,
        &f,
        "MC1",
        json!({"action": "close", "decision": "deferred", "reason": "alpha waits for Q3"}),
    )
    .await;
    f
}

async fn the_inbox_downloads_its_whole_view_as_csv(store: Store) {
    let f = decided(store).await;
    let admin = sign_in(&f, "admin").await;

    // the link is on the page, for the view (not its page)
    let page = admin.get(&f, "/?service=Exchange+Online").await;
    assert!(
        unescaped(&page.body)
            .contains("href=\"/?service=Exchange+Online&format=csv\" download>Download CSV</a>"),
        "{}",
        page.body
    );
    let page = admin.get(&f, "/").await;
    assert!(
        page.body
            .contains("href=\"/?format=csv\" download>Download CSV</a>"),
        "{}",
        page.body
    );

    let all = admin.get(&f, "/?format=csv").await;
    assert!(
        all.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("changedesk-posts-2026-03-10.csv"),
        "{:?}",
        all.headers
    );
    assert!(all.headers.get("x-changedesk-truncated").is_none());
    let (header, rows) = rows_of(&all, "the inbox");
    assert_eq!(header.first().map(String::as_str), Some("id"));
    assert_eq!(header.last().map(String::as_str), Some("tenants"));
    assert_eq!(
        ids(&rows, "id"),
        [
            "MC1", "MC2", "MC5000", "MC5001", "MC5002", "MC666", "MC7", "MC8"
        ]
    );
    let closed = find(&rows, "id", "MC666");
    assert_eq!(closed["item_state"], "done");
    assert_eq!(closed["decision"], "actioned");
    assert_eq!(
        closed["decision_reason"],
        "Patched, \"see CHG1\"\nthen checked"
    );
    assert_eq!(
        closed["title"],
        "<script>alert('title')</script> Hostile post"
    );
    assert_eq!(closed["services"], "Exchange Online");
    assert_eq!(closed["tenants"], "alpha");
    // formulas shown as text, a reason included
    let formula = find(&rows, "id", "MC7");
    assert_eq!(
        formula["title"],
        "'=HYPERLINK(\"https://evil.example\",\"open\")"
    );
    assert_eq!(find(&rows, "id", "MC8")["title"], "'-1+1 @everyone");
    let dismissed = find(&rows, "id", "MC2");
    assert_eq!(dismissed["item_state"], "dismissed");
    assert_eq!(dismissed["decision_reason"], "'=zulu does not use it");
    // instants to the second, enums by name
    assert_eq!(formula["last_modified"], "2026-02-07T10:20:30Z");
    assert_eq!(formula["first_seen"], "2026-03-03T00:00:00Z");
    assert_eq!(formula["state"], "active");
    assert_eq!(formula["category"], "planForChange");
    let shared = find(&rows, "id", "MC1");
    assert_eq!(shared["act_by"], "2026-03-20T00:00:00Z");
    assert_eq!(shared["tenants"], "alpha; zulu");
    assert_eq!(shared["assignee"], "owen");
    // the shared item stays open: alpha's decision is alpha's
    assert_eq!(shared["item_state"], "new");
    assert_eq!(
        (
            shared["decision"].as_str(),
            shared["decision_reason"].as_str()
        ),
        ("", "")
    );

    // the view's filters hold, whatever page the view was on
    let (_, exchange) = rows_of(
        &admin.get(&f, "/?service=Exchange+Online&format=csv").await,
        "a filtered view",
    );
    assert_eq!(ids(&exchange, "id"), ["MC666", "MC7"]);
    let (_, one) = rows_of(
        &admin.get(&f, "/?tenant=alpha&q=Hostile&format=csv").await,
        "a search",
    );
    assert_eq!(ids(&one, "id"), ["MC666"]);
    // for one tenant, what is in force for it
    let (_, alpha) = rows_of(&admin.get(&f, "/?tenant=alpha&format=csv").await, "alpha's");
    let mc1 = find(&alpha, "id", "MC1");
    assert_eq!(
        (
            mc1["item_state"].as_str(),
            mc1["decision"].as_str(),
            mc1["decision_reason"].as_str()
        ),
        ("done", "deferred", "alpha waits for Q3")
    );
    assert!(!ids(&alpha, "id").contains(&"MC2"));
    // anything but csv or html is refused
    assert_eq!(
        admin.get(&f, "/?format=xlsx").await.status,
        StatusCode::BAD_REQUEST
    );

    // a user limited to alpha exports alpha's posts only, naming no other
    // tenant, and alpha's decisions
    let scoped = sign_in(&f, "scoped").await;
    let (_, theirs) = rows_of(&scoped.get(&f, "/?format=csv").await, "alpha's user");
    assert_eq!(
        ids(&theirs, "id"),
        ["MC1", "MC5000", "MC5001", "MC5002", "MC666", "MC7", "MC8"]
    );
    assert!(
        theirs
            .iter()
            .all(|r| !r.values().any(|v| v.contains("zulu"))),
        "{theirs:?}"
    );
    let mc1 = find(&theirs, "id", "MC1");
    assert_eq!(
        (mc1["tenants"].as_str(), mc1["tenants_seen"].as_str()),
        ("alpha", "1")
    );
    // a tenant out of their scope lists nothing
    let (_, none) = rows_of(&scoped.get(&f, "/?tenant=zulu&format=csv").await, "zulu");
    assert!(none.is_empty());
    // signed out: to the sign-in page, not a file
    let anonymous = send(&f.app, super::ui::get("/?format=csv", None)).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

async fn the_items_list_downloads_every_page_as_csv(store: Store) {
    let f = decided(store).await;
    let admin = sign_in(&f, "admin").await;
    let page = admin.get(&f, "/items?state=closed").await;
    assert!(
        unescaped(&page.body)
            .contains("href=\"/items?state=closed&format=csv\" download>Download CSV</a>"),
        "{}",
        page.body
    );
    let board = admin.get(&f, "/board").await;
    assert!(
        board
            .body
            .contains("href=\"/items?format=csv\" download>Download CSV</a>"),
        "{}",
        board.body
    );

    let (header, rows) = rows_of(&admin.get(&f, "/items?format=csv&page=2").await, "items");
    for column in [
        "post_id",
        "title",
        "state",
        "decision",
        "decision_reason",
        "assignee",
        "priority",
        "due",
        "labels",
        "deadline",
        "changed_since_triage",
        "tenants",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    // every item, not the page asked
    assert_eq!(ids(&rows, "post_id"), ["MC1", "MC2", "MC666", "MC7", "MC8"]);
    let closed = find(&rows, "post_id", "MC666");
    assert_eq!(
        (closed["state"].as_str(), closed["decision"].as_str()),
        ("done", "actioned")
    );
    assert_eq!(
        closed["decision_reason"],
        "Patched, \"see CHG1\"\nthen checked"
    );
    assert_eq!(closed["closed_at"], "2026-03-10T09:00:00Z");
    assert_eq!(closed["created_at"], "2026-03-10T09:00:00Z");
    assert_eq!(
        find(&rows, "post_id", "MC7")["title"],
        "'=HYPERLINK(\"https://evil.example\",\"open\")"
    );
    let mc1 = find(&rows, "post_id", "MC1");
    assert_eq!(
        (mc1["state"].as_str(), mc1["decision"].as_str()),
        ("new", "")
    );
    assert_eq!(mc1["tenants"], "alpha; zulu");
    // its act-by date is ten days away
    assert_eq!(
        (mc1["deadline"].as_str(), mc1["act_by"].as_str()),
        ("due_soon", "2026-03-20T00:00:00Z")
    );

    // the list's filters: closed ones, and alpha's own decision
    let (_, closed_only) = rows_of(
        &admin.get(&f, "/items?state=closed&format=csv").await,
        "closed",
    );
    assert_eq!(ids(&closed_only, "post_id"), ["MC1", "MC2", "MC666"]);
    let (_, alpha) = rows_of(
        &admin
            .get(&f, "/items?tenant=alpha&state=done&format=csv")
            .await,
        "alpha's done",
    );
    assert_eq!(ids(&alpha, "post_id"), ["MC1", "MC666"]);
    let mc1 = find(&alpha, "post_id", "MC1");
    assert_eq!(
        (
            mc1["state"].as_str(),
            mc1["decision"].as_str(),
            mc1["decision_reason"].as_str(),
            mc1["tenant"].as_str(),
            mc1["applicable"].as_str()
        ),
        ("done", "deferred", "alpha waits for Q3", "alpha", "true")
    );

    // alpha's user: alpha's items only, no other tenant named
    let scoped = sign_in(&f, "scoped").await;
    let (_, theirs) = rows_of(&scoped.get(&f, "/items?format=csv").await, "alpha's user");
    assert_eq!(ids(&theirs, "post_id"), ["MC1", "MC666", "MC7", "MC8"]);
    assert!(
        theirs
            .iter()
            .all(|r| !r.values().any(|v| v.contains("zulu"))),
        "{theirs:?}"
    );
    assert_eq!(
        admin.get(&f, "/items?format=pdf").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn the_api_lists_answer_csv_when_asked(store: Store) {
    let f = decided(store).await;
    let admin = sign_in(&f, "admin").await;

    // posts: by Accept or by format=csv; JSON otherwise
    let by_accept = get_accepting(&f, &admin, "/api/v1/posts?limit=2", "text/csv").await;
    let (header, rows) = rows_of(&by_accept, "posts by Accept");
    assert_eq!(header.first().map(String::as_str), Some("id"));
    assert_eq!(rows.len(), 8, "every page, not the first 2");
    let by_param = admin
        .get(&f, "/api/v1/posts?format=csv&service=Exchange%20Online")
        .await;
    let (_, exchange) = rows_of(&by_param, "posts by format");
    assert_eq!(ids(&exchange, "id"), ["MC666", "MC7"]);
    assert_eq!(
        find(&exchange, "id", "MC666")["decision_reason"],
        "Patched, \"see CHG1\"\nthen checked"
    );
    let json = get_accepting(&f, &admin, "/api/v1/posts", "application/json").await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&json.body).unwrap()["items"].is_array());
    // a cache between keeps the two answers apart
    for a in [&json, &by_accept] {
        assert!(
            a.headers
                .get_all(header::VARY)
                .iter()
                .any(|v| v.to_str().unwrap().eq_ignore_ascii_case("accept")),
            "{:?}",
            a.headers
        );
    }
    // format=json wins over Accept; q=0 refuses CSV
    let json = get_accepting(&f, &admin, "/api/v1/posts?format=json", "text/csv").await;
    assert!(json.body.starts_with('{'), "{}", json.body);
    let json = get_accepting(
        &f,
        &admin,
        "/api/v1/posts",
        "text/csv;q=0, application/json",
    )
    .await;
    assert!(json.body.starts_with('{'), "{}", json.body);
    let bad = admin.get(&f, "/api/v1/posts?format=xml").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

    // items: the reason of a tenant's own decision
    let (_, items) = rows_of(
        &get_accepting(&f, &admin, "/api/v1/items?tenant=alpha", "text/csv").await,
        "alpha's items",
    );
    let mc1 = find(&items, "post_id", "MC1");
    assert_eq!(
        (mc1["decision"].as_str(), mc1["decision_reason"].as_str()),
        ("deferred", "alpha waits for Q3")
    );
    // cut at the limit asked: said in a header and the file's name
    let cut = admin.get(&f, "/api/v1/items?format=csv&limit=2").await;
    assert_eq!(cut.headers["x-changedesk-truncated"], "2");
    assert!(
        cut.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("changedesk-items-2026-03-10-first-2.csv")
    );
    let (_, two) = rows_of(&cut, "cut items");
    assert_eq!(two.len(), 2);

    // tenant scope: alpha's user sees neither zulu's post nor its decision
    let scoped = sign_in(&f, "scoped").await;
    let (_, posts) = rows_of(
        &scoped.get(&f, "/api/v1/posts?format=csv").await,
        "alpha's user's posts",
    );
    assert!(!ids(&posts, "id").contains(&"MC2"));
    let (_, items) = rows_of(
        &scoped.get(&f, "/api/v1/items?format=csv").await,
        "alpha's user's items",
    );
    assert_eq!(ids(&items, "post_id"), ["MC1", "MC666", "MC7", "MC8"]);
    let (header, none) = rows_of(
        &scoped.get(&f, "/api/v1/items?format=csv&tenant=zulu").await,
        "zulu's items",
    );
    assert!(none.is_empty() && header.first().map(String::as_str) == Some("post_id"));
    // without a session or token: 401, not a file
    let anonymous = send(&f.app, super::ui::get("/api/v1/items?format=csv", None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

both!(
    the_inbox_downloads_its_whole_view_as_csv,
    the_items_list_downloads_every_page_as_csv,
    the_api_lists_answer_csv_when_asked,
);

/// More posts than an export holds: the first 10,000, said in a header and
/// the file's name (and the API's list as the inbox's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_past_its_most_rows_says_it_was_cut() {
    let t = changedesk_store::testing::TestStore::sqlite().await;
    let store = t.store.clone();
    let most = changedesk_server::export::MAX_ROWS;
    let posts: Vec<_> = (0..=most)
        .map(|i| {
            post(
                &format!("MC{}", 100_000 + i),
                "2026-02-01T00:00:00Z",
                &format!("Post {i}"),
                "<p>x</p>",
                json!({}),
            )
        })
        .collect();
    store
        .import_messages("alpha", &posts, &super::ui::opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    super::ui::user(
        &store,
        "admin",
        changedesk_core::access::Role::Admin,
        changedesk_core::access::Scope::default(),
    )
    .await;
    let f = super::ui::served(store);
    let admin = sign_in(&f, "admin").await;
    for path in ["/?format=csv", "/api/v1/posts?format=csv"] {
        let a = admin.get(&f, path).await;
        assert_eq!(
            a.headers["x-changedesk-truncated"],
            most.to_string().as_str(),
            "{path}"
        );
        assert!(
            a.headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains(&format!("-first-{most}.csv")),
            "{path}"
        );
        let (_, rows) = rows_of(&a, path);
        assert_eq!(rows.len(), most, "{path}");
    }
    // one fewer fits whole
    let a = admin.get(&f, "/?q=-%22Post+0%22&format=csv").await;
    let (_, rows) = rows_of(&a, "one fewer");
    assert_eq!(rows.len(), most, "{}", rows.len());
    assert!(a.headers.get("x-changedesk-truncated").is_none());
    t.finish().await;
}
