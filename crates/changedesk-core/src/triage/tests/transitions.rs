//! Every lifecycle transition, allowed and refused, and every edit.

use super::*;

fn close(decision: Decision) -> Action {
    Action::Close {
        decision,
        reason: None,
    }
}

fn dismiss() -> Action {
    Action::Dismiss {
        reason: "not relevant".into(),
    }
}

fn reopen() -> Action {
    Action::Reopen {
        reason: "rollout moved".into(),
    }
}

#[test]
fn the_lifecycle_table() {
    use Decision::*;
    use State::*;
    let cases: Vec<(State, Action, Result<State, &str>)> = vec![
        (New, Action::Triage, Ok(Triaged)),
        (New, dismiss(), Ok(Dismissed)),
        (New, Action::Start, Ok(InProgress)),
        (New, close(NoActionNeeded), Ok(Done)),
        (New, close(Missed), Ok(Done)),
        (
            New,
            close(Actioned),
            Err(
                "MC1 is new; closing it as actioned needs triage first (from new it can be closed only as no_action_needed or missed)",
            ),
        ),
        (
            New,
            reopen(),
            Err("MC1 is new; it can be triaged, dismissed, started or closed, not reopened"),
        ),
        (
            Triaged,
            Action::Triage,
            Err("MC1 is already triaged; it can be started, dismissed or closed"),
        ),
        (Triaged, dismiss(), Ok(Dismissed)),
        (Triaged, Action::Start, Ok(InProgress)),
        (Triaged, close(Communicated), Ok(Done)),
        (Triaged, close(NoActionNeeded), Ok(Done)),
        (
            Triaged,
            reopen(),
            Err("MC1 is triaged; it can be started, dismissed or closed, not reopened"),
        ),
        (
            InProgress,
            Action::Triage,
            Err("MC1 is in progress; it can be closed, not triaged"),
        ),
        (
            InProgress,
            dismiss(),
            Err("MC1 is in progress; it can be closed, not dismissed"),
        ),
        (
            InProgress,
            Action::Start,
            Err("MC1 is already in progress; it can be closed"),
        ),
        (InProgress, close(ChangeRequestRaised), Ok(Done)),
        (InProgress, close(Deferred), Ok(Done)),
        (
            InProgress,
            reopen(),
            Err("MC1 is in progress; it can be closed, not reopened"),
        ),
        (
            Done,
            Action::Triage,
            Err("MC1 is done; it can be reopened, not triaged"),
        ),
        (
            Done,
            dismiss(),
            Err("MC1 is done; it can be reopened, not dismissed"),
        ),
        (
            Done,
            Action::Start,
            Err("MC1 is done; it can be reopened, not started"),
        ),
        (
            Done,
            close(Actioned),
            Err("MC1 is already done; it can be reopened"),
        ),
        // item_in(Done) went through triage
        (Done, reopen(), Ok(Triaged)),
        (
            Dismissed,
            Action::Triage,
            Err("MC1 is dismissed; it can be reopened, not triaged"),
        ),
        (
            Dismissed,
            dismiss(),
            Err("MC1 is already dismissed; it can be reopened"),
        ),
        (
            Dismissed,
            Action::Start,
            Err("MC1 is dismissed; it can be reopened, not started"),
        ),
        (
            Dismissed,
            close(NoActionNeeded),
            Err("MC1 is dismissed; it can be reopened, not closed"),
        ),
        // item_in(Dismissed) was dismissed straight from new
        (Dismissed, reopen(), Ok(New)),
    ];
    // every (state, lifecycle action) pair is covered
    for s in State::ALL {
        for a in LIFECYCLE_ACTIONS {
            assert!(
                cases
                    .iter()
                    .any(|(from, act, _)| from == s && act.kind() == *a),
                "no case for {s} + {a}"
            );
        }
    }
    for (from, action, want) in cases {
        let item = item_in(from);
        let label = format!("{from} + {}", action.kind());
        match (transition(&item, action, &alice(), hours(1)), want) {
            (Ok(t), Ok(to)) => {
                assert_eq!(t.item.state, to, "{label}");
                assert!(!t.entries.is_empty(), "{label}");
                let state_entries: Vec<_> = t
                    .entries
                    .iter()
                    .filter(|e| e.field.as_deref() == Some("state"))
                    .collect();
                assert_eq!(
                    state_entries[0].old.as_deref(),
                    Some(from.as_str()),
                    "{label}"
                );
                assert_eq!(
                    state_entries.last().and_then(|e| e.new.as_deref()),
                    Some(to.as_str()),
                    "{label}"
                );
            }
            (Err(e), Err(msg)) => assert_eq!(e.to_string(), msg, "{label}"),
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn reopening_a_dismissed_item_that_was_triaged_returns_to_triaged() {
    let mut item = item_in(State::Triaged);
    item.apply(dismiss(), &alice(), hours(1)).unwrap();
    assert_eq!(item.dismiss_reason.as_deref(), Some("not relevant"));
    let entries = item.apply(reopen(), &alice(), hours(2)).unwrap();
    assert_eq!(item.state, State::Triaged);
    assert_eq!(item.dismiss_reason, None);
    assert_eq!(item.closed_at, None);
    assert_eq!(item.reopened_count, 1);
    // no decision to clear: one entry
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].reason.as_deref(), Some("rollout moved"));
}

#[test]
fn close_logs_the_state_then_the_decision_with_the_reason() {
    let mut item = item_in(State::InProgress);
    let entries = item
        .apply(
            Action::Close {
                decision: Decision::Communicated,
                reason: Some("  mail sent to all staff ".into()),
            },
            &alice(),
            hours(3),
        )
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].action, LogAction::Close);
    assert_eq!(entries[0].field.as_deref(), Some("state"));
    assert_eq!(entries[0].new.as_deref(), Some("done"));
    assert_eq!(entries[1].field.as_deref(), Some("decision"));
    assert_eq!(entries[1].old, None);
    assert_eq!(entries[1].new.as_deref(), Some("communicated"));
    assert_eq!(entries[1].reason.as_deref(), Some("mail sent to all staff"));
    assert_eq!(item.decision, Some(Decision::Communicated));
    assert_eq!(item.closed_at, Some(hours(3)));
    assert!(
        entries
            .iter()
            .all(|e| e.at == hours(3) && e.actor == alice())
    );
}

#[test]
fn reopen_clears_the_decision_and_keeps_first_timestamps() {
    let mut item = item_in(State::InProgress);
    let (triaged, started) = (item.first_triaged_at, item.started_at);
    item.apply(close(Decision::Actioned), &alice(), hours(1))
        .unwrap();
    let entries = item.apply(reopen(), &alice(), hours(2)).unwrap();
    assert_eq!(item.state, State::Triaged);
    assert_eq!(item.decision, None);
    assert_eq!(item.closed_at, None);
    assert_eq!(item.reopened_count, 1);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].reason.as_deref(), Some("rollout moved"));
    assert_eq!(entries[1].field.as_deref(), Some("decision"));
    assert_eq!(entries[1].old.as_deref(), Some("actioned"));
    assert_eq!(entries[1].new, None);
    // starting again keeps the first start
    item.apply(Action::Start, &alice(), hours(5)).unwrap();
    assert_eq!(item.first_triaged_at, triaged);
    assert_eq!(item.started_at, started);
    item.apply(close(Decision::Deferred), &alice(), hours(6))
        .unwrap();
    assert_eq!(item.closed_at, Some(hours(6)));
}

#[test]
fn start_from_new_triages_first() {
    let mut item = item_in(State::New);
    let entries = item.apply(Action::Start, &alice(), hours(1)).unwrap();
    let steps: Vec<(LogAction, Option<&str>, Option<&str>)> = entries
        .iter()
        .map(|e| (e.action, e.old.as_deref(), e.new.as_deref()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (LogAction::Triage, Some("new"), Some("triaged")),
            (LogAction::Start, Some("triaged"), Some("in_progress")),
        ]
    );
    assert_eq!(item.first_triaged_at, Some(hours(1)));
    assert_eq!(item.started_at, Some(hours(1)));
}

#[test]
fn closing_straight_from_new_is_not_triage() {
    let mut item = item_in(State::New);
    item.apply(close(Decision::NoActionNeeded), &alice(), hours(1))
        .unwrap();
    assert_eq!(item.first_triaged_at, None);
    assert_eq!(item.closed_at, Some(hours(1)));
    item.apply(reopen(), &alice(), hours(2)).unwrap();
    assert_eq!(item.state, State::New);
}

#[test]
fn reasons_and_texts_are_required() {
    let item = item_in(State::Triaged);
    let cases = [
        (
            Action::Dismiss {
                reason: "  ".into(),
            },
            "a reason is required to dismiss MC1",
        ),
        (
            Action::Comment { text: "".into() },
            "a text is required to comment on MC1",
        ),
        (
            Action::Comment {
                text: "x".repeat(4001),
            },
            "MC1: comment is longer than 4000 characters",
        ),
    ];
    for (action, msg) in cases {
        let e = transition(&item, action, &alice(), hours(1)).unwrap_err();
        assert_eq!(e.to_string(), msg);
    }
    let done = item_in(State::Done);
    let e = transition(
        &done,
        Action::Reopen { reason: "".into() },
        &alice(),
        hours(1),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "a reason is required to reopen MC1");
    // the state is checked first: a missing reason is not the problem here
    let e = transition(
        &done,
        Action::Dismiss { reason: "".into() },
        &alice(),
        hours(1),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "MC1 is done; it can be reopened, not dismissed"
    );
}

#[test]
fn a_refused_action_leaves_the_item_unchanged() {
    let mut item = item_in(State::Done);
    let before = item.clone();
    assert!(item.apply(Action::Start, &alice(), hours(1)).is_err());
    assert!(item.apply(Action::Acknowledge, &alice(), hours(1)).is_err());
    assert!(
        item.apply(
            Action::Assign {
                owner: Some("Not A Name".into())
            },
            &alice(),
            hours(1)
        )
        .is_err()
    );
    assert_eq!(item, before);
}

/// `(field, old, new)` of the one entry an edit logs.
type Logged = (&'static str, Option<String>, Option<String>);

#[test]
fn edits_log_old_and_new_values_and_no_ops_log_nothing() {
    let mut item = item_in(State::Triaged);
    let rules = Actor::Rules;
    let due = days(14);
    let steps: Vec<(Action, Option<Logged>)> = vec![
        (
            Action::Assign {
                owner: Some(" Bob ".into()),
            },
            Some(("assignee", None, Some("bob".into()))),
        ),
        (
            Action::Assign {
                owner: Some("BOB".into()),
            },
            None,
        ),
        (
            Action::SetPriority {
                priority: Priority::High,
            },
            Some(("priority", Some("normal".into()), Some("high".into()))),
        ),
        (
            Action::SetPriority {
                priority: Priority::High,
            },
            None,
        ),
        (
            Action::SetDue { due: Some(due) },
            Some(("due", None, Some(due.to_canonical()))),
        ),
        (
            Action::AddLabel {
                label: " GDPR ".into(),
            },
            Some(("labels", None, Some("gdpr".into()))),
        ),
        (
            Action::AddLabel {
                label: "gdpr".into(),
            },
            None,
        ),
        (
            Action::RemoveLabel {
                label: "absent".into(),
            },
            None,
        ),
        (
            Action::RequireChangeRequest { required: true },
            Some((
                "requires_change_request",
                Some("false".into()),
                Some("true".into()),
            )),
        ),
        (Action::RequireChangeRequest { required: true }, None),
        (
            Action::RequireCommunication { required: true },
            Some((
                "requires_communication",
                Some("false".into()),
                Some("true".into()),
            )),
        ),
        (
            Action::RemoveLabel {
                label: "GDPR".into(),
            },
            Some(("labels", Some("gdpr".into()), None)),
        ),
        (
            Action::SetDue { due: None },
            Some(("due", Some(due.to_canonical()), None)),
        ),
        (
            Action::Assign { owner: None },
            Some(("assignee", Some("bob".into()), None)),
        ),
    ];
    for (action, want) in steps {
        let kind = action.kind();
        let entries = item.apply(action, &rules, hours(1)).unwrap();
        match want {
            None => assert!(entries.is_empty(), "{kind}: {entries:?}"),
            Some((field, old, new)) => {
                assert_eq!(entries.len(), 1, "{kind}");
                let e = &entries[0];
                assert_eq!(e.action, kind);
                assert_eq!(e.actor, Actor::Rules);
                assert_eq!(e.scope, LogScope::Post);
                assert_eq!(
                    (e.field.as_deref(), e.old.clone(), e.new.clone()),
                    (Some(field), old, new),
                    "{kind}"
                );
            }
        }
    }
    assert_eq!(item.state, State::Triaged);
    assert!(item.requires_change_request && item.requires_communication);
    assert!(item.labels.is_empty());
}

#[test]
fn edits_are_allowed_in_every_state() {
    for s in State::ALL {
        let mut item = item_in(*s);
        let entries = item
            .apply(
                Action::Comment {
                    text: "discussed in the review".into(),
                },
                &alice(),
                hours(1),
            )
            .unwrap();
        assert_eq!(
            entries[0].reason.as_deref(),
            Some("discussed in the review")
        );
        item.apply(
            Action::SetPriority {
                priority: Priority::Critical,
            },
            &alice(),
            hours(1),
        )
        .unwrap();
        assert_eq!(item.state, *s);
    }
}

#[test]
fn invalid_values_are_refused_clearly() {
    let item = item_in(State::New);
    let cases = [
        (
            Action::Assign {
                owner: Some("al ice".into()),
            },
            "MC1: owner name `al ice` may hold only letters a-z, digits, `.`, `_` and `-`",
        ),
        (
            Action::Assign {
                owner: Some("system".into()),
            },
            "MC1: owner name `system` is reserved for automatic changes (reserved: rules, system)",
        ),
        (
            Action::AddLabel {
                label: "a,b".into(),
            },
            "MC1: label `a,b` may not hold commas or control characters",
        ),
        (
            Action::SetOverride {
                tenant: "contoso.eu".into(),
                applicable: Some(false),
                assignee: None,
                due: None,
                note: None,
            },
            "MC1: tenant name `contoso.eu` may hold only letters a-z, digits, `_` and `-`",
        ),
    ];
    for (action, msg) in cases {
        assert_eq!(
            transition(&item, action, &alice(), hours(1))
                .unwrap_err()
                .to_string(),
            msg
        );
    }
}

#[test]
fn overrides_log_per_field_in_the_tenant_scope() {
    let mut item = item_in(State::Triaged);
    let set = |applicable, assignee: Option<&str>, note: Option<&str>| Action::SetOverride {
        tenant: "Contoso".into(),
        applicable,
        assignee: assignee.map(String::from),
        due: None,
        note: note.map(String::from),
    };
    let entries = item
        .apply(
            set(Some(false), None, Some("rollout says not supported")),
            &alice(),
            hours(1),
        )
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .all(|e| e.scope == LogScope::Tenant("contoso".into()))
    );
    assert_eq!(entries[0].field.as_deref(), Some("applicable"));
    assert_eq!(entries[0].new.as_deref(), Some("false"));
    assert_eq!(entries[1].field.as_deref(), Some("note"));
    assert!(!item.applies_to("contoso"));
    // a second tenant is kept in order
    item.apply(
        Action::SetOverride {
            tenant: "adatum".into(),
            applicable: None,
            assignee: Some("carol".into()),
            due: None,
            note: None,
        },
        &alice(),
        hours(1),
    )
    .unwrap();
    let tenants: Vec<&str> = item.overrides.iter().map(|o| o.tenant.as_str()).collect();
    assert_eq!(tenants, vec!["adatum", "contoso"]);
    assert_eq!(item.assignee_for("adatum"), Some("carol"));
    // same values again: nothing
    let again = item
        .apply(
            set(Some(false), None, Some("rollout says not supported")),
            &alice(),
            hours(2),
        )
        .unwrap();
    assert!(again.is_empty());
    // all None: the override goes, each cleared field is logged
    let cleared = item
        .apply(set(None, None, None), &alice(), hours(3))
        .unwrap();
    assert_eq!(cleared.len(), 2);
    assert!(item.override_for("contoso").is_none());
    assert!(cleared.iter().all(|e| !e.visible_to(&["adatum"])));
    assert_eq!(item.overrides.len(), 1);
}

#[test]
fn acknowledge_clears_the_flag() {
    let mut item = item_in(State::Triaged);
    let e = transition(&item, Action::Acknowledge, &alice(), hours(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "MC1 has no changes since triage to acknowledge"
    );
    item.changed_since_triage = strings(&["act_by", "body"]);
    let entries = item.apply(Action::Acknowledge, &alice(), hours(1)).unwrap();
    assert!(item.changed_since_triage.is_empty());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, LogAction::Acknowledge);
    assert_eq!(entries[0].old.as_deref(), Some("act_by, body"));
}

#[test]
fn actions_have_a_tagged_json_form() {
    let a: Action =
        serde_json::from_str(r#"{"action":"close","decision":"change_request_raised"}"#).unwrap();
    assert_eq!(a, close(Decision::ChangeRequestRaised));
    let a: Action = serde_json::from_str(r#"{"action":"triage"}"#).unwrap();
    assert_eq!(a, Action::Triage);
    let a: Action =
        serde_json::from_str(r#"{"action":"set_override","tenant":"contoso","applicable":false}"#)
            .unwrap();
    assert_eq!(a.kind(), LogAction::SetOverride);
    assert!(serde_json::from_str::<Action>(r#"{"action":"close","decision":"fixed"}"#).is_err());
    let json = serde_json::to_value(Action::SetPriority {
        priority: Priority::Low,
    })
    .unwrap();
    assert_eq!(json["action"], "set_priority");
    assert_eq!(json["priority"], "low");
}

#[test]
fn tenants_can_stand_elsewhere_than_the_shared_state() {
    let item = item_in(State::Triaged);
    let tenants = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // done for fabrikam, in progress for tailspin, the rest triaged
    let t = transition_for_tenants(
        &item,
        close(Decision::Actioned),
        &tenants(&["Fabrikam"]),
        &alice(),
        hours(1),
    )
    .unwrap();
    assert!(t.skipped.is_empty());
    let item = t.transition.item;
    assert_eq!(item.state, State::Triaged);
    assert_eq!(item.state_for("fabrikam"), State::Done);
    assert_eq!(item.decision_for("fabrikam"), Some(Decision::Actioned));
    assert_eq!(item.state_for("contoso"), State::Triaged);
    assert!(
        t.transition
            .entries
            .iter()
            .all(|e| e.scope == LogScope::Tenant("fabrikam".into()))
    );
    let item = transition_for_tenants(
        &item,
        Action::Start,
        &tenants(&["tailspin"]),
        &alice(),
        hours(2),
    )
    .unwrap()
    .transition
    .item;
    assert_eq!(item.state_for("tailspin"), State::InProgress);
    let summary = item.tenant_summary(["fabrikam", "tailspin", "contoso", "adatum"]);
    assert_eq!(
        (summary.done, summary.in_progress, summary.triaged),
        (1, 1, 2)
    );
    assert_eq!(summary.describe(), "open for 3 · done for 1");
    assert!(summary.is_mixed());

    // closing for both: tailspin closes, fabrikam is closed already
    // (skipped, named); for fabrikam alone it is refused
    let both = transition_for_tenants(
        &item,
        close(Decision::Communicated),
        &tenants(&["fabrikam", "tailspin"]),
        &alice(),
        hours(3),
    )
    .unwrap();
    assert_eq!(both.skipped.len(), 1);
    assert_eq!(both.skipped[0].0, "fabrikam");
    let e = transition_for_tenants(
        &item,
        close(Decision::Communicated),
        &tenants(&["fabrikam"]),
        &alice(),
        hours(3),
    )
    .unwrap_err();
    assert!(e.to_string().contains("done"), "{e}");

    // the whole post concerns every tenant: refused per tenant
    let e = transition_for_tenants(
        &item,
        Action::SetPriority {
            priority: Priority::High,
        },
        &tenants(&["fabrikam"]),
        &alice(),
        hours(3),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "MC1: `set_priority` concerns the whole post, not some tenants"
    );

    // the shared close as actioned: fabrikam's own state equals it now, so
    // it follows the shared state again; tailspin keeps its own
    let item = transition(
        &both.transition.item,
        close(Decision::Actioned),
        &alice(),
        hours(4),
    )
    .unwrap()
    .item;
    let fab = item.override_for("fabrikam");
    assert!(fab.is_none(), "{fab:?}");
    assert_eq!(item.decision_for("tailspin"), Some(Decision::Communicated));
    // reopening the shared item reopens fabrikam with it, not tailspin
    let item = transition(
        &item,
        Action::Reopen {
            reason: "moved".into(),
        },
        &alice(),
        hours(5),
    )
    .unwrap()
    .item;
    assert_eq!(item.state_for("fabrikam"), State::Triaged);
    assert_eq!(item.state_for("tailspin"), State::Done);
    // a tenant's exception survives its override being set, and the
    // not-applicable ones count apart
    let item = transition(
        &item,
        Action::SetOverride {
            tenant: "tailspin".into(),
            applicable: None,
            assignee: None,
            due: None,
            note: Some("their own change board".into()),
        },
        &alice(),
        hours(6),
    )
    .unwrap()
    .item;
    assert_eq!(item.state_for("tailspin"), State::Done);
    let item = transition(
        &item,
        Action::SetOverride {
            tenant: "adatum".into(),
            applicable: Some(false),
            assignee: None,
            due: None,
            note: None,
        },
        &alice(),
        hours(6),
    )
    .unwrap()
    .item;
    assert!(!item.is_open_for("adatum"));
    let summary = item.tenant_summary(["fabrikam", "tailspin", "contoso", "adatum"]);
    assert_eq!(
        summary.describe(),
        "open for 2 · done for 1 · not applicable for 1"
    );
}

#[test]
fn a_tenant_assignee_or_due_date_equal_to_the_shared_one_is_not_kept() {
    let item = item_in(State::Triaged);
    let t = transition_for_tenants(
        &item,
        Action::Assign {
            owner: Some("bob".into()),
        },
        &["contoso".to_string()],
        &alice(),
        hours(1),
    )
    .unwrap();
    let item = t.transition.item;
    assert_eq!(item.assignee_for("contoso"), Some("bob"));
    assert_eq!(t.transition.entries[0].field.as_deref(), Some("assignee"));
    // the shared assignee becomes bob: contoso follows it from now on
    let item = transition(
        &item,
        Action::Assign {
            owner: Some("bob".into()),
        },
        &alice(),
        hours(2),
    )
    .unwrap()
    .item;
    assert!(item.overrides.is_empty());
}

#[test]
fn feedback_to_microsoft_is_logged_in_any_state_with_its_reference() {
    for state in [State::New, State::Triaged, State::Done, State::Dismissed] {
        let item = item_in(state);
        let t = transition(
            &item,
            Action::RecordFeedback {
                kind: FeedbackKind::SupportCase,
                reference: Some(" 2604150040001234 ".into()),
            },
            &alice(),
            hours(1),
        )
        .unwrap();
        assert_eq!(t.item.state, state, "feedback changes no state");
        assert_eq!(t.entries.len(), 1);
        let e = &t.entries[0];
        assert_eq!(e.action, LogAction::Feedback);
        assert_eq!(e.field.as_deref(), Some("feedback"));
        assert_eq!(e.new.as_deref(), Some("support_case"));
        assert_eq!(e.reason.as_deref(), Some("2604150040001234"));
    }
    // without a reference; a reference too long is refused
    let item = item_in(State::Triaged);
    let t = transition(
        &item,
        Action::RecordFeedback {
            kind: FeedbackKind::ThumbsDown,
            reference: None,
        },
        &alice(),
        hours(1),
    )
    .unwrap();
    assert_eq!(t.entries[0].reason, None);
    let e = transition(
        &item,
        Action::RecordFeedback {
            kind: FeedbackKind::FeedbackPortal,
            reference: Some("x".repeat(MAX_FEEDBACK_REFERENCE + 1)),
        },
        &alice(),
        hours(1),
    )
    .unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
    // the API's JSON
    let a: Action = serde_json::from_value(serde_json::json!({
        "action": "record_feedback", "kind": "account_team"
    }))
    .unwrap();
    assert_eq!(
        a,
        Action::RecordFeedback {
            kind: FeedbackKind::AccountTeam,
            reference: None
        }
    );
    assert!(!a.per_tenant(), "feedback is about the whole post");
}

#[test]
fn a_pilot_finding_is_logged_with_its_group_and_recommendation() {
    for state in [State::New, State::Triaged, State::Done] {
        let t = transition(
            &item_in(state),
            Action::RecordPilotFinding {
                pilot_group: " teams-early ".into(),
                recommendation: PilotRecommendation::AdoptWithChanges,
                text: Some(" Recaps need a retention label. ".into()),
            },
            &alice(),
            hours(1),
        )
        .unwrap();
        assert_eq!(t.item.state, state, "a finding changes no state");
        let e = &t.entries[0];
        assert_eq!(e.action, LogAction::PilotFinding);
        assert_eq!(e.field.as_deref(), Some("teams-early"));
        assert_eq!(e.new.as_deref(), Some("adopt_with_changes"));
        assert_eq!(e.reason.as_deref(), Some("Recaps need a retention label."));
    }
    let item = item_in(State::Triaged);
    for (group, text) in [
        ("", None),
        ("g", Some("x".repeat(MAX_PILOT_FINDING + 1))),
        (&*"g".repeat(200), None),
    ] {
        let e = transition(
            &item,
            Action::RecordPilotFinding {
                pilot_group: group.to_string(),
                recommendation: PilotRecommendation::Block,
                text,
            },
            &alice(),
            hours(1),
        );
        assert!(e.is_err(), "{group:?}");
    }
    // the API's JSON: `pilot_group`, since `group` names whom an action is for
    let a: Action = serde_json::from_value(serde_json::json!({
        "action": "record_pilot_finding", "pilot_group": "early", "recommendation": "delay"
    }))
    .unwrap();
    assert!(!a.per_tenant(), "a finding is about the whole post");
    assert_eq!(
        "Adopt_With_Changes".parse(),
        Ok(PilotRecommendation::AdoptWithChanges)
    );
}
