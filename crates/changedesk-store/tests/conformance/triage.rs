//! Triage scenarios every backend must pass identically: owners, tenant
//! groups, workload ownership, rules, seeding from the configuration, the
//! audit log, work items with optimistic versions, the append-only decision
//! log, notify intents and triage candidates.

use changedesk_core::Timestamp;
use changedesk_core::triage::{
    Action, Actor, Decision, LogAction, LogEntry, LogScope, Owner, OwnershipEntry, Priority,
    ReopenPolicy, Scope, State, TenantGroup, WorkItem, on_revision, transition,
    transition_for_tenants,
};
use changedesk_store::{
    AuditEntry, ItemFilter, ItemSave, Location, NotifyRow, SeedRule, Store, StoreError, TriageSeed,
};
use serde_json::{Value, json};
use sqlx::{ConnectOptions, Connection};

use crate::conformance;
use crate::fixtures::*;

// ---------------------------------------------------------------- helpers

fn owner(name: &str, display_name: &str, email: &str) -> Owner {
    Owner {
        name: name.into(),
        display_name: display_name.into(),
        email: email.into(),
        teams: None,
        slack: None,
        entra_id: None,
    }
}

fn group(name: &str, description: &str, include: &[&str]) -> TenantGroup {
    TenantGroup {
        name: name.into(),
        description: description.into(),
        include: include.iter().map(|s| s.to_string()).collect(),
        exclude: Vec::new(),
    }
}

fn entry(workload: &str, scope: Scope, owner: &str) -> OwnershipEntry {
    OwnershipEntry {
        workload: workload.into(),
        owner: owner.into(),
        scope,
    }
}

fn person(name: &str) -> Actor {
    Actor::person(name).expect("a person")
}

fn names_of_owners(owners: &[Owner]) -> Vec<&str> {
    owners.iter().map(|o| o.name.as_str()).collect()
}

fn names_of_groups(groups: &[TenantGroup]) -> Vec<&str> {
    groups.iter().map(|g| g.name.as_str()).collect()
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

/// Applies an action that must be accepted.
fn act(item: &WorkItem, action: Action, actor: &Actor, now: &str) -> (WorkItem, Vec<LogEntry>) {
    let t = transition(item, action, actor, at(now)).expect("action accepted");
    (t.item, t.entries)
}

/// Saves an item with its entries (no notify intents).
async fn save(
    store: &Store,
    item: &WorkItem,
    expected_version: Option<i64>,
    evaluated_revision: Option<i64>,
    entries: &[LogEntry],
    now: &str,
) -> Result<i64, StoreError> {
    store
        .save_work_item(&ItemSave {
            item,
            expected_version,
            evaluated_revision,
            entries,
            notify: &[],
            events: &[],
            at: at(now),
        })
        .await
}

fn ids_of(rows: &[changedesk_store::ItemRow]) -> Vec<&str> {
    rows.iter()
        .map(|r| r.stored.item.message_id.as_str())
        .collect()
}

async fn listed(store: &Store, filter: ItemFilter) -> Vec<String> {
    ids_of(&store.work_items(&filter).await.unwrap())
        .into_iter()
        .map(String::from)
        .collect()
}

/// A post at `last_modified` with another title (a new revision when newer).
fn retitled(id: &str, last_modified: &str, title: &str) -> changedesk_core::graph::Message {
    parse(&with(post_json(id, last_modified), "title", json!(title)))
}

/// Runs one statement on the store's database over a connection of its own,
/// bypassing `Store` (what anyone with database access can do).
pub(crate) async fn raw_execute(store: &Store, statement: &'static str) -> Result<u64, String> {
    match store.location() {
        Location::Sqlite(path) => {
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .connect()
                .await
                .expect("raw SQLite connection");
            let r = sqlx::query(statement).execute(&mut conn).await;
            let _ = conn.close().await;
            r.map(|r| r.rows_affected()).map_err(|e| e.to_string())
        }
        Location::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .expect("raw PostgreSQL connection");
            let r = sqlx::query(statement).execute(&mut conn).await;
            let _ = conn.close().await;
            r.map(|r| r.rows_affected()).map_err(|e| e.to_string())
        }
    }
}

/// Runs a script of statements (a migration's) on the store's database over
/// a connection of its own.
async fn raw_script(store: &Store, script: &'static str) {
    match store.location() {
        Location::Sqlite(path) => {
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .connect()
                .await
                .expect("raw SQLite connection");
            sqlx::raw_sql(script)
                .execute(&mut conn)
                .await
                .expect("script");
            let _ = conn.close().await;
        }
        Location::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .expect("raw PostgreSQL connection");
            sqlx::raw_sql(script)
                .execute(&mut conn)
                .await
                .expect("script");
            let _ = conn.close().await;
        }
    }
}

/// Pairs of text columns read with a connection of its own (for what `Store`
/// does not return, such as a row's `source`).
async fn raw_pairs(store: &Store, query: &'static str) -> Vec<(String, String)> {
    match store.location() {
        Location::Sqlite(path) => {
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .connect()
                .await
                .expect("raw SQLite connection");
            let r = sqlx::query_as::<_, (String, String)>(query)
                .fetch_all(&mut conn)
                .await
                .expect("raw query");
            let _ = conn.close().await;
            r
        }
        Location::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .expect("raw PostgreSQL connection");
            let r = sqlx::query_as::<_, (String, String)>(query)
                .fetch_all(&mut conn)
                .await
                .expect("raw query");
            let _ = conn.close().await;
            r
        }
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// ---------------------------------------------------------------- owners

conformance!(
    owners_are_put_listed_updated_and_removed_with_an_audit_trail,
    |store: Store| async move {
        assert!(store.owners().await.unwrap().is_empty());
        let zoe = Owner {
            teams: Some("zoe@teams".into()),
            entra_id: Some("3f2504e0-4f89-11d3-9a0c-0305e82c3301".into()),
            ..owner("Zoe", "Zoe Quinn", "zoe@example.com")
        };
        store
            .put_owner(&zoe, "admin1", &at("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .put_owner(
                &owner("alice", "Alice Martin", "alice@example.com"),
                "admin2",
                &at("2026-03-01T00:01:00Z"),
            )
            .await
            .unwrap();
        let owners = store.owners().await.unwrap();
        assert_eq!(
            names_of_owners(&owners),
            vec!["alice", "zoe"],
            "ordered by name, names lower-cased"
        );
        assert_eq!(
            owners[1],
            Owner {
                name: "zoe".into(),
                ..zoe.clone()
            },
            "every field round-trips"
        );

        // update: same key, whatever the case
        let alice2 = Owner {
            slack: Some("#alice".into()),
            ..owner("ALICE", "Alice M.", "alice@contoso.example")
        };
        store
            .put_owner(&alice2, "admin2", &at("2026-03-01T00:02:00Z"))
            .await
            .unwrap();
        let owners = store.owners().await.unwrap();
        assert_eq!(
            names_of_owners(&owners),
            vec!["alice", "zoe"],
            "an update adds no owner"
        );
        assert_eq!(owners[0].display_name, "Alice M.");
        assert_eq!(owners[0].email, "alice@contoso.example");
        assert_eq!(owners[0].slack.as_deref(), Some("#alice"));
        assert_eq!(owners[0].teams, None);

        // refused while alice owns a workload
        store
            .set_ownership(
                &entry("Microsoft Teams", Scope::All, "alice"),
                "admin1",
                &at("2026-03-01T00:03:00Z"),
            )
            .await
            .unwrap();
        let audited = audit(&store).await.len();
        match store
            .remove_owner("Alice", "admin1", &at("2026-03-01T00:04:00Z"))
            .await
        {
            Err(StoreError::Invalid(m)) => {
                assert!(m.contains("alice"), "names the owner: {m}");
                assert!(m.contains("Microsoft Teams"), "names the workload: {m}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(store.owners().await.unwrap().len(), 2, "nothing removed");
        assert_eq!(
            audit(&store).await.len(),
            audited,
            "a refusal is not audited"
        );

        store
            .remove_ownership(
                "Microsoft Teams",
                &Scope::All,
                "admin1",
                &at("2026-03-01T00:05:00Z"),
            )
            .await
            .unwrap();
        store
            .remove_owner("Alice", "admin3", &at("2026-03-01T00:06:00Z"))
            .await
            .unwrap();
        assert_eq!(names_of_owners(&store.owners().await.unwrap()), vec!["zoe"]);

        // unknown
        match store
            .remove_owner("nobody", "admin1", &at("2026-03-01T00:07:00Z"))
            .await
        {
            Err(StoreError::NotFound(m)) => assert!(m.contains("nobody"), "{m}"),
            other => panic!("expected NotFound, got {other:?}"),
        }
        match store
            .remove_owner("alice", "admin1", &at("2026-03-01T00:07:00Z"))
            .await
        {
            Err(StoreError::NotFound(_)) => {}
            other => panic!("removing twice: expected NotFound, got {other:?}"),
        }

        // the audit trail: every change, with who made it, nothing refused
        let log = audit(&store).await;
        let seen: Vec<(String, String, String)> = log
            .iter()
            .map(|e| {
                (
                    e.actor.clone(),
                    e.action.clone(),
                    e.target.to_ascii_lowercase(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                triple("admin1", "owner.put", "zoe"),
                triple("admin2", "owner.put", "alice"),
                triple("admin2", "owner.put", "alice"),
                triple("admin1", "ownership.set", "microsoft teams"),
                triple("admin1", "ownership.remove", "microsoft teams"),
                triple("admin3", "owner.remove", "alice"),
            ]
        );
        assert_eq!(log[0].at, at("2026-03-01T00:00:00Z"));
        assert_eq!(log[5].at, at("2026-03-01T00:06:00Z"));
        assert_eq!(log[2].detail["email"], json!("alice@contoso.example"));
        assert!(
            log.windows(2).all(|w| w[0].id < w[1].id),
            "ids grow: {log:?}"
        );
        // newest first, and the limit holds
        let newest = store.audit_log(2).await.unwrap();
        assert_eq!(newest.len(), 2);
        assert_eq!(newest[0].action, "owner.remove");
        assert_eq!(newest[1].action, "ownership.remove");
    }
);

conformance!(
    audit_targets_name_the_stored_key,
    |store: Store| async move {
        // an owner put as `Zoe` is stored as `zoe`; the audit entry of the
        // change must name the same row as the entry of its removal
        store
            .put_owner(
                &owner("Zoe", "Zoe Quinn", "zoe@example.com"),
                "admin",
                &at("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .put_group(
                &group("EU", "Europe", &["eu-*"]),
                "admin",
                &at("2026-03-01T00:01:00Z"),
            )
            .await
            .unwrap();
        store
            .remove_group("eu", "admin", &at("2026-03-01T00:02:00Z"))
            .await
            .unwrap();
        store
            .remove_owner("zoe", "admin", &at("2026-03-01T00:03:00Z"))
            .await
            .unwrap();
        assert_eq!(
            audit_triples(&store).await,
            vec![
                triple("admin", "owner.put", "zoe"),
                triple("admin", "group.put", "eu"),
                triple("admin", "group.remove", "eu"),
                triple("admin", "owner.remove", "zoe"),
            ]
        );
    }
);

// ---------------------------------------------------------------- tenant groups

conformance!(
    tenant_groups_keep_their_order_and_refuse_removal_while_used,
    |store: Store| async move {
        let t = at("2026-03-01T00:00:00Z");
        for g in [
            group("eu", "Europe", &["eu-*"]),
            group("US", "United States", &["us-*", "contoso"]),
            group("apac", "Asia-Pacific", &["ap-*"]),
        ] {
            store.put_group(&g, "admin", &t).await.unwrap();
        }
        let groups = store.groups().await.unwrap();
        assert_eq!(
            names_of_groups(&groups),
            vec!["eu", "us", "apac"],
            "in the order they were added, not by name; names lower-cased"
        );
        assert_eq!(groups[1].include, vec!["us-*", "contoso"]);
        assert_eq!(groups[1].description, "United States");

        // an update keeps its place
        let eu2 = TenantGroup {
            exclude: vec!["eu-test".into()],
            ..group("EU", "Europe (all)", &["eu-*", "emea-*"])
        };
        store
            .put_group(&eu2, "admin2", &at("2026-03-01T00:01:00Z"))
            .await
            .unwrap();
        let groups = store.groups().await.unwrap();
        assert_eq!(names_of_groups(&groups), vec!["eu", "us", "apac"]);
        assert_eq!(
            groups[0],
            TenantGroup {
                name: "eu".into(),
                ..eu2
            }
        );

        // refused while an ownership entry uses it
        store
            .put_owner(&owner("alice", "Alice", "alice@example.com"), "admin", &t)
            .await
            .unwrap();
        store
            .set_ownership(
                &entry("Microsoft Teams", Scope::Group("us".into()), "alice"),
                "admin",
                &t,
            )
            .await
            .unwrap();
        match store
            .remove_group("US", "admin", &at("2026-03-01T00:02:00Z"))
            .await
        {
            Err(StoreError::Invalid(m)) => {
                assert!(m.contains("`us`"), "names the group: {m}");
                assert!(m.contains("ownership"), "says why: {m}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(store.groups().await.unwrap().len(), 3, "nothing removed");

        store
            .remove_ownership("Microsoft Teams", &Scope::Group("us".into()), "admin", &t)
            .await
            .unwrap();
        store
            .remove_group("US", "admin3", &at("2026-03-01T00:03:00Z"))
            .await
            .unwrap();
        assert_eq!(
            names_of_groups(&store.groups().await.unwrap()),
            vec!["eu", "apac"]
        );

        // a new one goes last, after the removal too
        store
            .put_group(
                &group("latam", "Latin America", &["br-*"]),
                "admin",
                &at("2026-03-01T00:04:00Z"),
            )
            .await
            .unwrap();
        store
            .put_group(
                &group("apac", "Asia-Pacific, again", &["ap-*"]),
                "admin",
                &at("2026-03-01T00:05:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            names_of_groups(&store.groups().await.unwrap()),
            vec!["eu", "apac", "latam"]
        );

        match store.remove_group("nowhere", "admin", &t).await {
            Err(StoreError::NotFound(m)) => assert!(m.contains("nowhere"), "{m}"),
            other => panic!("expected NotFound, got {other:?}"),
        }

        let groups_audit: Vec<(String, String, String)> = audit_triples(&store)
            .await
            .into_iter()
            .filter(|(_, a, _)| a.starts_with("group."))
            .map(|(u, a, target)| (u, a, target.to_ascii_lowercase()))
            .collect();
        assert_eq!(
            groups_audit,
            vec![
                triple("admin", "group.put", "eu"),
                triple("admin", "group.put", "us"),
                triple("admin", "group.put", "apac"),
                triple("admin2", "group.put", "eu"),
                triple("admin3", "group.remove", "us"),
                triple("admin", "group.put", "latam"),
                triple("admin", "group.put", "apac"),
            ]
        );
    }
);

// ---------------------------------------------------------------- ownership

conformance!(
    ownership_is_set_for_every_scope_replaced_refused_and_removed,
    |store: Store| async move {
        let t = at("2026-03-01T00:00:00Z");
        for o in [
            owner("alice", "Alice", "alice@example.com"),
            owner("bob", "Bob", "bob@example.com"),
        ] {
            store.put_owner(&o, "admin", &t).await.unwrap();
        }
        store
            .put_group(&group("eu", "Europe", &["eu-*"]), "admin", &t)
            .await
            .unwrap();

        for e in [
            entry("Microsoft Teams", Scope::All, "Alice"),
            entry("Microsoft Teams", Scope::Group("EU".into()), "bob"),
            entry("Microsoft Teams", Scope::Tenant("Contoso".into()), "bob"),
            entry("Exchange Online", Scope::All, "bob"),
            entry("*", Scope::All, "alice"),
        ] {
            store.set_ownership(&e, "admin", &t).await.unwrap();
        }
        assert_eq!(
            store.ownership().await.unwrap(),
            vec![
                entry("*", Scope::All, "alice"),
                entry("Exchange Online", Scope::All, "bob"),
                entry("Microsoft Teams", Scope::All, "alice"),
                entry("Microsoft Teams", Scope::Group("eu".into()), "bob"),
                entry("Microsoft Teams", Scope::Tenant("contoso".into()), "bob"),
            ],
            "by workload then scope; owner and scope names lower-cased"
        );

        // replacing an entry
        store
            .set_ownership(
                &entry("Microsoft Teams", Scope::All, "bob"),
                "admin2",
                &at("2026-03-01T00:01:00Z"),
            )
            .await
            .unwrap();
        let list = store.ownership().await.unwrap();
        assert_eq!(list.len(), 5, "replaced, not added: {list:?}");
        assert!(list.contains(&entry("Microsoft Teams", Scope::All, "bob")));
        assert!(!list.contains(&entry("Microsoft Teams", Scope::All, "alice")));

        // refusals name what is missing and change nothing
        let before = store.ownership().await.unwrap();
        let audited = audit(&store).await.len();
        match store
            .set_ownership(
                &entry("SharePoint Online", Scope::All, "carol"),
                "admin",
                &t,
            )
            .await
        {
            Err(StoreError::Invalid(m)) => assert!(m.contains("carol"), "names the owner: {m}"),
            other => panic!("expected a refusal for an unknown owner, got {other:?}"),
        }
        match store
            .set_ownership(
                &entry("Microsoft Teams", Scope::Group("nowhere".into()), "alice"),
                "admin",
                &t,
            )
            .await
        {
            Err(StoreError::Invalid(m)) => assert!(m.contains("nowhere"), "names the group: {m}"),
            other => panic!("expected a refusal for an unknown group, got {other:?}"),
        }
        assert_eq!(store.ownership().await.unwrap(), before);
        assert_eq!(audit(&store).await.len(), audited);

        // removal
        store
            .remove_ownership(
                "Microsoft Teams",
                &Scope::Tenant("CONTOSO".into()),
                "admin3",
                &at("2026-03-01T00:02:00Z"),
            )
            .await
            .unwrap();
        store
            .remove_ownership(
                "Microsoft Teams",
                &Scope::Group("eu".into()),
                "admin3",
                &at("2026-03-01T00:03:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.ownership().await.unwrap(),
            vec![
                entry("*", Scope::All, "alice"),
                entry("Exchange Online", Scope::All, "bob"),
                entry("Microsoft Teams", Scope::All, "bob"),
            ]
        );
        match store
            .remove_ownership(
                "Microsoft Teams",
                &Scope::Tenant("contoso".into()),
                "admin3",
                &t,
            )
            .await
        {
            Err(StoreError::NotFound(m)) => {
                assert!(m.contains("Microsoft Teams"), "{m}");
                assert!(m.contains("contoso"), "{m}");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        match store
            .remove_ownership("Yammer", &Scope::All, "admin3", &t)
            .await
        {
            Err(StoreError::NotFound(_)) => {}
            other => panic!("expected NotFound, got {other:?}"),
        }

        let sets: Vec<(String, String, String)> = audit_triples(&store)
            .await
            .into_iter()
            .filter(|(_, a, _)| a.starts_with("ownership."))
            .collect();
        assert_eq!(sets.len(), 8, "{sets:?}");
        assert_eq!(
            sets[5],
            triple("admin2", "ownership.set", "Microsoft Teams")
        );
        assert_eq!(
            sets[6..],
            [
                triple("admin3", "ownership.remove", "Microsoft Teams"),
                triple("admin3", "ownership.remove", "Microsoft Teams"),
            ]
        );
    }
);

conformance!(
    ownership_workloads_compare_ignoring_case,
    |store: Store| async move {
        // core matches workloads ignoring case (and reports two entries for
        // the same workload and scope as duplicates), and remove_ownership
        // finds them ignoring case; so setting one in another case replaces
        let t = at("2026-03-01T00:00:00Z");
        for o in [
            owner("alice", "Alice", "alice@example.com"),
            owner("bob", "Bob", "bob@example.com"),
        ] {
            store.put_owner(&o, "admin", &t).await.unwrap();
        }
        store
            .set_ownership(&entry("Microsoft Teams", Scope::All, "alice"), "admin", &t)
            .await
            .unwrap();
        store
            .set_ownership(&entry("microsoft teams", Scope::All, "bob"), "admin", &t)
            .await
            .unwrap();
        let list = store.ownership().await.unwrap();
        assert_eq!(
            list.len(),
            1,
            "one entry per workload and scope, ignoring case: {list:?}"
        );
        assert_eq!(list[0].owner, "bob", "the newer entry wins");
    }
);

conformance!(
    removing_ownership_takes_the_workload_literally,
    |store: Store| async move {
        // a workload is a service name, not a LIKE pattern: `%` and `_`
        // must match only themselves
        let t = at("2026-03-01T00:00:00Z");
        store
            .put_owner(&owner("alice", "Alice", "alice@example.com"), "admin", &t)
            .await
            .unwrap();
        for w in ["Microsoft Teams", "Exchange Online"] {
            store
                .set_ownership(&entry(w, Scope::All, "alice"), "admin", &t)
                .await
                .unwrap();
        }
        for pattern in ["%", "Microsoft_Teams", "Exchange%"] {
            let r = store
                .remove_ownership(pattern, &Scope::All, "admin", &t)
                .await;
            assert!(
                matches!(r, Err(StoreError::NotFound(_))),
                "removing `{pattern}`: {r:?}"
            );
        }
        assert_eq!(store.ownership().await.unwrap().len(), 2, "nothing removed");
    }
);

// ---------------------------------------------------------------- rules

conformance!(
    rules_are_put_ordered_toggled_and_removed,
    |store: Store| async move {
        let spec1 = json!({
            "when": {"services": ["Microsoft Teams"], "severity": "high", "major": true,
                     "text": "retire “ünïcode” 100%", "weight": 1.5, "nested": {"a": [1, null, false]}},
            "then": {"assign": "alice", "labels": ["teams", "urgent"], "priority": "high"}
        });
        let spec2 = json!({"when": {"category": "stayInformed"}, "then": {"dismiss": "info only"}});
        let spec3 = json!({"when": {}, "then": {"label": "seen"}});
        let t1 = at("2026-03-01T00:00:00Z");
        store
            .put_rule("teams-high", true, &spec1, None, "admin1", &t1)
            .await
            .unwrap();
        store
            .put_rule("info", true, &spec2, None, "admin1", &t1)
            .await
            .unwrap();
        let rules = store.rules().await.unwrap();
        assert_eq!(
            rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["teams-high", "info"],
            "a new rule goes last"
        );
        assert_eq!(rules[0].spec, spec1, "the spec round-trips exactly");
        assert_eq!(rules[1].spec, spec2);
        assert!(rules[0].position < rules[1].position);
        assert!(rules.iter().all(|r| r.enabled && r.source == "manual"));
        assert_eq!(rules[0].updated_at, t1);

        // an explicit position
        store
            .put_rule("first", true, &spec3, Some(0), "admin2", &t1)
            .await
            .unwrap();
        let rules = store.rules().await.unwrap();
        assert_eq!(
            rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["first", "teams-high", "info"]
        );
        assert_eq!(rules[0].position, 0);

        // disable, keeping its place; then enable again
        let t2 = at("2026-03-02T00:00:00Z");
        let position = rules[1].position;
        store
            .put_rule("teams-high", false, &spec1, None, "admin2", &t2)
            .await
            .unwrap();
        let rules = store.rules().await.unwrap();
        let r = rules.iter().find(|r| r.name == "teams-high").unwrap();
        assert!(!r.enabled);
        assert_eq!(r.position, position, "disabling keeps the position");
        assert_eq!(r.updated_at, t2);
        assert_eq!(rules.len(), 3);
        store
            .put_rule("teams-high", true, &spec1, None, "admin2", &t2)
            .await
            .unwrap();
        assert!(
            store
                .rules()
                .await
                .unwrap()
                .iter()
                .find(|r| r.name == "teams-high")
                .unwrap()
                .enabled
        );

        // move to the end explicitly
        store
            .put_rule("first", true, &spec3, Some(100), "admin2", &t2)
            .await
            .unwrap();
        assert_eq!(
            store
                .rules()
                .await
                .unwrap()
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            vec!["teams-high", "info", "first"]
        );

        store.remove_rule("info", "admin3", &t2).await.unwrap();
        assert_eq!(
            store
                .rules()
                .await
                .unwrap()
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            vec!["teams-high", "first"]
        );
        match store.remove_rule("info", "admin3", &t2).await {
            Err(StoreError::NotFound(m)) => assert!(m.contains("info"), "{m}"),
            other => panic!("expected NotFound, got {other:?}"),
        }

        let log = audit(&store).await;
        assert_eq!(
            log.iter()
                .map(|e| (e.actor.clone(), e.action.clone(), e.target.clone()))
                .collect::<Vec<_>>(),
            vec![
                triple("admin1", "rule.put", "teams-high"),
                triple("admin1", "rule.put", "info"),
                triple("admin2", "rule.put", "first"),
                triple("admin2", "rule.put", "teams-high"),
                triple("admin2", "rule.put", "teams-high"),
                triple("admin2", "rule.put", "first"),
                triple("admin3", "rule.remove", "info"),
            ]
        );
        assert_eq!(log[0].detail, spec1, "the audit keeps the spec");
    }
);

// ---------------------------------------------------------------- seeding

fn seed_rule(name: &str, enabled: bool, spec: Value) -> SeedRule {
    SeedRule {
        name: name.into(),
        enabled,
        spec,
    }
}

const OWNER_SOURCES: &str = "SELECT name, source FROM owners ORDER BY name";
const GROUP_SOURCES: &str = "SELECT name, source FROM tenant_groups ORDER BY position, name";
const OWNERSHIP_SOURCES: &str = "SELECT workload || '/' || scope_kind || '/' || scope_name || '=' || owner, source \
     FROM ownership ORDER BY workload, scope_kind, scope_name";

conformance!(
    seeding_makes_the_file_the_config_rows_and_keeps_manual_ones,
    |store: Store| async move {
        let t0 = at("2026-03-01T00:00:00Z");
        // made by hand before the first seed: one only manual, one with the
        // same key as a file row
        store
            .put_owner(
                &owner("mallory", "Mallory", "mallory@example.com"),
                "admin",
                &t0,
            )
            .await
            .unwrap();
        store
            .put_owner(
                &owner("bob", "Bob (by hand)", "bob@manual.example"),
                "admin",
                &t0,
            )
            .await
            .unwrap();
        store
            .put_rule("r2", true, &json!({"manual": true}), Some(5), "admin", &t0)
            .await
            .unwrap();

        let first = TriageSeed {
            owners: vec![
                owner("Alice", "Alice", "alice@example.com"),
                owner("bob", "Bob (file)", "bob@file.example"),
                owner("erin", "Erin", "erin@example.com"),
            ],
            groups: vec![
                group("eu", "Europe", &["eu-*"]),
                group("us", "United States", &["us-*"]),
            ],
            ownership: vec![
                entry("Microsoft Teams", Scope::All, "alice"),
                entry("Exchange Online", Scope::Group("eu".into()), "bob"),
            ],
            rules: vec![
                seed_rule(
                    "r1",
                    true,
                    json!({"when": {"severity": "high"}, "then": {"priority": "high"}}),
                ),
                seed_rule("r2", false, json!({"file": true})),
            ],
        };
        let t1 = at("2026-03-02T00:00:00Z");
        let s = store.seed(&first, &t1).await.unwrap();
        assert_eq!(
            (s.owners, s.groups, s.ownership, s.rules, s.removed),
            (2, 2, 2, 1, 0),
            "the manual bob and r2 are not touched: {s:?}"
        );
        assert_eq!(
            raw_pairs(&store, OWNER_SOURCES).await,
            pairs(&[
                ("alice", "config"),
                ("bob", "manual"),
                ("erin", "config"),
                ("mallory", "manual"),
            ])
        );
        let bob = store
            .owners()
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.name == "bob")
            .unwrap();
        assert_eq!(
            bob.email, "bob@manual.example",
            "the manual row is left as it is"
        );
        assert_eq!(
            raw_pairs(&store, GROUP_SOURCES).await,
            pairs(&[("eu", "config"), ("us", "config")])
        );
        assert_eq!(
            raw_pairs(&store, OWNERSHIP_SOURCES).await,
            pairs(&[
                ("Exchange Online/group/eu=bob", "config"),
                ("Microsoft Teams/all/=alice", "config"),
            ])
        );
        let rules = store.rules().await.unwrap();
        assert_eq!(
            rules
                .iter()
                .map(|r| (r.name.as_str(), r.source.as_str(), r.enabled, r.position))
                .collect::<Vec<_>>(),
            vec![("r1", "config", true, 1), ("r2", "manual", true, 5)]
        );
        assert_eq!(rules[1].spec, json!({"manual": true}));
        assert_eq!(rules[0].updated_at, t1);
        let seeded = audit(&store).await;
        let last = seeded.last().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.action.as_str()),
            ("config", "seed"),
            "seeding is audited"
        );

        // made by hand between the seeds: an entry only by hand, and one with
        // the key of a row the file is about to get
        store
            .set_ownership(
                &entry(
                    "Exchange Online",
                    Scope::Tenant("contoso".into()),
                    "mallory",
                ),
                "admin",
                &t1,
            )
            .await
            .unwrap();
        store
            .set_ownership(
                &entry("Microsoft Teams", Scope::Group("us".into()), "mallory"),
                "admin",
                &t1,
            )
            .await
            .unwrap();

        // the file changes: erin, eu, the eu entry and r2 leave it; alice and
        // us change; dave, r3 and a Teams/us entry arrive
        let second = TriageSeed {
            owners: vec![
                owner("alice", "Alice Martin", "alice@contoso.example"),
                owner("dave", "Dave", "dave@example.com"),
            ],
            groups: vec![group("us", "United States and Canada", &["us-*", "ca-*"])],
            ownership: vec![
                entry("Microsoft Teams", Scope::All, "dave"),
                entry("Microsoft Teams", Scope::Group("us".into()), "alice"),
            ],
            rules: vec![
                seed_rule(
                    "r1",
                    false,
                    json!({"when": {"severity": "critical"}, "then": {}}),
                ),
                seed_rule("r3", true, json!({"when": {}, "then": {"label": "new"}})),
            ],
        };
        let t2 = at("2026-03-03T00:00:00Z");
        let s = store.seed(&second, &t2).await.unwrap();
        assert_eq!(
            (s.owners, s.groups, s.ownership, s.rules, s.removed),
            (2, 1, 1, 2, 2),
            "erin and eu removed; Teams/us is manual: {s:?}"
        );
        assert_eq!(
            raw_pairs(&store, OWNER_SOURCES).await,
            pairs(&[
                ("alice", "config"),
                ("bob", "manual"),
                ("dave", "config"),
                ("mallory", "manual"),
            ]),
            "a manual owner stays although it left the file"
        );
        let alice = store
            .owners()
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.name == "alice")
            .unwrap();
        assert_eq!(
            (alice.display_name.as_str(), alice.email.as_str()),
            ("Alice Martin", "alice@contoso.example")
        );
        let groups = store.groups().await.unwrap();
        assert_eq!(names_of_groups(&groups), vec!["us"]);
        assert_eq!(groups[0].description, "United States and Canada");
        assert_eq!(groups[0].include, vec!["us-*", "ca-*"]);
        assert_eq!(
            raw_pairs(&store, OWNERSHIP_SOURCES).await,
            pairs(&[
                ("Exchange Online/tenant/contoso=mallory", "manual"),
                ("Microsoft Teams/all/=dave", "config"),
                ("Microsoft Teams/group/us=mallory", "manual"),
            ]),
            "the file's entries replaced; the manual ones kept as they were"
        );
        let rules = store.rules().await.unwrap();
        assert_eq!(
            rules
                .iter()
                .map(|r| (r.name.as_str(), r.source.as_str(), r.enabled))
                .collect::<Vec<_>>(),
            vec![
                ("r1", "config", false),
                ("r3", "config", true),
                ("r2", "manual", true),
            ]
        );
        assert_eq!(
            rules[0].spec,
            json!({"when": {"severity": "critical"}, "then": {}})
        );
        assert_eq!(rules[0].updated_at, t2);

        // an empty file drops every config row and keeps the manual ones
        store
            .remove_ownership("Microsoft Teams", &Scope::Group("us".into()), "admin", &t2)
            .await
            .unwrap();
        let s = store
            .seed(&TriageSeed::default(), &at("2026-03-04T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            (s.owners, s.groups, s.ownership, s.rules, s.removed),
            (0, 0, 0, 0, 5),
            "alice, dave, us, r1 and r3 removed: {s:?}"
        );
        assert_eq!(
            raw_pairs(&store, OWNER_SOURCES).await,
            pairs(&[("bob", "manual"), ("mallory", "manual")])
        );
        assert!(store.groups().await.unwrap().is_empty());
        assert_eq!(
            raw_pairs(&store, OWNERSHIP_SOURCES).await,
            pairs(&[("Exchange Online/tenant/contoso=mallory", "manual")])
        );
        assert_eq!(
            store
                .rules()
                .await
                .unwrap()
                .iter()
                .map(|r| (r.name.as_str(), r.source.as_str()))
                .collect::<Vec<_>>(),
            vec![("r2", "manual")]
        );
        let seeds: Vec<AuditEntry> = audit(&store)
            .await
            .into_iter()
            .filter(|e| e.action == "seed")
            .collect();
        assert_eq!(
            seeds.len(),
            3,
            "every seed that changed something is audited"
        );
        assert!(seeds.iter().all(|e| e.actor == "config"));
        assert_eq!(seeds[2].detail["removed"], json!(5));
    }
);

conformance!(
    seeding_never_leaves_an_ownership_entry_without_its_group,
    |store: Store| async move {
        // a group the file drops while a hand-made entry still uses it: the
        // store refuses to remove such a group by hand, and seeding must not
        // do it behind the person's back either (keep it, or refuse)
        let t = at("2026-03-01T00:00:00Z");
        let with_eu = TriageSeed {
            owners: vec![owner("alice", "Alice", "alice@example.com")],
            groups: vec![group("eu", "Europe", &["eu-*"])],
            ..Default::default()
        };
        store.seed(&with_eu, &t).await.unwrap();
        store
            .set_ownership(
                &entry("Microsoft Teams", Scope::Group("eu".into()), "alice"),
                "admin",
                &t,
            )
            .await
            .unwrap();
        let without_eu = TriageSeed {
            owners: with_eu.owners.clone(),
            ..Default::default()
        };
        let r = store.seed(&without_eu, &at("2026-03-02T00:00:00Z")).await;
        let groups = store.groups().await.unwrap();
        let dangling: Vec<OwnershipEntry> = store
            .ownership()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| match &e.scope {
                Scope::Group(g) => !groups.iter().any(|x| &x.name == g),
                _ => false,
            })
            .collect();
        assert!(
            dangling.is_empty(),
            "seeding ({r:?}) left entries naming a missing group: {dangling:?}"
        );
    }
);

conformance!(
    seeding_explains_a_config_owner_a_manual_entry_still_uses,
    |store: Store| async move {
        // an owner the file drops while a hand-made entry still uses it:
        // keep the owner, or refuse with a message that names it (as
        // remove_owner does), never a bare database error
        let t = at("2026-03-01T00:00:00Z");
        let with_erin = TriageSeed {
            owners: vec![owner("erin", "Erin", "erin@example.com")],
            ..Default::default()
        };
        store.seed(&with_erin, &t).await.unwrap();
        store
            .set_ownership(&entry("Microsoft Teams", Scope::All, "erin"), "admin", &t)
            .await
            .unwrap();
        match store
            .seed(&TriageSeed::default(), &at("2026-03-02T00:00:00Z"))
            .await
        {
            Ok(_) => assert_eq!(
                names_of_owners(&store.owners().await.unwrap()),
                vec!["erin"],
                "the owner a manual entry uses is kept"
            ),
            Err(StoreError::Invalid(m)) => assert!(m.contains("erin"), "{m}"),
            Err(e) => panic!("expected the owner kept or a clear refusal, got: {e:?}"),
        }
        assert_eq!(store.ownership().await.unwrap().len(), 1);
    }
);

// ---------------------------------------------------------------- work items

conformance!(
    work_items_are_created_once_and_updated_at_their_version,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(store.work_item("MC1").await.unwrap(), None);
        let alice = person("alice");
        let item = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        let v = save(&store, &item, None, None, &[], "2026-03-01T00:00:00Z")
            .await
            .unwrap();
        assert_eq!(v, 1);
        let stored = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!(
            (stored.version, stored.evaluated_revision, &stored.item),
            (1, 0, &item)
        );

        // creating again: someone else was first
        let other = WorkItem {
            priority: Priority::High,
            ..item.clone()
        };
        match save(&store, &other, None, Some(1), &[], "2026-03-01T00:01:00Z").await {
            Err(StoreError::Conflict(m)) => assert!(m.contains("MC1"), "{m}"),
            other => panic!("expected Conflict, got {other:?}"),
        }
        assert_eq!(store.work_item("MC1").await.unwrap().unwrap(), stored);

        // updating at the right version
        let (triaged, entries) = act(&item, Action::Triage, &alice, "2026-03-01T01:00:00Z");
        let v = save(
            &store,
            &triaged,
            Some(1),
            None,
            &entries,
            "2026-03-01T01:00:00Z",
        )
        .await
        .unwrap();
        assert_eq!(v, 2);
        let stored = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.item, triaged);
        assert_eq!(stored.item.state, State::Triaged);
        assert_eq!(stored.evaluated_revision, 0, "kept when not given");
        let log = store.work_item_log("MC1").await.unwrap();
        assert_eq!(log.len(), 1);

        // a stale version: refused, and nothing changes (item nor log)
        let (assigned, entries) = act(
            &triaged,
            Action::Assign {
                owner: Some("bob".into()),
            },
            &person("mallory"),
            "2026-03-01T02:00:00Z",
        );
        assert!(!entries.is_empty());
        match save(
            &store,
            &assigned,
            Some(1),
            Some(1),
            &entries,
            "2026-03-01T02:00:00Z",
        )
        .await
        {
            Err(StoreError::Conflict(m)) => assert!(m.contains("MC1"), "{m}"),
            other => panic!("expected Conflict, got {other:?}"),
        }
        assert_eq!(store.work_item("MC1").await.unwrap().unwrap(), stored);
        assert_eq!(store.work_item_log("MC1").await.unwrap(), log);
        // a version from the future is stale too
        assert!(matches!(
            save(
                &store,
                &assigned,
                Some(7),
                None,
                &entries,
                "2026-03-01T02:00:00Z"
            )
            .await,
            Err(StoreError::Conflict(_))
        ));
        // the right one goes through; evaluated_revision is recorded
        assert_eq!(
            save(
                &store,
                &assigned,
                Some(2),
                Some(1),
                &entries,
                "2026-03-01T02:00:00Z"
            )
            .await
            .unwrap(),
            3
        );
        let stored = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!((stored.version, stored.evaluated_revision), (3, 1));
        assert_eq!(stored.item.assignee.as_deref(), Some("bob"));
        assert_eq!(store.work_item_log("MC1").await.unwrap().len(), 2);
        // the other post has no item
        assert_eq!(store.work_item("MC2").await.unwrap(), None);
        assert!(store.work_item_log("MC2").await.unwrap().is_empty());
        assert_eq!(
            store.work_item_counts().await.unwrap(),
            vec![(State::Triaged, 1)]
        );
    }
);

conformance!(
    a_work_items_log_round_trips_in_order,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let alice = person("Alice Martin");
        let mut item = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        let mut version = save(&store, &item, None, Some(1), &[], "2026-03-01T00:00:00Z")
            .await
            .unwrap();
        let steps: Vec<(Action, Actor, &str)> = vec![
            (Action::Triage, Actor::Rules, "2026-03-01T00:00:00.000001Z"),
            (
                Action::Assign {
                    owner: Some("alice".into()),
                },
                Actor::Rules,
                "2026-03-01T00:00:00.000002Z",
            ),
            (
                Action::SetDue {
                    due: Some(at("2026-04-01T00:00:00Z")),
                },
                alice.clone(),
                "2026-03-02T09:00:00Z",
            ),
            (
                Action::SetOverride {
                    tenant: "alpha".into(),
                    applicable: Some(false),
                    assignee: None,
                    due: None,
                    note: Some("not licensed here — “nur EU”".into()),
                },
                alice.clone(),
                "2026-03-02T09:05:00Z",
            ),
            (
                Action::Comment {
                    text: "Checked with the Teams admins.\nNo change needed.".into(),
                },
                alice.clone(),
                "2026-03-02T09:10:00Z",
            ),
            (Action::Start, alice.clone(), "2026-03-03T00:00:00Z"),
            (
                Action::Close {
                    decision: Decision::Actioned,
                    reason: Some("policy updated".into()),
                },
                alice.clone(),
                "2026-03-04T00:00:00Z",
            ),
        ];
        let mut expected: Vec<LogEntry> = Vec::new();
        for (action, actor, now) in steps {
            let (next, entries) = act(&item, action, &actor, now);
            version = save(&store, &next, Some(version), None, &entries, now)
                .await
                .unwrap();
            expected.extend(entries);
            item = next;
        }
        // a revision after closing: system entries reopen it
        let effect = on_revision(
            &mut item,
            &["act_by".to_string(), "last_modified".to_string()],
            &ReopenPolicy::default(),
            at("2026-03-05T00:00:00Z"),
        );
        assert!(effect.reopened);
        version = save(
            &store,
            &item,
            Some(version),
            Some(2),
            &effect.entries,
            "2026-03-05T00:00:00Z",
        )
        .await
        .unwrap();
        expected.extend(effect.entries);
        assert_eq!(version, 9);

        let stored = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!(stored.item, item, "the whole item round-trips");
        assert_eq!(stored.item.state, State::Triaged);
        assert_eq!(stored.item.reopened_count, 1);
        assert_eq!(stored.item.overrides.len(), 1);
        assert_eq!((stored.version, stored.evaluated_revision), (9, 2));

        let log = store.work_item_log("MC1").await.unwrap();
        assert!(log.len() >= 12, "{log:?}");
        assert_eq!(
            log.iter().map(|l| l.entry.clone()).collect::<Vec<_>>(),
            expected,
            "every field of every entry, in order"
        );
        assert!(log.iter().all(|l| l.post_id == "MC1"));
        assert!(log.windows(2).all(|w| w[0].id < w[1].id));
        // the kinds that matter are really there
        let tenant: Vec<&LogEntry> = log
            .iter()
            .map(|l| &l.entry)
            .filter(|e| e.scope == LogScope::Tenant("alpha".into()))
            .collect();
        assert_eq!(tenant.len(), 2, "applicable and note: {tenant:?}");
        assert_eq!(tenant[0].field.as_deref(), Some("applicable"));
        assert_eq!(
            (tenant[0].old.as_deref(), tenant[0].new.as_deref()),
            (None, Some("false"))
        );
        assert_eq!(
            tenant[1].new.as_deref(),
            Some("not licensed here — “nur EU”")
        );
        let close: Vec<&LogEntry> = log
            .iter()
            .map(|l| &l.entry)
            .filter(|e| e.action == LogAction::Close)
            .collect();
        assert_eq!(close.len(), 2);
        assert_eq!(
            (
                close[1].field.as_deref(),
                close[1].old.as_deref(),
                close[1].new.as_deref(),
                close[1].reason.as_deref()
            ),
            (
                Some("decision"),
                None,
                Some("actioned"),
                Some("policy updated")
            )
        );
        assert_eq!(log[0].entry.actor, Actor::Rules);
        assert_eq!(log[0].entry.at, at("2026-03-01T00:00:00.000001Z"));
        assert!(log.iter().any(|l| l.entry.actor == alice));
        assert!(
            log.iter()
                .any(|l| l.entry.actor == Actor::System && l.entry.action == LogAction::Reopen)
        );
        let comment = log
            .iter()
            .find(|l| l.entry.action == LogAction::Comment)
            .unwrap();
        assert_eq!(
            (
                comment.entry.field.as_deref(),
                comment.entry.reason.as_deref()
            ),
            (
                None,
                Some("Checked with the Teams admins.\nNo change needed.")
            )
        );
        assert!(store.work_item_log("MC2").await.unwrap().is_empty());
    }
);

conformance!(
    the_decision_log_is_append_only_in_the_database,
    |store: Store| async move {
        store
            .import_messages("alpha", &posts(&["MC1"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let item = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        let (triaged, entries) = act(
            &item,
            Action::Triage,
            &person("alice"),
            "2026-03-01T00:00:00Z",
        );
        save(
            &store,
            &triaged,
            None,
            None,
            &entries,
            "2026-03-01T00:00:00Z",
        )
        .await
        .unwrap();
        store
            .put_owner(
                &owner("alice", "Alice", "alice@example.com"),
                "admin",
                &at("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let log = store.work_item_log("MC1").await.unwrap();
        let audited = store.audit_log(100).await.unwrap();
        assert_eq!((log.len(), audited.len()), (1, 1));

        for statement in [
            "UPDATE decision_log SET reason = 'rewritten'",
            "UPDATE decision_log SET actor = 'someone else' WHERE post_id = 'MC1'",
            "DELETE FROM decision_log",
            "DELETE FROM decision_log WHERE post_id = 'MC1'",
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
        ] {
            match raw_execute(&store, statement).await {
                Err(e) => assert!(e.contains("append-only"), "{statement}: {e}"),
                Ok(n) => panic!("{statement} was allowed ({n} rows)"),
            }
        }
        assert_eq!(store.work_item_log("MC1").await.unwrap(), log);
        assert_eq!(store.audit_log(100).await.unwrap(), audited);
        // appending is still possible
        let (commented, entries) = act(
            &triaged,
            Action::Comment {
                text: "still here".into(),
            },
            &person("alice"),
            "2026-03-01T01:00:00Z",
        );
        save(
            &store,
            &commented,
            Some(1),
            None,
            &entries,
            "2026-03-01T01:00:00Z",
        )
        .await
        .unwrap();
        assert_eq!(store.work_item_log("MC1").await.unwrap().len(), 2);
    }
);

// ---------------------------------------------------------------- lists

conformance!(
    work_items_filter_and_sort_soonest_due_first,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2", "MC3"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let mc5 = parse(&with(
            post_json("MC5", "2026-01-05T10:00:00Z"),
            "actionRequiredByDateTime",
            json!("2026-03-25T00:00:00Z"),
        ));
        store
            .import_messages(
                "beta",
                &[
                    post("MC3", "2026-01-05T10:00:00Z"),
                    post("MC4", "2026-01-05T10:00:00Z"),
                    mc5,
                ],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_messages("gamma", &posts(&["MC6"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let u = person("alice");
        let now = "2026-03-02T00:00:00Z";
        let new = |id: &str| WorkItem::new(id, at("2026-03-01T00:00:00Z"));
        let due = |d: &str| Action::SetDue { due: Some(at(d)) };
        let assign = |o: &str| Action::Assign {
            owner: Some(o.into()),
        };
        // MC1: triaged, alice, due 04-10
        let (i, _) = act(&new("MC1"), Action::Triage, &u, now);
        let (i, _) = act(&i, assign("alice"), &u, now);
        let (mc1, _) = act(&i, due("2026-04-10T00:00:00Z"), &u, now);
        // MC2: in progress, bob, due 04-01
        let (i, _) = act(&new("MC2"), Action::Start, &u, now);
        let (i, _) = act(&i, assign("bob"), &u, now);
        let (mc2, _) = act(&i, due("2026-04-01T00:00:00Z"), &u, now);
        // MC3: triaged, changed since triage, nobody, no date
        let (mut mc3, _) = act(&new("MC3"), Action::Triage, &u, now);
        assert!(
            on_revision(
                &mut mc3,
                &["title".into()],
                &ReopenPolicy::default(),
                at(now)
            )
            .flagged
        );
        // MC4: done, alice, due 03-20
        let (i, _) = act(&new("MC4"), assign("alice"), &u, now);
        let (i, _) = act(&i, due("2026-03-20T00:00:00Z"), &u, now);
        let (mc4, _) = act(
            &i,
            Action::Close {
                decision: Decision::NoActionNeeded,
                reason: None,
            },
            &u,
            now,
        );
        // MC5: new, no due date but the post's act-by 03-25
        let mc5 = new("MC5");
        // MC6 has no item
        for item in [&mc1, &mc2, &mc3, &mc4, &mc5] {
            save(&store, item, None, None, &[], now).await.unwrap();
        }

        let all = store.work_items(&ItemFilter::default()).await.unwrap();
        assert_eq!(
            ids_of(&all),
            vec!["MC4", "MC5", "MC2", "MC1", "MC3"],
            "soonest due (or act-by) first, undated last; posts without an item left out"
        );
        let row = all
            .iter()
            .find(|r| r.stored.item.message_id == "MC1")
            .unwrap();
        assert_eq!(row.title, "Microsoft Teams: feature MC1");
        assert_eq!(row.services, vec!["Microsoft Teams"]);
        assert_eq!(row.stored.item, mc1);
        assert_eq!(row.stored.version, 1);
        assert_eq!(row.first_seen, at("2026-03-01T00:00:00Z"));
        let row5 = all
            .iter()
            .find(|r| r.stored.item.message_id == "MC5")
            .unwrap();
        assert_eq!(row5.act_by, Some(at("2026-03-25T00:00:00Z")));

        let f = |filter: ItemFilter| listed(&store, filter);
        assert_eq!(
            f(ItemFilter {
                states: vec![State::Triaged],
                ..Default::default()
            })
            .await,
            vec!["MC1", "MC3"]
        );
        assert_eq!(
            f(ItemFilter {
                states: vec![State::InProgress, State::New],
                ..Default::default()
            })
            .await,
            vec!["MC5", "MC2"]
        );
        assert_eq!(
            f(ItemFilter {
                states: vec![State::Dismissed],
                ..Default::default()
            })
            .await,
            Vec::<String>::new()
        );
        assert_eq!(
            f(ItemFilter {
                assignee: Some("Alice".into()),
                ..Default::default()
            })
            .await,
            vec!["MC4", "MC1"]
        );
        assert_eq!(
            f(ItemFilter {
                assignee: Some("bob".into()),
                states: vec![State::Done],
                ..Default::default()
            })
            .await,
            Vec::<String>::new()
        );
        assert_eq!(
            f(ItemFilter {
                changed: Some(true),
                ..Default::default()
            })
            .await,
            vec!["MC3"]
        );
        assert_eq!(
            f(ItemFilter {
                changed: Some(false),
                ..Default::default()
            })
            .await,
            vec!["MC4", "MC5", "MC2", "MC1"]
        );
        assert_eq!(
            f(ItemFilter {
                tenant: Some("alpha".into()),
                ..Default::default()
            })
            .await,
            vec!["MC2", "MC1", "MC3"]
        );
        assert_eq!(
            f(ItemFilter {
                tenant: Some("beta".into()),
                ..Default::default()
            })
            .await,
            vec!["MC4", "MC5", "MC3"]
        );
        assert_eq!(
            f(ItemFilter {
                tenant: Some("gamma".into()),
                ..Default::default()
            })
            .await,
            Vec::<String>::new(),
            "gamma sees only MC6, which has no item"
        );
        assert_eq!(
            f(ItemFilter {
                tenant: Some("nobody".into()),
                ..Default::default()
            })
            .await,
            Vec::<String>::new()
        );
        assert_eq!(
            f(ItemFilter {
                due_before: Some(at("2026-04-05T00:00:00Z")),
                ..Default::default()
            })
            .await,
            vec!["MC4", "MC2"],
            "only items with a due date before the instant"
        );
        assert_eq!(
            f(ItemFilter {
                due_before: Some(at("2026-04-01T00:00:00Z")),
                ..Default::default()
            })
            .await,
            vec!["MC4"],
            "before, not on"
        );
        assert_eq!(
            f(ItemFilter {
                limit: Some(2),
                ..Default::default()
            })
            .await,
            vec!["MC4", "MC5"]
        );
        assert_eq!(
            f(ItemFilter {
                states: vec![State::Triaged, State::InProgress],
                tenant: Some("alpha".into()),
                limit: Some(2),
                ..Default::default()
            })
            .await,
            vec!["MC2", "MC1"]
        );
        let mut counts = store.work_item_counts().await.unwrap();
        counts.sort();
        assert_eq!(
            counts,
            vec![
                (State::New, 1),
                (State::Triaged, 2),
                (State::InProgress, 1),
                (State::Done, 1),
            ]
        );
    }
);

conformance!(
    tenant_exceptions_are_in_force_in_lists_and_counts,
    |store: Store| async move {
        // MC1 is seen by alpha, beta and gamma; MC2 by alpha and beta
        for (tenant, ids) in [
            ("alpha", &["MC1", "MC2"][..]),
            ("beta", &["MC1", "MC2"][..]),
            ("gamma", &["MC1"][..]),
        ] {
            store
                .import_messages(tenant, &posts(ids), &opts("2026-03-01T00:00:00Z"))
                .await
                .unwrap();
        }
        let u = person("alice");
        let now = "2026-03-02T00:00:00Z";
        let tenants = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let new = |id: &str| WorkItem::new(id, at("2026-03-01T00:00:00Z"));
        // MC1: triaged for all, alice; done for alpha; bob's for beta, due
        // 04-01 there; not applicable for gamma
        let (i, _) = act(&new("MC1"), Action::Triage, &u, now);
        let (i, _) = act(
            &i,
            Action::Assign {
                owner: Some("alice".into()),
            },
            &u,
            now,
        );
        let close = Action::Close {
            decision: Decision::Actioned,
            reason: None,
        };
        let t = transition_for_tenants(&i, close, &tenants(&["alpha"]), &u, at(now)).unwrap();
        let i = t.transition.item;
        let t = transition_for_tenants(
            &i,
            Action::Assign {
                owner: Some("bob".into()),
            },
            &tenants(&["beta"]),
            &u,
            at(now),
        )
        .unwrap();
        let i = t.transition.item;
        let t = transition_for_tenants(
            &i,
            Action::SetDue {
                due: Some(at("2026-04-01T00:00:00Z")),
            },
            &tenants(&["beta"]),
            &u,
            at(now),
        )
        .unwrap();
        let (mc1, _) = act(
            &t.transition.item,
            Action::SetOverride {
                tenant: "gamma".into(),
                applicable: Some(false),
                assignee: None,
                due: None,
                note: Some("not licensed".into()),
            },
            &u,
            now,
        );
        assert_eq!(mc1.overrides.len(), 3);
        // MC2: new for all
        save(&store, &mc1, None, None, &[], now).await.unwrap();
        save(&store, &new("MC2"), None, None, &[], now)
            .await
            .unwrap();
        assert_eq!(store.work_item("MC1").await.unwrap().unwrap().item, mc1);

        let f = |filter: ItemFilter| listed(&store, filter);
        let open = vec![State::New, State::Triaged, State::InProgress];
        // open somewhere: both; open for alpha: MC2 only (alpha's MC1 is done)
        assert_eq!(
            f(ItemFilter {
                states: open.clone(),
                ..Default::default()
            })
            .await,
            vec!["MC1", "MC2"]
        );
        assert_eq!(
            f(ItemFilter {
                states: open.clone(),
                tenant: Some("alpha".into()),
                ..Default::default()
            })
            .await,
            vec!["MC2"]
        );
        assert_eq!(
            f(ItemFilter {
                states: vec![State::Done],
                tenant: Some("alpha".into()),
                ..Default::default()
            })
            .await,
            vec!["MC1"]
        );
        // not applicable for gamma: closed there
        assert_eq!(
            f(ItemFilter {
                states: open.clone(),
                tenant: Some("gamma".into()),
                ..Default::default()
            })
            .await,
            Vec::<String>::new()
        );
        // bob's items: MC1 (for beta), whoever asks; not for alpha
        assert_eq!(
            f(ItemFilter {
                assignee: Some("bob".into()),
                ..Default::default()
            })
            .await,
            vec!["MC1"]
        );
        assert_eq!(
            f(ItemFilter {
                assignee: Some("bob".into()),
                tenant: Some("alpha".into()),
                ..Default::default()
            })
            .await,
            Vec::<String>::new()
        );
        assert_eq!(
            f(ItemFilter {
                assignee: Some("alice".into()),
                tenant: Some("beta".into()),
                ..Default::default()
            })
            .await,
            Vec::<String>::new(),
            "beta's MC1 is bob's"
        );
        // a user limited to alpha sees MC1 as done, to beta as bob's
        assert_eq!(
            f(ItemFilter {
                states: open.clone(),
                visible_to: Some(vec!["alpha".into()]),
                ..Default::default()
            })
            .await,
            vec!["MC2"]
        );
        assert_eq!(
            f(ItemFilter {
                assignee: Some("bob".into()),
                visible_to: Some(vec!["beta".into(), "gamma".into()]),
                ..Default::default()
            })
            .await,
            vec!["MC1"]
        );
        // due before 04-02: only beta's MC1
        assert_eq!(
            f(ItemFilter {
                due_before: Some(at("2026-04-02T00:00:00Z")),
                ..Default::default()
            })
            .await,
            vec!["MC1"]
        );
        assert_eq!(
            f(ItemFilter {
                due_before: Some(at("2026-04-02T00:00:00Z")),
                tenant: Some("alpha".into()),
                ..Default::default()
            })
            .await,
            Vec::<String>::new()
        );

        // the inbox's item conditions alike: open for alpha, bob's for beta
        let inbox = |q: changedesk_store::PostQuery| {
            let store = store.clone();
            async move {
                let mut v: Vec<String> = store
                    .query_posts(&q)
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|h| h.summary.id)
                    .collect();
                v.sort();
                v
            }
        };
        let all = changedesk_store::PostQuery::new(changedesk_store::TenantScope::All);
        assert_eq!(
            inbox(changedesk_store::PostQuery {
                item_states: open.clone(),
                ..all.clone()
            })
            .await,
            vec!["MC1", "MC2"]
        );
        assert_eq!(
            inbox(changedesk_store::PostQuery {
                item_states: open.clone(),
                tenant: Some("alpha".into()),
                ..all.clone()
            })
            .await,
            vec!["MC2"]
        );
        assert_eq!(
            inbox(changedesk_store::PostQuery {
                item_states: open.clone(),
                ..changedesk_store::PostQuery::new(changedesk_store::TenantScope::Only(vec![
                    "gamma".into()
                ]))
            })
            .await,
            Vec::<String>::new(),
            "not applicable for gamma"
        );
        assert_eq!(
            inbox(changedesk_store::PostQuery {
                assignee: Some(changedesk_store::ItemAssignee::Owner("bob".into())),
                ..all.clone()
            })
            .await,
            vec!["MC1"]
        );
        assert_eq!(
            inbox(changedesk_store::PostQuery {
                assignee: Some(changedesk_store::ItemAssignee::Owner("bob".into())),
                tenant: Some("alpha".into()),
                ..all.clone()
            })
            .await,
            Vec::<String>::new()
        );

        // the facets count what is in force: MC1 is done for alpha,
        // triaged for beta (bob's), not applicable for gamma
        let states = |q: changedesk_store::PostQuery| {
            let store = store.clone();
            async move {
                let f = store.post_facets(&q).await.unwrap();
                let mut s: Vec<(String, i64)> = f
                    .item_states
                    .into_iter()
                    .map(|c| (c.value, c.count))
                    .collect();
                s.sort();
                let mut o: Vec<(String, i64)> =
                    f.owners.into_iter().map(|c| (c.value, c.count)).collect();
                o.sort();
                (s, o, f.unassigned)
            }
        };
        let pairs = |v: &[(&str, i64)]| {
            v.iter()
                .map(|(a, n)| (a.to_string(), *n))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            states(changedesk_store::PostQuery {
                tenant: Some("alpha".into()),
                ..all.clone()
            })
            .await,
            (pairs(&[("done", 1), ("new", 1)]), pairs(&[("alice", 1)]), 1)
        );
        for q in [
            all.clone(),
            changedesk_store::PostQuery {
                q: Some("feature".into()),
                ..all.clone()
            },
        ] {
            assert_eq!(
                states(q).await,
                (
                    pairs(&[("dismissed", 1), ("done", 1), ("new", 1), ("triaged", 1)]),
                    pairs(&[("alice", 1), ("bob", 1)]),
                    1
                )
            );
        }
        assert_eq!(
            states(changedesk_store::PostQuery {
                item_states: open.clone(),
                ..all.clone()
            })
            .await,
            (
                pairs(&[("new", 1), ("triaged", 1)]),
                pairs(&[("bob", 1)]),
                1
            ),
            "open for beta (bob's) and MC2 (nobody's)"
        );

        // counts for one tenant count its standing
        let tally = |t: Option<&str>| {
            let store = store.clone();
            let t = t.map(String::from);
            async move {
                let mut v: Vec<(State, Option<String>, i64)> = store
                    .work_item_tally(&ItemFilter {
                        tenant: t,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|t| (t.state, t.assignee, t.count))
                    .collect();
                v.sort();
                v
            }
        };
        assert_eq!(
            tally(Some("alpha")).await,
            vec![
                (State::New, None, 1),
                (State::Done, Some("alice".into()), 1)
            ]
        );
        assert_eq!(
            tally(Some("beta")).await,
            vec![
                (State::New, None, 1),
                (State::Triaged, Some("bob".into()), 1)
            ]
        );
        assert_eq!(
            tally(Some("gamma")).await,
            vec![(State::Dismissed, Some("alice".into()), 1)]
        );
        assert_eq!(
            tally(None).await,
            vec![
                (State::New, None, 1),
                (State::Triaged, Some("alice".into()), 1)
            ]
        );

        // every tenant done for MC2, one at a time: it is open nowhere
        let v = store.work_item("MC2").await.unwrap().unwrap();
        let (i, _) = act(&v.item, Action::Triage, &u, now);
        let t = transition_for_tenants(
            &i,
            Action::Close {
                decision: Decision::Communicated,
                reason: None,
            },
            &tenants(&["alpha", "beta"]),
            &u,
            at(now),
        )
        .unwrap();
        save(
            &store,
            &t.transition.item,
            Some(v.version),
            None,
            &t.transition.entries,
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            f(ItemFilter {
                states: open.clone(),
                ..Default::default()
            })
            .await,
            vec!["MC1"]
        );
        // the log keeps each tenant's entries in its scope
        let log = store.work_item_log("MC2").await.unwrap();
        assert!(
            log.iter()
                .any(|l| l.entry.scope == LogScope::Tenant("beta".into()))
        );
        // back to shared: the shared close equals both, the exceptions go
        let v = store.work_item("MC2").await.unwrap().unwrap();
        let (i, e) = act(
            &v.item,
            Action::Close {
                decision: Decision::Communicated,
                reason: None,
            },
            &u,
            now,
        );
        assert!(i.overrides.is_empty());
        save(&store, &i, Some(v.version), None, &e, now)
            .await
            .unwrap();
        assert_eq!(
            f(ItemFilter {
                states: vec![State::Done],
                tenant: Some("beta".into()),
                ..Default::default()
            })
            .await,
            vec!["MC1", "MC2"]
                .into_iter()
                .filter(|id| *id == "MC2")
                .collect::<Vec<_>>()
        );
    }
);

// ---------------------------------------------------------------- candidates

conformance!(
    triage_candidates_are_the_posts_the_rules_have_not_seen,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2", "MC3"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_messages("beta", &posts(&["MC2"]), &opts("2026-03-01T06:00:00Z"))
            .await
            .unwrap();
        let ids = |c: &[changedesk_store::Candidate]| {
            c.iter().map(|c| c.content.id.clone()).collect::<Vec<_>>()
        };

        // after an import every post is a candidate
        let c = store.triage_candidates(true, None, 100).await.unwrap();
        assert_eq!(ids(&c), vec!["MC1", "MC2", "MC3"]);
        assert!(
            c.iter()
                .all(|c| c.stored.is_none() && c.revision == 1 && c.changed_fields.is_empty())
        );
        assert_eq!(c[0].content.title, "Microsoft Teams: feature MC1");
        assert!(
            c[0].body_text.contains("Rollout of MC1"),
            "{}",
            c[0].body_text
        );
        assert_eq!(c[0].first_seen, at("2026-03-01T00:00:00Z"));
        let links: Vec<(&str, bool, Timestamp)> = c[1]
            .links
            .iter()
            .map(|l| (l.tenant.as_str(), l.visible, l.first_seen))
            .collect();
        assert_eq!(
            links,
            vec![
                ("alpha", true, at("2026-03-01T00:00:00Z")),
                ("beta", true, at("2026-03-01T06:00:00Z")),
            ],
            "the tenants that see the post"
        );
        assert_eq!(c[0].links.len(), 1);
        assert_eq!(c[1].links[1].details[0].name, "Summary");
        // paging by id
        assert_eq!(
            ids(&store.triage_candidates(true, Some("MC1"), 1).await.unwrap()),
            vec!["MC2"]
        );
        // the ids alone, and ranges of them (read at once by the rules)
        assert_eq!(
            store.triage_candidate_ids(true).await.unwrap(),
            vec!["MC1", "MC2", "MC3"]
        );
        assert_eq!(
            ids(&store
                .triage_candidates_until(true, None, "MC2", 100)
                .await
                .unwrap()),
            vec!["MC1", "MC2"],
            "up to and with the last id of the range"
        );
        let last = store
            .triage_candidates_until(true, Some("MC2"), "MC3", 100)
            .await
            .unwrap();
        assert_eq!(ids(&last), vec!["MC3"]);
        assert_eq!(last[0].links.len(), 1, "with its links, as a page");
        assert_eq!(
            ids(&store
                .triage_candidates_until(true, None, "MC3", 1)
                .await
                .unwrap()),
            vec!["MC1"],
            "the limit still holds"
        );

        // evaluated items are not candidates any more
        for id in ["MC1", "MC2", "MC3"] {
            let item = WorkItem::new(id, at("2026-03-01T00:00:00Z"));
            let (item, entries) = act(&item, Action::Triage, &Actor::Rules, "2026-03-01T07:00:00Z");
            save(
                &store,
                &item,
                None,
                Some(1),
                &entries,
                "2026-03-01T07:00:00Z",
            )
            .await
            .unwrap();
        }
        assert!(
            store
                .triage_candidates(true, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.triage_candidate_ids(true).await.unwrap().is_empty());
        assert_eq!(
            store.triage_candidate_ids(false).await.unwrap(),
            vec!["MC1", "MC2", "MC3"]
        );
        let every = store.triage_candidates(false, None, 100).await.unwrap();
        assert_eq!(
            ids(&every),
            vec!["MC1", "MC2", "MC3"],
            "not pending_only: every post"
        );
        assert!(
            every
                .iter()
                .all(|c| c.stored.as_ref().is_some_and(|s| s.version == 1))
        );

        // a new revision of MC1 makes it a candidate again
        store
            .import_messages(
                "alpha",
                &[
                    retitled(
                        "MC1",
                        "2026-02-01T00:00:00Z",
                        "(Updated) Microsoft Teams: feature MC1",
                    ),
                    post("MC2", "2026-01-05T10:00:00Z"),
                    post("MC3", "2026-01-05T10:00:00Z"),
                ],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let c = store.triage_candidates(true, None, 100).await.unwrap();
        assert_eq!(ids(&c), vec!["MC1"]);
        assert_eq!(store.triage_candidate_ids(true).await.unwrap(), vec!["MC1"]);
        assert_eq!(c[0].revision, 2);
        assert_eq!(c[0].content.title, "(Updated) Microsoft Teams: feature MC1");
        assert_eq!(c[0].changed_fields, vec!["title", "last_modified"]);
        let stored = c[0].stored.as_ref().expect("the item comes along");
        assert_eq!(
            (stored.version, stored.evaluated_revision, stored.item.state),
            (1, 1, State::Triaged)
        );

        // nothing to change: mark it evaluated
        store.mark_evaluated("MC1", 2).await.unwrap();
        assert!(
            store
                .triage_candidates(true, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        let stored = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!(
            (stored.version, stored.evaluated_revision),
            (1, 2),
            "marking changes only the evaluated revision"
        );
        // never backwards
        store.mark_evaluated("MC1", 1).await.unwrap();
        assert_eq!(
            store
                .work_item("MC1")
                .await
                .unwrap()
                .unwrap()
                .evaluated_revision,
            2
        );

        // two revisions the rules have not seen: the fields of both, once each
        let mut v = post_json("MC1", "2026-02-02T00:00:00Z");
        v["title"] = json!("(Updated) Microsoft Teams: feature MC1");
        v["actionRequiredByDateTime"] = json!("2026-05-01T00:00:00Z");
        store
            .import_messages("alpha", &[parse(&v)], &partial("2026-03-03T00:00:00Z"))
            .await
            .unwrap();
        v["lastModifiedDateTime"] = json!("2026-02-03T00:00:00Z");
        v["severity"] = json!("high");
        store
            .import_messages("alpha", &[parse(&v)], &partial("2026-03-04T00:00:00Z"))
            .await
            .unwrap();
        let c = store.triage_candidates(true, None, 100).await.unwrap();
        assert_eq!(ids(&c), vec!["MC1"]);
        assert_eq!(c[0].revision, 4);
        let mut fields = c[0].changed_fields.clone();
        fields.sort();
        assert_eq!(fields, vec!["act_by", "last_modified", "severity"]);
        assert_eq!(
            c[0].changed_fields
                .iter()
                .filter(|f| *f == "last_modified")
                .count(),
            1,
            "each field once: {:?}",
            c[0].changed_fields
        );
        assert_eq!(c[0].links.len(), 1, "only alpha sees MC1");
        // the moved date, for people
        assert_eq!(c[0].date_moves, vec!["Act by: none → 2026-05-01"]);

        // saving with the revision evaluated clears it too
        let item = c[0].stored.as_ref().unwrap().item.clone();
        save(&store, &item, Some(1), Some(4), &[], "2026-03-05T00:00:00Z")
            .await
            .unwrap();
        assert!(
            store
                .triage_candidates(true, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

// ---------------------------------------------------------------- notify

conformance!(
    notify_intents_saved_with_an_item_are_pending,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert!(store.pending_notifications().await.unwrap().is_empty());
        let u = person("alice");
        let (i, e1) = act(
            &WorkItem::new("MC1", at("2026-03-01T00:00:00Z")),
            Action::Triage,
            &u,
            "2026-03-01T01:00:00Z",
        );
        let (mut mc1, e2) = act(
            &i,
            Action::Assign {
                owner: Some("alice".into()),
            },
            &u,
            "2026-03-01T01:00:00Z",
        );
        let entries: Vec<LogEntry> = e1.into_iter().chain(e2).collect();
        save(&store, &mc1, None, None, &entries, "2026-03-01T01:00:00Z")
            .await
            .unwrap();

        // the post's act-by moves: the owner is to be told
        let effect = on_revision(
            &mut mc1,
            &["act_by".into()],
            &ReopenPolicy::default(),
            at("2026-03-02T00:00:00Z"),
        );
        let intent = effect.notify_owner.expect("the owner is to be told");
        let notify = vec![
            NotifyRow {
                post_id: "MC1".into(),
                tenant: None,
                target: intent.assignee.clone().unwrap(),
                reason: format!("the post changed: {}", intent.fields.join(", ")),
                created_at: None,
            },
            NotifyRow {
                post_id: "MC1".into(),
                tenant: Some("alpha".into()),
                target: "alpha-admins@example.com".into(),
                reason: "act-by moved for alpha".into(),
                created_at: None,
            },
        ];
        store
            .save_work_item(&ItemSave {
                item: &mc1,
                expected_version: Some(1),
                evaluated_revision: Some(2),
                entries: &effect.entries,
                notify: &notify,
                events: &[],
                at: at("2026-03-02T00:00:00Z"),
            })
            .await
            .unwrap();
        let mc2 = WorkItem::new("MC2", at("2026-03-01T00:00:00Z"));
        let n2 = [NotifyRow {
            post_id: "MC2".into(),
            tenant: None,
            target: "bob".into(),
            reason: "new post".into(),
            created_at: None,
        }];
        store
            .save_work_item(&ItemSave {
                item: &mc2,
                expected_version: None,
                evaluated_revision: None,
                entries: &[],
                notify: &n2,
                events: &[],
                at: at("2026-03-03T00:00:00Z"),
            })
            .await
            .unwrap();

        // a refused save records no intent
        let refused = store
            .save_work_item(&ItemSave {
                item: &mc2,
                expected_version: Some(5),
                evaluated_revision: None,
                entries: &[],
                notify: &n2,
                events: &[],
                at: at("2026-03-04T00:00:00Z"),
            })
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );

        let pending = store.pending_notifications().await.unwrap();
        assert_eq!(
            pending,
            vec![
                NotifyRow {
                    created_at: Some(at("2026-03-02T00:00:00Z")),
                    ..notify[0].clone()
                },
                NotifyRow {
                    created_at: Some(at("2026-03-02T00:00:00Z")),
                    ..notify[1].clone()
                },
                NotifyRow {
                    created_at: Some(at("2026-03-03T00:00:00Z")),
                    ..n2[0].clone()
                },
            ]
        );
        assert_eq!(pending[0].target, "alice");
        assert_eq!(pending[0].reason, "the post changed: act_by");
    }
);

// ---------------------------------------------------------------- since

conformance!(
    decision_log_since_returns_entries_at_or_after_the_instant,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let u = person("alice");
        let t1 = "2026-03-01T10:00:00Z";
        let t2 = "2026-03-01T11:00:00.000001Z";
        let t3 = "2026-03-02T09:00:00Z";
        let (mc1, e1) = act(&WorkItem::new("MC1", at(t1)), Action::Triage, &u, t1);
        save(&store, &mc1, None, None, &e1, t1).await.unwrap();
        let (mc2, e2) = act(&WorkItem::new("MC2", at(t1)), Action::Start, &u, t2);
        assert_eq!(e2.len(), 2, "start from new passes through triaged");
        save(&store, &mc2, None, None, &e2, t2).await.unwrap();
        let (_, e3) = act(
            &mc1,
            Action::Comment {
                text: "later".into(),
            },
            &u,
            t3,
        );
        save(&store, &mc1, Some(1), None, &e3, t3).await.unwrap();

        let since = |s: &'static str| {
            let store = store.clone();
            async move {
                store
                    .decision_log_since(&at(s))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|l| (l.post_id, l.entry))
                    .collect::<Vec<_>>()
            }
        };
        let all: Vec<(String, LogEntry)> = e1
            .iter()
            .map(|e| ("MC1".to_string(), e.clone()))
            .chain(e2.iter().map(|e| ("MC2".to_string(), e.clone())))
            .chain(e3.iter().map(|e| ("MC1".to_string(), e.clone())))
            .collect();
        assert_eq!(since("2026-01-01T00:00:00Z").await, all);
        assert_eq!(since(t1).await, all, "at the instant counts");
        assert_eq!(
            since("2026-03-01T10:00:00.000001Z").await,
            all[1..].to_vec(),
            "a microsecond later does not"
        );
        assert_eq!(since(t2).await, all[1..].to_vec());
        assert_eq!(
            since("2026-03-01T11:00:00.000002Z").await,
            all[3..].to_vec()
        );
        assert_eq!(since(t3).await, all[3..].to_vec());
        assert!(since("2026-03-02T09:00:00.000001Z").await.is_empty());
        let ids: Vec<i64> = store
            .decision_log_since(&at(t1))
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    }
);

conformance!(
    a_batch_save_fails_only_the_conflicting_item,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2", "MC3"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let mc1 = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        save(&store, &mc1, None, None, &[], "2026-03-01T00:00:00Z")
            .await
            .unwrap();
        let mc3 = WorkItem::new("MC3", at("2026-03-01T00:00:00Z"));
        save(&store, &mc3, None, Some(1), &[], "2026-03-01T00:00:00Z")
            .await
            .unwrap();
        let alice = person("alice");
        let (triaged, entries) = act(&mc1, Action::Triage, &alice, "2026-03-01T01:00:00Z");
        let mc2 = WorkItem::new("MC2", at("2026-03-01T00:00:00Z"));
        let (mc2_triaged, mc2_entries) = act(&mc2, Action::Triage, &alice, "2026-03-01T01:00:00Z");
        let saves = [
            // someone saved MC1 since version 7 was read: refused
            ItemSave {
                item: &triaged,
                expected_version: Some(7),
                evaluated_revision: Some(1),
                entries: &entries,
                notify: &[],
                events: &[],
                at: at("2026-03-01T01:00:00Z"),
            },
            ItemSave {
                item: &mc2_triaged,
                expected_version: None,
                evaluated_revision: Some(1),
                entries: &mc2_entries,
                notify: &[],
                events: &[],
                at: at("2026-03-01T01:00:00Z"),
            },
        ];
        let out = store.save_work_items(&saves, &[("MC3", 1)]).await.unwrap();
        assert!(
            matches!(out[0], Err(StoreError::Conflict(_))),
            "{:?}",
            out[0]
        );
        assert_eq!(out[1].as_ref().ok(), Some(&1));
        // the refused item wrote nothing; the other one and the mark did
        let stored1 = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!((stored1.version, &stored1.item), (1, &mc1));
        assert!(store.work_item_log("MC1").await.unwrap().is_empty());
        let stored2 = store.work_item("MC2").await.unwrap().unwrap();
        assert_eq!((stored2.version, stored2.evaluated_revision), (1, 1));
        assert_eq!(
            store.work_item_log("MC2").await.unwrap().len(),
            mc2_entries.len()
        );
        assert_eq!(
            store
                .work_item("MC3")
                .await
                .unwrap()
                .unwrap()
                .evaluated_revision,
            1
        );

        // a post that does not exist fails its own item only
        let ghost = WorkItem::new("MC404", at("2026-03-01T00:00:00Z"));
        let mc1_again = ItemSave {
            item: &triaged,
            expected_version: Some(1),
            evaluated_revision: None,
            entries: &entries,
            notify: &[],
            events: &[],
            at: at("2026-03-01T02:00:00Z"),
        };
        let ghost_save = ItemSave {
            item: &ghost,
            expected_version: None,
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: at("2026-03-01T02:00:00Z"),
        };
        let out = store
            .save_work_items(&[ghost_save, mc1_again], &[])
            .await
            .unwrap();
        assert!(
            matches!(out[0], Err(StoreError::NotFound(_))),
            "{:?}",
            out[0]
        );
        assert_eq!(out[1].as_ref().ok(), Some(&2));
        assert_eq!(
            store.work_item_log("MC1").await.unwrap().len(),
            entries.len()
        );
    }
);

conformance!(
    /// Migration 0024 moves the exceptions an older archive kept in each
    /// item's JSON to their own table, leaving the item's `overrides`
    /// empty, and counts the variants with their decision: the items read
    /// back whole, and counted alike.
    migration_24_keeps_the_exceptions_apart,
    |store: Store| async move {
        use changedesk_core::triage::TenantOverride;
        let now = "2026-03-01T00:00:00Z";
        for t in ["t1", "t2", "t3"] {
            store
                .import_messages(t, &[post("MC1", "2026-02-01T00:00:00Z"), post("MC2", "2026-02-02T00:00:00Z")], &opts(now))
                .await
                .unwrap();
        }
        let mut item = WorkItem::new("MC1", at(now));
        for (t, s, d) in [("t1", State::Done, Some(Decision::Actioned)), ("t3", State::Done, Some(Decision::Actioned))] {
            item.overrides.push(TenantOverride {
                state: Some(s),
                decision: d,
                note: Some(format!("{t}: ✓ done")),
                ..TenantOverride::empty(t)
            });
        }
        save(&store, &item, None, None, &[], now).await.unwrap();
        save(&store, &WorkItem::new("MC2", at(now)), None, None, &[], now).await.unwrap();
        let whole = store.work_item("MC1").await.unwrap().unwrap().item;
        assert_eq!(whole.overrides, item.overrides);
        let counted_before = store.work_items_counted(&ItemFilter::default()).await.unwrap();
        // as an archive before version 24 kept them: in the item's JSON
        let back = match store.location() {
            Location::Sqlite(_) => {
                "UPDATE work_items SET item = json_set(item, '$.overrides', \
                 json((SELECT x.overrides FROM work_item_exceptions x WHERE x.post_id = work_items.post_id))) \
                 WHERE post_id IN (SELECT post_id FROM work_item_exceptions)"
            }
            Location::Postgres(_) => {
                "UPDATE work_items SET item = jsonb_set(item::jsonb, '{overrides}', \
                 (SELECT x.overrides::jsonb FROM work_item_exceptions x WHERE x.post_id = work_items.post_id))::text \
                 WHERE post_id IN (SELECT post_id FROM work_item_exceptions)"
            }
        };
        assert_eq!(raw_execute(&store, back).await, Ok(1));
        raw_execute(&store, "DROP TABLE work_item_exceptions").await.unwrap();
        raw_script(
            &store,
            match store.location() {
                Location::Sqlite(_) => include_str!("../../migrations/sqlite/0024_exceptions_apart.sql"),
                Location::Postgres(_) => include_str!("../../migrations/postgres/0024_exceptions_apart.sql"),
            },
        )
        .await;
        assert_eq!(
            raw_pairs(&store, "SELECT post_id, item FROM work_items WHERE post_id = 'MC1'")
                .await
                .into_iter()
                .filter(|(_, item)| item.contains("t1: ✓"))
                .count(),
            0,
            "the item's JSON keeps no exception"
        );
        assert_eq!(store.work_item("MC1").await.unwrap().unwrap().item, whole);
        assert_eq!(store.work_items_counted(&ItemFilter::default()).await.unwrap(), counted_before);
        let (_, mc1) = counted_before.iter().find(|(r, _)| r.stored.item.message_id == "MC1").unwrap();
        assert_eq!(mc1.len(), 1);
        assert_eq!((mc1[0].exception.decision, mc1[0].tenants), (Some(Decision::Actioned), 2));
    }
);

conformance!(
    /// A list asked for names for exceptions only names, of an item seen
    /// by many, just the tenants with an exception that see its post now
    /// (in the caller's scope: not one that no longer lists it, nor one
    /// that never saw it), and counts every one; a post seen by a few has
    /// them all named; without the flag, every tenant is named.
    a_list_names_only_the_tenants_with_an_exception,
    |store: Store| async move {
        use changedesk_core::triage::TenantOverride;
        let now = "2026-03-01T00:00:00Z";
        let eight = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];
        for t in eight {
            let mut seen = vec![post("MC1", "2026-02-01T00:00:00Z")];
            seen.push(post("MC3", "2026-02-03T00:00:00Z"));
            if ["t1", "t2", "t3"].contains(&t) {
                seen.push(post("MC2", "2026-02-02T00:00:00Z"));
            }
            store
                .import_messages(t, &seen, &opts("2026-02-20T00:00:00Z"))
                .await
                .unwrap();
        }
        // t9 is known but does not see MC1: its exception is not named
        store
            .import_messages(
                "t9",
                &[post("MC3", "2026-02-03T00:00:00Z")],
                &opts("2026-02-20T00:00:00Z"),
            )
            .await
            .unwrap();
        let with = |id: &str, exceptions: &[(&str, State)]| {
            let mut item = WorkItem::new(id, at(now));
            for (t, s) in exceptions {
                let mut ex = TenantOverride::empty(t);
                ex.state = Some(*s);
                item.overrides.push(ex);
            }
            item
        };
        let items = [
            with(
                "MC1",
                &[
                    ("t2", State::Done),
                    ("t5", State::Dismissed),
                    ("t7", State::Done),
                    ("t9", State::Done),
                ],
            ),
            with("MC2", &[("t1", State::Done)]),
            with("MC3", &[]),
        ];
        for item in &items {
            save(&store, item, None, None, &[], now).await.unwrap();
        }
        // then t7 no longer lists MC1: its exception is not named either
        store
            .import_messages(
                "t7",
                &[post("MC3", "2026-02-03T00:00:00Z")],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let named = |rows: Vec<changedesk_store::ItemRow>| {
            let mut out: Vec<(String, Vec<String>, i64, usize)> = rows
                .into_iter()
                .map(|r| {
                    let unnamed = r.unnamed();
                    (r.stored.item.message_id, r.tenants, r.tenant_count, unnamed)
                })
                .collect();
            out.sort();
            out
        };
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let row = |id: &str, tenants: &[&str], count: i64, unnamed: usize| {
            (id.to_string(), strings(tenants), count, unnamed)
        };
        let exceptions_only = ItemFilter {
            names_for_exceptions_only: true,
            ..Default::default()
        };
        assert_eq!(
            named(store.work_items(&exceptions_only).await.unwrap()),
            [
                row("MC1", &["t2", "t5"], 7, 5),
                row("MC2", &["t1", "t2", "t3"], 3, 0),
                row("MC3", &[], 9, 9),
            ]
        );
        // a caller limited to six tenants: theirs only, named and counted
        let scoped = ItemFilter {
            visible_to: Some(strings(&["t2", "t3", "t4", "t5", "t6", "t7", "t8"])),
            ..exceptions_only.clone()
        };
        assert_eq!(
            named(store.work_items(&scoped).await.unwrap()),
            [
                row("MC1", &["t2", "t5"], 6, 4),
                row("MC2", &["t2", "t3"], 2, 0),
                row("MC3", &[], 7, 7),
            ]
        );
        // every tenant named without the flag
        let every = named(store.work_items(&ItemFilter::default()).await.unwrap());
        let mut all_but_t7 = eight.to_vec();
        all_but_t7.retain(|t| *t != "t7");
        assert_eq!(every[0], row("MC1", &all_but_t7, 7, 0));
        assert_eq!(every[2].1.len(), 9);
        // the exception of a tenant that never saw the post is kept in the
        // item, in force for nobody: no tenant of MC1 is open for t9
        let mc1 = store.work_item("MC1").await.unwrap().unwrap();
        assert_eq!(mc1.item.overrides.len(), 4);
        let for_t9 = ItemFilter {
            tenant: Some("t9".into()),
            ..Default::default()
        };
        assert_eq!(listed(&store, for_t9).await, ["MC3"]);

        // counted instead of named (the agenda's read): the exceptions in
        // force for the tenants that see each post now, by what they
        // override, with how many have each; no tenant named, no exception
        // read, and version 0, which no save takes
        type Counted = (String, i64, Vec<(Option<State>, Option<bool>, usize)>);
        let counted = |rows: Vec<(changedesk_store::ItemRow, Vec<changedesk_core::triage::ExceptionCount>)>| {
            let mut out: Vec<Counted> = rows
                .into_iter()
                .map(|(r, exceptions)| {
                    assert!(r.tenants.is_empty(), "{:?}", r.tenants);
                    assert!(r.stored.item.overrides.is_empty());
                    assert_eq!(r.stored.version, 0);
                    let mut by: Vec<_> = exceptions
                        .iter()
                        .map(|c| (c.exception.state, c.exception.applicable, c.tenants))
                        .collect();
                    by.sort_by_key(|b| b.0.map(|s| s.as_str()));
                    (r.stored.item.message_id, r.tenant_count, by)
                })
                .collect();
            out.sort();
            out
        };
        let every = ItemFilter::default();
        let rows = store.work_items_counted(&every).await.unwrap();
        // t7's exception is no longer in force (MC1 left its list), t9's
        // never was
        assert_eq!(
            counted(rows.clone()),
            [
                (
                    "MC1".to_string(),
                    7,
                    vec![(Some(State::Dismissed), None, 1), (Some(State::Done), None, 1)]
                ),
                ("MC2".to_string(), 3, vec![(Some(State::Done), None, 1)]),
                ("MC3".to_string(), 9, vec![]),
            ]
        );
        assert_eq!(
            counted(store.work_items_counted(&scoped).await.unwrap()),
            [
                (
                    "MC1".to_string(),
                    6,
                    vec![(Some(State::Dismissed), None, 1), (Some(State::Done), None, 1)]
                ),
                ("MC2".to_string(), 2, vec![]),
                ("MC3".to_string(), 7, vec![]),
            ]
        );
        // a counted row's item, without its exceptions, cannot be saved
        // back over them
        let (mc1_counted, _) = rows
            .iter()
            .find(|(r, _)| r.stored.item.message_id == "MC1")
            .unwrap();
        let refused = save(&store, &mc1_counted.stored.item, Some(0), None, &[], now).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        assert_eq!(store.work_item("MC1").await.unwrap().unwrap().item.overrides.len(), 4);
    }
);
