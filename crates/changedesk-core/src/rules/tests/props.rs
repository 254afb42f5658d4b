//! Property tests: the parser never panics, printed trees parse back to the
//! same tree, and the two-stage evaluation always equals the direct one.

use proptest::prelude::*;
use time::OffsetDateTime;

use crate::graph::{Category, Detail, MessageContent, RolloutStatus, Severity, TenantView};
use crate::timestamp::Timestamp;

use super::super::ast::{BinOp, Expr, ExprKind, Literal};
use super::super::check::{Ty, compile_expr, compile_general};
use super::super::error::Pos;
use super::super::eval::{Env, eval, truthy};
use super::super::lexer::KEYWORDS;
use super::super::words::{Phrase, phrase_words};
use super::super::{ActionSpec, PostFacts, Priority, RuleSet, RuleSpec, TenantFacts, parse};
use super::{now, with_fixture};

// ---------------------------------------------------------------- no panic

const SOUP: &[&str] = &[
    "services",
    "tags",
    "title",
    "body",
    "act_by",
    "now",
    "tenant",
    "rollout",
    "major",
    "is_new",
    "category",
    "nope",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "??",
    "and",
    "or",
    "not",
    "in",
    "has",
    "matches",
    "(",
    ")",
    "[",
    "]",
    ",",
    "\"x\"",
    "'Teams'",
    "\"planForChange\"",
    "7d",
    "1d12h",
    "2026-01-01",
    "2026-01-01T10:00:00Z",
    "3",
    "0",
    "null",
    "true",
    "false",
    "/a+/",
    "/(/",
    "\"",
    "/",
    "\\",
    "=",
    "!",
    "&&",
    "é",
    "\n",
    "99999999999999999999",
    "2026-13-45",
    "30x",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SOUP), 0..24).prop_map(|v| v.join(" "))
}

fn check_no_panic(src: &str) {
    let _ = parse(src);
    let rule = RuleSpec {
        name: "r".into(),
        when: src.into(),
        then: ActionSpec {
            due: Some(src.into()),
            ..Default::default()
        },
        enabled: true,
    };
    let _ = RuleSet::compile(std::slice::from_ref(&rule));
    // when it compiles as a condition, it evaluates, the same both ways
    let plain = RuleSpec {
        then: ActionSpec::default(),
        ..rule
    };
    if let Ok(rules) = RuleSet::compile(&[plain]) {
        with_fixture(|_| {}, |p, t| super::outcome_of(&rules, p, t));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_and_compiler_never_panic_on_any_string(s in "\\PC{0,60}") {
        check_no_panic(&s);
    }

    #[test]
    fn parser_and_compiler_never_panic_on_token_soup(s in soup()) {
        check_no_panic(&s);
    }
}

// --------------------------------------------------------------- round trip

fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["services", "act_by", "now", "tenant_group", "x"])
            .prop_map(String::from),
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
    ]
    .prop_filter("keywords are not identifiers", |s| {
        !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
    })
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (
        0i64..253_402_300_799,
        prop_oneof![Just(0i64), 0i64..999_999],
        any::<bool>(),
    )
        .prop_map(|(secs, micros, midnight)| {
            let secs = if midnight {
                secs - secs.rem_euclid(86_400)
            } else {
                secs
            };
            let dt = OffsetDateTime::from_unix_timestamp(secs)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                + time::Duration::microseconds(if midnight { 0 } else { micros });
            Timestamp::from_datetime(dt)
        })
}

fn regex_source() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "b", ".", "*", "+", "?", "|", "(", ")", "\\/", "\\d", "\\\\", " ",
        ]),
        0..6,
    )
    .prop_map(|v| v.concat())
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "\\PC{0,8}".prop_map(Literal::Str),
        "[\"'\\\\\n\t\r a-z]{0,6}".prop_map(Literal::Str),
        (0i64..=i64::MAX).prop_map(Literal::Int),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
        (0i64..2_000_000_000).prop_map(|s| Literal::Duration(time::Duration::seconds(s))),
        timestamp().prop_map(Literal::Date),
        regex_source().prop_map(Literal::Regex),
    ]
}

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Pos::START)
}

fn any_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(|l| node(ExprKind::Lit(l))),
        ident().prop_map(|i| node(ExprKind::Field(i))),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        let ops = prop::sample::select(vec![
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::In,
            BinOp::Has,
            BinOp::Matches,
            BinOp::Add,
            BinOp::Sub,
            BinOp::Coalesce,
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| node(ExprKind::List(v))),
            inner.clone().prop_map(|e| node(ExprKind::Not(Box::new(e)))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| node(ExprKind::And(v))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| node(ExprKind::Or(v))),
            (ops, inner.clone(), inner).prop_map(|(op, l, r)| node(ExprKind::Binary(
                op,
                Box::new(l),
                Box::new(r)
            ))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn printed_trees_parse_back_the_same(e in any_expr()) {
        let text = e.to_string();
        let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{text:?}: {err}")))?;
        prop_assert_eq!(&back, &e, "printed as {:?}", text);
        prop_assert_eq!(back.to_string(), text);
    }
}

// ------------------------------------------------------ two-stage evaluation

const STRINGS: &[&str] = &[
    "Microsoft Teams",
    "SharePoint Online",
    "Exchange Online",
    "planForChange",
    "stayInformed",
    "high",
    "normal",
    "pilot",
    "EU",
    "contoso",
    "fabrikam",
    "inRollout",
    "launched",
    "title",
    "act_by",
    "User impact",
    "MC1",
    "Web",
    "iOS",
    "468868",
];
const STR_FIELDS: &[&str] = &["category", "severity", "title", "id", "tenant", "body"];
const LIST_FIELDS: &[&str] = &[
    "services",
    "tags",
    "roadmap_ids",
    "platforms",
    "tenant_group",
    "rollout",
    "changed_fields",
];
const DATE_FIELDS: &[&str] = &["act_by", "start", "end", "last_modified", "now"];
const DATES: &[&str] = &[
    "2026-07-01",
    "2026-08-22",
    "2026-09-15",
    "2026-08-22T12:00:00Z",
];

fn quoted() -> impl Strategy<Value = String> {
    prop::sample::select(STRINGS).prop_map(|s| format!("{s:?}"))
}

fn str_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(STR_FIELDS).prop_map(String::from),
        quoted()
    ]
}

fn list_literal() -> impl Strategy<Value = String> {
    prop::collection::vec(quoted(), 0..3).prop_map(|v| format!("[{}]", v.join(", ")))
}

fn list_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(LIST_FIELDS).prop_map(String::from),
        1 => list_literal(),
    ]
}

fn date_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(DATE_FIELDS).prop_map(String::from),
        prop::sample::select(DATES).prop_map(String::from),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        let dur = prop::sample::select(vec!["7d", "1w", "12h", "30d"]);
        prop_oneof![
            (inner.clone(), dur.clone()).prop_map(|(d, u)| format!("({d} + {u})")),
            (inner.clone(), dur).prop_map(|(d, u)| format!("({d} - {u})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a} ?? {b})")),
        ]
    })
}

fn bool_leaf() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(vec!["<", "<=", ">", ">=", "==", "!="]);
    prop_oneof![
        prop::sample::select(vec!["major", "is_new", "is_updated", "true", "false"])
            .prop_map(String::from),
        (list_expr(), str_expr()).prop_map(|(l, s)| format!("{l} has {s}")),
        (list_expr(), list_literal()).prop_map(|(l, s)| format!("{l} has {s}")),
        (str_expr(), list_expr()).prop_map(|(s, l)| format!("{s} in {l}")),
        (str_expr(), str_expr()).prop_map(|(a, b)| format!("{a} == {b}")),
        (str_expr(), str_expr()).prop_map(|(a, b)| format!("{a} != {b}")),
        (list_expr(), str_expr()).prop_map(|(l, s)| format!("{l} == {s}")),
        (list_expr(), str_expr()).prop_map(|(l, s)| format!("{l} != {s}")),
        (list_expr(), list_expr()).prop_map(|(a, b)| format!("{a} == {b}")),
        (date_expr(), cmp.clone(), date_expr()).prop_map(|(a, c, b)| format!("{a} {c} {b}")),
        (date_expr(), date_expr(), cmp).prop_map(|(a, b, c)| format!("{a} - {b} {c} 3d")),
        date_expr().prop_map(|d| format!("{d} == null")),
        date_expr().prop_map(|d| format!("{d} != null")),
        (str_expr(), quoted()).prop_map(|(s, w)| format!("{s} matches {w}")),
        list_expr().prop_map(|l| format!("{l} matches /^(pilot|web|ms?)/")),
        prop::sample::select(vec![
            "title matches \"custom meeting\"",
            "body matches \"sign in\"",
            "body matches /conditional\\s+access/",
        ])
        .prop_map(String::from),
    ]
}

fn bool_expr() -> impl Strategy<Value = String> {
    bool_leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|b| format!("not ({b})")),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" and "))),
            prop::collection::vec(inner, 2..4).prop_map(|v| format!("({})", v.join(" or "))),
        ]
    })
}

fn action() -> impl Strategy<Value = ActionSpec> {
    (
        prop::option::of(prop::sample::select(vec!["workload", "collab", "identity"])),
        prop::option::of(prop::sample::select(Priority::ALL.to_vec())),
        prop::option::of(date_expr()),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..2),
        prop::option::of(Just("not used")),
        (any::<bool>(), any::<bool>(), prop::bool::weighted(0.15)),
        prop::collection::vec(prop::sample::select(vec!["owner", "sec"]), 0..2),
    )
        .prop_map(
            |(owner, priority, due, labels, dismiss, (cr, comm, stop), notify)| ActionSpec {
                owner: owner.map(String::from),
                priority,
                due,
                labels: labels.into_iter().map(String::from).collect(),
                dismiss: dismiss.map(String::from),
                change_request: cr,
                communication: comm,
                notify: notify.into_iter().map(String::from).collect(),
                stop,
            },
        )
}

fn subset<T: Clone + std::fmt::Debug + 'static>(
    pool: &'static [T],
) -> impl Strategy<Value = Vec<T>> {
    prop::sample::subsequence(pool.to_vec(), 0..=pool.len().min(3))
}

#[derive(Debug, Clone)]
struct Facts {
    content: MessageContent,
    view: TenantView,
    body: String,
    tenant: String,
    groups: Vec<String>,
    rollout: Vec<RolloutStatus>,
    is_new: bool,
    is_updated: bool,
    changed: Vec<String>,
}

const CATEGORIES: &[Category] = &[Category::PlanForChange, Category::StayInformed];
const SEVERITIES: &[Severity] = &[Severity::Normal, Severity::High];
const STATUSES: &[RolloutStatus] = &[
    RolloutStatus::InRollout,
    RolloutStatus::Launched,
    RolloutStatus::NotSupported,
];

fn facts() -> impl Strategy<Value = Facts> {
    let date = || prop::option::of(prop::sample::select(DATES).prop_map(super::ts));
    let strings =
        || subset(STRINGS).prop_map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
    (
        (
            strings(),
            strings(),
            prop::sample::select(CATEGORIES),
            prop::sample::select(SEVERITIES),
        ),
        (
            prop::sample::select(STRINGS),
            any::<bool>(),
            date(),
            date(),
            date(),
            date(),
        ),
        (
            strings(),
            strings(),
            prop::sample::select(vec![
                "Users must Sign-In again.",
                "Conditional  Access changes",
                "nothing here",
                "",
            ]),
        ),
        (
            prop::sample::select(STRINGS),
            strings(),
            subset(STATUSES),
            any::<bool>(),
            any::<bool>(),
            strings(),
        ),
    )
        .prop_map(
            |(
                (services, tags, category, severity),
                (title, major, a, s, e, l),
                (roadmap, platforms, body),
                t,
            )| {
                let (tenant, groups, rollout, is_new, is_updated, changed) = t;
                Facts {
                    content: MessageContent {
                        id: "MC1".into(),
                        title: format!("(Updated) {title}: custom meeting"),
                        category,
                        severity,
                        services,
                        tags,
                        is_major: major,
                        start: s,
                        end: e,
                        act_by: a,
                        last_modified: l,
                        body_html: String::new(),
                        has_attachments: false,
                    },
                    view: TenantView {
                        details: vec![
                            Detail {
                                name: "RoadmapIds".into(),
                                value: roadmap.join(","),
                            },
                            Detail {
                                name: "Platforms".into(),
                                value: platforms.join(", "),
                            },
                        ],
                    },
                    body: body.to_string(),
                    tenant: tenant.to_string(),
                    groups,
                    rollout,
                    is_new,
                    is_updated,
                    changed,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn two_stage_evaluation_equals_direct_evaluation(
        rules in prop::collection::vec((bool_expr(), action(), prop::bool::weighted(0.9)), 1..6),
        posts in prop::collection::vec(facts(), 1..3),
        tenants in prop::collection::vec(facts(), 1..4),
    ) {
        let specs: Vec<RuleSpec> = rules
            .into_iter()
            .enumerate()
            .map(|(i, (when, then, enabled))| RuleSpec { name: format!("r{i}"), when, then, enabled })
            .collect();
        let set = RuleSet::compile(&specs).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for p in &posts {
            let post = PostFacts::new(&p.content, &p.view, &p.body);
            let staged = set.for_post(&post, now());
            for t in &tenants {
                let tenant = TenantFacts {
                    tenant: &t.tenant,
                    groups: &t.groups,
                    rollout: &t.rollout,
                    is_new: t.is_new,
                    is_updated: t.is_updated,
                    changed_fields: &t.changed,
                };
                let direct = set.evaluate(&post, &tenant, now());
                prop_assert_eq!(&staged.for_tenant(&tenant), &direct);
                prop_assert_eq!(&set.explain(&post, &tenant, now()).outcome, &direct);
            }
        }
    }

    #[test]
    fn specialized_nodes_equal_general_nodes(
        when in bool_expr(),
        p in facts(),
        t in facts(),
    ) {
        let ast = parse(&when).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let fast = compile_expr(&ast, Ty::Bool).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let general = compile_general(&ast, Ty::Bool).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let post = PostFacts::new(&p.content, &p.view, &p.body);
        let tenant = TenantFacts {
            tenant: &t.tenant,
            groups: &t.groups,
            rollout: &t.rollout,
            is_new: t.is_new,
            is_updated: t.is_updated,
            changed_fields: &t.changed,
        };
        let env = Env { post: &post, now: now(), tenant: Some(&tenant) };
        prop_assert_eq!(truthy(eval(&fast, &env)), truthy(eval(&general, &env)), "{}", when);
    }

    #[test]
    fn phrase_matching_equals_token_windows(
        text in "[ab1éÉ ,\\-\n]{0,24}",
        phrase in "[ab1é ,\\-]{0,8}",
    ) {
        let lower = text.to_ascii_lowercase();
        let words = phrase_words(&phrase);
        let tokens: Vec<String> = phrase_words(&text);
        let want = !words.is_empty() && tokens.windows(words.len()).any(|w| w == words.as_slice());
        prop_assert_eq!(Phrase::new(&phrase).is_some_and(|p| p.is_in(&lower)), want);
    }
}
