//! Saved views, identically on every backend: per user, unique by name in
//! any case (saving again replaces the query), sorted the same whatever the
//! database's collation, bounded, refused when malformed, deleted only by
//! their owner, gone with their user, and audited.

use changedesk_core::access::{Role, Scope};
use changedesk_store::{MAX_SAVED_VIEWS, NewUser, Store, StoreError, User};
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
/// starting `view.`, oldest first.
async fn view_audit(store: &Store) -> Vec<(String, String, String, serde_json::Value)> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action.starts_with("view."))
        .map(|e| (e.actor, e.action, e.target, e.detail))
        .collect()
}

fn invalid<T: std::fmt::Debug>(r: Result<T, StoreError>, needle: &str) {
    match r {
        Err(StoreError::Invalid(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected Invalid containing {needle:?}, got {other:?}"),
    }
}

conformance!(
    saved_views_are_per_user_unique_by_name_and_audited,
    |store: Store| async move {
        let ann = add(&store, "ann").await;
        let bob = add(&store, "bob").await;
        let t1 = at("2026-03-02T10:00:00Z");
        let t2 = at("2026-03-03T10:00:00Z");
        let a = store
            .save_view(
                ann.id,
                "  Teams majors ",
                "?service=Microsoft+Teams&major=true",
                "ann",
                &t1,
            )
            .await
            .unwrap();
        assert_eq!(
            (
                a.name.as_str(),
                a.query.as_str(),
                a.user_id,
                a.created_at,
                a.updated_at
            ),
            (
                "Teams majors",
                "service=Microsoft+Teams&major=true",
                ann.id,
                t1,
                t1
            ),
            "trimmed, without the leading ?"
        );
        // names sort ignoring case, whatever the database's collation; the
        // empty query (the whole inbox) is a view too
        store
            .save_view(ann.id, "zulu", "tenant=zulu", "ann", &t1)
            .await
            .unwrap();
        store
            .save_view(ann.id, "Alpha", "", "ann", &t1)
            .await
            .unwrap();
        store
            .save_view(ann.id, "été", "q=%C3%A9t%C3%A9", "ann", &t1)
            .await
            .unwrap();
        let names: Vec<String> = store
            .saved_views(ann.id)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, ["Alpha", "Teams majors", "zulu", "été"]);
        // the same name in another case replaces the query, keeps the view
        let again = store
            .save_view(
                ann.id,
                "TEAMS MAJORS",
                "service=Microsoft+Teams",
                "ann",
                &t2,
            )
            .await
            .unwrap();
        assert_eq!(again.id, a.id);
        assert_eq!(again.name, "Teams majors", "the first spelling stays");
        assert_eq!(again.query, "service=Microsoft+Teams");
        assert_eq!((again.created_at, again.updated_at), (t1, t2));
        assert_eq!(store.saved_views(ann.id).await.unwrap().len(), 4);
        // another user's views are their own, even with the same name
        assert!(store.saved_views(bob.id).await.unwrap().is_empty());
        let b = store
            .save_view(bob.id, "teams majors", "major=true", "bob", &t1)
            .await
            .unwrap();
        assert_ne!(b.id, a.id);
        assert_eq!(store.saved_views(bob.id).await.unwrap(), vec![b.clone()]);
        // only the owner deletes a view: someone else's is not found
        match store.delete_saved_view(bob.id, a.id, "bob", &t2).await {
            Err(StoreError::NotFound(m)) => assert!(m.contains("saved view"), "{m}"),
            other => panic!("expected not found, got {other:?}"),
        }
        assert_eq!(store.saved_views(ann.id).await.unwrap().len(), 4);
        store
            .delete_saved_view(ann.id, a.id, "ann", &t2)
            .await
            .unwrap();
        assert!(matches!(
            store.delete_saved_view(ann.id, a.id, "ann", &t2).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.saved_views(ann.id).await.unwrap().len(), 3);
        // every change is audited, with the user as target
        let audit = view_audit(&store).await;
        assert_eq!(audit.len(), 7, "{audit:?}");
        assert_eq!(
            audit[0],
            (
                "ann".to_string(),
                "view.save".to_string(),
                "ann".to_string(),
                json!({"view": "Teams majors", "query": "service=Microsoft+Teams&major=true"})
            )
        );
        assert_eq!(
            audit[4].3,
            json!({"view": "Teams majors", "query": "service=Microsoft+Teams",
                   "previous_query": "service=Microsoft+Teams&major=true"})
        );
        assert_eq!(
            audit[6],
            (
                "ann".to_string(),
                "view.delete".to_string(),
                "ann".to_string(),
                json!({"view": "Teams majors", "query": "service=Microsoft+Teams"})
            )
        );
        // a user's views go with the user
        store.delete_user("bob", "root", &t2).await.unwrap();
        assert!(store.saved_views(bob.id).await.unwrap().is_empty());
    }
);

conformance!(
    bad_saved_views_are_refused_and_change_nothing,
    |store: Store| async move {
        let ann = add(&store, "ann").await;
        let t = at("2026-03-02T10:00:00Z");
        invalid(
            store.save_view(ann.id, "  ", "q=x", "ann", &t).await,
            "needs a name",
        );
        invalid(
            store
                .save_view(ann.id, &"n".repeat(101), "q=x", "ann", &t)
                .await,
            "longer than 100 characters",
        );
        invalid(
            store.save_view(ann.id, "a\u{7}b", "q=x", "ann", &t).await,
            "control",
        );
        invalid(
            store
                .save_view(
                    ann.id,
                    "long",
                    &format!("q={}", "x".repeat(2000)),
                    "ann",
                    &t,
                )
                .await,
            "longer than 2000 bytes",
        );
        invalid(
            store.save_view(ann.id, "spaces", "q=a b", "ann", &t).await,
            "spaces",
        );
        invalid(
            store
                .save_view(ann.id, "newline", "q=a\nb", "ann", &t)
                .await,
            "spaces",
        );
        assert!(matches!(
            store.save_view(9999, "ghost", "q=x", "ghost", &t).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.saved_views(ann.id).await.unwrap().is_empty());
        assert!(view_audit(&store).await.is_empty(), "nothing audited");
        // at most MAX_SAVED_VIEWS, but a full list still takes new queries
        // for the views it has
        for i in 0..MAX_SAVED_VIEWS {
            store
                .save_view(ann.id, &format!("view {i}"), &format!("q={i}"), "ann", &t)
                .await
                .unwrap();
        }
        invalid(
            store.save_view(ann.id, "one more", "q=x", "ann", &t).await,
            "delete one first",
        );
        let kept = store
            .save_view(ann.id, "VIEW 7", "q=seven", "ann", &t)
            .await
            .unwrap();
        assert_eq!(
            (kept.name.as_str(), kept.query.as_str()),
            ("view 7", "q=seven")
        );
        assert_eq!(
            store.saved_views(ann.id).await.unwrap().len(),
            MAX_SAVED_VIEWS
        );
    }
);
