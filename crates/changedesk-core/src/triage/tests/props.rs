//! Random sequences of actions, revisions and automatic closes: nothing
//! panics, every state change follows the table, the log replays to the
//! item, and the first-entry timestamps are set when the states are first
//! entered.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Act(Action, u8),
    ActFor(Action, Vec<String>),
    Revise(Vec<String>, bool),
    AutoClose { act_by_days: i64, grace_days: i64 },
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("  ".to_string()),
        "[a-zA-Z ,._-]{1,10}",
        Just("é\n\u{7}".to_string()),
    ]
}

fn name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("alice".to_string())),
        Just(Some("Bob".to_string())),
        Just(Some("rules".to_string())),
        "[a-zA-Z._ -]{0,6}".prop_map(Some),
    ]
}

fn when() -> impl Strategy<Value = Option<Timestamp>> {
    prop_oneof![Just(None), (-30i64..60).prop_map(|d| Some(days(d)))]
}

fn action() -> impl Strategy<Value = Action> {
    let decision = proptest::sample::select(Decision::ALL.to_vec());
    let priority = proptest::sample::select(Priority::ALL.to_vec());
    let tenant = prop_oneof![
        Just("contoso".to_string()),
        Just("Fabrikam".to_string()),
        "[a-z.-]{0,5}",
    ];
    prop_oneof![
        4 => Just(Action::Triage),
        4 => Just(Action::Start),
        4 => (decision, proptest::option::of(text()))
            .prop_map(|(decision, reason)| Action::Close { decision, reason }),
        3 => text().prop_map(|reason| Action::Dismiss { reason }),
        3 => text().prop_map(|reason| Action::Reopen { reason }),
        2 => Just(Action::Acknowledge),
        1 => name().prop_map(|owner| Action::Assign { owner }),
        1 => priority.prop_map(|priority| Action::SetPriority { priority }),
        1 => when().prop_map(|due| Action::SetDue { due }),
        1 => text().prop_map(|label| Action::AddLabel { label }),
        1 => text().prop_map(|label| Action::RemoveLabel { label }),
        1 => any::<bool>().prop_map(|required| Action::RequireChangeRequest { required }),
        1 => any::<bool>().prop_map(|required| Action::RequireCommunication { required }),
        1 => text().prop_map(|text| Action::Comment { text }),
        2 => (tenant, proptest::option::of(any::<bool>()), name(), when(), proptest::option::of(text()))
            .prop_map(|(tenant, applicable, assignee, due, note)| Action::SetOverride {
                tenant,
                applicable,
                assignee,
                due,
                note,
            }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let mut fields = strings(MESSAGE_FIELDS);
    fields.push("some_future_field".into());
    prop_oneof![
        8 => (action(), 0u8..3).prop_map(|(a, who)| Op::Act(a, who)),
        4 => (action(), proptest::sample::subsequence(vec!["contoso".to_string(), "fabrikam".into(), "Adatum".into()], 1..3))
            .prop_map(|(a, t)| Op::ActFor(a, t)),
        2 => (proptest::sample::subsequence(fields, 0..4), any::<bool>())
            .prop_map(|(f, enabled)| Op::Revise(f, enabled)),
        1 => (-30i64..30, 0i64..5)
            .prop_map(|(act_by_days, grace_days)| Op::AutoClose { act_by_days, grace_days }),
    ]
}

/// What the log says the item is, rebuilt entry by entry.
struct Replay {
    state: State,
    decision: Option<String>,
    labels: BTreeSet<String>,
    assignee: Option<String>,
    reopens: u32,
    entries: usize,
    last_at: Option<Timestamp>,
}

impl Replay {
    fn new() -> Replay {
        Replay {
            state: State::New,
            decision: None,
            labels: BTreeSet::new(),
            assignee: None,
            reopens: 0,
            entries: 0,
            last_at: None,
        }
    }

    fn apply(&mut self, e: &LogEntry, now: Timestamp) -> Result<(), TestCaseError> {
        prop_assert_eq!(e.at, now);
        if let Some(last) = self.last_at {
            prop_assert!(e.at >= last, "log goes back in time");
        }
        self.last_at = Some(e.at);
        self.entries += 1;
        if e.scope != LogScope::Post {
            // a tenant's entries: its override, or its own state moving
            // along the same table
            if e.field.as_deref() == Some("state") {
                let old: State = e.old.as_deref().unwrap_or("").parse().map_err(fail)?;
                prop_assert!(
                    rule_for(old, e.action).is_some(),
                    "{} by {} is not in the table",
                    old,
                    e.action
                );
            }
            return Ok(());
        }
        match e.field.as_deref() {
            Some("state") => {
                let old: State = e.old.as_deref().unwrap_or("").parse().map_err(fail)?;
                let new: State = e.new.as_deref().unwrap_or("").parse().map_err(fail)?;
                prop_assert_eq!(old, self.state, "state entry does not follow the last one");
                let rule = rule_for(old, e.action);
                prop_assert!(
                    rule.is_some(),
                    "{} → {} by {} is not in the table",
                    old,
                    new,
                    e.action
                );
                let ok = match rule.map(|r| r.to) {
                    Some(Target::Enter(to)) => to == new,
                    Some(Target::Reopened) => matches!(new, State::Triaged | State::New),
                    None => false,
                };
                prop_assert!(
                    ok,
                    "{} → {} by {} does not match the table",
                    old,
                    new,
                    e.action
                );
                if e.action == LogAction::Reopen {
                    self.reopens += 1;
                }
                self.state = new;
            }
            Some("decision") => {
                prop_assert_eq!(&e.old, &self.decision);
                self.decision = e.new.clone();
            }
            Some("labels") => match (&e.old, &e.new) {
                (None, Some(l)) => prop_assert!(self.labels.insert(l.clone()), "label added twice"),
                (Some(l), None) => prop_assert!(self.labels.remove(l), "absent label removed"),
                other => prop_assert!(false, "odd label entry {:?}", other),
            },
            Some("assignee") => {
                prop_assert_eq!(&e.old, &self.assignee);
                self.assignee = e.new.clone();
            }
            _ => {}
        }
        Ok(())
    }
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

fn check_item(item: &WorkItem, r: &Replay) -> Result<(), TestCaseError> {
    prop_assert_eq!(item.state, r.state);
    prop_assert_eq!(item.decision.map(|d| d.to_string()), r.decision.clone());
    prop_assert_eq!(&item.labels, &r.labels);
    prop_assert_eq!(&item.assignee, &r.assignee);
    prop_assert_eq!(item.reopened_count, r.reopens);
    prop_assert_eq!(item.state == State::Done, item.decision.is_some());
    prop_assert_eq!(
        item.state == State::Dismissed,
        item.dismiss_reason.is_some()
    );
    prop_assert_eq!(item.state.is_closed(), item.closed_at.is_some());
    if matches!(item.state, State::Triaged | State::InProgress) {
        prop_assert!(item.first_triaged_at.is_some());
    }
    if item.state == State::InProgress {
        prop_assert!(item.started_at.is_some());
    }
    let tenants: Vec<&str> = item.overrides.iter().map(|o| o.tenant.as_str()).collect();
    prop_assert!(
        tenants.windows(2).all(|w| w[0] < w[1]),
        "overrides unsorted"
    );
    prop_assert!(item.overrides.iter().all(|o| !o.is_empty()));
    for o in &item.overrides {
        // a tenant's own state differs from the shared one, and is whole
        if let Some(s) = o.state {
            prop_assert!(
                s != item.state
                    || o.decision != item.decision
                    || (s == State::Dismissed && o.dismiss_reason != item.dismiss_reason),
                "{}'s own state equals the shared one",
                o.tenant
            );
            prop_assert_eq!(s == State::Done, o.decision.is_some());
            prop_assert_eq!(s == State::Dismissed, o.dismiss_reason.is_some());
        } else {
            prop_assert!(o.decision.is_none() && o.dismiss_reason.is_none());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_sequences_keep_every_invariant(
        ops in proptest::collection::vec((op(), 0i64..36), 1..40)
    ) {
        let actors = [alice(), Actor::Rules, Actor::System];
        let mut item = WorkItem::new("MC1", t0());
        let mut replay = Replay::new();
        let mut log: Vec<LogEntry> = Vec::new();
        let mut now = t0();
        for (op, advance) in ops {
            now = now.saturating_add(time::Duration::hours(advance));
            let before = item.clone();
            let entries = match op {
                Op::Act(action, who) => {
                    let actor = &actors[usize::from(who) % actors.len()];
                    match transition(&item, action.clone(), actor, now) {
                        Ok(t) => {
                            prop_assert!(
                                !t.entries.is_empty() || t.item == item,
                                "{:?} changed the item without a log entry", action
                            );
                            item = t.item;
                            t.entries
                        }
                        Err(e) => {
                            prop_assert!(!e.to_string().is_empty());
                            // apply refuses the same way and leaves the item alone
                            prop_assert!(item.apply(action, actor, now).is_err());
                            prop_assert_eq!(&item, &before);
                            Vec::new()
                        }
                    }
                }
                Op::ActFor(action, tenants) => {
                    match transition_for_tenants(&item, action.clone(), &tenants, &alice(), now) {
                        Ok(t) => {
                            // the shared item is untouched
                            let strip = |i: &WorkItem| WorkItem { overrides: Vec::new(), ..i.clone() };
                            prop_assert_eq!(strip(&t.transition.item), strip(&item));
                            prop_assert!(t.transition.entries.iter().all(|e| e.scope != LogScope::Post));
                            // each tenant acted for now stands where its view went
                            for name in &tenants {
                                let name = name.to_ascii_lowercase();
                                if t.skipped.iter().any(|(s, _)| *s == name) {
                                    prop_assert_eq!(t.transition.item.state_for(&name), item.state_for(&name));
                                    continue;
                                }
                                let view = transition(&item.for_tenant(&name), action.clone(), &alice(), now)
                                    .map_err(fail)?;
                                prop_assert_eq!(t.transition.item.state_for(&name), view.item.state);
                                prop_assert_eq!(t.transition.item.decision_for(&name), view.item.decision);
                            }
                            item = t.transition.item;
                            t.transition.entries
                        }
                        Err(e) => {
                            prop_assert!(!e.to_string().is_empty());
                            Vec::new()
                        }
                    }
                }
                Op::Revise(fields, enabled) => {
                    let policy = ReopenPolicy { enabled, ..ReopenPolicy::default() };
                    let eff = on_revision(&mut item, &fields, &policy, now);
                    prop_assert_eq!(eff.flagged, !eff.entries.is_empty());
                    prop_assert!(!eff.reopened || eff.notify_owner.is_some());
                    eff.entries
                }
                Op::AutoClose { act_by_days, grace_days } => {
                    let policy = MissedPolicy {
                        auto_close: true,
                        grace: time::Duration::days(grace_days),
                    };
                    let act_by = Some(t0().saturating_add(time::Duration::days(act_by_days)));
                    match auto_close_missed(&mut item, &PostDates { act_by, start: None, first_seen: days(-1000) }, &policy, now) {
                        Some(entries) => {
                            // what was open, shared or a tenant's own, is
                            // closed as missed; nothing is open any more
                            if before.state.is_open() {
                                prop_assert_eq!(item.decision, Some(Decision::Missed));
                            }
                            prop_assert!(item.state.is_closed());
                            for o in &before.overrides {
                                if o.applicable != Some(false) && o.state.is_some_and(|s| s.is_open()) {
                                    prop_assert_eq!(item.decision_for(&o.tenant), Some(Decision::Missed));
                                }
                            }
                            prop_assert!(item.overrides.iter().all(|o| o.applicable == Some(false) || !o.state.is_some_and(|s| s.is_open())));
                            prop_assert!(item.labels.contains(MISSED_LABEL));
                            prop_assert!(entries.iter().all(|e| e.actor == Actor::System));
                            entries
                        }
                        None => {
                            prop_assert_eq!(&item, &before);
                            Vec::new()
                        }
                    }
                }
            };
            // append-only: earlier entries are never revisited
            let kept = log.clone();
            log.extend(entries.iter().cloned());
            prop_assert_eq!(&log[..kept.len()], &kept[..]);
            for e in &entries {
                replay.apply(e, now)?;
            }
            prop_assert_eq!(replay.entries, log.len());
            check_item(&item, &replay)?;

            // first-entry timestamps: set on first entry, never moved
            let entered: Vec<State> = entries
                .iter()
                .filter(|e| e.scope == LogScope::Post && e.field.as_deref() == Some("state"))
                .filter_map(|e| e.new.as_deref().and_then(|s| s.parse().ok()))
                .collect();
            match before.first_triaged_at {
                Some(t) => prop_assert_eq!(item.first_triaged_at, Some(t)),
                None if entered.iter().any(|s| matches!(s, State::Triaged | State::InProgress)) => {
                    prop_assert_eq!(item.first_triaged_at, Some(now));
                }
                None => prop_assert_eq!(item.first_triaged_at, None),
            }
            match before.started_at {
                Some(t) => prop_assert_eq!(item.started_at, Some(t)),
                None if entered.contains(&State::InProgress) => {
                    prop_assert_eq!(item.started_at, Some(now));
                }
                None => prop_assert_eq!(item.started_at, None),
            }
            if entered.iter().any(|s| s.is_closed()) {
                prop_assert_eq!(item.closed_at, Some(now));
            }

            // status and agenda never panic on whatever the item became
            let _ = deadline_status(&item, &PostDates { act_by: Some(days(3)), start: Some(days(-3)), first_seen: days(-5) }, now);
        }
        let post = AgendaPost {
            id: "MC1".into(),
            title: "Random | *title*".into(),
            services: vec!["Microsoft Teams".into()],
            category: crate::graph::Category::PlanForChange,
            severity: crate::graph::Severity::Normal,
            major: false,
            act_by: Some(days(3)),
            start: None,
            first_seen: days(-5),
            item,
            owner: None,
            tenants: vec![],
            tenant_count: 0,
            counted: Vec::new(),
        };
        let entries: Vec<AgendaLogEntry> = log
            .into_iter()
            .map(|entry| AgendaLogEntry { message_id: "MC1".into(), entry })
            .collect();
        let agenda = Agenda::build(std::slice::from_ref(&post), &entries, now, t0());
        let md = agenda.to_markdown();
        prop_assert!(md.starts_with("# Change review "));
    }
}
