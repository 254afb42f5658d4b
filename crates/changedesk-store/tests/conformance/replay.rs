//! Replays the 806 real Message Center posts in `../shared/data` through three
//! tenants with overlapping subsets, then a round with edits and removals,
//! then a lagging tenant. Every expected count is derived from how the rounds
//! were built, never typed in. Skips (with a message) when `../shared` is absent.

use std::collections::BTreeSet;
use std::path::PathBuf;

use changedesk_core::Timestamp;
use changedesk_core::graph::{Message, listing_items};
use changedesk_store::Store;
use serde_json::{Value, json};

use crate::conformance;
use crate::fixtures::opts;

fn shared_messages() -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/service-messages.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping the replay test: {} is absent", path.display());
        return None;
    };
    let doc: Value = serde_json::from_str(&text).expect("service-messages.json is JSON");
    Some(listing_items(&doc).expect("a listing").clone())
}

const TENANTS: [&str; 3] = ["north", "south", "east"];

/// Tenant t sees post i unless i % 3 == t: every post is seen by exactly two.
fn sees(t: usize, i: usize) -> bool {
    i % 3 != t
}
fn edited(i: usize) -> bool {
    i.is_multiple_of(10)
}
fn removed(i: usize) -> bool {
    i.is_multiple_of(7)
}

fn edit(v: &Value) -> Value {
    let mut v = v.clone();
    let lm = Timestamp::parse(v["lastModifiedDateTime"].as_str().unwrap()).unwrap();
    v["lastModifiedDateTime"] = json!(lm.saturating_add(time::Duration::days(1)).to_canonical());
    let title = v["title"].as_str().unwrap().to_string();
    if !title.starts_with("(Updated)") {
        v["title"] = json!(format!("(Updated) {title}"));
    }
    let body = v["body"]["content"].as_str().unwrap().to_string();
    v["body"]["content"] = json!(format!(
        "{body}<p>[When this will happen:]</p><p>Updated timeline: rollout now begins on 15 January 2027.</p>"
    ));
    v
}

fn parse_all(values: &[&Value]) -> Vec<Message> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Message::from_graph(v, i).expect("real post parses"))
        .collect()
}

conformance!(
    replay_of_real_posts_through_three_tenants,
    |store: Store| async move {
        let Some(all) = shared_messages() else { return };
        let n = all.len();
        assert!(n >= 800, "expected the 806 real posts, found {n}");
        let ids: BTreeSet<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), n, "ids are unique in the sample");

        // Round 1: every tenant's complete listing.
        for (t, name) in TENANTS.iter().enumerate() {
            let listing: Vec<&Value> = (0..n).filter(|&i| sees(t, i)).map(|i| &all[i]).collect();
            let s = store
                .import_messages(name, &parse_all(&listing), &opts("2026-08-22T00:00:00Z"))
                .await
                .unwrap();
            assert_eq!(s.items, listing.len());
            assert_eq!(s.rejected, 0);
        }
        let c = store.counts().await.unwrap();
        assert_eq!(
            (
                c.posts,
                c.post_links,
                c.post_revisions,
                c.gone_links,
                c.expired_posts
            ),
            (n as i64, 2 * n as i64, n as i64, 0, 0)
        );

        // Round 2: north and south see the edits, and lack the removed posts.
        let edited_all: Vec<Value> = all.iter().map(edit).collect();
        for (t, name) in TENANTS.iter().enumerate().take(2) {
            let listing: Vec<&Value> = (0..n)
                .filter(|&i| sees(t, i) && !removed(i))
                .map(|i| if edited(i) { &edited_all[i] } else { &all[i] })
                .collect();
            store
                .import_messages(name, &parse_all(&listing), &opts("2026-08-23T00:00:00Z"))
                .await
                .unwrap();
        }
        // east lags: it still returns the old versions of everything it saw.
        let east: Vec<&Value> = (0..n).filter(|&i| sees(2, i)).map(|i| &all[i]).collect();
        let lag = store
            .import_messages("east", &parse_all(&east), &opts("2026-08-24T00:00:00Z"))
            .await
            .unwrap();

        let reached = |i: usize| edited(i) && !removed(i) && (sees(0, i) || sees(1, i));
        let revisions = n + (0..n).filter(|&i| reached(i)).count();
        let gone: usize = (0..n)
            .filter(|&i| removed(i))
            .map(|i| [0, 1].iter().filter(|&&t| sees(t, i)).count())
            .sum();
        let expired = (0..n).filter(|&i| removed(i) && !sees(2, i)).count();
        let stale = (0..n).filter(|&i| sees(2, i) && reached(i)).count();
        assert!(
            revisions > n && gone > 0 && expired > 0 && stale > 0,
            "the rounds exercise every path"
        );

        let c = store.counts().await.unwrap();
        assert_eq!(c.posts, n as i64, "no post is added by edits or removals");
        assert_eq!(c.post_links, 2 * n as i64, "no link is added");
        assert_eq!(c.post_revisions, revisions as i64);
        assert_eq!(c.gone_links, gone as i64);
        assert_eq!(c.expired_posts, expired as i64);
        assert_eq!(
            (lag.stale, lag.updated, lag.new, lag.gone),
            (stale, 0, 0, 0),
            "the lagging tenant adds nothing and flips nothing back"
        );

        // An edited post: its revision 2 is the edit, and the diff shows the new date.
        let i = (0..n).find(|&i| reached(i) && sees(2, i)).unwrap();
        let id = all[i]["id"].as_str().unwrap();
        let d = store.get_message(id).await.unwrap();
        assert_eq!(d.summary.revision, 2);
        assert!(d.content.title.starts_with("(Updated) "));
        let fields: Vec<&str> = d.revisions[1]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert!(
            fields.contains(&"body") && fields.contains(&"last_modified"),
            "{fields:?}"
        );
        assert_eq!(
            d.revisions[1].tenant.as_deref(),
            Some(TENANTS[(0..2).find(|&t| sees(t, i)).unwrap()])
        );
        let r1 = store.message_revision(id, 1).await.unwrap();
        let r2 = store.message_revision(id, 2).await.unwrap();
        let diff = changedesk_core::diff::message_diff(
            &r1.content,
            &r2.content,
            "revision 1",
            "revision 2",
        );
        assert!(
            diff.contains("+Updated timeline: rollout now begins on 15 January 2027."),
            "{diff}"
        );
        let east_link = d.tenants.iter().find(|t| t.name == "east").unwrap();
        assert_eq!(
            east_link.seen_last_modified, r1.content.last_modified,
            "east still shows revision 1"
        );

        // Loading round 2 again adds nothing.
        let before = store.counts().await.unwrap();
        let listing: Vec<&Value> = (0..n)
            .filter(|&i| sees(0, i) && !removed(i))
            .map(|i| if edited(i) { &edited_all[i] } else { &all[i] })
            .collect();
        let again = store
            .import_messages("north", &parse_all(&listing), &opts("2026-08-25T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            (
                again.new,
                again.updated,
                again.linked,
                again.gone,
                again.reappeared
            ),
            (0, 0, 0, 0, 0)
        );
        assert_eq!(
            changedesk_store::Counts {
                runs: before.runs,
                ..store.counts().await.unwrap()
            },
            before
        );
    }
);
