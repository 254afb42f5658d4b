//! docs/RULES.md says what the code does: its rule files compile, and its
//! error and explanation samples are the real output.

use super::super::{ActionSpec, RuleSet};
use super::{now, spec, with_fixture};

const DOC: &str = include_str!("../../../../../docs/RULES.md");

/// The fenced blocks of `lang` in the section that starts with `heading`
/// (the whole document when `heading` is empty).
fn blocks(lang: &str, heading: &str) -> Vec<&'static str> {
    let section = match DOC.find(heading) {
        Some(at) if !heading.is_empty() => {
            let rest = &DOC[at + heading.len()..];
            &rest[..rest.find("\n## ").unwrap_or(rest.len())]
        }
        _ => DOC,
    };
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").expect("closed block");
        out.push(body[..end].trim_end_matches('\n'));
        rest = &body[end + 3..];
    }
    out
}

#[test]
fn every_rule_file_in_the_docs_compiles() {
    let files = blocks("toml", "");
    assert!(files.len() >= 3);
    let mut examples = 0;
    for text in files {
        let rules = RuleSet::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        examples += rules.len();
    }
    assert!(examples >= 10, "{examples}");
}

#[test]
fn the_documented_errors_are_the_real_ones() {
    let with_due = |name: &str, due: &str| {
        spec(
            name,
            "major",
            ActionSpec {
                due: Some(due.into()),
                ..Default::default()
            },
        )
    };
    let plain = |name: &str, when: &str| spec(name, when, ActionSpec::default());
    let rules = [
        plain("Teams", "services has \"Microsoft Teams\""),
        plain("x", "services =="),
        plain(
            "Typo",
            "servces has \"Microsoft Teams\" and category == \"PlanForChange\"",
        ),
        plain("Copilot", "title has \"Copilot\""),
        plain("Types", "major > 3"),
        plain("Dates", "act_by == \"2025-03-01\""),
        plain("Plan", "category == \"planForChang\""),
        with_due("Due", "act_by - 7x"),
        plain("Regex", "body matches /(retire|retirement/"),
        plain("Teams", "major"),
    ];
    let errors = RuleSet::compile(&rules).unwrap_err().to_string();
    let shown = blocks("text", "## Errors");
    assert_eq!(shown[0], errors);

    let file = "[[rules]]\nname = \"Teams\"\nwhen = 'services has \"Microsoft Teams\"'\n\
                [rules.then]\nowner = \"collaboration\"\nasign = \"x\"\n";
    assert_eq!(shown[1], RuleSet::from_toml(file).unwrap_err().to_string());
    let file = "[[rules]]\nname = \"Teams\"\nwhen = 'services has \"Microsoft Teams\"'\n\
                then = { priority = \"urgent\" }\n";
    assert_eq!(shown[2], RuleSet::from_toml(file).unwrap_err().to_string());
}

#[test]
fn the_documented_explanation_is_the_real_one() {
    let rules = RuleSet::from_toml(
        r#"
        [[rules]]
        name = "Teams changes to collaboration"
        when = 'services has "Microsoft Teams" and category != "stayInformed"'
        then = { owner = "collaboration", priority = "high", due = "act_by - 7d", labels = ["teams"] }
        [[rules]]
        name = "Catch-all"
        when = "true"
        then = { owner = "workload", priority = "normal", due = "act_by ?? now + 30d" }
        "#,
    )
    .unwrap();
    let shown = with_fixture(|_| {}, |p, t| rules.explain(p, t, now()).to_string());
    assert_eq!(blocks("text", "## Testing rules")[0], shown);
}
