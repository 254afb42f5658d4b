//! The archive's storage failing and coming back: a full disk (SQLite's
//! `max_page_count` stands in for it) fails the writes that need space,
//! names the cause, and leaves the writer usable once there is space again.

use changedesk_store::testing::TestStore;
use changedesk_store::{Store, StoreError};
use serde_json::json;

use crate::fixtures::*;

/// Posts with bodies large enough to need new pages.
fn big_posts(prefix: &str, n: usize) -> Vec<changedesk_core::graph::Message> {
    (0..n)
        .map(|i| {
            let v = with(
                post_json(&format!("{prefix}{i}"), "2026-02-01T00:00:00Z"),
                "body",
                json!({"contentType": "html", "content": format!("<p>{}</p>", "x".repeat(20_000))}),
            );
            parse(&v)
        })
        .collect()
}

fn owner(name: &str) -> changedesk_core::triage::Owner {
    changedesk_core::triage::Owner::new(name, name, &format!("{name}@example.com")).unwrap()
}

async fn assert_full(store: &Store, what: &str, r: changedesk_store::Result<impl std::fmt::Debug>) {
    match r {
        Err(e @ StoreError::Full(_)) => {
            assert!(e.to_string().contains("disk is full"), "{what}: {e}");
            assert!(e.is_storage_failure());
        }
        other => panic!("{what}: expected a full archive, got {other:?}"),
    }
    let failure = store.write_failure().expect("the failure is remembered");
    assert!(failure.contains("disk is full"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_archive_fails_writes_by_name_and_writes_work_once_there_is_space() {
    let t = TestStore::sqlite().await;
    let store = t.store.clone();
    let now = at("2026-03-01T00:00:00Z");
    store
        .import_messages(
            "alpha",
            &posts(&["MC1", "MC2"]),
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(store.write_failure(), None);
    store.check_writes().await.unwrap();

    let limit = store.sqlite_limit_pages(1).await.unwrap();
    assert!(limit > 1, "SQLite keeps the file's current size: {limit}");
    let big = big_posts("MCBIG", 20);
    // again and again: a failed write must not wedge the writer
    for round in 0..3 {
        let r = store
            .import_messages("alpha", &big, &opts("2026-03-02T00:00:00Z"))
            .await;
        assert_full(&store, &format!("import, round {round}"), r).await;
        assert_full(&store, "the write check", store.check_writes().await).await;
    }
    // a small write that fits in the pages there are still works, and reads
    // go on
    store
        .put_owner(&owner("collab"), "test", &now)
        .await
        .unwrap();
    assert_eq!(store.write_failure(), None, "a write worked");
    assert_full(&store, "the write check", store.check_writes().await).await;
    assert_eq!(store.counts().await.unwrap().posts, 2);

    // space again: every write works, without a restart
    store.sqlite_limit_pages(1_000_000).await.unwrap();
    store.check_writes().await.unwrap();
    assert_eq!(store.write_failure(), None);
    let s = store
        .import_messages("alpha", &big, &opts("2026-03-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(s.new, 20);
    store
        .put_owner(&owner("other"), "test", &now)
        .await
        .unwrap();
    assert_eq!(store.counts().await.unwrap().posts, 22);
    t.finish().await;
}

/// Several processes (here: stores) opening one new SQLite file at once:
/// each waits for the others' migrations instead of failing on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_opening_a_new_file_at_once_all_migrate_it() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let location = changedesk_store::Location::Sqlite(dir.path().join("new.db"));
        let mut opens = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let location = location.clone();
            opens.spawn(async move {
                Store::open(&location, changedesk_store::OpenMode::ReadWrite).await
            });
        }
        let mut i = 0;
        while let Some(s) = opens.join_next().await {
            i += 1;
            let s = s
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}, store {i}: {e}"));
            assert_eq!(s.counts().await.unwrap().posts, 0);
            s.close().await;
        }
    }
}
