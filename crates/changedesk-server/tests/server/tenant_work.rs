//! Per-tenant work state (issue 18): triage once, decide per tenant where
//! needed. An action for some tenants (or a tenant group) moves their own
//! state; lists, counts and "My items" use what is in force per tenant; a
//! tenant-limited user acts for their tenants only; an owner assigned for
//! some tenants acts for those; the post page shows where the tenants
//! stand and lists the exceptions.

use changedesk_core::access::{Role, Scope};
use changedesk_core::triage::{Owner, TenantGroup, WorkItem};
use changedesk_store::Store;
use serde_json::{Value, json};

use super::ui::{Browser, Fixture, NOW, at, opts, post, sign_in, user};

/// The post the fixture's tenants see.
fn mc1() -> changedesk_core::graph::Message {
    post(
        "MC1",
        "2026-02-01T00:00:00Z",
        "Shared by three",
        "<p>x</p>",
        json!({}),
    )
}

/// alpha, beta and gamma see MC1; group `eu` holds alpha and beta. MC1's
/// item is triaged, alice's. Users: `admin`; `limited`, a change manager
/// limited to gamma; `bob`, an owner.
async fn fixture(store: Store) -> Fixture {
    let mc1 = mc1();
    for t in ["alpha", "beta", "gamma"] {
        store
            .import_messages(t, std::slice::from_ref(&mc1), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
    }
    store
        .put_group(
            &TenantGroup {
                name: "eu".into(),
                description: String::new(),
                include: vec!["alpha".into(), "beta".into()],
                exclude: Vec::new(),
            },
            "test",
            &at(NOW),
        )
        .await
        .unwrap();
    for name in ["alice", "bob"] {
        store
            .put_owner(
                &Owner {
                    name: name.into(),
                    display_name: name.into(),
                    email: format!("{name}@example.com"),
                    teams: None,
                    slack: None,
                    entra_id: None,
                },
                "test",
                &at(NOW),
            )
            .await
            .unwrap();
    }
    let mut item = WorkItem::new("MC1", at(NOW));
    item.state = changedesk_core::triage::State::Triaged;
    item.first_triaged_at = Some(at(NOW));
    item.assignee = Some("alice".into());
    crate::save_new_item(&store, &item, at(NOW)).await;
    user(&store, "admin", Role::Admin, Scope::default()).await;
    user(
        &store,
        "limited",
        Role::ChangeManager,
        Scope {
            tenants: vec!["gamma".into()],
            groups: vec![],
        },
    )
    .await;
    user(&store, "bob", Role::Owner, Scope::default()).await;
    super::ui::served(store)
}

async fn json_of(b: &Browser, f: &Fixture, path: &str) -> Value {
    let a = b.get(f, path).await;
    assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    serde_json::from_str(&a.body).unwrap()
}

async fn act(b: &Browser, f: &Fixture, body: Value) -> (u16, Value) {
    let a = b
        .send_json(f, "POST", "/api/v1/items/MC1/actions", &body)
        .await;
    (
        a.status.as_u16(),
        serde_json::from_str(&a.body).unwrap_or(Value::Null),
    )
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["post_id"].as_str().unwrap())
        .collect()
}

async fn tenants_decide_for_themselves(store: Store) {
    let f = fixture(store).await;
    let admin = sign_in(&f, "admin").await;

    // done for the eu group (alpha and beta); gamma stays triaged
    let (status, item) = act(
        &admin,
        &f,
        json!({"action": "close", "decision": "actioned", "group": "eu"}),
    )
    .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(
        item["state"], "triaged",
        "the shared state is untouched: {item}"
    );
    assert_eq!(item["tenant_states"]["done"], 2, "{item}");
    assert_eq!(item["tenant_states"]["open"], 1, "{item}");
    assert_eq!(item["tenant_states"]["text"], "done for 2 · open for 1");
    let exceptions: Vec<&str> = item["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(exceptions, ["alpha", "beta"]);
    assert!(
        item["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["tenant"] == "beta" && e["field"] == "state"),
        "{item}"
    );
    // closing again for eu: nothing accepts it, so it is refused
    let (status, again) = act(
        &admin,
        &f,
        json!({"action": "close", "decision": "actioned", "group": "eu"}),
    )
    .await;
    assert_eq!(status, 409, "{again}");
    // what concerns the whole post is not per tenant
    let (status, e) = act(
        &admin,
        &f,
        json!({"action": "set_priority", "priority": "high", "tenants": ["alpha"]}),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    // a tenant that does not see the post
    let (status, e) = act(
        &admin,
        &f,
        json!({"action": "start", "tenants": ["nobody"]}),
    )
    .await;
    assert_eq!(status, 404, "{e}");

    // lists: open for alpha: none; open for gamma: MC1; each row says what
    // is in force for the tenant asked for
    let open_alpha = json_of(&admin, &f, "/api/v1/items?state=open&tenant=alpha").await;
    assert!(ids(&open_alpha).is_empty(), "{open_alpha}");
    let done_alpha = json_of(&admin, &f, "/api/v1/items?state=done&tenant=alpha").await;
    assert_eq!(ids(&done_alpha), ["MC1"]);
    assert_eq!(done_alpha[0]["in_force"]["state"], "done", "{done_alpha}");
    assert_eq!(done_alpha[0]["in_force"]["decision"], "actioned");
    let open_gamma = json_of(&admin, &f, "/api/v1/items?state=open&tenant=gamma").await;
    assert_eq!(ids(&open_gamma), ["MC1"]);
    // the board: MC1 stands in the done column (alpha, beta) and in the
    // triaged one (gamma), its card saying where its tenants stand
    let board = admin.get(&f, "/board").await;
    assert_eq!(board.status, 200);
    assert_eq!(
        board.body.matches("done for 2 · open for 1").count(),
        2,
        "{}",
        board.body
    );
    let items = admin.get(&f, "/items?tenant=alpha").await;
    assert!(
        items.body.contains("state-done"),
        "alpha's card is done: {}",
        items.body
    );
    // a list names no exception unless asked
    let all = json_of(&admin, &f, "/api/v1/items").await;
    assert!(all[0].get("overrides").is_none(), "{all}");
    assert_eq!(all[0]["exception_count"], 2);
    let all = json_of(&admin, &f, "/api/v1/items?include=exceptions").await;
    assert_eq!(all[0]["overrides"].as_array().unwrap().len(), 2, "{all}");
    // an item's answer pages its exceptions and its log
    let whole = json_of(&admin, &f, "/api/v1/items/MC1").await;
    let log_count = whole["log_count"].as_u64().unwrap();
    assert!(log_count >= 3, "{whole}");
    assert_eq!(whole["log"].as_array().unwrap().len() as u64, log_count);
    let part = json_of(
        &admin,
        &f,
        "/api/v1/items/MC1?exceptions_offset=1&exceptions_limit=1&log_limit=2",
    )
    .await;
    assert_eq!(part["exception_count"], 2);
    assert_eq!(part["overrides"].as_array().unwrap().len(), 1);
    assert_eq!(part["overrides"][0], whole["overrides"][1]);
    assert_eq!(part["log_count"].as_u64(), Some(log_count));
    let newest: Vec<&Value> = whole["log"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .rev()
        .collect();
    let paged: Vec<&Value> = part["log"].as_array().unwrap().iter().collect();
    assert_eq!(paged, newest, "the newest two, oldest first");

    // the limited manager (gamma only): acts for gamma alone, unasked
    let limited = sign_in(&f, "limited").await;
    let seen = json_of(&limited, &f, "/api/v1/items/MC1").await;
    assert_eq!(seen["for_tenants_only"], true, "{seen}");
    assert_eq!(
        seen["tenant_states"]["text"], "open for 1",
        "only gamma: {seen}"
    );
    assert!(seen["overrides"].as_array().unwrap().is_empty(), "{seen}");
    let (status, after) = act(
        &limited,
        &f,
        json!({"action": "dismiss", "reason": "not licensed here"}),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["state"], "triaged", "{after}");
    assert_eq!(after["overrides"][0]["tenant"], "gamma", "{after}");
    assert_eq!(after["overrides"][0]["state"], "dismissed", "{after}");
    let (status, e) = act(
        &limited,
        &f,
        json!({"action": "set_priority", "priority": "high"}),
    )
    .await;
    assert_eq!(status, 403, "{e}");
    let (status, e) = act(
        &limited,
        &f,
        json!({"action": "start", "tenants": ["alpha"]}),
    )
    .await;
    assert_eq!(status, 404, "alpha is not theirs to name: {e}");
    // the admin sees every tenant's exception now; nothing is open
    let item = json_of(&admin, &f, "/api/v1/items/MC1").await;
    assert_eq!(
        item["tenant_states"]["text"], "done for 2 · dismissed for 1",
        "{item}"
    );
    let open = json_of(&admin, &f, "/api/v1/items?state=open").await;
    assert!(ids(&open).is_empty(), "open for no tenant: {open}");

    // bob, an owner, is assigned beta's (reopened) work: it is in his
    // items, he acts for beta only, and not on the shared item
    let (status, e) = act(
        &admin,
        &f,
        json!({"action": "reopen", "reason": "beta wants a pilot", "tenants": ["beta"]}),
    )
    .await;
    assert_eq!(status, 200, "{e}");
    let (status, e) = act(
        &admin,
        &f,
        json!({"action": "assign", "owner": "bob", "tenants": ["beta"]}),
    )
    .await;
    assert_eq!(status, 200, "{e}");
    let bob = sign_in(&f, "bob").await;
    let mine = json_of(&bob, &f, "/api/v1/items?assignee=me").await;
    assert_eq!(ids(&mine), ["MC1"], "{mine}");
    let mine_open = json_of(&bob, &f, "/api/v1/items?assignee=me&state=open").await;
    assert_eq!(ids(&mine_open), ["MC1"], "beta's is open: {mine_open}");
    let theirs = json_of(&bob, &f, "/api/v1/items/MC1").await;
    assert_eq!(theirs["for_tenants_only"], true, "{theirs}");
    let (status, e) = act(&bob, &f, json!({"action": "start"})).await;
    assert_eq!(status, 200, "{e}");
    let item = json_of(&admin, &f, "/api/v1/items/MC1").await;
    let beta = item["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["tenant"] == "beta")
        .unwrap();
    assert_eq!(beta["state"], "in_progress", "{item}");
    assert_eq!(item["state"], "triaged", "{item}");
    let (status, e) = act(&bob, &f, json!({"action": "start", "tenants": ["alpha"]})).await;
    assert_eq!(status, 403, "alpha is not bob's: {e}");
    let (status, e) = act(&bob, &f, json!({"action": "add_label", "label": "x"})).await;
    assert_eq!(status, 403, "{e}");

    // counts for one tenant: beta's item is in progress, bob's
    let page = admin.get(&f, "/posts/MC1").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<dd id=\"tenant-states\">done for 1 · open for 1 · dismissed for 1</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"exceptions-title\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("not licensed here"),
        "the dismissal's reason is listed"
    );
    // the post page acts for a tenant: `for`
    let form = admin
        .post(
            &f,
            "/posts/MC1/actions",
            &[
                ("action", "close"),
                ("decision", "deferred"),
                ("for", "gamma"),
            ],
        )
        .await;
    assert_eq!(
        form.status, 409,
        "gamma is dismissed, not closable: {}",
        form.body
    );
    let form = admin
        .post(
            &f,
            "/posts/MC1/actions",
            &[
                ("action", "reopen"),
                ("reason", "licensed after all"),
                ("for", "gamma"),
            ],
        )
        .await;
    assert_eq!(form.status, 303, "{}", form.body);
    assert_eq!(form.location(), "/posts/MC1?for=gamma#triage");
    let page = admin.get(&f, "/posts/MC1?for=gamma").await;
    assert!(
        page.body.contains("Actions below are for gamma"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("aria-label=\"Priority\""),
        "no whole-post form for a tenant"
    );
    let item = json_of(&admin, &f, "/api/v1/items/MC1").await;
    assert!(
        item["overrides"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["tenant"] != "gamma"),
        "gamma reopened to triaged, the shared state: it follows it again: {item}"
    );
}

/// Saves `item` over `version` with `entries`, sweeps the deadlines at
/// `now`: what the sweep did and the `item.overdue` events it queued.
async fn saved_then_swept(
    f: &Fixture,
    item: &WorkItem,
    version: i64,
    entries: &[changedesk_core::triage::LogEntry],
    now: changedesk_core::Timestamp,
) -> (
    changedesk_server::triage::SweepSummary,
    Vec<changedesk_core::notify::Event>,
) {
    f.store
        .save_work_item(&changedesk_store::ItemSave {
            item,
            expected_version: Some(version),
            evaluated_revision: None,
            entries,
            notify: &[],
            events: &[],
            at: now,
        })
        .await
        .unwrap();
    let sweep = changedesk_server::triage::sweep_deadlines(&f.store, &Default::default(), now)
        .await
        .unwrap();
    let overdue = f
        .store
        .pending_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e.kind == changedesk_core::notify::EventKind::ItemOverdue)
        .collect();
    (sweep, overdue)
}

/// The deadline sweep uses what is in force per tenant: alpha and beta are
/// done, but gamma's work, due on 5 March (its own date), is still in
/// progress on the 10th: the item is overdue for gamma alone, and the event
/// says so (for gamma's subscribers, with gamma's assignee).
async fn a_tenant_s_own_deadline_is_swept_for_it(store: Store) {
    use changedesk_core::triage::{Action, Actor, Decision, transition, transition_for_tenants};
    use changedesk_server::triage::sweep_deadlines;
    let f = fixture(store).await;
    let stored = f.store.work_item("MC1").await.unwrap().unwrap();
    let now = at(NOW);
    let who = Actor::person("test").unwrap();
    let gamma = ["gamma".to_string()];
    let started = transition(&stored.item, Action::Start, &who, now).unwrap();
    let mut item = started.item;
    let mut entries = started.entries;
    for action in [
        Action::SetDue {
            due: Some(at("2026-03-05T00:00:00Z")),
        },
        Action::Assign {
            owner: Some("bob".into()),
        },
    ] {
        let t = transition_for_tenants(&item, action, &gamma, &who, now)
            .unwrap()
            .transition;
        item = t.item;
        entries.extend(t.entries);
    }
    let others = ["alpha".to_string(), "beta".to_string()];
    let closed = transition_for_tenants(
        &item,
        Action::Close {
            decision: Decision::Actioned,
            reason: None,
        },
        &others,
        &who,
        now,
    )
    .unwrap()
    .transition;
    item = closed.item;
    entries.extend(closed.entries);
    assert_eq!(
        item.state_for("alpha"),
        changedesk_core::triage::State::Done
    );
    assert!(item.state_for("gamma").is_open(), "{item:?}");
    let (sweep, overdue) = saved_then_swept(&f, &item, stored.version, &entries, now).await;
    assert_eq!(
        (sweep.overdue, sweep.missed, sweep.notified),
        (1, 0, 1),
        "{sweep:?}"
    );
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0].tenants, vec!["gamma".to_string()]);
    assert_eq!(overdue[0].owner.as_deref(), Some("bob"));
    assert_eq!(
        overdue[0].reason.as_deref(),
        Some("overdue since 2026-03-05")
    );
    // told once
    let again = sweep_deadlines(&f.store, &Default::default(), now)
        .await
        .unwrap();
    assert_eq!(again.notified, 0);

    // the agenda lists the post where each tenant has it: overdue for
    // gamma; alpha's and beta's own decisions among the decisions
    let since = at("2026-03-01T00:00:00Z");
    let ownership = Default::default();
    let agenda = changedesk_server::triage::agenda(&f.store, &ownership, now, since)
        .await
        .unwrap();
    assert_eq!(agenda.overdue.len(), 1, "{:?}", agenda.overdue);
    // counted, not named (the agenda reads its exceptions counted)
    assert_eq!(agenda.overdue[0].tenant_count, 1);
    assert!(agenda.overdue[0].tenants.is_empty());
    assert_eq!(agenda.overdue[0].owner.as_deref(), Some("bob"));
    let mut for_whom: Vec<Option<String>> =
        agenda.decisions.iter().map(|d| d.tenant.clone()).collect();
    for_whom.sort();
    assert_eq!(
        for_whom,
        vec![Some("alpha".to_string()), Some("beta".to_string())]
    );
    assert!(agenda.to_markdown().contains("actioned (for alpha)"));
    // gamma's manager sees gamma's view only, and no other tenant's decision
    let gamma_only = changedesk_core::access::TenantSet::Only(["gamma".to_string()].into());
    let theirs =
        changedesk_server::triage::agenda_for(&f.store, &ownership, now, since, &gamma_only)
            .await
            .unwrap();
    assert_eq!(theirs.overdue.len(), 1);
    assert_eq!(theirs.overdue[0].tenant_count, 1);
    assert!(theirs.decisions.is_empty(), "{:?}", theirs.decisions);
    // alpha's manager: alpha's decision, nothing overdue
    let alpha_only = changedesk_core::access::TenantSet::Only(["alpha".to_string()].into());
    let alphas =
        changedesk_server::triage::agenda_for(&f.store, &ownership, now, since, &alpha_only)
            .await
            .unwrap();
    assert!(alphas.overdue.is_empty(), "{:?}", alphas.overdue);
    assert_eq!(alphas.decisions.len(), 1, "{:?}", alphas.decisions);
}

/// A new post whose workload one owner has for most tenants and another
/// for gamma is routed to both, each told of the tenants it is theirs for.
async fn each_owner_in_force_is_told_of_its_tenants(store: Store) {
    use changedesk_core::notify::EventKind;
    use changedesk_core::triage::{OwnershipEntry, Scope as OwnerScope};
    use changedesk_server::triage::{Triage, apply_rules};
    let f = fixture(store).await;
    for (owner, scope) in [
        ("alice", OwnerScope::All),
        ("bob", OwnerScope::Tenant("gamma".into())),
    ] {
        f.store
            .set_ownership(
                &OwnershipEntry {
                    workload: "Microsoft Teams".into(),
                    owner: owner.into(),
                    scope,
                },
                "test",
                &at(NOW),
            )
            .await
            .unwrap();
    }
    let fresh = post(
        "MC2",
        "2026-03-09T00:00:00Z",
        "New for all three",
        "<p>x</p>",
        json!({"startDateTime": "2026-03-09T00:00:00Z"}),
    );
    for t in ["alpha", "beta", "gamma"] {
        f.store
            .import_messages(t, std::slice::from_ref(&fresh), &opts(NOW))
            .await
            .unwrap();
    }
    let triage = Triage::load(&f.store, Default::default()).await.unwrap();
    apply_rules(&f.store, &triage, at(NOW), false)
        .await
        .unwrap();
    let mut routed: Vec<(Option<String>, Vec<String>)> = f
        .store
        .pending_events(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.kind == EventKind::PostRouted)
        .map(|e| (e.event.owner, e.event.tenants))
        .collect();
    routed.sort();
    assert_eq!(
        routed,
        [
            (
                Some("alice".to_string()),
                vec!["alpha".to_string(), "beta".to_string()]
            ),
            (Some("bob".to_string()), vec!["gamma".to_string()]),
        ]
    );
}

/// Missed work closes itself per tenant: MC2's act-by date (5 March) is
/// past; the shared decision was taken (actioned) but gamma reopened the
/// item for itself. With the missed policy on, the sweep closes gamma's
/// own state as missed (an entry about gamma) and leaves the shared
/// decision standing; before, gamma stayed open forever.
async fn a_tenant_s_missed_work_closes_itself(store: Store) {
    use changedesk_core::triage::{
        Action, Actor, Decision, LogScope, MissedPolicy, State, transition, transition_for_tenants,
    };
    use changedesk_server::triage::sweep_deadlines;
    let f = fixture(store).await;
    let mc1 = mc1();
    let mc2 = post(
        "MC2",
        "2026-03-01T00:00:00Z",
        "Act by the fifth",
        "<p>y</p>",
        json!({"actionRequiredByDateTime": "2026-03-05T00:00:00Z"}),
    );
    for t in ["alpha", "beta", "gamma"] {
        f.store
            .import_messages(
                t,
                &[mc1.clone(), mc2.clone()],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
    }
    let who = Actor::person("test").unwrap();
    let now = at(NOW);
    let mut item = WorkItem::new("MC2", at("2026-03-02T00:00:00Z"));
    let close = Action::Close {
        decision: Decision::Actioned,
        reason: None,
    };
    item = transition(&item, Action::Triage, &who, now).unwrap().item;
    item = transition(&item, close, &who, now).unwrap().item;
    let reopen = Action::Reopen {
        reason: "gamma still works on it".into(),
    };
    item = transition_for_tenants(&item, reopen, &["gamma".to_string()], &who, now)
        .unwrap()
        .transition
        .item;
    assert!(item.is_open_for("gamma"));
    crate::save_new_item(&f.store, &item, now).await;

    // the policy off: counted as missed, left open
    let sweep = sweep_deadlines(&f.store, &MissedPolicy::default(), now)
        .await
        .unwrap();
    assert_eq!((sweep.missed, sweep.closed.len()), (1, 0), "{sweep:?}");
    let on = MissedPolicy {
        auto_close: true,
        grace: time::Duration::days(1),
    };
    let sweep = sweep_deadlines(&f.store, &on, now).await.unwrap();
    assert_eq!(sweep.closed, vec!["MC2".to_string()], "{sweep:?}");
    let stored = f.store.work_item("MC2").await.unwrap().unwrap().item;
    assert_eq!(stored.decision, Some(Decision::Actioned));
    assert_eq!(
        (stored.state_for("gamma"), stored.decision_for("gamma")),
        (State::Done, Some(Decision::Missed))
    );
    assert!(stored.labels.contains("missed"));
    let log = f.store.work_item_log("MC2").await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.entry.scope == LogScope::Tenant("gamma".into())
                && e.entry.new.as_deref() == Some("missed")),
        "{log:?}"
    );
    // nothing open for anyone now
    let again = sweep_deadlines(&f.store, &on, now).await.unwrap();
    assert_eq!((again.missed, again.closed.len()), (0, 0), "{again:?}");
}

/// A decommissioned customer is purged from the tenants page or the API
/// by an unrestricted admin: its exception and links go, the shared item
/// and post stay. The page asks for the name twice (a mismatch removes
/// nothing); a tenant-limited user may not purge.
async fn an_admin_purges_a_decommissioned_tenant(store: Store) {
    let f = fixture(store).await;
    let admin = sign_in(&f, "admin").await;
    let (status, _) = act(
        &admin,
        &f,
        json!({"action": "close", "decision": "actioned", "tenants": ["gamma"]}),
    )
    .await;
    assert_eq!(status, 200);
    let limited = sign_in(&f, "limited").await;
    let a = limited
        .send_json(&f, "POST", "/api/v1/tenants/gamma/purge", &json!({}))
        .await;
    assert_eq!(a.status.as_u16(), 403, "{}", a.body);
    let a = admin
        .post(
            &f,
            "/tenants/purge",
            &[("name", "gamma"), ("confirm", "gama")],
        )
        .await;
    assert_eq!(a.status.as_u16(), 400, "{}", a.body);
    assert!(a.body.contains("type the tenant"), "{}", a.body);
    let item = json_of(&admin, &f, "/api/v1/items/MC1").await;
    assert_eq!(item["overrides"][0]["tenant"], "gamma", "{item}");

    let a = admin
        .post(
            &f,
            "/tenants/purge",
            &[("name", "gamma"), ("confirm", "gamma")],
        )
        .await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.body);
    assert!(
        a.body.contains("gamma was purged: 1 post links"),
        "{}",
        a.body
    );
    let item = json_of(&admin, &f, "/api/v1/items/MC1").await;
    assert_eq!(item["overrides"], json!([]), "{item}");
    let post = json_of(&admin, &f, "/api/v1/posts/MC1").await;
    assert_eq!(post["tenant_count"], 2, "{post}");
    let tenants = json_of(&admin, &f, "/api/v1/tenants").await;
    assert!(!tenants.to_string().contains("gamma"), "{tenants}");
    // a user limited to it sees nothing now, not everything
    let posts = json_of(&limited, &f, "/api/v1/posts").await;
    assert_eq!(posts["items"], json!([]), "{posts}");
    let items = json_of(&limited, &f, "/api/v1/items").await;
    assert_eq!(items, json!([]), "{items}");
    let before = json_of(&admin, &f, "/api/v1/posts").await;
    assert_eq!(
        before["items"].as_array().map(Vec::len),
        Some(1),
        "{before}"
    );
    // the API says so when there is nothing left
    let a = admin
        .send_json(&f, "POST", "/api/v1/tenants/gamma/purge", &json!({}))
        .await;
    assert_eq!(a.status.as_u16(), 404, "{}", a.body);
}

/// Past a few tenants, lists name only those with an exception and count
/// the others: eight tenants see MC1, alpha decided for itself, the shared
/// due date passed. The sweep's event still names the seven it holds for,
/// the agenda counts them in one row, the board's card says where they
/// stand.
async fn many_tenants_are_counted_and_their_exceptions_named(store: Store) {
    use changedesk_core::triage::{Action, Actor, Decision, transition, transition_for_tenants};
    let f = fixture(store).await;
    let more = ["delta", "epsilon", "zeta", "eta", "theta"];
    let mc1 = mc1();
    for t in more {
        f.store
            .import_messages(t, std::slice::from_ref(&mc1), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
    }
    let stored = f.store.work_item("MC1").await.unwrap().unwrap();
    let now = at(NOW);
    let who = Actor::person("test").unwrap();
    let due = transition(
        &stored.item,
        Action::SetDue {
            due: Some(at("2026-03-05T00:00:00Z")),
        },
        &who,
        now,
    )
    .unwrap();
    let closed = transition_for_tenants(
        &due.item,
        Action::Close {
            decision: Decision::Actioned,
            reason: None,
        },
        &["alpha".to_string()],
        &who,
        now,
    )
    .unwrap()
    .transition;
    let mut entries = due.entries;
    entries.extend(closed.entries);
    let (sweep, overdue) = saved_then_swept(&f, &closed.item, stored.version, &entries, now).await;
    assert_eq!((sweep.overdue, sweep.notified), (1, 1), "{sweep:?}");
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    let mut told = overdue[0].tenants.clone();
    told.sort();
    let mut want: Vec<String> = ["beta", "gamma"]
        .into_iter()
        .chain(more)
        .map(String::from)
        .collect();
    want.sort();
    assert_eq!(told, want, "every tenant it holds for, alpha not");

    let since = at("2026-03-01T00:00:00Z");
    let agenda = changedesk_server::triage::agenda(&f.store, &Default::default(), now, since)
        .await
        .unwrap();
    assert_eq!(agenda.overdue.len(), 1, "{:?}", agenda.overdue);
    assert_eq!(agenda.overdue[0].tenant_count, 7);
    assert!(agenda.overdue[0].tenants.is_empty(), "counted, not named");

    let admin = sign_in(&f, "admin").await;
    let board = admin.get(&f, "/board").await;
    assert_eq!(board.status, 200);
    assert!(
        board.body.contains("open for 7 · done for 1"),
        "{}",
        board.body
    );
    assert!(!board.body.contains("theta"), "the tenants are counted");
}

both!(
    tenants_decide_for_themselves,
    a_tenant_s_own_deadline_is_swept_for_it,
    a_tenant_s_missed_work_closes_itself,
    an_admin_purges_a_decommissioned_tenant,
    each_owner_in_force_is_told_of_its_tenants,
    many_tenants_are_counted_and_their_exceptions_named
);
