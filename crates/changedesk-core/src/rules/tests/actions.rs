//! Actions, how rules combine, rule files and explanations.

use std::collections::BTreeSet;

use super::super::{
    ActionSpec, CompileProblem, OwnerTarget, Priority, RulePart, RuleSet, RuleStatus, RulesError,
};
use super::{compile, outcome_of, spec, ts, with_fixture};

fn outcome(rules: &RuleSet) -> super::Outcome {
    with_fixture(|_| {}, |post, tenant| outcome_of(rules, post, tenant))
}

fn from_toml(text: &str) -> RuleSet {
    RuleSet::from_toml(text).unwrap_or_else(|e| panic!("{e}"))
}

const EXAMPLE: &str = r#"
[[rules]]
name = "Teams changes to collaboration"
when = 'services has "Microsoft Teams" and category != "stayInformed"'
[rules.then]
owner = "collaboration"
priority = "high"
due = "act_by - 7d"
labels = ["teams"]
change_request = true
notify = ["owner", "security-team"]

[[rules]]
name = "Everything else to the workload owner"
when = "true"
[rules.then]
owner = "workload"
priority = "Low"
due = "now + 30d"
labels = ["triage", "teams"]
communication = true
notify = ["owner"]
"#;

#[test]
fn every_action_from_toml() {
    let rules = from_toml(EXAMPLE);
    let o = outcome(&rules);
    assert_eq!(o.owner, Some(OwnerTarget::Named("collaboration".into())));
    assert_eq!(o.priority, Some(Priority::High));
    assert_eq!(o.due, Some(ts("2026-09-08")));
    assert_eq!(o.labels, BTreeSet::from(["teams".into(), "triage".into()]));
    assert!(o.change_request);
    assert!(o.communication);
    assert_eq!(o.notify, vec!["owner", "security-team"]);
    assert_eq!(o.dismiss, None);
    assert_eq!(o.matched, vec![0, 1]);
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["owner"], serde_json::json!({"named": "collaboration"}));
    assert_eq!(json["priority"], "high");
    assert_eq!(json["due"], "2026-09-08T00:00:00.000000Z");
    let back: super::Outcome = serde_json::from_value(json).unwrap();
    assert_eq!(back, o);
}

#[test]
fn first_rule_setting_a_single_valued_action_wins() {
    let rules = compile(&[
        spec(
            "no owner",
            "major",
            ActionSpec {
                labels: vec!["a".into()],
                ..Default::default()
            },
        ),
        spec(
            "first due",
            "major",
            ActionSpec {
                due: Some("act_by ?? end".into()),
                ..Default::default()
            },
        ),
        spec(
            "workload",
            "major",
            ActionSpec {
                due: Some("end".into()),
                owner: Some("Workload".into()),
                ..Default::default()
            },
        ),
        spec(
            "later",
            "major",
            ActionSpec {
                owner: Some("identity".into()),
                priority: Some(Priority::Critical),
                due: Some("now".into()),
                dismiss: Some("Not used here".into()),
                ..Default::default()
            },
        ),
        spec(
            "latest",
            "true",
            ActionSpec {
                dismiss: Some("second reason".into()),
                priority: Some(Priority::Low),
                ..Default::default()
            },
        ),
    ]);
    let o = outcome(&rules);
    assert_eq!(o.owner, Some(OwnerTarget::Workload));
    assert_eq!(o.priority, Some(Priority::Critical));
    // rule 1's act_by, not rule 2's end or rule 3's now
    assert_eq!(o.due, Some(ts("2026-09-15")));
    assert_eq!(o.dismiss.as_deref(), Some("Not used here"));
    assert_eq!(o.matched, vec![0, 1, 2, 3, 4]);
}

#[test]
fn a_due_that_is_null_sets_nothing() {
    let rules = from_toml(
        r#"
        [[rules]]
        name = "act by"
        when = "major"
        then = { due = "act_by - 7d" }
        [[rules]]
        name = "fallback"
        when = "major"
        then = { due = "now + 30d" }
        "#,
    );
    let o = with_fixture(
        |_| {},
        |post, tenant| {
            let mut c = post.content().clone();
            c.act_by = None;
            let v = super::view();
            let p = super::super::PostFacts::new(&c, &v, post.body());
            outcome_of(&rules, &p, tenant)
        },
    );
    assert_eq!(o.due, Some(ts("2026-09-21")));
    assert_eq!(o.matched, vec![0, 1]);
}

#[test]
fn stop_ends_the_evaluation() {
    let rules = from_toml(
        r#"
        [[rules]]
        name = "noise"
        when = 'tenant_group has "pilot"'
        then = { dismiss = "pilot tenants see everything", stop = true }
        [[rules]]
        name = "after"
        when = "true"
        then = { labels = ["after"] }
        "#,
    );
    let o = outcome(&rules);
    assert_eq!(o.matched, vec![0]);
    assert!(o.labels.is_empty());
    // a tenant outside the group goes on to rule 2
    let o = with_fixture(|t| t.groups = &[], |p, t| outcome_of(&rules, p, t));
    assert_eq!(o.matched, vec![1]);
    assert_eq!(o.dismiss, None);
    // explain marks the rule after a stop as not reached
    let e = with_fixture(|_| {}, |p, t| rules.explain(p, t, super::now()));
    assert_eq!(e.rules[1].status, RuleStatus::NotReached);
    assert!(e.rules[1].terms[0].value);
}

#[test]
fn disabled_rules_are_checked_but_never_apply() {
    let rules = from_toml(
        "[[rules]]\nname = \"off\"\nwhen = \"true\"\nenabled = false\nthen = { labels = [\"x\"] }",
    );
    assert!(outcome(&rules).matched.is_empty());
    let e = RuleSet::from_toml("[[rules]]\nname = \"off\"\nwhen = \"nope\"\nenabled = false")
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("rule \"off\": when: column 1: unknown field \"nope\""),
        "{e}"
    );
}

#[test]
fn rule_file_errors_are_clear() {
    let cases = [
        (
            "[[rules]]\nname = \"a\"\nwhen = \"true\"\n[rules.then]\nowner = \"x\"\nassign = \"y\"\n",
            "unknown field `assign`",
        ),
        (
            "[[rules]]\nname = \"a\"\nwhen = \"true\"\ncolour = 1\n",
            "unknown field `colour`",
        ),
        (
            "[[rules]]\nname = \"a\"\nwhen = \"true\"\nthen = { priority = \"urgent\" }\n",
            "unknown priority `urgent` (expected one of: low, normal, high, critical)",
        ),
        ("[[rules]]\nname = \"a\"\n", "missing field `when`"),
        ("[[rule]]\nname = \"a\"\n", "unknown field `rule`"),
        ("[[rules]]\nname = \"a\"\nwhen = 3\n", "invalid type"),
    ];
    for (text, want) in cases {
        let e = RuleSet::from_toml(text).unwrap_err();
        assert!(matches!(e, RulesError::File(_)), "{e}");
        let s = e.to_string();
        assert!(s.contains(want), "{s}");
        assert!(s.contains("line"), "no line number in {s}");
    }
}

#[test]
fn compile_problems_name_the_rule() {
    let text = r#"
        [[rules]]
        name = "Teams"
        when = "major"
        [[rules]]
        name = " teams "
        when = "major"
        [[rules]]
        name = ""
        when = "major"
        then = { due = "act_by - 7x", labels = [""], owner = " ", dismiss = "", notify = [""] }
    "#;
    let Err(RulesError::Compile(errors)) = RuleSet::from_toml(text) else {
        panic!("should not compile")
    };
    let parts: Vec<(usize, RulePart)> = errors.errors().iter().map(|e| (e.index, e.part)).collect();
    assert_eq!(
        parts,
        vec![
            (1, RulePart::Name),
            (2, RulePart::Name),
            (2, RulePart::Due),
            (2, RulePart::Owner),
            (2, RulePart::Labels),
            (2, RulePart::Dismiss),
            (2, RulePart::Notify),
        ]
    );
    let shown: Vec<String> = errors.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        shown[0],
        "rule \" teams \": name: rule 1 already has this name (names must be unique)"
    );
    assert_eq!(shown[1], "rule 3: name: a rule needs a name");
    assert!(shown[2].starts_with("rule 3: due: column 10: \"7x\" is not a duration"));
    assert!(matches!(
        errors.errors()[2].problem,
        CompileProblem::Expr(_)
    ));
}

#[test]
fn explanation_shows_terms_fields_and_overrides() {
    let rules = from_toml(&format!(
        "{EXAMPLE}\n[[rules]]\nname = \"Off\"\nwhen = \"true\"\nenabled = false\n\
         [[rules]]\nname = \"Pilot\"\nwhen = 'is_new or tenant_group has \"pilot\"'\n\
         then = {{ priority = \"normal\", labels = [\"pilot\"] }}\n"
    ));
    let e = with_fixture(|_| {}, |p, t| rules.explain(p, t, super::now()));
    assert_eq!(e.post, "MC1005517");
    assert_eq!(e.tenant, "contoso");
    let r0 = &e.rules[0];
    assert_eq!(r0.status, RuleStatus::Matched);
    assert_eq!(r0.terms.len(), 2);
    assert_eq!(r0.terms[0].text, "services has \"Microsoft Teams\"");
    assert!(r0.terms[0].value);
    assert_eq!(r0.terms[0].fields[0].field, "services");
    assert_eq!(
        r0.terms[0].fields[0].value,
        "[\"Microsoft Teams\", \"SharePoint Online\"]"
    );
    assert_eq!(r0.terms[1].fields[0].value, "\"planForChange\"");
    let due = r0.due.as_ref().unwrap();
    assert_eq!(due.expr, "act_by - 7d");
    assert_eq!(due.value, Some(ts("2026-09-08")));
    assert_eq!(due.fields[0].value, "2026-09-15");
    let applied: Vec<&str> = r0.applied.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        applied,
        vec![
            "owner",
            "priority",
            "due",
            "labels",
            "change_request",
            "notify",
            "notify"
        ]
    );
    let r1 = &e.rules[1];
    let overridden: Vec<(&str, &str)> = r1
        .overridden
        .iter()
        .map(|a| (a.action.as_str(), a.kept_from.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        overridden,
        vec![
            ("owner", "Teams changes to collaboration"),
            ("priority", "Teams changes to collaboration"),
            ("due", "Teams changes to collaboration"),
        ]
    );
    assert_eq!(e.rules[2].status, RuleStatus::Disabled);
    let r3 = &e.rules[3];
    assert_eq!(r3.terms[0].text, "is_new");
    assert!(!r3.terms[0].value);
    assert!(r3.terms[1].value);
    assert_eq!(r3.terms[1].fields[0].value, "[\"pilot\", \"EU\"]");

    let text = e.to_string();
    for want in [
        "Rules for MC1005517 in tenant contoso at 2026-08-22 00:00 UTC",
        "1. \"Teams changes to collaboration\": matched",
        "services has \"Microsoft Teams\" → true   (services = [\"Microsoft Teams\", \"SharePoint Online\"])",
        "and category != \"stayInformed\" → true   (category = \"planForChange\")",
        "due act_by - 7d → 2026-09-08   (act_by = 2026-09-15)",
        "overridden: owner = workload (kept from \"Teams changes to collaboration\")",
        "3. \"Off\": disabled",
        " or tenant_group has \"pilot\" → true",
        "Outcome: owner collaboration; priority high; due 2026-09-08; labels pilot, teams, triage",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["rules"][0]["status"], "matched");
    assert_eq!(json["rules"][0]["connective"], "and");
}

#[test]
fn long_values_are_shortened_in_explanations() {
    let rules = compile(&[spec(
        "b",
        "body matches \"branding\"",
        ActionSpec::default(),
    )]);
    let e = with_fixture(|_| {}, |p, t| rules.explain(p, t, super::now()));
    let v = &e.rules[0].terms[0].fields[0].value;
    assert!(v.ends_with("…\""), "{v}");
    assert!(v.chars().count() < 90);
}
