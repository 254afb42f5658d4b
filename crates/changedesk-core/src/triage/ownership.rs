//! Who owns a workload: a default owner per workload, overridden per tenant
//! group and per tenant.
//!
//! A workload is a post's service name as Graph writes it (`Microsoft
//! Teams`, `Exchange Online`), matched ignoring case. The workload `*` is a
//! catch-all.
//!
//! # Resolution
//!
//! [`OwnershipMap::owner_for`] takes the post's services in the post's
//! order and returns the owner of the **first service that has one**. For
//! one workload the scopes are tried most specific first:
//!
//! 1. an entry for the tenant (`tenant:NAME`);
//! 2. an entry for one of the tenant's groups: when several groups have an
//!    entry, the group that comes **first in the `groups` argument** wins
//!    (callers pass [`super::groups_of`]'s result, i.e. the order in which
//!    the groups are configured);
//! 3. the default entry (`all`).
//!
//! Only when no service of the post has an owner at any scope is the `*`
//! workload tried, with the same scope order. The workload is therefore
//! more specific than the scope: a tenant's `*` entry does not beat the
//! default owner of `Microsoft Teams`.
//!
//! Without a tenant (`tenant = None`) only `all` entries count: that is the
//! post-wide owner, who triages the post once for every tenant.
//!
//! When two entries have the same workload and scope (which
//! [`OwnershipMap::validate`] reports), the first wins.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::common::{self, ValidationErrors, shorten};
use super::groups::{TenantGroup, find_group, groups_of};
use super::owners::{Owner, find_owner};

/// The catch-all workload.
pub const ANY_WORKLOAD: &str = "*";

/// Where an ownership entry (or an override) applies.
///
/// Text form (also its serde form): `all`, `group:NAME`, `tenant:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Scope {
    /// Every tenant: the default.
    #[default]
    All,
    /// The tenants of a tenant group.
    Group(String),
    /// One tenant.
    Tenant(String),
}

impl Scope {
    /// How specific the scope is: `all` 0, group 1, tenant 2.
    pub fn rank(&self) -> u8 {
        match self {
            Scope::All => 0,
            Scope::Group(_) => 1,
            Scope::Tenant(_) => 2,
        }
    }

    fn same(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::All, Scope::All) => true,
            (Scope::Group(a), Scope::Group(b)) | (Scope::Tenant(a), Scope::Tenant(b)) => {
                a.trim().eq_ignore_ascii_case(b.trim())
            }
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("all"),
            Scope::Group(g) => write!(f, "group:{g}"),
            Scope::Tenant(t) => write!(f, "tenant:{t}"),
        }
    }
}

/// A scope that is not `all`, `group:NAME` or `tenant:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}` (expected one of: all, group:NAME, tenant:NAME)")]
pub struct ParseScopeError(pub String);

impl FromStr for Scope {
    type Err = ParseScopeError;

    /// `all`, `group:NAME` or `tenant:NAME`; the keyword ignores case and
    /// the name is trimmed (names are checked by
    /// [`OwnershipMap::validate`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(Scope::All);
        }
        let err = || ParseScopeError(shorten(t, 40));
        let (kind, name) = t.split_once(':').ok_or_else(err)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(err());
        }
        match kind.trim().to_ascii_lowercase().as_str() {
            "group" => Ok(Scope::Group(name.to_string())),
            "tenant" => Ok(Scope::Tenant(name.to_string())),
            _ => Err(err()),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One line of the ownership map: `owner` owns `workload` in `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnershipEntry {
    /// A service name (`Microsoft Teams`) or `*`.
    pub workload: String,
    /// An owner's name.
    pub owner: String,
    /// Where the entry applies; `all` when left out.
    #[serde(default)]
    pub scope: Scope,
}

/// Who owns what. See the module documentation for the resolution order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OwnershipMap {
    /// In configuration order.
    #[serde(default)]
    pub entries: Vec<OwnershipEntry>,
}

/// The owner found for a post, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// The owner's name, as the entry writes it.
    pub owner: String,
    /// The post's service that found the owner (as the post writes it), or
    /// `*` for the catch-all.
    pub workload: String,
    /// The scope of the entry that matched.
    pub via: Scope,
}

impl OwnershipMap {
    /// The owner of a post with `services` in `tenant`, whose groups are
    /// `groups` (in configuration order). See the module documentation.
    pub fn owner_for(
        &self,
        services: &[String],
        tenant: Option<&str>,
        groups: &[&str],
    ) -> Option<Resolved> {
        services
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .find_map(|service| self.resolve(service, tenant, groups))
            .or_else(|| self.resolve(ANY_WORKLOAD, tenant, groups))
    }

    /// As [`Self::owner_for`], computing the tenant's groups from the
    /// configured groups.
    pub fn owner_for_tenant(
        &self,
        services: &[String],
        tenant: &str,
        groups: &[TenantGroup],
    ) -> Option<Resolved> {
        let member_of = groups_of(tenant, groups);
        self.owner_for(services, Some(tenant), &member_of)
    }

    fn resolve(&self, workload: &str, tenant: Option<&str>, groups: &[&str]) -> Option<Resolved> {
        let candidates: Vec<&OwnershipEntry> = self
            .entries
            .iter()
            .filter(|e| e.workload.trim().eq_ignore_ascii_case(workload))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let found = |scope: &Scope| candidates.iter().find(|e| e.scope.same(scope));
        let entry = match tenant {
            Some(t) => found(&Scope::Tenant(t.to_string()))
                .or_else(|| {
                    groups
                        .iter()
                        .find_map(|g| found(&Scope::Group((*g).to_string())))
                })
                .or_else(|| found(&Scope::All)),
            None => found(&Scope::All),
        }?;
        Some(Resolved {
            owner: entry.owner.trim().to_string(),
            workload: workload.to_string(),
            via: entry.scope.clone(),
        })
    }

    /// Checks every entry against the configured owners and groups: the
    /// workload is a service name or `*`, the owner and the group exist,
    /// the tenant name has the configuration's form, and no two entries
    /// have the same workload and scope. The error lists every problem.
    pub fn validate(
        &self,
        owners: &[Owner],
        groups: &[TenantGroup],
    ) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for (i, e) in self.entries.iter().enumerate() {
            let what = format!("ownership[{i}]");
            let w = e.workload.trim();
            if w.is_empty() {
                errors.push(&what, "workload is empty (use a service name such as `Microsoft Teams`, or `*` for every workload)");
            } else if w != ANY_WORKLOAD && w.contains(['*', '?']) {
                errors.push(
                    &what,
                    format!(
                        "workload `{}` is a pattern; use the exact service name, or `*` alone for every workload",
                        shorten(w, 40)
                    ),
                );
            }
            if find_owner(owners, &e.owner).is_none() {
                errors.push(
                    &what,
                    unknown("owner", &e.owner, owners.iter().map(|o| o.name.as_str())),
                );
            }
            match &e.scope {
                Scope::All => {}
                Scope::Group(g) => {
                    if find_group(groups, g).is_none() {
                        errors.push(
                            &what,
                            unknown("tenant group", g, groups.iter().map(|g| g.name.as_str())),
                        );
                    }
                }
                Scope::Tenant(t) => {
                    if let Err(msg) = common::tenant_name(t) {
                        errors.push(&what, msg);
                    }
                }
            }
            if let Some(first) =
                self.entries.iter().take(i).position(|o| {
                    o.workload.trim().eq_ignore_ascii_case(w) && o.scope.same(&e.scope)
                })
            {
                errors.push(
                    &what,
                    format!(
                        "`{}` in scope {} is already owned by ownership[{first}]; the first entry wins, remove one",
                        shorten(w, 40),
                        e.scope
                    ),
                );
            }
        }
        errors.into_result()
    }
}

fn unknown<'a>(kind: &str, name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.take(10).collect();
    let shown = shorten(name.trim(), 40);
    if known.is_empty() {
        format!("unknown {kind} `{shown}` (none is configured)")
    } else {
        format!("unknown {kind} `{shown}` (known: {})", known.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_text_round_trips() {
        for (text, scope) in [
            ("all", Scope::All),
            ("group:eu", Scope::Group("eu".into())),
            ("tenant:contoso", Scope::Tenant("contoso".into())),
        ] {
            assert_eq!(text.parse::<Scope>().unwrap(), scope);
            assert_eq!(scope.to_string(), text);
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{text}\"")
            );
        }
        assert_eq!(" ALL ".parse::<Scope>().unwrap(), Scope::All);
        assert_eq!(
            "Group: eu".parse::<Scope>().unwrap(),
            Scope::Group("eu".into())
        );
        for bad in ["", "group:", "region:eu", "eu"] {
            let e = bad.parse::<Scope>().unwrap_err().to_string();
            assert!(
                e.contains("expected one of: all, group:NAME, tenant:NAME"),
                "{e}"
            );
        }
    }

    #[test]
    fn entries_default_to_all() {
        let m: OwnershipMap =
            serde_json::from_str(r#"{"entries":[{"workload":"Microsoft Teams","owner":"alice"}]}"#)
                .unwrap();
        assert_eq!(m.entries[0].scope, Scope::All);
    }
}
