//! The query side of the API: posts searched, filtered, sorted and paged
//! within the tenants a caller may see, their facets, and scoped details of
//! posts and incidents.
//!
//! The operations are in `query_ops.rs`, compiled for each backend like
//! `ops.rs`; the few SQL fragments that differ (full-text search: FTS5 on
//! SQLite, a `tsvector` on PostgreSQL) are at the end of `bulk_sqlite.rs` /
//! `bulk_postgres.rs`.
//!
//! Everything here honours a [`TenantScope`]: a post (or incident) exists
//! for a caller only when a tenant in their scope has a link to it, and the
//! tenants, counts and facets shown of it only involve tenants in scope.

use base64::Engine as _;
use changedesk_core::Timestamp;
use changedesk_core::triage::State;
use serde::Serialize;

use super::{
    Backend, IncidentDetail, IncidentFilter, IncidentSummary, PostDetail, PostState, PostSummary,
    Result, RevisionContent, Store, StoreError, postgres, sqlite,
};

/// The tenants a caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantScope {
    /// Every tenant.
    All,
    /// These tenants (by name) only; an empty list sees nothing.
    Only(Vec<String>),
}

impl TenantScope {
    /// Whether the tenant named `name` is in scope.
    pub fn includes(&self, name: &str) -> bool {
        match self {
            TenantScope::All => true,
            TenantScope::Only(names) => names.iter().any(|n| n == name),
        }
    }

    /// The tenants of `names` that this scope includes: a scope never
    /// wider than this one (filtering by a tenant group within a caller's
    /// scope).
    pub fn narrowed_to(&self, names: &[String]) -> TenantScope {
        let mut kept: Vec<String> = names.iter().filter(|n| self.includes(n)).cloned().collect();
        kept.sort();
        kept.dedup();
        TenantScope::Only(kept)
    }
}

/// The order of a post list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostSort {
    /// Last modified, newest first (posts never modified last).
    #[default]
    Newest,
    /// Last modified, oldest first (posts never modified first).
    Oldest,
    /// Act-by date, soonest first; posts without one last.
    ActBy,
    /// Title, in byte order (so alike on both databases).
    Title,
    /// Best search match first; only with search text that must appear,
    /// otherwise [`PostSort::Newest`].
    Relevance,
}

impl PostSort {
    pub fn as_str(&self) -> &'static str {
        match self {
            PostSort::Newest => "newest",
            PostSort::Oldest => "oldest",
            PostSort::ActBy => "act_by",
            PostSort::Title => "title",
            PostSort::Relevance => "relevance",
        }
    }

    pub fn parse(s: &str) -> Option<PostSort> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "newest" => Some(PostSort::Newest),
            "oldest" => Some(PostSort::Oldest),
            "act_by" => Some(PostSort::ActBy),
            "title" => Some(PostSort::Title),
            "relevance" => Some(PostSort::Relevance),
            _ => None,
        }
    }
}

/// Which posts to list, in which order, which page, for whom.
///
/// Build one with [`PostQuery::new`], which takes the caller's scope (there
/// is deliberately no `Default`, so a scope is never forgotten).
#[derive(Debug, Clone)]
pub struct PostQuery {
    /// A search in the language of [`changedesk_core::search`].
    pub q: Option<String>,
    /// Only posts this tenant sees or saw (nothing when it is out of
    /// scope); `state` then means visible to / gone for it.
    pub tenant: Option<String>,
    /// Any of these services (case-insensitive).
    pub services: Vec<String>,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub major: Option<bool>,
    /// Without `tenant`: active (some tenant in scope returns it now) or
    /// expired (none does).
    pub state: Option<PostState>,
    /// Act-by date on or after.
    pub act_by_from: Option<Timestamp>,
    /// Act-by date on or before.
    pub act_by_to: Option<Timestamp>,
    /// Any of these tags (case-insensitive).
    pub tags: Vec<String>,
    /// Last modified on or after.
    pub changed_since: Option<Timestamp>,
    /// Only posts whose work item is in one of these states (none: any
    /// state, or no item).
    ///
    /// The work-item conditions (this, `assignee`, `changed_since_triage`,
    /// `deadline`) all concern the post's one work item: a post without
    /// one (the rules have not evaluated it yet) matches none of them.
    pub item_states: Vec<State>,
    /// Only posts whose work item is assigned to this owner, or to nobody.
    pub assignee: Option<ItemAssignee>,
    /// Only posts whose work item is (or is not) changed since triage
    /// (core's `changed_since_triage`: open, with changes flagged).
    pub changed_since_triage: Option<bool>,
    /// Only posts whose work item is open and overdue, or open and missed,
    /// at an instant (the semantics of
    /// [`changedesk_core::triage::deadline_status`]).
    pub deadline: Option<DeadlineFilter>,
    pub sort: PostSort,
    /// Where the page starts: the `next_cursor` of the previous page of the
    /// same query.
    pub cursor: Option<String>,
    /// Posts per page, clamped to 1..=200.
    pub limit: u32,
    pub scope: TenantScope,
}

impl PostQuery {
    /// The first page of every post in `scope`, newest first, 50 a page.
    pub fn new(scope: TenantScope) -> PostQuery {
        PostQuery {
            q: None,
            tenant: None,
            services: Vec::new(),
            category: None,
            severity: None,
            major: None,
            state: None,
            act_by_from: None,
            act_by_to: None,
            tags: Vec::new(),
            changed_since: None,
            item_states: Vec::new(),
            assignee: None,
            changed_since_triage: None,
            deadline: None,
            sort: PostSort::Newest,
            cursor: None,
            limit: 50,
            scope,
        }
    }

    /// Posts per page: `limit` clamped to 1..=200.
    pub fn page_size(&self) -> i64 {
        i64::from(self.limit.clamp(1, 200))
    }
}

/// Whose work items a post query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemAssignee {
    /// Items assigned to this owner (the name compared ignoring ASCII
    /// case; owner names are kept in lower case).
    Owner(String),
    /// Items assigned to nobody.
    Unassigned,
}

/// Which deadline a post query asks about: the two kinds of
/// [`changedesk_core::triage::DeadlineStatus`] that mean late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// Open, past its own due date, not missed.
    Overdue,
    /// Open, past the post's act-by date (or, without one, its start).
    Missed,
}

impl Deadline {
    pub fn as_str(&self) -> &'static str {
        match self {
            Deadline::Overdue => "overdue",
            Deadline::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<Deadline> {
        match s.trim().to_ascii_lowercase().as_str() {
            "overdue" => Some(Deadline::Overdue),
            "missed" => Some(Deadline::Missed),
            _ => None,
        }
    }
}

/// A deadline condition: late in the way `status` says at the instant
/// `now` (the caller's clock: the store never reads one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeadlineFilter {
    pub status: Deadline,
    pub now: Timestamp,
}

/// How many of the posts a query matches have a work item in each of the
/// states the inbox counts ([`Store::post_item_counts`]). The conditions
/// are those of [`PostQuery`]'s work-item fields, so each count is what
/// the matching filter lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ItemCounts {
    /// Items still `new`.
    pub awaiting: i64,
    /// Open items flagged changed since triage.
    pub changed: i64,
    /// Open items past their due date, not missed.
    pub overdue: i64,
    /// Open items past the act-by date (or start) of their post.
    pub missed: i64,
}

/// One page of posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostPage {
    pub items: Vec<PostHit>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
    /// How many posts match in all: counted for the first page (a query
    /// without a cursor); later pages repeat that count, which their cursor
    /// carries, so paging on never counts again.
    pub total: i64,
}

/// One page of posts without their total ([`Store::list_posts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostList {
    pub items: Vec<PostHit>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// A post in a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostHit {
    /// Its tenant counts and state count the tenants in scope only.
    pub summary: PostSummary,
    /// The tenants in scope that see or saw it, sorted.
    pub tenants: Vec<String>,
    /// An excerpt of its body with the search matches marked; empty without
    /// search text that must appear.
    pub snippet: Vec<SnippetPart>,
    /// Its work item's state and assignee; `None` without a work item.
    pub item: Option<HitItem>,
    /// Its rollout timeline as read from its body (empty until read).
    pub timeline: changedesk_core::timeline::Timeline,
}

/// What a post list shows of a post's work item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HitItem {
    pub state: State,
    pub assignee: Option<String>,
    pub priority: changedesk_core::triage::Priority,
    pub due: Option<Timestamp>,
    pub labels: Vec<String>,
}

/// A piece of a snippet: plain text, or a search match (`hit`). The store
/// never produces markup: showing a hit is the caller's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// The most tenants in scope for which [`Facets::tenants`] is counted.
pub const TENANT_FACET_MAX: usize = 50;

/// How many posts matching a query have each value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    pub services: Vec<FacetCount>,
    pub categories: Vec<FacetCount>,
    pub severities: Vec<FacetCount>,
    pub tags: Vec<FacetCount>,
    /// Tenants in scope, with the matching posts each sees or saw; empty
    /// when `tenants_uncounted` (more than [`TENANT_FACET_MAX`] tenants in
    /// scope).
    pub tenants: Vec<FacetCount>,
    /// The tenants were not counted: the query has more than
    /// [`TENANT_FACET_MAX`] tenants in scope, and a count per tenant reads
    /// every tenant link of every matching post (millions at an MSP's
    /// shape). Ask with a `tenant` for one tenant's posts.
    pub tenants_uncounted: bool,
    /// Posts a tenant in scope returns now (with the query's `tenant`: that
    /// tenant).
    pub visible: i64,
    /// Posts no tenant in scope returns now (with the query's `tenant`: gone
    /// for it).
    pub gone: i64,
    pub major: i64,
    pub not_major: i64,
    /// Owners with the matching posts whose work item is assigned to them
    /// for some tenant of the query (its tenant, else one in scope) where
    /// its item conditions hold: what is in force per tenant, so a post
    /// assigned to bob for one tenant and alice for others counts for both.
    pub owners: Vec<FacetCount>,
    /// Matching posts whose work item is assigned to nobody (for some such
    /// tenant). (Posts without a work item count in neither `owners` nor
    /// `unassigned`.)
    pub unassigned: i64,
    /// Work item states (`new`, `triaged`, …) with the matching posts whose
    /// item is in it for some such tenant (not applicable there counts as
    /// `dismissed`).
    pub item_states: Vec<FacetCount>,
}

/// Posts per severity, and major posts ([`Store::post_severity_counts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    pub severities: Vec<FacetCount>,
    pub major: i64,
}

/// How many tenants, posts and incidents an archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveSize {
    pub tenants: i64,
    pub posts: i64,
    pub incidents: i64,
}

/// One value of a facet; lists are sorted by count, most first, then value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

/// The marks `query_ops.rs` asks the databases to put around a match.
pub(crate) const HIT_START: char = '\u{1}';
pub(crate) const HIT_END: char = '\u{2}';

/// Splits a snippet marked with [`HIT_START`] / [`HIT_END`] into parts.
pub(crate) fn split_snippet(s: &str) -> Vec<SnippetPart> {
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut text = String::new();
    let mut hit = false;
    let mut flush = |text: &mut String, hit: bool| {
        if text.is_empty() {
            return;
        }
        match parts.last_mut() {
            Some(last) if last.hit == hit => last.text.push_str(text),
            _ => parts.push(SnippetPart {
                text: text.clone(),
                hit,
            }),
        }
        text.clear();
    };
    for ch in s.chars() {
        match ch {
            HIT_START => {
                flush(&mut text, hit);
                hit = true;
            }
            HIT_END => {
                flush(&mut text, hit);
                hit = false;
            }
            ch => text.push(ch),
        }
    }
    flush(&mut text, hit);
    // hits apart only by spaces are one (PostgreSQL marks a phrase word by
    // word, SQLite as a whole)
    let mut merged: Vec<SnippetPart> = Vec::with_capacity(parts.len());
    for part in parts {
        if let [.., before, between] = merged.as_slice()
            && part.hit
            && before.hit
            && !between.hit
            && between.text.chars().all(|c| c == ' ')
        {
            let space = merged.pop().map(|p| p.text).unwrap_or_default();
            if let Some(before) = merged.last_mut() {
                before.text.push_str(&space);
                before.text.push_str(&part.text);
            }
        } else {
            merged.push(part);
        }
    }
    // no white space at either end
    if let Some(first) = merged.first_mut() {
        first.text = first.text.trim_start().to_string();
    }
    if let Some(last) = merged.last_mut() {
        last.text = last.text.trim_end().to_string();
    }
    merged.retain(|p| !p.text.is_empty());
    merged
}

/// Where a page starts: the sort key and id of the last post of the page
/// before, for the sort the cursor was made for, and the total counted for
/// the first page (so later pages do not count again).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    pub sort: PostSort,
    pub key: SortKey,
    pub id: String,
    /// `None` in cursors made before totals were carried: counted again.
    pub total: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    /// Newest, oldest (the last-modified text, `''` for none), act-by (the
    /// date, `'~'` for none), title.
    Text(String),
    /// The relevance score the database computed (lower is better), kept
    /// to the bit.
    Score(f64),
}

fn bad_cursor() -> StoreError {
    StoreError::Invalid(
        "malformed page cursor: pass back the next_cursor of the previous page unchanged"
            .to_string(),
    )
}

impl Cursor {
    /// An opaque, URL-safe text.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            SortKey::Text(t) => serde_json::json!([t]),
            SortKey::Score(s) => serde_json::json!([s.to_bits()]),
        };
        let v = match self.total {
            Some(total) => serde_json::json!([self.sort.as_str(), key, self.id, total]),
            None => serde_json::json!([self.sort.as_str(), key, self.id]),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// Reads a cursor made for `sort`: [`StoreError::Invalid`] for anything
    /// else.
    pub fn decode(s: &str, sort: PostSort) -> Result<Cursor> {
        use serde_json::Value;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim().as_bytes())
            .map_err(|_| bad_cursor())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
        let (tag, key, id, total) = match v.as_array().map(Vec::as_slice).unwrap_or_default() {
            [Value::String(tag), Value::Array(key), Value::String(id)] => (tag, key, id, None),
            [
                Value::String(tag),
                Value::Array(key),
                Value::String(id),
                Value::Number(total),
            ] => (
                tag,
                key,
                id,
                Some(total.as_i64().filter(|n| *n >= 0).ok_or_else(bad_cursor)?),
            ),
            _ => return Err(bad_cursor()),
        };
        let found = PostSort::parse(tag).ok_or_else(bad_cursor)?;
        if found != sort {
            return Err(StoreError::Invalid(format!(
                "the page cursor is for sort `{}`, not `{}`: start again without a cursor",
                found.as_str(),
                sort.as_str()
            )));
        }
        let key = match (sort, key.as_slice()) {
            (
                PostSort::Newest | PostSort::Oldest | PostSort::ActBy | PostSort::Title,
                [Value::String(t)],
            ) => SortKey::Text(t.clone()),
            (PostSort::Relevance, [Value::Number(n)]) => {
                SortKey::Score(f64::from_bits(n.as_u64().ok_or_else(bad_cursor)?))
            }
            _ => return Err(bad_cursor()),
        };
        Ok(Cursor {
            sort,
            key,
            id: id.clone(),
            total,
        })
    }
}

impl Store {
    /// A page of the posts matching `query` in its scope, with the total.
    /// Paging on with `next_cursor` returns every matching post exactly
    /// once, whatever the sort. A cursor that is not one this method (or
    /// [`Store::list_posts`]) made for the same sort is
    /// [`StoreError::Invalid`]. Counting the total reads every match (tens
    /// of milliseconds for a hundred thousand): it is done for the first
    /// page only (and not when that page holds every match).
    pub async fn query_posts(&self, query: &PostQuery) -> Result<PostPage> {
        dispatch!(self.query_posts(query))
    }

    /// A page of the posts matching `query`, as [`Store::query_posts`]
    /// without counting them all: the cost of a page whatever the number
    /// of matches.
    pub async fn list_posts(&self, query: &PostQuery) -> Result<PostList> {
        dispatch!(self.list_posts(query))
    }

    /// The ids of the first page of posts matching `query` (its limit, in
    /// its order), without their summaries: what a list of neighbours
    /// needs (the post page's previous and next awaiting triage).
    pub async fn list_post_ids(&self, query: &PostQuery) -> Result<Vec<String>> {
        dispatch!(self.list_post_ids(query))
    }

    /// Per value of service, category, severity, tag, tenant (in scope),
    /// state, major, work item owner and work item state, how many posts
    /// match `query` (its cursor and limit aside).
    pub async fn post_facets(&self, query: &PostQuery) -> Result<Facets> {
        dispatch!(self.post_facets(query))
    }

    /// How many posts matching `query` (its cursor and limit aside) have
    /// each severity, and how many are major: the facets' `severities` and
    /// `major` alone, without the others' cost (the inbox's chips).
    pub async fn post_severity_counts(&self, query: &PostQuery) -> Result<SeverityCounts> {
        dispatch!(self.post_severity_counts(query))
    }

    /// Among the posts matching `query` (its cursor and limit aside), how
    /// many have a work item awaiting triage, changed since triage, overdue
    /// or missed at `now`: one query, whatever the number of items.
    pub async fn post_item_counts(&self, query: &PostQuery, now: Timestamp) -> Result<ItemCounts> {
        dispatch!(self.post_item_counts(query, now))
    }

    /// Whether accepting the baseline would close something: an item
    /// awaiting triage of a baseline post without a decision deadline (core's
    /// `baseline_fate` is `Close`). One indexed query, for the inbox's
    /// banner.
    pub async fn baseline_pending(&self) -> Result<bool> {
        dispatch!(self.baseline_pending())
    }

    /// For each list of tenant names in `within`, how many posts match
    /// `query` with its scope narrowed to those tenants (the tenants of
    /// the list that `query.scope` includes: never more than the query's
    /// own scope), in the order of `within`. One statement for every list.
    pub async fn count_posts_within(
        &self,
        query: &PostQuery,
        within: &[Vec<String>],
    ) -> Result<Vec<i64>> {
        dispatch!(self.count_posts_within(query, within))
    }

    /// A post as [`Store::get_message`] shows it, to a caller who sees
    /// `scope`: only tenants in scope, their counts, and revisions naming
    /// no tenant out of scope. [`StoreError::NotFound`], as for a post that
    /// does not exist, when no tenant in scope sees or saw it.
    pub async fn get_message_scoped(&self, id: &str, scope: &TenantScope) -> Result<PostDetail> {
        dispatch!(self.get_message_scoped(id, scope))
    }

    /// `Ok` when a tenant in `scope` sees or saw post `id`, else
    /// [`StoreError::NotFound`] as [`Store::get_message_scoped`] answers,
    /// without reading the post (its links to thousands of tenants).
    pub async fn post_in_scope(&self, id: &str, scope: &TenantScope) -> Result<()> {
        dispatch!(self.post_in_scope(id, scope))
    }

    /// One revision of a post, as [`Store::message_revision`], to a caller
    /// who sees `scope` ([`StoreError::NotFound`] as for
    /// [`Store::get_message_scoped`]).
    pub async fn message_revision_scoped(
        &self,
        id: &str,
        revision: i64,
        scope: &TenantScope,
    ) -> Result<RevisionContent> {
        dispatch!(self.message_revision_scoped(id, revision, scope))
    }

    /// The posts (or, with `incidents`, the incidents) tenant `tenant` has
    /// visible, each with the `lastModifiedDateTime` the tenant last
    /// listed: what a sync compares a membership listing with. Empty for a
    /// tenant the archive does not know.
    pub async fn tenant_links(
        &self,
        tenant: &str,
        incidents: bool,
    ) -> Result<std::collections::HashMap<String, Option<Timestamp>>> {
        dispatch!(self.tenant_links(tenant, incidents))
    }

    /// The names of the tenants that see post `id` now, sorted (none for a
    /// post nobody sees, or that does not exist): whom an action on its work
    /// item concerns, without the links' details.
    pub async fn post_tenant_names(&self, id: &str) -> Result<Vec<String>> {
        dispatch!(self.post_tenant_names(id))
    }

    /// The archive's tenant names, sorted: what a caller's scope (tenants
    /// and tenant groups) is resolved against on every request, without the
    /// counts of [`Store::tenants`].
    pub async fn tenant_names(&self) -> Result<Vec<String>> {
        dispatch!(self.tenant_names())
    }

    /// How many tenants, posts and incidents the archive holds: the
    /// gauges of `/metrics`, counted without the scans of
    /// [`Store::counts`].
    pub async fn size(&self) -> Result<ArchiveSize> {
        dispatch!(self.archive_size())
    }

    /// Incidents as [`Store::list_incidents`] lists them, to a caller who
    /// sees `scope`: only those a tenant in scope sees or saw, with counts
    /// of tenants in scope.
    pub async fn list_incidents_scoped(
        &self,
        filter: &IncidentFilter,
        scope: &TenantScope,
    ) -> Result<Vec<IncidentSummary>> {
        dispatch!(self.list_incidents_scoped(filter, scope))
    }

    /// An incident as [`Store::get_incident`] shows it, to a caller who sees
    /// `scope` ([`StoreError::NotFound`] when no tenant in scope sees or saw
    /// it).
    pub async fn get_incident_scoped(
        &self,
        id: &str,
        scope: &TenantScope,
    ) -> Result<IncidentDetail> {
        dispatch!(self.get_incident_scoped(id, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_on_the_marks() {
        let parts = split_snippet("a \u{1}b\u{2} c \u{1}d\u{2}");
        assert_eq!(
            parts,
            vec![
                SnippetPart {
                    text: "a ".into(),
                    hit: false
                },
                SnippetPart {
                    text: "b".into(),
                    hit: true
                },
                SnippetPart {
                    text: " c ".into(),
                    hit: false
                },
                SnippetPart {
                    text: "d".into(),
                    hit: true
                },
            ]
        );
        assert_eq!(split_snippet(""), vec![]);
        assert_eq!(split_snippet(" \n"), vec![]);
        // hits apart by spaces only are one
        assert_eq!(
            split_snippet("a \u{1}b\u{2} \u{1}c\u{2}, \u{1}d\u{2}\n"),
            vec![
                SnippetPart {
                    text: "a ".into(),
                    hit: false
                },
                SnippetPart {
                    text: "b c".into(),
                    hit: true
                },
                SnippetPart {
                    text: ", ".into(),
                    hit: false
                },
                SnippetPart {
                    text: "d".into(),
                    hit: true
                },
            ]
        );
        // adjacent hits merge; an unclosed hit runs to the end
        assert_eq!(
            split_snippet("\u{1}a\u{2}\u{1}b"),
            vec![SnippetPart {
                text: "ab".into(),
                hit: true
            }]
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_anything_else() {
        for (sort, key) in [
            (
                PostSort::Newest,
                SortKey::Text("2026-01-01T00:00:00.000000Z".into()),
            ),
            (PostSort::Title, SortKey::Text("é \" '".into())),
            (PostSort::ActBy, SortKey::Text("~".into())),
            (PostSort::Relevance, SortKey::Score(-1.234_567_890_123e-7)),
        ] {
            let mut c = Cursor {
                sort,
                key,
                id: "MC1".into(),
                total: None,
            };
            assert_eq!(Cursor::decode(&c.encode(), sort).unwrap(), c);
            c.total = Some(1234);
            assert_eq!(Cursor::decode(&c.encode(), sort).unwrap(), c);
            let other = if sort == PostSort::Oldest {
                PostSort::Newest
            } else {
                PostSort::Oldest
            };
            assert!(matches!(
                Cursor::decode(&c.encode(), other),
                Err(StoreError::Invalid(_))
            ));
        }
        for bad in [
            "",
            "!!!",
            "e30",
            "WyJuZXdlc3QiXQ",
            "WyJuZXdlc3QiLFsxXSwiTUMxIl0",
            // a negative or fractional total
            "WyJuZXdlc3QiLFsiIl0sIk1DMSIsLTFd",
            "WyJuZXdlc3QiLFsiIl0sIk1DMSIsMS41XQ",
        ] {
            assert!(
                matches!(
                    Cursor::decode(bad, PostSort::Newest),
                    Err(StoreError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }
}
