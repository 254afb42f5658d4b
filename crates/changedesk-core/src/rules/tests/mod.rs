//! Tests of the rules engine: syntax and errors, semantics of every
//! operator and field, actions and their combination, explanations, and
//! property tests.

mod actions;
mod docs;
mod props;
mod semantics;
mod syntax;

use crate::graph::{Category, Detail, MessageContent, RolloutStatus, Severity, TenantView};
use crate::timestamp::Timestamp;

use super::{ActionSpec, CompileProblem, Outcome, PostFacts, RuleSet, RuleSpec, TenantFacts};

pub(super) fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("test timestamp")
}

/// The evaluation time of the fixture.
pub(super) fn now() -> Timestamp {
    ts("2026-08-22T00:00:00Z")
}

/// A realistic post.
pub(super) fn content() -> MessageContent {
    MessageContent {
        id: "MC1005517".into(),
        title: "(Updated) Microsoft Teams: Custom meeting branding for town halls".into(),
        category: Category::PlanForChange,
        severity: Severity::High,
        services: vec!["Microsoft Teams".into(), "SharePoint Online".into()],
        tags: vec![
            "Updated message".into(),
            "User impact".into(),
            "Admin impact".into(),
        ],
        is_major: true,
        start: Some(ts("2026-03-01T00:00:00Z")),
        end: Some(ts("2026-12-31T00:00:00Z")),
        act_by: Some(ts("2026-09-15T00:00:00Z")),
        last_modified: Some(ts("2026-08-20T10:30:00Z")),
        body_html: String::new(),
        has_attachments: false,
    }
}

pub(super) fn view() -> TenantView {
    TenantView {
        details: vec![
            Detail {
                name: "RoadmapIds".into(),
                value: "468868,468869".into(),
            },
            Detail {
                name: "Platforms".into(),
                value: "Android, Desktop, iOS, Mac, Web".into(),
            },
        ],
    }
}

pub(super) const BODY: &str = "Updated August 14, 2026: We moved the rollout later.\n\
    [When this will happen:]\nGeneral Availability: rollout begins mid-March 2026 (previously early March).\n\
    [How this will affect your organization:]\nOrganizers can apply custom meeting branding to town halls. \
    Users must sign-in again after the update; Conditional Access policies apply.\n\
    [What you need to do to prepare:]\nReview your branding policy in the Teams admin center.";

pub(super) const GROUPS: &[&str] = &["pilot", "EU"];

/// Runs `f` with the fixture's facts.
pub(super) fn with_fixture<R>(
    tenant_patch: impl FnOnce(&mut TenantFacts<'_>),
    f: impl FnOnce(&PostFacts<'_>, &TenantFacts<'_>) -> R,
) -> R {
    let content = content();
    let view = view();
    let post = PostFacts::new(&content, &view, BODY);
    let groups: Vec<String> = GROUPS.iter().map(|s| s.to_string()).collect();
    let rollout = [RolloutStatus::InRollout, RolloutStatus::NotSupported];
    let changed = vec!["title".to_string(), "act_by".to_string()];
    let mut tenant = TenantFacts {
        tenant: "contoso",
        groups: &groups,
        rollout: &rollout,
        is_new: false,
        is_updated: true,
        changed_fields: &changed,
    };
    tenant_patch(&mut tenant);
    f(&post, &tenant)
}

pub(super) fn spec(name: &str, when: &str, then: ActionSpec) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        when: when.into(),
        then,
        enabled: true,
    }
}

/// Compiles `rules` or fails the test with the errors.
pub(super) fn compile(rules: &[RuleSpec]) -> RuleSet {
    RuleSet::compile(rules).unwrap_or_else(|e| panic!("does not compile:\n{e}"))
}

/// The outcome for the given facts, checking that the two-stage, direct and
/// explained evaluations agree.
pub(super) fn outcome_of(
    rules: &RuleSet,
    post: &PostFacts<'_>,
    tenant: &TenantFacts<'_>,
) -> Outcome {
    let staged = rules.for_post(post, now()).for_tenant(tenant);
    let direct = rules.evaluate(post, tenant, now());
    assert_eq!(staged, direct, "two-stage and direct evaluation differ");
    let explained = rules.explain(post, tenant, now());
    assert_eq!(explained.outcome, direct, "explanation disagrees");
    direct
}

/// Whether condition `when` holds for the fixture, with the tenant changed
/// by `patch`.
pub(super) fn holds_with(when: &str, patch: impl FnOnce(&mut TenantFacts<'_>)) -> bool {
    let rules = compile(&[spec("r", when, ActionSpec::default())]);
    with_fixture(patch, |post, tenant| {
        !outcome_of(&rules, post, tenant).matched.is_empty()
    })
}

/// Whether condition `when` holds for the fixture.
pub(super) fn holds(when: &str) -> bool {
    holds_with(when, |_| {})
}

/// The first line of the error compiling `when`: `column N: message`.
pub(super) fn when_error(when: &str) -> String {
    match RuleSet::compile(&[spec("r", when, ActionSpec::default())]) {
        Ok(_) => panic!("{when:?} should not compile"),
        Err(e) => match &e.errors()[0].problem {
            CompileProblem::Expr(x) => format!("{}: {}", x.location(), x.message),
            CompileProblem::Message(m) => m.clone(),
        },
    }
}
