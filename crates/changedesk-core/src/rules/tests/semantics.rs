//! What expressions mean: every field, operator, null and list rule.

use crate::graph::RolloutStatus;

use super::super::words::{Phrase, phrase_words};
use super::super::{ActionSpec, Partial, PostEval, PostFacts, RuleSet, TenantFacts};
use super::{
    BODY, compile, content, holds, holds_with, now, outcome_of, spec, view, when_error,
    with_fixture,
};

fn table(cases: &[(&str, bool)]) {
    for (src, want) in cases {
        assert_eq!(holds(src), *want, "{src}");
    }
}

#[test]
fn every_post_field() {
    table(&[
        ("services has \"Microsoft Teams\"", true),
        ("services has \"Exchange Online\"", false),
        ("tags has \"User impact\"", true),
        ("roadmap_ids has \"468869\"", true),
        ("roadmap_ids has \"1\"", false),
        ("platforms has \"iOS\"", true),
        ("platforms has \"Linux\"", false),
        ("category == \"planForChange\"", true),
        ("severity == \"high\"", true),
        ("severity == \"critical\"", false),
        // the title without "(Updated) "
        (
            "title == \"Microsoft Teams: Custom meeting branding for town halls\"",
            true,
        ),
        ("body matches \"Conditional Access\"", true),
        ("id == \"MC1005517\"", true),
        ("major", true),
        ("not major", false),
        ("act_by == 2026-09-15", true),
        ("start == 2026-03-01", true),
        ("end == 2026-12-31", true),
        ("last_modified == 2026-08-20T10:30:00Z", true),
        ("now == 2026-08-22", true),
    ]);
}

#[test]
fn every_tenant_field() {
    table(&[
        ("tenant == \"contoso\"", true),
        ("tenant == \"fabrikam\"", false),
        ("tenant_group has \"pilot\"", true),
        ("tenant_group has \"us\"", false),
        ("rollout has \"inRollout\"", true),
        ("rollout has \"launched\"", false),
        ("is_new", false),
        ("is_updated", true),
        ("changed_fields has \"act_by\"", true),
        ("changed_fields has \"body\"", false),
    ]);
    assert!(holds_with("is_new and tenant == \"fabrikam\"", |t| {
        t.is_new = true;
        t.tenant = "Fabrikam";
    }));
    assert!(holds_with("rollout == []", |t| t.rollout = &[]));
}

#[test]
fn comparisons() {
    table(&[
        ("act_by < 2026-10-01", true),
        ("act_by <= 2026-09-15", true),
        ("act_by < 2026-09-15", false),
        ("act_by > 2026-09-14T23:59:59Z", true),
        ("act_by >= 2026-09-15", true),
        ("act_by != 2026-09-15", false),
        ("act_by != 2026-09-16", true),
        ("3 < 4", true),
        ("4 <= 4", true),
        ("5 > 4", true),
        ("4 >= 5", false),
        ("1 + 2 == 3", true),
        ("10 - 4 == 6", true),
        ("7d > 1w", false),
        ("7d >= 1w", true),
        ("1d12h == 36h", true),
        ("major == true", true),
        ("major != false", true),
    ]);
}

#[test]
fn strings_compare_ascii_case_insensitively() {
    table(&[
        ("category == \"PlanForChange\"", true),
        ("category == \"PLANFORCHANGE\"", true),
        ("category != \"planforchange\"", false),
        ("severity in [\"HIGH\", \"critical\"]", true),
        ("services has \"microsoft teams\"", true),
        ("tenant == \"CONTOSO\"", true),
        ("rollout has \"INROLLOUT\"", true),
        ("title matches \"CUSTOM MEETING\"", true),
        ("title matches /custom MEETING/", true),
    ]);
}

#[test]
fn list_semantics() {
    table(&[
        // == on a list: some element equals; != : no element equals
        ("services == \"SharePoint Online\"", true),
        ("services != \"SharePoint Online\"", false),
        ("services != \"Exchange Online\"", true),
        ("\"SharePoint Online\" == services", true),
        // list == list: same items in the same order
        (
            "services == [\"Microsoft Teams\", \"sharepoint online\"]",
            true,
        ),
        (
            "services == [\"SharePoint Online\", \"Microsoft Teams\"]",
            false,
        ),
        ("services != []", true),
        ("tenant_group == [\"pilot\", \"eu\"]", true),
        // has [..] = has any of
        (
            "services has [\"Exchange Online\", \"SharePoint Online\"]",
            true,
        ),
        ("services has [\"Exchange Online\", \"Windows\"]", false),
        ("services has []", false),
        // in
        ("\"Microsoft Teams\" in services", true),
        (
            "category in [\"planForChange\", \"preventOrFixIssue\"]",
            true,
        ),
        ("category in [\"stayInformed\"]", false),
        ("category in []", false),
        ("act_by in [2026-09-15, 2026-10-01]", true),
        ("3 in [1, 2, 3]", true),
        // matches on a list: any element
        ("services matches \"sharepoint\"", true),
        ("services matches \"point\"", false),
        ("tags matches /^admin/", true),
    ]);
    assert!(!holds_with("services == []", |_| {}));
    assert!(holds_with("changed_fields == []", |t| t.changed_fields = &[]));
    assert!(holds_with("changed_fields != \"title\"", |t| t
        .changed_fields =
        &[]));
}

#[test]
fn null_semantics() {
    let mut c = content();
    c.act_by = None;
    c.end = None;
    let v = view();
    let post = PostFacts::new(&c, &v, BODY);
    let rules_for = |when: &str| compile(&[spec("r", when, ActionSpec::default())]);
    let hold = |when: &str| {
        let rules = rules_for(when);
        let t = TenantFacts::default();
        let staged = rules.for_post(&post, now()).for_tenant(&t);
        assert_eq!(staged, rules.evaluate(&post, &t, now()), "{when}");
        !staged.matched.is_empty()
    };
    for (src, want) in [
        ("act_by == null", true),
        ("null == act_by", true),
        ("act_by != null", false),
        ("start != null", true),
        ("start == null", false),
        // any other comparison with null is false, including !=
        ("act_by < now", false),
        ("act_by >= now", false),
        ("act_by == 2026-09-15", false),
        ("act_by != 2026-09-15", false),
        ("act_by == end", false),
        ("act_by in [2026-09-15]", false),
        ("act_by - 7d < now", false),
        ("not (act_by < now)", true),
        // ?? picks the first non-null value
        ("(act_by ?? start) == 2026-03-01", true),
        ("act_by ?? end ?? start == 2026-03-01", true),
        ("act_by ?? end == null", true),
        ("(act_by ?? start) - 7d == 2026-02-22", true),
        // `??` is looser than `+`: the fallback is `now + 30d`
        ("act_by ?? now + 30d == 2026-09-21", true),
        ("start ?? now + 30d == 2026-03-01", true),
        ("null == null", true),
    ] {
        assert_eq!(hold(src), want, "{src}");
    }
}

#[test]
fn dates_and_durations() {
    table(&[
        // act_by is 2026-09-15, now is 2026-08-22: 24 days apart
        ("act_by - now == 24d", true),
        ("act_by - now < 30d", true),
        ("act_by < now + 30d", true),
        ("act_by < now + 3w", false),
        ("now + 24d == act_by", true),
        ("24d + now == act_by", true),
        ("act_by - 1d12h == 2026-09-13T12:00:00Z", true),
        ("now - last_modified < 2d", true),
        ("now - last_modified > 1d", true),
        ("start - now < 0s", true),
        ("last_modified > now - 7d", true),
        ("now - 1d - 1d == 2026-08-20", true),
        ("now - (2d - 1d) == 2026-08-21", true),
    ]);
}

#[test]
fn words_and_regexes() {
    table(&[
        ("title matches \"meeting branding\"", true),
        // whole words only
        ("title matches \"meet\"", false),
        ("title matches \"branding for town\"", true),
        ("title matches \"branding town\"", false),
        // punctuation and line breaks separate words
        ("body matches \"sign in\"", true),
        ("body matches \"sign-in again\"", true),
        ("body matches \"when this will happen\"", true),
        ("body matches \"prepare review your\"", true),
        ("body matches \"mid march 2026\"", true),
        ("body matches \"retirement\"", false),
        ("body matches /previously\\s+early\\s+march/", true),
        ("body matches /^\\[when/", false),
        ("body matches /(?m)^\\[when/", true),
        ("id matches /^MC\\d+$/", true),
        ("category matches \"plan\"", false),
        ("category matches /plan/", true),
    ]);
}

#[test]
fn word_matching_follows_tokens() {
    let text = "hello, wörld! a-b  c\nd2 e_f é";
    for (phrase, want) in [
        ("hello", true),
        ("hello world", false),
        ("hello wörld", true),
        ("a b c", true),
        ("b c d2", true),
        ("d", false),
        ("e f", true),
        ("é", true),
        ("ell", false),
        ("f é", true),
    ] {
        assert_eq!(
            Phrase::new(phrase).is_some_and(|p| p.is_in(text)),
            want,
            "{phrase}"
        );
    }
    assert_eq!(phrase_words("Sign-In  now!"), vec!["sign", "in", "now"]);
}

#[test]
fn boolean_connectives() {
    table(&[
        ("major and is_updated", true),
        ("major and is_new", false),
        ("is_new or major", true),
        ("is_new or not major", false),
        ("not (is_new or not major)", true),
        (
            "(major or is_new) and (tenant == \"contoso\" or false)",
            true,
        ),
        ("true and true and false", false),
        ("false or false or true", true),
    ]);
}

fn staged<'a>(rules: &'a RuleSet, post: &'a PostFacts<'a>) -> PostEval<'a> {
    rules.for_post(post, now())
}

#[test]
fn the_post_stage_decides_what_it_can() {
    let c = content();
    let v = view();
    let post = PostFacts::new(&c, &v, BODY);
    let rules = compile(&[
        spec(
            "post only",
            "services has \"Microsoft Teams\"",
            ActionSpec::default(),
        ),
        spec(
            "false post part",
            "severity == \"normal\" and tenant == \"x\"",
            ActionSpec::default(),
        ),
        spec(
            "true post part",
            "major and rollout has \"launched\"",
            ActionSpec::default(),
        ),
        spec("or decided", "major or is_new", ActionSpec::default()),
        spec("tenant only", "is_new", ActionSpec::default()),
        spec(
            "not residual",
            "not (major and tenant_group has \"pilot\")",
            ActionSpec::default(),
        ),
        disabled_rule(),
    ]);
    let p = staged(&rules, &post);
    let states: Vec<Partial> = (0..rules.len()).map(|i| p.partial(i)).collect();
    assert_eq!(
        states,
        vec![
            Partial::True,
            Partial::False,
            Partial::Residual,
            Partial::True,
            Partial::Residual,
            Partial::Residual,
            Partial::Skipped,
        ]
    );
    assert_eq!(p.live_rules(), 5);
    assert_eq!(p.residual_rules(), 3);
    let groups = vec!["pilot".to_string()];
    let launched = [RolloutStatus::Launched];
    let t = TenantFacts {
        tenant: "x",
        groups: &groups,
        rollout: &launched,
        ..Default::default()
    };
    assert_eq!(p.for_tenant(&t).matched, vec![0, 2, 3]);
    assert_eq!(p.for_tenant(&TenantFacts::default()).matched, vec![0, 3, 5]);
}

fn disabled_rule() -> super::super::RuleSpec {
    let mut s = spec("disabled", "major", ActionSpec::default());
    s.enabled = false;
    s
}

#[test]
fn compiled_rules_and_results_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RuleSet>();
    send_sync::<super::Outcome>();
    send_sync::<PostFacts<'static>>();
    send_sync::<PostEval<'static>>();
    send_sync::<super::super::Explanation>();
}

#[test]
fn rules_read_the_rollout_timeline_of_the_body() {
    let mut content = content();
    content.body_html = "<p>[When this will happen:]</p>\
        <p>Targeted Release: We will begin rolling out mid-September 2026 and expect to complete by late September 2026.</p>\
        <p>General Availability (GCC High): We will begin rolling out October 2026 and expect to complete by mid-November 2026.</p>"
        .into();
    let view = view();
    let post = PostFacts::new(&content, &view, "");
    let groups: Vec<String> = Vec::new();
    let tenant = TenantFacts {
        tenant: "contoso",
        groups: &groups,
        rollout: &[],
        is_new: true,
        is_updated: false,
        changed_fields: &[],
    };
    let holds = |when: &str| {
        let rules = compile(&[spec("r", when, ActionSpec::default())]);
        !outcome_of(&rules, &post, &tenant).matched.is_empty()
    };
    // now is 22 August 2026: the rollout starts on 11 September
    assert!(holds("rollout_start - now < 30d"));
    assert!(holds("rollout_start == 2026-09-11"));
    assert!(holds("rollout_end == 2026-11-20"));
    assert!(holds(
        r#"rings has "targeted_release" and clouds has "gcc_high""#
    ));
    assert!(!holds(r#"rings has "retirement""#));
    // without dates in the body: null, and nothing is compared
    assert!(!with_fixture(
        |_| {},
        |post, tenant| {
            let rules = compile(&[spec(
                "r",
                "rollout_start < now + 1000d",
                ActionSpec::default(),
            )]);
            !outcome_of(&rules, post, tenant).matched.is_empty()
        }
    ));
    // a ring that is not one is a compile error
    assert!(when_error(r#"rings has "gneral_availability""#).contains("general_availability"));
}
