//! Feeds of saved views, identically on every backend: created on a view of
//! one's own, listed, looked up by the hash of their secret with the view's
//! query and the user as they are now (never a disabled user's), revoked
//! by their owner only, bounded per user, gone with their view or user, and
//! audited; their last use recorded at most once an hour; and the posts the
//! calendar and the feeds read, with their current content.

use changedesk_core::access::{Role, Scope};
use changedesk_store::{
    FEED_USE_GRANULARITY_SECS, MAX_FEEDS_PER_USER, NewUser, Store, StoreError, User, UserUpdate,
};
use serde_json::json;

use crate::conformance;
use crate::fixtures::*;

async fn add(store: &Store, name: &str) -> User {
    store
        .create_user(
            &NewUser {
                name: name.into(),
                display_name: name.into(),
                email: format!("{name}@example.com"),
                role: Role::Reader,
                scope: Scope::default(),
                password_hash: None,
                oidc_subject: None,
                disabled: false,
                at: at("2026-03-01T00:00:00Z"),
            },
            "root",
        )
        .await
        .unwrap()
}

/// (actor, action, target, detail) of the audit entries with actions
/// starting `feed.`, oldest first.
async fn feed_audit(store: &Store) -> Vec<(String, String, String, serde_json::Value)> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action.starts_with("feed."))
        .map(|e| (e.actor, e.action, e.target, e.detail))
        .collect()
}

fn entry(action: &str, detail: serde_json::Value) -> (String, String, String, serde_json::Value) {
    ("ann".into(), action.into(), "ann".into(), detail)
}

conformance!(
    feeds_are_created_looked_up_by_secret_revoked_and_audited,
    |store: Store| async move {
        let ann = add(&store, "ann").await;
        let bob = add(&store, "bob").await;
        let t1 = at("2026-03-02T10:00:00Z");
        let t2 = at("2026-03-03T10:00:00Z");
        let teams = store
            .save_view(ann.id, "Teams", "service=Microsoft+Teams", "ann", &t1)
            .await
            .unwrap();
        let all = store
            .save_view(ann.id, "all", "", "ann", &t1)
            .await
            .unwrap();
        let feed = store
            .create_view_feed(ann.id, teams.id, "hash-one", "abc123", "ann", &t1)
            .await
            .unwrap();
        assert_eq!(
            (
                feed.user_id,
                feed.view_id,
                feed.view_name.as_str(),
                feed.view_query.as_str(),
                feed.hint.as_str(),
                feed.created_at,
                feed.last_used_at
            ),
            (
                ann.id,
                teams.id,
                "Teams",
                "service=Microsoft+Teams",
                "abc123",
                t1,
                None
            )
        );
        let other = store
            .create_view_feed(ann.id, all.id, "hash-two", "def456", "ann", &t1)
            .await
            .unwrap();
        // listed by view name ignoring case: `all` before `Teams`
        assert_eq!(
            store.view_feeds(ann.id).await.unwrap(),
            vec![other.clone(), feed.clone()]
        );
        assert!(store.view_feeds(bob.id).await.unwrap().is_empty());

        // looked up by the hash alone, with the view and user as they are now
        let (found, user) = store
            .view_feed_by_secret("hash-one")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found, user.id), (feed.clone(), ann.id));
        assert!(
            store
                .view_feed_by_secret("hash-three")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.view_feed_by_secret("").await.unwrap().is_none());
        store
            .save_view(
                ann.id,
                "teams",
                "service=Microsoft+Teams&major=true",
                "ann",
                &t2,
            )
            .await
            .unwrap();
        let (found, _) = store
            .view_feed_by_secret("hash-one")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.view_query, "service=Microsoft+Teams&major=true");

        // a view one does not have: not found (someone else's included)
        assert!(matches!(
            store
                .create_view_feed(bob.id, teams.id, "hash-bob", "bob111", "bob", &t1)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .create_view_feed(9999, teams.id, "hash-ghost", "ghost1", "ghost", &t1)
                .await,
            Err(StoreError::NotFound(_))
        ));
        // the same secret twice: a conflict
        assert!(matches!(
            store
                .create_view_feed(ann.id, all.id, "hash-one", "abc123", "ann", &t1)
                .await,
            Err(StoreError::Conflict(_))
        ));
        // an empty hash or hint: refused
        for (hash, hint) in [(" ", "abc"), ("hash-x", " ")] {
            assert!(matches!(
                store
                    .create_view_feed(ann.id, all.id, hash, hint, "ann", &t1)
                    .await,
                Err(StoreError::Invalid(_))
            ));
        }

        // only the owner revokes: someone else's feed is not found
        match store.revoke_view_feed(bob.id, feed.id, "bob", &t2).await {
            Err(StoreError::NotFound(m)) => assert!(m.contains("feed"), "{m}"),
            other => panic!("expected not found, got {other:?}"),
        }
        assert!(
            store
                .view_feed_by_secret("hash-one")
                .await
                .unwrap()
                .is_some()
        );
        store
            .revoke_view_feed(ann.id, feed.id, "ann", &t2)
            .await
            .unwrap();
        assert!(
            store
                .view_feed_by_secret("hash-one")
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            store.revoke_view_feed(ann.id, feed.id, "ann", &t2).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.view_feeds(ann.id).await.unwrap(), vec![other.clone()]);

        // a disabled user's feeds do not open, nor can they make one
        store
            .update_user(
                "ann",
                &UserUpdate {
                    disabled: Some(true),
                    ..UserUpdate::default()
                },
                "root",
                &t2,
            )
            .await
            .unwrap();
        assert!(
            store
                .view_feed_by_secret("hash-two")
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            store
                .create_view_feed(ann.id, all.id, "hash-four", "ghi789", "ann", &t2)
                .await,
            Err(StoreError::Invalid(_))
        ));
        store
            .update_user(
                "ann",
                &UserUpdate {
                    disabled: Some(false),
                    ..UserUpdate::default()
                },
                "root",
                &t2,
            )
            .await
            .unwrap();
        assert!(
            store
                .view_feed_by_secret("hash-two")
                .await
                .unwrap()
                .is_some()
        );

        // creating and revoking are audited, with the user as target; the
        // secret's hash is never in the log
        assert_eq!(
            feed_audit(&store).await,
            vec![
                entry(
                    "feed.create",
                    json!({"id": feed.id, "view": "Teams", "hint": "abc123"})
                ),
                entry(
                    "feed.create",
                    json!({"id": other.id, "view": "all", "hint": "def456"})
                ),
                entry(
                    "feed.revoke",
                    json!({"id": feed.id, "view": "Teams", "hint": "abc123"})
                ),
            ]
        );
        let log = serde_json::to_string(&store.audit_log(1000).await.unwrap()).unwrap();
        assert!(!log.contains("hash-"), "{log}");

        // a feed goes with its view, and a user's feeds with the user
        store
            .delete_saved_view(ann.id, all.id, "ann", &t2)
            .await
            .unwrap();
        assert!(
            store
                .view_feed_by_secret("hash-two")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.view_feeds(ann.id).await.unwrap().is_empty());
        let view = store
            .save_view(bob.id, "mine", "", "bob", &t2)
            .await
            .unwrap();
        store
            .create_view_feed(bob.id, view.id, "hash-bob", "bob111", "bob", &t2)
            .await
            .unwrap();
        store.delete_user("bob", "root", &t2).await.unwrap();
        assert!(
            store
                .view_feed_by_secret("hash-bob")
                .await
                .unwrap()
                .is_none()
        );
    }
);

conformance!(feeds_per_user_are_capped, |store: Store| async move {
    let ann = add(&store, "ann").await;
    let bob = add(&store, "bob").await;
    let t = at("2026-03-02T10:00:00Z");
    let view = store.save_view(ann.id, "all", "", "ann", &t).await.unwrap();
    let mut feeds = Vec::new();
    for i in 0..MAX_FEEDS_PER_USER {
        feeds.push(
            store
                .create_view_feed(
                    ann.id,
                    view.id,
                    &format!("hash-{i}"),
                    &format!("h{i}"),
                    "ann",
                    &t,
                )
                .await
                .unwrap(),
        );
    }
    match store
        .create_view_feed(ann.id, view.id, "hash-more", "more", "ann", &t)
        .await
    {
        Err(StoreError::Invalid(m)) => assert!(m.contains("revoke one first"), "{m}"),
        other => panic!("expected the cap, got {other:?}"),
    }
    assert!(
        store
            .view_feed_by_secret("hash-more")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.view_feeds(ann.id).await.unwrap().len(),
        MAX_FEEDS_PER_USER
    );
    // the cap is per user
    let bobs = store.save_view(bob.id, "all", "", "bob", &t).await.unwrap();
    store
        .create_view_feed(bob.id, bobs.id, "hash-bob", "bob", "bob", &t)
        .await
        .unwrap();
    // revoking one makes room
    store
        .revoke_view_feed(ann.id, feeds[3].id, "ann", &t)
        .await
        .unwrap();
    store
        .create_view_feed(ann.id, view.id, "hash-more", "more", "ann", &t)
        .await
        .unwrap();
    assert_eq!(
        store.view_feeds(ann.id).await.unwrap().len(),
        MAX_FEEDS_PER_USER
    );
});

conformance!(
    a_feeds_use_is_recorded_at_most_hourly,
    |store: Store| async move {
        let ann = add(&store, "ann").await;
        let t = at("2026-03-02T10:00:00Z");
        let view = store.save_view(ann.id, "all", "", "ann", &t).await.unwrap();
        let feed = store
            .create_view_feed(ann.id, view.id, "hash-one", "abc", "ann", &t)
            .await
            .unwrap();
        let hour = time::Duration::seconds(FEED_USE_GRANULARITY_SECS);
        let used = |now: changedesk_core::Timestamp| {
            let store = store.clone();
            async move {
                store
                    .view_feed_used(feed.id, &now, &now.saturating_add(-hour))
                    .await
                    .unwrap();
                store
                    .view_feed_by_secret("hash-one")
                    .await
                    .unwrap()
                    .unwrap()
                    .0
                    .last_used_at
            }
        };
        let first = at("2026-03-02T11:00:00Z");
        assert_eq!(used(first).await, Some(first));
        // within the hour: not written again
        assert_eq!(used(at("2026-03-02T11:30:00Z")).await, Some(first));
        let later = at("2026-03-02T12:00:01Z");
        assert_eq!(used(later).await, Some(later));
        // bookkeeping: not audited
        assert_eq!(feed_audit(&store).await.len(), 1);
    }
);

conformance!(
    calendar_posts_are_the_current_revisions_in_the_order_asked,
    |store: Store| async move {
        store
            .import_messages(
                "contoso",
                &[
                    post("MC1", "2026-02-01T00:00:00Z"),
                    post("MC2", "2026-02-02T00:00:00Z"),
                ],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let edited = with(
            post_json("MC1", "2026-02-10T00:00:00Z"),
            "body",
            json!({"contentType": "html", "content": "<p>[When this will happen:]</p><p>Rollout begins in May 2026.</p>"}),
        );
        store
            .import_messages(
                "contoso",
                &[parse(&edited), post("MC2", "2026-02-02T00:00:00Z")],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let ids = ["MC2", "MC404", "MC1"].map(String::from);
        let got = store.calendar_posts(&ids).await.unwrap();
        let seen: Vec<(&str, i64)> = got.iter().map(|p| (p.id.as_str(), p.revision)).collect();
        assert_eq!(
            seen,
            [("MC2", 1), ("MC1", 2)],
            "in the order asked, unknown ids left out"
        );
        let mc1 = &got[1];
        assert!(
            mc1.content.body_html.contains("May 2026"),
            "{:?}",
            mc1.content
        );
        assert_eq!(mc1.modified(), at("2026-02-10T00:00:00Z"));
        assert_eq!(mc1.first_seen, at("2026-03-01T00:00:00Z"));
        assert!(store.calendar_posts(&[]).await.unwrap().is_empty());
    }
);
