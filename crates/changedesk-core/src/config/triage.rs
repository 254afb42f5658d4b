//! The triage sections: `[[owners]]`, `[[tenant_groups]]`, `[[ownership]]`,
//! `[[rules]]` and `[triage]`. They seed the database (where owners, groups,
//! ownership and rules can also be managed by hand); the file is checked
//! here as a whole, so `config check` finds a rule that does not compile or
//! an ownership entry naming an unknown owner before anything runs.

use serde::Deserialize;
use toml::Spanned;

use super::merge::{Origin, Reporter};
use crate::rules::{RuleSet, RuleSpec};
use crate::triage::{MissedPolicy, Owner, OwnershipEntry, ReopenPolicy, Scope, TenantGroup};

/// What the configuration file says about triage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageConfig {
    pub owners: Vec<Owner>,
    pub groups: Vec<TenantGroup>,
    pub ownership: Vec<OwnershipEntry>,
    pub rules: Vec<RuleSpec>,
    /// `[triage]`: when a post's change reopens its closed item.
    pub reopen: ReopenPolicy,
    /// `[triage]`: whether missed items close by themselves.
    pub missed: MissedPolicy,
}

impl TriageConfig {
    /// Whether the file says anything about owners, groups, ownership or rules.
    pub fn has_seed(&self) -> bool {
        !(self.owners.is_empty()
            && self.groups.is_empty()
            && self.ownership.is_empty()
            && self.rules.is_empty())
    }
}

/// `[triage]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTriage {
    pub reopen: Option<Spanned<ReopenPolicy>>,
    pub missed: Option<Spanned<MissedPolicy>>,
}

/// The triage parts of the file.
#[derive(Default)]
pub(super) struct RawTriageFile {
    pub owners: Vec<Spanned<Owner>>,
    pub groups: Vec<Spanned<TenantGroup>>,
    pub ownership: Vec<Spanned<OwnershipEntry>>,
    pub rules: Vec<Spanned<RuleSpec>>,
    pub triage: Option<RawTriage>,
}

fn at<T>(s: &Spanned<T>) -> Origin {
    Origin::File(s.span().start)
}

pub(super) fn build(rep: &mut Reporter<'_>, raw: RawTriageFile) -> TriageConfig {
    let mut out = TriageConfig::default();
    for (i, o) in raw.owners.iter().enumerate() {
        if let Err(errors) = o.get_ref().validate() {
            for e in errors.iter() {
                rep.error(&at(o), &format!("owners[{i}]"), e.to_string());
            }
        }
        if raw
            .owners
            .iter()
            .take(i)
            .any(|p| p.get_ref().is_named(&o.get_ref().name))
        {
            rep.error(
                &at(o),
                &format!("owners[{i}].name"),
                format!("owner `{}` is defined twice", o.get_ref().name),
            );
        }
    }
    for (i, g) in raw.groups.iter().enumerate() {
        if let Err(errors) = g.get_ref().validate() {
            for e in errors.iter() {
                rep.error(&at(g), &format!("tenant_groups[{i}]"), e.to_string());
            }
        }
        if raw
            .groups
            .iter()
            .take(i)
            .any(|p| p.get_ref().is_named(&g.get_ref().name))
        {
            rep.error(
                &at(g),
                &format!("tenant_groups[{i}].name"),
                format!("tenant group `{}` is defined twice", g.get_ref().name),
            );
        }
    }
    for (i, e) in raw.ownership.iter().enumerate() {
        let entry = e.get_ref();
        // with no [[owners]] (or [[tenant_groups]]) in the file, they are
        // managed in the database, and the store checks the names on seeding
        if !raw.owners.is_empty()
            && !raw
                .owners
                .iter()
                .any(|o| o.get_ref().is_named(&entry.owner))
        {
            rep.error(
                &at(e),
                &format!("ownership[{i}].owner"),
                format!("no owner `{}` among [[owners]]", entry.owner),
            );
        }
        if let Scope::Group(g) = &entry.scope
            && !raw.groups.is_empty()
            && !raw.groups.iter().any(|x| x.get_ref().is_named(g))
        {
            rep.error(
                &at(e),
                &format!("ownership[{i}].scope"),
                format!("no tenant group `{g}` among [[tenant_groups]]"),
            );
        }
        if entry.workload.trim().is_empty() {
            rep.error(
                &at(e),
                &format!("ownership[{i}].workload"),
                "a workload (a service name, or `*`) is required",
            );
        }
    }
    for (i, r) in raw.rules.iter().enumerate() {
        if let Some(owner) = &r.get_ref().then.owner
            && !raw.owners.is_empty()
            && crate::rules::OwnerTarget::parse(owner) != crate::rules::OwnerTarget::Workload
            && !raw.owners.iter().any(|o| o.get_ref().is_named(owner))
        {
            rep.error(
                &at(r),
                &format!("rules[{i}].then.owner"),
                format!(
                    "no owner `{owner}` among [[owners]] (or `workload` for the workload's owner)"
                ),
            );
        }
    }
    let specs: Vec<RuleSpec> = raw.rules.iter().map(|r| r.get_ref().clone()).collect();
    if let Err(errors) = RuleSet::compile(&specs) {
        for e in errors.errors() {
            let origin = raw.rules.get(e.index).map(at).unwrap_or(Origin::File(0));
            rep.error(&origin, &format!("rules[{}]", e.index), e.to_string());
        }
    }
    if let Some(t) = raw.triage {
        if let Some(r) = &t.reopen {
            if let Err(errors) = r.get_ref().validate() {
                for e in errors.iter() {
                    rep.error(&at(r), "triage.reopen", e.to_string());
                }
            }
            out.reopen = r.get_ref().clone();
        }
        if let Some(m) = t.missed {
            out.missed = m.into_inner();
        }
    }
    out.owners = raw.owners.into_iter().map(Spanned::into_inner).collect();
    out.groups = raw.groups.into_iter().map(Spanned::into_inner).collect();
    out.ownership = raw.ownership.into_iter().map(Spanned::into_inner).collect();
    out.rules = specs;
    out
}

#[cfg(test)]
mod tests {
    use crate::config::check;

    fn problems(text: &str) -> String {
        match check("t.toml", text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_complete_triage_file_checks() {
        let text = r#"
[[owners]]
name = "Collab"
display_name = "Collaboration"
email = "collab@example.com"

[[tenant_groups]]
name = "emea"
include = ["eu-*"]

[[ownership]]
workload = "Microsoft Teams"
owner = "collab"
scope = "group:emea"

[[rules]]
name = "teams"
when = 'services has "Microsoft Teams"'
then = { owner = "workload", due = "act_by - 7d" }

[triage]
reopen = { reopen_on = ["act_by"] }
missed = { auto_close = true, grace = "3d" }
"#;
        let c = check("t.toml", text).expect("valid");
        assert_eq!(c.triage.owners[0].name, "Collab");
        assert_eq!(c.triage.ownership.len(), 1);
        assert_eq!(c.triage.rules[0].name, "teams");
        assert_eq!(c.triage.reopen.reopen_on, ["act_by"]);
        assert!(c.triage.missed.auto_close);
        assert_eq!(c.triage.missed.grace, time::Duration::days(3));
        assert!(c.triage.has_seed());
    }

    #[test]
    fn each_problem_is_reported_where_it_is_written() {
        let text = "[[owners]]\nname = \"a\"\ndisplay_name = \"A\"\nemail = \"no-at-sign\"\n\n\
                    [[owners]]\nname = \"A\"\ndisplay_name = \"A\"\nemail = \"a@x.y\"\n\n\
                    [[tenant_groups]]\nname = \"emea\"\ninclude = [\"eu-*\"]\n\n\
                    [[ownership]]\nworkload = \"Exchange Online\"\nowner = \"nobody\"\nscope = \"group:eu\"\n\n\
                    [[rules]]\nname = \"r\"\nwhen = \"severity > 3\"\n";
        let p = problems(text);
        assert!(p.contains("t.toml:1:1: owners[0]"), "{p}");
        assert!(
            p.contains("owners[1].name: owner `A` is defined twice"),
            "{p}"
        );
        assert!(p.contains("ownership[0].owner: no owner `nobody`"), "{p}");
        assert!(
            p.contains("ownership[0].scope: no tenant group `eu`"),
            "{p}"
        );
        assert!(p.contains("rules[0]: rule \"r\""), "{p}");
    }

    #[test]
    fn unknown_keys_in_triage_tables_are_errors() {
        assert!(problems("[[owners]]\nnam = \"a\"\n").contains("unknown"));
        assert!(problems("[triage]\nreopen = { enabld = true }\n").contains("unknown"));
        assert!(
            problems("[[rules]]\nname = \"a\"\nwhen = \"true\"\nthen = { ownr = \"x\" }\n")
                .contains("unknown")
        );
        assert!(
            problems("[triage]\nreopen = { reopen_on = [\"nope\"] }\n")
                .contains("unknown field `nope`")
        );
    }
}
