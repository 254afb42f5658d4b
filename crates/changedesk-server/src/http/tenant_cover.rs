//! How a list shows the tenants of a post: how many of the caller's tenants
//! see it and which tenant groups hold them, with their names only when
//! there are few (or when asked). A post seen by a thousand tenants costs a
//! row a line, not a thousand names. And how a post's own page and answer
//! page and search its tenants.
//!
//! Only the caller's tenants are ever counted or named: the tenants given
//! here are those of the caller's scope (the store's scoped queries), the
//! groups are those holding one of the caller's tenants, and a group's size
//! counts only the caller's tenants in it (as `/api/v1/tenant-groups` lists a
//! group to a tenant-limited caller: as its tenants in scope).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};

/// At most this many tenants, a row names them (a small install loses
/// nothing); beyond, it counts them.
pub const FEW_TENANTS: usize = 5;

/// Tenants per page of a post's tenants.
pub const TENANT_PAGE: usize = 50;

/// Groups a row of the web UI names before "and N more groups".
const GROUPS_SHOWN: usize = 3;

/// A tenant group holding some of the tenants a row counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupCoverDto {
    /// The group's name.
    pub name: String,
    /// How many of the counted tenants are in the group.
    pub count: i64,
    /// How many tenants the group holds, of those the caller may see.
    pub size: i64,
}

/// The tenant groups as the caller may see them, with their members, ready
/// to say which groups hold a post's tenants (loaded once per answer).
#[derive(Debug, Default)]
pub struct Groups {
    /// Name and size (tenants in the caller's scope) of each group holding
    /// one of the caller's tenants.
    groups: Vec<(String, i64)>,
    /// A tenant in the caller's scope → the indexes in `groups` of the
    /// groups holding it (tenants of no group are absent).
    member_of: HashMap<String, Vec<usize>>,
}

impl Groups {
    /// Whether no group holds one of the caller's tenants.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// What a row of a list of items shows of its tenants: as [`Groups::row`]
    /// of their names, or their count alone when the store did not name
    /// them all (`ItemFilter::names_for_exceptions_only`, asked only when
    /// no group is shown).
    pub fn item_row(&self, r: &changedesk_store::ItemRow) -> Cover {
        if !r.all_named() {
            return Cover {
                count: r.tenant_count,
                groups: Vec::new(),
                names: None,
            };
        }
        self.row(r.tenants.clone(), false)
    }

    /// The names of the groups holding one of the caller's tenants.
    pub fn names(&self) -> Vec<String> {
        self.groups.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The groups and their members among the archive's tenants that
    /// `caller` sees.
    pub async fn load(state: &AppState, caller: &Caller) -> ApiResult<Groups> {
        let all = state.store.groups().await?;
        if all.is_empty() {
            return Ok(Groups::default());
        }
        let mut groups: Vec<(String, i64)> = Vec::new();
        let mut member_of: HashMap<String, Vec<usize>> = HashMap::new();
        let tenants: Vec<String> = state
            .store
            .tenant_names()
            .await?
            .into_iter()
            .filter(|t| caller.sees(t))
            .collect();
        for g in &all {
            let members: Vec<&String> = tenants.iter().filter(|t| g.contains(t)).collect();
            // a group without a tenant in scope is not shown at all
            if members.is_empty() {
                continue;
            }
            let index = groups.len();
            groups.push((g.name.clone(), members.len() as i64));
            for t in members {
                member_of.entry(t.clone()).or_default().push(index);
            }
        }
        Ok(Groups { groups, member_of })
    }

    /// The groups holding some of `tenants` (names of tenants in the
    /// caller's scope), with how many each holds: most first, then by name.
    pub fn cover<S: AsRef<str>>(&self, tenants: &[S]) -> Vec<GroupCoverDto> {
        let mut counts = vec![0_i64; self.groups.len()];
        for t in tenants {
            for i in self.member_of.get(t.as_ref()).into_iter().flatten() {
                if let Some(n) = counts.get_mut(*i) {
                    *n += 1;
                }
            }
        }
        let mut out: Vec<GroupCoverDto> = self
            .groups
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|((name, size), count)| GroupCoverDto {
                name: name.clone(),
                count,
                size: *size,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        out
    }

    /// What a row shows of `tenants` (sorted names of tenants in the
    /// caller's scope): their count and groups, and the names themselves
    /// when there are few or `names` asks for them.
    pub fn row(&self, tenants: Vec<String>, names: bool) -> Cover {
        Cover {
            count: tenants.len() as i64,
            groups: self.cover(&tenants),
            names: (names || tenants.len() <= FEW_TENANTS).then_some(tenants),
        }
    }
}

/// The tenants of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub count: i64,
    pub groups: Vec<GroupCoverDto>,
    /// The names, when few or asked for.
    pub names: Option<Vec<String>>,
}

impl Cover {
    /// The row's tenants for people: their names when few, else how many
    /// and in which groups (`850 tenants: eu 400 of 420, us 300 of 300 and
    /// 2 more groups`); empty without any.
    pub fn describe(&self) -> String {
        if let Some(names) = self.names.as_ref().filter(|n| n.len() <= FEW_TENANTS) {
            return names.join(", ");
        }
        let mut out = format!(
            "{} tenant{}",
            self.count,
            if self.count == 1 { "" } else { "s" }
        );
        let shown: Vec<String> = self
            .groups
            .iter()
            .take(GROUPS_SHOWN)
            .map(|g| format!("{} {} of {}", g.name, g.count, g.size))
            .collect();
        if !shown.is_empty() {
            out.push_str(": ");
            out.push_str(&shown.join(", "));
        }
        let more = self.groups.len().saturating_sub(GROUPS_SHOWN);
        if more > 0 {
            out.push_str(&format!(
                " and {more} more group{}",
                if more == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// Which of a post's tenants to list: a search and a page.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TenantPageParams {
    /// Only tenants whose name contains this (ignoring case).
    pub tenant_q: Option<String>,
    /// The page of the (matching) tenants, from 1 (default), 50 a page.
    #[param(minimum = 1)]
    pub tenant_page: Option<u32>,
}

/// One page of a post's tenants.
#[derive(Debug)]
pub struct TenantPage<'a, T> {
    pub items: Vec<&'a T>,
    /// How many tenants match the search (all of them without one).
    pub matches: usize,
    /// This page's number, from 1.
    pub page: usize,
    /// How many pages the matches make (at least 1).
    pub pages: usize,
}

/// A page number from text (`""`: the first); 0 or not a number is refused.
pub fn page_number(s: &str) -> ApiResult<usize> {
    match s.trim() {
        "" => Ok(1),
        v => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| not_a_page(v)),
    }
}

/// The refusal of `tenant_page` `v`.
pub fn not_a_page(v: &str) -> ApiError {
    ApiError::bad_request(format!(
        "tenant_page `{}` is not a page number (1, 2, …)",
        v.chars().take(20).collect::<String>()
    ))
}

/// Page `page` (from 1) of the tenants of `all` whose name (`name_of`)
/// contains `q` ignoring case (every tenant when `q` is blank), in the
/// order of `all`.
pub fn page_of<'a, T>(
    all: &'a [T],
    name_of: impl Fn(&T) -> &str,
    q: &str,
    page: usize,
) -> TenantPage<'a, T> {
    let q = q.trim().to_lowercase();
    let matching: Vec<&T> = all
        .iter()
        .filter(|t| q.is_empty() || name_of(t).to_lowercase().contains(&q))
        .collect();
    let matches = matching.len();
    let page = page.max(1);
    let items = matching
        .into_iter()
        .skip((page - 1).saturating_mul(TENANT_PAGE))
        .take(TENANT_PAGE)
        .collect();
    TenantPage {
        items,
        matches,
        page,
        pages: matches.div_ceil(TENANT_PAGE).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> Groups {
        let mut member_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (t, g) in [("a1", 0), ("a2", 0), ("b1", 1), ("ab", 0), ("ab", 1)] {
            member_of.entry(t.to_string()).or_default().push(g);
        }
        Groups {
            groups: vec![("a".into(), 3), ("b".into(), 2)],
            member_of,
        }
    }

    #[test]
    fn rows_name_few_tenants_and_count_many() {
        let g = groups();
        let few = g.row(vec!["a1".into(), "b1".into()], false);
        assert_eq!(few.count, 2);
        assert_eq!(few.describe(), "a1, b1");
        assert_eq!(
            few.groups,
            vec![
                GroupCoverDto {
                    name: "a".into(),
                    count: 1,
                    size: 3
                },
                GroupCoverDto {
                    name: "b".into(),
                    count: 1,
                    size: 2
                }
            ]
        );
        let many: Vec<String> = ["a1", "a2", "ab", "b1", "x", "y"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let row = g.row(many.clone(), false);
        assert_eq!(row.names, None);
        assert_eq!(row.describe(), "6 tenants: a 3 of 3, b 2 of 2");
        assert_eq!(g.row(many, true).names.map(|n| n.len()), Some(6));
        let none = g.row(Vec::new(), false);
        assert_eq!((none.count, none.groups.len()), (0, 0));
    }

    #[test]
    fn pages_search_names_ignoring_case() {
        let names: Vec<String> = (0..120).map(|i| format!("Tenant-{i:03}")).collect();
        let p = page_of(&names, |s| s.as_str(), "", 3);
        assert_eq!((p.matches, p.pages, p.items.len()), (120, 3, 20));
        assert_eq!(p.items.first().map(|s| s.as_str()), Some("Tenant-100"));
        let q = page_of(&names, |s| s.as_str(), " tenant-01", 1);
        assert_eq!((q.matches, q.pages, q.items.len()), (10, 1, 10));
        let past = page_of(&names, |s| s.as_str(), "", 9);
        assert!(past.items.is_empty());
        assert!(page_number("0").is_err() && page_number("x").is_err());
        assert_eq!(page_number("").ok(), Some(1));
    }
}
