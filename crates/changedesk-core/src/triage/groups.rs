//! Tenant groups: how an MSP sorts its tenants (by customer, region, plan).
//!
//! A group lists tenant names or glob patterns to include and to exclude.
//! Patterns use `*` (any run of characters, possibly empty) and `?` (exactly
//! one character) and are matched ignoring case. A tenant is a member when
//! it matches some `include` entry and **no** `exclude` entry: exclusion
//! always wins.

use serde::{Deserialize, Serialize};

use super::common::{self, ValidationErrors, shorten};

/// A named set of tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantGroup {
    /// The unique key (same form as an owner name: 1–64 characters of
    /// `a-z 0-9 . _ -`, compared ignoring case).
    pub name: String,
    /// What the group is for, for people.
    #[serde(default)]
    pub description: String,
    /// Tenant names or patterns such as `eu-*`; at least one.
    #[serde(default)]
    pub include: Vec<String>,
    /// Tenant names or patterns that are never members, even when included.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl TenantGroup {
    /// Whether `tenant` matches some include entry and no exclude entry.
    pub fn contains(&self, tenant: &str) -> bool {
        let tenant = tenant.trim();
        self.include.iter().any(|p| glob_match(p.trim(), tenant))
            && !self.exclude.iter().any(|p| glob_match(p.trim(), tenant))
    }

    /// Whether this group is called `name` (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.trim().eq_ignore_ascii_case(name.trim())
    }

    /// Checks the name and every pattern; the error lists every problem.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let what = format!("tenant group `{}`", shorten(self.name.trim(), 40));
        if let Err(e) = common::slug("group name", &self.name) {
            errors.push(&what, e);
        }
        if self.include.is_empty() {
            errors.push(
                &what,
                "includes no tenants (add tenant names or patterns such as `eu-*` to `include`)",
            );
        }
        for (list, patterns) in [("include", &self.include), ("exclude", &self.exclude)] {
            for (i, p) in patterns.iter().enumerate() {
                if let Err(e) = check_pattern(p) {
                    errors.push(&what, format!("{list}[{i}]: {e}"));
                }
            }
        }
        errors.into_result()
    }
}

/// The names of the groups `tenant` belongs to, in the order of `groups`.
pub fn groups_of<'a>(tenant: &str, groups: &'a [TenantGroup]) -> Vec<&'a str> {
    groups
        .iter()
        .filter(|g| g.contains(tenant))
        .map(|g| g.name.as_str())
        .collect()
}

/// The group called `name` (case-insensitive).
pub fn find_group<'a>(groups: &'a [TenantGroup], name: &str) -> Option<&'a TenantGroup> {
    groups.iter().find(|g| g.is_named(name))
}

/// Validates every group and that names are unique (case-insensitively).
pub fn validate_groups(groups: &[TenantGroup]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for (i, group) in groups.iter().enumerate() {
        if let Err(e) = group.validate() {
            errors.0.extend(e.0);
        }
        if let Some((first, earlier)) = groups
            .iter()
            .take(i)
            .enumerate()
            .find(|(_, g)| g.is_named(&group.name))
        {
            errors.push(
                format!("groups[{i}]"),
                format!(
                    "duplicate group name `{}` (groups[{first}] is `{}`; names are compared ignoring case)",
                    shorten(group.name.trim(), 40),
                    shorten(earlier.name.trim(), 40),
                ),
            );
        }
    }
    errors.into_result()
}

/// A tenant name or pattern: 1–64 characters of letters, digits, `_`, `-`,
/// `*` and `?`.
fn check_pattern(p: &str) -> Result<(), String> {
    let t = p.trim();
    if t.is_empty() {
        return Err("empty pattern".to_string());
    }
    let shown = shorten(t, 40);
    if t.chars().count() > common::MAX_NAME_LEN {
        return Err(format!(
            "pattern `{shown}` is longer than {} characters",
            common::MAX_NAME_LEN
        ));
    }
    if let Some(bad) = t
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*' | '?')))
    {
        return Err(format!(
            "pattern `{}` holds `{}`; tenant names and patterns use only letters, digits, `_`, `-`, `*` and `?`",
            shown.escape_debug(),
            bad.escape_debug()
        ));
    }
    Ok(())
}

/// Whether `text` matches the glob `pattern` (`*`, `?`; ASCII case
/// ignored). Linear backtracking on the last `*`: at most
/// `O(pattern × text)` steps, no recursion.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // where the last `*` was, and the text position it currently absorbs up to
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || t.get(ti) == Some(&c) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.iter().skip(pi).all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, include: &[&str], exclude: &[&str]) -> TenantGroup {
        TenantGroup {
            name: name.into(),
            description: String::new(),
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn glob_table() {
        let cases = [
            ("eu-*", "eu-contoso", true),
            ("eu-*", "EU-Contoso", true),
            ("EU-*", "eu-contoso", true),
            ("eu-*", "eu-", true),
            ("eu-*", "us-contoso", false),
            ("eu-*", "xeu-contoso", false),
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("a", "", false),
            ("?", "a", true),
            ("?", "", false),
            ("?", "ab", false),
            ("c?ntoso", "contoso", true),
            ("*-prod", "eu-contoso-prod", true),
            ("*-prod", "eu-contoso-prod-2", false),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("*a*b*c*", "xxaxxcxxbxx", false),
            ("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("**", "x", true),
            ("contoso", "contoso", true),
            ("contoso", "contoso2", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn exclude_wins_over_include() {
        let g = group("eu", &["eu-*", "fabrikam"], &["eu-test-*", "EU-LAB"]);
        assert!(g.contains("eu-contoso"));
        assert!(g.contains("Fabrikam"));
        assert!(!g.contains("eu-test-1"));
        assert!(!g.contains("eu-lab"));
        assert!(!g.contains("us-contoso"));
        // included by name and excluded by pattern: excluded
        let g = group("x", &["eu-test-1"], &["eu-*"]);
        assert!(!g.contains("eu-test-1"));
    }

    #[test]
    fn groups_of_keeps_list_order() {
        let groups = vec![
            group("prod", &["*-prod"], &[]),
            group("eu", &["eu-*"], &["eu-lab-*"]),
            group("all", &["*"], &[]),
            group("us", &["us-*"], &[]),
        ];
        assert_eq!(
            groups_of("eu-contoso-prod", &groups),
            vec!["prod", "eu", "all"]
        );
        assert_eq!(groups_of("eu-lab-prod", &groups), vec!["prod", "all"]);
        assert_eq!(groups_of("us-x", &groups), vec!["all", "us"]);
        assert!(groups_of("x", &groups[..2]).is_empty());
        assert_eq!(find_group(&groups, "EU").map(|g| g.include.len()), Some(1));
    }

    #[test]
    fn validation_errors_are_clear() {
        let groups = vec![
            group("eu", &["eu-*"], &[]),
            group("bad name", &[], &["eu.lab", " "]),
            group("EU", &["*"], &[]),
        ];
        let e = validate_groups(&groups).unwrap_err().to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            vec![
                "tenant group `bad name`: group name `bad name` may hold only letters a-z, digits, `.`, `_` and `-`",
                "tenant group `bad name`: includes no tenants (add tenant names or patterns such as `eu-*` to `include`)",
                "tenant group `bad name`: exclude[0]: pattern `eu.lab` holds `.`; tenant names and patterns use only letters, digits, `_`, `-`, `*` and `?`",
                "tenant group `bad name`: exclude[1]: empty pattern",
                "groups[2]: duplicate group name `EU` (groups[0] is `eu`; names are compared ignoring case)",
            ]
        );
        assert!(validate_groups(&groups[..1]).is_ok());
    }

    #[test]
    fn serde_defaults_missing_lists() {
        let g: TenantGroup = serde_json::from_str(r#"{"name":"eu","include":["eu-*"]}"#).unwrap();
        assert!(g.exclude.is_empty());
        assert!(g.description.is_empty());
        assert!(g.contains("eu-a"));
    }
}
