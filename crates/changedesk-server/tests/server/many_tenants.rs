//! Thousands of tenants, fast (issue 18): a list row counts the tenants that
//! see a post and names the tenant groups holding them, never every tenant
//! (names only when few, or when asked); a post's page and answer page and
//! search its tenants; `/items` pages 50 at a time; and a tenant-limited
//! user learns of their own tenants only (names, counts, groups' sizes).

use changedesk_core::access::{Role, Scope};
use changedesk_core::triage::{TenantGroup, WorkItem};
use changedesk_store::Store;
use serde_json::{Value, json};

use super::ui::{Browser, Fixture, NOW, at, opts, post, sign_in, user};

/// How many tenants see MC100.
const MANY: usize = 60;

fn tenant(i: usize) -> String {
    format!("t-{i:03}")
}

/// Tenants t-001 … t-060 all see MC100; t-001 and t-002 see MC200; t-001
/// sees MC300 … MC359 as well. Groups: `eu` (t-001 … t-019), `us` (t-020 …
/// t-029), `far` (no tenant). Work items for every post. Users: `admin`,
/// and `scoped`, a reader limited to t-001, t-002 and t-025.
async fn many(store: Store) -> Fixture {
    let p = |id: &str| {
        post(
            id,
            "2026-02-01T00:00:00Z",
            &format!("Post {id}"),
            "<p>x</p>",
            json!({}),
        )
    };
    let details = json!({"details": [{"name": "FeatureStatusJson", "value":
        r#"{"412345":[{"RoadmapId":"412345","Platform":"Desktop","Status":"Rolling out","LastUpdateTime":"2026-02-01T00:00:00Z"}]}"#}]});
    let everyone = post(
        "MC100",
        "2026-02-02T00:00:00Z",
        "Seen by every tenant",
        "<p>x</p>",
        details,
    );
    for i in 1..=MANY {
        let mut listing = vec![everyone.clone()];
        if i <= 2 {
            listing.push(p("MC200"));
        }
        if i == 1 {
            listing.extend((300..360).map(|n| p(&format!("MC{n}"))));
        }
        store
            .import_messages(&tenant(i), &listing, &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
    }
    for (name, include) in [
        ("eu", vec!["t-00*", "t-01*"]),
        ("us", vec!["t-02?"]),
        ("far", vec!["zz-*"]),
    ] {
        store
            .put_group(
                &TenantGroup {
                    name: name.into(),
                    description: String::new(),
                    include: include.into_iter().map(String::from).collect(),
                    exclude: Vec::new(),
                },
                "test",
                &at(NOW),
            )
            .await
            .unwrap();
    }
    let ids = ["MC100".to_string(), "MC200".to_string()]
        .into_iter()
        .chain((300..360).map(|n| format!("MC{n}")));
    for id in ids {
        let item = WorkItem::new(&id, at(NOW));
        crate::save_new_item(&store, &item, at(NOW)).await;
    }
    user(&store, "admin", Role::Admin, Scope::default()).await;
    let scope = Scope {
        tenants: vec![tenant(1), tenant(2), tenant(25)],
        groups: vec![],
    };
    user(&store, "scoped", Role::Reader, scope).await;
    super::ui::served(store)
}

async fn json_of(b: &Browser, f: &Fixture, path: &str) -> Value {
    let a = b.get(f, path).await;
    assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    serde_json::from_str(&a.body).unwrap()
}

/// The row of `id` in a list of posts (`items`) or of items (an array).
fn row<'a>(list: &'a Value, id: &str) -> &'a Value {
    let rows = list
        .get("items")
        .unwrap_or(list)
        .as_array()
        .expect("a list");
    rows.iter()
        .find(|r| r.get("id").or_else(|| r.get("post_id")) == Some(&json!(id)))
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|t| {
            t.as_str()
                .or_else(|| t["tenant"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The list of a page (its table of posts or items, the board's columns),
/// without the inbox's facets (a tenant facet lists its first few values).
fn rows_of(body: &str) -> &str {
    let start = body
        .find("<table class=\"posts\">")
        .or_else(|| body.find("<div class=\"board\">"))
        .unwrap_or(0);
    body.get(start..).unwrap_or(body)
}

/// No tenant of t-003 … t-060 but those of `except` is named in `text`.
fn names_none_but(text: &str, except: &[usize]) {
    for i in 3..=MANY {
        if !except.contains(&i) {
            assert!(
                !text.contains(&tenant(i)),
                "{} is named:\n{text}",
                tenant(i)
            );
        }
    }
}

async fn lists_count_tenants_and_name_their_groups(store: Store) {
    let f = many(store).await;
    let b = sign_in(&f, "admin").await;
    let both =
        json!([{"name": "eu", "count": 19, "size": 19}, {"name": "us", "count": 10, "size": 10}]);

    // the API's post list: a count and the groups; names only when few
    let list = json_of(&b, &f, "/api/v1/posts?limit=200").await;
    let mc100 = row(&list, "MC100");
    assert_eq!(mc100["tenant_count"], MANY, "{mc100}");
    assert_eq!(mc100["tenants_seen"], MANY, "{mc100}");
    assert_eq!(mc100["groups"], both, "{mc100}");
    assert!(mc100.get("tenants").is_none(), "{mc100}");
    let mc200 = row(&list, "MC200");
    assert_eq!(mc200["tenant_count"], 2, "{mc200}");
    assert_eq!(names(&mc200["tenants"]), ["t-001", "t-002"]);
    assert_eq!(
        mc200["groups"],
        json!([{"name": "eu", "count": 2, "size": 19}])
    );
    names_none_but(&list.to_string(), &[]);
    // … unless asked
    let named = json_of(&b, &f, "/api/v1/posts?limit=200&include=tenants").await;
    let all: Vec<String> = (1..=MANY).map(tenant).collect();
    assert_eq!(names(&row(&named, "MC100")["tenants"]), all);
    let bad = b.get(&f, "/api/v1/posts?include=everything").await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // the API's item list alike
    let items = json_of(&b, &f, "/api/v1/items").await;
    let item = row(&items, "MC100");
    assert_eq!(
        (&item["tenant_count"], &item["groups"]),
        (&json!(MANY), &both)
    );
    assert!(item.get("tenants").is_none(), "{item}");
    assert_eq!(names(&row(&items, "MC200")["tenants"]), ["t-001", "t-002"]);
    names_none_but(&items.to_string(), &[]);
    let items = json_of(&b, &f, "/api/v1/items?include=tenants").await;
    assert_eq!(names(&row(&items, "MC100")["tenants"]), all);

    // the inbox, search results, /items and the board
    for path in ["/?q=seen", "/", "/items", "/board"] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, 200, "{path}");
        assert!(
            a.body.contains("60 tenants: eu 19 of 19, us 10 of 10"),
            "{path}: {}",
            a.body
        );
        names_none_but(rows_of(&a.body), &[]);
    }
    let inbox = b.get(&f, "/?q=MC200").await;
    assert!(inbox.body.contains("t-001, t-002"), "{}", inbox.body);
}

async fn a_post_pages_and_searches_its_tenants(store: Store) {
    let f = many(store).await;
    let b = sign_in(&f, "admin").await;

    // the API: 50 a page, by name
    let first = json_of(&b, &f, "/api/v1/posts/MC100").await;
    assert_eq!(
        (
            &first["tenant_count"],
            &first["tenant_matches"],
            &first["tenant_page"],
            &first["tenant_pages"]
        ),
        (&json!(MANY), &json!(MANY), &json!(1), &json!(2)),
        "{first}"
    );
    let expected: Vec<String> = (1..=50).map(tenant).collect();
    assert_eq!(names(&first["tenants"]), expected);
    assert_eq!(
        first["groups"],
        json!([{"name": "eu", "count": 19, "size": 19}, {"name": "us", "count": 10, "size": 10}])
    );
    let second = json_of(&b, &f, "/api/v1/posts/MC100?tenant_page=2").await;
    let expected: Vec<String> = (51..=MANY).map(tenant).collect();
    assert_eq!(names(&second["tenants"]), expected);
    let found = json_of(&b, &f, "/api/v1/posts/MC100?tenant_q=T-04").await;
    let expected: Vec<String> = (40..=49).map(tenant).collect();
    assert_eq!(names(&found["tenants"]), expected);
    assert_eq!(
        (&found["tenant_matches"], &found["tenant_pages"]),
        (&json!(10), &json!(1))
    );
    let past = json_of(&b, &f, "/api/v1/posts/MC100?tenant_page=9").await;
    assert_eq!(past["tenants"], json!([]), "{past}");
    for bad in ["tenant_page=0", "tenant_page=x", "tenants=1"] {
        let a = b.get(&f, &format!("/api/v1/posts/MC100?{bad}")).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
    }

    // the page: the count, the groups, one page of names, a search
    let page = b.get(&f, "/posts/MC100").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("(60)"), "{}", page.body);
    assert!(
        page.body.contains("Groups: eu 19 of 19, us 10 of 10"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<b>t-050</b>") && !page.body.contains("t-051"));
    assert!(page.body.contains("1–50 of 60"), "{}", page.body);
    assert!(
        page.body
            .contains(r#"href="/posts/MC100?tenant_page=2#tenants" rel="next""#),
        "{}",
        page.body
    );
    // the rollout is one row for the 60 tenants with that status
    assert!(
        page.body.contains("<td>60 tenants</td><td>412345</td>"),
        "{}",
        page.body
    );
    let next = b.get(&f, "/posts/MC100?tenant_page=2").await;
    assert!(next.body.contains("<b>t-051</b>") && !next.body.contains("<b>t-050</b>"));
    assert!(next.body.contains("51–60 of 60"), "{}", next.body);
    let found = b.get(&f, "/posts/MC100?tenant_q=t-04").await;
    assert!(found.body.contains("1–10 of 10 matching"), "{}", found.body);
    assert!(found.body.contains("<b>t-049</b>") && !found.body.contains("<b>t-050</b>"));
    let bad = b.get(&f, "/posts/MC100?tenant_page=0").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    // few tenants: no search, every name
    let few = b.get(&f, "/posts/MC200").await;
    assert!(few.body.contains("<b>t-002</b>") && !few.body.contains("Find a tenant"));
}

async fn items_page_50_at_a_time(store: Store) {
    let f = many(store).await;
    let b = sign_in(&f, "admin").await;
    let rows = |body: &str| body.matches("<tr data-row>").count();
    let first = b.get(&f, "/items").await;
    assert_eq!(first.status, 200);
    assert_eq!(rows(&first.body), 50, "{}", first.body);
    assert!(
        first.body.contains("62 items, 1–50 shown"),
        "{}",
        first.body
    );
    assert!(
        first.body.contains(r#"href="/items?page=2" rel="next""#),
        "{}",
        first.body
    );
    let second = b.get(&f, "/items?page=2").await;
    assert_eq!(rows(&second.body), 12);
    assert!(
        second.body.contains("62 items, 51–62 shown"),
        "{}",
        second.body
    );
    assert!(!second.body.contains("rel=\"next\""));
    let filtered = b.get(&f, "/items?state=open&page=2").await;
    assert!(
        filtered
            .body
            .contains(r#"href="/items?state=open" rel="prev""#),
        "{}",
        filtered.body
    );
    assert_eq!(b.get(&f, "/items?page=0").await.status, 400);
    // the board counts every item, and shows the first cards
    let board = b.get(&f, "/board").await;
    assert!(
        board
            .body
            .contains(r#"<a href="/items?state=new">new</a> <span class="muted">62</span>"#),
        "{}",
        board.body
    );
    assert!(board.body.contains("all 62"), "{}", board.body);
}

async fn a_tenant_limited_user_learns_only_of_their_tenants(store: Store) {
    let f = many(store).await;
    let b = sign_in(&f, "scoped").await;
    let mine = ["t-001", "t-002", "t-025"];
    // their tenants are few: named, counted, and the groups' sizes count
    // their tenants only
    let groups =
        json!([{"name": "eu", "count": 2, "size": 2}, {"name": "us", "count": 1, "size": 1}]);
    let list = json_of(&b, &f, "/api/v1/posts?limit=200&include=tenants").await;
    let mc100 = row(&list, "MC100");
    assert_eq!(
        (
            &mc100["tenant_count"],
            &mc100["tenants_seen"],
            &mc100["tenants_visible"]
        ),
        (&json!(3), &json!(3), &json!(3)),
        "{mc100}"
    );
    assert_eq!(names(&mc100["tenants"]), mine);
    assert_eq!(mc100["groups"], groups, "{mc100}");
    names_none_but(&list.to_string(), &[25]);
    let items = json_of(&b, &f, "/api/v1/items?include=tenants").await;
    let item = row(&items, "MC100");
    assert_eq!(
        (&item["tenant_count"], &item["groups"]),
        (&json!(3), &groups)
    );
    assert_eq!(names(&item["tenants"]), mine);
    names_none_but(&items.to_string(), &[25]);
    let detail = json_of(&b, &f, "/api/v1/posts/MC100").await;
    assert_eq!(
        (
            &detail["tenant_count"],
            &detail["tenant_matches"],
            &detail["groups"]
        ),
        (&json!(3), &json!(3), &groups),
        "{detail}"
    );
    assert_eq!(names(&detail["tenants"]), mine);
    let none = json_of(&b, &f, "/api/v1/posts/MC100?tenant_q=t-03").await;
    assert_eq!(
        (&none["tenant_matches"], &none["tenants"]),
        (&json!(0), &json!([]))
    );
    // the pages alike: their names, no count or group size of the others
    for path in [
        "/",
        "/items",
        "/board",
        "/posts/MC100",
        "/posts/MC100?tenant_q=t-0",
    ] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, 200, "{path}");
        names_none_but(&a.body, &[25]);
        for other in ["60 tenants", "of 19", "of 10", "(60)"] {
            assert!(!a.body.contains(other), "{path} says {other}: {}", a.body);
        }
    }
    let page = b.get(&f, "/posts/MC100").await;
    assert!(
        page.body.contains("Groups: eu 2 of 2, us 1 of 1"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<b>t-025</b>"), "{}", page.body);
    assert!(
        page.body.contains("<td>t-001, t-002, t-025</td>"),
        "{}",
        page.body
    );
    let inbox = b.get(&f, "/").await;
    assert!(inbox.body.contains("t-001, t-002, t-025"), "{}", inbox.body);
}

/// Without groups to show, the item cards of `/items` and the board count a
/// post's tenants from the store's counts and name only a few.
async fn item_cards_without_groups_count_tenants(store: Store) {
    let f = many(store.clone()).await;
    for g in ["eu", "us", "far"] {
        store.remove_group(g, "test", &at(NOW)).await.unwrap();
    }
    let b = sign_in(&f, "admin").await;
    for path in ["/items", "/board"] {
        let a = b.get(&f, path).await;
        assert_eq!(a.status, 200, "{path}");
        assert!(a.body.contains("60 tenants"), "{path}: {}", a.body);
        assert!(!a.body.contains("of 19"), "{path}");
        assert!(a.body.contains("t-001, t-002"), "{path}: {}", a.body);
        names_none_but(rows_of(&a.body), &[]);
    }
    // a tenant-limited user: their tenants only, counted or named
    let b = sign_in(&f, "scoped").await;
    let a = b.get(&f, "/items").await;
    assert!(a.body.contains("t-001, t-002, t-025"), "{}", a.body);
    assert!(!a.body.contains("60 tenants"), "{}", a.body);
}

/// The health page's tenant is named in a box when there are more than 50
/// (not a list of every tenant), and the box keeps the choice.
async fn health_names_a_tenant_in_a_box_when_many(store: Store) {
    let f = many(store).await;
    let b = sign_in(&f, "admin").await;
    let page = b.get(&f, "/health?tenant=t-042").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(r#"<input id="h-tenant" name="tenant" value="t-042""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<option value=\"t-0"), "{}", page.body);
    // a tenant-limited user's three tenants are a list
    let b = sign_in(&f, "scoped").await;
    let page = b.get(&f, "/health").await;
    assert!(
        page.body.contains(r#"<option value="t-025">"#),
        "{}",
        page.body
    );
}

both!(
    health_names_a_tenant_in_a_box_when_many,
    item_cards_without_groups_count_tenants,
    lists_count_tenants_and_name_their_groups,
    a_post_pages_and_searches_its_tenants,
    items_page_50_at_a_time,
    a_tenant_limited_user_learns_only_of_their_tenants,
);
