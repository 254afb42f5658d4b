//! What a new revision does, per field kind and state.

use super::*;
use crate::graph::{Category, MessageContent, Severity};

const WATCHED: &[&str] = &["start", "end", "act_by", "timeline", "category"];
const UNWATCHED: &[&str] = &[
    "title",
    "severity",
    "services",
    "tags",
    "major",
    "has_attachments",
    "body",
];

/// `(flagged, reopened, notify, state after)`
type Want = (bool, bool, bool, State);

fn run(item: &mut WorkItem, fields: &[&str], policy: &ReopenPolicy) -> RevisionEffect {
    on_revision(item, &strings(fields), policy, days(1))
}

fn check(start: State, fields: &[&str], policy: &ReopenPolicy, want: Want) {
    let mut item = item_in(start);
    let before = item.clone();
    let eff = run(&mut item, fields, policy);
    let label = format!("{start} {fields:?} enabled={}", policy.enabled);
    assert_eq!(
        (
            eff.flagged,
            eff.reopened,
            eff.notify_owner.is_some(),
            item.state
        ),
        want,
        "{label}"
    );
    if eff.flagged {
        let kept: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| *f != "last_modified")
            .collect();
        assert_eq!(item.changed_since_triage, strings(&kept), "{label}");
        assert_eq!(eff.entries[0].action, LogAction::Revised, "{label}");
        assert_eq!(eff.entries[0].actor, Actor::System, "{label}");
    } else {
        assert_eq!(item, before, "{label}");
        assert!(eff.entries.is_empty(), "{label}");
    }
    if eff.reopened {
        assert_eq!(item.reopened_count, before.reopened_count + 1, "{label}");
        let reopen = eff
            .entries
            .iter()
            .find(|e| e.action == LogAction::Reopen)
            .expect("a reopen entry");
        assert_eq!(reopen.actor, Actor::System);
        assert!(
            reopen
                .reason
                .as_deref()
                .unwrap_or("")
                .starts_with("the post changed: ")
        );
    }
}

#[test]
fn every_field_kind_in_every_state() {
    let on = ReopenPolicy::default();
    let off = ReopenPolicy {
        enabled: false,
        ..ReopenPolicy::default()
    };
    for f in WATCHED {
        let f = &[*f][..];
        check(State::New, f, &on, (false, false, false, State::New));
        check(State::Triaged, f, &on, (true, false, true, State::Triaged));
        check(
            State::InProgress,
            f,
            &on,
            (true, false, true, State::InProgress),
        );
        // item_in(Done) was triaged, item_in(Dismissed) was not
        check(State::Done, f, &on, (true, true, true, State::Triaged));
        check(State::Dismissed, f, &on, (true, true, true, State::New));
        // disabled: flagged, stays closed, nobody to notify
        check(State::Done, f, &off, (true, false, false, State::Done));
        check(
            State::Dismissed,
            f,
            &off,
            (true, false, false, State::Dismissed),
        );
        // open items still notify: `enabled` is about reopening only
        check(State::Triaged, f, &off, (true, false, true, State::Triaged));
    }
    for f in UNWATCHED {
        let f = &[*f][..];
        check(State::New, f, &on, (false, false, false, State::New));
        check(State::Triaged, f, &on, (true, false, false, State::Triaged));
        check(
            State::InProgress,
            f,
            &on,
            (true, false, false, State::InProgress),
        );
        check(State::Done, f, &on, (true, false, false, State::Done));
        check(
            State::Dismissed,
            f,
            &on,
            (true, false, false, State::Dismissed),
        );
    }
    for s in State::ALL {
        check(*s, &["last_modified"], &on, (false, false, false, *s));
        check(*s, &[], &on, (false, false, false, *s));
    }
    // mixed: the watched field decides
    check(
        State::Done,
        &["title", "last_modified", "act_by"],
        &on,
        (true, true, true, State::Triaged),
    );
}

#[test]
fn the_notify_intent_names_the_watched_fields_and_the_assignee() {
    let mut item = item_in(State::Done);
    item.assignee = Some("alice".into());
    let eff = run(
        &mut item,
        &["title", "act_by", "start"],
        &ReopenPolicy::default(),
    );
    let n = eff.notify_owner.unwrap();
    assert_eq!(n.message_id, "MC1");
    assert_eq!(n.assignee.as_deref(), Some("alice"));
    assert_eq!(n.fields, strings(&["act_by", "start"]));
    assert!(n.reopened);
    let reasons: Vec<&str> = eff
        .entries
        .iter()
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "the post changed: title, act_by, start",
            "the post changed: act_by, start"
        ]
    );
    assert_eq!(item.decision, None);
}

#[test]
fn revisions_accumulate_until_acknowledged() {
    let mut item = item_in(State::InProgress);
    let policy = ReopenPolicy::default();
    run(&mut item, &["title", "body"], &policy);
    let eff = run(&mut item, &["body", "end", "end"], &policy);
    assert_eq!(
        item.changed_since_triage,
        strings(&["title", "body", "end"])
    );
    assert_eq!(eff.entries[0].old.as_deref(), Some("title, body"));
    assert_eq!(eff.entries[0].new.as_deref(), Some("title, body, end"));
    item.apply(Action::Acknowledge, &alice(), days(2)).unwrap();
    assert!(!item.is_flagged());
    let eff = run(&mut item, &["tags"], &policy);
    assert_eq!(eff.entries[0].old, None);
    assert_eq!(item.changed_since_triage, strings(&["tags"]));
}

#[test]
fn a_custom_policy_watches_other_fields() {
    let policy = ReopenPolicy {
        enabled: true,
        reopen_on: strings(&["severity"]),
    };
    check(
        State::Done,
        &["act_by"],
        &policy,
        (true, false, false, State::Done),
    );
    check(
        State::Done,
        &["severity"],
        &policy,
        (true, true, true, State::Triaged),
    );
    assert!(policy.validate().is_ok());
    let bad = ReopenPolicy {
        enabled: true,
        reopen_on: strings(&["act_by", "actby"]),
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.starts_with(
            "reopen_on[1]: unknown field `actby` (expected one of: title, start, end, act_by,"
        ),
        "{e}"
    );
}

#[test]
fn the_policy_has_defaults_in_serde() {
    let p: ReopenPolicy = serde_json::from_str("{}").unwrap();
    assert_eq!(p, ReopenPolicy::default());
    assert!(p.enabled);
    assert_eq!(
        p.reopen_on,
        strings(&["start", "end", "act_by", "timeline", "category"])
    );
    let p: ReopenPolicy = serde_json::from_str(r#"{"enabled":false}"#).unwrap();
    assert!(!p.enabled);
}

fn content() -> MessageContent {
    MessageContent {
        id: "MC1".into(),
        title: "Teams: thing".into(),
        category: Category::PlanForChange,
        severity: Severity::Normal,
        services: strings(&["Microsoft Teams"]),
        tags: strings(&["User impact"]),
        is_major: false,
        start: Some(at("2025-01-01T00:00:00Z")),
        end: Some(at("2025-06-01T00:00:00Z")),
        act_by: None,
        last_modified: Some(at("2025-01-01T00:00:00Z")),
        body_html: "<p>one</p>".into(),
        has_attachments: false,
    }
}

#[test]
fn message_fields_are_the_names_diff_produces() {
    let a = content();
    let b = MessageContent {
        title: "Teams: other".into(),
        category: Category::StayInformed,
        severity: Severity::High,
        services: strings(&["Exchange Online"]),
        tags: strings(&["Admin impact"]),
        is_major: true,
        start: Some(at("2025-02-01T00:00:00Z")),
        end: Some(at("2025-07-01T00:00:00Z")),
        act_by: Some(at("2025-03-01T00:00:00Z")),
        last_modified: Some(at("2025-02-01T00:00:00Z")),
        // a dated rollout where there was none: the timeline moves too
        body_html: "<p>Targeted Release: We will begin rolling out in May 2025.</p>".into(),
        has_attachments: true,
        ..content()
    };
    let mut produced: Vec<String> = crate::diff::message_changes(&a, &b)
        .into_iter()
        .map(|c| c.field)
        .collect();
    produced.sort();
    let mut known = strings(MESSAGE_FIELDS);
    known.sort();
    assert_eq!(produced, known);
    // and a real revision flags a triaged item with them
    let mut item = item_in(State::Done);
    let changed: Vec<String> = crate::diff::message_changes(&a, &b)
        .into_iter()
        .map(|c| c.field)
        .collect();
    let eff = on_revision(&mut item, &changed, &ReopenPolicy::default(), days(1));
    assert!(eff.reopened);
    assert!(
        !item
            .changed_since_triage
            .contains(&"last_modified".to_string())
    );
}

#[test]
fn a_tenants_own_decision_reopens_when_the_dates_move() {
    let item = item_in(State::Triaged);
    let t = transition_for_tenants(
        &item,
        Action::Close {
            decision: Decision::Actioned,
            reason: None,
        },
        &["contoso".to_string()],
        &alice(),
        hours(1),
    )
    .unwrap();
    let mut item = t.transition.item;
    assert_eq!(item.state_for("contoso"), State::Done);
    // a field nobody watches: flagged, contoso stays done
    let mut quiet = item.clone();
    let e = on_revision(
        &mut quiet,
        &["title".into()],
        &ReopenPolicy::default(),
        hours(2),
    );
    assert!(!e.reopened);
    assert_eq!(quiet.state_for("contoso"), State::Done);
    // the act-by date moved: contoso's decision is reopened, in its scope
    let e = on_revision(
        &mut item,
        &["act_by".into()],
        &ReopenPolicy::default(),
        hours(2),
    );
    assert!(e.reopened);
    assert_eq!(item.state_for("contoso"), State::Triaged);
    assert!(
        item.overrides.is_empty(),
        "contoso follows the shared state again"
    );
    assert!(
        e.entries
            .iter()
            .any(|x| x.scope == LogScope::Tenant("contoso".into()) && x.action == LogAction::Reopen)
    );
}
