//! A person's time zone, identically on every backend: none at first (UTC),
//! set in the database's spelling, read with the session, cleared, refused
//! when it is not a time zone (nothing stored, nothing audited), and every
//! change audited as `user.update` of that user.

use changedesk_core::access::{Role, Scope};
use changedesk_store::{NewSession, NewUser, Store, StoreError, User};
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

/// (actor, target, detail) of the `user.update` entries, oldest first.
async fn updates(store: &Store) -> Vec<(String, String, serde_json::Value)> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action == "user.update")
        .map(|e| (e.actor, e.target, e.detail))
        .collect()
}

conformance!(
    a_time_zone_is_set_read_with_the_session_cleared_and_audited,
    |store: Store| async move {
        let ann = add(&store, "ann").await;
        let bob = add(&store, "bob").await;
        let t1 = at("2026-03-02T10:00:00Z");
        let t2 = at("2026-03-03T10:00:00Z");
        assert_eq!(ann.time_zone, None);
        assert_eq!(store.user_time_zone(ann.id).await.unwrap(), None);
        // stored as the database spells it
        let set = store
            .set_user_time_zone(ann.id, Some(" europe/paris "), "ann", &t1)
            .await
            .unwrap();
        assert_eq!(set.as_deref(), Some("Europe/Paris"));
        assert_eq!(
            store.user_time_zone(ann.id).await.unwrap().as_deref(),
            Some("Europe/Paris")
        );
        assert_eq!(store.user_time_zone(bob.id).await.unwrap(), None);
        // every read of the user carries it, the session's included
        let user = store.user_by_id(ann.id).await.unwrap().unwrap();
        assert_eq!(user.time_zone.as_deref(), Some("Europe/Paris"));
        assert_eq!(user.updated_at, t1);
        store
            .create_session(&NewSession {
                token_hash: "h-ann".into(),
                user_id: ann.id,
                csrf_token: "c-ann".into(),
                created_at: t1,
                expires_at: at("2026-03-09T00:00:00Z"),
            })
            .await
            .unwrap();
        let (_, user) = store.session("h-ann", &t2).await.unwrap().unwrap();
        assert_eq!(user.time_zone.as_deref(), Some("Europe/Paris"));
        // the same again writes nothing
        store
            .set_user_time_zone(ann.id, Some("Europe/Paris"), "ann", &t2)
            .await
            .unwrap();
        assert_eq!(updates(&store).await.len(), 1);
        // cleared: back to UTC (blank is none)
        assert_eq!(
            store
                .set_user_time_zone(ann.id, Some("  "), "admin", &t2)
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.user_time_zone(ann.id).await.unwrap(), None);
        let (_, user) = store.session("h-ann", &t2).await.unwrap().unwrap();
        assert_eq!(user.time_zone, None);
        assert_eq!(
            updates(&store).await,
            vec![
                (
                    "ann".to_string(),
                    "ann".to_string(),
                    json!({"time_zone": "Europe/Paris", "previous_time_zone": null})
                ),
                (
                    "admin".to_string(),
                    "ann".to_string(),
                    json!({"time_zone": null, "previous_time_zone": "Europe/Paris"})
                ),
            ]
        );
        // an unknown user
        assert!(matches!(
            store.set_user_time_zone(9999, Some("UTC"), "x", &t2).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.user_time_zone(9999).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

conformance!(
    a_name_that_is_not_a_time_zone_is_refused_and_stores_nothing,
    |store: Store| async move {
        let ann = add(&store, "ann").await;
        let t = at("2026-03-02T10:00:00Z");
        store
            .set_user_time_zone(ann.id, Some("Asia/Tokyo"), "ann", &t)
            .await
            .unwrap();
        let long = "Europe/".repeat(20);
        for bad in [
            "Mars/Olympus",
            "Etc/Unknown",
            "Europe/\u{7}Paris",
            "../../etc/passwd",
            long.as_str(),
        ] {
            match store.set_user_time_zone(ann.id, Some(bad), "ann", &t).await {
                Err(StoreError::Invalid(m)) => {
                    assert!(
                        m.contains("is not a time zone; use a name like Europe/Paris"),
                        "{m}"
                    )
                }
                other => panic!("{bad:?}: expected Invalid, got {other:?}"),
            }
        }
        match store
            .set_user_time_zone(ann.id, Some("Mars/Olympus"), "ann", &t)
            .await
        {
            Err(StoreError::Invalid(m)) => assert_eq!(
                m,
                "`Mars/Olympus` is not a time zone; use a name like Europe/Paris"
            ),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert_eq!(
            store.user_time_zone(ann.id).await.unwrap().as_deref(),
            Some("Asia/Tokyo")
        );
        assert_eq!(updates(&store).await.len(), 1, "only the good one");
    }
);
