//! Sign-in scenarios every backend must pass identically: users with roles
//! and scopes, the last-admin rule, sessions, API tokens, cascades on user
//! deletion, and the audit log of it all.

use changedesk_core::access::{Role, Scope};
use changedesk_store::{
    AuditEntry, AuditFilter, NewSession, NewToken, NewUser, Store, StoreError, User, UserUpdate,
};
use serde_json::json;

use crate::conformance;
use crate::fixtures::*;

// ---------------------------------------------------------------- helpers

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn new_user(name: &str, role: Role, now: &str) -> NewUser {
    NewUser {
        name: name.into(),
        display_name: format!("{name} display"),
        email: format!("{}@example.com", name.trim().to_ascii_lowercase()),
        role,
        scope: Scope::default(),
        password_hash: Some(HASH.into()),
        oidc_subject: None,
        disabled: false,
        at: at(now),
    }
}

async fn add(store: &Store, name: &str, role: Role) -> User {
    store
        .create_user(&new_user(name, role, "2026-03-01T00:00:00Z"), "root")
        .await
        .unwrap()
}

fn scope(tenants: &[&str], groups: &[&str]) -> Scope {
    Scope {
        tenants: tenants.iter().map(|s| s.to_string()).collect(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
    }
}

fn new_session(hash: &str, user_id: i64, created: &str, expires: &str) -> NewSession {
    NewSession {
        token_hash: hash.into(),
        user_id,
        csrf_token: format!("csrf-{hash}"),
        created_at: at(created),
        expires_at: at(expires),
    }
}

fn new_token(user: &str, name: &str, hash: &str, role: Role, expires: Option<&str>) -> NewToken {
    NewToken {
        user: user.into(),
        name: name.into(),
        token_hash: hash.into(),
        prefix: format!("cdk_{}", &hash[..4.min(hash.len())]),
        role,
        scope: Scope::default(),
        created_at: at("2026-03-01T00:00:00Z"),
        expires_at: expires.map(at),
    }
}

/// The audit log, oldest first.
async fn audit(store: &Store) -> Vec<AuditEntry> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log
}

/// (actor, action, target) of each audit entry, oldest first.
async fn audit_triples(store: &Store) -> Vec<(String, String, String)> {
    audit(store)
        .await
        .into_iter()
        .map(|e| (e.actor, e.action, e.target))
        .collect()
}

fn triple(actor: &str, action: &str, target: &str) -> (String, String, String) {
    (actor.into(), action.into(), target.into())
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.name.as_str()).collect()
}

fn expect_invalid<T: std::fmt::Debug>(r: Result<T, StoreError>, words: &[&str]) {
    match r {
        Err(StoreError::Invalid(m)) => {
            for w in words {
                assert!(m.contains(w), "`{w}` missing from: {m}");
            }
        }
        other => panic!("expected Invalid mentioning {words:?}, got {other:?}"),
    }
}

fn expect_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, words: &[&str]) {
    match r {
        Err(StoreError::Conflict(m)) => {
            for w in words {
                assert!(m.contains(w), "`{w}` missing from: {m}");
            }
        }
        other => panic!("expected Conflict mentioning {words:?}, got {other:?}"),
    }
}

fn expect_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, words: &[&str]) {
    match r {
        Err(StoreError::NotFound(m)) => {
            for w in words {
                assert!(m.contains(w), "`{w}` missing from: {m}");
            }
        }
        other => panic!("expected NotFound mentioning {words:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------- users

conformance!(
    users_are_created_read_updated_and_deleted_with_an_audit_trail,
    |store: Store| async move {
        assert!(store.users().await.unwrap().is_empty());
        let alice = store
            .create_user(
                &NewUser {
                    scope: scope(&["Contoso", "contoso", "fabrikam"], &["EU"]),
                    oidc_subject: Some(" subject-a ".into()),
                    ..new_user(" Alice ", Role::Admin, "2026-03-01T00:00:00Z")
                },
                "root",
            )
            .await
            .unwrap();
        assert_eq!(alice.name, "alice", "names are trimmed and lower-cased");
        assert_eq!(alice.display_name, "Alice  display", "trimmed");
        assert_eq!(alice.email, "alice@example.com");
        assert_eq!(alice.role, Role::Admin);
        assert_eq!(
            alice.scope,
            scope(&["contoso", "fabrikam"], &["eu"]),
            "the scope is stored in canonical form"
        );
        assert_eq!(alice.password_hash.as_deref(), Some(HASH));
        assert!(alice.has_password());
        assert_eq!(alice.oidc_subject.as_deref(), Some("subject-a"));
        assert!(!alice.disabled);
        assert_eq!(alice.created_at, at("2026-03-01T00:00:00Z"));
        assert_eq!(alice.updated_at, alice.created_at);
        assert_eq!(alice.last_sign_in_at, None);
        assert!(
            !format!("{alice:?}").contains("argon2"),
            "Debug hides the hash"
        );
        assert!(
            !serde_json::to_string(&alice).unwrap().contains("argon2"),
            "serialising leaves the hash out"
        );

        let bob = store
            .create_user(
                &NewUser {
                    password_hash: None,
                    oidc_subject: Some("subject-b".into()),
                    ..new_user("bob", Role::Reader, "2026-03-01T00:01:00Z")
                },
                "alice",
            )
            .await
            .unwrap();
        assert!(!bob.has_password());
        assert_ne!(alice.id, bob.id);

        // reads
        assert_eq!(names(&store.users().await.unwrap()), vec!["alice", "bob"]);
        assert_eq!(
            store.user_by_name("ALICE").await.unwrap(),
            Some(alice.clone())
        );
        assert_eq!(
            store.user_by_name(" bob ").await.unwrap(),
            Some(bob.clone())
        );
        assert_eq!(store.user_by_name("carol").await.unwrap(), None);
        assert_eq!(store.user_by_id(bob.id).await.unwrap(), Some(bob.clone()));
        assert_eq!(store.user_by_id(9999).await.unwrap(), None);
        assert_eq!(
            store.user_by_oidc_subject("subject-a").await.unwrap(),
            Some(alice.clone())
        );
        assert_eq!(store.user_by_oidc_subject("nobody").await.unwrap(), None);

        // update some fields; the others stay
        let bob2 = store
            .update_user(
                "Bob",
                &UserUpdate {
                    display_name: Some(" Bob Builder ".into()),
                    role: Some(Role::ChangeManager),
                    scope: Some(scope(&["Fabrikam"], &[])),
                    password_hash: Some(Some("$argon2id$new".into())),
                    ..Default::default()
                },
                "alice",
                &at("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(bob2.display_name, "Bob Builder");
        assert_eq!(bob2.role, Role::ChangeManager);
        assert_eq!(bob2.scope, scope(&["fabrikam"], &[]));
        assert_eq!(bob2.password_hash.as_deref(), Some("$argon2id$new"));
        assert_eq!(bob2.email, bob.email);
        assert_eq!(bob2.oidc_subject, bob.oidc_subject);
        assert_eq!(bob2.created_at, bob.created_at);
        assert_eq!(bob2.updated_at, at("2026-03-02T00:00:00Z"));
        assert_eq!(store.user_by_id(bob.id).await.unwrap(), Some(bob2.clone()));

        // a change that changes nothing writes nothing
        let audited = audit(&store).await.len();
        let same = store
            .update_user(
                "bob",
                &UserUpdate {
                    display_name: Some("Bob Builder".into()),
                    role: Some(Role::ChangeManager),
                    ..Default::default()
                },
                "alice",
                &at("2026-03-03T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(same, bob2);
        assert_eq!(audit(&store).await.len(), audited, "nothing audited");

        // remove the password, unlink the subject
        let bob3 = store
            .update_user(
                "bob",
                &UserUpdate {
                    password_hash: Some(None),
                    oidc_subject: Some(None),
                    disabled: Some(true),
                    ..Default::default()
                },
                "alice",
                &at("2026-03-04T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(bob3.password_hash, None);
        assert_eq!(bob3.oidc_subject, None);
        assert!(bob3.disabled);
        assert_eq!(store.user_by_oidc_subject("subject-b").await.unwrap(), None);

        expect_not_found(
            store
                .update_user(
                    "carol",
                    &UserUpdate::default(),
                    "alice",
                    &at("2026-03-04T00:00:00Z"),
                )
                .await,
            &["carol"],
        );

        store
            .delete_user("BOB", "alice", &at("2026-03-05T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(names(&store.users().await.unwrap()), vec!["alice"]);
        assert_eq!(store.user_by_id(bob.id).await.unwrap(), None);
        expect_not_found(
            store
                .delete_user("bob", "alice", &at("2026-03-05T00:00:00Z"))
                .await,
            &["bob"],
        );

        // the audit trail
        let log = audit(&store).await;
        assert_eq!(
            log.iter()
                .map(|e| (e.actor.clone(), e.action.clone(), e.target.clone()))
                .collect::<Vec<_>>(),
            vec![
                triple("root", "user.create", "alice"),
                triple("alice", "user.create", "bob"),
                triple("alice", "user.update", "bob"),
                triple("alice", "user.update", "bob"),
                triple("alice", "user.delete", "bob"),
            ]
        );
        assert_eq!(log[0].detail["role"], json!("admin"));
        assert_eq!(
            log[0].detail["scope"],
            json!({"tenants": ["contoso", "fabrikam"], "groups": ["eu"]})
        );
        assert_eq!(log[0].detail["password"], json!(true));
        assert_eq!(log[1].detail["password"], json!(false));
        assert_eq!(
            log[2].detail,
            json!({
                "display_name": "Bob Builder",
                "role": "change_manager",
                "scope": {"tenants": ["fabrikam"], "groups": []},
                "password": "set",
            }),
            "only what changed, and never the hash"
        );
        assert_eq!(
            log[3].detail,
            json!({"password": "removed", "oidc_subject": null, "disabled": true})
        );
        assert_eq!(log[4].at, at("2026-03-05T00:00:00Z"));
        for e in &log {
            assert!(
                !e.detail.to_string().contains("argon2"),
                "no hash in the audit log: {e:?}"
            );
        }
    }
);

conformance!(
    duplicate_and_malformed_users_are_refused_clearly,
    |store: Store| async move {
        let alice = add(&store, "alice", Role::Admin).await;
        expect_conflict(
            store
                .create_user(
                    &new_user(" ALICE ", Role::Reader, "2026-03-01T00:01:00Z"),
                    "root",
                )
                .await,
            &["alice", "already exists"],
        );
        for (bad, word) in [
            ("", "empty"),
            ("alice martin", "holds"),
            ("-x", "start"),
            ("system", "reserved"),
        ] {
            expect_invalid(
                store
                    .create_user(&new_user(bad, Role::Reader, "2026-03-01T00:01:00Z"), "root")
                    .await,
                &[word],
            );
        }
        expect_invalid(
            store
                .create_user(
                    &NewUser {
                        scope: scope(&["not a tenant"], &[]),
                        ..new_user("carol", Role::Reader, "2026-03-01T00:01:00Z")
                    },
                    "root",
                )
                .await,
            &["tenant name"],
        );
        expect_invalid(
            store
                .create_user(
                    &NewUser {
                        password_hash: Some(" ".into()),
                        ..new_user("carol", Role::Reader, "2026-03-01T00:01:00Z")
                    },
                    "root",
                )
                .await,
            &["password hash"],
        );

        // OpenID subjects are unique too
        store
            .update_user(
                "alice",
                &UserUpdate {
                    oidc_subject: Some(Some("sub-1".into())),
                    ..Default::default()
                },
                "root",
                &at("2026-03-01T00:02:00Z"),
            )
            .await
            .unwrap();
        expect_conflict(
            store
                .create_user(
                    &NewUser {
                        oidc_subject: Some("sub-1".into()),
                        ..new_user("carol", Role::Reader, "2026-03-01T00:03:00Z")
                    },
                    "root",
                )
                .await,
            &["alice"],
        );
        add(&store, "dave", Role::Reader).await;
        expect_conflict(
            store
                .update_user(
                    "dave",
                    &UserUpdate {
                        oidc_subject: Some(Some("sub-1".into())),
                        ..Default::default()
                    },
                    "root",
                    &at("2026-03-01T00:04:00Z"),
                )
                .await,
            &["alice"],
        );
        // relinking one's own subject is no change
        let same = store
            .update_user(
                "alice",
                &UserUpdate {
                    oidc_subject: Some(Some("sub-1".into())),
                    ..Default::default()
                },
                "root",
                &at("2026-03-01T00:05:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(same.id, alice.id);

        assert_eq!(names(&store.users().await.unwrap()), vec!["alice", "dave"]);
        assert_eq!(
            audit_triples(&store).await,
            vec![
                triple("root", "user.create", "alice"),
                triple("root", "user.update", "alice"),
                triple("root", "user.create", "dave"),
            ],
            "refusals are not audited"
        );
    }
);

conformance!(
    the_last_enabled_admin_cannot_be_deleted_disabled_or_demoted,
    |store: Store| async move {
        // with no admin at all, other users come and go freely
        add(&store, "reader", Role::Reader).await;
        store
            .delete_user("reader", "root", &at("2026-03-01T00:01:00Z"))
            .await
            .unwrap();

        add(&store, "alice", Role::Admin).await;
        let t = at("2026-03-02T00:00:00Z");
        let audited = audit(&store).await.len();
        expect_invalid(
            store.delete_user("alice", "alice", &t).await,
            &["delete", "alice", "last enabled admin"],
        );
        expect_invalid(
            store
                .update_user(
                    "alice",
                    &UserUpdate {
                        disabled: Some(true),
                        ..Default::default()
                    },
                    "alice",
                    &t,
                )
                .await,
            &["disable", "last enabled admin"],
        );
        expect_invalid(
            store
                .update_user(
                    "alice",
                    &UserUpdate {
                        role: Some(Role::ChangeManager),
                        ..Default::default()
                    },
                    "alice",
                    &t,
                )
                .await,
            &["demote", "last enabled admin"],
        );
        assert_eq!(audit(&store).await.len(), audited, "refusals not audited");
        let a = store.user_by_name("alice").await.unwrap().unwrap();
        assert_eq!((a.role, a.disabled), (Role::Admin, false), "unchanged");

        // a disabled admin does not count
        store
            .create_user(
                &NewUser {
                    disabled: true,
                    ..new_user("bob", Role::Admin, "2026-03-02T00:00:00Z")
                },
                "alice",
            )
            .await
            .unwrap();
        expect_invalid(store.delete_user("alice", "alice", &t).await, &["alice"]);
        // other changes to the last admin are fine
        store
            .update_user(
                "alice",
                &UserUpdate {
                    email: Some("a@example.com".into()),
                    role: Some(Role::Admin),
                    disabled: Some(false),
                    ..Default::default()
                },
                "alice",
                &t,
            )
            .await
            .unwrap();
        // and a disabled admin may go
        store
            .update_user(
                "bob",
                &UserUpdate {
                    role: Some(Role::Reader),
                    ..Default::default()
                },
                "alice",
                &t,
            )
            .await
            .unwrap();

        // with a second enabled admin, the first may step down
        store
            .update_user(
                "bob",
                &UserUpdate {
                    role: Some(Role::Admin),
                    disabled: Some(false),
                    ..Default::default()
                },
                "alice",
                &t,
            )
            .await
            .unwrap();
        store
            .update_user(
                "alice",
                &UserUpdate {
                    role: Some(Role::Owner),
                    ..Default::default()
                },
                "alice",
                &t,
            )
            .await
            .unwrap();
        // now bob is the last one
        expect_invalid(
            store
                .update_user(
                    "bob",
                    &UserUpdate {
                        disabled: Some(true),
                        ..Default::default()
                    },
                    "bob",
                    &t,
                )
                .await,
            &["bob", "last enabled admin"],
        );
        store.delete_user("alice", "bob", &t).await.unwrap();
        expect_invalid(store.delete_user("bob", "bob", &t).await, &["bob"]);
        assert_eq!(names(&store.users().await.unwrap()), vec!["bob"]);
    }
);

conformance!(
    tenant_limited_admins_do_not_count_as_the_last_admin,
    |store: Store| async move {
        add(&store, "alice", Role::Admin).await;
        // bob is an admin limited to one tenant: he cannot administer
        store
            .create_user(
                &NewUser {
                    scope: scope(&["tenant-001"], &[]),
                    ..new_user("bob", Role::Admin, "2026-03-01T00:00:00Z")
                },
                "alice",
            )
            .await
            .unwrap();
        let t = at("2026-03-02T00:00:00Z");
        // alice may not limit herself, step down, be disabled or go
        expect_invalid(
            store
                .update_user(
                    "alice",
                    &UserUpdate {
                        scope: Some(scope(&["tenant-002"], &[])),
                        ..Default::default()
                    },
                    "alice",
                    &t,
                )
                .await,
            &["limit", "alice", "last enabled admin"],
        );
        expect_invalid(
            store
                .update_user(
                    "alice",
                    &UserUpdate {
                        role: Some(Role::Reader),
                        ..Default::default()
                    },
                    "alice",
                    &t,
                )
                .await,
            &["demote", "last enabled admin"],
        );
        expect_invalid(store.delete_user("alice", "alice", &t).await, &["alice"]);
        let a = store.user_by_name("alice").await.unwrap().unwrap();
        assert!(a.administers(), "alice unchanged: {a:?}");
        // once bob's limit is lifted, alice may limit herself
        store
            .update_user(
                "bob",
                &UserUpdate {
                    scope: Some(Scope::default()),
                    ..Default::default()
                },
                "alice",
                &t,
            )
            .await
            .unwrap();
        store
            .update_user(
                "alice",
                &UserUpdate {
                    scope: Some(scope(&["tenant-002"], &[])),
                    ..Default::default()
                },
                "alice",
                &t,
            )
            .await
            .unwrap();
        // and now bob is the last who administers
        expect_invalid(
            store
                .update_user(
                    "bob",
                    &UserUpdate {
                        scope: Some(scope(&["tenant-001"], &[])),
                        ..Default::default()
                    },
                    "bob",
                    &t,
                )
                .await,
            &["bob", "last enabled admin"],
        );
    }
);

conformance!(
    failed_sign_ins_are_counted_until_a_success_or_an_unlock,
    |store: Store| async move {
        let alice = add(&store, "alice", Role::Reader).await;
        assert_eq!(
            (alice.failed_sign_ins, alice.last_failed_sign_in_at),
            (0, None)
        );
        for (i, t) in [
            "2026-03-05T10:00:00Z",
            "2026-03-05T10:00:01Z",
            "2026-03-05T10:00:03Z",
        ]
        .iter()
        .enumerate()
        {
            let n = store.record_failed_sign_in(alice.id, &at(t)).await.unwrap();
            assert_eq!(n, i as i64 + 1);
        }
        let a = store.user_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!(a.failed_sign_ins, 3);
        assert_eq!(a.last_failed_sign_in_at, Some(at("2026-03-05T10:00:03Z")));
        // a success clears them
        store
            .record_sign_in(alice.id, &at("2026-03-05T10:01:00Z"))
            .await
            .unwrap();
        let a = store.user_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!((a.failed_sign_ins, a.last_failed_sign_in_at), (0, None));
        // so does an admin's unlock, audited
        store
            .record_failed_sign_in(alice.id, &at("2026-03-05T11:00:00Z"))
            .await
            .unwrap();
        let a = store
            .unlock_user("Alice", "root", &at("2026-03-05T11:01:00Z"))
            .await
            .unwrap();
        assert_eq!((a.failed_sign_ins, a.last_failed_sign_in_at), (0, None));
        assert_eq!(
            audit_triples(&store).await.last().unwrap(),
            &triple("root", "user.unlock", "alice")
        );
        assert!(matches!(
            store
                .unlock_user("nobody", "root", &at("2026-03-05T11:01:00Z"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .record_failed_sign_in(9999, &at("2026-03-05T11:01:00Z"))
                .await,
            Err(StoreError::NotFound(_))
        ));
    }
);

conformance!(
    sign_ins_are_recorded_on_the_user,
    |store: Store| async move {
        let alice = add(&store, "alice", Role::Reader).await;
        store
            .record_sign_in(alice.id, &at("2026-03-05T10:00:00Z"))
            .await
            .unwrap();
        let a = store.user_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!(a.last_sign_in_at, Some(at("2026-03-05T10:00:00Z")));
        assert_eq!(a.updated_at, alice.updated_at, "not a change to the user");
        expect_not_found(
            store
                .record_sign_in(alice.id + 100, &at("2026-03-05T10:00:00Z"))
                .await,
            &[],
        );
        assert_eq!(audit(&store).await.len(), 1, "only the creation is audited");
    }
);

// ---------------------------------------------------------------- sessions

conformance!(
    sessions_live_until_they_expire_or_their_user_is_disabled,
    |store: Store| async move {
        let alice = add(&store, "alice", Role::Admin).await;
        let bob = add(&store, "bob", Role::Reader).await;
        let audited = audit(&store).await.len();
        let s1 = new_session(
            "h1",
            alice.id,
            "2026-03-01T10:00:00Z",
            "2026-03-01T12:00:00Z",
        );
        store.create_session(&s1).await.unwrap();

        let (row, user) = store
            .session("h1", &at("2026-03-01T11:00:00Z"))
            .await
            .unwrap()
            .expect("a live session");
        assert_eq!(row.token_hash, "h1");
        assert_eq!(row.user_id, alice.id);
        assert_eq!(row.csrf_token, "csrf-h1");
        assert_eq!(row.created_at, at("2026-03-01T10:00:00Z"));
        assert_eq!(row.last_seen_at, row.created_at);
        assert_eq!(row.expires_at, at("2026-03-01T12:00:00Z"));
        assert_eq!(user, alice);
        assert!(!format!("{row:?}").contains("csrf-h1"), "Debug hides it");

        // expiry is exclusive
        assert!(
            store
                .session("h1", &at("2026-03-01T12:00:00Z"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .session("nope", &at("2026-03-01T11:00:00Z"))
                .await
                .unwrap()
                .is_none()
        );

        // touching moves the expiry and the last sighting
        assert!(
            store
                .touch_session(
                    "h1",
                    &at("2026-03-01T11:30:00Z"),
                    &at("2026-03-01T13:30:00Z")
                )
                .await
                .unwrap()
        );
        let (row, _) = store
            .session("h1", &at("2026-03-01T13:00:00Z"))
            .await
            .unwrap()
            .expect("extended");
        assert_eq!(row.last_seen_at, at("2026-03-01T11:30:00Z"));
        assert_eq!(row.expires_at, at("2026-03-01T13:30:00Z"));
        // an expired session cannot be revived
        assert!(
            !store
                .touch_session(
                    "h1",
                    &at("2026-03-01T14:00:00Z"),
                    &at("2026-03-01T16:00:00Z")
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .touch_session(
                    "nope",
                    &at("2026-03-01T11:00:00Z"),
                    &at("2026-03-01T16:00:00Z")
                )
                .await
                .unwrap()
        );

        // refused
        expect_conflict(store.create_session(&s1).await, &["session"]);
        expect_not_found(
            store
                .create_session(&new_session(
                    "h9",
                    bob.id + 100,
                    "2026-03-01T10:00:00Z",
                    "2026-03-01T12:00:00Z",
                ))
                .await,
            &[],
        );
        expect_invalid(
            store
                .create_session(&new_session(
                    "h9",
                    bob.id,
                    "2026-03-01T10:00:00Z",
                    "2026-03-01T10:00:00Z",
                ))
                .await,
            &["expire"],
        );

        // a disabled user's sessions do not work, and work again when enabled
        store
            .create_session(&new_session(
                "h2",
                bob.id,
                "2026-03-01T10:00:00Z",
                "2026-03-02T10:00:00Z",
            ))
            .await
            .unwrap();
        let now = at("2026-03-01T11:00:00Z");
        assert!(store.session("h2", &now).await.unwrap().is_some());
        let disable = |d: bool| UserUpdate {
            disabled: Some(d),
            ..Default::default()
        };
        store
            .update_user("bob", &disable(true), "alice", &now)
            .await
            .unwrap();
        assert!(store.session("h2", &now).await.unwrap().is_none());
        store
            .update_user("bob", &disable(false), "alice", &now)
            .await
            .unwrap();
        assert!(store.session("h2", &now).await.unwrap().is_some());

        // sign-out, sign-out everywhere, sweeping
        store
            .create_session(&new_session(
                "h3",
                bob.id,
                "2026-03-01T10:00:00Z",
                "2026-03-01T10:30:00Z",
            ))
            .await
            .unwrap();
        store
            .create_session(&new_session(
                "h4",
                bob.id,
                "2026-03-01T10:00:00Z",
                "2026-03-03T10:00:00Z",
            ))
            .await
            .unwrap();
        assert!(store.delete_session("h2").await.unwrap());
        assert!(!store.delete_session("h2").await.unwrap());
        assert!(store.session("h2", &now).await.unwrap().is_none());
        // h1 (expired 13:30) and h3 (expired 10:30) go; h4 stays
        assert_eq!(
            store
                .delete_expired_sessions(&at("2026-03-01T14:00:00Z"))
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .delete_expired_sessions(&at("2026-03-01T14:00:00Z"))
                .await
                .unwrap(),
            0
        );
        assert!(store.session("h4", &now).await.unwrap().is_some());
        store
            .create_session(&new_session(
                "h5",
                bob.id,
                "2026-03-01T10:00:00Z",
                "2026-03-03T10:00:00Z",
            ))
            .await
            .unwrap();
        assert_eq!(store.delete_sessions_of(bob.id).await.unwrap(), 2);
        assert!(store.session("h4", &now).await.unwrap().is_none());
        assert!(store.session("h5", &now).await.unwrap().is_none());
        assert_eq!(store.delete_sessions_of(bob.id).await.unwrap(), 0);

        assert_eq!(
            audit(&store).await.len(),
            audited + 2,
            "sessions are not audited (only the two user updates are)"
        );
    }
);

// ---------------------------------------------------------------- tokens

conformance!(
    api_tokens_work_until_revoked_or_expired_and_never_exceed_their_user,
    |store: Store| async move {
        let alice = add(&store, "alice", Role::Admin).await;
        let bob = add(&store, "bob", Role::Owner).await;

        let t1 = store
            .create_token(
                &NewToken {
                    scope: scope(&["Contoso"], &[]),
                    ..new_token("Bob", " ci pipeline ", "hash-1", Role::Owner, None)
                },
                "alice",
            )
            .await
            .unwrap();
        assert_eq!(t1.user_id, bob.id);
        assert_eq!(t1.user, "bob");
        assert_eq!(t1.name, "ci pipeline");
        assert_eq!(t1.prefix, "cdk_hash");
        assert_eq!(t1.role, Role::Owner);
        assert_eq!(t1.scope, scope(&["contoso"], &[]));
        assert_eq!(t1.created_at, at("2026-03-01T00:00:00Z"));
        assert_eq!(
            (t1.expires_at, t1.last_used_at, t1.revoked_at),
            (None, None, None)
        );
        assert!(t1.is_active(&at("2030-01-01T00:00:00Z")));

        // more than the user's role, a disabled user, bad input: refused
        expect_invalid(
            store
                .create_token(
                    &new_token("bob", "x", "hash-x", Role::ChangeManager, None),
                    "alice",
                )
                .await,
            &["bob", "owner", "change_manager"],
        );
        expect_not_found(
            store
                .create_token(
                    &new_token("carol", "x", "hash-x", Role::Reader, None),
                    "alice",
                )
                .await,
            &["carol"],
        );
        expect_invalid(
            store
                .create_token(
                    &new_token("bob", " ", "hash-x", Role::Reader, None),
                    "alice",
                )
                .await,
            &["name"],
        );
        expect_invalid(
            store
                .create_token(
                    &new_token(
                        "bob",
                        "x",
                        "hash-x",
                        Role::Reader,
                        Some("2026-03-01T00:00:00Z"),
                    ),
                    "alice",
                )
                .await,
            &["expire"],
        );
        expect_conflict(
            store
                .create_token(
                    &new_token("alice", "dup", "hash-1", Role::Reader, None),
                    "alice",
                )
                .await,
            &["token"],
        );

        // use: found, and its use recorded at most once a minute
        let now = at("2026-03-02T10:00:00Z");
        let (tok, user) = store.token("hash-1", &now).await.unwrap().expect("works");
        assert_eq!(tok.id, t1.id);
        assert_eq!(user, bob);
        assert_eq!(tok.last_used_at, Some(now));
        let listed =
            |store: Store| async move { store.tokens(Some("bob")).await.unwrap()[0].clone() };
        assert_eq!(listed(store.clone()).await.last_used_at, Some(now));
        let (tok, _) = store
            .token("hash-1", &at("2026-03-02T10:00:30Z"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            tok.last_used_at,
            Some(now),
            "not written again within a minute"
        );
        assert_eq!(listed(store.clone()).await.last_used_at, Some(now));
        let later = at("2026-03-02T10:01:00Z");
        let (tok, _) = store.token("hash-1", &later).await.unwrap().unwrap();
        assert_eq!(tok.last_used_at, Some(later));
        assert_eq!(listed(store.clone()).await.last_used_at, Some(later));
        assert!(store.token("hash-unknown", &now).await.unwrap().is_none());

        // expiry is exclusive
        let t2 = store
            .create_token(
                &new_token(
                    "alice",
                    "short",
                    "hash-2",
                    Role::Reader,
                    Some("2026-03-02T00:00:00Z"),
                ),
                "alice",
            )
            .await
            .unwrap();
        assert_eq!(t2.expires_at, Some(at("2026-03-02T00:00:00Z")));
        assert!(
            store
                .token("hash-2", &at("2026-03-01T23:59:59Z"))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .token("hash-2", &at("2026-03-02T00:00:00Z"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(!t2.is_active(&at("2026-03-02T00:00:00Z")));

        // a demoted user's token is returned with its own role: the caller
        // acts with the lesser of the two
        store
            .update_user(
                "bob",
                &UserUpdate {
                    role: Some(Role::Reader),
                    ..Default::default()
                },
                "alice",
                &now,
            )
            .await
            .unwrap();
        let (tok, user) = store.token("hash-1", &later).await.unwrap().unwrap();
        assert_eq!(tok.role.at_most(user.role), Role::Reader);

        // a disabled user's tokens do not work
        let disable = |d: bool| UserUpdate {
            disabled: Some(d),
            ..Default::default()
        };
        store
            .update_user("bob", &disable(true), "alice", &now)
            .await
            .unwrap();
        assert!(store.token("hash-1", &later).await.unwrap().is_none());
        expect_invalid(
            store
                .create_token(
                    &new_token("bob", "x", "hash-x", Role::Reader, None),
                    "alice",
                )
                .await,
            &["disabled"],
        );
        store
            .update_user("bob", &disable(false), "alice", &now)
            .await
            .unwrap();
        assert!(store.token("hash-1", &later).await.unwrap().is_some());

        // revoking
        assert!(
            store
                .revoke_token(t1.id, "bob", &at("2026-03-03T00:00:00Z"))
                .await
                .unwrap()
        );
        assert!(store.token("hash-1", &later).await.unwrap().is_none());
        assert!(
            !store
                .revoke_token(t1.id, "bob", &at("2026-03-04T00:00:00Z"))
                .await
                .unwrap(),
            "revoking twice changes nothing"
        );
        expect_not_found(
            store.revoke_token(t1.id + 100, "bob", &now).await,
            &["token"],
        );

        // lists: revoked and expired ones too, oldest first
        let all = store.tokens(None).await.unwrap();
        assert_eq!(
            all.iter()
                .map(|t| (t.user.as_str(), t.name.as_str()))
                .collect::<Vec<_>>(),
            vec![("bob", "ci pipeline"), ("alice", "short")]
        );
        assert_eq!(all[0].revoked_at, Some(at("2026-03-03T00:00:00Z")));
        assert!(!all[0].is_active(&now));
        let of_alice = store.tokens(Some("ALICE")).await.unwrap();
        assert_eq!(of_alice.len(), 1);
        assert_eq!(of_alice[0].user_id, alice.id);
        expect_not_found(store.tokens(Some("carol")).await, &["carol"]);

        // audited: creations and the one revocation
        let log: Vec<AuditEntry> = audit(&store)
            .await
            .into_iter()
            .filter(|e| e.action.starts_with("token."))
            .collect();
        assert_eq!(
            log.iter()
                .map(|e| (e.actor.clone(), e.action.clone(), e.target.clone()))
                .collect::<Vec<_>>(),
            vec![
                triple("alice", "token.create", "bob"),
                triple("alice", "token.create", "alice"),
                triple("bob", "token.revoke", "bob"),
            ]
        );
        assert_eq!(log[0].detail["id"], json!(t1.id));
        assert_eq!(log[0].detail["name"], json!("ci pipeline"));
        assert_eq!(log[0].detail["role"], json!("owner"));
        assert_eq!(log[2].detail["prefix"], json!("cdk_hash"));
        for e in audit(&store).await {
            assert!(
                !e.detail.to_string().contains("hash-1"),
                "no token hash audited"
            );
        }
    }
);

conformance!(
    deleting_a_user_deletes_their_sessions_and_tokens,
    |store: Store| async move {
        add(&store, "alice", Role::Admin).await;
        let bob = add(&store, "bob", Role::Owner).await;
        let carol = add(&store, "carol", Role::Reader).await;
        let now = at("2026-03-01T10:00:00Z");
        for (hash, user) in [("s-bob", bob.id), ("s-carol", carol.id)] {
            store
                .create_session(&new_session(
                    hash,
                    user,
                    "2026-03-01T09:00:00Z",
                    "2026-03-02T09:00:00Z",
                ))
                .await
                .unwrap();
        }
        store
            .create_token(&new_token("bob", "t", "t-bob", Role::Owner, None), "alice")
            .await
            .unwrap();
        store
            .create_token(
                &new_token("carol", "t", "t-carol", Role::Reader, None),
                "alice",
            )
            .await
            .unwrap();

        store.delete_user("bob", "alice", &now).await.unwrap();
        assert!(store.session("s-bob", &now).await.unwrap().is_none());
        assert!(store.token("t-bob", &now).await.unwrap().is_none());
        assert_eq!(
            store
                .tokens(None)
                .await
                .unwrap()
                .iter()
                .map(|t| t.user.as_str())
                .collect::<Vec<_>>(),
            vec!["carol"]
        );
        // nothing of bob is left to delete: the cascade took it
        assert_eq!(store.delete_sessions_of(bob.id).await.unwrap(), 0);
        // carol's are untouched
        assert!(store.session("s-carol", &now).await.unwrap().is_some());
        assert!(store.token("t-carol", &now).await.unwrap().is_some());

        // a new bob is someone else: the old session and token stay dead
        let bob2 = add(&store, "bob", Role::Owner).await;
        assert_ne!(bob2.id, bob.id);
        assert!(store.session("s-bob", &now).await.unwrap().is_none());
        assert!(store.token("t-bob", &now).await.unwrap().is_none());
        // and the hashes may be used again
        store
            .create_session(&new_session(
                "s-bob",
                bob2.id,
                "2026-03-01T09:00:00Z",
                "2026-03-02T09:00:00Z",
            ))
            .await
            .unwrap();
        store
            .create_token(&new_token("bob", "t", "t-bob", Role::Owner, None), "alice")
            .await
            .unwrap();
        assert_eq!(store.session("s-bob", &now).await.unwrap().unwrap().1, bob2);
    }
);

// ---------------------------------------------------------------- audit

conformance!(
    sign_ins_and_outs_are_audited_and_the_log_pages,
    |store: Store| async move {
        let t = |m: u32| at(&format!("2026-03-01T10:{m:02}:00Z"));
        store
            .record_audit(
                "alice",
                "sign_in",
                "alice",
                &json!({"method": "password"}),
                &t(0),
            )
            .await
            .unwrap();
        store
            .record_audit(
                "anonymous",
                "sign_in.failed",
                "mallory",
                &json!({"reason": "bad password"}),
                &t(1),
            )
            .await
            .unwrap();
        store
            .record_audit("alice", "sign_out", "alice", &json!(null), &t(2))
            .await
            .unwrap();
        add(&store, "bob", Role::Reader).await; // root user.create
        store
            .record_audit("bob", "sign_in", "bob", &json!({"method": "oidc"}), &t(3))
            .await
            .unwrap();
        expect_invalid(
            store
                .record_audit("bob", " ", "bob", &json!(null), &t(4))
                .await,
            &["action"],
        );

        let all = store
            .audit_log_filtered(&AuditFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec![
                "sign_in",
                "user.create",
                "sign_out",
                "sign_in.failed",
                "sign_in"
            ],
            "newest first"
        );
        assert_eq!(
            all,
            store.audit_log(100).await.unwrap(),
            "same as audit_log"
        );
        assert_eq!(all[4].detail, json!({"method": "password"}));
        assert_eq!(all[4].at, t(0));

        let by_alice = store
            .audit_log_filtered(&AuditFilter {
                actor: Some("alice".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            by_alice
                .iter()
                .map(|e| e.action.as_str())
                .collect::<Vec<_>>(),
            vec!["sign_out", "sign_in"]
        );

        let sign_ins = store
            .audit_log_filtered(&AuditFilter {
                action_prefix: Some("sign_in".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            sign_ins
                .iter()
                .map(|e| e.target.as_str())
                .collect::<Vec<_>>(),
            vec!["bob", "mallory", "alice"]
        );
        // the prefix is literal: `_` is no wildcard, and case counts
        for prefix in ["sign_in.", "SIGN_IN", "sign%", "sign_inx"] {
            let n = store
                .audit_log_filtered(&AuditFilter {
                    action_prefix: Some(prefix.into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .len();
            assert_eq!(n, usize::from(prefix == "sign_in."), "prefix {prefix}");
        }

        // paging, newest first
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .audit_log_filtered(&AuditFilter {
                    limit: Some(2),
                    before_id: before,
                    ..Default::default()
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            before = page.last().map(|e| e.id);
            pages.push(page.iter().map(|e| e.id).collect::<Vec<_>>());
        }
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
        assert_eq!(
            pages.concat(),
            all.iter().map(|e| e.id).collect::<Vec<_>>(),
            "pages cover the log once, in order"
        );
        // filters and paging together
        let page = store
            .audit_log_filtered(&AuditFilter {
                action_prefix: Some("sign_in".into()),
                limit: Some(1),
                before_id: Some(sign_ins[0].id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].target, "mallory");
        assert!(
            store
                .audit_log_filtered(&AuditFilter {
                    limit: Some(0),
                    ..Default::default()
                })
                .await
                .unwrap()
                .is_empty()
        );
    }
);

conformance!(
    writes_are_counted_for_those_who_keep_answers,
    |store: Store| async move {
        let local = store.local_writes();
        let shared = store.archive_changes().await.unwrap();
        // a write that changes what reads return: counted in both
        let alice = add(&store, "alice", Role::Admin).await;
        assert_eq!(store.local_writes(), local + 1);
        assert_eq!(store.archive_changes().await.unwrap(), shared + 1);
        // bookkeeping (sign-in time, sessions, tokens and their use, audit
        // entries): not counted
        store
            .record_sign_in(alice.id, &at("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .create_session(&new_session(
                "s1",
                alice.id,
                "2026-03-01T00:00:00Z",
                "2026-03-02T00:00:00Z",
            ))
            .await
            .unwrap();
        let token = store
            .create_token(&new_token("alice", "ci", "t1", Role::Admin, None), "alice")
            .await
            .unwrap();
        assert!(
            store
                .token("t1", &at("2026-03-01T01:00:00Z"))
                .await
                .unwrap()
                .is_some()
        );
        store
            .record_audit(
                "alice",
                "test.note",
                "x",
                &json!({}),
                &at("2026-03-01T01:00:00Z"),
            )
            .await
            .unwrap();
        assert!(
            store
                .revoke_token(token.id, "alice", &at("2026-03-01T02:00:00Z"))
                .await
                .unwrap()
        );
        store.delete_session("s1").await.unwrap();
        assert_eq!(store.local_writes(), local + 1);
        assert_eq!(store.archive_changes().await.unwrap(), shared + 1);
        // a refused write changes nothing in the archive (this process
        // counts the transaction it ended)
        assert!(
            store
                .create_user(
                    &new_user("alice", Role::Reader, "2026-03-01T00:00:00Z"),
                    "test"
                )
                .await
                .is_err()
        );
        assert_eq!(store.local_writes(), local + 2);
        assert_eq!(store.archive_changes().await.unwrap(), shared + 1);
        // another process's write: its count, not this one's
        let other = Store::open(store.location(), changedesk_store::OpenMode::ReadWrite)
            .await
            .unwrap();
        other
            .import_messages("t", &posts(&["MC1"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        other.close().await;
        assert_eq!(store.local_writes(), local + 2);
        assert_eq!(store.archive_changes().await.unwrap(), shared + 2);
    }
);

conformance!(
    an_inbox_visit_remembers_the_one_before,
    |store: Store| async move {
        let u = store
            .create_user(
                &new_user("vera", Role::Reader, "2026-03-01T00:00:00Z"),
                "test",
            )
            .await
            .unwrap();
        let at = |s: &str| changedesk_core::Timestamp::parse(s).unwrap();
        // the first visit has none before it; views within the hour are one visit
        assert_eq!(
            store
                .inbox_visit(u.id, &at("2026-03-01T09:00:00Z"))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .inbox_visit(u.id, &at("2026-03-01T09:30:00Z"))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .inbox_visit(u.id, &at("2026-03-01T10:20:00Z"))
                .await
                .unwrap(),
            None
        );
        // more than an hour after the last view: a new visit, after the one at 10:20
        let next = store
            .inbox_visit(u.id, &at("2026-03-02T08:00:00Z"))
            .await
            .unwrap();
        assert_eq!(next, Some(at("2026-03-01T10:20:00Z")));
        assert_eq!(
            store
                .inbox_visit(u.id, &at("2026-03-02T08:00:30Z"))
                .await
                .unwrap(),
            Some(at("2026-03-01T10:20:00Z"))
        );
        assert!(
            store
                .inbox_visit(u.id + 1000, &at("2026-03-02T08:00:00Z"))
                .await
                .is_err()
        );
    }
);
