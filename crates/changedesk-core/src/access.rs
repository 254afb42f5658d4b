//! Who may do what: roles, tenant scopes and user names.
//!
//! Pure types, no IO. The store keeps users, sessions and API tokens with
//! these; the server decides from them what a request may see and do.
//!
//! - A [`Role`] orders what someone may do: `admin` > `change_manager` >
//!   `owner` > `reader`. An API token carries a role too, and never acts with
//!   more than its user's role ([`Role::at_most`]).
//! - A [`Scope`] limits someone to some tenants, named one by one or by
//!   tenant group; the empty scope is no restriction. [`Scope::resolve`]
//!   turns it into the [`TenantSet`] it allows, which never holds a tenant
//!   that is not known, and never grows because of a name it does not know.
//! - [`validate_user_name`] gives the canonical form of a sign-in name.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::triage::{MAX_NAME_LEN, ParseEnumError, RESERVED_NAMES, TenantGroup};

/// What someone may do.
///
/// `admin` > `change_manager` > `owner` > `reader` > `analytics_reader`, and
/// `comms` beside `owner`: a reader who also drafts, approves and sends
/// communications (issue 21). What one role may do is a superset of what
/// another may ([`Role::is_at_least`]) except between `owner` and `comms`,
/// neither of which includes the other. `analytics_reader` (like
/// Microsoft's Reports reader) sees the reports and their figures only:
/// no post, item or triage control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including managing users and tokens.
    Admin,
    /// Triage and decide on every work item in scope; manage owners and rules.
    ChangeManager,
    /// Work on the items they own.
    Owner,
    /// Read, and draft and send communications.
    Comms,
    /// Read only.
    Reader,
    /// The reports and their figures only.
    AnalyticsReader,
}

impl Role {
    /// Every role, from most to least (by [`Role::rank`]).
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::ChangeManager,
        Role::Owner,
        Role::Comms,
        Role::Reader,
        Role::AnalyticsReader,
    ];

    /// Every role's text form, in the order of [`Role::ALL`].
    pub const NAMES: &'static [&'static str] = &[
        "admin",
        "change_manager",
        "owner",
        "comms",
        "reader",
        "analytics_reader",
    ];

    /// The snake_case text form: `admin`, `change_manager`, `owner`,
    /// `comms`, `reader`, `analytics_reader`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ChangeManager => "change_manager",
            Role::Owner => "owner",
            Role::Comms => "comms",
            Role::Reader => "reader",
            Role::AnalyticsReader => "analytics_reader",
        }
    }

    /// A total order for choosing the strongest of several roles (a
    /// person's groups): `analytics_reader` 0, `reader` 1, `comms` 2,
    /// `owner` 3, `change_manager` 4, `admin` 5. Not what one role may do
    /// beyond another: see [`Role::is_at_least`].
    pub fn rank(self) -> u8 {
        match self {
            Role::AnalyticsReader => 0,
            Role::Reader => 1,
            Role::Comms => 2,
            Role::Owner => 3,
            Role::ChangeManager => 4,
            Role::Admin => 5,
        }
    }

    /// What a token of role `self` may do for a user of role `other`: the
    /// rights both have (a token never has more than its user). The lesser
    /// of the two, and `reader` for `owner` and `comms`, neither of which
    /// includes the other.
    pub fn at_most(self, other: Role) -> Role {
        if self.is_at_least(other) {
            other
        } else if other.is_at_least(self) {
            self
        } else {
            Role::Reader
        }
    }

    /// Whether this role may do everything `other` may.
    pub fn is_at_least(self, other: Role) -> bool {
        match (self, other) {
            (a, b) if a == b => true,
            (Role::Admin, _) => true,
            (Role::ChangeManager, b) => b != Role::Admin,
            (Role::Owner | Role::Comms, b) => matches!(b, Role::Reader | Role::AnalyticsReader),
            (Role::Reader, b) => b == Role::AnalyticsReader,
            (Role::AnalyticsReader, _) => false,
        }
    }

    /// Whether this role reads posts, items and the rest of the archive
    /// (every role but `analytics_reader`).
    pub fn reads_archive(self) -> bool {
        self != Role::AnalyticsReader
    }

    /// Whether this role drafts, approves and sends communications.
    pub fn handles_comms(self) -> bool {
        matches!(self, Role::Admin | Role::ChangeManager | Role::Comms)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ParseEnumError;

    /// Case-insensitive; `-` and spaces read as `_` (`Change-Manager`). The
    /// error lists the valid roles.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| ParseEnumError::new("role", s, Self::NAMES))
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The tenants someone (or a token) may see: the tenants named, plus every
/// tenant of the groups named. Both empty (the default) is no restriction.
///
/// Names compare ignoring ASCII case and surrounding spaces, like tenant and
/// group names everywhere else. A name that matches no known tenant or group
/// simply allows nothing: a scope never widens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scope {
    /// Tenant names.
    pub tenants: Vec<String>,
    /// Tenant group names.
    pub groups: Vec<String>,
}

/// What a [`Scope`] allows, resolved against the known tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSet {
    /// Every tenant, including those added later.
    All,
    /// These tenants only (possibly none), as the list of known tenants
    /// spells them.
    Only(BTreeSet<String>),
}

impl Scope {
    /// No restriction: every tenant.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Whether this scope allows every tenant.
    pub fn is_unrestricted(&self) -> bool {
        self.tenants.is_empty() && self.groups.is_empty()
    }

    /// The tenants of `all_tenants` this scope allows. A named group allows
    /// every tenant it contains ([`TenantGroup::contains`]); a name that is
    /// neither a known tenant nor a known group allows nothing. The result
    /// is always a subset of `all_tenants` (or [`TenantSet::All`] for the
    /// unrestricted scope).
    pub fn resolve(&self, all_tenants: &[String], groups: &[TenantGroup]) -> TenantSet {
        if self.is_unrestricted() {
            return TenantSet::All;
        }
        let named: Vec<&TenantGroup> = groups
            .iter()
            .filter(|g| self.groups.iter().any(|n| g.is_named(n)))
            .collect();
        let allowed = all_tenants
            .iter()
            .filter(|t| {
                self.tenants.iter().any(|n| same_name(n, t)) || named.iter().any(|g| g.contains(t))
            })
            .cloned()
            .collect();
        TenantSet::Only(allowed)
    }

    /// The names of this scope that `before` lacks (compared ignoring case
    /// and surrounding spaces): what a change of scope adds.
    pub fn added_since(&self, before: &Scope) -> Scope {
        let new = |names: &[String], old: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| !old.iter().any(|o| same_name(n, o)))
                .cloned()
                .collect()
        };
        Scope {
            tenants: new(&self.tenants, &before.tenants),
            groups: new(&self.groups, &before.groups),
        }
    }

    /// Whether this scope reaches no further than `outer`: `outer` is
    /// unrestricted, or this scope is limited and names only tenants and
    /// groups `outer` names (compared ignoring case).
    pub fn within(&self, outer: &Scope) -> bool {
        let named = |names: &[String], outer: &[String]| {
            names.iter().all(|n| outer.iter().any(|o| same_name(n, o)))
        };
        outer.is_unrestricted()
            || (!self.is_unrestricted()
                && named(&self.tenants, &outer.tenants)
                && named(&self.groups, &outer.groups))
    }

    /// The names of this scope that are neither a tenant of `tenants` nor a
    /// group of `groups`, each as "tenant `x`" or "tenant group `y`": a
    /// scope may name only what exists (a typo would otherwise quietly allow
    /// nothing, and unknown names would grow a token without bound).
    pub fn unknown_names(&self, tenants: &[String], groups: &[TenantGroup]) -> Vec<String> {
        let mut out: Vec<String> = self
            .tenants
            .iter()
            .filter(|n| !tenants.iter().any(|t| same_name(n, t)))
            .map(|n| format!("tenant `{n}`"))
            .collect();
        out.extend(
            self.groups
                .iter()
                .filter(|n| !groups.iter().any(|g| g.is_named(n)))
                .map(|n| format!("tenant group `{n}`")),
        );
        out
    }

    /// How many names it holds.
    pub fn name_count(&self) -> usize {
        self.tenants.len() + self.groups.len()
    }

    /// The canonical form: names trimmed and lower-cased, sorted, without
    /// repeats. Fails, naming it, on a name that cannot be a tenant name
    /// (`a-z 0-9 _ -`) or a group name (`a-z 0-9 . _ -`), 1–64 characters
    /// starting with a letter or a digit.
    pub fn normalized(&self) -> Result<Scope, String> {
        fn clean(kind: &str, names: &[String], dot: bool) -> Result<Vec<String>, String> {
            let mut out = BTreeSet::new();
            for n in names {
                out.insert(check_name(kind, n, |c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || c == '_'
                        || c == '-'
                        || (dot && c == '.')
                })?);
            }
            Ok(out.into_iter().collect())
        }
        Ok(Scope {
            tenants: clean("tenant name", &self.tenants, false)?,
            groups: clean("tenant group name", &self.groups, true)?,
        })
    }
}

impl fmt::Display for Scope {
    /// `all tenants`, or e.g. `tenants contoso, fabrikam; groups eu`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unrestricted() {
            return f.write_str("all tenants");
        }
        let mut parts = Vec::new();
        if !self.tenants.is_empty() {
            parts.push(format!("tenants {}", self.tenants.join(", ")));
        }
        if !self.groups.is_empty() {
            parts.push(format!("groups {}", self.groups.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

impl TenantSet {
    /// Whether `tenant` is allowed (ignoring ASCII case).
    pub fn contains(&self, tenant: &str) -> bool {
        match self {
            TenantSet::All => true,
            TenantSet::Only(names) => {
                names.contains(tenant) || names.iter().any(|n| same_name(n, tenant))
            }
        }
    }

    /// The tenants allowed, or `None` for every tenant.
    pub fn names(&self) -> Option<&BTreeSet<String>> {
        match self {
            TenantSet::All => None,
            TenantSet::Only(names) => Some(names),
        }
    }

    /// Whether every tenant is allowed.
    pub fn is_all(&self) -> bool {
        matches!(self, TenantSet::All)
    }

    /// The tenants both sets allow (a token's scope within its user's).
    pub fn intersect(&self, other: &TenantSet) -> TenantSet {
        match (self, other) {
            (TenantSet::All, o) | (o, TenantSet::All) => o.clone(),
            (TenantSet::Only(a), TenantSet::Only(_)) => {
                TenantSet::Only(a.iter().filter(|t| other.contains(t)).cloned().collect())
            }
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// A name trimmed and lower-cased, 1–64 characters that `allowed` accepts,
/// starting with a letter or a digit; `kind` names it in messages.
fn check_name(kind: &str, s: &str, allowed: impl Fn(char) -> bool) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("{kind} is empty"));
    }
    let shown: String = if t.chars().count() > 40 {
        t.chars().take(40).chain(['…']).collect()
    } else {
        t.to_string()
    };
    if t.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "{kind} `{shown}` is longer than {MAX_NAME_LEN} characters"
        ));
    }
    let lower = t.to_ascii_lowercase();
    if let Some(bad) = lower.chars().find(|&c| !allowed(c)) {
        return Err(format!(
            "{kind} `{}` holds `{}`, which is not allowed",
            shown.escape_debug(),
            bad.escape_debug()
        ));
    }
    if !lower.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{kind} `{shown}` must start with a letter or a digit"
        ));
    }
    Ok(lower)
}

/// The canonical form of a sign-in name: trimmed and lower-cased, 1–64
/// characters of `a-z 0-9 . _ @ -`, starting with a letter or a digit (so an
/// e-mail address is a valid name). The names automatic changes use in the
/// logs (`rules`, `system`, `config`) are reserved.
pub fn validate_user_name(name: &str) -> Result<String, String> {
    let lower = check_name("user name", name, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '@' | '-')
    })
    .map_err(|e| {
        if e.contains("which is not allowed") {
            format!("{e}: use only letters a-z, digits, `.`, `_`, `@` and `-`")
        } else {
            e
        }
    })?;
    if RESERVED_NAMES.contains(&lower.as_str()) || lower == "config" {
        return Err(format!(
            "user name `{lower}` is reserved for automatic changes (reserved: {}, config)",
            RESERVED_NAMES.join(", ")
        ));
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unknown_scope_names_are_named() {
        let scope = Scope {
            tenants: vec!["contoso".into(), "typo".into()],
            groups: vec!["eu".into(), "nope".into()],
        };
        let tenants = vec!["Contoso".to_string(), "fabrikam".to_string()];
        let groups = vec![group("EU", &["eu-*"], &[])];
        assert_eq!(
            scope.unknown_names(&tenants, &groups),
            vec!["tenant `typo`", "tenant group `nope`"]
        );
        assert!(Scope::all().unknown_names(&[], &[]).is_empty());
        assert_eq!(scope.name_count(), 4);
    }

    #[test]
    fn scopes_compare_by_name() {
        let s = |t: &[&str], g: &[&str]| Scope {
            tenants: t.iter().map(|x| x.to_string()).collect(),
            groups: g.iter().map(|x| x.to_string()).collect(),
        };
        let outer = s(&["contoso", "fabrikam"], &["eu"]);
        assert!(s(&["Contoso"], &[]).within(&outer));
        assert!(s(&["contoso"], &["EU"]).within(&outer));
        assert!(!s(&["tailspin"], &[]).within(&outer));
        assert!(!s(&[], &["us"]).within(&outer));
        assert!(!Scope::all().within(&outer), "every tenant is further");
        assert!(Scope::all().within(&Scope::all()));
        assert!(outer.within(&Scope::all()));
        assert_eq!(
            s(&["contoso", "tailspin"], &["eu", "us"]).added_since(&s(&[" CONTOSO "], &["eu"])),
            s(&["tailspin"], &["us"])
        );
        assert!(outer.added_since(&outer).is_unrestricted());
    }

    fn group(name: &str, include: &[&str], exclude: &[&str]) -> TenantGroup {
        TenantGroup {
            name: name.into(),
            description: String::new(),
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn only(list: &[&str]) -> TenantSet {
        TenantSet::Only(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn roles_read_and_print() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(" Change-Manager ".parse::<Role>(), Ok(Role::ChangeManager));
        assert_eq!("CHANGE_MANAGER".parse::<Role>(), Ok(Role::ChangeManager));
        assert_eq!("change manager".parse::<Role>(), Ok(Role::ChangeManager));
        assert_eq!("ADMIN".parse::<Role>(), Ok(Role::Admin));
        let e = "root".parse::<Role>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown role `root` (expected one of: admin, change_manager, owner, comms, reader, analytics_reader)"
        );
        assert!("".parse::<Role>().is_err());
    }

    #[test]
    fn roles_serde_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&Role::ChangeManager).unwrap(),
            r#""change_manager""#
        );
        assert_eq!(
            serde_json::from_str::<Role>(r#""change-manager""#).unwrap(),
            Role::ChangeManager
        );
        assert!(serde_json::from_str::<Role>(r#""boss""#).is_err());
        let all: Vec<Role> =
            serde_json::from_str(&serde_json::to_string(&Role::ALL.to_vec()).unwrap()).unwrap();
        assert_eq!(all, Role::ALL.to_vec());
    }

    #[test]
    fn ranks_order_roles_and_tokens_never_exceed_users() {
        let ranks: Vec<u8> = Role::ALL.iter().map(|r| r.rank()).collect();
        assert_eq!(ranks, vec![5, 4, 3, 2, 1, 0], "ALL goes from most to least");
        assert_eq!(Role::Admin.at_most(Role::Reader), Role::Reader);
        assert_eq!(Role::Reader.at_most(Role::Admin), Role::Reader);
        assert_eq!(Role::Owner.at_most(Role::ChangeManager), Role::Owner);
        // neither includes the other: a comms token of an owner (or the
        // reverse) may only read
        assert_eq!(Role::Comms.at_most(Role::Owner), Role::Reader);
        assert_eq!(Role::Owner.at_most(Role::Comms), Role::Reader);
        assert!(!Role::Owner.is_at_least(Role::Comms));
        assert!(!Role::Comms.is_at_least(Role::Owner));
        assert_eq!(Role::Comms.at_most(Role::ChangeManager), Role::Comms);
        assert_eq!(
            Role::AnalyticsReader.at_most(Role::Comms),
            Role::AnalyticsReader
        );
        for a in Role::ALL {
            assert_eq!(a.at_most(a), a);
            assert!(Role::Admin.is_at_least(a));
            assert!(a.is_at_least(Role::AnalyticsReader));
            for b in Role::ALL {
                let m = a.at_most(b);
                assert_eq!(m, b.at_most(a), "symmetric");
                assert!(a.is_at_least(m) && b.is_at_least(m), "{a} {b} -> {m}");
                assert!(m.rank() <= a.rank() && m.rank() <= b.rank());
                if a.is_at_least(b) {
                    assert!(a.rank() >= b.rank(), "rank agrees with inclusion");
                    assert!(!b.handles_comms() || a.handles_comms());
                    assert!(!b.reads_archive() || a.reads_archive());
                }
                for c in Role::ALL {
                    if a.is_at_least(b) && b.is_at_least(c) {
                        assert!(a.is_at_least(c), "transitive");
                    }
                }
            }
        }
        assert!(!Role::AnalyticsReader.reads_archive());
        assert!(Role::Comms.handles_comms() && !Role::Owner.handles_comms());
    }

    #[test]
    fn the_empty_scope_allows_everything() {
        let s = Scope::default();
        assert!(s.is_unrestricted());
        assert_eq!(s, Scope::all());
        let set = s.resolve(&names(&["a"]), &[]);
        assert_eq!(set, TenantSet::All);
        assert!(set.contains("anything"));
        assert!(set.is_all());
        assert_eq!(set.names(), None);
        assert_eq!(s.to_string(), "all tenants");
    }

    #[test]
    fn scopes_resolve_tenants_and_groups() {
        let all = names(&["contoso", "eu-fabrikam", "eu-lab", "us-northwind"]);
        let groups = vec![
            group("eu", &["eu-*"], &["eu-lab"]),
            group("us", &["us-*"], &[]),
        ];
        let s = Scope {
            tenants: names(&["CONTOSO"]),
            groups: names(&[" EU "]),
        };
        let set = s.resolve(&all, &groups);
        assert_eq!(set, only(&["contoso", "eu-fabrikam"]));
        assert!(set.contains("contoso"));
        assert!(set.contains("Eu-Fabrikam"), "case ignored");
        assert!(!set.contains("eu-lab"), "the group excludes it");
        assert!(!set.contains("us-northwind"));
        assert_eq!(set.names().map(|n| n.len()), Some(2));
        assert_eq!(s.to_string(), "tenants CONTOSO; groups  EU ");
    }

    #[test]
    fn unknown_names_never_widen_a_scope() {
        let all = names(&["contoso", "fabrikam"]);
        let groups = vec![group("everyone", &["*"], &[])];
        let s = Scope {
            tenants: names(&["nobody"]),
            groups: names(&["no-such-group"]),
        };
        assert_eq!(s.resolve(&all, &groups), only(&[]));
        assert!(!s.resolve(&all, &groups).contains("contoso"));
        // a tenant not in the known list is not allowed even when named
        let s = Scope {
            tenants: names(&["contoso", "later"]),
            groups: vec![],
        };
        assert_eq!(s.resolve(&all, &groups), only(&["contoso"]));
        // a group naming every tenant allows every known tenant, no more
        let s = Scope {
            tenants: vec![],
            groups: names(&["Everyone"]),
        };
        assert_eq!(s.resolve(&all, &groups), only(&["contoso", "fabrikam"]));
    }

    #[test]
    fn tenant_sets_intersect() {
        let a = only(&["a", "b", "c"]);
        let b = only(&["B", "c", "d"]);
        assert_eq!(a.intersect(&b), only(&["b", "c"]));
        assert_eq!(a.intersect(&TenantSet::All), a);
        assert_eq!(TenantSet::All.intersect(&b), b);
        assert_eq!(TenantSet::All.intersect(&TenantSet::All), TenantSet::All);
        assert_eq!(a.intersect(&only(&[])), only(&[]));
    }

    #[test]
    fn scopes_normalize_and_check_names() {
        let s = Scope {
            tenants: names(&[" Contoso ", "contoso", "ab-1"]),
            groups: names(&["EU.west", "eu.west"]),
        };
        assert_eq!(
            s.normalized(),
            Ok(Scope {
                tenants: names(&["ab-1", "contoso"]),
                groups: names(&["eu.west"]),
            })
        );
        let bad = Scope {
            tenants: names(&["a.b"]),
            groups: vec![],
        };
        assert_eq!(
            bad.normalized().unwrap_err(),
            "tenant name `a.b` holds `.`, which is not allowed"
        );
        let bad = Scope {
            tenants: vec![],
            groups: names(&[""]),
        };
        assert_eq!(bad.normalized().unwrap_err(), "tenant group name is empty");
        assert_eq!(Scope::default().normalized(), Ok(Scope::default()));
    }

    #[test]
    fn scopes_serde() {
        let s = Scope {
            tenants: names(&["contoso"]),
            groups: names(&["eu"]),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"tenants":["contoso"],"groups":["eu"]}"#);
        assert_eq!(serde_json::from_str::<Scope>(&text).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<Scope>("{}").unwrap(),
            Scope::default()
        );
        assert_eq!(
            serde_json::from_str::<Scope>(r#"{"groups":["eu"]}"#).unwrap(),
            Scope {
                tenants: vec![],
                groups: names(&["eu"])
            }
        );
        assert!(serde_json::from_str::<Scope>(r#"{"tenant":["x"]}"#).is_err());
    }

    #[test]
    fn user_names() {
        assert_eq!(validate_user_name(" Alice "), Ok("alice".into()));
        assert_eq!(
            validate_user_name("Alice.Martin@Contoso.example"),
            Ok("alice.martin@contoso.example".into())
        );
        assert_eq!(validate_user_name("a_b-c.d"), Ok("a_b-c.d".into()));
        assert_eq!(validate_user_name(&"a".repeat(64)).map(|n| n.len()), Ok(64));
        assert_eq!(validate_user_name("  ").unwrap_err(), "user name is empty");
        assert_eq!(
            validate_user_name(&"a".repeat(65)).unwrap_err(),
            format!(
                "user name `{}…` is longer than 64 characters",
                "a".repeat(40)
            )
        );
        assert_eq!(
            validate_user_name("alice martin").unwrap_err(),
            "user name `alice martin` holds ` `, which is not allowed: use only letters a-z, digits, `.`, `_`, `@` and `-`"
        );
        assert!(validate_user_name("zoë").is_err());
        assert!(validate_user_name("a/b").is_err());
        assert_eq!(
            validate_user_name("-alice").unwrap_err(),
            "user name `-alice` must start with a letter or a digit"
        );
        assert!(validate_user_name("@x").is_err());
        for reserved in ["rules", "System", "config"] {
            let e = validate_user_name(reserved).unwrap_err();
            assert!(e.contains("reserved"), "{e}");
        }
    }

    fn tenant_name() -> impl Strategy<Value = String> {
        "[aAbB]{1,2}(-[aAbB]{1,2})?"
    }

    fn pattern() -> impl Strategy<Value = String> {
        "[ab*?-]{0,4}"
    }

    fn tenant_group() -> impl Strategy<Value = TenantGroup> {
        (
            "[gh]{1,2}",
            proptest::collection::vec(pattern(), 0..3),
            proptest::collection::vec(pattern(), 0..2),
        )
            .prop_map(|(name, include, exclude)| TenantGroup {
                name,
                description: String::new(),
                include,
                exclude,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn resolve_is_a_subset_of_the_known_tenants(
            all in proptest::collection::vec(tenant_name(), 0..6),
            groups in proptest::collection::vec(tenant_group(), 0..4),
            tenants in proptest::collection::vec(tenant_name(), 0..3),
            group_names in proptest::collection::vec("[ghG]{1,2}", 0..3),
        ) {
            let scope = Scope { tenants, groups: group_names };
            match scope.resolve(&all, &groups) {
                TenantSet::All => prop_assert!(scope.is_unrestricted()),
                TenantSet::Only(set) => {
                    prop_assert!(!scope.is_unrestricted());
                    for t in &set {
                        prop_assert!(all.contains(t), "{t} is not a known tenant");
                        // and it is there for a reason the scope gives
                        let named = scope.tenants.iter().any(|n| n.eq_ignore_ascii_case(t));
                        let grouped = groups.iter().any(|g| {
                            scope.groups.iter().any(|n| g.is_named(n)) && g.contains(t)
                        });
                        prop_assert!(named || grouped, "{t} allowed for no reason");
                    }
                    // and nothing named is left out
                    for t in &all {
                        if scope.tenants.iter().any(|n| n.eq_ignore_ascii_case(t)) {
                            prop_assert!(set.contains(t));
                        }
                    }
                }
            }
        }

        #[test]
        fn adding_unknown_names_never_widens(
            all in proptest::collection::vec(tenant_name(), 0..6),
            groups in proptest::collection::vec(tenant_group(), 0..4),
            tenants in proptest::collection::vec(tenant_name(), 1..3),
        ) {
            let scope = Scope { tenants, groups: vec![] };
            let wider = Scope {
                tenants: [scope.tenants.clone(), vec!["zz-unknown".to_string()]].concat(),
                groups: vec!["no-such-group".to_string()],
            };
            prop_assert_eq!(scope.resolve(&all, &groups), wider.resolve(&all, &groups));
        }
    }
}
