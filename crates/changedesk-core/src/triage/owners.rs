//! The people (or teams) who own workloads and work items.

use serde::{Deserialize, Serialize};

use super::common::{self, ValidationErrors, shorten};

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME_LEN: usize = 128;
/// The longest e-mail address, in characters.
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest Teams or Slack handle, in characters.
pub const MAX_HANDLE_LEN: usize = 512;

/// Someone who owns workloads and is assigned work items.
///
/// `name` is the key everything else refers to (assignments, ownership
/// entries): 1–64 characters of `a-z 0-9 . _ -` starting with a letter or a
/// digit. Upper-case letters are accepted on input and mean the same name
/// in lower case, so names are unique case-insensitively. `rules` and
/// `system` are reserved for automatic changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// The unique key, e.g. `alice` or `team.collab`.
    pub name: String,
    /// How people see the owner, e.g. `Alice Martin`.
    pub display_name: String,
    /// Where notifications go; checked loosely (one `@`, no spaces).
    pub email: String,
    /// A Microsoft Teams handle, channel or webhook, if the owner uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<String>,
    /// A Slack handle or channel, if the owner uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
    /// The owner's Entra ID object id (a GUID), which Planner assignments
    /// need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra_id: Option<String>,
}

impl Owner {
    /// An owner with a validated, lower-cased name; display name and email
    /// are trimmed. Fails with every problem found.
    pub fn new(name: &str, display_name: &str, email: &str) -> Result<Owner, ValidationErrors> {
        let owner = Owner {
            name: normalize_name(name).unwrap_or_else(|_| name.trim().to_string()),
            display_name: display_name.trim().to_string(),
            email: email.trim().to_string(),
            teams: None,
            slack: None,
            entra_id: None,
        };
        owner.validate()?;
        Ok(owner)
    }

    /// Checks every field; the error lists every problem.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let what = format!("owner `{}`", shorten(self.name.trim(), 40));
        if let Err(e) = common::owner_name(&self.name) {
            errors.push(&what, e);
        }
        check_display_name(&self.display_name, &what, &mut errors);
        if let Err(e) = check_email(&self.email) {
            errors.push(&what, e);
        }
        for (kind, handle) in [("teams", &self.teams), ("slack", &self.slack)] {
            if let Some(h) = handle {
                check_handle(kind, h, &what, &mut errors);
            }
        }
        if let Some(id) = &self.entra_id
            && !is_guid(id)
        {
            errors.push(
                &what,
                format!(
                    "entra_id `{}` is not an object id (a GUID like 3f2504e0-4f89-11d3-9a0c-0305e82c3301)",
                    shorten(id.trim(), 40)
                ),
            );
        }
        errors.into_result()
    }

    /// Whether this owner is called `name` (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.trim().eq_ignore_ascii_case(name.trim())
    }
}

/// Whether `s` is a GUID: 8-4-4-4-12 hexadecimal digits.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The canonical form of an owner name (trimmed, lower case), or why it is
/// not one.
pub fn normalize_name(name: &str) -> Result<String, String> {
    common::owner_name(name)
}

/// The owner called `name` (case-insensitive).
pub fn find_owner<'a>(owners: &'a [Owner], name: &str) -> Option<&'a Owner> {
    owners.iter().find(|o| o.is_named(name))
}

/// Validates every owner and that names are unique (case-insensitively).
/// The error lists every problem, in list order.
pub fn validate_owners(owners: &[Owner]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for (i, owner) in owners.iter().enumerate() {
        if let Err(e) = owner.validate() {
            errors.0.extend(e.0);
        }
        if let Some((first, earlier)) = owners
            .iter()
            .take(i)
            .enumerate()
            .find(|(_, o)| o.is_named(&owner.name))
        {
            errors.push(
                format!("owners[{i}]"),
                format!(
                    "duplicate owner name `{}` (owners[{first}] is `{}`; names are compared ignoring case)",
                    shorten(owner.name.trim(), 40),
                    shorten(earlier.name.trim(), 40),
                ),
            );
        }
    }
    errors.into_result()
}

fn check_display_name(s: &str, what: &str, errors: &mut ValidationErrors) {
    let t = s.trim();
    if t.is_empty() {
        errors.push(what, "display name is empty");
    } else if t.chars().count() > MAX_DISPLAY_NAME_LEN {
        errors.push(
            what,
            format!("display name is longer than {MAX_DISPLAY_NAME_LEN} characters"),
        );
    } else if t.chars().any(char::is_control) {
        errors.push(what, "display name may not hold control characters");
    }
}

/// One `@` with something on each side, no whitespace or control
/// characters, at most 254 characters.
fn check_email(s: &str) -> Result<(), String> {
    let t = s.trim();
    let shown = shorten(t, 60);
    if t.is_empty() {
        return Err("email is empty".to_string());
    }
    if t.chars().count() > MAX_EMAIL_LEN {
        return Err(format!("email is longer than {MAX_EMAIL_LEN} characters"));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "email `{}` may not hold spaces",
            shown.escape_debug()
        ));
    }
    match t.split_once('@') {
        Some((local, domain)) if !domain.contains('@') => {
            if local.is_empty() || domain.is_empty() {
                Err(format!(
                    "email `{shown}` needs a name before the @ and a domain after it"
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(format!("email `{shown}` must contain exactly one @")),
    }
}

fn check_handle(kind: &str, s: &str, what: &str, errors: &mut ValidationErrors) {
    let t = s.trim();
    if t.is_empty() {
        errors.push(what, format!("{kind} is empty (leave it out instead)"));
    } else if t.chars().count() > MAX_HANDLE_LEN {
        errors.push(
            what,
            format!("{kind} is longer than {MAX_HANDLE_LEN} characters"),
        );
    } else if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(what, format!("{kind} may not hold spaces"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(name: &str, email: &str) -> Owner {
        Owner {
            name: name.into(),
            display_name: "Someone".into(),
            email: email.into(),
            teams: None,
            slack: None,
            entra_id: None,
        }
    }

    #[test]
    fn new_normalises_the_name() {
        let o = Owner::new(" Alice ", " Alice Martin ", "alice@contoso.com").unwrap();
        assert_eq!(o.name, "alice");
        assert_eq!(o.display_name, "Alice Martin");
        assert!(o.is_named("ALICE"));
    }

    #[test]
    fn emails_are_checked_loosely() {
        for good in ["a@b", "first.last+tag@sub.example.co.uk", "x@localhost"] {
            assert!(check_email(good).is_ok(), "{good}");
        }
        let cases = [
            ("", "email is empty"),
            ("alice", "email `alice` must contain exactly one @"),
            ("a@b@c", "email `a@b@c` must contain exactly one @"),
            ("a b@c", "email `a b@c` may not hold spaces"),
            (
                "@contoso.com",
                "email `@contoso.com` needs a name before the @ and a domain after it",
            ),
            (
                "alice@",
                "email `alice@` needs a name before the @ and a domain after it",
            ),
        ];
        for (bad, msg) in cases {
            assert_eq!(check_email(bad).unwrap_err(), msg, "{bad}");
        }
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut o = owner("Bad Name", "nope");
        o.display_name = " ".into();
        o.slack = Some("".into());
        let e = o.validate().unwrap_err();
        let text = e.to_string();
        assert_eq!(e.len(), 4, "{text}");
        assert!(
            text.contains("owner `Bad Name`: owner name `Bad Name` may hold only"),
            "{text}"
        );
        assert!(text.contains("display name is empty"), "{text}");
        assert!(
            text.contains("email `nope` must contain exactly one @"),
            "{text}"
        );
        assert!(text.contains("slack is empty"), "{text}");
        assert!(
            owner("rules", "r@x")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
    }

    #[test]
    fn names_are_unique_ignoring_case() {
        let owners = vec![
            owner("alice", "a@x"),
            owner("bob", "b@x"),
            owner("Alice", "a2@x"),
        ];
        let e = validate_owners(&owners).unwrap_err();
        assert_eq!(
            e.to_string(),
            "owners[2]: duplicate owner name `Alice` (owners[0] is `alice`; names are compared ignoring case)"
        );
        assert_eq!(
            find_owner(&owners, "BOB").map(|o| o.email.as_str()),
            Some("b@x")
        );
        assert!(validate_owners(&owners[..2]).is_ok());
    }

    #[test]
    fn serde_leaves_out_missing_handles() {
        let mut o = owner("alice", "a@x");
        let json = serde_json::to_value(&o).unwrap();
        assert!(json.get("teams").is_none());
        o.teams = Some("alice@contoso.com".into());
        let back: Owner = serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
        assert_eq!(back, o);
    }
}
