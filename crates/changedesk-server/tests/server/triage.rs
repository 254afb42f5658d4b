//! The rules and work items end to end on the 806 real Message Center posts
//! in `../shared/data` (skipped, with a message, when it is absent), on
//! SQLite and PostgreSQL: a realistic rules file routes every post to an
//! owner, an explanation names the rule that matched, an edited revision
//! reopens a closed item, and the agenda lists what it should.

use std::path::PathBuf;

use changedesk_core::Timestamp;
use changedesk_core::graph::{Message, listing_items};
use changedesk_core::rules::RuleFile;
use changedesk_core::triage::{
    Action, Actor, Decision, Owner, OwnershipEntry, ReopenPolicy, Scope, State, TenantGroup,
};
use changedesk_server::triage::{Triage, agenda, apply_rules, retriage_untouched, sweep_deadlines};
use changedesk_store::testing::TestStore;
use changedesk_store::{ImportOptions, ItemFilter, ItemSave, SeedRule, Store, TriageSeed};
use serde_json::{Value, json};

fn shared_messages() -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/service-messages.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "skipping the triage end-to-end test: {} is absent",
            path.display()
        );
        return None;
    };
    let doc: Value = serde_json::from_str(&text).expect("service-messages.json is JSON");
    Some(listing_items(&doc).expect("a listing").clone())
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const RULES: &str = r#"
[[rules]]
name = "Retirements need a change request"
when = 'title matches "retire" or title matches "retirement" or tags has "Retirement"'
then = { priority = "high", change_request = true, labels = ["retirement"] }

[[rules]]
name = "Act-by within 30 days"
when = 'act_by != null and act_by < now + 30d'
then = { priority = "critical", due = "act_by - 7d", labels = ["urgent"] }

[[rules]]
name = "Teams changes to collaboration"
when = 'services has "Microsoft Teams"'
then = { owner = "collaboration", due = "start + 14d", labels = ["teams"] }

[[rules]]
name = "Exchange to messaging"
when = 'services has ["Exchange Online", "Microsoft Outlook"]'
then = { owner = "messaging" }

[[rules]]
name = "Security and compliance"
when = 'services has ["Microsoft Defender XDR", "Microsoft Purview", "Microsoft Entra"] or tags has "Data privacy"'
then = { owner = "security", priority = "high", communication = true }

[[rules]]
name = "User impact needs communication"
when = 'tags has "User impact" and category == "planForChange"'
then = { communication = true, labels = ["comms"] }

[[rules]]
name = "Stay-informed posts for the lab tenant are not relevant"
when = 'category == "stayInformed" and tenant == "lab"'
then = { dismiss = "Lab tenant: informational only" }

[[rules]]
name = "Everything else to its workload owner"
when = 'true'
then = { owner = "workload" }
"#;

fn owner(name: &str) -> Owner {
    Owner::new(
        name,
        &format!("{name} team"),
        &format!("{name}@example.com"),
    )
    .unwrap()
}

fn seed() -> TriageSeed {
    let rules = RuleFile::from_toml(RULES).expect("the rules file parses");
    TriageSeed {
        owners: [
            "collaboration",
            "messaging",
            "security",
            "sharepoint",
            "platform",
        ]
        .map(owner)
        .to_vec(),
        groups: vec![TenantGroup {
            name: "emea".into(),
            description: "European subsidiaries".into(),
            include: vec!["eu-*".into()],
            exclude: vec![],
        }],
        ownership: vec![
            OwnershipEntry {
                workload: "SharePoint Online".into(),
                owner: "sharepoint".into(),
                scope: Scope::All,
            },
            OwnershipEntry {
                workload: "OneDrive for Business".into(),
                owner: "sharepoint".into(),
                scope: Scope::All,
            },
            OwnershipEntry {
                workload: "SharePoint Online".into(),
                owner: "collaboration".into(),
                scope: Scope::Group("emea".into()),
            },
            OwnershipEntry {
                workload: "*".into(),
                owner: "platform".into(),
                scope: Scope::All,
            },
        ],
        rules: rules
            .rules
            .iter()
            .map(|r| SeedRule {
                name: r.name.clone(),
                enabled: r.enabled,
                spec: serde_json::to_value(r).unwrap(),
            })
            .collect(),
    }
}

const TENANTS: [&str; 3] = ["contoso", "eu-fabrikam", "lab"];

async fn import(store: &Store, tenant: &str, values: &[Value], now: &str) {
    let messages: Vec<Message> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Message::from_graph(v, i).expect("a real post parses"))
        .collect();
    store
        .import_messages(
            tenant,
            &messages,
            &ImportOptions {
                complete: true,
                now: ts(now),
                source: "test".into(),
                rejected: 0,
            },
        )
        .await
        .expect("import");
}

async fn scenario(store: Store) {
    let Some(values) = shared_messages() else {
        return;
    };
    let t0 = "2025-09-01T00:00:00Z";
    // contoso sees everything, eu-fabrikam two thirds, lab every other post
    let sees = |t: usize, i: usize| match t {
        0 => true,
        1 => !i.is_multiple_of(3),
        _ => i.is_multiple_of(2),
    };
    for (t, name) in TENANTS.iter().enumerate() {
        let mine: Vec<Value> = values
            .iter()
            .enumerate()
            .filter(|(i, _)| sees(t, *i))
            .map(|(_, v)| v.clone())
            .collect();
        import(&store, name, &mine, t0).await;
    }
    store.seed(&seed(), &ts(t0)).await.expect("seed");
    let triage = Triage::load(&store, ReopenPolicy::default())
        .await
        .expect("rules compile");
    assert_eq!(triage.rules.len(), 8);

    // every post gets one item, and every item an owner
    let summary = apply_rules(&store, &triage, ts(t0), false)
        .await
        .expect("rules run");
    assert_eq!(summary.evaluated, values.len());
    assert_eq!(summary.created, values.len());
    assert_eq!(summary.assigned, values.len(), "every post is routed");
    assert_eq!(summary.conflicts, 0);
    let items = store.work_items(&ItemFilter::default()).await.unwrap();
    assert_eq!(items.len(), values.len());
    for r in &items {
        let a = r.stored.item.assignee.as_deref().expect("assigned");
        if r.services.iter().any(|s| s == "Microsoft Teams") {
            assert_eq!(a, "collaboration", "{}", r.stored.item.message_id);
        }
    }
    // a second run has nothing left to do
    let again = apply_rules(&store, &triage, ts(t0), false).await.unwrap();
    assert_eq!(again.evaluated, 0);
    assert_eq!(
        retriage_untouched(&store, &triage, ts(t0)).await.unwrap(),
        0,
        "nothing new to route"
    );

    // the lab tenant's informational posts are not applicable to it
    let stay_lab = values
        .iter()
        .enumerate()
        .find(|(i, v)| {
            sees(2, *i)
                && v["category"] == "stayInformed"
                && !v["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s == "Microsoft Teams")
        })
        .map(|(_, v)| v["id"].as_str().unwrap().to_string())
        .expect("a stay-informed post the lab tenant sees");
    let item = store.work_item(&stay_lab).await.unwrap().unwrap().item;
    let lab = item.override_for("lab").expect("an override for lab");
    assert_eq!(lab.applicable, Some(false));
    assert_eq!(lab.note.as_deref(), Some("Lab tenant: informational only"));
    assert_ne!(item.state, State::Dismissed, "the others still need it");

    // SharePoint goes to collaboration for the EMEA group, to sharepoint elsewhere
    if let Some(sp) = items.iter().find(|r| {
        r.services == ["SharePoint Online"]
            && r.stored
                .item
                .overrides
                .iter()
                .any(|o| o.tenant == "eu-fabrikam")
    }) {
        assert_eq!(sp.stored.item.assignee.as_deref(), Some("sharepoint"));
        assert_eq!(
            sp.stored
                .item
                .override_for("eu-fabrikam")
                .and_then(|o| o.assignee.as_deref()),
            Some("collaboration")
        );
    }

    // the explanation of a Teams post names the rule that matched
    let teams = items
        .iter()
        .find(|r| r.services.iter().any(|s| s == "Microsoft Teams"))
        .expect("a Teams post");
    let id = teams.stored.item.message_id.clone();
    let candidate = store
        .triage_candidates(false, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.content.id == id)
        .unwrap();
    let why = triage.explain(&candidate, "contoso", ts(t0));
    let text = why.to_string();
    assert!(
        text.contains("Teams changes to collaboration"),
        "the explanation names the rule:\n{text}"
    );
    let json = serde_json::to_value(&why).unwrap();
    assert!(json.to_string().contains("Microsoft Teams"), "{json}");

    // a person triages and closes it
    let stored = store.work_item(&id).await.unwrap().unwrap();
    let alice = Actor::person("alice").unwrap();
    let mut item = stored.item.clone();
    let mut entries = item.apply(Action::Triage, &alice, ts(t0)).unwrap();
    entries.extend(
        item.apply(
            Action::Close {
                decision: Decision::Communicated,
                reason: Some("announced in the newsletter".into()),
            },
            &alice,
            ts(t0),
        )
        .unwrap(),
    );
    store
        .save_work_item(&ItemSave {
            item: &item,
            expected_version: Some(stored.version),
            evaluated_revision: None,
            entries: &entries,
            notify: &[],
            events: &[],
            at: ts(t0),
        })
        .await
        .unwrap();

    // Microsoft moves its dates: the closed item reopens and the owner is told
    let t1 = "2025-09-02T00:00:00Z";
    let edited: Vec<Value> = values
        .iter()
        .map(|v| {
            if v["id"] != json!(id) {
                return v.clone();
            }
            let mut v = v.clone();
            let lm = Timestamp::parse(v["lastModifiedDateTime"].as_str().unwrap()).unwrap();
            v["lastModifiedDateTime"] =
                json!(lm.saturating_add(time::Duration::days(1)).to_canonical());
            v["startDateTime"] = json!("2026-03-01T00:00:00Z");
            v["actionRequiredByDateTime"] = json!("2026-04-01T00:00:00Z");
            v
        })
        .collect();
    import(&store, "contoso", &edited, t1).await;
    let run = apply_rules(&store, &triage, ts(t1), false).await.unwrap();
    assert_eq!(run.evaluated, 1, "only the edited post");
    assert_eq!(run.reopened, 1);
    assert!(run.notified >= 1);
    let after = store.work_item(&id).await.unwrap().unwrap().item;
    assert_eq!(after.state, State::Triaged, "reopened");
    assert!(after.changed_since_triage.iter().any(|f| f == "act_by"));
    let log = store.work_item_log(&id).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.entry.action.as_str()).collect();
    assert!(actions.contains(&"close"), "{actions:?}");
    assert!(actions.contains(&"reopen"), "{actions:?}");
    assert!(
        store
            .pending_notifications()
            .await
            .unwrap()
            .iter()
            .any(|n| n.post_id == id && n.target == "collaboration")
    );

    // the agenda: the reopened item is changed since triage, and the
    // decision taken this week is listed
    let ownership = triage.ownership.clone();
    let a = agenda(&store, &ownership, ts(t1), ts("2025-08-25T00:00:00Z"))
        .await
        .unwrap();
    let md = a.to_markdown();
    assert!(md.contains(&id), "the agenda mentions {id}");
    let json = serde_json::to_value(&a).unwrap().to_string();
    assert!(json.contains(&id));
    assert!(md.to_lowercase().contains("changed since triage"), "{md}");

    // years later, every open item with an act-by date is missed; the sweep
    // closes them as missed when asked to, and only then
    let later = ts("2030-01-01T00:00:00Z");
    let keep = changedesk_core::triage::MissedPolicy {
        auto_close: false,
        grace: time::Duration::days(7),
    };
    let looked = sweep_deadlines(&store, &keep, later).await.unwrap();
    assert!(looked.missed > 0);
    assert!(looked.closed.is_empty());
    let close = changedesk_core::triage::MissedPolicy {
        auto_close: true,
        ..keep
    };
    let swept = sweep_deadlines(&store, &close, later).await.unwrap();
    assert_eq!(swept.closed.len(), looked.missed);
    let closed = store
        .work_item(&swept.closed[0])
        .await
        .unwrap()
        .unwrap()
        .item;
    assert_eq!(closed.state, State::Done);
    assert_eq!(closed.decision, Some(Decision::Missed));
    assert!(closed.labels.contains("missed"));
    let again = sweep_deadlines(&store, &close, later).await.unwrap();
    assert_eq!(again.missed, 0, "nothing left to miss");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_posts_sqlite() {
    let t = TestStore::sqlite().await;
    scenario(t.store.clone()).await;
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_posts_postgres() {
    let Some(t) = TestStore::postgres().await else {
        return;
    };
    scenario(t.store.clone()).await;
    t.finish().await;
}
