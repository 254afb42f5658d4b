//! Tenants added to the database, identically on every backend: all or none,
//! updated in place, a directory used once, the consent state taken once and
//! only within its age, consent in another directory refused, a domain
//! replaced by the GUID consent names, access checks, removal that keeps the
//! archive, and every change audited.

use changedesk_store::{
    AccessCheck, Consent, ConsentAnswer, ConsentTaken, IncidentFilter, NewTenant, PostQuery,
    PostState, Store, StoreError, TenantPage, TenantQuery, TenantScope,
};

use crate::conformance;
use crate::fixtures::*;

const G1: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
const G2: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

fn tenant(name: &str, directory: &str, display: Option<&str>) -> NewTenant {
    NewTenant {
        name: name.into(),
        directory_id: directory.into(),
        display_name: display.map(Into::into),
    }
}

async fn actions(store: &Store) -> Vec<(String, String, String)> {
    let mut log = store.audit_log(1000).await.unwrap();
    log.reverse();
    log.into_iter()
        .filter(|e| e.action.starts_with("tenant."))
        .map(|e| (e.actor, e.action, e.target))
        .collect()
}

/// Each post's id and counts of tenants seen and visible, by id.
async fn link_counts(store: &Store) -> Vec<(String, i64, i64)> {
    let mut counts: Vec<(String, i64, i64)> = store
        .list_messages(&changedesk_store::MessageFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.tenants_seen, s.tenants_visible))
        .collect();
    counts.sort();
    counts
}

/// Saves `item` (new) and makes bob own Microsoft Teams for fabrikam.
async fn saved_with_bob_for_fabrikam(
    store: &Store,
    item: &changedesk_core::triage::WorkItem,
    t0: changedesk_core::Timestamp,
) {
    use changedesk_core::triage::{Owner, OwnershipEntry, Scope};
    store
        .save_work_item(&changedesk_store::ItemSave {
            item,
            expected_version: None,
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: t0,
        })
        .await
        .unwrap();
    store
        .put_owner(
            &Owner {
                name: "bob".into(),
                display_name: "Bob".into(),
                email: "bob@example.com".into(),
                teams: None,
                slack: None,
                entra_id: None,
            },
            "ann",
            &t0,
        )
        .await
        .unwrap();
    store
        .set_ownership(
            &OwnershipEntry {
                workload: "Microsoft Teams".into(),
                owner: "bob".into(),
                scope: Scope::Tenant("fabrikam".into()),
            },
            "ann",
            &t0,
        )
        .await
        .unwrap();
}

conformance!(
    tenants_added_to_the_database_are_kept_checked_and_audited,
    |store: Store| async move {
        let t0 = at("2026-03-01T00:00:00Z");
        // a tenant known from a listing is adopted, not duplicated
        store
            .import_messages(
                "fabrikam",
                &[post("MC1", "2026-02-01T00:00:00Z")],
                &opts("2026-02-20T00:00:00Z"),
            )
            .await
            .unwrap();
        let added = store
            .add_tenants(
                &[
                    tenant("contoso", &G1.to_uppercase(), Some(" Contoso Ltd ")),
                    tenant("fabrikam", "Fabrikam.onmicrosoft.com", None),
                ],
                "ann",
                &t0,
            )
            .await
            .unwrap();
        assert_eq!(added.added, vec!["contoso", "fabrikam"]);
        let list = store.directory_tenants().await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].directory_id, G1, "kept in lower case");
        assert_eq!(list[0].display_name.as_deref(), Some("Contoso Ltd"));
        assert_eq!(list[0].consent, Consent::NotAsked);
        assert!(list[0].syncable());
        assert_eq!(list[1].directory_id, "fabrikam.onmicrosoft.com");
        assert_eq!(
            store.tenants().await.unwrap().len(),
            2,
            "fabrikam's row was adopted"
        );

        // again: unchanged; a new display name: updated
        let again = store
            .add_tenants(
                &[
                    tenant("contoso", G1, Some("Contoso Ltd")),
                    tenant("fabrikam", "fabrikam.onmicrosoft.com", Some("Fabrikam")),
                ],
                "ann",
                &t0,
            )
            .await
            .unwrap();
        assert_eq!(again.unchanged, vec!["contoso"]);
        assert_eq!(again.updated, vec!["fabrikam"]);

        // all or none: a directory already another tenant's adds nothing
        let e = store
            .add_tenants(
                &[tenant("tailspin", G2, None), tenant("copycat", G1, None)],
                "ann",
                &t0,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict(m) if m.contains("contoso")),
            "{e:?}"
        );
        assert_eq!(store.directory_tenants().await.unwrap().len(), 2);
        // bad input is refused before any write
        for bad in [
            tenant("Bad Name", G2, None),
            tenant("ok", "not a directory", None),
            tenant("ok", G2, Some("a\u{7}bell")),
        ] {
            assert!(matches!(
                store.add_tenants(&[bad], "ann", &t0).await,
                Err(StoreError::Invalid(_))
            ));
        }

        // consent: the newest link's state counts, once, within its age
        let t1 = at("2026-03-02T00:00:00Z");
        store
            .ask_consent("contoso", "old-state", "ann", &t1)
            .await
            .unwrap();
        store
            .ask_consent("contoso", "state-1", "ann", &t1)
            .await
            .unwrap();
        assert!(matches!(
            store.ask_consent("nobody", "s", "ann", &t1).await,
            Err(StoreError::NotFound(_))
        ));
        let granted = ConsentAnswer::Granted {
            directory_id: G1.to_uppercase(),
        };
        let day = 86_400;
        assert_eq!(
            store
                .answer_consent("old-state", &granted, 30 * day, &t1)
                .await
                .unwrap(),
            ConsentTaken::Unknown,
            "a replaced link no longer counts"
        );
        assert_eq!(
            store.directory_tenants().await.unwrap()[0].consent,
            Consent::Asked
        );
        // consent in another directory is not this tenant's
        let elsewhere = ConsentAnswer::Granted {
            directory_id: G2.into(),
        };
        assert_eq!(
            store
                .answer_consent("state-1", &elsewhere, 30 * day, &t1)
                .await
                .unwrap(),
            ConsentTaken::Recorded {
                tenant: "contoso".into(),
                consent: Consent::Declined
            }
        );
        let c = store.directory_tenants().await.unwrap().remove(0);
        assert!(c.consent_error.as_deref().unwrap().contains(G2), "{c:?}");
        assert!(!c.syncable());
        // used once
        assert_eq!(
            store
                .answer_consent("state-1", &granted, 30 * day, &t1)
                .await
                .unwrap(),
            ConsentTaken::Unknown
        );
        store
            .ask_consent("contoso", "state-2", "ann", &t1)
            .await
            .unwrap();
        assert_eq!(
            store
                .answer_consent("state-2", &granted, 30 * day, &at("2026-04-02T00:00:01Z"))
                .await
                .unwrap(),
            ConsentTaken::Expired {
                tenant: "contoso".into()
            }
        );
        store
            .ask_consent("contoso", "state-3", "ann", &t1)
            .await
            .unwrap();
        assert_eq!(
            store
                .answer_consent("state-3", &granted, 30 * day, &t1)
                .await
                .unwrap(),
            ConsentTaken::Recorded {
                tenant: "contoso".into(),
                consent: Consent::Granted
            }
        );
        // a tenant added by domain gets the GUID its consent names
        store
            .ask_consent("fabrikam", "state-f", "ann", &t1)
            .await
            .unwrap();
        let taken = store
            .answer_consent(
                "state-f",
                &ConsentAnswer::Granted {
                    directory_id: G2.into(),
                },
                30 * day,
                &t1,
            )
            .await
            .unwrap();
        assert_eq!(
            taken,
            ConsentTaken::Recorded {
                tenant: "fabrikam".into(),
                consent: Consent::Granted
            }
        );
        // a refusal
        store
            .add_tenants(
                &[tenant("tailspin", "tailspin.onmicrosoft.com", None)],
                "ann",
                &t1,
            )
            .await
            .unwrap();
        store
            .ask_consent("tailspin", "state-t", "ann", &t1)
            .await
            .unwrap();
        store
            .answer_consent(
                "state-t",
                &ConsentAnswer::Declined {
                    error:
                        "access_denied: AADSTS65004: User declined to consent to access the app."
                            .into(),
                },
                30 * day,
                &t1,
            )
            .await
            .unwrap();
        let list = store.directory_tenants().await.unwrap();
        let by = |n: &str| list.iter().find(|t| t.name == n).unwrap().clone();
        assert_eq!(by("contoso").consent, Consent::Granted);
        assert_eq!(by("contoso").consent_error, None);
        assert_eq!(by("fabrikam").directory_id, G2);
        assert_eq!(by("tailspin").consent, Consent::Declined);
        assert!(
            by("tailspin")
                .consent_error
                .unwrap()
                .contains("AADSTS65004")
        );

        // access checks are recorded (not audited)
        store
            .record_access_check(
                "contoso",
                &AccessCheck {
                    missing: vec!["ServiceHealth.Read.All".into()],
                    error: None,
                },
                &t1,
            )
            .await
            .unwrap();
        store
            .record_access_check(
                "fabrikam",
                &AccessCheck {
                    missing: vec![],
                    error: Some("no token".into()),
                },
                &t1,
            )
            .await
            .unwrap();
        let list = store.directory_tenants().await.unwrap();
        assert_eq!(list[0].missing_permissions, vec!["ServiceHealth.Read.All"]);
        assert_eq!(list[0].checked_at, Some(t1));
        assert_eq!(list[1].check_error.as_deref(), Some("no token"));
        assert!(list[1].missing_permissions.is_empty());

        // removal keeps the archive, and the tenant can be added again
        store
            .remove_directory_tenant("fabrikam", "ann", &t1)
            .await
            .unwrap();
        assert!(matches!(
            store.remove_directory_tenant("fabrikam", "ann", &t1).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.directory_tenants().await.unwrap().len(), 2);
        assert_eq!(
            store.tenants().await.unwrap().len(),
            3,
            "the archive's row stays"
        );
        let back = store
            .add_tenants(&[tenant("fabrikam", G2, None)], "ann", &t1)
            .await
            .unwrap();
        assert_eq!(back.added, vec!["fabrikam"]);

        // a page of tenants: by name, searched, failing only, within a scope
        store
            .record_sync(
                "tailspin",
                &t1,
                Some("HTTP 403 Authorization_RequestDenied"),
            )
            .await
            .unwrap();
        let page =
            |search: &str, failing: bool, only: Option<Vec<&str>>, offset: i64, limit: i64| {
                TenantQuery {
                    only: only.map(|o| o.into_iter().map(String::from).collect()),
                    search: search.into(),
                    failing,
                    offset,
                    limit,
                }
            };
        let names = |p: &TenantPage| p.rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let all = store
            .tenant_page(&page("", false, None, 0, 50))
            .await
            .unwrap();
        assert_eq!((all.total, all.failing), (3, 1));
        assert_eq!(names(&all), ["contoso", "fabrikam", "tailspin"]);
        assert_eq!(
            all.rows[1].posts_seen, 1,
            "fabrikam's post, counted on the page"
        );
        let second = store
            .tenant_page(&page("", false, None, 1, 1))
            .await
            .unwrap();
        assert_eq!(
            (names(&second), second.total),
            (vec!["fabrikam".to_string()], 3)
        );
        // by display name (any case), by directory, LIKE's wildcards literal
        let found = store
            .tenant_page(&page("CONTOSO L", false, None, 0, 50))
            .await
            .unwrap();
        assert_eq!(names(&found), ["contoso"]);
        let found = store
            .tenant_page(&page(&G2[..8], false, None, 0, 50))
            .await
            .unwrap();
        assert_eq!(names(&found), ["fabrikam"]);
        assert_eq!(
            store
                .tenant_page(&page("%", false, None, 0, 50))
                .await
                .unwrap()
                .total,
            0
        );
        let failing = store
            .tenant_page(&page("", true, None, 0, 50))
            .await
            .unwrap();
        assert_eq!(names(&failing), ["tailspin"]);
        let scoped = store
            .tenant_page(&page(
                "",
                false,
                Some(vec!["tailspin", "contoso", "nobody"]),
                0,
                50,
            ))
            .await
            .unwrap();
        assert_eq!(
            (names(&scoped), scoped.total),
            (vec!["contoso".to_string(), "tailspin".to_string()], 2)
        );
        assert_eq!(
            store
                .tenant_page(&page("", false, Some(vec![]), 0, 50))
                .await
                .unwrap()
                .total,
            0
        );

        let log = actions(&store).await;
        let count = |a: &str| log.iter().filter(|(_, action, _)| action == a).count();
        assert_eq!(count("tenant.add"), 4, "{log:?}");
        assert_eq!(count("tenant.update"), 1);
        assert_eq!(count("tenant.consent_link"), 6);
        assert_eq!(
            count("tenant.consent"),
            4,
            "answers that were recorded: {log:?}"
        );
        assert_eq!(count("tenant.remove"), 1);
        assert!(
            log.iter()
                .filter(|(_, a, _)| a == "tenant.consent")
                .all(|(actor, _, _)| actor == "admin consent")
        );
    }
);

conformance!(
    a_renamed_tenant_is_renamed_everywhere_its_name_is_kept,
    |store: Store| async move {
        use changedesk_core::access::{Role, Scope as Limit};
        use changedesk_core::triage::{Scope, State, TenantGroup, TenantOverride, WorkItem};
        let t0 = at("2026-03-01T00:00:00Z");
        for t in ["contoso", "fabrikam"] {
            store
                .import_messages(
                    t,
                    &[post("MC1", "2026-02-01T00:00:00Z")],
                    &opts("2026-02-20T00:00:00Z"),
                )
                .await
                .unwrap();
        }
        // an exception for fabrikam, an owner for it, a user and a group
        // limited to it
        let mut item = WorkItem::new("MC1", t0);
        let mut ex = TenantOverride::empty("fabrikam");
        ex.state = Some(State::Done);
        item.overrides.push(ex);
        saved_with_bob_for_fabrikam(&store, &item, t0).await;
        store
            .put_group(
                &TenantGroup {
                    name: "emea".into(),
                    description: String::new(),
                    include: vec!["fabrikam".into(), "con*".into()],
                    exclude: Vec::new(),
                },
                "ann",
                &t0,
            )
            .await
            .unwrap();
        store
            .create_user(
                &changedesk_store::NewUser {
                    name: "zed".into(),
                    display_name: "Zed".into(),
                    email: "zed@example.com".into(),
                    role: Role::ChangeManager,
                    scope: Limit {
                        tenants: vec!["fabrikam".into()],
                        groups: Vec::new(),
                    },
                    password_hash: None,
                    oidc_subject: None,
                    disabled: false,
                    at: t0,
                },
                "ann",
            )
            .await
            .unwrap();

        // refused: a configured tenant, a taken name, a bad name, nobody
        assert!(matches!(
            store
                .rename_tenant("fabrikam", "northwind", &["fabrikam".into()], "ann", &t0)
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store
                .rename_tenant("fabrikam", "contoso", &[], "ann", &t0)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .rename_tenant("fabrikam", "North Wind", &[], "ann", &t0)
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.rename_tenant("nobody", "x", &[], "ann", &t0).await,
            Err(StoreError::NotFound(_))
        ));

        let r = store
            .rename_tenant(" Fabrikam ", "northwind", &[], "ann", &t0)
            .await
            .unwrap();
        assert_eq!((r.from.as_str(), r.to.as_str()), ("fabrikam", "northwind"));
        assert_eq!((r.work_items, r.ownership, r.scopes), (1, 1, 1));
        assert_eq!(r.groups, vec!["emea"]);

        let mut names: Vec<String> = store
            .tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["contoso", "northwind"],
            "the same row, its links kept"
        );
        let stored = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!(stored.item.overrides.len(), 1);
        assert_eq!(stored.item.overrides[0].tenant, "northwind");
        assert_eq!(
            stored.version, 2,
            "an edit begun before cannot write it back"
        );
        // what is in force for the tenant follows its new name
        let done_for = store
            .work_items(&changedesk_store::ItemFilter {
                tenant: Some("northwind".into()),
                states: vec![State::Done],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(done_for.len(), 1);
        assert!(
            store
                .ownership()
                .await
                .unwrap()
                .iter()
                .any(|e| e.scope == Scope::Tenant("northwind".into()))
        );
        let groups = store.groups().await.unwrap();
        assert_eq!(groups[0].include, vec!["northwind", "con*"]);
        let zed = store.user_by_name("zed").await.unwrap().unwrap();
        assert_eq!(zed.scope.tenants, vec!["northwind"]);
        let audited = actions(&store).await;
        assert!(
            audited.contains(&("ann".into(), "tenant.rename".into(), "fabrikam".into())),
            "{audited:?}"
        );
        // the old name is free again
        assert!(matches!(
            store.rename_tenant("fabrikam", "x", &[], "ann", &t0).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

conformance!(
    /// A decommissioned customer's purge removes what is its own (links,
    /// counts, exceptions, ownership, health, runs, its row) and keeps what
    /// is shared: posts and incidents (seen by none when only it saw
    /// them), revisions, work items, other tenants' exceptions.
    a_purged_tenant_leaves_nothing_of_its_own,
    |store: Store| async move {
        use changedesk_core::triage::{
            State, TenantOverride, WorkItem,
        };
        let t0 = at("2026-03-01T00:00:00Z");
        store
            .import_messages(
                "contoso",
                &[post("MC1", "2026-02-01T00:00:00Z")],
                &opts("2026-02-20T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_messages(
                "fabrikam",
                &[
                    post("MC1", "2026-02-01T00:00:00Z"),
                    post("MC2", "2026-02-02T00:00:00Z"),
                ],
                &opts("2026-02-20T00:00:00Z"),
            )
            .await
            .unwrap();
        for t in ["contoso", "fabrikam"] {
            store
                .import_incidents(
                    t,
                    &[incident("EX1", "investigating", "2026-03-01T10:00:00Z", 1)],
                    &opts("2026-03-01T00:00:00Z"),
                )
                .await
                .unwrap();
        }
        store
            .import_incidents(
                "fabrikam",
                &[
                    incident("EX1", "investigating", "2026-03-01T10:00:00Z", 1),
                    incident("EX2", "investigating", "2026-03-01T11:00:00Z", 1),
                ],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let mut item = WorkItem::new("MC1", t0);
        for (t, s) in [("contoso", State::InProgress), ("fabrikam", State::Done)] {
            let mut ex = TenantOverride::empty(t);
            ex.state = Some(s);
            item.overrides.push(ex);
        }
        saved_with_bob_for_fabrikam(&store, &item, t0).await;

        // refused: a configured tenant, nobody
        assert!(matches!(
            store
                .purge_tenant("fabrikam", &["fabrikam".into()], "ann", &t0)
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.purge_tenant("nobody", &[], "ann", &t0).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.work_item("MC1").await.unwrap().unwrap().version, 1);

        let r = store
            .purge_tenant(" Fabrikam ", &[], "ann", &t0)
            .await
            .unwrap();
        assert_eq!(r.name, "fabrikam");
        assert_eq!(
            (r.post_links, r.posts_seen_by_none),
            (2, 1),
            "MC2 was fabrikam's alone: {r:?}"
        );
        assert_eq!((r.incident_links, r.incidents_seen_by_none), (2, 1));
        assert_eq!((r.work_items, r.ownership), (1, 1));
        assert!(r.runs >= 2, "{r:?}");

        let names: Vec<String> = store
            .tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["contoso"]);
        // the shared content stays; the counts are the links
        assert_eq!(
            link_counts(&store).await,
            [("MC1".to_string(), 1, 1), ("MC2".to_string(), 0, 0)]
        );
        let mc1 = store.get_message("MC1").await.unwrap();
        let linked: Vec<&str> = mc1.tenants.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(linked, ["contoso"]);
        assert!(!mc1.revisions.is_empty());
        let active = PostQuery {
            state: Some(PostState::Active),
            ..PostQuery::new(TenantScope::All)
        };
        assert_eq!(store.query_posts(&active).await.unwrap().total, 1);
        let incidents = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        let mut seen: Vec<(&str, i64)> = incidents
            .iter()
            .map(|i| (i.id.as_str(), i.tenants_seen))
            .collect();
        seen.sort();
        assert_eq!(seen, [("EX1", 1), ("EX2", 0)]);
        // its exception is gone, contoso's stays; a new version
        let stored = store.work_item("MC1").await.unwrap().unwrap();
        let left: Vec<&str> = stored
            .item
            .overrides
            .iter()
            .map(|o| o.tenant.as_str())
            .collect();
        assert_eq!(left, ["contoso"]);
        assert_eq!(stored.version, 2);
        let open_somewhere = store
            .work_items(&changedesk_store::ItemFilter {
                states: vec![State::InProgress],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(open_somewhere.len(), 1);
        let done_somewhere = store
            .work_items(&changedesk_store::ItemFilter {
                states: vec![State::Done],
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(done_somewhere.is_empty(), "fabrikam's exception is gone");
        assert!(store.ownership().await.unwrap().is_empty());
        let audited = actions(&store).await;
        assert!(
            audited.contains(&("ann".into(), "tenant.purge".into(), "fabrikam".into())),
            "{audited:?}"
        );

        // the name is free: a sync under it starts a new tenant
        store
            .import_messages(
                "fabrikam",
                &[post("MC2", "2026-02-02T00:00:00Z")],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            link_counts(&store).await,
            [("MC1".to_string(), 1, 1), ("MC2".to_string(), 1, 1)]
        );
    }
);
