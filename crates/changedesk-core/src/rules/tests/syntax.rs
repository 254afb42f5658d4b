//! Parsing, printing and compile errors.

use super::super::{ActionSpec, BinOp, ExprKind, Literal, RuleSet, parse};
use super::{spec, ts, when_error};

fn printed(src: &str) -> String {
    parse(src)
        .unwrap_or_else(|e| panic!("{src:?} does not parse: {e}"))
        .to_string()
}

#[test]
fn precedence_and_associativity() {
    // `-` binds tighter than `??`, which binds tighter than comparisons
    let e = parse("act_by ?? start - 7d < now").unwrap();
    let ExprKind::Binary(BinOp::Lt, l, _) = &e.kind else {
        panic!("{e:?}")
    };
    let ExprKind::Binary(BinOp::Coalesce, _, sub) = &l.kind else {
        panic!("{l:?}")
    };
    assert!(matches!(sub.kind, ExprKind::Binary(BinOp::Sub, _, _)));
    // and binds tighter than or; not looser than comparisons
    let e = parse("a or b and not c == d").unwrap();
    let ExprKind::Or(items) = &e.kind else {
        panic!()
    };
    let ExprKind::And(inner) = &items[1].kind else {
        panic!()
    };
    let ExprKind::Not(n) = &inner[1].kind else {
        panic!()
    };
    assert!(matches!(n.kind, ExprKind::Binary(BinOp::Eq, _, _)));
    // chains are flat
    let e = parse("a and b and c").unwrap();
    assert!(matches!(&e.kind, ExprKind::And(v) if v.len() == 3));
    // subtraction is left-associative
    assert_eq!(printed("now - 1d - 2d"), "now - 1d - 2d");
    assert_eq!(printed("now - (1d - 2d)"), "now - (1d - 2d)");
    assert_eq!(printed("(a ?? b) ?? c"), "(a ?? b) ?? c");
    assert_eq!(printed("a ?? (b ?? c)"), "a ?? b ?? c");
}

#[test]
fn prints_with_minimal_parentheses() {
    for (src, want) in [
        ("((a and b)) or c", "a and b or c"),
        ("a and (b or c)", "a and (b or c)"),
        ("(a and b) and c", "(a and b) and c"),
        ("not (a and b)", "not (a and b)"),
        ("not not a", "not not a"),
        ("(not a) == b", "(not a) == b"),
        ("(act_by ?? start) - 7d", "(act_by ?? start) - 7d"),
        ("act_by ?? (start - 7d)", "act_by ?? start - 7d"),
        ("a ?? b + 1d ?? c", "a ?? b + 1d ?? c"),
        (
            "services HAS [\"a\" , 'b\"',]",
            "services has [\"a\", \"b\\\"\"]",
        ),
        ("x == 'it''s'", "x == \"it\" \"s\""),
    ] {
        if src == "x == 'it''s'" {
            // two adjacent strings are not an expression
            assert!(parse(src).is_err());
            continue;
        }
        assert_eq!(printed(src), want, "{src}");
    }
}

#[test]
fn literals() {
    let lit = |src: &str| match parse(src).unwrap().kind {
        ExprKind::Lit(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(lit("42"), Literal::Int(42));
    assert_eq!(lit("\"a\\\"b\\\\c\\n\""), Literal::Str("a\"b\\c\n".into()));
    assert_eq!(
        lit("'single \\' quote'"),
        Literal::Str("single ' quote".into())
    );
    assert_eq!(lit("1d12h"), Literal::Duration(time::Duration::hours(36)));
    assert_eq!(lit("2w"), Literal::Duration(time::Duration::weeks(2)));
    assert_eq!(lit("90m"), Literal::Duration(time::Duration::minutes(90)));
    assert_eq!(lit("2025-03-01"), Literal::Date(ts("2025-03-01")));
    assert_eq!(
        lit("2025-03-01T10:00:00+02:00"),
        Literal::Date(ts("2025-03-01T08:00:00Z"))
    );
    assert_eq!(
        lit("2025-03-01T10:00:00.5Z"),
        Literal::Date(ts("2025-03-01T10:00:00.5Z"))
    );
    assert_eq!(lit("/a\\/b/"), Literal::Regex("a\\/b".into()));
    assert_eq!(lit("TRUE"), Literal::Bool(true));
    assert_eq!(lit("Null"), Literal::Null);
    // printing round-trips literals
    for src in [
        "2025-03-01",
        "2025-03-01T10:00:00.500000Z",
        "8d1h1m1s",
        "0s",
        "/x\\/y/",
    ] {
        assert_eq!(printed(src), src);
    }
    assert_eq!(printed("36h"), "1d12h");
    assert_eq!(printed("2w"), "14d");
    // a date written next to a subtraction
    assert_eq!(printed("2025-03-01-7d"), "2025-03-01 - 7d");
}

#[test]
fn parse_errors_point_at_the_column() {
    for (src, want) in [
        (
            "services ==",
            "column 12: expected a value after \"==\", found end of input",
        ),
        ("", "column 1: the expression is empty"),
        ("   ", "column 4: the expression is empty"),
        (
            "(services has \"x\"",
            "column 18: expected \")\" to close the \"(\" at column 1, found end of input",
        ),
        ("major)", "column 6: this \")\" has no matching \"(\""),
        (
            "major major",
            "column 7: expected \"and\", \"or\" or the end of the expression, found \"major\"",
        ),
        (
            "a = b",
            "column 3: \"=\" is not an operator: use \"==\" to compare",
        ),
        ("a && b", "column 3: use \"and\" instead of \"&&\""),
        ("!a", "column 1: \"!\" is not an operator: use \"not\""),
        ("title == \"x", "column 10: this string is never closed"),
        (
            "title == \"\\q\"",
            "column 11: unknown escape \"\\q\" in a string (use \"\\\\\" for a backslash)",
        ),
        (
            "title matches /x",
            "column 15: this regular expression is never closed (end it with \"/\")",
        ),
        (
            "act_by < 30x",
            "column 10: \"30x\" is not a duration (expected e.g. 30d, 2w, 12h, 90m or 1d12h)",
        ),
        (
            "act_by < 2025-13-01",
            "column 10: \"2025-13-01\" is not a date (expected 2025-03-01 or 2025-03-01T10:00:00Z)",
        ),
        (
            "a == b == c",
            "column 8: comparisons do not chain: add parentheses",
        ),
        (
            "tags not has \"x\"",
            "column 6: write \"not (a has b)\" rather than \"a not has b\"",
        ),
        (
            "services has [\"a\" \"b\"]",
            "column 19: expected \",\" or \"]\" in the list started at column 14, found a string",
        ),
        (
            "a and",
            "column 6: expected a value after \"and\", found end of input",
        ),
        ("#", "column 1: unexpected character \"#\""),
        (
            "99999999999999999999 > 1",
            "column 1: the number 99999999999999999999 is too large",
        ),
    ] {
        let e = parse(src).expect_err(src);
        assert_eq!(format!("{}: {}", e.location(), e.message), want, "{src:?}");
    }
}

#[test]
fn multi_line_expressions_report_line_and_column() {
    let e = parse("major and\n  tags ==").unwrap_err();
    assert_eq!(e.location(), "line 2, column 10");
    assert_eq!(
        e.to_string(),
        "line 2, column 10: expected a value after \"==\", found end of input\n    tags ==\n           ^"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}major{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(
        parse(&deep)
            .unwrap_err()
            .message
            .contains("nests more than")
    );
    let nots = format!("{}major", "not ".repeat(10_000));
    assert!(parse(&nots).is_err());
    let chain = format!("now{}", " - 1d".repeat(10_000));
    assert!(parse(&chain).is_err());
    let ok = format!("now{} < now", " - 1d".repeat(50));
    assert!(parse(&ok).is_ok());
    // long flat chains are fine
    let flat = vec!["major"; 5_000].join(" and ");
    assert!(RuleSet::compile(&[spec("r", &flat, ActionSpec::default())]).is_ok());
}

#[test]
fn compile_errors_have_columns_and_messages() {
    for (src, want) in [
        (
            "servics has \"x\"",
            "column 1: unknown field \"servics\" (did you mean \"services\"?)",
        ),
        (
            "Services has \"x\"",
            "column 1: unknown field \"Services\" (did you mean \"services\"? field names are lowercase)",
        ),
        (
            "category == planForChange",
            "column 13: unknown field \"planForChange\" (to compare with text, put it in quotes: \"planForChange\")",
        ),
        (
            "major > 3",
            "column 7: \">\" compares two numbers, two dates or two durations, not major (a boolean) and a number",
        ),
        (
            "title has \"x\"",
            "column 7: \"has\" needs a list on its left, not title (a string); use \"matches\" to look for words in text",
        ),
        (
            "services",
            "column 1: a condition must be true or false, but this is services (a list of strings)",
        ),
        (
            "major and title",
            "column 11: expected a condition (true or false), but this is title (a string)",
        ),
        (
            "act_by == \"2025-03-01\"",
            "column 8: cannot compare act_by (a date) with a string (write dates without quotes: 2025-03-01)",
        ),
        (
            "category == \"planforchang\"",
            "column 13: \"planforchang\" is not a value of category (did you mean \"planForChange\"? known values: preventOrFixIssue, planForChange, stayInformed)",
        ),
        (
            "rollout has \"inRolout\"",
            "column 13: \"inRolout\" is not a value of rollout (did you mean \"inRollout\"? known values: notSupported, scheduled, inRollout, launched)",
        ),
        (
            "services in [\"a\"]",
            "column 10: services is a list: write \"services has [...]\" to test whether it holds any of several values",
        ),
        (
            "\"a\" in title",
            "column 5: \"in\" needs a list on its right, not title (a string)",
        ),
        (
            "services has 3",
            "column 10: services (a list of strings) cannot hold a number",
        ),
        (
            "title matches title",
            "column 15: \"matches\" needs \"words to find\" or a /regular expression/ on its right",
        ),
        (
            "title matches \"--\"",
            "column 15: this text has no words to match (words are letters and digits)",
        ),
        (
            "title matches /a(/",
            "column 15: invalid regular expression: unclosed group",
        ),
        (
            "major matches \"x\"",
            "column 7: \"matches\" looks into text or a list of strings, not major (a boolean)",
        ),
        (
            "title == /x/",
            "column 10: a regular expression can only follow \"matches\"",
        ),
        (
            "act_by < null",
            "column 10: null can only be compared with \"==\" or \"!=\", or used with \"??\" (not with \"<\")",
        ),
        (
            "now + now > now",
            "column 5: cannot add now (a date) and now (a date); dates take \"date + duration\", \"date - duration\" or \"date - date\"",
        ),
        (
            "7d - now > 1d",
            "column 4: cannot subtract now (a date) from a duration; dates take \"date + duration\", \"date - duration\" or \"date - date\"",
        ),
        (
            "(act_by ?? \"x\") == now",
            "column 9: both sides of \"??\" must have the same type, not a date and a string",
        ),
        (
            "services has [\"a\", 1]",
            "column 20: all items of a list must have the same type: expected a string, found a number",
        ),
        (
            "services has [title]",
            "column 15: list items must be literal values such as \"text\", 42, 30d or 2025-03-01",
        ),
        ("services has [null]", "column 15: a list cannot hold null"),
        (
            "tenant_groups has \"x\"",
            "column 1: unknown field \"tenant_groups\" (did you mean \"tenant_group\"?)",
        ),
    ] {
        assert_eq!(when_error(src), want, "{src:?}");
    }
}

#[test]
fn compile_error_display_names_the_rule_part_and_column() {
    let e = RuleSet::compile(&[spec("x", "services ==", ActionSpec::default())]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "rule \"x\": when: column 12: expected a value after \"==\", found end of input\n  services ==\n             ^"
    );
    let bad_due = ActionSpec {
        due: Some("act_by - 7".into()),
        ..Default::default()
    };
    let e = RuleSet::compile(&[spec("d", "major", bad_due)]).unwrap_err();
    assert_eq!(
        e.to_string().lines().next().unwrap(),
        "rule \"d\": due: column 8: cannot subtract a number from act_by (a date); dates take \"date + duration\", \"date - duration\" or \"date - date\""
    );
    let not_date = ActionSpec {
        due: Some("act_by - now".into()),
        ..Default::default()
    };
    let e = RuleSet::compile(&[spec("d", "major", not_date)]).unwrap_err();
    assert_eq!(
        e.to_string().lines().next().unwrap(),
        "rule \"d\": due: column 1: a due date must be a date, but this is a duration"
    );
}
