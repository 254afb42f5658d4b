//! OpenID Connect scenarios every backend must pass identically: sign-ins
//! under way are single-use and expire, and identities find, create and
//! update users, audited.

use changedesk_core::access::{Role, Scope};
use changedesk_store::{
    NewUser, OidcIdentity, OidcProfile, OidcSignIn, PendingSignIn, Store, StoreError, UserUpdate,
};
use serde_json::json;

use crate::conformance;
use crate::fixtures::*;

const ISSUER: &str = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";

fn pending(state: &str, created: &str, expires: &str) -> PendingSignIn {
    PendingSignIn {
        state_hash: format!("hash-{state}"),
        verifier: format!("masked-verifier-{state}"),
        nonce: format!("nonce-{state}"),
        return_to: "/items?state=new".into(),
        created_at: at(created),
        expires_at: at(expires),
    }
}

fn identity(subject: &str) -> OidcIdentity {
    OidcIdentity {
        issuer: ISSUER.into(),
        subject: subject.into(),
    }
}

fn profile(name: &str, role: Role) -> OidcProfile {
    OidcProfile {
        name: name.into(),
        display_name: format!("{name} display"),
        email: name.into(),
        role,
        scope: None,
    }
}

/// (actor, action, target, detail) of the audit entries after the first
/// `skip`, oldest first.
async fn audit_since(
    store: &Store,
    skip: usize,
) -> Vec<(String, String, String, serde_json::Value)> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .skip(skip)
        .map(|e| (e.actor, e.action, e.target, e.detail))
        .collect()
}

async fn audit_len(store: &Store) -> usize {
    store.audit_log(1000).await.unwrap().len()
}

conformance!(
    pending_sign_ins_are_taken_once_and_expire,
    |store: Store| async move {
        let a = pending("a", "2026-03-01T10:00:00Z", "2026-03-01T10:10:00Z");
        store.create_pending_sign_in(&a).await.unwrap();
        // the same state twice is refused
        match store.create_pending_sign_in(&a).await {
            Err(StoreError::Conflict(m)) => assert!(m.contains("already under way"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        // taken once, with everything as stored; then gone
        assert_eq!(
            store.take_pending_sign_in("hash-a").await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(store.take_pending_sign_in("hash-a").await.unwrap(), None);
        assert_eq!(
            store.take_pending_sign_in("hash-unknown").await.unwrap(),
            None
        );
        assert!(
            !format!("{a:?}").contains("masked-verifier"),
            "Debug hides the verifier"
        );

        // an expired one is still returned (and deleted) when taken...
        let b = pending("b", "2026-03-01T10:00:00Z", "2026-03-01T10:10:00Z");
        store.create_pending_sign_in(&b).await.unwrap();
        let taken = store.take_pending_sign_in("hash-b").await.unwrap().unwrap();
        assert_eq!(taken.expires_at, at("2026-03-01T10:10:00Z"));
        // ...and deleted when a later sign-in starts
        let c = pending("c", "2026-03-01T10:00:00Z", "2026-03-01T10:10:00Z");
        let d = pending("d", "2026-03-01T10:09:00Z", "2026-03-01T10:19:00Z");
        store.create_pending_sign_in(&c).await.unwrap();
        store.create_pending_sign_in(&d).await.unwrap();
        let e = pending("e", "2026-03-01T10:10:00Z", "2026-03-01T10:20:00Z");
        store.create_pending_sign_in(&e).await.unwrap();
        assert_eq!(
            store.take_pending_sign_in("hash-c").await.unwrap(),
            None,
            "expired and cleaned up"
        );
        assert_eq!(store.take_pending_sign_in("hash-d").await.unwrap(), Some(d));
        assert_eq!(store.take_pending_sign_in("hash-e").await.unwrap(), Some(e));

        // bad input is refused, naming the field
        for (p, word) in [
            (
                PendingSignIn {
                    state_hash: String::new(),
                    ..a.clone()
                },
                "state hash",
            ),
            (
                PendingSignIn {
                    verifier: String::new(),
                    ..a.clone()
                },
                "verifier",
            ),
            (
                PendingSignIn {
                    return_to: "/x\n".into(),
                    ..a.clone()
                },
                "return path",
            ),
            (
                PendingSignIn {
                    expires_at: a.created_at,
                    ..a.clone()
                },
                "expire",
            ),
        ] {
            match store.create_pending_sign_in(&p).await {
                Err(StoreError::Invalid(m)) => assert!(m.contains(word), "{word}: {m}"),
                other => panic!("expected Invalid for {word}, got {other:?}"),
            }
        }
    }
);

conformance!(
    a_pending_sign_in_is_taken_by_one_of_many_at_once,
    |store: Store| async move {
        for round in 0..5 {
            let state = format!("race-{round}");
            store
                .create_pending_sign_in(&pending(
                    &state,
                    "2026-03-01T10:00:00Z",
                    "2026-03-01T10:10:00Z",
                ))
                .await
                .unwrap();
            let hash = format!("hash-{state}");
            let takers: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    let hash = hash.clone();
                    tokio::spawn(async move { store.take_pending_sign_in(&hash).await.unwrap() })
                })
                .collect();
            let mut got = 0;
            for t in takers {
                if t.await.unwrap().is_some() {
                    got += 1;
                }
            }
            assert_eq!(got, 1, "round {round}: exactly one taker gets the sign-in");
        }
    }
);

conformance!(
    identities_create_find_and_update_users,
    |store: Store| async move {
        let t0 = at("2026-03-01T10:00:00Z");
        // unknown, and creating is not allowed: nothing happens
        let before = audit_len(&store).await;
        assert_eq!(
            store
                .oidc_sign_in(
                    &identity("oid-ada"),
                    &profile("ada@contoso.example", Role::Admin),
                    false,
                    "oidc",
                    &t0
                )
                .await
                .unwrap(),
            OidcSignIn::Unknown
        );
        assert!(store.users().await.unwrap().is_empty());
        assert_eq!(audit_len(&store).await, before);

        // created, linked and audited
        let OidcSignIn::Created(ada) = store
            .oidc_sign_in(
                &identity("oid-ada"),
                &profile("Ada@Contoso.example", Role::Admin),
                true,
                "oidc",
                &t0,
            )
            .await
            .unwrap()
        else {
            panic!("expected a new user")
        };
        assert_eq!(ada.name, "ada@contoso.example");
        assert_eq!(ada.display_name, "Ada@Contoso.example display");
        assert_eq!(ada.role, Role::Admin);
        assert_eq!(ada.scope, Scope::all());
        assert!(!ada.has_password() && !ada.disabled);
        assert_eq!(ada.created_at, t0);
        assert_eq!(
            store.oidc_identities(ada.id).await.unwrap(),
            vec![identity("oid-ada")]
        );
        let log = audit_since(&store, before).await;
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].0.as_str(), log[0].1.as_str(), log[0].2.as_str()),
            ("oidc", "user.create", "ada@contoso.example")
        );
        assert_eq!(
            log[0].3["identity"],
            json!({"issuer": ISSUER, "subject": "oid-ada"})
        );
        assert_eq!(log[0].3["role"], json!("admin"));

        // found again by the identity, whatever name the claims carry now;
        // nothing changed, nothing written
        let before = audit_len(&store).await;
        let again = store
            .oidc_sign_in(
                &identity("oid-ada"),
                &OidcProfile {
                    name: "renamed@contoso.example".into(),
                    ..profile("Ada@Contoso.example", Role::Admin)
                },
                false,
                "oidc",
                &at("2026-03-02T10:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            again,
            OidcSignIn::Existing {
                user: ada.clone(),
                changed: vec![]
            }
        );
        assert_eq!(audit_len(&store).await, before);

        // a second person, scoped by the claims
        let scoped = Scope {
            tenants: vec!["Contoso".into()],
            groups: vec!["eu".into()],
        };
        let OidcSignIn::Created(bob) = store
            .oidc_sign_in(
                &identity("oid-bob"),
                &OidcProfile {
                    scope: Some(scoped),
                    ..profile("bob@contoso.example", Role::Reader)
                },
                true,
                "oidc",
                &t0,
            )
            .await
            .unwrap()
        else {
            panic!("expected a new user")
        };
        assert_eq!(
            bob.scope,
            Scope {
                tenants: vec!["contoso".into()],
                groups: vec!["eu".into()]
            }
        );

        // the role, scope, name and address follow the claims, audited
        let before = audit_len(&store).await;
        let t1 = at("2026-03-03T10:00:00Z");
        let OidcSignIn::Existing { user, changed } = store
            .oidc_sign_in(
                &identity("oid-bob"),
                &OidcProfile {
                    display_name: "Bob B.".into(),
                    email: "".into(),
                    scope: Some(Scope::all()),
                    ..profile("bob@contoso.example", Role::ChangeManager)
                },
                false,
                "oidc",
                &t1,
            )
            .await
            .unwrap()
        else {
            panic!("expected the existing user")
        };
        assert_eq!(changed, vec!["display_name", "role", "scope"]);
        assert_eq!(
            (user.role, user.scope.clone(), user.display_name.as_str()),
            (Role::ChangeManager, Scope::all(), "Bob B.")
        );
        assert_eq!(
            user.email, "bob@contoso.example",
            "an empty address leaves it as it is"
        );
        assert_eq!(user.updated_at, t1);
        assert_eq!(
            store.user_by_name("bob@contoso.example").await.unwrap(),
            Some(user.clone())
        );
        let log = audit_since(&store, before).await;
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].0.as_str(), log[0].1.as_str(), log[0].2.as_str()),
            ("oidc", "user.update", "bob@contoso.example")
        );
        assert_eq!(log[0].3["role"], json!("change_manager"));
        assert_eq!(log[0].3["via"], json!("oidc"));

        // a name taken by a user not linked to the identity is a conflict
        store
            .create_user(
                &NewUser {
                    name: "carol@contoso.example".into(),
                    display_name: String::new(),
                    email: String::new(),
                    role: Role::Reader,
                    scope: Scope::all(),
                    password_hash: Some("$argon2id$v=19$x".into()),
                    oidc_subject: None,
                    disabled: false,
                    at: t0,
                },
                "root",
            )
            .await
            .unwrap();
        match store
            .oidc_sign_in(
                &identity("oid-mallory"),
                &profile("carol@contoso.example", Role::Admin),
                true,
                "oidc",
                &t0,
            )
            .await
        {
            Err(StoreError::Conflict(m)) => assert!(
                m.contains("carol@contoso.example") && m.contains("not linked"),
                "{m}"
            ),
            other => panic!("expected a conflict, got {other:?}"),
        }
        // the same subject at another issuer is another person
        match store
            .oidc_sign_in(
                &OidcIdentity {
                    issuer: "https://other.example/v2.0".into(),
                    subject: "oid-ada".into(),
                },
                &profile("ada@contoso.example", Role::Admin),
                true,
                "oidc",
                &t0,
            )
            .await
        {
            Err(StoreError::Conflict(_)) => {}
            other => panic!("expected a conflict on the name, got {other:?}"),
        }
        // a name that cannot be a user name is refused
        match store
            .oidc_sign_in(
                &identity("oid-x"),
                &profile("x y@contoso.example", Role::Reader),
                true,
                "oidc",
                &t0,
            )
            .await
        {
            Err(StoreError::Invalid(m)) => assert!(m.contains("user name"), "{m}"),
            other => panic!("expected Invalid, got {other:?}"),
        }

        // the last enabled admin is not demoted by the claims
        match store
            .oidc_sign_in(
                &identity("oid-ada"),
                &profile("ada@contoso.example", Role::Reader),
                false,
                "oidc",
                &t1,
            )
            .await
        {
            Err(StoreError::Invalid(m)) => assert!(m.contains("last enabled admin"), "{m}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert_eq!(
            store.user_by_id(ada.id).await.unwrap().unwrap().role,
            Role::Admin
        );

        // a disabled user is left alone
        store
            .update_user(
                "bob@contoso.example",
                &UserUpdate {
                    disabled: Some(true),
                    ..UserUpdate::default()
                },
                "root",
                &t1,
            )
            .await
            .unwrap();
        let before = audit_len(&store).await;
        match store
            .oidc_sign_in(
                &identity("oid-bob"),
                &profile("bob@contoso.example", Role::Admin),
                true,
                "oidc",
                &t1,
            )
            .await
            .unwrap()
        {
            OidcSignIn::Disabled(u) => {
                assert_eq!((u.role, u.disabled), (Role::ChangeManager, true))
            }
            other => panic!("expected Disabled, got {other:?}"),
        }
        assert_eq!(audit_len(&store).await, before);

        // deleting a user unlinks the identity: the next sign-in creates anew
        store
            .delete_user("bob@contoso.example", "root", &t1)
            .await
            .unwrap();
        assert!(store.oidc_identities(bob.id).await.unwrap().is_empty());
        match store
            .oidc_sign_in(
                &identity("oid-bob"),
                &profile("bob@contoso.example", Role::Reader),
                true,
                "oidc",
                &t1,
            )
            .await
            .unwrap()
        {
            OidcSignIn::Created(u) => assert_ne!(u.id, bob.id),
            other => panic!("expected a new user, got {other:?}"),
        }
    }
);

conformance!(sign_ins_under_way_are_bounded, |store: Store| async move {
    const MOST: i64 = 40;
    let t = "2026-03-01T00:00:00Z";
    for i in 0..MOST {
        store
            .create_pending_sign_in_within(
                &pending(&i.to_string(), t, "2026-03-01T00:10:00Z"),
                MOST,
            )
            .await
            .unwrap();
    }
    // anyone may start one: beyond the bound, busy, nothing stored
    let over = pending("over", t, "2026-03-01T00:10:00Z");
    assert!(matches!(
        store.create_pending_sign_in_within(&over, MOST).await,
        Err(StoreError::Busy)
    ));
    assert!(
        store
            .take_pending_sign_in(&over.state_hash)
            .await
            .unwrap()
            .is_none()
    );
    // once they expire, sign-ins start again
    let later = pending("later", "2026-03-01T00:10:00Z", "2026-03-01T00:20:00Z");
    store
        .create_pending_sign_in_within(&later, MOST)
        .await
        .unwrap();
});
